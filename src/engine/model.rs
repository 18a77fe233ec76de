//! The model: the validated scenario plus the lookup tables every step of every run needs.
//!
//! A [`Model`] is computed once per scenario and shared, by reference, by every simulation of
//! it (the explorer builds millions). It owns nothing that changes during a run: which pool a
//! worker belongs to, which workers a pool has, and how workers and tasks are named.

use crate::scenario::{PoolId, Scenario};

use super::WorkerId;

/// The scenario plus the lookup tables the engine needs at every step, computed once and
/// shared (by reference) by every simulation of it.
#[derive(Clone, Debug)]
pub struct Model {
    /// The validated scenario.
    pub scenario: Scenario,
    worker_pool: Vec<PoolId>,
    pool_workers: Vec<std::ops::Range<u32>>,
    timeless: bool,
}

impl Model {
    /// Prepares `scenario` for simulation.
    pub fn new(scenario: Scenario) -> Model {
        let mut worker_pool = Vec::new();
        let mut pool_workers = Vec::new();
        for (p, pool) in scenario.pools.iter().enumerate() {
            let start = worker_pool.len() as u32;
            worker_pool.extend(std::iter::repeat_n(p, pool.workers as usize));
            pool_workers.push(start..worker_pool.len() as u32);
        }
        let timeless = scenario == scenario.with_any_timing();
        Model {
            scenario,
            worker_pool,
            pool_workers,
            timeless,
        }
    }

    /// Whether every duration, gap, timeout and arrival instant is zero and there is no
    /// horizon (as `explore` sees a scenario under any timing): every timer is then due at
    /// instant 0, and the clock never moves.
    pub fn is_timeless(&self) -> bool {
        self.timeless
    }

    /// The pool of worker `w`.
    pub fn pool_of(&self, w: WorkerId) -> PoolId {
        self.worker_pool[w as usize]
    }

    /// The workers of pool `p`.
    pub fn workers_of(&self, p: PoolId) -> std::ops::Range<u32> {
        self.pool_workers[p].clone()
    }

    /// Total number of workers.
    pub fn worker_count(&self) -> usize {
        self.worker_pool.len()
    }

    /// A worker's display name: `pool/index`, 1-based within its pool.
    pub fn worker_name(&self, w: WorkerId) -> String {
        let p = self.pool_of(w);
        numbered(
            &self.scenario.pools[p].name,
            '/',
            w - self.pool_workers[p].start + 1,
        )
    }
}

/// `name`, `separator` and `n` in decimal: a name like `subtask#3` or `default/2`, built
/// without the formatting machinery (deadlock explanations and schedules name dozens of tasks,
/// and explaining a counterexample is part of every search that finds one).
pub(crate) fn numbered(name: &str, separator: char, n: u32) -> String {
    let mut digits = [0u8; 10];
    let mut start = digits.len();
    let mut rest = n;
    loop {
        start -= 1;
        digits[start] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    let mut text = String::with_capacity(name.len() + 1 + digits.len() - start);
    text.push_str(name);
    text.push(separator);
    text.push_str(std::str::from_utf8(&digits[start..]).expect("ascii digits"));
    text
}
