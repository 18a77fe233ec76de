//! States per second of exhaustive exploration (`qsim explore`, one core).
//!
//! Group `explore`, throughput in distinct states visited (`Exploration::states`, counted once
//! before measuring). Fixtures are `scenarios/fanout.toml` with `--set` overrides: W workers,
//! P parents arriving at 0s, each spawning F subtasks and waiting for them (`wPpFf`), under
//! any timing:
//! - `reduced/w4p4f4`: the incident's shape; deadlocks after a few hundred states (so this
//!   also times finding and minimising the counterexample);
//! - `reduced/w4p3f4`: deadlock-free, the whole reachable space;
//! - `reduced/w6p5f4`, `reduced/w8p7f3`, `reduced/w10p9f2`: deadlock-free, larger spaces
//!   (3,366, 14,804 and 36,851 states) whose states hold more workers and tasks;
//! - `naive/w4p4f4`: `w4p4f4` without symmetry or partial-order reduction, for comparison.
//!
//! Target (issue): at least 2 million states per second on one core.
//!
//! Group `decide`: what `qsim explore` does on the production-size scenarios of `scenarios/`
//! (issue 14): the counting argument, then the depth-first search, under any timing, one
//! decision per iteration: `fanout_wW_pP_cC` (one pool, W workers, P parents of C children),
//! `three_levels_r2`/`_r4`, `two_pools`, `mixed`; and `min_workers/three_levels_r4`, the whole
//! `--min-workers default --up-to 40` table (37 counts). Target: each decided in under 10 s
//! and 1 GB, the fan-outs in under 1 s.
//!
//! Group `fingerprint`: the canonical fingerprint alone (`Canon::fingerprint`, over half of the
//! search's time on `w8p7f3`), in states hashed per second, on a sample of 500 states of
//! `w8p7f3` small enough to stay in cache, as the state just built is in the search.

mod common;

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use qsim::engine::{Model, Simulation};
use qsim::explore::canon::Canon;
use qsim::explore::min_workers::Search;
use qsim::explore::{
    decide, explore, explored_options, min_workers, settle, Budget, Order, Plan, Reductions, Timing,
};
use qsim::Scenario;

/// `scenarios/fanout.toml` with `w` workers and `p` parents each spawning `f` subtasks.
fn fanout(w: u32, p: usize, f: u32) -> Scenario {
    let sets = [
        format!("pool.default.workers={w}"),
        format!("arrival.0.at=[{}]", vec!["\"0s\""; p].join(",")),
        format!("task.main_task.steps=[{{spawn=\"subtask\",count={f}}},{{wait=\"children\"}}]"),
    ];
    common::fixture("fanout", &sets)
}

fn explore_states(c: &mut Criterion) {
    let mut group = c.benchmark_group("explore");
    let cases = [
        ("reduced", Reductions::ALL, (4, 4, 4)),
        ("reduced", Reductions::ALL, (4, 3, 4)),
        ("reduced", Reductions::ALL, (6, 5, 4)),
        ("reduced", Reductions::ALL, (8, 7, 3)),
        ("reduced", Reductions::ALL, (10, 9, 2)),
        ("naive", Reductions::NONE, (4, 4, 4)),
    ];
    for (name, reductions, (w, p, f)) in cases {
        let scenario = fanout(w, p, f);
        let run = || {
            explore(
                &scenario,
                Timing::Any,
                reductions,
                &Budget::default(),
                &mut |_| {},
            )
        };
        group.throughput(Throughput::Elements(run().states));
        let id = BenchmarkId::new(name, format!("w{w}p{p}f{f}"));
        group.bench_function(id, |b| b.iter(|| black_box(run().states)));
    }
    group.finish();
}

/// States of the reduced search of `model`, each successor of each expanded state once.
fn sample_states(model: &Model) -> Vec<Simulation<'_>> {
    let plan = Plan::new(model, Reductions::ALL);
    let mut canon = Canon::default();
    let mut start = Simulation::new(model);
    settle(&mut start);
    let mut seen = std::collections::HashSet::new();
    let mut all = Vec::new();
    let mut frontier = std::collections::VecDeque::from([start]);
    while let Some(sim) = frontier.pop_front() {
        for c in explored_options(&sim, &plan) {
            let mut next = sim.clone();
            next.apply(c, &mut ());
            if settle(&mut next) && seen.insert(canon.fingerprint(&next)) {
                frontier.push_back(next.clone());
            }
            all.push(next);
        }
    }
    all
}

fn fingerprints(c: &mut Criterion) {
    let model = Model::new(fanout(8, 7, 3).with_any_timing());
    let all = sample_states(&model);
    let sample: Vec<_> = all.iter().step_by(all.len() / 500).collect();
    let mut canon = Canon::default();
    let mut group = c.benchmark_group("fingerprint");
    group.throughput(Throughput::Elements(sample.len() as u64));
    group.bench_function("w8p7f3", |b| {
        b.iter(|| {
            sample
                .iter()
                .fold(0u128, |x, sim| x.wrapping_add(canon.fingerprint(sim)))
        })
    });
    group.finish();
}

/// The production-size scenario files, decided as `qsim explore` decides them.
fn decide_production(c: &mut Criterion) {
    let mut group = c.benchmark_group("decide");
    for name in [
        "fanout_w16_p16_c4",
        "fanout_w16_p15_c4",
        "fanout_w32_p31_c2",
        "fanout_w64_p64_c8",
        "fanout_w64_p63_c8",
        "three_levels_r2",
        "three_levels_r4",
        "two_pools",
        "mixed",
    ] {
        let scenario = common::fixture(name, &[]);
        let run = || {
            decide(
                &scenario,
                Timing::Any,
                Reductions::ALL,
                Order::DeadlockFirst,
                &Budget::default(),
                &mut |_| {},
            )
        };
        assert_ne!(run().verdict.name(), "inconclusive", "{name}");
        group.bench_function(name, |b| b.iter(|| black_box(run().states)));
    }
    let scenario = common::fixture("three_levels_r4", &[]);
    group.bench_function("min_workers/three_levels_r4", |b| {
        b.iter(|| {
            let m = min_workers(
                &scenario,
                0,
                40,
                Search {
                    timing: Timing::Any,
                    reductions: Reductions::ALL,
                    order: Order::DeadlockFirst,
                },
                &Budget::default(),
                &mut |_, _| {},
            );
            assert_eq!(m.min_workers, Some(37));
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::config(10);
    targets = explore_states, fingerprints, decide_production
}
criterion_main!(benches);
