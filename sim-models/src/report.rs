//! The results of one station-network run, as plain serializable data.
//!
//! A report holds only simulated quantities plus what is needed to reproduce
//! it (seed, scenario hash, fleetsim version, command); never a wall-clock
//! time, so the same scenario and seed give a byte-identical report.
//! Time values are in seconds.

use serde::{Deserialize, Serialize};
use sim_core::SimTime;
use sim_core::stats::LatencySummary;

use crate::network::StationNetwork;
use crate::scenario::NetworkConfig;

/// fleetsim's version, written into every report.
pub const FLEETSIM_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Everything one run measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    /// Version of fleetsim that produced this report.
    pub fleetsim_version: String,
    /// Scenario name.
    pub scenario: String,
    /// Hash of the scenario's content (see `StationScenarioFile::content_hash`).
    pub scenario_hash: String,
    /// Master seed.
    pub seed: u64,
    /// A command that reproduces this report.
    pub reproduce: String,
    /// Start of the measured window (end of warm-up), seconds.
    pub measured_from_s: f64,
    /// End of the run, seconds.
    pub measured_to_s: f64,
    /// Events delivered in the whole run (warm-up included).
    pub events: u64,
    /// Events delivered in the measured window.
    pub events_measured: u64,
    /// End-to-end response time of customers that left the network.
    pub end_to_end: LatencyReport,
    /// Per station.
    pub stations: Vec<StationReport>,
    /// Per source.
    pub sources: Vec<SourceReport>,
    /// End-to-end latency per interval, if `series_interval` was set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series: Option<Vec<SeriesRow>>,
}

/// Count, mean, maximum and quantiles of a duration, in seconds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LatencyReport {
    /// Number of values.
    pub count: u64,
    /// Exact mean.
    pub mean_s: f64,
    /// Exact maximum.
    pub max_s: f64,
    /// Median (absent without a histogram).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p50_s: Option<f64>,
    /// 90th percentile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p90_s: Option<f64>,
    /// 99th percentile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p99_s: Option<f64>,
    /// 99.9th percentile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p999_s: Option<f64>,
}

impl LatencyReport {
    pub(crate) fn from_summary(s: LatencySummary, exact_mean_s: f64) -> Self {
        let q = s.quantiles;
        LatencyReport {
            count: s.count,
            mean_s: exact_mean_s,
            max_s: s.max.as_secs_f64(),
            p50_s: q.map(|q| q.p50.as_secs_f64()),
            p90_s: q.map(|q| q.p90.as_secs_f64()),
            p99_s: q.map(|q| q.p99.as_secs_f64()),
            p999_s: q.map(|q| q.p999.as_secs_f64()),
        }
    }
}

/// One station's measurements over the measured window.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StationReport {
    /// Station name.
    pub name: String,
    /// Workers.
    pub servers: u32,
    /// Customers that arrived.
    pub arrivals: u64,
    /// Customers rejected by a full queue.
    pub rejected: u64,
    /// Customers that finished service.
    pub completed: u64,
    /// rejected / arrivals.
    pub blocking_probability: f64,
    /// Completions per second.
    pub throughput_per_s: f64,
    /// Mean busy workers / workers.
    pub utilization: f64,
    /// Time-average number in the station, L.
    pub mean_in_system: f64,
    /// Time-average number waiting, Lq.
    pub mean_in_queue: f64,
    /// Largest number waiting.
    pub max_in_queue: u64,
    /// Fraction of customers that had to queue before service.
    pub wait_probability: f64,
    /// Waiting time in queue, Wq.
    pub wait: LatencyReport,
    /// Time in station, W.
    pub sojourn: LatencyReport,
    /// Little's law check: L against throughput × W.
    pub littles_law: LittleCheck,
}

/// L = λW, measured: both sides and their relative gap.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LittleCheck {
    /// Time-average number in the station.
    pub l: f64,
    /// Throughput × mean sojourn.
    pub lambda_w: f64,
    /// |L − λW| / max(L, λW) (zero when both are zero).
    pub relative_gap: f64,
}

/// One source's measurements.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SourceReport {
    /// Source name.
    pub name: String,
    /// Customers generated.
    pub generated: u64,
    /// Customers rejected somewhere.
    pub rejected: u64,
    /// Customers that left after service.
    pub completed: u64,
    /// End-to-end response time.
    pub response: LatencyReport,
}

/// One interval of the end-to-end latency series.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeriesRow {
    /// Interval start, seconds.
    pub t_s: f64,
    /// Completions per second in the interval.
    pub throughput_per_s: f64,
    /// Mean response time in the interval.
    pub mean_s: f64,
    /// Largest response time in the interval.
    pub max_s: f64,
}

/// What a report needs beyond the simulation itself.
#[derive(Clone, Debug)]
pub struct ReportContext {
    /// Hash of the scenario content.
    pub scenario_hash: String,
    /// A command that reproduces the run.
    pub reproduce: String,
}

/// Builds the report of a finished run.
pub fn build_report(
    config: &NetworkConfig,
    net: &StationNetwork,
    end: SimTime,
    events: u64,
    seed: u64,
    ctx: &ReportContext,
) -> RunReport {
    let from = net.stats_since;
    let window_s = end.saturating_since(from).as_secs_f64();
    let per_s = |n: u64| {
        if window_s > 0.0 {
            n as f64 / window_s
        } else {
            0.0
        }
    };
    let stations = config
        .stations
        .iter()
        .enumerate()
        .map(|(i, cfg)| {
            let s = net.station_stats(i);
            let l = s.in_system.mean_at(end);
            let throughput = per_s(s.completed.get());
            let lambda_w = throughput * s.sojourn.mean_secs();
            let waited = s.waited.get();
            StationReport {
                name: cfg.name.clone(),
                servers: cfg.servers,
                arrivals: s.arrivals.get(),
                rejected: s.rejected.get(),
                completed: s.completed.get(),
                blocking_probability: ratio(s.rejected.get(), s.arrivals.get()),
                throughput_per_s: throughput,
                utilization: s.busy.mean_at(end) / f64::from(cfg.servers),
                mean_in_system: l,
                mean_in_queue: s.in_queue.mean_at(end),
                max_in_queue: s.in_queue.max(),
                wait_probability: ratio(waited, s.wait.count()),
                wait: LatencyReport::from_summary(s.wait.summary(), s.wait.mean_secs()),
                sojourn: LatencyReport::from_summary(s.sojourn.summary(), s.sojourn.mean_secs()),
                littles_law: LittleCheck {
                    l,
                    lambda_w,
                    relative_gap: if l == 0.0 && lambda_w == 0.0 {
                        0.0
                    } else {
                        (l - lambda_w).abs() / l.max(lambda_w)
                    },
                },
            }
        })
        .collect();
    let sources = config
        .sources
        .iter()
        .enumerate()
        .map(|(i, cfg)| {
            let s = net.source_stats(i);
            SourceReport {
                name: cfg.name.clone(),
                generated: s.generated.get(),
                rejected: s.rejected.get(),
                completed: s.completed.get(),
                response: LatencyReport::from_summary(s.response.summary(), s.response.mean_secs()),
            }
        })
        .collect();
    let series = net.response_series.as_ref().map(|series| {
        let iv = series.interval().as_secs_f64();
        series
            .points()
            .iter()
            .enumerate()
            .map(|(k, p)| SeriesRow {
                t_s: k as f64 * iv,
                throughput_per_s: p.count as f64 / iv,
                mean_s: p.mean(),
                max_s: p.max,
            })
            .collect()
    });
    RunReport {
        fleetsim_version: FLEETSIM_VERSION.to_string(),
        scenario: config.name.clone(),
        scenario_hash: ctx.scenario_hash.clone(),
        seed,
        reproduce: ctx.reproduce.clone(),
        measured_from_s: from.as_secs_f64(),
        measured_to_s: end.as_secs_f64(),
        events,
        events_measured: net.events_measured(),
        end_to_end: LatencyReport::from_summary(net.response.summary(), net.response.mean_secs()),
        stations,
        sources,
        series,
    }
}

fn ratio(num: u64, den: u64) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}
