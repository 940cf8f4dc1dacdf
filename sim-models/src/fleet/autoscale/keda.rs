//! KEDA queue-length scaling.
//! (Stub: being written.)

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Decision, GroupView, Policy};
use crate::fleet::lower::Check;

/// File form (stub).
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KedaSpec {}

/// Lowered form (stub).
#[derive(Clone, Debug, PartialEq)]
pub struct KedaConfig {}

impl KedaConfig {
    /// Seconds of history read at most.
    pub fn history_seconds(&self) -> u64 {
        60
    }
}

/// Checks and lowers `spec` found at `path`.
pub(crate) fn lower_keda(_c: &mut Check, _path: &str, _spec: &KedaSpec) -> KedaConfig {
    KedaConfig {}
}

/// Controller (stub).
#[derive(Clone, Debug)]
pub struct KedaController {}

impl KedaController {
    /// A controller for `config`.
    pub fn new(_config: &KedaConfig) -> Self {
        KedaController {}
    }
}

impl Policy for KedaController {
    fn kind(&self) -> &'static str {
        "keda"
    }

    fn tick(&mut self, _view: &GroupView<'_>) -> Option<Decision> {
        None
    }
}
