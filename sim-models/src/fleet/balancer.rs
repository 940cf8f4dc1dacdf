//! A regional load balancer's choice of backend.
//!
//! Each region has one balancer in front of its instances. For every request
//! it picks one backend with the configured [`Algorithm`], following what the
//! real systems do (Envoy, nginx, AWS ALB, Finagle/Linkerd, Google's Maglev
//! and bounded-load consistent hashing; see the reference notes on policy
//! semantics, section 4). The model tells the balancer which backends are
//! eligible (healthy, not ejected, not draining), how many requests each has
//! in flight, how long responses took, and each backend's slow-start weight
//! factor; the balancer only chooses.
//!
//! Why a separate component: the choice of backend is where load-balancing
//! policies differ, and those differences (herding on round robin, the
//! most-loaded host starving under power of two choices, key movement under
//! consistent hashing) are what a fleet study compares. Keeping it apart from
//! the event loop makes each algorithm testable on its own.
//!
//! # Cost
//!
//! Every pick is O(1) or O(log n) in the number of backends `n` (a bounded-load
//! ring walk may step past overloaded backends), and so is every dispatch and
//! completion: the state each algorithm needs is kept up to date
//! incrementally. Hash tables (ring, Maglev table, key-hash list) are rebuilt
//! lazily, at the first pick after the set of backends changed, never on
//! every pick.
//!
//! # Pools
//!
//! The balancer keeps one *pool* (an algorithm state over a subset of the
//! backends) for the whole region's eligible backends, one per zone when
//! routing is zone aware, and one over every registered backend for
//! fail-open. Every pool is kept in step on dispatch, completion, eligibility
//! and weight changes, so switching between them (spill-over, fail-open)
//! needs no rebuild.
//!
//! # Determinism
//!
//! All randomness comes from the generator passed to [`Balancer::pick`], and
//! the generator is consulted only when there is a real choice (never with a
//! single candidate). Integer draws use a pinned unbiased method (Lemire's
//! multiply-and-reject on `next_u64`), not `rand`'s, so the draws cannot
//! change with a `rand` release. Nothing iterates a hash map; hash tables are
//! built from backends sorted by index, so they depend only on the set of
//! backends, not on the order of events that produced it.

use std::cmp::{Ordering, Reverse};
use std::collections::{BTreeMap, BinaryHeap};

use rand::Rng;
use sim_core::rng::splitmix64;
use sim_core::{SimDuration, SimTime};

use super::config::{Algorithm, ZoneAwareConfig};

/// What the balancer needs to know about one backend when it is registered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BackendInfo {
    /// Index of the backend's zone in its region (`0..zones`). A zone index
    /// out of range puts the backend in no zone: zone-aware routing never
    /// prefers it, but it serves the whole region.
    pub zone: usize,
    /// Load-balancing weight, used by the weighted algorithms
    /// (`WeightedRoundRobin`, `PowerOfChoices` when weights differ,
    /// `RingHash`, `Maglev`). A weight of 0 counts as 1.
    pub weight: u32,
    /// Workers (concurrent requests in service): the zone's capacity for
    /// zone-aware spill-over is the sum over its eligible backends.
    pub capacity: u32,
}

/// The smallest slow-start weight factor honoured; smaller (or non-positive)
/// factors are raised to it so that every weight stays positive.
const MIN_WEIGHT_FACTOR: f64 = 1e-6;

/// Marks "not a member" in position indices.
const NONE: u32 = u32::MAX;

/// Marks an empty Maglev table entry during the build.
const EMPTY: usize = usize::MAX;

/// Salts that separate the independent hashes (request keys, ring points,
/// Maglev offset and skip) drawn from one mixer.
const KEY_SALT: u64 = 0x6b65_795f_6861_7368;
const RING_SALT: u64 = 0x7269_6e67_5f70_6e74;
const MAGLEV_OFFSET_SALT: u64 = 0x6d61_676c_5f6f_6666;
const MAGLEV_SKIP_SALT: u64 = 0x6d61_676c_5f73_6b70;

/// The pinned 64-bit hash of a request key used by every hash-based
/// algorithm.
fn key_hash(key: u64) -> u64 {
    splitmix64(key ^ KEY_SALT)
}

/// A ring point of `backend`'s virtual node `replica`.
fn ring_point(backend: usize, replica: u64) -> u64 {
    splitmix64(splitmix64(backend as u64 ^ RING_SALT) ^ replica)
}

/// A uniform index in `0..n` (`n ≥ 1`), unbiased (Lemire's method). With a
/// single candidate nothing is drawn.
fn below<R: Rng + ?Sized>(rng: &mut R, n: usize) -> usize {
    if n <= 1 {
        return 0;
    }
    let n = n as u64;
    let mut m = u128::from(rng.next_u64()) * u128::from(n);
    if (m as u64) < n {
        let threshold = n.wrapping_neg() % n;
        while (m as u64) < threshold {
            m = u128::from(rng.next_u64()) * u128::from(n);
        }
    }
    (m >> 64) as usize
}

/// The smallest prime ≥ `n` (and ≥ 2).
fn next_prime(n: u64) -> u64 {
    fn is_prime(p: u64) -> bool {
        if p < 2 {
            return false;
        }
        if p.is_multiple_of(2) {
            return p == 2;
        }
        let mut d = 3u64;
        while d.saturating_mul(d) <= p {
            if p.is_multiple_of(d) {
                return false;
            }
            d += 2;
        }
        true
    }
    let mut p = n.max(2);
    while !is_prime(p) {
        p += 1;
    }
    p
}

/// The balancer's view of one backend.
#[derive(Clone, Debug)]
struct Backend {
    info: BackendInfo,
    /// Healthy, not ejected, not draining (as told by the model).
    eligible: bool,
    /// False once deregistered: then in no pool, ever again.
    registered: bool,
    /// Slow-start weight factor, in `[MIN_WEIGHT_FACTOR, 1]`.
    factor: f64,
    /// Requests in flight.
    outstanding: u32,
    /// Peak EWMA of response times, in nanoseconds (0 until observed).
    ewma: f64,
    /// When `ewma` was last updated.
    stamp: SimTime,
}

impl Backend {
    /// The base weight, at least 1.
    fn weight(&self) -> f64 {
        f64::from(self.info.weight.max(1))
    }
}

/// What a pool needs to see of the balancer while it works.
#[derive(Clone, Copy, Debug)]
struct Ctx<'a> {
    backends: &'a [Backend],
    /// Sum of the base weights of every registered backend: ring sizes are
    /// scaled by it, so a backend becoming ineligible does not change the
    /// number of virtual nodes of the others (only its own keys move).
    registered_weight: u64,
}

/// One entry of an earliest-deadline-first schedule.
#[derive(Clone, Copy, Debug)]
struct EdfEntry {
    deadline: f64,
    /// Insertion order: breaks deadline ties deterministically (first in,
    /// first out, as Envoy's scheduler does).
    seq: u64,
    backend: usize,
}

impl PartialEq for EdfEntry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for EdfEntry {}

impl PartialOrd for EdfEntry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for EdfEntry {
    fn cmp(&self, other: &Self) -> Ordering {
        self.deadline
            .total_cmp(&other.deadline)
            .then(self.seq.cmp(&other.seq))
    }
}

/// The live entry of one backend in an [`Edf`] schedule.
#[derive(Clone, Copy, Debug)]
struct EdfLive {
    seq: u64,
    deadline: f64,
    weight: f64,
}

/// Envoy's earliest-deadline-first weighted schedule: each backend has a
/// deadline; a pick takes the earliest, advances the schedule's clock to it
/// and re-inserts the backend at `clock + 1 / weight`, so over time a backend
/// is picked with frequency proportional to its weight. O(log n) per pick.
///
/// The weight is evaluated when the backend is (re)inserted, as in Envoy: a
/// dynamic weight (least request's `w / (active + 1)`) is the one seen at the
/// backend's last pick. Removal and reweighting are lazy: the old heap entry
/// is left behind and skipped when it surfaces (the heap is compacted when
/// stale entries outnumber live ones).
#[derive(Clone, Debug, Default)]
struct Edf {
    heap: BinaryHeap<Reverse<EdfEntry>>,
    /// The schedule's virtual clock: the deadline of the last pick.
    now: f64,
    next_seq: u64,
    /// Live entry per backend index.
    live: Vec<Option<EdfLive>>,
    /// Heap entries no longer live.
    stale: usize,
}

impl Edf {
    fn push(&mut self, backend: usize, deadline: f64, weight: f64) {
        self.next_seq += 1;
        let seq = self.next_seq;
        if self.live.len() <= backend {
            self.live.resize(backend + 1, None);
        }
        self.live[backend] = Some(EdfLive {
            seq,
            deadline,
            weight,
        });
        self.heap.push(Reverse(EdfEntry {
            deadline,
            seq,
            backend,
        }));
    }

    fn is_live(&self, entry: &EdfEntry) -> bool {
        matches!(self.live.get(entry.backend), Some(Some(l)) if l.seq == entry.seq)
    }

    /// Adds `backend` with its first deadline one period from now.
    fn add(&mut self, backend: usize, weight: f64) {
        if matches!(self.live.get(backend), Some(Some(_))) {
            return;
        }
        self.push(backend, self.now + 1.0 / weight, weight);
    }

    fn remove(&mut self, backend: usize) {
        if let Some(slot) = self.live.get_mut(backend)
            && slot.take().is_some()
        {
            self.stale += 1;
            self.compact();
        }
    }

    /// Changes `backend`'s weight, keeping the share of its period already
    /// waited: the time left to its deadline is scaled by old / new weight.
    /// (Resetting the deadline instead would starve a slow-starting backend
    /// whose weight is raised more often than its turn comes.)
    fn reweight(&mut self, backend: usize, weight: f64) {
        let Some(Some(live)) = self.live.get(backend).copied() else {
            return;
        };
        if live.weight == weight {
            return;
        }
        let remaining = (live.deadline - self.now).max(0.0);
        let deadline = self.now + remaining * live.weight / weight;
        self.stale += 1;
        self.push(backend, deadline, weight);
        self.compact();
    }

    fn compact(&mut self) {
        if self.stale > 64 && self.stale > self.heap.len() / 2 {
            let live = &self.live;
            self.heap.retain(
                |Reverse(e)| matches!(live.get(e.backend), Some(Some(l)) if l.seq == e.seq),
            );
            self.stale = 0;
        }
    }

    /// Picks the earliest deadline and re-inserts that backend with the
    /// weight `weight(backend)` has now.
    fn pick(&mut self, mut weight: impl FnMut(usize) -> f64) -> Option<usize> {
        while let Some(Reverse(entry)) = self.heap.pop() {
            if !self.is_live(&entry) {
                self.stale = self.stale.saturating_sub(1);
                continue;
            }
            self.now = self.now.max(entry.deadline);
            let w = weight(entry.backend);
            self.push(entry.backend, self.now + 1.0 / w, w);
            return Some(entry.backend);
        }
        None
    }
}

/// Backends bucketed by requests in flight, with the lowest non-empty bucket
/// tracked: least-outstanding picks, dispatches and completions are O(1)
/// whatever the number of backends (a dispatch moves a backend one bucket up,
/// a completion one bucket down; the minimum moves by at most one). Only
/// removing a backend from the pool may scan upwards for the next non-empty
/// bucket, bounded by the largest load.
#[derive(Clone, Debug, Default)]
struct Buckets {
    /// `buckets[k]`: the members with `k` requests in flight, in no order.
    buckets: Vec<Vec<usize>>,
    /// Position of each backend in its bucket (`NONE` if absent).
    pos: Vec<u32>,
    /// Lowest non-empty bucket (meaningless while `count == 0`).
    min: usize,
    count: usize,
}

impl Buckets {
    fn attach(&mut self, backend: usize, load: u32) {
        let k = load as usize;
        if self.buckets.len() <= k {
            self.buckets.resize_with(k + 1, Vec::new);
        }
        if self.pos.len() <= backend {
            self.pos.resize(backend + 1, NONE);
        }
        self.pos[backend] = self.buckets[k].len() as u32;
        self.buckets[k].push(backend);
    }

    /// Takes `backend` out of bucket `load`; false if it was not there.
    fn detach(&mut self, backend: usize, load: u32) -> bool {
        let k = load as usize;
        let Some(&p) = self.pos.get(backend) else {
            return false;
        };
        let Some(bucket) = self.buckets.get_mut(k) else {
            return false;
        };
        let i = p as usize;
        if bucket.get(i) != Some(&backend) {
            return false;
        }
        bucket.swap_remove(i);
        if let Some(&moved) = bucket.get(i) {
            self.pos[moved] = i as u32;
        }
        self.pos[backend] = NONE;
        true
    }

    fn advance_min(&mut self) {
        if self.count == 0 {
            self.min = 0;
            return;
        }
        while self.min < self.buckets.len() && self.buckets[self.min].is_empty() {
            self.min += 1;
        }
    }

    fn insert(&mut self, backend: usize, load: u32) {
        self.attach(backend, load);
        if self.count == 0 || (load as usize) < self.min {
            self.min = load as usize;
        }
        self.count += 1;
    }

    fn remove(&mut self, backend: usize, load: u32) {
        if self.detach(backend, load) {
            self.count -= 1;
            self.advance_min();
        }
    }

    fn moved(&mut self, backend: usize, old: u32, new: u32) {
        if !self.detach(backend, old) {
            return;
        }
        self.attach(backend, new);
        if (new as usize) < self.min {
            self.min = new as usize;
        }
        // The backend just attached is non-empty, so this stops there at the
        // latest: one step for a dispatch.
        self.advance_min();
    }

    /// A uniformly random backend among those with the fewest in flight.
    fn pick<R: Rng + ?Sized>(&self, rng: &mut R) -> Option<usize> {
        if self.count == 0 {
            return None;
        }
        let bucket = self.buckets.get(self.min)?;
        bucket.get(below(rng, bucket.len())).copied()
    }
}

/// The algorithm-specific part of a pool.
#[derive(Clone, Debug)]
enum PoolState {
    /// Round robin and weighted round robin: cyclic while every effective
    /// weight is equal, the EDF schedule otherwise.
    Cyclic {
        /// Whether base weights count (`WeightedRoundRobin`) or only
        /// slow-start factors (`RoundRobin`).
        weighted: bool,
        cursor: usize,
        edf: Edf,
    },
    Random,
    LeastOutstanding(Buckets),
    /// Envoy least request: P2C while weights are equal, EDF on
    /// `w / (active + 1)` otherwise.
    Choices {
        choices: u32,
        edf: Edf,
    },
    LeastLatency,
    Ring {
        ring_size: u32,
        /// Bounded-load factor `c ≥ 1`, if any.
        bounded_load: Option<f64>,
        /// Sorted `(point, backend)`.
        ring: Vec<(u64, usize)>,
        dirty: bool,
    },
    Maglev {
        table_size: u64,
        table: Vec<usize>,
        dirty: bool,
    },
    KeyHash {
        /// Members sorted by index.
        sorted: Vec<usize>,
        dirty: bool,
    },
}

/// One algorithm state over a subset of the backends (a zone, the region's
/// eligible backends, or every registered backend for fail-open).
#[derive(Clone, Debug)]
struct Pool {
    /// Member backend indices, dense, in no particular order.
    members: Vec<usize>,
    /// Position of each backend in `members` (`NONE` if absent).
    pos: Vec<u32>,
    /// Sum of the members' requests in flight.
    total_outstanding: u64,
    /// Count of members per effective weight (as `f64` bits), for the
    /// scheduled algorithms: "all weights equal" is `classes.len() <= 1`.
    classes: BTreeMap<u64, u32>,
    state: PoolState,
}

impl Pool {
    fn new(algorithm: Algorithm) -> Self {
        let state = match algorithm {
            Algorithm::RoundRobin => PoolState::Cyclic {
                weighted: false,
                cursor: 0,
                edf: Edf::default(),
            },
            Algorithm::WeightedRoundRobin => PoolState::Cyclic {
                weighted: true,
                cursor: 0,
                edf: Edf::default(),
            },
            Algorithm::Random => PoolState::Random,
            Algorithm::LeastOutstanding => PoolState::LeastOutstanding(Buckets::default()),
            Algorithm::PowerOfChoices { choices } => PoolState::Choices {
                choices: choices.max(1),
                edf: Edf::default(),
            },
            Algorithm::LeastLatency { .. } => PoolState::LeastLatency,
            Algorithm::RingHash {
                ring_size,
                bounded_load,
            } => PoolState::Ring {
                ring_size,
                bounded_load: bounded_load.map(|c| if c >= 1.0 { c } else { 1.0 }),
                ring: Vec::new(),
                dirty: true,
            },
            Algorithm::Maglev { table_size } => PoolState::Maglev {
                table_size: next_prime(u64::from(table_size)),
                table: Vec::new(),
                dirty: true,
            },
            Algorithm::KeyHash => PoolState::KeyHash {
                sorted: Vec::new(),
                dirty: true,
            },
        };
        Pool {
            members: Vec::new(),
            pos: Vec::new(),
            total_outstanding: 0,
            classes: BTreeMap::new(),
            state,
        }
    }

    fn contains(&self, backend: usize) -> bool {
        self.pos.get(backend).is_some_and(|&p| p != NONE)
    }

    fn len(&self) -> usize {
        self.members.len()
    }

    /// The scheduling weight of `b` in this pool, for the algorithms that
    /// schedule by weight (and honour slow start).
    fn sched_weight(&self, b: &Backend) -> Option<f64> {
        match self.state {
            PoolState::Cyclic { weighted, .. } => Some(sched_weight(weighted, b)),
            PoolState::Choices { .. } => Some(sched_weight(true, b)),
            _ => None,
        }
    }

    fn class_add(&mut self, weight: f64) {
        *self.classes.entry(weight.to_bits()).or_insert(0) += 1;
    }

    fn class_remove(&mut self, weight: f64) {
        let key = weight.to_bits();
        if let Some(n) = self.classes.get_mut(&key) {
            *n -= 1;
            if *n == 0 {
                self.classes.remove(&key);
            }
        }
    }

    fn mark_dirty(&mut self) {
        match &mut self.state {
            PoolState::Ring { dirty, .. }
            | PoolState::Maglev { dirty, .. }
            | PoolState::KeyHash { dirty, .. } => *dirty = true,
            _ => {}
        }
    }

    fn insert(&mut self, backend: usize, ctx: &Ctx<'_>) {
        if self.contains(backend) {
            return;
        }
        let Some(b) = ctx.backends.get(backend) else {
            return;
        };
        if self.pos.len() <= backend {
            self.pos.resize(backend + 1, NONE);
        }
        self.pos[backend] = self.members.len() as u32;
        self.members.push(backend);
        self.total_outstanding += u64::from(b.outstanding);
        let weight = self.sched_weight(b);
        if let Some(w) = weight {
            self.class_add(w);
        }
        match &mut self.state {
            PoolState::Cyclic { edf, .. } => edf.add(backend, weight.unwrap_or(1.0)),
            PoolState::Choices { edf, .. } => edf.add(
                backend,
                weight.unwrap_or(1.0) / (f64::from(b.outstanding) + 1.0),
            ),
            PoolState::LeastOutstanding(buckets) => buckets.insert(backend, b.outstanding),
            _ => {}
        }
        self.mark_dirty();
    }

    fn remove(&mut self, backend: usize, ctx: &Ctx<'_>) {
        if !self.contains(backend) {
            return;
        }
        let Some(b) = ctx.backends.get(backend) else {
            return;
        };
        let i = self.pos[backend] as usize;
        self.members.swap_remove(i);
        if let Some(&moved) = self.members.get(i) {
            self.pos[moved] = i as u32;
        }
        self.pos[backend] = NONE;
        self.total_outstanding = self
            .total_outstanding
            .saturating_sub(u64::from(b.outstanding));
        if let Some(w) = self.sched_weight(b) {
            self.class_remove(w);
        }
        match &mut self.state {
            PoolState::Cyclic { edf, .. } | PoolState::Choices { edf, .. } => edf.remove(backend),
            PoolState::LeastOutstanding(buckets) => buckets.remove(backend, b.outstanding),
            _ => {}
        }
        self.mark_dirty();
    }

    /// `backend`'s requests in flight went from `old` to `new`.
    fn load_changed(&mut self, backend: usize, old: u32, new: u32) {
        if !self.contains(backend) {
            return;
        }
        self.total_outstanding =
            (self.total_outstanding + u64::from(new)).saturating_sub(u64::from(old));
        if let PoolState::LeastOutstanding(buckets) = &mut self.state {
            buckets.moved(backend, old, new);
        }
    }

    /// `backend`'s slow-start factor changed; `old` is the backend before
    /// the change, `ctx` sees it after.
    fn reweight(&mut self, backend: usize, old: &Backend, ctx: &Ctx<'_>) {
        if !self.contains(backend) {
            return;
        }
        let Some(b) = ctx.backends.get(backend) else {
            return;
        };
        let (Some(w_old), Some(w_new)) = (self.sched_weight(old), self.sched_weight(b)) else {
            return;
        };
        self.class_remove(w_old);
        self.class_add(w_new);
        match &mut self.state {
            PoolState::Cyclic { edf, .. } => edf.reweight(backend, w_new),
            PoolState::Choices { edf, .. } => {
                edf.reweight(backend, w_new / (f64::from(b.outstanding) + 1.0));
            }
            _ => {}
        }
    }

    fn rebuild(&mut self, ctx: &Ctx<'_>) {
        let members = &self.members;
        match &mut self.state {
            PoolState::Ring {
                ring_size,
                ring,
                dirty,
                ..
            } if *dirty => {
                build_ring(ring, members, ctx, *ring_size);
                *dirty = false;
            }
            PoolState::Maglev {
                table_size,
                table,
                dirty,
            } if *dirty => {
                build_maglev(table, members, ctx, *table_size);
                *dirty = false;
            }
            PoolState::KeyHash { sorted, dirty } if *dirty => {
                sorted.clear();
                sorted.extend_from_slice(members);
                sorted.sort_unstable();
                *dirty = false;
            }
            _ => {}
        }
    }

    fn pick<R: Rng + ?Sized>(&mut self, key: u64, ctx: &Ctx<'_>, rng: &mut R) -> Option<usize> {
        let n = self.members.len();
        if n == 0 {
            return None;
        }
        self.rebuild(ctx);
        let uniform_weights = self.classes.len() <= 1;
        let backends = ctx.backends;
        let load = |b: usize| backends.get(b).map_or(0, |x| x.outstanding);
        let members = &self.members;
        match &mut self.state {
            PoolState::Cyclic {
                weighted,
                cursor,
                edf,
            } => {
                if uniform_weights {
                    let i = *cursor % n;
                    *cursor = i + 1;
                    Some(members[i])
                } else {
                    let weighted = *weighted;
                    edf.pick(|b| backends.get(b).map_or(1.0, |x| sched_weight(weighted, x)))
                        .or_else(|| members.first().copied())
                }
            }
            PoolState::Random => Some(members[below(rng, n)]),
            PoolState::LeastOutstanding(buckets) => buckets.pick(rng),
            PoolState::Choices { choices, edf } => {
                if uniform_weights {
                    let mut best = members[below(rng, n)];
                    for _ in 1..*choices {
                        let candidate = members[below(rng, n)];
                        if load(candidate) < load(best) {
                            best = candidate;
                        }
                    }
                    Some(best)
                } else {
                    edf.pick(|b| {
                        backends.get(b).map_or(1.0, |x| {
                            sched_weight(true, x) / (f64::from(x.outstanding) + 1.0)
                        })
                    })
                    .or_else(|| members.first().copied())
                }
            }
            PoolState::LeastLatency => {
                if n == 1 {
                    return Some(members[0]);
                }
                let i = below(rng, n);
                let mut j = below(rng, n - 1);
                if j >= i {
                    j += 1;
                }
                let (first, second) = (members[i], members[j]);
                let cost = |b: usize| backends.get(b).map_or((f64::MAX, u32::MAX), latency_cost);
                let (c1, c2) = (cost(first), cost(second));
                let second_better = match c2.0.total_cmp(&c1.0) {
                    Ordering::Less => true,
                    Ordering::Equal => c2.1 < c1.1,
                    Ordering::Greater => false,
                };
                Some(if second_better { second } else { first })
            }
            PoolState::Ring {
                bounded_load, ring, ..
            } => ring_lookup(
                ring,
                key,
                *bounded_load,
                self.total_outstanding,
                n,
                backends,
            ),
            PoolState::Maglev { table, .. } => {
                if table.is_empty() {
                    return None;
                }
                let b = table[(key_hash(key) % table.len() as u64) as usize];
                (b != EMPTY).then_some(b)
            }
            PoolState::KeyHash { sorted, .. } => {
                if sorted.is_empty() {
                    return None;
                }
                sorted
                    .get((key_hash(key) % sorted.len() as u64) as usize)
                    .copied()
            }
        }
    }
}

/// The scheduling weight of a backend: base weight × slow-start factor when
/// `weighted`, the factor alone otherwise (plain round robin).
fn sched_weight(weighted: bool, b: &Backend) -> f64 {
    if weighted {
        b.weight() * b.factor
    } else {
        b.factor
    }
}

/// Finagle's cost for an unobserved backend that already has requests in
/// flight: worse than any observed one, so a new backend is tried once, not
/// flooded while its first answers are outstanding.
const UNOBSERVED_BUSY_PENALTY: f64 = f64::MAX / 2.0;

/// Peak-EWMA cost `ewma × (outstanding + 1)` (Finagle `PeakEwma`), with the
/// load as a tie-breaker.
fn latency_cost(b: &Backend) -> (f64, u32) {
    let cost = if b.ewma == 0.0 && b.outstanding > 0 {
        UNOBSERVED_BUSY_PENALTY
    } else {
        b.ewma * (f64::from(b.outstanding) + 1.0)
    };
    (cost, b.outstanding)
}

/// Folds one response time into `b`'s peak EWMA: a response slower than the
/// estimate replaces it at once (the "peak"); a faster one is averaged in with
/// weight `1 − exp(−Δt / decay)`, Δt the time since the last update.
/// `exp` is the pure-Rust `libm` one, so runs are bit-identical on every
/// target.
fn observe_latency(b: &mut Backend, response_time: SimDuration, now: SimTime, decay: SimDuration) {
    let rtt = response_time.as_nanos() as f64;
    if rtt > b.ewma {
        b.ewma = rtt;
    } else {
        let dt = now.saturating_since(b.stamp).as_nanos() as f64;
        let w = if decay.is_zero() {
            0.0
        } else {
            libm::exp(-dt / decay.as_nanos() as f64)
        };
        b.ewma = b.ewma * w + rtt * (1.0 - w);
    }
    if now > b.stamp {
        b.stamp = now;
    }
}

/// Builds a ring: each member gets `max(1, round(ring_size × weight / W))`
/// virtual nodes, `W` the registered weight, at points that depend only on
/// (backend, replica); sorted by (point, backend).
fn build_ring(ring: &mut Vec<(u64, usize)>, members: &[usize], ctx: &Ctx<'_>, ring_size: u32) {
    ring.clear();
    let total = ctx.registered_weight.max(1) as f64;
    for &m in members {
        let Some(b) = ctx.backends.get(m) else {
            continue;
        };
        let replicas = ((f64::from(ring_size) * b.weight() / total).round() as u64).max(1);
        ring.extend((0..replicas).map(|r| (ring_point(m, r), m)));
    }
    ring.sort_unstable();
}

/// The next node clockwise from the key's hash; with a bounded load `c`,
/// the first one clockwise whose backend has fewer than
/// `ceil(c × (total + 1) / members)` requests in flight (Mirrokni, Thorup and
/// Zadimoghaddam, "Consistent Hashing with Bounded Loads"; Envoy's
/// `hash_balance_factor`). With `c ≥ 1` some backend is always under the
/// cap; should none be, the first node is used.
fn ring_lookup(
    ring: &[(u64, usize)],
    key: u64,
    bounded_load: Option<f64>,
    total_outstanding: u64,
    members: usize,
    backends: &[Backend],
) -> Option<usize> {
    if ring.is_empty() {
        return None;
    }
    let h = key_hash(key);
    let start = ring.partition_point(|&(p, _)| p < h) % ring.len();
    let first = ring[start].1;
    let Some(c) = bounded_load else {
        return Some(first);
    };
    let cap = (c * (total_outstanding as f64 + 1.0) / members.max(1) as f64).ceil();
    for step in 0..ring.len() {
        let b = ring[(start + step) % ring.len()].1;
        let load = backends.get(b).map_or(0, |x| x.outstanding);
        if f64::from(load) < cap {
            return Some(b);
        }
    }
    Some(first)
}

/// Builds a Maglev lookup table of prime `size` (Eisenbud et al., "Maglev",
/// NSDI 2016, with Envoy's weighting): each backend walks its own permutation
/// `offset + k × skip (mod size)` (offset and skip from two hashes of its
/// index) and claims its next free entry in turn; a backend takes a turn in
/// iteration `i` only while `i × weight ≥ target`, its target rising by the
/// largest weight per claimed entry, so entries are ∝ weight. Integer
/// arithmetic throughout (Envoy's doubles, scaled by the total weight), so
/// ties are exact.
fn build_maglev(table: &mut Vec<usize>, members: &[usize], ctx: &Ctx<'_>, size: u64) {
    struct Fill {
        id: usize,
        pos: u64,
        skip: u64,
        weight: u128,
        target: u128,
    }
    table.clear();
    if members.is_empty() || size < 2 {
        return;
    }
    table.resize(size as usize, EMPTY);
    let mut ids = members.to_vec();
    ids.sort_unstable();
    let mut fills: Vec<Fill> = ids
        .iter()
        .map(|&id| Fill {
            id,
            pos: splitmix64(id as u64 ^ MAGLEV_OFFSET_SALT) % size,
            skip: splitmix64(id as u64 ^ MAGLEV_SKIP_SALT) % (size - 1) + 1,
            weight: u128::from(ctx.backends.get(id).map_or(1, |b| b.info.weight.max(1))),
            target: 0,
        })
        .collect();
    let max_weight = fills.iter().map(|f| f.weight).max().unwrap_or(1);
    let mut filled = 0u64;
    let mut iteration: u128 = 0;
    // Each iteration fills at least one entry (the heaviest backend's), and
    // with a prime size every permutation reaches every free entry.
    while filled < size {
        for f in fills.iter_mut() {
            if filled == size {
                break;
            }
            if iteration * f.weight < f.target {
                continue;
            }
            f.target += max_weight;
            while table[f.pos as usize] != EMPTY {
                f.pos = (f.pos + f.skip) % size;
            }
            table[f.pos as usize] = f.id;
            f.pos = (f.pos + f.skip) % size;
            filled += 1;
        }
        iteration += 1;
    }
}

/// Requests in flight and workers of a zone's eligible backends.
#[derive(Clone, Copy, Debug, Default)]
struct ZoneLoad {
    outstanding: u64,
    capacity: u64,
}

impl ZoneLoad {
    /// In flight / capacity above `spill` (a zone with no capacity is
    /// overloaded as soon as anything is in flight).
    fn overloaded(&self, spill: f64) -> bool {
        self.outstanding as f64 > spill * self.capacity as f64
    }
}

/// Whether an algorithm maps keys to backends (and so ignores zones).
fn hash_based(algorithm: Algorithm) -> bool {
    matches!(
        algorithm,
        Algorithm::RingHash { .. } | Algorithm::Maglev { .. } | Algorithm::KeyHash
    )
}

/// A regional load balancer: chooses a backend for each request.
///
/// Backends are registered once ([`Balancer::add_backend`]) and get dense
/// indices; the model then reports eligibility, requests dispatched and
/// completed, and slow-start factors, and asks for a backend with
/// [`Balancer::pick`]. What each [`Algorithm`] does, and which real system it
/// follows:
///
/// - `RoundRobin`: cyclic over the eligible backends, O(1) (Envoy
///   `ROUND_ROBIN`, ALB `round_robin`); base weights are ignored. While
///   slow-start factors differ, Envoy's earliest-deadline-first (EDF)
///   schedule with weight = factor, O(log n).
/// - `WeightedRoundRobin`: frequency ∝ weight × factor, by Envoy's EDF
///   schedule (the counts match nginx's smooth weighted round robin, e.g. 5:1:1
///   gives 5, 1 and 1 picks in every 7; the interleaving may differ); cyclic
///   while all weights are equal.
/// - `Random`: uniform over eligible backends, O(1) (Envoy `RANDOM`).
///   Unweighted; ignores slow start.
/// - `LeastOutstanding`: fewest requests in flight, ties uniformly at random
///   (ALB `least_outstanding_requests`, Envoy least request `FULL_SCAN`),
///   O(1) per pick, dispatch and completion by load buckets. Unweighted;
///   ignores slow start (ALB forbids combining them).
/// - `PowerOfChoices { choices }`: Envoy least request: `choices` uniform
///   draws (at least 1) with replacement, keep the first unless a later one
///   has strictly fewer in flight. While weight × factor differs between backends, Envoy's
///   EDF with dynamic weight `weight × factor / (active + 1)` (active request
///   bias 1.0), evaluated when a backend is (re)scheduled.
/// - `LeastLatency { decay }`: power of two choices (two distinct uniform
///   draws) on Finagle/Linkerd peak EWMA cost `ewma × (outstanding + 1)`;
///   ties go to fewer in flight, then to the first draw. Unobserved backends
///   have EWMA 0 and so get tried; while such a backend has a request in
///   flight it costs more than any observed one (Finagle's penalty). The
///   estimate decays only when a response arrives (a pick has no clock).
/// - `RingHash { ring_size, bounded_load }`: consistent hashing (Envoy
///   `RING_HASH`), each backend with `max(1, round(ring_size × weight / W))`
///   virtual nodes, `W` the total weight of registered backends (so only the
///   keys of a backend that becomes ineligible move); optional bounded load.
/// - `Maglev { table_size }`: Maglev lookup table ∝ weight (Envoy `MAGLEV`);
///   a size that is not prime is raised to the next prime. O(1) pick.
/// - `KeyHash`: `hash(key) mod n` over the eligible backends in index order
///   (nginx `hash` without `consistent`, without its re-hash retries).
///
/// Hash-based algorithms ignore slow start and zone awareness.
///
/// Zone awareness (when configured and the client's zone is known): the pick
/// is made among the eligible backends of the client's zone, unless it has
/// none or its in-flight requests exceed `spill_utilization` × its workers;
/// then among the whole region's. Fail-open: with no eligible backend, the
/// pick is made among all registered backends by the same algorithm (ALB
/// fail-open, Envoy panic mode), without zone preference.
#[derive(Clone, Debug)]
pub struct Balancer {
    algorithm: Algorithm,
    zone_aware: Option<ZoneAwareConfig>,
    fail_open: bool,
    backends: Vec<Backend>,
    /// Every eligible backend.
    region: Pool,
    /// Every registered backend (only with fail-open).
    all: Option<Pool>,
    /// Eligible backends per zone (only when zone aware and not hash based).
    zone_pools: Vec<Pool>,
    /// Load and capacity of each zone's eligible backends.
    zone_load: Vec<ZoneLoad>,
    /// Sum of the base weights (at least 1 each) of registered backends.
    registered_weight: u64,
    /// Number of eligible registered backends.
    eligible: usize,
}

impl Balancer {
    /// A balancer with no backends.
    ///
    /// `zones`: number of zones in the region. `zone_aware` is ignored by
    /// the hash-based algorithms. `fail_open`: with no eligible backend,
    /// pick among all registered ones.
    pub fn new(
        algorithm: Algorithm,
        zone_aware: Option<ZoneAwareConfig>,
        fail_open: bool,
        zones: usize,
    ) -> Self {
        let zone_pools = if zone_aware.is_some() && !hash_based(algorithm) {
            (0..zones).map(|_| Pool::new(algorithm)).collect()
        } else {
            Vec::new()
        };
        Balancer {
            algorithm,
            zone_aware,
            fail_open,
            backends: Vec::new(),
            region: Pool::new(algorithm),
            all: fail_open.then(|| Pool::new(algorithm)),
            zone_pools,
            zone_load: vec![ZoneLoad::default(); zones],
            registered_weight: 0,
            eligible: 0,
        }
    }

    /// Registers a backend, initially NOT eligible; returns its dense index
    /// (0, 1, 2, … never reused).
    pub fn add_backend(&mut self, info: BackendInfo) -> usize {
        let id = self.backends.len();
        self.backends.push(Backend {
            info,
            eligible: false,
            registered: true,
            factor: 1.0,
            outstanding: 0,
            ewma: 0.0,
            stamp: SimTime::ZERO,
        });
        self.registered_weight += u64::from(info.weight.max(1));
        let ctx = Ctx {
            backends: &self.backends,
            registered_weight: self.registered_weight,
        };
        if let Some(all) = self.all.as_mut() {
            all.insert(id, &ctx);
        }
        self.registration_changed();
        id
    }

    /// Ring sizes scale with the registered weight: rebuild rings.
    fn registration_changed(&mut self) {
        let pools = std::iter::once(&mut self.region)
            .chain(self.all.as_mut())
            .chain(self.zone_pools.iter_mut());
        for pool in pools {
            if matches!(pool.state, PoolState::Ring { .. }) {
                pool.mark_dirty();
            }
        }
    }

    /// Calls `f` on every pool that holds `backend`.
    fn for_pools_of(&mut self, backend: usize, mut f: impl FnMut(&mut Pool, &Ctx<'_>)) {
        let Some(b) = self.backends.get(backend) else {
            return;
        };
        let ctx = Ctx {
            backends: &self.backends,
            registered_weight: self.registered_weight,
        };
        if b.registered && b.eligible {
            f(&mut self.region, &ctx);
            if let Some(pool) = self.zone_pools.get_mut(b.info.zone) {
                f(pool, &ctx);
            }
        }
        if b.registered
            && let Some(pool) = self.all.as_mut()
        {
            f(pool, &ctx);
        }
    }

    /// Sets whether a backend may be picked. Eligible = healthy, not ejected,
    /// not draining. Idempotent; ignored for an unknown or deregistered
    /// backend.
    pub fn set_eligible(&mut self, backend: usize, eligible: bool) {
        let Some(b) = self.backends.get(backend) else {
            return;
        };
        if !b.registered || b.eligible == eligible {
            return;
        }
        let (zone, outstanding, capacity) = (
            b.info.zone,
            u64::from(b.outstanding),
            u64::from(b.info.capacity),
        );
        if eligible {
            self.backends[backend].eligible = true;
            self.eligible += 1;
            if let Some(z) = self.zone_load.get_mut(zone) {
                z.outstanding += outstanding;
                z.capacity += capacity;
            }
            self.for_pools_of(backend, |pool, ctx| {
                // The fail-open pool holds it already (insert is idempotent).
                pool.insert(backend, ctx);
            });
        } else {
            let ctx = Ctx {
                backends: &self.backends,
                registered_weight: self.registered_weight,
            };
            self.region.remove(backend, &ctx);
            if let Some(pool) = self.zone_pools.get_mut(zone) {
                pool.remove(backend, &ctx);
            }
            self.backends[backend].eligible = false;
            self.eligible -= 1;
            if let Some(z) = self.zone_load.get_mut(zone) {
                z.outstanding = z.outstanding.saturating_sub(outstanding);
                z.capacity = z.capacity.saturating_sub(capacity);
            }
        }
    }

    /// Permanently removes a backend (after draining): never picked again,
    /// not even fail-open. Its requests still in flight may complete.
    pub fn deregister(&mut self, backend: usize) {
        if !self.is_registered(backend) {
            return;
        }
        self.set_eligible(backend, false);
        let ctx = Ctx {
            backends: &self.backends,
            registered_weight: self.registered_weight,
        };
        if let Some(all) = self.all.as_mut() {
            all.remove(backend, &ctx);
        }
        let b = &mut self.backends[backend];
        b.registered = false;
        self.registered_weight = self
            .registered_weight
            .saturating_sub(u64::from(b.info.weight.max(1)));
        self.registration_changed();
    }

    /// Sets a backend's slow-start weight factor in (0, 1] (1 = full weight;
    /// values outside are clamped, NaN counts as 1). Only `RoundRobin`,
    /// `WeightedRoundRobin` and `PowerOfChoices` honour it (Envoy applies
    /// slow start to round robin and least request only).
    pub fn set_weight_factor(&mut self, backend: usize, factor: f64) {
        let factor = if factor.is_nan() {
            1.0
        } else {
            factor.clamp(MIN_WEIGHT_FACTOR, 1.0)
        };
        let Some(b) = self.backends.get_mut(backend) else {
            return;
        };
        if b.factor == factor {
            return;
        }
        let old = b.clone();
        b.factor = factor;
        self.for_pools_of(backend, |pool, ctx| pool.reweight(backend, &old, ctx));
    }

    /// Chooses a backend for a request with hash key `key` from a client in
    /// zone `client_zone` (`None`: the client is in another region, no zone
    /// preference). `None` only when no backend is eligible and (fail-open is
    /// off or no backend is registered).
    pub fn pick<R: Rng + ?Sized>(
        &mut self,
        key: u64,
        client_zone: Option<usize>,
        rng: &mut R,
    ) -> Option<usize> {
        let ctx = Ctx {
            backends: &self.backends,
            registered_weight: self.registered_weight,
        };
        if let (Some(zone_aware), Some(z)) = (self.zone_aware, client_zone)
            && let Some(pool) = self.zone_pools.get_mut(z)
            && pool.len() > 0
            && !self.zone_load[z].overloaded(zone_aware.spill_utilization)
        {
            return pool.pick(key, &ctx, rng);
        }
        if self.region.len() > 0 {
            return self.region.pick(key, &ctx, rng);
        }
        if self.fail_open
            && let Some(all) = self.all.as_mut()
        {
            return all.pick(key, &ctx, rng);
        }
        None
    }

    /// A request was sent to `backend` (in flight +1).
    pub fn on_dispatch(&mut self, backend: usize) {
        let Some(b) = self.backends.get_mut(backend) else {
            return;
        };
        let old = b.outstanding;
        let Some(new) = old.checked_add(1) else {
            return;
        };
        b.outstanding = new;
        if b.registered
            && b.eligible
            && let Some(z) = self.zone_load.get_mut(b.info.zone)
        {
            z.outstanding += 1;
        }
        self.for_pools_of(backend, |pool, _| pool.load_changed(backend, old, new));
    }

    /// A request on `backend` finished after `response_time` (in flight −1;
    /// updates the latency EWMA at time `now` when the algorithm is
    /// `LeastLatency`). A completion with nothing in flight only updates the
    /// EWMA.
    pub fn on_complete(&mut self, backend: usize, response_time: SimDuration, now: SimTime) {
        let Some(b) = self.backends.get_mut(backend) else {
            return;
        };
        if let Algorithm::LeastLatency { decay } = self.algorithm {
            observe_latency(b, response_time, now, decay);
        }
        let old = b.outstanding;
        if old == 0 {
            return;
        }
        let new = old - 1;
        b.outstanding = new;
        if b.registered
            && b.eligible
            && let Some(z) = self.zone_load.get_mut(b.info.zone)
        {
            z.outstanding = z.outstanding.saturating_sub(1);
        }
        self.for_pools_of(backend, |pool, _| pool.load_changed(backend, old, new));
    }

    /// Requests in flight on `backend` (0 for an unknown index).
    pub fn outstanding(&self, backend: usize) -> u32 {
        self.backends.get(backend).map_or(0, |b| b.outstanding)
    }

    /// Number of eligible (and registered) backends.
    pub fn eligible_count(&self) -> usize {
        self.eligible
    }

    /// Whether `backend` is eligible (false for an unknown or deregistered
    /// one).
    pub fn is_eligible(&self, backend: usize) -> bool {
        self.backends
            .get(backend)
            .is_some_and(|b| b.registered && b.eligible)
    }

    /// Whether `backend` is registered and not deregistered.
    pub fn is_registered(&self, backend: usize) -> bool {
        self.backends.get(backend).is_some_and(|b| b.registered)
    }

    /// Number of backends ever registered (the next index to be assigned).
    pub fn backend_count(&self) -> usize {
        self.backends.len()
    }

    /// The algorithm this balancer runs.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use sim_core::{RngStreams, StreamKey, StreamRng};

    use super::*;

    fn rng(seed: u64) -> StreamRng {
        RngStreams::new(seed).stream(StreamKey::named("balancer-test"))
    }

    fn info(zone: usize, weight: u32) -> BackendInfo {
        BackendInfo {
            zone,
            weight,
            capacity: 4,
        }
    }

    /// A balancer with one eligible backend per weight, all in zone 0.
    fn balancer(algorithm: Algorithm, weights: &[u32]) -> Balancer {
        let mut lb = Balancer::new(algorithm, None, true, 1);
        for &w in weights {
            let id = lb.add_backend(info(0, w));
            lb.set_eligible(id, true);
        }
        lb
    }

    fn counts(lb: &mut Balancer, picks: usize, seed: u64) -> Vec<usize> {
        let mut rng = rng(seed);
        let mut counts = vec![0; lb.backend_count()];
        for key in 0..picks as u64 {
            let b = lb.pick(key, None, &mut rng).expect("a backend");
            counts[b] += 1;
        }
        counts
    }

    fn all_algorithms() -> Vec<Algorithm> {
        vec![
            Algorithm::RoundRobin,
            Algorithm::WeightedRoundRobin,
            Algorithm::Random,
            Algorithm::LeastOutstanding,
            Algorithm::PowerOfChoices { choices: 2 },
            Algorithm::LeastLatency {
                decay: SimDuration::from_secs(10),
            },
            Algorithm::RingHash {
                ring_size: 1024,
                bounded_load: None,
            },
            Algorithm::RingHash {
                ring_size: 1024,
                bounded_load: Some(1.25),
            },
            Algorithm::Maglev { table_size: 251 },
            Algorithm::KeyHash,
        ]
    }

    /// Recomputes every pool's bookkeeping from scratch and compares.
    fn check_invariants(lb: &Balancer) {
        let expect_region: Vec<usize> = (0..lb.backend_count())
            .filter(|&b| lb.is_eligible(b))
            .collect();
        let expect_all: Vec<usize> = (0..lb.backend_count())
            .filter(|&b| lb.is_registered(b))
            .collect();
        let check = |pool: &Pool, expect: &[usize]| {
            let mut members = pool.members.clone();
            members.sort_unstable();
            assert_eq!(members, expect);
            let total: u64 = expect.iter().map(|&b| u64::from(lb.outstanding(b))).sum();
            assert_eq!(pool.total_outstanding, total);
            if let PoolState::LeastOutstanding(buckets) = &pool.state {
                assert_eq!(buckets.count, expect.len());
                for &b in expect {
                    let k = lb.outstanding(b) as usize;
                    assert_eq!(buckets.buckets[k][buckets.pos[b] as usize], b);
                }
                if let Some(min) = expect.iter().map(|&b| lb.outstanding(b)).min() {
                    assert_eq!(buckets.min, min as usize);
                }
            }
            let classes: u32 = pool.classes.values().sum();
            if pool.sched_weight(&lb.backends[0]).is_some() {
                assert_eq!(classes as usize, expect.len());
            }
        };
        check(&lb.region, &expect_region);
        if let Some(all) = &lb.all {
            check(all, &expect_all);
        }
        for (z, pool) in lb.zone_pools.iter().enumerate() {
            let expect: Vec<usize> = expect_region
                .iter()
                .copied()
                .filter(|&b| lb.backends[b].info.zone == z)
                .collect();
            check(pool, &expect);
        }
        assert_eq!(lb.eligible_count(), expect_region.len());
    }

    #[test]
    fn round_robin_is_cyclic() {
        let mut lb = balancer(Algorithm::RoundRobin, &[1, 7, 1, 3]);
        let mut rng = rng(1);
        let picks: Vec<usize> = (0..12)
            .map(|k| lb.pick(k, None, &mut rng).unwrap())
            .collect();
        // Base weights are ignored by plain round robin.
        assert_eq!(picks, [0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3]);
        lb.set_eligible(1, false);
        let picks: Vec<usize> = (0..30)
            .map(|k| lb.pick(k, None, &mut rng).unwrap())
            .collect();
        for window in picks.chunks(3).skip(1) {
            let mut w = window.to_vec();
            w.sort_unstable();
            assert_eq!(w, [0, 2, 3]);
        }
    }

    #[test]
    fn weighted_round_robin_follows_weights_5_1_1() {
        let mut lb = balancer(Algorithm::WeightedRoundRobin, &[5, 1, 1]);
        let counts = counts(&mut lb, 7000, 2);
        for (c, expect) in counts.iter().zip([5000usize, 1000, 1000]) {
            assert!(c.abs_diff(expect) <= 2, "{counts:?}");
        }
        // Every window of 7 holds 5, 1 and 1 (as nginx's smooth WRR does).
        let mut rng = rng(3);
        let picks: Vec<usize> = (0..700)
            .map(|k| lb.pick(k, None, &mut rng).unwrap())
            .collect();
        let a = picks
            .chunks(7)
            .filter(|w| w.iter().filter(|&&b| b == 0).count() == 5);
        assert!(a.count() >= 99);
    }

    #[test]
    fn weighted_round_robin_with_equal_weights_is_cyclic() {
        let mut lb = balancer(Algorithm::WeightedRoundRobin, &[3, 3, 3]);
        let mut rng = rng(4);
        let picks: Vec<usize> = (0..6)
            .map(|k| lb.pick(k, None, &mut rng).unwrap())
            .collect();
        assert_eq!(picks, [0, 1, 2, 0, 1, 2]);
    }

    #[test]
    fn random_is_uniform() {
        let mut lb = balancer(Algorithm::Random, &[1, 9, 1, 1, 1]);
        let counts = counts(&mut lb, 100_000, 5);
        // Binomial sd ≈ 126; allow about 5 of them.
        for &c in &counts {
            assert!(c.abs_diff(20_000) < 650, "{counts:?}");
        }
    }

    #[test]
    fn least_outstanding_always_picks_a_minimum() {
        let mut lb = balancer(Algorithm::LeastOutstanding, &[1; 20]);
        let mut rng = rng(6);
        let mut in_flight: Vec<usize> = Vec::new();
        for step in 0..20_000u64 {
            let b = lb.pick(step, None, &mut rng).unwrap();
            let min = (0..20).map(|x| lb.outstanding(x)).min().unwrap();
            assert_eq!(lb.outstanding(b), min);
            lb.on_dispatch(b);
            in_flight.push(b);
            // Complete a random one about as often as we dispatch.
            while in_flight.len() > 30 || (below(&mut rng, 2) == 0 && !in_flight.is_empty()) {
                let i = below(&mut rng, in_flight.len());
                let done = in_flight.swap_remove(i);
                lb.on_complete(done, SimDuration::from_millis(5), SimTime::ZERO);
            }
            if step % 1000 == 0 {
                check_invariants(&lb);
            }
        }
    }

    #[test]
    fn least_outstanding_breaks_ties_uniformly() {
        let mut lb = balancer(Algorithm::LeastOutstanding, &[1; 4]);
        let counts = counts(&mut lb, 40_000, 7);
        for &c in &counts {
            assert!(c.abs_diff(10_000) < 500, "{counts:?}");
        }
    }

    /// 1,000 backends × 100,000 picks. Least outstanding is O(1) per pick,
    /// dispatch and completion by design (load buckets with a tracked
    /// minimum), so this is fast; nothing about time is asserted.
    #[test]
    fn least_outstanding_scales_to_a_thousand_backends() {
        let n = 1000;
        let mut lb = balancer(Algorithm::LeastOutstanding, &vec![1; n]);
        let mut rng = rng(8);
        let mut in_flight = VecDeque::new();
        for step in 0..100_000u64 {
            let b = lb.pick(step, None, &mut rng).unwrap();
            if step % 10_000 == 0 {
                let min = (0..n).map(|x| lb.outstanding(x)).min().unwrap();
                assert_eq!(lb.outstanding(b), min);
            }
            lb.on_dispatch(b);
            in_flight.push_back(b);
            if in_flight.len() > 3_500 {
                let done = in_flight.pop_front().unwrap();
                lb.on_complete(done, SimDuration::from_millis(5), SimTime::ZERO);
            }
        }
        let total: u64 = (0..n).map(|b| u64::from(lb.outstanding(b))).sum();
        assert_eq!(total, in_flight.len() as u64);
        // Least outstanding keeps the spread at most one.
        let max = (0..n).map(|b| lb.outstanding(b)).max().unwrap();
        let min = (0..n).map(|b| lb.outstanding(b)).min().unwrap();
        assert!(max - min <= 1, "{min}..{max}");
        check_invariants(&lb);
    }

    #[test]
    fn power_of_choices_avoids_the_unique_most_loaded() {
        let mut lb = balancer(Algorithm::PowerOfChoices { choices: 2 }, &[1; 5]);
        for (b, load) in [(0, 1), (1, 2), (2, 3), (3, 1), (4, 10)] {
            for _ in 0..load {
                lb.on_dispatch(b);
            }
        }
        let counts = counts(&mut lb, 50_000, 9);
        // The most loaded is kept only when both draws hit it: 1/25.
        assert!(counts[4].abs_diff(2_000) < 250, "{counts:?}");
        // Backend 2 (load 3) wins only against itself or backend 4:
        // P = 1/25 + 2/25 = 3/25 → 6000.
        assert!(counts[2].abs_diff(6_000) < 400, "{counts:?}");
    }

    #[test]
    fn power_of_choices_never_picks_most_loaded_with_two_backends_when_draws_differ() {
        // With 2 backends the loaded one is picked only if both draws hit it
        // (1/4); with ties the first draw is kept (uniform).
        let mut lb = balancer(Algorithm::PowerOfChoices { choices: 2 }, &[1, 1]);
        lb.on_dispatch(1);
        let counts = counts(&mut lb, 40_000, 10);
        assert!(counts[1].abs_diff(10_000) < 500, "{counts:?}");
        lb.on_dispatch(0);
        let counts = self::counts(&mut lb, 40_000, 11);
        assert!(counts[1].abs_diff(20_000) < 600, "{counts:?}");
    }

    #[test]
    fn power_of_choices_with_slow_start_uses_dynamic_weights() {
        let mut lb = balancer(Algorithm::PowerOfChoices { choices: 2 }, &[1; 4]);
        lb.set_weight_factor(3, 0.1);
        let counts = counts(&mut lb, 31_000, 12);
        // EDF on weights 1, 1, 1, 0.1 (nothing in flight).
        assert!(counts[3].abs_diff(1_000) <= 5, "{counts:?}");
        // Dynamic weight: a backend with 4 in flight gets a fifth of the rate
        // it would otherwise.
        lb.set_weight_factor(3, 1.0);
        lb.set_weight_factor(2, 0.999_999);
        for _ in 0..4 {
            lb.on_dispatch(0);
        }
        let counts = self::counts(&mut lb, 16_000, 13);
        assert!(counts[0] < counts[1] / 3, "{counts:?}");
        check_invariants(&lb);
    }

    #[test]
    fn least_latency_prefers_fast_backends_and_tries_new_ones() {
        let decay = SimDuration::from_secs(10);
        let mut lb = balancer(Algorithm::LeastLatency { decay }, &[1; 3]);
        let t = SimTime::from_secs(1);
        for (b, ms) in [(0, 10), (1, 50), (2, 100)] {
            lb.on_dispatch(b);
            lb.on_complete(b, SimDuration::from_millis(ms), t);
        }
        let counts = counts(&mut lb, 30_000, 14);
        // Two distinct draws out of three: the slowest never wins, the
        // fastest wins whenever drawn (2/3).
        assert_eq!(counts[2], 0, "{counts:?}");
        assert!(counts[0].abs_diff(20_000) < 500, "{counts:?}");
        // A new, unobserved backend (EWMA 0) wins whenever drawn...
        let new = lb.add_backend(info(0, 1));
        lb.set_eligible(new, true);
        let counts = self::counts(&mut lb, 12_000, 15);
        assert!(counts[new].abs_diff(6_000) < 400, "{counts:?}");
        // ... but not while its first request is still in flight.
        lb.on_dispatch(new);
        let counts = self::counts(&mut lb, 12_000, 16);
        assert_eq!(counts[new], 0, "{counts:?}");
        // With load, cost is EWMA × (in flight + 1): 10 ms × 6 > 50 ms × 1.
        for _ in 0..5 {
            lb.on_dispatch(0);
        }
        lb.set_eligible(new, false);
        let counts = self::counts(&mut lb, 12_000, 17);
        assert!(counts[1] > counts[0], "{counts:?}");
    }

    #[test]
    fn peak_ewma_update() {
        let decay = SimDuration::from_secs(10);
        let mut lb = balancer(Algorithm::LeastLatency { decay }, &[1]);
        let ms = |x: f64| x * 1e6;
        lb.on_dispatch(0);
        lb.on_complete(0, SimDuration::from_millis(100), SimTime::ZERO);
        assert_eq!(lb.backends[0].ewma, ms(100.0));
        // Faster: averaged in with weight 1 − e^(−Δt/decay).
        lb.on_complete(0, SimDuration::from_millis(50), SimTime::from_secs(10));
        let w = libm::exp(-1.0);
        let expect = ms(100.0) * w + ms(50.0) * (1.0 - w);
        assert!((lb.backends[0].ewma - expect).abs() < 1.0);
        // Slower: the peak is taken at once.
        lb.on_complete(0, SimDuration::from_millis(200), SimTime::from_secs(11));
        assert_eq!(lb.backends[0].ewma, ms(200.0));
        // No time elapsed: no change from a faster sample.
        lb.on_complete(0, SimDuration::from_millis(1), SimTime::from_secs(11));
        assert_eq!(lb.backends[0].ewma, ms(200.0));
    }

    fn key_map(lb: &mut Balancer, keys: u64) -> Vec<usize> {
        let mut rng = rng(0);
        (0..keys)
            .map(|k| lb.pick(k, None, &mut rng).unwrap())
            .collect()
    }

    #[test]
    fn ring_hash_moves_about_one_nth_of_keys() {
        let algorithm = Algorithm::RingHash {
            ring_size: 1024,
            bounded_load: None,
        };
        let mut lb = balancer(algorithm, &[1; 10]);
        let before = key_map(&mut lb, 20_000);
        lb.set_eligible(3, false);
        let after = key_map(&mut lb, 20_000);
        let moved = before.iter().zip(&after).filter(|(a, b)| a != b).count();
        // Only backend 3's keys move, and they are about 1/10.
        for (a, b) in before.iter().zip(&after) {
            assert!(a == b || *a == 3);
            assert_ne!(*b, 3);
        }
        let share = moved as f64 / 20_000.0;
        assert!((0.06..0.14).contains(&share), "{share}");
        // Back again: the same mapping as before.
        lb.set_eligible(3, true);
        assert_eq!(key_map(&mut lb, 20_000), before);
    }

    #[test]
    fn ring_hash_follows_weights() {
        let algorithm = Algorithm::RingHash {
            ring_size: 1024,
            bounded_load: None,
        };
        let mut lb = balancer(algorithm, &[1, 3]);
        let counts = counts(&mut lb, 40_000, 0);
        let share = counts[1] as f64 / 40_000.0;
        assert!((0.70..0.80).contains(&share), "{counts:?}");
    }

    #[test]
    fn bounded_load_caps_in_flight() {
        let bounded = Algorithm::RingHash {
            ring_size: 1024,
            bounded_load: Some(1.25),
        };
        let mut lb = balancer(bounded, &[1; 4]);
        let mut rng = rng(18);
        for i in 0..100u64 {
            // Always the same key: without a bound it would all go to one.
            let b = lb.pick(42, None, &mut rng).unwrap();
            let cap = (1.25 * (i as f64 + 1.0) / 4.0).ceil() as u32;
            assert!(lb.outstanding(b) < cap);
            lb.on_dispatch(b);
        }
        let max = (0..4).map(|b| lb.outstanding(b)).max().unwrap();
        assert!(max <= 32, "{max}");
        let unbounded = Algorithm::RingHash {
            ring_size: 1024,
            bounded_load: None,
        };
        let mut lb = balancer(unbounded, &[1; 4]);
        for _ in 0..100 {
            let b = lb.pick(42, None, &mut rng).unwrap();
            lb.on_dispatch(b);
        }
        let max = (0..4).map(|b| lb.outstanding(b)).max().unwrap();
        assert_eq!(max, 100);
    }

    #[test]
    fn maglev_table_is_proportional_to_weight() {
        let mut lb = balancer(Algorithm::Maglev { table_size: 65537 }, &[1, 2]);
        let mut rng = rng(0);
        lb.pick(0, None, &mut rng).unwrap();
        let PoolState::Maglev { table, .. } = &lb.region.state else {
            panic!("not maglev");
        };
        let ones = table.iter().filter(|&&b| b == 0).count();
        let twos = table.iter().filter(|&&b| b == 1).count();
        assert_eq!((ones, twos), (21_846, 43_691));
    }

    #[test]
    fn maglev_spreads_evenly_and_moves_few_keys() {
        let mut lb = balancer(Algorithm::Maglev { table_size: 65537 }, &[1; 10]);
        let before = key_map(&mut lb, 20_000);
        let mut counts = [0usize; 10];
        for &b in &before {
            counts[b] += 1;
        }
        for &c in &counts {
            assert!(c.abs_diff(2_000) < 250, "{counts:?}");
        }
        lb.set_eligible(3, false);
        let after = key_map(&mut lb, 20_000);
        let moved = before.iter().zip(&after).filter(|(a, b)| a != b).count();
        let share = moved as f64 / 20_000.0;
        // At least backend 3's tenth, at most a little over twice that.
        assert!((0.09..0.25).contains(&share), "{share}");
    }

    #[test]
    fn maglev_table_size_not_prime_is_raised() {
        let mut lb = balancer(Algorithm::Maglev { table_size: 100 }, &[1, 1, 1]);
        let mut rng = rng(0);
        assert!(lb.pick(1, None, &mut rng).is_some());
        let PoolState::Maglev { table, .. } = &lb.region.state else {
            panic!("not maglev");
        };
        assert_eq!(table.len(), 101);
        assert!(table.iter().all(|&b| b < 3));
    }

    #[test]
    fn key_hash_is_mod_n_over_eligible_in_index_order() {
        let mut lb = balancer(Algorithm::KeyHash, &[1; 5]);
        lb.set_eligible(1, false);
        lb.set_eligible(3, false);
        let mut rng = rng(0);
        for key in 0..1000u64 {
            let expect = [0, 2, 4][(key_hash(key) % 3) as usize];
            assert_eq!(lb.pick(key, None, &mut rng), Some(expect));
        }
    }

    fn zoned(algorithm: Algorithm, spill: f64) -> Balancer {
        let za = ZoneAwareConfig {
            spill_utilization: spill,
        };
        let mut lb = Balancer::new(algorithm, Some(za), true, 2);
        for zone in [0, 0, 1, 1] {
            let id = lb.add_backend(info(zone, 1));
            lb.set_eligible(id, true);
        }
        lb
    }

    #[test]
    fn zone_aware_prefers_local_zone_and_spills_when_overloaded() {
        let mut lb = zoned(Algorithm::LeastOutstanding, 0.5);
        let mut rng = rng(19);
        // Zone 0: 2 backends × 4 workers; spills once in flight > 4.
        let mut picks = Vec::new();
        for key in 0..8 {
            let b = lb.pick(key, Some(0), &mut rng).unwrap();
            lb.on_dispatch(b);
            picks.push(lb.backends[b].info.zone);
        }
        // Five local, then the region's least loaded (zone 1) while zone 0
        // stays over its threshold.
        assert_eq!(picks, [0, 0, 0, 0, 0, 1, 1, 1]);
        // Drain zone 0 back to 4 in flight: local again.
        for b in [0, 1] {
            while lb.outstanding(b) > 2 {
                lb.on_complete(b, SimDuration::from_millis(1), SimTime::ZERO);
            }
        }
        let b = lb.pick(0, Some(1), &mut rng).unwrap();
        assert_eq!(lb.backends[b].info.zone, 1);
        let b = lb.pick(0, Some(0), &mut rng).unwrap();
        assert_eq!(lb.backends[b].info.zone, 0);
        check_invariants(&lb);
    }

    #[test]
    fn zone_aware_uses_region_without_local_backends_or_zone() {
        let mut lb = zoned(Algorithm::RoundRobin, 0.8);
        let mut rng = rng(20);
        for _ in 0..10 {
            let b = lb.pick(0, Some(1), &mut rng).unwrap();
            assert!(b == 2 || b == 3);
        }
        lb.set_eligible(2, false);
        lb.set_eligible(3, false);
        for _ in 0..10 {
            let b = lb.pick(0, Some(1), &mut rng).unwrap();
            assert!(b == 0 || b == 1);
        }
        // A client from another region (or an unknown zone): whole region.
        lb.set_eligible(2, true);
        let picks: Vec<usize> = (0..6)
            .map(|_| lb.pick(0, None, &mut rng).unwrap())
            .collect();
        assert!(picks.contains(&0) && picks.contains(&1) && picks.contains(&2));
        let b = lb.pick(0, Some(7), &mut rng);
        assert!(b.is_some());
        check_invariants(&lb);
    }

    #[test]
    fn hash_algorithms_ignore_zones() {
        let mut plain = balancer(Algorithm::KeyHash, &[1; 4]);
        let mut zoned = zoned(Algorithm::KeyHash, 0.8);
        let mut rng = rng(21);
        for key in 0..200 {
            assert_eq!(
                plain.pick(key, None, &mut rng),
                zoned.pick(key, Some(0), &mut rng)
            );
        }
    }

    #[test]
    fn fail_open_picks_among_registered() {
        for algorithm in all_algorithms() {
            let mut lb = Balancer::new(algorithm, None, true, 1);
            let mut rng = rng(22);
            assert_eq!(lb.pick(0, None, &mut rng), None, "{algorithm:?}");
            for _ in 0..4 {
                lb.add_backend(info(0, 1));
            }
            assert_eq!(lb.eligible_count(), 0);
            lb.deregister(2);
            let mut seen = [false; 4];
            for key in 0..2000 {
                let b = lb.pick(key, Some(0), &mut rng).expect("fail open");
                lb.on_dispatch(b);
                seen[b] = true;
            }
            assert!(!seen[2], "{algorithm:?}");
            assert!(seen.iter().filter(|&&s| s).count() >= 2, "{algorithm:?}");
            check_invariants(&lb);

            let mut closed = Balancer::new(algorithm, None, false, 1);
            for _ in 0..4 {
                closed.add_backend(info(0, 1));
            }
            assert_eq!(closed.pick(0, None, &mut rng), None, "{algorithm:?}");
            closed.set_eligible(1, true);
            assert_eq!(closed.pick(0, None, &mut rng), Some(1), "{algorithm:?}");
        }
    }

    #[test]
    fn deregistered_backends_are_never_picked() {
        for algorithm in all_algorithms() {
            let mut lb = balancer(algorithm, &[1, 2, 1, 3, 1]);
            lb.deregister(1);
            lb.deregister(1);
            lb.set_eligible(1, true);
            lb.set_weight_factor(1, 0.5);
            assert!(!lb.is_eligible(1) && !lb.is_registered(1));
            assert_eq!(lb.eligible_count(), 4);
            let mut rng = rng(23);
            for key in 0..3000 {
                let b = lb.pick(key, None, &mut rng).unwrap();
                assert_ne!(b, 1, "{algorithm:?}");
                lb.on_dispatch(b);
                lb.on_complete(b, SimDuration::from_millis(3), SimTime::from_secs(key));
            }
            for b in 0..5 {
                lb.set_eligible(b, false);
            }
            for key in 0..500 {
                assert_ne!(lb.pick(key, None, &mut rng), Some(1), "{algorithm:?}");
            }
            check_invariants(&lb);
        }
    }

    #[test]
    fn slow_start_factor_lowers_share() {
        let mut rr = balancer(Algorithm::RoundRobin, &[1, 1]);
        rr.set_weight_factor(1, 0.5);
        let counts = counts(&mut rr, 3000, 24);
        assert!(counts[1].abs_diff(1000) <= 2, "{counts:?}");
        // Back to full weight: cyclic again.
        rr.set_weight_factor(1, 1.0);
        let counts = self::counts(&mut rr, 3000, 25);
        assert_eq!(counts, [1500, 1500]);

        let mut wrr = balancer(Algorithm::WeightedRoundRobin, &[2, 2, 2]);
        wrr.set_weight_factor(2, 0.1);
        let counts = self::counts(&mut wrr, 21_000, 26);
        assert!(counts[2].abs_diff(1000) <= 3, "{counts:?}");

        // A ramp in many small steps still gets its share (no starvation).
        let mut ramp = balancer(Algorithm::WeightedRoundRobin, &[1; 10]);
        let mut rng = rng(27);
        let mut got = 0;
        for step in 0..10_000u64 {
            ramp.set_weight_factor(9, 0.1 + 0.9 * step as f64 / 10_000.0);
            if ramp.pick(step, None, &mut rng) == Some(9) {
                got += 1;
            }
        }
        // Expected Σ f/(9+f) ≈ 10,000 × 0.0575 = 575.
        assert!((450..700).contains(&got), "{got}");

        // Algorithms that ignore slow start are unaffected.
        let mut random = balancer(Algorithm::Random, &[1, 1]);
        random.set_weight_factor(1, 0.1);
        let counts = self::counts(&mut random, 20_000, 28);
        assert!(counts[1].abs_diff(10_000) < 500, "{counts:?}");
    }

    #[test]
    fn set_eligible_is_idempotent_and_bad_indices_are_ignored() {
        for algorithm in all_algorithms() {
            let mut lb = balancer(algorithm, &[1, 1]);
            lb.set_eligible(0, true);
            lb.set_eligible(0, true);
            assert_eq!(lb.eligible_count(), 2);
            lb.set_eligible(0, false);
            lb.set_eligible(0, false);
            assert_eq!(lb.eligible_count(), 1);
            lb.set_eligible(99, true);
            lb.deregister(99);
            lb.on_dispatch(99);
            lb.on_complete(99, SimDuration::ZERO, SimTime::ZERO);
            lb.on_complete(1, SimDuration::ZERO, SimTime::ZERO);
            lb.set_weight_factor(99, 0.5);
            lb.set_weight_factor(1, f64::NAN);
            lb.set_weight_factor(1, -3.0);
            lb.set_weight_factor(1, f64::INFINITY);
            assert_eq!(lb.outstanding(99), 0);
            assert!(!lb.is_eligible(99));
            let mut rng = rng(29);
            assert_eq!(lb.pick(5, None, &mut rng), Some(1));
            check_invariants(&lb);
        }
    }

    /// A script of random operations (eligibility flaps, dispatches,
    /// completions, slow-start changes, registrations and deregistrations)
    /// for each algorithm, zone-aware, with and without fail-open: every pick
    /// obeys the eligibility rules, the bookkeeping stays exact, and the same
    /// seed gives the same picks.
    #[test]
    fn random_operations_keep_every_invariant_and_are_deterministic() {
        fn run(algorithm: Algorithm, fail_open: bool, seed: u64) -> Vec<Option<usize>> {
            let za = ZoneAwareConfig {
                spill_utilization: 0.8,
            };
            let mut lb = Balancer::new(algorithm, Some(za), fail_open, 3);
            let mut rng = rng(seed);
            let mut ops = RngStreams::new(seed).stream(StreamKey::named("ops"));
            let mut in_flight: Vec<usize> = Vec::new();
            let mut picks = Vec::new();
            for i in 0..24 {
                let id = lb.add_backend(BackendInfo {
                    zone: i % 4, // zone 3 is out of range: region only
                    weight: 1 + (i as u32 % 3),
                    capacity: 2,
                });
                if i % 5 != 0 {
                    lb.set_eligible(id, true);
                }
            }
            for step in 0..4_000u64 {
                let n = lb.backend_count();
                match below(&mut ops, 20) {
                    0 => {
                        let b = below(&mut ops, n);
                        let e = below(&mut ops, 2) == 0;
                        lb.set_eligible(b, e);
                    }
                    1 => lb.set_weight_factor(below(&mut ops, n), uniform(&mut ops)),
                    2 if below(&mut ops, 20) == 0 => {
                        lb.deregister(below(&mut ops, n));
                    }
                    3 if below(&mut ops, 20) == 0 => {
                        let id = lb.add_backend(info(below(&mut ops, 3), 1));
                        lb.set_eligible(id, true);
                    }
                    4 if below(&mut ops, 4) == 0 => {
                        // Everything down for a while.
                        for b in 0..n {
                            lb.set_eligible(b, false);
                        }
                    }
                    5..=9 if !in_flight.is_empty() => {
                        let done = in_flight.swap_remove(below(&mut ops, in_flight.len()));
                        let rt = SimDuration::from_micros(100 + below(&mut ops, 10_000) as u64);
                        lb.on_complete(done, rt, SimTime::from_nanos(step * 1_000_000));
                    }
                    _ => {
                        let zone = [None, Some(0), Some(1), Some(2)][below(&mut ops, 4)];
                        let key = ops.next_u64() % 1000;
                        let pick = lb.pick(key, zone, &mut rng);
                        let any_eligible = lb.eligible_count() > 0;
                        let any_registered = (0..n).any(|b| lb.is_registered(b));
                        match pick {
                            Some(b) if any_eligible => assert!(lb.is_eligible(b)),
                            Some(b) => assert!(fail_open && lb.is_registered(b)),
                            None => assert!(!any_eligible && (!fail_open || !any_registered)),
                        }
                        if let (Some(b), Algorithm::LeastOutstanding, None, true) =
                            (pick, algorithm, zone, any_eligible)
                        {
                            let min = (0..n)
                                .filter(|&x| lb.is_eligible(x))
                                .map(|x| lb.outstanding(x))
                                .min();
                            assert_eq!(Some(lb.outstanding(b)), min);
                        }
                        if let Some(b) = pick {
                            lb.on_dispatch(b);
                            in_flight.push(b);
                        }
                        picks.push(pick);
                    }
                }
                if step % 97 == 0 {
                    check_invariants(&lb);
                }
            }
            check_invariants(&lb);
            picks
        }
        fn uniform(rng: &mut StreamRng) -> f64 {
            sim_core::rng::uniform_open01(rng)
        }
        for algorithm in all_algorithms() {
            for fail_open in [true, false] {
                let a = run(algorithm, fail_open, 30);
                assert!(a.iter().filter(|p| p.is_some()).count() > 100);
                assert_eq!(a, run(algorithm, fail_open, 30), "{algorithm:?}");
            }
        }
    }

    #[test]
    fn below_is_uniform_and_in_range() {
        let mut rng = rng(31);
        let mut counts = [0usize; 7];
        for _ in 0..70_000 {
            counts[below(&mut rng, 7)] += 1;
        }
        for &c in &counts {
            assert!(c.abs_diff(10_000) < 500, "{counts:?}");
        }
        assert_eq!(below(&mut rng, 1), 0);
        assert_eq!(below(&mut rng, 0), 0);
    }

    #[test]
    fn next_prime_values() {
        assert_eq!(next_prime(0), 2);
        assert_eq!(next_prime(65537), 65537);
        assert_eq!(next_prime(65536), 65537);
        assert_eq!(next_prime(100), 101);
    }
}
