//! The seeds' multi-rule and threshold policies.
//! (Stub: being written.)

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Decision, GroupView, Policy};
use crate::fleet::lower::Check;

/// File form (stub).
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RulesSpec {}

/// Lowered form (stub).
#[derive(Clone, Debug, PartialEq)]
pub struct RulesConfig {}

impl RulesConfig {
    /// Seconds of history read at most.
    pub fn history_seconds(&self) -> u64 {
        60
    }
}

/// Checks and lowers `spec` found at `path`.
pub(crate) fn lower_rules(_c: &mut Check, _path: &str, _spec: &RulesSpec) -> RulesConfig {
    RulesConfig {}
}

/// Controller (stub).
#[derive(Clone, Debug)]
pub struct RulesController {}

impl RulesController {
    /// A controller for `config`.
    pub fn new(_config: &RulesConfig) -> Self {
        RulesController {}
    }
}

impl Policy for RulesController {
    fn kind(&self) -> &'static str {
        "rules"
    }

    fn tick(&mut self, _view: &GroupView<'_>) -> Option<Decision> {
        None
    }
}

/// File form (stub).
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ThresholdSpec {}

/// Lowered form (stub).
#[derive(Clone, Debug, PartialEq)]
pub struct ThresholdConfig {}

impl ThresholdConfig {
    /// Seconds of history read at most.
    pub fn history_seconds(&self) -> u64 {
        60
    }
}

/// Checks and lowers `spec` found at `path`.
pub(crate) fn lower_threshold(
    _c: &mut Check,
    _path: &str,
    _spec: &ThresholdSpec,
) -> ThresholdConfig {
    ThresholdConfig {}
}

/// Controller (stub).
#[derive(Clone, Debug)]
pub struct ThresholdController {}

impl ThresholdController {
    /// A controller for `config`.
    pub fn new(_config: &ThresholdConfig) -> Self {
        ThresholdController {}
    }
}

impl Policy for ThresholdController {
    fn kind(&self) -> &'static str {
        "threshold"
    }

    fn tick(&mut self, _view: &GroupView<'_>) -> Option<Decision> {
        None
    }
}
