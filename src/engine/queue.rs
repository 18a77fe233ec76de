//! A queue of tasks waiting for a worker, with its discipline.
//!
//! Queues are unbounded today; a bound (a spawn into a full queue blocks the spawner) is a
//! roadmap item and would live here as a capacity plus a list of blocked spawners.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use crate::scenario::Discipline;

use super::InstanceId;

/// The queued tasks of one queue, in the order its discipline gives them out.
#[derive(Debug)]
pub enum TaskQueue {
    /// First in, first out: push at the back, take from the front.
    Fifo(VecDeque<InstanceId>),
    /// Last in, first out: push and take at the back.
    Lifo(Vec<InstanceId>),
    /// Highest priority first; among equals, lowest enqueue number first.
    Priority(BinaryHeap<(i32, Reverse<u64>, InstanceId)>),
}

impl Clone for TaskQueue {
    fn clone(&self) -> Self {
        match self {
            TaskQueue::Fifo(q) => TaskQueue::Fifo(q.clone()),
            TaskQueue::Lifo(q) => TaskQueue::Lifo(q.clone()),
            TaskQueue::Priority(q) => TaskQueue::Priority(q.clone()),
        }
    }

    /// Reuses this queue's storage (the explorer recycles states).
    fn clone_from(&mut self, source: &Self) {
        match (self, source) {
            (TaskQueue::Fifo(a), TaskQueue::Fifo(b)) => a.clone_from(b),
            (TaskQueue::Lifo(a), TaskQueue::Lifo(b)) => a.clone_from(b),
            (TaskQueue::Priority(a), TaskQueue::Priority(b)) => a.clone_from(b),
            (this, source) => *this = source.clone(),
        }
    }
}

impl TaskQueue {
    /// An empty queue with `discipline`.
    pub fn new(discipline: Discipline) -> TaskQueue {
        match discipline {
            Discipline::Fifo => TaskQueue::Fifo(VecDeque::new()),
            Discipline::Lifo => TaskQueue::Lifo(Vec::new()),
            Discipline::Priority => TaskQueue::Priority(BinaryHeap::new()),
        }
    }

    /// Adds a task; `order` is a run-wide enqueue counter that breaks priority ties.
    pub fn push(&mut self, task: InstanceId, priority: i32, order: u64) {
        match self {
            TaskQueue::Fifo(q) => q.push_back(task),
            TaskQueue::Lifo(q) => q.push(task),
            TaskQueue::Priority(q) => q.push((priority, Reverse(order), task)),
        }
    }

    /// Takes the task a worker gets next.
    pub fn pop(&mut self) -> Option<InstanceId> {
        match self {
            TaskQueue::Fifo(q) => q.pop_front(),
            TaskQueue::Lifo(q) => q.pop(),
            TaskQueue::Priority(q) => q.pop().map(|(_, _, t)| t),
        }
    }

    /// Number of queued tasks.
    pub fn len(&self) -> usize {
        match self {
            TaskQueue::Fifo(q) => q.len(),
            TaskQueue::Lifo(q) => q.len(),
            TaskQueue::Priority(q) => q.len(),
        }
    }

    /// True when nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Calls `f(position, task)` for the queued tasks in the order they would be taken,
    /// without allocating for fifo and lifo queues.
    pub fn for_each_in_order(&self, mut f: impl FnMut(usize, InstanceId)) {
        match self {
            TaskQueue::Fifo(q) => q.iter().enumerate().for_each(|(i, &t)| f(i, t)),
            TaskQueue::Lifo(q) => q.iter().rev().enumerate().for_each(|(i, &t)| f(i, t)),
            TaskQueue::Priority(_) => self
                .in_order()
                .into_iter()
                .enumerate()
                .for_each(|(i, t)| f(i, t)),
        }
    }

    /// The queued tasks in the order they would be taken (allocates; for explanations and the
    /// explorer's canonical states, not for the run loop).
    pub fn in_order(&self) -> Vec<InstanceId> {
        match self {
            TaskQueue::Fifo(q) => q.iter().copied().collect(),
            TaskQueue::Lifo(q) => q.iter().rev().copied().collect(),
            TaskQueue::Priority(q) => {
                let mut items: Vec<_> = q.iter().copied().collect();
                items.sort_by(|a, b| b.cmp(a));
                items.into_iter().map(|(_, _, t)| t).collect()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(mut q: TaskQueue) -> Vec<InstanceId> {
        std::iter::from_fn(|| q.pop()).collect()
    }

    #[test]
    fn disciplines_give_tasks_out_in_their_order() {
        let pushes = [(0, 0), (1, 5), (2, 5), (3, 1)];
        let mut expected_in_order = Vec::new();
        for (d, expected) in [
            (Discipline::Fifo, vec![0, 1, 2, 3]),
            (Discipline::Lifo, vec![3, 2, 1, 0]),
            (Discipline::Priority, vec![1, 2, 3, 0]),
        ] {
            let mut q = TaskQueue::new(d);
            for (order, (task, prio)) in pushes.iter().enumerate() {
                q.push(*task, *prio, order as u64);
            }
            expected_in_order.push(q.in_order());
            assert_eq!(q.in_order(), expected);
            assert_eq!(drain(q), expected);
        }
    }
}
