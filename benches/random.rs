//! Runs per second of random mode (`qsim explore --mode random`): `monte_carlo` on the
//! incident `scenarios/fanout.toml`, 2000 runs per iteration, spread by rayon over every core.
//!
//! Group `random`, throughput in runs. Target (issue): at least 100,000 runs per second on 2
//! cores (set `RAYON_NUM_THREADS=1` to see one core).

mod common;

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use qsim::engine::Limits;
use qsim::explore::random::monte_carlo;

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

criterion_group! {
    name = benches;
    config = common::config(20);
    targets = random_runs
}
criterion_main!(benches);
