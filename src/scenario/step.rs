//! The step kinds: what a task does, one step after another.
//!
//! Everything qsim knows about a kind of step that does not need the engine's state is here:
//! its name and keys in scenario files ([`StepKind`]), its durations ([`Step::for_each_duration`],
//! which is how `explore`'s "any timing" zeroes every duration of every step, and `--timing
//! exact` replaces every distribution by its mean), and whether starting it touches anything but its own task
//! ([`Step::is_local`], which the partial-order reduction relies on). Each is an exhaustive
//! `match`: a new kind does not compile until every one of them says what it does. What it
//! does to a run, whether it blocks the worker and on what, is the engine's `proceed`
//! (`engine/rules.rs`), also an exhaustive match; how
//! it is parsed and validated is `scenario/file.rs` and `scenario/validate.rs`, driven by
//! [`StepKind::ALL`]. `docs/architecture.md` lists the files to touch to add one.

use super::Duration;
use super::TaskId;

/// One step of a task. `call` does not appear: it is inlined during validation.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// Hold the worker for a duration.
    Work(Duration),
    /// Enqueue `count` children of type `task` at once, without blocking; with `then`, enqueue one
    /// `then` task once all of them have finished (a callback, or chord).
    Spawn {
        /// Type of the children.
        task: TaskId,
        /// Number of children (at least 1).
        count: u32,
        /// Callback type, enqueued when all `count` children have finished.
        then: Option<TaskId>,
    },
    /// Hold the worker until every child spawned so far has finished.
    Wait {
        /// Give up waiting after this long.
        timeout: Option<Duration>,
        /// What giving up means.
        on_timeout: OnTimeout,
    },
}

/// What a wait does when its timeout fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum OnTimeout {
    /// The task fails (and releases its worker).
    #[default]
    Fail,
    /// The task goes on with its next step; the children keep running.
    Continue,
}

/// The kinds of step a scenario file can write, `call` included.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepKind {
    /// `{ work = D }`
    Work,
    /// `{ spawn = T, count = N, then = T }`
    Spawn,
    /// `{ wait = "children", timeout = D, on_timeout = "fail" | "continue" }`
    Wait,
    /// `{ call = T }`, inlined by validation.
    Call,
}

impl StepKind {
    /// Every kind, in the order messages list them.
    pub const ALL: [StepKind; 4] = [
        StepKind::Work,
        StepKind::Spawn,
        StepKind::Wait,
        StepKind::Call,
    ];

    /// The key that names the kind in a step table.
    pub fn name(self) -> &'static str {
        match self {
            StepKind::Work => "work",
            StepKind::Spawn => "spawn",
            StepKind::Wait => "wait",
            StepKind::Call => "call",
        }
    }

    /// The other keys a step of this kind accepts.
    pub fn modifiers(self) -> &'static [&'static str] {
        match self {
            StepKind::Work | StepKind::Call => &[],
            StepKind::Spawn => &["count", "then"],
            StepKind::Wait => &["timeout", "on_timeout"],
        }
    }

    /// `work, spawn, wait, call`: the kinds, for messages.
    pub fn list() -> String {
        StepKind::ALL.map(StepKind::name).join(", ")
    }
}

impl Step {
    /// The kind of the step.
    pub fn kind(&self) -> StepKind {
        match self {
            Step::Work(_) => StepKind::Work,
            Step::Spawn { .. } => StepKind::Spawn,
            Step::Wait { .. } => StepKind::Wait,
        }
    }

    /// Calls `f` on every duration of the step (work times, timeouts): how a scenario's
    /// timing is changed as a whole ([`Scenario::map_durations`](super::Scenario::map_durations)).
    pub fn for_each_duration(&mut self, mut f: impl FnMut(&mut Duration)) {
        match self {
            Step::Work(d) => f(d),
            Step::Spawn { .. } => {}
            Step::Wait { timeout, .. } => {
                if let Some(d) = timeout {
                    f(d);
                }
            }
        }
    }

    /// Whether starting this step touches nothing but its own task and worker: no queue, no
    /// other task, no pool counter that another choice reads. The partial-order reduction
    /// explores such a move alone.
    pub fn is_local(&self) -> bool {
        match self {
            Step::Work(_) => true,
            // A spawn queues children; a wait may block the pool's last free worker or end
            // at once: both touch what other choices read.
            Step::Spawn { .. } | Step::Wait { .. } => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::parse;

    const EVERY_KIND: &str = r#"
        [[pool]]
        workers = 2
        [[task]]
        name = "parent"
        steps = [
          { work = { dist = "exp", mean = "2s" } },
          { spawn = "child", count = 2, then = "done" },
          { wait = "children", timeout = { dist = "uniform", min = "1s", max = "3s" }, on_timeout = "continue" },
          { call = "child" },
          { wait = "children", timeout = "5s" },
        ]
        [[task]]
        name = "child"
        steps = [{ work = { dist = "normal", mean = "1s", sd = "100ms" } }]
        [[task]]
        name = "done"
        steps = [{ work = "250ms" }]
        [[arrival]]
        task = "parent"
        every = "3s"
        count = 4
    "#;

    fn durations(scenario: &crate::Scenario) -> Vec<Duration> {
        let mut all = Vec::new();
        for task in &scenario.tasks {
            for step in &task.steps {
                step.clone().for_each_duration(|d| all.push(d.clone()));
            }
        }
        all
    }

    #[test]
    fn any_timing_zeroes_every_duration_of_every_step() {
        let scenario = parse("every_kind.toml", EVERY_KIND, &[]).expect("valid");
        let kinds: Vec<StepKind> = scenario.tasks[0].steps.iter().map(Step::kind).collect();
        // `call` is inlined: the caller holds the callee's work step in its place.
        assert_eq!(
            kinds,
            [
                StepKind::Work,
                StepKind::Spawn,
                StepKind::Wait,
                StepKind::Work,
                StepKind::Wait
            ]
        );
        assert_eq!(durations(&scenario).len(), 6);
        assert!(durations(&scenario)
            .iter()
            .any(|d| *d != Duration::Fixed(0)));
        let any = scenario.with_any_timing();
        assert!(durations(&any).iter().all(|d| *d == Duration::Fixed(0)));
        let exact = scenario.with_mean_durations();
        assert!(durations(&exact).iter().all(Duration::is_fixed));
    }

    #[test]
    fn every_kind_is_named_with_its_keys() {
        assert_eq!(StepKind::list(), "work, spawn, wait, call");
        for kind in StepKind::ALL {
            for key in kind.modifiers() {
                assert!(StepKind::ALL.iter().all(|k| k.name() != *key));
            }
        }
        let err = parse(
            "t.toml",
            "[[pool]]\nworkers = 1\n[[task]]\nname = \"t\"\nsteps = [{ sleep = \"1s\" }]\n",
            &[],
        )
        .expect_err("an unknown step kind is an error");
        assert!(
            err.to_string().contains(
                "unknown key \"sleep\" in a step (a step needs one of work, spawn, wait, call)"
            ),
            "{err}"
        );
    }
}
