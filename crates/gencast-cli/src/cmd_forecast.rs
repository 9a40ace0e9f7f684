//! `gencast forecast`: an ensemble forecast written to NetCDF or to a Zarr v3 store, step by
//! step; several processes may write disjoint members of one Zarr store, and `--resume` skips
//! the (member, step) chunks already there (or recorded in an unfinished NetCDF file).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context};
use gencast::forecast::is_grib;
use gencast::forecast::output::{check_input_kinds, check_output, is_zarr, sink_for};
use gencast::forecast::Field;
use gencast::forecast::Precision;
use gencast::forecast::{EnsembleSummary, Region, SummarySink, MAX_ENSEMBLE};
use gencast::forecast::{ForecastLayout, Naming, WriteMode};
use gencast::forecast::{InitTime, LeadTime, SamplerOverrides};
use gencast::{Forecast, ForecastSink, Model, ModelKind, Progress};
use serde_json::Value;
use tracing::info;

use crate::progress::ProgressLine;
use crate::signals::{raise_sigterm, Stop, SIGTERM_AFTER_ENV};

/// Arguments of `gencast forecast`.
#[derive(clap::Args)]
pub(crate) struct Args {
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
    /// Output: a NetCDF file (.nc), a GRIB2 file (.grib2, .grb2 or .grib; one message per
    /// member, step, variable and level) or a Zarr v3 store (a folder ending in .zarr).
    #[arg(long, short)]
    output: PathBuf,
    /// Total members of the Zarr store (default: member offset + members). Processes writing
    /// disjoint --member-offset/--members ranges of one store must all give the same value.
    #[arg(long, allow_negative_numbers = true, value_parser = crate::numbers::whole::<u32>)]
    ensemble_size: Option<u32>,
    /// Skip the (member, step) chunks already in the Zarr store, or recorded in the unfinished
    /// NetCDF or GRIB2 file an interrupted run left (OUT.tmp), replaying their stored
    /// predictions as inputs of the later steps. The settings must be the same as the interrupted run's.
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
    /// Write ensemble statistics instead of the members: comma-separated `mean`, `std` (with
    /// ddof one) and quantiles `qP` (P a percentage, e.g. `q10,q90`); add `members` to write
    /// the members too. Statistic s of variable v is the variable `s__v`, without the member
    /// dimension.
    #[arg(long, value_delimiter = ',')]
    ensemble_summary: Vec<String>,
    /// Arithmetic of a GraphCast network: `f32`, or `bf16-cast` to emulate the notebook's
    /// `Bfloat16Cast` (bfloat16 inputs, weights and ops; slower, for reproducing published
    /// scores). GenCast runs in float32 only.
    #[arg(long, value_enum, default_value = "f32")]
    precision: PrecisionArg,
}

/// Values of `--precision`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum PrecisionArg {
    /// Float32.
    F32,
    /// The notebook's bfloat16 cast, emulated.
    #[value(name = "bf16-cast")]
    Bf16Cast,
}

impl PrecisionArg {
    /// The library's precision.
    pub(crate) fn precision(self) -> Precision {
        match self {
            PrecisionArg::F32 => Precision::F32,
            PrecisionArg::Bf16Cast => Precision::Bf16Cast,
        }
    }
}

/// The `--layout` choices.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum LayoutArg {
    /// The reference's rollout names.
    Reference,
    /// WeatherBench-2's names.
    Weatherbench2,
}

/// Test hook: the process fails after computing this many steps (simulates a killed run).
const STOP_AFTER_ENV: &str = "GENCAST_STOP_AFTER_STEPS";

/// The model, dataset and statistics folder of a run: all three given, or the bundled demo.
fn inputs(args: &Args) -> anyhow::Result<(PathBuf, PathBuf, PathBuf)> {
    match (&args.checkpoint, &args.dataset, &args.stats) {
        (Some(c), Some(d), Some(s)) => Ok((c.clone(), d.clone(), s.clone())),
        (None, None, None) => {
            let demo = crate::demo::dir()?;
            tracing::warn!(
                "no --checkpoint, --dataset or --stats: running the bundled demo model (random \
                 weights, not a weather forecast) on its demo data in {}",
                demo.display()
            );
            Ok((
                demo.join(crate::demo::CHECKPOINT),
                demo.join(crate::demo::DATASET),
                demo,
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

/// The family of the checkpoint at `path`; a file that is not a readable archive is left to
/// the GenCast reader, whose error says why.
fn kind_of(path: &Path) -> ModelKind {
    match path
        .is_file()
        .then(|| gencast::checkpoint::CheckpointKind::detect(path).ok())
        .flatten()
    {
        Some(gencast::checkpoint::CheckpointKind::GraphCast) => ModelKind::GraphCast,
        _ => ModelKind::GenCast,
    }
}

/// Checks the ensemble options that concern the output store, before anything is read.
fn check_ensemble_options(args: &Args, kind: ModelKind) -> anyhow::Result<()> {
    let zarr = is_zarr(&args.output);
    if kind == ModelKind::GraphCast {
        if let Some(n) = args.ensemble_size {
            if n != 1 || !zarr {
                bail!(
                    "--ensemble-size {n}: a GraphCast checkpoint makes a deterministic forecast, \
                     written as one member"
                );
            }
        }
        return Ok(());
    }
    if !zarr && args.ensemble_size.is_some() {
        bail!(
            "--ensemble-size needs a Zarr store (--output ending in .zarr); a NetCDF file holds \
             exactly the members of one run"
        );
    }
    let Some(end) = args.member_offset.checked_add(args.members) else {
        return Ok(()); // the library names the overflow
    };
    let ensemble_size = args.ensemble_size.unwrap_or(end);
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
    Ok(())
}

/// The `--ensemble-summary` request, checked against the other options.
fn summary_request(args: &Args, kind: ModelKind) -> anyhow::Result<Option<EnsembleSummary>> {
    if args.ensemble_summary.is_empty() {
        return Ok(None);
    }
    let summary = EnsembleSummary::parse(&args.ensemble_summary)?;
    if is_grib(&args.output) {
        bail!(
            "--ensemble-summary: a GRIB2 output holds the members themselves; write the \
             statistics to a NetCDF file (.nc) or a Zarr store (.zarr)"
        );
    }
    if kind == ModelKind::GraphCast {
        bail!("--ensemble-summary: a GraphCast forecast has one member, so no ensemble statistics");
    }
    if args.resume {
        bail!(
            "--ensemble-summary cannot be resumed (its statistics need every member of one run); \
             start over with --overwrite"
        );
    }
    if args.ensemble_size.is_some() {
        bail!(
            "--ensemble-summary with --ensemble-size: the statistics need every member in one \
             run; give the whole ensemble with --members"
        );
    }
    Ok(Some(summary))
}

/// Log lines and the terminal progress bar of a run.
struct Reporter {
    offset: usize,
    step_hours: u64,
    graphcast: bool,
    show_bar: bool,
    bar: Option<ProgressLine>,
    steps: usize,
    total_steps: usize,
    to_compute: usize,
    computed: usize,
    compute_start: Instant,
    last: Instant,
    /// The [`SIGTERM_AFTER_ENV`] test hook: computed steps after which SIGTERM is raised.
    sigterm_after: Option<usize>,
}

impl Reporter {
    fn new(
        offset: u32,
        step_hours: u64,
        graphcast: bool,
        sigterm_after: Option<usize>,
    ) -> Reporter {
        Reporter {
            offset: offset as usize,
            step_hours,
            graphcast,
            show_bar: std::io::stderr().is_terminal()
                && tracing::level_filters::LevelFilter::current() >= tracing::Level::INFO,
            bar: None,
            steps: 0,
            total_steps: 0,
            to_compute: 0,
            computed: 0,
            compute_start: Instant::now(),
            last: Instant::now(),
            sigterm_after,
        }
    }

    fn clear(&mut self) {
        if let Some(b) = self.bar.as_mut() {
            b.clear();
        }
    }

    fn on(&mut self, event: &Progress) {
        match event {
            Progress::Info(m) => {
                self.clear();
                info!("{}", crate::option_names::to_flags(m));
            }
            Progress::Warning(m) => {
                self.clear();
                tracing::warn!("{}", crate::option_names::to_flags(m));
            }
            Progress::Started {
                members,
                steps,
                to_compute,
            } => {
                self.steps = *steps;
                self.total_steps = members * steps;
                self.to_compute = *to_compute;
                self.bar = Some(ProgressLine::new(
                    self.show_bar,
                    self.offset,
                    *members,
                    *steps,
                    *to_compute,
                ));
                self.compute_start = Instant::now();
                self.last = self.compute_start;
            }
            Progress::Call(p) => {
                if let Some(b) = self.bar.as_mut() {
                    b.on_call(*p);
                }
            }
            Progress::StepSkipped { member, step } => {
                self.clear();
                if self.graphcast {
                    info!("step {}/{}: already written, skipped", step + 1, self.steps);
                } else {
                    info!(
                        "member {} step {}/{}: already written, skipped",
                        self.offset + member,
                        step + 1,
                        self.steps
                    );
                }
            }
            Progress::StepDone {
                member,
                step,
                calls,
            } => {
                self.computed += 1;
                let per_step = self.compute_start.elapsed().as_secs_f64() / self.computed as f64;
                let eta = per_step * self.to_compute.saturating_sub(self.computed) as f64;
                let lead = (*step as u64 + 1) * self.step_hours;
                self.clear();
                if self.graphcast {
                    info!(
                        "step {}/{} (+{lead}h) done in {:.2} s; ETA {eta:.0} s",
                        step + 1,
                        self.steps,
                        self.last.elapsed().as_secs_f64(),
                    );
                } else {
                    let finished = member * self.steps + step + 1;
                    info!(
                        "member {} step {}/{} (+{lead}h) done: {calls} denoiser calls in {:.2} s; {finished}/{} steps, ETA {eta:.0} s",
                        self.offset + member,
                        step + 1,
                        self.steps,
                        self.last.elapsed().as_secs_f64(),
                        self.total_steps,
                    );
                }
                if let Some(b) = self.bar.as_mut() {
                    b.on_step(*member, *step);
                }
                self.last = Instant::now();
                if self.sigterm_after == Some(self.computed) {
                    raise_sigterm();
                }
            }
        }
    }
}

/// A sink that fails once it has written a given number of steps (the `GENCAST_STOP_AFTER_STEPS`
/// test hook, simulating a killed run). The failure comes with the next write or the finish, so
/// the last written step is logged as done, as a killed run's would be.
struct StopAfter {
    inner: Box<dyn ForecastSink>,
    after: usize,
    written: usize,
}

impl StopAfter {
    /// Fails once the run has written its allowance of steps.
    fn check(&self) -> gencast::Result<()> {
        if self.written >= self.after {
            return Err(gencast::Error::Invalid(format!(
                "stopped after {} steps ({STOP_AFTER_ENV})",
                self.written
            )));
        }
        Ok(())
    }
}

impl ForecastSink for StopAfter {
    fn begin(&mut self, layout: &ForecastLayout, run: &Value) -> gencast::Result<()> {
        self.inner.begin(layout, run)
    }

    fn write(&mut self, member: usize, slot: usize, fields: &[Field]) -> gencast::Result<()> {
        self.check()?;
        self.inner.write(member, slot, fields)?;
        self.written += 1;
        Ok(())
    }

    fn finish(&mut self) -> gencast::Result<()> {
        self.check()?;
        self.inner.finish()
    }

    fn write_summary(&mut self, slot: usize, variable: usize, data: &[f32]) -> gencast::Result<()> {
        self.inner.write_summary(slot, variable, data)
    }

    fn resumes(&self) -> bool {
        self.inner.resumes()
    }

    fn is_complete(&self, member: usize, step: usize) -> bool {
        self.inner.is_complete(member, step)
    }

    fn read(&self, member: usize, step: usize) -> gencast::Result<Vec<Field>> {
        self.inner.read(member, step)
    }

    fn wants_identity(&self) -> bool {
        self.inner.wants_identity()
    }

    fn notes(&mut self) -> Vec<String> {
        self.inner.notes()
    }

    fn discard_unfinished(&mut self) {
        self.inner.discard_unfinished()
    }
}

/// A numeric test-hook setting from the environment.
fn env_count(name: &str) -> anyhow::Result<Option<usize>> {
    match std::env::var(name) {
        Ok(v) => Ok(Some(v.parse().with_context(|| format!("{name}={v}"))?)),
        Err(_) => Ok(None),
    }
}

/// What a run stopped by `signal` says: what was kept or removed, and how to continue.
fn stopped_message(args: &Args, signal: &str, summary: Option<&EnsembleSummary>) -> String {
    let out = args.output.display();
    match summary {
        None => format!(
            "{out}: stopped by {signal}; the steps written so far are kept: rerun with --resume \
             to continue"
        ),
        Some(s) if is_zarr(&args.output) && s.members => format!(
            "{out}: stopped by {signal}; an --ensemble-summary run cannot be resumed (its spill \
             file was removed): rerun with --overwrite to start over"
        ),
        Some(_) => format!(
            "{out}: stopped by {signal}; an --ensemble-summary run cannot be resumed (its spill \
             file and unfinished output were removed): rerun the same command to start over"
        ),
    }
}

/// Runs the command; `stop` is set by SIGTERM or SIGINT.
pub(crate) fn run(args: Args, stop: &Stop) -> anyhow::Result<()> {
    let (ckpt_path, ds_path, stats_dir) = inputs(&args)?;
    let kind = kind_of(&ckpt_path);
    check_ensemble_options(&args, kind)?;
    let region = args.region.as_deref().map(Region::parse).transpose()?;
    let lead_time = args
        .lead_time
        .as_deref()
        .map(|t| LeadTime::parse_option("--lead-time", t))
        .transpose()?;
    let output_every = args
        .output_every
        .as_deref()
        .map(|t| LeadTime::parse_option("--output-every", t))
        .transpose()?;
    let init_time: Option<InitTime> = args.init_time.as_deref().map(str::parse).transpose()?;
    let sampler = SamplerOverrides::parse(&args.sampler)?;
    let summary = summary_request(&args, kind)?;
    let stop_after = env_count(STOP_AFTER_ENV)?;
    let sigterm_after = env_count(SIGTERM_AFTER_ENV)?;

    // Output safety, before anything is read.
    let stats_files = kind.stats_files();
    check_input_kinds(
        [
            ("--checkpoint", &ckpt_path),
            ("--dataset", &ds_path),
            ("--stats", &stats_dir),
        ],
        stats_files,
    )?;
    let stats_paths: Vec<PathBuf> = stats_files.iter().map(|f| stats_dir.join(f)).collect();
    let mut input_list: Vec<(&str, &Path)> = vec![
        ("--checkpoint", &ckpt_path),
        ("--dataset", &ds_path),
        ("--stats", &stats_dir),
    ];
    input_list.extend(stats_paths.iter().map(|p| ("--stats", p.as_path())));
    let mode = WriteMode {
        resume: args.resume,
        overwrite: args.overwrite,
    };
    check_output(&args.output, mode, &input_list)?;
    // A summary's spill file a killed run of this output left (ours, by name and marker); a
    // file in its place that is not ours only stops a run that needs the name.
    let leftover = gencast::forecast::spill::remove_leftover_spill(&args.output);
    if let Some(p) = match leftover {
        Err(e) if summary.is_some() => return Err(e.into()),
        r => r.ok().flatten(),
    } {
        info!("removed the spill file {} a stopped run left", p.display());
    }

    let t0 = Instant::now();
    let model = Model::load(&ckpt_path, &stats_dir)?;
    let mut forecast = Forecast::new(&ds_path)
        .members(args.members)
        .member_offset(args.member_offset)
        .seed(args.seed)
        .debug_nans(args.debug_nans)
        .cancel_flag(stop.flag())
        .variables(args.variables.iter().cloned())
        .levels(args.levels.iter().copied())
        .precision(args.precision.precision())
        .naming(match args.layout {
            LayoutArg::Reference => Naming::Reference,
            LayoutArg::Weatherbench2 => Naming::WeatherBench2,
        });
    if let Some(n) = args.steps {
        forecast = forecast.steps(n);
    }
    if let Some(t) = lead_time {
        forecast = forecast.lead_time(t);
    }
    if let Some(t) = init_time {
        forecast = forecast.init_time(t);
    }
    if let Some(n) = args.threads {
        forecast = forecast.threads(n);
    }
    if let Some(r) = region {
        forecast = forecast.region(r);
    }
    if let Some(e) = output_every {
        forecast = forecast.output_every(e);
    }
    if !sampler.is_empty() {
        forecast = forecast.sampler(sampler);
    }
    let graphcast = kind == ModelKind::GraphCast;
    let mut reporter = Reporter::new(
        args.member_offset,
        model.step_hours(),
        graphcast,
        sigterm_after,
    );
    let forecast = forecast.progress(move |e| reporter.on(e));
    let mut sink = sink_for(&args.output, mode, args.ensemble_size);
    if let Some(summary) = summary.clone() {
        sink = Box::new(SummarySink::for_output(sink, summary, &args.output));
    }
    if let Some(after) = stop_after {
        sink = Box::new(StopAfter {
            inner: sink,
            after,
            written: 0,
        });
    }
    let result = forecast.run(&model, sink.as_mut());
    // The output is closed first: member locks released, what cannot be resumed removed.
    drop(sink);
    let summary = match (result, stop.received()) {
        (Err(gencast::Error::Cancelled), Some(mut stopped)) => {
            stopped.message = stopped_message(&args, stopped.name(), summary.as_ref());
            return Err(stopped.into());
        }
        (result, _) => result?,
    };
    let seconds = t0.elapsed().as_secs_f64();
    info!("wrote {} in {seconds:.2} s", args.output.display());
    if args.json {
        let mut out = serde_json::json!({
            "output": args.output.display().to_string(),
            "members": summary.members,
            "steps": summary.steps,
            "steps_computed": summary.steps_computed,
            "steps_skipped": summary.steps_skipped,
            "seconds": seconds,
            "denoiser_calls": summary.denoiser_calls,
            "peak_rss_mb": gencast::process::peak_rss_mb(),
        });
        if graphcast {
            let o = out.as_object_mut().context("summary")?;
            o.remove("denoiser_calls");
            o.insert("model".into(), "graphcast".into());
            o.insert("precision".into(), args.precision_name().into());
        }
        println!("{out}");
    }
    Ok(())
}

impl Args {
    /// The `--precision` value as written in outputs.
    fn precision_name(&self) -> &'static str {
        match self.precision {
            PrecisionArg::F32 => Precision::F32.name(),
            PrecisionArg::Bf16Cast => Precision::Bf16Cast.name(),
        }
    }
}
