//! Predictive scaling.
//! (Stub: being written.)

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Decision, GroupView, Policy};
use crate::fleet::lower::Check;

/// File form (stub).
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PredictiveSpec {}

/// Lowered form (stub).
#[derive(Clone, Debug, PartialEq)]
pub struct PredictiveConfig {}

impl PredictiveConfig {
    /// Seconds of history read at most.
    pub fn history_seconds(&self) -> u64 {
        60
    }
}

/// Checks and lowers `spec` found at `path`.
pub(crate) fn lower_predictive(
    _c: &mut Check,
    _path: &str,
    _spec: &PredictiveSpec,
) -> PredictiveConfig {
    PredictiveConfig {}
}

/// Controller (stub).
#[derive(Clone, Debug)]
pub struct PredictiveController {}

impl PredictiveController {
    /// A controller for `config`.
    pub fn new(_config: &PredictiveConfig) -> Self {
        PredictiveController {}
    }
}

impl Policy for PredictiveController {
    fn kind(&self) -> &'static str {
        "predictive"
    }

    fn tick(&mut self, _view: &GroupView<'_>) -> Option<Decision> {
        None
    }
}
