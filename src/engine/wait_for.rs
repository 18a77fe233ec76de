//! Deadlock detection, and the deadlock as data: its holders, queued tasks and wait-for graph.
//!
//! # Definition
//! A set of tasks is *stuck* when none of them can ever move again, whatever arrives later:
//! - a task waiting (without timeout) is stuck when one of the children it waits for is stuck,
//!   or was lost (its process died and nothing will run it again: an *orphaned wait*);
//! - a queued task is stuck when every pool that consumes its queue has all its workers held by
//!   stuck tasks.
//!
//! Tasks doing `work`, tasks just taken, and waits with a timeout always move again, so they
//! are never stuck. A deadlock is a non-empty stuck set. The largest stuck set is the greatest
//! fixed point of the two rules: start from every waiting and queued task and remove, until
//! nothing changes, each task that does not satisfy its rule. This finds partial deadlocks too
//! (one pool stuck while another keeps working), and because a stuck set stays stuck, checking
//! after every change finds a deadlock at the instant it forms.
//!
//! # Explanation
//! The stuck set is drawn as a graph (petgraph): a worker *holds* a task, a task *waits for* a
//! child, a child is *queued in* a queue, a queue is *consumed by* a pool, a pool's workers are
//! *all held*. Every stuck node has an edge to another stuck node, so the graph has a cycle.
//! This module finds the stuck set and gathers these facts as a [`Deadlock`]; putting them in
//! words (the explanation, the node labels, Graphviz DOT) is the job of
//! [`report::deadlock`](crate::report::deadlock), so the engine never formats.

use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;

use crate::scenario::{PoolId, QueueId, Tick};

use super::{InstanceId, Simulation, Status, WorkerId};

/// A deadlock: the tasks that can never move again and why.
#[derive(Clone, Debug)]
pub struct Deadlock {
    /// The instant it formed.
    pub time: Tick,
    /// Stuck tasks that hold a worker while waiting, in worker order.
    pub holders: Vec<Holder>,
    /// Stuck tasks sitting in queues, by queue (scenario order), in the order they would be taken.
    pub queued: Vec<QueuedTask>,
    /// Pools whose every worker is held by a stuck task, in scenario order.
    pub pools: Vec<StuckPool>,
    /// The wait-for graph of the stuck set.
    pub graph: DiGraph<Node, Edge>,
}

/// A stuck task holding a worker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holder {
    /// The task, `type#serial`.
    pub task: String,
    /// The worker it holds, `pool/index`.
    pub worker: String,
    /// When the worker took it.
    pub since: Tick,
    /// How many children it still waits for.
    pub outstanding: u32,
    /// Those of its children that are stuck, in creation order.
    pub stuck_children: Vec<String>,
    /// How many of its children were lost: it waits for them for ever.
    pub lost_children: u32,
}

/// A stuck task in a queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueuedTask {
    /// The task, `type#serial`.
    pub task: String,
    /// Its queue's name.
    pub queue: String,
    /// Its parent, if the parent is alive.
    pub parent: Option<String>,
}

/// A pool every worker of which is held by a stuck task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StuckPool {
    /// The pool's name.
    pub pool: String,
    /// Its number of workers.
    pub workers: u32,
}

/// A node of the wait-for graph.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    /// A worker, `pool/index`.
    Worker(String),
    /// A task instance, `type#serial`.
    Task(String),
    /// A queue.
    Queue(String),
    /// A pool.
    Pool(String),
}

/// An edge of the wait-for graph: how its source keeps its target from moving on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Edge {
    /// A worker holds a task.
    Holds,
    /// A task waits for one of its children.
    WaitsFor,
    /// A task sits in a queue.
    QueuedIn,
    /// A queue is consumed by a pool.
    ConsumedBy,
    /// A pool's workers are all held (an edge to each of them).
    AllWorkersHeld,
}

/// The largest stuck set of `sim`'s current state, as a [`Deadlock`], or `None`.
pub fn find(sim: &Simulation<'_>) -> Option<Deadlock> {
    let stuck = stuck_set(sim);
    if !stuck.iter().any(|&s| s) {
        return None;
    }
    Some(gather(sim, &stuck))
}

/// Children of every alive instance, by slot, in creation (slot-independent) order.
fn children_of(sim: &Simulation<'_>) -> Vec<Vec<InstanceId>> {
    let mut children = vec![Vec::new(); sim.instances.len()];
    for (id, inst) in sim.instances() {
        if inst.status == Status::Free {
            continue;
        }
        if let Some(parent) = inst.parent.and_then(|l| sim.resolve(l)) {
            children[parent as usize].push(id);
        }
    }
    for list in &mut children {
        list.sort_by_key(|&c| {
            let i = sim.instance(c);
            (i.task, i.serial)
        });
    }
    children
}

/// `stuck[slot]` for the greatest fixed point of the rules in the module docs.
pub fn stuck_set(sim: &Simulation<'_>) -> Vec<bool> {
    let children = children_of(sim);
    // Every status says whether it can be stuck: a new one must be placed here.
    let mut stuck: Vec<bool> = sim
        .instances
        .iter()
        .map(|i| match i.status {
            Status::Waiting { timed, .. } => !timed,
            Status::Queued(_) => true,
            Status::Free | Status::Taken(_) | Status::Working(_) => false,
        })
        .collect();
    loop {
        let full = full_pools(sim, &stuck);
        let mut changed = false;
        for (id, inst) in sim.instances() {
            if !stuck[id as usize] {
                continue;
            }
            let keep = match inst.status {
                Status::Waiting { .. } => {
                    inst.lost_children > 0
                        || children[id as usize].iter().any(|&c| stuck[c as usize])
                }
                Status::Queued(q) => sim.scenario().queues[q].consumers.iter().all(|&p| full[p]),
                Status::Free | Status::Taken(_) | Status::Working(_) => false,
            };
            if !keep {
                stuck[id as usize] = false;
                changed = true;
            }
        }
        if !changed {
            return stuck;
        }
    }
}

fn full_pools(sim: &Simulation<'_>, stuck: &[bool]) -> Vec<bool> {
    (0..sim.scenario().pools.len())
        .map(|p| {
            sim.model.workers_of(p).all(|w| {
                sim.workers[w as usize]
                    .task()
                    .is_some_and(|t| stuck[t as usize])
            })
        })
        .collect()
}

fn gather(sim: &Simulation<'_>, stuck: &[bool]) -> Deadlock {
    let s = sim.scenario();
    let children = children_of(sim);
    let full = full_pools(sim, stuck);
    let mut holders = Vec::new();
    for (w, task) in sim.workers.iter().enumerate() {
        let Some(t) = task.task() else { continue };
        if !stuck[t as usize] {
            continue;
        }
        let inst = sim.instance(t);
        holders.push((
            w as WorkerId,
            t,
            Holder {
                task: sim.task_name(t),
                worker: sim.model.worker_name(w as WorkerId),
                since: inst.taken_at,
                outstanding: inst.outstanding,
                stuck_children: children[t as usize]
                    .iter()
                    .filter(|&&c| stuck[c as usize])
                    .map(|&c| sim.task_name(c))
                    .collect(),
                lost_children: inst.lost_children,
            },
        ));
    }
    let mut queued = Vec::new();
    for (q, queue) in s.queues.iter().enumerate() {
        for t in sim.queue(q).in_order() {
            if stuck[t as usize] {
                queued.push((
                    q,
                    t,
                    QueuedTask {
                        task: sim.task_name(t),
                        queue: queue.name.clone(),
                        parent: sim
                            .instance(t)
                            .parent
                            .and_then(|l| sim.resolve(l))
                            .map(|p| sim.task_name(p)),
                    },
                ));
            }
        }
    }
    let pools: Vec<(PoolId, StuckPool)> = full
        .iter()
        .enumerate()
        .filter(|(_, &f)| f)
        .map(|(p, _)| {
            (
                p,
                StuckPool {
                    pool: s.pools[p].name.clone(),
                    workers: s.pools[p].workers,
                },
            )
        })
        .collect();
    let graph = build_graph(sim, stuck, &children, &holders, &queued, &pools);
    Deadlock {
        time: sim.now(),
        holders: holders.into_iter().map(|(_, _, h)| h).collect(),
        queued: queued.into_iter().map(|(_, _, q)| q).collect(),
        pools: pools.into_iter().map(|(_, p)| p).collect(),
        graph,
    }
}

fn build_graph(
    sim: &Simulation<'_>,
    stuck: &[bool],
    children: &[Vec<InstanceId>],
    holders: &[(WorkerId, InstanceId, Holder)],
    queued: &[(QueueId, InstanceId, QueuedTask)],
    pools: &[(PoolId, StuckPool)],
) -> DiGraph<Node, Edge> {
    let s = sim.scenario();
    let mut g = DiGraph::new();
    let mut task_node = std::collections::BTreeMap::new();
    let mut worker_node = std::collections::BTreeMap::new();
    for (w, t, h) in holders {
        let wn = g.add_node(Node::Worker(h.worker.clone()));
        let tn = g.add_node(Node::Task(h.task.clone()));
        worker_node.insert(*w, wn);
        task_node.insert(*t, tn);
    }
    for (_, t, q) in queued {
        task_node.insert(*t, g.add_node(Node::Task(q.task.clone())));
    }
    let mut queue_node = std::collections::BTreeMap::new();
    for (q, _, _) in queued {
        queue_node
            .entry(*q)
            .or_insert_with(|| g.add_node(Node::Queue(s.queues[*q].name.clone())));
    }
    let mut pool_node = std::collections::BTreeMap::new();
    for (p, sp) in pools {
        pool_node.insert(*p, g.add_node(Node::Pool(sp.pool.clone())));
    }
    for (w, t, _) in holders {
        g.add_edge(worker_node[w], task_node[t], Edge::Holds);
    }
    for (_, t, _) in holders {
        for &c in &children[*t as usize] {
            if stuck[c as usize] {
                g.add_edge(task_node[t], task_node[&c], Edge::WaitsFor);
            }
        }
    }
    for (q, t, _) in queued {
        g.add_edge(task_node[t], queue_node[q], Edge::QueuedIn);
    }
    for (q, qn) in &queue_node {
        for p in &s.queues[*q].consumers {
            if let Some(pn) = pool_node.get(p) {
                g.add_edge(*qn, *pn, Edge::ConsumedBy);
            }
        }
    }
    for (p, pn) in &pool_node {
        for w in sim.model.workers_of(*p) {
            if let Some(wn) = worker_node.get(&w) {
                g.add_edge(*pn, *wn, Edge::AllWorkersHeld);
            }
        }
    }
    g
}

impl Deadlock {
    /// Whether some stuck task waits for a lost child: an orphaned wait rather than (or as well
    /// as) a starvation deadlock, where every worker of a pool is held.
    pub fn is_orphaned(&self) -> bool {
        self.holders.iter().any(|h| h.lost_children > 0)
    }

    /// Names of the stuck tasks that hold workers.
    pub fn blocked(&self) -> Vec<String> {
        self.holders.iter().map(|h| h.task.clone()).collect()
    }

    /// One cycle of the wait-for graph, first node repeated at the end: from the first node,
    /// follow each node's first edge until a node comes back.
    pub fn cycle(&self) -> Vec<Node> {
        let g = &self.graph;
        let Some(start) = g.node_indices().next() else {
            return Vec::new();
        };
        let mut path: Vec<NodeIndex> = vec![start];
        loop {
            let here = *path.last().expect("path is never empty");
            let next = g.edges(here).min_by_key(|e| e.id()).map(|e| e.target());
            let Some(next) = next else {
                return path.iter().map(|&n| g[n].clone()).collect();
            };
            if let Some(i) = path.iter().position(|&n| n == next) {
                let mut cycle: Vec<Node> = path[i..].iter().map(|&n| g[n].clone()).collect();
                cycle.push(g[next].clone());
                return cycle;
            }
            path.push(next);
        }
    }
}
