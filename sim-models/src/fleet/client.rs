//! Client-side resilience: retry backoff with jitter, retry budgets, circuit
//! breakers and bulkheads.
//!
//! Each mechanism is a small, pure state machine: time comes in as a
//! [`SimTime`] argument, randomness through a caller-supplied generator, so a
//! run stays a function of its seed. Every call is O(1) and allocation-free,
//! because the model consults these on every request and retry (about 10^8
//! per run). No input the configuration types allow makes any of them panic:
//! zero thresholds, zero windows and saturating times all have a defined
//! meaning, documented on each item.

use rand::Rng;
use sim_core::{SimDuration, SimTime};

use super::config::{BreakerConfig, Jitter, RetryBudgetConfig, RetryConfig};

/// A uniform integer in `[0, hi]` (both ends included) from exactly one
/// 64-bit draw: Lemire's multiply-shift. Its bias, below `hi / 2^64`, is far
/// below anything a simulation can observe, and it never loops, so every call
/// consumes the same amount of the stream.
#[inline]
fn uniform_inclusive<R: Rng + ?Sized>(rng: &mut R, hi: u64) -> u64 {
    ((u128::from(rng.next_u64()) * (u128::from(hi) + 1)) >> 64) as u64
}

// ---------------------------------------------------------------------------
// Backoff
// ---------------------------------------------------------------------------

/// Retry backoff policy: exponential growth capped at `cap`, with one of the
/// AWS Architecture Blog's jitter flavours ("Exponential Backoff and
/// Jitter").
///
/// The policy itself is immutable and shared by every request of a
/// population; the only per-request state is the previous sleep, which only
/// [`Jitter::Decorrelated`] reads. The model keeps it in its request record
/// (one [`SimDuration`]) and passes it back to [`Backoff::delay`], which
/// returns the new sleep to store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    base: SimDuration,
    cap: SimDuration,
    jitter: Jitter,
}

impl Backoff {
    /// A policy with the given base, cap and jitter flavour.
    pub const fn new(base: SimDuration, cap: SimDuration, jitter: Jitter) -> Self {
        Backoff { base, cap, jitter }
    }

    /// The policy of a population's retry settings.
    pub const fn from_config(cfg: &RetryConfig) -> Self {
        Backoff::new(cfg.base, cfg.cap, cfg.jitter)
    }

    /// The un-jittered sleep before retry `retry_number`:
    /// `min(cap, base × 2^(retry_number − 1))`, saturating instead of
    /// overflowing for any `retry_number`. Retry 0 is treated as retry 1.
    pub fn exponential(&self, retry_number: u32) -> SimDuration {
        let shift = retry_number.saturating_sub(1);
        let base = self.base.as_nanos();
        let grown = if base == 0 {
            0
        } else if shift >= u64::BITS || base > (u64::MAX >> shift) {
            u64::MAX
        } else {
            base << shift
        };
        SimDuration::from_nanos(grown.min(self.cap.as_nanos()))
    }

    /// The sleep before retry `retry_number` (1 for the first retry) of a
    /// request whose previous sleep was `prev_sleep`. With `e` =
    /// [`Backoff::exponential`]`(retry_number)`:
    ///
    /// - [`Jitter::None`]: `e`; draws nothing.
    /// - [`Jitter::Full`]: uniform in `[0, e]`.
    /// - [`Jitter::Equal`]: `e − ⌊e/2⌋ + uniform[0, ⌊e/2⌋]`, i.e. in
    ///   `[⌈e/2⌉, e]` with mean about `3e/4`.
    /// - [`Jitter::Decorrelated`]: `min(cap, uniform[base, 3 × prev])`, where
    ///   the previous sleep is taken to be `base` on the first retry
    ///   (`retry_number ≤ 1`, whatever `prev_sleep` says); `retry_number` is
    ///   otherwise unused. If `3 × prev < base` (possible only when
    ///   `cap < base`) the draw is `base`.
    ///
    /// Each jittered flavour consumes exactly one `u64` from `rng`. Store the
    /// result as the request's `prev_sleep` for the next retry.
    pub fn delay<R: Rng + ?Sized>(
        &self,
        retry_number: u32,
        prev_sleep: SimDuration,
        rng: &mut R,
    ) -> SimDuration {
        match self.jitter {
            Jitter::None => self.exponential(retry_number),
            Jitter::Full => {
                let e = self.exponential(retry_number).as_nanos();
                SimDuration::from_nanos(uniform_inclusive(rng, e))
            }
            Jitter::Equal => {
                let e = self.exponential(retry_number).as_nanos();
                let half = e / 2;
                SimDuration::from_nanos(e - half + uniform_inclusive(rng, half))
            }
            Jitter::Decorrelated => {
                let prev = if retry_number <= 1 {
                    self.base
                } else {
                    prev_sleep
                };
                let lo = self.base.as_nanos();
                let hi = prev.as_nanos().saturating_mul(3).max(lo);
                let sleep = lo + uniform_inclusive(rng, hi - lo);
                SimDuration::from_nanos(sleep.min(self.cap.as_nanos()))
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Retry budget
// ---------------------------------------------------------------------------

/// Number of time slices in a [`RetryBudget`]'s sliding window.
const BUDGET_SLICES: usize = 10;

/// Retry budget with Finagle's semantics: over a sliding window, a retry is
/// allowed while
/// `retries_in_window + 1 ≤ ratio × requests_in_window + min_per_second × window_seconds`.
///
/// This is Finagle's token bucket (each request deposits `ratio` tokens, each
/// retry withdraws one, a reserve of `min_per_second × window` never
/// expires, deposits and withdrawals expire after the window) written as
/// counts. The window is a ring of ten slices of `window / 10`, like
/// Finagle's `WindowedAdder`: a slice's counts leave the window all at once,
/// so the effective window is between 0.9 and 1.0 × `window`. Every call is
/// O(1): moving the window clears at most ten slices.
///
/// A window shorter than 10 ns is treated as ten 1-ns slices. A NaN ratio or
/// reserve allows no retries.
#[derive(Clone, Debug)]
pub struct RetryBudget {
    ratio: f64,
    reserve: f64,
    /// Slice width in nanoseconds, at least 1.
    slice: u64,
    /// Index (time / slice) of the newest slice seen.
    epoch: u64,
    requests: [u64; BUDGET_SLICES],
    retries: [u64; BUDGET_SLICES],
    requests_in_window: u64,
    retries_in_window: u64,
    granted: u64,
    denied: u64,
}

impl RetryBudget {
    /// An empty budget (only the reserve is available) starting at time zero.
    pub fn new(cfg: RetryBudgetConfig) -> Self {
        let slice = (cfg.window.as_nanos() / BUDGET_SLICES as u64).max(1);
        RetryBudget {
            ratio: cfg.ratio,
            reserve: cfg.min_per_second * cfg.window.as_secs_f64(),
            slice,
            epoch: 0,
            requests: [0; BUDGET_SLICES],
            retries: [0; BUDGET_SLICES],
            requests_in_window: 0,
            retries_in_window: 0,
            granted: 0,
            denied: 0,
        }
    }

    /// Records an original request (a first attempt, not a retry) at `now`:
    /// it earns the budget `ratio` retries for the next window.
    pub fn on_request(&mut self, now: SimTime) {
        let i = self.advance(now);
        self.requests[i] += 1;
        self.requests_in_window += 1;
    }

    /// Asks to spend one retry at `now`. Returns `true` and counts the retry
    /// if the budget allows it; `false` (budget exhausted) otherwise, and
    /// then nothing is spent.
    pub fn try_withdraw(&mut self, now: SimTime) -> bool {
        let i = self.advance(now);
        let allowed = (self.retries_in_window + 1) as f64
            <= self.ratio * self.requests_in_window as f64 + self.reserve;
        if allowed {
            self.retries[i] += 1;
            self.retries_in_window += 1;
            self.granted += 1;
        } else {
            self.denied += 1;
        }
        allowed
    }

    /// Retries granted since the start.
    pub fn granted(&self) -> u64 {
        self.granted
    }

    /// Retries refused since the start (budget exhausted).
    pub fn denied(&self) -> u64 {
        self.denied
    }

    /// Moves the window so that it ends in the slice containing `now`, and
    /// returns that slice's ring index. A `now` earlier than the newest time
    /// seen counts in the newest slice (time never runs backwards here).
    #[inline]
    fn advance(&mut self, now: SimTime) -> usize {
        let epoch = now.as_nanos() / self.slice;
        if epoch > self.epoch {
            let steps = epoch - self.epoch;
            if steps >= BUDGET_SLICES as u64 {
                self.requests = [0; BUDGET_SLICES];
                self.retries = [0; BUDGET_SLICES];
                self.requests_in_window = 0;
                self.retries_in_window = 0;
            } else {
                for k in 1..=steps {
                    let i = ((self.epoch + k) % BUDGET_SLICES as u64) as usize;
                    self.requests_in_window -= self.requests[i];
                    self.retries_in_window -= self.retries[i];
                    self.requests[i] = 0;
                    self.retries[i] = 0;
                }
            }
            self.epoch = epoch;
        }
        (self.epoch % BUDGET_SLICES as u64) as usize
    }
}

// ---------------------------------------------------------------------------
// Circuit breaker
// ---------------------------------------------------------------------------

/// The three states of a [`CircuitBreaker`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BreakerState {
    /// Normal operation: every call goes through; consecutive failures are
    /// counted.
    Closed,
    /// Tripped: calls are rejected without being tried.
    Open,
    /// Probing after the open timeout: calls go through; enough successes
    /// close the breaker, one failure re-opens it.
    HalfOpen,
}

/// Circuit breaker following seed 003's state machine.
///
/// - **Closed**: a success resets the consecutive-failure count; the
///   `failure_threshold`-th consecutive failure opens the breaker.
/// - **Open**: [`allow`](CircuitBreaker::allow) rejects until `open_timeout`
///   has elapsed since the last failure (`now − last_failure ≥ open_timeout`;
///   the seed writes `>`, which differs by one nanosecond), then moves to
///   half-open and admits the call. Results that arrive while open (from
///   calls admitted before it opened) follow the seed: a failure restarts
///   the timeout, a success is ignored.
/// - **Half-open**: every call is admitted, as in the seed (no probe limit).
///   `success_threshold` successes close the breaker; any failure re-opens
///   it and restarts the timeout.
///
/// A threshold of 0 behaves like 1. The open → half-open move is lazy: it
/// happens in `allow`, so [`state`](CircuitBreaker::state) reports `Open`
/// past the timeout until the next call, but
/// [`open_time`](CircuitBreaker::open_time) counts an open period only up to
/// its due time, so the report is exact either way.
#[derive(Clone, Debug)]
pub struct CircuitBreaker {
    cfg: BreakerConfig,
    state: BreakerState,
    /// When the current state began.
    since: SimTime,
    /// Consecutive failures while closed.
    failures: u32,
    /// Successes while half-open.
    successes: u32,
    last_failure: SimTime,
    /// Transitions into `Open` (from closed or half-open).
    opened: u64,
    /// Transitions half-open → closed.
    closed: u64,
    /// Nanoseconds spent open in completed open periods.
    open_nanos: u64,
}

impl CircuitBreaker {
    /// A closed breaker with no history.
    pub fn new(cfg: BreakerConfig) -> Self {
        CircuitBreaker {
            cfg,
            state: BreakerState::Closed,
            since: SimTime::ZERO,
            failures: 0,
            successes: 0,
            last_failure: SimTime::ZERO,
            opened: 0,
            closed: 0,
            open_nanos: 0,
        }
    }

    /// Whether a call may go out at `now`. Moves an open breaker whose
    /// timeout has passed to half-open (and then admits the call).
    pub fn allow(&mut self, now: SimTime) -> bool {
        match self.state {
            BreakerState::Closed | BreakerState::HalfOpen => true,
            BreakerState::Open => {
                if now.saturating_since(self.last_failure) >= self.cfg.open_timeout {
                    let end = self.half_open_due().min(now);
                    self.open_nanos = self
                        .open_nanos
                        .saturating_add(end.saturating_since(self.since).as_nanos());
                    self.state = BreakerState::HalfOpen;
                    self.since = end;
                    self.successes = 0;
                    true
                } else {
                    false
                }
            }
        }
    }

    /// Records a successful call at `now`.
    pub fn on_success(&mut self, now: SimTime) {
        match self.state {
            BreakerState::Closed => self.failures = 0,
            BreakerState::HalfOpen => {
                self.successes = self.successes.saturating_add(1);
                if self.successes >= self.cfg.success_threshold {
                    self.state = BreakerState::Closed;
                    self.since = now;
                    self.failures = 0;
                    self.successes = 0;
                    self.closed += 1;
                }
            }
            BreakerState::Open => {}
        }
    }

    /// Records a failed call at `now`.
    pub fn on_failure(&mut self, now: SimTime) {
        match self.state {
            BreakerState::Closed => {
                self.failures = self.failures.saturating_add(1);
                self.last_failure = now;
                if self.failures >= self.cfg.failure_threshold {
                    self.trip(now);
                }
            }
            BreakerState::HalfOpen => self.trip(now),
            BreakerState::Open => self.last_failure = self.last_failure.max(now),
        }
    }

    /// The state as of the last call (see the type's note on laziness).
    pub fn state(&self) -> BreakerState {
        self.state
    }

    /// When the current state began (for an open → half-open move, the
    /// moment the timeout expired).
    pub fn state_since(&self) -> SimTime {
        self.since
    }

    /// Times the breaker has opened (from closed, or re-opened from
    /// half-open).
    pub fn opened_count(&self) -> u64 {
        self.opened
    }

    /// Times the breaker has closed again after half-open.
    pub fn closed_count(&self) -> u64 {
        self.closed
    }

    /// Total time spent open (rejecting) up to `now`; an open period ends
    /// when its timeout expires even if no call has moved it to half-open.
    pub fn open_time(&self, now: SimTime) -> SimDuration {
        let current = if self.state == BreakerState::Open {
            self.half_open_due()
                .min(now)
                .saturating_since(self.since)
                .as_nanos()
        } else {
            0
        };
        SimDuration::from_nanos(self.open_nanos.saturating_add(current))
    }

    /// When an open breaker will admit its next call: last failure plus the
    /// open timeout (saturating).
    fn half_open_due(&self) -> SimTime {
        self.last_failure
            .checked_add(self.cfg.open_timeout)
            .unwrap_or(SimTime::MAX)
    }

    /// Enters `Open` at `now`.
    fn trip(&mut self, now: SimTime) {
        self.state = BreakerState::Open;
        self.since = now;
        self.last_failure = now;
        self.successes = 0;
        self.opened += 1;
    }
}

// ---------------------------------------------------------------------------
// Bulkhead
// ---------------------------------------------------------------------------

/// Bulkhead: a cap on a population's requests in flight, so one overloaded
/// dependency cannot absorb every client slot. `None` as the limit is
/// unbounded (it still counts).
#[derive(Clone, Debug)]
pub struct Bulkhead {
    limit: Option<u32>,
    in_use: u64,
    rejected: u64,
}

impl Bulkhead {
    /// An empty bulkhead with the given limit (`None`: unbounded).
    pub fn new(limit: Option<u32>) -> Self {
        Bulkhead {
            limit,
            in_use: 0,
            rejected: 0,
        }
    }

    /// Takes a slot if one is free; `false` (and a rejection counted) when
    /// the limit is reached.
    pub fn try_acquire(&mut self) -> bool {
        match self.limit {
            Some(limit) if self.in_use >= u64::from(limit) => {
                self.rejected += 1;
                false
            }
            _ => {
                self.in_use += 1;
                true
            }
        }
    }

    /// Gives a slot back. Releasing with no slot taken is a no-op.
    pub fn release(&mut self) {
        self.in_use = self.in_use.saturating_sub(1);
    }

    /// Slots currently taken.
    pub fn in_use(&self) -> u64 {
        self.in_use
    }

    /// The limit (`None`: unbounded).
    pub fn limit(&self) -> Option<u32> {
        self.limit
    }

    /// Acquisitions refused since the start.
    pub fn rejected(&self) -> u64 {
        self.rejected
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::{RngStreams, StreamKey, StreamRng};

    fn rng(seed: u64) -> StreamRng {
        RngStreams::new(seed).stream(StreamKey::named("client-test"))
    }

    fn ms(x: u64) -> SimDuration {
        SimDuration::from_millis(x)
    }

    fn secs(x: u64) -> SimTime {
        SimTime::from_secs(x)
    }

    fn at_ms(x: u64) -> SimTime {
        SimTime::from_nanos(x * 1_000_000)
    }

    /// Mean, min and max (in ms) of `n` delays for one retry number.
    fn stats(b: &Backoff, retry: u32, n: usize, seed: u64) -> (f64, f64, f64) {
        let mut r = rng(seed);
        let (mut sum, mut lo, mut hi) = (0.0, f64::INFINITY, 0.0f64);
        for _ in 0..n {
            let d = b.delay(retry, SimDuration::ZERO, &mut r).as_secs_f64() * 1e3;
            sum += d;
            lo = lo.min(d);
            hi = hi.max(d);
        }
        (sum / n as f64, lo, hi)
    }

    #[test]
    fn exponential_grows_caps_and_never_overflows() {
        let b = Backoff::new(ms(100), SimDuration::from_secs(20), Jitter::None);
        let mut r = rng(1);
        assert_eq!(b.delay(1, SimDuration::ZERO, &mut r), ms(100));
        assert_eq!(b.delay(2, SimDuration::ZERO, &mut r), ms(200));
        assert_eq!(b.delay(4, SimDuration::ZERO, &mut r), ms(800));
        assert_eq!(b.delay(0, SimDuration::ZERO, &mut r), ms(100));
        assert_eq!(b.exponential(8), SimDuration::from_millis(12_800));
        assert_eq!(b.exponential(9), SimDuration::from_secs(20));
        for n in [30, 63, 64, 65, 200, u32::MAX] {
            assert_eq!(b.exponential(n), SimDuration::from_secs(20), "n = {n}");
        }
        let huge = Backoff::new(SimDuration::MAX, SimDuration::MAX, Jitter::Full);
        assert_eq!(huge.exponential(u32::MAX), SimDuration::MAX);
        let _ = huge.delay(u32::MAX, SimDuration::MAX, &mut r);
        let zero = Backoff::new(SimDuration::ZERO, SimDuration::ZERO, Jitter::Equal);
        assert_eq!(zero.delay(5, SimDuration::ZERO, &mut r), SimDuration::ZERO);
    }

    #[test]
    fn full_jitter_is_uniform_on_zero_to_ceiling() {
        let b = Backoff::new(ms(100), SimDuration::from_secs(10), Jitter::Full);
        // Retry 3: ceiling 400 ms, mean 200 ms; sd of the mean ≈ 0.37 ms.
        let (mean, lo, hi) = stats(&b, 3, 100_000, 2);
        assert!((mean - 200.0).abs() < 2.0, "mean {mean}");
        assert!((0.0..1.0).contains(&lo), "min {lo}");
        assert!(hi <= 400.0 && hi > 399.0, "max {hi}");
    }

    #[test]
    fn equal_jitter_is_uniform_on_upper_half() {
        let b = Backoff::new(ms(100), SimDuration::from_secs(10), Jitter::Equal);
        // Retry 3: in [200, 400] ms, mean 300 ms.
        let (mean, lo, hi) = stats(&b, 3, 100_000, 3);
        assert!((mean - 300.0).abs() < 1.5, "mean {mean}");
        assert!((200.0..201.0).contains(&lo), "min {lo}");
        assert!(hi <= 400.0 && hi > 399.0, "max {hi}");
    }

    #[test]
    fn jitter_respects_the_cap() {
        for jitter in [
            Jitter::None,
            Jitter::Full,
            Jitter::Equal,
            Jitter::Decorrelated,
        ] {
            let b = Backoff::new(ms(100), ms(1_000), jitter);
            let mut r = rng(4);
            let mut prev = SimDuration::ZERO;
            for retry in 1..200 {
                let d = b.delay(retry, prev, &mut r);
                assert!(d <= ms(1_000), "{jitter:?} retry {retry}: {d}");
                prev = d;
            }
        }
        // Far past the cap, full jitter is uniform on [0, cap].
        let b = Backoff::new(ms(100), ms(1_000), Jitter::Full);
        let (mean, _, hi) = stats(&b, 40, 50_000, 5);
        assert!((mean - 500.0).abs() < 7.0, "mean {mean}");
        assert!(hi <= 1_000.0);
    }

    #[test]
    fn decorrelated_jitter_stays_between_base_and_three_times_previous() {
        let base = ms(100);
        let cap = SimDuration::from_secs(30);
        let b = Backoff::new(base, cap, Jitter::Decorrelated);
        let mut r = rng(6);
        // First retry: uniform on [base, 3 base] whatever `prev` says.
        let (mean, lo, hi) = stats(&b, 1, 100_000, 7);
        assert!((mean - 200.0).abs() < 1.5, "mean {mean}");
        assert!((100.0..101.0).contains(&lo), "min {lo}");
        assert!(hi <= 300.0 && hi > 299.0, "max {hi}");
        // Chains: each sleep in [base, min(cap, 3 × previous)].
        let mut reached_cap = false;
        for _ in 0..1_000 {
            let mut prev = SimDuration::ZERO;
            for retry in 1..=20 {
                let d = b.delay(retry, prev, &mut r);
                let prev_eff = if retry == 1 { base } else { prev };
                let upper = SimDuration::from_nanos(prev_eff.as_nanos() * 3).min(cap);
                assert!(
                    d >= base && d <= upper,
                    "retry {retry}: {d} not in [{base}, {upper}]"
                );
                reached_cap |= d == cap;
                prev = d;
            }
        }
        assert!(reached_cap, "long chains should hit the cap");
        // A cap below the base pins every sleep at the cap.
        let low = Backoff::new(ms(100), ms(50), Jitter::Decorrelated);
        assert_eq!(low.delay(1, SimDuration::ZERO, &mut r), ms(50));
        assert_eq!(low.delay(2, ms(50), &mut r), ms(50));
    }

    #[test]
    fn backoff_is_deterministic_per_seed() {
        let b = Backoff::new(ms(10), SimDuration::from_secs(5), Jitter::Full);
        let draw = |seed| {
            let mut r = rng(seed);
            (1..10)
                .map(|n| b.delay(n, SimDuration::ZERO, &mut r))
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(9), draw(9));
        assert_ne!(draw(9), draw(10));
    }

    fn budget(ratio: f64, min_per_second: f64, window_secs: u64) -> RetryBudget {
        RetryBudget::new(RetryBudgetConfig {
            ratio,
            min_per_second,
            window: SimDuration::from_secs(window_secs),
        })
    }

    #[test]
    fn budget_allows_the_reserve_with_no_traffic() {
        // 10/s over 10 s: a reserve of 100 retries in any window.
        let mut b = budget(0.2, 10.0, 10);
        let granted = (0..150).filter(|_| b.try_withdraw(secs(1))).count();
        assert_eq!(granted, 100);
        assert_eq!(b.granted(), 100);
        assert_eq!(b.denied(), 50);
    }

    #[test]
    fn budget_allows_about_ratio_of_requests_under_load() {
        // 1000 requests/s, every one wants a retry: the long-run grant rate
        // should be ratio × 1000 + min_per_second = 210/s.
        let mut b = budget(0.2, 10.0, 10);
        let mut granted_after_warmup = 0u64;
        let total_ms = 120_000;
        for t in 0..total_ms {
            let now = at_ms(t);
            b.on_request(now);
            if b.try_withdraw(now) && t >= 20_000 {
                granted_after_warmup += 1;
            }
        }
        let rate = granted_after_warmup as f64 / 100.0;
        assert!((rate - 210.0).abs() < 210.0 * 0.03, "rate {rate}/s");
        // With no reserve it is the ratio alone.
        let mut b = budget(0.1, 0.0, 10);
        let mut granted = 0u64;
        for t in 0..total_ms {
            b.on_request(at_ms(t));
            if b.try_withdraw(at_ms(t)) && t >= 20_000 {
                granted += 1;
            }
        }
        let rate = granted as f64 / 100.0;
        assert!((rate - 100.0).abs() < 3.0, "rate {rate}/s");
    }

    #[test]
    fn budget_recovers_as_the_window_slides() {
        let mut b = budget(0.5, 1.0, 10);
        for t in 0..100 {
            b.on_request(at_ms(t * 10));
        }
        // 0.5 × 100 + 1 × 10 = 60 retries.
        let granted = (0..100).filter(|_| b.try_withdraw(secs(1))).count();
        assert_eq!(granted, 60);
        assert!(!b.try_withdraw(secs(5)));
        // At 10.5 s the 0–1 s slice has left: its 100 requests and the 60
        // retries (all at 1 s, still inside) — the requests leave first.
        assert!(!b.try_withdraw(at_ms(10_500)));
        // At 11.5 s the retries at 1 s have expired too: the reserve is back.
        let granted = (0..100).filter(|_| b.try_withdraw(at_ms(11_500))).count();
        assert_eq!(granted, 10);
        // A jump far ahead clears everything at once.
        let granted = (0..100).filter(|_| b.try_withdraw(secs(1_000))).count();
        assert_eq!(granted, 10);
    }

    #[test]
    fn budget_survives_odd_configs() {
        let mut zero_window = budget(0.2, 10.0, 0);
        zero_window.on_request(secs(1));
        let _ = zero_window.try_withdraw(secs(1));
        let mut nan = budget(f64::NAN, f64::NAN, 10);
        nan.on_request(secs(1));
        assert!(!nan.try_withdraw(secs(1)));
        // Time running backwards counts in the newest slice.
        let mut b = budget(0.0, 0.2, 10);
        assert!(b.try_withdraw(secs(100)));
        assert!(b.try_withdraw(secs(3)));
        assert!(!b.try_withdraw(secs(101)));
        assert!(b.try_withdraw(SimTime::MAX));
        assert_eq!((b.granted(), b.denied()), (3, 1));
    }

    fn breaker() -> CircuitBreaker {
        CircuitBreaker::new(BreakerConfig {
            failure_threshold: 3,
            success_threshold: 2,
            open_timeout: SimDuration::from_secs(60),
        })
    }

    #[test]
    fn breaker_full_cycle() {
        let mut b = breaker();
        assert_eq!(b.state(), BreakerState::Closed);
        // A success in between resets the consecutive count.
        for (t, ok) in [(1, false), (2, false), (3, true), (4, false), (5, false)] {
            assert!(b.allow(secs(t)));
            if ok {
                b.on_success(secs(t));
            } else {
                b.on_failure(secs(t));
            }
        }
        assert_eq!(b.state(), BreakerState::Closed);
        b.on_failure(secs(6));
        assert_eq!(b.state(), BreakerState::Open);
        assert_eq!(b.opened_count(), 1);
        assert_eq!(b.state_since(), secs(6));
        // Rejects until 60 s after the last failure.
        assert!(!b.allow(secs(7)));
        assert!(!b.allow(SimTime::from_nanos(secs(66).as_nanos() - 1)));
        assert_eq!(b.open_time(secs(36)), SimDuration::from_secs(30));
        // Open time stops at the due time even before anyone asks.
        assert_eq!(b.open_time(secs(100)), SimDuration::from_secs(60));
        assert!(b.allow(secs(70)));
        assert_eq!(b.state(), BreakerState::HalfOpen);
        assert_eq!(b.state_since(), secs(66));
        // Half-open admits everything; two successes close it.
        assert!(b.allow(secs(70)));
        b.on_success(secs(71));
        assert_eq!(b.state(), BreakerState::HalfOpen);
        b.on_success(secs(72));
        assert_eq!(b.state(), BreakerState::Closed);
        assert_eq!(b.closed_count(), 1);
        assert_eq!(b.open_time(secs(500)), SimDuration::from_secs(60));
        // The consecutive count starts afresh after closing.
        b.on_failure(secs(80));
        b.on_failure(secs(81));
        assert_eq!(b.state(), BreakerState::Closed);
    }

    #[test]
    fn half_open_failure_reopens_and_restarts_the_timeout() {
        let mut b = breaker();
        for t in 0..3 {
            b.on_failure(secs(t));
        }
        assert_eq!(b.state(), BreakerState::Open);
        assert!(b.allow(secs(62)));
        b.on_success(secs(63));
        b.on_failure(secs(64));
        assert_eq!(b.state(), BreakerState::Open);
        assert_eq!(b.opened_count(), 2);
        assert!(!b.allow(secs(123)));
        assert!(b.allow(secs(124)));
        assert_eq!(b.state(), BreakerState::HalfOpen);
        // The success before the re-open does not count toward closing.
        b.on_success(secs(125));
        assert_eq!(b.state(), BreakerState::HalfOpen);
        // Open periods: 2 → 62 and 64 → 124.
        assert_eq!(b.open_time(secs(200)), SimDuration::from_secs(120));
    }

    #[test]
    fn late_results_while_open_follow_the_seed() {
        let mut b = breaker();
        for t in 0..3 {
            b.on_failure(secs(t));
        }
        // A late success is ignored; a late failure restarts the timeout.
        b.on_success(secs(10));
        b.on_failure(secs(20));
        assert_eq!(b.opened_count(), 1);
        assert!(!b.allow(secs(79)));
        assert!(b.allow(secs(80)));
        assert_eq!(b.open_time(secs(90)), SimDuration::from_secs(78));
    }

    #[test]
    fn breaker_zero_thresholds_and_timeout() {
        let mut b = CircuitBreaker::new(BreakerConfig {
            failure_threshold: 0,
            success_threshold: 0,
            open_timeout: SimDuration::ZERO,
        });
        b.on_failure(secs(1));
        assert_eq!(b.state(), BreakerState::Open);
        assert!(b.allow(secs(1)));
        b.on_success(secs(1));
        assert_eq!(b.state(), BreakerState::Closed);
        let mut never = CircuitBreaker::new(BreakerConfig {
            failure_threshold: 1,
            success_threshold: 1,
            open_timeout: SimDuration::MAX,
        });
        never.on_failure(secs(5));
        assert!(!never.allow(SimTime::MAX));
        assert_eq!(
            never.open_time(SimTime::MAX),
            SimTime::MAX.saturating_since(secs(5))
        );
    }

    #[test]
    fn bulkhead_caps_in_flight() {
        let mut b = Bulkhead::new(Some(2));
        assert!(b.try_acquire());
        assert!(b.try_acquire());
        assert!(!b.try_acquire());
        assert_eq!(b.in_use(), 2);
        assert_eq!(b.rejected(), 1);
        b.release();
        assert_eq!(b.in_use(), 1);
        assert!(b.try_acquire());
        b.release();
        b.release();
        b.release();
        assert_eq!(b.in_use(), 0);
        let mut zero = Bulkhead::new(Some(0));
        assert!(!zero.try_acquire());
        let mut open = Bulkhead::new(None);
        assert!((0..10_000).all(|_| open.try_acquire()));
        assert_eq!(open.in_use(), 10_000);
        assert_eq!(open.limit(), None);
    }
}
