//! Memory and the life of processes: what a task holds and leaves behind, the pool's checks
//! after each task, exits, the OOM killer's kills, restarts, and the tasks that die with a
//! process (docs/memory.md).
//!
//! A task's `memory` is held by its process from the take to its end; at its end the process
//! keeps the task's `retain` (less the collectable share when the pool collects garbage after
//! each task). Then, after the task's result stands and before the worker takes anything
//! else, the pool's checks run (`Simulation::after_task`): above `max_memory` the process
//! exits; else a worker that reached `max_tasks` is recycled (a process pool's process exits, a
//! thread pool's thread alone is replaced and the process keeps its memory). Whenever the
//! host's total goes above its memory, the only choices enabled are the OOM killer's
//! ([`Choice::Kill`](super::Choice::Kill)). A process that exits or is killed frees all its memory; the tasks its
//! workers held are lost, or re-queued when their type `acks_late` (`Simulation::lose`); its
//! workers restart (`Activity::Restarting`) until the `restart` delay is over.
//!
//! These rules are called by the task rules of `rules.rs` (a take, a task's end, a timer) and
//! change workers only through `Simulation::set_activity`, like them.

use crate::scenario::{PoolKind, TaskId};

use super::agenda::Timer;
use super::state::{Activity, Process, NONE};
use super::{Event, Exit, InstanceId, Observer, ProcessId, Simulation, Status, WorkerId};

/// The most memory a process keeps (its base and what its tasks retained): 4 TiB. Sizes are
/// at most 1 TiB each and there are at most a million workers, so with this cap the host's
/// total fits in 64 bits whatever a run does (docs/memory.md).
pub const MAX_KEPT: u64 = 4 << 40;

impl Simulation<'_> {
    pub(super) fn memory_changed<O: Observer>(&self, process: ProcessId, obs: &mut O) {
        let rss = self.processes[process as usize].rss();
        obs.event(self, &Event::Memory { process, rss });
    }

    /// The memory rules and the pool's checks after worker `w` ran a task of type `task` to
    /// its end (see the module docs). True when its process exited above `max_memory`.
    #[inline(always)]
    pub(super) fn after_task<O: Observer>(
        &mut self,
        w: WorkerId,
        task: TaskId,
        obs: &mut O,
    ) -> bool {
        // Without memory modelled there is nothing to keep, check or count (nothing reads
        // what a process keeps or how many tasks a worker ran): the search and the run of
        // every scenario without memory skip it, inline.
        if !self.model.models_memory() {
            self.exits_in_a_row = 0;
            return false;
        }
        self.after_task_with_memory(w, task, obs)
    }

    /// [`after_task`](Self::after_task) for a scenario that models memory.
    #[inline(never)]
    fn after_task_with_memory<O: Observer>(
        &mut self,
        w: WorkerId,
        task: TaskId,
        obs: &mut O,
    ) -> bool {
        let p = self.model.process_of(w);
        let pool = &self.model.scenario.pools[self.model.pool_of(w)];
        let t = &self.model.scenario.tasks[task];
        let process = &mut self.processes[p as usize];
        // What a process keeps saturates at MAX_KEPT (4 TiB, far beyond any real process), so
        // that the host's total always fits (validation bounds every size at 1 TiB).
        let kept = t.kept(pool.gc).min(MAX_KEPT - process.kept.min(MAX_KEPT));
        process.running -= t.memory;
        process.kept += kept;
        process.tasks = process.tasks.saturating_add(1);
        self.host_rss = self.host_rss - t.memory + kept;
        self.workers[w as usize].tasks_run = self.workers[w as usize].tasks_run.saturating_add(1);
        self.exits_in_a_row = 0;
        if t.memory > 0 || kept > 0 {
            self.memory_changed(p, obs);
        }
        if pool
            .max_memory
            .is_some_and(|m| self.processes[p as usize].rss() > m)
        {
            self.exit_process(p, Exit::MaxMemory, obs);
            return true;
        } else if pool
            .max_tasks
            .is_some_and(|n| self.workers[w as usize].tasks_run >= n)
        {
            match pool.kind {
                PoolKind::Process => self.exit_process(p, Exit::MaxTasks, obs),
                PoolKind::Thread => {
                    obs.event(self, &Event::Recycled { worker: w });
                    self.set_activity(w, Activity::Restarting);
                    self.workers[w as usize].tasks_run = 0;
                    let at = self.now.saturating_add(pool.restart.sample(&mut self.rng));
                    self.agenda
                        .schedule(at, Timer::ThreadReplaced { worker: w });
                }
            }
        }
        false
    }

    /// Process `p` exits or is killed: its memory is freed, the tasks its workers hold are
    /// lost or re-queued, and its workers restart after the pool's `restart` delay.
    pub(super) fn exit_process<O: Observer>(&mut self, p: ProcessId, cause: Exit, obs: &mut O) {
        let process = self.processes[p as usize];
        obs.event(
            self,
            &Event::Exited {
                process: p,
                cause,
                rss: process.rss(),
                tasks: process.tasks,
            },
        );
        let workers = self.model.workers_of_process(p);
        for w in workers.clone() {
            if let Some(task) = self.workers[w as usize].task() {
                self.lose(task, obs);
            }
            self.set_activity(w, Activity::Restarting);
            self.workers[w as usize].tasks_run = 0;
        }
        // A thread recycled just before comes back with its process, not on its own.
        let replaced: Vec<u64> = self
            .agenda
            .iter()
            .filter(|e| matches!(e.timer, Timer::ThreadReplaced { worker } if workers.contains(&worker)))
            .map(|e| e.seq)
            .collect();
        for seq in replaced {
            self.agenda.remove(seq);
        }
        self.host_rss -= process.rss();
        self.processes[p as usize] = Process {
            down: true,
            ..Process::default()
        };
        self.exits_in_a_row = self.exits_in_a_row.saturating_add(1);
        let pool = &self.model.scenario.pools[self.model.pool_of_process(p)];
        let at = self.now.saturating_add(pool.restart.sample(&mut self.rng));
        self.agenda.schedule(at, Timer::Restarted { process: p });
    }

    /// The replacement of process `p` starts: base memory, every worker idle.
    pub(super) fn restart_process<O: Observer>(&mut self, p: ProcessId, obs: &mut O) {
        let base = self.model.scenario.pools[self.model.pool_of_process(p)].base_memory;
        self.processes[p as usize] = Process {
            kept: base,
            ..Process::default()
        };
        self.host_rss += base;
        let workers = self.model.workers_of_process(p);
        for w in workers.clone() {
            self.set_activity(w, Activity::Idle);
        }
        obs.event(
            self,
            &Event::Restarted {
                process: Some(p),
                first_worker: workers.start,
                workers: workers.end - workers.start,
            },
        );
        self.memory_changed(p, obs);
    }

    /// A task whose process died under it: re-queued from its first step when its type
    /// `acks_late`, else lost, and its parent (if waiting) waits for it for ever.
    pub(super) fn lose<O: Observer>(&mut self, task: InstanceId, obs: &mut O) {
        match self.instances[task as usize].status {
            Status::Taken(_) => {
                if let Some(i) = self.just_taken.iter().position(|&t| t == task) {
                    self.just_taken.remove(i);
                }
                if self.just_taken.is_empty() {
                    self.mid_round = false;
                }
            }
            Status::Working(_) => {
                let seq = self
                    .agenda
                    .iter()
                    .find(|e| e.timer == Timer::WorkDone { task })
                    .map(|e| e.seq);
                if let Some(seq) = seq {
                    self.agenda.remove(seq);
                }
            }
            Status::Waiting { .. } => {}
            Status::Free | Status::Queued(_) => {
                unreachable!("only a task held by a worker dies with its process")
            }
        }
        let inst = &mut self.instances[task as usize];
        // Any pending timeout of its wait becomes stale.
        inst.wait_token = u64::MAX;
        if self.model.scenario.tasks[inst.task].acks_late {
            // A new generation: the children it spawned before no longer count as its own.
            let enqueued_at = inst.enqueued_at;
            inst.generation = inst.generation.wrapping_add(1);
            inst.pc = 0;
            inst.outstanding = 0;
            inst.child_failed = false;
            inst.lost_children = 0;
            self.enqueue(task);
            self.instances[task as usize].enqueued_at = enqueued_at;
            obs.event(self, &Event::Requeued { task });
            return;
        }
        obs.event(self, &Event::Lost { task });
        let inst = &mut self.instances[task as usize];
        inst.status = Status::Free;
        let parent = inst.parent.take();
        let group = std::mem::replace(&mut inst.group, NONE);
        self.free_slots.push(task);
        self.live -= 1;
        if group != NONE {
            self.groups[group as usize].lost = true;
        }
        if let Some(parent) = parent.and_then(|l| self.resolve(l)) {
            let inst = &mut self.instances[parent as usize];
            inst.lost_children += 1;
            if matches!(inst.status, Status::Waiting { timed: false, .. }) {
                self.orphaned = true;
            }
        }
    }
}
