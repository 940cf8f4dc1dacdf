//! Raw event-list throughput: the classic "hold" model.
//!
//! The list is prefilled with N events; then each step pops the earliest
//! event and pushes it back at its time plus an exponential increment (mean
//! 1 s, drawn beforehand into a buffer so only the list is timed). N stays
//! constant, and after the first few steps the pending times have the
//! stationary spread a simulation sees. Throughput counts steps (one pop plus
//! one push each).
//!
//! - `scheduler/hold/N`: fleetsim's `EventQueue` with 1,000 and 1,000,000
//!   pending events.
//! - `scheduler/design/...`: the same model on the alternatives considered
//!   for `EventQueue`, at 5 pending events (one M/M/4 station) and 46,000
//!   (10,000 stations, the peer harness's `--stations 10000`):
//!   `std::collections::BinaryHeap` (what the hand-written baseline uses)
//!   and `dary_heap` with 2, 4 and 8 children, all on 32-byte entries
//!   ordered by (time, seq) compared field by field, which is how
//!   `EventQueue` stored them before it got its own 4-ary heap on a packed
//!   `u128` key.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use dary_heap::DaryHeap;
use sim_core::{Distribution, EventQueue, RngStreams, SimTime, StreamKey};
use sim_models::network::Event;

/// Hold steps per timed iteration.
const STEPS: u64 = 10_000;
/// Pre-drawn increments (a power of two, used round-robin).
const INCREMENTS: usize = 1 << 16;

/// Exponential increments with mean 1 s, in nanoseconds.
fn increments() -> Vec<u64> {
    let exp = Distribution::exponential(1.0).expect("valid");
    let mut rng = RngStreams::new(42).stream(StreamKey::named("bench.hold"));
    (0..INCREMENTS)
        .map(|_| exp.sample_duration(&mut rng).as_nanos())
        .collect()
}

/// A future-event list as the hold model uses it.
trait HoldList {
    fn push(&mut self, time: u64, event: Event);
    fn pop(&mut self) -> (u64, Event);
}

impl HoldList for EventQueue<Event> {
    #[inline]
    fn push(&mut self, time: u64, event: Event) {
        EventQueue::push(self, SimTime::from_nanos(time), event);
    }
    #[inline]
    fn pop(&mut self) -> (u64, Event) {
        let (t, e) = EventQueue::pop(self).expect("hold keeps N events pending");
        (t.as_nanos(), e)
    }
}

/// An entry ordered by (time, seq) field by field, reversed so that the
/// max-heaps pop the earliest first (`EventQueue`'s former layout).
struct Entry {
    time: u64,
    seq: u64,
    event: Event,
}
impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        (self.time, self.seq) == (other.time, other.seq)
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    #[inline]
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .time
            .cmp(&self.time)
            .then_with(|| other.seq.cmp(&self.seq))
    }
}

/// A max-heap of [`Entry`] with its own sequence counter.
struct Heap<H> {
    heap: H,
    seq: u64,
}

macro_rules! hold_list_for_heap {
    ($($ty:ty),*) => {$(
        impl HoldList for Heap<$ty> {
            #[inline]
            fn push(&mut self, time: u64, event: Event) {
                self.heap.push(Entry { time, seq: self.seq, event });
                self.seq += 1;
            }
            #[inline]
            fn pop(&mut self) -> (u64, Event) {
                let e = self.heap.pop().expect("hold keeps N events pending");
                (e.time, e.event)
            }
        }
    )*};
}
hold_list_for_heap!(BinaryHeap<Entry>, DaryHeap<Entry, 2>, DaryHeap<Entry, 4>, DaryHeap<Entry, 8>);

fn heap<H>(heap: H) -> Heap<H> {
    Heap { heap, seq: 0 }
}

/// Prefills `list` with `n` events and returns the step closure's state.
fn prefill<L: HoldList>(list: &mut L, n: usize, inc: &[u64]) -> usize {
    for i in 0..n {
        list.push(inc[i % INCREMENTS], Event::Arrival { source: i as u32 });
    }
    n
}

/// Benchmarks `STEPS` hold steps per iteration on `list` with `n` pending.
fn bench_hold<L: HoldList>(
    c: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    id: BenchmarkId,
    mut list: L,
    n: usize,
    inc: &[u64],
) {
    let mut k = prefill(&mut list, n, inc);
    c.bench_function(id, |b| {
        b.iter(|| {
            for _ in 0..STEPS {
                let (t, event) = list.pop();
                list.push(t + inc[k % INCREMENTS], black_box(event));
                k += 1;
            }
        })
    });
}

fn hold(c: &mut Criterion) {
    let inc = increments();
    let mut group = c.benchmark_group("scheduler/hold");
    group.throughput(Throughput::Elements(STEPS));
    for n in [1_000usize, 1_000_000] {
        bench_hold(
            &mut group,
            BenchmarkId::new("EventQueue", n),
            EventQueue::<Event>::with_capacity(n),
            n,
            &inc,
        );
    }
    group.finish();
}

fn design(c: &mut Criterion) {
    let inc = increments();
    let mut group = c.benchmark_group("scheduler/design");
    group.throughput(Throughput::Elements(STEPS));
    for n in [5usize, 46_000] {
        bench_hold(
            &mut group,
            BenchmarkId::new("EventQueue", n),
            EventQueue::<Event>::with_capacity(n),
            n,
            &inc,
        );
        bench_hold(
            &mut group,
            BenchmarkId::new("std BinaryHeap", n),
            heap(BinaryHeap::with_capacity(n)),
            n,
            &inc,
        );
        bench_hold(
            &mut group,
            BenchmarkId::new("dary_heap d=2", n),
            heap(DaryHeap::<_, 2>::with_capacity(n)),
            n,
            &inc,
        );
        bench_hold(
            &mut group,
            BenchmarkId::new("dary_heap d=4", n),
            heap(DaryHeap::<_, 4>::with_capacity(n)),
            n,
            &inc,
        );
        bench_hold(
            &mut group,
            BenchmarkId::new("dary_heap d=8", n),
            heap(DaryHeap::<_, 8>::with_capacity(n)),
            n,
            &inc,
        );
    }
    group.finish();
}

criterion_group! {
    name = benches;
    // Short runs so that `cargo bench -p benches` takes a few minutes; the
    // machine is shared and noisy anyway, so compare runs side by side.
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(20);
    targets = hold, design
}
criterion_main!(benches);
