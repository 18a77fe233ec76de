//! `qsim check`, and the warnings every command prints for a scenario (issue 14).

use predicates::prelude::*;
use predicates::str::contains;

use crate::CliTest;

/// A valid scenario whose task has a priority its fifo queue ignores.
const IGNORED_PRIORITY: &str = r#"
name = "jobs"
[[pool]]
workers = 1

[[task]]
name = "job"
priority = 5
steps = [{ work = "1s" }]

[[arrival]]
task = "job"
at = ["0s"]
"#;

const WARNING: &str = "warning: prio.toml:8:12: priority 5 has no effect: task \"job\" goes to \
                       queue \"default\", which is fifo (only a queue with discipline = \
                       \"priority\" orders tasks by priority)\n  |\n8 | priority = 5\n  |            ^\n";

#[test]
fn issue_14_check_validates_every_file_without_running_it() {
    let t = CliTest::with_fanout();
    t.write("fanout2.toml", crate::FANOUT);
    t.qsim(&["check", "fanout.toml", "fanout2.toml"])
        .assert()
        .code(0)
        .stdout("fanout.toml: ok\nfanout2.toml: ok\n")
        .stderr("");
    t.qsim(&["check", "-q", "fanout.toml", "fanout2.toml"])
        .assert()
        .code(0)
        .stdout("")
        .stderr("");
    // A deadlocking scenario is a valid one: check runs nothing.
    t.qsim(&["check", "fanout.toml", "--set", "pool.default.workers=1"])
        .assert()
        .code(0)
        .stdout("fanout.toml: ok\n");
}

#[test]
fn issue_14_check_reports_every_invalid_file_not_just_the_first() {
    let t = CliTest::with_fanout();
    t.write(
        "zero.toml",
        &crate::FANOUT.replace("workers = 2", "workers = 0"),
    );
    t.write(
        "typo.toml",
        &crate::FANOUT.replace("spawn = \"subtask\"", "spawn = \"subtsk\""),
    );
    let output = t
        .qsim(&[
            "check",
            "zero.toml",
            "fanout.toml",
            "typo.toml",
            "missing.toml",
        ])
        .assert()
        .code(2)
        .stdout("fanout.toml: ok\n")
        .get_output()
        .clone();
    let stderr = String::from_utf8(output.stderr).unwrap();
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .collect();
    assert_eq!(errors.len(), 3, "{stderr}");
    assert!(errors[0].starts_with("error: zero.toml:6:11: "), "{stderr}");
    assert!(errors[1].starts_with("error: typo.toml:10:"), "{stderr}");
    assert!(errors[1].contains("unknown task \"subtsk\""), "{stderr}");
    assert!(errors[2].starts_with("error: missing.toml: "), "{stderr}");
    // -q leaves the errors.
    t.qsim(&["check", "-q", "zero.toml", "fanout.toml"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(contains("error: zero.toml:6:11: "));
    // Without a file it is a usage error.
    t.qsim(&["check"])
        .assert()
        .code(2)
        .stderr(contains("<FILE>..."));
}

#[test]
fn issue_14_a_priority_on_a_fifo_queue_is_a_warning_in_every_command() {
    let t = CliTest::empty();
    t.write("prio.toml", IGNORED_PRIORITY);
    t.qsim(&["check", "prio.toml"])
        .assert()
        .code(0)
        .stdout("prio.toml: ok\n")
        .stderr(WARNING);
    t.qsim(&["check", "-q", "prio.toml"])
        .assert()
        .code(0)
        .stdout("")
        .stderr(WARNING);
    // The result and the exit code are those without the priority.
    let without = IGNORED_PRIORITY.replace("priority = 5\n", "");
    t.write("plain.toml", &without);
    let run = |file: &str| {
        let out = t.qsim(&["run", file, "--format", "json"]).assert().code(0);
        out.get_output().clone()
    };
    let (warned, plain) = (run("prio.toml"), run("plain.toml"));
    assert_eq!(
        String::from_utf8(warned.stdout).unwrap(),
        String::from_utf8(plain.stdout).unwrap()
    );
    assert_eq!(String::from_utf8(warned.stderr).unwrap(), WARNING);
    assert!(plain.stderr.is_empty());
    t.qsim(&["explore", "prio.toml", "-q"])
        .assert()
        .code(0)
        .stderr(WARNING);
    // On a priority queue there is nothing to warn about.
    t.write(
        "ordered.toml",
        &format!("{IGNORED_PRIORITY}\n[[queue]]\nname = \"default\"\ndiscipline = \"priority\"\n"),
    );
    t.qsim(&["check", "ordered.toml"])
        .assert()
        .code(0)
        .stderr("");
    // Given by --set, the warning says so.
    t.qsim(&["check", "plain.toml", "--set", "task.job.priority=2"])
        .assert()
        .code(0)
        .stderr(contains("priority 2 has no effect").and(contains("(in a line written by --set)")));
}
