//! `fleetsim`: the command line.
//!
//! Thin glue over the `sim-models` facade: parse flags, read the scenario
//! file, run it, print a summary and optionally write the JSON report. Wall
//! clock timings go to stderr only, so stdout and written reports are
//! byte-identical across runs with the same scenario and seed.

mod args;
mod compare;
mod fleet_summary;
mod report_html;
mod spof;
mod summary;
mod sweep;

use std::fs;
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::Parser;

use args::{CheckArgs, Cli, Command, OutputFormat, RunArgs, ValidateArgs};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Run(args) => run_scenario(args),
        Command::Check(args) => check_scenario(args),
        Command::Schema => {
            println!(
                "{}",
                serde_json::to_string_pretty(&sim_models::fleet_json_schema())?
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Validate(args) => validate(args),
        Command::Compare(args) => compare::compare(args),
        Command::Sweep(args) => sweep::sweep(args),
        Command::Merge(args) => sweep::merge(args),
        Command::Report(args) => sweep::report(args),
        Command::Spof(args) => spof::spof(args),
    }
}

/// A loaded scenario of either kind.
enum Loaded {
    Stations(sim_models::Scenario),
    Fleet(sim_models::FleetScenario),
}

/// Reads a scenario file of either kind, applying a policy file and `--set`
/// overrides (fleet scenarios only); errors name the file.
fn load_any(path: &Path, policy: Option<&Path>, set: &[String]) -> anyhow::Result<Loaded> {
    let text = read_scenario(path)?;
    let format = sim_models::Format::from_file_name(&path.to_string_lossy());
    if !sim_models::is_fleet_scenario(&text, format) {
        if policy.is_some() {
            anyhow::bail!(
                "`--policy` applies to fleet scenarios; `{}` is a station scenario",
                path.display()
            );
        }
        if !set.is_empty() {
            anyhow::bail!(
                "`--set` and `--duration` apply to fleet scenarios; `{}` is a station scenario \
                 (edit its `[run]` table instead)",
                path.display()
            );
        }
        return sim_models::load_scenario(&text, format)
            .map(Loaded::Stations)
            .with_context(|| format!("invalid scenario `{}`", path.display()));
    }
    let overrides = set
        .iter()
        .map(|s| sim_models::Override::parse(s).map_err(|e| anyhow::anyhow!("--set {s}: {e}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let read_file = |name: &str| -> Result<String, String> {
        let full = dir.join(name);
        fs::read_to_string(&full).map_err(|e| format!("cannot read `{}`: {e}", full.display()))
    };
    let policy = policy.map(compare::read_policy).transpose()?;
    sim_models::load_fleet_scenario_with_policy(
        &text,
        format,
        policy.as_ref(),
        &overrides,
        &read_file,
    )
    .map(Loaded::Fleet)
    .with_context(|| format!("invalid scenario `{}`", path.display()))
}

/// Reads a scenario file, refusing oversized ones before reading them.
fn read_scenario(path: &Path) -> anyhow::Result<String> {
    let meta =
        fs::metadata(path).with_context(|| format!("cannot read scenario `{}`", path.display()))?;
    if meta.len() > sim_models::scenario::MAX_SCENARIO_BYTES as u64 {
        anyhow::bail!(
            "scenario `{}` is {} bytes, more than the {} allowed",
            path.display(),
            meta.len(),
            sim_models::scenario::MAX_SCENARIO_BYTES
        );
    }
    fs::read_to_string(path).with_context(|| format!("cannot read scenario `{}`", path.display()))
}

fn reproduce_command(path: &Path, seed: u64, policy: Option<&Path>, set: &[String]) -> String {
    let mut cmd = format!("fleetsim run {} --seed {seed}", path.display());
    if let Some(p) = policy {
        cmd.push_str(&format!(" --policy {}", p.display()));
    }
    for s in set {
        cmd.push_str(&format!(" --set '{s}'"));
    }
    cmd
}

fn run_scenario(mut args: RunArgs) -> anyhow::Result<ExitCode> {
    if let Some(d) = args.duration.take() {
        args.set.push(format!("run.duration={d}"));
    }
    let scenario = match load_any(&args.scenario, args.policy.as_deref(), &args.set)? {
        Loaded::Fleet(f) => return run_fleet(&args, &f),
        Loaded::Stations(s) => s,
    };
    let seed = args.seed.unwrap_or_else(|| scenario.default_seed());
    let started = Instant::now();
    let mut progress = ProgressLine::new(!args.quiet && std::io::stderr().is_terminal());
    let report = sim_models::run_with_progress(
        &scenario,
        seed,
        &reproduce_command(&args.scenario, seed, None, &[]),
        &mut |p| progress.update(p),
    );
    progress.finish();
    let wall = started.elapsed().as_secs_f64();
    let json = serde_json::to_string_pretty(&report).context("serializing the report")?;
    let mut stdout = std::io::stdout().lock();
    match args.format {
        OutputFormat::Text => write!(stdout, "{}", summary::render(&report))?,
        OutputFormat::Json => writeln!(stdout, "{json}")?,
    }
    if let Some(out) = &args.output {
        fs::write(out, format!("{json}\n"))
            .with_context(|| format!("cannot write report `{}`", out.display()))?;
        eprintln!("report written to {}", out.display());
    }
    if !args.quiet {
        eprintln!(
            "{} events in {wall:.3} s wall ({:.1} M events/s)",
            report.events,
            report.events as f64 / wall.max(1e-9) / 1e6
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `fleetsim run` on a fleet scenario.
fn run_fleet(args: &RunArgs, scenario: &sim_models::FleetScenario) -> anyhow::Result<ExitCode> {
    let seed = args.seed.unwrap_or_else(|| scenario.default_seed());
    let started = Instant::now();
    let mut progress = ProgressLine::new(!args.quiet && std::io::stderr().is_terminal());
    let report = sim_models::run_fleet(
        scenario,
        seed,
        &reproduce_command(&args.scenario, seed, args.policy.as_deref(), &args.set),
        &mut |p| progress.update(p),
    );
    progress.finish();
    let wall = started.elapsed().as_secs_f64();
    // Reports are streamed, not built as one string: a long run's time
    // series would otherwise double its memory at the very end.
    let mut stdout = std::io::stdout().lock();
    match args.format {
        OutputFormat::Text => write!(stdout, "{}", fleet_summary::render(&report))?,
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut stdout, &report).context("writing the report")?;
            writeln!(stdout)?;
        }
    }
    if let Some(out) = &args.output {
        let write = || -> anyhow::Result<()> {
            let mut file = std::io::BufWriter::new(fs::File::create(out)?);
            serde_json::to_writer_pretty(&mut file, &report)?;
            writeln!(file)?;
            file.flush()?;
            Ok(())
        };
        write().with_context(|| format!("cannot write report `{}`", out.display()))?;
        eprintln!("report written to {}", out.display());
    }
    if !args.quiet {
        eprintln!(
            "{} requests, {} events in {wall:.3} s wall ({:.1} M events/s)",
            report.conservation.created,
            report.events,
            report.events as f64 / wall.max(1e-9) / 1e6
        );
    }
    if !report.conservation.holds {
        eprintln!("error: request conservation failed; please report this scenario as a bug");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// A one-line progress display on stderr for runs longer than a second:
/// `[ 42%] simulated 42.00h, 12.3 M events`, redrawn at most ten times a
/// second and erased at the end. Off when stderr is not a terminal.
struct ProgressLine {
    enabled: bool,
    started: Instant,
    last_drawn: Option<Instant>,
}

impl ProgressLine {
    fn new(enabled: bool) -> Self {
        ProgressLine {
            enabled,
            started: Instant::now(),
            last_drawn: None,
        }
    }

    fn update(&mut self, p: sim_models::Progress) {
        if !self.enabled || self.started.elapsed().as_secs_f64() < 1.0 {
            return;
        }
        if self
            .last_drawn
            .is_some_and(|t| t.elapsed().as_millis() < 100)
        {
            return;
        }
        self.last_drawn = Some(Instant::now());
        eprint!(
            "\r[{:>3.0}%] simulated {}, {:.1} M events ",
            100.0 * p.fraction,
            summary::secs(p.sim_time_s),
            p.events as f64 / 1e6
        );
    }

    fn finish(&mut self) {
        if self.last_drawn.is_some() {
            eprint!("\r{}\r", " ".repeat(60));
        }
    }
}

fn check_scenario(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let loaded = load_any(&args.scenario, args.policy.as_deref(), &args.set)?;
    let seed = args.seed.unwrap_or_else(|| match &loaded {
        Loaded::Stations(s) => s.default_seed(),
        Loaded::Fleet(f) => f.default_seed(),
    });
    let reproduce = reproduce_command(&args.scenario, seed, args.policy.as_deref(), &args.set);
    let trace = || match &loaded {
        Loaded::Stations(s) => sim_models::trace_hash(s, seed),
        Loaded::Fleet(f) => sim_models::fleet_trace_hash(f, seed),
    };
    let report = || -> anyhow::Result<String> {
        Ok(match &loaded {
            Loaded::Stations(s) => serde_json::to_string(&sim_models::run(s, seed, &reproduce))?,
            Loaded::Fleet(f) => {
                serde_json::to_string(&sim_models::run_fleet(f, seed, &reproduce, &mut |_| {}))?
            }
        })
    };
    let (hash_a, events_a) = trace();
    let (hash_b, events_b) = trace();
    let report_a = report()?;
    let report_b = report()?;
    println!("run 1: {events_a} events, trace hash {hash_a:016x}");
    println!("run 2: {events_b} events, trace hash {hash_b:016x}");
    let same_trace = hash_a == hash_b && events_a == events_b;
    let same_report = report_a == report_b;
    println!(
        "event traces: {}",
        if same_trace { "identical" } else { "DIFFERENT" }
    );
    println!(
        "reports:      {}",
        if same_report {
            "byte-identical"
        } else {
            "DIFFERENT"
        }
    );
    if same_trace && same_report {
        println!("deterministic: yes (seed {seed})");
        Ok(ExitCode::SUCCESS)
    } else {
        println!("deterministic: NO (seed {seed}); please report this scenario as a bug");
        Ok(ExitCode::FAILURE)
    }
}

fn validate(args: ValidateArgs) -> anyhow::Result<ExitCode> {
    let cases = if args.quick {
        validation::quick_cases()
    } else {
        validation::standard_cases()
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.jobs.unwrap_or(0))
        .build()
        .context("starting the worker threads")?;
    let started = Instant::now();
    let progress = |line: &str| eprintln!("{line}");
    let results = pool.install(|| validation::run_cases(&cases, args.seed, &progress));
    let mut extra_failures = 0;
    let mut extra_tables = String::new();
    if args.fleet {
        let fleet = pool.install(|| {
            validation::run_fleet_cases(
                &validation::fleet_station_cases(args.quick),
                args.seed,
                &progress,
            )
        });
        extra_failures += fleet.iter().filter(|r| !r.pass).count();
        extra_tables.push_str("\nStation cases through the fleet model:\n");
        extra_tables.push_str(&validation::render_fleet_table(&fleet));
    }
    if args.balancing {
        let balancing = pool.install(|| {
            validation::run_balancing(
                &validation::balancing_cases(args.quick),
                args.seed,
                &progress,
            )
        });
        extra_failures += balancing.iter().filter(|r| !r.pass).count();
        extra_tables.push_str("\nLoad balancing against the supermarket model:\n");
        extra_tables.push_str(&validation::render_balancing_table(&balancing));
    }
    if args.data {
        let rows = pool.install(|| validation::run_data_checks(args.quick, args.seed, &progress));
        extra_failures += rows.iter().filter(|r| !r.pass).count();
        extra_tables.push_str("\nThe data tier:\n");
        extra_tables.push_str(&validation::render_data_table(&rows));
    }
    eprintln!(
        "validation took {:.1} s wall",
        started.elapsed().as_secs_f64()
    );
    print!("{}", validation::render_table(&results));
    let (little, intervals): (Vec<_>, Vec<_>) = results.iter().partition(|r| r.is_little_row());
    let failed_intervals = intervals.iter().filter(|r| !r.pass).count();
    let failed_little = little.iter().filter(|r| !r.pass).count();
    println!(
        "{} of {} interval comparisons and {} of {} Little's-law checks passed",
        intervals.len() - failed_intervals,
        intervals.len(),
        little.len() - failed_little,
        little.len()
    );
    print!("{extra_tables}");
    Ok(if failed_intervals + failed_little + extra_failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
