//! A schedule's step, parsed once: matching it against the options formats nothing.
//!
//! # Why
//! A schedule names each choice by its label (`take default/1`, see
//! [`Schedule`](super::Schedule)). Following one used to format the label of every option at
//! every step and compare strings; minimising a schedule replays it O(n²) times, so that
//! formatting dominated the whole exploration of small searches. Here a label is parsed once,
//! its names resolved against the scenario, into a [`ScheduleStep`] of indices that is
//! compared with each [`Choice`] directly. Labels are formatted only to explain a step that
//! does not fit.
//!
//! # Exactly the labels of [`label`]
//! A step matches a choice exactly when the choice's label is the step's text, so following a
//! schedule picks the same options as comparing strings did. Hence the parse is strict: numbers
//! in plain decimal as `format!` writes them (`arrival 00` names nothing), and since a name may
//! contain any character, `type#serial` is split at the *last* `#` and `pool/index` at the last
//! `/` (the number after them contains neither). A text that does not parse, or names a task
//! type, pool, worker or stream the scenario does not have, is `None`: it matches no option.

use crate::engine::agenda::Timer;
use crate::engine::{Choice, InstanceId, Model, ProcessId, Simulation, WorkerId};
use crate::scenario::PoolKind;
use crate::scenario::TaskId;

use super::label;

/// One parsed schedule step: what a label names, as indices into the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ScheduleStep {
    /// `arrival STREAM`: the next arrival of that stream.
    Arrival(u32),
    /// `take POOL/INDEX`: that worker takes the next task.
    Take(WorkerId),
    /// `run TYPE#SERIAL`: a task just taken runs its steps.
    Run(TaskName),
    /// `done TYPE#SERIAL`: a task's work finishes.
    Done(TaskName),
    /// `timeout TYPE#SERIAL`: a task's wait times out.
    Timeout(TaskName),
    /// `kill PROCESS`: the OOM killer kills that process.
    Kill(ProcessId),
    /// `restart PROCESS`: an exited process's replacement starts.
    Restart(ProcessId),
    /// `replace POOL/INDEX`: a recycled thread's replacement starts.
    Replace(WorkerId),
}

/// A task instance as a label names it: its type and its serial among that type's instances.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TaskName {
    task: TaskId,
    serial: u32,
}

impl ScheduleStep {
    /// The step `text` names in `model`, or `None` if it names nothing there.
    pub(crate) fn parse(model: &Model, text: &str) -> Option<ScheduleStep> {
        let (verb, rest) = text.split_once(' ')?;
        match verb {
            "arrival" => arrival(model, rest).map(ScheduleStep::Arrival),
            "take" => worker(model, rest).map(ScheduleStep::Take),
            "run" => task(model, rest).map(ScheduleStep::Run),
            "done" => task(model, rest).map(ScheduleStep::Done),
            "timeout" => task(model, rest).map(ScheduleStep::Timeout),
            "kill" => process(model, rest).map(ScheduleStep::Kill),
            "restart" => process(model, rest).map(ScheduleStep::Restart),
            "replace" => worker(model, rest).map(ScheduleStep::Replace),
            _ => None,
        }
    }

    /// Whether `choice`, one of `sim`'s options, is the one this step names.
    pub(crate) fn matches(self, sim: &Simulation<'_>, choice: Choice) -> bool {
        match (self, choice) {
            (ScheduleStep::Arrival(s), Choice::Fire(e)) => e.timer == Timer::Arrival { stream: s },
            (ScheduleStep::Take(w), Choice::Take(v)) => w == v,
            (ScheduleStep::Run(name), Choice::Run(t)) => name.is(sim, t),
            (ScheduleStep::Done(name), Choice::Fire(e)) => match e.timer {
                Timer::WorkDone { task } => name.is(sim, task),
                _ => false,
            },
            (ScheduleStep::Timeout(name), Choice::Fire(e)) => match e.timer {
                Timer::Timeout { task, .. } => name.is(sim, task),
                _ => false,
            },
            (ScheduleStep::Kill(p), Choice::Kill(q)) => p == q,
            (ScheduleStep::Restart(p), Choice::Fire(e)) => {
                e.timer == Timer::Restarted { process: p }
            }
            (ScheduleStep::Replace(w), Choice::Fire(e)) => {
                e.timer == Timer::ThreadReplaced { worker: w }
            }
            _ => false,
        }
    }
}

/// The process a label names: a thread pool's name, or a process pool's worker
/// (`pool/index`), as [`Model::process_name`] writes them.
fn process(model: &Model, text: &str) -> Option<ProcessId> {
    let pools = &model.scenario.pools;
    if let Some(p) = pools
        .iter()
        .position(|p| p.kind == PoolKind::Thread && p.name == text)
    {
        return Some(model.process_of(model.workers_of(p).start));
    }
    let w = worker(model, text)?;
    (pools[model.pool_of(w)].kind == PoolKind::Process).then(|| model.process_of(w))
}

/// Every step of `steps`, parsed.
pub(crate) fn parse_all(model: &Model, steps: &[String]) -> Vec<Option<ScheduleStep>> {
    steps
        .iter()
        .map(|s| ScheduleStep::parse(model, s))
        .collect()
}

impl TaskName {
    /// Whether instance `id` of `sim` has this name.
    fn is(self, sim: &Simulation<'_>, id: InstanceId) -> bool {
        let inst = sim.instance(id);
        inst.task == self.task && inst.serial == self.serial
    }
}

/// The position of the first of `options` that `step` names, if any.
pub(crate) fn position(
    sim: &Simulation<'_>,
    options: &[Choice],
    step: Option<ScheduleStep>,
) -> Option<usize> {
    step.and_then(|s| options.iter().position(|&c| s.matches(sim, c)))
}

/// The position of the option `step` names (`text` is its label), or why there is none.
pub(crate) fn find(
    sim: &Simulation<'_>,
    options: &[Choice],
    step: Option<ScheduleStep>,
    text: &str,
) -> Result<usize, String> {
    position(sim, options, step).ok_or_else(|| not_possible(sim, options, text))
}

/// The error for a step `text` that names none of `options`: the step quoted (shortened if
/// huge) and the first [`POSSIBLE_SHOWN`] possible labels.
pub(crate) fn not_possible(sim: &Simulation<'_>, options: &[Choice], text: &str) -> String {
    let mut labels: Vec<String> = options
        .iter()
        .take(POSSIBLE_SHOWN)
        .map(|&c| label(sim, c))
        .collect();
    if options.len() > POSSIBLE_SHOWN {
        labels.push(format!("and {} more", options.len() - POSSIBLE_SHOWN));
    }
    format!(
        "{} is not possible here (possible: {})",
        quoted(text),
        labels.join(", ")
    )
}

/// How many possible labels a step that does not fit lists (every idle worker of a large pool
/// would make a message of thousands).
const POSSIBLE_SHOWN: usize = 20;

/// The most characters of a text from a schedule file that a message quotes.
const QUOTED_CHARS: usize = 60;

/// `text` from a schedule file, quoted for a message: in double quotes, see [`escaped`].
pub(crate) fn quoted(text: &str) -> String {
    format!("\"{}\"", escaped(text))
}

/// `text` from a schedule file, for a message: quotes and control characters escaped, and cut
/// after [`QUOTED_CHARS`] characters with an ellipsis. A schedule is a file anyone can edit,
/// and a step of 10 kB would bury the message (issue 14).
pub(crate) fn escaped(text: &str) -> String {
    let (kept, cut) = match text.char_indices().nth(QUOTED_CHARS) {
        None => (text, ""),
        Some((end, _)) => (&text[..end], "…"),
    };
    let debug = format!("{kept:?}");
    format!("{}{cut}", &debug[1..debug.len() - 1])
}

/// `STREAM` of `arrival STREAM`, if the scenario has that stream.
fn arrival(model: &Model, text: &str) -> Option<u32> {
    number(text).filter(|&s| (s as usize) < model.scenario.arrivals.len())
}

/// The worker named `POOL/INDEX` (INDEX 1-based within the pool).
fn worker(model: &Model, text: &str) -> Option<WorkerId> {
    let (pool, index) = text.rsplit_once('/')?;
    let workers = model.workers_of(model.scenario.pool_id(pool)?);
    let index = number(index)?.checked_sub(1)?;
    workers
        .start
        .checked_add(index)
        .filter(|w| workers.contains(w))
}

/// The task instance named `TYPE#SERIAL`.
fn task(model: &Model, text: &str) -> Option<TaskName> {
    let (name, serial) = text.rsplit_once('#')?;
    Some(TaskName {
        task: model.scenario.task_id(name)?,
        serial: number(serial)?,
    })
}

/// A `u32` written exactly as `format!` writes it: decimal digits, no sign, no leading zero.
fn number(text: &str) -> Option<u32> {
    let plain = text.bytes().all(|b| b.is_ascii_digit()) && (text == "0" || !text.starts_with('0'));
    if plain {
        text.parse().ok()
    } else {
        None
    }
}

#[cfg(test)]
pub(crate) mod tests;
