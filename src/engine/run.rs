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
/// how it ended; `obs` hears [`Observer::ended`] last, at every end. Cheaper than [`run`] for
/// callers that only count outcomes (Monte Carlo): a deadlock is detected but not explained.
pub fn run_to_end<C: Chooser, O: Observer>(
    sim: &mut Simulation<'_>,
    chooser: &mut C,
    obs: &mut O,
    limits: Limits,
) -> End {
    let end = run_loop(sim, chooser, obs, limits);
    obs.ended(sim);
    end
}

/// [`run_to_end`]'s loop.
#[inline(always)]
fn run_loop<C: Chooser, O: Observer>(
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
    // What every step is checked for once it is applied, whichever way it was chosen: the
    // task limit (and the memory, whenever another 262,144 tasks are alive), a deadlock, a
    // restart loop.
    let after_step = |sim: &Simulation<'_>, next_tasks: &mut u64| -> Option<End> {
        if sim.live_tasks() > *next_tasks {
            if sim.live_tasks() > limits.max_tasks {
                return Some(End::TaskLimit);
            }
            if let Some(end) = look() {
                return Some(end);
            }
            *next_tasks = tasks_mark(sim.live_tasks());
        }
        if sim.is_deadlocked() {
            return Some(End::Deadlock);
        }
        (sim.exits_in_a_row() > loop_limit).then_some(End::RestartLoop)
    };
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
            if sim.canonical_step(obs, next_choices) {
                if let Some(end) = after_step(sim, &mut next_tasks) {
                    return end;
                }
                continue;
            }
            None
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
                if let Some(end) = after_step(sim, &mut next_tasks) {
                    return end;
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

impl Simulation<'_> {
    /// The canonical rule's step: [`canonical_choice`](Simulation::canonical_choice), applied
    /// as [`apply`](Simulation::apply) would, without building the choice and looking it up
    /// again (the run loop of `qsim run` takes one at every step). False, with nothing done
    /// but stale timers dropped, when nothing is enabled.
    ///
    /// A take is followed at once by the run of the task taken when that is the canonical
    /// rule's next choice and the run loop would check nothing in between: fewer than `limit`
    /// choices are made (the loop's next look at its limits), and no OOM kill is pending. A
    /// take changes nothing else the loop checks after a step (tasks alive, a deadlock, exits
    /// in a row).
    #[inline(always)]
    fn canonical_step<O: Observer>(&mut self, obs: &mut O, limit: u64) -> bool {
        // As `canonical_choice`: the OOM killer first, taking the lowest of the largest
        // processes (the canonical value); then the stale timers due now are dropped; then
        // the order is `for_each_enabled`'s, offering takes to the lowest idle worker only.
        if self.oom_pending() {
            self.canonical_kill(obs);
            return true;
        }
        let mut due = false;
        while let Some(top) = self.agenda.peek() {
            if top.time != self.now {
                break;
            }
            if self.is_live(&top.timer) {
                due = true;
                break;
            }
            self.agenda.pop();
        }
        if self.mid_round && !self.just_taken.is_empty() {
            self.run_first_taken(obs);
            return true;
        }
        if due {
            let entry = self.agenda.pop().expect("a timer is due");
            self.choices_made += 1;
            self.fire(entry, obs);
            return true;
        }
        for pool in 0..self.pools.len() {
            if self.pool_can_take(pool) {
                let w = self
                    .lowest_idle(pool)
                    .expect("a pool that can take has an idle worker");
                self.choices_made += 1;
                self.take(w, obs);
                // The next choice is the run of the first task just taken when a round of
                // runs is under way or no pool can take another task (the agenda is as it
                // was: no timer is due now).
                if self.choices_made < limit
                    && !self.oom_pending()
                    && (self.mid_round || !(0..self.pools.len()).any(|p| self.pool_can_take(p)))
                {
                    self.run_first_taken(obs);
                }
                return true;
            }
        }
        if !self.just_taken.is_empty() {
            self.run_first_taken(obs);
            return true;
        }
        false
    }

    /// The canonical step while the host is above its memory: the OOM killer's, kept out of
    /// the run loop's code.
    #[cold]
    #[inline(never)]
    fn canonical_kill<O: Observer>(&mut self, obs: &mut O) {
        let choice = self
            .canonical_choice()
            .expect("an OOM kill is enabled while the host is above its memory");
        self.apply(choice, obs);
    }

    /// Applies `Choice::Run` of the first task just taken.
    #[inline(always)]
    fn run_first_taken<O: Observer>(&mut self, obs: &mut O) {
        self.choices_made += 1;
        // Most rounds take one task: popping it spares `remove`'s move of the rest.
        let task = match self.just_taken.len() {
            1 => self.just_taken.pop().expect("one task was just taken"),
            _ => self.just_taken.remove(0),
        };
        self.mid_round = !self.just_taken.is_empty();
        self.run_taken(task, obs);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Event;
    use crate::scenario::Tick;

    /// The canonical rule through the option list: what `run_to_end` did before its lean step.
    struct FirstOption;

    impl Chooser for FirstOption {
        fn choose(&mut self, _: &Simulation<'_>, _: &[Choice]) -> Option<usize> {
            Some(0)
        }
    }

    /// Every event and every move of the clock, in order.
    #[derive(Default, PartialEq, Debug)]
    struct Log(Vec<(Tick, Option<Event>, Tick)>);

    impl Observer for Log {
        fn event(&mut self, sim: &Simulation<'_>, event: &Event) {
            self.0
                .push((sim.now(), Some(*event), sim.agenda().len() as Tick));
        }

        fn time_passes(&mut self, _: &Simulation<'_>, from: Tick, to: Tick) {
            self.0.push((from, None, to));
        }
    }

    /// The lean canonical step takes the same choices as the first of the option list, with
    /// the same events, in every scenario of `scenarios/`, run to its end or stopped early.
    #[test]
    fn the_lean_canonical_step_is_the_first_option() {
        let files = crate::engine::tests::example_scenarios();
        for file in files {
            let scenario = crate::scenario::load(&file, &[]).unwrap();
            let model = Model::new(scenario);
            for max_events in [1, 2, 3, 5, 8, 13, 100, 20_000] {
                let limits = Limits {
                    max_events,
                    ..Limits::default()
                };
                let (mut lean, mut listed) = (Log::default(), Log::default());
                let mut a = Simulation::new(&model);
                let mut b = Simulation::new(&model);
                let end_a = run_to_end(&mut a, &mut Canonical, &mut lean, limits);
                let end_b = run_to_end(&mut b, &mut FirstOption, &mut listed, limits);
                let what = format!("{} with --max-events {max_events}", file.display());
                assert_eq!(end_a, end_b, "{what}");
                assert_eq!(lean, listed, "{what}");
                assert_eq!(a.choices_made(), b.choices_made(), "{what}");
                assert_eq!(a.now(), b.now(), "{what}");
                assert_eq!(a.options(), b.options(), "{what}");
                let timers = |s: &Simulation<'_>| {
                    let mut t: Vec<_> = s.agenda().iter().copied().collect();
                    t.sort_by_key(|e| e.seq);
                    t
                };
                assert_eq!(timers(&a), timers(&b), "{what}");
            }
        }
    }
}
