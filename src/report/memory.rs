//! Memory and the life of processes, as a value: peaks per worker, pool and host, restarts by
//! cause, tasks lost and re-queued, and the findings that tell a hang's look-alikes apart.
//!
//! Built by [`MemoryReport::new`] from the statistics of a run ([`MemoryStats`]) and the
//! simulation's final state; [`Report`](super::Report) carries it when the scenario models
//! memory, and the text and JSON renderers put it in words and keys.
//!
//! # Findings
//! A run can finish and still be wrong in ways that look like a hang in production; each is
//! named with what it costs:
//! - `restart_loop`: processes of a pool exit above `max_memory` after a single task (a fresh
//!   process plus one task's retention is already above the threshold): one restart per task;
//! - `oom_restart_loop`: the OOM killer takes processes before they finish any task;
//! - `recycling_frees_nothing`: `max_tasks` on a thread pool replaces threads, and the process
//!   keeps every byte;
//! - `orphaned_callback`: a `then` callback that will never be queued, because a child of its
//!   group was lost, or exited above `max_memory` in its post-execute hook, before the
//!   group's count-down (as Huey does).

use crate::engine::Simulation;
use crate::scenario::{format_size, PoolKind, Tick};

use super::stats::{MemoryStats, PoolStats, TaskStats};

/// Memory and restarts over a run.
#[derive(Clone, Debug, PartialEq)]
pub struct MemoryReport {
    /// The host's memory, if modelled.
    pub host_memory: Option<u64>,
    /// Peak resident memory of all processes together.
    pub host_peak: u64,
    /// Per pool, in scenario order.
    pub pools: Vec<PoolMemory>,
    /// Tasks lost, per task type (scenario order), with the first few names.
    pub lost: Vec<(String, u64)>,
    /// The first few tasks lost.
    pub lost_names: Vec<String>,
    /// Re-queues, per task type.
    pub requeued: Vec<(String, u64)>,
    /// The first few tasks re-queued.
    pub requeued_names: Vec<String>,
    /// What the run shows beyond its outcome (see the module docs).
    pub findings: Vec<Finding>,
}

/// Memory and restarts of one pool.
#[derive(Clone, Debug, PartialEq)]
pub struct PoolMemory {
    /// The pool's name.
    pub name: String,
    /// `thread` or `process`.
    pub kind: &'static str,
    /// Largest resident memory of any one of its processes.
    pub peak_rss: u64,
    /// Largest resident memory of its processes together.
    pub peak_total: u64,
    /// Resident memory of its processes together when the run ended.
    pub end_total: u64,
    /// Exits and recycling by cause: `max_memory`, `max_tasks`, `oom`.
    pub restarts: [u64; 3],
    /// Worker-time spent restarting, in worker-ticks.
    pub restarting: u128,
    /// Per worker: its process's peak and end resident memory (a thread pool's workers share
    /// their process's).
    pub workers: Vec<WorkerMemory>,
}

/// One worker's resident memory: that of its process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkerMemory {
    /// `pool/index`.
    pub name: String,
    /// Peak.
    pub peak_rss: u64,
    /// At the end of the run.
    pub end_rss: u64,
}

/// Something the run shows beyond its outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// `restart_loop`, `oom_restart_loop`, `recycling_frees_nothing` or `orphaned_callback`.
    pub kind: &'static str,
    /// What happened, in words, with what it cost.
    pub text: String,
}

impl MemoryReport {
    /// The memory report of a run: `sim` in its final state, observed by `memory`, with the
    /// per-task and per-pool statistics of the same run.
    pub fn new(
        sim: &Simulation<'_>,
        memory: &MemoryStats,
        tasks: &[TaskStats],
        pools: &[PoolStats],
    ) -> MemoryReport {
        let s = sim.scenario();
        let model = sim.model;
        let peak = |p: u32| memory.process_peak[p as usize];
        let end = |p: u32| sim.processes()[p as usize].rss();
        let mut findings = Vec::new();
        let pool_reports = s
            .pools
            .iter()
            .enumerate()
            .map(|(i, pool)| {
                let workers: Vec<WorkerMemory> = model
                    .workers_of(i)
                    .map(|w| {
                        let p = model.process_of(w);
                        WorkerMemory {
                            name: model.worker_name(w),
                            peak_rss: peak(p),
                            end_rss: end(p),
                        }
                    })
                    .collect();
                let end_total: u64 = model.processes_of(i).map(end).sum();
                let peak_total = memory.pool_total_peak[i];
                let restarts = memory.restarts[i];
                let one_task = memory.exits_after_one_task[i];
                // One exit is an event; a loop repeats.
                if one_task > 1 {
                    let biggest = s.tasks.iter().map(|t| t.kept(pool.gc)).max().unwrap_or(0);
                    let threshold = pool.max_memory.unwrap_or(0);
                    let done = memory.tasks_done[i].max(1);
                    findings.push(Finding {
                        kind: "restart_loop",
                        text: format!(
                            "restart loop: {one_task} of pool {}'s {} exits above max_memory \
                             came after a single task: a fresh process ({}) plus what one task \
                             keeps (up to {}) is above {}, so every such task costs a restart \
                             ({:.2} restarts per task over the run)",
                            pool.name,
                            restarts[0],
                            format_size(pool.base_memory),
                            format_size(biggest),
                            format_size(threshold),
                            restarts.iter().sum::<u64>() as f64 / done as f64,
                        ),
                    });
                }
                let fresh_kills = memory.killed_before_a_task[i];
                if fresh_kills > 1 {
                    let done = memory.tasks_done[i];
                    findings.push(Finding {
                        kind: "oom_restart_loop",
                        text: format!(
                            "restart loop: the OOM killer took {fresh_kills} of pool {}'s \
                             replacement processes before they finished a task (the host has \
                             {}; {} kills for {done} tasks finished)",
                            pool.name,
                            s.host.memory.map_or("no limit".into(), format_size),
                            restarts[2],
                        ),
                    });
                }
                let recycled = memory.recycled_threads[i];
                if recycled > 0 && pool.kind == PoolKind::Thread {
                    findings.push(Finding {
                        kind: "recycling_frees_nothing",
                        text: format!(
                            "recycling frees nothing: pool {} recycled {recycled} threads after \
                             max_tasks, but its workers are threads of one process, which keeps \
                             every byte (peak {}); use kind = \"process\" or max_memory",
                            pool.name,
                            format_size(peak_total),
                        ),
                    });
                }
                PoolMemory {
                    name: pool.name.clone(),
                    kind: pool.kind.name(),
                    peak_rss: workers.iter().map(|w| w.peak_rss).max().unwrap_or(0),
                    peak_total,
                    end_total,
                    restarts,
                    restarting: pools[i].restarting,
                    workers,
                }
            })
            .collect();
        for g in sim.groups() {
            if g.lost && g.remaining > 0 {
                let owner = sim.resolve(g.owner).map(|t| sim.task_name(t));
                findings.push(Finding {
                    kind: "orphaned_callback",
                    text: format!(
                        "orphaned wait: callback {} {}will never be queued: a child of its \
                         group was lost, or its process exited above max_memory before the \
                         group counted it down",
                        s.tasks[g.then].name,
                        owner.map_or(String::new(), |o| format!("of {o} ")),
                    ),
                });
            }
        }
        let per_type = |f: fn(&TaskStats) -> u64| {
            s.tasks
                .iter()
                .zip(tasks)
                .map(|(t, st)| (t.name.clone(), f(st)))
                .collect()
        };
        MemoryReport {
            host_memory: s.host.memory,
            host_peak: memory.host_peak.max(sim.host_rss()),
            pools: pool_reports,
            lost: per_type(|t| t.lost),
            lost_names: memory.lost_names.clone(),
            requeued: per_type(|t| t.requeued),
            requeued_names: memory.requeued_names.clone(),
            findings,
        }
    }

    /// Worker-time restarting, in worker-seconds, of pool `i`.
    pub fn restarting_ticks(&self, i: usize) -> Tick {
        self.pools[i].restarting.min(u128::from(Tick::MAX)) as Tick
    }
}
