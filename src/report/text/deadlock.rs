//! A deadlock in words: the explanation, and the labels of the wait-for graph's nodes.
//!
//! ```text
//! deadlock at 0s: 2 tasks hold a worker waiting for children that can never run
//!   worker default/1 holds main_task#1 since 0s, waiting for 10 children (10 stuck: subtask#1, subtask#2, subtask#3 and 7 more)
//!   worker default/2 holds main_task#2 since 0s, waiting for 10 children (10 stuck: subtask#11, subtask#12, subtask#13 and 7 more)
//!   20 tasks queued in "default" (subtask#1, subtask#2, subtask#3 and 17 more)
//!   all 2 workers of pool "default" are held by waiting tasks above, so no worker will ever take them
//!   cycle: worker default/1 -> main_task#1 -> subtask#1 -> queue default -> pool default -> worker default/1
//! ```

use std::fmt::Write as _;

use crate::engine::wait_for::Node;
use crate::report::DeadlockReport;
use crate::scenario::format_ticks;

/// The explanation: a headline, one line per holder, per queue and per stuck pool, and the
/// cycle. No final newline.
pub fn explain(d: &DeadlockReport) -> String {
    let mut out = String::new();
    let n = d.holders.len();
    let orphaned = d.holders.iter().filter(|h| h.lost_children > 0).count();
    if orphaned > 0 {
        let _ = writeln!(
            out,
            "orphaned wait at {}: {} task{} hold{} a worker waiting for children that were lost \
             when their process died, and nothing will run them again",
            format_ticks(d.time),
            orphaned,
            plural(orphaned),
            if orphaned == 1 { "s" } else { "" },
        );
    } else {
        let _ = writeln!(
            out,
            "deadlock at {}: {} task{} hold{} a worker waiting for children that can never run",
            format_ticks(d.time),
            n,
            plural(n),
            if n == 1 { "s" } else { "" },
        );
    }
    for h in &d.holders {
        let mut why = Vec::new();
        if !h.stuck_children.is_empty() || h.lost_children == 0 {
            why.push(format!(
                "{} stuck: {}",
                h.stuck_children.len(),
                abbreviate(&h.stuck_children)
            ));
        }
        if h.lost_children > 0 {
            why.push(format!("{} lost", h.lost_children));
        }
        let _ = writeln!(
            out,
            "  worker {} holds {} since {}, waiting for {} child{} ({})",
            h.worker,
            h.task,
            format_ticks(h.since),
            h.outstanding,
            if h.outstanding == 1 { "" } else { "ren" },
            why.join(", "),
        );
    }
    let mut queues: Vec<&str> = d.queued.iter().map(|q| q.queue.as_str()).collect();
    queues.dedup();
    for queue in queues {
        let tasks: Vec<String> = d
            .queued
            .iter()
            .filter(|q| q.queue == queue)
            .map(|q| q.task.clone())
            .collect();
        let _ = writeln!(
            out,
            "  {} task{} queued in \"{}\" ({})",
            tasks.len(),
            plural(tasks.len()),
            queue,
            abbreviate(&tasks),
        );
    }
    for p in &d.pools {
        let _ = writeln!(
            out,
            "  all {} worker{} of pool \"{}\" are held by waiting tasks above, so no worker will ever take them",
            p.workers,
            plural(p.workers as usize),
            p.pool,
        );
    }
    if orphaned > 0 && d.pools.is_empty() {
        // No cycle: the wait has nothing left to wait for.
        let _ = write!(
            out,
            "  a lost child never finishes: give the wait a timeout, or make the child's task \
             acks_late so that it is re-queued when its process dies"
        );
    } else {
        let _ = write!(out, "  cycle: {}", cycle(&d.cycle).join(" -> "));
    }
    out
}

/// A node's label: `worker default/1`, `main_task#1`, `queue default`, `pool default`.
pub fn label(node: &Node) -> String {
    match node {
        Node::Worker(n) => format!("worker {n}"),
        Node::Task(n) => n.clone(),
        Node::Queue(n) => format!("queue {n}"),
        Node::Pool(n) => format!("pool {n}"),
    }
}

/// The labels of a cycle's nodes.
pub fn cycle(nodes: &[Node]) -> Vec<String> {
    nodes.iter().map(label).collect()
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// `a, b, c and 7 more`.
fn abbreviate(names: &[String]) -> String {
    const SHOWN: usize = 3;
    if names.len() <= SHOWN + 1 {
        return names.join(", ");
    }
    format!(
        "{} and {} more",
        names[..SHOWN].join(", "),
        names.len() - SHOWN
    )
}
