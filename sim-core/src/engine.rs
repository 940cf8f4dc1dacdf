//! The event loop: a model, a clock and a pending-event list.
//!
//! A model is a plain struct that implements [`Model`]: it receives one event
//! at a time, updates its state, and schedules further events through the
//! [`Scheduler`] it is handed. The loop is generic over the model, so the
//! dispatch from the queue into the model's `match` compiles to a direct call;
//! there are no boxed closures or trait objects on the hot path.
//!
//! Observers ([`Observer`]) see every event as it is delivered; they are
//! generic parameters too, so the default no-op observer costs nothing. The
//! trace hash used by `fleetsim check` is one such observer ([`TraceHasher`]).

use std::hash::{Hash, Hasher};

use crate::queue::{EventId, EventQueue};
use crate::time::{SimDuration, SimTime};

/// A simulation model: state plus an event handler.
pub trait Model {
    /// The events this model schedules and handles (plain data).
    type Event;

    /// Handles one event that is due now (`sched.now()`).
    fn handle(&mut self, event: Self::Event, sched: &mut Scheduler<Self::Event>);
}

/// The model's handle on the clock and the event list.
#[derive(Debug)]
pub struct Scheduler<E> {
    now: SimTime,
    queue: EventQueue<E>,
}

impl<E> Scheduler<E> {
    /// The current simulated time.
    #[inline]
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// Schedules `event` at the absolute time `at` (not before now).
    #[inline]
    pub fn schedule_at(&mut self, at: SimTime, event: E) -> EventId {
        self.queue.push(at, event)
    }

    /// Schedules `event` at `at` on FIFO lane `lane`: same delivery order
    /// as [`Scheduler::schedule_at`], cheaper when a lane's events come in
    /// time order (e.g. one link's fixed latency); see the queue's docs.
    #[inline]
    pub fn schedule_in_lane(&mut self, lane: u32, at: SimTime, event: E) -> EventId {
        self.queue.push_lane(lane, at, event)
    }

    /// Schedules `event` after `delay` from now.
    #[inline]
    pub fn schedule_after(&mut self, delay: SimDuration, event: E) -> EventId {
        let at = self.now + delay;
        self.queue.push(at, event)
    }

    /// Cancels a pending event; see [`EventQueue::cancel`].
    pub fn cancel(&mut self, id: EventId) -> bool {
        self.queue.cancel(id)
    }

    /// The number of pending events.
    pub fn pending(&self) -> usize {
        self.queue.len()
    }
}

/// Sees every event as the engine delivers it, before the model handles it.
pub trait Observer<E> {
    /// Called with the delivery time and the event.
    fn on_event(&mut self, at: SimTime, event: &E);
}

/// The observer that does nothing (the default).
#[derive(Clone, Copy, Debug, Default)]
pub struct NoObserver;

impl<E> Observer<E> for NoObserver {
    #[inline(always)]
    fn on_event(&mut self, _at: SimTime, _event: &E) {}
}

/// Why a run stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// The requested time was reached; events after it are still pending.
    TimeReached,
    /// The stop condition returned true.
    ConditionMet,
    /// No event was left to process.
    QueueEmpty,
}

/// A model together with its clock and event list.
#[derive(Debug)]
pub struct Simulation<M: Model> {
    model: M,
    sched: Scheduler<M::Event>,
    events_processed: u64,
}

impl<M: Model> Simulation<M> {
    /// A simulation of `model` at time zero with no pending events.
    pub fn new(model: M) -> Self {
        Simulation {
            model,
            sched: Scheduler {
                now: SimTime::ZERO,
                queue: EventQueue::with_capacity(64),
            },
            events_processed: 0,
        }
    }

    /// The model (to read results).
    pub fn model(&self) -> &M {
        &self.model
    }

    /// The model and scheduler together, e.g. to schedule initial events.
    pub fn parts_mut(&mut self) -> (&mut M, &mut Scheduler<M::Event>) {
        (&mut self.model, &mut self.sched)
    }

    /// The scheduler, e.g. to schedule the first events.
    pub fn scheduler_mut(&mut self) -> &mut Scheduler<M::Event> {
        &mut self.sched
    }

    /// Consumes the simulation, returning the model.
    pub fn into_model(self) -> M {
        self.model
    }

    /// The current simulated time.
    pub fn now(&self) -> SimTime {
        self.sched.now
    }

    /// How many events have been delivered so far.
    pub fn events_processed(&self) -> u64 {
        self.events_processed
    }

    /// Delivers the next event, if any. Returns its time.
    #[inline]
    pub fn step(&mut self) -> Option<SimTime> {
        self.step_observed(&mut NoObserver)
    }

    #[inline]
    fn step_observed<O: Observer<M::Event>>(&mut self, observer: &mut O) -> Option<SimTime> {
        let (at, event) = self.sched.queue.pop()?;
        self.sched.now = at;
        self.events_processed += 1;
        observer.on_event(at, &event);
        self.model.handle(event, &mut self.sched);
        Some(at)
    }

    /// Delivers every event due at or before `until`, then sets the clock to
    /// `until` (so time-weighted statistics can be closed at that instant).
    pub fn run_until(&mut self, until: SimTime) -> StopReason {
        self.run(until, |_| false, &mut NoObserver)
    }

    /// Delivers events until `stop(model)` holds after an event, or the queue
    /// empties.
    pub fn run_while_not<F: FnMut(&M) -> bool>(&mut self, stop: F) -> StopReason {
        self.run(SimTime::MAX, stop, &mut NoObserver)
    }

    /// The general loop: delivers events due at or before `until`, checking
    /// `stop(model)` after each, and shows each to `observer`. When it stops
    /// because the next event is later than `until` (or none is left), the
    /// clock moves to `until`, unless `until` is [`SimTime::MAX`].
    pub fn run<F: FnMut(&M) -> bool, O: Observer<M::Event>>(
        &mut self,
        until: SimTime,
        mut stop: F,
        observer: &mut O,
    ) -> StopReason {
        if stop(&self.model) {
            return StopReason::ConditionMet;
        }
        loop {
            match self.sched.queue.peek_time() {
                Some(t) if t <= until => {
                    self.step_observed(observer);
                    if stop(&self.model) {
                        return StopReason::ConditionMet;
                    }
                }
                next => {
                    if until != SimTime::MAX && until > self.sched.now {
                        self.sched.now = until;
                    }
                    return if next.is_some() {
                        StopReason::TimeReached
                    } else {
                        StopReason::QueueEmpty
                    };
                }
            }
        }
    }
}

/// An observer that folds every (time, event) into a 64-bit FNV-1a hash.
///
/// Integers are hashed as little-endian bytes whatever the platform, so the
/// same trace gives the same hash on every machine. Two runs with equal hashes
/// delivered the same events at the same times in the same order (up to a
/// 2^-64 collision chance), which is what `fleetsim check` verifies.
#[derive(Clone, Copy, Debug)]
pub struct TraceHasher {
    state: u64,
    events: u64,
}

impl Default for TraceHasher {
    fn default() -> Self {
        TraceHasher {
            state: 0xcbf2_9ce4_8422_2325,
            events: 0,
        }
    }
}

impl TraceHasher {
    /// The hash of everything seen so far.
    pub fn digest(&self) -> u64 {
        self.state
    }
    /// How many events were hashed.
    pub fn events(&self) -> u64 {
        self.events
    }
}

impl Hasher for TraceHasher {
    fn finish(&self) -> u64 {
        self.state
    }
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.state ^= u64::from(b);
            self.state = self.state.wrapping_mul(0x0100_0000_01b3);
        }
    }
    fn write_u16(&mut self, i: u16) {
        self.write(&i.to_le_bytes());
    }
    fn write_u32(&mut self, i: u32) {
        self.write(&i.to_le_bytes());
    }
    fn write_u64(&mut self, i: u64) {
        self.write(&i.to_le_bytes());
    }
    fn write_u128(&mut self, i: u128) {
        self.write(&i.to_le_bytes());
    }
    fn write_usize(&mut self, i: usize) {
        self.write(&(i as u64).to_le_bytes());
    }
    fn write_i16(&mut self, i: i16) {
        self.write(&i.to_le_bytes());
    }
    fn write_i32(&mut self, i: i32) {
        self.write(&i.to_le_bytes());
    }
    fn write_i64(&mut self, i: i64) {
        self.write(&i.to_le_bytes());
    }
    fn write_isize(&mut self, i: isize) {
        self.write(&(i as i64).to_le_bytes());
    }
}

impl<E: Hash> Observer<E> for TraceHasher {
    fn on_event(&mut self, at: SimTime, event: &E) {
        self.events += 1;
        at.as_nanos().hash(self);
        event.hash(self);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ping-pong model: each Ping schedules a Pong 3 ns later and the next
    /// Ping 5 ns later; the first Ping also schedules and cancels a Doomed
    /// event, which must never be delivered. Records the delivery log.
    #[derive(Default)]
    struct PingPong {
        log: Vec<(u64, Ev)>,
    }
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    enum Ev {
        Ping(u32),
        Pong(u32),
        Doomed,
    }
    impl Model for PingPong {
        type Event = Ev;
        fn handle(&mut self, ev: Ev, sched: &mut Scheduler<Ev>) {
            self.log.push((sched.now().as_nanos(), ev));
            if let Ev::Ping(n) = ev {
                sched.schedule_after(SimDuration::from_nanos(3), Ev::Pong(n));
                sched.schedule_after(SimDuration::from_nanos(5), Ev::Ping(n + 1));
                if n == 0 {
                    let doomed = sched.schedule_after(SimDuration::from_nanos(4), Ev::Doomed);
                    assert!(sched.cancel(doomed));
                }
            }
        }
    }

    fn sim() -> Simulation<PingPong> {
        let mut sim = Simulation::new(PingPong::default());
        sim.scheduler_mut().schedule_at(SimTime::ZERO, Ev::Ping(0));
        sim
    }

    #[test]
    fn run_until_delivers_due_events_and_advances_clock() {
        let mut s = sim();
        let reason = s.run_until(SimTime::from_nanos(10));
        assert_eq!(reason, StopReason::TimeReached);
        assert_eq!(s.now(), SimTime::from_nanos(10));
        assert_eq!(
            s.model().log,
            vec![
                (0, Ev::Ping(0)),
                (3, Ev::Pong(0)),
                (5, Ev::Ping(1)),
                (8, Ev::Pong(1)),
                (10, Ev::Ping(2))
            ]
        );
    }

    #[test]
    fn run_while_not_stops_on_condition() {
        let mut s = sim();
        let reason = s.run_while_not(|m| m.log.len() == 4);
        assert_eq!(reason, StopReason::ConditionMet);
        assert_eq!(s.events_processed(), 4);
        assert_eq!(s.now(), SimTime::from_nanos(8));
    }

    #[test]
    fn trace_hash_is_reproducible_and_sensitive() {
        let hash = |until| {
            let mut s = sim();
            let mut h = TraceHasher::default();
            s.run(SimTime::from_nanos(until), |_| false, &mut h);
            (h.digest(), h.events())
        };
        assert_eq!(hash(100), hash(100));
        assert_ne!(hash(100).0, hash(99).0);
    }
}
