//! The scenario checker on a corpus of malformed files, and on a few good ones.
//!
//! Every file in `tests/bad_scenarios/` has exactly one problem, and its first line says the
//! exact first line of the error qsim must print for it, as
//! `# expect: {file}:LINE:COLUMN: message`. Keeping the expectation inside the file makes each
//! case self-contained and easy to add to.

use std::path::{Path, PathBuf};

use qsim::scenario::{
    parse, ArrivalPattern, Discipline, Duration, OnTimeout, Step, TICKS_PER_SECOND,
};
use qsim::Error;

fn corpus() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad_scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/bad_scenarios exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

#[test]
fn corpus_is_big_enough() {
    assert!(corpus().len() >= 15);
}

#[test]
fn every_bad_scenario_gets_its_expected_error() {
    let mut failures = Vec::new();
    for path in corpus() {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(&path).expect("readable file");
        let expected = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# expect: "))
            .unwrap_or_else(|| panic!("{file}: first line must be `# expect: ...`"))
            .replace("{file}", &file);
        let result = std::panic::catch_unwind(|| parse(&file, &text, &[]));
        let got = match result {
            Err(_) => "panicked".to_string(),
            Ok(Ok(_)) => "accepted".to_string(),
            Ok(Err(Error::Scenario(e))) => e.to_string().lines().next().unwrap_or("").to_string(),
            Ok(Err(other)) => format!("not a scenario error: {other}"),
        };
        if got != expected {
            failures.push(format!("{file}\n  expected: {expected}\n       got: {got}"));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn errors_show_the_line_and_a_caret() {
    let text = "[[pool]]\nworkers = 0\n";
    let err = parse("p.toml", text, &[]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "p.toml:2:11: a pool needs at least 1 worker\n  |\n2 | workers = 0\n  |           ^"
    );
}

const FANOUT: &str = r#"
name = "fanout"

[[pool]]
name = "default"
workers = 2

[[task]]
name = "main_task"
steps = [
  { spawn = "subtask", count = 10 },
  { wait = "children" },
]

[[task]]
name = "subtask"
steps = [{ work = "4s" }]

[[arrival]]
task = "main_task"
at = ["0s", "0s"]
"#;

#[test]
fn parses_fanout() {
    let s = parse("scenarios/fanout.toml", FANOUT, &[]).unwrap();
    assert_eq!(s.name, "fanout");
    assert_eq!(s.pools.len(), 1);
    assert_eq!(s.pools[0].workers, 2);
    assert_eq!(s.pools[0].queues, vec![0]);
    assert_eq!(s.queues.len(), 1);
    assert_eq!(s.queues[0].consumers, vec![0]);
    assert_eq!(s.task_id("subtask"), Some(1));
    assert_eq!(
        s.tasks[0].steps,
        vec![
            Step::Spawn {
                task: 1,
                count: 10,
                then: None
            },
            Step::Wait {
                timeout: None,
                on_timeout: OnTimeout::Fail
            },
        ]
    );
    assert_eq!(
        s.tasks[1].steps,
        vec![Step::Work(Duration::Fixed(4 * TICKS_PER_SECOND))]
    );
    assert_eq!(s.arrivals.len(), 1);
    assert_eq!(s.arrivals[0].task, 0);
    assert_eq!(s.arrivals[0].pattern, ArrivalPattern::At(vec![0, 0]));
}

#[test]
fn name_defaults_to_the_file_stem() {
    let text = FANOUT.replace("name = \"fanout\"\n", "");
    let s = parse("scenarios/fan-out.toml", &text, &[]).unwrap();
    assert_eq!(s.name, "fan-out");
}

#[test]
fn sets_override_the_file() {
    let sets = vec![
        "pool.default.workers=12".to_string(),
        "horizon=2h".to_string(),
        "arrival.0.at=[\"1s\"]".to_string(),
    ];
    let s = parse("fanout.toml", FANOUT, &sets).unwrap();
    assert_eq!(s.pools[0].workers, 12);
    assert_eq!(s.horizon, Some(7200 * TICKS_PER_SECOND));
    assert_eq!(
        s.arrivals[0].pattern,
        ArrivalPattern::At(vec![TICKS_PER_SECOND])
    );
    let err = parse(
        "fanout.toml",
        FANOUT,
        &["pool.defualt.workers=1".to_string()],
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "--set pool.defualt.workers=1: no pool named \"defualt\" (known: default)"
    );
    let err = parse(
        "fanout.toml",
        FANOUT,
        &["pool.default.wokers=1".to_string()],
    )
    .unwrap_err();
    assert!(matches!(err, Error::Scenario(_)), "{err}");
}

#[test]
fn parses_a_chord_with_priorities_and_streams() {
    let text = r#"
seed = 3
horizon = "10m"
ties = "random"

[[queue]]
name = "callbacks"
discipline = "priority"

[[pool]]
name = "workers"
workers = 3
queues = ["default", "callbacks"]

[[task]]
name = "job"
steps = [{ spawn = "part", count = 3, then = "collect" }]

[[task]]
name = "part"
steps = [{ work = { dist = "exp", mean = "250ms" } }]

[[task]]
name = "collect"
queue = "callbacks"
priority = 5
steps = [{ work = 0.5 }]

[[arrival]]
task = "job"
rate = 0.5
"#;
    let s = parse("chord.toml", text, &[]).unwrap();
    assert_eq!(s.seed, 3);
    assert_eq!(s.queues[1].discipline, Discipline::Priority);
    assert_eq!(s.queues[1].consumers, vec![0]);
    assert_eq!(s.pools[0].queues, vec![0, 1]);
    assert_eq!(
        s.tasks[0].steps,
        vec![Step::Spawn {
            task: 1,
            count: 3,
            then: Some(2)
        }]
    );
    assert_eq!(
        s.tasks[1].steps,
        vec![Step::Work(Duration::Exp { mean: 250_000_000 })]
    );
    assert_eq!(s.tasks[2].priority, 5);
    assert_eq!(
        s.arrivals[0].pattern,
        ArrivalPattern::Stream {
            start: 0,
            gap: Duration::Exp {
                mean: 2 * TICKS_PER_SECOND
            },
            first_after_gap: true,
            count: None
        }
    );
}

#[test]
fn never_panics_on_mangled_files() {
    // Every prefix of every corpus file and of a good file: truncation makes all sorts of
    // broken TOML and half-written scenarios.
    let mut texts: Vec<String> = corpus()
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    texts.push(FANOUT.to_string());
    for text in &texts {
        for end in (0..=text.len()).filter(|&i| text.is_char_boundary(i)) {
            let prefix = &text[..end];
            let result = std::panic::catch_unwind(|| parse("x.toml", prefix, &[]));
            assert!(result.is_ok(), "panicked on {prefix:?}");
        }
    }
}
