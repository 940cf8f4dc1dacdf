//! End-to-end tests of the `fleetsim` binary: bundled scenarios run, reports
//! are reproducible byte for byte, bad input gets a clear error and exit
//! code 2, and `check` confirms determinism.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("sim-cli sits in the workspace")
        .to_path_buf()
}

fn fleetsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fleetsim"))
        .args(args)
        .current_dir(workspace_root())
        .output()
        .expect("the fleetsim binary runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn bundled_scenarios() -> Vec<String> {
    let dir = workspace_root().join("scenarios/stations");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .expect("scenarios/stations exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml" || e == "json"))
        .map(|p| {
            p.strip_prefix(workspace_root())
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    files.sort();
    assert!(files.len() >= 5, "bundled scenarios missing: {files:?}");
    files
}

/// Every shipped scenario parses, runs and reports sane numbers, so the
/// bundled files cannot rot.
#[test]
fn every_bundled_scenario_runs() {
    for file in bundled_scenarios() {
        let out = fleetsim(&["run", &file, "--format", "json", "--quiet"]);
        assert!(out.status.success(), "{file}: {}", stderr(&out));
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
        let stations = report["stations"].as_array().expect("stations");
        assert!(!stations.is_empty());
        for st in stations {
            let util = st["utilization"].as_f64().unwrap();
            assert!(util > 0.0 && util <= 1.0, "{file}: utilization {util}");
            let gap = st["littles_law"]["relative_gap"].as_f64().unwrap();
            assert!(gap < 0.01, "{file}: Little's law gap {gap}");
        }
        assert!(
            report["end_to_end"]["count"].as_u64().unwrap() > 1000,
            "{file}"
        );
    }
}

#[test]
fn same_seed_gives_byte_identical_reports_and_seed_is_recorded() {
    let a = fleetsim(&[
        "run",
        "scenarios/stations/tandem.toml",
        "--seed",
        "7",
        "--format",
        "json",
    ]);
    let b = fleetsim(&[
        "run",
        "scenarios/stations/tandem.toml",
        "--seed",
        "7",
        "--format",
        "json",
    ]);
    let c = fleetsim(&[
        "run",
        "scenarios/stations/tandem.toml",
        "--seed",
        "8",
        "--format",
        "json",
    ]);
    assert!(a.status.success() && b.status.success() && c.status.success());
    assert_eq!(a.stdout, b.stdout, "same seed must give identical bytes");
    assert_ne!(a.stdout, c.stdout, "another seed must give other results");
    let report: serde_json::Value = serde_json::from_slice(&a.stdout).unwrap();
    assert_eq!(report["seed"], 7);
    assert_eq!(
        report["reproduce"],
        "fleetsim run scenarios/stations/tandem.toml --seed 7"
    );
    assert_eq!(report["fleetsim_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(report["scenario_hash"].as_str().unwrap().len(), 16);
    // Wall-clock timing goes to stderr only.
    assert!(stderr(&a).contains("events/s"));
    assert!(!stdout(&a).contains("wall"));
}

#[test]
fn output_file_matches_stdout_json_and_text_summary_reads_well() {
    let dir = std::env::temp_dir().join(format!("fleetsim-it-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("mm4.json");
    let text = fleetsim(&[
        "run",
        "scenarios/stations/mm4.toml",
        "-o",
        path.to_str().unwrap(),
    ]);
    assert!(text.status.success(), "{}", stderr(&text));
    let summary = stdout(&text);
    for want in [
        "scenario   M/M/4 rho=0.9",
        "seed       42",
        "reproduce  fleetsim run",
        "station",
        "web",
        "Little gap",
    ] {
        assert!(summary.contains(want), "missing `{want}` in:\n{summary}");
    }
    let json = fleetsim(&["run", "scenarios/stations/mm4.toml", "--format", "json"]);
    assert_eq!(std::fs::read(&path).unwrap(), json.stdout);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_scenarios_get_clear_errors_not_panics() {
    let dir = std::env::temp_dir().join(format!("fleetsim-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cases = [
        (
            "unknown-field.toml",
            "[run]\nhorizon = 10\n[[sources]]\nname = \"c\"\nto = \"s\"\ninterarrival = { type = \"exponential\", rate = 1 }\n[[stations]]\nname = \"s\"\nservers = 1\nworker = 3\nservice = { type = \"constant\", value = 0.5 }\n",
            vec!["stations[0]", "unknown field `worker`", "line 10"],
        ),
        (
            "bad-dist.toml",
            "[run]\nhorizon = 10\n[[sources]]\nname = \"c\"\nto = \"s\"\ninterarrival = { type = \"hyperexponential\", mean = 1, scv = 0.5 }\n[[stations]]\nname = \"s\"\nservers = 1\nservice = { type = \"constant\", value = 0.5 }\n",
            vec!["sources[0].interarrival", "scv"],
        ),
        ("not-toml.toml", "this is = = not toml", vec!["line 1"]),
        (
            "bad.json",
            "{\"run\": {\"horizon\": \"ten\"}}",
            vec!["run.horizon", "not a time"],
        ),
    ];
    for (name, text, wants) in cases {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        let out = fleetsim(&["run", path.to_str().unwrap()]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        assert!(err.starts_with("error: invalid scenario"), "{name}: {err}");
        assert!(!err.contains("panicked"), "{name}: {err}");
        for want in wants {
            assert!(err.contains(want), "{name}: missing `{want}` in: {err}");
        }
    }
    let out = fleetsim(&["run", "no/such/file.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cannot read scenario `no/such/file.toml`"));
    let out = fleetsim(&["run", "scenarios/stations/mm4.toml", "--seed", "-3"]);
    assert_eq!(out.status.code(), Some(2), "clap rejects a negative seed");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn check_confirms_determinism() {
    let out = fleetsim(&["check", "scenarios/stations/tandem.toml", "--seed", "3"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("event traces: identical"), "{text}");
    assert!(text.contains("reports:      byte-identical"), "{text}");
    assert!(text.contains("deterministic: yes (seed 3)"), "{text}");
}

#[test]
fn help_shows_examples() {
    let out = fleetsim(&["--help"]);
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(
        text.contains("Examples:") && text.contains("fleetsim run scenarios/stations/mm4.toml"),
        "{text}"
    );
}

/// The bundled fleet scenarios, shortened to 30 simulated seconds.
fn fleet_scenarios() -> Vec<&'static str> {
    vec![
        "scenarios/single-region.toml",
        "scenarios/three-region-active-active.toml",
        "scenarios/flash-crowd-10x.toml",
        "scenarios/region-outage.toml",
    ]
}

#[test]
fn fleet_scenarios_run_and_conserve_requests() {
    let dir = std::env::temp_dir().join(format!("fleetsim-fleet-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for scenario in fleet_scenarios() {
        let out_file = dir.join("report.json");
        let out = fleetsim(&[
            "run",
            scenario,
            "--duration",
            "30s",
            "--set",
            "run.warmup=5s",
            "--out",
            out_file.to_str().unwrap(),
            "-q",
        ]);
        assert!(out.status.success(), "{scenario}: {}", stderr(&out));
        let text = stdout(&out);
        assert!(
            text.contains("conserved") && text.contains("all regions"),
            "{text}"
        );
        let report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&out_file).unwrap()).unwrap();
        assert_eq!(report["conservation"]["holds"], true, "{scenario}");
        assert!(
            report["global"]["requests"].as_u64().unwrap() > 0,
            "{scenario}"
        );
        assert_eq!(report["measured_to_s"], 30.0);
        assert!(
            report["reproduce"]
                .as_str()
                .unwrap()
                .contains("--set 'run.duration=30s'")
        );
        assert!(!report["series"]["global"].as_array().unwrap().is_empty());
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn fleet_runs_are_reproducible_and_check_says_so() {
    let args = [
        "run",
        "scenarios/region-outage.toml",
        "--duration",
        "20s",
        "--set",
        "run.warmup=0s",
        "--format",
        "json",
        "-q",
    ];
    let a = fleetsim(&args);
    let b = fleetsim(&args);
    assert!(a.status.success(), "{}", stderr(&a));
    assert_eq!(stdout(&a), stdout(&b));
    let other_seed = fleetsim(&[
        "run",
        "scenarios/region-outage.toml",
        "--duration",
        "20s",
        "--set",
        "run.warmup=0s",
        "--format",
        "json",
        "-q",
        "--seed",
        "99",
    ]);
    assert_ne!(stdout(&a), stdout(&other_seed));
    let check = fleetsim(&[
        "check",
        "scenarios/single-region.toml",
        "--set",
        "run.duration=20s",
        "--set",
        "run.warmup=0s",
    ]);
    assert!(check.status.success(), "{}", stdout(&check));
    assert!(stdout(&check).contains("deterministic: yes"));
}

#[test]
fn fleet_bad_input_names_the_field() {
    let out = fleetsim(&[
        "run",
        "scenarios/single-region.toml",
        "--set",
        "regions[0].balancer.algorithm=fastest",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("regions[0].balancer.algorithm") && err.contains("set on the command line"),
        "{err}"
    );
    let out = fleetsim(&["run", "scenarios/single-region.toml", "--set", "nonsense"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--set nonsense"), "{}", stderr(&out));
    let out = fleetsim(&[
        "run",
        "scenarios/single-region.toml",
        "--set",
        "regions[0].groups[0].instances=1000000000000",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("more than the"), "{}", stderr(&out));
    let out = fleetsim(&["run", "scenarios/stations/mm1.toml", "--duration", "1h"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("station scenario"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn schema_describes_fleet_files() {
    let out = fleetsim(&["schema"]);
    assert!(out.status.success());
    let schema: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let text = schema.to_string();
    assert!(
        text.contains("regions") && text.contains("populations"),
        "{text}"
    );
}
