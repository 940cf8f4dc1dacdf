//! Validated probability distributions for inter-arrival and service times.
//!
//! Every distribution is built from plain numbers (the scenario layer maps
//! file fields onto the constructors below), checked once at construction,
//! and then sampled on the hot path without allocating or failing. Each one
//! knows its own mean, second moment and squared coefficient of variation
//! (SCV = variance / mean²), so validation can compare a simulation against
//! analytic queueing formulas that take exactly those inputs.
//!
//! Sampling uses only uniforms from [`uniform_open01`] and transcendental
//! functions from the pure-Rust `libm` crate (never the platform's `ln`,
//! `exp` or `powf`), so a seed gives bit-identical samples on every target.
//! Invalid parameters are reported as [`DistributionError`]s, never panics.

use std::f64::consts::{FRAC_1_SQRT_2, TAU};
use std::fmt;
use std::sync::Arc;

use rand::Rng;

use crate::param::{ParamError, finite, non_negative, positive};
use crate::rng::uniform_open01;
use crate::time::SimDuration;

/// The standard normal 99th percentile, Φ⁻¹(0.99).
const Z99: f64 = 2.326_347_874_040_840_8;
/// 1 / sqrt(2π).
const INV_SQRT_TAU: f64 = 0.398_942_280_401_432_7;
/// sqrt(2π).
const SQRT_TAU: f64 = 2.506_628_274_631_000_5;
/// A truncated normal whose interval holds less probability than this is
/// rejected: it is almost surely a mistake, and its moments lose precision.
const MIN_TRUNCATED_MASS: f64 = 1e-6;
/// Truncated normals whose interval holds at least this much probability are
/// sampled by rejection (at most 1/0.3 ≈ 3.3 normal draws on average).
const REJECTION_MIN_MASS: f64 = 0.3;
/// Rejection attempts before falling back to the inverse CDF. Each attempt is
/// an exact draw, so the fallback keeps the distribution exact; it only
/// bounds the running time (0.7⁶⁴ ≈ 1e-10, so it almost never triggers).
const MAX_REJECTION_TRIES: u32 = 64;
/// The largest Erlang order accepted: sampling costs one uniform per phase.
pub const MAX_ERLANG_K: u32 = 10_000;
/// How far from 1 the last cumulative probability of an empirical CDF may be.
const CDF_END_TOLERANCE: f64 = 1e-9;
/// Erlang sampling folds the running product of uniforms into a logarithm
/// before it can underflow (2⁻⁹⁰⁰ is far above the smallest normal f64).
const ERLANG_RENORMALIZE_BELOW: f64 = 1.189_731_495_357_232e-271; // 2^-900

/// Why a distribution could not be built (see [`ParamError`]).
pub type DistributionError = ParamError;

type Result<T> = std::result::Result<T, DistributionError>;

/// A validated distribution over non-negative values (seconds for time
/// distributions).
///
/// Build one with the constructors ([`Distribution::exponential`], ...),
/// which check the parameters and precompute what sampling needs. The
/// variants are visible so that reports can inspect the parameters, but they
/// are `#[non_exhaustive]` and cannot be built directly outside this crate;
/// fields marked "precomputed" are derived from the others.
#[derive(Clone, Debug, PartialEq)]
pub enum Distribution {
    /// Always `value`.
    #[non_exhaustive]
    Constant {
        /// The value.
        value: f64,
    },
    /// Exponential with the given mean (rate = 1 / mean).
    #[non_exhaustive]
    Exponential {
        /// The mean.
        mean: f64,
    },
    /// Uniform on `[low, high]`.
    #[non_exhaustive]
    Uniform {
        /// Lower bound.
        low: f64,
        /// Upper bound.
        high: f64,
    },
    /// Normal(`mean`, `std_dev`) conditioned on `[low, high]`.
    #[non_exhaustive]
    TruncatedNormal {
        /// Mean of the untruncated normal.
        mean: f64,
        /// Standard deviation of the untruncated normal.
        std_dev: f64,
        /// Lower truncation point.
        low: f64,
        /// Upper truncation point (may be infinite).
        high: f64,
        /// Precomputed: probability of `[low, high]` under the normal.
        mass: f64,
        /// Precomputed: the inverse-CDF sampler maps a uniform `u` to the
        /// standard-normal tail probability `tail_start + u * mass`.
        tail_start: f64,
        /// Precomputed: whether that tail probability is an upper tail
        /// (used when the interval lies above the mean, for precision).
        upper_tail: bool,
        /// Precomputed: mean of the truncated distribution.
        truncated_mean: f64,
        /// Precomputed: variance of the truncated distribution.
        truncated_variance: f64,
    },
    /// `exp(N(mu, sigma²))`.
    #[non_exhaustive]
    LogNormal {
        /// Mean of the underlying normal.
        mu: f64,
        /// Standard deviation of the underlying normal.
        sigma: f64,
    },
    /// Sum of `k` exponential phases, each with mean `mean / k`.
    #[non_exhaustive]
    Erlang {
        /// Number of phases.
        k: u32,
        /// Mean of the sum.
        mean: f64,
    },
    /// Two-phase hyperexponential with balanced means.
    #[non_exhaustive]
    Hyperexponential {
        /// Mean.
        mean: f64,
        /// Squared coefficient of variation (at least 1).
        scv: f64,
        /// Precomputed: probability of phase 1.
        p1: f64,
        /// Precomputed: mean of phase 1 (`mean / (2 p1)`).
        mean1: f64,
        /// Precomputed: mean of phase 2 (`mean / (2 (1 - p1))`).
        mean2: f64,
    },
    /// Pareto type I: `P(X > x) = (scale / x)^shape` for `x >= scale`.
    #[non_exhaustive]
    Pareto {
        /// Tail index alpha (> 1).
        shape: f64,
        /// Minimum value x_m.
        scale: f64,
    },
    /// Pareto with tail index `shape` conditioned on `[low, high]`.
    #[non_exhaustive]
    BoundedPareto {
        /// Tail index alpha.
        shape: f64,
        /// Lower bound.
        low: f64,
        /// Upper bound.
        high: f64,
        /// Precomputed: `(low / high)^shape`.
        ratio_pow: f64,
        /// Precomputed: `1 - (low / high)^shape`.
        one_minus_ratio_pow: f64,
    },
    /// Weibull: `P(X > x) = exp(-(x / scale)^shape)`.
    #[non_exhaustive]
    Weibull {
        /// Shape k.
        shape: f64,
        /// Scale lambda.
        scale: f64,
    },
    /// One of the given samples, each equally likely.
    #[non_exhaustive]
    EmpiricalSamples {
        /// The samples (shared, so cloning is cheap).
        samples: Arc<[f64]>,
        /// Precomputed: their mean.
        mean: f64,
        /// Precomputed: their population variance.
        variance: f64,
    },
    /// Piecewise-linear CDF through `(value, cumulative probability)` points.
    #[non_exhaustive]
    EmpiricalCdf {
        /// The points; the last probability is exactly 1.
        points: Arc<[(f64, f64)]>,
        /// Precomputed: the mean.
        mean: f64,
        /// Precomputed: the variance.
        variance: f64,
    },
}

// ---------------------------------------------------------------------------
// Parameter checks.

fn invalid(param: &'static str, reason: String) -> DistributionError {
    DistributionError::Invalid { param, reason }
}

// ---------------------------------------------------------------------------
// Normal-distribution helpers (all through libm).

/// Standard normal density.
#[inline]
fn normal_pdf(x: f64) -> f64 {
    INV_SQRT_TAU * libm::exp(-0.5 * x * x)
}

/// `x * pdf(x)`, which is 0 at ±infinity.
fn x_normal_pdf(x: f64) -> f64 {
    if x.is_infinite() {
        0.0
    } else {
        x * normal_pdf(x)
    }
}

/// Φ(x) = P(Z <= x), accurate in the lower tail.
#[inline]
fn normal_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x * FRAC_1_SQRT_2)
}

/// Q(x) = P(Z > x), accurate in the upper tail.
#[inline]
fn normal_sf(x: f64) -> f64 {
    0.5 * libm::erfc(x * FRAC_1_SQRT_2)
}

/// Φ⁻¹(p): Acklam's rational approximation (relative error 1.2e-9) refined
/// by one Halley step on `erfc`, which brings it to near full precision.
/// Accurate in the lower tail; use `-inv_normal_cdf(q)` for upper tails.
fn inv_normal_cdf(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_671_010_243_05,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    const P_LOW: f64 = 0.024_25;
    if p.is_nan() {
        return f64::NAN;
    }
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    let x = if p < P_LOW {
        tail((-2.0 * libm::log(p)).sqrt())
    } else if p <= 1.0 - P_LOW {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        -tail((-2.0 * libm::log1p(-p)).sqrt())
    };
    // One Halley step.
    let e = normal_cdf(x) - p;
    let u = e * SQRT_TAU * libm::exp(0.5 * x * x);
    let refined = x - u / (1.0 + 0.5 * x * u);
    if refined.is_finite() { refined } else { x }
}

/// A standard normal draw by Box–Muller (two uniforms, log, sqrt, cos).
#[inline]
fn standard_normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    let u1 = uniform_open01(rng);
    let u2 = uniform_open01(rng);
    (-2.0 * libm::log(u1)).sqrt() * libm::cos(TAU * u2)
}

/// Mean offset and variance of the standard normal truncated to
/// `[alpha, beta]` with probability `mass`, in standard units.
fn truncated_standard_moments(alpha: f64, beta: f64, mass: f64) -> (f64, f64) {
    let d = (normal_pdf(alpha) - normal_pdf(beta)) / mass;
    if beta - alpha <= 1.0 {
        // Narrow interval: the closed-form variance 1 + (αφ(α) − βφ(β))/Z − d²
        // cancels badly, so integrate the centred second moment directly
        // with composite Simpson's rule (the integrand is smooth and the
        // interval short, so 2000 panels give ~1e-13 relative error).
        const PANELS: usize = 2000;
        let h = (beta - alpha) / PANELS as f64;
        let (mut m0, mut m1) = (0.0, 0.0);
        for i in 0..=PANELS {
            let x = alpha + h * i as f64;
            let w = if i == 0 || i == PANELS {
                1.0
            } else if i % 2 == 1 {
                4.0
            } else {
                2.0
            };
            let f = w * normal_pdf(x);
            m0 += f;
            m1 += f * x;
        }
        let centre = m1 / m0;
        let mut m2 = 0.0;
        for i in 0..=PANELS {
            let x = alpha + h * i as f64;
            let w = if i == 0 || i == PANELS {
                1.0
            } else if i % 2 == 1 {
                4.0
            } else {
                2.0
            };
            m2 += w * normal_pdf(x) * (x - centre) * (x - centre);
        }
        (centre, (m2 / m0).max(0.0))
    } else {
        let var = 1.0 + (x_normal_pdf(alpha) - x_normal_pdf(beta)) / mass - d * d;
        (d, var.max(0.0))
    }
}

// ---------------------------------------------------------------------------
// Constructors.

impl Distribution {
    /// Always `value` (`value >= 0`, finite).
    pub fn constant(value: f64) -> Result<Self> {
        Ok(Distribution::Constant {
            value: non_negative("value", value)?,
        })
    }

    /// Exponential with the given mean (`mean > 0`).
    pub fn exponential(mean: f64) -> Result<Self> {
        Ok(Distribution::Exponential {
            mean: positive("mean", mean)?,
        })
    }

    /// Uniform on `[low, high]` with `0 <= low < high`.
    pub fn uniform(low: f64, high: f64) -> Result<Self> {
        let low = non_negative("low", low)?;
        let high = positive("high", high)?;
        if low >= high {
            return Err(DistributionError::EmptyRange {
                low_param: "low",
                high_param: "high",
                low,
                high,
            });
        }
        Ok(Distribution::Uniform { low, high })
    }

    /// Normal(`mean`, `std_dev`) truncated to `[low, high]`.
    ///
    /// `low >= 0` and finite, `high > low` (may be `f64::INFINITY`),
    /// `std_dev > 0`. The interval must hold probability at least 1e-6 under
    /// the untruncated normal. [`mean`](Self::mean) and [`scv`](Self::scv)
    /// describe the truncated distribution.
    pub fn truncated_normal(mean: f64, std_dev: f64, low: f64, high: f64) -> Result<Self> {
        let mean = finite("mean", mean)?;
        let std_dev = positive("std_dev", std_dev)?;
        let low = non_negative("low", low)?;
        if high.is_nan() || high == f64::NEG_INFINITY {
            return Err(DistributionError::NotPositive {
                param: "high",
                value: high,
            });
        }
        if low >= high {
            return Err(DistributionError::EmptyRange {
                low_param: "low",
                high_param: "high",
                low,
                high,
            });
        }
        let alpha = (low - mean) / std_dev;
        let beta = (high - mean) / std_dev;
        let upper_tail = alpha >= 0.0;
        let (tail_start, mass) = if upper_tail {
            let q_beta = normal_sf(beta);
            (q_beta, normal_sf(alpha) - q_beta)
        } else {
            let p_alpha = normal_cdf(alpha);
            (p_alpha, normal_cdf(beta) - p_alpha)
        };
        if mass.is_nan() || mass < MIN_TRUNCATED_MASS {
            return Err(invalid(
                "low/high",
                format!(
                    "the interval [{low}, {high}] holds probability {mass:e} under \
                     normal(mean={mean}, std_dev={std_dev}); at least {MIN_TRUNCATED_MASS:e} is \
                     required (move the interval towards the mean or widen std_dev)"
                ),
            ));
        }
        let (offset, variance) = truncated_standard_moments(alpha, beta, mass);
        let truncated_mean = (mean + std_dev * offset).clamp(low, high);
        let truncated_variance = std_dev * std_dev * variance;
        Ok(Distribution::TruncatedNormal {
            mean,
            std_dev,
            low,
            high,
            mass,
            tail_start,
            upper_tail,
            truncated_mean,
            truncated_variance,
        })
    }

    /// Lognormal `exp(N(mu, sigma²))` with `sigma > 0` (use
    /// [`constant`](Self::constant) for sigma = 0). The mean must be
    /// representable.
    pub fn lognormal(mu: f64, sigma: f64) -> Result<Self> {
        let mu = finite("mu", mu)?;
        let sigma = positive("sigma", sigma)?;
        let mean = libm::exp(mu + 0.5 * sigma * sigma);
        if !(mean.is_finite() && mean > 0.0) {
            return Err(invalid(
                "mu/sigma",
                format!(
                    "the mean exp(mu + sigma^2/2) with mu={mu}, sigma={sigma} is not a positive \
                     finite f64"
                ),
            ));
        }
        Ok(Distribution::LogNormal { mu, sigma })
    }

    /// Lognormal with the given mean and 99th percentile.
    ///
    /// Solves `ln(p99/mean) = z·sigma − sigma²/2` (z = Φ⁻¹(0.99)) for the
    /// smaller root sigma, then `mu = ln(mean) − sigma²/2`. Requires
    /// `0 < mean < p99 <= mean·exp(z²/2) ≈ 14.97·mean`.
    pub fn lognormal_mean_p99(mean: f64, p99: f64) -> Result<Self> {
        let mean = positive("mean", mean)?;
        let p99 = positive("p99", p99)?;
        if p99 <= mean {
            return Err(invalid(
                "p99",
                format!(
                    "a lognormal's 99th percentile must exceed its mean, got p99={p99} <= mean={mean}"
                ),
            ));
        }
        let r = libm::log(p99 / mean);
        let disc = Z99 * Z99 - 2.0 * r;
        if disc.is_nan() || disc < 0.0 {
            let max_ratio = libm::exp(0.5 * Z99 * Z99);
            return Err(invalid(
                "p99",
                format!(
                    "no lognormal has mean={mean} and p99={p99}: p99/mean = {} but must be at \
                     most exp(z^2/2) ≈ {max_ratio:.2} (z = 2.3263 is the normal 99th percentile)",
                    p99 / mean
                ),
            ));
        }
        let sigma = Z99 - disc.sqrt();
        if sigma.is_nan() || sigma <= 0.0 {
            return Err(invalid(
                "p99",
                format!("p99={p99} is too close to mean={mean} to determine sigma"),
            ));
        }
        let mu = libm::log(mean) - 0.5 * sigma * sigma;
        Distribution::lognormal(mu, sigma)
    }

    /// Erlang-k: the sum of `k` exponential phases with total mean `mean`
    /// (`1 <= k <= MAX_ERLANG_K`, `mean > 0`). SCV = 1/k.
    pub fn erlang(k: u32, mean: f64) -> Result<Self> {
        if k == 0 || k > MAX_ERLANG_K {
            return Err(invalid(
                "k",
                format!(
                    "k must be between 1 and {MAX_ERLANG_K} (sampling draws one uniform per \
                     phase), got {k}"
                ),
            ));
        }
        Ok(Distribution::Erlang {
            k,
            mean: positive("mean", mean)?,
        })
    }

    /// Two-phase hyperexponential with balanced means:
    /// `p1 = (1 + sqrt((scv−1)/(scv+1)))/2`, phase `i` has rate `2·p_i/mean`.
    /// Requires `mean > 0` and `scv >= 1` (`scv == 1` is exponential).
    pub fn hyperexponential(mean: f64, scv: f64) -> Result<Self> {
        let mean = positive("mean", mean)?;
        if !(scv.is_finite() && scv >= 1.0) {
            return Err(invalid(
                "scv",
                format!(
                    "scv must be finite and at least 1 for a hyperexponential, got {scv} (use \
                     erlang or truncated_normal for scv < 1)"
                ),
            ));
        }
        let root = ((scv - 1.0) / (scv + 1.0)).sqrt();
        let p1 = 0.5 * (1.0 + root);
        // 1 - p1 computed without cancellation: (1 - root)/2 = 1/((scv+1)(1+root)).
        let p2 = 1.0 / ((scv + 1.0) * (1.0 + root));
        let mean1 = mean / (2.0 * p1);
        let mean2 = mean / (2.0 * p2);
        if !(p2 > 0.0 && mean2.is_finite()) {
            return Err(invalid(
                "scv",
                format!("scv={scv} is too large to represent the phases"),
            ));
        }
        Ok(Distribution::Hyperexponential {
            mean,
            scv,
            p1,
            mean1,
            mean2,
        })
    }

    /// Pareto type I with tail index `shape > 1` and minimum `scale > 0`.
    /// Shape at most 1 is rejected because the mean would be infinite;
    /// for `shape <= 2` the variance (and so the SCV) is infinite.
    pub fn pareto(shape: f64, scale: f64) -> Result<Self> {
        let shape = positive("shape", shape)?;
        let scale = positive("scale", scale)?;
        if shape <= 1.0 {
            return Err(invalid(
                "shape",
                format!(
                    "a Pareto with shape <= 1 has an infinite mean, got shape={shape} (use \
                     bounded_pareto for heavier tails)"
                ),
            ));
        }
        let dist = Distribution::Pareto { shape, scale };
        if !dist.mean().is_finite() {
            return Err(invalid(
                "scale",
                format!("the mean overflows with shape={shape}, scale={scale}"),
            ));
        }
        Ok(dist)
    }

    /// Pareto with tail index `shape > 0` conditioned on `[low, high]`,
    /// `0 < low < high`.
    pub fn bounded_pareto(shape: f64, low: f64, high: f64) -> Result<Self> {
        let shape = positive("shape", shape)?;
        let low = positive("low", low)?;
        let high = positive("high", high)?;
        if low >= high {
            return Err(DistributionError::EmptyRange {
                low_param: "low",
                high_param: "high",
                low,
                high,
            });
        }
        let log_ratio = log_ratio(high, low);
        let ratio_pow = libm::exp(-shape * log_ratio);
        let one_minus_ratio_pow = -libm::expm1(-shape * log_ratio);
        let dist = Distribution::BoundedPareto {
            shape,
            low,
            high,
            ratio_pow,
            one_minus_ratio_pow,
        };
        if !(one_minus_ratio_pow > 0.0 && dist.mean().is_finite()) {
            return Err(invalid(
                "shape/low/high",
                format!(
                    "the moments of bounded_pareto(shape={shape}, low={low}, high={high}) are not \
                     representable"
                ),
            ));
        }
        Ok(dist)
    }

    /// Weibull with `shape > 0` and `scale > 0`:
    /// mean `scale·Γ(1+1/shape)`, SCV `Γ(1+2/shape)/Γ(1+1/shape)² − 1`.
    pub fn weibull(shape: f64, scale: f64) -> Result<Self> {
        let shape = positive("shape", shape)?;
        let scale = positive("scale", scale)?;
        let dist = Distribution::Weibull { shape, scale };
        if !dist.mean().is_finite() {
            return Err(invalid(
                "shape",
                format!(
                    "the mean scale*Gamma(1+1/shape) overflows with shape={shape}, scale={scale}"
                ),
            ));
        }
        Ok(dist)
    }

    /// Each of `samples` with equal probability. The samples must be
    /// non-empty, finite and non-negative.
    pub fn empirical_samples(samples: Vec<f64>) -> Result<Self> {
        if samples.is_empty() {
            return Err(invalid(
                "samples",
                "at least one sample is required".to_owned(),
            ));
        }
        let mut samples = samples;
        for (i, s) in samples.iter_mut().enumerate() {
            if !(s.is_finite() && *s >= 0.0) {
                return Err(invalid(
                    "samples",
                    format!("sample {i} must be non-negative and finite, got {s}"),
                ));
            }
            *s += 0.0; // -0.0 -> 0.0
        }
        let n = samples.len() as f64;
        let mean = samples.iter().sum::<f64>() / n;
        let variance = samples.iter().map(|s| (s - mean) * (s - mean)).sum::<f64>() / n;
        if !(mean.is_finite() && variance.is_finite()) {
            return Err(invalid(
                "samples",
                "the samples' moments overflow".to_owned(),
            ));
        }
        Ok(Distribution::EmpiricalSamples {
            samples: samples.into(),
            mean,
            variance,
        })
    }

    /// A piecewise-linear CDF through `(value, cumulative probability)`
    /// points, sampled by inverse transform.
    ///
    /// Values must be finite, non-negative and non-decreasing; probabilities
    /// in `[0, 1]` and non-decreasing, the last within 1e-9 of 1. A first
    /// probability above 0 is a point mass at the first value; a repeated
    /// value with a rising probability is a point mass there.
    pub fn empirical_cdf(points: Vec<(f64, f64)>) -> Result<Self> {
        if points.is_empty() {
            return Err(invalid(
                "points",
                "at least one (value, probability) point is required".to_owned(),
            ));
        }
        let mut points = points;
        let mut prev = (0.0_f64, 0.0_f64);
        for (i, point) in points.iter_mut().enumerate() {
            let (v, p) = *point;
            if !(v.is_finite() && v >= 0.0) {
                return Err(invalid(
                    "points",
                    format!("value {i} must be non-negative and finite, got {v}"),
                ));
            }
            if !(0.0..=1.0).contains(&p) {
                return Err(invalid(
                    "points",
                    format!("probability {i} must be in [0, 1], got {p}"),
                ));
            }
            if i > 0 && v < prev.0 {
                return Err(invalid(
                    "points",
                    format!(
                        "values must be non-decreasing, but value {i} = {v} < {}",
                        prev.0
                    ),
                ));
            }
            if i > 0 && p < prev.1 {
                return Err(invalid(
                    "points",
                    format!(
                        "probabilities must be non-decreasing, but probability {i} = {p} < {}",
                        prev.1
                    ),
                ));
            }
            *point = (v + 0.0, p);
            prev = (v, p);
        }
        let last = points.len() - 1;
        let last_p = points[last].1;
        if (last_p - 1.0).abs() > CDF_END_TOLERANCE {
            return Err(invalid(
                "points",
                format!("the last cumulative probability must be 1, got {last_p}"),
            ));
        }
        points[last].1 = 1.0;

        // Moments: an atom of mass p0 at v0, then for each rising segment a
        // uniform piece of mass Δp on [a, b]. Variance in a second pass about
        // the mean, to avoid E[X²] − E[X]² cancellation.
        let (v0, p0) = points[0];
        let mut mean = p0 * v0;
        for w in points.windows(2) {
            let ((a, pa), (b, pb)) = (w[0], w[1]);
            mean += (pb - pa) * 0.5 * (a + b);
        }
        let mut variance = p0 * (v0 - mean) * (v0 - mean);
        for w in points.windows(2) {
            let ((a, pa), (b, pb)) = (w[0], w[1]);
            let mid = 0.5 * (a + b) - mean;
            variance += (pb - pa) * ((b - a) * (b - a) / 12.0 + mid * mid);
        }
        if !(mean.is_finite() && variance.is_finite()) {
            return Err(invalid("points", "the moments overflow".to_owned()));
        }
        Ok(Distribution::EmpiricalCdf {
            points: points.into(),
            mean,
            variance: variance.max(0.0),
        })
    }
}

/// `ln(high / low)` for `0 < low < high`, avoiding overflow of the ratio.
fn log_ratio(high: f64, low: f64) -> f64 {
    let ratio = high / low;
    if ratio.is_finite() {
        libm::log(ratio)
    } else {
        libm::log(high) - libm::log(low)
    }
}

/// `E[X^n]` of a bounded Pareto, via
/// `α·Lⁿ/(1 − (L/H)^α) · ((H/L)^(n−α) − 1)/(n − α)`, whose limit at
/// `n = α` is `α·Lⁿ·ln(H/L)/(1 − (L/H)^α)`.
fn bounded_pareto_moment(n: f64, shape: f64, low: f64, high: f64, one_minus_ratio_pow: f64) -> f64 {
    let ell = log_ratio(high, low);
    let t = n - shape;
    let g = if t == 0.0 {
        ell
    } else {
        libm::expm1(t * ell) / t
    };
    shape * libm::pow(low, n) * g / one_minus_ratio_pow
}

// ---------------------------------------------------------------------------
// Moments, sampling, names.

impl Distribution {
    /// The mean.
    pub fn mean(&self) -> f64 {
        match *self {
            Distribution::Constant { value } => value,
            Distribution::Exponential { mean } => mean,
            Distribution::Uniform { low, high } => 0.5 * (low + high),
            Distribution::TruncatedNormal { truncated_mean, .. } => truncated_mean,
            Distribution::LogNormal { mu, sigma } => libm::exp(mu + 0.5 * sigma * sigma),
            Distribution::Erlang { mean, .. } => mean,
            Distribution::Hyperexponential { mean, .. } => mean,
            Distribution::Pareto { shape, scale } => shape * scale / (shape - 1.0),
            Distribution::BoundedPareto {
                shape,
                low,
                high,
                one_minus_ratio_pow,
                ..
            } => bounded_pareto_moment(1.0, shape, low, high, one_minus_ratio_pow),
            Distribution::Weibull { shape, scale } => scale * libm::tgamma(1.0 + 1.0 / shape),
            Distribution::EmpiricalSamples { mean, .. } => mean,
            Distribution::EmpiricalCdf { mean, .. } => mean,
        }
    }

    /// The squared coefficient of variation, variance / mean²: 0 for a
    /// constant (or any distribution concentrated at 0), `f64::INFINITY`
    /// when the variance is infinite.
    pub fn scv(&self) -> f64 {
        let from_variance = |variance: f64, mean: f64| {
            if mean > 0.0 {
                variance / (mean * mean)
            } else {
                0.0
            }
        };
        match *self {
            Distribution::Constant { .. } => 0.0,
            Distribution::Exponential { .. } => 1.0,
            Distribution::Uniform { low, high } => {
                let (d, s) = (high - low, high + low);
                d * d / (3.0 * s * s)
            }
            Distribution::TruncatedNormal {
                truncated_mean,
                truncated_variance,
                ..
            } => from_variance(truncated_variance, truncated_mean),
            Distribution::LogNormal { sigma, .. } => libm::expm1(sigma * sigma),
            Distribution::Erlang { k, .. } => 1.0 / f64::from(k),
            Distribution::Hyperexponential { scv, .. } => scv,
            Distribution::Pareto { shape, .. } => {
                if shape <= 2.0 {
                    f64::INFINITY
                } else {
                    1.0 / (shape * (shape - 2.0))
                }
            }
            Distribution::BoundedPareto { .. } => {
                let mean = self.mean();
                (self.second_moment() / (mean * mean) - 1.0).max(0.0)
            }
            Distribution::Weibull { shape, .. } => {
                libm::expm1(libm::lgamma(1.0 + 2.0 / shape) - 2.0 * libm::lgamma(1.0 + 1.0 / shape))
            }
            Distribution::EmpiricalSamples { mean, variance, .. } => from_variance(variance, mean),
            Distribution::EmpiricalCdf { mean, variance, .. } => from_variance(variance, mean),
        }
    }

    /// The second moment E\[X²\] (may be `f64::INFINITY`).
    pub fn second_moment(&self) -> f64 {
        match *self {
            Distribution::Constant { value } => value * value,
            Distribution::Exponential { mean } => 2.0 * mean * mean,
            Distribution::Uniform { low, high } => (low * low + low * high + high * high) / 3.0,
            Distribution::TruncatedNormal {
                truncated_mean,
                truncated_variance,
                ..
            } => truncated_variance + truncated_mean * truncated_mean,
            Distribution::LogNormal { mu, sigma } => libm::exp(2.0 * mu + 2.0 * sigma * sigma),
            Distribution::Erlang { k, mean } => mean * mean * (1.0 + 1.0 / f64::from(k)),
            Distribution::Hyperexponential { mean, scv, .. } => mean * mean * (scv + 1.0),
            Distribution::Pareto { shape, scale } => {
                if shape <= 2.0 {
                    f64::INFINITY
                } else {
                    shape * scale * scale / (shape - 2.0)
                }
            }
            Distribution::BoundedPareto {
                shape,
                low,
                high,
                one_minus_ratio_pow,
                ..
            } => bounded_pareto_moment(2.0, shape, low, high, one_minus_ratio_pow),
            Distribution::Weibull { shape, scale } => {
                scale * scale * libm::tgamma(1.0 + 2.0 / shape)
            }
            Distribution::EmpiricalSamples { mean, variance, .. }
            | Distribution::EmpiricalCdf { mean, variance, .. } => variance + mean * mean,
        }
    }

    /// One sample (seconds, for time distributions). Never negative, never
    /// NaN; allocation-free.
    #[inline]
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        match *self {
            Distribution::Constant { value } => value,
            Distribution::Exponential { mean } => -mean * libm::log(uniform_open01(rng)),
            Distribution::Uniform { low, high } => {
                (low + (high - low) * uniform_open01(rng)).min(high)
            }
            Distribution::TruncatedNormal {
                mean,
                std_dev,
                low,
                high,
                mass,
                tail_start,
                upper_tail,
                ..
            } => {
                if mass >= REJECTION_MIN_MASS {
                    for _ in 0..MAX_REJECTION_TRIES {
                        let x = mean + std_dev * standard_normal(rng);
                        if x >= low && x <= high {
                            return x;
                        }
                    }
                }
                // Inverse CDF within the interval, in whichever tail keeps
                // the probabilities precise.
                let p = tail_start + uniform_open01(rng) * mass;
                let z = if upper_tail {
                    -inv_normal_cdf(p)
                } else {
                    inv_normal_cdf(p)
                };
                // `max` also maps a NaN to `low`.
                (mean + std_dev * z).max(low).min(high)
            }
            Distribution::LogNormal { mu, sigma } => libm::exp(mu + sigma * standard_normal(rng)),
            Distribution::Erlang { k, mean } => {
                // Product of k uniforms, folded into the log before it can
                // underflow (which with k <= 10_000 is astronomically rare).
                let mut log_sum = 0.0;
                let mut product = 1.0;
                for _ in 0..k {
                    product *= uniform_open01(rng);
                    if product < ERLANG_RENORMALIZE_BELOW {
                        log_sum += libm::log(product);
                        product = 1.0;
                    }
                }
                -(mean / f64::from(k)) * (log_sum + libm::log(product))
            }
            Distribution::Hyperexponential {
                p1, mean1, mean2, ..
            } => {
                let phase_mean = if uniform_open01(rng) < p1 {
                    mean1
                } else {
                    mean2
                };
                -phase_mean * libm::log(uniform_open01(rng))
            }
            Distribution::Pareto { shape, scale } => {
                scale * libm::pow(uniform_open01(rng), -1.0 / shape)
            }
            Distribution::BoundedPareto {
                shape,
                low,
                high,
                ratio_pow,
                one_minus_ratio_pow,
            } => {
                // Inverse CDF with u' = 1 − u, written to avoid cancellation.
                let base = ratio_pow + uniform_open01(rng) * one_minus_ratio_pow;
                (low * libm::pow(base, -1.0 / shape)).clamp(low, high)
            }
            Distribution::Weibull { shape, scale } => {
                scale * libm::pow(-libm::log(uniform_open01(rng)), 1.0 / shape)
            }
            Distribution::EmpiricalSamples { ref samples, .. } => {
                // Multiply-shift: maps 64 random bits onto 0..len (bias
                // at most len / 2^64).
                let idx = ((u128::from(rng.next_u64()) * samples.len() as u128) >> 64) as usize;
                samples[idx]
            }
            Distribution::EmpiricalCdf { ref points, .. } => {
                let u = uniform_open01(rng);
                // First point whose cumulative probability reaches u; the
                // last is exactly 1 > u, so it always exists.
                let i = points.partition_point(|&(_, p)| p < u);
                if i == 0 {
                    return points[0].0;
                }
                let (a, pa) = points[i - 1];
                let (b, pb) = points[i];
                // pa < u <= pb, so pb - pa > 0.
                (a + (b - a) * ((u - pa) / (pb - pa))).clamp(a, b)
            }
        }
    }

    /// One sample interpreted as seconds, rounded to the nanosecond.
    #[inline]
    pub fn sample_duration<R: Rng + ?Sized>(&self, rng: &mut R) -> SimDuration {
        SimDuration::from_secs_f64(self.sample(rng))
    }

    /// The distribution's family name for reports, e.g. `"erlang"`.
    pub fn name(&self) -> &'static str {
        match self {
            Distribution::Constant { .. } => "constant",
            Distribution::Exponential { .. } => "exponential",
            Distribution::Uniform { .. } => "uniform",
            Distribution::TruncatedNormal { .. } => "truncated_normal",
            Distribution::LogNormal { .. } => "lognormal",
            Distribution::Erlang { .. } => "erlang",
            Distribution::Hyperexponential { .. } => "hyperexponential",
            Distribution::Pareto { .. } => "pareto",
            Distribution::BoundedPareto { .. } => "bounded_pareto",
            Distribution::Weibull { .. } => "weibull",
            Distribution::EmpiricalSamples { .. } => "empirical_samples",
            Distribution::EmpiricalCdf { .. } => "empirical_cdf",
        }
    }
}

impl fmt::Display for Distribution {
    /// The name and defining parameters, e.g. `erlang(k=4, mean=1)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.name();
        match self {
            Distribution::Constant { value } => write!(f, "{name}(value={value})"),
            Distribution::Exponential { mean } => write!(f, "{name}(mean={mean})"),
            Distribution::Uniform { low, high } => write!(f, "{name}(low={low}, high={high})"),
            Distribution::TruncatedNormal {
                mean,
                std_dev,
                low,
                high,
                ..
            } => {
                write!(
                    f,
                    "{name}(mean={mean}, std_dev={std_dev}, low={low}, high={high})"
                )
            }
            Distribution::LogNormal { mu, sigma } => write!(f, "{name}(mu={mu}, sigma={sigma})"),
            Distribution::Erlang { k, mean } => write!(f, "{name}(k={k}, mean={mean})"),
            Distribution::Hyperexponential { mean, scv, .. } => {
                write!(f, "{name}(mean={mean}, scv={scv})")
            }
            Distribution::Pareto { shape, scale } => {
                write!(f, "{name}(shape={shape}, scale={scale})")
            }
            Distribution::BoundedPareto {
                shape, low, high, ..
            } => {
                write!(f, "{name}(shape={shape}, low={low}, high={high})")
            }
            Distribution::Weibull { shape, scale } => {
                write!(f, "{name}(shape={shape}, scale={scale})")
            }
            Distribution::EmpiricalSamples { samples, mean, .. } => {
                write!(f, "{name}(n={}, mean={mean})", samples.len())
            }
            Distribution::EmpiricalCdf { points, mean, .. } => {
                write!(f, "{name}(points={}, mean={mean})", points.len())
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Drawing ahead.

/// How many durations a [`DurationStream`] draws at a time.
///
/// Six makes the whole stream one 64-byte cache line (six values, a cursor
/// and a pointer), which matters when a model has thousands of them.
const DRAW_AHEAD: usize = 6;

/// A distribution bound to its own random stream: hands out the durations
/// `distribution.sample_duration(&mut rng)` would give, in the same order,
/// but draws them a few at a time, ahead of use.
///
/// This changes no value: the n-th [`draw`](Self::draw) returns the n-th
/// sample of the stream, whenever it is asked for. It only changes *when*
/// the work is done. Sampling an exponential costs a `libm::log` whose
/// latency (a division and a degree-14 polynomial, ~70 cycles) sits on the
/// event loop's critical path when the sample is drawn as the event is
/// handled (the new event's time decides where it goes in the event list).
/// Drawn in a batch, the logarithms are independent and overlap, and the
/// handler only loads a ready value. On the M/M/4 benchmark this cut 12–20%
/// of the time per event.
///
/// The distribution and the generator (about 380 bytes, mostly ChaCha's
/// block buffer) are boxed: only every sixth draw touches them, so a model
/// with thousands of streams keeps just the 64-byte front in its hot data.
#[derive(Clone, Debug)]
pub struct DurationStream {
    ahead: [SimDuration; DRAW_AHEAD],
    /// Index of the next value in `ahead` to hand out; `DRAW_AHEAD` when all
    /// have been handed out.
    next: usize,
    source: Box<(Distribution, crate::rng::StreamRng)>,
}

impl DurationStream {
    /// Draws from `distribution` with `rng`, which nothing else should use.
    pub fn new(distribution: Distribution, rng: crate::rng::StreamRng) -> Self {
        DurationStream {
            ahead: [SimDuration::ZERO; DRAW_AHEAD],
            next: DRAW_AHEAD,
            source: Box::new((distribution, rng)),
        }
    }

    /// The next duration of the stream.
    #[inline]
    pub fn draw(&mut self) -> SimDuration {
        if self.next == DRAW_AHEAD {
            self.refill();
        }
        let value = self.ahead[self.next];
        self.next += 1;
        value
    }

    /// The distribution drawn from.
    pub fn distribution(&self) -> &Distribution {
        &self.source.0
    }

    #[inline(never)]
    fn refill(&mut self) {
        let (distribution, rng) = &mut *self.source;
        for slot in &mut self.ahead {
            *slot = distribution.sample_duration(rng);
        }
        self.next = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{RngStreams, StreamKey, StreamRng};

    /// Samples per statistical check.
    const N: usize = 200_000;

    fn rng(name: &str) -> StreamRng {
        RngStreams::new(20_240_601).stream(StreamKey::named(name))
    }

    fn draw(d: &Distribution, name: &str, n: usize) -> Vec<f64> {
        let mut r = rng(name);
        (0..n).map(|_| d.sample(&mut r)).collect()
    }

    /// Sample mean, population variance and fourth central moment.
    fn moments(xs: &[f64]) -> (f64, f64, f64) {
        let n = xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / n;
        let (mut m2, mut m4) = (0.0, 0.0);
        for &x in xs {
            let d2 = (x - mean) * (x - mean);
            m2 += d2;
            m4 += d2 * d2;
        }
        (mean, m2 / n, m4 / n)
    }

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * a.abs().max(b.abs())
    }

    /// Draws `N` samples and checks the sample mean and SCV against the
    /// analytic `mean()` and `scv()`.
    ///
    /// Tolerance: 6 standard errors, estimated from the sample itself. The
    /// mean's SE is sqrt(var/n). The sample variance's SE is
    /// sqrt((m4 − var²)/n), and by the delta method the SCV's error is
    /// d(var)/mean² − 2·var·d(mean)/mean³; the two terms are bounded
    /// separately (conservative). Only used where the fourth moment is
    /// finite, so these SEs are meaningful. At 6 SE a correct implementation
    /// essentially never fails under any seed, while a wrong formula (off by
    /// more than ~1% at n = 200 000) is caught.
    fn check_mean_scv(d: &Distribution, name: &str) {
        let xs = draw(d, name, N);
        assert!(
            xs.iter().all(|x| x.is_finite() && *x >= 0.0),
            "{d}: bad sample"
        );
        let (m, v, m4) = moments(&xs);
        let n = N as f64;
        let se_mean = (v / n).sqrt();
        assert!(
            (m - d.mean()).abs() <= 6.0 * se_mean + 1e-12 * d.mean(),
            "{d}: sample mean {m} vs analytic {} (se {se_mean})",
            d.mean()
        );
        let se_var = ((m4 - v * v).max(0.0) / n).sqrt();
        let se_scv = se_var / (m * m) + 2.0 * v * se_mean / (m * m * m);
        let scv_hat = v / (m * m);
        assert!(
            (scv_hat - d.scv()).abs() <= 6.0 * se_scv + 1e-12,
            "{d}: sample scv {scv_hat} vs analytic {} (se {se_scv})",
            d.scv()
        );
        // second_moment() agrees with mean() and scv().
        let m2 = d.second_moment();
        let expect = d.mean() * d.mean() * (1.0 + d.scv());
        assert!(
            close(m2, expect, 1e-9),
            "{d}: second moment {m2} vs {expect}"
        );
    }

    /// Checks that the fraction of samples at most `x` is `p` within 6
    /// binomial standard errors sqrt(p(1−p)/n): a distribution-free check of
    /// a quantile, usable for heavy tails where moments are useless.
    fn check_quantile(xs: &[f64], x: f64, p: f64, what: &str) {
        let n = xs.len() as f64;
        let frac = xs.iter().filter(|&&s| s <= x).count() as f64 / n;
        let se = (p * (1.0 - p) / n).sqrt();
        assert!(
            (frac - p).abs() <= 6.0 * se,
            "{what}: P(X <= {x}) = {frac}, expected {p}"
        );
    }

    #[test]
    fn sample_moments_match_analytic() {
        let inf = f64::INFINITY;
        let cases = [
            Distribution::constant(2.5),
            Distribution::exponential(0.25),
            Distribution::uniform(1.0, 3.0),
            Distribution::uniform(0.0, 2.0),
            // Rejection path (mass >= 0.3), one- and two-sided.
            Distribution::truncated_normal(1.0, 0.5, 0.0, inf),
            Distribution::truncated_normal(2.0, 1.0, 1.0, 4.0),
            // Inverse-CDF path: upper tail, lower tail, narrow central.
            Distribution::truncated_normal(0.0, 1.0, 3.0, inf),
            Distribution::truncated_normal(10.0, 1.0, 0.0, 7.0),
            Distribution::truncated_normal(5.0, 2.0, 4.9, 5.1),
            Distribution::lognormal(0.0, 0.5),
            Distribution::lognormal_mean_p99(1.0, 3.0),
            Distribution::erlang(1, 2.0),
            Distribution::erlang(4, 1.0),
            Distribution::erlang(50, 3.0),
            Distribution::hyperexponential(1.0, 4.0),
            Distribution::hyperexponential(2.0, 1.0),
            Distribution::pareto(6.0, 1.0),
            Distribution::bounded_pareto(1.5, 1.0, 100.0),
            Distribution::bounded_pareto(1.0, 1.0, 1000.0),
            Distribution::bounded_pareto(2.0, 0.5, 50.0),
            Distribution::bounded_pareto(0.5, 1.0, 10.0),
            Distribution::weibull(0.7, 2.0),
            Distribution::weibull(2.0, 1.0),
            Distribution::weibull(5.0, 3.0),
            Distribution::empirical_samples(vec![0.5, 1.0, 1.0, 4.0, 0.0]),
            Distribution::empirical_cdf(vec![
                (1.0, 0.2),
                (2.0, 0.5),
                (2.0, 0.6),
                (4.0, 0.6),
                (10.0, 1.0),
            ]),
        ];
        for (i, d) in cases.into_iter().enumerate() {
            let d = d.unwrap_or_else(|e| panic!("case {i}: {e}"));
            check_mean_scv(&d, &format!("moments-{i}"));
        }
    }

    #[test]
    fn known_analytic_values() {
        let e = Distribution::erlang(4, 1.0).unwrap();
        assert_eq!(e.scv(), 0.25);
        assert_eq!(e.second_moment(), 1.25);

        let h = Distribution::hyperexponential(1.0, 4.0).unwrap();
        assert!(close(h.second_moment(), 5.0, 1e-15));
        assert_eq!(h.mean(), 1.0);
        if let Distribution::Hyperexponential {
            p1, mean1, mean2, ..
        } = h
        {
            // Balanced means: p1·mean1 = p2·mean2 = mean/2.
            assert!(close(p1 * mean1, 0.5, 1e-15) && close((1.0 - p1) * mean2, 0.5, 1e-12));
            assert!(close(
                2.0 * (p1 * mean1 * mean1 + (1.0 - p1) * mean2 * mean2),
                5.0,
                1e-12
            ));
        }
        let h1 = Distribution::hyperexponential(3.0, 1.0).unwrap();
        assert!(close(
            h1.second_moment(),
            Distribution::exponential(3.0).unwrap().second_moment(),
            1e-15
        ));

        let u = Distribution::uniform(0.0, 1.0).unwrap();
        assert!(close(u.scv(), 1.0 / 3.0, 1e-15));

        // Standard normal truncated at 0: mean sqrt(2/π), variance 1 − 2/π.
        let t = Distribution::truncated_normal(0.0, 1.0, 0.0, f64::INFINITY).unwrap();
        let pi = std::f64::consts::PI;
        assert!(close(t.mean(), (2.0 / pi).sqrt(), 1e-14));
        assert!(close(t.scv(), (1.0 - 2.0 / pi) / (2.0 / pi), 1e-13));
        // A narrow interval is almost uniform: variance ≈ width²/12.
        let narrow = Distribution::truncated_normal(5.0, 2.0, 4.9, 5.1).unwrap();
        let var = narrow.scv() * narrow.mean() * narrow.mean();
        assert!(close(var, 0.04 / 12.0, 1e-3), "{var}");
        assert!(close(narrow.mean(), 5.0, 1e-12));
        // The two variance methods (Simpson below width 1 sd, closed form
        // above) agree at the switch.
        let a = Distribution::truncated_normal(0.0, 1.0, 0.5, 1.5 - 1e-12).unwrap();
        let b = Distribution::truncated_normal(0.0, 1.0, 0.5, 1.5 + 1e-12).unwrap();
        assert!(close(a.scv(), b.scv(), 1e-9), "{} vs {}", a.scv(), b.scv());

        let p = Distribution::pareto(3.0, 2.0).unwrap();
        assert_eq!(p.mean(), 3.0);
        assert!(close(p.scv(), 1.0 / 3.0, 1e-15));
        assert_eq!(Distribution::pareto(2.0, 1.0).unwrap().scv(), f64::INFINITY);
        assert_eq!(
            Distribution::pareto(1.5, 1.0).unwrap().second_moment(),
            f64::INFINITY
        );

        let l = Distribution::lognormal(0.0, 1.0).unwrap();
        assert!(close(l.mean(), libm::exp(0.5), 1e-15));
        assert!(close(l.scv(), libm::exp(1.0) - 1.0, 1e-14));

        let c = Distribution::constant(0.0).unwrap();
        assert_eq!((c.mean(), c.scv(), c.second_moment()), (0.0, 0.0, 0.0));
    }

    #[test]
    fn weibull_shape_one_is_exponential() {
        let w = Distribution::weibull(1.0, 3.0).unwrap();
        let e = Distribution::exponential(3.0).unwrap();
        assert!(close(w.mean(), 3.0, 1e-15));
        assert!(close(w.scv(), 1.0, 1e-14));
        assert!(close(w.second_moment(), e.second_moment(), 1e-15));
        // Same uniforms in, same samples out: λ·(−ln u)^1 = −mean·ln u.
        let (mut r1, mut r2) = (rng("weibull1"), rng("weibull1"));
        for _ in 0..10_000 {
            assert_eq!(w.sample(&mut r1).to_bits(), e.sample(&mut r2).to_bits());
        }
        // And a Weibull of shape 2 (Rayleigh): mean = scale·sqrt(π)/2.
        let r = Distribution::weibull(2.0, 1.0).unwrap();
        assert!(close(r.mean(), std::f64::consts::PI.sqrt() / 2.0, 1e-14));
        assert!(close(r.scv(), 4.0 / std::f64::consts::PI - 1.0, 1e-13));
    }

    #[test]
    fn lognormal_mean_p99_round_trips() {
        for (mean, p99) in [(1.0, 5.0), (0.2, 0.5), (3.0, 40.0)] {
            let d = Distribution::lognormal_mean_p99(mean, p99).unwrap();
            assert!(close(d.mean(), mean, 1e-13), "{d}: mean {}", d.mean());
            let Distribution::LogNormal { mu, sigma } = d else {
                panic!("not lognormal")
            };
            let analytic_p99 = libm::exp(mu + Z99 * sigma);
            assert!(close(analytic_p99, p99, 1e-13), "{d}: p99 {analytic_p99}");
            let mut xs = draw(&d, "lognormal-p99", N);
            check_quantile(&xs, p99, 0.99, &d.to_string());
            // The sample 99th percentile: SE ≈ sqrt(.99·.01/n)/(φ(z)·σ)
            // relative ≈ 0.83%/σ; allow 5% (> 4 SE for every σ here, σ ≥ 0.39).
            xs.sort_by(f64::total_cmp);
            let q = xs[(0.99 * N as f64) as usize];
            assert!(close(q, p99, 0.05), "{d}: sample p99 {q} vs {p99}");
            let (m, v, _) = moments(&xs);
            assert!(
                (m - mean).abs() <= 6.0 * (v / N as f64).sqrt(),
                "{d}: sample mean {m}"
            );
        }
        // The largest ratio is allowed (sigma = z).
        let edge = libm::exp(0.5 * Z99 * Z99) * 0.999_999_999;
        assert!(Distribution::lognormal_mean_p99(1.0, edge).is_ok());
    }

    #[test]
    fn heavy_tailed_pareto_quantiles() {
        // Shape <= 2: infinite variance, so only quantiles are checked.
        // P(X <= x) = 1 − (scale/x)^shape.
        for shape in [1.2, 1.5, 2.0] {
            let d = Distribution::pareto(shape, 2.0).unwrap();
            let xs = draw(&d, "pareto-heavy", N);
            assert!(xs.iter().all(|&x| x >= 2.0));
            for p in [0.1, 0.5, 0.9, 0.99] {
                let x = 2.0 * libm::pow(1.0 - p, -1.0 / shape);
                check_quantile(&xs, x, p, &d.to_string());
            }
        }
        // Shape 3: finite variance (mean checkable), infinite fourth moment.
        let d = Distribution::pareto(3.0, 1.0).unwrap();
        let xs = draw(&d, "pareto-3", N);
        let (m, v, _) = moments(&xs);
        assert!(
            (m - d.mean()).abs() <= 6.0 * (v / N as f64).sqrt(),
            "mean {m}"
        );
    }

    /// Composite Simpson's rule over [a, b] with `panels` (even) panels.
    fn simpson(f: impl Fn(f64) -> f64, a: f64, b: f64, panels: usize) -> f64 {
        let h = (b - a) / panels as f64;
        let mut sum = f(a) + f(b);
        for i in 1..panels {
            sum += f(a + h * i as f64) * if i % 2 == 1 { 4.0 } else { 2.0 };
        }
        sum * h / 3.0
    }

    #[test]
    fn bounded_pareto_moments_match_numeric_integration() {
        // Integrate pdf·xⁿ in y = ln x (smooth, so Simpson converges fast),
        // covering the special cases shape = 1 and shape = 2 of the
        // closed form.
        for (shape, low, high) in [
            (1.0, 1.0, 1000.0),
            (2.0, 0.5, 50.0),
            (1.5, 1.0, 100.0),
            (0.5, 2.0, 3.0),
            (2.5, 1.0, 1e6),
        ] {
            let d = Distribution::bounded_pareto(shape, low, high).unwrap();
            let c = 1.0 - libm::pow(low / high, shape);
            let pdf = |x: f64| shape * libm::pow(low, shape) * libm::pow(x, -shape - 1.0) / c;
            let moment = |n: i32| {
                simpson(
                    |y| {
                        let x = libm::exp(y);
                        pdf(x) * x.powi(n) * x
                    },
                    libm::log(low),
                    libm::log(high),
                    20_000,
                )
            };
            assert!(close(moment(0), 1.0, 1e-10), "{d}: mass {}", moment(0));
            assert!(
                close(d.mean(), moment(1), 1e-10),
                "{d}: mean {} vs {}",
                d.mean(),
                moment(1)
            );
            assert!(
                close(d.second_moment(), moment(2), 1e-10),
                "{d}: E[X^2] {} vs {}",
                d.second_moment(),
                moment(2)
            );
            let xs = draw(&d, "bp-range", 10_000);
            assert!(xs.iter().all(|&x| (low..=high).contains(&x)));
        }
    }

    #[test]
    fn empirical_cdf_moments_match_numeric_integration() {
        let points = vec![(1.0, 0.2), (2.0, 0.5), (2.0, 0.6), (4.0, 0.6), (10.0, 1.0)];
        let d = Distribution::empirical_cdf(points.clone()).unwrap();
        // By hand: atom .2 at 1, .3 uniform on [1,2], atom .1 at 2, nothing
        // on (2,4), .4 uniform on [4,10].
        assert!(close(
            d.mean(),
            0.2 + 0.3 * 1.5 + 0.1 * 2.0 + 0.4 * 7.0,
            1e-15
        ));
        // Independently: E[X] = ∫ (1 − F), E[X²] = ∫ 2x(1 − F), with F the
        // right-continuous piecewise-linear CDF, by the midpoint rule.
        let cdf = |x: f64| {
            let Some(i) = points.iter().rposition(|&(v, _)| v <= x) else {
                return 0.0;
            };
            if i + 1 == points.len() {
                return 1.0;
            }
            let ((a, pa), (b, pb)) = (points[i], points[i + 1]);
            pa + (pb - pa) * (x - a) / (b - a)
        };
        let steps = 1_000_000;
        let h = 10.0 / steps as f64;
        let (mut m1, mut m2) = (0.0, 0.0);
        for i in 0..steps {
            let x = (i as f64 + 0.5) * h;
            let s = 1.0 - cdf(x);
            m1 += s * h;
            m2 += 2.0 * x * s * h;
        }
        assert!(close(d.mean(), m1, 1e-6), "{} vs {m1}", d.mean());
        assert!(
            close(d.second_moment(), m2, 1e-6),
            "{} vs {m2}",
            d.second_moment()
        );
        // Samples respect the atoms and the gap.
        let xs = draw(&d, "ecdf", N);
        assert!(
            xs.iter()
                .all(|&x| (1.0..=2.0).contains(&x) || (4.0..=10.0).contains(&x))
        );
        check_quantile(&xs, 1.0, 0.2, "atom at 1");
        check_quantile(&xs, 2.0, 0.6, "atom at 2");
        check_quantile(&xs, 7.0, 0.8, "middle of last segment");

        // A single point is a constant; a last probability within 1e-9 of 1
        // is accepted and snapped to 1.
        let one = Distribution::empirical_cdf(vec![(3.0, 1.0)]).unwrap();
        assert_eq!((one.mean(), one.scv()), (3.0, 0.0));
        assert_eq!(one.sample(&mut rng("one")), 3.0);
        let snapped = Distribution::empirical_cdf(vec![(0.0, 0.0), (1.0, 1.0 - 5e-10)]).unwrap();
        assert!(close(snapped.mean(), 0.5, 1e-15));
    }

    #[test]
    fn empirical_samples_picks_each_sample() {
        let d = Distribution::empirical_samples(vec![1.0, 2.0, 3.0, 4.0]).unwrap();
        assert_eq!(d.mean(), 2.5);
        assert!(close(d.scv(), 1.25 / 6.25, 1e-15)); // population variance 1.25
        let mut counts = [0usize; 4];
        for x in draw(&d, "picks", 40_000) {
            counts[x as usize - 1] += 1;
        }
        // Each count is Binomial(40000, 1/4): sd ≈ 87; allow 6 sd.
        assert!(
            counts.iter().all(|&c| c.abs_diff(10_000) < 520),
            "{counts:?}"
        );
    }

    #[test]
    fn samples_stay_in_support() {
        let cases = [
            (
                Distribution::uniform(1.0, 1.0 + 1e-9).unwrap(),
                1.0,
                1.0 + 1e-9,
            ),
            (
                Distribution::truncated_normal(0.0, 1.0, 4.5, 5.0).unwrap(),
                4.5,
                5.0,
            ),
            (
                Distribution::truncated_normal(1.0, 1e-3, 0.0, 1.0 + 1e-9).unwrap(),
                0.0,
                1.0 + 1e-9,
            ),
            (
                Distribution::truncated_normal(0.0, 10.0, 0.0, 0.001).unwrap(),
                0.0,
                0.001,
            ),
            (
                Distribution::bounded_pareto(1.0, 1.0, 1.0 + 1e-12).unwrap(),
                1.0,
                1.0 + 1e-12,
            ),
            (Distribution::pareto(1.01, 1.0).unwrap(), 1.0, f64::INFINITY),
            (
                Distribution::erlang(MAX_ERLANG_K, 1.0).unwrap(),
                0.0,
                f64::INFINITY,
            ),
        ];
        for (d, low, high) in cases {
            let mut r = rng("support");
            for _ in 0..2_000 {
                let x = d.sample(&mut r);
                assert!(x >= low && x <= high && !x.is_nan(), "{d}: sample {x}");
            }
        }
    }

    #[test]
    fn duration_stream_draws_the_same_sequence() {
        for d in [
            Distribution::exponential(2.0).unwrap(),
            Distribution::erlang(3, 1.5).unwrap(),
            Distribution::uniform(0.5, 1.0).unwrap(),
        ] {
            let mut direct = rng("ahead");
            let mut stream = DurationStream::new(d.clone(), rng("ahead"));
            for i in 0..100 {
                assert_eq!(
                    stream.draw(),
                    d.sample_duration(&mut direct),
                    "{d}, draw {i}"
                );
            }
            assert_eq!(stream.distribution(), &d);
        }
        assert_eq!(std::mem::size_of::<DurationStream>(), 64, "one cache line");
    }

    #[test]
    fn same_seed_same_samples() {
        let inf = f64::INFINITY;
        let all = [
            Distribution::constant(1.0),
            Distribution::exponential(1.0),
            Distribution::uniform(0.0, 1.0),
            Distribution::truncated_normal(1.0, 1.0, 0.0, inf),
            Distribution::truncated_normal(0.0, 1.0, 4.0, inf),
            Distribution::lognormal(0.0, 1.0),
            Distribution::erlang(3, 1.0),
            Distribution::hyperexponential(1.0, 9.0),
            Distribution::pareto(2.5, 1.0),
            Distribution::bounded_pareto(1.1, 1.0, 1e4),
            Distribution::weibull(0.5, 1.0),
            Distribution::empirical_samples(vec![1.0, 2.0, 5.0]),
            Distribution::empirical_cdf(vec![(0.0, 0.0), (1.0, 0.5), (3.0, 1.0)]),
        ];
        for d in all {
            let d = d.unwrap();
            let a: Vec<u64> = draw(&d, "det", 1000)
                .into_iter()
                .map(f64::to_bits)
                .collect();
            let b: Vec<u64> = draw(&d, "det", 1000)
                .into_iter()
                .map(f64::to_bits)
                .collect();
            assert_eq!(a, b, "{d}");
            let mut r = rng("det");
            let want = SimDuration::from_secs_f64(d.sample(&mut rng("det")));
            assert_eq!(d.sample_duration(&mut r), want, "{d}");
        }
        let c = Distribution::constant(1.5).unwrap();
        assert_eq!(
            c.sample_duration(&mut rng("x")),
            SimDuration::from_millis(1500)
        );
    }

    #[test]
    fn display_and_names() {
        assert_eq!(
            Distribution::exponential(0.25).unwrap().to_string(),
            "exponential(mean=0.25)"
        );
        assert_eq!(
            Distribution::erlang(4, 1.0).unwrap().to_string(),
            "erlang(k=4, mean=1)"
        );
        assert_eq!(
            Distribution::hyperexponential(1.0, 4.0)
                .unwrap()
                .to_string(),
            "hyperexponential(mean=1, scv=4)"
        );
        assert_eq!(
            Distribution::truncated_normal(1.0, 0.5, 0.0, f64::INFINITY)
                .unwrap()
                .to_string(),
            "truncated_normal(mean=1, std_dev=0.5, low=0, high=inf)"
        );
        assert_eq!(Distribution::weibull(2.0, 1.0).unwrap().name(), "weibull");
        assert_eq!(
            Distribution::bounded_pareto(1.0, 1.0, 2.0).unwrap().name(),
            "bounded_pareto"
        );
    }

    /// Asserts that `result` is an error whose message names `param`.
    #[track_caller]
    fn rejects(result: Result<Distribution>, param: &str) {
        match result {
            Ok(d) => panic!("accepted {d}, expected an error about {param}"),
            Err(e) => assert!(
                e.to_string().contains(param),
                "error {e:?} does not name {param}"
            ),
        }
    }

    #[test]
    fn invalid_parameters_are_errors() {
        let (nan, inf) = (f64::NAN, f64::INFINITY);
        assert_eq!(
            Distribution::exponential(-1.0).unwrap_err().to_string(),
            "mean must be positive and finite, got -1"
        );
        rejects(Distribution::constant(-1.0), "value");
        rejects(Distribution::constant(nan), "value");
        rejects(Distribution::constant(inf), "value");
        for bad in [-1.0, 0.0, nan, inf] {
            rejects(Distribution::exponential(bad), "mean");
            rejects(Distribution::erlang(4, bad), "mean");
            rejects(Distribution::hyperexponential(bad, 4.0), "mean");
        }
        rejects(Distribution::uniform(2.0, 1.0), "low");
        rejects(Distribution::uniform(1.0, 1.0), "low");
        rejects(Distribution::uniform(-1.0, 1.0), "low");
        rejects(Distribution::uniform(nan, 1.0), "low");
        rejects(Distribution::uniform(0.0, inf), "high");

        rejects(
            Distribution::truncated_normal(0.0, 1.0, 10.0, inf),
            "probability",
        );
        rejects(
            Distribution::truncated_normal(0.0, 1.0, 1.0, 1.0 + 1e-7),
            "probability",
        );
        rejects(Distribution::truncated_normal(nan, 1.0, 0.0, inf), "mean");
        rejects(Distribution::truncated_normal(inf, 1.0, 0.0, inf), "mean");
        rejects(
            Distribution::truncated_normal(1.0, 0.0, 0.0, inf),
            "std_dev",
        );
        rejects(
            Distribution::truncated_normal(1.0, nan, 0.0, inf),
            "std_dev",
        );
        rejects(Distribution::truncated_normal(1.0, 1.0, -1.0, inf), "low");
        rejects(Distribution::truncated_normal(1.0, 1.0, 2.0, 1.0), "high");
        rejects(Distribution::truncated_normal(1.0, 1.0, 0.0, nan), "high");

        rejects(Distribution::lognormal(0.0, 0.0), "sigma");
        rejects(Distribution::lognormal(0.0, -1.0), "sigma");
        rejects(Distribution::lognormal(nan, 1.0), "mu");
        rejects(Distribution::lognormal(inf, 1.0), "mu");
        rejects(Distribution::lognormal(1000.0, 1.0), "mu");
        rejects(Distribution::lognormal_mean_p99(1.0, 1.0), "p99");
        rejects(Distribution::lognormal_mean_p99(1.0, 0.5), "p99");
        rejects(Distribution::lognormal_mean_p99(1.0, 20.0), "p99");
        rejects(Distribution::lognormal_mean_p99(1.0, nan), "p99");
        rejects(Distribution::lognormal_mean_p99(-1.0, 2.0), "mean");

        rejects(Distribution::erlang(0, 1.0), "k");
        rejects(Distribution::erlang(MAX_ERLANG_K + 1, 1.0), "k");

        for bad in [0.5, 0.0, -3.0, nan, inf] {
            rejects(Distribution::hyperexponential(1.0, bad), "scv");
        }

        rejects(Distribution::pareto(1.0, 1.0), "shape");
        rejects(Distribution::pareto(0.5, 1.0), "shape");
        rejects(Distribution::pareto(nan, 1.0), "shape");
        rejects(Distribution::pareto(2.0, 0.0), "scale");
        rejects(Distribution::pareto(2.0, inf), "scale");
        rejects(Distribution::bounded_pareto(0.0, 1.0, 2.0), "shape");
        rejects(Distribution::bounded_pareto(1.0, 0.0, 2.0), "low");
        rejects(Distribution::bounded_pareto(1.0, 2.0, 1.0), "low");
        rejects(Distribution::bounded_pareto(1.0, 1.0, inf), "high");

        rejects(Distribution::weibull(0.0, 1.0), "shape");
        rejects(Distribution::weibull(nan, 1.0), "shape");
        rejects(Distribution::weibull(1.0, -2.0), "scale");
        rejects(Distribution::weibull(0.001, 1.0), "shape");

        rejects(Distribution::empirical_samples(vec![]), "samples");
        rejects(Distribution::empirical_samples(vec![1.0, -1.0]), "samples");
        rejects(Distribution::empirical_samples(vec![nan]), "samples");
        rejects(Distribution::empirical_samples(vec![inf]), "samples");

        rejects(Distribution::empirical_cdf(vec![]), "points");
        rejects(Distribution::empirical_cdf(vec![(1.0, 0.5)]), "points");
        rejects(
            Distribution::empirical_cdf(vec![(1.0, 0.5), (2.0, 0.99)]),
            "points",
        );
        rejects(
            Distribution::empirical_cdf(vec![(1.0, 0.5), (0.5, 1.0)]),
            "points",
        );
        rejects(
            Distribution::empirical_cdf(vec![(1.0, 0.6), (2.0, 0.5), (3.0, 1.0)]),
            "points",
        );
        rejects(Distribution::empirical_cdf(vec![(1.0, 1.5)]), "points");
        rejects(Distribution::empirical_cdf(vec![(-1.0, 1.0)]), "points");
        rejects(Distribution::empirical_cdf(vec![(nan, 1.0)]), "points");
        rejects(Distribution::empirical_cdf(vec![(1.0, nan)]), "points");
    }

    #[test]
    fn inverse_normal_cdf_is_accurate() {
        for p in [
            1e-20, 1e-10, 1e-6, 0.001, 0.02, 0.024_25, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99,
        ] {
            let x = inv_normal_cdf(p);
            assert!(
                close(normal_cdf(x), p, 1e-13),
                "p={p}: Phi({x}) = {}",
                normal_cdf(x)
            );
        }
        assert!(close(inv_normal_cdf(0.99), Z99, 1e-14));
    }
}
