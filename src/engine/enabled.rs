//! What is enabled: every [`Choice`] that can happen next, in canonical order.
//!
//! One iterator, [`Simulation::for_each_enabled`], walks the enabled choices of a state in the
//! canonical order of the engine's docs; everything that asks "what can happen?" is derived
//! from it: [`Simulation::options`] (the list a [`Chooser`](super::Chooser) picks from, and the
//! explorer branches on), [`Simulation::has_options`] ("is anything enabled?") and
//! [`Simulation::canonical_choice`] (the first of them, which `qsim run` takes). A new kind of
//! choice is one more phase here, and every one of them sees it.
//!
//! It is an internal iterator (it calls `visit` with each choice until told to stop), so that
//! the phases run as one straight pass with nothing kept between two choices: the explorer
//! lists every state's options and `qsim run` takes the first of every state's, and an
//! external iterator's saved position costs both.
//!
//! The canonical order: while the host is above its memory, the OOM killer's choices of a
//! process to kill are the only ones (each process with the most resident memory, lowest
//! first: the victim is a decision, which `run` takes as the lowest); otherwise, while the
//! tasks of a dispatch round are running their steps, those come first; then the timers due now, in the order they were set; then, pool by pool in
//! file order, the idle workers that can take a task (lowest first); then the tasks just taken,
//! in the order taken.

use std::ops::ControlFlow;

use super::agenda::Entry;
use super::{InstanceId, ProcessId, Simulation, WorkerId};

/// One thing that can happen next; see the engine's docs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Choice {
    /// Fire this timer (it is due at the current instant).
    Fire(Entry),
    /// This idle worker takes the next task from its pool's queues.
    Take(WorkerId),
    /// This just-taken task runs its instantaneous steps.
    Run(InstanceId),
    /// The OOM killer kills this process (the host is above its memory, and it is one of the
    /// processes with the most resident memory).
    Kill(ProcessId),
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

impl<'m> Simulation<'m> {
    /// Calls `visit` with every enabled choice, in canonical order (see the module docs),
    /// offering takes to `idle` workers, until `visit` breaks; returns what it broke with.
    #[inline(always)]
    pub fn for_each_enabled<B>(
        &self,
        idle: Idle,
        mut visit: impl FnMut(Choice) -> ControlFlow<B>,
    ) -> ControlFlow<B> {
        if self.oom_pending() {
            let largest = self.processes.iter().map(|p| p.rss()).max().unwrap_or(0);
            for (p, process) in self.processes.iter().enumerate() {
                if !process.down && process.rss() == largest {
                    visit(Choice::Kill(p as ProcessId))?;
                }
            }
            return ControlFlow::Continue(());
        }
        if self.mid_round {
            for &t in &self.just_taken {
                visit(Choice::Run(t))?;
            }
        }
        // The heap's top is the earliest (time, seq): when it is due and live it is the first
        // timer, and a caller that stops at the first choice never sorts; when it is not due,
        // no timer is.
        if let Some(top) = self.agenda.peek().filter(|e| e.time == self.now) {
            let first = self.is_live(&top.timer).then_some(*top);
            if let Some(first) = first {
                visit(Choice::Fire(first))?;
            }
            // The others in the order they were set: a scan of the agenda for each, rather
            // than a sorted copy, which every listing would move around (the agenda holds a
            // timer per working task and arrival stream).
            let mut after = first.map(|e| e.seq);
            while let Some(e) = self
                .agenda
                .iter()
                .filter(|e| after.is_none_or(|a| e.seq > a))
                .filter(|e| e.time == self.now && self.is_live(&e.timer))
                .min_by_key(|e| e.seq)
            {
                after = Some(e.seq);
                visit(Choice::Fire(*e))?;
            }
        }
        for pool in 0..self.pools.len() {
            if !self.pool_can_take(pool) {
                continue;
            }
            match idle {
                Idle::Every => {
                    let workers = self.model.workers_of(pool);
                    for w in workers.filter(|&w| self.workers[w as usize].is_idle()) {
                        visit(Choice::Take(w))?;
                    }
                }
                Idle::Lowest => {
                    if let Some(w) = self.lowest_idle(pool) {
                        visit(Choice::Take(w))?;
                    }
                }
            }
        }
        if !self.mid_round {
            for &t in &self.just_taken {
                visit(Choice::Run(t))?;
            }
        }
        ControlFlow::Continue(())
    }

    /// Every choice enabled now, in canonical order. Empty when the instant is over.
    pub fn options(&self) -> Vec<Choice> {
        let mut out = Vec::new();
        self.options_into(Idle::Every, &mut out);
        out
    }

    /// The enabled choices written into `out` (cleared first), so that a caller asking at
    /// every state (the explorer) reuses one buffer instead of allocating a list each time.
    pub fn options_into(&self, idle: Idle, out: &mut Vec<Choice>) {
        out.clear();
        let _ = self.for_each_enabled(idle, |c| {
            out.push(c);
            ControlFlow::<()>::Continue(())
        });
    }

    /// The first enabled choice, if any.
    #[inline(always)]
    fn first_enabled(&self) -> Option<Choice> {
        match self.for_each_enabled(Idle::Lowest, ControlFlow::Break) {
            ControlFlow::Break(c) => Some(c),
            ControlFlow::Continue(()) => None,
        }
    }

    /// Whether any choice is enabled now.
    pub fn has_options(&self) -> bool {
        self.first_enabled().is_some()
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
        self.first_enabled()
    }

    /// Whether pool `p` has an idle worker and some queue of it has a task.
    #[inline(always)]
    pub(super) fn pool_can_take(&self, p: usize) -> bool {
        // Both halves are computed and joined without a branch each: whether a worker is idle
        // and whether a task is queued are outcomes a processor cannot guess, and most pools
        // take from one queue.
        let queued = match self.scenario().pools[p].queues.as_slice() {
            [q] => !self.queues[*q].is_empty(),
            queues => queues.iter().any(|&q| !self.queues[q].is_empty()),
        };
        (self.pools[p].idle != 0) & queued
    }
}
