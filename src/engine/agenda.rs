//! The agenda: timers waiting for their instant.
//!
//! A 4-ary heap keyed by `(time, seq)`, where `seq` is the order in which timers were set. Two
//! timers due at the same instant therefore leave in the order they were scheduled, whatever the
//! heap's internal layout — the tie-break is part of qsim's determinism contract.
//!
//! The run loop only ever pops the earliest timer. The explorer also needs to fire *any* timer
//! due at the current instant, so [`Agenda::remove`] takes one out by its sequence number; that
//! is linear in the agenda's size, which is small in explored scenarios.

use std::cmp::Ordering;

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

impl Entry {
    /// The agenda's order as one number: earlier `(time, seq)` is smaller.
    #[inline(always)]
    fn key(&self) -> u128 {
        (u128::from(self.time) << 64) | u128::from(self.seq)
    }
}

impl Ord for Entry {
    /// Reversed, as a max-heap wants it: the earliest `(time, seq)` is the greatest.
    fn cmp(&self, other: &Self) -> Ordering {
        other.key().cmp(&self.key())
    }
}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The children of each node of the agenda's heap.
const ARITY: usize = 4;

/// The future-event list: a 4-ary min-heap on `(time, seq)` in a vector.
///
/// Written out rather than `std::collections::BinaryHeap`, whose `pop` moves the last
/// element to the bottom and back up again (a good trade for large heaps of costly
/// comparisons): here the heap holds a timer per working task and arrival stream, usually a
/// handful, compared as one 128-bit key, and the run loop pops one at every timer.
///
/// Four children a node rather than two: a heap of up to five timers (M/M/4's most) is one
/// level deep, so a sift takes one step where a binary heap took two, and each step of a sift
/// is a branch on an outcome a processor cannot guess (the earliest of the children is picked
/// by comparisons that only select values). `qsim run` of M/M/4 took 3% less time; the explorer's agendas are as
/// small. (A table scanned for its earliest timer, and a sorted vector, were tried and were
/// slower: the first does too much at each pop, the second guesses as badly where it inserts.)
#[derive(Debug, Default)]
pub struct Agenda {
    heap: Vec<Entry>,
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
    #[inline]
    pub fn schedule(&mut self, time: Tick, timer: Timer) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        let entry = Entry { time, seq, timer };
        self.heap.push(entry);
        self.sift_up(self.heap.len() - 1, entry);
        seq
    }

    /// The earliest timer, if any.
    #[inline(always)]
    pub fn peek(&self) -> Option<&Entry> {
        self.heap.first()
    }

    /// Removes and returns the earliest timer.
    // Always inlined: the run loop pops at every timer, and the call, returning its entry
    // through memory, cost about as much as the sift.
    #[inline(always)]
    pub fn pop(&mut self) -> Option<Entry> {
        let last = self.heap.pop()?;
        if self.heap.is_empty() {
            return Some(last);
        }
        let top = self.heap[0];
        self.sift_down(0, last);
        Some(top)
    }

    /// Removes the timer with sequence number `seq`.
    pub fn remove(&mut self, seq: u64) -> Option<Entry> {
        let i = self.heap.iter().position(|e| e.seq == seq)?;
        let found = self.heap[i];
        let last = self.heap.pop().expect("the agenda holds the timer found");
        if i < self.heap.len() {
            // `last` takes the hole: it goes down, or up, whichever restores the order.
            if i > 0 && last.key() < self.heap[(i - 1) / ARITY].key() {
                self.sift_up(i, last);
            } else {
                self.sift_down(i, last);
            }
        }
        Some(found)
    }

    /// Puts `entry` at `hole` (where its slot's old content is no longer wanted), moving the
    /// parents later than it down, one level at a time.
    #[inline(always)]
    fn sift_up(&mut self, mut hole: usize, entry: Entry) {
        // On a local slice, whose length the compiler sees, so that the indexing below needs
        // no bounds checks.
        let heap = &mut self.heap[..=hole];
        let key = entry.key();
        while hole > 0 {
            let parent = (hole - 1) / ARITY;
            if heap[parent].key() <= key {
                break;
            }
            heap[hole] = heap[parent];
            hole = parent;
        }
        heap[hole] = entry;
    }

    /// Puts `entry` at `hole`, moving the earliest of the children up, one level at a time.
    /// The earliest child is found by comparisons whose outcomes only pick values, which the
    /// compiler makes conditional moves.
    #[inline(always)]
    fn sift_down(&mut self, mut hole: usize, entry: Entry) {
        // On a local slice, as in `sift_up`.
        let heap = &mut self.heap[..];
        let key = entry.key();
        let len = heap.len();
        loop {
            let first = ARITY * hole + 1;
            if first >= len {
                break;
            }
            // The earliest child, chosen by conditional moves.
            let (mut child, mut child_key) = (first, heap[first].key());
            let children = &heap[first..(first + ARITY).min(len)];
            for (c, e) in children.iter().enumerate().skip(1) {
                let k = e.key();
                let earlier = k < child_key;
                child = if earlier { first + c } else { child };
                child_key = if earlier { k } else { child_key };
            }
            if key <= child_key {
                break;
            }
            heap[hole] = heap[child];
            hole = child;
        }
        heap[hole] = entry;
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

    /// The heap against a sorted set, over a long pseudo-random mix of schedules (with many
    /// ties), pops, removals of any timer and copies.
    #[test]
    fn matches_a_sorted_set() {
        use std::collections::BTreeMap;
        let mut a = Agenda::default();
        let mut reference: BTreeMap<(Tick, u64), Timer> = BTreeMap::new();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for step in 0..50_000u32 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            match x % 11 {
                0..=4 => {
                    let time = (x >> 8) % 16;
                    let timer = Timer::WorkDone { task: step };
                    let seq = a.schedule(time, timer);
                    reference.insert((time, seq), timer);
                }
                5..=7 => {
                    let expected = reference.pop_first().map(|((time, seq), timer)| Entry {
                        time,
                        seq,
                        timer,
                    });
                    assert_eq!(a.pop(), expected);
                }
                8 | 9 => {
                    let Some(&(time, seq)) = reference.keys().nth((x >> 20) as usize % 7) else {
                        continue;
                    };
                    let timer = reference.remove(&(time, seq)).unwrap();
                    assert_eq!(a.remove(seq), Some(Entry { time, seq, timer }));
                    assert_eq!(a.remove(seq), None);
                }
                _ => {
                    let mut copy = Agenda::default();
                    copy.clone_from(&a);
                    a = copy;
                }
            }
            assert_eq!(a.len(), reference.len());
            let first = reference.first_key_value().map(|(&k, _)| k);
            assert_eq!(a.peek().map(|e| (e.time, e.seq)), first);
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
