//! `fleetsim report`: one self-contained HTML page summarizing a sweep's
//! results file — the facts of the sweep, the best points for an objective,
//! the cost/p99 Pareto front, each metric against each swept parameter with
//! its 95% confidence band, heatmaps of two parameters and a table of every
//! point.
//!
//! The page loads nothing: the style is inline and the charts are inline SVG
//! drawn with `plotters` (SVG backend, no font files: the browser renders the
//! text). Every text taken from the results file is HTML-escaped, and the
//! same results always give the same bytes (no timestamps, no hash-map
//! iteration).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use sim_models::sweep::metrics::{self, MetricDef, MetricUnit};
use sim_models::sweep::objective::{Objective, pareto_front};
use sim_models::sweep::results::{self, Estimate, PointRecord, SweepResults};

/// Metrics charted against each parameter, in display order.
const CHART_METRICS: &[&str] = &[
    "p99_s",
    "p50_s",
    "cost",
    "availability",
    "slo_attainment",
    "mean_instances",
    "failed_requests",
    "throughput_per_s",
];

/// Metrics shown as heatmaps of the first two parameters.
const HEATMAP_METRICS: &[&str] = &["p99_s", "cost", "availability"];

/// Metrics in the table of points.
const TABLE_METRICS: &[&str] = &["p99_s", "cost", "availability", "mean_instances"];

/// Size of one chart, in SVG pixels.
const CHART_SIZE: (u32, u32) = (520, 320);

/// Most rows in the table of points.
const MAX_TABLE_ROWS: usize = 500;

/// Most lines in one chart; past it, every point is drawn as a dot.
const MAX_LINES: usize = 8;

/// Most distinct values per heatmap axis.
const MAX_HEATMAP_VALUES: usize = 30;

/// Most dots in one scatter chart (past it, every k-th point).
const MAX_DOTS: usize = 2000;

/// Most dots drawn with their interval whisker in a scatter chart.
const MAX_WHISKERS: usize = 300;

/// Most points labelled with their index on the Pareto chart.
const MAX_FRONT_LABELS: usize = 15;

/// Line colours (Tableau 10).
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

const TEXT: RGBColor = RGBColor(50, 54, 60);
const AXIS: RGBColor = RGBColor(130, 136, 144);
const GRID: RGBColor = RGBColor(228, 231, 235);
const GREY_POINT: RGBColor = RGBColor(170, 174, 180);
const FRONT: RGBColor = RGBColor(214, 39, 40);
const NO_DATA: RGBColor = RGBColor(238, 239, 241);
const HATCH: RGBColor = RGBColor(190, 193, 198);

/// Good-to-bad colour ramp of the heatmaps (ColorBrewer RdYlGn, reversed).
const RAMP: [RGBColor; 5] = [
    RGBColor(26, 152, 80),
    RGBColor(145, 207, 96),
    RGBColor(254, 224, 139),
    RGBColor(252, 141, 89),
    RGBColor(215, 48, 39),
];

const STYLE: &str = r#"
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; background: #f5f6f8; color: #1f2328;
  font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1240px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 24px; margin: 0 0 2px; }
h1 .sub { color: #57606a; font-weight: 400; }
h2 { font-size: 18px; margin: 36px 0 10px; padding-bottom: 4px; border-bottom: 1px solid #d0d7de; }
h3 { font-size: 15px; margin: 22px 0 6px; }
nav { font-size: 13px; margin: 6px 0 18px; }
nav a { color: #0969da; text-decoration: none; margin-right: 14px; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace;
  font-size: 12.5px; background: #eaeef2; padding: 1px 5px; border-radius: 4px; }
.facts { display: grid; grid-template-columns: max-content 1fr; gap: 3px 18px; margin: 0;
  background: #fff; border: 1px solid #d0d7de; border-radius: 6px; padding: 12px 16px; }
.facts dt { color: #57606a; }
.facts dd { margin: 0; }
.facts ul { margin: 0; padding-left: 18px; }
.banner { background: #fff8c5; border: 1px solid #d4a72c; border-radius: 6px; padding: 10px 14px; margin: 12px 0; }
.note { color: #57606a; font-size: 13px; margin: 4px 0 10px; }
.wide { overflow-x: auto; }
table { border-collapse: collapse; background: #fff; font-size: 13px; }
th, td { border: 1px solid #d0d7de; padding: 4px 9px; text-align: left; vertical-align: top; }
th { background: #f0f2f5; font-weight: 600; white-space: nowrap; }
th.param { white-space: normal; overflow-wrap: break-word; max-width: 16em; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.failed td { background: #fff1f0; }
.err { color: #b42318; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  font-size: 12px; white-space: pre-wrap; word-break: break-word; }
.ok { color: #1a7f37; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(460px, 1fr)); gap: 14px; }
.pareto { display: grid; grid-template-columns: minmax(420px, 560px) minmax(0, 1fr); gap: 14px; align-items: start; }
@media (max-width: 1000px) { .pareto { grid-template-columns: minmax(0, 1fr); } }
figure { margin: 0; background: #fff; border: 1px solid #d0d7de; border-radius: 6px; padding: 8px 10px 10px; }
figcaption { font-weight: 600; font-size: 13px; margin-bottom: 2px; }
figure svg { display: block; width: 100%; height: auto; }
svg text { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
.legend { display: flex; flex-wrap: wrap; gap: 2px 14px; font-size: 12px; color: #444c56; margin-top: 4px; }
.legend .sw { display: inline-block; width: 16px; height: 4px; border-radius: 2px; vertical-align: middle; margin-right: 5px; }
.legend .title { color: #57606a; }
.scale { display: inline-block; width: 120px; height: 10px; border-radius: 2px; vertical-align: middle; margin: 0 6px;
  background: linear-gradient(to right, #1a9850, #91cf60, #fee08b, #fc8d59, #d73027); }
.empty { color: #57606a; font-style: italic; padding: 40px 0; text-align: center; }
footer { margin-top: 40px; color: #8c959f; font-size: 12px; }
"#;

/// Renders the sweep as one self-contained HTML page.
pub(crate) fn render(
    results: &SweepResults,
    objective: Option<&Objective>,
) -> anyhow::Result<String> {
    let header = &results.header;
    let aggregated;
    let points: &[PointRecord] = if results.points.is_empty() {
        aggregated = results::aggregate(&results.runs);
        &aggregated
    } else {
        &results.points
    };
    let missing = if results.points.is_empty() {
        results::missing_runs(header, &results.runs)
    } else {
        0
    };
    let axes: Vec<ParamAxis> = header
        .params
        .iter()
        .map(|p| ParamAxis::new(&p.path, &p.spec, points))
        .collect();

    let mut out = String::with_capacity(256 * 1024);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(
        out,
        "<title>fleetsim sweep: {}</title>",
        esc(&header.scenario)
    );
    let _ = writeln!(out, "<style>{STYLE}</style>\n</head>\n<body>\n<main>");
    let _ = writeln!(
        out,
        "<h1>Sweep report <span class=\"sub\">— <code>{}</code></span></h1>",
        esc(&header.scenario)
    );
    out.push_str("<nav><a href=\"#sweep\">Sweep</a>");
    if objective.is_some() {
        out.push_str("<a href=\"#best\">Best points</a>");
    }
    if !points.is_empty() {
        out.push_str(
            "<a href=\"#pareto\">Pareto front</a><a href=\"#effects\">Metrics by parameter</a>",
        );
        if axes.len() >= 2 {
            out.push_str("<a href=\"#heatmaps\">Heatmaps</a>");
        }
        out.push_str("<a href=\"#points\">All points</a>");
    }
    out.push_str("</nav>\n");

    if results.points.is_empty() {
        if missing > 0 {
            let expected = missing + results.runs.len();
            let _ = writeln!(
                out,
                "<p class=\"banner\" id=\"incomplete\"><strong>The sweep is incomplete:</strong> \
                 {missing} of {expected} runs are missing. The figures below cover the {} runs done; \
                 finish it with <code>fleetsim sweep … --resume FILE</code>.</p>",
                results.runs.len()
            );
        } else if !results.runs.is_empty() {
            out.push_str(
                "<p class=\"banner\">Every run is in but the file has no point aggregates \
                 (the sweep stopped before rewriting it); they are computed here from the runs.</p>\n",
            );
        }
    }

    facts_section(&mut out, results, points, missing);
    if let Some(objective) = objective {
        objective_section(&mut out, objective, points, &axes);
    }
    if points.is_empty() {
        out.push_str("<p class=\"empty\">No runs yet: nothing to chart.</p>\n");
    } else {
        pareto_section(&mut out, points, &axes)?;
        effects_section(&mut out, points, &axes)?;
        if axes.len() >= 2 {
            heatmap_section(&mut out, points, &axes)?;
        }
        points_section(&mut out, points, &axes);
    }
    let _ = writeln!(
        out,
        "<footer>Written by <code>fleetsim report</code> from a results file of fleetsim {}.</footer>",
        esc(&header.fleetsim_version)
    );
    out.push_str("</main>\n</body>\n</html>\n");
    Ok(out)
}

// ---------------------------------------------------------------- sections

/// The facts block: what was swept and how.
fn facts_section(out: &mut String, results: &SweepResults, points: &[PointRecord], missing: usize) {
    let h = &results.header;
    out.push_str("<section id=\"sweep\">\n<h2>Sweep</h2>\n<dl class=\"facts\">\n");
    let mut fact = |name: &str, html: String| {
        let _ = writeln!(out, "<dt>{name}</dt><dd>{html}</dd>");
    };
    fact("scenario", format!("<code>{}</code>", esc(&h.scenario)));
    fact(
        "scenario hash",
        format!("<code>{}</code>", esc(&h.scenario_hash)),
    );
    let design = if h.design == "grid" {
        esc(&h.design)
    } else {
        format!("{} (design seed {})", esc(&h.design), h.design_seed)
    };
    fact("design", design);
    let mut pts = format!("{}", h.points);
    if let Some(s) = h.shard {
        let _ = write!(pts, " (this file holds shard {}/{})", s.index, s.count);
    }
    fact("points", pts);
    let seeds = match h.seeds {
        0 => "0".to_string(),
        1 => format!("1 (seed {})", h.first_seed),
        n => format!(
            "{n} per point (seeds {}..{})",
            h.first_seed,
            h.first_seed.saturating_add(n - 1)
        ),
    };
    fact("seeds", seeds);
    let params = if h.params.is_empty() {
        "none".to_string()
    } else {
        let mut s = String::from("<ul>");
        for p in &h.params {
            let _ = write!(
                s,
                "<li><code>{}</code> = <code>{}</code></li>",
                esc(&p.path),
                esc(&p.spec)
            );
        }
        s.push_str("</ul>");
        s
    };
    fact("parameters", params);
    let set = if h.set.is_empty() {
        "none".to_string()
    } else {
        h.set
            .iter()
            .map(|s| format!("<code>{}</code>", esc(s)))
            .collect::<Vec<_>>()
            .join(" ")
    };
    fact("<code>--set</code>", set);
    fact(
        "policy",
        h.policy.as_deref().map_or_else(
            || "none".to_string(),
            |p| format!("<code>{}</code>", esc(p)),
        ),
    );
    fact("fleetsim version", esc(&h.fleetsim_version));
    let failed = if results.runs.is_empty() {
        points.iter().map(|p| p.failed).sum::<usize>()
    } else {
        results.runs.iter().filter(|r| r.error.is_some()).count()
    };
    let runs = if results.runs.is_empty() {
        points.iter().map(|p| p.runs).sum::<usize>()
    } else {
        results.runs.len()
    };
    let mut done = format!("{runs}");
    if missing > 0 {
        let _ = write!(done, " ({missing} missing)");
    }
    fact("runs", done);
    let failed_points = points.iter().filter(|p| p.failed > 0).count();
    fact(
        "failed runs",
        if failed == 0 {
            "<span class=\"ok\">0</span>".to_string()
        } else {
            format!(
                "{failed} (in {failed_points} point{})",
                if failed_points == 1 { "" } else { "s" }
            )
        },
    );
    out.push_str("</dl>\n</section>\n");
}

/// The best points for the objective, or why there are none.
fn objective_section(
    out: &mut String,
    objective: &Objective,
    points: &[PointRecord],
    axes: &[ParamAxis],
) {
    let text = objective.to_string();
    out.push_str("<section id=\"best\">\n<h2>Best points</h2>\n");
    let _ = writeln!(
        out,
        "<p class=\"note\">Objective: <code>{}</code>, judged on the means over seeds; points with a failed run never qualify.</p>",
        esc(&text)
    );
    let best = objective.best(points, 5);
    if best.is_empty() {
        let clean = points.iter().filter(|p| p.failed == 0).count();
        let _ = writeln!(
            out,
            "<p class=\"banner\" id=\"no-best\">No point meets <code>{}</code> ({} of {} points had no failed run and were checked).</p>",
            esc(&text),
            clean,
            points.len()
        );
        out.push_str("</section>\n");
        return;
    }
    let qualifying = points.iter().filter(|p| objective.admits(p)).count();
    let _ = writeln!(
        out,
        "<p class=\"note\">{qualifying} of {} points qualify; the best {} are shown.</p>",
        points.len(),
        best.len()
    );
    let mut keys: Vec<&'static str> = vec![objective.metric];
    for c in &objective.constraints {
        if !keys.contains(&c.metric) {
            keys.push(c.metric);
        }
    }
    let defs: Vec<&MetricDef> = keys.iter().filter_map(|k| metrics::metric(k)).collect();
    out.push_str("<div class=\"wide\"><table id=\"best-table\">\n<tr><th class=\"num\">rank</th><th class=\"num\">point</th>");
    for a in axes {
        let _ = write!(out, "<th class=\"param\">{}</th>", breakable(&a.path));
    }
    for m in &defs {
        let _ = write!(out, "<th class=\"num\">{}</th>", esc(&metric_title(m)));
    }
    out.push_str("</tr>\n");
    for (rank, p) in best.iter().enumerate() {
        let _ = write!(
            out,
            "<tr><td class=\"num\">{}</td><td class=\"num\">{}</td>",
            rank + 1,
            p.point
        );
        param_cells(out, p, axes);
        for m in &defs {
            let _ = write!(out, "<td class=\"num\">{}</td>", estimate_text(p, m));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table></div>\n</section>\n");
}

/// Cost against p99: every point, the front highlighted, and its table.
fn pareto_section(
    out: &mut String,
    points: &[PointRecord],
    axes: &[ParamAxis],
) -> anyhow::Result<()> {
    out.push_str("<section id=\"pareto\">\n<h2>Cost vs p99 latency: the Pareto front</h2>\n");
    out.push_str(
        "<p class=\"note\">Each dot is one point (means over seeds). Red: the Pareto front — \
         no other point is at least as cheap and as fast and better on one; the step line \
         bounds what is reachable. Points with a failed run are left off the front.</p>\n",
    );
    let front = pareto_front(points);
    let all: Vec<(f64, f64)> = points
        .iter()
        .filter_map(|p| Some((p.mean("cost")?, p.mean("p99_s")? * 1000.0)))
        .collect();
    if all.is_empty() {
        out.push_str(
            "<p class=\"empty\">No point has both a cost and a p99 latency.</p>\n</section>\n",
        );
        return Ok(());
    }
    let front_xy: Vec<(usize, f64, f64)> = front
        .iter()
        .filter_map(|p| Some((p.point, p.mean("cost")?, p.mean("p99_s")? * 1000.0)))
        .collect();
    let svg = pareto_svg(&all, &front_xy)?;
    out.push_str("<div class=\"pareto\">\n<figure id=\"pareto-chart\"><figcaption>mean cost vs mean p99 latency</figcaption>\n");
    out.push_str(&svg);
    out.push_str(
        "\n<div class=\"legend\"><span><span class=\"sw\" style=\"background:#aaaeb4\"></span>point</span>\
         <span><span class=\"sw\" style=\"background:#d62728\"></span>Pareto front</span></div>\n</figure>\n",
    );
    out.push_str(
        "<div class=\"wide\"><table id=\"front-table\">\n<tr><th class=\"num\">point</th>",
    );
    for a in axes {
        let _ = write!(out, "<th class=\"param\">{}</th>", breakable(&a.path));
    }
    out.push_str("<th class=\"num\">cost</th><th class=\"num\">p99 (ms)</th></tr>\n");
    let cost = metrics::metric("cost");
    let p99 = metrics::metric("p99_s");
    for p in &front {
        let _ = write!(out, "<tr><td class=\"num\">{}</td>", p.point);
        param_cells(out, p, axes);
        for m in [cost, p99].into_iter().flatten() {
            let _ = write!(out, "<td class=\"num\">{}</td>", estimate_text(p, m));
        }
        out.push_str("</tr>\n");
    }
    if front.is_empty() {
        let cols = axes.len() + 3;
        let _ = writeln!(
            out,
            "<tr><td colspan=\"{cols}\">no point without a failed run has both metrics</td></tr>"
        );
    }
    out.push_str("</table></div>\n</div>\n</section>\n");
    Ok(())
}

/// Each metric against each parameter, with its confidence band.
fn effects_section(
    out: &mut String,
    points: &[PointRecord],
    axes: &[ParamAxis],
) -> anyhow::Result<()> {
    out.push_str("<section id=\"effects\">\n<h2>Metrics by parameter</h2>\n");
    if axes.is_empty() {
        out.push_str("<p class=\"note\">The sweep has no parameters.</p>\n</section>\n");
        return Ok(());
    }
    let all_failed = points
        .iter()
        .filter(|p| p.runs > 0 && p.failed == p.runs)
        .count();
    for (pi, axis) in axes.iter().enumerate() {
        let others: Vec<&ParamAxis> = axes
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != pi)
            .map(|(_, a)| a)
            .collect();
        let _ = writeln!(
            out,
            "<h3 id=\"param-{pi}\">by <code>{}</code></h3>",
            esc(&axis.path)
        );
        let scatter = others.first().is_some_and(|g| g.values.len() > MAX_LINES);
        let mut note = String::from(
            "Means over seeds; band: 95% confidence interval (none where a point has one seed).",
        );
        if let Some(g) = others.first() {
            if scatter {
                let _ = write!(
                    note,
                    " <code>{}</code> has {} values, too many for a line each: every point is a dot",
                    esc(&g.path),
                    g.values.len()
                );
                let stride = points.len().div_ceil(MAX_DOTS).max(1);
                if stride > 1 {
                    let _ = write!(note, " (every {stride}th of the {} points)", points.len());
                }
                if points.len().div_ceil(stride) <= MAX_WHISKERS {
                    note.push_str(" with its 95% interval.");
                } else {
                    note.push('.');
                }
            } else {
                let _ = write!(
                    note,
                    " One line per value of <code>{}</code>.",
                    esc(&g.path)
                );
                if others.len() > 1 {
                    let rest: Vec<String> = others[1..]
                        .iter()
                        .map(|a| format!("<code>{}</code>", esc(&a.path)))
                        .collect();
                    let _ = write!(
                        note,
                        " Points at different values of {} are averaged (mean of the means; band ±√(Σh²)/k from their half-widths h).",
                        rest.join(", ")
                    );
                }
            }
        }
        if axis.log {
            note.push_str(" Logarithmic x axis.");
        }
        if all_failed > 0 {
            let _ = write!(
                note,
                " Left out: {all_failed} point{} whose every run failed (see the table of points).",
                if all_failed == 1 { "" } else { "s" }
            );
        }
        let _ = writeln!(out, "<p class=\"note\">{note}</p>\n<div class=\"charts\">");
        for key in CHART_METRICS {
            let Some(m) = metrics::metric(key) else {
                continue;
            };
            let _ = writeln!(
                out,
                "<figure id=\"chart-{pi}-{key}\"><figcaption>{} vs <code>{}</code></figcaption>",
                esc(m.label),
                esc(&axis.path)
            );
            let data = chart_data(points, axes, pi, m, scatter);
            if data.iter().all(|s| s.pts.is_empty()) {
                out.push_str("<p class=\"empty\">no values</p>\n");
            } else {
                out.push_str(&line_chart_svg(axis, &metric_title(m), &data, scatter)?);
                if data.len() > 1 {
                    legend(out, others[0], &data);
                }
            }
            out.push_str("</figure>\n");
        }
        out.push_str("</div>\n");
    }
    out.push_str("</section>\n");
    Ok(())
}

/// One legend entry per line.
fn legend(out: &mut String, group: &ParamAxis, data: &[Series]) {
    let _ = write!(
        out,
        "<div class=\"legend\"><span class=\"title\">{}:</span>",
        esc(&group.path)
    );
    for s in data {
        let RGBColor(r, g, b) = s.color;
        let _ = write!(
            out,
            "<span><span class=\"sw\" style=\"background:#{r:02x}{g:02x}{b:02x}\"></span>{}</span>",
            esc(&s.name)
        );
    }
    out.push_str("</div>\n");
}

/// Heatmaps of the first two parameters.
fn heatmap_section(
    out: &mut String,
    points: &[PointRecord],
    axes: &[ParamAxis],
) -> anyhow::Result<()> {
    let (xa, ya) = (&axes[0], &axes[1]);
    out.push_str("<section id=\"heatmaps\">\n<h2>Heatmaps</h2>\n");
    let mut note = format!(
        "<code>{}</code> across, <code>{}</code> up; each cell is the mean over seeds",
        esc(&xa.path),
        esc(&ya.path)
    );
    if axes.len() > 2 {
        note.push_str(", averaged over the other parameters (mean of the means)");
    }
    note.push_str(
        ". Colour: <span class=\"scale\"></span> green is better, red worse, \
                   scaled from the best cell to the worst; grey hatched cells have no data.",
    );
    let _ = writeln!(out, "<p class=\"note\">{note}</p>");
    if xa.values.len() > MAX_HEATMAP_VALUES || ya.values.len() > MAX_HEATMAP_VALUES {
        let _ = writeln!(
            out,
            "<p class=\"note\">Left out: the parameters take {} × {} distinct values (a random design?), too many cells to read; see the table of points.</p>\n</section>",
            xa.values.len(),
            ya.values.len()
        );
        return Ok(());
    }
    out.push_str("<div class=\"charts\">\n");
    for key in HEATMAP_METRICS {
        let Some(m) = metrics::metric(key) else {
            continue;
        };
        let mut sums: BTreeMap<(usize, usize), Vec<f64>> = BTreeMap::new();
        for p in points {
            let (Some(xi), Some(yi), Some(v)) = (xa.index_of(p), ya.index_of(p), p.mean(key))
            else {
                continue;
            };
            sums.entry((xi, yi))
                .or_default()
                .push(v * unit_scale(m.unit));
        }
        let cells: BTreeMap<(usize, usize), f64> = sums
            .into_iter()
            .map(|(k, vs)| (k, vs.iter().sum::<f64>() / vs.len() as f64))
            .collect();
        let _ = writeln!(
            out,
            "<figure id=\"heatmap-{key}\"><figcaption>{}</figcaption>",
            esc(&metric_title(m))
        );
        out.push_str(&heatmap_svg(xa, ya, &cells, m)?);
        out.push_str("</figure>\n");
    }
    out.push_str("</div>\n</section>\n");
    Ok(())
}

/// The table of every point (the first `MAX_TABLE_ROWS`).
fn points_section(out: &mut String, points: &[PointRecord], axes: &[ParamAxis]) {
    out.push_str("<section id=\"points\">\n<h2>All points</h2>\n");
    let mut note =
        String::from("Means over seeds ± the half-width of the 95% confidence interval.");
    if points.len() > MAX_TABLE_ROWS {
        let _ = write!(
            note,
            " Showing the first {MAX_TABLE_ROWS} of {} points; the results file has them all.",
            points.len()
        );
    }
    let _ = writeln!(out, "<p class=\"note\">{note}</p>");
    let defs: Vec<&MetricDef> = TABLE_METRICS
        .iter()
        .filter_map(|k| metrics::metric(k))
        .collect();
    out.push_str(
        "<div class=\"wide\"><table id=\"points-table\">\n<tr><th class=\"num\">point</th>",
    );
    for a in axes {
        let _ = write!(out, "<th class=\"param\">{}</th>", breakable(&a.path));
    }
    out.push_str("<th class=\"num\">runs</th><th class=\"num\">failed</th>");
    for m in &defs {
        let _ = write!(out, "<th class=\"num\">{}</th>", esc(&metric_title(m)));
    }
    out.push_str("<th>error</th></tr>\n");
    for p in points.iter().take(MAX_TABLE_ROWS) {
        let class = if p.failed > 0 {
            " class=\"failed\""
        } else {
            ""
        };
        let _ = write!(out, "<tr{class}><td class=\"num\">{}</td>", p.point);
        param_cells(out, p, axes);
        let _ = write!(
            out,
            "<td class=\"num\">{}</td><td class=\"num\">{}</td>",
            p.runs, p.failed
        );
        for m in &defs {
            let _ = write!(out, "<td class=\"num\">{}</td>", estimate_text(p, m));
        }
        match &p.error {
            Some(e) => {
                let _ = write!(out, "<td class=\"err\">{}</td>", esc(e));
            }
            None => out.push_str("<td></td>"),
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table></div>\n</section>\n");
}

/// One cell per parameter with the point's value.
fn param_cells(out: &mut String, p: &PointRecord, axes: &[ParamAxis]) {
    for a in axes {
        let v = p.params.get(&a.path).map_or("", String::as_str);
        let _ = write!(out, "<td>{}</td>", esc(v));
    }
}

/// `mean ± ci` of metric `m` at `p`, in display units; `–` if undefined.
fn estimate_text(p: &PointRecord, m: &MetricDef) -> String {
    match p.metrics.get(m.key) {
        None => "–".to_string(),
        Some(e) => {
            let s = unit_scale(m.unit);
            let mean = fmt_sig(e.mean * s, sig_digits(m.unit));
            match e.ci95 {
                Some(h) => format!("{mean} ± {}", fmt_sig(h * s, 2)),
                None => mean,
            }
        }
    }
}

// ---------------------------------------------------------------- parameters

/// A swept parameter as an x axis: its distinct values in order and where
/// each sits.
#[derive(Debug)]
struct ParamAxis {
    /// Scenario field path.
    path: String,
    /// Distinct values, in axis order (numeric: by value; categorical: by
    /// first appearance in point order).
    values: Vec<String>,
    /// Position of each value on the axis (log10 on a log axis; the index
    /// for a categorical one).
    positions: Vec<f64>,
    /// Numeric values' common unit suffix (`s` in `30s`); none: categorical.
    suffix: Option<String>,
    /// Whether the axis is logarithmic (a `log:` spec with positive values).
    log: bool,
}

/// `value` as a number and its trailing unit (alphabetic or `%`), if it
/// reads as one.
fn split_number(value: &str) -> Option<(f64, &str)> {
    let value = value.trim();
    let cut = value
        .trim_end_matches(|c: char| c.is_alphabetic() || c == '%')
        .len();
    let (number, suffix) = value.split_at(cut);
    let x: f64 = number.parse().ok()?;
    x.is_finite().then_some((x, suffix))
}

/// Whether every value is a number with one common suffix: the suffix.
fn numeric_suffix<'a>(values: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let mut common: Option<&str> = None;
    for v in values {
        let (_, suffix) = split_number(v)?;
        match common {
            None => common = Some(suffix),
            Some(c) if c == suffix => {}
            Some(_) => return None,
        }
    }
    common.map(str::to_string)
}

impl ParamAxis {
    fn new(path: &str, spec: &str, points: &[PointRecord]) -> ParamAxis {
        let mut values: Vec<String> = Vec::new();
        for p in points {
            if let Some(v) = p.params.get(path)
                && !values.contains(v)
            {
                values.push(v.clone());
            }
        }
        let suffix = numeric_suffix(values.iter().map(String::as_str));
        let mut log = false;
        let positions = match &suffix {
            Some(_) => {
                let mut numbered: Vec<(f64, String)> = values
                    .drain(..)
                    .map(|v| (split_number(&v).map_or(0.0, |(x, _)| x), v))
                    .collect();
                numbered.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
                log = spec.trim_start().starts_with("log:")
                    && numbered.len() >= 2
                    && numbered.iter().all(|(x, _)| *x > 0.0);
                let mut positions = Vec::with_capacity(numbered.len());
                for (x, v) in numbered {
                    positions.push(if log { x.log10() } else { x });
                    values.push(v);
                }
                positions
            }
            None => (0..values.len()).map(|i| i as f64).collect(),
        };
        ParamAxis {
            path: path.to_string(),
            values,
            positions,
            suffix,
            log,
        }
    }

    /// Index of `p`'s value among `values`.
    fn index_of(&self, p: &PointRecord) -> Option<usize> {
        let v = p.params.get(&self.path)?;
        self.values.iter().position(|x| x == v)
    }

    /// The drawn x range, padded.
    fn range(&self) -> (f64, f64) {
        if self.suffix.is_none() {
            return (-0.5, self.values.len().max(1) as f64 - 0.5);
        }
        let lo = self.positions.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = self
            .positions
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max);
        if !lo.is_finite() {
            return (0.0, 1.0);
        }
        let pad = if hi > lo {
            (hi - lo) * 0.05
        } else if self.log {
            0.5
        } else {
            (lo.abs() * 0.1).max(1.0)
        };
        (lo - pad, hi + pad)
    }

    /// Tick positions and labels.
    fn ticks(&self) -> Vec<(f64, String)> {
        let n = self.values.len();
        let Some(suffix) = &self.suffix else {
            let step = n.div_ceil(12).max(1);
            return (0..n)
                .step_by(step)
                .map(|i| (i as f64, self.values[i].clone()))
                .collect();
        };
        if n <= 12 {
            let mut ticks: Vec<(f64, String)> = Vec::new();
            for (x, v) in self.positions.iter().zip(&self.values) {
                if ticks.last().is_none_or(|t| t.0 != *x) {
                    ticks.push((*x, v.clone()));
                }
            }
            return ticks;
        }
        let (lo, hi) = (self.positions[0], self.positions[n - 1]);
        if self.log {
            let powers: Vec<(f64, String)> = (lo.ceil() as i64..=hi.floor() as i64)
                .map(|k| {
                    (
                        k as f64,
                        format!("{}{suffix}", fmt_plain(10f64.powi(k as i32))),
                    )
                })
                .collect();
            if powers.len() >= 2 {
                return powers;
            }
            let (ticks, _) = nice_ticks(lo, hi, 6);
            return ticks
                .into_iter()
                .map(|t| (t, format!("{}{suffix}", fmt_sig(10f64.powf(t), 2))))
                .collect();
        }
        let (ticks, decimals) = nice_ticks(lo, hi, 8);
        ticks
            .into_iter()
            .map(|t| (t, format!("{t:.decimals$}{suffix}")))
            .collect()
    }

    /// The x axis title.
    fn title(&self) -> String {
        if self.log {
            format!("{} (log scale)", self.path)
        } else {
            self.path.clone()
        }
    }
}

// ---------------------------------------------------------------- chart data

/// One line of a chart: (x, mean, 95% half-width) in display units.
#[derive(Debug)]
struct Series {
    /// The legend entry (the grouping parameter's value).
    name: String,
    /// Line colour.
    color: RGBColor,
    /// Points by x.
    pts: Vec<(f64, f64, Option<f64>)>,
}

/// The lines of metric `m` against parameter `pi`: one per value of the first
/// other parameter, the rest averaged; in scatter mode, one dot per point.
fn chart_data(
    points: &[PointRecord],
    axes: &[ParamAxis],
    pi: usize,
    m: &MetricDef,
    scatter: bool,
) -> Vec<Series> {
    let axis = &axes[pi];
    let scale = unit_scale(m.unit);
    if scatter {
        let pts = points
            .iter()
            .step_by(points.len().div_ceil(MAX_DOTS).max(1))
            .filter_map(|p| {
                let x = axis.positions[axis.index_of(p)?];
                let e = p.metrics.get(m.key)?;
                Some((x, e.mean * scale, e.ci95.map(|h| h * scale)))
            })
            .collect();
        return vec![Series {
            name: String::new(),
            color: PALETTE[0],
            pts,
        }];
    }
    let group = axes
        .iter()
        .enumerate()
        .find(|(i, _)| *i != pi)
        .map(|(_, a)| a);
    // (group value, x value) → the estimates to combine.
    let mut cells: BTreeMap<(usize, usize), Vec<&Estimate>> = BTreeMap::new();
    for p in points {
        let Some(xi) = axis.index_of(p) else { continue };
        let gi = match group {
            Some(g) => match g.index_of(p) {
                Some(gi) => gi,
                None => continue,
            },
            None => 0,
        };
        if let Some(e) = p.metrics.get(m.key) {
            cells.entry((gi, xi)).or_default().push(e);
        }
    }
    let groups = group.map_or(1, |g| g.values.len());
    (0..groups)
        .map(|gi| {
            let pts = (0..axis.values.len())
                .filter_map(|xi| {
                    let es = cells.get(&(gi, xi))?;
                    let k = es.len() as f64;
                    let mean = es.iter().map(|e| e.mean).sum::<f64>() / k;
                    let ci = es
                        .iter()
                        .map(|e| e.ci95.map(|h| h * h))
                        .sum::<Option<f64>>()
                        .map(|s| s.sqrt() / k);
                    Some((axis.positions[xi], mean * scale, ci.map(|h| h * scale)))
                })
                .collect();
            Series {
                name: group.map_or_else(String::new, |g| g.values[gi].clone()),
                color: PALETTE[gi % PALETTE.len()],
                pts,
            }
        })
        .collect()
}

// ---------------------------------------------------------------- charts

/// A line chart (or a scatter) of series against a parameter, as SVG.
fn line_chart_svg(
    axis: &ParamAxis,
    y_title: &str,
    series: &[Series],
    scatter: bool,
) -> anyhow::Result<String> {
    let ticks = axis.ticks();
    let (x0, x1) = axis.range();
    let (y0, y1) = padded_range(series.iter().flat_map(|s| {
        s.pts
            .iter()
            .flat_map(|&(_, m, h)| [m - h.unwrap_or(0.0), m + h.unwrap_or(0.0)])
    }));
    let y_decimals = axis_decimals(y0, y1);
    let x_title = axis.title();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, CHART_SIZE).into_drawing_area();
        root.fill(&WHITE)?;
        let key_points: Vec<f64> = ticks.iter().map(|t| t.0).collect();
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .margin_right(18)
            .x_label_area_size(46)
            .y_label_area_size(66)
            .build_cartesian_2d(TickAxis::new(x0..x1, key_points), y0..y1)?;
        let x_fmt = |v: &f64| tick_label(&ticks, *v);
        let y_fmt = |v: &f64| format!("{v:.y_decimals$}");
        chart
            .configure_mesh()
            .x_desc(x_title.as_str())
            .y_desc(y_title)
            .x_label_formatter(&x_fmt)
            .y_label_formatter(&y_fmt)
            .y_labels(6)
            .bold_line_style(GRID)
            .light_line_style(TRANSPARENT)
            .axis_style(AXIS)
            .label_style(("sans-serif", 14).into_font().color(&TEXT))
            .axis_desc_style(("sans-serif", 15).into_font().color(&TEXT))
            .draw()?;
        for s in series {
            let color = s.color;
            let dot_alpha = if scatter { 0.6 } else { 1.0 };
            // Bands over runs of consecutive points that have an interval;
            // a whisker for a lone one.
            let mut run: Vec<(f64, f64, f64)> = Vec::new();
            let mut flush = |run: &mut Vec<(f64, f64, f64)>| -> anyhow::Result<()> {
                if scatter && s.pts.len() > MAX_WHISKERS {
                    // Too many to read: dots only.
                } else if scatter || run.len() == 1 {
                    for &(x, m, h) in run.iter() {
                        chart.draw_series(std::iter::once(PathElement::new(
                            vec![(x, m - h), (x, m + h)],
                            color.mix(0.55).stroke_width(2),
                        )))?;
                    }
                } else if run.len() > 1 {
                    let mut poly: Vec<(f64, f64)> =
                        run.iter().map(|&(x, m, h)| (x, m + h)).collect();
                    poly.extend(run.iter().rev().map(|&(x, m, h)| (x, m - h)));
                    chart.draw_series(std::iter::once(Polygon::new(
                        poly,
                        color.mix(0.16).filled(),
                    )))?;
                }
                run.clear();
                Ok(())
            };
            for &(x, m, h) in &s.pts {
                match h {
                    Some(h) => run.push((x, m, h)),
                    None => flush(&mut run)?,
                }
            }
            flush(&mut run)?;
            if !scatter && s.pts.len() > 1 {
                chart.draw_series(LineSeries::new(
                    s.pts.iter().map(|&(x, m, _)| (x, m)),
                    color.stroke_width(2),
                ))?;
            }
            chart.draw_series(
                s.pts
                    .iter()
                    .map(|&(x, m, _)| Circle::new((x, m), 3, color.mix(dot_alpha).filled())),
            )?;
        }
        root.present()?;
    }
    Ok(svg)
}

/// Cost against p99 (ms): every point grey, the front red and joined.
fn pareto_svg(all: &[(f64, f64)], front: &[(usize, f64, f64)]) -> anyhow::Result<String> {
    let (x0, x1) = padded_range(all.iter().map(|p| p.0));
    let (y0, y1) = padded_range(all.iter().map(|p| p.1));
    let (xd, yd) = (axis_decimals(x0, x1), axis_decimals(y0, y1));
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (CHART_SIZE.0, CHART_SIZE.1 + 40))
            .into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .margin_right(18)
            .x_label_area_size(46)
            .y_label_area_size(66)
            .build_cartesian_2d(x0..x1, y0..y1)?;
        let x_fmt = |v: &f64| format!("{v:.xd$}");
        let y_fmt = |v: &f64| format!("{v:.yd$}");
        chart
            .configure_mesh()
            .x_desc("mean cost")
            .y_desc("mean p99 latency (ms)")
            .x_label_formatter(&x_fmt)
            .y_label_formatter(&y_fmt)
            .x_labels(7)
            .y_labels(7)
            .bold_line_style(GRID)
            .light_line_style(TRANSPARENT)
            .axis_style(AXIS)
            .label_style(("sans-serif", 14).into_font().color(&TEXT))
            .axis_desc_style(("sans-serif", 15).into_font().color(&TEXT))
            .draw()?;
        chart.draw_series(
            all.iter()
                .map(|&(x, y)| Circle::new((x, y), 3, GREY_POINT.mix(0.8).filled())),
        )?;
        let mut steps: Vec<(f64, f64)> = Vec::new();
        for (i, &(_, x, y)) in front.iter().enumerate() {
            if i > 0 {
                steps.push((x, steps[steps.len() - 1].1));
            }
            steps.push((x, y));
        }
        if steps.len() > 1 {
            chart.draw_series(LineSeries::new(steps, FRONT.stroke_width(2)))?;
        }
        chart.draw_series(
            front
                .iter()
                .map(|&(_, x, y)| Circle::new((x, y), 4, FRONT.filled())),
        )?;
        if front.len() <= MAX_FRONT_LABELS {
            let style = ("sans-serif", 13)
                .into_font()
                .color(&FRONT)
                .pos(Pos::new(HPos::Left, VPos::Bottom));
            chart.draw_series(front.iter().map(|&(i, x, y)| {
                EmptyElement::at((x, y)) + Text::new(format!("#{i}"), (5, -4), style.clone())
            }))?;
        }
        root.present()?;
    }
    Ok(svg)
}

/// A heatmap of `cells` (means in display units by (x index, y index)).
fn heatmap_svg(
    xa: &ParamAxis,
    ya: &ParamAxis,
    cells: &BTreeMap<(usize, usize), f64>,
    m: &MetricDef,
) -> anyhow::Result<String> {
    let (nx, ny) = (xa.values.len().max(1), ya.values.len().max(1));
    let lo = cells.values().copied().fold(f64::INFINITY, f64::min);
    let hi = cells.values().copied().fold(f64::NEG_INFINITY, f64::max);
    let longest_y = ya
        .values
        .iter()
        .map(|v| v.chars().count())
        .max()
        .unwrap_or(1);
    let y_area = (longest_y as u32 * 8 + 40).clamp(56, 180);
    let plot_w = CHART_SIZE.0.saturating_sub(y_area + 28) as f64;
    let plot_h = CHART_SIZE.1.saturating_sub(66) as f64;
    let (cell_w, cell_h) = (plot_w / nx as f64, plot_h / ny as f64);
    let labels: BTreeMap<(usize, usize), String> = cells
        .iter()
        .map(|(k, v)| (*k, fmt_sig(*v, sig_digits(m.unit) - 1)))
        .collect();
    let widest = labels
        .values()
        .map(|s| s.chars().count())
        .max()
        .unwrap_or(0);
    let gap = if cell_w.min(cell_h) >= 12.0 { 2 } else { 1 };
    let annotate = cell_w >= widest as f64 * 7.5 + 6.0 && cell_h >= 16.0;
    let x_ticks: Vec<(f64, String)> = xa
        .values
        .iter()
        .enumerate()
        .step_by(xa.values.len().div_ceil(13).max(1))
        .map(|(i, v)| (i as f64 + 0.5, v.clone()))
        .collect();
    let y_ticks: Vec<(f64, String)> = ya
        .values
        .iter()
        .enumerate()
        .step_by(ya.values.len().div_ceil(13).max(1))
        .map(|(i, v)| (i as f64 + 0.5, v.clone()))
        .collect();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, CHART_SIZE).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .margin_right(18)
            .x_label_area_size(46)
            .y_label_area_size(y_area)
            .build_cartesian_2d(
                TickAxis::new(0.0..nx as f64, x_ticks.iter().map(|t| t.0).collect()),
                TickAxis::new(0.0..ny as f64, y_ticks.iter().map(|t| t.0).collect()),
            )?;
        let x_fmt = |v: &f64| tick_label(&x_ticks, *v);
        let y_fmt = |v: &f64| tick_label(&y_ticks, *v);
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(xa.path.as_str())
            .y_desc(ya.path.as_str())
            .x_label_formatter(&x_fmt)
            .y_label_formatter(&y_fmt)
            .axis_style(AXIS)
            .label_style(("sans-serif", 14).into_font().color(&TEXT))
            .axis_desc_style(("sans-serif", 15).into_font().color(&TEXT))
            .draw()?;
        for xi in 0..nx {
            for yi in 0..ny {
                let (x, y) = (xi as f64, yi as f64);
                match cells.get(&(xi, yi)) {
                    Some(v) => {
                        let mut t = if hi > lo { (v - lo) / (hi - lo) } else { 0.5 };
                        if !m.lower_is_better {
                            t = 1.0 - t;
                        }
                        let fill = ramp(t);
                        chart.draw_series(std::iter::once(Rectangle::new(
                            [(x, y), (x + 1.0, y + 1.0)],
                            fill.filled(),
                        )))?;
                        if annotate {
                            let ink = if luminance(fill) < 0.5 { WHITE } else { BLACK };
                            let style = ("sans-serif", 15)
                                .into_font()
                                .color(&ink)
                                .pos(Pos::new(HPos::Center, VPos::Center));
                            chart.draw_series(std::iter::once(Text::new(
                                labels[&(xi, yi)].clone(),
                                (x + 0.5, y + 0.5),
                                style,
                            )))?;
                        }
                    }
                    None => {
                        chart.draw_series(std::iter::once(Rectangle::new(
                            [(x, y), (x + 1.0, y + 1.0)],
                            NO_DATA.filled(),
                        )))?;
                        for k in 1..8 {
                            let t = k as f64 / 4.0;
                            let seg = if t <= 1.0 {
                                vec![(x, y + t), (x + t, y)]
                            } else {
                                vec![(x + t - 1.0, y + 1.0), (x + 1.0, y + t - 1.0)]
                            };
                            chart.draw_series(std::iter::once(PathElement::new(
                                seg,
                                HATCH.stroke_width(1),
                            )))?;
                        }
                    }
                }
                // Thin white gaps between cells.
                chart.draw_series(std::iter::once(Rectangle::new(
                    [(x, y), (x + 1.0, y + 1.0)],
                    WHITE.stroke_width(gap),
                )))?;
            }
        }
        root.present()?;
    }
    Ok(svg)
}

/// A linear f64 axis with ticks exactly where given (plotters' own
/// `with_key_points` loses the f64 axis' label formatting).
struct TickAxis {
    /// The linear mapping.
    inner: RangedCoordf64,
    /// Tick positions (bold grid lines and labels).
    ticks: Vec<f64>,
}

impl TickAxis {
    fn new(range: std::ops::Range<f64>, ticks: Vec<f64>) -> TickAxis {
        TickAxis {
            inner: range.into(),
            ticks,
        }
    }
}

impl Ranged for TickAxis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.inner.range()
    }
}

/// The label of the tick at `x`, if any.
fn tick_label(ticks: &[(f64, String)], x: f64) -> String {
    ticks
        .iter()
        .find(|t| (t.0 - x).abs() <= 1e-9 * (1.0 + x.abs()))
        .map(|t| t.1.clone())
        .unwrap_or_default()
}

/// The colour at `t` in [0, 1] along the good-to-bad ramp.
fn ramp(t: f64) -> RGBColor {
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.5
    };
    let f = t * (RAMP.len() - 1) as f64;
    let i = (f.floor() as usize).min(RAMP.len() - 2);
    let u = f - i as f64;
    let (a, b) = (RAMP[i], RAMP[i + 1]);
    let mix = |p: u8, q: u8| (p as f64 + (q as f64 - p as f64) * u).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Relative luminance (0 black, 1 white), roughly.
fn luminance(c: RGBColor) -> f64 {
    (0.299 * c.0 as f64 + 0.587 * c.1 as f64 + 0.114 * c.2 as f64) / 255.0
}

/// The range of `values` with a margin; something sensible when there are
/// none or all are equal.
fn padded_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = if hi > lo {
        (hi - lo) * 0.08
    } else {
        (lo.abs() * 0.05).max(0.5)
    };
    (lo - pad, hi + pad)
}

/// Decimals for tick labels on an axis spanning `lo..hi` (about 6 ticks).
fn axis_decimals(lo: f64, hi: f64) -> usize {
    let (_, decimals) = nice_ticks(lo, hi, 6);
    decimals
}

/// Round tick values in `lo..=hi` (at most about `n`), and the decimals
/// that show them.
fn nice_ticks(lo: f64, hi: f64, n: usize) -> (Vec<f64>, usize) {
    let span = hi - lo;
    if !(span.is_finite() && span > 0.0) {
        return (vec![lo], 0);
    }
    let raw = span / n.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|f| f * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let decimals = (-step.log10().floor()).clamp(0.0, 9.0) as usize;
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    let ticks = (first..=last).map(|k| k as f64 * step).collect();
    (ticks, decimals)
}

// ---------------------------------------------------------------- formatting

/// Factor from a metric's unit to its display unit (s → ms, share → %).
fn unit_scale(unit: MetricUnit) -> f64 {
    match unit {
        MetricUnit::Seconds => 1000.0,
        MetricUnit::Share => 100.0,
        _ => 1.0,
    }
}

/// Significant digits shown for a unit (shares near 100% need more).
fn sig_digits(unit: MetricUnit) -> usize {
    match unit {
        MetricUnit::Share => 5,
        _ => 4,
    }
}

/// A metric's label with its display unit, e.g. `p99 latency (ms)`.
fn metric_title(m: &MetricDef) -> String {
    let unit = match m.unit {
        MetricUnit::Seconds => "ms",
        MetricUnit::Share => "%",
        MetricUnit::PerSecond => "/s",
        _ => return m.label.to_string(),
    };
    // `SLO attainment (requests)` → `SLO attainment (requests, %)`.
    match m.label.strip_suffix(')') {
        Some(head) if head.contains('(') => format!("{head}, {unit})"),
        _ => format!("{} ({unit})", m.label),
    }
}

/// `x` to `sig` significant digits (scientific when very large or small).
fn fmt_sig(x: f64, sig: usize) -> String {
    if !x.is_finite() {
        return x.to_string();
    }
    if x == 0.0 {
        return "0".to_string();
    }
    let mag = x.abs().log10().floor() as i32;
    if !(-4..9).contains(&mag) {
        return format!("{:.*e}", sig.saturating_sub(1), x);
    }
    let decimals = (sig as i32 - 1 - mag).clamp(0, 9) as usize;
    format!("{x:.decimals$}")
}

/// `x` without trailing zeros (for round tick values).
fn fmt_plain(x: f64) -> String {
    let s = format!("{x:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

/// A parameter path, escaped, that may wrap after its dots.
fn breakable(path: &str) -> String {
    esc(path).replace('.', ".<wbr>")
}

/// HTML-escapes text for element content and quoted attributes.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use sim_models::sweep::results::{ParamHeader, RunRecord, SweepHeader};

    use super::*;

    /// A grid sweep over `params` (path, values), `seeds` seeds per point,
    /// with every run of point `failing` failed (an error with markup).
    fn synthetic(params: &[(&str, &[&str])], seeds: u64, failing: Option<usize>) -> SweepResults {
        let mut grid: Vec<Vec<&str>> = vec![vec![]];
        for (_, values) in params {
            grid = grid
                .into_iter()
                .flat_map(|g| {
                    values.iter().map(move |v| {
                        let mut g = g.clone();
                        g.push(*v);
                        g
                    })
                })
                .collect();
        }
        let header = SweepHeader {
            fleetsim_version: "0.1.0".into(),
            scenario: "scenarios/web <prod>.toml".into(),
            scenario_hash: "sha256:abc123".into(),
            set: vec!["duration=1h".into()],
            policy: None,
            params: params
                .iter()
                .map(|(path, values)| ParamHeader {
                    path: path.to_string(),
                    spec: values.join(","),
                })
                .collect(),
            design: "grid".into(),
            design_seed: 1,
            points: grid.len(),
            first_seed: 1,
            seeds,
            shard: None,
        };
        let mut runs = Vec::new();
        for (point, values) in grid.iter().enumerate() {
            // A size from the first value, a penalty from the others.
            let size = split_number(values[0]).map_or(4.0, |(x, _)| x);
            let penalty: f64 = values[1..]
                .iter()
                .map(|v| match split_number(v) {
                    Some((x, _)) => x / 100.0,
                    None => v.len() as f64 / 20.0,
                })
                .sum();
            for seed in 1..=seeds {
                let noise = ((seed * 7919 + point as u64 * 104_729) % 17) as f64 / 17.0 - 0.5;
                let p99 = 0.04 + 0.8 / (1.0 + size) + 0.05 * penalty + 0.01 * noise;
                let metrics: BTreeMap<String, Option<f64>> = [
                    ("p50_s", Some(p99 / 3.0)),
                    ("p90_s", Some(p99 * 0.7)),
                    ("p99_s", Some(p99)),
                    (
                        "availability",
                        Some(1.0 - 0.02 / (1.0 + size) - 0.001 * noise.abs()),
                    ),
                    (
                        "slo_attainment",
                        Some(1.0 - 0.05 / (1.0 + size) - 0.01 * penalty),
                    ),
                    ("throughput_per_s", Some(200.0 + 2.0 * noise)),
                    ("failed_requests", Some((400.0 / (1.0 + size)).round())),
                    ("cost", Some(3.0 * size + 10.0 * penalty + noise)),
                    ("mean_instances", Some(size * 0.8 + 1.0 + 0.2 * noise)),
                    ("peak_instances", Some(size)),
                    ("scale_actions", None),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect();
                let failed = failing == Some(point);
                runs.push(RunRecord {
                    point,
                    seed,
                    params: params
                        .iter()
                        .zip(values)
                        .map(|((path, _), v)| (path.to_string(), v.to_string()))
                        .collect(),
                    metrics: (!failed).then_some(metrics),
                    error: failed
                        .then(|| "bad value: <script>alert('x')</script> & more".to_string()),
                });
            }
        }
        let points = results::aggregate(&runs);
        SweepResults {
            header,
            runs,
            points,
        }
    }

    const COOLDOWN: (&str, &[&str]) =
        ("fleet.groups.web.cooldown", &["30s", "60s", "120s", "300s"]);
    const MAX: (&str, &[&str]) = ("fleet.groups.web.max_instances", &["2", "4", "8", "16"]);
    const BALANCER: (&str, &[&str]) = ("fleet.balancer", &["p2c", "round_robin", "least_conn"]);

    fn one_param() -> SweepResults {
        synthetic(&[COOLDOWN], 3, Some(2))
    }

    fn two_params() -> SweepResults {
        synthetic(&[MAX, BALANCER], 3, Some(5))
    }

    fn assert_charts(html: &str, params: usize) {
        for pi in 0..params {
            for key in CHART_METRICS {
                let id = format!("<figure id=\"chart-{pi}-{key}\">");
                let at = html.find(&id).unwrap_or_else(|| panic!("no chart {id}"));
                let figure = &html[at..at + html[at..].find("</figure>").unwrap()];
                assert!(figure.contains("<svg"), "chart {id} has no svg");
            }
        }
    }

    #[test]
    fn numeric_and_categorical_parameters() {
        assert_eq!(
            numeric_suffix(["30s", "60s", "1.5s"]),
            Some("s".to_string())
        );
        assert_eq!(numeric_suffix(["2", "4", "0.5"]), Some(String::new()));
        assert_eq!(numeric_suffix(["99%", "99.9%"]), Some("%".to_string()));
        assert_eq!(numeric_suffix(["p2c", "round_robin"]), None);
        assert_eq!(
            numeric_suffix(["30s", "1m"]),
            None,
            "two suffixes: categorical"
        );
        assert_eq!(numeric_suffix(["inf", "2"]), None);
        let r = one_param();
        let axis = ParamAxis::new(COOLDOWN.0, "30s,60s,120s,300s", &r.points);
        assert_eq!(axis.values, ["30s", "60s", "120s", "300s"]);
        assert_eq!(axis.positions, [30.0, 60.0, 120.0, 300.0]);
        assert_eq!(axis.ticks()[2], (120.0, "120s".to_string()));
        let r = two_params();
        let axis = ParamAxis::new(BALANCER.0, "p2c,round_robin,least_conn", &r.points);
        assert_eq!(axis.suffix, None);
        assert_eq!(
            axis.values,
            ["p2c", "round_robin", "least_conn"],
            "first-appearance order"
        );
        assert_eq!(axis.positions, [0.0, 1.0, 2.0]);
    }

    #[test]
    fn one_parameter_report_has_every_chart_and_no_heatmaps() {
        let html = render(&one_param(), None).unwrap();
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert_charts(&html, 1);
        assert!(html.contains("id=\"pareto-chart\""));
        assert!(html.contains("id=\"front-table\""));
        assert!(!html.contains("id=\"heatmaps\""));
        assert!(!html.contains("id=\"heatmap-"));
        // Tick labels keep the unit suffix; latency axes are in ms.
        assert!(html.contains("\n120s\n</text>"), "x tick labels");
        assert!(html.contains("p99 latency (ms)"));
        // Self-contained: nothing loaded from elsewhere.
        assert!(!html.contains("<script"));
        assert!(!html.contains("<link"));
        assert!(!html.contains("src=\""));
    }

    #[test]
    fn two_parameter_report_has_lines_per_value_and_heatmaps() {
        let html = render(&two_params(), None).unwrap();
        assert_charts(&html, 2);
        assert!(html.contains("id=\"heatmaps\""));
        for key in HEATMAP_METRICS {
            let id = format!("<figure id=\"heatmap-{key}\">");
            let at = html.find(&id).unwrap_or_else(|| panic!("no heatmap {id}"));
            assert!(html[at..].contains("<svg"));
        }
        // Legends name the other parameter's values.
        assert!(html.contains("<span class=\"title\">fleet.balancer:</span>"));
        assert!(html.contains("round_robin</span>"));
        assert!(html.contains("One line per value of <code>fleet.groups.web.max_instances</code>"));
        // Three parameters: the third is averaged, and the page says so.
        let three = synthetic(&[MAX, BALANCER, COOLDOWN], 2, None);
        let html = render(&three, None).unwrap();
        assert_charts(&html, 3);
        assert!(html.contains("are averaged (mean of the means"));
        assert!(html.contains("averaged over the other parameters"));
    }

    #[test]
    fn text_from_the_file_is_escaped() {
        let html = render(&two_params(), None).unwrap();
        assert!(
            !html.contains("<script"),
            "an error message must not inject markup"
        );
        assert!(
            html.contains("bad value: &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; more")
        );
        assert!(html.contains("scenarios/web &lt;prod&gt;.toml"));
        assert!(!html.contains("web <prod>"));
        assert!(html.contains("<tr class=\"failed\">"));
    }

    #[test]
    fn unfinished_sweep_says_how_many_runs_are_missing() {
        let mut r = two_params();
        r.points.clear();
        r.runs.truncate(r.runs.len() - 7);
        let html = render(&r, None).unwrap();
        assert!(html.contains("id=\"incomplete\""));
        assert!(html.contains("The sweep is incomplete:</strong> 7 of 36 runs are missing"));
        assert_charts(&html, 2);
        // No runs at all: the page still renders, with nothing to chart.
        r.runs.clear();
        let html = render(&r, None).unwrap();
        assert!(html.contains("36 of 36 runs are missing"));
        assert!(html.contains("No runs yet"));
    }

    #[test]
    fn objective_shows_the_best_points_or_says_none_qualify() {
        let r = two_params();
        let o = Objective::parse("min cost where p99 < 200ms").unwrap();
        let html = render(&r, Some(&o)).unwrap();
        assert!(html.contains("id=\"best-table\""));
        assert!(html.contains("min cost where p99_s &lt; 200ms"));
        let o = Objective::parse("min cost where p99 < 1ms").unwrap();
        let html = render(&r, Some(&o)).unwrap();
        assert!(html.contains("No point meets <code>min cost where p99_s &lt; 1ms</code>"));
        assert!(!html.contains("id=\"best-table\""));
    }

    #[test]
    fn rendering_is_deterministic() {
        for r in [one_param(), two_params()] {
            assert_eq!(render(&r, None).unwrap(), render(&r, None).unwrap());
        }
    }

    #[test]
    fn large_sweeps_cap_the_table() {
        let values: Vec<String> = (1..=26).map(|i| i.to_string()).collect();
        let values: Vec<&str> = values.iter().map(String::as_str).collect();
        let r = synthetic(&[("a", &values), ("b", &values)], 1, None);
        assert_eq!(r.points.len(), 676);
        let html = render(&r, None).unwrap();
        assert!(html.contains("Showing the first 500 of 676 points"));
        let table = &html[html.find("id=\"points-table\"").unwrap()..];
        assert_eq!(table.matches("<tr").count(), 501, "header + 500 rows");
        assert!(html.contains("too many for a line each"));
    }

    /// Writes sample reports to /tmp for `scripts/screenshot-report.sh`.
    #[test]
    #[ignore = "writes sample reports to /tmp for a look in a browser"]
    fn write_sample_reports() {
        let o = Objective::parse("min cost where p99 < 200ms and availability >= 99%").unwrap();
        let mut unfinished = two_params();
        unfinished.points.clear();
        unfinished.runs.truncate(20);
        let many: Vec<String> = (1..=26).map(|i| format!("{}", i * 5)).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        let mut log_and_many = synthetic(
            &[
                ("fleet.queue_limit", &["1", "10", "100", "1000"]),
                ("fleet.rate", &many),
            ],
            2,
            None,
        );
        log_and_many.header.params[0].spec = "log:1:1000:4".into();
        let samples = [
            ("log-and-many", log_and_many),
            ("one-param", one_param()),
            ("two-params", two_params()),
            (
                "three-params",
                synthetic(&[MAX, BALANCER, COOLDOWN], 3, Some(7)),
            ),
            ("unfinished", unfinished),
        ];
        for (name, r) in samples {
            let path = format!("/tmp/fleetsim-report-{name}.html");
            std::fs::write(&path, render(&r, Some(&o)).unwrap()).unwrap();
            println!("wrote {path}");
        }
    }
}
