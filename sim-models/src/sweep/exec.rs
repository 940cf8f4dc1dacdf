//! Running a sweep: each (point, seed) is one independent run of the
//! scenario with the point's values set, on a rayon pool. Runs share
//! nothing, so the results do not depend on the number of threads or on the
//! order runs finish in; each finished run is handed to the caller at once
//! (to journal it), and a cancel flag stops new runs from starting.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rayon::prelude::*;

use super::design::Point;
use super::metrics::run_metrics;
use super::results::{RunRecord, Shard};
use crate::{FleetReport, FleetScenario, Format, Override, PolicyFile, ScenarioError};

/// Reads a file the scenario names (trace CSVs), from any thread.
pub type ReadFile<'a> = dyn Fn(&str) -> Result<String, String> + Sync + 'a;

/// The scenario every point starts from: its text plus what applies to
/// every point (`--policy`, `--set`).
pub struct BaseScenario<'a> {
    /// The scenario file's text.
    pub text: &'a str,
    /// Its format.
    pub format: Format,
    /// The policy file applied to every point, if any.
    pub policy: Option<&'a PolicyFile>,
    /// The `--set` overrides applied to every point, before its own values.
    pub set: &'a [Override],
    /// Reads files the scenario names.
    pub read_file: &'a ReadFile<'a>,
}

impl std::fmt::Debug for BaseScenario<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BaseScenario")
            .field("format", &self.format)
            .field("set", &self.set)
            .finish_non_exhaustive()
    }
}

impl BaseScenario<'_> {
    /// The base scenario itself (no point values), to check it and hash it
    /// before any run.
    pub fn load(&self) -> Result<FleetScenario, ScenarioError> {
        self.load_with(&[])
    }

    /// The scenario with `extra` overrides after the base ones.
    fn load_with(&self, extra: &[Override]) -> Result<FleetScenario, ScenarioError> {
        let mut overrides = self.set.to_vec();
        overrides.extend_from_slice(extra);
        crate::load_fleet_scenario_with_policy(
            self.text,
            self.format,
            self.policy,
            &overrides,
            self.read_file,
        )
    }
}

/// One run to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Unit {
    /// Index of the point.
    pub point: usize,
    /// Seed of the run.
    pub seed: u64,
}

/// The runs of `points` × seeds `first_seed..first_seed + seeds` that belong
/// to `shard` and are not in `done`, in (point, seed) order.
pub fn pending_units(
    points: usize,
    first_seed: u64,
    seeds: u64,
    shard: Option<Shard>,
    done: &std::collections::BTreeSet<(usize, u64)>,
) -> Vec<Unit> {
    (0..points)
        .filter(|p| shard.is_none_or(|s| s.holds(*p)))
        .flat_map(|point| {
            (0..seeds).map(move |k| Unit {
                point,
                seed: first_seed.wrapping_add(k),
            })
        })
        .filter(|u| !done.contains(&(u.point, u.seed)))
        .collect()
}

/// Wall-clock time one run spent in each phase: what a sweep adds to the
/// simulation itself (building the point's scenario, assembling the report
/// and its metrics). For progress output only; never in results.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct UnitTiming {
    /// Parsing and checking the scenario with the point's values.
    pub build: Duration,
    /// The simulation.
    pub simulate: Duration,
    /// Assembling the report and taking the metrics from it.
    pub report: Duration,
}

impl std::ops::AddAssign for UnitTiming {
    fn add_assign(&mut self, other: UnitTiming) {
        self.build += other.build;
        self.simulate += other.simulate;
        self.report += other.report;
    }
}

/// Runs `run` and checks its report: a panic or a failed conservation check
/// (both fleetsim bugs) becomes an error for that run alone, so a sweep or a
/// comparison keeps its other runs.
pub fn checked_run(run: impl FnOnce() -> FleetReport) -> Result<FleetReport, String> {
    let report = catch_unwind(AssertUnwindSafe(run)).map_err(|panic| {
        let msg = (panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        format!("the run panicked (a fleetsim bug): {msg}")
    })?;
    let c = &report.conservation;
    if !c.holds {
        return Err(format!(
            "request conservation failed ({} created, {} ended, {} in flight; a fleetsim bug)",
            c.created, c.ended, c.in_flight
        ));
    }
    Ok(report)
}

/// Runs one point on one seed. A value the scenario rejects, a panic or a
/// failed conservation check becomes the run's `error`, so one bad point
/// never stops a sweep.
pub fn run_unit(base: &BaseScenario<'_>, point: &Point, seed: u64) -> (RunRecord, UnitTiming) {
    let params = point.values.iter().cloned().collect();
    let mut timing = UnitTiming::default();
    let started = Instant::now();
    let outcome = base
        .load_with(&point.overrides())
        .map_err(|e| format!("invalid scenario at this point: {e}"))
        .and_then(|scenario| {
            timing.build = started.elapsed();
            let mut report_started = Instant::now();
            let report = checked_run(|| {
                let started = Instant::now();
                let (model, end, events) =
                    crate::fleet::simulate_fleet(&scenario.config, seed, &mut |_| {});
                timing.simulate = started.elapsed();
                report_started = Instant::now();
                crate::fleet::into_fleet_report(
                    model,
                    end,
                    events,
                    seed,
                    &crate::fleet::FleetReportContext {
                        scenario_hash: scenario.hash.clone(),
                        reproduce: "fleetsim sweep".into(),
                    },
                )
            })?;
            let metrics = run_metrics(&report);
            timing.report = report_started.elapsed();
            Ok(metrics)
        });
    let (metrics, error) = match outcome {
        Ok(m) => (Some(m), None),
        Err(e) => (None, Some(e)),
    };
    let record = RunRecord {
        point: point.index,
        seed,
        params,
        metrics,
        error,
    };
    (record, timing)
}

/// Runs `units` on `jobs` threads, handing each finished run to `on_done`
/// (called from worker threads, one run at a time per thread). Runs not yet
/// started when `cancel` is set are skipped. Returns how many ran.
pub fn run_units(
    base: &BaseScenario<'_>,
    points: &[Point],
    units: &[Unit],
    jobs: usize,
    cancel: &AtomicBool,
    on_done: &(dyn Fn(RunRecord, UnitTiming) + Sync),
) -> Result<usize, String> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.max(1))
        .build()
        .map_err(|e| format!("cannot start {jobs} worker threads: {e}"))?;
    let ran = std::sync::atomic::AtomicUsize::new(0);
    pool.install(|| {
        // One unit per task, so threads take runs one at a time and a
        // cancel stops everything not yet started.
        units.par_iter().with_max_len(1).for_each(|u| {
            if cancel.load(Ordering::Relaxed) {
                return;
            }
            let (record, timing) = run_unit(base, &points[u.point], u.seed);
            on_done(record, timing);
            ran.fetch_add(1, Ordering::Relaxed);
        });
    });
    Ok(ran.into_inner())
}
