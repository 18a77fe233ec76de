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
use crate::engine::{Instance, InstanceId, Simulation, Status};

/// A 128-bit fingerprint of a state.
pub type Fingerprint = u128;

const NONE: u32 = u32::MAX;

/// Queue positions whose leaf hashes are kept in `Canon::leaves` (further ones are computed).
const LEAF_POSITIONS: usize = 64;

/// log2 of the number of entries of `Canon::held_leaves`.
const HELD_LEAF_BITS: u32 = 8;

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

/// Where a subtree hash is added: the multiset of the task held by worker `w` (index `w`), or
/// the multiset of the roots (index `workers`).
type Container = usize;

/// A multiset of subtree hashes, as a sum (which no order changes) and a count.
#[derive(Clone, Copy, Default)]
struct Multiset {
    sum: u128,
    count: u64,
}

impl Multiset {
    fn add(&mut self, h: u128) {
        self.sum = self.sum.wrapping_add(h);
        self.count += 1;
    }
}

/// The members of one `then` group found so far, all in one container.
struct GroupSum {
    container: Container,
    group: u32,
    members: Multiset,
}

/// Scratch space for fingerprints, reused from state to state so that computing one does not
/// allocate.
///
/// # How a fingerprint is computed
/// Every live task is either queued or held by a worker, and a task that has children has run,
/// so it holds a worker until it finishes. A task's description therefore goes into one of
/// `workers + 1` *containers*: the multiset of its parent's children, indexed by the parent's
/// worker, or the multiset of the roots. So the forest is hashed bottom-up without building it:
/// queued tasks (leaves, never run) straight from the queues, then the held tasks — at most one
/// per worker — each once every held child of it is described. The work per state is linear in
/// the queued tasks plus the workers, with no scan of the instance table and nothing to clear
/// but a few per-worker entries.
#[derive(Default)]
pub struct Canon {
    /// Per container: the multiset of the descriptions added so far.
    children: Vec<Multiset>,
    /// Per worker: time left on the held task's timer (`u64::MAX` when it has none).
    timer_left: Vec<u64>,
    /// Per worker: the container of the held task.
    container: Vec<Container>,
    /// Per worker: held children of the held task not described yet.
    pending: Vec<u32>,
    /// Workers whose held task can be described (every held child of it is).
    ready: Vec<u32>,
    arrivals: Vec<(u32, u64)>,
    groups: Vec<GroupSum>,
    words: Vec<u64>,
    /// Hashes of queued tasks by (type, queue, position), for positions below
    /// [`LEAF_POSITIONS`]; 0 until computed.
    leaves: Vec<u128>,
    /// Hashes of childless held tasks by their own description: a direct-mapped cache of
    /// `1 << HELD_LEAF_BITS` entries.
    held_leaves: Vec<Option<([u64; 4], u128)>>,
}

/// The canonical fingerprint of `sim` under symmetry reduction (allocates scratch space; the
/// explorer keeps a [`Canon`] instead).
pub fn fingerprint(sim: &Simulation<'_>) -> Fingerprint {
    Canon::default().fingerprint(sim)
}

impl Canon {
    /// The canonical fingerprint of `sim` under symmetry reduction.
    pub fn fingerprint(&mut self, sim: &Simulation<'_>) -> Fingerprint {
        let workers = sim.workers();
        let roots = workers.len();
        let now = sim.now();
        if self.children.len() != roots + 1 {
            self.children.resize(roots + 1, Multiset::default());
            self.timer_left.resize(roots, u64::MAX);
            self.pending.resize(roots, 0);
            self.container.resize(roots, roots);
        }
        self.children.fill(Multiset::default());
        self.timer_left.fill(u64::MAX);
        self.pending.fill(0);
        self.groups.clear();
        self.arrivals.clear();
        for e in sim.agenda().iter() {
            let task = match e.timer {
                Timer::Arrival { stream } => {
                    self.arrivals.push((stream, e.time - now));
                    continue;
                }
                Timer::WorkDone { task } => task,
                Timer::Timeout { task, .. } if sim.is_live(&e.timer) => task,
                Timer::Timeout { .. } => continue,
            };
            self.timer_left[held_by(sim, task)] = e.time - now;
        }
        // Held tasks: where each goes, and how many held children each waits for.
        for (w, &held) in workers.iter().enumerate() {
            if let Some(task) = held {
                let c = container_of(sim, task, roots);
                self.container[w] = c;
                if c != roots {
                    self.pending[c] += 1;
                }
            }
        }
        // Queued tasks, from the queues (so their positions come for free). Siblings are
        // usually queued together, so the last parent's container is remembered.
        let queues = sim.scenario().queues.len();
        let table = sim.scenario().tasks.len() * queues * LEAF_POSITIONS;
        if self.leaves.len() < table {
            self.leaves.resize(table, 0);
        }
        let mut last_parent = None;
        let mut last_container = roots;
        for q in 0..queues {
            sim.queue(q).for_each_in_order(|position, task| {
                let inst = sim.instance(task);
                let h = self.queued_leaf(inst, q, position as u64, queues);
                let c = if inst.parent == last_parent {
                    last_container
                } else {
                    last_parent = inst.parent;
                    last_container = container_of(sim, task, roots);
                    last_container
                };
                self.add(c, inst.group, h);
            });
        }
        // Held tasks, bottom-up.
        self.ready.clear();
        for (w, &held) in workers.iter().enumerate() {
            if held.is_some() && self.pending[w] == 0 {
                self.ready.push(w as u32);
            }
        }
        while let Some(w) = self.ready.pop() {
            let w = w as usize;
            let task = workers[w].expect("a ready worker holds a task");
            let h = self.held_node(sim, task, w);
            let c = self.container[w];
            self.add(c, sim.instance(task).group, h);
            if c != roots {
                self.pending[c] -= 1;
                if self.pending[c] == 0 {
                    self.ready.push(c as u32);
                }
            }
        }
        let total = self.finish(sim, roots);
        let mut words = std::mem::take(&mut self.words);
        words.clear();
        words.extend([9, total.count, total.sum as u64, (total.sum >> 64) as u64]);
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

    /// Adds a subtree hash to container `c`: to its multiset directly, or, for a member of a
    /// `then` group, to the group's sum (the group joins the multiset in [`Canon::finish`]).
    fn add(&mut self, c: Container, group: u32, h: u128) {
        if group == NONE {
            self.children[c].add(h);
            return;
        }
        match self.groups.iter_mut().find(|g| g.group == group) {
            Some(g) => g.members.add(h),
            None => self.groups.push(GroupSum {
                container: c,
                group,
                members: Multiset { sum: h, count: 1 },
            }),
        }
    }

    /// The multiset of container `c`, with each group of it added as one element.
    fn finish(&mut self, sim: &Simulation<'_>, c: Container) -> Multiset {
        let mut set = self.children[c];
        let mut i = 0;
        while i < self.groups.len() {
            if self.groups[i].container != c {
                i += 1;
                continue;
            }
            let GroupSum { group, members, .. } = self.groups.swap_remove(i);
            let g = &sim.groups()[group as usize];
            set.add(mix(&[
                3 | (g.then as u64) << 8,
                g.remaining as u64 | members.count << 32,
                members.sum as u64,
                (members.sum >> 64) as u64,
            ]));
        }
        set
    }

    /// Hash of the task held by worker `w` and everything below it (every child of it has
    /// been added to container `w`).
    fn held_node(&mut self, sim: &Simulation<'_>, task: InstanceId, w: usize) -> u128 {
        let inst = sim.instance(task);
        let children = self.finish(sim, w);
        let pool = sim.model.pool_of(w as u32) as u64;
        let kind = match inst.status {
            Status::Taken(_) => 2,
            Status::Working(_) => 3,
            Status::Waiting { timed, .. } => 4 + timed as u64,
            Status::Free | Status::Queued(_) => unreachable!("a held task holds its worker"),
        };
        let own = [
            inst.task as u64 | (inst.pc as u64) << 32,
            kind | (inst.child_failed as u64) << 8 | (inst.outstanding as u64) << 32,
            pool,
            self.timer_left[w],
        ];
        if children.count != 0 {
            return node_hash(own[0], own[1], own[2], own[3], children.count, children.sum);
        }
        // A childless held task (one just taken, or working on a subtask's `work`): its hash
        // depends on its own four words only, and few distinct ones occur, so it is cached.
        let slot = (own[0] ^ own[1].rotate_left(21) ^ own[2].rotate_left(42) ^ own[3])
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            >> (64 - HELD_LEAF_BITS);
        if self.held_leaves.is_empty() {
            self.held_leaves.resize(1 << HELD_LEAF_BITS, None);
        }
        match self.held_leaves[slot as usize] {
            Some((key, h)) if key == own => h,
            _ => {
                let h = node_hash(own[0], own[1], own[2], own[3], 0, 0);
                self.held_leaves[slot as usize] = Some((own, h));
                h
            }
        }
    }

    /// The hash of a task waiting in queue `q` at `position`. Such a task has not run, so it
    /// is a leaf with no timer whose description is its type, queue and position alone — and
    /// most tasks of a state are such leaves, so their hashes come from a table.
    #[inline]
    fn queued_leaf(&mut self, inst: &Instance, q: usize, position: u64, queues: usize) -> u128 {
        let detail = ((q as u64) << 32) | position;
        let fresh = inst.pc == 0 && inst.outstanding == 0 && !inst.child_failed;
        if !fresh || position >= LEAF_POSITIONS as u64 {
            return node_hash(
                inst.task as u64 | (inst.pc as u64) << 32,
                1 | (inst.child_failed as u64) << 8 | (inst.outstanding as u64) << 32,
                detail,
                u64::MAX,
                0,
                0,
            );
        }
        let index = (inst.task * queues + q) * LEAF_POSITIONS + position as usize;
        let leaf = &mut self.leaves[index];
        if *leaf == 0 {
            *leaf = node_hash(inst.task as u64, 1, detail, u64::MAX, 0, 0);
        }
        *leaf
    }
}

/// The worker holding `task` (a task with a timer is working or waiting).
fn held_by(sim: &Simulation<'_>, task: InstanceId) -> usize {
    sim.instance(task)
        .status
        .worker()
        .expect("a task with a timer holds a worker") as usize
}

/// Where `task`'s description goes: its parent's container if the parent is alive (a parent
/// has run, so it holds a worker until it finishes), else the roots.
fn container_of(sim: &Simulation<'_>, task: InstanceId, roots: Container) -> Container {
    match sim.instance(task).parent.and_then(|l| sim.resolve(l)) {
        Some(parent) => held_by(sim, parent),
        None => roots,
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

#[cfg(test)]
mod tests;
