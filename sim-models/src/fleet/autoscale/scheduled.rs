//! Scheduled actions (reference §2.5): set a group's min, max and/or
//! desired capacity at a time of day or at an offset from the start.
//!
//! Time format: the run starts at 00:00:00 of day 0 (simulated clock, no
//! time zone, no DST). `at` is either a time of day `"HH:MM"` /
//! `"HH:MM:SS"` (recurrence `daily` by default: day 0 at that time, then
//! every 24 h) or an offset from the start, a number of seconds or a time
//! string like `"90min"` (recurrence `once` by default). A `daily` offset
//! repeats every 24 h after the offset. An action fires at the first tick at
//! or after its time (ticks are whole seconds, so fractional times round
//! up; an action at 00:00 of day 0 fires at the first tick). Actions due at
//! the same second apply in file order. Cooldowns do not apply. If the new
//! min/max exclude the desired capacity, it moves to the nearest bound
//! (and the decision says so explicitly). AWS's 5-field cron recurrences,
//! time zones and the up-to-2-minute start delay are not modelled.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::group::MAX_AUTOSCALE_INSTANCES;
use super::{Decision, GroupView, Policy};
use crate::fleet::lower::Check;
use crate::spec::parse_seconds;

/// Seconds in a day.
const DAY: u64 = 86_400;
/// Most scheduled actions per group (AWS allows 125).
const MAX_ACTIONS: usize = 1_000;

/// When an action fires, as written: a number of seconds from the start,
/// or a string, either a time of day `"HH:MM"`/`"HH:MM:SS"` or an offset
/// with a unit (`"90min"`, `"2h"`).
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum ActionTime {
    /// Seconds from the start of the run.
    Offset(f64),
    /// A time of day or an offset with a unit.
    Text(String),
}

/// How often an action fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Recurrence {
    /// Every 24 h.
    Daily,
    /// Once.
    Once,
}

/// One `[[regions.groups.autoscaling.scheduled]]` action.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduledActionSpec {
    /// When (required): `"08:00"`, `"08:00:30"`, `5400`, `"90min"`.
    pub at: ActionTime,
    /// `daily` or `once` (default `daily` for a time of day, `once` for an
    /// offset).
    #[serde(default)]
    pub recurrence: Option<Recurrence>,
    /// New lower bound (default unchanged).
    #[serde(default)]
    pub min: Option<u64>,
    /// New upper bound (default unchanged).
    #[serde(default)]
    pub max: Option<u64>,
    /// New desired capacity (default unchanged).
    #[serde(default)]
    pub desired: Option<u64>,
}

/// A lowered action.
#[derive(Clone, Debug, PartialEq)]
pub struct ScheduledAction {
    /// First firing time, whole seconds from the start.
    pub first: u64,
    /// Repeat period in seconds (`Some(86400)` for daily).
    pub every: Option<u64>,
    /// New lower bound.
    pub min: Option<u32>,
    /// New upper bound.
    pub max: Option<u32>,
    /// New desired capacity.
    pub desired: Option<u32>,
    /// How the action is named in logs (`scheduled[i] 08:00 daily`).
    pub label: String,
}

/// A group's lowered scheduled actions, in file order.
#[derive(Clone, Debug, PartialEq)]
pub struct ScheduledConfig {
    /// The actions.
    pub actions: Vec<ScheduledAction>,
}

/// Parses `"HH:MM"` or `"HH:MM:SS"` into seconds after midnight.
pub fn parse_time_of_day(text: &str) -> Result<u64, String> {
    let bad =
        || format!("`{text}` is not a time of day: expected HH:MM or HH:MM:SS (00:00 to 23:59:59)");
    let parts: Vec<&str> = text.trim().split(':').collect();
    if !(2..=3).contains(&parts.len()) {
        return Err(bad());
    }
    let mut secs = 0;
    for (i, p) in parts.iter().enumerate() {
        let limit = if i == 0 { 24 } else { 60 };
        let v: u64 = match p.len() {
            1 | 2 if p.bytes().all(|b| b.is_ascii_digit()) => p.parse().map_err(|_| bad())?,
            _ => return Err(bad()),
        };
        if v >= limit {
            return Err(bad());
        }
        secs = secs * 60 + v;
    }
    Ok(if parts.len() == 2 { secs * 60 } else { secs })
}

/// Reads `at`: `(seconds from the start, is a time of day)`.
fn lower_at(c: &mut Check, path: &str, at: &ActionTime) -> (u64, bool) {
    let offset = |c: &mut Check, v: f64| {
        if v.is_finite() && (0.0..=100.0 * 365.0 * DAY as f64).contains(&v) {
            v.ceil() as u64
        } else {
            c.add(
                path,
                format!("must be a non-negative time within 100 years, got {v}"),
            );
            0
        }
    };
    match at {
        ActionTime::Offset(v) => (offset(c, *v), false),
        ActionTime::Text(t) if t.contains(':') => match parse_time_of_day(t) {
            Ok(s) => (s, true),
            Err(m) => {
                c.add(path, m);
                (0, true)
            }
        },
        ActionTime::Text(t) => match parse_seconds(t) {
            Ok(v) => (offset(c, v), false),
            Err(m) => {
                c.add(path, format!("{m}, or a time of day HH:MM"));
                (0, false)
            }
        },
    }
}

/// Checks and lowers the actions found at `path`.
pub(crate) fn lower_scheduled(
    c: &mut Check,
    path: &str,
    specs: &[ScheduledActionSpec],
) -> ScheduledConfig {
    if specs.len() > MAX_ACTIONS {
        c.add(
            path,
            format!(
                "{} actions is more than the {MAX_ACTIONS} allowed",
                specs.len()
            ),
        );
    }
    let actions = specs
        .iter()
        .take(MAX_ACTIONS)
        .enumerate()
        .map(|(i, s)| {
            let p = format!("{path}[{i}]");
            let (first, time_of_day) = lower_at(c, &format!("{p}.at"), &s.at);
            let recurrence = s.recurrence.unwrap_or(if time_of_day {
                Recurrence::Daily
            } else {
                Recurrence::Once
            });
            let mut bound = |field: &str, v: Option<u64>| {
                v.map(|v| c.count(&format!("{p}.{field}"), v, 0, MAX_AUTOSCALE_INSTANCES))
            };
            let (min, max, desired) = (
                bound("min", s.min),
                bound("max", s.max),
                bound("desired", s.desired),
            );
            if min.is_none() && max.is_none() && desired.is_none() {
                c.add(p.clone(), "sets none of `min`, `max`, `desired`");
            }
            if let (Some(lo), Some(hi)) = (min, max)
                && lo > hi
            {
                c.add(
                    format!("{p}.min"),
                    format!("min ({lo}) is more than max ({hi})"),
                );
            }
            if let Some(d) = desired
                && (min.is_some_and(|lo| d < lo) || max.is_some_and(|hi| d > hi))
            {
                c.add(
                    format!("{p}.desired"),
                    format!("{d} is outside this action's own min/max"),
                );
            }
            let when = match &s.at {
                ActionTime::Offset(v) => format!("{v}s"),
                ActionTime::Text(t) => t.trim().to_string(),
            };
            let every = (recurrence == Recurrence::Daily).then_some(DAY);
            let label = format!(
                "{p} at {when} {}",
                if every.is_some() { "daily" } else { "once" }
            );
            ScheduledAction {
                first,
                every,
                min,
                max,
                desired,
                label,
            }
        })
        .collect();
    ScheduledConfig { actions }
}

/// The group's bounds and desired capacity after one action (§2.5): the
/// action's values replace the current ones, then desired moves into the
/// new `[min, max]`. `None` if the action would leave min above max (AWS
/// rejects such an action; it is skipped).
pub fn apply_action(
    a: &ScheduledAction,
    min: u32,
    max: u32,
    desired: u32,
) -> Option<(u32, u32, u32)> {
    let (lo, hi) = (a.min.unwrap_or(min), a.max.unwrap_or(max));
    (lo <= hi).then(|| (lo, hi, a.desired.unwrap_or(desired).clamp(lo, hi)))
}

/// Scheduled actions at run time: each action's next firing second; all
/// actions due at a tick apply in file order and make one decision.
#[derive(Clone, Debug)]
pub struct ScheduledController {
    actions: Vec<ScheduledAction>,
    next: Vec<Option<u64>>,
}

impl ScheduledController {
    /// A controller for `config`.
    pub fn new(config: &ScheduledConfig) -> Self {
        ScheduledController {
            actions: config.actions.clone(),
            next: config.actions.iter().map(|a| Some(a.first)).collect(),
        }
    }
}

impl Policy for ScheduledController {
    fn kind(&self) -> &'static str {
        "scheduled"
    }

    fn tick(&mut self, view: &GroupView<'_>) -> Option<Decision> {
        let now = view.now.as_nanos() / 1_000_000_000;
        let (mut min, mut max, mut desired) = (view.min, view.max, view.desired);
        let (mut set_min, mut set_max, mut set_desired) = (false, false, false);
        let mut reasons = Vec::new();
        for (a, next) in self.actions.iter().zip(self.next.iter_mut()) {
            let Some(at) = *next else { continue };
            if at > now {
                continue;
            }
            // Skipped occurrences (none when ticked every second) collapse
            // into this one.
            *next = a
                .every
                .filter(|&p| p > 0)
                .map(|p| at + ((now - at) / p + 1) * p);
            match apply_action(a, min, max, desired) {
                Some((lo, hi, d)) => {
                    set_min |= a.min.is_some();
                    set_max |= a.max.is_some();
                    set_desired |= a.desired.is_some() || d != desired;
                    let moved = if a.desired.is_none() && d != desired {
                        format!(" (desired {desired} moved to the nearest bound, {d})")
                    } else {
                        String::new()
                    };
                    reasons.push(format!(
                        "{}: min {lo}, max {hi}, desired {d}{moved}",
                        a.label
                    ));
                    (min, max, desired) = (lo, hi, d);
                }
                None => reasons.push(format!(
                    "{}: skipped, it would set min {} above max {}",
                    a.label,
                    a.min.unwrap_or(min),
                    a.max.unwrap_or(max)
                )),
            }
        }
        if reasons.is_empty() {
            return None;
        }
        Some(Decision {
            desired: set_desired.then_some(desired),
            min: set_min.then_some(min),
            max: set_max.then_some(max),
            observed: Vec::new(),
            reason: format!("scheduled action {}", reasons.join("; ")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::autoscale::{AutoscalingSpec, InstanceCounts, MetricHistory};
    use sim_core::{SimDuration, SimTime};

    fn lower(text: &str) -> (ScheduledConfig, Vec<String>) {
        let spec: AutoscalingSpec = toml::from_str(text).unwrap();
        let mut c = Check::default();
        let cfg = lower_scheduled(&mut c, "s", spec.scheduled.as_deref().unwrap_or(&[]));
        let problems = c
            .finish()
            .into_iter()
            .map(|p| format!("{}: {}", p.path, p.message))
            .collect();
        (cfg, problems)
    }

    /// Ticks every second from 1 to `end` s, applying decisions; returns the
    /// seconds and decisions that fired.
    fn run(cfg: &ScheduledConfig, end: u64, mut state: (u32, u32, u32)) -> Vec<(u64, Decision)> {
        let h = MetricHistory::new(1);
        let mut ctl = ScheduledController::new(cfg);
        let mut out = Vec::new();
        for s in 1..=end {
            let view = GroupView {
                now: SimTime::from_secs(s),
                desired: state.2,
                min: state.0,
                max: state.1,
                counts: InstanceCounts::default(),
                workers_per_instance: 1,
                mean_boot: SimDuration::ZERO,
                history: &h,
            };
            if let Some(d) = ctl.tick(&view) {
                state = (
                    d.min.unwrap_or(state.0),
                    d.max.unwrap_or(state.1),
                    d.desired.unwrap_or(state.2),
                );
                out.push((s, d));
            }
        }
        out
    }

    #[test]
    fn times_of_day_and_offsets() {
        assert_eq!(parse_time_of_day("08:00"), Ok(8 * 3600));
        assert_eq!(parse_time_of_day("23:59:59"), Ok(DAY - 1));
        assert_eq!(parse_time_of_day("0:05"), Ok(300));
        for bad in [
            "24:00",
            "8",
            "08:60",
            "08:00:00:00",
            "a:b",
            "-1:00",
            "08:+1",
        ] {
            assert!(parse_time_of_day(bad).is_err(), "{bad}");
        }
        let (cfg, problems) = lower(
            r#"
            min = 1
            max = 10
            scheduled = [
              { at = "08:00", desired = 5 },
              { at = "90min", max = 4 },
              { at = 30.5, recurrence = "daily", min = 2 },
            ]
            "#,
        );
        assert!(problems.is_empty(), "{problems:?}");
        let a = &cfg.actions;
        assert_eq!((a[0].first, a[0].every), (8 * 3600, Some(DAY)));
        assert_eq!((a[1].first, a[1].every), (5400, None));
        assert_eq!((a[2].first, a[2].every), (31, Some(DAY)));
        assert_eq!(a[0].label, "s[0] at 08:00 daily");
    }

    #[test]
    fn bad_actions_are_reported_with_their_paths() {
        let (_, problems) = lower(
            r#"
            min = 1
            max = 10
            scheduled = [
              { at = "25:00", desired = 5 },
              { at = "soon", max = 4 },
              { at = "1h" },
              { at = 0, min = 5, max = 3 },
              { at = 0, min = 2, max = 3, desired = 9 },
              { at = -5, desired = 200000 },
            ]
            "#,
        );
        let text = problems.join("\n");
        for needle in [
            "s[0].at: `25:00` is not a time of day",
            "s[1].at: `soon` is not a time",
            "s[2]: sets none of",
            "s[3].min: min (5) is more than max (3)",
            "s[4].desired: 9 is outside",
            "s[5].at: must be a non-negative time",
            "s[5].desired: 200000 is more than",
        ] {
            assert!(text.contains(needle), "missing `{needle}` in\n{text}");
        }
        assert!(toml::from_str::<ScheduledActionSpec>("at = 1\nmin = 1\nwhen = 2").is_err());
    }

    #[test]
    fn daily_fires_every_24_hours_and_once_fires_once() {
        let (cfg, _) = lower(
            r#"
            min = 1
            max = 10
            scheduled = [
              { at = "08:00", desired = 6 },
              { at = "20:00", desired = 2 },
              { at = "10h", desired = 9 },
            ]
            "#,
        );
        let fired: Vec<(u64, Option<u32>)> = run(&cfg, 3 * DAY, (1, 10, 2))
            .into_iter()
            .map(|(s, d)| (s, d.desired))
            .collect();
        let h = 3600;
        assert_eq!(
            fired,
            [
                (8 * h, Some(6)),
                (10 * h, Some(9)),
                (20 * h, Some(2)),
                (DAY + 8 * h, Some(6)),
                (DAY + 20 * h, Some(2)),
                (2 * DAY + 8 * h, Some(6)),
                (2 * DAY + 20 * h, Some(2)),
            ]
        );
    }

    #[test]
    fn new_bounds_move_desired_and_same_second_actions_apply_in_file_order() {
        let (cfg, _) = lower(
            r#"
            min = 1
            max = 10
            scheduled = [
              { at = 60, max = 3 },
              { at = 120, min = 5, max = 8 },
              { at = 180, desired = 7 },
              { at = 180, max = 6 },
              { at = 240, min = 9 },
            ]
            "#,
        );
        let fired = run(&cfg, 300, (1, 10, 4));
        // max 3 excludes desired 4 ⇒ desired 3, stated explicitly.
        assert_eq!(
            (fired[0].1.desired, fired[0].1.max, fired[0].1.min),
            (Some(3), Some(3), None)
        );
        assert!(
            fired[0].1.reason.contains("moved to the nearest bound"),
            "{}",
            fired[0].1.reason
        );
        // min 5 excludes 3 ⇒ 5.
        assert_eq!((fired[1].1.min, fired[1].1.desired), (Some(5), Some(5)));
        // desired 7 then max 6 in the same second ⇒ 6.
        assert_eq!(
            (fired[2].0, fired[2].1.desired, fired[2].1.max),
            (180, Some(6), Some(6))
        );
        // min 9 above max 6: skipped, nothing changes.
        assert_eq!(fired[3].1.desired, None);
        assert!(
            fired[3].1.reason.contains("skipped"),
            "{}",
            fired[3].1.reason
        );
        assert_eq!(fired.len(), 4);
    }

    #[test]
    fn an_action_at_midnight_fires_at_the_first_tick() {
        let (cfg, _) = lower("min = 1\nmax = 10\nscheduled = [{ at = \"00:00\", min = 2 }]");
        let fired = run(&cfg, 10, (1, 10, 1));
        assert_eq!(fired.len(), 1);
        assert_eq!(
            (fired[0].0, fired[0].1.min, fired[0].1.desired),
            (1, Some(2), Some(2))
        );
    }
}
