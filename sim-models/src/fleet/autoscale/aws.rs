//! AWS EC2 Auto Scaling dynamic policies.
//! (Stub: being written.)

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Decision, GroupView, Policy};
use crate::fleet::lower::Check;

/// File form (stub).
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetTrackingSpec {}

/// Lowered form (stub).
#[derive(Clone, Debug, PartialEq)]
pub struct TargetTrackingConfig {}

impl TargetTrackingConfig {
    /// Seconds of history read at most.
    pub fn history_seconds(&self) -> u64 {
        60
    }
}

/// Checks and lowers `spec` found at `path`.
pub(crate) fn lower_target_tracking(
    _c: &mut Check,
    _path: &str,
    _spec: &TargetTrackingSpec,
) -> TargetTrackingConfig {
    TargetTrackingConfig {}
}

/// Controller (stub).
#[derive(Clone, Debug)]
pub struct TargetTrackingController {}

impl TargetTrackingController {
    /// A controller for `config`.
    pub fn new(_config: &TargetTrackingConfig) -> Self {
        TargetTrackingController {}
    }
}

impl Policy for TargetTrackingController {
    fn kind(&self) -> &'static str {
        "target_tracking"
    }

    fn tick(&mut self, _view: &GroupView<'_>) -> Option<Decision> {
        None
    }
}

/// File form (stub).
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StepSpec {}

/// Lowered form (stub).
#[derive(Clone, Debug, PartialEq)]
pub struct StepConfig {}

impl StepConfig {
    /// Seconds of history read at most.
    pub fn history_seconds(&self) -> u64 {
        60
    }
}

/// Checks and lowers `spec` found at `path`.
pub(crate) fn lower_step(_c: &mut Check, _path: &str, _spec: &StepSpec) -> StepConfig {
    StepConfig {}
}

/// Controller (stub).
#[derive(Clone, Debug)]
pub struct StepController {}

impl StepController {
    /// A controller for `config`.
    pub fn new(_config: &StepConfig) -> Self {
        StepController {}
    }
}

impl Policy for StepController {
    fn kind(&self) -> &'static str {
        "step"
    }

    fn tick(&mut self, _view: &GroupView<'_>) -> Option<Decision> {
        None
    }
}

/// File form (stub).
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SimpleSpec {}

/// Lowered form (stub).
#[derive(Clone, Debug, PartialEq)]
pub struct SimpleConfig {}

impl SimpleConfig {
    /// Seconds of history read at most.
    pub fn history_seconds(&self) -> u64 {
        60
    }
}

/// Checks and lowers `spec` found at `path`.
pub(crate) fn lower_simple(_c: &mut Check, _path: &str, _spec: &SimpleSpec) -> SimpleConfig {
    SimpleConfig {}
}

/// Controller (stub).
#[derive(Clone, Debug)]
pub struct SimpleController {}

impl SimpleController {
    /// A controller for `config`.
    pub fn new(_config: &SimpleConfig) -> Self {
        SimpleController {}
    }
}

impl Policy for SimpleController {
    fn kind(&self) -> &'static str {
        "simple"
    }

    fn tick(&mut self, _view: &GroupView<'_>) -> Option<Decision> {
        None
    }
}
