//! A queue of tasks waiting for a worker, with its discipline.
//!
//! Queues are unbounded today; a bound (a spawn into a full queue blocks the spawner) is a
//! roadmap item and would live here as a capacity plus a list of blocked spawners.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::scenario::{Discipline, Tick};

use super::InstanceId;

/// The queued tasks of one queue, in the order its discipline gives them out, and how many
/// there are (kept beside them: the run loop asks whether a queue is empty at every step).
///
/// It also keeps the time integral of its length as a sum over the changes of the length, as
/// the pools' counters keep theirs ([`PoolCounters`](super::PoolCounters)): a push at instant
/// `t` adds `t`, a take subtracts it, and [`queued_time`](TaskQueue::queued_time) is the
/// length times the instant minus that sum. And the most tasks it held at once
/// ([`longest`](TaskQueue::longest)), one comparison a push.
#[derive(Debug)]
pub struct TaskQueue {
    len: usize,
    order: Order,
    changes: u128,
    longest: usize,
}

/// The queued tasks, by discipline.
#[derive(Debug)]
enum Order {
    /// First in, first out: push at the back, take from the front.
    Fifo(Fifo),
    /// Last in, first out: push and take at the back.
    Lifo(Vec<InstanceId>),
    /// Highest priority first; among equals, lowest enqueue number first.
    Priority(BinaryHeap<(i32, Reverse<u64>, InstanceId)>),
}

/// A fifo queue as a vector and the index of its head: taking moves the head, and the taken
/// prefix is dropped once it is at least half of the vector. Unlike a ring buffer, its queued
/// tasks are one slice, so copying a queue (the explorer copies every queue of every state it
/// branches from) is one `memcpy`.
#[derive(Debug, Default)]
pub struct Fifo {
    items: Vec<InstanceId>,
    head: usize,
}

impl Fifo {
    fn queued(&self) -> &[InstanceId] {
        &self.items[self.head..]
    }

    #[inline(always)]
    fn pop(&mut self) -> Option<InstanceId> {
        let task = *self.items.get(self.head)?;
        self.head += 1;
        if self.head == self.items.len() {
            self.items.clear();
            self.head = 0;
        } else if self.head >= 32 && self.head * 2 >= self.items.len() {
            self.items.drain(..self.head);
            self.head = 0;
        }
        Some(task)
    }

    /// This queue, made a copy of `source` (reusing its storage).
    fn cloned_from(mut self, source: &Fifo) -> Fifo {
        self.items.clear();
        self.items.extend_from_slice(source.queued());
        self.head = 0;
        self
    }
}

impl Clone for Order {
    fn clone(&self) -> Self {
        match self {
            Order::Fifo(q) => Order::Fifo(Fifo::default().cloned_from(q)),
            Order::Lifo(q) => Order::Lifo(q.clone()),
            Order::Priority(q) => Order::Priority(q.clone()),
        }
    }

    /// Reuses this queue's storage (the explorer recycles states).
    fn clone_from(&mut self, source: &Self) {
        match (self, source) {
            (Order::Fifo(a), Order::Fifo(b)) => *a = std::mem::take(a).cloned_from(b),
            (Order::Lifo(a), Order::Lifo(b)) => a.clone_from(b),
            (Order::Priority(a), Order::Priority(b)) => a.clone_from(b),
            (this, source) => *this = source.clone(),
        }
    }
}

impl Clone for TaskQueue {
    fn clone(&self) -> Self {
        TaskQueue {
            len: self.len,
            order: self.order.clone(),
            changes: self.changes,
            longest: self.longest,
        }
    }

    fn clone_from(&mut self, source: &Self) {
        let TaskQueue {
            len,
            order,
            changes,
            longest,
        } = source;
        self.len = *len;
        self.order.clone_from(order);
        self.changes = *changes;
        self.longest = *longest;
    }
}

impl TaskQueue {
    /// An empty queue with `discipline`.
    pub fn new(discipline: Discipline) -> TaskQueue {
        let order = match discipline {
            Discipline::Fifo => Order::Fifo(Fifo::default()),
            Discipline::Lifo => Order::Lifo(Vec::new()),
            Discipline::Priority => Order::Priority(BinaryHeap::new()),
        };
        TaskQueue {
            len: 0,
            order,
            changes: 0,
            longest: 0,
        }
    }

    /// Adds a task at instant `now`; `order` is a run-wide enqueue counter that breaks
    /// priority ties.
    #[inline(always)]
    pub fn push(&mut self, task: InstanceId, priority: i32, order: u64, now: Tick) {
        self.len += 1;
        self.longest = self.longest.max(self.len);
        self.changes = self.changes.wrapping_add(u128::from(now));
        match &mut self.order {
            Order::Fifo(q) => q.items.push(task),
            Order::Lifo(q) => q.push(task),
            Order::Priority(q) => q.push((priority, Reverse(order), task)),
        }
    }

    /// Takes the task a worker gets next, at instant `now`.
    #[inline(always)]
    pub fn pop(&mut self, now: Tick) -> Option<InstanceId> {
        if self.len == 0 {
            return None;
        }
        self.len -= 1;
        self.changes = self.changes.wrapping_sub(u128::from(now));
        match &mut self.order {
            Order::Fifo(q) => q.pop(),
            Order::Lifo(q) => q.pop(),
            Order::Priority(q) => q.pop().map(|(_, _, t)| t),
        }
    }

    /// Number of queued tasks.
    #[inline(always)]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Task-ticks spent queued from instant 0 to instant `at`, which must be at or after the
    /// last push or take (the current instant, or a later one before the queue changes): the
    /// time integral of the queue's length.
    pub fn queued_time(&self, at: Tick) -> u128 {
        (self.len as u128)
            .wrapping_mul(u128::from(at))
            .wrapping_sub(self.changes)
    }

    /// The most tasks queued at once since the run began, as seen after each push.
    pub fn longest(&self) -> usize {
        self.longest
    }

    /// True when nothing is queued.
    #[inline(always)]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The queued tasks of a fifo queue, head first, as one slice (`None` for the other
    /// disciplines): the quickest walk of a queue, for the explorer's fingerprint.
    #[inline]
    pub fn fifo_slice(&self) -> Option<&[InstanceId]> {
        match &self.order {
            Order::Fifo(q) => Some(q.queued()),
            _ => None,
        }
    }

    /// The queued tasks in the order they would be taken, without allocating for fifo and lifo
    /// queues (the explorer's fingerprint walks every queue of every state it visits; an
    /// iterator, unlike a callback, lets the caller's loop body be inlined).
    #[inline]
    pub fn iter_in_order(&self) -> InOrder<'_> {
        match &self.order {
            Order::Fifo(q) => InOrder::Fifo(q.queued().iter()),
            Order::Lifo(q) => InOrder::Lifo(q.iter().rev()),
            Order::Priority(_) => InOrder::Priority(self.in_order().into_iter()),
        }
    }

    /// The queued tasks in the order they would be taken (allocates; for explanations and the
    /// explorer's canonical states, not for the run loop).
    pub fn in_order(&self) -> Vec<InstanceId> {
        match &self.order {
            Order::Fifo(q) => q.queued().to_vec(),
            Order::Lifo(q) => q.iter().rev().copied().collect(),
            Order::Priority(q) => {
                let mut items: Vec<_> = q.iter().copied().collect();
                items.sort_by(|a, b| b.cmp(a));
                items.into_iter().map(|(_, _, t)| t).collect()
            }
        }
    }
}

/// Iterator over a queue's tasks in the order they would be taken; see
/// [`TaskQueue::iter_in_order`].
pub enum InOrder<'a> {
    /// A fifo queue, front first.
    Fifo(std::slice::Iter<'a, InstanceId>),
    /// A lifo queue, top first.
    Lifo(std::iter::Rev<std::slice::Iter<'a, InstanceId>>),
    /// A priority queue, sorted into a new vector.
    Priority(std::vec::IntoIter<InstanceId>),
}

impl Iterator for InOrder<'_> {
    type Item = InstanceId;

    #[inline]
    fn next(&mut self) -> Option<InstanceId> {
        match self {
            InOrder::Fifo(i) => i.next().copied(),
            InOrder::Lifo(i) => i.next().copied(),
            InOrder::Priority(i) => i.next(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(mut q: TaskQueue) -> Vec<InstanceId> {
        std::iter::from_fn(|| q.pop(0)).collect()
    }

    /// The fifo queue's head index and compaction against the standard ring buffer, over a
    /// long pseudo-random mix of pushes, takes and copies (copies restart from index 0); and
    /// its time integral against the length summed over time, one step at a time (step `i`
    /// at instant `3i`, several changes at some instants).
    #[test]
    fn fifo_matches_a_ring_buffer() {
        use std::collections::VecDeque;
        let mut fifo = TaskQueue::new(Discipline::Fifo);
        let mut reference = VecDeque::new();
        let mut area = 0u128;
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for step in 0..20_000u32 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let now = Tick::from(step / 2 * 3);
            if step % 2 == 0 && step > 0 {
                area += reference.len() as u128 * 3;
            }
            assert_eq!(fifo.queued_time(now), area);
            match x % 7 {
                0..=2 => {
                    fifo.push(step, 0, step as u64, now);
                    reference.push_back(step);
                }
                3..=5 => assert_eq!(fifo.pop(now), reference.pop_front()),
                _ => {
                    let mut copy = TaskQueue::new(Discipline::Fifo);
                    copy.clone_from(&fifo);
                    fifo = if x.is_multiple_of(2) {
                        copy
                    } else {
                        fifo.clone()
                    };
                }
            }
            assert_eq!(fifo.len(), reference.len());
            assert!(fifo.iter_in_order().eq(reference.iter().copied()));
            assert_eq!(fifo.queued_time(now), area);
            assert_eq!(
                fifo.queued_time(now + 5),
                area + reference.len() as u128 * 5
            );
        }
    }

    #[test]
    fn disciplines_give_tasks_out_in_their_order() {
        let pushes = [(0, 0), (1, 5), (2, 5), (3, 1)];
        for (d, expected) in [
            (Discipline::Fifo, vec![0, 1, 2, 3]),
            (Discipline::Lifo, vec![3, 2, 1, 0]),
            (Discipline::Priority, vec![1, 2, 3, 0]),
        ] {
            let mut q = TaskQueue::new(d);
            for (order, (task, prio)) in pushes.iter().enumerate() {
                q.push(*task, *prio, order as u64, 0);
            }
            assert_eq!(q.in_order(), expected);
            assert_eq!(q.iter_in_order().collect::<Vec<_>>(), expected);
            assert_eq!(drain(q), expected);
        }
    }
}
