//! A cache-aside key cache in front of a database.
//!
//! The application reads a key from the cache first; on a miss it reads the
//! database and then fills the cache ([`KeyCache::fill`]); a write goes to
//! the database and deletes the key from the cache
//! ([`KeyCache::invalidate`]). Whether the cache absorbs a read decides
//! whether the database sees it, so the cache's hit ratio shapes the
//! database's load, and a cache that loses its contents (a node restart,
//! [`KeyCache::clear`]) sends a burst of misses to the database.
//!
//! Two models of hits:
//!
//! - [`CacheModel::FixedHitRatio`]: each read hits with a fixed probability,
//!   decided by a uniform draw the caller makes. Cheap and keyless: for
//!   scenarios that state a hit ratio rather than a key population.
//! - [`CacheModel::Lru`]: an exact least-recently-used cache of a fixed
//!   number of keys, optionally with a time to live. Its hit ratio emerges
//!   from the key popularity, the capacity and the write (invalidation)
//!   rate, and it warms up from empty.
//!
//! The LRU is O(1) per operation: a map from key to slot and an intrusive
//! doubly linked recency list stored in a `Vec` of nodes, with a free list
//! for slots released by invalidation. Slots are allocated lazily and never
//! beyond the capacity, and once warm no operation allocates. The map is
//! only ever used to look keys up, never iterated, and hashes with a pinned
//! mixer ([`sim_core::rng::splitmix64`]), so no result depends on hashing.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use sim_core::rng::splitmix64;
use sim_core::{SimDuration, SimTime};

/// How a cache decides hits.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum CacheModel {
    /// Each read hits with this probability (in [0, 1]), whatever the key.
    FixedHitRatio(f64),
    /// An exact LRU of `capacity` keys (capacity ≥ 1); with `ttl`, an entry
    /// whose age since it was filled is at least `ttl` is a miss (but still
    /// present: it can be served stale).
    Lru {
        /// The most keys the cache holds.
        capacity: usize,
        /// How long a filled entry stays fresh; `None`: forever.
        ttl: Option<SimDuration>,
    },
}

/// The result of a lookup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// Present and fresh: the read is served by the cache.
    Hit,
    /// Absent.
    Miss,
    /// Present but expired (TTL): a miss for fresh reads, servable as stale.
    Expired,
}

/// "No slot": the end of a list.
const NIL: u32 = u32::MAX;

/// Slots added at least at a time when the node storage grows (bounded by
/// the capacity).
const MIN_GROWTH: usize = 16;

/// One slot of the LRU: a key, when it was filled, and its neighbours in
/// the recency list (or, for a free slot, the next free slot in `next`).
#[derive(Clone, Copy, Debug)]
struct Node {
    key: u64,
    filled: SimTime,
    /// Towards the most recent end.
    prev: u32,
    /// Towards the least recent end (or the next free slot).
    next: u32,
}

/// A pinned hasher for `u64` keys (SplitMix64), so the map's behaviour is
/// the same on every platform and release.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = splitmix64(self.0 ^ u64::from(b));
        }
    }
    fn write_u64(&mut self, x: u64) {
        self.0 = splitmix64(self.0 ^ x);
    }
}

/// A map keyed by request keys with the pinned hasher (lookups only:
/// nothing iterates it).
pub(crate) type KeyMap<V> = HashMap<u64, V, BuildHasherDefault<KeyHasher>>;

/// A cache-aside cache of keys (see the module docs): decides hits,
/// tracks contents for the LRU model, and counts hits, misses and
/// evictions.
#[derive(Clone, Debug)]
pub struct KeyCache {
    model: CacheModel,
    /// Key → slot in `nodes` (LRU only).
    map: KeyMap<u32>,
    /// Slots, allocated lazily, never more than the capacity.
    nodes: Vec<Node>,
    /// Most recently used slot.
    head: u32,
    /// Least recently used slot.
    tail: u32,
    /// First free slot (chained through `next`).
    free: u32,
    hits: u64,
    misses: u64,
    evictions: u64,
}

impl KeyCache {
    /// An empty cache of the given model.
    ///
    /// Panics if an LRU's capacity is 0 or does not fit in `u32` slots
    /// (configurations are validated before they get here).
    pub fn new(model: CacheModel) -> Self {
        if let CacheModel::Lru { capacity, .. } = model {
            assert!(
                capacity >= 1 && capacity < NIL as usize,
                "LRU cache capacity {capacity} out of range"
            );
        }
        KeyCache {
            model,
            map: KeyMap::default(),
            nodes: Vec::new(),
            head: NIL,
            tail: NIL,
            free: NIL,
            hits: 0,
            misses: 0,
            evictions: 0,
        }
    }

    /// Looks `key` up at `now`. `u` is a uniform draw in [0, 1) made by the
    /// caller, used only by [`CacheModel::FixedHitRatio`] (a hit iff
    /// `u < ratio`). A hit in the LRU makes the key the most recent; an
    /// expired entry keeps its place (a fill refreshes it).
    pub fn lookup(&mut self, key: u64, now: SimTime, u: f64) -> Lookup {
        let result = match self.model {
            CacheModel::FixedHitRatio(ratio) => {
                if u < ratio {
                    Lookup::Hit
                } else {
                    Lookup::Miss
                }
            }
            CacheModel::Lru { ttl, .. } => match self.map.get(&key) {
                None => Lookup::Miss,
                Some(&slot) => {
                    let filled = self.nodes[slot as usize].filled;
                    if ttl.is_some_and(|ttl| now.saturating_since(filled) >= ttl) {
                        Lookup::Expired
                    } else {
                        self.move_to_front(slot);
                        Lookup::Hit
                    }
                }
            },
        };
        if result == Lookup::Hit {
            self.hits += 1;
        } else {
            self.misses += 1;
        }
        result
    }

    /// After a miss was read from the database: inserts (or refreshes)
    /// `key`, filled at `now`, as the most recent key; evicts the least
    /// recently used key when full. No-op for
    /// [`CacheModel::FixedHitRatio`].
    pub fn fill(&mut self, key: u64, now: SimTime) {
        let CacheModel::Lru { capacity, .. } = self.model else {
            return;
        };
        if let Some(&slot) = self.map.get(&key) {
            self.nodes[slot as usize].filled = now;
            self.move_to_front(slot);
            return;
        }
        let slot = if self.map.len() >= capacity {
            // Full: reuse the least recently used slot.
            let slot = self.tail;
            let old = self.nodes[slot as usize].key;
            self.unlink(slot);
            self.map.remove(&old);
            self.evictions += 1;
            slot
        } else if self.free != NIL {
            let slot = self.free;
            self.free = self.nodes[slot as usize].next;
            slot
        } else {
            if self.nodes.len() == self.nodes.capacity() {
                let len = self.nodes.len();
                self.nodes
                    .reserve_exact(len.max(MIN_GROWTH).min(capacity - len));
            }
            self.nodes.push(Node {
                key,
                filled: now,
                prev: NIL,
                next: NIL,
            });
            (self.nodes.len() - 1) as u32
        };
        let node = &mut self.nodes[slot as usize];
        node.key = key;
        node.filled = now;
        self.push_front(slot);
        self.map.insert(key, slot);
    }

    /// A write to `key` deletes it (cache-aside invalidation). No-op for
    /// [`CacheModel::FixedHitRatio`] and for absent keys.
    pub fn invalidate(&mut self, key: u64) {
        if let Some(slot) = self.map.remove(&key) {
            self.unlink(slot);
            self.nodes[slot as usize].next = self.free;
            self.free = slot;
        }
    }

    /// Whether some value of `key` is present, fresh or expired: for
    /// serving stale when the database is unreachable. For
    /// [`CacheModel::FixedHitRatio`], `u` (a uniform draw in [0, 1)) decides:
    /// present iff `u < ratio`; the LRU ignores `u`. Changes no recency and
    /// no counter.
    pub fn has_any(&self, key: u64, u: f64) -> bool {
        match self.model {
            CacheModel::FixedHitRatio(ratio) => u < ratio,
            CacheModel::Lru { .. } => self.map.contains_key(&key),
        }
    }

    /// The cache lost its contents (a cache node failure and restart):
    /// empties it and releases its memory. The counters are kept. No-op for
    /// [`CacheModel::FixedHitRatio`], which has no contents.
    pub fn clear(&mut self) {
        self.map = KeyMap::default();
        self.nodes = Vec::new();
        self.head = NIL;
        self.tail = NIL;
        self.free = NIL;
    }

    /// Keys held now (always 0 for [`CacheModel::FixedHitRatio`]).
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Lookups that hit, since creation.
    pub fn hits(&self) -> u64 {
        self.hits
    }

    /// Lookups that missed ([`Lookup::Miss`] and [`Lookup::Expired`]), since
    /// creation.
    pub fn misses(&self) -> u64 {
        self.misses
    }

    /// Keys evicted to make room for a fill, since creation (invalidations
    /// and clears are not evictions).
    pub fn evictions(&self) -> u64 {
        self.evictions
    }

    /// Removes `slot` from the recency list.
    fn unlink(&mut self, slot: u32) {
        let Node { prev, next, .. } = self.nodes[slot as usize];
        if prev == NIL {
            self.head = next;
        } else {
            self.nodes[prev as usize].next = next;
        }
        if next == NIL {
            self.tail = prev;
        } else {
            self.nodes[next as usize].prev = prev;
        }
    }

    /// Puts the unlinked `slot` at the most recent end.
    fn push_front(&mut self, slot: u32) {
        let old_head = self.head;
        {
            let node = &mut self.nodes[slot as usize];
            node.prev = NIL;
            node.next = old_head;
        }
        if old_head == NIL {
            self.tail = slot;
        } else {
            self.nodes[old_head as usize].prev = slot;
        }
        self.head = slot;
    }

    /// Makes the linked `slot` the most recent.
    fn move_to_front(&mut self, slot: u32) {
        if self.head != slot {
            self.unlink(slot);
            self.push_front(slot);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::Rng;
    use rand_distr::Distribution;
    use sim_core::rng::{RngStreams, StreamKey, StreamRng, uniform_open01};

    fn lru(capacity: usize, ttl: Option<SimDuration>) -> KeyCache {
        KeyCache::new(CacheModel::Lru { capacity, ttl })
    }

    fn t(secs: u64) -> SimTime {
        SimTime::from_secs(secs)
    }

    fn rng(name: &str) -> StreamRng {
        RngStreams::new(7).stream(StreamKey::named(name))
    }

    fn below(rng: &mut StreamRng, n: u64) -> u64 {
        ((u128::from(rng.next_u64()) * u128::from(n)) >> 64) as u64
    }

    #[test]
    fn lru_evicts_least_recently_used() {
        let mut c = lru(2, None);
        let (a, b, d) = (1, 2, 3);
        c.fill(a, t(0));
        c.fill(b, t(1));
        assert_eq!(c.lookup(a, t(2), 0.0), Lookup::Hit);
        c.fill(d, t(3));
        assert_eq!(c.len(), 2);
        assert_eq!(c.evictions(), 1);
        assert_eq!(c.lookup(b, t(4), 0.0), Lookup::Miss);
        assert_eq!(c.lookup(a, t(4), 0.0), Lookup::Hit);
        assert_eq!(c.lookup(d, t(4), 0.0), Lookup::Hit);
        // Now a is least recent (d was looked up last): filling b evicts a.
        c.fill(b, t(5));
        assert!(!c.has_any(a, 0.0));
        assert!(c.has_any(b, 0.0) && c.has_any(d, 0.0));
        assert_eq!(c.evictions(), 2);
    }

    #[test]
    fn fill_of_a_present_key_refreshes_without_evicting() {
        let mut c = lru(2, None);
        c.fill(1, t(0));
        c.fill(2, t(0));
        c.fill(1, t(1)); // 1 becomes most recent
        assert_eq!(c.len(), 2);
        assert_eq!(c.evictions(), 0);
        c.fill(3, t(2)); // evicts 2
        assert!(c.has_any(1, 0.0));
        assert!(!c.has_any(2, 0.0));
    }

    #[test]
    fn capacity_one() {
        let mut c = lru(1, None);
        c.fill(5, t(0));
        c.fill(6, t(0));
        assert_eq!(c.len(), 1);
        assert_eq!(c.lookup(5, t(0), 0.0), Lookup::Miss);
        assert_eq!(c.lookup(6, t(0), 0.0), Lookup::Hit);
        c.invalidate(6);
        assert!(c.is_empty());
        c.fill(7, t(0));
        assert_eq!(c.lookup(7, t(0), 0.0), Lookup::Hit);
        assert_eq!(c.evictions(), 1);
    }

    #[test]
    fn ttl_expires_entries_and_fill_refreshes() {
        let mut c = lru(4, Some(SimDuration::from_secs(10)));
        c.fill(1, t(100));
        assert_eq!(c.lookup(1, t(100), 0.0), Lookup::Hit);
        assert_eq!(
            c.lookup(1, SimTime::from_nanos(109_999_999_999), 0.0),
            Lookup::Hit
        );
        assert_eq!(c.lookup(1, t(110), 0.0), Lookup::Expired);
        assert_eq!(c.lookup(1, t(500), 0.0), Lookup::Expired);
        // Expired but present: servable stale.
        assert!(c.has_any(1, 0.9));
        assert_eq!(c.len(), 1);
        c.fill(1, t(500));
        assert_eq!(c.lookup(1, t(505), 0.0), Lookup::Hit);
        assert_eq!(c.lookup(1, t(510), 0.0), Lookup::Expired);
        assert_eq!(c.hits(), 3);
        assert_eq!(c.misses(), 3);
    }

    #[test]
    fn zero_ttl_is_never_fresh() {
        let mut c = lru(4, Some(SimDuration::ZERO));
        c.fill(1, t(1));
        assert_eq!(c.lookup(1, t(1), 0.0), Lookup::Expired);
    }

    #[test]
    fn invalidate_deletes_and_slot_is_reused() {
        let mut c = lru(3, None);
        for k in 0..3 {
            c.fill(k, t(0));
        }
        c.invalidate(1);
        c.invalidate(42); // absent: no-op
        assert_eq!(c.len(), 2);
        assert_eq!(c.lookup(1, t(1), 0.0), Lookup::Miss);
        assert!(!c.has_any(1, 0.0));
        // Room for one more without evicting.
        c.fill(3, t(2));
        assert_eq!(c.len(), 3);
        assert_eq!(c.evictions(), 0);
        assert_eq!(c.nodes.len(), 3);
        // Least recent is 0 now.
        c.fill(4, t(3));
        assert!(!c.has_any(0, 0.0));
        assert_eq!(c.evictions(), 1);
    }

    #[test]
    fn clear_empties_and_releases_memory() {
        let mut c = lru(1000, None);
        for k in 0..500 {
            c.fill(k, t(0));
        }
        assert_eq!(c.len(), 500);
        assert!(c.nodes.capacity() <= 1000);
        let _ = c.lookup(3, t(0), 0.0);
        c.clear();
        assert!(c.is_empty());
        assert_eq!(c.nodes.capacity(), 0);
        assert_eq!(c.lookup(3, t(1), 0.0), Lookup::Miss);
        assert_eq!((c.hits(), c.misses()), (1, 1), "counters survive a clear");
        c.fill(3, t(2));
        assert_eq!(c.lookup(3, t(2), 0.0), Lookup::Hit);
    }

    #[test]
    fn storage_never_grows_beyond_capacity() {
        for capacity in [1, 7, 16, 17, 100, 1000] {
            let mut c = lru(capacity, None);
            for k in 0..3 * capacity as u64 {
                c.fill(k, t(0));
                assert!(c.nodes.capacity() <= capacity, "capacity {capacity}");
            }
            assert_eq!(c.len(), capacity);
        }
    }

    #[test]
    fn fixed_ratio_uses_the_draw() {
        let mut c = KeyCache::new(CacheModel::FixedHitRatio(0.3));
        assert_eq!(c.lookup(1, t(0), 0.29), Lookup::Hit);
        assert_eq!(c.lookup(1, t(0), 0.3), Lookup::Miss);
        assert_eq!(c.lookup(1, t(0), 0.0), Lookup::Hit);
        assert_eq!(c.lookup(1, t(0), 0.99), Lookup::Miss);
        assert!(c.has_any(9, 0.1));
        assert!(!c.has_any(9, 0.5));
        // No contents: fill, invalidate and clear are no-ops.
        c.fill(1, t(0));
        c.invalidate(1);
        c.clear();
        assert_eq!(c.len(), 0);
        assert!(c.is_empty());
        assert_eq!((c.hits(), c.misses(), c.evictions()), (2, 2, 0));
        let mut never = KeyCache::new(CacheModel::FixedHitRatio(0.0));
        assert_eq!(never.lookup(1, t(0), 0.0), Lookup::Miss);
        let mut always = KeyCache::new(CacheModel::FixedHitRatio(1.0));
        assert_eq!(always.lookup(1, t(0), 0.999_999), Lookup::Hit);
    }

    #[test]
    fn fixed_ratio_hit_fraction_matches() {
        let mut c = KeyCache::new(CacheModel::FixedHitRatio(0.8));
        let mut r = rng("cache.fixed");
        let n = 100_000;
        for k in 0..n {
            let _ = c.lookup(k, t(0), uniform_open01(&mut r));
        }
        let ratio = c.hits() as f64 / n as f64;
        assert!((ratio - 0.8).abs() < 0.01, "hit ratio {ratio}");
        assert_eq!(c.hits() + c.misses(), n);
    }

    #[test]
    fn counters_count_hits_misses_and_evictions() {
        let mut c = lru(2, Some(SimDuration::from_secs(5)));
        assert_eq!(c.lookup(1, t(0), 0.0), Lookup::Miss);
        c.fill(1, t(0));
        assert_eq!(c.lookup(1, t(1), 0.0), Lookup::Hit);
        assert_eq!(c.lookup(1, t(6), 0.0), Lookup::Expired);
        c.fill(2, t(6));
        c.fill(3, t(6));
        c.fill(4, t(6));
        assert_eq!((c.hits(), c.misses(), c.evictions()), (1, 2, 2));
    }

    /// Cache-aside reads: look up, fill on any miss. Returns the hit ratio.
    fn hit_ratio(capacity: usize, lookups: u64, mut key: impl FnMut() -> u64) -> f64 {
        let mut c = lru(capacity, None);
        for _ in 0..lookups {
            let k = key();
            if c.lookup(k, t(0), 0.0) != Lookup::Hit {
                c.fill(k, t(0));
            }
            assert!(c.len() <= capacity);
        }
        c.hits() as f64 / lookups as f64
    }

    #[test]
    fn uniform_popularity_hit_ratio_is_capacity_over_keys() {
        let mut r = rng("cache.uniform");
        let ratio = hit_ratio(100, 200_000, || below(&mut r, 1000));
        assert!((ratio - 0.1).abs() < 0.02, "hit ratio {ratio}");
    }

    /// Che's approximation of an LRU's hit ratio under independent
    /// requests with popularities `p`: the characteristic time `tc` solves
    /// Σ (1 − e^(−p_i tc)) = C, and the hit ratio is Σ p_i (1 − e^(−p_i tc)).
    fn che_hit_ratio(p: &[f64], capacity: usize) -> f64 {
        let occupancy = |tc: f64| p.iter().map(|&pi| 1.0 - (-pi * tc).exp()).sum::<f64>();
        let (mut lo, mut hi) = (0.0, 1.0);
        while occupancy(hi) < capacity as f64 {
            hi *= 2.0;
        }
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if occupancy(mid) < capacity as f64 {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        p.iter().map(|&pi| pi * (1.0 - (-pi * lo).exp())).sum()
    }

    #[test]
    fn zipf_popularity_hit_ratio_matches_che_approximation() {
        let (n, capacity, s) = (1000usize, 100usize, 0.9);
        let zipf = rand_distr::Zipf::new(n as f64, s).unwrap();
        let mut r = rng("cache.zipf");
        // Keys are ranks from 0 (the most popular).
        let ratio = hit_ratio(capacity, 200_000, || {
            (zipf.sample(&mut r) as u64).saturating_sub(1)
        });
        let weights: Vec<f64> = (1..=n).map(|k| (k as f64).powf(-s)).collect();
        let total: f64 = weights.iter().sum();
        let p: Vec<f64> = weights.iter().map(|w| w / total).collect();
        let che = che_hit_ratio(&p, capacity);
        assert!((ratio - che).abs() < 0.02, "LRU {ratio} vs Che {che}");
        // And far better than the uniform C/N: the hot keys stay cached.
        assert!(ratio > 0.3, "hit ratio {ratio}");
    }

    /// A straightforward reference LRU: entries from most to least recent.
    #[derive(Default)]
    struct Reference {
        entries: Vec<(u64, SimTime)>,
        evictions: u64,
    }

    impl Reference {
        fn lookup(&mut self, key: u64, now: SimTime, ttl: Option<SimDuration>) -> Lookup {
            match self.entries.iter().position(|e| e.0 == key) {
                None => Lookup::Miss,
                Some(i) => {
                    let filled = self.entries[i].1;
                    if ttl.is_some_and(|ttl| now.saturating_since(filled) >= ttl) {
                        Lookup::Expired
                    } else {
                        let e = self.entries.remove(i);
                        self.entries.insert(0, e);
                        Lookup::Hit
                    }
                }
            }
        }
        fn fill(&mut self, key: u64, now: SimTime, capacity: usize) {
            if let Some(i) = self.entries.iter().position(|e| e.0 == key) {
                self.entries.remove(i);
            } else if self.entries.len() == capacity {
                self.entries.pop();
                self.evictions += 1;
            }
            self.entries.insert(0, (key, now));
        }
        fn invalidate(&mut self, key: u64) {
            self.entries.retain(|e| e.0 != key);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any sequence of operations: the LRU agrees with the reference
        /// on every lookup, its size and its evictions, and never holds
        /// more than its capacity.
        #[test]
        fn lru_matches_reference(
            capacity in 1usize..8,
            ttl in proptest::option::of(0u64..20),
            ops in proptest::collection::vec((0u8..10, 0u64..16, 0u64..4), 0..300),
        ) {
            let ttl = ttl.map(SimDuration::from_nanos);
            let mut c = lru(capacity, ttl);
            let mut reference = Reference::default();
            let mut now = SimTime::ZERO;
            for (op, key, dt) in ops {
                now += SimDuration::from_nanos(dt);
                match op {
                    0..=4 => {
                        let got = c.lookup(key, now, 0.0);
                        prop_assert_eq!(got, reference.lookup(key, now, ttl));
                    }
                    5..=7 => {
                        c.fill(key, now);
                        reference.fill(key, now, capacity);
                    }
                    8 => {
                        c.invalidate(key);
                        reference.invalidate(key);
                    }
                    _ => {
                        prop_assert_eq!(c.has_any(key, 0.0),
                            reference.entries.iter().any(|e| e.0 == key));
                        if key == 0 {
                            c.clear();
                            reference.entries.clear();
                        }
                    }
                }
                prop_assert!(c.len() <= capacity);
                prop_assert!(c.nodes.len() <= capacity);
                prop_assert_eq!(c.len(), reference.entries.len());
                prop_assert_eq!(c.evictions(), reference.evictions);
            }
        }
    }
}
