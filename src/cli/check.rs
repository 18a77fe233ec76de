//! `qsim check`: validate scenario files without running them, for editors and CI.
//!
//! Every file is read and validated as `qsim run` would (with the same `--set` overrides), and
//! nothing is run. A valid file prints `FILE: ok` (nothing with `-q`); an invalid one prints
//! its error as every command does, and the next file is checked all the same, so one run
//! reports every broken file. Warnings are printed for valid files.

use std::path::PathBuf;

use clap::Args;

use super::{chain, print, to_stderr, warn, ExitStatus};

/// The arguments of `qsim check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The scenario files (TOML).
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,

    /// Override a scenario field of every file before validation, as `qsim run --set` does.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub sets: Vec<String>,

    /// Print nothing for a valid file; errors and warnings still go to stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

/// How many of the files checked were valid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Checked {
    /// Files checked.
    pub files: usize,
    /// Files that are not valid scenarios (or could not be read).
    pub invalid: usize,
}

/// Runs `qsim check`.
pub fn run(args: &CheckArgs) -> qsim::Result<ExitStatus> {
    let mut checked = Checked {
        files: 0,
        invalid: 0,
    };
    for file in &args.files {
        checked.files += 1;
        match qsim::scenario::load_with_warnings(file, &args.sets) {
            Ok((_, warnings)) => {
                warn(&warnings);
                if !args.quiet {
                    print(&format!("{}: ok\n", file.display()))?;
                }
            }
            Err(e) => {
                checked.invalid += 1;
                to_stderr(&format!("error: {}", chain(&e)));
            }
        }
    }
    Ok(ExitStatus::from(&checked))
}
