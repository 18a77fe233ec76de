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

use smallvec::SmallVec;

use super::{
    container_of, held_by, held_node, Canon, Container, Fingerprint, Multiset, LEAF_POSITIONS, NONE,
};
use crate::engine::agenda::Timer;
use crate::engine::{Event, InstanceId, Model, Observer, Simulation, Status, WorkerId};
use crate::scenario::Step;

/// The parts of a state's fingerprint that its successors reuse (see the module docs).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Parts {
    /// The instant the parts were computed at (time left on timers is relative to it).
    now: u64,
    /// The hash of what is left to arrive ([`Canon::arrivals_hash`]).
    arrivals: u128,
    /// Per container: each worker's, then the roots' (whose node, timer, container and depth
    /// are unused). One table, so that copying the parts is one copy.
    slots: Vec<Part>,
    /// Per container and queue (`container * queues + queue`): the multiset of children
    /// waiting in that queue.
    queued: Vec<Multiset>,
}

/// What [`Parts`] keeps per container.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Part {
    /// The node hash of the worker's held task (0 when idle).
    node: u128,
    /// The multiset of the held children.
    held: Multiset,
    /// Time left on the held task's timer (`u64::MAX` when none, or idle).
    timer: u64,
    /// The container the held task is described in (the roots' when idle).
    container: u32,
    /// How many held ancestors the held task has (0 when idle).
    depth: u32,
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
    fn children(&self, c: Container, queues: usize) -> Multiset {
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

/// Whether [`Canon::fingerprint_after`] covers `model`: it has no `then` callbacks.
pub fn supports(model: &Model) -> bool {
    !model
        .scenario
        .tasks
        .iter()
        .flat_map(|t| &t.steps)
        .any(|s| matches!(s, Step::Spawn { then: Some(_), .. }))
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
            Event::Spawned { task, parent } => {
                self.appended.push(queue_of(task));
                self.touch(worker_of(parent));
            }
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
        }
    }
}

impl Canon {
    /// The canonical fingerprint of `sim`, computed from scratch, with its parts written to
    /// `out`. Same value as [`Canon::fingerprint`]; `sim`'s model must be [`supports`]ed.
    pub fn rebuild(&mut self, sim: &Simulation<'_>, out: &mut Parts) -> Fingerprint {
        let workers = sim.workers();
        let roots = workers.len();
        let queues = sim.scenario().queues.len();
        let now = sim.now();
        out.reset(roots, queues, now);
        for (w, &held) in workers.iter().enumerate() {
            if let Some(task) = held {
                out.slots[w].container = container_of(sim, task, roots) as u32;
            }
        }
        self.order.clear();
        for (w, &held) in workers.iter().enumerate() {
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
            let held = &mut out.slots[part.container as usize].held;
            held.sum = held.sum.wrapping_sub(part.node);
            held.count -= 1;
            self.mark(part.container as usize, roots);
        }
        for &w in &changes.freed {
            out.clear_worker(w as usize, queues);
        }
        // A task taken joins its container as a node to compute (counted now, hash 0 so far).
        for &w in &changes.took {
            let w = w as usize;
            let task = workers[w].expect("a worker that took a task holds it");
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
            if let Some(task) = workers[w] {
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
        let taken = sim.workers()[changes.took[0] as usize].expect("the taken task");
        let c = container_of(sim, taken, roots);
        let set = &mut out.queued[c * queues + q];
        set.sum = set
            .sum
            .wrapping_sub(self.queued_leaf(sim.instance(taken), q, 0, queues));
        set.count -= 1;
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
            if sim.workers()[w].is_none() {
                // Its task finished with this choice (its parts are cleared already).
                continue;
            }
            let node = self.node_of(sim, out, w, queues);
            let old = std::mem::replace(&mut out.slots[w].node, node);
            if node == old {
                continue;
            }
            let c = out.slots[w].container as usize;
            let held = &mut out.slots[c].held;
            held.sum = held.sum.wrapping_sub(old).wrapping_add(node);
            self.mark(c, roots);
        }
    }

    /// The node hash of worker `w`'s held task, from its parts.
    #[inline]
    fn node_of(&self, sim: &Simulation<'_>, parts: &Parts, w: usize, queues: usize) -> u128 {
        let task = sim.workers()[w].expect("a marked worker holds a task");
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
        let now = sim.now();
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
            let w = held_by(sim, task);
            if wanted(w) {
                parts.slots[w].timer = e.time - now;
            }
        }
        parts.arrivals = self.arrivals_hash(sim);
    }
}

/// Fingerprints of successors told without building them, for the choices whose effect on the
/// canonical form is simple: an arrival (a fresh root at the tail of a fifo queue), and the
/// end of a task's last `work` (the task leaves; its parent counts one child fewer, or, if it
/// was waiting for that last child with nothing after the wait, finishes in turn). Most such
/// transitions lead to states already seen, so telling their fingerprints first spares
/// building those states at all.
///
/// Only for searches under any timing, where every timer is due at the current instant and
/// the clock never moves. The hash of what is left to arrive after an arrival is learnt from
/// the arrivals the search applies ([`Canon::learn_arrival`]) rather than worked out again.
impl Canon {
    /// The fingerprint of the state `choice` leads to from `sim`, whose parts are `parts`, if
    /// it can be told without applying it (see above); `None` otherwise.
    pub fn predict(
        &self,
        sim: &Simulation<'_>,
        parts: &Parts,
        choice: crate::engine::Choice,
    ) -> Option<Fingerprint> {
        use crate::engine::Choice;
        debug_assert_eq!(sim.now(), parts.now);
        match choice {
            Choice::Fire(entry) => match entry.timer {
                Timer::Arrival { stream } => self.predict_arrival(sim, parts, stream),
                Timer::WorkDone { task } => self.predict_last_work_done(sim, parts, task),
                Timer::Timeout { .. } => None,
            },
            Choice::Run(task) => self.predict_run(sim, parts, task),
            Choice::Take(_) => None,
        }
    }

    /// Records that an arrival of `stream` from a state whose arrivals hash to `before` led to
    /// a state whose arrivals hash to `after`.
    pub fn learn_arrival(&mut self, before: u128, stream: u32, after: u128) {
        if !self
            .arrival_memo
            .iter()
            .any(|&(b, s, _)| b == before && s == stream)
        {
            self.arrival_memo.push((before, stream, after));
        }
    }

    fn predict_arrival(
        &self,
        sim: &Simulation<'_>,
        parts: &Parts,
        stream: u32,
    ) -> Option<Fingerprint> {
        let &(_, _, arrivals) = self
            .arrival_memo
            .iter()
            .find(|&&(b, s, _)| b == parts.arrivals && s == stream)?;
        let task = sim.scenario().arrivals[stream as usize].task;
        let q = sim.scenario().tasks[task].queue;
        let queues = sim.scenario().queues.len();
        let position = sim.queue(q).fifo_slice()?.len();
        if position >= LEAF_POSITIONS || self.leaves.is_empty() {
            return None;
        }
        let mut total = parts.children(sim.workers().len(), queues);
        total.add(self.leaves[(task * queues + q) * LEAF_POSITIONS + position]);
        Some(super::seal(sim, total, arrivals))
    }

    fn predict_last_work_done(
        &self,
        sim: &Simulation<'_>,
        parts: &Parts,
        task: InstanceId,
    ) -> Option<Fingerprint> {
        let workers = sim.workers();
        let roots = workers.len();
        let queues = sim.scenario().queues.len();
        let inst = sim.instance(task);
        if !is_last_step(sim, inst) || inst.outstanding != 0 || inst.group != NONE {
            return None;
        }
        let w = inst.status.worker()? as usize;
        // The node leaving container `c`: the task, then each ancestor it lets finish.
        let mut leaving = parts.slots[w].node;
        let mut c = parts.slots[w].container as usize;
        let (old, new) = loop {
            if c == roots {
                let mut total = parts.children(roots, queues);
                total.sum = total.sum.wrapping_sub(leaving);
                total.count -= 1;
                return Some(super::seal(sim, total, parts.arrivals));
            }
            let mut parent = *sim.instance(workers[c].expect("a container holds a task"));
            parent.outstanding -= 1;
            if parent.outstanding == 0 && matches!(parent.status, Status::Waiting { .. }) {
                // It resumes: it finishes if nothing follows its wait and no child failed.
                if parent.child_failed || parent.group != NONE || !is_last_step(sim, &parent) {
                    return None;
                }
                leaving = parts.slots[c].node;
                c = parts.slots[c].container as usize;
                continue;
            }
            let mut children = parts.children(c, queues);
            children.sum = children.sum.wrapping_sub(leaving);
            children.count -= 1;
            let node = held_node(sim, &parent, c, parts.slots[c].timer, children);
            break (parts.slots[c].node, node);
        };
        Some(carry_up(sim, parts, c, old, new))
    }

    /// A task just taken runs its steps: children spawned into fifo queues (as fresh leaves at
    /// the tails, in its own multiset), then a `work` or a `wait` for them, whose timer is due
    /// at once under any timing.
    fn predict_run(
        &self,
        sim: &Simulation<'_>,
        parts: &Parts,
        task: InstanceId,
    ) -> Option<Fingerprint> {
        let scenario = sim.scenario();
        let queues = scenario.queues.len();
        let mut inst = *sim.instance(task);
        let w = inst.status.worker()? as usize;
        let mut children = parts.children(w, queues);
        let mut appended: SmallVec<[(usize, usize); 4]> = SmallVec::new();
        let timer = loop {
            match scenario.tasks[inst.task].steps.get(inst.pc as usize)? {
                Step::Spawn {
                    task: child,
                    count,
                    then: None,
                } => {
                    let q = scenario.tasks[*child].queue;
                    let i = match appended.iter().position(|&(a, _)| a == q) {
                        Some(i) => i,
                        None => {
                            appended.push((q, sim.queue(q).fifo_slice()?.len()));
                            appended.len() - 1
                        }
                    };
                    for _ in 0..*count {
                        let position = appended[i].1;
                        if position >= LEAF_POSITIONS || self.leaves.is_empty() {
                            return None;
                        }
                        children
                            .add(self.leaves[(*child * queues + q) * LEAF_POSITIONS + position]);
                        appended[i].1 += 1;
                    }
                    inst.outstanding += count;
                    inst.pc += 1;
                }
                Step::Work(_) => {
                    inst.status = Status::Working(w as WorkerId);
                    break 0;
                }
                Step::Wait { timeout, .. } if inst.outstanding > 0 => {
                    let timed = timeout.is_some();
                    inst.status = Status::Waiting {
                        worker: w as WorkerId,
                        timed,
                    };
                    break if timed { 0 } else { u64::MAX };
                }
                // A callback group, a wait with nothing to wait for, or the end.
                Step::Spawn { .. } | Step::Wait { .. } => return None,
            }
        };
        let node = held_node(sim, &inst, w, timer, children);
        Some(carry_up(sim, parts, w, parts.slots[w].node, node))
    }
}

/// The fingerprint of `sim`'s successor in which only the node of worker `w`'s task changed,
/// from `old` to `new`: the change carried up through its ancestors to the roots.
fn carry_up(
    sim: &Simulation<'_>,
    parts: &Parts,
    w: usize,
    mut old: u128,
    mut new: u128,
) -> Fingerprint {
    let workers = sim.workers();
    let roots = workers.len();
    let queues = sim.scenario().queues.len();
    let mut c = parts.slots[w].container as usize;
    while c != roots {
        let mut children = parts.children(c, queues);
        children.sum = children.sum.wrapping_sub(old).wrapping_add(new);
        let holder = sim.instance(workers[c].expect("a container holds a task"));
        old = parts.slots[c].node;
        new = held_node(sim, holder, c, parts.slots[c].timer, children);
        c = parts.slots[c].container as usize;
    }
    let mut total = parts.children(roots, queues);
    total.sum = total.sum.wrapping_sub(old).wrapping_add(new);
    super::seal(sim, total, parts.arrivals)
}

/// Whether `inst`'s current step is its last (so the task finishes when it is done).
fn is_last_step(sim: &Simulation<'_>, inst: &crate::engine::Instance) -> bool {
    inst.pc as usize + 1 == sim.scenario().tasks[inst.task].steps.len()
}
