//! The statistics observer: counts, latencies, worker-time and queue lengths of one run.
//!
//! It runs inside the engine's loop at every event, so it keeps only aggregates, sized by the
//! scenario (task types, pools, queues) and never by the number of tasks: a counter per task type,
//! latencies per task type as the counts of an HDR histogram of 3 significant digits
//! ([`Latencies`], constant memory; the histogram itself is made when a report asks), the
//! worker-time integrals of each pool and the queued-time integral of each queue, and a maximum
//! per queue. Per-instance facts it needs (when a task was queued) are read from the engine's
//! own instance table while the task is alive.
//!
//! The time integrals are the engine's: its pool counters and queues keep them as sums over
//! their changes ([`PoolCounters`](crate::engine::PoolCounters)), which costs an addition per
//! change, where integrating here at every move of the clock cost a multiplication per
//! counter and queue at every move. So are the counts of tasks created and the longest
//! queues, which the engine keeps anyway (a task's serial number) or for one comparison a
//! push. The statistics take the sums when the clock passes the warmup and when the run ends
//! ([`Observer::ended`]), and keep the difference: the figures of [`Stats::pools`],
//! [`Stats::queue_area`], [`TaskStats::arrived`] and [`Stats::max_queue`] are settled once the
//! run has ended. (A longest queue since the warmup cannot be told from the engine's since
//! instant 0: with a warmup, the statistics look at each queue as tasks join it.)
//!
//! Memory and the life of processes ([`MemoryStats`]) are sized by the processes: a peak per
//! process and per pool, restarts per pool and cause, and the first few tasks lost.

use crate::engine::{Event, Exit, Observer, Simulation, Status, TaskResult, WorkerTime};
use crate::scenario::{Scenario, Tick};

use super::latencies::Latencies;

/// Latencies beyond this many ticks (about 146 years) are recorded as this value; an
/// auto-resizing histogram cannot track more.
const LATENCY_CAP: u64 = (i64::MAX / 2) as u64;

/// Aggregates of one task type.
#[derive(Clone, Debug)]
pub struct TaskStats {
    /// Instances created: arrivals, spawns and callbacks (the engine's counts, settled when the
    /// run ends).
    pub arrived: u64,
    /// Instances that ran out of steps.
    pub completed: u64,
    /// Instances that failed (a wait timed out with `on_timeout = "fail"`, or a child failed).
    pub failed: u64,
    /// Instances that died with their process and were not re-queued.
    pub lost: u64,
    /// Times an instance died with its process and was put back on its queue (`acks_late`).
    pub requeued: u64,
    /// Ticks from being queued to finishing, for every finished instance (completed or failed).
    pub latency: Latencies,
    /// Exact smallest latency recorded (the histogram only keeps 3 significant digits).
    pub min_latency: Tick,
    /// Exact largest latency recorded.
    pub max_latency: Tick,
}

impl TaskStats {
    fn new() -> TaskStats {
        TaskStats {
            arrived: 0,
            completed: 0,
            failed: 0,
            lost: 0,
            requeued: 0,
            latency: Latencies::new(),
            min_latency: Tick::MAX,
            max_latency: 0,
        }
    }
}

/// Worker-time of one pool, in worker-ticks (one worker for one tick is 1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Workers running a task that is not waiting (working, or just taken).
    pub busy: u128,
    /// Workers held by a task waiting for its children.
    pub blocked: u128,
    /// Workers with no task.
    pub idle: u128,
    /// Workers whose process (or thread) was restarting.
    pub restarting: u128,
}

impl PoolStats {
    /// Total worker-time: workers × elapsed time.
    pub fn total(&self) -> u128 {
        self.busy + self.blocked + self.idle + self.restarting
    }
}

/// Adds `name` to `names` unless it is there or `names` is full.
fn keep_name(names: &mut Vec<String>, name: String) {
    if names.len() < NAMES_KEPT && !names.contains(&name) {
        names.push(name);
    }
}

/// How many lost and re-queued task names a report keeps.
pub const NAMES_KEPT: usize = 5;

/// Memory and the life of processes over a run (see the module docs).
#[derive(Clone, Debug, Default)]
pub struct MemoryStats {
    /// Peak resident memory per process, in bytes.
    pub process_peak: Vec<u64>,
    /// Peak of all processes together.
    pub host_peak: u64,
    /// Per pool: peak of its processes together.
    pub pool_total_peak: Vec<u64>,
    /// Per pool: peak of any one of its processes.
    pub pool_peak: Vec<u64>,
    /// Per pool: exits and kills by cause (`max_memory`, `max_tasks`, `oom`; a thread pool's
    /// recycled threads count under `max_tasks`).
    pub restarts: Vec<[u64; 3]>,
    /// Per pool: processes that exited above `max_memory` after a single task (a fresh process
    /// already above the threshold after one task: a restart loop).
    pub exits_after_one_task: Vec<u64>,
    /// Per pool: replacement processes the OOM killer took before they finished any task.
    pub killed_before_a_task: Vec<u64>,
    /// Per pool: threads recycled (`max_tasks` on a thread pool).
    pub recycled_threads: Vec<u64>,
    /// Per pool: tasks its workers ran to their end.
    pub tasks_done: Vec<u64>,
    /// The first few tasks lost, by name.
    pub lost_names: Vec<String>,
    /// The first few tasks re-queued, by name.
    pub requeued_names: Vec<String>,
    process_now: Vec<u64>,
    replacement: Vec<bool>,
    host_now: u64,
    pool_now: Vec<u64>,
}

impl MemoryStats {
    /// Statistics of a run of `scenario` at its start: every process at its pool's base
    /// memory (processes numbered as the engine's model numbers them).
    pub fn new(scenario: &Scenario) -> MemoryStats {
        let pools = scenario.pools.len();
        let mut process_pool = Vec::new();
        for (p, pool) in scenario.pools.iter().enumerate() {
            process_pool.extend(std::iter::repeat_n(p, pool.processes() as usize));
        }
        let process_now: Vec<u64> = process_pool
            .iter()
            .map(|&p| scenario.pools[p].base_memory)
            .collect();
        let mut pool_now = vec![0; pools];
        for (&p, &rss) in process_pool.iter().zip(&process_now) {
            pool_now[p] += rss;
        }
        let host_now = pool_now.iter().sum();
        MemoryStats {
            process_peak: process_now.clone(),
            host_peak: host_now,
            pool_total_peak: pool_now.clone(),
            pool_peak: scenario.pools.iter().map(|p| p.base_memory).collect(),
            restarts: vec![[0; 3]; pools],
            exits_after_one_task: vec![0; pools],
            killed_before_a_task: vec![0; pools],
            recycled_threads: vec![0; pools],
            tasks_done: vec![0; pools],
            lost_names: Vec::new(),
            requeued_names: Vec::new(),
            replacement: vec![false; process_now.len()],
            process_now,
            host_now,
            pool_now,
        }
    }

    /// Process `process` is now at `rss` bytes.
    fn set(&mut self, sim: &Simulation<'_>, process: u32, rss: u64) {
        let p = process as usize;
        let pool = sim.model.pool_of_process(process);
        let before = std::mem::replace(&mut self.process_now[p], rss);
        self.pool_now[pool] = self.pool_now[pool] - before + rss;
        self.host_now = self.host_now - before + rss;
        self.process_peak[p] = self.process_peak[p].max(rss);
        self.pool_total_peak[pool] = self.pool_total_peak[pool].max(self.pool_now[pool]);
        self.pool_peak[pool] = self.pool_peak[pool].max(rss);
        self.host_peak = self.host_peak.max(self.host_now);
    }

    fn event(&mut self, sim: &Simulation<'_>, event: &Event) {
        match *event {
            Event::Memory { process, rss } => self.set(sim, process, rss),
            Event::Exited {
                process,
                cause,
                tasks,
                ..
            } => {
                self.set(sim, process, 0);
                let pool = sim.model.pool_of_process(process);
                let i = match cause {
                    Exit::MaxMemory => 0,
                    Exit::MaxTasks => 1,
                    Exit::Oom => 2,
                };
                self.restarts[pool][i] += 1;
                if cause == Exit::MaxMemory && tasks == 1 {
                    self.exits_after_one_task[pool] += 1;
                }
                if cause == Exit::Oom && tasks == 0 && self.replacement[process as usize] {
                    self.killed_before_a_task[pool] += 1;
                }
            }
            Event::Recycled { worker } => {
                let pool = sim.model.pool_of(worker);
                self.restarts[pool][1] += 1;
                self.recycled_threads[pool] += 1;
            }
            Event::Restarted {
                process: Some(p), ..
            } => self.replacement[p as usize] = true,
            Event::Finished { task, .. } => {
                if let Some(w) = sim.instance(task).status.worker() {
                    self.tasks_done[sim.model.pool_of(w)] += 1;
                }
            }
            Event::Lost { task } => keep_name(&mut self.lost_names, sim.task_name(task)),
            Event::Requeued { task } => keep_name(&mut self.requeued_names, sim.task_name(task)),
            _ => {}
        }
    }
}

/// Collects the statistics of a run as an [`Observer`]; see the module docs.
#[derive(Clone, Debug)]
pub struct Stats {
    /// Per task type, in scenario order.
    pub tasks: Vec<TaskStats>,
    /// Per pool, in scenario order; settled when the run ends ([`Observer::ended`]).
    pub pools: Vec<PoolStats>,
    /// Largest number of tasks queued at once, per queue in scenario order, as seen each time a
    /// task joins a queue (created, or put back by `acks_late`): the engine's longest queues,
    /// settled when the run ends; after a warmup, seen event by event from its end.
    pub max_queue: Vec<u64>,
    /// The time integral of each queue's length, in task-ticks (its mean length is this over
    /// the time observed); settled when the run ends.
    pub queue_area: Vec<u128>,
    /// Observations start at this instant: tasks queued before it are not counted, and worker
    /// and queue time before it is not integrated (transient removal, `qsim sweep --warmup`).
    pub warmup: Tick,
    /// Memory and restarts, when the scenario models memory.
    pub memory: Option<MemoryStats>,
    /// Workers per pool, in scenario order.
    workers: Vec<u32>,
    /// The engine's time integrals at the end of the warmup, once the clock has reached it.
    start: Option<Integrals>,
}

/// The engine's running sums at one instant: worker time per pool, queued time per queue,
/// and instances created per task type.
#[derive(Clone, Debug)]
struct Integrals {
    at: Tick,
    pools: Vec<WorkerTime>,
    queues: Vec<u128>,
    created: Vec<u64>,
}

impl Integrals {
    /// The sums of `sim` from instant 0 to `at` (at or after its last change).
    fn at(sim: &Simulation<'_>, at: Tick) -> Integrals {
        Integrals {
            at,
            pools: sim
                .pool_counters()
                .iter()
                .map(|c| c.worker_time(at))
                .collect(),
            queues: sim.queues().iter().map(|q| q.queued_time(at)).collect(),
            created: sim.created().to_vec(),
        }
    }

    /// The sums of a run of `scenario` before anything happened.
    fn zero(scenario: &Scenario) -> Integrals {
        Integrals {
            at: 0,
            pools: vec![WorkerTime::default(); scenario.pools.len()],
            queues: vec![0; scenario.queues.len()],
            created: vec![0; scenario.tasks.len()],
        }
    }
}

impl Stats {
    /// Empty statistics for a run of `scenario`.
    pub fn new(scenario: &Scenario) -> Stats {
        Stats::after_warmup(scenario, 0)
    }

    /// Empty statistics that observe only from instant `warmup` on.
    pub fn after_warmup(scenario: &Scenario, warmup: Tick) -> Stats {
        Stats {
            tasks: scenario.tasks.iter().map(|_| TaskStats::new()).collect(),
            pools: vec![PoolStats::default(); scenario.pools.len()],
            max_queue: vec![0; scenario.queues.len()],
            queue_area: vec![0; scenario.queues.len()],
            warmup,
            memory: scenario.models_memory().then(|| MemoryStats::new(scenario)),
            workers: scenario.pools.iter().map(|p| p.workers).collect(),
            // Without a warmup, everything from instant 0 counts, the creations at 0 before
            // the clock first moves among them.
            start: (warmup == 0).then(|| Integrals::zero(scenario)),
        }
    }

    /// Notes the length of a queue a task was just put on, when a warmup keeps the
    /// statistics from reading the engine's longest queues (see [`Stats::ended`]).
    #[inline(always)]
    fn queued(&mut self, sim: &Simulation<'_>, task: u32) {
        if self.warmup == 0 || sim.now() < self.warmup {
            return;
        }
        self.queued_after_warmup(sim, task);
    }

    #[inline(never)]
    fn queued_after_warmup(&mut self, sim: &Simulation<'_>, task: u32) {
        let inst = sim.instance(task);
        let q = sim.scenario().tasks[inst.task].queue;
        // The engine reports a task once it is on its queue (the oracle test holds it to that);
        // were one reported before, it would count as queued all the same.
        let pending = u64::from(!matches!(inst.status, Status::Queued(_)));
        let len = sim.queue(q).len() as u64 + pending;
        let max = &mut self.max_queue[q];
        *max = (*max).max(len);
    }
}

impl Stats {
    /// Counts a finished instance and records its latency.
    /// Passes a memory or lifecycle event to the memory statistics, when they are kept.
    #[inline(never)]
    fn memory_event(&mut self, sim: &Simulation<'_>, event: &Event) {
        if let Some(memory) = &mut self.memory {
            memory.event(sim, event);
        }
    }

    #[inline(always)]
    fn finished(&mut self, sim: &Simulation<'_>, task: u32, result: TaskResult) {
        let inst = sim.instance(task);
        if inst.enqueued_at < self.warmup {
            return;
        }
        let t = &mut self.tasks[inst.task];
        match result {
            TaskResult::Completed => t.completed += 1,
            TaskResult::Failed => t.failed += 1,
        }
        let latency = sim.now().saturating_sub(inst.enqueued_at);
        t.latency.record(latency.min(LATENCY_CAP));
        t.min_latency = t.min_latency.min(latency);
        t.max_latency = t.max_latency.max(latency);
    }
}

impl Observer for Stats {
    // Always inlined, so that at each of the engine's call sites, where the kind of event is
    // known, the match folds away: the events the statistics ignore cost nothing.
    #[inline(always)]
    fn event(&mut self, sim: &Simulation<'_>, event: &Event) {
        match *event {
            Event::Arrived { task }
            | Event::Spawned { task, .. }
            | Event::CallbackQueued { task } => self.queued(sim, task),
            Event::Finished { task, result } => {
                self.finished(sim, task, result);
                if self.memory.is_some() {
                    self.memory_event(sim, event);
                }
            }
            Event::Lost { task } | Event::Requeued { task } => {
                let inst = sim.instance(task);
                if inst.enqueued_at >= self.warmup {
                    let t = &mut self.tasks[inst.task];
                    match event {
                        Event::Lost { .. } => t.lost += 1,
                        _ => t.requeued += 1,
                    }
                }
                if let Event::Requeued { task } = *event {
                    self.queued(sim, task);
                }
                self.memory_event(sim, event);
            }
            Event::Memory { .. }
            | Event::Exited { .. }
            | Event::Recycled { .. }
            | Event::Restarted { .. } => self.memory_event(sim, event),
            Event::Taken { .. }
            | Event::WorkStarted { .. }
            | Event::Blocked { .. }
            | Event::Resumed { .. }
            | Event::TimedOut { .. } => {}
        }
    }

    // Inlined into the engine's `advance_time`, which calls it at every move of the clock:
    // after the warmup is reached it is one comparison.
    #[inline(always)]
    fn time_passes(&mut self, sim: &Simulation<'_>, from: Tick, to: Tick) {
        if self.start.is_none() && to >= self.warmup {
            self.take_start(sim, from);
        }
    }

    fn ended(&mut self, sim: &Simulation<'_>) {
        // A run that ended before its warmup did observe no time.
        let Some(start) = &self.start else { return };
        let now = sim.now();
        let elapsed = u128::from(now - start.at);
        let end = Integrals::at(sim, now);
        let pools = self.pools.iter_mut().zip(&self.workers);
        for ((stats, &workers), (end, start)) in pools.zip(end.pools.iter().zip(&start.pools)) {
            let idle = end.idle - start.idle;
            let blocked = end.waiting - start.waiting;
            let restarting = end.restarting - start.restarting;
            *stats = PoolStats {
                busy: u128::from(workers) * elapsed - idle - blocked - restarting,
                blocked,
                idle,
                restarting,
            };
        }
        for ((area, end), start) in self
            .queue_area
            .iter_mut()
            .zip(end.queues)
            .zip(&start.queues)
        {
            *area = end - start;
        }
        for ((t, end), start) in self.tasks.iter_mut().zip(end.created).zip(&start.created) {
            t.arrived = end - start;
        }
        if self.warmup == 0 {
            for (max, queue) in self.max_queue.iter_mut().zip(sim.queues()) {
                *max = queue.longest() as u64;
            }
        }
    }
}

impl Stats {
    /// Takes the engine's integrals at the end of the warmup, which the clock is about to
    /// reach or pass, moving on from `from` (the state holds until then); or at `from`, for
    /// statistics that began to watch a run after its warmup.
    #[inline(never)]
    fn take_start(&mut self, sim: &Simulation<'_>, from: Tick) {
        self.start = Some(Integrals::at(sim, from.max(self.warmup)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{simulate, Limits, Model};
    use crate::report::fixtures::fanout;
    use crate::scenario::TICKS_PER_SECOND;

    #[test]
    fn integrates_worker_time_and_counts_tasks() {
        let model = Model::new(fanout(4));
        let mut stats = Stats::new(&model.scenario);
        let (_, sim) = simulate(&model, &mut stats, Limits::default());
        let s = u128::from(TICKS_PER_SECOND);
        assert_eq!(
            stats.pools[0],
            PoolStats {
                busy: 80 * s,
                blocked: 56 * s,
                idle: 8 * s,
                restarting: 0,
            }
        );
        assert_eq!(stats.pools[0].total(), 4 * u128::from(sim.now()));
        let counts: Vec<_> = stats
            .tasks
            .iter()
            .map(|t| (t.arrived, t.completed, t.failed, t.latency.len()))
            .collect();
        assert_eq!(counts, [(2, 2, 0, 2), (20, 20, 0, 20)]);
        assert_eq!(stats.tasks[1].min_latency, 4 * TICKS_PER_SECOND);
        assert_eq!(stats.tasks[1].max_latency, 36 * TICKS_PER_SECOND);
        assert_eq!(stats.max_queue, [20]);
        // The time integral of the queue's length is the time every task spent queued.
        struct Queued(u128);
        impl Observer for Queued {
            fn event(&mut self, sim: &Simulation<'_>, event: &Event) {
                if let Event::Taken { task, .. } = *event {
                    self.0 += u128::from(sim.now() - sim.instance(task).enqueued_at);
                }
            }
        }
        let mut queued = Queued(0);
        simulate(&model, &mut queued, Limits::default());
        assert!(queued.0 > 0);
        assert_eq!(stats.queue_area, [queued.0]);
    }

    /// Integrates worker and queue time at every move of the clock, counts creations and
    /// looks at a queue's length whenever a task joins it, the plain way: the oracle of the
    /// engine's sums over changes, counts and longest queues.
    struct Integrator {
        warmup: Tick,
        workers: Vec<u32>,
        pools: Vec<PoolStats>,
        queues: Vec<u128>,
        arrived: Vec<u64>,
        longest: Vec<u64>,
    }

    impl Observer for Integrator {
        fn event(&mut self, sim: &Simulation<'_>, event: &Event) {
            let task = match *event {
                Event::Arrived { task }
                | Event::Spawned { task, .. }
                | Event::CallbackQueued { task } => {
                    if sim.now() >= self.warmup {
                        self.arrived[sim.instance(task).task] += 1;
                    }
                    task
                }
                Event::Requeued { task } => task,
                _ => return,
            };
            if sim.now() >= self.warmup {
                let Status::Queued(q) = sim.instance(task).status else {
                    panic!("a task joins its queue before the event")
                };
                self.longest[q] = self.longest[q].max(sim.queue(q).len() as u64);
            }
        }

        fn time_passes(&mut self, sim: &Simulation<'_>, from: Tick, to: Tick) {
            let dt = u128::from(to.saturating_sub(from.max(self.warmup)));
            for (p, counts) in sim.pool_counters().iter().enumerate() {
                let (workers, idle) = (self.workers[p], counts.idle);
                let held = workers - idle - counts.restarting;
                let stats = &mut self.pools[p];
                stats.idle += u128::from(idle) * dt;
                stats.busy += u128::from(held - counts.waiting) * dt;
                stats.blocked += u128::from(counts.waiting) * dt;
                stats.restarting += u128::from(counts.restarting) * dt;
            }
            for (q, queue) in sim.queues().iter().enumerate() {
                self.queues[q] += queue.len() as u128 * dt;
            }
        }
    }

    /// The worker and queue time the statistics settle from the engine's sums are those
    /// integrated at every move of the clock, and the tasks arrived and the longest queues
    /// are those seen event by event, in every scenario of `scenarios/`, run to its end or
    /// stopped early, with no warmup and with warmups that end before, during and after the
    /// run.
    #[test]
    fn worker_and_queue_time_are_the_integrals_over_every_move_of_the_clock() {
        let files = crate::engine::tests::example_scenarios();
        let mut observed = 0;
        for file in files {
            let model = Model::new(crate::scenario::load(&file, &[]).unwrap());
            let s = &model.scenario;
            let end = simulate(&model, &mut (), Limits::default()).1.now();
            for max_events in [7, 100, 1_000_000] {
                for warmup in [0, 1, end / 3, end, end + 1] {
                    let limits = Limits {
                        max_events,
                        ..Limits::default()
                    };
                    let mut stats = Stats::after_warmup(s, warmup);
                    let mut oracle = Integrator {
                        warmup,
                        workers: s.pools.iter().map(|p| p.workers).collect(),
                        pools: vec![PoolStats::default(); s.pools.len()],
                        queues: vec![0; s.queues.len()],
                        arrived: vec![0; s.tasks.len()],
                        longest: vec![0; s.queues.len()],
                    };
                    let (_, sim) = simulate(&model, &mut (&mut stats, &mut oracle), limits);
                    let what =
                        format!("{} warmup {warmup} max-events {max_events}", file.display());
                    assert_eq!(stats.pools, oracle.pools, "{what}");
                    assert_eq!(stats.queue_area, oracle.queues, "{what}");
                    let arrived: Vec<u64> = stats.tasks.iter().map(|t| t.arrived).collect();
                    assert_eq!(arrived, oracle.arrived, "{what}");
                    assert_eq!(stats.max_queue, oracle.longest, "{what}");
                    let seen = u128::from(sim.now().saturating_sub(warmup));
                    for (pool, p) in stats.pools.iter().zip(&s.pools) {
                        assert_eq!(pool.total(), u128::from(p.workers) * seen, "{what}");
                    }
                    observed += u128::from(stats.pools.iter().any(|p| p.blocked > 0));
                    observed += u128::from(stats.pools.iter().any(|p| p.restarting > 0));
                }
            }
        }
        // Scenarios with waits and with restarts were among them.
        assert!(observed > 10, "{observed}");
    }

    #[test]
    fn a_warmup_drops_what_came_before_it() {
        let model = Model::new(fanout(4));
        let mut stats = Stats::after_warmup(&model.scenario, 10 * TICKS_PER_SECOND);
        let (_, sim) = simulate(&model, &mut stats, Limits::default());
        // Everything was queued at 0s: no task counts, and only worker time after 10s does.
        assert!(stats
            .tasks
            .iter()
            .all(|t| t.arrived == 0 && t.completed == 0));
        let after = 4 * u128::from(sim.now() - 10 * TICKS_PER_SECOND);
        assert_eq!(stats.pools[0].total(), after);
    }

    #[test]
    fn counts_queue_length_at_each_arrival() {
        // One worker, arrivals at 0, 0 and 0: the first is taken after all three are queued.
        let mut scenario = fanout(1);
        scenario.tasks[0].steps.clear();
        scenario.arrivals[0].pattern = crate::scenario::ArrivalPattern::At(vec![0, 0, 0]);
        let model = Model::new(scenario);
        let mut stats = Stats::new(&model.scenario);
        simulate(&model, &mut stats, Limits::default());
        assert_eq!(stats.max_queue, [3]);
        assert_eq!(stats.tasks[0].completed, 3);
    }
}
