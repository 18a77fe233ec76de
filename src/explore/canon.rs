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
    fn u128(&mut self, x: u128) -> &mut Self {
        self.0.extend_from_slice(&x.to_le_bytes());
        self
    }
    fn hash(&self) -> u128 {
        xxh3_128(&self.0)
    }
}

/// Scratch space for fingerprints, reused from state to state so that computing one does not
/// allocate.
pub struct Canon {
    timer_left: Vec<u64>,
    position: Vec<u64>,
    /// Children of each instance as a compressed adjacency list: `(parent, child)` sorted.
    edges: Vec<(u32, u32)>,
    first_edge: Vec<u32>,
    roots: Vec<u32>,
    arrivals: Vec<(u32, u64)>,
    stack: Vec<(u32, u128)>,
    buf: Bytes,
}

impl Default for Canon {
    fn default() -> Canon {
        Canon {
            timer_left: Vec::new(),
            position: Vec::new(),
            edges: Vec::new(),
            first_edge: Vec::new(),
            roots: Vec::new(),
            arrivals: Vec::new(),
            stack: Vec::new(),
            buf: Bytes(Vec::with_capacity(256)),
        }
    }
}

/// The canonical fingerprint of `sim` under symmetry reduction (allocates scratch space; the
/// explorer keeps a [`Canon`] instead).
pub fn fingerprint(sim: &Simulation<'_>) -> Fingerprint {
    Canon::default().fingerprint(sim)
}

impl Canon {
    /// The canonical fingerprint of `sim` under symmetry reduction.
    pub fn fingerprint(&mut self, sim: &Simulation<'_>) -> Fingerprint {
        let n = sim.instances().count();
        let now = sim.now();
        self.timer_left.clear();
        self.timer_left.resize(n, u64::MAX);
        for e in sim.agenda().iter() {
            if !sim.is_live(&e.timer) {
                continue;
            }
            if let Timer::WorkDone { task } | Timer::Timeout { task, .. } = e.timer {
                self.timer_left[task as usize] = e.time - now;
            }
        }
        self.position.clear();
        self.position.resize(n, u64::MAX);
        for q in 0..sim.scenario().queues.len() {
            let position = &mut self.position;
            sim.queue(q)
                .for_each_in_order(|i, t| position[t as usize] = i as u64);
        }
        self.edges.clear();
        self.roots.clear();
        for (id, inst) in sim.instances() {
            if inst.status == Status::Free {
                continue;
            }
            match inst.parent.and_then(|l| sim.resolve(l)) {
                Some(p) => self.edges.push((p, id)),
                None => self.roots.push(id),
            }
        }
        self.edges.sort_unstable();
        self.first_edge.clear();
        self.first_edge.resize(n + 1, 0);
        for &(p, _) in &self.edges {
            self.first_edge[p as usize + 1] += 1;
        }
        for i in 0..n {
            self.first_edge[i + 1] += self.first_edge[i];
        }
        // Roots: hashed on their own, or under their `then` group when its owner is gone.
        self.stack.clear();
        for r in 0..self.roots.len() {
            let id = self.roots[r];
            let h = self.describe(sim, id);
            self.stack.push((sim.instance(id).group, h));
        }
        let top = self.combine(sim, 0);
        self.buf.0.clear();
        self.buf.u64(9).u128(top);
        for &sent in sim.arrivals_sent() {
            self.buf.u64(sent);
        }
        // Pending arrivals, one per stream at most, in stream order.
        self.arrivals.clear();
        for e in sim.agenda().iter() {
            if let Timer::Arrival { stream } = e.timer {
                self.arrivals.push((stream, e.time - now));
            }
        }
        self.arrivals.sort_unstable();
        for &(stream, left) in &self.arrivals {
            self.buf.u64(stream as u64).u64(left);
        }
        if sim.scenario().horizon.is_some() {
            self.buf.u64(now);
        }
        self.buf.hash()
    }

    /// Hash of one instance and everything below it.
    fn describe(&mut self, sim: &Simulation<'_>, id: InstanceId) -> u128 {
        let base = self.stack.len();
        let (from, to) = (
            self.first_edge[id as usize] as usize,
            self.first_edge[id as usize + 1] as usize,
        );
        for e in from..to {
            let child = self.edges[e].1;
            let h = self.describe(sim, child);
            self.stack.push((sim.instance(child).group, h));
        }
        let children = self.combine(sim, base);
        let inst = sim.instance(id);
        let (kind, detail) = match inst.status {
            Status::Free => (0, 0),
            Status::Queued(q) => (1, ((q as u64) << 32) | self.position[id as usize]),
            Status::Taken(w) => (2, sim.model.pool_of(w) as u64),
            Status::Working(w) => (3, sim.model.pool_of(w) as u64),
            Status::Waiting { worker, timed } => {
                (4 + timed as u64, sim.model.pool_of(worker) as u64)
            }
        };
        mix(&[
            1,
            inst.task as u64,
            inst.pc as u64,
            kind,
            detail,
            inst.outstanding as u64,
            inst.child_failed as u64,
            self.timer_left[id as usize],
            children as u64,
            (children >> 64) as u64,
        ])
    }

    /// Pops the `(group, hash)` entries above `base` and hashes them as a multiset (a sum of
    /// hashes, which no order changes), members of one `then` group first summed under their
    /// group.
    fn combine(&mut self, sim: &Simulation<'_>, base: usize) -> u128 {
        let mut total = 0u128;
        let mut count = 0u64;
        let items = &mut self.stack[base..];
        // Groups are few: sort only when one is present.
        if items.iter().any(|&(g, _)| g != NONE) {
            items.sort_unstable_by_key(|&(g, _)| g);
        }
        let mut i = 0;
        while i < items.len() {
            let group = items[i].0;
            count += 1;
            if group == NONE {
                total = total.wrapping_add(items[i].1);
                i += 1;
                continue;
            }
            let mut members = 0u128;
            let mut n = 0u64;
            while i < items.len() && items[i].0 == group {
                members = members.wrapping_add(items[i].1);
                n += 1;
                i += 1;
            }
            let g = &sim.groups()[group as usize];
            total = total.wrapping_add(mix(&[
                3,
                g.then as u64,
                g.remaining as u64,
                n,
                members as u64,
                (members >> 64) as u64,
            ]));
        }
        self.stack.truncate(base);
        mix(&[2, count, total as u64, (total >> 64) as u64])
    }
}

/// A 128-bit hash of a few words: two independently seeded 64-bit lanes, each a multiply–xor
/// fold finished with SplitMix64's avalanche.
fn mix(words: &[u64]) -> u128 {
    let lane = |seed: u64| {
        let mut h = seed;
        for &w in words {
            h = (h ^ w).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            h ^= h >> 29;
        }
        h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        h ^ (h >> 31)
    };
    ((lane(0x243f_6a88_85a3_08d3) as u128) << 64) | lane(0x1319_8a2e_0370_7344) as u128
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
