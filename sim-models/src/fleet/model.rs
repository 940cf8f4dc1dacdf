//! The fleet's event model: how one request travels client → GeoDNS →
//! regional balancer → instance queue → worker → back, with timeouts,
//! hedges, retries, circuit breakers and bulkheads on the client side, and
//! health checks, outlier ejection and slow start on the balancer side.
//!
//! # One request
//! 1. `Arrival` (open loop) or `UserWake` (closed loop): the population
//!    creates a request and draws *all* its demands at once — class, zone,
//!    key, service demand and DNS-cache age — from the population's own
//!    streams, so two policies compared on one seed see the same traffic.
//!    The bulkhead admits it or it ends `bulkhead_full`; the client's DNS
//!    answer (GeoDNS's answer as it was `age` ago, `age` uniform in [0, TTL)
//!    because clients' caches expire at spread-out times) picks the region.
//! 2. The client's breaker for that region admits an attempt (or the request
//!    ends `circuit_open`); the attempt's timeout goes on the population's
//!    deadline queue, and `AttemptArrive` is scheduled one one-way latency
//!    later (access latency plus the inter-region latency).
//! 3. `AttemptArrive`: a down region loses the attempt. Otherwise the
//!    balancer picks an instance (or answers "no healthy backend"); the
//!    instance serves it at once, queues it, or rejects it (queue full).
//! 4. `ServiceDone`: the worker takes the next queued attempt; the answer
//!    travels back (`Response`, one one-way latency later).
//! 5. `Response` or the deadline: the first success ends the request `ok`;
//!    a failure with no other copy in flight is retried after a jittered
//!    backoff if the policy, the attempt count and the retry budget allow,
//!    else the request ends with that failure.
//!
//! Timeouts and hedges of a population all have the same delay, so their
//! deadlines arrive in sending order: each population keeps them in FIFO
//! queues with one pending timer event, instead of one event per attempt.

use std::collections::VecDeque;

use rand::Rng;
use rand_distr::Distribution as _;
use sim_core::rng::uniform_open01;
use sim_core::stats::{LatencyHistogram, TimeWeighted};
use sim_core::{
    ArrivalProcess, Distribution, DurationStream, Model, RngStreams, Scheduler, SimDuration,
    SimTime, StreamKey, StreamRng,
};

use std::collections::BTreeMap;

use serde::Serialize;

use super::autoscale::{
    Decision, GroupView, InstanceCounts, MetricHistory, MetricRow, Policy, Victim,
};
use super::balancer::{BackendInfo, Balancer};
use super::client::{Backoff, Bulkhead, CircuitBreaker, RetryBudget};
use super::config::{AccessKind, FaultTarget, FleetConfig, HedgeConfig, KeyPopularity, LoadConfig};
use super::data::cache::{KeyCache, Lookup};
use super::data::config::{Degrade, ReadPolicy, Topology};
use super::data::runtime::{
    CacheNode, DataState, Database, FailoverPhase, QueryRng, unit as query_unit,
};
use super::health::{HealthChecker, OutlierDetector, slow_start_factor};
use super::metrics::{Bucket, Outcome, ScopeStats, SeriesPoint};
use super::netfaults::{NetFaults, expand_random_faults};

/// "No instance" in an attempt.
const NONE: u32 = u32::MAX;

/// How often slow-start weights are refreshed while an instance ramps up.
const SLOW_START_TICK: SimDuration = SimDuration::from_secs(1);

/// Length of an SLO minute.
const MINUTE: SimDuration = SimDuration::from_secs(60);

/// Resolution of autoscaling metrics and policy clocks.
const METRIC_TICK: SimDuration = SimDuration::from_secs(1);

/// Most decision-log entries kept (later ones are counted).
pub const MAX_DECISIONS: usize = 10_000;

/// The fleet model's events. Small (16 bytes) because millions sit in the
/// event list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Event {
    /// The next open-loop arrival of a population.
    Arrival {
        /// Population index.
        pop: u32,
    },
    /// A closed-loop user of a population finished thinking.
    UserWake {
        /// Population index.
        pop: u32,
    },
    /// An attempt reaches its region's balancer.
    AttemptArrive {
        /// Attempt slot.
        attempt: u32,
    },
    /// An instance finished serving an attempt.
    ServiceDone {
        /// Attempt slot.
        attempt: u32,
    },
    /// An attempt's answer reaches the client.
    Response {
        /// Attempt slot.
        attempt: u32,
    },
    /// A population's earliest timeout or hedge deadline.
    ClientTimer {
        /// Population index.
        pop: u32,
    },
    /// A retry's backoff is over.
    Retry {
        /// Request slot.
        request: u32,
        /// Generation of the request in that slot.
        generation: u32,
    },
    /// A region's balancer health-checks every instance.
    HealthChecks {
        /// Region index.
        region: u32,
    },
    /// GeoDNS health-checks every region.
    DnsChecks,
    /// A region's outlier detector's analysis interval.
    OutlierSweep {
        /// Region index.
        region: u32,
    },
    /// An ejected instance's ejection time is up.
    Uneject {
        /// Region index.
        region: u32,
        /// Instance index in the region.
        instance: u32,
    },
    /// An instance finished booting.
    Booted {
        /// Region index.
        region: u32,
        /// Instance index in the region.
        instance: u32,
    },
    /// Refresh slow-start weights in a region.
    SlowStartTick {
        /// Region index.
        region: u32,
    },
    /// A scheduled region outage starts.
    RegionDown {
        /// Region index.
        region: u32,
    },
    /// A scheduled region outage ends.
    RegionUp {
        /// Region index.
        region: u32,
    },
    /// An injected fault (`[[faults]]`) starts.
    FaultStart {
        /// Fault index in the config.
        fault: u32,
    },
    /// An injected fault ends.
    FaultEnd {
        /// Fault index in the config.
        fault: u32,
    },
    /// A time-series bucket ends.
    SeriesTick,
    /// An SLO minute ends.
    MinuteTick,
    /// The warm-up ends: statistics restart.
    WarmupEnd,
    /// One second of autoscaling: metrics, policies, launches and drains.
    MetricTick,
    /// A draining instance's time is up: what it still holds is cut.
    DrainDeadline {
        /// Region index.
        region: u32,
        /// Instance index in the region.
        instance: u32,
    },
    /// An attempt's database query reaches its node.
    DbArrive {
        /// Attempt slot.
        attempt: u32,
    },
    /// A database node finished a query.
    DbDone {
        /// Attempt slot.
        attempt: u32,
    },
    /// A query's answer (or failure, or a cache hit) reaches the instance.
    DbReply {
        /// Attempt slot.
        attempt: u32,
    },
    /// A database health check that may change a node's membership in the
    /// read pool.
    DbPoolCheck {
        /// Database index.
        database: u16,
        /// Shard index.
        shard: u16,
        /// Node index in the shard.
        node: u32,
    },
    /// A step of a shard's failover (detect → promote → repoint).
    Failover {
        /// Database index.
        database: u16,
        /// Shard index.
        shard: u16,
        /// Low two bits: 0 detect, 1 promotion done, 2 repoint done; for a
        /// repoint, the incident's index above them.
        step: u32,
    },
}

/// A request from the client's point of view.
#[derive(Clone, Debug, Default)]
struct Request {
    generation: u32,
    pop: u32,
    class: u16,
    zone: u16,
    region: u32,
    key: u64,
    demand: SimDuration,
    /// Seed of the per-query draws of its data-tier calls.
    data_seed: u64,
    created: SimTime,
    /// Attempts sent, hedges excluded.
    attempts: u32,
    /// Hedged copies sent.
    hedges: u32,
    /// Attempts whose answer the client still awaits.
    live_attempts: u32,
    /// The last backoff sleep (decorrelated jitter).
    last_sleep: SimDuration,
    /// The last failure seen while another copy was still in flight.
    last_failure: Option<Outcome>,
    in_use: bool,
}

/// What happened to an attempt at the server side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Answer {
    Ok,
    Rejected,
    NoBackend,
    DbError,
    Degraded,
}

/// How a data-tier query ended, as the instance learns it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum QueryResult {
    /// Answered by the database.
    Db,
    /// Answered by the cache.
    CacheHit,
    /// The node was down, full, or refused a write.
    Unavailable,
}

/// One copy of a request on the wire or at a server.
#[derive(Clone, Debug)]
struct Attempt {
    generation: u32,
    request: u32,
    request_generation: u32,
    pop: u32,
    region: u32,
    instance: u32,
    /// The instance's incarnation when the attempt reached it: an outage
    /// bumps the incarnation, orphaning everything it held.
    epoch: u32,
    zone: u16,
    key: u64,
    demand: SimDuration,
    /// When the attempt reached the balancer.
    arrived: SimTime,
    answer: Answer,
    /// Data tier: the request's class and data seed, the query in
    /// progress, where it went and how it ended.
    class: u16,
    query: u16,
    data_seed: u64,
    db_shard: u32,
    db_node: u32,
    db_epoch: u32,
    db_demand: SimDuration,
    db_write: bool,
    /// When the primary acknowledged this query's write.
    db_acked: SimTime,
    /// This read's snapshot (taken when its service started) missed the
    /// newest acknowledged write to its key, and that write was the
    /// reader's population's own.
    db_stale: bool,
    db_ryw: bool,
    /// This query missed the cache (fill it when the answer comes).
    cache_miss: bool,
    query_result: QueryResult,
    /// Some query of this attempt was answered degraded.
    degraded: bool,
    /// The client still awaits this attempt.
    live: bool,
    /// An event or an instance queue still refers to this attempt.
    held: bool,
    in_use: bool,
}

/// A slab of reusable slots with generations, so stale references are
/// detected instead of aliasing a new occupant.
#[derive(Debug, Default)]
struct Slab<T> {
    items: Vec<T>,
    free: Vec<u32>,
    live: u64,
}

impl<T: Default> Slab<T> {
    fn alloc(&mut self) -> u32 {
        self.live += 1;
        if let Some(i) = self.free.pop() {
            i
        } else {
            self.items.push(T::default());
            (self.items.len() - 1) as u32
        }
    }

    fn release(&mut self, i: u32) {
        self.live -= 1;
        self.free.push(i);
    }
}

impl Default for Attempt {
    fn default() -> Self {
        Attempt {
            generation: 0,
            request: 0,
            request_generation: 0,
            pop: 0,
            region: 0,
            instance: NONE,
            epoch: 0,
            zone: 0,
            key: 0,
            demand: SimDuration::ZERO,
            arrived: SimTime::ZERO,
            answer: Answer::Ok,
            class: 0,
            query: 0,
            data_seed: 0,
            db_shard: 0,
            db_node: 0,
            db_epoch: 0,
            db_demand: SimDuration::ZERO,
            db_write: false,
            db_acked: SimTime::ZERO,
            db_stale: false,
            db_ryw: false,
            cache_miss: false,
            query_result: QueryResult::Db,
            degraded: false,
            live: false,
            held: false,
            in_use: false,
        }
    }
}

/// Instance life cycle: launched → booting → ready (warming, then in
/// service) → draining → terminated. Instances present at the start are
/// ready (or booting with `start_booting`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum InstanceState {
    Booting,
    Ready,
    /// Deregistered after a scale-in; finishing what it holds.
    Draining,
    /// Gone; its slot stays so indices never move.
    Terminated,
}

/// One instance of a group.
#[derive(Debug)]
struct Instance {
    group: u32,
    state: InstanceState,
    workers: u32,
    queue_capacity: Option<u32>,
    speed: f64,
    busy: u32,
    queue: VecDeque<u32>,
    epoch: u32,
    /// When it became ready (warm-up runs from here).
    ready_at: SimTime,
    /// When slow start began, if it is ramping.
    slow_start_since: Option<SimTime>,
    health: HealthChecker,
    ejected: bool,
    /// When it was launched (billing starts).
    launched: SimTime,
    /// Zone index in the region.
    zone: u16,
    /// Injected faults holding it down (instance, zone and group faults);
    /// while positive it answers nothing and fails health checks.
    down_faults: u16,
    /// Slow-instance faults in progress, and the factor they slow it by
    /// together (exactly 1 when none).
    slow_faults: u16,
    slowdown: f64,
    /// Busy worker-nanoseconds up to `busy_changed`.
    busy_area: u128,
    busy_changed: SimTime,
    /// `busy_area` at the last metric sample.
    sampled_area: u128,
    /// Requests that reached it, and the count at the last metric sample.
    requests: u64,
    sampled_requests: u64,
}

impl GroupScaler {
    /// The kinds of the group's policies, in evaluation order.
    pub(crate) fn policy_kinds(&self) -> Vec<String> {
        self.policies.iter().map(|p| p.kind().to_string()).collect()
    }
}

impl Instance {
    /// Brings the busy integral up to `now`; call before `busy` changes.
    #[inline]
    fn account_busy(&mut self, now: SimTime) {
        self.busy_area +=
            u128::from(self.busy) * u128::from(now.saturating_since(self.busy_changed).as_nanos());
        self.busy_changed = now;
    }

    /// Busy worker-nanoseconds since the last metric sample, up to `now`;
    /// starts the next sample.
    fn take_busy_sample(&mut self, now: SimTime) -> u128 {
        self.account_busy(now);
        let d = self.busy_area - self.sampled_area;
        self.sampled_area = self.busy_area;
        d
    }

    /// Requests since the last metric sample; starts the next sample.
    fn take_request_sample(&mut self) -> u64 {
        let d = self.requests - self.sampled_requests;
        self.sampled_requests = self.requests;
        d
    }

    fn idle(&self) -> bool {
        self.busy == 0 && self.queue.is_empty()
    }
}

/// Per-group accounting.
#[derive(Debug)]
pub(crate) struct GroupStats {
    /// Busy workers over time.
    pub(crate) busy: TimeWeighted,
    /// Queued requests over time.
    pub(crate) queued: TimeWeighted,
    /// Instances alive over time.
    pub(crate) alive: TimeWeighted,
    /// Workers alive over time.
    pub(crate) workers: TimeWeighted,
    /// Instance-seconds since the start of the run (cost covers the whole
    /// run, warm-up included).
    /// Requests rejected by full queues.
    pub(crate) rejected: u64,
    /// Requests served to completion.
    pub(crate) served: u64,
    /// Billed instance-nanoseconds of terminated instances (per-second
    /// billing with the type's minimum; whole run).
    pub(crate) billed_ns: u128,
    /// Instances launched during the run (whole run).
    pub(crate) launches: u64,
    /// Instances terminated during the run (whole run).
    pub(crate) terminations: u64,
    /// Launches refused by the region's instance quota (whole run).
    pub(crate) quota_refusals: u64,
    /// Decisions that changed the desired capacity (whole run).
    pub(crate) scale_actions: u64,
    /// Requests cut when a drain ran past its deadline (whole run).
    pub(crate) drain_cut: u64,
}

/// Run-time state of an autoscaled group.
#[derive(Debug)]
pub(crate) struct GroupScaler {
    /// Desired capacity.
    pub(crate) desired: u32,
    min: u32,
    max: u32,
    policies: Vec<Box<dyn Policy>>,
    history: MetricHistory,
    /// Instances of the group not yet terminated, in launch order.
    members: Vec<u32>,
    instance_warmup: SimDuration,
    victim: Victim,
    drain_timeout: SimDuration,
    mean_boot: SimDuration,
    /// The last held decision logged (policy, capacity, what held it): the
    /// same hold repeated at every sync is logged once.
    last_held: Option<(&'static str, u32, String)>,
}

/// One entry of the decision log: why the autoscaler did (or did not do)
/// something.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DecisionRecord {
    /// Simulated time, seconds.
    pub time_s: f64,
    /// Region name.
    pub region: String,
    /// Group name.
    pub group: String,
    /// The policy that decided (`hpa`, `target_tracking`, …, or `quota`).
    pub policy: String,
    /// `scale_out`, `scale_in`, `bounds`, `held` or `refused`.
    pub action: String,
    /// The metric values the policy saw.
    pub observed: BTreeMap<String, f64>,
    /// The rule that fired, or what held it back.
    pub reason: String,
    /// Desired capacity before.
    pub from: u32,
    /// Desired capacity after.
    pub to: u32,
}

/// One region at run time.
#[derive(Debug)]
pub(crate) struct RegionState {
    /// Unreachable (an outage, or a region or balancer fault).
    down: bool,
    /// Outages and region/balancer faults in progress.
    down_count: u32,
    /// Zone and group faults in progress, per zone and per group: an
    /// instance launched meanwhile starts down.
    zone_faults: Vec<u16>,
    group_faults: Vec<u16>,
    balancer: Balancer,
    instances: Vec<Instance>,
    outlier: Option<OutlierDetector>,
    dns_health: HealthChecker,
    pick_rng: StreamRng,
    boot_rng: StreamRng,
    slow_start_ticking: bool,
    pub(crate) groups: Vec<GroupStats>,
    /// Region totals over time, for the time series.
    busy: TimeWeighted,
    queued: TimeWeighted,
    workers: TimeWeighted,
    alive: u64,
    /// Integrals at the start of the current series bucket.
    bucket_marks: (u128, u128, u128),
    pub(crate) stats: ScopeStats,
    pub(crate) bucket: Bucket,
    pub(crate) series: Vec<SeriesPoint>,
    /// Instances ejected by outlier detection.
    pub(crate) ejections: u64,
    /// Time GeoDNS considered the region unhealthy (whole run).
    pub(crate) dns_unhealthy: SimDuration,
    dns_unhealthy_since: Option<SimTime>,
    /// Autoscaling state per group (`None`: fixed size).
    pub(crate) scalers: Vec<Option<GroupScaler>>,
    /// Requests the balancer had no backend for since the last metric
    /// sample.
    no_backend: u64,
    /// Instances launched and not terminated (quota accounting).
    live_instances: u64,
}

/// One population at run time.
#[derive(Debug)]
pub(crate) struct PopulationState {
    arrivals: Option<ArrivalProcess>,
    think: Option<Distribution>,
    arrival_rng: StreamRng,
    request_rng: StreamRng,
    /// Each class's demands, drawn a few ahead (same values, less latency
    /// on the event loop's critical path).
    demand: Vec<DurationStream>,
    client_rng: StreamRng,
    class_cdf: Vec<f64>,
    zipf: Vec<Option<rand_distr::Zipf<f64>>>,
    /// One-way latency to each region.
    latency_to: Vec<SimDuration>,
    home_zones: u16,
    /// (deadline, attempt, attempt generation), in deadline order.
    timeouts: VecDeque<(SimTime, u32, u32)>,
    /// (hedge time, request, request generation), in time order.
    hedges: VecDeque<(SimTime, u32, u32)>,
    timer_at: Option<SimTime>,
    breakers: Vec<CircuitBreaker>,
    budget: Option<RetryBudget>,
    bulkhead: Option<Bulkhead>,
    /// GeoDNS answers over time: (since, region).
    dns_answers: Vec<(SimTime, u32)>,
    pub(crate) stats: ScopeStats,
    /// Retries sent (whole run).
    pub(crate) retries: u64,
    /// Hedged copies sent (whole run).
    pub(crate) hedges_sent: u64,
    /// Requests created (whole run).
    pub(crate) created: u64,
}

/// Conservation counts over the whole run (warm-up included).
#[derive(Clone, Copy, Debug, Default)]
pub struct Conservation {
    /// Requests created.
    pub created: u64,
    /// Requests that ended (any outcome).
    pub ended: u64,
    /// Requests still in flight at the end.
    pub in_flight: u64,
}

impl Conservation {
    /// Whether every created request is accounted for.
    pub fn holds(&self) -> bool {
        self.created == self.ended + self.in_flight
    }
}

/// The fleet model: all run-time state.
#[derive(Debug)]
pub struct FleetModel {
    config: FleetConfig,
    requests: Slab<Request>,
    attempts: Slab<Attempt>,
    pub(crate) regions: Vec<RegionState>,
    pub(crate) pops: Vec<PopulationState>,
    pub(crate) stats: ScopeStats,
    /// Latency of successful requests per (population, region) pair, index
    /// `p × regions + r`, over the measured window.
    pub(crate) pair_latency: Vec<LatencyHistogram>,
    bucket: Bucket,
    pub(crate) series: Vec<SeriesPoint>,
    bucket_start: SimTime,
    measuring: bool,
    /// Requests created and ended over the whole run.
    created: u64,
    ended: u64,
    /// Time the clock went backwards (never, unless a bug).
    last_event: SimTime,
    /// The autoscalers' decision log (whole run, at most
    /// [`MAX_DECISIONS`]).
    pub(crate) decisions: Vec<DecisionRecord>,
    /// Decisions not logged because the log was full.
    pub(crate) decisions_dropped: u64,
    /// Instances alive in the whole fleet over the measured window.
    pub(crate) fleet_alive: TimeWeighted,
    /// Databases and caches.
    pub(crate) data: DataState,
    /// DNS-provider faults in progress, and since when the provider has
    /// been down (clients that had to re-resolve since then cannot).
    dns_faults: u32,
    dns_down_since: Option<SimTime>,
    /// For each fault, the database node it took down (a primary fault
    /// takes whichever node is primary when it starts).
    fault_nodes: Vec<usize>,
    /// Per simulated second of the whole run: (requests ended, good ones),
    /// for recovery times; empty when the scenario injects no faults.
    pub(crate) seconds: Vec<(u32, u32)>,
    /// When GeoDNS first saw each region unhealthy during each fault
    /// (detection of region faults).
    pub(crate) fault_detected: Vec<Option<SimTime>>,
    /// First event lane of the data tier (after the network and arrival
    /// lanes), each shard's first node in a global numbering, and the
    /// number of nodes.
    data_lane_base: u32,
    node_offsets: Vec<Vec<u32>>,
    total_nodes: u32,
    /// Partitions and degraded links between regions.
    net: NetFaults,
    /// Last delivery time on each network and query lane whose link has a
    /// fault: messages on a link stay in order (FIFO, as over TCP) when its
    /// added latency changes. Empty without network faults.
    lane_floor: Vec<SimTime>,
}

/// Adds without overflowing: a heavy-tailed draw far beyond the run is
/// simply "never".
#[inline]
fn after(now: SimTime, d: SimDuration) -> SimTime {
    now.checked_add(d).unwrap_or(SimTime::MAX)
}

/// A uniform integer in `0..n` (Lemire's multiply-shift; n ≥ 1).
#[inline]
fn below<R: Rng + ?Sized>(rng: &mut R, n: u64) -> u64 {
    ((u128::from(rng.next_u64()) * u128::from(n)) >> 64) as u64
}

impl FleetModel {
    /// Builds the model for `config` with master seed `seed`.
    pub fn new(config: &FleetConfig, seed: u64) -> Self {
        let streams = RngStreams::new(seed);
        // Random faults become concrete ones, drawn from their own streams.
        let expanded;
        let config = if config.random_faults.is_empty() {
            config
        } else {
            let mut c = config.clone();
            expand_random_faults(&mut c, &streams);
            expanded = c;
            &expanded
        };
        let net = NetFaults::new(config, &streams);
        let stream =
            |name: &str, i: usize| streams.stream(StreamKey::named(name).with_index(i as u64));
        let mut regions = Vec::with_capacity(config.regions.len());
        for (r, rc) in config.regions.iter().enumerate() {
            let b = &rc.balancer;
            let mut balancer =
                Balancer::new(b.algorithm, b.zone_aware, b.fail_open, rc.zones.len());
            let mut instances = Vec::new();
            let mut groups = Vec::new();
            let mut scalers = Vec::new();
            let mut boot_rng = stream("region-boot", r);
            for (g, gc) in rc.groups.iter().enumerate() {
                let ty = &config.instance_types[gc.instance_type];
                let mut alive = 0;
                for k in 0..gc.instances {
                    let zone = gc.starting_zone(k);
                    let id = balancer.add_backend(BackendInfo {
                        zone,
                        weight: gc.weight,
                        capacity: ty.workers,
                    });
                    debug_assert_eq!(id, instances.len());
                    let ready = !gc.start_booting;
                    instances.push(Instance {
                        group: g as u32,
                        state: if ready {
                            InstanceState::Ready
                        } else {
                            InstanceState::Booting
                        },
                        workers: ty.workers,
                        queue_capacity: ty.queue_capacity,
                        speed: ty.speed,
                        busy: 0,
                        queue: VecDeque::new(),
                        epoch: 0,
                        // Instances ready at the start are already warm.
                        ready_at: if ready { SimTime::ZERO } else { SimTime::MAX },
                        slow_start_since: None,
                        health: HealthChecker::new(b.health_check, ready),
                        ejected: false,
                        launched: SimTime::ZERO,
                        zone: zone as u16,
                        down_faults: 0,
                        slow_faults: 0,
                        slowdown: 1.0,
                        busy_area: 0,
                        busy_changed: SimTime::ZERO,
                        sampled_area: 0,
                        requests: 0,
                        sampled_requests: 0,
                    });
                    if ready {
                        balancer.set_eligible(id, true);
                    }
                    alive += 1;
                }
                let workers = u64::from(gc.instances) * u64::from(ty.workers);
                groups.push(GroupStats {
                    busy: TimeWeighted::new(SimTime::ZERO, 0),
                    queued: TimeWeighted::new(SimTime::ZERO, 0),
                    alive: TimeWeighted::new(SimTime::ZERO, alive),
                    workers: TimeWeighted::new(SimTime::ZERO, workers),
                    rejected: 0,
                    served: 0,
                    billed_ns: 0,
                    launches: 0,
                    terminations: 0,
                    quota_refusals: 0,
                    scale_actions: 0,
                    drain_cut: 0,
                });
                let first = instances.len() as u32 - gc.instances;
                scalers.push(gc.autoscaling.as_ref().map(|a| GroupScaler {
                    desired: gc.instances,
                    min: a.min,
                    max: a.max,
                    policies: a.build_policies(),
                    history: MetricHistory::new(a.history_seconds()),
                    members: (first..first + gc.instances).collect(),
                    instance_warmup: a.instance_warmup,
                    victim: a.victim,
                    drain_timeout: a.drain_timeout,
                    mean_boot: SimDuration::from_secs_f64(gc.boot.mean()),
                    last_held: None,
                }));
            }
            let _ = &mut boot_rng;
            let outlier = b.outlier.map(|o| OutlierDetector::new(o, instances.len()));
            let workers: u64 = groups.iter().map(|g| g.workers.value()).sum();
            let alive: u64 = groups.iter().map(|g| g.alive.value()).sum();
            regions.push(RegionState {
                down: false,
                down_count: 0,
                zone_faults: vec![0; rc.zones.len()],
                group_faults: vec![0; rc.groups.len()],
                balancer,
                instances,
                outlier,
                dns_health: HealthChecker::new(config.dns.health_check, true),
                pick_rng: stream("region-balancer", r),
                boot_rng,
                slow_start_ticking: false,
                groups,
                busy: TimeWeighted::new(SimTime::ZERO, 0),
                queued: TimeWeighted::new(SimTime::ZERO, 0),
                workers: TimeWeighted::new(SimTime::ZERO, workers),
                alive,
                bucket_marks: (0, 0, 0),
                stats: ScopeStats::new(),
                bucket: Bucket::new(),
                series: Vec::new(),
                ejections: 0,
                dns_unhealthy: SimDuration::ZERO,
                dns_unhealthy_since: None,
                scalers,
                no_backend: 0,
                live_instances: alive,
            });
        }
        let mut pops = Vec::with_capacity(config.populations.len());
        for (p, pc) in config.populations.iter().enumerate() {
            let mut cdf = Vec::with_capacity(pc.classes.len());
            let mut acc = 0.0;
            for c in &pc.classes {
                acc += c.share;
                cdf.push(acc);
            }
            if let Some(last) = cdf.last_mut() {
                *last = f64::INFINITY; // rounding can never fall off the end
            }
            let zipf = pc
                .classes
                .iter()
                .map(|c| match c.keys {
                    KeyPopularity::Zipf { count, s } => rand_distr::Zipf::new(count as f64, s).ok(),
                    KeyPopularity::Uniform { .. } => None,
                })
                .collect();
            let latency_to = (0..config.regions.len())
                .map(|r| pc.access_latency + config.inter_region_latency[pc.home_region][r])
                .collect();
            let (arrivals, think) = match &pc.load {
                // Arrivals after the run (one second of margin) are never
                // needed: the process stops there.
                LoadConfig::Open(profile) => (
                    Some(
                        ArrivalProcess::new(profile.clone())
                            .with_horizon(config.run.duration.as_secs_f64() + 1.0),
                    ),
                    None,
                ),
                LoadConfig::Closed { think, .. } => (None, Some(think.clone())),
            };
            let client = &pc.client;
            pops.push(PopulationState {
                arrivals,
                think,
                arrival_rng: stream("population-arrivals", p),
                request_rng: stream("population-requests", p),
                demand: pc
                    .classes
                    .iter()
                    .enumerate()
                    .map(|(c, class)| {
                        DurationStream::new(
                            class.demand.clone(),
                            streams.stream(
                                StreamKey::named("population-demand")
                                    .with_index(((p as u64) << 16) | c as u64),
                            ),
                        )
                    })
                    .collect(),
                client_rng: stream("population-client", p),
                class_cdf: cdf,
                zipf,
                latency_to,
                home_zones: config.regions[pc.home_region].zones.len() as u16,
                timeouts: VecDeque::new(),
                hedges: VecDeque::new(),
                timer_at: None,
                breakers: client
                    .circuit_breaker
                    .map(|b| {
                        (0..config.regions.len())
                            .map(|_| CircuitBreaker::new(b))
                            .collect()
                    })
                    .unwrap_or_default(),
                budget: client.retry.and_then(|r| r.budget).map(RetryBudget::new),
                bulkhead: client.bulkhead.map(|n| Bulkhead::new(Some(n))),
                dns_answers: Vec::new(),
                stats: ScopeStats::new(),
                retries: 0,
                hedges_sent: 0,
                created: 0,
            });
        }
        // Exactly the buckets the run will close, so a long run's series
        // never sit in a half-empty doubled allocation.
        let buckets = (config.run.duration.as_nanos()
            / config.run.series_interval.as_nanos().max(1)) as usize
            + 1;
        for region in &mut regions {
            region.series.reserve_exact(buckets);
        }
        let mut total_nodes = 0u32;
        let node_offsets: Vec<Vec<u32>> = config
            .databases
            .iter()
            .map(|d| {
                d.shard_nodes
                    .iter()
                    .map(|nodes| {
                        let first = total_nodes;
                        total_nodes += nodes.len() as u32;
                        first
                    })
                    .collect()
            })
            .collect();
        let mut model = FleetModel {
            config: config.clone(),
            requests: Slab::default(),
            attempts: Slab::default(),
            regions,
            pops,
            stats: ScopeStats::new(),
            pair_latency: (0..config.populations.len() * config.regions.len())
                .map(|_| LatencyHistogram::new())
                .collect(),
            bucket: Bucket::new(),
            series: Vec::with_capacity(buckets),
            bucket_start: SimTime::ZERO,
            measuring: config.run.warmup.is_zero(),
            created: 0,
            ended: 0,
            last_event: SimTime::ZERO,
            decisions: Vec::new(),
            decisions_dropped: 0,
            fleet_alive: TimeWeighted::new(SimTime::ZERO, 0),
            data: DataState {
                databases: config
                    .databases
                    .iter()
                    .enumerate()
                    .map(|(d, dc)| Database::new(dc, stream("database-replication", d)))
                    .collect(),
                caches: config
                    .caches
                    .iter()
                    .map(|cc| {
                        (0..config.regions.len())
                            .map(|_| CacheNode {
                                cache: KeyCache::new(cc.model),
                                down_faults: 0,
                                hits: 0,
                                misses: 0,
                                bypassed: 0,
                                stale_served: 0,
                            })
                            .collect()
                    })
                    .collect(),
            },
            dns_faults: 0,
            dns_down_since: None,
            fault_nodes: vec![0; config.faults.len()],
            seconds: if config.faults.is_empty() {
                Vec::new()
            } else {
                vec![(0, 0); config.run.duration.as_secs_f64().ceil() as usize + 1]
            },
            fault_detected: vec![None; config.faults.len()],
            data_lane_base: (2 * config.populations.len() * config.regions.len()
                + config.populations.len()) as u32,
            node_offsets,
            total_nodes,
            lane_floor: if net.any {
                vec![
                    SimTime::ZERO;
                    2 * config.populations.len() * config.regions.len()
                        + config.populations.len()
                        + 2 * total_nodes as usize * config.regions.len()
                ]
            } else {
                Vec::new()
            },
            net,
        };
        let alive: u64 = model.regions.iter().map(|r| r.alive).sum();
        debug_assert!(
            model.total_nodes as usize
                == config
                    .databases
                    .iter()
                    .map(|d| d.node_count())
                    .sum::<usize>()
        );
        model.fleet_alive.set(SimTime::ZERO, alive);
        for p in 0..model.pops.len() {
            let answer = model.geodns_answer(p);
            model.pops[p].dns_answers.push((SimTime::ZERO, answer));
        }
        model
    }

    /// The configuration being run.
    pub fn config(&self) -> &FleetConfig {
        &self.config
    }

    /// Schedules the initial events.
    pub fn start(&mut self, sched: &mut Scheduler<Event>) {
        let now = sched.now();
        for p in 0..self.pops.len() {
            match self.config.populations[p].load {
                LoadConfig::Open(_) => self.schedule_next_arrival(p, now, sched),
                LoadConfig::Closed { users, .. } => {
                    // Users start staggered by one think time each.
                    for _ in 0..users {
                        self.schedule_user(p, now, sched);
                    }
                }
            }
        }
        for (f, fc) in self.config.faults.iter().enumerate() {
            sched.schedule_at(fc.window.start, Event::FaultStart { fault: f as u32 });
            sched.schedule_at(fc.window.end, Event::FaultEnd { fault: f as u32 });
        }
        for (r, rc) in self.config.regions.iter().enumerate() {
            let r32 = r as u32;
            sched.schedule_at(
                after(now, rc.balancer.health_check.interval),
                Event::HealthChecks { region: r32 },
            );
            if let Some(o) = rc.balancer.outlier {
                sched.schedule_at(after(now, o.interval), Event::OutlierSweep { region: r32 });
            }
            for w in &rc.outages {
                sched.schedule_at(w.start, Event::RegionDown { region: r32 });
                sched.schedule_at(w.end, Event::RegionUp { region: r32 });
            }
            for i in 0..self.regions[r].instances.len() {
                if self.regions[r].instances[i].state == InstanceState::Booting {
                    let g = self.regions[r].instances[i].group as usize;
                    let boot = rc.groups[g]
                        .boot
                        .sample_duration(&mut self.regions[r].boot_rng);
                    sched.schedule_at(
                        after(now, boot),
                        Event::Booted {
                            region: r32,
                            instance: i as u32,
                        },
                    );
                }
            }
        }
        sched.schedule_at(
            after(now, self.config.dns.health_check.interval),
            Event::DnsChecks,
        );
        sched.schedule_at(
            after(now, self.config.run.series_interval),
            Event::SeriesTick,
        );
        sched.schedule_at(after(now, MINUTE), Event::MinuteTick);
        if self
            .regions
            .iter()
            .any(|r| r.scalers.iter().any(Option::is_some))
        {
            sched.schedule_at(after(now, METRIC_TICK), Event::MetricTick);
        }
        if !self.measuring {
            sched.schedule_at(after(now, self.config.run.warmup), Event::WarmupEnd);
        }
    }

    /// Conservation counts so far.
    pub fn conservation(&self) -> Conservation {
        Conservation {
            created: self.created,
            ended: self.ended,
            in_flight: self.requests.live,
        }
    }

    /// Attempts still allocated (in flight to, at, or back from a server).
    pub fn attempts_in_flight(&self) -> u64 {
        self.attempts.live
    }

    // ----- traffic -----------------------------------------------------

    fn schedule_next_arrival(&mut self, p: usize, now: SimTime, sched: &mut Scheduler<Event>) {
        let lanes = 2 * (self.pops.len() * self.regions.len()) as u32;
        let pop = &mut self.pops[p];
        if let Some(process) = pop.arrivals.as_mut()
            && let Some(t) = process.next_arrival(now, &mut pop.arrival_rng)
        {
            // Arrivals of a population come in time order: a lane of their
            // own, after the network lanes.
            sched.schedule_in_lane(lanes + p as u32, t, Event::Arrival { pop: p as u32 });
        }
    }

    fn schedule_user(&mut self, p: usize, now: SimTime, sched: &mut Scheduler<Event>) {
        let pop = &mut self.pops[p];
        if let Some(think) = &pop.think {
            let d = think.sample_duration(&mut pop.arrival_rng);
            sched.schedule_at(after(now, d), Event::UserWake { pop: p as u32 });
        }
    }

    /// GeoDNS's current answer for population `p`: the first healthy region
    /// of home + fallbacks; the home region if none is healthy (fail open,
    /// as Route 53 does when every record is unhealthy).
    fn geodns_answer(&self, p: usize) -> u32 {
        let pc = &self.config.populations[p];
        std::iter::once(pc.home_region)
            .chain(pc.fallback.iter().copied())
            .find(|&r| self.regions[r].dns_health.is_healthy())
            .unwrap_or(pc.home_region) as u32
    }

    /// The region a client of `p` resolves to if its cached answer was
    /// fetched at `at`.
    fn cached_answer(&self, p: usize, at: SimTime) -> u32 {
        let answers = &self.pops[p].dns_answers;
        answers
            .iter()
            .rev()
            .find(|(since, _)| *since <= at)
            .map_or(answers[0].1, |a| a.1)
    }

    fn create_request(&mut self, p: usize, now: SimTime, sched: &mut Scheduler<Event>) {
        self.created += 1;
        let pc = &self.config.populations[p];
        let ttl = self.config.dns.ttl;
        let pop = &mut self.pops[p];
        pop.created += 1;
        // Every demand of the request, drawn now (common random numbers).
        let u = uniform_open01(&mut pop.request_rng);
        let class = pop.class_cdf.iter().position(|&c| u < c).unwrap_or(0);
        let zone = below(&mut pop.request_rng, u64::from(pop.home_zones)) as u16;
        let key = match (&pop.zipf[class], pc.classes[class].keys) {
            (Some(z), _) => (z.sample(&mut pop.request_rng) as u64).saturating_sub(1),
            (None, KeyPopularity::Uniform { count }) => below(&mut pop.request_rng, count),
            (None, KeyPopularity::Zipf { count, .. }) => below(&mut pop.request_rng, count),
        };
        let age = SimDuration::from_nanos(
            (uniform_open01(&mut pop.request_rng) * ttl.as_nanos() as f64) as u64,
        );
        let demand = pop.demand[class].draw();
        // Only classes that call the data tier draw a data seed, so
        // scenarios without one keep their streams.
        let data_seed = if pc.classes[class].data.is_some() {
            pop.request_rng.next_u64()
        } else {
            0
        };
        if let Some(b) = pop.budget.as_mut() {
            b.on_request(now);
        }
        let resolved_at = SimTime::from_nanos(now.as_nanos().saturating_sub(age.as_nanos()));
        let region = self.cached_answer(p, resolved_at);
        let slot = self.requests.alloc();
        let req = &mut self.requests.items[slot as usize];
        req.generation = req.generation.wrapping_add(1);
        let generation = req.generation;
        req.pop = p as u32;
        req.class = class as u16;
        req.zone = zone;
        req.region = region;
        req.key = key;
        req.demand = demand;
        req.data_seed = data_seed;
        req.created = now;
        req.attempts = 0;
        req.hedges = 0;
        req.live_attempts = 0;
        req.last_sleep = self.config.populations[p]
            .client
            .retry
            .map_or(SimDuration::ZERO, |r| r.base);
        req.last_failure = None;
        req.in_use = true;
        if self
            .dns_down_since
            .is_some_and(|since| resolved_at >= since)
        {
            // The client's answer expired while the DNS provider was down:
            // it cannot resolve the name, so nothing is sent.
            self.finish(slot, Outcome::DnsFailure, now, sched, false);
            return;
        }
        let pop = &mut self.pops[p];
        if let Some(b) = pop.bulkhead.as_mut()
            && !b.try_acquire()
        {
            self.finish(slot, Outcome::BulkheadFull, now, sched, false);
            return;
        }
        if !self.send_attempt(slot, false, now, sched) {
            self.finish(slot, Outcome::CircuitOpen, now, sched, true);
            return;
        }
        if let Some(HedgeConfig { delay, .. }) = self.config.populations[p].client.hedge {
            let t = after(now, delay);
            let requests = &self.requests.items;
            let hedges = &mut self.pops[p].hedges;
            while let Some(&(_, old, old_generation)) = hedges.front() {
                let req = &requests[old as usize];
                if req.in_use && req.generation == old_generation {
                    break;
                }
                hedges.pop_front();
            }
            hedges.push_back((t, slot, generation));
            self.arm_timer(p, t, sched);
        }
    }

    /// Sends one attempt of `slot` to its region; false if the breaker
    /// refused it.
    fn send_attempt(
        &mut self,
        slot: u32,
        hedge: bool,
        now: SimTime,
        sched: &mut Scheduler<Event>,
    ) -> bool {
        let req = &self.requests.items[slot as usize];
        let p = req.pop as usize;
        let region = req.region;
        let pop = &mut self.pops[p];
        if let Some(b) = pop.breakers.get_mut(region as usize)
            && !b.allow(now)
        {
            return false;
        }
        let (request_generation, zone, key, demand, class, data_seed) = (
            req.generation,
            req.zone,
            req.key,
            req.demand,
            req.class,
            req.data_seed,
        );
        let home = self.config.populations[p].home_region as u32 == region;
        let latency = pop.latency_to[region as usize];
        let timeout = self.config.populations[p].client.timeout;
        let a = self.attempts.alloc();
        let at = &mut self.attempts.items[a as usize];
        at.generation = at.generation.wrapping_add(1);
        let generation = at.generation;
        at.request = slot;
        at.request_generation = request_generation;
        at.pop = p as u32;
        at.region = region;
        at.instance = NONE;
        at.zone = if home { zone } else { u16::MAX };
        at.key = key;
        at.demand = demand;
        at.class = class;
        at.query = 0;
        at.data_seed = data_seed;
        at.degraded = false;
        at.live = true;
        at.held = true;
        at.in_use = true;
        let req = &mut self.requests.items[slot as usize];
        req.live_attempts += 1;
        if hedge {
            req.hedges += 1;
            self.pops[p].hedges_sent += 1;
        } else {
            req.attempts += 1;
        }
        let deadline = after(now, timeout);
        // Drop answered attempts from the front as we go, so the queue holds
        // about the attempts in flight rather than every attempt of the last
        // timeout period.
        let attempts = &self.attempts.items;
        let timeouts = &mut self.pops[p].timeouts;
        while let Some(&(_, old, old_generation)) = timeouts.front() {
            let at = &attempts[old as usize];
            if at.in_use && at.generation == old_generation && at.live {
                break;
            }
            timeouts.pop_front();
        }
        timeouts.push_back((deadline, a, generation));
        self.arm_timer(p, deadline, sched);
        // One lane per (population, region, direction): a fixed latency keeps
        // each lane in time order.
        let lane = 2 * (p as u32 * self.regions.len() as u32 + region);
        let home = self.config.populations[p].home_region;
        match self.net_send(home, region as usize, now, latency, lane) {
            Some(t) => {
                sched.schedule_in_lane(lane, t, Event::AttemptArrive { attempt: a });
            }
            None => {
                // Lost on the way (partition or link loss): the client
                // times out.
                self.attempts.items[a as usize].held = false;
            }
        }
        true
    }

    /// A message from region `from` to `to` sent at `now` with base one-way
    /// latency `base` on event lane `lane`: when it arrives, or `None` if a
    /// partition or link loss drops it. Without a fault on that link ever,
    /// simply `now + base`; otherwise never before the lane's previous
    /// message (a link delivers in order).
    fn net_send(
        &mut self,
        from: usize,
        to: usize,
        now: SimTime,
        base: SimDuration,
        lane: u32,
    ) -> Option<SimTime> {
        if !self.net.affects(from, to) {
            return Some(after(now, base));
        }
        let t = self.net.deliver(from, to, now, base)?;
        let floor = &mut self.lane_floor[lane as usize];
        let t = t.max(*floor);
        *floor = t;
        Some(t)
    }

    /// Makes sure population `p`'s timer fires no later than `t`.
    fn arm_timer(&mut self, p: usize, t: SimTime, sched: &mut Scheduler<Event>) {
        let pop = &mut self.pops[p];
        if pop.timer_at.is_none_or(|at| t < at) {
            pop.timer_at = Some(t);
            sched.schedule_at(t, Event::ClientTimer { pop: p as u32 });
        }
    }

    fn on_client_timer(&mut self, p: usize, now: SimTime, sched: &mut Scheduler<Event>) {
        if self.pops[p].timer_at != Some(now) {
            return; // superseded by an earlier timer
        }
        self.pops[p].timer_at = None;
        // Timeouts due now.
        while let Some(&(deadline, a, generation)) = self.pops[p].timeouts.front() {
            let at = &self.attempts.items[a as usize];
            let current = at.in_use && at.generation == generation && at.live;
            if current && deadline > now {
                break;
            }
            self.pops[p].timeouts.pop_front();
            if current {
                self.attempts.items[a as usize].live = false;
                self.client_result(a, Outcome::Timeout, now, sched);
                self.maybe_free_attempt(a);
            }
        }
        // Hedges due now.
        while let Some(&(t, slot, generation)) = self.pops[p].hedges.front() {
            let req = &self.requests.items[slot as usize];
            let current = req.in_use && req.generation == generation;
            if current && t > now {
                break;
            }
            self.pops[p].hedges.pop_front();
            if current {
                let hedge = self.config.populations[p]
                    .client
                    .hedge
                    .unwrap_or(HedgeConfig {
                        delay: SimDuration::ZERO,
                        max_extra: 0,
                    });
                let req = &self.requests.items[slot as usize];
                // Only while an attempt is out (not during a retry backoff).
                if req.live_attempts > 0
                    && req.hedges < hedge.max_extra
                    && self.send_attempt(slot, true, now, sched)
                    && self.requests.items[slot as usize].hedges < hedge.max_extra
                {
                    let t = after(now, hedge.delay);
                    self.pops[p].hedges.push_back((t, slot, generation));
                }
            }
        }
        let next = [
            self.pops[p].timeouts.front().map(|e| e.0),
            self.pops[p].hedges.front().map(|e| e.0),
        ]
        .into_iter()
        .flatten()
        .min();
        if let Some(t) = next {
            self.arm_timer(p, t.max(now), sched);
        }
    }

    /// The client learns an attempt's result.
    fn client_result(
        &mut self,
        a: u32,
        result: Outcome,
        now: SimTime,
        sched: &mut Scheduler<Event>,
    ) {
        let at = &self.attempts.items[a as usize];
        let (slot, generation, region, p) = (
            at.request,
            at.request_generation,
            at.region,
            at.pop as usize,
        );
        let req = &self.requests.items[slot as usize];
        if !req.in_use || req.generation != generation {
            // The request already ended (another copy answered): the client
            // cancelled this copy, so its fate is no signal to the breaker.
            return;
        }
        if let Some(b) = self.pops[p].breakers.get_mut(region as usize) {
            if result.answered() {
                b.on_success(now);
            } else {
                b.on_failure(now);
            }
        }
        let req = &mut self.requests.items[slot as usize];
        req.live_attempts -= 1;
        if result.answered() {
            self.finish(slot, result, now, sched, true);
            return;
        }
        if req.live_attempts > 0 {
            req.last_failure = Some(result);
            return; // a hedged copy may still succeed
        }
        let client = self.config.populations[p].client;
        let Some(retry) = client.retry else {
            self.finish(slot, result, now, sched, true);
            return;
        };
        let retryable = match result {
            Outcome::Timeout => retry.on.timeout,
            Outcome::Rejected | Outcome::DatabaseError => retry.on.rejected,
            Outcome::NoHealthyBackend => retry.on.no_healthy_backend,
            _ => false,
        };
        if !retryable || req.attempts >= retry.max_attempts {
            self.finish(slot, result, now, sched, true);
            return;
        }
        let pop = &mut self.pops[p];
        if let Some(b) = pop.budget.as_mut()
            && !b.try_withdraw(now)
        {
            self.finish(slot, Outcome::RetryBudgetExhausted, now, sched, true);
            return;
        }
        let sleep =
            Backoff::from_config(&retry).delay(req.attempts, req.last_sleep, &mut pop.client_rng);
        req.last_sleep = sleep;
        req.last_failure = Some(result);
        pop.retries += 1;
        sched.schedule_at(
            after(now, sleep),
            Event::Retry {
                request: slot,
                generation,
            },
        );
    }

    fn on_retry(&mut self, slot: u32, generation: u32, now: SimTime, sched: &mut Scheduler<Event>) {
        let req = &self.requests.items[slot as usize];
        if !req.in_use || req.generation != generation {
            return;
        }
        if !self.send_attempt(slot, false, now, sched) {
            self.finish(slot, Outcome::CircuitOpen, now, sched, true);
        }
    }

    /// Ends request `slot` with `outcome`; `admitted` says whether it holds
    /// a bulkhead slot.
    fn finish(
        &mut self,
        slot: u32,
        outcome: Outcome,
        now: SimTime,
        sched: &mut Scheduler<Event>,
        admitted: bool,
    ) {
        let req = &mut self.requests.items[slot as usize];
        req.in_use = false;
        let (p, region, created) = (req.pop as usize, req.region as usize, req.created);
        self.requests.release(slot);
        self.ended += 1;
        let latency = now - created;
        let slo = self.config.run.slo.latency;
        self.regions[region].bucket.record(outcome, latency);
        if !self.seconds.is_empty() {
            let s = ((now.as_nanos() / 1_000_000_000) as usize).min(self.seconds.len() - 1);
            self.seconds[s].0 += 1;
            if outcome.answered() && latency <= slo {
                self.seconds[s].1 += 1;
            }
        }
        if self.measuring {
            if outcome.answered() {
                self.pair_latency[p * self.regions.len() + region].record(latency);
            }
            self.stats.record(outcome, latency, slo);
            self.regions[region].stats.record(outcome, latency, slo);
            self.pops[p].stats.record(outcome, latency, slo);
        }
        let pop = &mut self.pops[p];
        if admitted && let Some(b) = pop.bulkhead.as_mut() {
            b.release();
        }
        if pop.think.is_some() {
            self.schedule_user(p, now, sched);
        }
    }

    // ----- servers -----------------------------------------------------

    fn on_attempt_arrive(&mut self, a: u32, now: SimTime, sched: &mut Scheduler<Event>) {
        let at = &self.attempts.items[a as usize];
        let (r, key, zone) = (at.region as usize, at.key, at.zone);
        let region = &mut self.regions[r];
        if region.down {
            // The region is unreachable: the attempt is lost.
            self.attempts.items[a as usize].held = false;
            self.maybe_free_attempt(a);
            return;
        }
        let client_zone = (zone != u16::MAX).then_some(zone as usize);
        let Some(i) = region.balancer.pick(key, client_zone, &mut region.pick_rng) else {
            region.no_backend += 1;
            self.respond(a, Answer::NoBackend, now, sched);
            return;
        };
        let inst = &mut region.instances[i];
        inst.requests += 1;
        let at = &mut self.attempts.items[a as usize];
        at.instance = i as u32;
        at.epoch = inst.epoch;
        at.arrived = now;
        let g = inst.group as usize;
        if inst.down_faults > 0 {
            // Crashed by an injected fault: the request vanishes and its
            // client times out, until health checks eject the instance.
            self.attempts.items[a as usize].held = false;
            self.maybe_free_attempt(a);
            return;
        }
        if inst.state == InstanceState::Booting {
            // Not listening yet (fail-open sent it here): connection refused.
            self.respond(a, Answer::Rejected, now, sched);
            return;
        }
        if inst.busy < inst.workers {
            inst.account_busy(now);
            inst.busy += 1;
            region.busy.increment(now);
            region.groups[g].busy.increment(now);
            region.balancer.on_dispatch(i);
            let st = service_time(inst, at.demand, now, &self.config, r);
            sched.schedule_at(after(now, st), Event::ServiceDone { attempt: a });
        } else if inst
            .queue_capacity
            .is_none_or(|c| (inst.queue.len() as u32) < c)
        {
            inst.queue.push_back(a);
            region.queued.increment(now);
            region.groups[g].queued.increment(now);
            region.balancer.on_dispatch(i);
        } else {
            region.groups[g].rejected += 1;
            if let Some(o) = region.outlier.as_mut()
                && let Some(until) = o.on_result(i, true, now)
            {
                region.instances[i].ejected = true;
                region.ejections += 1;
                update_eligibility(region, i);
                sched.schedule_at(
                    until,
                    Event::Uneject {
                        region: r as u32,
                        instance: i as u32,
                    },
                );
            }
            self.respond(a, Answer::Rejected, now, sched);
        }
    }

    fn on_service_done(&mut self, a: u32, now: SimTime, sched: &mut Scheduler<Event>) {
        let at = &self.attempts.items[a as usize];
        let (r, i, epoch) = (at.region as usize, at.instance as usize, at.epoch);
        if self.regions[r].instances[i].epoch != epoch {
            // The instance went down while serving: the answer never comes.
            self.attempts.items[a as usize].held = false;
            self.maybe_free_attempt(a);
            return;
        }
        let p = at.pop as usize;
        if self.config.populations[p].classes[at.class as usize]
            .data
            .is_some()
        {
            // The worker stays busy while the request queries its data
            // tier (thread-per-request).
            self.start_query(a, now, sched);
            return;
        }
        self.complete_at_instance(a, Answer::Ok, now, sched);
    }

    /// The instance is done with attempt `a` (service and data-tier calls):
    /// its worker takes the next queued attempt, and `answer` goes back.
    fn complete_at_instance(
        &mut self,
        a: u32,
        answer: Answer,
        now: SimTime,
        sched: &mut Scheduler<Event>,
    ) {
        let at = &self.attempts.items[a as usize];
        let (r, i, arrived) = (at.region as usize, at.instance as usize, at.arrived);
        let region = &mut self.regions[r];
        let inst = &mut region.instances[i];
        let g = inst.group as usize;
        region.groups[g].served += 1;
        region.balancer.on_complete(i, now - arrived, now);
        let error = answer == Answer::DbError;
        if let Some(o) = region.outlier.as_mut()
            && let Some(until) = o.on_result(i, error, now)
        {
            // Errors from a dead database count against the instance (as
            // 5xx do for Envoy's outlier detection).
            inst.ejected = true;
            region.ejections += 1;
            update_eligibility(region, i);
            sched.schedule_at(
                until,
                Event::Uneject {
                    region: r as u32,
                    instance: i as u32,
                },
            );
        }
        let inst = &mut region.instances[i];
        if let Some(next) = inst.queue.pop_front() {
            region.queued.decrement(now);
            region.groups[g].queued.decrement(now);
            let demand = self.attempts.items[next as usize].demand;
            let st = service_time(inst, demand, now, &self.config, r);
            sched.schedule_at(after(now, st), Event::ServiceDone { attempt: next });
        } else {
            inst.account_busy(now);
            inst.busy -= 1;
            region.busy.decrement(now);
            region.groups[g].busy.decrement(now);
        }
        let drained = inst.state == InstanceState::Draining && inst.idle();
        self.respond(a, answer, now, sched);
        if drained {
            self.terminate(r, i, now);
        }
    }

    // ----- data tier ---------------------------------------------------

    /// The event lane of queries from region `r` to node `n` of shard `s`
    /// of database `d` (its replies use the next lane).
    #[inline]
    fn node_lane(&self, r: usize, d: usize, s: usize, n: usize) -> u32 {
        let node = self.node_offsets[d][s] + n as u32;
        self.data_lane_base + 2 * (node * self.regions.len() as u32 + r as u32)
    }

    /// The event lane of cache `c`'s hits in region `r`.
    #[inline]
    fn cache_lane(&self, c: usize, r: usize) -> u32 {
        let regions = self.regions.len() as u32;
        self.data_lane_base + 2 * self.total_nodes * regions + c as u32 * regions + r as u32
    }

    /// One-way latency between two regions for data-tier traffic.
    fn data_latency(&self, from: usize, to: usize) -> SimDuration {
        data_latency_fn(&self.config)(from, to)
    }

    /// Starts query `attempt.query` of attempt `a` at its instance: a cache
    /// lookup for reads that have a cache, then the database.
    fn start_query(&mut self, a: u32, now: SimTime, sched: &mut Scheduler<Event>) {
        let at = &self.attempts.items[a as usize];
        let (p, class, r, key) = (
            at.pop as usize,
            at.class as usize,
            at.region as usize,
            at.key,
        );
        let cc = &self.config.populations[p].classes[class];
        let Some(data) = cc.data else {
            return;
        };
        let write = cc.kind == AccessKind::Write;
        // The cache's luck is the query's first draw, so `on_db_reply`
        // sees the same one when it decides whether a stale copy exists.
        let mut rng = QueryRng::new(at.data_seed, u32::from(at.query));
        let u = query_unit(&mut rng);
        let dbc = &self.config.databases[data.database];
        let demand = if write {
            dbc.write_time.sample_duration(&mut rng)
        } else {
            dbc.read_time.sample_duration(&mut rng)
        };
        let measuring = self.measuring;
        let mut start = now;
        let mut cache_miss = false;
        if let Some(c) = data.cache {
            let node = &mut self.data.caches[c][r];
            if node.down_faults > 0 {
                // A dead cache is skipped: the read goes to the database.
                if !write && measuring {
                    node.bypassed += 1;
                }
            } else if write {
                node.cache.invalidate(key);
            } else {
                let latency = self.config.caches[c].latency;
                match node.cache.lookup(key, now, u) {
                    Lookup::Hit => {
                        if measuring {
                            node.hits += 1;
                        }
                        let at = &mut self.attempts.items[a as usize];
                        at.query_result = QueryResult::CacheHit;
                        at.cache_miss = false;
                        let lane = self.cache_lane(c, r);
                        sched.schedule_in_lane(
                            lane,
                            after(now, latency),
                            Event::DbReply { attempt: a },
                        );
                        return;
                    }
                    Lookup::Miss | Lookup::Expired => {
                        if measuring {
                            node.misses += 1;
                        }
                        cache_miss = true;
                        start = after(now, latency);
                    }
                }
            }
        }
        let d = data.database;
        let db = &mut self.data.databases[d];
        let s = db.router.shard(key, r);
        let shard = &mut db.shards[s];
        if measuring {
            shard.queries += 1;
        }
        let active = matches!(
            self.config.databases[d].topology,
            Topology::ActiveActive { .. }
        );
        let node = if active {
            let latency = data_latency_fn(&self.config);
            shard.pick_active(r, |to| latency(r, to))
        } else if write {
            shard.routed_primary
        } else {
            match self.config.databases[d].reads {
                ReadPolicy::Primary => shard.routed_primary,
                ReadPolicy::Replicas => {
                    let latency = data_latency_fn(&self.config);
                    shard.pick_replica(r, |to| latency(r, to))
                }
                ReadPolicy::ReadYourWrites { pin } => {
                    if shard.recently_written(key, now, pin) {
                        shard.routed_primary
                    } else {
                        let latency = data_latency_fn(&self.config);
                        shard.pick_replica(r, |to| latency(r, to))
                    }
                }
            }
        };
        let node_region = shard.nodes[node].region;
        let at = &mut self.attempts.items[a as usize];
        at.db_shard = s as u32;
        at.db_node = node as u32;
        at.db_demand = demand;
        at.db_write = write;
        at.cache_miss = cache_miss;
        let latency = self.data_latency(r, node_region);
        // One lane per (region, node) each way: a fixed latency keeps each
        // in time order (the queue falls back to its heap otherwise).
        let lane = self.node_lane(r, d, s, node);
        match self.net_send(r, node_region, start, latency, lane) {
            Some(t) => {
                sched.schedule_in_lane(lane, t, Event::DbArrive { attempt: a });
            }
            None => {
                // Lost across a partition or a lossy link: as with a dead
                // node, the connection attempt times out.
                let timeout = self.config.databases[d].connect_timeout;
                self.query_fails(a, after(start, timeout), sched);
            }
        }
    }

    /// The query fails: the instance learns it at `when`.
    fn query_fails(&mut self, a: u32, when: SimTime, sched: &mut Scheduler<Event>) {
        let at = &mut self.attempts.items[a as usize];
        at.query_result = QueryResult::Unavailable;
        let d = self.config.populations[at.pop as usize].classes[at.class as usize]
            .data
            .map_or(0, |x| x.database);
        if self.measuring {
            self.data.databases[d].failed += 1;
        }
        sched.schedule_at(when, Event::DbReply { attempt: a });
    }

    fn on_db_arrive(&mut self, a: u32, now: SimTime, sched: &mut Scheduler<Event>) {
        let at = &self.attempts.items[a as usize];
        let (p, class, r) = (at.pop as usize, at.class as usize, at.region as usize);
        let (s, n, write, demand) = (
            at.db_shard as usize,
            at.db_node as usize,
            at.db_write,
            at.db_demand,
        );
        let Some(data) = self.config.populations[p].classes[class].data else {
            return;
        };
        let d = data.database;
        let dbc = &self.config.databases[d];
        let shard = &self.data.databases[d].shards[s];
        let node = &shard.nodes[n];
        let back = self.data_latency(node.region, r);
        let active = matches!(dbc.topology, Topology::ActiveActive { .. });
        if !node.up() || (!active && shard.phase == FailoverPhase::Promoting && n == shard.primary)
        {
            // A dead host (or a fenced old primary): the connection attempt
            // times out.
            let t = after(
                now,
                SimDuration::from_nanos(
                    dbc.connect_timeout
                        .as_nanos()
                        .saturating_sub(back.as_nanos()),
                ),
            );
            self.query_fails(a, t, sched);
            return;
        }
        if write && !active && n != shard.primary {
            // Writes to a replica (before the instances are re-pointed, or
            // to a demoted primary): "read-only transaction".
            self.query_fails(a, after(now, back), sched);
            return;
        }
        let (workers, capacity) = (dbc.workers, dbc.queue_capacity);
        let node = &mut self.data.databases[d].shards[s].nodes[n];
        self.attempts.items[a as usize].db_epoch = node.epoch;
        if node.busy < workers {
            node.busy += 1;
            node.busy_tw.increment(now);
            self.take_snapshot(a, d, s, n, now);
            sched.schedule_at(after(now, demand), Event::DbDone { attempt: a });
        } else if capacity.is_none_or(|c| (node.queue.len() as u32) < c) {
            node.queue.push_back(a);
        } else {
            // Too many connections.
            self.query_fails(a, after(now, back), sched);
        }
    }

    /// A read's service starts on node `n`: it sees what the node has
    /// applied now (a statement snapshot), so writes acknowledged while it
    /// runs do not make it stale.
    fn take_snapshot(&mut self, a: u32, d: usize, s: usize, n: usize, now: SimTime) {
        let at = &self.attempts.items[a as usize];
        if at.db_write {
            return;
        }
        let (key, pop) = (at.key, at.pop);
        let (stale, ryw) = match self.config.databases[d].topology {
            Topology::ActiveActive { sync_interval } => {
                let arrive = arrive_fn(&self.config, &self.net);
                self.data.databases[d].shards[s].aa_read_staleness(
                    n,
                    key,
                    pop,
                    now,
                    sync_interval,
                    &arrive,
                )
            }
            Topology::PrimaryReplica => {
                self.data.databases[d].shards[s].read_staleness(n, key, pop, now)
            }
        };
        let at = &mut self.attempts.items[a as usize];
        at.db_stale = stale;
        at.db_ryw = ryw;
    }

    fn on_db_done(&mut self, a: u32, now: SimTime, sched: &mut Scheduler<Event>) {
        let at = &self.attempts.items[a as usize];
        let (p, class, r, key) = (
            at.pop as usize,
            at.class as usize,
            at.region as usize,
            at.key,
        );
        let (s, n, write, epoch) = (
            at.db_shard as usize,
            at.db_node as usize,
            at.db_write,
            at.db_epoch,
        );
        let Some(data) = self.config.populations[p].classes[class].data else {
            return;
        };
        let d = data.database;
        let node = &self.data.databases[d].shards[s].nodes[n];
        let back = self.data_latency(node.region, r);
        if node.epoch != epoch {
            // The node died while serving: the connection resets.
            self.query_fails(a, after(now, back), sched);
            return;
        }
        let node = &mut self.data.databases[d].shards[s].nodes[n];
        if let Some(next) = node.queue.pop_front() {
            let demand = self.attempts.items[next as usize].db_demand;
            self.attempts.items[next as usize].db_epoch = node.epoch;
            self.take_snapshot(next, d, s, n, now);
            sched.schedule_at(after(now, demand), Event::DbDone { attempt: next });
        } else {
            node.busy -= 1;
            node.busy_tw.decrement(now);
        }
        let measuring = self.measuring;
        let reply_at = if write {
            let dbc = &self.config.databases[d];
            let pin = match dbc.reads {
                ReadPolicy::ReadYourWrites { pin } => pin,
                _ => SimDuration::ZERO,
            };
            let latency = repl_latency_fn(&self.config, &self.net, now);
            let arrive = arrive_fn(&self.config, &self.net);
            let db = &mut self.data.databases[d];
            let acked = match dbc.topology {
                Topology::ActiveActive { sync_interval } => {
                    if db.shards[s].aa_commit(n, key, p as u32, now, sync_interval, &arrive)
                        && measuring
                    {
                        db.conflicts += 1;
                    }
                    now
                }
                Topology::PrimaryReplica => {
                    db.shards[s].commit(key, p as u32, now, dbc, &latency, &mut db.rng, pin)
                }
            };
            if measuring {
                db.writes += 1;
                db.shards[s].nodes[n].writes += 1;
            }
            self.attempts.items[a as usize].db_acked = acked;
            acked
        } else {
            let at = &self.attempts.items[a as usize];
            let (stale, ryw) = (at.db_stale, at.db_ryw);
            let db = &mut self.data.databases[d];
            if measuring {
                db.reads += 1;
                db.shards[s].nodes[n].reads += 1;
                db.stale_reads += u64::from(stale);
                db.ryw_violations += u64::from(ryw);
            }
            now
        };
        self.attempts.items[a as usize].query_result = QueryResult::Db;
        let lane = self.node_lane(r, d, s, n) + 1;
        let node_region = self.data.databases[d].shards[s].nodes[n].region;
        match self.net_send(node_region, r, reply_at, back, lane) {
            Some(t) => {
                sched.schedule_in_lane(lane, t, Event::DbReply { attempt: a });
            }
            None => {
                // The answer is lost across a partition or a lossy link: the
                // instance gives up `connect_timeout` after it was sent.
                let timeout = self.config.databases[d].connect_timeout;
                self.query_fails(a, after(reply_at, timeout), sched);
            }
        }
    }

    fn on_db_reply(&mut self, a: u32, now: SimTime, sched: &mut Scheduler<Event>) {
        let at = &self.attempts.items[a as usize];
        let (p, class, r, i, epoch, key) = (
            at.pop as usize,
            at.class as usize,
            at.region as usize,
            at.instance as usize,
            at.epoch,
            at.key,
        );
        if self.regions[r].instances[i].epoch != epoch {
            // The instance died while it waited: nobody is there to answer.
            self.attempts.items[a as usize].held = false;
            self.maybe_free_attempt(a);
            return;
        }
        let Some(data) = self.config.populations[p].classes[class].data else {
            return;
        };
        let at = &self.attempts.items[a as usize];
        let (result, write, cache_miss) = (at.query_result, at.db_write, at.cache_miss);
        if result == QueryResult::Db && write {
            // A primary that died before acknowledging (a sync or semi-sync
            // write still waiting for its replicas) never answers: the
            // connection resets, and the write was not acknowledged.
            let (s, n, epoch, acked) = (
                at.db_shard as usize,
                at.db_node as usize,
                at.db_epoch,
                at.db_acked,
            );
            let node = &self.data.databases[data.database].shards[s].nodes[n];
            if node.epoch != epoch && node.died_at < acked {
                self.attempts.items[a as usize].query_result = QueryResult::Unavailable;
                if self.measuring {
                    self.data.databases[data.database].failed += 1;
                }
                self.complete_at_instance(a, Answer::DbError, now, sched);
                return;
            }
        }
        match result {
            QueryResult::Db => {
                if cache_miss
                    && let Some(c) = data.cache
                    && self.data.caches[c][r].down_faults == 0
                {
                    self.data.caches[c][r].cache.fill(key, now);
                }
            }
            QueryResult::CacheHit => {}
            QueryResult::Unavailable => {
                let mut rng = QueryRng::new(at.data_seed, u32::from(at.query));
                let u = query_unit(&mut rng);
                let stale = |model: &mut Self| {
                    data.cache.is_some_and(|c| {
                        let node = &mut model.data.caches[c][r];
                        let hit = node.down_faults == 0 && node.cache.has_any(key, u);
                        if hit && model.measuring {
                            node.stale_served += 1;
                        }
                        hit
                    })
                };
                let served = !write
                    && match data.degrade {
                        Degrade::Error => false,
                        Degrade::Stale => stale(self),
                        Degrade::Default => true,
                        Degrade::StaleThenDefault => {
                            stale(self);
                            true
                        }
                    };
                if !served {
                    self.complete_at_instance(a, Answer::DbError, now, sched);
                    return;
                }
                self.attempts.items[a as usize].degraded = true;
            }
        }
        let at = &mut self.attempts.items[a as usize];
        at.query += 1;
        if u32::from(at.query) < data.queries {
            self.start_query(a, now, sched);
        } else {
            let answer = if at.degraded {
                Answer::Degraded
            } else {
                Answer::Ok
            };
            self.complete_at_instance(a, answer, now, sched);
        }
    }

    /// Database node `n` of shard `s` of database `d` goes down (`down`) or
    /// comes back.
    fn db_node_fault(
        &mut self,
        d: usize,
        s: usize,
        n: usize,
        down: bool,
        now: SimTime,
        sched: &mut Scheduler<Event>,
    ) {
        let has_failover = self.config.databases[d].failover.is_some();
        let active = matches!(
            self.config.databases[d].topology,
            Topology::ActiveActive { .. }
        );
        let dbc = &self.config.databases[d];
        let check = dbc.failover.map_or((SimDuration::from_secs(5), 3), |f| {
            (f.check_interval, f.failures)
        });
        let db = &mut self.data.databases[d];
        let shard = &mut db.shards[s];
        let was_up = shard.nodes[n].up();
        {
            let node = &mut shard.nodes[n];
            node.down_faults = if down {
                node.down_faults + 1
            } else {
                node.down_faults.saturating_sub(1)
            };
        }
        let is_up = shard.nodes[n].up();
        let ids = (d as u16, s as u16);
        if was_up && !is_up {
            // Everything it held is lost; waiting queries see the
            // connection reset, queries in service see the epoch change.
            let node = &mut shard.nodes[n];
            node.epoch = node.epoch.wrapping_add(1);
            node.died_at = now;
            node.busy_tw.set(now, 0);
            node.busy = 0;
            let queued: Vec<u32> = node.queue.drain(..).collect();
            let region = node.region;
            for q in queued {
                let r = self.attempts.items[q as usize].region as usize;
                let back = self.data_latency(region, r);
                self.query_fails(q, after(now, back), sched);
            }
            let shard = &mut self.data.databases[d].shards[s];
            // The health checks notice at the `failures`-th failed check.
            let (interval, failures) = check;
            let first = now.as_nanos().div_ceil(interval.as_nanos()) * interval.as_nanos();
            let detect = SimTime::from_nanos(first)
                + SimDuration::from_nanos(interval.as_nanos() * u64::from(failures - 1));
            if active {
                // Every node is a primary: its unshipped writes are lost;
                // callers move to another node when checks notice.
                shard.aa_node_died(n, now);
                sched.schedule_at(
                    detect,
                    Event::DbPoolCheck {
                        database: ids.0,
                        shard: ids.1,
                        node: n as u32,
                    },
                );
            } else if n == shard.primary && shard.phase != FailoverPhase::Promoting {
                shard.primary_died(now);
                if has_failover {
                    sched.schedule_at(
                        detect,
                        Event::Failover {
                            database: ids.0,
                            shard: ids.1,
                            step: 0,
                        },
                    );
                }
            } else {
                sched.schedule_at(
                    detect,
                    Event::DbPoolCheck {
                        database: ids.0,
                        shard: ids.1,
                        node: n as u32,
                    },
                );
            }
        } else if !was_up && is_up {
            let dbc = &self.config.databases[d];
            let latency = repl_latency_fn(&self.config, &self.net, now);
            let db = &mut self.data.databases[d];
            let shard = &mut db.shards[s];
            let fenced = n == shard.primary && shard.phase == FailoverPhase::Promoting;
            if !active && !fenced {
                shard.node_recovered(n, now, dbc, &latency, &mut db.rng);
            }
            // Back in the read pool at the next passing check.
            let (interval, _) = check;
            let next = now.as_nanos().div_ceil(interval.as_nanos()) * interval.as_nanos();
            sched.schedule_at(
                SimTime::from_nanos(next).max(now),
                Event::DbPoolCheck {
                    database: ids.0,
                    shard: ids.1,
                    node: n as u32,
                },
            );
        }
    }

    fn on_failover(
        &mut self,
        d: usize,
        s: usize,
        step: u32,
        now: SimTime,
        sched: &mut Scheduler<Event>,
    ) {
        let dbc = &self.config.databases[d];
        let Some(f) = dbc.failover else {
            return;
        };
        let latency = repl_latency_fn(&self.config, &self.net, now);
        let db = &mut self.data.databases[d];
        let shard = &mut db.shards[s];
        let next = |step: u32| Event::Failover {
            database: d as u16,
            shard: s as u16,
            step,
        };
        // The low two bits are the step; a repoint carries the index of the
        // incident whose promotion it completes above them.
        match step & 3 {
            0 => {
                // Detection: only if the primary is still dead.
                if shard.primary_died.is_none() || shard.phase == FailoverPhase::Promoting {
                    return;
                }
                if let Some(inc) = shard.incidents.last_mut() {
                    inc.detected = Some(now);
                }
                shard.phase = FailoverPhase::Promoting;
                shard.nodes[shard.primary].in_read_pool = false;
                sched.schedule_at(after(now, f.promotion), next(1));
            }
            1 => {
                let Some(new) = shard.promotion_candidate(now) else {
                    // No live replica: try again at the next check.
                    sched.schedule_at(after(now, f.check_interval), next(1));
                    return;
                };
                let old = shard.primary;
                shard.promote(new, now, dbc, &latency, &mut db.rng);
                shard.phase = FailoverPhase::Repointing;
                if shard.nodes[old].up() {
                    // The old primary came back during promotion: fenced
                    // until now, it rejoins as a replica.
                    shard.node_recovered(old, now, dbc, &latency, &mut db.rng);
                }
                let incident = shard.incidents.len().saturating_sub(1) as u32;
                sched.schedule_at(after(now, f.repoint), next(2 | (incident << 2)));
            }
            _ => {
                // Instances now use the node this incident promoted (even if
                // it has died since: a newer incident is then under way).
                let Some(inc) = shard.incidents.get_mut((step >> 2) as usize) else {
                    return;
                };
                inc.repointed = Some(now);
                if let Some(node) = inc.promoted_node {
                    shard.routed_primary = node;
                }
                if shard.phase == FailoverPhase::Repointing {
                    shard.phase = FailoverPhase::Steady;
                }
            }
        }
    }

    /// Every database node and cache node in region `r` goes down (`down`)
    /// or comes back with its region.
    fn region_data_fault(
        &mut self,
        r: usize,
        down: bool,
        now: SimTime,
        sched: &mut Scheduler<Event>,
    ) {
        for d in 0..self.data.databases.len() {
            for s in 0..self.data.databases[d].shards.len() {
                for n in 0..self.data.databases[d].shards[s].nodes.len() {
                    if self.data.databases[d].shards[s].nodes[n].region == r {
                        self.db_node_fault(d, s, n, down, now, sched);
                    }
                }
            }
        }
        for c in 0..self.data.caches.len() {
            self.cache_fault(c, r, down);
        }
    }

    fn cache_fault(&mut self, c: usize, r: usize, down: bool) {
        let node = &mut self.data.caches[c][r];
        if down {
            if node.down_faults == 0 {
                // A restarted cache node comes back empty.
                node.cache.clear();
            }
            node.down_faults += 1;
        } else {
            node.down_faults = node.down_faults.saturating_sub(1);
        }
    }

    /// Sends an attempt's answer back to its client.
    fn respond(&mut self, a: u32, answer: Answer, now: SimTime, sched: &mut Scheduler<Event>) {
        let at = &mut self.attempts.items[a as usize];
        at.answer = answer;
        let latency = self.pops[at.pop as usize].latency_to[at.region as usize];
        let lane = 2 * (at.pop * self.regions.len() as u32 + at.region) + 1;
        let (from, home) = (
            at.region as usize,
            self.config.populations[at.pop as usize].home_region,
        );
        match self.net_send(from, home, now, latency, lane) {
            Some(t) => {
                sched.schedule_in_lane(lane, t, Event::Response { attempt: a });
            }
            None => {
                // The answer is lost on the way back: the client times out.
                self.attempts.items[a as usize].held = false;
                self.maybe_free_attempt(a);
            }
        }
    }

    fn on_response(&mut self, a: u32, now: SimTime, sched: &mut Scheduler<Event>) {
        let at = &mut self.attempts.items[a as usize];
        at.held = false;
        if at.live {
            at.live = false;
            let outcome = match at.answer {
                Answer::Ok => Outcome::Ok,
                Answer::Rejected => Outcome::Rejected,
                Answer::NoBackend => Outcome::NoHealthyBackend,
                Answer::DbError => Outcome::DatabaseError,
                Answer::Degraded => Outcome::Degraded,
            };
            self.client_result(a, outcome, now, sched);
        }
        self.maybe_free_attempt(a);
    }

    fn maybe_free_attempt(&mut self, a: u32) {
        let at = &mut self.attempts.items[a as usize];
        if at.in_use && !at.live && !at.held {
            at.in_use = false;
            self.attempts.release(a);
        }
    }

    // ----- health, routing, outages -------------------------------------

    fn on_health_checks(&mut self, r: usize, now: SimTime, sched: &mut Scheduler<Event>) {
        let cfg = &self.config.regions[r].balancer;
        let slow_start = cfg.slow_start.is_some();
        let interval = cfg.health_check.interval;
        let region = &mut self.regions[r];
        let mut ramping = false;
        for i in 0..region.instances.len() {
            let inst = &mut region.instances[i];
            if matches!(
                inst.state,
                InstanceState::Draining | InstanceState::Terminated
            ) {
                continue;
            }
            let passed =
                !region.down && inst.state == InstanceState::Ready && inst.down_faults == 0;
            if let Some(healthy) = inst.health.record(passed) {
                if healthy && slow_start && now > SimTime::ZERO {
                    inst.slow_start_since = Some(now);
                    ramping = true;
                }
                update_eligibility(region, i);
            }
        }
        if ramping {
            self.on_slow_start_tick(r, now, sched);
        }
        sched.schedule_at(
            after(now, interval),
            Event::HealthChecks { region: r as u32 },
        );
    }

    fn on_slow_start_tick(&mut self, r: usize, now: SimTime, sched: &mut Scheduler<Event>) {
        let Some(cfg) = self.config.regions[r].balancer.slow_start else {
            return;
        };
        let region = &mut self.regions[r];
        let mut any = false;
        for i in 0..region.instances.len() {
            if let Some(since) = region.instances[i].slow_start_since {
                let factor = slow_start_factor(&cfg, now - since);
                region.balancer.set_weight_factor(i, factor);
                if factor >= 1.0 {
                    region.instances[i].slow_start_since = None;
                } else {
                    any = true;
                }
            }
        }
        if any && !region.slow_start_ticking {
            region.slow_start_ticking = true;
            sched.schedule_at(
                after(now, SLOW_START_TICK),
                Event::SlowStartTick { region: r as u32 },
            );
        }
    }

    fn on_dns_checks(&mut self, now: SimTime, sched: &mut Scheduler<Event>) {
        let mut changed = false;
        for region in &mut self.regions {
            let passed = !region.down && region.balancer.eligible_count() > 0;
            if let Some(healthy) = region.dns_health.record(passed) {
                changed = true;
                if healthy {
                    if let Some(since) = region.dns_unhealthy_since.take() {
                        region.dns_unhealthy = region.dns_unhealthy + (now - since);
                    }
                } else {
                    region.dns_unhealthy_since = Some(now);
                }
            }
        }
        // Detection of region and balancer faults, for the incidents table.
        for (f, fc) in self.config.faults.iter().enumerate() {
            if let FaultTarget::Region(r) | FaultTarget::Balancer(r) = fc.target
                && self.fault_detected[f].is_none()
                && fc.window.start <= now
                && now < fc.window.end
                && !self.regions[r].dns_health.is_healthy()
            {
                self.fault_detected[f] = Some(now);
            }
        }
        if changed {
            for p in 0..self.pops.len() {
                let answer = self.geodns_answer(p);
                if self.pops[p].dns_answers.last().map(|a| a.1) != Some(answer) {
                    self.pops[p].dns_answers.push((now, answer));
                }
            }
        }
        sched.schedule_at(
            after(now, self.config.dns.health_check.interval),
            Event::DnsChecks,
        );
    }

    fn on_region_down(&mut self, r: usize, now: SimTime) {
        let region = &mut self.regions[r];
        region.down_count += 1;
        if region.down {
            return;
        }
        region.down = true;
        // Everything queued or in service is lost; the instances restart
        // empty when the region comes back.
        for i in 0..self.regions[r].instances.len() {
            self.drop_work(r, i, now);
            if self.regions[r].instances[i].state == InstanceState::Draining {
                self.terminate(r, i, now);
            }
        }
    }

    /// The end of an outage or of a region or balancer fault: the region is
    /// reachable again once nothing else holds it down.
    fn on_region_up(&mut self, r: usize) {
        let region = &mut self.regions[r];
        region.down_count = region.down_count.saturating_sub(1);
        region.down = region.down_count > 0;
    }

    /// An injected fault starts (`down`) or ends. Region and balancer
    /// faults make the region unreachable, as an outage does (a dead
    /// balancer answers no client, and GeoDNS's checks see it fail). Zone,
    /// group and instance faults crash instances: what they hold is lost,
    /// requests the balancer still sends them vanish (their clients time
    /// out) until health checks eject them, and when the fault ends they
    /// answer again and pass checks back into service.
    fn on_fault(&mut self, f: usize, down: bool, now: SimTime, sched: &mut Scheduler<Event>) {
        let target = self.config.faults[f].target;
        // Which instances of region `r` the fault crashes.
        enum Hit {
            Zone(usize),
            Group(usize),
            Index(usize),
        }
        let (r, hit) = match target {
            FaultTarget::Region(r) | FaultTarget::Balancer(r) => {
                if down {
                    self.on_region_down(r, now);
                } else {
                    self.on_region_up(r);
                }
                if matches!(target, FaultTarget::Region(_)) {
                    // A region takes its databases and caches with it.
                    self.region_data_fault(r, down, now, sched);
                }
                return;
            }
            FaultTarget::DatabasePrimary(d, s) => {
                if down {
                    self.fault_nodes[f] = self.data.databases[d].shards[s].primary;
                }
                let n = self.fault_nodes[f];
                self.db_node_fault(d, s, n, down, now, sched);
                return;
            }
            FaultTarget::DatabaseReplica(d, s, k) => {
                self.db_node_fault(d, s, k + 1, down, now, sched);
                return;
            }
            FaultTarget::Cache(c, r) => {
                self.cache_fault(c, r, down);
                return;
            }
            FaultTarget::Partition(..) | FaultTarget::Link(..) => {
                // Their windows are known in advance: every message decides
                // its fate when sent (`net_send`), so nothing changes here.
                return;
            }
            FaultTarget::Dns => {
                if down {
                    self.dns_faults += 1;
                    self.dns_down_since.get_or_insert(now);
                } else {
                    self.dns_faults = self.dns_faults.saturating_sub(1);
                    if self.dns_faults == 0 {
                        // Back: clients resolve again on their next request.
                        self.dns_down_since = None;
                    }
                }
                return;
            }
            FaultTarget::Zone(r, z) => {
                let c = &mut self.regions[r].zone_faults[z];
                *c = if down { *c + 1 } else { c.saturating_sub(1) };
                (r, Hit::Zone(z))
            }
            FaultTarget::Group(r, g) => {
                let c = &mut self.regions[r].group_faults[g];
                *c = if down { *c + 1 } else { c.saturating_sub(1) };
                (r, Hit::Group(g))
            }
            FaultTarget::SlowInstance(r, g, k) => {
                // A gray failure: up, passing health checks, slower.
                let index = self.config.regions[r].starting_instance(g, k);
                let factor = self.config.faults[f].slowdown;
                let inst = &mut self.regions[r].instances[index];
                if down {
                    inst.slow_faults += 1;
                    inst.slowdown *= factor;
                } else {
                    inst.slow_faults = inst.slow_faults.saturating_sub(1);
                    inst.slowdown = if inst.slow_faults == 0 {
                        1.0
                    } else {
                        inst.slowdown / factor
                    };
                }
                return;
            }
            FaultTarget::Instance(r, g, k) => (
                r,
                Hit::Index(self.config.regions[r].starting_instance(g, k)),
            ),
        };
        for i in 0..self.regions[r].instances.len() {
            let inst = &self.regions[r].instances[i];
            let hits = match hit {
                Hit::Zone(z) => inst.zone as usize == z,
                Hit::Group(g) => inst.group as usize == g,
                Hit::Index(index) => i == index,
            };
            if inst.state == InstanceState::Terminated || !hits {
                continue;
            }
            if down {
                self.regions[r].instances[i].down_faults += 1;
                self.drop_work(r, i, now);
                if self.regions[r].instances[i].state == InstanceState::Draining {
                    self.terminate(r, i, now);
                }
            } else {
                let inst = &mut self.regions[r].instances[i];
                inst.down_faults = inst.down_faults.saturating_sub(1);
            }
        }
    }

    /// Everything instance `i` holds is lost (its region went down, or its
    /// drain ran out of time): attempts in service never answer (their
    /// `ServiceDone` sees a new epoch), queued ones are dropped; their
    /// clients time out. Returns how many were dropped.
    fn drop_work(&mut self, r: usize, i: usize, now: SimTime) -> u64 {
        let region = &mut self.regions[r];
        let inst = &mut region.instances[i];
        inst.epoch = inst.epoch.wrapping_add(1);
        let g = inst.group as usize;
        let held = inst.busy as usize + inst.queue.len();
        for _ in 0..held {
            region.balancer.on_complete(i, SimDuration::ZERO, now);
        }
        for _ in 0..inst.busy {
            region.busy.decrement(now);
            region.groups[g].busy.decrement(now);
        }
        inst.account_busy(now);
        inst.busy = 0;
        while let Some(a) = inst.queue.pop_front() {
            region.queued.decrement(now);
            region.groups[g].queued.decrement(now);
            let at = &mut self.attempts.items[a as usize];
            at.held = false;
            if at.in_use && !at.live {
                at.in_use = false;
                self.attempts.release(a);
            }
        }
        held as u64
    }

    fn on_booted(&mut self, r: usize, i: usize, now: SimTime) {
        let region = &mut self.regions[r];
        let inst = &mut region.instances[i];
        if inst.state == InstanceState::Booting {
            inst.state = InstanceState::Ready;
            inst.ready_at = now;
        }
    }

    // ----- autoscaling ---------------------------------------------------

    /// Launches one instance of group `g` in region `r`: placed in the
    /// group's zone with the fewest active members, booting for a draw of
    /// the group's boot time. Returns `false` when the region's quota
    /// refuses it.
    fn launch(&mut self, r: usize, g: usize, now: SimTime, sched: &mut Scheduler<Event>) -> bool {
        let gc = &self.config.regions[r].groups[g];
        let ty = &self.config.instance_types[gc.instance_type];
        let bc = &self.config.regions[r].balancer;
        let region = &mut self.regions[r];
        if let Some(quota) = self.config.regions[r].instance_quota
            && region.live_instances >= u64::from(quota)
        {
            region.groups[g].quota_refusals += 1;
            return false;
        }
        let Some(scaler) = region.scalers[g].as_mut() else {
            return false;
        };
        // Spread over zones: the allowed zone with the fewest members.
        let mut per_zone = vec![0u32; self.config.regions[r].zones.len()];
        for &m in &scaler.members {
            let inst = &region.instances[m as usize];
            if inst.state != InstanceState::Draining {
                per_zone[inst.zone as usize] += 1;
            }
        }
        let zone = gc
            .zones
            .iter()
            .copied()
            .min_by_key(|&z| (per_zone[z], z))
            .unwrap_or(0);
        let id = region.balancer.add_backend(BackendInfo {
            zone,
            weight: gc.weight,
            capacity: ty.workers,
        });
        if let Some(o) = region.outlier.as_mut() {
            o.add_backend();
        }
        debug_assert_eq!(id, region.instances.len());
        region.instances.push(Instance {
            group: g as u32,
            state: InstanceState::Booting,
            workers: ty.workers,
            queue_capacity: ty.queue_capacity,
            speed: ty.speed,
            busy: 0,
            queue: VecDeque::new(),
            epoch: 0,
            ready_at: SimTime::MAX,
            slow_start_since: None,
            health: HealthChecker::new(bc.health_check, false),
            ejected: false,
            launched: now,
            zone: zone as u16,
            down_faults: region.zone_faults[zone] + region.group_faults[g],
            slow_faults: 0,
            slowdown: 1.0,
            busy_area: 0,
            busy_changed: now,
            sampled_area: 0,
            requests: 0,
            sampled_requests: 0,
        });
        scaler.members.push(id as u32);
        region.live_instances += 1;
        region.alive += 1;
        self.fleet_alive.increment(now);
        let stats = &mut region.groups[g];
        stats.launches += 1;
        stats.alive.increment(now);
        let workers = u64::from(ty.workers);
        stats.workers.set(now, stats.workers.value() + workers);
        region.workers.set(now, region.workers.value() + workers);
        let boot = gc.boot.sample_duration(&mut region.boot_rng);
        sched.schedule_at(
            after(now, boot),
            Event::Booted {
                region: r as u32,
                instance: id as u32,
            },
        );
        true
    }

    /// Takes instance `i` of region `r` out of the balancer for good and
    /// lets it finish what it holds, for at most the drain timeout.
    fn start_draining(&mut self, r: usize, i: usize, now: SimTime, sched: &mut Scheduler<Event>) {
        let region = &mut self.regions[r];
        let inst = &mut region.instances[i];
        let g = inst.group as usize;
        if inst.state == InstanceState::Booting {
            // Not serving yet: cancel the launch.
            self.terminate(r, i, now);
            return;
        }
        inst.state = InstanceState::Draining;
        inst.slow_start_since = None;
        region.balancer.deregister(i);
        if inst.idle() {
            self.terminate(r, i, now);
            return;
        }
        let timeout = region.scalers[g]
            .as_ref()
            .map_or(SimDuration::ZERO, |s| s.drain_timeout);
        sched.schedule_at(
            after(now, timeout),
            Event::DrainDeadline {
                region: r as u32,
                instance: i as u32,
            },
        );
    }

    fn on_drain_deadline(&mut self, r: usize, i: usize, now: SimTime) {
        if self.regions[r].instances[i].state != InstanceState::Draining {
            return;
        }
        let cut = self.drop_work(r, i, now);
        let g = self.regions[r].instances[i].group as usize;
        self.regions[r].groups[g].drain_cut += cut;
        self.terminate(r, i, now);
    }

    /// Instance `i` of region `r` is gone: billed (per second, at least the
    /// type's minimum), removed from every count.
    fn terminate(&mut self, r: usize, i: usize, now: SimTime) {
        let region = &mut self.regions[r];
        let inst = &mut region.instances[i];
        if inst.state == InstanceState::Terminated {
            return;
        }
        debug_assert!(inst.idle());
        inst.state = InstanceState::Terminated;
        inst.ejected = false;
        let g = inst.group as usize;
        let gc = &self.config.regions[r].groups[g];
        let ty = &self.config.instance_types[gc.instance_type];
        region.balancer.deregister(i);
        if let Some(o) = region.outlier.as_mut() {
            o.remove_backend(i);
        }
        let lived = now.saturating_since(inst.launched).max(ty.billing_minimum);
        region.live_instances -= 1;
        region.alive -= 1;
        self.fleet_alive.decrement(now);
        let stats = &mut region.groups[g];
        stats.billed_ns += u128::from(lived.as_nanos());
        stats.terminations += 1;
        stats.alive.decrement(now);
        let workers = u64::from(ty.workers);
        stats.workers.set(now, stats.workers.value() - workers);
        region.workers.set(now, region.workers.value() - workers);
        if let Some(scaler) = region.scalers[g].as_mut() {
            scaler.members.retain(|&m| m as usize != i);
        }
    }

    /// Once a second: record each autoscaled group's metrics, let its
    /// policies decide, and launch or drain instances to match.
    fn on_metric_tick(&mut self, now: SimTime, sched: &mut Scheduler<Event>) {
        for r in 0..self.regions.len() {
            let no_backend = std::mem::take(&mut self.regions[r].no_backend);
            for g in 0..self.regions[r].scalers.len() {
                if self.regions[r].scalers[g].is_some() {
                    self.autoscale_group(r, g, no_backend, now, sched);
                }
            }
        }
    }

    fn autoscale_group(
        &mut self,
        r: usize,
        g: usize,
        no_backend: u64,
        now: SimTime,
        sched: &mut Scheduler<Event>,
    ) {
        let gc = &self.config.regions[r].groups[g];
        let workers_per_instance = self.config.instance_types[gc.instance_type].workers;
        let region = &mut self.regions[r];
        let Some(scaler) = region.scalers[g].as_mut() else {
            return;
        };
        // 1. The metric row for the second that just ended.
        let mut row = MetricRow {
            no_backend,
            ..MetricRow::default()
        };
        let mut counts = InstanceCounts::default();
        for &m in &scaler.members {
            let inst = &mut region.instances[m as usize];
            let busy = inst.take_busy_sample(now) as f64 * 1e-9;
            let requests = inst.take_request_sample();
            let workers = f64::from(inst.workers);
            row.requests += requests;
            row.queued += inst.queue.len() as u64;
            row.in_flight += u64::from(inst.busy) + inst.queue.len() as u64;
            match inst.state {
                InstanceState::Booting => counts.booting += 1,
                InstanceState::Draining => counts.draining += 1,
                InstanceState::Terminated => {}
                InstanceState::Ready => {
                    row.busy_all += busy;
                    row.workers_all += workers;
                    let warmed = inst.ready_at == SimTime::ZERO
                        || now.saturating_since(inst.ready_at) >= scaler.instance_warmup;
                    if warmed && inst.health.is_healthy() {
                        counts.in_service += 1;
                        row.busy += busy;
                        row.workers += workers;
                        row.instances += 1.0;
                        row.requests_counted += requests;
                    } else {
                        counts.warming += 1;
                    }
                }
            }
        }
        scaler.history.push(row);
        // 2. The policies, in order; each sees the previous one's result.
        let mut decisions = Vec::new();
        for k in 0..scaler.policies.len() {
            let view = GroupView {
                now,
                desired: scaler.desired,
                min: scaler.min,
                max: scaler.max,
                counts,
                workers_per_instance,
                mean_boot: scaler.mean_boot,
                history: &scaler.history,
            };
            let Some(d) = scaler.policies[k].tick(&view) else {
                continue;
            };
            let kind = scaler.policies[k].kind();
            let from = scaler.desired;
            if let Some(min) = d.min {
                scaler.min = min;
            }
            if let Some(max) = d.max {
                scaler.max = max.max(scaler.min);
            }
            let to = d
                .desired
                .unwrap_or(from)
                .clamp(scaler.min, scaler.max.max(scaler.min));
            let action = if to > from {
                "scale_out"
            } else if to < from {
                "scale_in"
            } else if d.min.is_some() || d.max.is_some() {
                "bounds"
            } else {
                "held"
            };
            scaler.desired = to;
            if action == "held" {
                // What held it, without the metric values that come before.
                let why = d
                    .reason
                    .find("held")
                    .map_or(&d.reason[..], |i| &d.reason[i..]);
                let key = (kind, from, why.to_string());
                if scaler.last_held.as_ref() == Some(&key) {
                    continue;
                }
                scaler.last_held = Some(key);
            } else {
                scaler.last_held = None;
            }
            decisions.push((kind, action, d, from, to));
        }
        // A later policy that undoes an earlier one in the same second (a
        // predictive forecast holding capacity that a dynamic policy wanted
        // to remove: AWS takes the larger) changes nothing: one held entry
        // says why.
        if decisions.len() > 1
            && decisions.iter().any(|x| x.3 != x.4)
            && decisions[0].3 == scaler.desired
        {
            let start = decisions[0].3;
            let kinds: Vec<&str> = decisions.iter().map(|x| x.0).collect();
            let mut observed = Vec::new();
            let mut reasons = Vec::new();
            for (kind, _, d, from, to) in decisions.drain(..) {
                observed.extend(
                    d.observed
                        .into_iter()
                        .map(|(k, v)| (format!("{kind}.{k}"), v)),
                );
                reasons.push(format!("{kind} {from}→{to}: {}", d.reason));
            }
            decisions.push((
                if kinds.contains(&"predictive") {
                    "predictive"
                } else {
                    kinds[kinds.len() - 1]
                },
                "held",
                Decision {
                    observed,
                    reason: format!(
                        "held at {start}, the larger capacity wins: {}",
                        reasons.join("; ")
                    ),
                    ..Decision::default()
                },
                start,
                start,
            ));
        }
        region.groups[g].scale_actions += decisions.iter().filter(|x| x.3 != x.4).count() as u64;
        for (kind, action, d, from, to) in decisions {
            self.log_decision(r, g, now, kind, action, d.observed, d.reason, from, to);
        }
        // 3. Launch or drain to the desired capacity.
        self.reconcile(r, g, now, sched);
    }

    /// Launches or drains instances of group `g` until its active count
    /// (booting + ready) equals the desired capacity.
    fn reconcile(&mut self, r: usize, g: usize, now: SimTime, sched: &mut Scheduler<Event>) {
        let Some(scaler) = self.regions[r].scalers[g].as_ref() else {
            return;
        };
        let desired = scaler.desired as usize;
        let instances = &self.regions[r].instances;
        let active: Vec<u32> = scaler
            .members
            .iter()
            .copied()
            .filter(|&m| {
                matches!(
                    instances[m as usize].state,
                    InstanceState::Booting | InstanceState::Ready
                )
            })
            .collect();
        if active.len() < desired {
            let mut refused = 0;
            for _ in active.len()..desired {
                if !self.launch(r, g, now, sched) {
                    refused += 1;
                }
            }
            if refused > 0 {
                let from = self.regions[r].scalers[g].as_ref().map_or(0, |s| s.desired);
                let quota = self.config.regions[r].instance_quota.unwrap_or(0);
                self.log_decision(
                    r,
                    g,
                    now,
                    "quota",
                    "refused",
                    vec![("instance_quota".to_string(), f64::from(quota))],
                    format!("the region's instance quota ({quota}) refused {refused} launch(es)"),
                    from,
                    from,
                );
            }
        } else if active.len() > desired {
            let victims = choose_victims(
                &self.regions[r].instances,
                &active,
                active.len() - desired,
                scaler.victim,
                self.config.regions[r].zones.len(),
            );
            for v in victims {
                self.start_draining(r, v as usize, now, sched);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn log_decision(
        &mut self,
        r: usize,
        g: usize,
        now: SimTime,
        policy: &str,
        action: &str,
        observed: Vec<(String, f64)>,
        reason: String,
        from: u32,
        to: u32,
    ) {
        if self.decisions.len() >= MAX_DECISIONS {
            self.decisions_dropped += 1;
            return;
        }
        self.decisions.push(DecisionRecord {
            time_s: now.as_secs_f64(),
            region: self.config.regions[r].name.clone(),
            group: self.config.regions[r].groups[g].name.clone(),
            policy: policy.to_string(),
            action: action.to_string(),
            observed: observed.into_iter().collect(),
            reason,
            from,
            to,
        });
    }

    fn close_bucket(&mut self, now: SimTime) {
        let latency = arrive_fn(&self.config, &self.net);
        for (d, db) in self.data.databases.iter_mut().enumerate() {
            let active = matches!(
                self.config.databases[d].topology,
                Topology::ActiveActive { .. }
            );
            for shard in &mut db.shards {
                for n in 0..shard.nodes.len() {
                    let lag = if active {
                        shard.aa_lag(n, now, &latency)
                    } else {
                        shard.lag(n, now)
                    }
                    .as_secs_f64();
                    let node = &mut shard.nodes[n];
                    node.lag_series.push(lag);
                    // A dead node keeps falling behind (the series shows
                    // it); the mean and max describe it while up.
                    if self.measuring && node.up() {
                        node.lag_sum += lag;
                        node.lag_max = node.lag_max.max(lag);
                        node.lag_samples += 1;
                    }
                }
            }
        }
        let width = now - self.bucket_start;
        let (mut busy_sum, mut queue_sum, mut workers_sum, mut alive_sum) = (0.0, 0.0, 0.0, 0);
        for region in &mut self.regions {
            let marks = (
                region.busy.integral_at(now),
                region.queued.integral_at(now),
                region.workers.integral_at(now),
            );
            let d = |a: u128, b: u128| (a - b) as f64;
            let busy = d(marks.0, region.bucket_marks.0);
            let queued = d(marks.1, region.bucket_marks.1);
            let workers = d(marks.2, region.bucket_marks.2);
            region.bucket_marks = marks;
            let w = width.as_nanos().max(1) as f64;
            self.bucket.absorb(&region.bucket);
            let point = region.bucket.close(
                self.bucket_start,
                width,
                queued / w,
                if workers > 0.0 { busy / workers } else { 0.0 },
                region.alive,
            );
            region.series.push(point);
            busy_sum += busy;
            queue_sum += queued;
            workers_sum += workers;
            alive_sum += region.alive;
        }
        let w = width.as_nanos().max(1) as f64;
        let point = self.bucket.close(
            self.bucket_start,
            width,
            queue_sum / w,
            if workers_sum > 0.0 {
                busy_sum / workers_sum
            } else {
                0.0
            },
            alive_sum,
        );
        self.series.push(point);
        self.bucket_start = now;
    }

    fn close_minute(&mut self) {
        let target = self.config.run.slo.target;
        self.stats.minutes.close_minute(target);
        for region in &mut self.regions {
            region.stats.minutes.close_minute(target);
        }
        for pop in &mut self.pops {
            pop.stats.minutes.close_minute(target);
        }
    }

    fn on_warmup_end(&mut self, now: SimTime) {
        self.measuring = true;
        self.fleet_alive.reset(now);
        self.stats = ScopeStats::new();
        for h in &mut self.pair_latency {
            h.reset();
        }
        for region in &mut self.regions {
            region.stats = ScopeStats::new();
            for g in &mut region.groups {
                g.busy.reset(now);
                g.queued.reset(now);
                g.alive.reset(now);
                g.workers.reset(now);
                g.rejected = 0;
                g.served = 0;
            }
        }
        for pop in &mut self.pops {
            pop.stats = ScopeStats::new();
        }
        for db in &mut self.data.databases {
            db.reads = 0;
            db.writes = 0;
            db.failed = 0;
            db.stale_reads = 0;
            db.ryw_violations = 0;
            db.conflicts = 0;
            for shard in &mut db.shards {
                shard.queries = 0;
                for node in &mut shard.nodes {
                    node.reads = 0;
                    node.writes = 0;
                    node.busy_tw.reset(now);
                }
            }
        }
        for nodes in &mut self.data.caches {
            for node in nodes {
                node.hits = 0;
                node.misses = 0;
                node.bypassed = 0;
                node.stale_served = 0;
            }
        }
    }

    /// Closes the last (partial) series bucket and SLO minute at the end of
    /// the run.
    pub fn finish_run(&mut self, now: SimTime) {
        if now > self.bucket_start {
            self.close_bucket(now);
        }
        self.close_minute();
        for region in &mut self.regions {
            if let Some(since) = region.dns_unhealthy_since.take() {
                region.dns_unhealthy = region.dns_unhealthy + (now - since);
            }
        }
    }

    /// Whether statistics are being collected (the warm-up is over).
    pub fn measuring(&self) -> bool {
        self.measuring
    }

    /// Billed instance-hours of group `g` of region `r` up to `end`: every
    /// instance from launch to termination (or `end`), at least its type's
    /// billing minimum.
    pub(crate) fn billed_hours(&self, r: usize, g: usize, end: SimTime) -> f64 {
        let gc = &self.config.regions[r].groups[g];
        let minimum = self.config.instance_types[gc.instance_type].billing_minimum;
        let region = &self.regions[r];
        let running: u128 = region
            .instances
            .iter()
            .filter(|i| i.group as usize == g && i.state != InstanceState::Terminated)
            .map(|i| u128::from(end.saturating_since(i.launched).max(minimum).as_nanos()))
            .sum();
        (region.groups[g].billed_ns + running) as f64 / 3.6e12
    }

    /// Replaces group `g` of region `r`'s policies (tests drive the
    /// instance life cycle with scripted policies).
    #[cfg(test)]
    pub(crate) fn replace_policies(&mut self, r: usize, g: usize, policies: Vec<Box<dyn Policy>>) {
        if let Some(s) = self.regions[r].scalers[g].as_mut() {
            s.policies = policies;
        }
    }

    /// Circuit-breaker openings of population `p` over the run.
    pub(crate) fn breaker_opens(&self, p: usize) -> u64 {
        self.pops[p].breakers.iter().map(|b| b.opened_count()).sum()
    }
}

/// One-way latency between two regions for data-tier traffic
/// (`intra_region_latency` within one region), borrowing only the config
/// so that it can be used while the data tier's state is borrowed.
fn data_latency_fn(config: &FleetConfig) -> impl Fn(usize, usize) -> SimDuration + '_ {
    let (inter, intra) = (&config.inter_region_latency, config.intra_region_latency);
    move |a, b| if a == b { intra } else { inter[a][b] }
}

/// Data-tier latency for replication traffic sent at `now`: across a
/// partition, the stream waits for the heal (then one latency more); a
/// degraded link adds its latency.
fn repl_latency_fn<'a>(
    config: &'a FleetConfig,
    net: &'a NetFaults,
    now: SimTime,
) -> impl Fn(usize, usize) -> SimDuration + 'a {
    let base = data_latency_fn(config);
    move |a, b| {
        let l = base(a, b);
        if net.affects(a, b) {
            net.stream_arrival(a, b, now, l).saturating_since(now)
        } else {
            l
        }
    }
}

/// When data-tier stream traffic (active-active sync batches) sent from
/// region `a` at `t` reaches region `b`.
fn arrive_fn<'a>(
    config: &'a FleetConfig,
    net: &'a NetFaults,
) -> impl Fn(usize, usize, SimTime) -> SimTime + 'a {
    let base = data_latency_fn(config);
    move |a, b, t| {
        let l = base(a, b);
        if net.affects(a, b) {
            net.stream_arrival(a, b, t, l)
        } else {
            after(t, l)
        }
    }
}

/// Picks `n` of the `active` instances (in launch order) for a scale-in:
/// instances still booting first, newest first (cancelling a launch costs
/// nothing), then ready ones by `rule`.
fn choose_victims(
    instances: &[Instance],
    active: &[u32],
    n: usize,
    rule: Victim,
    zones: usize,
) -> Vec<u32> {
    let state = |m: u32| instances[m as usize].state;
    let mut victims: Vec<u32> = active
        .iter()
        .rev()
        .copied()
        .filter(|&m| state(m) == InstanceState::Booting)
        .take(n)
        .collect();
    let mut ready: Vec<u32> = active
        .iter()
        .copied()
        .filter(|&m| state(m) == InstanceState::Ready)
        .collect();
    while victims.len() < n && !ready.is_empty() {
        let pick = match rule {
            Victim::Newest => ready.len() - 1,
            Victim::Oldest => 0,
            Victim::ZoneBalanced => {
                let mut per_zone = vec![0usize; zones.max(1)];
                for &m in &ready {
                    per_zone[instances[m as usize].zone as usize] += 1;
                }
                let busiest = (0..per_zone.len())
                    .max_by_key(|&z| (per_zone[z], std::cmp::Reverse(z)))
                    .unwrap_or(0);
                ready
                    .iter()
                    .rposition(|&m| instances[m as usize].zone as usize == busiest)
                    .unwrap_or(ready.len() - 1)
            }
        };
        victims.push(ready.remove(pick));
    }
    victims
}

/// Eligible = passing health checks and not ejected.
fn update_eligibility(region: &mut RegionState, i: usize) {
    let inst = &region.instances[i];
    let eligible = inst.health.is_healthy() && !inst.ejected;
    region.balancer.set_eligible(i, eligible);
}

/// Service time of `demand` on `inst` starting `now`: demand / speed,
/// slower during warm-up (speed rises linearly from the initial fraction).
#[inline]
fn service_time(
    inst: &Instance,
    demand: SimDuration,
    now: SimTime,
    config: &FleetConfig,
    r: usize,
) -> SimDuration {
    let mut speed = inst.speed / inst.slowdown;
    let warm = config.regions[r].groups[inst.group as usize].warmup;
    if !warm.duration.is_zero() && inst.ready_at != SimTime::ZERO {
        let since = now.saturating_since(inst.ready_at);
        if since < warm.duration {
            let f = since.as_secs_f64() / warm.duration.as_secs_f64();
            speed *= warm.initial_speed + (1.0 - warm.initial_speed) * f;
        }
    }
    if speed == 1.0 {
        demand
    } else {
        SimDuration::from_secs_f64(demand.as_secs_f64() / speed)
    }
}

impl Model for FleetModel {
    type Event = Event;

    fn handle(&mut self, event: Event, sched: &mut Scheduler<Event>) {
        let now = sched.now();
        debug_assert!(now >= self.last_event, "time went backwards");
        self.last_event = now;
        match event {
            Event::Arrival { pop } => {
                let p = pop as usize;
                self.schedule_next_arrival(p, now, sched);
                self.create_request(p, now, sched);
            }
            Event::UserWake { pop } => self.create_request(pop as usize, now, sched),
            Event::AttemptArrive { attempt } => self.on_attempt_arrive(attempt, now, sched),
            Event::ServiceDone { attempt } => self.on_service_done(attempt, now, sched),
            Event::Response { attempt } => self.on_response(attempt, now, sched),
            Event::ClientTimer { pop } => self.on_client_timer(pop as usize, now, sched),
            Event::Retry {
                request,
                generation,
            } => self.on_retry(request, generation, now, sched),
            Event::HealthChecks { region } => self.on_health_checks(region as usize, now, sched),
            Event::DnsChecks => self.on_dns_checks(now, sched),
            Event::OutlierSweep { region } => {
                let r = region as usize;
                if let (Some(o), Some(cfg)) = (
                    self.regions[r].outlier.as_mut(),
                    self.config.regions[r].balancer.outlier,
                ) {
                    o.on_interval(now);
                    sched.schedule_at(after(now, cfg.interval), Event::OutlierSweep { region });
                }
            }
            Event::Uneject { region, instance } => {
                let (r, i) = (region as usize, instance as usize);
                let reg = &mut self.regions[r];
                // A timer left over from an earlier, shorter ejection does
                // nothing: the detector knows the current ejection's end.
                if let Some(o) = reg.outlier.as_mut() {
                    o.uneject(i, now);
                    reg.instances[i].ejected = o.is_ejected(i);
                }
                update_eligibility(reg, i);
            }
            Event::Booted { region, instance } => {
                self.on_booted(region as usize, instance as usize, now)
            }
            Event::SlowStartTick { region } => {
                self.regions[region as usize].slow_start_ticking = false;
                self.on_slow_start_tick(region as usize, now, sched);
            }
            Event::RegionDown { region } => {
                self.on_region_down(region as usize, now);
                self.region_data_fault(region as usize, true, now, sched);
            }
            Event::RegionUp { region } => {
                self.on_region_up(region as usize);
                self.region_data_fault(region as usize, false, now, sched);
            }
            Event::FaultStart { fault } => self.on_fault(fault as usize, true, now, sched),
            Event::FaultEnd { fault } => self.on_fault(fault as usize, false, now, sched),
            Event::DbArrive { attempt } => self.on_db_arrive(attempt, now, sched),
            Event::DbDone { attempt } => self.on_db_done(attempt, now, sched),
            Event::DbReply { attempt } => self.on_db_reply(attempt, now, sched),
            Event::DbPoolCheck {
                database,
                shard,
                node,
            } => {
                let n = &mut self.data.databases[database as usize].shards[shard as usize].nodes
                    [node as usize];
                n.in_read_pool = n.up();
            }
            Event::Failover {
                database,
                shard,
                step,
            } => self.on_failover(database as usize, shard as usize, step, now, sched),
            Event::SeriesTick => {
                self.close_bucket(now);
                sched.schedule_at(
                    after(now, self.config.run.series_interval),
                    Event::SeriesTick,
                );
            }
            Event::MinuteTick => {
                self.close_minute();
                sched.schedule_at(after(now, MINUTE), Event::MinuteTick);
            }
            Event::WarmupEnd => self.on_warmup_end(now),
            Event::MetricTick => {
                self.on_metric_tick(now, sched);
                sched.schedule_at(after(now, METRIC_TICK), Event::MetricTick);
            }
            Event::DrainDeadline { region, instance } => {
                self.on_drain_deadline(region as usize, instance as usize, now)
            }
        }
    }
}
