//! The data tier's part of a fleet report: databases (per shard and node:
//! load, utilisation, replication lag, stale reads), caches (hit ratios),
//! and the incidents table (RTO with its breakdown, RPO, targets met or
//! missed), every figure measured in the run.

use serde::Serialize;
use sim_core::{SimDuration, SimTime};

use super::config::Topology;
use crate::fleet::config::{FaultTarget, FleetConfig};
use crate::fleet::model::FleetModel;

/// Seconds in a row that must meet the SLO for a service to count as
/// recovered.
pub const RECOVERY_SECONDS: usize = 5;

/// How long after a fault ends its impact may still begin (a slow
/// detection, a cache refilling).
const IMPACT_HORIZON_S: f64 = 60.0;

/// Databases and caches over the measured window.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DataReport {
    /// Per database, in file order.
    pub databases: Vec<DatabaseReport>,
    /// Per cache and region that used it.
    pub caches: Vec<CacheReport>,
}

/// One database.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DatabaseReport {
    /// Its name.
    pub name: String,
    /// `primary_replica` or `active_active`.
    pub topology: String,
    /// `async`, `semi_sync` or `sync` (active-active: `async`, in batches).
    pub replication: String,
    /// Reads answered.
    pub reads: u64,
    /// Writes committed.
    pub writes: u64,
    /// Queries that failed (node down, queue full, write to a read-only
    /// node).
    pub failed_queries: u64,
    /// Reads that returned data older than the newest acknowledged write
    /// to their key.
    pub stale_reads: u64,
    /// `stale_reads / reads`.
    pub stale_read_ratio: f64,
    /// Stale reads whose missing write came from the reader's own
    /// population.
    pub read_your_writes_violations: u64,
    /// Active-active: writes that overwrote a concurrent write from another
    /// region's node (last writer wins).
    pub conflicts: u64,
    /// Share of the queries that went to the busiest shard.
    pub hottest_shard_share: f64,
    /// Failovers completed (promotions).
    pub failovers: u64,
    /// Acknowledged writes lost in failovers.
    pub lost_writes: u64,
    /// Node-hours times the node price, over the whole run.
    pub cost: f64,
    /// Per shard.
    pub shards: Vec<ShardReport>,
}

/// One shard.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ShardReport {
    /// Index.
    pub shard: usize,
    /// Queries that reached it (cache hits excluded).
    pub queries: u64,
    /// Its share of the database's queries.
    pub share: f64,
    /// The node that is primary at the end.
    pub primary: usize,
    /// Per node.
    pub nodes: Vec<NodeReport>,
}

/// One database node.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NodeReport {
    /// Index in the shard (0 started as primary).
    pub node: usize,
    /// Its region.
    pub region: String,
    /// `primary` or `replica`, at the end of the run.
    pub role: String,
    /// Reads it answered.
    pub reads: u64,
    /// Writes it committed.
    pub writes: u64,
    /// Mean busy workers / workers.
    pub utilization: f64,
    /// Mean replication lag at the series ticks, seconds.
    pub lag_mean_s: f64,
    /// Largest replication lag seen at a series tick, seconds.
    pub lag_max_s: f64,
    /// Replication lag at each series tick (whole run), seconds.
    pub lag_series_s: Vec<f64>,
}

/// One cache node (a cache in one region).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CacheReport {
    /// Cache name.
    pub name: String,
    /// Region.
    pub region: String,
    /// Lookups that hit.
    pub hits: u64,
    /// Lookups that missed (then read the database).
    pub misses: u64,
    /// `hits / (hits + misses)`.
    pub hit_ratio: f64,
    /// Reads that skipped it because it was down.
    pub bypassed: u64,
    /// Stale values it served while the database was unreachable.
    pub stale_served: u64,
}

/// One incident: an injected fault, its recovery and its data loss.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct IncidentReport {
    /// What failed.
    pub fault: String,
    /// When, seconds from the start.
    pub start_s: f64,
    /// When it was repaired, seconds from the start.
    pub end_s: f64,
    /// From the fault to its detection (GeoDNS health checks for a region
    /// or balancer, the failover manager for a database primary), seconds.
    pub detection_s: Option<f64>,
    /// From detection to the promoted replica accepting writes, seconds.
    pub promotion_s: Option<f64>,
    /// From promotion (or detection) until clients use the new route:
    /// the instances' re-point delay, or for a region the DNS TTL,
    /// seconds.
    pub routing_s: Option<f64>,
    /// From the fault to the first of [`RECOVERY_SECONDS`] seconds in a
    /// row meeting the SLO again, seconds (0 when the SLO never broke;
    /// absent when it had not recovered by the end of the run).
    pub rto_s: Option<f64>,
    /// The scenario's RTO target, seconds.
    pub rto_target_s: Option<f64>,
    /// Whether the measured RTO meets the target.
    pub rto_met: Option<bool>,
    /// Acknowledged writes lost.
    pub lost_writes: u64,
    /// From the commit of the oldest lost write to the fault, seconds (the
    /// measured RPO; 0 when nothing was lost).
    pub rpo_s: f64,
    /// The scenario's RPO target, seconds.
    pub rpo_target_s: Option<f64>,
    /// Whether the measured RPO meets the target.
    pub rpo_met: Option<bool>,
}

/// The data section of the report, or `None` when the scenario has no
/// data tier.
pub(crate) fn data_report(
    model: &FleetModel,
    config: &FleetConfig,
    end: SimTime,
) -> Option<DataReport> {
    if config.databases.is_empty() && config.caches.is_empty() {
        return None;
    }
    let hours = end.as_secs_f64() / 3600.0;
    let databases = config
        .databases
        .iter()
        .zip(&model.data.databases)
        .map(|(dc, db)| {
            let total: u64 = db.shards.iter().map(|s| s.queries).sum();
            let share = |q: u64| {
                if total == 0 {
                    0.0
                } else {
                    q as f64 / total as f64
                }
            };
            let shards: Vec<ShardReport> = db
                .shards
                .iter()
                .enumerate()
                .map(|(s, shard)| ShardReport {
                    shard: s,
                    queries: shard.queries,
                    share: share(shard.queries),
                    primary: shard.primary,
                    nodes: shard
                        .nodes
                        .iter()
                        .enumerate()
                        .map(|(n, node)| NodeReport {
                            node: n,
                            region: config.regions[node.region].name.clone(),
                            role: if matches!(dc.topology, Topology::ActiveActive { .. }) {
                                "active"
                            } else if n == shard.primary {
                                "primary"
                            } else {
                                "replica"
                            }
                            .into(),
                            reads: node.reads,
                            writes: node.writes,
                            utilization: node.busy_tw.mean_at(end) / f64::from(dc.workers),
                            lag_mean_s: if node.lag_samples == 0 {
                                0.0
                            } else {
                                node.lag_sum / node.lag_samples as f64
                            },
                            lag_max_s: node.lag_max,
                            lag_series_s: node.lag_series.clone(),
                        })
                        .collect(),
                })
                .collect();
            let incidents = db.shards.iter().flat_map(|s| &s.incidents);
            DatabaseReport {
                name: dc.name.clone(),
                topology: match dc.topology {
                    Topology::PrimaryReplica => "primary_replica",
                    Topology::ActiveActive { .. } => "active_active",
                }
                .into(),
                replication: dc.replication.name().into(),
                conflicts: db.conflicts,
                reads: db.reads,
                writes: db.writes,
                failed_queries: db.failed,
                stale_reads: db.stale_reads,
                stale_read_ratio: if db.reads == 0 {
                    0.0
                } else {
                    db.stale_reads as f64 / db.reads as f64
                },
                read_your_writes_violations: db.ryw_violations,
                hottest_shard_share: shards.iter().map(|s| s.share).fold(0.0, f64::max),
                failovers: incidents.clone().filter(|i| i.promoted.is_some()).count() as u64,
                lost_writes: incidents.map(|i| i.lost_writes).sum(),
                cost: dc.node_count() as f64 * hours * dc.hourly_price,
                shards,
            }
        })
        .collect();
    let mut caches = Vec::new();
    for (c, cc) in config.caches.iter().enumerate() {
        for (r, node) in model.data.caches[c].iter().enumerate() {
            if node.hits + node.misses + node.bypassed == 0 {
                continue;
            }
            let looked = node.hits + node.misses;
            caches.push(CacheReport {
                name: cc.name.clone(),
                region: config.regions[r].name.clone(),
                hits: node.hits,
                misses: node.misses,
                hit_ratio: if looked == 0 {
                    0.0
                } else {
                    node.hits as f64 / looked as f64
                },
                bypassed: node.bypassed,
                stale_served: node.stale_served,
            });
        }
    }
    Some(DataReport { databases, caches })
}

/// Whether each second of the run met the SLO (a second with no request
/// ending meets it).
fn meets(seconds: &[(u32, u32)], target: f64) -> Vec<bool> {
    seconds
        .iter()
        .map(|&(total, good)| total == 0 || f64::from(good) >= target * f64::from(total))
        .collect()
}

/// The RTO of a fault starting at `start` and repaired at `end`: see
/// [`IncidentReport::rto_s`].
pub fn recovery_time(ok: &[bool], start: f64, end: f64) -> Option<f64> {
    let s0 = start.floor().max(0.0) as usize;
    let horizon = ((end + IMPACT_HORIZON_S).ceil() as usize).min(ok.len());
    let Some(v) = (s0..horizon).find(|&s| !ok[s]) else {
        return Some(0.0);
    };
    (v + 1..ok.len())
        .find(|&t| {
            ok[t..(t + RECOVERY_SECONDS).min(ok.len())]
                .iter()
                .all(|&x| x)
                && t + RECOVERY_SECONDS <= ok.len()
        })
        .map(|t| (t as f64 - start).max(0.0))
}

/// The incidents table: one row per injected fault.
pub(crate) fn incidents(model: &FleetModel, config: &FleetConfig) -> Vec<IncidentReport> {
    let ok = meets(&model.seconds, config.run.slo.target);
    let secs = |d: SimDuration| d.as_secs_f64();
    config
        .faults
        .iter()
        .enumerate()
        .map(|(f, fc)| {
            let start = fc.window.start;
            // Database incidents this fault caused: the primaries that died
            // at its start (its own target, or every primary in its region).
            let db_incidents: Vec<_> = match fc.target {
                FaultTarget::DatabasePrimary(..)
                | FaultTarget::DatabaseReplica(..)
                | FaultTarget::Region(_) => model
                    .data
                    .databases
                    .iter()
                    .flat_map(|db| db.shards.iter().flat_map(|s| s.incidents.iter()))
                    .filter(|i| i.died == start)
                    .collect(),
                _ => Vec::new(),
            };
            let first = db_incidents.first();
            // A database failover's timeline when there was one, else (a
            // region without one) GeoDNS's detection and TTL.
            let failover = first.filter(|i| i.detected.is_some());
            let (detection, promotion, routing) = match (fc.target, failover) {
                (FaultTarget::Region(_) | FaultTarget::Balancer(_), None) => {
                    let d = model.fault_detected[f].map(|t| t.saturating_since(start));
                    (d.map(secs), None, d.map(|_| secs(config.dns.ttl)))
                }
                (_, Some(i)) => (
                    i.detected.map(|t| secs(t.saturating_since(start))),
                    i.detected
                        .zip(i.promoted)
                        .map(|(d, p)| secs(p.saturating_since(d))),
                    i.promoted
                        .zip(i.repointed)
                        .map(|(p, r)| secs(r.saturating_since(p))),
                ),
                _ => (None, None, None),
            };
            let lost: u64 = db_incidents.iter().map(|i| i.lost_writes).sum();
            let rpo = db_incidents
                .iter()
                .map(|i| secs(i.loss_window))
                .fold(0.0, f64::max);
            let rto = recovery_time(&ok, start.as_secs_f64(), fc.window.end.as_secs_f64());
            let rto_target = fc.rto_target.map(secs);
            let rpo_target = fc.rpo_target.map(secs);
            IncidentReport {
                fault: fc.label.clone(),
                start_s: start.as_secs_f64(),
                end_s: fc.window.end.as_secs_f64(),
                detection_s: detection,
                promotion_s: promotion,
                routing_s: routing,
                rto_s: rto,
                rto_target_s: rto_target,
                rto_met: rto_target.map(|t| rto.is_some_and(|r| r <= t)),
                lost_writes: lost,
                rpo_s: rpo,
                rpo_target_s: rpo_target,
                rpo_met: rpo_target.map(|t| if t == 0.0 { lost == 0 } else { rpo <= t }),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_time_is_zero_without_impact_and_counts_to_the_first_good_stretch() {
        let all_good = vec![true; 100];
        assert_eq!(recovery_time(&all_good, 10.5, 20.0), Some(0.0));
        let mut ok = vec![true; 100];
        for s in ok.iter_mut().take(30).skip(12) {
            *s = false;
        }
        // Bad 12..30, good from 30 on: recovered at 30.
        assert_eq!(recovery_time(&ok, 10.5, 20.0), Some(19.5));
        // A single good second inside the outage does not count.
        ok[20] = true;
        assert_eq!(recovery_time(&ok, 10.5, 20.0), Some(19.5));
        // Never recovered.
        let mut never = vec![true; 40];
        for s in never.iter_mut().skip(12) {
            *s = false;
        }
        assert_eq!(recovery_time(&never, 10.0, 20.0), None);
    }
}
