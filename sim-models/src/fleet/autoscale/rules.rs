//! The seeds' own policies (`docs/autoscaling.md`): seed 003's multi-rule
//! policy (`AUTOSCALING_RULES`: "metric above threshold for duration ⇒ add
//! 50 % capacity") and seed 004's threshold policy (`SCALING_POLICY`:
//! target per instance, scale-up/down thresholds, cooldown). The seeds name
//! the knobs but not their timing or rounding; the readings below are
//! fleetsim's, each stated where it is implemented.
//!
//! Shared choices:
//! - metrics are evaluated as **datapoints**: averages over consecutive
//!   `evaluation_period` windows of the per-second history (like a CloudWatch
//!   alarm's periods, reference 2.0), the policy deciding at each multiple of
//!   `evaluation_period` after the start;
//! - "per instance" metrics divide by the instances counted during the
//!   datapoint (ready and past `instance_warmup`, 0 s by default here); a
//!   datapoint without a counted instance is missing and never breaches;
//! - the cooldown starts when the policy changes the size and blocks both
//!   directions until `now ≥ action + cooldown`; a blocked change is logged
//!   once per cooldown;
//! - rounding never under-provisions (reference 2.1): increases round up,
//!   decreases round down, and a firing rule moves at least one instance.

use std::ops::Bound;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::hpa::{ceil_count, now_secs, whole_secs};
use super::{Decision, GroupView, MetricHistory, Policy};
use crate::fleet::lower::Check;
use crate::spec::Seconds;

/// Longest duration, window or cooldown accepted (seconds): one day.
const MAX_RULE_SECONDS: u64 = 86_400;
/// Most rules per direction.
const MAX_RULES: usize = 100;

// ---------------------------------------------------------- seed 003: rules

/// `policy = { type = "rules", … }`: seed 003's `AUTOSCALING_RULES`.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RulesSpec {
    /// Length of one datapoint and time between evaluations, whole seconds
    /// (default 10 s: every duration in seed 003 is a multiple of it).
    #[serde(default)]
    pub evaluation_period: Option<Seconds>,
    /// Time after a scaling action during which no other is taken, whole
    /// seconds (default 300 s, EC2 Auto Scaling's `DefaultCooldown` for
    /// rule-based simple scaling, reference 2.3).
    #[serde(default)]
    pub cooldown: Option<Seconds>,
    /// Scale-up rules (default none). Several firing ⇒ the largest
    /// increase wins.
    #[serde(default)]
    pub scale_up: Option<Vec<RuleSpec>>,
    /// Scale-down rules (default none), considered only when no scale-up
    /// rule fires. Several firing ⇒ the smallest decrease wins (the largest
    /// capacity, as EC2 Auto Scaling chooses between policies, 2.0).
    #[serde(default)]
    pub scale_down: Option<Vec<RuleSpec>>,
}

/// One rule: `metric` beyond `threshold` for `duration` ⇒ `action`.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// What is compared.
    pub metric: RuleMetric,
    /// The threshold: a scale-up rule breaches when the metric is strictly
    /// above it, a scale-down rule when strictly below (percent for
    /// `cpu_utilization` and `request_rate_of_capacity`).
    pub threshold: f64,
    /// How long the condition must hold: every datapoint of the last
    /// `duration` must breach (a positive multiple of `evaluation_period`).
    pub duration: Seconds,
    /// What to do when the rule fires.
    pub action: RuleActionSpec,
    /// Requests per second one instance can serve: required by, and only
    /// allowed with, `request_rate_of_capacity`.
    #[serde(default)]
    pub capacity_per_instance: Option<f64>,
}

/// A rule's metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RuleMetric {
    /// Busy workers / workers of counted instances, percent.
    CpuUtilization,
    /// Requests per second per counted instance.
    RequestsPerInstance,
    /// Requests per second per counted instance as a percent of
    /// `capacity_per_instance` (seed 003's "80% of capacity").
    RequestRateOfCapacity,
    /// Requests waiting in the group's queues per counted instance (mean
    /// over the datapoint).
    QueuePerInstance,
    /// Requests waiting in the group's queues in total (seed 003's
    /// `queue_depth`).
    QueueDepth,
    /// Requests in service or waiting per counted instance (seed 003's
    /// `active_connections` per server).
    InFlightPerInstance,
}

impl RuleMetric {
    fn name(self) -> &'static str {
        match self {
            RuleMetric::CpuUtilization => "cpu_utilization",
            RuleMetric::RequestsPerInstance => "requests_per_instance",
            RuleMetric::RequestRateOfCapacity => "request_rate_of_capacity",
            RuleMetric::QueuePerInstance => "queue_per_instance",
            RuleMetric::QueueDepth => "queue_depth",
            RuleMetric::InFlightPerInstance => "in_flight_per_instance",
        }
    }
}

/// What a rule does, by `type`.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum RuleActionSpec {
    /// Add or remove `value` % of the current desired capacity (added:
    /// rounded up; removed: rounded down, at most 100 %); at least one.
    Percent {
        /// Percent (positive).
        value: f64,
    },
    /// Add or remove `value` instances.
    Instances {
        /// Instances (at least 1).
        value: u64,
    },
}

/// A lowered rule.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rule {
    /// What is compared.
    pub metric: RuleMetric,
    /// Threshold (strictly above for scale-up, below for scale-down).
    pub threshold: f64,
    /// Datapoints that must all breach.
    pub datapoints: u64,
    /// Capacity per instance (`request_rate_of_capacity` only; else 0).
    pub capacity_per_instance: f64,
    /// The action.
    pub action: RuleAction,
}

/// A lowered action.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RuleAction {
    /// Percent of the current desired capacity.
    Percent(f64),
    /// A number of instances.
    Instances(u32),
}

/// Lowered seed-003 rules.
#[derive(Clone, Debug, PartialEq)]
pub struct RulesConfig {
    /// Datapoint length and evaluation period (seconds).
    pub evaluation_period: u64,
    /// Cooldown after an action (seconds).
    pub cooldown: u64,
    /// Scale-up rules.
    pub scale_up: Vec<Rule>,
    /// Scale-down rules.
    pub scale_down: Vec<Rule>,
}

impl RulesConfig {
    /// Seconds of history read at most: the longest rule duration.
    pub fn history_seconds(&self) -> u64 {
        let longest = self
            .scale_up
            .iter()
            .chain(&self.scale_down)
            .map(|r| r.datapoints)
            .max()
            .unwrap_or(1);
        longest * self.evaluation_period
    }
}

/// Checks and lowers `spec` found at `path`.
pub(crate) fn lower_rules(c: &mut Check, path: &str, spec: &RulesSpec) -> RulesConfig {
    let period = whole_secs(
        c,
        &format!("{path}.evaluation_period"),
        spec.evaluation_period,
        10,
        1,
        3_600,
    );
    let cooldown = whole_secs(
        c,
        &format!("{path}.cooldown"),
        spec.cooldown,
        300,
        0,
        MAX_RULE_SECONDS,
    );
    let mut lower_list = |name: &str, list: &Option<Vec<RuleSpec>>, up: bool| -> Vec<Rule> {
        let list = list.as_deref().unwrap_or_default();
        if list.len() > MAX_RULES {
            c.add(
                format!("{path}.{name}"),
                format!(
                    "lists {} rules, more than the {MAX_RULES} allowed",
                    list.len()
                ),
            );
        }
        list.iter()
            .take(MAX_RULES)
            .enumerate()
            .map(|(i, r)| lower_rule(c, &format!("{path}.{name}[{i}]"), r, period, up))
            .collect()
    };
    let scale_up = lower_list("scale_up", &spec.scale_up, true);
    let scale_down = lower_list("scale_down", &spec.scale_down, false);
    if scale_up.is_empty() && scale_down.is_empty() {
        c.add(
            path.to_string(),
            "gives no `scale_up` or `scale_down` rule: nothing would ever change the size",
        );
    }
    RulesConfig {
        evaluation_period: period,
        cooldown,
        scale_up,
        scale_down,
    }
}

fn lower_rule(c: &mut Check, path: &str, r: &RuleSpec, period: u64, up: bool) -> Rule {
    // A utilization cannot exceed 100 %; the other metrics are unbounded.
    let high = if r.metric == RuleMetric::CpuUtilization {
        Bound::Included(100.0)
    } else {
        Bound::Unbounded
    };
    let threshold = c.real(
        &format!("{path}.threshold"),
        r.threshold,
        Bound::Included(0.0),
        high,
    );
    let duration = whole_secs(
        c,
        &format!("{path}.duration"),
        Some(r.duration),
        period,
        1,
        MAX_RULE_SECONDS,
    );
    if !duration.is_multiple_of(period) {
        c.add(
            format!("{path}.duration"),
            format!("{duration} s is not a multiple of evaluation_period ({period} s)"),
        );
    }
    let capacity_per_instance = match (r.metric, r.capacity_per_instance) {
        (RuleMetric::RequestRateOfCapacity, Some(v)) => c.real(
            &format!("{path}.capacity_per_instance"),
            v,
            Bound::Excluded(0.0),
            Bound::Unbounded,
        ),
        (RuleMetric::RequestRateOfCapacity, None) => {
            c.add(
                format!("{path}.capacity_per_instance"),
                "is required by metric request_rate_of_capacity (requests per second one instance serves)",
            );
            1.0
        }
        (m, Some(_)) => {
            c.add(
                format!("{path}.capacity_per_instance"),
                format!("is only used by request_rate_of_capacity, not {}", m.name()),
            );
            0.0
        }
        (_, None) => 0.0,
    };
    let ap = format!("{path}.action.value");
    let action = match r.action {
        RuleActionSpec::Percent { value } => RuleAction::Percent(c.real(
            &ap,
            value,
            Bound::Excluded(0.0),
            if up {
                Bound::Unbounded
            } else {
                Bound::Included(100.0)
            },
        )),
        RuleActionSpec::Instances { value } => {
            RuleAction::Instances(c.count(&ap, value, 1, super::group::MAX_AUTOSCALE_INSTANCES))
        }
    };
    Rule {
        metric: r.metric,
        threshold,
        datapoints: (duration / period).max(1),
        capacity_per_instance,
        action,
    }
}

/// Instances a firing scale-up rule adds to `current`: percent rounded up
/// (`+50 %` of 5 is +3), at least one.
pub(crate) fn increase(action: RuleAction, current: u32) -> u32 {
    match action {
        RuleAction::Percent(v) => ceil_count(f64::from(current) * v / 100.0).max(1),
        RuleAction::Instances(n) => n,
    }
}

/// Instances a firing scale-down rule removes from `current`: percent
/// rounded down (`−25 %` of 10 is −2), at least one, at most `current`.
pub(crate) fn decrease(action: RuleAction, current: u32) -> u32 {
    let n = match action {
        RuleAction::Percent(v) => (f64::from(current) * v / 100.0 + 1e-9).floor() as u32,
        RuleAction::Instances(n) => n,
    };
    n.max(1).min(current)
}

/// The metric over the seconds `[from, to)`, or `None` if any second is
/// missing or, for per-instance metrics, no instance was counted.
fn datapoint(
    h: &MetricHistory,
    from: u64,
    to: u64,
    metric: RuleMetric,
    capacity: f64,
) -> Option<f64> {
    let w = h.window(from, to).filter(|w| w.seconds == to - from)?;
    let mean = |f: fn(&super::MetricRow) -> u64| -> f64 {
        (from..to)
            .filter_map(|s| h.row(s))
            .map(|r| f(r) as f64)
            .sum::<f64>()
            / w.seconds as f64
    };
    let per_instance = |x: f64| {
        w.mean_counted_instances()
            .filter(|&n| n > 0.0)
            .map(|n| x / n)
    };
    match metric {
        RuleMetric::CpuUtilization => w.cpu_utilization().map(|u| u * 100.0),
        RuleMetric::RequestsPerInstance => w.requests_per_instance_per_s(),
        RuleMetric::RequestRateOfCapacity => w
            .requests_per_instance_per_s()
            .map(|r| r / capacity * 100.0),
        RuleMetric::QueuePerInstance => per_instance(mean(|r| r.queued)),
        RuleMetric::QueueDepth => Some(mean(|r| r.queued)),
        RuleMetric::InFlightPerInstance => per_instance(mean(|r| r.in_flight)),
    }
}

/// Whether `rule` fires at the end of `h`: each of its last `datapoints`
/// datapoints of `period` seconds breaches (strictly above the threshold
/// for scale-up, below for scale-down). Returns the newest value if so.
pub(crate) fn fires(h: &MetricHistory, rule: &Rule, period: u64, up: bool) -> Option<f64> {
    let end = h.end();
    let mut newest = None;
    for k in 0..rule.datapoints {
        let to = end.checked_sub(k * period)?;
        let from = to.checked_sub(period)?;
        let v = datapoint(h, from, to, rule.metric, rule.capacity_per_instance)?;
        let breach = if up {
            v > rule.threshold
        } else {
            v < rule.threshold
        };
        if !breach {
            return None;
        }
        newest.get_or_insert(v);
    }
    newest
}

/// The cooldown shared by both seed policies: blocks changes until
/// `now ≥ last action + cooldown`, logging one hold per cooldown.
#[derive(Clone, Debug, Default)]
struct Cooldown {
    last_action: Option<u64>,
    hold_logged: bool,
}

impl Cooldown {
    /// `Some(decision)` for a wanted change to `target`: the change, a hold,
    /// or `None` when a hold was already logged in this cooldown.
    fn apply(
        &mut self,
        now: u64,
        cooldown: u64,
        current: u32,
        target: u32,
        why: String,
        observed: Vec<(String, f64)>,
    ) -> Option<Decision> {
        if let Some(t) = self.last_action.filter(|&t| now < t + cooldown) {
            if self.hold_logged {
                return None;
            }
            self.hold_logged = true;
            return Some(Decision {
                observed,
                reason: format!(
                    "{why}: stays at {current}, held by the cooldown ({cooldown} s) until {} s",
                    t + cooldown
                ),
                ..Decision::default()
            });
        }
        self.last_action = Some(now);
        self.hold_logged = false;
        Some(Decision {
            desired: Some(target),
            observed,
            reason: format!("{why}: {current} → {target}"),
            ..Decision::default()
        })
    }
}

/// Seed 003's rule set on one group.
#[derive(Clone, Debug)]
pub struct RulesController {
    config: RulesConfig,
    cooldown: Cooldown,
}

impl RulesController {
    /// A controller for `config`.
    pub fn new(config: &RulesConfig) -> Self {
        RulesController {
            config: config.clone(),
            cooldown: Cooldown::default(),
        }
    }
}

impl Policy for RulesController {
    fn kind(&self) -> &'static str {
        "rules"
    }

    fn tick(&mut self, view: &GroupView<'_>) -> Option<Decision> {
        let now = now_secs(view);
        let period = self.config.evaluation_period;
        if now == 0 || !now.is_multiple_of(period) {
            return None;
        }
        let current = view.desired;
        let h = view.history;
        // Every firing rule as (new size, name, value, rule); scale-down
        // only when no scale-up rule fires.
        let firing = |rules: &[Rule], up: bool, name: &str| -> Vec<(u32, String, f64, Rule)> {
            rules
                .iter()
                .enumerate()
                .filter_map(|(i, r)| {
                    let v = fires(h, r, period, up)?;
                    let size = if up {
                        current.saturating_add(increase(r.action, current))
                    } else {
                        current - decrease(r.action, current)
                    };
                    Some((size, format!("{name}[{i}]"), v, *r))
                })
                .collect()
        };
        let ups = firing(&self.config.scale_up, true, "scale_up");
        let chosen = if ups.is_empty() {
            // Smallest decrease = largest remaining size; first on ties.
            firing(&self.config.scale_down, false, "scale_down")
                .into_iter()
                .rev()
                .max_by_key(|f| f.0)
        } else {
            // Largest increase; first on ties.
            ups.into_iter().rev().max_by_key(|f| f.0)
        }?;
        let (size, name, value, rule) = chosen;
        let target = size.clamp(view.min, view.max);
        if target == current {
            return None;
        }
        let up = size > current;
        let action = match rule.action {
            RuleAction::Percent(v) => format!("{}{v}%", if up { "+" } else { "−" }),
            RuleAction::Instances(n) => format!("{}{n}", if up { "+" } else { "−" }),
        };
        let why = format!(
            "{name}: {} {value:.3} {} {} for {} s ⇒ {action}",
            rule.metric.name(),
            if up { ">" } else { "<" },
            rule.threshold,
            rule.datapoints * period
        );
        let observed = vec![
            (rule.metric.name().to_string(), value),
            ("threshold".to_string(), rule.threshold),
            ("current".to_string(), f64::from(current)),
        ];
        self.cooldown
            .apply(now, self.config.cooldown, current, target, why, observed)
    }
}

// ----------------------------------------------------- seed 004: threshold

/// `policy = { type = "threshold", … }`: seed 004's `SCALING_POLICY`.
///
/// Reading: `target` is what one instance should carry; the group scales up
/// when the per-instance metric is strictly above `scale_up_threshold ×
/// target`, down when strictly below `scale_down_threshold × target`, and
/// in both cases to `ceil(load / (scale_up_threshold × target))` — the
/// fewest instances that keep each one at or below the scale-up line — but
/// only if that moves in the breach's direction.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ThresholdSpec {
    /// The per-instance metric (required).
    pub metric: ThresholdMetric,
    /// Target per instance (required, positive): requests per second, or
    /// percent (at most 100) for `cpu_utilization`.
    pub target: f64,
    /// Fraction of `target` above which the group scales up (default 0.8).
    #[serde(default)]
    pub scale_up_threshold: Option<f64>,
    /// Fraction of `target` below which the group scales down (default
    /// 0.3; below `scale_up_threshold`; 0 disables scale-down).
    #[serde(default)]
    pub scale_down_threshold: Option<f64>,
    /// Time after a scaling action during which no other is taken, whole
    /// seconds (default 60 s).
    #[serde(default)]
    pub cooldown: Option<Seconds>,
    /// Window the metric is averaged over, whole seconds (default 60 s).
    #[serde(default)]
    pub window: Option<Seconds>,
    /// Time between evaluations, whole seconds (default 10 s).
    #[serde(default)]
    pub evaluation_period: Option<Seconds>,
}

/// Seed 004's metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ThresholdMetric {
    /// Requests per second per counted instance.
    RequestsPerSecond,
    /// CPU utilization of counted instances, percent.
    CpuUtilization,
}

/// Lowered seed-004 policy.
#[derive(Clone, Debug, PartialEq)]
pub struct ThresholdConfig {
    /// The metric.
    pub metric: ThresholdMetric,
    /// Target per instance.
    pub target: f64,
    /// Scale-up fraction of target.
    pub scale_up_threshold: f64,
    /// Scale-down fraction of target.
    pub scale_down_threshold: f64,
    /// Cooldown (seconds).
    pub cooldown: u64,
    /// Averaging window (seconds).
    pub window: u64,
    /// Evaluation period (seconds).
    pub evaluation_period: u64,
}

impl ThresholdConfig {
    /// Seconds of history read at most: the window.
    pub fn history_seconds(&self) -> u64 {
        self.window
    }
}

/// Checks and lowers `spec` found at `path`.
pub(crate) fn lower_threshold(c: &mut Check, path: &str, spec: &ThresholdSpec) -> ThresholdConfig {
    let high = match spec.metric {
        ThresholdMetric::CpuUtilization => Bound::Included(100.0),
        ThresholdMetric::RequestsPerSecond => Bound::Unbounded,
    };
    let target = c.real(
        &format!("{path}.target"),
        spec.target,
        Bound::Excluded(0.0),
        high,
    );
    let up = spec.scale_up_threshold.map_or(0.8, |v| {
        c.real(
            &format!("{path}.scale_up_threshold"),
            v,
            Bound::Excluded(0.0),
            Bound::Included(10.0),
        )
    });
    let down = spec.scale_down_threshold.map_or(0.3, |v| {
        c.real(
            &format!("{path}.scale_down_threshold"),
            v,
            Bound::Included(0.0),
            Bound::Unbounded,
        )
    });
    if down >= up {
        c.add(
            format!("{path}.scale_down_threshold"),
            format!("must be below scale_up_threshold ({up}), got {down}"),
        );
    }
    ThresholdConfig {
        metric: spec.metric,
        target,
        scale_up_threshold: up,
        scale_down_threshold: down,
        cooldown: whole_secs(
            c,
            &format!("{path}.cooldown"),
            spec.cooldown,
            60,
            0,
            MAX_RULE_SECONDS,
        ),
        window: whole_secs(
            c,
            &format!("{path}.window"),
            spec.window,
            60,
            1,
            MAX_RULE_SECONDS,
        ),
        evaluation_period: whole_secs(
            c,
            &format!("{path}.evaluation_period"),
            spec.evaluation_period,
            10,
            1,
            MAX_RULE_SECONDS,
        ),
    }
}

/// The seed-004 decision for per-instance value `v` over `n` instances:
/// `Some(size)` on a breach that moves the size in the breach's direction
/// (see [`ThresholdSpec`]).
pub(crate) fn threshold_size(v: f64, n: f64, cfg: &ThresholdConfig, current: u32) -> Option<u32> {
    let line = cfg.target * cfg.scale_up_threshold;
    let size = ceil_count(v * n / line);
    if v > line {
        (size > current).then_some(size)
    } else if v < cfg.target * cfg.scale_down_threshold {
        (size < current).then_some(size)
    } else {
        None
    }
}

/// Seed 004's threshold policy on one group.
#[derive(Clone, Debug)]
pub struct ThresholdController {
    config: ThresholdConfig,
    cooldown: Cooldown,
}

impl ThresholdController {
    /// A controller for `config`.
    pub fn new(config: &ThresholdConfig) -> Self {
        ThresholdController {
            config: config.clone(),
            cooldown: Cooldown::default(),
        }
    }
}

impl Policy for ThresholdController {
    fn kind(&self) -> &'static str {
        "threshold"
    }

    fn tick(&mut self, view: &GroupView<'_>) -> Option<Decision> {
        let cfg = &self.config;
        let now = now_secs(view);
        if now == 0 || !now.is_multiple_of(cfg.evaluation_period) {
            return None;
        }
        // A full window of data, with counted instances.
        let w = view
            .history
            .recent(cfg.window)
            .filter(|w| w.seconds == cfg.window)?;
        let n = w.mean_counted_instances()?;
        let (name, v) = match cfg.metric {
            ThresholdMetric::RequestsPerSecond => {
                ("requests_per_second", w.requests_per_instance_per_s()?)
            }
            ThresholdMetric::CpuUtilization => ("cpu_utilization", w.cpu_utilization()? * 100.0),
        };
        let current = view.desired;
        let size = threshold_size(v, n, cfg, current)?;
        let target = size.clamp(view.min, view.max);
        if target == current {
            return None;
        }
        let (cmp, frac) = if target > current {
            (">", cfg.scale_up_threshold)
        } else {
            ("<", cfg.scale_down_threshold)
        };
        let why = format!(
            "{name} {v:.3} per instance {cmp} {frac} × {} on {n:.2} instances ⇒ ceil(load / ({} × {}))",
            cfg.target, cfg.scale_up_threshold, cfg.target
        );
        let observed = vec![
            (name.to_string(), v),
            ("target".to_string(), cfg.target),
            ("instances".to_string(), n),
            ("current".to_string(), f64::from(current)),
        ];
        self.cooldown
            .apply(now, cfg.cooldown, current, target, why, observed)
    }
}

#[cfg(test)]
mod tests {
    use super::super::hpa::testkit::{history, row, serving, view};
    use super::*;
    use crate::fleet::autoscale::PolicySpec;

    fn lower_toml(text: &str) -> (crate::fleet::autoscale::PolicyConfig, Vec<String>) {
        let spec: PolicySpec = toml::from_str(text).expect("parses");
        let mut c = Check::default();
        let cfg = match &spec {
            PolicySpec::Rules(s) => {
                crate::fleet::autoscale::PolicyConfig::Rules(lower_rules(&mut c, "p", s))
            }
            PolicySpec::Threshold(s) => {
                crate::fleet::autoscale::PolicyConfig::Threshold(lower_threshold(&mut c, "p", s))
            }
            _ => panic!("not a seed policy"),
        };
        (cfg, c.finish().into_iter().map(|p| p.path).collect())
    }

    fn rules(text: &str) -> RulesConfig {
        match lower_toml(&format!("type = \"rules\"\n{text}")) {
            (crate::fleet::autoscale::PolicyConfig::Rules(r), p) if p.is_empty() => r,
            other => panic!("{other:?}"),
        }
    }

    fn threshold(text: &str) -> ThresholdConfig {
        match lower_toml(&format!("type = \"threshold\"\n{text}")) {
            (crate::fleet::autoscale::PolicyConfig::Threshold(r), p) if p.is_empty() => r,
            other => panic!("{other:?}"),
        }
    }

    /// Seed 003's api_servers rules, as written in the TOML shape.
    const API_SERVERS: &str = r#"
scale_up = [
  { metric = "cpu_utilization", threshold = 70, duration = "2min", action = { type = "percent", value = 50 } },
  { metric = "request_rate_of_capacity", threshold = 80, capacity_per_instance = 100, duration = "1min", action = { type = "percent", value = 25 } },
]
scale_down = [
  { metric = "cpu_utilization", threshold = 30, duration = "10min", action = { type = "percent", value = 25 } },
]
"#;

    /// Rule timing: a condition held for less than `duration` does not
    /// fire; held for the whole duration it does, at the next evaluation.
    #[test]
    fn condition_shorter_than_duration_does_not_fire() {
        let cfg = rules(API_SERVERS);
        assert_eq!(cfg.history_seconds(), 600);
        let mut p = RulesController::new(&cfg);
        let mut h = history(300, row(0.5, 4.0, 40, 0));
        for s in 0..110 {
            h.push(row(0.9, 4.0, 40, 0));
            if (s + 1) % 10 == 0 {
                assert_eq!(p.tick(&view(&h, 4, 4, 100, serving(4))), None, "s={s}");
            }
        }
        for _ in 0..10 {
            h.push(row(0.9, 4.0, 40, 0));
        }
        // 120 s above 70 %: +50 % of 4 = +2.
        let d = p.tick(&view(&h, 4, 4, 100, serving(4))).expect("fires");
        assert_eq!(d.desired, Some(6));
        assert!(
            d.reason
                .starts_with("scale_up[0]: cpu_utilization 90.000 > 70 for 120 s"),
            "{}",
            d.reason
        );
    }

    /// Percent actions: increases round up (+50 % of 5 = +3), decreases
    /// round down (−25 % of 10 = −2), each at least one instance.
    #[test]
    fn percent_rounding() {
        assert_eq!(increase(RuleAction::Percent(50.0), 5), 3);
        assert_eq!(increase(RuleAction::Percent(50.0), 4), 2);
        assert_eq!(increase(RuleAction::Percent(10.0), 1), 1);
        assert_eq!(increase(RuleAction::Percent(50.0), 0), 1);
        assert_eq!(decrease(RuleAction::Percent(25.0), 10), 2);
        assert_eq!(decrease(RuleAction::Percent(25.0), 3), 1);
        assert_eq!(decrease(RuleAction::Percent(100.0), 3), 3);
        assert_eq!(decrease(RuleAction::Instances(5), 3), 3);
    }

    /// Several scale-up rules firing: the largest increase wins; the
    /// request-rate rule needs only its own 60 s.
    #[test]
    fn largest_increase_wins() {
        let mut p = RulesController::new(&rules(API_SERVERS));
        // 90 requests/s per instance = 90 % of capacity, cpu 90 %: both fire
        // after 120 s; +50 % (+4 of 8) beats +25 % (+2).
        let h = history(120, row(0.9, 8.0, 720, 0));
        assert_eq!(
            p.tick(&view(&h, 8, 4, 100, serving(8))).unwrap().desired,
            Some(12)
        );
        // Only the request-rate rule (cpu 50 %): +25 % of 8 = +2.
        let mut p = RulesController::new(&rules(API_SERVERS));
        let h = history(60, row(0.5, 8.0, 720, 0));
        assert_eq!(
            p.tick(&view(&h, 8, 4, 100, serving(8))).unwrap().desired,
            Some(10)
        );
    }

    /// Scale-down needs its full duration, and only when no scale-up rule
    /// fires.
    #[test]
    fn scale_down_needs_the_full_duration() {
        let mut p = RulesController::new(&rules(API_SERVERS));
        let mut h = history(590, row(0.1, 10.0, 100, 0));
        assert_eq!(p.tick(&view(&h, 10, 4, 100, serving(10))), None);
        for _ in 0..10 {
            h.push(row(0.1, 10.0, 100, 0));
        }
        assert_eq!(
            p.tick(&view(&h, 10, 4, 100, serving(10))).unwrap().desired,
            Some(8)
        );
        // A missing datapoint (no counted instance) breaks the streak.
        let mut h = history(300, row(0.1, 10.0, 100, 0));
        for _ in 0..10 {
            h.push(row(0.0, 0.0, 0, 0));
        }
        for _ in 0..290 {
            h.push(row(0.1, 10.0, 100, 0));
        }
        let mut p = RulesController::new(&rules(API_SERVERS));
        assert_eq!(p.tick(&view(&h, 10, 4, 100, serving(10))), None);
    }

    /// Cooldown: after an action nothing happens until `cooldown` has
    /// passed; the blocked change is logged once.
    #[test]
    fn cooldown_suppresses_and_logs_once() {
        let cfg = rules(&format!("cooldown = \"1min\"\n{API_SERVERS}"));
        let mut p = RulesController::new(&cfg);
        let mut h = history(120, row(0.9, 4.0, 40, 0));
        assert_eq!(
            p.tick(&view(&h, 4, 4, 100, serving(4))).unwrap().desired,
            Some(6)
        );
        let mut logs = 0;
        for s in 1..=60 {
            h.push(row(0.9, 6.0, 60, 0));
            if s % 10 == 0 {
                let d = p.tick(&view(&h, 6, 4, 100, serving(6)));
                if s < 60 {
                    if let Some(d) = d {
                        assert_eq!(d.desired, None);
                        assert!(
                            d.reason.contains("held by the cooldown (60 s) until 180 s"),
                            "{}",
                            d.reason
                        );
                        logs += 1;
                    }
                } else {
                    assert_eq!(d.unwrap().desired, Some(9));
                }
            }
        }
        assert_eq!(logs, 1);
    }

    /// Seed 003's queue and connection metrics, and bounds: a rule that
    /// would leave the bounds does nothing at the bound.
    #[test]
    fn queue_metrics_and_bounds() {
        let cfg = rules(
            r#"scale_up = [{ metric = "queue_depth", threshold = 100, duration = "30s", action = { type = "instances", value = 2 } }]
scale_down = [{ metric = "in_flight_per_instance", threshold = 1, duration = "30s", action = { type = "instances", value = 1 } }]"#,
        );
        let mut p = RulesController::new(&cfg);
        let h = history(30, row(0.5, 4.0, 0, 150));
        assert_eq!(
            p.tick(&view(&h, 4, 1, 10, serving(4))).unwrap().desired,
            Some(6)
        );
        let mut p = RulesController::new(&cfg);
        assert_eq!(p.tick(&view(&h, 10, 1, 10, serving(10))), None);
        let h = history(30, row(0.1, 4.0, 0, 2));
        let mut p = RulesController::new(&cfg);
        assert_eq!(
            p.tick(&view(&h, 4, 1, 10, serving(4))).unwrap().desired,
            Some(3)
        );
    }

    /// Lowering: defaults and every bad value with its path.
    #[test]
    fn rules_lowering() {
        let cfg = rules(API_SERVERS);
        assert_eq!((cfg.evaluation_period, cfg.cooldown), (10, 300));
        assert_eq!(cfg.scale_up[0].datapoints, 12);
        let (_, problems) = lower_toml(
            r#"type = "rules"
scale_up = [{ metric = "request_rate_of_capacity", threshold = 80, duration = "45s", action = { type = "percent", value = 0 } }]
scale_down = [{ metric = "cpu_utilization", threshold = 130, duration = 60, capacity_per_instance = 5, action = { type = "percent", value = 150 } }]"#,
        );
        assert_eq!(
            problems,
            [
                "p.scale_up[0].duration",
                "p.scale_up[0].capacity_per_instance",
                "p.scale_up[0].action.value",
                "p.scale_down[0].threshold",
                "p.scale_down[0].capacity_per_instance",
                "p.scale_down[0].action.value",
            ]
        );
        let (_, problems) = lower_toml("type = \"rules\"");
        assert_eq!(problems, ["p"]);
    }

    /// Seed 004: per-instance load above 0.8 × target ⇒ ceil(load / (0.8 ×
    /// target)); below 0.3 × target ⇒ the same size if smaller; in the band
    /// nothing.
    #[test]
    fn threshold_breaches_size_to_the_scale_up_line() {
        let cfg = threshold("metric = \"requests_per_second\"\ntarget = 100");
        // 10 instances at 100 req/s: load 1000 ⇒ ceil(1000 / 80) = 13.
        assert_eq!(threshold_size(100.0, 10.0, &cfg, 10), Some(13));
        // 80 req/s is not above the line.
        assert_eq!(threshold_size(80.0, 10.0, &cfg, 10), None);
        // 25 req/s on 20: load 500 ⇒ 7.
        assert_eq!(threshold_size(25.0, 20.0, &cfg, 20), Some(7));
        assert_eq!(threshold_size(50.0, 20.0, &cfg, 20), None);
        // Above the line but the group already has enough (booting) instances.
        assert_eq!(threshold_size(100.0, 10.0, &cfg, 14), None);
    }

    /// Seed 004 through `tick`: a full window is needed, then the cooldown
    /// (60 s) blocks the next change.
    #[test]
    fn threshold_tick_and_cooldown() {
        let cfg = threshold("metric = \"cpu_utilization\"\ntarget = 100\nscale_up_threshold = 0.5");
        assert_eq!(
            (
                cfg.cooldown,
                cfg.window,
                cfg.evaluation_period,
                cfg.scale_down_threshold
            ),
            (60, 60, 10, 0.3)
        );
        let mut p = ThresholdController::new(&cfg);
        let mut h = history(50, row(0.9, 4.0, 0, 0));
        assert_eq!(p.tick(&view(&h, 4, 1, 20, serving(4))), None);
        for _ in 0..10 {
            h.push(row(0.9, 4.0, 0, 0));
        }
        // 90 % on 4 = 360 % of load ⇒ ceil(360 / 50) = 8.
        assert_eq!(
            p.tick(&view(&h, 4, 1, 20, serving(4))).unwrap().desired,
            Some(8)
        );
        for _ in 0..10 {
            h.push(row(0.9, 8.0, 0, 0));
        }
        let held = p.tick(&view(&h, 8, 1, 20, serving(8))).expect("hold");
        assert_eq!(held.desired, None);
        assert!(
            held.reason
                .contains("held by the cooldown (60 s) until 120 s"),
            "{}",
            held.reason
        );
    }

    /// Seed 004 lowering: thresholds ordered, target positive.
    #[test]
    fn threshold_lowering() {
        let (_, problems) = lower_toml(
            "type = \"threshold\"\nmetric = \"cpu_utilization\"\ntarget = 120\nscale_up_threshold = 0.5\nscale_down_threshold = 0.6\ncooldown = \"1.5s\"",
        );
        assert_eq!(
            problems,
            ["p.target", "p.scale_down_threshold", "p.cooldown"]
        );
    }
}
