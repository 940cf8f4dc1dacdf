//! The validated data tier: what the model runs. Built by `data::lower`
//! from `data::spec`; names are indices, times are [`SimDuration`]s.

use sim_core::{Distribution, SimDuration};

use super::cache::CacheModel;
use super::shard::ShardStrategy;

/// How a primary acknowledges a write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplicationMode {
    /// At once, on local commit; replicas catch up later (a crash loses what
    /// they had not received).
    Async,
    /// When the first live replica has received the write (MySQL semi-sync,
    /// `AFTER_SYNC`).
    SemiSync,
    /// When every live replica has applied it (PostgreSQL
    /// `synchronous_commit = remote_apply` over all standbys).
    Sync,
}

impl ReplicationMode {
    /// The name used in files and reports.
    pub fn name(self) -> &'static str {
        match self {
            ReplicationMode::Async => "async",
            ReplicationMode::SemiSync => "semi_sync",
            ReplicationMode::Sync => "sync",
        }
    }
}

/// Where reads go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadPolicy {
    /// Every read to the primary.
    Primary,
    /// To a live replica, the caller's region first (then the nearest), the
    /// primary if none is live.
    Replicas,
    /// Like `Replicas`, except that a key written in the last `pin` goes to
    /// the primary (the usual "stick to the primary after a write" rule).
    ReadYourWrites {
        /// How long after a write its key's reads stay on the primary.
        pin: SimDuration,
    },
}

/// Automatic failover of a dead primary (Patroni / RDS Multi-AZ style).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FailoverConfig {
    /// Health-check period of the failover manager.
    pub check_interval: SimDuration,
    /// Consecutive failed checks that declare the primary dead.
    pub failures: u32,
    /// From detection until the chosen replica accepts writes.
    pub promotion: SimDuration,
    /// From promotion until application instances use the new primary
    /// (connection-pool refresh, or a DNS record's TTL across regions).
    pub repoint: SimDuration,
}

/// How a database's nodes share writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Topology {
    /// Per shard, one primary takes the writes; replicas follow it.
    PrimaryReplica,
    /// Every node takes writes from its region and ships its new writes to
    /// the others every `sync_interval` (seed 003's CRDT mesh):
    /// last-writer-wins, conflicts counted.
    ActiveActive {
        /// Batch period of the bidirectional sync.
        sync_interval: SimDuration,
    },
}

/// One database cluster: per shard, a primary and its replicas (or, active-
/// active, one writable node per region).
#[derive(Clone, Debug)]
pub struct DatabaseConfig {
    /// Name, referenced by request classes and faults.
    pub name: String,
    /// Primary/replica or active-active.
    pub topology: Topology,
    /// Per shard, the region of each node: node 0 starts as the primary,
    /// the rest are replicas.
    pub shard_nodes: Vec<Vec<usize>>,
    /// Which shard a key lives on.
    pub sharding: ShardStrategy,
    /// Concurrent queries per node.
    pub workers: u32,
    /// Queries waiting per node beyond the workers (`None`: unbounded).
    pub queue_capacity: Option<u32>,
    /// Service time of a read on a node.
    pub read_time: Distribution,
    /// Service time of a write on the primary.
    pub write_time: Distribution,
    /// How writes are acknowledged.
    pub replication: ReplicationMode,
    /// Shipping delay of a write to a replica, on top of the network
    /// latency between their regions (drawn per write; delivery stays in
    /// log order, so lag follows the recent maximum of the draws).
    pub replication_delay: Distribution,
    /// Time a replica takes to apply one write; writes apply one at a time,
    /// so lag grows when writes come faster than this.
    pub apply_time: Distribution,
    /// Where reads go.
    pub reads: ReadPolicy,
    /// Automatic failover (`None`: a dead primary stays dead until it
    /// recovers).
    pub failover: Option<FailoverConfig>,
    /// How long a query to a dead node waits before it fails (the
    /// application's connect timeout).
    pub connect_timeout: SimDuration,
    /// Price of one node per hour.
    pub hourly_price: f64,
}

impl DatabaseConfig {
    /// Nodes in every shard together.
    pub fn node_count(&self) -> usize {
        self.shard_nodes.iter().map(Vec::len).sum()
    }
}

/// One cache, with one node per region that calls it.
#[derive(Clone, Debug)]
pub struct CacheConfig {
    /// Name, referenced by request classes and faults.
    pub name: String,
    /// Hits by fixed ratio or from an LRU over the keys.
    pub model: CacheModel,
    /// Round trip of a lookup (or a fill) from an instance.
    pub latency: SimDuration,
}

/// When a read cannot reach its database, what the application answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Degrade {
    /// An error (HTTP 5xx).
    Error,
    /// The cached value if the cache still holds the key (even expired),
    /// else an error.
    Stale,
    /// A built-in default value.
    Default,
    /// The cached value if there is one, else the default.
    StaleThenDefault,
}

impl Degrade {
    /// The name used in files and reports.
    pub fn name(self) -> &'static str {
        match self {
            Degrade::Error => "error",
            Degrade::Stale => "stale",
            Degrade::Default => "default",
            Degrade::StaleThenDefault => "stale_then_default",
        }
    }
}

/// What a request class asks of the data tier.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClassDataConfig {
    /// The database it queries (index into `FleetConfig::databases`).
    pub database: usize,
    /// Queries per request, one after another.
    pub queries: u32,
    /// The cache reads try first (cache-aside), if any.
    pub cache: Option<usize>,
    /// What a read answers when its database is unreachable.
    pub degrade: Degrade,
}
