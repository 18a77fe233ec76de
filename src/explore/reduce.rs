//! Reductions that know their limits: what each reduction and accelerator of the exhaustive
//! search assumes, checked against the model before the search starts.
//!
//! The search is fast because of five shortcuts, each sound only under assumptions about what
//! a state can be and how it can change:
//!
//! | shortcut | kind | assumes |
//! |---|---|---|
//! | symmetry | reduction | the workers of a pool are interchangeable (they differ only in the task they hold), and so are task instances with the same type, step and relations; every live task is queued or held by a worker, so that the canonical form sees it |
//! | twin choices | reduction | symmetry's assumptions, and that two twin tasks differ in nothing the twin key leaves out |
//! | partial order | reduction | the state graph is acyclic (every choice moves some task forward: nothing restarts, retries or goes back) and a deadlock, once formed, stays; a step that [`Step::is_local`] calls local touches nothing another choice reads |
//! | the counting argument | proof | the same as symmetry and partial order: every task ends unless it waits, and nothing is killed or lost (see `bound.rs`) |
//! | incremental fingerprints | accelerator | everything the fingerprint reads is in the parts kept per state (not `then` groups) |
//! | predictions | accelerator | incremental fingerprints, and a timeless model: the clock never moves |
//!
//! [`Plan::new`] checks each against the model and switches off what the scenario breaks, with
//! the reason, which `qsim explore` prints. The checks read the scenario through exhaustive
//! destructuring ([`features`]): a field added to a pool, a task, a step or an arrival does not
//! compile until it is placed here, with what it breaks. A reduction switched off costs speed,
//! never soundness; an accelerator switched off falls back to the canonical fingerprint from
//! scratch, which is what it is tested against.

use crate::engine::{Model, Worker};
use crate::scenario::{Arrival, ArrivalPattern, Pool, Queue, Scenario, Step, TaskType};

use super::Reductions;

/// One of the search's shortcuts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Shortcut {
    /// States equal up to renaming workers or twin tasks are visited once.
    Symmetry,
    /// Of twin tasks, only the first is offered a move.
    TwinChoices,
    /// A local choice is explored alone (a singleton persistent set).
    PartialOrder,
    /// Fingerprints computed from the parent state's parts.
    IncrementalFingerprints,
    /// Fingerprints told before the state is built, so that duplicates are never built.
    Predictions,
}

impl Shortcut {
    /// The shortcut's name in output: `symmetry`, `twin choices`, ...
    pub fn name(self) -> &'static str {
        match self {
            Shortcut::Symmetry => "symmetry",
            Shortcut::TwinChoices => "twin choices",
            Shortcut::PartialOrder => "partial order",
            Shortcut::IncrementalFingerprints => "incremental fingerprints",
            Shortcut::Predictions => "predictions",
        }
    }
}

/// A shortcut that is off though asked for, and why.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SwitchedOff {
    /// The shortcut.
    pub shortcut: Shortcut,
    /// Why, in words: which feature of the scenario breaks which assumption.
    pub reason: String,
}

/// Which shortcuts a search uses: those asked for whose assumptions the model meets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// Canonical states up to worker and task renaming; one idle worker per pool offered a take.
    pub symmetry: bool,
    /// One of twin tasks offered a move.
    pub twin_choices: bool,
    /// Local choices explored alone.
    pub partial_order: bool,
    /// Fingerprints from the parent's parts.
    pub incremental: bool,
    /// Fingerprints before states.
    pub predictions: bool,
    /// The shortcuts asked for but off, with their reasons, in the order of [`Shortcut`].
    pub switched_off: Vec<SwitchedOff>,
}

/// What the scenario uses that a shortcut may not survive; see [`features`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Features {
    /// Some `spawn` has a `then` callback.
    pub callbacks: bool,
    /// Some task can be run twice, or some worker can come back to an earlier state:
    /// processes exit and restart, tasks are lost or re-queued (`max_memory`, `max_tasks`, the
    /// host's memory).
    pub goes_back: bool,
    /// Workers of one pool can differ in more than the task they hold: the tasks each ran
    /// since it started, the memory its process keeps (when that decides anything: a
    /// threshold or the host's memory).
    pub distinct_workers: bool,
}

/// Reads every field of the scenario that bears on a shortcut. The destructuring is
/// exhaustive on purpose: a new field of the format stops the build here until it is given a
/// place.
pub fn features(scenario: &Scenario) -> Features {
    let Scenario {
        name: _,
        description: _,
        seed: _,
        // A horizon ends runs; it is part of every state's clock, which the fingerprint reads.
        horizon: _,
        // The explorer branches on every tie itself.
        ties: _,
        queues,
        pools,
        tasks,
        arrivals,
        // The OOM killer kills processes: tasks are lost or re-queued, processes restart.
        host,
    } = scenario;
    let mut f = Features::default();
    let crate::scenario::Host { memory } = host;
    f.goes_back |= memory.is_some();
    f.distinct_workers |= memory.is_some();
    for queue in queues {
        // The discipline decides which task a take moves; the canonical form reads positions.
        let Queue {
            name: _,
            discipline: _,
            consumers: _,
        } = queue;
    }
    for pool in pools {
        let Pool {
            name: _,
            workers: _,
            queues: _,
            // Without a threshold or a host size, memory decides nothing: it is only reported,
            // and the searches never read it.
            kind: _,
            base_memory: _,
            gc: _,
            // A restart delay only matters once something exits.
            restart: _,
            // Exits and recycling: workers restart, tasks are lost or re-queued, and each
            // worker's count of tasks and its process's memory tell workers apart.
            max_memory,
            max_tasks,
        } = pool;
        let restarts = max_memory.is_some() || max_tasks.is_some();
        f.goes_back |= restarts;
        f.distinct_workers |= restarts;
    }
    for task in tasks {
        let TaskType {
            name: _,
            queue: _,
            priority: _,
            steps,
            // Memory decides something only through a threshold or the host (above).
            memory: _,
            retain: _,
            collectable: _,
            // Re-queueing happens only when a process dies (above).
            acks_late: _,
        } = task;
        for step in steps {
            match step {
                Step::Work(_) => {}
                Step::Spawn { then, .. } => f.callbacks |= then.is_some(),
                // A wait that times out ends; the task still moves forward.
                Step::Wait { .. } => {}
            }
        }
    }
    for arrival in arrivals {
        let Arrival { task: _, pattern } = arrival;
        match pattern {
            ArrivalPattern::At(_) | ArrivalPattern::Stream { .. } => {}
        }
    }
    // A worker record that holds more than its activity makes the workers of a pool tell
    // apart: `tasks_run` changes only when `max_tasks` or a threshold reads it (above).
    let Worker {
        activity: _,
        tasks_run: _,
    } = Worker::IDLE;
    f
}

impl Plan {
    /// The shortcuts of `requested` that `model` allows.
    pub fn new(model: &Model, requested: Reductions) -> Plan {
        let f = features(&model.scenario);
        let mut off = Vec::new();
        let mut check = |asked: bool, shortcut, broken: Option<String>| -> bool {
            match (asked, broken) {
                (false, _) => false,
                (true, None) => true,
                (true, Some(reason)) => {
                    off.push(SwitchedOff { shortcut, reason });
                    false
                }
            }
        };
        let symmetry = check(
            requested.symmetry,
            Shortcut::Symmetry,
            f.distinct_workers.then(|| {
                "the workers of a pool differ in more than the task they hold (tasks run, memory kept)".into()
            }),
        );
        let twin_choices = check(requested.symmetry && symmetry, Shortcut::TwinChoices, None);
        let partial_order = check(
            requested.partial_order,
            Shortcut::PartialOrder,
            f.goes_back.then(|| {
                "processes exit and restart and tasks can be lost or re-queued, so the state graph has cycles".into()
            }),
        );
        let incremental = check(
            symmetry,
            Shortcut::IncrementalFingerprints,
            f.callbacks.then(|| {
                "the scenario has `then` callbacks, which the kept parts of a fingerprint do not hold: states are fingerprinted from scratch".into()
            }),
        );
        let predictions = check(
            incremental,
            Shortcut::Predictions,
            (!model.is_timeless()).then(|| {
                "durations are not all zero, so the clock moves (predictions need any timing)"
                    .into()
            }),
        );
        Plan {
            symmetry,
            twin_choices,
            partial_order,
            incremental,
            predictions,
            switched_off: off,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::tests::fanout;
    use crate::explore::{model_for, Timing};

    fn plan(scenario: &Scenario, timing: Timing, requested: Reductions) -> Plan {
        Plan::new(&model_for(scenario, timing), requested)
    }

    #[test]
    fn the_fanout_keeps_every_shortcut_under_any_timing() {
        let p = plan(&fanout(2, 2, 3), Timing::Any, Reductions::ALL);
        assert!(p.symmetry && p.twin_choices && p.partial_order && p.incremental);
        assert!(p.predictions);
        assert!(p.switched_off.is_empty());
    }

    #[test]
    fn exact_timing_switches_predictions_off_and_says_why() {
        let p = plan(&fanout(2, 2, 3), Timing::Exact, Reductions::ALL);
        assert!(p.incremental && !p.predictions);
        assert_eq!(p.switched_off.len(), 1);
        assert_eq!(p.switched_off[0].shortcut, Shortcut::Predictions);
        assert!(p.switched_off[0].reason.contains("clock moves"));
    }

    #[test]
    fn callbacks_switch_incremental_fingerprints_off() {
        let mut s = fanout(2, 2, 3);
        s.tasks[0].steps[0] = Step::Spawn {
            task: 1,
            count: 3,
            then: Some(1),
        };
        assert!(features(&s).callbacks);
        let p = plan(&s, Timing::Any, Reductions::ALL);
        assert!(p.symmetry && p.partial_order && !p.incremental && !p.predictions);
        let off: Vec<Shortcut> = p.switched_off.iter().map(|o| o.shortcut).collect();
        assert_eq!(off, [Shortcut::IncrementalFingerprints]);
        assert!(p.switched_off[0].reason.contains("`then` callbacks"));
    }

    #[test]
    fn nothing_asked_for_is_nothing_switched_off() {
        let p = plan(&fanout(2, 2, 3), Timing::Exact, Reductions::NONE);
        assert_eq!(
            p,
            Plan {
                symmetry: false,
                twin_choices: false,
                partial_order: false,
                incremental: false,
                predictions: false,
                switched_off: Vec::new(),
            }
        );
    }
}
