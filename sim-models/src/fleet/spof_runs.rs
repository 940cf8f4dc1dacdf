//! Dynamic SPOF analysis (N−1): run the scenario once per component with
//! that component failed at a given time for a given duration, on the same
//! seeds as a run with no fault (common random numbers), and measure what
//! it cost — extra failed requests, availability while it was down,
//! SLO-violation minutes, time to recover. Components are ranked by impact,
//! and each is set against the static analysis: a SPOF the runs confirm,
//! or redundancy that did not hold in practice.

use rayon::prelude::*;
use serde::Serialize;
use sim_core::{SimDuration, SimTime};

use super::config::{FaultConfig, FaultTarget, FleetConfig, Window};
use super::data::config::Topology;
use super::report::FleetReport;
use super::spof::{ComponentKind, StaticSpofReport};
use crate::sweep::results::Estimate;

/// What to fail, when, on which seeds.
#[derive(Clone, Debug)]
pub struct DynamicOptions {
    /// Seeds every component (and the baseline) runs on.
    pub seeds: Vec<u64>,
    /// When each component fails, seconds from the start.
    pub at_s: f64,
    /// How long it stays down, seconds.
    pub duration_s: f64,
    /// Worker threads (0: all cores).
    pub jobs: usize,
}

/// One component to fail.
#[derive(Clone, Debug)]
struct Candidate {
    name: String,
    kind: ComponentKind,
    target: FaultTarget,
}

/// The figures of one run that the analysis compares.
#[derive(Clone, Copy, Debug, Default)]
struct RunFigures {
    failed: f64,
    window_availability: Option<f64>,
    slo_violation_minutes: f64,
    /// Seconds from the fault to lasting recovery (none: not recovered).
    rto_s: Option<f64>,
}

/// What failing one component did, over the seeds.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ComponentImpact {
    /// The component, named as in the static analysis.
    pub component: String,
    /// Its kind.
    pub kind: ComponentKind,
    /// Whether the static analysis calls it a single point of failure.
    pub static_spof: bool,
    /// Failed requests beyond the no-fault run on the same seed.
    pub extra_failed_requests: Option<Estimate>,
    /// Share of requests that succeeded while it was down.
    pub availability_during_fault: Option<Estimate>,
    /// Minutes whose good share missed the SLO, beyond the no-fault run
    /// on the same seed (whole measured window).
    pub extra_slo_violation_minutes: Option<Estimate>,
    /// Seconds from the failure until the fleet met the SLO again for good
    /// (series buckets), over the seeds that recovered.
    pub rto_s: Option<Estimate>,
    /// Seeds on which it had not recovered by the end of the run.
    pub not_recovered: usize,
    /// One line: what the runs say about it.
    pub verdict: String,
}

/// The N−1 analysis.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DynamicSpofReport {
    /// When each component failed, seconds.
    pub at_s: f64,
    /// How long it stayed down, seconds.
    pub duration_s: f64,
    /// The seeds.
    pub seeds: Vec<u64>,
    /// The no-fault runs: failed requests.
    pub baseline_failed_requests: Option<Estimate>,
    /// The no-fault runs: availability over the same window.
    pub baseline_availability: Option<Estimate>,
    /// Every component failed, most harmful first.
    pub components: Vec<ComponentImpact>,
    /// What the analysis did and did not cover.
    pub notes: Vec<String>,
}

/// The components failed one at a time: the GeoDNS provider, every region,
/// balancer, zone with instances and group, one instance per (group, zone)
/// — instances of a group in a zone are interchangeable — and the data
/// tier (below).
fn candidates(config: &FleetConfig) -> Vec<Candidate> {
    let mut out = vec![Candidate {
        name: "geodns".into(),
        kind: ComponentKind::Dns,
        target: FaultTarget::Dns,
    }];
    for (r, rc) in config.regions.iter().enumerate() {
        out.push(Candidate {
            name: rc.name.clone(),
            kind: ComponentKind::Region,
            target: FaultTarget::Region(r),
        });
        out.push(Candidate {
            name: format!("{}/balancer", rc.name),
            kind: ComponentKind::Balancer,
            target: FaultTarget::Balancer(r),
        });
        let mut zone_used = vec![false; rc.zones.len()];
        let mut instances = Vec::new();
        for (g, gc) in rc.groups.iter().enumerate() {
            out.push(Candidate {
                name: format!("{}/{}", rc.name, gc.name),
                kind: ComponentKind::Group,
                target: FaultTarget::Group(r, g),
            });
            let mut seen = vec![false; rc.zones.len()];
            for k in 0..gc.instances {
                let z = gc.starting_zone(k);
                zone_used[z] = true;
                if !std::mem::replace(&mut seen[z], true) {
                    instances.push(Candidate {
                        name: format!("{}/{}#{k}", rc.name, gc.name),
                        kind: ComponentKind::Instance,
                        target: FaultTarget::Instance(r, g, k),
                    });
                }
            }
        }
        for (z, name) in rc.zones.iter().enumerate() {
            if zone_used[z] {
                out.push(Candidate {
                    name: format!("{}/{name}", rc.name),
                    kind: ComponentKind::Zone,
                    target: FaultTarget::Zone(r, z),
                });
            }
        }
        out.extend(instances);
    }
    // The data tier: each database's shard 0 stands for its shards (they
    // have the same layout): its primary (every node, active-active) and
    // its first replica; each cache in every region with instances.
    for (d, dc) in config.databases.iter().enumerate() {
        let nodes = dc.shard_nodes[0].len();
        match dc.topology {
            Topology::ActiveActive { .. } => {
                for n in 0..nodes {
                    out.push(Candidate {
                        name: super::spof::database_node_name(config, d, 0, n),
                        kind: ComponentKind::DatabasePrimary,
                        target: if n == 0 {
                            FaultTarget::DatabasePrimary(d, 0)
                        } else {
                            FaultTarget::DatabaseReplica(d, 0, n - 1)
                        },
                    });
                }
            }
            Topology::PrimaryReplica => {
                out.push(Candidate {
                    name: super::spof::database_node_name(config, d, 0, 0),
                    kind: ComponentKind::DatabasePrimary,
                    target: FaultTarget::DatabasePrimary(d, 0),
                });
                if nodes > 1 {
                    out.push(Candidate {
                        name: super::spof::database_node_name(config, d, 0, 1),
                        kind: ComponentKind::DatabaseReplica,
                        target: FaultTarget::DatabaseReplica(d, 0, 0),
                    });
                }
            }
        }
    }
    for (c, cc) in config.caches.iter().enumerate() {
        let used = config.populations.iter().any(|p| {
            p.classes
                .iter()
                .any(|k| k.data.is_some_and(|x| x.cache == Some(c)))
        });
        if !used {
            continue;
        }
        for (r, rc) in config.regions.iter().enumerate() {
            if rc
                .groups
                .iter()
                .any(|g| g.instances > 0 || g.autoscaling.is_some())
            {
                out.push(Candidate {
                    name: format!("cache {}@{}", cc.name, rc.name),
                    kind: ComponentKind::Cache,
                    target: FaultTarget::Cache(c, r),
                });
            }
        }
    }
    out
}

/// How many runs [`analyze`] makes for `seeds` seeds.
pub fn run_count(config: &FleetConfig, seeds: usize) -> usize {
    (candidates(config).len() + 1) * seeds
}

/// The fault window, in the run's clock.
#[derive(Clone, Copy, Debug)]
struct FaultWindow {
    at: SimTime,
    duration: SimDuration,
}

/// Runs `config` on `seed`, with `fault` added.
fn run(
    config: &FleetConfig,
    fault: Option<&Candidate>,
    opts: &FaultWindow,
    seed: u64,
) -> FleetReport {
    let mut config = config.clone();
    if let Some(c) = fault {
        config.faults.push(FaultConfig {
            target: c.target,
            label: c.name.clone(),
            window: Window {
                start: opts.at,
                end: opts.at + opts.duration,
            },
            slowdown: 1.0,
            latency: SimDuration::ZERO,
            loss: 0.0,
            rto_target: None,
            rpo_target: None,
        });
    }
    super::run_config(&config, seed)
}

/// The figures of one run for a fault over `[at, at + duration)`.
fn figures(r: &FleetReport, config: &FleetConfig, opts: &FaultWindow) -> RunFigures {
    let interval = r.series.interval_s;
    let (from, to) = (
        opts.at.as_secs_f64(),
        (opts.at + opts.duration).as_secs_f64(),
    );
    let in_window = |t: f64| t + interval > from && t < to;
    let (mut ok, mut all) = (0.0, 0.0);
    for p in r.series.global.iter().filter(|p| in_window(p.t_s)) {
        ok += f64::from(p.ok_per_s) * interval;
        all += f64::from(p.rate_per_s) * interval;
    }
    // A bucket meets the SLO if its errors are within the SLO's budget and
    // its p99 within the SLO latency; recovery is the start of the first
    // bucket after the failure from which every bucket to the run's end
    // does.
    let slo = config.run.slo;
    let good = |p: &super::metrics::SeriesPoint| {
        let ended = f64::from(p.rate_per_s) * interval;
        ended > 0.0
            && f64::from(p.errors) <= (1.0 - slo.target) * ended
            && p.p99_s
                .is_some_and(|q| f64::from(q) <= slo.latency.as_secs_f64())
    };
    let after: Vec<_> = r
        .series
        .global
        .iter()
        .filter(|p| p.t_s + interval > from)
        .collect();
    let rto_s = match after.iter().rposition(|p| !good(p)) {
        None => Some(0.0),
        Some(last_bad) if last_bad + 1 < after.len() => {
            Some((after[last_bad + 1].t_s - from).max(0.0))
        }
        Some(_) => None,
    };
    let g = &r.global;
    RunFigures {
        failed: g.requests.saturating_sub(g.outcomes.answered()) as f64,
        window_availability: (all > 0.0).then(|| ok / all),
        slo_violation_minutes: g.minutes.saturating_sub(g.minutes_meeting_slo) as f64,
        rto_s,
    }
}

/// Fails every component of `config` in turn (see the module docs);
/// `on_run` is called after each run (for progress). The result does not
/// depend on `jobs`.
pub fn analyze(
    config: &FleetConfig,
    static_report: &StaticSpofReport,
    opts: &DynamicOptions,
    on_run: &(dyn Fn() + Sync),
) -> Result<DynamicSpofReport, String> {
    let run_end = config.run.duration;
    if !(opts.at_s.is_finite() && opts.at_s >= 0.0 && opts.at_s < run_end.as_secs_f64()) {
        return Err(format!(
            "--at {}s is not within the run (0 to {run_end})",
            opts.at_s
        ));
    }
    if !(opts.duration_s.is_finite() && opts.duration_s > 0.0) {
        return Err(format!("--duration {}s must be positive", opts.duration_s));
    }
    let window = FaultWindow {
        at: SimTime::ZERO + SimDuration::from_secs_f64(opts.at_s),
        duration: SimDuration::from_secs_f64(opts.duration_s),
    };
    if opts.seeds.is_empty() {
        return Err("--seeds must be at least 1".into());
    }
    let cands = candidates(config);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.jobs)
        .build()
        .map_err(|e| format!("cannot start worker threads: {e}"))?;
    // Unit 0 is the baseline; unit i + 1 is candidate i. Collected in
    // order, so nothing depends on which thread ran what.
    let units: Vec<(Option<usize>, u64)> = std::iter::once(None)
        .chain((0..cands.len()).map(Some))
        .flat_map(|c| opts.seeds.iter().map(move |&s| (c, s)))
        .collect();
    let results: Vec<RunFigures> = pool.install(|| {
        units
            .par_iter()
            .with_max_len(1)
            .map(|&(c, seed)| {
                let report = run(config, c.map(|i| &cands[i]), &window, seed);
                on_run();
                figures(&report, config, &window)
            })
            .collect()
    });
    let n = opts.seeds.len();
    let baseline = &results[..n];
    let estimate = |xs: Vec<f64>| Estimate::of(&xs);
    let static_spofs: Vec<&str> = static_report
        .spofs
        .iter()
        .map(|s| s.component.as_str())
        .collect();
    let mut components: Vec<ComponentImpact> = (cands.iter().enumerate())
        .map(|(i, c)| {
            let runs = &results[(i + 1) * n..(i + 2) * n];
            let extra: Vec<f64> = runs
                .iter()
                .zip(baseline)
                .map(|(r, b)| r.failed - b.failed)
                .collect();
            let availability: Vec<f64> =
                runs.iter().filter_map(|r| r.window_availability).collect();
            let rto: Vec<f64> = runs.iter().filter_map(|r| r.rto_s).collect();
            let not_recovered = runs.len() - rto.len();
            let static_spof = static_spofs.contains(&c.name.as_str());
            let mean_availability = Estimate::of(&availability).map(|e| e.mean);
            let mean_rto = Estimate::of(&rto).map(|e| e.mean);
            let verdict = verdict(
                static_spof,
                mean_availability,
                mean_rto,
                not_recovered,
                detection_bound(config, c.kind),
                opts.duration_s,
            );
            ComponentImpact {
                component: c.name.clone(),
                kind: c.kind,
                static_spof,
                extra_failed_requests: estimate(extra),
                availability_during_fault: Estimate::of(&availability),
                extra_slo_violation_minutes: estimate(
                    (runs.iter().zip(baseline))
                        .map(|(r, b)| r.slo_violation_minutes - b.slo_violation_minutes)
                        .collect(),
                ),
                rto_s: Estimate::of(&rto),
                not_recovered,
                verdict,
            }
        })
        .collect();
    components.sort_by(|a, b| {
        let key = |c: &ComponentImpact| c.extra_failed_requests.map_or(0.0, |e| e.mean);
        key(b)
            .total_cmp(&key(a))
            .then(a.component.cmp(&b.component))
    });
    Ok(DynamicSpofReport {
        at_s: opts.at_s,
        duration_s: opts.duration_s,
        seeds: opts.seeds.clone(),
        baseline_failed_requests: estimate(baseline.iter().map(|r| r.failed).collect()),
        baseline_availability: estimate(baseline.iter().filter_map(|r| r.window_availability).collect()),
        components,
        notes: vec![
            format!(
                "every component fails at {}s for {}s; one instance per (group, zone) is tried",
                opts.at_s, opts.duration_s
            ),
            "the data tier: each database's shard 0 stands for its shards (primary and first replica; every node when active-active), and each cache is failed in every region with instances".into(),
            "recovery: the first 10 s series bucket after which every bucket's errors fit the SLO's budget and its p99 the SLO latency".into(),
        ],
    })
}

/// The longest a failed component of `kind` can go unnoticed, plus one
/// client timeout: the balancer's health checks (interval × unhealthy
/// threshold, the slowest region) for zones, groups and instances; GeoDNS's
/// checks and the TTL for regions and balancers, which clients must route
/// around.
fn detection_bound(config: &FleetConfig, kind: ComponentKind) -> f64 {
    let timeout = (config.populations.iter())
        .map(|p| p.client.timeout.as_secs_f64())
        .fold(0.0, f64::max);
    let detect = match kind {
        ComponentKind::Region | ComponentKind::Balancer | ComponentKind::Dns => {
            config.dns.health_check.interval.as_secs_f64()
                * f64::from(config.dns.health_check.unhealthy_threshold)
                + config.dns.ttl.as_secs_f64()
        }
        ComponentKind::Zone | ComponentKind::Group | ComponentKind::Instance => {
            (config.regions.iter())
                .map(|r| {
                    let h = r.balancer.health_check;
                    h.interval.as_secs_f64() * f64::from(h.unhealthy_threshold)
                })
                .fold(0.0, f64::max)
        }
        // Detection, promotion and re-pointing (the slowest database); a
        // primary without failover is never replaced, which the runs show.
        ComponentKind::DatabasePrimary => (config.databases.iter())
            .filter_map(|d| d.failover)
            .map(|f| {
                f.check_interval.as_secs_f64() * f64::from(f.failures)
                    + f.promotion.as_secs_f64()
                    + f.repoint.as_secs_f64()
            })
            .fold(0.0, f64::max),
        // Leaving the read pool (the failover manager's checks, or 5 s × 3),
        // plus the connect timeout of queries sent to it meanwhile.
        ComponentKind::DatabaseReplica => (config.databases.iter())
            .map(|d| {
                d.failover.map_or(15.0, |f| {
                    f.check_interval.as_secs_f64() * f64::from(f.failures)
                }) + d.connect_timeout.as_secs_f64()
            })
            .fold(0.0, f64::max),
        // Nothing to detect: reads go to the database at once.
        ComponentKind::Cache => 0.0,
    };
    detect + timeout
}

/// What the runs say about one component.
fn verdict(
    static_spof: bool,
    availability: Option<f64>,
    rto: Option<f64>,
    not_recovered: usize,
    detection: f64,
    fault_s: f64,
) -> String {
    let cut_off = availability.is_some_and(|a| a < 0.5);
    match (static_spof, cut_off) {
        (true, true) => "SPOF confirmed: service was lost while it was down".into(),
        (true, false) => format!(
            "static SPOF, but {:.1}% of requests still succeeded while it was down (clients' cached DNS answers, retries)",
            availability.unwrap_or(0.0) * 100.0
        ),
        (false, true) => "redundant on paper, but service was lost while it was down".into(),
        (false, false) => {
            if not_recovered > 0 {
                format!(
                    "redundant on paper, but the SLO was not met again by the end of the run on {not_recovered} seed(s)"
                )
            } else {
                match rto {
                    Some(rto) if rto >= fault_s && rto > detection => format!(
                        "redundant on paper, but the SLO was missed until it came back ({rto:.0}s): not enough capacity without it"
                    ),
                    Some(rto) if rto > detection => format!(
                        "redundant, but recovery took {rto:.0}s, longer than detection ({detection:.0}s)"
                    ),
                    Some(rto) if rto > 0.0 => format!(
                        "redundant: recovered in {rto:.0}s, within detection time ({detection:.0}s)"
                    ),
                    _ => "redundant: no SLO impact".into(),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Format, load_fleet_scenario};

    /// One region, one group of four instances over two zones, 200
    /// requests/s for four minutes; health checks every 10 s.
    const FLEET: &str = r#"
[run]
duration = "4min"
warmup = "30s"
[[instance_types]]
name = "t"
workers = 8
hourly_price = 0.1
[[regions]]
name = "east"
zones = ["a", "b"]
balancer = { algorithm = "p2c", health_check = { interval = "10s", unhealthy_threshold = 2, healthy_threshold = 2 } }
[[regions.groups]]
name = "web"
instance_type = "t"
instances = 4
[[populations]]
name = "users"
region = "east"
rate = { profile = "constant", per_second = 200 }
client = { timeout = "1s" }
[[populations.classes]]
name = "c"
share = 1.0
demand = { type = "exponential", mean = "20ms" }
"#;

    fn analyze_with(jobs: usize) -> DynamicSpofReport {
        let scenario = load_fleet_scenario(FLEET, Format::Toml, &[], &|_| Err("no files".into()))
            .expect("valid");
        let static_report = super::super::spof::analyze(&scenario.config);
        let opts = DynamicOptions {
            seeds: vec![1, 2],
            at_s: 60.0,
            duration_s: 90.0,
            jobs,
        };
        analyze(&scenario.config, &static_report, &opts, &|| {}).expect("runs")
    }

    #[test]
    fn n_minus_one_confirms_the_group_and_finds_the_zones_redundant() {
        let r = analyze_with(2);
        assert_eq!(r, analyze_with(1), "results depend on the thread count");
        let by = |name: &str| r.components.iter().find(|c| c.component == name).unwrap();
        let names: Vec<&str> = r.components.iter().map(|c| c.component.as_str()).collect();
        assert_eq!(
            names.len(),
            1 + 3 + 2 + 2,
            "geodns, region, balancer, group, two zones, two instances: {names:?}"
        );
        // GeoDNS is a static SPOF; clients' cached answers soften it in
        // the runs (they fail only as answers expire).
        assert!(by("geodns").static_spof);
        assert!(
            by("geodns")
                .extra_failed_requests
                .is_some_and(|e| e.mean > 0.0)
        );
        for spof in ["east", "east/balancer", "east/web"] {
            let c = by(spof);
            assert!(c.static_spof, "{spof}");
            assert!(
                c.verdict.starts_with("SPOF confirmed"),
                "{spof}: {}",
                c.verdict
            );
            assert!(c.availability_during_fault.unwrap().mean < 0.05, "{spof}");
        }
        let zone = by("east/a");
        assert!(!zone.static_spof);
        assert!(
            zone.availability_during_fault.unwrap().mean > 0.8,
            "{zone:?}"
        );
        assert!(zone.verdict.starts_with("redundant"), "{}", zone.verdict);
        let rto = zone.rto_s.expect("recovered").mean;
        assert!(
            rto <= 40.0,
            "two 10 s checks and a 1 s timeout, then served: {rto}"
        );
        // Most harmful first.
        assert!(r.components[0].static_spof);
        assert!(
            r.components[0].extra_failed_requests.unwrap().mean
                > zone.extra_failed_requests.unwrap().mean
        );
    }

    #[test]
    fn windows_outside_the_run_are_refused() {
        let scenario = load_fleet_scenario(FLEET, Format::Toml, &[], &|_| Err("no files".into()))
            .expect("valid");
        let s = super::super::spof::analyze(&scenario.config);
        let opts = |at_s, duration_s| DynamicOptions {
            seeds: vec![1],
            at_s,
            duration_s,
            jobs: 1,
        };
        let err = analyze(&scenario.config, &s, &opts(300.0, 10.0), &|| {}).unwrap_err();
        assert!(err.contains("--at 300s is not within the run"), "{err}");
        let err = analyze(&scenario.config, &s, &opts(10.0, 0.0), &|| {}).unwrap_err();
        assert!(err.contains("--duration"), "{err}");
    }
}
