//! A full or closed stderr never changes an exit code into a panic's 101 (issue 14).
//!
//! Each command runs with its stderr on `/dev/full` (every write fails with "no space left"),
//! opened for writing only, so the device itself is never touched; stdout is kept, to check
//! that the answer is still printed. Every line qsim writes to stderr is covered: errors,
//! clap's usage errors, notes and warnings.

use std::fs::File;
use std::process::{Command, Output, Stdio};

use crate::CliTest;

/// `qsim ARGS...` in `t`'s directory with stderr on `/dev/full`; `None` where there is no
/// `/dev/full` to open.
fn with_stderr_full(t: &CliTest, args: &[&str]) -> Option<Output> {
    let full = File::options().write(true).open("/dev/full").ok()?;
    let output = Command::new(assert_cmd::cargo::cargo_bin("qsim"))
        .current_dir(t.path(""))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::from(full))
        .output()
        .expect("qsim runs");
    Some(output)
}

fn code(output: &Output) -> i32 {
    output.status.code().expect("an exit code, not a signal")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

#[test]
fn issue_14_every_message_to_a_full_stderr_keeps_the_exit_code() {
    let t = CliTest::with_fanout();
    t.write(
        "zero.toml",
        &crate::FANOUT.replace("workers = 2", "workers = 0"),
    );
    t.write(
        "prio.toml",
        &crate::FANOUT.replace("name = \"subtask\"", "name = \"subtask\"\npriority = 3"),
    );
    t.write(
        "old.json",
        r#"{"scenario":"fanout","seed":1,"timing":"any","steps":["arrival 0"]}"#,
    );
    let safe = "pool.default.workers=3";
    let cases: &[(&[&str], i32, &str)] = &[
        // errors: a scenario, usage (clap's and qsim's), a replay refused
        (&["run", "zero.toml"], 2, ""),
        (&["run", "fanout.toml", "--bogus"], 2, ""),
        (
            &["explore", "fanout.toml", "--mode", "random", "--runs", "0"],
            2,
            "",
        ),
        (&["explore", "fanout.toml", "--runs", "5"], 2, ""),
        (
            &["check", "zero.toml", "fanout.toml"],
            2,
            "fanout.toml: ok\n",
        ),
        // notes: no wait-for graph, no schedule, an old schedule
        (
            &["run", "fanout.toml", "--set", safe, "--dot", "g.dot"],
            0,
            "completed",
        ),
        (
            &[
                "explore",
                "fanout.toml",
                "--set",
                safe,
                "--schedule-out",
                "s.json",
            ],
            0,
            "deadlock-free",
        ),
        (
            &["replay", "fanout.toml", "--schedule", "old.json"],
            1,
            "deadlock at 0s",
        ),
        // warnings
        (&["run", "prio.toml"], 1, "deadlock at 0s"),
        (&["check", "prio.toml"], 0, "prio.toml: ok\n"),
        (
            &["explore", "prio.toml", "-q"],
            1,
            "deadlock under any timing",
        ),
        // no message at all: a result that is not a success
        (
            &[
                "explore",
                "fanout.toml",
                "--mode",
                "random",
                "--runs",
                "5",
                "--max-events",
                "1",
            ],
            3,
            "inconclusive: every run hit a limit",
        ),
    ];
    for (args, expected, printed) in cases {
        let Some(output) = with_stderr_full(&t, args) else {
            eprintln!("no /dev/full: not tested");
            return;
        };
        assert_eq!(code(&output), *expected, "qsim {}", args.join(" "));
        assert!(
            stdout(&output).contains(printed),
            "qsim {}: {}",
            args.join(" "),
            stdout(&output)
        );
    }
    assert_eq!(
        t.files(),
        ["fanout.toml", "old.json", "prio.toml", "zero.toml"],
        "no file written"
    );
}

#[test]
fn issue_14_a_closed_stderr_keeps_the_exit_code() {
    let t = CliTest::with_fanout();
    let qsim = assert_cmd::cargo::cargo_bin("qsim");
    for (args, expected) in [
        ("run fanout.toml --bogus", 2),
        ("explore fanout.toml --runs 5", 2),
        (
            "run fanout.toml --set pool.default.workers=3 --dot g.dot",
            0,
        ),
        ("check nosuch.toml", 2),
    ] {
        let status = Command::new("sh")
            .current_dir(t.path(""))
            .arg("-c")
            .arg(format!("'{}' {args} 2>&-", qsim.display()))
            .stdout(Stdio::null())
            .status()
            .expect("sh runs");
        assert_eq!(status.code(), Some(expected), "qsim {args}");
    }
    assert_eq!(t.files(), ["fanout.toml"]);
}
