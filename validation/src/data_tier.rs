//! The data tier against what must hold exactly or in expectation.
//!
//! - **Async RPO = w·L.** Writes arrive as a Poisson stream of rate `w` and
//!   each reaches the replica exactly `L` after its commit (a constant
//!   shipping delay, no other latency). When the primary dies at `T`, the
//!   writes committed in `(T − L, T]` never reached the replica, so a
//!   failover loses `w·L` acknowledged writes in expectation. Each
//!   replication fails the primary three times; the replications' mean
//!   must have `3·w·L` inside its 95% Student-t interval, and every loss
//!   window must be at most `L`.
//! - **Sync and semi-sync lose nothing.** A write is acknowledged only once
//!   a replica has it and failover promotes the replica that received most,
//!   so every replication must lose exactly zero acknowledged writes.
//! - **Replica offload (90/10).** With reads on `k` replicas, the primary
//!   serves only the writes: by Little's law its mean busy workers are
//!   `λ_w · E[S_w]` (plus `λ_r · E[S_r]` when it also serves the reads), so
//!   its utilisation must match within the interval. The table also shows
//!   what the replicas buy in latency — a measurement, not a check.
//!
//! `fleetsim validate --data` prints the table; `cargo test -p validation`
//! runs the quick set.

use std::fmt::Write;

use rayon::prelude::*;
use sim_models::{FleetReport, Format, load_fleet_scenario, run_fleet};

use crate::balancing::sig;
use crate::stats::student_t_interval;
use crate::{FAMILY_CONFIDENCE, replication_seed};

/// Writes per second in the RPO cases.
pub const RPO_WRITE_RATE: f64 = 500.0;
/// Shipping delay in the RPO cases, seconds.
pub const RPO_DELAY_S: f64 = 0.1;
/// Primary failures per replication in the RPO cases.
pub const RPO_FAILURES: usize = 3;

/// One row of the data-tier table.
#[derive(Clone, Debug, PartialEq)]
pub struct DataCheck {
    /// What is checked.
    pub name: String,
    /// The value theory gives.
    pub expected: String,
    /// What the replications measured (mean ± half-width, or a range).
    pub measured: String,
    /// Extra figures (latency, lag) — measured, not judged.
    pub note: String,
    /// Replications run.
    pub replications: usize,
    /// Whether the check holds.
    pub pass: bool,
}

/// The application tier of both case families: one region, one zone, a
/// least-outstanding balancer and a group of 64-worker instances (the
/// scenario adds `instances`).
const APP_REGION: &str = r#"[[instance_types]]
name = "app"
workers = 64
hourly_price = 0.1
[[regions]]
name = "r"
zones = ["a"]
[regions.balancer]
algorithm = "least_outstanding"
[[regions.groups]]
name = "api"
instance_type = "app"
"#;

/// A one-region fleet whose requests are all writes to a database with one
/// replica: `replication` mode, constant shipping delay, and
/// [`RPO_FAILURES`] primary failures, each followed by a failover (the old
/// primary rejoins as the replica before the next one).
fn rpo_scenario(replication: &str) -> String {
    format!(
        r#"
name = "rpo-{replication}"
intra_region_latency = "0s"
[run]
duration = "2min"
series_interval = "10s"
{APP_REGION}instances = 4
[[populations]]
name = "writers"
region = "r"
rate = {{ profile = "constant", per_second = {RPO_WRITE_RATE} }}
client = {{ timeout = "30s" }}
[[populations.classes]]
name = "write"
kind = "write"
demand = {{ type = "constant", value = "1ms" }}
database = "db"
[[databases]]
name = "db"
primary = "r"
replicas = 1
write_time = {{ type = "constant", value = "1ms" }}
replication = "{replication}"
replication_delay = {{ type = "constant", value = "{RPO_DELAY_S}s" }}
apply_time = {{ type = "constant", value = "0.01ms" }}
failover = {{ check_interval = "5s", failures = 3, promotion = "5s", repoint = "1s" }}
[[faults]]
kind = "database_primary"
database = "db"
at = "20s"
duration = "25s"
[[faults]]
kind = "database_primary"
database = "db"
at = "55s"
duration = "25s"
[[faults]]
kind = "database_primary"
database = "db"
at = "90s"
duration = "25s"
"#
    )
}

/// A one-region 90/10 read/write fleet with `replicas` read replicas and
/// reads on them (or on the primary when `replicas` is 0).
fn offload_scenario(replicas: usize) -> String {
    let reads = if replicas == 0 { "primary" } else { "replicas" };
    format!(
        r#"
name = "offload-{replicas}"
[run]
duration = "3min"
warmup = "30s"
series_interval = "10s"
{APP_REGION}instances = 8
[[populations]]
name = "users"
region = "r"
rate = {{ profile = "constant", per_second = 4000 }}
client = {{ timeout = "30s" }}
[[populations.classes]]
name = "read"
share = 0.9
kind = "read"
demand = {{ type = "exponential", mean = "1ms" }}
database = "db"
[[populations.classes]]
name = "write"
share = 0.1
kind = "write"
demand = {{ type = "exponential", mean = "1ms" }}
database = "db"
[[databases]]
name = "db"
primary = "r"
replicas = {replicas}
workers = 16
read_time = {{ type = "exponential", mean = "3ms" }}
write_time = {{ type = "exponential", mean = "6ms" }}
reads = "{reads}"
"#
    )
}

fn run(text: &str, seed: u64) -> FleetReport {
    let scenario = load_fleet_scenario(text, Format::Toml, &[], &|_| Err("no files".into()))
        .unwrap_or_else(|e| panic!("a built-in data-tier case is invalid: {e}"));
    run_fleet(&scenario, seed, "fleetsim validate --data", &mut |_| {})
}

fn runs(case: &str, text: &str, master: u64, n: usize) -> Vec<FleetReport> {
    (0..n)
        .into_par_iter()
        .map(|r| run(text, replication_seed(master, case, r)))
        .collect()
}

/// Runs every data-tier check (`quick`: fewer replications) with seeds
/// derived from `master`.
pub fn run_data_checks(
    quick: bool,
    master: u64,
    progress: &(dyn Fn(&str) + Sync),
) -> Vec<DataCheck> {
    let n = if quick { 8 } else { 30 };
    let mut out = Vec::new();

    progress("data tier: async RPO");
    let reports = runs("data-rpo-async", &rpo_scenario("async"), master, n);
    let lost: Vec<f64> = reports
        .iter()
        .map(|r| r.incidents.iter().map(|i| i.lost_writes).sum::<u64>() as f64)
        .collect();
    let window: Vec<f64> = reports
        .iter()
        .map(|r| r.incidents.iter().map(|i| i.rpo_s).fold(0.0, f64::max))
        .collect();
    let ci = student_t_interval(&lost, FAMILY_CONFIDENCE);
    let expected = RPO_FAILURES as f64 * RPO_WRITE_RATE * RPO_DELAY_S;
    out.push(DataCheck {
        name: format!("async: writes lost in {RPO_FAILURES} primary failures"),
        expected: format!(
            "{RPO_FAILURES}·w·L = {RPO_FAILURES} × {RPO_WRITE_RATE} × {RPO_DELAY_S}s = {}",
            sig(expected)
        ),
        measured: format!("{} ± {}", sig(ci.mean), sig(ci.half_width)),
        note: format!(
            "loss window {}–{} s (L = {} s)",
            sig(window.iter().copied().fold(f64::INFINITY, f64::min)),
            sig(window.iter().copied().fold(0.0, f64::max)),
            RPO_DELAY_S
        ),
        replications: n,
        pass: ci.contains(expected)
            && reports
                .iter()
                .all(|r| r.conservation.holds && r.incidents.len() == RPO_FAILURES)
            && window.iter().all(|&w| w > 0.0 && w <= RPO_DELAY_S + 1e-9),
    });

    for mode in ["semi_sync", "sync"] {
        progress(&format!("data tier: {mode} RPO"));
        let reports = runs(&format!("data-rpo-{mode}"), &rpo_scenario(mode), master, n);
        let lost: Vec<u64> = reports
            .iter()
            .map(|r| r.incidents.iter().map(|i| i.lost_writes).sum())
            .collect();
        let p50: Vec<f64> = reports
            .iter()
            .filter_map(|r| r.global.latency.p50_s)
            .collect();
        out.push(DataCheck {
            name: format!("{mode}: writes lost in {RPO_FAILURES} primary failures"),
            expected: "0 in every replication".into(),
            measured: format!(
                "{} to {}",
                lost.iter().min().unwrap_or(&0),
                lost.iter().max().unwrap_or(&0)
            ),
            note: format!(
                "write p50 {} ms (async: {} ms)",
                sig(1e3 * crate::stats::mean(&p50)),
                sig(1e3
                    * crate::stats::mean(
                        &runs("data-rpo-async", &rpo_scenario("async"), master, 1)
                            .iter()
                            .filter_map(|r| r.global.latency.p50_s)
                            .collect::<Vec<_>>()
                    ))
            ),
            replications: n,
            pass: lost.iter().all(|&l| l == 0) && reports.iter().all(|r| r.conservation.holds),
        });
    }

    let offload_reps = if quick { 3 } else { 10 };
    let (read_rate, write_rate) = (0.9 * 4000.0, 0.1 * 4000.0);
    for k in [0usize, 1, 2, 3] {
        progress(&format!("data tier: 90/10 with {k} replicas"));
        let reports = runs(
            &format!("data-offload-{k}"),
            &offload_scenario(k),
            master,
            offload_reps,
        );
        let util: Vec<f64> = reports
            .iter()
            .map(|r| primary_node(r).map_or(0.0, |n| n.utilization))
            .collect();
        let busy = write_rate * 0.006 + if k == 0 { read_rate * 0.003 } else { 0.0 };
        let expected = busy / 16.0;
        let ci = student_t_interval(&util, FAMILY_CONFIDENCE);
        let lat = |f: fn(&FleetReport) -> Option<f64>| {
            let xs: Vec<f64> = reports.iter().filter_map(f).collect();
            1e3 * crate::stats::mean(&xs)
        };
        out.push(DataCheck {
            name: format!(
                "90/10, reads on {}: primary utilisation",
                if k == 0 {
                    "the primary".to_string()
                } else {
                    format!("{k} replica{}", if k == 1 { "" } else { "s" })
                }
            ),
            expected: format!("{} (Little: {} busy of 16)", sig(expected), sig(busy)),
            measured: format!("{} ± {}", sig(ci.mean), sig(ci.half_width)),
            note: format!(
                "p50 {} ms, p99 {} ms",
                sig(lat(|r| r.global.latency.p50_s)),
                sig(lat(|r| r.global.latency.p99_s))
            ),
            replications: offload_reps,
            pass: ci.contains(expected) || (ci.mean - expected).abs() <= 0.01 * expected,
        });
    }
    out
}

fn primary_node(r: &FleetReport) -> Option<&sim_models::fleet::data::report::NodeReport> {
    let db = r.data.as_ref()?.databases.first()?;
    let shard = db.shards.first()?;
    shard.nodes.iter().find(|n| n.role == "primary")
}

/// The data-tier table.
pub fn render_data_table(rows: &[DataCheck]) -> String {
    let header = [
        "check",
        "expected",
        "measured",
        "reps",
        "result",
        "also measured",
    ];
    let cells: Vec<[String; 6]> = rows
        .iter()
        .map(|r| {
            [
                r.name.clone(),
                r.expected.clone(),
                r.measured.clone(),
                r.replications.to_string(),
                if r.pass { "pass" } else { "FAIL" }.to_string(),
                r.note.clone(),
            ]
        })
        .collect();
    let mut out = crate::render_aligned(&header, &cells, &[false, false, true, true, false, false]);
    let failed = rows.iter().filter(|r| !r.pass).count();
    let _ = writeln!(
        out,
        "{} of {} rows pass. Intervals are 95% Student-t over the replications; \
         the sync rows must lose nothing in every replication.",
        rows.len() - failed,
        rows.len()
    );
    out
}
