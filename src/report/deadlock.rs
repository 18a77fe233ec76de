//! A deadlock as plain data, ready for any renderer.
//!
//! The engine finds a deadlock and describes it as a [`Deadlock`]: who holds which worker, what
//! waits for what, which tasks sit in which queue, and the wait-for graph. A
//! [`DeadlockReport`] keeps those facts and one cycle of the graph, without the graph itself
//! and with nothing in words, so a report can be compared, stored or drawn. The words come
//! from the renderers: [`text::explain`](super::text::explain) for the explanation `qsim run`
//! prints, [`json`](super::json) for programs, and [`dot::render`](super::dot::render) (from the
//! [`Deadlock`], which has the whole graph) for Graphviz.

use crate::engine::wait_for::{Holder, Node, QueuedTask, StuckPool};
use crate::engine::Deadlock;
use crate::scenario::Tick;

/// The deadlock a run ended in, as data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeadlockReport {
    /// The instant it formed.
    pub time: Tick,
    /// The stuck tasks that hold a worker while waiting, in worker order, each with the stuck
    /// children it waits for.
    pub holders: Vec<Holder>,
    /// The stuck tasks sitting in queues, by queue (scenario order), in the order they would
    /// be taken.
    pub queued: Vec<QueuedTask>,
    /// The pools every worker of which is held by a stuck task, in scenario order.
    pub pools: Vec<StuckPool>,
    /// One cycle of the wait-for graph, first node repeated at the end (see
    /// [`Deadlock::cycle`]).
    pub cycle: Vec<Node>,
}

impl DeadlockReport {
    /// The facts of `deadlock`.
    pub fn new(deadlock: &Deadlock) -> DeadlockReport {
        DeadlockReport {
            time: deadlock.time,
            holders: deadlock.holders.clone(),
            queued: deadlock.queued.clone(),
            pools: deadlock.pools.clone(),
            cycle: deadlock.cycle(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{simulate, Limits, Model, Outcome};
    use crate::report::fixtures::fanout;
    use crate::report::text;

    fn deadlock_of(workers: u32) -> Deadlock {
        let model = Model::new(fanout(workers));
        match simulate(&model, &mut (), Limits::default()).0 {
            Outcome::Deadlock(d) => d,
            other => panic!("expected a deadlock, got {}", other.name()),
        }
    }

    #[test]
    fn the_data_names_the_holders_their_waits_and_the_queue() {
        let d = DeadlockReport::new(&deadlock_of(2));
        assert_eq!(d.time, 0);
        let holders: Vec<(&str, &str, u32, usize)> = d
            .holders
            .iter()
            .map(|h| {
                let stuck = h.stuck_children.len();
                (h.worker.as_str(), h.task.as_str(), h.outstanding, stuck)
            })
            .collect();
        assert_eq!(
            holders,
            [
                ("default/1", "main_task#1", 10, 10),
                ("default/2", "main_task#2", 10, 10)
            ]
        );
        assert_eq!(d.holders[1].stuck_children[0], "subtask#11");
        assert_eq!(d.queued.len(), 20);
        assert_eq!(d.queued[0].parent.as_deref(), Some("main_task#1"));
        assert!(d.queued.iter().all(|q| q.queue == "default"));
        assert_eq!(
            d.pools,
            [StuckPool {
                pool: "default".into(),
                workers: 2
            }]
        );
        assert_eq!(d.cycle.first(), d.cycle.last());
    }

    #[test]
    fn the_data_of_a_run_gives_its_explanation() {
        let d = DeadlockReport::new(&deadlock_of(2));
        let text = text::explain(&d);
        assert_eq!(
            text,
            "\
deadlock at 0s: 2 tasks hold a worker waiting for children that can never run
  worker default/1 holds main_task#1 since 0s, waiting for 10 children (10 stuck: subtask#1, subtask#2, subtask#3 and 7 more)
  worker default/2 holds main_task#2 since 0s, waiting for 10 children (10 stuck: subtask#11, subtask#12, subtask#13 and 7 more)
  20 tasks queued in \"default\" (subtask#1, subtask#2, subtask#3 and 17 more)
  all 2 workers of pool \"default\" are held by waiting tasks above, so no worker will ever take them
  cycle: worker default/1 -> main_task#1 -> subtask#1 -> queue default -> pool default -> worker default/1"
        );
    }

    #[test]
    fn data_built_by_hand_is_explained_the_same_way() {
        // One parent on a pool of one worker, waiting for its one child: the singular forms,
        // from data that never saw the engine.
        let d = DeadlockReport {
            time: 1_500_000_000,
            holders: vec![Holder {
                task: "parent#1".into(),
                worker: "solo/1".into(),
                since: 1_000_000_000,
                outstanding: 1,
                stuck_children: vec!["child#1".into()],
                lost_children: 0,
            }],
            queued: vec![QueuedTask {
                task: "child#1".into(),
                queue: "jobs".into(),
                parent: Some("parent#1".into()),
            }],
            pools: vec![StuckPool {
                pool: "solo".into(),
                workers: 1,
            }],
            cycle: vec![
                Node::Worker("solo/1".into()),
                Node::Task("parent#1".into()),
                Node::Task("child#1".into()),
                Node::Queue("jobs".into()),
                Node::Pool("solo".into()),
                Node::Worker("solo/1".into()),
            ],
        };
        assert_eq!(
            text::explain(&d),
            "\
deadlock at 1.5s: 1 task holds a worker waiting for children that can never run
  worker solo/1 holds parent#1 since 1s, waiting for 1 child (1 stuck: child#1)
  1 task queued in \"jobs\" (child#1)
  all 1 worker of pool \"solo\" are held by waiting tasks above, so no worker will ever take them
  cycle: worker solo/1 -> parent#1 -> child#1 -> queue jobs -> pool solo -> worker solo/1"
        );
    }
}
