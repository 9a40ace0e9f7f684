//! The [`Forecast`] builder: what to forecast, and the run that feeds a [`ForecastSink`].

use std::ops::Deref;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

use serde_json::{json, Value};

use crate::data::Dataset;
use crate::model::graphcast::Precision;
use crate::output::forecast_nc::Naming;
use crate::rollout::CallProgress;
use crate::{Error, Result};

use super::model::{Loaded, Model};
use super::select::Region;
use super::sink::ForecastSink;
use super::timing::{check_steps, lead_time_steps};

/// The most (member, step) pairs one run may hold (its progress record lists them).
pub const MAX_MEMBER_STEPS: usize = 1_000_000;

/// What a forecast reports while it runs (to a [`Forecast::progress`] callback).
#[derive(Clone, Debug, PartialEq)]
pub enum Progress {
    /// A message for the user (what was loaded, what a resume found).
    Info(String),
    /// A warning for the user (e.g. a statistics value that looks wrong).
    Warning(String),
    /// The run starts computing: `to_compute` of the `members × steps` steps are computed,
    /// the others were written by an earlier run.
    Started {
        /// Members of this run.
        members: usize,
        /// Steps per member.
        steps: usize,
        /// Steps to compute.
        to_compute: usize,
    },
    /// A denoiser call finished (GenCast only).
    Call(CallProgress),
    /// A step was computed and written.
    StepDone {
        /// Member index within the run (0 .. members).
        member: usize,
        /// Step index (0 .. steps).
        step: usize,
        /// Denoiser calls the step made (0 for GraphCast).
        calls: usize,
    },
    /// A step written by an earlier run was read back instead of computed.
    StepSkipped {
        /// Member index within the run (0 .. members).
        member: usize,
        /// Step index (0 .. steps).
        step: usize,
    },
}

/// What a finished forecast did.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    /// Member numbers of the run.
    pub members: Vec<u32>,
    /// Steps per member.
    pub steps: usize,
    /// Steps computed.
    pub steps_computed: usize,
    /// Steps read back from an earlier run's output.
    pub steps_skipped: usize,
    /// Denoiser calls made (0 for GraphCast).
    pub denoiser_calls: usize,
    /// Wall-clock seconds of the run.
    pub seconds: f64,
}

/// A progress callback.
pub(crate) type ProgressFn<'a> = Box<dyn FnMut(&Progress) + Send + 'a>;

/// The input dataset of a forecast.
pub enum DatasetInput<'a> {
    /// A NetCDF file, opened by the run.
    Path(PathBuf),
    /// A dataset already open.
    Opened(&'a Dataset),
}

/// A forecast request: build it, then [`Forecast::run`] it with a model into a sink.
///
/// Member `m` of a GenCast forecast draws its noise from `fold_in(PRNGKey(seed), m)`, so a
/// member is the same whether computed alone or in an ensemble, and results are bitwise the same
/// for every thread count.
pub struct Forecast<'a> {
    pub(crate) dataset: DatasetInput<'a>,
    pub(crate) init_time: Option<String>,
    pub(crate) members: u32,
    pub(crate) member_offset: u32,
    pub(crate) steps: Option<usize>,
    pub(crate) lead_time: Option<String>,
    pub(crate) seed: i64,
    pub(crate) sampler: Vec<String>,
    pub(crate) threads: Option<usize>,
    pub(crate) progress: Option<ProgressFn<'a>>,
    pub(crate) cancel: Option<Arc<AtomicBool>>,
    pub(crate) debug_nans: bool,
    pub(crate) precision: Precision,
    pub(crate) variables: Vec<String>,
    pub(crate) levels: Vec<i32>,
    pub(crate) region: Option<Region>,
    pub(crate) output_every: Option<String>,
    pub(crate) naming: Naming,
}

impl<'a> Forecast<'a> {
    /// A forecast of the dataset at `path` (NetCDF): one member, one step, seed 0.
    pub fn new(dataset: impl Into<PathBuf>) -> Forecast<'a> {
        Self::with_input(DatasetInput::Path(dataset.into()))
    }

    /// A forecast of a dataset already open.
    pub fn with_dataset(dataset: &'a Dataset) -> Forecast<'a> {
        Self::with_input(DatasetInput::Opened(dataset))
    }

    fn with_input(dataset: DatasetInput<'a>) -> Forecast<'a> {
        Forecast {
            dataset,
            init_time: None,
            members: 1,
            member_offset: 0,
            steps: None,
            lead_time: None,
            seed: 0,
            sampler: Vec::new(),
            threads: None,
            progress: None,
            cancel: None,
            debug_nans: false,
            precision: Precision::F32,
            variables: Vec::new(),
            levels: Vec::new(),
            region: None,
            output_every: None,
            naming: Naming::Reference,
        }
    }

    /// The initialisation time (the newest input frame), e.g. `2019-03-29T12:00`; default:
    /// the dataset's earliest possible one.
    pub fn init_time(mut self, time: impl Into<String>) -> Self {
        self.init_time = Some(time.into());
        self
    }

    /// Number of ensemble members (default 1; GraphCast makes exactly one).
    pub fn members(mut self, members: u32) -> Self {
        self.members = members;
        self
    }

    /// Number of the first member (members are `offset .. offset + members`).
    pub fn member_offset(mut self, offset: u32) -> Self {
        self.member_offset = offset;
        self
    }

    /// Number of model steps (default 1).
    pub fn steps(mut self, steps: usize) -> Self {
        self.steps = Some(steps);
        self
    }

    /// Lead time instead of steps: `360h`, `15d` or a number of hours, a multiple of the
    /// model's step.
    pub fn lead_time(mut self, lead_time: impl Into<String>) -> Self {
        self.lead_time = Some(lead_time.into());
        self
    }

    /// Random seed (default 0): member `m` uses `fold_in(PRNGKey(seed), m)`.
    pub fn seed(mut self, seed: i64) -> Self {
        self.seed = seed;
        self
    }

    /// Overrides a sampler setting of the checkpoint, `key=value` (e.g.
    /// `num_noise_levels=20`); may be given several times.
    pub fn sampler(mut self, assignment: impl Into<String>) -> Self {
        self.sampler.push(assignment.into());
        self
    }

    /// Worker threads for this run (default: rayon's global pool, all cores).
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = Some(threads);
        self
    }

    /// Calls `f` with every [`Progress`] event, on the thread that runs the forecast.
    pub fn progress(mut self, f: impl FnMut(&Progress) + Send + 'a) -> Self {
        self.progress = Some(Box::new(f));
        self
    }

    /// Stops the run with [`Error::Cancelled`] once `flag` is set (checked before every
    /// denoiser call and every step); what was written stays as an interrupted output.
    pub fn cancel_flag(mut self, flag: Arc<AtomicBool>) -> Self {
        self.cancel = Some(flag);
        self
    }

    /// Checks every stage's output for NaN or infinity and stops at the first.
    pub fn debug_nans(mut self, on: bool) -> Self {
        self.debug_nans = on;
        self
    }

    /// Arithmetic of a GraphCast network (GenCast runs in float32 only).
    pub fn precision(mut self, precision: Precision) -> Self {
        self.precision = precision;
        self
    }

    /// Writes only these predicted variables (default: all).
    pub fn variables(mut self, names: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.variables = names.into_iter().map(Into::into).collect();
        self
    }

    /// Writes only these pressure levels in hPa (default: all).
    pub fn levels(mut self, levels: impl IntoIterator<Item = i32>) -> Self {
        self.levels = levels.into_iter().collect();
        self
    }

    /// Writes only this region.
    pub fn region(mut self, region: Region) -> Self {
        self.region = Some(region);
        self
    }

    /// Writes only every this much lead time (`24h`, `1d`), a multiple of the model's step.
    pub fn output_every(mut self, every: impl Into<String>) -> Self {
        self.output_every = Some(every.into());
        self
    }

    /// The dimension and coordinate names of the output (default: the reference's).
    pub fn naming(mut self, naming: Naming) -> Self {
        self.naming = naming;
        self
    }

    /// Runs the forecast with `model`, feeding every finished step to `sink`.
    pub fn run(mut self, model: &Model, sink: &mut dyn ForecastSink) -> Result<Summary> {
        let pool = match self.threads {
            None => None,
            Some(n) => Some(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(self.thread_count(n)?)
                    .build()
                    .map_err(|e| Error::Invalid(format!("starting {n} threads: {e}")))?,
            ),
        };
        let mut go = || match &model.loaded {
            Loaded::GenCast(ckpt, stats) => {
                super::gencast::run(&mut self, model, ckpt, stats, sink)
            }
            Loaded::GraphCast(ckpt, stats) => {
                super::graphcast::run(&mut self, model, ckpt, stats, sink)
            }
        };
        match pool {
            Some(p) => p.install(go),
            None => go(),
        }
    }

    /// Caps a thread count at the machine's available parallelism, with a warning.
    fn thread_count(&mut self, requested: usize) -> Result<usize> {
        if requested == 0 {
            bail!("--threads must be at least 1");
        }
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        if requested > cores {
            self.report(Progress::Warning(format!(
                "--threads {requested} is more than the {cores} available cores; using {cores}"
            )));
            return Ok(cores);
        }
        Ok(requested)
    }

    /// Sends an event to the progress callback.
    pub(crate) fn report(&mut self, event: Progress) {
        if let Some(f) = self.progress.as_mut() {
            f(&event);
        }
    }

    /// Forwards the sink's messages.
    pub(crate) fn forward_notes(&mut self, sink: &mut dyn ForecastSink) {
        for n in sink.notes() {
            self.report(Progress::Info(n));
        }
    }

    /// The number of steps asked for (steps or lead time, default 1).
    pub(crate) fn step_count(&self, step_hours: u64) -> Result<usize> {
        match (&self.steps, &self.lead_time) {
            (Some(n), _) => check_steps(*n, step_hours),
            (None, Some(t)) => lead_time_steps(t, step_hours),
            (None, None) => Ok(1),
        }
    }

    /// The dataset, opened when given as a path.
    pub(crate) fn open_dataset(&self) -> Result<OpenDataset<'a>> {
        match &self.dataset {
            DatasetInput::Path(p) => Ok(OpenDataset::Owned(Box::new(Dataset::open(p)?))),
            DatasetInput::Opened(d) => Ok(OpenDataset::Borrowed(d)),
        }
    }

    /// The run's settings stored with the output; `extra` first, then the content identities
    /// of the input files when the sink compares them.
    pub(crate) fn run_settings(
        &self,
        model: &Model,
        ds: &Dataset,
        sink: &dyn ForecastSink,
        mut settings: Value,
    ) -> Result<Value> {
        if sink.wants_identity() {
            settings["inputs"] = input_identities(model, ds)?;
        }
        Ok(settings)
    }

    /// Fails with [`Error::Cancelled`] once the cancellation flag is set.
    pub(crate) fn check_cancel(&self) -> Result<()> {
        crate::rollout::check_cancel(self.cancel.as_deref())
    }
}

/// The dataset of a run: opened by it, or the caller's.
pub(crate) enum OpenDataset<'a> {
    /// Opened from a path.
    Owned(Box<Dataset>),
    /// The caller's.
    Borrowed(&'a Dataset),
}

impl Deref for OpenDataset<'_> {
    type Target = Dataset;

    fn deref(&self) -> &Dataset {
        match self {
            OpenDataset::Owned(d) => d,
            OpenDataset::Borrowed(d) => d,
        }
    }
}

/// The content identities of a run's input files, keyed by role (`checkpoint`, `dataset`,
/// `stats/<file>`).
fn input_identities(model: &Model, ds: &Dataset) -> Result<Value> {
    use crate::output::guard::file_identity;
    let mut m = serde_json::Map::new();
    m.insert("checkpoint".into(), file_identity(model.checkpoint_path())?);
    m.insert("dataset".into(), file_identity(ds.path())?);
    match model.stats_dir() {
        Some(dir) => {
            for f in model.stats_files() {
                m.insert(format!("stats/{f}"), file_identity(&dir.join(f))?);
            }
        }
        None => {
            m.insert("stats".into(), json!("in memory"));
        }
    }
    Ok(Value::Object(m))
}

/// Wall-clock seconds since `t0`.
pub(crate) fn seconds_since(t0: Instant) -> f64 {
    t0.elapsed().as_secs_f64()
}
