//! Arrival processes for client populations: how many requests per second a
//! population sends at each moment of simulated time, and when each one comes.
//!
//! Real traffic is rarely a constant-rate Poisson stream: it follows a daily
//! cycle, ramps up during a rollout, jumps during a flash crowd, or replays a
//! recorded trace. A [`RateProfile`] describes such a time-varying rate
//! (constant, piecewise-linear, diurnal, or a step-function trace, each with
//! optional multiplicative spikes), validated once at construction and
//! reporting bad parameters as [`ArrivalError`]s that name the parameter. An
//! [`ArrivalProcess`] turns a profile into arrival times: a non-homogeneous
//! Poisson process sampled by thinning (Lewis–Shedler) against a piecewise
//! constant bound, so the sampled process is exact whatever the profile's
//! shape, and a constant profile costs one logarithm per arrival.
//!
//! File parsing (a trace CSV of `(time, rate)` rows) belongs to the scenario
//! layer; this module takes already-parsed points. As everywhere in the
//! engine, uniforms come from [`uniform_open01`] and transcendental functions
//! from the pure-Rust `libm` crate, so a seed gives bit-identical arrivals on
//! every target.

use std::f64::consts::TAU;

use rand::Rng;

use crate::param::{ParamError, non_negative, positive};
use crate::rng::uniform_open01;
use crate::time::{SimDuration, SimTime};

/// Each linear piece of a piecewise-linear profile whose end rates differ is
/// split into this many thinning segments, so the bound stays within 1/8 of
/// the piece's rise of the true rate.
const LINEAR_SUBDIVISIONS: u32 = 8;
/// A diurnal profile is thinned in segments of this fraction of its period,
/// aligned to the peak, so the bound is exact at one end of each segment.
const DIURNAL_SEGMENTS_PER_PERIOD: f64 = 8.0;

/// Why a rate profile could not be built (see [`ParamError`]).
pub type ArrivalError = ParamError;

type Result<T> = std::result::Result<T, ArrivalError>;

/// The shape of a profile before spikes are applied.
#[derive(Clone, Debug, PartialEq)]
enum Base {
    /// Always this rate.
    Constant(f64),
    /// Linear interpolation between `(time_s, rate)` points, constant outside.
    Linear(Vec<(f64, f64)>),
    /// `points[i].1` on `[t_i, t_{i+1})`; the first rate before the first
    /// point and the last rate after the last.
    Step(Vec<(f64, f64)>),
    /// `mean * (1 + amplitude * cos(2π (t - peak_at) / period))`.
    Diurnal {
        mean: f64,
        amplitude: f64,
        period: f64,
        peak_at: f64,
    },
}

/// A multiplicative window `[start, end)`.
#[derive(Clone, Debug, PartialEq)]
struct Spike {
    start: f64,
    end: f64,
    multiplier: f64,
}

/// Arrival rate over simulated time (requests per second), validated.
///
/// Times are seconds since the start of the run. Build one with
/// [`RateProfile::constant`], [`RateProfile::piecewise_linear`],
/// [`RateProfile::diurnal`] or [`RateProfile::trace`], then add flash crowds
/// with [`RateProfile::with_spike`].
#[derive(Clone, Debug, PartialEq)]
pub struct RateProfile {
    base: Base,
    spikes: Vec<Spike>,
    /// Sorted, deduplicated times where the rate or its slope may jump: the
    /// base's point times and the spike edges. Between two consecutive
    /// breakpoints the spike multiplier is constant and the base is constant,
    /// linear or a cosine.
    breaks: Vec<f64>,
}

impl RateProfile {
    /// A constant rate, which must be positive and finite.
    pub fn constant(rate: f64) -> Result<Self> {
        positive("rate", rate)?;
        Ok(Self::from_base(Base::Constant(rate)))
    }

    /// Linear interpolation between `(time_s, rate)` points, with the first
    /// rate before the first point and the last rate after the last.
    ///
    /// There must be at least one point; times must be finite, non-negative
    /// and strictly increasing; rates must be finite and non-negative, and at
    /// least one must be positive.
    pub fn piecewise_linear(points: Vec<(f64, f64)>) -> Result<Self> {
        validate_points(&points)?;
        Ok(Self::from_base(Base::Linear(points)))
    }

    /// A daily (or any periodic) cycle:
    /// `rate(t) = mean_rate * (1 + amplitude * cos(2π (t - peak_at_s) / period_s))`.
    ///
    /// `mean_rate` and `period_s` must be positive and finite, `amplitude`
    /// within `[0, 1]` (so the rate never goes negative), and `peak_at_s`
    /// finite.
    pub fn diurnal(mean_rate: f64, amplitude: f64, period_s: f64, peak_at_s: f64) -> Result<Self> {
        positive("mean_rate", mean_rate)?;
        non_negative("amplitude", amplitude)?;
        if amplitude > 1.0 {
            return Err(ArrivalError::TooLarge {
                param: "amplitude",
                max: 1.0,
                value: amplitude,
            });
        }
        positive("period_s", period_s)?;
        if !peak_at_s.is_finite() {
            return Err(ArrivalError::NotFinite {
                param: "peak_at_s",
                value: peak_at_s,
            });
        }
        Ok(Self::from_base(Base::Diurnal {
            mean: mean_rate,
            amplitude,
            period: period_s,
            peak_at: peak_at_s,
        }))
    }

    /// A step function replaying a recorded trace: the rate is `points[i].1`
    /// on `[t_i, t_{i+1})`, the last rate holds after the last point and the
    /// first rate before the first. Validated like
    /// [`RateProfile::piecewise_linear`].
    pub fn trace(points: Vec<(f64, f64)>) -> Result<Self> {
        validate_points(&points)?;
        Ok(Self::from_base(Base::Step(points)))
    }

    /// The same profile with the rate multiplied by `multiplier` on
    /// `[start_s, start_s + duration_s)`: a flash crowd (or, with a
    /// multiplier below 1, an outage of the clients).
    ///
    /// `start_s` must be finite and non-negative, `duration_s` positive and
    /// finite, `multiplier` finite and non-negative. Spikes may be added
    /// repeatedly; where they overlap their multipliers multiply.
    pub fn with_spike(mut self, start_s: f64, duration_s: f64, multiplier: f64) -> Result<Self> {
        non_negative("start_s", start_s)?;
        positive("duration_s", duration_s)?;
        non_negative("multiplier", multiplier)?;
        let end = start_s + duration_s;
        if !end.is_finite() {
            return Err(ArrivalError::Invalid {
                param: "duration_s",
                reason: format!(
                    "start_s + duration_s must be finite, got {start_s} + {duration_s}"
                ),
            });
        }
        self.spikes.push(Spike {
            start: start_s,
            end,
            multiplier,
        });
        self.breaks.push(start_s);
        self.breaks.push(end);
        sort_dedup(&mut self.breaks);
        Ok(self)
    }

    /// The rate (per second) at `t_s` seconds.
    pub fn rate_at(&self, t_s: f64) -> f64 {
        let m = self.multiplier_at(t_s);
        if m == 0.0 {
            return 0.0;
        }
        self.base_at(t_s) * m
    }

    /// An upper bound of the rate on `[from_s, to_s]`, exact for every
    /// profile this module builds (up to floating-point rounding). For an
    /// empty or reversed interval, the rate at `from_s`.
    pub fn max_rate_between(&self, from_s: f64, to_s: f64) -> f64 {
        if !is_forward(from_s, to_s) {
            return self.rate_at(from_s);
        }
        let mut max = 0.0_f64;
        let mut a = from_s;
        loop {
            let b = self.next_break_after(a).min(to_s);
            max = max.max(self.segment_max(a, b));
            if b >= to_s {
                break;
            }
            a = b;
        }
        if to_s.is_finite() {
            max = max.max(self.rate_at(to_s));
        }
        max
    }

    /// The expected number of arrivals in `[from_s, to_s]`: the integral of
    /// the rate, exact (in closed form) for every profile. Zero for an empty
    /// or reversed interval; infinite if `to_s` is infinite and the rate does
    /// not drop to zero for good.
    pub fn expected_count(&self, from_s: f64, to_s: f64) -> f64 {
        if !is_forward(from_s, to_s) {
            return 0.0;
        }
        let mut sum = 0.0;
        let mut a = from_s;
        loop {
            let b = self.next_break_after(a).min(to_s);
            sum += self.segment_integral(a, b);
            if b >= to_s {
                break;
            }
            a = b;
        }
        sum
    }

    fn from_base(base: Base) -> Self {
        let breaks = match &base {
            Base::Linear(points) | Base::Step(points) => points.iter().map(|p| p.0).collect(),
            Base::Constant(_) | Base::Diurnal { .. } => Vec::new(),
        };
        RateProfile {
            base,
            spikes: Vec::new(),
            breaks,
        }
    }

    /// The first breakpoint strictly after `t`, or infinity.
    fn next_break_after(&self, t: f64) -> f64 {
        let i = self.breaks.partition_point(|&x| x <= t);
        self.breaks.get(i).copied().unwrap_or(f64::INFINITY)
    }

    /// The product of the multipliers of the spikes covering `t`.
    fn multiplier_at(&self, t: f64) -> f64 {
        self.spikes
            .iter()
            .filter(|s| s.start <= t && t < s.end)
            .map(|s| s.multiplier)
            .product()
    }

    /// The base rate at `t` (an infinite `t` gives the rate after the last
    /// point for point-based profiles).
    fn base_at(&self, t: f64) -> f64 {
        match &self.base {
            Base::Constant(rate) => *rate,
            Base::Linear(points) => linear_at(points, t),
            Base::Step(points) => step_at(points, t),
            Base::Diurnal {
                mean,
                amplitude,
                period,
                peak_at,
            } => {
                let phase = frac((t - peak_at) / period);
                (mean * (1.0 + amplitude * libm::cos(TAU * phase))).max(0.0)
            }
        }
    }

    /// The maximum of the rate on `[a, b]`, where no breakpoint lies in
    /// `(a, b)`: the multiplier is `multiplier_at(a)` throughout `[a, b)`.
    fn segment_max(&self, a: f64, b: f64) -> f64 {
        if !is_forward(a, b) {
            return self.rate_at(a);
        }
        let m = self.multiplier_at(a);
        if m == 0.0 {
            return 0.0;
        }
        let base = match &self.base {
            Base::Constant(rate) => *rate,
            Base::Linear(points) => linear_at(points, a).max(linear_at(points, b)),
            Base::Step(points) => step_at(points, a),
            Base::Diurnal {
                mean,
                amplitude,
                period,
                peak_at,
            } => {
                // Peaks lie at integer phases; between two peaks the cosine
                // falls then rises, so without a peak inside the maximum is
                // at an end.
                let xa = (a - peak_at) / period;
                let xb = (b - peak_at) / period;
                if xb.floor() >= xa.ceil() {
                    mean * (1.0 + amplitude)
                } else {
                    self.base_at(a).max(self.base_at(b))
                }
            }
        };
        base * m
    }

    /// The integral of the rate on `[a, b]`, where no breakpoint lies in
    /// `(a, b)`.
    fn segment_integral(&self, a: f64, b: f64) -> f64 {
        if !is_forward(a, b) {
            return 0.0;
        }
        let m = self.multiplier_at(a);
        if m == 0.0 {
            return 0.0;
        }
        let width = b - a;
        if !width.is_finite() {
            return if self.segment_max(a, b) > 0.0 {
                f64::INFINITY
            } else {
                0.0
            };
        }
        let base = match &self.base {
            Base::Constant(rate) => rate * width,
            Base::Linear(points) => 0.5 * (linear_at(points, a) + linear_at(points, b)) * width,
            Base::Step(points) => step_at(points, a) * width,
            Base::Diurnal {
                mean,
                amplitude,
                period,
                peak_at,
            } => {
                let sin_at = |t: f64| libm::sin(TAU * frac((t - peak_at) / period));
                mean * (width + amplitude * period / TAU * (sin_at(b) - sin_at(a)))
            }
        };
        base * m
    }
}

/// A non-homogeneous Poisson process over a [`RateProfile`].
///
/// Sampled by thinning (Lewis–Shedler) against a piecewise-constant bound.
/// Time is cut into segments at the profile's breakpoints (point times and
/// spike edges), at 1/8 of each sloped linear piece, and on a grid of 1/8 of
/// the period aligned with the peak for diurnal profiles. The segments are a
/// fixed function of time, so the arrivals depend only on `now` and the
/// generator, never on which earlier calls were made. Within a segment,
/// candidates come at the segment's maximum rate and one at `t` is kept with
/// probability `rate(t) / bound`; a candidate beyond the segment's end is
/// dropped and sampling restarts at the end (exact, since exponential gaps
/// are memoryless). Segments whose bound is zero are skipped without a draw,
/// and if the rate is zero from some time on forever, no arrival is
/// returned. A constant profile without spikes is sampled directly: one
/// uniform and one logarithm per arrival.
#[derive(Clone, Debug)]
pub struct ArrivalProcess {
    profile: RateProfile,
    /// The rate, for a constant profile without spikes.
    constant: Option<f64>,
    /// The profile's breakpoints plus the subdivisions of sloped linear
    /// pieces, sorted and deduplicated.
    breaks: Vec<f64>,
    /// `(anchor, width)` of the diurnal segment grid.
    grid: Option<(f64, f64)>,
    /// The last segment used: `(start, end, bound)`. Purely a cache: the
    /// segment and its bound are a function of time alone.
    segment: Option<(f64, f64, f64)>,
    /// No arrival at or after this time is wanted (seconds; infinite by
    /// default): sampling stops there and no segment reaches past it.
    horizon: f64,
}

impl ArrivalProcess {
    /// The process whose rate follows `profile`.
    pub fn new(profile: RateProfile) -> Self {
        let constant = match (&profile.base, profile.spikes.is_empty()) {
            (Base::Constant(rate), true) => Some(*rate),
            _ => None,
        };
        let mut breaks = profile.breaks.clone();
        if let Base::Linear(points) = &profile.base {
            for pair in points.windows(2) {
                let ((t0, r0), (t1, r1)) = (pair[0], pair[1]);
                if r0 != r1 {
                    for j in 1..LINEAR_SUBDIVISIONS {
                        breaks.push(t0 + (t1 - t0) * f64::from(j) / f64::from(LINEAR_SUBDIVISIONS));
                    }
                }
            }
            sort_dedup(&mut breaks);
        }
        let grid = match &profile.base {
            Base::Diurnal {
                period, peak_at, ..
            } => Some((*peak_at, period / DIURNAL_SEGMENTS_PER_PERIOD)),
            _ => None,
        };
        ArrivalProcess {
            profile,
            constant,
            breaks,
            grid,
            segment: None,
            horizon: f64::INFINITY,
        }
    }

    /// The same process, for a run that ends at `horizon_s` seconds:
    /// [`next_arrival`](Self::next_arrival) returns `None` once sampling
    /// passes the horizon, and segments are cut there, so no work is spent
    /// on (possibly astronomically long) stretches of the profile after the
    /// run. Arrivals before the horizon keep their distribution.
    pub fn with_horizon(mut self, horizon_s: f64) -> Self {
        if horizon_s.is_finite() && horizon_s >= 0.0 {
            self.horizon = horizon_s;
            self.breaks.retain(|&b| b < horizon_s);
            self.breaks.push(horizon_s);
            self.segment = None;
        }
        self
    }

    /// The profile this process follows.
    pub fn profile(&self) -> &RateProfile {
        &self.profile
    }

    /// The next arrival strictly after `now` (or at `now` if the exponential
    /// draw rounds to 0 ns), or `None` if no arrival will ever come (the rate
    /// is zero from some time on forever) or it would lie beyond
    /// [`SimTime::MAX`].
    pub fn next_arrival<R: Rng + ?Sized>(&mut self, now: SimTime, rng: &mut R) -> Option<SimTime> {
        let now_s = now.as_secs_f64();
        if let Some(rate) = self.constant {
            let gap = -libm::log(uniform_open01(rng)) / rate;
            return now.checked_add(SimDuration::from_secs_f64(gap));
        }
        let mut t = now_s;
        loop {
            if t >= self.horizon {
                return None;
            }
            let (end, bound) = self.segment_at(t);
            if bound <= 0.0 {
                if end == f64::INFINITY {
                    return None;
                }
                t = end;
                continue;
            }
            let candidate = t - libm::log(uniform_open01(rng)) / bound;
            if candidate >= end {
                t = end;
                continue;
            }
            t = candidate;
            if uniform_open01(rng) * bound <= self.profile.rate_at(t) {
                // Offset from `now` rather than converting `t` itself, so
                // the result is never before `now` even where f64 seconds
                // cannot represent every nanosecond.
                return now.checked_add(SimDuration::from_secs_f64(t - now_s));
            }
        }
    }

    /// The end of the thinning segment holding `t` and the bound on it.
    fn segment_at(&mut self, t: f64) -> (f64, f64) {
        if let Some((start, end, bound)) = self.segment
            && start <= t
            && t < end
        {
            return (end, bound);
        }
        let i = self.breaks.partition_point(|&x| x <= t);
        let mut start = if i == 0 { 0.0 } else { self.breaks[i - 1] };
        let mut end = self.breaks.get(i).copied().unwrap_or(f64::INFINITY);
        if let Some((anchor, width)) = self.grid {
            let mut k = ((t - anchor) / width).floor();
            if anchor + k * width > t {
                k -= 1.0;
            } else if anchor + (k + 1.0) * width <= t {
                k += 1.0;
            }
            let (ga, gb) = (anchor + k * width, anchor + (k + 1.0) * width);
            // Where the grid is finer than f64 resolves at `t`, fall back to
            // the (looser, still valid) bound between breakpoints.
            if ga <= t && t < gb {
                start = start.max(ga);
                end = end.min(gb);
            }
        }
        let bound = self.profile.max_rate_between(start, end);
        self.segment = Some((start, end, bound));
        (end, bound)
    }
}

/// Validates `(time_s, rate)` points for piecewise-linear and trace profiles.
fn validate_points(points: &[(f64, f64)]) -> Result<()> {
    if points.is_empty() {
        return Err(ArrivalError::Invalid {
            param: "points",
            reason: "at least one (time_s, rate) point is required".to_string(),
        });
    }
    for (index, &(time, rate)) in points.iter().enumerate() {
        if !(time >= 0.0 && time.is_finite()) {
            return Err(ArrivalError::Point {
                index,
                reason: format!("time must be non-negative and finite, got {time}"),
            });
        }
        if !(rate >= 0.0 && rate.is_finite()) {
            return Err(ArrivalError::Point {
                index,
                reason: format!("rate must be non-negative and finite, got {rate}"),
            });
        }
        if index > 0 && time <= points[index - 1].0 {
            return Err(ArrivalError::Point {
                index,
                reason: format!(
                    "times must increase, got {time} after {}",
                    points[index - 1].0
                ),
            });
        }
    }
    if points.iter().all(|p| p.1 == 0.0) {
        return Err(ArrivalError::Invalid {
            param: "points",
            reason: "at least one rate must be positive".to_string(),
        });
    }
    Ok(())
}

/// Linear interpolation, constant outside the points.
fn linear_at(points: &[(f64, f64)], t: f64) -> f64 {
    let i = points.partition_point(|p| p.0 <= t);
    if i == 0 {
        return points[0].1;
    }
    if i == points.len() {
        return points[i - 1].1;
    }
    let (t0, r0) = points[i - 1];
    let (t1, r1) = points[i];
    (r0 + (r1 - r0) * ((t - t0) / (t1 - t0))).max(0.0)
}

/// The step function `points[i].1` on `[t_i, t_{i+1})`, constant outside.
fn step_at(points: &[(f64, f64)], t: f64) -> f64 {
    let i = points.partition_point(|p| p.0 <= t);
    points[i.saturating_sub(1)].1
}

/// Whether `[a, b]` is a non-empty forward interval (`b > a`, neither NaN).
fn is_forward(a: f64, b: f64) -> bool {
    b.partial_cmp(&a) == Some(std::cmp::Ordering::Greater)
}

/// `x - floor(x)`, in `[0, 1)`.
fn frac(x: f64) -> f64 {
    x - x.floor()
}

/// Sorts (all values are finite) and removes duplicates.
fn sort_dedup(values: &mut Vec<f64>) {
    values.sort_by(f64::total_cmp);
    values.dedup();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{RngStreams, StreamKey, StreamRng};

    fn rng(seed: u64) -> StreamRng {
        RngStreams::new(seed).stream(StreamKey::named("arrivals"))
    }

    /// All arrivals in `[0, horizon_s)`, in seconds.
    fn arrivals(profile: RateProfile, seed: u64, horizon_s: f64) -> Vec<f64> {
        let mut process = ArrivalProcess::new(profile);
        let mut rng = rng(seed);
        let mut now = SimTime::ZERO;
        let mut out = Vec::new();
        while let Some(t) = process.next_arrival(now, &mut rng) {
            assert!(t >= now);
            if t.as_secs_f64() >= horizon_s {
                break;
            }
            out.push(t.as_secs_f64());
            now = t;
        }
        out
    }

    /// Checks the counts in consecutive windows of `width_s` over
    /// `[0, horizon_s)` against the profile's expected counts, within five
    /// Poisson standard deviations (plus one for tiny means).
    fn check_counts(profile: &RateProfile, times: &[f64], width_s: f64, horizon_s: f64) {
        let mut from = 0.0;
        while from < horizon_s {
            let to = from + width_s;
            let count = times.iter().filter(|&&t| t >= from && t < to).count() as f64;
            let expected = profile.expected_count(from, to);
            let tolerance = 5.0 * expected.sqrt() + 1.0;
            assert!(
                (count - expected).abs() <= tolerance,
                "window [{from}, {to}): {count} arrivals, expected {expected} ± {tolerance}"
            );
            from = to;
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
    }

    fn message(err: ArrivalError) -> String {
        err.to_string()
    }

    #[test]
    fn constructors_reject_bad_parameters() {
        let cases: Vec<(Result<RateProfile>, &str)> = vec![
            (RateProfile::constant(0.0), "rate must be positive"),
            (RateProfile::constant(f64::NAN), "rate must be positive"),
            (
                RateProfile::constant(f64::INFINITY),
                "rate must be positive",
            ),
            (
                RateProfile::piecewise_linear(vec![(0.0, 1.0), (12.0, 2.0), (10.0, 3.0)]),
                "points[2]: times must increase, got 10 after 12",
            ),
            (
                RateProfile::piecewise_linear(vec![(0.0, 1.0), (0.0, 2.0)]),
                "points[1]: times must increase",
            ),
            (
                RateProfile::piecewise_linear(vec![(0.0, 1.0), (1.0, -2.0)]),
                "points[1]: rate must be non-negative",
            ),
            (
                RateProfile::piecewise_linear(vec![(-1.0, 1.0)]),
                "points[0]: time must be non-negative",
            ),
            (
                RateProfile::piecewise_linear(vec![(0.0, 0.0), (5.0, 0.0)]),
                "invalid points: at least one rate must be positive",
            ),
            (RateProfile::piecewise_linear(vec![]), "invalid points"),
            (
                RateProfile::piecewise_linear(vec![(f64::NAN, 1.0)]),
                "points[0]: time must be non-negative and finite, got NaN",
            ),
            (
                RateProfile::trace(vec![(0.0, 1.0), (1.0, f64::NAN)]),
                "points[1]: rate must be non-negative and finite, got NaN",
            ),
            (
                RateProfile::trace(vec![(0.0, 1.0), (3.0, 2.0), (2.0, 1.0)]),
                "points[2]: times must increase, got 2 after 3",
            ),
            (
                RateProfile::trace(vec![(0.0, 0.0)]),
                "at least one rate must be positive",
            ),
            (
                RateProfile::diurnal(10.0, 1.5, 86_400.0, 0.0),
                "amplitude must be at most 1, got 1.5",
            ),
            (
                RateProfile::diurnal(10.0, -0.1, 86_400.0, 0.0),
                "amplitude must be non-negative",
            ),
            (
                RateProfile::diurnal(10.0, f64::NAN, 86_400.0, 0.0),
                "amplitude must be non-negative and finite, got NaN",
            ),
            (
                RateProfile::diurnal(10.0, 0.5, 0.0, 0.0),
                "period_s must be positive and finite, got 0",
            ),
            (
                RateProfile::diurnal(0.0, 0.5, 10.0, 0.0),
                "mean_rate must be positive",
            ),
            (
                RateProfile::diurnal(1.0, 0.5, 10.0, f64::NAN),
                "peak_at_s must be finite, got NaN",
            ),
            (
                RateProfile::constant(1.0).and_then(|p| p.with_spike(5.0, 0.0, 10.0)),
                "duration_s must be positive and finite, got 0",
            ),
            (
                RateProfile::constant(1.0).and_then(|p| p.with_spike(5.0, 1.0, -1.0)),
                "multiplier must be non-negative and finite, got -1",
            ),
            (
                RateProfile::constant(1.0).and_then(|p| p.with_spike(f64::NAN, 1.0, 2.0)),
                "start_s must be non-negative and finite, got NaN",
            ),
            (
                RateProfile::constant(1.0).and_then(|p| p.with_spike(1.0, 1.0, f64::NAN)),
                "multiplier must be non-negative and finite, got NaN",
            ),
            (
                RateProfile::constant(1.0).and_then(|p| p.with_spike(f64::MAX, f64::MAX, 2.0)),
                "invalid duration_s: start_s + duration_s must be finite",
            ),
        ];
        for (result, want) in cases {
            let err = result.expect_err(want);
            let msg = message(err);
            assert!(msg.contains(want), "{msg:?} does not contain {want:?}");
        }
    }

    #[test]
    fn piecewise_linear_rates_and_integrals() {
        let ramp = RateProfile::piecewise_linear(vec![(0.0, 0.0), (10.0, 10.0)]).unwrap();
        assert_eq!(ramp.rate_at(0.0), 0.0);
        assert_eq!(ramp.rate_at(2.5), 2.5);
        assert_eq!(ramp.rate_at(10.0), 10.0);
        assert_eq!(ramp.rate_at(50.0), 10.0);
        assert_eq!(ramp.expected_count(0.0, 10.0), 50.0);
        assert_eq!(ramp.expected_count(0.0, 20.0), 150.0);
        assert_eq!(ramp.expected_count(2.0, 4.0), 6.0);
        assert_eq!(ramp.expected_count(4.0, 2.0), 0.0);
        assert_eq!(ramp.max_rate_between(2.0, 5.0), 5.0);
        assert_eq!(ramp.max_rate_between(0.0, 100.0), 10.0);
        // Constant before the first point.
        let late = RateProfile::piecewise_linear(vec![(5.0, 4.0), (7.0, 0.0)]).unwrap();
        assert_eq!(late.rate_at(1.0), 4.0);
        assert_eq!(late.expected_count(0.0, 10.0), 4.0 * 5.0 + 4.0);
        assert_eq!(late.expected_count(0.0, f64::INFINITY), 24.0);
        assert_eq!(ramp.expected_count(0.0, f64::INFINITY), f64::INFINITY);
    }

    #[test]
    fn trace_rates_and_integrals() {
        let trace = RateProfile::trace(vec![(0.0, 5.0), (10.0, 20.0), (30.0, 0.0)]).unwrap();
        assert_eq!(trace.rate_at(0.0), 5.0);
        assert_eq!(trace.rate_at(9.999), 5.0);
        assert_eq!(trace.rate_at(10.0), 20.0);
        assert_eq!(trace.rate_at(30.0), 0.0);
        assert_eq!(trace.rate_at(1e9), 0.0);
        assert_eq!(trace.expected_count(0.0, 40.0), 50.0 + 400.0);
        assert_eq!(trace.expected_count(5.0, 15.0), 25.0 + 100.0);
        assert_eq!(trace.max_rate_between(0.0, 9.0), 5.0);
        assert_eq!(trace.max_rate_between(0.0, 10.0), 20.0);
        assert_eq!(trace.max_rate_between(30.0, 100.0), 0.0);
    }

    #[test]
    fn diurnal_rates_and_integrals() {
        let d = RateProfile::diurnal(100.0, 0.5, 86_400.0, 43_200.0).unwrap();
        assert!(close(d.rate_at(43_200.0), 150.0));
        assert!(close(d.rate_at(0.0), 50.0));
        assert!(close(d.rate_at(21_600.0), 100.0));
        assert!(close(d.expected_count(0.0, 86_400.0), 100.0 * 86_400.0));
        assert!(close(
            d.expected_count(1234.5, 1234.5 + 86_400.0),
            8_640_000.0
        ));
        // Half a period from trough to peak: mean * P/2 (the sine terms are 0).
        assert!(close(d.expected_count(0.0, 43_200.0), 100.0 * 43_200.0));
        // A quarter from the peak: mean * (P/4 + A * P / 2π).
        let want = 100.0 * (21_600.0 + 0.5 * 86_400.0 / TAU);
        assert!(close(d.expected_count(43_200.0, 64_800.0), want));
        assert!(close(d.max_rate_between(0.0, 86_400.0), 150.0));
        assert!(close(
            d.max_rate_between(50_000.0, 60_000.0),
            d.rate_at(50_000.0)
        ));
        assert!(close(
            d.max_rate_between(0.0, 10_000.0),
            d.rate_at(10_000.0)
        ));
    }

    #[test]
    fn spikes_multiply_the_rate() {
        let base = RateProfile::constant(50.0).unwrap();
        let spiked = base.clone().with_spike(100.0, 20.0, 10.0).unwrap();
        assert_eq!(spiked.rate_at(99.9), 50.0);
        assert_eq!(spiked.rate_at(100.0), 500.0);
        assert_eq!(spiked.rate_at(119.9), 500.0);
        assert_eq!(spiked.rate_at(120.0), 50.0);
        let extra = spiked.expected_count(0.0, 1000.0) - base.expected_count(0.0, 1000.0);
        assert_eq!(extra, 9.0 * 50.0 * 20.0);
        assert_eq!(spiked.max_rate_between(0.0, 99.0), 50.0);
        assert_eq!(spiked.max_rate_between(0.0, 100.0), 500.0);
        // Overlapping spikes multiply; a zero multiplier silences the window.
        let both = spiked.with_spike(110.0, 20.0, 2.0).unwrap();
        assert_eq!(both.rate_at(115.0), 1000.0);
        assert_eq!(both.rate_at(125.0), 100.0);
        let off = both.with_spike(200.0, 10.0, 0.0).unwrap();
        assert_eq!(off.rate_at(205.0), 0.0);
        assert_eq!(off.expected_count(200.0, 210.0), 0.0);
        // Spikes on a ramp: exact integral of the multiplied piece.
        let ramp = RateProfile::piecewise_linear(vec![(0.0, 0.0), (10.0, 10.0)])
            .unwrap()
            .with_spike(2.0, 2.0, 3.0)
            .unwrap();
        assert_eq!(ramp.expected_count(0.0, 10.0), 50.0 + 2.0 * 6.0);
    }

    #[test]
    fn constant_rate_is_poisson() {
        let rate = 200.0;
        let profile = RateProfile::constant(rate).unwrap();
        let horizon = 1000.0;
        let times = arrivals(profile.clone(), 1, horizon);
        check_counts(&profile, &times, 50.0, horizon);
        let gaps: Vec<f64> = times.windows(2).map(|w| w[1] - w[0]).collect();
        let n = gaps.len() as f64;
        let mean = gaps.iter().sum::<f64>() / n;
        let var = gaps.iter().map(|g| (g - mean) * (g - mean)).sum::<f64>() / (n - 1.0);
        let scv = var / (mean * mean);
        // Standard errors: mean/√n for the mean, about √(8/n) for the SCV.
        assert!(
            (mean * rate - 1.0).abs() < 5.0 / n.sqrt(),
            "mean gap {mean}"
        );
        assert!((scv - 1.0).abs() < 5.0 * (8.0 / n).sqrt(), "scv {scv}");
    }

    #[test]
    fn ramp_counts_match() {
        let profile =
            RateProfile::piecewise_linear(vec![(0.0, 0.0), (100.0, 1000.0), (150.0, 200.0)])
                .unwrap();
        let times = arrivals(profile.clone(), 2, 200.0);
        check_counts(&profile, &times, 10.0, 200.0);
    }

    #[test]
    fn diurnal_counts_match() {
        let profile = RateProfile::diurnal(100.0, 1.0, 100.0, 25.0).unwrap();
        let times = arrivals(profile.clone(), 3, 1000.0);
        check_counts(&profile, &times, 12.5, 1000.0);
    }

    #[test]
    fn trace_counts_match() {
        let profile =
            RateProfile::trace(vec![(0.0, 50.0), (10.0, 300.0), (30.0, 0.0), (40.0, 120.0)])
                .unwrap();
        let times = arrivals(profile.clone(), 4, 100.0);
        assert!(!times.iter().any(|&t| (30.0..40.0).contains(&t)));
        check_counts(&profile, &times, 5.0, 100.0);
    }

    #[test]
    fn flash_crowd_counts_match() {
        let profile = RateProfile::constant(100.0)
            .unwrap()
            .with_spike(50.0, 10.0, 10.0)
            .unwrap();
        let times = arrivals(profile.clone(), 5, 100.0);
        check_counts(&profile, &times, 10.0, 100.0);
        let count = |a: f64, b: f64| times.iter().filter(|&&t| t >= a && t < b).count() as f64;
        let inside = count(50.0, 60.0);
        let outside = count(20.0, 30.0);
        // Var(inside - 10 outside) = 1000 + 100 * 1000.
        assert!(
            (inside - 10.0 * outside).abs() < 5.0 * 101_000.0_f64.sqrt(),
            "inside {inside}, outside {outside}"
        );
    }

    #[test]
    fn diurnal_with_spike_counts_match() {
        let profile = RateProfile::diurnal(50.0, 0.8, 200.0, 0.0)
            .unwrap()
            .with_spike(130.0, 15.0, 6.0)
            .unwrap();
        let times = arrivals(profile.clone(), 6, 400.0);
        check_counts(&profile, &times, 10.0, 400.0);
    }

    #[test]
    fn zero_tail_ends_the_process() {
        let profile = RateProfile::trace(vec![(0.0, 100.0), (10.0, 0.0)]).unwrap();
        let mut process = ArrivalProcess::new(profile.clone());
        let mut rng = rng(7);
        let mut now = SimTime::ZERO;
        let mut n = 0;
        while let Some(t) = process.next_arrival(now, &mut rng) {
            assert!(t.as_secs_f64() < 10.0);
            now = t;
            n += 1;
        }
        let expected = 1000.0;
        assert!((f64::from(n) - expected).abs() < 5.0 * expected.sqrt());
        assert_eq!(
            process.next_arrival(SimTime::from_secs(1_000), &mut rng),
            None
        );
        // A ramp down to zero ends the same way.
        let ramp = RateProfile::piecewise_linear(vec![(0.0, 10.0), (5.0, 0.0)]).unwrap();
        let mut process = ArrivalProcess::new(ramp);
        assert_eq!(process.next_arrival(SimTime::from_secs(6), &mut rng), None);
    }

    #[test]
    fn zero_gap_is_skipped() {
        let profile = RateProfile::trace(vec![(0.0, 0.0), (1_000_000.0, 5.0)]).unwrap();
        let mut process = ArrivalProcess::new(profile);
        let mut rng = rng(8);
        let first = process.next_arrival(SimTime::ZERO, &mut rng).unwrap();
        assert!(first >= SimTime::from_secs(1_000_000));
        assert!(first < SimTime::from_secs(1_000_100));
        // A silenced window inside a diurnal cycle is skipped too.
        let silenced = RateProfile::diurnal(10.0, 0.5, 100.0, 0.0)
            .unwrap()
            .with_spike(0.0, 10_000.0, 0.0)
            .unwrap();
        let mut process = ArrivalProcess::new(silenced);
        let first = process.next_arrival(SimTime::ZERO, &mut rng).unwrap();
        assert!(first >= SimTime::from_secs(10_000));
        assert!(first < SimTime::from_secs(10_010));
    }

    #[test]
    fn same_seed_same_arrivals() {
        let make = || {
            RateProfile::diurnal(20.0, 0.7, 60.0, 10.0)
                .unwrap()
                .with_spike(30.0, 5.0, 4.0)
                .unwrap()
        };
        let a = arrivals(make(), 11, 300.0);
        let b = arrivals(make(), 11, 300.0);
        let c = arrivals(make(), 12, 300.0);
        assert!(!a.is_empty());
        assert_eq!(a, b);
        assert_ne!(a, c);
        // The cache does not change draws: a fresh process per call gives
        // the same arrivals as one long-lived process.
        let mut rng_fresh = rng(11);
        let mut now = SimTime::ZERO;
        for &want in a.iter().take(200) {
            let t = ArrivalProcess::new(make())
                .next_arrival(now, &mut rng_fresh)
                .unwrap();
            assert_eq!(t.as_secs_f64(), want);
            now = t;
        }
    }

    #[test]
    fn constant_rate_uses_one_uniform_per_arrival() {
        let mut process = ArrivalProcess::new(RateProfile::constant(3.0).unwrap());
        let mut a = rng(9);
        let mut b = rng(9);
        let now = SimTime::from_secs(5);
        let t = process.next_arrival(now, &mut a).unwrap();
        let gap = -libm::log(uniform_open01(&mut b)) / 3.0;
        assert_eq!(t, now + SimDuration::from_secs_f64(gap));
        assert_eq!(a.next_u64(), b.next_u64());
    }

    /// A diurnal trough that lasts for years (rate all but zero) once made
    /// thinning loop for ages; with a horizon the work stops at the run's
    /// end (found by the fleet property tests).
    #[test]
    fn a_horizon_bounds_the_work_of_an_endless_trough() {
        let period = 1.85e11;
        let profile = RateProfile::diurnal(100.0, 1.0, period, period / 2.0)
            .unwrap()
            .with_spike(2.3e10, 6.125, 1000.0)
            .unwrap();
        let mut process = ArrivalProcess::new(profile).with_horizon(601.0);
        let mut rng = rng(1);
        let mut now = SimTime::ZERO;
        let mut n = 0;
        while let Some(t) = process.next_arrival(now, &mut rng) {
            assert!(t.as_secs_f64() < 601.0);
            now = t;
            n += 1;
        }
        assert!(n < 10, "{n} arrivals in a trough");
    }
}
