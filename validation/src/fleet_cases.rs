//! The station cases through the full fleet path.
//!
//! Every single-station case of [`standard_cases`]
//! (M/M/1, M/M/c, M/D/1, M/E4/1, M/H2/1, M/M/c/c and M/M/c/K; the tandem
//! has no one-region equivalent) becomes a fleet: one region, one balancer,
//! one instance with the station's `c` workers, its waiting room as the
//! instance's `queue_capacity` (`K − c`), its service distribution as the
//! class demand, fed by one open-loop Poisson population at the station's
//! rate through client → DNS → balancer → instance with zero latency and no
//! timeouts ([`FleetConfig::textbook_pool`]). The fleet report is compared
//! with the same closed forms ([`analytic`]):
//!
//! | metric | fleet report | analytic |
//! |---|---|---|
//! | W | `global.latency.mean_s` (successful requests) | M/M/c, P-K, or M/M/c/K (accepted customers) |
//! | utilisation | `regions[0].groups[0].utilization` | ρ, or λ(1−B)/(cμ) with blocking |
//! | Lq | `regions[0].groups[0].mean_queue_length` | `Lq` (left out when K = c: always 0) |
//! | blocking | `global.outcomes.rejected / global.requests` | `p_K` (finite waiting rooms only) |
//!
//! Each case also gets a Little's-law row: in every replication, `L = λW`
//! with `L = Lq + c · utilisation` (time averages of the instance) and
//! `λW = throughput × mean latency` (per-request measurements), relative
//! gap below [`LITTLE_TOLERANCE`]: the two sides
//! come from different accounting in the fleet model (time-weighted group
//! statistics against request outcomes).
//!
//! # Method
//!
//! As in the station table (see the crate docs): replication `r` of a case
//! gets [`replication_seed`]`(master, name, r)` with the case name prefixed
//! by `fleet ` (so the fleet and station replications of one case have
//! different seeds), the same warm-up rule and replication count as the
//! station twin, and Bonferroni-adjusted Student-t intervals for a family of
//! all interval comparisons of the full fleet table
//! ([`fleet_comparisons`]), also in a subset run. The fleet model costs about
//! 0.7 µs of CPU per request against about 0.25 µs per customer for the
//! station model, so each replication measures [`FLEET_WINDOW_FRACTION`] of
//! the station twin's window, and the half-width limit is
//! [`FLEET_HALF_WIDTH_LIMIT`] (3%) instead of 2% (the station sizes give
//! about 1.1–1.3%; half the window gave up to 2.3%, for Lq). Cases with an
//! unbounded queue at ρ > 0.9 are judged on coverage only, as in the station
//! table. Each replication runs with a single time-series bucket (see
//! [`BalancingCase::config`](crate::BalancingCase::config)).
//!
//! # Entry points
//!
//! [`fleet_station_cases`] (`quick = false`: all 17 cases, about 1.7·10⁸
//! requests, two minutes of CPU; `quick = true`: five of them, unchanged,
//! for the default test run, about 5·10⁶ requests, three seconds of CPU), [`run_fleet_cases`] and
//! [`render_fleet_table`].

use std::fmt::Write as _;
use std::time::Instant;

use rayon::prelude::*;
use sim_core::{Distribution, SimDuration};
use sim_models::fleet::FleetReport;
use sim_models::fleet::config::{Algorithm, FleetConfig};
use sim_models::scenario::Arrivals;

use crate::{
    Case, FAMILY_CONFIDENCE, HALF_WIDTH_UTILISATION, LITTLE_TOLERANCE, MetricResult, analytic,
    judge_metric, little_row, percent, render_metric_rows, replication_seed, standard_cases,
};

/// Largest CI half-width, as a fraction of the analytic value (cases with an
/// unbounded queue at ρ > 0.9 excepted).
pub const FLEET_HALF_WIDTH_LIMIT: f64 = 0.03;
/// Measured window of a fleet case as a fraction of its station twin's.
pub const FLEET_WINDOW_FRACTION: f64 = 0.5;

/// Which number of a [`FleetReport`] a metric reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FleetMeasure {
    /// Mean time in system of successful requests (`global.latency.mean_s`).
    TimeInSystem,
    /// Mean share of workers busy (`regions[0].groups[0].utilization`).
    Utilisation,
    /// Time-average requests waiting (`regions[0].groups[0].mean_queue_length`).
    MeanQueueLength,
    /// Share of requests rejected by the full queue
    /// (`global.outcomes.rejected / global.requests`).
    Blocking,
}

impl FleetMeasure {
    /// Reads this measure from one replication's report.
    pub fn read(&self, report: &FleetReport) -> f64 {
        let group = &report.regions[0].groups[0];
        match self {
            FleetMeasure::TimeInSystem => report.global.latency.mean_s,
            FleetMeasure::Utilisation => group.utilization,
            FleetMeasure::MeanQueueLength => group.mean_queue_length,
            FleetMeasure::Blocking => {
                report.global.outcomes.rejected as f64 / report.global.requests.max(1) as f64
            }
        }
    }
}

/// One quantity of a fleet case.
#[derive(Clone, Debug, PartialEq)]
pub struct FleetMetric {
    /// Short name, e.g. `"W"`.
    pub name: String,
    /// The analytic steady-state value.
    pub analytic: f64,
    /// Where the simulated value comes from.
    pub measure: FleetMeasure,
}

/// A station case as a one-region fleet.
#[derive(Clone, Debug)]
pub struct FleetCase {
    /// Unique name (`"fleet "` + the station twin's name); seeds the
    /// replications.
    pub name: String,
    /// The station case it mirrors.
    pub station: String,
    /// The fleet, with its run length and warm-up set.
    pub config: FleetConfig,
    /// Workers of the single instance, c.
    pub workers: u32,
    /// The quantities compared with theory.
    pub metrics: Vec<FleetMetric>,
    /// Independent replications.
    pub replications: usize,
    /// Offered per-worker utilisation λ E\[S\] / c.
    pub utilisation: f64,
    /// Largest accepted half-width as a fraction of the analytic value, or
    /// `None` when only coverage is judged.
    pub half_width_limit: Option<f64>,
}

impl FleetCase {
    /// Warm-up of each replication, seconds.
    pub fn warmup_s(&self) -> f64 {
        self.config.run.warmup.as_secs_f64()
    }

    /// Measured window of each replication, seconds.
    pub fn measured_s(&self) -> f64 {
        self.config.run.duration.as_secs_f64() - self.config.run.warmup.as_secs_f64()
    }

    /// Requests all replications create together (warm-up included).
    pub fn expected_requests(&self) -> f64 {
        let rate = match &self.config.populations[0].load {
            sim_models::fleet::config::LoadConfig::Open(profile) => {
                profile.expected_count(0.0, 1.0)
            }
            sim_models::fleet::config::LoadConfig::Closed { .. } => 0.0,
        };
        self.replications as f64 * rate * self.config.run.duration.as_secs_f64()
    }
}

fn metric(name: &str, analytic: f64, measure: FleetMeasure) -> FleetMetric {
    FleetMetric {
        name: name.to_string(),
        analytic,
        measure,
    }
}

/// The fleet twin of a single-station case, or `None` for a network of
/// several stations.
pub fn fleet_case_from_station(station: &Case) -> Option<FleetCase> {
    let [st] = station.config.stations.as_slice() else {
        return None;
    };
    let [source] = station.config.sources.as_slice() else {
        return None;
    };
    let Arrivals::Renewal(gap @ Distribution::Exponential { .. }) = &source.arrivals else {
        return None;
    };
    let lambda = 1.0 / gap.mean();
    let c = st.servers;
    let mean = st.service.mean();
    let mu = 1.0 / mean;
    let exponential = matches!(st.service, Distribution::Exponential { .. });
    let metrics = match st.queue_capacity {
        Some(room) => {
            assert!(exponential, "M/G/c/K has no closed form here");
            let m = analytic::mmck(lambda, mu, c, c + room);
            let mut v = vec![
                metric("W", m.w, FleetMeasure::TimeInSystem),
                metric(
                    "utilisation",
                    m.throughput * mean / f64::from(c),
                    FleetMeasure::Utilisation,
                ),
            ];
            if room > 0 {
                v.push(metric("Lq", m.lq, FleetMeasure::MeanQueueLength));
            }
            v.push(metric("blocking", m.blocking, FleetMeasure::Blocking));
            v
        }
        None => {
            let m = if exponential {
                analytic::mmc(lambda, mu, c)
            } else {
                assert_eq!(c, 1, "M/G/c has no closed form here");
                analytic::pollaczek_khinchine(lambda, mean, st.service.second_moment())
            };
            vec![
                metric("W", m.w, FleetMeasure::TimeInSystem),
                metric("utilisation", m.rho, FleetMeasure::Utilisation),
                metric("Lq", m.lq, FleetMeasure::MeanQueueLength),
            ]
        }
    };
    let warmup = station.config.warmup - sim_core::SimTime::ZERO;
    let measured =
        SimDuration::from_secs((station.measured_s() * FLEET_WINDOW_FRACTION).ceil() as u64);
    let mut config = FleetConfig::textbook_pool(
        Algorithm::RoundRobin,
        1,
        c,
        lambda,
        mean,
        warmup + measured,
        warmup,
    );
    config.name = format!("fleet {}", station.name);
    // One series bucket: validation reads no time series, and closing a
    // bucket (quantiles of its histograms) costs more than the requests of
    // a low-rate case in between.
    config.run.series_interval = config.run.duration;
    config.instance_types[0].queue_capacity = st.queue_capacity;
    config.populations[0].classes[0].demand = st.service.clone();
    Some(FleetCase {
        name: format!("fleet {}", station.name),
        station: station.name.clone(),
        config,
        workers: c,
        metrics,
        replications: station.replications,
        utilisation: station.utilisation,
        half_width_limit: station.half_width_limit.map(|_| FLEET_HALF_WIDTH_LIMIT),
    })
}

/// Station twins of the cases in the quick fleet set.
const QUICK_FLEET: &[&str] = &[
    "M/M/1 ρ=0.5",
    "M/M/4/4 a=4",
    "M/M/10/10 a=8",
    "M/M/2/5 ρ=0.9",
    "M/M/2/5 ρ=1.2",
];

/// The fleet twins of the single-station standard cases, in the station
/// table's order. `quick` keeps five cheap ones with the same definitions
/// and sizes (M/M/1 ρ = 0.5, both Erlang loss systems and both M/M/2/5,
/// about 5·10⁶ requests), which cover one and several workers, unbounded
/// and finite queues, and blocking.
pub fn fleet_station_cases(quick: bool) -> Vec<FleetCase> {
    standard_cases()
        .iter()
        .filter(|c| !quick || QUICK_FLEET.contains(&c.name.as_str()))
        .filter_map(fleet_case_from_station)
        .collect()
}

/// The interval comparisons of the full fleet table: its Bonferroni `m`.
pub fn fleet_comparisons() -> usize {
    fleet_station_cases(false)
        .iter()
        .map(|c| c.metrics.len())
        .sum()
}

/// One replication: the metric values, the Little's-law gap, the events.
struct FleetReplication {
    values: Vec<f64>,
    little_gap: f64,
    events: u64,
}

/// Runs one replication of a fleet configuration through the model and
/// returns its report, after checking request conservation (a model bug if
/// it fails). Shared by the fleet-station and balancing tables.
pub(crate) fn run_fleet_once(config: &FleetConfig, seed: u64, label: &str) -> FleetReport {
    let report = sim_models::fleet::run_config(config, seed);
    assert!(
        report.conservation.holds,
        "{label}: request conservation fails: {:?}",
        report.conservation
    );
    report
}

/// Panics (a programming error in a case list) unless every case has at
/// least two replications and a unique name, which seeds its replications.
pub(crate) fn check_case_list<'a>(cases: impl Iterator<Item = (&'a str, usize)>) {
    let mut seen = std::collections::BTreeSet::new();
    for (name, replications) in cases {
        assert!(replications >= 2, "`{name}` needs two replications");
        assert!(
            seen.insert(name),
            "case name `{name}` is used twice (it seeds the replications)"
        );
    }
}

fn run_fleet_replication(case: &FleetCase, seed: u64) -> FleetReplication {
    let report = run_fleet_once(&case.config, seed, &case.name);
    let events = report.events;
    let o = report.global.outcomes;
    assert_eq!(
        o.ok + o.rejected,
        report.global.requests,
        "{}: outcomes other than ok and rejected: {o:?}",
        case.name
    );
    let values = case
        .metrics
        .iter()
        .map(|m| m.measure.read(&report))
        .collect();
    let group = &report.regions[0].groups[0];
    let l = group.mean_queue_length + f64::from(case.workers) * group.utilization;
    let lambda_w = report.global.throughput_per_s * report.global.latency.mean_s;
    let little_gap = (l - lambda_w).abs() / l.max(lambda_w);
    FleetReplication {
        values,
        little_gap,
        events,
    }
}

/// Runs every case's replications in parallel and judges each metric, as
/// [`run_cases`](crate::run_cases) does for the station table: intervals at
/// level `1 − 0.05/m` with `m` = [`fleet_comparisons`] (or the comparisons
/// in `cases` if more), so a subset run prints the full table's rows. Each
/// case's metrics are followed by its Little's-law row; results are in case
/// order and do not depend on the thread count. `progress` gets one line
/// per finished case.
pub fn run_fleet_cases(
    cases: &[FleetCase],
    master_seed: u64,
    progress: &(dyn Fn(&str) + Sync),
) -> Vec<MetricResult> {
    check_case_list(cases.iter().map(|c| (c.name.as_str(), c.replications)));
    let here: usize = cases.iter().map(|c| c.metrics.len()).sum();
    let confidence =
        crate::stats::bonferroni_level(FAMILY_CONFIDENCE, fleet_comparisons().max(here));
    let per_case: Vec<Vec<MetricResult>> = cases
        .par_iter()
        .map(|case| {
            let started = Instant::now();
            let reps: Vec<FleetReplication> = (0..case.replications)
                .into_par_iter()
                .map(|r| run_fleet_replication(case, replication_seed(master_seed, &case.name, r)))
                .collect();
            let mut out: Vec<MetricResult> = case
                .metrics
                .iter()
                .enumerate()
                .map(|(k, m)| {
                    let xs: Vec<f64> = reps.iter().map(|r| r.values[k]).collect();
                    judge_metric(
                        &case.name,
                        &m.name,
                        m.analytic,
                        &xs,
                        confidence,
                        case.half_width_limit,
                        case.utilisation,
                    )
                })
                .collect();
            let (worst, gap) = reps
                .iter()
                .map(|r| r.little_gap)
                .enumerate()
                .fold((0, 0.0), |b, (i, g)| if g > b.1 { (i, g) } else { b });
            out.push(little_row(
                &case.name,
                gap,
                worst,
                "instance 0",
                reps.len(),
                case.utilisation,
            ));
            let failed = out.iter().filter(|r| !r.pass).count();
            let events: u64 = reps.iter().map(|r| r.events).sum();
            progress(&format!(
                "{}: {} replications × {:.0} s, {:.2e} events, {:.1} s wall, {}",
                case.name,
                case.replications,
                case.config.run.duration.as_secs_f64(),
                events as f64,
                started.elapsed().as_secs_f64(),
                if failed == 0 {
                    "pass".to_string()
                } else {
                    format!("{failed} FAILED")
                }
            ));
            out
        })
        .collect();
    per_case.into_iter().flatten().collect()
}

/// Renders fleet results as the station table does, with the fleet method
/// in the footer.
pub fn render_fleet_table(results: &[MetricResult]) -> String {
    let (mut out, family, level, subset) = render_metric_rows(results);
    let _ = writeln!(
        out,
        "Method: each station case as a one-region fleet (one instance with the station's workers and waiting room, \
         demand = service time,\n\
         Poisson clients → DNS → balancer → instance, zero latency, no timeouts); independent replications seeded from \
         the master seed,\n\
         case name and replication index; warm-up and replications as the station twin, {} of its measured window;\n\
         two-sided Student-t intervals, Bonferroni-adjusted for m = {family} comparisons{subset}: each at level {:.4}%, \
         a simultaneous {:.0}% statement.",
        percent(FLEET_WINDOW_FRACTION).replace(".00", ""),
        100.0 * level,
        100.0 * FAMILY_CONFIDENCE
    );
    let _ = writeln!(
        out,
        "Pass: analytic value inside the interval, and half-width < {} of it unless the queue is unbounded at ρ > \
         {HALF_WIDTH_UTILISATION} (coverage only);\n\
         Little's law L = λW (L = Lq + c·utilisation, λW = throughput × mean latency) in every replication, max \
         relative gap < {}.",
        percent(FLEET_HALF_WIDTH_LIMIT).replace(".00", ""),
        percent(LITTLE_TOLERANCE)
    );
    out
}
