//! Events per second of `qsim run`-style simulation (the canonical rule, one core).
//!
//! Group `engine`, throughput in events (`Simulation::choices_made` of one run, counted once
//! before measuring):
//! - `mmc/stats`: `scenarios/mmc.toml` (M/M/4, 20000 Poisson arrivals, exponential work) with
//!   the [`Stats`] observer, exactly what `qsim run` does without `--trace`;
//! - `mmc/none`: the same run with the empty observer `()`, the engine alone;
//! - `fanout_w4/stats`: the incident `scenarios/fanout.toml` with 4 workers (it completes).
//!
//! Target (issue): at least 10 million events per second on one core.

mod common;

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use qsim::engine::{simulate, Limits, Model, Observer};
use qsim::report::Stats;

/// Loads `scenarios/NAME.toml` with `--set`-style overrides.
fn model(name: &str, sets: &[&str]) -> Model {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    Model::new(common::fixture(name, &sets))
}

/// One run with a fresh observer from `obs`; returns the number of events (choices).
fn one_run<O: Observer>(model: &Model, obs: &mut impl FnMut() -> O) -> u64 {
    let mut o = obs();
    let (outcome, sim) = simulate(model, &mut o, Limits::default());
    black_box((&outcome, &o));
    sim.choices_made()
}

fn bench<O: Observer>(
    c: &mut Criterion,
    id: BenchmarkId,
    model: &Model,
    mut obs: impl FnMut() -> O,
) {
    let events = one_run(model, &mut obs);
    let mut group = c.benchmark_group("engine");
    group.throughput(Throughput::Elements(events));
    group.bench_function(id, |b| b.iter(|| one_run(model, &mut obs)));
    group.finish();
}

fn engine(c: &mut Criterion) {
    let mmc = model("mmc", &[]);
    bench(c, BenchmarkId::new("mmc", "stats"), &mmc, || {
        Stats::new(&mmc.scenario)
    });
    bench(c, BenchmarkId::new("mmc", "none"), &mmc, || ());
    let fanout = model("fanout", &["pool.default.workers=4"]);
    bench(c, BenchmarkId::new("fanout_w4", "stats"), &fanout, || {
        Stats::new(&fanout.scenario)
    });
}

criterion_group! {
    name = benches;
    config = common::config(20);
    targets = engine
}
criterion_main!(benches);
