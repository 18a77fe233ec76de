//! The run drivers: a [`Chooser`] decides, the engine applies, until the run ends.
//!
//! [`run_to_end`] is the one loop: ask what is enabled, let the chooser pick (or take the
//! first, for the canonical rule), apply it, check the limits and for a deadlock, and move the
//! clock when nothing is left at this instant. [`run`] adds the deadlock's explanation;
//! [`simulate`] picks the chooser the scenario asks for (`ties`).
//!
//! # The seam for every decision
//! A [`Chooser`] answers two kinds of question, as shuttle's scheduler answers `next_task` and
//! `next_u64`: *which* of the enabled choices happens next (an ordering, [`Chooser::choose`]),
//! and *what value* a decision takes, one of `n` outcomes ([`Chooser::value`]). Both can be
//! recorded as [`Decided`] steps by [`Recorder`] and reproduced by [`Replayer`], step for step.
//! `ties = random` breaks ties with a value ([`TiesByValue`]), so that a random run is a list
//! of values that a replay reproduces.

use crate::memory::{self, MemoryLimit};
use crate::rng::SimRng;
use crate::scenario::Ties;

use super::{wait_for, Advance, Choice, Deadlock, Idle, Model, Observer, Simulation};

/// Decides what a run leaves open: the single seam through which every nondeterministic
/// decision passes (see the module docs).
pub trait Chooser {
    /// True for the canonical rule, which always picks `options[0]`; lets the run loop skip
    /// building the option list.
    const CANONICAL: bool = false;

    /// Which of the enabled choices happens next: the index of the option to take, or `None`
    /// to stop the run here.
    fn choose(&mut self, sim: &Simulation<'_>, options: &[Choice]) -> Option<usize>;

    /// Which of `n` outcomes (`0..n`, `n >= 1`) a decision takes, or `None` to stop the run
    /// here. The default is the canonical one: the lowest.
    fn value(&mut self, sim: &Simulation<'_>, decision: Decision, n: u32) -> Option<u32> {
        let _ = (sim, decision, n);
        Some(0)
    }
}

/// A decision that is a value, one of `n` outcomes, rather than an ordering of enabled
/// choices. Each kind of value decision is a variant, so that a recorded run says what each
/// value decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Which of the choices enabled at one instant happens next, decided as a value: how
    /// `ties = random` breaks ties ([`TiesByValue`]).
    Tie,
    /// Which of the processes with the most resident memory the OOM killer kills (outcome
    /// `i` is the `i`-th of them, lowest process first): `run` takes the lowest.
    OomVictim,
}

/// One decision of a run, as [`Recorder`] keeps it and [`Replayer`] reproduces it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decided {
    /// Option `index` of the `of` choices enabled was taken.
    Ordering {
        /// The option taken.
        index: u32,
        /// How many options there were.
        of: u32,
    },
    /// `decision` took outcome `outcome` of `of`.
    Value {
        /// What was decided.
        decision: Decision,
        /// The outcome.
        outcome: u32,
        /// How many outcomes there were.
        of: u32,
    },
}

/// The canonical rule of `qsim run`: always the first option, and the lowest value.
#[derive(Clone, Copy, Debug, Default)]
pub struct Canonical;

impl Chooser for Canonical {
    const CANONICAL: bool = true;
    fn choose(&mut self, _: &Simulation<'_>, _: &[Choice]) -> Option<usize> {
        Some(0)
    }
}

/// Breaks every tie, and decides every value, with a draw from its own generator.
#[derive(Clone, Debug)]
pub struct RandomTies(pub SimRng);

impl Chooser for RandomTies {
    fn choose(&mut self, _: &Simulation<'_>, options: &[Choice]) -> Option<usize> {
        Some(self.0.below(options.len()))
    }

    fn value(&mut self, _: &Simulation<'_>, _: Decision, n: u32) -> Option<u32> {
        Some(self.0.below(n as usize) as u32)
    }
}

/// Asks `C` for every ordering as a value ([`Decision::Tie`] of as many outcomes as there are
/// options), so that the orderings of a run are recorded and replayed as values.
#[derive(Clone, Debug)]
pub struct TiesByValue<C>(pub C);

impl<C: Chooser> Chooser for TiesByValue<C> {
    fn choose(&mut self, sim: &Simulation<'_>, options: &[Choice]) -> Option<usize> {
        let n = u32::try_from(options.len()).ok()?;
        self.0.value(sim, Decision::Tie, n).map(|i| i as usize)
    }

    fn value(&mut self, sim: &Simulation<'_>, decision: Decision, n: u32) -> Option<u32> {
        self.0.value(sim, decision, n)
    }
}

/// Passes every decision to `C` and records it.
#[derive(Clone, Debug)]
pub struct Recorder<C> {
    /// The chooser that decides.
    pub inner: C,
    /// Every decision so far, in order.
    pub decided: Vec<Decided>,
}

impl<C> Recorder<C> {
    /// Records the decisions of `inner`.
    pub fn new(inner: C) -> Recorder<C> {
        Recorder {
            inner,
            decided: Vec::new(),
        }
    }
}

impl<C: Chooser> Chooser for Recorder<C> {
    fn choose(&mut self, sim: &Simulation<'_>, options: &[Choice]) -> Option<usize> {
        let index = self.inner.choose(sim, options)?;
        self.decided.push(Decided::Ordering {
            index: index as u32,
            of: options.len() as u32,
        });
        Some(index)
    }

    fn value(&mut self, sim: &Simulation<'_>, decision: Decision, n: u32) -> Option<u32> {
        let outcome = self.inner.value(sim, decision, n)?;
        self.decided.push(Decided::Value {
            decision,
            outcome,
            of: n,
        });
        Some(outcome)
    }
}

/// Reproduces recorded decisions one by one; stops the run (`None`) at the first question
/// that does not match the next recorded decision (another kind, another number of options
/// or outcomes), or when the record is used up.
#[derive(Clone, Debug)]
pub struct Replayer {
    decided: Vec<Decided>,
    next: usize,
}

impl Replayer {
    /// A replay of `decided`.
    pub fn new(decided: Vec<Decided>) -> Replayer {
        Replayer { decided, next: 0 }
    }

    /// How many recorded decisions were reproduced.
    pub fn followed(&self) -> usize {
        self.next
    }

    fn take(&mut self, answer: impl Fn(Decided) -> Option<u32>) -> Option<u32> {
        let outcome = answer(*self.decided.get(self.next)?)?;
        self.next += 1;
        Some(outcome)
    }
}

impl Chooser for Replayer {
    fn choose(&mut self, _: &Simulation<'_>, options: &[Choice]) -> Option<usize> {
        let n = options.len() as u32;
        self.take(|d| match d {
            Decided::Ordering { index, of } if of == n => Some(index),
            _ => None,
        })
        .map(|i| i as usize)
    }

    fn value(&mut self, _: &Simulation<'_>, decision: Decision, n: u32) -> Option<u32> {
        self.take(|d| match d {
            Decided::Value {
                decision: asked,
                outcome,
                of,
            } if asked == decision && of == n => Some(outcome),
            _ => None,
        })
    }
}

/// How a run ended.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// Nothing was left to happen: every task finished.
    Completed,
    /// The horizon was reached with work left.
    Horizon,
    /// Some tasks can never be unblocked.
    Deadlock(Deadlock),
    /// The run was stopped after `--max-events` choices.
    EventLimit,
    /// The run was stopped because more tasks were alive at once than [`Limits::max_tasks`].
    TaskLimit,
    /// The run was stopped because the process held more memory than [`Limits::max_memory`].
    MemoryLimit {
        /// The resident memory seen, in bytes.
        held: u64,
    },
    /// The chooser stopped the run (e.g. a schedule that no longer fits the scenario).
    Stopped,
    /// Processes kept exiting or being killed with no task finishing in between: more than
    /// [`restart_loop_limit`] in a row. Every replacement dies before it finishes a task.
    RestartLoop {
        /// Exits and kills in a row.
        exits: u32,
    },
}

/// How many exits and kills in a row, with no task finishing in between, stop a run as a
/// restart loop: eight per process, and eight more. A run that can still make progress
/// finishes a task long before (each exit frees a process's memory; a loop that never does
/// repeats the same few states for ever).
pub fn restart_loop_limit(model: &Model) -> u32 {
    8 * (model.process_count() as u32).saturating_add(1)
}

impl Outcome {
    /// The outcome's name in reports: `completed`, `horizon`, `deadlock`, `event_limit`,
    /// `memory_limit`,
    /// `task_limit`, `stopped`.
    pub fn name(&self) -> &'static str {
        match self {
            Outcome::Completed => "completed",
            Outcome::Horizon => "horizon",
            Outcome::Deadlock(d) if d.is_orphaned() => "orphaned_wait",
            Outcome::Deadlock(_) => "deadlock",
            Outcome::RestartLoop { .. } => "restart_loop",
            Outcome::EventLimit => "event_limit",
            Outcome::TaskLimit => "task_limit",
            Outcome::MemoryLimit { .. } => "memory_limit",
            Outcome::Stopped => "stopped",
        }
    }
}

/// Limits on a run.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Stop with [`Outcome::EventLimit`] after this many choices.
    pub max_events: u64,
    /// Stop with [`Outcome::TaskLimit`] when more task instances than this are alive at once
    /// (a scenario that spawns without bound would otherwise exhaust memory).
    pub max_tasks: u64,
    /// Stop with [`Outcome::MemoryLimit`] when the process holds more memory than this
    /// (looked at every 65,536 choices, and whenever another 262,144 tasks are alive).
    pub max_memory: Option<MemoryLimit>,
}

impl Default for Limits {
    /// A billion choices, ten million tasks alive, and half the memory available when the
    /// limits are made.
    fn default() -> Limits {
        Limits {
            max_events: 1_000_000_000,
            max_tasks: 10_000_000,
            max_memory: MemoryLimit::default_for_this_machine(),
        }
    }
}

/// How a run ended, without the deadlock's explanation (see [`run_to_end`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// Every task finished.
    Completed,
    /// The horizon was reached with work left.
    Horizon,
    /// A deadlock formed at the current instant.
    Deadlock,
    /// `max_events` choices were made.
    EventLimit,
    /// More than `max_tasks` tasks were alive at once.
    TaskLimit,
    /// The process held more memory than `max_memory`.
    MemoryLimit {
        /// The resident memory seen, in bytes.
        held: u64,
    },
    /// The chooser stopped the run.
    Stopped,
    /// Processes exited or were killed too many times in a row (see [`Outcome::RestartLoop`]).
    RestartLoop,
}

/// Runs `sim` to its end with `chooser` deciding every choice, reporting to `obs`, and says
/// how it ended. Cheaper than [`run`] for callers that only count outcomes (Monte Carlo): a
/// deadlock is detected but not explained.
pub fn run_to_end<C: Chooser, O: Observer>(
    sim: &mut Simulation<'_>,
    chooser: &mut C,
    obs: &mut O,
    limits: Limits,
) -> End {
    let mut options = Vec::new();
    // The limits are checked against two marks, so that a step that is far from every limit
    // costs two comparisons: the memory is looked at every 65,536 choices, and whenever
    // another 262,144 tasks are alive since the last look.
    const EVERY_CHOICES: u64 = 1 << 16;
    const EVERY_TASKS: u64 = 1 << 18;
    let look = || -> Option<End> {
        let m = limits.max_memory?;
        let held = memory::in_use(0);
        m.exceeded(held, 0).map(|_| End::MemoryLimit { held })
    };
    let watch = limits.max_memory.is_some();
    let choices_mark = |choices: u64| match watch {
        true => limits.max_events.min(choices + EVERY_CHOICES),
        false => limits.max_events,
    };
    let tasks_mark = |live: u64| match watch {
        true => limits.max_tasks.min(live + EVERY_TASKS),
        false => limits.max_tasks,
    };
    let mut next_choices = choices_mark(sim.choices_made());
    let mut next_tasks = tasks_mark(sim.live_tasks());
    let loop_limit = restart_loop_limit(sim.model);
    loop {
        if sim.choices_made() >= next_choices {
            if sim.choices_made() >= limits.max_events {
                return End::EventLimit;
            }
            if let Some(end) = look() {
                return end;
            }
            next_choices = choices_mark(sim.choices_made());
        }
        let choice = if C::CANONICAL {
            sim.canonical_choice()
        } else if sim.oom_pending() {
            // The OOM killer's victim is a value: one of the largest processes.
            sim.options_into(Idle::Every, &mut options);
            let n = options.len() as u32;
            match chooser.value(sim, Decision::OomVictim, n) {
                Some(i) if i < n => Some(options[i as usize]),
                _ => return End::Stopped,
            }
        } else {
            sim.options_into(Idle::Every, &mut options);
            if options.is_empty() {
                None
            } else {
                // Asked even for a single option, so a replayed schedule sees every step.
                match chooser.choose(sim, &options) {
                    Some(i) => Some(options[i]),
                    None => return End::Stopped,
                }
            }
        };
        match choice {
            Some(choice) => {
                sim.apply(choice, obs);
                if sim.live_tasks() > next_tasks {
                    if sim.live_tasks() > limits.max_tasks {
                        return End::TaskLimit;
                    }
                    if let Some(end) = look() {
                        return end;
                    }
                    next_tasks = tasks_mark(sim.live_tasks());
                }
                if sim.is_deadlocked() {
                    return End::Deadlock;
                }
                if sim.exits_in_a_row() > loop_limit {
                    return End::RestartLoop;
                }
            }
            None => match sim.advance_time(obs) {
                Advance::Moved => {}
                Advance::Horizon => return End::Horizon,
                // At rest: a hang that only shows once nothing else can happen (see
                // `Model::hangs_at_rest`) shows now.
                Advance::Nothing if sim.is_deadlocked() => return End::Deadlock,
                Advance::Nothing => return End::Completed,
            },
        }
    }
}

/// Runs `sim` to its end with `chooser` deciding every choice, reporting to `obs`; a deadlock
/// comes with its explanation.
pub fn run<C: Chooser, O: Observer>(
    sim: &mut Simulation<'_>,
    chooser: &mut C,
    obs: &mut O,
    limits: Limits,
) -> Outcome {
    match run_to_end(sim, chooser, obs, limits) {
        End::Completed => Outcome::Completed,
        End::Horizon => Outcome::Horizon,
        End::Deadlock => Outcome::Deadlock(
            wait_for::find(sim).expect("run_to_end stops at a deadlock, which find explains"),
        ),
        End::EventLimit => Outcome::EventLimit,
        End::TaskLimit => Outcome::TaskLimit,
        End::MemoryLimit { held } => Outcome::MemoryLimit { held },
        End::Stopped => Outcome::Stopped,
        End::RestartLoop => Outcome::RestartLoop {
            exits: sim.exits_in_a_row(),
        },
    }
}

/// Runs a simulation of `model` with the scenario's own tie rule (`ties`), its seed, and `obs`.
pub fn simulate<'m, O: Observer>(
    model: &'m Model,
    obs: &mut O,
    limits: Limits,
) -> (Outcome, Simulation<'m>) {
    let mut sim = Simulation::new(model);
    let outcome = match model.scenario.ties {
        Ties::Canonical => run(&mut sim, &mut Canonical, obs, limits),
        Ties::Random => {
            let tie_seed = crate::rng::derive_seed(model.scenario.seed, u64::MAX);
            run(
                &mut sim,
                &mut TiesByValue(RandomTies(SimRng::new(tie_seed))),
                obs,
                limits,
            )
        }
    };
    (outcome, sim)
}
