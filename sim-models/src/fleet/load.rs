//! Loading a fleet scenario: parse, apply overrides, check, lower.
//!
//! The text (TOML, or JSON) is parsed into a document tree, command-line
//! overrides are applied to the tree, the tree is deserialized into the DTOs
//! of `spec.rs` (the first type error stops here, with its field path, line
//! and column), and the DTOs are checked and lowered into a [`FleetConfig`]
//! by `lower.rs` (every semantic problem is collected, each with its path
//! and, for TOML, its line and column). Sizes and the expected amount of
//! work are bounded, so hostile input gets an error rather than exhausting
//! memory or hanging. See `docs/scenario.md` for the format.

use std::ops::Range;

use serde_json::Value;
use sha2::{Digest, Sha256};
use toml::de::{DeTable, DeValue};

use super::config::FleetConfig;
use super::lower::lower;
use super::overrides::{self, Override, Segment};
use super::policy_file::PolicyFile;
use super::spec::FleetScenarioFile;
use crate::scenario::{Format, ScenarioError, line_column, strip_json_position};

/// Largest fleet scenario text accepted, in bytes (long traces belong in a
/// CSV file, see [`MAX_TRACE_BYTES`](super::lower::MAX_TRACE_BYTES)).
pub const MAX_FLEET_SCENARIO_BYTES: usize = 4 * 1024 * 1024;
/// Deepest nesting of tables and arrays in a scenario document.
pub const MAX_NESTING: usize = 32;

/// A parsed and validated fleet scenario.
#[derive(Clone, Debug)]
pub struct FleetScenarioParsed {
    /// The lowered configuration the model runs.
    pub config: FleetConfig,
    /// Hash of the effective scenario (after overrides, with the trace
    /// files' contents): 16 hex digits of a SHA-256.
    pub hash: String,
    /// The effective scenario as written (after overrides).
    pub file: FleetScenarioFile,
}

/// Parses a fleet scenario, applies `overrides` (in order), checks every
/// field and lowers it into a [`FleetConfig`].
///
/// `read_file` reads a trace CSV named in the scenario (paths are as
/// written, meant relative to the scenario file's directory); it returns
/// the text or a reason. The first syntax or type error is reported with
/// its field path, line and column; semantic problems are all reported at
/// once ([`ScenarioError::Invalid`]).
pub fn parse_fleet(
    text: &str,
    format: Format,
    overrides: &[Override],
    read_file: &dyn Fn(&str) -> Result<String, String>,
) -> Result<FleetScenarioParsed, ScenarioError> {
    parse_fleet_with_policy(text, format, None, overrides, read_file)
}

/// [`parse_fleet`] that first puts a policy file's autoscaling table into
/// the groups it targets (see [`PolicyFile`]); `--set` overrides apply after
/// it, so they can adjust the policy too.
pub fn parse_fleet_with_policy(
    text: &str,
    format: Format,
    policy: Option<&PolicyFile>,
    overrides: &[Override],
    read_file: &dyn Fn(&str) -> Result<String, String>,
) -> Result<FleetScenarioParsed, ScenarioError> {
    if text.len() > MAX_FLEET_SCENARIO_BYTES {
        return Err(syntax(
            "scenario",
            None,
            format!(
                "file is {} bytes, more than the {MAX_FLEET_SCENARIO_BYTES} a fleet scenario may have \
                 (put long rate traces in a CSV file: `trace = {{ file = \"...\" }}`)",
                text.len()
            ),
        ));
    }
    let (mut tree, spans) = match format {
        Format::Toml => {
            let table = DeTable::parse(text).map_err(|e| {
                syntax(
                    "scenario",
                    e.span().map(|s| line_column(text, s.start)),
                    e.message().trim().to_string(),
                )
            })?;
            let tree = table_to_json(table.get_ref(), 0).map_err(|(path, message)| {
                let segments = overrides::parse_path(&path).unwrap_or_default();
                let location = toml_span(table.get_ref(), &segments, false)
                    .map(|s| line_column(text, s.start));
                syntax(&path, location, message)
            })?;
            (tree, Some(table))
        }
        Format::Json => {
            let tree: Value = serde_json::from_str(text).map_err(|e| {
                syntax(
                    "scenario",
                    Some((e.line(), e.column())),
                    strip_json_position(&e.to_string()),
                )
            })?;
            if let Err(path) = check_depth(&tree, 0, &mut String::new()) {
                return Err(syntax(&path, None, too_deep()));
            }
            (tree, None)
        }
    };
    let mut locator = Locator {
        text,
        spans,
        overridden: Vec::new(),
    };
    if let Some(policy) = policy {
        let paths = policy
            .apply(&mut tree)
            .map_err(|m| syntax("regions", None, m))?;
        let note = format!(" (from {})", policy.origin);
        locator
            .overridden
            .extend(paths.into_iter().map(|p| (p, note.clone())));
    }
    for ov in overrides {
        let segments = overrides::apply(&mut tree, ov)
            .map_err(|m| syntax(&ov.path, None, format!("in `--set {ov}`: {m}")))?;
        locator
            .overridden
            .push((segments, " (set on the command line)".to_string()));
    }
    if let Err(path) = check_depth(&tree, 0, &mut String::new()) {
        return Err(locator.syntax(path, too_deep(), false));
    }
    let file: FleetScenarioFile = serde_path_to_error::deserialize(&tree).map_err(|e| {
        let mut path = e.path().to_string();
        if path == "." {
            path = "scenario".into();
        }
        let message = e.into_inner().to_string();
        let message = strip_json_position(&message);
        // Point at the unknown key itself, not at the table holding it.
        let unknown = message
            .strip_prefix("unknown field `")
            .and_then(|m| m.split('`').next());
        match unknown {
            Some(field) if path != field && !path.ends_with(&format!(".{field}")) => {
                let path = if path == "scenario" {
                    field.to_string()
                } else {
                    format!("{path}.{field}")
                };
                locator.syntax(path, message, true)
            }
            Some(_) => locator.syntax(path, message, true),
            None => locator.syntax(path, message, false),
        }
    })?;
    drop(tree);

    let mut traces = Vec::new();
    let config = match lower(&file, read_file, &mut traces) {
        Ok(config) => config,
        Err(mut problems) => {
            for p in &mut problems {
                match locator.locate(&p.path, false) {
                    Where::File(l) => p.location = Some(l),
                    Where::Elsewhere(note) => p.message.push_str(&note),
                    Where::Unknown => {}
                }
            }
            return Err(ScenarioError::Invalid(problems));
        }
    };
    let mut hasher = Sha256::new();
    hasher.update(serde_json::to_vec(&file).expect("scenario DTOs always serialize"));
    for (name, content) in &traces {
        hasher.update(b"\0trace\0");
        hasher.update(name.as_bytes());
        hasher.update(b"\0");
        hasher.update(content.as_bytes());
    }
    let hash = hasher.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(FleetScenarioParsed { config, hash, file })
}

/// Whether a scenario text is a fleet scenario (it has a top-level
/// `regions` key) rather than a station scenario. Text that does not parse
/// is judged by a line starting `[[regions]]` / `regions =` (TOML) or a
/// `"regions"` key (JSON), so its errors come from the right parser.
pub fn is_fleet_scenario(text: &str, format: Format) -> bool {
    if text.len() <= MAX_FLEET_SCENARIO_BYTES {
        match format {
            Format::Toml => {
                if let Ok(table) = DeTable::parse(text) {
                    return table
                        .get_ref()
                        .iter()
                        .any(|(k, _)| k.get_ref() == "regions");
                }
            }
            Format::Json => match serde_json::from_str::<Value>(text) {
                Ok(Value::Object(map)) => return map.contains_key("regions"),
                Ok(_) => return false,
                Err(_) => {}
            },
        }
    }
    match format {
        Format::Toml => text.lines().any(|line| {
            let line = line.trim_start();
            line.starts_with("[[regions]]")
                || line.starts_with("[[regions.")
                || line
                    .strip_prefix("regions")
                    .is_some_and(|rest| rest.trim_start().starts_with('='))
        }),
        Format::Json => text.contains("\"regions\""),
    }
}

fn syntax(path: &str, location: Option<(usize, usize)>, message: String) -> ScenarioError {
    ScenarioError::Syntax {
        path: path.to_string(),
        location,
        message,
    }
}

fn too_deep() -> String {
    format!("tables and arrays are nested more than {MAX_NESTING} levels deep")
}

/// Where a path's value came from.
enum Where {
    File((usize, usize)),
    /// Set outside the file; the note says where (command line, policy
    /// file).
    Elsewhere(String),
    Unknown,
}

/// Finds a field path's line and column in the TOML text, or tells that an
/// override set it.
struct Locator<'t> {
    text: &'t str,
    spans: Option<toml::Spanned<DeTable<'t>>>,
    /// Paths set from outside the file, with the note that says where.
    overridden: Vec<(Vec<Segment>, String)>,
}

impl Locator<'_> {
    fn locate(&self, path: &str, key: bool) -> Where {
        let Ok(segments) = overrides::parse_path(path) else {
            return Where::Unknown;
        };
        // The last setter wins, as it did when the tree was built.
        if let Some((_, note)) = self
            .overridden
            .iter()
            .rev()
            .find(|(o, _)| segments.len() >= o.len() && segments[..o.len()] == o[..])
        {
            return Where::Elsewhere(note.clone());
        }
        match &self.spans {
            Some(table) => match toml_span(table.get_ref(), &segments, key) {
                Some(span) => Where::File(line_column(self.text, span.start)),
                None => Where::Unknown,
            },
            None => Where::Unknown,
        }
    }

    fn syntax(&self, path: String, mut message: String, key: bool) -> ScenarioError {
        let location = match self.locate(&path, key) {
            Where::File(l) => Some(l),
            Where::Elsewhere(note) => {
                message.push_str(&note);
                None
            }
            Where::Unknown => None,
        };
        ScenarioError::Syntax {
            path,
            location,
            message,
        }
    }
}

/// The span of the deepest node on `segments` (the key's own span if the
/// whole path is found and `key` is set).
fn toml_span(root: &DeTable<'_>, segments: &[Segment], key: bool) -> Option<Range<usize>> {
    let mut best = None;
    let mut at: Option<&toml::Spanned<DeValue<'_>>> = None;
    for (i, seg) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        match seg {
            Segment::Key(name) => {
                let table = match at {
                    None => root,
                    Some(v) => match v.get_ref() {
                        DeValue::Table(t) => t,
                        _ => break,
                    },
                };
                let Some((k, v)) = table.iter().find(|(k, _)| k.get_ref() == name) else {
                    break;
                };
                best = Some(if last && key { k.span() } else { v.span() });
                at = Some(v);
            }
            Segment::Index(n) => {
                let Some(DeValue::Array(items)) = at.map(|v| v.get_ref()) else {
                    break;
                };
                let Some(item) = items.get(*n) else {
                    break;
                };
                best = Some(item.span());
                at = Some(item);
            }
        }
    }
    best
}

/// Converts a TOML table to a JSON tree; errors carry a path.
pub(crate) fn table_to_json(table: &DeTable<'_>, depth: usize) -> Result<Value, (String, String)> {
    let mut map = serde_json::Map::new();
    for (k, v) in table.iter() {
        let value = toml_to_json(v.get_ref(), depth + 1)
            .map_err(|(path, m)| (join_key(k.get_ref(), &path), m))?;
        map.insert(k.get_ref().to_string(), value);
    }
    Ok(Value::Object(map))
}

fn join_key(key: &str, rest: &str) -> String {
    if rest.is_empty() {
        key.to_string()
    } else if rest.starts_with('[') {
        format!("{key}{rest}")
    } else {
        format!("{key}.{rest}")
    }
}

/// Converts a TOML value to JSON: integers and finite floats become numbers;
/// non-finite floats, dates and too-deep nesting are errors (with the path
/// below this value, empty for the value itself).
pub(crate) fn toml_to_json(value: &DeValue<'_>, depth: usize) -> Result<Value, (String, String)> {
    if depth > MAX_NESTING {
        return Err((String::new(), too_deep()));
    }
    Ok(match value {
        DeValue::String(s) => Value::String(s.to_string()),
        DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
            Ok(n) => Value::from(n),
            Err(_) => match u64::from_str_radix(i.as_str(), i.radix()) {
                Ok(n) => Value::from(n),
                Err(_) => return Err((String::new(), format!("integer `{i}` is too large"))),
            },
        },
        DeValue::Float(f) => {
            let x: f64 = f.as_str().parse().unwrap_or(f64::NAN);
            match serde_json::Number::from_f64(x) {
                Some(n) if x.is_finite() => Value::Number(n),
                _ => {
                    return Err((
                        String::new(),
                        format!("`{}` is not a finite number", f.as_str()),
                    ));
                }
            }
        }
        DeValue::Boolean(b) => Value::Bool(*b),
        DeValue::Datetime(d) => {
            return Err((
                String::new(),
                format!(
                    "`{d}` is a TOML date or time of day; write a duration as a number of seconds or a string like \"90s\" or \"10h\""
                ),
            ));
        }
        DeValue::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                out.push(
                    toml_to_json(item.get_ref(), depth + 1)
                        .map_err(|(path, m)| (format!("[{i}]{}", dotted(&path)), m))?,
                );
            }
            Value::Array(out)
        }
        DeValue::Table(t) => table_to_json(t, depth)?,
    })
}

fn dotted(rest: &str) -> String {
    if rest.is_empty() || rest.starts_with('[') {
        rest.to_string()
    } else {
        format!(".{rest}")
    }
}

/// Errs with the path of the first node nested deeper than [`MAX_NESTING`].
fn check_depth(value: &Value, depth: usize, path: &mut String) -> Result<(), String> {
    if depth > MAX_NESTING {
        return Err(if path.is_empty() {
            "scenario".into()
        } else {
            path.clone()
        });
    }
    match value {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                check_depth(item, depth + 1, path)?;
                path.truncate(len);
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
                check_depth(v, depth + 1, path)?;
                path.truncate(len);
            }
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::fleet::config::{Algorithm, LoadConfig, Window};
    use sim_core::{SimDuration, SimTime};

    pub(crate) const MINI: &str = r#"
[run]
duration = "10min"

[[instance_types]]
name = "small"
workers = 4

[[regions]]
name = "east"
zones = ["e1", "e2"]
[[regions.groups]]
name = "web"
instance_type = "small"
instances = 4

[[regions]]
name = "west"
zones = ["w1"]
[[regions.groups]]
name = "web"
instance_type = "small"
instances = 4

[[latency]]
between = ["east", "west"]
one_way = "30ms"

[[populations]]
name = "clients"
region = "east"
rate = { profile = "constant", per_second = 100 }
demand = { type = "exponential", mean = "20ms" }
"#;

    pub(crate) fn no_files(name: &str) -> Result<String, String> {
        Err(format!("no file `{name}` in this test"))
    }

    pub(crate) fn parse(text: &str) -> Result<FleetScenarioParsed, ScenarioError> {
        parse_fleet(text, Format::Toml, &[], &no_files)
    }

    pub(crate) fn error(text: &str) -> String {
        match parse(text) {
            Ok(_) => panic!("expected an error"),
            Err(e) => e.to_string(),
        }
    }

    pub(crate) fn with_overrides(
        text: &str,
        sets: &[&str],
    ) -> Result<FleetScenarioParsed, ScenarioError> {
        let overrides: Vec<Override> = sets.iter().map(|s| s.parse().unwrap()).collect();
        parse_fleet(text, Format::Toml, &overrides, &no_files)
    }

    pub(crate) fn line_of(text: &str, needle: &str) -> usize {
        text.lines().position(|l| l.contains(needle)).unwrap() + 1
    }

    pub(crate) fn bundled() -> [(&'static str, &'static str); 4] {
        [
            (
                "single-region",
                include_str!("../../../scenarios/single-region.toml"),
            ),
            (
                "three-region-active-active",
                include_str!("../../../scenarios/three-region-active-active.toml"),
            ),
            (
                "flash-crowd-10x",
                include_str!("../../../scenarios/flash-crowd-10x.toml"),
            ),
            (
                "region-outage",
                include_str!("../../../scenarios/region-outage.toml"),
            ),
        ]
    }

    #[test]
    fn bundled_scenarios_parse_and_lower() {
        for (name, text) in bundled() {
            assert!(is_fleet_scenario(text, Format::Toml), "{name}");
            let s = parse(text).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(s.config.name, name);
            assert!(
                s.config.run.duration <= SimDuration::from_mins(10),
                "{name}"
            );
        }
        let s = parse(bundled()[1].1).unwrap();
        let c = &s.config;
        let total: f64 = c
            .populations
            .iter()
            .map(|p| match &p.load {
                LoadConfig::Open(r) => r.rate_at(0.0),
                LoadConfig::Closed { .. } => 0.0,
            })
            .sum();
        assert_eq!(total, 30_000.0);
        let workers: u32 = c
            .regions
            .iter()
            .flat_map(|r| &r.groups)
            .map(|g| g.instances * c.instance_types[g.instance_type].workers)
            .sum();
        assert_eq!(workers, 1008);
        // Mean demand 20 ms: ~600 busy workers, ~60 % utilisation.
        let demand: f64 = c.populations[0]
            .classes
            .iter()
            .map(|k| k.share * k.demand.mean())
            .sum();
        assert!((demand - 0.020).abs() < 1e-9, "{demand}");
        let names: Vec<&str> = c.populations.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "north-america",
                "south-america",
                "europe",
                "africa",
                "middle-east",
                "asia",
                "oceania"
            ]
        );
        // Seed 003's table: Middle East reads fall back to APAC first.
        assert_eq!(c.populations[4].fallback, vec![2, 0]);
        assert_eq!(c.inter_region_latency[0][2], SimDuration::from_millis(90));
        assert_eq!(
            c.regions[0].balancer.algorithm,
            Algorithm::PowerOfChoices { choices: 2 }
        );
        let outlier = c.regions[1].balancer.outlier.unwrap();
        assert_eq!(outlier.max_ejection, SimDuration::from_secs(300));
        assert_eq!(c.regions[1].balancer.slow_start.unwrap().min_weight, 0.1);
        // The outage scenario: a window and the nearest-first default fallback.
        let c = parse(bundled()[3].1).unwrap().config;
        assert_eq!(
            c.regions[0].outages,
            vec![Window {
                start: SimTime::from_secs(180),
                end: SimTime::from_secs(420)
            }]
        );
        assert_eq!(c.populations[2].fallback, vec![1, 0]);
        // The flash crowd: ×10 between 3 and 6 minutes.
        let c = parse(bundled()[2].1).unwrap().config;
        let LoadConfig::Open(rate) = &c.populations[0].load else {
            panic!("open loop expected")
        };
        assert_eq!(rate.rate_at(100.0), 800.0);
        assert_eq!(rate.rate_at(200.0), 8000.0);
        assert_eq!(rate.rate_at(400.0), 800.0);
    }

    #[test]
    fn json_equivalent_gives_the_same_config_and_hash() {
        for (name, text) in bundled() {
            let from_toml = parse(text).unwrap();
            let json = serde_json::to_string_pretty(&from_toml.file).unwrap();
            assert!(is_fleet_scenario(&json, Format::Json), "{name}");
            let from_json = parse_fleet(&json, Format::Json, &[], &no_files).unwrap();
            assert_eq!(from_toml.file, from_json.file, "{name}");
            assert_eq!(
                format!("{:?}", from_toml.config),
                format!("{:?}", from_json.config),
                "{name}"
            );
            assert_eq!(from_toml.hash, from_json.hash, "{name}");
        }
        // Comments and layout do not change the hash; content does.
        let a = parse(MINI).unwrap().hash;
        assert_eq!(parse(&format!("# hello\n{MINI}\n\n")).unwrap().hash, a);
        assert_ne!(parse(&MINI.replace("30ms", "31ms")).unwrap().hash, a);
    }

    #[test]
    fn unknown_fields_name_path_line_and_column() {
        let bad = MINI.replace(
            "instances = 4\n\n[[regions]]",
            "instances = 4\ninstance = 5\n\n[[regions]]",
        );
        let msg = error(&bad);
        let line = line_of(&bad, "instance = 5");
        assert!(
            msg.starts_with(
                "regions[0].groups[0].instance: unknown field `instance`, expected one of"
            ),
            "{msg}"
        );
        assert!(msg.ends_with(&format!("(line {line}, column 1)")), "{msg}");
        // Inside an inline table, the column points at the key.
        let bad = MINI.replace("per_second = 100 }", "per_second = 100, burst = 3 }");
        let msg = error(&bad);
        assert!(
            msg.contains("populations[0].rate") && msg.contains("unknown field `burst`"),
            "{msg}"
        );
        assert!(
            msg.contains(&format!("(line {}", line_of(&bad, "burst"))),
            "{msg}"
        );
        // At the top level.
        let msg = error(&format!("region = 1\n{MINI}"));
        assert!(msg.starts_with("region: unknown field `region`"), "{msg}");
        assert!(msg.ends_with("(line 1, column 1)"), "{msg}");
    }

    #[test]
    fn wrong_types_and_values_name_path_line_and_column() {
        let bad = MINI.replace("workers = 4", "workers = \"four\"");
        let msg = error(&bad);
        assert!(
            msg.starts_with(
                "instance_types[0].workers: invalid type: string \"four\", expected u64"
            ),
            "{msg}"
        );
        assert!(
            msg.ends_with(&format!("(line {}, column 11)", line_of(&bad, "\"four\""))),
            "{msg}"
        );
        let bad = MINI.replace(
            "[[latency]]",
            "[regions.balancer]\nalgorithm = \"fastest\"\n\n[[latency]]",
        );
        let msg = error(&bad);
        assert!(
            msg.starts_with("regions[1].balancer.algorithm: unknown variant `fastest`, expected one of `round_robin`"),
            "{msg}"
        );
        assert!(
            msg.contains(&format!("(line {}, column 13)", line_of(&bad, "fastest"))),
            "{msg}"
        );
        let msg = error(&MINI.replace("duration = \"10min\"", "duration = \"10 fortnights\""));
        assert!(
            msg.contains("run.duration") && msg.contains("unknown time unit"),
            "{msg}"
        );
        let msg = error(&MINI.replace("duration = \"10min\"", "duration = 10:00:00"));
        assert!(
            msg.contains("run.duration: `10:00:00` is a TOML date or time of day"),
            "{msg}"
        );
        let msg = error(&MINI.replace("duration = \"10min\"", "duration = inf"));
        assert!(
            msg.contains("run.duration: `inf` is not a finite number"),
            "{msg}"
        );
        let msg = error(&MINI.replace("[run]\nduration = \"10min\"", "[run]\nwarmup = 1"));
        assert!(
            msg.starts_with("run: missing field `duration` (line 2"),
            "{msg}"
        );
        let msg = error("[run\n");
        assert!(
            msg.starts_with("scenario: ") && msg.contains("(line 1"),
            "{msg}"
        );
        let msg = parse_fleet("{\"run\": [}", Format::Json, &[], &no_files)
            .unwrap_err()
            .to_string();
        assert!(
            msg.starts_with("scenario: ") && msg.contains("line 1, column"),
            "{msg}"
        );
    }

    #[test]
    fn json_problems_name_the_path() {
        let json = serde_json::to_string(&parse(MINI).unwrap().file)
            .unwrap()
            .replace("\"region\":\"east\"", "\"region\":\"north\"");
        let msg = parse_fleet(&json, Format::Json, &[], &no_files)
            .unwrap_err()
            .to_string();
        assert_eq!(
            msg,
            "1 problem in the scenario:\n  populations[0].region: no region is named `north` (regions: `east`, `west`)"
        );
        let msg = parse_fleet(
            &json.replace("\"workers\":4", "\"workers\":-4"),
            Format::Json,
            &[],
            &no_files,
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            msg,
            "instance_types[0].workers: invalid value: integer `-4`, expected u64"
        );
    }

    #[test]
    fn deep_nesting_is_refused() {
        let deep = |n: usize| format!("{MINI}\nx = {}1{}\n", "[".repeat(n), "]".repeat(n));
        let msg = error(&deep(40));
        assert!(msg.contains("nested more than 32 levels deep"), "{msg}");
        let msg = error(&deep(100_000));
        assert!(msg.contains("recurse"), "{msg}");
        let json = format!("{{\"x\": {}1{}}}", "[".repeat(40), "]".repeat(40));
        let msg = parse_fleet(&json, Format::Json, &[], &no_files)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("nested more than 32 levels deep"), "{msg}");
        let json = format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000));
        let msg = parse_fleet(&json, Format::Json, &[], &no_files)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("recursion limit exceeded"), "{msg}");
    }

    #[test]
    fn overrides_apply_and_report() {
        let s = with_overrides(
            MINI,
            &[
                "run.duration=2h",
                "regions[0].groups[0].instances=20",
                "regions[0].balancer.algorithm=p2c",
                "populations[0].client.timeout=500ms",
                "name=\"tuned\"",
            ],
        )
        .unwrap();
        let c = &s.config;
        assert_eq!(c.run.duration, SimDuration::from_hours(2));
        assert_eq!(c.regions[0].groups[0].instances, 20);
        assert_eq!(
            c.regions[0].balancer.algorithm,
            Algorithm::PowerOfChoices { choices: 2 }
        );
        assert_eq!(
            c.populations[0].client.timeout,
            SimDuration::from_millis(500)
        );
        assert_eq!(c.name, "tuned");
        assert_ne!(s.hash, parse(MINI).unwrap().hash);
        assert_eq!(s.file.regions[0].groups.as_ref().unwrap()[0].instances, 20);
        // Missing tables on the way are created; the default health-check
        // timeout shrinks to fit a short interval.
        let c = with_overrides(
            MINI,
            &[
                "regions[1].balancer.outlier.interval=5s",
                "regions[1].balancer.health_check.interval=2s",
            ],
        )
        .unwrap()
        .config;
        let b = &c.regions[1].balancer;
        assert_eq!(b.outlier.unwrap().interval, SimDuration::from_secs(5));
        assert_eq!(b.outlier.unwrap().consecutive_errors, 5);
        assert_eq!(b.health_check.timeout, SimDuration::from_secs(2));
        // Later overrides win.
        let c = with_overrides(MINI, &["run.seed=5", "run.seed=6"])
            .unwrap()
            .config;
        assert_eq!(c.run.default_seed, 6);

        let msg = with_overrides(MINI, &["regions[5].groups[0].instances=1"])
            .unwrap_err()
            .to_string();
        assert_eq!(
            msg,
            "regions[5].groups[0].instances: in `--set regions[5].groups[0].instances=1`: index 5 is out of range: `regions` has 2 entries"
        );
        let msg = with_overrides(MINI, &["run.duration.unit=s"])
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("`run.duration` is a string, not a table"),
            "{msg}"
        );
        let msg = with_overrides(MINI, &["regions[0].groups[0].instances=lots"])
            .unwrap_err()
            .to_string();
        assert_eq!(
            msg,
            "regions[0].groups[0].instances: invalid type: string \"lots\", expected u64 (set on the command line)"
        );
        let msg = with_overrides(MINI, &["regions[0].balancer.slow_start.window=0"])
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("regions[0].balancer.slow_start.window: must be a positive time, got 0 (set on the command line)"),
            "{msg}"
        );
        let msg = with_overrides(MINI, &["regions[0].balancer.speed=3"])
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("unknown field `speed`") && msg.ends_with("(set on the command line)"),
            "{msg}"
        );
        // A problem elsewhere keeps its file location.
        let msg = with_overrides(
            &MINI.replace("region = \"east\"", "region = \"north\""),
            &["run.seed=7"],
        )
        .unwrap_err()
        .to_string();
        assert!(
            msg.contains("populations[0].region: no region is named `north`")
                && msg.contains("(line"),
            "{msg}"
        );
        assert!(
            Override::parse("no-equals")
                .unwrap_err()
                .contains("expected `path=value`")
        );
        assert!(
            Override::parse("a[x]=1")
                .unwrap_err()
                .contains("is not an index")
        );
    }

    #[test]
    fn fleet_files_are_told_from_station_files() {
        assert!(is_fleet_scenario(MINI, Format::Toml));
        assert!(!is_fleet_scenario(
            "[run]\nhorizon = 1\n[[stations]]\nname = \"a\"\n",
            Format::Toml
        ));
        // Broken files are judged by their keys.
        assert!(is_fleet_scenario("[[regions]]\nname = ", Format::Toml));
        assert!(!is_fleet_scenario("[[stations]]\nname = ", Format::Toml));
        assert!(is_fleet_scenario("{\"regions\": [", Format::Json));
        assert!(!is_fleet_scenario("{\"stations\": []}", Format::Json));
    }

    #[test]
    fn schema_is_json_and_describes_the_format() {
        let schema = crate::fleet::spec::fleet_json_schema();
        let text = serde_json::to_string_pretty(&schema).unwrap();
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, schema);
        let props = &schema["properties"];
        for key in [
            "run",
            "regions",
            "instance_types",
            "latency",
            "dns",
            "populations",
        ] {
            assert!(props.get(key).is_some(), "no `{key}` in the schema");
        }
        assert_eq!(schema["additionalProperties"], Value::Bool(false));
        for word in [
            "power_of_choices",
            "\"p2c\"",
            "least_outstanding",
            "Seconds",
            "spill_utilization",
            "zipf",
        ] {
            assert!(text.contains(word), "no `{word}` in the schema");
        }
    }
}
