//! Small random scenarios, built directly as validated `Scenario`s.
//!
//! A generated [`Case`] prints (as proptest's failing input) as a qsim scenario file, so a
//! shrunk counterexample can be pasted into a `.toml` and run with `qsim run` / `qsim explore`.
//! `rendered_toml_parses_back` checks that the printed file is the same scenario.

use std::fmt::{self, Write as _};

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

use qsim::scenario::{
    Arrival, ArrivalPattern, Discipline, Duration, OnTimeout, Pool, Queue, Scenario, Step,
    TaskType, Tick, Ties, TICKS_PER_SECOND,
};

pub const S: Tick = TICKS_PER_SECOND;

/// A generated scenario; `Debug` prints it as a scenario file.
#[derive(Clone, PartialEq)]
pub struct Case {
    pub scenario: Scenario,
}

impl fmt::Debug for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\n{}", to_toml(&self.scenario))
    }
}

/// The queue lists a pool may consume, by number of queues (indices into `queues`).
fn queue_lists(queues: usize) -> Vec<Vec<usize>> {
    if queues == 1 {
        vec![vec![0]]
    } else {
        vec![vec![0], vec![1], vec![0, 1], vec![1, 0]]
    }
}

fn secs(s: u64) -> Duration {
    Duration::Fixed(s * S)
}

/// A wait; `timed` is the weight of waits with a timeout against 3 for waits without.
fn wait(timed: u32) -> impl Strategy<Value = Step> {
    // Short timeouts are the ones that fire: weigh them up.
    let timeout = prop_oneof![3 => 1..3u64, 1 => 3..10u64];
    prop_oneof![
        3 => Just(Step::Wait {
            timeout: None,
            on_timeout: OnTimeout::Fail
        }),
        timed => (timeout, prop_oneof![Just(OnTimeout::Fail), Just(OnTimeout::Continue)]).prop_map(
            |(s, on_timeout)| Step::Wait {
                timeout: Some(secs(s)),
                on_timeout
            }
        ),
    ]
}

/// A few steps of task type `i` out of `n` (spawns only go to later types: no cycles). Drawn
/// in blocks so that the interesting patterns, a spawn followed by a wait, are common.
fn block(i: usize, n: usize, timed: u32) -> BoxedStrategy<Vec<Step>> {
    let work = (0..5u64).prop_map(|s| vec![Step::Work(secs(s))]);
    if i + 1 >= n {
        return prop_oneof![3 => work, 1 => wait(timed).prop_map(|w| vec![w])].boxed();
    }
    let spawn = (i + 1..n, 1..=3u32, option::weighted(0.3, i + 1..n))
        .prop_map(|(task, count, then)| Step::Spawn { task, count, then });
    prop_oneof![
        2 => work.clone(),
        2 => spawn.clone().prop_map(|s| vec![s]),
        4 => (spawn.clone(), wait(timed)).prop_map(|(s, w)| vec![s, w]),
        // Work in the meantime, then wait: the children may have finished (or failed) by then.
        2 => (spawn, work, wait(timed)).prop_map(|(s, mut w, t)| {
            w.insert(0, s);
            w.push(t);
            w
        }),
        1 => wait(timed).prop_map(|w| vec![w]),
    ]
    .boxed()
}

fn task(i: usize, n: usize, queues: usize, timed: u32) -> impl Strategy<Value = TaskType> {
    (0..queues, 0..3i32, vec(block(i, n, timed), 1..=3)).prop_map(
        move |(queue, priority, blocks)| TaskType {
            name: format!("t{i}"),
            queue,
            priority,
            steps: blocks.concat(),
            ..TaskType::new("", 0, 0, Vec::new())
        },
    )
}

/// Instances created, in all, by one instance of each task type (itself included).
pub fn instances_per_type(s: &Scenario) -> Vec<u64> {
    let mut per = vec![0u64; s.tasks.len()];
    for i in (0..s.tasks.len()).rev() {
        let mut n = 1u64;
        for step in &s.tasks[i].steps {
            if let Step::Spawn { task, count, then } = step {
                n += *count as u64 * per[*task] + then.map_or(0, |k| per[k]);
            }
        }
        per[i] = n;
    }
    per
}

/// Every instance a run of the scenario creates (timing does not change it).
pub fn total_instances(s: &Scenario) -> u64 {
    let per = instances_per_type(s);
    s.arrivals
        .iter()
        .map(|a| a.pattern.count().unwrap_or(0) * per[a.task])
        .sum()
}

type Parts = (
    Vec<Discipline>,
    Vec<(u32, usize)>,
    Vec<TaskType>,
    Vec<(usize, Vec<u64>)>,
    u64,
);

fn build((disciplines, pools, tasks, arrivals, seed): Parts) -> Case {
    let nq = disciplines.len();
    let lists = queue_lists(nq);
    let mut pools: Vec<Pool> = pools
        .into_iter()
        .enumerate()
        .map(|(p, (workers, list))| Pool {
            name: format!("p{p}"),
            workers,
            queues: lists[list % lists.len()].clone(),
            ..Pool::new("", 0, Vec::new())
        })
        .collect();
    // Every queue is consumed by some pool: give an orphan queue to the last pool.
    for q in 0..nq {
        if !pools.iter().any(|p| p.queues.contains(&q)) {
            pools.last_mut().unwrap().queues.push(q);
        }
    }
    let queues = disciplines
        .into_iter()
        .enumerate()
        .map(|(q, discipline)| Queue {
            name: if q == 0 {
                "default".into()
            } else {
                format!("q{q}")
            },
            discipline,
            consumers: (0..pools.len())
                .filter(|&p| pools[p].queues.contains(&q))
                .collect(),
        })
        .collect();
    let arrivals = arrivals
        .into_iter()
        .map(|(task, mut times)| {
            times.sort_unstable();
            Arrival {
                task: task % tasks.len(),
                pattern: ArrivalPattern::At(times.into_iter().map(|t| t * S).collect()),
            }
        })
        .collect();
    Case {
        scenario: Scenario {
            name: "prop".into(),
            description: String::new(),
            seed,
            horizon: None,
            ties: Ties::Canonical,
            queues,
            pools,
            tasks,
            arrivals,
            host: Default::default(),
        },
    }
}

/// Task types drawn freely: 2 to 4 types, each a few blocks of steps.
fn free_tasks(queues: usize) -> BoxedStrategy<Vec<TaskType>> {
    // The flavour: how common waits with a timeout are.
    (2..=4usize, prop_oneof![Just(1u32), Just(6)])
        .prop_flat_map(move |(n, timed)| {
            (0..n)
                .map(|i| task(i, n, queues, timed))
                .collect::<Vec<_>>()
        })
        .boxed()
}

/// A failure chain: a root spawns middles (and maybe a callback), does some work or waits; a
/// middle spawns leaves and waits, usually with a short timeout; leaves work. Failures of
/// middles then reach live parents, which the free family rarely produces.
fn chain_tasks(queues: usize) -> BoxedStrategy<Vec<TaskType>> {
    let work = || (0..5u64).prop_map(|s| Step::Work(secs(s)));
    let root = (
        1..=2u32,
        option::weighted(0.3, Just(3usize)),
        option::of(work()),
        option::weighted(0.7, wait(1)),
        option::of(work()),
    )
        .prop_map(|(count, then, w1, wait, w2)| {
            let mut steps = vec![Step::Spawn {
                task: 1,
                count,
                then,
            }];
            steps.extend(w1);
            steps.extend(wait);
            steps.extend(w2);
            steps
        });
    let middle = (
        1..=2u32,
        option::of(work()),
        wait(9),
        option::weighted(0.3, work()),
    )
        .prop_map(|(count, w1, wait, w2)| {
            let mut steps = vec![Step::Spawn {
                task: 2,
                count,
                then: None,
            }];
            steps.extend(w1);
            steps.push(wait);
            steps.extend(w2);
            steps
        });
    let leaf = work().prop_map(|w| vec![w]);
    let callback = work().prop_map(|w| vec![w]);
    let meta = (0..queues, 0..3i32);
    (
        (meta.clone(), root),
        (meta.clone(), middle),
        (meta.clone(), leaf),
        (meta, callback),
    )
        .prop_map(|(a, b, c, d)| {
            [a, b, c, d]
                .into_iter()
                .enumerate()
                .map(|(i, ((queue, priority), steps))| TaskType {
                    name: format!("t{i}"),
                    queue,
                    priority,
                    steps,
                    ..TaskType::new("", 0, 0, Vec::new())
                })
                .collect()
        })
        .boxed()
}

/// Scenarios that create at most `max_instances` task instances in all.
pub fn scenarios(max_instances: u64) -> impl Strategy<Value = Case> {
    (
        1..=2usize,
        1..=2usize,
        prop_oneof![3 => Just(false), 1 => Just(true)],
    )
        .prop_flat_map(|(np, nq, chain)| {
            let disciplines = vec(
                prop_oneof![
                    Just(Discipline::Fifo),
                    Just(Discipline::Lifo),
                    Just(Discipline::Priority)
                ],
                nq,
            );
            let workers = prop_oneof![3 => Just(1u32), 2 => Just(2), 1 => Just(3)];
            let pools = vec((workers, 0..4usize), np);
            let tasks = if chain {
                chain_tasks(nq)
            } else {
                free_tasks(nq)
            };
            // Arrival types are taken modulo the number of types.
            let root = prop_oneof![3 => Just(0usize), 1 => 0..4usize];
            let arrivals = vec((root, vec(0..5u64, 1..=3)), 1..=2);
            (disciplines, pools, tasks, arrivals, 0..4u64)
        })
        .prop_map(build)
        .prop_filter("too many task instances", move |c| {
            total_instances(&c.scenario) <= max_instances
        })
}

fn duration_text(d: &Duration) -> String {
    match d {
        Duration::Fixed(t) if t % S == 0 => format!("{}s", t / S),
        Duration::Fixed(t) => format!("{t}ns"),
        other => format!("{other:?}"),
    }
}

/// The scenario as a qsim scenario file.
pub fn to_toml(s: &Scenario) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "name = {:?}\nseed = {}", s.name, s.seed);
    for q in &s.queues {
        let _ = writeln!(
            out,
            "\n[[queue]]\nname = {:?}\ndiscipline = {:?}",
            q.name,
            q.discipline.name()
        );
    }
    for p in &s.pools {
        let queues: Vec<String> = p
            .queues
            .iter()
            .map(|&q| format!("{:?}", s.queues[q].name))
            .collect();
        let _ = writeln!(
            out,
            "\n[[pool]]\nname = {:?}\nworkers = {}\nqueues = [{}]",
            p.name,
            p.workers,
            queues.join(", ")
        );
    }
    for t in &s.tasks {
        let _ = writeln!(
            out,
            "\n[[task]]\nname = {:?}\nqueue = {:?}\npriority = {}\nsteps = [",
            t.name, s.queues[t.queue].name, t.priority
        );
        for step in &t.steps {
            let text = match step {
                Step::Work(d) => format!("{{ work = {:?} }}", duration_text(d)),
                Step::Spawn { task, count, then } => {
                    let then = then
                        .map(|k| format!(", then = {:?}", s.tasks[k].name))
                        .unwrap_or_default();
                    format!(
                        "{{ spawn = {:?}, count = {count}{then} }}",
                        s.tasks[*task].name
                    )
                }
                Step::Wait {
                    timeout: None,
                    on_timeout: _,
                } => "{ wait = \"children\" }".to_string(),
                Step::Wait {
                    timeout: Some(d),
                    on_timeout,
                } => format!(
                    "{{ wait = \"children\", timeout = {:?}, on_timeout = {:?} }}",
                    duration_text(d),
                    match on_timeout {
                        OnTimeout::Fail => "fail",
                        OnTimeout::Continue => "continue",
                    }
                ),
            };
            let _ = writeln!(out, "  {text},");
        }
        out.push_str("]\n");
    }
    for a in &s.arrivals {
        let ArrivalPattern::At(times) = &a.pattern else {
            unreachable!("generated arrivals are explicit instants")
        };
        let times: Vec<String> = times
            .iter()
            .map(|t| format!("{:?}", duration_text(&Duration::Fixed(*t))))
            .collect();
        let _ = writeln!(
            out,
            "\n[[arrival]]\ntask = {:?}\nat = [{}]",
            s.tasks[a.task].name,
            times.join(", ")
        );
    }
    out
}
