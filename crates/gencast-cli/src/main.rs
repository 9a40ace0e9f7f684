//! The `gencast` command-line tool.

mod cmd_bench;
mod cmd_check;
mod cmd_fields;
mod cmd_forecast;
mod cmd_inspect;
mod cmd_plot;
mod cmd_stats;
mod progress;

use clap::{Parser, Subcommand};

/// GenCast weather forecasts on CPUs.
#[derive(Parser)]
#[command(name = "gencast", version, about)]
struct Cli {
    /// Log only warnings and errors (for batch jobs); `RUST_LOG` overrides.
    #[arg(long, short, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

/// The subcommands.
#[derive(Subcommand)]
enum Command {
    /// Print a checkpoint's description, license, configs and parameter table.
    Inspect(cmd_inspect::Args),
    /// List the variables, levels and frames a checkpoint needs as input.
    Fields(cmd_fields::Args),
    /// Run an ensemble forecast and write it to NetCDF.
    Forecast(cmd_forecast::Args),
    /// Ensemble mean, spread and quantiles of a forecast, and scores (CRPS, RMSE, spread/skill) against a truth.
    Stats(cmd_stats::Args),
    /// Time a random-weight model of a published configuration (per stage, per call, per step).
    Bench(cmd_bench::Args),
    /// Draw one field of a forecast or dataset as a PNG map (colour bar, coastlines, valid time).
    Plot(cmd_plot::Args),
    /// Check an input dataset against a checkpoint's task (variables, frames, grid, levels, NaNs, ranges).
    Check(cmd_check::Args),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let level = if cli.quiet { "warn" } else { "info" };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level)),
        )
        .with_writer(std::io::stderr)
        .init();
    // A bad `GENCAST_ISA` is refused before anything runs; `bench --isa` chooses its own.
    if !matches!(cli.command, Command::Bench(_)) {
        gencast::kernels::isa::init(None)?;
    }
    match cli.command {
        Command::Inspect(args) => cmd_inspect::run(args),
        Command::Fields(args) => cmd_fields::run(args),
        Command::Forecast(args) => cmd_forecast::run(args),
        Command::Stats(args) => cmd_stats::run(args),
        Command::Bench(args) => cmd_bench::run(args),
        Command::Plot(args) => cmd_plot::run(args),
        Command::Check(args) => cmd_check::run(args),
    }
}
