//! The validated, lowered form of a fleet scenario: what the model runs.
//!
//! A scenario file (`spec.rs`) is parsed and checked, then lowered into these
//! types: names become indices, times become [`SimDuration`]s, distributions
//! and rate profiles are built and validated. Nothing here can be invalid by
//! construction of the lowering code; the model never re-checks.

use sim_core::{Distribution, RateProfile, SimDuration, SimTime};

use super::autoscale::AutoscalingConfig;
use super::data::config::{CacheConfig, ClassDataConfig, DatabaseConfig};
use super::expect::{Expectation, RecoveryConfig};

/// A whole fleet: regions with their balancers and instance groups, the
/// client populations that load them, global routing and run settings.
#[derive(Clone, Debug)]
pub struct FleetConfig {
    /// Short name for reports.
    pub name: String,
    /// Free text from the file.
    pub description: String,
    /// Run length, warm-up, seed, series interval, SLO.
    pub run: FleetRunConfig,
    /// Instance types, referenced by index from groups.
    pub instance_types: Vec<InstanceTypeConfig>,
    /// Regions, in file order.
    pub regions: Vec<RegionConfig>,
    /// One-way latency between regions: `latency[from][to]`, zero on the
    /// diagonal, symmetric unless the file says otherwise.
    pub inter_region_latency: Vec<Vec<SimDuration>>,
    /// GeoDNS: TTL and region health checks.
    pub dns: DnsConfig,
    /// Client populations, in file order.
    pub populations: Vec<PopulationConfig>,
    /// Faults injected at given times, in file order.
    pub faults: Vec<FaultConfig>,
    /// Components that fail at random (`[[random_faults]]`): each run
    /// expands them into concrete faults appended to `faults`.
    pub random_faults: Vec<RandomFaultConfig>,
    /// Database clusters (`[[databases]]`).
    pub databases: Vec<DatabaseConfig>,
    /// Caches (`[[caches]]`).
    pub caches: Vec<CacheConfig>,
    /// One-way latency between an instance and a database node of its
    /// region, and between two nodes of one region.
    pub intra_region_latency: SimDuration,
    /// `[[expect]]`: outcomes checked against each run's measurements.
    pub expectations: Vec<Expectation>,
    /// `[recovery]`: the metastability probe.
    pub recovery: Option<RecoveryConfig>,
}

/// What a fault takes down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultTarget {
    /// A whole region (index).
    Region(usize),
    /// A region's load balancer: for clients the same as the region being
    /// unreachable.
    Balancer(usize),
    /// Zone `.1` of region `.0`.
    Zone(usize, usize),
    /// Group `.1` of region `.0`.
    Group(usize, usize),
    /// Instance `.2` (among the starting instances) of group `.1` of
    /// region `.0`.
    Instance(usize, usize, u32),
    /// The same instance, up but serving [`FaultConfig::slowdown`] times
    /// slower (a gray failure: health checks still pass).
    SlowInstance(usize, usize, u32),
    /// Whichever node is primary of shard `.1` of database `.0` when the
    /// fault starts.
    DatabasePrimary(usize, usize),
    /// Replica `.2` (node `.2 + 1`) of shard `.1` of database `.0`.
    DatabaseReplica(usize, usize, usize),
    /// Cache `.0`'s node in region `.1`.
    Cache(usize, usize),
    /// The GeoDNS provider.
    Dns,
    /// A partition between regions `.0` and `.1` (`.0 < .1`): nothing
    /// crosses, either way.
    Partition(usize, usize),
    /// A degraded link between regions `.0` and `.1` (`.0 < .1`):
    /// [`FaultConfig::latency`] added one way, [`FaultConfig::loss`] of the
    /// messages dropped.
    Link(usize, usize),
}

/// One `[[random_faults]]` entry: components that fail independently.
#[derive(Clone, Debug)]
pub struct RandomFaultConfig {
    /// Each component: what fails and its label in reports.
    pub components: Vec<(FaultTarget, String)>,
    /// Mean up time between failures of one component.
    pub mtbf: SimDuration,
    /// Time to repair.
    pub mttr: Distribution,
}

/// One injected fault: its target and when it is down.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultConfig {
    /// What fails.
    pub target: FaultTarget,
    /// Its name in reports, e.g. `zone us-east/us-east-1a`.
    pub label: String,
    /// When it is down.
    pub window: Window,
    /// For a slow instance, how many times slower it serves (1 otherwise).
    pub slowdown: f64,
    /// For a link fault, the one-way latency added (zero otherwise).
    pub latency: SimDuration,
    /// For a link fault, the probability a message across it is dropped
    /// (0 otherwise).
    pub loss: f64,
    /// Recovery-time objective the incident is judged against.
    pub rto_target: Option<SimDuration>,
    /// Recovery-point objective: the longest span of acknowledged writes
    /// it may lose.
    pub rpo_target: Option<SimDuration>,
}

/// `[run]`: how long, what to measure.
#[derive(Clone, Debug)]
pub struct FleetRunConfig {
    /// Simulated time to run for.
    pub duration: SimDuration,
    /// Statistics before this time are discarded (outcomes still conserve).
    pub warmup: SimDuration,
    /// Seed when the command line gives none.
    pub default_seed: u64,
    /// Bucket width of the report's time series (default 10 s).
    pub series_interval: SimDuration,
    /// The latency objective.
    pub slo: SloConfig,
}

/// A latency SLO: a request is good if it succeeds within `latency`; a minute
/// meets the SLO if at least `target` of its requests are good.
#[derive(Clone, Copy, Debug)]
pub struct SloConfig {
    /// Latency threshold for a good request.
    pub latency: SimDuration,
    /// Share of good requests required, in (0, 1] (e.g. 0.999).
    pub target: f64,
}

/// An instance type: how fast, how many workers, what it costs.
#[derive(Clone, Debug)]
pub struct InstanceTypeConfig {
    /// Name from the file (e.g. `c5.xlarge`).
    pub name: String,
    /// Speed factor: a request with demand `d` takes `d / speed` when warm.
    pub speed: f64,
    /// Concurrent workers (requests in service at once).
    pub workers: u32,
    /// Waiting room beyond the workers; `None` is unbounded. Requests arriving
    /// to a full queue are rejected (HTTP 503).
    pub queue_capacity: Option<u32>,
    /// Price per instance-hour, in the file's currency.
    pub hourly_price: f64,
    /// Shortest time billed for one instance (per-second billing with a
    /// minimum).
    pub billing_minimum: SimDuration,
}

/// A region: zones, a load balancer, instance groups, scheduled outages.
#[derive(Clone, Debug)]
pub struct RegionConfig {
    /// Name (e.g. `us-east`).
    pub name: String,
    /// Availability-zone names; at least one.
    pub zones: Vec<String>,
    /// The regional load balancer in front of every group.
    pub balancer: BalancerConfig,
    /// Instance groups behind the balancer.
    pub groups: Vec<GroupConfig>,
    /// Windows during which the whole region is down (until the fault issue
    /// brings general fault injection).
    pub outages: Vec<Window>,
    /// Most instances alive in the region at once; `None` is unlimited.
    pub instance_quota: Option<u32>,
}

/// A half-open window `[start, end)` of simulated time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// First instant inside.
    pub start: SimTime,
    /// First instant after.
    pub end: SimTime,
}

/// A group of identical instances.
#[derive(Clone, Debug)]
pub struct GroupConfig {
    /// Name, unique within the region.
    pub name: String,
    /// Index into [`FleetConfig::instance_types`].
    pub instance_type: usize,
    /// Instances at the start of the run.
    pub instances: u32,
    /// Zone indices (into the region's zones) the instances are spread over,
    /// round robin; all zones by default.
    pub zones: Vec<usize>,
    /// Load-balancer weight of each instance (weighted algorithms only).
    pub weight: u32,
    /// Time from launch until the instance can serve (used for instances
    /// launched during the run, and at start when `start_booting`).
    pub boot: Distribution,
    /// Warm-up after boot: speed starts at `initial_speed` × and rises
    /// linearly to full over `duration`.
    pub warmup: WarmupConfig,
    /// Whether the initial instances boot at t = 0 instead of starting ready.
    pub start_booting: bool,
    /// Autoscaling; `None` keeps the group at `instances`.
    pub autoscaling: Option<AutoscalingConfig>,
}

impl GroupConfig {
    /// The zone (index in the region) of the group's `k`-th starting
    /// instance: starting instances go round robin over the group's zones.
    /// The model places them so; the SPOF analyses rely on the same rule.
    pub fn starting_zone(&self, k: u32) -> usize {
        self.zones[k as usize % self.zones.len()]
    }
}

impl RegionConfig {
    /// The instance index (in the region) of group `g`'s `k`-th starting
    /// instance: starting instances are laid out group by group, before
    /// any launched later.
    pub fn starting_instance(&self, g: usize, k: u32) -> usize {
        let first: u32 = self.groups[..g].iter().map(|gc| gc.instances).sum();
        (first + k) as usize
    }
}

/// Warm-up of a freshly booted instance (JIT, caches).
#[derive(Clone, Copy, Debug)]
pub struct WarmupConfig {
    /// How long warm-up lasts (zero: none).
    pub duration: SimDuration,
    /// Relative speed at the start of warm-up, in (0, 1].
    pub initial_speed: f64,
}

/// A regional load balancer.
#[derive(Clone, Debug)]
pub struct BalancerConfig {
    /// How a backend is chosen.
    pub algorithm: Algorithm,
    /// Prefer the client's zone; spill over when it is overloaded.
    pub zone_aware: Option<ZoneAwareConfig>,
    /// Active health checks of each instance.
    pub health_check: HealthCheckConfig,
    /// Passive outlier ejection (Envoy style); `None` is off.
    pub outlier: Option<OutlierConfig>,
    /// Slow start for new or recovered instances; `None` is off.
    pub slow_start: Option<SlowStartConfig>,
    /// When no backend is eligible, send to all registered ones anyway (the
    /// ALB "fail open" and Envoy panic behaviour). Default true.
    pub fail_open: bool,
}

/// A load-balancing algorithm and its parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Algorithm {
    /// Cyclic order over eligible backends.
    RoundRobin,
    /// Frequency proportional to weight (earliest-deadline-first schedule).
    WeightedRoundRobin,
    /// Uniform over eligible backends.
    Random,
    /// Fewest requests in flight, ties broken uniformly at random.
    LeastOutstanding,
    /// Envoy least request: `choices` draws with replacement, keep the first
    /// unless a later one has strictly fewer requests in flight.
    PowerOfChoices {
        /// Number of draws (default 2).
        choices: u32,
    },
    /// Least latency: power of two choices on an EWMA of observed response
    /// times (Finagle/Linkerd "peak EWMA" style).
    LeastLatency {
        /// EWMA time constant (default 10 s).
        decay: SimDuration,
    },
    /// Consistent hashing on a ring with virtual nodes.
    RingHash {
        /// Virtual nodes on the ring (default 1024, Envoy's minimum ring).
        ring_size: u32,
        /// Bounded load: a backend with more than `factor` × the average
        /// load in flight is skipped clockwise; `None` is off.
        bounded_load: Option<f64>,
    },
    /// Maglev lookup table.
    Maglev {
        /// Table size, a prime (default 65537).
        table_size: u32,
    },
    /// `hash(key) mod n` over eligible backends.
    KeyHash,
}

/// Zone-aware routing.
#[derive(Clone, Copy, Debug)]
pub struct ZoneAwareConfig {
    /// Local zone counts as overloaded when its requests in flight exceed
    /// this share of its workers (default 0.8); then the whole region is
    /// used.
    pub spill_utilization: f64,
}

/// Active health checking (per instance at the balancer, per region at DNS).
#[derive(Clone, Copy, Debug)]
pub struct HealthCheckConfig {
    /// Time between checks.
    pub interval: SimDuration,
    /// A check fails if the target does not answer within this.
    pub timeout: SimDuration,
    /// Consecutive failures to mark a healthy target unhealthy.
    pub unhealthy_threshold: u32,
    /// Consecutive successes to mark an unhealthy target healthy.
    pub healthy_threshold: u32,
}

/// Passive outlier detection on consecutive errors (Envoy `consecutive_5xx`).
#[derive(Clone, Copy, Debug)]
pub struct OutlierConfig {
    /// Consecutive errors (503, timeouts) that eject a backend (default 5).
    pub consecutive_errors: u32,
    /// Analysis interval; the ejection multiplier decays once per interval
    /// of good behaviour (default 10 s).
    pub interval: SimDuration,
    /// Ejection time × number of consecutive ejections (default 30 s).
    pub base_ejection: SimDuration,
    /// Cap on the ejection time (default 300 s).
    pub max_ejection: SimDuration,
    /// Most backends ejected at once, percent (default 10; at least one can
    /// always be ejected).
    pub max_ejection_percent: f64,
}

/// Slow start (Envoy formula): weight × max(min_weight, (t / window)^(1/aggression)).
#[derive(Clone, Copy, Debug)]
pub struct SlowStartConfig {
    /// Length of the ramp.
    pub window: SimDuration,
    /// Ramp shape; 1.0 is linear.
    pub aggression: f64,
    /// Floor of the weight factor, in (0, 1] (default 0.1).
    pub min_weight: f64,
}

/// GeoDNS.
#[derive(Clone, Copy, Debug)]
pub struct DnsConfig {
    /// How long clients keep an answer.
    pub ttl: SimDuration,
    /// Region health checks.
    pub health_check: HealthCheckConfig,
}

/// A population of clients in one place.
#[derive(Clone, Debug)]
pub struct PopulationConfig {
    /// Name (e.g. `north-america`).
    pub name: String,
    /// Index of the nearest region (GeoDNS's first choice).
    pub home_region: usize,
    /// Ordered fallback regions (indices) when the home region is unhealthy.
    pub fallback: Vec<usize>,
    /// One-way latency from these clients to their home region's edge.
    pub access_latency: SimDuration,
    /// How requests are generated. Clients are spread uniformly over the
    /// home region's zones (zone-aware routing uses a request's zone).
    pub load: LoadConfig,
    /// Request classes; shares sum to 1.
    pub classes: Vec<ClassConfig>,
    /// Client-side resilience settings.
    pub client: ClientConfig,
}

/// How a population generates requests.
#[derive(Clone, Debug)]
pub enum LoadConfig {
    /// Open loop: a (possibly time-varying) Poisson process; requests come
    /// whatever the latency.
    Open(RateProfile),
    /// Closed loop: `users` each send a request, wait for its outcome, then
    /// think.
    Closed {
        /// Number of users.
        users: u32,
        /// Think time between an outcome and the next request.
        think: Distribution,
    },
}

/// Whether a class reads or writes (the data tier treats them differently).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccessKind {
    /// A read.
    Read,
    /// A write.
    Write,
}

/// A request class.
#[derive(Clone, Debug)]
pub struct ClassConfig {
    /// Name (e.g. `read-feed`).
    pub name: String,
    /// Share of the population's requests, in (0, 1].
    pub share: f64,
    /// Read or write.
    pub kind: AccessKind,
    /// Service demand at speed 1.
    pub demand: Distribution,
    /// Which keys requests touch.
    pub keys: KeyPopularity,
    /// Its data-tier calls, if any.
    pub data: Option<ClassDataConfig>,
}

/// Key popularity for hashing balancers (and later caches and shards).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum KeyPopularity {
    /// Keys `0..count` equally likely.
    Uniform {
        /// Number of distinct keys.
        count: u64,
    },
    /// Key of rank k with probability ∝ k^-s.
    Zipf {
        /// Number of distinct keys.
        count: u64,
        /// Exponent s > 0.
        s: f64,
    },
}

/// Client behaviour.
#[derive(Clone, Copy, Debug)]
pub struct ClientConfig {
    /// Per-attempt timeout.
    pub timeout: SimDuration,
    /// Retries; `None` is no retries.
    pub retry: Option<RetryConfig>,
    /// Hedging; `None` is off.
    pub hedge: Option<HedgeConfig>,
    /// Circuit breaker per target region; `None` is off.
    pub circuit_breaker: Option<BreakerConfig>,
    /// Most requests in flight from this population; `None` is unbounded.
    pub bulkhead: Option<u32>,
}

/// Retries with exponential backoff.
#[derive(Clone, Copy, Debug)]
pub struct RetryConfig {
    /// Attempts in all, first included (≥ 1).
    pub max_attempts: u32,
    /// Backoff base: attempt n (n ≥ 1 retries) waits up to base × 2^(n−1).
    pub base: SimDuration,
    /// Backoff cap.
    pub cap: SimDuration,
    /// Jitter flavour.
    pub jitter: Jitter,
    /// Retry budget; `None` is unlimited.
    pub budget: Option<RetryBudgetConfig>,
    /// Which failures are retried.
    pub on: RetryOn,
}

/// Backoff jitter (AWS Architecture Blog, "Exponential Backoff and Jitter").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Jitter {
    /// Exactly min(cap, base × 2^n).
    None,
    /// Uniform in [0, min(cap, base × 2^n)].
    Full,
    /// Half fixed, half uniform.
    Equal,
    /// min(cap, uniform(base, 3 × previous sleep)).
    Decorrelated,
}

/// Retry budget (Finagle `RetryBudget`): retries may be at most `ratio` of
/// requests over a sliding `window`, plus `min_per_second`.
#[derive(Clone, Copy, Debug)]
pub struct RetryBudgetConfig {
    /// Retries allowed per request (default 0.2).
    pub ratio: f64,
    /// Retries always allowed per second (default 10).
    pub min_per_second: f64,
    /// Window over which requests and retries are counted (default 10 s).
    pub window: SimDuration,
}

/// Which failures a client retries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryOn {
    /// Retry after a timeout.
    pub timeout: bool,
    /// Retry after a rejection (queue full, 503).
    pub rejected: bool,
    /// Retry after "no healthy backend".
    pub no_healthy_backend: bool,
}

/// Hedged requests: if no answer after `delay`, send another copy.
#[derive(Clone, Copy, Debug)]
pub struct HedgeConfig {
    /// Wait before each extra copy.
    pub delay: SimDuration,
    /// Extra copies at most (default 1).
    pub max_extra: u32,
}

/// Circuit breaker (seed 003's state machine).
#[derive(Clone, Copy, Debug)]
pub struct BreakerConfig {
    /// Consecutive failures that open the breaker (default 5).
    pub failure_threshold: u32,
    /// Successes in half-open that close it (default 3).
    pub success_threshold: u32,
    /// Time open before half-open (default 60 s).
    pub open_timeout: SimDuration,
}

impl FleetConfig {
    /// A one-region, one-zone fleet of `instances` identical single-pool
    /// instances (`workers` each, unbounded queues, speed 1) fed by one
    /// open-loop Poisson population at `rate` per second with exponential
    /// demand of mean `mean_demand_s`, zero network latency, no retries and
    /// a timeout far beyond any wait: the textbook pool that queueing theory
    /// describes. Validation and tests build on it and adjust fields.
    pub fn textbook_pool(
        algorithm: Algorithm,
        instances: u32,
        workers: u32,
        rate: f64,
        mean_demand_s: f64,
        duration: SimDuration,
        warmup: SimDuration,
    ) -> FleetConfig {
        let check = HealthCheckConfig {
            interval: SimDuration::from_secs(30),
            timeout: SimDuration::from_secs(5),
            unhealthy_threshold: 2,
            healthy_threshold: 5,
        };
        FleetConfig {
            name: "textbook-pool".to_string(),
            description: String::new(),
            run: FleetRunConfig {
                duration,
                warmup,
                default_seed: 1,
                series_interval: SimDuration::from_secs(10)
                    .max(SimDuration::from_nanos(duration.as_nanos() / 1000)),
                slo: SloConfig {
                    latency: SimDuration::from_secs_f64(10.0 * mean_demand_s),
                    target: 0.99,
                },
            },
            instance_types: vec![InstanceTypeConfig {
                name: "standard".to_string(),
                speed: 1.0,
                workers,
                queue_capacity: None,
                hourly_price: 0.1,
                billing_minimum: SimDuration::from_secs(60),
            }],
            regions: vec![RegionConfig {
                name: "region".to_string(),
                zones: vec!["zone-a".to_string()],
                balancer: BalancerConfig {
                    algorithm,
                    zone_aware: None,
                    health_check: check,
                    outlier: None,
                    slow_start: None,
                    fail_open: true,
                },
                groups: vec![GroupConfig {
                    name: "pool".to_string(),
                    instance_type: 0,
                    instances,
                    zones: vec![0],
                    weight: 1,
                    boot: Distribution::constant(60.0).expect("a positive constant"),
                    warmup: WarmupConfig {
                        duration: SimDuration::ZERO,
                        initial_speed: 1.0,
                    },
                    start_booting: false,
                    autoscaling: None,
                }],
                outages: Vec::new(),
                instance_quota: None,
            }],
            inter_region_latency: vec![vec![SimDuration::ZERO]],
            dns: DnsConfig {
                ttl: SimDuration::from_secs(60),
                health_check: check,
            },
            populations: vec![PopulationConfig {
                name: "clients".to_string(),
                home_region: 0,
                fallback: Vec::new(),
                access_latency: SimDuration::ZERO,
                load: LoadConfig::Open(RateProfile::constant(rate).expect("a positive rate")),
                classes: vec![ClassConfig {
                    name: "default".to_string(),
                    share: 1.0,
                    kind: AccessKind::Read,
                    demand: Distribution::exponential(mean_demand_s).expect("a positive mean"),
                    keys: KeyPopularity::Uniform { count: 1_000_000 },
                    data: None,
                }],
                client: ClientConfig {
                    timeout: SimDuration::from_hours(24 * 365),
                    retry: None,
                    hedge: None,
                    circuit_breaker: None,
                    bulkhead: None,
                },
            }],
            faults: Vec::new(),
            random_faults: Vec::new(),
            databases: Vec::new(),
            caches: Vec::new(),
            intra_region_latency: SimDuration::ZERO,
            expectations: Vec::new(),
            recovery: None,
        }
    }
}
