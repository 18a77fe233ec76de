//! The `qsim` binary as a user runs it: exit codes, stdout and stderr together, files written.
//!
//! Every test runs the real binary in its own temporary directory, on scenario files written
//! inline, so a test reads as the session it stands for. The scenario parser has its own tests;
//! these cover the command line around it.

mod arrivals;
mod check;
mod explore;
mod memory;
mod run;
mod stderr;
mod sweep;

use std::path::PathBuf;

use assert_cmd::Command;

/// The first incident: two parents each spawn 10 subtasks of 4s and wait for them, on a pool
/// of 2 workers. Deadlocks at 0s; with 4 workers it completes at 36s.
pub const FANOUT: &str = r#"
name = "fanout"
seed = 1

[[pool]]
workers = 2

[[task]]
name = "main_task"
steps = [{ spawn = "subtask", count = 10 }, { wait = "children" }]

[[task]]
name = "subtask"
steps = [{ work = "4s" }]

[[arrival]]
task = "main_task"
at = ["0s", "0s"]
"#;

/// A temporary directory to run `qsim` in.
pub struct CliTest {
    dir: tempfile::TempDir,
}

impl CliTest {
    /// An empty directory.
    pub fn empty() -> CliTest {
        CliTest {
            dir: tempfile::tempdir().expect("a temporary directory"),
        }
    }

    /// A directory holding `fanout.toml`.
    pub fn with_fanout() -> CliTest {
        let t = CliTest::empty();
        t.write("fanout.toml", FANOUT);
        t
    }

    /// Writes `text` to `name` in the directory.
    pub fn write(&self, name: &str, text: &str) {
        std::fs::write(self.path(name), text).expect("writing a test file");
    }

    /// The path of `name` in the directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The text of `name` in the directory.
    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap_or_else(|e| panic!("reading {name}: {e}"))
    }

    /// The directory's file names, sorted.
    pub fn files(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.dir.path())
            .expect("listing the directory")
            .map(|e| {
                e.expect("a directory entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        names.sort();
        names
    }

    /// `qsim ARGS...`, run in the directory.
    pub fn qsim(&self, args: &[&str]) -> Command {
        let mut cmd = Command::cargo_bin("qsim").expect("the qsim binary");
        cmd.current_dir(self.dir.path()).args(args);
        cmd
    }
}
