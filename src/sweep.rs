//! Sweeps: one scenario over a grid of settings, each point run many times or decided
//! exhaustively.
//!
//! A sweep varies one or more paths of the scenario (as `--set` names them:
//! `pool.default.workers`, `arrival.0.rate`, `task.main_task.steps`...) over lists of values,
//! and visits every point of their cross product, the first path varying slowest. At each point
//! the scenario is the file with `PATH=VALUE` applied for each varied path, validated as `qsim
//! run` would, so a value out of range is an error that names the point.
//!
//! # Monte Carlo points
//! Each point is run `runs` times. Run `r` of point `p` uses the seed
//! `derive_seed(derive_seed(seed, p), r)` (`seed` the scenario's), so any point and run can be
//! reproduced alone with `qsim run FILE --set PATH=VALUE ... --set seed=S`
//! ([`PointResult::reproduce`]).
//! Runs are spread over threads (rayon) and gathered in order: the result is the same on any
//! number of threads. The statistics of a point ([`PointResult`]) pool its runs:
//! - deadlock: the share of runs that deadlocked, with its 95% Wilson interval, and when;
//! - throughput: tasks finished per second of observed time, mean over runs with a 95% interval;
//! - latency per task type: p50, p95, p99 over every task of every run, and 95% intervals for
//!   the mean and for the p99 (from the spread of the per-run values, normal approximation);
//! - utilisation per pool: the shares of worker time busy, blocked in a wait, and idle;
//! - queues: mean length (time average) and the largest length seen.
//!
//! `warmup` drops the initial transient: tasks queued before it, and worker and queue time
//! before it, are not counted.
//!
//! # Exhaustive points
//! With [`Mode::Explore`], each point is decided as `qsim explore` decides (the counting
//! argument, then the depth-first search), giving a verdict per point: a map of which settings
//! deadlock under any timing.

use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;

use crate::engine::{
    run_to_end, Canonical, End, Limits, Model, RandomTies, Simulation, TiesByValue,
};
use crate::error::{Error, Result};
use crate::explore::random::wilson;
use crate::explore::{decide, Budget, Exploration, Method, Order, Reductions, Timing, Verdict};
use crate::report::latencies::Latencies;
use crate::report::Stats;
use crate::rng::{derive_seed, SimRng};
use crate::scenario::recorded::touches_arrivals;
use crate::scenario::{self, Recorded, Scenario, Tick, Ties, TICKS_PER_SECOND};

pub mod shard;

pub use shard::{merge, Identity, Merged, Shard, ShardFile};

/// One varied path and its values, as `--vary PATH=VALUES` gives them.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Vary {
    /// The path, as `--set` names it.
    pub path: String,
    /// The values, as TOML text.
    pub values: Vec<String>,
}

/// The settings of one point: each varied path with its value, in the order of the sweep.
pub type Settings = Vec<(String, String)>;

/// The most points a sweep may have.
pub const MAX_POINTS: usize = 100_000;

impl Vary {
    /// Reads `PATH=VALUES`: a range `1..16` (both ends included), a stepped range `1..64:4`
    /// (1, 5, 9, ... up to 64), or a list `0.5,1,2` (any TOML values, `"a","b"` for strings).
    pub fn parse(text: &str) -> std::result::Result<Vary, String> {
        let (path, values) = text.split_once('=').ok_or_else(|| {
            format!("expected PATH=VALUES (pool.default.workers=1..16, say), found \"{text}\"")
        })?;
        let path = path.trim();
        if path.is_empty() {
            return Err(format!("expected a path before = in \"{text}\""));
        }
        let values = values.trim();
        let list = match values.split_once("..") {
            Some((from, rest)) => {
                let (to, step) = match rest.split_once(':') {
                    Some((to, step)) => (to, Some(step)),
                    None => (rest, None),
                };
                let number = |s: &str, what: &str| {
                    s.trim().parse::<i64>().map_err(|_| {
                        format!("expected a whole number as the {what} of the range \"{values}\", found \"{}\"", s.trim())
                    })
                };
                let (from, to) = (number(from, "start")?, number(to, "end")?);
                let step = match step {
                    Some(s) => number(s, "step")?,
                    None => 1,
                };
                if step < 1 {
                    return Err(format!("the step of \"{values}\" must be at least 1"));
                }
                if to < from {
                    return Err(format!(
                        "the range \"{values}\" is empty: its end is below its start"
                    ));
                }
                let count = (to - from) / step + 1;
                if count as usize > MAX_POINTS {
                    return Err(format!(
                        "the range \"{values}\" has {count} values; a sweep has at most {MAX_POINTS} points"
                    ));
                }
                (0..count).map(|i| (from + i * step).to_string()).collect()
            }
            None => split_top_level(values),
        };
        if list.iter().any(String::is_empty) {
            return Err(format!("an empty value in \"{values}\""));
        }
        Ok(Vary {
            path: path.to_string(),
            values: list,
        })
    }
}

/// `values` split at the commas that are not inside brackets, braces or quotes, so that a
/// list of TOML arrays or tables (`[1,2],[3]`) splits into its values.
fn split_top_level(values: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (mut depth, mut quote, mut start) = (0i32, None, 0);
    for (i, c) in values.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '[' | '{') => depth += 1,
            (None, ']' | '}') => depth -= 1,
            (None, ',') if depth == 0 => {
                out.push(values[start..i].trim().to_string());
                start = i + 1;
            }
            (None, _) => {}
        }
    }
    out.push(values[start..].trim().to_string());
    out
}

/// Every point of the cross product of `vary`, the first path varying slowest: each point is
/// its `PATH=VALUE` settings, in the order of `vary`.
pub fn points(vary: &[Vary]) -> Result<Vec<Settings>> {
    let total = vary
        .iter()
        .try_fold(1usize, |n, v| n.checked_mul(v.values.len()))
        .filter(|&n| n <= MAX_POINTS)
        .ok_or_else(|| Error::Usage(format!("a sweep has at most {MAX_POINTS} points")))?;
    let mut points = Vec::with_capacity(total);
    for i in 0..total {
        let mut rest = i;
        let mut point = vec![(String::new(), String::new()); vary.len()];
        for (k, v) in vary.iter().enumerate().rev() {
            let n = v.values.len();
            point[k] = (v.path.clone(), v.values[rest % n].clone());
            rest /= n;
        }
        points.push(point);
    }
    Ok(points)
}

/// What a sweep does at each point.
#[derive(Clone, Debug)]
pub enum Mode {
    /// Run the point `runs` times (Monte Carlo), observing from `warmup` on.
    Runs {
        /// Runs per point.
        runs: u64,
        /// A horizon for every run, replacing the scenario's.
        horizon: Option<Tick>,
        /// The instant observations start.
        warmup: Tick,
        /// Limits on each run.
        limits: Limits,
    },
    /// Decide the point exhaustively.
    Explore {
        /// The timing searched.
        timing: Timing,
        /// The budget of each point's search.
        budget: Budget,
    },
}

/// A sweep: its scenario and points, ready to run.
#[derive(Clone, Debug)]
pub struct Sweep {
    /// The scenario's name.
    pub scenario: String,
    /// The paths varied, in order.
    pub paths: Vec<String>,
    /// The overrides applied to every point before its varied values (`--set`, and a sweep's
    /// `--horizon` as `horizon=...`).
    pub sets: Vec<String>,
    /// The CSV file of recorded arrivals that replace the scenario's at every point, as the
    /// user named it ([`Sweep::with_arrivals`]).
    pub arrivals_from: Option<String>,
    /// Every point's validated scenario, with its settings. Empty in a sweep put back
    /// together from its shards ([`shard::merge`]), which is rendered, not run.
    pub points: Vec<(Settings, Scenario)>,
}

impl Sweep {
    /// The sweep of the scenario `text` (read from `file`, with the `--set` overrides `sets`
    /// applied first) over `vary`. Every point is validated here; the first invalid one is an
    /// error that names it.
    pub fn new(file: &str, text: &str, sets: &[String], vary: &[Vary]) -> Result<Sweep> {
        let base = scenario::parse(file, text, sets)?;
        let mut points = Vec::new();
        for point in self::points(vary)? {
            let mut all = sets.to_vec();
            all.extend(point.iter().map(|(p, v)| format!("{p}={v}")));
            let scenario = scenario::parse(file, text, &all)
                .map_err(|e| Error::Usage(format!("at the point {}: {e}", describe(&point))))?;
            points.push((point, scenario));
        }
        Ok(Sweep {
            scenario: base.name,
            paths: vary.iter().map(|v| v.path.clone()).collect(),
            sets: sets.to_vec(),
            arrivals_from: None,
            points,
        })
    }

    /// The sweep with `recorded` arrivals in place of the scenario's own at every point (see
    /// [`Recorded`]). A varied path or an override that changes the scenario's arrivals is an
    /// error: it would change nothing.
    pub fn with_arrivals(mut self, recorded: &Recorded) -> Result<Sweep> {
        if let Some(p) = self
            .paths
            .iter()
            .chain(&self.sets)
            .find(|p| touches_arrivals(p))
        {
            return Err(Error::Usage(format!(
                "{p} changes the scenario's [[arrival]] streams, which --arrivals-from replaces: \
                 drop one or the other"
            )));
        }
        for (_, scenario) in &mut self.points {
            *scenario = recorded.apply(scenario)?;
        }
        self.arrivals_from = Some(recorded.file.clone());
        Ok(self)
    }

    /// Runs or decides every point (see [`Mode`]); `progress` hears the number of points done
    /// (from any thread). The result does not depend on the number of threads.
    pub fn run(&self, mode: &Mode, progress: &(dyn Fn(u64) + Sync)) -> Vec<PointResult> {
        self.run_shard(mode, Shard::WHOLE, progress)
    }

    /// Runs or decides the points of one shard (see [`Shard`]), in order; each point's result
    /// is the one [`Sweep::run`] gives it, since its seeds derive from its index in the whole
    /// sweep.
    pub fn run_shard(
        &self,
        mode: &Mode,
        shard: Shard,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Vec<PointResult> {
        let done = AtomicU64::new(0);
        let mine: Vec<(usize, &(Settings, Scenario))> = self
            .points
            .iter()
            .enumerate()
            .filter(|(index, _)| shard.holds(*index))
            .collect();
        mine.into_par_iter()
            .map(|(index, (values, scenario))| {
                let outcome = match mode {
                    Mode::Runs {
                        runs,
                        horizon,
                        warmup,
                        limits,
                    } => Outcome::Runs(run_point(
                        scenario,
                        index as u64,
                        *runs,
                        *horizon,
                        *warmup,
                        *limits,
                    )),
                    Mode::Explore { timing, budget } => Outcome::Explored(Decided::from(&decide(
                        scenario,
                        *timing,
                        Reductions::ALL,
                        Order::DeadlockFirst,
                        budget,
                        &mut |_| {},
                    ))),
                };
                progress(done.fetch_add(1, Ordering::Relaxed) + 1);
                PointResult {
                    values: values.clone(),
                    index: index as u64,
                    outcome,
                }
            })
            .collect()
    }
}

/// Where a worker count becomes safe, for every shape of a sweep (see [`boundary`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Boundary {
    /// The varied worker count (`pool.NAME.workers`).
    pub path: String,
    /// Each shape (the other varied values, in sweep order) with its answer.
    pub shapes: Vec<(Settings, Safe)>,
}

/// The smallest safe worker count of one shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Safe {
    /// This count is proved deadlock-free, and every smaller count swept deadlocks.
    From(String),
    /// No count swept is deadlock-free.
    NoneSwept,
    /// A smaller count was inconclusive, so the boundary is not known.
    Unknown,
}

/// For an exhaustive sweep that varies exactly one `pool.NAME.workers`: for every shape (the
/// values of the other varied paths), the smallest worker count proved deadlock-free with
/// every smaller count swept deadlocking, the boundary a team must stay on the right side of.
/// `None` for other sweeps.
pub fn boundary(s: &Sweep, results: &[PointResult]) -> Option<Boundary> {
    let is_workers = |p: &str| p.starts_with("pool.") && p.ends_with(".workers");
    let mut counts = s.paths.iter().enumerate().filter(|(_, p)| is_workers(p));
    let (k, path) = counts.next()?;
    if counts.next().is_some() {
        return None;
    }
    // Each shape with the counts tried: (count as a number, as written, its exploration).
    type Tried<'a> = Vec<(i64, String, &'a Decided)>;
    let mut shapes: Vec<(Settings, Tried<'_>)> = Vec::new();
    for r in results {
        let Outcome::Explored(e) = &r.outcome else {
            return None;
        };
        let mut shape = r.values.clone();
        let (_, count) = shape.remove(k);
        let n = count.parse::<i64>().ok()?;
        match shapes.iter_mut().find(|(s, _)| *s == shape) {
            Some((_, tried)) => tried.push((n, count, e)),
            None => shapes.push((shape, vec![(n, count, e)])),
        }
    }
    let shapes = shapes
        .into_iter()
        .map(|(shape, mut tried)| {
            tried.sort_by_key(|t| t.0);
            let mut safe = Safe::NoneSwept;
            for (_, count, e) in tried {
                match e.verdict.name() {
                    "deadlock_free" => {
                        safe = Safe::From(count);
                        break;
                    }
                    "inconclusive" => {
                        safe = Safe::Unknown;
                        break;
                    }
                    _ => {}
                }
            }
            (shape, safe)
        })
        .collect();
    Some(Boundary {
        path: path.clone(),
        shapes,
    })
}

/// `PATH=VALUE, PATH=VALUE`.
pub fn describe(point: &[(String, String)]) -> String {
    point
        .iter()
        .map(|(p, v)| format!("{p}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What one point of a sweep gave.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PointResult {
    /// Each varied path with its value at this point.
    pub values: Settings,
    /// The point's index in the sweep (its runs' seeds derive from it).
    pub index: u64,
    /// The runs' statistics, or the exhaustive verdict.
    pub outcome: Outcome,
}

impl PointResult {
    /// The `qsim run` command that reproduces run `run` of this point of the sweep `s` of
    /// `file`, whose scenario seed is `seed`: its overrides, its recorded arrivals, the
    /// point's values and the run's seed.
    pub fn reproduce(&self, s: &Sweep, file: &str, seed: u64, run: u64) -> String {
        let mut out = format!("qsim run {file}");
        if let Some(csv) = &s.arrivals_from {
            out += &format!(" --arrivals-from '{csv}'");
        }
        for set in &s.sets {
            out += &format!(" --set '{set}'");
        }
        for (p, v) in &self.values {
            out += &format!(" --set '{p}={v}'");
        }
        out += &format!(" --set seed={}", run_seed(seed, self.index, run));
        out
    }
}

/// The seed of run `run` of point `point` of a scenario seeded `seed`.
pub fn run_seed(seed: u64, point: u64, run: u64) -> u64 {
    derive_seed(derive_seed(seed, point), run)
}

/// A point's result.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Monte Carlo statistics.
    Runs(Runs),
    /// An exhaustive verdict.
    Explored(Decided),
}

/// What a sweep keeps of a point's exhaustive search: what its renderers show, and what a
/// shard file can carry (see [`shard`]); the schedule of a deadlock is `qsim explore`'s.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Decided {
    /// The verdict.
    pub verdict: PointVerdict,
    /// Distinct states visited.
    pub states: u64,
    /// What decided it.
    pub method: PointMethod,
}

impl From<&Exploration> for Decided {
    fn from(e: &Exploration) -> Decided {
        Decided {
            verdict: match e.verdict {
                Verdict::Deadlock { .. } => PointVerdict::Deadlock,
                Verdict::DeadlockFree => PointVerdict::DeadlockFree,
                Verdict::Inconclusive { .. } => PointVerdict::Inconclusive,
            },
            states: e.states,
            method: match e.method {
                Method::Counting(_) => PointMethod::Counting,
                Method::BreadthFirst => PointMethod::BreadthFirst,
                Method::DepthFirst => PointMethod::DepthFirst,
            },
        }
    }
}

/// A point's verdict (see [`Verdict`]), without its schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PointVerdict {
    /// Some timing deadlocks.
    Deadlock,
    /// No timing deadlocks.
    DeadlockFree,
    /// A budget ran out first.
    Inconclusive,
}

impl PointVerdict {
    /// `deadlock`, `deadlock_free` or `inconclusive`, as [`Verdict::name`].
    pub fn name(self) -> &'static str {
        match self {
            PointVerdict::Deadlock => "deadlock",
            PointVerdict::DeadlockFree => "deadlock_free",
            PointVerdict::Inconclusive => "inconclusive",
        }
    }
}

/// What decided a point's verdict (see [`Method`]), without the counting argument's proof.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PointMethod {
    /// The counting argument.
    Counting,
    /// The breadth-first search.
    BreadthFirst,
    /// The depth-first search toward deadlocks.
    DepthFirst,
}

impl PointMethod {
    /// `counting`, `breadth_first` or `depth_first`, as [`Method::name`].
    pub fn name(self) -> &'static str {
        match self {
            PointMethod::Counting => "counting",
            PointMethod::BreadthFirst => "breadth_first",
            PointMethod::DepthFirst => "depth_first",
        }
    }
}

/// An estimate with its 95% interval.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Estimate {
    /// The estimate.
    pub value: f64,
    /// Lower end of the 95% interval.
    pub low: f64,
    /// Upper end of the 95% interval.
    pub high: f64,
}

impl Estimate {
    /// The mean of `samples` with a normal-approximation 95% interval (the interval is the
    /// point itself for fewer than two samples); `None` without samples.
    pub fn mean_of(samples: &[f64]) -> Option<Estimate> {
        if samples.is_empty() {
            return None;
        }
        let n = samples.len() as f64;
        let mean = samples.iter().sum::<f64>() / n;
        if samples.len() < 2 {
            return Some(Estimate {
                value: mean,
                low: mean,
                high: mean,
            });
        }
        let var = samples.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0);
        let half = 1.96 * (var / n).sqrt();
        Some(Estimate {
            value: mean,
            low: mean - half,
            high: mean + half,
        })
    }
}

/// The latency of one task type at a point, in seconds.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Latency {
    /// Tasks of this type that finished (after the warmup), over all runs.
    pub finished: u64,
    /// Median over every finished task of every run.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// The mean, from the per-run means.
    pub mean: Estimate,
    /// The p99, from the per-run p99s.
    pub p99_ci: Estimate,
}

/// Worker time of one pool at a point, as shares of the observed worker time.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Utilisation {
    /// Running a task that is not waiting.
    pub busy: f64,
    /// Held by a task waiting for its children.
    pub blocked: f64,
    /// Idle.
    pub idle: f64,
}

/// One queue at a point.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct QueueLength {
    /// Time-average length over the observed time of every run.
    pub mean: f64,
    /// Largest length seen in any run.
    pub max: u64,
}

/// The pooled statistics of a point's runs; see the module docs.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Runs {
    /// Runs made.
    pub runs: u64,
    /// Runs that deadlocked.
    pub deadlocks: u64,
    /// The share that deadlocked, with its Wilson interval.
    pub deadlock: Estimate,
    /// Mean instant of the deadlock, in seconds, over the runs that deadlocked.
    pub time_to_deadlock: Option<f64>,
    /// Runs that hit a limit (events, tasks, memory).
    pub limited: u64,
    /// Tasks finished per second of observed time.
    pub throughput: Option<Estimate>,
    /// Per task type, in scenario order (name, latency); `None` when none finished.
    pub latency: Vec<(String, Option<Latency>)>,
    /// Per pool, in scenario order (name, shares); `None` when no time was observed.
    pub utilisation: Vec<(String, Option<Utilisation>)>,
    /// Per queue, in scenario order.
    pub queues: Vec<(String, QueueLength)>,
    /// Per pool, in scenario order, when the scenario models memory: the largest resident
    /// memory of any one of its processes in any run, in bytes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub peak_rss: Vec<(String, u64)>,
    /// Per pool, when the scenario models memory: exits, kills and recycled threads over all
    /// runs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub restarts: Vec<(String, u64)>,
}

/// One run's facts that the point pools.
struct RunFacts {
    end: End,
    now: Tick,
    stats: Stats,
}

fn one_run(model: &Model, seed: u64, limits: Limits, warmup: Tick) -> RunFacts {
    let mut sim = Simulation::with_seed(model, seed);
    let mut stats = Stats::after_warmup(&model.scenario, warmup);
    // As `qsim run --set seed=S` would run it: the scenario's own tie rule.
    let end = match model.scenario.ties {
        Ties::Canonical => run_to_end(&mut sim, &mut Canonical, &mut stats, limits),
        Ties::Random => {
            let ties = SimRng::new(derive_seed(seed, u64::MAX));
            run_to_end(
                &mut sim,
                &mut TiesByValue(RandomTies(ties)),
                &mut stats,
                limits,
            )
        }
    };
    RunFacts {
        end,
        now: sim.now(),
        stats,
    }
}

fn run_point(
    scenario: &Scenario,
    point: u64,
    runs: u64,
    horizon: Option<Tick>,
    warmup: Tick,
    limits: Limits,
) -> Runs {
    let mut scenario = scenario.clone();
    if horizon.is_some() {
        scenario.horizon = horizon;
    }
    let model = Model::new(scenario);
    let facts: Vec<RunFacts> = (0..runs)
        .map(|r| {
            one_run(
                &model,
                run_seed(model.scenario.seed, point, r),
                limits,
                warmup,
            )
        })
        .collect();
    summarise(&model.scenario, &facts, warmup)
}

/// Per pool, `f` of each run's memory statistics, combined over the runs with `combine`;
/// empty when the scenario does not model memory.
fn per_pool_memory(
    scenario: &Scenario,
    facts: &[RunFacts],
    f: impl Fn(&crate::report::stats::MemoryStats, usize) -> u64,
    combine: impl Fn(u64, u64) -> u64,
) -> Vec<(String, u64)> {
    if !scenario.models_memory() {
        return Vec::new();
    }
    scenario
        .pools
        .iter()
        .enumerate()
        .map(|(p, pool)| {
            let value = facts
                .iter()
                .filter_map(|fact| fact.stats.memory.as_ref())
                .map(|m| f(m, p))
                .fold(0, &combine);
            (pool.name.clone(), value)
        })
        .collect()
}

fn summarise(scenario: &Scenario, facts: &[RunFacts], warmup: Tick) -> Runs {
    let secs = |t: Tick| t as f64 / TICKS_PER_SECOND as f64;
    let runs = facts.len() as u64;
    let deadlocked: Vec<&RunFacts> = facts.iter().filter(|f| f.end == End::Deadlock).collect();
    let deadlocks = deadlocked.len() as u64;
    let (low, high) = wilson(deadlocks, runs);
    let observed = |f: &RunFacts| secs(f.now.saturating_sub(warmup));
    let throughput: Vec<f64> = facts
        .iter()
        .filter(|f| observed(f) > 0.0)
        .map(|f| {
            let finished: u64 = f.stats.tasks.iter().map(|t| t.completed + t.failed).sum();
            finished as f64 / observed(f)
        })
        .collect();
    let latency = scenario
        .tasks
        .iter()
        .enumerate()
        .map(|(t, task)| {
            // The runs' latencies are summed as counts, and each run's mean and p99 read from its
            // own (as its histogram would answer): no histogram is made per run.
            let mut sum = Latencies::new();
            let mut means = Vec::new();
            let mut p99s = Vec::new();
            for f in facts {
                let latencies = &f.stats.tasks[t].latency;
                if latencies.is_empty() {
                    continue;
                }
                sum.add(latencies);
                means.push(secs(latencies.mean() as Tick));
                p99s.push(secs(latencies.value_at_quantile(0.99)));
            }
            let all = sum.histogram();
            let latency = (!all.is_empty()).then(|| Latency {
                finished: all.len(),
                p50: secs(all.value_at_quantile(0.5)),
                p95: secs(all.value_at_quantile(0.95)),
                p99: secs(all.value_at_quantile(0.99)),
                mean: Estimate::mean_of(&means).expect("a run finished one"),
                p99_ci: Estimate::mean_of(&p99s).expect("a run finished one"),
            });
            (task.name.clone(), latency)
        })
        .collect();
    let utilisation = scenario
        .pools
        .iter()
        .enumerate()
        .map(|(p, pool)| {
            let (busy, blocked, idle) = facts.iter().fold((0u128, 0u128, 0u128), |a, f| {
                let s = f.stats.pools[p];
                (a.0 + s.busy, a.1 + s.blocked, a.2 + s.idle)
            });
            let total = (busy + blocked + idle) as f64;
            let shares = (total > 0.0).then(|| Utilisation {
                busy: busy as f64 / total,
                blocked: blocked as f64 / total,
                idle: idle as f64 / total,
            });
            (pool.name.clone(), shares)
        })
        .collect();
    let time: f64 = facts
        .iter()
        .map(|f| f.now.saturating_sub(warmup) as f64)
        .sum();
    let queues = scenario
        .queues
        .iter()
        .enumerate()
        .map(|(q, queue)| {
            let area: f64 = facts.iter().map(|f| f.stats.queue_area[q] as f64).sum();
            let max = facts
                .iter()
                .map(|f| f.stats.max_queue[q])
                .max()
                .unwrap_or(0);
            let mean = if time > 0.0 { area / time } else { 0.0 };
            (queue.name.clone(), QueueLength { mean, max })
        })
        .collect();
    Runs {
        runs,
        deadlocks,
        deadlock: Estimate {
            value: deadlocks as f64 / runs.max(1) as f64,
            low,
            high,
        },
        time_to_deadlock: (deadlocks > 0)
            .then(|| deadlocked.iter().map(|f| secs(f.now)).sum::<f64>() / deadlocks as f64),
        limited: facts
            .iter()
            .filter(|f| {
                matches!(
                    f.end,
                    End::EventLimit
                        | End::TaskLimit
                        | End::MemoryLimit { .. }
                        | End::Stopped
                        | End::RestartLoop
                )
            })
            .count() as u64,
        throughput: Estimate::mean_of(&throughput),
        latency,
        utilisation,
        queues,
        peak_rss: per_pool_memory(scenario, facts, |m, p| m.pool_peak[p], u64::max),
        restarts: per_pool_memory(
            scenario,
            facts,
            |m, p| m.restarts[p].iter().sum(),
            |a, b| a + b,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_ranges_stepped_ranges_or_lists() {
        let v = Vary::parse("pool.default.workers=1..4").unwrap();
        assert_eq!(v.path, "pool.default.workers");
        assert_eq!(v.values, ["1", "2", "3", "4"]);
        assert_eq!(Vary::parse("x=1..10:4").unwrap().values, ["1", "5", "9"]);
        assert_eq!(Vary::parse("x=0.5, 1,2").unwrap().values, ["0.5", "1", "2"]);
        assert_eq!(
            Vary::parse(r#"t=[{a=1,b="x,y"}],[2, 3], "p,q""#)
                .unwrap()
                .values,
            [r#"[{a=1,b="x,y"}]"#, "[2, 3]", r#""p,q""#]
        );
        assert!(Vary::parse("x=4..1").unwrap_err().contains("empty"));
        assert!(Vary::parse("x=1..5:0").unwrap_err().contains("at least 1"));
        assert!(Vary::parse("workers").unwrap_err().contains("PATH=VALUES"));
        assert!(Vary::parse("x=1..1000000000")
            .unwrap_err()
            .contains("at most 100000 points"));
    }

    #[test]
    fn points_are_the_cross_product_first_path_slowest() {
        let vary = [
            Vary::parse("a=1,2").unwrap(),
            Vary::parse("b=x,y,z").unwrap(),
        ];
        let p = points(&vary).unwrap();
        assert_eq!(p.len(), 6);
        assert_eq!(describe(&p[0]), "a=1, b=x");
        assert_eq!(describe(&p[1]), "a=1, b=y");
        assert_eq!(describe(&p[3]), "a=2, b=x");
        assert_eq!(describe(&p[5]), "a=2, b=z");
    }

    #[test]
    fn a_mean_has_an_interval_that_shrinks_with_samples() {
        let few = Estimate::mean_of(&[1.0, 3.0]).unwrap();
        let many = Estimate::mean_of(&[1.0, 3.0].repeat(50)).unwrap();
        assert_eq!(few.value, 2.0);
        assert_eq!(many.value, 2.0);
        assert!(few.low < many.low && many.high < few.high);
        assert_eq!(Estimate::mean_of(&[]), None);
    }
}
