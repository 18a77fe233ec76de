//! `qsim replay`: follow a schedule found by `qsim explore`, step by step.
//!
//! The schedule's steps are told as a numbered story; the run then goes on under the
//! canonical rule if the steps end before a deadlock (so a hand-shortened schedule is still a
//! valid prefix). The report, `--format json`, `--trace` and `--dot` are those of `qsim run`.

use std::path::PathBuf;

use clap::Args;
use qsim::engine::{self, Limits, Simulation};
use qsim::explore::{self, replay::Replay, Schedule};
use qsim::report::{self, story, Report, Stats};
use qsim::Error;

use super::{print, print_report, to_stderr, ExitStatus, Format, OutputArgs, ScenarioArgs};

/// The arguments of `qsim replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The scenario and its overrides (the same ones the schedule was found with).
    #[command(flatten)]
    pub scenario: ScenarioArgs,

    /// The schedule file written by `qsim explore --schedule-out`.
    #[arg(long, value_name = "FILE")]
    pub schedule: PathBuf,

    /// The report and the files written beside it.
    #[command(flatten)]
    pub output: OutputArgs,
}

fn read_schedule(path: &PathBuf) -> qsim::Result<Schedule> {
    let text =
        std::fs::read_to_string(path).map_err(|e| Error::io(path.display().to_string(), e))?;
    serde_json::from_str(&text).map_err(|e| Error::Schedule {
        path: path.display().to_string(),
        message: format!(
            "{}:{}: {} (expected the JSON written by qsim explore --schedule-out)",
            e.line(),
            e.column(),
            shortened(&e.to_string())
        ),
    })
}

/// The most characters of serde's message about a schedule file that an error shows: it quotes
/// the file's values whole, and a value of 10 kB would bury the message (issue 14).
const SERDE_MESSAGE_CHARS: usize = 200;

fn shortened(message: &str) -> String {
    match message.char_indices().nth(SERDE_MESSAGE_CHARS) {
        None => message.to_string(),
        Some((cut, _)) => format!("{}…", &message[..cut]),
    }
}

/// Runs `qsim replay`.
pub fn run(args: &ReplayArgs) -> qsim::Result<ExitStatus> {
    let mut scenario = args.scenario.load()?;
    let schedule = read_schedule(&args.schedule)?;
    scenario.seed = schedule.seed;
    let model = explore::model_for(&scenario, schedule.timing);
    let schedule_error = |message: String| Error::Schedule {
        path: args.schedule.display().to_string(),
        message,
    };
    // A schedule found on another scenario could still fit step by step, and replay into a
    // deadlock that is not this scenario's (issue 14): the fingerprint refuses it first.
    schedule
        .check_scenario(&model.scenario)
        .map_err(schedule_error)?;
    if schedule.scenario_fingerprint.is_none() {
        to_stderr(&format!(
            "note: schedule {} records no scenario fingerprint (an older qsim wrote it), so only \
             its steps are checked against the scenario",
            args.schedule.display()
        ));
    }
    let told = story::tell(&model, &schedule.steps).map_err(schedule_error)?;

    let mut stats = Stats::new(&model.scenario);
    let mut inputs = args.scenario.inputs();
    inputs.push(args.schedule.as_path());
    let mut trace = args.output.open_trace(&inputs)?;
    let mut sim = Simulation::new(&model);
    let mut chooser = Replay::new(schedule.steps.clone());
    let outcome = engine::run(
        &mut sim,
        &mut chooser,
        &mut (&mut stats, &mut trace),
        Limits::default(),
    );
    if let Some(e) = chooser.error {
        return Err(schedule_error(e));
    }
    args.output.write_files(trace, &outcome, &inputs)?;
    if args.output.format == Format::Text {
        print(&report::text::replay(&schedule, &args.schedule, &told))?;
    }
    let report = Report::new(&sim, &stats, &outcome);
    print_report(&report, args.output.format)?;
    Ok(ExitStatus::from(&outcome))
}
