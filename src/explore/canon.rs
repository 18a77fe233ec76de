//! Compact state fingerprints for the explorer's visited set.
//!
//! A visited state is remembered by a 128-bit hash of its *canonical form* (hash compaction:
//! 16 bytes a state). With hashes that behave like random functions, two different states
//! collide with probability about 2^-128 per pair, so a search over a billion states has a
//! collision chance below 10^-20; the additive multiset hashing below keeps that property for
//! random-like element hashes, but it is a hash, not a proof.
//!
//! # Symmetry reduction
//! The canonical form forgets what does not change the future up to renaming:
//! - which worker of a pool holds a task (workers of a pool are interchangeable): a held task
//!   records only its pool;
//! - slot numbers, serial numbers and scheduling sequence numbers of task instances: the state
//!   is described as a forest — each task with its type, step, status, its queue position if
//!   queued, and the *multiset* of its children's descriptions, hashed as a wrapping sum of
//!   their hashes so that no order enters it (children in a `then` group are grouped under
//!   it). Instances of the same type at the same step with the same
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
use crate::engine::{Activity, Instance, InstanceId, Link, Simulation, Status, Worker};

/// A 128-bit fingerprint of a state.
pub type Fingerprint = u128;

const NONE: u32 = u32::MAX;

/// `Canon::pending` of a worker whose held task is described.
const DONE: u32 = u32::MAX;

/// Queue positions whose leaf hashes are kept in `Canon::leaves` (further ones are computed).
const LEAF_POSITIONS: usize = 64;

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
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Multiset {
    sum: u128,
    count: u64,
}

impl Multiset {
    fn add(&mut self, h: u128) {
        self.sum = self.sum.wrapping_add(h);
        self.count += 1;
    }

    /// Takes out `h`, which was added.
    fn remove(&mut self, h: u128) {
        self.sum = self.sum.wrapping_sub(h);
        self.count -= 1;
    }

    /// Puts `new` in the place of `old`, which was added.
    fn replace(&mut self, old: u128, new: u128) {
        self.sum = self.sum.wrapping_sub(old).wrapping_add(new);
    }
}

/// The members of one `then` group found so far, all in one container.
struct GroupSum {
    container: Container,
    group: u32,
    members: Multiset,
}

/// What a fingerprint gathers about one container, and about the task held by its worker (the
/// roots' container has no worker, and uses `children` only). Kept together so that each
/// worker's entry is one lookup.
#[derive(Clone, Copy)]
struct Slot {
    /// The multiset of the descriptions added so far.
    children: Multiset,
    /// Time left on the held task's timer (`u64::MAX` when it has none).
    timer_left: u64,
    /// The container of the held task.
    container: u32,
    /// Held children of the held task not described yet; `DONE` once the held task itself
    /// is described.
    pending: u32,
}

impl Slot {
    const EMPTY: Slot = Slot {
        children: Multiset { sum: 0, count: 0 },
        timer_left: u64::MAX,
        container: 0,
        pending: 0,
    };
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
    /// Per container (so per worker, then the roots).
    slots: Vec<Slot>,
    arrivals: Vec<(u32, u64)>,
    groups: Vec<GroupSum>,
    words: Vec<u64>,
    /// Hashes of fresh queued tasks by (type, queue, position), for positions below
    /// [`LEAF_POSITIONS`], for `leaf_shape` (types, queues).
    leaves: Vec<u128>,
    leaf_shape: (usize, usize),
    /// The same, minus the hash one position further (what a task moving up adds).
    shifts: Vec<u128>,
    /// Workers whose node is to be recomputed ([`Canon::fingerprint_after`]), as flags and
    /// as a list; also the workers in the order their nodes are computed.
    dirty: Vec<bool>,
    order: Vec<u32>,
    /// What arrivals led to, learnt for [`Canon::predict`]: by (arrivals hash before, stream),
    /// the arrivals hash after. Only looked up, never walked, so its order reaches nothing.
    arrival_memo: std::collections::HashMap<(u128, u32), u128>,
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
        self.slots.clear();
        self.slots.resize(roots + 1, Slot::EMPTY);
        self.groups.clear();
        self.arrivals.clear();
        self.read_timers(sim, now);
        // Held tasks: where each goes, and how many held children each waits for.
        for (w, held) in workers.iter().map(Worker::task).enumerate() {
            if let Some(task) = held {
                let c = container_of(sim, task, roots);
                self.slots[w].container = c as u32;
                if c != roots {
                    self.slots[c].pending += 1;
                }
            }
        }
        self.add_queued(sim, roots);
        self.add_held(sim, roots);
        let total = self.finish(sim, roots);
        let arrivals = self.arrivals_hash(sim);
        seal(sim, total, arrivals)
    }

    /// The hash of what is left to arrive: arrivals sent per stream, and the time left to each
    /// stream's next arrival (read into `self.arrivals`, in any order).
    fn arrivals_hash(&mut self, sim: &Simulation<'_>) -> u128 {
        let mut words = std::mem::take(&mut self.words);
        words.clear();
        words.extend(sim.arrivals_sent().iter().copied());
        self.arrivals.sort_unstable();
        for &(stream, left) in &self.arrivals {
            words.extend([stream as u64, left]);
        }
        let h = mix(&words);
        self.words = words;
        h
    }

    /// Pending timers: arrivals (kept apart, by stream) and the time left on each held task's
    /// work or wait.
    #[inline]
    fn read_timers(&mut self, sim: &Simulation<'_>, now: u64) {
        for_each_timer(sim, now, &mut self.arrivals, |w, left| {
            self.slots[w].timer_left = left
        });
    }

    /// Queued tasks, from the queues (so their positions come for free). Siblings are usually
    /// queued together, so the last parent's container is remembered.
    #[inline(never)]
    fn add_queued(&mut self, sim: &Simulation<'_>, roots: Container) {
        let queues = sim.scenario().queues.len();
        self.fill_leaves(sim.scenario().tasks.len(), queues);
        let mut last = (None, roots);
        for q in 0..queues {
            let queue = sim.queue(q);
            last = match queue.fifo_slice() {
                Some(tasks) => self.add_queue(sim, q, tasks.iter().copied(), last),
                None => self.add_queue(sim, q, queue.iter_in_order(), last),
            };
        }
    }

    /// The tasks of queue `q`, in order, into their containers; `last` is the last parent
    /// met and its container, carried from queue to queue.
    #[inline(always)]
    fn add_queue(
        &mut self,
        sim: &Simulation<'_>,
        q: usize,
        tasks: impl Iterator<Item = InstanceId>,
        last: (Option<Link>, Container),
    ) -> (Option<Link>, Container) {
        let queues = sim.scenario().queues.len();
        let roots = sim.workers().len();
        let (mut last_parent, mut last_container) = last;
        for (position, task) in tasks.enumerate() {
            let inst = sim.instance(task);
            let h = self.queued_leaf(inst, q, position, queues);
            if inst.parent != last_parent {
                last_parent = inst.parent;
                last_container = container_of(sim, task, roots);
            }
            if inst.group == NONE {
                self.slots[last_container].children.add(h);
            } else {
                self.add_to_group(last_container, inst.group, h);
            }
        }
        (last_parent, last_container)
    }

    /// Held tasks, bottom-up: from each held task with no held child, up the chain of its
    /// ancestors as far as each has every held child described. A described worker's count
    /// becomes `DONE`, so that the scan does not describe it again.
    #[inline(never)]
    fn add_held(&mut self, sim: &Simulation<'_>, roots: Container) {
        let workers = sim.workers();
        for (first, held) in workers.iter().map(Worker::task).enumerate() {
            let Some(mut task) = held else { continue };
            if self.slots[first].pending != 0 {
                continue;
            }
            let mut w = first;
            loop {
                let inst = sim.instance(task);
                let slot = &mut self.slots[w];
                slot.pending = DONE;
                let (children, timer_left, c) =
                    (slot.children, slot.timer_left, slot.container as usize);
                let children = self.with_groups(sim, w, children);
                let h = held_node(sim, inst, w, timer_left, children);
                if inst.group != NONE {
                    self.add_to_group(c, inst.group, h);
                } else {
                    self.slots[c].children.add(h);
                }
                if c == roots {
                    break;
                }
                let parent = &mut self.slots[c];
                parent.pending -= 1;
                if parent.pending != 0 {
                    break;
                }
                w = c;
                task = workers[w].task().expect("a container worker holds a task");
            }
        }
    }

    /// Fills the table of queued leaves' hashes for `tasks` task types and `queues` queues.
    fn fill_leaves(&mut self, tasks: usize, queues: usize) {
        if self.leaf_shape == (tasks, queues) && !self.leaves.is_empty() {
            return;
        }
        self.leaf_shape = (tasks, queues);
        self.leaves = (0..tasks * queues * LEAF_POSITIONS)
            .map(|i| {
                let position = (i % LEAF_POSITIONS) as u64;
                let q = (i / LEAF_POSITIONS % queues) as u64;
                let task = (i / LEAF_POSITIONS / queues) as u64;
                node_hash(task, 1, q << 32 | position, u64::MAX, 0, 0)
            })
            .collect();
        // What moving up one position changes (the last position of each row is unused).
        self.shifts = (0..self.leaves.len())
            .map(|i| match self.leaves.get(i + 1) {
                Some(&behind) if (i + 1) % LEAF_POSITIONS != 0 => {
                    self.leaves[i].wrapping_sub(behind)
                }
                _ => 0,
            })
            .collect();
    }

    /// Adds `h` to the sum of `group`, a `then` group of container `c` (the group joins the
    /// multiset in [`Canon::finish`]).
    fn add_to_group(&mut self, c: Container, group: u32, h: u128) {
        match self.groups.iter_mut().find(|g| g.group == group) {
            Some(g) => g.members.add(h),
            None => self.groups.push(GroupSum {
                container: c,
                group,
                members: Multiset { sum: h, count: 1 },
            }),
        }
    }

    /// The multiset of container `c`, with each group of it added as one element. Most states
    /// have no `then` group, so that case is inlined into the callers.
    #[inline(always)]
    fn finish(&mut self, sim: &Simulation<'_>, c: Container) -> Multiset {
        self.with_groups(sim, c, self.slots[c].children)
    }

    /// `set`, the multiset of container `c`, with each group of `c` added as one element.
    #[inline(always)]
    fn with_groups(&mut self, sim: &Simulation<'_>, c: Container, set: Multiset) -> Multiset {
        if self.groups.is_empty() {
            set
        } else {
            self.finish_groups(sim, c, set)
        }
    }

    /// [`Canon::finish`] when some group is pending: adds container `c`'s groups to `set`.
    fn finish_groups(&mut self, sim: &Simulation<'_>, c: Container, mut set: Multiset) -> Multiset {
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

    /// The hash of a task waiting in queue `q` at `position`. Such a task has not run, so it
    /// is a leaf with no timer whose description is its type, queue and position alone — and
    /// most tasks of a state are such leaves, so their hashes come from a table.
    /// What `inst`, waiting in queue `q`, adds to its multiset by moving up from `position + 1`
    /// to `position`.
    #[inline]
    fn queued_shift(&self, inst: &Instance, q: usize, position: usize, queues: usize) -> u128 {
        let fresh = inst.pc == 0 && inst.outstanding == 0 && !inst.child_failed;
        if fresh && position + 1 < LEAF_POSITIONS {
            return self.shifts[(inst.task * queues + q) * LEAF_POSITIONS + position];
        }
        queued_node(inst, q, position).wrapping_sub(queued_node(inst, q, position + 1))
    }

    #[inline]
    fn queued_leaf(&self, inst: &Instance, q: usize, position: usize, queues: usize) -> u128 {
        let fresh = inst.pc == 0 && inst.outstanding == 0 && !inst.child_failed;
        if fresh && position < LEAF_POSITIONS {
            return self.leaves[(inst.task * queues + q) * LEAF_POSITIONS + position];
        }
        queued_node(inst, q, position)
    }
}

/// The fingerprint of a state whose roots' multiset is `total` and whose arrivals hash to
/// `arrivals` (with its instant if the scenario has a horizon).
#[inline]
fn seal(sim: &Simulation<'_>, total: Multiset, arrivals: u128) -> Fingerprint {
    let words = [
        9,
        total.count,
        total.sum as u64,
        (total.sum >> 64) as u64,
        arrivals as u64,
        (arrivals >> 64) as u64,
        sim.now(),
    ];
    let with_now = sim.scenario().horizon.is_some();
    mix(&words[..words.len() - 1 + with_now as usize])
}

/// [`Canon::queued_leaf`] for a task the table does not hold (it has run, or it is far down
/// its queue): kept out of line, so that the common case keeps its registers.
#[cold]
#[inline(never)]
fn queued_node(inst: &Instance, q: usize, position: usize) -> u128 {
    {
        node_hash(
            inst.task as u64 | (inst.pc as u64) << 32,
            1 | (inst.child_failed as u64) << 8 | (inst.outstanding as u64) << 32,
            (q as u64) << 32 | position as u64,
            u64::MAX,
            0,
            0,
        )
    }
}

/// Hash of the task `inst` held by worker `w`, with `timer_left` on its timer and the multiset
/// of its children's descriptions `children`.
#[inline]
fn held_node(
    sim: &Simulation<'_>,
    inst: &Instance,
    w: usize,
    timer_left: u64,
    children: Multiset,
) -> u128 {
    let pool = sim.model.pool_of(w as u32) as u64;
    let kind = match inst.status {
        Status::Taken(_) => 2,
        Status::Working(_) => 3,
        Status::Waiting { timed, .. } => 4 + timed as u64,
        Status::Free | Status::Queued(_) => unreachable!("a held task holds its worker"),
    };
    node_hash(
        inst.task as u64 | (inst.pc as u64) << 32,
        kind | (inst.child_failed as u64) << 8 | (inst.outstanding as u64) << 32,
        pool,
        timer_left,
        children.count,
        children.sum,
    )
}

/// Reads the agenda of `sim`: the time left to each arrival stream's next arrival into
/// `arrivals`, and the time left on each live work or wait timer to `held` with the worker of
/// its task.
#[inline]
fn for_each_timer(
    sim: &Simulation<'_>,
    now: u64,
    arrivals: &mut Vec<(u32, u64)>,
    mut held: impl FnMut(usize, u64),
) {
    for e in sim.agenda().iter() {
        let task = match e.timer {
            Timer::Arrival { stream } => {
                arrivals.push((stream, e.time - now));
                continue;
            }
            Timer::WorkDone { task } => task,
            Timer::Timeout { task, .. } if sim.is_live(&e.timer) => task,
            Timer::Timeout { .. } => continue,
            // Only scenarios whose processes restart have these, and symmetry (this canonical
            // form) is off for them (see `reduce.rs`): the raw fingerprint reads them.
            Timer::Restarted { .. } | Timer::ThreadReplaced { .. } => continue,
        };
        held(held_by(sim, task), e.time - now);
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
///
/// Six words, so that [`mix`] takes them in three pairs: the count of children shares a word
/// with `detail`. A task with children has run, so it holds a worker and its `detail` is its
/// pool, below 2^32; a queued task's `detail` (queue and position) fills the word, but it has
/// no children. So the shared word still tells both apart.
fn node_hash(task_pc: u64, state: u64, detail: u64, timer: u64, count: u64, sum: u128) -> u128 {
    debug_assert!(
        count == 0 || detail >> 32 == 0,
        "only a held task has children"
    );
    mix(&[
        task_pc,
        state,
        detail | count << 32,
        timer,
        sum as u64,
        (sum >> 64) as u64,
    ])
}

/// A 128-bit hash of a few words: two independently keyed 64-bit lanes.
///
/// Each lane is rapidhash's construction on words instead of bytes: the words are taken in
/// pairs, and each pair is folded into the running seed (which starts from the length) with
/// one 64×64→128-bit multiply whose halves are xored ([`fold`]); an odd last word goes in one
/// more fold, and a last fold with a constant avalanches the result. Four multiplies a lane
/// for a node (the lanes are independent, so they run in parallel), where a multiply–rotate
/// chain a word took fourteen. The keys are the digits of π (the same ones rapidhash and wyhash use).
#[inline]
fn mix(words: &[u64]) -> u128 {
    let lane = |k: [u64; 3]| {
        let len = words.len() as u64;
        let mut seed = k[0] ^ len;
        let mut pairs = words.chunks_exact(2);
        for pair in &mut pairs {
            seed = fold(pair[0] ^ k[1], pair[1] ^ seed);
        }
        if let [odd] = pairs.remainder() {
            seed = fold(odd ^ k[2], seed ^ k[1]);
        }
        fold(seed ^ k[0], k[1])
    };
    ((lane([
        0x243f_6a88_85a3_08d3,
        0x1319_8a2e_0370_7344,
        0xa409_3822_299f_31d0,
    ]) as u128)
        << 64)
        | lane([
            0x082e_fa98_ec4e_6c89,
            0x4528_21e6_38d0_1377,
            0xbe54_66cf_34e9_0c6c,
        ]) as u128
}

/// The full 128-bit product of two words, folded to 64 bits by xoring its halves.
#[inline]
fn fold(a: u64, b: u64) -> u64 {
    let p = a as u128 * b as u128;
    p as u64 ^ (p >> 64) as u64
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
            .u64(inst.child_failed as u64 | (inst.lost_children as u64) << 1);
    }
    for g in sim.groups() {
        b.u64(g.remaining as u64 | (g.lost as u64) << 32)
            .u64(g.then as u64);
    }
    // The life of workers and processes: restarting, tasks run, memory. Without restarts they
    // decide nothing (memory is only reported), and reading them would tell apart states
    // that differ only in what was reported.
    let lifecycle = sim.model.has_lifecycle();
    for w in sim.workers().iter().filter(|_| lifecycle) {
        b.u64(matches!(w.activity, Activity::Restarting) as u64)
            .u64(w.tasks_run as u64);
    }
    for p in sim.processes().iter().filter(|_| lifecycle) {
        b.u64(p.kept)
            .u64(p.running)
            .u64(p.tasks as u64)
            .u64(p.down as u64);
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
            Timer::Restarted { process } => b.u64(13).u64(process as u64),
            Timer::ThreadReplaced { worker } => b.u64(14).u64(worker as u64),
        };
    }
    for &sent in sim.arrivals_sent() {
        b.u64(sent);
    }
    b.u64(now);
    b.hash()
}

mod incremental;
mod predict;

pub use incremental::{Changes, Parts};

#[cfg(test)]
mod tests;
