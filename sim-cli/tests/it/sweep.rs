//! `fleetsim sweep`, `merge` and `report` end to end: the results file is
//! the same bytes for any `--jobs`, after a SIGKILL and `--resume`, after
//! Ctrl-C and `--resume`, and when run as three shards and merged; bad
//! points are recorded and the sweep goes on; bad flags are refused before
//! any run.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{fleetsim, stderr, stdout, workspace_root};

/// A small sweep: 4 × 2 points, 2 seeds, 20 simulated seconds each.
const SCENARIO: &str = "scenarios/single-region.toml";
const PARAMS: [&str; 4] = [
    "--param",
    "regions[0].groups[0].instances=6:12:2",
    "--param",
    "regions[0].balancer.algorithm=p2c,round_robin",
];
const RUNS: usize = 16;

fn sweep_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["sweep", SCENARIO];
    args.extend(PARAMS);
    args.extend([
        "--seeds",
        "2",
        "--duration",
        "20s",
        "--set",
        "run.warmup=5s",
        "--quiet",
    ]);
    args.extend(extra);
    args
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("temp paths are UTF-8")
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The reference: one uninterrupted sweep on one thread.
fn reference(dir: &Path) -> String {
    let file = dir.join("reference.jsonl");
    let out = fleetsim(&sweep_args(&["--jobs", "1", "--out", path_str(&file)]));
    assert!(out.status.success(), "{}", stderr(&out));
    read(&file)
}

#[test]
fn results_are_identical_for_any_jobs_and_summarized() {
    let dir = tempfile::tempdir().unwrap();
    let one = reference(dir.path());
    let file = dir.path().join("two.jsonl");
    let out = fleetsim(&sweep_args(&[
        "--jobs",
        "2",
        "--out",
        path_str(&file),
        "--objective",
        "min cost where p99 < 10s",
    ]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(read(&file), one, "results depend on --jobs");
    assert_eq!(
        read(&dir.path().join("two.points.csv")),
        read(&dir.path().join("reference.points.csv"))
    );
    let lines: Vec<&str> = one.lines().collect();
    assert_eq!(lines.len(), 1 + RUNS + RUNS / 2, "header, runs, points");
    assert!(lines[0].starts_with("{\"kind\":\"sweep\""));
    assert!(lines[1].contains("\"kind\":\"run\",\"point\":0,\"seed\":1"));
    assert!(lines[RUNS + 1].contains("\"kind\":\"point\",\"point\":0"));
    let csv = read(&dir.path().join("two.runs.csv"));
    assert_eq!(csv.lines().count(), 1 + RUNS);
    assert!(csv.starts_with(
        "point,seed,regions[0].groups[0].instances,regions[0].balancer.algorithm,p50_s,"
    ));
    let html = dir.path().join("report.html");
    let report = fleetsim(&[
        "report",
        path_str(&file),
        "-o",
        path_str(&html),
        "--objective",
        "min cost where p99 < 10s",
    ]);
    assert!(report.status.success(), "{}", stderr(&report));
    let page = read(&html);
    for needle in [
        "<svg",
        "Pareto",
        "regions[0].balancer.algorithm",
        "min cost where p99_s &lt; 10s",
    ] {
        assert!(page.contains(needle), "report lacks `{needle}`");
    }
    let text = stdout(&out);
    for needle in [
        "8 points × 2 seeds",
        "Pareto front",
        "objective: min cost where p99_s < 10s",
        "#1 point",
    ] {
        assert!(text.contains(needle), "summary lacks `{needle}`:\n{text}");
    }
}

/// Waits until `file` has at least `lines` complete lines.
fn wait_for_lines(file: &Path, lines: usize) {
    let start = Instant::now();
    loop {
        let n = std::fs::read_to_string(file).map_or(0, |t| t.matches('\n').count());
        if n >= lines {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "the sweep never wrote {lines} lines"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn spawn_sweep(file: &Path) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_fleetsim"))
        .args(sweep_args(&["--jobs", "1", "--out", path_str(file)]))
        .current_dir(workspace_root())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("fleetsim starts")
}

fn resume(file: &Path) -> std::process::Output {
    fleetsim(&sweep_args(&["--jobs", "2", "--resume", path_str(file)]))
}

#[test]
fn a_sweep_killed_with_sigkill_resumes_to_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let want = reference(dir.path());
    let file = dir.path().join("killed.jsonl");
    let mut child = spawn_sweep(&file);
    wait_for_lines(&file, 4);
    child.kill().expect("SIGKILL"); // Child::kill sends SIGKILL on Unix
    child.wait().unwrap();
    let mut partial = read(&file);
    let runs_before = partial.lines().count() - 1;
    assert!(
        runs_before < RUNS,
        "the sweep finished before it was killed"
    );
    // As if the kill had landed in the middle of writing a line.
    partial.push_str("{\"kind\":\"run\",\"point\":7,\"se");
    std::fs::write(&file, partial).unwrap();
    let out = resume(&file);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        read(&file),
        want,
        "resumed results differ from an uninterrupted sweep"
    );
    // Resuming a finished sweep changes nothing.
    let out = resume(&file);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(read(&file), want);
}

#[test]
fn ctrl_c_stops_cleanly_and_resume_finishes_the_same_sweep() {
    let dir = tempfile::tempdir().unwrap();
    let want = reference(dir.path());
    let file = dir.path().join("interrupted.jsonl");
    let child = spawn_sweep(&file);
    wait_for_lines(&file, 3);
    // The shell's own `kill`, so no procps is needed.
    let status = Command::new("bash")
        .args(["-c", &format!("kill -INT {}", child.id())])
        .status()
        .expect("bash runs");
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("--resume"), "no resume hint: {err}");
    let text = read(&file);
    assert!(text.ends_with('\n'), "a clean stop leaves whole lines");
    assert!(text.lines().count() - 1 < RUNS);
    let out = resume(&file);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(read(&file), want);
}

#[test]
fn three_shards_merge_into_the_unsharded_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let want = reference(dir.path());
    let shards: Vec<_> = (0..3)
        .map(|i| dir.path().join(format!("shard{i}.jsonl")))
        .collect();
    let children: Vec<_> = (shards.iter().enumerate())
        .map(|(i, f)| {
            let shard = format!("{i}/3");
            Command::new(env!("CARGO_BIN_EXE_fleetsim"))
                .args(sweep_args(&[
                    "--jobs",
                    "1",
                    "--shard",
                    &shard,
                    "--out",
                    path_str(f),
                ]))
                .current_dir(workspace_root())
                .output()
                .expect("fleetsim runs")
        })
        .collect();
    for c in &children {
        assert!(c.status.success(), "{}", stderr(c));
    }
    let merged = dir.path().join("merged.jsonl");
    let mut args = vec!["merge"];
    args.extend(shards.iter().rev().map(|p| path_str(p)));
    args.extend(["-o", path_str(&merged), "--quiet"]);
    let out = fleetsim(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        read(&merged),
        want,
        "merge differs from the single-machine sweep"
    );
    assert_eq!(
        read(&dir.path().join("merged.runs.csv")),
        read(&dir.path().join("reference.runs.csv"))
    );
    // A missing shard is named.
    let out = fleetsim(&[
        "merge",
        path_str(&shards[0]),
        path_str(&shards[2]),
        "-o",
        path_str(&merged),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("shard 1/3 is missing"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_failing_point_is_recorded_and_the_sweep_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.jsonl");
    let out = fleetsim(&[
        "sweep",
        SCENARIO,
        "--param",
        "regions[0].groups[0].instances=8,-3,many",
        "--seeds",
        "2",
        "--duration",
        "10s",
        "--set",
        "run.warmup=2s",
        "--quiet",
        "--out",
        path_str(&file),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = read(&file);
    let errors = text.lines().filter(|l| l.contains("\"error\":")).count();
    assert_eq!(
        errors,
        2 * 2 + 2,
        "two bad points × two seeds, plus their aggregates:\n{text}"
    );
    assert!(
        text.contains("regions[0].groups[0].instances"),
        "the error names the field"
    );
    assert!(
        stdout(&out).contains("2/2"),
        "the summary marks failed points"
    );
}

#[test]
fn bad_sweep_flags_are_refused_before_any_run() {
    let dir = tempfile::tempdir().unwrap();
    let existing = dir.path().join("existing.jsonl");
    std::fs::write(&existing, "x").unwrap();
    for (args, needle) in [
        (vec!["--param", "nope"], "expected `path=spec`"),
        (vec!["--param", "run.seed=5:1:1"], "below start"),
        (
            vec!["--param", "run.duration=1,2", "--design", "lhs"],
            "needs --points",
        ),
        (
            vec!["--param", "run.duration=1,2", "--points", "3"],
            "--points applies to",
        ),
        (
            vec!["--param", "run.duration=10s,20s", "--shard", "3/3"],
            "0 <= index < count",
        ),
        (
            vec![
                "--param",
                "run.duration=10s,20s",
                "--objective",
                "min price",
            ],
            "unknown metric `price`",
        ),
        (
            vec![
                "--param",
                "run.duration=10s,20s",
                "--out",
                path_str(&existing),
            ],
            "already exists",
        ),
        (
            vec![
                "--param",
                "run.duration=10s,20s",
                "--resume",
                path_str(&existing),
            ],
            "expected the sweep header",
        ),
    ] {
        let mut full = vec!["sweep", SCENARIO];
        full.extend(args.iter().copied());
        let out = fleetsim(&full);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(needle), "{args:?}: {}", stderr(&out));
    }
    // Resuming with other parameters names what differs.
    let file = dir.path().join("a.jsonl");
    let out = fleetsim(&sweep_args(&["--out", path_str(&file)]));
    assert!(out.status.success(), "{}", stderr(&out));
    let mut other = sweep_args(&["--resume", path_str(&file)]);
    let seeds = other.iter().position(|a| *a == "--seeds").unwrap();
    other[seeds + 1] = "3";
    let out = fleetsim(&other);
    assert!(stderr(&out).contains("`seeds` differs"), "{}", stderr(&out));
}

/// The Slurm array script (and the shard script it shares with the
/// Kubernetes Job) run as three array tasks, then `merge`: the same bytes
/// as one machine.
#[test]
fn the_slurm_array_script_shards_and_merges_to_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let want = reference(dir.path());
    let results = dir.path().join("cluster");
    let flags = format!(
        "{} --seeds 2 --duration 20s --set run.warmup=5s",
        PARAMS.join(" ")
    );
    for task in 0..3 {
        let out = Command::new("bash")
            .arg("deploy/slurm/sweep.sbatch")
            .current_dir(workspace_root())
            .env("FLEETSIM", env!("CARGO_BIN_EXE_fleetsim"))
            .env("SLURM_ARRAY_TASK_ID", task.to_string())
            .env("SLURM_ARRAY_TASK_COUNT", "3")
            .env("SLURM_SUBMIT_DIR", workspace_root())
            .env("RESULTS", &results)
            .env("SWEEP_FLAGS", &flags)
            .output()
            .expect("bash runs");
        assert!(out.status.success(), "task {task}: {}", stderr(&out));
    }
    let merged = dir.path().join("merged.jsonl");
    let shards: Vec<String> = (0..3)
        .map(|i| {
            results
                .join(format!("shard-{i}-of-3.jsonl"))
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    let mut args: Vec<&str> = vec!["merge"];
    args.extend(shards.iter().map(String::as_str));
    args.extend(["-o", path_str(&merged), "--quiet"]);
    let out = fleetsim(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(read(&merged), want);
}
