//! Fingerprints of successors told without building them, for the choices whose effect on the
//! canonical form is simple:
//! - an arrival: a fresh root at the tail of a fifo queue;
//! - a task just taken running its steps: children spawned into fifo queues, then a `work` or
//!   a `wait`;
//! - the end of a task's last `work`: the task leaves; its parent counts one child fewer, or,
//!   if it was waiting for that last child with nothing after the wait, finishes in turn.
//!
//! Most such transitions lead to states already seen, so telling their fingerprints first
//! spares building those states at all.
//!
//! Only for timeless models ([`Model::is_timeless`](crate::engine::Model::is_timeless): any
//! timing), where every timer is due at the current instant and the clock never moves. The hash of what is left to arrive after an arrival is learnt from
//! the arrivals the search applies ([`Canon::learn_arrival`]) rather than worked out again.
//!
//! Each prediction is checked against the fingerprint of the state actually built, on every
//! transition of many searches, by the property tests (`tests/properties`); and in debug
//! builds the search asserts it on every prediction of a state not seen before.

use smallvec::SmallVec;

use super::incremental::Parts;
use super::{held_node, Canon, Fingerprint, LEAF_POSITIONS, NONE};
use crate::engine::agenda::Timer;
use crate::engine::{Choice, Instance, InstanceId, Simulation, Status, WorkerId};
use crate::scenario::Step;

impl Canon {
    /// The fingerprint of the state `choice` leads to from `sim`, whose parts are `parts`, if
    /// it can be told without applying it (see the module docs); `None` otherwise, and always
    /// for a model that is not timeless. A `Canon` that predicts serves one model: what it
    /// learnt of arrivals belongs to that model.
    pub fn predict(
        &self,
        sim: &Simulation<'_>,
        parts: &Parts,
        choice: Choice,
    ) -> Option<Fingerprint> {
        debug_assert_eq!(sim.now(), parts.now);
        if !sim.model.is_timeless() {
            return None;
        }
        match choice {
            Choice::Fire(entry) => match entry.timer {
                Timer::Arrival { stream } => self.predict_arrival(sim, parts, stream),
                Timer::WorkDone { task } => self.predict_last_work_done(sim, parts, task),
                Timer::Timeout { .. } | Timer::Restarted { .. } | Timer::ThreadReplaced { .. } => {
                    None
                }
            },
            Choice::Run(task) => self.predict_run(sim, parts, task),
            Choice::Take(_) | Choice::Kill(_) => None,
        }
    }

    /// Records that an arrival of `stream` from a state whose arrivals hash to `before` led to
    /// a state whose arrivals hash to `after`.
    pub fn learn_arrival(&mut self, before: u128, stream: u32, after: u128) {
        self.arrival_memo.entry((before, stream)).or_insert(after);
    }

    fn predict_arrival(
        &self,
        sim: &Simulation<'_>,
        parts: &Parts,
        stream: u32,
    ) -> Option<Fingerprint> {
        let &arrivals = self.arrival_memo.get(&(parts.arrivals, stream))?;
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
                total.remove(leaving);
                return Some(super::seal(sim, total, parts.arrivals));
            }
            let mut parent = *sim.instance(workers[c].task().expect("a container holds a task"));
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
            children.remove(leaving);
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
        children.replace(old, new);
        let holder = sim.instance(workers[c].task().expect("a container holds a task"));
        old = parts.slots[c].node;
        new = held_node(sim, holder, c, parts.slots[c].timer, children);
        c = parts.slots[c].container as usize;
    }
    let mut total = parts.children(roots, queues);
    total.replace(old, new);
    super::seal(sim, total, parts.arrivals)
}

/// Whether `inst`'s current step is its last (so the task finishes when it is done).
fn is_last_step(sim: &Simulation<'_>, inst: &Instance) -> bool {
    inst.pc as usize + 1 == sim.scenario().tasks[inst.task].steps.len()
}
