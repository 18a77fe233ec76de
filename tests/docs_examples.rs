//! Every console example of the README and of `docs/*.md` is run, and what it prints must be
//! what the page shows.
//!
//! An example is a ```` ```console ```` block. A line starting with `$ ` is a command; the lines
//! after it, up to the next `$ ` line or the end of the block, are its output as a terminal shows
//! it: stdout and stderr together, in the order they were written.
//!
//! - Each command runs with `sh` from the repository root; a leading `qsim` is the debug binary
//!   (`CARGO_BIN_EXE_qsim`). The commands of one page run in order, so a file one example writes
//!   can be read by a later one.
//! - `$ echo $?` prints the exit status of the command before it. A command without it may
//!   exit with any status but 101, a panic.
//! - Paths under `/tmp/` are moved into a directory of this test's own, and its path is shown
//!   as `/tmp/` again, so that two test runs at once share no file. A command must write
//!   nowhere else: the test fails if a file appears in the repository.
//! - A line `...` alone stands for any number of lines, none included.
//! - A block whose last line before it is `<!-- not run: REASON -->` is not run (an example
//!   that needs a terminal or Ctrl-C). Keep these few.
//!
//! What varies between machines and runs is masked, in the page and in the output alike,
//! before they are compared. The rules, kept few on purpose:
//!
//! 1. the wall-clock time of a search, a duration alone between commas in its summary:
//!    `(14 states, 15 transitions, depth 6, 137.3µs, 17.0 bytes/state)`;
//! 2. rates and memory figures: `17.0 bytes/state`, `2.5M states/s`, `34 MB`;
//! 3. where a search stopped on its wall-clock or memory budget (`--max-time`, `--max-memory`,
//!    which fire wherever the machine has got to): every number of its `searched so far:` line,
//!    and what the process held, the parenthesis after `--max-memory N reached`.
//!
//! Everything else must match to the byte. When an example differs, copy the real output the
//! failure prints into the page (the program is right, the page is stale, unless the test
//! shows a bug).
//!
//! `QSIM_UPDATE_DOCS=1 cargo test --test docs_examples` does that copying itself: every example
//! that differs has its output replaced, in place, by what qsim prints (after a change that
//! moves numbers on purpose, such as a new random stream). An example with a `...` line is left
//! alone and still fails: its elision is the page's to choose. Review the diff by eye: numbers
//! may change, words must not.

use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use regex::Regex;

/// Far longer than any example takes; an example that runs longer fails instead of hanging.
const TIMEOUT: Duration = Duration::from_secs(60);

/// What marks a block that is not run.
const NOT_RUN: &str = "<!-- not run:";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The pages whose examples are run: the README, then `docs/*.md` by name.
fn pages() -> Vec<PathBuf> {
    let mut docs: Vec<PathBuf> = fs::read_dir(root().join("docs"))
        .expect("docs/")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    docs.sort();
    let mut pages = vec![root().join("README.md")];
    pages.extend(docs);
    pages
}

/// One command of a console block, with the output the page shows.
#[derive(Debug, PartialEq)]
struct Example {
    /// The line of the page the command is on (from 1).
    line: usize,
    /// The command, without its `$ `.
    command: String,
    /// The output lines shown under it.
    expected: Vec<String>,
}

/// The examples of a page's console blocks, in order; blocks marked `not run` are left out.
fn examples(page: &str) -> Vec<Example> {
    let mut examples = Vec::new();
    let mut in_block = false;
    let mut skip = false;
    let mut last_text = "";
    for (i, line) in page.lines().enumerate() {
        let fence = line.trim_start().starts_with("```");
        if !in_block {
            if fence && line.trim() == "```console" {
                in_block = true;
                skip = last_text.trim_start().starts_with(NOT_RUN);
            } else if !line.trim().is_empty() {
                last_text = line;
            }
            continue;
        }
        if fence {
            in_block = false;
            last_text = line;
            continue;
        }
        if skip {
            continue;
        }
        if let Some(command) = line.strip_prefix("$ ") {
            examples.push(Example {
                line: i + 1,
                command: command.to_string(),
                expected: Vec::new(),
            });
        } else {
            let example = examples
                .last_mut()
                .unwrap_or_else(|| panic!("line {}: output before any `$ ` command", i + 1));
            example.expected.push(line.to_string());
        }
    }
    assert!(!in_block, "a console block is not closed");
    examples
}

/// The masking rules of the module docs, applied to one output.
fn mask(lines: &[String]) -> Vec<String> {
    // 1. A duration alone between commas (or before the closing parenthesis).
    let time = Regex::new(r", (?:\d+(?:\.\d+)?(?:ns|µs|us|ms|s|m|h))+(?<end>[,)])").unwrap();
    // 2. Rates and memory.
    let rate = Regex::new(r"\d+(?:\.\d+)?[kMG]? (?<unit>bytes/state|states/s)").unwrap();
    let megabytes = Regex::new(r"\d+(?:\.\d+)? MB\b").unwrap();
    // 3. The counts of a search a clock or the memory stopped.
    let number = Regex::new(r"\d+(?:\.\d+)?").unwrap();
    let held = Regex::new(r"(?<budget>--max-memory \d+ reached) \([^)]*\)").unwrap();
    let stopped_by_machine = lines
        .iter()
        .any(|l| l.contains("--max-time") || l.contains("--max-memory"));
    lines
        .iter()
        .map(|line| {
            let line = time.replace_all(line, ", *${end}");
            let line = rate.replace_all(&line, "* ${unit}");
            let line = megabytes.replace_all(&line, "* MB");
            if !stopped_by_machine {
                line.into_owned()
            } else if line.trim_start().starts_with("searched so far:") {
                number.replace_all(&line, "*").into_owned()
            } else {
                held.replace_all(&line, "${budget} (*)").into_owned()
            }
        })
        .collect()
}

/// Whether `actual` is `expected`, where a line `...` in `expected` stands for any lines.
fn matches(expected: &[String], actual: &[String]) -> bool {
    match expected.split_first() {
        None => actual.is_empty(),
        Some((first, rest)) if first == "..." => {
            (0..=actual.len()).any(|skip| matches(rest, &actual[skip..]))
        }
        Some((first, rest)) => actual
            .split_first()
            .is_some_and(|(a, actual)| a == first && matches(rest, actual)),
    }
}

/// Lines of an output, without the trailing empty ones.
fn trimmed(lines: Vec<String>) -> Vec<String> {
    let mut lines = lines;
    while lines.last().is_some_and(|l| l.trim().is_empty()) {
        lines.pop();
    }
    lines
}

/// Runs `command` with `sh` from the repository root; returns its output and exit status.
fn run(command: &str, tmp: &Path) -> (String, i32) {
    let qsim = env!("CARGO_BIN_EXE_qsim");
    // The page's /tmp/ paths move into the test's directory before the binary's path goes in:
    // the build may itself live under /tmp/ (a checkout there, or CARGO_TARGET_DIR).
    let command = command.replace("/tmp/", &format!("{}/", tmp.display()));
    let command = match command.strip_prefix("qsim ") {
        Some(rest) => format!("'{qsim}' {rest}"),
        None => command,
    };
    let child = Command::new("sh")
        // A group of its own, so that a command that runs too long is ended with its children.
        .process_group(0)
        .arg("-c")
        // stderr to the same pipe as stdout, so that the two keep the order they were written in.
        .arg(format!("exec 2>&1\n{command}"))
        .current_dir(root())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("sh");
    let pid = child.id();
    let (done, finished) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(child.wait_with_output());
    });
    let output = match finished.recv_timeout(TIMEOUT) {
        Ok(output) => output.expect("the output of sh"),
        Err(_) => {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{pid}")])
                .status();
            panic!("`{command}` ran longer than {TIMEOUT:?}");
        }
    };
    let text =
        String::from_utf8_lossy(&output.stdout).replace(&format!("{}/", tmp.display()), "/tmp/");
    (text, output.status.code().unwrap_or(-1))
}

/// The names in the repository's top directories, to see that no example wrote there.
fn repository_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in [
        "",
        "scenarios",
        "docs",
        "tests/bad_scenarios",
        "tests/regressions",
    ] {
        if let Ok(entries) = fs::read_dir(root().join(dir)) {
            files.extend(entries.map(|e| e.expect("a directory entry").path()));
        }
    }
    files.sort();
    files
}

/// Whether this run rewrites the pages' outputs (`QSIM_UPDATE_DOCS=1`, see the module docs).
fn updating() -> bool {
    std::env::var_os("QSIM_UPDATE_DOCS").is_some_and(|v| v == "1")
}

/// `text` with each `(line, old output, new output)` put in place: the old output's lines
/// start just after the command's line (`line`, from 1).
fn rewrite(text: &str, edits: &[(usize, usize, Vec<String>)]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    // From the bottom up, so that the line numbers of the edits still to make hold.
    for (line, old_len, new) in edits.iter().rev() {
        lines.splice(*line..*line + *old_len, new.iter().cloned());
    }
    let mut out = lines.join("\n");
    if text.ends_with('\n') {
        out.push('\n');
    }
    out
}

#[test]
fn console_examples_print_what_the_pages_show() {
    let before = repository_files();
    let mut ran = 0;
    let mut differences = Vec::new();
    let mut updated = Vec::new();
    for page in pages() {
        let name = page.strip_prefix(root()).unwrap().display().to_string();
        let text = fs::read_to_string(&page).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut edits = Vec::new();
        let tmp = tempfile::tempdir().expect("a temporary directory");
        let mut status = None;
        for example in examples(&text) {
            ran += 1;
            let (output, code) = if example.command == "echo $?" {
                let code = status.unwrap_or_else(|| {
                    panic!("{name}:{}: `echo $?` before any command", example.line)
                });
                (format!("{code}\n"), 0)
            } else {
                run(&example.command, tmp.path())
            };
            assert_ne!(
                code, 101,
                "{name}:{}: `{}` panicked:\n{output}",
                example.line, example.command
            );
            status = Some(code);
            let actual = trimmed(output.lines().map(str::to_string).collect());
            let expected = trimmed(example.expected.clone());
            if !matches(&mask(&expected), &mask(&actual)) {
                if updating() && !expected.iter().any(|l| l == "...") {
                    updated.push(format!("{name}:{}", example.line));
                    edits.push((example.line, expected.len(), actual));
                    continue;
                }
                differences.push(format!(
                    "{name}:{}: $ {}\n--- the page shows:\n{}\n--- qsim prints (exit {code}):\n{}\n",
                    example.line,
                    example.command,
                    expected.join("\n"),
                    actual.join("\n"),
                ));
            }
        }
        if !edits.is_empty() {
            fs::write(&page, rewrite(&text, &edits)).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }
    if !updated.is_empty() {
        eprintln!(
            "QSIM_UPDATE_DOCS: rewrote the output of {} examples: {}",
            updated.len(),
            updated.join(", ")
        );
    }
    assert_eq!(
        repository_files(),
        before,
        "an example wrote into the repository (write under /tmp/ instead)"
    );
    assert!(ran > 0, "no console example found");
    assert!(
        differences.is_empty(),
        "{} of {ran} examples differ from what qsim prints:\n\n{}",
        differences.len(),
        differences.join("\n")
    );
}

mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_string).collect()
    }

    #[test]
    fn reads_commands_outputs_and_skips_blocks_not_run() {
        let page = "\
text
```console
$ qsim run a.toml
line 1

line 2
$ echo $?
1
```

<!-- not run: needs Ctrl-C -->

```console
$ qsim explore big.toml
...
```
```sh
$ not a console block
```
```console
$ qsim run b.toml
```
";
        assert_eq!(
            examples(page),
            [
                Example {
                    line: 3,
                    command: "qsim run a.toml".into(),
                    expected: lines("line 1\n\nline 2"),
                },
                Example {
                    line: 7,
                    command: "echo $?".into(),
                    expected: lines("1"),
                },
                Example {
                    line: 21,
                    command: "qsim run b.toml".into(),
                    expected: vec![],
                },
            ]
        );
    }

    #[test]
    fn masks_times_rates_and_memory_but_not_instants() {
        let out = lines(
            "fanout: deadlock under any timing (9 states, 8 transitions, depth 6, 397.7µs, 26.4 bytes/state)\n\
             fanout: completed at 36s (seed 1, 66 events)\n  time to deadlock: p50 0s, p95 0s",
        );
        assert_eq!(
            mask(&out),
            lines(
                "fanout: deadlock under any timing (9 states, 8 transitions, depth 6, *, * bytes/state)\n\
                 fanout: completed at 36s (seed 1, 66 events)\n  time to deadlock: p50 0s, p95 0s"
            )
        );
        let stopped = lines(
            "x: inconclusive under any timing: --max-memory 50 reached (the process holds 34 MB and was about to take 30 MB more)\n  \
             searched so far: 917504 states, 3448747 transitions, depth 49, 29.3s, 17.0 bytes/state, frontier up to 107",
        );
        assert_eq!(
            mask(&stopped),
            lines(
                "x: inconclusive under any timing: --max-memory 50 reached (*)\n  \
                 searched so far: * states, * transitions, depth *, *, * bytes/state, frontier up to *"
            )
        );
        // Whether the process was over the budget or about to be depends on the machine.
        let over = lines(
            "x: inconclusive under any timing: --max-memory 16 reached (the process holds 17 MB)",
        );
        assert_eq!(
            mask(&over),
            lines("x: inconclusive under any timing: --max-memory 16 reached (*)")
        );
        // A search that ran out of states stopped at the same point on every machine.
        let by_states = lines(
            "x: inconclusive: --max-states 100 reached\n  searched so far: 100 states, depth 3, 1.2ms, 17.0 bytes/state",
        );
        assert_eq!(
            mask(&by_states),
            lines("x: inconclusive: --max-states 100 reached\n  searched so far: 100 states, depth 3, *, * bytes/state")
        );
    }

    #[test]
    fn rewrites_outputs_in_place() {
        let page = "a\n```console\n$ qsim run x\nold 1\nold 2\n$ echo $?\n0\n```\n";
        let edits = [(3, 2, lines("new")), (6, 1, lines("1"))];
        assert_eq!(
            rewrite(page, &edits),
            "a\n```console\n$ qsim run x\nnew\n$ echo $?\n1\n```\n"
        );
    }

    #[test]
    fn an_ellipsis_stands_for_any_lines() {
        let actual = lines("a\nb\nc\nd");
        assert!(matches(&lines("a\nb\nc\nd"), &actual));
        assert!(matches(&lines("a\n..."), &actual));
        assert!(matches(&lines("a\n...\nd"), &actual));
        assert!(matches(&lines("...\nb\n...\nd"), &actual));
        assert!(matches(&lines("a\nb\n...\nc\nd"), &actual));
        assert!(!matches(&lines("a\nb\nc"), &actual));
        assert!(!matches(&lines("a\n...\nc"), &actual));
        assert!(!matches(&lines("b\n..."), &actual));
        assert!(!matches(&lines("a\nx\nc\nd"), &actual));
    }
}
