//! `--set path=value`: command-line overrides of scenario fields.
//!
//! An override names a field by its path, as error messages print it
//! (`run.duration`, `regions[0].groups[1].instances`,
//! `regions[0].balancer.algorithm`), and gives a value. The value is read as
//! a TOML value when it is one (`20`, `0.5`, `true`, `"text"`, `[1, 2]`,
//! `{ type = "constant", value = "90s" }`) and as a plain string otherwise
//! (`2h`, `p2c`, `us-east`). Overrides are applied, in order, to the parsed
//! document tree before it is checked, so an overridden value is checked
//! exactly like one written in the file; problems in it are reported as
//! "(set on the command line)" instead of with a line and column.

use std::fmt;
use std::str::FromStr;

use serde_json::{Map, Value};

/// One `--set path=value` override.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Override {
    /// Field path, e.g. `regions[0].groups[1].instances`.
    pub path: String,
    /// The value as typed (parsed as TOML if possible, else a string).
    pub value: String,
}

impl Override {
    /// An override from its two halves.
    pub fn new(path: impl Into<String>, value: impl Into<String>) -> Self {
        Override {
            path: path.into(),
            value: value.into(),
        }
    }

    /// Parses `path=value` (the first `=` separates them); the path must be
    /// well formed.
    pub fn parse(arg: &str) -> Result<Self, String> {
        let Some((path, value)) = arg.split_once('=') else {
            return Err(format!(
                "`--set {arg}`: expected `path=value`, e.g. `run.duration=2h` or `regions[0].groups[0].instances=20`"
            ));
        };
        let path = path.trim();
        parse_path(path).map_err(|m| format!("`--set {arg}`: {m}"))?;
        Ok(Override::new(path, value.trim()))
    }
}

impl FromStr for Override {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Override::parse(s)
    }
}

impl fmt::Display for Override {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.path, self.value)
    }
}

/// One step of a field path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Segment {
    /// A table key.
    Key(String),
    /// An array index.
    Index(usize),
}

/// Splits `a.b[2].c` into segments; the path starts with a key.
pub(crate) fn parse_path(path: &str) -> Result<Vec<Segment>, String> {
    let mut segments = Vec::new();
    let mut rest = path;
    if rest.is_empty() {
        return Err("the path is empty".into());
    }
    loop {
        let end = rest.find(['.', '[']).unwrap_or(rest.len());
        let key = &rest[..end];
        if key.is_empty() {
            return Err(format!(
                "`{path}` is not a field path: expected a field name at `{rest}`"
            ));
        }
        if key.contains([']', '=']) || key.chars().any(char::is_whitespace) {
            return Err(format!(
                "`{path}` is not a field path: bad field name `{key}`"
            ));
        }
        segments.push(Segment::Key(key.to_string()));
        rest = &rest[end..];
        while let Some(after) = rest.strip_prefix('[') {
            let Some(close) = after.find(']') else {
                return Err(format!("`{path}` is not a field path: `[` without `]`"));
            };
            let index = after[..close].trim().parse::<usize>().map_err(|_| {
                format!(
                    "`{path}` is not a field path: `[{}]` is not an index",
                    &after[..close]
                )
            })?;
            segments.push(Segment::Index(index));
            rest = &after[close + 1..];
        }
        if rest.is_empty() {
            return Ok(segments);
        }
        match rest.strip_prefix('.') {
            Some(after) => rest = after,
            None => {
                return Err(format!("`{path}` is not a field path: unexpected `{rest}`"));
            }
        }
    }
}

/// Writes segments back as `a.b[2].c`.
pub(crate) fn path_string(segments: &[Segment]) -> String {
    let mut out = String::new();
    for seg in segments {
        match seg {
            Segment::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Segment::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// The value of an override: a TOML value if the text is one, else the text
/// as a string.
pub(crate) fn override_value(text: &str) -> Value {
    match toml::de::DeValue::parse(text) {
        Ok(v) => super::load::toml_to_json(v.get_ref(), 0).unwrap_or_else(|_| text.into()),
        Err(_) => Value::String(text.to_string()),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "a table",
    }
}

/// Applies one override to the document tree, creating missing tables on
/// the way; returns the path's segments.
pub(crate) fn apply(doc: &mut Value, ov: &Override) -> Result<Vec<Segment>, String> {
    let segments = parse_path(&ov.path)?;
    let value = override_value(&ov.value);
    let mut at = doc;
    let mut walked = String::from("the scenario");
    let n = segments.len();
    for (i, seg) in segments.iter().enumerate() {
        let last = i + 1 == n;
        match seg {
            Segment::Key(key) => {
                let Value::Object(map) = at else {
                    return Err(format!(
                        "`{walked}` is {}, not a table: it has no field `{key}`",
                        kind(at)
                    ));
                };
                if last {
                    map.insert(key.clone(), value);
                    return Ok(segments);
                }
                if !map.contains_key(key) {
                    if let Some(Segment::Index(_)) = segments.get(i + 1) {
                        return Err(format!(
                            "`{}` is not in the scenario, so it cannot be indexed",
                            path_string(&segments[..=i])
                        ));
                    }
                    map.insert(key.clone(), Value::Object(Map::new()));
                }
                at = map.get_mut(key).expect("present or just inserted");
            }
            Segment::Index(index) => {
                let Value::Array(items) = at else {
                    return Err(format!(
                        "`{walked}` is {}, not an array: it cannot be indexed with [{index}]",
                        kind(at)
                    ));
                };
                let len = items.len();
                let Some(item) = items.get_mut(*index) else {
                    return Err(format!(
                        "index {index} is out of range: `{walked}` has {len} entr{}",
                        if len == 1 { "y" } else { "ies" }
                    ));
                };
                if last {
                    *item = value;
                    return Ok(segments);
                }
                at = item;
            }
        }
        walked = path_string(&segments[..=i]);
    }
    unreachable!("a parsed path has at least one segment")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_parse_and_print() {
        let p = parse_path("regions[0].groups[12].instances").unwrap();
        assert_eq!(
            p,
            vec![
                Segment::Key("regions".into()),
                Segment::Index(0),
                Segment::Key("groups".into()),
                Segment::Index(12),
                Segment::Key("instances".into()),
            ]
        );
        assert_eq!(path_string(&p), "regions[0].groups[12].instances");
        for bad in ["", "a..b", "a[x]", "a[1", ".a", "a.", "[0]", "a b"] {
            assert!(parse_path(bad).is_err(), "{bad}");
        }
        assert!(Override::parse("run.duration").is_err());
        let o: Override = "run.duration = 2h".parse().unwrap();
        assert_eq!(o, Override::new("run.duration", "2h"));
    }

    #[test]
    fn values_are_toml_or_strings() {
        assert_eq!(override_value("20"), json!(20));
        assert_eq!(override_value("0.5"), json!(0.5));
        assert_eq!(override_value("true"), json!(true));
        assert_eq!(override_value("2h"), json!("2h"));
        assert_eq!(override_value("p2c"), json!("p2c"));
        assert_eq!(override_value("\"20\""), json!("20"));
        assert_eq!(override_value("[\"a\", \"b\"]"), json!(["a", "b"]));
        assert_eq!(
            override_value("{ type = \"constant\", value = \"90s\" }"),
            json!({"type": "constant", "value": "90s"})
        );
        assert_eq!(override_value("1979-05-27"), json!("1979-05-27"));
    }

    #[test]
    fn apply_sets_creates_and_refuses() {
        let mut doc = json!({"run": {"duration": 60}, "regions": [{"name": "a"}]});
        apply(&mut doc, &Override::new("run.duration", "2h")).unwrap();
        apply(
            &mut doc,
            &Override::new("regions[0].balancer.algorithm", "p2c"),
        )
        .unwrap();
        assert_eq!(doc["run"]["duration"], json!("2h"));
        assert_eq!(doc["regions"][0]["balancer"]["algorithm"], json!("p2c"));
        let e = apply(&mut doc, &Override::new("regions[3].name", "x")).unwrap_err();
        assert_eq!(e, "index 3 is out of range: `regions` has 1 entry");
        let e = apply(&mut doc, &Override::new("run.duration.x", "1")).unwrap_err();
        assert_eq!(
            e,
            "`run.duration` is a string, not a table: it has no field `x`"
        );
        let e = apply(&mut doc, &Override::new("run[0]", "1")).unwrap_err();
        assert!(e.contains("`run` is a table, not an array"), "{e}");
        let e = apply(&mut doc, &Override::new("populations[0].name", "x")).unwrap_err();
        assert!(e.contains("`populations` is not in the scenario"), "{e}");
    }
}
