//! The model: the validated scenario plus the lookup tables every step of every run needs.
//!
//! A [`Model`] is computed once per scenario and shared, by reference, by every simulation of
//! it (the explorer builds millions). It owns nothing that changes during a run: which pool a
//! worker belongs to, which workers a pool has, and how workers and tasks are named.

use crate::scenario::{PoolId, PoolKind, Scenario};

use super::WorkerId;

/// The scenario plus the lookup tables the engine needs at every step, computed once and
/// shared (by reference) by every simulation of it.
#[derive(Clone, Debug)]
pub struct Model {
    /// The validated scenario.
    pub scenario: Scenario,
    worker_pool: Vec<PoolId>,
    pool_workers: Vec<std::ops::Range<u32>>,
    worker_process: Vec<ProcessId>,
    process_workers: Vec<std::ops::Range<u32>>,
    process_pool: Vec<PoolId>,
    timeless: bool,
    hangs_at_rest: bool,
    models_memory: bool,
    has_lifecycle: bool,
    can_hang: bool,
}

/// A process: an index into the simulation's processes. A `thread` pool is one process whose
/// threads are its workers; a `process` pool has a process per worker. Processes are numbered
/// pool by pool in file order, and within a pool in worker order.
pub type ProcessId = u32;

impl Model {
    /// Prepares `scenario` for simulation.
    pub fn new(scenario: Scenario) -> Model {
        let mut worker_pool = Vec::new();
        let mut pool_workers = Vec::new();
        let mut worker_process = Vec::new();
        let mut process_workers = Vec::new();
        let mut process_pool = Vec::new();
        for (p, pool) in scenario.pools.iter().enumerate() {
            let start = worker_pool.len() as u32;
            worker_pool.extend(std::iter::repeat_n(p, pool.workers as usize));
            let end = worker_pool.len() as u32;
            pool_workers.push(start..end);
            match pool.kind {
                PoolKind::Thread => {
                    let process = process_workers.len() as ProcessId;
                    worker_process.extend(std::iter::repeat_n(process, pool.workers as usize));
                    process_workers.push(start..end);
                    process_pool.push(p);
                }
                PoolKind::Process => {
                    for w in start..end {
                        worker_process.push(process_workers.len() as ProcessId);
                        process_workers.push(w..w + 1);
                        process_pool.push(p);
                    }
                }
            }
        }
        let timeless = scenario == scenario.with_any_timing();
        // A hang can be undone only by something that kills a task that is not moving: the
        // OOM killer, or the exit of a thread pool's process after a task of another thread.
        let hangs_at_rest = scenario.host.memory.is_some()
            || scenario
                .pools
                .iter()
                .any(|p| p.kind == PoolKind::Thread && p.max_memory.is_some());
        let models_memory = scenario.models_memory();
        // Every stuck set holds a task waiting without a timeout (a queued task is only stuck
        // behind workers held by such tasks): without one, nothing can ever be stuck.
        let can_hang = scenario.tasks.iter().any(|t| t.waits_for_ever());
        let has_lifecycle = scenario.has_lifecycle();
        Model {
            has_lifecycle,
            can_hang,
            models_memory,
            scenario,
            worker_pool,
            pool_workers,
            worker_process,
            process_workers,
            process_pool,
            timeless,
            hangs_at_rest,
        }
    }

    /// Whether a hang is only known for certain once nothing else can happen: in a scenario
    /// where the OOM killer, or the exit of a thread pool's process, can kill a task that is
    /// stuck, a stuck set can still dissolve while other work goes on (see `wait_for`).
    pub fn hangs_at_rest(&self) -> bool {
        self.hangs_at_rest
    }

    /// The process of worker `w`.
    #[inline(always)]
    pub fn process_of(&self, w: WorkerId) -> ProcessId {
        self.worker_process[w as usize]
    }

    /// The workers (threads) of process `p`.
    pub fn workers_of_process(&self, p: ProcessId) -> std::ops::Range<u32> {
        self.process_workers[p as usize].clone()
    }

    /// Whether some task waits without a timeout: otherwise no state can be deadlocked, and
    /// the runs need not look.
    #[inline(always)]
    pub fn can_hang(&self) -> bool {
        self.can_hang
    }

    /// Whether processes can exit, be recycled or be killed ([`Scenario::has_lifecycle`]).
    #[inline(always)]
    pub fn has_lifecycle(&self) -> bool {
        self.has_lifecycle
    }

    /// Whether the scenario models memory ([`Scenario::models_memory`]): otherwise the memory
    /// rules have nothing to do.
    #[inline(always)]
    pub fn models_memory(&self) -> bool {
        self.models_memory
    }

    /// The processes of pool `pool`, in order.
    pub fn processes_of(&self, pool: PoolId) -> std::ops::Range<ProcessId> {
        let workers = self.workers_of(pool);
        let first = self.process_of(workers.start);
        first..first + self.scenario.pools[pool].processes()
    }

    /// The pool of process `p`.
    pub fn pool_of_process(&self, p: ProcessId) -> PoolId {
        self.process_pool[p as usize]
    }

    /// Number of processes.
    pub fn process_count(&self) -> usize {
        self.process_workers.len()
    }

    /// A process's display name: the worker's name for a process pool (`default/2`), the
    /// pool's name for a thread pool (`default`).
    pub fn process_name(&self, p: ProcessId) -> String {
        let pool = self.pool_of_process(p);
        match self.scenario.pools[pool].kind {
            PoolKind::Thread => self.scenario.pools[pool].name.clone(),
            PoolKind::Process => self.worker_name(self.process_workers[p as usize].start),
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
