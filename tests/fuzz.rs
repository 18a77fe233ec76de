//! A fuzzer over parsing, validation and bounded runs (issue 14, §7).
//!
//! The toolchain is stable Rust, so instead of cargo-fuzz this is a proptest generator of
//! scenario texts, from two sources:
//!
//! - **structured**: random scenarios written out as TOML, most of them valid, many with
//!   hostile values: huge, negative, fractional and NaN numbers, empty arrays, unknown keys,
//!   odd names, duplicate tables, wrong types, and long chains of calls and spawns;
//! - **mutated**: the files of `scenarios/`, `tests/bad_scenarios/` and `tests/regressions/`,
//!   each with a few byte and line mutations (lines deleted, repeated, swapped or inserted,
//!   numbers replaced by hostile ones, bytes changed).
//!
//! Each text goes through [`check`]: `qsim::scenario::parse` returns, never panics, and twice
//! gives the same answer. An error names the file, a line and a column inside the text, and
//! reads like qsim's other messages (lower case, no final period, no Rust type in it). A
//! valid scenario is run with small limits (10,000 events, 10,000 tasks), explored with a
//! small budget (2,000 states, 1 s) under each timing it allows, with and without reductions,
//! and everything is rendered as text and JSON: nothing panics, a run or a search done twice
//! gives the same bytes, and the two searches agree on a verdict when both reach one.
//!
//! How much: `QSIM_FUZZ_CASES=N` cases of each source (default 64, so that `cargo test` stays
//! quick), or `QSIM_FUZZ_SECONDS=N` to generate cases for N seconds (CI runs 90 s, see
//! `.ci/run`). `QSIM_FUZZ_SEED=S` draws another sequence; without it every run draws the same
//! one. A failure prints the shrunk input; `docs/fuzzing.md` says how to make it a regression
//! test. A case that runs longer than a minute aborts the test, printing its input.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, Once};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};

use qsim::engine::{simulate, Limits, Model};
use qsim::explore::{decide, Budget, Order, Reductions, Timing, Verdict};
use qsim::memory::MemoryLimit;
use qsim::report::{self, ExplorationReport, Report, Stats};
use qsim::scenario::{Scenario, Step};
use qsim::Error;

/// Limits of a run: far below the defaults, so that a case takes milliseconds.
const MAX_EVENTS: u64 = 10_000;
const MAX_TASKS: u64 = 10_000;
/// Budget of a search.
const MAX_STATES: u64 = 2_000;
const MAX_TIME: Duration = Duration::from_secs(1);
/// A memory limit for runs and searches, so that a case that allocates without bound is
/// stopped rather than taking the machine's memory.
const MAX_MEMORY_MB: u64 = 4096;
/// A case that takes longer has hung: the test aborts and prints its input.
const CASE_TIMEOUT: Duration = Duration::from_secs(60);

/// The default number of cases of each source.
const DEFAULT_CASES: u32 = 64;

// ---------------------------------------------------------------------------------------------
// The checks

/// Everything the fuzzer holds a scenario text to (see the module docs).
fn check(file: &str, text: &str) -> Result<(), TestCaseError> {
    let _watch = Watch::start(text);
    let parsed = qsim::scenario::parse(file, text, &[]);
    let again = qsim::scenario::parse(file, text, &[]);
    prop_assert_eq!(
        format!("{parsed:?}"),
        format!("{again:?}"),
        "parsing twice gave two answers"
    );
    match parsed {
        Err(e) => check_error(file, text, &e),
        Ok(scenario) => {
            check_run(&scenario)?;
            check_explore(file, &scenario)
        }
    }
}

/// Words of Rust or serde that a message about a scenario must not show.
const INTERNAL_WORDS: &[&str] = &[
    "struct ", "enum ", "variant", "i128", "u128", "i64", "u64", "i32", "u32", "usize", "f64",
    "Decl", "serde", "Option<", "Vec<", "Spanned", "panicked", "` as ",
];

fn check_error(file: &str, text: &str, e: &Error) -> Result<(), TestCaseError> {
    let shown = e.to_string();
    let Error::Scenario(e) = e else {
        prop_assert!(shown.contains(file), "an error that names no file: {shown}");
        return Ok(());
    };
    let l = &e.location;
    prop_assert_eq!(&l.file, file);
    let lines: Vec<&str> = text.split('\n').collect();
    prop_assert!(
        l.line >= 1 && l.line <= lines.len(),
        "line {} outside the text ({} lines): {shown}",
        l.line,
        lines.len()
    );
    prop_assert_eq!(
        l.source_line.as_str(),
        lines[l.line - 1].trim_end_matches('\r'),
        "the line shown is not line {} of the text",
        l.line
    );
    prop_assert!(
        l.column >= 1 && l.column <= l.source_line.chars().count() + 1,
        "column {} outside line {:?}: {shown}",
        l.column,
        l.source_line
    );
    prop_assert!(
        shown.starts_with(&format!("{file}:{}:{}: ", l.line, l.column)),
        "{shown}"
    );
    let m = &e.message;
    prop_assert!(!m.trim().is_empty(), "an empty message");
    prop_assert!(
        !m.starts_with(char::is_uppercase),
        "a message starts with a capital: {m}"
    );
    prop_assert!(
        !m.ends_with('.') || m.ends_with("..."),
        "a message ends with a period: {m}"
    );
    // What the user wrote is quoted; the rest of the message is qsim's own words.
    let own_words: String = m.split('"').step_by(2).collect::<Vec<_>>().join(" ");
    for word in INTERNAL_WORDS {
        prop_assert!(
            !own_words.contains(word),
            "a message shows {:?}: {}",
            word,
            m
        );
    }
    Ok(())
}

fn memory() -> Option<MemoryLimit> {
    Some(MemoryLimit::megabytes(MAX_MEMORY_MB))
}

/// One bounded run, its report as text and JSON.
fn run_once(scenario: &Scenario) -> (Report, String) {
    let model = Model::new(scenario.clone());
    let mut stats = Stats::new(&model.scenario);
    let limits = Limits {
        max_events: MAX_EVENTS,
        max_tasks: MAX_TASKS,
        max_memory: memory(),
    };
    let (outcome, sim) = simulate(&model, &mut stats, limits);
    let report = Report::new(&sim, &stats, &outcome);
    let shown = format!(
        "{}\n{}",
        report::text::render(&report),
        report::json::render(&report)
    );
    (report, shown)
}

fn check_run(scenario: &Scenario) -> Result<(), TestCaseError> {
    let (report, shown) = run_once(scenario);
    for p in &report.pools {
        if let Some(w) = p.percent {
            let sum = u32::from(w.busy)
                + u32::from(w.blocked)
                + u32::from(w.idle)
                + u32::from(w.restarting);
            prop_assert_eq!(sum, 100, "pool {} shows shares of {}%", p.name, sum);
        }
    }
    for t in &report.tasks {
        prop_assert_eq!(
            t.arrived,
            t.completed + t.failed + t.lost + t.unfinished,
            "{}",
            t.name
        );
    }
    let (again, shown_again) = run_once(scenario);
    // Where the process's memory stopped a run depends on everything else in the process.
    if report.outcome != "memory_limit" && again.outcome != "memory_limit" {
        prop_assert_eq!(shown, shown_again, "two runs of one scenario differ");
    }
    Ok(())
}

/// One bounded search, its report as text and JSON; `None` when a budget of the machine
/// (time, memory) stopped it, where it stops depending on the machine.
fn explore_once(
    file: &str,
    scenario: &Scenario,
    timing: Timing,
    reductions: Reductions,
) -> (Verdict, Option<String>) {
    let budget = Budget {
        max_states: MAX_STATES,
        max_time: Some(MAX_TIME),
        max_memory: memory(),
        stop: None,
    };
    let e = decide(
        scenario,
        timing,
        reductions,
        Order::DeadlockFirst,
        &budget,
        &mut |_| {},
    );
    let verdict = e.verdict.clone();
    // The one thing a search does not repeat: its wall-clock time.
    let e = qsim::explore::Exploration {
        elapsed: Duration::ZERO,
        ..e
    };
    let report = ExplorationReport::new(scenario, timing, reductions, e);
    if let Verdict::Deadlock { schedule, .. } = &verdict {
        // The story is told by replaying the schedule: it must fit the scenario.
        assert_eq!(
            report.story.steps.len(),
            schedule.steps.len(),
            "the counterexample does not replay"
        );
    }
    let shown = format!(
        "{}\n{}",
        report::text::exploration(&report, Path::new(file), None),
        report::json::exploration(&report)
    );
    let by_machine = matches!(&verdict, Verdict::Inconclusive { reason }
        if !reason.starts_with("--max-states"));
    (verdict, (!by_machine).then_some(shown))
}

/// Task instances a run of `scenario` creates at most, an endless stream counting as
/// `ENDLESS` arrivals (a search of 2,000 states meets no more).
fn instances(scenario: &Scenario) -> u64 {
    const ENDLESS: u64 = 2_000;
    // Per task type, the instances one instance leads to; validation refused cycles, so a
    // type only spawns types whose count is known once every type is counted in turn.
    let n = scenario.tasks.len();
    let mut per: Vec<Option<u64>> = vec![None; n];
    for _ in 0..=n {
        for i in 0..n {
            if per[i].is_some() {
                continue;
            }
            let mut total = Some(1u64);
            for step in &scenario.tasks[i].steps {
                match *step {
                    Step::Spawn { task, count, then } => {
                        let children = per[task].map(|c| c.saturating_mul(u64::from(count)));
                        let callback = then.map_or(Some(0), |t| per[t]);
                        total = match (total, children, callback) {
                            (Some(t), Some(c), Some(b)) => {
                                Some(t.saturating_add(c).saturating_add(b))
                            }
                            _ => None,
                        };
                    }
                    Step::Work(_) | Step::Wait { .. } => {}
                }
            }
            per[i] = total;
        }
    }
    scenario
        .arrivals
        .iter()
        .map(|a| {
            let tree = per[a.task].unwrap_or(u64::MAX);
            tree.saturating_mul(a.pattern.count().unwrap_or(ENDLESS))
        })
        .fold(0, u64::saturating_add)
}

fn check_explore(file: &str, scenario: &Scenario) -> Result<(), TestCaseError> {
    // A state holds every live task, and the search looks at its time budget every 1024
    // states: with millions of tasks, 1024 states take minutes (a known problem, reported
    // with the input that showed it). Searches are kept to the run's task limit.
    if instances(scenario) > MAX_TASKS {
        return Ok(());
    }
    for timing in [Timing::Any, Timing::Exact] {
        // What `qsim explore` accepts for an exhaustive search.
        let bounded = scenario.arrivals_are_finite()
            || (timing == Timing::Exact && scenario.horizon.is_some());
        if !bounded {
            continue;
        }
        let (reduced, shown) = explore_once(file, scenario, timing, Reductions::ALL);
        let (_, shown_again) = explore_once(file, scenario, timing, Reductions::ALL);
        if let (Some(a), Some(b)) = (&shown, &shown_again) {
            prop_assert_eq!(a, b, "two searches under {} timing differ", timing.name());
        }
        let (naive, _) = explore_once(file, scenario, timing, Reductions::NONE);
        let conclusive = |v: &Verdict| !matches!(v, Verdict::Inconclusive { .. });
        if conclusive(&reduced) && conclusive(&naive) {
            prop_assert_eq!(
                reduced.name(),
                naive.name(),
                "under {} timing the reduced and the naive search disagree",
                timing.name()
            );
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// A watchdog for cases that hang

/// The longest a case has taken so far, to print with the counts.
static SLOWEST: Mutex<Duration> = Mutex::new(Duration::ZERO);

/// The case each test thread is running, and since when.
static RUNNING: Mutex<Option<HashMap<ThreadId, (Instant, String)>>> = Mutex::new(None);

/// Registers the current thread's case until dropped; starts the watchdog once.
struct Watch;

impl Watch {
    fn start(text: &str) -> Watch {
        static WATCHDOG: Once = Once::new();
        WATCHDOG.call_once(|| {
            std::thread::spawn(|| loop {
                std::thread::sleep(Duration::from_secs(1));
                let running = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
                for (started, text) in running.iter().flat_map(|m| m.values()) {
                    if started.elapsed() > CASE_TIMEOUT {
                        eprintln!(
                            "a fuzz case ran longer than {CASE_TIMEOUT:?}; its input:\n{text}"
                        );
                        std::process::abort();
                    }
                }
            });
        });
        let mut running = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
        running.get_or_insert_with(HashMap::new).insert(
            std::thread::current().id(),
            (Instant::now(), text.to_string()),
        );
        Watch
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let mut running = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
        let case = running
            .as_mut()
            .and_then(|m| m.remove(&std::thread::current().id()));
        if let Some((started, _)) = case {
            let mut slowest = SLOWEST.lock().unwrap_or_else(|e| e.into_inner());
            *slowest = (*slowest).max(started.elapsed());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Structured scenarios with hostile values

/// A scenario text; shown as itself, so that a failure prints a file to save.
#[derive(Clone)]
struct Text(String);

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\n{}", self.0)
    }
}

/// A TOML string literal of `s`, escaped.
fn quoted(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn pick(values: &'static [&'static str]) -> BoxedStrategy<String> {
    proptest::sample::select(values)
        .prop_map(str::to_string)
        .boxed()
}

/// A whole number: mostly small, or, when `hostile`, anything TOML or qsim might choke on.
fn number(hostile: bool) -> BoxedStrategy<String> {
    let small = (0..5u32).prop_map(|n| n.to_string());
    if !hostile {
        return small.boxed();
    }
    prop_oneof![
        3 => small,
        1 => pick(&[
            "-1", "0", "100000", "100001", "1000000", "1000001", "2147483647", "2147483648",
            "-2147483649", "4294967296", "9223372036854775807", "-9223372036854775808",
            "18446744073709551615", "99999999999999999999", "1.5", "-0.0", "1e400", "1e-400",
            "nan", "-nan", "inf", "-inf", "0x10", "0o7", "0b1", "1_000", "\"3\"",
            "\"18446744073709551616\"", "\"\"", "[]", "[1]", "{}", "true", "1979-05-27",
        ]),
    ]
    .boxed()
}

/// A fixed duration.
fn fixed(hostile: bool) -> BoxedStrategy<String> {
    let fine = pick(&[
        "\"0s\"",
        "\"1s\"",
        "\"250ms\"",
        "\"4s\"",
        "\"1.5s\"",
        "\"2m\"",
        "0",
        "2.5",
        "\"0.1s\"",
    ]);
    if !hostile {
        return fine;
    }
    prop_oneof![
        3 => fine,
        1 => pick(&[
            "\"-1s\"", "\"-0s\"", "\"1e400s\"", "\"18446744073709551615ns\"",
            "\"4611686018427387904ns\"", "\"4611686018427387905ns\"", "\"146y\"", "\"5\"",
            "\"\"", "\"s\"", "\".s\"", "\"1..5s\"", "\"1_s\"", "\"_1s\"", "\"1µs\"", "\"1 s\"",
            "\"9999999999999999999999h\"", "\"0.0000000001ns\"", "nan", "inf", "-inf", "-3",
            "1e308", "1e-320", "-0.0", "9223372036854775807", "[]", "{}", "true",
        ]),
    ]
    .boxed()
}

/// A duration that may be a distribution.
fn duration(hostile: bool) -> BoxedStrategy<String> {
    let d = || fixed(hostile);
    let sigma = if hostile {
        pick(&["0", "0.5", "1", "-1", "nan", "inf", "1e308", "\"1s\"", "40"])
    } else {
        pick(&["0", "0.5", "1"])
    };
    // Valid scenarios keep min <= max.
    let (low, high) = if hostile {
        (d(), d())
    } else {
        (
            pick(&["0", "\"0s\"", "\"1s\""]),
            pick(&["\"1s\"", "\"4s\"", "5"]),
        )
    };
    let dist = prop_oneof![
        d().prop_map(|m| format!("{{ dist = \"exp\", mean = {m} }}")),
        (low, high).prop_map(|(a, b)| format!("{{ dist = \"uniform\", min = {a}, max = {b} }}")),
        (d(), d()).prop_map(|(m, s)| format!("{{ dist = \"normal\", mean = {m}, sd = {s} }}")),
        (d(), sigma)
            .prop_map(|(m, s)| format!("{{ dist = \"lognormal\", median = {m}, sigma = {s} }}")),
    ];
    if !hostile {
        return prop_oneof![4 => d(), 1 => dist].boxed();
    }
    prop_oneof![
        6 => d(),
        3 => dist,
        1 => pick(&[
            "{ dist = \"pareto\", mean = \"1s\" }", "{ dist = \"exp\" }", "{ mean = \"1s\" }",
            "{ dist = \"exp\", mean = \"1s\", sd = \"1s\" }", "{}", "{ dist = 3 }",
        ]),
    ]
    .boxed()
}

/// A reference to one of `names` (already quoted), or, when `hostile`, now and then an odd
/// name: unknown, empty, with spaces or quotes, very long, or not a string at all.
fn reference(names: Vec<String>, hostile: bool) -> BoxedStrategy<String> {
    // With nothing to name (a hostile scenario without tasks), a name of nothing.
    let names = if names.is_empty() {
        vec![quoted("t0")]
    } else {
        names
    };
    let known = proptest::sample::select(names);
    if !hostile {
        return known.boxed();
    }
    prop_oneof![
        12 => known,
        1 => pick(&["", " ", "a b", "ü", "t#1", "pool/1", "\"", "\\", "a\nb", "default", "nope"])
            .prop_map(|n| quoted(&n)),
        1 => Just(quoted(&"x".repeat(300))),
        1 => pick(&["3", "[]", "{}", "true"]),
    ]
    .boxed()
}

/// The names of the `n` items `prefix0`, `prefix1`..., quoted.
fn names(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| quoted(&format!("{prefix}{i}"))).collect()
}

/// How many of each table a scenario has.
#[derive(Clone, Copy, Debug)]
struct Shape {
    queues: usize,
    pools: usize,
    tasks: usize,
    arrivals: usize,
    hostile: bool,
}

/// One step of task `i`. Valid scenarios only spawn, call or call back later tasks, so that no
/// cycle is refused; hostile ones may name any task, and write malformed steps.
fn step(shape: Shape, i: usize) -> BoxedStrategy<String> {
    let hostile = shape.hostile;
    let later = if hostile || i + 1 >= shape.tasks {
        names("t", shape.tasks)
    } else {
        names("t", shape.tasks)[i + 1..].to_vec()
    };
    let task = || reference(later.clone(), hostile);
    let count = prop_oneof![3 => Just(None), 3 => (1..4u32).prop_map(|n| Some(n.to_string())), 1 => number(hostile).prop_map(Some)];
    let wait_value = if hostile {
        pick(&["\"children\"", "\"children\"", "\"child\"", "3"])
    } else {
        pick(&["\"children\""])
    };
    let on_timeout = if hostile {
        pick(&["\"fail\"", "\"continue\"", "\"retry\""])
    } else {
        pick(&["\"fail\"", "\"continue\""])
    };
    let work = duration(hostile).prop_map(|d| format!("{{ work = {d} }}"));
    let wait = (
        wait_value,
        proptest::option::weighted(0.4, (duration(hostile), proptest::option::of(on_timeout))),
    )
        .prop_map(|(w, timeout)| match timeout {
            None => format!("{{ wait = {w} }}"),
            Some((d, None)) => format!("{{ wait = {w}, timeout = {d} }}"),
            Some((d, Some(o))) => format!("{{ wait = {w}, timeout = {d}, on_timeout = {o} }}"),
        });
    if !hostile && i + 1 >= shape.tasks {
        // The last task type has no later one to spawn or call.
        return prop_oneof![3 => work, 1 => wait].boxed();
    }
    let spawn =
        (task(), count, proptest::option::weighted(0.2, task())).prop_map(|(t, count, then)| {
            let count = count.map_or(String::new(), |c| format!(", count = {c}"));
            let then = then.map_or(String::new(), |t| format!(", then = {t}"));
            format!("{{ spawn = {t}{count}{then} }}")
        });
    let steps = prop_oneof![
        3 => work,
        3 => spawn,
        3 => wait,
        1 => task().prop_map(|t| format!("{{ call = {t} }}")),
    ];
    if !hostile {
        return steps.boxed();
    }
    prop_oneof![
        10 => steps,
        1 => pick(&[
            "{}", "{ work = \"1s\", spawn = \"t1\" }", "{ work = \"1s\", count = 2 }",
            "{ wait = \"children\", on_timeout = \"fail\" }", "{ sleep = \"1s\" }", "\"work\"",
            "[]", "{ spawn = \"t1\", count = 0 }", "{ call = \"t0\" }",
        ]),
    ]
    .boxed()
}

/// The queues a task may be put on or a pool consume: `default` and the declared ones.
fn queue_names(shape: Shape) -> Vec<String> {
    let mut q = vec![quoted("default")];
    q.extend(names("q", shape.queues));
    q
}

/// A size of memory: mostly plain, or, when `hostile`, anything the size parser might choke on.
fn size(hostile: bool) -> BoxedStrategy<String> {
    let plain = pick(&[
        "0",
        "\"100MB\"",
        "\"300MB\"",
        "\"1GB\"",
        "\"1.5GB\"",
        "\"512KiB\"",
    ]);
    if !hostile {
        return plain;
    }
    prop_oneof![
        4 => plain,
        1 => pick(&[
            "-1", "1.5", "\"\"", "\"MB\"", "\"1e3MB\"", "\"18446744073709551615\"",
            "\"20000000000TB\"", "\"2 megs\"", "nan", "true", "18446744073709551615",
        ]),
    ]
    .boxed()
}

/// Optional memory keys of a pool (docs/memory.md).
fn pool_memory(hostile: bool) -> BoxedStrategy<String> {
    (
        proptest::option::weighted(0.3, pick(&["\"thread\"", "\"process\""])),
        proptest::option::weighted(0.3, size(hostile)),
        proptest::option::weighted(0.3, size(hostile)),
        proptest::option::weighted(0.2, number(hostile)),
        proptest::option::weighted(0.2, duration(hostile)),
        proptest::option::weighted(0.2, pick(&["\"none\"", "\"after_task\""])),
    )
        .prop_map(|(kind, base, max, tasks, restart, gc)| {
            let mut p = String::new();
            for (key, value) in [
                ("kind", kind),
                ("base_memory", base),
                ("max_memory", max),
                ("max_tasks", tasks),
                ("restart", restart),
                ("gc", gc),
            ] {
                if let Some(v) = value {
                    p += &format!("{key} = {v}\n");
                }
            }
            p
        })
        .boxed()
}

/// Optional memory keys of a task.
fn task_memory(hostile: bool) -> BoxedStrategy<String> {
    let fraction = if hostile {
        pick(&["0", "0.5", "1", "1.5", "-0.1", "nan", "\"half\""])
    } else {
        pick(&["0", "0.5", "1"])
    };
    (
        proptest::option::weighted(0.3, size(hostile)),
        proptest::option::weighted(0.3, prop_oneof![size(hostile), fraction.clone()]),
        proptest::option::weighted(0.2, fraction),
        proptest::option::weighted(0.2, pick(&["true", "false"])),
    )
        .prop_map(|(memory, retain, collectable, acks_late)| {
            let mut t = String::new();
            for (key, value) in [
                ("memory", memory),
                ("retain", retain),
                ("collectable", collectable),
                ("acks_late", acks_late),
            ] {
                if let Some(v) = value {
                    t += &format!("{key} = {v}\n");
                }
            }
            t
        })
        .boxed()
}

fn task_table(shape: Shape, i: usize) -> BoxedStrategy<String> {
    let hostile = shape.hostile;
    let steps_len = if hostile { 0..6usize } else { 1..5usize };
    let name = if hostile {
        // Now and then the name of another task: a duplicate.
        prop_oneof![8 => Just(quoted(&format!("t{i}"))), 1 => reference(names("t", shape.tasks), true)].boxed()
    } else {
        Just(quoted(&format!("t{i}"))).boxed()
    };
    let priority = if hostile {
        number(true)
    } else {
        (-2..3i32).prop_map(|p| p.to_string()).boxed()
    };
    (
        name,
        proptest::option::weighted(0.5, reference(queue_names(shape), hostile)),
        proptest::option::weighted(0.3, priority),
        vec(step(shape, i), steps_len),
        task_memory(hostile),
    )
        .prop_map(|(name, queue, priority, steps, memory)| {
            let mut t = format!("[[task]]\nname = {name}\n{memory}");
            if let Some(q) = queue {
                t += &format!("queue = {q}\n");
            }
            if let Some(p) = priority {
                t += &format!("priority = {p}\n");
            }
            t += &format!("steps = [\n  {}\n]\n", steps.join(",\n  "));
            t
        })
        .boxed()
}

/// Pool `j`; pool 0 consumes every queue, so that every task has a worker.
fn pool_table(shape: Shape, j: usize) -> BoxedStrategy<String> {
    let hostile = shape.hostile;
    let workers = if hostile {
        prop_oneof![3 => (1..5u32).prop_map(|n| n.to_string()), 1 => number(true)].boxed()
    } else {
        (1..5u32).prop_map(|n| n.to_string()).boxed()
    };
    let all = queue_names(shape);
    let queues = if hostile {
        vec(reference(all, true), 0..4).prop_map(Some).boxed()
    } else if j == 0 {
        // Every queue, in some order; `default` may be left to the default.
        Just(all)
            .prop_shuffle()
            .prop_map(|q| (q.len() > 1).then_some(q))
            .boxed()
    } else {
        proptest::sample::subsequence(all.clone(), 1..=all.len())
            .prop_shuffle()
            .prop_map(Some)
            .boxed()
    };
    let name = if j == 0 {
        "default".to_string()
    } else {
        format!("p{j}")
    };
    let name = if hostile {
        prop_oneof![6 => Just(Some(quoted(&name))), 1 => Just(None), 1 => reference(vec![quoted("default")], true).prop_map(Some)].boxed()
    } else {
        Just(Some(quoted(&name))).boxed()
    };
    (name, workers, queues, pool_memory(hostile))
        .prop_map(|(name, workers, queues, memory)| {
            let mut p = format!("[[pool]]\n{memory}");
            if let Some(n) = name {
                p += &format!("name = {n}\n");
            }
            p += &format!("workers = {workers}\n");
            if let Some(q) = queues {
                p += &format!("queues = [{}]\n", q.join(", "));
            }
            p
        })
        .boxed()
}

fn queue_table(shape: Shape, k: usize) -> BoxedStrategy<String> {
    let hostile = shape.hostile;
    let discipline = if hostile {
        pick(&["\"fifo\"", "\"lifo\"", "\"priority\"", "\"random\"", "1"])
    } else {
        pick(&["\"fifo\"", "\"lifo\"", "\"priority\""])
    };
    let name = if hostile {
        reference(queue_names(shape), true)
    } else {
        Just(quoted(&format!("q{k}"))).boxed()
    };
    (name, proptest::option::of(discipline))
        .prop_map(|(name, d)| {
            let d = d.map_or(String::new(), |d| format!("discipline = {d}\n"));
            format!("[[queue]]\nname = {name}\n{d}")
        })
        .boxed()
}

fn arrival_table(shape: Shape) -> BoxedStrategy<String> {
    let hostile = shape.hostile;
    let at = vec(fixed(hostile), 0..4).prop_map(|a| format!("at = [{}]\n", a.join(", ")));
    let count = proptest::option::weighted(
        0.9,
        prop_oneof![3 => (0..4u32).prop_map(|n| n.to_string()), 1 => number(hostile)],
    );
    let every = (
        duration(hostile),
        count.clone(),
        proptest::option::weighted(0.2, fixed(hostile)),
    )
        .prop_map(|(d, count, start)| {
            let mut a = format!("every = {d}\n");
            if let Some(c) = count {
                a += &format!("count = {c}\n");
            }
            if let Some(s) = start {
                a += &format!("start = {s}\n");
            }
            a
        });
    let rates = if hostile {
        pick(&[
            "1", "0.5", "10", "0", "-1", "nan", "inf", "1e-300", "1e300", "1e10", "\"2\"",
        ])
    } else {
        pick(&["1", "0.5", "10"])
    };
    let rate = (rates, count).prop_map(|(r, count)| {
        let count = count.map_or(String::new(), |c| format!("count = {c}\n"));
        format!("rate = {r}\n{count}")
    });
    (
        reference(names("t", shape.tasks), hostile),
        prop_oneof![3 => at, 2 => every, 1 => rate],
    )
        .prop_map(|(task, how)| format!("[[arrival]]\ntask = {task}\n{how}"))
        .boxed()
}

/// A chain of `n` task types, each calling or spawning (and maybe waiting for) the next
/// `count` times: what makes inlining and task trees grow.
fn chain() -> BoxedStrategy<String> {
    (
        1..60usize,
        pick(&["1", "2", "3", "10", "1000", "1000000"]),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(n, count, call, wait)| {
            let mut t = String::from("[[pool]]\nworkers = 2\n\n");
            for i in 0..n {
                let step = if i + 1 == n {
                    "{ work = \"1s\" }".to_string()
                } else if call {
                    format!("{{ call = \"c{}\" }}, {{ call = \"c{}\" }}", i + 1, i + 1)
                } else if wait {
                    format!(
                        "{{ spawn = \"c{}\", count = {count} }}, {{ wait = \"children\" }}",
                        i + 1
                    )
                } else {
                    format!("{{ spawn = \"c{}\", count = {count} }}", i + 1)
                };
                t += &format!("[[task]]\nname = \"c{i}\"\nsteps = [{step}]\n\n");
            }
            t + "[[arrival]]\ntask = \"c0\"\nat = [\"0s\", \"0s\"]\n"
        })
        .boxed()
}

/// Tables of one kind, `n` of them made by `table(i)`.
fn tables(n: usize, table: impl Fn(usize) -> BoxedStrategy<String>) -> BoxedStrategy<Vec<String>> {
    (0..n).map(table).collect::<Vec<_>>().boxed()
}

/// A whole scenario of `shape`.
fn scenario_of(shape: Shape) -> BoxedStrategy<String> {
    let hostile = shape.hostile;
    let top = (
        proptest::option::weighted(0.2, reference(vec![quoted("s"), quoted("fanout")], hostile)),
        proptest::option::weighted(0.3, number(hostile)),
        proptest::option::weighted(0.2, fixed(hostile)),
        proptest::option::weighted(
            0.2,
            if hostile {
                pick(&["\"random\"", "\"canonical\"", "\"fair\"", "1"])
            } else {
                pick(&["\"random\"", "\"canonical\""])
            },
        ),
    );
    let extra = if hostile {
        vec(
            pick(&[
                "wokers = 2\n",
                "[pool]\nworkers = 2\n",
                "[[pool]]\nworkers = 2\n",
                "[[pool]]\nname = \"default\"\nworkers = 1\n",
                "pool = []\n",
                "task = [{}]\n",
                "[[queue]]\nname = \"default\"\n",
                "[[queue]]\nname = \"default\"\n[[queue]]\nname = \"default\"\n",
                "seed = 1\nseed = 2\n",
                "[[arrival]]\ntask = \"t0\"\n",
                "description = 3\n",
                "[[task]]\nname = \"t0\"\nsteps = []\n",
                "horizon = \"1s\"\n",
                "\u{0}\n",
                "[\n",
            ]),
            0..3,
        )
        .boxed()
    } else {
        Just(Vec::new()).boxed()
    };
    (
        top,
        tables(shape.queues, move |k| queue_table(shape, k)),
        tables(shape.pools, move |j| pool_table(shape, j)),
        tables(shape.tasks, move |i| task_table(shape, i)),
        tables(shape.arrivals, move |_| arrival_table(shape)),
        extra,
        // Now and then a host with a memory size (the OOM killer).
        proptest::option::weighted(0.15, size(hostile)),
    )
        .prop_map(
            |((name, seed, horizon, ties), queues, pools, tasks, arrivals, extra, host)| {
                let mut s = String::new();
                for (key, value) in [
                    ("name", name),
                    ("seed", seed),
                    ("horizon", horizon),
                    ("ties", ties),
                ] {
                    if let Some(v) = value {
                        s += &format!("{key} = {v}\n");
                    }
                }
                // Top-level keys go first; extra lines may be keys too, so they follow them.
                for e in &extra {
                    if !e.starts_with('[') {
                        s += e;
                    }
                }
                for table in queues.iter().chain(&pools).chain(&tasks).chain(&arrivals) {
                    s += "\n";
                    s += table;
                }
                for e in extra.iter().filter(|e| e.starts_with('[')) {
                    s += "\n";
                    s += e;
                }
                if let Some(memory) = host {
                    s += &format!("\n[host]\nmemory = {memory}\n");
                }
                s
            },
        )
        .boxed()
}

/// A scenario; `hostile` ones draw their values from the hostile lists too, and may have no
/// pool or no task at all.
fn scenario(hostile: bool) -> BoxedStrategy<String> {
    let (pools, tasks) = if hostile {
        (0..4usize, 0..6usize)
    } else {
        (1..3usize, 1..5usize)
    };
    (0..3usize, pools, tasks, 0..3usize)
        .prop_flat_map(move |(queues, pools, tasks, arrivals)| {
            scenario_of(Shape {
                queues,
                pools,
                tasks,
                arrivals,
                hostile,
            })
        })
        .boxed()
}

fn structured() -> impl Strategy<Value = Text> {
    prop_oneof![
        4 => scenario(false),
        4 => scenario(true),
        1 => chain(),
    ]
    .prop_map(Text)
}

// ---------------------------------------------------------------------------------------------
// Mutations of the files in the tree

/// The files the mutations start from, in a fixed order.
fn seed_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["scenarios", "tests/bad_scenarios", "tests/regressions"] {
        let entries = std::fs::read_dir(root.join(dir)).unwrap_or_else(|e| panic!("{dir}: {e}"));
        files.extend(
            entries
                .map(|e| e.expect("a directory entry").path())
                .filter(|p| p.extension().is_some_and(|x| x == "toml")),
        );
    }
    files.sort();
    files
}

/// Lines a mutation may insert.
const HOSTILE_LINES: &[&str] = &[
    "workers = 0",
    "workers = -1",
    "workers = 1e400",
    "count = 18446744073709551615",
    "count = nan",
    "[[pool]]",
    "[pool]",
    "[[task]]",
    "[[arrival]]",
    "[[queue]]",
    "name = \"default\"",
    "steps = []",
    "steps = [{ call = \"main_task\" }]",
    "steps = [{ spawn = \"main_task\" }]",
    "at = []",
    "at = [\"-1s\"]",
    "every = \"0s\"",
    "rate = inf",
    "horizon = \"4611686018427387904ns\"",
    "ties = \"random\"",
    "seed = \"x\"",
    "queues = []",
    "unknown = 1",
    "base_memory = \"2 megs\"",
    "max_memory = \"100MB\"",
    "max_tasks = 1",
    "kind = \"process\"",
    "retain = 1.5",
    "acks_late = true",
    "[host]",
    "memory = \"1MB\"",
    "  { wait = \"children\", timeout = \"0s\" },",
    "  { spawn = \"subtask\", count = 1000000 },",
    "]",
    "}",
    "\"",
    "#",
];

/// Numbers a mutation may write over a number of the file.
const HOSTILE_NUMBERS: &[&str] = &[
    "0",
    "-1",
    "1000001",
    "4294967296",
    "9223372036854775807",
    "18446744073709551616",
    "1e400",
    "nan",
    "0.5",
];

#[derive(Clone, Debug)]
enum Mutation {
    DeleteLine(usize),
    RepeatLine(usize),
    SwapLines(usize, usize),
    InsertLine(usize, &'static str),
    ReplaceNumber(usize, &'static str),
    SetByte(usize, u8),
    DeleteByte(usize),
    InsertByte(usize, u8),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let at = any::<usize>();
    prop_oneof![
        2 => at.prop_map(Mutation::DeleteLine),
        2 => at.prop_map(Mutation::RepeatLine),
        1 => (at, any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        3 => (at, proptest::sample::select(HOSTILE_LINES)).prop_map(|(a, l)| Mutation::InsertLine(a, l)),
        3 => (at, proptest::sample::select(HOSTILE_NUMBERS)).prop_map(|(a, n)| Mutation::ReplaceNumber(a, n)),
        1 => (at, any::<u8>()).prop_map(|(a, b)| Mutation::SetByte(a, b)),
        1 => at.prop_map(Mutation::DeleteByte),
        1 => (at, any::<u8>()).prop_map(|(a, b)| Mutation::InsertByte(a, b)),
        1 => at.prop_map(Mutation::Truncate),
    ]
}

impl Mutation {
    fn apply(&self, text: &str) -> String {
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        let mut bytes = text.as_bytes().to_vec();
        let line = |i: usize| i % lines.len().max(1);
        let byte = |i: usize| i % (bytes.len() + 1);
        match *self {
            Mutation::DeleteLine(i) if !lines.is_empty() => {
                lines.remove(line(i));
            }
            Mutation::RepeatLine(i) if !lines.is_empty() => {
                let l = lines[line(i)].clone();
                lines.insert(line(i), l);
            }
            Mutation::SwapLines(a, b) if !lines.is_empty() => {
                let (a, b) = (line(a), line(b));
                lines.swap(a, b);
            }
            Mutation::InsertLine(i, l) => {
                let at = i % (lines.len() + 1);
                lines.insert(at, l.to_string());
            }
            Mutation::ReplaceNumber(i, n) => {
                // The i-th run of digits in the text (counted modulo how many there are).
                let runs: Vec<(usize, usize)> = digit_runs(text);
                if runs.is_empty() {
                    return text.to_string();
                }
                let (start, end) = runs[i % runs.len()];
                return format!("{}{n}{}", &text[..start], &text[end..]);
            }
            Mutation::SetByte(i, b) => {
                let at = byte(i).min(bytes.len().saturating_sub(1));
                if let Some(x) = bytes.get_mut(at) {
                    *x = b;
                }
                return String::from_utf8_lossy(&bytes).into_owned();
            }
            Mutation::DeleteByte(i) => {
                if !bytes.is_empty() {
                    bytes.remove(byte(i).min(bytes.len() - 1));
                }
                return String::from_utf8_lossy(&bytes).into_owned();
            }
            Mutation::InsertByte(i, b) => {
                bytes.insert(byte(i), b);
                return String::from_utf8_lossy(&bytes).into_owned();
            }
            Mutation::Truncate(i) => {
                bytes.truncate(byte(i));
                return String::from_utf8_lossy(&bytes).into_owned();
            }
            Mutation::DeleteLine(_) | Mutation::RepeatLine(_) | Mutation::SwapLines(..) => {}
        }
        let mut out = lines.join("\n");
        out.push('\n');
        out
    }
}

/// Byte ranges of the runs of ASCII digits in `text`.
fn digit_runs(text: &str) -> Vec<(usize, usize)> {
    let mut runs = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (c.is_ascii_digit(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                runs.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        runs.push((s, text.len()));
    }
    runs
}

/// A file of the tree with mutations applied; shown as the file's name and the new text.
#[derive(Clone)]
struct Mutated {
    file: String,
    mutations: Vec<Mutation>,
    text: String,
}

impl fmt::Debug for Mutated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} with {:?}:\n{}", self.file, self.mutations, self.text)
    }
}

fn mutated() -> impl Strategy<Value = Mutated> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let files: Vec<(String, String)> = seed_files()
        .into_iter()
        .map(|p| {
            let text =
                std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            let name = p.strip_prefix(root).unwrap_or(&p).display().to_string();
            (name, text)
        })
        .collect();
    (proptest::sample::select(files), vec(mutation(), 1..3)).prop_map(
        |((file, text), mutations)| {
            let text = mutations.iter().fold(text, |t, m| m.apply(&t));
            Mutated {
                file,
                mutations,
                text,
            }
        },
    )
}

// ---------------------------------------------------------------------------------------------
// Driving proptest for a number of cases or a time

/// How much fuzzing the environment asks for.
enum Amount {
    Cases(u32),
    Seconds(u64),
}

fn amount() -> Amount {
    let read = |var: &str| {
        std::env::var(var).ok().map(|v| {
            v.trim()
                .parse::<u64>()
                .unwrap_or_else(|_| panic!("{var}={v:?}: expected a whole number"))
        })
    };
    match (read("QSIM_FUZZ_SECONDS"), read("QSIM_FUZZ_CASES")) {
        (Some(s), _) => Amount::Seconds(s),
        (None, Some(c)) => Amount::Cases(u32::try_from(c).unwrap_or(u32::MAX)),
        (None, None) => Amount::Cases(DEFAULT_CASES),
    }
}

/// Runs `strategy`'s cases through `test`, in batches with seeds derived from
/// `QSIM_FUZZ_SEED`, the source's name and the batch's number, until the amount is done.
fn fuzz<S>(source: &str, strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S: Strategy,
    S::Value: fmt::Debug,
{
    let seed: u64 = std::env::var("QSIM_FUZZ_SEED")
        .ok()
        .map(|v| v.trim().parse().expect("QSIM_FUZZ_SEED: a whole number"))
        .unwrap_or(14);
    let amount = amount();
    let (batch_cases, deadline) = match amount {
        Amount::Cases(n) => (n, None),
        Amount::Seconds(s) => (16, Some(Instant::now() + Duration::from_secs(s))),
    };
    let started = Instant::now();
    let mut cases = 0u64;
    for batch in 0u64.. {
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&seed.to_le_bytes());
        key[8..16].copy_from_slice(&batch.to_le_bytes());
        for (k, b) in key[16..].iter_mut().zip(source.bytes()) {
            *k = b;
        }
        let config = Config {
            cases: batch_cases,
            failure_persistence: None,
            // Shrinking runs whole searches again: keep it to a minute or so.
            max_shrink_iters: 512,
            ..Config::default()
        };
        let mut runner =
            TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &key));
        match runner.run(&strategy, &test) {
            Ok(()) => {}
            Err(TestError::Fail(why, input)) => panic!(
                "fuzz source {source}, QSIM_FUZZ_SEED={seed}, batch {batch}: {why}\nshrunk input: {input:?}"
            ),
            Err(TestError::Abort(why)) => panic!("fuzz source {source}: aborted: {why}"),
        }
        cases += u64::from(batch_cases);
        if deadline.is_none_or(|d| Instant::now() >= d) {
            break;
        }
    }
    eprintln!(
        "fuzz source {source}: {cases} cases in {:.1?}, the slowest so far {:.1?} (QSIM_FUZZ_SEED={seed})",
        started.elapsed(),
        *SLOWEST.lock().unwrap_or_else(|e| e.into_inner())
    );
}

#[test]
fn structured_scenarios_parse_run_and_explore_without_panics() {
    fuzz("structured", structured(), |Text(text)| {
        check("fuzz.toml", &text)
    });
}

#[test]
fn mutated_files_parse_run_and_explore_without_panics() {
    fuzz("mutated", mutated(), |m| check(&m.file, &m.text));
}

/// The files the mutations start from pass the checks as they are, and so does every input
/// the fuzzer or anyone found and kept in `tests/regressions/`.
#[test]
fn files_of_the_tree_pass_the_checks() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let files = seed_files();
    assert!(files.len() > 50, "only {} files", files.len());
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let name = path.strip_prefix(root).unwrap().display().to_string();
        if let Err(e) = check(&name, &text) {
            panic!("{name}: {e}");
        }
    }
}

mod tests {
    use super::*;
    use proptest::strategy::ValueTree;

    #[test]
    fn mutations_do_what_they_say() {
        let text = "a = 1\nb = 22\nc = 3\n";
        assert_eq!(Mutation::DeleteLine(4).apply(text), "a = 1\nc = 3\n");
        assert_eq!(
            Mutation::RepeatLine(0).apply(text),
            "a = 1\na = 1\nb = 22\nc = 3\n"
        );
        assert_eq!(
            Mutation::SwapLines(0, 2).apply(text),
            "c = 3\nb = 22\na = 1\n"
        );
        assert_eq!(
            Mutation::InsertLine(3, "[[pool]]").apply(text),
            "a = 1\nb = 22\nc = 3\n[[pool]]\n"
        );
        assert_eq!(
            Mutation::ReplaceNumber(1, "nan").apply(text),
            "a = 1\nb = nan\nc = 3\n"
        );
        assert_eq!(Mutation::Truncate(7).apply(text), "a = 1\nb");
        assert_eq!(Mutation::DeleteByte(0).apply(text), " = 1\nb = 22\nc = 3\n");
        // A byte that breaks UTF-8 becomes the replacement character, as a lossy read would.
        assert_eq!(Mutation::SetByte(0, 0xff).apply("a"), "\u{fffd}");
        assert_eq!(digit_runs("x12 y3"), [(1, 3), (5, 6)]);
    }

    #[test]
    fn a_message_with_a_rust_type_fails_the_checks() {
        // A file whose error would leak nothing: the check passes...
        assert!(check("f.toml", "[[pool]]\nworkers = 0\n").is_ok());
        // ...and the word list catches what the inputs once showed.
        let leaked = Error::Scenario(qsim::error::ScenarioError {
            location: qsim::error::Location::from_offset("f.toml", "x = 1\n", 0),
            message: "expected struct TaskDecl with 4 elements".into(),
        });
        assert!(check_error("f.toml", "x = 1\n", &leaked).is_err());
        let quoted = Error::Scenario(qsim::error::ScenarioError {
            location: qsim::error::Location::from_offset("f.toml", "x = 1\n", 0),
            message: "unknown key \"u64\" at the top level".into(),
        });
        assert!(check_error("f.toml", "x = 1\n", &quoted).is_ok());
    }

    #[test]
    fn generated_scenarios_are_often_valid() {
        // A fuzzer whose inputs are all refused never reaches the engine.
        let mut runner = TestRunner::new_with_rng(
            Config::default(),
            TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]),
        );
        let strategy = structured();
        let mut valid = 0;
        for _ in 0..200 {
            let Text(text) = strategy.new_tree(&mut runner).unwrap().current();
            valid += usize::from(qsim::scenario::parse("f.toml", &text, &[]).is_ok());
        }
        assert!(
            valid >= 40,
            "only {valid} of 200 generated scenarios are valid"
        );
    }
}
