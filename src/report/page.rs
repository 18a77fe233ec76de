//! A report page as data: what `--report FILE` shows, before it is HTML or Markdown.
//!
//! Each command's answer becomes a [`Page`] here — [`run`] (and [`run_with_memory`]),
//! [`exploration`], [`monte_carlo`], [`min_workers`], [`sweep`](fn@sweep), [`plan`] — made of
//! [`Section`]s of [`Block`]s: the answer as the command prints it, figures ([`Figure`]: curves
//! with confidence bands, heat maps, the workers' timeline, the wait-for graph, the processes'
//! memory), tables of numbers, a counterexample's steps each linked to the tasks it moved, and
//! every task with the steps that moved it. Every page ends with what reproduces it: the exact
//! command and the scenario file. The renderers, [`html::render`](super::html::render) and
//! [`markdown::render`](super::markdown::render), put the same page in their format, so both
//! say the same thing.
//!
//! ```
//! use std::path::Path;
//! use qsim::engine::{simulate, Limits, Model, Outcome};
//! use qsim::report::timeline::{Recorder, TimeOrSteps};
//! use qsim::report::{html, page, Report, Stats};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let file = "scenarios/fanout.toml";
//! let model = Model::new(qsim::scenario::load(Path::new(file), &[])?);
//! let mut stats = Stats::new(&model.scenario);
//! let mut timeline = TimeOrSteps::new(&model, Recorder::CAP);
//! let (outcome, sim) = simulate(&model, &mut (&mut stats, &mut timeline), Limits::default());
//! let deadlock = match &outcome {
//!     Outcome::Deadlock(d) => Some(d),
//!     _ => None,
//! };
//! let report = Report::new(&sim, &stats, &outcome);
//! let origin = page::Origin {
//!     command: format!("qsim run {file}"),
//!     path: file.into(),
//!     text: std::fs::read_to_string(file)?,
//! };
//! let page = page::run(origin, &report, timeline.finish(&sim, deadlock), deadlock);
//! let html = html::render(&page);
//! assert!(html.contains("<title>qsim: fanout: deadlock at 0s</title>"));
//! # Ok(())
//! # }
//! ```
//!
//! A page is built from the library's values only; the pieces a run leaves behind that no
//! value keeps (a counterexample's timeline, the example run of a Monte Carlo study) are
//! recomputed here by replaying them, deterministically.

use std::collections::BTreeMap;

use crate::engine::{self, Deadlock, Limits, Model, Outcome, RandomTies, Simulation};
use crate::explore::random::MonteCarlo;
use crate::explore::replay::Replay;
use crate::explore::{model_for, MinWorkers, Verdict};
use crate::plan::{Measure, Plan};
use crate::rng::{derive_seed, SimRng};
use crate::scenario::{format_size, format_ticks, Scenario, Ties, TICKS_PER_SECOND};
use crate::sweep::{self, PointResult, Sweep};

use super::figure::{Cell, Curves, Drawing, Figure, HeatMap, Point, Scale, Series, WaitFor};
use super::memory_timeline::MemoryTimeline;
use super::story::{Happening, Story};
use super::timeline::{Recorder, TimeOrSteps, Timeline};
use super::{text, DeadlockReport, ExplorationReport, MemoryReport, Report};

/// The most lines of a command's printed answer a page shows (a sweep of 100,000 points
/// prints as many lines).
pub const MOST_LINES: usize = 2_000;

/// The most heat maps of one quantity a sweep page draws (one per setting of the paths
/// after the first two).
pub const MOST_SLICES: usize = 8;

/// A report page; see the module docs.
#[derive(Clone, Debug, PartialEq)]
pub struct Page {
    /// The headline: `fanout: deadlock at 0s`.
    pub title: String,
    /// What made it: how to reproduce it.
    pub origin: Origin,
    /// The sections, in order.
    pub sections: Vec<Section>,
}

/// What a page was made from: the command and the scenario file it read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// The exact command line that wrote the report.
    pub command: String,
    /// The scenario file as the command named it.
    pub path: String,
    /// The scenario file's text (the command's `--set` overrides apply on top of it).
    pub text: String,
}

/// One section of a page.
#[derive(Clone, Debug, PartialEq)]
pub struct Section {
    /// A name unique within the page, for links (`summary`, `timeline`).
    pub id: String,
    /// The heading.
    pub heading: String,
    /// What it holds, in order.
    pub blocks: Vec<Block>,
}

/// A piece of a section.
#[derive(Clone, Debug, PartialEq)]
pub enum Block {
    /// A paragraph.
    Text(String),
    /// Lines kept as they are, in a fixed-width font (what a command prints).
    Lines(Vec<String>),
    /// A remark that must not be missed: a cap, an estimate.
    Note(String),
    /// A figure (boxed: a figure holds far more than the other blocks).
    Figure(Box<Figure>),
    /// A schedule's steps, each naming the tasks it moved.
    Steps(Vec<StepLine>),
    /// Tasks, each with the steps that moved it and what became of it.
    Tasks(Vec<TaskLine>),
    /// A table of numbers: a header row and rows of as many cells.
    Table(Table),
}

/// A small table of numbers (the memory report's, per pool and per task type).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    /// The columns' names.
    pub head: Vec<String>,
    /// The rows, each with a cell per column.
    pub rows: Vec<Vec<String>>,
}

/// One step of a counterexample.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepLine {
    /// Its number, from 1.
    pub number: usize,
    /// The choice, as the schedule labels it (`take default/1`).
    pub choice: String,
    /// What happened, in words.
    pub sentence: String,
    /// The tasks it moved, each once.
    pub tasks: Vec<String>,
}

/// One task of a report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskLine {
    /// Its name, `type#serial`.
    pub task: String,
    /// The steps that moved it, by number.
    pub steps: Vec<usize>,
    /// What became of it, in words.
    pub fate: String,
}

fn figure(f: Figure) -> Block {
    Block::Figure(Box::new(f))
}

fn section(id: &str, heading: &str, blocks: Vec<Block>) -> Section {
    Section {
        id: id.into(),
        heading: heading.into(),
        blocks,
    }
}

/// The printed answer as lines, at most [`MOST_LINES`], saying so when cut.
fn printed(text: &str, command: &str) -> Vec<Block> {
    let lines: Vec<String> = text.lines().map(String::from).collect();
    let mut blocks = Vec::new();
    if lines.len() > MOST_LINES {
        blocks.push(Block::Lines(lines[..MOST_LINES].to_vec()));
        blocks.push(Block::Note(format!(
            "{} more lines are left out; `{command}` prints them all, and its --format json \
             carries every number",
            lines.len() - MOST_LINES
        )));
    } else {
        blocks.push(Block::Lines(lines));
    }
    blocks
}

/// The timeline's figure, with a note when it was capped.
fn timeline_blocks(timeline: Timeline, what: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let clock = match timeline.clock {
        super::timeline::Clock::Time => "against simulated time",
        super::timeline::Clock::Steps => {
            "against the steps of the run (no time passed: every change happened at one instant)"
        }
    };
    if timeline.dropped > 0 {
        blocks.push(Block::Note(format!(
            "The timeline keeps the last {} spans ({} earlier ones are left out); it is complete \
             from {} on. The trace (--trace) of `qsim run` has every event.",
            super::svg::thousands(timeline.intervals.len() as u64),
            super::svg::thousands(timeline.dropped),
            match timeline.clock {
                super::timeline::Clock::Time => format_ticks(timeline.from),
                super::timeline::Clock::Steps => format!("step {}", timeline.from),
            }
        )));
    }
    let stuck = if timeline.deadlock.is_some() {
        " The dashed line marks the deadlock; the hatched lanes after it are the workers held \
         for ever."
    } else {
        ""
    };
    let restarting = if timeline
        .intervals
        .iter()
        .any(|i| i.doing == super::timeline::Doing::Restarting)
    {
        ", restarting after its process exited or its thread was recycled (amber)"
    } else {
        ""
    };
    blocks.push(figure(Figure {
        id: "timeline".into(),
        title: format!("What each worker did, {what}"),
        caption: format!(
            "One lane per worker, {clock}: working (blue), blocked in a wait holding its task \
             (red), idle (grey){restarting}.{stuck} Hover a span for the worker, the task and \
             when."
        ),
        drawing: Drawing::Timeline(timeline),
    }));
    blocks
}

/// The deadlock's explanation, its wait-for graph, and every stuck task.
fn deadlock_section(deadlock: &Deadlock, story: Option<&Story>) -> Section {
    let report = DeadlockReport::new(deadlock);
    let explanation: Vec<String> = text::explain(&report).lines().map(String::from).collect();
    let mut blocks = vec![
        Block::Lines(explanation),
        figure(Figure {
            id: "wait-for".into(),
            title: "The wait-for graph".into(),
            caption: "Who keeps whom from moving on: a pool's workers are all held, a worker \
                      holds a waiting task, a task waits for its children, a child is queued in \
                      a queue that only that pool consumes. The bold edges are one cycle. A task \
                      links to its entry below."
                .into(),
            drawing: Drawing::WaitFor(WaitFor::of(deadlock)),
        }),
    ];
    if story.is_none() {
        blocks.push(Block::Tasks(stuck_tasks(deadlock, &BTreeMap::new())));
    }
    section("deadlock", "The deadlock", blocks)
}

/// What became of each stuck task.
fn fates(deadlock: &Deadlock) -> BTreeMap<String, String> {
    let mut fates = BTreeMap::new();
    for h in &deadlock.holders {
        fates.insert(
            h.task.clone(),
            format!(
                "stuck: holds worker {} since {}, waiting for {} children ({} stuck)",
                h.worker,
                format_ticks(h.since),
                h.outstanding,
                h.stuck_children.len()
            ),
        );
    }
    for q in &deadlock.queued {
        fates.insert(
            q.task.clone(),
            format!(
                "stuck in queue {}{}",
                q.queue,
                q.parent
                    .as_ref()
                    .map(|p| format!(", its parent {p} waits for it"))
                    .unwrap_or_default()
            ),
        );
    }
    fates
}

/// The stuck tasks of `deadlock` as task lines, with the steps of `steps` that moved them.
fn stuck_tasks(deadlock: &Deadlock, steps: &BTreeMap<String, Vec<usize>>) -> Vec<TaskLine> {
    let fates = fates(deadlock);
    deadlock
        .holders
        .iter()
        .map(|h| &h.task)
        .chain(deadlock.queued.iter().map(|q| &q.task))
        .map(|t| TaskLine {
            task: t.clone(),
            steps: steps.get(t).cloned().unwrap_or_default(),
            fate: fates[t].clone(),
        })
        .collect()
}

/// The steps of a story, and every task it names with the steps that moved it and what
/// became of it.
fn story_blocks(story: &Story, deadlock: Option<&Deadlock>) -> (Vec<StepLine>, Vec<TaskLine>) {
    let mut order: Vec<String> = Vec::new();
    let mut moved: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut last: BTreeMap<String, String> = BTreeMap::new();
    let steps = story
        .steps
        .iter()
        .enumerate()
        .map(|(i, step)| {
            let number = i + 1;
            for h in &step.happenings {
                let fate = match h {
                    Happening::Finished { task, result } => Some((
                        task,
                        format!(
                            "{} at step {number}",
                            match result {
                                engine::TaskResult::Completed => "completed",
                                engine::TaskResult::Failed => "failed",
                            }
                        ),
                    )),
                    Happening::Blocked { task, worker } => Some((
                        task,
                        format!("waits for its children on worker {worker} from step {number}"),
                    )),
                    Happening::Taken { task, worker } => {
                        Some((task, format!("taken by worker {worker} at step {number}")))
                    }
                    _ => None,
                };
                if let Some((task, fate)) = fate {
                    last.insert(task.clone(), fate);
                }
            }
            let tasks: Vec<String> = step.tasks().into_iter().map(String::from).collect();
            for t in &tasks {
                let steps = moved.entry(t.clone()).or_default();
                if steps.is_empty() {
                    order.push(t.clone());
                }
                steps.push(number);
            }
            StepLine {
                number,
                choice: step.choice.clone(),
                sentence: text::sentence(step),
                tasks,
            }
        })
        .collect();
    let stuck = deadlock.map(fates).unwrap_or_default();
    let tasks = order
        .into_iter()
        .map(|t| {
            let fate = stuck
                .get(&t)
                .or_else(|| last.get(&t))
                .cloned()
                .unwrap_or_else(|| "queued".into());
            TaskLine {
                steps: moved.remove(&t).unwrap_or_default(),
                task: t,
                fate,
            }
        })
        .collect();
    (steps, tasks)
}

/// The headline of a run's outcome, as `qsim run` prints it.
fn outcome_words(outcome: &str) -> &str {
    match outcome {
        "horizon" => "horizon reached",
        "event_limit" => "event limit reached",
        "task_limit" => "task limit reached",
        "memory_limit" => "memory limit reached",
        other => other,
    }
}

/// The page of `qsim run`: the report, the workers' timeline, and the deadlock if the run
/// ended in one.
pub fn run(
    origin: Origin,
    report: &Report,
    timeline: Timeline,
    deadlock: Option<&Deadlock>,
) -> Page {
    run_with_memory(origin, report, timeline, None, deadlock)
}

/// The page of `qsim run` for a scenario that models memory: [`run`]'s, with a section on
/// memory after the timeline — the processes' memory over the run (`memory`, recorded by a
/// [`memory_timeline::Recorder`](super::memory_timeline::Recorder)) and the numbers of
/// [`Report::memory`]. Without either, the page is [`run`]'s.
pub fn run_with_memory(
    origin: Origin,
    report: &Report,
    timeline: Timeline,
    memory: Option<MemoryTimeline>,
    deadlock: Option<&Deadlock>,
) -> Page {
    let title = format!(
        "{}: {} at {}",
        report.scenario,
        outcome_words(report.outcome),
        format_ticks(report.end_time)
    );
    let mut sections = vec![section(
        "summary",
        "What happened",
        printed(&text::render(report), &origin.command),
    )];
    sections.push(section(
        "timeline",
        "Timeline",
        timeline_blocks(timeline, "over the run"),
    ));
    if memory.is_some() || report.memory.is_some() {
        sections.push(memory_section(report.memory.as_ref(), memory));
    }
    if let Some(d) = deadlock {
        sections.push(deadlock_section(d, None));
    }
    Page {
        title,
        origin,
        sections,
    }
}

fn table(head: &[&str], rows: Vec<Vec<String>>) -> Block {
    Block::Table(Table {
        head: head.iter().map(|h| h.to_string()).collect(),
        rows,
    })
}

/// Memory over the run: the figure, the numbers per pool, the host, what was lost or
/// re-queued, and the findings.
fn memory_section(report: Option<&MemoryReport>, timeline: Option<MemoryTimeline>) -> Section {
    let mut blocks = Vec::new();
    if let Some(m) = timeline {
        if m.dropped > 0 {
            blocks.push(Block::Note(format!(
                "The memory figure keeps the last {} changes ({} earlier ones are left out); its \
                 lines are exact from {} on. The trace (--trace) has every change.",
                super::svg::thousands(m.samples.len() as u64),
                super::svg::thousands(m.dropped),
                match m.clock {
                    super::timeline::Clock::Time => format_ticks(m.from),
                    super::timeline::Clock::Steps => format!("step {}", m.from),
                }
            )));
        }
        let host = m.thresholds.iter().any(|t| t.host) && m.processes.len() > 1;
        blocks.push(figure(Figure {
            id: "memory".into(),
            title: "Resident memory of each process".into(),
            caption: format!(
                "One line per process (a thread pool's workers share one; each worker of a \
                 process pool is its own): it grows as tasks run and keep memory, and drops to \
                 0 when the process exits (a triangle: why, at what size) until its replacement \
                 starts at the pool's base memory (the amber band: down, restarting). The dashed \
                 lines are the pools' max_memory and the host's memory, where set.{} Hover a line, a \
                 triangle or a band for what it is.",
                if host {
                    " The grey dotted line is all processes together, which the OOM killer \
                     compares with the host's memory."
                } else {
                    ""
                }
            ),
            drawing: Drawing::Memory(m),
        }));
    }
    if let Some(r) = report {
        blocks.push(table(
            &[
                "pool",
                "kind",
                "peak process",
                "peak pool",
                "at end",
                "restarts: max_memory",
                "restarts: max_tasks",
                "restarts: oom",
                "restarting",
            ],
            text::memory_pool_rows(r),
        ));
        blocks.push(Block::Text(format!(
            "Peak pool is all of a pool's processes together; restarting is the worker-time \
             spent down (max_tasks on a thread pool recycles one thread, not the process). \
             The host: peak {} ({}).",
            format_size(r.host_peak),
            r.host_memory.map_or("no memory limit".into(), |h| format!(
                "of {}",
                format_size(h)
            )),
        )));
        let rows: Vec<Vec<String>> = r
            .lost
            .iter()
            .zip(&r.requeued)
            .filter(|((_, lost), (_, requeued))| lost + requeued > 0)
            .map(|((task, lost), (_, requeued))| {
                vec![task.clone(), lost.to_string(), requeued.to_string()]
            })
            .collect();
        if rows.is_empty() {
            blocks.push(Block::Text(
                "No task was lost or re-queued: no process died under a task.".into(),
            ));
        } else {
            blocks.push(table(&["task", "lost", "re-queued"], rows));
            for (what, names) in [("lost", &r.lost_names), ("re-queued", &r.requeued_names)] {
                if !names.is_empty() {
                    blocks.push(Block::Text(format!("First {what}: {}.", names.join(", "))));
                }
            }
        }
        for f in &r.findings {
            blocks.push(Block::Note(format!("{}: {}", f.kind, f.text)));
        }
    }
    section("memory", "Memory", blocks)
}

/// The page of an exhaustive `qsim explore`: the verdict, and for a deadlock the
/// counterexample step by step, the workers' timeline over its steps, its wait-for graph and
/// every task it moved. `scenario` is the one searched (the timeline is replayed from it).
pub fn exploration(origin: Origin, r: &ExplorationReport, scenario: &Scenario) -> Page {
    let e = &r.exploration;
    let timing = format!("{} timing", r.timing.name());
    let title = match &e.verdict {
        Verdict::Deadlock { .. } => format!("{}: deadlock under {timing}", r.scenario),
        Verdict::DeadlockFree => format!("{}: deadlock-free under {timing}", r.scenario),
        Verdict::Inconclusive { .. } => format!("{}: inconclusive under {timing}", r.scenario),
    };
    let printed_text = text::exploration(r, std::path::Path::new(&origin.path), None);
    let mut sections = vec![section(
        "summary",
        "The verdict",
        printed(&printed_text, &origin.command),
    )];
    if let Verdict::Deadlock {
        schedule, deadlock, ..
    } = &e.verdict
    {
        let (steps, tasks) = story_blocks(&r.story, Some(deadlock));
        sections.push(section(
            "steps",
            "The counterexample, step by step",
            vec![
                Block::Text(format!(
                    "A schedule of {} steps (seed {}, {} timing) that ends in the deadlock. \
                     Each step names the tasks it moved; each task below lists the steps that \
                     moved it. `qsim explore --schedule-out FILE` writes it for `qsim replay`.",
                    schedule.steps.len(),
                    schedule.seed,
                    schedule.timing.name()
                )),
                Block::Steps(steps),
            ],
        ));
        let mut s = scenario.clone();
        s.seed = schedule.seed;
        let model = model_for(&s, schedule.timing);
        let mut sim = Simulation::new(&model);
        let mut recorder = TimeOrSteps::new(&model, Recorder::CAP);
        let outcome = engine::run(
            &mut sim,
            &mut Replay::new(schedule.steps.clone()),
            &mut recorder,
            Limits::default(),
        );
        let reached = match &outcome {
            Outcome::Deadlock(d) => Some(d),
            _ => None,
        };
        sections.push(section(
            "timeline",
            "Timeline",
            timeline_blocks(recorder.finish(&sim, reached), "along the counterexample"),
        ));
        let mut d = deadlock_section(deadlock, Some(&r.story));
        d.blocks.push(Block::Tasks(tasks));
        d.heading = "The deadlock and every task the steps moved".into();
        sections.push(d);
    }
    Page {
        title,
        origin,
        sections,
    }
}

/// The page of `qsim explore --mode random`: the estimate, and the first deadlocking run (if
/// one did) replayed with its timeline and wait-for graph. `scenario` is the one run.
pub fn monte_carlo(origin: Origin, mc: &MonteCarlo, scenario: &Scenario) -> Page {
    let title = format!(
        "{}: deadlock in {} of {} random runs",
        mc.scenario, mc.deadlocks, mc.runs
    );
    let file = std::path::Path::new(&origin.path);
    let mut sections = vec![section(
        "summary",
        "The estimate",
        printed(&text::monte_carlo(mc, file), &origin.command),
    )];
    if let Some(seed) = mc.example_seed {
        let mut s = scenario.clone();
        if mc.horizon_override.is_some() {
            s.horizon = mc.horizon_override;
        }
        s.seed = seed;
        s.ties = Ties::Random;
        let model = Model::new(s);
        // As the study ran it (explore::random): its seed, and ties broken from a seed derived
        // from it.
        let mut sim = Simulation::with_seed(&model, seed);
        let mut ties = RandomTies(SimRng::new(derive_seed(seed, u64::MAX)));
        let mut recorder = TimeOrSteps::new(&model, Recorder::CAP);
        let outcome = engine::run(&mut sim, &mut ties, &mut recorder, Limits::default());
        let deadlock = match &outcome {
            Outcome::Deadlock(d) => Some(d),
            _ => None,
        };
        let mut blocks = vec![Block::Text(format!(
            "The first run that deadlocked, run again: seed {seed}, ties broken at random \
             (`qsim run {} --set seed={seed} --set ties=random{}` runs it alone).",
            origin.path,
            mc.horizon_override
                .map(|h| format!(" --set horizon={}", format_ticks(h)))
                .unwrap_or_default()
        ))];
        blocks.extend(timeline_blocks(
            recorder.finish(&sim, deadlock),
            "in the first deadlocking run",
        ));
        sections.push(section("timeline", "A deadlocking run", blocks));
        if let Some(d) = deadlock {
            sections.push(deadlock_section(d, None));
        }
    }
    Page {
        title,
        origin,
        sections,
    }
}

/// The page of `qsim explore --min-workers`: the verdict of each worker count tried.
pub fn min_workers(origin: Origin, m: &MinWorkers) -> Page {
    let title = match m.min_workers {
        Some(n) => format!(
            "{}: {n} workers of pool \"{}\" are deadlock-free under {} timing",
            m.scenario,
            m.pool,
            m.timing.name()
        ),
        None => format!(
            "{}: no worker count of pool \"{}\" up to {} is proved deadlock-free",
            m.scenario, m.pool, m.up_to
        ),
    };
    let map = HeatMap {
        x_label: format!("pool.{}.workers", m.pool),
        y_label: String::new(),
        x: m.tried.iter().map(|t| t.workers.to_string()).collect(),
        y: vec!["verdict".into()],
        cells: vec![m
            .tried
            .iter()
            .map(|t| Cell::Verdict(t.exploration.verdict.name()))
            .collect()],
        scale: Scale::Verdicts,
    };
    let sections = vec![
        section(
            "summary",
            "The answer",
            printed(&text::min_workers(m), &origin.command),
        ),
        section(
            "verdicts",
            "Verdicts",
            vec![figure(Figure {
                id: "verdicts".into(),
                title: "Verdict of each worker count".into(),
                caption:
                    "Each worker count tried, decided under every timing: red deadlocks \
                          under some timing, green is proved deadlock-free, grey ran out of budget."
                        .into(),
                drawing: Drawing::HeatMap(map),
            })],
        ),
    ];
    Page {
        title,
        origin,
        sections,
    }
}

/// The distinct values of path `k` over `results`, in the order they first come.
fn values_of(results: &[PointResult], k: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in results {
        if let Some((_, v)) = r.values.get(k) {
            if !out.contains(v) {
                out.push(v.clone());
            }
        }
    }
    out
}

/// How a quantity is read from a point of a sweep.
type Reader<'a> = Box<dyn Fn(&PointResult) -> Option<Point> + 'a>;

/// A quantity a sweep page plots: its name, unit and how to read it from a point.
struct Quantity<'a> {
    id: String,
    name: String,
    y_label: String,
    share: bool,
    scale: Scale,
    read: Reader<'a>,
}

fn runs_of(r: &PointResult) -> Option<&sweep::Runs> {
    match &r.outcome {
        sweep::Outcome::Runs(x) => Some(x),
        sweep::Outcome::Explored(_) => None,
    }
}

/// What a Monte Carlo sweep page plots: the deadlock probability, each task type's p99 and
/// mean latency, the throughput, and each pool's utilisation.
fn quantities<'a>(tasks: &[String], pools: &[String]) -> Vec<Vec<Quantity<'a>>> {
    let mut out = vec![vec![Quantity {
        id: "deadlock-probability".into(),
        name: "deadlock".into(),
        y_label: "deadlock probability".into(),
        share: true,
        scale: Scale::Share,
        read: Box::new(|r| {
            runs_of(r).map(|x| Point {
                value: x.deadlock.value,
                band: Some((x.deadlock.low, x.deadlock.high)),
            })
        }),
    }]];
    let latency = |task: &String, p99: bool| {
        let t = task.clone();
        Quantity {
            id: format!("{}-{}", if p99 { "p99" } else { "mean" }, sanitize(task)),
            name: task.clone(),
            y_label: format!("{} latency (s)", if p99 { "p99" } else { "mean" }),
            share: false,
            scale: Scale::Seconds,
            read: Box::new(move |r| {
                let l = runs_of(r)?
                    .latency
                    .iter()
                    .find(|(n, _)| *n == t)?
                    .1
                    .as_ref()?;
                Some(if p99 {
                    Point {
                        value: l.p99,
                        band: Some((l.p99_ci.low, l.p99_ci.high)),
                    }
                } else {
                    Point {
                        value: l.mean.value,
                        band: Some((l.mean.low, l.mean.high)),
                    }
                })
            }),
        }
    };
    out.push(tasks.iter().map(|t| latency(t, true)).collect());
    out.push(tasks.iter().map(|t| latency(t, false)).collect());
    out.push(vec![Quantity {
        id: "throughput".into(),
        name: "throughput".into(),
        y_label: "tasks finished per second".into(),
        share: false,
        scale: Scale::Seconds,
        read: Box::new(|r| {
            runs_of(r)?.throughput.map(|e| Point {
                value: e.value,
                band: Some((e.low, e.high)),
            })
        }),
    }]);
    out.push(
        pools
            .iter()
            .map(|p| {
                let pool = p.clone();
                Quantity {
                    id: format!("utilisation-{}", sanitize(p)),
                    name: format!("{p} (busy or blocked)"),
                    y_label: "share of worker time not idle".into(),
                    share: true,
                    scale: Scale::Share,
                    read: Box::new(move |r| {
                        let u = runs_of(r)?
                            .utilisation
                            .iter()
                            .find(|(n, _)| *n == pool)?
                            .1?;
                        Some(Point {
                            value: u.busy + u.blocked,
                            band: None,
                        })
                    }),
                }
            })
            .collect(),
    );
    out
}

/// `text` with only letters, digits, `-` and `_`, for ids and file names.
fn sanitize(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// The title of a group of curves (or of heat maps, one per quantity).
fn group_title(group: &[Quantity<'_>]) -> (String, String) {
    let first = &group[0];
    match first.id.split('-').next() {
        Some("deadlock") => (
            "Deadlock probability".into(),
            "The share of runs that deadlocked, with its 95% Wilson interval shaded.".into(),
        ),
        Some("p99") => (
            "p99 latency per task type".into(),
            "The 99th percentile of each task type's latency over every task of every run; the \
             band is the 95% interval of the per-run p99s."
                .into(),
        ),
        Some("mean") => (
            "Mean latency per task type".into(),
            "The mean latency of each task type, with the 95% interval of the per-run means."
                .into(),
        ),
        Some("throughput") => (
            "Throughput".into(),
            "Tasks finished per second of observed time, with the 95% interval over runs.".into(),
        ),
        _ => (
            "Utilisation per pool".into(),
            "The share of each pool's worker time spent busy or blocked in a wait.".into(),
        ),
    }
}

/// The page of `qsim sweep`: the table as printed, and figures against the varied values —
/// curves with their bands over one varied path, heat maps over two (a set of them, one per
/// setting of the others, over more). `file` and `seed` as for the printed table.
pub fn sweep(origin: Origin, s: &Sweep, results: &[PointResult], runs: u64, seed: u64) -> Page {
    let explored = results
        .iter()
        .any(|r| matches!(r.outcome, sweep::Outcome::Explored(_)));
    let title = format!(
        "{}: sweep of {} point{}{}",
        s.scenario,
        results.len(),
        if results.len() == 1 { "" } else { "s" },
        if explored {
            ", each decided under every timing".to_string()
        } else {
            format!(" × {runs} runs")
        }
    );
    let printed_text = text::sweep(s, results, runs, seed, &origin.path);
    let mut sections = vec![section(
        "summary",
        "The points",
        printed(&printed_text, &origin.command),
    )];
    let (tasks, pools) = match s.points.first() {
        Some((_, scenario)) => (
            scenario.tasks.iter().map(|t| t.name.clone()).collect(),
            scenario.pools.iter().map(|p| p.name.clone()).collect(),
        ),
        None => (Vec::new(), Vec::new()),
    };
    let groups: Vec<Vec<Quantity<'_>>> = if explored {
        Vec::new()
    } else {
        quantities(&tasks, &pools)
            .into_iter()
            .filter(|g| !g.is_empty())
            .collect()
    };
    let mut blocks = Vec::new();
    match s.paths.len() {
        0 => {}
        1 => {
            let x = values_of(results, 0);
            if explored {
                blocks.push(figure(verdict_map(
                    "verdicts",
                    "Verdict at each point".into(),
                    &s.paths[0],
                    "",
                    &x,
                    &["verdict".to_string()],
                    |i, _| results.get(i),
                )));
            }
            for group in &groups {
                let (title, caption) = group_title(group);
                let series = group
                    .iter()
                    .map(|q| Series {
                        name: q.name.clone(),
                        points: results.iter().map(|r| (q.read)(r)).collect(),
                    })
                    .collect();
                blocks.push(figure(Figure {
                    id: match group[0].id.split('-').next() {
                        Some("deadlock") | None => "deadlock-probability".into(),
                        Some(kind) => kind.to_string(),
                    },
                    title,
                    caption,
                    drawing: Drawing::Curves(Curves {
                        x_label: s.paths[0].clone(),
                        y_label: group[0].y_label.clone(),
                        x: x.clone(),
                        series,
                        limit: None,
                        marked: None,
                        share: group[0].share,
                    }),
                }));
            }
        }
        _ => {
            let x = values_of(results, 0);
            let y = values_of(results, 1);
            // The settings of the paths after the first two, each a slice of the grid.
            let mut slices: Vec<Vec<(String, String)>> = Vec::new();
            for r in results {
                let rest = r.values[2..].to_vec();
                if !slices.contains(&rest) {
                    slices.push(rest);
                }
            }
            let shown = slices.len().min(MOST_SLICES);
            if slices.len() > shown {
                blocks.push(Block::Note(format!(
                    "The heat maps show the first {shown} of the {} settings of {}; the table \
                     and --format csv have every point.",
                    slices.len(),
                    s.paths[2..].join(", ")
                )));
            }
            let mut index: BTreeMap<(usize, usize, usize), usize> = BTreeMap::new();
            for (k, r) in results.iter().enumerate() {
                let (Some(i), Some(j), Some(sl)) = (
                    x.iter().position(|v| *v == r.values[0].1),
                    y.iter().position(|v| *v == r.values[1].1),
                    slices.iter().position(|v| v[..] == r.values[2..]),
                ) else {
                    continue;
                };
                index.insert((sl, i, j), k);
            }
            for (sl, slice) in slices.iter().take(shown).enumerate() {
                let suffix = if slice.is_empty() {
                    String::new()
                } else {
                    format!(" at {}", sweep::describe(slice))
                };
                let id_suffix = if slices.len() > 1 {
                    format!("-{}", sl + 1)
                } else {
                    String::new()
                };
                let at = |i: usize, j: usize| index.get(&(sl, i, j)).map(|&k| &results[k]);
                if explored {
                    blocks.push(figure(verdict_map(
                        &format!("verdicts{id_suffix}"),
                        format!("Verdict at each point{suffix}"),
                        &s.paths[0],
                        &s.paths[1],
                        &x,
                        &y,
                        at,
                    )));
                    continue;
                }
                for group in &groups {
                    // Deadlock probability and p99s: the quantities a map over two
                    // settings answers best.
                    if !matches!(group[0].id.split('-').next(), Some("deadlock" | "p99")) {
                        continue;
                    }
                    for q in group.iter().take(4) {
                        let cells = (0..y.len())
                            .map(|j| {
                                (0..x.len())
                                    .map(|i| match at(i, j).and_then(|r| (q.read)(r)) {
                                        Some(p) => Cell::Value(p.value),
                                        None => Cell::Empty,
                                    })
                                    .collect()
                            })
                            .collect();
                        let title = if q.id == "deadlock-probability" {
                            format!("Deadlock probability{suffix}")
                        } else {
                            format!("p99 latency of {}{suffix}", q.name)
                        };
                        blocks.push(figure(Figure {
                            id: format!("{}{id_suffix}", q.id),
                            title,
                            caption: if q.share {
                                "The share of runs that deadlocked at each point.".into()
                            } else {
                                "The 99th percentile of the latency at each point, in seconds."
                                    .into()
                            },
                            drawing: Drawing::HeatMap(HeatMap {
                                x_label: s.paths[0].clone(),
                                y_label: s.paths[1].clone(),
                                x: x.clone(),
                                y: y.clone(),
                                cells,
                                scale: q.scale.clone(),
                            }),
                        }));
                    }
                }
                // The deadlock probability against the first path, one curve per value of
                // the second, with their bands.
                if let Some(q) = groups.first().and_then(|g| g.first()) {
                    let series = y
                        .iter()
                        .enumerate()
                        .take(6)
                        .map(|(j, v)| Series {
                            name: format!("{}={v}", s.paths[1]),
                            points: (0..x.len())
                                .map(|i| at(i, j).and_then(|r| (q.read)(r)))
                                .collect(),
                        })
                        .collect();
                    blocks.push(figure(Figure {
                        id: format!("deadlock-curves{id_suffix}"),
                        title: format!("Deadlock probability against {}{suffix}", s.paths[0]),
                        caption: format!(
                            "One curve per value of {} (the first 6), with the 95% Wilson \
                             intervals shaded.",
                            s.paths[1]
                        ),
                        drawing: Drawing::Curves(Curves {
                            x_label: s.paths[0].clone(),
                            y_label: "deadlock probability".into(),
                            x: x.clone(),
                            series,
                            limit: None,
                            marked: None,
                            share: true,
                        }),
                    }));
                }
            }
        }
    }
    if !blocks.is_empty() {
        sections.push(section("figures", "Figures", blocks));
    }
    Page {
        title,
        origin,
        sections,
    }
}

/// A heat map of exhaustive verdicts over `x` (across) and `y` (down); `at(i, j)` is the
/// point at `x[i]`, `y[j]`.
fn verdict_map<'r>(
    id: &str,
    title: String,
    x_label: &str,
    y_label: &str,
    x: &[String],
    y: &[String],
    at: impl Fn(usize, usize) -> Option<&'r PointResult>,
) -> Figure {
    let cells = (0..y.len())
        .map(|j| {
            (0..x.len())
                .map(|i| match at(i, j).map(|r| &r.outcome) {
                    Some(sweep::Outcome::Explored(e)) => Cell::Verdict(e.verdict.name()),
                    _ => Cell::Empty,
                })
                .collect()
        })
        .collect();
    Figure {
        id: id.into(),
        title,
        caption: "Each point decided under every timing: red deadlocks under some timing, green \
                  is proved deadlock-free, grey ran out of budget."
            .into(),
        drawing: Drawing::HeatMap(HeatMap {
            x_label: x_label.into(),
            y_label: y_label.into(),
            x: x.to_vec(),
            y: y.to_vec(),
            cells,
            scale: Scale::Verdicts,
        }),
    }
}

/// The page of `qsim plan`: the answer as printed, and each objective against the worker
/// counts tried, with its interval, its limit and the answer marked.
pub fn plan(origin: Origin, p: &Plan) -> Page {
    let title = match p.answer {
        Some(n) => format!(
            "{}: {n} workers of pool \"{}\" meet every objective",
            p.scenario, p.pool
        ),
        None => format!(
            "{}: no worker count of pool \"{}\" tried meets every objective",
            p.scenario, p.pool
        ),
    };
    let x: Vec<String> = p.tried.iter().map(|t| t.workers.to_string()).collect();
    let marked = p
        .answer
        .and_then(|a| p.tried.iter().position(|t| t.workers == a))
        .map(|i| (format!("answer: {}", p.tried[i].workers), i));
    let secs = |ticks: f64| ticks / TICKS_PER_SECOND as f64;
    let mut blocks = Vec::new();
    for (k, slo) in p.slos.iter().enumerate() {
        let latency = |runs: &sweep::Runs, task: &str| {
            runs.latency
                .iter()
                .find(|(t, _)| t == task)
                .and_then(|(_, l)| l.clone())
        };
        let points: Vec<Option<Point>> = p
            .tried
            .iter()
            .map(|t| {
                let value = slo.value(&t.runs)?;
                Some(match &slo.measure {
                    Measure::Deadlock => Point {
                        value,
                        band: Some((t.runs.deadlock.low, t.runs.deadlock.high)),
                    },
                    Measure::Utilisation { .. } => Point { value, band: None },
                    Measure::PeakRss { .. } => Point {
                        value: value / 1e6,
                        band: None,
                    },
                    Measure::Mean { task } => Point {
                        value: secs(value),
                        band: latency(&t.runs, task).map(|l| (l.mean.low, l.mean.high)),
                    },
                    Measure::Quantile { q, task } => Point {
                        value: secs(value),
                        band: (*q > 0.98)
                            .then(|| latency(&t.runs, task).map(|l| (l.p99_ci.low, l.p99_ci.high)))
                            .flatten(),
                    },
                })
            })
            .collect();
        let (share, y_label, limit) = match &slo.measure {
            Measure::Deadlock => (true, "deadlock probability".to_string(), slo.limit),
            Measure::Utilisation { .. } => {
                (true, "share of worker time not idle".into(), slo.limit)
            }
            Measure::PeakRss { .. } => (false, "peak resident memory (MB)".into(), slo.limit / 1e6),
            Measure::Mean { .. } | Measure::Quantile { .. } => {
                (false, "latency (s)".into(), secs(slo.limit))
            }
        };
        blocks.push(figure(Figure {
            id: format!("objective-{}", k + 1),
            title: format!("{} against pool.{}.workers", slo.text, p.pool),
            caption: format!(
                "The objective's value at each worker count tried ({} runs each), with its 95% \
                 interval shaded where it has one; the dashed line is its limit{}.",
                p.runs,
                if marked.is_some() {
                    ", the green line the answer"
                } else {
                    ""
                }
            ),
            drawing: Drawing::Curves(Curves {
                x_label: format!("pool.{}.workers", p.pool),
                y_label,
                x: x.clone(),
                series: vec![Series {
                    name: slo.text.clone(),
                    points,
                }],
                limit: Some((format!("limit {}", slo.text), limit)),
                marked: marked.clone(),
                share,
            }),
        }));
    }
    let sections = vec![
        section(
            "summary",
            "The answer",
            printed(&text::plan(p), &origin.command),
        ),
        section(
            "objectives",
            "Each objective against the worker count",
            blocks,
        ),
    ];
    Page {
        title,
        origin,
        sections,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures::{fanout, fanout_exploration};
    use crate::report::Stats;

    fn origin() -> Origin {
        Origin {
            command: "qsim run fanout.toml --report r.html".into(),
            path: "fanout.toml".into(),
            text: "[[pool]]\nworkers = 2\n".into(),
        }
    }

    fn figures(page: &Page) -> Vec<&Figure> {
        page.sections
            .iter()
            .flat_map(|s| &s.blocks)
            .filter_map(|b| match b {
                Block::Figure(f) => Some(&**f),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_deadlocked_run_has_its_timeline_graph_and_stuck_tasks() {
        let model = Model::new(fanout(2));
        let mut stats = Stats::new(&model.scenario);
        let mut recorder = TimeOrSteps::new(&model, Recorder::CAP);
        let (outcome, sim) =
            engine::simulate(&model, &mut (&mut stats, &mut recorder), Limits::default());
        let Outcome::Deadlock(d) = &outcome else {
            panic!("two workers deadlock");
        };
        let report = Report::new(&sim, &stats, &outcome);
        let page = run(origin(), &report, recorder.finish(&sim, Some(d)), Some(d));
        assert_eq!(page.title, "fanout: deadlock at 0s");
        let ids: Vec<&str> = figures(&page).iter().map(|f| f.id.as_str()).collect();
        assert_eq!(ids, ["timeline", "wait-for"]);
        let tasks = page
            .sections
            .iter()
            .flat_map(|s| &s.blocks)
            .find_map(|b| match b {
                Block::Tasks(t) => Some(t),
                _ => None,
            })
            .expect("the stuck tasks");
        assert_eq!(tasks.len(), 22);
        assert!(tasks[0].fate.starts_with("stuck: holds worker default/1"));
    }

    #[test]
    fn a_counterexample_links_steps_and_tasks_both_ways() {
        let r = fanout_exploration(2);
        let page = exploration(origin(), &r, &fanout(2));
        assert_eq!(page.title, "fanout: deadlock under any timing");
        let blocks: Vec<&Block> = page.sections.iter().flat_map(|s| &s.blocks).collect();
        let steps = blocks
            .iter()
            .find_map(|b| match b {
                Block::Steps(s) => Some(s),
                _ => None,
            })
            .expect("the steps");
        let tasks = blocks
            .iter()
            .find_map(|b| match b {
                Block::Tasks(t) => Some(t),
                _ => None,
            })
            .expect("the tasks");
        assert_eq!(steps.len(), 6);
        for step in steps.iter() {
            for t in &step.tasks {
                let line = tasks
                    .iter()
                    .find(|l| l.task == *t)
                    .expect("every task listed");
                assert!(line.steps.contains(&step.number));
            }
        }
        let main1 = tasks.iter().find(|t| t.task == "main_task#1").unwrap();
        assert!(
            main1.fate.starts_with("stuck: holds worker"),
            "{}",
            main1.fate
        );
        let timeline = figures(&page)
            .into_iter()
            .find_map(|f| match &f.drawing {
                Drawing::Timeline(t) => Some(t),
                _ => None,
            })
            .expect("a timeline");
        assert_eq!(timeline.clock, super::super::timeline::Clock::Steps);
        assert_eq!(timeline.end, 6);
    }

    #[test]
    fn a_proof_has_no_counterexample() {
        let page = exploration(origin(), &fanout_exploration(3), &fanout(3));
        assert_eq!(page.title, "fanout: deadlock-free under any timing");
        assert!(figures(&page).is_empty());
    }
}
