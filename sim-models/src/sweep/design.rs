//! What a sweep runs: its parameters (`--param path=spec`) and the points a
//! design picks from them.
//!
//! A spec is a list (`2,4,8` or `p2c,least_outstanding`), a linear range
//! `start:stop:step` (stop included when a step lands on it; `10s:60s:10s`
//! keeps a common unit suffix), a range without a step `start:stop` (for
//! random and Latin-hypercube designs only), or a log range
//! `log:start:stop:count` (`count` values evenly spaced in log scale; whole
//! numbers when both ends are). Designs: the full grid (every combination,
//! the first parameter varying slowest), `random` (each value drawn
//! independently) and `lhs` (Latin hypercube: each parameter's range cut
//! into as many strata as points, one point per stratum). Random draws come
//! from their own stream of the sweep's first seed, so a design is a pure
//! function of the command line.

use sim_core::rng::{RngStreams, StreamKey, StreamRng, uniform_open01};

use crate::Override;
use rand::Rng;

/// Most values one parameter may have.
pub const MAX_LEVELS: usize = 100_000;
/// Most points one sweep may have (over every shard).
pub const MAX_POINTS: usize = 1_000_000;

/// One swept parameter: a scenario field path and the values it takes.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamSpec {
    /// Field path, as `--set` takes it.
    pub path: String,
    /// The spec as typed.
    pub spec: String,
    values: Values,
}

/// The values of a parameter.
#[derive(Clone, Debug, PartialEq)]
enum Values {
    /// Given one by one.
    List(Vec<String>),
    /// `start:stop[:step]`: numbers with `decimals` decimals and a unit
    /// suffix.
    Linear {
        start: f64,
        stop: f64,
        step: Option<f64>,
        decimals: usize,
        suffix: String,
    },
    /// `log:start:stop:count`.
    Log {
        start: f64,
        stop: f64,
        count: usize,
        whole: bool,
        suffix: String,
    },
}

/// A number as typed, split into (value, decimals typed, unit suffix):
/// `30s` → (30, 0, "s"), `0.25` → (0.25, 2, "").
fn number(text: &str, what: &str) -> Result<(f64, usize, String), String> {
    let text = text.trim();
    let end = text
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E')))
        .unwrap_or(text.len());
    let (num, suffix) = text.split_at(end);
    let x: f64 = num.parse().map_err(|_| {
        format!("{what} `{text}` is not a number (optionally with a unit, e.g. `30s`)")
    })?;
    if !x.is_finite() {
        return Err(format!("{what} `{text}` is not finite"));
    }
    let decimals = num.split_once('.').map_or(0, |(_, frac)| {
        frac.chars().take_while(char::is_ascii_digit).count()
    });
    Ok((x, decimals, suffix.to_string()))
}

/// The one unit suffix of several numbers, or an error naming both.
fn common_suffix(parts: &[&(f64, usize, String)], spec: &str) -> Result<String, String> {
    let first = &parts[0].2;
    if let Some(other) = parts.iter().find(|p| &p.2 != first) {
        return Err(format!(
            "`{spec}` mixes units `{first}` and `{}`; write every bound in one unit",
            other.2
        ));
    }
    Ok(first.clone())
}

/// `x` with `decimals` decimals, then the suffix.
fn fixed(x: f64, decimals: usize, suffix: &str) -> String {
    format!("{x:.decimals$}{suffix}")
}

/// `x` rounded to 6 significant digits, shortest form.
fn significant(x: f64) -> String {
    if x == 0.0 {
        return "0".into();
    }
    let digits = 6 - 1 - x.abs().log10().floor() as i32;
    let scale = 10f64.powi(digits);
    format!("{}", (x * scale).round() / scale)
}

impl ParamSpec {
    /// Parses `path=spec`; the path must be one `--set` accepts.
    pub fn parse(arg: &str) -> Result<ParamSpec, String> {
        let Some((path, spec)) = arg.split_once('=') else {
            return Err(format!(
                "`--param {arg}`: expected `path=spec`, e.g. `regions[0].groups[0].instances=4,8,16` or `run.seed=1:10:1`"
            ));
        };
        let (path, spec) = (path.trim(), spec.trim());
        Override::parse(&format!("{path}=0")).map_err(|e| format!("`--param {arg}`: {e}"))?;
        let values = Self::parse_values(spec).map_err(|e| format!("`--param {arg}`: {e}"))?;
        Ok(ParamSpec {
            path: path.to_string(),
            spec: spec.to_string(),
            values,
        })
    }

    fn parse_values(spec: &str) -> Result<Values, String> {
        if spec.is_empty() {
            return Err("no values given".into());
        }
        if let Some(rest) = spec.strip_prefix("log:") {
            let parts: Vec<&str> = rest.split(':').collect();
            let [a, b, n] = parts[..] else {
                return Err(format!(
                    "log range `{spec}`: expected `log:start:stop:count`, e.g. `log:1:1000:4`"
                ));
            };
            let (a, b) = (number(a, "start")?, number(b, "stop")?);
            let suffix = common_suffix(&[&a, &b], spec)?;
            let count: usize = n
                .trim()
                .parse()
                .map_err(|_| format!("log range `{spec}`: count `{n}` is not a whole number"))?;
            if !(2..=MAX_LEVELS).contains(&count) {
                return Err(format!(
                    "log range `{spec}`: count must be 2 to {MAX_LEVELS}, got {count}"
                ));
            }
            if a.0 <= 0.0 || b.0 <= a.0 {
                return Err(format!(
                    "log range `{spec}`: needs 0 < start < stop, got {} and {}",
                    a.0, b.0
                ));
            }
            return Ok(Values::Log {
                start: a.0,
                stop: b.0,
                count,
                whole: a.1 == 0 && b.1 == 0 && a.0.fract() == 0.0 && b.0.fract() == 0.0,
                suffix,
            });
        }
        // A list unless it is two or three numbers separated by colons (a
        // list value like `{ a = 1 }` or `12:30` would need quoting anyway).
        let parts: Vec<&str> = spec.split(':').collect();
        if !spec.contains(',') && (parts.len() == 2 || parts.len() == 3) {
            let nums: Result<Vec<_>, String> = parts
                .iter()
                .zip(["start", "stop", "step"])
                .map(|(p, what)| number(p, what))
                .collect();
            if let Ok(nums) = nums {
                let refs: Vec<&(f64, usize, String)> = nums.iter().collect();
                let suffix = common_suffix(&refs, spec)?;
                let (start, stop) = (nums[0].0, nums[1].0);
                if stop < start {
                    return Err(format!(
                        "range `{spec}`: stop {stop} is below start {start}"
                    ));
                }
                let step = nums.get(2).map(|s| s.0);
                if let Some(step) = step {
                    if step <= 0.0 {
                        return Err(format!("range `{spec}`: the step must be positive"));
                    }
                    let levels = ((stop - start) / step + 1e-9).floor() + 1.0;
                    if levels > MAX_LEVELS as f64 {
                        return Err(format!(
                            "range `{spec}` has {levels} values, more than the {MAX_LEVELS} allowed"
                        ));
                    }
                }
                return Ok(Values::Linear {
                    start,
                    stop,
                    step,
                    decimals: nums.iter().map(|n| n.1).max().unwrap_or(0),
                    suffix,
                });
            }
        }
        let items: Vec<String> = spec.split(',').map(|s| s.trim().to_string()).collect();
        if items.iter().any(String::is_empty) {
            return Err(format!("list `{spec}` has an empty value"));
        }
        if items.len() > MAX_LEVELS {
            return Err(format!(
                "list has {} values, more than the {MAX_LEVELS} allowed",
                items.len()
            ));
        }
        Ok(Values::List(items))
    }

    /// Every value, in order (what the grid design takes); an error for a
    /// range without a step.
    pub fn levels(&self) -> Result<Vec<String>, String> {
        match &self.values {
            Values::List(items) => Ok(items.clone()),
            Values::Linear {
                start,
                stop,
                step: Some(step),
                decimals,
                suffix,
            } => {
                let n = ((stop - start) / step + 1e-9).floor() as usize + 1;
                Ok((0..n)
                    .map(|i| fixed(start + i as f64 * step, *decimals, suffix))
                    .collect())
            }
            Values::Linear { step: None, .. } => Err(format!(
                "`{}={}`: a range without a step has no grid; add one (`start:stop:step`) or use `--design random` or `lhs`",
                self.path, self.spec
            )),
            Values::Log {
                start,
                stop,
                count,
                whole,
                suffix,
            } => {
                let mut out: Vec<String> = (0..*count)
                    .map(|i| {
                        let t = i as f64 / (*count - 1) as f64;
                        self.log_value(*start, *stop, t, *whole, suffix)
                    })
                    .collect();
                out.dedup();
                Ok(out)
            }
        }
    }

    fn log_value(&self, start: f64, stop: f64, t: f64, whole: bool, suffix: &str) -> String {
        let x = (start.ln() + t * (stop.ln() - start.ln())).exp();
        if whole {
            format!("{}{suffix}", x.round())
        } else {
            format!("{}{suffix}", significant(x))
        }
    }

    /// The value at quantile `u` ∈ [0, 1) of the parameter's range: a level
    /// of a list or stepped range chosen uniformly, a stepless range drawn
    /// uniformly, a log range log-uniformly.
    fn at_quantile(&self, u: f64) -> String {
        match &self.values {
            Values::Linear {
                start,
                stop,
                step: None,
                suffix,
                ..
            } => format!("{}{suffix}", significant(start + u * (stop - start))),
            Values::Log {
                start,
                stop,
                whole,
                suffix,
                ..
            } => self.log_value(*start, *stop, u, *whole, suffix),
            _ => {
                let levels = self.levels().expect("lists and stepped ranges have levels");
                let i = ((u * levels.len() as f64) as usize).min(levels.len() - 1);
                levels[i].clone()
            }
        }
    }
}

/// How points are picked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Design {
    /// Every combination of every parameter's levels.
    Grid,
    /// `points` points, each value drawn independently.
    Random {
        /// Number of points.
        points: usize,
    },
    /// `points` points in a Latin hypercube.
    LatinHypercube {
        /// Number of points.
        points: usize,
    },
}

impl Design {
    /// The design's name in results files: `grid`, `random`, `lhs`.
    pub fn name(&self) -> &'static str {
        match self {
            Design::Grid => "grid",
            Design::Random { .. } => "random",
            Design::LatinHypercube { .. } => "lhs",
        }
    }
}

/// One point: a value for every parameter, in parameter order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Point {
    /// Index in the design, from 0.
    pub index: usize,
    /// `(path, value)` for each parameter.
    pub values: Vec<(String, String)>,
}

impl Point {
    /// The point's values as `--set` overrides.
    pub fn overrides(&self) -> Vec<Override> {
        self.values
            .iter()
            .map(|(p, v)| Override::new(p.clone(), v.clone()))
            .collect()
    }
}

/// A uniform index below `n` (multiply-shift; bias below 2⁻⁴⁰ for the sizes
/// allowed here), written out so designs never change with `rand`.
fn index_below(rng: &mut StreamRng, n: usize) -> usize {
    ((u128::from(rng.next_u64()) * n as u128) >> 64) as usize
}

/// The points of `design` over `params`, drawing from the stream
/// `sweep.design` of `seed`.
pub fn plan(params: &[ParamSpec], design: Design, seed: u64) -> Result<Vec<Point>, String> {
    if params.is_empty() {
        return Err("give at least one `--param path=spec`".into());
    }
    for (i, p) in params.iter().enumerate() {
        if params[..i].iter().any(|q| q.path == p.path) {
            return Err(format!("`--param {}` is given twice", p.path));
        }
    }
    let mut rng = RngStreams::new(seed).stream(StreamKey::named("sweep.design"));
    let rows: Vec<Vec<String>> = match design {
        Design::Grid => {
            let levels: Vec<Vec<String>> = params
                .iter()
                .map(ParamSpec::levels)
                .collect::<Result<_, _>>()?;
            let total = levels
                .iter()
                .try_fold(1usize, |acc, l| acc.checked_mul(l.len()))
                .filter(|&t| t <= MAX_POINTS)
                .ok_or_else(|| {
                    let sizes: Vec<String> = levels.iter().map(|l| l.len().to_string()).collect();
                    format!(
                        "the grid has {} points, more than the {MAX_POINTS} allowed; use fewer values or `--design lhs --points N`",
                        sizes.join(" × ")
                    )
                })?;
            (0..total)
                .map(|mut i| {
                    let mut row = vec![String::new(); levels.len()];
                    for (j, l) in levels.iter().enumerate().rev() {
                        row[j] = l[i % l.len()].clone();
                        i /= l.len();
                    }
                    row
                })
                .collect()
        }
        Design::Random { points } | Design::LatinHypercube { points } => {
            if points == 0 || points > MAX_POINTS {
                return Err(format!(
                    "`--points` must be 1 to {MAX_POINTS}, got {points}"
                ));
            }
            let mut u = vec![vec![0.0; params.len()]; points];
            if let Design::LatinHypercube { .. } = design {
                for j in 0..params.len() {
                    let mut strata: Vec<usize> = (0..points).collect();
                    for i in (1..points).rev() {
                        strata.swap(i, index_below(&mut rng, i + 1));
                    }
                    for (i, row) in u.iter_mut().enumerate() {
                        row[j] = (strata[i] as f64 + uniform_open01(&mut rng)) / points as f64;
                    }
                }
            } else {
                for row in &mut u {
                    for x in row.iter_mut() {
                        *x = uniform_open01(&mut rng);
                    }
                }
            }
            u.iter()
                .map(|row| {
                    params
                        .iter()
                        .zip(row)
                        .map(|(p, &x)| p.at_quantile(x))
                        .collect()
                })
                .collect()
        }
    };
    Ok(rows
        .into_iter()
        .enumerate()
        .map(|(index, row)| Point {
            index,
            values: params.iter().map(|p| p.path.clone()).zip(row).collect(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn levels(arg: &str) -> Vec<String> {
        ParamSpec::parse(arg).unwrap().levels().unwrap()
    }

    #[test]
    fn lists_ranges_and_log_ranges() {
        assert_eq!(levels("a.b=p2c, random"), ["p2c", "random"]);
        assert_eq!(levels("x=2:10:4"), ["2", "6", "10"]);
        assert_eq!(levels("x=2:11:4"), ["2", "6", "10"]);
        assert_eq!(levels("x=0.5:0.9:0.1"), ["0.5", "0.6", "0.7", "0.8", "0.9"]);
        assert_eq!(levels("run.duration=30s:90s:30s"), ["30s", "60s", "90s"]);
        assert_eq!(levels("x=log:1:1000:4"), ["1", "10", "100", "1000"]);
        assert_eq!(
            levels("x=log:1:4:5"),
            ["1", "2", "3", "4"],
            "whole values deduplicated"
        );
        assert_eq!(levels("x=log:0.1:10:3"), ["0.1", "1", "10"]);
    }

    #[test]
    fn bad_specs_say_why() {
        for (arg, needle) in [
            ("nopath", "expected `path=spec`"),
            ("a..b=1", "--param a..b=1"),
            ("x=", "no values"),
            ("x=1,,2", "empty value"),
            ("x=10:1:1", "below start"),
            ("x=1:10:0", "step must be positive"),
            ("x=1s:10ms:1s", "mixes units"),
            ("x=log:0:10:3", "0 < start < stop"),
            ("x=log:1:10:1", "count must be 2"),
            ("x=log:1:10", "expected `log:start:stop:count`"),
            ("x=0:1e9:1", "more than the"),
        ] {
            let err = ParamSpec::parse(arg).unwrap_err();
            assert!(err.contains(needle), "{arg}: {err}");
        }
        let stepless = ParamSpec::parse("x=0:1").unwrap();
        assert!(stepless.levels().unwrap_err().contains("without a step"));
    }

    #[test]
    fn grid_varies_the_last_parameter_fastest() {
        let params = [
            ParamSpec::parse("a=1,2").unwrap(),
            ParamSpec::parse("b=x,y,z").unwrap(),
        ];
        let points = plan(&params, Design::Grid, 1).unwrap();
        let flat: Vec<String> = points
            .iter()
            .map(|p| format!("{}{}", p.values[0].1, p.values[1].1))
            .collect();
        assert_eq!(flat, ["1x", "1y", "1z", "2x", "2y", "2z"]);
        assert_eq!(points[4].index, 4);
        assert_eq!(points[4].overrides()[1], Override::new("b", "y"));
    }

    #[test]
    fn lhs_puts_one_point_in_each_stratum_and_is_reproducible() {
        let params = [
            ParamSpec::parse("a=0:1").unwrap(),
            ParamSpec::parse("b=log:0.001:10:2").unwrap(),
        ];
        let n = 50;
        let points = plan(&params, Design::LatinHypercube { points: n }, 7).unwrap();
        assert_eq!(
            points,
            plan(&params, Design::LatinHypercube { points: n }, 7).unwrap()
        );
        assert_ne!(
            points,
            plan(&params, Design::LatinHypercube { points: n }, 8).unwrap()
        );
        let mut strata: Vec<usize> = points
            .iter()
            .map(|p| (p.values[0].1.parse::<f64>().unwrap() * n as f64) as usize)
            .collect();
        strata.sort_unstable();
        assert_eq!(strata, (0..n).collect::<Vec<_>>());
        let mut log_strata: Vec<usize> = points
            .iter()
            .map(|p| {
                ((p.values[1].1.parse::<f64>().unwrap().log10() + 3.0) / 4.0 * n as f64) as usize
            })
            .collect();
        log_strata.sort_unstable();
        log_strata.dedup();
        assert!(log_strata.len() >= n - 2, "log strata {log_strata:?}");
    }

    #[test]
    fn random_design_draws_levels_of_lists_and_ranges() {
        let params = [
            ParamSpec::parse("a=p2c,random").unwrap(),
            ParamSpec::parse("b=10:50:10").unwrap(),
        ];
        let points = plan(&params, Design::Random { points: 200 }, 3).unwrap();
        for p in &points {
            assert!(["p2c", "random"].contains(&p.values[0].1.as_str()));
            assert!(["10", "20", "30", "40", "50"].contains(&p.values[1].1.as_str()));
        }
        let p2c = points.iter().filter(|p| p.values[0].1 == "p2c").count();
        assert!((70..130).contains(&p2c), "{p2c} of 200 drew p2c");
    }

    #[test]
    fn plans_refuse_huge_or_empty_designs() {
        let big = ParamSpec::parse("a=1:1001:1").unwrap();
        let err = plan(&[big.clone(), big.clone().with_path("b")], Design::Grid, 1).err();
        assert!(
            err.as_deref().is_some_and(|e| e.contains("1001 × 1001")),
            "{err:?}"
        );
        assert!(
            plan(&[], Design::Grid, 1)
                .err()
                .unwrap()
                .contains("at least one")
        );
        let err = plan(&[big.clone(), big], Design::Grid, 1).err();
        assert!(err.is_some_and(|e| e.contains("twice")));
        let a = ParamSpec::parse("a=1,2").unwrap();
        assert!(plan(&[a], Design::Random { points: 0 }, 1).is_err());
    }

    impl ParamSpec {
        fn with_path(mut self, path: &str) -> Self {
            self.path = path.into();
            self
        }
    }
}
