//! `fleetsim spof`: single points of failure, statically in the topology
//! and dynamically by running the scenario with each component failed
//! (N−1), as tables or JSON.

use std::fmt::Write as _;
use std::fs;
use std::process::ExitCode;

use std::io::IsTerminal;
use std::time::Duration;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use sim_models::fleet::spof::StaticSpofReport;
use sim_models::fleet::spof_runs::{DynamicOptions, DynamicSpofReport};
use sim_models::sweep::results::Estimate;

use crate::args::{OutputFormat, SpofArgs};
use crate::summary::aligned_table;

pub(crate) fn spof(args: SpofArgs) -> anyhow::Result<ExitCode> {
    let scenario = match crate::load_any(&args.scenario, args.policy.as_deref(), &args.set)? {
        crate::Loaded::Fleet(f) => f,
        crate::Loaded::Stations(_) => anyhow::bail!(
            "`fleetsim spof` needs a fleet scenario; `{}` is a station scenario",
            args.scenario.display()
        ),
    };
    let report = sim_models::static_spof(&scenario);
    let dynamic = if args.static_only {
        None
    } else {
        Some(run_dynamic(&args, &scenario, &report)?)
    };
    let both = SpofJson {
        static_analysis: &report,
        dynamic: dynamic.as_ref(),
    };
    let json = serde_json::to_string_pretty(&both)? + "\n";
    if let Some(out) = &args.output {
        fs::write(out, &json).with_context(|| format!("cannot write `{}`", out.display()))?;
    }
    match args.format {
        OutputFormat::Json => print!("{json}"),
        OutputFormat::Text => {
            print!(
                "{}",
                render(
                    &report,
                    &scenario.config.name,
                    &args.scenario.display().to_string()
                )
            );
            if let Some(d) = &dynamic {
                print!("{}", render_dynamic(d));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `a, b, c` or `a, b, … (n)` past `max` names.
fn list(names: &[String], max: usize) -> String {
    if names.len() <= max {
        names.join(", ")
    } else {
        format!("{}, … ({} in all)", names[..max].join(", "), names.len())
    }
}

fn render(r: &StaticSpofReport, name: &str, file: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "scenario    {name} ({file})");
    let counts: Vec<String> = (r.components.iter())
        .map(|(kind, n)| format!("{kind}: {n}"))
        .collect();
    let _ = writeln!(
        out,
        "components  {} ({} tried one at a time)",
        counts.join(", "),
        r.components_tried
    );
    let _ = writeln!(
        out,
        "\nSingle points of failure: each alone cuts these populations off from all serving capacity."
    );
    let mut rows = vec![vec![
        "component".to_string(),
        "kind".into(),
        "populations cut off".into(),
    ]];
    for s in &r.spofs {
        rows.push(vec![
            s.component.clone(),
            s.kind.name().to_string(),
            list(&s.populations, 4),
        ]);
    }
    out.push_str(&aligned_table(&rows, &|_| true));
    let _ = writeln!(
        out,
        "\nMinimal cuts: the fewest components whose joint failure cuts a population off (below DNS: regions, balancers, zones, groups, instances)."
    );
    let mut rows = vec![vec![
        "population".to_string(),
        "regions (GeoDNS order)".into(),
        "min cut".into(),
        "below DNS".into(),
        "one such cut below DNS".into(),
    ]];
    for p in &r.populations {
        rows.push(vec![
            p.population.clone(),
            p.regions.join(" → "),
            p.min_cut.to_string(),
            p.min_cut_below_dns.to_string(),
            list(&p.min_cut_below_dns_components, 6),
        ]);
    }
    out.push_str(&aligned_table(&rows, &|j| j != 2 && j != 3));
    let _ = writeln!(out);
    for n in &r.notes {
        let _ = writeln!(out, "note: {n}");
    }
    out
}

/// `fleetsim spof --format json`: both analyses.
#[derive(Serialize)]
struct SpofJson<'a> {
    /// The topology analysis.
    #[serde(rename = "static")]
    static_analysis: &'a StaticSpofReport,
    /// The N−1 runs (absent with `--static`).
    #[serde(skip_serializing_if = "Option::is_none")]
    dynamic: Option<&'a DynamicSpofReport>,
}

/// A time flag (`3min`), in seconds.
fn time_flag(flag: &str, text: &str) -> anyhow::Result<f64> {
    let secs = sim_models::spec::parse_seconds(text)
        .map_err(|e| anyhow::anyhow!("--{flag} {text}: {e}"))?;
    if !(secs.is_finite() && secs >= 0.0) {
        anyhow::bail!("--{flag} {text}: must be a non-negative time");
    }
    Ok(secs)
}

fn run_dynamic(
    args: &SpofArgs,
    scenario: &sim_models::FleetScenario,
    report: &StaticSpofReport,
) -> anyhow::Result<DynamicSpofReport> {
    // Whole seconds, so the defaults print as typed.
    let default = (scenario.config.run.duration.as_secs_f64() * 0.3).round();
    let at = (args.at.as_deref())
        .map(|t| time_flag("at", t))
        .transpose()?
        .unwrap_or(default);
    let duration = (args.duration.as_deref())
        .map(|t| time_flag("duration", t))
        .transpose()?
        .unwrap_or(default);
    let first = args.seed.unwrap_or_else(|| scenario.default_seed());
    let options = DynamicOptions {
        seeds: (0..args.seeds).map(|k| first.wrapping_add(k)).collect(),
        at_s: at,
        duration_s: duration,
        jobs: args.jobs.unwrap_or(0),
    };
    let total = sim_models::fleet::spof_runs::run_count(&scenario.config, options.seeds.len());
    let bar = if !args.quiet && std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(total as u64);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} N−1 runs [{elapsed_precise}] {wide_bar} {pos}/{len}  ETA {eta}",
            )
            .expect("the template is valid"),
        );
        bar.enable_steady_tick(Duration::from_millis(250));
        bar
    } else {
        ProgressBar::hidden()
    };
    if !args.quiet {
        eprintln!(
            "spof: {total} runs ({} components and a no-fault baseline, × {} seeds)",
            total / options.seeds.len() - 1,
            options.seeds.len()
        );
    }
    let result = sim_models::dynamic_spof(scenario, report, &options, &|| bar.inc(1));
    bar.finish_and_clear();
    result.map_err(anyhow::Error::msg)
}

/// `mean ±ci` with a formatter, or `-`.
fn est(e: Option<Estimate>, show: fn(f64) -> String) -> String {
    match e {
        None => "-".into(),
        Some(e) => match e.ci95 {
            Some(h) => format!("{} ±{}", show(e.mean), show(h)),
            None => show(e.mean),
        },
    }
}

fn render_dynamic(d: &DynamicSpofReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nN−1 runs: each component failed at {}s for {}s on seeds {:?}, paired with the no-fault run on the same seed.",
        d.at_s, d.duration_s, d.seeds
    );
    let _ = writeln!(
        out,
        "baseline: {} failed requests, availability {} over the same window\n",
        est(d.baseline_failed_requests, |x| format!("{x:.0}")),
        est(d.baseline_availability, |x| format!("{:.3}%", x * 100.0))
    );
    let mut rows = vec![vec![
        "component".to_string(),
        "kind".into(),
        "static".into(),
        "extra failed".into(),
        "avail. while down".into(),
        "extra SLO-viol. min".into(),
        "recovery".into(),
        "verdict".into(),
    ]];
    for c in &d.components {
        let recovery = if c.not_recovered > 0 {
            format!("not by end ({} seeds)", c.not_recovered)
        } else {
            est(c.rto_s, |x| format!("{x:.0}s"))
        };
        rows.push(vec![
            c.component.clone(),
            c.kind.name().to_string(),
            if c.static_spof {
                "SPOF".into()
            } else {
                String::new()
            },
            est(c.extra_failed_requests, |x| format!("{x:.0}")),
            est(c.availability_during_fault, |x| {
                format!("{:.2}%", x * 100.0)
            }),
            est(c.extra_slo_violation_minutes, |x| format!("{x:.1}")),
            recovery,
            c.verdict.clone(),
        ]);
    }
    out.push_str(&aligned_table(&rows, &|j| j < 3 || j == 7));
    for n in &d.notes {
        let _ = writeln!(out, "note: {n}");
    }
    out
}
