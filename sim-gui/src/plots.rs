//! The report's time series as stacked plots on one shared time axis.
//!
//! Every plot is an [`egui_plot::Plot`] whose x axis and cursor are linked
//! (pan or zoom one, all follow); hovering shows values (egui_plot's
//! default). Injected faults are shaded as [`Span`]s in every plot. Each
//! value comes from `report.series`, `report.autoscaling.decisions`,
//! `report.faults` or the data tier's lag series — nothing is derived but
//! units (seconds to milliseconds, errors per bucket to errors per second).
//!
//! The report has no per-cause error series (only errors per bucket) and no
//! cost series, so errors *by cause* and cost are in the summary
//! (`tables`), over the measured window.

use egui::{Color32, Id, Ui};
use egui_plot::{HLine, Legend, Line, MarkerShape, Plot, PlotPoints, PlotUi, Points, Span};
use sim_models::FleetReport;
use sim_models::fleet::metrics::SeriesPoint;

/// Colours for regions (and other per-thing lines), in file order.
pub const PALETTE: [Color32; 8] = [
    Color32::from_rgb(66, 133, 244),
    Color32::from_rgb(230, 145, 56),
    Color32::from_rgb(52, 168, 83),
    Color32::from_rgb(171, 71, 188),
    Color32::from_rgb(0, 172, 193),
    Color32::from_rgb(240, 98, 146),
    Color32::from_rgb(158, 157, 36),
    Color32::from_rgb(121, 85, 72),
];

/// The colour of the `i`-th region.
pub fn color(i: usize) -> Color32 {
    PALETTE[i % PALETTE.len()]
}

/// The titles of the plots, in order (tests look for them).
pub const TITLES: [&str; 7] = [
    "Request rate (requests/s)",
    "Latency p50 / p99 (ms)",
    "Errors (failed requests/s)",
    "Queue length (requests waiting)",
    "Instances per region",
    "Utilisation (share of workers busy)",
    "Replication lag (s)",
];

/// Builds the items of one plot.
type Build<'a> = Box<dyn FnOnce(&mut PlotUi<'_>) + 'a>;

/// Shows every plot of `report`, two side by side, each `height` points
/// tall.
pub fn show(ui: &mut Ui, report: &FleetReport, height: f32) {
    let group = Id::unique(("fleetsim-time-axis", &report.scenario_hash));
    let end = report.measured_to_s;
    let interval = report.series.interval_s.max(1e-9);
    let regions = &report.series.regions;

    // One line per region (and the fleet's in grey when there are several).
    fn per_region<'a>(
        report: &'a FleetReport,
        interval: f64,
        value: impl Fn(&SeriesPoint) -> Option<f64> + 'a,
    ) -> Build<'a> {
        let regions = &report.series.regions;
        let many_regions = regions.len() > 1;
        Box::new(move |plot: &mut PlotUi<'_>| {
            if many_regions {
                plot.line(
                    series_line("fleet", stairs(&report.series.global, interval, &value))
                        .color(Color32::GRAY)
                        .width(1.5),
                );
            }
            for (i, r) in regions.iter().enumerate() {
                plot.line(
                    series_line(r.name.as_str(), stairs(&r.points, interval, &value))
                        .color(color(i)),
                );
            }
        })
    }

    let mut plots: Vec<(&str, Build<'_>)> = Vec::new();
    plots.push((
        TITLES[0],
        per_region(report, interval, |p| Some(f64::from(p.rate_per_s))),
    ));
    plots.push((
        TITLES[1],
        Box::new(move |plot: &mut PlotUi<'_>| {
            let ms = |v: Option<f32>| v.map(|s| f64::from(s) * 1000.0);
            // Buckets without a successful request have no latency: the
            // line breaks there (same name, one legend entry).
            let global = &report.series.global;
            for (name, c, value) in [
                (
                    "p50",
                    color(0),
                    (|p: &SeriesPoint| p.p50_s) as fn(&SeriesPoint) -> Option<f32>,
                ),
                ("p99", color(1), |p: &SeriesPoint| p.p99_s),
            ] {
                for run in global
                    .split(|p| value(p).is_none())
                    .filter(|r| !r.is_empty())
                {
                    plot.line(series_line(name, stairs(run, interval, &|p| ms(value(p)))).color(c));
                }
            }
            plot.hline(
                HLine::new(
                    format!("SLO {:.0} ms", report.slo.latency_s * 1000.0),
                    report.slo.latency_s * 1000.0,
                )
                .color(Color32::from_rgb(220, 50, 47))
                .style(egui_plot::LineStyle::dashed_loose()),
            );
        }),
    ));
    // Errors per bucket, per second of the bucket.
    let errors = per_region(report, interval, move |p| {
        Some(f64::from(p.errors) / interval)
    });
    plots.push((TITLES[2], errors));
    plots.push((
        TITLES[3],
        per_region(report, interval, |p| Some(f64::from(p.queue_length))),
    ));
    plots.push((
        TITLES[4],
        Box::new(move |plot: &mut PlotUi<'_>| {
            for (i, r) in regions.iter().enumerate() {
                // Instances alive at each bucket's end.
                plot.line(
                    series_line(
                        r.name.as_str(),
                        (r.points.iter())
                            .map(|p| [p.t_s + interval, f64::from(p.instances)])
                            .collect::<Vec<_>>(),
                    )
                    .color(color(i)),
                );
                // Scaling actions of the region's groups, at the desired
                // capacity they set.
                for (action, shape) in [
                    ("scale_out", MarkerShape::Up),
                    ("scale_in", MarkerShape::Down),
                ] {
                    let marks: Vec<[f64; 2]> = (report.autoscaling.decisions.iter())
                        .filter(|d| d.region == r.name && d.action == action)
                        .map(|d| [d.time_s, f64::from(d.to)])
                        .collect();
                    if !marks.is_empty() {
                        plot.points(
                            Points::new(format!("{} {action} (desired)", r.name), marks)
                                .shape(shape)
                                .radius(4.0)
                                .filled(true)
                                .color(color(i)),
                        );
                    }
                }
            }
        }),
    ));
    plots.push((
        TITLES[5],
        per_region(report, interval, |p| Some(f64::from(p.utilization))),
    ));
    let lags = lag_lines(report);
    if !lags.is_empty() {
        plots.push((
            TITLES[6],
            Box::new(move |plot: &mut PlotUi<'_>| {
                for (i, (name, pts)) in lags.into_iter().enumerate() {
                    plot.line(series_line(name, pts).color(color(i)));
                }
            }),
        ));
    }

    if !report.faults.is_empty() {
        let list: Vec<String> = (report.faults.iter())
            .map(|f| format!("{} ({:.0}–{:.0} s)", f.target, f.start_s, f.end_s))
            .collect();
        ui.horizontal_wrapped(|ui| {
            ui.colored_label(Color32::from_rgb(220, 50, 47), "Shaded red:");
            ui.label(format!("injected faults — {}", list.join(", ")));
        });
    }
    let mut plots = plots.into_iter();
    while let Some(left) = plots.next() {
        let right = plots.next();
        ui.columns(2, |cols| {
            let (title, build) = left;
            time_plot(&mut cols[0], title, group, end, height, report, build);
            if let Some((title, build)) = right {
                time_plot(&mut cols[1], title, group, end, height, report, build);
            }
        });
    }
}

/// Y grid steps of 1, 2 or 5 × 10ⁿ (egui_plot's default uses powers of 10
/// only, which leaves a short plot of 0–900 with one label).
fn nice_steps(input: egui_plot::GridInput) -> [f64; 3] {
    let span = (input.bounds.1 - input.bounds.0).abs().max(1e-12);
    let target = span / 5.0;
    let magnitude = 10f64.powf(target.log10().floor());
    let (mantissa, large) = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| (m, m * magnitude))
        .find(|&(_, step)| step >= target)
        .unwrap_or((10.0, 10.0 * magnitude));
    // Halving a 5 would give 2.5 steps, which print rounded.
    let medium = if mantissa == 5.0 {
        large / 5.0
    } else {
        large / 2.0
    };
    [medium / 5.0, medium, large]
}

/// A line that keeps every point: egui_plot's default folds points that
/// share a pixel column into a band, which turns stairs into blocks.
fn series_line(name: impl Into<String>, points: impl Into<PlotPoints<'static>>) -> Line<'static> {
    Line::new(name, points).allow_band(false)
}

/// One series as stairs: each bucket's value held over the bucket (the
/// value is a rate or mean over it), skipping buckets without a value.
fn stairs(
    series: &[SeriesPoint],
    interval: f64,
    value: &dyn Fn(&SeriesPoint) -> Option<f64>,
) -> PlotPoints<'static> {
    series
        .iter()
        .filter_map(|p| value(p).map(|v| [[p.t_s, v], [p.t_s + interval, v]]))
        .flatten()
        .collect::<Vec<_>>()
        .into()
}

/// One line per database node that ever lagged: lag is sampled when each
/// series bucket closes, so the `i`-th value is at the end of bucket `i`.
fn lag_lines(report: &FleetReport) -> Vec<(String, PlotPoints<'static>)> {
    let Some(data) = &report.data else {
        return Vec::new();
    };
    let interval = report.series.interval_s;
    let mut out = Vec::new();
    for db in &data.databases {
        for shard in &db.shards {
            for node in &shard.nodes {
                if node.lag_series_s.iter().all(|&l| l == 0.0) {
                    continue;
                }
                let shard_name = if db.shards.len() > 1 {
                    format!("[{}]", shard.shard)
                } else {
                    String::new()
                };
                let pts: Vec<[f64; 2]> = (node.lag_series_s.iter().enumerate())
                    .map(|(i, &l)| [(i as f64 + 1.0) * interval, l])
                    .collect();
                out.push((
                    format!(
                        "{}{shard_name} node {} ({}, {})",
                        db.name, node.node, node.region, node.role
                    ),
                    pts.into(),
                ));
            }
        }
    }
    out
}

/// One titled plot on the shared time axis, with the faults shaded.
fn time_plot(
    ui: &mut Ui,
    title: &str,
    group: Id,
    end_s: f64,
    height: f32,
    report: &FleetReport,
    build: Build<'_>,
) {
    ui.label(egui::RichText::new(title).strong());
    Plot::new(("fleetsim-plot", title))
        .height(height)
        .link_axis(group, [true, false])
        .link_cursor(group, [true, false])
        .include_x(0.0)
        .include_x(end_s)
        .include_y(0.0)
        .allow_scroll(false)
        .y_axis_min_width(56.0)
        .y_grid_spacer(egui_plot::uniform_grid_spacer(nice_steps))
        .y_axis_formatter(|mark, _| {
            // As many decimals as the step needs (0.05, not 0.1).
            let decimals = (-mark.step_size.log10().floor()).max(0.0) as usize;
            format!("{:.*}", decimals, mark.value)
        })
        .legend(
            Legend::default()
                .text_style(egui::TextStyle::Small)
                .background_alpha(0.6),
        )
        .set_margin_fraction(egui::vec2(0.01, 0.08))
        .show(ui, |plot| {
            for f in &report.faults {
                plot.span(
                    // Unnamed: no legend entry (the faults are listed above
                    // the plots).
                    Span::new("", f.start_s..=f.end_s)
                        .fill(Color32::from_rgba_unmultiplied(220, 50, 47, 40))
                        .border_color(Color32::from_rgba_unmultiplied(220, 50, 47, 120)),
                );
            }
            build(plot);
        });
}
