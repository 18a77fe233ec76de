//! `qsim sweep`: one scenario over a grid of settings, a table of results per point.
//!
//! Parses `--vary`, builds the [`qsim::sweep::Sweep`] (every point validated first), runs or
//! decides every point in parallel with a progress bar on a terminal, and prints the table,
//! JSON or CSV. Exit 0 when every point ran, 1 when some point deadlocked (a run, or under
//! some timing with `--explore`), 3 when some exhaustive point was inconclusive.
//!
//! With `--shard I/N` (or `auto`) it runs one slice of the points and writes a shard file
//! (`--out`) for `qsim merge` instead, and exits 0 once the file is written.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use qsim::engine::Limits;
use qsim::explore::{Budget, Timing};
use qsim::memory::MemoryLimit;
use qsim::report;
use qsim::scenario::duration::parse_duration;
use qsim::sweep::{Identity, Mode, Outcome, PointResult, Shard, ShardFile, Sweep, Vary};
use qsim::Error;

use super::explore::TimingArg;
use super::{print, to_stderr, write_atomically, ExitStatus, ScenarioArgs};

/// How to print a sweep.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SweepFormat {
    /// One aligned row per point.
    Table,
    /// One JSON object: `points` holds one object per point, its `values` beside its results.
    Json,
    /// One CSV row per point, with a header.
    Csv,
}

/// The arguments of `qsim sweep`.
#[derive(Debug, Args)]
pub struct SweepArgs {
    /// The scenario and its overrides (applied before the varied values).
    #[command(flatten)]
    pub scenario: ScenarioArgs,

    /// A path to vary and its values: PATH=1..16 (both ends included), PATH=1..64:4 (every
    /// 4th), or PATH=0.5,1,2 (a list; strings as "a","b"). PATH as in --set
    /// (pool.default.workers, arrival.0.rate, task.NAME.steps, ...). Repeat to vary several:
    /// every point of their cross product is visited, the first path varying slowest.
    #[arg(long, value_name = "PATH=VALUES", required = true, value_parser = Vary::parse)]
    pub vary: Vec<Vary>,

    /// Runs per point. Run R of point P uses a seed derived from the scenario's seed, P and R,
    /// so any run can be reproduced alone with `qsim run` (the output says how).
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub runs: u64,

    /// A horizon for every run, replacing the scenario's (needed with endless arrivals).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub horizon: Option<u64>,

    /// Drop the initial transient: tasks queued before this instant, and worker and queue
    /// time before it, are not counted.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "0s")]
    pub warmup: u64,

    /// Decide every point exhaustively instead of sampling it: its verdict under every timing
    /// (or --timing exact), the states searched and what decided it. With one varied
    /// pool.NAME.workers, also prints for every shape the smallest safe worker count.
    #[arg(long)]
    pub explore: bool,

    /// With --explore: the timing model (see `qsim explore --help`).
    #[arg(long, value_enum, default_value_t = TimingArg::Any, requires = "explore")]
    pub timing: TimingArg,

    /// With --explore: give up on a point (inconclusive) after visiting N states.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 1_000_000,
        requires = "explore"
    )]
    pub max_states: u64,

    /// Stop a run after N events (the run counts as limited).
    #[arg(long, value_name = "N", default_value_t = 10_000_000)]
    pub max_events: u64,

    /// Stop a run with more than N tasks alive at once (the run counts as limited).
    #[arg(long, value_name = "N", default_value_t = 1_000_000)]
    pub max_tasks: u64,

    /// Stop a run when the process holds more than this many megabytes (of 2^20 bytes).
    #[arg(long, value_name = "MB", long_help = super::explore::max_memory_help("the run counts as limited"))]
    pub max_memory: Option<u64>,

    /// How to print the results.
    #[arg(long, value_enum, default_value_t = SweepFormat::Table)]
    pub format: SweepFormat,

    /// A report for people (HTML or Markdown): curves against one varied path with their
    /// confidence bands, heat maps over two.
    #[command(flatten)]
    pub report: super::page::ReportArgs,

    /// No progress bar on stderr.
    #[arg(long, short)]
    pub quiet: bool,

    /// Run one slice of the points and write its results to --out, for `qsim merge`: I/N is
    /// shard I (from 0) of N, the points whose index P (in sweep order, from 0) has P % N = I;
    /// `auto` reads I and N from a Slurm array job (SLURM_ARRAY_TASK_ID,
    /// SLURM_ARRAY_TASK_COUNT) or a Kubernetes Indexed Job (JOB_COMPLETION_INDEX, with
    /// --shards N). Exit 0 once the file is written: the sweep's own exit status is merge's.
    #[arg(long, value_name = "I/N|auto", value_parser = ShardArg::parse, requires = "out", conflicts_with = "format")]
    pub shard: Option<ShardArg>,

    /// With --shard: how many shards, for --shard auto in a Kubernetes Indexed Job (the Job's
    /// completions; else the QSIM_SHARDS environment variable).
    #[arg(long, value_name = "N", requires = "shard", value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub shards: Option<u64>,

    /// With --shard: the file the shard's results go to (JSON), written whole or not at all.
    #[arg(long, value_name = "FILE", requires = "shard")]
    pub out: Option<PathBuf>,
}

/// `--shard`: a given slice, or one read from the batch scheduler's environment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShardArg {
    /// `I/N`.
    Given(Shard),
    /// `auto`.
    Auto,
}

impl ShardArg {
    fn parse(text: &str) -> Result<ShardArg, String> {
        if text.trim() == "auto" {
            Ok(ShardArg::Auto)
        } else {
            Shard::parse(text).map(ShardArg::Given)
        }
    }

    /// The shard this process runs, with a note on stderr when read from the environment.
    fn resolve(self, shards: Option<u64>) -> qsim::Result<Shard> {
        match self {
            ShardArg::Given(shard) => match shards {
                Some(n) if n != u64::from(shard.count) => Err(Error::Usage(format!(
                    "--shards {n} disagrees with --shard {shard}"
                ))),
                _ => Ok(shard),
            },
            ShardArg::Auto => {
                let (shard, from) = Shard::from_env(|name| std::env::var(name).ok(), shards)
                    .map_err(Error::Usage)?;
                to_stderr(&format!("note: this is shard {shard} (from {from})"));
                Ok(shard)
            }
        }
    }
}

/// Runs `qsim sweep`.
pub fn run(args: &SweepArgs) -> qsim::Result<ExitStatus> {
    let file = args.scenario.file.display().to_string();
    let inputs = [args.scenario.file.as_path()];
    args.report.check(&inputs)?;
    let text = std::fs::read_to_string(&args.scenario.file).map_err(|e| Error::io(&file, e))?;
    let sets = args.scenario.sets_with_horizon(args.horizon);
    let paths: Vec<String> = args.vary.iter().map(|v| v.path.clone()).collect();
    let recorded = args.scenario.recorded(&paths)?;
    let shard = args.shard.map(|s| s.resolve(args.shards)).transpose()?;
    let inputs = args.scenario.inputs();
    if let Some(out) = &args.out {
        // Refused before the runs rather than after them.
        qsim::output::check(out, &inputs)?;
    }
    let mut sweep = Sweep::new(&file, &text, &sets, &args.vary)?;
    if let Some(recorded) = &recorded {
        sweep = sweep.with_arrivals(recorded)?;
        args.scenario.note_arrivals(recorded);
    }
    let seed = qsim::scenario::parse(&file, &text, &sets)?.seed;
    if !args.explore {
        if let Some((point, _)) = sweep
            .points
            .iter()
            .find(|(_, s)| s.horizon.is_none() && !s.arrivals_are_finite())
        {
            return Err(Error::Usage(format!(
                "at the point {}: runs of endless arrival streams need a horizon: give --horizon",
                qsim::sweep::describe(point)
            )));
        }
    }
    let mode = if args.explore {
        Mode::Explore {
            timing: match args.timing {
                TimingArg::Any => Timing::Any,
                TimingArg::Exact => Timing::Exact,
            },
            budget: Budget {
                max_states: args.max_states,
                ..Budget::default()
            },
        }
    } else {
        Mode::Runs {
            runs: args.runs,
            horizon: None,
            warmup: args.warmup,
            limits: Limits {
                max_events: args.max_events,
                max_tasks: args.max_tasks,
                max_memory: MemoryLimit::given_or_default(args.max_memory),
            },
        }
    };
    let slice = shard.unwrap_or(Shard::WHOLE);
    let held = (0..sweep.points.len()).filter(|&p| slice.holds(p)).count();
    let bar = progress_bar(args.quiet, held as u64);
    let results = sweep.run_shard(&mode, slice, &|done| {
        if let Some(bar) = &bar {
            bar.set_position(done);
        }
    });
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    if let (Some(shard), Some(out)) = (shard, &args.out) {
        let identity = Identity::new(&sweep, &args.vary, &mode, &file, seed, args.runs);
        let json = ShardFile::new(identity, shard, results).to_json();
        write_atomically(out, &inputs, json.as_bytes())?;
        to_stderr(&format!(
            "note: wrote shard {shard} ({held} of {} points) to {}; put the shards together \
             with `qsim merge`",
            sweep.points.len(),
            out.display()
        ));
        return Ok(ExitStatus::Success);
    }
    args.report.write(&args.scenario.file, &inputs, |origin| {
        report::page::sweep(origin, &sweep, &results, args.runs, seed)
    })?;
    print(&render(
        args.format,
        &sweep,
        &results,
        args.runs,
        seed,
        &file,
    ))?;
    Ok(status(&results))
}

/// The sweep's results in `format` (shared with `qsim merge`, which prints the same bytes).
pub(crate) fn render(
    format: SweepFormat,
    sweep: &Sweep,
    results: &[PointResult],
    runs: u64,
    seed: u64,
    file: &str,
) -> String {
    match format {
        SweepFormat::Table => report::text::sweep(sweep, results, runs, seed, file),
        SweepFormat::Json => report::json::sweep(sweep, results, runs, seed, file),
        SweepFormat::Csv => report::csv::sweep(sweep, results),
    }
}

/// 1 when some point deadlocked, else 3 when some point was inconclusive, else 0.
pub(crate) fn status(results: &[PointResult]) -> ExitStatus {
    let deadlocked = results.iter().any(|r| match &r.outcome {
        Outcome::Runs(x) => x.deadlocks > 0,
        Outcome::Explored(e) => e.verdict.name() == "deadlock",
    });
    let inconclusive = results
        .iter()
        .any(|r| matches!(&r.outcome, Outcome::Explored(e) if e.verdict.name() == "inconclusive"));
    match (deadlocked, inconclusive) {
        (true, _) => ExitStatus::Deadlock,
        (false, true) => ExitStatus::Inconclusive,
        (false, false) => ExitStatus::Success,
    }
}

fn progress_bar(quiet: bool, points: u64) -> Option<ProgressBar> {
    if quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new(points);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} points, {eta} left")
            .expect("the progress template is valid"),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    Some(bar)
}
