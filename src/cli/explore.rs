//! `qsim explore`: can any timing deadlock, and how likely is it?
//!
//! Three questions, one subcommand:
//! - exhaustive (default when every arrival stream is finite): every schedule under "any
//!   timing" (or `--timing exact`), giving `deadlock` with a replayable schedule,
//!   `deadlock_free`, or `inconclusive`;
//! - `--mode random`: Monte Carlo runs under the scenario's distributions;
//! - `--min-workers POOL`: the smallest worker count that exhaustive search proves safe.
//!
//! Each mode checks its flags, asks the library for its answer ([`explore::explore`],
//! [`monte_carlo`], [`explore::min_workers`]), prints it with the renderer `--format` picks
//! ([`report::text`] or [`report::json`]) and returns the exit status of that answer.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use qsim::engine::Limits;
use qsim::explore::exhaustive::Progress;
use qsim::explore::random::monte_carlo;
use qsim::explore::{self, Budget, Order, Reductions, Timing, Verdict};
use qsim::memory::MemoryLimit;
use qsim::report::{self, ExplorationReport};
use qsim::scenario::{duration::parse_duration, Scenario, Tick};
use qsim::Error;

use super::{print, write_atomically, ExitStatus, Format, ScenarioArgs};

/// How to explore.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    /// Every schedule (needs finite arrivals): a proof or a counterexample.
    Exhaustive,
    /// Many runs with the scenario's distributions and random tie-breaking: a probability.
    Random,
}

/// Timing model of the exhaustive search (see `qsim explore --help`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TimingArg {
    /// Every duration may take any value: only the order of events matters.
    Any,
    /// The scenario's own instants (distributions at their means): only same-instant races.
    Exact,
}

/// The arguments of `qsim explore`.
#[derive(Debug, Args)]
pub struct ExploreArgs {
    /// The scenario and its overrides.
    #[command(flatten)]
    pub scenario: ScenarioArgs,

    /// exhaustive: visit every schedule and prove deadlock freedom or find a counterexample
    /// (the default when every arrival stream is finite). random: estimate the probability of
    /// deadlock from --runs runs (the default otherwise).
    #[arg(long, value_enum)]
    pub mode: Option<Mode>,

    /// any: every duration and gap may take any value, so only the order of completions,
    /// arrivals, spawns and dispatches matters (the arrivals of one [[arrival]] keep their
    /// order). exact: keep the scenario's instants (distributions at their means) and explore
    /// only what they leave open: events due at the same instant, which idle worker takes
    /// which task, and how tasks taken at the same instant interleave.
    #[arg(long, value_enum, default_value_t = TimingArg::Any)]
    pub timing: TimingArg,

    /// Give up (verdict inconclusive, exit 3) after visiting N distinct states.
    #[arg(long, value_name = "N", default_value_t = Budget::default().max_states)]
    pub max_states: u64,

    /// Give up (inconclusive) after this much wall-clock time, e.g. 30s or 5m.
    #[arg(long, value_name = "DURATION", value_parser = parse_wall_time)]
    pub max_time: Option<Duration>,

    /// Give up (inconclusive) before the process's resident memory exceeds this many
    /// megabytes (of 2^20 bytes), as the operating system counts it.
    #[arg(long, value_name = "MB", long_help = max_memory_help("exhaustive: verdict inconclusive, exit 3; random: the run counts as hitting a limit"))]
    pub max_memory: Option<u64>,

    /// Search without symmetry and partial-order reduction (slower; for checking them).
    #[arg(long)]
    pub no_reductions: bool,

    /// Search breadth-first, so that a counterexample is a shortest one. By default the
    /// search goes depth-first, trying first the choices that lead toward a deadlock (arrivals,
    /// workers taking tasks, tasks running), which finds a deadlock in large scenarios far
    /// sooner and with less memory; its counterexample is minimised (no step can be removed)
    /// but may be longer than a shortest one. Without a deadlock both visit the same states.
    #[arg(long)]
    pub shortest: bool,

    /// Write the counterexample schedule to FILE (JSON), for `qsim replay`.
    #[arg(long, value_name = "FILE")]
    pub schedule_out: Option<std::path::PathBuf>,

    /// Find the smallest worker count of POOL that exhaustive search proves deadlock-free.
    #[arg(long, value_name = "POOL")]
    pub min_workers: Option<String>,

    /// With --min-workers: try worker counts 1..=N.
    #[arg(long, value_name = "N", default_value_t = 16)]
    pub up_to: u32,

    /// Random mode: number of runs [default: 10000].
    #[arg(long, value_name = "N")]
    pub runs: Option<u64>,

    /// Random mode: base seed of the runs (default: the scenario's seed).
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,

    /// Random mode: stop each run at this instant (needed for endless arrival streams).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub horizon: Option<Tick>,

    /// Random mode: give up a run after N engine steps.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_events)]
    pub max_events: u64,

    /// Random mode: give up a run when more than N tasks are alive at once.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_tasks)]
    pub max_tasks: u64,

    /// How to print the result.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// No progress bar on stderr.
    #[arg(long, short)]
    pub quiet: bool,

    /// A report for people (HTML or Markdown): the verdict; a counterexample step by step, with
    /// the workers' timeline and the wait-for graph.
    #[command(flatten)]
    pub report: super::page::ReportArgs,
}

/// `--max-memory`'s help, with the default this machine gives now.
pub(super) fn max_memory_help(stop: &str) -> String {
    let default = match MemoryLimit::default_for_this_machine() {
        Some(m) => format!("{} on this machine now", qsim::memory::megabytes(m.bytes)),
        None => "none where the system does not tell".into(),
    };
    format!(
        "Give up ({stop}) before the process's resident memory, as the operating system counts \
         it, exceeds this many megabytes (of 2^20 bytes): qsim stops with what it has instead \
         of being killed.\n\n\
         [default: half the memory available when qsim starts: {default}]"
    )
}

fn parse_wall_time(text: &str) -> Result<Duration, String> {
    parse_duration(text).map(Duration::from_nanos)
}

impl ExploreArgs {
    fn timing(&self) -> Timing {
        match self.timing {
            TimingArg::Any => Timing::Any,
            TimingArg::Exact => Timing::Exact,
        }
    }

    fn reductions(&self) -> Reductions {
        if self.no_reductions {
            Reductions::NONE
        } else {
            Reductions::ALL
        }
    }

    fn order(&self) -> Order {
        if self.shortest {
            Order::Shortest
        } else {
            Order::DeadlockFirst
        }
    }

    fn budget(&self, stop: Arc<AtomicBool>) -> Budget {
        Budget {
            max_states: self.max_states,
            max_time: self.max_time,
            max_memory: self
                .max_memory
                .map(MemoryLimit::megabytes)
                .or_else(MemoryLimit::default_for_this_machine),
            stop: Some(stop),
        }
    }
}

/// Runs `qsim explore`.
pub fn run(args: &ExploreArgs) -> qsim::Result<ExitStatus> {
    let scenario = args.scenario.load()?;
    let mode = match args.mode {
        Some(mode) => mode,
        None if args.min_workers.is_some() || bounded(args, &scenario) => Mode::Exhaustive,
        None => Mode::Random,
    };
    check_flags(args, mode)?;
    args.report.check(&[&args.scenario.file])?;
    if let Some(pool) = &args.min_workers {
        return min_workers(args, &scenario, pool);
    }
    match mode {
        Mode::Random => random(args, &scenario),
        Mode::Exhaustive => exhaustive(args, &scenario),
    }
}

/// Flags of one mode given in the other are a mistake worth saying, not ignoring.
fn check_flags(args: &ExploreArgs, mode: Mode) -> qsim::Result<()> {
    let misplaced = |flag: &str, mode: &str| {
        Err(Error::Usage(format!(
            "{flag} only applies to --mode {mode}"
        )))
    };
    match mode {
        Mode::Exhaustive => {
            if args.runs.is_some() {
                return misplaced("--runs", "random");
            }
            if args.seed.is_some() {
                return misplaced("--seed", "random (exhaustive search covers every timing)");
            }
            if args.horizon.is_some() {
                return misplaced(
                    "--horizon",
                    "random (set the scenario's horizon with --set horizon=D)",
                );
            }
        }
        Mode::Random => {
            if args.min_workers.is_some() {
                return Err(Error::Usage(
                    "--min-workers proves deadlock freedom with exhaustive search: drop --mode random".into(),
                ));
            }
            if args.schedule_out.is_some() {
                return misplaced("--schedule-out", "exhaustive");
            }
            if args.shortest {
                return misplaced("--shortest", "exhaustive");
            }
            if args.timing == TimingArg::Exact {
                return misplaced(
                    "--timing exact",
                    "exhaustive (random runs use the scenario's own timing)",
                );
            }
        }
    }
    Ok(())
}

/// Whether exhaustive search has finitely many states to visit: finite arrivals, or exact
/// timing up to a horizon.
fn bounded(args: &ExploreArgs, scenario: &Scenario) -> bool {
    scenario.arrivals_are_finite()
        || (args.timing == TimingArg::Exact && scenario.horizon.is_some())
}

fn check_exhaustive(args: &ExploreArgs, scenario: &Scenario) -> qsim::Result<()> {
    if bounded(args, scenario) {
        Ok(())
    } else {
        Err(Error::Usage(
            "exhaustive exploration needs finite arrivals: give every [[arrival]] a count \
             (or use --timing exact with a horizon, or --mode random)"
                .into(),
        ))
    }
}

/// Ctrl-C sets the returned flag; the search then stops and reports what it visited.
fn stop_flag() -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    // Only one handler per process; a second call fails harmlessly.
    let _ = ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed));
    stop
}

fn progress_bar(quiet: bool) -> Option<ProgressBar> {
    if quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {prefix} {elapsed_precise} {msg}")
            .expect("the progress template is valid"),
    );
    Some(bar)
}

fn exhaustive(args: &ExploreArgs, scenario: &Scenario) -> qsim::Result<ExitStatus> {
    check_exhaustive(args, scenario)?;
    let bar = progress_bar(args.quiet);
    let budget = args.budget(stop_flag());
    let exploration = explore::decide(
        scenario,
        args.timing(),
        args.reductions(),
        args.order(),
        &budget,
        &mut |p| show(bar.as_ref(), p),
    );
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let report = ExplorationReport::new(scenario, args.timing(), args.reductions(), exploration);
    let verdict = &report.exploration.verdict;
    if let (Verdict::Deadlock { schedule, .. }, Some(path)) = (verdict, &args.schedule_out) {
        let json = serde_json::to_string_pretty(schedule).expect("a schedule serialises") + "\n";
        write_atomically(path, &[&args.scenario.file], json.as_bytes())?;
    }
    args.report
        .write(&args.scenario.file, &[&args.scenario.file], |o| {
            report::page::exploration(o, &report, scenario)
        })?;
    print(&match args.format {
        Format::Json => report::json::exploration(&report),
        Format::Text => {
            report::text::exploration(&report, &args.scenario.file, args.schedule_out.as_deref())
        }
    })?;
    Ok(ExitStatus::from(verdict))
}

/// Shows a search's progress on the bar, if there is one.
fn show(bar: Option<&ProgressBar>, p: Progress) {
    if let Some(bar) = bar {
        let rate = p.states as f64 / p.elapsed.as_secs_f64().max(1e-9);
        bar.set_message(format!(
            "{} states ({:.0}/s), frontier {}",
            p.states, rate, p.frontier
        ));
        bar.tick();
    }
}

fn random(args: &ExploreArgs, scenario: &Scenario) -> qsim::Result<ExitStatus> {
    if scenario.horizon.is_none() && args.horizon.is_none() && !scenario.arrivals_are_finite() {
        return Err(Error::Usage(
            "random runs of endless arrival streams need a horizon: give --horizon".into(),
        ));
    }
    let seed = args.seed.unwrap_or(scenario.seed);
    let limits = Limits {
        max_events: args.max_events,
        max_tasks: args.max_tasks,
        max_memory: args
            .max_memory
            .map(MemoryLimit::megabytes)
            .or_else(MemoryLimit::default_for_this_machine),
    };
    let runs = args.runs.unwrap_or(10_000);
    let mc = monte_carlo(scenario, runs, seed, args.horizon, limits);
    args.report
        .write(&args.scenario.file, &[&args.scenario.file], |o| {
            report::page::monte_carlo(o, &mc, scenario)
        })?;
    print(&match args.format {
        Format::Json => report::json::monte_carlo(&mc),
        Format::Text => report::text::monte_carlo(&mc, &args.scenario.file),
    })?;
    Ok(ExitStatus::from(&mc))
}

fn min_workers(args: &ExploreArgs, scenario: &Scenario, pool: &str) -> qsim::Result<ExitStatus> {
    check_exhaustive(args, scenario)?;
    let Some(p) = scenario.pool_id(pool) else {
        let known: Vec<&str> = scenario.pools.iter().map(|p| p.name.as_str()).collect();
        return Err(Error::Usage(format!(
            "--min-workers: no pool named \"{pool}\" (known: {})",
            known.join(", ")
        )));
    };
    let bar = progress_bar(args.quiet);
    let budget = args.budget(stop_flag());
    let answer = explore::min_workers(
        scenario,
        p,
        args.up_to,
        explore::min_workers::Search {
            timing: args.timing(),
            reductions: args.reductions(),
            order: args.order(),
        },
        &budget,
        &mut |workers, progress| match (&bar, progress) {
            (Some(bar), None) => bar.set_prefix(format!("{workers} workers")),
            (bar, Some(p)) => show(bar.as_ref(), p),
            (None, None) => {}
        },
    );
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    args.report
        .write(&args.scenario.file, &[&args.scenario.file], |o| {
            report::page::min_workers(o, &answer)
        })?;
    print(&match args.format {
        Format::Json => report::json::min_workers(&answer),
        Format::Text => report::text::min_workers(&answer),
    })?;
    Ok(ExitStatus::from(&answer))
}
