//! The pending-event list: events ordered by (time, insertion sequence).
//!
//! Ties in time resolve by the order in which events were scheduled, so every
//! run of the same model pops the same events in the same order. Events are
//! plain values stored inline in a 4-ary heap (no boxing, no allocation per
//! event once the heap has grown): a 4-ary heap is shallower than a binary one
//! and keeps a node's children in one cache line, which matters when tens of
//! thousands of events are pending.
//!
//! Cancellation is lazy: a cancelled event stays in the heap and is skipped
//! when it reaches the top. Because events pop in strictly increasing
//! (time, sequence) order, cancelling an event that already fired is detected
//! and ignored, so the set of cancelled keys only ever holds pending events.

use std::cmp::Ordering;
use std::collections::HashSet;

use dary_heap::QuaternaryHeap;

use crate::time::SimTime;

/// Identifies one scheduled event, for cancelling it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventId {
    time: SimTime,
    seq: u64,
}

impl EventId {
    /// When the event is (or was) due.
    pub fn time(&self) -> SimTime {
        self.time
    }
}

/// One heap entry; ordered so that the max-heap pops the earliest key first.
#[derive(Debug)]
struct Entry<E> {
    time: SimTime,
    seq: u64,
    event: E,
}

impl<E> Entry<E> {
    fn key(&self) -> EventId {
        EventId { time: self.time, seq: self.seq }
    }
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        self.time == other.time && self.seq == other.seq
    }
}
impl<E> Eq for Entry<E> {}
impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<E> Ord for Entry<E> {
    #[inline]
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed: the smallest (time, seq) is the heap's maximum.
        other.time.cmp(&self.time).then_with(|| other.seq.cmp(&self.seq))
    }
}

/// A future-event list holding events of type `E`.
#[derive(Debug)]
pub struct EventQueue<E> {
    heap: QuaternaryHeap<Entry<E>>,
    next_seq: u64,
    /// Keys of pending events that were cancelled and not yet skipped.
    cancelled: HashSet<EventId>,
    /// The key of the last event popped; every pending key is greater.
    last_popped: Option<EventId>,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> EventQueue<E> {
    /// An empty queue.
    pub fn new() -> Self {
        Self::with_capacity(0)
    }

    /// An empty queue with room for `capacity` pending events.
    pub fn with_capacity(capacity: usize) -> Self {
        EventQueue {
            heap: QuaternaryHeap::with_capacity(capacity),
            next_seq: 0,
            cancelled: HashSet::new(),
            last_popped: None,
        }
    }

    /// Adds `event` due at `time` and returns its id.
    ///
    /// Panics (a model bug) if `time` is earlier than the last popped event.
    #[inline]
    pub fn push(&mut self, time: SimTime, event: E) -> EventId {
        let seq = self.next_seq;
        self.next_seq += 1;
        if let Some(last) = self.last_popped {
            assert!(time >= last.time, "event scheduled in the past: {time} < {}", last.time);
        }
        self.heap.push(Entry { time, seq, event });
        EventId { time, seq }
    }

    /// Removes and returns the earliest pending event that was not cancelled.
    #[inline]
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        loop {
            let entry = self.heap.pop()?;
            let key = entry.key();
            self.last_popped = Some(key);
            if !self.cancelled.is_empty() && self.cancelled.remove(&key) {
                continue;
            }
            return Some((entry.time, entry.event));
        }
    }

    /// The time of the earliest pending event, skipping cancelled ones.
    #[inline]
    pub fn peek_time(&mut self) -> Option<SimTime> {
        loop {
            let top = self.heap.peek()?;
            let key = top.key();
            if self.cancelled.is_empty() || !self.cancelled.contains(&key) {
                return Some(key.time);
            }
            self.heap.pop();
            self.cancelled.remove(&key);
            self.last_popped = Some(key);
        }
    }

    /// Cancels a pending event. Returns whether it was pending; cancelling an
    /// event that already fired, or was already cancelled, does nothing.
    pub fn cancel(&mut self, id: EventId) -> bool {
        if id.seq >= self.next_seq || self.last_popped.is_some_and(|last| id <= last) {
            return false;
        }
        self.cancelled.insert(id)
    }

    /// The number of pending (not cancelled) events.
    pub fn len(&self) -> usize {
        self.heap.len() - self.cancelled.len()
    }

    /// Whether no event is pending.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many events have ever been scheduled on this queue.
    pub fn scheduled_total(&self) -> u64 {
        self.next_seq
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::SimDuration;

    #[test]
    fn pops_in_time_then_insertion_order() {
        let mut q = EventQueue::new();
        let t1 = SimTime::from_secs(1);
        let t2 = SimTime::from_secs(2);
        q.push(t2, "b1");
        q.push(t1, "a1");
        q.push(t2, "b2");
        q.push(t1, "a2");
        q.push(t2, "b3");
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).map(|(_, e)| e).collect();
        assert_eq!(order, ["a1", "a2", "b1", "b2", "b3"]);
    }

    #[test]
    fn cancel_skips_pending_and_ignores_fired() {
        let mut q = EventQueue::new();
        let a = q.push(SimTime::from_secs(1), 'a');
        let b = q.push(SimTime::from_secs(2), 'b');
        let c = q.push(SimTime::from_secs(3), 'c');
        assert_eq!(q.len(), 3);
        assert!(q.cancel(b));
        assert!(!q.cancel(b), "second cancel is a no-op");
        assert_eq!(q.len(), 2);
        assert_eq!(q.pop(), Some((SimTime::from_secs(1), 'a')));
        assert!(!q.cancel(a), "already fired");
        assert_eq!(q.peek_time(), Some(SimTime::from_secs(3)));
        assert_eq!(q.pop(), Some((SimTime::from_secs(3), 'c')));
        assert!(!q.cancel(c));
        assert!(q.is_empty());
        assert_eq!(q.pop(), None);
        assert!(q.cancelled.is_empty(), "no stale cancellations are kept");
    }

    #[test]
    #[allow(clippy::needless_range_loop)]
    fn matches_a_sorted_reference_on_random_input() {
        use crate::rng::{RngStreams, StreamKey};
        use rand::Rng;
        let mut rng = RngStreams::new(1).stream(StreamKey::named("queue-test"));
        let mut q = EventQueue::new();
        let mut reference: Vec<(SimTime, u64)> = Vec::new();
        let mut now = SimTime::ZERO;
        let mut popped = Vec::new();
        let mut expected = Vec::new();
        for i in 0..20_000u64 {
            // Coarse times so that many ties occur.
            let t = now + SimDuration::from_nanos(rng.next_u64() % 50);
            q.push(t, i);
            reference.push((t, i));
            if rng.next_u64() % 3 == 0 {
                let (t, e) = q.pop().unwrap();
                now = t;
                popped.push((t, e));
                reference.sort();
                expected.push(reference.remove(0));
            }
        }
        assert_eq!(popped, expected);
    }
}
