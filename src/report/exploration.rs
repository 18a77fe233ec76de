//! An exhaustive exploration, ready to print: the search's [`Exploration`], what it was asked,
//! and the story of its counterexample.
//!
//! `qsim explore` answers with one of three values: an [`ExplorationReport`] (exhaustive
//! mode), a [`MonteCarlo`](crate::explore::random::MonteCarlo) (random mode) or a
//! [`MinWorkers`](crate::explore::MinWorkers) (`--min-workers`). Each carries everything its
//! renderers need — [`text`](super::text) and [`json`](super::json) — and nothing in words.

use crate::explore::{model_for, Exploration, Reductions, Timing, Verdict};
use crate::scenario::Scenario;

use super::story::{self, Story};

/// An exhaustive exploration and its context.
#[derive(Clone, Debug)]
pub struct ExplorationReport {
    /// The scenario's name.
    pub scenario: String,
    /// The timing searched.
    pub timing: Timing,
    /// The reductions the search used.
    pub reductions: Reductions,
    /// What the search found.
    pub exploration: Exploration,
    /// The counterexample's schedule told step by step, for a `deadlock` verdict; empty
    /// otherwise.
    pub story: Story,
}

impl ExplorationReport {
    /// The report of `exploration`, a search of `scenario` under `timing` with `reductions`:
    /// tells the counterexample's story if there is one.
    pub fn new(
        scenario: &Scenario,
        timing: Timing,
        reductions: Reductions,
        exploration: Exploration,
    ) -> ExplorationReport {
        let story = match &exploration.verdict {
            Verdict::Deadlock { schedule, .. } => {
                let model = model_for(scenario, schedule.timing);
                // The search replayed this schedule to its deadlock already: it fits.
                story::tell(&model, &schedule.steps)
                    .map(|told| told.story)
                    .unwrap_or_default()
            }
            Verdict::DeadlockFree | Verdict::Inconclusive { .. } => Story::default(),
        };
        ExplorationReport {
            scenario: scenario.name.clone(),
            timing,
            reductions,
            exploration,
            story,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures::fanout_exploration;

    #[test]
    fn a_deadlock_comes_with_the_story_of_its_schedule() {
        let r = fanout_exploration(2);
        let Verdict::Deadlock { schedule, .. } = &r.exploration.verdict else {
            panic!("expected a deadlock, got {}", r.exploration.verdict.name());
        };
        let choices: Vec<&str> = r.story.steps.iter().map(|s| s.choice.as_str()).collect();
        assert_eq!(choices, schedule.steps);
        assert_eq!(r.story.steps[5].tasks()[0], "main_task#2");
    }

    #[test]
    fn a_proof_has_no_story() {
        let r = fanout_exploration(3);
        assert_eq!(r.exploration.verdict.name(), "deadlock_free");
        assert!(r.story.steps.is_empty());
    }
}
