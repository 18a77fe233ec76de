//! What every bench shares: loading a `scenarios/` fixture and criterion's settings.

use std::path::Path;
use std::time::Duration;

use criterion::Criterion;
use qsim::Scenario;

/// The allocator the `qsim` binary uses (`src/main.rs`), so that the benches measure what the
/// command does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `scenarios/NAME.toml` with `--set`-style overrides.
pub fn fixture(name: &str, sets: &[String]) -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("scenarios/{name}.toml"));
    qsim::scenario::load(&path, sets).expect("fixture loads")
}

/// Short measurements, so that `cargo bench` finishes in about a minute on 2 cores.
pub fn config(samples: usize) -> Criterion {
    Criterion::default()
        .sample_size(samples)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}
