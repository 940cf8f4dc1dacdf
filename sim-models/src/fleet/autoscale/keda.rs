//! KEDA queue-length scaling (reference section 3; `docs/autoscaling.md`).
//!
//! Two cooperating loops on one size:
//! 1. the **KEDA operator** (0 ↔ 1), every `polling_interval` (30 s): the
//!    trigger is active iff the queue is strictly greater than
//!    `activation_value` (default 0). Active at 0 replicas ⇒ scale to
//!    `max(min, 1)`; inactive with replicas and `min == 0` ⇒ scale to 0 once
//!    `cooldown_period` (300 s) has passed since the trigger was last active
//!    (or, if it never was, once `initial_cooldown_period` (0 s) has passed
//!    since the start). With `min ≥ 1` activation is ignored.
//! 2. the **HPA KEDA creates** (1 ↔ N), every `sync_period` (15 s): one
//!    External metric with an `AverageValue` target = the trigger's `value`,
//!    so `desired = ceil(queue / value)` with the tolerance against the pod
//!    count (rule 0.9), min = `max(min, 1)`, then the HPA's legacy path, or
//!    `behavior` when given ([`super::hpa`]). At 0 replicas this HPA is
//!    disabled (rule 0.8), which leaves 0 ↔ 1 to the operator.
//!
//! `minReplicaCount` / `maxReplicaCount` are the group's autoscaling `min` /
//! `max` (so scale to zero needs `min = 0`).
//!
//! The queue: requests waiting in the group's instance queues (the last
//! row's `queued`), plus — while the group has no ready instance — the
//! requests that found no backend during the last polling interval.
//! fleetsim has no message broker; at zero replicas those requests stand
//! for the ones a KEDA HTTP add-on interceptor would hold. The metric is
//! read fresh at each poll and sync (KEDA's metrics server queries the
//! scaler on each HPA request).

use std::ops::Bound;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::hpa::{self, BehaviorSpec, Normalizer, Scaling};
use super::{Decision, GroupView, Policy};
use crate::fleet::lower::Check;
use crate::spec::Seconds;

/// Longest interval or cooldown accepted (seconds).
const MAX_KEDA_SECONDS: u64 = 86_400;

/// `policy = { type = "keda", … }`: a ScaledObject with one queue-length
/// trigger (section 3).
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KedaSpec {
    /// Target queue length per replica: the trigger's `value` (required,
    /// at least 0.001).
    pub value: f64,
    /// The trigger is active iff the queue is strictly greater than this
    /// (default 0: active from one waiting request).
    #[serde(default)]
    pub activation_value: Option<f64>,
    /// Operator polling interval, whole seconds (default 30 s).
    #[serde(default)]
    pub polling_interval: Option<Seconds>,
    /// Time since the trigger was last active before scaling to zero, whole
    /// seconds (default 300 s).
    #[serde(default)]
    pub cooldown_period: Option<Seconds>,
    /// Before the trigger has ever been active: time after the start before
    /// scaling to zero, whole seconds (default 0 s).
    #[serde(default)]
    pub initial_cooldown_period: Option<Seconds>,
    /// Sync period of KEDA's HPA, whole seconds (default 15 s).
    #[serde(default)]
    pub sync_period: Option<Seconds>,
    /// The HPA's tolerance (default 0.1).
    #[serde(default)]
    pub tolerance: Option<f64>,
    /// The HPA's `behavior` (`advanced.horizontalPodAutoscalerConfig`;
    /// default absent: the HPA's legacy path, rule 1.4). Same shape as the
    /// HPA policy's `behavior`.
    #[serde(default)]
    pub behavior: Option<BehaviorSpec>,
}

/// A lowered KEDA ScaledObject.
#[derive(Clone, Debug, PartialEq)]
pub struct KedaConfig {
    /// Target queue length per replica.
    pub value: f64,
    /// Activation threshold (strictly greater is active).
    pub activation_value: f64,
    /// Operator polling interval (seconds).
    pub polling_interval: u64,
    /// Cooldown before scaling to zero (seconds).
    pub cooldown_period: u64,
    /// Initial cooldown (seconds).
    pub initial_cooldown_period: u64,
    /// HPA sync period (seconds).
    pub sync_period: u64,
    /// The HPA's tolerance and behavior.
    pub scaling: Scaling,
}

impl KedaConfig {
    /// Seconds of history read at most: one polling interval.
    pub fn history_seconds(&self) -> u64 {
        self.polling_interval
    }
}

/// Checks and lowers `spec` found at `path`.
pub(crate) fn lower_keda(c: &mut Check, path: &str, spec: &KedaSpec) -> KedaConfig {
    let secs = |c: &mut Check, name: &str, v: Option<Seconds>, default: u64, min: u64| {
        hpa::whole_secs(
            c,
            &format!("{path}.{name}"),
            v,
            default,
            min,
            MAX_KEDA_SECONDS,
        )
    };
    KedaConfig {
        value: c.real(
            &format!("{path}.value"),
            spec.value,
            Bound::Included(0.001),
            Bound::Unbounded,
        ),
        activation_value: spec.activation_value.map_or(0.0, |v| {
            c.real(
                &format!("{path}.activation_value"),
                v,
                Bound::Included(0.0),
                Bound::Unbounded,
            )
        }),
        polling_interval: secs(c, "polling_interval", spec.polling_interval, 30, 1),
        cooldown_period: secs(c, "cooldown_period", spec.cooldown_period, 300, 0),
        initial_cooldown_period: secs(
            c,
            "initial_cooldown_period",
            spec.initial_cooldown_period,
            0,
            0,
        ),
        sync_period: secs(c, "sync_period", spec.sync_period, 15, 1),
        scaling: hpa::lower_scaling(c, path, spec.tolerance, None, spec.behavior.as_ref()),
    }
}

/// KEDA's operator and its HPA for one group.
#[derive(Clone, Debug)]
pub struct KedaController {
    config: KedaConfig,
    hpa: Normalizer,
    /// Last poll at which the trigger was active.
    last_active: Option<u64>,
}

impl KedaController {
    /// A controller for `config`, before its first poll.
    pub fn new(config: &KedaConfig) -> Self {
        KedaController {
            config: config.clone(),
            hpa: Normalizer::new(config.scaling.clone()),
            last_active: None,
        }
    }

    /// The queue length the scaler reports (see the module doc).
    fn queue(&self, view: &GroupView<'_>) -> f64 {
        let h = view.history;
        let queued = h.last().map_or(0, |r| r.queued);
        let held = if view.counts.ready() == 0 {
            h.recent(self.config.polling_interval)
                .map_or(0, |w| w.no_backend)
        } else {
            0
        };
        (queued + held) as f64
    }

    /// The operator's 0 ↔ 1 step (section 3, loop 1).
    fn poll(&mut self, now: u64, view: &GroupView<'_>, queue: f64) -> Option<Decision> {
        let cfg = &self.config;
        let current = view.desired;
        if view.min >= 1 {
            // Activation is ignored; the HPA and the bounds do the rest.
            self.last_active = Some(now);
            return None;
        }
        let what = format!("queue {queue} vs activation_value {}", cfg.activation_value);
        if queue > cfg.activation_value {
            self.last_active = Some(now);
            return (current == 0).then(|| Decision {
                desired: Some(1),
                reason: format!("{what}: trigger active, 0 → 1"),
                ..Decision::default()
            });
        }
        if current == 0 {
            return None;
        }
        let (since, wait) = match self.last_active {
            Some(t) => (t, cfg.cooldown_period),
            None => (0, cfg.initial_cooldown_period),
        };
        if now > since + wait {
            Some(Decision {
                desired: Some(0),
                reason: format!("{what}: trigger inactive for more than {wait} s, {current} → 0"),
                ..Decision::default()
            })
        } else {
            Some(Decision {
                reason: format!(
                    "{what}: trigger inactive; stays at {current}, held by cooldown_period ({wait} s) until {} s",
                    since + wait
                ),
                ..Decision::default()
            })
        }
    }
}

impl Policy for KedaController {
    fn kind(&self) -> &'static str {
        "keda"
    }

    fn tick(&mut self, view: &GroupView<'_>) -> Option<Decision> {
        let now = hpa::now_secs(view);
        let poll = now > 0 && now.is_multiple_of(self.config.polling_interval);
        let sync = now > 0 && now.is_multiple_of(self.config.sync_period);
        if !poll && !sync {
            return None;
        }
        let queue = self.queue(view);
        let observed = vec![
            ("queue".to_string(), queue),
            ("value".to_string(), self.config.value),
            ("activation_value".to_string(), self.config.activation_value),
            ("replicas".to_string(), f64::from(view.counts.active())),
        ];
        let operator = if poll {
            self.poll(now, view, queue)
        } else {
            None
        };
        if operator.as_ref().is_some_and(|d| d.desired.is_some()) || !sync {
            // The HPA sees the operator's change at its next sync.
            return operator.map(|d| Decision { observed, ..d });
        }
        let current = view.desired;
        let status = view.counts.active();
        let p =
            hpa::external_average_proposal(queue, self.config.value, status, self.hpa.tolerance());
        let outcome = self
            .hpa
            .sync(now, current, view.min.max(1), view.max, Some(p));
        let what = format!(
            "queue {queue} / value {} on {status} replicas ⇒ {p}",
            self.config.value
        );
        let from_hpa = hpa::decision(outcome, current, &what, observed.clone());
        match (operator, from_hpa) {
            (Some(op), None) => Some(Decision { observed, ..op }),
            (Some(op), Some(h)) if h.desired.is_none() => Some(Decision {
                reason: format!("{}; {}", op.reason, h.reason),
                ..h
            }),
            (_, h) => h,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::InstanceCounts;
    use super::super::hpa::testkit::{history, row, serving, view};
    use super::*;
    use crate::fleet::autoscale::PolicySpec;

    fn config(extra: &str) -> KedaConfig {
        let spec: PolicySpec =
            toml::from_str(&format!("type = \"keda\"\n{extra}")).expect("parses");
        let PolicySpec::Keda(spec) = spec else {
            panic!("not keda")
        };
        let mut c = Check::default();
        let cfg = lower_keda(&mut c, "p", &spec);
        assert!(c.ok(), "{:?}", c.finish());
        cfg
    }

    /// Section 3, RabbitMQ scaler example: value 10, 30 messages ⇒ 3
    /// replicas (External `AverageValue`, rule 0.9), through KEDA's HPA.
    #[test]
    fn rabbitmq_value_10_with_30_messages_gives_3() {
        let mut k = KedaController::new(&config("value = 10"));
        let h = history(15, row(0.5, 1.0, 0, 30));
        let d = k.tick(&view(&h, 1, 0, 100, serving(1))).expect("scales");
        assert_eq!(d.desired, Some(3));
        assert_eq!(
            hpa::external_average_proposal(30.0, 10.0, 1, hpa::Tolerance { down: 0.1, up: 0.1 }),
            3
        );
    }

    /// Section 3: activation wins over the scaling value — value 10,
    /// activation 50, 40 messages ⇒ inactive ⇒ scaled to 0 (never active
    /// before, initial cooldown 0).
    #[test]
    fn activation_beats_scaling_value() {
        let mut k = KedaController::new(&config("value = 10\nactivation_value = 50"));
        let h = history(30, row(0.5, 2.0, 0, 40));
        let d = k.tick(&view(&h, 2, 0, 100, serving(2))).expect("acts");
        assert_eq!(d.desired, Some(0));
    }

    /// Section 3: scale to zero only after `cooldown_period` has passed
    /// since the trigger was last active (strictly after), held meanwhile.
    #[test]
    fn scale_to_zero_only_after_cooldown() {
        let mut k = KedaController::new(&config("value = 10"));
        let mut h = history(30, row(0.5, 1.0, 0, 5));
        // t = 30: active (5 > 0), one replica: nothing to change.
        assert_eq!(k.tick(&view(&h, 1, 0, 100, serving(1))), None);
        let mut held = 0;
        loop {
            h.push(row(0.0, 1.0, 0, 0));
            let t = h.end();
            let d = k.tick(&view(&h, 1, 0, 100, serving(1)));
            if t.is_multiple_of(30) && t <= 330 {
                let d = d.expect("a hold at each poll");
                assert_eq!(d.desired, None, "t={t}");
                assert!(d.reason.contains("held by cooldown_period"), "{}", d.reason);
                held += 1;
            } else if t == 360 {
                assert_eq!(d.expect("scales").desired, Some(0));
                break;
            } else {
                assert!(d.is_none_or(|d| d.desired.is_none()), "t={t}");
            }
        }
        assert_eq!(held, 10);
    }

    /// Section 3: at zero replicas a request that found no backend during
    /// the last polling interval activates the trigger: 0 → max(min, 1).
    #[test]
    fn scale_from_zero_on_activation() {
        let mut k = KedaController::new(&config("value = 10"));
        let mut h = history(29, row(0.0, 0.0, 0, 0));
        h.push(super::super::MetricRow {
            no_backend: 3,
            ..Default::default()
        });
        let d = k
            .tick(&view(&h, 0, 0, 100, InstanceCounts::default()))
            .expect("activates");
        assert_eq!(d.desired, Some(1));
        assert!(d.observed.contains(&("queue".into(), 3.0)));
        // At zero with nothing waiting: nothing (the HPA is disabled).
        let h = history(30, row(0.0, 0.0, 0, 0));
        let mut k = KedaController::new(&config("value = 10"));
        assert_eq!(
            k.tick(&view(&h, 0, 0, 100, InstanceCounts::default())),
            None
        );
    }

    /// Section 3: the HPA's min is max(min, 1), so an empty queue never
    /// takes the HPA below one replica; with min ≥ 1 activation is ignored.
    #[test]
    fn hpa_keeps_one_replica_and_min_ignores_activation() {
        let mut k = KedaController::new(&config("value = 10\nbehavior = {}\npolling_interval = 7"));
        // t = 15: HPA sync only; first sync, queue 0 ⇒ 0, clamped to 1.
        let h = history(15, row(0.0, 1.0, 0, 0));
        assert_eq!(k.tick(&view(&h, 1, 0, 100, serving(1))), None);
        let mut k = KedaController::new(&config("value = 10"));
        let h = history(30, row(0.0, 2.0, 0, 0));
        assert_eq!(k.tick(&view(&h, 2, 2, 100, serving(2))), None);
    }

    /// Lowering: `value` is required and positive; defaults of section 3.
    #[test]
    fn lowering_defaults_and_problems() {
        let cfg = config("value = 10");
        assert_eq!(
            (
                cfg.polling_interval,
                cfg.cooldown_period,
                cfg.initial_cooldown_period,
                cfg.sync_period
            ),
            (30, 300, 0, 15)
        );
        assert_eq!(cfg.activation_value, 0.0);
        assert!(cfg.scaling.behavior.is_none());
        assert!(toml::from_str::<PolicySpec>("type = \"keda\"").is_err());
        let spec: PolicySpec = toml::from_str(
            "type = \"keda\"\nvalue = 0\nactivation_value = -1\npolling_interval = 0",
        )
        .unwrap();
        let PolicySpec::Keda(spec) = spec else {
            panic!()
        };
        let mut c = Check::default();
        lower_keda(&mut c, "p", &spec);
        let paths: Vec<String> = c.finish().into_iter().map(|p| p.path).collect();
        assert_eq!(
            paths,
            ["p.value", "p.activation_value", "p.polling_interval"]
        );
    }
}
