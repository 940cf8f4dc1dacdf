//! Kubernetes HorizontalPodAutoscaler v2.
//! (Stub: being written.)

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Decision, GroupView, Policy};
use crate::fleet::lower::Check;

/// File form (stub).
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HpaSpec {}

/// Lowered form (stub).
#[derive(Clone, Debug, PartialEq)]
pub struct HpaConfig {}

impl HpaConfig {
    /// Seconds of history read at most.
    pub fn history_seconds(&self) -> u64 {
        60
    }
}

/// Checks and lowers `spec` found at `path`.
pub(crate) fn lower_hpa(_c: &mut Check, _path: &str, _spec: &HpaSpec) -> HpaConfig {
    HpaConfig {}
}

/// Controller (stub).
#[derive(Clone, Debug)]
pub struct HpaController {}

impl HpaController {
    /// A controller for `config`.
    pub fn new(_config: &HpaConfig) -> Self {
        HpaController {}
    }
}

impl Policy for HpaController {
    fn kind(&self) -> &'static str {
        "hpa"
    }

    fn tick(&mut self, _view: &GroupView<'_>) -> Option<Decision> {
        None
    }
}
