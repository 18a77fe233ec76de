//! `--arrivals-from FILE.csv` (issue 15 §6): recorded arrivals replace the scenario's streams
//! in `run`, `explore`, `replay`, `sweep` and `plan`; errors point into the CSV.

use predicates::str::contains;

use super::CliTest;

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

/// Three parents half a second apart, in no order, one time quoted (the scenario's own two
/// arrive together at 0s).
const SPREAD: &str = "time,task\n1s,main_task\n0,main_task\n\"0.5\",main_task\n";

#[test]
fn a_run_replays_the_recorded_arrivals_instead_of_the_scenarios() {
    let t = CliTest::with_fanout();
    t.write("traffic.csv", SPREAD);
    let out = t
        .qsim(&[
            "run",
            "fanout.toml",
            "--arrivals-from",
            "traffic.csv",
            "--set",
            "pool.default.workers=6",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v = json(&out);
    // Three arrivals (the scenario's two are gone), each spawning 10.
    assert_eq!(v["tasks"]["main_task"]["arrived"], 3);
    assert_eq!(v["tasks"]["subtask"]["arrived"], 30);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "note: arrivals replayed from traffic.csv (3 arrivals of 1 task type from 0s to 1s), \
         in place of the scenario's [[arrival]] streams\n"
    );
    // On 2 workers the recording deadlocks too, but at 40s rather than 0s: the first parent's
    // children run one by one on the other worker, and the later parents, queued behind them,
    // then take both workers.
    t.qsim(&["run", "fanout.toml", "--arrivals-from", "traffic.csv"])
        .assert()
        .code(1)
        .stdout(contains("fanout: deadlock at 40s"));
}

#[test]
fn errors_point_into_the_csv() {
    let t = CliTest::with_fanout();
    t.write("typo.csv", "time,task\n0,main_task\n2.5s,main_tsk\n");
    t.qsim(&["run", "fanout.toml", "--arrivals-from", "typo.csv"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(
            "error: typo.csv:3:6: unknown task \"main_tsk\" (known: main_task, subtask)\n  |\n3 | \
             2.5s,main_tsk\n  |      ^\n",
        );
    t.write("late.csv", "time,task\n0,main_task\n2 days,main_task\n");
    t.qsim(&[
        "sweep",
        "fanout.toml",
        "--vary",
        "pool.default.workers=2,3",
        "--arrivals-from",
        "late.csv",
    ])
    .assert()
    .code(2)
    .stderr(contains("error: late.csv:3:1: expected a duration such as"));
    t.write("empty.csv", "");
    t.qsim(&["explore", "fanout.toml", "--arrivals-from", "empty.csv"])
        .assert()
        .code(2)
        .stderr(contains("error: empty.csv:1:1: the file is empty"));
    t.write("cols.csv", "when,task\n0,main_task\n");
    t.qsim(&[
        "plan",
        "fanout.toml",
        "--pool",
        "default",
        "--slo",
        "deadlock<=0",
        "--arrivals-from",
        "cols.csv",
    ])
    .assert()
    .code(2)
    .stderr(contains("error: cols.csv:1:1: missing column \"time\""));
    t.qsim(&["run", "fanout.toml", "--arrivals-from", "missing.csv"])
        .assert()
        .code(2)
        .stderr(contains("error: missing.csv: "));
}

#[test]
fn overrides_of_the_replaced_arrivals_are_refused() {
    let t = CliTest::with_fanout();
    t.write("traffic.csv", SPREAD);
    t.qsim(&[
        "run",
        "fanout.toml",
        "--arrivals-from",
        "traffic.csv",
        "--set",
        "arrival.0.at=[\"1s\"]",
    ])
    .assert()
    .code(2)
    .stderr(
        "error: --set arrival.0.at=[\"1s\"] changes the scenario's [[arrival]] streams, which \
             --arrivals-from replaces: drop one or the other\n",
    );
    t.qsim(&[
        "sweep",
        "fanout.toml",
        "--arrivals-from",
        "traffic.csv",
        "--vary",
        "arrival.0.at=[\"1s\"],[\"2s\"]",
    ])
    .assert()
    .code(2)
    .stderr(contains(
        "error: --vary arrival.0.at changes the scenario's [[arrival]] streams",
    ));
}

#[test]
fn no_output_file_is_written_over_the_csv() {
    let t = CliTest::with_fanout();
    t.write("traffic.csv", SPREAD);
    t.qsim(&[
        "run",
        "fanout.toml",
        "--arrivals-from",
        "traffic.csv",
        "--trace",
        "traffic.csv",
    ])
    .assert()
    .code(2)
    .stderr(contains(
        "traffic.csv: is the same file as the input traffic.csv",
    ));
    assert_eq!(t.read("traffic.csv"), SPREAD);
}

#[test]
fn explore_decides_the_recorded_arrivals_and_replay_needs_them_too() {
    let t = CliTest::with_fanout();
    t.write("traffic.csv", SPREAD);
    // Finite arrivals: exhaustive by default. Three parents on 3 workers deadlock under some
    // timing; on 4 they cannot.
    t.qsim(&[
        "explore",
        "fanout.toml",
        "--arrivals-from",
        "traffic.csv",
        "--set",
        "pool.default.workers=3",
        "--schedule-out",
        "s.json",
    ])
    .assert()
    .code(1)
    .stdout(contains("fanout: deadlock under any timing"));
    t.qsim(&[
        "explore",
        "fanout.toml",
        "--arrivals-from",
        "traffic.csv",
        "--set",
        "pool.default.workers=4",
    ])
    .assert()
    .code(0)
    .stdout(contains("deadlock-free"));
    // The schedule is of the scenario with these arrivals: replayed with them, it deadlocks;
    // without them, it is another scenario's.
    t.qsim(&[
        "replay",
        "fanout.toml",
        "--schedule",
        "s.json",
        "--arrivals-from",
        "traffic.csv",
        "--set",
        "pool.default.workers=3",
    ])
    .assert()
    .code(1);
    t.qsim(&[
        "replay",
        "fanout.toml",
        "--schedule",
        "s.json",
        "--set",
        "pool.default.workers=3",
    ])
    .assert()
    .code(2)
    .stderr(contains("found on another scenario"));
}

#[test]
fn a_sweep_says_so_and_its_reproduce_command_carries_the_csv() {
    let t = CliTest::with_fanout();
    t.write("traffic.csv", SPREAD);
    let out = t
        .qsim(&[
            "sweep",
            "fanout.toml",
            "--arrivals-from",
            "traffic.csv",
            "--vary",
            "pool.default.workers=2..4",
            "--runs",
            "2",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with(
            "fanout: 3 points × 2 runs (seed 1), arrivals replayed from traffic.csv\n"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "reproduce run 0 of the first point: qsim run fanout.toml --arrivals-from \
             'traffic.csv' --set 'pool.default.workers=2' --set seed="
        ),
        "{text}"
    );
    let out = t
        .qsim(&[
            "sweep",
            "fanout.toml",
            "--arrivals-from",
            "traffic.csv",
            "--vary",
            "pool.default.workers=2..4",
            "--runs",
            "2",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let v = json(&out);
    assert_eq!(v["arrivals_from"], "traffic.csv");
    // 2 workers deadlock on every run; 4 never do.
    assert_eq!(v["points"][0]["deadlock"]["deadlocks"], 2);
    assert_eq!(v["points"][2]["deadlock"]["deadlocks"], 0);
}

#[test]
fn plan_sizes_the_pool_for_the_recorded_traffic() {
    let t = CliTest::with_fanout();
    t.write("traffic.csv", SPREAD);
    // The scenario's two parents at 0s need 3 workers; the recording's three need 4 to be
    // free of deadlock under every ordering, but sampled in the canonical order 3 suffice.
    let out = t
        .qsim(&[
            "plan",
            "fanout.toml",
            "--arrivals-from",
            "traffic.csv",
            "--pool",
            "default",
            "--slo",
            "deadlock<=0",
            "--runs",
            "3",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(json(&out)["answer"], 3);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("note: arrivals replayed from traffic.csv")
    );
}
