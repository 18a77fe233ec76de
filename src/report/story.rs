//! A schedule's story as data: for each step, the choice made and what it moved.
//!
//! Following a [`Schedule`](crate::explore::Schedule) step by step, [`tell`] records each
//! step's events as [`Happening`]s that name the tasks and workers involved: `main_task#1`,
//! `default/2`, the names the trace, the schedule and the deadlock explanation use too, so a
//! report can link a step to the tasks it moved and to what became of them. The sentences
//! `qsim explore` and `qsim replay` print (`worker default/1 takes main_task#1`) are one
//! rendering of this data, [`text::sentence`](super::text::sentence); a story also serialises
//! to JSON with serde:
//!
//! ```json
//! { "choice": "run main_task#1",
//!   "happenings": [
//!     { "event": "spawned", "parent": "main_task#1", "children": ["subtask#1", "subtask#2"] },
//!     { "event": "blocked", "task": "main_task#1", "worker": "default/1" } ] }
//! ```
//!
//! Event names and keys are those of the trace ([`Trace`](super::Trace)); durations are in
//! seconds (`duration_s`).

use serde::{Serialize, Serializer};

use crate::engine::{Deadlock, Event, Model, Observer, Simulation, TaskResult};
use crate::explore::replay;
use crate::scenario::{ticks_to_secs, Tick};

/// A schedule told step by step.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Story {
    /// One entry per step of the schedule followed.
    pub steps: Vec<StoryStep>,
}

/// One step of a story: the choice made, and what happened because of it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct StoryStep {
    /// The choice, as the schedule labels it: `arrival 0`, `take default/1`, `run main_task#1`,
    /// `done subtask#3`, `timeout main_task#1`.
    pub choice: String,
    /// What happened, in order (empty if nothing visible did).
    pub happenings: Vec<Happening>,
}

/// One thing that happened during a step. Tasks are named `type#serial`, workers `pool/index`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Happening {
    /// A task arrived from outside and was queued.
    Arrived {
        /// The task.
        task: String,
    },
    /// A task spawned children, which were queued (consecutive spawns of one step, together).
    Spawned {
        /// The spawner.
        parent: String,
        /// The children, in the order they were spawned.
        children: Vec<String>,
    },
    /// The last child of a `then` group finished, and its callback was queued.
    #[serde(rename = "callback")]
    CallbackQueued {
        /// The callback task.
        task: String,
    },
    /// An idle worker took a task.
    Taken {
        /// The task.
        task: String,
        /// The worker.
        worker: String,
    },
    /// A task started a `work` step (under any timing every duration is zero).
    #[serde(rename = "work")]
    WorkStarted {
        /// The task.
        task: String,
        /// Its worker.
        worker: String,
        /// How long the work lasts.
        #[serde(rename = "duration_s", serialize_with = "seconds")]
        duration: Tick,
    },
    /// A task began to wait for its children, holding its worker.
    Blocked {
        /// The task.
        task: String,
        /// The worker it holds.
        worker: String,
    },
    /// A waiting task's children were all done; it went on.
    Resumed {
        /// The task.
        task: String,
        /// Its worker.
        worker: String,
    },
    /// A task's wait timed out.
    #[serde(rename = "timeout")]
    TimedOut {
        /// The waiting task.
        task: String,
    },
    /// A task finished, completed or failed, and released its worker.
    Finished {
        /// The task.
        task: String,
        /// How it ended: `completed` or `failed`.
        #[serde(serialize_with = "result_name")]
        result: TaskResult,
    },
    /// A process exited (`max_memory`, `max_tasks`) or was killed (`oom`).
    Exited {
        /// The process: its pool's name for a thread pool, its worker's for a process pool.
        process: String,
        /// Why: `max_memory`, `max_tasks` or `oom`.
        cause: &'static str,
        /// Its resident memory when it went.
        rss_bytes: u64,
    },
    /// A thread was recycled (`max_tasks` on a thread pool).
    Recycled {
        /// The worker.
        worker: String,
    },
    /// A process or a recycled thread is back and takes work.
    Restarted {
        /// The process (or the worker, for a thread).
        process: String,
    },
    /// A task died with its process and is gone.
    Lost {
        /// The task.
        task: String,
    },
    /// A task died with its process and was put back on its queue.
    Requeued {
        /// The task.
        task: String,
    },
}

impl Happening {
    /// The tasks it names: the task, or a spawner and then its children.
    pub fn tasks(&self) -> impl Iterator<Item = &str> {
        let (first, more): (Option<&String>, &[String]) = match self {
            Happening::Spawned { parent, children } => (Some(parent), children),
            Happening::Arrived { task }
            | Happening::CallbackQueued { task }
            | Happening::Taken { task, .. }
            | Happening::WorkStarted { task, .. }
            | Happening::Blocked { task, .. }
            | Happening::Resumed { task, .. }
            | Happening::TimedOut { task }
            | Happening::Finished { task, .. }
            | Happening::Lost { task }
            | Happening::Requeued { task } => (Some(task), &[]),
            Happening::Exited { .. } | Happening::Recycled { .. } | Happening::Restarted { .. } => {
                (None, &[])
            }
        };
        first.into_iter().chain(more).map(String::as_str)
    }
}

impl StoryStep {
    /// Every task the step moved, each once, in the order the step first names it.
    pub fn tasks(&self) -> Vec<&str> {
        let mut tasks: Vec<&str> = Vec::new();
        for task in self.happenings.iter().flat_map(Happening::tasks) {
            if !tasks.contains(&task) {
                tasks.push(task);
            }
        }
        tasks
    }
}

/// A step records the events of its choice.
impl Observer for StoryStep {
    fn event(&mut self, sim: &Simulation<'_>, event: &Event) {
        let task = |t| sim.task_name(t);
        let worker = |w| sim.model.worker_name(w);
        let happening = match *event {
            Event::Spawned {
                task: child,
                parent,
            } => {
                let parent = task(parent);
                if let Some(Happening::Spawned {
                    parent: last,
                    children,
                }) = self.happenings.last_mut()
                {
                    if *last == parent {
                        children.push(task(child));
                        return;
                    }
                }
                Happening::Spawned {
                    parent,
                    children: vec![task(child)],
                }
            }
            Event::Arrived { task: t } => Happening::Arrived { task: task(t) },
            Event::CallbackQueued { task: t } => Happening::CallbackQueued { task: task(t) },
            Event::Taken { task: t, worker: w } => Happening::Taken {
                task: task(t),
                worker: worker(w),
            },
            Event::WorkStarted {
                task: t,
                worker: w,
                duration,
            } => Happening::WorkStarted {
                task: task(t),
                worker: worker(w),
                duration,
            },
            Event::Blocked { task: t, worker: w } => Happening::Blocked {
                task: task(t),
                worker: worker(w),
            },
            Event::Resumed { task: t, worker: w } => Happening::Resumed {
                task: task(t),
                worker: worker(w),
            },
            Event::TimedOut { task: t } => Happening::TimedOut { task: task(t) },
            Event::Finished { task: t, result } => Happening::Finished {
                task: task(t),
                result,
            },
            Event::Exited {
                process,
                cause,
                rss,
                ..
            } => Happening::Exited {
                process: sim.model.process_name(process),
                cause: cause.name(),
                rss_bytes: rss,
            },
            Event::Recycled { worker: w } => Happening::Recycled { worker: worker(w) },
            Event::Restarted {
                process,
                first_worker,
                ..
            } => Happening::Restarted {
                process: process
                    .map_or_else(|| worker(first_worker), |p| sim.model.process_name(p)),
            },
            Event::Lost { task: t } => Happening::Lost { task: task(t) },
            Event::Requeued { task: t } => Happening::Requeued { task: task(t) },
            Event::Memory { .. } => return,
        };
        self.happenings.push(happening);
    }
}

/// What following a schedule exactly did: its story, and the deadlock it reached.
#[derive(Clone, Debug)]
pub struct Told {
    /// One step per step followed.
    pub story: Story,
    /// The deadlock reached, if any (the story stops there).
    pub deadlock: Option<Deadlock>,
}

/// Follows `steps` exactly in `model` (no canonical continuation), recording each step, and
/// stops at the first deadlock. Fails, saying why, if a step is not possible at its point.
pub fn tell(model: &Model, steps: &[String]) -> Result<Told, String> {
    let observed = replay::observe_steps::<StoryStep>(model, steps)?;
    let steps = observed
        .steps
        .into_iter()
        .zip(steps)
        .map(|(step, choice)| StoryStep {
            choice: choice.clone(),
            ..step
        })
        .collect();
    Ok(Told {
        story: Story { steps },
        deadlock: observed.deadlock,
    })
}

fn seconds<S: Serializer>(t: &Tick, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_f64(ticks_to_secs(*t))
}

fn result_name<S: Serializer>(result: &TaskResult, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(match result {
        TaskResult::Completed => "completed",
        TaskResult::Failed => "failed",
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explore::{model_for, Timing};
    use crate::report::fixtures::fanout;

    fn labels(steps: &[&str]) -> Vec<String> {
        steps.iter().map(|s| s.to_string()).collect()
    }

    /// The incident's counterexample: both parents arrive, are taken, spawn and wait.
    fn incident() -> Told {
        let model = model_for(&fanout(2), Timing::Any);
        let steps = labels(&[
            "arrival 0",
            "arrival 0",
            "take default/1",
            "take default/2",
            "run main_task#1",
            "run main_task#2",
        ]);
        tell(&model, &steps).expect("the incident's schedule replays")
    }

    #[test]
    fn each_step_names_the_choice_and_the_tasks_it_moved() {
        let told = incident();
        assert!(told.deadlock.is_some());
        let steps = &told.story.steps;
        assert_eq!(steps.len(), 6);
        assert_eq!(steps[2].choice, "take default/1");
        assert_eq!(
            steps[2].happenings,
            [Happening::Taken {
                task: "main_task#1".into(),
                worker: "default/1".into()
            }]
        );
        let children: Vec<String> = (1..=10).map(|i| format!("subtask#{i}")).collect();
        assert_eq!(
            steps[4].happenings,
            [
                Happening::Spawned {
                    parent: "main_task#1".into(),
                    children: children.clone(),
                },
                Happening::Blocked {
                    task: "main_task#1".into(),
                    worker: "default/1".into()
                },
            ]
        );
        let mut moved = vec!["main_task#1"];
        moved.extend(children.iter().map(String::as_str));
        assert_eq!(steps[4].tasks(), moved);
        assert_eq!(steps[0].tasks(), ["main_task#1"]);
    }

    #[test]
    fn finishing_work_tells_the_parent_resuming_and_finishing() {
        // One parent with one child on 2 workers: the child's work done is the last step.
        let model = model_for(&crate::engine::tests::fanout(2, 1, 1), Timing::Any);
        let steps = labels(&[
            "arrival 0",
            "take default/1",
            "run main_task#1",
            "take default/2",
            "run subtask#1",
            "done subtask#1",
        ]);
        let told = tell(&model, &steps).expect("the schedule replays");
        assert!(told.deadlock.is_none());
        let last = &told.story.steps[5];
        assert_eq!(
            last.happenings,
            [
                Happening::Finished {
                    task: "subtask#1".into(),
                    result: TaskResult::Completed
                },
                Happening::Resumed {
                    task: "main_task#1".into(),
                    worker: "default/1".into()
                },
                Happening::Finished {
                    task: "main_task#1".into(),
                    result: TaskResult::Completed
                },
            ]
        );
        assert_eq!(last.tasks(), ["subtask#1", "main_task#1"]);
        assert!(matches!(
            told.story.steps[4].happenings[..],
            [Happening::WorkStarted { duration: 0, .. }]
        ));
    }

    #[test]
    fn a_story_serialises_with_the_trace_vocabulary() {
        let told = incident();
        let v = serde_json::to_value(&told.story).expect("a story serialises");
        assert_eq!(v["steps"][0]["choice"], "arrival 0");
        assert_eq!(
            v["steps"][0]["happenings"][0],
            serde_json::json!({ "event": "arrived", "task": "main_task#1" })
        );
        let run = &v["steps"][4]["happenings"];
        assert_eq!(run[0]["event"], "spawned");
        assert_eq!(run[0]["parent"], "main_task#1");
        assert_eq!(run[0]["children"].as_array().map(Vec::len), Some(10));
        assert_eq!(
            run[1],
            serde_json::json!({ "event": "blocked", "task": "main_task#1", "worker": "default/1" })
        );
        let work = Happening::WorkStarted {
            task: "subtask#1".into(),
            worker: "default/2".into(),
            duration: 1_500_000_000,
        };
        assert_eq!(
            serde_json::to_value(&work).unwrap(),
            serde_json::json!({ "event": "work", "task": "subtask#1", "worker": "default/2", "duration_s": 1.5 })
        );
        let failed = Happening::Finished {
            task: "main_task#1".into(),
            result: TaskResult::Failed,
        };
        assert_eq!(serde_json::to_value(&failed).unwrap()["result"], "failed");
    }

    #[test]
    fn a_step_that_does_not_fit_is_an_error() {
        let model = model_for(&fanout(2), Timing::Any);
        let err = tell(&model, &labels(&["arrival 0", "take default/9"])).unwrap_err();
        assert!(
            err.starts_with("step 2: \"take default/9\" is not possible here"),
            "{err}"
        );
    }
}
