//! Backend health at the load balancer: active health checks, passive
//! outlier detection (Envoy `consecutive_5xx`) and the slow-start ramp.
//!
//! These are pure state machines: the model runs the checks, schedules the
//! timers and feeds in results and times; nothing here reads a clock or
//! allocates per call. Per-request and per-check calls are O(1); only the
//! outlier detector's interval sweep walks the pool. No input the
//! configuration types allow makes any of them panic.

use sim_core::{SimDuration, SimTime};

use super::config::{HealthCheckConfig, OutlierConfig, SlowStartConfig};

// ---------------------------------------------------------------------------
// Active health checks
// ---------------------------------------------------------------------------

/// Active health-check state of one target (an instance at its balancer, or
/// a region at GeoDNS): a consecutive-threshold state machine.
///
/// A healthy target turns unhealthy after `unhealthy_threshold` consecutive
/// failed checks; an unhealthy one turns healthy after `healthy_threshold`
/// consecutive passes — except a target that has never been healthy (newly
/// registered or still booting), which needs a single pass (the ALB and
/// Envoy startup rule). A result that agrees with the current health resets
/// the opposite streak. Thresholds of 0 behave like 1.
#[derive(Clone, Debug)]
pub struct HealthChecker {
    cfg: HealthCheckConfig,
    healthy: bool,
    ever_healthy: bool,
    /// Consecutive results contradicting the current health.
    streak: u32,
}

impl HealthChecker {
    /// A checker for a target that starts healthy (already serving at the
    /// start of the run) or not (new: one pass makes it healthy).
    pub fn new(cfg: HealthCheckConfig, initially_healthy: bool) -> Self {
        HealthChecker {
            cfg,
            healthy: initially_healthy,
            ever_healthy: initially_healthy,
            streak: 0,
        }
    }

    /// Records one check result; returns `Some(new_health)` when the health
    /// flips, `None` otherwise.
    pub fn record(&mut self, passed: bool) -> Option<bool> {
        if passed == self.healthy {
            self.streak = 0;
            return None;
        }
        self.streak = self.streak.saturating_add(1);
        let needed = if self.healthy {
            self.cfg.unhealthy_threshold
        } else if self.ever_healthy {
            self.cfg.healthy_threshold
        } else {
            1
        };
        if self.streak >= needed.max(1) {
            self.healthy = passed;
            self.ever_healthy |= passed;
            self.streak = 0;
            Some(passed)
        } else {
            None
        }
    }

    /// Whether the target is currently healthy.
    pub fn is_healthy(&self) -> bool {
        self.healthy
    }

    /// Whether the target has ever been healthy (if not, one pass suffices).
    pub fn ever_healthy(&self) -> bool {
        self.ever_healthy
    }

    /// The check settings (interval and timeout, for the model's timers).
    pub fn config(&self) -> &HealthCheckConfig {
        &self.cfg
    }
}

// ---------------------------------------------------------------------------
// Outlier detection
// ---------------------------------------------------------------------------

/// Per-backend state of an [`OutlierDetector`].
#[derive(Clone, Copy, Debug)]
struct BackendOutlier {
    /// Consecutive errors since the last success, ejection or detection.
    consecutive: u32,
    /// Envoy's ejection-time multiplier (`ejectTimeBackoff`).
    multiplier: u32,
    ejected: bool,
    /// Still in the pool (not removed).
    active: bool,
    /// When the current ejection ends.
    until: SimTime,
    /// When the backend last returned from an ejection.
    last_uneject: Option<SimTime>,
}

impl BackendOutlier {
    const NEW: BackendOutlier = BackendOutlier {
        consecutive: 0,
        multiplier: 0,
        ejected: false,
        active: true,
        until: SimTime::ZERO,
        last_uneject: None,
    };
}

/// Passive outlier detection for one balancer's pool, after Envoy's
/// `consecutive_5xx` detector.
///
/// - Every `consecutive_errors`-th consecutive error of a backend is a
///   detection; a success resets the streak, and so does each detection,
///   ejected or not (so a detection refused by the cap is retried after
///   another full streak, as in Envoy).
/// - A detection ejects the backend if fewer than
///   `max(1, ⌊max_ejection_percent × n / 100⌋)` backends are ejected, `n`
///   being the backends in the pool (at least one can always be ejected);
///   refused detections are counted as overflows.
/// - An ejection increments the backend's multiplier and lasts
///   `min(max_ejection, base_ejection × multiplier)`. As in Envoy, the
///   multiplier stops growing once `base × multiplier ≥ max + base`, so that
///   a long-failing backend does not take unboundedly many intervals to
///   decay.
/// - [`on_interval`](OutlierDetector::on_interval), called every
///   `interval`, decrements the multiplier of each backend that is not
///   ejected and has been back for at least one interval (Envoy's rule: it
///   was not ejected at any time during the last interval).
/// - Results reported for an ejected backend (requests in flight when it was
///   ejected) are ignored, and the streak restarts on return, as in Envoy.
///
/// Envoy un-ejects at the first interval sweep after the time is up; here
/// the model schedules [`uneject`](OutlierDetector::uneject) at the exact
/// time returned by [`on_result`](OutlierDetector::on_result). A threshold
/// of 0 behaves like 1.
#[derive(Clone, Debug)]
pub struct OutlierDetector {
    cfg: OutlierConfig,
    backends: Vec<BackendOutlier>,
    active: usize,
    ejected: usize,
    total_ejections: u64,
    overflows: u64,
}

impl OutlierDetector {
    /// A detector for a pool of `n` backends (indices `0..n`), none ejected.
    pub fn new(cfg: OutlierConfig, n: usize) -> Self {
        OutlierDetector {
            cfg,
            backends: vec![BackendOutlier::NEW; n],
            active: n,
            ejected: 0,
            total_ejections: 0,
            overflows: 0,
        }
    }

    /// Adds a backend to the pool (the group scaled out) and returns its
    /// index. Amortized O(1); allocates only when the pool outgrows its
    /// capacity.
    pub fn add_backend(&mut self) -> usize {
        self.backends.push(BackendOutlier::NEW);
        self.active += 1;
        self.backends.len() - 1
    }

    /// Removes a backend from the pool (terminated or deregistered): it no
    /// longer counts toward `n`, its ejection (if any) ends, and its later
    /// results are ignored. Its index is not reused. Unknown or already
    /// removed indices are ignored.
    pub fn remove_backend(&mut self, backend: usize) {
        if let Some(b) = self.backends.get_mut(backend)
            && b.active
        {
            b.active = false;
            self.active -= 1;
            if b.ejected {
                b.ejected = false;
                self.ejected -= 1;
            }
        }
    }

    /// Records the outcome of one request to `backend` at `now` (`error`:
    /// a 5xx, a rejection or a timeout). Returns `Some(until)` when this
    /// result ejects the backend; the model schedules
    /// [`uneject`](OutlierDetector::uneject) at `until`. Results for unknown,
    /// removed or ejected backends are ignored.
    pub fn on_result(&mut self, backend: usize, error: bool, now: SimTime) -> Option<SimTime> {
        let cap = self.max_ejected();
        let b = self.backends.get_mut(backend)?;
        if !b.active || b.ejected {
            return None;
        }
        if !error {
            b.consecutive = 0;
            return None;
        }
        b.consecutive = b.consecutive.saturating_add(1);
        if b.consecutive < self.cfg.consecutive_errors.max(1) {
            return None;
        }
        b.consecutive = 0;
        if self.ejected >= cap {
            self.overflows += 1;
            return None;
        }
        let base = u128::from(self.cfg.base_ejection.as_nanos());
        let max = u128::from(self.cfg.max_ejection.as_nanos());
        if u128::from(b.multiplier) * base < max + base {
            b.multiplier = b.multiplier.saturating_add(1);
        }
        let length = (u128::from(b.multiplier) * base).min(max) as u64;
        let until = now
            .checked_add(SimDuration::from_nanos(length))
            .unwrap_or(SimTime::MAX);
        b.ejected = true;
        b.until = until;
        self.ejected += 1;
        self.total_ejections += 1;
        Some(until)
    }

    /// Returns `backend` to service if it is ejected and its ejection time is
    /// up at `now`; returns whether it did. A stale timer (the backend was
    /// already returned, or re-ejected until later) does nothing.
    pub fn uneject(&mut self, backend: usize, now: SimTime) -> bool {
        match self.backends.get(backend) {
            Some(b) if b.ejected && now >= b.until => self.release(backend, now),
            _ => false,
        }
    }

    /// Returns `backend` to service now, whatever its ejection time (Envoy
    /// un-ejects a backend that passes an active health check, by default);
    /// returns whether it was ejected.
    pub fn force_uneject(&mut self, backend: usize, now: SimTime) -> bool {
        match self.backends.get(backend) {
            Some(b) if b.ejected => self.release(backend, now),
            _ => false,
        }
    }

    /// The periodic analysis sweep, called every `interval`: decays the
    /// multiplier of each backend that is in the pool, not ejected, and back
    /// from its last ejection for at least one interval. O(n).
    pub fn on_interval(&mut self, now: SimTime) {
        let interval = self.cfg.interval;
        for b in &mut self.backends {
            if b.active
                && !b.ejected
                && b.multiplier > 0
                && b.last_uneject
                    .is_some_and(|t| now.saturating_since(t) >= interval)
            {
                b.multiplier -= 1;
            }
        }
    }

    /// Whether `backend` is ejected (false for unknown indices).
    pub fn is_ejected(&self, backend: usize) -> bool {
        self.backends.get(backend).is_some_and(|b| b.ejected)
    }

    /// When `backend`'s current ejection ends; `None` if it is not ejected.
    pub fn ejected_until(&self, backend: usize) -> Option<SimTime> {
        self.backends
            .get(backend)
            .filter(|b| b.ejected)
            .map(|b| b.until)
    }

    /// The ejection-time multiplier of `backend` (0 for unknown indices).
    pub fn multiplier(&self, backend: usize) -> u32 {
        self.backends.get(backend).map_or(0, |b| b.multiplier)
    }

    /// Backends ejected now.
    pub fn ejected_count(&self) -> usize {
        self.ejected
    }

    /// Backends in the pool (added and not removed).
    pub fn active_count(&self) -> usize {
        self.active
    }

    /// Backend indices handed out so far, removed ones included.
    pub fn backend_count(&self) -> usize {
        self.backends.len()
    }

    /// Ejections since the start.
    pub fn total_ejections(&self) -> u64 {
        self.total_ejections
    }

    /// Detections not acted on because the ejection cap was reached (Envoy's
    /// `ejections_overflow`).
    pub fn overflow_count(&self) -> u64 {
        self.overflows
    }

    /// Most backends that may be ejected at once:
    /// `max(1, ⌊percent × n / 100⌋)`; NaN or negative percentages give 1.
    fn max_ejected(&self) -> usize {
        let cap = (self.cfg.max_ejection_percent * self.active as f64 / 100.0).floor();
        if cap >= 1.0 { cap as usize } else { 1 }
    }

    /// Ends `backend`'s ejection at `now` (the caller checked it is ejected).
    fn release(&mut self, backend: usize, now: SimTime) -> bool {
        let b = &mut self.backends[backend];
        b.ejected = false;
        b.consecutive = 0;
        b.last_uneject = Some(now);
        self.ejected -= 1;
        true
    }
}

// ---------------------------------------------------------------------------
// Slow start
// ---------------------------------------------------------------------------

/// The slow-start weight factor of a backend `since` after it joined or
/// became healthy (Envoy's formula):
/// `max(min_weight, time_factor^(1/aggression))` with
/// `time_factor = max(seconds_since_start, 1) / window_seconds`, and 1.0
/// once `since ≥ window` (so a zero window is off).
///
/// The power goes through `libm` (bit-identical on every target) and is
/// skipped for the linear `aggression = 1`. The result never exceeds 1; odd
/// parameters (zero, negative or NaN aggression) fall back to `min_weight`
/// or 1 rather than panicking.
pub fn slow_start_factor(cfg: &SlowStartConfig, since: SimDuration) -> f64 {
    if since >= cfg.window {
        return 1.0;
    }
    let time_factor = since.as_secs_f64().max(1.0) / cfg.window.as_secs_f64();
    let ramp = if cfg.aggression == 1.0 {
        time_factor
    } else {
        libm::pow(time_factor, 1.0 / cfg.aggression)
    };
    ramp.max(cfg.min_weight).min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(x: u64) -> SimTime {
        SimTime::from_secs(x)
    }

    fn hc(unhealthy: u32, healthy: u32) -> HealthCheckConfig {
        HealthCheckConfig {
            interval: SimDuration::from_secs(30),
            timeout: SimDuration::from_secs(5),
            unhealthy_threshold: unhealthy,
            healthy_threshold: healthy,
        }
    }

    #[test]
    fn healthy_target_needs_consecutive_failures() {
        let mut h = HealthChecker::new(hc(2, 5), true);
        assert!(h.is_healthy());
        assert_eq!(h.record(false), None);
        assert_eq!(h.record(true), None); // streak broken
        assert_eq!(h.record(false), None);
        assert_eq!(h.record(false), Some(false));
        assert!(!h.is_healthy());
        assert_eq!(h.record(false), None);
    }

    #[test]
    fn recovering_target_needs_healthy_threshold_passes() {
        let mut h = HealthChecker::new(hc(2, 5), true);
        h.record(false);
        h.record(false);
        assert!(!h.is_healthy());
        for _ in 0..4 {
            assert_eq!(h.record(true), None);
        }
        assert_eq!(h.record(false), None); // streak broken
        for _ in 0..4 {
            assert_eq!(h.record(true), None);
        }
        assert_eq!(h.record(true), Some(true));
        assert!(h.is_healthy());
    }

    #[test]
    fn new_target_needs_one_pass() {
        let mut h = HealthChecker::new(hc(2, 5), false);
        assert!(!h.is_healthy() && !h.ever_healthy());
        assert_eq!(h.record(false), None);
        assert_eq!(h.record(true), Some(true));
        assert!(h.ever_healthy());
        // Once it has been healthy, recovery takes the full threshold.
        h.record(false);
        assert_eq!(h.record(false), Some(false));
        for _ in 0..4 {
            assert_eq!(h.record(true), None);
        }
        assert_eq!(h.record(true), Some(true));
    }

    #[test]
    fn zero_thresholds_act_as_one() {
        let mut h = HealthChecker::new(hc(0, 0), true);
        assert_eq!(h.record(false), Some(false));
        assert_eq!(h.record(true), Some(true));
    }

    fn outlier(percent: f64) -> OutlierConfig {
        OutlierConfig {
            consecutive_errors: 5,
            interval: SimDuration::from_secs(10),
            base_ejection: SimDuration::from_secs(30),
            max_ejection: SimDuration::from_secs(300),
            max_ejection_percent: percent,
        }
    }

    /// Sends `k` errors to `backend` at `now`; returns the last result.
    fn errors(d: &mut OutlierDetector, backend: usize, k: u32, now: SimTime) -> Option<SimTime> {
        (0..k)
            .map(|_| d.on_result(backend, true, now))
            .last()
            .flatten()
    }

    #[test]
    fn ejects_at_the_threshold_and_successes_reset() {
        let mut d = OutlierDetector::new(outlier(10.0), 10);
        assert_eq!(errors(&mut d, 3, 4, secs(1)), None);
        assert_eq!(d.on_result(3, false, secs(1)), None);
        assert_eq!(errors(&mut d, 3, 4, secs(2)), None);
        assert!(!d.is_ejected(3));
        assert_eq!(d.on_result(3, true, secs(2)), Some(secs(32)));
        assert!(d.is_ejected(3));
        assert_eq!(d.ejected_until(3), Some(secs(32)));
        assert_eq!((d.ejected_count(), d.total_ejections()), (1, 1));
        // Results while ejected are ignored.
        assert_eq!(errors(&mut d, 3, 20, secs(3)), None);
        // A stale or early timer does nothing; the due one returns it.
        assert!(!d.uneject(3, secs(31)));
        assert!(d.uneject(3, secs(32)));
        assert!(!d.uneject(3, secs(32)));
        assert_eq!(d.ejected_count(), 0);
        // The streak restarts after return.
        assert_eq!(errors(&mut d, 3, 4, secs(33)), None);
    }

    #[test]
    fn max_percent_caps_ejections_with_at_least_one() {
        // 10 % of 10 backends: one at a time.
        let mut d = OutlierDetector::new(outlier(10.0), 10);
        assert!(errors(&mut d, 0, 5, secs(1)).is_some());
        assert_eq!(errors(&mut d, 1, 5, secs(1)), None);
        assert_eq!(d.overflow_count(), 1);
        assert_eq!(d.ejected_count(), 1);
        // The refused detection reset the streak: a full streak is needed.
        d.uneject(0, secs(31));
        assert_eq!(errors(&mut d, 1, 4, secs(40)), None);
        assert!(d.on_result(1, true, secs(40)).is_some());
        // 10 % of 3 backends rounds down to 0, but one is always allowed.
        let mut d = OutlierDetector::new(outlier(10.0), 3);
        assert!(errors(&mut d, 0, 5, secs(1)).is_some());
        assert_eq!(errors(&mut d, 1, 5, secs(1)), None);
        // 50 % of 6: three.
        let mut d = OutlierDetector::new(outlier(50.0), 6);
        for b in 0..3 {
            assert!(errors(&mut d, b, 5, secs(1)).is_some(), "backend {b}");
        }
        assert_eq!(errors(&mut d, 3, 5, secs(1)), None);
        // Growing the pool raises the cap: 50 % of 8 is four.
        d.add_backend();
        assert_eq!(d.add_backend(), 7);
        assert!(errors(&mut d, 3, 5, secs(2)).is_some());
        assert_eq!(d.ejected_count(), 4);
        // Removing an ejected backend frees its slot and shrinks n.
        d.remove_backend(0);
        assert_eq!((d.active_count(), d.ejected_count()), (7, 3));
        assert!(!d.is_ejected(0));
        assert_eq!(errors(&mut d, 0, 5, secs(3)), None);
        // NaN percent still allows one.
        let mut d = OutlierDetector::new(outlier(f64::NAN), 4);
        assert!(errors(&mut d, 2, 5, secs(1)).is_some());
        assert_eq!(errors(&mut d, 3, 5, secs(1)), None);
    }

    #[test]
    fn ejection_time_grows_is_capped_and_decays() {
        let mut d = OutlierDetector::new(outlier(100.0), 2);
        let mut now = secs(0);
        let mut lengths = Vec::new();
        for _ in 0..14 {
            let until = errors(&mut d, 0, 5, now).expect("ejected");
            lengths.push((until - now).as_nanos() / 1_000_000_000);
            assert!(d.uneject(0, until));
            now = until;
        }
        assert_eq!(
            lengths,
            [
                30, 60, 90, 120, 150, 180, 210, 240, 270, 300, 300, 300, 300, 300
            ]
        );
        // The multiplier stopped at 11 (11 × 30 ≥ 300 + 30).
        assert_eq!(d.multiplier(0), 11);
        // Not yet back a full interval: no decay.
        d.on_interval(now + SimDuration::from_secs(5));
        assert_eq!(d.multiplier(0), 11);
        for k in 1..=11u64 {
            d.on_interval(now + SimDuration::from_secs(10 * k));
            assert_eq!(d.multiplier(0), 11 - k as u32);
        }
        d.on_interval(now + SimDuration::from_secs(200));
        assert_eq!(d.multiplier(0), 0);
        // After decaying, the next ejection is short again.
        let t = now + SimDuration::from_secs(300);
        assert_eq!(
            errors(&mut d, 0, 5, t),
            Some(t + SimDuration::from_secs(30))
        );
        // Ejected backends do not decay.
        d.on_interval(t + SimDuration::from_secs(20));
        assert_eq!(d.multiplier(0), 1);
    }

    #[test]
    fn partial_decay_gives_shorter_ejections() {
        let mut d = OutlierDetector::new(outlier(100.0), 1);
        let until = errors(&mut d, 0, 5, secs(0)).unwrap();
        d.uneject(0, until);
        let until = errors(&mut d, 0, 5, secs(40)).unwrap();
        assert_eq!(until, secs(100)); // 2 × 30
        d.uneject(0, until);
        d.on_interval(secs(110));
        d.on_interval(secs(120));
        assert_eq!(d.multiplier(0), 0);
        d.force_uneject(0, secs(120));
        assert_eq!(errors(&mut d, 0, 5, secs(125)), Some(secs(155)));
        assert!(d.force_uneject(0, secs(126)));
        assert!(!d.is_ejected(0));
    }

    #[test]
    fn outlier_odd_inputs_do_not_panic() {
        let cfg = OutlierConfig {
            consecutive_errors: 0,
            interval: SimDuration::ZERO,
            base_ejection: SimDuration::MAX,
            max_ejection: SimDuration::MAX,
            max_ejection_percent: -5.0,
        };
        let mut d = OutlierDetector::new(cfg, 0);
        assert_eq!(d.on_result(0, true, secs(1)), None);
        assert!(!d.uneject(9, secs(1)));
        d.remove_backend(9);
        let b = d.add_backend();
        assert_eq!(d.on_result(b, true, secs(1)), Some(SimTime::MAX));
        d.on_interval(SimTime::MAX);
        assert!(d.force_uneject(b, secs(2)));
        d.remove_backend(b);
        d.remove_backend(b);
        assert_eq!((d.active_count(), d.ejected_count()), (0, 0));
        d.on_interval(secs(3));
    }

    fn slow(window: u64, aggression: f64, min_weight: f64) -> SlowStartConfig {
        SlowStartConfig {
            window: SimDuration::from_secs(window),
            aggression,
            min_weight,
        }
    }

    #[test]
    fn slow_start_linear_ramp() {
        let cfg = slow(60, 1.0, 0.1);
        let f = |s| slow_start_factor(&cfg, SimDuration::from_secs(s));
        assert_eq!(f(0), 0.1);
        assert_eq!(f(3), 0.1);
        assert_eq!(f(30), 0.5);
        assert!((f(45) - 0.75).abs() < 1e-12);
        assert_eq!(f(60), 1.0);
        assert_eq!(f(600), 1.0);
        // Under one second counts as one second.
        let low = slow(10, 1.0, 0.0);
        assert_eq!(slow_start_factor(&low, SimDuration::ZERO), 0.1);
    }

    #[test]
    fn slow_start_aggression_shapes_the_ramp() {
        // Aggression 2: sqrt of the time factor.
        let cfg = slow(100, 2.0, 0.1);
        let f = |s| slow_start_factor(&cfg, SimDuration::from_secs(s));
        assert!((f(25) - 0.5).abs() < 1e-12);
        assert!((f(64) - 0.8).abs() < 1e-12);
        // Aggression 0.5: squared, so the floor holds longer.
        let cfg = slow(100, 0.5, 0.1);
        let f = |s| slow_start_factor(&cfg, SimDuration::from_secs(s));
        assert_eq!(f(30), 0.1);
        assert!((f(50) - 0.25).abs() < 1e-12);
    }

    #[test]
    fn slow_start_odd_configs() {
        assert_eq!(
            slow_start_factor(&slow(0, 1.0, 0.1), SimDuration::ZERO),
            1.0
        );
        for a in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let v = slow_start_factor(&slow(60, a, 0.1), SimDuration::from_secs(30));
            assert!((0.1..=1.0).contains(&v), "aggression {a}: {v}");
        }
        let v = slow_start_factor(&slow(60, 1.0, 5.0), SimDuration::from_secs(1));
        assert_eq!(v, 1.0);
    }
}
