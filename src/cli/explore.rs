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
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use qsim::engine::Limits;
use qsim::explore::exhaustive::Progress;
use qsim::explore::random::monte_carlo_counted;
use qsim::explore::random::MAX_RUNS;
use qsim::explore::{self, Budget, Order, Reductions, Timing, Verdict};
use qsim::memory::MemoryLimit;
use qsim::report::{self, ExplorationReport};
use qsim::scenario::validate::MAX_WORKERS;
use qsim::scenario::{duration::parse_duration, Scenario, Tick};
use qsim::Error;

use super::{print, to_stderr, write_atomically, ExitStatus, Format, ScenarioArgs};

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
    /// which task, and how tasks taken at the same instant interleave. [default: any]
    // An Option, like every flag of one mode with a default, so that giving it in the other mode
    // can be refused (clap cannot tell a default from a value given); the defaults are written
    // in the help, and a test checks them against the library's.
    #[arg(long, value_enum)]
    pub timing: Option<TimingArg>,

    /// Give up (verdict inconclusive, exit 3) after visiting N distinct states (at least 1)
    /// [default: 10000000].
    #[arg(long, value_name = "N", value_parser = at_least(1))]
    pub max_states: Option<u64>,

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

    /// With --min-workers: try worker counts 1..=N (N from 1 to 100000, the most workers a pool
    /// may have) [default: 16].
    #[arg(long, value_name = "N", value_parser = whole_from(1, MAX_WORKERS))]
    pub up_to: Option<u32>,

    /// Random mode: number of runs, from 1 to 1000000000 [default: 10000].
    #[arg(long, value_name = "N", value_parser = whole_from(1, MAX_RUNS))]
    pub runs: Option<u64>,

    /// Random mode: base seed of the runs (default: the scenario's seed).
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,

    /// Random mode: stop each run at this instant (needed for endless arrival streams).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub horizon: Option<Tick>,

    /// Random mode: give up a run after N engine steps [default: 1000000000].
    #[arg(long, value_name = "N")]
    pub max_events: Option<u64>,

    /// Random mode: give up a run when more than N tasks are alive at once [default: 10000000].
    #[arg(long, value_name = "N")]
    pub max_tasks: Option<u64>,

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

/// A parser of whole numbers from `min` to `max`, whose error says the range: clap then prints
/// `invalid value '0' for '--runs <N>': expected a whole number from 1 to 1000000000` and exits
/// 2 (issue 14: `--runs 18446744073709551615` used to panic).
pub(super) fn whole_from<T>(
    min: T,
    max: T,
) -> impl Fn(&str) -> Result<T, String> + Clone + Send + Sync + 'static
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy + Send + Sync + 'static,
{
    whole_number(min, max, format!("from {min} to {max}"))
}

/// A parser of whole numbers of at least `min` (and at most `u64::MAX`).
pub(super) fn at_least(
    min: u64,
) -> impl Fn(&str) -> Result<u64, String> + Clone + Send + Sync + 'static {
    whole_number(min, u64::MAX, format!("of at least {min}"))
}

fn whole_number<T>(
    min: T,
    max: T,
    range: String,
) -> impl Fn(&str) -> Result<T, String> + Clone + Send + Sync + 'static
where
    T: std::str::FromStr + PartialOrd + Copy + Send + Sync + 'static,
{
    move |text| {
        text.parse::<T>()
            .ok()
            .filter(|n| (min..=max).contains(n))
            .ok_or_else(|| format!("expected a whole number {range}"))
    }
}

fn parse_wall_time(text: &str) -> Result<Duration, String> {
    parse_duration(text).map(Duration::from_nanos)
}

/// `--up-to`'s default.
const UP_TO: u32 = 16;

/// `--runs`'s default.
const RUNS: u64 = 10_000;

impl ExploreArgs {
    fn timing(&self) -> Timing {
        match self.timing {
            None | Some(TimingArg::Any) => Timing::Any,
            Some(TimingArg::Exact) => Timing::Exact,
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
            max_states: self.max_states.unwrap_or(Budget::default().max_states),
            max_time: self.max_time,
            max_memory: MemoryLimit::given_or_default(self.max_memory),
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
    check_flags(args, mode, args.mode.is_some())?;
    args.report.check(&[&args.scenario.file])?;
    if let Some(pool) = &args.min_workers {
        return min_workers(args, &scenario, pool);
    }
    match mode {
        Mode::Random => random(args, &scenario),
        Mode::Exhaustive => exhaustive(args, &scenario),
    }
}

/// What a flag of `qsim explore` applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AppliesTo {
    /// The exhaustive search, alone or for --min-workers.
    Search,
    /// The exhaustive search of the scenario as it is (not --min-workers).
    OneSearch,
    /// --min-workers.
    MinWorkers,
    /// Random mode.
    Random,
}

/// A flag that does not apply to the mode explore runs in is a mistake worth saying, not
/// ignoring (issue 14). `chosen` tells whether the mode was given with --mode, or inferred
/// from the scenario (said in the message, since the user did not ask for it).
fn check_flags(args: &ExploreArgs, mode: Mode, chosen: bool) -> qsim::Result<()> {
    use AppliesTo::*;
    let min_workers = args.min_workers.is_some();
    if mode == Mode::Random && min_workers {
        return Err(Error::Usage(
            "--min-workers proves deadlock freedom with exhaustive search: drop --mode random"
                .into(),
        ));
    }
    let flags = [
        (
            "--timing",
            args.timing.is_some(),
            Search,
            " (random runs use the scenario's own timing)",
        ),
        ("--max-states", args.max_states.is_some(), Search, ""),
        (
            "--max-time",
            args.max_time.is_some(),
            Search,
            " (random mode has no time budget: lower --runs)",
        ),
        ("--no-reductions", args.no_reductions, Search, ""),
        ("--shortest", args.shortest, Search, ""),
        ("--schedule-out", args.schedule_out.is_some(), OneSearch, ""),
        ("--up-to", args.up_to.is_some(), MinWorkers, ""),
        ("--runs", args.runs.is_some(), Random, ""),
        (
            "--seed",
            args.seed.is_some(),
            Random,
            " (exhaustive search covers every timing)",
        ),
        (
            "--horizon",
            args.horizon.is_some(),
            Random,
            " (set the scenario's horizon with --set horizon=D)",
        ),
        (
            "--max-events",
            args.max_events.is_some(),
            Random,
            " (bound the exhaustive search with --max-states, --max-time or --max-memory)",
        ),
        (
            "--max-tasks",
            args.max_tasks.is_some(),
            Random,
            " (bound the exhaustive search with --max-states, --max-time or --max-memory)",
        ),
    ];
    for (flag, given, applies_to, hint) in flags {
        let applies = match applies_to {
            Search => mode == Mode::Exhaustive,
            OneSearch => mode == Mode::Exhaustive && !min_workers,
            MinWorkers => min_workers,
            Random => mode == Mode::Random,
        };
        if !given || applies {
            continue;
        }
        let message = match applies_to {
            Search | OneSearch if mode == Mode::Random => {
                let inferred = if chosen {
                    ""
                } else {
                    " (the scenario has endless arrivals, so explore runs in random mode: \
                     exhaustive search needs finite arrivals, or --timing exact and a horizon)"
                };
                format!(
                    "{flag} only applies to --mode exhaustive{}",
                    if chosen { hint } else { inferred }
                )
            }
            OneSearch => format!(
                "{flag} does not apply to --min-workers, which writes no schedule (explore one \
                 count with --set pool.POOL.workers=N {flag} FILE)"
            ),
            MinWorkers => format!("{flag} only applies with --min-workers POOL"),
            Random | Search => format!("{flag} only applies to --mode random{hint}"),
        };
        return Err(Error::Usage(message));
    }
    Ok(())
}

/// Whether exhaustive search has finitely many states to visit: finite arrivals, or exact
/// timing up to a horizon.
fn bounded(args: &ExploreArgs, scenario: &Scenario) -> bool {
    scenario.arrivals_are_finite()
        || (args.timing == Some(TimingArg::Exact) && scenario.horizon.is_some())
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

/// Runs `study` while, on a terminal, a bar shows the runs `done` of `runs`, their rate and the
/// time left. The bar reads the count from its own thread every tenth of a second; the study
/// only adds to it, so what it finds does not depend on the bar.
fn with_runs_bar<T>(quiet: bool, runs: u64, done: &AtomicU64, study: impl FnOnce() -> T) -> T {
    if quiet || !std::io::stderr().is_terminal() {
        return study();
    }
    let bar = ProgressBar::new(runs);
    bar.set_style(
        ProgressStyle::with_template(
            "{elapsed_precise} [{wide_bar}] {human_pos}/{human_len} runs ({msg} runs/s, {eta} left)",
        )
        .expect("the progress template is valid"),
    );
    let (finished, stop) = mpsc::channel::<()>();
    let started = Instant::now();
    let result = std::thread::scope(|s| {
        let bar = &bar;
        s.spawn(move || loop {
            let n = done.load(Ordering::Relaxed);
            let rate = n as f64 / started.elapsed().as_secs_f64().max(1e-9);
            bar.set_message(format!("{rate:.0}"));
            bar.set_position(n);
            if stop.recv_timeout(Duration::from_millis(100)) != Err(RecvTimeoutError::Timeout) {
                break;
            }
        });
        let result = study();
        drop(finished);
        result
    });
    bar.finish_and_clear();
    result
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
    match (verdict, &args.schedule_out) {
        (Verdict::Deadlock { schedule, .. }, Some(path)) => {
            let json =
                serde_json::to_string_pretty(schedule).expect("a schedule serialises") + "\n";
            write_atomically(path, &args.scenario.inputs(), json.as_bytes())?;
        }
        (Verdict::DeadlockFree | Verdict::Inconclusive { .. }, Some(path)) => to_stderr(&format!(
            "note: no deadlock found, so no schedule was written to {} (a file already there \
             is left as it is)",
            path.display()
        )),
        (_, None) => {}
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
        max_events: args.max_events.unwrap_or(Limits::default().max_events),
        max_tasks: args.max_tasks.unwrap_or(Limits::default().max_tasks),
        max_memory: MemoryLimit::given_or_default(args.max_memory),
    };
    let runs = args.runs.unwrap_or(RUNS);
    let done = AtomicU64::new(0);
    let mc = with_runs_bar(args.quiet, runs, &done, || {
        monte_carlo_counted(scenario, runs, seed, args.horizon, limits, &done)
    });
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
        args.up_to.unwrap_or(UP_TO),
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

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::*;
    use crate::cli::Cli;

    /// The flags whose default is written in their help by hand say the library's.
    #[test]
    fn the_defaults_in_the_help_are_the_ones_used() {
        let mut cli = Cli::command();
        let explore = cli.find_subcommand_mut("explore").unwrap();
        let help = |id: &str| {
            let arg = explore.get_arguments().find(|a| a.get_id() == id).unwrap();
            arg.get_help().unwrap().to_string()
        };
        let said = |id: &str, default: String| {
            let help = help(id);
            assert!(
                help.contains(&format!("[default: {default}]")),
                "--{id}: {help}"
            );
        };
        said("timing", "any".into());
        assert_eq!(ExploreArgs::default_for_test().timing(), Timing::Any);
        said("max_states", Budget::default().max_states.to_string());
        said("up_to", UP_TO.to_string());
        said("runs", RUNS.to_string());
        said("max_events", Limits::default().max_events.to_string());
        said("max_tasks", Limits::default().max_tasks.to_string());
    }

    impl ExploreArgs {
        fn default_for_test() -> ExploreArgs {
            match Cli::parse_from(["qsim", "explore", "f.toml"]).command {
                crate::cli::Command::Explore(args) => args,
                other => panic!("{other:?}"),
            }
        }
    }
}
