//! Policy files for `fleetsim compare`: a named autoscaling setup that is
//! put into a scenario's groups, so several policies can be run on the same
//! fleet and the same traffic.
//!
//! ```toml
//! name = "hpa-default"                 # default: the file name
//! description = "Kubernetes HPA, CPU 70 %, default behavior"
//! groups = ["us-east/api"]             # default: every autoscaled group
//! [autoscaling]                        # a group's `autoscaling` table
//! min = 2
//! max = 40
//! policy = { type = "hpa", metrics = [{ type = "cpu", target_utilization = 70 }] }
//! ```
//!
//! The `autoscaling` table replaces the target groups' own; it is checked
//! with the scenario, and a problem in it is reported with the group's path
//! and "(from policy file …)".

use serde_json::Value;
use toml::de::DeTable;

use super::load::table_to_json;
use super::overrides::Segment;
use crate::scenario::{ScenarioError, line_column};

/// Largest policy file accepted, in bytes.
pub const MAX_POLICY_FILE_BYTES: usize = 256 * 1024;

/// A parsed policy file.
#[derive(Clone, Debug, PartialEq)]
pub struct PolicyFile {
    /// The policy's name in comparison tables.
    pub name: String,
    /// Free text.
    pub description: String,
    /// Target groups as `region/group`; `None`: every group that has an
    /// `autoscaling` table (every group if none has).
    pub groups: Option<Vec<String>>,
    /// Where it came from, for messages (e.g. `policy file hpa.toml`).
    pub origin: String,
    /// The `autoscaling` table, as a document tree.
    pub(crate) autoscaling: Value,
}

fn error(
    label: &str,
    path: &str,
    location: Option<(usize, usize)>,
    message: String,
) -> ScenarioError {
    ScenarioError::Syntax {
        path: path.to_string(),
        location,
        message: format!("{message} (in policy file {label})"),
    }
}

impl PolicyFile {
    /// Parses a policy file's TOML text; `label` names it in messages and
    /// is the default name (pass the file name without its extension).
    pub fn parse(text: &str, label: &str) -> Result<PolicyFile, ScenarioError> {
        if text.len() > MAX_POLICY_FILE_BYTES {
            return Err(error(
                label,
                "policy",
                None,
                format!(
                    "file is {} bytes, more than the {MAX_POLICY_FILE_BYTES} allowed",
                    text.len()
                ),
            ));
        }
        let table = DeTable::parse(text).map_err(|e| {
            error(
                label,
                "policy",
                e.span().map(|s| line_column(text, s.start)),
                e.message().trim().to_string(),
            )
        })?;
        let key_at = |name: &str| {
            table
                .get_ref()
                .iter()
                .find(|(k, _)| k.get_ref() == name)
                .map(|(k, _)| line_column(text, k.span().start))
        };
        let tree = table_to_json(table.get_ref(), 0)
            .map_err(|(path, message)| error(label, &path, None, message))?;
        let Value::Object(map) = tree else {
            return Err(error(label, "policy", None, "expected a table".into()));
        };
        let mut name = label.to_string();
        let mut description = String::new();
        let mut groups = None;
        let mut autoscaling = None;
        for (key, value) in map {
            let at = key_at(&key);
            match (key.as_str(), value) {
                ("name", Value::String(s)) if !s.trim().is_empty() => name = s,
                ("description", Value::String(s)) => description = s,
                ("groups", Value::Array(items)) => {
                    let mut list = Vec::with_capacity(items.len());
                    for (i, item) in items.into_iter().enumerate() {
                        match item {
                            Value::String(s) if s.split_once('/').is_some() => list.push(s),
                            other => {
                                return Err(error(
                                    label,
                                    &format!("groups[{i}]"),
                                    at,
                                    format!("expected \"region/group\", got {other}"),
                                ));
                            }
                        }
                    }
                    groups = Some(list);
                }
                ("autoscaling", v @ Value::Object(_)) => autoscaling = Some(v),
                ("name" | "description", v) => {
                    return Err(error(
                        label,
                        &key,
                        at,
                        format!("expected a non-empty string, got {v}"),
                    ));
                }
                ("groups", v) => {
                    return Err(error(
                        label,
                        &key,
                        at,
                        format!("expected a list of \"region/group\" names, got {v}"),
                    ));
                }
                ("autoscaling", v) => {
                    return Err(error(label, &key, at, format!("expected a table, got {v}")));
                }
                (other, _) => {
                    return Err(error(
                        label,
                        other,
                        at,
                        format!(
                            "unknown field `{other}`, expected one of `name`, `description`, `groups`, `autoscaling`"
                        ),
                    ));
                }
            }
        }
        let Some(autoscaling) = autoscaling else {
            return Err(error(
                label,
                "autoscaling",
                None,
                "missing the `[autoscaling]` table".into(),
            ));
        };
        Ok(PolicyFile {
            name,
            description,
            groups,
            origin: format!("policy file {label}"),
            autoscaling,
        })
    }

    /// Puts the policy into the scenario document `doc`; returns the paths
    /// it set (for error locations).
    pub(crate) fn apply(&self, doc: &mut Value) -> Result<Vec<Vec<Segment>>, String> {
        let mut targets = Vec::new();
        let regions = doc
            .get("regions")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut all = Vec::new();
        let mut autoscaled = Vec::new();
        for (r, region) in regions.iter().enumerate() {
            let rname = region.get("name").and_then(Value::as_str).unwrap_or("");
            for (g, group) in region
                .get("groups")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                let gname = group.get("name").and_then(Value::as_str).unwrap_or("");
                let entry = (format!("{rname}/{gname}"), r, g);
                if group.get("autoscaling").is_some() {
                    autoscaled.push(entry.clone());
                }
                all.push(entry);
            }
        }
        match &self.groups {
            Some(names) => {
                for name in names {
                    match all.iter().find(|(n, _, _)| n == name) {
                        Some(&(_, r, g)) => targets.push((r, g)),
                        None => {
                            return Err(format!(
                                "{}: the scenario has no group `{name}` (groups: {})",
                                self.origin,
                                all.iter()
                                    .map(|(n, _, _)| n.as_str())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ));
                        }
                    }
                }
            }
            None => {
                let from = if autoscaled.is_empty() {
                    &all
                } else {
                    &autoscaled
                };
                targets.extend(from.iter().map(|&(_, r, g)| (r, g)));
            }
        }
        if targets.is_empty() {
            return Err(format!(
                "{}: the scenario has no instance group to apply it to",
                self.origin
            ));
        }
        let mut paths = Vec::new();
        for (r, g) in targets {
            if let Some(group) = doc
                .get_mut("regions")
                .and_then(|v| v.get_mut(r))
                .and_then(|v| v.get_mut("groups"))
                .and_then(|v| v.get_mut(g))
                .and_then(Value::as_object_mut)
            {
                group.insert("autoscaling".into(), self.autoscaling.clone());
                paths.push(vec![
                    Segment::Key("regions".into()),
                    Segment::Index(r),
                    Segment::Key("groups".into()),
                    Segment::Index(g),
                    Segment::Key("autoscaling".into()),
                ]);
            }
        }
        Ok(paths)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_refuses_unknown_fields() {
        let p =
            PolicyFile::parse("name = \"x\"\n[autoscaling]\nmin = 1\nmax = 4\n", "x-file").unwrap();
        assert_eq!(p.name, "x");
        assert_eq!(p.origin, "policy file x-file");
        let e = PolicyFile::parse("nmae = 1\n[autoscaling]\nmin = 1\n", "bad").unwrap_err();
        let text = e.to_string();
        assert!(text.contains("unknown field `nmae`"), "{text}");
        assert!(text.contains("bad"), "{text}");
        let e = PolicyFile::parse("name = \"x\"\n", "bad").unwrap_err();
        assert!(e.to_string().contains("[autoscaling]"));
        let e = PolicyFile::parse("groups = [\"api\"]\n[autoscaling]\n", "bad").unwrap_err();
        assert!(e.to_string().contains("region/group"), "{e}");
    }

    #[test]
    fn applies_to_autoscaled_groups_or_named_ones() {
        let doc = || {
            serde_json::json!({"regions": [
                {"name": "a", "groups": [{"name": "x"}, {"name": "y", "autoscaling": {}}]},
                {"name": "b", "groups": [{"name": "x"}]}
            ]})
        };
        let p = PolicyFile::parse("[autoscaling]\nmin = 1\n", "p").unwrap();
        let mut d = doc();
        assert_eq!(p.apply(&mut d).unwrap().len(), 1);
        assert_eq!(d["regions"][0]["groups"][1]["autoscaling"]["min"], 1);
        assert!(d["regions"][0]["groups"][0].get("autoscaling").is_none());
        let p = PolicyFile::parse("groups = [\"b/x\"]\n[autoscaling]\nmin = 1\n", "p").unwrap();
        let mut d = doc();
        p.apply(&mut d).unwrap();
        assert_eq!(d["regions"][1]["groups"][0]["autoscaling"]["min"], 1);
        let p = PolicyFile::parse("groups = [\"b/z\"]\n[autoscaling]\n", "p").unwrap();
        assert!(p.apply(&mut doc()).unwrap_err().contains("no group `b/z`"));
    }
}
