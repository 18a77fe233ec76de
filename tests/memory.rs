//! Worker memory and the life of processes (docs/memory.md): the arithmetic on hand-computed
//! cases, the semantics the model promises, invariants over random scenarios, and the
//! explorer's soundness when processes can exit, be recycled or be killed.

use proptest::prelude::*;

use qsim::engine::{
    self, run_to_end, Canonical, Decided, Decision, Event, Exit, Limits, Model, Observer, Outcome,
    Recorder, Simulation, Status,
};
use qsim::explore::{self, Budget, Order, Reductions, Timing};
use qsim::report::{Report, Stats};
use qsim::scenario::{parse, Scenario};

const MB: u64 = 1_000_000;

fn scenario(text: &str) -> Scenario {
    parse("t.toml", text, &[]).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// Every event of a run, with the simulation's memory facts checked at each.
#[derive(Default)]
struct Watch {
    /// `(process, rss)` of every memory change, in order.
    memory: Vec<(u32, u64)>,
    /// `(process, cause, rss, tasks)` of every exit.
    exits: Vec<(u32, Exit, u64, u32)>,
    lost: u64,
    requeued: u64,
    finished: u64,
    /// A task just ended on this process: the next memory change is its end, and the pool's
    /// check must follow it.
    ended_on: Option<u32>,
    /// The process whose rss after a task is above its pool's max_memory: it must exit next.
    must_exit: Option<u32>,
    problems: Vec<String>,
}

impl Observer for Watch {
    fn event(&mut self, sim: &Simulation<'_>, event: &Event) {
        let s = sim.scenario();
        // The host's total is the sum of its processes, always.
        let sum: u64 = sim.processes().iter().map(|p| p.rss()).sum();
        if sum != sim.host_rss() {
            self.problems
                .push(format!("host {} != sum of processes {sum}", sim.host_rss()));
        }
        if let Some(p) = self.must_exit.take() {
            if !matches!(*event, Event::Exited { process, cause: Exit::MaxMemory, .. } if process == p)
            {
                self.problems.push(format!(
                    "process {p} is above max_memory after a task and did not exit: {event:?}"
                ));
            }
        }
        match *event {
            Event::Memory { process, rss } => {
                self.memory.push((process, rss));
                if self.ended_on.take() == Some(process) {
                    let pool = &s.pools[sim.model.pool_of_process(process)];
                    if pool.max_memory.is_some_and(|m| rss > m) {
                        self.must_exit = Some(process);
                    }
                }
            }
            Event::Exited {
                process,
                cause,
                rss,
                tasks,
            } => {
                let pool = &s.pools[sim.model.pool_of_process(process)];
                if cause == Exit::MaxMemory && pool.max_memory.is_none_or(|m| rss <= m) {
                    self.problems.push(format!(
                        "process {process} exited at {rss} under its threshold"
                    ));
                }
                self.exits.push((process, cause, rss, tasks));
            }
            Event::Taken { task, worker } => {
                let p = sim.model.process_of(worker);
                // Without memory modelled, no process is kept.
                let Some(&process) = sim.processes().get(p as usize) else {
                    return;
                };
                if process.down {
                    self.problems
                        .push(format!("worker {worker} took a task while restarting"));
                }
                // No process starts a task above its threshold: what it keeps (its base and
                // what its tasks left) is checked after every task, so it is never above the
                // threshold when a worker takes a task. (Tasks running on other threads of a
                // thread pool are not checked until they end.)
                let _ = task;
                let pool = &s.pools[sim.model.pool_of(worker)];
                if let Some(m) = pool.max_memory {
                    let before = process.kept;
                    if before > m {
                        self.problems.push(format!(
                            "worker {worker} took a task with its process at {before} > {m}"
                        ));
                    }
                }
            }
            Event::Finished { task, .. } => {
                self.finished += 1;
                let w = sim.instance(task).status.worker().expect("held");
                let t = &s.tasks[sim.instance(task).task];
                let pool = &s.pools[sim.model.pool_of(w)];
                if t.memory > 0 || t.kept(pool.gc) > 0 {
                    self.ended_on = Some(sim.model.process_of(w));
                } else if pool.max_memory.is_some_and(|m| {
                    sim.processes()
                        .get(sim.model.process_of(w) as usize)
                        .is_some_and(|p| p.rss() > m)
                }) {
                    self.must_exit = Some(sim.model.process_of(w));
                }
            }
            Event::Lost { .. } => self.lost += 1,
            Event::Requeued { .. } => self.requeued += 1,
            _ => {}
        }
    }
}

fn watch(s: &Scenario) -> (Outcome, Watch, Report) {
    let model = Model::new(s.clone());
    let mut both = (Watch::default(), Stats::new(&model.scenario));
    let (outcome, sim) = engine::simulate(&model, &mut both, Limits::default());
    let report = Report::new(&sim, &both.1, &outcome);
    assert!(both.0.problems.is_empty(), "{:?}", both.0.problems);
    (outcome, both.0, report)
}

const LEAK: &str = r#"
[[pool]]
name = "default"
workers = 1
kind = "process"
base_memory = "200MB"

[[task]]
name = "copy"
memory = "400MB"
retain = "300MB"
collectable = 0.9
steps = [{ work = "20s" }]

[[arrival]]
task = "copy"
every = "30s"
count = 4
"#;

fn rss_of(w: &Watch, p: u32) -> Vec<u64> {
    w.memory
        .iter()
        .filter(|(q, _)| *q == p)
        .map(|(_, r)| r / MB)
        .collect()
}

#[test]
fn a_leak_grows_by_what_each_task_keeps() {
    let (outcome, w, report) = watch(&scenario(LEAK));
    assert!(matches!(outcome, Outcome::Completed));
    // 200 + 400 during the first copy, 200 + 300 after it, and so on.
    assert_eq!(rss_of(&w, 0), [600, 500, 900, 800, 1200, 1100, 1500, 1400]);
    let m = report.memory.expect("memory is modelled");
    assert_eq!(m.pools[0].peak_rss, 1500 * MB);
    assert_eq!(m.pools[0].workers[0].end_rss, 1400 * MB);
    assert_eq!(m.host_peak, 1500 * MB);
}

#[test]
fn gc_after_each_task_releases_the_collectable_share() {
    let text = LEAK.replace(
        "base_memory = \"200MB\"",
        "base_memory = \"200MB\"\ngc = \"after_task\"",
    );
    let (_, w, _) = watch(&scenario(&text));
    // Each copy keeps 300MB - 90% = 30MB.
    assert_eq!(rss_of(&w, 0), [600, 230, 630, 260, 660, 290, 690, 320]);
}

#[test]
fn a_threshold_restarts_the_process_after_the_task_that_crosses_it() {
    let text = LEAK.replace("count = 4", "count = 7").replace(
        "base_memory = \"200MB\"",
        "base_memory = \"200MB\"\nmax_memory = \"1GB\"",
    );
    let (outcome, w, report) = watch(&scenario(&text));
    assert!(matches!(outcome, Outcome::Completed));
    // After the third copy the process keeps 1.1GB > 1GB: it exits, freeing everything; the
    // replacement starts at base memory and the fourth copy runs on it.
    assert_eq!(
        rss_of(&w, 0)[..10],
        [600, 500, 900, 800, 1200, 1100, 200, 600, 500, 900]
    );
    assert_eq!(
        w.exits,
        [
            (0, Exit::MaxMemory, 1100 * MB, 3),
            (0, Exit::MaxMemory, 1100 * MB, 3)
        ]
    );
    assert_eq!(w.finished, 7, "the task that crossed the threshold stands");
    assert_eq!(report.memory.unwrap().pools[0].restarts, [2, 0, 0]);
}

#[test]
fn max_tasks_recycles_a_process_but_only_a_thread_of_a_thread_pool() {
    let process = LEAK.replace(
        "base_memory = \"200MB\"",
        "base_memory = \"200MB\"\nmax_tasks = 2",
    );
    let (_, w, _) = watch(&scenario(&process));
    assert_eq!(
        rss_of(&w, 0),
        [600, 500, 900, 800, 200, 600, 500, 900, 800, 200]
    );
    assert_eq!(w.exits.len(), 2);
    assert!(w.exits.iter().all(|e| e.1 == Exit::MaxTasks));

    let thread = process.replace("kind = \"process\"", "kind = \"thread\"");
    let (_, w, report) = watch(&scenario(&thread));
    // The thread is replaced; the process keeps every byte.
    assert_eq!(rss_of(&w, 0), [600, 500, 900, 800, 1200, 1100, 1500, 1400]);
    assert!(w.exits.is_empty());
    let m = report.memory.unwrap();
    assert_eq!(m.pools[0].restarts, [0, 2, 0]);
    assert!(m
        .findings
        .iter()
        .any(|f| f.kind == "recycling_frees_nothing"));

    // A fresh process above the threshold after one task: one restart per task, named.
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/memory_restart_loop.toml"
    );
    let (_, _, report) = watch(&scenario(&std::fs::read_to_string(path).unwrap()));
    let m = report.memory.unwrap();
    assert!(
        m.findings.iter().any(|f| f.kind == "restart_loop"
            && f.text.contains("(1.00 restarts per task over the run)")),
        "{:?}",
        m.findings
    );
}

#[test]
fn a_thread_pools_exit_loses_what_its_other_threads_run() {
    let text = r#"
[[pool]]
name = "default"
workers = 2
base_memory = "100MB"
max_memory = "500MB"

[[task]]
name = "import"
memory = "200MB"
retain = "500MB"
steps = [{ work = "10s" }]

[[task]]
name = "report"
steps = [{ work = "60s" }]

[[arrival]]
task = "report"
at = ["0s"]

[[arrival]]
task = "import"
at = ["0s"]
"#;
    let (outcome, w, report) = watch(&scenario(text));
    assert!(matches!(outcome, Outcome::Completed));
    assert_eq!(w.lost, 1);
    let report_task = &report.tasks[1];
    assert_eq!(
        (
            report_task.completed,
            report_task.lost,
            report_task.unfinished
        ),
        (0, 1, 0)
    );
    let m = report.memory.unwrap();
    assert_eq!(m.lost_names, ["report#1"]);

    // With acks_late the report is re-queued and runs again on the replacement.
    let late = text.replace(
        "name = \"report\"\n",
        "name = \"report\"\nacks_late = true\n",
    );
    let (_, w, report) = watch(&scenario(&late));
    assert_eq!((w.lost, w.requeued), (0, 1));
    assert_eq!(report.tasks[1].completed, 1);
}

#[test]
fn without_retention_or_threshold_memory_returns_to_base_after_each_task() {
    let text = LEAK.replace("retain = \"300MB\"", "retain = 0");
    let (_, w, _) = watch(&scenario(&text));
    assert_eq!(rss_of(&w, 0), [600, 200, 600, 200, 600, 200, 600, 200]);
}

const OOM: &str = r#"
[host]
memory = "1GB"

[[pool]]
name = "default"
workers = 2
kind = "process"
base_memory = "200MB"
restart = "1s"

[[task]]
name = "big"
memory = "400MB"
steps = [{ work = "10s" }]

[[arrival]]
task = "big"
at = ["0s", "0s"]
"#;

#[test]
fn the_oom_killer_takes_the_largest_and_run_takes_the_lowest_of_equals() {
    // Both take a task at 0s: 2 x 600MB > 1GB. The two processes are equal.
    let s = scenario(OOM);
    let (outcome, w, report) = watch(&s);
    assert!(matches!(outcome, Outcome::Completed));
    assert_eq!(w.exits, [(0, Exit::Oom, 600 * MB, 0)]);
    assert_eq!(w.lost, 1);
    assert_eq!(report.memory.unwrap().pools[0].restarts, [0, 0, 1]);

    // The victim is a value decision: recorded as one, of two outcomes.
    let model = Model::new(s);
    let mut sim = Simulation::new(&model);
    let mut recorder = Recorder::new(engine::TiesByValue(Canonical));
    run_to_end(&mut sim, &mut recorder, &mut (), Limits::default());
    assert!(recorder.decided.contains(&Decided::Value {
        decision: Decision::OomVictim,
        outcome: 0,
        of: 2
    }));
}

#[test]
fn explore_branches_on_the_oom_victim() {
    // A parent on one process, its child on the other, both at 600MB on a 1GB host: the
    // processes are equal. `run` kills the lower, the parent's: the parent is lost and its
    // child completes. Killing the other loses the child the parent waits for: an orphaned
    // wait, which only exploring the other victim shows.
    let text = r#"
[host]
memory = "1GB"

[[pool]]
name = "default"
workers = 2
kind = "process"
base_memory = "300MB"

[[task]]
name = "parent"
memory = "300MB"
steps = [{ spawn = "child" }, { wait = "children" }]

[[task]]
name = "child"
memory = "300MB"
steps = [{ work = "1s" }]

[[arrival]]
task = "parent"
at = ["0s"]
"#;
    let s = scenario(text);
    let (outcome, _, _) = watch(&s);
    assert_eq!(outcome.name(), "completed");
    let x = explore::decide(
        &s,
        Timing::Any,
        Reductions::ALL,
        Order::DeadlockFirst,
        &Budget::default(),
        &mut |_| {},
    );
    assert_eq!(x.verdict.name(), "deadlock");
}

#[test]
fn a_lost_child_leaves_its_parent_waiting_unless_the_wait_has_a_timeout() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/memory_orphaned_wait.toml"
    );
    let text = std::fs::read_to_string(path).unwrap();
    let (outcome, _, _) = watch(&scenario(&text));
    let Outcome::Deadlock(d) = &outcome else {
        panic!("{outcome:?}")
    };
    assert!(d.is_orphaned());
    assert_eq!(d.holders[0].lost_children, 1);
    let timed = text.replace(
        "{ wait = \"children\" }",
        "{ wait = \"children\", timeout = \"30s\" }",
    );
    let (outcome, _, report) = watch(&scenario(&timed));
    assert!(matches!(outcome, Outcome::Completed), "{outcome:?}");
    assert_eq!(
        report.tasks[0].failed, 1,
        "the parent's wait times out and fails"
    );
    let late = text.replace("name = \"child\"\n", "name = \"child\"\nacks_late = true\n");
    let (outcome, w, _) = watch(&scenario(&late));
    assert!(matches!(outcome, Outcome::Completed), "{outcome:?}");
    assert_eq!(w.requeued, 1);
}

#[test]
fn a_loop_that_never_finishes_a_task_is_stopped() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/memory_oom_loop.toml"
    );
    let text = std::fs::read_to_string(path).unwrap();
    let (outcome, w, report) = watch(&scenario(&text));
    assert!(
        matches!(outcome, Outcome::RestartLoop { exits } if exits == 25),
        "{outcome:?}"
    );
    // Two processes: the limit is 8 x (2 + 1).
    assert_eq!(report.restart_loop, Some((25, 24)));
    let m = report.memory.unwrap();
    assert!(
        m.findings
            .iter()
            .any(|f| f.kind == "oom_restart_loop"
                && f.text.contains("40 kills for 1 tasks finished")),
        "{:?}",
        m.findings
    );
    // The first of the 25 killed the process that had just run the ETL task; every later one
    // killed a replacement before it finished anything.
    let last: Vec<_> = w.exits.iter().rev().take(25).collect();
    assert!(last.iter().all(|e| e.1 == Exit::Oom));
    assert!(last[..24].iter().all(|e| e.3 == 0));
    assert_eq!(last[24].3, 1);
}

#[test]
fn sizes_and_fractions_are_checked_where_they_are_written() {
    let err = |text: &str| parse("t.toml", text, &[]).unwrap_err().to_string();
    let pool = "[[pool]]\nworkers = 1\n";
    assert!(err(&format!("{pool}base_memory = \"2 megs\"\n"))
        .contains("t.toml:3:15: expected a size such as"));
    assert!(err(&format!("{pool}max_memory = 1.5\n")).contains("needs a unit"));
    assert!(err(&format!("{pool}max_tasks = 0\n")).contains("max_tasks"));
    assert!(err(&format!("{pool}kind = \"fork\"\n")).contains("unknown value \"fork\""));
    assert!(err(&format!("{pool}gc = \"always\"\n")).contains("expected none, after_task"));
    let task = "[[task]]\nname = \"t\"\nsteps = [{ work = \"1s\" }]\n";
    assert!(err(&format!("{pool}{task}collectable = 1.5\n")).contains("from 0 to 1"));
    assert!(err(&format!("{pool}{task}retain = 2.0\n")).contains("a fraction is from 0 to 1"));
    assert!(err(&format!("{pool}[host]\nmemory = -1\n")).contains("0 or more"));
    assert!(
        err(&format!("{pool}[host]\nram = \"1GB\"\n")).contains("unknown key \"ram\" in [host]")
    );
    // A share of memory: 10% of 400MB.
    let s = scenario(&format!(
        "{pool}[[task]]\nname = \"t\"\nmemory = \"400MB\"\nretain = 0.1\ncollectable = 0.5\nsteps = [{{ work = \"1s\" }}]\n"
    ));
    assert_eq!(
        (s.tasks[0].retain, s.tasks[0].collectable),
        (40 * MB, 20 * MB)
    );
}

// ----- random scenarios ----------------------------------------------------------------------

/// A random scenario with memory fields: one or two pools (thread or process, thresholds,
/// recycling, gc), a parent that spawns and may wait, children that hold and keep memory, and
/// maybe a host size.
fn memory_scenario() -> impl Strategy<Value = String> {
    (
        (1u32..=2, any::<bool>(), 0u64..=3, prop::option::of(3u64..=8)),
        (prop::option::of(1u32..=3), any::<bool>(), 0u64..=2),
        (1u32..=3, 0u64..=4, 0u64..=3, any::<bool>(), any::<bool>()),
        (1usize..=2, prop::option::of(6u64..=14), any::<bool>()),
    )
        .prop_map(
            |(
                (workers, process, base, max_memory),
                (max_tasks, gc, restart),
                (count, memory, retain, acks_late, timed),
                (parents, host, second_pool),
            )| {
                let mut t = String::new();
                if let Some(h) = host {
                    t += &format!("[host]\nmemory = \"{}MB\"\n\n", h * 100);
                }
                t += &format!(
                    "[[pool]]\nname = \"front\"\nworkers = {}\n",
                    if second_pool { 1 } else { workers }
                );
                if second_pool {
                    t += "\n[[queue]]\nname = \"back\"\n\n[[pool]]\nname = \"back\"\nqueues = [\"back\"]\n";
                    t += &format!("workers = {workers}\n");
                }
                t += &format!(
                    "kind = \"{}\"\nbase_memory = \"{}MB\"\nrestart = \"{restart}s\"\n",
                    if process { "process" } else { "thread" },
                    base * 100
                );
                if let Some(m) = max_memory {
                    t += &format!("max_memory = \"{}MB\"\n", m * 100);
                }
                if let Some(n) = max_tasks {
                    t += &format!("max_tasks = {n}\n");
                }
                if gc {
                    t += "gc = \"after_task\"\n";
                }
                let wait = if timed {
                    "{ wait = \"children\", timeout = \"5s\" }"
                } else {
                    "{ wait = \"children\" }"
                };
                t += &format!(
                    "\n[[task]]\nname = \"parent\"\nsteps = [{{ spawn = \"child\", count = {count} }}, {wait}]\n"
                );
                t += &format!(
                    "\n[[task]]\nname = \"child\"\n{}memory = \"{}MB\"\nretain = \"{}MB\"\ncollectable = 0.5\nacks_late = {acks_late}\nsteps = [{{ work = \"1s\" }}]\n",
                    if second_pool { "queue = \"back\"\n" } else { "" },
                    memory * 100,
                    retain * 100,
                );
                t += &format!(
                    "\n[[arrival]]\ntask = \"parent\"\nat = [{}]\n",
                    vec!["\"0s\""; parents].join(", ")
                );
                t
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// The promises of the model hold on every run: the host is the sum of its processes, a
    /// process above its threshold after a task exits at once and never otherwise, no process
    /// takes a task above its threshold, a restarting worker takes nothing, and every task is
    /// completed, failed, lost or unfinished (Report::new checks the last).
    #[test]
    fn every_run_keeps_the_promises(text in memory_scenario(), seed in 0u64..4) {
        let mut s = scenario(&text);
        s.seed = seed;
        let model = Model::new(s);
        let mut both = (Watch::default(), Stats::new(&model.scenario));
        let (outcome, sim) = engine::simulate(&model, &mut both, Limits::default());
        prop_assert!(both.0.problems.is_empty(), "{:?}\n{text}", both.0.problems);
        let report = Report::new(&sim, &both.1, &outcome);
        let lost: u64 = report.tasks.iter().map(|t| t.lost).sum();
        prop_assert_eq!(lost, both.0.lost, "every lost task is reported\n{}", text);
        for t in &report.tasks {
            prop_assert_eq!(t.arrived, t.completed + t.failed + t.lost + t.unfinished);
        }
        // Nothing alive is left in a slot no worker or queue knows of.
        for (_, inst) in sim.instances() {
            if let Status::Taken(w) | Status::Working(w) | Status::Waiting { worker: w, .. } = inst.status {
                prop_assert!(sim.held_by(w).is_some());
            }
        }
    }

    /// The explorer with every shortcut it allows finds what the plain search finds, on
    /// scenarios where processes exit, are recycled and are killed (the shortcuts whose
    /// assumptions that breaks are switched off) and on scenarios where memory is only
    /// reported (the shortcuts stay on).
    #[test]
    fn reduced_and_plain_searches_agree(text in memory_scenario(), exact in any::<bool>()) {
        let s = scenario(&text);
        let timing = if exact { Timing::Exact } else { Timing::Any };
        let budget = Budget { max_states: 200_000, ..Budget::default() };
        let fast = explore::decide(&s, timing, Reductions::ALL, Order::DeadlockFirst, &budget, &mut |_| {});
        let plain = explore::search(&s, timing, Reductions::NONE, Order::Shortest, &budget, &mut |_| {});
        if fast.verdict.name() != "inconclusive" && plain.verdict.name() != "inconclusive" {
            prop_assert_eq!(fast.verdict.name(), plain.verdict.name(), "{}", text);
        }
        if s.has_lifecycle() {
            prop_assert!(fast.switched_off.iter().any(|o| o.shortcut == explore::Shortcut::Symmetry));
        }
    }
}

#[test]
fn settings_that_cannot_work_are_warned_about() {
    let warnings = |text: &str| -> Vec<String> {
        let (_, w) = qsim::scenario::parse_with_warnings("t.toml", text, &[]).unwrap();
        w.iter().map(|w| w.to_string()).collect()
    };
    let pool = "[[pool]]\nworkers = 1\nkind = \"process\"\nbase_memory = \"300MB\"\n";
    let task = "[[task]]\nname = \"t\"\nretain = \"800MB\"\nsteps = [{ work = \"1s\" }]\n";
    let w = warnings(&format!("{pool}max_memory = \"1GB\"\n{task}"));
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].starts_with("t.toml:5:14: max_memory 1GB of pool \"default\" is below what a fresh process keeps after a single task (300MB base + up to 800MB kept)"), "{w:?}");
    assert!(warnings(&format!("{pool}max_memory = \"1.1GB\"\n{task}")).is_empty());
    let w = warnings(&format!("[host]\nmemory = \"200MB\"\n{pool}"));
    assert!(
        w[0].contains("host memory 200MB is below a fresh process of 300MB"),
        "{w:?}"
    );
}

#[test]
fn a_member_whose_process_exits_above_its_threshold_never_counts_its_group_down() {
    // Huey runs the chord count-down after the post-execute hook: a process that exits there
    // has stored the member's result, but the callback is never queued.
    let text = r#"
[[pool]]
workers = 2
kind = "process"
base_memory = "100MB"
max_memory = "500MB"

[[task]]
name = "parent"
steps = [{ spawn = "member", count = 2, then = "callback" }]

[[task]]
name = "member"
retain = "450MB"
steps = [{ work = "1s" }]

[[task]]
name = "callback"
steps = [{ work = "1s" }]

[[arrival]]
task = "parent"
at = ["0s"]
"#;
    let (outcome, _, report) = watch(&scenario(text));
    assert!(matches!(outcome, Outcome::Completed));
    assert_eq!(report.tasks[1].completed, 2, "the members' results stand");
    assert_eq!(report.tasks[2].arrived, 0, "the callback is never queued");
    let m = report.memory.unwrap();
    assert!(
        m.findings.iter().any(|f| f.kind == "orphaned_callback"),
        "{:?}",
        m.findings
    );
    // Under the threshold, the same group calls back.
    let (_, _, report) = watch(&scenario(&text.replace("500MB", "600MB")));
    assert_eq!(report.tasks[2].completed, 1);
}

#[test]
fn sizes_are_bounded_so_that_totals_cannot_overflow() {
    let err = parse(
        "t.toml",
        "[[pool]]\nworkers = 1\nbase_memory = \"2TiB\"\n",
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("t.toml:3:15: a size of a process or a task is at most 1TiB"),
        "{err}"
    );
    let err = parse(
        "t.toml",
        "[[pool]]\nworkers = 1\n[[task]]\nname = \"t\"\nretain = \"5TB\"\nsteps = [{ work = \"1s\" }]\n",
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("at most 1TiB"), "{err}");
    // A thousand tasks that each keep 1TiB: what the process keeps saturates at 4TiB.
    let text = r#"
[[pool]]
workers = 1
kind = "process"
base_memory = "1TiB"

[[task]]
name = "t"
retain = "1TiB"
steps = [{ work = "1s" }]

[[arrival]]
task = "t"
every = "1s"
count = 1000
"#;
    let (outcome, _, report) = watch(&scenario(text));
    assert!(matches!(outcome, Outcome::Completed));
    assert_eq!(report.memory.unwrap().pools[0].peak_rss, 4 << 40);
}
