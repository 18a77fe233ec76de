//! What qsim found, as values: the report models, the observers that feed them, and the
//! renderers that put them in words.
//!
//! A run is observed by [`Stats`] (aggregates, bounded memory) and optionally by a [`Trace`]
//! (one JSON line per event). Once the run is over, [`Report::new`] combines the statistics
//! with the final state of the simulation and its [`Outcome`] into a [`Report`]: plain data,
//! in scenario order, with no reference to the engine. The formats are functions of that value
//! only — [`text::render`] for people, [`json::render`] for programs — so every format says
//! the same thing and a new one (CSV, Markdown, HTML) needs no change to the engine or the run.
//!
//! The other answers are values too, each with its text and JSON renderers:
//! - a deadlock: [`DeadlockReport`] (its holders, what they wait for, the queued tasks, one
//!   cycle), explained by [`text::explain`] and drawn by [`dot::render`];
//! - a schedule's story: [`Story`], each [`StoryStep`] listing the [`Happening`]s of one choice
//!   with the tasks and workers they moved ([`story::tell`]); [`text::sentence`] tells a step;
//! - the answers of `qsim explore`: [`ExplorationReport`] (an exhaustive search and its
//!   counterexample's story), [`MonteCarlo`](crate::explore::random::MonteCarlo) and
//!   [`MinWorkers`](crate::explore::MinWorkers), rendered by [`text::exploration`],
//!   [`text::monte_carlo`], [`text::min_workers`] and their [`json`] twins.
//!
//! Reports for people to read and pass around (`--report FILE.html` or `FILE.md`) are values
//! too: a [`page::Page`] built from any of the answers above, with [`figure::Figure`]s
//! (curves with confidence bands, heat maps, the workers' [`timeline`], the wait-for graph)
//! that [`svg`] draws, rendered by [`html::render`] or [`markdown::render`].
//!
//! Everything is in scenario order (the order the file declares task types, pools and queues),
//! never in hash order, so the same run gives the same bytes.

pub mod csv;
pub mod deadlock;
pub mod dot;
pub mod exploration;
pub mod figure;
pub mod html;
pub mod json;
pub mod latencies;
pub mod markdown;
pub mod memory;
pub mod memory_timeline;
pub mod page;
pub mod stats;
pub mod story;
pub mod svg;
pub mod text;
pub mod timeline;
pub mod trace;

use crate::engine::{Outcome, Simulation, Status};
use crate::scenario::{Step, Tick};

pub use deadlock::DeadlockReport;
pub use exploration::ExplorationReport;
pub use memory::MemoryReport;
pub use stats::Stats;
pub use story::{Happening, Story, StoryStep};
pub use trace::Trace;

/// The result of one run, ready to print.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// The scenario's name.
    pub scenario: String,
    /// The seed of the run.
    pub seed: u64,
    /// The outcome's name: `completed`, `horizon`, `deadlock`, `event_limit`, `task_limit` or `stopped`.
    pub outcome: &'static str,
    /// The instant the run ended.
    pub end_time: Tick,
    /// Number of engine steps taken (choices applied).
    pub events: u64,
    /// Per task type, in scenario order.
    pub tasks: Vec<TaskReport>,
    /// Per pool, in scenario order.
    pub pools: Vec<PoolReport>,
    /// Per queue, in scenario order.
    pub queues: Vec<QueueReport>,
    /// The deadlock the run ended in, if it did.
    pub deadlock: Option<DeadlockReport>,
    /// Memory and restarts, when the scenario models memory.
    pub memory: Option<MemoryReport>,
    /// When the run was stopped in a restart loop: the exits and kills in a row, and the
    /// limit they passed.
    pub restart_loop: Option<(u32, u32)>,
}

/// What happened to the instances of one task type.
///
/// Every instance created is counted once in `completed`, `failed`, `lost` or `unfinished`:
/// `arrived == completed + failed + lost + unfinished`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskReport {
    /// The task type's name.
    pub name: String,
    /// Instances created: arrivals, spawns and callbacks.
    pub arrived: u64,
    /// Instances that ran out of steps.
    pub completed: u64,
    /// Instances that failed.
    pub failed: u64,
    /// Instances still queued or held by a worker when the run ended.
    pub unfinished: u64,
    /// Instances that died with their process and were not re-queued.
    pub lost: u64,
    /// Time from being queued to finishing, over finished instances; `None` if none finished.
    pub latency: Option<Latency>,
}

/// Percentiles of a latency distribution, in ticks.
///
/// Percentiles come from a histogram with 3 significant digits (each is within 0.1% of the
/// truth, and the roundest value in that range: a fixed 4s is reported as exactly 4s); `max`
/// is exact.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Latency {
    /// Median.
    pub p50: Tick,
    /// 95th percentile.
    pub p95: Tick,
    /// 99th percentile.
    pub p99: Tick,
    /// Largest.
    pub max: Tick,
}

/// How one pool's worker-time was spent, as shares of workers × elapsed time.
///
/// The three shares add up to 1, or are all 0 when no time elapsed. `percent` is what the text
/// report shows: the same shares as whole percentages that add up to exactly 100.
#[derive(Clone, Debug, PartialEq)]
pub struct PoolReport {
    /// The pool's name.
    pub name: String,
    /// Its number of workers.
    pub workers: u32,
    /// Share of worker-time spent running tasks (working, or just taken).
    pub busy: f64,
    /// Share of worker-time held by tasks waiting for their children.
    pub blocked: f64,
    /// Share of worker-time with no task.
    pub idle: f64,
    /// Share of worker-time restarting (its process exited, or its thread was recycled).
    pub restarting: f64,
    /// The shares as whole percentages that add up to 100; `None` when no time elapsed.
    pub percent: Option<Percent>,
}

/// A pool's shares as whole percentages, rounded so that they add up to 100.
///
/// Rounding each share on its own can show 101% in all (55.6%, 38.9% and 5.6% round to 56%,
/// 39% and 6%). These are rounded by the largest remainder method: each share is rounded down,
/// then the points still missing go one each to the shares that lost the most, ties to the
/// first of busy, blocked, idle (56%, 39% and 5%). A share is never moved by a whole point or
/// more.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Percent {
    /// Busy, in whole percent.
    pub busy: u8,
    /// Blocked, in whole percent.
    pub blocked: u8,
    /// Idle, in whole percent.
    pub idle: u8,
    /// Restarting, in whole percent.
    pub restarting: u8,
}

impl Percent {
    /// The whole percentages of the amounts of worker-time `busy`, `blocked`, `idle` and
    /// `restarting` (exact integers, so that ties are ties); `None` when they add up to 0.
    pub fn of(busy: u128, blocked: u128, idle: u128, restarting: u128) -> Option<Percent> {
        let [busy, blocked, idle, restarting] =
            largest_remainder([busy, blocked, idle, restarting])?;
        Some(Percent {
            busy,
            blocked,
            idle,
            restarting,
        })
    }
}

/// Whole percentages of `parts` that add up to 100, by the largest remainder method (ties to
/// the earlier part); `None` when the parts add up to 0.
fn largest_remainder<const N: usize>(parts: [u128; N]) -> Option<[u8; N]> {
    let total: u128 = parts.iter().sum();
    if total == 0 {
        return None;
    }
    // Worker-time is at most 2^32 workers × 2^64 ticks, so `100 * part` < 2^103 fits.
    let mut shown = parts.map(|p| (100 * p / total) as u8);
    let remainders = parts.map(|p| 100 * p % total);
    let missing = 100 - shown.iter().map(|&p| u32::from(p)).sum::<u32>();
    let mut order: Vec<usize> = (0..N).collect();
    // Stable: among equal remainders the earlier part comes first.
    order.sort_by(|&a, &b| remainders[b].cmp(&remainders[a]));
    for &i in order.iter().take(missing as usize) {
        shown[i] += 1;
    }
    Some(shown)
}

/// One queue's length.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueReport {
    /// The queue's name.
    pub name: String,
    /// Largest number of tasks queued at once.
    pub max_length: u64,
    /// Tasks queued when the run ended.
    pub queued: u64,
}

impl Report {
    /// The report of a finished run: `sim` in its final state, `stats` observed over the whole
    /// run, and the run's `outcome`.
    pub fn new(sim: &Simulation<'_>, stats: &Stats, outcome: &Outcome) -> Report {
        let s = sim.scenario();
        let end_time = sim.now();

        let mut unfinished = vec![0u64; s.tasks.len()];
        for (_, inst) in sim.instances() {
            if inst.status != Status::Free {
                unfinished[inst.task] += 1;
            }
        }
        let tasks = s
            .tasks
            .iter()
            .zip(&stats.tasks)
            .zip(unfinished)
            .enumerate()
            .map(|(id, ((task, t), unfinished))| {
                debug_assert_eq!(
                    t.arrived,
                    sim.created()[id],
                    "stats must observe the whole run of {}",
                    task.name
                );
                debug_assert_eq!(
                    t.arrived,
                    t.completed + t.failed + t.lost + unfinished,
                    "every instance of {} is completed, failed, lost or unfinished",
                    task.name
                );
                TaskReport {
                    name: task.name.clone(),
                    arrived: t.arrived,
                    completed: t.completed,
                    failed: t.failed,
                    unfinished,
                    lost: t.lost,
                    latency: latency(t),
                }
            })
            .collect();

        let pools = s
            .pools
            .iter()
            .zip(&stats.pools)
            .map(|(pool, p)| {
                let total = p.total();
                debug_assert_eq!(
                    total,
                    u128::from(pool.workers) * u128::from(end_time),
                    "stats must observe the whole run of pool {}",
                    pool.name
                );
                let share = |x: u128| {
                    if total == 0 {
                        0.0
                    } else {
                        x as f64 / total as f64
                    }
                };
                PoolReport {
                    name: pool.name.clone(),
                    workers: pool.workers,
                    busy: share(p.busy),
                    blocked: share(p.blocked),
                    idle: share(p.idle),
                    restarting: share(p.restarting),
                    percent: Percent::of(p.busy, p.blocked, p.idle, p.restarting),
                }
            })
            .collect();

        let listed = listed_queues(s);
        let queues = s
            .queues
            .iter()
            .zip(&stats.max_queue)
            .enumerate()
            .filter(|&(q, _)| listed[q])
            .map(|(q, (queue, &max_length))| QueueReport {
                name: queue.name.clone(),
                max_length,
                queued: sim.queue(q).len() as u64,
            })
            .collect();

        let deadlock = match outcome {
            Outcome::Deadlock(d) => Some(DeadlockReport::new(d)),
            _ => None,
        };

        Report {
            scenario: s.name.clone(),
            seed: s.seed,
            outcome: outcome.name(),
            end_time,
            events: sim.choices_made(),
            tasks,
            pools,
            queues,
            deadlock,
            memory: stats
                .memory
                .as_ref()
                .map(|m| MemoryReport::new(sim, m, &stats.tasks, &stats.pools)),
            restart_loop: match outcome {
                Outcome::RestartLoop { exits } => {
                    Some((*exits, crate::engine::run::restart_loop_limit(sim.model)))
                }
                _ => None,
            },
        }
    }
}

/// Which queues the report lists: all but the queue `default` when no task is ever put on it.
///
/// `default` exists in every scenario (`queues[0]`), declared or not, and a pool that names no
/// queues consumes it; a scenario whose tasks all go to queues of their own would otherwise list
/// it, always empty. A task type is put on its queue when it arrives, is spawned or is a `then`
/// callback; a type that is only ever called never is.
fn listed_queues(s: &crate::Scenario) -> Vec<bool> {
    let mut queued = vec![false; s.tasks.len()];
    for a in &s.arrivals {
        queued[a.task] = true;
    }
    for t in &s.tasks {
        for step in &t.steps {
            match *step {
                Step::Spawn { task, then, .. } => {
                    queued[task] = true;
                    if let Some(then) = then {
                        queued[then] = true;
                    }
                }
                Step::Work(_) | Step::Wait { .. } => {}
            }
        }
    }
    let mut listed = vec![true; s.queues.len()];
    if let Some(default) = listed.first_mut() {
        *default = s.tasks.iter().zip(&queued).any(|(t, &q)| q && t.queue == 0);
    }
    listed
}

fn latency(t: &stats::TaskStats) -> Option<Latency> {
    let h = t.latency.histogram();
    if h.is_empty() {
        return None;
    }
    // The histogram answers with the highest value of a bucket, a little above the truth (by
    // up to 0.1%); any value of the bucket is as true, so take the roundest one, then clamp into
    // the exact range: a fixed 4s reads 4s, not 4.002s.
    let at = |q: f64| {
        let v = h.value_at_quantile(q);
        roundest_between(h.lowest_equivalent(v), h.highest_equivalent(v))
            .clamp(t.min_latency, t.max_latency)
    };
    Some(Latency {
        p50: at(0.50),
        p95: at(0.95),
        p99: at(0.99),
        max: t.max_latency,
    })
}

/// The number in `lo..=hi` with the fewest significant decimal digits (the smallest such).
fn roundest_between(lo: u64, hi: u64) -> u64 {
    let mut scale: u64 = 1;
    while let Some(next) = scale.checked_mul(10).filter(|&n| n <= hi) {
        scale = next;
    }
    loop {
        // The first multiple of `scale` at or above `lo`.
        let m = lo.div_ceil(scale).checked_mul(scale);
        if let Some(m) = m.filter(|&m| m <= hi) {
            return m;
        }
        if scale == 1 {
            return lo;
        }
        scale /= 10;
    }
}

#[cfg(test)]
pub(crate) mod fixtures {
    //! Scenarios built by hand, so the report tests do not depend on the parser.

    use crate::explore::{Budget, MinWorkers, Reductions, Timing};
    use crate::report::ExplorationReport;
    use crate::scenario::Scenario;

    /// The first incident: two `main_task`s each spawn 10 `subtask`s of 4s and wait for them,
    /// on one pool of `workers` workers.
    pub fn fanout(workers: u32) -> Scenario {
        crate::engine::tests::fanout(workers, 2, 10)
    }

    /// `qsim explore` of the first incident with `workers` workers: a deadlock with 2, a proof
    /// with 3.
    pub fn fanout_exploration(workers: u32) -> ExplorationReport {
        let s = fanout(workers);
        let e = crate::explore::explore(
            &s,
            Timing::Any,
            Reductions::ALL,
            &Budget::default(),
            &mut |_| {},
        );
        ExplorationReport::new(&s, Timing::Any, Reductions::ALL, e)
    }

    /// `qsim explore --min-workers default` on the first incident: 3 workers are needed.
    pub fn fanout_min_workers() -> MinWorkers {
        crate::explore::min_workers(
            &fanout(2),
            0,
            16,
            crate::explore::min_workers::Search {
                timing: Timing::Any,
                reductions: Reductions::ALL,
                order: crate::explore::Order::DeadlockFirst,
            },
            &Budget::default(),
            &mut |_, _| {},
        )
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::fanout;
    use super::*;
    use crate::engine::{simulate, Limits, Model};
    use crate::scenario::{ArrivalPattern, Duration, OnTimeout, TICKS_PER_SECOND};

    fn report_of(scenario: crate::Scenario) -> Report {
        let model = Model::new(scenario);
        let mut stats = Stats::new(&model.scenario);
        let (outcome, sim) = simulate(&model, &mut stats, Limits::default());
        Report::new(&sim, &stats, &outcome)
    }

    fn conserved(r: &Report) {
        for t in &r.tasks {
            assert_eq!(
                t.arrived,
                t.completed + t.failed + t.unfinished,
                "{}",
                t.name
            );
        }
    }

    #[test]
    fn two_workers_deadlock_with_every_task_unfinished() {
        let r = report_of(fanout(2));
        assert_eq!(r.outcome, "deadlock");
        assert_eq!(r.end_time, 0);
        conserved(&r);
        let counts: Vec<_> = r
            .tasks
            .iter()
            .map(|t| (t.name.as_str(), t.arrived, t.completed, t.unfinished))
            .collect();
        assert_eq!(counts, [("main_task", 2, 0, 2), ("subtask", 20, 0, 20)]);
        assert!(r.tasks.iter().all(|t| t.latency.is_none()));
        // No time passed: every share is zero rather than NaN, and none is shown.
        assert_eq!(
            (r.pools[0].busy, r.pools[0].blocked, r.pools[0].idle),
            (0.0, 0.0, 0.0)
        );
        assert_eq!(r.pools[0].percent, None);
        assert_eq!(r.queues[0].max_length, 20);
        assert_eq!(r.queues[0].queued, 20);
        let d = r.deadlock.expect("a deadlock report");
        let blocked: Vec<&str> = d.holders.iter().map(|h| h.task.as_str()).collect();
        assert_eq!(blocked, ["main_task#1", "main_task#2"]);
        assert_eq!(d.queued.len(), 20);
        assert!(text::explain(&d).starts_with("deadlock at 0s: 2 tasks hold a worker"));
        assert_eq!(d.cycle.first(), d.cycle.last());
    }

    #[test]
    fn four_workers_complete_with_exact_latencies_and_shares() {
        let r = report_of(fanout(4));
        assert_eq!(r.outcome, "completed");
        assert_eq!(r.end_time, 36 * TICKS_PER_SECOND);
        assert!(r.deadlock.is_none());
        conserved(&r);
        let main = &r.tasks[0];
        let sub = &r.tasks[1];
        assert_eq!((main.completed, sub.completed), (2, 20));
        // Two workers run main_task#1's children in 5 rounds of 4s (done at 20s); then three
        // run main_task#2's in 4 rounds (done at 36s).
        let s = TICKS_PER_SECOND;
        let main_latency = main.latency.map(|l| (l.p50, l.p99, l.max));
        assert_eq!(main_latency, Some((20 * s, 36 * s, 36 * s)));
        // Subtask latencies: 4 8 12 16 20 (two each), 24 28 32 (three each), 36.
        let l = sub.latency.expect("subtasks finished");
        assert_eq!(
            (l.p50, l.p95, l.p99, l.max),
            (20 * s, 32 * s, 36 * s, 36 * s)
        );
        // 144 worker-seconds: 80 running subtasks, 20 + 36 held by waiting parents, 8 idle.
        let p = &r.pools[0];
        assert!((p.busy + p.blocked + p.idle - 1.0).abs() < 1e-12);
        assert!((p.busy - 80.0 / 144.0).abs() < 1e-12, "{p:?}");
        assert!((p.blocked - 56.0 / 144.0).abs() < 1e-12, "{p:?}");
        assert!((p.idle - 8.0 / 144.0).abs() < 1e-12, "{p:?}");
        // Rounded one by one, 55.6%, 38.9% and 5.6% would show 56% + 39% + 6% = 101%.
        let shown = p.percent.expect("time passed");
        assert_eq!((shown.busy, shown.blocked, shown.idle), (56, 39, 5));
        assert_eq!(r.queues[0].max_length, 20);
        assert_eq!(r.queues[0].queued, 0);
    }

    #[test]
    fn failed_tasks_are_counted_and_shares_add_up() {
        // A 1s timeout on the wait with 2 workers: the parents fail at 1s, then the
        // subtasks run to the end.
        let mut s = fanout(2);
        s.tasks[0].steps[1] = Step::Wait {
            timeout: Some(Duration::Fixed(TICKS_PER_SECOND)),
            on_timeout: OnTimeout::Fail,
        };
        s.arrivals[0].pattern = ArrivalPattern::At(vec![0, 3 * TICKS_PER_SECOND]);
        let r = report_of(s);
        assert_eq!(r.outcome, "completed");
        conserved(&r);
        assert_eq!(r.tasks[0].failed, 2);
        assert_eq!(r.tasks[1].completed, 20);
        let p = &r.pools[0];
        assert!((p.busy + p.blocked + p.idle - 1.0).abs() < 1e-12, "{p:?}");
        assert!(p.blocked > 0.0 && p.busy > 0.0);
    }

    #[test]
    fn lists_the_default_queue_only_when_some_task_is_put_on_it() {
        let names =
            |r: &Report| -> Vec<String> { r.queues.iter().map(|q| q.name.clone()).collect() };
        assert_eq!(names(&report_of(fanout(4))), ["default"]);

        // Every task on a queue of its own, which the pool consumes after `default`; a third
        // type on `default` is only ever called (its steps inlined), so it is never queued.
        let mut s = fanout(4);
        s.queues.push(crate::scenario::Queue {
            name: "work".into(),
            discipline: crate::scenario::Discipline::Fifo,
            consumers: vec![0],
        });
        s.pools[0].queues.push(1);
        for t in &mut s.tasks {
            t.queue = 1;
        }
        let mut helper = s.tasks[1].clone();
        helper.name = "helper".into();
        helper.queue = 0;
        s.tasks.push(helper);
        let r = report_of(s.clone());
        assert_eq!(r.outcome, "completed");
        assert_eq!(names(&r), ["work"]);
        assert_eq!(r.queues[0].max_length, 20);

        // Once something spawns the helper, `default` is used and listed, first.
        s.tasks[1].steps.push(Step::Spawn {
            task: 2,
            count: 1,
            then: None,
        });
        assert_eq!(names(&report_of(s.clone())), ["default", "work"]);
        // A callback counts as put on its queue too.
        s.tasks[1].steps.pop();
        s.tasks[0].steps[0] = Step::Spawn {
            task: 1,
            count: 10,
            then: Some(2),
        };
        assert_eq!(names(&report_of(s)), ["default", "work"]);
    }

    #[test]
    fn event_limit_keeps_counts_conserved() {
        let model = Model::new(fanout(4));
        let mut stats = Stats::new(&model.scenario);
        let (outcome, sim) = simulate(
            &model,
            &mut stats,
            Limits {
                max_events: 7,
                ..Limits::default()
            },
        );
        let r = Report::new(&sim, &stats, &outcome);
        assert_eq!(r.outcome, "event_limit");
        assert_eq!(r.events, 7);
        conserved(&r);
    }

    /// Rounding each share on its own, as the text report used to.
    fn rounded_one_by_one(parts: [u128; 3]) -> u32 {
        let total: u128 = parts.iter().sum();
        parts
            .iter()
            .map(|&p| (p as f64 / total as f64 * 100.0).round() as u32)
            .sum()
    }

    #[test]
    fn whole_percentages_add_up_to_100_where_rounding_each_did_not() {
        // 80, 56 and 8 worker-seconds (the incident with 4 workers): 55.6%, 38.9%, 5.6%.
        assert_eq!(rounded_one_by_one([80, 56, 8]), 101);
        // Both busy and idle lose .56 of a point: the tie goes to busy, the first.
        assert_eq!(largest_remainder([80, 56, 8]), Some([56, 39, 5]));
        // Thirds: 33.3% each, one by one 99%; the missing point goes to the first.
        assert_eq!(rounded_one_by_one([1, 1, 1]), 99);
        assert_eq!(largest_remainder([1, 1, 1]), Some([34, 33, 33]));
        assert_eq!(largest_remainder([0, 0, 7]), Some([0, 0, 100]));
        assert_eq!(largest_remainder([0, 0, 0]), None);
        assert_eq!(
            Percent::of(1, 2, 997, 0),
            Some(Percent {
                busy: 0,
                blocked: 0,
                idle: 100,
                restarting: 0,
            })
        );
    }

    #[test]
    fn whole_percentages_always_add_up_to_100_and_stay_within_a_point() {
        let mut rng = crate::rng::SimRng::new(14);
        for _ in 0..10_000 {
            // Small parts make ties and exact halves common; large ones test the arithmetic.
            let scale = if rng.uniform() < 0.5 { 7.0 } else { 1e30 };
            let parts = [0; 3].map(|_| (rng.uniform() * scale) as u128);
            let total: u128 = parts.iter().sum();
            let Some(shown) = largest_remainder(parts) else {
                assert_eq!(total, 0);
                continue;
            };
            assert_eq!(
                shown.iter().map(|&p| u32::from(p)).sum::<u32>(),
                100,
                "{parts:?}"
            );
            for (&p, &w) in parts.iter().zip(&shown) {
                // 100 * p / total lies in [w - 1, w + 1), and exactly at w when it is whole.
                let exact = 100 * p;
                let w = u128::from(w);
                assert!(exact < (w + 1) * total, "{parts:?} -> {shown:?}");
                assert!(exact + total > w * total, "{parts:?} -> {shown:?}");
                if exact % total == 0 {
                    assert_eq!(exact / total, w, "{parts:?} -> {shown:?}");
                }
            }
        }
    }

    #[test]
    fn picks_the_roundest_value_of_a_bucket() {
        assert_eq!(
            roundest_between(3_999_000_000, 4_000_317_439),
            4_000_000_000
        );
        assert_eq!(roundest_between(1_234_000, 1_234_999), 1_234_000);
        assert_eq!(roundest_between(1_234_001, 1_234_999), 1_234_100);
        assert_eq!(roundest_between(7, 7), 7);
        assert_eq!(roundest_between(0, 0), 0);
        assert_eq!(roundest_between(u64::MAX - 5, u64::MAX), u64::MAX - 5);
    }
}
