//! Checks `[[databases]]`, `[[caches]]` and the classes' data-tier fields,
//! and lowers them into `data::config`. Every problem is located by its
//! field path, like the rest of the scenario (`fleet::lower`).

use std::collections::BTreeMap;
use std::ops::Bound;

use sim_core::{Distribution, SimDuration};

use super::cache::CacheModel;
use super::config::{
    CacheConfig, ClassDataConfig, DatabaseConfig, Degrade, FailoverConfig, ReadPolicy,
    ReplicationMode, Topology,
};
use super::shard::ShardStrategy;
use super::spec::{
    CacheSpec, DatabaseSpec, DegradeSpec, ReadsSpec, ReplicasSpec, ReplicationSpec,
    ShardStrategySpec, TopologySpec,
};
use crate::fleet::config::{KeyPopularity, PopulationConfig};
use crate::fleet::lower::Check;
use crate::fleet::spec::FleetScenarioFile;
use crate::spec::DistributionSpec;

/// Most databases a scenario may list.
pub const MAX_DATABASES: usize = 100;
/// Most caches a scenario may list.
pub const MAX_CACHES: usize = 100;
/// Most nodes (shards × (1 + replicas)) one database may have.
pub const MAX_NODES_PER_DATABASE: usize = 10_000;
/// Most shards one database may have.
pub const MAX_SHARDS: u64 = 4_096;
/// Most virtual nodes per shard on a consistent-hash ring.
pub const MAX_VNODES: u64 = 10_000;
/// Most ring points (shards × virtual nodes).
pub const MAX_RING_POINTS: u64 = 4_000_000;
/// Most keys one cache node may hold.
pub const MAX_CACHE_CAPACITY: u64 = 10_000_000;
/// Most sequential queries per request.
pub const MAX_QUERIES: u64 = 100;
const MAX_DB_WORKERS: u64 = 100_000;
const MAX_DB_QUEUE: u64 = 10_000_000;
const MAX_FAILOVER_CHECKS: u64 = 1_000;

/// The lowered data tier.
pub(crate) struct DataTier {
    pub databases: Vec<DatabaseConfig>,
    pub caches: Vec<CacheConfig>,
    pub intra_region_latency: SimDuration,
}

fn dist_or(
    c: &mut Check,
    path: &str,
    spec: Option<&DistributionSpec>,
    default: Distribution,
) -> Distribution {
    spec.map_or(default, |s| c.dist(path, s))
}

fn region_ref(
    c: &mut Check,
    path: &str,
    name: &str,
    region_index: &BTreeMap<&str, usize>,
) -> usize {
    match region_index.get(name) {
        Some(&r) => r,
        None => {
            let names: Vec<&str> = region_index.keys().copied().collect();
            c.add(
                path,
                format!(
                    "no region is named `{name}` (regions: {})",
                    names.join(", ")
                ),
            );
            0
        }
    }
}

/// Lowers the data tier and fills each class's `data` from its
/// `database` / `queries` / `cache` / `degrade` fields.
pub(crate) fn lower_data(
    c: &mut Check,
    file: &FleetScenarioFile,
    region_index: &BTreeMap<&str, usize>,
    populations: &mut [PopulationConfig],
) -> DataTier {
    let intra_region_latency = file
        .intra_region_latency
        .map_or(SimDuration::from_micros(250), |v| {
            c.time("intra_region_latency", v)
        });
    let db_specs = file.databases.as_deref().unwrap_or_default();
    let cache_specs = file.caches.as_deref().unwrap_or_default();
    if db_specs.len() > MAX_DATABASES {
        c.add(
            "databases",
            format!(
                "{} databases, more than the {MAX_DATABASES} allowed",
                db_specs.len()
            ),
        );
        return DataTier {
            databases: Vec::new(),
            caches: Vec::new(),
            intra_region_latency,
        };
    }
    if cache_specs.len() > MAX_CACHES {
        c.add(
            "caches",
            format!(
                "{} caches, more than the {MAX_CACHES} allowed",
                cache_specs.len()
            ),
        );
        return DataTier {
            databases: Vec::new(),
            caches: Vec::new(),
            intra_region_latency,
        };
    }
    let db_index = c.unique(
        "databases",
        "database",
        db_specs.iter().map(|d| d.name.as_str()),
    );
    let cache_index = c.unique(
        "caches",
        "cache",
        cache_specs.iter().map(|d| d.name.as_str()),
    );
    // Class fields first: range sharding's default key space needs the
    // largest key count of the classes that use each database.
    let mut key_space = vec![0u64; db_specs.len()];
    for (p, pop_spec) in file.populations.iter().enumerate() {
        let Some(classes) = pop_spec.classes.as_ref() else {
            continue;
        };
        for (k, class) in classes.iter().enumerate() {
            let cp = format!("populations[{p}].classes[{k}]");
            let database = class.database.as_ref().and_then(|name| {
                let d = db_index.get(name.as_str()).copied();
                if d.is_none() {
                    let names: Vec<&str> = db_index.keys().copied().collect();
                    c.add(
                        format!("{cp}.database"),
                        format!(
                            "no database is named `{name}` (databases: {})",
                            if names.is_empty() {
                                "none".to_string()
                            } else {
                                names.join(", ")
                            }
                        ),
                    );
                }
                d
            });
            let cache = class.cache.as_ref().and_then(|name| {
                let i = cache_index.get(name.as_str()).copied();
                if i.is_none() {
                    let names: Vec<&str> = cache_index.keys().copied().collect();
                    c.add(
                        format!("{cp}.cache"),
                        format!(
                            "no cache is named `{name}` (caches: {})",
                            if names.is_empty() {
                                "none".to_string()
                            } else {
                                names.join(", ")
                            }
                        ),
                    );
                }
                i
            });
            if class.database.is_none() {
                for (field, given) in [
                    ("queries", class.queries.is_some()),
                    ("cache", class.cache.is_some()),
                    ("degrade", class.degrade.is_some()),
                ] {
                    if given {
                        c.add(
                            format!("{cp}.{field}"),
                            "needs `database`: the class calls no data tier",
                        );
                    }
                }
            }
            let queries = class
                .queries
                .map_or(1, |q| c.count(&format!("{cp}.queries"), q, 1, MAX_QUERIES));
            let degrade = match class.degrade.unwrap_or(DegradeSpec::Error) {
                DegradeSpec::Error => Degrade::Error,
                DegradeSpec::Stale => Degrade::Stale,
                DegradeSpec::Default => Degrade::Default,
                DegradeSpec::StaleThenDefault => Degrade::StaleThenDefault,
            };
            if matches!(degrade, Degrade::Stale | Degrade::StaleThenDefault) && cache.is_none() {
                c.add(
                    format!("{cp}.degrade"),
                    format!(
                        "`{}` serves stale values from a cache: give the class a `cache`",
                        degrade.name()
                    ),
                );
            }
            if let Some(d) = database
                && let Some(cfg) = populations.get_mut(p).and_then(|pc| pc.classes.get_mut(k))
            {
                let keys = match cfg.keys {
                    KeyPopularity::Uniform { count } | KeyPopularity::Zipf { count, .. } => count,
                };
                key_space[d] = key_space[d].max(keys);
                cfg.data = Some(ClassDataConfig {
                    database: d,
                    queries,
                    cache,
                    degrade,
                });
            }
        }
    }
    let databases = db_specs
        .iter()
        .enumerate()
        .map(|(d, spec)| lower_database(c, d, spec, region_index, key_space[d].max(1)))
        .collect();
    let caches = cache_specs
        .iter()
        .enumerate()
        .map(|(i, spec)| lower_cache(c, i, spec))
        .collect();
    DataTier {
        databases,
        caches,
        intra_region_latency,
    }
}

fn lower_database(
    c: &mut Check,
    d: usize,
    spec: &DatabaseSpec,
    region_index: &BTreeMap<&str, usize>,
    default_key_space: u64,
) -> DatabaseConfig {
    let dp = format!("databases[{d}]");
    let strategy_spec = spec
        .shards
        .as_ref()
        .and_then(|s| s.strategy)
        .unwrap_or(ShardStrategySpec::Hash);
    let geo = strategy_spec == ShardStrategySpec::Geo;
    let active = spec.topology == Some(TopologySpec::ActiveActive);
    // Active-active: one writable node per listed region.
    let aa_regions: Option<Vec<usize>> = if active {
        for (field, given) in [
            ("primary", spec.primary.is_some()),
            ("replicas", spec.replicas.is_some()),
            ("reads", spec.reads.is_some()),
            ("read_your_writes_pin", spec.read_your_writes_pin.is_some()),
            ("replication", spec.replication.is_some()),
            ("replication_delay", spec.replication_delay.is_some()),
            ("apply_time", spec.apply_time.is_some()),
            ("failover", spec.failover.is_some()),
        ] {
            if given {
                c.add(
                    format!("{dp}.{field}"),
                    "does not apply to an `active_active` database (a writable node in \
                     each of `regions`, synchronised every `sync_interval`)",
                );
            }
        }
        if geo {
            c.add(
                format!("{dp}.shards.strategy"),
                "`geo` sharding does not apply to an `active_active` database",
            );
        }
        match &spec.regions {
            Some(list) if !list.is_empty() && list.len() <= MAX_NODES_PER_DATABASE => Some(
                list.iter()
                    .enumerate()
                    .map(|(i, name)| {
                        region_ref(c, &format!("{dp}.regions[{i}]"), name, region_index)
                    })
                    .collect(),
            ),
            Some(list) if list.is_empty() => {
                c.add(format!("{dp}.regions"), "list at least one region");
                None
            }
            Some(list) => {
                c.add(
                    format!("{dp}.regions"),
                    format!(
                        "{} regions, more than the {MAX_NODES_PER_DATABASE} allowed",
                        list.len()
                    ),
                );
                None
            }
            None => {
                c.add(
                    format!("{dp}.regions"),
                    "an `active_active` database needs the regions that hold its nodes",
                );
                None
            }
        }
    } else {
        for (field, given) in [
            ("regions", spec.regions.is_some()),
            ("sync_interval", spec.sync_interval.is_some()),
        ] {
            if given {
                c.add(
                    format!("{dp}.{field}"),
                    "applies only to `topology = \"active_active\"`",
                );
            }
        }
        None
    };
    // Shard count and, for geo, each shard's home region.
    let mut shard_regions: Option<Vec<usize>> = None;
    let mut count = 1u64;
    if let Some(shards) = &spec.shards {
        let sp = format!("{dp}.shards");
        if let Some(n) = shards.count {
            count = u64::from(c.count(&format!("{sp}.count"), n, 1, MAX_SHARDS));
        }
        match (&shards.regions, geo) {
            (Some(list), true) => {
                if list.is_empty() {
                    c.add(format!("{sp}.regions"), "list at least one region");
                } else if list.len() as u64 > MAX_SHARDS {
                    c.add(
                        format!("{sp}.regions"),
                        format!("{} regions, more than the {MAX_SHARDS} allowed", list.len()),
                    );
                } else {
                    let rs: Vec<usize> = list
                        .iter()
                        .enumerate()
                        .map(|(i, name)| {
                            region_ref(c, &format!("{sp}.regions[{i}]"), name, region_index)
                        })
                        .collect();
                    if shards.count.is_some_and(|n| n != rs.len() as u64) {
                        c.add(
                            format!("{sp}.count"),
                            format!(
                                "geo sharding has one shard per listed region ({}), not {}",
                                rs.len(),
                                shards.count.unwrap_or(0)
                            ),
                        );
                    }
                    count = rs.len() as u64;
                    shard_regions = Some(rs);
                }
            }
            (None, true) => c.add(
                format!("{sp}.regions"),
                "`geo` sharding needs the home region of each shard",
            ),
            (Some(_), false) => c.add(
                format!("{sp}.regions"),
                "`regions` applies only to `geo` sharding",
            ),
            (None, false) => {}
        }
        if shards.vnodes.is_some() && strategy_spec != ShardStrategySpec::Consistent {
            c.add(
                format!("{sp}.vnodes"),
                "`vnodes` applies only to `consistent` sharding",
            );
        }
        if shards.key_space.is_some() && strategy_spec != ShardStrategySpec::Range {
            c.add(
                format!("{sp}.key_space"),
                "`key_space` applies only to `range` sharding",
            );
        }
    }
    let primary = match (&spec.primary, geo || active) {
        (Some(name), false) => region_ref(c, &format!("{dp}.primary"), name, region_index),
        (None, false) => {
            c.add(
                format!("{dp}.primary"),
                "the region of the primary is required",
            );
            0
        }
        (Some(_), true) if !active => {
            c.add(
                format!("{dp}.primary"),
                "with `geo` sharding each shard's primary is in its region \
                 (`shards.regions`): leave `primary` out",
            );
            0
        }
        (Some(_), true) => 0,
        (None, true) => 0,
    };
    // Replicas: a count in the primary's region, or one region each.
    let replicas: Vec<Option<usize>> = match &spec.replicas {
        None => Vec::new(),
        Some(ReplicasSpec::Count(n)) => {
            let n = c.count(
                &format!("{dp}.replicas"),
                *n,
                0,
                MAX_NODES_PER_DATABASE as u64,
            );
            vec![None; n as usize]
        }
        Some(ReplicasSpec::Regions(list)) => {
            if geo {
                c.add(
                    format!("{dp}.replicas"),
                    "with `geo` sharding give a replica count (each shard's replicas \
                     are in its region)",
                );
                Vec::new()
            } else if list.len() > MAX_NODES_PER_DATABASE {
                c.add(
                    format!("{dp}.replicas"),
                    format!(
                        "{} replicas, more than the {MAX_NODES_PER_DATABASE} allowed",
                        list.len()
                    ),
                );
                Vec::new()
            } else {
                list.iter()
                    .enumerate()
                    .map(|(i, name)| {
                        Some(region_ref(
                            c,
                            &format!("{dp}.replicas[{i}]"),
                            name,
                            region_index,
                        ))
                    })
                    .collect()
            }
        }
    };
    let nodes_per_shard = aa_regions.as_ref().map_or(1 + replicas.len(), Vec::len);
    if (count as usize).saturating_mul(nodes_per_shard) > MAX_NODES_PER_DATABASE {
        c.add(
            format!("{dp}.shards.count"),
            format!(
                "{count} shards × {nodes_per_shard} nodes is more than the \
                 {MAX_NODES_PER_DATABASE} nodes a database may have"
            ),
        );
        count = 1;
    }
    let shard_nodes: Vec<Vec<usize>> = (0..count as usize)
        .map(|s| {
            if let Some(rs) = &aa_regions {
                return rs.clone();
            }
            let home = shard_regions.as_ref().map_or(primary, |rs| rs[s]);
            std::iter::once(home)
                .chain(replicas.iter().map(|r| r.unwrap_or(home)))
                .collect()
        })
        .collect();
    let sharding = match strategy_spec {
        ShardStrategySpec::Hash => ShardStrategy::HashMod,
        ShardStrategySpec::Consistent => {
            let vnodes = spec
                .shards
                .as_ref()
                .and_then(|s| s.vnodes)
                .map_or(256, |v| {
                    c.count(&format!("{dp}.shards.vnodes"), v, 1, MAX_VNODES)
                });
            if count * u64::from(vnodes) > MAX_RING_POINTS {
                c.add(
                    format!("{dp}.shards.vnodes"),
                    format!(
                        "{count} shards × {vnodes} virtual nodes is more than the \
                         {MAX_RING_POINTS} ring points allowed"
                    ),
                );
            }
            ShardStrategy::Consistent { vnodes }
        }
        ShardStrategySpec::Range => {
            let key_space = match spec.shards.as_ref().and_then(|s| s.key_space) {
                Some(0) => {
                    c.add(
                        format!("{dp}.shards.key_space"),
                        "must be at least 1, got 0",
                    );
                    1
                }
                Some(k) => k,
                None => default_key_space,
            };
            ShardStrategy::Range { key_space }
        }
        ShardStrategySpec::Geo => {
            let regions = shard_regions.clone().unwrap_or_default();
            let n_regions = region_index.len();
            let mut region_shard = vec![0usize; n_regions];
            for (r, slot) in region_shard.iter_mut().enumerate() {
                if let Some(s) = regions.iter().position(|&x| x == r) {
                    *slot = s;
                }
            }
            ShardStrategy::Geo { region_shard }
        }
    };
    let reads = match spec.reads.unwrap_or(ReadsSpec::Primary) {
        ReadsSpec::Primary => ReadPolicy::Primary,
        ReadsSpec::Replicas => ReadPolicy::Replicas,
        ReadsSpec::ReadYourWrites => ReadPolicy::ReadYourWrites {
            pin: c.opt_positive_time(
                &format!("{dp}.read_your_writes_pin"),
                spec.read_your_writes_pin,
                SimDuration::from_secs(1),
            ),
        },
    };
    if spec.read_your_writes_pin.is_some() && !matches!(reads, ReadPolicy::ReadYourWrites { .. }) {
        c.add(
            format!("{dp}.read_your_writes_pin"),
            "applies only with `reads = \"read_your_writes\"`",
        );
    }
    if replicas.is_empty() && reads != ReadPolicy::Primary && !active {
        c.add(
            format!("{dp}.reads"),
            "reads go to replicas, but the database has none (`replicas`)",
        );
    }
    let replication = match spec.replication.unwrap_or(ReplicationSpec::Async) {
        ReplicationSpec::Async => ReplicationMode::Async,
        ReplicationSpec::SemiSync => ReplicationMode::SemiSync,
        ReplicationSpec::Sync => ReplicationMode::Sync,
    };
    let failover = spec.failover.as_ref().filter(|_| !active).map(|f| {
        let fp = format!("{dp}.failover");
        if replicas.is_empty() {
            c.add(
                fp.clone(),
                "failover promotes a replica, but the database has none (`replicas`)",
            );
        }
        FailoverConfig {
            check_interval: c.opt_positive_time(
                &format!("{fp}.check_interval"),
                f.check_interval,
                SimDuration::from_secs(5),
            ),
            failures: f.failures.map_or(3, |n| {
                c.count(&format!("{fp}.failures"), n, 1, MAX_FAILOVER_CHECKS)
            }),
            promotion: f.promotion.map_or(SimDuration::from_secs(10), |v| {
                c.time(&format!("{fp}.promotion"), v)
            }),
            repoint: f.repoint.map_or(SimDuration::from_secs(5), |v| {
                c.time(&format!("{fp}.repoint"), v)
            }),
        }
    });
    let topology = if active {
        Topology::ActiveActive {
            sync_interval: c.opt_positive_time(
                &format!("{dp}.sync_interval"),
                spec.sync_interval,
                SimDuration::from_millis(100),
            ),
        }
    } else {
        Topology::PrimaryReplica
    };
    DatabaseConfig {
        name: spec.name.clone(),
        topology,
        shard_nodes,
        sharding,
        workers: spec.workers.map_or(64, |w| {
            c.count(&format!("{dp}.workers"), w, 1, MAX_DB_WORKERS)
        }),
        queue_capacity: spec
            .queue
            .map(|q| c.count(&format!("{dp}.queue"), q, 0, MAX_DB_QUEUE)),
        read_time: dist_or(
            c,
            &format!("{dp}.read_time"),
            spec.read_time.as_ref(),
            Distribution::exponential(0.001).expect("a positive mean"),
        ),
        write_time: dist_or(
            c,
            &format!("{dp}.write_time"),
            spec.write_time.as_ref(),
            Distribution::exponential(0.002).expect("a positive mean"),
        ),
        replication,
        replication_delay: dist_or(
            c,
            &format!("{dp}.replication_delay"),
            spec.replication_delay.as_ref(),
            Distribution::truncated_normal(0.1, 0.01, 0.0, f64::INFINITY)
                .expect("valid normal parameters"),
        ),
        apply_time: dist_or(
            c,
            &format!("{dp}.apply_time"),
            spec.apply_time.as_ref(),
            Distribution::constant(0.000_1).expect("a positive constant"),
        ),
        reads,
        failover,
        connect_timeout: c.opt_positive_time(
            &format!("{dp}.connect_timeout"),
            spec.connect_timeout,
            SimDuration::from_secs(1),
        ),
        hourly_price: spec.hourly_price.map_or(0.0, |p| {
            c.real(
                &format!("{dp}.hourly_price"),
                p,
                Bound::Included(0.0),
                Bound::Included(1e6),
            )
        }),
    }
}

fn lower_cache(c: &mut Check, i: usize, spec: &CacheSpec) -> CacheConfig {
    let cp = format!("caches[{i}]");
    let latency = spec.latency.map_or(SimDuration::from_micros(500), |v| {
        c.time(&format!("{cp}.latency"), v)
    });
    let model = match (spec.hit_ratio, spec.capacity) {
        (Some(r), None) => {
            if spec.ttl.is_some() {
                c.add(
                    format!("{cp}.ttl"),
                    "`ttl` applies to an LRU cache (`capacity`), not a fixed `hit_ratio`",
                );
            }
            CacheModel::FixedHitRatio(c.real(
                &format!("{cp}.hit_ratio"),
                r,
                Bound::Included(0.0),
                Bound::Included(1.0),
            ))
        }
        (None, Some(n)) => CacheModel::Lru {
            capacity: c.count(&format!("{cp}.capacity"), n, 1, MAX_CACHE_CAPACITY) as usize,
            ttl: spec.ttl.map(|t| c.positive_time(&format!("{cp}.ttl"), t)),
        },
        _ => {
            c.add(
                cp.clone(),
                "give exactly one of `hit_ratio` (a fixed ratio) or `capacity` (an LRU)",
            );
            CacheModel::FixedHitRatio(0.0)
        }
    };
    CacheConfig {
        name: spec.name.clone(),
        model,
        latency,
    }
}
