//! The results file of a sweep: JSON lines, one record per line.
//!
//! ```text
//! {"kind":"sweep", ...}                      header: what was swept, how
//! {"kind":"run","point":0,"seed":1,...}      one per point × seed
//! {"kind":"point","point":0,...}             one per point: mean and 95% CI
//! ```
//!
//! While a sweep runs, run lines are appended as runs finish (a journal, in
//! completion order), so a killed sweep loses only the runs in flight. When
//! every run is in, the file is rewritten in canonical order — header, runs
//! by (point, seed), then the point aggregates — so it is byte-identical
//! whatever `--jobs`, however often it was interrupted and resumed, and
//! whether it ran on one machine or as shards merged afterwards.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use sim_core::confidence;

/// Confidence level of every interval in a results file.
pub const CONFIDENCE: f64 = 0.95;

/// One line of a results file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Record {
    /// The header (first line).
    Sweep(SweepHeader),
    /// One run of one point on one seed.
    Run(RunRecord),
    /// The aggregate of one point over its seeds.
    Point(PointRecord),
}

/// What was swept and how; a resumed or merged sweep must match it exactly.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepHeader {
    /// Version of fleetsim that wrote the file.
    pub fleetsim_version: String,
    /// The scenario file, as given on the command line.
    pub scenario: String,
    /// Hash of the base scenario (after `--policy` and `--set`, before the
    /// swept parameters).
    pub scenario_hash: String,
    /// The `--set` overrides applied to every point, in order.
    pub set: Vec<String>,
    /// The `--policy` file applied to every point, if any.
    pub policy: Option<String>,
    /// The swept parameters, in command-line order.
    pub params: Vec<ParamHeader>,
    /// `grid`, `random` or `lhs`.
    pub design: String,
    /// Seed of the random and Latin-hypercube designs (the first run seed).
    pub design_seed: u64,
    /// Number of points in the whole sweep (every shard).
    pub points: usize,
    /// First run seed; seeds are `first_seed .. first_seed + seeds`.
    pub first_seed: u64,
    /// Seeds per point.
    pub seeds: u64,
    /// Which shard of the sweep this file holds (none: all of it).
    pub shard: Option<Shard>,
}

/// One swept parameter as given: `--param path=spec`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParamHeader {
    /// Scenario field path, as `--set` takes it.
    pub path: String,
    /// The value spec, e.g. `2,4,8`, `10:50:10`, `log:1:1000:4`.
    pub spec: String,
}

/// `--shard index/count`: this file holds the points whose index modulo
/// `count` is `index`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shard {
    /// This shard, from 0.
    pub index: u64,
    /// How many shards the sweep is cut into.
    pub count: u64,
}

impl Shard {
    /// Whether point `point` belongs to this shard.
    pub fn holds(&self, point: usize) -> bool {
        point as u64 % self.count == self.index
    }
}

/// One run: a point's parameter values on one seed, and its metrics or the
/// error that stopped it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunRecord {
    /// Index of the point in the design.
    pub point: usize,
    /// The run's seed.
    pub seed: u64,
    /// Value of each swept parameter, by path.
    pub params: BTreeMap<String, String>,
    /// Every metric by key (see `sweep::metrics`); absent on error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<BTreeMap<String, Option<f64>>>,
    /// Why the run produced no metrics (a bad value for this point, a
    /// failed check); absent on success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A mean over seeds with its 95% Student-t half-width.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Estimate {
    /// Mean over the runs with a value.
    pub mean: f64,
    /// Half-width of the 95% interval (none with fewer than two values).
    pub ci95: Option<f64>,
    /// Number of values.
    pub n: usize,
}

impl Estimate {
    /// The mean and interval of `xs`; none for no values.
    pub fn of(xs: &[f64]) -> Option<Estimate> {
        match xs {
            [] => None,
            [x] => Some(Estimate {
                mean: *x,
                ci95: None,
                n: 1,
            }),
            _ => {
                let ci = confidence::student_t_interval(xs, CONFIDENCE);
                Some(Estimate {
                    mean: ci.mean,
                    ci95: ci.half_width.is_finite().then_some(ci.half_width),
                    n: ci.n,
                })
            }
        }
    }
}

/// One point aggregated over its seeds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PointRecord {
    /// Index of the point in the design.
    pub point: usize,
    /// Value of each swept parameter, by path.
    pub params: BTreeMap<String, String>,
    /// Runs of this point (seeds).
    pub runs: usize,
    /// Runs that ended in an error.
    pub failed: usize,
    /// The first error, if any run failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Mean and interval of each metric over the successful runs (a metric
    /// undefined in every run is absent).
    pub metrics: BTreeMap<String, Estimate>,
}

impl PointRecord {
    /// The mean of metric `key`, if defined.
    pub fn mean(&self, key: &str) -> Option<f64> {
        self.metrics.get(key).map(|e| e.mean)
    }
}

/// A whole results file, parsed.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepResults {
    /// The header.
    pub header: SweepHeader,
    /// Every run found, in file order.
    pub runs: Vec<RunRecord>,
    /// Every point aggregate found (empty until the sweep completed).
    pub points: Vec<PointRecord>,
}

/// Why a results file cannot be read or combined.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ResultsError {
    /// The file is empty or its first line is not a header.
    #[error(
        "line 1: expected the sweep header (`{{\"kind\":\"sweep\",...}}`); is this a `fleetsim sweep` results file?"
    )]
    NoHeader,
    /// A complete line is not a valid record.
    #[error("line {line}: {message}")]
    BadLine {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        message: String,
    },
    /// Two sweeps that should be the same are not.
    #[error("{0}")]
    Mismatch(String),
}

/// What reading a results file found.
#[derive(Clone, Debug, PartialEq)]
pub struct ParsedFile {
    /// The records.
    pub results: SweepResults,
    /// Bytes of complete lines: anything after (a line cut short when the
    /// sweep was killed) is to be dropped before appending.
    pub complete_len: usize,
}

/// Parses a results file. A last line without its newline (a run being
/// written when the process was killed) is ignored; every complete line
/// must be a valid record.
pub fn parse_results(text: &str) -> Result<ParsedFile, ResultsError> {
    let complete_len = text.rfind('\n').map_or(0, |i| i + 1);
    let mut lines = text[..complete_len].lines().enumerate();
    let header = match lines.next() {
        Some((_, line)) => match serde_json::from_str::<Record>(line) {
            Ok(Record::Sweep(h)) => h,
            _ => return Err(ResultsError::NoHeader),
        },
        None => return Err(ResultsError::NoHeader),
    };
    let mut runs = Vec::new();
    let mut points = Vec::new();
    for (i, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Record>(line) {
            Ok(Record::Run(r)) => runs.push(r),
            Ok(Record::Point(p)) => points.push(p),
            Ok(Record::Sweep(_)) => {
                return Err(ResultsError::BadLine {
                    line: i + 1,
                    message: "a second sweep header (two results files concatenated? use `fleetsim merge`)".into(),
                });
            }
            Err(e) => {
                return Err(ResultsError::BadLine {
                    line: i + 1,
                    message: e.to_string(),
                });
            }
        }
    }
    Ok(ParsedFile {
        results: SweepResults {
            header,
            runs,
            points,
        },
        complete_len,
    })
}

/// One record as its line (with the newline).
pub fn record_line(record: &Record) -> String {
    let mut s = serde_json::to_string(record).expect("results records always serialize");
    s.push('\n');
    s
}

/// The aggregate of each point over its runs, by point index; runs are
/// taken in seed order so the sums, and so the bytes, never depend on the
/// order runs finished in.
pub fn aggregate(runs: &[RunRecord]) -> Vec<PointRecord> {
    let mut by_point: BTreeMap<usize, Vec<&RunRecord>> = BTreeMap::new();
    for r in runs {
        by_point.entry(r.point).or_default().push(r);
    }
    by_point
        .into_iter()
        .map(|(point, mut rs)| {
            rs.sort_by_key(|r| r.seed);
            let mut values: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
            for m in rs.iter().filter_map(|r| r.metrics.as_ref()) {
                for (k, v) in m {
                    if let Some(v) = v {
                        values.entry(k.as_str()).or_default().push(*v);
                    }
                }
            }
            PointRecord {
                point,
                params: rs[0].params.clone(),
                runs: rs.len(),
                failed: rs.iter().filter(|r| r.error.is_some()).count(),
                error: rs.iter().find_map(|r| r.error.clone()),
                metrics: values
                    .into_iter()
                    .filter_map(|(k, xs)| Some((k.to_string(), Estimate::of(&xs)?)))
                    .collect(),
            }
        })
        .collect()
}

/// The canonical text of a finished sweep: the header, the runs by
/// (point, seed) with duplicates dropped, then each point's aggregate.
pub fn canonical_text(header: &SweepHeader, runs: &[RunRecord]) -> String {
    let mut runs: Vec<RunRecord> = runs.to_vec();
    runs.sort_by_key(|r| (r.point, r.seed));
    runs.dedup_by_key(|r| (r.point, r.seed));
    let mut out = record_line(&Record::Sweep(header.clone()));
    for r in &runs {
        out.push_str(&record_line(&Record::Run(r.clone())));
    }
    for p in aggregate(&runs) {
        out.push_str(&record_line(&Record::Point(p)));
    }
    out
}

/// Combines the files of every shard of one sweep into the results of the
/// whole sweep, exactly as one machine would have written them: the shards
/// must have equal headers but for `shard`, cover `0..count` once each, and
/// be complete.
pub fn merge(shards: &[SweepResults]) -> Result<(SweepHeader, Vec<RunRecord>), ResultsError> {
    let Some(first) = shards.first() else {
        return Err(ResultsError::Mismatch("no results files to merge".into()));
    };
    let Some(count) = first.header.shard.map(|s| s.count) else {
        return Err(ResultsError::Mismatch(
            "the first file is not a shard (its header has no `shard`)".into(),
        ));
    };
    let base = SweepHeader {
        shard: None,
        ..first.header.clone()
    };
    let mut seen = vec![false; count as usize];
    for (i, s) in shards.iter().enumerate() {
        let Some(shard) = s.header.shard else {
            return Err(ResultsError::Mismatch(format!(
                "file {} is not a shard (its header has no `shard`)",
                i + 1
            )));
        };
        let mut header = s.header.clone();
        header.shard = None;
        if let Some(field) = header_difference(&base, &header) {
            return Err(ResultsError::Mismatch(format!(
                "file {} is from a different sweep: its `{field}` differs from file 1's",
                i + 1
            )));
        }
        if shard.count != count {
            return Err(ResultsError::Mismatch(format!(
                "file {} is shard {}/{} but file 1 is one of {count}",
                i + 1,
                shard.index,
                shard.count
            )));
        }
        if std::mem::replace(&mut seen[shard.index as usize], true) {
            return Err(ResultsError::Mismatch(format!(
                "shard {}/{count} is given twice",
                shard.index
            )));
        }
        let missing = missing_runs(&s.header, &s.runs);
        if missing > 0 {
            return Err(ResultsError::Mismatch(format!(
                "shard {}/{count} is unfinished ({missing} runs missing): finish it with `fleetsim sweep ... --shard {}/{count} --resume FILE`",
                shard.index, shard.index
            )));
        }
    }
    if let Some(missing) = seen.iter().position(|s| !s) {
        return Err(ResultsError::Mismatch(format!(
            "shard {missing}/{count} is missing"
        )));
    }
    let runs = shards.iter().flat_map(|s| s.runs.iter().cloned()).collect();
    Ok((base, runs))
}

/// The first header field in which `a` and `b` differ, if any.
pub fn header_difference(a: &SweepHeader, b: &SweepHeader) -> Option<&'static str> {
    let fields: [(&'static str, bool); 12] = [
        ("fleetsim_version", a.fleetsim_version == b.fleetsim_version),
        ("scenario", a.scenario == b.scenario),
        ("scenario_hash", a.scenario_hash == b.scenario_hash),
        ("set", a.set == b.set),
        ("policy", a.policy == b.policy),
        ("params", a.params == b.params),
        ("design", a.design == b.design),
        ("design_seed", a.design_seed == b.design_seed),
        ("points", a.points == b.points),
        ("first_seed", a.first_seed == b.first_seed),
        ("seeds", a.seeds == b.seeds),
        ("shard", a.shard == b.shard),
    ];
    fields.iter().find(|(_, same)| !same).map(|(f, _)| *f)
}

/// How many (point, seed) runs the header calls for that `runs` lacks.
pub fn missing_runs(header: &SweepHeader, runs: &[RunRecord]) -> usize {
    let expected = (0..header.points)
        .filter(|p| header.shard.is_none_or(|s| s.holds(*p)))
        .count()
        * header.seeds as usize;
    let mut done: Vec<(usize, u64)> = runs.iter().map(|r| (r.point, r.seed)).collect();
    done.sort_unstable();
    done.dedup();
    expected.saturating_sub(done.len())
}

/// Quotes a CSV field when it needs it (RFC 4180).
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Per-run CSV: `point,seed,<param paths…>,<metric keys…>,error`.
pub fn runs_csv(header: &SweepHeader, runs: &[RunRecord], metric_keys: &[&str]) -> String {
    let mut out = String::from("point,seed");
    for p in &header.params {
        out.push(',');
        out.push_str(&csv_field(&p.path));
    }
    for k in metric_keys {
        out.push(',');
        out.push_str(k);
    }
    out.push_str(",error\n");
    for r in runs {
        let _ = write!(out, "{},{}", r.point, r.seed);
        for p in &header.params {
            out.push(',');
            out.push_str(&csv_field(r.params.get(&p.path).map_or("", String::as_str)));
        }
        for k in metric_keys {
            out.push(',');
            if let Some(Some(v)) = r.metrics.as_ref().and_then(|m| m.get(*k)) {
                let _ = write!(out, "{v}");
            }
        }
        out.push(',');
        out.push_str(&csv_field(r.error.as_deref().unwrap_or("")));
        out.push('\n');
    }
    out
}

/// Per-point CSV: `point,<param paths…>,runs,failed,<key>_mean,<key>_ci95…`.
pub fn points_csv(header: &SweepHeader, points: &[PointRecord], metric_keys: &[&str]) -> String {
    let mut out = String::from("point");
    for p in &header.params {
        out.push(',');
        out.push_str(&csv_field(&p.path));
    }
    out.push_str(",runs,failed");
    for k in metric_keys {
        let _ = write!(out, ",{k}_mean,{k}_ci95");
    }
    out.push('\n');
    for pt in points {
        let _ = write!(out, "{}", pt.point);
        for p in &header.params {
            out.push(',');
            out.push_str(&csv_field(
                pt.params.get(&p.path).map_or("", String::as_str),
            ));
        }
        let _ = write!(out, ",{},{}", pt.runs, pt.failed);
        for k in metric_keys {
            match pt.metrics.get(*k) {
                Some(e) => {
                    let _ = write!(out, ",{}", e.mean);
                    match e.ci95 {
                        Some(h) => {
                            let _ = write!(out, ",{h}");
                        }
                        None => out.push(','),
                    }
                }
                None => out.push_str(",,"),
            }
        }
        out.push('\n');
    }
    out
}
