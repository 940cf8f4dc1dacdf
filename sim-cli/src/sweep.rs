//! `fleetsim sweep`, `fleetsim merge` and `fleetsim report`: the file and
//! terminal side of parameter sweeps (the sweep itself — designs, runs,
//! aggregation, merging — is `sim_models::sweep`).
//!
//! The results file is a journal while the sweep runs: the header, then one
//! line per finished run, appended with a single write so a killed process
//! leaves at most one cut-off last line. `--resume` drops that line, skips
//! the runs already there and appends the rest; when every run is in, the
//! file is rewritten (temporary file, then rename) in canonical order with
//! the per-point aggregates, and the CSVs are written beside it.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::fs::{self, File, OpenOptions};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use sim_models::sweep::design::{Design, ParamSpec, plan};
use sim_models::sweep::exec::{BaseScenario, UnitTiming, pending_units, run_units};
use sim_models::sweep::metrics::METRICS;
use sim_models::sweep::objective::{Objective, pareto_front};
use sim_models::sweep::results::{
    self, ParamHeader, PointRecord, Record, RunRecord, Shard, SweepHeader, SweepResults,
};

use crate::args::{DesignArg, MergeArgs, ReportArgs, SweepArgs};
use crate::summary::{aligned_table, secs};

/// Exit code of a sweep stopped by Ctrl-C (128 + SIGINT), as shells use.
const EXIT_INTERRUPTED: u8 = 130;

/// Largest results file `merge`, `report` and `--resume` read.
const MAX_RESULTS_BYTES: u64 = 2 << 30;

/// `--shard i/n`.
fn parse_shard(text: &str) -> anyhow::Result<Shard> {
    let parsed = text.split_once('/').and_then(|(i, n)| {
        Some(Shard {
            index: i.trim().parse().ok()?,
            count: n.trim().parse().ok()?,
        })
    });
    match parsed {
        Some(s) if s.count >= 1 && s.index < s.count => Ok(s),
        _ => anyhow::bail!(
            "--shard {text}: expected `index/count` with 0 <= index < count, e.g. `--shard 0/4` … `--shard 3/4`"
        ),
    }
}

/// Reads and parses a results file; errors name it.
fn read_results(path: &Path) -> anyhow::Result<(results::ParsedFile, usize)> {
    let meta = fs::metadata(path)
        .with_context(|| format!("cannot read results file `{}`", path.display()))?;
    if meta.len() > MAX_RESULTS_BYTES {
        anyhow::bail!(
            "results file `{}` is {} bytes, more than the {MAX_RESULTS_BYTES} allowed",
            path.display(),
            meta.len()
        );
    }
    let text = fs::read_to_string(path)
        .with_context(|| format!("cannot read results file `{}`", path.display()))?;
    let parsed = results::parse_results(&text)
        .with_context(|| format!("results file `{}`", path.display()))?;
    Ok((parsed, text.len()))
}

/// `name.jsonl` → `name.runs.csv` / `name.points.csv`.
fn csv_paths(results_path: &Path) -> (PathBuf, PathBuf) {
    (
        results_path.with_extension("runs.csv"),
        results_path.with_extension("points.csv"),
    )
}

/// Writes `text` to `path` through a temporary file and a rename, so the
/// file is never seen half-written.
fn write_atomically(path: &Path, text: &str) -> anyhow::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    fs::write(&tmp, text).with_context(|| format!("cannot write `{}`", tmp.display()))?;
    fs::rename(&tmp, path).with_context(|| format!("cannot write `{}`", path.display()))
}

/// Writes the canonical results file and its CSVs; returns the results.
fn finish_file(
    path: &Path,
    header: &SweepHeader,
    runs: &[RunRecord],
) -> anyhow::Result<SweepResults> {
    let text = results::canonical_text(header, runs);
    write_atomically(path, &text)?;
    let parsed = results::parse_results(&text).expect("canonical text parses");
    let keys: Vec<&str> = METRICS.iter().map(|m| m.key).collect();
    let (runs_csv, points_csv) = csv_paths(path);
    let r = &parsed.results;
    write_atomically(&runs_csv, &results::runs_csv(&r.header, &r.runs, &keys))?;
    write_atomically(
        &points_csv,
        &results::points_csv(&r.header, &r.points, &keys),
    )?;
    Ok(parsed.results)
}

/// What the progress display shows, for a terminal or for a log.
struct Progress {
    bar: ProgressBar,
    /// Print a line every this many runs when not on a terminal (0: never).
    log_every: usize,
    total: usize,
    done: usize,
    failed: usize,
    started: Instant,
}

impl Progress {
    fn new(total: usize, quiet: bool) -> Self {
        let terminal = std::io::stderr().is_terminal();
        let bar = if quiet || !terminal {
            ProgressBar::hidden()
        } else {
            let bar = ProgressBar::new(total as u64);
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} runs  ETA {eta}  {msg}",
                )
                .expect("the template is valid"),
            );
            bar.enable_steady_tick(Duration::from_millis(250));
            bar
        };
        Progress {
            bar,
            log_every: if quiet || terminal {
                0
            } else {
                (total / 20).max(1)
            },
            total,
            done: 0,
            failed: 0,
            started: Instant::now(),
        }
    }

    fn finished(&mut self, failed: bool) {
        self.done += 1;
        self.failed += usize::from(failed);
        self.bar.inc(1);
        if self.failed > 0 {
            self.bar.set_message(format!("{} failed", self.failed));
        }
        if self.log_every > 0
            && (self.done.is_multiple_of(self.log_every) || self.done == self.total)
        {
            let elapsed = self.started.elapsed().as_secs_f64();
            let eta = elapsed / self.done as f64 * (self.total - self.done) as f64;
            eprintln!(
                "sweep: {}/{} runs ({} failed), {} elapsed, ETA {}",
                self.done,
                self.total,
                self.failed,
                secs(elapsed),
                secs(eta)
            );
        }
    }
}

/// Reads `--set`, `--duration` and `--policy` into what every point shares.
struct Base {
    text: String,
    format: sim_models::Format,
    policy: Option<sim_models::PolicyFile>,
    set: Vec<sim_models::Override>,
    dir: PathBuf,
}

impl Base {
    fn load(args: &SweepArgs) -> anyhow::Result<(Base, Vec<String>)> {
        let path = &args.scenario;
        let text = crate::read_scenario(path)?;
        let format = sim_models::Format::from_file_name(&path.to_string_lossy());
        if !sim_models::is_fleet_scenario(&text, format) {
            anyhow::bail!(
                "`fleetsim sweep` needs a fleet scenario; `{}` is a station scenario",
                path.display()
            );
        }
        let mut set_text = args.set.clone();
        if let Some(d) = &args.duration {
            set_text.push(format!("run.duration={d}"));
        }
        let set = (set_text.iter())
            .map(|s| sim_models::Override::parse(s).map_err(|e| anyhow::anyhow!("--set {s}: {e}")))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let policy = args
            .policy
            .as_deref()
            .map(crate::compare::read_policy)
            .transpose()?;
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Ok((
            Base {
                text,
                format,
                policy,
                set,
                dir,
            },
            set_text,
        ))
    }
}

pub(crate) fn sweep(args: SweepArgs) -> anyhow::Result<ExitCode> {
    // Everything that can be wrong with the command line is found before
    // the first run.
    let params = (args.params.iter())
        .map(|p| ParamSpec::parse(p).map_err(anyhow::Error::msg))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let objective = (args.objective.as_deref())
        .map(|o| Objective::parse(o).map_err(|e| anyhow::anyhow!("--objective: {e}")))
        .transpose()?;
    let shard = args.shard.as_deref().map(parse_shard).transpose()?;
    let design = match (args.design, args.points) {
        (DesignArg::Grid, None) => Design::Grid,
        (DesignArg::Grid, Some(_)) => anyhow::bail!(
            "--points applies to `--design random` and `--design lhs`; a grid runs every combination"
        ),
        (DesignArg::Random, Some(points)) => Design::Random { points },
        (DesignArg::Lhs, Some(points)) => Design::LatinHypercube { points },
        (_, None) => anyhow::bail!(
            "--design {} needs --points N (how many points to draw)",
            args.design.name()
        ),
    };
    let (base, set_text) = Base::load(&args)?;
    let read_file = |name: &str| -> Result<String, String> {
        let full = base.dir.join(name);
        fs::read_to_string(&full).map_err(|e| format!("cannot read `{}`: {e}", full.display()))
    };
    let base_scenario = BaseScenario {
        text: &base.text,
        format: base.format,
        policy: base.policy.as_ref(),
        set: &base.set,
        read_file: &read_file,
    };
    let loaded = base_scenario
        .load()
        .with_context(|| format!("invalid scenario `{}`", args.scenario.display()))?;
    let first_seed = args.seed.unwrap_or_else(|| loaded.default_seed());
    let points = plan(&params, design, first_seed).map_err(anyhow::Error::msg)?;
    if points.len().saturating_mul(args.seeds as usize) > 100_000_000 {
        anyhow::bail!(
            "{} points × {} seeds is more than 100,000,000 runs; cut the sweep with --shard or use fewer values",
            points.len(),
            args.seeds
        );
    }
    let header = SweepHeader {
        fleetsim_version: env!("CARGO_PKG_VERSION").to_string(),
        scenario: args.scenario.display().to_string(),
        scenario_hash: loaded.hash.clone(),
        set: set_text,
        policy: args.policy.as_ref().map(|p| p.display().to_string()),
        params: (params.iter())
            .map(|p| ParamHeader {
                path: p.path.clone(),
                spec: p.spec.clone(),
            })
            .collect(),
        design: design.name().to_string(),
        design_seed: first_seed,
        points: points.len(),
        first_seed,
        seeds: args.seeds,
        shard,
    };

    // Open the journal: a new file, or the one being resumed.
    let (path, mut runs) = match (&args.resume, &args.out) {
        (Some(_), Some(_)) => anyhow::bail!(
            "give either --out FILE (a new sweep) or --resume FILE (continue one), not both"
        ),
        (Some(path), None) => (path.clone(), resume_journal(path, &header)?),
        (None, out) => {
            let path = out.clone().unwrap_or_else(|| PathBuf::from("sweep.jsonl"));
            if path.exists() {
                anyhow::bail!(
                    "`{}` already exists: continue that sweep with --resume {0}, or write to another --out",
                    path.display()
                );
            }
            let line = results::record_line(&Record::Sweep(header.clone()));
            fs::write(&path, line)
                .with_context(|| format!("cannot write results file `{}`", path.display()))?;
            (path, Vec::new())
        }
    };
    let done: BTreeSet<(usize, u64)> = runs.iter().map(|r| (r.point, r.seed)).collect();
    let units = pending_units(points.len(), first_seed, args.seeds, shard, &done);
    let jobs = args.jobs.unwrap_or_else(rayon::current_num_threads);
    if !args.quiet {
        eprintln!(
            "sweep: {} points × {} seeds{}, {} runs to do{} on {jobs} threads → {}",
            points.len(),
            args.seeds,
            shard.map_or(String::new(), |s| format!(
                " (shard {}/{})",
                s.index, s.count
            )),
            units.len(),
            if done.is_empty() {
                String::new()
            } else {
                format!(" ({} already in the file)", done.len())
            },
            path.display()
        );
    }

    let cancel = Arc::new(AtomicBool::new(false));
    install_interrupt_handler(Arc::clone(&cancel));
    let journal = OpenOptions::new()
        .append(true)
        .open(&path)
        .with_context(|| format!("cannot append to results file `{}`", path.display()))?;
    let state = Mutex::new(Journal {
        file: journal,
        runs: Vec::new(),
        progress: Progress::new(units.len(), args.quiet),
        write_error: None,
        timing: UnitTiming::default(),
    });
    let started = Instant::now();
    run_units(
        &base_scenario,
        &points,
        &units,
        jobs,
        &cancel,
        &|record, timing| {
            let mut j = state.lock().unwrap_or_else(PoisonError::into_inner);
            j.timing += timing;
            let line = results::record_line(&Record::Run(record.clone()));
            if let Err(e) = j.file.write_all(line.as_bytes()) {
                // Stop: a journal we cannot write would lose every later run.
                j.write_error.get_or_insert(e);
                cancel.store(true, Ordering::SeqCst);
            }
            j.progress.finished(record.error.is_some());
            j.runs.push(record);
        },
    )
    .map_err(anyhow::Error::msg)?;
    let journal = state.into_inner().unwrap_or_else(PoisonError::into_inner);
    journal.progress.bar.finish_and_clear();
    if let Some(e) = journal.write_error {
        return Err(e).with_context(|| format!("cannot append to `{}`", path.display()));
    }
    runs.extend(journal.runs);
    let missing = results::missing_runs(&header, &runs);
    if missing > 0 {
        eprintln!(
            "sweep stopped: {} runs in `{}`, {missing} still to do; continue with\n  {}",
            runs.len(),
            path.display(),
            resume_command(&args, &path)
        );
        return Ok(ExitCode::from(EXIT_INTERRUPTED));
    }
    let finished = finish_file(&path, &header, &runs)?;
    if !args.quiet {
        let (runs_csv, points_csv) = csv_paths(&path);
        eprintln!(
            "sweep: {} runs in {:.1}s wall → {}, {}, {}",
            journal.progress.done,
            started.elapsed().as_secs_f64(),
            path.display(),
            runs_csv.display(),
            points_csv.display()
        );
        let t = journal.timing;
        let n = journal.progress.done.max(1) as f64;
        let overhead = (t.build + t.report).as_secs_f64() / t.simulate.as_secs_f64().max(1e-9);
        eprintln!(
            "sweep: per run, building the scenario {} + assembling the report {} on top of simulating {} ({:.2}% overhead)",
            secs(t.build.as_secs_f64() / n),
            secs(t.report.as_secs_f64() / n),
            secs(t.simulate.as_secs_f64() / n),
            overhead * 100.0
        );
    }
    print!("{}", summary(&finished, objective.as_ref()));
    Ok(ExitCode::SUCCESS)
}

/// The journal shared by the worker threads.
struct Journal {
    file: File,
    runs: Vec<RunRecord>,
    progress: Progress,
    write_error: Option<std::io::Error>,
    /// Time spent per phase, summed over the runs.
    timing: UnitTiming,
}

/// The command that resumes this sweep.
fn resume_command(args: &SweepArgs, path: &Path) -> String {
    let mut cmd = format!("fleetsim sweep {}", args.scenario.display());
    for p in &args.params {
        let _ = write!(cmd, " --param '{p}'");
    }
    let _ = write!(cmd, " --seeds {}", args.seeds);
    if let Some(s) = args.seed {
        let _ = write!(cmd, " --seed {s}");
    }
    if args.design != DesignArg::Grid {
        let _ = write!(cmd, " --design {}", args.design.name());
    }
    if let Some(n) = args.points {
        let _ = write!(cmd, " --points {n}");
    }
    if let Some(d) = &args.duration {
        let _ = write!(cmd, " --duration {d}");
    }
    for s in &args.set {
        let _ = write!(cmd, " --set '{s}'");
    }
    if let Some(p) = &args.policy {
        let _ = write!(cmd, " --policy {}", p.display());
    }
    if let Some(s) = &args.shard {
        let _ = write!(cmd, " --shard {s}");
    }
    let _ = write!(cmd, " --resume {}", path.display());
    cmd
}

/// Reads the file being resumed: its header must be this sweep's; a
/// cut-off last line is dropped from the file; returns the runs done.
fn resume_journal(path: &Path, header: &SweepHeader) -> anyhow::Result<Vec<RunRecord>> {
    let (parsed, len) = read_results(path)?;
    if let Some(field) = results::header_difference(&parsed.results.header, header) {
        anyhow::bail!(
            "--resume {}: that file is a different sweep (its `{field}` differs from this command's); \
             resume with the same scenario, --param, --seeds, --seed, --design, --points, --set, --policy and --shard",
            path.display()
        );
    }
    if parsed.complete_len < len {
        let file = OpenOptions::new()
            .write(true)
            .open(path)
            .with_context(|| format!("cannot write results file `{}`", path.display()))?;
        file.set_len(parsed.complete_len as u64)
            .with_context(|| format!("cannot truncate `{}`", path.display()))?;
    }
    Ok(parsed.results.runs)
}

/// Ctrl-C once: start no new run, let those in flight finish and be
/// written. Twice: stop at once (the journal is consistent; runs in flight
/// are redone on resume).
fn install_interrupt_handler(cancel: Arc<AtomicBool>) {
    let result = ctrlc::set_handler(move || {
        if cancel.swap(true, Ordering::SeqCst) {
            eprintln!("\nsweep: stopped at once; runs in flight will be redone on --resume");
            std::process::exit(i32::from(EXIT_INTERRUPTED));
        }
        eprintln!(
            "\nsweep: Ctrl-C: starting no new runs, finishing those in flight (Ctrl-C again to stop now)"
        );
    });
    // Only one handler per process; a second sweep in one process (tests)
    // keeps the first, which is harmless.
    let _ = result;
}

/// A point's parameter values as `path=value` pairs in parameter order.
fn point_params(header: &SweepHeader, p: &PointRecord) -> String {
    (header.params.iter())
        .map(|h| {
            let short = h.path.rsplit('.').next().unwrap_or(&h.path);
            format!(
                "{short}={}",
                p.params.get(&h.path).map_or("?", String::as_str)
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `mean ±ci` of a metric in readable units.
fn cell(p: &PointRecord, key: &str) -> String {
    let Some(e) = p.metrics.get(key) else {
        return "-".into();
    };
    let show = |x: f64| match key {
        k if k.ends_with("_s") => secs(x),
        "availability" | "slo_attainment" => format!("{:.3}%", x * 100.0),
        _ => format!("{x:.3}"),
    };
    match e.ci95 {
        Some(h) => format!("{} ±{}", show(e.mean), show(h)),
        None => show(e.mean),
    }
}

/// The summary printed after a sweep, a merge or with `report`: a table of
/// points, the Pareto front and the objective's best points.
fn summary(r: &SweepResults, objective: Option<&Objective>) -> String {
    const MAX_ROWS: usize = 40;
    let mut out = String::new();
    let h = &r.header;
    let _ = writeln!(
        out,
        "sweep      {} (hash {}), {} design, {} points × {} seeds from {}",
        h.scenario, h.scenario_hash, h.design, h.points, h.seeds, h.first_seed
    );
    for p in &h.params {
        let _ = writeln!(out, "param      {} = {}", p.path, p.spec);
    }
    let failed: usize = r.points.iter().map(|p| p.failed).sum();
    if failed > 0 {
        let _ = writeln!(out, "failed     {failed} runs (errors in the results file)");
    }
    let _ = writeln!(out);
    let mut rows = vec![vec![
        "point".to_string(),
        "params".into(),
        "p99".into(),
        "cost".into(),
        "availability".into(),
        "mean instances".into(),
        "failed".into(),
    ]];
    for p in r.points.iter().take(MAX_ROWS) {
        rows.push(vec![
            p.point.to_string(),
            point_params(h, p),
            cell(p, "p99_s"),
            cell(p, "cost"),
            cell(p, "availability"),
            cell(p, "mean_instances"),
            if p.failed > 0 {
                format!("{}/{}", p.failed, p.runs)
            } else {
                String::new()
            },
        ]);
    }
    out.push_str(&aligned_table(&rows, &|j| j == 1));
    if r.points.len() > MAX_ROWS {
        let _ = writeln!(
            out,
            "… {} more points in the results file",
            r.points.len() - MAX_ROWS
        );
    }
    let front = pareto_front(&r.points);
    if !front.is_empty() {
        let _ = writeln!(
            out,
            "\nPareto front (mean cost vs mean p99, lower is better):"
        );
        for p in front {
            let _ = writeln!(
                out,
                "  point {:>4}  cost {}  p99 {}  {}",
                p.point,
                cell(p, "cost"),
                cell(p, "p99_s"),
                point_params(h, p)
            );
        }
    }
    if let Some(o) = objective {
        let best = o.best(&r.points, 5);
        let _ = writeln!(out, "\nobjective: {o}");
        if best.is_empty() {
            let _ = writeln!(
                out,
                "  no point meets it (points with a failed run are excluded)"
            );
        }
        for (rank, p) in best.iter().enumerate() {
            let mut shown = vec![o.metric];
            for c in &o.constraints {
                if !shown.contains(&c.metric) {
                    shown.push(c.metric);
                }
            }
            let values: Vec<String> = (shown.iter())
                .map(|k| format!("{k} {}", cell(p, k)))
                .collect();
            let _ = writeln!(
                out,
                "  #{} point {:>4}  {}  {}",
                rank + 1,
                p.point,
                values.join("  "),
                point_params(h, p)
            );
        }
    }
    out
}

pub(crate) fn merge(args: MergeArgs) -> anyhow::Result<ExitCode> {
    let shards = (args.files.iter())
        .map(|f| read_results(f).map(|(p, _)| p.results))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let (header, runs) = results::merge(&shards).context("cannot merge")?;
    let merged = finish_file(&args.output, &header, &runs)?;
    if !args.quiet {
        eprintln!(
            "merged {} shards ({} runs) → {}",
            shards.len(),
            merged.runs.len(),
            args.output.display()
        );
    }
    let objective = (args.objective.as_deref())
        .map(|o| Objective::parse(o).map_err(|e| anyhow::anyhow!("--objective: {e}")))
        .transpose()?;
    print!("{}", summary(&merged, objective.as_ref()));
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn report(args: ReportArgs) -> anyhow::Result<ExitCode> {
    let objective = (args.objective.as_deref())
        .map(|o| Objective::parse(o).map_err(|e| anyhow::anyhow!("--objective: {e}")))
        .transpose()?;
    let (parsed, _) = read_results(&args.results)?;
    let html = crate::report_html::render(&parsed.results, objective.as_ref())?;
    fs::write(&args.output, html)
        .with_context(|| format!("cannot write `{}`", args.output.display()))?;
    eprintln!("wrote {}", args.output.display());
    Ok(ExitCode::SUCCESS)
}
