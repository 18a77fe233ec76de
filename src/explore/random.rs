//! Monte Carlo: the probability of deadlock under the scenario's own distributions.
//!
//! Run `i` of `N` is the scenario with seed `derive_seed(seed, i)` and `ties = "random"`: its
//! durations are drawn from the scenario's distributions and every same-instant tie is broken
//! at random. That is exactly what `qsim run FILE --set seed=S --set ties=random` does, so any
//! run can be reproduced on its own. Runs are spread over threads with rayon; each run owns its
//! generators and results are gathered by run index, so the report is identical whatever the
//! thread count.

use rayon::prelude::*;

use crate::engine::{run_to_end, End, Limits, Model, RandomTies, Simulation};
use crate::rng::{derive_seed, SimRng};
use crate::scenario::{Scenario, Tick};

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
    /// Runs stopped by the event or task limit.
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
}

impl MonteCarlo {
    /// The estimated probability of deadlock.
    pub fn probability(&self) -> f64 {
        self.deadlocks as f64 / self.runs.max(1) as f64
    }

    /// `deadlock` if some run deadlocked, else `no_deadlock_seen` (not a proof that none can).
    pub fn verdict(&self) -> &'static str {
        if self.deadlocks > 0 {
            "deadlock"
        } else {
            "no_deadlock_seen"
        }
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
    let mut s = scenario.clone();
    if horizon.is_some() {
        s.horizon = horizon;
    }
    let model = Model::new(s);
    let results: Vec<(u8, Tick)> = (0..runs)
        .into_par_iter()
        .map(|i| one_run(&model, derive_seed(seed, i), limits))
        .collect();
    summarise(&scenario.name, &results, seed, horizon)
}

fn one_run(model: &Model, run_seed: u64, limits: Limits) -> (u8, Tick) {
    let mut sim = Simulation::with_seed(model, run_seed);
    let mut ties = RandomTies(SimRng::new(derive_seed(run_seed, u64::MAX)));
    let code = match run_to_end(&mut sim, &mut ties, &mut (), limits) {
        End::Completed => 0,
        End::Horizon => 1,
        End::Deadlock => 2,
        End::EventLimit | End::TaskLimit | End::MemoryLimit { .. } | End::Stopped => 3,
    };
    (code, sim.now())
}

fn summarise(
    scenario: &str,
    results: &[(u8, Tick)],
    seed: u64,
    horizon_override: Option<Tick>,
) -> MonteCarlo {
    let count = |c| results.iter().filter(|r| r.0 == c).count() as u64;
    let mut times: Vec<Tick> = results.iter().filter(|r| r.0 == 2).map(|r| r.1).collect();
    times.sort_unstable();
    let runs = results.len() as u64;
    let deadlocks = count(2);
    MonteCarlo {
        scenario: scenario.to_string(),
        runs,
        deadlocks,
        completed: count(0),
        horizon: count(1),
        event_limit: count(3),
        interval: wilson(deadlocks, runs),
        p50_time_to_deadlock: percentile(&times, 0.50),
        p95_time_to_deadlock: percentile(&times, 0.95),
        example_seed: results
            .iter()
            .position(|r| r.0 == 2)
            .map(|i| derive_seed(seed, i as u64)),
        seed,
        horizon_override,
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
