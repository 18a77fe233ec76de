//! `qsim run`.

use predicates::prelude::*;
use predicates::str::contains;

use crate::CliTest;

fn stdout_of(output: &std::process::Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("UTF-8 output")
}

#[test]
fn a_deadlock_exits_1_and_is_explained() {
    let t = CliTest::with_fanout();
    t.qsim(&["run", "fanout.toml"])
        .assert()
        .code(1)
        .stdout(contains("fanout: deadlock at 0s (seed 1, "))
        .stdout(contains(
            "deadlock at 0s: 2 tasks hold a worker waiting for children that can never run",
        ))
        .stdout(contains("worker default/1 holds main_task#1 since 0s"))
        .stdout(contains("worker default/2 holds main_task#2 since 0s"))
        .stdout(contains("20 tasks queued in \"default\""))
        .stdout(predicates::str::is_match(r"(?m)^subtask +20 +0 +0 +20 +- +- +- +-$").unwrap())
        .stderr("");
}

#[test]
fn more_workers_complete_and_json_reports_it() {
    let t = CliTest::with_fanout();
    let output = t
        .qsim(&[
            "run",
            "fanout.toml",
            "--set",
            "pool.default.workers=4",
            "--format",
            "json",
        ])
        .assert()
        .code(0)
        .stderr("")
        .get_output()
        .clone();
    let v: serde_json::Value = serde_json::from_str(&stdout_of(&output)).expect("JSON on stdout");
    assert_eq!(v["scenario"], "fanout");
    assert_eq!(v["seed"], 1);
    assert_eq!(v["outcome"], "completed");
    assert_eq!(v["end_time_s"], 36.0);
    assert_eq!(v["completed"]["main_task"], 2);
    assert_eq!(v["completed"]["subtask"], 20);
    assert_eq!(v["failed"]["subtask"], 0);
    assert_eq!(v["unfinished"]["main_task"], 0);
    assert!(v["deadlock"].is_null());
    assert_eq!(v["tasks"]["subtask"]["latency_s"]["max"], 36.0);
    assert_eq!(v["pools"]["default"]["workers"], 4);
    assert_eq!(v["queues"]["default"]["max_length"], 20);
}

#[test]
fn deadlock_json_names_the_stuck_tasks() {
    let t = CliTest::with_fanout();
    let output = t
        .qsim(&["run", "fanout.toml", "--format", "json"])
        .assert()
        .code(1)
        .get_output()
        .clone();
    let v: serde_json::Value = serde_json::from_str(&stdout_of(&output)).expect("JSON on stdout");
    assert_eq!(v["outcome"], "deadlock");
    assert_eq!(v["deadlock"]["time_s"], 0.0);
    assert_eq!(
        v["deadlock"]["blocked"],
        serde_json::json!(["main_task#1", "main_task#2"])
    );
    assert_eq!(v["deadlock"]["queued"].as_array().map(Vec::len), Some(20));
    assert_eq!(v["unfinished"]["subtask"], 20);
}

#[test]
fn the_trace_has_one_json_line_per_event_and_the_same_bytes_every_run() {
    let t = CliTest::with_fanout();
    let workers = ["--set", "pool.default.workers=4"];
    for name in ["a.jsonl", "b.jsonl"] {
        t.qsim(&["run", "fanout.toml", "--trace", name])
            .args(workers)
            .assert()
            .code(0);
    }
    let trace = t.read("a.jsonl");
    assert_eq!(trace, t.read("b.jsonl"));
    let mut kinds = std::collections::BTreeMap::new();
    for line in trace.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("a JSON object per line");
        assert!(v["t"].is_number(), "{line}");
        assert!(v["task"].is_string(), "{line}");
        *kinds
            .entry(v["event"].as_str().expect("an event name").to_string())
            .or_insert(0) += 1;
    }
    // 22 tasks arrive or are spawned, are taken and finish; 20 of them work, 2 wait and resume.
    let expected: std::collections::BTreeMap<String, i32> = [
        ("arrived", 2),
        ("spawned", 20),
        ("taken", 22),
        ("work", 20),
        ("blocked", 2),
        ("resumed", 2),
        ("finished", 22),
    ]
    .into_iter()
    .map(|(k, n)| (k.to_string(), n))
    .collect();
    assert_eq!(kinds, expected);
    assert_eq!(t.files(), ["a.jsonl", "b.jsonl", "fanout.toml"]);
}

#[test]
fn the_dot_file_draws_the_deadlock() {
    let t = CliTest::with_fanout();
    t.qsim(&["run", "fanout.toml", "--dot", "deadlock.dot"])
        .assert()
        .code(1)
        .stderr("");
    let dot = t.read("deadlock.dot");
    assert!(dot.starts_with("digraph"), "{dot}");
    assert!(dot.contains("worker default/1"), "{dot}");
    assert_eq!(t.files(), ["deadlock.dot", "fanout.toml"]);
}

#[test]
fn no_deadlock_means_no_dot_file_and_a_note() {
    let t = CliTest::with_fanout();
    t.qsim(&["run", "fanout.toml", "--set", "pool.default.workers=4"])
        .args(["--dot", "deadlock.dot"])
        .assert()
        .code(0)
        .stderr(contains("no deadlock").and(contains("deadlock.dot")));
    assert_eq!(t.files(), ["fanout.toml"]);
}

#[test]
fn a_malformed_scenario_exits_2_pointing_into_the_file() {
    let t = CliTest::empty();
    t.write("bad.toml", "name = \"bad\"\n[[pool]]\nworkers = 0\n");
    t.qsim(&["run", "bad.toml"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicates::str::starts_with("error: bad.toml:3:11: "))
        .stderr(contains("3 | workers = 0").and(contains("^")));
}

#[test]
fn a_toml_syntax_error_exits_2_with_a_location() {
    let t = CliTest::empty();
    t.write("broken.toml", "[[pool]\nworkers = 2\n");
    t.qsim(&["run", "broken.toml"])
        .assert()
        .code(2)
        .stderr(predicates::str::is_match(r"^error: broken\.toml:1:\d+: ").unwrap());
}

#[test]
fn an_unknown_set_path_exits_2() {
    let t = CliTest::with_fanout();
    t.qsim(&["run", "fanout.toml", "--set", "nothing.here=4"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicates::str::starts_with(
            "error: --set nothing.here=4: ",
        ));
}

#[test]
fn a_misspelt_set_key_exits_2_pointing_at_it() {
    let t = CliTest::with_fanout();
    t.qsim(&["run", "fanout.toml", "--set", "pool.default.wokers=4"])
        .assert()
        .code(2)
        .stderr(contains("wokers"));
}

#[test]
fn an_unknown_flag_exits_2() {
    let t = CliTest::with_fanout();
    t.qsim(&["run", "fanout.toml", "--no-such-flag"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(contains("--no-such-flag"));
}

#[test]
fn a_missing_file_exits_2() {
    let t = CliTest::empty();
    t.qsim(&["run", "missing.toml"])
        .assert()
        .code(2)
        .stderr(predicates::str::starts_with("error: missing.toml: "));
}

#[test]
fn the_event_limit_prints_the_report_and_exits_2() {
    let t = CliTest::with_fanout();
    t.qsim(&[
        "run",
        "fanout.toml",
        "--max-events",
        "5",
        "--format",
        "json",
    ])
    .assert()
    .code(2)
    .stdout(contains("\"outcome\": \"event_limit\"").and(contains("\"events\": 5")))
    .stderr(
        "error: stopped after 5 events (--max-events 5): the scenario may never end; \
             set a horizon or raise --max-events\n",
    );
}

#[test]
fn an_unwritable_trace_exits_2_and_leaves_nothing() {
    let t = CliTest::with_fanout();
    t.qsim(&["run", "fanout.toml", "--trace", "no/such/dir/t.jsonl"])
        .assert()
        .code(2)
        .stderr(predicates::str::starts_with("error: no/such/dir/t.jsonl: "));
    assert_eq!(t.files(), ["fanout.toml"]);
}

#[test]
fn help_teaches_with_an_example() {
    let t = CliTest::empty();
    t.qsim(&["--help"])
        .assert()
        .code(0)
        .stdout(contains("deadlock").and(contains("qsim run fanout.toml")));
    t.qsim(&["run", "--help"])
        .assert()
        .code(0)
        .stdout(contains("--set <PATH=VALUE>").and(contains("pool.default.workers=4")));
}

#[test]
fn the_example_in_the_help_does_what_it_says() {
    // The scenario shown by `qsim --help`, copied from it.
    let t = CliTest::empty();
    let help = t
        .qsim(&["--help"])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let help = String::from_utf8(help).expect("UTF-8 help");
    let scenario: String = help
        .lines()
        .skip_while(|l| !l.contains("$ cat fanout.toml"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .map(|l| format!("{}\n", l.trim()))
        .collect();
    t.write("fanout.toml", &scenario);
    t.qsim(&["run", "fanout.toml"])
        .assert()
        .code(1)
        .stdout(contains("deadlock at 0s"));
    t.qsim(&["run", "fanout.toml", "--set", "pool.default.workers=4"])
        .assert()
        .code(0)
        .stdout(contains("completed at 36s"));
}

#[test]
fn the_task_limit_stops_a_runaway_fan_out_and_exits_2() {
    let t = CliTest::with_fanout();
    t.qsim(&["run", "fanout.toml", "--max-tasks", "15"])
        .assert()
        .code(2)
        .stdout(contains("fanout: task limit reached at 0s"))
        .stderr(contains(
            "error: stopped with more than 15 tasks alive at once (--max-tasks 15)",
        ));
}

#[test]
fn a_huge_spawn_count_is_a_located_error() {
    let t = CliTest::empty();
    t.write(
        "huge.toml",
        "[[pool]]\nworkers = 1\n[[task]]\nname = \"a\"\nsteps = [{ spawn = \"b\", count = 5000000000 }]\n[[task]]\nname = \"b\"\nsteps = [{ work = \"1s\" }]\n[[arrival]]\ntask = \"a\"\nat = [\"0s\"]\n",
    );
    t.qsim(&["run", "huge.toml"])
        .assert()
        .code(2)
        .stderr(contains(
            "huge.toml:5:33: expected count to be a whole number from 1 to 1000000, found",
        ));
}

/// Issue 14: `qsim run` holds a memory budget too. A stream of a billion arrivals a second for
/// an hour, each working an hour, piles tasks up until the process holds the budget.
#[test]
fn a_memory_budget_stops_a_run_that_piles_tasks_up() {
    let t = CliTest::empty();
    t.write(
        "flood.toml",
        r#"
        horizon = "1h"
        [[pool]]
        workers = 1
        [[task]]
        name = "j"
        steps = [{ work = "1h" }]
        [[arrival]]
        task = "j"
        rate = 1e9
        "#,
    );
    let out = t
        .qsim(&[
            "run",
            "flood.toml",
            "--max-memory",
            "150",
            "--format",
            "json",
        ])
        .assert()
        .code(2)
        .stderr(contains(
            "error: stopped: --max-memory 150 reached (the process holds",
        ))
        .get_output()
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("the report so far");
    assert_eq!(v["outcome"], "memory_limit");
}
