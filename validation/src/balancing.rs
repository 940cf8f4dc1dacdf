//! Load balancing against the supermarket model.
//!
//! A pool of `N` single-worker instances (exponential demand of mean 1 s, so
//! μ = 1) behind one balancer receives Poisson traffic at `λN` per second
//! through the full fleet path (client → DNS → balancer → instance, zero
//! latency, unbounded queues, no timeouts: [`FleetConfig::textbook_pool`]).
//! The mean time in system of successful requests over the measured window
//! (`report.global.latency.mean_s`) is compared with Mitzenmacher's
//! supermarket-model limits ([`analytic::supermarket_time`]):
//!
//! | policy | fleet algorithm | limit as N → ∞ | at finite N |
//! |---|---|---|---|
//! | random | `Random` | `T₁ = 1/(1−λ)` | exact: random splitting of a Poisson stream gives N independent M/M/1 queues |
//! | two choices | `PowerOfChoices { choices: 2 }` | `T₂ = Σ_{i≥1} λ^(2ⁱ−2)` | below the limit (the limit is the mean-field fixed point) |
//! | least outstanding | `LeastOutstanding` (join the shortest queue) | 1 (no waiting) | above it: the gap is the mean wait |
//!
//! For every `N` and λ, the central-queue M/M/N, `W = 1 + C(N, λN)/(N(1−λ))`,
//! is a lower bound of the mean time in system of any dispatcher that sends a
//! job to a server when it arrives (the central queue never leaves a server
//! idle while a job waits), so it bounds all three policies from below.
//!
//! # Checks
//!
//! Each row carries a Student-t interval over independent replications;
//! the intervals of a table form one Bonferroni family at
//! [`FAMILY_CONFIDENCE`](crate::FAMILY_CONFIDENCE) (m = the number of rows of
//! the full table, [`balancing_comparisons`], also for a subset run, so a
//! row prints the same in the quick and the full table). A row passes when
//! every check that applies to it passes:
//!
//! - **exact** (random): `1/(1−λ)` lies inside the interval;
//! - **bound** (all): the interval reaches the M/M/N value or above it
//!   (`mean + half-width ≥ W_M/M/N`);
//! - **side** (two choices, least outstanding): finite `N` is on the side of
//!   the limit that theory says: two choices not significantly above `T₂`
//!   (`mean − half-width ≤ T₂`), least outstanding at least 1;
//! - **small at N = 100**: |gap| ≤ [`P2C_GAP_LIMIT`] (3%) for two choices;
//!   for least outstanding the gap *is* the mean wait, which at N = 100 is
//!   governed by the Halfin–Whitt parameter β = (1−λ)√N, not by λ alone
//!   (β = 0.5 at λ = 0.95): it must stay below
//!   [`JSQ_GAP_LIMIT`] (10%) at λ ≤ 0.9, and is reported, not judged, at
//!   λ = 0.95; random has no gap to judge (exact for every N);
//! - **shrinks** (two choices, least outstanding): |gap| does not grow from
//!   N = 10 to 100 to 1000 at the same λ: `|gap(N')| ≤ |gap(N)| + (hw(N) +
//!   hw(N'))/limit` for N < N' (the tolerance is the two half-widths, so a
//!   row fails only when the growth is larger than the noise);
//! - **order** (all): at the same N and λ, least outstanding < two choices
//!   < random in the point estimates.
//!
//! The gap is `(simulated − limit)/limit`, signed: negative for two choices
//! (finite N beats the mean field), positive for least outstanding.
//!
//! # Sizes
//!
//! Warm-up: every replication starts empty, statistics are reset at the
//! warm-up instant ([`FleetRunConfig::warmup`](sim_models::fleet::config::FleetRunConfig)).
//! For random routing each instance is an M/M/1 queue, whose relaxation time
//! `τ = 1/(1−√λ)²` (1,560 s at λ = 0.95) sets the warm-up:
//! [`RANDOM_WARMUP_RELAXATION_TIMES`] τ. The other two policies keep queues
//! short and relax much faster; they get [`BALANCED_WARMUP_S`] scaled by
//! `1/(1−λ)`. Run lengths come from pilot runs (see [`balancing_cases`]).
//!
//! # Entry points
//!
//! [`balancing_cases`] (`quick = false`: the full 36-row table, λ ∈ {0.5,
//! 0.7, 0.9, 0.95} × N ∈ {10, 100, 1000} × 3 policies; `quick = true`: N = 100
//! and λ ∈ {0.7, 0.9}, six rows with fewer and shorter replications),
//! [`run_balancing`] and [`render_balancing_table`].

use std::fmt::Write as _;
use std::time::Instant;

use rayon::prelude::*;
use sim_core::SimDuration;
use sim_models::fleet::config::{Algorithm, FleetConfig};
use sim_models::fleet::{FleetReportContext, build_fleet_report, simulate_fleet};

use crate::{FAMILY_CONFIDENCE, analytic, replication_seed, stats};

/// Per-server loads of the full table.
pub const BALANCING_LOADS: [f64; 4] = [0.5, 0.7, 0.9, 0.95];
/// Pool sizes of the full table.
pub const BALANCING_SIZES: [u32; 3] = [10, 100, 1000];
/// Per-server loads of the quick table (N = 100 only).
pub const QUICK_BALANCING_LOADS: [f64; 2] = [0.7, 0.9];
/// Largest |gap| of two choices at N = 100: 3%.
pub const P2C_GAP_LIMIT: f64 = 0.03;
/// Largest gap (mean wait) of least outstanding at N = 100 and λ ≤ 0.9: 10%.
pub const JSQ_GAP_LIMIT: f64 = 0.10;
/// Loads above which the least-outstanding gap at N = 100 is not judged.
pub const JSQ_GAP_LOAD: f64 = 0.9;
/// Warm-up of the random-routing rows, in M/M/1 relaxation times.
pub const RANDOM_WARMUP_RELAXATION_TIMES: f64 = 5.0;
/// Warm-up of the two-choices and least-outstanding rows, in seconds, times
/// `1/(1−λ)`.
pub const BALANCED_WARMUP_S: f64 = 50.0;

/// A routing policy of the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Policy {
    /// `Algorithm::Random`.
    Random,
    /// `Algorithm::PowerOfChoices { choices: 2 }`.
    TwoChoices,
    /// `Algorithm::LeastOutstanding` (join the shortest queue).
    LeastOutstanding,
}

impl Policy {
    /// The three policies, in table order.
    pub const ALL: [Policy; 3] = [Policy::Random, Policy::TwoChoices, Policy::LeastOutstanding];

    /// The fleet balancer algorithm.
    pub fn algorithm(self) -> Algorithm {
        match self {
            Policy::Random => Algorithm::Random,
            Policy::TwoChoices => Algorithm::PowerOfChoices { choices: 2 },
            Policy::LeastOutstanding => Algorithm::LeastOutstanding,
        }
    }

    /// Short name for tables and case names.
    pub fn name(self) -> &'static str {
        match self {
            Policy::Random => "random",
            Policy::TwoChoices => "two choices",
            Policy::LeastOutstanding => "least outstanding",
        }
    }

    /// The N → ∞ mean time in system at per-server load `lambda` (μ = 1).
    pub fn limit(self, lambda: f64) -> f64 {
        match self {
            Policy::Random => analytic::supermarket_time(1, lambda),
            Policy::TwoChoices => analytic::supermarket_time(2, lambda),
            Policy::LeastOutstanding => 1.0,
        }
    }

    /// The limit's formula, for the table.
    fn limit_name(self) -> &'static str {
        match self {
            Policy::Random => "1/(1−λ)",
            Policy::TwoChoices => "Σλ^(2ⁱ−2)",
            Policy::LeastOutstanding => "1",
        }
    }
}

/// One row of the table: a policy, a pool size and a load.
#[derive(Clone, Debug, PartialEq)]
pub struct BalancingCase {
    /// Unique name, e.g. `"two choices N=100 λ=0.9"`; seeds the replications.
    pub name: String,
    /// Routing policy.
    pub policy: Policy,
    /// Single-worker instances, N.
    pub instances: u32,
    /// Per-server load λ (arrivals λN per second, μ = 1).
    pub lambda: f64,
    /// Independent replications (at least 2).
    pub replications: usize,
    /// Warm-up deleted from each replication, seconds.
    pub warmup_s: f64,
    /// Measured window of each replication, seconds.
    pub measured_s: f64,
}

impl BalancingCase {
    /// Builds a case (the name is derived from the parameters).
    pub fn new(
        policy: Policy,
        instances: u32,
        lambda: f64,
        replications: usize,
        warmup_s: f64,
        measured_s: f64,
    ) -> BalancingCase {
        BalancingCase {
            name: format!("{} N={instances} λ={lambda}", policy.name()),
            policy,
            instances,
            lambda,
            replications,
            warmup_s: warmup_s.ceil(),
            measured_s: measured_s.ceil(),
        }
    }

    /// The supermarket-model limit of the mean time in system.
    pub fn limit(&self) -> f64 {
        self.policy.limit(self.lambda)
    }

    /// The M/M/N mean time in system: a lower bound for every dispatcher.
    pub fn central_queue_bound(&self) -> f64 {
        let n = self.instances;
        analytic::mmc(self.lambda * f64::from(n), 1.0, n).w
    }

    /// The fleet configuration of one replication.
    pub fn config(&self) -> FleetConfig {
        FleetConfig::textbook_pool(
            self.policy.algorithm(),
            self.instances,
            1,
            self.lambda * f64::from(self.instances),
            1.0,
            SimDuration::from_secs((self.warmup_s + self.measured_s) as u64),
            SimDuration::from_secs(self.warmup_s as u64),
        )
    }

    /// Requests all replications create together (warm-up included).
    pub fn expected_requests(&self) -> f64 {
        self.replications as f64
            * self.lambda
            * f64::from(self.instances)
            * (self.warmup_s + self.measured_s)
    }
}

/// The warm-up rule of the module docs, seconds.
fn warmup_s(policy: Policy, lambda: f64) -> f64 {
    match policy {
        Policy::Random => {
            RANDOM_WARMUP_RELAXATION_TIMES * analytic::relaxation_time(1, 1.0, lambda)
        }
        Policy::TwoChoices | Policy::LeastOutstanding => BALANCED_WARMUP_S / (1.0 - lambda),
    }
}

/// Replications and measured window per replication of a row of the full
/// table, chosen from pilot runs (see [`balancing_cases`]).
fn full_size(policy: Policy, instances: u32, lambda: f64) -> (usize, f64) {
    // Target N × (measured seconds) × replications per row.
    let server_seconds = match policy {
        Policy::Random => {
            // Relative variance per server-second of the M/M/1 sojourn mean
            // is about 2(1+λ)/(λ(1−λ)²); aim at 0.6% relative standard error.
            2.0 * (1.0 + lambda) / (lambda * (1.0 - lambda).powi(2)) / 0.006_f64.powi(2)
        }
        Policy::TwoChoices | Policy::LeastOutstanding => 2.0e6 / (1.0 - lambda),
    };
    let replications = 20;
    let measured = server_seconds / (replications as f64 * f64::from(instances));
    (replications, measured.max(200.0))
}

/// The rows of the table, in order: for each λ, for each N, the three
/// policies. `quick` gives the test-suite subset: N = 100, λ ∈ {0.7, 0.9},
/// 10 replications of a quarter of the full window.
pub fn balancing_cases(quick: bool) -> Vec<BalancingCase> {
    let mut cases = Vec::new();
    let (loads, sizes): (&[f64], &[u32]) = if quick {
        (&QUICK_BALANCING_LOADS, &[100])
    } else {
        (&BALANCING_LOADS, &BALANCING_SIZES)
    };
    for &lambda in loads {
        for &n in sizes {
            for policy in Policy::ALL {
                let (reps, measured) = full_size(policy, n, lambda);
                let (reps, measured) = if quick {
                    (10, measured / 4.0)
                } else {
                    (reps, measured)
                };
                cases.push(BalancingCase::new(
                    policy,
                    n,
                    lambda,
                    reps,
                    warmup_s(policy, lambda),
                    measured,
                ));
            }
        }
    }
    cases
}

/// The Bonferroni family size of the balancing table: the rows of the full
/// table.
pub fn balancing_comparisons() -> usize {
    BALANCING_LOADS.len() * BALANCING_SIZES.len() * Policy::ALL.len()
}

/// One judged row.
#[derive(Clone, Debug, PartialEq)]
pub struct BalancingResult {
    /// Case name.
    pub case: String,
    /// Policy.
    pub policy: Policy,
    /// N.
    pub instances: u32,
    /// λ.
    pub lambda: f64,
    /// The supermarket-model limit.
    pub limit: f64,
    /// The M/M/N mean time in system (a lower bound).
    pub central_queue_bound: f64,
    /// Mean over replications of the mean time in system.
    pub mean: f64,
    /// Half-width of its confidence interval.
    pub half_width: f64,
    /// Level of the interval (Bonferroni-adjusted).
    pub confidence: f64,
    /// Replications.
    pub replications: usize,
    /// Mean measured utilisation (should be λ).
    pub utilisation: f64,
    /// `(mean − limit)/limit`.
    pub gap: f64,
    /// `half_width/limit`: the gap's half-width.
    pub gap_half_width: f64,
    /// Whether every check that applies passes.
    pub pass: bool,
    /// Failed checks, or remarks.
    pub note: String,
}

/// What one replication gives.
struct Observation {
    mean_s: f64,
    utilisation: f64,
    events: u64,
}

fn run_one(config: &FleetConfig, seed: u64) -> Observation {
    let (model, end, events) = simulate_fleet(config, seed, &mut |_| {});
    let report = build_fleet_report(
        &model,
        end,
        events,
        seed,
        &FleetReportContext {
            scenario_hash: String::new(),
            reproduce: String::new(),
        },
    );
    assert!(
        report.conservation.holds,
        "request conservation fails: {:?}",
        report.conservation
    );
    Observation {
        mean_s: report.global.latency.mean_s,
        utilisation: report.regions[0].groups[0].utilization,
        events,
    }
}

/// Runs every case's replications in parallel (rayon; replication `r` of a
/// case gets [`replication_seed`]`(master_seed, name, r)`), builds the
/// intervals and applies the checks of the module docs. The cross-row
/// checks (shrinks, order) compare rows of the same run, so a subset run
/// applies those that its rows allow. `progress` gets one line per finished
/// case. Results come in case order and do not depend on the thread count.
pub fn run_balancing(
    cases: &[BalancingCase],
    master_seed: u64,
    progress: &(dyn Fn(&str) + Sync),
) -> Vec<BalancingResult> {
    for (i, case) in cases.iter().enumerate() {
        assert!(case.replications >= 2, "`{}` needs two replications", case.name);
        assert!(
            cases[..i].iter().all(|c| c.name != case.name),
            "case name `{}` is used twice (it seeds the replications)",
            case.name
        );
    }
    let family = balancing_comparisons().max(cases.len());
    let confidence = stats::bonferroni_level(FAMILY_CONFIDENCE, family);
    let mut results: Vec<BalancingResult> = cases
        .par_iter()
        .map(|case| {
            let started = Instant::now();
            let config = case.config();
            let obs: Vec<Observation> = (0..case.replications)
                .into_par_iter()
                .map(|r| run_one(&config, replication_seed(master_seed, &case.name, r)))
                .collect();
            let xs: Vec<f64> = obs.iter().map(|o| o.mean_s).collect();
            let ci = stats::student_t_interval(&xs, confidence);
            let limit = case.limit();
            let events: u64 = obs.iter().map(|o| o.events).sum();
            progress(&format!(
                "{}: {} replications × ({:.0} + {:.0}) s, {:.2e} events, {:.1} s wall",
                case.name,
                case.replications,
                case.warmup_s,
                case.measured_s,
                events as f64,
                started.elapsed().as_secs_f64()
            ));
            BalancingResult {
                case: case.name.clone(),
                policy: case.policy,
                instances: case.instances,
                lambda: case.lambda,
                limit,
                central_queue_bound: case.central_queue_bound(),
                mean: ci.mean,
                half_width: ci.half_width,
                confidence,
                replications: case.replications,
                utilisation: stats::mean(&obs.iter().map(|o| o.utilisation).collect::<Vec<_>>()),
                gap: (ci.mean - limit) / limit,
                gap_half_width: ci.half_width / limit,
                pass: true,
                note: String::new(),
            }
        })
        .collect();
    judge(&mut results);
    results
}

/// Applies the checks of the module docs to a run's rows.
fn judge(results: &mut [BalancingResult]) {
    let mut problems: Vec<Vec<String>> = vec![Vec::new(); results.len()];
    for (i, r) in results.iter().enumerate() {
        let p = &mut problems[i];
        if r.policy == Policy::Random && (r.mean - r.limit).abs() > r.half_width {
            p.push("exact 1/(1−λ) outside CI".into());
        }
        if r.mean + r.half_width < r.central_queue_bound {
            p.push("below the M/M/N bound".into());
        }
        match r.policy {
            Policy::TwoChoices if r.mean - r.half_width > r.limit => {
                p.push("significantly above T₂".into());
            }
            Policy::LeastOutstanding if r.mean + r.half_width < r.limit => {
                p.push("below 1".into());
            }
            _ => {}
        }
        if r.instances == 100 {
            match r.policy {
                Policy::TwoChoices if r.gap.abs() > P2C_GAP_LIMIT => {
                    p.push(format!("|gap| > {}", pct(P2C_GAP_LIMIT)));
                }
                Policy::LeastOutstanding if r.lambda <= JSQ_GAP_LOAD && r.gap > JSQ_GAP_LIMIT => {
                    p.push(format!("gap > {}", pct(JSQ_GAP_LIMIT)));
                }
                _ => {}
            }
        }
        // Shrinks: against every smaller N of the same policy and load.
        if r.policy != Policy::Random {
            for s in results.iter() {
                if s.policy == r.policy && s.lambda == r.lambda && s.instances < r.instances {
                    let tolerance = r.gap_half_width + s.gap_half_width;
                    if r.gap.abs() > s.gap.abs() + tolerance {
                        p.push(format!("|gap| grew from N={}", s.instances));
                    }
                }
            }
        }
        // Order: least outstanding < two choices < random.
        for s in results.iter() {
            if s.instances == r.instances && s.lambda == r.lambda && rank(s.policy) < rank(r.policy) && s.mean <= r.mean {
                p.push(format!("not below {}", s.policy.name()));
            }
        }
    }
    for (r, p) in results.iter_mut().zip(problems) {
        r.pass = p.is_empty();
        r.note = if !p.is_empty() {
            p.join("; ")
        } else if r.policy == Policy::LeastOutstanding && r.instances == 100 && r.lambda > JSQ_GAP_LOAD {
            format!("gap not judged at λ>{JSQ_GAP_LOAD}")
        } else {
            String::new()
        };
    }
}

/// Larger is better: least outstanding must beat two choices must beat
/// random.
fn rank(p: Policy) -> u8 {
    match p {
        Policy::Random => 0,
        Policy::TwoChoices => 1,
        Policy::LeastOutstanding => 2,
    }
}

fn pct(x: f64) -> String {
    let s = format!("{:.2}%", 100.0 * x);
    s.replace(".00%", "%")
}

/// `x` with six significant digits.
fn sig(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let decimals = (5 - x.abs().log10().floor() as i32).clamp(0, 12) as usize;
    format!("{x:.decimals$}")
}

/// Renders the results as an aligned table (one row per case) with the
/// method in a footer.
pub fn render_balancing_table(results: &[BalancingResult]) -> String {
    let header = [
        "policy",
        "N",
        "λ",
        "limit",
        "simulated ± half-width",
        "gap ± hw",
        "M/M/N bound",
        "reps",
        "result",
    ];
    let rows: Vec<[String; 9]> = results
        .iter()
        .map(|r| {
            let verdict = if r.pass { "pass" } else { "FAIL" };
            [
                r.policy.name().to_string(),
                r.instances.to_string(),
                r.lambda.to_string(),
                format!("{} = {}", r.policy.limit_name(), sig(r.limit)),
                format!("{} ± {:.2e}", sig(r.mean), r.half_width),
                format!("{:+.2}% ± {:.2}%", 100.0 * r.gap, 100.0 * r.gap_half_width),
                sig(r.central_queue_bound),
                r.replications.to_string(),
                if r.note.is_empty() {
                    verdict.to_string()
                } else {
                    format!("{verdict} ({})", r.note)
                },
            ]
        })
        .collect();
    let numeric = [false, true, true, true, true, true, true, true, false];
    let mut out = crate::render_aligned(&header, &rows, &numeric);
    let failed = results.iter().filter(|r| !r.pass).count();
    let level = results.first().map_or(FAMILY_CONFIDENCE, |r| r.confidence);
    let family = ((1.0 - FAMILY_CONFIDENCE) / (1.0 - level)).round() as usize;
    let _ = writeln!(
        out,
        "{} of {} rows pass. Mean time in system of N single-worker instances (μ = 1) at arrival rate λN, \
         against the supermarket-model limits\n\
         (random 1/(1−λ), exact for every N; two choices Σ_i λ^(2ⁱ−2); least outstanding 1); \
         gap = (simulated − limit)/limit.\n\
         Intervals: Student-t over independent replications, Bonferroni for m = {family} rows: \
         each at level {:.4}%.\n\
         Checks: random's interval holds 1/(1−λ); every interval reaches the M/M/N value (no dispatcher beats a \
         central queue);\n\
         two choices not significantly above its limit; |gap| ≤ {} for two choices and ≤ {} for least outstanding \
         (λ ≤ {JSQ_GAP_LOAD}) at N = 100;\n\
         |gap| not growing with N beyond the two half-widths; least outstanding < two choices < random at each N, λ.",
        results.len() - failed,
        results.len(),
        100.0 * level,
        pct(P2C_GAP_LIMIT),
        pct(JSQ_GAP_LIMIT),
    );
    out
}
