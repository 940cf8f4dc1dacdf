//! Which shard a key lives on.
//!
//! A sharded database splits its keys over `N` shards, each its own cluster;
//! the router decides which shard serves a request. The strategy shapes the
//! load: hashing spreads keys evenly whatever their popularity, ranges keep
//! neighbouring keys together, and geo sharding follows the caller.
//!
//! Keys are popularity ranks: key 0 is the most popular under Zipf, so
//! [`ShardStrategy::Range`] puts the hot keys on the first shard. That is
//! intended: it is how a range-sharded table gets a hot shard.
//!
//! Keys and ring points are hashed with the pinned mixer
//! [`sim_core::rng::splitmix64`] and fixed salts, never with std's hasher,
//! so a key maps to the same shard on every platform and release. Lookups
//! are O(1) except consistent hashing, a binary search over the ring
//! (O(log(N · vnodes))); none allocates, and none panics for any key or
//! region.

use sim_core::rng::splitmix64;

/// Salt mixed into a key before hashing it (hash-mod and consistent).
const KEY_SALT: u64 = 0x6b65_795f_7368_6172; // "key_shar"
/// Salt mixed into a shard number before placing its ring points.
const RING_SALT: u64 = 0x7269_6e67_5f70_6f69; // "ring_poi"

/// How keys map to shards.
#[derive(Clone, Debug, PartialEq)]
pub enum ShardStrategy {
    /// `hash(key) mod N`.
    HashMod,
    /// A consistent-hash ring with `vnodes` virtual nodes per shard
    /// (vnodes ≥ 1): the key goes to the first ring point clockwise of
    /// `hash(key)` (at or after it, wrapping around).
    Consistent {
        /// Ring points per shard: more points, a more even spread.
        vnodes: u32,
    },
    /// Keys `0..key_space` split into N equal contiguous ranges: key `k`
    /// goes to shard `k * N / key_space`, clamped to the last shard.
    Range {
        /// The number of keys the ranges cover.
        key_space: u64,
    },
    /// By the caller's region: `region_shard[r]` is the shard of callers in
    /// region `r` (a region beyond the list goes to shard 0).
    Geo {
        /// The shard of each region.
        region_shard: Vec<usize>,
    },
}

/// The strategy with whatever it precomputed.
#[derive(Clone, Debug)]
enum Router {
    HashMod,
    Consistent {
        /// Ring points, ascending (ties broken by shard).
        points: Vec<u64>,
        /// The shard owning each point.
        owners: Vec<u32>,
    },
    Range {
        key_space: u64,
    },
    Geo {
        region_shard: Vec<usize>,
    },
}

/// Maps keys (and callers' regions) to shards with one [`ShardStrategy`].
#[derive(Clone, Debug)]
pub struct ShardRouter {
    shards: usize,
    router: Router,
}

/// The hash of a key (hash-mod and consistent hashing).
fn key_hash(key: u64) -> u64 {
    splitmix64(key ^ KEY_SALT)
}

/// Where virtual node `vnode` of `shard` sits on the ring.
fn ring_point(shard: u32, vnode: u32) -> u64 {
    splitmix64(splitmix64(u64::from(shard) ^ RING_SALT) ^ u64::from(vnode))
}

impl ShardRouter {
    /// A router over `shards` shards (≥ 1).
    ///
    /// Panics on what configuration validation rules out: no shards,
    /// `vnodes` of 0, more shards than `u32` counts for consistent hashing,
    /// or a geo entry naming a shard that does not exist.
    pub fn new(strategy: ShardStrategy, shards: usize) -> Self {
        assert!(shards >= 1, "a sharded database needs at least one shard");
        let router = match strategy {
            ShardStrategy::HashMod => Router::HashMod,
            ShardStrategy::Consistent { vnodes } => {
                assert!(vnodes >= 1, "consistent hashing needs vnodes ≥ 1");
                let n = u32::try_from(shards).expect("too many shards for a hash ring");
                let mut ring: Vec<(u64, u32)> = (0..n)
                    .flat_map(|s| (0..vnodes).map(move |v| (ring_point(s, v), s)))
                    .collect();
                ring.sort_unstable();
                let (points, owners) = ring.into_iter().unzip();
                Router::Consistent { points, owners }
            }
            ShardStrategy::Range { key_space } => Router::Range { key_space },
            ShardStrategy::Geo { region_shard } => {
                assert!(
                    region_shard.iter().all(|&s| s < shards),
                    "geo sharding names a shard beyond the {shards} shards"
                );
                Router::Geo { region_shard }
            }
        };
        ShardRouter { shards, router }
    }

    /// The number of shards.
    pub fn shards(&self) -> usize {
        self.shards
    }

    /// The shard of `key` for a caller in region `region` (only
    /// [`ShardStrategy::Geo`] looks at the region, and a region out of its
    /// range goes to shard 0). Always below [`ShardRouter::shards`].
    pub fn shard(&self, key: u64, region: usize) -> usize {
        match &self.router {
            Router::HashMod => (key_hash(key) % self.shards as u64) as usize,
            Router::Consistent { points, owners } => {
                let h = key_hash(key);
                let i = points.partition_point(|&p| p < h);
                let i = if i == points.len() { 0 } else { i };
                owners[i] as usize
            }
            Router::Range { key_space } => {
                if key >= *key_space {
                    self.shards - 1
                } else {
                    let s = u128::from(key) * self.shards as u128 / u128::from(*key_space);
                    (s as usize).min(self.shards - 1)
                }
            }
            Router::Geo { region_shard } => region_shard.get(region).copied().unwrap_or(0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEYS: u64 = 100_000;

    fn counts(router: &ShardRouter) -> Vec<u64> {
        let mut counts = vec![0u64; router.shards()];
        for k in 0..KEYS {
            counts[router.shard(k, 0)] += 1;
        }
        counts
    }

    fn assert_even(counts: &[u64]) {
        let even = KEYS as f64 / counts.len() as f64;
        for (s, &c) in counts.iter().enumerate() {
            let dev = (c as f64 - even).abs() / even;
            assert!(
                dev <= 0.10,
                "shard {s} has {c} keys, {:.1}% off even",
                dev * 100.0
            );
        }
    }

    fn moved_fraction(strategy: ShardStrategy) -> f64 {
        let before = ShardRouter::new(strategy.clone(), 8);
        let after = ShardRouter::new(strategy, 9);
        let moved = (0..KEYS)
            .filter(|&k| before.shard(k, 0) != after.shard(k, 0))
            .count();
        moved as f64 / KEYS as f64
    }

    #[test]
    fn hash_mod_spreads_evenly() {
        assert_even(&counts(&ShardRouter::new(ShardStrategy::HashMod, 8)));
    }

    #[test]
    fn consistent_spreads_evenly() {
        let router = ShardRouter::new(ShardStrategy::Consistent { vnodes: 1024 }, 8);
        assert_even(&counts(&router));
    }

    #[test]
    fn adding_a_shard_moves_few_keys_only_with_consistent_hashing() {
        let consistent = moved_fraction(ShardStrategy::Consistent { vnodes: 256 });
        assert!(
            (0.05..=0.2).contains(&consistent),
            "consistent hashing moved {consistent}"
        );
        let hash_mod = moved_fraction(ShardStrategy::HashMod);
        assert!(hash_mod > 0.8, "hash-mod moved {hash_mod}");
    }

    #[test]
    fn consistent_keys_move_only_to_the_new_shard() {
        let before = ShardRouter::new(ShardStrategy::Consistent { vnodes: 64 }, 8);
        let after = ShardRouter::new(ShardStrategy::Consistent { vnodes: 64 }, 9);
        for k in 0..KEYS {
            let (b, a) = (before.shard(k, 0), after.shard(k, 0));
            assert!(a == b || a == 8, "key {k} moved from {b} to {a}");
        }
    }

    #[test]
    fn consistent_with_one_vnode_and_one_shard() {
        let router = ShardRouter::new(ShardStrategy::Consistent { vnodes: 1 }, 1);
        for k in [0, 1, u64::MAX, 12345] {
            assert_eq!(router.shard(k, 7), 0);
        }
        let router = ShardRouter::new(ShardStrategy::Consistent { vnodes: 1 }, 3);
        let c = counts(&router);
        assert_eq!(c.iter().sum::<u64>(), KEYS);
    }

    #[test]
    fn range_boundaries_are_exact() {
        let router = ShardRouter::new(ShardStrategy::Range { key_space: 100 }, 4);
        for k in 0..25 {
            assert_eq!(router.shard(k, 0), 0, "key {k}");
        }
        for k in 25..50 {
            assert_eq!(router.shard(k, 0), 1, "key {k}");
        }
        for k in 50..75 {
            assert_eq!(router.shard(k, 0), 2, "key {k}");
        }
        for k in 75..100 {
            assert_eq!(router.shard(k, 0), 3, "key {k}");
        }
        for k in [100, 101, 1_000_000, u64::MAX] {
            assert_eq!(router.shard(k, 0), 3, "key {k}");
        }
        // Uneven split: 10 keys over 3 shards → 0..4, 4..7, 7..10.
        let router = ShardRouter::new(ShardStrategy::Range { key_space: 10 }, 3);
        let got: Vec<usize> = (0..10).map(|k| router.shard(k, 0)).collect();
        assert_eq!(got, [0, 0, 0, 0, 1, 1, 1, 2, 2, 2]);
        // Huge key spaces do not overflow.
        let router = ShardRouter::new(
            ShardStrategy::Range {
                key_space: u64::MAX,
            },
            4,
        );
        assert_eq!(router.shard(u64::MAX - 1, 0), 3);
        assert_eq!(router.shard(u64::MAX / 2, 0), 1);
        // An empty key space sends everything to the last shard.
        let router = ShardRouter::new(ShardStrategy::Range { key_space: 0 }, 4);
        assert_eq!(router.shard(0, 0), 3);
    }

    #[test]
    fn geo_follows_the_region() {
        let router = ShardRouter::new(
            ShardStrategy::Geo {
                region_shard: vec![2, 0, 1],
            },
            3,
        );
        assert_eq!(router.shards(), 3);
        for k in [0, 5, u64::MAX] {
            assert_eq!(router.shard(k, 0), 2);
            assert_eq!(router.shard(k, 1), 0);
            assert_eq!(router.shard(k, 2), 1);
            assert_eq!(router.shard(k, 3), 0, "out of range → shard 0");
            assert_eq!(router.shard(k, usize::MAX), 0);
        }
        let empty = ShardRouter::new(
            ShardStrategy::Geo {
                region_shard: vec![],
            },
            2,
        );
        assert_eq!(empty.shard(1, 0), 0);
    }

    #[test]
    fn every_strategy_stays_in_range() {
        let strategies = [
            ShardStrategy::HashMod,
            ShardStrategy::Consistent { vnodes: 3 },
            ShardStrategy::Range { key_space: 1000 },
            ShardStrategy::Geo {
                region_shard: vec![4, 1],
            },
        ];
        for strategy in strategies {
            let router = ShardRouter::new(strategy, 5);
            for k in (0..2000).chain([u64::MAX, u64::MAX - 1, 1 << 63]) {
                for r in [0, 1, 2, usize::MAX] {
                    assert!(router.shard(k, r) < 5);
                }
            }
        }
    }

    #[test]
    fn mapping_is_deterministic_and_pinned() {
        for strategy in [
            ShardStrategy::HashMod,
            ShardStrategy::Consistent { vnodes: 100 },
        ] {
            let a = ShardRouter::new(strategy.clone(), 8);
            let b = ShardRouter::new(strategy, 8);
            for k in 0..10_000 {
                assert_eq!(a.shard(k, 0), b.shard(k, 0));
            }
        }
        // Pinned values: a change here changes which shard every key of
        // every saved scenario lives on.
        let hash_mod = ShardRouter::new(ShardStrategy::HashMod, 8);
        let consistent = ShardRouter::new(ShardStrategy::Consistent { vnodes: 16 }, 8);
        let pinned: Vec<(usize, usize)> = (0..8)
            .map(|k| (hash_mod.shard(k, 0), consistent.shard(k, 0)))
            .collect();
        assert_eq!(pinned, PINNED);
    }

    const PINNED: [(usize, usize); 8] = [
        (7, 3),
        (5, 0),
        (0, 1),
        (3, 1),
        (2, 5),
        (0, 7),
        (4, 4),
        (1, 1),
    ];
}
