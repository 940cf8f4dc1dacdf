//! What a fleet run measures while it runs: outcomes, latencies, SLO
//! minutes and per-bucket time series, for the whole fleet and per region
//! and population.
//!
//! Everything here is streaming (fixed memory per region, per bucket of the
//! time series and per minute), so a ten-hour run needs no more memory than
//! a one-hour run beyond its time series.

use serde::Serialize;
use sim_core::stats::LatencyHistogram;
use sim_core::{SimDuration, SimTime};

/// How a request ended. Every request ends in exactly one outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    /// A successful answer reached the client.
    Ok,
    /// The client gave up waiting (after its last attempt).
    Timeout,
    /// An instance's queue was full (HTTP 503), on the last attempt.
    Rejected,
    /// The balancer had no backend to send to.
    NoHealthyBackend,
    /// The client's circuit breaker for the target region was open.
    CircuitOpen,
    /// A retry was due but the retry budget refused it.
    RetryBudgetExhausted,
    /// The population's bulkhead was full: the request was never sent.
    BulkheadFull,
    /// The client's DNS answer expired while the DNS provider was down: it
    /// could not resolve, so the request was never sent.
    DnsFailure,
    /// The instance answered an error because its database was unreachable
    /// (node down, queue full, or a write to a read-only node).
    DatabaseError,
    /// The database was unreachable and the instance answered from a stale
    /// cache entry or a default: an answer, but not a fresh one.
    Degraded,
}

impl Outcome {
    /// All outcomes, in report order.
    pub const ALL: [Outcome; 10] = [
        Outcome::Ok,
        Outcome::Timeout,
        Outcome::Rejected,
        Outcome::NoHealthyBackend,
        Outcome::CircuitOpen,
        Outcome::RetryBudgetExhausted,
        Outcome::BulkheadFull,
        Outcome::DnsFailure,
        Outcome::DatabaseError,
        Outcome::Degraded,
    ];

    /// Whether the client got an answer (fresh or degraded): these count as
    /// available and, within the latency SLO, as good.
    #[inline]
    pub fn answered(self) -> bool {
        matches!(self, Outcome::Ok | Outcome::Degraded)
    }

    /// The outcome's name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Timeout => "timeout",
            Outcome::Rejected => "rejected",
            Outcome::NoHealthyBackend => "no_healthy_backend",
            Outcome::CircuitOpen => "circuit_open",
            Outcome::RetryBudgetExhausted => "retry_budget_exhausted",
            Outcome::BulkheadFull => "bulkhead_full",
            Outcome::DnsFailure => "dns_failure",
            Outcome::DatabaseError => "database_error",
            Outcome::Degraded => "degraded",
        }
    }
}

/// Requests per outcome.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct OutcomeCounts {
    /// Successful.
    pub ok: u64,
    /// Timed out.
    pub timeout: u64,
    /// Rejected by a full queue.
    pub rejected: u64,
    /// No backend to send to.
    pub no_healthy_backend: u64,
    /// Refused by an open circuit breaker.
    pub circuit_open: u64,
    /// A retry was refused by the retry budget.
    pub retry_budget_exhausted: u64,
    /// Refused by the client's bulkhead.
    pub bulkhead_full: u64,
    /// Could not resolve: the DNS provider was down.
    pub dns_failure: u64,
    /// The database was unreachable.
    pub database_error: u64,
    /// Answered stale or by default because the database was unreachable.
    pub degraded: u64,
}

impl OutcomeCounts {
    /// Adds one request with `outcome`.
    #[inline]
    pub fn add(&mut self, outcome: Outcome) {
        *self.slot(outcome) += 1;
    }

    fn slot(&mut self, outcome: Outcome) -> &mut u64 {
        match outcome {
            Outcome::Ok => &mut self.ok,
            Outcome::Timeout => &mut self.timeout,
            Outcome::Rejected => &mut self.rejected,
            Outcome::NoHealthyBackend => &mut self.no_healthy_backend,
            Outcome::CircuitOpen => &mut self.circuit_open,
            Outcome::RetryBudgetExhausted => &mut self.retry_budget_exhausted,
            Outcome::BulkheadFull => &mut self.bulkhead_full,
            Outcome::DnsFailure => &mut self.dns_failure,
            Outcome::DatabaseError => &mut self.database_error,
            Outcome::Degraded => &mut self.degraded,
        }
    }

    /// Requests with `outcome`.
    pub fn get(&self, outcome: Outcome) -> u64 {
        match outcome {
            Outcome::Ok => self.ok,
            Outcome::Timeout => self.timeout,
            Outcome::Rejected => self.rejected,
            Outcome::NoHealthyBackend => self.no_healthy_backend,
            Outcome::CircuitOpen => self.circuit_open,
            Outcome::RetryBudgetExhausted => self.retry_budget_exhausted,
            Outcome::BulkheadFull => self.bulkhead_full,
            Outcome::DnsFailure => self.dns_failure,
            Outcome::DatabaseError => self.database_error,
            Outcome::Degraded => self.degraded,
        }
    }

    /// Requests in all.
    pub fn total(&self) -> u64 {
        self.ok
            + self.timeout
            + self.rejected
            + self.no_healthy_backend
            + self.circuit_open
            + self.retry_budget_exhausted
            + self.bulkhead_full
            + self.dns_failure
            + self.database_error
            + self.degraded
    }

    /// Requests answered: fresh (`ok`) or degraded.
    pub fn answered(&self) -> u64 {
        self.ok + self.degraded
    }

    /// Requests that got no answer.
    pub fn errors(&self) -> u64 {
        self.total() - self.answered()
    }

    /// Adds `other` into `self`.
    pub fn merge(&mut self, other: &OutcomeCounts) {
        for o in Outcome::ALL {
            *self.slot(o) += other.get(o);
        }
    }
}

/// Outcome and SLO counts of one scope (the fleet, a region, a population)
/// over the measured part of the run. Latency histograms are kept once per
/// (population, region) pair by the model and merged per scope for the
/// report, so each request is recorded in one histogram, not three.
#[derive(Clone, Debug)]
pub struct ScopeStats {
    /// Outcomes of requests that ended after the warm-up.
    pub outcomes: OutcomeCounts,
    /// Successful requests within the SLO latency.
    pub good: u64,
    /// SLO bookkeeping per minute.
    pub minutes: MinuteSlo,
}

impl ScopeStats {
    /// Empty statistics.
    pub fn new() -> Self {
        ScopeStats {
            outcomes: OutcomeCounts::default(),
            good: 0,
            minutes: MinuteSlo::default(),
        }
    }

    /// Records one ended request.
    #[inline]
    pub fn record(&mut self, outcome: Outcome, latency: SimDuration, slo_latency: SimDuration) {
        self.outcomes.add(outcome);
        self.minutes.total += 1;
        if outcome.answered() && latency <= slo_latency {
            self.good += 1;
            self.minutes.good += 1;
        }
    }
}

impl Default for ScopeStats {
    fn default() -> Self {
        Self::new()
    }
}

/// Counts of minutes meeting the SLO, with the current minute's tallies.
#[derive(Clone, Copy, Debug, Default)]
pub struct MinuteSlo {
    /// Requests ended in the current minute.
    pub total: u64,
    /// Good requests in the current minute.
    pub good: u64,
    /// Minutes with at least one request so far.
    pub minutes: u64,
    /// Of those, minutes whose good share reached the target.
    pub minutes_meeting: u64,
}

impl MinuteSlo {
    /// Closes the current minute against `target`.
    pub fn close_minute(&mut self, target: f64) {
        if self.total > 0 {
            self.minutes += 1;
            if self.good as f64 >= target * self.total as f64 {
                self.minutes_meeting += 1;
            }
        }
        self.total = 0;
        self.good = 0;
    }
}

/// One bucket of a time series. Values are single precision (seven
/// significant digits, plenty for plots): a ten-hour run at 10 s buckets
/// keeps 3,600 points per series, and half the bytes per point keeps a long
/// run's memory close to a short one's.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SeriesPoint {
    /// Start of the bucket, seconds.
    pub t_s: f64,
    /// Requests ended per second in the bucket.
    pub rate_per_s: f32,
    /// Successful requests per second.
    pub ok_per_s: f32,
    /// Failed requests (any outcome but ok) in the bucket.
    pub errors: u32,
    /// Median latency of successful requests, seconds (null if none).
    pub p50_s: Option<f32>,
    /// 99th percentile latency of successful requests, seconds.
    pub p99_s: Option<f32>,
    /// Mean number of requests waiting in instance queues over the bucket.
    pub queue_length: f32,
    /// Mean share of workers busy over the bucket.
    pub utilization: f32,
    /// Instances alive (booting, serving or draining) at the bucket's end.
    pub instances: u32,
}

/// The running bucket of a time series.
#[derive(Clone, Debug)]
pub struct Bucket {
    /// Requests ended.
    pub ended: u64,
    /// Successful.
    pub ok: u64,
    /// Latencies of successful requests.
    pub latency: LatencyHistogram,
}

impl Bucket {
    /// An empty bucket.
    pub fn new() -> Self {
        Bucket {
            ended: 0,
            ok: 0,
            latency: LatencyHistogram::new(),
        }
    }

    /// Records one ended request.
    #[inline]
    pub fn record(&mut self, outcome: Outcome, latency: SimDuration) {
        self.ended += 1;
        if outcome.answered() {
            self.ok += 1;
            self.latency.record(latency);
        }
    }

    /// Adds `other`'s requests to this bucket.
    pub fn absorb(&mut self, other: &Bucket) {
        self.ended += other.ended;
        self.ok += other.ok;
        self.latency.merge(&other.latency);
    }

    /// Turns the bucket into a point and empties it.
    pub fn close(
        &mut self,
        start: SimTime,
        width: SimDuration,
        queue_length: f64,
        utilization: f64,
        instances: u64,
    ) -> SeriesPoint {
        let secs = width.as_secs_f64().max(1e-9);
        let q = |q: f64| self.latency.quantile(q).map(|d| d.as_secs_f64() as f32);
        let point = SeriesPoint {
            t_s: start.as_secs_f64(),
            rate_per_s: (self.ended as f64 / secs) as f32,
            ok_per_s: (self.ok as f64 / secs) as f32,
            errors: u32::try_from(self.ended - self.ok).unwrap_or(u32::MAX),
            p50_s: q(0.5),
            p99_s: q(0.99),
            queue_length: queue_length as f32,
            utilization: utilization as f32,
            instances: u32::try_from(instances).unwrap_or(u32::MAX),
        };
        self.ended = 0;
        self.ok = 0;
        self.latency.reset();
        point
    }
}

impl Default for Bucket {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_counts_add_up() {
        let mut c = OutcomeCounts::default();
        for o in Outcome::ALL {
            c.add(o);
        }
        c.add(Outcome::Ok);
        // Ten outcomes plus one more ok; ok and degraded are answers.
        assert_eq!(c.total(), 11);
        assert_eq!(c.answered(), 3);
        assert_eq!(c.errors(), 8);
        let mut d = OutcomeCounts::default();
        d.merge(&c);
        assert_eq!(d, c);
    }

    #[test]
    fn minute_slo_counts_minutes_meeting_target() {
        let mut s = ScopeStats::new();
        let slo = SimDuration::from_millis(100);
        for _ in 0..999 {
            s.record(Outcome::Ok, SimDuration::from_millis(10), slo);
        }
        s.record(Outcome::Timeout, SimDuration::ZERO, slo);
        s.minutes.close_minute(0.999);
        s.record(Outcome::Ok, SimDuration::from_millis(500), slo);
        s.minutes.close_minute(0.999);
        s.minutes.close_minute(0.999); // empty minute: not counted
        assert_eq!(s.minutes.minutes, 2);
        assert_eq!(s.minutes.minutes_meeting, 1);
        assert_eq!(s.good, 999);
    }
}
