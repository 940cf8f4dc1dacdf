//! fleetsim's desktop dashboard (`fleetsim-gui`): pick or open a fleet
//! scenario, edit its main parameters as `--set` overrides, run it on a
//! background thread, and explore the report — plots on one time axis,
//! the summary and incidents tables, the topology with its single points
//! of failure, and the autoscaler's decision log.
//!
//! It uses `sim_models` only through its facade (`load_fleet_scenario`,
//! `run_fleet`, `static_spof`), like `sim-cli`. Everything is drawn by
//! [`App::show`] into an [`egui::Ui`], so tests run it headless with
//! `egui_kittest`; `main.rs` hands it eframe's window.
//!
//! Modules, one job each: [`app`] (state and layout), [`scenario_form`]
//! (bundled scenarios, the parameter form, overrides, saving),
//! [`runner`] (the background run), [`plots`] (time series),
//! [`tables`] (summary, incidents, decisions), [`topology`] (the graph).

pub mod app;
pub mod plots;
pub mod runner;
pub mod scenario_form;
pub mod tables;
pub mod topology;

pub use app::App;
