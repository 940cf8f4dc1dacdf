//! The human-readable summary of a fleet run: run facts, the whole fleet,
//! one row per region, per instance group and per client population, cost,
//! and the conservation check.

use std::fmt::Write;

use sim_models::fleet::report::{FleetReport, ScopeReport};

use crate::summary::{opt_secs, secs, window};

fn pct(x: f64) -> String {
    if (0.9999..1.0).contains(&x) {
        format!("{:.3}%", 100.0 * x)
    } else {
        format!("{:.2}%", 100.0 * x)
    }
}

/// The errors of a scope as `timeout 12, rejected 3`, or `none`.
fn errors(s: &ScopeReport) -> String {
    let o = &s.outcomes;
    let parts: Vec<String> = [
        ("timeout", o.timeout),
        ("rejected", o.rejected),
        ("no backend", o.no_healthy_backend),
        ("circuit open", o.circuit_open),
        ("budget", o.retry_budget_exhausted),
        ("bulkhead", o.bulkhead_full),
        ("dns", o.dns_failure),
        ("database", o.database_error),
        ("degraded", o.degraded),
    ]
    .iter()
    .filter(|(_, n)| *n > 0)
    .map(|(name, n)| format!("{name} {n}"))
    .collect();
    if parts.is_empty() {
        "none".into()
    } else {
        parts.join(", ")
    }
}

fn scope_row(out: &mut String, name: &str, s: &ScopeReport) {
    let _ = writeln!(
        out,
        "  {:<16} {:>10.1} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}  {}",
        name,
        s.throughput_per_s,
        pct(s.availability),
        opt_secs(s.latency.p50_s),
        opt_secs(s.latency.p99_s),
        opt_secs(s.latency.p999_s),
        pct(s.slo_attainment),
        format!("{}/{}", s.minutes_meeting_slo, s.minutes),
        errors(s)
    );
}

fn scope_header(out: &mut String, first: &str) {
    let _ = writeln!(
        out,
        "  {:<16} {:>10} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}  errors",
        first, "ok/s", "avail", "p50", "p99", "p99.9", "in SLO", "SLO min"
    );
}

/// Renders a fleet report as text.
pub(crate) fn render(r: &FleetReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "scenario   {} (hash {})", r.scenario, r.scenario_hash);
    let _ = writeln!(
        out,
        "seed       {}    fleetsim {}",
        r.seed, r.fleetsim_version
    );
    let _ = writeln!(
        out,
        "window     {}, {} events",
        window(r.measured_from_s, r.measured_to_s),
        r.events
    );
    let _ = writeln!(
        out,
        "SLO        {} of requests within {}; a minute meets it at {}",
        pct(r.slo.target),
        secs(r.slo.latency_s),
        pct(r.slo.target)
    );
    let _ = writeln!(out, "reproduce  {}", r.reproduce);
    for f in &r.faults {
        let _ = writeln!(
            out,
            "fault      {} down {} .. {}",
            f.target,
            secs(f.start_s),
            secs(f.end_s)
        );
    }
    let _ = writeln!(out);
    scope_header(&mut out, "fleet");
    scope_row(&mut out, "all regions", &r.global);
    let _ = writeln!(out);
    scope_header(&mut out, "region");
    for region in &r.regions {
        scope_row(&mut out, &region.name, &region.scope);
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "  {:<16} {:<12} {:>9} {:>9} {:>10} {:>9} {:>10}  balancer",
        "group", "type", "instances", "util", "queue/inst", "inst-h", "cost"
    );
    for region in &r.regions {
        for g in &region.groups {
            let _ = writeln!(
                out,
                "  {:<16} {:<12} {:>9.1} {:>9} {:>10.2} {:>9.1} {:>10.2}  {}{}",
                format!("{}/{}", region.name, g.name),
                g.instance_type,
                g.mean_instances,
                pct(g.utilization),
                g.mean_queue_length_per_instance,
                g.instance_hours,
                g.cost,
                region.balancer,
                if region.ejections > 0 {
                    format!(", {} ejections", region.ejections)
                } else {
                    String::new()
                }
            );
        }
    }
    render_autoscaling(&mut out, r);
    let _ = writeln!(out);
    scope_header(&mut out, "population");
    for p in &r.populations {
        scope_row(&mut out, &p.name, &p.scope);
    }
    let extras: Vec<String> = r
        .populations
        .iter()
        .filter(|p| p.retries + p.hedges + p.breaker_opens > 0)
        .map(|p| {
            format!(
                "{}: {} retries, {} hedges, {} breaker openings",
                p.name, p.retries, p.hedges, p.breaker_opens
            )
        })
        .collect();
    for e in extras {
        let _ = writeln!(out, "  {e}");
    }
    render_data(&mut out, r);
    render_incidents(&mut out, r);
    render_recovery(&mut out, r);
    render_expectations(&mut out, r);
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "cost       {:.1} instance-hours, {:.2} in all ({})",
        r.cost.instance_hours,
        r.cost.total,
        r.regions
            .iter()
            .map(|g| format!("{} {:.2}", g.name, g.cost))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = writeln!(
        out,
        "instances  mean {:.1}, peak {}",
        r.instances.mean, r.instances.peak
    );
    let c = &r.conservation;
    let _ = writeln!(
        out,
        "requests   {} created = {} ended + {} in flight: {}",
        c.created,
        c.ended,
        c.in_flight,
        if c.holds {
            "conserved"
        } else {
            "NOT CONSERVED (a fleetsim bug)"
        }
    );
    out
}

/// Databases (per node: role, load, utilisation, lag) and caches.
fn render_data(out: &mut String, r: &FleetReport) {
    let Some(data) = &r.data else {
        return;
    };
    for db in &data.databases {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "  database {} ({}): {} reads, {} writes, {} failed, {} stale reads ({}), {} read-your-writes violations{}{}{}",
            db.name,
            if db.topology == "active_active" {
                "active-active".to_string()
            } else {
                db.replication.clone()
            },
            db.reads,
            db.writes,
            db.failed_queries,
            db.stale_reads,
            pct(db.stale_read_ratio),
            db.read_your_writes_violations,
            if db.shards.len() > 1 {
                format!(", hottest shard {}", pct(db.hottest_shard_share))
            } else {
                String::new()
            },
            if db.failovers > 0 {
                format!(
                    ", {} failovers, {} writes lost",
                    db.failovers, db.lost_writes
                )
            } else {
                String::new()
            },
            if db.conflicts > 0 {
                format!(", {} write conflicts (last writer wins)", db.conflicts)
            } else {
                String::new()
            }
        );
        let _ = writeln!(
            out,
            "    {:<10} {:<12} {:<8} {:>9} {:>9} {:>9} {:>10} {:>10}",
            "node", "region", "role", "reads", "writes", "util", "lag mean", "lag max"
        );
        for shard in &db.shards {
            for n in &shard.nodes {
                let _ = writeln!(
                    out,
                    "    {:<10} {:<12} {:<8} {:>9} {:>9} {:>9} {:>10} {:>10}",
                    if db.shards.len() > 1 {
                        format!("{}#{}", shard.shard, n.node)
                    } else {
                        format!("#{}", n.node)
                    },
                    n.region,
                    n.role,
                    n.reads,
                    n.writes,
                    pct(n.utilization),
                    secs(n.lag_mean_s),
                    secs(n.lag_max_s)
                );
            }
        }
    }
    if !data.caches.is_empty() {
        let _ = writeln!(out);
        for c in &data.caches {
            let _ = writeln!(
                out,
                "  cache {}@{}: hit ratio {} ({} hits, {} misses){}{}",
                c.name,
                c.region,
                pct(c.hit_ratio),
                c.hits,
                c.misses,
                if c.bypassed > 0 {
                    format!(", {} reads bypassed it while down", c.bypassed)
                } else {
                    String::new()
                },
                if c.stale_served > 0 {
                    format!(", {} stale answers served", c.stale_served)
                } else {
                    String::new()
                }
            );
        }
    }
}

/// The incidents table: per fault, detection → promotion → routing, RTO
/// and RPO against the targets.
fn render_incidents(out: &mut String, r: &FleetReport) {
    if r.incidents.is_empty() {
        return;
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "  {:<28} {:>9} {:>9} {:>9} {:>9} {:>18} {:>7} {:>20}",
        "incident", "at", "detect", "promote", "route", "RTO (target)", "lost", "RPO (target)"
    );
    let verdict = |met: Option<bool>| match met {
        Some(true) => " met",
        Some(false) => " MISSED",
        None => "",
    };
    for i in &r.incidents {
        let rto = match (i.rto_s, i.rto_target_s) {
            (Some(v), Some(t)) => format!("{} ({}){}", secs(v), secs(t), verdict(i.rto_met)),
            (Some(v), None) => secs(v),
            (None, Some(t)) => format!("not recovered ({}){}", secs(t), verdict(i.rto_met)),
            (None, None) => "not recovered".into(),
        };
        let rpo = match i.rpo_target_s {
            Some(t) => format!("{} ({}){}", secs(i.rpo_s), secs(t), verdict(i.rpo_met)),
            None => secs(i.rpo_s),
        };
        let _ = writeln!(
            out,
            "  {:<28} {:>9} {:>9} {:>9} {:>9} {:>18} {:>7} {:>20}",
            i.fault,
            secs(i.start_s),
            opt_secs(i.detection_s),
            opt_secs(i.promotion_s),
            opt_secs(i.routing_s),
            rto,
            i.lost_writes,
            rpo
        );
    }
}

/// The metastability probe: baseline, trough, and whether goodput came
/// back after the trigger.
fn render_recovery(out: &mut String, r: &FleetReport) {
    let Some(x) = &r.recovery else { return };
    let _ = writeln!(out);
    let verdict = match x.recovery_s {
        Some(s) => format!("RECOVERED {} after the trigger ended", secs(s)),
        None => "STUCK: goodput did not come back before the end of the run".into(),
    };
    let _ = writeln!(
        out,
        "recovery   trigger {}..{}: goodput {:.1}/s before, {:.1}/s at worst, {:.1}/s at the end; {} (needs {:.0}% of the baseline for {})",
        secs(x.trigger_start_s),
        secs(x.trigger_end_s),
        x.baseline_goodput_per_s,
        x.min_goodput_per_s,
        x.final_goodput_per_s,
        verdict,
        x.tolerance * 100.0,
        secs(x.hold_s)
    );
}

/// Each `[[expect]]`: the check, the measured value, met or missed, and the
/// scenario's finding where it expects a miss.
fn render_expectations(out: &mut String, r: &FleetReport) {
    if r.expectations.is_empty() {
        return;
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "  {:<36} {:>14}  verdict", "expectation", "measured");
    for e in &r.expectations {
        let measured = e.measured.map_or("undefined".into(), |v| format!("{v:.6}"));
        let verdict = match (e.met, &e.finding) {
            (true, None) => "met".to_string(),
            (false, None) => "MISSED".to_string(),
            (false, Some(_)) => "missed (a known finding, see the scenario)".to_string(),
            (true, Some(_)) => "met, although the scenario records it as a finding".to_string(),
        };
        let _ = writeln!(out, "  {:<36} {:>14}  {verdict}", e.check, measured);
    }
}

/// How many decision-log lines the text summary shows (the JSON report has
/// them all).
const DECISIONS_SHOWN: usize = 12;

/// Per autoscaled group: its policies and what they did; then the last few
/// decisions of the log.
fn render_autoscaling(out: &mut String, r: &FleetReport) {
    let mut any = false;
    for region in &r.regions {
        for g in &region.groups {
            let Some(a) = &g.autoscaling else { continue };
            if !any {
                let _ = writeln!(out);
                any = true;
            }
            let _ = writeln!(
                out,
                "  {:<16} {}: {} scale actions, {} launched, {} terminated, peak {}, desired {} at the end{}{}",
                format!("{}/{}", region.name, g.name),
                a.policies.join(" + "),
                a.scale_actions,
                a.launches,
                a.terminations,
                g.peak_instances,
                a.final_desired,
                if a.quota_refusals > 0 {
                    format!(", {} launches refused by quota", a.quota_refusals)
                } else {
                    String::new()
                },
                if a.drain_cut_requests > 0 {
                    format!(", {} requests cut by drain deadlines", a.drain_cut_requests)
                } else {
                    String::new()
                }
            );
        }
    }
    let log = &r.autoscaling.decisions;
    if log.is_empty() {
        return;
    }
    let skipped = log.len().saturating_sub(DECISIONS_SHOWN);
    let _ = writeln!(
        out,
        "  decisions ({} logged{}; all in the JSON report's autoscaling.decisions):",
        log.len() as u64 + r.autoscaling.decisions_dropped,
        if skipped > 0 {
            format!(", the last {DECISIONS_SHOWN} shown")
        } else {
            String::new()
        }
    );
    for d in &log[skipped..] {
        let seen: Vec<String> = d
            .observed
            .iter()
            .map(|(k, v)| format!("{k}={}", short(*v)))
            .collect();
        let _ = writeln!(
            out,
            "    {:>9} {}/{} {} {} {}→{}: {} [{}]",
            secs(d.time_s),
            d.region,
            d.group,
            d.policy,
            d.action,
            d.from,
            d.to,
            d.reason,
            seen.join(" ")
        );
    }
}

/// A metric value with as many digits as it needs.
fn short(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e9 {
        format!("{v:.0}")
    } else if v.abs() >= 100.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
    }
}
