//! The `qsim` command: parse the arguments, run the command, turn its status into an exit code.

mod cli;

use std::process::ExitCode;

use clap::Parser;

use cli::ExitStatus;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        ExitStatus::Success => ExitCode::from(0),
        ExitStatus::Deadlock => ExitCode::from(1),
        ExitStatus::Error => ExitCode::from(2),
        ExitStatus::Inconclusive => ExitCode::from(3),
    }
}
