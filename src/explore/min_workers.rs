//! The smallest worker count of a pool that exhaustive search proves deadlock-free.
//!
//! # Summary
//! Tries 1, 2, … workers in one pool, deciding each as `qsim explore` does ([`decide`]: the
//! counting argument, then the search), and stops at the first
//! count proved `deadlock_free`, or at an interruption (Ctrl-C), or after the last count
//! allowed. With P parents that each spawn at least one child and wait for it without a
//! timeout, in a single pool of W workers, some timing deadlocks if and only if P ≥ W, so on
//! such a scenario the answer is P + 1.
//!
//! # Returns
//! A [`MinWorkers`]: the answer, if any, and every count tried with its [`Exploration`]. A
//! count whose search was `inconclusive` (a budget ran out) is listed and the search goes on,
//! so an answer after one is only an upper bound ([`MinWorkers::any_inconclusive`]).
//!
//! # Complexity
//! One exhaustive exploration per count tried; the budget applies to each one.

use crate::scenario::{PoolId, Scenario};

use super::exhaustive::Progress;
use super::{decide, Budget, Exploration, Order, Reductions, Timing, Verdict};

/// How each count is searched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Search {
    /// The timing searched.
    pub timing: Timing,
    /// The reductions used.
    pub reductions: Reductions,
    /// The order of the search, after the counting argument.
    pub order: Order,
}

/// What [`min_workers`] found.
#[derive(Clone, Debug)]
pub struct MinWorkers {
    /// The scenario's name.
    pub scenario: String,
    /// The pool whose size was varied.
    pub pool: String,
    /// The timing of the searches.
    pub timing: Timing,
    /// The largest count allowed.
    pub up_to: u32,
    /// Every count tried, smallest first.
    pub tried: Vec<Trial>,
    /// The smallest count proved deadlock-free, if one was.
    pub min_workers: Option<u32>,
}

/// One worker count tried, and what exhaustive search found with it.
#[derive(Clone, Debug)]
pub struct Trial {
    /// The pool's worker count.
    pub workers: u32,
    /// The search with that many workers.
    pub exploration: Exploration,
}

impl MinWorkers {
    /// Whether the search with some count tried ran out of budget: then a smaller count than
    /// [`min_workers`](MinWorkers::min_workers) may be safe too, or none of the counts tried
    /// be proved either way.
    pub fn any_inconclusive(&self) -> bool {
        self.tried
            .iter()
            .any(|t| matches!(t.exploration.verdict, Verdict::Inconclusive { .. }))
    }
}

/// Finds the smallest worker count of `pool` in `1..=up_to` (at least 1) that exhaustive
/// search proves deadlock-free; see the module docs. `progress` hears `(workers, None)` when
/// the search with that many workers starts, then `(workers, Some(progress))` as it goes.
pub fn min_workers(
    scenario: &Scenario,
    pool: PoolId,
    up_to: u32,
    how: Search,
    budget: &Budget,
    progress: &mut dyn FnMut(u32, Option<Progress>),
) -> MinWorkers {
    let Search {
        timing,
        reductions,
        order,
    } = how;
    let mut tried = Vec::new();
    let mut answer = None;
    for workers in 1..=up_to.max(1) {
        let mut s = scenario.clone();
        s.pools[pool].workers = workers;
        progress(workers, None);
        let exploration = decide(&s, timing, reductions, order, budget, &mut |p| {
            progress(workers, Some(p))
        });
        let verdict = &exploration.verdict;
        let proved = matches!(verdict, Verdict::DeadlockFree);
        let interrupted =
            matches!(verdict, Verdict::Inconclusive { reason } if reason == "interrupted");
        tried.push(Trial {
            workers,
            exploration,
        });
        if proved {
            answer = Some(workers);
            break;
        }
        if interrupted {
            break;
        }
    }
    MinWorkers {
        scenario: scenario.name.clone(),
        pool: scenario.pools[pool].name.clone(),
        timing,
        up_to,
        tried,
        min_workers: answer,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::tests::fanout;

    #[test]
    fn the_fanout_needs_one_more_worker_than_parents() {
        let m = min_workers(
            &fanout(2, 3, 2),
            0,
            8,
            Search {
                timing: Timing::Any,
                reductions: Reductions::ALL,
                order: Order::DeadlockFirst,
            },
            &Budget::default(),
            &mut |_, _| {},
        );
        assert_eq!(m.min_workers, Some(4));
        let methods: Vec<&str> = m
            .tried
            .iter()
            .map(|t| t.exploration.method.name())
            .collect();
        assert_eq!(
            methods,
            ["depth_first", "depth_first", "depth_first", "counting"]
        );
        assert!(!m.any_inconclusive());
        let verdicts: Vec<(u32, &str)> = m
            .tried
            .iter()
            .map(|t| (t.workers, t.exploration.verdict.name()))
            .collect();
        assert_eq!(
            verdicts,
            [
                (1, "deadlock"),
                (2, "deadlock"),
                (3, "deadlock"),
                (4, "deadlock_free")
            ]
        );
        assert_eq!((m.pool.as_str(), m.up_to), ("default", 8));
    }

    #[test]
    fn a_budget_too_small_leaves_the_searched_counts_inconclusive() {
        let budget = Budget {
            max_states: 2,
            ..Budget::default()
        };
        let run = |up_to| {
            min_workers(
                &fanout(2, 2, 2),
                0,
                up_to,
                Search {
                    timing: Timing::Any,
                    reductions: Reductions::ALL,
                    order: Order::DeadlockFirst,
                },
                &budget,
                &mut |_, _| {},
            )
        };
        let m = run(2);
        assert_eq!(m.min_workers, None);
        assert!(m.any_inconclusive());
        assert_eq!(m.tried.len(), 2);
        // Three workers need no search: the counting argument proves them.
        let m = run(3);
        assert_eq!(m.min_workers, Some(3));
        assert!(m.any_inconclusive());
        assert_eq!(m.tried[2].exploration.method.name(), "counting");
    }
}
