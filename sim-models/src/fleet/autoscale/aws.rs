//! AWS EC2 Auto Scaling dynamic policies: target tracking (reference §2.1),
//! step scaling (§2.2) and simple scaling with a cooldown (§2.3).
//!
//! Shared mechanics (§2.0), as modelled here:
//! - every policy watches a CloudWatch alarm over **one-minute datapoints**;
//!   the datapoint of minute `m` covers `[60m, 60m + 60)` s and alarms are
//!   evaluated at each whole minute, once the history holds that minute;
//! - an alarm is in ALARM when at least `datapoints` of the last `periods`
//!   datapoints breach its threshold; a minute with no counted instance has
//!   no datapoint (missing, never breaching); with no datapoint at all the
//!   alarm is INSUFFICIENT_DATA and the policy does nothing;
//! - Auto Scaling actions are **re-invoked every minute** while the alarm
//!   stays in ALARM, not only on the transition;
//! - metrics exclude warming instances (the history's "counted" instances):
//!   `cpu` is `ASGAverageCPUUtilization` in percent (0–100),
//!   `requests_per_target` is `ALBRequestCountPerTarget`, requests per
//!   target per minute;
//! - the model clamps every desired capacity to `[min, max]`; decisions here
//!   are clamped too so that a no-op at a bound is not logged as a change.

use std::ops::Bound;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sim_core::{SimDuration, SimTime};

use super::group::MAX_AUTOSCALE_INSTANCES;
use super::{Decision, GroupView, MetricHistory, Policy};
use crate::fleet::lower::Check;
use crate::spec::Seconds;

/// Most one-minute periods an alarm may look back over (one hour).
const MAX_PERIODS: u64 = 60;
/// Slack for `ceil` so that float noise (`0.7 × 100 / 70`) does not add an
/// instance.
const EPS: f64 = 1e-9;

// ---------------------------------------------------------------- metrics

/// The metric an AWS policy's alarms watch (§2.1 predefined metrics).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AwsMetric {
    /// `ASGAverageCPUUtilization`: average CPU of counted instances, percent
    /// 0–100 (thresholds and targets are written in percent).
    Cpu,
    /// `ALBRequestCountPerTarget`: requests per counted instance per minute.
    RequestsPerTarget,
}

impl AwsMetric {
    /// The name used in decision logs.
    pub fn name(self) -> &'static str {
        match self {
            AwsMetric::Cpu => "cpu_percent",
            AwsMetric::RequestsPerTarget => "requests_per_target_per_min",
        }
    }

    /// The datapoint of minute `minute` (seconds `[60m, 60m + 60)`), `None`
    /// when the minute is not fully recorded or no instance was counted.
    pub fn datapoint(self, history: &MetricHistory, minute: u64) -> Option<f64> {
        let from = minute.checked_mul(60)?;
        let w = history.window(from, from + 60)?;
        if w.seconds < 60 {
            return None;
        }
        match self {
            AwsMetric::Cpu => {
                (w.workers > 0.0).then(|| (w.busy * 100.0 / w.workers).clamp(0.0, 100.0))
            }
            AwsMetric::RequestsPerTarget => {
                (w.instances > 0.0).then(|| w.requests_counted as f64 * 60.0 / w.instances)
            }
        }
    }

    /// Checks a threshold or target value for this metric.
    fn check_value(self, c: &mut Check, path: &str, value: f64, positive: bool) -> f64 {
        let low = if positive {
            Bound::Excluded(0.0)
        } else {
            Bound::Included(0.0)
        };
        let high = match self {
            AwsMetric::Cpu => Bound::Included(100.0),
            AwsMetric::RequestsPerTarget => Bound::Unbounded,
        };
        c.real(path, value, low, high)
    }
}

/// How an alarm compares its datapoints with the threshold (CloudWatch
/// `ComparisonOperator`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Comparison {
    /// `GreaterThanThreshold`.
    Greater,
    /// `GreaterThanOrEqualToThreshold`.
    GreaterOrEqual,
    /// `LessThanThreshold`.
    Less,
    /// `LessThanOrEqualToThreshold`.
    LessOrEqual,
}

impl Comparison {
    /// Whether `value` breaches `threshold`.
    pub fn breaches(self, value: f64, threshold: f64) -> bool {
        match self {
            Comparison::Greater => value > threshold,
            Comparison::GreaterOrEqual => value >= threshold,
            Comparison::Less => value < threshold,
            Comparison::LessOrEqual => value <= threshold,
        }
    }

    /// Whether the alarm fires above its threshold (decides which step
    /// bounds are inclusive, §2.2).
    pub fn is_upper(self) -> bool {
        matches!(self, Comparison::Greater | Comparison::GreaterOrEqual)
    }

    fn symbol(self) -> &'static str {
        match self {
            Comparison::Greater => ">",
            Comparison::GreaterOrEqual => "≥",
            Comparison::Less => "<",
            Comparison::LessOrEqual => "≤",
        }
    }
}

/// A CloudWatch alarm: ALARM when `datapoints` of the last `periods`
/// one-minute datapoints breach `threshold` (§2.0 "M out of N").
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Alarm {
    /// Threshold θ, in the metric's unit.
    pub threshold: f64,
    /// How datapoints are compared with θ.
    pub comparison: Comparison,
    /// N: datapoints looked at.
    pub periods: u32,
    /// M: breaching datapoints needed (1 ≤ M ≤ N).
    pub datapoints: u32,
}

/// The state of an alarm at one evaluation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum AlarmState {
    /// In ALARM; `value` is the most recent datapoint.
    Alarm {
        /// The most recent datapoint of the evaluation range.
        value: f64,
    },
    /// Not breaching.
    Ok,
    /// No datapoint in the evaluation range.
    InsufficientData,
}

impl Alarm {
    /// The state given the evaluation range's datapoints, oldest first
    /// (`None` = missing, counted as not breaching).
    pub fn state(&self, datapoints: &[Option<f64>]) -> AlarmState {
        let breaching = datapoints
            .iter()
            .flatten()
            .filter(|&&v| self.comparison.breaches(v, self.threshold))
            .count();
        match datapoints.iter().rev().flatten().next() {
            None => AlarmState::InsufficientData,
            Some(&value) if breaching >= self.datapoints as usize => AlarmState::Alarm { value },
            Some(_) => AlarmState::Ok,
        }
    }

    /// The state after `done` whole minutes of the run.
    fn evaluate(&self, metric: AwsMetric, history: &MetricHistory, done: u64) -> AlarmState {
        let from = done.saturating_sub(u64::from(self.periods));
        let points: Vec<Option<f64>> = (from..done).map(|m| metric.datapoint(history, m)).collect();
        self.state(&points)
    }

    fn describe(&self, metric: AwsMetric) -> String {
        format!(
            "{} {} {} for {} of {} datapoints",
            metric.name(),
            self.comparison.symbol(),
            self.threshold,
            self.datapoints,
            self.periods
        )
    }
}

/// Alarm fields as written, for [`lower_alarm`].
struct AlarmFields {
    threshold: f64,
    comparison: Option<Comparison>,
    evaluation_periods: Option<u64>,
    datapoints_to_alarm: Option<u64>,
}

/// Checks an alarm's fields under `path`; `default` is the comparison used
/// when none is written.
fn lower_alarm(
    c: &mut Check,
    path: &str,
    metric: AwsMetric,
    f: &AlarmFields,
    default: Comparison,
) -> Alarm {
    let threshold = metric.check_value(c, &format!("{path}.threshold"), f.threshold, false);
    let periods = c.count(
        &format!("{path}.evaluation_periods"),
        f.evaluation_periods.unwrap_or(1),
        1,
        MAX_PERIODS,
    );
    let datapoints = c.count(
        &format!("{path}.datapoints_to_alarm"),
        f.datapoints_to_alarm.unwrap_or(u64::from(periods)),
        1,
        MAX_PERIODS,
    );
    if datapoints > periods {
        c.add(
            format!("{path}.datapoints_to_alarm"),
            format!("{datapoints} is more than evaluation_periods ({periods})"),
        );
    }
    Alarm {
        threshold,
        comparison: f.comparison.unwrap_or(default),
        periods,
        datapoints: datapoints.min(periods),
    }
}

/// Counts whole minutes: the alarms of a policy are evaluated once per
/// minute, at the first tick after the history completes it.
#[derive(Clone, Copy, Debug, Default)]
struct MinuteClock {
    done: u64,
}

impl MinuteClock {
    /// The number of whole minutes recorded, if a new one was completed
    /// since the last call.
    fn advance(&mut self, history: &MetricHistory) -> Option<u64> {
        let done = history.end() / 60;
        (done > self.done).then(|| {
            self.done = done;
            done
        })
    }
}

// ---------------------------------------------------------------- arithmetic

/// `ceil` with a little slack against float noise.
fn ceil_units(x: f64) -> u32 {
    if x.is_finite() && x > 0.0 {
        (x - EPS).ceil().clamp(0.0, f64::from(u32::MAX)) as u32
    } else {
        0
    }
}

/// Target-tracking capacity (§2.1): `ceil(capacity × metric / target)`,
/// rounding up so as not to under-provision (+1.5 ⇒ +2, −1.5 ⇒ −1).
pub fn target_tracking_capacity(capacity: u32, metric: f64, target: f64) -> u32 {
    if target > 0.0 {
        ceil_units(f64::from(capacity) * metric / target)
    } else {
        capacity
    }
}

/// How a step or simple policy's adjustment is read (§2.2 table).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AdjustmentType {
    /// `current + adjustment`.
    ChangeInCapacity,
    /// `current + R(current × adjustment / 100)`.
    PercentChangeInCapacity,
    /// `adjustment` (non-negative).
    ExactCapacity,
}

/// The rounding `R` of a percent change (§2.2): values > 1 round down,
/// values in (0, 1) become 1, values in (−1, 0) become −1, values < −1
/// round toward zero.
pub fn round_percent_change(x: f64) -> i64 {
    if !x.is_finite() || x == 0.0 {
        0
    } else if x > 0.0 {
        (x.floor() as i64).max(1)
    } else {
        (x.trunc() as i64).min(-1)
    }
}

/// The capacity an adjustment gives from `base` (§2.2 table), with
/// `min_magnitude` (`MinAdjustmentMagnitude`, percent type only, 0 = none):
/// the absolute change is at least that many instances.
pub fn adjusted_capacity(
    kind: AdjustmentType,
    adjustment: i64,
    min_magnitude: u32,
    base: u32,
) -> u32 {
    let change = match kind {
        AdjustmentType::ExactCapacity => return adjustment.clamp(0, i64::from(u32::MAX)) as u32,
        AdjustmentType::ChangeInCapacity => adjustment,
        AdjustmentType::PercentChangeInCapacity => {
            let r = round_percent_change(f64::from(base) * adjustment as f64 / 100.0);
            if adjustment != 0 && r.abs() < i64::from(min_magnitude) {
                adjustment.signum() * i64::from(min_magnitude)
            } else {
                r
            }
        }
    };
    (i64::from(base) + change).clamp(0, i64::from(u32::MAX)) as u32
}

/// Step scaling with warm-up (§2.2, the reference's model): a scale-out
/// counts from the in-service instances (warming ones excluded) and never
/// lowers the desired capacity, `max(desired, inService + R(adj, inService))`,
/// so repeated breaches in one step launch once and a higher step adds only
/// the difference; a scale-in counts from the desired capacity; an exact
/// capacity is taken as is.
pub fn step_capacity(
    kind: AdjustmentType,
    adjustment: i64,
    min_magnitude: u32,
    desired: u32,
    in_service: u32,
) -> u32 {
    match kind {
        AdjustmentType::ExactCapacity => adjusted_capacity(kind, adjustment, 0, desired),
        _ if adjustment > 0 => desired.max(adjusted_capacity(
            kind,
            adjustment,
            min_magnitude,
            in_service,
        )),
        _ => adjusted_capacity(kind, adjustment, min_magnitude, desired),
    }
}

/// Checks an adjustment value for its type.
fn check_adjustment(c: &mut Check, path: &str, kind: AdjustmentType, value: i64) -> i64 {
    let cap = MAX_AUTOSCALE_INSTANCES as i64;
    let (lo, hi) = match kind {
        AdjustmentType::ChangeInCapacity => (-cap, cap),
        AdjustmentType::PercentChangeInCapacity => (-100, 10_000),
        AdjustmentType::ExactCapacity => (0, cap),
    };
    if value < lo || value > hi {
        c.add(
            path,
            format!("must be in [{lo}, {hi}] for this adjustment_type, got {value}"),
        );
        return value.clamp(lo, hi);
    }
    value
}

/// Checks `min_adjustment_magnitude` (percent type only).
fn check_magnitude(c: &mut Check, path: &str, kind: AdjustmentType, value: Option<u64>) -> u32 {
    let Some(v) = value else { return 0 };
    if kind != AdjustmentType::PercentChangeInCapacity {
        c.add(
            path,
            "only applies to adjustment_type = \"percent_change_in_capacity\"",
        );
        return 0;
    }
    c.count(path, v, 1, MAX_AUTOSCALE_INSTANCES)
}

// ---------------------------------------------------------------- decisions

/// A held decision: a rule stopped a wanted change.
fn held(observed: Vec<(String, f64)>, reason: String) -> Option<Decision> {
    Some(Decision {
        observed,
        reason,
        ..Decision::default()
    })
}

/// Moves to `wanted` clamped to the view's bounds; a scale-out stopped by
/// the max is a held decision; no change otherwise is `None`.
fn propose(
    view: &GroupView<'_>,
    wanted: u32,
    observed: Vec<(String, f64)>,
    reason: String,
) -> Option<Decision> {
    let hi = view.max.max(view.min);
    let clamped = wanted.clamp(view.min, hi);
    if clamped != view.desired {
        let reason = if clamped == wanted {
            reason
        } else {
            format!("{reason}; clamped to {clamped}")
        };
        return Some(Decision {
            desired: Some(clamped),
            observed,
            reason,
            ..Decision::default()
        });
    }
    if wanted > view.desired {
        return held(
            observed,
            format!("{reason}, but the group is at its max ({hi})"),
        );
    }
    None
}

fn obs(name: &str, value: f64) -> (String, f64) {
    (name.to_string(), value)
}

fn secs(t: SimTime) -> f64 {
    t.as_secs_f64()
}

// ---------------------------------------------------------------- target tracking

/// `type = "target_tracking"`: keep a metric at a target (§2.1).
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetTrackingSpec {
    /// The tracked metric (required): `cpu` or `requests_per_target`.
    pub metric: AwsMetric,
    /// Target value (required): percent for `cpu` (0, 100], requests per
    /// target per minute for `requests_per_target` (> 0).
    pub target: f64,
    /// Never scale in (`DisableScaleIn`, default false).
    #[serde(default)]
    pub disable_scale_in: Option<bool>,
    /// How far below the target the scale-in alarm sits, as a fraction of
    /// the target (default 0.1: the documentation's "typically 10% or more
    /// lower"; AlarmLow threshold = target × (1 − margin)).
    #[serde(default)]
    pub scale_in_margin: Option<f64>,
    /// Datapoints of AlarmHigh, "M of M" (default 3: an observed service
    /// default for one-minute metrics, not a documented contract).
    #[serde(default)]
    pub datapoints_to_alarm_high: Option<u64>,
    /// Datapoints of AlarmLow, "M of M" (default 15, same caveat).
    #[serde(default)]
    pub datapoints_to_alarm_low: Option<u64>,
}

/// Lowered target tracking.
#[derive(Clone, Debug, PartialEq)]
pub struct TargetTrackingConfig {
    /// The tracked metric.
    pub metric: AwsMetric,
    /// Target value in the metric's unit.
    pub target: f64,
    /// Never scale in.
    pub disable_scale_in: bool,
    /// Scale-out alarm: metric > target, M of M.
    pub high: Alarm,
    /// Scale-in alarm: metric < target × (1 − margin), M of M.
    pub low: Alarm,
}

impl TargetTrackingConfig {
    /// Seconds of history read at most (the longer alarm, plus a minute).
    pub fn history_seconds(&self) -> u64 {
        60 * (u64::from(self.high.periods.max(self.low.periods)) + 1)
    }
}

/// Checks and lowers `spec` found at `path`.
pub(crate) fn lower_target_tracking(
    c: &mut Check,
    path: &str,
    spec: &TargetTrackingSpec,
) -> TargetTrackingConfig {
    let metric = spec.metric;
    let target = metric.check_value(c, &format!("{path}.target"), spec.target, true);
    let margin = c.real(
        &format!("{path}.scale_in_margin"),
        spec.scale_in_margin.unwrap_or(0.1),
        Bound::Included(0.0),
        Bound::Excluded(1.0),
    );
    let mut periods = |field: &str, value: Option<u64>, default: u64| {
        c.count(
            &format!("{path}.{field}"),
            value.unwrap_or(default),
            1,
            MAX_PERIODS,
        )
    };
    let high = periods("datapoints_to_alarm_high", spec.datapoints_to_alarm_high, 3);
    let low = periods("datapoints_to_alarm_low", spec.datapoints_to_alarm_low, 15);
    TargetTrackingConfig {
        metric,
        target,
        disable_scale_in: spec.disable_scale_in.unwrap_or(false),
        high: Alarm {
            threshold: target,
            comparison: Comparison::Greater,
            periods: high,
            datapoints: high,
        },
        low: Alarm {
            threshold: target * (1.0 - margin),
            comparison: Comparison::Less,
            periods: low,
            datapoints: low,
        },
    }
}

/// Target tracking at run time.
///
/// At each whole minute:
/// - AlarmHigh in ALARM ⇒ needed = `ceil(ready × metric / target)`, where
///   `ready` = in-service + warming instances (the ones sharing the load the
///   metric measures); scale out to `needed` only if it exceeds the current
///   capacity (booting + warming + in service), so launched and warming
///   instances count toward capacity and are not re-added. With nothing
///   booting this is the reference's `ceil(current × metric / target)`;
///   multiplying booting instances by a metric they do not yet dilute would
///   add them a second time every minute until they boot;
/// - otherwise AlarmLow in ALARM (and scale-in enabled) ⇒ if any instance is
///   booting or warming, scale-in is blocked (held); else
///   `max(ceil(current × metric / target), min, 1)` if below current. The
///   ceiling already guarantees removing instances does not push the metric
///   above the target (`current × metric / new ≤ target`).
///
/// No cooldown (§2.1, §0.11).
#[derive(Clone, Debug)]
pub struct TargetTrackingController {
    config: TargetTrackingConfig,
    clock: MinuteClock,
}

impl TargetTrackingController {
    /// A controller for `config`.
    pub fn new(config: &TargetTrackingConfig) -> Self {
        TargetTrackingController {
            config: config.clone(),
            clock: MinuteClock::default(),
        }
    }
}

impl Policy for TargetTrackingController {
    fn kind(&self) -> &'static str {
        "target_tracking"
    }

    fn tick(&mut self, view: &GroupView<'_>) -> Option<Decision> {
        let done = self.clock.advance(view.history)?;
        let cfg = &self.config;
        let n = view.counts;
        let current = n.active();
        let observed = |m: f64| {
            vec![
                obs(cfg.metric.name(), m),
                obs("target", cfg.target),
                obs("ready", f64::from(n.ready())),
                obs("capacity", f64::from(current)),
            ]
        };
        if let AlarmState::Alarm { value: m } = cfg.high.evaluate(cfg.metric, view.history, done) {
            let needed = target_tracking_capacity(n.ready(), m, cfg.target);
            let why = format!(
                "AlarmHigh ({}): ceil({} × {m:.2} / {}) = {needed}",
                cfg.high.describe(cfg.metric),
                n.ready(),
                cfg.target
            );
            if needed > current {
                return propose(view, needed, observed(m), why);
            }
            if n.booting + n.warming > 0 {
                return held(
                    observed(m),
                    format!(
                        "{why}, already covered by {current} instances ({} booting, {} warming)",
                        n.booting, n.warming
                    ),
                );
            }
            return None;
        }
        if cfg.disable_scale_in {
            return None;
        }
        let AlarmState::Alarm { value: m } = cfg.low.evaluate(cfg.metric, view.history, done)
        else {
            return None;
        };
        let wanted = target_tracking_capacity(current, m, cfg.target)
            .max(view.min)
            .max(1);
        if wanted >= current {
            return None;
        }
        let why = format!(
            "AlarmLow ({}): ceil({current} × {m:.2} / {}) = {wanted}",
            cfg.low.describe(cfg.metric),
            cfg.target
        );
        if n.booting + n.warming > 0 {
            return held(
                observed(m),
                format!(
                    "{why}; scale-in blocked while {} instances boot or warm up",
                    n.booting + n.warming
                ),
            );
        }
        propose(view, wanted, observed(m), why)
    }
}

// ---------------------------------------------------------------- step scaling

/// One step adjustment as written: an interval of `metric − threshold`
/// (`lower`/`upper` omitted = −∞/+∞) and its adjustment (§2.2).
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StepAdjustmentSpec {
    /// Lower bound relative to the threshold (default −∞).
    #[serde(default)]
    pub lower: Option<f64>,
    /// Upper bound relative to the threshold (default +∞).
    #[serde(default)]
    pub upper: Option<f64>,
    /// The adjustment, read by the alarm's `adjustment_type`.
    pub adjustment: i64,
}

/// One alarm of a step policy and its step adjustments.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StepAlarmSpec {
    /// Alarm threshold θ (required), in the metric's unit.
    pub threshold: f64,
    /// Comparison with θ (default `greater` for `scale_out`, `less` for
    /// `scale_in`).
    #[serde(default)]
    pub comparison: Option<Comparison>,
    /// N one-minute datapoints looked at (default 1).
    #[serde(default)]
    pub evaluation_periods: Option<u64>,
    /// M breaching datapoints needed (default N).
    #[serde(default)]
    pub datapoints_to_alarm: Option<u64>,
    /// How adjustments are read (default `change_in_capacity`).
    #[serde(default)]
    pub adjustment_type: Option<AdjustmentType>,
    /// Least absolute change (percent type only; default none).
    #[serde(default)]
    pub min_adjustment_magnitude: Option<u64>,
    /// The step adjustments (at least one): no gaps, no overlaps, at most
    /// one open lower and one open upper end, never both on one step.
    pub steps: Vec<StepAdjustmentSpec>,
}

/// `type = "step"`: step scaling, one table holding the usual pair of
/// policies (a scale-out alarm and a scale-in alarm; at least one).
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StepSpec {
    /// The metric both alarms watch (required).
    pub metric: AwsMetric,
    /// The scale-out alarm and steps.
    #[serde(default)]
    pub scale_out: Option<StepAlarmSpec>,
    /// The scale-in alarm and steps.
    #[serde(default)]
    pub scale_in: Option<StepAlarmSpec>,
}

/// A lowered step: `[lower, upper)` of `metric − θ` above θ, `(lower,
/// upper]` below (§2.2); `None` = unbounded.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Step {
    /// Lower bound relative to θ.
    pub lower: Option<f64>,
    /// Upper bound relative to θ.
    pub upper: Option<f64>,
    /// The adjustment.
    pub adjustment: i64,
}

/// The step covering `diff = metric − θ`: for an alarm above θ the lower
/// bound is inclusive and the upper exclusive, below θ the reverse (§2.2).
pub fn find_step(steps: &[Step], diff: f64, upper_alarm: bool) -> Option<&Step> {
    steps.iter().find(|s| {
        let lo = s.lower.unwrap_or(f64::NEG_INFINITY);
        let hi = s.upper.unwrap_or(f64::INFINITY);
        if upper_alarm {
            lo <= diff && diff < hi
        } else {
            lo < diff && diff <= hi
        }
    })
}

/// A lowered step-policy alarm.
#[derive(Clone, Debug, PartialEq)]
pub struct StepAlarm {
    /// The alarm.
    pub alarm: Alarm,
    /// How adjustments are read.
    pub adjustment_type: AdjustmentType,
    /// `MinAdjustmentMagnitude` (0 = none).
    pub min_magnitude: u32,
    /// Steps sorted by lower bound.
    pub steps: Vec<Step>,
}

/// A policy's alarms on one metric: scale out and/or scale in (step and
/// simple scaling are both shaped so; they differ in what an alarm does).
#[derive(Clone, Debug, PartialEq)]
pub struct AlarmPair<A> {
    /// The metric.
    pub metric: AwsMetric,
    /// Scale-out alarm.
    pub scale_out: Option<A>,
    /// Scale-in alarm.
    pub scale_in: Option<A>,
}

/// A policy alarm: anything built on an [`Alarm`].
pub trait PolicyAlarm {
    /// The CloudWatch alarm it acts on.
    fn alarm(&self) -> &Alarm;
}

impl PolicyAlarm for StepAlarm {
    fn alarm(&self) -> &Alarm {
        &self.alarm
    }
}

impl PolicyAlarm for SimpleAlarm {
    fn alarm(&self) -> &Alarm {
        &self.alarm
    }
}

impl<A: PolicyAlarm> AlarmPair<A> {
    /// Seconds of history read at most: the longest alarm's periods, plus
    /// one minute.
    pub fn history_seconds(&self) -> u64 {
        let p = [&self.scale_out, &self.scale_in]
            .iter()
            .filter_map(|a| a.as_ref().map(|a| a.alarm().periods))
            .max()
            .unwrap_or(1);
        60 * (u64::from(p) + 1)
    }
}

/// Lowers a policy's two alarm tables with `lower_one` (scale-out alarms
/// default to "greater", scale-in alarms to "less"); at least one is needed.
fn lower_pair<S, A>(
    c: &mut Check,
    path: &str,
    metric: AwsMetric,
    (scale_out, scale_in): (Option<&S>, Option<&S>),
    lower_one: fn(&mut Check, &str, AwsMetric, &S, Comparison) -> A,
) -> AlarmPair<A> {
    if scale_out.is_none() && scale_in.is_none() {
        c.add(path, "needs a `scale_out` or a `scale_in` alarm (or both)");
    }
    AlarmPair {
        metric,
        scale_out: scale_out.map(|s| {
            lower_one(
                c,
                &format!("{path}.scale_out"),
                metric,
                s,
                Comparison::Greater,
            )
        }),
        scale_in: scale_in
            .map(|s| lower_one(c, &format!("{path}.scale_in"), metric, s, Comparison::Less)),
    }
}

/// Lowered step scaling.
pub type StepConfig = AlarmPair<StepAlarm>;

/// Checks the step list: finite bounds, `lower < upper`, not both open, at
/// most one open end each way, no gaps and no overlaps (§2.2).
fn lower_steps(
    c: &mut Check,
    path: &str,
    kind: AdjustmentType,
    specs: &[StepAdjustmentSpec],
) -> Vec<Step> {
    if specs.is_empty() {
        c.add(path, "needs at least one step adjustment");
    }
    let mut steps: Vec<(usize, Step)> = Vec::new();
    for (i, s) in specs.iter().enumerate() {
        let p = format!("{path}[{i}]");
        let mut bound = |field: &str, v: Option<f64>| {
            v.map(|v| {
                c.real(
                    &format!("{p}.{field}"),
                    v,
                    Bound::Unbounded,
                    Bound::Unbounded,
                )
            })
        };
        let (lower, upper) = (bound("lower", s.lower), bound("upper", s.upper));
        match (lower, upper) {
            (None, None) => c.add(
                format!("{p}.lower"),
                "a step needs a lower or an upper bound",
            ),
            (Some(l), Some(u)) if l >= u => c.add(
                format!("{p}.upper"),
                format!("must be more than lower ({l}), got {u}"),
            ),
            _ => {}
        }
        let adjustment = check_adjustment(c, &format!("{p}.adjustment"), kind, s.adjustment);
        steps.push((
            i,
            Step {
                lower,
                upper,
                adjustment,
            },
        ));
    }
    for (open, name) in [(true, "lower"), (false, "upper")] {
        let ends: Vec<usize> = steps
            .iter()
            .filter(|(_, s)| {
                if open {
                    s.lower.is_none()
                } else {
                    s.upper.is_none()
                }
            })
            .map(|&(i, _)| i)
            .collect();
        if let [_, rest @ ..] = ends.as_slice() {
            for i in rest {
                c.add(
                    format!("{path}[{i}].{name}"),
                    format!(
                        "only one step may leave its {name} bound open (also {path}[{}])",
                        ends[0]
                    ),
                );
            }
        }
    }
    steps.sort_by(|a, b| {
        let key = |s: &Step| s.lower.unwrap_or(f64::NEG_INFINITY);
        key(&a.1).total_cmp(&key(&b.1)).then(a.0.cmp(&b.0))
    });
    for pair in steps.windows(2) {
        let ((i, a), (j, b)) = (pair[0], pair[1]);
        let (end, start) = (
            a.upper.unwrap_or(f64::INFINITY),
            b.lower.unwrap_or(f64::NEG_INFINITY),
        );
        if end < start {
            c.add(
                format!("{path}[{j}].lower"),
                format!("gap between {path}[{i}] (upper {end}) and this step (lower {start})"),
            );
        } else if end > start {
            c.add(
                format!("{path}[{j}].lower"),
                format!("overlaps {path}[{i}] (upper {end}, this step's lower {start})"),
            );
        }
    }
    steps.into_iter().map(|(_, s)| s).collect()
}

fn lower_step_alarm(
    c: &mut Check,
    path: &str,
    metric: AwsMetric,
    s: &StepAlarmSpec,
    default: Comparison,
) -> StepAlarm {
    let fields = AlarmFields {
        threshold: s.threshold,
        comparison: s.comparison,
        evaluation_periods: s.evaluation_periods,
        datapoints_to_alarm: s.datapoints_to_alarm,
    };
    let alarm = lower_alarm(c, path, metric, &fields, default);
    let kind = s
        .adjustment_type
        .unwrap_or(AdjustmentType::ChangeInCapacity);
    StepAlarm {
        alarm,
        adjustment_type: kind,
        min_magnitude: check_magnitude(
            c,
            &format!("{path}.min_adjustment_magnitude"),
            kind,
            s.min_adjustment_magnitude,
        ),
        steps: lower_steps(c, &format!("{path}.steps"), kind, &s.steps),
    }
}

/// Checks and lowers `spec` found at `path`.
pub(crate) fn lower_step(c: &mut Check, path: &str, spec: &StepSpec) -> StepConfig {
    let alarms = (spec.scale_out.as_ref(), spec.scale_in.as_ref());
    lower_pair(c, path, spec.metric, alarms, lower_step_alarm)
}

/// Step scaling at run time (§2.2).
///
/// At each whole minute, the scale-out alarm then the scale-in alarm: when
/// in ALARM, the most recent datapoint picks the step and
/// [`step_capacity`] gives the new desired capacity. No cooldown; a
/// scale-in is held while any instance boots or warms up.
#[derive(Clone, Debug)]
pub struct StepController {
    config: StepConfig,
    clock: MinuteClock,
}

impl StepController {
    /// A controller for `config`.
    pub fn new(config: &StepConfig) -> Self {
        StepController {
            config: config.clone(),
            clock: MinuteClock::default(),
        }
    }

    fn evaluate(&self, a: &StepAlarm, view: &GroupView<'_>, done: u64) -> Option<Decision> {
        let metric = self.config.metric;
        let AlarmState::Alarm { value } = a.alarm.evaluate(metric, view.history, done) else {
            return None;
        };
        let n = view.counts;
        let diff = value - a.alarm.threshold;
        let observed = vec![
            obs(metric.name(), value),
            obs("threshold", a.alarm.threshold),
            obs("in_service", f64::from(n.in_service)),
            obs("desired", f64::from(view.desired)),
        ];
        let alarm = a.alarm.describe(metric);
        let Some(step) = find_step(&a.steps, diff, a.alarm.comparison.is_upper()) else {
            return held(
                observed,
                format!("alarm ({alarm}) but no step covers metric − threshold = {diff:.2}"),
            );
        };
        let wanted = step_capacity(
            a.adjustment_type,
            step.adjustment,
            a.min_magnitude,
            view.desired,
            n.in_service,
        );
        let why = format!(
            "alarm ({alarm}), metric {value:.2}: step adjustment {} ({:?}) ⇒ {wanted}",
            step.adjustment, a.adjustment_type
        );
        if wanted < view.desired && n.booting + n.warming > 0 {
            return held(
                observed,
                format!(
                    "{why}; scale-in blocked while {} instances boot or warm up",
                    n.booting + n.warming
                ),
            );
        }
        propose(view, wanted, observed, why)
    }
}

impl Policy for StepController {
    fn kind(&self) -> &'static str {
        "step"
    }

    fn tick(&mut self, view: &GroupView<'_>) -> Option<Decision> {
        let done = self.clock.advance(view.history)?;
        let cfg = &self.config;
        [&cfg.scale_out, &cfg.scale_in]
            .into_iter()
            .flatten()
            .find_map(|a| self.evaluate(a, view, done))
    }
}

// ---------------------------------------------------------------- simple scaling

/// One alarm of a simple policy and its single adjustment (§2.3).
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SimpleAlarmSpec {
    /// Alarm threshold θ (required), in the metric's unit.
    pub threshold: f64,
    /// Comparison with θ (default `greater` for `scale_out`, `less` for
    /// `scale_in`).
    #[serde(default)]
    pub comparison: Option<Comparison>,
    /// N one-minute datapoints looked at (default 1).
    #[serde(default)]
    pub evaluation_periods: Option<u64>,
    /// M breaching datapoints needed (default N).
    #[serde(default)]
    pub datapoints_to_alarm: Option<u64>,
    /// How `adjustment` is read (default `change_in_capacity`).
    #[serde(default)]
    pub adjustment_type: Option<AdjustmentType>,
    /// The adjustment (required), e.g. 2 or −1.
    pub adjustment: i64,
    /// Least absolute change (percent type only; default none).
    #[serde(default)]
    pub min_adjustment_magnitude: Option<u64>,
    /// Cooldown after the scaling activity ends (default 300 s, the group's
    /// `DefaultCooldown`).
    #[serde(default)]
    pub cooldown: Option<Seconds>,
}

/// `type = "simple"`: simple scaling with a cooldown, one table holding a
/// scale-out and a scale-in alarm (at least one).
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SimpleSpec {
    /// The metric both alarms watch (required).
    pub metric: AwsMetric,
    /// The scale-out alarm.
    #[serde(default)]
    pub scale_out: Option<SimpleAlarmSpec>,
    /// The scale-in alarm.
    #[serde(default)]
    pub scale_in: Option<SimpleAlarmSpec>,
}

/// A lowered simple-policy alarm.
#[derive(Clone, Debug, PartialEq)]
pub struct SimpleAlarm {
    /// The alarm.
    pub alarm: Alarm,
    /// How `adjustment` is read.
    pub adjustment_type: AdjustmentType,
    /// The adjustment.
    pub adjustment: i64,
    /// `MinAdjustmentMagnitude` (0 = none).
    pub min_magnitude: u32,
    /// Cooldown after the activity.
    pub cooldown: SimDuration,
}

/// Lowered simple scaling.
pub type SimpleConfig = AlarmPair<SimpleAlarm>;

fn lower_simple_alarm(
    c: &mut Check,
    path: &str,
    metric: AwsMetric,
    s: &SimpleAlarmSpec,
    default: Comparison,
) -> SimpleAlarm {
    let fields = AlarmFields {
        threshold: s.threshold,
        comparison: s.comparison,
        evaluation_periods: s.evaluation_periods,
        datapoints_to_alarm: s.datapoints_to_alarm,
    };
    let alarm = lower_alarm(c, path, metric, &fields, default);
    let kind = s
        .adjustment_type
        .unwrap_or(AdjustmentType::ChangeInCapacity);
    SimpleAlarm {
        alarm,
        adjustment_type: kind,
        adjustment: check_adjustment(c, &format!("{path}.adjustment"), kind, s.adjustment),
        min_magnitude: check_magnitude(
            c,
            &format!("{path}.min_adjustment_magnitude"),
            kind,
            s.min_adjustment_magnitude,
        ),
        cooldown: s.cooldown.map_or(SimDuration::from_secs(300), |v| {
            c.time(&format!("{path}.cooldown"), v)
        }),
    }
}

/// Checks and lowers `spec` found at `path`.
pub(crate) fn lower_simple(c: &mut Check, path: &str, spec: &SimpleSpec) -> SimpleConfig {
    let alarms = (spec.scale_out.as_ref(), spec.scale_in.as_ref());
    lower_pair(c, path, spec.metric, alarms, lower_simple_alarm)
}

/// Where a simple policy is in its activity/cooldown cycle (§2.3).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Phase {
    /// Responds to alarms.
    Ready,
    /// A scaling activity started at `since` is under way; the cooldown
    /// follows when no instance is booting or draining.
    Activity {
        since: SimTime,
        cooldown: SimDuration,
    },
    /// Alarms are ignored until `until`.
    Cooldown { until: SimTime },
}

/// Simple scaling at run time (§2.3).
///
/// At each whole minute the scale-out alarm, then the scale-in alarm: the
/// first in ALARM applies its adjustment to the desired capacity. Then all
/// alarms are ignored (and logged as held) until the scaling activity has
/// finished — no instance booting or draining — and the cooldown has
/// elapsed from that moment.
#[derive(Clone, Debug)]
pub struct SimpleController {
    config: SimpleConfig,
    clock: MinuteClock,
    phase: Phase,
}

impl SimpleController {
    /// A controller for `config`.
    pub fn new(config: &SimpleConfig) -> Self {
        SimpleController {
            config: config.clone(),
            clock: MinuteClock::default(),
            phase: Phase::Ready,
        }
    }
}

impl Policy for SimpleController {
    fn kind(&self) -> &'static str {
        "simple"
    }

    fn tick(&mut self, view: &GroupView<'_>) -> Option<Decision> {
        let n = view.counts;
        // The activity ends when its launches or drains are done (checked
        // every second, from the second after the decision).
        if let Phase::Activity { since, cooldown } = self.phase
            && view.now > since
            && n.booting == 0
            && n.draining == 0
        {
            self.phase = Phase::Cooldown {
                until: view.now.checked_add(cooldown).unwrap_or(SimTime::MAX),
            };
        }
        if let Phase::Cooldown { until } = self.phase
            && view.now >= until
        {
            self.phase = Phase::Ready;
        }
        let done = self.clock.advance(view.history)?;
        let metric = self.config.metric;
        for a in [&self.config.scale_out, &self.config.scale_in]
            .into_iter()
            .flatten()
        {
            let AlarmState::Alarm { value } = a.alarm.evaluate(metric, view.history, done) else {
                continue;
            };
            let observed = vec![
                obs(metric.name(), value),
                obs("threshold", a.alarm.threshold),
                obs("desired", f64::from(view.desired)),
            ];
            let alarm = a.alarm.describe(metric);
            match self.phase {
                Phase::Activity { cooldown, .. } => {
                    return held(
                        observed,
                        format!(
                            "alarm ({alarm}) held: scaling activity in progress ({} booting, {} draining), then a {} s cooldown",
                            n.booting,
                            n.draining,
                            cooldown.as_secs_f64()
                        ),
                    );
                }
                Phase::Cooldown { until } => {
                    return held(
                        observed,
                        format!("alarm ({alarm}) held by cooldown until t={} s", secs(until)),
                    );
                }
                Phase::Ready => {}
            }
            let wanted = adjusted_capacity(
                a.adjustment_type,
                a.adjustment,
                a.min_magnitude,
                view.desired,
            );
            let why = format!(
                "alarm ({alarm}), metric {value:.2}: adjustment {} ({:?}) ⇒ {wanted}",
                a.adjustment, a.adjustment_type
            );
            let d = propose(view, wanted, observed, why);
            if d.as_ref().is_some_and(|d| d.desired.is_some()) {
                self.phase = Phase::Activity {
                    since: view.now,
                    cooldown: a.cooldown,
                };
            }
            if d.is_some() {
                return d;
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::autoscale::{InstanceCounts, MetricRow, PolicySpec};

    /// A history whose minute `i` has CPU `cpu[i]` percent exactly (100
    /// workers, `busy` = percent) on 10 counted instances.
    fn cpu_history(cpu: &[f64]) -> MetricHistory {
        let mut h = MetricHistory::new(3600);
        for &p in cpu {
            for _ in 0..60 {
                h.push(MetricRow {
                    busy: p,
                    workers: 100.0,
                    instances: 10.0,
                    busy_all: p,
                    workers_all: 100.0,
                    ..MetricRow::default()
                });
            }
        }
        h
    }

    fn view(h: &MetricHistory, desired: u32, counts: InstanceCounts) -> GroupView<'_> {
        GroupView {
            now: SimTime::from_secs(h.end()),
            desired,
            min: 1,
            max: 100,
            counts,
            workers_per_instance: 1,
            mean_boot: SimDuration::from_secs(60),
            history: h,
        }
    }

    fn serving(in_service: u32) -> InstanceCounts {
        InstanceCounts {
            in_service,
            ..InstanceCounts::default()
        }
    }

    fn lower_policy(text: &str) -> (PolicySpec, Vec<String>) {
        let spec: PolicySpec = toml::from_str(text).unwrap();
        let mut c = Check::default();
        match &spec {
            PolicySpec::TargetTracking(s) => {
                let _ = lower_target_tracking(&mut c, "p", s);
            }
            PolicySpec::Step(s) => {
                let _ = lower_step(&mut c, "p", s);
            }
            PolicySpec::Simple(s) => {
                let _ = lower_simple(&mut c, "p", s);
            }
            _ => unreachable!(),
        }
        let problems = c
            .finish()
            .into_iter()
            .map(|p| format!("{}: {}", p.path, p.message))
            .collect();
        (spec, problems)
    }

    #[test]
    fn percent_rounding_follows_section_2_2() {
        assert_eq!(round_percent_change(12.7), 12);
        assert_eq!(round_percent_change(1.0), 1);
        assert_eq!(round_percent_change(0.3), 1);
        assert_eq!(round_percent_change(0.0), 0);
        assert_eq!(round_percent_change(-0.3), -1);
        assert_eq!(round_percent_change(-6.67), -6);
        assert_eq!(round_percent_change(f64::NAN), 0);
        // MinAdjustmentMagnitude: 25 % of 4 = +1, but magnitude 2 ⇒ +2.
        let pct = AdjustmentType::PercentChangeInCapacity;
        assert_eq!(adjusted_capacity(pct, 25, 0, 4), 5);
        assert_eq!(adjusted_capacity(pct, 25, 2, 4), 6);
        assert_eq!(adjusted_capacity(pct, -25, 2, 4), 2);
        assert_eq!(
            adjusted_capacity(AdjustmentType::ChangeInCapacity, -5, 0, 3),
            0
        );
        assert_eq!(adjusted_capacity(AdjustmentType::ExactCapacity, 7, 0, 3), 7);
    }

    #[test]
    fn documented_step_example_arithmetic() {
        // §2.2: group of 10, +10 % at 60, +30 % at 70, −10 % at 40, −30 % at 30.
        let pct = AdjustmentType::PercentChangeInCapacity;
        assert_eq!(step_capacity(pct, 10, 0, 10, 10), 11);
        assert_eq!(step_capacity(pct, 30, 0, 11, 11), 14);
        assert_eq!(step_capacity(pct, -10, 0, 14, 14), 13);
        assert_eq!(step_capacity(pct, -30, 0, 13, 13), 10);
        // Warm-up: the 11th instance still warming ⇒ +30 % of 10 in service
        // = 13, adding only the difference; the same step again adds nothing.
        assert_eq!(step_capacity(pct, 30, 0, 11, 10), 13);
        assert_eq!(step_capacity(pct, 10, 0, 11, 10), 11);
    }

    #[test]
    fn step_bounds_inclusive_above_exclusive_below() {
        let s = |lower, upper, adjustment| Step {
            lower,
            upper,
            adjustment,
        };
        let up = [
            s(Some(0.0), Some(10.0), 0),
            s(Some(10.0), Some(20.0), 1),
            s(Some(20.0), None, 3),
        ];
        assert_eq!(find_step(&up, 10.0, true).unwrap().adjustment, 1);
        assert_eq!(find_step(&up, 20.0, true).unwrap().adjustment, 3);
        assert!(find_step(&up, -1.0, true).is_none());
        let down = [
            s(None, Some(-20.0), -3),
            s(Some(-20.0), Some(-10.0), -1),
            s(Some(-10.0), Some(0.0), 0),
        ];
        assert_eq!(find_step(&down, -10.0, false).unwrap().adjustment, -1);
        assert_eq!(find_step(&down, -20.0, false).unwrap().adjustment, -3);
        assert_eq!(find_step(&down, 0.0, false).unwrap().adjustment, 0);
    }

    #[test]
    fn alarm_needs_m_of_n_and_data() {
        let a = Alarm {
            threshold: 50.0,
            comparison: Comparison::Greater,
            periods: 3,
            datapoints: 2,
        };
        assert_eq!(
            a.state(&[Some(60.0), Some(40.0), Some(55.0)]),
            AlarmState::Alarm { value: 55.0 }
        );
        assert_eq!(a.state(&[None, Some(40.0), Some(55.0)]), AlarmState::Ok);
        assert_eq!(
            a.state(&[Some(50.0), Some(50.0), Some(51.0)]),
            AlarmState::Ok
        );
        assert_eq!(a.state(&[None, None]), AlarmState::InsufficientData);
    }

    #[test]
    fn documented_step_example_through_tick() {
        let (spec, problems) = lower_policy(
            r#"
            type = "step"
            metric = "cpu"
            [scale_out]
            threshold = 50
            adjustment_type = "percent_change_in_capacity"
            steps = [{ lower = 0, upper = 10, adjustment = 0 },
                     { lower = 10, upper = 20, adjustment = 10 },
                     { lower = 20, adjustment = 30 }]
            [scale_in]
            threshold = 50
            adjustment_type = "percent_change_in_capacity"
            steps = [{ upper = -20, adjustment = -30 },
                     { lower = -20, upper = -10, adjustment = -10 },
                     { lower = -10, upper = 0, adjustment = 0 }]
            "#,
        );
        assert!(problems.is_empty(), "{problems:?}");
        let PolicySpec::Step(s) = spec else {
            unreachable!()
        };
        let mut ctl = StepController::new(&lower_step(&mut Check::default(), "p", &s));
        let mut desired = 10;
        for (minute, (cpu, expect)) in [(60.0, 11), (70.0, 14), (40.0, 13), (30.0, 10)]
            .into_iter()
            .enumerate()
        {
            let mut all = vec![0.0; minute];
            all.push(cpu);
            let h = cpu_history(&all);
            // Skip the earlier minutes' evaluations: only the newest counts.
            ctl.clock.done = minute as u64;
            let d = ctl.tick(&view(&h, desired, serving(desired))).unwrap();
            assert_eq!(d.desired, Some(expect), "{}", d.reason);
            desired = expect;
        }
    }

    #[test]
    fn step_scale_in_is_blocked_while_instances_warm_up() {
        let cfg = StepConfig {
            metric: AwsMetric::Cpu,
            scale_out: None,
            scale_in: Some(StepAlarm {
                alarm: Alarm {
                    threshold: 50.0,
                    comparison: Comparison::Less,
                    periods: 1,
                    datapoints: 1,
                },
                adjustment_type: AdjustmentType::ChangeInCapacity,
                min_magnitude: 0,
                steps: vec![Step {
                    lower: None,
                    upper: Some(0.0),
                    adjustment: -1,
                }],
            }),
        };
        let h = cpu_history(&[20.0]);
        let mut ctl = StepController::new(&cfg);
        let warming = InstanceCounts {
            warming: 2,
            in_service: 8,
            ..InstanceCounts::default()
        };
        let d = ctl.tick(&view(&h, 10, warming)).unwrap();
        assert_eq!(d.desired, None);
        assert!(d.reason.contains("blocked"), "{}", d.reason);
        // Same second again: no new minute, no evaluation.
        assert_eq!(ctl.tick(&view(&h, 10, warming)), None);
    }

    #[test]
    fn step_validation_reports_gaps_overlaps_and_open_ends() {
        let (_, problems) = lower_policy(
            r#"
            type = "step"
            metric = "cpu"
            [scale_out]
            threshold = 150
            datapoints_to_alarm = 2
            min_adjustment_magnitude = 2
            steps = [{ lower = 0, upper = 10, adjustment = 1 },
                     { lower = 15, upper = 30, adjustment = 2 },
                     { lower = 20, adjustment = 3 },
                     { lower = 40, adjustment = 4 },
                     { adjustment = 5 }]
            "#,
        );
        let text = problems.join("\n");
        for needle in [
            "p.scale_out.threshold: must be in [0, 100]",
            "p.scale_out.datapoints_to_alarm: 2 is more than evaluation_periods (1)",
            "p.scale_out.min_adjustment_magnitude: only applies",
            "p.scale_out.steps[4].lower: a step needs a lower or an upper bound",
            "p.scale_out.steps[3].upper: only one step may leave its upper bound open",
            "p.scale_out.steps[1].lower: gap",
            "p.scale_out.steps[2].lower: overlaps",
        ] {
            assert!(text.contains(needle), "missing `{needle}` in\n{text}");
        }
        let (_, problems) = lower_policy("type = \"step\"\nmetric = \"cpu\"");
        assert_eq!(
            problems,
            ["p: needs a `scale_out` or a `scale_in` alarm (or both)"]
        );
    }

    #[test]
    fn target_tracking_defaults_and_validation() {
        let (spec, problems) =
            lower_policy("type = \"target_tracking\"\nmetric = \"cpu\"\ntarget = 50");
        assert!(problems.is_empty());
        let PolicySpec::TargetTracking(s) = spec else {
            unreachable!()
        };
        let cfg = lower_target_tracking(&mut Check::default(), "p", &s);
        assert_eq!((cfg.high.periods, cfg.high.datapoints), (3, 3));
        assert_eq!((cfg.low.periods, cfg.low.datapoints), (15, 15));
        assert_eq!(cfg.low.threshold, 45.0);
        assert!(!cfg.disable_scale_in);
        assert_eq!(cfg.history_seconds(), 16 * 60);
        let (_, problems) = lower_policy(
            "type = \"target_tracking\"\nmetric = \"cpu\"\ntarget = 0\nscale_in_margin = 1\ndatapoints_to_alarm_low = 0",
        );
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(
            toml::from_str::<PolicySpec>(
                "type = \"target_tracking\"\nmetric = \"cpu\"\ntarget = 5\nfoo = 1"
            )
            .is_err()
        );
    }

    #[test]
    fn target_tracking_scales_out_after_three_minutes_above_target() {
        let cfg = lower_target_tracking(
            &mut Check::default(),
            "p",
            &TargetTrackingSpec {
                metric: AwsMetric::Cpu,
                target: 50.0,
                disable_scale_in: None,
                scale_in_margin: None,
                datapoints_to_alarm_high: None,
                datapoints_to_alarm_low: None,
            },
        );
        let mut ctl = TargetTrackingController::new(&cfg);
        // Two minutes above target: not yet.
        let h = cpu_history(&[75.0, 75.0]);
        ctl.clock.done = 1;
        assert_eq!(ctl.tick(&view(&h, 4, serving(4))), None);
        // Third minute: ceil(4 × 75 / 50) = 6.
        let h = cpu_history(&[75.0, 75.0, 75.0]);
        let d = ctl.tick(&view(&h, 4, serving(4))).unwrap();
        assert_eq!(d.desired, Some(6), "{}", d.reason);
        // A minute later, 2 instances still booting: needed 6 ≤ 6 ⇒ held.
        let h = cpu_history(&[75.0; 4]);
        let booting = InstanceCounts {
            booting: 2,
            in_service: 4,
            ..InstanceCounts::default()
        };
        let d = ctl.tick(&view(&h, 6, booting)).unwrap();
        assert_eq!(d.desired, None);
        assert!(d.reason.contains("already covered"), "{}", d.reason);
        // Warming instances share the load: 4 in service + 2 warming at 90 %
        // ⇒ ceil(6 × 90 / 50) = 11.
        let h = cpu_history(&[90.0; 5]);
        let warming = InstanceCounts {
            warming: 2,
            in_service: 4,
            ..InstanceCounts::default()
        };
        assert_eq!(ctl.tick(&view(&h, 6, warming)).unwrap().desired, Some(11));
    }

    #[test]
    fn target_tracking_scales_in_slowly_and_not_during_warm_up() {
        let spec = TargetTrackingSpec {
            metric: AwsMetric::Cpu,
            target: 50.0,
            disable_scale_in: None,
            scale_in_margin: None,
            datapoints_to_alarm_high: None,
            datapoints_to_alarm_low: None,
        };
        let cfg = lower_target_tracking(&mut Check::default(), "p", &spec);
        let mut ctl = TargetTrackingController::new(&cfg);
        // 14 minutes at 20 %: no scale-in yet (15 of 15 needed).
        let h = cpu_history(&[20.0; 14]);
        ctl.clock.done = 13;
        assert_eq!(ctl.tick(&view(&h, 10, serving(10))), None);
        // 46 % is not "sufficiently below" 50 (threshold 45).
        let mut cpu = vec![20.0; 14];
        cpu.push(46.0);
        let h = cpu_history(&cpu);
        assert_eq!(ctl.tick(&view(&h, 10, serving(10))), None);
        // 15 of 15 below 45: ceil(10 × 20 / 50) = 4.
        let h = cpu_history(&[20.0; 16]);
        let d = ctl.tick(&view(&h, 10, serving(10))).unwrap();
        assert_eq!(d.desired, Some(4), "{}", d.reason);
        // Never below min; blocked while instances warm up.
        let h = cpu_history(&[1.0; 17]);
        let mut v = view(&h, 10, serving(10));
        v.min = 3;
        assert_eq!(ctl.tick(&v).unwrap().desired, Some(3));
        let h = cpu_history(&[20.0; 18]);
        let warming = InstanceCounts {
            warming: 1,
            in_service: 9,
            ..InstanceCounts::default()
        };
        let d = ctl.tick(&view(&h, 10, warming)).unwrap();
        assert_eq!(d.desired, None);
        assert!(d.reason.contains("blocked"), "{}", d.reason);
        // disable_scale_in.
        let mut ctl = TargetTrackingController::new(&TargetTrackingConfig {
            disable_scale_in: true,
            ..cfg
        });
        let h = cpu_history(&[20.0; 15]);
        assert_eq!(ctl.tick(&view(&h, 10, serving(10))), None);
    }

    #[test]
    fn target_tracking_capacity_rounds_up() {
        // §2.1: +1.5 ⇒ +2, −1.5 ⇒ −1.
        assert_eq!(target_tracking_capacity(10, 57.5, 50.0), 12);
        assert_eq!(target_tracking_capacity(10, 42.5, 50.0), 9);
        assert_eq!(target_tracking_capacity(1, 70.0, 70.0), 1);
        assert_eq!(target_tracking_capacity(10, 0.0, 50.0), 0);
    }

    #[test]
    fn requests_per_target_is_per_minute() {
        let mut h = MetricHistory::new(120);
        for _ in 0..60 {
            h.push(MetricRow {
                instances: 4.0,
                requests_counted: 20,
                requests: 20,
                ..MetricRow::default()
            });
        }
        // 20 requests/s over 4 instances = 5 per target per second = 300/min.
        assert_eq!(AwsMetric::RequestsPerTarget.datapoint(&h, 0), Some(300.0));
        assert_eq!(AwsMetric::Cpu.datapoint(&h, 0), None);
        assert_eq!(AwsMetric::Cpu.datapoint(&h, 1), None);
    }

    #[test]
    fn simple_scaling_waits_for_activity_and_cooldown() {
        let (spec, problems) = lower_policy(
            r#"
            type = "simple"
            metric = "cpu"
            scale_out = { threshold = 70, adjustment = 2, cooldown = "2min" }
            "#,
        );
        assert!(problems.is_empty(), "{problems:?}");
        let PolicySpec::Simple(s) = spec else {
            unreachable!()
        };
        let mut ctl = SimpleController::new(&lower_simple(&mut Check::default(), "p", &s));
        let h = cpu_history(&[80.0]);
        assert_eq!(ctl.tick(&view(&h, 4, serving(4))).unwrap().desired, Some(6));
        // Two instances boot for 90 s: the alarm is held meanwhile.
        let booting = InstanceCounts {
            booting: 2,
            in_service: 4,
            ..InstanceCounts::default()
        };
        let mut h = cpu_history(&[80.0; 2]);
        let d = ctl.tick(&view(&h, 6, booting)).unwrap();
        assert_eq!(d.desired, None);
        assert!(d.reason.contains("activity in progress"), "{}", d.reason);
        // Booted at t = 150 s: cooldown until 270 s.
        let row = *h.last().unwrap();
        while h.end() < 150 {
            h.push(row);
        }
        assert_eq!(ctl.tick(&view(&h, 6, serving(6))), None);
        while h.end() < 180 {
            h.push(row);
        }
        let d = ctl.tick(&view(&h, 6, serving(6))).unwrap();
        assert!(
            d.reason.contains("held by cooldown until t=270"),
            "{}",
            d.reason
        );
        while h.end() < 240 {
            h.push(row);
            assert!(
                ctl.tick(&view(&h, 6, serving(6)))
                    .is_none_or(|d| d.desired.is_none())
            );
        }
        // At 270 s the cooldown ends; minute 5 ends at 300 s: the alarm acts again.
        while h.end() < 300 {
            h.push(row);
            let d = ctl.tick(&view(&h, 6, serving(6)));
            let expect = (h.end() == 300).then_some(8);
            assert_eq!(d.and_then(|d| d.desired), expect, "t={}", h.end());
        }
    }

    #[test]
    fn simple_scale_in_at_min_is_silent() {
        let cfg = SimpleConfig {
            metric: AwsMetric::Cpu,
            scale_out: None,
            scale_in: Some(SimpleAlarm {
                alarm: Alarm {
                    threshold: 30.0,
                    comparison: Comparison::Less,
                    periods: 1,
                    datapoints: 1,
                },
                adjustment_type: AdjustmentType::ChangeInCapacity,
                adjustment: -1,
                min_magnitude: 0,
                cooldown: SimDuration::from_secs(300),
            }),
        };
        let h = cpu_history(&[10.0]);
        let mut ctl = SimpleController::new(&cfg);
        assert_eq!(ctl.tick(&view(&h, 1, serving(1))), None);
        assert_eq!(ctl.phase, Phase::Ready);
    }
}
