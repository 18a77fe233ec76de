//! Runs per second of random mode (`qsim explore --mode random`): `monte_carlo` on the
//! incident `scenarios/fanout.toml`, 2000 runs per iteration, spread by rayon over every core.
//!
//! Group `random`, throughput in runs. Target (issue): at least 100,000 runs per second on 2
//! cores (set `RAYON_NUM_THREADS=1` to see one core).
//!
//! Group `sweep`: `qsim sweep scenarios/fanout_poisson.toml` over 16 worker counts × 4 arrival
//! rates × 100 runs of an hour each (6,400 runs), as one iteration. Target (issue 15): under
//! 10 s on 2 cores.

mod common;

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use qsim::engine::Limits;
use qsim::explore::random::monte_carlo;
use qsim::sweep::{Mode, Sweep, Vary};

const RUNS: u64 = 2000;

fn random_runs(c: &mut Criterion) {
    let scenario = common::fixture("fanout", &[]);
    let mut group = c.benchmark_group("random");
    group.throughput(Throughput::Elements(RUNS));
    group.bench_function(BenchmarkId::new("monte_carlo", "fanout"), |b| {
        b.iter(|| black_box(monte_carlo(&scenario, RUNS, 1, None, Limits::default()).deadlocks))
    });
    group.finish();
}

fn sweep_runs(c: &mut Criterion) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/fanout_poisson.toml");
    let text = std::fs::read_to_string(path).expect("the scenario file");
    let vary = [
        Vary::parse("pool.default.workers=1..16").unwrap(),
        Vary::parse("arrival.0.rate=0.01,0.02,0.05,0.1").unwrap(),
    ];
    let sweep = Sweep::new(path, &text, &[], &vary).expect("a valid sweep");
    let mode = Mode::Runs {
        runs: 100,
        horizon: None,
        warmup: 0,
        limits: Limits::default(),
    };
    let mut group = c.benchmark_group("sweep");
    group.sample_size(10);
    group.throughput(Throughput::Elements(64 * 100));
    group.bench_function("fanout_poisson_16x4x100", |b| {
        b.iter(|| black_box(sweep.run(&mode, &|_| {}).len()))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::config(20);
    targets = random_runs
}
criterion_group! {
    name = sweeps;
    config = common::config(10);
    targets = sweep_runs
}
criterion_main!(benches, sweeps);
