//! fleetsim's models, behind one small facade.
//!
//! The command line, the validation suite and (later) the GUI use this crate
//! only through its root: load a scenario ([`load_scenario`]), run it
//! ([`run`]), and read the [`RunReport`]. Internals (the network model, the
//! file DTOs) are public for tests and benches, but the facade is the API.
//!
//! # Example
//!
//! ```
//! let text = r#"
//! [run]
//! horizon = "10min"
//! [[sources]]
//! name = "clients"
//! to = "web"
//! interarrival = { type = "exponential", rate = 0.5 }
//! [[stations]]
//! name = "web"
//! servers = 1
//! service = { type = "exponential", mean = "1s" }
//! "#;
//! let scenario = sim_models::load_scenario(text, sim_models::Format::Toml).unwrap();
//! let report = sim_models::run(&scenario, 7, "fleetsim run mm1.toml --seed 7");
//! assert!(report.stations[0].utilization > 0.3 && report.stations[0].utilization < 0.7);
//! ```

pub mod fleet;
pub mod network;
pub mod report;
pub mod scenario;
pub mod spec;
pub mod sweep;

pub use fleet::FleetReport;
pub use fleet::load::is_fleet_scenario;
pub use fleet::overrides::Override;
pub use fleet::policy_file::PolicyFile;
pub use network::Progress;
pub use report::{LatencyReport, RunReport, SourceReport, StationReport};
pub use scenario::{Format, NetworkConfig, ScenarioError, StationScenarioFile};

/// A parsed and validated scenario, with its content hash.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// The validated network.
    pub config: NetworkConfig,
    /// Hash of the scenario's content.
    pub hash: String,
}

impl Scenario {
    /// Wraps an already validated network built in code (validation, benches);
    /// `label` stands in for the content hash.
    pub fn from_config(config: NetworkConfig, label: &str) -> Self {
        Scenario {
            config,
            hash: label.to_string(),
        }
    }

    /// The seed to use when the caller gives none.
    pub fn default_seed(&self) -> u64 {
        self.config.default_seed
    }
}

/// Parses and validates a scenario text.
pub fn load_scenario(text: &str, format: Format) -> Result<Scenario, ScenarioError> {
    let file = StationScenarioFile::parse(text, format)?;
    let config = file.lower()?;
    Ok(Scenario {
        config,
        hash: file.content_hash(),
    })
}

/// Runs a scenario with `seed`; `reproduce` is the command line recorded in
/// the report.
pub fn run(scenario: &Scenario, seed: u64, reproduce: &str) -> RunReport {
    run_with_progress(scenario, seed, reproduce, &mut |_| {})
}

/// [`run`], reporting progress about 200 times along the way (for long runs);
/// the report is identical to [`run`]'s.
pub fn run_with_progress(
    scenario: &Scenario,
    seed: u64,
    reproduce: &str,
    on_progress: &mut dyn FnMut(network::Progress),
) -> RunReport {
    let (net, end, events) = network::simulate_with_progress(&scenario.config, seed, on_progress);
    report::build_report(
        &scenario.config,
        &net,
        end,
        events,
        seed,
        &report::ReportContext {
            scenario_hash: scenario.hash.clone(),
            reproduce: reproduce.to_string(),
        },
    )
}

/// Runs a scenario with `seed` and returns the hash of its full event trace
/// and the number of events, for `fleetsim check`.
pub fn trace_hash(scenario: &Scenario, seed: u64) -> (u64, u64) {
    let (_, _, _, hasher) = network::simulate_traced(&scenario.config, seed);
    (hasher.digest(), hasher.events())
}

/// A parsed and validated fleet scenario, with the hash of its effective
/// content (after `--set` overrides).
#[derive(Clone, Debug)]
pub struct FleetScenario {
    /// The validated fleet.
    pub config: fleet::FleetConfig,
    /// Hash of the effective scenario.
    pub hash: String,
}

impl FleetScenario {
    /// The seed to use when the caller gives none.
    pub fn default_seed(&self) -> u64 {
        self.config.run.default_seed
    }
}

/// Parses and validates a fleet scenario text, applying `overrides` (the
/// command line's `--set path=value`) first. `read_file` reads trace CSV
/// files the scenario names (relative to the scenario's directory).
pub fn load_fleet_scenario(
    text: &str,
    format: Format,
    overrides: &[Override],
    read_file: &dyn Fn(&str) -> Result<String, String>,
) -> Result<FleetScenario, ScenarioError> {
    let parsed = fleet::load::parse_fleet(text, format, overrides, read_file)?;
    Ok(FleetScenario {
        config: parsed.config,
        hash: parsed.hash,
    })
}

/// [`load_fleet_scenario`] with a policy file's autoscaling put into the
/// groups it targets first (`fleetsim compare --policy`).
pub fn load_fleet_scenario_with_policy(
    text: &str,
    format: Format,
    policy: Option<&PolicyFile>,
    overrides: &[Override],
    read_file: &dyn Fn(&str) -> Result<String, String>,
) -> Result<FleetScenario, ScenarioError> {
    let parsed = fleet::load::parse_fleet_with_policy(text, format, policy, overrides, read_file)?;
    Ok(FleetScenario {
        config: parsed.config,
        hash: parsed.hash,
    })
}

/// Runs a fleet scenario with `seed`, reporting progress about 200 times;
/// `reproduce` is the command line recorded in the report. The report does
/// not depend on whether progress is watched.
pub fn run_fleet(
    scenario: &FleetScenario,
    seed: u64,
    reproduce: &str,
    on_progress: &mut dyn FnMut(Progress),
) -> FleetReport {
    let (model, end, events) = fleet::simulate_fleet(&scenario.config, seed, on_progress);
    fleet::into_fleet_report(
        model,
        end,
        events,
        seed,
        &fleet::FleetReportContext {
            scenario_hash: scenario.hash.clone(),
            reproduce: reproduce.to_string(),
        },
    )
}

/// Runs a fleet scenario and returns the hash of its full event trace and
/// the number of events, for `fleetsim check`.
pub fn fleet_trace_hash(scenario: &FleetScenario, seed: u64) -> (u64, u64) {
    let (_, _, _, hasher) = fleet::simulate_fleet_traced(&scenario.config, seed);
    (hasher.digest(), hasher.events())
}

/// The static single-point-of-failure analysis of a fleet's topology
/// (`fleetsim spof`): components whose failure alone cuts a population off,
/// and each population's minimal cut.
pub fn static_spof(scenario: &FleetScenario) -> fleet::spof::StaticSpofReport {
    fleet::spof::analyze(&scenario.config)
}

/// The dynamic (N−1) SPOF analysis: the scenario run with each component
/// failed in turn, on the same seeds as a run without faults, ranked by
/// impact and set against `static_report`. `on_run` is called after each
/// run.
pub fn dynamic_spof(
    scenario: &FleetScenario,
    static_report: &fleet::spof::StaticSpofReport,
    options: &fleet::spof_runs::DynamicOptions,
    on_run: &(dyn Fn() + Sync),
) -> Result<fleet::spof_runs::DynamicSpofReport, String> {
    fleet::spof_runs::analyze(&scenario.config, static_report, options, on_run)
}

/// The JSON Schema of fleet scenario files, for editors (`fleetsim schema`).
pub fn fleet_json_schema() -> serde_json::Value {
    fleet::spec::fleet_json_schema()
}

#[cfg(test)]
mod tests;
