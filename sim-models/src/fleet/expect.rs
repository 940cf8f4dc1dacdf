//! What a scenario says should happen, and whether it did.
//!
//! - `[[expect]]`: a stated outcome (`check = "availability >= 99.9%"`, the
//!   same `metric op value` language as a sweep's `--objective`), with the
//!   reason it should hold (`why`) and, where the bundled topology is known
//!   to miss it, the finding (`finding`). Every run evaluates each one
//!   against its own measurements, so a chaos experiment's file carries its
//!   hypothesis and its report the verdict.
//! - `[recovery]`: the metastability probe. A trigger (a spike, a fault)
//!   acts between `trigger_start` and `trigger_end`; the report says whether
//!   goodput (successful requests per second) returns to its pre-trigger
//!   level once the trigger is gone, and how long that takes — or whether
//!   the fleet stays stuck (a retry storm's metastable state).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sim_core::SimDuration;

use super::lower::Check;
use super::report::FleetReport;
use crate::spec::Seconds;
use crate::sweep::metrics::metric;
use crate::sweep::objective::{Constraint, parse_constraint};

/// Most `[[expect]]` entries a scenario may list.
pub const MAX_EXPECTATIONS: usize = 100;

/// `[[expect]]`: an outcome the run should show.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExpectSpec {
    /// `metric op value`, e.g. `availability >= 99.9%`, `max_rto_s < 30s`,
    /// `lost_writes <= 0` (the metrics of `fleetsim sweep`).
    pub check: String,
    /// Why it should hold: the hypothesis (default empty).
    #[serde(default)]
    pub why: Option<String>,
    /// Set when the bundled topology is known to miss this check: what the
    /// measurement showed and why. A test holds such a check to *missing*,
    /// so a fix that makes it pass is noticed too.
    #[serde(default)]
    pub finding: Option<String>,
}

/// `[recovery]`: the metastability probe.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecoverySpec {
    /// When the trigger starts (required). Goodput before it, after the
    /// warm-up, is the baseline.
    pub trigger_start: Seconds,
    /// When the trigger is removed (required).
    pub trigger_end: Seconds,
    /// Share of the baseline goodput that counts as recovered (default
    /// 0.95).
    #[serde(default)]
    pub tolerance: Option<f64>,
    /// How long goodput must stay at that level to count (default 60 s).
    #[serde(default)]
    pub hold: Option<Seconds>,
}

/// A validated `[[expect]]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Expectation {
    /// The check as written.
    pub check: String,
    /// The parsed check.
    pub constraint: Constraint,
    /// The hypothesis.
    pub why: String,
    /// The known finding, if the bundled topology misses it.
    pub finding: Option<String>,
}

/// A validated `[recovery]`.
#[derive(Clone, Debug, PartialEq)]
pub struct RecoveryConfig {
    /// Start of the trigger.
    pub trigger_start: SimDuration,
    /// End of the trigger.
    pub trigger_end: SimDuration,
    /// Share of the baseline that counts as recovered.
    pub tolerance: f64,
    /// How long goodput must stay recovered.
    pub hold: SimDuration,
}

/// One `[[expect]]` with its verdict.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ExpectationReport {
    /// The check as written.
    pub check: String,
    /// The hypothesis.
    pub why: String,
    /// The metric's key.
    pub metric: String,
    /// Its measured value (null if undefined in this run, e.g. no incident
    /// for `max_rto_s`).
    pub measured: Option<f64>,
    /// Whether the check holds. An undefined value does not.
    pub met: bool,
    /// The scenario's stated finding, when it expects this check to miss.
    pub finding: Option<String>,
}

/// The metastability probe's verdict.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RecoveryReport {
    /// Start of the trigger, seconds.
    pub trigger_start_s: f64,
    /// End of the trigger, seconds.
    pub trigger_end_s: f64,
    /// Mean goodput (successful requests per second) over the whole series
    /// buckets between the end of warm-up and the trigger.
    pub baseline_goodput_per_s: f64,
    /// Lowest goodput of a bucket from the trigger's start on.
    pub min_goodput_per_s: f64,
    /// Mean goodput over the last `hold` of the run.
    pub final_goodput_per_s: f64,
    /// Share of the baseline that counts as recovered.
    pub tolerance: f64,
    /// How long goodput had to stay recovered, seconds.
    pub hold_s: f64,
    /// Whether goodput came back to `tolerance × baseline` after the
    /// trigger ended and stayed there for `hold`.
    pub recovered: bool,
    /// Time from the trigger's end to the start of that recovered stretch,
    /// seconds (0 if goodput never left the band; null if it never came
    /// back: the fleet stayed stuck).
    pub recovery_s: Option<f64>,
}

/// Lowers the `[[expect]]` entries: each check must parse and name a
/// metric a run reports.
pub(crate) fn lower_expectations(c: &mut Check, specs: &[ExpectSpec]) -> Vec<Expectation> {
    if specs.len() > MAX_EXPECTATIONS {
        c.add(
            "expect",
            format!(
                "{} entries; at most {MAX_EXPECTATIONS} are allowed",
                specs.len()
            ),
        );
        return Vec::new();
    }
    specs
        .iter()
        .enumerate()
        .filter_map(|(i, s)| match parse_constraint(&s.check) {
            Ok(constraint) => Some(Expectation {
                check: s.check.trim().to_string(),
                constraint,
                why: s.why.clone().unwrap_or_default(),
                finding: s.finding.clone(),
            }),
            Err(m) => {
                c.add(format!("expect[{i}].check"), m);
                None
            }
        })
        .collect()
}

/// Lowers `[recovery]`: a trigger inside the run, after at least one series
/// bucket of baseline, ending early enough to leave `hold` to recover in.
pub(crate) fn lower_recovery(
    c: &mut Check,
    spec: Option<&RecoverySpec>,
    warmup: SimDuration,
    duration: SimDuration,
    series_interval: SimDuration,
) -> Option<RecoveryConfig> {
    let spec = spec?;
    let start = c.time("recovery.trigger_start", spec.trigger_start);
    let end = c.time("recovery.trigger_end", spec.trigger_end);
    let hold = match spec.hold {
        Some(h) => c.time("recovery.hold", h),
        None => SimDuration::from_secs(60),
    };
    let tolerance = spec.tolerance.unwrap_or(0.95);
    if !(tolerance > 0.0 && tolerance <= 1.0) {
        c.add(
            "recovery.tolerance",
            format!("{tolerance} is outside (0, 1]: it is a share of the baseline goodput"),
        );
    }
    if start < warmup + series_interval {
        c.add(
            "recovery.trigger_start",
            format!(
                "the trigger starts at {start}, leaving less than one series bucket ({series_interval}) after the warm-up ({warmup}) to measure the baseline goodput"
            ),
        );
    }
    if end <= start {
        c.add(
            "recovery.trigger_end",
            format!("{end} is not after trigger_start ({start})"),
        );
    }
    if hold < series_interval {
        c.add(
            "recovery.hold",
            format!("{hold} is shorter than one series bucket ({series_interval})"),
        );
    }
    if end + hold > duration {
        c.add(
            "recovery.trigger_end",
            format!(
                "the run ({duration}) ends less than `hold` ({hold}) after the trigger ends ({end}): no time to see a recovery"
            ),
        );
    }
    Some(RecoveryConfig {
        trigger_start: start,
        trigger_end: end,
        tolerance,
        hold,
    })
}

/// The probe's verdict from the run's global series.
pub(crate) fn recovery_report(
    probe: &RecoveryConfig,
    report: &FleetReport,
) -> Option<RecoveryReport> {
    let interval = report.series.interval_s;
    let end_s = report.measured_to_s;
    // Whole buckets only: a cut-off last bucket would read low.
    let buckets: Vec<(f64, f64)> = report
        .series
        .global
        .iter()
        .filter(|p| p.t_s + interval <= end_s + 1e-9)
        .map(|p| (p.t_s, f64::from(p.ok_per_s)))
        .collect();
    let start_s = probe.trigger_start.as_secs_f64();
    let trigger_end_s = probe.trigger_end.as_secs_f64();
    let hold_s = probe.hold.as_secs_f64();
    let baseline: Vec<f64> = buckets
        .iter()
        .filter(|(t, _)| *t >= report.measured_from_s - 1e-9 && t + interval <= start_s + 1e-9)
        .map(|&(_, g)| g)
        .collect();
    if baseline.is_empty() {
        return None;
    }
    let baseline = baseline.iter().sum::<f64>() / baseline.len() as f64;
    let level = probe.tolerance * baseline;
    let need = (hold_s / interval).ceil().max(1.0) as usize;
    let after: Vec<(f64, f64)> = buckets
        .iter()
        .copied()
        .filter(|(t, _)| *t >= trigger_end_s - 1e-9)
        .collect();
    // The first bucket that starts a run of `need` buckets at or above the
    // level.
    let mut run = 0;
    let mut recovered_at = None;
    for (i, &(_, g)) in after.iter().enumerate() {
        run = if g >= level { run + 1 } else { 0 };
        if run == need {
            recovered_at = Some(after[i + 1 - need].0);
            break;
        }
    }
    let min_goodput = buckets
        .iter()
        .filter(|(t, _)| t + interval > start_s)
        .map(|&(_, g)| g)
        .fold(f64::INFINITY, f64::min);
    let tail: Vec<f64> = buckets.iter().rev().take(need).map(|&(_, g)| g).collect();
    Some(RecoveryReport {
        trigger_start_s: start_s,
        trigger_end_s,
        baseline_goodput_per_s: baseline,
        min_goodput_per_s: if min_goodput.is_finite() {
            min_goodput
        } else {
            0.0
        },
        final_goodput_per_s: tail.iter().sum::<f64>() / tail.len().max(1) as f64,
        tolerance: probe.tolerance,
        hold_s,
        recovered: recovered_at.is_some(),
        recovery_s: recovered_at.map(|t| (t - trigger_end_s).max(0.0)),
    })
}

/// Each expectation's verdict, from the report's own metrics (the figures
/// `fleetsim sweep` records).
pub(crate) fn evaluate(
    expectations: &[Expectation],
    report: &FleetReport,
) -> Vec<ExpectationReport> {
    expectations
        .iter()
        .map(|e| {
            let measured = metric(e.constraint.metric)
                .and_then(|m| m.value(report))
                .filter(|v| v.is_finite());
            ExpectationReport {
                check: e.check.clone(),
                why: e.why.clone(),
                metric: e.constraint.metric.to_string(),
                measured,
                met: measured.is_some_and(|v| e.constraint.holds(v)),
                finding: e.finding.clone(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_check_names_a_known_metric_and_a_bound_in_its_unit() {
        let mut c = Check::default();
        let e = lower_expectations(
            &mut c,
            &[
                ExpectSpec {
                    check: "availability >= 99.9%".into(),
                    why: None,
                    finding: None,
                },
                ExpectSpec {
                    check: "max_rto_s < 30s".into(),
                    why: Some("failover".into()),
                    finding: None,
                },
            ],
        );
        assert!(c.ok());
        assert!((e[0].constraint.value - 0.999).abs() < 1e-12);
        assert!(e[0].constraint.holds(0.9995) && !e[0].constraint.holds(0.99));
        assert_eq!(e[1].constraint.metric, "max_rto_s");
    }

    #[test]
    fn a_bad_check_is_reported_at_its_path() {
        let mut c = Check::default();
        lower_expectations(
            &mut c,
            &[
                ExpectSpec {
                    check: "availability >= 99.9%".into(),
                    why: None,
                    finding: None,
                },
                ExpectSpec {
                    check: "uptime > 3".into(),
                    why: None,
                    finding: None,
                },
            ],
        );
        let problems = c.finish();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].path, "expect[1].check");
        assert!(problems[0].message.contains("unknown metric `uptime`"));
    }

    #[test]
    fn a_recovery_probe_needs_a_baseline_and_time_to_recover() {
        let s = |x: f64| Seconds(x);
        let mut c = Check::default();
        let spec = RecoverySpec {
            trigger_start: s(5.0),
            trigger_end: s(590.0),
            tolerance: Some(1.5),
            hold: None,
        };
        lower_recovery(
            &mut c,
            Some(&spec),
            SimDuration::ZERO,
            SimDuration::from_secs(600),
            SimDuration::from_secs(10),
        );
        let paths: Vec<String> = c.finish().into_iter().map(|p| p.path).collect();
        assert_eq!(
            paths,
            [
                "recovery.tolerance",
                "recovery.trigger_start",
                "recovery.trigger_end"
            ]
        );
    }
}
