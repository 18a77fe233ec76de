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
pub mod markdown;
pub mod page;
pub mod stats;
pub mod story;
pub mod svg;
pub mod text;
pub mod timeline;
pub mod trace;

use crate::engine::{Outcome, Simulation, Status};
use crate::scenario::Tick;

pub use deadlock::DeadlockReport;
pub use exploration::ExplorationReport;
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
}

/// What happened to the instances of one task type.
///
/// Every instance created is counted once in `completed`, `failed` or `unfinished`:
/// `arrived == completed + failed + unfinished`.
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
/// The three shares add up to 1, or are all 0 when no time elapsed.
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
                    u64::from(sim.created()[id]),
                    "stats must observe the whole run of {}",
                    task.name
                );
                debug_assert_eq!(
                    t.arrived,
                    t.completed + t.failed + unfinished,
                    "every instance of {} is completed, failed or unfinished",
                    task.name
                );
                TaskReport {
                    name: task.name.clone(),
                    arrived: t.arrived,
                    completed: t.completed,
                    failed: t.failed,
                    unfinished,
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
                }
            })
            .collect();

        let queues = s
            .queues
            .iter()
            .zip(&stats.max_queue)
            .enumerate()
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
        }
    }
}

fn latency(t: &stats::TaskStats) -> Option<Latency> {
    let h = &t.latency;
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
    use crate::scenario::{ArrivalPattern, Duration, OnTimeout, Step, TICKS_PER_SECOND};

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
        // No time passed: every share is zero rather than NaN.
        assert_eq!(
            (r.pools[0].busy, r.pools[0].blocked, r.pools[0].idle),
            (0.0, 0.0, 0.0)
        );
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
