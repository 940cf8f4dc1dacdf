//! The station-network scenario file: format, parsing, validation.
//!
//! A station scenario describes open queueing networks: sources of customers
//! (an inter-arrival distribution each) feeding stations (c workers, a FIFO
//! queue with optional capacity, a service distribution, an optional next
//! station). Files are TOML (JSON accepted); see `docs/station-scenario.md`.
//!
//! Parsing reports the first syntax or type error with its field path, line
//! and column; validation then collects *every* semantic problem (unknown
//! station, duplicate names, cycles, out-of-range counts) so a user sees all
//! mistakes at once. Parsing takes `&str`: reading files is the caller's job.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sim_core::{Distribution, RateProfile, SimDuration, SimTime};

use crate::spec::{DistributionSpec, RateSpec, Seconds, SpikeSpec};

/// Most stations a scenario may have.
pub const MAX_STATIONS: usize = 1_000_000;
/// Most workers one station may have.
pub const MAX_SERVERS: u32 = 1_000_000;
/// Most workers in all stations together.
pub const MAX_TOTAL_SERVERS: u64 = 10_000_000;
/// Most time-series points a run may keep (horizon / series interval).
pub const MAX_SERIES_POINTS: u64 = 10_000_000;
/// Most events a run may be expected to take (about three hours at 10
/// million events per second); see [`estimated_events`].
pub const MAX_ESTIMATED_EVENTS: f64 = 1e11;
/// Largest scenario text accepted, in bytes.
pub const MAX_SCENARIO_BYTES: usize = 64 * 1024 * 1024;

/// The file format of a scenario text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// TOML (the default for `.toml` and anything else).
    Toml,
    /// JSON (for `.json` files).
    Json,
}

impl Format {
    /// The format a file name implies: JSON for `.json`, TOML otherwise.
    pub fn from_file_name(name: &str) -> Format {
        if name.to_ascii_lowercase().ends_with(".json") {
            Format::Json
        } else {
            Format::Toml
        }
    }
}

/// A station scenario as written in the file.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StationScenarioFile {
    /// A short name for reports.
    #[serde(default)]
    pub name: Option<String>,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
    /// How long to run and what to measure.
    pub run: RunSpec,
    /// Customer sources.
    pub sources: Vec<SourceSpec>,
    /// Queueing stations.
    pub stations: Vec<StationSpec>,
}

/// `[run]`: stopping rule, warm-up, seed and report options.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RunSpec {
    /// Stop at this simulated time.
    #[serde(default)]
    pub horizon: Option<Seconds>,
    /// Stop once this many customers have left the network.
    #[serde(default)]
    pub customers: Option<u64>,
    /// Statistics collected before this time are discarded (default 0).
    #[serde(default)]
    pub warmup: Option<Seconds>,
    /// Master seed when the command line gives none (default 1).
    #[serde(default)]
    pub seed: Option<u64>,
    /// Bucket width of the end-to-end latency time series (default: none).
    #[serde(default)]
    pub series_interval: Option<Seconds>,
    /// Keep latency histograms per station and per source (default true).
    /// Turn off for networks of thousands of stations: each histogram takes
    /// up to a few hundred kB. Exact means are always kept.
    #[serde(default)]
    pub component_histograms: Option<bool>,
}

/// `[[sources]]`: an open arrival stream.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SourceSpec {
    /// Unique name.
    pub name: String,
    /// The station customers join first.
    pub to: String,
    /// Time between consecutive arrivals (a renewal process); or give `rate`.
    #[serde(default)]
    pub interarrival: Option<DistributionSpec>,
    /// A time-varying Poisson arrival rate; or give `interarrival`.
    #[serde(default)]
    pub rate: Option<RateSpec>,
    /// Flash crowds: windows in which `rate` is multiplied.
    #[serde(default)]
    pub spikes: Option<Vec<SpikeSpec>>,
}

/// `[[stations]]`: c workers in front of one FIFO queue.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StationSpec {
    /// Unique name.
    pub name: String,
    /// Number of workers (c).
    pub servers: u32,
    /// Waiting room; customers arriving to a full queue are rejected. Absent
    /// means unbounded. Kendall's K is `servers + queue_capacity`.
    #[serde(default)]
    pub queue_capacity: Option<u32>,
    /// Service-time distribution.
    pub service: DistributionSpec,
    /// Station customers join after this one (absent: they leave).
    #[serde(default)]
    pub next: Option<String>,
}

/// Why a scenario text was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScenarioError {
    /// The text is not valid TOML/JSON, or a field has the wrong type, is
    /// unknown or is missing.
    #[error("{path}: {message}{}", location.map(|(l, c)| format!(" (line {l}, column {c})")).unwrap_or_default())]
    Syntax {
        /// Field path, e.g. `stations[1].service.mean`.
        path: String,
        /// 1-based line and column, when known.
        location: Option<(usize, usize)>,
        /// What is wrong.
        message: String,
    },
    /// The file parsed but describes an impossible or unsafe network.
    #[error("{}", Problems(.0))]
    Invalid(Vec<Problem>),
}

/// One semantic problem: where and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Field path, e.g. `sources[0].to`.
    pub path: String,
    /// What is wrong.
    pub message: String,
    /// 1-based line and column of the field in the file, when known.
    pub location: Option<(usize, usize)>,
}

struct Problems<'a>(&'a [Problem]);

impl fmt::Display for Problems<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        write!(
            f,
            "{n} problem{} in the scenario:",
            if n == 1 { "" } else { "s" }
        )?;
        for p in self.0 {
            write!(f, "\n  {}: {}", p.path, p.message)?;
            if let Some((line, column)) = p.location {
                write!(f, " (line {line}, column {column})")?;
            }
        }
        Ok(())
    }
}

/// Converts a byte offset to a 1-based (line, column) pair.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Normalises serde_path_to_error's path (`.` for the root, `stations[1].x`).
fn path_text(path: &serde_path_to_error::Path) -> String {
    let p = path.to_string();
    if p == "." { "scenario".to_string() } else { p }
}

impl StationScenarioFile {
    /// Parses a scenario text (no semantic checks; see [`Self::lower`]).
    pub fn parse(text: &str, format: Format) -> Result<Self, ScenarioError> {
        if text.len() > MAX_SCENARIO_BYTES {
            return Err(ScenarioError::Syntax {
                path: "scenario".into(),
                location: None,
                message: format!(
                    "file is {} bytes, more than the {MAX_SCENARIO_BYTES} allowed",
                    text.len()
                ),
            });
        }
        match format {
            Format::Toml => {
                let de = toml::Deserializer::parse(text).map_err(|e| ScenarioError::Syntax {
                    path: "scenario".into(),
                    location: e.span().map(|s| line_column(text, s.start)),
                    message: e.message().trim().to_string(),
                })?;
                serde_path_to_error::deserialize(de).map_err(|e| {
                    let path = path_text(e.path());
                    let inner = e.into_inner();
                    ScenarioError::Syntax {
                        path,
                        location: inner.span().map(|s| line_column(text, s.start)),
                        message: inner.message().trim().to_string(),
                    }
                })
            }
            Format::Json => {
                let mut de = serde_json::Deserializer::from_str(text);
                let parsed: Self = serde_path_to_error::deserialize(&mut de).map_err(|e| {
                    let path = path_text(e.path());
                    let inner = e.into_inner();
                    ScenarioError::Syntax {
                        path,
                        location: Some((inner.line(), inner.column())),
                        message: strip_json_position(&inner.to_string()),
                    }
                })?;
                de.end().map_err(|e| ScenarioError::Syntax {
                    path: "scenario".into(),
                    location: Some((e.line(), e.column())),
                    message: strip_json_position(&e.to_string()),
                })?;
                Ok(parsed)
            }
        }
    }

    /// A stable hash of the scenario's content (SHA-256 of its canonical JSON
    /// form, so comments and formatting do not change it), as 16 hex digits.
    pub fn content_hash(&self) -> String {
        let canonical = serde_json::to_vec(self).expect("scenario DTOs always serialize");
        let digest = Sha256::digest(&canonical);
        digest[..8].iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Checks every field and builds the validated network, or lists every
    /// problem found.
    pub fn lower(&self) -> Result<NetworkConfig, ScenarioError> {
        let mut problems = Vec::new();
        let mut problem = |path: String, message: String| {
            problems.push(Problem {
                path,
                message,
                location: None,
            })
        };

        if self.stations.is_empty() {
            problem("stations".into(), "at least one station is required".into());
        }
        if self.sources.is_empty() {
            problem("sources".into(), "at least one source is required".into());
        }
        if self.stations.len() > MAX_STATIONS {
            problem(
                "stations".into(),
                format!(
                    "{} stations is more than the {MAX_STATIONS} allowed",
                    self.stations.len()
                ),
            );
        }
        if self.sources.len() > MAX_STATIONS {
            problem(
                "sources".into(),
                format!(
                    "{} sources is more than the {MAX_STATIONS} allowed",
                    self.sources.len()
                ),
            );
        }

        let mut station_index: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, st) in self.stations.iter().enumerate() {
            if station_index.insert(st.name.as_str(), i).is_some() {
                problem(
                    format!("stations[{i}].name"),
                    format!("station name `{}` is used twice", st.name),
                );
            }
        }
        let mut source_names: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, src) in self.sources.iter().enumerate() {
            if source_names.insert(src.name.as_str(), i).is_some() {
                problem(
                    format!("sources[{i}].name"),
                    format!("source name `{}` is used twice", src.name),
                );
            }
        }
        let lookup = |name: &str| station_index.get(name).copied();
        let known = || {
            station_index
                .keys()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };

        let mut stations = Vec::with_capacity(self.stations.len());
        let mut total_servers: u64 = 0;
        for (i, st) in self.stations.iter().enumerate() {
            if st.servers == 0 {
                problem(
                    format!("stations[{i}].servers"),
                    "must be at least 1".into(),
                );
            } else if st.servers > MAX_SERVERS {
                problem(
                    format!("stations[{i}].servers"),
                    format!("{} is more than the {MAX_SERVERS} allowed", st.servers),
                );
            }
            total_servers += u64::from(st.servers);
            let service = st
                .service
                .build()
                .map_err(|m| problem(format!("stations[{i}].service"), m))
                .ok();
            let next = match &st.next {
                None => None,
                Some(name) => match lookup(name) {
                    Some(j) => Some(j),
                    None => {
                        problem(
                            format!("stations[{i}].next"),
                            format!("no station is named `{name}` (stations: {})", known()),
                        );
                        None
                    }
                },
            };
            if let Some(service) = service {
                stations.push(StationConfig {
                    name: st.name.clone(),
                    servers: st.servers,
                    queue_capacity: st.queue_capacity,
                    service,
                    next,
                });
            }
        }
        if total_servers > MAX_TOTAL_SERVERS {
            problem(
                "stations".into(),
                format!(
                    "{total_servers} workers in all is more than the {MAX_TOTAL_SERVERS} allowed"
                ),
            );
        }
        // A customer must eventually leave: `next` links may not form a cycle.
        for (i, st) in self.stations.iter().enumerate() {
            let mut seen = 0;
            let mut at = st.next.as_deref().and_then(lookup);
            while let Some(j) = at {
                if j == i {
                    problem(
                        format!("stations[{i}].next"),
                        format!(
                            "station `{}` is on a cycle of `next` links; customers would never leave",
                            st.name
                        ),
                    );
                    break;
                }
                seen += 1;
                if seen > self.stations.len() {
                    break; // a cycle not through i; reported at its own members
                }
                at = self.stations[j].next.as_deref().and_then(lookup);
            }
        }

        let mut sources = Vec::with_capacity(self.sources.len());
        for (i, src) in self.sources.iter().enumerate() {
            let arrivals = match (&src.interarrival, &src.rate, &src.spikes) {
                (Some(dist), None, None) => dist
                    .build()
                    .and_then(|d| {
                        // Zero gaps would make arrivals pile up at one instant forever.
                        if d.mean() > 0.0 {
                            Ok(Arrivals::Renewal(d))
                        } else {
                            Err("mean inter-arrival time must be positive".into())
                        }
                    })
                    .map_err(|m| problem(format!("sources[{i}].interarrival"), m))
                    .ok(),
                (Some(_), None, Some(_)) => {
                    problem(
                        format!("sources[{i}].spikes"),
                        "spikes multiply a `rate`; they cannot be combined with `interarrival`"
                            .into(),
                    );
                    None
                }
                (None, Some(rate), spikes) => rate
                    .build(spikes.as_deref().unwrap_or_default())
                    .map(Arrivals::Rate)
                    .map_err(|m| problem(format!("sources[{i}].rate"), m))
                    .ok(),
                (Some(_), Some(_), _) | (None, None, _) => {
                    problem(
                        format!("sources[{i}]"),
                        "give exactly one of `interarrival` (a distribution) or `rate` (a rate profile)".into(),
                    );
                    None
                }
            };
            let target = lookup(&src.to);
            if target.is_none() {
                problem(
                    format!("sources[{i}].to"),
                    format!("no station is named `{}` (stations: {})", src.to, known()),
                );
            }
            if let (Some(arrivals), Some(target)) = (arrivals, target) {
                sources.push(SourceConfig {
                    name: src.name.clone(),
                    target,
                    arrivals,
                });
            }
        }

        let run = &self.run;
        let duration =
            |field: &str, value: Option<Seconds>, problem: &mut dyn FnMut(String, String)| {
                value.and_then(|v| {
                    v.to_duration()
                        .map_err(|m| problem(format!("run.{field}"), m))
                        .ok()
                })
            };
        let horizon = duration("horizon", run.horizon, &mut problem);
        let warmup = duration("warmup", run.warmup, &mut problem).unwrap_or(SimDuration::ZERO);
        let series_interval = duration("series_interval", run.series_interval, &mut problem);
        if run.horizon.is_none() && run.customers.is_none() {
            problem(
                "run".into(),
                "give `horizon` (a simulated time) or `customers` (completions), or both".into(),
            );
        }
        if run.customers == Some(0) {
            problem("run.customers".into(), "must be at least 1".into());
        }
        if let Some(h) = horizon {
            if h.is_zero() {
                problem("run.horizon".into(), "must be positive".into());
            } else if warmup >= h {
                problem(
                    "run.warmup".into(),
                    format!("warm-up {warmup} is not shorter than the horizon {h}"),
                );
            }
        }
        if let Some(iv) = series_interval {
            if iv.is_zero() {
                problem("run.series_interval".into(), "must be positive".into());
            } else if let Some(h) = horizon {
                let points = h.as_nanos() / iv.as_nanos();
                if points > MAX_SERIES_POINTS {
                    problem(
                        "run.series_interval".into(),
                        format!(
                            "horizon / interval = {points} points, more than the {MAX_SERIES_POINTS} allowed"
                        ),
                    );
                }
            } else {
                problem(
                    "run.series_interval".into(),
                    "needs `run.horizon`, to bound the series' length".into(),
                );
            }
        }

        // Refuse runs that could not finish in reasonable time, rather than
        // appear to hang (estimated from what lowered cleanly).
        {
            let estimate = estimated_events(&sources, &stations, horizon, run.customers);
            if estimate > MAX_ESTIMATED_EVENTS {
                problem(
                    "run".into(),
                    format!(
                        "this run needs about {estimate:.1e} events (roughly {:.0} hours at 10 million events/s), \
                         more than the {MAX_ESTIMATED_EVENTS:.0e} allowed: shorten `run.horizon` or lower `run.customers`",
                        estimate / 1e7 / 3600.0
                    ),
                );
            }
        }

        if !problems.is_empty() {
            return Err(ScenarioError::Invalid(problems));
        }
        Ok(NetworkConfig {
            name: self
                .name
                .clone()
                .unwrap_or_else(|| "station network".into()),
            sources,
            stations,
            stop: StopRule {
                horizon: horizon.map(|h| SimTime::ZERO + h),
                customers: run.customers,
            },
            warmup: SimTime::ZERO + warmup,
            default_seed: run.seed.unwrap_or(DEFAULT_SEED),
            series_interval,
            component_histograms: run.component_histograms.unwrap_or(true),
        })
    }
}

/// A rough count of the events a run will take: each customer costs one
/// arrival plus one departure per station on its path. With a horizon, a
/// source makes `horizon / mean inter-arrival` customers; with a customer
/// count, at most that many finish (rejections aside); with both, the smaller.
pub fn estimated_events(
    sources: &[SourceConfig],
    stations: &[StationConfig],
    horizon: Option<SimDuration>,
    customers: Option<u64>,
) -> f64 {
    let path_len = |mut at: Option<usize>| {
        let mut len = 0.0;
        while let Some(i) = at {
            len += 1.0;
            if len > stations.len() as f64 {
                break; // a cycle; reported elsewhere
            }
            at = stations[i].next;
        }
        len
    };
    let longest = sources
        .iter()
        .map(|s| path_len(Some(s.target)))
        .fold(0.0, f64::max);
    let by_horizon = horizon.map(|h| {
        sources
            .iter()
            .map(|s| s.arrivals.expected_count(h.as_secs_f64()) * (1.0 + path_len(Some(s.target))))
            .sum::<f64>()
    });
    let by_customers = customers.map(|n| n as f64 * (1.0 + longest));
    match (by_horizon, by_customers) {
        (Some(a), Some(b)) => a.min(b),
        (Some(a), None) | (None, Some(a)) => a,
        (None, None) => 0.0,
    }
}

/// The seed used when neither the file nor the command line gives one.
pub const DEFAULT_SEED: u64 = 1;

pub(crate) fn strip_json_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

/// A validated station network, ready to simulate.
#[derive(Clone, Debug)]
pub struct NetworkConfig {
    /// Name for reports.
    pub name: String,
    /// Arrival streams.
    pub sources: Vec<SourceConfig>,
    /// Stations; indices are positions in this list.
    pub stations: Vec<StationConfig>,
    /// When to stop.
    pub stop: StopRule,
    /// Statistics before this time are discarded.
    pub warmup: SimTime,
    /// Seed used when the caller gives none.
    pub default_seed: u64,
    /// Bucket width of the end-to-end latency series, if any.
    pub series_interval: Option<SimDuration>,
    /// Keep quantile histograms per station and source.
    pub component_histograms: bool,
}

/// When a run stops: at the horizon, after N completions, whichever first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StopRule {
    /// Stop at this time.
    pub horizon: Option<SimTime>,
    /// Stop after this many customers have left the network.
    pub customers: Option<u64>,
}

/// One validated source.
#[derive(Clone, Debug)]
pub struct SourceConfig {
    /// Name for reports and its random stream.
    pub name: String,
    /// Index of the first station.
    pub target: usize,
    /// When customers arrive.
    pub arrivals: Arrivals,
}

/// How a source's customers arrive.
#[derive(Clone, Debug)]
pub enum Arrivals {
    /// Independent, identically distributed gaps (a renewal process; a
    /// Poisson process when exponential).
    Renewal(Distribution),
    /// A non-homogeneous Poisson process with a time-varying rate.
    Rate(RateProfile),
}

impl Arrivals {
    /// Expected number of arrivals in the first `horizon_s` seconds.
    pub fn expected_count(&self, horizon_s: f64) -> f64 {
        match self {
            Arrivals::Renewal(gap) => horizon_s / gap.mean(),
            Arrivals::Rate(profile) => profile.expected_count(0.0, horizon_s),
        }
    }
}

/// One validated station.
#[derive(Clone, Debug)]
pub struct StationConfig {
    /// Name for reports and its random stream.
    pub name: String,
    /// Workers.
    pub servers: u32,
    /// Waiting room (None: unbounded).
    pub queue_capacity: Option<u32>,
    /// Service time.
    pub service: Distribution,
    /// Index of the next station, if any.
    pub next: Option<usize>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const MM1: &str = r#"
name = "mm1"
[run]
horizon = "1h"
warmup = "100s"
[[sources]]
name = "clients"
to = "web"
interarrival = { type = "exponential", rate = 0.5 }
[[stations]]
name = "web"
servers = 1
service = { type = "exponential", mean = "1s" }
"#;

    fn errors(text: &str) -> String {
        match StationScenarioFile::parse(text, Format::Toml) {
            Err(e) => e.to_string(),
            Ok(file) => file
                .lower()
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default(),
        }
    }

    #[test]
    fn parses_and_lowers() {
        let file = StationScenarioFile::parse(MM1, Format::Toml).unwrap();
        let net = file.lower().unwrap();
        assert_eq!(net.stations[0].servers, 1);
        assert_eq!(net.sources[0].arrivals.expected_count(10.0), 5.0);
        assert_eq!(net.stop.horizon, Some(SimTime::from_secs(3600)));
        assert_eq!(net.warmup, SimTime::from_secs(100));
    }

    #[test]
    fn json_is_accepted_and_hash_ignores_formatting() {
        let toml_file = StationScenarioFile::parse(MM1, Format::Toml).unwrap();
        let json = serde_json::to_string_pretty(&toml_file).unwrap();
        let json_file = StationScenarioFile::parse(&json, Format::Json).unwrap();
        assert_eq!(toml_file, json_file);
        assert_eq!(toml_file.content_hash(), json_file.content_hash());
        let commented = format!("# a comment\n{MM1}");
        assert_eq!(
            StationScenarioFile::parse(&commented, Format::Toml)
                .unwrap()
                .content_hash(),
            toml_file.content_hash()
        );
    }

    #[test]
    fn syntax_errors_name_path_line_and_column() {
        let bad = MM1.replace("servers = 1", "servers = 1\nworkers = 2");
        let msg = errors(&bad);
        assert!(
            msg.contains("stations[0]")
                && msg.contains("unknown field `workers`")
                && msg.contains("line 13"),
            "{msg}"
        );
        let bad = MM1.replace("servers = 1", "servers = \"one\"");
        let msg = errors(&bad);
        assert!(
            msg.contains("stations[0].servers") && msg.contains("line 12"),
            "{msg}"
        );
        let bad = MM1.replace("mean = \"1s\"", "mean = \"1 fortnight\"");
        let msg = errors(&bad);
        assert!(
            msg.contains("stations[0].service") && msg.contains("unknown time unit"),
            "{msg}"
        );
        let msg = match StationScenarioFile::parse(
            "{\"run\": {}, \"sources\": [], \"stations\": 3}",
            Format::Json,
        ) {
            Err(e) => e.to_string(),
            Ok(_) => String::new(),
        };
        assert!(msg.contains("stations") && msg.contains("line 1"), "{msg}");
    }

    #[test]
    fn semantic_errors_are_all_reported() {
        let bad = MM1
            .replace("to = \"web\"", "to = \"api\"")
            .replace("servers = 1", "servers = 0\nnext = \"web\"")
            .replace("warmup = \"100s\"", "warmup = \"2h\"");
        let msg = errors(&bad);
        for want in [
            "sources[0].to: no station is named `api` (stations: `web`)",
            "stations[0].servers: must be at least 1",
            "stations[0].next: station `web` is on a cycle",
            "run.warmup: warm-up 2h is not shorter than the horizon 1h",
        ] {
            assert!(msg.contains(want), "missing `{want}` in:\n{msg}");
        }
        assert!(msg.starts_with("4 problems"), "{msg}");
    }

    #[test]
    fn hostile_sizes_are_refused() {
        let bad = MM1.replace("servers = 1", "servers = 4000000000");
        assert!(errors(&bad).contains("more than the 1000000 allowed"));
        let bad = MM1.replace("warmup = \"100s\"", "series_interval = \"1ns\"");
        assert!(errors(&bad).contains("points, more than"));
        let bad = MM1.replace("horizon = \"1h\"", "horizon = 1e300");
        assert!(errors(&bad).contains("longer than 100 years"));
        // 50 years at 10^4 arrivals/s: ~3e13 events, refused up front.
        let bad = MM1
            .replace("horizon = \"1h\"", "horizon = \"438000h\"")
            .replace("rate = 0.5", "rate = 1e4");
        let msg = errors(&bad);
        assert!(
            msg.contains("run: this run needs about 3.2e13 events"),
            "{msg}"
        );
        let bad = MM1.replace("horizon = \"1h\"", "customers = 100000000000000");
        assert!(errors(&bad).contains("run: this run needs about 2.0e14 events"));
    }
}
