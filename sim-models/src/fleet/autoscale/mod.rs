//! Autoscaling: policies that behave like the systems they are named after,
//! evaluated on their own periodic schedule, never per request.
//!
//! The model records one [`MetricRow`] per autoscaled group every simulated
//! second (`history`), then calls each of the group's policies with a
//! [`GroupView`]: the group's desired capacity, bounds, instance counts by
//! life-cycle state and that history. A policy keeps its own clock (the HPA
//! syncs every 15 s, AWS alarms evaluate one-minute datapoints, KEDA polls
//! every 30 s) and answers with a [`Decision`] when it acts, or when it
//! wanted to act and a rule held it back, so the decision log can explain
//! every scaling decision. The model then clamps the desired capacity to the
//! bounds and launches or drains instances to match.
//!
//! - [`hpa`]: Kubernetes HorizontalPodAutoscaler v2 with `behavior`;
//! - [`keda`]: KEDA queue-length scaling (activation loop + its HPA);
//! - [`rules`]: the seeds' multi-rule policy and threshold policy;
//! - [`aws`]: AWS target tracking, step and simple scaling;
//! - [`scheduled`]: scheduled actions; [`predictive`]: predictive scaling.
//!
//! `docs/autoscaling.md` states each rule and its source.

pub mod aws;
pub mod group;
pub mod history;
pub mod hpa;
pub mod keda;
pub mod predictive;
pub mod rules;
pub mod scheduled;

use std::fmt::Debug;

use sim_core::{SimDuration, SimTime};

pub use group::{AutoscalingConfig, AutoscalingSpec, PolicyConfig, PolicySpec, Victim};
pub use history::{MetricHistory, MetricRow, WindowStats};

/// Instances of a group by life-cycle state, as the autoscaler sees them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InstanceCounts {
    /// Launched, still booting (Kubernetes: Pending).
    pub booting: u32,
    /// Booted and serving, but ready for less than the group's metric
    /// warm-up: excluded from the metrics (AWS instance warm-up; the HPA's
    /// CPU readiness rule).
    pub warming: u32,
    /// Serving and counted in the metrics.
    pub in_service: u32,
    /// Being drained after a scale-in (no new requests).
    pub draining: u32,
}

impl InstanceCounts {
    /// Instances that count toward capacity: booting, warming or in service
    /// (draining ones are on their way out).
    pub fn active(&self) -> u32 {
        self.booting + self.warming + self.in_service
    }

    /// Booted instances that serve requests (warming or in service).
    pub fn ready(&self) -> u32 {
        self.warming + self.in_service
    }
}

/// What a group looks like to its policies at one evaluation (a whole
/// simulated second).
#[derive(Clone, Copy, Debug)]
pub struct GroupView<'a> {
    /// The current instant (a whole second).
    pub now: SimTime,
    /// The group's desired capacity (Kubernetes `spec.replicas`, the ASG's
    /// `DesiredCapacity`).
    pub desired: u32,
    /// Current lower bound (scheduled actions may move it).
    pub min: u32,
    /// Current upper bound.
    pub max: u32,
    /// Instances by state.
    pub counts: InstanceCounts,
    /// Workers per instance (concurrency of one instance).
    pub workers_per_instance: u32,
    /// Mean boot time of the group's instances (predictive scaling launches
    /// this much ahead).
    pub mean_boot: SimDuration,
    /// Per-second metrics of the group.
    pub history: &'a MetricHistory,
}

/// A policy's answer at one evaluation: what it wants, what it saw and why.
///
/// `desired: None` with a `reason` logs a held decision (a stabilization
/// window, a cooldown, a tolerance band that kept the size) without changing
/// anything; the model logs only decisions that change something or that
/// explain why a wanted change did not happen.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Decision {
    /// New desired capacity, before the model clamps it to the bounds.
    pub desired: Option<u32>,
    /// New lower bound (scheduled actions).
    pub min: Option<u32>,
    /// New upper bound (scheduled actions).
    pub max: Option<u32>,
    /// The metric values the policy saw, by name (e.g. `cpu_utilization`
    /// 0.83, `target` 0.7, `ready` 4).
    pub observed: Vec<(String, f64)>,
    /// The rule that fired, or what held the change back, in words.
    pub reason: String,
}

/// An autoscaling policy attached to one group.
///
/// `tick` is called once per simulated second, after the history has its
/// row for the second that just ended; the policy acts on its own period
/// (it keeps its own clock) and returns `None` on seconds where it has
/// nothing to do or say.
pub trait Policy: Debug + Send {
    /// The policy's kind in reports (`hpa`, `target-tracking`, …).
    fn kind(&self) -> &'static str;

    /// One second has passed; maybe decide.
    fn tick(&mut self, view: &GroupView<'_>) -> Option<Decision>;
}
