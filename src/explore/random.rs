//! Monte Carlo: the probability of deadlock under the scenario's own distributions.
//!
//! Run `i` of `N` is the scenario with seed `derive_seed(seed, i)` and `ties = "random"`: its
//! durations are drawn from the scenario's distributions and every same-instant tie is broken
//! at random. That is exactly what `qsim run FILE --set seed=S --set ties=random` does, so any
//! run can be reproduced on its own. Runs are spread over threads with rayon; each run owns its
//! generators and results are gathered by run index, so the report is identical whatever the
//! thread count.

use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;

use super::Timing;
use crate::engine::{run_to_end, End, Limits, Model, RandomTies, Simulation};
use crate::rng::{derive_seed, SimRng};
use crate::scenario::{Scenario, Tick};

/// The most runs `qsim explore --mode random --runs N` takes: a billion runs of even a tiny
/// scenario take hours, and more would only narrow an interval that is already far narrower
/// than the model is accurate.
pub const MAX_RUNS: u64 = 1_000_000_000;

/// The result of a Monte Carlo study.
#[derive(Clone, Debug, PartialEq)]
pub struct MonteCarlo {
    /// The scenario's name.
    pub scenario: String,
    /// Runs made.
    pub runs: u64,
    /// Runs that deadlocked.
    pub deadlocks: u64,
    /// Runs that completed.
    pub completed: u64,
    /// Runs cut by the horizon.
    pub horizon: u64,
    /// Runs stopped by the event, task or memory limit.
    pub event_limit: u64,
    /// Lower and upper bounds of the 95% Wilson interval of the deadlock probability.
    pub interval: (f64, f64),
    /// Median time to deadlock over the deadlocking runs.
    pub p50_time_to_deadlock: Option<Tick>,
    /// 95th percentile of the time to deadlock.
    pub p95_time_to_deadlock: Option<Tick>,
    /// Seed of the first (lowest-index) deadlocking run: `--set seed=S --set ties=random`.
    pub example_seed: Option<u64>,
    /// The base seed runs were derived from.
    pub seed: u64,
    /// The horizon that replaced the scenario's for every run, if one did: reproducing a run
    /// needs it too.
    pub horizon_override: Option<Tick>,
    /// The timing under which the exhaustive search can take the scenario, so that a proof is
    /// one command away: `Any` when every arrival stream is finite, `Exact` when only a horizon
    /// bounds the runs (the search needs `--timing exact` then), `None` when neither does.
    pub exhaustive: Option<Timing>,
}

impl MonteCarlo {
    /// The estimated probability of deadlock.
    pub fn probability(&self) -> f64 {
        self.deadlocks as f64 / self.runs.max(1) as f64
    }

    /// `deadlock` if some run deadlocked; `inconclusive` if every run hit a limit, so that
    /// none could have told; else `no_deadlock_seen` (not a proof that none can).
    pub fn verdict(&self) -> &'static str {
        if self.deadlocks > 0 {
            "deadlock"
        } else if self.is_inconclusive() {
            "inconclusive"
        } else {
            "no_deadlock_seen"
        }
    }

    /// True when every run hit the event, task or memory limit: no run ended, so the study
    /// says nothing about deadlock (issue 14: it used to pass for `no_deadlock_seen`).
    pub fn is_inconclusive(&self) -> bool {
        self.runs > 0 && self.event_limit == self.runs
    }
}

/// Makes `runs` random runs of `scenario` (seeds derived from `seed`) and summarises them.
/// `horizon`, when given, replaces the scenario's.
pub fn monte_carlo(
    scenario: &Scenario,
    runs: u64,
    seed: u64,
    horizon: Option<Tick>,
    limits: Limits,
) -> MonteCarlo {
    monte_carlo_counted(scenario, runs, seed, horizon, limits, &AtomicU64::new(0))
}

/// [`monte_carlo`], adding 1 to `done` as each run ends, so that another thread can show the
/// progress (`qsim explore` polls it for its progress bar). The count is all it is told: the
/// result does not depend on when it is read, nor on the number of threads.
///
/// Memory does not grow with `runs`: the runs are summed as they end, and only the times of the
/// deadlocking runs are kept (8 bytes each), for the percentiles.
pub fn monte_carlo_counted(
    scenario: &Scenario,
    runs: u64,
    seed: u64,
    horizon: Option<Tick>,
    limits: Limits,
    done: &AtomicU64,
) -> MonteCarlo {
    let mut s = scenario.clone();
    if horizon.is_some() {
        s.horizon = horizon;
    }
    let model = Model::new(s);
    let tally = (0..runs)
        .into_par_iter()
        .fold(Tally::default, |mut tally, i| {
            let (end, time) = one_run(&model, derive_seed(seed, i), limits);
            tally.add(i, end, time);
            done.fetch_add(1, Ordering::Relaxed);
            tally
        })
        .reduce(Tally::default, Tally::merge);
    tally.summarise(scenario, seed, horizon)
}

/// How a run ended, as a study counts it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RunEnd {
    Completed,
    Horizon,
    Deadlock,
    /// The event, task or memory limit, or a restart loop that was stopped.
    Limit,
}

fn one_run(model: &Model, run_seed: u64, limits: Limits) -> (RunEnd, Tick) {
    let mut sim = Simulation::with_seed(model, run_seed);
    let mut ties = RandomTies(SimRng::new(derive_seed(run_seed, u64::MAX)));
    let end = match run_to_end(&mut sim, &mut ties, &mut (), limits) {
        End::Completed => RunEnd::Completed,
        End::Horizon => RunEnd::Horizon,
        End::Deadlock => RunEnd::Deadlock,
        End::EventLimit
        | End::TaskLimit
        | End::MemoryLimit { .. }
        | End::Stopped
        | End::RestartLoop => RunEnd::Limit,
    };
    (end, sim.now())
}

/// The runs seen so far by one of rayon's folds. Sums, a minimum and a multiset of times: merged
/// in any grouping and order, they give the same study, so the result is the same on any
/// number of threads.
#[derive(Debug, Default)]
struct Tally {
    runs: u64,
    completed: u64,
    horizon: u64,
    limit: u64,
    /// The time of every deadlocking run, in no particular order.
    deadlock_times: Vec<Tick>,
    /// The lowest index of a deadlocking run.
    first_deadlock: Option<u64>,
}

impl Tally {
    fn add(&mut self, index: u64, end: RunEnd, time: Tick) {
        self.runs += 1;
        match end {
            RunEnd::Completed => self.completed += 1,
            RunEnd::Horizon => self.horizon += 1,
            RunEnd::Limit => self.limit += 1,
            RunEnd::Deadlock => {
                self.deadlock_times.push(time);
                self.first_deadlock = Some(self.first_deadlock.map_or(index, |f| f.min(index)));
            }
        }
    }

    fn merge(mut self, mut other: Tally) -> Tally {
        self.runs += other.runs;
        self.completed += other.completed;
        self.horizon += other.horizon;
        self.limit += other.limit;
        self.deadlock_times.append(&mut other.deadlock_times);
        self.first_deadlock = match (self.first_deadlock, other.first_deadlock) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self
    }

    fn summarise(
        mut self,
        scenario: &Scenario,
        seed: u64,
        horizon_override: Option<Tick>,
    ) -> MonteCarlo {
        let times = &mut self.deadlock_times;
        times.sort_unstable();
        let deadlocks = times.len() as u64;
        MonteCarlo {
            scenario: scenario.name.clone(),
            runs: self.runs,
            deadlocks,
            completed: self.completed,
            horizon: self.horizon,
            event_limit: self.limit,
            interval: wilson(deadlocks, self.runs),
            p50_time_to_deadlock: percentile(times, 0.50),
            p95_time_to_deadlock: percentile(times, 0.95),
            example_seed: self.first_deadlock.map(|i| derive_seed(seed, i)),
            seed,
            horizon_override,
            exhaustive: if scenario.arrivals_are_finite() {
                Some(Timing::Any)
            } else if scenario.horizon.or(horizon_override).is_some() {
                Some(Timing::Exact)
            } else {
                None
            },
        }
    }
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[Tick], q: f64) -> Option<Tick> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q * sorted.len() as f64).ceil().max(1.0) as usize;
    Some(sorted[rank.min(sorted.len()) - 1])
}

/// The 95% Wilson score interval for `k` successes in `n` trials.
pub fn wilson(k: u64, n: u64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let z = 1.959_963_984_540_054_f64;
    let n = n as f64;
    let p = k as f64 / n;
    let denom = 1.0 + z * z / n;
    let centre = (p + z * z / (2.0 * n)) / denom;
    let half = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt() / denom;
    let lower = if k == 0 {
        0.0
    } else {
        (centre - half).max(0.0)
    };
    let upper = if k as f64 == n {
        1.0
    } else {
        (centre + half).min(1.0)
    };
    (lower, upper)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::tests::fanout;

    /// The study as a plain loop over the runs in index order: the oracle of the parallel fold.
    fn sequential(scenario: &Scenario, runs: u64, seed: u64) -> MonteCarlo {
        let model = Model::new(scenario.clone());
        let mut tally = Tally::default();
        for i in 0..runs {
            let (end, time) = one_run(&model, derive_seed(seed, i), Limits::default());
            tally.add(i, end, time);
        }
        tally.summarise(scenario, seed, None)
    }

    #[test]
    fn the_parallel_study_is_the_sequential_one_on_any_number_of_threads() {
        let scenario = fanout(2, 2, 3);
        let expected = sequential(&scenario, 500, 7);
        assert!(
            expected.deadlocks > 0 && expected.completed > 0,
            "{expected:?}"
        );
        for threads in [1, 2, 5] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let done = AtomicU64::new(0);
            let mc = pool
                .install(|| monte_carlo_counted(&scenario, 500, 7, None, Limits::default(), &done));
            assert_eq!(mc, expected, "{threads} threads");
            assert_eq!(
                done.load(Ordering::Relaxed),
                500,
                "every run is counted once"
            );
        }
    }

    #[test]
    fn every_run_at_a_limit_is_counted_as_such() {
        let limits = Limits {
            max_events: 1,
            ..Limits::default()
        };
        let mc = monte_carlo(&fanout(4, 2, 3), 20, 1, None, limits);
        assert_eq!(mc.exhaustive, Some(Timing::Any));
        assert_eq!((mc.runs, mc.event_limit, mc.deadlocks), (20, 20, 0));
        assert_eq!(mc.example_seed, None);
        assert!(mc.is_inconclusive());
        assert_eq!(mc.verdict(), "inconclusive");
        // One run that ends is enough to tell something.
        let mc = monte_carlo(&fanout(4, 2, 3), 20, 1, None, Limits::default());
        assert!(!mc.is_inconclusive());
        assert_eq!(mc.verdict(), "no_deadlock_seen");
    }

    #[test]
    fn wilson_matches_known_values() {
        // 10 of 100: the textbook interval is about [0.0552, 0.1744].
        let (lo, hi) = wilson(10, 100);
        assert!(
            (lo - 0.0552).abs() < 1e-3 && (hi - 0.1744).abs() < 1e-3,
            "{lo} {hi}"
        );
        let (lo, hi) = wilson(0, 50);
        assert_eq!(lo, 0.0);
        assert!(hi > 0.0 && hi < 0.08);
    }

    #[test]
    fn percentiles_use_nearest_rank() {
        let v: Vec<Tick> = (1..=100).collect();
        assert_eq!(percentile(&v, 0.5), Some(50));
        assert_eq!(percentile(&v, 0.95), Some(95));
        assert_eq!(percentile(&[], 0.5), None);
    }
}
