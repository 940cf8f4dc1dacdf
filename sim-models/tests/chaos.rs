//! The chaos catalogue (`scenarios/chaos/`): each experiment states its
//! hypothesis as `[[expect]]` checks, and where the bundled topology is
//! known to miss one, the finding. These tests run every experiment and
//! hold each check to what its file says: met when no finding is recorded,
//! missed when one is — so a regression and an unnoticed fix both fail.
//! The metastability probe is tested on the retry storm: stuck without a
//! retry budget, recovered with one, on the same traffic.

use sim_models::{FleetReport, Format, Override, load_fleet_scenario, run_fleet};

fn chaos_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/chaos")
}

fn run_file(name: &str, overrides: &[(&str, &str)]) -> FleetReport {
    let text = std::fs::read_to_string(chaos_dir().join(name)).unwrap();
    let overrides: Vec<Override> = overrides
        .iter()
        .map(|(p, v)| Override::new(*p, *v))
        .collect();
    let scenario =
        load_fleet_scenario(&text, Format::Toml, &overrides, &|_| Err("no files".into()))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    let report = run_fleet(&scenario, scenario.default_seed(), "test", &mut |_| {});
    assert!(
        report.conservation.holds,
        "{name}: {:?}",
        report.conservation
    );
    report
}

#[test]
fn every_chaos_experiment_measures_what_its_file_states() {
    let mut names: Vec<String> = std::fs::read_dir(chaos_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    names.sort();
    assert!(names.len() >= 5, "chaos catalogue: {names:?}");
    let mut wrong = Vec::new();
    for name in &names {
        let r = run_file(name, &[]);
        assert!(!r.expectations.is_empty(), "{name} states no expectation");
        for e in &r.expectations {
            if e.met == e.finding.is_some() {
                wrong.push(format!(
                    "{name}: `{}` measured {:?}: {} but the file {}",
                    e.check,
                    e.measured,
                    if e.met { "met" } else { "missed" },
                    if e.finding.is_some() {
                        "records a finding (expects a miss)"
                    } else {
                        "expects it met"
                    }
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn a_retry_storm_outlives_its_trigger_and_a_retry_budget_prevents_it() {
    let stuck = run_file("retry-storm.toml", &[]);
    let probe = stuck.recovery.as_ref().expect("the scenario has a probe");
    assert!(!probe.recovered, "{probe:?}");
    assert!(probe.recovery_s.is_none());
    assert!(
        probe.final_goodput_per_s < 0.1 * probe.baseline_goodput_per_s,
        "stuck means goodput stays far below the baseline: {probe:?}"
    );
    // The baseline is the offered load (500/s) when the fleet is healthy.
    assert!(
        (probe.baseline_goodput_per_s - 500.0).abs() < 25.0,
        "{probe:?}"
    );

    let budgeted = run_file(
        "retry-storm.toml",
        &[(
            "populations[0].client.retry.budget",
            "{ratio=0.1,min_per_second=5}",
        )],
    );
    let probe = budgeted.recovery.as_ref().unwrap();
    assert!(probe.recovered, "{probe:?}");
    let t = probe.recovery_s.unwrap();
    assert!(
        t > 0.0 && t < 240.0,
        "recovery takes the queue's drain: {t} s"
    );
    assert!(probe.final_goodput_per_s > 0.95 * probe.baseline_goodput_per_s);

    // Without retries at all the fleet also recovers: the trigger alone does
    // not make it metastable.
    let no_retries = run_file(
        "retry-storm.toml",
        &[("populations[0].client.retry.max_attempts", "1")],
    );
    assert!(no_retries.recovery.as_ref().unwrap().recovered);
}

#[test]
fn expectations_and_the_probe_are_deterministic_report_fields() {
    let a = run_file("spike-10x.toml", &[("run.duration", "8min")]);
    let b = run_file("spike-10x.toml", &[("run.duration", "8min")]);
    assert_eq!(
        serde_json::to_string(&a.expectations).unwrap(),
        serde_json::to_string(&b.expectations).unwrap()
    );
    assert_eq!(a.recovery, b.recovery);
    let probe = a.recovery.unwrap();
    // The spike sheds (goodput falls at most to capacity) but nothing lingers.
    assert!(
        probe.recovered && probe.recovery_s == Some(0.0),
        "{probe:?}"
    );
}
