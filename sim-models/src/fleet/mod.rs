//! The multi-region fleet model: client populations, GeoDNS, regional load
//! balancers and instance groups, driven by a fleet scenario file.
//!
//! - [`config`]: the validated scenario the model runs;
//! - [`model`]: the event model (how one request flows, see its docs);
//! - [`balancer`], [`client`], [`health`]: the policies it is made of;
//! - [`metrics`] and [`report`]: what a run measures and reports.

pub mod autoscale;
pub mod balancer;
pub mod client;
pub mod config;
pub mod data;
pub mod expect;
pub mod health;
pub mod load;
pub mod lower;
pub mod metrics;
pub mod model;
pub(crate) mod netfaults;
pub mod overrides;
pub mod policy_file;
pub mod report;
pub mod spec;
pub mod spof;
pub mod spof_runs;

use sim_core::{Observer, SimTime, Simulation, TraceHasher};

pub use config::FleetConfig;
pub use model::{Conservation, Event, FleetModel};
pub use report::{FleetReport, FleetReportContext, build_fleet_report, into_fleet_report};

use crate::network::Progress;

/// How many progress reports a run makes at most.
const PROGRESS_SLICES: u64 = 200;

/// Runs `config` with `seed` and returns its report with no scenario hash
/// or reproduce line: for analyses that run variants of a validated
/// config (N−1 runs, validation replications) rather than a file.
pub fn run_config(config: &FleetConfig, seed: u64) -> FleetReport {
    let (model, end, events) = simulate_fleet(config, seed, &mut |_| {});
    into_fleet_report(
        model,
        end,
        events,
        seed,
        &FleetReportContext {
            scenario_hash: String::new(),
            reproduce: String::new(),
        },
    )
}

/// Runs `config` with `seed` to its end; returns the model, the end time and
/// the number of events. `on_progress` is called about 200 times; the run is
/// identical with or without it (it only pauses between slices of time).
pub fn simulate_fleet(
    config: &FleetConfig,
    seed: u64,
    on_progress: &mut dyn FnMut(Progress),
) -> (FleetModel, SimTime, u64) {
    simulate_observed(config, seed, &mut sim_core::NoObserver, on_progress)
}

/// [`simulate_fleet`] that also hashes the full event trace.
pub fn simulate_fleet_traced(
    config: &FleetConfig,
    seed: u64,
) -> (FleetModel, SimTime, u64, TraceHasher) {
    let mut hasher = TraceHasher::default();
    let (m, end, events) = simulate_observed(config, seed, &mut hasher, &mut |_| {});
    (m, end, events, hasher)
}

fn simulate_observed<O: Observer<Event>>(
    config: &FleetConfig,
    seed: u64,
    observer: &mut O,
    on_progress: &mut dyn FnMut(Progress),
) -> (FleetModel, SimTime, u64) {
    let mut sim = Simulation::new(FleetModel::new(config, seed));
    {
        let (model, sched) = sim.parts_mut();
        model.start(sched);
    }
    let end = SimTime::ZERO + config.run.duration;
    let step = (config.run.duration.as_nanos() / PROGRESS_SLICES).max(1);
    let mut t = SimTime::ZERO;
    while t < end {
        t = SimTime::from_nanos(t.as_nanos().saturating_add(step)).min(end);
        sim.run(t, |_| false, observer);
        on_progress(Progress {
            fraction: t.as_secs_f64() / end.as_secs_f64().max(1e-9),
            sim_time_s: t.as_secs_f64(),
            events: sim.events_processed(),
        });
    }
    let events = sim.events_processed();
    let mut model = sim.into_model();
    model.finish_run(end);
    (model, end, events)
}

#[cfg(test)]
mod tests;
