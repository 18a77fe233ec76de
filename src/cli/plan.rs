//! `qsim plan`: the smallest worker count of a pool that meets every objective.
//!
//! Exit 0 when a count meets every objective (and, with --prove, nothing says otherwise), 1
//! when none up to --up-to does, 2 on bad input, 3 when the answer is uncertain: --prove found
//! a deadlock or could not decide, or runs at the answer hit a limit.

use clap::Args;
use qsim::engine::Limits;
use qsim::explore::Budget;
use qsim::memory::MemoryLimit;
use qsim::plan::{plan, Settings, Slo};
use qsim::report;
use qsim::scenario::duration::parse_duration;
use qsim::Error;

use super::{print, ExitStatus, Format, ScenarioArgs};

/// The arguments of `qsim plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The scenario and its overrides.
    #[command(flatten)]
    pub scenario: ScenarioArgs,

    /// The pool whose worker count is planned.
    #[arg(long, value_name = "NAME")]
    pub pool: String,

    /// An objective every run of the answer must meet on average: p99(TASK)<=30s,
    /// p95(TASK)<=DURATION, p50(TASK)<=DURATION, mean(TASK)<=DURATION, deadlock<=0.001 (the
    /// share of runs that deadlock), utilisation(POOL)<=0.85 (the share of worker time not
    /// idle). Repeat for several; all must be met.
    #[arg(long, value_name = "OBJECTIVE", required = true, value_parser = Slo::parse)]
    pub slo: Vec<Slo>,

    /// Runs per worker count tried.
    #[arg(long, value_name = "N", default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub runs: u64,

    /// A horizon for every run, replacing the scenario's (needed with endless arrivals).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub horizon: Option<u64>,

    /// Drop the initial transient: tasks queued before this instant are not counted.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "0s")]
    pub warmup: u64,

    /// The largest worker count to try.
    #[arg(long, value_name = "N", default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub up_to: u32,

    /// Also decide the answer exhaustively: prove it deadlock-free under every timing where the
    /// search can, and otherwise say the answer is estimated.
    #[arg(long)]
    pub prove: bool,

    /// With --prove: give up (inconclusive) after visiting N states.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 10_000_000,
        requires = "prove"
    )]
    pub max_states: u64,

    /// How to print the answer.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// A report for people (HTML or Markdown): each objective against the worker counts
    /// tried, with its interval, its limit and the answer.
    #[command(flatten)]
    pub report: super::page::ReportArgs,
}

/// Runs `qsim plan`.
pub fn run(args: &PlanArgs) -> qsim::Result<ExitStatus> {
    let file = args.scenario.file.display().to_string();
    let inputs = [args.scenario.file.as_path()];
    args.report.check(&inputs)?;
    let text = std::fs::read_to_string(&args.scenario.file).map_err(|e| Error::io(&file, e))?;
    let sets = args.scenario.sets_with_horizon(args.horizon);
    let recorded = args.scenario.recorded(&[])?;
    let mut base = qsim::scenario::parse(&file, &text, &sets)?;
    if let Some(recorded) = &recorded {
        base = recorded.apply(&base)?;
        args.scenario.note_arrivals(recorded);
    }
    if base.horizon.is_none() && !base.arrivals_are_finite() {
        return Err(Error::Usage(
            "runs of endless arrival streams need a horizon: give --horizon".into(),
        ));
    }
    let settings = Settings {
        runs: args.runs,
        horizon: None,
        warmup: args.warmup,
        up_to: args.up_to,
        prove: args.prove.then(|| Budget {
            max_states: args.max_states,
            ..Budget::default()
        }),
        limits: Limits {
            max_events: 10_000_000,
            max_tasks: 1_000_000,
            max_memory: MemoryLimit::default_for_this_machine(),
        },
        arrivals: recorded,
    };
    let answer = plan(&file, &text, &sets, &args.pool, &args.slo, &settings)?;
    args.report.write(&args.scenario.file, &inputs, |origin| {
        report::page::plan(origin, &answer)
    })?;
    print(&match args.format {
        Format::Json => report::json::plan(&answer),
        Format::Text => report::text::plan(&answer),
    })?;
    let at = answer
        .answer
        .and_then(|w| answer.tried.iter().find(|t| t.workers == w));
    Ok(match (answer.answer, &answer.proof) {
        (None, _) => ExitStatus::Deadlock,
        (Some(_), Some(e)) if e.verdict.name() != "deadlock_free" => ExitStatus::Inconclusive,
        (Some(_), _) if at.is_some_and(|t| t.runs.limited > 0) => ExitStatus::Inconclusive,
        (Some(_), _) => ExitStatus::Success,
    })
}
