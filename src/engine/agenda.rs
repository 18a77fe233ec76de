//! The agenda: timers waiting for their instant.
//!
//! A binary heap keyed by `(time, seq)`, where `seq` is the order in which timers were set. Two
//! timers due at the same instant therefore leave in the order they were scheduled, whatever the
//! heap's internal layout — the tie-break is part of qsim's determinism contract.
//!
//! The run loop only ever pops the earliest timer. The explorer also needs to fire *any* timer
//! due at the current instant, so [`Agenda::remove`] takes one out by its sequence number; that
//! is linear in the agenda's size, which is small in explored scenarios.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::scenario::Tick;

use super::InstanceId;

/// What happens when a timer fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Timer {
    /// The next arrival of arrival stream `stream`.
    Arrival {
        /// Index into the scenario's arrivals.
        stream: u32,
    },
    /// A task finishes its current `work` step.
    WorkDone {
        /// The working task.
        task: InstanceId,
    },
    /// A task's wait gives up. Stale (and skipped) once the wait has ended, which `token` tells.
    Timeout {
        /// The waiting task.
        task: InstanceId,
        /// Identifies the wait this timeout belongs to.
        token: u64,
    },
    /// An exited or killed process's replacement starts and its workers take work again.
    Restarted {
        /// The process.
        process: u32,
    },
    /// A recycled thread's replacement takes work again (`max_tasks` on a thread pool).
    ThreadReplaced {
        /// The worker.
        worker: u32,
    },
}

/// A timer with its instant and scheduling sequence number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Entry {
    /// When it fires.
    pub time: Tick,
    /// Scheduling order, unique within a run.
    pub seq: u64,
    /// What fires.
    pub timer: Timer,
}

impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed: BinaryHeap is a max-heap and we want the earliest (time, seq) on top.
        (other.time, other.seq).cmp(&(self.time, self.seq))
    }
}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The future-event list.
#[derive(Debug, Default)]
pub struct Agenda {
    heap: BinaryHeap<Entry>,
    next_seq: u64,
}

impl Clone for Agenda {
    fn clone(&self) -> Self {
        Agenda {
            heap: self.heap.clone(),
            next_seq: self.next_seq,
        }
    }

    /// Reuses this agenda's storage (the explorer recycles states).
    fn clone_from(&mut self, source: &Self) {
        self.heap.clone_from(&source.heap);
        self.next_seq = source.next_seq;
    }
}

impl Agenda {
    /// Sets a timer; returns its sequence number.
    pub fn schedule(&mut self, time: Tick, timer: Timer) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(Entry { time, seq, timer });
        seq
    }

    /// The earliest timer, if any.
    pub fn peek(&self) -> Option<&Entry> {
        self.heap.peek()
    }

    /// Removes and returns the earliest timer.
    pub fn pop(&mut self) -> Option<Entry> {
        self.heap.pop()
    }

    /// Removes the timer with sequence number `seq`.
    pub fn remove(&mut self, seq: u64) -> Option<Entry> {
        if self.heap.peek().is_some_and(|e| e.seq == seq) {
            return self.heap.pop();
        }
        let mut entries = std::mem::take(&mut self.heap).into_vec();
        let found = entries.iter().position(|e| e.seq == seq);
        let entry = found.map(|i| entries.swap_remove(i));
        self.heap = BinaryHeap::from(entries);
        entry
    }

    /// Every timer, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &Entry> {
        self.heap.iter()
    }

    /// Number of timers set and not yet fired or removed.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// True when no timer is set.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_instant_timers_leave_in_scheduling_order() {
        let mut a = Agenda::default();
        for stream in 0..50 {
            a.schedule(10 - (stream % 3) as Tick, Timer::Arrival { stream });
        }
        let mut last = (0, 0);
        while let Some(e) = a.pop() {
            assert!((e.time, e.seq) > last || last == (0, 0));
            last = (e.time, e.seq);
        }
    }

    #[test]
    fn remove_takes_out_exactly_one_timer() {
        let mut a = Agenda::default();
        let seqs: Vec<u64> = (0..5)
            .map(|i| a.schedule(i, Timer::Arrival { stream: i as u32 }))
            .collect();
        let removed = a.remove(seqs[3]).unwrap();
        assert_eq!(removed.timer, Timer::Arrival { stream: 3 });
        assert_eq!(a.len(), 4);
        let order: Vec<u64> = std::iter::from_fn(|| a.pop().map(|e| e.seq)).collect();
        assert_eq!(order, vec![seqs[0], seqs[1], seqs[2], seqs[4]]);
        assert!(a.remove(99).is_none());
    }
}
