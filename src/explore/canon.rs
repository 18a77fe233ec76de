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

use xxhash_rust::xxh3::Xxh3;

use crate::engine::agenda::Timer;
use crate::engine::{InstanceId, Simulation, Status};

/// A 128-bit fingerprint of a state.
pub type Fingerprint = u128;

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
}

fn hash(bytes: &[u8]) -> u128 {
    let mut h = Xxh3::new();
    h.update(bytes);
    h.digest128()
}

/// The canonical fingerprint of `sim` under symmetry reduction.
pub fn fingerprint(sim: &Simulation<'_>) -> Fingerprint {
    let n = sim.instances().count();
    let now = sim.now();
    // Relative time left on each instance's pending timer (work done or timeout).
    let mut timer_left = vec![u64::MAX; n];
    for e in sim.agenda().iter() {
        if !sim.is_live(&e.timer) {
            continue;
        }
        match e.timer {
            Timer::WorkDone { task } | Timer::Timeout { task, .. } => {
                timer_left[task as usize] = e.time - now
            }
            Timer::Arrival { .. } => {}
        }
    }
    // Queue positions.
    let mut position = vec![u64::MAX; n];
    for q in 0..sim.scenario().queues.len() {
        for (i, t) in sim.queue(q).in_order().into_iter().enumerate() {
            position[t as usize] = i as u64;
        }
    }
    // Children by parent, split by group.
    let mut kids: Vec<Vec<InstanceId>> = vec![Vec::new(); n];
    let mut roots: Vec<InstanceId> = Vec::new();
    for (id, inst) in sim.instances() {
        if inst.status == Status::Free {
            continue;
        }
        match inst.parent.and_then(|l| sim.resolve(l)) {
            Some(p) => kids[p as usize].push(id),
            None => roots.push(id),
        }
    }
    let mut memo: Vec<Option<u128>> = vec![None; n];
    let mut buf = Bytes(Vec::with_capacity(128));
    let mut top: Vec<u128> = Vec::with_capacity(roots.len() + 4);
    // Roots not in a live-owned group hash on their own; members of groups whose owner is gone
    // hash under their group.
    let mut orphan_groups: std::collections::BTreeMap<u32, Vec<u128>> = Default::default();
    for &r in &roots {
        let h = describe(sim, r, &kids, &timer_left, &position, &mut memo, &mut buf);
        let g = sim.instance(r).group;
        if g != u32::MAX {
            orphan_groups.entry(g).or_default().push(h);
        } else {
            top.push(h);
        }
    }
    for (g, mut members) in orphan_groups {
        members.sort_unstable();
        let group = &sim.groups()[g as usize];
        buf.0.clear();
        buf.u64(3)
            .u64(group.then as u64)
            .u64(group.remaining as u64);
        for m in members {
            buf.u128(m);
        }
        top.push(hash(&buf.0));
    }
    top.sort_unstable();
    buf.0.clear();
    buf.u64(9);
    for t in top {
        buf.u128(t);
    }
    for &sent in sim.arrivals_sent() {
        buf.u64(sent);
    }
    let mut arrivals: Vec<(u32, u64)> = sim
        .agenda()
        .iter()
        .filter_map(|e| match e.timer {
            Timer::Arrival { stream } => Some((stream, e.time - now)),
            _ => None,
        })
        .collect();
    arrivals.sort_unstable();
    for (stream, left) in arrivals {
        buf.u64(stream as u64).u64(left);
    }
    if sim.scenario().horizon.is_some() {
        buf.u64(now);
    }
    hash(&buf.0)
}

fn describe(
    sim: &Simulation<'_>,
    id: InstanceId,
    kids: &[Vec<InstanceId>],
    timer_left: &[u64],
    position: &[u64],
    memo: &mut Vec<Option<u128>>,
    buf: &mut Bytes,
) -> u128 {
    if let Some(h) = memo[id as usize] {
        return h;
    }
    // Children first (depth is bounded by the scenario's nesting).
    let mut ungrouped = Vec::new();
    let mut grouped: std::collections::BTreeMap<u32, Vec<u128>> = Default::default();
    for &c in &kids[id as usize] {
        let h = describe(sim, c, kids, timer_left, position, memo, buf);
        let g = sim.instance(c).group;
        if g == u32::MAX {
            ungrouped.push(h);
        } else {
            grouped.entry(g).or_default().push(h);
        }
    }
    let mut groups: Vec<u128> = grouped
        .into_iter()
        .map(|(g, mut members)| {
            members.sort_unstable();
            let group = &sim.groups()[g as usize];
            let mut b = Bytes(Vec::with_capacity(24 + 16 * members.len()));
            b.u64(3).u64(group.then as u64).u64(group.remaining as u64);
            for m in members {
                b.u128(m);
            }
            hash(&b.0)
        })
        .collect();
    groups.sort_unstable();
    ungrouped.sort_unstable();
    let inst = sim.instance(id);
    buf.0.clear();
    let (kind, detail) = match inst.status {
        Status::Free => (0, 0),
        Status::Queued(q) => (1, ((q as u64) << 32) | position[id as usize]),
        Status::Taken(w) => (2, sim.model.pool_of(w) as u64),
        Status::Working(w) => (3, sim.model.pool_of(w) as u64),
        Status::Waiting { worker, timed } => (4 + timed as u64, sim.model.pool_of(worker) as u64),
    };
    buf.u64(1)
        .u64(inst.task as u64)
        .u64(inst.pc as u64)
        .u64(kind)
        .u64(detail)
        .u64(inst.outstanding as u64)
        .u64(inst.child_failed as u64)
        .u64(timer_left[id as usize]);
    // Whether this instance itself belongs to a group is described by the group node above it.
    buf.u64(ungrouped.len() as u64);
    for h in ungrouped {
        buf.u128(h);
    }
    buf.u64(groups.len() as u64);
    for h in groups {
        buf.u128(h);
    }
    let h = hash(&buf.0);
    memo[id as usize] = Some(h);
    h
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
    hash(&b.0)
}
