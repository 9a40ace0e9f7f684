//! The `gencast` command-line tool.

mod cmd_bench;
mod cmd_check;
mod cmd_fields;
mod cmd_forecast;
mod cmd_inspect;
mod cmd_plot;
mod cmd_prepare;
mod cmd_sources;
mod cmd_stats;
mod demo;
mod numbers;
mod option_names;
mod progress;
mod signals;

use std::io::IsTerminal;

use clap::{Parser, Subcommand};

/// GenCast weather forecasts on CPUs.
#[derive(Parser)]
#[command(name = "gencast", version, about)]
struct Cli {
    /// Log only warnings and errors (for batch jobs); `RUST_LOG` overrides.
    #[arg(long, short, global = true, conflicts_with_all = ["verbose", "log_level"])]
    quiet: bool,
    /// Log more: `-v` adds debug messages, `-vv` trace messages.
    #[arg(long, short, global = true, action = clap::ArgAction::Count, conflicts_with = "log_level")]
    verbose: u8,
    /// Log level: error, warn, info (the default), debug or trace; `RUST_LOG` overrides.
    #[arg(long, global = true, value_parser = ["error", "warn", "info", "debug", "trace"])]
    log_level: Option<String>,
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
    /// Build a model-ready input dataset from ERA5 sources (CDS NetCDF and other NetCDF layouts).
    Prepare(cmd_prepare::Args),
    /// List what `prepare` sees in its sources: each field slice with the model variable it feeds, its grid and values in the model's units, then what is skipped and why.
    Sources(cmd_sources::Args),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let level = match (&cli.log_level, cli.quiet, cli.verbose) {
        (Some(l), _, _) => l.as_str(),
        (None, true, _) => "warn",
        (None, false, 0) => "info",
        (None, false, 1) => "debug",
        (None, false, _) => "trace",
    };
    // Colour only for a terminal, and never when NO_COLOR is set (https://no-color.org).
    let colour = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level)),
        )
        .with_ansi(colour)
        .with_writer(std::io::stderr)
        .init();
    // A bad `GENCAST_ISA` is refused before anything runs; `bench --isa` chooses its own.
    if !matches!(cli.command, Command::Bench(_)) {
        gencast::isa::init(None)?;
    }
    let result = match cli.command {
        Command::Inspect(args) => cmd_inspect::run(args),
        Command::Fields(args) => cmd_fields::run(args),
        // Only a forecast watches the signals: it stops cleanly at the next denoiser call.
        Command::Forecast(args) => {
            signals::Stop::install().and_then(|s| cmd_forecast::run(args, &s))
        }
        Command::Stats(args) => cmd_stats::run(args),
        Command::Bench(args) => cmd_bench::run(args),
        Command::Plot(args) => cmd_plot::run(args),
        Command::Check(args) => cmd_check::run(args),
        Command::Prepare(args) => cmd_prepare::run(args),
        Command::Sources(args) => cmd_sources::run(args),
    };
    // A run stopped by a signal exits with 128 + its number, as a shell reports one.
    if let Some(stopped) = result
        .as_ref()
        .err()
        .and_then(|e| e.downcast_ref::<signals::Stopped>())
    {
        eprintln!("Error: {stopped}");
        std::process::exit(stopped.exit_code());
    }
    // Library messages name forecast options in library terms; show the flags instead.
    result.map_err(option_names::error_to_flags)
}
