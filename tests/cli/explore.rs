//! `qsim explore` and `qsim replay`.

use predicates::prelude::*;
use predicates::str::contains;

use crate::CliTest;

fn json_of(cmd: &mut assert_cmd::Command, code: i32) -> serde_json::Value {
    let out = cmd.assert().code(code).get_output().stdout.clone();
    serde_json::from_slice(&out).expect("JSON on stdout")
}

#[test]
fn a_deadlock_is_found_written_and_replayed() {
    let t = CliTest::with_fanout();
    t.qsim(&["explore", "fanout.toml", "--schedule-out", "s.json", "-q"])
        .assert()
        .code(1)
        .stdout(contains("fanout: deadlock under any timing"))
        .stdout(contains("   1. main_task#1 arrives"))
        .stdout(contains("   3. worker default/1 takes main_task#1"))
        .stdout(contains("cycle: worker default/1 -> main_task#1"))
        .stdout(contains(
            "replay: qsim replay fanout.toml --schedule s.json",
        ));
    let schedule: serde_json::Value = serde_json::from_str(&t.read("s.json")).unwrap();
    assert_eq!(schedule["timing"], "any");
    assert_eq!(schedule["steps"].as_array().unwrap().len(), 6);

    t.qsim(&[
        "replay",
        "fanout.toml",
        "--schedule",
        "s.json",
        "--dot",
        "g.dot",
    ])
    .assert()
    .code(1)
    .stdout(contains("replaying 6 steps of s.json"))
    .stdout(contains(
        "   6. main_task#2 spawns 10 (subtask#11 … subtask#20)",
    ))
    .stdout(contains("fanout: deadlock at 0s"));
    assert!(t.read("g.dot").starts_with("digraph deadlock {"));

    let v = json_of(
        &mut t.qsim(&[
            "replay",
            "fanout.toml",
            "--schedule",
            "s.json",
            "--format",
            "json",
        ]),
        1,
    );
    assert_eq!(v["outcome"], "deadlock");
    assert_eq!(v["deadlock"]["blocked"][0], "main_task#1");
}

#[test]
fn replay_is_deterministic_and_traces_the_same_bytes() {
    let t = CliTest::with_fanout();
    t.qsim(&["explore", "fanout.toml", "--schedule-out", "s.json", "-q"])
        .assert()
        .code(1);
    for trace in ["a.jsonl", "b.jsonl"] {
        t.qsim(&[
            "replay",
            "fanout.toml",
            "--schedule",
            "s.json",
            "--trace",
            trace,
        ])
        .assert()
        .code(1);
    }
    assert_eq!(t.read("a.jsonl"), t.read("b.jsonl"));
    assert!(!t.read("a.jsonl").is_empty());
}

#[test]
fn a_schedule_that_does_not_fit_is_a_clear_error() {
    let t = CliTest::with_fanout();
    t.write(
        "s.json",
        r#"{"scenario":"fanout","seed":1,"timing":"any","steps":["arrival 0","take default/7"]}"#,
    );
    t.qsim(&["replay", "fanout.toml", "--schedule", "s.json"])
        .assert()
        .code(2)
        .stderr(contains(
            "error: schedule s.json: step 2: \"take default/7\" is not possible here (possible: ",
        ));
    t.write("bad.json", "{ not json");
    t.qsim(&["replay", "fanout.toml", "--schedule", "bad.json"])
        .assert()
        .code(2)
        .stderr(contains("error: schedule bad.json: 1:3:"));
}

#[test]
fn more_workers_than_parents_are_proved_deadlock_free() {
    let t = CliTest::with_fanout();
    let v = json_of(
        &mut t.qsim(&[
            "explore",
            "fanout.toml",
            "--set",
            "pool.default.workers=3",
            "--format",
            "json",
        ]),
        0,
    );
    assert_eq!(v["verdict"], "deadlock_free");
    assert!(v["schedule"].is_null());
    // Two parents can hold at most two of the three workers: counting proves it at once.
    assert_eq!(v["method"], "counting");
    assert_eq!(v["states"], 0);
    assert_eq!(v["proof"]["pools"][0]["may_wait"], 2);
    assert_eq!(v["proof"]["pools"][0]["workers"], 3);
    // The naive search, which skips the counting argument, visits the states and agrees.
    let v = json_of(
        &mut t.qsim(&[
            "explore",
            "fanout.toml",
            "--set",
            "pool.default.workers=3",
            "--no-reductions",
            "--format",
            "json",
        ]),
        0,
    );
    assert_eq!(v["verdict"], "deadlock_free");
    assert_eq!(v["method"], "depth_first");
    assert!(v["states"].as_u64().unwrap() > 10);
}

#[test]
fn a_state_budget_gives_inconclusive_exit_3() {
    let t = CliTest::with_fanout();
    t.qsim(&[
        "explore",
        "fanout.toml",
        "--set",
        "pool.default.workers=3",
        "--no-reductions",
        "--max-states",
        "5",
    ])
    .assert()
    .code(3)
    .stdout(contains(
        "inconclusive under any timing: --max-states 5 reached",
    ));
}

#[test]
fn min_workers_finds_the_p_ge_w_boundary() {
    let t = CliTest::with_fanout();
    let v = json_of(
        &mut t.qsim(&[
            "explore",
            "fanout.toml",
            "--min-workers",
            "default",
            "--format",
            "json",
        ]),
        0,
    );
    assert_eq!(v["min_workers"], 3);
    let verdicts: Vec<&str> = v["tried"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["verdict"].as_str().unwrap())
        .collect();
    assert_eq!(verdicts, ["deadlock", "deadlock", "deadlock_free"]);
    t.qsim(&["explore", "fanout.toml", "--min-workers", "nope"])
        .assert()
        .code(2)
        .stderr(contains("no pool named \"nope\" (known: default)"));
}

#[test]
fn random_mode_reports_a_probability_and_a_reproducible_seed() {
    let t = CliTest::with_fanout();
    let v = json_of(
        &mut t.qsim(&[
            "explore",
            "fanout.toml",
            "--mode",
            "random",
            "--runs",
            "400",
            "--format",
            "json",
        ]),
        1,
    );
    let deadlocks = v["deadlocks"].as_u64().unwrap();
    assert!(deadlocks > 0 && deadlocks < 400, "{v}");
    let [lo, hi] = [
        v["ci95"][0].as_f64().unwrap(),
        v["ci95"][1].as_f64().unwrap(),
    ];
    let p = v["probability"].as_f64().unwrap();
    assert!(lo < p && p < hi);
    // The reported seed reproduces a deadlock with `qsim run`.
    let seed = v["example_seed"].as_u64().unwrap();
    t.qsim(&[
        "run",
        "fanout.toml",
        "--set",
        &format!("seed={seed}"),
        "--set",
        "ties=random",
    ])
    .assert()
    .code(1)
    .stdout(contains("deadlock at 0s"));
}

#[test]
fn random_mode_gives_the_same_bytes_on_one_and_two_threads() {
    let t = CliTest::with_fanout();
    let run = |threads: &str| {
        t.qsim(&[
            "explore",
            "fanout.toml",
            "--mode",
            "random",
            "--runs",
            "3000",
        ])
        .env("RAYON_NUM_THREADS", threads)
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone()
    };
    assert_eq!(run("1"), run("2"));
}

#[test]
fn endless_arrivals_need_random_mode_or_a_horizon() {
    let t = CliTest::empty();
    t.write(
        "endless.toml",
        r#"
        horizon = "1m"
        [[pool]]
        workers = 1
        [[task]]
        name = "job"
        steps = [{ work = "1s" }]
        [[arrival]]
        task = "job"
        every = "2s"
        "#,
    );
    t.qsim(&["explore", "endless.toml", "--mode", "exhaustive"])
        .assert()
        .code(2)
        .stderr(contains("exhaustive exploration needs finite arrivals"));
    t.qsim(&["explore", "endless.toml", "--runs", "10"])
        .assert()
        .code(0)
        .stdout(contains("10 random runs").and(contains("deadlock in 0")));
}

/// A naive search of a deadlock-free fan-out big enough to run for many seconds.
fn long_search(t: &CliTest) -> Vec<&'static str> {
    t.write(
        "big.toml",
        r#"
        [[pool]]
        workers = 4
        [[task]]
        name = "main_task"
        steps = [{ spawn = "subtask", count = 4 }, { wait = "children" }]
        [[task]]
        name = "subtask"
        steps = [{ work = "4s" }]
        [[arrival]]
        task = "main_task"
        at = ["0s", "0s", "0s"]
        "#,
    );
    vec!["explore", "big.toml", "--no-reductions", "-q"]
}

#[test]
fn a_memory_budget_gives_inconclusive_with_what_was_visited() {
    let t = CliTest::empty();
    let mut args = long_search(&t);
    args.extend(["--max-memory", "2"]);
    t.qsim(&args)
        .assert()
        .code(3)
        .stdout(contains(
            "inconclusive under any timing: --max-memory 2 reached (the process holds",
        ))
        .stdout(contains("searched so far: "));
}

#[test]
fn ctrl_c_stops_the_search_and_still_gives_a_verdict() {
    let t = CliTest::empty();
    let args = long_search(&t);
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("qsim"))
        .current_dir(t.path(""))
        .args(&args)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("qsim starts");
    std::thread::sleep(std::time::Duration::from_millis(700));
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let output = child.wait_with_output().expect("qsim ends");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(3), "{stdout}");
    assert!(
        stdout.contains("inconclusive under any timing: interrupted"),
        "{stdout}"
    );
}

#[test]
fn a_flag_of_the_other_mode_is_an_error_not_ignored() {
    let t = CliTest::with_fanout();
    t.qsim(&["explore", "fanout.toml", "--runs", "5"])
        .assert()
        .code(2)
        .stderr(contains("error: --runs only applies to --mode random"));
    t.qsim(&[
        "explore",
        "fanout.toml",
        "--mode",
        "random",
        "--min-workers",
        "default",
    ])
    .assert()
    .code(2)
    .stderr(contains(
        "--min-workers proves deadlock freedom with exhaustive search",
    ));
}

#[test]
fn issue_14_counts_out_of_range_are_usage_errors_not_panics() {
    let t = CliTest::with_fanout();
    let refused = |args: &[&str], expected: &str| {
        let mut all = vec!["explore", "fanout.toml"];
        all.extend(args);
        t.qsim(&all)
            .assert()
            .code(2)
            .stderr(contains(expected))
            .stderr(contains("panicked").not());
    };
    refused(
        &["--mode", "random", "--runs", "18446744073709551615"],
        "invalid value '18446744073709551615' for '--runs <N>': expected a whole number from 1 to 1000000000",
    );
    refused(
        &["--mode", "random", "--runs", "0"],
        "invalid value '0' for '--runs <N>': expected a whole number from 1 to 1000000000",
    );
    refused(
        &["--min-workers", "default", "--up-to", "0"],
        "invalid value '0' for '--up-to <N>': expected a whole number from 1 to 100000",
    );
    refused(
        &["--max-states", "0"],
        "invalid value '0' for '--max-states <N>': expected a whole number of at least 1",
    );
    // The largest counts allowed are taken.
    t.qsim(&[
        "explore",
        "fanout.toml",
        "--max-states",
        "18446744073709551615",
        "-q",
    ])
    .assert()
    .code(1);
    t.qsim(&[
        "explore",
        "fanout.toml",
        "--min-workers",
        "default",
        "--up-to",
        "100000",
    ])
    .assert()
    .code(0);
}

#[test]
fn issue_14_the_limits_of_counts_are_in_the_help() {
    let t = CliTest::empty();
    t.qsim(&["explore", "--help"])
        .assert()
        .code(0)
        .stdout(contains("number of runs, from 1 to 1000000000"))
        .stdout(contains("(N from 1 to 100000"))
        .stdout(contains("distinct states (at least 1)"));
}

/// A scenario with an endless stream and a horizon: random mode by default.
const ENDLESS: &str = r#"
horizon = "1m"
[[pool]]
workers = 1
[[task]]
name = "job"
steps = [{ work = "1s" }]
[[arrival]]
task = "job"
every = "2s"
"#;

#[test]
fn issue_14_every_flag_of_the_other_mode_is_an_error() {
    let t = CliTest::with_fanout();
    t.write("endless.toml", ENDLESS);
    let refused = |args: &[&str], expected: &str| {
        t.qsim(args)
            .assert()
            .code(2)
            .stdout("")
            .stderr(format!("error: {expected}\n"));
    };
    let random = ["explore", "fanout.toml", "--mode", "random"];
    for (flag, value, hint) in [
        (
            "--timing",
            Some("any"),
            " (random runs use the scenario's own timing)",
        ),
        (
            "--timing",
            Some("exact"),
            " (random runs use the scenario's own timing)",
        ),
        ("--max-states", Some("100"), ""),
        (
            "--max-time",
            Some("10s"),
            " (random mode has no time budget: lower --runs)",
        ),
        ("--no-reductions", None, ""),
        ("--shortest", None, ""),
        ("--schedule-out", Some("s.json"), ""),
    ] {
        let mut args = random.to_vec();
        args.push(flag);
        args.extend(value);
        refused(
            &args,
            &format!("{flag} only applies to --mode exhaustive{hint}"),
        );
    }
    let bounds = " (bound the exhaustive search with --max-states, --max-time or --max-memory)";
    for (flag, value, hint) in [
        ("--runs", "5", ""),
        ("--seed", "5", " (exhaustive search covers every timing)"),
        (
            "--horizon",
            "1m",
            " (set the scenario's horizon with --set horizon=D)",
        ),
        ("--max-events", "1000", bounds),
        ("--max-tasks", "1000", bounds),
    ] {
        refused(
            &["explore", "fanout.toml", flag, value],
            &format!("{flag} only applies to --mode random{hint}"),
        );
        refused(
            &[
                "explore",
                "fanout.toml",
                "--min-workers",
                "default",
                flag,
                value,
            ],
            &format!("{flag} only applies to --mode random{hint}"),
        );
    }
    refused(
        &["explore", "fanout.toml", "--up-to", "4"],
        "--up-to only applies with --min-workers POOL",
    );
    refused(
        &["explore", "fanout.toml", "--mode", "random", "--up-to", "4"],
        "--up-to only applies with --min-workers POOL",
    );
    refused(
        &[
            "explore",
            "fanout.toml",
            "--min-workers",
            "default",
            "--schedule-out",
            "s.json",
        ],
        "--schedule-out does not apply to --min-workers, which writes no schedule (explore one \
         count with --set pool.POOL.workers=N --schedule-out FILE)",
    );
    // Random mode chosen for the user: the message says why.
    refused(
        &["explore", "endless.toml", "--max-states", "100"],
        "--max-states only applies to --mode exhaustive (the scenario has endless arrivals, so \
         explore runs in random mode: exhaustive search needs finite arrivals, or --timing exact \
         and a horizon)",
    );
    assert_eq!(
        t.files(),
        ["endless.toml", "fanout.toml"],
        "nothing written"
    );
}

#[test]
fn issue_14_the_flags_of_each_mode_are_taken_there() {
    let t = CliTest::with_fanout();
    t.write("endless.toml", ENDLESS);
    t.qsim(&[
        "explore",
        "fanout.toml",
        "--timing",
        "any",
        "--max-states",
        "1000",
        "--max-time",
        "1m",
        "--no-reductions",
        "--shortest",
        "--max-memory",
        "4000",
        "-q",
    ])
    .assert()
    .code(1);
    t.qsim(&[
        "explore",
        "fanout.toml",
        "--min-workers",
        "default",
        "--up-to",
        "3",
        "--timing",
        "exact",
        "--max-states",
        "1000",
        "--shortest",
        "-q",
    ])
    .assert()
    .code(0);
    t.qsim(&[
        "explore",
        "endless.toml",
        "--runs",
        "5",
        "--seed",
        "3",
        "--horizon",
        "10s",
        "--max-events",
        "1000",
        "--max-tasks",
        "1000",
        "--max-memory",
        "4000",
    ])
    .assert()
    .code(0)
    .stdout(contains("5 random runs (seed 3)"));
    // With a horizon, --timing exact makes endless arrivals searchable: exhaustive by default.
    t.qsim(&[
        "explore",
        "endless.toml",
        "--timing",
        "exact",
        "--max-states",
        "100000",
        "-q",
    ])
    .assert()
    .code(0)
    .stdout(contains("endless: deadlock-free"));
}

/// Runs `command` (a shell command line) with a terminal as its stdin, stdout and stderr,
/// through util-linux's `script`, which records what the terminal showed in `log`; `None`
/// where there is no `script` to run.
fn on_a_terminal(t: &CliTest, command: &str, log: &str) -> Option<std::process::Output> {
    let available = std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !available {
        eprintln!("no util-linux `script`: the terminal is not tested");
        return None;
    }
    let output = std::process::Command::new("script")
        .current_dir(t.path(""))
        .args(["-q", "-e", "-c", command, log])
        .output()
        .expect("script runs");
    Some(output)
}

#[test]
fn issue_14_random_mode_shows_its_progress_on_a_terminal_only() {
    let t = CliTest::with_fanout();
    let qsim = assert_cmd::cargo::cargo_bin("qsim");
    let args = "explore fanout.toml --mode random --runs 20000";
    let Some(output) = on_a_terminal(
        &t,
        &format!("{} {args} >out.txt", qsim.display()),
        "terminal.log",
    ) else {
        return;
    };
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let shown = t.read("terminal.log");
    assert!(shown.contains("/20,000 runs ("), "{shown}");
    assert!(shown.contains(" runs/s, "), "{shown}");
    assert!(shown.contains(" left)"), "{shown}");
    // The bar is on the terminal only: stdout (a file here) has the same bytes as without one,
    // and on a pipe stderr stays empty.
    let piped = t
        .qsim(&args.split(' ').collect::<Vec<_>>())
        .assert()
        .code(1)
        .stderr("")
        .get_output()
        .stdout
        .clone();
    assert_eq!(t.read("out.txt").as_bytes(), piped);
    // -q: no bar even on a terminal.
    let Some(_) = on_a_terminal(
        &t,
        &format!("{} {args} -q >out.txt", qsim.display()),
        "quiet.log",
    ) else {
        return;
    };
    assert!(
        !t.read("quiet.log").contains("runs/s"),
        "{}",
        t.read("quiet.log")
    );
}

#[test]
fn issue_14_random_runs_that_all_hit_a_limit_are_inconclusive() {
    let t = CliTest::with_fanout();
    let args = [
        "explore",
        "fanout.toml",
        "--mode",
        "random",
        "--runs",
        "20",
        "--max-events",
        "1",
    ];
    t.qsim(&args)
        .assert()
        .code(3)
        .stdout(contains(
            "other runs: 0 completed, 0 reached the horizon, 20 hit the event, task or memory limit",
        ))
        .stdout(contains(
            "  inconclusive: every run hit a limit before it could end or deadlock (raise \
             --max-events, --max-tasks or --max-memory, or give a shorter --horizon)",
        ))
        .stdout(contains("no run deadlocked").not());
    let mut json = args.to_vec();
    json.extend(["--format", "json"]);
    assert_eq!(json_of(&mut t.qsim(&json), 3)["verdict"], "inconclusive");
    // One run that ends is enough: the study tells something again.
    t.qsim(&[
        "explore",
        "fanout.toml",
        "--mode",
        "random",
        "--runs",
        "20",
        "--max-events",
        "60",
    ])
    .assert()
    .code(1);
}

#[test]
fn issue_14_a_proof_is_suggested_only_in_the_mode_that_can_give_it() {
    let t = CliTest::with_fanout();
    t.write("endless.toml", ENDLESS);
    let safe = ["--set", "pool.default.workers=3"];
    let mut args = vec!["explore", "fanout.toml", "--mode", "random", "--runs", "50"];
    args.extend(safe);
    t.qsim(&args).assert().code(0).stdout(contains(
        "  no run deadlocked: this is evidence, not a proof (use --mode exhaustive for one)\n",
    ));
    // Endless arrivals: only exact timing up to the horizon can be searched, and that works.
    t.qsim(&["explore", "endless.toml", "--runs", "5"])
        .assert()
        .code(0)
        .stdout(contains(
            "  no run deadlocked: this is evidence, not a proof (--mode exhaustive --timing \
             exact gives one for the mean durations)\n",
        ));
    t.qsim(&[
        "explore",
        "endless.toml",
        "--mode",
        "exhaustive",
        "--timing",
        "exact",
    ])
    .assert()
    .code(0);
    // A horizon given to random mode only: the same search needs it too.
    t.qsim(&["explore", "endless.toml", "--runs", "5", "--horizon", "30s"])
        .assert()
        .code(0)
        .stdout(contains(
            "(--mode exhaustive --timing exact --set horizon=30s gives one for the mean durations)",
        ));
}

/// A fan-out of two levels: a schedule of `fanout.toml` fits its first steps.
const NESTED: &str = r#"
name = "nested_fanout"
seed = 1
[[pool]]
workers = 5
[[task]]
name = "main_task"
steps = [{ spawn = "middle", count = 2 }, { wait = "children" }]
[[task]]
name = "middle"
steps = [{ spawn = "leaf", count = 3 }, { wait = "children" }]
[[task]]
name = "leaf"
steps = [{ work = "1s" }]
[[arrival]]
task = "main_task"
at = ["0s", "1s"]
"#;

#[test]
fn issue_14_a_schedule_is_replayed_only_on_the_scenario_it_was_found_on() {
    let t = CliTest::with_fanout();
    t.write("nested.toml", NESTED);
    t.qsim(&["explore", "fanout.toml", "--schedule-out", "s.json", "-q"])
        .assert()
        .code(1);
    let schedule: serde_json::Value = serde_json::from_str(&t.read("s.json")).unwrap();
    // Pinned: the fingerprint is the same on every run and platform (a change here means
    // schedules written by earlier builds are refused: say so in the release notes).
    assert_eq!(schedule["scenario_fingerprint"], "xxh3:4bc8b8761cf4fd75");

    let refused = "error: schedule s.json: found on another scenario: \"fanout\" with \
                   fingerprint xxh3:4bc8b8761cf4fd75, while ";
    t.qsim(&["replay", "nested.toml", "--schedule", "s.json"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(contains(format!(
            "{refused}\"nested_fanout\" as loaded here (with its --set overrides) has xxh3:"
        )))
        .stderr(contains(
            "; replay it with the scenario file, --set overrides and --arrivals-from it was \
             explored with\n",
        ));
    // The same file with other overrides is another scenario too; with the same, the same.
    t.qsim(&[
        "explore",
        "fanout.toml",
        "--set",
        "pool.default.workers=1",
        "--schedule-out",
        "one.json",
        "-q",
    ])
    .assert()
    .code(1);
    t.qsim(&["replay", "fanout.toml", "--schedule", "one.json"])
        .assert()
        .code(2)
        .stderr(contains("found on another scenario"));
    t.qsim(&[
        "replay",
        "fanout.toml",
        "--set",
        "pool.default.workers=1",
        "--schedule",
        "one.json",
    ])
    .assert()
    .code(1)
    .stderr("");
    // Renamed, described and re-seeded, it is still the scenario the schedule fits.
    t.write(
        "renamed.toml",
        &crate::FANOUT
            .replace(
                "name = \"fanout\"",
                "name = \"other\"\ndescription = \"a copy\"",
            )
            .replace("seed = 1", "seed = 99"),
    );
    t.qsim(&["replay", "renamed.toml", "--schedule", "s.json"])
        .assert()
        .code(1)
        .stdout(contains("other: deadlock at 0s"));
}

#[test]
fn issue_14_an_older_schedule_without_a_fingerprint_still_replays() {
    let t = CliTest::with_fanout();
    t.write(
        "old.json",
        r#"{"scenario":"fanout","seed":1,"timing":"any","steps":["arrival 0","arrival 0",
            "take default/1","run main_task#1","take default/2","run main_task#2"]}"#,
    );
    t.qsim(&["replay", "fanout.toml", "--schedule", "old.json"])
        .assert()
        .code(1)
        .stdout(contains("fanout: deadlock at 0s"))
        .stderr(
            "note: schedule old.json records no scenario fingerprint (an older qsim wrote it), \
             so only its steps are checked against the scenario\n",
        );
}

#[test]
fn issue_14_huge_text_in_a_schedule_is_cut_in_messages() {
    let t = CliTest::with_fanout();
    let huge = "x".repeat(10_000);
    t.write(
        "step.json",
        &format!(
            r#"{{"scenario":"fanout","seed":1,"timing":"any","steps":["arrival 0","take {huge}"]}}"#
        ),
    );
    let stderr = |args: &[&str]| {
        let out = t.qsim(args).assert().code(2).get_output().stderr.clone();
        String::from_utf8(out).unwrap()
    };
    let message = stderr(&["replay", "fanout.toml", "--schedule", "step.json"]);
    let message = message.lines().last().unwrap();
    assert!(message.len() < 400, "{message}");
    assert!(
        message.starts_with(&format!(
            "error: schedule step.json: step 2: \"take {}…\" is not possible here",
            &huge[..55]
        )),
        "{message}"
    );
    t.write(
        "name.json",
        &format!(r#"{{"scenario":"{huge}","seed":1,"timing":"any","steps":[],"scenario_fingerprint":"{huge}"}}"#),
    );
    let message = stderr(&["replay", "fanout.toml", "--schedule", "name.json"]);
    assert!(message.len() < 500, "{message}");
    assert!(
        message.contains(&format!(
            "found on another scenario: \"{}…\" with fingerprint {}…, while",
            &huge[..60],
            &huge[..60]
        )),
        "{message}"
    );
    t.write(
        "timing.json",
        &format!(r#"{{"scenario":"fanout","seed":1,"timing":"{huge}","steps":[]}}"#),
    );
    let message = stderr(&["replay", "fanout.toml", "--schedule", "timing.json"]);
    assert!(message.len() < 400, "{message}");
    assert!(message.contains("…"), "{message}");
}

#[test]
fn issue_14_no_deadlock_means_no_schedule_written_and_a_note() {
    let t = CliTest::with_fanout();
    t.write("s.json", "an older schedule");
    let note = "note: no deadlock found, so no schedule was written to s.json (a file already \
                there is left as it is)\n";
    let safe = ["--set", "pool.default.workers=3"];
    let mut args = vec!["explore", "fanout.toml", "--schedule-out", "s.json"];
    args.extend(safe);
    let free = t
        .qsim(&args)
        .assert()
        .code(0)
        .stderr(note)
        .get_output()
        .clone();
    // The answer is the one without --schedule-out.
    args.truncate(2);
    args.extend(safe);
    t.qsim(&args)
        .assert()
        .code(0)
        .stderr("")
        .stdout(free.stdout);
    // Inconclusive: no deadlock found either.
    t.qsim(&[
        "explore",
        "fanout.toml",
        "--no-reductions",
        "--max-states",
        "3",
        "--schedule-out",
        "s.json",
        "--set",
        "pool.default.workers=3",
    ])
    .assert()
    .code(3)
    .stderr(note);
    assert_eq!(t.read("s.json"), "an older schedule");
}
