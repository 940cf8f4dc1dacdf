//! The fleet scenario file as written: serde DTOs, one per table.
//!
//! These types mirror the file exactly (TOML, or JSON with the same fields);
//! every optional field is an `Option` so that the lowering (`lower.rs`) can
//! apply documented defaults and tell "absent" from "given". Unknown fields
//! are refused everywhere. `docs/scenario.md` documents every field with its
//! default and range; [`fleet_json_schema`] gives the same as a JSON Schema.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::autoscale::AutoscalingSpec;
use super::data::spec::{CacheSpec, DatabaseSpec, DegradeSpec};
use crate::spec::{DistributionSpec, RateSpec, Seconds, SpikeSpec};

/// A fleet scenario as written in the file.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FleetScenarioFile {
    /// A short name for reports (default `fleet`).
    #[serde(default)]
    pub name: Option<String>,
    /// Free text (default empty).
    #[serde(default)]
    pub description: Option<String>,
    /// How long to run and what to measure.
    pub run: FleetRunSpec,
    /// Instance types, referenced by name from groups.
    pub instance_types: Vec<InstanceTypeSpec>,
    /// Regions, each with a balancer and instance groups.
    pub regions: Vec<RegionSpec>,
    /// One-way latency between regions; every pair of distinct regions needs
    /// an entry.
    #[serde(default)]
    pub latency: Option<Vec<LatencySpec>>,
    /// GeoDNS settings (default TTL 60 s, Route 53-like health checks).
    #[serde(default)]
    pub dns: Option<DnsSpec>,
    /// Client populations.
    pub populations: Vec<PopulationSpec>,
    /// Faults injected at given times (default none).
    #[serde(default)]
    pub faults: Option<Vec<FaultSpec>>,
    /// Components that fail at random (MTBF/MTTR), expanded into a fault
    /// timeline per run from their own random streams (default none).
    #[serde(default)]
    pub random_faults: Option<Vec<RandomFaultSpec>>,
    /// Database clusters that request classes query (default none).
    #[serde(default)]
    pub databases: Option<Vec<DatabaseSpec>>,
    /// Caches that request classes read through (default none).
    #[serde(default)]
    pub caches: Option<Vec<CacheSpec>>,
    /// One-way latency between an instance and a database node in its own
    /// region, and between two nodes of one region (default 0.25 ms).
    #[serde(default)]
    pub intra_region_latency: Option<Seconds>,
    /// Outcomes the run should show, each checked against the measurement
    /// (default none).
    #[serde(default)]
    pub expect: Option<Vec<super::expect::ExpectSpec>>,
    /// The metastability probe: does goodput come back after a trigger
    /// (default off)?
    #[serde(default)]
    pub recovery: Option<super::expect::RecoverySpec>,
}

/// What a `[[faults]]` entry takes down.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FaultKindSpec {
    /// A whole region: unreachable, everything in it lost.
    Region,
    /// A region's load balancer: stops answering.
    Balancer,
    /// An availability zone: every instance in it (and any launched into
    /// it during the fault) is down.
    Zone,
    /// An instance group: every instance of it is down.
    Group,
    /// One instance of a group (by its index among the group's starting
    /// instances).
    Instance,
    /// Gray failure: one instance stays up and passes health checks but
    /// serves `slowdown` times slower.
    SlowInstance,
    /// The node that is a database shard's primary when the fault starts.
    DatabasePrimary,
    /// One replica of a database shard (by its index among the replicas).
    DatabaseReplica,
    /// A cache's node in one region: it loses its contents, and reads go to
    /// the database while it is down.
    Cache,
    /// The GeoDNS provider: clients whose cached answer expires while it is
    /// down cannot resolve, and their requests fail.
    Dns,
    /// A network partition between `region` and `peer`: nothing crosses
    /// between them, either way.
    Partition,
    /// A degraded link between `region` and `peer`: added one-way
    /// `latency` and/or message `loss`, both ways.
    Link,
}

/// `[[faults]]`: take a component down at `at` for `duration`.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// What fails.
    pub kind: FaultKindSpec,
    /// The region it is in (every kind but the database ones).
    #[serde(default)]
    pub region: Option<String>,
    /// The database (kinds `database_primary` and `database_replica`).
    #[serde(default)]
    pub database: Option<String>,
    /// The shard (database kinds; default 0).
    #[serde(default)]
    pub shard: Option<u64>,
    /// The replica's index among the shard's replicas (kind
    /// `database_replica`).
    #[serde(default)]
    pub replica: Option<u64>,
    /// The cache (kind `cache`).
    #[serde(default)]
    pub cache: Option<String>,
    /// Recovery-time objective: the report marks the incident's measured
    /// RTO as met or missed against it.
    #[serde(default)]
    pub rto_target: Option<Seconds>,
    /// Recovery-point objective: the span of acknowledged writes the
    /// incident may lose (`0s` means none).
    #[serde(default)]
    pub rpo_target: Option<Seconds>,
    /// The zone (kind `zone`).
    #[serde(default)]
    pub zone: Option<String>,
    /// The group (kinds `group`, `instance` and `slow_instance`).
    #[serde(default)]
    pub group: Option<String>,
    /// The instance's index among the group's starting instances (kinds
    /// `instance` and `slow_instance`).
    #[serde(default)]
    pub instance: Option<u64>,
    /// How many times slower it serves (kind `slow_instance`; above 1, at
    /// most 1,000).
    #[serde(default)]
    pub slowdown: Option<f64>,
    /// The other end of the link (kinds `partition` and `link`).
    #[serde(default)]
    pub peer: Option<String>,
    /// One-way latency added to every message across the link (kind
    /// `link`).
    #[serde(default)]
    pub latency: Option<Seconds>,
    /// Probability that a message across the link is dropped (kind `link`;
    /// 0 to 1).
    #[serde(default)]
    pub loss: Option<f64>,
    /// When it fails, from the start of the run.
    pub at: Seconds,
    /// How long it stays down (positive).
    pub duration: Seconds,
}

/// What a `[[random_faults]]` entry makes fail at random.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RandomFaultKindSpec {
    /// Every starting instance of `group` in `region`, independently.
    Instance,
    /// Every zone of `region` (or only `zone`), independently: a zone's
    /// instances fail together.
    Zone,
    /// The region itself, with its databases and caches (shared fate).
    Region,
}

/// `[[random_faults]]`: components that fail independently, each after an
/// exponential time to failure with mean `mtbf` (counted from its last
/// repair), and stay down for a `mttr` draw.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RandomFaultSpec {
    /// What fails.
    pub kind: RandomFaultKindSpec,
    /// The region.
    pub region: String,
    /// The group (kind `instance`).
    #[serde(default)]
    pub group: Option<String>,
    /// Only this zone (kind `zone`; default every zone of the region).
    #[serde(default)]
    pub zone: Option<String>,
    /// Mean time between failures of one component (its mean up time).
    pub mtbf: Seconds,
    /// Time to repair, a distribution (e.g. `{ type = "exponential", mean =
    /// "5min" }`).
    pub mttr: DistributionSpec,
}

/// `[run]`: run length, warm-up, seed, series interval, SLO.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FleetRunSpec {
    /// Simulated time to run for (required, positive).
    pub duration: Seconds,
    /// Statistics before this time are discarded (default 0).
    #[serde(default)]
    pub warmup: Option<Seconds>,
    /// Seed when the command line gives none (default 1).
    #[serde(default)]
    pub seed: Option<u64>,
    /// Bucket width of the report's time series (default 10 s).
    #[serde(default)]
    pub series_interval: Option<Seconds>,
    /// The latency objective (default 300 ms at 0.999).
    #[serde(default)]
    pub slo: Option<SloSpec>,
}

/// `slo = { latency = "300ms", target = 0.999 }`.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SloSpec {
    /// A request is good if it succeeds within this (default 300 ms).
    #[serde(default)]
    pub latency: Option<Seconds>,
    /// Share of good requests required, in (0, 1] (default 0.999).
    #[serde(default)]
    pub target: Option<f64>,
}

/// `[[instance_types]]`: speed, workers, waiting room, price.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InstanceTypeSpec {
    /// Unique name, e.g. `c5.xlarge`.
    pub name: String,
    /// Speed factor: demand `d` takes `d / speed` (default 1).
    #[serde(default)]
    pub speed: Option<f64>,
    /// Concurrent workers per instance (1 to 100,000).
    pub workers: u64,
    /// Waiting room per instance beyond the workers (default unbounded).
    #[serde(default)]
    pub queue_capacity: Option<u64>,
    /// Price per instance-hour (default 0).
    #[serde(default)]
    pub hourly_price: Option<f64>,
    /// Shortest time billed for an instance, however briefly it lives
    /// (default 60 s, as EC2 per-second billing).
    #[serde(default)]
    pub billing_minimum: Option<Seconds>,
}

/// `[[regions]]`: zones, balancer, groups, outages.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegionSpec {
    /// Unique name, e.g. `us-east`.
    pub name: String,
    /// Availability-zone names, unique within the region (at least one).
    pub zones: Vec<String>,
    /// Windows during which the whole region is down (default none).
    #[serde(default)]
    pub outages: Option<Vec<WindowSpec>>,
    /// The regional load balancer (default: round robin, ALB health checks).
    #[serde(default)]
    pub balancer: Option<BalancerSpec>,
    /// Instance groups behind the balancer (default none: no capacity).
    #[serde(default)]
    pub groups: Option<Vec<GroupSpec>>,
    /// Most instances alive in the region at once, all groups together (an
    /// account quota); launches beyond it are refused (default none).
    #[serde(default)]
    pub instance_quota: Option<u64>,
}

/// A window `[start, end)` of simulated time.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WindowSpec {
    /// First instant inside.
    pub start: Seconds,
    /// First instant after (later than `start`).
    pub end: Seconds,
}

/// The name of a load-balancing algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AlgorithmName {
    /// Cyclic order over eligible backends (the ALB and Envoy default).
    RoundRobin,
    /// Frequency proportional to group weight.
    WeightedRoundRobin,
    /// Uniform over eligible backends.
    Random,
    /// Fewest requests in flight (ALB `least_outstanding_requests`).
    LeastOutstanding,
    /// Envoy least request: best of `choices` random draws (alias `p2c`,
    /// `least_request`).
    #[serde(alias = "p2c", alias = "least_request")]
    PowerOfChoices,
    /// Peak-EWMA least latency over two random choices.
    LeastLatency,
    /// Consistent hashing on a ring (Envoy `RING_HASH`).
    RingHash,
    /// Maglev lookup table.
    Maglev,
    /// `hash(key) mod n`.
    KeyHash,
}

/// `[regions.balancer]`: algorithm, health checks, outlier ejection, slow
/// start.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BalancerSpec {
    /// How a backend is chosen (default `round_robin`).
    #[serde(default)]
    pub algorithm: Option<AlgorithmName>,
    /// `power_of_choices` only: draws per pick, 2 to 64 (default 2).
    #[serde(default)]
    pub choices: Option<u64>,
    /// `least_latency` only: EWMA time constant (default 10 s).
    #[serde(default)]
    pub decay: Option<Seconds>,
    /// `ring_hash` only: virtual nodes on the ring (default 1024).
    #[serde(default)]
    pub ring_size: Option<u64>,
    /// `ring_hash` only: bounded-load factor, above 1 (default off).
    #[serde(default)]
    pub bounded_load: Option<f64>,
    /// `maglev` only: lookup-table size, a prime (default 65537).
    #[serde(default)]
    pub table_size: Option<u64>,
    /// With no eligible backend, use all registered ones (default true).
    #[serde(default)]
    pub fail_open: Option<bool>,
    /// Prefer the client's zone (default off).
    #[serde(default)]
    pub zone_aware: Option<ZoneAwareSpec>,
    /// Active health checks (default ALB: 30 s, 5 s, 2 unhealthy, 5 healthy).
    #[serde(default)]
    pub health_check: Option<HealthCheckSpec>,
    /// Passive outlier ejection (default off).
    #[serde(default)]
    pub outlier: Option<OutlierSpec>,
    /// Slow start of new and recovered instances (default off).
    #[serde(default)]
    pub slow_start: Option<SlowStartSpec>,
}

/// `zone_aware = { spill_utilization = 0.8 }`.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ZoneAwareSpec {
    /// Spill to the whole region when the local zone's requests in flight
    /// exceed this share of its workers, in (0, 1] (default 0.8).
    #[serde(default)]
    pub spill_utilization: Option<f64>,
}

/// Active health checks; every field has a context-dependent default.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HealthCheckSpec {
    /// Time between checks (positive).
    #[serde(default)]
    pub interval: Option<Seconds>,
    /// A check fails without an answer within this (positive, at most
    /// `interval`).
    #[serde(default)]
    pub timeout: Option<Seconds>,
    /// Consecutive failures to mark a target unhealthy (1 to 1000).
    #[serde(default)]
    pub unhealthy_threshold: Option<u64>,
    /// Consecutive successes to mark a target healthy (1 to 1000).
    #[serde(default)]
    pub healthy_threshold: Option<u64>,
}

/// Passive outlier ejection (Envoy `consecutive_5xx`).
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OutlierSpec {
    /// Consecutive errors that eject a backend (default 5).
    #[serde(default)]
    pub consecutive_errors: Option<u64>,
    /// Analysis interval (default 10 s).
    #[serde(default)]
    pub interval: Option<Seconds>,
    /// Base ejection time (default 30 s).
    #[serde(default)]
    pub base_ejection: Option<Seconds>,
    /// Longest ejection (default 300 s, or `base_ejection` if larger).
    #[serde(default)]
    pub max_ejection: Option<Seconds>,
    /// Most backends ejected at once, percent in [0, 100] (default 10).
    #[serde(default)]
    pub max_ejection_percent: Option<f64>,
}

/// Slow start (Envoy formula).
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SlowStartSpec {
    /// Length of the ramp (required, positive).
    pub window: Seconds,
    /// Ramp shape, positive; 1 is linear (default 1).
    #[serde(default)]
    pub aggression: Option<f64>,
    /// Floor of the weight factor, percent in (0, 100] (default 10).
    #[serde(default)]
    pub min_weight_percent: Option<f64>,
}

/// `[[regions.groups]]`: identical instances.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupSpec {
    /// Name, unique within the region.
    pub name: String,
    /// Name of an instance type.
    pub instance_type: String,
    /// Instances at the start of the run (0 to 1,000,000).
    pub instances: u64,
    /// Zones the instances are spread over, round robin (default all).
    #[serde(default)]
    pub zones: Option<Vec<String>>,
    /// Balancer weight of each instance, 1 to 1000 (default 1).
    #[serde(default)]
    pub weight: Option<u64>,
    /// Launch-to-ready time (default constant 60 s).
    #[serde(default)]
    pub boot: Option<DistributionSpec>,
    /// Warm-up after boot (default none).
    #[serde(default)]
    pub warmup: Option<WarmupSpec>,
    /// Whether the initial instances boot at t = 0 (default false: ready).
    #[serde(default)]
    pub start_booting: Option<bool>,
    /// Autoscaling (default none: the group keeps its size).
    #[serde(default)]
    pub autoscaling: Option<AutoscalingSpec>,
}

/// `warmup = { duration = "60s", initial_speed = 0.5 }`.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WarmupSpec {
    /// How long warm-up lasts (required).
    pub duration: Seconds,
    /// Relative speed at the start, in (0, 1] (default 0.5).
    #[serde(default)]
    pub initial_speed: Option<f64>,
}

/// `[[latency]]`: one-way latency between two regions, both directions with
/// `between`, one direction with `from` and `to`.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LatencySpec {
    /// Two region names: sets both directions.
    #[serde(default)]
    pub between: Option<[String; 2]>,
    /// One direction: from this region...
    #[serde(default)]
    pub from: Option<String>,
    /// ...to this one.
    #[serde(default)]
    pub to: Option<String>,
    /// One-way latency.
    pub one_way: Seconds,
}

/// `[dns]`: GeoDNS.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DnsSpec {
    /// How long clients keep an answer (default 60 s).
    #[serde(default)]
    pub ttl: Option<Seconds>,
    /// Region health checks (default 30 s, 4 s, 3 unhealthy, 3 healthy).
    #[serde(default)]
    pub health_check: Option<HealthCheckSpec>,
}

/// `[[populations]]`: clients in one place.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PopulationSpec {
    /// Unique name, e.g. `north-america`.
    pub name: String,
    /// The nearest region: GeoDNS's first choice.
    pub region: String,
    /// Regions to use, in order, when the home region is unhealthy (default:
    /// every other region, nearest first).
    #[serde(default)]
    pub fallback: Option<Vec<String>>,
    /// One-way latency from the clients to the home region (default 0).
    #[serde(default)]
    pub access_latency: Option<Seconds>,
    /// Open loop: a Poisson arrival rate profile.
    #[serde(default)]
    pub rate: Option<RateSpec>,
    /// Open loop: a rate trace read from a CSV file.
    #[serde(default)]
    pub trace: Option<TraceFileSpec>,
    /// Flash crowds multiplying `rate` or `trace`.
    #[serde(default)]
    pub spikes: Option<Vec<SpikeSpec>>,
    /// Closed loop: users who think between requests.
    #[serde(default)]
    pub closed_loop: Option<ClosedLoopSpec>,
    /// Shorthand for one read class with this demand; or give `classes`.
    #[serde(default)]
    pub demand: Option<DistributionSpec>,
    /// Request classes; or give `demand`.
    #[serde(default)]
    pub classes: Option<Vec<ClassSpec>>,
    /// Client behaviour (default: 30 s timeout, nothing else).
    #[serde(default)]
    pub client: Option<ClientSpec>,
}

/// `trace = { file = "traces/x.csv" }`: a rate trace in a CSV file of
/// `time_seconds,rate_per_second` lines.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TraceFileSpec {
    /// Path, relative to the scenario file's directory.
    pub file: String,
    /// Multiplies every rate (default 1).
    #[serde(default)]
    pub scale: Option<f64>,
    /// Interpolate linearly between points instead of holding each rate
    /// until the next point (default false).
    #[serde(default)]
    pub interpolate: Option<bool>,
}

/// `closed_loop = { users = 500, think = {...} }`.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClosedLoopSpec {
    /// Number of users (1 to 10,000,000 over all populations).
    pub users: u64,
    /// Think time between an outcome and the next request (positive mean).
    pub think: DistributionSpec,
}

/// Read or write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccessKindSpec {
    /// A read.
    Read,
    /// A write.
    Write,
}

/// `[[populations.classes]]`: a request class.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClassSpec {
    /// Name, unique within the population.
    pub name: String,
    /// Share of the population's requests, in (0, 1]; shares sum to 1
    /// (default 1 for a lone class).
    #[serde(default)]
    pub share: Option<f64>,
    /// `read` or `write` (default `read`).
    #[serde(default)]
    pub kind: Option<AccessKindSpec>,
    /// Service demand at speed 1 (positive, finite mean).
    pub demand: DistributionSpec,
    /// Which keys requests touch (default uniform over 1,000,000).
    #[serde(default)]
    pub keys: Option<KeysSpec>,
    /// The database each request queries (default none).
    #[serde(default)]
    pub database: Option<String>,
    /// Queries per request, one after another (default 1; needs
    /// `database`).
    #[serde(default)]
    pub queries: Option<u64>,
    /// A cache that reads try first (cache-aside; needs `database`).
    #[serde(default)]
    pub cache: Option<String>,
    /// What a read answers when its database is unreachable: `error`
    /// (default), `stale`, `default` or `stale_then_default`.
    #[serde(default)]
    pub degrade: Option<DegradeSpec>,
}

/// Key popularity, tagged by `popularity`.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(tag = "popularity", rename_all = "snake_case", deny_unknown_fields)]
pub enum KeysSpec {
    /// Every key equally likely.
    Uniform {
        /// Distinct keys (default 1,000,000).
        #[serde(default)]
        count: Option<u64>,
    },
    /// Key of rank k with probability ∝ k^-s.
    Zipf {
        /// Distinct keys (default 1,000,000).
        #[serde(default)]
        count: Option<u64>,
        /// Exponent, in (0, 10].
        s: f64,
    },
}

/// `[populations.client]`: timeouts, retries, hedging, breaker, bulkhead.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientSpec {
    /// Per-attempt timeout (default 30 s).
    #[serde(default)]
    pub timeout: Option<Seconds>,
    /// Retries (default none).
    #[serde(default)]
    pub retry: Option<RetrySpec>,
    /// Hedged requests (default none).
    #[serde(default)]
    pub hedge: Option<HedgeSpec>,
    /// Circuit breaker per target region (default none).
    #[serde(default)]
    pub circuit_breaker: Option<BreakerSpec>,
    /// Limit on requests in flight (default none).
    #[serde(default)]
    pub bulkhead: Option<BulkheadSpec>,
}

/// Backoff jitter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum JitterSpec {
    /// Exactly min(cap, base × 2^n).
    None,
    /// Uniform in [0, min(cap, base × 2^n)].
    Full,
    /// Half fixed, half uniform.
    Equal,
    /// min(cap, uniform(base, 3 × previous sleep)).
    Decorrelated,
}

/// A failure kind that may be retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RetryOnSpec {
    /// The attempt timed out.
    Timeout,
    /// The attempt was rejected (queue full, 503).
    Rejected,
    /// The balancer had no healthy backend.
    NoHealthyBackend,
}

/// `retry = {...}`: retries with exponential backoff.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetrySpec {
    /// Attempts in all, first included, 1 to 100 (default 3).
    #[serde(default)]
    pub max_attempts: Option<u64>,
    /// Backoff base (default 100 ms).
    #[serde(default)]
    pub base: Option<Seconds>,
    /// Backoff cap, at least `base` (default 20 s).
    #[serde(default)]
    pub cap: Option<Seconds>,
    /// Jitter (default `full`).
    #[serde(default)]
    pub jitter: Option<JitterSpec>,
    /// Retry budget (default unlimited).
    #[serde(default)]
    pub budget: Option<RetryBudgetSpec>,
    /// Failures retried (default all three).
    #[serde(default)]
    pub on: Option<Vec<RetryOnSpec>>,
}

/// `budget = {...}`: a Finagle-style retry budget.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetryBudgetSpec {
    /// Retries allowed per request, in [0, 10] (default 0.2).
    #[serde(default)]
    pub ratio: Option<f64>,
    /// Retries always allowed per second (default 10).
    #[serde(default)]
    pub min_per_second: Option<f64>,
    /// Sliding window (default 10 s).
    #[serde(default)]
    pub window: Option<Seconds>,
}

/// `hedge = {...}`: hedged requests.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HedgeSpec {
    /// Wait before each extra copy (shorter than the timeout).
    pub delay: Seconds,
    /// Extra copies at most, 1 to 10 (default 1).
    #[serde(default)]
    pub max_extra: Option<u64>,
}

/// `circuit_breaker = {...}`: seed 003's breaker.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BreakerSpec {
    /// Consecutive failures that open it (default 5).
    #[serde(default)]
    pub failure_threshold: Option<u64>,
    /// Successes in half-open that close it (default 3).
    #[serde(default)]
    pub success_threshold: Option<u64>,
    /// Time open before half-open (default 60 s).
    #[serde(default)]
    pub open_timeout: Option<Seconds>,
}

/// `bulkhead = { max_concurrent = 500 }`.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkheadSpec {
    /// Most requests in flight from the population (at least 1).
    pub max_concurrent: u64,
}

/// The JSON Schema (draft 2020-12) of the fleet scenario file, for editors
/// and `fleetsim schema`. TOML files are checked against it after the
/// obvious TOML-to-JSON mapping.
pub fn fleet_json_schema() -> serde_json::Value {
    let schema = schemars::schema_for!(FleetScenarioFile);
    let mut value = serde_json::to_value(&schema).expect("a schema always serializes");
    // The derive lists canonical names only; the parser also takes aliases.
    if let Some(names) = value
        .pointer_mut("/$defs/AlgorithmName/oneOf")
        .and_then(serde_json::Value::as_array_mut)
    {
        for alias in ["p2c", "least_request"] {
            names.push(serde_json::json!({
                "const": alias,
                "description": "Alias of `power_of_choices`.",
                "type": "string",
            }));
        }
    }
    value
}
