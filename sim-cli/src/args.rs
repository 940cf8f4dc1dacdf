//! Command-line flags (clap derive), kept as close to what users type as
//! possible; `main.rs` turns them into actions.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// fleetsim: a deterministic, seeded discrete-event simulator of server
/// fleets and queueing networks.
#[derive(Debug, Parser)]
#[command(
    name = "fleetsim",
    version,
    after_help = "Examples:\n  \
        fleetsim run scenarios/three-region-active-active.toml\n  \
        fleetsim run scenarios/region-outage.toml --seed 7 --out report.json\n  \
        fleetsim run scenarios/single-region.toml --set regions[0].balancer.algorithm=random\n  \
        fleetsim run scenarios/stations/mm4.toml\n  \
        fleetsim check scenarios/flash-crowd-10x.toml\n  \
        fleetsim compare scenarios/single-region.toml --policy a.toml --policy b.toml --seeds 20\n  \
        fleetsim sweep scenarios/single-region.toml --param 'regions[0].groups[0].instances=4:12:2' --seeds 5\n  \
        fleetsim report sweep.jsonl -o report.html\n  \
        fleetsim spof scenarios/three-region-active-active.toml\n  \
        fleetsim schema > fleet-scenario.schema.json\n  \
        fleetsim validate"
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run a scenario (a fleet, or a station network) and print its results.
    #[command(after_help = "Examples:\n  \
        fleetsim run scenarios/three-region-active-active.toml\n  \
        fleetsim run scenarios/three-region-active-active.toml --duration 1h --out report.json\n  \
        fleetsim run scenarios/single-region.toml --set 'regions[0].groups[0].instances=20' --set run.seed=9\n  \
        fleetsim run scenarios/stations/mm4.toml --seed 42 --format json\n  \
        fleetsim run scenarios/compare-policies.toml --policy scenarios/policies/hpa-default.toml\n\n\
        The JSON report is documented in docs/report.md; scenario files in docs/scenario.md.")]
    Run(RunArgs),
    /// Run a scenario twice and compare hashes of the full event traces and
    /// the reports: a determinism self-check for your own scenarios.
    #[command(
        after_help = "Examples:\n  fleetsim check scenarios/region-outage.toml --seed 3\n  fleetsim check scenarios/stations/mm4.toml"
    )]
    Check(CheckArgs),
    /// Print the JSON Schema of fleet scenario files (for editors).
    #[command(after_help = "Example:\n  fleetsim schema > fleet-scenario.schema.json")]
    Schema,
    /// Compare simulated queues with queueing theory (M/M/1, M/M/c, M/D/1,
    /// M/G/1, M/M/c/c, M/M/c/K, Jackson tandem) and print the table; with
    /// `--fleet` the same cases through the full fleet path, with
    /// `--balancing` load balancers against the supermarket model, with
    /// `--data` the data tier (async RPO = w·L, sync and semi-sync lose
    /// nothing, replica offload by Little's law). Exits non-zero if any
    /// comparison fails.
    #[command(
        after_help = "Examples:\n  fleetsim validate\n  fleetsim validate --quick --jobs 2\n  \
        fleetsim validate --fleet --balancing    # all three tables (~5 min on 2 cores)\n  \
        fleetsim validate --quick --data         # the data-tier checks"
    )]
    Validate(ValidateArgs),
    /// Run a fleet scenario under several autoscaling policy files on the
    /// same seeds (common random numbers) and print, per metric, each
    /// policy's mean with a 95% confidence interval and its paired
    /// difference from the first policy.
    #[command(after_help = "Examples:\n  \
        fleetsim compare scenarios/single-region.toml --policy a.toml --policy b.toml\n  \
        fleetsim compare scenarios/flash-crowd-10x.toml --policy hpa.toml --policy keda.toml --seeds 20 --jobs 2\n  \
        fleetsim compare scenarios/single-region.toml --policy a.toml --policy b.toml --duration 30min --out results/\n\n\
        Seeds run from --seed (default: the scenario's run.seed) to --seed + --seeds - 1,\n\
        the same for every policy, so differences are paired seed by seed (Student t).\n\
        --out DIR writes DIR/compare.json (every run's metrics and the summary) and\n\
        DIR/timeseries.csv (columns policy,t_s,instances_mean,p99_s_mean: per policy and\n\
        series bucket, the mean over seeds of the fleet's instances and p99 latency;\n\
        p99_s_mean is empty where no seed had a successful request).")]
    Compare(CompareArgs),
    /// Run a fleet scenario at many parameter values (a grid, random or
    /// Latin-hypercube design) on several seeds each, in parallel; write
    /// every run and each point's mean with a 95% interval to a JSON-lines
    /// file (resumable, shardable) plus CSVs, and print the best points.
    #[command(after_help = "Examples:\n  \
        fleetsim sweep scenarios/single-region.toml --param 'regions[0].groups[0].instances=4:12:2' --seeds 5\n  \
        fleetsim sweep scenarios/single-region.toml \\\n      \
            --param 'regions[0].groups[0].instances=4,6,8,10' \\\n      \
            --param 'regions[0].balancer.algorithm=round_robin,p2c,least_outstanding' \\\n      \
            --seeds 10 --duration 10min --out lb.jsonl --objective 'min cost where p99 < 200ms'\n  \
        fleetsim sweep scenarios/compare-policies.toml --param 'regions[0].groups[0].autoscaling.policies[0].target=log:30:90:5' --design lhs --points 40\n  \
        fleetsim sweep ... --out lb.jsonl        # killed? continue it:\n  \
        fleetsim sweep ... --resume lb.jsonl     # same flags, --resume instead of --out\n  \
        fleetsim sweep ... --shard 0/3 --out part0.jsonl    # on three machines, then:\n  \
        fleetsim merge part0.jsonl part1.jsonl part2.jsonl -o lb.jsonl\n\n\
        Param specs: a list `a,b,c`; a range `start:stop:step` (stop included; units kept: `10s:60s:10s`);\n\
        a range `start:stop` (random and lhs designs); a log range `log:start:stop:count`.\n\
        Paths are those --set takes (docs/scenario.md). Seeds run from --seed (default: the\n\
        scenario's run.seed) for --seeds seeds, the same for every point (common random numbers).\n\
        Output: FILE (JSON lines: header, one line per run, one aggregate per point),\n\
        FILE stem + .runs.csv and .points.csv. Results are identical for any --jobs.\n\
        Ctrl-C stops cleanly (runs in flight finish); see docs/sweep.md.")]
    Sweep(SweepArgs),
    /// Combine the results files of every shard of a sweep (`--shard i/n`)
    /// into the file one machine would have written.
    #[command(after_help = "Example:\n  \
        fleetsim merge part0.jsonl part1.jsonl part2.jsonl -o sweep.jsonl")]
    Merge(MergeArgs),
    /// Render a sweep's results file as one self-contained HTML page with
    /// charts: each metric against each parameter with 95% bands, heatmaps
    /// for two parameters, the cost/p99 Pareto front.
    #[command(after_help = "Example:\n  \
        fleetsim report sweep.jsonl -o report.html --objective 'min cost where p99 < 200ms'")]
    Report(ReportArgs),
    /// Find single points of failure: statically in the topology (every
    /// component whose failure alone cuts a population off, and minimal
    /// cuts), then dynamically by running the scenario with each component
    /// failed in turn (N−1), ranked by impact.
    #[command(after_help = "Examples:\n  \
        fleetsim spof scenarios/single-region.toml\n  \
        fleetsim spof scenarios/three-region-active-active.toml --seeds 5 --at 3min --duration 5min\n  \
        fleetsim spof scenarios/three-region-active-active.toml --static\n  \
        fleetsim spof scenarios/single-region.toml --format json --out spof.json\n\n\
        Static: the graph population → region → balancer → zone → instance → group (GeoDNS in\n\
        front), ignoring capacity and time. Dynamic: every region, balancer, zone, group and one\n\
        instance per (group, zone) fails at --at for --duration (defaults: 30% of the run each),\n\
        on --seeds seeds shared with a run without faults. See docs/spof.md.")]
    Spof(SpofArgs),
}

/// Flags of `fleetsim run`.
#[derive(Debug, clap::Args)]
pub(crate) struct RunArgs {
    /// Scenario file (TOML, or JSON if it ends in .json).
    pub(crate) scenario: PathBuf,
    /// Master seed (default: the scenario's `run.seed`, else 1).
    #[arg(long)]
    pub(crate) seed: Option<u64>,
    /// Also write the full JSON report to this file.
    #[arg(long, short, visible_alias = "out")]
    pub(crate) output: Option<PathBuf>,
    /// Simulated run length, e.g. `1h` or `90s` (fleet scenarios; same as
    /// `--set run.duration=...`).
    #[arg(long)]
    pub(crate) duration: Option<String>,
    /// Override any scenario field, by its path in the file:
    /// `--set regions[0].balancer.algorithm=random` (fleet scenarios;
    /// repeatable, applied in order, after `--policy`).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub(crate) set: Vec<String>,
    /// A policy file (as for `compare`) whose `[autoscaling]` table replaces
    /// the autoscaled groups' own (fleet scenarios).
    #[arg(long, value_name = "FILE")]
    pub(crate) policy: Option<PathBuf>,
    /// What to print on stdout.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub(crate) format: OutputFormat,
    /// Don't print the wall-clock timing line on stderr.
    #[arg(long, short)]
    pub(crate) quiet: bool,
}

/// Flags of `fleetsim check`.
#[derive(Debug, clap::Args)]
pub(crate) struct CheckArgs {
    /// Scenario file.
    pub(crate) scenario: PathBuf,
    /// Master seed (default: the scenario's `run.seed`, else 1).
    #[arg(long)]
    pub(crate) seed: Option<u64>,
    /// Override scenario fields, as for `run` (fleet scenarios).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub(crate) set: Vec<String>,
    /// A policy file, as for `run`.
    #[arg(long, value_name = "FILE")]
    pub(crate) policy: Option<PathBuf>,
}

/// Flags of `fleetsim validate`.
#[derive(Debug, clap::Args)]
pub(crate) struct ValidateArgs {
    /// Master seed from which every replication's seed derives.
    #[arg(long, default_value_t = 1)]
    pub(crate) seed: u64,
    /// Run only the fast subset used by the default test run.
    #[arg(long)]
    pub(crate) quick: bool,
    /// Also run the station cases as one-region fleets (client → DNS →
    /// balancer → instance).
    #[arg(long)]
    pub(crate) fleet: bool,
    /// Also compare random, power-of-two-choices and least-outstanding
    /// routing with Mitzenmacher's supermarket model (N = 10, 100, 1000).
    #[arg(long)]
    pub(crate) balancing: bool,
    /// Also check the data tier: writes lost at a failover under async,
    /// semi-sync and sync replication, and the primary's load with reads on
    /// replicas.
    #[arg(long)]
    pub(crate) data: bool,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long, short)]
    pub(crate) jobs: Option<usize>,
}

/// Flags of `fleetsim compare`.
#[derive(Debug, clap::Args)]
pub(crate) struct CompareArgs {
    /// Fleet scenario file (TOML, or JSON if it ends in .json).
    pub(crate) scenario: PathBuf,
    /// Policy file: TOML with `name`, `description` and an `[autoscaling]`
    /// table like a group's, put into the scenario's autoscaled groups.
    /// Repeat for each policy; the first is the baseline the others are
    /// compared with.
    #[arg(long = "policy", value_name = "FILE", required = true)]
    pub(crate) policies: Vec<PathBuf>,
    /// How many seeds to run each policy on (at least 2 for confidence
    /// intervals).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub(crate) seeds: u64,
    /// First seed (default: the scenario's `run.seed`, else 1).
    #[arg(long)]
    pub(crate) seed: Option<u64>,
    /// Simulated run length, e.g. `1h` (same as `--set run.duration=...`).
    #[arg(long)]
    pub(crate) duration: Option<String>,
    /// Override a scenario field, as for `run`; applied after the policy
    /// (repeatable, applied in order).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub(crate) set: Vec<String>,
    /// Write `compare.json` and `timeseries.csv` into this directory
    /// (created if missing).
    #[arg(long, value_name = "DIR")]
    pub(crate) out: Option<PathBuf>,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long, short)]
    pub(crate) jobs: Option<usize>,
    /// Don't print progress and timing on stderr.
    #[arg(long, short)]
    pub(crate) quiet: bool,
}

/// Flags of `fleetsim sweep`.
#[derive(Debug, clap::Args)]
pub(crate) struct SweepArgs {
    /// Fleet scenario file (TOML, or JSON if it ends in .json).
    pub(crate) scenario: PathBuf,
    /// A swept parameter, `path=spec` (repeatable): `path` as for --set,
    /// `spec` a list `a,b,c`, a range `start:stop[:step]` or a log range
    /// `log:start:stop:count`.
    #[arg(long = "param", value_name = "PATH=SPEC", required = true)]
    pub(crate) params: Vec<String>,
    /// Seeds per point (at least 2 for confidence intervals).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub(crate) seeds: u64,
    /// First seed (default: the scenario's `run.seed`, else 1); also seeds
    /// the random and lhs designs.
    #[arg(long)]
    pub(crate) seed: Option<u64>,
    /// How points are chosen.
    #[arg(long, value_enum, default_value_t = DesignArg::Grid)]
    pub(crate) design: DesignArg,
    /// Number of points of a random or lhs design.
    #[arg(long, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1_000_000))]
    pub(crate) points: Option<usize>,
    /// Results file to create (default: sweep.jsonl); refuses to overwrite.
    #[arg(long, short, value_name = "FILE")]
    pub(crate) out: Option<PathBuf>,
    /// Continue the sweep in this results file (run with the same flags):
    /// runs already there are skipped.
    #[arg(long, value_name = "FILE")]
    pub(crate) resume: Option<PathBuf>,
    /// Run only shard `index/count` of the points (point index modulo
    /// count); combine the shards' files with `fleetsim merge`.
    #[arg(long, value_name = "INDEX/COUNT")]
    pub(crate) shard: Option<String>,
    /// Print the best points for an objective, e.g.
    /// "min cost where p99 < 200ms and availability >= 99.9%".
    #[arg(long)]
    pub(crate) objective: Option<String>,
    /// Simulated run length of every run (same as --set run.duration=...).
    #[arg(long)]
    pub(crate) duration: Option<String>,
    /// Override a scenario field for every point, as for `run` (applied
    /// before the point's own values).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub(crate) set: Vec<String>,
    /// A policy file applied to every point, as for `run`.
    #[arg(long, value_name = "FILE")]
    pub(crate) policy: Option<PathBuf>,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long, short)]
    pub(crate) jobs: Option<usize>,
    /// Don't print progress and timing on stderr.
    #[arg(long, short)]
    pub(crate) quiet: bool,
}

/// Designs of `fleetsim sweep`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum DesignArg {
    /// Every combination of every parameter's values.
    Grid,
    /// --points points, each value drawn independently.
    Random,
    /// --points points in a Latin hypercube (each parameter's range cut
    /// into --points strata, one point in each).
    Lhs,
}

impl DesignArg {
    /// The name as typed.
    pub(crate) fn name(self) -> &'static str {
        match self {
            DesignArg::Grid => "grid",
            DesignArg::Random => "random",
            DesignArg::Lhs => "lhs",
        }
    }
}

/// Flags of `fleetsim merge`.
#[derive(Debug, clap::Args)]
pub(crate) struct MergeArgs {
    /// The shards' results files (every shard of one sweep, any order).
    #[arg(required = true)]
    pub(crate) files: Vec<PathBuf>,
    /// The merged results file to write (CSVs are written beside it).
    #[arg(long, short, value_name = "FILE")]
    pub(crate) output: PathBuf,
    /// Print the best points for an objective, as for `sweep`.
    #[arg(long)]
    pub(crate) objective: Option<String>,
    /// Don't print the merge line on stderr.
    #[arg(long, short)]
    pub(crate) quiet: bool,
}

/// Flags of `fleetsim report`.
#[derive(Debug, clap::Args)]
pub(crate) struct ReportArgs {
    /// A sweep's results file (finished or not).
    pub(crate) results: PathBuf,
    /// The HTML file to write.
    #[arg(long, short, value_name = "FILE")]
    pub(crate) output: PathBuf,
    /// Mark the best points for an objective, as for `sweep`.
    #[arg(long)]
    pub(crate) objective: Option<String>,
}

/// Flags of `fleetsim spof`.
#[derive(Debug, clap::Args)]
pub(crate) struct SpofArgs {
    /// Fleet scenario file.
    pub(crate) scenario: PathBuf,
    /// Only the static (topology) analysis; no runs.
    #[arg(long = "static")]
    pub(crate) static_only: bool,
    /// Seeds per component (and for the no-fault baseline).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=1_000))]
    pub(crate) seeds: u64,
    /// First seed (default: the scenario's `run.seed`).
    #[arg(long)]
    pub(crate) seed: Option<u64>,
    /// When each component fails, e.g. `3min` (default: 30% into the run).
    #[arg(long)]
    pub(crate) at: Option<String>,
    /// How long it stays down (default: 30% of the run).
    #[arg(long)]
    pub(crate) duration: Option<String>,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long, short)]
    pub(crate) jobs: Option<usize>,
    /// Don't show progress on stderr.
    #[arg(long, short)]
    pub(crate) quiet: bool,
    /// Override scenario fields, as for `run`.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub(crate) set: Vec<String>,
    /// A policy file, as for `run`.
    #[arg(long, value_name = "FILE")]
    pub(crate) policy: Option<PathBuf>,
    /// What to print on stdout.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub(crate) format: OutputFormat,
    /// Also write the analysis as JSON to this file.
    #[arg(long, short, visible_alias = "out")]
    pub(crate) output: Option<PathBuf>,
}

/// Output format of `fleetsim run`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum OutputFormat {
    /// A readable summary table.
    Text,
    /// The full JSON report.
    Json,
}
