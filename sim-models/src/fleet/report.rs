//! The results of one fleet run, as plain serializable data with stable
//! field names (documented in `docs/report.md`).
//!
//! Like the station report it holds only simulated quantities and what is
//! needed to reproduce them, never a wall-clock time: the same scenario and
//! seed give a byte-identical report. Times are in seconds, money in the
//! currency of the scenario's `hourly_price`.

use serde::Serialize;

use super::data::report::{DataReport, IncidentReport, data_report, incidents};
use super::expect::{ExpectationReport, RecoveryReport, evaluate, recovery_report};
use sim_core::SimTime;
use sim_core::stats::LatencyHistogram;

use super::config::{Algorithm, FleetConfig};
use super::metrics::{OutcomeCounts, ScopeStats, SeriesPoint};
use super::model::{Conservation, DecisionRecord, FleetModel};
use crate::report::{FLEETSIM_VERSION, LatencyReport};

/// Everything one fleet run measured.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FleetReport {
    /// Version of fleetsim that produced this report.
    pub fleetsim_version: String,
    /// Scenario name.
    pub scenario: String,
    /// Hash of the scenario's effective content (after `--set` overrides).
    pub scenario_hash: String,
    /// Master seed.
    pub seed: u64,
    /// A command that reproduces this report.
    pub reproduce: String,
    /// Start of the measured window (end of warm-up), seconds.
    pub measured_from_s: f64,
    /// End of the run, seconds.
    pub measured_to_s: f64,
    /// Events delivered in the whole run.
    pub events: u64,
    /// The latency objective the SLO figures use.
    pub slo: SloReport,
    /// The whole fleet.
    pub global: ScopeReport,
    /// Per region, in file order.
    pub regions: Vec<RegionReport>,
    /// Per client population, in file order.
    pub populations: Vec<PopulationReport>,
    /// Instance-hours and cost over the whole run.
    pub cost: CostReport,
    /// Instances over the measured window (every group together).
    pub instances: InstancesReport,
    /// What the autoscalers did, and why.
    pub autoscaling: AutoscalingReport,
    /// The injected faults (`[[faults]]`), in file order.
    pub faults: Vec<FaultReport>,
    /// One row per injected fault: detection, promotion, routing, RTO and
    /// RPO, against the scenario's targets.
    pub incidents: Vec<IncidentReport>,
    /// Databases and caches (absent when the scenario has none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<DataReport>,
    /// Request conservation over the whole run (warm-up included).
    pub conservation: ConservationReport,
    /// Per-bucket time series (whole run, warm-up included).
    pub series: SeriesReport,
    /// The metastability probe's verdict (`[recovery]`; null without one).
    pub recovery: Option<RecoveryReport>,
    /// Each `[[expect]]` with its measured value and verdict.
    pub expectations: Vec<ExpectationReport>,
}

/// The SLO used.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SloReport {
    /// A request is good if it succeeds within this, seconds.
    pub latency_s: f64,
    /// Share of good requests a minute needs to meet the SLO.
    pub target: f64,
}

/// Outcome, latency and SLO figures of one scope (fleet, region, population)
/// over the measured window.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ScopeReport {
    /// Requests that ended in the window.
    pub requests: u64,
    /// Successful requests per second.
    pub throughput_per_s: f64,
    /// Requests by outcome.
    pub outcomes: OutcomeCounts,
    /// Share of requests that succeeded.
    pub availability: f64,
    /// Latency of successful requests.
    pub latency: LatencyReport,
    /// Share of requests that succeeded within the SLO latency.
    pub slo_attainment: f64,
    /// Minutes with traffic in the window.
    pub minutes: u64,
    /// Of those, minutes whose good share reached the SLO target.
    pub minutes_meeting_slo: u64,
    /// `minutes_meeting_slo / minutes`.
    pub minutes_meeting_slo_share: f64,
}

/// One region.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RegionReport {
    /// Region name.
    pub name: String,
    /// Requests whose last attempt went to this region.
    #[serde(flatten)]
    pub scope: ScopeReport,
    /// The balancer's algorithm.
    pub balancer: String,
    /// Outlier ejections during the run.
    pub ejections: u64,
    /// Time GeoDNS considered the region unhealthy, seconds.
    pub dns_unhealthy_s: f64,
    /// Billed instance-hours of the region's groups over the whole run.
    pub instance_hours: f64,
    /// Their cost.
    pub cost: f64,
    /// Per instance group.
    pub groups: Vec<GroupReport>,
}

/// One instance group.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GroupReport {
    /// Group name.
    pub name: String,
    /// Instance type.
    pub instance_type: String,
    /// Mean instances alive over the window.
    pub mean_instances: f64,
    /// Most instances alive at once over the window.
    pub peak_instances: u64,
    /// Mean share of workers busy over the window.
    pub utilization: f64,
    /// Mean requests waiting in queues (all instances together).
    pub mean_queue_length: f64,
    /// Mean requests waiting per instance.
    pub mean_queue_length_per_instance: f64,
    /// Requests served to completion in the window.
    pub served: u64,
    /// Requests rejected by full queues in the window.
    pub rejected: u64,
    /// Billed instance-hours over the whole run: each instance from launch
    /// to termination (or the end of the run), at least the type's billing
    /// minimum.
    pub instance_hours: f64,
    /// `instance_hours × hourly_price`.
    pub cost: f64,
    /// The group's autoscaling, if it has any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub autoscaling: Option<GroupAutoscalingReport>,
}

/// What one group's autoscaler did over the whole run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GroupAutoscalingReport {
    /// The policies, in evaluation order (e.g. `["hpa"]`,
    /// `["target_tracking", "scheduled"]`).
    pub policies: Vec<String>,
    /// Decisions that changed the desired capacity.
    pub scale_actions: u64,
    /// Instances launched.
    pub launches: u64,
    /// Instances terminated (scale-in, cancelled launches).
    pub terminations: u64,
    /// Launches the region's instance quota refused.
    pub quota_refusals: u64,
    /// Requests cut because a drain ran past its deadline.
    pub drain_cut_requests: u64,
    /// Desired capacity at the end of the run.
    pub final_desired: u32,
}

/// Instances of the whole fleet over the measured window.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct InstancesReport {
    /// Mean instances alive (booting, serving or draining).
    pub mean: f64,
    /// Most alive at once.
    pub peak: u64,
}

/// The autoscalers over the whole run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AutoscalingReport {
    /// Decisions that changed some group's desired capacity.
    pub scale_actions: u64,
    /// Every decision, held decision and refused launch, in time order (at
    /// most 10,000; see `decisions_dropped`).
    pub decisions: Vec<DecisionRecord>,
    /// Decisions not logged because the log was full.
    pub decisions_dropped: u64,
}

/// One client population.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PopulationReport {
    /// Population name.
    pub name: String,
    /// Requests from this population.
    #[serde(flatten)]
    pub scope: ScopeReport,
    /// Requests created over the whole run.
    pub created: u64,
    /// Retries sent over the whole run.
    pub retries: u64,
    /// Hedged copies sent over the whole run.
    pub hedges: u64,
    /// Circuit-breaker openings over the whole run.
    pub breaker_opens: u64,
}

/// Instance-hours and cost.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CostReport {
    /// Instance-hours of every group.
    pub instance_hours: f64,
    /// Cost of the instances and of the database nodes.
    pub total: f64,
    /// Of which database nodes (node-hours × `hourly_price`).
    pub databases: f64,
}

/// One injected fault and when it was down.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FaultReport {
    /// What failed, e.g. `zone us-east/us-east-1a`.
    pub target: String,
    /// When it failed, seconds from the start.
    pub start_s: f64,
    /// When it came back, seconds from the start.
    pub end_s: f64,
}

/// Request conservation: created = ended + in flight.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ConservationReport {
    /// Requests created.
    pub created: u64,
    /// Requests that ended.
    pub ended: u64,
    /// Requests still in flight at the end.
    pub in_flight: u64,
    /// Whether the identity holds (always, unless fleetsim has a bug).
    pub holds: bool,
}

impl From<Conservation> for ConservationReport {
    fn from(c: Conservation) -> Self {
        ConservationReport {
            created: c.created,
            ended: c.ended,
            in_flight: c.in_flight,
            holds: c.holds(),
        }
    }
}

/// Time series per bucket.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SeriesReport {
    /// Bucket width, seconds.
    pub interval_s: f64,
    /// The whole fleet.
    pub global: Vec<SeriesPoint>,
    /// Per region, in file order (same names as `regions`).
    pub regions: Vec<RegionSeries>,
}

/// One region's time series.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RegionSeries {
    /// Region name.
    pub name: String,
    /// Its points.
    pub points: Vec<SeriesPoint>,
}

/// The name of an algorithm in reports (the file's spelling).
pub fn algorithm_name(a: &Algorithm) -> &'static str {
    match a {
        Algorithm::RoundRobin => "round_robin",
        Algorithm::WeightedRoundRobin => "weighted_round_robin",
        Algorithm::Random => "random",
        Algorithm::LeastOutstanding => "least_outstanding",
        Algorithm::PowerOfChoices { .. } => "power_of_choices",
        Algorithm::LeastLatency { .. } => "least_latency",
        Algorithm::RingHash { .. } => "ring_hash",
        Algorithm::Maglev { .. } => "maglev",
        Algorithm::KeyHash => "key_hash",
    }
}

fn scope_report(s: &ScopeStats, latency: &LatencyHistogram, window_s: f64) -> ScopeReport {
    let requests = s.outcomes.total();
    let share = |n: u64, d: u64| if d == 0 { 0.0 } else { n as f64 / d as f64 };
    ScopeReport {
        requests,
        throughput_per_s: if window_s > 0.0 {
            s.outcomes.answered() as f64 / window_s
        } else {
            0.0
        },
        outcomes: s.outcomes,
        availability: share(s.outcomes.answered(), requests),
        latency: LatencyReport::from_summary(latency.summary(), latency.mean_secs()),
        slo_attainment: share(s.good, requests),
        minutes: s.minutes.minutes,
        minutes_meeting_slo: s.minutes.minutes_meeting,
        minutes_meeting_slo_share: share(s.minutes.minutes_meeting, s.minutes.minutes),
    }
}

/// What the report needs besides the model.
#[derive(Clone, Debug)]
pub struct FleetReportContext {
    /// Hash of the scenario content.
    pub scenario_hash: String,
    /// Reproduce command.
    pub reproduce: String,
}

/// Builds the report of a finished run that ended at `end` (copying the
/// time series; see [`into_fleet_report`]).
pub fn build_fleet_report(
    model: &FleetModel,
    end: SimTime,
    events: u64,
    seed: u64,
    ctx: &FleetReportContext,
) -> FleetReport {
    let series = (
        model.series.clone(),
        model.regions.iter().map(|r| r.series.clone()).collect(),
    );
    build(model, series, end, events, seed, ctx)
}

/// [`build_fleet_report`] that moves the time series out of the model
/// instead of copying them: a long run's series are its largest data.
pub fn into_fleet_report(
    mut model: FleetModel,
    end: SimTime,
    events: u64,
    seed: u64,
    ctx: &FleetReportContext,
) -> FleetReport {
    let series = (
        std::mem::take(&mut model.series),
        model
            .regions
            .iter_mut()
            .map(|r| std::mem::take(&mut r.series))
            .collect(),
    );
    build(&model, series, end, events, seed, ctx)
}

fn build(
    model: &FleetModel,
    (global_series, region_series): (Vec<SeriesPoint>, Vec<Vec<SeriesPoint>>),
    end: SimTime,
    events: u64,
    seed: u64,
    ctx: &FleetReportContext,
) -> FleetReport {
    let config: &FleetConfig = model.config();
    let from = SimTime::ZERO + config.run.warmup.min(end - SimTime::ZERO);
    let window_s = (end - from).as_secs_f64();
    let regions_n = config.regions.len();
    let merged = |pairs: &mut dyn Iterator<Item = usize>| {
        let mut h = LatencyHistogram::new();
        for i in pairs {
            h.merge(&model.pair_latency[i]);
        }
        h
    };
    let mut total_hours = 0.0;
    let mut total_cost = 0.0;
    let mut scale_actions = 0;
    let regions = config
        .regions
        .iter()
        .zip(&model.regions)
        .enumerate()
        .map(|(r, (rc, rs))| {
            let (mut region_hours, mut region_cost) = (0.0, 0.0);
            let groups = rc
                .groups
                .iter()
                .zip(&rs.groups)
                .enumerate()
                .map(|(g, (gc, gs))| {
                    let ty = &config.instance_types[gc.instance_type];
                    let mean_instances = gs.alive.mean_at(end);
                    let workers = gs.workers.mean_at(end);
                    let queue = gs.queued.mean_at(end);
                    let hours = model.billed_hours(r, g, end);
                    total_hours += hours;
                    total_cost += hours * ty.hourly_price;
                    region_hours += hours;
                    region_cost += hours * ty.hourly_price;
                    let autoscaling = rs.scalers[g].as_ref().map(|sc| GroupAutoscalingReport {
                        policies: sc.policy_kinds(),
                        scale_actions: gs.scale_actions,
                        launches: gs.launches,
                        terminations: gs.terminations,
                        quota_refusals: gs.quota_refusals,
                        drain_cut_requests: gs.drain_cut,
                        final_desired: sc.desired,
                    });
                    scale_actions += gs.scale_actions;
                    GroupReport {
                        name: gc.name.clone(),
                        instance_type: ty.name.clone(),
                        mean_instances,
                        utilization: if workers > 0.0 {
                            gs.busy.mean_at(end) / workers
                        } else {
                            0.0
                        },
                        mean_queue_length: queue,
                        mean_queue_length_per_instance: if mean_instances > 0.0 {
                            queue / mean_instances
                        } else {
                            0.0
                        },
                        served: gs.served,
                        rejected: gs.rejected,
                        instance_hours: hours,
                        cost: hours * ty.hourly_price,
                        peak_instances: gs.alive.max(),
                        autoscaling,
                    }
                })
                .collect();
            RegionReport {
                name: rc.name.clone(),
                scope: scope_report(
                    &rs.stats,
                    &merged(&mut (0..config.populations.len()).map(|p| p * regions_n + r)),
                    window_s,
                ),
                balancer: algorithm_name(&rc.balancer.algorithm).to_string(),
                ejections: rs.ejections,
                dns_unhealthy_s: rs.dns_unhealthy.as_secs_f64(),
                instance_hours: region_hours,
                cost: region_cost,
                groups,
            }
        })
        .collect();
    let populations = config
        .populations
        .iter()
        .zip(&model.pops)
        .enumerate()
        .map(|(p, (pc, ps))| PopulationReport {
            name: pc.name.clone(),
            scope: scope_report(
                &ps.stats,
                &merged(&mut (0..regions_n).map(|r| p * regions_n + r)),
                window_s,
            ),
            created: ps.created,
            retries: ps.retries,
            hedges: ps.hedges_sent,
            breaker_opens: model.breaker_opens(p),
        })
        .collect();
    let data = data_report(model, config, end);
    let database_cost: f64 = data
        .as_ref()
        .map_or(0.0, |d| d.databases.iter().map(|db| db.cost).sum());
    let mut report = FleetReport {
        fleetsim_version: FLEETSIM_VERSION.to_string(),
        scenario: config.name.clone(),
        scenario_hash: ctx.scenario_hash.clone(),
        seed,
        reproduce: ctx.reproduce.clone(),
        measured_from_s: from.as_secs_f64(),
        measured_to_s: end.as_secs_f64(),
        events,
        slo: SloReport {
            latency_s: config.run.slo.latency.as_secs_f64(),
            target: config.run.slo.target,
        },
        global: scope_report(
            &model.stats,
            &merged(&mut (0..model.pair_latency.len())),
            window_s,
        ),
        regions,
        populations,
        cost: CostReport {
            instance_hours: total_hours,
            total: total_cost + database_cost,
            databases: database_cost,
        },
        instances: InstancesReport {
            mean: model.fleet_alive.mean_at(end),
            peak: model.fleet_alive.max(),
        },
        autoscaling: AutoscalingReport {
            scale_actions,
            decisions: model.decisions.clone(),
            decisions_dropped: model.decisions_dropped,
        },
        faults: (model.config().faults.iter())
            .map(|f| FaultReport {
                target: f.label.clone(),
                start_s: f.window.start.as_secs_f64(),
                end_s: f.window.end.as_secs_f64(),
            })
            .collect(),
        incidents: incidents(model, config),
        data,
        conservation: model.conservation().into(),
        series: SeriesReport {
            interval_s: config.run.series_interval.as_secs_f64(),
            global: global_series,
            regions: config
                .regions
                .iter()
                .zip(region_series)
                .map(|(rc, points)| RegionSeries {
                    name: rc.name.clone(),
                    points,
                })
                .collect(),
        },
        recovery: None,
        expectations: Vec::new(),
    };
    // The verdicts read the finished report, as `fleetsim sweep` does; the
    // expectations may check the probe's figures, so it goes first.
    report.recovery = config
        .recovery
        .as_ref()
        .and_then(|probe| recovery_report(probe, &report));
    report.expectations = evaluate(&config.expectations, &report);
    report
}
