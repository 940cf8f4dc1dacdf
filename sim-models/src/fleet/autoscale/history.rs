//! Per-second metrics of one autoscaled group: what the monitoring system
//! (metrics-server, CloudWatch, a queue's broker) would have recorded.
//!
//! The model appends one [`MetricRow`] per simulated second. Rows older than
//! the longest window any of the group's policies reads are dropped, so the
//! memory is bounded; requests per minute are kept for the whole run (eight
//! bytes a minute) because predictive scaling forecasts from them.

use std::collections::VecDeque;

/// What one group did during one simulated second.
///
/// "Counted" instances are the ones the metrics include: booted, ready for
/// at least the group's metric warm-up, and not draining.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct MetricRow {
    /// Busy worker-seconds on counted instances.
    pub busy: f64,
    /// Worker-seconds of counted instances (their workers × the time they
    /// were counted).
    pub workers: f64,
    /// Instance-seconds of counted instances.
    pub instances: f64,
    /// Busy worker-seconds on every booted instance (warming included).
    pub busy_all: f64,
    /// Worker-seconds of every booted instance.
    pub workers_all: f64,
    /// Requests that reached counted instances.
    pub requests_counted: u64,
    /// Requests that reached any instance of the group.
    pub requests: u64,
    /// Requests the group's regional balancer had no backend for.
    pub no_backend: u64,
    /// Requests waiting in the group's instance queues at the end of the
    /// second (not in service).
    pub queued: u64,
    /// Requests in service or waiting at the end of the second.
    pub in_flight: u64,
}

/// Sums of [`MetricRow`]s over a window of whole seconds.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct WindowStats {
    /// Seconds of data in the window.
    pub seconds: u64,
    /// Sum of [`MetricRow::busy`].
    pub busy: f64,
    /// Sum of [`MetricRow::workers`].
    pub workers: f64,
    /// Sum of [`MetricRow::instances`].
    pub instances: f64,
    /// Sum of [`MetricRow::busy_all`].
    pub busy_all: f64,
    /// Sum of [`MetricRow::workers_all`].
    pub workers_all: f64,
    /// Sum of [`MetricRow::requests_counted`].
    pub requests_counted: u64,
    /// Sum of [`MetricRow::requests`].
    pub requests: u64,
    /// Sum of [`MetricRow::no_backend`].
    pub no_backend: u64,
}

impl WindowStats {
    /// Average CPU utilisation of counted instances, as a fraction in
    /// [0, 1] (busy workers / workers); `None` if no instance was counted.
    pub fn cpu_utilization(&self) -> Option<f64> {
        (self.workers > 0.0).then(|| (self.busy / self.workers).clamp(0.0, 1.0))
    }

    /// Average CPU utilisation of every booted instance, warming included.
    pub fn cpu_utilization_all(&self) -> Option<f64> {
        (self.workers_all > 0.0).then(|| (self.busy_all / self.workers_all).clamp(0.0, 1.0))
    }

    /// Requests per second per counted instance; `None` if no instance was
    /// counted.
    pub fn requests_per_instance_per_s(&self) -> Option<f64> {
        (self.instances > 0.0).then(|| self.requests_counted as f64 / self.instances)
    }

    /// Requests per second reaching the group (all instances).
    pub fn request_rate(&self) -> Option<f64> {
        (self.seconds > 0).then(|| self.requests as f64 / self.seconds as f64)
    }

    /// Average number of counted instances over the window.
    pub fn mean_counted_instances(&self) -> Option<f64> {
        (self.seconds > 0).then(|| self.instances / self.seconds as f64)
    }
}

/// The recent per-second rows of one group, and its requests per minute.
#[derive(Clone, Debug)]
pub struct MetricHistory {
    /// Rows for seconds `first .. first + rows.len()`.
    rows: VecDeque<MetricRow>,
    first: u64,
    /// Most rows kept.
    retain: usize,
    /// Requests that reached the group in each whole minute so far.
    minute_requests: Vec<u64>,
    /// Requests so far in the current, unfinished minute.
    minute_acc: u64,
}

impl MetricHistory {
    /// An empty history that keeps the last `retain_seconds` rows (at least
    /// one).
    pub fn new(retain_seconds: u64) -> Self {
        let retain = retain_seconds.clamp(1, 31 * 86_400) as usize;
        MetricHistory {
            rows: VecDeque::with_capacity(retain.min(4096)),
            first: 0,
            retain,
            minute_requests: Vec::new(),
            minute_acc: 0,
        }
    }

    /// Appends the row for the next second (second number `end() `).
    pub fn push(&mut self, row: MetricRow) {
        if self.rows.len() == self.retain {
            self.rows.pop_front();
            self.first += 1;
        }
        self.rows.push_back(row);
        self.minute_acc += row.requests;
        if self.end().is_multiple_of(60) {
            self.minute_requests.push(self.minute_acc);
            self.minute_acc = 0;
        }
    }

    /// One past the last second recorded: rows cover seconds
    /// `[end − len, end)`, i.e. the history is complete up to time `end` s.
    pub fn end(&self) -> u64 {
        self.first + self.rows.len() as u64
    }

    /// The row of second `s` (covering `[s, s + 1)`), if still kept.
    pub fn row(&self, s: u64) -> Option<&MetricRow> {
        s.checked_sub(self.first)
            .and_then(|i| self.rows.get(usize::try_from(i).ok()?))
    }

    /// The most recent row.
    pub fn last(&self) -> Option<&MetricRow> {
        self.rows.back()
    }

    /// Sums over the seconds `[from, to)` that are recorded and kept;
    /// `None` if none are.
    pub fn window(&self, from: u64, to: u64) -> Option<WindowStats> {
        let from = from.max(self.first);
        let to = to.min(self.end());
        if from >= to {
            return None;
        }
        let mut w = WindowStats::default();
        for s in from..to {
            let r = &self.rows[(s - self.first) as usize];
            w.seconds += 1;
            w.busy += r.busy;
            w.workers += r.workers;
            w.instances += r.instances;
            w.busy_all += r.busy_all;
            w.workers_all += r.workers_all;
            w.requests_counted += r.requests_counted;
            w.requests += r.requests;
            w.no_backend += r.no_backend;
        }
        Some(w)
    }

    /// The last `seconds` seconds (fewer at the start of the run).
    pub fn recent(&self, seconds: u64) -> Option<WindowStats> {
        let end = self.end();
        self.window(end.saturating_sub(seconds), end)
    }

    /// Requests that reached the group in each whole minute so far (index =
    /// minute of the run).
    pub fn minute_requests(&self) -> &[u64] {
        &self.minute_requests
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(busy: f64, workers: f64, requests: u64) -> MetricRow {
        MetricRow {
            busy,
            workers,
            instances: workers / 4.0,
            busy_all: busy,
            workers_all: workers,
            requests_counted: requests,
            requests,
            ..MetricRow::default()
        }
    }

    #[test]
    fn windows_sum_the_rows_they_cover() {
        let mut h = MetricHistory::new(100);
        for s in 0..10 {
            h.push(row(s as f64, 8.0, s));
        }
        assert_eq!(h.end(), 10);
        let w = h.window(2, 5).unwrap();
        assert_eq!(w.seconds, 3);
        assert_eq!(w.busy, 2.0 + 3.0 + 4.0);
        assert_eq!(w.cpu_utilization(), Some(9.0 / 24.0));
        assert_eq!(w.requests_per_instance_per_s(), Some(9.0 / 6.0));
        assert_eq!(h.recent(4).unwrap().requests, 6 + 7 + 8 + 9);
        assert!(h.window(10, 20).is_none());
        assert_eq!(h.window(8, 20).unwrap().seconds, 2);
    }

    #[test]
    fn old_rows_are_dropped_but_minutes_are_kept() {
        let mut h = MetricHistory::new(30);
        for _ in 0..150 {
            h.push(row(1.0, 4.0, 2));
        }
        assert_eq!(h.end(), 150);
        assert!(h.row(119).is_none());
        assert!(h.row(120).is_some());
        assert_eq!(h.window(0, 150).unwrap().seconds, 30);
        assert_eq!(h.minute_requests(), &[120, 120]);
    }

    #[test]
    fn no_counted_instance_means_no_metric() {
        let w = WindowStats {
            seconds: 5,
            ..WindowStats::default()
        };
        assert_eq!(w.cpu_utilization(), None);
        assert_eq!(w.requests_per_instance_per_s(), None);
        assert_eq!(w.request_rate(), Some(0.0));
    }
}
