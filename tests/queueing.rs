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

/// Issue 15: `qsim plan` on M/M/c gives the count an Erlang C calculator gives. The objective
/// is the mean time in the system, `Wq + 1/μ`; at λ = 3.2 and μ = 1 the smallest c with
/// `E[T] <= 1.25 s` is found from the formula, and the plan (galloping, bisection, 40 runs of
/// 5,000 arrivals per count) must land on the same count.
#[test]
fn plan_on_mmc_gives_the_erlang_c_count() {
    let (rate, limit) = (3.2, 1.25);
    let by_formula = (4..20)
        .find(|&c| erlang_c(c, rate) / (c as f64 - rate) + 1.0 <= limit)
        .expect("some count meets it");
    // The neighbours are far enough from the limit for 200,000 samples to tell them apart.
    let t = |c: u32| erlang_c(c, rate) / (c as f64 - rate) + 1.0;
    assert!(t(by_formula - 1) > limit * 1.02 && t(by_formula) < limit * 0.98);
    let toml = format!(
        r#"
        seed = 8
        [[pool]]
        workers = 1
        [[task]]
        name = "job"
        steps = [{{ work = {{ dist = "exp", mean = "1s" }} }}]
        [[arrival]]
        task = "job"
        rate = {rate}
        count = 5000
        "#
    );
    let slo = qsim::plan::Slo::parse(&format!("mean(job)<={limit}s")).unwrap();
    let settings = qsim::plan::Settings {
        runs: 40,
        horizon: None,
        warmup: 0,
        up_to: 64,
        prove: None,
        limits: Limits::default(),
        arrivals: None,
    };
    let plan = qsim::plan::plan("mmc.toml", &toml, &[], "default", &[slo], &settings).unwrap();
    assert_eq!(
        plan.answer,
        Some(by_formula),
        "{:?}",
        plan.tried.iter().map(|t| t.workers).collect::<Vec<_>>()
    );
}

/// Issue 15: Little's law, L = λW, at every point of a sweep of an open scenario: the mean
/// number of tasks in the system (queued, plus workers busy) equals the throughput times the
/// mean time in the system, within 3%.
#[test]
fn littles_law_holds_at_every_point_of_a_sweep() {
    let toml = r#"
        seed = 21
        [[pool]]
        workers = 3
        [[task]]
        name = "job"
        steps = [{ work = { dist = "uniform", min = "0.2s", max = "1.8s" } }]
        [[arrival]]
        task = "job"
        rate = 2
        count = 20000
        "#;
    let vary = [
        qsim::sweep::Vary::parse("pool.default.workers=3..5").unwrap(),
        qsim::sweep::Vary::parse("arrival.0.rate=1.5,2.5").unwrap(),
    ];
    let sweep = qsim::sweep::Sweep::new("open.toml", toml, &[], &vary).unwrap();
    let mode = qsim::sweep::Mode::Runs {
        runs: 4,
        horizon: None,
        warmup: 0,
        limits: Limits::default(),
    };
    for point in sweep.run(&mode, &|_| {}) {
        let qsim::sweep::Outcome::Runs(x) = point.outcome else {
            panic!("a Monte Carlo point");
        };
        let workers: f64 = point.values[0].1.parse().unwrap();
        let busy = x.utilisation[0].1.unwrap().busy;
        let in_system = x.queues[0].1.mean + busy * workers;
        let lambda = x.throughput.unwrap().value;
        let w = x.latency[0].1.as_ref().unwrap().mean.value;
        let error = (in_system - lambda * w).abs() / in_system;
        assert!(
            error < 0.03,
            "{:?}: L = {in_system:.4}, λW = {:.4} ({:.2}% off)",
            point.values,
            lambda * w,
            error * 100.0
        );
    }
}

/// Issue 15: a sweep of M/M/c over servers and load reproduces the Erlang C curve of the mean
/// time in the system (`Wq + 1/μ`): the formula lies inside each point's interval, the six
/// together at 95%.
///
/// The sweep reports a 95% interval per point (mean ± 1.96 standard errors). Six points each
/// held to its own 95% interval would fail about a quarter of the time with a perfect
/// simulator (1 − 0.95⁶ = 26%), so the points are held to Bonferroni-corrected intervals:
/// each at 1 − 0.05/6 (± 2.64 standard errors), the six together at 95%.
#[test]
fn a_sweep_of_mmc_follows_the_erlang_c_curves() {
    let toml = r#"
        seed = 2
        [[pool]]
        workers = 4
        [[task]]
        name = "job"
        steps = [{ work = { dist = "exp", mean = "1s" } }]
        [[arrival]]
        task = "job"
        rate = 3
        count = 20000
        "#;
    let vary = [
        qsim::sweep::Vary::parse("pool.default.workers=4..6").unwrap(),
        qsim::sweep::Vary::parse("arrival.0.rate=2,3").unwrap(),
    ];
    let sweep = qsim::sweep::Sweep::new("mmc.toml", toml, &[], &vary).unwrap();
    let mode = qsim::sweep::Mode::Runs {
        runs: 16,
        horizon: None,
        warmup: 100 * qsim::scenario::TICKS_PER_SECOND,
        limits: Limits::default(),
    };
    for point in sweep.run(&mode, &|_| {}) {
        let qsim::sweep::Outcome::Runs(x) = point.outcome else {
            panic!("a Monte Carlo point");
        };
        let c: u32 = point.values[0].1.parse().unwrap();
        let rate: f64 = point.values[1].1.parse().unwrap();
        let expected = erlang_c(c, rate) / (c as f64 - rate) + 1.0;
        let mean = x.latency[0].1.as_ref().unwrap().mean;
        // From the 95% interval's half-width (1.96 standard errors) to 2.64 standard errors.
        let half = (mean.high - mean.low) / 2.0 * (2.638 / 1.96);
        let (low, high) = (mean.value - half, mean.value + half);
        assert!(
            low <= expected && expected <= high,
            "M/M/{c} at λ={rate}: Erlang C {expected:.4}s outside [{low:.4}, {high:.4}] (the 95% \
             interval, Bonferroni-corrected for 6 points)",
        );
    }
}
