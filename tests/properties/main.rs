//! Property tests of the engine and the explorer on small random scenarios.
//!
//! - `gen`: the scenario generator (a failing case prints as a scenario file);
//! - `reference`: an independent, simple simulator of the canonical rule with a brute-force
//!   deadlock check — the oracle the engine is compared with.

mod gen;
mod reference;

use std::collections::BTreeSet;

use proptest::prelude::*;

use qsim::engine::{
    run, simulate, Activity, Advance, Canonical, Chooser, Event, InstanceId, Limits, Model,
    Observer, Outcome, RandomTies, Simulation, Status, TaskResult,
};
use qsim::explore::{self, Budget, Exploration, Plan, Reductions, Timing, Verdict};
use qsim::report::{self, story, DeadlockReport};
use qsim::rng::SimRng;
use qsim::scenario::Tick;

use gen::{scenarios, Case};
use reference::{RefError, RefOutcome};

/// `cases` cases, or `PROPTEST_CASES` when set (for a longer hunt).
fn config(cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(cases);
    ProptestConfig {
        cases,
        // Failures print the shrunk scenario; do not write regression files into the tree.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Seeds of the random tie-breaking runs made for each scenario.
const TIE_SEEDS: [u64; 4] = [1, 2, 3, 4];

// ----- observers ---------------------------------------------------------------------------

fn event_task(e: &Event) -> InstanceId {
    match *e {
        Event::Arrived { task }
        | Event::Spawned { task, .. }
        | Event::CallbackQueued { task }
        | Event::Taken { task, .. }
        | Event::WorkStarted { task, .. }
        | Event::Blocked { task, .. }
        | Event::Resumed { task, .. }
        | Event::TimedOut { task }
        | Event::Finished { task, .. }
        | Event::Lost { task }
        | Event::Requeued { task } => task,
        // The lifecycle events name no task; the generator makes no scenario with memory.
        Event::Memory { .. }
        | Event::Exited { .. }
        | Event::Recycled { .. }
        | Event::Restarted { .. } => u32::MAX,
    }
}

/// Every event and every passing of time, as text.
#[derive(Default)]
struct Recorder(Vec<String>);

impl Observer for Recorder {
    fn event(&mut self, sim: &Simulation<'_>, e: &Event) {
        let name = sim.task_name(event_task(e));
        self.0.push(format!("{} {name} {e:?}", sim.now()));
    }
    fn time_passes(&mut self, _: &Simulation<'_>, from: Tick, to: Tick) {
        self.0.push(format!("time {from} -> {to}"));
    }
}

/// Checks the state's invariants at every event and counts finished tasks per type.
struct Invariants {
    completed: Vec<u32>,
    failed: Vec<u32>,
    last_now: Tick,
    events: u64,
    /// The first violation seen.
    violation: Option<String>,
}

impl Invariants {
    fn new(types: usize) -> Invariants {
        Invariants {
            completed: vec![0; types],
            failed: vec![0; types],
            last_now: 0,
            events: 0,
            violation: None,
        }
    }

    fn flag(&mut self, what: String) {
        if self.violation.is_none() {
            self.violation = Some(what);
        }
    }

    fn check_state(&mut self, sim: &Simulation<'_>, at: &str) {
        if sim.now() < self.last_now {
            self.flag(format!(
                "{at}: now went back from {} to {}",
                self.last_now,
                sim.now()
            ));
        }
        self.last_now = sim.now();
        let workers = sim.workers();
        let mut held = BTreeSet::new();
        for (w, worker) in workers.iter().enumerate() {
            let Some(t) = worker.task() else { continue };
            if !held.insert(t) {
                self.flag(format!("{at}: task slot {t} is held by two workers"));
            }
            let status = sim.instance(t).status;
            let waiting_alike = match (worker.activity, status) {
                (Activity::Waiting { timed, .. }, Status::Waiting { timed: t2, .. }) => timed == t2,
                (Activity::Running(_), Status::Taken(_) | Status::Working(_)) => true,
                _ => false,
            };
            if status.worker() != Some(w as u32) || !waiting_alike {
                self.flag(format!(
                    "{at}: worker {w} holds {} whose status is {status:?}",
                    sim.task_name(t)
                ));
            }
        }
        for (id, inst) in sim.instances() {
            if let Some(w) = inst.status.worker() {
                if workers.get(w as usize).and_then(|w| w.task()) != Some(id) {
                    self.flag(format!(
                        "{at}: {} says it holds worker {w}, which holds {:?}",
                        sim.task_name(id),
                        workers.get(w as usize)
                    ));
                }
            }
        }
        for (p, pool) in sim.scenario().pools.iter().enumerate() {
            let (idle, waiting, held) = sim.pool_counts(p);
            let range = sim.model.workers_of(p);
            let really_idle = range
                .clone()
                .filter(|&w| workers[w as usize].is_idle())
                .count();
            let really_waiting = range
                .filter(|&w| {
                    workers[w as usize]
                        .task()
                        .is_some_and(|t| matches!(sim.instance(t).status, Status::Waiting { .. }))
                })
                .count();
            if idle + held != pool.workers
                || idle as usize != really_idle
                || waiting as usize != really_waiting
            {
                self.flag(format!(
                    "{at}: pool {} counts idle {idle} waiting {waiting} held {held} of {}, but {really_idle} idle and {really_waiting} waiting",
                    pool.name, pool.workers
                ));
            }
        }
    }
}

impl Observer for Invariants {
    fn event(&mut self, sim: &Simulation<'_>, e: &Event) {
        self.events += 1;
        if let Event::Finished { task, result } = *e {
            let ty = sim.instance(task).task;
            match result {
                TaskResult::Completed => self.completed[ty] += 1,
                TaskResult::Failed => self.failed[ty] += 1,
            }
        }
        let at = format!("event {} at {} ({e:?})", self.events, sim.now());
        self.check_state(sim, &at);
    }

    fn time_passes(&mut self, sim: &Simulation<'_>, from: Tick, to: Tick) {
        if from > to || from != sim.now() || from < self.last_now {
            self.flag(format!(
                "time passes from {from} to {to} at now {} (last seen {})",
                sim.now(),
                self.last_now
            ));
        }
    }
}

/// created = completed + failed + alive, per task type.
fn conservation(sim: &Simulation<'_>, inv: &Invariants) -> Result<(), String> {
    let types = sim.scenario().tasks.len();
    let mut alive = vec![0u32; types];
    for (_, inst) in sim.instances() {
        if inst.status != Status::Free {
            alive[inst.task] += 1;
        }
    }
    for (ty, task) in sim.scenario().tasks.iter().enumerate() {
        let (c, f, a) = (inv.completed[ty], inv.failed[ty], alive[ty]);
        if sim.created()[ty] != u64::from(c + f + a) {
            return Err(format!(
                "type {}: created {} != completed {c} + failed {f} + alive {a}",
                task.name,
                sim.created()[ty]
            ));
        }
    }
    Ok(())
}

// ----- helpers -------------------------------------------------------------------------------

fn random_run<'m, O: Observer>(
    model: &'m Model,
    seed: u64,
    obs: &mut O,
) -> (Outcome, Simulation<'m>) {
    let mut sim = Simulation::new(model);
    let outcome = run(
        &mut sim,
        &mut RandomTies(SimRng::new(seed)),
        obs,
        Limits::default(),
    );
    (outcome, sim)
}

/// Explores `case`; a search that runs out of budget is `inconclusive` (and the case skipped).
/// The naive search (no reduction) visits up to 500 times more states, at about 30 µs each in a
/// debug build: it gets a smaller budget to keep the file fast.
fn explore_with(case: &Case, timing: Timing, reductions: Reductions) -> Exploration {
    let budget = Budget {
        max_states: if reductions == Reductions::NONE {
            40_000
        } else {
            200_000
        },
        ..Budget::default()
    };
    explore::explore(&case.scenario, timing, reductions, &budget, &mut |_| {})
}

/// Checks a deadlock verdict's schedule: it replays, exactly, to a deadlock, and minimisation
/// did not make it longer.
fn check_schedule(case: &Case, timing: Timing, e: &Exploration) -> Result<(), TestCaseError> {
    let Verdict::Deadlock {
        schedule,
        found_steps,
        ..
    } = &e.verdict
    else {
        return Ok(());
    };
    prop_assert!(
        schedule.steps.len() <= *found_steps,
        "{timing:?}: minimised schedule has {} steps, found one {found_steps}",
        schedule.steps.len()
    );
    let model = explore::model_for(&case.scenario, timing);
    let told = story::tell(&model, &schedule.steps);
    prop_assert!(
        told.is_ok(),
        "{timing:?}: schedule {:?} does not replay: {:?}",
        schedule.steps,
        told.err()
    );
    let told = told.unwrap();
    prop_assert!(
        told.deadlock.is_some(),
        "{timing:?}: schedule {:?} replays without a deadlock",
        schedule.steps
    );
    prop_assert_eq!(told.story.steps.len(), schedule.steps.len());
    Ok(())
}

/// The minimised schedule is 1-minimal, as `explore::minimize` documents: without any single
/// one of its steps, followed exactly, it no longer reaches a deadlock.
fn check_one_minimal(case: &Case, timing: Timing, e: &Exploration) -> Result<(), TestCaseError> {
    let Verdict::Deadlock { schedule, .. } = &e.verdict else {
        return Ok(());
    };
    let model = explore::model_for(&case.scenario, timing);
    for i in 0..schedule.steps.len() {
        let mut fewer = schedule.steps.clone();
        let removed = fewer.remove(i);
        let still = story::tell(&model, &fewer).ok().and_then(|t| t.deadlock);
        prop_assert!(
            still.is_none(),
            "{:?}: the minimised schedule {:?} still deadlocks without step {} ({:?})",
            timing,
            schedule.steps,
            i + 1,
            removed
        );
    }
    Ok(())
}

/// Length of the schedule as found, for a deadlock verdict.
fn found_steps(e: &Exploration) -> Option<usize> {
    match &e.verdict {
        Verdict::Deadlock { found_steps, .. } => Some(*found_steps),
        _ => None,
    }
}

fn schedule_len(e: &Exploration) -> Option<usize> {
    match &e.verdict {
        Verdict::Deadlock { schedule, .. } => Some(schedule.steps.len()),
        _ => None,
    }
}

/// Drives `sim` with random choices (advancing time when nothing is enabled) for at most
/// `cap` choices.
fn drive_randomly(sim: &mut Simulation<'_>, seed: u64, cap: usize) {
    let mut rng = RandomTies(SimRng::new(seed));
    let mut made = 0;
    while made < cap {
        let options = sim.options();
        if options.is_empty() {
            if sim.advance_time(&mut ()) != Advance::Moved {
                break;
            }
            continue;
        }
        let i = rng
            .choose(sim, &options)
            .expect("random ties always choose");
        sim.apply(options[i], &mut ());
        made += 1;
    }
}

/// The alive instance named `name`, if any.
fn find_named(sim: &Simulation<'_>, name: &str) -> Option<Status> {
    sim.instances()
        .filter(|(_, i)| i.status != Status::Free)
        .find(|&(id, _)| sim.task_name(id) == name)
        .map(|(_, i)| i.status)
}

// ----- properties ----------------------------------------------------------------------------

proptest! {
    #![proptest_config(config(64))]

    /// The printed form of a case is the scenario file of the same scenario.
    #[test]
    fn rendered_toml_parses_back(case in scenarios(12)) {
        let text = gen::to_toml(&case.scenario);
        let parsed = qsim::scenario::parse("prop.toml", &text, &[]);
        prop_assert!(parsed.is_ok(), "{text}\n{:?}", parsed.err());
        prop_assert_eq!(parsed.unwrap(), case.scenario);
    }
}

proptest! {
    // Cheap (about a millisecond a case) and the most valuable: many cases.
    #![proptest_config(config(2000))]

    /// The engine's canonical run and the reference agree on the outcome, its instant, the
    /// finished tasks per type and, for a deadlock, the stuck tasks.
    #[test]
    fn canonical_run_matches_reference(case in scenarios(14)) {
        let expected = reference::run(&case.scenario);
        prop_assume!(!matches!(expected, Err(RefError::TooManyCandidates(_))));
        let expected = expected.unwrap();

        let model = Model::new(case.scenario.clone());
        let mut inv = Invariants::new(case.scenario.tasks.len());
        let (outcome, sim) = simulate(&model, &mut inv, Limits::default());
        let (kind, time, holders, queued) = match &outcome {
            Outcome::Completed => (RefOutcome::Completed, sim.now(), BTreeSet::new(), BTreeSet::new()),
            Outcome::Deadlock(d) => (
                RefOutcome::Deadlock,
                d.time,
                d.blocked().into_iter().collect(),
                d.queued.iter().map(|q| q.task.clone()).collect(),
            ),
            other => return Err(TestCaseError::fail(format!("unexpected outcome {other:?}"))),
        };
        prop_assert_eq!(kind, expected.outcome, "outcome");
        prop_assert_eq!(time, expected.time, "end or deadlock time");
        prop_assert_eq!(&inv.completed, &expected.completed, "completed per type");
        prop_assert_eq!(&inv.failed, &expected.failed, "failed per type");
        prop_assert_eq!(holders, expected.holders, "deadlocked holders");
        prop_assert_eq!(queued, expected.queued, "deadlocked queued tasks");
    }
}

proptest! {
    #![proptest_config(config(128))]

    /// The counting argument proves only what the naive search confirms, and the depth-first
    /// search agrees with the breadth-first one: the same verdict, the same states when there
    /// is no deadlock, and a deadlock schedule that replays.
    #[test]
    fn counting_and_depth_first_agree_with_the_naive_search(case in scenarios(7)) {
        for timing in [Timing::Any, Timing::Exact] {
            let naive = explore_with(&case, timing, Reductions::NONE);
            prop_assume!(naive.verdict.name() != "inconclusive");
            if let Some(proof) = explore::bound::prove_deadlock_free(&case.scenario) {
                prop_assert_eq!(
                    naive.verdict.name(), "deadlock_free",
                    "{:?}: counting proved freedom ({}) but the naive search found a deadlock",
                    timing, proof.explain()
                );
            }
            let budget = Budget { max_states: 200_000, ..Budget::default() };
            let shortest = explore::search(
                &case.scenario, timing, Reductions::ALL, explore::Order::Shortest, &budget, &mut |_| {},
            );
            let deep = explore::search(
                &case.scenario, timing, Reductions::ALL, explore::Order::DeadlockFirst, &budget, &mut |_| {},
            );
            prop_assert_eq!(deep.verdict.name(), naive.verdict.name(), "{:?}", timing);
            prop_assert_eq!(shortest.verdict.name(), naive.verdict.name(), "{:?}", timing);
            if naive.verdict.name() == "deadlock_free" {
                prop_assert_eq!(deep.states, shortest.states, "{:?}", timing);
                prop_assert_eq!(deep.transitions, shortest.transitions, "{:?}", timing);
            }
            check_schedule(&case, timing, &deep)?;
            let decided = explore::decide(
                &case.scenario, timing, Reductions::ALL, explore::Order::DeadlockFirst, &budget, &mut |_| {},
            );
            prop_assert_eq!(decided.verdict.name(), naive.verdict.name(), "{:?}", timing);
        }
    }
}

proptest! {
    #![proptest_config(config(256))]

    /// The same scenario gives the same events and outcome every time, canonically and with
    /// random ties from the same seed.
    #[test]
    fn runs_are_deterministic(case in scenarios(14)) {
        let model = Model::new(case.scenario.clone());
        let once = |random: Option<u64>| {
            let mut rec = Recorder::default();
            let (outcome, sim) = match random {
                None => simulate(&model, &mut rec, Limits::default()),
                Some(seed) => random_run(&model, seed, &mut rec),
            };
            let stuck = match &outcome {
                Outcome::Deadlock(d) => {
                    (d.time, d.blocked(), report::text::explain(&DeadlockReport::new(d)))
                }
                _ => (0, Vec::new(), String::new()),
            };
            (outcome.name(), stuck, sim.now(), sim.choices_made(), sim.created().to_vec(), rec.0)
        };
        prop_assert_eq!(once(None), once(None));
        // The canonical rule as a plain chooser is the same run.
        let mut sim = Simulation::new(&model);
        let mut rec = Recorder::default();
        let outcome = run(&mut sim, &mut Canonical, &mut rec, Limits::default());
        let (name, _, now, _, _, events) = once(None);
        prop_assert_eq!((outcome.name(), sim.now(), rec.0), (name, now, events));
        for seed in TIE_SEEDS {
            prop_assert_eq!(once(Some(seed)), once(Some(seed)), "seed {}", seed);
        }
    }

    /// Tasks are neither lost nor duplicated, and a worker holds one task that knows it.
    #[test]
    fn tasks_are_conserved_and_workers_hold_one_task(case in scenarios(14)) {
        let model = Model::new(case.scenario.clone());
        for seed in std::iter::once(None).chain(TIE_SEEDS.map(Some)) {
            let mut inv = Invariants::new(case.scenario.tasks.len());
            let (_, sim) = match seed {
                None => simulate(&model, &mut inv, Limits::default()),
                Some(seed) => random_run(&model, seed, &mut inv),
            };
            prop_assert!(inv.violation.is_none(), "ties {:?}: {}", seed, inv.violation.unwrap());
            let conserved = conservation(&sim, &inv);
            prop_assert!(conserved.is_ok(), "ties {:?}: {}", seed, conserved.unwrap_err());
        }
    }

    /// The clock never goes backwards, in events or in `time_passes`.
    #[test]
    fn time_never_goes_backwards(case in scenarios(14)) {
        let model = Model::new(case.scenario.clone());
        for seed in std::iter::once(None).chain(TIE_SEEDS.map(Some)) {
            struct Clock { last: Tick, bad: Option<String> }
            impl Observer for Clock {
                fn event(&mut self, sim: &Simulation<'_>, e: &Event) {
                    if sim.now() < self.last && self.bad.is_none() {
                        self.bad = Some(format!("{e:?} at {} after {}", sim.now(), self.last));
                    }
                    self.last = sim.now();
                }
                fn time_passes(&mut self, sim: &Simulation<'_>, from: Tick, to: Tick) {
                    if (from > to || from != sim.now() || from < self.last) && self.bad.is_none() {
                        self.bad = Some(format!("time passes {from} -> {to} at {} after {}", sim.now(), self.last));
                    }
                    self.last = to;
                }
            }
            let mut clock = Clock { last: 0, bad: None };
            let _ = match seed {
                None => simulate(&model, &mut clock, Limits::default()),
                Some(seed) => random_run(&model, seed, &mut clock),
            };
            prop_assert!(clock.bad.is_none(), "ties {:?}: {}", seed, clock.bad.unwrap());
        }
    }

    /// A reported deadlock is permanent: whatever happens next, its tasks never move.
    #[test]
    fn deadlocked_tasks_never_move_again(case in scenarios(14)) {
        let model = Model::new(case.scenario.clone());
        for seed in std::iter::once(None).chain(TIE_SEEDS.map(Some)) {
            let (outcome, sim) = match seed {
                None => simulate(&model, &mut (), Limits::default()),
                Some(seed) => random_run(&model, seed, &mut ()),
            };
            let Outcome::Deadlock(d) = outcome else { continue };
            prop_assert!(!d.holders.is_empty(), "a deadlock without holders");
            for cont in 0..4u64 {
                let mut after = sim.clone();
                drive_randomly(&mut after, 1000 + cont, 5_000);
                for h in &d.holders {
                    let status = find_named(&after, &h.task);
                    prop_assert!(
                        matches!(status, Some(Status::Waiting { timed: false, .. })),
                        "ties {:?}, continuation {}: holder {} is now {:?}", seed, cont, h.task, status
                    );
                }
                for q in &d.queued {
                    let status = find_named(&after, &q.task);
                    prop_assert!(
                        matches!(status, Some(Status::Queued(_))),
                        "ties {:?}, continuation {}: queued {} is now {:?}", seed, cont, q.task, status
                    );
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(config(128))]

    /// The reductions change the number of states, never the verdict; every deadlock verdict
    /// comes with a schedule that replays to a deadlock; a deadlock under the exact timing is
    /// one under any timing too.
    #[test]
    fn reductions_keep_the_verdict(case in scenarios(7)) {
        let mut verdicts = Vec::new();
        for timing in [Timing::Any, Timing::Exact] {
            let reduced = explore_with(&case, timing, Reductions::ALL);
            let naive = explore_with(&case, timing, Reductions::NONE);
            prop_assume!(reduced.verdict.name() != "inconclusive");
            prop_assume!(naive.verdict.name() != "inconclusive");
            prop_assert_eq!(
                reduced.verdict.name(), naive.verdict.name(),
                "{:?}: reduced ({} states) vs naive ({} states)", timing, reduced.states, naive.states
            );
            check_schedule(&case, timing, &reduced)?;
            check_schedule(&case, timing, &naive)?;
            // Breadth-first over every choice finds a shortest schedule: minimising cannot
            // shorten it, and no schedule of the reduced search is shorter.
            if let (Some(found), Some(len)) = (found_steps(&naive), schedule_len(&naive)) {
                prop_assert_eq!(len, found, "{:?}: naive schedule shortened by minimisation", timing);
                let reduced_len = schedule_len(&reduced).unwrap();
                prop_assert!(
                    reduced_len >= found,
                    "{:?}: reduced schedule of {} steps beats the naive shortest {}", timing, reduced_len, found
                );
            }
            verdicts.push(reduced.verdict.name());
        }
        prop_assert!(
            verdicts[1] != "deadlock" || verdicts[0] == "deadlock",
            "exact timing deadlocks but any timing does not"
        );
    }
}

proptest! {
    #![proptest_config(config(256))]

    /// A deadlock that a run meets — canonical or with random ties — is found by exploration
    /// under the exact timing and under any timing.
    #[test]
    fn simulated_deadlocks_are_found_by_exploration(case in scenarios(12)) {
        let model = Model::new(case.scenario.clone());
        let mut deadlocked = Vec::new();
        for seed in std::iter::once(None).chain(TIE_SEEDS.map(Some)) {
            let (outcome, _) = match seed {
                None => simulate(&model, &mut (), Limits::default()),
                Some(seed) => random_run(&model, seed, &mut ()),
            };
            if let Outcome::Deadlock(d) = outcome {
                deadlocked.push((seed, d.blocked()));
            }
        }
        for timing in [Timing::Exact, Timing::Any] {
            let e = explore_with(&case, timing, Reductions::ALL);
            prop_assume!(e.verdict.name() != "inconclusive");
            check_schedule(&case, timing, &e)?;
            check_one_minimal(&case, timing, &e)?;
            if let Some((seed, blocked)) = deadlocked.first() {
                prop_assert_eq!(
                    e.verdict.name(), "deadlock",
                    "{:?}: the run with ties {:?} deadlocks ({:?}) but exploration says {} after {} states",
                    timing, seed, blocked, e.verdict.name(), e.states
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(config(64))]

    /// Symmetry drops the choices that move a twin of a task an earlier choice moves: each
    /// such dropped choice must lead to a state with the same canonical fingerprint as some
    /// kept choice. Checked on every state of the reduced search (up to a bound), under both
    /// timings; takes (only the lowest idle worker is kept) and the partial-order singletons
    /// are other reductions, tested by `reductions_keep_the_verdict`. The scenario files are
    /// checked the same way by `dropped_choices_of_the_scenario_files_lead_where_kept_ones_do`.
    #[test]
    fn dropped_choices_lead_where_kept_ones_do(case in scenarios(10)) {
        for timing in [Timing::Any, Timing::Exact] {
            let model = explore::model_for(&case.scenario, timing);
            check_dropped_choices(&model, 600)?;
        }
    }
}

/// The same check on every scenario file, and on two fan-outs with more workers than parents
/// (so that subtasks of different parents work side by side).
#[test]
fn dropped_choices_of_the_scenario_files_lead_where_kept_ones_do() {
    let mut dropped = 0;
    for model in scenario_file_models() {
        dropped += check_dropped_choices(&model, 3_000).unwrap();
    }
    assert!(dropped > 100, "only {dropped} dropped choices checked");
}

/// A failure two levels down: `flaky` can time out and fail while its child works, so that
/// `mid` may resume for its last child with a failed one behind it and fail in turn, which
/// `top`, still waiting for its own `slow`, must see.
const NESTED_FAILURE: &str = r#"
name = "nested_failure"
[[pool]]
name = "default"
workers = 5
[[task]]
name = "top"
steps = [{ spawn = "mid" }, { spawn = "slow" }, { wait = "children" }]
[[task]]
name = "mid"
steps = [{ spawn = "flaky" }, { spawn = "slow" }, { wait = "children" }]
[[task]]
name = "flaky"
steps = [{ spawn = "slow" }, { wait = "children", timeout = "1s", on_timeout = "fail" }]
[[task]]
name = "slow"
steps = [{ work = "5s" }]
[[arrival]]
task = "top"
at = ["0s"]
"#;

/// The model of every scenario file, of a nested failure and of two fan-outs with more workers than parents, under
/// both timings.
fn scenario_file_models() -> Vec<Model> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut scenarios: Vec<_> = files
        .iter()
        .map(|path| qsim::scenario::load(path, &[]).unwrap())
        .collect();
    for (workers, parents, fan_out) in [(4, 2, 1), (5, 2, 2)] {
        let sets = [
            format!("pool.default.workers={workers}"),
            format!("arrival.0.at=[{}]", vec!["\"0s\""; parents].join(",")),
            format!("task.main_task.steps=[{{spawn=\"subtask\",count={fan_out}}},{{wait=\"children\"}}]"),
        ];
        scenarios.push(qsim::scenario::load(&dir.join("fanout.toml"), &sets).unwrap());
    }
    scenarios.push(qsim::scenario::parse("nested_failure.toml", NESTED_FAILURE, &[]).unwrap());
    let mut models = Vec::new();
    for scenario in &scenarios {
        for timing in [Timing::Any, Timing::Exact] {
            models.push(explore::model_for(scenario, timing));
        }
    }
    models
}

proptest! {
    #![proptest_config(config(64))]

    /// The search fingerprints a state from its parent's parts and the changes the choice
    /// made, and under any timing tells some fingerprints before building the state: on
    /// every transition of the reduced search (up to a bound), under both timings, both must
    /// equal the fingerprint computed from scratch, and the parts must equal parts rebuilt
    /// from scratch. The scenario files are checked the same way by
    /// `fingerprints_from_parts_of_the_scenario_files_are_the_full_ones`.
    #[test]
    fn fingerprints_from_parts_are_the_full_ones(case in scenarios(10)) {
        for timing in [Timing::Any, Timing::Exact] {
            let model = explore::model_for(&case.scenario, timing);
            check_parts(&model, 600)?;
        }
    }
}

#[test]
fn fingerprints_from_parts_of_the_scenario_files_are_the_full_ones() {
    let (mut checked, mut predicted) = (0, 0);
    for model in scenario_file_models() {
        let (c, p) = check_parts(&model, 3_000).unwrap();
        checked += c;
        predicted += p;
    }
    assert!(
        checked > 5_000 && predicted > 1_000,
        "only {checked} transitions and {predicted} predictions checked"
    );
}

/// Walks up to `limit` states of the reduced search of `model` breadth-first (deadlocked
/// states included), checking on each transition that the fingerprint from the parent's parts
/// ([`Canon::fingerprint_after`]) and the predicted one ([`Canon::predict`], made only for
/// timeless models, as under any timing) equal [`Canon::fingerprint`], and that the parts
/// equal rebuilt ones. Returns how many transitions and predictions it checked (none for
/// models with `then` callbacks, which the parts do not cover).
fn check_parts(model: &Model, limit: usize) -> Result<(usize, usize), TestCaseError> {
    use qsim::engine::agenda::Timer;
    use qsim::engine::Choice;
    use qsim::explore::canon::{self, Canon, Changes, Parts};
    let plan = Plan::new(model, Reductions::ALL);
    if !plan.incremental {
        return Ok((0, 0));
    }
    let mut canon = Canon::default();
    let mut start = Simulation::new(model);
    explore::settle(&mut start);
    let mut parts = Parts::default();
    canon.rebuild(&start, &mut parts);
    let mut seen = BTreeSet::new();
    let mut frontier = std::collections::VecDeque::from([(start, parts)]);
    let mut changes = Changes::default();
    let (mut checked, mut predicted) = (0, 0);
    while let Some((sim, parts)) = frontier.pop_front() {
        if seen.len() >= limit || !seen.insert(canon::fingerprint(&sim)) {
            continue;
        }
        for choice in explore::explored_options(&sim, &plan) {
            let label = explore::label(&sim, choice);
            let guess = canon.predict(&sim, &parts, choice);
            prop_assert!(
                guess.is_none() || model.is_timeless(),
                "{}: predicted with durations that are not zero",
                label
            );
            let mut next = sim.clone();
            changes.clear();
            next.apply(choice, &mut changes);
            explore::settle(&mut next);
            let full = canon::fingerprint(&next);
            let mut next_parts = Parts::default();
            let from_parts = canon.fingerprint_after(&next, &parts, &changes, &mut next_parts);
            prop_assert_eq!(from_parts, full, "{}: from the parent's parts", label);
            let mut rebuilt = Parts::default();
            prop_assert_eq!(canon.rebuild(&next, &mut rebuilt), full);
            prop_assert_eq!(&next_parts, &rebuilt, "{}: parts", label);
            if let Some(guess) = guess {
                predicted += 1;
                prop_assert_eq!(guess, full, "{}: predicted", label);
            }
            if let Choice::Fire(e) = choice {
                if let Timer::Arrival { stream } = e.timer {
                    canon.learn_arrival(parts.arrivals(), stream, next_parts.arrivals());
                }
            }
            checked += 1;
            frontier.push_back((next, next_parts));
        }
    }
    Ok((checked, predicted))
}

/// Walks up to `limit` states of the reduced search of `model` breadth-first, checking that
/// each choice symmetry drops (other than takes, in states without a partial-order singleton)
/// leads to a state some kept choice leads to; returns how many dropped choices it checked.
fn check_dropped_choices(model: &Model, limit: usize) -> Result<usize, TestCaseError> {
    let plan = Plan::new(model, Reductions::ALL);
    let mut start = Simulation::new(model);
    explore::settle(&mut start);
    let mut seen = BTreeSet::new();
    let mut frontier = std::collections::VecDeque::from([start]);
    let mut dropped = 0;
    while let Some(sim) = frontier.pop_front() {
        if seen.len() >= limit || !seen.insert(explore::canon::fingerprint(&sim)) {
            continue;
        }
        let all = sim.options();
        let kept = explore::explored_options(&sim, &plan);
        if !all.iter().any(|&c| explore::is_local(&sim, c)) {
            let reached: Vec<_> = kept
                .iter()
                .map(|&c| explore::canon::fingerprint(&successor(&sim, c)))
                .collect();
            for &c in all.iter().filter(|c| !kept.contains(c)) {
                if matches!(c, qsim::engine::Choice::Take(_)) {
                    continue;
                }
                dropped += 1;
                prop_assert!(
                    reached.contains(&explore::canon::fingerprint(&successor(&sim, c))),
                    "dropping {} loses a state",
                    explore::label(&sim, c)
                );
            }
        }
        for c in kept {
            frontier.push_back(successor(&sim, c));
        }
    }
    Ok(dropped)
}

/// The state `choice` leads to from `sim`, settled.
fn successor<'m>(sim: &Simulation<'m>, choice: qsim::engine::Choice) -> Simulation<'m> {
    let mut next = sim.clone();
    next.apply(choice, &mut ());
    explore::settle(&mut next);
    next
}

/// The random scenarios the properties above run on use every feature of the format that the
/// explorer sees (the properties are not vacuous): `then` callbacks, waits with and without
/// timeouts, failing and continuing timeouts, every queue discipline, several queues and
/// pools, and runs that complete, deadlock and
/// fail. Arrival streams and distributions are not generated: the explorer sees a stream as
/// its list of instants and a distribution as its mean (or as zero under any timing), which
/// `at` lists and fixed durations already cover.
#[test]
fn the_generator_uses_every_feature_of_the_format() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    use qsim::scenario::{Discipline, OnTimeout, Step};
    use std::collections::BTreeSet;
    let mut runner = TestRunner::deterministic();
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    for _ in 0..200 {
        let case = scenarios(14).new_tree(&mut runner).unwrap().current();
        let s = &case.scenario;
        for step in s.tasks.iter().flat_map(|t| &t.steps) {
            seen.insert(match step {
                Step::Work(_) => "work",
                Step::Spawn { then: Some(_), .. } => "spawn with then",
                Step::Spawn { then: None, .. } => "spawn",
                Step::Wait { timeout: None, .. } => "wait",
                Step::Wait {
                    on_timeout: OnTimeout::Fail,
                    ..
                } => "wait with a failing timeout",
                Step::Wait {
                    on_timeout: OnTimeout::Continue,
                    ..
                } => "wait with a continuing timeout",
            });
        }
        for q in &s.queues {
            seen.insert(match q.discipline {
                Discipline::Fifo => "fifo",
                Discipline::Lifo => "lifo",
                Discipline::Priority => "priority",
            });
        }
        if s.queues.len() > 1 {
            seen.insert("several queues");
        }
        if s.pools.len() > 1 {
            seen.insert("several pools");
        }
        if s.pools.iter().any(|p| p.queues.len() > 1) {
            seen.insert("a pool consuming several queues");
        }
        let model = Model::new(s.clone());
        let mut inv = Invariants::new(s.tasks.len());
        let (outcome, _) = simulate(&model, &mut inv, Limits::default());
        seen.insert(match outcome {
            Outcome::Completed => "completed",
            Outcome::Deadlock(_) => "deadlock",
            _ => "another ending",
        });
        if inv.failed.iter().sum::<u32>() > 0 {
            seen.insert("a failed task");
        }
    }
    for feature in [
        "work",
        "spawn",
        "spawn with then",
        "wait",
        "wait with a failing timeout",
        "wait with a continuing timeout",
        "fifo",
        "lifo",
        "priority",
        "several queues",
        "several pools",
        "a pool consuming several queues",
        "completed",
        "deadlock",
        "a failed task",
    ] {
        assert!(
            seen.contains(feature),
            "no generated scenario has {feature}: {seen:?}"
        );
    }
}
