//! Schedule exploration: every timing, or many random ones.
//!
//! One `qsim run` shows one timing. Whether a pool deadlocks often depends on which of two
//! things happens first: a second parent being taken before the first one's children are
//! queued, a burst arriving while workers are busy. The explorer answers two questions:
//!
//! - *Can any timing deadlock?* [`exhaustive::explore`] visits every state reachable through
//!   the engine's [`Choice`]s and returns a [`Verdict`]: `deadlock` with a shortest, minimised,
//!   replayable [`Schedule`]; `deadlock_free` when every reachable state was visited; or
//!   `inconclusive` when a budget ran out.
//! - *How likely is it under my distributions?* [`random::monte_carlo`] runs the scenario many
//!   times with random tie-breaking and reports the probability of deadlock with a confidence
//!   interval.
//!
//! [`min_workers()`] asks a third, built on the first: how many workers does a pool need for no
//! timing to deadlock it? Each answer is a value ([`Exploration`], [`random::MonteCarlo`],
//! [`MinWorkers`]); [`report`](crate::report) puts them in words and JSON.
//!
//! # Timing
//! Under [`Timing::Any`] every duration may take any value: the explorer sees the scenario
//! with every duration zero ([`Scenario::with_any_timing`]), so every pending timer is due at
//! once and any of them may fire next — completions, arrivals (those of one stream keep their
//! order), timeouts — interleaved with every possible dispatch and every order in which just
//! taken tasks run their steps. Under [`Timing::Exact`] the scenario's own instants stand
//! (distributions replaced by their means), and only the orders they leave open are explored:
//! timers due at the same instant, which idle worker takes which task, how the instantaneous
//! steps of tasks taken at the same instant interleave with each other and with dispatch.
//!
//! # Reductions
//! - *Symmetry* ([`canon`]): states equal up to renaming workers of a pool, or task instances
//!   with the same type, step and waiting relations, are visited once; only the lowest idle
//!   worker of a pool is offered a task, and only the first of twin tasks is offered a move
//!   (any other would lead to a symmetric state, so to a duplicate).
//! - *Partial order*: a choice that touches nothing but its own task — a task starting `work`
//!   right after being taken, or finishing one `work` step only to start another — commutes
//!   with every other choice and cannot be disabled by any. When one is enabled it is explored
//!   alone (a singleton persistent set). This is sound for deadlock because the state graph is
//!   acyclic (every choice moves some task forward) and a deadlock, once formed, stays.
//!
//! Both are tested against the naive search (no reduction) on random scenarios.

pub mod bound;
pub mod canon;
pub mod exhaustive;
pub mod min_workers;
pub mod minimize;
pub mod random;
pub mod reduce;
pub mod replay;
mod step;

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::engine::agenda::Timer;
use crate::engine::{Choice, Idle, Model, Simulation, Status};
use crate::scenario::{Scenario, Step};

pub use crate::engine::Chooser;
pub use exhaustive::{explore, search, Budget, Exploration, Method, Order, Verdict};
pub use min_workers::{min_workers, MinWorkers};
pub use reduce::{Plan, Shortcut, SwitchedOff};

/// Which timings the explorer considers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Timing {
    /// Every duration may take any value: only orders matter.
    #[default]
    Any,
    /// The scenario's own instants (distributions at their means); only same-instant races.
    Exact,
}

impl Timing {
    /// The scenario the explorer actually searches.
    pub fn apply(self, scenario: &Scenario) -> Scenario {
        match self {
            Timing::Any => scenario.with_any_timing(),
            Timing::Exact => scenario.with_mean_durations(),
        }
    }

    /// `any` or `exact`.
    pub fn name(self) -> &'static str {
        match self {
            Timing::Any => "any",
            Timing::Exact => "exact",
        }
    }
}

/// Which reductions the exhaustive search uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reductions {
    /// Symmetry reduction (canonical states; one idle worker per pool and one of twin tasks
    /// offered a move).
    pub symmetry: bool,
    /// Partial-order reduction (local choices explored alone).
    pub partial_order: bool,
}

impl Reductions {
    /// Every reduction on (the default).
    pub const ALL: Reductions = Reductions {
        symmetry: true,
        partial_order: true,
    };
    /// No reduction: the naive search.
    pub const NONE: Reductions = Reductions {
        symmetry: false,
        partial_order: false,
    };
}

impl Default for Reductions {
    fn default() -> Self {
        Reductions::ALL
    }
}

/// A replayable record of one run: the seed, the timing and every choice, as labels.
///
/// Labels name what they choose, not where it sits in a list, so a schedule stays readable and
/// checkable: `arrival 0` (the next arrival of stream 0), `take default/1` (worker 1 of pool
/// `default` takes the next task), `run main_task#1` (a task just taken runs its steps),
/// `done subtask#3` (a task's work finishes), `timeout main_task#1` (a wait times out).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    /// The scenario's name, for the reader.
    pub scenario: String,
    /// The seed the run used.
    pub seed: u64,
    /// The timing under which the schedule was found.
    pub timing: Timing,
    /// Every choice, in order.
    pub steps: Vec<String>,
    /// The [`scenario_fingerprint`] of the scenario the schedule was found on, as explored, so
    /// that `qsim replay` refuses another scenario instead of replaying into someone else's
    /// deadlock. Schedules written before it existed have none (`None`) and still load.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scenario_fingerprint: Option<String>,
}

impl Schedule {
    /// Whether the schedule was found on `explored`, the scenario as the explorer searches it
    /// under the schedule's timing ([`model_for`]'s): `Err` says which scenario it was found
    /// on, if its fingerprint says it was another. A schedule without a fingerprint passes
    /// (its steps are still checked one by one).
    pub fn check_scenario(&self, explored: &Scenario) -> Result<(), String> {
        let Some(recorded) = &self.scenario_fingerprint else {
            return Ok(());
        };
        let found = scenario_fingerprint(explored);
        if *recorded == found {
            return Ok(());
        }
        Err(format!(
            "found on another scenario: {} with fingerprint {}, while {} as loaded here (with \
             its --set overrides) has {found}; replay it with the scenario file, --set \
             overrides and --arrivals-from it was explored with",
            step::quoted(&self.scenario),
            step::escaped(recorded),
            step::quoted(&explored.name),
        ))
    }
}

/// A fingerprint of `explored`, the scenario as the explorer searches it (after
/// [`Timing::apply`]): `xxh3:` and 16 hex digits of the xxh3 hash of its `Debug` form.
///
/// Only what decides which steps fit is hashed: the name, the description, the seed (a replay
/// takes the schedule's) and `ties` (the explorer tries every order) are left out, so a renamed
/// or re-seeded scenario still takes its schedules. Under either timing every duration is a
/// fixed whole number of ticks, so the text has no floating point and is the same on every
/// platform; it may change between versions of qsim, and a schedule is then refused with a
/// message to explore again.
pub fn scenario_fingerprint(explored: &Scenario) -> String {
    // Destructured so that a new field of `Scenario` is a decision here, not left out by chance.
    let Scenario {
        name: _,
        description: _,
        seed: _,
        ties: _,
        horizon,
        queues,
        pools,
        tasks,
        arrivals,
        host,
    } = explored;
    // The pools and tasks as they were before memory was modelled, so that a scenario that
    // models none keeps the fingerprint (and the schedules) it had; the memory fields are
    // hashed after them when the scenario has any.
    #[derive(Debug)]
    #[allow(dead_code)]
    struct Pool<'a> {
        name: &'a String,
        workers: &'a u32,
        queues: &'a Vec<usize>,
    }
    #[derive(Debug)]
    #[allow(dead_code)]
    struct TaskType<'a> {
        name: &'a String,
        queue: &'a usize,
        priority: &'a i32,
        steps: &'a Vec<Step>,
    }
    let old_pools: Vec<Pool> = pools
        .iter()
        .map(|p| Pool {
            name: &p.name,
            workers: &p.workers,
            queues: &p.queues,
        })
        .collect();
    let old_tasks: Vec<TaskType> = tasks
        .iter()
        .map(|t| TaskType {
            name: &t.name,
            queue: &t.queue,
            priority: &t.priority,
            steps: &t.steps,
        })
        .collect();
    let mut hasher = HashWriter(xxhash_rust::xxh3::Xxh3::new());
    write!(
        hasher,
        "{horizon:?}{queues:?}{old_pools:?}{old_tasks:?}{arrivals:?}"
    )
    .expect("hashing cannot fail");
    if explored.models_memory() {
        write!(hasher, "{host:?}{pools:?}{tasks:?}").expect("hashing cannot fail");
    }
    format!("xxh3:{:016x}", hasher.0.digest())
}

/// Hashes what is written to it, so that a scenario's `Debug` form is hashed without being
/// held in memory whole (a million inlined steps would make it large).
struct HashWriter(xxhash_rust::xxh3::Xxh3);

impl std::fmt::Write for HashWriter {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.update(s.as_bytes());
        Ok(())
    }
}

/// The label of `choice` in `sim`'s current state (see [`Schedule`]).
pub fn label(sim: &Simulation<'_>, choice: Choice) -> String {
    match choice {
        Choice::Fire(entry) => match entry.timer {
            Timer::Arrival { stream } => format!("arrival {stream}"),
            Timer::WorkDone { task } => format!("done {}", sim.task_name(task)),
            Timer::Timeout { task, .. } => format!("timeout {}", sim.task_name(task)),
            Timer::Restarted { process } => format!("restart {}", sim.model.process_name(process)),
            Timer::ThreadReplaced { worker } => {
                format!("replace {}", sim.model.worker_name(worker))
            }
        },
        Choice::Take(w) => format!("take {}", sim.model.worker_name(w)),
        Choice::Kill(p) => format!("kill {}", sim.model.process_name(p)),
        Choice::Run(task) => format!("run {}", sim.task_name(task)),
    }
}

/// Whether `choice` touches only its own task (see the partial-order reduction above).
pub fn is_local(sim: &Simulation<'_>, choice: Choice) -> bool {
    let next_is_local = |task, pc: u32| {
        let inst = sim.instance(task);
        sim.scenario().tasks[inst.task]
            .steps
            .get(pc as usize)
            .is_some_and(Step::is_local)
    };
    match choice {
        Choice::Run(task) => next_is_local(task, sim.instance(task).pc),
        Choice::Fire(entry) => matches!(
            entry.timer,
            Timer::WorkDone { task } if next_is_local(task, sim.instance(task).pc + 1)
        ),
        Choice::Take(_) | Choice::Kill(_) => false,
    }
}

/// The choices the exhaustive search explores from `sim`, with the shortcuts of `plan`.
pub fn explored_options(sim: &Simulation<'_>, plan: &Plan) -> Vec<Choice> {
    let mut options = Vec::new();
    explored_options_into(sim, plan, &mut options);
    options
}

/// [`explored_options`] written into `out` (cleared first): the search asks at every state, and
/// reusing one buffer spares an allocation each time.
pub fn explored_options_into(sim: &Simulation<'_>, plan: &Plan, out: &mut Vec<Choice>) {
    if plan.symmetry {
        // Only the lowest idle worker of each pool is offered a take.
        sim.options_into(Idle::Lowest, out);
    } else {
        sim.options_into(Idle::Every, out);
    }
    if plan.partial_order {
        if let Some(&local) = out.iter().find(|&&c| is_local(sim, c)) {
            out.clear();
            out.push(local);
            return;
        }
    }
    if plan.twin_choices {
        drop_twin_choices(sim, out);
    }
}

/// Drops each choice that moves a *twin* of a task an earlier choice moves in the same way.
///
/// Two tasks are twins when they are held by workers of one pool and are interchangeable in
/// the canonical form: the same parent (or both roots) and `then` group, the same type, step
/// and status, no live children, and the same failed-child flag. Renaming one into the other
/// (with their workers) maps the state to itself, so running one or finishing one's work
/// leads to a state symmetric to doing it for the other: one of them is enough. The visited
/// states are the same; only transitions that would end in a duplicate are saved (in a
/// fan-out, the sibling subtasks that are working at the same time).
fn drop_twin_choices(sim: &Simulation<'_>, out: &mut Vec<Choice>) {
    let mut keys: smallvec::SmallVec<[TwinKey; 8]> = smallvec::SmallVec::new();
    out.retain(|&choice| match twin_key(sim, choice) {
        Some(key) if keys.contains(&key) => false,
        Some(key) => {
            keys.push(key);
            true
        }
        None => true,
    });
}

/// See [`twin_key`].
type TwinKey = (u8, [u32; 6]);

/// What a choice does and to which task, as far as a twin of the task would not tell them
/// apart (see [`drop_twin_choices`]); `None` for choices that are never dropped.
fn twin_key(sim: &Simulation<'_>, choice: Choice) -> Option<TwinKey> {
    let (kind, task) = match choice {
        Choice::Run(task) => (0, task),
        Choice::Fire(entry) => match entry.timer {
            Timer::WorkDone { task } => (1, task),
            Timer::Arrival { .. }
            | Timer::Timeout { .. }
            | Timer::Restarted { .. }
            | Timer::ThreadReplaced { .. } => return None,
        },
        Choice::Take(_) | Choice::Kill(_) => return None,
    };
    let inst = sim.instance(task);
    if inst.outstanding != 0 {
        return None;
    }
    let worker = inst.status.worker()?;
    let parent = inst.parent.and_then(|l| sim.resolve(l)).unwrap_or(u32::MAX);
    Some((
        kind,
        [
            sim.model.pool_of(worker) as u32,
            parent,
            inst.group,
            inst.task as u32,
            inst.pc,
            inst.child_failed as u32,
        ],
    ))
}

/// Advances the clock until a choice is enabled; returns false if the run is over (nothing
/// left, or the horizon reached).
pub fn settle(sim: &mut Simulation<'_>) -> bool {
    loop {
        if sim.has_options() {
            return true;
        }
        if sim.advance_time(&mut ()) != crate::engine::Advance::Moved {
            return false;
        }
    }
}

/// True when `sim` has a task that is not finished.
pub fn has_unfinished(sim: &Simulation<'_>) -> bool {
    sim.instances().any(|(_, i)| i.status != Status::Free)
}

/// Decides whether any schedule of `scenario` under `timing` deadlocks, the way `qsim explore`
/// does: first the counting argument ([`bound::prove_deadlock_free`]), which proves freedom
/// without visiting a state where it applies, then the search in `order`. The naive search
/// (`reductions` all off, for checking the others) skips the counting argument too.
pub fn decide(
    scenario: &Scenario,
    timing: Timing,
    reductions: Reductions,
    order: Order,
    budget: &Budget,
    progress: &mut dyn FnMut(exhaustive::Progress),
) -> Exploration {
    if reductions != Reductions::NONE {
        let started = std::time::Instant::now();
        if let Some(proof) = bound::prove_deadlock_free(scenario) {
            return Exploration::proved(proof, started.elapsed());
        }
    }
    search(scenario, timing, reductions, order, budget, progress)
}

/// The model the explorer searches for `scenario` under `timing`.
pub fn model_for(scenario: &Scenario, timing: Timing) -> Model {
    Model::new(timing.apply(scenario))
}

#[cfg(test)]
mod tests;
