//! What the engine tells the outside world while it runs.
//!
//! The engine does not format anything: it pushes an [`Event`] to an [`Observer`] at each
//! change, and tells it when time passes. Statistics, traces and reports are observers; a pair
//! of observers is an observer, so they compose without the engine knowing. Observers are
//! generic parameters, so one that ignores an event costs nothing.

use crate::scenario::Tick;

use super::{InstanceId, Simulation, TaskResult, WorkerId};

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
}

impl<O: Observer + ?Sized> Observer for &mut O {
    fn event(&mut self, sim: &Simulation<'_>, event: &Event) {
        (**self).event(sim, event);
    }

    fn time_passes(&mut self, sim: &Simulation<'_>, from: Tick, to: Tick) {
        (**self).time_passes(sim, from, to);
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
}
