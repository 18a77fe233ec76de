//! Engine unit tests on hand-built scenarios (independent of the parser).

use super::*;
use crate::rng::SimRng;
use crate::scenario::{
    Arrival, ArrivalPattern, Discipline, Duration, OnTimeout, Pool, Queue, Scenario, Step, TaskId,
    TaskType, Tick, Ties, TICKS_PER_SECOND,
};

const S: Tick = TICKS_PER_SECOND;

/// The incident: `parents` main tasks at 0 s, each spawning `fanout` subtasks of 4 s and
/// waiting, on one pool of `workers`.
pub(crate) fn fanout(workers: u32, parents: usize, fanout: u32) -> Scenario {
    Scenario {
        name: "fanout".into(),
        description: String::new(),
        seed: 1,
        horizon: None,
        ties: Ties::Canonical,
        queues: vec![Queue {
            name: "default".into(),
            discipline: Discipline::Fifo,
            consumers: vec![0],
        }],
        pools: vec![Pool {
            name: "default".into(),
            workers,
            queues: vec![0],
            ..Pool::new("", 0, Vec::new())
        }],
        tasks: vec![
            TaskType {
                name: "main_task".into(),
                queue: 0,
                priority: 0,
                steps: vec![
                    Step::Spawn {
                        task: 1,
                        count: fanout,
                        then: None,
                    },
                    Step::Wait {
                        timeout: None,
                        on_timeout: OnTimeout::Fail,
                    },
                ],
                ..TaskType::new("", 0, 0, Vec::new())
            },
            TaskType {
                name: "subtask".into(),
                queue: 0,
                priority: 0,
                steps: vec![Step::Work(Duration::Fixed(4 * S))],
                ..TaskType::new("", 0, 0, Vec::new())
            },
        ],
        arrivals: vec![Arrival {
            task: 0,
            pattern: ArrivalPattern::At(vec![0; parents]),
        }],
        host: Default::default(),
    }
}

/// Every scenario of `scenarios/`, in name order: the examples that the tests of whole runs
/// go over.
pub(crate) fn example_scenarios() -> Vec<std::path::PathBuf> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    assert!(files.len() > 10);
    files
}

#[derive(Default)]
struct Count {
    finished: Vec<(TaskId, TaskResult, Tick)>,
}

impl Observer for Count {
    fn event(&mut self, sim: &Simulation<'_>, event: &Event) {
        if let Event::Finished { task, result } = *event {
            self.finished
                .push((sim.instance(task).task, result, sim.now()));
        }
        // A worker runs one task at a time: held workers never exceed the pool size.
        for p in 0..sim.scenario().pools.len() {
            let (idle, _, held) = sim.pool_counts(p);
            assert_eq!(idle + held, sim.scenario().pools[p].workers);
        }
    }
}

#[test]
fn the_incident_deadlocks_at_zero_with_both_workers_waiting() {
    let model = Model::new(fanout(2, 2, 10));
    let (outcome, sim) = simulate(&model, &mut (), Limits::default());
    let Outcome::Deadlock(d) = outcome else {
        panic!("expected a deadlock, got {outcome:?}");
    };
    assert_eq!(d.time, 0);
    assert_eq!(d.blocked(), vec!["main_task#1", "main_task#2"]);
    assert_eq!(d.queued.len(), 20);
    assert_eq!(d.pools.len(), 1);
    assert_eq!(sim.live_tasks(), 22);
    let h = &d.holders[0];
    assert_eq!(
        (h.worker.as_str(), h.task.as_str(), h.since),
        ("default/1", "main_task#1", 0)
    );
    // The words and the DOT of this deadlock are checked in `report::deadlock` and `report::dot`.
    use super::wait_for::Node;
    assert_eq!(
        d.cycle(),
        [
            Node::Worker("default/1".into()),
            Node::Task("main_task#1".into()),
            Node::Task("subtask#1".into()),
            Node::Queue("default".into()),
            Node::Pool("default".into()),
            Node::Worker("default/1".into()),
        ]
    );
}

#[test]
fn four_workers_complete_the_incident_at_36s() {
    let model = Model::new(fanout(4, 2, 10));
    let mut count = Count::default();
    let (outcome, sim) = simulate(&model, &mut count, Limits::default());
    assert!(matches!(outcome, Outcome::Completed), "{outcome:?}");
    assert_eq!(sim.now(), 36 * S);
    assert_eq!(count.finished.len(), 22);
    assert!(count.finished.iter().all(|f| f.1 == TaskResult::Completed));
    let parents: Vec<Tick> = count
        .finished
        .iter()
        .filter(|f| f.0 == 0)
        .map(|f| f.2)
        .collect();
    assert_eq!(parents, vec![20 * S, 36 * S]);
    assert_eq!(sim.live_tasks(), 0);
}

#[test]
fn canonical_fast_path_matches_first_option_every_time() {
    struct First;
    impl Chooser for First {
        fn choose(&mut self, _: &Simulation<'_>, _: &[Choice]) -> Option<usize> {
            Some(0)
        }
    }
    for (w, p, f) in [(2, 2, 10), (4, 2, 10), (3, 5, 2), (1, 1, 1)] {
        let model = Model::new(fanout(w, p, f));
        let mut a = Count::default();
        let mut b = Count::default();
        let mut sa = Simulation::new(&model);
        let mut sb = Simulation::new(&model);
        let oa = run(&mut sa, &mut Canonical, &mut a, Limits::default());
        let ob = run(&mut sb, &mut First, &mut b, Limits::default());
        assert_eq!(oa.name(), ob.name());
        assert_eq!(a.finished, b.finished);
        assert_eq!(sa.now(), sb.now());
        assert_eq!(sa.choices_made(), sb.choices_made());
    }
}

#[test]
fn a_timeout_on_the_wait_frees_the_workers() {
    let mut s = fanout(2, 2, 3);
    s.tasks[0].steps[1] = Step::Wait {
        timeout: Some(Duration::Fixed(10 * S)),
        on_timeout: OnTimeout::Fail,
    };
    let model = Model::new(s);
    let mut count = Count::default();
    let (outcome, sim) = simulate(&model, &mut count, Limits::default());
    assert!(matches!(outcome, Outcome::Completed), "{outcome:?}");
    let failed: Vec<_> = count
        .finished
        .iter()
        .filter(|f| f.1 == TaskResult::Failed)
        .collect();
    assert_eq!(failed.len(), 2);
    assert!(failed.iter().all(|f| f.0 == 0 && f.2 == 10 * S));
    // 6 subtasks of 4 s on 2 workers after 10 s.
    assert_eq!(sim.now(), 10 * S + 3 * 4 * S);
}

#[test]
fn then_callback_runs_once_all_children_finished() {
    let mut s = fanout(2, 1, 3);
    s.tasks[0].steps = vec![Step::Spawn {
        task: 1,
        count: 3,
        then: Some(2),
    }];
    s.tasks.push(TaskType {
        name: "finalize".into(),
        queue: 0,
        priority: 0,
        steps: vec![Step::Work(Duration::Fixed(S))],
        ..TaskType::new("", 0, 0, Vec::new())
    });
    let model = Model::new(s);
    let mut count = Count::default();
    let (outcome, sim) = simulate(&model, &mut count, Limits::default());
    assert!(matches!(outcome, Outcome::Completed), "{outcome:?}");
    assert_eq!(count.finished.len(), 5);
    assert_eq!(count.finished.last().unwrap().0, 2);
    assert_eq!(sim.now(), 9 * S); // children 0-4 s (two) and 4-8 s, callback 8-9 s
}

#[test]
fn partial_deadlock_is_found_while_another_pool_keeps_working() {
    let mut s = fanout(1, 1, 1);
    // A second pool with its own long-running work.
    s.queues.push(Queue {
        name: "other".into(),
        discipline: Discipline::Fifo,
        consumers: vec![1],
    });
    s.pools.push(Pool {
        name: "other".into(),
        workers: 1,
        queues: vec![1],
        ..Pool::new("", 0, Vec::new())
    });
    s.tasks.push(TaskType {
        name: "long".into(),
        queue: 1,
        priority: 0,
        steps: vec![Step::Work(Duration::Fixed(1000 * S))],
        ..TaskType::new("", 0, 0, Vec::new())
    });
    s.arrivals.push(Arrival {
        task: 2,
        pattern: ArrivalPattern::At(vec![0]),
    });
    let model = Model::new(s);
    let (outcome, _) = simulate(&model, &mut (), Limits::default());
    let Outcome::Deadlock(d) = outcome else {
        panic!("expected a deadlock, got {outcome:?}");
    };
    assert_eq!(d.time, 0);
    assert_eq!(d.blocked(), vec!["main_task#1"]);
}

#[test]
fn options_list_every_same_instant_interleaving_point() {
    let model = Model::new(fanout(2, 2, 1));
    let mut sim = Simulation::new(&model);
    // The arrivals of one stream keep their order: only the first is due.
    assert_eq!(sim.options().len(), 1);
    let first = sim.options()[0];
    sim.apply(first, &mut ());
    let opts = sim.options();
    // The second arrival, or worker 1 or 2 takes main_task#1.
    assert_eq!(opts.len(), 3, "{opts:?}");
}

#[test]
fn event_limit_stops_a_run() {
    let model = Model::new(fanout(4, 2, 10));
    let mut sim = Simulation::new(&model);
    let outcome = run(
        &mut sim,
        &mut Canonical,
        &mut (),
        Limits {
            max_events: 5,
            ..Limits::default()
        },
    );
    assert!(matches!(outcome, Outcome::EventLimit));
    assert_eq!(sim.choices_made(), 5);
}

#[test]
fn names_are_numbered_as_format_would() {
    for n in [0, 1, 9, 10, 99, 100, 12_345, u32::MAX] {
        assert_eq!(
            super::model::numbered("subtask", '#', n),
            format!("subtask#{n}")
        );
        assert_eq!(super::model::numbered("a/1", '/', n), format!("a/1/{n}"));
    }
}

#[test]
fn a_model_is_timeless_only_when_nothing_takes_time() {
    let incident = fanout(2, 2, 3);
    assert!(!Model::new(incident.clone()).is_timeless(), "4 s of work");
    assert!(Model::new(incident.with_any_timing()).is_timeless());
    let mut horizon = incident.with_any_timing();
    horizon.horizon = Some(10 * S);
    assert!(!Model::new(horizon).is_timeless(), "a horizon");
    let mut late = incident.with_any_timing();
    late.arrivals[0].pattern = ArrivalPattern::At(vec![0, S]);
    assert!(!Model::new(late).is_timeless(), "an arrival at 1 s");
}

#[test]
fn lowest_idle_options_are_the_options_with_one_take_per_pool() {
    struct Check(crate::rng::SimRng, usize);
    impl Chooser for Check {
        fn choose(&mut self, sim: &Simulation<'_>, options: &[Choice]) -> Option<usize> {
            let mut seen_pools = Vec::new();
            let expected: Vec<Choice> = options
                .iter()
                .copied()
                .filter(|&c| match c {
                    Choice::Take(w) => {
                        let p = sim.model.pool_of(w);
                        let first = !seen_pools.contains(&p);
                        seen_pools.push(p);
                        first
                    }
                    _ => true,
                })
                .collect();
            let mut lowest = Vec::new();
            sim.options_into(Idle::Lowest, &mut lowest);
            assert_eq!(lowest, expected);
            self.1 += options
                .iter()
                .filter(|c| matches!(c, Choice::Take(_)))
                .count();
            Some(self.0.below(options.len()))
        }
    }
    let mut takes = 0;
    for seed in 0..20 {
        let model = Model::new(fanout(4, 3, 2).with_any_timing());
        let mut check = Check(crate::rng::SimRng::new(seed), 0);
        run(
            &mut Simulation::new(&model),
            &mut check,
            &mut (),
            Limits::default(),
        );
        takes += check.1;
    }
    assert!(takes > 100, "only {takes} takes listed");
}

/// Every event of a run with the instant it happened at, as text: two runs that log the same
/// went step for step alike.
#[derive(Default)]
struct Log(Vec<String>);

impl Observer for Log {
    fn event(&mut self, sim: &Simulation<'_>, event: &Event) {
        self.0.push(format!("{} {event:?}", sim.now()));
    }
}

#[test]
fn random_ties_recorded_as_values_replay_step_for_step() {
    let mut scenario = fanout(3, 4, 2);
    scenario.tasks[1].steps = vec![Step::Work(Duration::Exp { mean: S })];
    let model = Model::new(scenario);
    for seed in 0..20 {
        let mut recorder = TiesByValue(Recorder::new(RandomTies(SimRng::new(seed))));
        let mut sim = Simulation::with_seed(&model, seed);
        let mut log = Log::default();
        let outcome = run(&mut sim, &mut recorder, &mut log, Limits::default());
        let decided = recorder.0.decided;
        assert!(!decided.is_empty());
        assert!(decided.iter().all(|d| matches!(
            d,
            Decided::Value {
                decision: Decision::Tie,
                ..
            }
        )));
        assert!(
            decided
                .iter()
                .any(|d| matches!(d, Decided::Value { of, .. } if *of > 1)),
            "the run should have had a tie to break"
        );

        // The values alone reproduce the run, event for event.
        let mut replayer = TiesByValue(Replayer::new(decided.clone()));
        let mut again = Simulation::with_seed(&model, seed);
        let mut replayed = Log::default();
        let outcome_again = run(&mut again, &mut replayer, &mut replayed, Limits::default());
        assert_eq!(outcome_again.name(), outcome.name());
        assert_eq!(replayed.0, log.0);
        assert_eq!(replayer.0.followed(), decided.len());

        // Another value at the first real tie gives another run.
        let mut changed = decided.clone();
        let tie = changed
            .iter()
            .position(|d| matches!(d, Decided::Value { of, .. } if *of > 1))
            .expect("a tie");
        if let Decided::Value { outcome, of, .. } = &mut changed[tie] {
            *outcome = (*outcome + 1) % *of;
        }
        let mut other = Simulation::with_seed(&model, seed);
        let mut other_log = Log::default();
        run(
            &mut other,
            &mut TiesByValue(Replayer::new(changed)),
            &mut other_log,
            Limits::default(),
        );
        assert_ne!(other_log.0, log.0);
    }
}

#[test]
fn a_replay_stops_where_the_record_does_not_fit() {
    let model = Model::new(fanout(2, 2, 3));
    let wrong = vec![Decided::Value {
        decision: Decision::Tie,
        outcome: 0,
        of: 99,
    }];
    let mut sim = Simulation::new(&model);
    let outcome = run(
        &mut sim,
        &mut TiesByValue(Replayer::new(wrong)),
        &mut (),
        Limits::default(),
    );
    assert!(matches!(outcome, Outcome::Stopped), "{outcome:?}");
}

#[test]
fn a_recycled_state_equals_a_clone() {
    // `clone_from` into a state of another run must give what `clone` gives: the state's
    // fields are listed once for both, so none can be missed.
    let model = Model::new(fanout(3, 4, 2));
    let mut a = Simulation::with_seed(&model, 1);
    let mut b = Simulation::with_seed(&model, 2);
    let mut ties = RandomTies(SimRng::new(3));
    for _ in 0..7 {
        if let Some(choice) = a.canonical_choice() {
            a.apply(choice, &mut ());
        }
        let options = b.options();
        if !options.is_empty() {
            let i = ties.choose(&b, &options).unwrap();
            b.apply(options[i], &mut ());
        }
    }
    let mut recycled = b.clone();
    recycled.clone_from(&a);
    assert_eq!(format!("{recycled:?}"), format!("{:?}", a.clone()));
}

/// Checks at every event that each pool's lowest idle worker, read from its mask, is the
/// first idle worker found by walking the pool.
struct LowestIdle(u64);

impl Observer for LowestIdle {
    fn event(&mut self, sim: &Simulation<'_>, _: &Event) {
        for p in 0..sim.scenario().pools.len() {
            let walked = sim
                .model
                .workers_of(p)
                .find(|&w| sim.workers[w as usize].is_idle());
            assert_eq!(sim.lowest_idle(p), walked, "pool {p} at {}", sim.now());
            self.0 += u64::from(walked.is_some_and(|w| w >= 64));
        }
    }
}

/// The mask of idle workers agrees with the workers at every event: in every scenario of
/// `scenarios/`, with pools of a few workers and of more than 64 (past the mask), run with
/// the canonical rule and with random ties.
#[test]
fn the_lowest_idle_worker_is_the_first_idle_one() {
    let files = example_scenarios();
    let mut past_the_mask = 0;
    for file in &files {
        let base = crate::scenario::load(file, &[]).unwrap();
        for workers in [None, Some(3), Some(70), Some(130)] {
            let mut scenario = base.clone();
            if let Some(w) = workers {
                for pool in &mut scenario.pools {
                    pool.workers = w;
                }
            }
            for ties in [Ties::Canonical, Ties::Random] {
                scenario.ties = ties;
                let model = Model::new(scenario.clone());
                let mut check = LowestIdle(0);
                let limits = Limits {
                    max_events: 20_000,
                    ..Limits::default()
                };
                simulate(&model, &mut check, limits);
                past_the_mask += check.0;
            }
        }
    }
    // Some pools had their lowest idle worker past the 64th.
    assert!(past_the_mask > 0);
}
