//! The fast fingerprint against a plain one: build the forest of tasks explicitly, describe
//! every task recursively with the same words, no tables, no caches, no bottom-up tricks.
//! Both must give the same 128-bit value on every state an exploration visits.

use std::collections::BTreeMap;

use super::*;
use crate::engine::tests::fanout;
use crate::engine::{Model, Simulation};
use crate::explore::{explored_options, settle, Plan, Reductions};
use crate::scenario::{Discipline, Duration, OnTimeout, Scenario, Step};

fn plain(sim: &Simulation<'_>) -> u128 {
    let now = sim.now();
    let mut timer_left = BTreeMap::new();
    for e in sim.agenda().iter() {
        if let Timer::WorkDone { task } | Timer::Timeout { task, .. } = e.timer {
            if sim.is_live(&e.timer) {
                timer_left.insert(task, e.time - now);
            }
        }
    }
    let mut position = BTreeMap::new();
    for q in 0..sim.scenario().queues.len() {
        for (i, t) in sim.queue(q).in_order().into_iter().enumerate() {
            position.insert(t, i as u64);
        }
    }
    let mut children: BTreeMap<InstanceId, Vec<InstanceId>> = BTreeMap::new();
    let mut roots = Vec::new();
    for (id, inst) in sim.instances() {
        if inst.status == Status::Free {
            continue;
        }
        match inst.parent.and_then(|l| sim.resolve(l)) {
            Some(p) => children.entry(p).or_default().push(id),
            None => roots.push(id),
        }
    }
    let forest = Forest {
        sim,
        timer_left,
        position,
        children,
    };
    let (sum, count) = multiset(sim, roots.iter().map(|&r| (r, forest.describe(r))));
    let mut arrival_words: Vec<u64> = sim.arrivals_sent().to_vec();
    let mut arrivals: Vec<(u32, u64)> = sim
        .agenda()
        .iter()
        .filter_map(|e| match e.timer {
            Timer::Arrival { stream } => Some((stream, e.time - now)),
            _ => None,
        })
        .collect();
    arrivals.sort_unstable();
    for (stream, left) in arrivals {
        arrival_words.extend([stream as u64, left]);
    }
    let arrivals = mix(&arrival_words);
    let mut words = vec![
        9,
        count,
        sum as u64,
        (sum >> 64) as u64,
        arrivals as u64,
        (arrivals >> 64) as u64,
    ];
    if sim.scenario().horizon.is_some() {
        words.push(now);
    }
    mix(&words)
}

/// The tasks of a state as an explicit forest.
struct Forest<'s, 'm> {
    sim: &'s Simulation<'m>,
    timer_left: BTreeMap<InstanceId, u64>,
    position: BTreeMap<InstanceId, u64>,
    children: BTreeMap<InstanceId, Vec<InstanceId>>,
}

impl Forest<'_, '_> {
    /// The hash of task `id` and everything below it, recursively.
    fn describe(&self, id: InstanceId) -> u128 {
        let sim = self.sim;
        let kids = self.children.get(&id).cloned().unwrap_or_default();
        let (sum, count) = multiset(sim, kids.iter().map(|&c| (c, self.describe(c))));
        let inst = sim.instance(id);
        let (kind, detail) = match inst.status {
            Status::Free => unreachable!("only live tasks are described"),
            Status::Queued(q) => (1, ((q as u64) << 32) | self.position[&id]),
            Status::Taken(w) => (2, sim.model.pool_of(w) as u64),
            Status::Working(w) => (3, sim.model.pool_of(w) as u64),
            Status::Waiting { worker, timed } => {
                (4 + timed as u64, sim.model.pool_of(worker) as u64)
            }
        };
        node_hash(
            inst.task as u64 | (inst.pc as u64) << 32,
            kind | (inst.child_failed as u64) << 8 | (inst.outstanding as u64) << 32,
            detail,
            self.timer_left.get(&id).copied().unwrap_or(u64::MAX),
            count,
            sum,
        )
    }
}

/// The multiset of `(task, hash)`: plain members summed, members of a `then` group first
/// summed under their group.
fn multiset(sim: &Simulation<'_>, items: impl Iterator<Item = (InstanceId, u128)>) -> (u128, u64) {
    let mut sum = 0u128;
    let mut count = 0u64;
    let mut groups: BTreeMap<u32, (u128, u64)> = BTreeMap::new();
    for (id, h) in items {
        let g = sim.instance(id).group;
        if g == NONE {
            sum = sum.wrapping_add(h);
            count += 1;
        } else {
            let e = groups.entry(g).or_default();
            e.0 = e.0.wrapping_add(h);
            e.1 += 1;
        }
    }
    for (g, (members, n)) in groups {
        let group = &sim.groups()[g as usize];
        sum = sum.wrapping_add(mix(&[
            3 | (group.then as u64) << 8,
            group.remaining as u64 | n << 32,
            members as u64,
            (members >> 64) as u64,
        ]));
        count += 1;
    }
    (sum, count)
}

/// Every state reachable (naively, up to `limit`) from the start of `scenario`.
fn states(scenario: Scenario, limit: usize, check: impl Fn(&Simulation<'_>)) {
    let model = Model::new(scenario.with_any_timing());
    let plan = Plan::new(&model, Reductions::NONE);
    let mut stack = vec![Simulation::new(&model)];
    let mut seen = 0;
    while let Some(mut sim) = stack.pop() {
        if !settle(&mut sim) || seen >= limit {
            continue;
        }
        seen += 1;
        check(&sim);
        for c in explored_options(&sim, &plan) {
            let mut next = sim.clone();
            next.apply(c, &mut ());
            check(&next);
            stack.push(next);
        }
    }
}

#[test]
fn the_fast_fingerprint_equals_the_plain_one_on_every_state() {
    let mut nested = fanout(3, 2, 2);
    // Children with a `then` callback, a timed wait, and a lifo queue.
    nested.tasks[0].steps = vec![
        Step::Spawn {
            task: 1,
            count: 2,
            then: Some(1),
        },
        Step::Wait {
            timeout: Some(Duration::Fixed(1)),
            on_timeout: OnTimeout::Continue,
        },
        Step::Spawn {
            task: 1,
            count: 1,
            then: None,
        },
    ];
    let mut lifo = fanout(2, 3, 2);
    lifo.queues[0].discipline = Discipline::Lifo;
    for scenario in [fanout(2, 2, 3), fanout(4, 3, 2), nested, lifo] {
        let mut canon = Canon::default();
        let canon = std::cell::RefCell::new(&mut canon);
        states(scenario, 3000, |sim| {
            assert_eq!(canon.borrow_mut().fingerprint(sim), plain(sim));
        });
    }
}

/// `mix` avalanches: flipping any one input bit flips about half of the 128 output bits, for
/// random inputs and for the small, structured words of real descriptions.
#[test]
fn mix_flips_about_half_the_bits_for_any_input_bit() {
    let mut rng = crate::rng::SimRng::new(7);
    for len in [4, 6, 7] {
        for structured in [false, true] {
            for bit in 0..len * 64 {
                let mut flipped = 0;
                let trials = 64;
                for _ in 0..trials {
                    let words: Vec<u64> = (0..len)
                        .map(|_| match structured {
                            false => rng.next_u64(),
                            true => rng.next_u64() % 8,
                        })
                        .collect();
                    let mut other = words.clone();
                    other[bit / 64] ^= 1 << (bit % 64);
                    flipped += (mix(&words) ^ mix(&other)).count_ones();
                }
                let mean = flipped as f64 / trials as f64;
                assert!(
                    (56.0..=72.0).contains(&mean),
                    "len {len}, bit {bit}: {mean} bits flip on average"
                );
            }
        }
    }
}
