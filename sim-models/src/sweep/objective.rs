//! Choosing among a sweep's points: an objective such as
//! `min cost where p99 < 200ms and availability >= 99.9%`, and the Pareto
//! front of cost against p99 latency. Both judge points by their means over
//! seeds; a point with a failed run is never chosen.

use std::fmt;

use super::metrics::{self, METRICS, MetricUnit};
use super::results::PointRecord;

/// Minimize or maximize.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Smaller is better.
    Min,
    /// Larger is better.
    Max,
}

/// A comparison in a constraint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Comparison {
    /// `<`
    Less,
    /// `<=`
    LessOrEqual,
    /// `>`
    Greater,
    /// `>=`
    GreaterOrEqual,
}

impl Comparison {
    /// Whether `a op b` holds.
    pub fn holds(self, a: f64, b: f64) -> bool {
        match self {
            Comparison::Less => a < b,
            Comparison::LessOrEqual => a <= b,
            Comparison::Greater => a > b,
            Comparison::GreaterOrEqual => a >= b,
        }
    }

    fn symbol(self) -> &'static str {
        match self {
            Comparison::Less => "<",
            Comparison::LessOrEqual => "<=",
            Comparison::Greater => ">",
            Comparison::GreaterOrEqual => ">=",
        }
    }
}

/// `metric op value`, the value in the metric's own unit (seconds, share).
#[derive(Clone, Debug, PartialEq)]
pub struct Constraint {
    /// Metric key.
    pub metric: &'static str,
    /// The comparison.
    pub comparison: Comparison,
    /// The bound.
    pub value: f64,
    /// The bound as typed (`200ms`, `99.9%`), for display.
    pub typed: String,
}

impl Constraint {
    /// Whether `value` satisfies the constraint.
    pub fn holds(&self, value: f64) -> bool {
        self.comparison.holds(value, self.value)
    }
}

/// `min|max METRIC [where CONSTRAINT [and CONSTRAINT]…]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Objective {
    /// Minimize or maximize.
    pub direction: Direction,
    /// Metric key to optimize.
    pub metric: &'static str,
    /// Every constraint must hold for a point to qualify.
    pub constraints: Vec<Constraint>,
}

/// Short names people type, and the metric each means.
const ALIASES: &[(&str, &str)] = &[
    ("p50", "p50_s"),
    ("p90", "p90_s"),
    ("p99", "p99_s"),
    ("p999", "p999_s"),
    ("p99.9", "p999_s"),
    ("slo", "slo_attainment"),
    ("throughput", "throughput_per_s"),
    ("failed", "failed_requests"),
    ("instances", "mean_instances"),
];

/// The metric key for a typed name (a key or an alias).
fn metric_key(name: &str) -> Result<&'static str, String> {
    let name = name.trim();
    let key = ALIASES
        .iter()
        .find(|(a, _)| *a == name)
        .map_or(name, |(_, k)| *k);
    metrics::metric(key).map(|m| m.key).ok_or_else(|| {
        let known: Vec<&str> = METRICS.iter().map(|m| m.key).collect();
        format!(
            "unknown metric `{name}`; use one of {} (or p50, p90, p99, p999, slo, throughput, failed, instances)",
            known.join(", ")
        )
    })
}

/// A bound as typed (`200ms`, `0.2s`, `99.9%`, `12.5`) in the unit of
/// `metric`'s values.
fn parse_value(text: &str, metric: &'static str) -> Result<f64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E')))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let x: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a number (e.g. `200ms`, `0.5`, `99.9%`)"))?;
    let unit_kind = metrics::metric(metric).map(|m| m.unit);
    // Divide rather than multiply by a fraction: 99.9 / 100 is 0.999 exactly
    // as typed, 99.9 × 0.01 is not.
    let (multiply, divide) = match (unit.trim(), unit_kind) {
        ("", _) => (1.0, 1.0),
        ("us" | "µs", Some(MetricUnit::Seconds)) => (1.0, 1e6),
        ("ms", Some(MetricUnit::Seconds)) => (1.0, 1e3),
        ("s", Some(MetricUnit::Seconds)) => (1.0, 1.0),
        ("min", Some(MetricUnit::Seconds)) => (60.0, 1.0),
        ("%", Some(MetricUnit::Share)) => (1.0, 100.0),
        (u, _) => {
            return Err(format!(
                "unit `{u}` does not fit `{metric}` (latencies take us, ms, s, min; shares take %)"
            ));
        }
    };
    if !x.is_finite() {
        return Err(format!("`{text}` is not a finite number"));
    }
    Ok(x * multiply / divide)
}

impl Objective {
    /// Parses `min cost where p99 < 200ms and availability >= 99.9%`.
    pub fn parse(text: &str) -> Result<Objective, String> {
        let lower = text.trim();
        let (head, tail) = match lower.split_once(" where ") {
            Some((h, t)) => (h, Some(t)),
            None => (lower, None),
        };
        let mut words = head.split_whitespace();
        let direction = match words.next() {
            Some("min") | Some("minimize") => Direction::Min,
            Some("max") | Some("maximize") => Direction::Max,
            _ => {
                return Err(format!(
                    "objective `{text}`: start with `min` or `max`, e.g. \"min cost where p99 < 200ms\""
                ));
            }
        };
        let metric = match (words.next(), words.next()) {
            (Some(m), None) => metric_key(m).map_err(|e| format!("objective `{text}`: {e}"))?,
            _ => {
                return Err(format!(
                    "objective `{text}`: name one metric after `{}`",
                    if direction == Direction::Min {
                        "min"
                    } else {
                        "max"
                    }
                ));
            }
        };
        let mut constraints = Vec::new();
        if let Some(tail) = tail {
            for part in tail.split(" and ") {
                constraints
                    .push(parse_constraint(part).map_err(|e| format!("objective `{text}`: {e}"))?);
            }
        }
        Ok(Objective {
            direction,
            metric,
            constraints,
        })
    }

    /// Whether `point` qualifies: no failed run, the metric defined, every
    /// constraint met by the means.
    pub fn admits(&self, point: &PointRecord) -> bool {
        point.failed == 0
            && point.mean(self.metric).is_some()
            && self.constraints.iter().all(|c| {
                point
                    .mean(c.metric)
                    .is_some_and(|v| c.comparison.holds(v, c.value))
            })
    }

    /// Up to `k` qualifying points, best first (ties by point index).
    pub fn best<'a>(&self, points: &'a [PointRecord], k: usize) -> Vec<&'a PointRecord> {
        let mut ok: Vec<&PointRecord> = points.iter().filter(|p| self.admits(p)).collect();
        ok.sort_by(|a, b| {
            let (x, y) = (a.mean(self.metric).unwrap(), b.mean(self.metric).unwrap());
            let ord = match self.direction {
                Direction::Min => x.total_cmp(&y),
                Direction::Max => y.total_cmp(&x),
            };
            ord.then(a.point.cmp(&b.point))
        });
        ok.truncate(k);
        ok
    }
}

impl fmt::Display for Objective {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dir = match self.direction {
            Direction::Min => "min",
            Direction::Max => "max",
        };
        write!(f, "{dir} {}", self.metric)?;
        for (i, c) in self.constraints.iter().enumerate() {
            let word = if i == 0 { "where" } else { "and" };
            write!(
                f,
                " {word} {} {} {}",
                c.metric,
                c.comparison.symbol(),
                c.typed
            )?;
        }
        Ok(())
    }
}

/// `metric op value`.
pub(crate) fn parse_constraint(text: &str) -> Result<Constraint, String> {
    for (symbol, comparison) in [
        ("<=", Comparison::LessOrEqual),
        (">=", Comparison::GreaterOrEqual),
        ("<", Comparison::Less),
        (">", Comparison::Greater),
    ] {
        if let Some((lhs, rhs)) = text.split_once(symbol) {
            let metric = metric_key(lhs)?;
            let value = parse_value(rhs, metric)?;
            return Ok(Constraint {
                metric,
                comparison,
                value,
                typed: rhs.trim().to_string(),
            });
        }
    }
    Err(format!(
        "constraint `{}` needs <, <=, > or >=, e.g. `p99 < 200ms`",
        text.trim()
    ))
}

/// The points on the Pareto front of mean cost against mean p99 latency
/// (both lower is better): no other point is at least as good on both and
/// better on one. Points with a failed run or no p99 are left out. Sorted by
/// cost, then p99, then index.
pub fn pareto_front(points: &[PointRecord]) -> Vec<&PointRecord> {
    let mut candidates: Vec<(&PointRecord, f64, f64)> = points
        .iter()
        .filter(|p| p.failed == 0)
        .filter_map(|p| Some((p, p.mean("cost")?, p.mean("p99_s")?)))
        .collect();
    candidates.sort_by(|a, b| {
        (a.1.total_cmp(&b.1))
            .then(a.2.total_cmp(&b.2))
            .then(a.0.point.cmp(&b.0.point))
    });
    let mut front = Vec::new();
    let mut best_p99 = f64::INFINITY;
    for (p, _, p99) in candidates {
        if p99 < best_p99 {
            best_p99 = p99;
            front.push(p);
        }
    }
    front
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::sweep::results::Estimate;

    fn point(i: usize, cost: f64, p99: f64, failed: usize) -> PointRecord {
        let e = |mean| Estimate {
            mean,
            ci95: None,
            n: 1,
        };
        PointRecord {
            point: i,
            params: BTreeMap::new(),
            runs: 1,
            failed,
            error: None,
            metrics: [("cost".to_string(), e(cost)), ("p99_s".to_string(), e(p99))]
                .into_iter()
                .collect(),
        }
    }

    #[test]
    fn parses_the_issue_example_with_units() {
        let o = Objective::parse("min cost where p99 < 200ms").unwrap();
        assert_eq!(o.direction, Direction::Min);
        assert_eq!(o.metric, "cost");
        assert_eq!(
            o.constraints,
            vec![Constraint {
                metric: "p99_s",
                comparison: Comparison::Less,
                value: 0.2,
                typed: "200ms".into(),
            }]
        );
        let o = Objective::parse("max throughput where availability >= 99.9% and p50 <= 0.05s")
            .unwrap();
        assert_eq!(o.metric, "throughput_per_s");
        assert!((o.constraints[0].value - 0.999).abs() < 1e-12);
        assert_eq!(o.constraints[1].comparison, Comparison::LessOrEqual);
        assert_eq!(
            o.to_string(),
            "max throughput_per_s where availability >= 99.9% and p50_s <= 0.05s"
        );
    }

    #[test]
    fn bad_objectives_say_what_is_wrong() {
        for (text, needle) in [
            ("cheapest", "start with `min` or `max`"),
            ("min price", "unknown metric `price`"),
            ("min cost where p99 = 2", "needs <, <=, > or >="),
            ("min cost where p99 < fast", "not a number"),
            (
                "min cost where availability > 5ms",
                "unit `ms` does not fit",
            ),
            ("min cost p99", "name one metric"),
        ] {
            let err = Objective::parse(text).unwrap_err();
            assert!(err.contains(needle), "{text}: {err}");
        }
    }

    #[test]
    fn best_respects_constraints_failures_and_direction() {
        let points = vec![
            point(0, 10.0, 0.30, 0),
            point(1, 12.0, 0.15, 0),
            point(2, 11.0, 0.19, 1),
            point(3, 14.0, 0.10, 0),
        ];
        let o = Objective::parse("min cost where p99 < 200ms").unwrap();
        let best: Vec<usize> = o.best(&points, 5).iter().map(|p| p.point).collect();
        assert_eq!(best, vec![1, 3], "point 2 failed a run, point 0 misses p99");
        let o = Objective::parse("max cost").unwrap();
        assert_eq!(o.best(&points, 1)[0].point, 3);
    }

    #[test]
    fn pareto_front_keeps_only_undominated_points() {
        let points = vec![
            point(0, 10.0, 0.30, 0),
            point(1, 12.0, 0.15, 0),
            point(2, 13.0, 0.20, 0), // dominated by 1
            point(3, 14.0, 0.10, 0),
            point(4, 9.0, 0.05, 1),  // failed: ignored
            point(5, 10.0, 0.30, 0), // ties 0: not strictly better, dropped
        ];
        let front: Vec<usize> = pareto_front(&points).iter().map(|p| p.point).collect();
        assert_eq!(front, vec![0, 1, 3]);
    }
}
