//! Minimisation against the string-based one it replaced, on deadlocking random walks.

use super::*;
use crate::explore::step::tests::{scenarios, walk};
use crate::explore::{label, model_for, settle, Timing};
use crate::rng::SimRng;

/// The old [`deadlock_after`]: every option's label formatted and compared, at every step.
fn deadlock_after_by_labels(model: &Model, steps: &[String]) -> Option<usize> {
    let mut sim = Simulation::new(model);
    for (n, wanted) in steps.iter().enumerate() {
        if !settle(&mut sim) {
            return None;
        }
        let options = sim.options();
        let i = options.iter().position(|&c| label(&sim, c) == *wanted)?;
        sim.apply(options[i], &mut ());
        if sim.deadlock().is_some() {
            return Some(n + 1);
        }
    }
    None
}

/// The old [`minimize`], on [`deadlock_after_by_labels`].
fn minimize_by_labels(model: &Model, steps: Vec<String>) -> Vec<String> {
    let Some(used) = deadlock_after_by_labels(model, &steps) else {
        return steps;
    };
    let mut steps = steps;
    steps.truncate(used);
    let mut i = steps.len();
    while i > 0 {
        i -= 1;
        let mut candidate = steps.clone();
        candidate.remove(i);
        if let Some(used) = deadlock_after_by_labels(model, &candidate) {
            candidate.truncate(used);
            steps = candidate;
            i = i.min(steps.len());
        }
    }
    steps
}

/// The labels a random walk chose and, when `strays`, after some of them a random label seen
/// on the way (often one that does not fit there, sometimes one that does), so that
/// candidates fail in every way.
fn walk_steps(model: &Model, seed: u64, strays: bool) -> Vec<String> {
    let mut rng = SimRng::new(seed ^ 0xabcd);
    let mut steps = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    walk(model, seed, 80, |visit| {
        seen.extend(visit.labels.iter().cloned());
        steps.push(visit.labels[visit.pick].clone());
        if strays && rng.below(4) == 0 {
            steps.push(seen[rng.below(seen.len())].clone());
        }
    });
    steps
}

#[test]
fn minimize_gives_the_schedules_the_string_matching_gave() {
    let mut deadlocking = 0;
    for scenario in scenarios() {
        for timing in [Timing::Any, Timing::Exact] {
            let model = model_for(&scenario, timing);
            for (seed, strays) in (0..30).flat_map(|seed| [(seed, false), (seed, true)]) {
                let steps = walk_steps(&model, seed, strays);
                let want = deadlock_after_by_labels(&model, &steps);
                assert_eq!(deadlock_after(&model, &steps), want, "{steps:?}");
                deadlocking += usize::from(want.is_some());
                assert_eq!(
                    minimize(&model, steps.clone()),
                    minimize_by_labels(&model, steps.clone()),
                    "{} ({timing:?}): {steps:?}",
                    scenario.name
                );
            }
        }
    }
    assert!(deadlocking > 50, "only {deadlocking} schedules deadlock");
}
