//! Semantic checks of a parsed fleet scenario, and its lowering into a
//! [`FleetConfig`].
//!
//! Every problem is collected (up to [`MAX_PROBLEMS`]) with the path of the
//! field at fault; `load.rs` adds lines and columns. Names become indices,
//! times become [`SimDuration`]s, distributions and rate profiles are built,
//! defaults are applied (`docs/scenario.md` lists them), and sizes and the
//! expected amount of work are bounded.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

use sim_core::{Distribution, RateProfile, SimDuration, SimTime};

use super::autoscale::group::lower_autoscaling;
use super::config::{
    AccessKind, Algorithm, BalancerConfig, BreakerConfig, ClassConfig, ClientConfig, DnsConfig,
    FaultConfig, FaultTarget, FleetConfig, FleetRunConfig, GroupConfig, HealthCheckConfig,
    HedgeConfig, InstanceTypeConfig, Jitter, KeyPopularity, LoadConfig, OutlierConfig,
    PopulationConfig, RandomFaultConfig, RegionConfig, RetryBudgetConfig, RetryConfig, RetryOn,
    SloConfig, SlowStartConfig, WarmupConfig, Window, ZoneAwareConfig,
};
use super::data::lower::{DataTier, lower_data};
use super::expect::{lower_expectations, lower_recovery};
use super::spec::{
    AccessKindSpec, AlgorithmName, BalancerSpec, ClassSpec, ClientSpec, DnsSpec, FaultKindSpec,
    FaultSpec, FleetRunSpec, FleetScenarioFile, HealthCheckSpec, JitterSpec, KeysSpec,
    PopulationSpec, RandomFaultKindSpec, RetryOnSpec,
};
use crate::scenario::{
    DEFAULT_SEED, MAX_ESTIMATED_EVENTS, MAX_SCENARIO_BYTES, MAX_TOTAL_SERVERS, Problem,
};
use crate::spec::{MAX_EMPIRICAL_POINTS, RateSpec, Seconds, parse_seconds};

/// Largest trace CSV file accepted, in bytes.
pub const MAX_TRACE_BYTES: usize = MAX_SCENARIO_BYTES;
/// Most regions.
pub const MAX_REGIONS: usize = 100;
/// Most availability zones in one region.
pub const MAX_ZONES: usize = 32;
/// Most instance types.
pub const MAX_INSTANCE_TYPES: usize = 1_000;
/// Most instance groups, over all regions.
pub const MAX_GROUPS: usize = 10_000;
/// Most instances in one group.
pub const MAX_INSTANCES_PER_GROUP: u64 = 1_000_000;
/// Most instances over the whole fleet (workers are further bounded by
/// [`MAX_TOTAL_SERVERS`]).
pub const MAX_TOTAL_INSTANCES: u64 = 1_000_000;
/// Most workers per instance.
pub const MAX_WORKERS_PER_INSTANCE: u64 = 100_000;
/// Largest waiting room per instance.
pub const MAX_QUEUE_CAPACITY: u64 = 1_000_000;
/// Most outage windows in one region.
pub const MAX_OUTAGES: usize = 1_000;
/// Most client populations.
pub const MAX_POPULATIONS: usize = 1_000;
/// Most request classes in one population.
pub const MAX_CLASSES: usize = 100;
/// Most spikes on one population.
pub const MAX_SPIKES: usize = 1_000;
/// Most closed-loop users over all populations.
pub const MAX_TOTAL_USERS: u64 = 10_000_000;
/// Most distinct keys in a key-popularity model (samplers must not tabulate
/// them).
pub const MAX_KEYS: u64 = 1_000_000_000;
/// Most `[[latency]]` entries.
pub const MAX_LATENCY_ENTRIES: usize = 2 * MAX_REGIONS * MAX_REGIONS;
/// Most problems listed in one error (the rest are counted).
pub const MAX_PROBLEMS: usize = 100;
/// Events a request is assumed to cost in the work estimate (arrival, DNS,
/// balancer, service start and end, response).
pub const EVENTS_PER_REQUEST: f64 = 6.0;

const MAX_NAME_CHARS: usize = 128;
const MAX_THRESHOLD: u64 = 1_000;
const MAX_ATTEMPTS: u64 = 100;
const MAX_HEDGES: u64 = 10;
const MAX_WEIGHT: u64 = 1_000;
const MAX_CHOICES: u64 = 64;
const MAX_RING_SIZE: u64 = 8 * 1024 * 1024;
const MAX_MAGLEV_TABLE: u64 = 5_000_011;
const DEFAULT_KEYS: u64 = 1_000_000;
const SHARE_TOLERANCE: f64 = 1e-6;

/// Collects problems (at most [`MAX_PROBLEMS`], the rest counted).
#[derive(Default)]
pub(crate) struct Check {
    problems: Vec<Problem>,
    dropped: usize,
}

impl Check {
    pub(crate) fn add(&mut self, path: impl Into<String>, message: impl Into<String>) {
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(Problem {
                path: path.into(),
                message: message.into(),
                location: None,
            });
        } else {
            self.dropped += 1;
        }
    }

    pub(crate) fn ok(&self) -> bool {
        self.problems.is_empty()
    }

    pub(crate) fn finish(mut self) -> Vec<Problem> {
        if self.dropped > 0 {
            self.problems.push(Problem {
                path: "scenario".into(),
                message: format!(
                    "... and {} more problem{} not listed",
                    self.dropped,
                    if self.dropped == 1 { "" } else { "s" }
                ),
                location: None,
            });
        }
        self.problems
    }

    /// A non-negative time.
    pub(crate) fn time(&mut self, path: &str, value: Seconds) -> SimDuration {
        value.to_duration().unwrap_or_else(|m| {
            self.add(path, m);
            SimDuration::ZERO
        })
    }

    /// A positive time.
    pub(crate) fn positive_time(&mut self, path: &str, value: Seconds) -> SimDuration {
        let d = value.to_duration().unwrap_or_else(|m| {
            self.add(path, m);
            SimDuration::from_secs(1)
        });
        if d.is_zero() {
            self.add(path, format!("must be a positive time, got {}", value.0));
            return SimDuration::from_secs(1);
        }
        d
    }

    /// An optional positive time with a default.
    pub(crate) fn opt_positive_time(
        &mut self,
        path: &str,
        value: Option<Seconds>,
        default: SimDuration,
    ) -> SimDuration {
        value.map_or(default, |v| self.positive_time(path, v))
    }

    /// A count in `[min, max]` (max fits in u32).
    pub(crate) fn count(&mut self, path: &str, value: u64, min: u64, max: u64) -> u32 {
        if value < min {
            self.add(path, format!("must be at least {min}, got {value}"));
            return min as u32;
        }
        if value > max {
            self.add(path, format!("{value} is more than the {max} allowed"));
            return max as u32;
        }
        value as u32
    }

    /// A finite real within bounds.
    pub(crate) fn real(
        &mut self,
        path: &str,
        value: f64,
        low: Bound<f64>,
        high: Bound<f64>,
    ) -> f64 {
        let above = match low {
            Bound::Included(l) => value >= l,
            Bound::Excluded(l) => value > l,
            Bound::Unbounded => true,
        };
        let below = match high {
            Bound::Included(h) => value <= h,
            Bound::Excluded(h) => value < h,
            Bound::Unbounded => true,
        };
        if value.is_finite() && above && below {
            return value;
        }
        let range = match (low, high) {
            (Bound::Excluded(0.0), Bound::Unbounded) => "positive and finite".into(),
            (Bound::Included(0.0), Bound::Unbounded) => "non-negative and finite".into(),
            (Bound::Excluded(l), Bound::Unbounded) => format!("more than {l}"),
            (Bound::Included(l), Bound::Unbounded) => format!("at least {l}"),
            (low, high) => {
                let (lb, l) = match low {
                    Bound::Included(l) => ('[', l.to_string()),
                    Bound::Excluded(l) => ('(', l.to_string()),
                    Bound::Unbounded => ('(', "-inf".into()),
                };
                let (hb, h) = match high {
                    Bound::Included(h) => (']', h.to_string()),
                    Bound::Excluded(h) => (')', h.to_string()),
                    Bound::Unbounded => (')', "inf".into()),
                };
                format!("in {lb}{l}, {h}{hb}")
            }
        };
        self.add(path, format!("must be {range}, got {value}"));
        match low {
            Bound::Included(l) | Bound::Excluded(l) if l.is_finite() => l.max(f64::MIN_POSITIVE),
            _ => 1.0,
        }
    }

    pub(crate) fn name(&mut self, path: &str, name: &str) {
        if name.trim().is_empty() {
            self.add(path, "must not be empty");
        } else if name.chars().count() > MAX_NAME_CHARS {
            self.add(
                path,
                format!("is longer than the {MAX_NAME_CHARS} characters allowed"),
            );
        } else if name.chars().any(char::is_control) {
            self.add(path, "must not contain control characters");
        }
    }

    /// Names must be unique within a list; returns name → first index.
    pub(crate) fn unique<'a>(
        &mut self,
        list: &str,
        what: &str,
        names: impl Iterator<Item = &'a str>,
    ) -> BTreeMap<&'a str, usize> {
        let mut index = BTreeMap::new();
        for (i, name) in names.enumerate() {
            self.name(&format!("{list}[{i}].name"), name);
            if let Some(first) = index.insert(name, i) {
                index.insert(name, first);
                self.add(
                    format!("{list}[{i}].name"),
                    format!("{what} name `{name}` is used twice (also {list}[{first}])"),
                );
            }
        }
        index
    }

    /// A distribution with a positive, finite mean.
    pub(crate) fn dist(
        &mut self,
        path: &str,
        spec: &crate::spec::DistributionSpec,
    ) -> Distribution {
        match spec.build() {
            Ok(d) => {
                let mean = d.mean();
                if !(mean.is_finite() && mean > 0.0) {
                    self.add(
                        path,
                        format!("the mean must be positive and finite, got {mean}"),
                    );
                }
                d
            }
            Err(m) => {
                self.add(path, m);
                distribution_after_problem()
            }
        }
    }

    fn health_check(
        &mut self,
        path: &str,
        spec: Option<&HealthCheckSpec>,
        default: HealthCheckConfig,
    ) -> HealthCheckConfig {
        let Some(spec) = spec else {
            return default;
        };
        let interval =
            self.opt_positive_time(&format!("{path}.interval"), spec.interval, default.interval);
        // The default timeout shrinks to fit a shorter interval.
        let timeout = self.opt_positive_time(
            &format!("{path}.timeout"),
            spec.timeout,
            default.timeout.min(interval),
        );
        if timeout > interval {
            self.add(
                format!("{path}.timeout"),
                format!("timeout {timeout} is longer than the interval {interval}"),
            );
        }
        let mut threshold = |name: &str, value: Option<u64>, default: u32| {
            value.map_or(default, |v| {
                self.count(&format!("{path}.{name}"), v, 1, MAX_THRESHOLD)
            })
        };
        HealthCheckConfig {
            interval,
            timeout,
            unhealthy_threshold: threshold(
                "unhealthy_threshold",
                spec.unhealthy_threshold,
                default.unhealthy_threshold,
            ),
            healthy_threshold: threshold(
                "healthy_threshold",
                spec.healthy_threshold,
                default.healthy_threshold,
            ),
        }
    }
}

/// Returned only alongside a recorded problem (the lowered config is then
/// discarded), so any valid distribution will do.
fn distribution_after_problem() -> Distribution {
    Distribution::constant(1.0).expect("a constant 1 is a valid distribution")
}

/// ALB target health-check defaults.
const ALB_HEALTH_CHECK: HealthCheckConfig = HealthCheckConfig {
    interval: SimDuration::from_secs(30),
    timeout: SimDuration::from_secs(5),
    unhealthy_threshold: 2,
    healthy_threshold: 5,
};

/// Route 53 health-check defaults (30 s interval, failure threshold 3 both
/// ways, about 4 s to connect).
const DNS_HEALTH_CHECK: HealthCheckConfig = HealthCheckConfig {
    interval: SimDuration::from_secs(30),
    timeout: SimDuration::from_secs(4),
    unhealthy_threshold: 3,
    healthy_threshold: 3,
};

fn algorithm_name(a: AlgorithmName) -> &'static str {
    match a {
        AlgorithmName::RoundRobin => "round_robin",
        AlgorithmName::WeightedRoundRobin => "weighted_round_robin",
        AlgorithmName::Random => "random",
        AlgorithmName::LeastOutstanding => "least_outstanding",
        AlgorithmName::PowerOfChoices => "power_of_choices",
        AlgorithmName::LeastLatency => "least_latency",
        AlgorithmName::RingHash => "ring_hash",
        AlgorithmName::Maglev => "maglev",
        AlgorithmName::KeyHash => "key_hash",
    }
}

fn is_prime(n: u64) -> bool {
    if n < 2 {
        return false;
    }
    let mut d = 2;
    while d * d <= n {
        if n.is_multiple_of(d) {
            return false;
        }
        d += 1;
    }
    true
}

/// Refuses lists longer than their limits before anything else is looked
/// at, so a huge file costs one message, not one per entry.
fn check_sizes(file: &FleetScenarioFile, check: &mut Check) {
    let mut limit = |path: String, what: &str, n: usize, max: usize| {
        if n > max {
            check.add(path, format!("{n} {what} is more than the {max} allowed"));
        }
    };
    limit("regions".into(), "regions", file.regions.len(), MAX_REGIONS);
    limit(
        "instance_types".into(),
        "instance types",
        file.instance_types.len(),
        MAX_INSTANCE_TYPES,
    );
    limit(
        "populations".into(),
        "populations",
        file.populations.len(),
        MAX_POPULATIONS,
    );
    let latency = file.latency.as_ref().map_or(0, Vec::len);
    limit(
        "latency".into(),
        "latency entries",
        latency,
        MAX_LATENCY_ENTRIES,
    );
    let mut groups = 0;
    for (r, region) in file.regions.iter().enumerate().take(MAX_REGIONS) {
        limit(
            format!("regions[{r}].zones"),
            "zones",
            region.zones.len(),
            MAX_ZONES,
        );
        let outages = region.outages.as_ref().map_or(0, Vec::len);
        limit(
            format!("regions[{r}].outages"),
            "outages",
            outages,
            MAX_OUTAGES,
        );
        groups += region.groups.as_ref().map_or(0, Vec::len);
    }
    limit("regions".into(), "groups in all", groups, MAX_GROUPS);
    for (p, pop) in file.populations.iter().enumerate().take(MAX_POPULATIONS) {
        let classes = pop.classes.as_ref().map_or(0, Vec::len);
        limit(
            format!("populations[{p}].classes"),
            "classes",
            classes,
            MAX_CLASSES,
        );
        let spikes = pop.spikes.as_ref().map_or(0, Vec::len);
        limit(
            format!("populations[{p}].spikes"),
            "spikes",
            spikes,
            MAX_SPIKES,
        );
        let fallback = pop.fallback.as_ref().map_or(0, Vec::len);
        limit(
            format!("populations[{p}].fallback"),
            "fallback regions",
            fallback,
            MAX_REGIONS,
        );
    }
}

/// Checks a parsed scenario and lowers it; `traces` receives the trace files
/// read (name, content) for the content hash.
pub(crate) fn lower(
    file: &FleetScenarioFile,
    read_file: &dyn Fn(&str) -> Result<String, String>,
    traces: &mut Vec<(String, String)>,
) -> Result<FleetConfig, Vec<Problem>> {
    let mut check = Check::default();
    check_sizes(file, &mut check);
    if !check.ok() {
        return Err(check.finish());
    }
    let c = &mut check;
    let run = lower_run(c, &file.run, file.regions.len());
    let (instance_types, type_index) = lower_instance_types(c, file);
    if file.regions.is_empty() {
        c.add("regions", "at least one region is required");
    }
    let region_index = c.unique(
        "regions",
        "region",
        file.regions.iter().map(|r| r.name.as_str()),
    );
    let (regions, region_instances) = lower_regions(c, file, &type_index);
    let inter_region_latency = lower_latency(c, file, &region_index);
    let dns = lower_dns(c, file.dns.as_ref());
    let (populations, requests) = lower_populations(
        c,
        file,
        &region_index,
        &inter_region_latency,
        run.duration,
        read_file,
        traces,
    );
    let mut populations = populations;
    let data = lower_data(c, file, &region_index, &mut populations);
    // Each data-tier query adds three events (arrival at the node, done,
    // reply): half a request's worth.
    let query_factor = populations
        .iter()
        .map(|p| {
            1.0 + 0.5
                * p.classes
                    .iter()
                    .map(|k| k.share * k.data.map_or(0.0, |d| f64::from(d.queries)))
                    .sum::<f64>()
        })
        .fold(1.0, f64::max);
    check_work(
        c,
        run.duration,
        requests * query_factor,
        &regions,
        &region_instances,
        &dns,
    );
    let faults = lower_faults(c, file, &regions, &region_index, &data, run.duration);
    let expectations = lower_expectations(c, file.expect.as_deref().unwrap_or_default());
    let recovery = lower_recovery(
        c,
        file.recovery.as_ref(),
        run.warmup,
        run.duration,
        run.series_interval,
    );
    let random_faults = lower_random_faults(c, file, &regions, &region_index, run.duration);
    if !check.ok() {
        return Err(check.finish());
    }
    Ok(FleetConfig {
        name: file.name.clone().unwrap_or_else(|| "fleet".into()),
        description: file.description.clone().unwrap_or_default(),
        run,
        instance_types,
        regions,
        inter_region_latency,
        dns,
        populations,
        faults,
        random_faults,
        databases: data.databases,
        caches: data.caches,
        intra_region_latency: data.intra_region_latency,
        expectations,
        recovery,
    })
}

/// Most `[[faults]]` entries a scenario may list.
pub const MAX_FAULTS: usize = 10_000;

/// `[[faults]]`: each names an existing component and a window inside the
/// run; fields that do not apply to the kind are errors, not ignored.
fn lower_faults(
    c: &mut Check,
    file: &FleetScenarioFile,
    regions: &[RegionConfig],
    region_index: &BTreeMap<&str, usize>,
    data: &DataTier,
    duration: SimDuration,
) -> Vec<FaultConfig> {
    let specs = file.faults.as_deref().unwrap_or_default();
    if specs.len() > MAX_FAULTS {
        c.add(
            "faults",
            format!("{} faults, more than the {MAX_FAULTS} allowed", specs.len()),
        );
        return Vec::new();
    }
    let mut out = Vec::with_capacity(specs.len());
    for (f, spec) in specs.iter().enumerate() {
        let fp = format!("faults[{f}]");
        let at = c.time(&format!("{fp}.at"), spec.at);
        let length = c.positive_time(&format!("{fp}.duration"), spec.duration);
        if at >= duration {
            c.add(
                format!("{fp}.at"),
                format!("the fault starts at {at}, not before the run ends ({duration})"),
            );
        }
        let rto_target = spec
            .rto_target
            .map(|v| c.time(&format!("{fp}.rto_target"), v));
        let rpo_target = spec
            .rpo_target
            .map(|v| c.time(&format!("{fp}.rpo_target"), v));
        let window = Window {
            start: SimTime::ZERO + at,
            end: SimTime::ZERO + (at + length).min(duration),
        };
        if spec.kind == FaultKindSpec::Dns {
            for (field, given) in [
                ("region", spec.region.is_some()),
                ("zone", spec.zone.is_some()),
                ("group", spec.group.is_some()),
                ("instance", spec.instance.is_some()),
                ("slowdown", spec.slowdown.is_some()),
                ("database", spec.database.is_some()),
                ("shard", spec.shard.is_some()),
                ("replica", spec.replica.is_some()),
                ("cache", spec.cache.is_some()),
                ("peer", spec.peer.is_some()),
                ("latency", spec.latency.is_some()),
                ("loss", spec.loss.is_some()),
            ] {
                if given {
                    c.add(
                        format!("{fp}.{field}"),
                        format!("`{field}` does not apply to a `dns` fault"),
                    );
                }
            }
            out.push(FaultConfig {
                target: FaultTarget::Dns,
                label: "geodns".into(),
                window,
                slowdown: 1.0,
                latency: SimDuration::ZERO,
                loss: 0.0,
                rto_target,
                rpo_target,
            });
            continue;
        }
        if matches!(spec.kind, FaultKindSpec::Partition | FaultKindSpec::Link) {
            if let Some(mut fault) = lower_link_fault(c, &fp, spec, file, region_index) {
                fault.window = window;
                fault.rto_target = rto_target;
                fault.rpo_target = rpo_target;
                out.push(fault);
            }
            continue;
        }
        for (field, given) in [
            ("peer", spec.peer.is_some()),
            ("latency", spec.latency.is_some()),
            ("loss", spec.loss.is_some()),
        ] {
            if given {
                c.add(
                    format!("{fp}.{field}"),
                    format!("`{field}` applies only to `partition` and `link` faults"),
                );
            }
        }
        if matches!(
            spec.kind,
            FaultKindSpec::DatabasePrimary | FaultKindSpec::DatabaseReplica | FaultKindSpec::Cache
        ) {
            if let Some((target, label)) = lower_data_fault(c, &fp, spec, region_index, data) {
                out.push(FaultConfig {
                    target,
                    label,
                    window,
                    slowdown: 1.0,
                    latency: SimDuration::ZERO,
                    loss: 0.0,
                    rto_target,
                    rpo_target,
                });
            }
            continue;
        }
        for (field, given) in [
            ("database", spec.database.is_some()),
            ("shard", spec.shard.is_some()),
            ("replica", spec.replica.is_some()),
            ("cache", spec.cache.is_some()),
        ] {
            if given {
                c.add(
                    format!("{fp}.{field}"),
                    format!("`{field}` applies only to database and cache faults"),
                );
            }
        }
        let Some(region_name) = spec.region.as_deref() else {
            c.add(format!("{fp}.region"), "this kind of fault needs `region`");
            continue;
        };
        let Some(&r) = region_index.get(region_name) else {
            c.add(
                format!("{fp}.region"),
                format!(
                    "no region is named `{}` (regions: {})",
                    region_name,
                    region_names(file)
                ),
            );
            continue;
        };
        let Some(region) = regions.get(r) else {
            continue;
        };
        let wants = |field: &str| match spec.kind {
            FaultKindSpec::Zone => field == "zone",
            FaultKindSpec::Group => field == "group",
            FaultKindSpec::Instance => field == "group" || field == "instance",
            FaultKindSpec::SlowInstance => matches!(field, "group" | "instance" | "slowdown"),
            _ => false,
        };
        let kind_name = match spec.kind {
            FaultKindSpec::Region => "region",
            FaultKindSpec::Balancer => "balancer",
            FaultKindSpec::Zone => "zone",
            FaultKindSpec::Group => "group",
            FaultKindSpec::Instance => "instance",
            FaultKindSpec::SlowInstance => "slow_instance",
            FaultKindSpec::DatabasePrimary
            | FaultKindSpec::DatabaseReplica
            | FaultKindSpec::Cache
            | FaultKindSpec::Dns
            | FaultKindSpec::Partition
            | FaultKindSpec::Link => {
                unreachable!("data-tier, DNS and link faults are lowered above")
            }
        };
        for (field, given) in [
            ("zone", spec.zone.is_some()),
            ("group", spec.group.is_some()),
            ("instance", spec.instance.is_some()),
            ("slowdown", spec.slowdown.is_some()),
        ] {
            if given && !wants(field) {
                c.add(
                    format!("{fp}.{field}"),
                    format!("`{field}` does not apply to a `{kind_name}` fault"),
                );
            } else if !given && wants(field) {
                c.add(
                    format!("{fp}.{field}"),
                    format!("a `{kind_name}` fault needs `{field}`"),
                );
            }
        }
        let group = spec.group.as_ref().and_then(|name| {
            let g = region.groups.iter().position(|g| &g.name == name);
            if g.is_none() {
                let names: Vec<&str> = region.groups.iter().map(|g| g.name.as_str()).collect();
                c.add(
                    format!("{fp}.group"),
                    format!(
                        "region `{}` has no group `{name}` (groups: {})",
                        region.name,
                        names.join(", ")
                    ),
                );
            }
            g
        });
        let target = match spec.kind {
            FaultKindSpec::Region => Some(FaultTarget::Region(r)),
            FaultKindSpec::Balancer => Some(FaultTarget::Balancer(r)),
            FaultKindSpec::Zone => spec.zone.as_ref().and_then(|name| {
                let z = region.zones.iter().position(|z| z == name);
                if z.is_none() {
                    c.add(
                        format!("{fp}.zone"),
                        format!(
                            "region `{}` has no zone `{name}` (zones: {})",
                            region.name,
                            region.zones.join(", ")
                        ),
                    );
                }
                z.map(|z| FaultTarget::Zone(r, z))
            }),
            FaultKindSpec::Group => group.map(|g| FaultTarget::Group(r, g)),
            FaultKindSpec::DatabasePrimary
            | FaultKindSpec::DatabaseReplica
            | FaultKindSpec::Cache
            | FaultKindSpec::Dns
            | FaultKindSpec::Partition
            | FaultKindSpec::Link => None,
            FaultKindSpec::Instance | FaultKindSpec::SlowInstance => match (group, spec.instance) {
                (Some(g), Some(k)) => {
                    let n = region.groups[g].instances;
                    if k >= u64::from(n) {
                        c.add(
                            format!("{fp}.instance"),
                            format!(
                                "group `{}` starts with {n} instances (0 to {}), not {}",
                                region.groups[g].name,
                                n.saturating_sub(1),
                                k + 1
                            ),
                        );
                        None
                    } else if spec.kind == FaultKindSpec::SlowInstance {
                        Some(FaultTarget::SlowInstance(r, g, k as u32))
                    } else {
                        Some(FaultTarget::Instance(r, g, k as u32))
                    }
                }
                _ => None,
            },
        };
        let Some(target) = target else {
            continue;
        };
        let label = match target {
            FaultTarget::Region(_) => format!("region {}", region.name),
            FaultTarget::Balancer(_) => format!("balancer {}", region.name),
            FaultTarget::Zone(_, z) => format!("zone {}/{}", region.name, region.zones[z]),
            FaultTarget::Group(_, g) => format!("group {}/{}", region.name, region.groups[g].name),
            FaultTarget::Instance(_, g, k) => {
                format!("instance {}/{}#{k}", region.name, region.groups[g].name)
            }
            FaultTarget::SlowInstance(_, g, k) => {
                format!(
                    "slow instance {}/{}#{k}",
                    region.name, region.groups[g].name
                )
            }
            FaultTarget::DatabasePrimary(..)
            | FaultTarget::DatabaseReplica(..)
            | FaultTarget::Cache(..)
            | FaultTarget::Dns
            | FaultTarget::Partition(..)
            | FaultTarget::Link(..) => {
                unreachable!("data-tier, DNS and link faults are lowered above")
            }
        };
        let slowdown = match spec.slowdown {
            Some(x) if !(x > 1.0 && x <= 1000.0) => {
                c.add(
                    format!("{fp}.slowdown"),
                    format!("must be above 1 and at most 1000 (times slower), got {x}"),
                );
                1.0
            }
            Some(x) => x,
            None => 1.0,
        };
        out.push(FaultConfig {
            target,
            label,
            window,
            slowdown,
            latency: SimDuration::ZERO,
            loss: 0.0,
            rto_target,
            rpo_target,
        });
    }
    out
}

/// Most failures all `[[random_faults]]` entries together may be expected
/// to produce in one run (components × duration / MTBF).
pub const MAX_RANDOM_FAILURES: f64 = 50_000.0;

/// `[[random_faults]]`: each names existing components; the expected
/// number of failures is bounded so the expansion stays small.
fn lower_random_faults(
    c: &mut Check,
    file: &FleetScenarioFile,
    regions: &[RegionConfig],
    region_index: &BTreeMap<&str, usize>,
    duration: SimDuration,
) -> Vec<RandomFaultConfig> {
    let specs = file.random_faults.as_deref().unwrap_or_default();
    let mut out = Vec::with_capacity(specs.len());
    let mut expected_total = 0.0;
    for (i, spec) in specs.iter().enumerate() {
        let fp = format!("random_faults[{i}]");
        let mtbf = c.positive_time(&format!("{fp}.mtbf"), spec.mtbf);
        let mttr = c.dist(&format!("{fp}.mttr"), &spec.mttr);
        let kind_name = match spec.kind {
            RandomFaultKindSpec::Instance => "instance",
            RandomFaultKindSpec::Zone => "zone",
            RandomFaultKindSpec::Region => "region",
        };
        let wants_group = spec.kind == RandomFaultKindSpec::Instance;
        let wants_zone = spec.kind == RandomFaultKindSpec::Zone;
        if spec.group.is_some() && !wants_group {
            c.add(
                format!("{fp}.group"),
                format!("`group` does not apply to a `{kind_name}` random fault"),
            );
        }
        if spec.zone.is_some() && !wants_zone {
            c.add(
                format!("{fp}.zone"),
                format!("`zone` does not apply to a `{kind_name}` random fault"),
            );
        }
        let Some(r) = named(
            c,
            &format!("{fp}.region"),
            "region",
            &spec.region,
            file.regions.iter().map(|r| r.name.as_str()),
        ) else {
            continue;
        };
        let _ = region_index;
        let region = &regions[r];
        let mut components = Vec::new();
        match spec.kind {
            RandomFaultKindSpec::Region => {
                components.push((FaultTarget::Region(r), format!("region {}", region.name)));
            }
            RandomFaultKindSpec::Zone => match spec.zone.as_deref() {
                Some(name) => {
                    if let Some(z) = named(
                        c,
                        &format!("{fp}.zone"),
                        "zone",
                        name,
                        region.zones.iter().map(String::as_str),
                    ) {
                        components.push((
                            FaultTarget::Zone(r, z),
                            format!("zone {}/{name}", region.name),
                        ));
                    }
                }
                None => {
                    for (z, name) in region.zones.iter().enumerate() {
                        components.push((
                            FaultTarget::Zone(r, z),
                            format!("zone {}/{name}", region.name),
                        ));
                    }
                }
            },
            RandomFaultKindSpec::Instance => {
                let Some(name) = spec.group.as_deref() else {
                    c.add(
                        format!("{fp}.group"),
                        "an `instance` random fault needs `group`",
                    );
                    continue;
                };
                let Some(g) = named(
                    c,
                    &format!("{fp}.group"),
                    "group",
                    name,
                    region.groups.iter().map(|g| g.name.as_str()),
                ) else {
                    continue;
                };
                for k in 0..region.groups[g].instances {
                    components.push((
                        FaultTarget::Instance(r, g, k),
                        format!("instance {}/{name}#{k}", region.name),
                    ));
                }
            }
        }
        let expected =
            components.len() as f64 * duration.as_secs_f64() / mtbf.as_secs_f64().max(1e-9);
        expected_total += expected;
        if expected_total > MAX_RANDOM_FAILURES {
            c.add(
                format!("{fp}.mtbf"),
                format!(
                    "{} components × {duration} / MTBF {mtbf} ≈ {expected:.0} failures expected \
                     (all random faults so far: {expected_total:.0}), more than the \
                     {MAX_RANDOM_FAILURES} a run may expand; use a longer `mtbf`",
                    components.len()
                ),
            );
            continue;
        }
        out.push(RandomFaultConfig {
            components,
            mtbf,
            mttr,
        });
    }
    out
}

/// A `partition` or `link` fault between `region` and `peer` (window and
/// targets filled in by the caller), or `None` after recording what is
/// wrong.
fn lower_link_fault(
    c: &mut Check,
    fp: &str,
    spec: &FaultSpec,
    file: &FleetScenarioFile,
    region_index: &BTreeMap<&str, usize>,
) -> Option<FaultConfig> {
    let link = spec.kind == FaultKindSpec::Link;
    let kind_name = if link { "link" } else { "partition" };
    for (field, given) in [
        ("zone", spec.zone.is_some()),
        ("group", spec.group.is_some()),
        ("instance", spec.instance.is_some()),
        ("slowdown", spec.slowdown.is_some()),
        ("database", spec.database.is_some()),
        ("shard", spec.shard.is_some()),
        ("replica", spec.replica.is_some()),
        ("cache", spec.cache.is_some()),
        ("latency", !link && spec.latency.is_some()),
        ("loss", !link && spec.loss.is_some()),
    ] {
        if given {
            c.add(
                format!("{fp}.{field}"),
                format!("`{field}` does not apply to a `{kind_name}` fault"),
            );
        }
    }
    let end = |c: &mut Check, field: &str, name: Option<&str>| -> Option<usize> {
        let Some(name) = name else {
            c.add(
                format!("{fp}.{field}"),
                format!("a `{kind_name}` fault needs `{field}` (the two regions it separates)"),
            );
            return None;
        };
        let r = region_index.get(name).copied();
        if r.is_none() {
            c.add(
                format!("{fp}.{field}"),
                format!(
                    "no region is named `{name}` (regions: {})",
                    region_names(file)
                ),
            );
        }
        r
    };
    let a = end(c, "region", spec.region.as_deref());
    let b = end(c, "peer", spec.peer.as_deref());
    let latency = spec
        .latency
        .map_or(SimDuration::ZERO, |v| c.time(&format!("{fp}.latency"), v));
    let loss = match spec.loss {
        Some(x) if !(0.0..=1.0).contains(&x) => {
            c.add(
                format!("{fp}.loss"),
                format!("must be a probability from 0 to 1, got {x}"),
            );
            0.0
        }
        Some(x) => x,
        None => 0.0,
    };
    if link && spec.latency.is_none() && spec.loss.is_none() {
        c.add(
            format!("{fp}.latency"),
            "a `link` fault needs `latency`, `loss` or both",
        );
    }
    let (a, b) = (a?, b?);
    if a == b {
        c.add(
            format!("{fp}.peer"),
            format!(
                "a `{kind_name}` fault is between two different regions; both are `{}`",
                file.regions[a].name
            ),
        );
        return None;
    }
    let (lo, hi) = (a.min(b), a.max(b));
    let (na, nb) = (&file.regions[lo].name, &file.regions[hi].name);
    let (target, label) = if link {
        let mut what = Vec::new();
        if !latency.is_zero() {
            what.push(format!("+{latency}"));
        }
        if loss > 0.0 {
            what.push(format!("{}% loss", loss * 100.0));
        }
        (
            FaultTarget::Link(lo, hi),
            format!("link {na}|{nb} ({})", what.join(", ")),
        )
    } else {
        (
            FaultTarget::Partition(lo, hi),
            format!("partition {na}|{nb}"),
        )
    };
    Some(FaultConfig {
        target,
        label,
        window: Window {
            start: SimTime::ZERO,
            end: SimTime::ZERO,
        },
        slowdown: 1.0,
        latency,
        loss,
        rto_target: None,
        rpo_target: None,
    })
}

/// The position of `name` among `names` (a `what`'s names), or a problem at
/// `path` that lists them.
fn named<'a>(
    c: &mut Check,
    path: &str,
    what: &str,
    name: &str,
    names: impl Iterator<Item = &'a str> + Clone,
) -> Option<usize> {
    let found = names.clone().position(|n| n == name);
    if found.is_none() {
        c.add(
            path,
            format!(
                "no {what} is named `{name}` ({what}s: {})",
                list_names(names)
            ),
        );
    }
    found
}

/// A `database_primary`, `database_replica` or `cache` fault: its target
/// and label, or `None` after recording what is wrong.
fn lower_data_fault(
    c: &mut Check,
    fp: &str,
    spec: &FaultSpec,
    region_index: &BTreeMap<&str, usize>,
    data: &DataTier,
) -> Option<(FaultTarget, String)> {
    let is_cache = spec.kind == FaultKindSpec::Cache;
    let kind_name = match spec.kind {
        FaultKindSpec::DatabasePrimary => "database_primary",
        FaultKindSpec::DatabaseReplica => "database_replica",
        _ => "cache",
    };
    let wants = |field: &str| match spec.kind {
        FaultKindSpec::DatabasePrimary => matches!(field, "database" | "shard"),
        FaultKindSpec::DatabaseReplica => matches!(field, "database" | "shard" | "replica"),
        _ => matches!(field, "cache" | "region"),
    };
    for (field, given, required) in [
        ("region", spec.region.is_some(), is_cache),
        ("database", spec.database.is_some(), !is_cache),
        ("shard", spec.shard.is_some(), false),
        (
            "replica",
            spec.replica.is_some(),
            spec.kind == FaultKindSpec::DatabaseReplica,
        ),
        ("cache", spec.cache.is_some(), is_cache),
        ("zone", spec.zone.is_some(), false),
        ("group", spec.group.is_some(), false),
        ("instance", spec.instance.is_some(), false),
        ("slowdown", spec.slowdown.is_some(), false),
    ] {
        if given && !wants(field) {
            c.add(
                format!("{fp}.{field}"),
                format!("`{field}` does not apply to a `{kind_name}` fault"),
            );
        } else if !given && required {
            c.add(
                format!("{fp}.{field}"),
                format!("a `{kind_name}` fault needs `{field}`"),
            );
        }
    }
    if is_cache {
        let name = spec.cache.as_deref()?;
        let i = named(
            c,
            &format!("{fp}.cache"),
            "cache",
            name,
            data.caches.iter().map(|k| k.name.as_str()),
        )?;
        let region = spec.region.as_deref()?;
        let r = named(
            c,
            &format!("{fp}.region"),
            "region",
            region,
            region_index.keys().copied(),
        )?;
        return Some((FaultTarget::Cache(i, r), format!("cache {name}@{region}")));
    }
    let name = spec.database.as_deref()?;
    let d = named(
        c,
        &format!("{fp}.database"),
        "database",
        name,
        data.databases.iter().map(|k| k.name.as_str()),
    )?;
    let db = &data.databases[d];
    let shards = db.shard_nodes.len() as u64;
    let shard = spec.shard.unwrap_or(0);
    if shard >= shards {
        c.add(
            format!("{fp}.shard"),
            format!(
                "database `{name}` has {shards} shards (0 to {}), not shard {shard}",
                shards - 1
            ),
        );
        return None;
    }
    let s = shard as usize;
    let suffix = if shards > 1 {
        format!("[{s}]")
    } else {
        String::new()
    };
    if spec.kind == FaultKindSpec::DatabasePrimary {
        return Some((
            FaultTarget::DatabasePrimary(d, s),
            format!("db primary {name}{suffix}"),
        ));
    }
    let k = spec.replica?;
    let replicas = db.shard_nodes[s].len() as u64 - 1;
    if k >= replicas {
        c.add(
            format!("{fp}.replica"),
            if replicas == 0 {
                format!("database `{name}` has no replicas")
            } else {
                format!(
                    "database `{name}` has {replicas} replica{} (0 to {}), not {k}",
                    if replicas == 1 { "" } else { "s" },
                    replicas - 1
                )
            },
        );
        return None;
    }
    Some((
        FaultTarget::DatabaseReplica(d, s, k as usize),
        format!("db replica {name}{suffix}#{k}"),
    ))
}

/// `[run]`.
/// Most time-series points a fleet report may hold, all series together
/// (about 180 MB).
pub const MAX_FLEET_SERIES_POINTS: u64 = 2_000_000;

fn lower_run(c: &mut Check, run: &FleetRunSpec, regions: usize) -> FleetRunConfig {
    let duration = c.positive_time("run.duration", run.duration);
    let warmup = run
        .warmup
        .map_or(SimDuration::ZERO, |w| c.time("run.warmup", w));
    if warmup >= duration {
        c.add(
            "run.warmup",
            format!("warm-up {warmup} is not shorter than the duration {duration}"),
        );
    }
    let series_interval = c.opt_positive_time(
        "run.series_interval",
        run.series_interval,
        SimDuration::from_secs(10),
    );
    // One series for the fleet and one per region, each point ~90 bytes.
    let points = duration.as_nanos() / series_interval.as_nanos().max(1);
    let series = regions as u64 + 1;
    if points.saturating_mul(series) > MAX_FLEET_SERIES_POINTS {
        c.add(
            "run.series_interval",
            format!(
                "duration / interval = {points} points in each of {series} series (the fleet and \
                 each region), more than the {MAX_FLEET_SERIES_POINTS} points a report may hold; \
                 use a longer interval"
            ),
        );
    }
    let slo = match &run.slo {
        None => SloConfig {
            latency: SimDuration::from_millis(300),
            target: 0.999,
        },
        Some(slo) => SloConfig {
            latency: c.opt_positive_time(
                "run.slo.latency",
                slo.latency,
                SimDuration::from_millis(300),
            ),
            target: slo.target.map_or(0.999, |t| {
                c.real(
                    "run.slo.target",
                    t,
                    Bound::Excluded(0.0),
                    Bound::Included(1.0),
                )
            }),
        },
    };
    FleetRunConfig {
        duration,
        warmup,
        default_seed: run.seed.unwrap_or(DEFAULT_SEED),
        series_interval,
        slo,
    }
}

/// `[[instance_types]]`, and their index by name.
fn lower_instance_types<'a>(
    c: &mut Check,
    file: &'a FleetScenarioFile,
) -> (Vec<InstanceTypeConfig>, BTreeMap<&'a str, usize>) {
    let type_index = c.unique(
        "instance_types",
        "instance type",
        file.instance_types.iter().map(|t| t.name.as_str()),
    );
    let mut instance_types = Vec::with_capacity(file.instance_types.len());
    for (i, t) in file.instance_types.iter().enumerate() {
        let at = |f: &str| format!("instance_types[{i}].{f}");
        instance_types.push(InstanceTypeConfig {
            name: t.name.clone(),
            speed: t.speed.map_or(1.0, |s| {
                c.real(
                    &at("speed"),
                    s,
                    Bound::Excluded(0.0),
                    Bound::Included(1000.0),
                )
            }),
            workers: c.count(&at("workers"), t.workers, 1, MAX_WORKERS_PER_INSTANCE),
            queue_capacity: t
                .queue_capacity
                .map(|q| c.count(&at("queue_capacity"), q, 0, MAX_QUEUE_CAPACITY)),
            hourly_price: t.hourly_price.map_or(0.0, |p| {
                c.real(
                    &at("hourly_price"),
                    p,
                    Bound::Included(0.0),
                    Bound::Unbounded,
                )
            }),
            billing_minimum: t.billing_minimum.map_or(SimDuration::from_secs(60), |m| {
                c.time(&at("billing_minimum"), m)
            }),
        });
    }
    (instance_types, type_index)
}

/// `[[regions]]`, and the initial instance count of each.
fn lower_regions(
    c: &mut Check,
    file: &FleetScenarioFile,
    type_index: &BTreeMap<&str, usize>,
) -> (Vec<RegionConfig>, Vec<u64>) {
    let mut regions = Vec::with_capacity(file.regions.len());
    let mut total_instances: u64 = 0;
    let mut total_workers: u64 = 0;
    let mut region_instances = Vec::with_capacity(file.regions.len());
    for (r, region) in file.regions.iter().enumerate() {
        let rp = format!("regions[{r}]");
        if region.zones.is_empty() {
            c.add(format!("{rp}.zones"), "at least one zone is required");
        }
        let mut zone_index = BTreeMap::new();
        for (z, zone) in region.zones.iter().enumerate() {
            c.name(&format!("{rp}.zones[{z}]"), zone);
            if let Some(first) = zone_index.insert(zone.as_str(), z) {
                zone_index.insert(zone.as_str(), first);
                c.add(
                    format!("{rp}.zones[{z}]"),
                    format!("zone `{zone}` is listed twice"),
                );
            }
        }

        // Outages: in time order, not overlapping.
        let mut outages = Vec::new();
        let mut previous_end = None;
        for (o, w) in region.outages.iter().flatten().enumerate() {
            let op = format!("{rp}.outages[{o}]");
            let start = c.time(&format!("{op}.start"), w.start);
            let end = c.time(&format!("{op}.end"), w.end);
            if end <= start {
                c.add(
                    format!("{op}.end"),
                    format!("the outage ends ({end}) no later than it starts ({start})"),
                );
            }
            if let Some(prev) = previous_end
                && start < prev
            {
                c.add(
                    format!("{op}.start"),
                    format!(
                        "starts at {start}, before the previous outage ends ({prev}): list outages in time order, without overlaps"
                    ),
                );
            }
            previous_end = Some(end);
            outages.push(Window {
                start: SimTime::ZERO + start,
                end: SimTime::ZERO + end,
            });
        }

        // Groups.
        let groups_spec = region.groups.as_deref().unwrap_or_default();
        let mut group_names = BTreeMap::new();
        let mut groups = Vec::with_capacity(groups_spec.len());
        let mut instances_here: u64 = 0;
        for (g, group) in groups_spec.iter().enumerate() {
            let gp = format!("{rp}.groups[{g}]");
            c.name(&format!("{gp}.name"), &group.name);
            if let Some(first) = group_names.insert(group.name.as_str(), g) {
                group_names.insert(group.name.as_str(), first);
                c.add(
                    format!("{gp}.name"),
                    format!(
                        "group name `{}` is used twice in region `{}` (also {rp}.groups[{first}])",
                        group.name, region.name
                    ),
                );
            }
            let instance_type = match type_index.get(group.instance_type.as_str()) {
                Some(&t) => t,
                None => {
                    c.add(
                        format!("{gp}.instance_type"),
                        format!(
                            "no instance type is named `{}` (instance types: {})",
                            group.instance_type,
                            list_names(type_index.keys().copied())
                        ),
                    );
                    0
                }
            };
            let instances = c.count(
                &format!("{gp}.instances"),
                group.instances,
                0,
                MAX_INSTANCES_PER_GROUP,
            );
            let autoscaling = group
                .autoscaling
                .as_ref()
                .map(|a| lower_autoscaling(c, &format!("{gp}.autoscaling"), a, group.instances));
            // Bound the fleet at the size it may reach, not only its start.
            let most = autoscaling
                .as_ref()
                .map_or(group.instances, |a| group.instances.max(u64::from(a.max)));
            instances_here = instances_here.saturating_add(most);
            total_instances = total_instances.saturating_add(most);
            if let Some(t) = file.instance_types.get(instance_type) {
                total_workers = total_workers.saturating_add(most.saturating_mul(t.workers));
            }
            let zones = match &group.zones {
                None => (0..region.zones.len()).collect(),
                Some(names) => {
                    if names.is_empty() {
                        c.add(
                            format!("{gp}.zones"),
                            "is empty: leave it out to use every zone of the region",
                        );
                    }
                    let mut seen = BTreeSet::new();
                    let mut zones = Vec::with_capacity(names.len());
                    for (z, name) in names.iter().enumerate() {
                        match zone_index.get(name.as_str()) {
                            Some(&zi) => {
                                if !seen.insert(zi) {
                                    c.add(
                                        format!("{gp}.zones[{z}]"),
                                        format!("zone `{name}` is listed twice"),
                                    );
                                }
                                zones.push(zi);
                            }
                            None => c.add(
                                format!("{gp}.zones[{z}]"),
                                format!(
                                    "region `{}` has no zone `{name}` (zones: {})",
                                    region.name,
                                    list_names(region.zones.iter().map(String::as_str))
                                ),
                            ),
                        }
                    }
                    zones
                }
            };
            let weight = group
                .weight
                .map_or(1, |w| c.count(&format!("{gp}.weight"), w, 1, MAX_WEIGHT));
            let boot = match &group.boot {
                None => Distribution::constant(60.0).expect("a constant 60 s is valid"),
                Some(spec) => {
                    let path = format!("{gp}.boot");
                    match spec.build() {
                        Ok(d) if d.mean().is_finite() => d,
                        Ok(d) => {
                            c.add(path, format!("the mean must be finite, got {}", d.mean()));
                            d
                        }
                        Err(m) => {
                            c.add(path, m);
                            distribution_after_problem()
                        }
                    }
                }
            };
            let warmup = match &group.warmup {
                None => WarmupConfig {
                    duration: SimDuration::ZERO,
                    initial_speed: 1.0,
                },
                Some(w) => WarmupConfig {
                    duration: c.time(&format!("{gp}.warmup.duration"), w.duration),
                    initial_speed: w.initial_speed.map_or(0.5, |s| {
                        c.real(
                            &format!("{gp}.warmup.initial_speed"),
                            s,
                            Bound::Excluded(0.0),
                            Bound::Included(1.0),
                        )
                    }),
                },
            };
            groups.push(GroupConfig {
                name: group.name.clone(),
                instance_type,
                instances,
                zones,
                weight,
                boot,
                warmup,
                start_booting: group.start_booting.unwrap_or(false),
                autoscaling,
            });
        }
        region_instances.push(instances_here);
        let balancer = lower_balancer(c, &rp, region.balancer.as_ref(), instances_here);
        let instance_quota = region
            .instance_quota
            .map(|q| c.count(&format!("{rp}.instance_quota"), q, 0, MAX_TOTAL_INSTANCES));
        regions.push(RegionConfig {
            name: region.name.clone(),
            zones: region.zones.clone(),
            balancer,
            groups,
            outages,
            instance_quota,
        });
    }
    if total_instances > MAX_TOTAL_INSTANCES {
        c.add(
            "regions",
            format!(
                "{total_instances} instances in all is more than the {MAX_TOTAL_INSTANCES} allowed"
            ),
        );
    }
    if total_workers > MAX_TOTAL_SERVERS {
        c.add(
            "regions",
            format!("{total_workers} workers in all is more than the {MAX_TOTAL_SERVERS} allowed"),
        );
    }
    (regions, region_instances)
}

/// `[[latency]]`: the full matrix, or a problem per missing pair.
fn lower_latency(
    c: &mut Check,
    file: &FleetScenarioFile,
    region_index: &BTreeMap<&str, usize>,
) -> Vec<Vec<SimDuration>> {
    let n = file.regions.len();
    let mut latency: Vec<Vec<Option<(SimDuration, usize)>>> = vec![vec![None; n]; n];
    for (l, entry) in file.latency.iter().flatten().enumerate() {
        let lp = format!("latency[{l}]");
        let one_way = c.time(&format!("{lp}.one_way"), entry.one_way);
        let lookup = |path: String, name: &str, c: &mut Check| match region_index.get(name) {
            Some(&i) => Some(i),
            None => {
                c.add(
                    path,
                    format!(
                        "no region is named `{name}` (regions: {})",
                        region_names(file)
                    ),
                );
                None
            }
        };
        let pairs: Vec<(usize, usize)> = match (&entry.between, &entry.from, &entry.to) {
            (Some([a, b]), None, None) => {
                let a = lookup(format!("{lp}.between[0]"), a, c);
                let b = lookup(format!("{lp}.between[1]"), b, c);
                match (a, b) {
                    (Some(a), Some(b)) => vec![(a, b), (b, a)],
                    _ => vec![],
                }
            }
            (None, Some(from), Some(to)) => {
                let a = lookup(format!("{lp}.from"), from, c);
                let b = lookup(format!("{lp}.to"), to, c);
                match (a, b) {
                    (Some(a), Some(b)) => vec![(a, b)],
                    _ => vec![],
                }
            }
            _ => {
                c.add(
                    lp.clone(),
                    "give either `between = [a, b]` (both directions) or `from` and `to` (one direction)",
                );
                vec![]
            }
        };
        for (a, b) in pairs {
            if a == b {
                c.add(
                    lp.clone(),
                    format!(
                        "latency within region `{}` is always zero; name two different regions",
                        file.regions[a].name
                    ),
                );
                break;
            }
            if let Some((_, first)) = latency[a][b] {
                c.add(
                    lp.clone(),
                    format!(
                        "latency from `{}` to `{}` is already given by latency[{first}]",
                        file.regions[a].name, file.regions[b].name
                    ),
                );
            } else {
                latency[a][b] = Some((one_way, l));
            }
        }
    }
    let mut inter_region_latency = vec![vec![SimDuration::ZERO; n]; n];
    for a in 0..n {
        for b in 0..n {
            if a == b {
                continue;
            }
            match latency[a][b] {
                Some((d, _)) => inter_region_latency[a][b] = d,
                None => {
                    // One message per unordered pair when both ways are missing.
                    if latency[b][a].is_none() && b < a {
                        continue;
                    }
                    let (x, y) = (&file.regions[a].name, &file.regions[b].name);
                    let hint = if latency[b][a].is_none() {
                        format!(
                            "no latency between `{x}` and `{y}`: add `[[latency]]` with `between = [\"{x}\", \"{y}\"]`"
                        )
                    } else {
                        format!(
                            "no latency from `{x}` to `{y}` (only the other way): use `between` for both directions"
                        )
                    };
                    c.add("latency", hint);
                }
            }
        }
    }
    inter_region_latency
}

/// `[dns]`.
fn lower_dns(c: &mut Check, spec: Option<&DnsSpec>) -> DnsConfig {
    match spec {
        None => DnsConfig {
            ttl: SimDuration::from_secs(60),
            health_check: DNS_HEALTH_CHECK,
        },
        Some(d) => DnsConfig {
            ttl: c.opt_positive_time("dns.ttl", d.ttl, SimDuration::from_secs(60)),
            health_check: c.health_check(
                "dns.health_check",
                d.health_check.as_ref(),
                DNS_HEALTH_CHECK,
            ),
        },
    }
}

/// `[[populations]]`, and the number of requests they are expected to send
/// (hedged copies included).
fn lower_populations(
    c: &mut Check,
    file: &FleetScenarioFile,
    region_index: &BTreeMap<&str, usize>,
    inter_region_latency: &[Vec<SimDuration>],
    duration: SimDuration,
    read_file: &dyn Fn(&str) -> Result<String, String>,
    traces: &mut Vec<(String, String)>,
) -> (Vec<PopulationConfig>, f64) {
    if file.populations.is_empty() {
        c.add("populations", "at least one population is required");
    }
    c.unique(
        "populations",
        "population",
        file.populations.iter().map(|p| p.name.as_str()),
    );
    let mut populations = Vec::with_capacity(file.populations.len());
    let mut total_users: u64 = 0;
    let mut requests = 0.0_f64;
    for (p, pop) in file.populations.iter().enumerate() {
        let pp = format!("populations[{p}]");
        let home = region_index.get(pop.region.as_str()).copied();
        if home.is_none() {
            c.add(
                format!("{pp}.region"),
                format!(
                    "no region is named `{}` (regions: {})",
                    pop.region,
                    region_names(file)
                ),
            );
        }
        let fallback = match (&pop.fallback, home) {
            (Some(names), _) => {
                let mut seen = BTreeSet::new();
                let mut out = Vec::with_capacity(names.len());
                for (f, name) in names.iter().enumerate() {
                    let fp = format!("{pp}.fallback[{f}]");
                    match region_index.get(name.as_str()) {
                        None => c.add(
                            fp,
                            format!(
                                "no region is named `{name}` (regions: {})",
                                region_names(file)
                            ),
                        ),
                        Some(&i) if Some(i) == home => c.add(
                            fp,
                            format!("`{name}` is the home region; fallbacks are the other regions"),
                        ),
                        Some(&i) => {
                            if seen.insert(i) {
                                out.push(i);
                            } else {
                                c.add(fp, format!("region `{name}` is listed twice"));
                            }
                        }
                    }
                }
                out
            }
            // Default: every other region, nearest first (file order on ties).
            (None, Some(h)) => {
                let mut others: Vec<usize> = (0..file.regions.len()).filter(|&r| r != h).collect();
                others.sort_by_key(|&r| (inter_region_latency[h][r], r));
                others
            }
            (None, None) => Vec::new(),
        };
        let access_latency = pop.access_latency.map_or(SimDuration::ZERO, |a| {
            c.time(&format!("{pp}.access_latency"), a)
        });
        let client = lower_client(c, &pp, pop.client.as_ref());
        let copies = 1.0 + client.hedge.map_or(0.0, |h| f64::from(h.max_extra));
        let load = lower_load(c, &pp, pop, read_file, traces, &mut total_users);
        let expected = match &load {
            LoadConfig::Open(profile) => profile.expected_count(0.0, duration.as_secs_f64()),
            LoadConfig::Closed { users, think } => {
                f64::from(*users) * duration.as_secs_f64() / think.mean().max(1e-9)
            }
        };
        if expected.is_finite() {
            requests += expected * copies;
        } else {
            requests = f64::INFINITY;
        }
        let classes = lower_classes(c, &pp, pop);
        populations.push(PopulationConfig {
            name: pop.name.clone(),
            home_region: home.unwrap_or(0),
            fallback,
            access_latency,
            load,
            classes,
            client,
        });
    }
    if total_users > MAX_TOTAL_USERS {
        c.add(
            "populations",
            format!(
                "{total_users} closed-loop users in all is more than the {MAX_TOTAL_USERS} allowed"
            ),
        );
    }
    (populations, requests)
}

/// Refuses runs that could not finish in reasonable time, rather than appear
/// to hang (estimated from what lowered cleanly): requests × events per
/// request, plus health checks and outlier sweeps.
fn check_work(
    c: &mut Check,
    duration: SimDuration,
    requests: f64,
    regions: &[RegionConfig],
    region_instances: &[u64],
    dns: &DnsConfig,
) {
    let secs = duration.as_secs_f64();
    let mut events = requests * EVENTS_PER_REQUEST;
    for (region, &instances) in regions.iter().zip(region_instances) {
        let b = &region.balancer;
        events += 2.0 * instances as f64 * secs / b.health_check.interval.as_secs_f64().max(1e-9);
        if let Some(o) = b.outlier {
            events += secs / o.interval.as_secs_f64().max(1e-9);
        }
    }
    events += 2.0 * regions.len() as f64 * secs / dns.health_check.interval.as_secs_f64().max(1e-9);
    if events.is_nan() || events > MAX_ESTIMATED_EVENTS {
        c.add(
            "run",
            format!(
                "this run needs about {events:.1e} events (roughly {:.0} hours at 10 million events/s), \
                 more than the {MAX_ESTIMATED_EVENTS:.0e} allowed: shorten `run.duration` or lower the load",
                events / 1e7 / 3600.0
            ),
        );
    }
}

fn region_names(file: &FleetScenarioFile) -> String {
    list_names(file.regions.iter().map(|r| r.name.as_str()))
}

fn list_names<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let mut out: Vec<String> = names.take(20).map(|n| format!("`{n}`")).collect();
    if out.is_empty() {
        return "none".into();
    }
    if out.len() == 20 {
        out.push("...".into());
    }
    out.join(", ")
}

fn lower_balancer(
    c: &mut Check,
    rp: &str,
    spec: Option<&BalancerSpec>,
    instances: u64,
) -> BalancerConfig {
    let Some(spec) = spec else {
        return BalancerConfig {
            algorithm: Algorithm::RoundRobin,
            zone_aware: None,
            health_check: ALB_HEALTH_CHECK,
            outlier: None,
            slow_start: None,
            fail_open: true,
        };
    };
    let bp = format!("{rp}.balancer");
    let name = spec.algorithm.unwrap_or(AlgorithmName::RoundRobin);
    // Parameters of other algorithms are refused: they would be ignored.
    let mut only = |given: bool, field: &str, owner: AlgorithmName| {
        if given && name != owner {
            c.add(
                format!("{bp}.{field}"),
                format!(
                    "`{field}` applies only to `{}`, but the algorithm is `{}`",
                    algorithm_name(owner),
                    algorithm_name(name)
                ),
            );
        }
    };
    only(
        spec.choices.is_some(),
        "choices",
        AlgorithmName::PowerOfChoices,
    );
    only(spec.decay.is_some(), "decay", AlgorithmName::LeastLatency);
    only(
        spec.ring_size.is_some(),
        "ring_size",
        AlgorithmName::RingHash,
    );
    only(
        spec.bounded_load.is_some(),
        "bounded_load",
        AlgorithmName::RingHash,
    );
    only(
        spec.table_size.is_some(),
        "table_size",
        AlgorithmName::Maglev,
    );
    let algorithm = match name {
        AlgorithmName::RoundRobin => Algorithm::RoundRobin,
        AlgorithmName::WeightedRoundRobin => Algorithm::WeightedRoundRobin,
        AlgorithmName::Random => Algorithm::Random,
        AlgorithmName::LeastOutstanding => Algorithm::LeastOutstanding,
        AlgorithmName::KeyHash => Algorithm::KeyHash,
        AlgorithmName::PowerOfChoices => Algorithm::PowerOfChoices {
            choices: spec
                .choices
                .map_or(2, |n| c.count(&format!("{bp}.choices"), n, 2, MAX_CHOICES)),
        },
        AlgorithmName::LeastLatency => Algorithm::LeastLatency {
            decay: c.opt_positive_time(
                &format!("{bp}.decay"),
                spec.decay,
                SimDuration::from_secs(10),
            ),
        },
        AlgorithmName::RingHash => {
            let ring_size = spec.ring_size.map_or(1024, |n| {
                c.count(&format!("{bp}.ring_size"), n, 1, MAX_RING_SIZE)
            });
            if u64::from(ring_size) < instances {
                c.add(
                    format!("{bp}.ring_size"),
                    format!(
                        "a ring of {ring_size} points is smaller than the region's {instances} instances: some would get no place on the ring"
                    ),
                );
            }
            Algorithm::RingHash {
                ring_size,
                bounded_load: spec.bounded_load.map(|f| {
                    c.real(
                        &format!("{bp}.bounded_load"),
                        f,
                        Bound::Excluded(1.0),
                        Bound::Included(100.0),
                    )
                }),
            }
        }
        AlgorithmName::Maglev => {
            let table_size = spec.table_size.map_or(65_537, |n| {
                c.count(&format!("{bp}.table_size"), n, 2, MAX_MAGLEV_TABLE)
            });
            if spec.table_size.is_some() && !is_prime(u64::from(table_size)) {
                c.add(
                    format!("{bp}.table_size"),
                    format!(
                        "{table_size} is not prime; Maglev needs a prime table size (e.g. 65537)"
                    ),
                );
            }
            if u64::from(table_size) < instances {
                c.add(
                    format!("{bp}.table_size"),
                    format!(
                        "a table of {table_size} entries is smaller than the region's {instances} instances"
                    ),
                );
            }
            Algorithm::Maglev { table_size }
        }
    };
    let zone_aware = spec.zone_aware.as_ref().map(|z| ZoneAwareConfig {
        spill_utilization: z.spill_utilization.map_or(0.8, |u| {
            c.real(
                &format!("{bp}.zone_aware.spill_utilization"),
                u,
                Bound::Excluded(0.0),
                Bound::Included(1.0),
            )
        }),
    });
    let health_check = c.health_check(
        &format!("{bp}.health_check"),
        spec.health_check.as_ref(),
        ALB_HEALTH_CHECK,
    );
    let outlier = spec.outlier.as_ref().map(|o| {
        let op = format!("{bp}.outlier");
        let base_ejection = c.opt_positive_time(
            &format!("{op}.base_ejection"),
            o.base_ejection,
            SimDuration::from_secs(30),
        );
        let max_ejection = match o.max_ejection {
            None => base_ejection.max(SimDuration::from_secs(300)),
            Some(m) => {
                let m = c.positive_time(&format!("{op}.max_ejection"), m);
                if m < base_ejection {
                    c.add(
                        format!("{op}.max_ejection"),
                        format!("{m} is shorter than base_ejection {base_ejection}"),
                    );
                }
                m
            }
        };
        OutlierConfig {
            consecutive_errors: o.consecutive_errors.map_or(5, |n| {
                c.count(&format!("{op}.consecutive_errors"), n, 1, MAX_THRESHOLD)
            }),
            interval: c.opt_positive_time(
                &format!("{op}.interval"),
                o.interval,
                SimDuration::from_secs(10),
            ),
            base_ejection,
            max_ejection,
            max_ejection_percent: o.max_ejection_percent.map_or(10.0, |x| {
                c.real(
                    &format!("{op}.max_ejection_percent"),
                    x,
                    Bound::Included(0.0),
                    Bound::Included(100.0),
                )
            }),
        }
    });
    let slow_start = spec.slow_start.as_ref().map(|s| {
        let sp = format!("{bp}.slow_start");
        match name {
            AlgorithmName::RoundRobin
            | AlgorithmName::WeightedRoundRobin
            | AlgorithmName::PowerOfChoices => {}
            AlgorithmName::LeastOutstanding => c.add(
                sp.clone(),
                "slow start cannot be combined with `least_outstanding` (AWS ALB forbids slow start with least outstanding requests); use `power_of_choices` or `round_robin`",
            ),
            other => c.add(
                sp.clone(),
                format!(
                    "slow start works only with `round_robin`, `weighted_round_robin` and `power_of_choices` (as in Envoy), not `{}`",
                    algorithm_name(other)
                ),
            ),
        }
        SlowStartConfig {
            window: c.positive_time(&format!("{sp}.window"), s.window),
            aggression: s.aggression.map_or(1.0, |a| {
                c.real(
                    &format!("{sp}.aggression"),
                    a,
                    Bound::Excluded(0.0),
                    Bound::Included(100.0),
                )
            }),
            min_weight: s.min_weight_percent.map_or(0.1, |p| {
                c.real(
                    &format!("{sp}.min_weight_percent"),
                    p,
                    Bound::Excluded(0.0),
                    Bound::Included(100.0),
                ) / 100.0
            }),
        }
    });
    BalancerConfig {
        algorithm,
        zone_aware,
        health_check,
        outlier,
        slow_start,
        fail_open: spec.fail_open.unwrap_or(true),
    }
}

fn lower_load(
    c: &mut Check,
    pp: &str,
    pop: &PopulationSpec,
    read_file: &dyn Fn(&str) -> Result<String, String>,
    traces: &mut Vec<(String, String)>,
    total_users: &mut u64,
) -> LoadConfig {
    // Returned only alongside a recorded problem: the lowered config is then
    // discarded, so any valid value will do.
    let after_problem = || LoadConfig::Open(RateProfile::constant(1.0).expect("rate 1 is valid"));
    let spikes = pop.spikes.as_deref().unwrap_or_default();
    // Rate-profile errors name a spike as `spikes[i]: ...`.
    let rate_problem = |c: &mut Check, field: &str, m: String| match m
        .strip_prefix("spikes[")
        .and_then(|rest| rest.split_once("]: "))
    {
        Some((i, rest)) => c.add(format!("{pp}.spikes[{i}]"), rest.to_string()),
        None => c.add(format!("{pp}.{field}"), m),
    };
    match (&pop.rate, &pop.trace, &pop.closed_loop) {
        (Some(rate), None, None) => match rate.build(spikes) {
            Ok(profile) => LoadConfig::Open(profile),
            Err(m) => {
                rate_problem(c, "rate", m);
                after_problem()
            }
        },
        (None, Some(trace), None) => {
            let fp = format!("{pp}.trace.file");
            let scale = trace.scale.map_or(1.0, |s| {
                c.real(
                    &format!("{pp}.trace.scale"),
                    s,
                    Bound::Excluded(0.0),
                    Bound::Unbounded,
                )
            });
            let text = match read_file(&trace.file) {
                Ok(text) => text,
                Err(m) => {
                    c.add(fp, format!("cannot read `{}`: {m}", trace.file));
                    return after_problem();
                }
            };
            if text.len() > MAX_TRACE_BYTES {
                c.add(
                    fp,
                    format!(
                        "`{}` is {} bytes, more than the {MAX_TRACE_BYTES} a trace may have",
                        trace.file,
                        text.len()
                    ),
                );
                return after_problem();
            }
            let points = match parse_trace_csv(&text) {
                Ok(points) => points,
                Err(m) => {
                    c.add(fp, format!("`{}` {m}", trace.file));
                    return after_problem();
                }
            };
            let points = points
                .into_iter()
                .map(|(t, r)| (Seconds(t), r * scale))
                .collect();
            traces.push((trace.file.clone(), text));
            let spec = if trace.interpolate.unwrap_or(false) {
                RateSpec::PiecewiseLinear { points }
            } else {
                RateSpec::Trace { points }
            };
            match spec.build(spikes) {
                Ok(profile) => LoadConfig::Open(profile),
                Err(m) => {
                    rate_problem(c, "trace", format!("`{}`: {m}", trace.file));
                    after_problem()
                }
            }
        }
        (None, None, Some(closed)) => {
            if !spikes.is_empty() {
                c.add(
                    format!("{pp}.spikes"),
                    "spikes multiply an arrival rate; a closed loop has none (change `users` instead)",
                );
            }
            let users = c.count(
                &format!("{pp}.closed_loop.users"),
                closed.users,
                1,
                MAX_TOTAL_USERS,
            );
            *total_users = total_users.saturating_add(closed.users);
            let think = c.dist(&format!("{pp}.closed_loop.think"), &closed.think);
            LoadConfig::Closed { users, think }
        }
        _ => {
            c.add(
                pp.to_string(),
                "give exactly one of `rate` (a rate profile), `trace` (a CSV file) or `closed_loop` (users who think)",
            );
            after_problem()
        }
    }
}

/// Parses `time_seconds,rate_per_second` lines (an optional header, blank
/// lines and `#` comments allowed); errors start with "line N:".
fn parse_trace_csv(text: &str) -> Result<Vec<(f64, f64)>, String> {
    let mut points: Vec<(f64, f64)> = Vec::new();
    let mut header_allowed = true;
    for (n, raw) in text.lines().enumerate() {
        let line_no = n + 1;
        let line = raw.trim_start_matches('\u{feff}').trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let time = fields.first().and_then(|f| parse_seconds(f).ok());
        if time.is_none() && header_allowed {
            header_allowed = false;
            continue;
        }
        header_allowed = false;
        if fields.len() != 2 {
            return Err(format!(
                "line {line_no}: expected two fields `time_seconds,rate_per_second`, got {}",
                fields.len()
            ));
        }
        let Some(time) = time.filter(|t| t.is_finite() && *t >= 0.0) else {
            return Err(format!(
                "line {line_no}: the time is not a non-negative number of seconds"
            ));
        };
        let Some(rate) = fields[1]
            .parse::<f64>()
            .ok()
            .filter(|r| r.is_finite() && *r >= 0.0)
        else {
            return Err(format!(
                "line {line_no}: the rate is not a non-negative number per second"
            ));
        };
        if let Some(&(prev, _)) = points.last()
            && time <= prev
        {
            return Err(format!(
                "line {line_no}: time {time} is not after the previous point's {prev}"
            ));
        }
        if points.len() == MAX_EMPIRICAL_POINTS {
            return Err(format!(
                "has more than the {MAX_EMPIRICAL_POINTS} points a trace may have"
            ));
        }
        points.push((time, rate));
    }
    if points.is_empty() {
        return Err("has no `time_seconds,rate_per_second` lines".into());
    }
    Ok(points)
}

fn lower_classes(c: &mut Check, pp: &str, pop: &PopulationSpec) -> Vec<ClassConfig> {
    let default_keys = KeyPopularity::Uniform {
        count: DEFAULT_KEYS,
    };
    let classes: &[ClassSpec] = match (&pop.demand, &pop.classes) {
        (Some(demand), None) => {
            return vec![ClassConfig {
                name: "default".into(),
                share: 1.0,
                kind: AccessKind::Read,
                demand: c.dist(&format!("{pp}.demand"), demand),
                keys: default_keys,
                data: None,
            }];
        }
        (None, Some(classes)) if !classes.is_empty() => classes,
        (None, Some(_)) => {
            c.add(format!("{pp}.classes"), "at least one class is required");
            return Vec::new();
        }
        _ => {
            c.add(
                pp.to_string(),
                "give exactly one of `demand` (one class) or `[[populations.classes]]`",
            );
            return Vec::new();
        }
    };
    let mut names = BTreeMap::new();
    let mut out = Vec::with_capacity(classes.len());
    let mut sum = 0.0;
    let mut shares_ok = true;
    for (k, class) in classes.iter().enumerate() {
        let cp = format!("{pp}.classes[{k}]");
        c.name(&format!("{cp}.name"), &class.name);
        if let Some(first) = names.insert(class.name.as_str(), k) {
            names.insert(class.name.as_str(), first);
            c.add(
                format!("{cp}.name"),
                format!(
                    "class name `{}` is used twice (also {pp}.classes[{first}])",
                    class.name
                ),
            );
        }
        let share = match class.share {
            Some(s) if s.is_finite() && (0.0..=1.0).contains(&s) => s,
            Some(s) => {
                c.add(format!("{cp}.share"), format!("must be in [0, 1], got {s}"));
                shares_ok = false;
                0.0
            }
            None if classes.len() == 1 => 1.0,
            None => {
                c.add(
                    format!("{cp}.share"),
                    "is required when a population has several classes",
                );
                shares_ok = false;
                0.0
            }
        };
        sum += share;
        let keys = match &class.keys {
            None => default_keys,
            Some(KeysSpec::Uniform { count }) => KeyPopularity::Uniform {
                count: keys_count(c, &cp, *count),
            },
            Some(KeysSpec::Zipf { count, s }) => KeyPopularity::Zipf {
                count: keys_count(c, &cp, *count),
                s: c.real(
                    &format!("{cp}.keys.s"),
                    *s,
                    Bound::Excluded(0.0),
                    Bound::Included(10.0),
                ),
            },
        };
        out.push(ClassConfig {
            name: class.name.clone(),
            share,
            kind: match class.kind.unwrap_or(AccessKindSpec::Read) {
                AccessKindSpec::Read => AccessKind::Read,
                AccessKindSpec::Write => AccessKind::Write,
            },
            demand: c.dist(&format!("{cp}.demand"), &class.demand),
            keys,
            data: None,
        });
    }
    if shares_ok {
        if sum == 0.0 {
            c.add(
                format!("{pp}.classes"),
                "every class has share 0: shares must sum to 1",
            );
        } else if (sum - 1.0).abs() > SHARE_TOLERANCE {
            let shares: Vec<String> = out.iter().map(|k| k.share.to_string()).collect();
            c.add(
                format!("{pp}.classes"),
                format!("shares sum to {sum} ({}), not 1", shares.join(" + ")),
            );
        }
    }
    // The config wants shares in (0, 1]: a class that never occurs is refused.
    for (k, class) in out.iter().enumerate() {
        if shares_ok && class.share == 0.0 && sum > 0.0 {
            c.add(
                format!("{pp}.classes[{k}].share"),
                "must be positive (remove a class that never occurs)",
            );
        }
    }
    out
}

fn keys_count(c: &mut Check, cp: &str, count: Option<u64>) -> u64 {
    match count {
        None => DEFAULT_KEYS,
        Some(0) => {
            c.add(format!("{cp}.keys.count"), "must be at least 1, got 0");
            1
        }
        Some(n) if n > MAX_KEYS => {
            c.add(
                format!("{cp}.keys.count"),
                format!("{n} is more than the {MAX_KEYS} allowed"),
            );
            1
        }
        Some(n) => n,
    }
}

fn lower_client(c: &mut Check, pp: &str, spec: Option<&ClientSpec>) -> ClientConfig {
    let default_timeout = SimDuration::from_secs(30);
    let Some(spec) = spec else {
        return ClientConfig {
            timeout: default_timeout,
            retry: None,
            hedge: None,
            circuit_breaker: None,
            bulkhead: None,
        };
    };
    let cp = format!("{pp}.client");
    let timeout = c.opt_positive_time(&format!("{cp}.timeout"), spec.timeout, default_timeout);
    let retry = spec.retry.as_ref().map(|r| {
        let rp = format!("{cp}.retry");
        let base =
            c.opt_positive_time(&format!("{rp}.base"), r.base, SimDuration::from_millis(100));
        let cap = c.opt_positive_time(&format!("{rp}.cap"), r.cap, SimDuration::from_secs(20));
        if base > cap {
            c.add(
                format!("{rp}.base"),
                format!("backoff base {base} is longer than the cap {cap}"),
            );
        }
        let on = match &r.on {
            None => RetryOn {
                timeout: true,
                rejected: true,
                no_healthy_backend: true,
            },
            Some(list) => {
                if list.is_empty() {
                    c.add(
                        format!("{rp}.on"),
                        "is empty, so nothing would be retried: remove `retry` instead",
                    );
                }
                RetryOn {
                    timeout: list.contains(&RetryOnSpec::Timeout),
                    rejected: list.contains(&RetryOnSpec::Rejected),
                    no_healthy_backend: list.contains(&RetryOnSpec::NoHealthyBackend),
                }
            }
        };
        RetryConfig {
            max_attempts: r.max_attempts.map_or(3, |n| {
                c.count(&format!("{rp}.max_attempts"), n, 1, MAX_ATTEMPTS)
            }),
            base,
            cap,
            jitter: match r.jitter.unwrap_or(JitterSpec::Full) {
                JitterSpec::None => Jitter::None,
                JitterSpec::Full => Jitter::Full,
                JitterSpec::Equal => Jitter::Equal,
                JitterSpec::Decorrelated => Jitter::Decorrelated,
            },
            budget: r.budget.as_ref().map(|b| {
                let bp = format!("{rp}.budget");
                RetryBudgetConfig {
                    ratio: b.ratio.map_or(0.2, |x| {
                        c.real(
                            &format!("{bp}.ratio"),
                            x,
                            Bound::Included(0.0),
                            Bound::Included(10.0),
                        )
                    }),
                    min_per_second: b.min_per_second.map_or(10.0, |x| {
                        c.real(
                            &format!("{bp}.min_per_second"),
                            x,
                            Bound::Included(0.0),
                            Bound::Unbounded,
                        )
                    }),
                    window: c.opt_positive_time(
                        &format!("{bp}.window"),
                        b.window,
                        SimDuration::from_secs(10),
                    ),
                }
            }),
            on,
        }
    });
    let hedge = spec.hedge.as_ref().map(|h| {
        let hp = format!("{cp}.hedge");
        let delay = c.time(&format!("{hp}.delay"), h.delay);
        if delay >= timeout {
            c.add(
                format!("{hp}.delay"),
                format!("hedge delay {delay} is not shorter than the timeout {timeout}: no copy would ever be sent"),
            );
        }
        HedgeConfig {
            delay,
            max_extra: h
                .max_extra
                .map_or(1, |n| c.count(&format!("{hp}.max_extra"), n, 1, MAX_HEDGES)),
        }
    });
    let circuit_breaker = spec.circuit_breaker.as_ref().map(|b| {
        let bp = format!("{cp}.circuit_breaker");
        BreakerConfig {
            failure_threshold: b.failure_threshold.map_or(5, |n| {
                c.count(&format!("{bp}.failure_threshold"), n, 1, MAX_THRESHOLD)
            }),
            success_threshold: b.success_threshold.map_or(3, |n| {
                c.count(&format!("{bp}.success_threshold"), n, 1, MAX_THRESHOLD)
            }),
            open_timeout: c.opt_positive_time(
                &format!("{bp}.open_timeout"),
                b.open_timeout,
                SimDuration::from_secs(60),
            ),
        }
    });
    let bulkhead = spec.bulkhead.as_ref().map(|b| {
        c.count(
            &format!("{cp}.bulkhead.max_concurrent"),
            b.max_concurrent,
            1,
            u64::from(u32::MAX),
        )
    });
    ClientConfig {
        timeout,
        retry,
        hedge,
        circuit_breaker,
        bulkhead,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::config::LoadConfig;
    use crate::fleet::load::tests::*;
    use crate::fleet::load::{MAX_FLEET_SCENARIO_BYTES, parse_fleet};
    use crate::scenario::Format;

    #[test]
    fn mini_lowers_with_defaults() {
        let s = parse(MINI).unwrap();
        let c = &s.config;
        assert_eq!(c.name, "fleet");
        assert_eq!(c.run.duration, SimDuration::from_secs(600));
        assert_eq!(c.run.warmup, SimDuration::ZERO);
        assert_eq!(c.run.default_seed, 1);
        assert_eq!(c.run.series_interval, SimDuration::from_secs(10));
        assert_eq!(c.run.slo.latency, SimDuration::from_millis(300));
        assert_eq!(c.run.slo.target, 0.999);
        assert_eq!(c.regions[0].balancer.algorithm, Algorithm::RoundRobin);
        assert!(c.regions[0].balancer.fail_open);
        assert_eq!(
            c.regions[0].balancer.health_check.interval,
            SimDuration::from_secs(30)
        );
        assert_eq!(c.regions[0].balancer.health_check.healthy_threshold, 5);
        assert_eq!(c.regions[0].groups[0].zones, vec![0, 1]);
        assert_eq!(c.regions[0].groups[0].boot.mean(), 60.0);
        assert_eq!(c.regions[0].groups[0].warmup.duration, SimDuration::ZERO);
        assert_eq!(c.inter_region_latency[0][1], SimDuration::from_millis(30));
        assert_eq!(c.inter_region_latency[1][0], SimDuration::from_millis(30));
        assert_eq!(c.inter_region_latency[1][1], SimDuration::ZERO);
        assert_eq!(c.dns.ttl, SimDuration::from_secs(60));
        assert_eq!(c.dns.health_check.unhealthy_threshold, 3);
        let p = &c.populations[0];
        assert_eq!((p.home_region, p.fallback.clone()), (0, vec![1]));
        assert_eq!(p.classes.len(), 1);
        assert_eq!(p.classes[0].name, "default");
        assert_eq!(
            p.classes[0].keys,
            KeyPopularity::Uniform { count: 1_000_000 }
        );
        assert_eq!(p.client.timeout, SimDuration::from_secs(30));
        assert!(p.client.retry.is_none());
        assert_eq!(s.hash.len(), 16);
    }

    #[test]
    fn semantic_problems_are_all_reported_with_locations() {
        let bad = MINI
            .replace("demand = { type = \"exponential\", mean = \"20ms\" }", "demand = { type = \"exponential\", mean = \"20ms\" }\nfallback = [\"west\", \"north\", \"east\"]")
            .replace("instance_type = \"small\"\ninstances = 4\n\n[[regions]]", "instance_type = \"large\"\ninstances = 4\n\n[[regions]]")
            .replace("zones = [\"w1\"]", "zones = [\"w1\", \"w1\"]");
        let msg = error(&bad);
        let fb = line_of(&bad, "fallback =");
        let it = line_of(&bad, "\"large\"");
        let z = line_of(&bad, "\"w1\", \"w1\"");
        for want in [
            format!(
                "populations[0].fallback[1]: no region is named `north` (regions: `east`, `west`) (line {fb}, column 21)"
            ),
            format!(
                "populations[0].fallback[2]: `east` is the home region; fallbacks are the other regions (line {fb}, column 30)"
            ),
            format!(
                "regions[0].groups[0].instance_type: no instance type is named `large` (instance types: `small`) (line {it}, column 17)"
            ),
            format!("regions[1].zones[1]: zone `w1` is listed twice (line {z}, column 16)"),
        ] {
            assert!(msg.contains(&want), "missing `{want}` in:\n{msg}");
        }
        assert!(msg.starts_with("4 problems in the scenario:"), "{msg}");
    }

    #[test]
    fn class_shares_must_sum_to_one() {
        let classes = |a: &str, b: &str| {
            MINI.replace(
                "demand = { type = \"exponential\", mean = \"20ms\" }",
                &format!(
                    "[[populations.classes]]\nname = \"read\"\nshare = {a}\ndemand = {{ type = \"constant\", value = \"10ms\" }}\n\
                     [[populations.classes]]\nname = \"write\"\nshare = {b}\nkind = \"write\"\ndemand = {{ type = \"constant\", value = \"30ms\" }}\n"
                ),
            )
        };
        let c = parse(&classes("0.75", "0.25")).unwrap().config;
        assert_eq!(c.populations[0].classes[1].kind, AccessKind::Write);
        let msg = error(&classes("0.7", "0.2"));
        assert!(
            msg.contains(
                "populations[0].classes: shares sum to 0.8999999999999999 (0.7 + 0.2), not 1"
            ),
            "{msg}"
        );
        let msg = error(&classes("0", "0"));
        assert!(
            msg.contains("populations[0].classes: every class has share 0"),
            "{msg}"
        );
        let msg = error(&classes("1.5", "-0.5"));
        assert!(
            msg.contains("populations[0].classes[0].share: must be in [0, 1], got 1.5"),
            "{msg}"
        );
        // Share may be left out only for a lone class.
        let msg = error(&classes("0.5", "0.5").replace("share = 0.5\n", ""));
        assert!(
            msg.contains("classes[0].share: is required when a population has several classes"),
            "{msg}"
        );
        // Both `demand` and classes.
        let both = classes("0.5", "0.5").replace(
            "rate = {",
            "demand = { type = \"constant\", value = 1 }\nrate = {",
        );
        assert!(
            error(&both)
                .contains("give exactly one of `demand` (one class) or `[[populations.classes]]`")
        );
    }

    #[test]
    fn balancer_rules() {
        let balancer = |body: &str| {
            MINI.replace(
                "[[regions.groups]]\nname = \"web\"\ninstance_type = \"small\"\ninstances = 4\n\n[[regions]]",
                &format!("[regions.balancer]\n{body}\n[[regions.groups]]\nname = \"web\"\ninstance_type = \"small\"\ninstances = 4\n\n[[regions]]"),
            )
        };
        let text = balancer("algorithm = \"least_outstanding\"\nslow_start = { window = \"30s\" }");
        let msg = error(&text);
        assert!(
            msg.contains(&format!(
                "regions[0].balancer.slow_start: slow start cannot be combined with `least_outstanding` (AWS ALB forbids slow start with least outstanding requests); use `power_of_choices` or `round_robin` (line {}, column 14)",
                line_of(&text, "slow_start")
            )),
            "{msg}"
        );
        assert!(
            error(&balancer(
                "algorithm = \"maglev\"\nslow_start = { window = \"30s\" }"
            ))
            .contains("slow start works only with")
        );
        let c = parse(&balancer(
            "algorithm = \"p2c\"\nslow_start = { window = \"30s\", aggression = 2 }",
        ))
        .unwrap()
        .config;
        assert_eq!(
            c.regions[0].balancer.algorithm,
            Algorithm::PowerOfChoices { choices: 2 }
        );
        assert_eq!(c.regions[0].balancer.slow_start.unwrap().aggression, 2.0);
        let msg = error(&balancer("algorithm = \"maglev\"\ntable_size = 65536"));
        assert!(
            msg.contains("regions[0].balancer.table_size: 65536 is not prime"),
            "{msg}"
        );
        let c = parse(&balancer("algorithm = \"maglev\"\ntable_size = 65537"))
            .unwrap()
            .config;
        assert_eq!(
            c.regions[0].balancer.algorithm,
            Algorithm::Maglev { table_size: 65537 }
        );
        let msg = error(&balancer("algorithm = \"round_robin\"\nchoices = 3"));
        assert!(
            msg.contains("regions[0].balancer.choices: `choices` applies only to `power_of_choices`, but the algorithm is `round_robin`"),
            "{msg}"
        );
        let msg = error(&balancer(
            "health_check = { interval = 0, timeout = \"5s\", healthy_threshold = 0 }",
        ));
        for want in [
            "regions[0].balancer.health_check.interval: must be a positive time, got 0",
            "regions[0].balancer.health_check.healthy_threshold: must be at least 1, got 0",
        ] {
            assert!(msg.contains(want), "missing `{want}` in:\n{msg}");
        }
        let msg = error(&balancer(
            "outlier = { base_ejection = \"60s\", max_ejection = \"30s\" }",
        ));
        assert!(
            msg.contains("outlier.max_ejection: 30s is shorter than base_ejection 1min"),
            "{msg}"
        );
        let c = parse(&balancer("outlier = { base_ejection = \"600s\" }"))
            .unwrap()
            .config;
        assert_eq!(
            c.regions[0].balancer.outlier.unwrap().max_ejection,
            SimDuration::from_secs(600)
        );
        let c = parse(&balancer(
            "algorithm = \"ring_hash\"\nbounded_load = 1.25\nzone_aware = {}",
        ))
        .unwrap()
        .config;
        assert_eq!(
            c.regions[0].balancer.algorithm,
            Algorithm::RingHash {
                ring_size: 1024,
                bounded_load: Some(1.25)
            }
        );
        assert_eq!(
            c.regions[0].balancer.zone_aware.unwrap().spill_utilization,
            0.8
        );
    }

    #[test]
    fn client_and_run_rules() {
        let client = |body: &str| format!("{MINI}[populations.client]\n{body}\n");
        let msg = error(&client(
            "timeout = 0\nretry = { base = \"2s\", cap = \"1s\", on = [] }\nhedge = { delay = \"40s\" }",
        ));
        for want in [
            "populations[0].client.timeout: must be a positive time, got 0",
            "populations[0].client.retry.base: backoff base 2s is longer than the cap 1s",
            "populations[0].client.retry.on: is empty",
            "populations[0].client.hedge.delay: hedge delay 40s is not shorter than the timeout",
        ] {
            assert!(msg.contains(want), "missing `{want}` in:\n{msg}");
        }
        let c = parse(&client(
            "retry = {}\ncircuit_breaker = {}\nbulkhead = { max_concurrent = 50 }",
        ))
        .unwrap()
        .config;
        let client = c.populations[0].client;
        let retry = client.retry.unwrap();
        assert_eq!((retry.max_attempts, retry.jitter), (3, Jitter::Full));
        assert_eq!(retry.base, SimDuration::from_millis(100));
        assert!(retry.on.timeout && retry.on.rejected && retry.on.no_healthy_backend);
        let breaker = client.circuit_breaker.unwrap();
        assert_eq!(
            (
                breaker.failure_threshold,
                breaker.success_threshold,
                breaker.open_timeout
            ),
            (5, 3, SimDuration::from_secs(60))
        );
        assert_eq!(client.bulkhead, Some(50));
        let msg = error(&MINI.replace("duration = \"10min\"", "duration = 0\nwarmup = \"1min\""));
        assert!(
            msg.contains("run.duration: must be a positive time, got 0"),
            "{msg}"
        );
        assert!(
            msg.contains("run.warmup: warm-up 1min is not shorter than the duration"),
            "{msg}"
        );
        let msg = error(&MINI.replace(
            "[[latency]]\nbetween = [\"east\", \"west\"]\none_way = \"30ms\"\n",
            "",
        ));
        assert!(
            msg.contains("latency: no latency between `east` and `west`: add `[[latency]]` with `between = [\"east\", \"west\"]`"),
            "{msg}"
        );
        let one_way = MINI.replace(
            "between = [\"east\", \"west\"]",
            "from = \"east\"\nto = \"west\"",
        );
        assert!(error(&one_way).contains("no latency from `west` to `east` (only the other way)"));
        let both =
            format!("{one_way}\n[[latency]]\nfrom = \"west\"\nto = \"east\"\none_way = \"50ms\"\n");
        let c = parse(&both).unwrap().config;
        assert_eq!(c.inter_region_latency[1][0], SimDuration::from_millis(50));
        assert_eq!(c.inter_region_latency[0][1], SimDuration::from_millis(30));
        let msg = error(&MINI.replace("[[regions.groups]]\nname = \"web\"\ninstance_type = \"small\"\ninstances = 4\n\n[[regions]]", "outages = [{ start = \"5min\", end = \"1min\" }]\n\n[[regions]]"));
        assert!(
            msg.contains(
                "regions[0].outages[0].end: the outage ends (1min) no later than it starts (5min)"
            ),
            "{msg}"
        );
    }

    #[test]
    fn a_region_without_instances_is_allowed() {
        let text = MINI.replace(
            "[[regions.groups]]\nname = \"web\"\ninstance_type = \"small\"\ninstances = 4\n\n[[regions]]",
            "[[regions]]",
        );
        let c = parse(&text).unwrap().config;
        assert!(c.regions[0].groups.is_empty());
        let c = parse(&MINI.replace("instances = 4", "instances = 0"))
            .unwrap()
            .config;
        assert_eq!(c.regions[0].groups[0].instances, 0);
    }

    #[test]
    fn hostile_sizes_are_refused_quickly() {
        let start = std::time::Instant::now();
        let msg = error(&MINI.replace("instances = 4", "instances = 1000000000000"));
        assert!(
            msg.contains(
                "regions[0].groups[0].instances: 1000000000000 is more than the 1000000 allowed"
            ),
            "{msg}"
        );
        assert!(
            msg.contains(
                "regions: 2000000000000 instances in all is more than the 1000000 allowed"
            ),
            "{msg}"
        );
        let msg = error(&MINI.replace("instances = 4", "instances = 600000"));
        assert!(
            msg.contains("regions: 1200000 instances in all is more than"),
            "{msg}"
        );
        let msg = error(
            &MINI
                .replace("workers = 4", "workers = 100000")
                .replace("instances = 4", "instances = 1000"),
        );
        assert!(
            msg.contains("200000000 workers in all is more than the 10000000 allowed"),
            "{msg}"
        );
        let msg = error(&MINI.replace("instances = 4", "instances = 1e12"));
        assert!(
            msg.contains("invalid type: floating point `1000000000000.0`, expected u64"),
            "{msg}"
        );
        // 30 days at a million requests a second: far too many events.
        let msg = error(
            &MINI
                .replace("duration = \"10min\"", "duration = \"720h\"")
                .replace("per_second = 100 ", "per_second = 1e6 "),
        );
        assert!(
            msg.contains("run: this run needs about 1.6e13 events"),
            "{msg}"
        );
        let msg = error(&MINI.replace(
            "duration = \"10min\"",
            "duration = \"10min\"\nseries_interval = \"1ns\"",
        ));
        assert!(msg.contains("points a report may hold"), "{msg}");
        let msg = error(&MINI.replace(
            "duration = \"10min\"",
            "duration = \"10min\"\nseries_interval = \"1ns\"",
        ));
        assert!(msg.contains("points a report may hold"), "{msg}");
        let many = format!(
            "{MINI}{}",
            "[[populations]]\nname = \"x\"\nregion = \"east\"\n".repeat(MAX_POPULATIONS)
        );
        let msg = error(&many);
        assert!(
            msg.contains("populations: 1001 populations is more than the 1000 allowed"),
            "{msg}"
        );
        assert!(msg.starts_with("1 problem in"), "{msg}");
        let users = MINI.replace(
            "rate = { profile = \"constant\", per_second = 100 }",
            "closed_loop = { users = 100000000000, think = { type = \"exponential\", mean = \"1s\" } }",
        );
        assert!(
            error(&users)
                .contains("closed_loop.users: 100000000000 is more than the 10000000 allowed")
        );
        let keys = MINI.replace(
            "demand = { type = \"exponential\", mean = \"20ms\" }",
            "[[populations.classes]]\nname = \"k\"\ndemand = { type = \"constant\", value = 0.01 }\nkeys = { popularity = \"zipf\", count = 1000000000000, s = 1.1 }",
        );
        assert!(
            error(&keys).contains("keys.count: 1000000000000 is more than the 1000000000 allowed")
        );
        let huge = "#".repeat(MAX_FLEET_SCENARIO_BYTES + 1);
        assert!(error(&huge).contains("more than the 4194304 a fleet scenario may have"));
        assert!(start.elapsed().as_secs() < 10, "took {:?}", start.elapsed());
    }

    #[test]
    fn too_many_problems_are_counted() {
        let pops = (0..150)
            .map(|i| format!("[[populations]]\nname = \"p{i}\"\nregion = \"nowhere\"\nrate = {{ profile = \"constant\", per_second = 1 }}\ndemand = {{ type = \"constant\", value = 0.01 }}\n"))
            .collect::<String>();
        let msg = error(&format!("{MINI}{pops}"));
        assert!(msg.starts_with("101 problems"), "{}", &msg[..100]);
        assert!(
            msg.contains("scenario: ... and 50 more problems not listed"),
            "{msg}"
        );
    }

    #[test]
    fn trace_csv_is_read_through_the_callback() {
        let text = MINI.replace(
            "rate = { profile = \"constant\", per_second = 100 }",
            "trace = { file = \"traces/day.csv\", scale = 2 }\nspikes = [{ start = 100, duration = 10, multiplier = 3 }]",
        );
        let csv = "time_seconds,rate_per_second\n# a comment\n0,10\n60, 20\n\n120,5\n";
        let files = |name: &str| match name {
            "traces/day.csv" => Ok(csv.to_string()),
            other => Err(format!("no such file `{other}`")),
        };
        let s = parse_fleet(&text, Format::Toml, &[], &files).unwrap();
        let LoadConfig::Open(rate) = &s.config.populations[0].load else {
            panic!("open loop expected")
        };
        assert_eq!(rate.rate_at(30.0), 20.0);
        assert_eq!(rate.rate_at(90.0), 40.0);
        assert_eq!(rate.rate_at(105.0), 120.0);
        assert_eq!(rate.rate_at(500.0), 10.0);
        // The trace's content is part of the hash.
        let other = |_: &str| Ok("0,10\n60,21\n".to_string());
        assert_ne!(
            parse_fleet(&text, Format::Toml, &[], &other).unwrap().hash,
            s.hash
        );
        // Interpolation.
        let lin = text.replace("scale = 2 }", "interpolate = true }");
        let s = parse_fleet(&lin, Format::Toml, &[], &files).unwrap();
        let LoadConfig::Open(rate) = &s.config.populations[0].load else {
            panic!("open loop expected")
        };
        assert_eq!(rate.rate_at(30.0), 15.0);
        // Errors name the file and line.
        let bad = |csv: &'static str| {
            parse_fleet(&text, Format::Toml, &[], &move |_| Ok(csv.to_string()))
                .unwrap_err()
                .to_string()
        };
        let line = line_of(&text, "traces/day.csv");
        assert!(
            bad("0,10\n5,x\n").contains(&format!(
                "populations[0].trace.file: `traces/day.csv` line 2: the rate is not a non-negative number per second (line {line}, column 18)"
            )),
            "{}",
            bad("0,10\n5,x\n")
        );
        assert!(bad("0,10\n0,5\n").contains("line 2: time 0 is not after the previous point's 0"));
        assert!(bad("0,10,3\n").contains("line 1: expected two fields"));
        assert!(bad("# nothing\n").contains("has no `time_seconds,rate_per_second` lines"));
        let msg = parse(&text).unwrap_err().to_string();
        assert!(
            msg.contains("populations[0].trace.file: cannot read `traces/day.csv`: no file `traces/day.csv` in this test"),
            "{msg}"
        );
        let both = text.replace(
            "trace = {",
            "rate = { profile = \"constant\", per_second = 1 }\ntrace = {",
        );
        assert!(
            parse_fleet(&both, Format::Toml, &[], &files)
                .unwrap_err()
                .to_string()
                .contains("give exactly one of `rate`")
        );
    }

    #[test]
    fn closed_loop_populations() {
        let text = MINI.replace(
            "rate = { profile = \"constant\", per_second = 100 }",
            "closed_loop = { users = 500, think = { type = \"exponential\", mean = \"2s\" } }",
        );
        let c = parse(&text).unwrap().config;
        let LoadConfig::Closed { users, think } = &c.populations[0].load else {
            panic!("closed loop expected")
        };
        assert_eq!((*users, think.mean()), (500, 2.0));
        let zero = text.replace("mean = \"2s\"", "mean = 0");
        assert!(error(&zero).contains("closed_loop.think"));
    }
}
