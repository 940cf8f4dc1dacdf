//! Placeholder until the HTML report lands (being written in parallel).
use sim_models::sweep::objective::Objective;
use sim_models::sweep::results::SweepResults;

/// Renders the sweep as one self-contained HTML page.
pub(crate) fn render(_results: &SweepResults, _objective: Option<&Objective>) -> anyhow::Result<String> {
    anyhow::bail!("not yet")
}
