//! The dashboard driven headless with egui_kittest (no window, no GPU, no
//! display): open a bundled scenario, shorten it with `--set`-style
//! overrides, press Run, step until the background run finishes, then find
//! the results by their accessible labels.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use egui::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use sim_gui::App;

fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scenarios")
        .join(name)
}

fn harness(app: App) -> Harness<'static, App> {
    Harness::builder()
        .with_size([1500.0, 1000.0])
        .build_ui_state(|ui, app: &mut App| app.show(ui), app)
}

/// Presses Run and steps until the run's report is shown.
fn run_to_end(h: &mut Harness<'static, App>) {
    h.get_by_role_and_label(Role::Button, "Run").click();
    h.step();
    assert!(h.state().is_running() || h.state().report().is_some());
    let started = Instant::now();
    while h.state().is_running() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the run did not finish"
        );
        std::thread::sleep(Duration::from_millis(5));
        h.step();
    }
    h.run_steps(2);
    assert!(h.state().report().is_some(), "no report after the run");
}

#[test]
fn runs_a_bundled_scenario_and_shows_plots_and_summary() {
    let mut app = App::new();
    app.open(&scenario("single-region.toml"));
    app.add_overrides(&["run.duration=40s".into(), "run.warmup=10s".into()]);
    assert_eq!(app.error(), None);
    let mut h = harness(app);
    h.run_steps(2);
    run_to_end(&mut h);
    let report = h.state().report().unwrap();
    assert_eq!(report.scenario, "single-region");
    assert_eq!(report.measured_to_s, 40.0);
    h.get_by_label(sim_gui::tables::SUMMARY);
    for title in &sim_gui::plots::TITLES[..6] {
        h.get_by_label(title);
    }
    // The summary's figures come from the report.
    let requests = report.global.requests.to_string();
    assert!(h.query_all_by_label(&requests).count() >= 1);
}

#[test]
fn incidents_table_shows_an_injected_fault() {
    let mut app = App::new();
    app.open(&scenario("single-region.toml"));
    app.add_overrides(&[
        "run.duration=60s".into(),
        "run.warmup=5s".into(),
        "faults=[{ kind = \"zone\", region = \"us-east\", zone = \"us-east-1a\", at = \"20s\", \
         duration = \"15s\", rto_target = \"30s\" }]"
            .into(),
    ]);
    assert_eq!(app.error(), None);
    let mut h = harness(app);
    h.run_steps(2);
    run_to_end(&mut h);
    assert_eq!(h.state().report().unwrap().incidents.len(), 1);
    h.get_by_label("Incidents").click();
    h.run_steps(2);
    h.get_by_label("RTO target");
    h.get_by_label("zone us-east/us-east-1a");
}

#[test]
fn bad_input_is_an_inline_error_not_a_panic() {
    let mut app = App::new();
    app.open(&scenario("single-region.toml"));
    app.add_overrides(&["run.duration=-5s".into()]);
    let error = app
        .error()
        .expect("a negative duration is refused")
        .to_string();
    assert!(error.contains("run.duration"), "{error}");
    let mut h = harness(app);
    h.run_steps(2);
    // The error is on screen and Run is disabled.
    assert!(h.query_by_label_contains("run.duration").is_some());
    assert!(
        h.get_by_role_and_label(Role::Button, "Run")
            .accesskit_node()
            .is_disabled()
    );

    let mut app = App::new();
    app.open(Path::new("/nonexistent/scenario.toml"));
    assert!(app.error().unwrap().contains("cannot read scenario"));
}

#[test]
fn cancel_stops_a_long_run_without_a_report() {
    let mut app = App::new();
    app.open(&scenario("three-region-active-active.toml"));
    let mut h = harness(app);
    h.run_steps(2);
    h.get_by_role_and_label(Role::Button, "Run").click();
    h.run_steps(2);
    assert!(h.state().is_running());
    h.get_by_role_and_label(Role::Button, "Cancel").click();
    let started = Instant::now();
    while h.state().is_running() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "cancel did not stop the run"
        );
        std::thread::sleep(Duration::from_millis(5));
        h.step();
    }
    assert_eq!(h.state().run_note(), Some("run cancelled"));
    assert!(h.state().report().is_none());
}

#[test]
fn save_writes_the_scenario_with_its_overrides() {
    let mut app = App::new();
    app.open(&scenario("single-region.toml"));
    app.add_overrides(&["run.duration=2min".into(), "run.slo.target=0.99".into()]);
    let path = std::env::temp_dir().join(format!("fleetsim-gui-save-{}.toml", std::process::id()));
    app.set_save_path(&path);
    let message = app.save().expect("saved");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    let saved = sim_models::load_fleet_scenario(&text, sim_models::Format::Toml, &[], &|_| {
        Err("no files".into())
    })
    .unwrap();
    assert!(message.contains(&saved.hash), "{message}");
    assert_eq!(saved.config.run.duration.as_secs_f64(), 120.0);
    assert_eq!(saved.config.run.slo.target, 0.99);
}
