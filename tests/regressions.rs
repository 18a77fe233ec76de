//! Regression tests for issue 14: inputs and commands that made a released `qsim` misbehave
//! (found by fuzzing and hostile use), each run the way the report ran it.
//!
//! The inputs are in `tests/regressions/`, as they were found. Each test names what happened
//! then, and checks what qsim does now: a clear error at validation (exit 2, naming the file,
//! line and column, and the number the scenario would reach), never a panic, an allocation
//! abort or a run that fills memory. Every run has a timeout, so a regression fails rather than
//! hangs.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use predicates::prelude::*;
use predicates::str::contains;

/// Longer than validation ever takes, far shorter than the runs these inputs used to start.
const TIMEOUT: Duration = Duration::from_secs(30);

fn regressions() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/regressions")
}

fn project() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `qsim ARGS...`, run in `tests/regressions` so that messages name the files as the report did.
fn qsim(args: &[&str]) -> Command {
    qsim_in(&regressions(), args)
}

fn qsim_in(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::cargo_bin("qsim").expect("the qsim binary");
    cmd.current_dir(dir).args(args).timeout(TIMEOUT);
    cmd
}

/// The first line of stderr of a run that must be refused at validation.
fn refused(args: &[&str]) -> String {
    let out = qsim(args).assert().code(2).get_output().clone();
    assert!(out.stdout.is_empty(), "a refused scenario prints no report");
    let stderr = String::from_utf8(out.stderr).expect("utf-8");
    stderr.lines().next().unwrap_or_default().to_string()
}

// ---------------------------------------------------------------------------------------------
// Scenarios too big to simulate

#[test]
fn issue_14_exponential_call_inlining_is_refused_before_inlining() {
    // Was: 2^30 inlined steps, 18.5 GB in 60 s (run), 9.5 GB in 34 s (explore --max-time 5s).
    let expected = "error: call_inlining_exponential.toml:5:8: inlining the calls of task \"c0\" \
                    would give 1073741824 steps; at most 1000000 are allowed";
    assert_eq!(
        refused(&["run", "call_inlining_exponential.toml"]),
        expected
    );
    assert_eq!(
        refused(&[
            "explore",
            "call_inlining_exponential.toml",
            "--max-time",
            "5s"
        ]),
        expected
    );
}

#[test]
fn issue_14_alloc_abort_0b01e91157_inlining_is_refused() {
    // Was: the same pattern at 2^24, allocation abort (exit 134).
    assert_eq!(
        refused(&["run", "alloc_abort_0b01e91157.toml", "--format", "json"]),
        "error: alloc_abort_0b01e91157.toml:2:69: inlining the calls of task \"c0\" would give \
         16777216 steps; at most 1000000 are allowed"
    );
}

#[test]
fn issue_14_alloc_abort_a672cdf57b_horizon_beyond_the_clock_is_refused() {
    // Was: explore --max-states 20000 aborted allocating 1.2 GB; its horizon is 292 years.
    assert_eq!(
        refused(&[
            "explore",
            "alloc_abort_a672cdf57b.toml",
            "--max-states",
            "20000"
        ]),
        "error: alloc_abort_a672cdf57b.toml:4:11: duration 9223372036.854776 is too long (at \
         most 2^62 ns, about 146 years)"
    );
}

#[test]
fn issue_14_alloc_abort_db30aa2103_spawn_chain_is_refused() {
    // Was: a chain of spawns multiplying to huge counts, allocation abort in explore.
    assert_eq!(
        refused(&[
            "explore",
            "alloc_abort_db30aa2103.toml",
            "--mode",
            "random",
            "--runs",
            "50"
        ]),
        "error: alloc_abort_db30aa2103.toml:3:84: one instance of task \"c0\" leads to more than \
         18446744073709551614 task instances in all (itself, its children, theirs and their \
         callbacks); at most 10000000 are allowed"
    );
}

#[test]
fn issue_14_alloc_abort_e5777d937a_ten_million_grandchildren_are_refused() {
    // Was: a 1.5 GB allocation abort in run; 10 children each spawning 1e6.
    assert_eq!(
        refused(&["run", "alloc_abort_e5777d937a.toml", "--format", "json"]),
        "error: alloc_abort_e5777d937a.toml:9:8: one instance of task \"a\" leads to 10000011 \
         task instances in all (itself, its children, theirs and their callbacks); at most \
         10000000 are allowed"
    );
}

#[test]
fn issue_14_a_million_children_of_a_million_children_are_refused() {
    // Was: explore --max-memory 100 --max-time 10s at 6 GB after 60 s, neither budget firing.
    let expected = "error: explore_budgets_ignored_fanout.toml:5:8: one instance of task \"a\" \
                    leads to 1000001000001 task instances in all (itself, its children, theirs \
                    and their callbacks); at most 10000000 are allowed";
    assert_eq!(
        refused(&[
            "explore",
            "explore_budgets_ignored_fanout.toml",
            "--max-memory",
            "100",
            "--max-time",
            "10s"
        ]),
        expected
    );
    assert_eq!(
        refused(&["run", "explore_budgets_ignored_fanout.toml"]),
        expected
    );
}

#[test]
fn issue_14_a_hundred_million_workers_are_refused() {
    // Was: 1000 pools of 100 000 workers allocated before any limit.
    assert_eq!(
        refused(&["run", "mem_1e8_workers.toml"]),
        "error: mem_1e8_workers.toml:33:11: pool \"p10\" brings the workers of all pools to \
         1100000; at most 1000000 are allowed in all"
    );
}

#[test]
fn issue_14_a_flood_with_a_horizon_is_still_a_valid_scenario() {
    // A billion arrivals per second for an hour: `qsim run` stops at the task limit after
    // several seconds and 1.7 GB (a memory budget for run is another part of the issue), so it
    // is not run here; the limits of this file must not refuse it.
    let path = regressions().join("mem_default_max_tasks_flood.toml");
    let scenario = qsim::scenario::load(&path, &[]).expect("a valid scenario");
    assert_eq!(
        scenario.horizon,
        Some(3600 * qsim::scenario::TICKS_PER_SECOND)
    );
}

// ---------------------------------------------------------------------------------------------
// The clock

#[test]
fn issue_14_instants_that_saturate_the_clock_are_refused() {
    // Was: every arrival saturated to the same instant, 10M tasks at one instant, 1.7 GB.
    assert_eq!(
        refused(&["run", "saturating_every_endless_same_instant.toml"]),
        "error: saturating_every_endless_same_instant.toml:14:9: duration \
         \"18446744073709551615ns\" is too long (at most 2^62 ns, about 146 years)"
    );
}

#[test]
fn issue_14_an_end_time_that_wrapped_to_0s_is_refused() {
    // Was: text said "completed at 0s", JSON 18446744073.7 s, a 1 s work 709.552ms of latency.
    assert_eq!(
        refused(&["run", "text_end_time_wraps_to_0s.toml"]),
        "error: text_end_time_wraps_to_0s.toml:11:7: duration \"18446744073s\" is too long (at \
         most 2^62 ns, about 146 years)"
    );
}

#[test]
fn the_longest_valid_instants_still_report_correct_times() {
    // An arrival at the largest instant allowed, and a second of work after it: the end is
    // 4611686019.427387904 s, not 0s.
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("late.toml"),
        "[[pool]]\nworkers = 1\n[[task]]\nname = \"t\"\nsteps = [{ work = \"1s\" }]\n\
         [[arrival]]\ntask = \"t\"\nat = [\"4611686018427387904ns\"]\n",
    )
    .unwrap();
    qsim_in(dir.path(), &["run", "late.toml"])
        .assert()
        .code(0)
        .stdout(contains("late: completed at 1281023h53m39.427s"));
    let out = qsim_in(dir.path(), &["run", "late.toml", "--format", "json"])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let json: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let end = json["end_time_s"].as_f64().expect("an end time");
    assert!((end - 4_611_686_019.427_388).abs() < 1e-3, "{json}");
}

// ---------------------------------------------------------------------------------------------
// Messages

/// Nothing of qsim's insides in a message (after its `file:line:column:`): Rust types,
/// serde's backticks.
fn assert_plain_words(message: &str) {
    let message = message.splitn(4, ':').last().unwrap_or(message);
    for internal in ["Decl", "struct ", "i128", "i64", "i32", "u64", "`"] {
        assert!(
            !message.contains(internal),
            "{internal:?} in the message: {message}"
        );
    }
}

#[test]
fn issue_14_a_count_beyond_i128_says_the_range() {
    // Was: "expected a whole number, found 18446744073709551616` as i128".
    let message = refused(&["run", "msg_i128_backtick.toml"]);
    assert_eq!(
        message,
        "error: msg_i128_backtick.toml:6:33: expected count to be a whole number from 1 to \
         1000000, found 18446744073709551616"
    );
    assert_plain_words(&message);
}

#[test]
fn issue_14_a_count_beyond_i64_says_the_range() {
    // Was: "expected a whole number" for a whole number.
    let message = refused(&["run", "msg_count_whole_number.toml"]);
    assert_eq!(
        message,
        "error: msg_count_whole_number.toml:6:33: expected count to be a whole number from 1 to \
         1000000, found 9223372036854775808"
    );
    assert_plain_words(&message);
}

#[test]
fn issue_14_a_priority_beyond_i32_says_the_range() {
    let message = refused(&["run", "priority_range_msg.toml"]);
    assert_eq!(
        message,
        "error: priority_range_msg.toml:6:12: expected priority to be a whole number from \
         -2147483648 to 2147483647, found 2147483648"
    );
    assert_plain_words(&message);
}

#[test]
fn issue_14_no_struct_names_in_messages() {
    // Was: "invalid length 0, expected struct TaskDecl with 4 elements".
    let message = refused(&["run", "msg_struct_name_leak.toml"]);
    assert_eq!(
        message,
        "error: msg_struct_name_leak.toml:1:9: expected a [[task]] table, found an array"
    );
    assert_plain_words(&message);
    for text in [
        "pool = [[]]\n",
        "queue = [[]]\n[[pool]]\nworkers = 1\n",
        "arrival = [[]]\n[[pool]]\nworkers = 1\n",
        "pool = [1]\n",
        "[[pool]]\nworkers = \"2\"\n",
        "seed = 1.5\n",
        "seed = [1]\n",
        "[[pool]]\nworkers = 1\n[[task]]\nname = 1\n",
        "[[pool]]\nworkers = 99999999999999999999999999999999999999999\n",
    ] {
        match qsim::scenario::parse("t.toml", text, &[]) {
            Ok(_) => panic!("accepted: {text}"),
            Err(e) => assert_plain_words(&e.to_string()),
        }
    }
}

/// A scenario text in a scratch folder, run as `qsim run s.toml ARGS...`; the first line of
/// stderr.
fn run_text(text: &str, args: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("s.toml"), text).unwrap();
    let mut all = vec!["run", "s.toml"];
    all.extend(args);
    let out = qsim_in(dir.path(), &all)
        .assert()
        .code(2)
        .get_output()
        .clone();
    String::from_utf8(out.stderr)
        .unwrap()
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}

const ONE_TASK: &str =
    "[[pool]]\nworkers = 1\n[[task]]\nname = \"t\"\nsteps = [{ work = \"1s\" }]\n\
                        [[arrival]]\ntask = \"t\"\nat = [\"0s\"]\n";

#[test]
fn issue_14_a_discipline_that_is_not_a_string_says_what_was_found() {
    assert_eq!(
        run_text(
            "[[queue]]\nname = \"q\"\ndiscipline = nan\n[[pool]]\nworkers = 1\n",
            &[]
        ),
        "error: s.toml:3:14: expected \"fifo\", \"lifo\" or \"priority\", found nan"
    );
}

#[test]
fn issue_14_single_brackets_get_a_hint() {
    assert_eq!(
        run_text("[pool]\nworkers = 1\n", &[]),
        "error: s.toml:1:1: expected an array of tables, found a table: write [[pool]] (two \
         brackets) before each pool"
    );
}

#[test]
fn issue_14_invalid_toml_in_set_is_called_invalid_toml() {
    let first = run_text(ONE_TASK, &["--set", "pool.default.queues=[\"default\","]);
    assert!(
        first.starts_with(
            "error: --set pool.default.queues=[\"default\",: the value starts like an array but \
             is not valid TOML ("
        ),
        "{first}"
    );
    assert!(!first.contains("expected an array"), "{first}");
    // What a shell leaves of --set arrival.0.at=["0s"] without single quotes.
    let unquoted = run_text(ONE_TASK, &["--set", "arrival.0.at=[0s]"]);
    assert!(unquoted.contains("quote the whole argument"), "{unquoted}");
}

#[test]
fn issue_14_an_empty_file_is_not_blamed_on_set() {
    let message = run_text("", &[]);
    assert_eq!(
        message,
        "error: s.toml:1:1: a scenario needs at least one [[pool]] (with workers = N)"
    );
}

#[test]
fn issue_14_a_duration_string_without_a_unit_names_the_units() {
    let text = ONE_TASK.replace("at = [\"0s\"]", "every = \"5\"\ncount = 2");
    assert_eq!(
        run_text(&text, &[]),
        "error: s.toml:8:9: duration \"5\" has no unit (expected ns, us, ms, s, m or h, as in \
         \"5s\"; a number without quotes is seconds)"
    );
    // A bare number is still seconds.
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("s.toml"),
        ONE_TASK.replace("at = [\"0s\"]", "every = 5\ncount = 2"),
    )
    .unwrap();
    qsim_in(dir.path(), &["run", "s.toml"])
        .assert()
        .code(0)
        .stdout(contains("s: completed at 6s"));
}

#[test]
fn issue_14_the_reproduce_command_of_a_random_exploration_reproduces() {
    // Was: the printed `--set seed=9848753966768412663` refused (TOML integers stop at 2^63).
    let out = qsim_in(
        &project(),
        &[
            "explore",
            "scenarios/fanout.toml",
            "--mode",
            "random",
            "--runs",
            "20",
            "--seed",
            "2",
        ],
    )
    .assert()
    .code(1)
    .get_output()
    .stdout
    .clone();
    let stdout = String::from_utf8(out).unwrap();
    let command = stdout
        .lines()
        .find_map(|l| l.split_once("reproduce a deadlocking run: qsim "))
        .map(|(_, c)| c.to_string())
        .unwrap_or_else(|| panic!("no reproduce command in:\n{stdout}"));
    let seed = command
        .split_whitespace()
        .find_map(|w| w.strip_prefix("seed="))
        .expect("a seed in the command")
        .to_string();
    assert!(
        seed.parse::<u64>().unwrap() > i64::MAX as u64,
        "the case of the issue: a seed of 2^63 or more ({seed})"
    );
    let args: Vec<&str> = command.split_whitespace().collect();
    qsim_in(&project(), &args)
        .assert()
        .code(1)
        .stdout(contains(format!("deadlock at 0s (seed {seed},")));
}

#[test]
fn issue_14_fuzz_an_error_at_a_final_carriage_return_points_inside_its_line() {
    // Found by tests/fuzz.rs: the file's last newline replaced by a carriage return. toml
    // expects a newline after it, at the end of the text; the column was two past the line.
    let out = qsim(&["run", "fuzz_final_carriage_return.toml"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    let stderr = String::from_utf8(out.stderr).expect("utf-8");
    let lines: Vec<&str> = stderr.lines().collect();
    let line = "steps = [{ work = \"1s\" }]";
    let column = line.chars().count() + 1;
    assert_eq!(
        lines[0],
        format!(
            "error: fuzz_final_carriage_return.toml:7:{column}: carriage return must be \
             followed by newline, expected newline"
        )
    );
    assert_eq!(lines[2], format!("7 | {line}"));
    // The caret stands just after the line's last character.
    assert_eq!(lines[3].find('^'), Some("7 | ".len() + line.len()));
}

// ---------------------------------------------------------------------------------------------
// Standard error closed or full

fn status_with_stderr_full(dir: &Path, args: &[&str]) -> Option<i32> {
    let full = fs::OpenOptions::new().write(true).open("/dev/full").ok()?;
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_qsim"))
        .current_dir(dir)
        .args(args)
        .stdout(Stdio::null())
        .stderr(full)
        .status()
        .expect("qsim runs");
    Some(status.code().expect("an exit code, not a signal"))
}

#[test]
fn issue_14_a_full_stderr_does_not_panic() {
    // Was: exit 101 (a panic printing the error) instead of 2.
    if let Some(code) = status_with_stderr_full(
        &project(),
        &["run", "tests/bad_scenarios/zero_workers.toml"],
    ) {
        assert_eq!(code, 2);
    }
    // Was: exit 101 printing the note that no wait-for graph was written, instead of 0.
    let dir = tempfile::tempdir().unwrap();
    let scenario = project().join("scenarios/fix_more_workers.toml");
    let scenario = scenario.to_str().unwrap();
    if let Some(code) = status_with_stderr_full(dir.path(), &["run", scenario, "--dot", "x.dot"]) {
        assert_eq!(code, 0);
        assert!(!dir.path().join("x.dot").exists());
    }
}

// ---------------------------------------------------------------------------------------------
// Output files (issue 14, §3)

const FANOUT: &str = include_str!("../scenarios/fanout.toml");

/// A scratch folder holding `fanout.toml`.
fn scratch() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("fanout.toml"), FANOUT).unwrap();
    dir
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A character device `name` (major, minor) to write to: made in `dir` with mknod when this
/// process may (as root), else the system's `/dev/NAME`, which an unprivileged process cannot
/// replace whatever qsim does. `None` if neither is there.
fn char_device(dir: &Path, name: &str, major: u32, minor: u32) -> Option<PathBuf> {
    let node = dir.join(name);
    let made = std::process::Command::new("mknod")
        .arg(&node)
        .args(["c", &major.to_string(), &minor.to_string()])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if made {
        return Some(node);
    }
    let system = Path::new("/dev").join(name);
    system.exists().then_some(system)
}

#[cfg(unix)]
fn is_char_device(path: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    fs::symlink_metadata(path)
        .map(|m| m.file_type().is_char_device())
        .unwrap_or(false)
}

#[cfg(unix)]
#[test]
fn issue_14_a_character_device_is_written_through_not_replaced() {
    let dir = scratch();
    let Some(null) = char_device(dir.path(), "null", 1, 3) else {
        return;
    };
    let null = null.to_str().unwrap().to_string();
    qsim_in(dir.path(), &["run", "fanout.toml", "--trace", &null])
        .assert()
        .code(1);
    assert!(is_char_device(Path::new(&null)), "{null} was replaced");
    // A write error on a device is reported, with the path given.
    let Some(full) = char_device(dir.path(), "full", 1, 7) else {
        return;
    };
    let full = full.to_str().unwrap().to_string();
    qsim_in(dir.path(), &["run", "fanout.toml", "--trace", &full])
        .assert()
        .code(2)
        .stderr(contains(format!("error: {full}: No space left on device")));
    assert!(is_char_device(Path::new(&full)));
    assert!(names(dir.path()).iter().all(|n| !n.ends_with(".tmp")));
}

#[cfg(unix)]
fn mkfifo(path: &Path) -> bool {
    std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .is_ok_and(|s| s.success())
}

/// Reads the FIFO at `path` to its end on another thread. A FIFO that nobody opens for writing
/// (a qsim that replaced it instead) would block the reader for ever, so the test waits for the
/// text with a timeout rather than joining the thread.
#[cfg(unix)]
fn read_in_background(path: &Path) -> std::sync::mpsc::Receiver<String> {
    let (send, receive) = std::sync::mpsc::channel();
    let path = path.to_path_buf();
    std::thread::spawn(move || {
        if let Ok(text) = fs::read_to_string(path) {
            let _ = send.send(text);
        }
    });
    receive
}

#[cfg(unix)]
#[test]
fn issue_14_a_fifo_is_written_through() {
    use std::os::unix::fs::FileTypeExt;
    let dir = scratch();
    let fifo = dir.path().join("fifo");
    if !mkfifo(&fifo) {
        return;
    }
    let reader = read_in_background(&fifo);
    qsim_in(dir.path(), &["run", "fanout.toml", "--trace", "fifo"])
        .assert()
        .code(1);
    let trace = reader
        .recv_timeout(TIMEOUT)
        .expect("qsim wrote to the FIFO");
    assert!(
        trace.starts_with("{\"t\":0.0,\"event\":\"arrived\""),
        "{trace}"
    );
    assert_eq!(trace.lines().count(), FANOUT_TRACE_LINES);
    assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());

    // `explore --schedule-out` too.
    let reader = read_in_background(&fifo);
    qsim_in(
        dir.path(),
        &["explore", "fanout.toml", "--schedule-out", "fifo"],
    )
    .assert()
    .code(1);
    let schedule = reader
        .recv_timeout(TIMEOUT)
        .expect("qsim wrote to the FIFO");
    let schedule: serde_json::Value = serde_json::from_str(&schedule).unwrap();
    assert!(schedule["steps"].is_array(), "{schedule}");
    assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
    assert_eq!(names(dir.path()), ["fanout.toml", "fifo"]);
}

/// Events in the trace of one run of `scenarios/fanout.toml`.
const FANOUT_TRACE_LINES: usize = 26;

#[cfg(unix)]
#[test]
fn issue_14_a_symlink_is_followed_and_stays_a_link() {
    let dir = scratch();
    let d = dir.path();
    fs::create_dir(d.join("out")).unwrap();
    std::os::unix::fs::symlink("target.dot", d.join("link")).unwrap();
    std::os::unix::fs::symlink("out/graph.dot", d.join("target.dot")).unwrap();
    qsim_in(d, &["run", "fanout.toml", "--dot", "link"])
        .assert()
        .code(1);
    assert!(fs::symlink_metadata(d.join("link"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(fs::symlink_metadata(d.join("target.dot"))
        .unwrap()
        .file_type()
        .is_symlink());
    let dot = fs::read_to_string(d.join("out/graph.dot")).unwrap();
    assert!(dot.starts_with("digraph"), "{dot}");
    assert_eq!(names(&d.join("out")), ["graph.dot"]);
    assert_eq!(names(d), ["fanout.toml", "link", "out", "target.dot"]);
}

#[test]
fn issue_14_an_input_is_never_overwritten() {
    let dir = scratch();
    let d = dir.path();
    let refusal = |args: &[&str], name: &str| {
        qsim_in(d, args).assert().code(2).stderr(contains(format!(
            "error: {name}: is the same file as the input fanout.toml; refusing to overwrite it"
        )));
    };
    refusal(
        &["run", "fanout.toml", "--trace", "fanout.toml"],
        "fanout.toml",
    );
    refusal(
        &["run", "fanout.toml", "--dot", "./fanout.toml"],
        "./fanout.toml",
    );
    fs::hard_link(d.join("fanout.toml"), d.join("hard.toml")).unwrap();
    refusal(&["run", "fanout.toml", "--trace", "hard.toml"], "hard.toml");
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("fanout.toml", d.join("soft.toml")).unwrap();
        refusal(&["run", "fanout.toml", "--dot", "soft.toml"], "soft.toml");
    }
    refusal(
        &["explore", "fanout.toml", "--schedule-out", "fanout.toml"],
        "fanout.toml",
    );
    assert_eq!(fs::read_to_string(d.join("fanout.toml")).unwrap(), FANOUT);
    // Refused before the run, so the trace is not written either.
    refusal(
        &[
            "run",
            "fanout.toml",
            "--trace",
            "t.jsonl",
            "--dot",
            "fanout.toml",
        ],
        "fanout.toml",
    );
    assert!(!d.join("t.jsonl").exists());

    // replay reads a schedule too.
    qsim_in(d, &["explore", "fanout.toml", "--schedule-out", "s.json"])
        .assert()
        .code(1);
    let schedule = fs::read_to_string(d.join("s.json")).unwrap();
    qsim_in(
        d,
        &[
            "replay",
            "fanout.toml",
            "--schedule",
            "s.json",
            "--trace",
            "s.json",
        ],
    )
    .assert()
    .code(2)
    .stderr(contains(
        "error: s.json: is the same file as the input s.json; refusing to overwrite it",
    ));
    assert_eq!(fs::read_to_string(d.join("s.json")).unwrap(), schedule);
}

#[test]
fn issue_14_a_users_own_tmp_file_is_left_alone() {
    let dir = scratch();
    let d = dir.path();
    fs::write(d.join("t.jsonl.tmp"), "mine").unwrap();
    fs::write(d.join("t.jsonl"), "old trace").unwrap();
    qsim_in(d, &["run", "fanout.toml", "--trace", "t.jsonl"])
        .assert()
        .code(1);
    assert_eq!(fs::read_to_string(d.join("t.jsonl.tmp")).unwrap(), "mine");
    assert_eq!(
        fs::read_to_string(d.join("t.jsonl"))
            .unwrap()
            .lines()
            .count(),
        FANOUT_TRACE_LINES
    );
    assert_eq!(names(d), ["fanout.toml", "t.jsonl", "t.jsonl.tmp"]);
}

#[test]
fn issue_14_an_unwritable_folder_is_reported_with_the_real_path() {
    let dir = scratch();
    let d = dir.path();
    qsim_in(d, &["run", "fanout.toml", "--trace", "missing/t.jsonl"])
        .assert()
        .code(2)
        .stderr(contains(
            "error: missing/t.jsonl: cannot create a file in missing:",
        ))
        .stderr(contains(".tmp").not());
    qsim_in(d, &["run", "fanout.toml", "--trace", "."])
        .assert()
        .code(2)
        .stderr(contains("error: .: is a directory"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let ro = d.join("ro");
        fs::create_dir(&ro).unwrap();
        fs::set_permissions(&ro, fs::Permissions::from_mode(0o500)).unwrap();
        // Root writes anywhere; the check only means something for other users.
        if fs::write(ro.join("probe"), "").is_err() {
            qsim_in(d, &["run", "fanout.toml", "--trace", "ro/t.jsonl"])
                .assert()
                .code(2)
                .stderr(contains(
                    "error: ro/t.jsonl: cannot create a file in ro: Permission denied",
                ))
                .stderr(contains(".tmp").not());
        }
        fs::set_permissions(&ro, fs::Permissions::from_mode(0o700)).unwrap();
    }
    assert!(names(d).iter().all(|n| !n.ends_with(".tmp")));
}

/// Starts the endless run of the issue (`scenarios/mmc.toml` with 10^8 arrivals and a
/// trace), waits until its temporary file is there, sends `signal`, and returns the exit status
/// and what is left in the folder.
#[cfg(unix)]
fn interrupt_a_long_trace(signal: &str) -> (Option<i32>, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let mmc = project().join("scenarios/mmc.toml");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_qsim"))
        .current_dir(dir.path())
        .args(["run", mmc.to_str().unwrap()])
        .args(["--set", "arrival.0.count=100000000", "--trace", "t.jsonl"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("qsim starts");
    let started = Instant::now();
    while names(dir.path()).iter().all(|n| !n.ends_with(".tmp")) {
        assert!(
            started.elapsed() < TIMEOUT,
            "no temporary file appeared: {:?}",
            names(dir.path())
        );
        assert!(child.try_wait().unwrap().is_none(), "qsim ended early");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Let the trace grow a little.
    std::thread::sleep(Duration::from_millis(200));
    let sent = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let status = child.wait().unwrap();
    (status.code(), names(dir.path()))
}

#[cfg(unix)]
#[test]
fn issue_14_ctrl_c_leaves_no_temporary_file() {
    // Was: a 136-209 MB t.jsonl.tmp left behind.
    let (code, left) = interrupt_a_long_trace("INT");
    assert_eq!(code, Some(130));
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[cfg(unix)]
#[test]
fn issue_14_sigterm_leaves_no_temporary_file() {
    let (code, left) = interrupt_a_long_trace("TERM");
    assert_eq!(code, Some(130));
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// Issue 14 (found by the fuzzer): with states of millions of tasks, `--max-time 1s` is looked
/// at before each child is built, so the search stops inconclusive instead of running on for
/// many seconds to an unbudgeted verdict.
#[test]
fn a_time_budget_holds_on_states_of_millions_of_tasks() {
    let file = regressions().join("explore_time_budget_huge_states.toml");
    let file = file.to_str().unwrap();
    for timing in ["any", "exact"] {
        qsim(&[
            "explore",
            file,
            "--max-time",
            "1s",
            "--timing",
            timing,
            "-q",
        ])
        .assert()
        .code(3)
        .stdout(predicates::str::contains("--max-time 1.0s reached"));
    }
}
