//! The counting argument: a proof of deadlock freedom that visits no state.
//!
//! # Summary
//! A deadlock needs some pool whose every worker is held by a task that waits, without a
//! timeout, for a child that is itself stuck; and a stuck chain of children ends in a task
//! queued where every pool that could take it is full of such waiters. So if no pool can ever
//! be filled with tasks that may wait for ever, no timing deadlocks. This module counts, from
//! the scenario alone, an upper bound on the tasks that can hold a worker of each pool in a
//! wait that may never end, and proves freedom when every pool has more workers than that.
//! It is the generalised P ≥ W rule of `docs/exploring.md`.
//!
//! # The argument
//! 1. `instances(T)`: the most instances of task type `T` a run can create: its arrivals, plus
//!    `count` per spawn step of each instance that spawns it, plus one per `then` group whose
//!    callback it is (unbounded through a spawn cycle or an unbounded stream).
//! 2. A set `S` of pools that could be full of stuck tasks, largest first: initially every
//!    pool. Given `S`, a task type *may be stuck* when it is queued on a queue whose every
//!    consumer is in `S`, or when it has a wait without a timeout and some type it spawns may
//!    be stuck (a least fixed point over types, from "no type").
//! 3. A pool stays in `S` only if the instances of the types that may be stuck in a wait and
//!    that it can run number at least its workers. Repeat 2–3 until `S` is stable.
//! 4. `S` empty: deadlock-free.
//!
//! Soundness: in a deadlocked state let `P*` be the pools full of stuck tasks. Every stuck
//! queued task has all its consumers in `P*`, every stuck waiting task waits without timeout
//! for a stuck child, so with `S ⊇ P*` every stuck task's type may be stuck, and each pool of
//! `P*` holds as many stuck waiting instances as it has workers: no pool of `P*` ever leaves
//! `S`. A stuck set is finite and its chains of children end in queued tasks, which need a
//! full pool: `P*` is not empty, so neither is `S`. The argument holds for every timing, and
//! for any order of events.
//!
//! # Complexity
//! Linear in the size of the scenario per round, at most one round per pool.
//!
//! # When it says nothing
//! When some pool may fill, the argument proves nothing either way: a search decides. It
//! never claims a deadlock.

use crate::scenario::{ArrivalPattern, PoolId, Scenario, Step, TaskId};

/// A count that may be unbounded.
type Count = Option<u128>;

fn add(a: Count, b: Count) -> Count {
    a?.checked_add(b?)
}

fn mul(a: Count, b: u128) -> Count {
    a?.checked_mul(b)
}

/// The counting argument's finding for one pool.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PoolBound {
    /// The pool's name.
    pub pool: String,
    /// Its workers.
    pub workers: u32,
    /// The most tasks that can hold one of its workers in a wait that may never end; `None`
    /// when unbounded.
    pub may_wait: Option<u128>,
}

/// A proof that no timing deadlocks: every pool has more workers than tasks that could hold
/// them for ever.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Proof {
    /// Each pool with its bound.
    pub pools: Vec<PoolBound>,
}

impl Proof {
    /// The argument in one sentence per pool.
    pub fn explain(&self) -> String {
        let pools: Vec<String> = self
            .pools
            .iter()
            .map(|b| {
                let n = b.may_wait.expect("a proof bounds every pool");
                let tasks = match n {
                    0 => "no task".to_string(),
                    1 => "at most 1 task".to_string(),
                    n => format!("at most {n} tasks"),
                };
                format!(
                    "{tasks} can wait for ever on the {} worker{} of pool \"{}\"",
                    b.workers,
                    if b.workers == 1 { "" } else { "s" },
                    b.pool
                )
            })
            .collect();
        pools.join("; ")
    }
}

/// The most instances of each task type a run can create (`None`: unbounded).
pub fn instances(scenario: &Scenario) -> Vec<Count> {
    let n = scenario.tasks.len();
    // Who creates each type, and how many per instance of the creator.
    let mut makers: Vec<Vec<(TaskId, u128)>> = vec![Vec::new(); n];
    for (u, task) in scenario.tasks.iter().enumerate() {
        for step in &task.steps {
            match step {
                Step::Spawn { task, count, then } => {
                    makers[*task].push((u, u128::from(*count)));
                    if let Some(then) = then {
                        makers[*then].push((u, 1));
                    }
                }
                Step::Work(_) | Step::Wait { .. } => {}
            }
        }
    }
    let mut arrivals: Vec<Count> = vec![Some(0); n];
    for a in &scenario.arrivals {
        let count = match &a.pattern {
            ArrivalPattern::At(times) => Some(times.len() as u128),
            ArrivalPattern::Stream { count, .. } => count.map(u128::from),
        };
        arrivals[a.task] = add(arrivals[a.task], count);
    }
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done(Count),
    }
    fn count(
        t: TaskId,
        makers: &[Vec<(TaskId, u128)>],
        arrivals: &[Count],
        marks: &mut [Mark],
    ) -> Count {
        match marks[t] {
            Mark::Done(c) => return c,
            // A spawn cycle: as many as the run likes.
            Mark::Open => return None,
            Mark::New => {}
        }
        marks[t] = Mark::Open;
        let mut total = arrivals[t];
        for &(u, per) in &makers[t] {
            let made = count(u, makers, arrivals, marks);
            // A maker that never runs makes nothing, even through a cycle.
            if made != Some(0) {
                total = add(total, mul(made, per));
            }
        }
        marks[t] = Mark::Done(total);
        total
    }
    let mut marks = vec![Mark::New; n];
    (0..n)
        .map(|t| count(t, &makers, &arrivals, &mut marks))
        .collect()
}

/// The counting argument (see the module docs): `Some(proof)` when no pool can ever fill with
/// tasks waiting for ever, `None` when it cannot tell.
///
/// It never tells for a scenario whose processes exit, are recycled or killed
/// ([`Scenario::has_lifecycle`]): a lost child leaves its parent waiting for ever with workers
/// to spare (an orphaned wait), which counting waits against workers does not see.
pub fn prove_deadlock_free(scenario: &Scenario) -> Option<Proof> {
    if scenario.has_lifecycle() {
        return None;
    }
    let made = instances(scenario);
    let tasks = &scenario.tasks;
    let untimed_wait: Vec<bool> = tasks.iter().map(|t| t.waits_for_ever()).collect();
    let spawned: Vec<Vec<TaskId>> = tasks
        .iter()
        .map(|t| {
            t.steps
                .iter()
                .filter_map(|s| match s {
                    Step::Spawn { task, .. } => Some(*task),
                    Step::Work(_) | Step::Wait { .. } => None,
                })
                .collect()
        })
        .collect();
    let mut full: Vec<bool> = vec![true; scenario.pools.len()];
    loop {
        // Which types may be stuck, given the pools that may be full.
        let queued_stuck: Vec<bool> = tasks
            .iter()
            .map(|t| scenario.queues[t.queue].consumers.iter().all(|&p| full[p]))
            .collect();
        let mut stuck = queued_stuck.clone();
        let mut waiting_stuck = vec![false; tasks.len()];
        loop {
            let mut changed = false;
            for t in 0..tasks.len() {
                if !waiting_stuck[t] && untimed_wait[t] && spawned[t].iter().any(|&c| stuck[c]) {
                    waiting_stuck[t] = true;
                    stuck[t] = true;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        let bound = |p: PoolId| -> Count {
            let mut total = Some(0);
            for (t, task) in tasks.iter().enumerate() {
                if waiting_stuck[t] && scenario.pools[p].queues.contains(&task.queue) {
                    total = add(total, made[t]);
                }
            }
            total
        };
        let mut changed = false;
        for (p, pool) in scenario.pools.iter().enumerate() {
            if full[p] && bound(p).is_some_and(|n| n < u128::from(pool.workers)) {
                full[p] = false;
                changed = true;
            }
        }
        if full.iter().any(|&f| f) && changed {
            continue;
        }
        if full.iter().any(|&f| f) {
            return None;
        }
        return Some(Proof {
            pools: scenario
                .pools
                .iter()
                .enumerate()
                .map(|(p, pool)| PoolBound {
                    pool: pool.name.clone(),
                    workers: pool.workers,
                    may_wait: bound(p),
                })
                .collect(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::tests::fanout;

    #[test]
    fn parents_fewer_than_workers_are_proved_free() {
        for (w, p, f) in [(2, 1, 3), (4, 3, 4), (16, 15, 4), (64, 63, 8), (32, 31, 2)] {
            let proof = prove_deadlock_free(&fanout(w, p, f)).expect("P < W is free");
            assert_eq!(proof.pools[0].may_wait, Some(p as u128));
            assert!(proof.explain().contains(&format!(
                "at most {p} task{} can wait for ever on the {w} workers of pool \"default\"",
                if p == 1 { "" } else { "s" }
            )));
        }
    }

    #[test]
    fn parents_as_many_as_workers_prove_nothing() {
        for (w, p, f) in [(2, 2, 10), (4, 4, 4), (16, 16, 4), (64, 64, 8), (3, 7, 1)] {
            assert_eq!(prove_deadlock_free(&fanout(w, p, f)), None);
        }
    }

    #[test]
    fn instances_multiply_down_the_spawn_tree() {
        let mut s = fanout(2, 3, 4);
        s.tasks[0].steps.insert(
            0,
            Step::Spawn {
                task: 1,
                count: 2,
                then: Some(1),
            },
        );
        // 3 parents; each spawns 2 + 4 subtasks and 1 callback subtask.
        assert_eq!(instances(&s), vec![Some(3), Some(21)]);
        // A task that spawns itself is unbounded.
        s.tasks[1].steps.push(Step::Spawn {
            task: 1,
            count: 1,
            then: None,
        });
        assert_eq!(instances(&s), vec![Some(3), None]);
    }

    #[test]
    fn children_run_by_another_pool_cannot_be_stuck() {
        // Parents on pool "a" spawn children on queue "b", which only pool "b" consumes and
        // whose tasks never wait: however many parents wait on "a", they are never stuck.
        let mut s = fanout(2, 5, 3);
        s.queues.push(crate::scenario::Queue {
            name: "b".into(),
            discipline: crate::scenario::Discipline::Fifo,
            consumers: vec![1],
        });
        s.pools.push(crate::scenario::Pool {
            name: "b".into(),
            workers: 1,
            queues: vec![1],
            ..crate::scenario::Pool::new("", 0, Vec::new())
        });
        s.tasks[1].queue = 1;
        let proof = prove_deadlock_free(&s).expect("free");
        assert_eq!(proof.pools[0].may_wait, Some(0));
        // The same children on the parents' own queue can be stuck behind them.
        s.tasks[1].queue = 0;
        assert_eq!(prove_deadlock_free(&s), None);
    }
}
