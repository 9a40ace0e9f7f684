//! `gencast forecast`: an ensemble forecast written to NetCDF or to a Zarr v3 store, step by
//! step; several processes may write disjoint members of one Zarr store, and `--resume` skips
//! the (member, step) chunks already there (or recorded in an unfinished NetCDF file).

use std::cell::RefCell;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context};
use gencast::checkpoint::{Checkpoint, CheckpointKind};
use gencast::data::netcdf_time::format_datetime;
use gencast::data::task::Field;
use gencast::data::{Dataset, StatsSet};
use gencast::output::forecast_nc::{
    preflight, ForecastLayout, ForecastWriter, Naming, OutputVariable, WriteMode,
};
use gencast::output::guard::{
    check_output_location, file_identity, refuse_inputs_as_output, OutputKind,
};
use gencast::output::zarr::{MemberClaim, ZarrForecast};
use gencast::rollout::{override_sampler, ForecastRequest, Forecaster};
use tracing::info;

use crate::progress::ProgressLine;

mod graphcast;
pub(crate) mod select;
use select::{Region, Selection};

/// The bundled demo model and data (a tiny random-weight GenCast in the official formats).
const DEMO_DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../gencast/tests/fixtures/tiny-mha"
);

/// Hours per model step.
const STEP_HOURS: u64 = 12;

/// Arguments of `gencast forecast`.
#[derive(clap::Args)]
pub struct Args {
    /// The checkpoint (.npz). Give --checkpoint, --dataset and --stats together; with none of
    /// them the bundled demo model, dataset and stats are used.
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    /// The input dataset (NetCDF).
    #[arg(long)]
    dataset: Option<PathBuf>,
    /// Folder holding mean_by_level.nc, stddev_by_level.nc, diffs_stddev_by_level.nc and
    /// min_by_level.nc.
    #[arg(long)]
    stats: Option<PathBuf>,
    /// Number of ensemble members.
    #[arg(long, default_value_t = 1, allow_negative_numbers = true, value_parser = crate::numbers::whole::<u32>)]
    members: u32,
    /// Number of the first member (members are numbered offset .. offset + members).
    #[arg(long, default_value_t = 0, allow_negative_numbers = true, value_parser = crate::numbers::whole::<u32>)]
    member_offset: u32,
    /// Number of 12 h steps.
    #[arg(long, conflicts_with = "lead_time", allow_negative_numbers = true, value_parser = crate::numbers::whole::<usize>)]
    steps: Option<usize>,
    /// Lead time, a multiple of 12 h: e.g. `360h` or `15d`.
    #[arg(long)]
    lead_time: Option<String>,
    /// Random seed: member m uses fold_in(PRNGKey(seed), m), as the reference does.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    seed: i64,
    /// Initialisation time (the second input frame), e.g. `2019-03-29T12:00`. Defaults to the
    /// dataset's second frame.
    #[arg(long)]
    init_time: Option<String>,
    /// Output: a NetCDF file (.nc) or a Zarr v3 store (a folder ending in .zarr).
    #[arg(long, short)]
    output: PathBuf,
    /// Total members of the Zarr store (default: member offset + members). Processes writing
    /// disjoint --member-offset/--members ranges of one store must all give the same value.
    #[arg(long, allow_negative_numbers = true, value_parser = crate::numbers::whole::<u32>)]
    ensemble_size: Option<u32>,
    /// Skip the (member, step) chunks already in the Zarr store, or recorded in the unfinished
    /// NetCDF file an interrupted run left (OUT.nc.tmp), replaying their stored predictions as
    /// inputs of the later steps. The settings must be the same as the interrupted run's.
    #[arg(long)]
    resume: bool,
    /// Replace an existing output file, or discard an interrupted run's unfinished file (or,
    /// for a Zarr store, this run's members' chunks) and start over.
    #[arg(long, conflicts_with = "resume")]
    overwrite: bool,
    /// Print one JSON object summarising the run on stdout when it ends.
    #[arg(long)]
    json: bool,
    /// Worker threads (default: all cores).
    #[arg(long, allow_negative_numbers = true, value_parser = crate::numbers::whole::<usize>)]
    threads: Option<usize>,
    /// Check every stage's output (network modules, sampler iterations) for NaN or infinity and
    /// stop at the first one, naming stage, node, channel, member and step.
    #[arg(long)]
    debug_nans: bool,
    /// Override a sampler setting of the checkpoint, e.g. `num_noise_levels=20` (repeatable).
    #[arg(long = "sampler", value_name = "KEY=VALUE")]
    sampler: Vec<String>,
    /// Write only these predicted variables (comma-separated; default: all).
    #[arg(long, value_delimiter = ',')]
    variables: Vec<String>,
    /// Write only these pressure levels in hPa (comma-separated; default: all).
    #[arg(long, value_delimiter = ',', allow_negative_numbers = true)]
    levels: Vec<i32>,
    /// Dimension and coordinate names: `reference` (the reference's rollout: sample, batch,
    /// time, level, lat, lon) or `weatherbench2` (realization, time = initialisation,
    /// prediction_timedelta, level, latitude, longitude, as WeatherBench-2's evaluation reads).
    #[arg(long, value_enum, default_value_t = LayoutArg::Reference)]
    layout: LayoutArg,
    /// Write only this region: `lat_min,lat_max,lon_min,lon_max` in degrees; a region crossing
    /// 0° (e.g. `35,72,-25,45` or `35,72,335,45`) is written with longitudes ascending from
    /// below 0.
    #[arg(long, allow_hyphen_values = true)]
    region: Option<String>,
    /// Write only every this much lead time, a multiple of 12 h (e.g. `24h`, `1d`; default:
    /// every step).
    #[arg(long)]
    output_every: Option<String>,
    /// Arithmetic of a GraphCast network: `f32`, or `bf16-cast` to emulate the notebook's
    /// `Bfloat16Cast` (bfloat16 inputs, weights and ops; slower, for reproducing published
    /// scores). GenCast runs in float32 only.
    #[arg(long, value_enum, default_value = "f32")]
    precision: PrecisionArg,
}

/// Values of `--precision`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum PrecisionArg {
    /// Float32.
    F32,
    /// The notebook's bfloat16 cast, emulated.
    #[value(name = "bf16-cast")]
    Bf16Cast,
}

/// The `--layout` choices.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum LayoutArg {
    /// The reference's rollout names.
    Reference,
    /// WeatherBench-2's names.
    Weatherbench2,
}

/// Parses `360h`, `15d` or a plain number of hours given to option `flag`.
fn hours(flag: &str, text: &str) -> anyhow::Result<u64> {
    let t = text.trim();
    let (num, mult) = if let Some(d) = t.strip_suffix('d') {
        (d, 24)
    } else {
        (t.strip_suffix('h').unwrap_or(t), 1)
    };
    num.trim()
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .with_context(|| format!("{flag} `{text}`: expected e.g. 360h or 15d"))
}

/// Parses `360h`, `15d` or a plain number of hours into a number of `step_hours` steps.
fn lead_time_steps(text: &str, step_hours: u64) -> anyhow::Result<usize> {
    let hours = hours("--lead-time", text)?;
    if hours == 0 || !hours.is_multiple_of(step_hours) {
        bail!("--lead-time `{text}` must be a positive multiple of {step_hours}h");
    }
    check_steps((hours / step_hours) as usize, step_hours)
}

/// The units written for output variable `name`: the CF table's, so every file says the same;
/// the dataset's own `units` only for a variable the table does not know.
fn output_units(ds: &Dataset, name: &str) -> Option<String> {
    gencast::output::cf::lookup(name)
        .map(|i| i.units.to_string())
        .or_else(|| {
            ds.variables()
                .iter()
                .find(|v| v.name == name)
                .and_then(|v| v.units.clone())
        })
}

/// The most steps one run may compute (lead times must also fit the files' 32-bit hours).
const MAX_STEPS: usize = 10_000;

/// The most (member, step) pairs one run may hold (its progress record lists them).
const MAX_MEMBER_STEPS: usize = 1_000_000;

/// The most members a Zarr store may hold (its `sample` coordinate lists them all).
const MAX_ENSEMBLE: u32 = 1_000_000;

/// Refuses a number of steps outside 1..=[`MAX_STEPS`].
fn check_steps(steps: usize, step_hours: u64) -> anyhow::Result<usize> {
    if steps == 0 {
        bail!("--steps must be at least 1");
    }
    if steps > MAX_STEPS {
        bail!(
            "{steps} steps ({} h) is more than the {MAX_STEPS} steps one run may compute",
            steps as u128 * step_hours as u128
        );
    }
    Ok(steps)
}

/// Finds the first input frame: the frame before `init_time`, or frame 0.
fn first_input_frame(ds: &Dataset, init_time: Option<&str>) -> anyhow::Result<usize> {
    let Some(text) = init_time else { return Ok(0) };
    let ns = gencast::data::netcdf_time::parse_datetime(text)
        .with_context(|| format!("--init-time `{text}`: expected YYYY-MM-DDTHH:MM"))?;
    match ds.datetime().iter().position(|&t| t == ns) {
        Some(i) if i >= 1 => Ok(i - 1),
        Some(_) => bail!("--init-time {text} is the dataset's first frame; two input frames are needed (the init time and 12 h before)"),
        None => bail!(
            "--init-time {text} is not a time of {} (it has {})",
            ds.path().display(),
            ds.datetime().iter().map(|&t| format_datetime(t)).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// Test hook: the process fails after computing this many steps (simulates a killed run).
const STOP_AFTER_ENV: &str = "GENCAST_STOP_AFTER_STEPS";

/// Whether `path` names a Zarr store.
fn is_zarr(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("zarr"))
}

/// The model, dataset and statistics folder of a run: all three given, or the bundled demo.
fn inputs(args: &Args) -> anyhow::Result<(PathBuf, PathBuf, PathBuf)> {
    match (&args.checkpoint, &args.dataset, &args.stats) {
        (Some(c), Some(d), Some(s)) => Ok((c.clone(), d.clone(), s.clone())),
        (None, None, None) => {
            let demo = Path::new(DEMO_DIR);
            tracing::warn!(
                "no --checkpoint, --dataset or --stats: running the bundled demo model (random \
                 weights, not a weather forecast) on its demo data in {}",
                demo.display()
            );
            Ok((
                demo.join("checkpoint.npz"),
                demo.join("source-era5_date-2019-03-29_res-10.0_levels-13_steps-02.nc"),
                demo.to_path_buf(),
            ))
        }
        (c, d, s) => {
            let missing: Vec<&str> = [
                ("--checkpoint", c.is_none()),
                ("--dataset", d.is_none()),
                ("--stats", s.is_none()),
            ]
            .iter()
            .filter(|(_, m)| *m)
            .map(|(n, _)| *n)
            .collect();
            bail!(
                "missing {}: give --checkpoint, --dataset and --stats together (or none of them \
                 for the bundled demo)",
                missing.join(" and ")
            )
        }
    }
}

/// Checks that each input exists and is a file (or, for `--stats`, a folder holding
/// `stats_files`).
fn check_input_kinds(
    ckpt: &Path,
    ds: &Path,
    stats: &Path,
    stats_files: &[&str],
) -> anyhow::Result<()> {
    for (role, p) in [("--checkpoint", ckpt), ("--dataset", ds)] {
        // A dataset may be a Zarr v2 store with consolidated metadata (a folder).
        if p.is_dir() && !(role == "--dataset" && p.join(".zmetadata").is_file()) {
            bail!("{role} {} is a folder; give the file itself", p.display());
        }
        if !p.exists() {
            bail!("{role} {}: no such file", p.display());
        }
    }
    if stats.is_file() {
        bail!(
            "--stats {} is a file; give the folder holding {}",
            stats.display(),
            stats_files.join(", ")
        );
    }
    Ok(())
}

/// The content identities of the run's input files, keyed by role (`checkpoint`, `dataset`,
/// `stats/<file>`).
fn input_identities(
    ckpt: &Path,
    ds: &Path,
    stats: &Path,
    stats_files: &[&str],
) -> anyhow::Result<serde_json::Value> {
    let mut m = serde_json::Map::new();
    m.insert("checkpoint".into(), file_identity(ckpt)?);
    m.insert("dataset".into(), file_identity(ds)?);
    for f in stats_files {
        m.insert(format!("stats/{f}"), file_identity(&stats.join(f))?);
    }
    Ok(serde_json::Value::Object(m))
}

/// Caps `--threads` at the machine's available parallelism, with a warning.
fn thread_count(requested: usize) -> anyhow::Result<usize> {
    if requested == 0 {
        bail!("--threads must be at least 1");
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if requested > cores {
        tracing::warn!(
            "--threads {requested} is more than the {cores} available cores; using {cores}"
        );
        return Ok(cores);
    }
    Ok(requested)
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<()> {
    if let Some(n) = args.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(thread_count(n)?)
            .build_global()
            .context("setting the number of threads")?;
    }
    let (ckpt_path, ds_path, stats_dir) = inputs(&args)?;
    // A file that is not a readable archive is left to the GenCast reader, whose error says why.
    let family = if ckpt_path.is_file() {
        CheckpointKind::detect(&ckpt_path).unwrap_or(CheckpointKind::GenCast)
    } else {
        CheckpointKind::GenCast
    };
    if family == CheckpointKind::GraphCast {
        return graphcast::run(args, ckpt_path, ds_path, stats_dir);
    }
    if args.precision != PrecisionArg::F32 {
        bail!(
            "--precision bf16-cast applies to GraphCast checkpoints; {} is a GenCast checkpoint, \
             which runs in float32",
            ckpt_path.display()
        );
    }
    let steps = steps_of(&args, STEP_HOURS)?;
    if args.members == 0 {
        bail!("--members must be at least 1");
    }
    if args.members as usize * steps > MAX_MEMBER_STEPS {
        bail!(
            "--members {} × {steps} steps is more than the {MAX_MEMBER_STEPS} (member, step) \
             pairs one run may compute; split the ensemble over several runs (--member-offset)",
            args.members
        );
    }
    let zarr = is_zarr(&args.output);
    let end = args
        .member_offset
        .checked_add(args.members)
        .filter(|&e| e <= i32::MAX as u32)
        .with_context(|| {
            format!(
                "--member-offset {} + --members {} is past the largest member number {}",
                args.member_offset,
                args.members,
                i32::MAX - 1
            )
        })?;
    let ensemble_size = args.ensemble_size.unwrap_or(end);
    if !zarr && args.ensemble_size.is_some() {
        bail!(
            "--ensemble-size needs a Zarr store (--output ending in .zarr); a NetCDF file holds \
             exactly the members of one run"
        );
    }
    if end > ensemble_size {
        bail!(
            "members {}..{end} do not fit in --ensemble-size {ensemble_size}",
            args.member_offset,
        );
    }
    if zarr && ensemble_size > MAX_ENSEMBLE {
        bail!(
            "a Zarr store of {ensemble_size} members (--ensemble-size, or --member-offset + \
             --members) is more than the {MAX_ENSEMBLE} one store may hold"
        );
    }
    let region = args.region.as_deref().map(Region::parse).transpose()?;
    let stop_after: Option<usize> = match std::env::var(STOP_AFTER_ENV) {
        Ok(v) => Some(v.parse().with_context(|| format!("{STOP_AFTER_ENV}={v}"))?),
        Err(_) => None,
    };

    // Output safety, before anything is computed.
    guard_output(&args, &ckpt_path, &ds_path, &stats_dir, &StatsSet::FILES)?;
    let inputs_id = input_identities(&ckpt_path, &ds_path, &stats_dir, &StatsSet::FILES)?;

    let t0 = Instant::now();
    let ckpt = Checkpoint::open(&ckpt_path)?;
    let mut sampler = ckpt.sampler_config.clone();
    for kv in &args.sampler {
        override_sampler(&mut sampler, kv)?;
    }
    let ds = Dataset::open(&ds_path)?;
    let stats = StatsSet::open_dir(&stats_dir)?;
    let first_frame = first_input_frame(&ds, args.init_time.as_deref())?;
    let report = gencast::data::checks::check_inputs(&ds, &ckpt.task_config, first_frame)?;
    if !report.is_ok() {
        bail!("input checks failed for {}: {report}", ds_path.display());
    }
    let forecaster = Forecaster::new(&ckpt, ds.lat(), ds.lon())?;
    forecaster.set_debug_nans(args.debug_nans);
    let prepared = forecaster.prepare(&ds, &stats, first_frame)?;
    for w in prepared.warnings() {
        tracing::warn!("{w}");
    }
    let g = forecaster.graphs();
    let (graph_s, load_s) = forecaster.setup_times();
    info!(
        "graphs built in {graph_s:.2} s, weights loaded in {load_s:.2} s ({} parameters)",
        ckpt.params.num_params()
    );
    info!(
        "model ready in {:.2} s: grid {}x{}, mesh {} nodes, {} grid2mesh and {} mesh2grid edges; {} threads, {} kernels, float32",
        t0.elapsed().as_secs_f64(),
        ds.lat().len(),
        ds.lon().len(),
        g.n_mesh,
        g.grid2mesh.len(),
        g.mesh2grid.len(),
        rayon::current_num_threads(),
        gencast::kernels::isa::active()
    );

    let outputs: Vec<&str> = forecaster
        .layout()
        .outputs()
        .iter()
        .map(|o| o.name.as_str())
        .collect();
    let model_levels = forecaster.layout().levels().to_vec();
    let every_hours = match &args.output_every {
        Some(t) => Some(hours("--output-every", t)?),
        None => None,
    };
    let selection = Selection::new(
        &outputs,
        &model_levels,
        (ds.lat(), ds.lon()),
        steps,
        &args.variables,
        &args.levels,
        region,
        every_hours,
        STEP_HOURS,
    )?;
    let everything = selection.is_everything(outputs.len(), model_levels.len(), ds.lat().len());
    if args.resume && !everything {
        bail!(
            "--resume replays the written steps as inputs, so it needs every variable, level and \
             step in the output; drop --variables, --levels, --region and --output-every to resume"
        );
    }
    let init_ns = *prepared
        .input_datetimes()
        .last()
        .context("the prepared step has no input datetimes")?;
    let units = |name: &str| output_units(&ds, name);
    let layout = ForecastLayout {
        variables: selection
            .variables
            .iter()
            .map(|&i| &forecaster.layout().outputs()[i])
            .map(|o| OutputVariable {
                name: o.name.clone(),
                levelled: !o.levels.is_empty(),
                units: units(&o.name),
            })
            .collect(),
        levels: selection.levels.iter().map(|&i| model_levels[i]).collect(),
        lat: selection.lat.iter().map(|&i| ds.lat()[i]).collect(),
        lon: selection.lon_values.clone(),
        members: (0..args.members)
            .map(|i| (args.member_offset + i) as i32)
            .collect(),
        lead_hours: (0..steps)
            .filter(|&s| selection.slot(s).is_some())
            .map(|s| ((s as u64 + 1) * STEP_HOURS) as i32)
            .collect(),
        init_time: format_datetime(init_ns),
        history: format!(
            "gencast {} forecast: checkpoint {}, dataset {}, seed {}, sampler {}",
            env!("CARGO_PKG_VERSION"),
            ckpt_path.display(),
            ds_path.display(),
            args.seed,
            serde_json::to_string(&sampler)?
        ),
        naming: match args.layout {
            LayoutArg::Reference => Naming::Reference,
            LayoutArg::Weatherbench2 => Naming::WeatherBench2,
        },
    };
    let request = ForecastRequest {
        member_offset: args.member_offset,
        members: args.members,
        steps,
        seed: args.seed,
        first_input_frame: first_frame,
        sampler,
    };
    let run_settings = serde_json::json!({
        "seed": args.seed,
        "sampler": &request.sampler,
        "inputs": inputs_id,
    });
    let mut output = open_output(&args, layout, ensemble_size, end, &run_settings, steps)?;
    if !everything {
        // Nothing is replayed from a partial output: every step is computed.
        output.disable_skipping();
    }
    let (members, total_steps) = (args.members as usize, args.members as usize * steps);
    // Steps to compute: all but each member's leading run of completed steps (those replayed).
    let to_compute: usize = (0..members)
        .map(|m| {
            steps
                - (0..steps)
                    .take_while(|&s| output.step_complete(m, s))
                    .count()
        })
        .sum();
    let output = RefCell::new(output);
    let show_bar = std::io::stderr().is_terminal()
        && tracing::level_filters::LevelFilter::current() >= tracing::Level::INFO;
    let bar = RefCell::new(ProgressLine::new(
        show_bar,
        args.member_offset as usize,
        members,
        steps,
        to_compute,
    ));
    let done = |member: usize, step: usize| -> gencast::Result<Option<Vec<Field>>> {
        let out = output.borrow();
        if !out.step_complete(member, step) {
            return Ok(None);
        }
        let fields = out.read_fields(member, step)?;
        bar.borrow_mut().clear();
        info!(
            "member {} step {}/{steps}: already written, skipped",
            args.member_offset as usize + member,
            step + 1,
        );
        Ok(Some(fields))
    };
    let mut last = Instant::now();
    let compute_start = last;
    let mut computed = 0usize;
    let mut calls_total = 0usize;
    let on_step = |member: usize, step: usize, fields: &[Field], calls: usize| {
        output
            .borrow_mut()
            .write_step(member, step, fields, &selection)?;
        computed += 1;
        calls_total += calls;
        let finished = member * steps + step + 1;
        let per_step = compute_start.elapsed().as_secs_f64() / computed as f64;
        let mut bar = bar.borrow_mut();
        bar.clear();
        info!(
            "member {} step {}/{} (+{}h) done: {} denoiser calls in {:.2} s; {finished}/{total_steps} steps, ETA {:.0} s",
            args.member_offset as usize + member,
            step + 1,
            steps,
            (step as u64 + 1) * STEP_HOURS,
            calls,
            last.elapsed().as_secs_f64(),
            per_step * to_compute.saturating_sub(computed) as f64
        );
        bar.on_step(member, step);
        last = Instant::now();
        if stop_after.is_some_and(|n| computed >= n) {
            return Err(gencast::Error::Invalid(format!(
                "stopped after {computed} steps ({STOP_AFTER_ENV})"
            )));
        }
        Ok(())
    };
    forecaster.run_with_progress(&prepared, &request, done, on_step, &mut |p| {
        bar.borrow_mut().on_call(p)
    })?;
    bar.borrow_mut().clear();
    output.into_inner().finish()?;
    let seconds = t0.elapsed().as_secs_f64();
    info!("wrote {} in {seconds:.2} s", args.output.display());
    if args.json {
        let summary = serde_json::json!({
            "output": args.output.display().to_string(),
            "members": (args.member_offset..end).collect::<Vec<_>>(),
            "steps": steps,
            "steps_computed": computed,
            "steps_skipped": members * steps - computed,
            "seconds": seconds,
            "denoiser_calls": calls_total,
            "peak_rss_mb": gencast::process::peak_rss_mb(),
        });
        println!("{summary}");
    }
    Ok(())
}

/// The number of steps asked for (`--steps` or `--lead-time`, default 1).
fn steps_of(args: &Args, step_hours: u64) -> anyhow::Result<usize> {
    match (&args.steps, &args.lead_time) {
        (Some(n), _) => check_steps(*n, step_hours),
        (None, Some(t)) => lead_time_steps(t, step_hours),
        (None, None) => Ok(1),
    }
}

/// Output safety, before anything is computed: inputs are what they should be, the output
/// location is writable and names no input, and an existing or unfinished output is only
/// continued or replaced when asked.
fn guard_output(
    args: &Args,
    ckpt_path: &Path,
    ds_path: &Path,
    stats_dir: &Path,
    stats_names: &[&str],
) -> anyhow::Result<WriteMode> {
    let zarr = is_zarr(&args.output);
    check_input_kinds(ckpt_path, ds_path, stats_dir, stats_names)?;
    let kind = if zarr {
        OutputKind::Store
    } else {
        OutputKind::File
    };
    check_output_location(&args.output, kind)?;
    let stats_files: Vec<PathBuf> = stats_names.iter().map(|f| stats_dir.join(f)).collect();
    let mut input_list: Vec<(&str, &Path)> = vec![
        ("--checkpoint", ckpt_path),
        ("--dataset", ds_path),
        ("--stats", stats_dir),
    ];
    input_list.extend(stats_files.iter().map(|p| ("--stats", p.as_path())));
    let written = if zarr {
        vec![args.output.clone()]
    } else {
        vec![
            args.output.clone(),
            gencast::output::forecast_nc::tmp_name(&args.output),
            gencast::output::forecast_nc::progress_name(&args.output),
        ]
    };
    refuse_inputs_as_output(&written, &input_list)?;
    let mode = WriteMode {
        resume: args.resume,
        overwrite: args.overwrite,
    };
    if !zarr {
        preflight(&args.output, mode)?;
    }
    Ok(mode)
}

/// Opens the Zarr store (claiming this run's members) or the resumable NetCDF file.
fn open_output(
    args: &Args,
    layout: ForecastLayout,
    ensemble_size: u32,
    end: u32,
    run_settings: &serde_json::Value,
    steps: usize,
) -> anyhow::Result<Output> {
    let zarr = is_zarr(&args.output);
    let mode = WriteMode {
        resume: args.resume,
        overwrite: args.overwrite,
    };
    Ok(if zarr {
        let store_layout = ForecastLayout {
            members: (0..ensemble_size as i32).collect(),
            ..layout
        };
        let z = ZarrForecast::open_or_create(&args.output, store_layout, run_settings)?;
        let range = args.member_offset as usize..end as usize;
        let claim = z.claim_members(range.clone())?;
        let mut stale = 0;
        for m in range.clone() {
            stale += z.remove_stale_chunk_files(m)?;
        }
        if stale > 0 {
            info!("removed {stale} unfinished chunk files an interrupted writer left");
        }
        if !args.resume && !args.overwrite {
            if let Some(m) = range.clone().find(|&m| z.member_has_chunks(m)) {
                bail!(
                    "{}: member {m} already has chunks in this store; add --resume to keep them \
                     and compute only what is missing, or --overwrite to compute them again",
                    args.output.display()
                );
            }
        }
        Output::Zarr {
            store: Box::new(z),
            offset: args.member_offset as usize,
            resume: args.resume,
            _claim: claim,
        }
    } else {
        let w = ForecastWriter::open_resumable(&args.output, layout, run_settings, mode)?;
        let tmp = gencast::output::forecast_nc::tmp_name(&args.output);
        match w.resumed() {
            Some(n) => info!(
                "resuming {}: {n} of {} (member, step) chunks already written",
                tmp.display(),
                args.members as usize * steps
            ),
            None if args.resume => info!(
                "--resume: no unfinished {} to continue; starting from the first step",
                tmp.display()
            ),
            None => {}
        }
        Output::NetCdf(Box::new(w), true)
    })
}

/// Where the forecast goes: a Zarr store (shared by the whole ensemble) or a NetCDF file (this
/// run's members only).
enum Output {
    /// A Zarr store; member index `i` of this run is store member `offset + i`.
    Zarr {
        store: Box<ZarrForecast>,
        offset: usize,
        resume: bool,
        /// This run's locks on its members, held until the run ends.
        _claim: MemberClaim,
    },
    /// A resumable NetCDF file, and whether its completed steps may be skipped.
    NetCdf(Box<ForecastWriter>, bool),
}

impl Output {
    /// Whether (member index, step) is already written and may be skipped.
    fn step_complete(&self, member: usize, step: usize) -> bool {
        match self {
            Output::Zarr {
                store,
                offset,
                resume,
                ..
            } => *resume && store.step_complete(offset + member, step),
            Output::NetCdf(w, skip) => *skip && w.step_complete(member, step),
        }
    }

    /// Makes every step count as not yet written, so all are computed.
    fn disable_skipping(&mut self) {
        match self {
            Output::Zarr { resume, .. } => *resume = false,
            Output::NetCdf(_, skip) => *skip = false,
        }
    }

    /// The layout of the file or store.
    fn layout(&self) -> &ForecastLayout {
        match self {
            Output::Zarr { store, .. } => store.layout(),
            Output::NetCdf(w, _) => w.layout(),
        }
    }

    /// Reads back the fields of a completed step, in output order, to feed the next step.
    fn read_fields(&self, member: usize, step: usize) -> gencast::Result<Vec<Field>> {
        let l = self.layout();
        l.variables
            .iter()
            .enumerate()
            .map(|(v, var)| {
                let data = match self {
                    Output::Zarr { store, offset, .. } => {
                        store.read_field(offset + member, step, v)?
                    }
                    Output::NetCdf(w, _) => w.read_field(member, step, v)?,
                };
                Ok(Field {
                    name: var.name.clone(),
                    levels: if var.levelled {
                        l.levels.clone()
                    } else {
                        Vec::new()
                    },
                    data,
                })
            })
            .collect()
    }

    /// Writes the selected part of a finished step (nothing when the step is not written) and
    /// records the step as complete.
    fn write_step(
        &mut self,
        member: usize,
        step: usize,
        fields: &[Field],
        sel: &Selection,
    ) -> gencast::Result<()> {
        let Some(slot) = sel.slot(step) else {
            return Ok(());
        };
        let cut = |v: usize| {
            let f = &fields[sel.variables[v]];
            sel.cut(f, f.levels.len())
        };
        match self {
            Output::Zarr { store, offset, .. } => {
                for v in 0..sel.variables.len() {
                    store.write_field(*offset + member, slot, v, &cut(v))?;
                }
                Ok(())
            }
            Output::NetCdf(w, _) => {
                for v in 0..sel.variables.len() {
                    w.write_field(member, slot, v, &cut(v))?;
                }
                w.complete_step(member, slot)
            }
        }
    }

    /// Completes the output (a NetCDF file gets its final name).
    fn finish(self) -> gencast::Result<()> {
        match self {
            Output::Zarr { .. } => Ok(()),
            Output::NetCdf(w, _) => w.finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lead_times_convert_to_steps() {
        assert_eq!(lead_time_steps("360h", 12).unwrap(), 30);
        assert_eq!(lead_time_steps("15d", 12).unwrap(), 30);
        assert_eq!(lead_time_steps("24", 12).unwrap(), 2);
        assert_eq!(lead_time_steps("18h", 6).unwrap(), 3);
        for bad in ["13h", "0h", "abc", "-12h"] {
            assert!(lead_time_steps(bad, 12).is_err(), "{bad}");
        }
    }
}
