//! A story in words: one sentence per step, numbered.
//!
//! ```text
//!    3. worker default/1 takes main_task#1
//!    5. main_task#1 spawns 10 (subtask#1 … subtask#10); main_task#1 waits for its children
//! ```
//!
//! A step's happenings are joined by `; `; a step where nothing visible happened says so.

use crate::scenario::format_size;
use std::path::Path;

use crate::engine::TaskResult;
use crate::explore::Schedule;
use crate::report::story::{Happening, Story, StoryStep, Told};
use crate::scenario::format_ticks;

/// The step as a sentence: `worker default/1 takes main_task#1`, `main_task#1 spawns 10
/// (subtask#1 … subtask#10); main_task#1 waits for its children`, …
pub fn sentence(step: &StoryStep) -> String {
    if step.happenings.is_empty() {
        return "nothing visible happens".into();
    }
    let clauses: Vec<String> = step.happenings.iter().map(clause).collect();
    clauses.join("; ")
}

/// One sentence per step.
pub fn sentences(story: &Story) -> Vec<String> {
    story.steps.iter().map(sentence).collect()
}

/// The story as a numbered list, one line per step, numbers right-aligned on 4 columns.
pub fn numbered(story: &Story) -> String {
    let mut out = String::new();
    for (i, step) in story.steps.iter().enumerate() {
        out += &format!("{:>4}. {}\n", i + 1, sentence(step));
    }
    out
}

/// What `qsim replay` prints before its report: which schedule it follows, each step, and
/// whether the run goes on past the schedule's end. Ends with an empty line.
pub fn replay(schedule: &Schedule, schedule_file: &Path, told: &Told) -> String {
    let mut text = format!(
        "replaying {} steps of {} ({} timing, seed {}):\n",
        schedule.steps.len(),
        schedule_file.display(),
        schedule.timing.name(),
        schedule.seed
    );
    text += &numbered(&told.story);
    if told.deadlock.is_none() {
        text += "  (the schedule ends here; the run goes on under the canonical rule)\n";
    }
    text += "\n";
    text
}

fn clause(happening: &Happening) -> String {
    match happening {
        Happening::Arrived { task } => format!("{task} arrives"),
        Happening::Spawned { parent, children } => {
            let n = children.len();
            let names = if n <= 2 {
                children.join(", ")
            } else {
                format!("{} … {}", children[0], children[n - 1])
            };
            format!("{parent} spawns {n} ({names})")
        }
        Happening::CallbackQueued { task } => format!("callback {task} is queued"),
        Happening::Taken { task, worker } => format!("worker {worker} takes {task}"),
        Happening::WorkStarted {
            task, duration: 0, ..
        } => format!("{task} starts its work"),
        Happening::WorkStarted { task, duration, .. } => {
            format!("{task} works for {}", format_ticks(*duration))
        }
        Happening::Blocked { task, .. } => format!("{task} waits for its children"),
        Happening::Resumed { task, .. } => format!("{task}'s children are all done"),
        Happening::TimedOut { task } => format!("{task}'s wait times out"),
        Happening::Finished { task, result } => match result {
            TaskResult::Completed => format!("{task} finishes"),
            TaskResult::Failed => format!("{task} fails"),
        },
        Happening::Exited {
            process,
            cause,
            rss_bytes,
        } => {
            let size = format_size(*rss_bytes);
            match *cause {
                "oom" => format!("the OOM killer kills process {process} ({size})"),
                "max_memory" => format!("process {process} exits above max_memory ({size})"),
                _ => format!("process {process} is recycled after max_tasks ({size})"),
            }
        }
        Happening::Recycled { worker } => format!("thread {worker} is recycled after max_tasks"),
        Happening::Restarted { process } => format!("{process} is back"),
        Happening::Lost { task } => format!("{task} is lost"),
        Happening::Requeued { task } => format!("{task} is re-queued"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(happenings: Vec<Happening>) -> StoryStep {
        StoryStep {
            choice: "run x#1".into(),
            happenings,
        }
    }

    fn task(name: &str) -> String {
        name.to_string()
    }

    #[test]
    fn every_happening_has_its_sentence() {
        let cases = [
            (Happening::Arrived { task: task("a#1") }, "a#1 arrives"),
            (
                Happening::CallbackQueued { task: task("f#1") },
                "callback f#1 is queued",
            ),
            (
                Happening::Taken {
                    task: task("a#1"),
                    worker: task("default/2"),
                },
                "worker default/2 takes a#1",
            ),
            (
                Happening::WorkStarted {
                    task: task("a#1"),
                    worker: task("default/2"),
                    duration: 0,
                },
                "a#1 starts its work",
            ),
            (
                Happening::WorkStarted {
                    task: task("a#1"),
                    worker: task("default/2"),
                    duration: 4_000_000_000,
                },
                "a#1 works for 4s",
            ),
            (
                Happening::Blocked {
                    task: task("a#1"),
                    worker: task("default/2"),
                },
                "a#1 waits for its children",
            ),
            (
                Happening::Resumed {
                    task: task("a#1"),
                    worker: task("default/2"),
                },
                "a#1's children are all done",
            ),
            (
                Happening::TimedOut { task: task("a#1") },
                "a#1's wait times out",
            ),
            (
                Happening::Finished {
                    task: task("a#1"),
                    result: TaskResult::Completed,
                },
                "a#1 finishes",
            ),
            (
                Happening::Finished {
                    task: task("a#1"),
                    result: TaskResult::Failed,
                },
                "a#1 fails",
            ),
        ];
        for (happening, text) in cases {
            assert_eq!(sentence(&step(vec![happening])), text);
        }
    }

    #[test]
    fn spawns_name_up_to_two_children_then_the_first_and_last() {
        let spawned = |n: u32| Happening::Spawned {
            parent: task("p#1"),
            children: (1..=n).map(|i| format!("c#{i}")).collect(),
        };
        assert_eq!(sentence(&step(vec![spawned(1)])), "p#1 spawns 1 (c#1)");
        assert_eq!(sentence(&step(vec![spawned(2)])), "p#1 spawns 2 (c#1, c#2)");
        assert_eq!(
            sentence(&step(vec![spawned(3)])),
            "p#1 spawns 3 (c#1 … c#3)"
        );
    }

    #[test]
    fn happenings_are_joined_and_an_empty_step_says_so() {
        let s = step(vec![
            Happening::Finished {
                task: task("c#1"),
                result: TaskResult::Completed,
            },
            Happening::Resumed {
                task: task("p#1"),
                worker: task("default/1"),
            },
        ]);
        assert_eq!(sentence(&s), "c#1 finishes; p#1's children are all done");
        assert_eq!(sentence(&step(Vec::new())), "nothing visible happens");
        let story = Story {
            steps: vec![s, step(Vec::new())],
        };
        assert_eq!(
            numbered(&story),
            "   1. c#1 finishes; p#1's children are all done\n   2. nothing visible happens\n"
        );
    }
}
