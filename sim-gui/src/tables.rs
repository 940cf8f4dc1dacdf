//! The report's tables: the summary (outcomes by cause, latency
//! percentiles, SLO, cost), regions and groups, the incidents table (RTO,
//! RPO, targets met or missed) and the autoscaling decision log ("why").
//!
//! Every figure is a field of [`FleetReport`]; a missing value (no
//! successful request, no target) shows as "—".

use egui::{Color32, Grid, RichText, ScrollArea, Ui};
use sim_models::FleetReport;
use sim_models::fleet::metrics::Outcome;

/// Title of the summary section (tests look for it).
pub const SUMMARY: &str = "Summary";
/// Title of the incidents table.
pub const INCIDENTS: &str = "Incidents";
/// Title of the decision log.
pub const DECISIONS: &str = "Autoscaling decisions";

const MISSED: Color32 = Color32::from_rgb(220, 50, 47);
const MET: Color32 = Color32::from_rgb(52, 168, 83);

fn ms(s: Option<f64>) -> String {
    s.map_or("—".to_string(), |s| format!("{:.1} ms", s * 1000.0))
}

fn secs(s: Option<f64>) -> String {
    s.map_or("—".to_string(), |s| format!("{s:.1} s"))
}

fn percent(x: f64) -> String {
    format!("{:.3} %", x * 100.0)
}

fn met(ui: &mut Ui, m: Option<bool>) {
    match m {
        Some(true) => ui.colored_label(MET, "met"),
        Some(false) => ui.colored_label(MISSED, "missed"),
        None => ui.label("—"),
    };
}

/// The summary: run facts, fleet outcomes by cause, latency, SLO and cost.
pub fn summary(ui: &mut Ui, report: &FleetReport) {
    ui.heading(SUMMARY);
    let g = &report.global;
    ui.label(format!(
        "{} · seed {} · measured {:.0}–{:.0} s · {} events",
        report.scenario, report.seed, report.measured_from_s, report.measured_to_s, report.events
    ));
    ui.columns(3, |cols| {
        Grid::new("summary-requests")
            .striped(true)
            .num_columns(2)
            .show(&mut cols[0], |ui| {
                ui.strong("Requests");
                ui.label(g.requests.to_string());
                ui.end_row();
                ui.label("throughput");
                ui.label(format!("{:.1} /s", g.throughput_per_s));
                ui.end_row();
                ui.label("availability");
                ui.label(percent(g.availability));
                ui.end_row();
                ui.label(format!(
                    "within SLO ({:.0} ms)",
                    report.slo.latency_s * 1000.0
                ));
                ui.label(percent(g.slo_attainment));
                ui.end_row();
                ui.label(format!("minutes meeting SLO ({})", report.slo.target));
                ui.label(format!("{} of {}", g.minutes_meeting_slo, g.minutes));
                ui.end_row();
                for o in Outcome::ALL {
                    let n = g.outcomes.get(o);
                    if n > 0 || o == Outcome::Ok {
                        ui.label(o.name());
                        if o.answered() {
                            ui.label(n.to_string());
                        } else {
                            ui.colored_label(MISSED, n.to_string());
                        }
                        ui.end_row();
                    }
                }
            });
        Grid::new("summary-latency")
            .striped(true)
            .num_columns(2)
            .show(&mut cols[1], |ui| {
                let l = &g.latency;
                ui.strong("Latency");
                ui.label(format!("{} ok", l.count));
                ui.end_row();
                for (name, v) in [
                    ("p50", l.p50_s),
                    ("p90", l.p90_s),
                    ("p99", l.p99_s),
                    ("p99.9", l.p999_s),
                    ("mean", (l.count > 0).then_some(l.mean_s)),
                    ("max", (l.count > 0).then_some(l.max_s)),
                ] {
                    ui.label(name);
                    ui.label(ms(v));
                    ui.end_row();
                }
            });
        Grid::new("summary-cost")
            .striped(true)
            .num_columns(2)
            .show(&mut cols[2], |ui| {
                let c = &report.cost;
                ui.strong("Cost");
                ui.label(format!("{:.2}", c.total));
                ui.end_row();
                ui.label("instance-hours");
                ui.label(format!("{:.2}", c.instance_hours));
                ui.end_row();
                ui.label("of which databases");
                ui.label(format!("{:.2}", c.databases));
                ui.end_row();
                ui.label("instances mean / peak");
                ui.label(format!(
                    "{:.1} / {}",
                    report.instances.mean, report.instances.peak
                ));
                ui.end_row();
                ui.label("scale actions");
                ui.label(report.autoscaling.scale_actions.to_string());
                ui.end_row();
                ui.label("conservation");
                let cons = &report.conservation;
                let text = format!(
                    "{} = {} + {} in flight",
                    cons.created, cons.ended, cons.in_flight
                );
                if cons.holds {
                    ui.label(text);
                } else {
                    ui.colored_label(MISSED, format!("broken: {text}"));
                }
                ui.end_row();
            });
    });
}

/// Regions and their groups.
pub fn regions(ui: &mut Ui, report: &FleetReport) {
    ui.strong("Regions");
    Grid::new("regions-table")
        .striped(true)
        .num_columns(9)
        .show(ui, |ui| {
            for h in [
                "region / group",
                "balancer / type",
                "requests",
                "availability",
                "p99",
                "instances mean / peak",
                "utilisation",
                "instance-hours",
                "cost",
            ] {
                ui.strong(h);
            }
            ui.end_row();
            for r in &report.regions {
                ui.label(RichText::new(&r.name).strong());
                ui.label(&r.balancer);
                ui.label(r.scope.requests.to_string());
                ui.label(percent(r.scope.availability));
                ui.label(ms(r.scope.latency.p99_s));
                ui.label("");
                ui.label("");
                ui.label(format!("{:.2}", r.instance_hours));
                ui.label(format!("{:.2}", r.cost));
                ui.end_row();
                for gr in &r.groups {
                    ui.label(format!("  {}", gr.name));
                    ui.label(&gr.instance_type);
                    ui.label(gr.served.to_string());
                    ui.label("");
                    ui.label("");
                    ui.label(format!("{:.1} / {}", gr.mean_instances, gr.peak_instances));
                    ui.label(format!("{:.1} %", gr.utilization * 100.0));
                    ui.label(format!("{:.2}", gr.instance_hours));
                    ui.label(format!("{:.2}", gr.cost));
                    ui.end_row();
                }
            }
        });
}

/// The incidents table: one row per injected fault.
pub fn incidents(ui: &mut Ui, report: &FleetReport) {
    ui.heading(INCIDENTS);
    if report.incidents.is_empty() {
        ui.label("No injected faults (`[[faults]]`) in this scenario.");
        return;
    }
    ScrollArea::horizontal()
        .id_salt("incidents-scroll")
        .show(ui, |ui| {
            Grid::new("incidents-table")
                .striped(true)
                .num_columns(12)
                .show(ui, |ui| {
                    for h in [
                        "fault",
                        "start",
                        "end",
                        "detection",
                        "promotion",
                        "routing",
                        "RTO",
                        "RTO target",
                        "RTO met",
                        "lost writes",
                        "RPO",
                        "RPO target / met",
                    ] {
                        ui.strong(h);
                    }
                    ui.end_row();
                    for i in &report.incidents {
                        ui.label(&i.fault);
                        ui.label(format!("{:.0} s", i.start_s));
                        ui.label(format!("{:.0} s", i.end_s));
                        ui.label(secs(i.detection_s));
                        ui.label(secs(i.promotion_s));
                        ui.label(secs(i.routing_s));
                        match i.rto_s {
                            Some(s) => ui.label(format!("{s:.1} s")),
                            None => ui.colored_label(MISSED, "not recovered"),
                        };
                        ui.label(secs(i.rto_target_s));
                        met(ui, i.rto_met);
                        ui.label(i.lost_writes.to_string());
                        ui.label(format!("{:.3} s", i.rpo_s));
                        ui.horizontal(|ui| {
                            ui.label(secs(i.rpo_target_s));
                            met(ui, i.rpo_met);
                        });
                        ui.end_row();
                    }
                });
        });
}

/// The decision log, one clickable row per decision; `selected` is the
/// index of the row whose detail is shown.
pub fn decisions(ui: &mut Ui, report: &FleetReport, selected: &mut Option<usize>) {
    let log = &report.autoscaling.decisions;
    ui.heading(DECISIONS);
    if log.is_empty() {
        ui.label("No autoscaling decisions: no group in this scenario autoscales.");
        return;
    }
    ui.label(format!(
        "{} logged{}; click a row for what the policy saw and why.",
        log.len(),
        if report.autoscaling.decisions_dropped > 0 {
            format!(
                " ({} more dropped: the log is full)",
                report.autoscaling.decisions_dropped
            )
        } else {
            String::new()
        }
    ));
    if let Some(d) = selected.and_then(|i| log.get(i)) {
        egui::Frame::group(ui.style()).show(ui, |ui| {
            ui.strong(format!(
                "{:.0} s · {}/{} · {} · {}: desired {} -> {}",
                d.time_s, d.region, d.group, d.policy, d.action, d.from, d.to
            ));
            ui.label(format!("why: {}", d.reason));
            Grid::new("decision-observed").striped(true).show(ui, |ui| {
                for (k, v) in &d.observed {
                    ui.label(k);
                    ui.label(format!("{v:.4}"));
                    ui.end_row();
                }
            });
        });
    }
    let row_height = ui.text_style_height(&egui::TextStyle::Body) + 4.0;
    ScrollArea::vertical()
        .id_salt("decisions-scroll")
        .auto_shrink([false, true])
        .show_rows(ui, row_height, log.len(), |ui, rows| {
            Grid::new("decisions-table")
                .striped(true)
                .num_columns(6)
                .show(ui, |ui| {
                    for i in rows {
                        let d = &log[i];
                        if ui
                            .selectable_label(*selected == Some(i), format!("{:.0} s", d.time_s))
                            .clicked()
                        {
                            *selected = Some(i);
                        }
                        ui.label(format!("{}/{}", d.region, d.group));
                        ui.label(&d.policy);
                        ui.label(&d.action);
                        ui.label(format!("{} -> {}", d.from, d.to));
                        ui.label(&d.reason);
                        ui.end_row();
                    }
                });
        });
}
