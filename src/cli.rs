//! The command line: clap types, one module per subcommand, and the helpers they share.
//!
//! Each subcommand is a plain function from its parsed arguments to an [`ExitStatus`] or a
//! [`qsim::Error`]: it parses its flags, calls the library, prints the answer with the
//! renderer `--format` picks, and turns the answer into an exit status. [`run`] dispatches and
//! turns errors into `error: ...` on stderr. Adding a subcommand is one variant of [`Command`]
//! and one arm in [`run`]. Which answer gives which exit code is decided in one place, the
//! `From` implementations of [`ExitStatus`] below. The helpers — loading a scenario with its
//! `--set` overrides, printing a report, writing a file atomically — are shared so every
//! subcommand reads, prints and writes the same way.

pub mod check;
pub mod explore;
pub mod merge;
pub mod page;
pub mod plan;
pub mod replay;
pub mod run;
pub mod sweep;

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use qsim::engine::Outcome;
use qsim::explore::random::MonteCarlo;
use qsim::explore::{MinWorkers, Verdict};
use qsim::output::Output;
use qsim::report::{self, Report, Trace};
use qsim::scenario::recorded::touches_arrivals;
use qsim::scenario::{Recorded, Warning};
use qsim::{Error, Scenario};

/// qsim: will this task-queue workload deadlock?
#[derive(Debug, Parser)]
#[command(
    name = "qsim",
    version,
    about = "Tells whether a task-queue workload can deadlock, how likely it is, and why",
    long_about = "\
Tells whether a task-queue workload can deadlock, how likely it is, and why.

qsim simulates a task-queue workload deterministically: pools of workers take tasks from \
queues, and tasks work, spawn children and wait for them, as in Huey, Celery or RQ. Describe \
the workload in a scenario file (TOML) and qsim answers: does it finish, or do the workers \
deadlock? If they do, which tasks hold which workers waiting for children that no worker will \
ever take? It also reports task latencies, how busy, blocked and idle the workers were, and \
how long the queues grew.",
    after_help = "\
Example: two parents each spawn 10 subtasks of 4s and wait for them, on 2 workers
  $ cat fanout.toml
  [[pool]]
  workers = 2
  [[task]]
  name = \"main_task\"
  steps = [{ spawn = \"subtask\", count = 10 }, { wait = \"children\" }]
  [[task]]
  name = \"subtask\"
  steps = [{ work = \"4s\" }]
  [[arrival]]
  task = \"main_task\"
  at = [\"0s\", \"0s\"]

  $ qsim run fanout.toml                               # deadlock at 0s: exit 1
  $ qsim run fanout.toml --set pool.default.workers=4  # completed at 36s: exit 0

Exit status: 0 no deadlock, 1 deadlock, 2 bad input or event limit, 3 inconclusive."
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a scenario once, in the canonical order, and report what happened.
    ///
    /// Runs until every task has finished, the horizon is reached, or the workers deadlock;
    /// prints each task type's counts and latencies, how the workers spent their time, and
    /// queue lengths. A deadlock is explained: which tasks hold which workers, waiting for
    /// which queued children. When the scenario models memory (docs/memory.md), also each
    /// worker's, pool's and the host's peak memory, restarts by cause, lost and re-queued
    /// tasks, and the look-alikes of a deadlock: an orphaned wait (a parent waiting for a child
    /// lost with its process), a restart loop, recycling that frees nothing. Exit status 0
    /// without a hang, 1 with one (a deadlock, an orphaned wait, a restart loop that makes no
    /// progress).
    Run(run::RunArgs),

    /// Explore every timing: prove a scenario deadlock-free, or find a minimal replayable
    /// schedule that deadlocks; or estimate the probability of deadlock from random runs.
    ///
    /// Exhaustive mode (the default with finite arrivals) visits every state reachable under
    /// any timing (or, with --timing exact, under the scenario's own instants), with state
    /// hashing, symmetry and partial-order reduction, breadth-first so the counterexample is a
    /// shortest one. Verdicts: deadlock (exit 1, with the schedule as a numbered story),
    /// deadlock_free (exit 0), inconclusive (exit 3: a budget ran out, or Ctrl-C).
    ///
    /// Random mode (--mode random --runs N) runs the scenario N times with its own
    /// distributions and random tie-breaking, in parallel, identical on any thread count: the
    /// probability of deadlock with a 95% Wilson interval, time to deadlock, and the seed of a
    /// deadlocking run. Exit 1 if any run deadlocked, 3 if every run hit a limit, else 0.
    ///
    /// --min-workers POOL finds the smallest worker count of POOL that is proved
    /// deadlock-free. With P parents that each spawn at least one child and wait for it
    /// without a timeout, in a single pool of W workers, some timing deadlocks if and only if
    /// P >= W.
    Explore(explore::ExploreArgs),

    /// Replay a schedule written by `qsim explore --schedule-out`, step by step.
    ///
    /// Prints each step as a sentence, then the same report as `qsim run`; ends in the
    /// schedule's deadlock (exit 1). --format json, --trace and --dot as in `qsim run`.
    Replay(replay::ReplayArgs),

    /// Run a scenario over a grid of settings: the deadlock probability, throughput,
    /// latencies, utilisation and queue lengths at every point, or (--explore) each point's
    /// verdict under every timing.
    ///
    /// `--vary PATH=VALUES` (repeatable) names what to vary, as --set names it, and its values:
    /// a range 1..16, a stepped range 1..64:4, or a list 0.5,1,2. Every point of the cross
    /// product runs --runs times, in parallel, with the same results on any number of threads;
    /// any run can be reproduced alone with `qsim run --set ...` (the output says how). Exit 1
    /// when some point deadlocked, 3 when some exhaustive point was inconclusive, else 0.
    Sweep(sweep::SweepArgs),

    /// Find the smallest worker count of a pool that meets every objective (p99 latency,
    /// deadlock share, utilisation), by galloping then bisection over worker counts, each
    /// estimated from --runs runs; with --prove, decide the answer's deadlock freedom
    /// exhaustively too.
    ///
    /// Prints the answer, each objective at the answer with its 95% interval and margin, and
    /// every count tried. Exit 0 met, 1 not met within --up-to (with the reason), 2 bad input,
    /// 3 uncertain (--prove found a deadlock or ran out of budget, or runs hit a limit).
    Plan(plan::PlanArgs),

    /// Put the shards of a sweep back together: print what the unsplit `qsim sweep` prints.
    ///
    /// The shard files come from `qsim sweep ... --shard I/N --out FILE` (or --shard auto in a
    /// Slurm array job or a Kubernetes Indexed Job), run anywhere. Every shard must be given
    /// once, all of one sweep (the same scenario, overrides, values, seed and runs); the table,
    /// JSON or CSV is then byte for byte the unsplit sweep's, and so is the exit status: 1 when
    /// some point deadlocked, 3 when some exhaustive point was inconclusive, else 0.
    Merge(merge::MergeArgs),

    /// Validate scenario files without running them, for editors and CI.
    ///
    /// Prints `FILE: ok` for each valid file (nothing with -q), and each invalid file's error
    /// (every file is checked, not only up to the first error). Warnings, such as a priority on
    /// a queue that ignores priorities, are printed too and do not change the exit status: 0
    /// when every file is valid, 2 otherwise.
    Check(check::CheckArgs),
}

/// How a command ended, as the shell will see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// No deadlock: the run completed or reached its horizon (or exploration proved the
    /// scenario deadlock-free). Exit code 0.
    Success,
    /// A deadlock was found. Exit code 1.
    Deadlock,
    /// Bad input or usage, a file that cannot be read or written, or the event limit. Exit
    /// code 2.
    Error,
    /// Neither a deadlock nor a proof that there is none (a budget ran out). Exit code 3.
    Inconclusive,
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> ExitCode {
        ExitCode::from(match status {
            ExitStatus::Success => 0,
            ExitStatus::Deadlock => 1,
            ExitStatus::Error => 2,
            ExitStatus::Inconclusive => 3,
        })
    }
}

/// A run (`qsim run`, `qsim replay`): a hang (a deadlock, an orphaned wait, a restart loop
/// that makes no progress) is 1; a limit hit, or a replayed schedule that stopped fitting, is
/// an error.
impl From<&Outcome> for ExitStatus {
    fn from(outcome: &Outcome) -> ExitStatus {
        match outcome {
            Outcome::Completed | Outcome::Horizon => ExitStatus::Success,
            Outcome::Deadlock(_) | Outcome::RestartLoop { .. } => ExitStatus::Deadlock,
            Outcome::EventLimit
            | Outcome::TaskLimit
            | Outcome::MemoryLimit { .. }
            | Outcome::Stopped => ExitStatus::Error,
        }
    }
}

/// An exhaustive exploration.
impl From<&Verdict> for ExitStatus {
    fn from(verdict: &Verdict) -> ExitStatus {
        match verdict {
            Verdict::Deadlock { .. } => ExitStatus::Deadlock,
            Verdict::DeadlockFree => ExitStatus::Success,
            Verdict::Inconclusive { .. } => ExitStatus::Inconclusive,
        }
    }
}

/// Random mode: any deadlocking run is a deadlock; no run that ended (every one hit a limit)
/// tells nothing.
impl From<&MonteCarlo> for ExitStatus {
    fn from(mc: &MonteCarlo) -> ExitStatus {
        if mc.deadlocks > 0 {
            ExitStatus::Deadlock
        } else if mc.is_inconclusive() {
            ExitStatus::Inconclusive
        } else {
            ExitStatus::Success
        }
    }
}

/// `--min-workers`: success only for an answer no inconclusive count casts doubt on; a
/// deadlock when every count tried deadlocks.
impl From<&MinWorkers> for ExitStatus {
    fn from(m: &MinWorkers) -> ExitStatus {
        match (m.min_workers, m.any_inconclusive()) {
            (Some(_), false) => ExitStatus::Success,
            (_, true) => ExitStatus::Inconclusive,
            (None, false) => ExitStatus::Deadlock,
        }
    }
}

/// `qsim check`: every file valid, or bad input.
impl From<&check::Checked> for ExitStatus {
    fn from(checked: &check::Checked) -> ExitStatus {
        if checked.invalid == 0 {
            ExitStatus::Success
        } else {
            ExitStatus::Error
        }
    }
}

/// Runs the command and reports its errors on stderr.
pub fn run(cli: Cli) -> ExitStatus {
    let result = match cli.command {
        Command::Run(args) => run::run(&args),
        Command::Explore(args) => explore::run(&args),
        Command::Replay(args) => replay::run(&args),
        Command::Sweep(args) => sweep::run(&args),
        Command::Plan(args) => plan::run(&args),
        Command::Merge(args) => merge::run(&args),
        Command::Check(args) => check::run(&args),
    };
    match result {
        Ok(status) => status,
        // The reader went away (`qsim run f | head`): nothing left to tell anyone.
        Err(e) if is_broken_stdout(&e) => ExitStatus::Success,
        Err(e) => {
            to_stderr(&format!("error: {}", chain(&e)));
            ExitStatus::Error
        }
    }
}

/// The scenario file and its overrides, as every subcommand that reads a scenario takes them.
#[derive(Debug, Args)]
pub struct ScenarioArgs {
    /// The scenario file (TOML).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// Override a scenario field before validation: pool.default.workers=4, seed=7,
    /// task.subtask.priority=5, arrival.0.rate=2 (named tables by name, arrivals by index).
    ///
    /// Repeat for several fields; they apply in order. The value is read as TOML (`4`, `"x"`,
    /// `["a", "b"]`), else as a string (`horizon=2h`). An override is checked like the file
    /// itself.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub sets: Vec<String>,

    /// Replay recorded arrivals: a CSV file with a header `time,task` and one row per arrival
    /// (time as 12.5, "12.5s" or "250ms" from the start of the run; task a task type of the
    /// scenario), in any order. They replace every [[arrival]] stream of the scenario.
    #[arg(long, value_name = "FILE.csv")]
    pub arrivals_from: Option<PathBuf>,
}

impl ScenarioArgs {
    /// The `--set` overrides, with a command's `--horizon` as one more (`horizon="Nns"`), so
    /// that every point validates with it and a reproduce command carries it.
    pub(crate) fn sets_with_horizon(&self, horizon: Option<u64>) -> Vec<String> {
        let mut sets = self.sets.clone();
        if let Some(h) = horizon {
            sets.push(format!("horizon=\"{h}ns\""));
        }
        sets
    }

    /// Reads, overrides and validates the scenario, puts the recorded arrivals in place of its
    /// own (`--arrivals-from`), and prints its warnings on stderr.
    pub(crate) fn load(&self) -> qsim::Result<Scenario> {
        let (scenario, warnings) = qsim::scenario::load_with_warnings(&self.file, &self.sets)?;
        warn(&warnings);
        let Some(recorded) = self.recorded(&[])? else {
            return Ok(scenario);
        };
        let scenario = recorded.apply(&scenario)?;
        self.note_arrivals(&recorded);
        Ok(scenario)
    }

    /// The recorded arrivals of `--arrivals-from`, read. A `--set` or a varied path (`vary`)
    /// that changes the scenario's arrivals is an error, since it would change nothing.
    pub(crate) fn recorded(&self, vary: &[String]) -> qsim::Result<Option<Recorded>> {
        let Some(path) = &self.arrivals_from else {
            return Ok(None);
        };
        let sets = self.sets.iter().map(|s| ("--set", s));
        let varied = vary.iter().map(|v| ("--vary", v));
        if let Some((flag, p)) = sets.chain(varied).find(|(_, p)| touches_arrivals(p)) {
            return Err(Error::Usage(format!(
                "{flag} {p} changes the scenario's [[arrival]] streams, which --arrivals-from \
                 replaces: drop one or the other"
            )));
        }
        Recorded::load(path).map(Some)
    }

    /// Notes on stderr that `recorded` replaced the scenario's arrivals.
    pub(crate) fn note_arrivals(&self, recorded: &Recorded) {
        to_stderr(&format!(
            "note: arrivals replayed from {} ({}), in place of the scenario's [[arrival]] streams",
            recorded.file,
            recorded.summary()
        ));
    }

    /// The files the command reads: the scenario, and the recorded arrivals if any. Output
    /// files are never written over them.
    pub(crate) fn inputs(&self) -> Vec<&Path> {
        std::iter::once(self.file.as_path())
            .chain(self.arrivals_from.as_deref())
            .collect()
    }
}

/// Prints a scenario's warnings on stderr, `warning: FILE:LINE:COLUMN: ...` with the line and
/// a caret, as errors are printed; they change nothing else.
pub(crate) fn warn(warnings: &[Warning]) {
    for w in warnings {
        to_stderr(&format!("warning: {w}"));
    }
}

/// How a run is reported: the format of the report on stdout, and the trace and wait-for
/// graph written beside it (shared by `run` and `replay`).
#[derive(Debug, Args)]
pub struct OutputArgs {
    /// How to print the report.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// Write every event of the run to FILE, one JSON object per line
    /// ({"t":0.0,"event":"taken","task":"main_task#1","worker":"default/1"}).
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,

    /// Write the deadlock's wait-for graph to FILE, in Graphviz DOT (render it with
    /// `dot -Tsvg FILE`). Without a deadlock no file is written.
    #[arg(long, value_name = "FILE")]
    pub dot: Option<PathBuf>,
}

impl OutputArgs {
    /// The trace observer, writing to a temporary file until the run is over; never over one
    /// of `inputs` (the files the command reads). Checks the `--dot` path too, so that a path
    /// qsim will not write is refused before the run rather than after it.
    pub(crate) fn open_trace(&self, inputs: &[&Path]) -> qsim::Result<Option<Trace<Output>>> {
        if let Some(dot) = &self.dot {
            qsim::output::check(dot, inputs)?;
        }
        self.trace
            .as_ref()
            .map(|path| Output::create(path, inputs).map(Trace::new))
            .transpose()
    }

    /// Moves the trace into place and writes the wait-for graph of a deadlock (or notes on
    /// stderr that there is none), each whole or not at all: a write that failed halfway
    /// leaves no file. Never over one of `inputs`.
    pub(crate) fn write_files(
        &self,
        trace: Option<Trace<Output>>,
        outcome: &Outcome,
        inputs: &[&Path],
    ) -> qsim::Result<()> {
        if let (Some(trace), Some(path)) = (trace, &self.trace) {
            let file = trace
                .finish()
                .map_err(|e| Error::io(path.display().to_string(), e))?;
            file.commit()?;
        }
        match (&self.dot, outcome) {
            (Some(path), Outcome::Deadlock(d)) => {
                write_atomically(path, inputs, report::dot::render(d).as_bytes())?
            }
            (Some(path), _) => to_stderr(&format!(
                "note: no deadlock, so no wait-for graph was written to {} (a file already \
                 there is left as it is)",
                path.display()
            )),
            (None, _) => {}
        }
        Ok(())
    }
}

/// How a report is printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned tables for people.
    Text,
    /// One JSON object for programs (stable keys, scenario order).
    Json,
}

/// What qsim calls standard output in error messages.
const STDOUT: &str = "<stdout>";

/// Prints `text` to standard output, reporting a failure (a closed pipe, say) as an error.
pub(crate) fn print(text: &str) -> qsim::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Error::io(STDOUT, e))
}

/// Prints `report` to standard output in `format`.
pub(crate) fn print_report(report: &Report, format: Format) -> qsim::Result<()> {
    print(&match format {
        Format::Text => report::text::render(report),
        Format::Json => report::json::render(report),
    })
}

fn is_broken_stdout(e: &Error) -> bool {
    matches!(e, Error::Io { path, source } if path == STDOUT && source.kind() == io::ErrorKind::BrokenPipe)
}

/// The error and its causes, `: `-separated, leaving out a cause the message already quotes.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let cause = s.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
        source = s.source();
    }
    text
}

/// Writes `contents` to `path` whole or not at all, never over one of `inputs` (see
/// [`qsim::output`]).
pub(crate) fn write_atomically(path: &Path, inputs: &[&Path], contents: &[u8]) -> qsim::Result<()> {
    qsim::output::write_whole(path, inputs, |w| w.write_all(contents))
}

/// Writes a line to standard error, ignoring failure: stderr is where failures are told, so
/// when it is closed or full (`2>/dev/full`) there is no one left to tell, and the exit status
/// still says what happened.
pub(crate) fn to_stderr(line: &str) {
    let _ = writeln!(io::stderr().lock(), "{line}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chains_causes_without_repeating_them() {
        let e = Error::io("out.jsonl", io::Error::other("disk full"));
        assert_eq!(chain(&e), "out.jsonl: disk full");
    }

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
