//! The station-network model: sources, c-worker FIFO stations, tandem links.
//!
//! Each source draws its inter-arrival times from its own random stream
//! (`source.interarrival`, indexed by source), and each station its service
//! times from its own (`station.service`, indexed by station). A station
//! hands out its service times in the order customers start service there
//! (for a FIFO station, their order of admission; a rejected customer takes
//! none), so two runs on one seed see the same arrivals, and the same demands
//! wherever the order of service is the same (common random numbers). The
//! fleet model will draw all of a request's demands when it is created. Each stream is a
//! [`DurationStream`], which computes its values a few at a time ahead of
//! use (for speed); the n-th value handed out is still the stream's n-th
//! draw, so this changes nothing above.
//!
//! Statistics exclude the warm-up: at the warm-up time every counter,
//! histogram and time-weighted average is reset (the truncation method), and
//! customer-based statistics count customers that finish after it.

use std::collections::VecDeque;

use sim_core::stats::{Counter, LatencyHistogram, TimeSeries, TimeWeighted};
use sim_core::{
    ArrivalProcess, DurationStream, Model, RngStreams, Scheduler, SimTime, Simulation, StreamKey,
    StreamRng, TraceHasher,
};

use crate::scenario::{Arrivals, NetworkConfig};

/// The events of a station network (plain data, 12 bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Event {
    /// The next customer of a source arrives.
    Arrival {
        /// Source index.
        source: u32,
    },
    /// A worker finishes serving its customer.
    Departure {
        /// Station index.
        station: u32,
        /// Worker index within the station.
        worker: u32,
    },
    /// The warm-up ends: statistics restart.
    WarmupEnd,
}

/// A customer in the network.
#[derive(Clone, Copy, Debug)]
struct Customer {
    /// When it entered the network.
    born: SimTime,
    /// When it arrived at the current station.
    arrived: SimTime,
    /// Which source it came from.
    source: u32,
}

/// Per-station statistics (after warm-up).
#[derive(Clone, Debug)]
pub struct StationStats {
    /// Customers that arrived.
    pub arrivals: Counter,
    /// Customers turned away by a full queue.
    pub rejected: Counter,
    /// Customers that finished service.
    pub completed: Counter,
    /// Customers that started service after waiting in the queue.
    pub waited: Counter,
    /// Waiting time in queue, recorded when service starts.
    pub wait: LatencyHistogram,
    /// Time in station (wait + service) of completed customers.
    pub sojourn: LatencyHistogram,
    /// Customers in the station (waiting or in service).
    pub in_system: TimeWeighted,
    /// Customers waiting.
    pub in_queue: TimeWeighted,
    /// Busy workers.
    pub busy: TimeWeighted,
}

/// Per-source statistics (after warm-up).
#[derive(Clone, Debug)]
pub struct SourceStats {
    /// Customers generated.
    pub generated: Counter,
    /// Customers rejected at any station.
    pub rejected: Counter,
    /// Customers that left the network after service.
    pub completed: Counter,
    /// End-to-end response time of completed customers.
    pub response: LatencyHistogram,
}

/// A source's arrival process bound to its random stream.
enum SourceArrivals {
    /// Gaps drawn ahead from a distribution.
    Renewal(DurationStream),
    /// A non-homogeneous Poisson process (thinning).
    Rate(Box<(ArrivalProcess, StreamRng)>),
}

impl SourceArrivals {
    /// The next arrival after `now`, or `None` if no more will come.
    #[inline]
    fn next_after(&mut self, now: SimTime) -> Option<SimTime> {
        match self {
            SourceArrivals::Renewal(gaps) => now.checked_add(gaps.draw()),
            SourceArrivals::Rate(process) => {
                let (process, rng) = &mut **process;
                process.next_arrival(now, rng)
            }
        }
    }
}

/// Marks the end of a station's idle-worker list.
const NO_WORKER: u32 = u32::MAX;

struct Station {
    queue_capacity: u32,
    next: Option<u32>,
    /// Service times, from the station's own stream, in the order customers
    /// start service.
    service: DurationStream,
    /// The idle workers form a stack (last freed, first reused), linked
    /// through `Worker::next_idle` from here; `NO_WORKER` when all are busy.
    idle_head: u32,
    queue: VecDeque<Customer>,
    stats: StationStats,
}

/// One worker's slot: the customer it serves (valid while busy) and its
/// link in its station's idle list (meaningful while idle). The customer's
/// fields are spelled out so that a slot takes 24 bytes, not 32.
#[derive(Clone, Copy, Debug)]
struct Worker {
    born: SimTime,
    arrived: SimTime,
    source: u32,
    next_idle: u32,
}

impl Worker {
    fn serving(&self) -> Customer {
        Customer {
            born: self.born,
            arrived: self.arrived,
            source: self.source,
        }
    }

    fn serve(&mut self, c: Customer) {
        (self.born, self.arrived, self.source) = (c.born, c.arrived, c.source);
    }
}

struct Source {
    target: u32,
    /// When customers arrive, drawn from the source's own stream.
    arrivals: SourceArrivals,
    stats: SourceStats,
}

/// The station-network model.
pub struct StationNetwork {
    stations: Vec<Station>,
    sources: Vec<Source>,
    /// Every worker of every station, station by station: station `i`'s
    /// worker `w` is `workers[first_worker[i] + w]`.
    ///
    /// This layout, with the idle workers as an intrusive list rather than a
    /// `Vec<u32>` stack per station, is for models with thousands of
    /// stations: a departure finds its worker's slot from the event alone (a
    /// small, cache-resident offset table), so that cache miss overlaps the
    /// station's instead of following it, and an arrival that takes a free
    /// worker touches one slot instead of a stack and a slot.
    workers: Vec<Worker>,
    first_worker: Vec<u32>,
    /// End-to-end response time of every completed customer.
    pub response: LatencyHistogram,
    /// End-to-end response time per series interval, if configured.
    pub response_series: Option<TimeSeries>,
    /// Customers that finished service and left the network since the start
    /// (warm-up included): drives the `customers` stopping rule.
    pub departed_total: u64,
    /// When statistics (re)started.
    pub stats_since: SimTime,
    /// Events delivered when statistics restarted (for the count above).
    events_at_warmup: u64,
    events_total: u64,
}

impl std::fmt::Debug for StationNetwork {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StationNetwork")
            .field("stations", &self.stations.len())
            .field("sources", &self.sources.len())
            .field("departed_total", &self.departed_total)
            .finish_non_exhaustive()
    }
}

fn new_histogram(enabled: bool) -> LatencyHistogram {
    if enabled {
        LatencyHistogram::new()
    } else {
        LatencyHistogram::moments_only()
    }
}

impl StationNetwork {
    /// Builds the network with every random stream derived from `seed`.
    pub fn new(config: &NetworkConfig, seed: u64) -> Self {
        let streams = RngStreams::new(seed);
        let per_component = config.component_histograms;
        let stations = config
            .stations
            .iter()
            .enumerate()
            .map(|(i, st)| {
                let queue_capacity = st.queue_capacity.unwrap_or(u32::MAX);
                Station {
                    queue_capacity,
                    next: st.next.map(|n| n as u32),
                    service: DurationStream::new(
                        st.service.clone(),
                        streams.stream(StreamKey::named("station.service").with_index(i as u64)),
                    ),
                    // Initially worker 0 is the first idle one, then 1, 2, ...
                    idle_head: if st.servers > 0 { 0 } else { NO_WORKER },
                    queue: VecDeque::new(),
                    stats: StationStats {
                        arrivals: Counter::default(),
                        rejected: Counter::default(),
                        completed: Counter::default(),
                        waited: Counter::default(),
                        wait: new_histogram(per_component),
                        sojourn: new_histogram(per_component),
                        in_system: TimeWeighted::new(SimTime::ZERO, 0),
                        in_queue: TimeWeighted::new(SimTime::ZERO, 0),
                        busy: TimeWeighted::new(SimTime::ZERO, 0),
                    },
                }
            })
            .collect();
        let sources = config
            .sources
            .iter()
            .enumerate()
            .map(|(i, src)| Source {
                target: src.target as u32,
                arrivals: {
                    let rng = streams
                        .stream(StreamKey::named("source.interarrival").with_index(i as u64));
                    match &src.arrivals {
                        Arrivals::Renewal(gap) => {
                            SourceArrivals::Renewal(DurationStream::new(gap.clone(), rng))
                        }
                        Arrivals::Rate(profile) => {
                            // Nothing after the horizon is needed (one second
                            // of margin past it).
                            let mut process = ArrivalProcess::new(profile.clone());
                            if let Some(h) = config.stop.horizon {
                                process = process.with_horizon(h.as_secs_f64() + 1.0);
                            }
                            SourceArrivals::Rate(Box::new((process, rng)))
                        }
                    }
                },
                stats: SourceStats {
                    generated: Counter::default(),
                    rejected: Counter::default(),
                    completed: Counter::default(),
                    response: new_histogram(per_component),
                },
            })
            .collect();
        let mut workers = Vec::new();
        let mut first_worker = Vec::with_capacity(config.stations.len());
        for st in &config.stations {
            first_worker.push(
                u32::try_from(workers.len()).expect("validated: at most 10^7 workers in all"),
            );
            workers.extend((0..st.servers).map(|w| Worker {
                born: SimTime::ZERO,
                arrived: SimTime::ZERO,
                source: 0,
                next_idle: if w + 1 < st.servers { w + 1 } else { NO_WORKER },
            }));
        }
        StationNetwork {
            workers,
            first_worker,
            stations,
            sources,
            response: LatencyHistogram::new(),
            response_series: config.series_interval.map(TimeSeries::new),
            departed_total: 0,
            stats_since: SimTime::ZERO,
            events_at_warmup: 0,
            events_total: 0,
        }
    }

    /// Schedules each source's first arrival and the end of the warm-up.
    pub fn start(&mut self, sched: &mut Scheduler<Event>, warmup: SimTime) {
        for (i, src) in self.sources.iter_mut().enumerate() {
            if let Some(first) = src.arrivals.next_after(sched.now()) {
                sched.schedule_at(first, Event::Arrival { source: i as u32 });
            }
        }
        if warmup > SimTime::ZERO {
            sched.schedule_at(warmup, Event::WarmupEnd);
        }
    }

    /// Statistics of station `i`.
    pub fn station_stats(&self, i: usize) -> &StationStats {
        &self.stations[i].stats
    }

    /// Statistics of source `i`.
    pub fn source_stats(&self, i: usize) -> &SourceStats {
        &self.sources[i].stats
    }

    /// Number of stations.
    pub fn n_stations(&self) -> usize {
        self.stations.len()
    }

    /// Number of sources.
    pub fn n_sources(&self) -> usize {
        self.sources.len()
    }

    /// Events delivered since the statistics (re)started.
    pub fn events_measured(&self) -> u64 {
        self.events_total - self.events_at_warmup
    }

    /// A customer arrives at station `idx` at `now`.
    #[inline]
    fn arrive(&mut self, idx: u32, mut customer: Customer, sched: &mut Scheduler<Event>) {
        let now = sched.now();
        customer.arrived = now;
        let st = &mut self.stations[idx as usize];
        st.stats.arrivals.incr();
        if st.idle_head != NO_WORKER {
            let worker = st.idle_head;
            let slot = &mut self.workers[(self.first_worker[idx as usize] + worker) as usize];
            st.idle_head = slot.next_idle;
            slot.serve(customer);
            st.stats.busy.increment(now);
            st.stats.in_system.increment(now);
            st.stats.wait.record(sim_core::SimDuration::ZERO);
            let service = st.service.draw();
            sched.schedule_after(
                service,
                Event::Departure {
                    station: idx,
                    worker,
                },
            );
        } else if (st.queue.len() as u64) < u64::from(st.queue_capacity) {
            st.queue.push_back(customer);
            st.stats.in_queue.increment(now);
            st.stats.in_system.increment(now);
        } else {
            st.stats.rejected.incr();
            self.sources[customer.source as usize].stats.rejected.incr();
        }
    }

    #[inline]
    fn depart(&mut self, idx: u32, worker: u32, sched: &mut Scheduler<Event>) {
        let now = sched.now();
        let slot = &mut self.workers[(self.first_worker[idx as usize] + worker) as usize];
        let st = &mut self.stations[idx as usize];
        let done = slot.serving();
        st.stats.completed.incr();
        st.stats.sojourn.record(now - done.arrived);
        st.stats.in_system.decrement(now);
        // Waits are recorded when service starts: here for the customer at
        // the head of the queue, in `arrive` (as zero) for one that found an
        // idle worker.
        if let Some(waiting) = st.queue.pop_front() {
            st.stats.in_queue.decrement(now);
            st.stats.waited.incr();
            st.stats.wait.record(now - waiting.arrived);
            let service = st.service.draw();
            slot.serve(waiting);
            sched.schedule_after(
                service,
                Event::Departure {
                    station: idx,
                    worker,
                },
            );
        } else {
            slot.next_idle = st.idle_head;
            st.idle_head = worker;
            st.stats.busy.decrement(now);
        }
        let next = st.next;
        match next {
            Some(next) => self.arrive(next, done, sched),
            None => {
                self.departed_total += 1;
                let response = now - done.born;
                self.response.record(response);
                if let Some(series) = &mut self.response_series {
                    series.record(now, response.as_secs_f64());
                }
                let src = &mut self.sources[done.source as usize].stats;
                src.completed.incr();
                src.response.record(response);
            }
        }
    }

    fn reset_stats(&mut self, now: SimTime) {
        self.stats_since = now;
        self.events_at_warmup = self.events_total;
        self.response.reset();
        for st in &mut self.stations {
            let s = &mut st.stats;
            s.arrivals.reset();
            s.rejected.reset();
            s.completed.reset();
            s.waited.reset();
            s.wait.reset();
            s.sojourn.reset();
            s.in_system.reset(now);
            s.in_queue.reset(now);
            s.busy.reset(now);
        }
        for src in &mut self.sources {
            let s = &mut src.stats;
            s.generated.reset();
            s.rejected.reset();
            s.completed.reset();
            s.response.reset();
        }
    }
}

impl Model for StationNetwork {
    type Event = Event;

    #[inline]
    fn handle(&mut self, event: Event, sched: &mut Scheduler<Event>) {
        self.events_total += 1;
        match event {
            Event::Arrival { source } => {
                let now = sched.now();
                let src = &mut self.sources[source as usize];
                src.stats.generated.incr();
                if let Some(next) = src.arrivals.next_after(now) {
                    sched.schedule_at(next, Event::Arrival { source });
                }
                let target = src.target;
                let customer = Customer {
                    born: now,
                    arrived: now,
                    source,
                };
                self.arrive(target, customer, sched);
            }
            Event::Departure { station, worker } => self.depart(station, worker, sched),
            Event::WarmupEnd => self.reset_stats(sched.now()),
        }
    }
}

/// How far a run has got, for progress displays.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Progress {
    /// Fraction of the run done, 0 to 1 (by simulated time against the
    /// horizon, or completions against the customer count, whichever is
    /// further along).
    pub fraction: f64,
    /// Simulated time reached, seconds.
    pub sim_time_s: f64,
    /// Events delivered so far.
    pub events: u64,
}

/// How many progress reports a run makes at most.
const PROGRESS_SLICES: u64 = 200;

/// Runs `config` with `seed` until its stopping rule holds. Returns the final
/// model state, the time the run ended and the number of events delivered.
pub fn simulate(config: &NetworkConfig, seed: u64) -> (StationNetwork, SimTime, u64) {
    simulate_observed(config, seed, &mut sim_core::NoObserver, &mut |_| {})
}

/// [`simulate`] that reports its progress about 200 times along the way.
/// The run is the same event for event: it is only paused at slice
/// boundaries, which no model state depends on.
pub fn simulate_with_progress(
    config: &NetworkConfig,
    seed: u64,
    on_progress: &mut dyn FnMut(Progress),
) -> (StationNetwork, SimTime, u64) {
    simulate_observed(config, seed, &mut sim_core::NoObserver, on_progress)
}

/// [`simulate`] that also returns a hash of the full event trace.
pub fn simulate_traced(
    config: &NetworkConfig,
    seed: u64,
) -> (StationNetwork, SimTime, u64, TraceHasher) {
    let mut hasher = TraceHasher::default();
    let (net, end, events) = simulate_observed(config, seed, &mut hasher, &mut |_| {});
    (net, end, events, hasher)
}

fn simulate_observed<O: sim_core::Observer<Event>>(
    config: &NetworkConfig,
    seed: u64,
    observer: &mut O,
    on_progress: &mut dyn FnMut(Progress),
) -> (StationNetwork, SimTime, u64) {
    let mut sim = Simulation::new(StationNetwork::new(config, seed));
    {
        let (net, sched) = sim.parts_mut();
        net.start(sched, config.warmup);
    }
    let horizon = config.stop.horizon.unwrap_or(SimTime::MAX);
    let customers = config.stop.customers.unwrap_or(u64::MAX);
    // Run in slices of simulated time (with a horizon) and of completions
    // (with a customer count), reporting progress between them.
    let time_step = config
        .stop
        .horizon
        .map(|h| (h.as_nanos() / PROGRESS_SLICES).max(1));
    let customer_step = config.stop.customers.map(|n| (n / PROGRESS_SLICES).max(1));
    loop {
        let until = match time_step {
            Some(step) => {
                SimTime::from_nanos(sim.now().as_nanos().saturating_add(step)).min(horizon)
            }
            None => SimTime::MAX,
        };
        let target = match customer_step {
            Some(step) => sim
                .model()
                .departed_total
                .saturating_add(step)
                .min(customers),
            None => u64::MAX,
        };
        let reason = sim.run(until, |net| net.departed_total >= target, observer);
        let net = sim.model();
        let by_time = config
            .stop
            .horizon
            .map_or(0.0, |h| sim.now().as_nanos() as f64 / h.as_nanos() as f64);
        let by_customers = config
            .stop
            .customers
            .map_or(0.0, |n| net.departed_total as f64 / n as f64);
        on_progress(Progress {
            fraction: by_time.max(by_customers).min(1.0),
            sim_time_s: sim.now().as_secs_f64(),
            events: sim.events_processed(),
        });
        let done = net.departed_total >= customers || sim.now() >= horizon;
        if done || reason == sim_core::StopReason::QueueEmpty {
            break;
        }
    }
    let end = sim.now();
    let events = sim.events_processed();
    (sim.into_model(), end, events)
}
