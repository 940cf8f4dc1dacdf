//! The data tier as written in a scenario file: `[[databases]]`,
//! `[[caches]]`, and the per-class fields that call them. Every optional
//! field is an `Option` so that `data::lower` can apply documented defaults.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::spec::{DistributionSpec, Seconds};

/// `[[databases]]`: a primary with replicas (per shard), replication,
/// read routing and failover.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSpec {
    /// Name, unique among databases; classes name it in `database`.
    pub name: String,
    /// `primary_replica` (default) or `active_active` (a writable node in
    /// each of `regions`, synchronised in batches every `sync_interval`).
    #[serde(default)]
    pub topology: Option<TopologySpec>,
    /// With `active_active`: the regions that each hold a node.
    #[serde(default)]
    pub regions: Option<Vec<String>>,
    /// With `active_active`: how often each node ships its new writes to
    /// the others (default 100 ms, seed 003's CRDT mesh).
    #[serde(default)]
    pub sync_interval: Option<Seconds>,
    /// Region of the primary (of every shard's primary, except with
    /// `geo` sharding).
    #[serde(default)]
    pub primary: Option<String>,
    /// Replicas: a count (all in the primary's region) or one region name
    /// per replica (default 0).
    #[serde(default)]
    pub replicas: Option<ReplicasSpec>,
    /// Concurrent queries per node (default 64).
    #[serde(default)]
    pub workers: Option<u64>,
    /// Queries that may wait per node beyond the workers (default
    /// unbounded).
    #[serde(default)]
    pub queue: Option<u64>,
    /// Service time of a read (default exponential, mean 1 ms).
    #[serde(default)]
    pub read_time: Option<DistributionSpec>,
    /// Service time of a write on the primary (default exponential, mean
    /// 2 ms).
    #[serde(default)]
    pub write_time: Option<DistributionSpec>,
    /// `async` (default), `semi_sync` or `sync`.
    #[serde(default)]
    pub replication: Option<ReplicationSpec>,
    /// Shipping delay to a replica on top of the network latency, drawn
    /// per write; the stream arrives in order, so a replica's lag follows
    /// the recent maximum of the draws (default normal, mean 100 ms, σ
    /// 10 ms: about 100–130 ms of lag, as seed 002 describes).
    #[serde(default)]
    pub replication_delay: Option<DistributionSpec>,
    /// Time a replica takes to apply one write, one at a time (default
    /// constant 0.1 ms).
    #[serde(default)]
    pub apply_time: Option<DistributionSpec>,
    /// `primary` (default), `replicas` or `read_your_writes`.
    #[serde(default)]
    pub reads: Option<ReadsSpec>,
    /// With `reads = "read_your_writes"`: how long after a write its key's
    /// reads stay on the primary (default 1 s).
    #[serde(default)]
    pub read_your_writes_pin: Option<Seconds>,
    /// Automatic failover (default none).
    #[serde(default)]
    pub failover: Option<FailoverSpec>,
    /// How long a query to a dead node waits before failing (default 1 s).
    #[serde(default)]
    pub connect_timeout: Option<Seconds>,
    /// Sharding (default one shard).
    #[serde(default)]
    pub shards: Option<ShardsSpec>,
    /// Price of one node per hour (default 0).
    #[serde(default)]
    pub hourly_price: Option<f64>,
}

/// Database topology as written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TopologySpec {
    /// One primary per shard, read replicas.
    PrimaryReplica,
    /// A writable node per region, bidirectional async sync.
    ActiveActive,
}

/// Replicas as a count or as one region per replica.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum ReplicasSpec {
    /// This many, in the primary's region.
    Count(u64),
    /// One replica in each named region (names may repeat).
    Regions(Vec<String>),
}

/// Replication mode as written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReplicationSpec {
    /// Acknowledge on local commit.
    Async,
    /// Acknowledge once one replica has received the write.
    SemiSync,
    /// Acknowledge once every live replica has applied the write.
    Sync,
}

/// Read routing as written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReadsSpec {
    /// Every read to the primary.
    Primary,
    /// To a live replica, nearest first.
    Replicas,
    /// To replicas, but recently written keys to the primary.
    ReadYourWrites,
}

/// `[databases.failover]`.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FailoverSpec {
    /// Health-check period (default 5 s).
    #[serde(default)]
    pub check_interval: Option<Seconds>,
    /// Consecutive failed checks before the primary is declared dead
    /// (default 3).
    #[serde(default)]
    pub failures: Option<u64>,
    /// Time to promote the chosen replica (default 10 s).
    #[serde(default)]
    pub promotion: Option<Seconds>,
    /// Time until instances use the new primary (default 5 s).
    #[serde(default)]
    pub repoint: Option<Seconds>,
}

/// `[databases.shards]`.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ShardsSpec {
    /// Number of shards (default 1; with `geo`, one per listed region).
    #[serde(default)]
    pub count: Option<u64>,
    /// `hash` (default), `consistent`, `range` or `geo`.
    #[serde(default)]
    pub strategy: Option<ShardStrategySpec>,
    /// Virtual nodes per shard for `consistent` (default 256: about 3 %
    /// imbalance; 64 gives about 17 %).
    #[serde(default)]
    pub vnodes: Option<u64>,
    /// For `range`: keys `0..key_space` split evenly (default the largest
    /// key count of the classes that use the database).
    #[serde(default)]
    pub key_space: Option<u64>,
    /// For `geo`: the home region of each shard; callers use their own
    /// region's shard, or the first one.
    #[serde(default)]
    pub regions: Option<Vec<String>>,
}

/// Sharding strategy as written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ShardStrategySpec {
    /// hash(key) mod N.
    Hash,
    /// A consistent-hash ring with virtual nodes.
    Consistent,
    /// Contiguous key ranges.
    Range,
    /// By the caller's region.
    Geo,
}

/// `[[caches]]`: a cache with one node in each region that calls it.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CacheSpec {
    /// Name, unique among caches; classes name it in `cache`.
    pub name: String,
    /// A fixed hit ratio in [0, 1]; give this or `capacity`.
    #[serde(default)]
    pub hit_ratio: Option<f64>,
    /// An LRU of this many keys per node; give this or `hit_ratio`.
    #[serde(default)]
    pub capacity: Option<u64>,
    /// With `capacity`: entries expire this long after they were filled
    /// (default never).
    #[serde(default)]
    pub ttl: Option<Seconds>,
    /// Round trip of one lookup from an instance (default 0.5 ms).
    #[serde(default)]
    pub latency: Option<Seconds>,
}

/// What a read answers when its database is unreachable, as written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DegradeSpec {
    /// An error.
    Error,
    /// The cached value, if any.
    Stale,
    /// A default value.
    Default,
    /// The cached value, else a default.
    StaleThenDefault,
}
