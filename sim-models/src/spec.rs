//! File-level specifications of durations and distributions.
//!
//! A time value in a scenario file is either a number of seconds (`0.25`) or a
//! string with a unit (`"250ms"`, `"1.5s"`, `"2min"`, `"1h"`). A distribution
//! is a table with a `type` and that type's parameters, all time-valued
//! parameters accepting the same two forms, e.g.
//! `{ type = "exponential", mean = "250ms" }` or
//! `{ type = "erlang", k = 4, mean = 1 }`. These specs are lowered into
//! `sim_core::Distribution`, which checks the parameters.

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sim_core::{Distribution, DistributionError, RateProfile, SimDuration};

/// A time value in seconds, written as a number (seconds) or a string with a
/// unit: `ns`, `us`/`µs`, `ms`, `s`, `min`, `h`.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
pub struct Seconds(pub f64);

impl Seconds {
    /// The value as a simulated duration, or why it cannot be one.
    pub fn to_duration(self) -> Result<SimDuration, String> {
        if !self.0.is_finite() || self.0 < 0.0 {
            return Err(format!(
                "must be a non-negative finite time, got {}",
                self.0
            ));
        }
        // u64 nanoseconds hold about 584 years; refuse anything near that.
        if self.0 > 100.0 * 365.0 * 86_400.0 {
            return Err(format!(
                "{} s is longer than 100 years of simulated time",
                self.0
            ));
        }
        Ok(SimDuration::from_secs_f64(self.0))
    }
}

/// Parses `"250ms"`-style strings into seconds.
pub fn parse_seconds(text: &str) -> Result<f64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| {
            !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E')
        })
        .unwrap_or(text.len());
    // "1e3s" keeps its exponent, but a unit starting with 'e' doesn't exist,
    // so the split above is unambiguous for the units we accept.
    let (number, unit) = text.split_at(split);
    let value: f64 = number.parse().map_err(|_| {
        format!("`{text}` is not a time: expected a number followed by ns, us, ms, s, min or h")
    })?;
    // Divide for sub-second units so "40us" is exactly the double 4e-5.
    match unit.trim() {
        "ns" => Ok(value / 1e9),
        "us" | "µs" => Ok(value / 1e6),
        "ms" => Ok(value / 1e3),
        "s" | "" => Ok(value),
        "min" | "m" => Ok(value * 60.0),
        "h" => Ok(value * 3600.0),
        other => Err(format!(
            "unknown time unit `{other}` in `{text}`: use ns, us, ms, s, min or h"
        )),
    }
}

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // A visitor rather than an untagged enum, so that a missing field is
        // reported as missing and a wrong type names what was found.
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Seconds;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a time: a number of seconds or a string like \"250ms\"")
            }

            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Seconds, E> {
                Ok(Seconds(v))
            }

            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Seconds, E> {
                Ok(Seconds(v as f64))
            }

            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Seconds, E> {
                Ok(Seconds(v as f64))
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Seconds, E> {
                parse_seconds(v).map(Seconds).map_err(E::custom)
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

impl Serialize for Seconds {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(self.0)
    }
}

impl JsonSchema for Seconds {
    fn schema_name() -> Cow<'static, str> {
        "Seconds".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A time: a number of seconds (0.25) or a string with a unit (\"250ms\", \"1.5s\", \"2min\", \"1h\"; units ns, us, µs, ms, s, min, h).",
            "anyOf": [
                { "type": "number", "minimum": 0 },
                { "type": "string", "pattern": "^\\s*[0-9.eE+-]+\\s*(ns|us|µs|ms|s|min|m|h)?\\s*$" }
            ]
        })
    }
}

impl fmt::Display for Seconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}s", self.0)
    }
}

/// A distribution as written in a scenario file.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum DistributionSpec {
    /// Always `value`.
    Constant {
        /// The value.
        value: Seconds,
    },
    /// Exponential, by `mean` or by `rate` (per second); exactly one.
    Exponential {
        /// Mean.
        #[serde(default)]
        mean: Option<Seconds>,
        /// Rate per second (1 / mean).
        #[serde(default)]
        rate: Option<f64>,
    },
    /// Uniform on [low, high].
    Uniform {
        /// Lower bound.
        low: Seconds,
        /// Upper bound.
        high: Seconds,
    },
    /// Normal(mean, std_dev) truncated to [low, high] (defaults 0 and +∞).
    Normal {
        /// Mean of the untruncated normal.
        mean: Seconds,
        /// Standard deviation of the untruncated normal.
        std_dev: Seconds,
        /// Lower truncation point (default 0).
        #[serde(default)]
        low: Option<Seconds>,
        /// Upper truncation point (default none).
        #[serde(default)]
        high: Option<Seconds>,
    },
    /// Lognormal, by `mu` and `sigma` of the underlying normal, or by `mean`
    /// and `p99`.
    Lognormal {
        /// Mean of ln(X).
        #[serde(default)]
        mu: Option<f64>,
        /// Standard deviation of ln(X).
        #[serde(default)]
        sigma: Option<f64>,
        /// Mean of X.
        #[serde(default)]
        mean: Option<Seconds>,
        /// 99th percentile of X.
        #[serde(default)]
        p99: Option<Seconds>,
    },
    /// Erlang-k (sum of k exponentials) with the given mean.
    Erlang {
        /// Number of phases.
        k: u32,
        /// Mean.
        mean: Seconds,
    },
    /// Two-phase hyperexponential with balanced means.
    Hyperexponential {
        /// Mean.
        mean: Seconds,
        /// Squared coefficient of variation (at least 1).
        scv: f64,
    },
    /// Pareto type I.
    Pareto {
        /// Tail index alpha.
        shape: f64,
        /// Minimum value x_m.
        scale: Seconds,
    },
    /// Pareto truncated to [low, high].
    BoundedPareto {
        /// Tail index alpha.
        shape: f64,
        /// Lower bound.
        low: Seconds,
        /// Upper bound.
        high: Seconds,
    },
    /// Weibull.
    Weibull {
        /// Shape k.
        shape: f64,
        /// Scale lambda.
        scale: Seconds,
    },
    /// Empirical: resample `samples`, or interpolate the CDF `cdf` given as
    /// `[[value, cumulative_probability], ...]`; exactly one.
    Empirical {
        /// Observed values, drawn uniformly.
        #[serde(default)]
        samples: Option<Vec<Seconds>>,
        /// CDF points (value, cumulative probability).
        #[serde(default)]
        cdf: Option<Vec<(Seconds, f64)>>,
    },
}

impl DistributionSpec {
    /// Checks the parameters and builds the sampler.
    pub fn build(&self) -> Result<Distribution, String> {
        use DistributionSpec as S;
        let d = match self {
            S::Constant { value } => Distribution::constant(value.0),
            S::Exponential { mean, rate } => match (mean, rate) {
                (Some(m), None) => Distribution::exponential(m.0),
                (None, Some(r)) => {
                    if !(r.is_finite() && *r > 0.0) {
                        return Err(format!("rate must be positive and finite, got {r}"));
                    }
                    Distribution::exponential(1.0 / r)
                }
                _ => return Err("exponential needs exactly one of `mean` or `rate`".into()),
            },
            S::Uniform { low, high } => Distribution::uniform(low.0, high.0),
            S::Normal {
                mean,
                std_dev,
                low,
                high,
            } => Distribution::truncated_normal(
                mean.0,
                std_dev.0,
                low.map_or(0.0, |l| l.0),
                high.map_or(f64::INFINITY, |h| h.0),
            ),
            S::Lognormal {
                mu,
                sigma,
                mean,
                p99,
            } => match (mu, sigma, mean, p99) {
                (Some(mu), Some(sigma), None, None) => Distribution::lognormal(*mu, *sigma),
                (None, None, Some(mean), Some(p99)) => {
                    Distribution::lognormal_mean_p99(mean.0, p99.0)
                }
                _ => {
                    return Err(
                        "lognormal needs either `mu` and `sigma`, or `mean` and `p99`".into(),
                    );
                }
            },
            S::Erlang { k, mean } => Distribution::erlang(*k, mean.0),
            S::Hyperexponential { mean, scv } => Distribution::hyperexponential(mean.0, *scv),
            S::Pareto { shape, scale } => Distribution::pareto(*shape, scale.0),
            S::BoundedPareto { shape, low, high } => {
                Distribution::bounded_pareto(*shape, low.0, high.0)
            }
            S::Weibull { shape, scale } => Distribution::weibull(*shape, scale.0),
            S::Empirical { samples, cdf } => match (samples, cdf) {
                (Some(samples), None) => {
                    if samples.len() > MAX_EMPIRICAL_POINTS {
                        return Err(too_many_points(samples.len()));
                    }
                    Distribution::empirical_samples(samples.iter().map(|s| s.0).collect())
                }
                (None, Some(points)) => {
                    if points.len() > MAX_EMPIRICAL_POINTS {
                        return Err(too_many_points(points.len()));
                    }
                    Distribution::empirical_cdf(points.iter().map(|(v, p)| (v.0, *p)).collect())
                }
                _ => return Err("empirical needs exactly one of `samples` or `cdf`".into()),
            },
        };
        d.map_err(|e: DistributionError| e.to_string())
    }
}

/// A time-varying arrival rate as written in a scenario file: the customers
/// form a non-homogeneous Poisson process with this rate (per second).
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(tag = "profile", rename_all = "snake_case", deny_unknown_fields)]
pub enum RateSpec {
    /// A constant rate: a plain Poisson process.
    Constant {
        /// Arrivals per second.
        per_second: f64,
    },
    /// Straight lines between `[time, rate]` points; constant before the
    /// first point and after the last.
    PiecewiseLinear {
        /// `[time, rate per second]` points, times increasing.
        points: Vec<(Seconds, f64)>,
    },
    /// `mean × (1 + amplitude × cos(2π (t − peak_at) / period))`.
    Diurnal {
        /// Average rate per second.
        mean: f64,
        /// Relative swing, 0 to 1.
        amplitude: f64,
        /// Length of one cycle (default 24 h).
        #[serde(default)]
        period: Option<Seconds>,
        /// When the rate peaks (default 0).
        #[serde(default)]
        peak_at: Option<Seconds>,
    },
    /// A replayed trace: each `[time, rate]` point holds until the next.
    Trace {
        /// `[time, rate per second]` points, times increasing.
        points: Vec<(Seconds, f64)>,
    },
}

/// A flash crowd: the rate is multiplied for a window.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SpikeSpec {
    /// When the spike starts.
    pub start: Seconds,
    /// How long it lasts.
    pub duration: Seconds,
    /// Rate multiplier during the spike (e.g. 10 for ×10).
    pub multiplier: f64,
}

impl RateSpec {
    /// Checks the parameters and builds the rate profile, with `spikes`
    /// applied; errors name the parameter.
    pub fn build(&self, spikes: &[SpikeSpec]) -> Result<RateProfile, String> {
        let secs = |points: &[(Seconds, f64)]| {
            if points.len() > MAX_EMPIRICAL_POINTS {
                return Err(too_many_points(points.len()));
            }
            Ok(points.iter().map(|(t, r)| (t.0, *r)).collect::<Vec<_>>())
        };
        let mut profile = match self {
            RateSpec::Constant { per_second } => RateProfile::constant(*per_second),
            RateSpec::PiecewiseLinear { points } => RateProfile::piecewise_linear(secs(points)?),
            RateSpec::Diurnal {
                mean,
                amplitude,
                period,
                peak_at,
            } => RateProfile::diurnal(
                *mean,
                *amplitude,
                period.map_or(86_400.0, |p| p.0),
                peak_at.map_or(0.0, |p| p.0),
            ),
            RateSpec::Trace { points } => RateProfile::trace(secs(points)?),
        }
        .map_err(|e| e.to_string())?;
        // Guards against shapes that validate but would make the arrival
        // sampler crawl: thinning draws at the highest rate of a segment,
        // and a diurnal cycle is cut into a few segments per period.
        if let RateSpec::Diurnal {
            period: Some(p), ..
        } = self
            && p.0 < MIN_DIURNAL_PERIOD_S
        {
            return Err(format!(
                "period: {:?} s is shorter than the {MIN_DIURNAL_PERIOD_S} s a daily-style cycle may have",
                p.0
            ));
        }
        for (i, spike) in spikes.iter().enumerate() {
            if spike.duration.0 < MIN_SPIKE_S {
                return Err(format!(
                    "spikes[{i}].duration: {:?} s is shorter than the {} ms a spike may last",
                    spike.duration.0,
                    MIN_SPIKE_S * 1e3
                ));
            }
            if spike.multiplier > MAX_SPIKE_MULTIPLIER {
                return Err(format!(
                    "spikes[{i}].multiplier: {:?} is more than the ×{MAX_SPIKE_MULTIPLIER} a spike may have",
                    spike.multiplier
                ));
            }
        }
        for (i, spike) in spikes.iter().enumerate() {
            profile = profile
                .with_spike(spike.start.0, spike.duration.0, spike.multiplier)
                .map_err(|e| format!("spikes[{i}]: {e}"))?;
        }
        Ok(profile)
    }
}

/// Shortest spike (seconds): 1 ms. Shorter spikes have no physical meaning
/// at nanosecond resolution and make the arrival sampler re-enter them.
pub const MIN_SPIKE_S: f64 = 1e-3;
/// Largest spike multiplier: ×1,000 (flash crowds are ×10–×100).
pub const MAX_SPIKE_MULTIPLIER: f64 = 1_000.0;
/// Shortest diurnal period (seconds).
pub const MIN_DIURNAL_PERIOD_S: f64 = 1.0;

/// The most points an empirical distribution may have in a scenario file.
pub const MAX_EMPIRICAL_POINTS: usize = 1_000_000;

fn too_many_points(n: usize) -> String {
    format!("{n} points is more than the {MAX_EMPIRICAL_POINTS} an empirical distribution may have")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_strings() {
        assert_eq!(parse_seconds("250ms"), Ok(0.25));
        assert_eq!(parse_seconds("1.5s"), Ok(1.5));
        assert_eq!(parse_seconds("2min"), Ok(120.0));
        assert_eq!(parse_seconds("1h"), Ok(3600.0));
        assert_eq!(parse_seconds("40us"), Ok(40e-6));
        assert_eq!(parse_seconds("3"), Ok(3.0));
        assert!(parse_seconds("fast").unwrap_err().contains("not a time"));
        assert!(
            parse_seconds("3 weeks")
                .unwrap_err()
                .contains("unknown time unit `weeks`")
        );
    }

    #[test]
    fn rate_shapes_that_would_stall_the_sampler_are_refused() {
        let spike = |duration: f64, multiplier: f64| SpikeSpec {
            start: Seconds(5.0),
            duration: Seconds(duration),
            multiplier,
        };
        let rate = RateSpec::Constant { per_second: 30.0 };
        assert!(
            rate.build(&[spike(1e-300, 10.0)])
                .unwrap_err()
                .contains("spikes[0].duration")
        );
        assert!(
            rate.build(&[spike(60.0, 1e7)])
                .unwrap_err()
                .contains("spikes[0].multiplier")
        );
        assert!(rate.build(&[spike(60.0, 10.0)]).is_ok());
        let diurnal = RateSpec::Diurnal {
            mean: 1.0,
            amplitude: 1.0,
            period: Some(Seconds(1e-9)),
            peak_at: None,
        };
        assert!(diurnal.build(&[]).unwrap_err().contains("period"));
    }

    #[test]
    fn specs_build_and_report_errors() {
        let spec: DistributionSpec = toml::from_str(
            r#"type = "exponential"
rate = 4.0"#,
        )
        .unwrap();
        assert_eq!(spec.build().unwrap().mean(), 0.25);
        let spec: DistributionSpec =
            toml::from_str("type = \"erlang\"\nk = 4\nmean = \"2s\"").unwrap();
        assert_eq!(spec.build().unwrap().scv(), 0.25);
        let spec: DistributionSpec = toml::from_str("type = \"exponential\"").unwrap();
        assert!(
            spec.build()
                .unwrap_err()
                .contains("exactly one of `mean` or `rate`")
        );
        let spec: DistributionSpec =
            toml::from_str("type = \"hyperexponential\"\nmean = 1\nscv = 0.5").unwrap();
        assert!(spec.build().unwrap_err().contains("scv"));
        let err =
            toml::from_str::<DistributionSpec>("type = \"exponential\"\nmeen = 1").unwrap_err();
        assert!(err.to_string().contains("unknown field `meen`"), "{err}");
    }
}
