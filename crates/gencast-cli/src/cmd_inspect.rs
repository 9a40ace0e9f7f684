//! `gencast inspect`.

use std::path::PathBuf;

/// Arguments of `gencast inspect`.
#[derive(clap::Args)]
pub struct Args {
    /// The checkpoint (.npz).
    checkpoint: Option<PathBuf>,
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<()> {
    anyhow::bail!("gencast inspect: not implemented yet ({:?})", args.checkpoint)
}
