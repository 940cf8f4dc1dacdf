//! End-to-end tests of the `fleetsim` binary: bundled scenarios run, reports
//! are reproducible byte for byte, bad input gets a clear error and exit
//! code 2, and `check` confirms determinism.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod sweep;

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
        text.contains("Examples:")
            && text.contains("fleetsim run scenarios/stations/mm4.toml")
            && text.contains("fleetsim compare"),
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

/// Every bundled data-tier scenario runs to its end and shows what it was
/// built to show: a failover that loses writes under async replication and
/// none under sync, replicas taking the reads, one hot shard, a cache
/// failure sending reads to the database; the text summary has the
/// database and incident tables.
#[test]
fn data_tier_scenarios_show_what_they_model() {
    let dir = std::env::temp_dir().join(format!("fleetsim-data-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut names: Vec<String> = std::fs::read_dir(workspace_root().join("scenarios/data"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    names.sort();
    assert_eq!(names.len(), 7, "{names:?}");
    for name in names {
        let file = format!("scenarios/data/{name}");
        let out_file = dir.join("report.json");
        let out = fleetsim(&["run", &file, "--out", out_file.to_str().unwrap(), "-q"]);
        assert!(out.status.success(), "{file}: {}", stderr(&out));
        let text = stdout(&out);
        assert!(
            text.contains("conserved") && text.contains("database "),
            "{file}: {text}"
        );
        let r: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&out_file).unwrap()).unwrap();
        assert_eq!(r["conservation"]["holds"], true, "{file}");
        let db = &r["data"]["databases"][0];
        let incidents = r["incidents"].as_array().unwrap();
        let lost: u64 = incidents
            .iter()
            .map(|i| i["lost_writes"].as_u64().unwrap())
            .sum();
        match name.as_str() {
            "db-primary-loss.toml" | "region-failover-async.toml" => {
                assert_eq!(db["failovers"], 1, "{file}");
                assert!(lost > 0, "{file}: async failover lost nothing");
                assert!(incidents[0]["detection_s"].as_f64().unwrap() > 0.0);
                assert!(incidents[0]["rto_s"].as_f64().is_some(), "{file}");
                assert!(text.contains("RTO (target)"), "{text}");
            }
            "region-failover-sync.toml" => {
                assert_eq!(db["failovers"], 1, "{file}");
                assert_eq!(lost, 0, "{file}: sync replication lost writes");
                assert_eq!(incidents[0]["rpo_met"], true);
            }
            "read-replicas-90-10.toml" => {
                let nodes = db["shards"][0]["nodes"].as_array().unwrap();
                assert_eq!(nodes[0]["role"], "primary");
                assert_eq!(nodes[0]["reads"], 0, "{file}: reads reached the primary");
                assert!(db["stale_reads"].as_u64().unwrap() > 0);
            }
            "active-active-crdt.toml" => {
                assert_eq!(db["topology"], "active_active");
                assert!(db["conflicts"].as_u64().unwrap() > 0, "{file}");
                assert!(incidents[0]["rpo_s"].as_f64().unwrap() <= 0.1);
                assert!(text.contains("write conflicts"), "{text}");
            }
            "hot-shard-zipf.toml" => {
                assert!(db["hottest_shard_share"].as_f64().unwrap() > 0.8, "{file}");
            }
            "cache-failure.toml" => {
                let cache = &r["data"]["caches"][0];
                assert!(cache["bypassed"].as_u64().unwrap() > 0, "{file}");
                assert!(cache["hit_ratio"].as_f64().unwrap() > 0.5, "{file}");
                assert!(r["global"]["outcomes"]["degraded"].as_u64().unwrap() > 0);
            }
            other => panic!("no expectations for {other}"),
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// `fleetsim spof` covers the data tier: a database primary without
/// failover is a static SPOF and the runs confirm it; a cache is redundant
/// on paper, but its failure sends every read to a database too small for
/// them, which the runs show.
#[test]
fn spof_covers_databases_and_caches() {
    let out = fleetsim(&[
        "spof",
        "scenarios/data/cache-failure.toml",
        "--seeds",
        "1",
        "--set",
        "run.duration=150s",
        "--set",
        "run.warmup=20s",
        "--set",
        "faults=[]",
        "--at",
        "40s",
        "--duration",
        "60s",
        "--format",
        "json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let spofs = r["static"]["spofs"].as_array().unwrap();
    assert!(
        spofs
            .iter()
            .any(|s| s["component"] == "db products primary"),
        "{spofs:?}"
    );
    let components = r["dynamic"]["components"].as_array().unwrap();
    let find = |name: &str| {
        components
            .iter()
            .find(|c| c["component"] == name)
            .unwrap_or_else(|| panic!("{name} not tried: {components:?}"))
    };
    let primary = find("db products primary");
    assert_eq!(primary["static_spof"], true);
    assert!(
        primary["verdict"]
            .as_str()
            .unwrap()
            .starts_with("SPOF confirmed")
    );
    let cache = find("cache redis@us-east");
    assert_eq!(cache["kind"], "cache");
    assert!(cache["extra_failed_requests"]["mean"].as_f64().unwrap() > 0.0);
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

/// Writes two policy files that differ only in `max` (the autoscaling
/// policies themselves are still stubs) and returns their paths.
fn write_policies(dir: &Path) -> (String, String) {
    std::fs::create_dir_all(dir).unwrap();
    let a = dir.join("narrow.toml");
    let b = dir.join("wide.toml");
    std::fs::write(
        &a,
        "name = \"hpa-narrow\"\ndescription = \"HPA, 2 to 12\"\n[autoscaling]\nmin = 2\nmax = 12\npolicy = { type = \"hpa\" }\n",
    )
    .unwrap();
    std::fs::write(
        &b,
        "name = \"hpa-wide\"\n[autoscaling]\nmin = 2\nmax = 20\npolicy = { type = \"hpa\" }\n",
    )
    .unwrap();
    (
        a.to_string_lossy().into_owned(),
        b.to_string_lossy().into_owned(),
    )
}

#[test]
fn compare_prints_the_table_and_writes_the_same_files_for_any_jobs() {
    let dir = std::env::temp_dir().join(format!("fleetsim-compare-{}", std::process::id()));
    let (a, b) = write_policies(&dir);
    let run = |jobs: &str, out: &Path| {
        let out = fleetsim(&[
            "compare",
            "scenarios/single-region.toml",
            "--policy",
            &a,
            "--policy",
            &b,
            "--seeds",
            "3",
            "--duration",
            "2min",
            "--jobs",
            jobs,
            "--out",
            out.to_str().unwrap(),
            "-q",
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        out
    };
    let one = run("1", &dir.join("jobs1"));
    let two = run("2", &dir.join("jobs2"));
    let text = stdout(&one);
    for want in [
        "scenario   single-region",
        "seeds      3 (1..=3)",
        "hpa-narrow",
        "hpa-wide",
        "Δ vs hpa-narrow",
        "p99",
        "SLO-violation min",
        "failed requests",
        "cost",
        "scale actions",
        "peak instances",
        "mean instances",
        "* : its interval excludes zero",
    ] {
        assert!(text.contains(want), "missing `{want}` in:\n{text}");
    }
    assert_eq!(
        one.stdout, two.stdout,
        "the table must not depend on --jobs"
    );
    for file in ["compare.json", "timeseries.csv"] {
        assert_eq!(
            std::fs::read(dir.join("jobs1").join(file)).unwrap(),
            std::fs::read(dir.join("jobs2").join(file)).unwrap(),
            "{file} must not depend on --jobs"
        );
    }
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("jobs1/compare.json")).unwrap()).unwrap();
    assert_eq!(json["seeds"], 3);
    assert_eq!(json["first_seed"], 1);
    let policies = json["policies"].as_array().unwrap();
    assert_eq!(policies.len(), 2);
    assert_eq!(policies[0]["name"], "hpa-narrow");
    assert_eq!(policies[1]["name"], "hpa-wide");
    assert_ne!(policies[0]["scenario_hash"], policies[1]["scenario_hash"]);
    for p in policies {
        let runs = p["runs"].as_array().unwrap();
        let seeds: Vec<u64> = runs.iter().map(|r| r["seed"].as_u64().unwrap()).collect();
        assert_eq!(seeds, [1, 2, 3]);
        assert!(runs.iter().all(|r| r["p99_s"].as_f64().unwrap() > 0.0));
        let p99 = &p["summary"][0];
        assert_eq!(p99["metric"], "p99_s");
        assert_eq!(p99["estimate"]["n"], 3);
        assert!(p99["estimate"]["half_width"].as_f64().is_some());
    }
    assert!(policies[0]["summary"][0].get("difference").is_none());
    assert_eq!(
        policies[1]["summary"][0]["difference_excludes_zero"], false,
        "policies that cannot differ yet show no significant difference"
    );
    let csv = std::fs::read_to_string(dir.join("jobs1/timeseries.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("policy,t_s,instances_mean,p99_s_mean"));
    let rows: Vec<&str> = lines.collect();
    // 2 min in 10 s buckets, per policy.
    for name in ["hpa-narrow", "hpa-wide"] {
        let n = rows
            .iter()
            .filter(|r| r.starts_with(&format!("{name},")))
            .count();
        assert_eq!(n, 12, "{name} rows in:\n{csv}");
    }
    assert!(rows[0].starts_with("hpa-narrow,0,9,0."), "{}", rows[0]);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn compare_bad_input_names_the_file() {
    let dir = std::env::temp_dir().join(format!("fleetsim-compare-bad-{}", std::process::id()));
    let (a, _) = write_policies(&dir);
    let bad = dir.join("typo.toml");
    std::fs::write(
        &bad,
        "name = \"typo\"\nmaxx = 3\n[autoscaling]\nmin = 2\nmax = 12\n",
    )
    .unwrap();
    let out = fleetsim(&[
        "compare",
        "scenarios/single-region.toml",
        "--policy",
        &a,
        "--policy",
        bad.to_str().unwrap(),
        "--seeds",
        "2",
    ]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("invalid policy file") && err.contains("typo.toml") && err.contains("maxx"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    assert!(stdout(&out).is_empty(), "no run before every policy loads");
    // A policy that does not fit the scenario names both files.
    let tight = dir.join("tight.toml");
    std::fs::write(&tight, "[autoscaling]\nmin = 1\nmax = 4\n").unwrap();
    let out = fleetsim(&[
        "compare",
        "scenarios/single-region.toml",
        "--policy",
        tight.to_str().unwrap(),
    ]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("tight.toml") && err.contains("autoscaling bounds"),
        "{err}"
    );
    let out = fleetsim(&["compare", "scenarios/single-region.toml", "--seeds", "2"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--policy"), "{}", stderr(&out));
    let out = fleetsim(&["compare", "scenarios/stations/mm1.toml", "--policy", &a]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("station scenario"),
        "{}",
        stderr(&out)
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// `run --policy` applies a policy file, prints the group's autoscaling and
/// decisions, and records the flag in the reproduce line.
#[test]
fn run_with_a_policy_file_shows_its_decisions() {
    let out = fleetsim(&[
        "run",
        "scenarios/compare-policies.toml",
        "--policy",
        "scenarios/policies/hpa-default.toml",
        "--duration",
        "30min",
        "-q",
    ]);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("us-east/web      hpa:"), "{text}");
    assert!(text.contains("decisions ("), "{text}");
    assert!(
        text.contains("--policy scenarios/policies/hpa-default.toml"),
        "{text}"
    );
    let bad = fleetsim(&[
        "run",
        "scenarios/stations/mm4.toml",
        "--policy",
        "scenarios/policies/hpa-default.toml",
    ]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("`--policy` applies to fleet scenarios"));
}

/// `fleetsim spof` names the single points of failure of the bundled
/// fleets: everything in front of the one region of `single-region`, only
/// DNS for the three-region fleet whose populations fall back; the N−1
/// runs confirm the single region's SPOFs and find its zones redundant.
#[test]
fn spof_finds_the_single_points_of_failure_of_the_bundled_fleets() {
    let out = fleetsim(&[
        "spof",
        "scenarios/single-region.toml",
        "--static",
        "--format",
        "json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert!(report.get("dynamic").is_none(), "--static runs nothing");
    let spofs: Vec<&str> = report["static"]["spofs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["component"].as_str().unwrap())
        .collect();
    assert_eq!(
        spofs,
        ["geodns", "us-east", "us-east/balancer", "us-east/web"]
    );
    let out = fleetsim(&[
        "spof",
        "scenarios/three-region-active-active.toml",
        "--static",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("geodns     dns"), "{text}");
    assert!(!text.contains("us-east/balancer  balancer"), "{text}");
    assert!(
        text.contains("north-america  us-east → eu-west → apac        1          3"),
        "{text}"
    );
    // A zone holding a group's only instances is found.
    let out = fleetsim(&[
        "spof",
        "scenarios/single-region.toml",
        "--static",
        "--set",
        "regions[0].groups[0].zones=[\"us-east-1a\"]",
    ]);
    assert!(
        stdout(&out).contains("us-east/us-east-1a"),
        "{}",
        stdout(&out)
    );
    let out = fleetsim(&["spof", "scenarios/stations/mm1.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("needs a fleet scenario"),
        "{}",
        stderr(&out)
    );

    // `run` lists a scenario's faults in its summary.
    let out = fleetsim(&[
        "run",
        "scenarios/single-region.toml",
        "--quiet",
        "--duration",
        "3min",
        "--set",
        "run.warmup=30s",
        "--set",
        r#"faults=[{ kind = "zone", region = "us-east", zone = "us-east-1b", at = "1min", duration = "1min" }]"#,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("fault      zone us-east/us-east-1b down 60.000s .. 120.000s"),
        "{}",
        stdout(&out)
    );

    // N−1 runs, short: every component fails at 1 min for 1 min.
    let out = fleetsim(&[
        "spof",
        "scenarios/single-region.toml",
        "--seeds",
        "1",
        "--at",
        "1min",
        "--duration",
        "1min",
        "--set",
        "run.duration=4min",
        "--set",
        "run.warmup=30s",
        "--format",
        "json",
        "--quiet",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let components = report["dynamic"]["components"]
        .as_array()
        .expect("N−1 runs");
    assert_eq!(
        components.len(),
        10,
        "geodns, region, balancer, group, 3 zones, 3 instances"
    );
    let verdict = |name: &str| {
        components.iter().find(|c| c["component"] == name).unwrap()["verdict"]
            .as_str()
            .unwrap()
            .to_string()
    };
    // A static SPOF; cached DNS answers keep some clients going in the run.
    assert!(
        verdict("geodns").starts_with("static SPOF")
            || verdict("geodns").starts_with("SPOF confirmed"),
        "{}",
        verdict("geodns")
    );
    assert!(
        verdict("us-east/web").starts_with("SPOF confirmed"),
        "{}",
        verdict("us-east/web")
    );
    assert!(
        verdict("us-east/us-east-1b").starts_with("redundant"),
        "{}",
        verdict("us-east/us-east-1b")
    );
    let out = fleetsim(&["spof", "scenarios/single-region.toml", "--at", "2h"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--at 7200s is not within the run"),
        "{}",
        stderr(&out)
    );
}
