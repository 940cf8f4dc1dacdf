//! The scenario side of the dashboard: finding bundled scenarios, reading a
//! scenario file, the parameter form (each edited field becomes one
//! `--set path=value` override, exactly as `fleetsim run --set` applies it)
//! and saving the effective scenario as TOML.
//!
//! The form reads the file's own values from its TOML tree, so a field
//! shows what the file says (`"10min"`, `"power_of_choices"`), and only
//! fields the user changed become overrides. Validation is the facade's:
//! the overridden scenario is loaded with [`sim_models::load_fleet_scenario`]
//! and its [`sim_models::ScenarioError`] is shown as is.

use std::fs;
use std::path::{Path, PathBuf};

use sim_models::{FleetScenario, Format, Override};

/// The balancer algorithms, as scenario files spell them.
pub const ALGORITHMS: &[&str] = &[
    "round_robin",
    "weighted_round_robin",
    "random",
    "least_outstanding",
    "power_of_choices",
    "least_latency",
    "ring_hash",
    "maglev",
    "key_hash",
];

/// The database replication modes, as scenario files spell them.
pub const REPLICATION_MODES: &[&str] = &["async", "semi_sync", "sync"];

/// How a form field is edited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldKind {
    /// Free text, read as a TOML value when it is one, else as a string
    /// (`--set` semantics).
    Text,
    /// One of a fixed list of names.
    Choice(&'static [&'static str]),
}

/// One editable scenario parameter.
#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    /// The override path, e.g. `regions[0].balancer.algorithm`.
    pub path: String,
    /// What the form shows next to the field.
    pub label: String,
    /// How it is edited.
    pub kind: FieldKind,
    /// The value in the file (`--set` spelling; empty if the file omits it).
    pub original: String,
    /// The value being edited.
    pub value: String,
}

impl Field {
    fn new(path: String, label: String, kind: FieldKind, original: String) -> Self {
        Field {
            path,
            label,
            kind,
            value: original.clone(),
            original,
        }
    }

    /// Whether the user changed it.
    pub fn is_edited(&self) -> bool {
        self.value.trim() != self.original.trim()
    }
}

/// The form's fields, grouped under headings in file order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Form {
    /// (heading, fields) pairs.
    pub sections: Vec<(String, Vec<Field>)>,
    /// Extra `path=value` lines, one per line, for anything the form lacks.
    pub extra: String,
}

/// A TOML value written the way `--set` reads it back: strings bare,
/// everything else as TOML.
fn set_spelling(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn get<'a>(t: &'a toml::Table, key: &str) -> Option<&'a toml::Value> {
    t.get(key)
}

fn name_of(t: &toml::Table, fallback: String) -> String {
    get(t, "name")
        .and_then(toml::Value::as_str)
        .map_or(fallback, str::to_string)
}

fn is_number(v: &toml::Value) -> bool {
    matches!(v, toml::Value::Integer(_) | toml::Value::Float(_))
}

impl Form {
    /// The form of a scenario text; a text that is not TOML gives an
    /// empty form (the loader reports why).
    pub fn from_toml(text: &str) -> Form {
        let Ok(doc) = text.parse::<toml::Table>() else {
            return Form::default();
        };
        let mut sections = Vec::new();
        let mut run = Vec::new();
        let run_table = get(&doc, "run").and_then(toml::Value::as_table);
        for (key, label) in [("duration", "duration"), ("warmup", "warm-up")] {
            let original = run_table
                .and_then(|t| get(t, key))
                .map(set_spelling)
                .unwrap_or_default();
            run.push(Field::new(
                format!("run.{key}"),
                label.to_string(),
                FieldKind::Text,
                original,
            ));
        }
        sections.push(("Run".to_string(), run));

        let tables = |key: &str| -> Vec<&toml::Table> {
            get(&doc, key)
                .and_then(toml::Value::as_array)
                .map(|a| a.iter().filter_map(toml::Value::as_table).collect())
                .unwrap_or_default()
        };
        for (p, pop) in tables("populations").into_iter().enumerate() {
            let name = name_of(pop, format!("population {p}"));
            let mut fields = Vec::new();
            if let Some(rate) = get(pop, "rate").and_then(toml::Value::as_table) {
                for (key, v) in rate.iter().filter(|(_, v)| is_number(v)) {
                    fields.push(Field::new(
                        format!("populations[{p}].rate.{key}"),
                        format!("rate {key}"),
                        FieldKind::Text,
                        set_spelling(v),
                    ));
                }
            }
            if !fields.is_empty() {
                sections.push((format!("Population {name}"), fields));
            }
        }
        for (r, region) in tables("regions").into_iter().enumerate() {
            let name = name_of(region, format!("region {r}"));
            let mut fields = Vec::new();
            let algorithm = get(region, "balancer")
                .and_then(toml::Value::as_table)
                .and_then(|b| get(b, "algorithm"))
                .map(set_spelling)
                .unwrap_or_default();
            fields.push(Field::new(
                format!("regions[{r}].balancer.algorithm"),
                "balancer".to_string(),
                FieldKind::Choice(ALGORITHMS),
                algorithm,
            ));
            let groups = get(region, "groups")
                .and_then(toml::Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(toml::Value::as_table)
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default();
            for (g, group) in groups.into_iter().enumerate() {
                let gname = name_of(group, format!("group {g}"));
                let base = format!("regions[{r}].groups[{g}]");
                if let Some(v) = get(group, "instances") {
                    fields.push(Field::new(
                        format!("{base}.instances"),
                        format!("{gname} instances"),
                        FieldKind::Text,
                        set_spelling(v),
                    ));
                }
                let Some(scaling) = get(group, "autoscaling").and_then(toml::Value::as_table)
                else {
                    continue;
                };
                for key in ["min", "max"] {
                    if let Some(v) = get(scaling, key) {
                        fields.push(Field::new(
                            format!("{base}.autoscaling.{key}"),
                            format!("{gname} autoscaling {key}"),
                            FieldKind::Text,
                            set_spelling(v),
                        ));
                    }
                }
                if let Some(policy) = get(scaling, "policy").and_then(toml::Value::as_table) {
                    fields.extend(target_fields(
                        policy,
                        &format!("{base}.autoscaling.policy"),
                        &gname,
                    ));
                }
            }
            sections.push((format!("Region {name}"), fields));
        }
        for (d, db) in tables("databases").into_iter().enumerate() {
            let name = name_of(db, format!("database {d}"));
            let replication = get(db, "replication").map(set_spelling).unwrap_or_default();
            sections.push((
                format!("Database {name}"),
                vec![Field::new(
                    format!("databases[{d}].replication"),
                    "replication".to_string(),
                    FieldKind::Choice(REPLICATION_MODES),
                    replication,
                )],
            ));
        }
        Form {
            sections,
            extra: String::new(),
        }
    }

    /// The overrides the form stands for: every edited field, then the
    /// extra lines; a malformed extra line is an error naming it.
    pub fn overrides(&self) -> Result<Vec<Override>, String> {
        let mut out: Vec<Override> = (self.sections.iter())
            .flat_map(|(_, fields)| fields)
            .filter(|f| f.is_edited())
            .map(|f| Override::new(f.path.clone(), f.value.trim()))
            .collect();
        for line in self.extra.lines().map(str::trim).filter(|l| !l.is_empty()) {
            out.push(Override::parse(line)?);
        }
        Ok(out)
    }

    /// Puts every field back to the file's value and clears the extra lines.
    pub fn reset(&mut self) {
        for f in self.sections.iter_mut().flat_map(|(_, fields)| fields) {
            f.value = f.original.clone();
        }
        self.extra.clear();
    }
}

/// The numeric `target…` keys of an autoscaling policy table and of its
/// `metrics` entries (`target`, `target_utilization`, `target_value`).
fn target_fields(policy: &toml::Table, base: &str, group: &str) -> Vec<Field> {
    let mut out = Vec::new();
    let mut add = |table: &toml::Table, path: String, label: String| {
        for (key, v) in table.iter() {
            if key.starts_with("target") && is_number(v) {
                out.push(Field::new(
                    format!("{path}.{key}"),
                    format!("{label} {key}"),
                    FieldKind::Text,
                    set_spelling(v),
                ));
            }
        }
    };
    add(policy, base.to_string(), format!("{group} policy"));
    if let Some(metrics) = get(policy, "metrics").and_then(toml::Value::as_array) {
        for (m, metric) in metrics.iter().enumerate() {
            if let Some(t) = metric.as_table() {
                add(
                    t,
                    format!("{base}.metrics[{m}]"),
                    format!("{group} metric {m}"),
                );
            }
        }
    }
    out
}

/// Where the bundled `scenarios/` directory is: `FLEETSIM_SCENARIOS` if
/// set, else the first `scenarios/` beside the executable or one of its
/// parent directories, else the workspace's (known at build time).
pub fn bundled_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("FLEETSIM_SCENARIOS") {
        return Some(PathBuf::from(dir));
    }
    let from_exe = std::env::current_exe().ok().and_then(|exe| {
        exe.ancestors()
            .skip(1)
            .map(|d| d.join("scenarios"))
            .find(|d| d.is_dir())
    });
    from_exe.or_else(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
        dir.is_dir().then_some(dir)
    })
}

/// The fleet scenarios under `dir` (its subdirectories included), sorted
/// by path; station scenarios and policy files are left out.
pub fn bundled_scenarios(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "toml")
                && fs::read_to_string(&path)
                    .is_ok_and(|t| sim_models::is_fleet_scenario(&t, Format::Toml))
            {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Reads a scenario file, refusing oversized ones (the CLI's limit).
pub fn read_scenario(path: &Path) -> Result<String, String> {
    let meta = fs::metadata(path)
        .map_err(|e| format!("cannot read scenario `{}`: {e}", path.display()))?;
    if meta.len() > sim_models::scenario::MAX_SCENARIO_BYTES as u64 {
        return Err(format!(
            "scenario `{}` is {} bytes, more than the {} allowed",
            path.display(),
            meta.len(),
            sim_models::scenario::MAX_SCENARIO_BYTES
        ));
    }
    fs::read_to_string(path).map_err(|e| format!("cannot read scenario `{}`: {e}", path.display()))
}

/// Loads a fleet scenario text through the facade, with trace files read
/// next to `path` (as the CLI does); errors are the CLI's text.
pub fn load(path: &Path, text: &str, overrides: &[Override]) -> Result<FleetScenario, String> {
    let format = Format::from_file_name(&path.to_string_lossy());
    if !sim_models::is_fleet_scenario(text, format) {
        return Err(format!(
            "`{}` is not a fleet scenario (no `regions`); the dashboard shows fleet scenarios, \
             run station networks with `fleetsim run`",
            path.display()
        ));
    }
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let read_file = |name: &str| -> Result<String, String> {
        let full = dir.join(name);
        fs::read_to_string(&full).map_err(|e| format!("cannot read `{}`: {e}", full.display()))
    };
    sim_models::load_fleet_scenario(text, format, overrides, &read_file)
        .map_err(|e| format!("invalid scenario `{}`: {e}", path.display()))
}

/// The scenario text with `overrides` applied, as TOML: the text itself
/// when there are none (comments kept), else the document re-written with
/// the overridden values (comments and layout are lost). The caller checks
/// the result by loading it.
pub fn effective_toml(text: &str, overrides: &[Override]) -> Result<String, String> {
    if overrides.is_empty() {
        return Ok(text.to_string());
    }
    let mut doc = text
        .parse::<toml::Table>()
        .map_err(|e| format!("the scenario text is not TOML: {e}"))?;
    for ov in overrides {
        apply_override(&mut doc, ov).map_err(|e| format!("`{ov}`: {e}"))?;
    }
    toml::to_string(&doc).map_err(|e| format!("cannot write TOML: {e}"))
}

/// One step of an override path.
enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

fn steps(path: &str) -> Result<Vec<Step<'_>>, String> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let (key, mut rest) = part.split_at(part.find('[').unwrap_or(part.len()));
        out.push(Step::Key(key));
        while let Some(after) = rest.strip_prefix('[') {
            let close = after.find(']').ok_or("`[` without `]`")?;
            let index = after[..close]
                .trim()
                .parse()
                .map_err(|_| format!("`[{}]` is not an index", &after[..close]))?;
            out.push(Step::Index(index));
            rest = &after[close + 1..];
        }
    }
    Ok(out)
}

/// `--set` semantics on a TOML tree: the value as TOML if it is one, else
/// a string; missing tables are created, array indices must exist.
fn apply_override(doc: &mut toml::Table, ov: &Override) -> Result<(), String> {
    let value = format!("v = {}", ov.value)
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(ov.value.clone()));
    let steps = steps(&ov.path)?;
    let mut root = toml::Value::Table(std::mem::take(doc));
    let result = set_at(&mut root, &steps, value);
    if let toml::Value::Table(t) = root {
        *doc = t;
    }
    result
}

fn set_at(at: &mut toml::Value, steps: &[Step<'_>], value: toml::Value) -> Result<(), String> {
    let Some((step, rest)) = steps.split_first() else {
        *at = value;
        return Ok(());
    };
    match (step, at) {
        (Step::Key(k), toml::Value::Table(t)) => {
            let child = t
                .entry((*k).to_string())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            set_at(child, rest, value)
        }
        (Step::Index(n), toml::Value::Array(a)) => {
            let len = a.len();
            let item = a
                .get_mut(*n)
                .ok_or_else(|| format!("index {n} is past the end ({len} entries)"))?;
            set_at(item, rest, value)
        }
        _ => Err("the path does not match the scenario's structure".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"
name = "x"
[run]
duration = "10min"
[[regions]]
name = "east"
[regions.balancer]
algorithm = "least_outstanding"
[[regions.groups]]
name = "web"
instances = 9
[regions.groups.autoscaling]
min = 2
max = 50
policy = { type = "target_tracking", metric = "cpu", target = 70 }
[[populations]]
name = "users"
rate = { profile = "constant", per_second = 1000 }
"#;

    #[test]
    fn form_reads_the_files_values_and_edits_become_overrides() {
        let mut form = Form::from_toml(TEXT);
        let paths: Vec<&str> = (form.sections.iter())
            .flat_map(|(_, f)| f)
            .map(|f| f.path.as_str())
            .collect();
        assert_eq!(
            paths,
            [
                "run.duration",
                "run.warmup",
                "populations[0].rate.per_second",
                "regions[0].balancer.algorithm",
                "regions[0].groups[0].instances",
                "regions[0].groups[0].autoscaling.min",
                "regions[0].groups[0].autoscaling.max",
                "regions[0].groups[0].autoscaling.policy.target",
            ]
        );
        assert_eq!(form.overrides().unwrap(), []);
        form.sections[0].1[0].value = "1min".into();
        form.extra = "run.seed=4\n\n".into();
        assert_eq!(
            form.overrides().unwrap(),
            [
                Override::new("run.duration", "1min"),
                Override::new("run.seed", "4")
            ]
        );
        form.extra = "nonsense".into();
        assert!(form.overrides().unwrap_err().contains("path=value"));
        form.reset();
        assert_eq!(form.overrides().unwrap(), []);
    }

    #[test]
    fn effective_toml_applies_overrides() {
        let out = effective_toml(
            TEXT,
            &[
                Override::new("run.duration", "1min"),
                Override::new("regions[0].groups[0].instances", "4"),
                Override::new("run.slo.target", "0.99"),
            ],
        )
        .unwrap();
        let doc: toml::Table = out.parse().unwrap();
        assert_eq!(doc["run"]["duration"].as_str(), Some("1min"));
        assert_eq!(doc["run"]["slo"]["target"].as_float(), Some(0.99));
        assert_eq!(
            doc["regions"][0]["groups"][0]["instances"].as_integer(),
            Some(4)
        );
        let bad = effective_toml(TEXT, &[Override::new("regions[3].name", "x")]);
        assert!(bad.unwrap_err().contains("past the end"));
        assert_eq!(effective_toml(TEXT, &[]).unwrap(), TEXT);
    }
}
