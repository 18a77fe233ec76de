//! Replaying a schedule: the chooser that follows it, and following it exactly step by step.
//!
//! Every step is parsed once into a `ScheduleStep` and matched against the options
//! structurally (module `step`): no label is formatted unless a step does not fit. `follow` is
//! the loop shared by [`observe_steps`], which lets an observer watch each step (the story of
//! [`report::story`](crate::report::story) is told that way), and minimisation, which only
//! needs to know whether and when the steps deadlock, and so formats nothing.

use crate::engine::{Choice, Chooser, Deadlock, Idle, Model, Observer, Simulation};

use super::settle;
use super::step::{find, not_possible, position, quoted, ScheduleStep};

/// A chooser that follows a schedule's labels, then the canonical rule once they run out.
///
/// If a step names a choice that is not possible at its point, the run stops
/// ([`Outcome::Stopped`](crate::engine::Outcome::Stopped)) and [`Replay::error`] says why.
#[derive(Clone, Debug)]
pub struct Replay {
    steps: Vec<String>,
    next: usize,
    /// Why the replay stopped early, if it did.
    pub error: Option<String>,
}

impl Replay {
    /// A chooser following `steps`.
    pub fn new(steps: Vec<String>) -> Replay {
        Replay {
            steps,
            next: 0,
            error: None,
        }
    }

    /// Steps followed so far.
    pub fn followed(&self) -> usize {
        self.next
    }
}

impl Chooser for Replay {
    fn choose(&mut self, sim: &Simulation<'_>, options: &[Choice]) -> Option<usize> {
        let Some(wanted) = self.steps.get(self.next) else {
            return Some(0);
        };
        let step = ScheduleStep::parse(sim.model, wanted);
        match find(sim, options, step, wanted) {
            Ok(i) => {
                self.next += 1;
                Some(i)
            }
            Err(e) => {
                self.error = Some(format!("step {}: {e}", self.next + 1));
                None
            }
        }
    }
}

/// What following a schedule exactly did, step by step.
#[derive(Clone, Debug)]
pub struct Observed<O> {
    /// One observer per step followed, each having seen that step's events only.
    pub steps: Vec<O>,
    /// The deadlock reached, if any (the steps stop there).
    pub deadlock: Option<Deadlock>,
}

/// Follows `steps` exactly (no canonical continuation), with a fresh `O` observing each step,
/// and stops at the first deadlock. Fails, saying why, if a step is not possible at its point.
///
/// [`report::story::tell`](crate::report::story::tell) is this with an observer that records
/// what each step did; with `()` it only finds the deadlock.
pub fn observe_steps<O: Observer + Default>(
    model: &Model,
    steps: &[String],
) -> Result<Observed<O>, String> {
    let mut sim = Simulation::new(model);
    let mut options = Vec::new();
    let mut observed = Vec::with_capacity(steps.len());
    let parsed = steps.iter().map(|s| ScheduleStep::parse(model, s));
    let followed = follow(&mut sim, parsed, &mut options, |sim, choice| {
        let mut observer = O::default();
        sim.apply(choice, &mut observer);
        observed.push(observer);
    })
    .map_err(|misfit| misfit.explain(&sim, &options, steps))?;
    let deadlock = if followed.deadlocked {
        sim.deadlock()
    } else {
        None
    };
    Ok(Observed {
        steps: observed,
        deadlock,
    })
}

/// The deadlock that following `steps` exactly ends in, if it does: [`observe_steps`] with
/// nothing to observe (the explorer's search only needs the explanation of the schedule it
/// found).
pub(crate) fn deadlock_reached(model: &Model, steps: &[String]) -> Option<Deadlock> {
    observe_steps::<()>(model, steps).ok()?.deadlock
}

/// How far [`follow`] went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Followed {
    /// Steps followed (all of them, unless a deadlock came first).
    pub steps: usize,
    /// Whether the last step followed formed a deadlock.
    pub deadlocked: bool,
}

/// Why [`follow`] could not follow a step (numbered from 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Misfit {
    /// The run had ended before this step.
    AfterTheEnd(usize),
    /// This step names none of the options.
    NotPossible(usize),
}

impl Misfit {
    /// The error message, for a misfit of `steps` that left `sim` and its `options` where it
    /// happened.
    fn explain(self, sim: &Simulation<'_>, options: &[Choice], steps: &[String]) -> String {
        match self {
            Misfit::AfterTheEnd(n) => format!(
                "step {}: {} comes after the run has ended",
                n + 1,
                quoted(&steps[n])
            ),
            Misfit::NotPossible(n) => {
                format!("step {}: {}", n + 1, not_possible(sim, options, &steps[n]))
            }
        }
    }
}

/// Follows `steps` exactly from `sim`'s state, letting `apply` perform each chosen option, and
/// stops at the first deadlock. `options` is a reused buffer; on a misfit it holds the options
/// `sim` had at that point.
pub(crate) fn follow<'m>(
    sim: &mut Simulation<'m>,
    steps: impl IntoIterator<Item = Option<ScheduleStep>>,
    options: &mut Vec<Choice>,
    mut apply: impl FnMut(&mut Simulation<'m>, Choice),
) -> Result<Followed, Misfit> {
    let mut followed = 0;
    for step in steps {
        if !settle(sim) {
            return Err(Misfit::AfterTheEnd(followed));
        }
        sim.options_into(Idle::Every, options);
        let Some(i) = position(sim, options, step) else {
            return Err(Misfit::NotPossible(followed));
        };
        apply(sim, options[i]);
        followed += 1;
        // A hang that only shows at rest (see `Model::hangs_at_rest`) shows once the clock
        // has moved as far as it can.
        if sim.is_deadlocked() || (sim.model.hangs_at_rest() && !settle(sim) && sim.is_deadlocked())
        {
            return Ok(Followed {
                steps: followed,
                deadlocked: true,
            });
        }
    }
    Ok(Followed {
        steps: followed,
        deadlocked: false,
    })
}
