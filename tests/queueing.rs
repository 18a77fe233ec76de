//! Queueing theory as an outside oracle: M/M/1 and M/M/c mean waits against Erlang C.
//!
//! With Poisson arrivals (rate λ), exponential work (mean 1/μ) and c workers, the mean wait
//! in queue is `Wq = C(c, λ/μ) / (cμ − λ)`, where `C` is the Erlang C probability that an
//! arrival has to wait. A long run with a fixed seed must land within 3% of it.

use qsim::engine::{self, Event, Limits, Model, Observer, Outcome, Simulation};

/// Mean time from enqueue to being taken by a worker.
#[derive(Default)]
struct Waits {
    total_ns: u128,
    count: u64,
}

impl Observer for Waits {
    fn event(&mut self, sim: &Simulation<'_>, event: &Event) {
        if let Event::Taken { task, .. } = *event {
            self.total_ns += (sim.now() - sim.instance(task).enqueued_at) as u128;
            self.count += 1;
        }
    }
}

fn erlang_c(c: u32, offered: f64) -> f64 {
    // Erlang B by its stable recurrence, then C from B.
    let mut b = 1.0;
    for k in 1..=c {
        b = offered * b / (k as f64 + offered * b);
    }
    let rho = offered / c as f64;
    b / (1.0 - rho + rho * b)
}

fn mean_wait(workers: u32, rate: f64, count: u64, seed: u64) -> f64 {
    let toml = format!(
        r#"
        seed = {seed}
        [[pool]]
        workers = {workers}
        [[task]]
        name = "job"
        steps = [{{ work = {{ dist = "exp", mean = "1s" }} }}]
        [[arrival]]
        task = "job"
        rate = {rate}
        count = {count}
        "#
    );
    let scenario = qsim::scenario::parse("mmc.toml", &toml, &[]).expect("valid scenario");
    let model = Model::new(scenario);
    let mut waits = Waits::default();
    let (outcome, _) = engine::simulate(&model, &mut waits, Limits::default());
    assert!(matches!(outcome, Outcome::Completed));
    assert_eq!(waits.count, count);
    waits.total_ns as f64 / waits.count as f64 / 1e9
}

fn check(workers: u32, rate: f64) {
    let expected = erlang_c(workers, rate) / (workers as f64 - rate);
    let measured = mean_wait(workers, rate, 1_000_000, 42);
    let error = (measured - expected).abs() / expected;
    eprintln!(
        "M/M/{workers}: measured {measured:.4} expected {expected:.4} error {:.3}%",
        error * 100.0
    );
    assert!(
        error < 0.03,
        "M/M/{workers} at λ={rate}: mean wait {measured:.4}s, Erlang C {expected:.4}s ({:.2}% off)",
        error * 100.0
    );
}

#[test]
fn erlang_c_formula_matches_textbook_values() {
    // M/M/1: C = ρ. M/M/2 at a = 1: C = 1/3.
    assert!((erlang_c(1, 0.7) - 0.7).abs() < 1e-12);
    assert!((erlang_c(2, 1.0) - 1.0 / 3.0).abs() < 1e-12);
}

#[test]
fn mm1_mean_wait_matches_erlang_c() {
    check(1, 0.7);
}

#[test]
fn mmc_mean_wait_matches_erlang_c() {
    check(4, 3.0);
}
