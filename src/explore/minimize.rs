//! Minimising a deadlocking schedule.
//!
//! # Summary
//! Greedy one-step removal, from the last step to the first: a step is dropped when the
//! schedule without it, followed exactly, still reaches a deadlock; steps after the deadlock
//! are cut. The result is 1-minimal: no single remaining step can be removed.
//!
//! # Cost
//! At most `n` replays of at most `n` steps each: O(n²) choices for an `n`-step schedule. That
//! is the hot spot of a small search, so a replay formats nothing: the labels are parsed once
//! into `ScheduleStep`s (module `step`), matched structurally, and applied without telling a
//! story; one simulation's tables are reused from one replay to the next.
//!
//! # Reference
//! Zeller & Hildebrandt, "Simplifying and isolating failure-inducing input" (TSE 2002) — this
//! is ddmin's final, one-at-a-time phase, enough for schedules of tens of steps.

use crate::engine::{Choice, Model, Simulation};

use super::replay::follow;
use super::step::{parse_all, ScheduleStep};

/// The number of steps of `steps` after which a deadlock is reached, following them exactly.
pub fn deadlock_after(model: &Model, steps: &[String]) -> Option<usize> {
    Trials::new(model).deadlock_after(parse_all(model, steps))
}

/// A 1-minimal sub-schedule of `steps` that still deadlocks (or `steps` unchanged if it does
/// not deadlock at all).
pub fn minimize(model: &Model, steps: Vec<String>) -> Vec<String> {
    let parsed = parse_all(model, &steps);
    let mut trials = Trials::new(model);
    let Some(used) = trials.deadlock_after(parsed.iter().copied()) else {
        return steps;
    };
    // Positions in `steps` of the steps kept so far.
    let mut kept: Vec<usize> = (0..used).collect();
    let mut i = kept.len();
    while i > 0 {
        i -= 1;
        let without_i = kept
            .iter()
            .enumerate()
            .filter(|&(j, _)| j != i)
            .map(|(_, &k)| parsed[k]);
        if let Some(used) = trials.deadlock_after(without_i) {
            kept.remove(i);
            kept.truncate(used);
            i = i.min(kept.len());
        }
    }
    pick(steps, &kept)
}

/// The labels at positions `kept` (ascending) of `steps`.
fn pick(steps: Vec<String>, kept: &[usize]) -> Vec<String> {
    let mut kept = kept.iter().peekable();
    let mut picked = Vec::with_capacity(kept.len());
    for (k, step) in steps.into_iter().enumerate() {
        if kept.next_if_eq(&&k).is_some() {
            picked.push(step);
        }
    }
    picked
}

/// Replays of candidate schedules of one model, reusing one simulation's tables and one
/// option buffer from one replay to the next.
struct Trials<'m> {
    start: Simulation<'m>,
    sim: Simulation<'m>,
    options: Vec<Choice>,
}

impl<'m> Trials<'m> {
    fn new(model: &'m Model) -> Trials<'m> {
        let start = Simulation::new(model);
        Trials {
            sim: start.clone(),
            start,
            options: Vec::new(),
        }
    }

    /// [`deadlock_after`] for parsed steps.
    fn deadlock_after(
        &mut self,
        steps: impl IntoIterator<Item = Option<ScheduleStep>>,
    ) -> Option<usize> {
        self.sim.clone_from(&self.start);
        let followed = follow(&mut self.sim, steps, &mut self.options, |sim, choice| {
            sim.apply(choice, &mut ())
        })
        .ok()?;
        followed.deadlocked.then_some(followed.steps)
    }
}

#[cfg(test)]
mod tests;
