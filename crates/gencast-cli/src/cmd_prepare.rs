//! `gencast prepare`: builds a model-ready input dataset from ERA5 and operational sources
//! (NetCDF, Zarr, GRIB), writes it as NetCDF or Zarr under a temporary name, runs the same
//! checks as `gencast check` on it, and gives it its final name only when they pass.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use gencast::checkpoint::GenCastCheckpoint;
use gencast::data::checks::check_inputs_every;
use gencast::data::netcdf_time::parse_datetime;
use gencast::data::sources::{self, tables, PrepareRequest, Regrid};
use gencast::data::Dataset;
use gencast::output::{
    check_output_location, check_replaceable, refuse_inputs_as_output, OutputKind, StagedOutput,
};

mod requests;

/// Arguments of `gencast prepare`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// A source file (repeat for several: e.g. a CDS single-level and a pressure-level file,
    /// and a file of static fields). The kind is told from the content.
    #[arg(long = "input", required_unless_present = "print_request")]
    inputs: Vec<PathBuf>,
    /// Initialisation time: the last input frame, e.g. `2019-03-29T12:00`.
    #[arg(long)]
    init_time: String,
    /// The model to prepare for, from the model table (e.g. `gencast-1p0`, `gencast-0p25`).
    #[arg(
        long,
        conflicts_with = "checkpoint",
        required_unless_present = "checkpoint"
    )]
    model: Option<String>,
    /// Prepare for this checkpoint's task (its variables, levels and input window).
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    /// Grid step of the model in degrees. With `--checkpoint` it is taken from a name like
    /// `… 1p0deg …` or `… 0p25deg …`, otherwise the sources' grid is kept.
    #[arg(long)]
    grid: Option<f64>,
    /// How a finer source grid is brought to the model's: `subsample` (exact, the grids must
    /// nest) or `conservative` (area-weighted cell averages).
    #[arg(long, default_value = "subsample", value_parser = ["subsample", "conservative"])]
    regrid: String,
    /// The dataset to write: a NetCDF file (`.nc`) or a Zarr v2 store (`.zarr`).
    #[arg(long, required_unless_present = "print_request")]
    output: Option<PathBuf>,
    /// Replace an existing output file (or Zarr store).
    #[arg(long)]
    overwrite: bool,
    /// The ensemble member to take from sources that hold several (GRIB `number`, a NetCDF or
    /// Zarr `number` dimension); such sources are refused without it.
    #[arg(long)]
    member: Option<i64>,
    /// Print, instead of preparing, the requests that fetch the fields this model needs at
    /// `--init-time` from a data service: `cds` (a CDS API Python script for ERA5), `mars`
    /// (MARS requests for ERA5) or `opendata` (the ECMWF open-data files). Nothing is
    /// downloaded.
    #[arg(
        long,
        value_name = "SERVICE",
        value_parser = ["cds", "mars", "opendata"],
        conflicts_with_all = ["inputs", "output", "overwrite", "member", "regrid"]
    )]
    print_request: Option<String>,
}

/// The model spec for the arguments.
fn model_spec(args: &Args) -> anyhow::Result<tables::ModelSpec> {
    let mut spec = match (&args.model, &args.checkpoint) {
        (Some(name), _) => tables::model(name)?,
        (None, Some(path)) => {
            let task = GenCastCheckpoint::open_configs(path)
                .with_context(|| format!("reading the configs of {}", path.display()))?
                .task_config;
            let file = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let step = if file.contains("0p25deg") {
                0.25
            } else if file.contains("1p0deg") {
                1.0
            } else {
                0.0
            };
            tables::from_task(&file, task, step)
        }
        (None, None) => bail!("give --model NAME or --checkpoint FILE"),
    };
    if let Some(step) = args.grid {
        if !(step > 0.0
            && (180.0 / step).fract().abs() < 1e-9
            && (360.0 / step).fract().abs() < 1e-9)
        {
            bail!("--grid {step}: expected a step in degrees that divides 180");
        }
        sources::convert::check_grid_step(step).with_context(|| format!("--grid {step}"))?;
        spec.grid_step = step;
    }
    Ok(spec)
}

/// Prepares the dataset, writes it, and prints the check table; fails when a check fails.
pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    let init_time = parse_datetime(&args.init_time).with_context(|| {
        format!(
            "--init-time `{}`: expected YYYY-MM-DDTHH:MM",
            args.init_time
        )
    })?;
    if let Some(service) = &args.print_request {
        let model = model_spec(&args)?;
        let plan = gencast::data::requests::plan(&model, init_time)
            .with_context(|| format!("--init-time {}", args.init_time))?;
        let mut command = match (&args.model, &args.checkpoint) {
            (Some(m), _) => format!("--model {m}"),
            (None, Some(c)) => format!("--checkpoint {:?}", c.display().to_string()),
            (None, None) => String::new(),
        };
        command.push_str(&format!(" --init-time {}", args.init_time));
        if let Some(g) = args.grid {
            command.push_str(&format!(" --grid {g}"));
        }
        print!("{}", requests::text(service, &plan, &command)?);
        return Ok(());
    }
    let Some(output) = args.output.clone() else {
        bail!("give --output INPUTS.nc or INPUTS.zarr");
    };
    let kind = match output.extension().and_then(|e| e.to_str()) {
        Some("nc") => OutputKind::File,
        Some("zarr") => OutputKind::Store,
        _ => bail!(
            "--output {}: expected a NetCDF file name ending in .nc or a Zarr store name \
             ending in .zarr",
            output.display()
        ),
    };
    check_output_location(&output, kind)?;
    let mut inputs: Vec<(&str, &Path)> = args
        .inputs
        .iter()
        .map(|p| ("--input", p.as_path()))
        .collect();
    if let Some(c) = &args.checkpoint {
        inputs.push(("--checkpoint", c));
    }
    refuse_inputs_as_output(std::slice::from_ref(&output), &inputs)?;
    check_replaceable(&output, kind, args.overwrite)?;
    let model = model_spec(&args)?;
    let request = PrepareRequest {
        model,
        init_time,
        regrid: if args.regrid == "conservative" {
            Regrid::Conservative
        } else {
            Regrid::Subsample
        },
        member: args.member,
    };
    let prepared = sources::prepare(&args.inputs, &request)?;
    // Written and checked under a temporary name in a private folder beside the output; a
    // failed write or check removes that folder and leaves nothing under the output's name.
    let staged = StagedOutput::new(&output, kind)?;
    for old in staged.removed() {
        tracing::info!(
            "removed {}, the unfinished output of an earlier run that ended abnormally",
            old.display()
        );
    }
    match kind {
        OutputKind::Store => sources::write_zarr(&prepared, staged.path()),
        OutputKind::File => sources::write_netcdf(&prepared, staged.path()),
    }
    .with_context(|| format!("writing {}", output.display()))?;
    let report = {
        let ds = Dataset::open(staged.path())
            .with_context(|| format!("reading back the prepared {}", output.display()))?;
        check_inputs_every(
            &ds,
            &request.model.task,
            0,
            i64::from(request.model.step_hours),
        )?
    };
    println!("{}: {report}", output.display());
    if !report.is_ok() {
        bail!(
            "{} problem(s) in the prepared inputs; nothing was written to {}",
            report.rows.len(),
            output.display()
        );
    }
    staged.commit(args.overwrite)?;
    tracing::info!(
        "wrote {} ({} variables, {} frames, {}×{} grid)",
        output.display(),
        prepared.vars.len(),
        prepared.datetimes.len(),
        prepared.lat.len(),
        prepared.lon.len()
    );
    Ok(())
}
