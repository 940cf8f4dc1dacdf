//! The figures a sweep keeps from each run: a flat, named set of numbers
//! taken from the fleet report, so results files stay small (no series, no
//! decision logs) and every tool (CSV, objective, HTML charts, the GUI)
//! reads the same names.

use std::collections::BTreeMap;

use crate::FleetReport;

/// How a metric's values read, for axis labels and formatting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricUnit {
    /// Seconds (latencies).
    Seconds,
    /// A share in [0, 1] (availability, SLO attainment).
    Share,
    /// A count (requests, scale actions).
    Count,
    /// Money, in the scenario's price unit.
    Money,
    /// Per second (throughput).
    PerSecond,
    /// Instances or instance-hours.
    Instances,
}

/// One metric: its key in results files, a label for people, and which
/// direction is better (for the Pareto front and default objectives).
#[derive(Clone, Copy, Debug)]
pub struct MetricDef {
    /// Key in results files and CSV headers, e.g. `p99_s`.
    pub key: &'static str,
    /// Label for tables and charts, e.g. `p99 latency`.
    pub label: &'static str,
    /// What the values are.
    pub unit: MetricUnit,
    /// Whether smaller values are better.
    pub lower_is_better: bool,
    /// Its value in a run (none: undefined, e.g. p99 with no success).
    get: fn(&FleetReport) -> Option<f64>,
}

/// Every metric a sweep records, in display order. All cover the measured
/// window except cost, instance-hours, instances and scale actions, which
/// cover the whole run as in the report.
pub const METRICS: &[MetricDef] = &[
    MetricDef {
        key: "p50_s",
        label: "p50 latency",
        unit: MetricUnit::Seconds,
        lower_is_better: true,
        get: |r| r.global.latency.p50_s,
    },
    MetricDef {
        key: "p90_s",
        label: "p90 latency",
        unit: MetricUnit::Seconds,
        lower_is_better: true,
        get: |r| r.global.latency.p90_s,
    },
    MetricDef {
        key: "p99_s",
        label: "p99 latency",
        unit: MetricUnit::Seconds,
        lower_is_better: true,
        get: |r| r.global.latency.p99_s,
    },
    MetricDef {
        key: "p999_s",
        label: "p99.9 latency",
        unit: MetricUnit::Seconds,
        lower_is_better: true,
        get: |r| r.global.latency.p999_s,
    },
    MetricDef {
        key: "availability",
        label: "availability",
        unit: MetricUnit::Share,
        lower_is_better: false,
        get: |r| Some(r.global.availability),
    },
    MetricDef {
        key: "slo_attainment",
        label: "SLO attainment (requests)",
        unit: MetricUnit::Share,
        lower_is_better: false,
        get: |r| Some(r.global.slo_attainment),
    },
    MetricDef {
        key: "slo_violation_minutes",
        label: "SLO-violation minutes",
        unit: MetricUnit::Count,
        lower_is_better: true,
        get: |r| {
            Some(
                r.global
                    .minutes
                    .saturating_sub(r.global.minutes_meeting_slo) as f64,
            )
        },
    },
    MetricDef {
        key: "throughput_per_s",
        label: "throughput",
        unit: MetricUnit::PerSecond,
        lower_is_better: false,
        get: |r| Some(r.global.throughput_per_s),
    },
    MetricDef {
        key: "failed_requests",
        label: "failed requests",
        unit: MetricUnit::Count,
        lower_is_better: true,
        get: |r| {
            Some(
                r.global
                    .requests
                    .saturating_sub(r.global.outcomes.answered()) as f64,
            )
        },
    },
    MetricDef {
        key: "cost",
        label: "cost",
        unit: MetricUnit::Money,
        lower_is_better: true,
        get: |r| Some(r.cost.total),
    },
    MetricDef {
        key: "instance_hours",
        label: "instance-hours",
        unit: MetricUnit::Instances,
        lower_is_better: true,
        get: |r| Some(r.cost.instance_hours),
    },
    MetricDef {
        key: "mean_instances",
        label: "mean instances",
        unit: MetricUnit::Instances,
        lower_is_better: true,
        get: |r| Some(r.instances.mean),
    },
    MetricDef {
        key: "peak_instances",
        label: "peak instances",
        unit: MetricUnit::Instances,
        lower_is_better: true,
        get: |r| Some(r.instances.peak as f64),
    },
    MetricDef {
        key: "lost_writes",
        label: "acknowledged writes lost",
        unit: MetricUnit::Count,
        lower_is_better: true,
        get: |r| Some(r.incidents.iter().map(|i| i.lost_writes).sum::<u64>() as f64),
    },
    MetricDef {
        key: "max_rto_s",
        label: "longest RTO",
        unit: MetricUnit::Seconds,
        lower_is_better: true,
        // Undefined without incidents; an unrecovered one counts as the
        // whole rest of the run.
        get: |r| {
            r.incidents
                .iter()
                .map(|i| i.rto_s.unwrap_or(r.measured_to_s - i.start_s))
                .reduce(f64::max)
        },
    },
    MetricDef {
        key: "stale_read_ratio",
        label: "stale reads",
        unit: MetricUnit::Share,
        lower_is_better: true,
        get: |r| {
            r.data.as_ref().map(|d| {
                let reads: u64 = d.databases.iter().map(|db| db.reads).sum();
                let stale: u64 = d.databases.iter().map(|db| db.stale_reads).sum();
                if reads == 0 {
                    0.0
                } else {
                    stale as f64 / reads as f64
                }
            })
        },
    },
    MetricDef {
        key: "scale_actions",
        label: "scale actions",
        unit: MetricUnit::Count,
        lower_is_better: true,
        get: |r| Some(r.autoscaling.scale_actions as f64),
    },
    MetricDef {
        key: "recovered",
        label: "recovered after the trigger",
        unit: MetricUnit::Share,
        lower_is_better: false,
        // 1 or 0; a sweep's mean is the share of seeds that recovered.
        get: |r| {
            r.recovery
                .as_ref()
                .map(|x| f64::from(u8::from(x.recovered)))
        },
    },
    MetricDef {
        key: "recovery_s",
        label: "recovery time after the trigger",
        unit: MetricUnit::Seconds,
        lower_is_better: true,
        get: |r| r.recovery.as_ref().and_then(|x| x.recovery_s),
    },
];

impl MetricDef {
    /// Its value in `report` (none: undefined in this run).
    pub fn value(&self, report: &FleetReport) -> Option<f64> {
        (self.get)(report)
    }
}

/// The metric named `key`.
pub fn metric(key: &str) -> Option<&'static MetricDef> {
    METRICS.iter().find(|m| m.key == key)
}

/// Every metric of a run, keyed by [`MetricDef::key`]; undefined or
/// non-finite values are `None` (JSON `null`).
pub fn run_metrics(report: &FleetReport) -> BTreeMap<String, Option<f64>> {
    METRICS
        .iter()
        .map(|m| (m.key.to_string(), (m.get)(report).filter(|v| v.is_finite())))
        .collect()
}
