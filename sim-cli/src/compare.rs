//! `fleetsim compare`: one fleet scenario under several autoscaling policy
//! files, every policy run on the same seeds (common random numbers), so
//! each metric can be reported as a mean with a 95% Student-t interval over
//! seeds and as the paired per-seed difference from the first policy, which
//! is much tighter than comparing two independent intervals.
//!
//! Flow: load every policy into the scenario (all of them before any run) →
//! run the policy × seed matrix on a rayon pool, collected in a fixed order
//! so nothing depends on `--jobs` → summarize → print the table and, with
//! `--out`, write `compare.json` and `timeseries.csv`.

use std::fmt::Write as _;
use std::fs;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use anyhow::Context;
use rayon::prelude::*;
use serde::Serialize;
use sim_models::fleet::policy_file::MAX_POLICY_FILE_BYTES;
use sim_models::{FleetReport, FleetScenario, PolicyFile};
use validation::stats;

use crate::args::CompareArgs;
use crate::summary::{secs, window};

/// Confidence level of every interval in the table and the JSON.
const CONFIDENCE: f64 = 0.95;

/// One policy file, loaded into the scenario.
struct Policy {
    /// Display name (`name` in the file, else the file stem).
    name: String,
    /// `description` in the file.
    description: String,
    /// Where it was read from.
    file: PathBuf,
    /// The scenario with the policy (and `--set`) applied.
    scenario: FleetScenario,
}

/// The figures compared, from one run (over the measured window, except
/// cost and scale actions, which cover the whole run like the report's).
#[derive(Clone, Debug, PartialEq, Serialize)]
struct RunMetrics {
    /// Fleet p99 latency of successful requests, seconds (none: no success).
    p99_s: Option<f64>,
    /// Minutes with traffic whose good share missed the SLO target.
    slo_violation_minutes: u64,
    /// Requests that ended in any outcome but success.
    failed_requests: u64,
    /// Cost of every group.
    cost: f64,
    /// Decisions that changed some group's desired capacity.
    scale_actions: u64,
    /// Most instances alive at once.
    peak_instances: u64,
    /// Mean instances alive.
    mean_instances: f64,
}

/// One bucket of a run's fleet time series, the part `timeseries.csv` uses.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Sample {
    /// Start of the bucket, seconds.
    t_s: f64,
    /// Instances alive at the bucket's end.
    instances: u32,
    /// p99 latency in the bucket, seconds.
    p99_s: Option<f32>,
}

/// A finished run: its metrics, series and measured window.
struct RunResult {
    /// The compared figures.
    metrics: RunMetrics,
    /// The fleet series, for `timeseries.csv`.
    series: Vec<Sample>,
    /// Measured window, seconds (the same for every run).
    window: (f64, f64),
}

impl RunResult {
    /// Keeps what `compare` needs of a report, so the full reports (with
    /// their decision logs) are not all held at once.
    fn from_report(r: &FleetReport) -> Self {
        let g = &r.global;
        RunResult {
            metrics: RunMetrics {
                p99_s: g.latency.p99_s,
                slo_violation_minutes: g.minutes.saturating_sub(g.minutes_meeting_slo),
                failed_requests: g.requests.saturating_sub(g.outcomes.answered()),
                cost: r.cost.total,
                scale_actions: r.autoscaling.scale_actions,
                peak_instances: r.instances.peak,
                mean_instances: r.instances.mean,
            },
            series: (r.series.global.iter())
                .map(|p| Sample {
                    t_s: p.t_s,
                    instances: p.instances,
                    p99_s: p.p99_s,
                })
                .collect(),
            window: (r.measured_from_s, r.measured_to_s),
        }
    }
}

/// How one metric is read from a run and shown in the table.
struct Metric {
    /// Field name in `compare.json`.
    key: &'static str,
    /// Row label in the table.
    label: &'static str,
    /// Its value in a run (none: not defined for that run).
    get: fn(&RunMetrics) -> Option<f64>,
    /// A non-negative value (a mean or a half-width) as text.
    show: fn(f64) -> String,
}

/// The metrics, in table order.
const METRICS: [Metric; 7] = [
    Metric {
        key: "p99_s",
        label: "p99",
        get: |m| m.p99_s,
        show: secs,
    },
    Metric {
        key: "slo_violation_minutes",
        label: "SLO-violation min",
        get: |m| Some(m.slo_violation_minutes as f64),
        show: |x| format!("{x:.1}"),
    },
    Metric {
        key: "failed_requests",
        label: "failed requests",
        get: |m| Some(m.failed_requests as f64),
        show: |x| format!("{x:.1}"),
    },
    Metric {
        key: "cost",
        label: "cost",
        get: |m| Some(m.cost),
        show: |x| format!("{x:.3}"),
    },
    Metric {
        key: "scale_actions",
        label: "scale actions",
        get: |m| Some(m.scale_actions as f64),
        show: |x| format!("{x:.1}"),
    },
    Metric {
        key: "peak_instances",
        label: "peak instances",
        get: |m| Some(m.peak_instances as f64),
        show: |x| format!("{x:.1}"),
    },
    Metric {
        key: "mean_instances",
        label: "mean instances",
        get: |m| Some(m.mean_instances),
        show: |x| format!("{x:.2}"),
    },
];

/// A mean over seeds with its interval half-width (none for one value).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
struct Estimate {
    /// Sample mean.
    mean: f64,
    /// Half-width of the interval at [`CONFIDENCE`] (none for one value).
    half_width: Option<f64>,
    /// Number of values (seeds).
    n: usize,
}

impl Estimate {
    /// Whether the interval leaves out zero (a difference worth a `*`).
    fn excludes_zero(&self) -> bool {
        self.half_width.is_some_and(|h| self.mean.abs() > h)
    }
}

/// The mean of `xs` with its Student-t interval at [`CONFIDENCE`]; none for
/// no values, no interval for one.
fn estimate(xs: &[f64]) -> Option<Estimate> {
    match xs {
        [] => None,
        [x] => Some(Estimate {
            mean: *x,
            half_width: None,
            n: 1,
        }),
        _ => {
            let ci = stats::student_t_interval(xs, CONFIDENCE);
            Some(Estimate {
                mean: ci.mean,
                half_width: Some(ci.half_width),
                n: ci.n,
            })
        }
    }
}

/// The paired difference `other − base`, seed by seed (index by index),
/// over the seeds where both have a value.
fn paired_difference(base: &[Option<f64>], other: &[Option<f64>]) -> Option<Estimate> {
    let d: Vec<f64> = base
        .iter()
        .zip(other)
        .filter_map(|(b, o)| Some((*o)? - (*b)?))
        .collect();
    estimate(&d)
}

/// One policy's figures for one metric.
#[derive(Debug, PartialEq, Serialize)]
struct MetricSummary {
    /// The metric's key, as in [`RunMetrics`].
    metric: &'static str,
    /// Mean over the seeds with a value.
    estimate: Option<Estimate>,
    /// Paired difference from the first policy (absent for the first).
    #[serde(skip_serializing_if = "Option::is_none")]
    difference: Option<Estimate>,
    /// Whether the difference's interval excludes zero.
    #[serde(skip_serializing_if = "Option::is_none")]
    difference_excludes_zero: Option<bool>,
}

/// Summarizes `runs[policy][seed]` (none: that run failed) per policy and
/// metric; policy 0 is the baseline of the differences.
fn summarize(runs: &[Vec<Option<&RunMetrics>>]) -> Vec<Vec<MetricSummary>> {
    let values = |p: usize, m: &Metric| -> Vec<Option<f64>> {
        runs[p].iter().map(|r| r.and_then(m.get)).collect()
    };
    (0..runs.len())
        .map(|p| {
            (METRICS.iter())
                .map(|m| {
                    let own: Vec<f64> = values(p, m).into_iter().flatten().collect();
                    let difference = if p > 0 {
                        paired_difference(&values(0, m), &values(p, m))
                    } else {
                        None
                    };
                    MetricSummary {
                        metric: m.key,
                        estimate: estimate(&own),
                        difference,
                        difference_excludes_zero: difference.map(|d| d.excludes_zero()),
                    }
                })
                .collect()
        })
        .collect()
}

/// Per bucket, the mean over `runs` of instances and of p99 (over the runs
/// with a p99 in that bucket): `(t_s, instances_mean, p99_s_mean)`.
fn mean_series(runs: &[&[Sample]]) -> Vec<(f64, f64, Option<f64>)> {
    let len = runs.iter().map(|r| r.len()).max().unwrap_or(0);
    (0..len)
        .map(|i| {
            let at: Vec<&Sample> = runs.iter().filter_map(|r| r.get(i)).collect();
            let inst: Vec<f64> = at.iter().map(|s| f64::from(s.instances)).collect();
            let p99: Vec<f64> = at.iter().filter_map(|s| s.p99_s.map(f64::from)).collect();
            (
                at[0].t_s,
                stats::mean(&inst),
                (!p99.is_empty()).then(|| stats::mean(&p99)),
            )
        })
        .collect()
}

/// Runs one policy on one seed; a panic or a failed conservation check is
/// an error for that run only, so the other runs are kept.
fn run_one(scenario: &FleetScenario, seed: u64, reproduce: &str) -> Result<RunResult, String> {
    let report = sim_models::sweep::exec::checked_run(|| {
        sim_models::run_fleet(scenario, seed, reproduce, &mut |_| {})
    })?;
    Ok(RunResult::from_report(&report))
}

/// Reads and parses a policy file; errors name it.
pub(crate) fn read_policy(file: &Path) -> anyhow::Result<PolicyFile> {
    let meta = fs::metadata(file)
        .with_context(|| format!("cannot read policy file `{}`", file.display()))?;
    if meta.len() > MAX_POLICY_FILE_BYTES as u64 {
        anyhow::bail!(
            "policy file `{}` is {} bytes, more than the {MAX_POLICY_FILE_BYTES} allowed",
            file.display(),
            meta.len()
        );
    }
    let text = fs::read_to_string(file)
        .with_context(|| format!("cannot read policy file `{}`", file.display()))?;
    let label = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    PolicyFile::parse(&text, &label)
        .with_context(|| format!("invalid policy file `{}`", file.display()))
}

/// Loads the scenario once per policy file (policy first, then `--set`);
/// any problem stops here, before a single run.
fn load_policies(args: &CompareArgs) -> anyhow::Result<Vec<Policy>> {
    let path = &args.scenario;
    let text = crate::read_scenario(path)?;
    let format = sim_models::Format::from_file_name(&path.to_string_lossy());
    if !sim_models::is_fleet_scenario(&text, format) {
        anyhow::bail!(
            "`fleetsim compare` needs a fleet scenario; `{}` is a station scenario",
            path.display()
        );
    }
    let overrides = (args.set.iter())
        .map(|s| sim_models::Override::parse(s).map_err(|e| anyhow::anyhow!("--set {s}: {e}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let read_file = |name: &str| -> Result<String, String> {
        let full = dir.join(name);
        fs::read_to_string(&full).map_err(|e| format!("cannot read `{}`: {e}", full.display()))
    };
    let parsed = (args.policies.iter())
        .map(|f| read_policy(f))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut policies: Vec<Policy> = Vec::with_capacity(parsed.len());
    for (policy, file) in parsed.into_iter().zip(&args.policies) {
        if let Some(twin) = policies.iter().find(|p| p.name == policy.name) {
            anyhow::bail!(
                "policy files `{}` and `{}` are both named `{}`; give one another `name`",
                twin.file.display(),
                file.display(),
                policy.name
            );
        }
        let scenario = sim_models::load_fleet_scenario_with_policy(
            &text,
            format,
            Some(&policy),
            &overrides,
            &read_file,
        )
        .with_context(|| {
            format!(
                "invalid scenario `{}` with policy file `{}`",
                path.display(),
                file.display()
            )
        })?;
        policies.push(Policy {
            name: policy.name,
            description: policy.description,
            file: file.clone(),
            scenario,
        });
    }
    Ok(policies)
}

/// Runs every policy on every seed on `--jobs` threads; the results come
/// back policy-major, then by seed, whichever thread ran what.
fn run_matrix(
    args: &CompareArgs,
    policies: &[Policy],
    seeds: &[u64],
) -> anyhow::Result<Vec<Result<RunResult, String>>> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.jobs.unwrap_or(0))
        .build()
        .context("starting the worker threads")?;
    let cells: Vec<(&Policy, u64)> = (policies.iter())
        .flat_map(|p| seeds.iter().map(move |&s| (p, s)))
        .collect();
    let total = cells.len();
    let set: String = args.set.iter().map(|s| format!(" --set '{s}'")).collect();
    let show = !args.quiet && std::io::stderr().is_terminal();
    let done = Mutex::new(0usize);
    // An indexed parallel iterator collects in input order.
    let results = pool.install(|| {
        (cells.par_iter())
            .map(|&(policy, seed)| {
                let reproduce = format!(
                    "fleetsim compare {} --policy {} --seed {seed} --seeds 1{set}",
                    args.scenario.display(),
                    policy.file.display(),
                );
                let result = run_one(&policy.scenario, seed, &reproduce);
                if show {
                    let mut n = done.lock().unwrap_or_else(PoisonError::into_inner);
                    *n += 1;
                    eprint!("\r[{n}/{total}] runs finished ");
                }
                result
            })
            .collect()
    });
    if show {
        eprint!("\r{}\r", " ".repeat(40));
    }
    Ok(results)
}

/// `fleetsim compare`.
pub(crate) fn compare(mut args: CompareArgs) -> anyhow::Result<ExitCode> {
    if let Some(d) = args.duration.take() {
        args.set.push(format!("run.duration={d}"));
    }
    let policies = load_policies(&args)?;
    let first = args
        .seed
        .unwrap_or_else(|| policies[0].scenario.default_seed());
    let seeds: Vec<u64> = (0..args.seeds)
        .map(|i| first.checked_add(i))
        .collect::<Option<_>>()
        .context("--seed plus --seeds is past the largest seed")?;
    let started = Instant::now();
    let results = run_matrix(&args, &policies, &seeds)?;
    let wall = started.elapsed().as_secs_f64();
    let by_policy: Vec<&[Result<RunResult, String>]> = results.chunks(seeds.len()).collect();
    let metrics: Vec<Vec<Option<&RunMetrics>>> = (by_policy.iter())
        .map(|runs| {
            runs.iter()
                .map(|r| r.as_ref().ok().map(|r| &r.metrics))
                .collect()
        })
        .collect();
    let summary = summarize(&metrics);
    let failures: Vec<(&str, u64, &str)> = (policies.iter())
        .flat_map(|p| seeds.iter().map(move |&seed| (p.name.as_str(), seed)))
        .zip(&results)
        .filter_map(|((name, seed), r)| r.as_ref().err().map(|e| (name, seed, e.as_str())))
        .collect();
    let win = results
        .iter()
        .find_map(|r| r.as_ref().ok().map(|r| r.window));
    print!(
        "{}",
        render(&args, &policies, &seeds, win, &summary, &failures)
    );
    if let Some(dir) = &args.out {
        write_outputs(dir, &args, &policies, &seeds, &by_policy, &summary)?;
        if !args.quiet {
            eprintln!(
                "wrote {} and {}",
                dir.join("compare.json").display(),
                dir.join("timeseries.csv").display()
            );
        }
    }
    if !args.quiet {
        eprintln!(
            "{} runs ({} policies x {} seeds) in {wall:.1} s wall",
            results.len(),
            policies.len(),
            seeds.len()
        );
    }
    for (name, seed, e) in &failures {
        eprintln!("error: policy `{name}`, seed {seed}: {e}");
    }
    Ok(if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// A difference with its sign (`+1.2ms`, `-3.0`), for any `show`.
fn signed(x: f64, show: fn(f64) -> String) -> String {
    match x.partial_cmp(&0.0) {
        Some(std::cmp::Ordering::Greater) => format!("+{}", show(x)),
        Some(std::cmp::Ordering::Less) => format!("-{}", show(-x)),
        _ => show(x),
    }
}

/// The table: per metric one row per policy, mean ± half-width and, after
/// the first policy, the paired difference from it.
fn render(
    args: &CompareArgs,
    policies: &[Policy],
    seeds: &[u64],
    win: Option<(f64, f64)>,
    summary: &[Vec<MetricSummary>],
    failures: &[(&str, u64, &str)],
) -> String {
    let mut out = String::new();
    let base = &policies[0].name;
    let _ = writeln!(
        out,
        "scenario   {} ({})",
        policies[0].scenario.config.name,
        args.scenario.display()
    );
    if !args.set.is_empty() {
        let _ = writeln!(out, "set        {}", args.set.join(", "));
    }
    let _ = writeln!(
        out,
        "seeds      {} ({}..={}), the same for every policy",
        seeds.len(),
        seeds[0],
        seeds[seeds.len() - 1]
    );
    if let Some((from, to)) = win {
        let _ = writeln!(out, "window     {}", window(from, to));
    }
    for p in policies {
        let _ = writeln!(
            out,
            "policy     {} ({}){}",
            p.name,
            p.file.display(),
            if p.description.is_empty() {
                String::new()
            } else {
                format!(": {}", p.description)
            }
        );
    }
    let _ = writeln!(out);
    let diffs = policies.len() > 1;
    let mut rows = vec![vec![
        "metric".to_string(),
        "policy".into(),
        "mean".into(),
        "95% CI".into(),
    ]];
    if diffs {
        rows[0].extend([format!("Δ vs {base}"), "95% CI".into(), String::new()]);
    }
    for (m, metric) in METRICS.iter().enumerate() {
        for (p, policy) in policies.iter().enumerate() {
            let s = &summary[p][m];
            let mut row = vec![
                if p == 0 {
                    metric.label.to_string()
                } else {
                    String::new()
                },
                policy.name.clone(),
            ];
            row.extend(cells(s.estimate, metric.show, false));
            if diffs {
                row.extend(if p == 0 {
                    [String::new(), String::new()]
                } else {
                    cells(s.difference, metric.show, true)
                });
                row.push(if s.difference_excludes_zero == Some(true) {
                    "*".into()
                } else {
                    String::new()
                });
            }
            rows.push(row);
        }
    }
    out.push_str(&table(&rows));
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "Means over seeds with {:.0}% Student-t intervals{}; p99 is each run's fleet p99, averaged.",
        100.0 * CONFIDENCE,
        if seeds.len() < 2 {
            " (n/a: one seed; intervals need --seeds 2 or more)"
        } else {
            ""
        }
    );
    if diffs {
        let _ = writeln!(
            out,
            "Δ: the paired per-seed difference from {base} (same seeds, common random numbers); * : its interval excludes zero."
        );
    }
    for (name, seed, e) in failures {
        let _ = writeln!(out, "FAILED     {name} seed {seed}: {e} (left out above)");
    }
    out
}

/// A mean (signed when it is a difference) and its half-width, as cells.
fn cells(e: Option<Estimate>, show: fn(f64) -> String, is_difference: bool) -> [String; 2] {
    match e {
        None => ["-".into(), String::new()],
        Some(e) => [
            if is_difference {
                signed(e.mean, show)
            } else {
                show(e.mean)
            },
            e.half_width
                .map_or_else(|| "n/a".into(), |h| format!("±{}", show(h))),
        ],
    }
}

/// Rows as an aligned table under a dashed rule; the first two columns
/// (metric, policy) and the last (the `*`) left-aligned, numbers right.
fn table(rows: &[Vec<String>]) -> String {
    let cols = rows[0].len();
    crate::summary::aligned_table(rows, &|j| j < 2 || j + 1 == cols && cols > 4)
}

/// `compare.json`: the run facts, each policy's summary and per-seed metrics.
#[derive(Serialize)]
struct CompareJson<'a> {
    /// Version of fleetsim that produced the file.
    fleetsim_version: &'static str,
    /// Scenario name.
    scenario: &'a str,
    /// Scenario file as given.
    scenario_file: String,
    /// `--set` overrides (and `--duration`), in order.
    overrides: &'a [String],
    /// First seed; the runs used `first_seed .. first_seed + seeds`.
    first_seed: u64,
    /// Seeds per policy.
    seeds: usize,
    /// Confidence level of the intervals.
    confidence: f64,
    /// Per policy, in command-line order (the first is the baseline).
    policies: Vec<PolicyJson<'a>>,
}

/// One policy in `compare.json`.
#[derive(Serialize)]
struct PolicyJson<'a> {
    /// Display name.
    name: &'a str,
    /// The file's description.
    description: &'a str,
    /// Policy file as given.
    file: String,
    /// Hash of the effective scenario (policy and overrides applied).
    scenario_hash: &'a str,
    /// Per metric, in table order.
    summary: &'a [MetricSummary],
    /// Per seed, in seed order.
    runs: Vec<RunJson<'a>>,
}

/// One seed's run in `compare.json`: its metrics, or why it failed.
#[derive(Serialize)]
struct RunJson<'a> {
    /// The seed.
    seed: u64,
    /// The metrics of a finished run.
    #[serde(flatten)]
    metrics: Option<&'a RunMetrics>,
    /// Why the run failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
}

/// A CSV field, quoted if it needs to be.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The time-series CSV: per policy and bucket, the means over seeds.
fn timeseries_csv(policies: &[Policy], by_policy: &[&[Result<RunResult, String>]]) -> String {
    let mut out = String::from("policy,t_s,instances_mean,p99_s_mean\n");
    for (policy, runs) in policies.iter().zip(by_policy) {
        let series: Vec<&[Sample]> = runs
            .iter()
            .filter_map(|r| r.as_ref().ok())
            .map(|r| &r.series[..])
            .collect();
        for (t, inst, p99) in mean_series(&series) {
            let p99 = p99.map(|x| x.to_string()).unwrap_or_default();
            let _ = writeln!(out, "{},{t},{inst},{p99}", csv_field(&policy.name));
        }
    }
    out
}

/// Writes `compare.json` and `timeseries.csv` into `dir`.
fn write_outputs(
    dir: &Path,
    args: &CompareArgs,
    policies: &[Policy],
    seeds: &[u64],
    by_policy: &[&[Result<RunResult, String>]],
    summary: &[Vec<MetricSummary>],
) -> anyhow::Result<()> {
    fs::create_dir_all(dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
    let doc = CompareJson {
        fleetsim_version: env!("CARGO_PKG_VERSION"),
        scenario: &policies[0].scenario.config.name,
        scenario_file: args.scenario.display().to_string(),
        overrides: &args.set,
        first_seed: seeds[0],
        seeds: seeds.len(),
        confidence: CONFIDENCE,
        policies: (policies.iter().zip(summary).zip(by_policy))
            .map(|((p, s), runs)| PolicyJson {
                name: &p.name,
                description: &p.description,
                file: p.file.display().to_string(),
                scenario_hash: &p.scenario.hash,
                summary: s,
                runs: (seeds.iter().zip(runs.iter()))
                    .map(|(&seed, r)| RunJson {
                        seed,
                        metrics: r.as_ref().ok().map(|r| &r.metrics),
                        error: r.as_ref().err().map(String::as_str),
                    })
                    .collect(),
            })
            .collect(),
    };
    let json = dir.join("compare.json");
    let text = serde_json::to_string_pretty(&doc).context("serializing compare.json")?;
    fs::write(&json, format!("{text}\n"))
        .with_context(|| format!("cannot write `{}`", json.display()))?;
    let csv = dir.join("timeseries.csv");
    fs::write(&csv, timeseries_csv(policies, by_policy))
        .with_context(|| format!("cannot write `{}`", csv.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics(p99: Option<f64>, cost: f64) -> RunMetrics {
        RunMetrics {
            p99_s: p99,
            slo_violation_minutes: 1,
            failed_requests: 3,
            cost,
            scale_actions: 0,
            peak_instances: 9,
            mean_instances: 9.0,
        }
    }

    #[test]
    fn estimate_uses_the_t_interval_and_needs_two_values() {
        assert_eq!(estimate(&[]), None);
        let one = estimate(&[4.0]).unwrap();
        assert_eq!((one.mean, one.half_width, one.n), (4.0, None, 1));
        assert!(!one.excludes_zero(), "no interval, no claim");
        let xs = [1.0, 2.0, 3.0, 4.0, 5.0];
        let e = estimate(&xs).unwrap();
        let ci = stats::student_t_interval(&xs, 0.95);
        assert_eq!((e.mean, e.half_width, e.n), (3.0, Some(ci.half_width), 5));
        // t(0.975, 4) = 2.776: 3 ± 2.776 · 1.581 / √5.
        assert!((ci.half_width - 1.963).abs() < 1e-3);
        assert!(e.excludes_zero());
    }

    #[test]
    fn paired_difference_pairs_seed_by_seed_and_skips_gaps() {
        // Big seed-to-seed spread, constant difference of 1: paired, the
        // interval is zero wide and excludes zero.
        let base = [Some(10.0), Some(50.0), Some(90.0), None];
        let other = [Some(11.0), Some(51.0), Some(91.0), Some(7.0)];
        let d = paired_difference(&base, &other).unwrap();
        assert_eq!((d.mean, d.half_width, d.n), (1.0, Some(0.0), 3));
        assert!(d.excludes_zero());
        let same = paired_difference(&base, &base).unwrap();
        assert_eq!(same.mean, 0.0);
        assert!(
            !same.excludes_zero(),
            "identical policies differ by nothing"
        );
        let noisy = paired_difference(&[Some(0.0), Some(0.0)], &[Some(1.0), Some(-0.5)]).unwrap();
        assert!(!noisy.excludes_zero());
        assert_eq!(paired_difference(&[None], &[Some(1.0)]), None);
    }

    #[test]
    fn summarize_compares_with_the_first_policy() {
        let a = [metrics(Some(0.1), 2.0), metrics(Some(0.2), 4.0)];
        let b = [metrics(Some(0.15), 3.0), metrics(None, 5.0)];
        let runs = vec![
            a.iter().map(Some).collect(),
            vec![Some(&b[0]), Some(&b[1]), None],
        ];
        let s = summarize(&runs);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].len(), METRICS.len());
        assert_eq!(s[0][0].metric, "p99_s");
        assert!(s[0][0].difference.is_none() && s[0][0].difference_excludes_zero.is_none());
        // p99: b has one value, paired with a's first seed only.
        assert_eq!(s[1][0].estimate.unwrap().n, 1);
        let d = s[1][0].difference.unwrap();
        assert!((d.mean - 0.05).abs() < 1e-12 && d.half_width.is_none());
        assert_eq!(s[1][0].difference_excludes_zero, Some(false));
        // cost: +1 on both seeds.
        let cost = &s[1][3];
        assert_eq!(cost.metric, "cost");
        assert_eq!(cost.difference.unwrap().mean, 1.0);
        assert_eq!(cost.difference_excludes_zero, Some(true));
    }

    #[test]
    fn series_means_over_runs_and_skips_missing_p99() {
        let s = |t_s, instances, p99_s| Sample {
            t_s,
            instances,
            p99_s,
        };
        let a = [s(0.0, 2, Some(0.5)), s(10.0, 4, None)];
        let b = [s(0.0, 4, Some(1.5)), s(10.0, 5, None)];
        assert_eq!(
            mean_series(&[&a, &b]),
            vec![(0.0, 3.0, Some(1.0)), (10.0, 4.5, None)]
        );
        assert!(mean_series(&[]).is_empty());
    }

    #[test]
    fn text_helpers() {
        assert_eq!(signed(0.0123, secs), "+12.3ms");
        assert_eq!(signed(-0.0123, secs), "-12.3ms");
        assert_eq!(signed(0.0, |x| format!("{x:.1}")), "0.0");
        assert_eq!(csv_field("hpa"), "hpa");
        assert_eq!(csv_field("a,\"b\""), "\"a,\"\"b\"\"\"");
        let t = table(&[
            vec!["metric".into(), "policy".into(), "mean".into()],
            vec!["p99".into(), "a".into(), "1.0".into()],
        ]);
        assert_eq!(
            t,
            "metric  policy  mean\n--------------------\np99     a        1.0\n"
        );
    }
}
