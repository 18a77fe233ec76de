//! `qsim merge`: the shards of a sweep put back together, printed as the unsplit sweep.
//!
//! Reads the shard files that `qsim sweep --shard I/N --out FILE` wrote (on one machine or
//! many), checks with [`qsim::sweep::merge`] that they are every shard of one sweep, and prints
//! the table, JSON or CSV that the unsplit `qsim sweep` prints, byte for byte, with its exit
//! status: 0, 1 when some point deadlocked, 3 when some exhaustive point was inconclusive.

use std::path::PathBuf;

use clap::Args;
use qsim::sweep::{merge, ShardFile};

use super::sweep::{render, status, SweepFormat};
use super::{print, ExitStatus};

/// The arguments of `qsim merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The shard files, every shard of one sweep once, in any order.
    #[arg(value_name = "SHARD.json", required = true)]
    pub shards: Vec<PathBuf>,

    /// How to print the results, as `qsim sweep --format`.
    #[arg(long, value_enum, default_value_t = SweepFormat::Table)]
    pub format: SweepFormat,
}

/// Runs `qsim merge`.
pub fn run(args: &MergeArgs) -> qsim::Result<ExitStatus> {
    let shards = args
        .shards
        .iter()
        .map(|path| Ok((path.display().to_string(), ShardFile::load(path)?)))
        .collect::<qsim::Result<Vec<_>>>()?;
    let merged = merge(&shards)?;
    let id = &merged.identity;
    print(&render(
        args.format,
        &merged.sweep,
        &merged.results,
        id.runs,
        id.seed,
        &id.file,
    ))?;
    Ok(status(&merged.results))
}
