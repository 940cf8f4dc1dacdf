//! Simulated time as integer nanoseconds.
//!
//! Integer time makes every comparison exact and every run reproducible: two
//! events at "the same" time really are at the same time, and no epsilon is
//! needed anywhere. A `u64` of nanoseconds spans about 584 years, far beyond
//! any simulated horizon.

use std::fmt;
use std::ops::{Add, AddAssign, Sub};

const NANOS_PER_MICRO: u64 = 1_000;
const NANOS_PER_MILLI: u64 = 1_000_000;
const NANOS_PER_SEC: u64 = 1_000_000_000;
const NANOS_PER_MIN: u64 = 60 * NANOS_PER_SEC;
const NANOS_PER_HOUR: u64 = 60 * NANOS_PER_MIN;

/// A point in simulated time: nanoseconds since the start of the run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimTime(u64);

/// A span of simulated time in nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimDuration(u64);

impl SimTime {
    /// The start of every run.
    pub const ZERO: SimTime = SimTime(0);
    /// The largest representable time; used as "never".
    pub const MAX: SimTime = SimTime(u64::MAX);

    /// The time `nanos` nanoseconds after the start.
    pub const fn from_nanos(nanos: u64) -> SimTime {
        SimTime(nanos)
    }
    /// The time `secs` seconds after the start.
    pub const fn from_secs(secs: u64) -> SimTime {
        SimTime(secs * NANOS_PER_SEC)
    }
    /// Nanoseconds since the start.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }
    /// Seconds since the start, as a float (for statistics and display only).
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / NANOS_PER_SEC as f64
    }
    /// The span from `earlier` to `self`; zero if `earlier` is later.
    pub const fn saturating_since(self, earlier: SimTime) -> SimDuration {
        SimDuration(self.0.saturating_sub(earlier.0))
    }
    /// `self + d`, or `None` on overflow.
    pub const fn checked_add(self, d: SimDuration) -> Option<SimTime> {
        match self.0.checked_add(d.0) {
            Some(t) => Some(SimTime(t)),
            None => None,
        }
    }
}

impl SimDuration {
    /// No time at all.
    pub const ZERO: SimDuration = SimDuration(0);
    /// The largest representable span.
    pub const MAX: SimDuration = SimDuration(u64::MAX);

    /// A span of `nanos` nanoseconds.
    pub const fn from_nanos(nanos: u64) -> SimDuration {
        SimDuration(nanos)
    }
    /// A span of `micros` microseconds.
    pub const fn from_micros(micros: u64) -> SimDuration {
        SimDuration(micros * NANOS_PER_MICRO)
    }
    /// A span of `millis` milliseconds.
    pub const fn from_millis(millis: u64) -> SimDuration {
        SimDuration(millis * NANOS_PER_MILLI)
    }
    /// A span of `secs` seconds.
    pub const fn from_secs(secs: u64) -> SimDuration {
        SimDuration(secs * NANOS_PER_SEC)
    }
    /// A span of `mins` minutes.
    pub const fn from_mins(mins: u64) -> SimDuration {
        SimDuration(mins * NANOS_PER_MIN)
    }
    /// A span of `hours` hours.
    pub const fn from_hours(hours: u64) -> SimDuration {
        SimDuration(hours * NANOS_PER_HOUR)
    }
    /// The span closest to `secs` seconds (rounded to the nanosecond).
    ///
    /// Negative and NaN inputs give zero and values beyond the range saturate
    /// at [`SimDuration::MAX`]; callers that must reject such values (scenario
    /// parsing) check them before converting. Samplers never produce them.
    #[inline]
    pub fn from_secs_f64(secs: f64) -> SimDuration {
        SimDuration(round_to_u64(secs * NANOS_PER_SEC as f64))
    }
    /// Nanoseconds in this span.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }
    /// Seconds in this span, as a float (for statistics and display only).
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / NANOS_PER_SEC as f64
    }
    /// Whether the span is empty.
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }
    /// `self + other`, or `None` on overflow.
    pub const fn checked_add(self, other: SimDuration) -> Option<SimDuration> {
        match self.0.checked_add(other.0) {
            Some(d) => Some(SimDuration(d)),
            None => None,
        }
    }
}

/// `x.round() as u64` (round half away from zero, then the saturating cast:
/// NaN and negatives give 0, values from 2^64 up give `u64::MAX`), bit for
/// bit.
///
/// Every sampled duration goes through here. Without SSE4.1 in the target
/// baseline, `f64::round` is a call into the C library's `round`, and the
/// saturating casts between `f64` and `u64` take a dozen instructions each;
/// the fast path below is a few inline instructions. Together they were
/// about 5% of the M/M/4 benchmark's time.
#[inline]
fn round_to_u64(x: f64) -> u64 {
    const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;
    if (0.0..TWO_POW_63).contains(&x) {
        // In range for i64, whose conversions are single instructions.
        // `whole` is `x` truncated; `x - whole` is exact (below 2^53 both
        // are representable, from 2^53 up `x` is an integer and it is 0).
        let whole = x as i64;
        let frac = x - whole as f64;
        whole as u64 + u64::from(frac >= 0.5)
    } else {
        // Negative, NaN, or at least 2^63: rare; the library call is fine.
        x.round() as u64
    }
}

impl Add<SimDuration> for SimTime {
    type Output = SimTime;
    /// Panics on overflow, which only a bug (a span near 584 years) can cause.
    fn add(self, d: SimDuration) -> SimTime {
        SimTime(
            self.0
                .checked_add(d.0)
                .expect("simulated time overflowed u64 nanoseconds"),
        )
    }
}

impl AddAssign<SimDuration> for SimTime {
    fn add_assign(&mut self, d: SimDuration) {
        *self = *self + d;
    }
}

impl Sub<SimTime> for SimTime {
    type Output = SimDuration;
    /// Panics if `earlier` is later than `self`: spans are never negative.
    fn sub(self, earlier: SimTime) -> SimDuration {
        SimDuration(
            self.0
                .checked_sub(earlier.0)
                .expect("negative simulated time span"),
        )
    }
}

impl Add for SimDuration {
    type Output = SimDuration;
    fn add(self, other: SimDuration) -> SimDuration {
        SimDuration(
            self.0
                .checked_add(other.0)
                .expect("simulated duration overflowed"),
        )
    }
}

/// Writes nanoseconds in the largest unit that keeps the number readable:
/// `750ns`, `12.5µs`, `3.2ms`, `1.5s`, `2.5min`, `1.25h`. Up to three
/// decimals are kept and trailing zeros dropped, so `1.5s` and `90s`
/// (= `1.5min`) read naturally.
fn fmt_nanos(nanos: u64, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let (unit, scale) = if nanos >= NANOS_PER_HOUR {
        ("h", NANOS_PER_HOUR)
    } else if nanos >= NANOS_PER_MIN {
        ("min", NANOS_PER_MIN)
    } else if nanos >= NANOS_PER_SEC {
        ("s", NANOS_PER_SEC)
    } else if nanos >= NANOS_PER_MILLI {
        ("ms", NANOS_PER_MILLI)
    } else if nanos >= NANOS_PER_MICRO {
        ("µs", NANOS_PER_MICRO)
    } else {
        return write!(f, "{nanos}ns");
    };
    let whole = nanos / scale;
    // Three decimals, rounded half up, in integer arithmetic.
    let mut frac = ((nanos % scale) as u128 * 1000 + scale as u128 / 2) / scale as u128;
    let mut whole = whole;
    if frac == 1000 {
        whole += 1;
        frac = 0;
    }
    if frac == 0 {
        write!(f, "{whole}{unit}")
    } else {
        let digits = format!("{frac:03}");
        write!(f, "{whole}.{}{unit}", digits.trim_end_matches('0'))
    }
}

impl fmt::Display for SimDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_nanos(self.0, f)
    }
}

impl fmt::Display for SimTime {
    /// A time displays as its offset from the start, e.g. `t=1.5s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("t=")?;
        fmt_nanos(self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constructors_agree() {
        assert_eq!(SimDuration::from_secs(90), SimDuration::from_millis(90_000));
        assert_eq!(SimDuration::from_mins(2), SimDuration::from_secs(120));
        assert_eq!(SimDuration::from_hours(1), SimDuration::from_mins(60));
        assert_eq!(SimDuration::from_micros(5), SimDuration::from_nanos(5_000));
        assert_eq!(
            SimDuration::from_secs_f64(1.5),
            SimDuration::from_millis(1_500)
        );
        assert_eq!(SimDuration::from_secs_f64(-1.0), SimDuration::ZERO);
        assert_eq!(SimDuration::from_secs_f64(f64::NAN), SimDuration::ZERO);
        assert_eq!(SimDuration::from_secs_f64(1e300), SimDuration::MAX);
    }

    #[test]
    fn round_to_u64_matches_round_then_cast() {
        let reference = |x: f64| x.round() as u64;
        let mut cases = vec![
            0.0,
            -0.0,
            0.5,
            1.5,
            2.5,
            -0.5,
            -0.49,
            -1.5,
            0.49999999999999994,
            0.5000000000000001,
            4503599627370495.5,
            4503599627370496.0,
            9007199254740994.0,
            1e18,
            18446744073709549568.0,
            18446744073709551616.0,
            1e300,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            f64::MIN_POSITIVE,
        ];
        // Pseudo-random magnitudes across the whole range, and near-halves.
        let mut z: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..200_000 {
            z ^= z << 13;
            z ^= z >> 7;
            z ^= z << 17;
            let x = f64::from_bits(z >> 1);
            cases.push(x);
            let half = (z % 1_000_000) as f64 + 0.5;
            cases.push(half);
            cases.push(f64::from_bits(half.to_bits() + 1));
            cases.push(f64::from_bits(half.to_bits() - 1));
        }
        for x in cases {
            assert_eq!(
                round_to_u64(x),
                reference(x),
                "x = {x:e} ({:#x})",
                x.to_bits()
            );
        }
    }

    #[test]
    fn display_picks_readable_units() {
        let cases = [
            (SimDuration::from_nanos(750), "750ns"),
            (SimDuration::from_nanos(12_500), "12.5µs"),
            (SimDuration::from_micros(3_200), "3.2ms"),
            (SimDuration::from_millis(1_500), "1.5s"),
            (SimDuration::from_secs(90), "1.5min"),
            (SimDuration::from_mins(75), "1.25h"),
            (SimDuration::from_hours(48), "48h"),
            (SimDuration::from_nanos(1_999_999_999), "2s"),
            (SimDuration::ZERO, "0ns"),
        ];
        for (d, want) in cases {
            assert_eq!(d.to_string(), want);
        }
        assert_eq!(
            (SimTime::ZERO + SimDuration::from_secs(3)).to_string(),
            "t=3s"
        );
    }

    #[test]
    fn arithmetic() {
        let t = SimTime::from_secs(10);
        let u = t + SimDuration::from_millis(250);
        assert_eq!(u - t, SimDuration::from_millis(250));
        assert_eq!(t.saturating_since(u), SimDuration::ZERO);
        assert_eq!(SimTime::MAX.checked_add(SimDuration::from_nanos(1)), None);
    }
}
