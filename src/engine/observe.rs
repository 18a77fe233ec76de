//! What the engine tells the outside world while it runs.
//!
//! The engine does not format anything: it pushes an [`Event`] to an [`Observer`] at each
//! change, and tells it when time passes. Statistics, traces and reports are observers; a pair
//! of observers is an observer, so they compose without the engine knowing. Observers are
//! generic parameters, so one that ignores an event costs nothing.

use crate::scenario::Tick;

use super::{InstanceId, ProcessId, Simulation, TaskResult, WorkerId};

/// A change in a simulation, reported after it happened (for `Finished`, just before the
/// instance's slot is freed, so the observer can still read it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// A task arrived from outside and was queued.
    Arrived {
        /// The new instance.
        task: InstanceId,
    },
    /// A running task spawned a child, which was queued.
    Spawned {
        /// The child.
        task: InstanceId,
        /// The spawner.
        parent: InstanceId,
    },
    /// The last child of a `then` group finished; its callback was queued.
    CallbackQueued {
        /// The callback instance.
        task: InstanceId,
    },
    /// An idle worker took a task from a queue.
    Taken {
        /// The task.
        task: InstanceId,
        /// The worker.
        worker: WorkerId,
    },
    /// A task started a `work` step.
    WorkStarted {
        /// The task.
        task: InstanceId,
        /// Its worker.
        worker: WorkerId,
        /// How long the work lasts.
        duration: Tick,
    },
    /// A task began to wait for its children, holding its worker.
    Blocked {
        /// The task.
        task: InstanceId,
        /// The worker it holds.
        worker: WorkerId,
    },
    /// A waiting task's children have all finished; it goes on.
    Resumed {
        /// The task.
        task: InstanceId,
        /// Its worker.
        worker: WorkerId,
    },
    /// A wait's timeout fired.
    TimedOut {
        /// The waiting task.
        task: InstanceId,
    },
    /// A task finished and released its worker.
    Finished {
        /// The task.
        task: InstanceId,
        /// How it ended.
        result: TaskResult,
    },
    /// A process's resident memory changed (a task was taken or ended, a process started).
    Memory {
        /// The process.
        process: ProcessId,
        /// Its resident memory now, in bytes.
        rss: u64,
    },
    /// A process exited (`max_memory`, `max_tasks`) or was killed (`oom`); reported before
    /// the tasks it was running are lost or re-queued.
    Exited {
        /// The process.
        process: ProcessId,
        /// Why.
        cause: Exit,
        /// Its resident memory when it went, in bytes.
        rss: u64,
        /// Tasks it ran to their end since it started.
        tasks: u32,
    },
    /// A thread of a thread pool was recycled (`max_tasks`); its process keeps its memory.
    Recycled {
        /// The worker.
        worker: WorkerId,
    },
    /// A process (after an exit) or a thread (after recycling) is back and takes work.
    Restarted {
        /// The process, for a process's restart.
        process: Option<ProcessId>,
        /// The first of the workers back.
        first_worker: WorkerId,
        /// How many workers are back.
        workers: u32,
    },
    /// A task died with its process and is gone: nothing will run it again (reported before
    /// its slot is freed).
    Lost {
        /// The task.
        task: InstanceId,
    },
    /// A task died with its process and was put back on its queue (`acks_late`), to run again
    /// from its first step.
    Requeued {
        /// The task.
        task: InstanceId,
    },
}

/// Why a process went.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Exit {
    /// It was above `max_memory` after a task.
    MaxMemory,
    /// A worker of it reached `max_tasks` (a process pool's process is recycled whole).
    MaxTasks,
    /// The OOM killer took it: the host was above its memory and it was the largest.
    Oom,
}

impl Exit {
    /// The cause's name in reports: `max_memory`, `max_tasks`, `oom`.
    pub fn name(self) -> &'static str {
        match self {
            Exit::MaxMemory => "max_memory",
            Exit::MaxTasks => "max_tasks",
            Exit::Oom => "oom",
        }
    }
}

/// Receives a simulation's events. Both methods do nothing by default.
pub trait Observer {
    /// Called after each change, with the simulation in its new state.
    fn event(&mut self, sim: &Simulation<'_>, event: &Event) {
        let _ = (sim, event);
    }

    /// Called when the clock moves from `from` to `to`; the state is the one that held
    /// during that interval.
    fn time_passes(&mut self, sim: &Simulation<'_>, from: Tick, to: Tick) {
        let _ = (sim, from, to);
    }

    /// Called once when the run ends, with its final state ([`run_to_end`](super::run_to_end)
    /// calls it at every end): where an observer that reads the engine's own running sums
    /// (the time integrals of [`PoolCounters`](super::PoolCounters)) settles its figures.
    fn ended(&mut self, sim: &Simulation<'_>) {
        let _ = sim;
    }
}

/// The observer that ignores everything.
impl Observer for () {}

impl<A: Observer, B: Observer> Observer for (A, B) {
    fn event(&mut self, sim: &Simulation<'_>, event: &Event) {
        self.0.event(sim, event);
        self.1.event(sim, event);
    }

    fn time_passes(&mut self, sim: &Simulation<'_>, from: Tick, to: Tick) {
        self.0.time_passes(sim, from, to);
        self.1.time_passes(sim, from, to);
    }

    fn ended(&mut self, sim: &Simulation<'_>) {
        self.0.ended(sim);
        self.1.ended(sim);
    }
}

impl<O: Observer + ?Sized> Observer for &mut O {
    fn event(&mut self, sim: &Simulation<'_>, event: &Event) {
        (**self).event(sim, event);
    }

    fn time_passes(&mut self, sim: &Simulation<'_>, from: Tick, to: Tick) {
        (**self).time_passes(sim, from, to);
    }

    fn ended(&mut self, sim: &Simulation<'_>) {
        (**self).ended(sim);
    }
}

impl<O: Observer> Observer for Option<O> {
    fn event(&mut self, sim: &Simulation<'_>, event: &Event) {
        if let Some(o) = self {
            o.event(sim, event);
        }
    }

    fn time_passes(&mut self, sim: &Simulation<'_>, from: Tick, to: Tick) {
        if let Some(o) = self {
            o.time_passes(sim, from, to);
        }
    }

    fn ended(&mut self, sim: &Simulation<'_>) {
        if let Some(o) = self {
            o.ended(sim);
        }
    }
}
