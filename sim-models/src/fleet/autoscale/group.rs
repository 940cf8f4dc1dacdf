//! An autoscaled group's settings as written (`[regions.groups.autoscaling]`)
//! and as lowered, and how its policies are built.
//!
//! A group has bounds, at most one dynamic policy (HPA, KEDA, target
//! tracking, step, simple, or the seeds' rule sets), optional scheduled
//! actions and optional predictive scaling, like an AWS Auto Scaling group
//! that combines them (the largest wanted capacity wins for scale-out), and
//! its scale-in settings: which instance goes first and how long draining
//! may take.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sim_core::SimDuration;

use super::{Policy, aws, hpa, keda, predictive, rules, scheduled};
use crate::fleet::lower::Check;
use crate::spec::Seconds;

/// Most instances an autoscaled group may reach.
pub const MAX_AUTOSCALE_INSTANCES: u64 = 100_000;

/// `[regions.groups.autoscaling]` as written.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AutoscalingSpec {
    /// Fewest instances (required; 0 allows scale to zero).
    pub min: u64,
    /// Most instances (required, at least `min`, at most 100,000).
    pub max: u64,
    /// The dynamic policy (default none: only scheduled and predictive
    /// actions change the size).
    #[serde(default)]
    pub policy: Option<PolicySpec>,
    /// Scheduled actions (AWS scheduled scaling).
    #[serde(default)]
    pub scheduled: Option<Vec<scheduled::ScheduledActionSpec>>,
    /// Predictive scaling (AWS), combined with the dynamic policy by max.
    #[serde(default)]
    pub predictive: Option<predictive::PredictiveSpec>,
    /// How long a booted instance is left out of the metrics (default: the
    /// policy's own rule, see `docs/autoscaling.md`: 15 s for the HPA, 300 s
    /// for AWS policies, 0 otherwise).
    #[serde(default)]
    pub instance_warmup: Option<Seconds>,
    /// Which instance a scale-in removes first (default `newest`; booting
    /// instances always go first).
    #[serde(default)]
    pub victim: Option<VictimSpec>,
    /// Longest a draining instance may finish its requests before they are
    /// cut (default 30 s for the HPA and KEDA — Kubernetes'
    /// `terminationGracePeriodSeconds` — and 300 s otherwise, the ALB
    /// deregistration delay).
    #[serde(default)]
    pub drain_timeout: Option<Seconds>,
}

/// The dynamic policy, by `type`.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum PolicySpec {
    /// Kubernetes HorizontalPodAutoscaler v2.
    Hpa(hpa::HpaSpec),
    /// KEDA queue-length scaling.
    Keda(keda::KedaSpec),
    /// AWS target tracking.
    TargetTracking(aws::TargetTrackingSpec),
    /// AWS step scaling.
    Step(aws::StepSpec),
    /// AWS simple scaling with a cooldown.
    Simple(aws::SimpleSpec),
    /// Seed 003's multi-rule policy (AUTOSCALING_RULES).
    Rules(rules::RulesSpec),
    /// Seed 004's threshold policy (SCALING_POLICY).
    Threshold(rules::ThresholdSpec),
}

/// Scale-in victim rule as written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum VictimSpec {
    /// The most recently launched instance (Kubernetes' ReplicaSet prefers
    /// the most recently ready pod).
    Newest,
    /// The longest-running instance.
    Oldest,
    /// From the zone with the most instances, newest first there (AWS
    /// rebalances zones first).
    ZoneBalanced,
}

/// Which instance a scale-in removes first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Victim {
    /// Most recently launched first.
    Newest,
    /// Longest-running first.
    Oldest,
    /// Zone with the most active instances first, newest there.
    ZoneBalanced,
}

/// The lowered dynamic policy.
#[derive(Clone, Debug, PartialEq)]
pub enum PolicyConfig {
    /// Kubernetes HPA.
    Hpa(hpa::HpaConfig),
    /// KEDA.
    Keda(keda::KedaConfig),
    /// AWS target tracking.
    TargetTracking(aws::TargetTrackingConfig),
    /// AWS step scaling.
    Step(aws::StepConfig),
    /// AWS simple scaling.
    Simple(aws::SimpleConfig),
    /// Seed 003's rules.
    Rules(rules::RulesConfig),
    /// Seed 004's threshold policy.
    Threshold(rules::ThresholdConfig),
}

impl PolicyConfig {
    /// The policy's kind as reports name it.
    pub fn kind(&self) -> &'static str {
        match self {
            PolicyConfig::Hpa(_) => "hpa",
            PolicyConfig::Keda(_) => "keda",
            PolicyConfig::TargetTracking(_) => "target_tracking",
            PolicyConfig::Step(_) => "step",
            PolicyConfig::Simple(_) => "simple",
            PolicyConfig::Rules(_) => "rules",
            PolicyConfig::Threshold(_) => "threshold",
        }
    }

    /// Seconds of per-second history the policy reads at most.
    pub fn history_seconds(&self) -> u64 {
        match self {
            PolicyConfig::Hpa(c) => c.history_seconds(),
            PolicyConfig::Keda(c) => c.history_seconds(),
            PolicyConfig::TargetTracking(c) => c.history_seconds(),
            PolicyConfig::Step(c) => c.history_seconds(),
            PolicyConfig::Simple(c) => c.history_seconds(),
            PolicyConfig::Rules(c) => c.history_seconds(),
            PolicyConfig::Threshold(c) => c.history_seconds(),
        }
    }

    fn build(&self) -> Box<dyn Policy> {
        match self {
            PolicyConfig::Hpa(c) => Box::new(hpa::HpaController::new(c)),
            PolicyConfig::Keda(c) => Box::new(keda::KedaController::new(c)),
            PolicyConfig::TargetTracking(c) => Box::new(aws::TargetTrackingController::new(c)),
            PolicyConfig::Step(c) => Box::new(aws::StepController::new(c)),
            PolicyConfig::Simple(c) => Box::new(aws::SimpleController::new(c)),
            PolicyConfig::Rules(c) => Box::new(rules::RulesController::new(c)),
            PolicyConfig::Threshold(c) => Box::new(rules::ThresholdController::new(c)),
        }
    }
}

/// A group's lowered autoscaling settings.
#[derive(Clone, Debug, PartialEq)]
pub struct AutoscalingConfig {
    /// Lower bound at the start.
    pub min: u32,
    /// Upper bound at the start.
    pub max: u32,
    /// The dynamic policy, if any.
    pub policy: Option<PolicyConfig>,
    /// Scheduled actions, if any.
    pub scheduled: Option<scheduled::ScheduledConfig>,
    /// Predictive scaling, if any.
    pub predictive: Option<predictive::PredictiveConfig>,
    /// Time a booted instance stays out of the metrics.
    pub instance_warmup: SimDuration,
    /// Scale-in victim rule.
    pub victim: Victim,
    /// Longest drain before requests are cut.
    pub drain_timeout: SimDuration,
}

impl AutoscalingConfig {
    /// Seconds of per-second history the group must keep.
    pub fn history_seconds(&self) -> u64 {
        let policy = self
            .policy
            .as_ref()
            .map_or(0, PolicyConfig::history_seconds);
        let predictive = self.predictive.as_ref().map_or(0, |p| p.history_seconds());
        policy.max(predictive).max(60)
    }

    /// The group's policies, in evaluation order: the dynamic policy, then
    /// predictive scaling, then scheduled actions (which override both).
    pub fn build_policies(&self) -> Vec<Box<dyn Policy>> {
        let mut out = Vec::new();
        if let Some(p) = &self.policy {
            out.push(p.build());
        }
        if let Some(p) = &self.predictive {
            out.push(Box::new(predictive::PredictiveController::new(p)) as Box<dyn Policy>);
        }
        if let Some(s) = &self.scheduled {
            out.push(Box::new(scheduled::ScheduledController::new(s)) as Box<dyn Policy>);
        }
        out
    }
}

/// Checks and lowers a group's `autoscaling` table at `path`;
/// `instances` is the group's initial size.
pub(crate) fn lower_autoscaling(
    c: &mut Check,
    path: &str,
    spec: &AutoscalingSpec,
    instances: u64,
) -> AutoscalingConfig {
    let min = c.count(&format!("{path}.min"), spec.min, 0, MAX_AUTOSCALE_INSTANCES);
    let max = c.count(&format!("{path}.max"), spec.max, 1, MAX_AUTOSCALE_INSTANCES);
    if min > max {
        c.add(
            format!("{path}.min"),
            format!("min ({min}) is more than max ({max})"),
        );
    }
    if instances < u64::from(min) || instances > u64::from(max) {
        c.add(
            format!("{path}.min"),
            format!(
                "the group starts with {instances} instances, outside its autoscaling bounds [{min}, {max}]"
            ),
        );
    }
    let policy = spec.policy.as_ref().map(|p| {
        let pp = format!("{path}.policy");
        match p {
            PolicySpec::Hpa(s) => PolicyConfig::Hpa(hpa::lower_hpa(c, &pp, s)),
            PolicySpec::Keda(s) => PolicyConfig::Keda(keda::lower_keda(c, &pp, s)),
            PolicySpec::TargetTracking(s) => {
                PolicyConfig::TargetTracking(aws::lower_target_tracking(c, &pp, s))
            }
            PolicySpec::Step(s) => PolicyConfig::Step(aws::lower_step(c, &pp, s)),
            PolicySpec::Simple(s) => PolicyConfig::Simple(aws::lower_simple(c, &pp, s)),
            PolicySpec::Rules(s) => PolicyConfig::Rules(rules::lower_rules(c, &pp, s)),
            PolicySpec::Threshold(s) => PolicyConfig::Threshold(rules::lower_threshold(c, &pp, s)),
        }
    });
    let scheduled = spec
        .scheduled
        .as_ref()
        .map(|s| scheduled::lower_scheduled(c, &format!("{path}.scheduled"), s));
    let predictive = spec
        .predictive
        .as_ref()
        .map(|s| predictive::lower_predictive(c, &format!("{path}.predictive"), s));
    if policy.is_none() && scheduled.is_none() && predictive.is_none() {
        c.add(
            path.to_string(),
            "gives no `policy`, `scheduled` actions or `predictive` scaling: nothing would ever change the size",
        );
    }
    let kind = policy.as_ref().map(PolicyConfig::kind);
    let aws_like = matches!(kind, Some("target_tracking" | "step" | "simple") | None);
    let default_warmup = match kind {
        Some("hpa") => SimDuration::from_secs(15),
        _ if aws_like => SimDuration::from_secs(300),
        _ => SimDuration::ZERO,
    };
    let instance_warmup = spec.instance_warmup.map_or(default_warmup, |v| {
        c.time(&format!("{path}.instance_warmup"), v)
    });
    let default_drain = if matches!(kind, Some("hpa" | "keda")) {
        SimDuration::from_secs(30)
    } else {
        SimDuration::from_secs(300)
    };
    let drain_timeout = spec.drain_timeout.map_or(default_drain, |v| {
        c.time(&format!("{path}.drain_timeout"), v)
    });
    let victim = match spec.victim.unwrap_or(VictimSpec::Newest) {
        VictimSpec::Newest => Victim::Newest,
        VictimSpec::Oldest => Victim::Oldest,
        VictimSpec::ZoneBalanced => Victim::ZoneBalanced,
    };
    AutoscalingConfig {
        min,
        max,
        policy,
        scheduled,
        predictive,
        instance_warmup,
        victim,
        drain_timeout,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::load::tests::{MINI, parse};

    /// MINI with an `autoscaling` table on the first group (4 instances).
    fn with(table: &str) -> String {
        MINI.replacen(
            "instances = 4\n",
            &format!("instances = 4\n[regions.groups.autoscaling]\n{table}\n"),
            1,
        )
    }

    #[test]
    fn defaults_follow_the_policy_kind() {
        let a = |t: &str| {
            parse(&with(t)).unwrap().config.regions[0].groups[0]
                .autoscaling
                .clone()
                .unwrap()
        };
        let hpa = a("min = 1\nmax = 10\npolicy = { type = \"hpa\" }");
        assert_eq!(
            (hpa.instance_warmup, hpa.drain_timeout, hpa.victim),
            (
                SimDuration::from_secs(15),
                SimDuration::from_secs(30),
                Victim::Newest
            )
        );
        let tt = a(
            "min = 1\nmax = 10\nvictim = \"zone_balanced\"\npolicy = { type = \"target_tracking\", metric = \"cpu\", target = 50 }",
        );
        assert_eq!(
            (tt.instance_warmup, tt.drain_timeout, tt.victim),
            (
                SimDuration::from_secs(300),
                SimDuration::from_secs(300),
                Victim::ZoneBalanced
            )
        );
        let keda = a("min = 0\nmax = 10\npolicy = { type = \"keda\", value = 5 }");
        assert_eq!(
            (keda.instance_warmup, keda.drain_timeout),
            (SimDuration::ZERO, SimDuration::from_secs(30))
        );
        assert_eq!(keda.build_policies().len(), 1);
        assert!(keda.history_seconds() >= 60);
    }

    #[test]
    fn bounds_and_empty_tables_are_refused_with_paths() {
        let e = parse(&with("min = 8\nmax = 2\npolicy = { type = \"hpa\" }"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("regions[0].groups[0].autoscaling.min: min (8) is more than max (2)"),
            "{e}"
        );
        assert!(e.contains("outside its autoscaling bounds [8, 2]"), "{e}");
        let e = parse(&with("min = 1\nmax = 10")).unwrap_err().to_string();
        assert!(e.contains("nothing would ever change the size"), "{e}");
        let e = parse(&with("min = 1\nmax = 1000000\npolicy = { type = \"hpa\" }"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("autoscaling.max: 1000000 is more than the 100000 allowed"),
            "{e}"
        );
        let e = parse(&with("min = 1\nmax = 10\npolicy = { type = \"magic\" }"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown variant `magic`"), "{e}");
    }
}
