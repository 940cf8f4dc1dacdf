//! AWS predictive scaling (reference §2.4), with fleetsim's own forecast.
//!
//! Forecast model (AWS's is proprietary, §2.4): **seasonal-naive, hourly**
//! (the forecast period is an hour, as AWS's, unless `forecast_interval`
//! says otherwise; "hour" below means one forecast period).
//! The load forecast for hour `H` (seconds `[3600H, 3600H + 3600)`) is the
//! mean request rate that reached the group in hour `H − season` (from
//! [`MetricHistory::minute_requests`](super::MetricHistory::minute_requests));
//! the capacity forecast is `ceil(forecast rate / target_requests_per_instance)`.
//! Like AWS, nothing is forecast before one full season (24 h by default) of
//! history has been recorded.
//!
//! Schedule: forecast hour `H` is acted on at `3600H − scheduling_buffer −
//! mean_boot` (AWS's `SchedulingBufferTime` pre-launch, plus the group's
//! mean boot time so that instances are *in service* a buffer ahead of the
//! hour). In `forecast_and_scale` mode, if the desired capacity is below the
//! forecast capacity, desired becomes the forecast capacity; it never scales
//! in. Until the next forecast hour starts the forecast stays a floor: if
//! another policy lowers the desired capacity below it, predictive scaling
//! raises it back (the group uses the larger of the predictive and dynamic
//! capacities, §2.4). In `forecast_only` mode (AWS's default) the policy only
//! logs each hour's forecast.
//!
//! `max_capacity_breach = "increase_max"` lets the forecast raise the
//! group's max to `ceil(forecast × (1 + max_capacity_buffer / 100))` (forecast
//! 50, buffer 10, max 40 ⇒ 55); the raised max stays (AWS: it "becomes the
//! new normal maximum capacity"). The decision carries it in
//! [`Decision::max`].

use std::ops::Bound;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sim_core::SimDuration;

use super::group::MAX_AUTOSCALE_INSTANCES;
use super::{Decision, GroupView, Policy};
use crate::fleet::lower::Check;
use crate::spec::Seconds;

const HOUR: u64 = 3600;
/// Longest season: AWS reads at most 14 days of history.
const MAX_SEASON_HOURS: u64 = 14 * 24;

/// Whether forecasts change the group (`Mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PredictiveMode {
    /// Log forecasts only (AWS default).
    ForecastOnly,
    /// Launch ahead of forecast load.
    ForecastAndScale,
}

/// What happens when the forecast capacity approaches or exceeds the max
/// (`MaxCapacityBreachBehavior`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MaxCapacityBreach {
    /// The max is a hard limit (AWS default).
    HonorMax,
    /// The forecast may raise the max (by `max_capacity_buffer` percent).
    IncreaseMax,
}

/// `[regions.groups.autoscaling.predictive]` as written.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PredictiveSpec {
    /// Requests per second one instance should carry (required, > 0): turns
    /// the load forecast into a capacity forecast.
    pub target_requests_per_instance: f64,
    /// `forecast_only` (default, as AWS) or `forecast_and_scale`.
    #[serde(default)]
    pub mode: Option<PredictiveMode>,
    /// How far ahead of each forecast hour instances are in service
    /// (default 300 s, less than 1 h); launches happen this much plus the
    /// group's mean boot time ahead of the hour.
    #[serde(default)]
    pub scheduling_buffer: Option<Seconds>,
    /// The seasonal period the forecast repeats (default 24 h; a whole
    /// number of forecast intervals, at most 14 days). Nothing is forecast
    /// before one season of history.
    #[serde(default)]
    pub season: Option<Seconds>,
    /// Length of one forecast period (default 1 h, AWS's hourly forecast;
    /// whole minutes, 1 min to 1 h). Scenarios that compress a day into an
    /// hour forecast in minutes.
    #[serde(default)]
    pub forecast_interval: Option<Seconds>,
    /// `honor_max` (default) or `increase_max`.
    #[serde(default)]
    pub max_capacity_breach: Option<MaxCapacityBreach>,
    /// With `increase_max`: headroom above the forecast for the raised max,
    /// in percent, 0–100 (default 0).
    #[serde(default)]
    pub max_capacity_buffer: Option<u64>,
}

/// Lowered predictive scaling.
#[derive(Clone, Debug, PartialEq)]
pub struct PredictiveConfig {
    /// Requests per second per instance.
    pub target_requests_per_instance: f64,
    /// Whether forecasts are applied.
    pub mode: PredictiveMode,
    /// Pre-launch buffer (before the mean boot time).
    pub scheduling_buffer: SimDuration,
    /// Season in forecast intervals.
    pub season_hours: u64,
    /// One forecast interval, seconds (a whole number of minutes).
    pub interval: u64,
    /// `None` = honor the max; `Some(percent)` = raise it with that buffer.
    pub increase_max_buffer: Option<u32>,
}

impl PredictiveConfig {
    /// Seconds of per-second history read: none (the forecast reads the
    /// per-minute request counts, which are kept for the whole run).
    pub fn history_seconds(&self) -> u64 {
        0
    }
}

/// Checks and lowers `spec` found at `path`.
pub(crate) fn lower_predictive(
    c: &mut Check,
    path: &str,
    spec: &PredictiveSpec,
) -> PredictiveConfig {
    let target = c.real(
        &format!("{path}.target_requests_per_instance"),
        spec.target_requests_per_instance,
        Bound::Excluded(0.0),
        Bound::Unbounded,
    );
    let ip = format!("{path}.forecast_interval");
    let interval_d = spec
        .forecast_interval
        .map_or(SimDuration::from_secs(HOUR), |v| c.positive_time(&ip, v));
    let minute_ns = 60 * 1_000_000_000;
    let interval = if interval_d.as_nanos().is_multiple_of(minute_ns)
        && (60..=HOUR).contains(&(interval_d.as_nanos() / 1_000_000_000))
    {
        interval_d.as_nanos() / 1_000_000_000
    } else {
        c.add(
            ip,
            format!(
                "must be a whole number of minutes from 1 min to 1 h, got {} s",
                interval_d.as_secs_f64()
            ),
        );
        HOUR
    };
    let bp = format!("{path}.scheduling_buffer");
    let default_buffer = SimDuration::from_secs(300.min(interval / 2));
    let mut buffer = spec
        .scheduling_buffer
        .map_or(default_buffer, |v| c.time(&bp, v));
    if buffer >= SimDuration::from_secs(interval) {
        c.add(
            bp,
            format!(
                "must be less than the forecast interval ({interval} s), got {} s",
                buffer.as_secs_f64()
            ),
        );
        buffer = default_buffer;
    }
    let sp = format!("{path}.season");
    let season = spec.season.map_or(SimDuration::from_secs(24 * HOUR), |v| {
        c.positive_time(&sp, v)
    });
    let period_ns = interval * 1_000_000_000;
    let periods = season.as_nanos() / period_ns;
    let max_periods = MAX_SEASON_HOURS * HOUR / interval;
    let season_hours = if !season.as_nanos().is_multiple_of(period_ns)
        || !(1..=max_periods).contains(&periods)
    {
        c.add(
            sp,
            format!(
                "must be a whole number of forecast intervals ({interval} s) up to 14 days, got {} s",
                season.as_secs_f64()
            ),
        );
        (24 * HOUR / interval).max(1)
    } else {
        periods
    };
    let breach = spec
        .max_capacity_breach
        .unwrap_or(MaxCapacityBreach::HonorMax);
    let mp = format!("{path}.max_capacity_buffer");
    let increase_max_buffer = match (breach, spec.max_capacity_buffer) {
        (MaxCapacityBreach::HonorMax, Some(_)) => {
            c.add(
                mp,
                "only applies with max_capacity_breach = \"increase_max\"",
            );
            None
        }
        (MaxCapacityBreach::HonorMax, None) => None,
        (MaxCapacityBreach::IncreaseMax, b) => Some(c.count(&mp, b.unwrap_or(0), 0, 100)),
    };
    PredictiveConfig {
        target_requests_per_instance: target,
        mode: spec.mode.unwrap_or(PredictiveMode::ForecastOnly),
        scheduling_buffer: buffer,
        season_hours,
        interval,
        increase_max_buffer,
    }
}

/// Seasonal-naive forecast over hourly periods: see [`seasonal_naive_in`].
pub fn seasonal_naive(minutes: &[u64], hour: u64, season_hours: u64) -> Option<f64> {
    seasonal_naive_in(minutes, hour, season_hours, 60)
}

/// Seasonal-naive forecast: the mean request rate (per second) of period
/// `period − season` (periods of `period_minutes` minutes), from
/// per-minute request counts. `None` before one full season of minutes is
/// recorded or when that period is not complete.
pub fn seasonal_naive_in(
    minutes: &[u64],
    period: u64,
    season: u64,
    period_minutes: u64,
) -> Option<f64> {
    let len = minutes.len() as u64;
    let source = period.checked_sub(season)?;
    let from = source.checked_mul(period_minutes)?;
    let to = from.checked_add(period_minutes)?;
    if len < season.saturating_mul(period_minutes) || to > len || period_minutes == 0 {
        return None;
    }
    let total: u64 = minutes[from as usize..to as usize].iter().sum();
    Some(total as f64 / (60 * period_minutes) as f64)
}

/// Capacity for a forecast rate: `ceil(rate / target)` (with a little slack
/// against float noise), at most the autoscaling limit.
pub fn forecast_capacity(rate: f64, target: f64) -> u32 {
    let x = rate / target;
    if x.is_finite() && x > 0.0 {
        (x - 1e-9).ceil().clamp(0.0, MAX_AUTOSCALE_INSTANCES as f64) as u32
    } else {
        0
    }
}

/// Desired capacity and, with `increase_max`, the raised max for a forecast
/// capacity: honor ⇒ `(min(forecast, max), None)`; increase ⇒ `(forecast,
/// Some(ceil(forecast × (1 + buffer%))))` when that exceeds the max.
pub fn scale_to(forecast: u32, max: u32, increase_max_buffer: Option<u32>) -> (u32, Option<u32>) {
    match increase_max_buffer {
        None => (forecast.min(max), None),
        Some(b) => {
            let limit = (u64::from(forecast) * (100 + u64::from(b))).div_ceil(100);
            let limit = limit.min(MAX_AUTOSCALE_INSTANCES) as u32;
            (forecast, (limit > max).then_some(limit))
        }
    }
}

/// Predictive scaling at run time: acts once per forecast hour, then holds
/// that hour's forecast capacity as a floor (see the module doc).
#[derive(Clone, Debug)]
pub struct PredictiveController {
    config: PredictiveConfig,
    /// The next forecast hour not yet acted on.
    next_hour: u64,
    /// The current hour and its forecast capacity (scale mode only).
    floor: Option<(u64, u32)>,
}

impl PredictiveController {
    /// A controller for `config`.
    pub fn new(config: &PredictiveConfig) -> Self {
        PredictiveController {
            config: config.clone(),
            next_hour: 0,
            floor: None,
        }
    }

    /// What a forecast period is called in the log.
    fn unit(&self) -> &'static str {
        if self.config.interval == HOUR {
            "hour"
        } else {
            "period"
        }
    }

    /// Raises desired to the forecast capacity of `hour` if it is lower.
    fn raise(
        &self,
        view: &GroupView<'_>,
        hour: u64,
        cap: u32,
        observed: Vec<(String, f64)>,
        why: &str,
    ) -> Option<Decision> {
        let (want, max) = scale_to(cap, view.max, self.config.increase_max_buffer);
        if want <= view.desired {
            return None;
        }
        let raised = max.map_or(String::new(), |m| {
            format!(", max {} → {m} (increase_max)", view.max)
        });
        Some(Decision {
            desired: Some(want),
            max,
            observed,
            reason: format!(
                "predictive: {why} {} {hour}: desired {} → {want}{raised}",
                self.unit(),
                view.desired
            ),
            ..Decision::default()
        })
    }
}

impl Policy for PredictiveController {
    fn kind(&self) -> &'static str {
        "predictive"
    }

    fn tick(&mut self, view: &GroupView<'_>) -> Option<Decision> {
        let now = view.now.as_secs_f64();
        let lead = self.config.scheduling_buffer.as_secs_f64() + view.mean_boot.as_secs_f64();
        let mut due = None;
        let period = self.config.interval;
        while (self.next_hour * period) as f64 - lead <= now {
            due = Some(self.next_hour);
            self.next_hour += 1;
        }
        let Some(hour) = due else {
            // Between forecast hours: hold the current forecast as a floor.
            let (hour, cap) = self.floor?;
            return self.raise(
                view,
                hour,
                cap,
                Vec::new(),
                "holding the forecast capacity of",
            );
        };
        self.floor = None;
        let cfg = &self.config;
        let rate = seasonal_naive_in(
            view.history.minute_requests(),
            hour,
            cfg.season_hours,
            period / 60,
        )?;
        let cap = forecast_capacity(rate, cfg.target_requests_per_instance);
        let observed = vec![
            ("forecast_hour".to_string(), hour as f64),
            ("forecast_requests_per_s".to_string(), rate),
            ("forecast_capacity".to_string(), f64::from(cap)),
            ("desired".to_string(), f64::from(view.desired)),
        ];
        let at = hour * period;
        if cfg.mode == PredictiveMode::ForecastOnly {
            return Some(Decision {
                observed,
                reason: format!(
                    "predictive forecast for {} {hour} (t={at} s): {rate:.2} req/s ⇒ {cap} instances (forecast_only: not applied)",
                    self.unit()
                ),
                ..Decision::default()
            });
        }
        self.floor = Some((hour, cap));
        let why = format!("forecast {rate:.2} req/s ⇒ {cap} instances for");
        let d = self.raise(view, hour, cap, observed.clone(), &why);
        if d.is_none() && cap > view.max && cfg.increase_max_buffer.is_none() {
            return Some(Decision {
                observed,
                reason: format!(
                    "predictive: {why} {} {hour}, held at the max ({}) by honor_max",
                    self.unit(),
                    view.max
                ),
                ..Decision::default()
            });
        }
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::autoscale::{AutoscalingSpec, InstanceCounts, MetricHistory, MetricRow};
    use sim_core::SimTime;

    const DAY: u64 = 24 * HOUR;

    fn lower(text: &str) -> (PredictiveConfig, Vec<String>) {
        let spec: AutoscalingSpec = toml::from_str(text).unwrap();
        let mut c = Check::default();
        let cfg = lower_predictive(&mut c, "p", spec.predictive.as_ref().unwrap());
        let problems = c
            .finish()
            .into_iter()
            .map(|p| format!("{}: {}", p.path, p.message))
            .collect();
        (cfg, problems)
    }

    /// 10 req/s, except 100 req/s from 08:00 to 20:00.
    fn daily_rate(s: u64) -> u64 {
        if (8 * HOUR..20 * HOUR).contains(&(s % DAY)) {
            100
        } else {
            10
        }
    }

    /// Runs two days second by second (desired starts at 1, max 20, mean
    /// boot 60 s); `meddle(s, desired)` may lower desired before a tick, as
    /// a dynamic policy would. Returns (second, decision) for every decision.
    fn two_days(cfg: &PredictiveConfig, meddle: impl Fn(u64, u32) -> u32) -> Vec<(u64, Decision)> {
        let mut h = MetricHistory::new(60);
        let mut ctl = PredictiveController::new(cfg);
        let (mut desired, mut max) = (1, 20);
        let mut out = Vec::new();
        for s in 0..2 * DAY {
            let r = daily_rate(s);
            h.push(MetricRow {
                requests: r,
                requests_counted: r,
                ..MetricRow::default()
            });
            let now = s + 1;
            desired = meddle(now, desired);
            let view = GroupView {
                now: SimTime::from_secs(now),
                desired,
                min: 1,
                max,
                counts: InstanceCounts {
                    in_service: desired,
                    ..InstanceCounts::default()
                },
                workers_per_instance: 1,
                mean_boot: SimDuration::from_secs(60),
                history: &h,
            };
            if let Some(d) = ctl.tick(&view) {
                desired = d.desired.unwrap_or(desired);
                max = d.max.unwrap_or(max);
                out.push((now, d));
            }
        }
        out
    }

    #[test]
    fn lowering_defaults_and_errors() {
        let (cfg, problems) =
            lower("min = 1\nmax = 5\npredictive = { target_requests_per_instance = 10 }");
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(cfg.mode, PredictiveMode::ForecastOnly);
        assert_eq!(cfg.scheduling_buffer, SimDuration::from_secs(300));
        assert_eq!((cfg.season_hours, cfg.increase_max_buffer), (24, None));
        let (cfg, _) = lower(
            "min = 1\nmax = 5\n[predictive]\ntarget_requests_per_instance = 10\nmax_capacity_breach = \"increase_max\"\nseason = \"168h\"",
        );
        assert_eq!((cfg.season_hours, cfg.increase_max_buffer), (168, Some(0)));
        let (cfg, _) = lower(
            "min = 1\nmax = 5\n[predictive]\ntarget_requests_per_instance = 10\nseason = \"1h\"\nforecast_interval = \"5min\"",
        );
        assert_eq!((cfg.interval, cfg.season_hours), (300, 12));
        assert_eq!(cfg.scheduling_buffer, SimDuration::from_secs(150));
        let (_, problems) = lower(
            "min = 1\nmax = 5\n[predictive]\ntarget_requests_per_instance = 10\nforecast_interval = \"90s\"",
        );
        assert!(
            problems
                .join("\n")
                .contains("p.forecast_interval: must be a whole number of minutes")
        );
        let (_, problems) = lower(
            "min = 1\nmax = 5\n[predictive]\ntarget_requests_per_instance = 0\nscheduling_buffer = \"1h\"\nseason = \"90min\"\nmax_capacity_buffer = 10",
        );
        let text = problems.join("\n");
        for needle in [
            "p.target_requests_per_instance: must be positive",
            "p.scheduling_buffer: must be less than the forecast interval (3600 s)",
            "p.season: must be a whole number of forecast intervals (3600 s)",
            "p.max_capacity_buffer: only applies",
        ] {
            assert!(text.contains(needle), "missing `{needle}` in\n{text}");
        }
    }

    #[test]
    fn seasonal_naive_needs_a_full_season() {
        let minutes: Vec<u64> = (0..1500).map(|m| m / 60).collect();
        // Hour 24 repeats hour 0 (all zeros), hour 25 repeats hour 1.
        assert_eq!(seasonal_naive(&minutes, 24, 24), Some(0.0));
        assert_eq!(seasonal_naive(&minutes, 25, 24), Some(60.0 / 3600.0));
        assert_eq!(seasonal_naive(&minutes, 23, 24), None);
        assert_eq!(seasonal_naive(&minutes[..1439], 24, 24), None);
        assert_eq!(seasonal_naive(&minutes, 49, 24), None);
        // Five-minute periods over a one-hour season: period 12 repeats
        // period 0 (minutes 0-4), period 13 repeats minutes 5-9.
        let minutes: Vec<u64> = (0..70).collect();
        assert_eq!(seasonal_naive_in(&minutes, 12, 12, 5), Some(10.0 / 300.0));
        assert_eq!(
            seasonal_naive_in(&minutes, 13, 12, 5),
            Some((5 + 6 + 7 + 8 + 9) as f64 / 300.0)
        );
        assert_eq!(seasonal_naive_in(&minutes[..59], 12, 12, 5), None);
        assert_eq!(forecast_capacity(100.0, 10.0), 10);
        assert_eq!(forecast_capacity(100.5, 10.0), 11);
        assert_eq!(forecast_capacity(0.0, 10.0), 0);
    }

    #[test]
    fn max_breach_behaviour() {
        // §2.4: buffer 10 ⇒ forecast 50, max 40 ⇒ 55.
        assert_eq!(scale_to(50, 40, Some(10)), (50, Some(55)));
        assert_eq!(scale_to(50, 40, None), (40, None));
        assert_eq!(scale_to(30, 40, Some(10)), (30, None));
        assert_eq!(scale_to(38, 40, Some(10)), (38, Some(42)));
    }

    #[test]
    fn second_day_launches_ahead_of_the_rise_and_never_scales_in() {
        let (cfg, _) = lower(
            "min = 1\nmax = 20\npredictive = { target_requests_per_instance = 10, mode = \"forecast_and_scale\" }",
        );
        // A dynamic policy drops desired to 4 at 09:20 of day 2.
        let meddle = |s: u64, d: u32| if s == DAY + 9 * HOUR + 1200 { 4 } else { d };
        let fired = two_days(&cfg, meddle);
        let changes: Vec<(u64, Option<u32>)> = fired.iter().map(|(s, d)| (*s, d.desired)).collect();
        // Hour 08:00 of day 2 (forecast 100 req/s ⇒ 10) is launched 300 s
        // buffer + 60 s boot ahead; nothing on day 1; no scale-in at 20:00;
        // the floor is restored at once when lowered.
        let rise = DAY + 8 * HOUR - 300 - 60;
        assert_eq!(
            changes,
            [(rise, Some(10)), (DAY + 9 * HOUR + 1200, Some(10))]
        );
        assert!(
            fired[0]
                .1
                .observed
                .contains(&("forecast_capacity".to_string(), 10.0))
        );
    }

    #[test]
    fn forecast_only_logs_without_changing_anything() {
        let (cfg, _) =
            lower("min = 1\nmax = 20\npredictive = { target_requests_per_instance = 10 }");
        let fired = two_days(&cfg, |_, d| d);
        assert!(fired.iter().all(|(s, d)| d.desired.is_none() && *s > DAY));
        // One log per forecast hour from hour 25 (hour 24 is due before a
        // full day of history) to hour 48 (due 360 s before the run ends).
        assert_eq!(fired.len(), 24);
        assert!(fired.iter().any(|(_, d)| {
            d.observed
                .contains(&("forecast_capacity".to_string(), 10.0))
        }));
    }

    #[test]
    fn increase_max_raises_the_bound_with_the_desired_capacity() {
        let (cfg, _) = lower(
            "min = 1\nmax = 20\n[predictive]\ntarget_requests_per_instance = 4\nmode = \"forecast_and_scale\"\nmax_capacity_breach = \"increase_max\"\nmax_capacity_buffer = 10",
        );
        let fired = two_days(&cfg, |_, d| d);
        // 10 req/s / 4 ⇒ 3 at night; 100 req/s / 4 = 25 > max 20 ⇒ max
        // ceil(27.5) = 28.
        let ups: Vec<_> = fired.iter().map(|(_, d)| (d.desired, d.max)).collect();
        assert_eq!(ups, [(Some(3), None), (Some(25), Some(28))]);
        let d = &fired[1].1;
        assert_eq!((d.desired, d.max), (Some(25), Some(28)));
    }
}
