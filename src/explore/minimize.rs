//! Minimising a deadlocking schedule.
//!
//! # Summary
//! Greedy one-step removal, from the last step to the first: a step is dropped when the
//! schedule without it, followed exactly, still reaches a deadlock; steps after the deadlock
//! are cut. The result is 1-minimal: no single remaining step can be removed.
//!
//! # Complexity
//! At most `n` replays of at most `n` steps each: O(n²) choices for an `n`-step schedule.
//!
//! # Reference
//! Zeller & Hildebrandt, "Simplifying and isolating failure-inducing input" (TSE 2002) — this
//! is ddmin's final, one-at-a-time phase, enough for schedules of tens of steps.

use crate::engine::Model;

use super::replay::tell;

/// The number of steps of `steps` after which a deadlock is reached, following them exactly.
pub fn deadlock_after(model: &Model, steps: &[String]) -> Option<usize> {
    let told = tell(model, steps).ok()?;
    told.deadlock.map(|_| told.lines.len())
}

/// A 1-minimal sub-schedule of `steps` that still deadlocks (or `steps` unchanged if it does
/// not deadlock at all).
pub fn minimize(model: &Model, steps: Vec<String>) -> Vec<String> {
    let Some(used) = deadlock_after(model, &steps) else {
        return steps;
    };
    let mut steps = steps;
    steps.truncate(used);
    let mut i = steps.len();
    while i > 0 {
        i -= 1;
        let mut candidate = steps.clone();
        candidate.remove(i);
        if let Some(used) = deadlock_after(model, &candidate) {
            candidate.truncate(used);
            steps = candidate;
            i = i.min(steps.len());
        }
    }
    steps
}
