//! What each worker did and when: the observer behind a report's Gantt chart.
//!
//! A [`Recorder`] watches a run and keeps, per worker, the intervals it spent working (a task
//! taken and running its steps), blocked (a task waiting for its children holds it) or idle,
//! with the task's name. Once the run is over, [`Recorder::finish`] gives the [`Timeline`], plain
//! data that [`svg`](super::svg) draws with one lane per worker.
//!
//! The clock is the simulated time ([`Clock::Time`]), or the engine's steps ([`Clock::Steps`])
//! for runs in which no time passes: under any timing every duration is zero, so a
//! counterexample happens at one instant and only the order of its steps can be drawn. Step
//! `k` (counted from 1) is drawn as the span `k-1..k`, in the state it left the workers in.
//!
//! Memory is bounded: at most `cap` intervals are kept ([`Recorder::CAP`] by default), the
//! latest ones, since the end of a run (where a deadlock forms) is what a reader looks for.
//! [`Timeline::dropped`] counts the earlier ones left out and [`Timeline::from`] says from which
//! instant the kept ones tell everything; a report says so.

use std::collections::VecDeque;

use crate::engine::{Deadlock, Event, InstanceId, Model, Observer, Simulation, WorkerId};

/// How a timeline measures where things happen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clock {
    /// Simulated time, in ticks.
    Time,
    /// The engine's steps (choices applied): step `k` spans `k-1..k`.
    Steps,
}

/// What a worker is doing during an interval.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Doing {
    /// Holding a task that runs its steps (just taken, or in a `work` step).
    Working,
    /// Holding a task that waits for its children.
    Blocked,
    /// Holding no task.
    Idle,
    /// Its process (or thread) exited and is not back yet.
    Restarting,
}

impl Doing {
    /// `working`, `blocked` or `idle`.
    pub fn name(self) -> &'static str {
        match self {
            Doing::Working => "working",
            Doing::Blocked => "blocked",
            Doing::Idle => "idle",
            Doing::Restarting => "restarting",
        }
    }
}

/// One span of one worker's lane.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interval {
    /// The worker, as an index into [`Timeline::workers`].
    pub worker: WorkerId,
    /// What it was doing.
    pub doing: Doing,
    /// The task it held (`type#serial`), if any.
    pub task: Option<String>,
    /// Where the span starts (ticks or steps, see [`Clock`]).
    pub start: u64,
    /// Where it ends; always after `start` (empty spans are not kept).
    pub end: u64,
}

/// The deadlock a timeline ends in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StuckWorkers {
    /// Where it formed (the end of the timeline).
    pub at: u64,
    /// The workers held by stuck tasks, which stay blocked for ever, each with the task that
    /// holds it.
    pub workers: Vec<(WorkerId, String)>,
}

/// Per worker, what it did and when; see the module docs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timeline {
    /// How positions are measured.
    pub clock: Clock,
    /// The workers' names (`pool/index`), in worker order: one lane each.
    pub workers: Vec<String>,
    /// The intervals kept, in the order they ended.
    pub intervals: Vec<Interval>,
    /// Earlier intervals left out to keep at most the cap.
    pub dropped: u64,
    /// The most intervals kept.
    pub cap: usize,
    /// From here on the kept intervals tell everything (0 when none was dropped).
    pub from: u64,
    /// Where the run ended.
    pub end: u64,
    /// The deadlock the run ended in, if it did.
    pub deadlock: Option<StuckWorkers>,
}

/// A worker's open interval.
#[derive(Clone, Debug)]
struct Open {
    doing: Doing,
    task: Option<InstanceId>,
    name: Option<String>,
    since: u64,
}

/// The observer that records a [`Timeline`]; see the module docs.
#[derive(Clone, Debug)]
pub struct Recorder {
    clock: Clock,
    cap: usize,
    workers: Vec<String>,
    open: Vec<Open>,
    closed: VecDeque<Interval>,
    dropped: u64,
    from: u64,
}

impl Recorder {
    /// The number of intervals kept unless told otherwise.
    pub const CAP: usize = 20_000;

    /// A recorder for a run of `model`, measuring with `clock`, keeping at most `cap`
    /// intervals (at least 1).
    pub fn new(model: &Model, clock: Clock, cap: usize) -> Recorder {
        let n = model.worker_count();
        Recorder {
            clock,
            cap: cap.max(1),
            workers: (0..n as WorkerId).map(|w| model.worker_name(w)).collect(),
            open: vec![
                Open {
                    doing: Doing::Idle,
                    task: None,
                    name: None,
                    since: 0,
                };
                n
            ],
            closed: VecDeque::new(),
            dropped: 0,
            from: 0,
        }
    }

    /// Where the current event happens.
    fn now(&self, sim: &Simulation<'_>) -> u64 {
        match self.clock {
            Clock::Time => sim.now(),
            // Events come during a step, after its count went up.
            Clock::Steps => sim.choices_made().saturating_sub(1),
        }
    }

    fn close(&mut self, worker: WorkerId, at: u64) {
        let open = &mut self.open[worker as usize];
        if at <= open.since {
            return;
        }
        let interval = Interval {
            worker,
            doing: open.doing,
            task: open.name.take(),
            start: open.since,
            end: at,
        };
        if self.closed.len() == self.cap {
            if let Some(old) = self.closed.pop_front() {
                self.dropped += 1;
                self.from = self.from.max(old.end);
            }
        }
        self.closed.push_back(interval);
    }

    fn change(
        &mut self,
        sim: &Simulation<'_>,
        worker: WorkerId,
        doing: Doing,
        task: Option<InstanceId>,
    ) {
        let w = worker as usize;
        if self.open[w].doing == doing && self.open[w].task == task {
            return;
        }
        let at = self.now(sim);
        self.close(worker, at);
        self.open[w] = Open {
            doing,
            task,
            name: task.map(|t| sim.task_name(t)),
            since: at,
        };
    }

    /// The timeline of the run `sim` is at the end of, which ended in `deadlock` if it did.
    pub fn finish(mut self, sim: &Simulation<'_>, deadlock: Option<&Deadlock>) -> Timeline {
        let end = match self.clock {
            Clock::Time => sim.now(),
            Clock::Steps => sim.choices_made(),
        };
        for w in 0..self.open.len() {
            self.close(w as WorkerId, end);
        }
        let deadlock = deadlock.map(|d| StuckWorkers {
            at: end,
            workers: d
                .holders
                .iter()
                .filter_map(|h| {
                    let w = self.workers.iter().position(|n| *n == h.worker)?;
                    Some((w as WorkerId, h.task.clone()))
                })
                .collect(),
        });
        let mut intervals: Vec<Interval> = self.closed.into();
        // Closed at the same instant, lanes in worker order.
        intervals.sort_by_key(|i| (i.end, i.worker));
        Timeline {
            clock: self.clock,
            workers: self.workers,
            intervals,
            dropped: self.dropped,
            cap: self.cap,
            from: self.from,
            end,
            deadlock,
        }
    }
}

impl Observer for Recorder {
    fn event(&mut self, sim: &Simulation<'_>, event: &Event) {
        match *event {
            Event::Taken { task, worker } | Event::Resumed { task, worker } => {
                self.change(sim, worker, Doing::Working, Some(task))
            }
            Event::Blocked { task, worker } => self.change(sim, worker, Doing::Blocked, Some(task)),
            Event::Finished { task, .. } => {
                if let Some(w) = self.open.iter().position(|o| o.task == Some(task)) {
                    self.change(sim, w as WorkerId, Doing::Idle, None);
                }
            }
            Event::Exited { process, .. } => {
                for w in sim.model.workers_of_process(process) {
                    self.change(sim, w, Doing::Restarting, None);
                }
            }
            Event::Recycled { worker } => self.change(sim, worker, Doing::Restarting, None),
            Event::Restarted {
                first_worker,
                workers,
                ..
            } => {
                for w in first_worker..first_worker + workers {
                    self.change(sim, w, Doing::Idle, None);
                }
            }
            Event::Arrived { .. }
            | Event::Spawned { .. }
            | Event::CallbackQueued { .. }
            | Event::WorkStarted { .. }
            | Event::TimedOut { .. }
            | Event::Memory { .. }
            | Event::Lost { .. }
            | Event::Requeued { .. } => {}
        }
    }
}

/// Records a run on both clocks and keeps the one that shows it: simulated time when time
/// passed, else the steps (a deadlock at 0s, a run under any timing).
#[derive(Clone, Debug)]
pub struct TimeOrSteps {
    time: Recorder,
    steps: Recorder,
}

impl TimeOrSteps {
    /// Recorders for a run of `model`, each keeping at most `cap` intervals.
    pub fn new(model: &Model, cap: usize) -> TimeOrSteps {
        TimeOrSteps {
            time: Recorder::new(model, Clock::Time, cap),
            steps: Recorder::new(model, Clock::Steps, cap),
        }
    }

    /// The timeline on simulated time if time passed, else on steps; see [`Recorder::finish`].
    pub fn finish(self, sim: &Simulation<'_>, deadlock: Option<&Deadlock>) -> Timeline {
        if sim.now() > 0 {
            self.time.finish(sim, deadlock)
        } else {
            self.steps.finish(sim, deadlock)
        }
    }
}

impl Observer for TimeOrSteps {
    fn event(&mut self, sim: &Simulation<'_>, event: &Event) {
        self.time.event(sim, event);
        self.steps.event(sim, event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Limits, Outcome};
    use crate::report::fixtures::fanout;
    use crate::scenario::TICKS_PER_SECOND;

    fn record(workers: u32, clock: Clock, cap: usize) -> Timeline {
        let model = Model::new(fanout(workers));
        let mut rec = Recorder::new(&model, clock, cap);
        let mut sim = Simulation::new(&model);
        let outcome = crate::engine::run(
            &mut sim,
            &mut crate::engine::Canonical,
            &mut rec,
            Limits::default(),
        );
        let deadlock = match &outcome {
            Outcome::Deadlock(d) => Some(d),
            _ => None,
        };
        rec.finish(&sim, deadlock)
    }

    /// The time each worker spent in each state.
    fn totals(t: &Timeline) -> Vec<[u64; 3]> {
        let mut out = vec![[0u64; 3]; t.workers.len()];
        for i in &t.intervals {
            let k = match i.doing {
                Doing::Working => 0,
                Doing::Blocked => 1,
                Doing::Idle | Doing::Restarting => 2,
            };
            out[i.worker as usize][k] += i.end - i.start;
        }
        out
    }

    #[test]
    fn lanes_cover_the_run_and_agree_with_the_statistics() {
        // 4 workers: two hold the parents (blocked 20s and 36s), two run 80s of subtasks.
        let t = record(4, Clock::Time, Recorder::CAP);
        let s = TICKS_PER_SECOND;
        assert_eq!(t.end, 36 * s);
        assert_eq!(
            t.workers,
            ["default/1", "default/2", "default/3", "default/4"]
        );
        assert!(t.deadlock.is_none());
        for lane in totals(&t) {
            assert_eq!(lane.iter().sum::<u64>(), 36 * s, "{lane:?}");
        }
        let all: [u64; 3] = totals(&t)
            .iter()
            .fold([0; 3], |a, l| [a[0] + l[0], a[1] + l[1], a[2] + l[2]]);
        // As the report of the same run counts them: 80 busy, 56 blocked, 8 idle.
        assert_eq!(all, [80 * s, 56 * s, 8 * s]);
        let first = t.intervals.iter().find(|i| i.worker == 0).unwrap();
        assert_eq!(
            (first.doing, first.task.as_deref()),
            (Doing::Blocked, Some("main_task#1"))
        );
        assert!(t.intervals.iter().all(|i| i.end > i.start));
    }

    #[test]
    fn a_deadlock_at_0s_is_drawn_over_steps() {
        let t = record(2, Clock::Time, Recorder::CAP);
        assert_eq!(t.end, 0);
        assert!(t.intervals.is_empty(), "no time passed");
        assert_eq!(
            t.deadlock.as_ref().map(|d| d.workers.clone()),
            Some(vec![(0, "main_task#1".into()), (1, "main_task#2".into())])
        );

        let t = record(2, Clock::Steps, Recorder::CAP);
        assert_eq!(t.end, 6);
        let lane0: Vec<(Doing, Option<&str>, u64, u64)> = t
            .intervals
            .iter()
            .filter(|i| i.worker == 0)
            .map(|i| (i.doing, i.task.as_deref(), i.start, i.end))
            .collect();
        // Arrivals (steps 1-2), taken at step 3 (from 2), blocked at step 5 (from 4).
        assert_eq!(
            lane0,
            [
                (Doing::Idle, None, 0, 2),
                (Doing::Working, Some("main_task#1"), 2, 4),
                (Doing::Blocked, Some("main_task#1"), 4, 6)
            ]
        );
    }

    #[test]
    fn the_cap_keeps_the_latest_intervals_and_says_from_when() {
        let full = record(4, Clock::Time, Recorder::CAP);
        let capped = record(4, Clock::Time, 5);
        assert_eq!(capped.intervals.len(), 5);
        assert_eq!(capped.dropped as usize, full.intervals.len() - 5);
        assert_eq!(
            capped.intervals[..],
            full.intervals[full.intervals.len() - 5..]
        );
        let dropped_end = full.intervals[full.intervals.len() - 6].end;
        assert_eq!(capped.from, dropped_end);
    }
}
