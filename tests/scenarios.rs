//! Every scenario in `scenarios/` states what it shows, and this test holds it to that.
//!
//! Each file starts with a comment block and machine-readable expectation lines:
//!
//! ```text
//! # expect-run: deadlock at 0s           (or: completed at 36s | completed | horizon)
//! # expect-explore: deadlock             (timing "any"; or: deadlock_free)
//! # expect-explore-exact: deadlock       (timing "exact")
//! # expect-finished: 20 completed, 2 failed
//! # expect-blocked-workers: 2            (workers held by the stuck tasks of a deadlock)
//! # expect-lost: 1                        (tasks lost with their process)
//! # expect-restarts: 3                    (processes exited or killed, threads recycled)
//! ```
//!
//! Every file must have an `expect-run` line; the other lines are optional (a file without
//! `expect-explore` is not explored, which is how a large workload such as `mmc.toml` opts out).
//! A run is the canonical one (`qsim run`); `at T` is the instant the run ended (`sim.now()`),
//! or the instant the deadlock formed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use qsim::engine::{self, Event, Limits, Model, Observer, Outcome, Simulation, TaskResult};
use qsim::explore::{self, Budget, Reductions, Timing};
use qsim::scenario::duration::parse_duration;
use qsim::scenario::{format_ticks, Tick};

/// The expectations written at the top of one scenario file.
#[derive(Debug, Default)]
struct Expectations {
    /// Outcome name and, when given, the instant.
    run: Option<(String, Option<Tick>)>,
    /// Verdict name per timing.
    explore: Vec<(Timing, String)>,
    /// Finished tasks: (completed, failed).
    finished: Option<(u64, u64)>,
    /// Workers held by stuck tasks.
    blocked_workers: Option<usize>,
    /// Tasks lost with their process.
    lost: Option<u64>,
    /// Exits, kills and recycled threads.
    restarts: Option<u64>,
}

fn parse_expectations(path: &Path, text: &str) -> Expectations {
    let mut e = Expectations::default();
    let ctx = |line: &str| format!("{}: bad expectation line {line:?}", path.display());
    for line in text.lines() {
        let Some(rest) = line.trim().strip_prefix("# expect-") else {
            continue;
        };
        let (key, value) = rest
            .split_once(':')
            .unwrap_or_else(|| panic!("{}", ctx(line)));
        let value = value.trim();
        match key.trim() {
            "run" => {
                assert!(e.run.is_none(), "{}: two expect-run lines", path.display());
                let (name, at) = match value.split_once(" at ") {
                    Some((name, at)) => {
                        let at = parse_duration(at.trim())
                            .unwrap_or_else(|err| panic!("{}: {err}", ctx(line)));
                        (name.trim(), Some(at))
                    }
                    None => (value, None),
                };
                assert!(
                    [
                        "completed",
                        "horizon",
                        "deadlock",
                        "orphaned_wait",
                        "restart_loop",
                        "event_limit",
                        "stopped"
                    ]
                    .contains(&name),
                    "{}",
                    ctx(line)
                );
                e.run = Some((name.to_string(), at));
            }
            k @ ("explore" | "explore-exact") => {
                assert!(
                    ["deadlock", "deadlock_free", "inconclusive"].contains(&value),
                    "{}",
                    ctx(line)
                );
                let timing = if k == "explore" {
                    Timing::Any
                } else {
                    Timing::Exact
                };
                assert!(
                    e.explore.iter().all(|(t, _)| *t != timing),
                    "{}: two expect-{k} lines",
                    path.display()
                );
                e.explore.push((timing, value.to_string()));
            }
            "finished" => {
                // "20 completed, 2 failed"
                let mut completed = None;
                let mut failed = None;
                for part in value.split(',') {
                    let (n, what) = part
                        .trim()
                        .split_once(' ')
                        .unwrap_or_else(|| panic!("{}", ctx(line)));
                    let n: u64 = n.parse().unwrap_or_else(|_| panic!("{}", ctx(line)));
                    match what.trim() {
                        "completed" => completed = Some(n),
                        "failed" => failed = Some(n),
                        _ => panic!("{}", ctx(line)),
                    }
                }
                e.finished = Some((completed.unwrap_or(0), failed.unwrap_or(0)));
            }
            "lost" => e.lost = Some(value.parse().unwrap_or_else(|_| panic!("{}", ctx(line)))),
            "restarts" => {
                e.restarts = Some(value.parse().unwrap_or_else(|_| panic!("{}", ctx(line))))
            }
            "blocked-workers" => {
                e.blocked_workers = Some(value.parse().unwrap_or_else(|_| panic!("{}", ctx(line))));
            }
            _ => panic!("{}: unknown expectation key", ctx(line)),
        }
    }
    e
}

/// Counts finished tasks by result, and by type for the failure message.
#[derive(Default)]
struct Finished {
    completed: u64,
    failed: u64,
    failed_by_type: BTreeMap<String, u64>,
    lost: u64,
    restarts: u64,
}

impl Observer for Finished {
    fn event(&mut self, sim: &Simulation<'_>, event: &Event) {
        match *event {
            Event::Lost { .. } => self.lost += 1,
            Event::Exited { .. } | Event::Recycled { .. } => self.restarts += 1,
            _ => {}
        }
        if let Event::Finished { task, result } = *event {
            match result {
                TaskResult::Completed => self.completed += 1,
                TaskResult::Failed => {
                    self.failed += 1;
                    let ty = &sim.scenario().tasks[sim.instance(task).task].name;
                    *self.failed_by_type.entry(ty.clone()).or_default() += 1;
                }
            }
        }
    }
}

fn scenario_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    files
}

/// Checks one file; returns the problems found (empty when it behaves as it says).
fn check(path: &Path) -> Vec<String> {
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let text = std::fs::read_to_string(path).unwrap();
    let mut problems = Vec::new();
    assert!(
        text.starts_with('#'),
        "{name}: must start with a comment saying what it shows"
    );
    let expect = parse_expectations(path, &text);
    let Some((run_name, run_at)) = &expect.run else {
        return vec![format!("{name}: no `# expect-run:` line")];
    };
    let scenario = match qsim::scenario::load(path, &[]) {
        Ok(s) => s,
        Err(e) => return vec![format!("{name}: does not load: {e}")],
    };

    let model = Model::new(scenario.clone());
    let mut finished = Finished::default();
    let (outcome, sim) = engine::simulate(&model, &mut finished, Limits::default());
    let end = match &outcome {
        Outcome::Deadlock(d) => d.time,
        _ => sim.now(),
    };
    eprintln!(
        "{name}: run {} at {} ({} completed, {} failed {:?})",
        outcome.name(),
        format_ticks(end),
        finished.completed,
        finished.failed,
        finished.failed_by_type
    );
    if outcome.name() != run_name {
        problems.push(format!(
            "{name}: run ended {} at {}, expected {run_name}",
            outcome.name(),
            format_ticks(end)
        ));
    } else if let Some(at) = run_at {
        if end != *at {
            problems.push(format!(
                "{name}: run ended {run_name} at {}, expected at {}",
                format_ticks(end),
                format_ticks(*at)
            ));
        }
    }
    if let Some((completed, failed)) = expect.finished {
        if (finished.completed, finished.failed) != (completed, failed) {
            problems.push(format!(
                "{name}: {} completed and {} failed tasks, expected {completed} and {failed}",
                finished.completed, finished.failed
            ));
        }
    }
    for (what, expected, seen) in [
        ("lost", expect.lost, finished.lost),
        ("restarts", expect.restarts, finished.restarts),
    ] {
        if expected.is_some_and(|n| n != seen) {
            problems.push(format!(
                "{name}: {seen} {what}, expected {}",
                expected.unwrap_or(0)
            ));
        }
    }
    if let Some(n) = expect.blocked_workers {
        match &outcome {
            Outcome::Deadlock(d) if d.holders.len() == n => {}
            Outcome::Deadlock(d) => problems.push(format!(
                "{name}: {} workers held by stuck tasks, expected {n}",
                d.holders.len()
            )),
            _ => problems.push(format!("{name}: expect-blocked-workers without a deadlock")),
        }
    }

    for (timing, verdict) in &expect.explore {
        let budget = Budget {
            max_states: 2_000_000,
            max_time: Some(std::time::Duration::from_secs(60)),
            ..Budget::default()
        };
        // As `qsim explore` decides: counting first, then the depth-first search.
        let x = explore::decide(
            &scenario,
            *timing,
            Reductions::ALL,
            explore::Order::DeadlockFirst,
            &budget,
            &mut |_| {},
        );
        eprintln!(
            "{name}: explore --timing {}: {} ({} states, {} transitions, {} completed states)",
            timing.name(),
            x.verdict.name(),
            x.states,
            x.transitions,
            x.completed_states
        );
        if x.verdict.name() != verdict {
            problems.push(format!(
                "{name}: explore --timing {} found {} ({} states), expected {verdict}",
                timing.name(),
                x.verdict.name(),
                x.states
            ));
        }
    }
    problems
}

#[test]
fn every_scenario_behaves_as_its_header_says() {
    let files = scenario_files();
    assert!(!files.is_empty(), "no scenarios/*.toml");
    let problems: Vec<String> = files.iter().flat_map(|f| check(f)).collect();
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

#[test]
fn the_incident_deadlocks_and_more_workers_move_the_limit() {
    // The numbers the fanout.toml header quotes for `--set pool.default.workers=4`.
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/fanout.toml");
    let scenario = qsim::scenario::load(&path, &["pool.default.workers=4".to_string()]).unwrap();
    let model = Model::new(scenario);
    let mut finished = Finished::default();
    let (outcome, sim) = engine::simulate(&model, &mut finished, Limits::default());
    assert_eq!(outcome.name(), "completed");
    assert_eq!(sim.now(), parse_duration("36s").unwrap());
    assert_eq!(finished.completed, 22);
    assert_eq!(sim.created().iter().sum::<u64>(), 22);
}

#[test]
fn the_priority_race_goes_both_ways() {
    // priority_race.toml says the same-instant orders other than the canonical one complete:
    // with random tie-breaking some runs deadlock and some complete.
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/priority_race.toml");
    let scenario = qsim::scenario::load(&path, &[]).unwrap();
    let mc = explore::random::monte_carlo(&scenario, 200, 1, None, Limits::default());
    eprintln!(
        "priority_race: {} runs, {} deadlocked, {} completed",
        mc.runs, mc.deadlocks, mc.completed
    );
    assert!(mc.deadlocks > 0, "no random run deadlocked");
    assert!(mc.completed > 0, "no random run completed");
    assert_eq!(mc.deadlocks + mc.completed, mc.runs);
}

#[test]
fn nested_fanout_needs_seven_workers() {
    // The numbers the nested_fanout.toml header quotes.
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/nested_fanout.toml");
    let with = |workers: u32| {
        qsim::scenario::load(&path, &[format!("pool.default.workers={workers}")]).unwrap()
    };
    let deadlocks_at_0 = |scenario| {
        let model = Model::new(scenario);
        let (outcome, _) = engine::simulate(&model, &mut (), Limits::default());
        match outcome {
            Outcome::Deadlock(d) => assert_eq!(d.time, 0),
            other => panic!("{}", other.name()),
        }
    };
    deadlocks_at_0(with(3));
    deadlocks_at_0(
        qsim::scenario::load(&path, &[r#"arrival.0.at=["0s","0s"]"#.to_string()]).unwrap(),
    );
    let verdict = |workers: u32| {
        explore::explore(
            &with(workers),
            Timing::Any,
            Reductions::ALL,
            &Budget::default(),
            &mut |_| {},
        )
        .verdict
        .name()
    };
    assert_eq!(verdict(6), "deadlock");
    assert_eq!(verdict(7), "deadlock_free");
}

/// The numbers after `marker` in `text`: `"fix 2 in"` with marker `"fix "` gives 2.
fn numbers_after(text: &str, marker: &str) -> Vec<u32> {
    let lower = text.to_lowercase();
    lower
        .match_indices(marker)
        .filter_map(|(i, _)| {
            let digits: String = lower[i + marker.len()..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse().ok()
        })
        .collect()
}

#[test]
fn background_references_exist() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/background.md");
    let background = std::fs::read_to_string(&path).expect("docs/background.md");
    let sections = numbers_after(&background, "\n## ");
    let fixes_at = background
        .find("### The fixes that were weighed")
        .expect("a list of fixes");
    let fixes_end = background[fixes_at..]
        .find("\n### ")
        .map_or(background.len(), |e| fixes_at + e + 1);
    let fixes = numbers_after(&background[fixes_at..fixes_end], "\n");
    // Numbered from 1, in order, so that a number cited names one section or fix.
    let counted = |n: &[u32]| !n.is_empty() && n.iter().copied().eq(1..=n.len() as u32);
    assert!(
        counted(&sections),
        "sections of docs/background.md: {sections:?}"
    );
    assert!(counted(&fixes), "fixes of docs/background.md: {fixes:?}");
    let mut cited = 0;
    for path in scenario_files() {
        let text = std::fs::read_to_string(&path).unwrap();
        for line in text.lines().take_while(|l| l.starts_with('#')) {
            let lower = line.to_lowercase();
            if !lower.contains("background") {
                continue;
            }
            let at = |what: &str| format!("{}: {line:?} cites {what}", path.display());
            assert!(
                lower.contains("docs/background.md"),
                "{}",
                at("a file other than docs/background.md")
            );
            cited += 1;
            for n in numbers_after(line, "docs/background.md, ") {
                assert!(sections.contains(&n), "{}", at(&format!("section {n}")));
            }
            for n in numbers_after(line, "fix ") {
                assert!(fixes.contains(&n), "{}", at(&format!("fix {n}")));
            }
            // Quoted advice is quoted from the page.
            for quote in line.split('"').skip(1).step_by(2) {
                assert!(
                    background.to_lowercase().contains(&quote.to_lowercase()),
                    "{}",
                    at(&format!("{quote:?}, which docs/background.md does not say"))
                );
            }
        }
    }
    assert!(
        cited >= 9,
        "the scenarios cite docs/background.md {cited} times"
    );
}
