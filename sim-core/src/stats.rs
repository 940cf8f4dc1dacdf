//! Streaming statistics whose memory does not grow with the number of
//! requests: latency histograms, time-weighted averages, counters and
//! fixed-interval time series.
//!
//! Means are kept exactly (integer nanosecond sums in `u128`), so validation
//! against queueing theory is not blurred by histogram bucketing; quantiles
//! come from an HDR histogram with three significant digits (relative error
//! at most 0.1%). Every statistic supports `reset(now)`, used to delete a
//! warm-up period, and the histograms merge, so replications and sweep points
//! can be pooled.

use hdrhistogram::Histogram;

use crate::time::{SimDuration, SimTime};

/// Significant decimal digits kept by latency histograms.
pub const HISTOGRAM_SIGNIFICANT_DIGITS: u8 = 3;

/// A mergeable distribution of durations: exact count, mean, variance and
/// maximum, plus (unless built with [`LatencyHistogram::moments_only`])
/// quantiles to three significant digits.
#[derive(Clone, Debug)]
pub struct LatencyHistogram {
    count: u64,
    sum_nanos: u128,
    sum_sq_secs: f64,
    max_nanos: u64,
    /// Boxed, so that a moments-only recorder really is a few dozen bytes
    /// (an inline `Option<Histogram>` costs its full size even when `None`).
    quantiles: Option<Box<QuantileRecorder>>,
}

/// How many values [`LatencyHistogram::record`] collects before adding them
/// to the HDR histogram in one batch.
///
/// Each HDR record increments one counter at a value-dependent place in a
/// bucket array of up to ~200 kB, so it usually misses the L1 cache. Recorded
/// one at a time, between events, each miss holds up the event loop;
/// recorded back to back, the misses of a batch overlap. On the M/M/4
/// benchmark (four histograms per customer, which cost about a third of its
/// time when recorded one at a time) this saved 3–7% per event.
const RECORD_BATCH: usize = 32;

/// The HDR histogram with its batch of values not yet added to it.
#[derive(Clone, Debug)]
struct QuantileRecorder {
    histogram: Histogram<u64>,
    pending_len: usize,
    pending: [u64; RECORD_BATCH],
}

impl QuantileRecorder {
    /// Adds the pending values to the histogram (out of line: the caller's
    /// fast path is just the store into `pending`).
    #[inline(never)]
    fn flush(&mut self) {
        for &nanos in &self.pending[..self.pending_len] {
            // An auto-resizing histogram accepts every u64; failure would be
            // a broken invariant inside hdrhistogram, i.e. a bug.
            self.histogram
                .record(nanos)
                .expect("auto-resizing histogram accepts every u64");
        }
        self.pending_len = 0;
    }

    /// The histogram with the pending values included: borrowed when none
    /// are pending, else a flushed copy (read paths take `&self`).
    fn complete(&self) -> std::borrow::Cow<'_, Histogram<u64>> {
        if self.pending_len == 0 {
            return std::borrow::Cow::Borrowed(&self.histogram);
        }
        let mut copy = self.clone();
        copy.flush();
        std::borrow::Cow::Owned(copy.histogram)
    }
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self::new()
    }
}

/// The report quantiles of a [`LatencyHistogram`].
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct Quantiles {
    /// Median.
    pub p50: SimDuration,
    /// 90th percentile.
    pub p90: SimDuration,
    /// 99th percentile.
    pub p99: SimDuration,
    /// 99.9th percentile.
    pub p999: SimDuration,
}

/// Count, mean, maximum and quantiles of a [`LatencyHistogram`], for reports.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct LatencySummary {
    /// Number of recorded values.
    pub count: u64,
    /// Exact mean.
    pub mean: SimDuration,
    /// Exact maximum.
    pub max: SimDuration,
    /// Quantiles; `None` without a histogram or without values.
    pub quantiles: Option<Quantiles>,
}

impl LatencyHistogram {
    /// An empty histogram with quantiles. Its bucket array starts small and
    /// grows (logarithmically) with the largest value recorded, never with
    /// the number of values: up to about 200 kB for values up to a minute.
    pub fn new() -> Self {
        let mut histogram = Histogram::new(HISTOGRAM_SIGNIFICANT_DIGITS)
            .expect("3 significant digits is a valid HDR histogram precision");
        histogram.auto(true);
        let recorder = QuantileRecorder {
            histogram,
            pending_len: 0,
            pending: [0; RECORD_BATCH],
        };
        LatencyHistogram {
            quantiles: Some(Box::new(recorder)),
            ..Self::moments_only()
        }
    }

    /// An empty recorder of exact moments only (count, mean, variance, max),
    /// with no quantiles: a few dozen bytes, for models with thousands of
    /// components.
    pub fn moments_only() -> Self {
        LatencyHistogram {
            count: 0,
            sum_nanos: 0,
            sum_sq_secs: 0.0,
            max_nanos: 0,
            quantiles: None,
        }
    }

    /// Records one duration. The exact moments are updated at once; the
    /// quantile histogram receives values in batches of 32 (see `RECORD_BATCH`),
    /// which no reader can observe: every read includes pending values.
    #[inline]
    pub fn record(&mut self, d: SimDuration) {
        let nanos = d.as_nanos();
        if let Some(q) = &mut self.quantiles {
            q.pending[q.pending_len] = nanos;
            q.pending_len += 1;
            if q.pending_len == RECORD_BATCH {
                q.flush();
            }
        }
        self.count += 1;
        self.sum_nanos += u128::from(nanos);
        self.max_nanos = self.max_nanos.max(nanos);
        let secs = d.as_secs_f64();
        self.sum_sq_secs += secs * secs;
    }

    /// Adds any values still waiting for the next batch to the quantile
    /// histogram, so that reads need not (they copy the histogram to
    /// include them). Never changes a result.
    pub fn flush(&mut self) {
        if let Some(q) = &mut self.quantiles {
            q.flush();
        }
    }

    /// Adds every value recorded in `other`. Quantiles survive only if both
    /// sides keep a histogram.
    pub fn merge(&mut self, other: &LatencyHistogram) {
        match (&mut self.quantiles, &other.quantiles) {
            (Some(mine), Some(theirs)) => {
                mine.flush();
                mine.histogram
                    .add(&*theirs.complete())
                    .expect("auto-resizing histograms always merge");
            }
            (mine @ Some(_), None) => *mine = None,
            (None, _) => {}
        }
        self.count += other.count;
        self.sum_nanos += other.sum_nanos;
        self.sum_sq_secs += other.sum_sq_secs;
        self.max_nanos = self.max_nanos.max(other.max_nanos);
    }

    /// Forgets everything recorded (warm-up deletion).
    pub fn reset(&mut self) {
        if let Some(q) = &mut self.quantiles {
            q.histogram.reset();
            q.pending_len = 0;
        }
        self.count = 0;
        self.sum_nanos = 0;
        self.sum_sq_secs = 0.0;
        self.max_nanos = 0;
    }

    /// Number of recorded values.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Exact mean (zero when empty).
    pub fn mean(&self) -> SimDuration {
        match self.count {
            0 => SimDuration::ZERO,
            n => SimDuration::from_nanos((self.sum_nanos / u128::from(n)) as u64),
        }
    }

    /// Exact mean in seconds, without rounding to the nanosecond.
    pub fn mean_secs(&self) -> f64 {
        match self.count {
            0 => 0.0,
            n => self.sum_nanos as f64 / n as f64 / 1e9,
        }
    }

    /// Exact sum of all recorded durations, in nanoseconds.
    pub fn sum_nanos(&self) -> u128 {
        self.sum_nanos
    }

    /// Sample variance in seconds squared (zero with fewer than two values).
    pub fn variance_secs2(&self) -> f64 {
        if self.count < 2 {
            return 0.0;
        }
        let mean = self.mean_secs();
        let n = self.count as f64;
        ((self.sum_sq_secs - n * mean * mean) / (n - 1.0)).max(0.0)
    }

    /// The value at quantile `q` in [0, 1], to three significant digits;
    /// `None` when empty or kept without a histogram.
    pub fn quantile(&self, q: f64) -> Option<SimDuration> {
        match &self.quantiles {
            Some(recorder) if self.count > 0 => Some(Self::value_at(&recorder.complete(), q)),
            _ => None,
        }
    }

    fn value_at(histogram: &Histogram<u64>, q: f64) -> SimDuration {
        SimDuration::from_nanos(histogram.value_at_quantile(q.clamp(0.0, 1.0)))
    }

    /// Exact maximum (zero when empty).
    pub fn max(&self) -> SimDuration {
        SimDuration::from_nanos(self.max_nanos)
    }

    /// Count, mean, maximum and the report quantiles.
    pub fn summary(&self) -> LatencySummary {
        let quantiles = match &self.quantiles {
            Some(recorder) if self.count > 0 => {
                let h = recorder.complete();
                Some(Quantiles {
                    p50: Self::value_at(&h, 0.5),
                    p90: Self::value_at(&h, 0.9),
                    p99: Self::value_at(&h, 0.99),
                    p999: Self::value_at(&h, 0.999),
                })
            }
            _ => None,
        };
        LatencySummary {
            count: self.count,
            mean: self.mean(),
            max: self.max(),
            quantiles,
        }
    }
}

/// The time-weighted average of a piecewise-constant integer quantity, such
/// as queue length or busy workers. Exact: the integral is kept in `u128`
/// value-nanoseconds.
#[derive(Clone, Copy, Debug)]
pub struct TimeWeighted {
    value: u64,
    max: u64,
    since: SimTime,
    last_change: SimTime,
    integral: u128,
}

impl TimeWeighted {
    /// Starts tracking at `start` with the value `initial`.
    pub fn new(start: SimTime, initial: u64) -> Self {
        TimeWeighted {
            value: initial,
            max: initial,
            since: start,
            last_change: start,
            integral: 0,
        }
    }

    #[inline]
    fn advance(&mut self, now: SimTime) {
        let dt = now.saturating_since(self.last_change).as_nanos();
        self.integral += u128::from(self.value) * u128::from(dt);
        self.last_change = now;
    }

    /// Sets the value from `now` on.
    #[inline]
    pub fn set(&mut self, now: SimTime, value: u64) {
        self.advance(now);
        self.value = value;
        self.max = self.max.max(value);
    }

    /// Adds one to the value from `now` on.
    #[inline]
    pub fn increment(&mut self, now: SimTime) {
        self.set(now, self.value + 1);
    }

    /// Subtracts one from the value from `now` on. Panics (a model bug) if
    /// the value is already zero.
    #[inline]
    pub fn decrement(&mut self, now: SimTime) {
        let value = self
            .value
            .checked_sub(1)
            .expect("time-weighted quantity went negative");
        self.set(now, value);
    }

    /// The current value.
    pub fn value(&self) -> u64 {
        self.value
    }

    /// The largest value seen since the last reset.
    pub fn max(&self) -> u64 {
        self.max
    }

    /// Restarts the average at `now`, keeping the current value (warm-up
    /// deletion).
    pub fn reset(&mut self, now: SimTime) {
        self.since = now;
        self.last_change = now;
        self.integral = 0;
        self.max = self.value;
    }

    /// The integral of the value from the (last) start to `now`, in
    /// value-nanoseconds.
    pub fn integral_at(&self, now: SimTime) -> u128 {
        self.integral
            + u128::from(self.value) * u128::from(now.saturating_since(self.last_change).as_nanos())
    }

    /// The time-weighted mean from the (last) start to `now` (the current
    /// value if no time has passed).
    pub fn mean_at(&self, now: SimTime) -> f64 {
        let span = now.saturating_since(self.since).as_nanos();
        if span == 0 {
            return self.value as f64;
        }
        self.integral_at(now) as f64 / span as f64
    }
}

/// A monotone event counter.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counter(u64);

impl Counter {
    /// Adds one.
    #[inline]
    pub fn incr(&mut self) {
        self.0 += 1;
    }
    /// Adds `n`.
    #[inline]
    pub fn add(&mut self, n: u64) {
        self.0 += n;
    }
    /// The count.
    pub fn get(&self) -> u64 {
        self.0
    }
    /// Back to zero (warm-up deletion).
    pub fn reset(&mut self) {
        self.0 = 0;
    }
}

/// One interval of a [`TimeSeries`].
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SeriesPoint {
    /// Number of values recorded in the interval.
    pub count: u64,
    /// Sum of the values.
    pub sum: f64,
    /// Largest value (zero when empty).
    pub max: f64,
}

impl SeriesPoint {
    /// Mean of the values in the interval (zero when empty).
    pub fn mean(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum / self.count as f64
        }
    }
}

/// Values bucketed into fixed simulated-time intervals, for plots: request
/// rate (count per interval), mean or peak latency per interval, or a gauge
/// sampled once per interval. Memory is one point per interval of simulated
/// time, independent of how many values are recorded.
#[derive(Clone, Debug)]
pub struct TimeSeries {
    interval: SimDuration,
    points: Vec<SeriesPoint>,
}

impl TimeSeries {
    /// An empty series with the given interval (must be positive).
    pub fn new(interval: SimDuration) -> Self {
        assert!(!interval.is_zero(), "time-series interval must be positive");
        TimeSeries {
            interval,
            points: Vec::new(),
        }
    }

    /// The bucket width.
    pub fn interval(&self) -> SimDuration {
        self.interval
    }

    /// Records `value` in the interval containing `at`.
    #[inline]
    pub fn record(&mut self, at: SimTime, value: f64) {
        let idx = (at.as_nanos() / self.interval.as_nanos()) as usize;
        if idx >= self.points.len() {
            self.points.resize(idx + 1, SeriesPoint::default());
        }
        let p = &mut self.points[idx];
        if p.count == 0 || value > p.max {
            p.max = value;
        }
        p.count += 1;
        p.sum += value;
    }

    /// The points, one per interval from time zero.
    pub fn points(&self) -> &[SeriesPoint] {
        &self.points
    }

    /// Adds `other`'s points into this one (same interval required).
    pub fn merge(&mut self, other: &TimeSeries) {
        assert_eq!(
            self.interval, other.interval,
            "merging series with different intervals"
        );
        if other.points.len() > self.points.len() {
            self.points
                .resize(other.points.len(), SeriesPoint::default());
        }
        for (mine, theirs) in self.points.iter_mut().zip(&other.points) {
            if theirs.count > 0 && (mine.count == 0 || theirs.max > mine.max) {
                mine.max = theirs.max;
            }
            mine.count += theirs.count;
            mine.sum += theirs.sum;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_quantiles_have_three_significant_digits() {
        let mut h = LatencyHistogram::new();
        for ms in 1..=10_000u64 {
            h.record(SimDuration::from_micros(ms * 100));
        }
        assert_eq!(h.count(), 10_000);
        // Exact mean of 0.1 ms .. 1000 ms in 0.1 ms steps is 500.05 ms.
        assert_eq!(h.mean(), SimDuration::from_micros(500_050));
        for (q, exact_ms) in [(0.5, 500.0), (0.9, 900.0), (0.99, 990.0), (0.999, 999.0)] {
            let got = h.quantile(q).unwrap().as_secs_f64() * 1e3;
            assert!(
                (got - exact_ms).abs() / exact_ms <= 1e-3,
                "q{q}: {got} vs {exact_ms}"
            );
        }
        assert_eq!(h.max(), SimDuration::from_secs(1));
    }

    #[test]
    fn histogram_merge_equals_recording_everything_in_one() {
        let (mut a, mut b, mut all) = (
            LatencyHistogram::new(),
            LatencyHistogram::new(),
            LatencyHistogram::new(),
        );
        for i in 0..1000u64 {
            let d = SimDuration::from_nanos(i * i * 37 + 1);
            if i % 3 == 0 {
                a.record(d)
            } else {
                b.record(d)
            }
            all.record(d);
        }
        a.merge(&b);
        assert_eq!(a.summary(), all.summary());
        assert_eq!(a.sum_nanos(), all.sum_nanos());
    }

    #[test]
    fn batched_recording_is_invisible_to_readers() {
        // Counts that are not multiples of the batch leave values pending;
        // every read must still see them, and merging must carry them over.
        let values = |n: u64, salt: u64| {
            (0..n).map(move |i| SimDuration::from_nanos((i * 7919 + salt) % 100_000 + 1))
        };
        for n in [
            1,
            RECORD_BATCH as u64 - 1,
            RECORD_BATCH as u64,
            3 * RECORD_BATCH as u64 + 5,
        ] {
            let (mut a, mut b) = (LatencyHistogram::new(), LatencyHistogram::new());
            let mut reference = Histogram::<u64>::new(HISTOGRAM_SIGNIFICANT_DIGITS).unwrap();
            reference.auto(true);
            for d in values(n, 0) {
                a.record(d);
                reference.record(d.as_nanos()).unwrap();
            }
            for d in values(n + 3, 11) {
                b.record(d);
                reference.record(d.as_nanos()).unwrap();
            }
            let before = a.summary();
            let mut flushed = a.clone();
            flushed.flush();
            assert_eq!(before, flushed.summary(), "n = {n}");
            a.merge(&b);
            for q in [0.0, 0.1, 0.5, 0.9, 0.99, 1.0] {
                assert_eq!(
                    a.quantile(q),
                    Some(SimDuration::from_nanos(reference.value_at_quantile(q))),
                    "n = {n}, q = {q}"
                );
            }
            a.reset();
            assert_eq!(a.quantile(0.5), None);
            a.record(SimDuration::from_nanos(5));
            assert_eq!(
                a.quantile(1.0),
                Some(SimDuration::from_nanos(5)),
                "reset drops pending values"
            );
        }
    }

    #[test]
    fn histogram_memory_does_not_grow_with_count() {
        let mut h = LatencyHistogram::new();
        h.record(SimDuration::from_secs(10));
        h.flush();
        let before = h.quantiles.as_ref().unwrap().histogram.distinct_values();
        for i in 0..1_000_000u64 {
            h.record(SimDuration::from_nanos(i * 10_000 % 10_000_000_000));
        }
        h.flush();
        assert_eq!(
            h.quantiles.as_ref().unwrap().histogram.distinct_values(),
            before,
            "bucket array must not grow"
        );
    }

    #[test]
    fn moments_only_keeps_exact_moments_without_quantiles() {
        let mut h = LatencyHistogram::moments_only();
        let mut full = LatencyHistogram::new();
        for i in 1..=100u64 {
            h.record(SimDuration::from_millis(i));
            full.record(SimDuration::from_millis(i));
        }
        assert_eq!(h.mean(), full.mean());
        assert_eq!(h.max(), SimDuration::from_millis(100));
        assert_eq!(h.variance_secs2(), full.variance_secs2());
        assert_eq!(h.quantile(0.5), None);
        assert_eq!(h.summary().quantiles, None);
        assert!(full.summary().quantiles.is_some());
        full.merge(&h);
        assert_eq!(full.count(), 200);
        assert_eq!(
            full.quantile(0.5),
            None,
            "merging a moments-only recorder drops quantiles"
        );
    }

    #[test]
    fn time_weighted_mean_is_exact() {
        let t = |s| SimTime::from_secs(s);
        let mut q = TimeWeighted::new(t(0), 0);
        q.set(t(2), 3); // 0 for 2 s
        q.increment(t(4)); // 3 for 2 s
        q.set(t(10), 1); // 4 for 6 s
        // integral to t=12: 0*2 + 3*2 + 4*6 + 1*2 = 32 over 12 s
        assert!((q.mean_at(t(12)) - 32.0 / 12.0).abs() < 1e-12);
        assert_eq!(q.max(), 4);
        q.reset(t(12));
        q.decrement(t(13));
        // after reset: 1 for 1 s then 0 for 1 s
        assert!((q.mean_at(t(14)) - 0.5).abs() < 1e-12);
        assert_eq!(q.max(), 1);
    }

    #[test]
    fn series_buckets_by_interval_and_merges() {
        let mut s = TimeSeries::new(SimDuration::from_secs(1));
        s.record(SimTime::from_nanos(10), 2.0);
        s.record(SimTime::from_nanos(999_999_999), 4.0);
        s.record(SimTime::from_secs(2), 1.0);
        assert_eq!(s.points().len(), 3);
        assert_eq!(
            s.points()[0],
            SeriesPoint {
                count: 2,
                sum: 6.0,
                max: 4.0
            }
        );
        assert_eq!(s.points()[1], SeriesPoint::default());
        let mut other = TimeSeries::new(SimDuration::from_secs(1));
        other.record(SimTime::from_secs(3), 5.0);
        s.merge(&other);
        assert_eq!(s.points().len(), 4);
        assert_eq!(s.points()[3].mean(), 5.0);
    }
}
