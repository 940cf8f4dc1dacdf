//! Checks fleetsim's station model against queueing theory.
//!
//! Each [`Case`] is a small network (one station, or a tandem) whose
//! steady-state means are known in closed form ([`analytic`]). The case is
//! simulated as independent replications run in parallel with rayon, every
//! replication's measured-window mean becomes one observation, and a Student-t
//! confidence interval over the replications ([`stats`]) is compared with the
//! analytic value. [`run_cases`] returns one [`MetricResult`] per comparison
//! and [`render_table`] prints them; `fleetsim validate` does both for
//! [`standard_cases`] and exits non-zero when any row fails.
//!
//! # Method
//!
//! - **Replications.** Replication `r` of a case runs `sim_models::run` on the
//!   case's network with the seed [`replication_seed`]`(master, case name, r)`
//!   (SplitMix64 mixing of the master seed, an FNV-1a hash of the case name
//!   and `r`). Seeds depend on the case's name rather than its position, so a
//!   case gives the same replications whether it runs in the full set, the
//!   quick subset or alone. Replications run on rayon's pool and are
//!   collected in replication order, so results do not depend on the number
//!   of threads.
//! - **Warm-up deletion: fixed truncation.** Each replication starts empty
//!   and runs to a fixed simulated horizon; at the warm-up instant every
//!   statistic is reset, so only the window `[warm-up, horizon]` is measured.
//!   The warm-up is [`WARMUP_RELAXATION_TIMES`] relaxation times of the
//!   slowest queue, `τ = (1 + SCV)/2 · 1/(cμ(1 − √ρ)²)` (the M/M/1 relaxation
//!   time, scaled by the service variability for M/G/1; summed over tandem
//!   stations), and at least [`MIN_WARMUP_SERVICE_TIMES`] mean service times
//!   (loss systems, which relax within a few service times).
//! - **Intervals.** Two-sided Student-t intervals with a Bonferroni
//!   adjustment: with `m` comparisons in the standard table, each interval
//!   has level `1 − 0.05/m`, so the whole table is a simultaneous 95%
//!   confidence statement: for a correct simulator, every analytic value lies
//!   inside its interval with probability at least 95% (up to the t
//!   approximation), whatever the master seed. A failure is evidence against
//!   the simulator (a false alarm at most 5% of the time): investigate it;
//!   never try other seeds until one passes.
//! - **Pass.** The analytic value lies inside the interval and, for every case
//!   except infinite-buffer queues at utilisation above 0.9, the half-width is
//!   below [`HALF_WIDTH_LIMIT`] (2%) of the analytic value.
//! - **Little's law** `L = λW` is checked on every station of every
//!   replication: the relative gap must stay below [`LITTLE_TOLERANCE`]. Each
//!   case gets a row named [`LITTLE_METRIC`] with the largest gap seen.
//!
//! # Running it
//!
//! `cargo test -p validation` runs [`quick_cases`] (a subset sized for the
//! default test run) with master seed 1; as in any subset run, its rows are
//! exactly those the full table shows for the same cases (see
//! [`run_cases`]). The full set is one command away:
//!
//! ```text
//! FLEETSIM_FULL_VALIDATION=1 cargo test -p validation --release -- --nocapture full_standard_set
//! fleetsim validate
//! ```
//!
//! Both run [`standard_cases`] and print the table.
//!
//! # Other tables
//!
//! - [`balancing`]: random, two-choices and least-outstanding routing over
//!   pools of N single-worker instances against the supermarket model
//!   ([`balancing_cases`], [`run_balancing`], [`render_balancing_table`]).
//! - [`fleet_cases`]: the single-station cases above run through the full
//!   fleet model as one-region fleets ([`fleet_station_cases`],
//!   [`run_fleet_cases`], [`render_fleet_table`]).
//!
//! Their quick subsets run in `cargo test -p validation`; the full tables
//! with `FLEETSIM_FULL_VALIDATION=1` (tests `full_balancing_table` and
//! `full_fleet_station_set`).

pub mod analytic;
pub mod balancing;
pub mod data_tier;
pub mod fleet_cases;
pub use sim_core::confidence as stats;

pub use balancing::{
    BalancingCase, BalancingResult, Policy, balancing_cases, render_balancing_table, run_balancing,
};
pub use data_tier::{DataCheck, render_data_table, run_data_checks};
pub use fleet_cases::{FleetCase, fleet_station_cases, render_fleet_table, run_fleet_cases};

use std::fmt::Write as _;
use std::time::Instant;

use rayon::prelude::*;
use sim_core::rng::{fnv1a, splitmix64};
use sim_core::{Distribution, SimDuration, SimTime};
use sim_models::scenario::{Arrivals, SourceConfig, StationConfig, StopRule};
use sim_models::{NetworkConfig, RunReport, Scenario};

/// The simultaneous confidence level of a whole table (before Bonferroni).
pub const FAMILY_CONFIDENCE: f64 = 0.95;
/// Largest CI half-width, as a fraction of the analytic value, for cases at
/// utilisation ≤ 0.9.
pub const HALF_WIDTH_LIMIT: f64 = 0.02;
/// Utilisation above which an infinite-buffer case is judged on coverage only.
pub const HALF_WIDTH_UTILISATION: f64 = 0.9;
/// Largest relative Little's-law gap |L − λW| / max(L, λW) accepted in any
/// station of any replication: 1%.
///
/// Over a measured window of length T the two sides differ only by edge
/// effects: λW includes the time before the window of customers present at
/// its start, L includes the time inside the window of customers still
/// present at its end. Each is about (customers present) × (their age), so
/// the gap is of order W/T times a heavy-traffic fluctuation factor. Every
/// station here is measured for at least 5,000 of its mean sojourn times per
/// replication, and the largest gaps seen over the standard set with several
/// master seeds are about 0.2%, so 1% leaves a factor of five. A real
/// accounting error (a statistic not reset at the warm-up, a lost customer, a
/// wrong time integral) gives gaps of order warm-up/horizon (1–8% for the
/// loss and tandem cases) or larger; the per-case row shows the largest gap
/// so a reader can see how far below the bound it is.
pub const LITTLE_TOLERANCE: f64 = 0.01;
/// The metric name of each case's Little's-law row.
pub const LITTLE_METRIC: &str = "Little L=λW max gap";
/// Warm-up length in relaxation times of the slowest queue.
pub const WARMUP_RELAXATION_TIMES: f64 = 20.0;
/// Shortest warm-up, in mean service times.
pub const MIN_WARMUP_SERVICE_TIMES: f64 = 100.0;

/// Which number of a [`RunReport`] a metric reads (station indices are
/// positions in the case's network).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Measure {
    /// Mean time in the station, W (`sojourn.mean_s`).
    Sojourn {
        /// Station index.
        station: usize,
    },
    /// Mean wait in queue, Wq (`wait.mean_s`).
    Wait {
        /// Station index.
        station: usize,
    },
    /// Fraction of customers that waited (`wait_probability`).
    WaitProbability {
        /// Station index.
        station: usize,
    },
    /// Time-average number waiting, Lq (`mean_in_queue`).
    MeanInQueue {
        /// Station index.
        station: usize,
    },
    /// Time-average number in the station, L (`mean_in_system`).
    MeanInSystem {
        /// Station index.
        station: usize,
    },
    /// Fraction of arrivals turned away (`blocking_probability`).
    Blocking {
        /// Station index.
        station: usize,
    },
    /// Mean end-to-end time through the network (`end_to_end.mean_s`).
    EndToEnd,
}

impl Measure {
    /// Reads this measure's value from one replication's report.
    pub fn read(&self, report: &RunReport) -> f64 {
        match *self {
            Measure::Sojourn { station } => report.stations[station].sojourn.mean_s,
            Measure::Wait { station } => report.stations[station].wait.mean_s,
            Measure::WaitProbability { station } => report.stations[station].wait_probability,
            Measure::MeanInQueue { station } => report.stations[station].mean_in_queue,
            Measure::MeanInSystem { station } => report.stations[station].mean_in_system,
            Measure::Blocking { station } => report.stations[station].blocking_probability,
            Measure::EndToEnd => report.end_to_end.mean_s,
        }
    }
}

/// One quantity of a case: what to read and the value theory predicts.
#[derive(Clone, Debug, PartialEq)]
pub struct Metric {
    /// Short name for the table, e.g. `"Wq"`.
    pub name: String,
    /// The analytic steady-state value.
    pub analytic: f64,
    /// Where the simulated value comes from.
    pub measure: Measure,
}

/// One validation case: a network, its analytic metrics and how to replicate
/// it.
#[derive(Clone, Debug)]
pub struct Case {
    /// Unique name, e.g. `"M/M/4 ρ=0.9"`; also feeds the replication seeds.
    pub name: String,
    /// The network, with `stop.horizon` and `warmup` set (no customer limit).
    pub config: NetworkConfig,
    /// The quantities compared with theory.
    pub metrics: Vec<Metric>,
    /// Independent replications (at least 2).
    pub replications: usize,
    /// Offered per-worker utilisation of the busiest station, λ E\[S\] / c.
    pub utilisation: f64,
    /// Largest accepted half-width as a fraction of the analytic value, or
    /// `None` when only coverage is judged (ρ > 0.9 with an unbounded queue).
    pub half_width_limit: Option<f64>,
}

impl Case {
    /// The warm-up deleted from each replication, in seconds.
    pub fn warmup_s(&self) -> f64 {
        self.config.warmup.as_secs_f64()
    }

    /// The simulated horizon of each replication (warm-up included), seconds.
    pub fn horizon_s(&self) -> f64 {
        self.config
            .stop
            .horizon
            .expect("validation cases stop at a horizon")
            .as_secs_f64()
    }

    /// The measured window of each replication, seconds.
    pub fn measured_s(&self) -> f64 {
        self.horizon_s() - self.warmup_s()
    }

    /// Roughly how many events all replications deliver together: each
    /// customer is one arrival event plus one departure per station it
    /// visits (blocking ignored), over the whole horizon.
    pub fn expected_events(&self) -> f64 {
        let customers: f64 = self
            .config
            .sources
            .iter()
            .map(|s| s.arrivals.expected_count(self.horizon_s()))
            .sum();
        let events_per_customer = 1.0 + self.config.stations.len() as f64;
        self.replications as f64 * customers * events_per_customer
    }
}

/// The outcome of one comparison (or of a case's Little's-law check).
#[derive(Clone, Debug, PartialEq)]
pub struct MetricResult {
    /// Case name.
    pub case: String,
    /// Metric name ([`LITTLE_METRIC`] for the Little's-law row).
    pub metric: String,
    /// Analytic value (0 for the Little's-law row: the gap the law predicts).
    pub analytic: f64,
    /// Mean over replications (largest gap for the Little's-law row).
    pub mean: f64,
    /// Half-width of the confidence interval (0 for the Little's-law row).
    pub half_width: f64,
    /// Confidence level of the interval (Bonferroni-adjusted; 1 for the
    /// Little's-law row, which is a deterministic bound, not an interval).
    pub confidence: f64,
    /// Replications behind the estimate.
    pub replications: usize,
    /// Offered utilisation of the case's busiest station.
    pub utilisation: f64,
    /// Whether the row passes.
    pub pass: bool,
    /// Why the row failed, or a remark (empty when there is nothing to say).
    pub note: String,
}

impl MetricResult {
    /// Whether this is a case's Little's-law row.
    pub fn is_little_row(&self) -> bool {
        self.metric == LITTLE_METRIC
    }
}

// ---------------------------------------------------------------------------
// The cases.

/// Rounds a duration in seconds up to whole seconds.
fn whole_secs(s: f64) -> SimDuration {
    SimDuration::from_secs(s.ceil() as u64)
}

/// A station of a case under construction.
struct StationDef {
    servers: u32,
    queue_capacity: Option<u32>,
    service: Distribution,
}

/// Builds a case: a Poisson source of rate `lambda` feeding `stations` in
/// series, measured for `measured_s` seconds after the warm-up given by the
/// module's rule.
fn build_case(
    name: &str,
    lambda: f64,
    stations: Vec<StationDef>,
    metrics: Vec<Metric>,
    replications: usize,
    measured_s: f64,
) -> Case {
    let mut utilisation: f64 = 0.0;
    let mut relaxation = 0.0;
    let mut max_service: f64 = 0.0;
    let mut unbounded = false;
    for st in &stations {
        let mean = st.service.mean();
        let rho = lambda * mean / f64::from(st.servers);
        utilisation = utilisation.max(rho);
        max_service = max_service.max(mean);
        if st.queue_capacity.is_none() {
            unbounded = true;
            relaxation += (1.0 + st.service.scv()) / 2.0
                * analytic::relaxation_time(st.servers, 1.0 / mean, rho);
        }
    }
    let warmup = whole_secs(
        (WARMUP_RELAXATION_TIMES * relaxation).max(MIN_WARMUP_SERVICE_TIMES * max_service),
    );
    let horizon = warmup + whole_secs(measured_s);
    let n = stations.len();
    let config = NetworkConfig {
        name: name.to_string(),
        sources: vec![SourceConfig {
            name: "arrivals".into(),
            target: 0,
            arrivals: Arrivals::Renewal(
                Distribution::exponential(1.0 / lambda).expect("case arrival rates are positive"),
            ),
        }],
        stations: stations
            .into_iter()
            .enumerate()
            .map(|(i, st)| StationConfig {
                name: format!("s{i}"),
                servers: st.servers,
                queue_capacity: st.queue_capacity,
                service: st.service,
                next: (i + 1 < n).then_some(i + 1),
            })
            .collect(),
        stop: StopRule {
            horizon: Some(SimTime::ZERO + horizon),
            customers: None,
        },
        warmup: SimTime::ZERO + warmup,
        default_seed: 1,
        series_interval: None,
        component_histograms: false,
    };
    let half_width_limit =
        (utilisation <= HALF_WIDTH_UTILISATION || !unbounded).then_some(HALF_WIDTH_LIMIT);
    Case {
        name: name.to_string(),
        config,
        metrics,
        replications,
        utilisation,
        half_width_limit,
    }
}

fn metric(name: &str, analytic: f64, measure: Measure) -> Metric {
    Metric {
        name: name.to_string(),
        analytic,
        measure,
    }
}

fn exp_service(mean: f64) -> Distribution {
    Distribution::exponential(mean).expect("case service means are positive")
}

/// M/M/1 at load `rho` (μ = 1): W and Lq.
fn mm1_case(rho: f64, replications: usize, measured_s: f64) -> Case {
    let m = analytic::mm1(rho, 1.0);
    build_case(
        &format!("M/M/1 ρ={rho}"),
        rho,
        vec![StationDef {
            servers: 1,
            queue_capacity: None,
            service: exp_service(1.0),
        }],
        vec![
            metric("W", m.w, Measure::Sojourn { station: 0 }),
            metric("Lq", m.lq, Measure::MeanInQueue { station: 0 }),
        ],
        replications,
        measured_s,
    )
}

/// M/M/c at load `rho` (μ = 1): P(wait) by Erlang C and Wq.
fn mmc_case(c: u32, rho: f64, replications: usize, measured_s: f64) -> Case {
    let lambda = rho * f64::from(c);
    let m = analytic::mmc(lambda, 1.0, c);
    build_case(
        &format!("M/M/{c} ρ={rho}"),
        lambda,
        vec![StationDef {
            servers: c,
            queue_capacity: None,
            service: exp_service(1.0),
        }],
        vec![
            metric("P(wait)", m.p_wait, Measure::WaitProbability { station: 0 }),
            metric("Wq", m.wq, Measure::Wait { station: 0 }),
        ],
        replications,
        measured_s,
    )
}

/// M/G/1 with the given service distribution (mean 1) at load `rho`: Wq and
/// W by Pollaczek–Khinchine.
fn mg1_case(
    name: &str,
    service: Distribution,
    rho: f64,
    replications: usize,
    measured_s: f64,
) -> Case {
    let lambda = rho / service.mean();
    let m = analytic::pollaczek_khinchine(lambda, service.mean(), service.second_moment());
    build_case(
        name,
        lambda,
        vec![StationDef {
            servers: 1,
            queue_capacity: None,
            service,
        }],
        vec![
            metric("Wq", m.wq, Measure::Wait { station: 0 }),
            metric("W", m.w, Measure::Sojourn { station: 0 }),
        ],
        replications,
        measured_s,
    )
}

/// M/M/c/K (μ = 1, `queue_capacity = K − c`) at offered per-worker load
/// `rho`: blocking, plus L unless K = c (Erlang B).
fn mmck_case(c: u32, k: u32, rho: f64, replications: usize, measured_s: f64) -> Case {
    let lambda = rho * f64::from(c);
    let m = analytic::mmck(lambda, 1.0, c, k);
    let (name, metrics) = if k == c {
        (
            format!("M/M/{c}/{c} a={lambda}"),
            vec![metric(
                "blocking (Erlang B)",
                analytic::erlang_b(c, lambda),
                Measure::Blocking { station: 0 },
            )],
        )
    } else {
        (
            format!("M/M/{c}/{k} ρ={rho}"),
            vec![
                metric("blocking", m.blocking, Measure::Blocking { station: 0 }),
                metric("L", m.l, Measure::MeanInSystem { station: 0 }),
            ],
        )
    };
    build_case(
        &name,
        lambda,
        vec![StationDef {
            servers: c,
            queue_capacity: Some(k - c),
            service: exp_service(1.0),
        }],
        metrics,
        replications,
        measured_s,
    )
}

/// The three-station Jackson tandem: λ = 0.6 through c = 1, 2, 1 workers at
/// utilisations 0.6, 0.75, 0.8; end-to-end W.
fn tandem_case(replications: usize, measured_s: f64) -> Case {
    let lambda = 0.6;
    let stations = [(1, 1.0), (2, 0.4), (1, 0.75)];
    let w = analytic::jackson_tandem_w(lambda, &stations);
    build_case(
        "Jackson tandem 1-2-1 ρ=0.6/0.75/0.8",
        lambda,
        stations
            .iter()
            .map(|&(c, mu)| StationDef {
                servers: c,
                queue_capacity: None,
                service: exp_service(1.0 / mu),
            })
            .collect(),
        vec![metric("end-to-end W", w, Measure::EndToEnd)],
        replications,
        measured_s,
    )
}

/// Every validation case (what `fleetsim validate` runs).
///
/// Sizes (replications × measured window) were chosen from pilot runs so the
/// expected half-width is about 1.1–1.3% of the value for the cases under the
/// 2% limit (the sample standard deviation of 40 replications of a heavy-
/// traffic queue varies by ±15% or more, hence the margin). The ρ = 0.95
/// case, judged on coverage only, has 20 replications of about 250
/// relaxation times each, so the replication means are close to normal.
pub fn standard_cases() -> Vec<Case> {
    vec![
        mm1_case(0.5, 40, 1.6e5),
        mm1_case(0.8, 40, 4.0e5),
        mm1_case(0.9, 40, 1.2e6),
        mmc_case(2, 0.7, 40, 1.6e5),
        mmc_case(2, 0.9, 40, 6.0e5),
        mmc_case(4, 0.7, 40, 1.1e5),
        mmc_case(4, 0.9, 40, 3.1e5),
        mmc_case(16, 0.7, 40, 9.0e4),
        mmc_case(16, 0.9, 40, 1.5e5),
        mmc_case(4, 0.95, 20, 1.0e5),
        mg1_case(
            "M/D/1 ρ=0.8",
            Distribution::constant(1.0).expect("valid"),
            0.8,
            40,
            2.0e5,
        ),
        mg1_case(
            "M/E4/1 ρ=0.8",
            Distribution::erlang(4, 1.0).expect("valid"),
            0.8,
            40,
            1.6e5,
        ),
        mg1_case(
            "M/H2/1 ρ=0.7 SCV=4",
            Distribution::hyperexponential(1.0, 4.0).expect("valid"),
            0.7,
            40,
            6.5e5,
        ),
        mmck_case(10, 10, 0.8, 40, 8.0e3),
        mmck_case(4, 4, 1.0, 40, 5.0e3),
        mmck_case(2, 5, 0.9, 40, 3.5e4),
        mmck_case(2, 5, 1.2, 40, 1.0e4),
        tandem_case(40, 1.2e5),
    ]
}

/// Names of the cases in [`quick_cases`].
const QUICK: &[&str] = &[
    "M/M/1 ρ=0.5",
    "M/M/2 ρ=0.7",
    "M/M/4 ρ=0.95",
    "M/D/1 ρ=0.8",
    "M/E4/1 ρ=0.8",
    "M/M/10/10 a=8",
    "M/M/4/4 a=4",
    "M/M/2/5 ρ=0.9",
    "M/M/2/5 ρ=1.2",
    "Jackson tandem 1-2-1 ρ=0.6/0.75/0.8",
];

/// A fast subset of [`standard_cases`] for the default test run (about
/// 1·10⁸ events, against 7·10⁸ for the full set; see
/// [`Case::expected_events`]). It leaves out the cases whose 2% half-widths
/// need the most simulated time: M/M/1 at ρ = 0.8 and 0.9, M/M/c at ρ = 0.9,
/// M/M/4 and M/M/16 at ρ = 0.7, and M/H2/1. The cases it keeps have the same
/// definitions and sizes as in the full set.
pub fn quick_cases() -> Vec<Case> {
    standard_cases()
        .into_iter()
        .filter(|c| QUICK.contains(&c.name.as_str()))
        .collect()
}

// ---------------------------------------------------------------------------
// Running.

/// The seed of replication `replication` of the case named `case`:
/// `splitmix64(splitmix64(splitmix64(master) ^ fnv1a(case)) ^ replication)`.
pub fn replication_seed(master_seed: u64, case: &str, replication: usize) -> u64 {
    splitmix64(splitmix64(splitmix64(master_seed) ^ fnv1a(case)) ^ replication as u64)
}

/// What one replication contributed.
struct Replication {
    /// One value per metric of the case.
    values: Vec<f64>,
    /// Largest Little's-law gap over the stations, and where.
    little_gap: f64,
    little_station: usize,
    events: u64,
}

fn run_replication(case: &Case, scenario: &Scenario, seed: u64) -> Replication {
    let report = sim_models::run(scenario, seed, "validation");
    let values = case
        .metrics
        .iter()
        .map(|m| m.measure.read(&report))
        .collect();
    let (little_station, little_gap) = report
        .stations
        .iter()
        .map(|s| s.littles_law.relative_gap)
        .enumerate()
        .fold(
            (0, 0.0),
            |best, (i, g)| if g > best.1 { (i, g) } else { best },
        );
    Replication {
        values,
        little_gap,
        little_station,
        events: report.events,
    }
}

fn percent(x: f64) -> String {
    format!("{:.2}%", 100.0 * x)
}

/// Judges one metric: the Student-t interval of the replication values `xs`
/// at level `confidence` must hold `analytic`, and its half-width must stay
/// below `half_width_limit` of it (when there is a limit).
pub(crate) fn judge_metric(
    case: &str,
    metric: &str,
    analytic: f64,
    xs: &[f64],
    confidence: f64,
    half_width_limit: Option<f64>,
    utilisation: f64,
) -> MetricResult {
    let ci = stats::student_t_interval(xs, confidence);
    let mut problems = Vec::new();
    if !ci.contains(analytic) {
        problems.push("analytic outside CI".to_string());
    }
    let relative = ci.half_width / analytic.abs();
    if let Some(limit) = half_width_limit
        && (relative.is_nan() || relative >= limit)
    {
        problems.push(format!(
            "half-width {} > {}",
            percent(relative),
            percent(limit).replace(".00", "")
        ));
    }
    let pass = problems.is_empty();
    let note = if !pass {
        problems.join("; ")
    } else if half_width_limit.is_none() {
        format!("ρ>{HALF_WIDTH_UTILISATION}: coverage only")
    } else {
        String::new()
    };
    MetricResult {
        case: case.to_string(),
        metric: metric.to_string(),
        analytic,
        mean: ci.mean,
        half_width: ci.half_width,
        confidence,
        replications: xs.len(),
        utilisation,
        pass,
        note,
    }
}

/// A case's Little's-law row from the largest relative gap `gap`, seen in
/// replication `replication` at `place` (e.g. `"station s0"`), out of
/// `replications`.
pub(crate) fn little_row(
    case: &str,
    gap: f64,
    replication: usize,
    place: &str,
    replications: usize,
    utilisation: f64,
) -> MetricResult {
    let pass = gap < LITTLE_TOLERANCE;
    let note = if pass {
        String::new()
    } else {
        format!(
            "Little's law gap {} in replication {replication} ({place}) > {}",
            percent(gap),
            percent(LITTLE_TOLERANCE)
        )
    };
    MetricResult {
        case: case.to_string(),
        metric: LITTLE_METRIC.to_string(),
        analytic: 0.0,
        mean: gap,
        half_width: 0.0,
        confidence: 1.0,
        replications,
        utilisation,
        pass,
        note,
    }
}

/// Judges one case's replications.
fn evaluate(case: &Case, reps: &[Replication], confidence: f64) -> Vec<MetricResult> {
    let mut out = Vec::with_capacity(case.metrics.len() + 1);
    for (k, m) in case.metrics.iter().enumerate() {
        let xs: Vec<f64> = reps.iter().map(|r| r.values[k]).collect();
        out.push(judge_metric(
            &case.name,
            &m.name,
            m.analytic,
            &xs,
            confidence,
            case.half_width_limit,
            case.utilisation,
        ));
    }
    // Little's law: every station of every replication.
    let (worst_rep, worst) = reps.iter().enumerate().fold((0, &reps[0]), |best, (i, r)| {
        if r.little_gap > best.1.little_gap {
            (i, r)
        } else {
            best
        }
    });
    let station = &case.config.stations[worst.little_station].name;
    out.push(little_row(
        &case.name,
        worst.little_gap,
        worst_rep,
        &format!("station {station}"),
        reps.len(),
        case.utilisation,
    ));
    out
}

/// The number of interval comparisons in [`standard_cases`]: the `m` of the
/// full table's Bonferroni adjustment.
pub fn standard_comparisons() -> usize {
    comparisons(&standard_cases())
}

fn comparisons(cases: &[Case]) -> usize {
    cases.iter().map(|c| c.metrics.len()).sum()
}

/// Runs every case's replications in parallel and judges each metric.
///
/// The Bonferroni family is the standard validation table: every interval
/// has level `1 − 0.05/m` with `m` the number of metric comparisons in
/// [`standard_cases`] ([`standard_comparisons`]), or in `cases` if that is
/// more (Little's-law rows excluded). Seeds depend only on the master seed,
/// the case name and the replication, so a run of a subset (the quick set,
/// one case) prints each row exactly as the full table does; judged as a
/// family of its own, a subset would get narrower intervals and could fail a
/// row the full table passes on the same replications. The wider intervals
/// keep the subset a simultaneous statement at 95% or more.
///
/// `progress` receives one line per finished case, in completion order.
/// Results come in case order, then metric order, each case followed by its
/// Little's-law row, and are identical for any number of threads.
pub fn run_cases(
    cases: &[Case],
    master_seed: u64,
    progress: &(dyn Fn(&str) + Sync),
) -> Vec<MetricResult> {
    let family = comparisons(cases).max(standard_comparisons());
    run_cases_in_family(cases, family, master_seed, progress)
}

/// [`run_cases`] with an explicit Bonferroni family size: every interval has
/// level `1 − 0.05/family_comparisons`. Pass the number of comparisons in
/// `cases` to judge them as a table of their own.
///
/// Panics if `family_comparisons` is smaller than the comparisons in `cases`.
pub fn run_cases_in_family(
    cases: &[Case],
    family_comparisons: usize,
    master_seed: u64,
    progress: &(dyn Fn(&str) + Sync),
) -> Vec<MetricResult> {
    for (i, case) in cases.iter().enumerate() {
        assert!(
            case.replications >= 2,
            "case `{}` needs at least two replications",
            case.name
        );
        assert!(
            !case.metrics.is_empty(),
            "case `{}` has no metrics",
            case.name
        );
        assert!(
            cases[..i].iter().all(|c| c.name != case.name),
            "case name `{}` is used twice (it seeds the replications)",
            case.name
        );
    }
    assert!(
        family_comparisons >= comparisons(cases),
        "a family of {family_comparisons} comparisons cannot hold the {} of these cases",
        comparisons(cases)
    );
    let confidence = stats::bonferroni_level(FAMILY_CONFIDENCE, family_comparisons);
    let per_case: Vec<Vec<MetricResult>> = cases
        .par_iter()
        .map(|case| {
            let started = Instant::now();
            let scenario = Scenario::from_config(case.config.clone(), &case.name);
            let reps: Vec<Replication> = (0..case.replications)
                .into_par_iter()
                .map(|r| {
                    run_replication(
                        case,
                        &scenario,
                        replication_seed(master_seed, &case.name, r),
                    )
                })
                .collect();
            let results = evaluate(case, &reps, confidence);
            let failed = results.iter().filter(|r| !r.pass).count();
            let events: u64 = reps.iter().map(|r| r.events).sum();
            progress(&format!(
                "{}: {} replications × {:.0} s, {:.2e} events, {:.1} s wall, {}",
                case.name,
                case.replications,
                case.horizon_s(),
                events as f64,
                started.elapsed().as_secs_f64(),
                if failed == 0 {
                    "pass".to_string()
                } else {
                    format!("{failed} FAILED")
                }
            ));
            results
        })
        .collect();
    per_case.into_iter().flatten().collect()
}

// ---------------------------------------------------------------------------
// The table.

/// `x` with six significant digits.
fn sig6(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let decimals = (5 - x.abs().log10().floor() as i32).clamp(0, 12) as usize;
    format!("{x:.decimals$}")
}

/// Lays out `rows` under `header` in aligned columns (numbers right-aligned
/// where `numeric` says so), with a rule under the header and after the
/// last row.
pub(crate) fn render_aligned<const K: usize>(
    header: &[&str; K],
    rows: &[[String; K]],
    numeric: &[bool; K],
) -> String {
    let mut widths = header.map(|h| h.chars().count());
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, cells: &[String]| {
        let mut text = String::new();
        for (i, cell) in cells.iter().enumerate() {
            let w = widths[i];
            if i > 0 {
                text.push_str("  ");
            }
            if numeric[i] {
                let _ = write!(text, "{cell:>w$}");
            } else {
                let _ = write!(text, "{cell:<w$}");
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(&mut out, &header.map(String::from));
    let total: usize = widths.iter().sum::<usize>() + 2 * (widths.len() - 1);
    out.push_str(&"-".repeat(total));
    out.push('\n');
    for row in rows {
        line(&mut out, row);
    }
    out.push_str(&"-".repeat(total));
    out.push('\n');
    out
}

/// Renders the results as an aligned text table followed by a footer that
/// states the method.
pub fn render_table(results: &[MetricResult]) -> String {
    let (mut out, family, level, subset) = render_metric_rows(results);
    let _ = writeln!(
        out,
        "Method: independent replications (seeded from the master seed, case name and replication index), \
         each run to a fixed horizon;\n\
         warm-up deleted by truncation: all statistics reset at the warm-up instant, warm-up = {WARMUP_RELAXATION_TIMES:.0} relaxation times\n\
         (1+SCV)/2 · 1/(cμ(1−√ρ)²) of the slowest queue (summed over tandem stations), at least {MIN_WARMUP_SERVICE_TIMES:.0} mean service times;\n\
         one observation per replication = its measured-window mean; two-sided Student-t intervals, Bonferroni-adjusted\n\
         for m = {family} comparisons{subset}: each at level 1 − {:.2}/m = {:.4}%,\n\
         so the table is a simultaneous {:.0}% confidence statement.",
        1.0 - FAMILY_CONFIDENCE,
        100.0 * level,
        100.0 * FAMILY_CONFIDENCE
    );
    let _ = writeln!(
        out,
        "Pass: analytic value inside the interval, and half-width < {} of it unless the case has an unbounded queue at ρ > {HALF_WIDTH_UTILISATION}\n\
         (coverage only); Little's law L = λW checked on every station of every replication, max relative gap < {}.",
        percent(HALF_WIDTH_LIMIT).replace(".00", ""),
        percent(LITTLE_TOLERANCE)
    );
    out
}

/// The rows of [`render_table`] and the line that counts them; also the
/// Bonferroni family size and level behind the intervals, and a remark
/// when the run shows only part of the family.
pub(crate) fn render_metric_rows(results: &[MetricResult]) -> (String, usize, f64, String) {
    let header = [
        "case",
        "metric",
        "analytic",
        "simulated ± half-width",
        "hw/value",
        "reps",
        "result",
    ];
    let mut rows: Vec<[String; 7]> = Vec::with_capacity(results.len());
    for r in results {
        let verdict = if r.pass { "pass" } else { "FAIL" };
        let result = if r.note.is_empty() {
            verdict.to_string()
        } else {
            format!("{verdict} ({})", r.note)
        };
        if r.is_little_row() {
            rows.push([
                r.case.clone(),
                r.metric.clone(),
                "0".into(),
                format!("{:.4}%", 100.0 * r.mean),
                format!("< {}", percent(LITTLE_TOLERANCE)),
                r.replications.to_string(),
                result,
            ]);
        } else {
            rows.push([
                r.case.clone(),
                r.metric.clone(),
                sig6(r.analytic),
                format!("{} ± {:.3e}", sig6(r.mean), r.half_width),
                percent(r.half_width / r.analytic.abs()),
                r.replications.to_string(),
                result,
            ]);
        }
    }
    let numeric = [false, false, true, true, true, true, false];
    let mut out = render_aligned(&header, &rows, &numeric);

    let shown = results.iter().filter(|r| !r.is_little_row()).count();
    let failed = results.iter().filter(|r| !r.pass).count();
    let level = results
        .iter()
        .find(|r| !r.is_little_row())
        .map_or(FAMILY_CONFIDENCE, |r| r.confidence);
    // The family size behind the level (more than `shown` for a subset run).
    let family = ((1.0 - FAMILY_CONFIDENCE) / (1.0 - level)).round() as usize;
    let _ = writeln!(
        out,
        "{} of {} rows pass ({shown} interval comparisons, {} Little's-law checks).",
        results.len() - failed,
        results.len(),
        results.len() - shown
    );
    let subset = if family > shown {
        format!(" (this run shows {shown} of them)")
    } else {
        String::new()
    };
    (out, family, level, subset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_differ_by_master_case_and_replication() {
        let base = replication_seed(1, "M/M/1 ρ=0.5", 0);
        assert_ne!(base, replication_seed(2, "M/M/1 ρ=0.5", 0));
        assert_ne!(base, replication_seed(1, "M/M/1 ρ=0.8", 0));
        assert_ne!(base, replication_seed(1, "M/M/1 ρ=0.5", 1));
        assert_eq!(base, replication_seed(1, "M/M/1 ρ=0.5", 0));
    }

    #[test]
    fn cases_are_well_formed() {
        let cases = standard_cases();
        for (i, c) in cases.iter().enumerate() {
            assert!(
                cases[..i].iter().all(|d| d.name != c.name),
                "duplicate {}",
                c.name
            );
            assert!(c.replications >= 10, "{}", c.name);
            assert!(
                c.warmup_s() > 0.0 && c.measured_s() > 10.0 * c.warmup_s(),
                "{}",
                c.name
            );
            assert!(c.config.stop.customers.is_none());
            for m in &c.metrics {
                assert!(
                    m.analytic.is_finite() && m.analytic > 0.0,
                    "{} {}",
                    c.name,
                    m.name
                );
            }
            if c.utilisation <= HALF_WIDTH_UTILISATION {
                assert_eq!(c.half_width_limit, Some(HALF_WIDTH_LIMIT), "{}", c.name);
            }
        }
        let quick = quick_cases();
        assert_eq!(quick.len(), QUICK.len(), "a QUICK name matches no case");
        // The budgets the docs promise (the default test run stays fast).
        let events = |cases: &[Case]| cases.iter().map(Case::expected_events).sum::<f64>();
        assert!(
            events(&quick) < 1.1e8,
            "quick set: {:.3e} events",
            events(&quick)
        );
        assert!(
            events(&cases) < 8.0e8,
            "full set: {:.3e} events",
            events(&cases)
        );
        assert!(quick.iter().all(|q| cases.iter().any(|c| c.name == q.name)));
    }

    #[test]
    fn table_renders_rows_and_method() {
        let row = |metric: &str, pass: bool| MetricResult {
            case: "M/M/1 ρ=0.5".into(),
            metric: metric.into(),
            analytic: 2.0,
            mean: 2.01,
            half_width: 0.02,
            confidence: 0.9975,
            replications: 20,
            utilisation: 0.5,
            pass,
            note: if pass {
                String::new()
            } else {
                "analytic outside CI".into()
            },
        };
        let little = MetricResult {
            analytic: 0.0,
            mean: 1e-5,
            half_width: 0.0,
            confidence: 1.0,
            ..row(LITTLE_METRIC, true)
        };
        let table = render_table(&[row("W", true), row("Lq", false), little]);
        assert!(table.contains("2.01000 ± 2.000e-2"), "{table}");
        assert!(table.contains("FAIL (analytic outside CI)"), "{table}");
        assert!(table.contains("2 of 3 rows pass"), "{table}");
        assert!(table.contains("99.7500%"), "{table}");
        assert!(table.contains("truncation"), "{table}");
        let lens: Vec<usize> = table.lines().take(3).map(|l| l.chars().count()).collect();
        assert!(lens[0] <= lens[1], "{table}");
    }
}
