//! `fleetsim spof`: the static single-point-of-failure analysis of a fleet
//! scenario's topology, as a table or JSON.

use std::fmt::Write as _;
use std::fs;
use std::process::ExitCode;

use anyhow::Context;
use sim_models::fleet::spof::StaticSpofReport;

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
    let json = serde_json::to_string_pretty(&report)? + "\n";
    if let Some(out) = &args.output {
        fs::write(out, &json).with_context(|| format!("cannot write `{}`", out.display()))?;
    }
    match args.format {
        OutputFormat::Json => print!("{json}"),
        OutputFormat::Text => print!(
            "{}",
            render(
                &report,
                &scenario.config.name,
                &args.scenario.display().to_string()
            )
        ),
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
            format!("{:?}", s.kind).to_lowercase(),
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
    let _ = writeln!(
        out,
        "note: this is the static (topology) analysis; running the scenario with each component failed (N−1) needs fault injection, which is not in fleetsim yet"
    );
    out
}
