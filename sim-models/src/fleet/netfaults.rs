//! Network faults between regions (`partition` and `link` faults) and the
//! expansion of random faults (`[[random_faults]]`) into a fault timeline.
//!
//! Both are pure functions of the configuration (and, for random faults, of
//! the run's seed): a partition's or a degraded link's windows are known in
//! advance, so the fate of a message is decided when it is sent — lost if a
//! partition on its link overlaps its flight `[sent, delivered]`, else
//! delivered after the base latency plus the link's added latency at the
//! send time — and the model keeps no extra state beyond the loss draws'
//! random streams and each lane's last delivery time (FIFO links).

use sim_core::rng::uniform_open01;
use sim_core::{RngStreams, SimDuration, SimTime, StreamKey, StreamRng};

use super::config::{FaultConfig, FaultTarget, FleetConfig, Window};

/// Hard cap on the faults one run's random faults may expand into (the
/// lowering refuses scenarios expected to come near it).
pub(crate) const MAX_EXPANDED_FAULTS: usize = 200_000;

/// One window of a network fault on a link.
#[derive(Clone, Copy, Debug)]
struct NetWindow {
    window: Window,
    /// True for a partition (nothing crosses), false for a degraded link.
    cut: bool,
    latency: SimDuration,
    loss: f64,
}

/// The network faults of a run, per unordered pair of regions.
#[derive(Debug)]
pub(crate) struct NetFaults {
    regions: usize,
    /// Index `lo × regions + hi` (`lo < hi`): that link's fault windows.
    pairs: Vec<Vec<NetWindow>>,
    /// One loss stream per link that has a lossy window
    /// (`link-loss[lo × regions + hi]`), created on first use.
    loss_rng: Vec<Option<StreamRng>>,
    /// Whether any link has a fault at all.
    pub(crate) any: bool,
}

impl NetFaults {
    pub(crate) fn new(config: &FleetConfig, streams: &RngStreams) -> Self {
        let n = config.regions.len();
        let mut pairs: Vec<Vec<NetWindow>> = vec![Vec::new(); n * n];
        let mut loss_rng: Vec<Option<StreamRng>> = (0..n * n).map(|_| None).collect();
        for fc in &config.faults {
            let (lo, hi, cut) = match fc.target {
                FaultTarget::Partition(a, b) => (a, b, true),
                FaultTarget::Link(a, b) => (a, b, false),
                _ => continue,
            };
            if fc.window.end <= fc.window.start {
                continue;
            }
            let i = lo * n + hi;
            pairs[i].push(NetWindow {
                window: fc.window,
                cut,
                latency: fc.latency,
                loss: fc.loss,
            });
            if fc.loss > 0.0 && loss_rng[i].is_none() {
                loss_rng[i] =
                    Some(streams.stream(StreamKey::named("link-loss").with_index(i as u64)));
            }
        }
        for p in &mut pairs {
            p.sort_by_key(|w| (w.window.start, w.window.end));
        }
        let any = pairs.iter().any(|p| !p.is_empty());
        NetFaults {
            regions: n,
            pairs,
            loss_rng,
            any,
        }
    }

    #[inline]
    fn windows(&self, a: usize, b: usize) -> &[NetWindow] {
        if a == b {
            return &[];
        }
        let (lo, hi) = (a.min(b), a.max(b));
        &self.pairs[lo * self.regions + hi]
    }

    /// Whether the link between `a` and `b` ever has a fault (then its
    /// lanes need FIFO bookkeeping).
    #[inline]
    pub(crate) fn affects(&self, a: usize, b: usize) -> bool {
        self.any && !self.windows(a, b).is_empty()
    }

    /// Added one-way latency on the link at `t` (the sum over the link
    /// faults active then).
    fn extra(&self, a: usize, b: usize, t: SimTime) -> SimDuration {
        self.windows(a, b)
            .iter()
            .filter(|w| !w.cut && w.window.start <= t && t < w.window.end)
            .fold(SimDuration::ZERO, |acc, w| acc + w.latency)
    }

    /// The first partition window on the link overlapping `[from, to]`.
    fn cut_during(&self, a: usize, b: usize, from: SimTime, to: SimTime) -> Option<Window> {
        self.windows(a, b)
            .iter()
            .find(|w| w.cut && w.window.start <= to && w.window.end > from)
            .map(|w| w.window)
    }

    /// A message (request, response or query) sent at `now` from region
    /// `a` to `b` with base one-way latency `base`: when it arrives, or
    /// `None` if it is lost — a partition overlaps its flight, or a loss
    /// draw (from the link's own stream, drawn only while a lossy window is
    /// active) drops it.
    pub(crate) fn deliver(
        &mut self,
        a: usize,
        b: usize,
        now: SimTime,
        base: SimDuration,
    ) -> Option<SimTime> {
        let arrive = now
            .checked_add(base + self.extra(a, b, now))
            .unwrap_or(SimTime::MAX);
        if self.cut_during(a, b, now, arrive).is_some() {
            return None;
        }
        // Independent losses of the active windows combine.
        let keep: f64 = self
            .windows(a, b)
            .iter()
            .filter(|w| !w.cut && w.loss > 0.0 && w.window.start <= now && now < w.window.end)
            .map(|w| 1.0 - w.loss)
            .product();
        if keep < 1.0 {
            let (lo, hi) = (a.min(b), a.max(b));
            if let Some(rng) = self.loss_rng[lo * self.regions + hi].as_mut()
                && uniform_open01(rng) >= keep
            {
                return None;
            }
        }
        Some(arrive)
    }

    /// When a replication stream's data sent at `sent` from `a` reaches
    /// `b` (base latency `base`): the stream is reliable (TCP), so loss
    /// only costs retransmissions (ignored) and a partition holds the data
    /// until it heals, when it is sent again.
    pub(crate) fn stream_arrival(
        &self,
        a: usize,
        b: usize,
        sent: SimTime,
        base: SimDuration,
    ) -> SimTime {
        let mut send = sent;
        loop {
            let arrive = send
                .checked_add(base + self.extra(a, b, send))
                .unwrap_or(SimTime::MAX);
            match self.cut_during(a, b, send, arrive) {
                Some(w) if w.end > send => send = w.end,
                _ => return arrive,
            }
        }
    }
}

/// Expands `config.random_faults` into concrete faults appended to
/// `config.faults`: each component, from its own stream
/// (`random-faults[entry << 32 | component]`), is up for an exponential
/// time with mean `mtbf`, then down for a `mttr` draw, and so on until the
/// end of the run.
pub(crate) fn expand_random_faults(config: &mut FleetConfig, streams: &RngStreams) {
    let end = SimTime::ZERO + config.run.duration;
    let mut added = 0usize;
    for (e, rf) in config.random_faults.iter().enumerate() {
        let mean = rf.mtbf.as_secs_f64();
        for (k, (target, label)) in rf.components.iter().enumerate() {
            let mut rng = streams.stream(
                StreamKey::named("random-faults").with_index(((e as u64) << 32) | k as u64),
            );
            let mut t = SimTime::ZERO;
            loop {
                let up = -mean * libm::log(uniform_open01(&mut rng));
                t = t
                    .checked_add(SimDuration::from_secs_f64(up))
                    .unwrap_or(SimTime::MAX);
                if t >= end || added >= MAX_EXPANDED_FAULTS {
                    break;
                }
                let repair = rf
                    .mttr
                    .sample_duration(&mut rng)
                    .max(SimDuration::from_nanos(1));
                let back = t.checked_add(repair).unwrap_or(SimTime::MAX);
                config.faults.push(FaultConfig {
                    target: *target,
                    label: format!("{label} (random)"),
                    window: Window {
                        start: t,
                        end: back.min(end),
                    },
                    slowdown: 1.0,
                    latency: SimDuration::ZERO,
                    loss: 0.0,
                    rto_target: None,
                    rpo_target: None,
                });
                added += 1;
                t = back;
            }
        }
    }
    config.random_faults.clear();
}
