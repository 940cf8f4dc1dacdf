//! The pending-event list: events ordered by (time, insertion sequence).
//!
//! Ties in time resolve by the order in which events were scheduled, so every
//! run of the same model pops the same events in the same order.
//!
//! Cancellation is lazy: a cancelled event stays in the heap and is skipped
//! when it reaches the top. Because events pop in strictly increasing
//! (time, sequence) order, cancelling an event that already fired is detected
//! and ignored, so the set of cancelled keys only ever holds pending events.
//!
//! # Design
//!
//! Events are plain values stored inline in a 4-ary min-heap written out
//! here (no boxing, no allocation per event once the heap has grown). The
//! choices below were measured with `benches/benches/scheduler.rs` (the hold
//! model) and the M/M/4 benchmarks (`fleetsim-peer-bench`, CPU cycles per
//! event, interleaved runs); see the README's Performance section.
//!
//! - **Arity 4.** Half as deep as a binary heap, and a node's children are
//!   adjacent (4 × 32 bytes), so with tens of thousands of pending events a
//!   pop waits for about half as many cache misses. In the hold model with
//!   46,000 pending events, 4-ary heaps ran 15–55% more steps per second
//!   than `std`'s `BinaryHeap` and binary or 8-ary `dary_heap`s (two
//!   criterion runs), and were among the fastest with 5.
//! - **One `u128` key**, `time << 64 | seq`, rather than comparing `(time,
//!   seq)` field by field: the same total order in one comparison.
//! - **Written out rather than taken from `dary_heap`** (which this queue used
//!   before; in the hold model alone the two are on par) so that push and
//!   pop inline into the event loop, the sift-down stops as soon as the moved
//!   entry is in place (a handful of pending events is common for small
//!   models), and a full group of children is scanned as a tournament of
//!   independent comparisons. With the packed key this took the M/M/4
//!   benchmark from about 281 to 236 CPU cycles per event and the
//!   10,000-station one from about 1,490 to 1,250 (interleaved medians); the
//!   tournament later cut the latter's instructions per event from 1,120 to
//!   970. It is safe code: entries move by `swap`.

//!
//! # FIFO lanes
//!
//! Many events are "this message arrives one fixed latency from now": for a
//! given link their times never decrease in scheduling order. Such events
//! can be pushed onto a *lane* ([`EventQueue::push_lane`]): a plain FIFO,
//! O(1) per push and pop, with only each lane's head taking part in a small
//! heap of lanes. The order of delivery is exactly the same (time, sequence)
//! order as if they had gone into the main heap; an event that would break
//! its lane's order simply goes to the main heap instead. In the fleet
//! model, network hops are two of every request's four events; lanes keep
//! them out of the main heap, which then only holds service completions and
//! timers.

use std::collections::{HashSet, VecDeque};

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

    /// The heap key: ordering keys orders ids by (time, seq).
    #[inline]
    fn key(&self) -> u128 {
        (u128::from(self.time.as_nanos()) << 64) | u128::from(self.seq)
    }

    #[inline]
    fn from_key(key: u128) -> EventId {
        EventId {
            time: SimTime::from_nanos((key >> 64) as u64),
            seq: key as u64,
        }
    }
}

/// Children per heap node.
const ARITY: usize = 4;

/// One heap entry: the event and its key (see [`EventId::key`]).
#[derive(Debug)]
struct Entry<E> {
    key: u128,
    event: E,
}

/// A future-event list holding events of type `E`.
#[derive(Debug)]
pub struct EventQueue<E> {
    /// A 4-ary min-heap on `key`: every entry's key is at most its
    /// children's (children of `i` are `4i + 1 ..= 4i + 4`).
    heap: Vec<Entry<E>>,
    next_seq: u64,
    /// Keys of pending events that were cancelled and not yet skipped.
    cancelled: HashSet<EventId>,
    /// The key of the last event popped; every pending key is greater.
    last_popped: Option<EventId>,
    /// FIFO lanes of (key, event), keys increasing within a lane.
    lanes: Vec<VecDeque<Entry<E>>>,
    /// (head key, lane) of every non-empty lane, unordered: lanes are few,
    /// and a branch-free scan for the minimum beats a heap's unpredictable
    /// sift-down on them.
    lane_heads: Vec<(u128, u32)>,
    /// Index in `lane_heads` of the smallest head key.
    lane_min: usize,
    /// Events stored in lanes (cancelled ones included).
    in_lanes: usize,
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
            heap: Vec::with_capacity(capacity),
            next_seq: 0,
            cancelled: HashSet::new(),
            last_popped: None,
            lanes: Vec::new(),
            lane_heads: Vec::new(),
            lane_min: 0,
            in_lanes: 0,
        }
    }

    /// Adds `event` due at `time` to FIFO lane `lane` (any small index the
    /// model chooses; lanes are created on first use) and returns its id.
    /// Delivery order is the same as [`EventQueue::push`]'s; if `time` is
    /// earlier than the lane's last event, the event goes to the main heap.
    ///
    /// Panics (a model bug) if `time` is earlier than the last popped event.
    #[inline]
    pub fn push_lane(&mut self, lane: u32, time: SimTime, event: E) -> EventId {
        let l = lane as usize;
        if l >= self.lanes.len() {
            self.lanes.resize_with(l + 1, VecDeque::new);
        }
        if self.lanes[l]
            .back()
            .is_some_and(|e| (e.key >> 64) as u64 > time.as_nanos())
        {
            return self.push(time, event);
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        if let Some(last) = self.last_popped {
            assert!(
                time >= last.time,
                "event scheduled in the past: {time} < {}",
                last.time
            );
        }
        let id = EventId { time, seq };
        let key = id.key();
        let was_empty = self.lanes[l].is_empty();
        self.lanes[l].push_back(Entry { key, event });
        self.in_lanes += 1;
        if was_empty {
            self.lane_heads.push((key, lane));
            if self.lane_heads.len() == 1 || key < self.lane_heads[self.lane_min].0 {
                self.lane_min = self.lane_heads.len() - 1;
            }
        }
        id
    }

    /// Removes the head of the lane with the earliest head.
    #[inline]
    fn pop_lane(&mut self) -> Option<Entry<E>> {
        let slot = self.lane_min;
        let &(_, lane) = self.lane_heads.get(slot)?;
        let queue = &mut self.lanes[lane as usize];
        let entry = queue.pop_front()?;
        self.in_lanes -= 1;
        match queue.front() {
            Some(next) => self.lane_heads[slot].0 = next.key,
            None => {
                self.lane_heads.swap_remove(slot);
            }
        }
        self.lane_min = argmin(&self.lane_heads);
        Some(entry)
    }

    /// The smallest key stored anywhere, and whether it is in a lane.
    #[inline]
    fn min_key(&self) -> Option<(u128, bool)> {
        match (self.heap.first(), self.lane_heads.get(self.lane_min)) {
            (Some(h), Some(l)) => Some(if l.0 < h.key {
                (l.0, true)
            } else {
                (h.key, false)
            }),
            (Some(h), None) => Some((h.key, false)),
            (None, Some(l)) => Some((l.0, true)),
            (None, None) => None,
        }
    }

    /// Removes the entry with the smallest key, from the heap or a lane.
    #[inline]
    fn pop_any(&mut self) -> Option<Entry<E>> {
        match self.min_key()? {
            (_, true) => self.pop_lane(),
            (_, false) => self.pop_min(),
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
            assert!(
                time >= last.time,
                "event scheduled in the past: {time} < {}",
                last.time
            );
        }
        let id = EventId { time, seq };
        self.heap.push(Entry {
            key: id.key(),
            event,
        });
        self.sift_up(self.heap.len() - 1);
        id
    }

    /// Removes and returns the earliest pending event that was not cancelled.
    #[inline]
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        loop {
            let entry = self.pop_any()?;
            let id = EventId::from_key(entry.key);
            self.last_popped = Some(id);
            if !self.cancelled.is_empty() && self.cancelled.remove(&id) {
                continue;
            }
            return Some((id.time, entry.event));
        }
    }

    /// The time of the earliest pending event, skipping cancelled ones.
    #[inline]
    pub fn peek_time(&mut self) -> Option<SimTime> {
        loop {
            let id = EventId::from_key(self.min_key()?.0);
            if self.cancelled.is_empty() || !self.cancelled.contains(&id) {
                return Some(id.time);
            }
            self.pop_any();
            self.cancelled.remove(&id);
            self.last_popped = Some(id);
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
        self.heap.len() + self.in_lanes - self.cancelled.len()
    }

    /// Whether no event is pending.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many events have ever been scheduled on this queue.
    pub fn scheduled_total(&self) -> u64 {
        self.next_seq
    }

    /// Removes the entry with the smallest key.
    #[inline]
    fn pop_min(&mut self) -> Option<Entry<E>> {
        let last = self.heap.pop()?;
        if self.heap.is_empty() {
            return Some(last);
        }
        let min = std::mem::replace(&mut self.heap[0], last);
        self.sift_down(0);
        Some(min)
    }

    /// Moves the entry at `i` up to its place.
    #[inline]
    fn sift_up(&mut self, mut i: usize) {
        let heap = &mut self.heap[..];
        let key = heap[i].key;
        while i > 0 {
            let parent = (i - 1) / ARITY;
            if heap[parent].key <= key {
                break;
            }
            heap.swap(i, parent);
            i = parent;
        }
    }

    /// Moves the entry at `i` down to its place.
    #[inline]
    fn sift_down(&mut self, mut i: usize) {
        let heap = &mut self.heap[..];
        let len = heap.len();
        let key = heap[i].key;
        loop {
            let first = ARITY * i + 1;
            // The smallest child (keys are unique, so there are no ties).
            let (best, best_key) = if first + ARITY <= len {
                // All four children exist (every level but the last): a
                // two-round tournament, three independent comparisons
                // instead of a chain of three dependent ones.
                let c = &heap[first..first + ARITY];
                let (a, ka) = if c[1].key < c[0].key {
                    (1, c[1].key)
                } else {
                    (0, c[0].key)
                };
                let (b, kb) = if c[3].key < c[2].key {
                    (3, c[3].key)
                } else {
                    (2, c[2].key)
                };
                if kb < ka { (b, kb) } else { (a, ka) }
            } else if first < len {
                let children = &heap[first..];
                let (mut best, mut best_key) = (0, children[0].key);
                for (j, child) in children.iter().enumerate().skip(1) {
                    if child.key < best_key {
                        (best, best_key) = (j, child.key);
                    }
                }
                (best, best_key)
            } else {
                break;
            };
            if key <= best_key {
                break;
            }
            heap.swap(i, first + best);
            i = first + best;
        }
    }
}

/// Index of the smallest key (0 if empty).
#[inline]
fn argmin(heads: &[(u128, u32)]) -> usize {
    let mut best = 0;
    let mut best_key = u128::MAX;
    for (i, &(k, _)) in heads.iter().enumerate() {
        let smaller = k < best_key;
        best = if smaller { i } else { best };
        best_key = if smaller { k } else { best_key };
    }
    best
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
    fn lanes_deliver_in_the_same_order_as_the_heap() {
        use crate::rng::{RngStreams, StreamKey};
        use rand::Rng;
        let mut rng = RngStreams::new(2).stream(StreamKey::named("lane-test"));
        let mut with_lanes = EventQueue::new();
        let mut heap_only = EventQueue::new();
        let mut now = SimTime::ZERO;
        let mut latest = SimTime::ZERO;
        let mut a = Vec::new();
        let mut b = Vec::new();
        for i in 0..20_000u64 {
            let lane = (rng.next_u64() % 5) as u32;
            // Lane 4 gets random delays (often out of order: falls back to
            // the heap); lanes 0-3 fixed delays per lane.
            let delay = if lane == 4 {
                rng.next_u64() % 40
            } else {
                10 * u64::from(lane)
            };
            let t = now + SimDuration::from_nanos(delay);
            latest = latest.max(t);
            let id = with_lanes.push_lane(lane, t, i);
            heap_only.push(t, i);
            if i % 97 == 0 {
                assert!(with_lanes.cancel(id));
                heap_only.cancel(id);
            }
            if rng.next_u64().is_multiple_of(2) {
                let (x, y) = (with_lanes.pop(), heap_only.pop());
                assert_eq!(x, y);
                match x {
                    Some(x) => {
                        now = x.0;
                        a.push(x);
                    }
                    // Everything pending was cancelled and skipped.
                    None => now = latest,
                }
                b.extend(y);
                assert_eq!(with_lanes.len(), heap_only.len());
            }
        }
        assert!(a.len() > 5_000);
        while let Some(x) = with_lanes.pop() {
            a.push(x);
        }
        while let Some(x) = heap_only.pop() {
            b.push(x);
        }
        assert_eq!(a, b);
    }

    #[test]
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
            if rng.next_u64().is_multiple_of(3) {
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
