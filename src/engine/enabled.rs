//! What is enabled: every [`Choice`] that can happen next, in canonical order.
//!
//! One iterator, [`Enabled`], walks the enabled choices of a state in the canonical order of
//! the engine's docs; everything that asks "what can happen?" is derived from it:
//! [`Simulation::options`] (the list a [`Chooser`](super::Chooser) picks from, and the
//! explorer branches on), [`Simulation::has_options`] ("is anything enabled?") and
//! [`Simulation::canonical_choice`] (the first of them, which `qsim run` takes). A new kind of
//! choice is one more phase here, and every one of them sees it.
//!
//! The canonical order: while the tasks of a dispatch round are running their steps, those
//! come first; then the timers due now, in the order they were set; then, pool by pool in
//! file order, the idle workers that can take a task (lowest first); then the tasks just taken,
//! in the order taken.

use super::agenda::Entry;
use super::{InstanceId, Simulation, WorkerId};

/// One thing that can happen next; see the engine's docs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Choice {
    /// Fire this timer (it is due at the current instant).
    Fire(Entry),
    /// This idle worker takes the next task from its pool's queues.
    Take(WorkerId),
    /// This just-taken task runs its instantaneous steps.
    Run(InstanceId),
}

/// Which idle workers of a pool are offered a take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Idle {
    /// Every idle worker (the plain option list).
    Every,
    /// Only the lowest-numbered idle worker of each pool: the explorer's symmetry reduction
    /// treats a pool's idle workers as one, and listing the others only to drop them is most
    /// of the list on large pools.
    Lowest,
}

#[derive(Clone, Copy, Debug)]
enum Phase {
    /// The tasks of the current dispatch round, mid-round (index into `just_taken`).
    RoundRuns(usize),
    /// The first timer due now.
    FirstFire,
    /// The timers due now set after the one with this sequence number.
    Fires(u64),
    /// Idle workers of pool `pool`, after worker `after` (`None`: from the first).
    Takes {
        pool: usize,
        after: Option<WorkerId>,
    },
    /// The tasks just taken (index into `just_taken`).
    Runs(usize),
    Done,
}

/// The enabled choices of a state, in canonical order (see the module docs).
#[derive(Clone, Debug)]
pub struct Enabled<'s, 'm> {
    sim: &'s Simulation<'m>,
    idle: Idle,
    phase: Phase,
}

impl<'s, 'm> Enabled<'s, 'm> {
    /// The enabled choices of `sim`, offering takes to `idle` workers.
    pub fn new(sim: &'s Simulation<'m>, idle: Idle) -> Enabled<'s, 'm> {
        let phase = if sim.mid_round {
            Phase::RoundRuns(0)
        } else {
            Phase::FirstFire
        };
        Enabled { sim, idle, phase }
    }

    /// The timer due now with the smallest sequence number above `after` (`None`: any).
    ///
    /// A scan of the agenda per timer, rather than a sorted copy: the agenda holds a timer per
    /// working task and arrival stream, and keeping no buffer keeps this iterator a few words
    /// that every listing copies cheaply.
    fn fire_after(&self, after: Option<u64>) -> Option<Entry> {
        let sim = self.sim;
        sim.agenda
            .iter()
            .filter(|e| after.is_none_or(|a| e.seq > a))
            .filter(|e| e.time == sim.now && sim.is_live(&e.timer))
            .min_by_key(|e| e.seq)
            .copied()
    }

    /// The next idle worker of pool `pool` after `after`, if the pool can take a task.
    #[inline(always)]
    fn next_take(&self, pool: usize, after: Option<WorkerId>) -> Option<WorkerId> {
        let sim = self.sim;
        if (self.idle == Idle::Lowest && after.is_some()) || !sim.pool_can_take(pool) {
            return None;
        }
        let workers = sim.model.workers_of(pool);
        let from = after.map_or(workers.start, |w| w + 1);
        (from..workers.end).find(|&w| sim.workers[w as usize].is_idle())
    }
}

impl Iterator for Enabled<'_, '_> {
    type Item = Choice;

    /// The phases run one after the other in code, with the phase in a local: the canonical
    /// rule asks for the first choice of every state, and this keeps that a straight line.
    #[inline(always)]
    fn next(&mut self) -> Option<Choice> {
        let sim = self.sim;
        let mut phase = self.phase;
        if let Phase::RoundRuns(i) = phase {
            if let Some(&t) = sim.just_taken.get(i) {
                self.phase = Phase::RoundRuns(i + 1);
                return Some(Choice::Run(t));
            }
            phase = Phase::FirstFire;
        }
        if let Phase::FirstFire = phase {
            // The heap's top is the earliest (time, seq): when it is due and live it is the
            // first, and a run that takes only the first choice never scans; when it is not
            // due, no timer is.
            phase = match sim.agenda.peek() {
                Some(top) if top.time == sim.now => {
                    if sim.is_live(&top.timer) {
                        self.phase = Phase::Fires(top.seq);
                        return Some(Choice::Fire(*top));
                    }
                    match self.fire_after(None) {
                        Some(e) => {
                            self.phase = Phase::Fires(e.seq);
                            return Some(Choice::Fire(e));
                        }
                        None => Phase::Takes {
                            pool: 0,
                            after: None,
                        },
                    }
                }
                _ => Phase::Takes {
                    pool: 0,
                    after: None,
                },
            };
        }
        if let Phase::Fires(after) = phase {
            if let Some(e) = self.fire_after(Some(after)) {
                self.phase = Phase::Fires(e.seq);
                return Some(Choice::Fire(e));
            }
            phase = Phase::Takes {
                pool: 0,
                after: None,
            };
        }
        if let Phase::Takes {
            mut pool,
            mut after,
        } = phase
        {
            while pool < sim.scenario().pools.len() {
                if let Some(w) = self.next_take(pool, after) {
                    self.phase = Phase::Takes {
                        pool,
                        after: Some(w),
                    };
                    return Some(Choice::Take(w));
                }
                pool += 1;
                after = None;
            }
            phase = if sim.mid_round {
                Phase::Done
            } else {
                Phase::Runs(0)
            };
        }
        if let Phase::Runs(i) = phase {
            if let Some(&t) = sim.just_taken.get(i) {
                self.phase = Phase::Runs(i + 1);
                return Some(Choice::Run(t));
            }
        }
        self.phase = Phase::Done;
        None
    }
}

impl<'m> Simulation<'m> {
    /// The enabled choices, in canonical order, as an iterator (see [`Enabled`]).
    pub fn enabled(&self, idle: Idle) -> Enabled<'_, 'm> {
        Enabled::new(self, idle)
    }

    /// Every choice enabled now, in canonical order. Empty when the instant is over.
    pub fn options(&self) -> Vec<Choice> {
        self.enabled(Idle::Every).collect()
    }

    /// The enabled choices written into `out` (cleared first), so that a caller asking at
    /// every state (the explorer) reuses one buffer instead of allocating a list each time.
    pub fn options_into(&self, idle: Idle, out: &mut Vec<Choice>) {
        out.clear();
        out.extend(self.enabled(idle));
    }

    /// Whether any choice is enabled now.
    pub fn has_options(&self) -> bool {
        self.enabled(Idle::Lowest).next().is_some()
    }

    /// The first enabled choice: the canonical rule's next choice. Drops the stale timers at
    /// the top of the agenda on the way, so that they are not looked at again.
    #[inline(always)]
    pub fn canonical_choice(&mut self) -> Option<Choice> {
        while let Some(e) = self.agenda.peek() {
            if e.time != self.now || self.is_live(&e.timer) {
                break;
            }
            self.agenda.pop();
        }
        self.enabled(Idle::Lowest).next()
    }

    /// Whether pool `p` has an idle worker and some queue of it has a task.
    pub(super) fn pool_can_take(&self, p: usize) -> bool {
        self.pools[p].idle != 0
            && self.scenario().pools[p]
                .queues
                .iter()
                .any(|&q| !self.queues[q].is_empty())
    }
}
