//! `qsim run`: one run of a scenario in the canonical order, and its report.
//!
//! The run is observed by the statistics collector and, with `--trace`, by the trace writer;
//! the report is printed once the run is over. Files (`--trace`, `--dot`, `--report`) are
//! written before the report is printed, safely ([`qsim::output`]): a file is there whole, or
//! not at all, and never over the scenario. With `--report`, a timeline recorder watches the
//! run too, for the Gantt chart of the page, and, when the scenario models memory, a memory
//! recorder, for the page's memory figure.

use clap::Args;
use qsim::engine::{self, Limits, Model, Outcome};
use qsim::memory::MemoryLimit;
use qsim::report::memory_timeline;
use qsim::report::timeline::{Recorder, TimeOrSteps};
use qsim::report::{page, Report, Stats};

use super::{print_report, to_stderr, ExitStatus, OutputArgs, ScenarioArgs};

/// The arguments of `qsim run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The scenario and its overrides.
    #[command(flatten)]
    pub scenario: ScenarioArgs,

    /// The report and the files written beside it.
    #[command(flatten)]
    pub output: OutputArgs,

    /// A report for people (HTML or Markdown).
    #[command(flatten)]
    pub report: super::page::ReportArgs,

    /// Give up after N events (engine steps), print the report so far, and exit 2: a scenario
    /// with endless arrivals and no horizon would otherwise run for ever.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_events)]
    pub max_events: u64,

    /// Give up when more than N tasks are alive at once (queued or held by a worker), print
    /// the report so far, and exit 2: a scenario whose tasks spawn more than finish would
    /// otherwise fill memory.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_tasks)]
    pub max_tasks: u64,

    /// Give up when the process holds more than this many megabytes (of 2^20 bytes), print
    /// the report so far, and exit 2.
    #[arg(long, value_name = "MB", long_help = super::explore::max_memory_help("print the report so far, exit 2"))]
    pub max_memory: Option<u64>,
}

/// Runs `qsim run`.
pub fn run(args: &RunArgs) -> qsim::Result<ExitStatus> {
    let model = Model::new(args.scenario.load()?);
    let mut stats = Stats::new(&model.scenario);
    let inputs = args.scenario.inputs();
    let mut trace = args.output.open_trace(&inputs)?;
    args.report.check(&inputs)?;
    let mut timeline = args
        .report
        .report
        .as_ref()
        .map(|_| TimeOrSteps::new(&model, Recorder::CAP));
    let mut memory = args
        .report
        .report
        .as_ref()
        .filter(|_| model.scenario.models_memory())
        .map(|_| memory_timeline::Recorder::new(&model, memory_timeline::Recorder::CAP));
    let limits = Limits {
        max_events: args.max_events,
        max_tasks: args.max_tasks,
        max_memory: MemoryLimit::given_or_default(args.max_memory),
    };
    let (outcome, sim) = engine::simulate(
        &model,
        &mut (((&mut stats, &mut trace), &mut timeline), &mut memory),
        limits,
    );

    args.output.write_files(trace, &outcome, &inputs)?;

    let report = Report::new(&sim, &stats, &outcome);
    if let Some(timeline) = timeline {
        let deadlock = match &outcome {
            Outcome::Deadlock(d) => Some(d),
            _ => None,
        };
        args.report.write(&args.scenario.file, &inputs, |origin| {
            page::run_with_memory(
                origin,
                &report,
                timeline.finish(&sim, deadlock),
                memory.map(|m| m.finish(&sim)),
                deadlock,
            )
        })?;
    }
    print_report(&report, args.output.format)?;

    match outcome {
        Outcome::EventLimit => to_stderr(&format!(
            "error: stopped after {n} events (--max-events {n}): the scenario may never end; \
             set a horizon or raise --max-events",
            n = args.max_events
        )),
        Outcome::TaskLimit => to_stderr(&format!(
            "error: stopped with more than {n} tasks alive at once (--max-tasks {n}): tasks \
             arrive or spawn faster than they finish; set a horizon, lower the counts or \
             raise --max-tasks",
            n = args.max_tasks
        )),
        Outcome::MemoryLimit { held } => to_stderr(&format!(
            "error: stopped: {}: tasks arrive or spawn faster than they finish; set a horizon, \
             lower the counts or raise --max-memory",
            limits
                .max_memory
                .and_then(|m| m.exceeded(held, 0))
                .unwrap_or_else(|| qsim::memory::megabytes(held))
        )),
        Outcome::Completed
        | Outcome::Horizon
        | Outcome::Deadlock(_)
        | Outcome::Stopped
        | Outcome::RestartLoop { .. } => {}
    }
    Ok(ExitStatus::from(&outcome))
}
