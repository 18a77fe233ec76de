//! Fingerprints recomputed from the parent state's, for the transitions of a search.
//!
//! Every transition of the search builds a state and fingerprints it, and over half of them
//! land on a state already seen, so the fingerprint is most of a search's time. Yet a choice
//! changes little: a task taken (and the positions of the tasks behind it in its queue), a
//! task finishing (and its parent's count of children), children spawned at the tail of a
//! queue. So each state keeps the [`Parts`] its fingerprint was made of — each held task's
//! node hash, and per container the multiset of its held children and, per queue, of its
//! queued children — and a successor's fingerprint recomputes only what the engine's events,
//! gathered as [`Changes`], say moved: the queues whose positions shifted, the tasks appended,
//! the held tasks that changed, and the chain of their held ancestors, bottom-up. The value is
//! the one [`Canon::fingerprint`] computes from scratch (tests compare both, and the parts
//! with parts rebuilt from scratch, on every transition of many searches).
//!
//! When a change is not covered — time moved (so every timer's time left changed), or a task
//! finished with children still alive (they become roots) — the parts are rebuilt from
//! scratch. Scenarios with `then` callbacks are not covered at all ([`supports`]): their
//! groups would need parts of their own, and the search uses [`Canon::fingerprint`] for them.
//!
//! Under any timing, module `predict` goes further and tells some successors' fingerprints
//! from the parent's parts before the successors are built.

use smallvec::SmallVec;

use super::{container_of, for_each_timer, held_node, Canon, Container, Fingerprint, Multiset};
use crate::engine::{Event, InstanceId, Observer, Simulation, Status, Worker, WorkerId};

/// The parts of a state's fingerprint that its successors reuse (see the module docs).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Parts {
    /// The instant the parts were computed at (time left on timers is relative to it).
    pub(super) now: u64,
    /// The hash of what is left to arrive ([`Canon::arrivals_hash`]).
    pub(super) arrivals: u128,
    /// Per container: each worker's, then the roots' (whose node, timer, container and depth
    /// are unused). One table, so that copying the parts is one copy.
    pub(super) slots: Vec<Part>,
    /// Per container and queue (`container * queues + queue`): the multiset of children
    /// waiting in that queue.
    pub(super) queued: Vec<Multiset>,
}

/// What [`Parts`] keeps per container.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Part {
    /// The node hash of the worker's held task (0 when idle).
    pub(super) node: u128,
    /// The multiset of the held children.
    pub(super) held: Multiset,
    /// Time left on the held task's timer (`u64::MAX` when none, or idle).
    pub(super) timer: u64,
    /// The container the held task is described in (the roots' when idle).
    pub(super) container: u32,
    /// How many held ancestors the held task has (0 when idle).
    pub(super) depth: u32,
}

impl Clone for Parts {
    fn clone(&self) -> Parts {
        let mut parts = Parts::default();
        parts.clone_from(self);
        parts
    }

    /// Copies the tables into the ones already allocated (the search does this for every
    /// transition).
    fn clone_from(&mut self, source: &Parts) {
        self.now = source.now;
        self.arrivals = source.arrivals;
        self.slots.clone_from(&source.slots);
        self.queued.clone_from(&source.queued);
    }
}

impl Parts {
    /// The hash of what is left to arrive.
    pub fn arrivals(&self) -> u128 {
        self.arrivals
    }

    /// Roughly the heap bytes the parts take.
    pub fn approx_bytes(&self) -> u64 {
        (self.slots.len() * std::mem::size_of::<Part>()
            + self.queued.len() * std::mem::size_of::<Multiset>()) as u64
    }

    /// Empty parts for `workers` idle workers and `queues` queues, at instant `now`.
    fn reset(&mut self, workers: usize, queues: usize, now: u64) {
        let containers = workers + 1;
        self.now = now;
        self.slots.clear();
        self.slots.resize(containers, Part::idle(workers));
        self.queued.clear();
        self.queued.resize(containers * queues, Multiset::default());
    }

    /// Worker `w` becomes idle.
    fn clear_worker(&mut self, w: usize, queues: usize) {
        self.slots[w] = Part::idle(self.slots.len() - 1);
        self.queued[w * queues..(w + 1) * queues].fill(Multiset::default());
    }

    /// The multiset of every child of container `c`.
    pub(super) fn children(&self, c: Container, queues: usize) -> Multiset {
        let mut all = self.slots[c].held;
        for q in &self.queued[c * queues..(c + 1) * queues] {
            all.sum = all.sum.wrapping_add(q.sum);
            all.count += q.count;
        }
        all
    }
}

impl Part {
    fn idle(roots: usize) -> Part {
        Part {
            node: 0,
            held: Multiset::default(),
            timer: u64::MAX,
            container: roots as u32,
            depth: 0,
        }
    }
}

/// What one choice changed, gathered from the engine's events as it is applied (pass it to
/// [`Simulation::apply`] as the observer, after [`Changes::clear`]).
#[derive(Debug, Default)]
pub struct Changes {
    /// Workers whose held task changed its own description (status, step, children count).
    touched: SmallVec<[WorkerId; 8]>,
    /// Workers whose task finished.
    freed: SmallVec<[WorkerId; 4]>,
    /// Workers that took a task.
    took: SmallVec<[WorkerId; 2]>,
    /// Queues a task was taken from: every position behind it shifted.
    shifted: SmallVec<[u32; 2]>,
    /// The queue of each task appended to a queue, in order.
    appended: SmallVec<[u32; 8]>,
    /// An arrival was sent (so what is left to arrive changed).
    arrived: bool,
    /// A change the incremental rules do not cover happened: rebuild from scratch.
    rebuild: bool,
}

impl Changes {
    /// Forgets the changes of the previous choice.
    pub fn clear(&mut self) {
        self.touched.clear();
        self.freed.clear();
        self.took.clear();
        self.shifted.clear();
        self.appended.clear();
        self.arrived = false;
        self.rebuild = false;
    }

    fn touch(&mut self, worker: Option<WorkerId>) {
        match worker {
            Some(w) => self.touched.push(w),
            None => self.rebuild = true,
        }
    }
}

impl Observer for Changes {
    fn event(&mut self, sim: &Simulation<'_>, event: &Event) {
        let queue_of =
            |task: InstanceId| sim.scenario().tasks[sim.instance(task).task].queue as u32;
        let worker_of = |task: InstanceId| sim.instance(task).status.worker();
        match *event {
            Event::Arrived { task } => {
                self.appended.push(queue_of(task));
                self.arrived = true;
            }
            // The spawner's container is marked when its child is queued in it.
            Event::Spawned { task, .. } => self.appended.push(queue_of(task)),
            Event::CallbackQueued { .. } => self.rebuild = true,
            Event::Taken { task, worker } => {
                self.took.push(worker);
                self.shifted.push(queue_of(task));
            }
            Event::WorkStarted { worker, .. }
            | Event::Blocked { worker, .. }
            | Event::Resumed { worker, .. } => self.touched.push(worker),
            Event::TimedOut { task } => self.touch(worker_of(task)),
            Event::Finished { task, .. } => {
                let inst = sim.instance(task);
                if inst.outstanding != 0 {
                    // Its live children become roots.
                    self.rebuild = true;
                    return;
                }
                // Its parent, whose count of children changed, holds the container it leaves,
                // which is marked when it is taken out.
                match worker_of(task) {
                    Some(w) => self.freed.push(w),
                    None => self.rebuild = true,
                }
            }
            // Memory is only reported where it decides nothing (with a threshold or a host
            // size, fingerprints are raw, see `reduce.rs`).
            Event::Memory { .. } => {}
            Event::Exited { .. }
            | Event::Recycled { .. }
            | Event::Restarted { .. }
            | Event::Lost { .. }
            | Event::Requeued { .. } => self.rebuild = true,
        }
    }
}

impl Canon {
    /// The canonical fingerprint of `sim`, computed from scratch, with its parts written to
    /// `out`. Same value as [`Canon::fingerprint`]; `sim`'s model must have incremental fingerprints on in its [`Plan`](crate::explore::Plan).
    pub fn rebuild(&mut self, sim: &Simulation<'_>, out: &mut Parts) -> Fingerprint {
        let workers = sim.workers();
        let roots = workers.len();
        let queues = sim.scenario().queues.len();
        let now = sim.now();
        out.reset(roots, queues, now);
        for (w, held) in workers.iter().map(Worker::task).enumerate() {
            if let Some(task) = held {
                out.slots[w].container = container_of(sim, task, roots) as u32;
            }
        }
        self.order.clear();
        for (w, held) in workers.iter().map(Worker::task).enumerate() {
            if held.is_some() {
                let mut depth = 0;
                let mut c = out.slots[w].container as usize;
                while c != roots {
                    depth += 1;
                    c = out.slots[c].container as usize;
                }
                out.slots[w].depth = depth;
                self.order.push(w as u32);
            }
        }
        self.read_agenda(sim, |_| true, out);
        self.fill_leaves(sim.scenario().tasks.len(), queues);
        for q in 0..queues {
            for (position, task) in sim.queue(q).iter_in_order().enumerate() {
                let c = container_of(sim, task, roots);
                let leaf = self.queued_leaf(sim.instance(task), q, position, queues);
                out.queued[c * queues + q].add(leaf);
            }
        }
        let mut order = std::mem::take(&mut self.order);
        order.sort_unstable_by_key(|&w| std::cmp::Reverse(out.slots[w as usize].depth));
        for &w in &order {
            let w = w as usize;
            let node = self.node_of(sim, out, w, queues);
            out.slots[w].node = node;
            let c = out.slots[w].container as usize;
            out.slots[c].held.add(node);
        }
        self.order = order;
        super::seal(sim, out.children(roots, queues), out.arrivals)
    }

    /// The canonical fingerprint of `sim`, a successor of the state whose parts are `parent`
    /// through one choice whose `changes` were gathered while applying it; its parts are
    /// written to `out`. Same value as [`Canon::fingerprint`]; recomputes only what changed.
    pub fn fingerprint_after(
        &mut self,
        sim: &Simulation<'_>,
        parent: &Parts,
        changes: &Changes,
        out: &mut Parts,
    ) -> Fingerprint {
        if changes.rebuild || sim.now() != parent.now {
            return self.rebuild(sim, out);
        }
        let workers = sim.workers();
        let roots = workers.len();
        let queues = sim.scenario().queues.len();
        out.clone_from(parent);
        self.dirty.clear();
        self.dirty.resize(roots, false);
        self.order.clear();
        // Finished tasks leave their containers (their own children are all gone).
        for &w in &changes.freed {
            let part = out.slots[w as usize];
            out.slots[part.container as usize].held.remove(part.node);
            self.mark(part.container as usize, roots);
        }
        for &w in &changes.freed {
            out.clear_worker(w as usize, queues);
        }
        // A task taken joins its container as a node to compute (counted now, hash 0 so far).
        for &w in &changes.took {
            let w = w as usize;
            let task = workers[w]
                .task()
                .expect("a worker that took a task holds it");
            let c = container_of(sim, task, roots);
            out.slots[w].container = c as u32;
            out.slots[w].depth = if c == roots {
                0
            } else {
                out.slots[c].depth + 1
            };
            out.slots[c].held.count += 1;
        }
        self.fill_leaves(sim.scenario().tasks.len(), queues);
        self.requeue(sim, parent, changes, out);
        let mut timed = changes.arrived;
        for &w in changes.touched.iter().chain(&changes.took) {
            let w = w as usize;
            if let Some(task) = workers[w].task() {
                self.mark(w, roots);
                // Only a working or a timed waiting task has a timer.
                out.slots[w].timer = u64::MAX;
                timed |= matches!(
                    sim.instance(task).status,
                    Status::Working(_) | Status::Waiting { timed: true, .. }
                );
            }
        }
        if timed {
            let dirty = std::mem::take(&mut self.dirty);
            self.read_agenda(sim, |w| dirty[w], out);
            self.dirty = dirty;
        }
        self.update_nodes(sim, out, roots, queues);
        super::seal(sim, out.children(roots, queues), out.arrivals)
    }

    /// Marks worker container `c` for its node to be recomputed (the roots have no node).
    #[inline]
    fn mark(&mut self, c: Container, roots: Container) {
        if c != roots && !self.dirty[c] {
            self.dirty[c] = true;
            self.order.push(c as u32);
        }
    }

    /// Updates the queued multisets of the queues `changes` touched, marking each container
    /// whose share changed: tasks appended to the tail of a fifo queue are added at their
    /// positions; in a fifo queue a task was taken from, the task leaves and every task
    /// behind it moves up one position; other queues are summed again.
    #[inline(never)]
    fn requeue(
        &mut self,
        sim: &Simulation<'_>,
        parent: &Parts,
        changes: &Changes,
        out: &mut Parts,
    ) {
        let roots = sim.workers().len();
        let queues = sim.scenario().queues.len();
        let mut rescan: SmallVec<[u32; 4]> = SmallVec::new();
        for &q in &changes.shifted {
            match sim.queue(q as usize).fifo_slice() {
                Some(tasks) => self.shift_fifo(sim, q as usize, tasks, changes, out),
                None => rescan.push(q),
            }
        }
        for (i, &q) in changes.appended.iter().enumerate() {
            if changes.appended[..i].contains(&q) || changes.shifted.contains(&q) {
                continue;
            }
            let added = changes.appended[i..].iter().filter(|&&a| a == q).count();
            let q = q as usize;
            let Some(tasks) = sim.queue(q).fifo_slice() else {
                rescan.push(q as u32);
                continue;
            };
            let mut parent = None;
            let mut c = roots;
            for position in tasks.len() - added..tasks.len() {
                let task = tasks[position];
                let inst = sim.instance(task);
                if inst.parent != parent || position == tasks.len() - added {
                    (parent, c) = (inst.parent, container_of(sim, task, roots));
                    self.mark(c, roots);
                }
                out.queued[c * queues + q].add(self.queued_leaf(inst, q, position, queues));
            }
        }
        rescan.sort_unstable();
        rescan.dedup();
        for q in rescan {
            self.rescan(sim, q as usize, parent, out);
        }
    }

    /// Fifo queue `q`, now holding `tasks`, had its head taken (by the only take of a choice,
    /// which nothing else in the choice follows).
    fn shift_fifo(
        &mut self,
        sim: &Simulation<'_>,
        q: usize,
        tasks: &[InstanceId],
        changes: &Changes,
        out: &mut Parts,
    ) {
        let roots = sim.workers().len();
        let queues = sim.scenario().queues.len();
        debug_assert!(changes.took.len() == 1 && changes.appended.is_empty());
        let taken = sim.workers()[changes.took[0] as usize]
            .task()
            .expect("the taken task");
        let c = container_of(sim, taken, roots);
        let leaf = self.queued_leaf(sim.instance(taken), q, 0, queues);
        out.queued[c * queues + q].remove(leaf);
        self.mark(c, roots);
        // Siblings usually wait together: their shifts are summed before they are added.
        let (mut parent, mut c, mut moved) = (None, roots, 0u128);
        for (position, &task) in tasks.iter().enumerate() {
            let inst = sim.instance(task);
            if inst.parent != parent || position == 0 {
                let set = &mut out.queued[c * queues + q];
                set.sum = set.sum.wrapping_add(moved);
                (parent, c, moved) = (inst.parent, container_of(sim, task, roots), 0);
                self.mark(c, roots);
            }
            moved = moved.wrapping_add(self.queued_shift(inst, q, position, queues));
        }
        let set = &mut out.queued[c * queues + q];
        set.sum = set.sum.wrapping_add(moved);
    }

    /// Sums queue `q` again, marking each container whose share changed from `parent`'s.
    fn rescan(&mut self, sim: &Simulation<'_>, q: usize, parent: &Parts, out: &mut Parts) {
        let roots = sim.workers().len();
        let queues = sim.scenario().queues.len();
        for c in 0..=roots {
            out.queued[c * queues + q] = Multiset::default();
        }
        for (position, task) in sim.queue(q).iter_in_order().enumerate() {
            let c = container_of(sim, task, roots);
            let leaf = self.queued_leaf(sim.instance(task), q, position, queues);
            out.queued[c * queues + q].add(leaf);
        }
        for c in 0..roots {
            if out.queued[c * queues + q] != parent.queued[c * queues + q] {
                self.mark(c, roots);
            }
        }
    }

    /// Recomputes the node hash of every marked worker's task, deepest first, carrying each
    /// change into its container (which is marked in turn).
    #[inline(never)]
    fn update_nodes(
        &mut self,
        sim: &Simulation<'_>,
        out: &mut Parts,
        roots: Container,
        queues: usize,
    ) {
        while !self.order.is_empty() {
            let mut deepest = 0;
            for i in 1..self.order.len() {
                if out.slots[self.order[i] as usize].depth
                    > out.slots[self.order[deepest] as usize].depth
                {
                    deepest = i;
                }
            }
            let w = self.order.swap_remove(deepest) as usize;
            self.dirty[w] = false;
            if sim.workers()[w].is_idle() {
                // Its task finished with this choice (its parts are cleared already).
                continue;
            }
            let node = self.node_of(sim, out, w, queues);
            let old = std::mem::replace(&mut out.slots[w].node, node);
            if node == old {
                continue;
            }
            let c = out.slots[w].container as usize;
            out.slots[c].held.replace(old, node);
            self.mark(c, roots);
        }
    }

    /// The node hash of worker `w`'s held task, from its parts.
    #[inline]
    fn node_of(&self, sim: &Simulation<'_>, parts: &Parts, w: usize, queues: usize) -> u128 {
        let task = sim.workers()[w]
            .task()
            .expect("a marked worker holds a task");
        let children = parts.children(w, queues);
        held_node(sim, sim.instance(task), w, parts.slots[w].timer, children)
    }

    /// Reads the agenda: the hash of what is left to arrive into `parts.arrivals`, and the
    /// time left on the timer of the task of each worker `w` with `wanted(w)` into its part
    /// (which must be `u64::MAX` beforehand, for a task without a timer).
    #[inline(never)]
    fn read_agenda(
        &mut self,
        sim: &Simulation<'_>,
        wanted: impl Fn(usize) -> bool,
        parts: &mut Parts,
    ) {
        self.arrivals.clear();
        for_each_timer(sim, sim.now(), &mut self.arrivals, |w, left| {
            if wanted(w) {
                parts.slots[w].timer = left;
            }
        });
        parts.arrivals = self.arrivals_hash(sim);
    }
}
