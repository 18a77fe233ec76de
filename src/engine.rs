//! One simulation: the state of every worker, queue and task, and the rules that move it.
//!
//! # The model
//! Tasks are instances of the scenario's task types. An instance is created by an arrival, by a
//! parent's `spawn`, or as the `then` callback of a group of children; it is put on its type's
//! queue, taken by an idle worker of a pool that consumes that queue, and then runs its steps:
//! `work` holds the worker for a while, `spawn` enqueues children without blocking, `wait`
//! holds the worker until every child spawned so far has finished (or its timeout fires).
//! `call` was inlined by validation. A task finishes when it runs out of steps (completed) or
//! when a wait times out with `on_timeout = "fail"` or finds a failed child (failed).
//!
//! # One decision point
//! Everything that can happen next is a [`Choice`]: fire a timer that is due now, let an idle
//! worker take a task, or let a task that was just taken run its instantaneous steps (spawn,
//! the start of a work or a wait). [`Simulation::options`] lists the choices enabled in the
//! current state, in canonical order, and [`Simulation::apply`] performs one. When nothing is
//! enabled at the current instant, [`Simulation::advance_time`] moves the clock to the next
//! timer. Every nondeterministic decision of a run therefore passes through one place, a
//! [`Chooser`]: `qsim run` plugs the canonical rule, `ties = random` and `qsim explore --mode
//! random` plug random tie-breaking, `qsim replay` the replay of a schedule. A decision that is
//! a value (one of `n` outcomes) goes through the same seam ([`Chooser::value`]). The
//! exhaustive search does not pick: it branches on every option of the same list, at every
//! state (see `explore::exhaustive`).
//!
//! # The parts
//! - [`model`]: the scenario and its lookup tables, shared by every run of it;
//! - [`state`]: the state of one run ([`Simulation`], [`Worker`], [`Instance`]), its fields
//!   declared once;
//! - [`enabled`]: what can happen next ([`Choice`], the one iterator
//!   [`Simulation::for_each_enabled`]);
//! - [`rules`](mod@rules): what each choice does ([`Simulation::apply`]);
//! - [`lifecycle`]: memory, the pool's checks after a task, exits, OOM kills and restarts;
//! - [`run`](mod@run): the drivers and the [`Chooser`] seam ([`run_to_end`], [`simulate`]);
//! - [`agenda`], [`queue`], [`observe`], [`wait_for`]: the timers, the queues, the events
//!   reported to observers, and deadlock detection.
//!
//! # The canonical rule (what `qsim run` does), one instant at a time
//! 1. every timer due at this instant fires, in the order it was set (arrivals enqueue, work
//!    finishes and the task goes on with its next steps, timeouts fire);
//! 2. every idle worker, lowest index first (pools in file order), takes the next task from the
//!    first non-empty queue of its pool;
//! 3. only then do the tasks just taken run their instantaneous steps, in the order they were
//!    taken, each until it blocks (work, wait) or ends;
//! 4. this repeats at the same instant until nothing more can happen; then time advances.
//!
//! So two parents arriving at the same instant are both taken before either spawns, as in a
//! real consumer whose worker threads each fetch a message before running it.
//!
//! # Deadlock
//! After every choice the engine checks, in constant time, whether some pool has all its
//! workers held by tasks blocked in a wait without timeout; only then does it run the full
//! check of [`wait_for`]: the greatest set of tasks that can never be unblocked. A non-empty
//! set is a deadlock, found at the instant it forms; the run stops there.

pub mod agenda;
pub mod enabled;
pub mod lifecycle;
pub mod model;
pub mod observe;
pub mod queue;
pub mod rules;
pub mod run;
pub mod state;
pub mod wait_for;

pub use enabled::{Choice, Idle};
pub use model::{Model, ProcessId};
pub use observe::{Event, Exit, Observer};
pub use rules::Advance;
pub use run::{
    run, run_to_end, simulate, Canonical, Chooser, Decided, Decision, End, Limits, Outcome,
    RandomTies, Recorder, Replayer, TiesByValue,
};
pub use state::{
    Activity, Group, Instance, Link, PoolCounters, Process, Simulation, Status, TaskResult, Worker,
    WorkerTime,
};
pub use wait_for::Deadlock;

/// A task instance: an index into the simulation's table of instances. Slots are reused once
/// an instance has finished, so ids are only meaningful while the instance is alive.
pub type InstanceId = u32;

/// Index of a worker over all pools (pool 0's workers first).
pub type WorkerId = u32;

#[cfg(test)]
pub(crate) mod tests;
