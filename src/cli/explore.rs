//! `qsim explore`: can any timing deadlock, and how likely is it?
//!
//! Three questions, one subcommand:
//! - exhaustive (default when every arrival stream is finite): every schedule under "any
//!   timing" (or `--timing exact`), giving `deadlock` with a replayable schedule,
//!   `deadlock_free`, or `inconclusive`;
//! - `--mode random`: Monte Carlo runs under the scenario's distributions;
//! - `--min-workers POOL`: the smallest worker count that exhaustive search proves safe.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use qsim::engine::Limits;
use qsim::explore::exhaustive::Progress;
use qsim::explore::random::{monte_carlo, MonteCarlo};
use qsim::explore::{self, replay, Budget, Exploration, Reductions, Timing, Verdict};
use qsim::report::DeadlockReport;
use qsim::scenario::{duration::parse_duration, format_ticks, Scenario, Tick};
use qsim::Error;
use serde::Serialize;

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

    /// Give up (inconclusive) when the search's memory (visited set and frontier) exceeds
    /// this many megabytes.
    #[arg(long, value_name = "MB")]
    pub max_memory: Option<u64>,

    /// Search without symmetry and partial-order reduction (slower; for checking them).
    #[arg(long)]
    pub no_reductions: bool,

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

    fn budget(&self, stop: Arc<AtomicBool>) -> Budget {
        Budget {
            max_states: self.max_states,
            max_time: self.max_time,
            max_memory: self.max_memory.map(|mb| mb << 20),
            stop: Some(stop),
        }
    }
}

/// Runs `qsim explore`.
pub fn run(args: &ExploreArgs) -> qsim::Result<ExitStatus> {
    let scenario = args.scenario.load()?;
    let bounded = scenario.arrivals_are_finite()
        || (args.timing == TimingArg::Exact && scenario.horizon.is_some());
    let mode = match args.mode {
        Some(mode) => mode,
        None if args.min_workers.is_some() || bounded => Mode::Exhaustive,
        None => Mode::Random,
    };
    check_flags(args, mode)?;
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

fn check_exhaustive(args: &ExploreArgs, scenario: &Scenario) -> qsim::Result<()> {
    let bounded = scenario.arrivals_are_finite()
        || (args.timing == TimingArg::Exact && scenario.horizon.is_some());
    if bounded {
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

fn search(args: &ExploreArgs, scenario: &Scenario, bar: Option<&ProgressBar>) -> Exploration {
    let budget = args.budget(stop_flag());
    explore::explore(
        scenario,
        args.timing(),
        args.reductions(),
        &budget,
        &mut |p: Progress| {
            if let Some(bar) = bar {
                let rate = p.states as f64 / p.elapsed.as_secs_f64().max(1e-9);
                bar.set_message(format!(
                    "{} states ({:.0}/s), frontier {}",
                    p.states, rate, p.frontier
                ));
                bar.tick();
            }
        },
    )
}

fn exhaustive(args: &ExploreArgs, scenario: &Scenario) -> qsim::Result<ExitStatus> {
    check_exhaustive(args, scenario)?;
    let bar = progress_bar(args.quiet);
    let exploration = search(args, scenario, bar.as_ref());
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let story = match &exploration.verdict {
        Verdict::Deadlock { schedule, .. } => {
            let model = explore::model_for(scenario, schedule.timing);
            replay::tell(&model, &schedule.steps)
                .map(|t| t.lines)
                .unwrap_or_default()
        }
        _ => Vec::new(),
    };
    if let (Verdict::Deadlock { schedule, .. }, Some(path)) =
        (&exploration.verdict, &args.schedule_out)
    {
        let json = serde_json::to_string_pretty(schedule).expect("a schedule serialises") + "\n";
        write_atomically(path, &[&args.scenario.file], json.as_bytes())?;
    }
    match args.format {
        Format::Json => {
            let json = JsonExploration::new(args, scenario, &exploration, &story);
            print(&(serde_json::to_string_pretty(&json).expect("serialises") + "\n"))?;
        }
        Format::Text => print(&exhaustive_text(args, scenario, &exploration, &story))?,
    }
    Ok(status_of(&exploration.verdict))
}

fn status_of(verdict: &Verdict) -> ExitStatus {
    match verdict {
        Verdict::Deadlock { .. } => ExitStatus::Deadlock,
        Verdict::DeadlockFree => ExitStatus::Success,
        Verdict::Inconclusive { .. } => ExitStatus::Inconclusive,
    }
}

fn exhaustive_text(
    args: &ExploreArgs,
    scenario: &Scenario,
    e: &Exploration,
    story: &[String],
) -> String {
    let timing = format!("{} timing", args.timing().name());
    let searched = format!(
        "{} states, {} transitions, depth {}, {:.1?}, {:.1} bytes/state{}",
        e.states,
        e.transitions,
        e.depth,
        e.elapsed,
        e.bytes_per_state,
        if args.no_reductions {
            ", no reductions"
        } else {
            ""
        }
    );
    let mut out = String::new();
    match &e.verdict {
        Verdict::Deadlock {
            schedule,
            found_steps,
            deadlock,
        } => {
            let minimised = if *found_steps > schedule.steps.len() {
                format!("minimised from {found_steps}")
            } else {
                "none can be removed".to_string()
            };
            out += &format!(
                "{}: deadlock under {timing} ({searched})\n\nschedule ({} steps, {minimised}, seed {}):\n",
                scenario.name,
                schedule.steps.len(),
                schedule.seed
            );
            for (i, line) in story.iter().enumerate() {
                out += &format!("{:>4}. {line}\n", i + 1);
            }
            out += "\n";
            out += &deadlock.explain();
            out += "\n";
            if args.timing == TimingArg::Any {
                out += "  (under any timing every duration is zero, so every instant reads 0s)\n";
            }
            out += "\n";
            match &args.schedule_out {
                Some(path) => {
                    out += &format!(
                        "replay: qsim replay {} --schedule {}\n",
                        args.scenario.file.display(),
                        path.display()
                    )
                }
                None => out +=
                    "write the schedule with --schedule-out FILE to replay it with `qsim replay`\n",
            }
        }
        Verdict::DeadlockFree => {
            out += &format!(
                "{}: deadlock-free under {timing}: every reachable state visited ({searched})\n  final states: {} completed, {} at the horizon\n",
                scenario.name, e.completed_states, e.horizon_states
            );
        }
        Verdict::Inconclusive { reason } => {
            out += &format!(
                "{}: inconclusive under {timing}: {reason}\n  searched so far: {searched}, frontier up to {}\n",
                scenario.name, e.max_frontier
            );
        }
    }
    out
}

/// The JSON shape of an exhaustive exploration.
#[derive(Serialize)]
struct JsonExploration<'a> {
    scenario: &'a str,
    mode: &'static str,
    timing: &'static str,
    reductions: bool,
    verdict: &'static str,
    reason: Option<&'a str>,
    states: u64,
    transitions: u64,
    depth: u32,
    completed_states: u64,
    horizon_states: u64,
    max_frontier: usize,
    elapsed_s: f64,
    bytes_per_state: f64,
    schedule: Option<&'a explore::Schedule>,
    found_steps: Option<usize>,
    story: &'a [String],
    deadlock: Option<JsonDeadlock>,
}

#[derive(Serialize)]
struct JsonDeadlock {
    time_s: f64,
    blocked: Vec<String>,
    queued: Vec<String>,
    explanation: String,
    cycle: Vec<String>,
}

impl JsonDeadlock {
    fn new(d: &qsim::engine::Deadlock) -> JsonDeadlock {
        let r = DeadlockReport::new(d);
        JsonDeadlock {
            time_s: qsim::scenario::ticks_to_secs(r.time),
            blocked: r.blocked,
            queued: r.queued,
            explanation: r.explanation,
            cycle: r.cycle,
        }
    }
}

impl<'a> JsonExploration<'a> {
    fn new(
        args: &ExploreArgs,
        scenario: &'a Scenario,
        e: &'a Exploration,
        story: &'a [String],
    ) -> JsonExploration<'a> {
        let (schedule, found_steps, deadlock, reason) = match &e.verdict {
            Verdict::Deadlock {
                schedule,
                found_steps,
                deadlock,
            } => (
                Some(schedule),
                Some(*found_steps),
                Some(JsonDeadlock::new(deadlock)),
                None,
            ),
            Verdict::DeadlockFree => (None, None, None, None),
            Verdict::Inconclusive { reason } => (None, None, None, Some(reason.as_str())),
        };
        JsonExploration {
            scenario: &scenario.name,
            mode: "exhaustive",
            timing: args.timing().name(),
            reductions: !args.no_reductions,
            verdict: e.verdict.name(),
            reason,
            states: e.states,
            transitions: e.transitions,
            depth: e.depth,
            completed_states: e.completed_states,
            horizon_states: e.horizon_states,
            max_frontier: e.max_frontier,
            elapsed_s: e.elapsed.as_secs_f64(),
            bytes_per_state: e.bytes_per_state,
            schedule,
            found_steps,
            story,
            deadlock,
        }
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
    };
    let runs = args.runs.unwrap_or(10_000);
    let mc = monte_carlo(scenario, runs, seed, args.horizon, limits);
    match args.format {
        Format::Json => {
            let json = JsonMonteCarlo::new(scenario, &mc);
            print(&(serde_json::to_string_pretty(&json).expect("serialises") + "\n"))?;
        }
        Format::Text => print(&random_text(args, scenario, &mc))?,
    }
    Ok(if mc.deadlocks > 0 {
        ExitStatus::Deadlock
    } else {
        ExitStatus::Success
    })
}

fn percent(x: f64) -> String {
    format!("{:.2}%", x * 100.0)
}

fn random_text(args: &ExploreArgs, scenario: &Scenario, mc: &MonteCarlo) -> String {
    let mut out = format!(
        "{}: {} random runs (seed {}): deadlock in {} — probability {} (95% CI {} to {})\n",
        scenario.name,
        mc.runs,
        mc.seed,
        mc.deadlocks,
        percent(mc.probability()),
        percent(mc.interval.0),
        percent(mc.interval.1),
    );
    if let (Some(p50), Some(p95)) = (mc.p50_time_to_deadlock, mc.p95_time_to_deadlock) {
        out += &format!(
            "  time to deadlock: p50 {}, p95 {}\n",
            format_ticks(p50),
            format_ticks(p95)
        );
    }
    out += &format!(
        "  other runs: {} completed, {} reached the horizon, {} hit the event or task limit\n",
        mc.completed, mc.horizon, mc.event_limit
    );
    if let Some(s) = mc.example_seed {
        out += &format!(
            "  reproduce a deadlocking run: qsim run {} --set seed={s} --set ties=random{}\n",
            args.scenario.file.display(),
            args.horizon
                .map(|h| format!(" --set horizon={}", format_ticks(h)))
                .unwrap_or_default()
        );
    } else {
        out +=
            "  no run deadlocked: this is evidence, not a proof (use --mode exhaustive for one)\n";
    }
    out
}

#[derive(Serialize)]
struct JsonMonteCarlo<'a> {
    scenario: &'a str,
    mode: &'static str,
    verdict: &'static str,
    runs: u64,
    seed: u64,
    deadlocks: u64,
    probability: f64,
    ci95: [f64; 2],
    time_to_deadlock_s: Option<[f64; 2]>,
    completed: u64,
    horizon: u64,
    event_limit: u64,
    example_seed: Option<u64>,
}

impl<'a> JsonMonteCarlo<'a> {
    fn new(scenario: &'a Scenario, mc: &MonteCarlo) -> JsonMonteCarlo<'a> {
        let secs = qsim::scenario::ticks_to_secs;
        JsonMonteCarlo {
            scenario: &scenario.name,
            mode: "random",
            verdict: if mc.deadlocks > 0 {
                "deadlock"
            } else {
                "no_deadlock_seen"
            },
            runs: mc.runs,
            seed: mc.seed,
            deadlocks: mc.deadlocks,
            probability: mc.probability(),
            ci95: [mc.interval.0, mc.interval.1],
            time_to_deadlock_s: mc
                .p50_time_to_deadlock
                .zip(mc.p95_time_to_deadlock)
                .map(|(a, b)| [secs(a), secs(b)]),
            completed: mc.completed,
            horizon: mc.horizon,
            event_limit: mc.event_limit,
            example_seed: mc.example_seed,
        }
    }
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
    let mut tried = Vec::new();
    let mut answer = None;
    for workers in 1..=args.up_to.max(1) {
        let mut s = scenario.clone();
        s.pools[p].workers = workers;
        if let Some(bar) = &bar {
            bar.set_prefix(format!("{workers} workers"));
        }
        let e = search(args, &s, bar.as_ref());
        let done = matches!(e.verdict, Verdict::DeadlockFree);
        let interrupted =
            matches!(&e.verdict, Verdict::Inconclusive { reason } if reason == "interrupted");
        tried.push((workers, e));
        if done {
            answer = Some(workers);
            break;
        }
        if interrupted {
            break;
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let any_inconclusive = tried
        .iter()
        .any(|(_, e)| matches!(e.verdict, Verdict::Inconclusive { .. }));
    match args.format {
        Format::Json => {
            #[derive(Serialize)]
            struct Tried {
                workers: u32,
                verdict: &'static str,
                states: u64,
            }
            #[derive(Serialize)]
            struct Json<'a> {
                scenario: &'a str,
                pool: &'a str,
                timing: &'static str,
                up_to: u32,
                min_workers: Option<u32>,
                tried: Vec<Tried>,
            }
            let json = Json {
                scenario: &scenario.name,
                pool,
                timing: args.timing().name(),
                up_to: args.up_to,
                min_workers: answer,
                tried: tried
                    .iter()
                    .map(|(w, e)| Tried {
                        workers: *w,
                        verdict: e.verdict.name(),
                        states: e.states,
                    })
                    .collect(),
            };
            print(&(serde_json::to_string_pretty(&json).expect("serialises") + "\n"))?;
        }
        Format::Text => {
            let mut out = match answer {
                Some(w) => format!(
                    "{}: smallest deadlock-free worker count of pool \"{pool}\" under {} timing: {w}\n",
                    scenario.name,
                    args.timing().name()
                ),
                None => format!(
                    "{}: no worker count of pool \"{pool}\" up to {} is proved deadlock-free under {} timing\n",
                    scenario.name,
                    args.up_to,
                    args.timing().name()
                ),
            };
            out += "  workers  verdict        states\n";
            for (w, e) in &tried {
                out += &format!("  {w:>7}  {:<13}  {:>6}\n", e.verdict.name(), e.states);
            }
            if any_inconclusive && answer.is_some() {
                out += "  (a smaller count was inconclusive: the true minimum may be lower)\n";
            }
            print(&out)?;
        }
    }
    Ok(match answer {
        Some(_) if !any_inconclusive => ExitStatus::Success,
        Some(_) => ExitStatus::Inconclusive,
        None if any_inconclusive => ExitStatus::Inconclusive,
        None => ExitStatus::Deadlock,
    })
}
