//! Kubernetes HorizontalPodAutoscaler, `autoscaling/v2` (reference section 1,
//! `/work/shared/reference/policy-semantics.md`; `docs/autoscaling.md`).
//!
//! Every `sync_period` the controller turns each metric into a replica
//! proposal (rule 1.2), takes the largest, and normalizes it: without
//! `behavior` by the legacy path (1.4: scale-up cap `max(2 × current, 4)`,
//! max-over-300 s scale-down stabilization), with `behavior` by both
//! stabilization windows and the rate-limit policies (1.5). The arithmetic
//! is in small pure functions ([`pod_proposal`], [`external_average_proposal`],
//! [`stabilize_legacy`], [`stabilize_behavior`], [`scale_up_limit`], …);
//! [`Normalizer`] keeps the controller's memory (recommendations, scale
//! events) and is reused by KEDA's HPA (section 3).
//!
//! Approximations (reference 1.7), stated:
//! - **Readiness.** A booting instance is a Pending pod: unready for every
//!   metric. A `warming` instance (ready for less than the group's
//!   `instance_warmup`, 15 s by default for the HPA) is cpu-unready (rule 1.2
//!   step 4) but ready for the other pod metrics. In-service instances are
//!   the ready pods; draining instances are terminating pods (ignored).
//!   A pod counts as ready for a metric only if its samples cover the whole
//!   (lagged) metric window — one that became ready later has no usable
//!   sample yet and is unready, as rule 1.2 step 4 disregards a CPU sample
//!   that does not cover ready time. Every instance reports metrics, so
//!   there are no "missing" pods.
//! - **Metric freshness.** A sync at time t reads pod metrics averaged over
//!   `[t − metric_lag − metric_window, t − metric_lag)` (defaults 15 s and
//!   15 s: metrics-server's resolution and the age of its last scrape, 1.1
//!   "Metric freshness"), and the queue length as of `t − metric_lag`. The
//!   averages cover the instances counted during that window and are
//!   multiplied by the instance counts at t, as Kubernetes pairs its samples
//!   with the current pods.
//! - **Timing.** Syncs happen at each multiple of `sync_period` after the
//!   start, the first a full period in (1.7). Times are whole seconds.
//! - Scale events are kept for the longest policy period of either
//!   direction (Kubernetes reuses a slot once it is older than its own
//!   direction's longest period; results differ only in contrived cases).

use std::ops::Bound;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Decision, GroupView, Policy};
use crate::fleet::lower::Check;
use crate::spec::Seconds;

/// Default CPU target when no metric is given (API default, 1.1).
pub const DEFAULT_CPU_TARGET: u32 = 80;
/// Default tolerance both ways (`--horizontal-pod-autoscaler-tolerance`).
pub const DEFAULT_TOLERANCE: f64 = 0.1;
/// Default scale-down stabilization (`--horizontal-pod-autoscaler-downscale-stabilization`).
pub const DEFAULT_DOWNSCALE_STABILIZATION: u64 = 300;
/// Default sync period (`--horizontal-pod-autoscaler-sync-period`).
pub const DEFAULT_SYNC_PERIOD: u64 = 15;
/// Longest metric window or lag accepted (seconds).
const MAX_METRIC_SECONDS: u64 = 3_600;
/// Longest sync period accepted (seconds).
const MAX_SYNC_PERIOD: u64 = 86_400;

// ---------------------------------------------------------------- file form

/// `policy = { type = "hpa", … }`: a HorizontalPodAutoscaler (section 1).
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HpaSpec {
    /// Metrics; each gives a proposal and the largest wins (rule 1.2
    /// "Several metrics"). Default: one `cpu` metric with target 80 % (1.1).
    #[serde(default)]
    pub metrics: Option<Vec<HpaMetricSpec>>,
    /// Time between syncs, whole seconds (default 15 s, the controller's
    /// `--horizontal-pod-autoscaler-sync-period`).
    #[serde(default)]
    pub sync_period: Option<Seconds>,
    /// Window pod metrics are averaged over, whole seconds (default 15 s:
    /// metrics-server's resolution).
    #[serde(default)]
    pub metric_window: Option<Seconds>,
    /// Age of the newest metric data a sync sees, whole seconds (default
    /// 15 s; an approximation of metric collection, 1.1 "Metric freshness").
    #[serde(default)]
    pub metric_lag: Option<Seconds>,
    /// Dead band on the usage ratio, both directions (default 0.1, rule 0.3);
    /// `behavior.*.tolerance` overrides it per direction.
    #[serde(default)]
    pub tolerance: Option<f64>,
    /// Scale-down stabilization window of the legacy path, and of
    /// `behavior.scale_down` when that leaves it unset (default 300 s, the
    /// controller flag).
    #[serde(default)]
    pub downscale_stabilization: Option<Seconds>,
    /// Scaling behavior (1.5). Absent (the default) selects the legacy path
    /// (1.4), which differs from the documented default behavior (rule 0.5).
    #[serde(default)]
    pub behavior: Option<BehaviorSpec>,
}

/// One HPA metric, by `type`.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum HpaMetricSpec {
    /// Resource metric `cpu` with a `Utilization` target: the percent
    /// (1–100) of the ready instances' workers that are busy.
    Cpu {
        /// Target utilization in percent (`averageUtilization`).
        target_utilization: u64,
    },
    /// Pods metric with an `AverageValue` target: requests per second per
    /// ready instance.
    RequestsPerReplica {
        /// Target requests per second per instance (at least 0.001).
        target: f64,
    },
    /// External metric with an `AverageValue` target: requests waiting in
    /// the group's queues, per replica (rule 0.9; readiness plays no part).
    QueuePerReplica {
        /// Target queued requests per instance (at least 0.001).
        target: f64,
    },
}

/// `behavior`: stabilization and rate limits per direction (1.5). Giving it,
/// even empty, fills every unset field with the API defaults.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BehaviorSpec {
    /// Scale-up rules (default: window 0 s, `max` of pods 4 and percent 100
    /// per 15 s).
    #[serde(default)]
    pub scale_up: Option<ScalingRulesSpec>,
    /// Scale-down rules (default: window `downscale_stabilization` (300 s),
    /// `max`, percent 100 per 15 s).
    #[serde(default)]
    pub scale_down: Option<ScalingRulesSpec>,
}

/// `behavior.scale_up` / `behavior.scale_down` (`HPAScalingRules`).
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScalingRulesSpec {
    /// Stabilization window, whole seconds 0–3600 (default 0 s up,
    /// `downscale_stabilization` down).
    #[serde(default)]
    pub stabilization_window: Option<Seconds>,
    /// Which policy wins (default `max`: the one allowing the biggest change).
    #[serde(default)]
    pub select_policy: Option<SelectPolicy>,
    /// Rate limits; a list given replaces the defaults wholesale and must
    /// not be empty (default up: pods 4 and percent 100 per 15 s; down:
    /// percent 100 per 15 s).
    #[serde(default)]
    pub policies: Option<Vec<ScalingPolicySpec>>,
    /// Tolerance for this direction (default: the HPA's `tolerance`; rule
    /// 1.6, `HPAConfigurableTolerance`).
    #[serde(default)]
    pub tolerance: Option<f64>,
}

/// `selectPolicy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SelectPolicy {
    /// The policy allowing the biggest change.
    Max,
    /// The policy allowing the smallest change.
    Min,
    /// No scaling in this direction.
    Disabled,
}

/// One rate-limit policy, by `type`.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ScalingPolicySpec {
    /// At most `value` instances per `period`.
    Pods {
        /// Instances (at least 1).
        value: u64,
        /// Period, whole seconds 1–1800.
        period: Seconds,
    },
    /// At most `value` % of the size at the period's start per `period`.
    Percent {
        /// Percent (at least 1).
        value: u64,
        /// Period, whole seconds 1–1800.
        period: Seconds,
    },
}

// ------------------------------------------------------------- lowered form

/// A lowered HPA.
#[derive(Clone, Debug, PartialEq)]
pub struct HpaConfig {
    /// Metrics (at least one).
    pub metrics: Vec<HpaMetric>,
    /// Seconds between syncs.
    pub sync_period: u64,
    /// Seconds pod metrics are averaged over.
    pub metric_window: u64,
    /// Seconds of metric lag.
    pub metric_lag: u64,
    /// Tolerance, stabilization and behavior.
    pub scaling: Scaling,
}

impl HpaConfig {
    /// Seconds of history read at most: the lagged metric window.
    pub fn history_seconds(&self) -> u64 {
        self.metric_lag + self.metric_window + 1
    }
}

/// A lowered HPA metric.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum HpaMetric {
    /// CPU utilization target in percent.
    Cpu {
        /// Percent.
        target_utilization: u32,
    },
    /// Requests per second per instance.
    RequestsPerReplica {
        /// Target.
        target: f64,
    },
    /// Queued requests per instance (External `AverageValue`).
    QueuePerReplica {
        /// Target.
        target: f64,
    },
}

/// The tolerance band: no change iff `1 − down ≤ ratio ≤ 1 + up` (rule 0.3).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tolerance {
    /// Below 1.
    pub down: f64,
    /// Above 1.
    pub up: f64,
}

impl Tolerance {
    /// Whether `ratio` is inside the band (both edges inclusive, rule 0.3).
    pub fn within(&self, ratio: f64) -> bool {
        1.0 - self.down <= ratio && ratio <= 1.0 + self.up
    }
}

/// Everything after the proposal: tolerance, stabilization, behavior.
#[derive(Clone, Debug, PartialEq)]
pub struct Scaling {
    /// Tolerance per direction.
    pub tolerance: Tolerance,
    /// Legacy scale-down stabilization window (seconds).
    pub downscale_stabilization: u64,
    /// `behavior`, if given (else the legacy path, 1.4).
    pub behavior: Option<Behavior>,
}

/// Lowered `behavior`, every field filled (1.1 API defaults).
#[derive(Clone, Debug, PartialEq)]
pub struct Behavior {
    /// Scale-up rules.
    pub scale_up: ScalingRules,
    /// Scale-down rules.
    pub scale_down: ScalingRules,
}

/// Lowered `HPAScalingRules`.
#[derive(Clone, Debug, PartialEq)]
pub struct ScalingRules {
    /// Stabilization window (seconds).
    pub stabilization_window: u64,
    /// Which policy wins.
    pub select_policy: SelectPolicy,
    /// Rate limits.
    pub policies: Vec<ScalingPolicy>,
}

impl ScalingRules {
    fn longest_period(&self) -> u64 {
        self.policies.iter().map(|p| p.period).max().unwrap_or(0)
    }
}

/// A lowered rate-limit policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScalingPolicy {
    /// Pods or percent.
    pub kind: PolicyKind,
    /// Instances or percent.
    pub value: u32,
    /// Period (seconds).
    pub period: u64,
}

/// Kind of a rate-limit policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolicyKind {
    /// A number of instances.
    Pods,
    /// A percent of the size at the period's start.
    Percent,
}

// ----------------------------------------------------------------- lowering

/// `value` as a whole number of seconds in `[min, max]`, or `default` when
/// absent; a bad value is reported at `path`. Policies evaluate once per
/// simulated second, so their times are whole seconds.
pub(crate) fn whole_secs(
    c: &mut Check,
    path: &str,
    value: Option<Seconds>,
    default: u64,
    min: u64,
    max: u64,
) -> u64 {
    let Some(Seconds(s)) = value else {
        return default;
    };
    if !s.is_finite() || s.fract() != 0.0 || s < min as f64 || s > max as f64 {
        c.add(
            path,
            format!("must be a whole number of seconds in [{min}, {max}], got {s}"),
        );
        return default.clamp(min, max);
    }
    s as u64
}

/// A tolerance at `path` (non-negative), or `default`.
fn tolerance(c: &mut Check, path: &str, value: Option<f64>, default: f64) -> f64 {
    value.map_or(default, |v| {
        c.real(path, v, Bound::Included(0.0), Bound::Unbounded)
    })
}

/// A metric target at `path`: at least 0.001 (targets are milli-values).
fn metric_target(c: &mut Check, path: &str, value: f64) -> f64 {
    c.real(path, value, Bound::Included(0.001), Bound::Unbounded)
}

/// Lowers the fields shared by the HPA and KEDA's HPA: `tolerance`,
/// `downscale_stabilization` and `behavior` (defaults of 1.1).
pub(crate) fn lower_scaling(
    c: &mut Check,
    path: &str,
    tol: Option<f64>,
    downscale: Option<Seconds>,
    behavior: Option<&BehaviorSpec>,
) -> Scaling {
    let base = tolerance(c, &format!("{path}.tolerance"), tol, DEFAULT_TOLERANCE);
    let downscale_stabilization = whole_secs(
        c,
        &format!("{path}.downscale_stabilization"),
        downscale,
        DEFAULT_DOWNSCALE_STABILIZATION,
        0,
        3_600,
    );
    let mut tolerance = Tolerance {
        down: base,
        up: base,
    };
    let behavior = behavior.map(|b| {
        let bp = format!("{path}.behavior");
        let up_path = format!("{bp}.scale_up");
        let (scale_up, up) = lower_rules(c, &up_path, b.scale_up.as_ref(), true, 0, base);
        let down_path = format!("{bp}.scale_down");
        let (scale_down, down) = lower_rules(
            c,
            &down_path,
            b.scale_down.as_ref(),
            false,
            downscale_stabilization,
            base,
        );
        tolerance = Tolerance { down, up };
        Behavior {
            scale_up,
            scale_down,
        }
    });
    Scaling {
        tolerance,
        downscale_stabilization,
        behavior,
    }
}

/// Lowers one direction's rules; `window` is its default stabilization
/// (0 s up, the downscale flag down). Returns the rules and the tolerance.
fn lower_rules(
    c: &mut Check,
    path: &str,
    spec: Option<&ScalingRulesSpec>,
    up: bool,
    window: u64,
    base_tolerance: f64,
) -> (ScalingRules, f64) {
    let defaults = if up {
        vec![
            ScalingPolicy {
                kind: PolicyKind::Pods,
                value: 4,
                period: 15,
            },
            ScalingPolicy {
                kind: PolicyKind::Percent,
                value: 100,
                period: 15,
            },
        ]
    } else {
        vec![ScalingPolicy {
            kind: PolicyKind::Percent,
            value: 100,
            period: 15,
        }]
    };
    let Some(s) = spec else {
        return (
            ScalingRules {
                stabilization_window: window,
                select_policy: SelectPolicy::Max,
                policies: defaults,
            },
            base_tolerance,
        );
    };
    let stabilization_window = whole_secs(
        c,
        &format!("{path}.stabilization_window"),
        s.stabilization_window,
        window,
        0,
        3_600,
    );
    let policies = match &s.policies {
        None => defaults,
        Some(list) => {
            if list.is_empty() {
                c.add(
                    format!("{path}.policies"),
                    "must list at least one policy (leave it out for the defaults)",
                );
            }
            list.iter()
                .enumerate()
                .map(|(i, p)| {
                    let pp = format!("{path}.policies[{i}]");
                    let (kind, value, period) = match p {
                        ScalingPolicySpec::Pods { value, period } => {
                            (PolicyKind::Pods, *value, *period)
                        }
                        ScalingPolicySpec::Percent { value, period } => {
                            (PolicyKind::Percent, *value, *period)
                        }
                    };
                    ScalingPolicy {
                        kind,
                        value: c.count(&format!("{pp}.value"), value, 1, 1_000_000),
                        period: whole_secs(c, &format!("{pp}.period"), Some(period), 15, 1, 1_800),
                    }
                })
                .collect()
        }
    };
    let tol = tolerance(c, &format!("{path}.tolerance"), s.tolerance, base_tolerance);
    (
        ScalingRules {
            stabilization_window,
            select_policy: s.select_policy.unwrap_or(SelectPolicy::Max),
            policies,
        },
        tol,
    )
}

/// Checks and lowers `spec` found at `path`.
pub(crate) fn lower_hpa(c: &mut Check, path: &str, spec: &HpaSpec) -> HpaConfig {
    let metrics = match &spec.metrics {
        None => vec![HpaMetric::Cpu {
            target_utilization: DEFAULT_CPU_TARGET,
        }],
        Some(list) => {
            if list.is_empty() {
                c.add(
                    format!("{path}.metrics"),
                    "must list at least one metric (leave it out for the default cpu 80 %)",
                );
            }
            list.iter()
                .enumerate()
                .map(|(i, m)| {
                    let mp = format!("{path}.metrics[{i}]");
                    match m {
                        HpaMetricSpec::Cpu { target_utilization } => HpaMetric::Cpu {
                            target_utilization: c.count(
                                &format!("{mp}.target_utilization"),
                                *target_utilization,
                                1,
                                100,
                            ),
                        },
                        HpaMetricSpec::RequestsPerReplica { target } => {
                            HpaMetric::RequestsPerReplica {
                                target: metric_target(c, &format!("{mp}.target"), *target),
                            }
                        }
                        HpaMetricSpec::QueuePerReplica { target } => HpaMetric::QueuePerReplica {
                            target: metric_target(c, &format!("{mp}.target"), *target),
                        },
                    }
                })
                .collect()
        }
    };
    HpaConfig {
        metrics,
        sync_period: whole_secs(
            c,
            &format!("{path}.sync_period"),
            spec.sync_period,
            DEFAULT_SYNC_PERIOD,
            1,
            MAX_SYNC_PERIOD,
        ),
        metric_window: whole_secs(
            c,
            &format!("{path}.metric_window"),
            spec.metric_window,
            15,
            1,
            MAX_METRIC_SECONDS,
        ),
        metric_lag: whole_secs(
            c,
            &format!("{path}.metric_lag"),
            spec.metric_lag,
            15,
            0,
            MAX_METRIC_SECONDS,
        ),
        scaling: lower_scaling(
            c,
            path,
            spec.tolerance,
            spec.downscale_stabilization,
            spec.behavior.as_ref(),
        ),
    }
}

// ------------------------------------------------------ per-metric proposal

/// `ceil(x)` as a replica count: 0 for NaN or x ≤ 0, capped at `i32::MAX`
/// like Kubernetes' int32 replicas.
pub(crate) fn ceil_count(x: f64) -> u32 {
    if x.is_nan() || x <= 0.0 {
        0
    } else if x >= f64::from(i32::MAX) {
        i32::MAX as u32
    } else {
        x.ceil() as u32
    }
}

/// `floor(x × scale)`: Kubernetes' integer percent / milli-value arithmetic
/// (rule 0.2), with a relative slack of 1e-12 so that 0.29 × 100 gives 29
/// (exact integer arithmetic), not 28.
fn truncated(x: f64, scale: f64) -> f64 {
    let y = x * scale;
    (y + y.abs() * 1e-12).floor()
}

/// Rule 1.2, pod-based metrics (Resource `Utilization`, Pods `AverageValue`).
///
/// `value` is the metric averaged over the ready instances' samples (CPU: the
/// busy fraction; requests per second); `scale` turns it into the integer
/// unit Kubernetes truncates to (100 for a percent, 1000 for milli-values,
/// rule 0.2) and `target` is in that unit. The proposal multiplies the ratio
/// by the **ready** count, not by `current` (rule 0.1); with unready pods
/// and a ratio above 1 they re-enter the samples at 0, and the two
/// direction-flip guards apply (rule 0.4). On a scale-down unready pods are
/// simply left out. `None` when there is no ready sample (the metric errors).
pub(crate) fn pod_proposal(
    value: f64,
    scale: f64,
    target: f64,
    ready: u32,
    unready: u32,
    current: u32,
    tol: Tolerance,
) -> Option<u32> {
    if ready == 0 || !value.is_finite() || target <= 0.0 {
        return None;
    }
    let ratio = truncated(value, scale) / target;
    if !(unready > 0 && ratio > 1.0) {
        return Some(if tol.within(ratio) {
            current
        } else {
            ceil_count(ratio * f64::from(ready))
        });
    }
    let samples = f64::from(ready) + f64::from(unready);
    let new_ratio = truncated(value * f64::from(ready) / samples, scale) / target;
    if tol.within(new_ratio) || (ratio < 1.0 && new_ratio > 1.0) || (ratio > 1.0 && new_ratio < 1.0)
    {
        return Some(current);
    }
    let n = ceil_count(new_ratio * samples);
    if (new_ratio < 1.0 && n > current) || (new_ratio > 1.0 && n < current) {
        return Some(current);
    }
    Some(n)
}

/// Rule 1.2, External metric with an `AverageValue` target (rule 0.9):
/// `ceil(total / target)`, independent of readiness and of `current`; the
/// tolerance compares `total / (target × status)` where `status` is the
/// number of pods (`status.replicas`), and inside the band the answer is
/// `status`.
pub(crate) fn external_average_proposal(
    total: f64,
    target: f64,
    status: u32,
    tol: Tolerance,
) -> u32 {
    if target <= 0.0 {
        return status;
    }
    if status > 0 && tol.within(total / (target * f64::from(status))) {
        return status;
    }
    ceil_count(total / target)
}

/// Rule 1.2 "Several metrics": the largest proposal; `None` (no scaling) if
/// every metric failed, or if some failed and the largest valid one is below
/// `current` (no scale-down on partial information).
pub(crate) fn combine(proposals: &[Option<u32>], current: u32) -> Option<u32> {
    let best = proposals.iter().flatten().copied().max()?;
    let failed = proposals.iter().any(Option::is_none);
    (!(failed && best < current)).then_some(best)
}

// ---------------------------------------------------------- normalization

/// Rule 1.4: the largest of `p` and the recommendations of the last
/// `window` seconds, the window's edge included (`t ≥ now − window`).
pub(crate) fn stabilize_legacy(recs: &[(u64, u32)], now: u64, window: u64, p: u32) -> u32 {
    recs.iter()
        .filter(|(t, _)| t + window >= now)
        .map(|&(_, r)| r)
        .fold(p, u32::max)
}

/// Rule 1.4: scale-up cap `max(2 × current, 4)` per sync and the bounds.
pub(crate) fn legacy_limits(stab: u32, current: u32, min: u32, max: u32) -> u32 {
    let cap = (2 * u64::from(current)).max(4);
    let max_allowed = u64::from(max).min(cap) as u32;
    if stab < min {
        min
    } else if stab > max_allowed {
        max_allowed
    } else {
        stab
    }
}

/// Rule 1.5 step 2: both windows at once (edges excluded, `t > now − w`):
/// `clamp(current, min of the up window, max of the down window)`, `p`
/// included in both.
pub(crate) fn stabilize_behavior(
    recs: &[(u64, u32)],
    now: u64,
    up_window: u64,
    down_window: u64,
    current: u32,
    p: u32,
) -> u32 {
    let (mut up, mut down) = (p, p);
    for &(t, r) in recs {
        if t + up_window > now {
            up = up.min(r);
        }
        if t + down_window > now {
            down = down.max(r);
        }
    }
    current.max(up).min(down)
}

/// Scale events (time, replicas changed) by direction, for `periodStart`
/// (rule 1.5 steps 3–4).
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct ScaleEvents {
    /// Scale-ups.
    pub(crate) up: Vec<(u64, u32)>,
    /// Scale-downs.
    pub(crate) down: Vec<(u64, u32)>,
}

impl ScaleEvents {
    /// Replicas added and removed by events after `now − period`, and the
    /// size at the period's start: `current − added + removed` (rule 0.7).
    fn period_start(&self, current: u32, now: u64, period: u64) -> i64 {
        let within = |ev: &[(u64, u32)]| -> i64 {
            ev.iter()
                .filter(|(t, _)| t + period > now)
                .map(|&(_, n)| i64::from(n))
                .sum()
        };
        i64::from(current) - within(&self.up) + within(&self.down)
    }
}

/// Rule 1.5 step 3, `scaleUpLimit`: per policy `start + value` (pods) or
/// `ceil(start × (1 + value/100))` (percent, rule 0.7); `max` takes the
/// largest, `min` the smallest; `disabled` gives `current`.
pub(crate) fn scale_up_limit(
    current: u32,
    events: &ScaleEvents,
    rules: &ScalingRules,
    now: u64,
) -> i64 {
    let limits = rules.policies.iter().map(|p| {
        let start = events.period_start(current, now, p.period);
        match p.kind {
            PolicyKind::Pods => start + i64::from(p.value),
            PolicyKind::Percent => {
                (start as f64 * (1.0 + f64::from(p.value) / 100.0)).ceil() as i64
            }
        }
    });
    match rules.select_policy {
        SelectPolicy::Disabled => i64::from(current),
        SelectPolicy::Max => limits.max().unwrap_or(i64::from(current)),
        SelectPolicy::Min => limits.min().unwrap_or(i64::from(current)),
    }
}

/// Rule 1.5 step 3, `scaleDownLimit`: per policy `start − value` (pods) or
/// `trunc(start × (1 − value/100))` (percent, rule 0.7); `max` takes the
/// lowest floor (the largest removal), `min` the highest.
pub(crate) fn scale_down_limit(
    current: u32,
    events: &ScaleEvents,
    rules: &ScalingRules,
    now: u64,
) -> i64 {
    let limits = rules.policies.iter().map(|p| {
        let start = events.period_start(current, now, p.period);
        match p.kind {
            PolicyKind::Pods => start - i64::from(p.value),
            PolicyKind::Percent => {
                (start as f64 * (1.0 - f64::from(p.value) / 100.0)).trunc() as i64
            }
        }
    });
    match rules.select_policy {
        SelectPolicy::Disabled => i64::from(current),
        SelectPolicy::Max => limits.min().unwrap_or(i64::from(current)),
        SelectPolicy::Min => limits.max().unwrap_or(i64::from(current)),
    }
}

/// Rule 1.5 step 3, applying the limits: a scale-up never becomes a
/// scale-down (and vice versa), and the bounds apply.
pub(crate) fn behavior_limits(
    stab: u32,
    current: u32,
    min: u32,
    max: u32,
    up_limit: i64,
    down_limit: i64,
) -> u32 {
    if stab > current {
        let max_allowed = up_limit.max(i64::from(current)).min(i64::from(max));
        i64::from(stab).min(max_allowed) as u32
    } else if stab < current {
        let min_allowed = down_limit.min(i64::from(current)).max(i64::from(min));
        i64::from(stab).max(min_allowed) as u32
    } else {
        current
    }
}

/// What one sync of the normalizer decided.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Outcome {
    /// Nothing to do or say (disabled, no metric, or no wanted change).
    Quiet,
    /// Set the size to `desired`; `note` names a rule that shaped it.
    Scale {
        /// New desired size.
        desired: u32,
        /// The rule that shaped it, if any ("" otherwise).
        note: String,
    },
    /// The proposal (within the bounds) differed from `current`, but
    /// stabilization or rate limits kept `current`.
    Held {
        /// What held it.
        note: String,
    },
}

/// The HPA's memory between syncs and its reconcile step (1.3–1.5).
#[derive(Clone, Debug)]
pub(crate) struct Normalizer {
    scaling: Scaling,
    /// (time, raw proposal) of recent syncs.
    recommendations: Vec<(u64, u32)>,
    events: ScaleEvents,
    started: bool,
}

impl Normalizer {
    /// A fresh controller (no recommendation yet).
    pub(crate) fn new(scaling: Scaling) -> Self {
        Normalizer {
            scaling,
            recommendations: Vec::new(),
            events: ScaleEvents::default(),
            started: false,
        }
    }

    /// The tolerance proposals are tested against.
    pub(crate) fn tolerance(&self) -> Tolerance {
        self.scaling.tolerance
    }

    /// One reconcile (1.3) at `now` with `current` = `spec.replicas`, the
    /// bounds, and the proposal (`None` when the metrics failed).
    pub(crate) fn sync(
        &mut self,
        now: u64,
        current: u32,
        min: u32,
        max: u32,
        proposal: Option<u32>,
    ) -> Outcome {
        if !self.started {
            // Rule 0.6: the first sync records the current size first.
            self.started = true;
            self.recommendations.push((now, current));
        }
        let (desired, note, wanted) = if current == 0 && min != 0 {
            return Outcome::Quiet; // rule 0.8: ScalingDisabled
        } else if current > max {
            (max, "current size above max".to_string(), max)
        } else if current < min {
            (min, "current size below min".to_string(), min)
        } else {
            let Some(p) = proposal else {
                return Outcome::Quiet;
            };
            let (d, note) = self.normalize(now, current, min, max, p);
            (d, note, p.clamp(min, max))
        };
        if desired != current {
            if self.scaling.behavior.is_some() {
                self.store_event(now, current, desired);
            }
            Outcome::Scale { desired, note }
        } else if wanted != current {
            Outcome::Held { note }
        } else {
            Outcome::Quiet
        }
    }

    /// Stabilization and limits (1.4 or 1.5) of proposal `p`; records it.
    fn normalize(&mut self, now: u64, current: u32, min: u32, max: u32, p: u32) -> (u32, String) {
        let recs = &mut self.recommendations;
        let Some(b) = &self.scaling.behavior else {
            let window = self.scaling.downscale_stabilization;
            let stab = stabilize_legacy(recs, now, window, p);
            recs.retain(|(t, _)| t + window >= now);
            recs.push((now, p));
            let desired = legacy_limits(stab, current, min, max);
            let note = if stab > p && desired == stab {
                format!("the scale-down stabilization window ({window} s) keeps {stab}")
            } else if desired < stab && desired < max {
                format!("the scale-up cap max(2 × {current}, 4) allows {desired}")
            } else {
                String::new()
            };
            return (desired, note);
        };
        let (up_w, down_w) = (
            b.scale_up.stabilization_window,
            b.scale_down.stabilization_window,
        );
        let stab = stabilize_behavior(recs, now, up_w, down_w, current, p);
        recs.retain(|(t, _)| t + up_w > now || t + down_w > now);
        recs.push((now, p));
        let up = scale_up_limit(current, &self.events, &b.scale_up, now);
        let down = scale_down_limit(current, &self.events, &b.scale_down, now);
        let desired = behavior_limits(stab, current, min, max, up, down);
        let note = if desired != stab && desired != max && desired != min {
            let (dir, rules) = if stab > current {
                ("scale-up", &b.scale_up)
            } else {
                ("scale-down", &b.scale_down)
            };
            match rules.select_policy {
                SelectPolicy::Disabled => format!("{dir} select_policy disabled"),
                s => format!(
                    "the {dir} policies (select_policy {}) allow {desired}",
                    if s == SelectPolicy::Max { "max" } else { "min" }
                ),
            }
        } else if stab > p {
            format!("the scale-down stabilization window ({down_w} s) keeps {stab}")
        } else if stab < p {
            format!("the scale-up stabilization window ({up_w} s) keeps {stab}")
        } else {
            String::new()
        };
        (desired, note)
    }

    /// Rule 1.5 step 4: remember the change for later periods.
    fn store_event(&mut self, now: u64, current: u32, desired: u32) {
        let Some(b) = &self.scaling.behavior else {
            return;
        };
        let keep = b
            .scale_up
            .longest_period()
            .max(b.scale_down.longest_period());
        for ev in [&mut self.events.up, &mut self.events.down] {
            ev.retain(|(t, _)| t + keep > now);
        }
        if desired > current {
            self.events.up.push((now, desired - current));
        } else {
            self.events.down.push((now, current - desired));
        }
    }
}

// ----------------------------------------------------------------- controller

/// Whole seconds since the start of the run.
pub(crate) fn now_secs(view: &GroupView<'_>) -> u64 {
    view.now.as_nanos() / 1_000_000_000
}

/// A HorizontalPodAutoscaler attached to one group.
#[derive(Clone, Debug)]
pub struct HpaController {
    config: HpaConfig,
    normalizer: Normalizer,
}

impl HpaController {
    /// A controller for `config`, before its first sync.
    pub fn new(config: &HpaConfig) -> Self {
        HpaController {
            config: config.clone(),
            normalizer: Normalizer::new(config.scaling.clone()),
        }
    }

    /// One metric's proposal (rule 1.2), what it saw, and a phrase for the log.
    fn proposal(
        &self,
        metric: HpaMetric,
        view: &GroupView<'_>,
        observed: &mut Vec<(String, f64)>,
    ) -> (Option<u32>, String) {
        let h = view.history;
        let to = h.end().saturating_sub(self.config.metric_lag);
        let window = h.window(to.saturating_sub(self.config.metric_window), to);
        let tol = self.normalizer.tolerance();
        let n = view.counts;
        let current = view.desired;
        match metric {
            HpaMetric::Cpu { target_utilization } => {
                let Some((util, w)) = window.and_then(|w| Some((w.cpu_utilization()?, w))) else {
                    return (None, "cpu: no data".into());
                };
                // Ready = in service with samples covering the whole window;
                // booting (Pending), warming, and pods that became ready
                // after the window started are cpu-unready (rule 1.2 step 4:
                // a sample that does not cover ready time is disregarded).
                let ready = pods_sampled(w.instances, w.seconds, n.in_service);
                let unready = n.active() - ready;
                let p = pod_proposal(
                    util,
                    100.0,
                    f64::from(target_utilization),
                    ready,
                    unready,
                    current,
                    tol,
                );
                observed.push(("cpu_utilization".into(), util));
                observed.push(("cpu_target".into(), f64::from(target_utilization) / 100.0));
                let phrase = format!(
                    "cpu {}% / {target_utilization}% on {ready} ready, {unready} unready ⇒ {}",
                    truncated(util, 100.0),
                    show(p)
                );
                (p, phrase)
            }
            HpaMetric::RequestsPerReplica { target } => {
                // Requests per booted-instance-second; warming instances are
                // ready for non-cpu metrics (rule 1.2 step 4 is cpu-only).
                let wpi = f64::from(view.workers_per_instance);
                let sampled = window.and_then(|w| {
                    (wpi > 0.0 && w.workers_all > 0.0)
                        .then(|| (w.requests as f64 * wpi / w.workers_all, w))
                });
                let Some((avg, w)) = sampled else {
                    return (None, "requests_per_replica: no data".into());
                };
                // Ready = booted pods with samples over the whole window.
                let ready = pods_sampled(w.workers_all / wpi, w.seconds, n.ready());
                let unready = n.active() - ready;
                let p = pod_proposal(
                    avg,
                    1000.0,
                    (target * 1000.0).round(),
                    ready,
                    unready,
                    current,
                    tol,
                );
                observed.push(("requests_per_replica".into(), avg));
                observed.push(("requests_per_replica_target".into(), target));
                let phrase = format!(
                    "requests/s per replica {avg:.3} / {target} on {ready} ready, {unready} unready ⇒ {}",
                    show(p)
                );
                (p, phrase)
            }
            HpaMetric::QueuePerReplica { target } => {
                let Some(row) = to.checked_sub(1).and_then(|s| h.row(s)) else {
                    return (None, "queue: no data".into());
                };
                let queue = row.queued as f64;
                let status = n.active();
                let p = external_average_proposal(queue, target, status, tol);
                observed.push(("queue".into(), queue));
                observed.push(("queue_per_replica_target".into(), target));
                let phrase = format!("queue {queue} / {target} per replica on {status} ⇒ {p}");
                (Some(p), phrase)
            }
        }
    }
}

/// Pods whose samples cover the whole metric window: the window's
/// instance-seconds over its length, rounded down (a pod that joined during
/// the window has a partial sample, which Kubernetes disregards), and no
/// more than the pods `now` ready. The proposal multiplies by this count,
/// so a pod that became ready after the window is not credited with load
/// it was never measured under.
fn pods_sampled(instance_seconds: f64, seconds: u64, now_ready: u32) -> u32 {
    if seconds == 0 {
        return 0;
    }
    let mean = instance_seconds / seconds as f64;
    ((mean + 1e-9).floor().max(0.0) as u32).min(now_ready)
}

/// A proposal for the log.
fn show(p: Option<u32>) -> String {
    p.map_or_else(|| "none".into(), |p| p.to_string())
}

/// Turns a normalizer outcome into a decision; `what` describes the metrics.
pub(crate) fn decision(
    outcome: Outcome,
    current: u32,
    what: &str,
    observed: Vec<(String, f64)>,
) -> Option<Decision> {
    match outcome {
        Outcome::Quiet => None,
        Outcome::Scale { desired, note } => Some(Decision {
            desired: Some(desired),
            observed,
            reason: if note.is_empty() {
                format!("{what}: {current} → {desired}")
            } else {
                format!("{what}: {current} → {desired} ({note})")
            },
            ..Decision::default()
        }),
        Outcome::Held { note } => Some(Decision {
            observed,
            reason: format!("{what}: stays at {current}, held by {note}"),
            ..Decision::default()
        }),
    }
}

impl Policy for HpaController {
    fn kind(&self) -> &'static str {
        "hpa"
    }

    fn tick(&mut self, view: &GroupView<'_>) -> Option<Decision> {
        let now = now_secs(view);
        if now == 0 || !now.is_multiple_of(self.config.sync_period) {
            return None;
        }
        let current = view.desired;
        let mut observed = vec![
            ("current".to_string(), f64::from(current)),
            ("ready".to_string(), f64::from(view.counts.in_service)),
            (
                "unready".to_string(),
                f64::from(view.counts.booting + view.counts.warming),
            ),
        ];
        let mut phrases = Vec::new();
        let mut proposals = Vec::new();
        for &m in &self.config.metrics {
            let (p, phrase) = self.proposal(m, view, &mut observed);
            proposals.push(p);
            phrases.push(phrase);
        }
        let proposal = combine(&proposals, current);
        if let Some(p) = proposal {
            observed.push(("proposal".into(), f64::from(p)));
        }
        let outcome = self
            .normalizer
            .sync(now, current, view.min, view.max, proposal);
        decision(outcome, current, &phrases.join("; "), observed)
    }
}

// -------------------------------------------------------------------- tests

/// Views and histories for the autoscaling tests.
#[cfg(test)]
pub(crate) mod testkit {
    use sim_core::{SimDuration, SimTime};

    use super::super::{GroupView, InstanceCounts, MetricHistory, MetricRow};

    /// One second of `instances` counted instances of one worker each at
    /// utilization `util`, receiving `requests`, with `queued` waiting.
    pub(crate) fn row(util: f64, instances: f64, requests: u64, queued: u64) -> MetricRow {
        MetricRow {
            busy: util * instances,
            workers: instances,
            instances,
            busy_all: util * instances,
            workers_all: instances,
            requests_counted: requests,
            requests,
            queued,
            in_flight: queued,
            ..MetricRow::default()
        }
    }

    /// A history of `seconds` copies of `r`.
    pub(crate) fn history(seconds: u64, r: MetricRow) -> MetricHistory {
        let mut h = MetricHistory::new(100_000);
        for _ in 0..seconds {
            h.push(r);
        }
        h
    }

    /// Counts with `in_service` ready instances only.
    pub(crate) fn serving(in_service: u32) -> InstanceCounts {
        InstanceCounts {
            in_service,
            ..InstanceCounts::default()
        }
    }

    /// The view at the end of `h` (now = `h.end()`), one worker per instance.
    pub(crate) fn view(
        h: &MetricHistory,
        desired: u32,
        min: u32,
        max: u32,
        counts: InstanceCounts,
    ) -> GroupView<'_> {
        GroupView {
            now: SimTime::from_secs(h.end()),
            desired,
            min,
            max,
            counts,
            workers_per_instance: 1,
            mean_boot: SimDuration::from_secs(60),
            history: h,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testkit::{history, row, serving, view};
    use super::*;
    use crate::fleet::autoscale::{InstanceCounts, PolicySpec};

    const TOL: Tolerance = Tolerance { down: 0.1, up: 0.1 };

    fn rules(
        select: SelectPolicy,
        window: u64,
        policies: &[(PolicyKind, u32, u64)],
    ) -> ScalingRules {
        ScalingRules {
            stabilization_window: window,
            select_policy: select,
            policies: policies
                .iter()
                .map(|&(kind, value, period)| ScalingPolicy {
                    kind,
                    value,
                    period,
                })
                .collect(),
        }
    }

    fn default_behavior() -> Behavior {
        let mut c = Check::default();
        let s = lower_scaling(
            &mut c,
            "p",
            None,
            None,
            Some(&BehaviorSpec {
                scale_up: None,
                scale_down: None,
            }),
        );
        assert!(c.ok());
        s.behavior.unwrap()
    }

    fn scaling(behavior: Option<Behavior>) -> Scaling {
        Scaling {
            tolerance: TOL,
            downscale_stabilization: 300,
            behavior,
        }
    }

    fn lower(toml_text: &str) -> (HpaConfig, Vec<(String, String)>) {
        let spec: PolicySpec = toml::from_str(toml_text).expect("parses");
        let PolicySpec::Hpa(spec) = spec else {
            panic!("not an hpa")
        };
        let mut c = Check::default();
        let cfg = lower_hpa(&mut c, "p", &spec);
        let problems = c
            .finish()
            .into_iter()
            .map(|p| (p.path, p.message))
            .collect();
        (cfg, problems)
    }

    /// Rule 0.3 / 1.6: the band is inclusive on both sides and ratio-based;
    /// per-direction tolerances override it.
    #[test]
    fn tolerance_band_is_inclusive() {
        assert!(TOL.within(77.0 / 70.0));
        assert!(TOL.within(63.0 / 70.0));
        assert!(!TOL.within(78.0 / 70.0));
        assert!(!TOL.within(62.0 / 70.0));
        // 77 % on target 70 % is exactly 1.1: no change, at both edges.
        assert_eq!(pod_proposal(0.77, 100.0, 70.0, 10, 0, 10, TOL), Some(10));
        assert_eq!(pod_proposal(0.63, 100.0, 70.0, 10, 0, 10, TOL), Some(10));
        assert_eq!(pod_proposal(0.78, 100.0, 70.0, 10, 0, 10, TOL), Some(12));
        let wide_up = Tolerance { down: 0.1, up: 0.5 };
        assert_eq!(
            pod_proposal(0.98, 100.0, 70.0, 10, 0, 10, wide_up),
            Some(10)
        );
        assert_eq!(pod_proposal(0.62, 100.0, 70.0, 10, 0, 10, wide_up), Some(9));
    }

    /// Rule 0.2: CPU utilization is an integer percent (truncated) before the
    /// ratio is taken.
    #[test]
    fn cpu_percent_is_truncated_first() {
        // 70.9 % → 70 % on target 70 %: ratio exactly 1.
        assert_eq!(pod_proposal(0.709, 100.0, 70.0, 4, 0, 4, TOL), Some(4));
        // 0.29 is 29 %, not 28 % (float noise).
        assert_eq!(truncated(0.29, 100.0), 29.0);
        // 59.9 % → 59 % on target 30 %: ratio 59/30, ceil(1.9667 × 3) = 6.
        assert_eq!(pod_proposal(0.599, 100.0, 30.0, 3, 0, 3, TOL), Some(6));
    }

    /// Rule 0.1: the ratio multiplies the ready count, not `current`; on a
    /// scale-down unready pods are left out (rule 0.4).
    #[test]
    fn proposal_multiplies_ready_pods() {
        // current 5, 3 ready, 2 unready, 40 % on 50 %: ceil(0.8 × 3) = 3,
        // where ceil(0.8 × 5) would be 4.
        assert_eq!(pod_proposal(0.40, 100.0, 50.0, 3, 2, 5, TOL), Some(3));
        // No ready pod: the metric errors.
        assert_eq!(pod_proposal(0.9, 100.0, 50.0, 0, 3, 3, TOL), None);
    }

    /// Rule 0.4 / 1.2: on a scale-up unready pods re-enter at 0, and the
    /// direction-flip and "n against current" guards keep `current`.
    #[test]
    fn unready_pods_reenter_at_zero_on_scale_up() {
        // 4 ready at 90 %, 1 unready, target 50: ratio 1.8; with the unready
        // pod at 0: 72 % → 1.44, ceil(1.44 × 5) = 8.
        assert_eq!(pod_proposal(0.90, 100.0, 50.0, 4, 1, 5, TOL), Some(8));
        // 2 ready at 100 %, 2 unready, target 50: 50 % → ratio 1: keep.
        assert_eq!(pod_proposal(1.0, 100.0, 50.0, 2, 2, 4, TOL), Some(4));
        // 2 ready at 100 %, 4 unready, target 60: 33 % → 0.55, flipped: keep.
        assert_eq!(pod_proposal(1.0, 100.0, 60.0, 2, 4, 6, TOL), Some(6));
        // 2 ready at 90 %, 1 unready, target 50, current 10: 60 % → 1.2,
        // ceil(3.6) = 4 < 10 on a scale-up: keep.
        assert_eq!(pod_proposal(0.90, 100.0, 50.0, 2, 1, 10, TOL), Some(10));
    }

    /// Rule 0.9 / 1.2: External `AverageValue` is `ceil(total / target)`,
    /// readiness-independent; the tolerance is against `status.replicas`.
    #[test]
    fn external_average_value_ignores_readiness() {
        assert_eq!(external_average_proposal(30.0, 10.0, 5, TOL), 3);
        assert_eq!(external_average_proposal(31.0, 10.0, 3, TOL), 3);
        assert_eq!(external_average_proposal(34.0, 10.0, 3, TOL), 4);
        // Inside the band the answer is status, not ceil(total / target).
        assert_eq!(external_average_proposal(20.5, 10.0, 2, TOL), 2);
        assert_eq!(external_average_proposal(30.0, 10.0, 0, TOL), 3);
        assert_eq!(external_average_proposal(0.0, 10.0, 0, TOL), 0);
    }

    /// Rule 1.2 "Several metrics": the max; no scale-down on partial data.
    #[test]
    fn several_metrics_take_the_max() {
        assert_eq!(combine(&[Some(3), Some(7)], 5), Some(7));
        assert_eq!(combine(&[None, Some(7)], 5), Some(7));
        assert_eq!(combine(&[None, Some(3)], 5), None);
        assert_eq!(combine(&[None, None], 5), None);
    }

    /// Rule 1.5 worked example: default rules, 10 → desire 50 ⇒ 20 (pods 4
    /// gives 14, percent 100 gives 20, `max` wins).
    #[test]
    fn default_behavior_10_to_50_gives_20() {
        let b = default_behavior();
        let ev = ScaleEvents::default();
        let up = scale_up_limit(10, &ev, &b.scale_up, 100);
        assert_eq!(up, 20);
        assert_eq!(behavior_limits(50, 10, 1, 100, up, 0), 20);
        let min_rules = ScalingRules {
            select_policy: SelectPolicy::Min,
            ..b.scale_up.clone()
        };
        assert_eq!(scale_up_limit(10, &ev, &min_rules, 100), 14);
    }

    /// Rule 0.7 / 1.5 worked example: percent scale-up rounds up: 1 % from
    /// 3 ⇒ 4; percent scale-down truncates: 1 % from 3 ⇒ 2.
    #[test]
    fn percent_1_from_3_gives_4() {
        let ev = ScaleEvents::default();
        let r = rules(SelectPolicy::Max, 0, &[(PolicyKind::Percent, 1, 15)]);
        assert_eq!(scale_up_limit(3, &ev, &r, 100), 4);
        assert_eq!(scale_down_limit(3, &ev, &r, 100), 2);
    }

    /// Rule 1.5 worked example: scale-down pods 20 vs percent 1 % from 100
    /// ⇒ 80 (`max` = the lowest floor).
    #[test]
    fn scale_down_pods_20_vs_percent_1_gives_80() {
        let ev = ScaleEvents::default();
        let r = rules(
            SelectPolicy::Max,
            0,
            &[(PolicyKind::Pods, 20, 60), (PolicyKind::Percent, 1, 60)],
        );
        let down = scale_down_limit(100, &ev, &r, 1000);
        assert_eq!(down, 80);
        assert_eq!(behavior_limits(10, 100, 1, 200, 0, down), 80);
    }

    /// Rule 1.5 worked example: recent +1/+5/+9 within 120 s and pods 150
    /// per 120 s ⇒ period start 85, limit 85 + 150 = 235; events at or before
    /// `now − period` no longer count.
    #[test]
    fn recent_events_move_period_start() {
        let ev = ScaleEvents {
            up: vec![(900, 1), (950, 5), (1000, 9), (880, 40)],
            down: vec![],
        };
        let r = rules(SelectPolicy::Max, 0, &[(PolicyKind::Pods, 150, 120)]);
        assert_eq!(scale_up_limit(100, &ev, &r, 1000), 235);
        let with_down = ScaleEvents {
            down: vec![(990, 10)],
            ..ev
        };
        assert_eq!(scale_up_limit(100, &with_down, &r, 1000), 245);
    }

    /// Rule 0.5 / 1.4: without `behavior` the cap is `max(2 × current, 4)`:
    /// 1 → 4 and 3 → 6; the default behavior gives 1 → 5 and 3 → 7.
    #[test]
    fn legacy_and_default_behavior_differ_for_small_groups() {
        assert_eq!(legacy_limits(100, 1, 1, 1000), 4);
        assert_eq!(legacy_limits(100, 3, 1, 1000), 6);
        let b = default_behavior();
        let ev = ScaleEvents::default();
        for (current, want) in [(1, 5), (3, 7)] {
            let up = scale_up_limit(current, &ev, &b.scale_up, 100);
            assert_eq!(behavior_limits(100, current, 1, 1000, up, 0), want);
        }
        // The same through a first sync of each path.
        let mut legacy = Normalizer::new(scaling(None));
        assert_eq!(
            legacy.sync(15, 3, 1, 1000, Some(100)),
            Outcome::Scale {
                desired: 6,
                note: "the scale-up cap max(2 × 3, 4) allows 6".into()
            }
        );
        let mut with = Normalizer::new(scaling(Some(b)));
        assert!(matches!(
            with.sync(15, 3, 1, 1000, Some(100)),
            Outcome::Scale { desired: 7, .. }
        ));
    }

    /// Rule 1.4: legacy scale-down follows the largest proposal of the last
    /// 300 s, the window's edge included.
    #[test]
    fn legacy_downscale_stabilization_300s() {
        let mut n = Normalizer::new(scaling(None));
        // First sync at 15 records current 10 and proposes 10.
        assert_eq!(n.sync(15, 10, 1, 100, Some(10)), Outcome::Quiet);
        let mut t = 30;
        while t <= 315 {
            let o = n.sync(t, 10, 1, 100, Some(4));
            assert!(matches!(o, Outcome::Held { .. }), "t={t}: {o:?}");
            t += 15;
        }
        // At 330 the last 10 (t = 15) is 315 s old: out of the window.
        assert!(matches!(
            n.sync(330, 10, 1, 100, Some(4)),
            Outcome::Scale { desired: 4, .. }
        ));
        assert_eq!(stabilize_legacy(&[(0, 10)], 300, 300, 4), 10);
        assert_eq!(stabilize_legacy(&[(0, 10)], 301, 300, 4), 4);
    }

    /// Rule 0.6: after a (re)start the first scale-down is held for the
    /// stabilization window, because the current size is recorded first.
    #[test]
    fn first_sync_holds_scale_down() {
        let mut n = Normalizer::new(scaling(Some(default_behavior())));
        let o = n.sync(15, 10, 1, 100, Some(5));
        assert_eq!(
            o,
            Outcome::Held {
                note: "the scale-down stabilization window (300 s) keeps 10".into()
            }
        );
        // A scale-up is immediate (up window 0).
        let mut n = Normalizer::new(scaling(Some(default_behavior())));
        assert!(matches!(
            n.sync(15, 10, 1, 100, Some(12)),
            Outcome::Scale { desired: 12, .. }
        ));
    }

    /// Rule 1.5 step 2: with both windows set the size moves only when every
    /// recent proposal agrees on the direction; window edges are excluded.
    #[test]
    fn both_windows_move_only_when_all_agree() {
        let recs = [(100, 5), (115, 12)];
        assert_eq!(stabilize_behavior(&recs, 130, 60, 60, 10, 8), 10);
        // All recent proposals above current: the smallest of them.
        assert_eq!(
            stabilize_behavior(&[(100, 14), (115, 12)], 130, 60, 60, 10, 13),
            12
        );
        // All below: the largest.
        assert_eq!(
            stabilize_behavior(&[(100, 5), (115, 7)], 130, 60, 60, 10, 6),
            7
        );
        // A proposal exactly one window old no longer counts.
        assert_eq!(
            stabilize_behavior(&[(70, 5), (115, 12)], 130, 60, 60, 10, 13),
            12
        );
    }

    /// Rule 1.5: `select_policy = disabled` keeps the size in that direction
    /// and the hold is logged.
    #[test]
    fn select_policy_disabled_blocks_scale_up() {
        let mut b = default_behavior();
        b.scale_up.select_policy = SelectPolicy::Disabled;
        let mut n = Normalizer::new(scaling(Some(b)));
        assert_eq!(
            n.sync(15, 4, 1, 100, Some(9)),
            Outcome::Held {
                note: "scale-up select_policy disabled".into()
            }
        );
    }

    /// Rule 1.5 steps 3–4: a scale event shrinks the next period's budget.
    #[test]
    fn scale_events_limit_the_next_period() {
        let mut b = default_behavior();
        b.scale_up.policies = vec![ScalingPolicy {
            kind: PolicyKind::Pods,
            value: 2,
            period: 60,
        }];
        let mut n = Normalizer::new(scaling(Some(b)));
        assert!(matches!(
            n.sync(15, 4, 1, 100, Some(20)),
            Outcome::Scale { desired: 6, .. }
        ));
        // 15 s later the +2 still counts: start 4, limit 6 = current: held.
        assert!(matches!(
            n.sync(30, 6, 1, 100, Some(20)),
            Outcome::Held { .. }
        ));
        // After 60 s the event leaves the period.
        assert!(matches!(
            n.sync(75, 6, 1, 100, Some(20)),
            Outcome::Scale { desired: 8, .. }
        ));
    }

    /// Rules 0.8 and 1.3: `current == 0` with `min ≥ 1` disables the HPA;
    /// a size outside the bounds moves to the bound at once.
    #[test]
    fn disabled_and_out_of_bounds() {
        let mut n = Normalizer::new(scaling(None));
        assert_eq!(n.sync(15, 0, 1, 10, Some(5)), Outcome::Quiet);
        assert!(matches!(
            n.sync(30, 12, 1, 10, Some(12)),
            Outcome::Scale { desired: 10, .. }
        ));
        assert!(matches!(
            n.sync(45, 1, 3, 10, None),
            Outcome::Scale { desired: 3, .. }
        ));
        // At the bound a wanted change beyond it is not a hold.
        assert_eq!(n.sync(60, 10, 1, 10, Some(15)), Outcome::Quiet);
    }

    /// Rules 1.1 and 1.7: syncs at each multiple of the period, the metric
    /// read over `[t − lag − window, t − lag)`; default metric cpu 80 %.
    #[test]
    fn tick_syncs_on_period_and_reads_lagged_window() {
        let (cfg, problems) =
            lower("type = \"hpa\"\nmetrics = [{ type = \"cpu\", target_utilization = 50 }]");
        assert!(problems.is_empty(), "{problems:?}");
        let mut hpa = HpaController::new(&cfg);
        let mut h = history(15, row(0.5, 4.0, 0, 0));
        // t = 15: the lagged window [-15, 0) is empty: no data, nothing.
        assert_eq!(hpa.tick(&view(&h, 4, 1, 10, serving(4))), None);
        for _ in 0..15 {
            h.push(row(1.0, 4.0, 0, 0));
        }
        // t = 30 reads [0, 15) at 50 %: ratio 1, quiet.
        assert_eq!(hpa.tick(&view(&h, 4, 1, 10, serving(4))), None);
        h.push(row(1.0, 4.0, 0, 0));
        // t = 31 is not a sync.
        assert_eq!(hpa.tick(&view(&h, 4, 1, 10, serving(4))), None);
        for _ in 0..14 {
            h.push(row(1.0, 4.0, 0, 0));
        }
        // t = 45 reads [15, 30) at 100 %: ratio 2 ⇒ 8 (cap 2 × 4).
        let d = hpa.tick(&view(&h, 4, 1, 10, serving(4))).expect("scales");
        assert_eq!(d.desired, Some(8));
        assert!(
            d.reason.starts_with("cpu 100% / 50% on 4 ready"),
            "{}",
            d.reason
        );
    }

    /// Rule 1.2 through `tick`: the requests metric counts warming
    /// instances as ready, the queue metric ignores readiness; the max wins.
    #[test]
    fn tick_takes_the_max_over_metrics() {
        let (cfg, problems) = lower(
            "type = \"hpa\"\nmetric_lag = 0\nbehavior = {}\nmetrics = [{ type = \"requests_per_replica\", target = 10 }, { type = \"queue_per_replica\", target = 5 }]",
        );
        assert!(problems.is_empty(), "{problems:?}");
        let mut hpa = HpaController::new(&cfg);
        // 4 instances, 60 requests/s: 15 per instance ⇒ ceil(1.5 × 4) = 6;
        // 40 queued / 5 ⇒ 8.
        let h = history(15, row(0.5, 4.0, 60, 40));
        let counts = InstanceCounts {
            warming: 1,
            in_service: 3,
            ..InstanceCounts::default()
        };
        let d = hpa.tick(&view(&h, 4, 1, 20, counts)).expect("scales");
        assert_eq!(d.desired, Some(8));
        assert!(d.observed.contains(&("queue".into(), 40.0)));
    }

    /// Lowering: defaults, and every bad value reported with its path.
    #[test]
    fn lowering_defaults_and_problems() {
        let (cfg, problems) = lower("type = \"hpa\"");
        assert!(problems.is_empty());
        assert_eq!(
            cfg.metrics,
            vec![HpaMetric::Cpu {
                target_utilization: 80
            }]
        );
        assert_eq!(
            (cfg.sync_period, cfg.metric_window, cfg.metric_lag),
            (15, 15, 15)
        );
        assert_eq!(cfg.scaling, scaling(None));
        assert_eq!(cfg.history_seconds(), 31);
        let (cfg, problems) = lower(
            r#"type = "hpa"
sync_period = "1.5s"
tolerance = -1
metrics = [{ type = "cpu", target_utilization = 0 }, { type = "queue_per_replica", target = 0 }]
behavior = { scale_up = { policies = [], tolerance = 0.2 }, scale_down = { stabilization_window = "2h", policies = [{ type = "percent", value = 0, period = "31min" }] } }
"#,
        );
        let paths: Vec<&str> = problems.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            vec![
                "p.metrics[0].target_utilization",
                "p.metrics[1].target",
                "p.sync_period",
                "p.tolerance",
                "p.behavior.scale_up.policies",
                "p.behavior.scale_down.stabilization_window",
                "p.behavior.scale_down.policies[0].value",
                "p.behavior.scale_down.policies[0].period",
            ]
        );
        let b = cfg.scaling.behavior.unwrap();
        assert_eq!(cfg.scaling.tolerance.up, 0.2);
        assert_eq!(b.scale_down.stabilization_window, 300);
    }

    /// The documented TOML shape parses, `behavior` fields included.
    #[test]
    fn full_spec_parses() {
        let (cfg, problems) = lower(
            r#"type = "hpa"
metrics = [{ type = "cpu", target_utilization = 70 }, { type = "requests_per_replica", target = 100 }, { type = "queue_per_replica", target = 10 }]
sync_period = "15s"
metric_window = "15s"
metric_lag = "15s"
tolerance = 0.1
downscale_stabilization = "5min"
[behavior.scale_up]
stabilization_window = "0s"
select_policy = "max"
policies = [{ type = "pods", value = 4, period = "15s" }, { type = "percent", value = 100, period = "15s" }]
tolerance = 0.1
[behavior.scale_down]
stabilization_window = "300s"
select_policy = "min"
policies = [{ type = "percent", value = 10, period = "1min" }]
"#,
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(cfg.metrics.len(), 3);
        let b = cfg.scaling.behavior.unwrap();
        assert_eq!(b.scale_up, default_behavior().scale_up);
        assert_eq!(
            b.scale_down.policies,
            vec![ScalingPolicy {
                kind: PolicyKind::Percent,
                value: 10,
                period: 60
            }]
        );
        assert!(toml::from_str::<PolicySpec>("type = \"hpa\"\nsurprise = 1").is_err());
    }
}
