//! `gencast check`: checks an input dataset (NetCDF file or Zarr store) against a checkpoint's
//! task before any computation and prints a variable × frame table of the problems (non-zero
//! exit status when any). A forecast output handed in its place is refused with a clear message.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use gencast::checkpoint::GRAPHCAST_TIMESTEP_HOURS;
use gencast::checkpoint::{CheckpointKind, GenCastCheckpoint, GraphCastCheckpoint};
use gencast::data::checks::{check_inputs_every, CheckReport};
use gencast::data::netcdf_time::{format_datetime, parse_datetime};
use gencast::data::Dataset;
use gencast::forecast::GENCAST_STEP_HOURS;
use gencast::output::read::{ForecastOutput, OutputLayout};

/// Arguments of `gencast check`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// The input dataset (NetCDF file or Zarr store, reference layout).
    #[arg(long)]
    dataset: PathBuf,
    /// The checkpoint whose task the inputs must satisfy. Defaults to the bundled demo model.
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    /// Initialisation time (the second input frame), e.g. `2019-03-29T12:00`. Defaults to the
    /// dataset's second frame.
    #[arg(long)]
    init_time: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs the checks; fails when any problem is found.
pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    let ckpt_path = match &args.checkpoint {
        Some(c) => c.clone(),
        None => crate::demo::dir()?.join(crate::demo::CHECKPOINT),
    };
    // A file that is not a readable archive is left to the GenCast reader, whose error says why.
    let kind = CheckpointKind::detect(&ckpt_path).unwrap_or(CheckpointKind::GenCast);
    let context = || format!("reading the configs of {}", ckpt_path.display());
    let (task, step_hours) = match kind {
        CheckpointKind::GenCast => (
            GenCastCheckpoint::open_configs(&ckpt_path)
                .with_context(context)?
                .task_config,
            GENCAST_STEP_HOURS as i64,
        ),
        CheckpointKind::GraphCast => (
            GraphCastCheckpoint::open(&ckpt_path)
                .with_context(context)?
                .task_config,
            GRAPHCAST_TIMESTEP_HOURS as i64,
        ),
    };
    refuse_forecast_output(&args.dataset)?;
    // A Zarr store is checked through a NetCDF copy (as large as the decoded dataset), in a
    // temporary folder removed afterwards: the checks run on the dataset reader, which reads
    // NetCDF.
    let copy = match args.dataset.is_dir() {
        true => {
            let dir = tempfile::tempdir().context("creating a temporary folder")?;
            let nc = dir.path().join("dataset.nc");
            gencast::output::read::zarr_to_netcdf(&args.dataset, &nc)?;
            Some((dir, nc))
        }
        false => None,
    };
    let path = copy
        .as_ref()
        .map_or(args.dataset.as_path(), |c| c.1.as_path());
    let report = report_for(path, &task, args.init_time.as_deref(), step_hours).map_err(|e| {
        anyhow::anyhow!(e.to_string().replace(
            &path.display().to_string(),
            &args.dataset.display().to_string()
        ))
    })?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("{}: {report}", args.dataset.display());
    }
    if !report.is_ok() {
        bail!(
            "{} problem(s) in the inputs of {}",
            report.rows.len(),
            args.dataset.display()
        );
    }
    Ok(())
}

/// Fails when `path` is a forecast output (it has an ensemble member dimension or the
/// WeatherBench-2 layout) rather than an input dataset.
fn refuse_forecast_output(path: &Path) -> anyhow::Result<()> {
    // Files that do not open here are left to the dataset reader, whose errors are specific.
    let Ok(out) = ForecastOutput::open(path) else {
        return Ok(());
    };
    if out.is_ensemble() || out.layout() == OutputLayout::WeatherBench2 {
        bail!(
            "{}: this is a forecast output ({} members, {} lead times), not an input dataset; \
             `gencast check` checks the inputs of a forecast. Use `gencast stats --forecast` or \
             `gencast inspect` on outputs",
            path.display(),
            out.members().len(),
            out.lead_times().len()
        );
    }
    Ok(())
}

/// The report for `path`; a file that cannot be opened because of its grid gives a one-row report.
fn report_for(
    path: &Path,
    task: &gencast::checkpoint::TaskConfig,
    init_time: Option<&str>,
    step_hours: i64,
) -> anyhow::Result<CheckReport> {
    let ds = match Dataset::open(path) {
        Ok(ds) => ds,
        Err(gencast::Error::Data {
            variable, detail, ..
        }) => return Ok(CheckReport::single(&variable, None, detail)),
        Err(gencast::Error::Missing { what, key, .. }) => {
            return Ok(CheckReport::single(&key, None, format!("missing {what}")))
        }
        Err(e) => return Err(e.into()),
    };
    let first = match init_time {
        None => 0,
        Some(text) => {
            let ns = parse_datetime(text)
                .with_context(|| format!("--init-time `{text}`: expected YYYY-MM-DDTHH:MM"))?;
            match ds.datetime().iter().position(|&t| t == ns) {
                Some(i) if i >= 1 => i - 1,
                Some(_) => {
                    return Ok(CheckReport::single(
                        "time",
                        Some(format!(
                            "{} (-{step_hours}h)",
                            format_datetime(ns - step_hours * gencast::time::NS_PER_HOUR)
                        )),
                        format!("missing input frame: {text} is the dataset's first frame"),
                    ))
                }
                None => {
                    return Ok(CheckReport::single(
                        "time",
                        Some(format!("{text} (0h)")),
                        format!(
                            "missing input frame: {text} is not a time of the dataset (it has {})",
                            ds.datetime()
                                .iter()
                                .map(|&t| format_datetime(t))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ))
                }
            }
        }
    };
    Ok(check_inputs_every(&ds, task, first, step_hours)?)
}
