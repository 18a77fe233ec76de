//! Compact state fingerprints for the explorer's visited set.
//!
//! A visited state is remembered by a 128-bit hash of its *canonical form* (hash compaction:
//! 16 bytes a state; two different states collide with probability about 2^-128 per pair, so a
//! search over a billion states has a collision chance below 10^-20).
//!
//! # Symmetry reduction
//! The canonical form forgets what does not change the future up to renaming:
//! - which worker of a pool holds a task (workers of a pool are interchangeable): a held task
//!   records only its pool;
//! - slot numbers, serial numbers and scheduling sequence numbers of task instances: the state
//!   is described as a forest — each task with its type, step, status, its queue position if
//!   queued, and the *sorted multiset* of its children's descriptions (children in a `then`
//!   group are grouped under it). Instances of the same type at the same step with the same
//!   waiting relations therefore describe identically and are interchangeable;
//! - absolute time: timers are recorded relative to now (unless the scenario has a horizon);
//! - the order of the current dispatch round, which only orders options, not outcomes.
//!
//! Queue positions stay: which task is taken next matters.
//!
//! [`raw_fingerprint`] hashes the state without any of this, for the naive search that the
//! reductions are tested against.

use xxhash_rust::xxh3::xxh3_128;

use crate::engine::agenda::Timer;
use crate::engine::{InstanceId, Simulation, Status};

/// A 128-bit fingerprint of a state.
pub type Fingerprint = u128;

const NONE: u32 = u32::MAX;

struct Bytes(Vec<u8>);

impl Bytes {
    fn u64(&mut self, x: u64) -> &mut Self {
        self.0.extend_from_slice(&x.to_le_bytes());
        self
    }
    fn hash(&self) -> u128 {
        xxh3_128(&self.0)
    }
}

/// Scratch space for fingerprints, reused from state to state so that computing one does not
/// allocate.
#[derive(Default)]
pub struct Canon {
    timer_left: Vec<u64>,
    position: Vec<u64>,
    parent: Vec<u32>,
    /// Children of each instance as a compressed adjacency list: the children of `p` are
    /// `children[first_child[p]..first_child[p + 1]]`.
    children: Vec<u32>,
    first_child: Vec<u32>,
    roots: Vec<u32>,
    arrivals: Vec<(u32, u64)>,
    groups: Vec<(u32, u128, u64)>,
    words: Vec<u64>,
    /// Hashes of queued tasks by (type, queue, position); 0 until computed.
    leaves: Vec<u128>,
}

/// The canonical fingerprint of `sim` under symmetry reduction (allocates scratch space; the
/// explorer keeps a [`Canon`] instead).
pub fn fingerprint(sim: &Simulation<'_>) -> Fingerprint {
    Canon::default().fingerprint(sim)
}

impl Canon {
    /// The canonical fingerprint of `sim` under symmetry reduction.
    pub fn fingerprint(&mut self, sim: &Simulation<'_>) -> Fingerprint {
        let n = sim.slots();
        let now = sim.now();
        self.timer_left.clear();
        self.timer_left.resize(n, u64::MAX);
        self.arrivals.clear();
        for e in sim.agenda().iter() {
            match e.timer {
                Timer::Arrival { stream } => self.arrivals.push((stream, e.time - now)),
                Timer::WorkDone { task } => self.timer_left[task as usize] = e.time - now,
                Timer::Timeout { task, .. } if sim.is_live(&e.timer) => {
                    self.timer_left[task as usize] = e.time - now
                }
                Timer::Timeout { .. } => {}
            }
        }
        self.position.clear();
        self.position.resize(n, u64::MAX);
        for q in 0..sim.scenario().queues.len() {
            let position = &mut self.position;
            sim.queue(q)
                .for_each_in_order(|i, t| position[t as usize] = i as u64);
        }
        // Children lists by counting sort on the parent (their order does not matter).
        self.parent.clear();
        self.parent.resize(n, NONE);
        self.first_child.clear();
        self.first_child.resize(n + 2, 0);
        self.roots.clear();
        for (id, inst) in sim.instances() {
            if inst.status == Status::Free {
                continue;
            }
            match inst.parent.and_then(|l| sim.resolve(l)) {
                Some(p) => {
                    self.parent[id as usize] = p;
                    self.first_child[p as usize + 2] += 1;
                }
                None => self.roots.push(id),
            }
        }
        for i in 2..n + 2 {
            self.first_child[i] += self.first_child[i - 1];
        }
        self.children.clear();
        self.children.resize(self.first_child[n + 1] as usize, 0);
        for id in 0..n {
            let p = self.parent[id];
            if p != NONE {
                let slot = &mut self.first_child[p as usize + 1];
                self.children[*slot as usize] = id as u32;
                *slot += 1;
            }
        }
        // Roots: on their own, or under their `then` group when its owner is gone.
        let mut total = Multiset::default();
        self.groups.clear();
        for r in 0..self.roots.len() {
            let id = self.roots[r];
            let h = self.describe(sim, id);
            total.add(self, sim.instance(id).group, h);
        }
        let (sum, count) = total.finish(self, sim, 0);
        let mut words = std::mem::take(&mut self.words);
        words.clear();
        words.extend([9, count, sum as u64, (sum >> 64) as u64]);
        words.extend(sim.arrivals_sent().iter().copied());
        self.arrivals.sort_unstable();
        for &(stream, left) in &self.arrivals {
            words.extend([stream as u64, left]);
        }
        if sim.scenario().horizon.is_some() {
            words.push(now);
        }
        let h = mix(&words);
        self.words = words;
        h
    }

    /// Hash of one instance and everything below it.
    fn describe(&mut self, sim: &Simulation<'_>, id: InstanceId) -> u128 {
        let groups_base = self.groups.len();
        let mut children = Multiset::default();
        let (from, to) = (
            self.first_child[id as usize] as usize,
            self.first_child[id as usize + 1] as usize,
        );
        let inst = sim.instance(id);
        if from == to {
            if let Some(h) = self.queued_leaf(sim, id) {
                return h;
            }
        }
        for e in from..to {
            let child = self.children[e];
            let h = self.describe(sim, child);
            children.add(self, sim.instance(child).group, h);
        }
        let (sum, count) = children.finish(self, sim, groups_base);
        let (kind, detail) = match inst.status {
            Status::Free => (0, 0),
            Status::Queued(q) => (1, ((q as u64) << 32) | self.position[id as usize]),
            Status::Taken(w) => (2, sim.model.pool_of(w) as u64),
            Status::Working(w) => (3, sim.model.pool_of(w) as u64),
            Status::Waiting { worker, timed } => {
                (4 + timed as u64, sim.model.pool_of(worker) as u64)
            }
        };
        node_hash(
            inst.task as u64 | (inst.pc as u64) << 32,
            kind | (inst.child_failed as u64) << 8 | (inst.outstanding as u64) << 32,
            detail,
            self.timer_left[id as usize],
            count,
            sum,
        )
    }

    /// The hash of a task waiting in a queue, from a table: such a task has not run, so it is
    /// a leaf whose description is its type, queue and position alone — and most tasks of a
    /// state are such leaves.
    fn queued_leaf(&mut self, sim: &Simulation<'_>, id: InstanceId) -> Option<u128> {
        const POSITIONS: usize = 64;
        let inst = sim.instance(id);
        let Status::Queued(q) = inst.status else {
            return None;
        };
        let position = self.position[id as usize];
        let fresh = inst.pc == 0 && inst.outstanding == 0 && !inst.child_failed;
        if !fresh || position >= POSITIONS as u64 || self.timer_left[id as usize] != u64::MAX {
            return None;
        }
        let queues = sim.scenario().queues.len();
        let index = (inst.task * queues + q) * POSITIONS + position as usize;
        if self.leaves.len() <= index {
            self.leaves
                .resize(sim.scenario().tasks.len() * queues * POSITIONS, 0);
        }
        if self.leaves[index] == 0 {
            self.leaves[index] = node_hash(
                inst.task as u64,
                1,
                ((q as u64) << 32) | position,
                u64::MAX,
                0,
                0,
            );
        }
        Some(self.leaves[index])
    }
}

/// The hash of one task: its own description and the multiset of its children.
fn node_hash(task_pc: u64, state: u64, detail: u64, timer: u64, count: u64, sum: u128) -> u128 {
    mix(&[
        task_pc,
        state,
        detail,
        timer,
        count,
        sum as u64,
        (sum >> 64) as u64,
    ])
}

/// A multiset of subtree hashes, as a sum (which no order changes) and a count; members of a
/// `then` group are first summed under their group, kept in `Canon::groups` above a base.
#[derive(Default)]
struct Multiset {
    sum: u128,
    count: u64,
}

impl Multiset {
    fn add(&mut self, canon: &mut Canon, group: u32, h: u128) {
        if group == NONE {
            self.sum = self.sum.wrapping_add(h);
            self.count += 1;
            return;
        }
        match canon.groups.iter_mut().rev().find(|g| g.0 == group) {
            Some(g) => {
                g.1 = g.1.wrapping_add(h);
                g.2 += 1;
            }
            None => canon.groups.push((group, h, 1)),
        }
    }

    /// The sum and count, after adding the groups above `base`.
    fn finish(mut self, canon: &mut Canon, sim: &Simulation<'_>, base: usize) -> (u128, u64) {
        for &(group, members, n) in &canon.groups[base..] {
            let g = &sim.groups()[group as usize];
            let h = mix(&[
                3 | (g.then as u64) << 8,
                g.remaining as u64 | n << 32,
                members as u64,
                (members >> 64) as u64,
            ]);
            self.sum = self.sum.wrapping_add(h);
            self.count += 1;
        }
        canon.groups.truncate(base);
        (self.sum, self.count)
    }
}

/// A 128-bit hash of a few words: two independently seeded 64-bit lanes, each a multiply–rotate
/// fold finished with SplitMix64's avalanche.
fn mix(words: &[u64]) -> u128 {
    let lane = |seed: u64, k: u64| {
        let mut h = seed ^ (words.len() as u64);
        for &w in words {
            h = (h ^ w).wrapping_mul(k).rotate_left(29);
        }
        h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        h ^ (h >> 31)
    };
    ((lane(0x243f_6a88_85a3_08d3, 0x9e37_79b9_7f4a_7c15) as u128) << 64)
        | lane(0x1319_8a2e_0370_7344, 0xff51_afd7_ed55_8ccd) as u128
}

/// A fingerprint of `sim` with no reduction: slots, workers and the dispatch order as they are.
pub fn raw_fingerprint(sim: &Simulation<'_>) -> Fingerprint {
    let now = sim.now();
    let mut b = Bytes(Vec::with_capacity(256));
    for (id, inst) in sim.instances() {
        let (kind, detail) = match inst.status {
            Status::Free => {
                b.u64(id as u64).u64(0);
                continue;
            }
            Status::Queued(q) => (1, q as u64),
            Status::Taken(w) => (2, w as u64),
            Status::Working(w) => (3, w as u64),
            Status::Waiting { worker, timed } => (4 + timed as u64, worker as u64),
        };
        let parent = inst
            .parent
            .and_then(|l| sim.resolve(l))
            .map_or(u64::MAX, u64::from);
        b.u64(id as u64)
            .u64(kind)
            .u64(detail)
            .u64(inst.task as u64)
            .u64(inst.pc as u64)
            .u64(parent)
            .u64(inst.group as u64)
            .u64(inst.outstanding as u64)
            .u64(inst.child_failed as u64);
    }
    for g in sim.groups() {
        b.u64(g.remaining as u64).u64(g.then as u64);
    }
    for q in 0..sim.scenario().queues.len() {
        b.u64(u64::MAX);
        for t in sim.queue(q).in_order() {
            b.u64(t as u64);
        }
    }
    for &t in sim.just_taken() {
        b.u64(t as u64);
    }
    let mut timers: Vec<_> = sim
        .agenda()
        .iter()
        .filter(|e| sim.is_live(&e.timer))
        .map(|e| (e.seq, e.time - now, e.timer))
        .collect();
    timers.sort_unstable_by_key(|t| t.0);
    for (_, left, timer) in timers {
        b.u64(left);
        match timer {
            Timer::Arrival { stream } => b.u64(10).u64(stream as u64),
            Timer::WorkDone { task } => b.u64(11).u64(task as u64),
            Timer::Timeout { task, .. } => b.u64(12).u64(task as u64),
        };
    }
    for &sent in sim.arrivals_sent() {
        b.u64(sent);
    }
    b.u64(now);
    b.hash()
}
