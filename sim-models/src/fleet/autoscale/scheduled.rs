//! Scheduled actions.
//! (Stub: being written.)

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Decision, GroupView, Policy};
use crate::fleet::lower::Check;

/// File form (stub).
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduledActionSpec {}

/// Lowered form (stub).
#[derive(Clone, Debug, PartialEq)]
pub struct ScheduledConfig {}

/// Checks and lowers `spec` found at `path`.
pub(crate) fn lower_scheduled(
    _c: &mut Check,
    _path: &str,
    _specs: &[ScheduledActionSpec],
) -> ScheduledConfig {
    ScheduledConfig {}
}

/// Controller (stub).
#[derive(Clone, Debug)]
pub struct ScheduledController {}

impl ScheduledController {
    /// A controller for `config`.
    pub fn new(_config: &ScheduledConfig) -> Self {
        ScheduledController {}
    }
}

impl Policy for ScheduledController {
    fn kind(&self) -> &'static str {
        "scheduled"
    }

    fn tick(&mut self, _view: &GroupView<'_>) -> Option<Decision> {
        None
    }
}
