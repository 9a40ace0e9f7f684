//! `gencast forecast` with a GraphCast checkpoint: the deterministic 6 h rollout of
//! `graphcast.GraphCast` fed back as `rollout.chunked_prediction` does, written as an ensemble
//! of one member (`sample` = 0) with the same files, locking and resume as a GenCast forecast.

use std::cell::RefCell;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context};
use gencast::checkpoint::graphcast::GRAPHCAST_TIMESTEP_HOURS;
use gencast::checkpoint::{GraphCastCheckpoint, TaskConfig};
use gencast::data::checks::check_inputs_every;
use gencast::data::netcdf_time::format_datetime;
use gencast::data::stacking::sorted_names;
use gencast::data::task::Field;
use gencast::data::Dataset;
use gencast::model::graphcast::{
    GraphCastGraphs, GraphCastModel, GraphCastStats, Precision, StepInputs,
};
use gencast::output::forecast_nc::{ForecastLayout, Naming, OutputVariable};
use tracing::info;

use super::select::Selection;
use super::{
    guard_output, input_identities, is_zarr, open_output, output_units, steps_of, Args, LayoutArg,
    PrecisionArg, STOP_AFTER_ENV,
};
use crate::progress::ProgressLine;

/// Hours per GraphCast step.
const STEP_HOURS: u64 = GRAPHCAST_TIMESTEP_HOURS as u64;

/// Refuses the options of an ensemble forecast: a deterministic model has one member.
fn refuse_ensemble_options(args: &Args) -> anyhow::Result<()> {
    const WHY: &str =
        "a GraphCast checkpoint makes a deterministic forecast, written as one member";
    if args.members != 1 {
        bail!("--members {}: {WHY}", args.members);
    }
    if args.member_offset != 0 {
        bail!("--member-offset {}: {WHY} (number 0)", args.member_offset);
    }
    if let Some(n) = args.ensemble_size {
        if n != 1 || !is_zarr(&args.output) {
            bail!("--ensemble-size {n}: {WHY}");
        }
    }
    if let Some(kv) = args.sampler.first() {
        bail!(
            "--sampler {kv}: a GraphCast checkpoint has no sampler (it is not a diffusion model)"
        );
    }
    // The output selections and layouts are written by the GenCast path only so far.
    let selections = [
        ("--variables", !args.variables.is_empty()),
        ("--levels", !args.levels.is_empty()),
        ("--region", args.region.is_some()),
        ("--output-every", args.output_every.is_some()),
        (
            "--layout weatherbench2",
            args.layout != LayoutArg::Reference,
        ),
    ];
    if let Some((flag, _)) = selections.iter().find(|(_, given)| *given) {
        bail!("{flag}: not available for GraphCast forecasts yet; the whole prediction is written");
    }
    if args.seed != 0 {
        tracing::warn!(
            "--seed {} is ignored: GraphCast draws no random numbers",
            args.seed
        );
    }
    Ok(())
}

/// The first input frame for `--init-time` (the newest input frame), or frame 0.
fn first_input_frame(
    ds: &Dataset,
    task: &TaskConfig,
    init_time: Option<&str>,
) -> anyhow::Result<usize> {
    let Some(text) = init_time else { return Ok(0) };
    let n_frames = task.num_input_frames(GRAPHCAST_TIMESTEP_HOURS)?;
    let ns = gencast::data::netcdf_time::parse_datetime(text)
        .with_context(|| format!("--init-time `{text}`: expected YYYY-MM-DDTHH:MM"))?;
    match ds.datetime().iter().position(|&t| t == ns) {
        Some(i) if i + 1 >= n_frames => Ok(i + 1 - n_frames),
        Some(_) => bail!(
            "--init-time {text}: the model reads {n_frames} input frames {STEP_HOURS} h apart \
             ending at the init time, and {} has fewer frames before it",
            ds.path().display()
        ),
        None => bail!(
            "--init-time {text} is not a time of {} (it has {})",
            ds.path().display(),
            ds.datetime()
                .iter()
                .map(|&t| format_datetime(t))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The first non-finite value of a step's prediction, named by variable, level and grid point.
fn non_finite(fields: &[Field], lat: &[f32], lon: &[f32]) -> Option<String> {
    let n = lat.len() * lon.len();
    for f in fields {
        if let Some(i) = f.data.iter().position(|v| !v.is_finite()) {
            let (l, g) = (i / n.max(1), i % n.max(1));
            let level = f
                .levels
                .get(l)
                .map(|l| format!(" level {l} hPa,"))
                .unwrap_or_default();
            return Some(format!(
                "`{}`{level} lat {} lon {}: {}",
                f.name,
                lat[g / lon.len()],
                lon[g % lon.len()],
                f.data[i]
            ));
        }
    }
    None
}

/// Runs a GraphCast forecast.
pub(super) fn run(
    args: Args,
    ckpt_path: PathBuf,
    ds_path: PathBuf,
    stats_dir: PathBuf,
) -> anyhow::Result<()> {
    refuse_ensemble_options(&args)?;
    let steps = steps_of(&args, STEP_HOURS)?;
    let stop_after: Option<usize> = match std::env::var(STOP_AFTER_ENV) {
        Ok(v) => Some(v.parse().with_context(|| format!("{STOP_AFTER_ENV}={v}"))?),
        Err(_) => None,
    };

    // Output safety, before anything is computed.
    guard_output(
        &args,
        &ckpt_path,
        &ds_path,
        &stats_dir,
        &GraphCastStats::FILES,
    )?;
    // Statistics first: the error names every file the folder lacks.
    let stats = GraphCastStats::open_dir(&stats_dir)?;
    let inputs_id = input_identities(&ckpt_path, &ds_path, &stats_dir, &GraphCastStats::FILES)?;

    let t0 = Instant::now();
    let ckpt = GraphCastCheckpoint::open(&ckpt_path)?;
    ckpt.validate()?;
    let task = &ckpt.task_config;
    let ds = Dataset::open(&ds_path)?;
    for w in stats.warnings(task) {
        tracing::warn!("{w}");
    }
    let first_frame = first_input_frame(&ds, task, args.init_time.as_deref())?;
    let report = check_inputs_every(&ds, task, first_frame, STEP_HOURS as i64)?;
    if !report.is_ok() {
        bail!("input checks failed for {}: {report}", ds_path.display());
    }
    ckpt.model_config.check_grid(ds.lon().len())?;
    let mut inputs = StepInputs::from_dataset(&ds, task, first_frame)?;
    let graphs = GraphCastGraphs::build(&ckpt.model_config, ds.lat(), ds.lon())?;
    let precision = match args.precision {
        PrecisionArg::F32 => Precision::F32,
        PrecisionArg::Bf16Cast => Precision::Bf16Cast,
    };
    let net = GraphCastModel::load(&ckpt, Arc::new(graphs), precision)?;
    let g = net.graphs();
    info!(
        "GraphCast ready in {:.2} s ({} parameters): grid {}x{}, mesh {} nodes, {} grid2mesh and {} mesh2grid edges; {} threads, {} kernels, {}",
        t0.elapsed().as_secs_f64(),
        ckpt.params.num_params(),
        ds.lat().len(),
        ds.lon().len(),
        g.n_mesh,
        g.grid2mesh.len(),
        g.mesh2grid.len(),
        rayon::current_num_threads(),
        gencast::kernels::isa::active(),
        precision.name()
    );

    let init_ns = *inputs
        .input_datetimes()
        .last()
        .context("the step has no input datetimes")?;
    let units = |name: &str| output_units(&ds, name);
    let layout = ForecastLayout {
        variables: sorted_names(&task.target_variables)
            .into_iter()
            .map(|name| OutputVariable {
                levelled: !inputs.levels_of(&name).is_empty(),
                units: units(&name),
                name,
            })
            .collect(),
        levels: inputs.levels().to_vec(),
        lat: ds.lat().to_vec(),
        lon: ds.lon().to_vec(),
        naming: Naming::Reference,
        members: vec![0],
        lead_hours: (1..=steps)
            .map(|s| (s as u64 * STEP_HOURS) as i32)
            .collect(),
        init_time: format_datetime(init_ns),
        history: format!(
            "gencast {} forecast: GraphCast checkpoint {}, dataset {}, precision {}",
            env!("CARGO_PKG_VERSION"),
            ckpt_path.display(),
            ds_path.display(),
            precision.name()
        ),
    };
    let run_settings = serde_json::json!({
        "model": "graphcast",
        "precision": precision.name(),
        "inputs": inputs_id,
    });
    // The whole prediction is written (selections are refused above).
    let names: Vec<&str> = layout.variables.iter().map(|v| v.name.as_str()).collect();
    let everything = Selection::new(
        &names,
        &layout.levels,
        (ds.lat(), ds.lon()),
        steps,
        &[],
        &[],
        None,
        None,
        STEP_HOURS,
    )?;
    let mut output = open_output(&args, layout, 1, 1, &run_settings, steps)?;
    let to_compute = (0..steps).filter(|&s| !output.step_complete(0, s)).count();
    let show_bar = std::io::stderr().is_terminal()
        && tracing::level_filters::LevelFilter::current() >= tracing::Level::INFO;
    let bar = RefCell::new(ProgressLine::new(show_bar, 0, 1, steps, to_compute));
    let compute_start = Instant::now();
    let mut computed = 0usize;
    for step in 0..steps {
        let fields = if output.step_complete(0, step) {
            info!("step {}/{steps}: already written, skipped", step + 1);
            output.read_fields(0, step)?
        } else {
            let t = Instant::now();
            let fields = net.predict_step(&inputs, task, &stats)?;
            if args.debug_nans {
                if let Some(at) = non_finite(&fields, ds.lat(), ds.lon()) {
                    bail!("step {}: non-finite prediction at {at}", step + 1);
                }
            }
            output.write_step(0, step, &fields, &everything)?;
            computed += 1;
            let per_step = compute_start.elapsed().as_secs_f64() / computed as f64;
            let mut bar = bar.borrow_mut();
            bar.clear();
            info!(
                "step {}/{steps} (+{}h) done in {:.2} s; ETA {:.0} s",
                step + 1,
                (step as u64 + 1) * STEP_HOURS,
                t.elapsed().as_secs_f64(),
                per_step * to_compute.saturating_sub(computed) as f64
            );
            bar.on_step(0, step);
            if stop_after.is_some_and(|n| computed >= n) {
                bail!("stopped after {computed} steps ({STOP_AFTER_ENV})");
            }
            fields
        };
        if step + 1 < steps {
            inputs.advance(&fields, Some(&ds))?;
        }
    }
    bar.borrow_mut().clear();
    output.finish()?;
    let seconds = t0.elapsed().as_secs_f64();
    info!("wrote {} in {seconds:.2} s", args.output.display());
    if args.json {
        let summary = serde_json::json!({
            "output": args.output.display().to_string(),
            "model": "graphcast",
            "precision": precision.name(),
            "members": [0],
            "steps": steps,
            "steps_computed": computed,
            "steps_skipped": steps - computed,
            "seconds": seconds,
            "peak_rss_mb": gencast::process::peak_rss_mb(),
        });
        println!("{summary}");
    }
    Ok(())
}
