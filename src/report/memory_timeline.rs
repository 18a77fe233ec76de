//! Resident memory of each process over a run: the observer behind a report's memory figure.
//!
//! A [`Recorder`] watches a run and keeps, per process (a thread pool's one process, or each
//! worker of a process pool), every change of its resident memory: a task taken or ended, an
//! exit (the line drops to 0 while the process is down) and a restart (back to the pool's base
//! memory). Once the run is over, [`Recorder::finish`] gives the [`MemoryTimeline`], plain data
//! that [`svg`](super::svg) draws as one step line per process, with the pools' `max_memory`
//! and the host's memory as dashed lines: the sawtooth of growth and restarts.
//!
//! The clock is the one the workers' timeline uses ([`Clock`]): simulated time, or the engine's
//! steps when no time passed (a change made by step `k` is drawn from `k-1`).
//!
//! Memory is bounded: at most `cap` changes are kept ([`Recorder::CAP`] by default), the latest.
//! [`MemoryTimeline::dropped`] counts the earlier ones left out; each process's line then starts
//! at [`MemoryTimeline::from`] with the value it had there ([`ProcessLine::start`]), so the lines
//! are exact from that instant on.

use std::collections::VecDeque;

use crate::engine::{Event, Exit, Model, Observer, ProcessId, Simulation};
use crate::scenario::{format_size, ticks_to_secs};

use super::csv::field as csv_field;
use super::timeline::Clock;

/// One process's line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessLine {
    /// Its name: the pool's for a thread pool (`default`), the worker's for a process pool
    /// (`default/2`).
    pub name: String,
    /// Its pool's name.
    pub pool: String,
    /// Its resident memory at [`MemoryTimeline::from`], in bytes (the pool's base memory when
    /// nothing was dropped).
    pub start: u64,
}

/// A process that exited (or was killed) at a [`Sample`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exited {
    /// Why.
    pub cause: Exit,
    /// Its resident memory when it went, in bytes.
    pub rss: u64,
    /// Tasks it had run to their end since it started.
    pub tasks: u32,
}

/// One change of one process's resident memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sample {
    /// The process, as an index into [`MemoryTimeline::processes`].
    pub process: ProcessId,
    /// Where (ticks or steps, see [`Clock`]).
    pub at: u64,
    /// Its resident memory from here on, in bytes (0 while it is down).
    pub rss: u64,
    /// Set when the change is the process exiting: the line drops to 0 until it restarts.
    pub exited: Option<Exited>,
}

/// A threshold drawn across the figure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Threshold {
    /// What it is: `max_memory of default`, `host memory`.
    pub label: String,
    /// In bytes.
    pub bytes: u64,
    /// Whether it is the host's memory (a limit on all processes together), not a pool's
    /// `max_memory` (a limit on each of its processes).
    pub host: bool,
}

/// Per process, its resident memory over the run; see the module docs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemoryTimeline {
    /// How positions are measured.
    pub clock: Clock,
    /// The processes, in process order: one line each.
    pub processes: Vec<ProcessLine>,
    /// The changes kept, in the order they happened.
    pub samples: Vec<Sample>,
    /// The pools' `max_memory` (in pool order) and the host's memory, where set.
    pub thresholds: Vec<Threshold>,
    /// Earlier changes left out to keep at most the cap.
    pub dropped: u64,
    /// The most changes kept.
    pub cap: usize,
    /// Where the lines start: 0, or the last change left out.
    pub from: u64,
    /// Where the run ended.
    pub end: u64,
}

impl MemoryTimeline {
    /// The largest resident memory of any process, in bytes, over what is kept.
    pub fn peak(&self) -> u64 {
        let starts = self.processes.iter().map(|p| p.start);
        let samples = self
            .samples
            .iter()
            .map(|s| s.exited.map_or(s.rss, |e| e.rss));
        starts.chain(samples).max().unwrap_or(0)
    }

    /// Every change as CSV with a header row: each process's value at the start, then each
    /// change (`memory`, or the exit and its cause), with its instant.
    pub fn csv(&self) -> String {
        let at = match self.clock {
            Clock::Time => "at_s",
            Clock::Steps => "at_step",
        };
        let position = |x: u64| match self.clock {
            Clock::Time => format!("{}", ticks_to_secs(x)),
            Clock::Steps => x.to_string(),
        };
        let mut out = format!("process,{at},rss_bytes,rss,event\n");
        let mut line = |process: &str, x: u64, rss: u64, event: &str| {
            out.push_str(&format!(
                "{},{},{rss},{},{}\n",
                csv_field(process),
                position(x),
                format_size(rss),
                csv_field(event)
            ));
        };
        for p in &self.processes {
            line(&p.name, self.from, p.start, "start");
        }
        for s in &self.samples {
            let name = &self.processes[s.process as usize].name;
            match s.exited {
                Some(e) => {
                    line(name, s.at, e.rss, &format!("exited ({})", e.cause.name()));
                    line(name, s.at, 0, "down");
                }
                None => line(name, s.at, s.rss, "memory"),
            }
        }
        out
    }
}

/// A change as recorded, on both clocks.
#[derive(Clone, Copy, Debug)]
struct Raw {
    process: ProcessId,
    time: u64,
    step: u64,
    rss: u64,
    exited: Option<Exited>,
}

/// The observer that records a [`MemoryTimeline`]; see the module docs.
#[derive(Clone, Debug)]
pub struct Recorder {
    cap: usize,
    processes: Vec<ProcessLine>,
    /// Each process's resident memory now.
    current: Vec<u64>,
    kept: VecDeque<Raw>,
    dropped: u64,
    from_time: u64,
    from_step: u64,
    thresholds: Vec<Threshold>,
}

impl Recorder {
    /// The number of changes kept unless told otherwise.
    pub const CAP: usize = 20_000;

    /// A recorder for a run of `model`, keeping at most `cap` changes (at least 1). Every
    /// process starts at its pool's base memory, as a simulation does.
    pub fn new(model: &Model, cap: usize) -> Recorder {
        let s = &model.scenario;
        let processes: Vec<ProcessLine> = (0..model.process_count() as ProcessId)
            .map(|p| {
                let pool = &s.pools[model.pool_of_process(p)];
                ProcessLine {
                    name: model.process_name(p),
                    pool: pool.name.clone(),
                    start: pool.base_memory,
                }
            })
            .collect();
        let mut thresholds: Vec<Threshold> = s
            .pools
            .iter()
            .filter_map(|p| {
                Some(Threshold {
                    label: format!("max_memory of {}", p.name),
                    bytes: p.max_memory?,
                    host: false,
                })
            })
            .collect();
        if let Some(bytes) = s.host.memory {
            thresholds.push(Threshold {
                label: "host memory".into(),
                bytes,
                host: true,
            });
        }
        Recorder {
            cap: cap.max(1),
            current: processes.iter().map(|p| p.start).collect(),
            processes,
            kept: VecDeque::new(),
            dropped: 0,
            from_time: 0,
            from_step: 0,
            thresholds,
        }
    }

    fn push(&mut self, sim: &Simulation<'_>, process: ProcessId, rss: u64, exited: Option<Exited>) {
        if exited.is_none() && self.current[process as usize] == rss {
            return;
        }
        self.current[process as usize] = rss;
        if self.kept.len() == self.cap {
            if let Some(old) = self.kept.pop_front() {
                // The line of its process starts there, at its value, from now on.
                self.dropped += 1;
                self.processes[old.process as usize].start = old.rss;
                self.from_time = self.from_time.max(old.time);
                self.from_step = self.from_step.max(old.step);
            }
        }
        self.kept.push_back(Raw {
            process,
            time: sim.now(),
            // Events come during a step, after its count went up (as in the workers' timeline).
            step: sim.choices_made().saturating_sub(1),
            rss,
            exited,
        });
    }

    /// The memory timeline of the run `sim` is at the end of: on simulated time if time passed,
    /// else on steps.
    pub fn finish(self, sim: &Simulation<'_>) -> MemoryTimeline {
        let clock = if sim.now() > 0 {
            Clock::Time
        } else {
            Clock::Steps
        };
        let (from, end) = match clock {
            Clock::Time => (self.from_time, sim.now()),
            Clock::Steps => (self.from_step, sim.choices_made()),
        };
        MemoryTimeline {
            clock,
            processes: self.processes,
            samples: self
                .kept
                .into_iter()
                .map(|r| Sample {
                    process: r.process,
                    at: match clock {
                        Clock::Time => r.time,
                        Clock::Steps => r.step,
                    },
                    rss: r.rss,
                    exited: r.exited,
                })
                .collect(),
            thresholds: self.thresholds,
            dropped: self.dropped,
            cap: self.cap,
            from,
            end,
        }
    }
}

impl Observer for Recorder {
    fn event(&mut self, sim: &Simulation<'_>, event: &Event) {
        match *event {
            Event::Memory { process, rss } => self.push(sim, process, rss, None),
            Event::Exited {
                process,
                cause,
                rss,
                tasks,
            } => {
                // What it held when it went, should an event not have said so yet.
                self.push(sim, process, rss, None);
                self.push(sim, process, 0, Some(Exited { cause, rss, tasks }));
            }
            Event::Arrived { .. }
            | Event::Spawned { .. }
            | Event::CallbackQueued { .. }
            | Event::Taken { .. }
            | Event::WorkStarted { .. }
            | Event::Blocked { .. }
            | Event::Resumed { .. }
            | Event::TimedOut { .. }
            | Event::Finished { .. }
            | Event::Recycled { .. }
            | Event::Restarted { .. }
            | Event::Lost { .. }
            | Event::Requeued { .. } => {}
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::engine::Limits;
    use crate::scenario::{
        Arrival, ArrivalPattern, Duration, PoolKind, Scenario, Step, Tick, TICKS_PER_SECOND,
    };

    const S: Tick = TICKS_PER_SECOND;
    const MB: u64 = 1_000_000;

    /// `scenarios/memory_leak_threshold.toml`, by hand: one process of 200MB, exiting above
    /// 1GB and back 5s later; ten copies (400MB while they run, 300MB kept) every 30s, of 20s.
    pub(crate) fn leak_threshold() -> Scenario {
        let mut s = crate::report::fixtures::fanout(1);
        s.name = "memory_leak_threshold".into();
        let pool = &mut s.pools[0];
        pool.kind = PoolKind::Process;
        pool.base_memory = 200 * MB;
        pool.max_memory = Some(1_000 * MB);
        pool.restart = Duration::Fixed(5 * S);
        s.tasks.truncate(1);
        let copy = &mut s.tasks[0];
        copy.name = "copy_workspace".into();
        copy.steps = vec![Step::Work(Duration::Fixed(20 * S))];
        copy.memory = 400 * MB;
        copy.retain = 300 * MB;
        copy.collectable = 270 * MB;
        s.arrivals = vec![Arrival {
            task: 0,
            pattern: ArrivalPattern::Stream {
                start: 0,
                gap: Duration::Fixed(30 * S),
                first_after_gap: false,
                count: Some(10),
            },
        }];
        s
    }

    pub(crate) fn record(s: Scenario, cap: usize) -> MemoryTimeline {
        let model = Model::new(s);
        let mut rec = Recorder::new(&model, cap);
        let (_, sim) = crate::engine::simulate(&model, &mut rec, Limits::default());
        rec.finish(&sim)
    }

    /// The samples as (process, seconds, MB, exit cause).
    fn points(m: &MemoryTimeline) -> Vec<(ProcessId, u64, u64, Option<&'static str>)> {
        m.samples
            .iter()
            .map(|s| {
                (
                    s.process,
                    s.at / S,
                    s.rss / MB,
                    s.exited.map(|e| e.cause.name()),
                )
            })
            .collect()
    }

    #[test]
    fn the_sawtooth_of_a_leak_with_a_threshold() {
        let m = record(leak_threshold(), Recorder::CAP);
        assert_eq!(m.clock, Clock::Time);
        assert_eq!(m.end, 290 * S);
        assert_eq!(
            m.processes,
            [ProcessLine {
                name: "default/1".into(),
                pool: "default".into(),
                start: 200 * MB,
            }]
        );
        assert_eq!(
            m.thresholds,
            [Threshold {
                label: "max_memory of default".into(),
                bytes: 1_000 * MB,
                host: false,
            }]
        );
        let p = points(&m);
        // 200MB, 600MB while the first copy runs, 500MB after it, ... above 1GB after the
        // third: exit, down for 5s, back at 200MB.
        assert_eq!(
            p[..10],
            [
                (0, 0, 600, None),
                (0, 20, 500, None),
                (0, 30, 900, None),
                (0, 50, 800, None),
                (0, 60, 1_200, None),
                (0, 80, 1_100, None),
                (0, 80, 0, Some("max_memory")),
                (0, 85, 200, None),
                (0, 90, 600, None),
                (0, 110, 500, None),
            ]
        );
        let exits: Vec<_> = m.samples.iter().filter_map(|s| s.exited).collect();
        assert_eq!(exits.len(), 3, "3 restarts over 10 tasks");
        assert_eq!(
            exits[0],
            Exited {
                cause: Exit::MaxMemory,
                rss: 1_100 * MB,
                tasks: 3
            }
        );
        assert_eq!(m.peak(), 1_200 * MB);
        assert_eq!(m.dropped, 0);
        assert!(m
            .csv()
            .starts_with("process,at_s,rss_bytes,rss,event\ndefault/1,0,200000000,200MB,start\n"));
        assert!(m.csv().contains(
            "default/1,80,1100000000,1.1GB,exited (max_memory)\ndefault/1,80,0,0B,down\n"
        ));
    }

    #[test]
    fn the_cap_keeps_the_latest_changes_and_where_each_line_starts() {
        let full = record(leak_threshold(), Recorder::CAP);
        let capped = record(leak_threshold(), 4);
        assert_eq!(capped.samples.len(), 4);
        let n = full.samples.len();
        assert_eq!(capped.dropped as usize, n - 4);
        assert_eq!(capped.samples[..], full.samples[n - 4..]);
        let last_dropped = full.samples[n - 5];
        assert_eq!(capped.from, last_dropped.at);
        assert_eq!(capped.processes[0].start, last_dropped.rss);
    }
}
