//! The data tier's state during a run: database nodes (workers, queue,
//! up/down), each shard's replication log and failover, the per-region
//! cache nodes, and the counters the report shows. The fleet model
//! (`fleet::model`) owns one [`DataState`] and drives it from its events;
//! the replication arithmetic lives here so it can be read (and tested) on
//! its own.
//!
//! # Replication, exactly
//! Every committed write gets the shard's next log sequence number (LSN).
//! For each replica the write's *received* time is the commit time plus the
//! network latency plus a drawn shipping delay, kept in log order (a replica
//! receives the stream in order); its *applied* time adds a drawn apply time
//! after the previous write was applied (one apply thread), so lag grows
//! when writes come faster than they apply. Both are known at commit, so a
//! replica's log is a queue that reads consult lazily: no event per write
//! per replica. Sync acknowledges when every live replica has applied the
//! write, semi-sync when the first has received it, async at once.
//!
//! A read on a replica is *stale* when some acknowledged write to its key
//! has an LSN above what the replica has applied; it is a *read-your-writes
//! violation* too when that write came from the reader's own population.
//! When a primary dies at `T`, what a replica had not received by `T` never
//! arrives; failover promotes the replica that received most, and every
//! write acknowledged by `T` above its LSN is lost (the RPO).

use std::collections::VecDeque;

use std::convert::Infallible;

use rand::TryRng;
use sim_core::stats::TimeWeighted;
use sim_core::{Distribution, SimDuration, SimTime, StreamRng};

use super::cache::{KeyCache, KeyMap};
use super::config::{DatabaseConfig, ReplicationMode, Topology};
use super::shard::ShardRouter;

/// A pinned, cheap generator for the per-query draws, seeded from the
/// request's data seed and the query's index: the same request draws the
/// same cache luck and service time whatever policy runs (common random
/// numbers), without a ChaCha stream per query.
pub(crate) struct QueryRng(u64);

impl QueryRng {
    /// The generator for query `q` of a request with data seed `seed`.
    pub(crate) fn new(seed: u64, q: u32) -> Self {
        QueryRng(sim_core::rng::splitmix64(seed ^ (u64::from(q) << 48)))
    }
}

impl QueryRng {
    fn step(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

impl TryRng for QueryRng {
    type Error = Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok((self.step() >> 32) as u32)
    }
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        Ok(self.step())
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), Infallible> {
        for chunk in dest.chunks_mut(8) {
            let bytes = self.step().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
        Ok(())
    }
}

/// A write on its way to one replica.
#[derive(Clone, Copy, Debug)]
struct LogEntry {
    lsn: u64,
    received: SimTime,
    applied: SimTime,
}

/// One database node.
#[derive(Debug)]
pub(crate) struct DbNode {
    /// Its region.
    pub(crate) region: usize,
    /// Faults holding it down (its own, and its region's).
    pub(crate) down_faults: u16,
    /// Bumped when it goes down: queries it held are orphaned.
    pub(crate) epoch: u32,
    /// When it last went down.
    pub(crate) died_at: SimTime,
    /// Active-active: its sync boundaries are `sync_phase + k·interval`
    /// (nodes are not in lockstep: each has its own phase, drawn at the
    /// start).
    pub(crate) sync_phase: SimDuration,
    /// Whether readers still send it reads (a dead replica stays in the
    /// pool until the health checks notice).
    pub(crate) in_read_pool: bool,
    /// Queries in service.
    pub(crate) busy: u32,
    /// Queries waiting (attempt slots).
    pub(crate) queue: VecDeque<u32>,
    /// Busy workers over time (utilisation).
    pub(crate) busy_tw: TimeWeighted,
    /// Reads and writes served in the measured window.
    pub(crate) reads: u64,
    /// Writes committed in the measured window.
    pub(crate) writes: u64,
    /// Writes still travelling to or being applied on this replica.
    log: VecDeque<LogEntry>,
    /// Writes that had not reached it when the primary died: re-sent if
    /// the same primary comes back.
    undelivered: Vec<u64>,
    /// Highest LSN applied (as of the last refresh).
    pub(crate) applied_lsn: u64,
    /// A primary that was replaced while down: it rejoins as a replica.
    demoted: bool,
    /// Commit time of each LSN still in the log, for lag: kept in the
    /// shard's write log.
    last_received: SimTime,
    last_applied: SimTime,
    /// Replication lag samples (seconds) taken at series ticks.
    pub(crate) lag_sum: f64,
    /// Largest lag sample.
    pub(crate) lag_max: f64,
    /// Lag samples taken.
    pub(crate) lag_samples: u64,
    /// Lag at each series tick (seconds).
    pub(crate) lag_series: Vec<f64>,
}

impl DbNode {
    fn new(region: usize) -> Self {
        DbNode {
            region,
            down_faults: 0,
            epoch: 0,
            died_at: SimTime::ZERO,
            sync_phase: SimDuration::ZERO,
            in_read_pool: true,
            busy: 0,
            queue: VecDeque::new(),
            busy_tw: TimeWeighted::new(SimTime::ZERO, 0),
            reads: 0,
            writes: 0,
            log: VecDeque::new(),
            undelivered: Vec::new(),
            applied_lsn: 0,
            demoted: false,
            last_received: SimTime::ZERO,
            last_applied: SimTime::ZERO,
            lag_sum: 0.0,
            lag_max: 0.0,
            lag_samples: 0,
            lag_series: Vec::new(),
        }
    }

    /// Whether it is up.
    pub(crate) fn up(&self) -> bool {
        self.down_faults == 0
    }

    /// Applies what is due by `now`.
    fn refresh(&mut self, now: SimTime) {
        while let Some(e) = self.log.front() {
            if e.applied > now {
                break;
            }
            self.applied_lsn = e.lsn;
            self.log.pop_front();
        }
    }
}

/// A committed write the shard still tracks: until every replica applied
/// it, and while its key is pinned to the primary for read-your-writes.
#[derive(Clone, Copy, Debug)]
struct WriteRecord {
    lsn: u64,
    key: u64,
    commit: SimTime,
    acked: SimTime,
}

/// The newest tracked write to a key.
#[derive(Clone, Copy, Debug)]
struct KeyWrite {
    lsn: u64,
    pop: u32,
    acked: SimTime,
    commit: SimTime,
}

/// Active-active: the newest write to a key.
#[derive(Clone, Copy, Debug)]
struct AaWrite {
    origin: u32,
    pop: u32,
    commit: SimTime,
}

/// Active-active: the writes a node took between two sync boundaries.
#[derive(Clone, Copy, Debug)]
struct Batch {
    /// When the batch ships (the first sync boundary at or after its
    /// writes).
    ships: SimTime,
    /// Its oldest write's commit.
    oldest: SimTime,
    writes: u64,
}

/// The first sync boundary at or after `t` of a node whose boundaries
/// are `phase + k·interval`.
fn boundary(t: SimTime, interval: SimDuration, phase: SimDuration) -> SimTime {
    let i = interval.as_nanos().max(1);
    let p = phase.as_nanos() % i;
    let shifted = t.as_nanos().saturating_sub(p);
    SimTime::from_nanos(shifted.div_ceil(i).saturating_mul(i).saturating_add(p)).max(t)
}

/// Where a shard's failover stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FailoverPhase {
    /// The primary is up (or failed and not yet detected).
    Steady,
    /// Detected dead; a replica is being promoted.
    Promoting,
    /// Promoted; instances still use the old address.
    Repointing,
}

/// One incident of a shard's primary: from its death to the instances
/// using a new (or the recovered) primary.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct PrimaryIncident {
    /// When the primary died.
    pub(crate) died: SimTime,
    /// When the failover manager declared it dead.
    pub(crate) detected: Option<SimTime>,
    /// When a replica finished promotion.
    pub(crate) promoted: Option<SimTime>,
    /// The node promoted.
    pub(crate) promoted_node: Option<usize>,
    /// When instances started writing to the new primary.
    pub(crate) repointed: Option<SimTime>,
    /// When the old primary came back (without a failover in between).
    pub(crate) recovered: Option<SimTime>,
    /// Acknowledged writes lost.
    pub(crate) lost_writes: u64,
    /// From the commit of the oldest lost write to the death.
    pub(crate) loss_window: SimDuration,
}

/// One shard: nodes (node 0 starts as primary), the write log, failover.
#[derive(Debug)]
pub(crate) struct Shard {
    /// Its nodes.
    pub(crate) nodes: Vec<DbNode>,
    /// The node that is primary now.
    pub(crate) primary: usize,
    /// The node instances send writes to (differs from `primary` until the
    /// repoint after a promotion).
    pub(crate) routed_primary: usize,
    next_lsn: u64,
    writes: VecDeque<WriteRecord>,
    keys: KeyMap<KeyWrite>,
    /// LSN ranges lost in failovers: writes in them no longer exist.
    lost_ranges: Vec<(u64, u64)>,
    /// Failover progress.
    pub(crate) phase: FailoverPhase,
    /// When the current primary died, while it is down.
    pub(crate) primary_died: Option<SimTime>,
    /// Incidents of this shard's primary, in order.
    pub(crate) incidents: Vec<PrimaryIncident>,
    /// Queries that reached this shard (measured window).
    pub(crate) queries: u64,
    /// Round-robin position among replicas for reads.
    rr: usize,
    /// Active-active: the newest write per key, and each node's recent
    /// batches.
    aa_keys: KeyMap<AaWrite>,
    aa_batches: Vec<VecDeque<Batch>>,
    /// Active-active: (key, origin, commit, visible everywhere by) of recent
    /// writes, in commit order, so `aa_keys` forgets what every node sees
    /// (memory stays bounded by the writes of about one interval).
    aa_recent: VecDeque<(u64, u32, SimTime, SimTime)>,
}

impl Shard {
    fn new(regions: &[usize]) -> Self {
        Shard {
            nodes: regions.iter().map(|&r| DbNode::new(r)).collect(),
            primary: 0,
            routed_primary: 0,
            next_lsn: 1,
            writes: VecDeque::new(),
            keys: KeyMap::default(),
            lost_ranges: Vec::new(),
            phase: FailoverPhase::Steady,
            primary_died: None,
            incidents: Vec::new(),
            queries: 0,
            rr: 0,
            aa_keys: KeyMap::default(),
            aa_recent: VecDeque::new(),
            aa_batches: vec![VecDeque::new(); regions.len()],
        }
    }

    fn lost(&self, lsn: u64) -> bool {
        self.lost_ranges.iter().any(|&(a, b)| lsn > a && lsn < b)
    }

    /// Whether `key` was written within `pin` before `now` (reads pinned to
    /// the primary under read-your-writes).
    pub(crate) fn recently_written(&self, key: u64, now: SimTime, pin: SimDuration) -> bool {
        self.keys
            .get(&key)
            .is_some_and(|w| !self.lost(w.lsn) && w.commit + pin > now)
    }

    /// Active-active: the node a caller in `region` uses — its region's node
    /// while it is in the pool, else the nearest node in the pool, else its
    /// region's node anyway (the query will fail).
    pub(crate) fn pick_active(
        &self,
        region: usize,
        latency: impl Fn(usize) -> SimDuration,
    ) -> usize {
        let n = self.nodes.len();
        let local = (0..n).find(|&i| self.nodes[i].region == region);
        if let Some(i) = local
            && self.nodes[i].in_read_pool
        {
            return i;
        }
        (0..n)
            .filter(|&i| self.nodes[i].in_read_pool)
            .min_by_key(|&i| (latency(self.nodes[i].region), i))
            .or(local)
            .unwrap_or(0)
    }

    /// Active-active: when a write committed on `origin` at `commit` is
    /// visible on node `at`: at once on its own node, else when its batch
    /// ships plus the latency between them; never if its node died before
    /// shipping it.
    fn aa_visible_at(
        &self,
        origin: usize,
        commit: SimTime,
        at: usize,
        interval: SimDuration,
        arrive: &dyn Fn(usize, usize, SimTime) -> SimTime,
    ) -> SimTime {
        if origin == at {
            return commit;
        }
        let node = &self.nodes[origin];
        let ships = boundary(commit, interval, node.sync_phase);
        if node.died_at >= commit && ships > node.died_at && node.died_at > SimTime::ZERO {
            return SimTime::MAX;
        }
        arrive(node.region, self.nodes[at].region, ships)
    }

    /// Whether the write `w` was lost with its node (never shipped).
    fn aa_lost(&self, w: &AaWrite, interval: SimDuration) -> bool {
        let node = &self.nodes[w.origin as usize];
        node.died_at > SimTime::ZERO
            && node.died_at >= w.commit
            && boundary(w.commit, interval, node.sync_phase) > node.died_at
    }

    /// Active-active: commits a write of `key` by `pop` on node `n` at
    /// `now`; true when it conflicts with a concurrent write from another
    /// node (one this node had not yet seen): last writer wins.
    pub(crate) fn aa_commit(
        &mut self,
        n: usize,
        key: u64,
        pop: u32,
        now: SimTime,
        interval: SimDuration,
        arrive: &dyn Fn(usize, usize, SimTime) -> SimTime,
    ) -> bool {
        let conflict = self.aa_keys.get(&key).is_some_and(|w| {
            w.origin as usize != n
                && !self.aa_lost(w, interval)
                && self.aa_visible_at(w.origin as usize, w.commit, n, interval, arrive) > now
        });
        self.aa_keys.insert(
            key,
            AaWrite {
                origin: n as u32,
                pop,
                commit: now,
            },
        );
        let ships = boundary(now, interval, self.nodes[n].sync_phase);
        // When a batch from `n` shipped at `t` has reached every node.
        let nodes = &self.nodes;
        let origin = nodes[n].region;
        let everywhere = |t: SimTime| {
            nodes
                .iter()
                .map(|x| arrive(origin, x.region, t))
                .max()
                .unwrap_or(t)
        };
        self.aa_recent
            .push_back((key, n as u32, now, everywhere(ships)));
        while let Some(&(k, origin, commit, everywhere)) = self.aa_recent.front() {
            if everywhere > now {
                break;
            }
            if self
                .aa_keys
                .get(&k)
                .is_some_and(|w| w.commit == commit && w.origin == origin)
            {
                self.aa_keys.remove(&k);
            }
            self.aa_recent.pop_front();
        }
        let batches = &mut self.aa_batches[n];
        match batches.back_mut() {
            Some(b) if b.ships == ships => b.writes += 1,
            _ => batches.push_back(Batch {
                ships,
                oldest: now,
                writes: 1,
            }),
        }
        // Keep the batches still travelling somewhere (a few intervals).
        while batches.len() > 1 && everywhere(batches[0].ships) < now {
            batches.pop_front();
        }
        conflict
    }

    /// Active-active: (stale, read-your-writes violation) of a read of
    /// `key` by `pop` on node `n` at `now`.
    pub(crate) fn aa_read_staleness(
        &self,
        n: usize,
        key: u64,
        pop: u32,
        now: SimTime,
        interval: SimDuration,
        arrive: &dyn Fn(usize, usize, SimTime) -> SimTime,
    ) -> (bool, bool) {
        match self.aa_keys.get(&key) {
            Some(w)
                if !self.aa_lost(w, interval)
                    && self.aa_visible_at(w.origin as usize, w.commit, n, interval, arrive)
                        > now =>
            {
                (true, w.pop == pop)
            }
            _ => (false, false),
        }
    }

    /// Active-active: how far node `n` is behind at `now` — since the
    /// commit of the oldest write elsewhere it cannot see yet.
    pub(crate) fn aa_lag(
        &self,
        n: usize,
        now: SimTime,
        arrive: &dyn Fn(usize, usize, SimTime) -> SimTime,
    ) -> SimDuration {
        let mut oldest: Option<SimTime> = None;
        for (a, batches) in self.aa_batches.iter().enumerate() {
            if a == n {
                continue;
            }
            let (from, to) = (self.nodes[a].region, self.nodes[n].region);
            let dead = self.nodes[a].died_at;
            if let Some(b) = batches.iter().find(|b| {
                arrive(from, to, b.ships) > now
                    && b.oldest <= now
                    && !(dead > SimTime::ZERO && b.oldest <= dead && b.ships > dead)
            }) {
                oldest = Some(oldest.map_or(b.oldest, |o: SimTime| o.min(b.oldest)));
            }
        }
        oldest.map_or(SimDuration::ZERO, |o| now.saturating_since(o))
    }

    /// Active-active: node `n` died at `now`; the writes it had not shipped
    /// yet are lost (they were acknowledged locally).
    pub(crate) fn aa_node_died(&mut self, n: usize, now: SimTime) {
        let (mut lost, mut oldest) = (0, None);
        for b in &self.aa_batches[n] {
            if b.ships > now {
                lost += b.writes;
                oldest = Some(oldest.map_or(b.oldest, |o: SimTime| o.min(b.oldest)));
            }
        }
        self.incidents.push(PrimaryIncident {
            died: now,
            detected: None,
            promoted: None,
            promoted_node: None,
            repointed: None,
            recovered: None,
            lost_writes: lost,
            loss_window: oldest.map_or(SimDuration::ZERO, |o| now.saturating_since(o)),
        });
    }

    /// Picks the node for a read from `region` under a replica policy: an
    /// up replica in the caller's region (round robin), else the nearest
    /// one by `latency`, else the primary.
    pub(crate) fn pick_replica(
        &mut self,
        region: usize,
        latency: impl Fn(usize) -> SimDuration,
    ) -> usize {
        let n = self.nodes.len();
        let candidates = |i: usize| i != self.primary && self.nodes[i].in_read_pool;
        let local = |i: usize| candidates(i) && self.nodes[i].region == region;
        let count = (0..n).filter(|&i| local(i)).count();
        if count > 0 {
            let pick = self.rr.wrapping_add(1) % count;
            self.rr = pick;
            return (0..n)
                .filter(|&i| local(i))
                .nth(pick)
                .unwrap_or(self.primary);
        }
        (0..n)
            .filter(|&i| candidates(i))
            .min_by_key(|&i| (latency(self.nodes[i].region), i))
            .unwrap_or(self.primary)
    }

    /// The result of a read of `key` by population `pop` on node `node` at
    /// `now`: (stale, read-your-writes violation).
    pub(crate) fn read_staleness(
        &mut self,
        node: usize,
        key: u64,
        pop: u32,
        now: SimTime,
    ) -> (bool, bool) {
        if node == self.primary {
            return (false, false);
        }
        self.nodes[node].refresh(now);
        let applied = self.nodes[node].applied_lsn;
        match self.keys.get(&key) {
            Some(w) if w.lsn > applied && w.acked <= now && !self.lost(w.lsn) => {
                (true, w.pop == pop)
            }
            _ => (false, false),
        }
    }

    /// Commits a write of `key` by `pop` on the primary at `now`: assigns
    /// its LSN, schedules it on every replica, and returns when the primary
    /// acknowledges it (before the return trip to the instance).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn commit(
        &mut self,
        key: u64,
        pop: u32,
        now: SimTime,
        config: &DatabaseConfig,
        latency: &dyn Fn(usize, usize) -> SimDuration,
        rng: &mut StreamRng,
        pin: SimDuration,
    ) -> SimTime {
        let lsn = self.next_lsn;
        self.next_lsn += 1;
        let primary_region = self.nodes[self.primary].region;
        let mut sync_ack = now;
        let mut first_receipt: Option<SimTime> = None;
        for i in 0..self.nodes.len() {
            if i == self.primary {
                continue;
            }
            let net = latency(primary_region, self.nodes[i].region);
            let delay = config.replication_delay.sample_duration(rng);
            let apply = config.apply_time.sample_duration(rng);
            let node = &mut self.nodes[i];
            if !node.up() {
                // Queued in its replication slot until it comes back.
                node.undelivered.push(lsn);
                continue;
            }
            let received = (now + net + delay).max(node.last_received);
            let applied = received.max(node.last_applied) + apply;
            node.last_received = received;
            node.last_applied = applied;
            node.log.push_back(LogEntry {
                lsn,
                received,
                applied,
            });
            let back = latency(node.region, primary_region);
            sync_ack = sync_ack.max(applied + back);
            let r = received + back;
            first_receipt = Some(first_receipt.map_or(r, |f: SimTime| f.min(r)));
        }
        let acked = match config.replication {
            ReplicationMode::Async => now,
            ReplicationMode::Sync => sync_ack,
            ReplicationMode::SemiSync => first_receipt.unwrap_or(now),
        };
        self.writes.push_back(WriteRecord {
            lsn,
            key,
            commit: now,
            acked,
        });
        self.keys.insert(
            key,
            KeyWrite {
                lsn,
                pop,
                acked,
                commit: now,
            },
        );
        self.prune(now, pin);
        acked
    }

    /// Forgets writes every replica applied and that no longer pin their
    /// key.
    fn prune(&mut self, now: SimTime, pin: SimDuration) {
        let primary = self.primary;
        let mut min_applied = u64::MAX;
        for (i, node) in self.nodes.iter_mut().enumerate() {
            if i == primary {
                continue;
            }
            node.refresh(now);
            let floor = if node.undelivered.is_empty() {
                node.applied_lsn
            } else {
                node.applied_lsn.min(node.undelivered[0].saturating_sub(1))
            };
            min_applied = min_applied.min(floor);
        }
        while let Some(w) = self.writes.front() {
            if w.lsn > min_applied || w.commit + pin > now {
                break;
            }
            if self.keys.get(&w.key).is_some_and(|k| k.lsn == w.lsn) {
                self.keys.remove(&w.key);
            }
            self.writes.pop_front();
        }
    }

    /// Lag of node `i` at `now`: how long ago the oldest write it has not
    /// applied was committed (0 when caught up).
    pub(crate) fn lag(&mut self, i: usize, now: SimTime) -> SimDuration {
        if i == self.primary {
            return SimDuration::ZERO;
        }
        self.nodes[i].refresh(now);
        let node = &self.nodes[i];
        let next = node
            .log
            .front()
            .map(|e| e.lsn)
            .into_iter()
            .chain(node.undelivered.first().copied())
            .min();
        match next {
            None => SimDuration::ZERO,
            Some(lsn) => self
                .writes
                .iter()
                .find(|w| w.lsn >= lsn)
                .map_or(SimDuration::ZERO, |w| now.saturating_since(w.commit)),
        }
    }

    /// The primary died at `now`: what replicas had not received never
    /// arrives (kept aside in case this primary comes back).
    pub(crate) fn primary_died(&mut self, now: SimTime) {
        self.primary_died = Some(now);
        self.incidents.push(PrimaryIncident {
            died: now,
            detected: None,
            promoted: None,
            promoted_node: None,
            repointed: None,
            recovered: None,
            lost_writes: 0,
            loss_window: SimDuration::ZERO,
        });
        let primary = self.primary;
        for (i, node) in self.nodes.iter_mut().enumerate() {
            if i == primary {
                continue;
            }
            while let Some(e) = node.log.back() {
                if e.received <= now {
                    break;
                }
                node.undelivered.insert(0, e.lsn);
                node.log.pop_back();
            }
            node.undelivered.sort_unstable();
            node.last_received = node.log.back().map_or(now, |e| e.received);
            node.last_applied = node.log.back().map_or(now, |e| e.applied);
        }
    }

    /// The replica that received the most (highest LSN), among live ones.
    pub(crate) fn promotion_candidate(&mut self, now: SimTime) -> Option<usize> {
        let primary = self.primary;
        for node in &mut self.nodes {
            node.refresh(now);
        }
        (0..self.nodes.len())
            .filter(|&i| i != primary && self.nodes[i].up())
            .max_by_key(|&i| {
                let node = &self.nodes[i];
                (
                    node.log.back().map_or(node.applied_lsn, |e| e.lsn),
                    usize::MAX - i,
                )
            })
    }

    /// Node `new` becomes primary at `now` (it replays what it received
    /// first): acknowledged writes it lacks are lost and counted in the
    /// current incident.
    pub(crate) fn promote(
        &mut self,
        new: usize,
        now: SimTime,
        config: &DatabaseConfig,
        latency: &dyn Fn(usize, usize) -> SimDuration,
        rng: &mut StreamRng,
    ) {
        let died = self.primary_died.unwrap_or(now);
        let node = &mut self.nodes[new];
        let have = node.log.back().map_or(node.applied_lsn, |e| e.lsn);
        node.log.clear();
        node.undelivered.clear();
        node.applied_lsn = have;
        let mut lost = 0;
        let mut oldest: Option<SimTime> = None;
        for w in &self.writes {
            if w.lsn > have && w.acked <= died && !self.lost(w.lsn) {
                lost += 1;
                oldest = Some(oldest.map_or(w.commit, |o: SimTime| o.min(w.commit)));
            }
        }
        self.lost_ranges.push((have, self.next_lsn));
        // Replicas follow the new primary: nothing above `have` exists.
        for (i, n) in self.nodes.iter_mut().enumerate() {
            if i == new {
                continue;
            }
            n.log.retain(|e| e.lsn <= have);
            n.undelivered.retain(|&l| l <= have);
        }
        let old = self.primary;
        self.nodes[old].demoted = true;
        self.primary = new;
        let region = self.nodes[new].region;
        for j in 0..self.nodes.len() {
            if j != new && j != old && self.nodes[j].up() {
                self.redeliver(j, now, config, latency, rng, region);
            }
        }
        if let Some(inc) = self.incidents.last_mut() {
            inc.promoted = Some(now);
            inc.promoted_node = Some(new);
            inc.lost_writes = lost;
            inc.loss_window = oldest.map_or(SimDuration::ZERO, |o| died.saturating_since(o));
        }
        self.primary_died = None;
    }

    /// A node came back at `now`. A primary that was not replaced resumes
    /// (replicas get what they missed, as if re-sent from `now`); a former
    /// primary or a replica rejoins as a replica and catches up.
    pub(crate) fn node_recovered(
        &mut self,
        i: usize,
        now: SimTime,
        config: &DatabaseConfig,
        latency: &dyn Fn(usize, usize) -> SimDuration,
        rng: &mut StreamRng,
    ) {
        let primary_region = self.nodes[self.primary].region;
        if i == self.primary {
            // The same primary is back: nothing was lost.
            self.primary_died = None;
            if let Some(inc) = self.incidents.last_mut()
                && inc.promoted.is_none()
            {
                inc.recovered = Some(now);
            }
            for j in 0..self.nodes.len() {
                if j != i && self.nodes[j].up() {
                    self.redeliver(j, now, config, latency, rng, primary_region);
                }
            }
            return;
        }
        if self.nodes[i].demoted {
            self.demoted_rejoins(i, now);
            return;
        }
        if self.primary_died.is_none() {
            self.redeliver(i, now, config, latency, rng, primary_region);
        }
    }

    fn redeliver(
        &mut self,
        j: usize,
        now: SimTime,
        config: &DatabaseConfig,
        latency: &dyn Fn(usize, usize) -> SimDuration,
        rng: &mut StreamRng,
        primary_region: usize,
    ) {
        let pending = std::mem::take(&mut self.nodes[j].undelivered);
        let net = latency(primary_region, self.nodes[j].region);
        let node = &mut self.nodes[j];
        for lsn in pending {
            if self.lost_ranges.iter().any(|&(a, b)| lsn > a && lsn < b) {
                continue;
            }
            let delay = config.replication_delay.sample_duration(rng);
            let apply = config.apply_time.sample_duration(rng);
            let received = (now + net + delay).max(node.last_received);
            let applied = received.max(node.last_applied) + apply;
            node.last_received = received;
            node.last_applied = applied;
            node.log.push_back(LogEntry {
                lsn,
                received,
                applied,
            });
        }
    }

    /// A former primary that was replaced rejoins as a replica, rebuilt
    /// from the new primary (caught up at once).
    fn demoted_rejoins(&mut self, i: usize, now: SimTime) {
        let node = &mut self.nodes[i];
        node.demoted = false;
        node.log.clear();
        node.undelivered.clear();
        node.applied_lsn = self.next_lsn - 1;
        node.last_received = now;
        node.last_applied = now;
    }
}

/// One database at run time.
#[derive(Debug)]
pub(crate) struct Database {
    /// Its shards.
    pub(crate) shards: Vec<Shard>,
    /// Key → shard.
    pub(crate) router: ShardRouter,
    /// Replication delays and apply times.
    pub(crate) rng: StreamRng,
    /// Reads answered from a replica that had not applied the newest
    /// acknowledged write to the key.
    pub(crate) stale_reads: u64,
    /// Stale reads whose missing write came from the reader's population.
    pub(crate) ryw_violations: u64,
    /// Reads and writes answered (measured window).
    pub(crate) reads: u64,
    /// Writes answered.
    pub(crate) writes: u64,
    /// Queries that failed (node down, queue full, read-only node).
    pub(crate) failed: u64,
    /// Active-active: writes that overwrote a concurrent write from another
    /// node (last writer wins).
    pub(crate) conflicts: u64,
}

impl Database {
    /// Builds the run-time state of `config`.
    pub(crate) fn new(config: &DatabaseConfig, mut rng: StreamRng) -> Self {
        let mut shards: Vec<Shard> = config.shard_nodes.iter().map(|n| Shard::new(n)).collect();
        if let Topology::ActiveActive { sync_interval } = config.topology {
            let phase = Distribution::uniform(0.0, sync_interval.as_secs_f64())
                .expect("a positive interval");
            for node in shards.iter_mut().flat_map(|s| s.nodes.iter_mut()) {
                node.sync_phase = phase.sample_duration(&mut rng);
            }
        }
        Database {
            shards,
            router: ShardRouter::new(config.sharding.clone(), config.shard_nodes.len()),
            rng,
            stale_reads: 0,
            ryw_violations: 0,
            reads: 0,
            writes: 0,
            failed: 0,
            conflicts: 0,
        }
    }
}

/// One cache node (a cache in one region).
#[derive(Debug)]
pub(crate) struct CacheNode {
    /// The keys it holds.
    pub(crate) cache: KeyCache,
    /// Faults holding it down.
    pub(crate) down_faults: u16,
    /// Lookups that hit, and that missed (measured window).
    pub(crate) hits: u64,
    /// Lookups that missed.
    pub(crate) misses: u64,
    /// Lookups skipped because it was down (reads went to the database).
    pub(crate) bypassed: u64,
    /// Stale values served when the database was unreachable.
    pub(crate) stale_served: u64,
}

/// The data tier at run time.
#[derive(Debug)]
pub(crate) struct DataState {
    /// Databases, as in the config.
    pub(crate) databases: Vec<Database>,
    /// `caches[c][r]`: cache `c`'s node in region `r`.
    pub(crate) caches: Vec<Vec<CacheNode>>,
}

/// Draws a uniform in [0, 1) from a query's generator (53 random bits).
pub(crate) fn unit(rng: &mut QueryRng) -> f64 {
    (rng.step() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}
