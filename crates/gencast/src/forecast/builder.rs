//! The [`Forecast`] builder: what to forecast (a [`Request`]), the caller's callbacks, and the
//! call that runs it into a [`ForecastSink`].

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use crate::data::Dataset;
use crate::forecast::Naming;
use crate::models::graphcast::Precision;
use crate::{Error, Result};

use super::family::{ProgressFn, RunContext};
use super::model::Model;
use super::options::{InitTime, LeadTime, SamplerOverrides};
use super::request::{DatasetInput, Progress, Request, Summary};
use super::select::Region;
use super::sink::ForecastSink;

/// A forecast request: build it, then [`Forecast::run`] it with a model into a sink.
///
/// Member `m` of a GenCast forecast draws its noise from `fold_in(PRNGKey(seed), m)`, so a
/// member is the same whether computed alone or in an ensemble, and results are bitwise the same
/// for every thread count.
pub struct Forecast<'a> {
    request: Request<'a>,
    progress: Option<ProgressFn<'a>>,
    cancel: Option<Arc<AtomicBool>>,
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
            request: Request::new(dataset),
            progress: None,
            cancel: None,
        }
    }

    /// The initialisation time (the newest input frame), a time of the dataset, e.g.
    /// `"2019-03-29T12:00".parse()?`; default: the dataset's earliest possible one.
    pub fn init_time(mut self, time: InitTime) -> Self {
        self.request.init_time = Some(time);
        self
    }

    /// Number of ensemble members (default 1; GraphCast makes exactly one).
    pub fn members(mut self, members: u32) -> Self {
        self.request.members = members;
        self
    }

    /// Number of the first member (members are `offset .. offset + members`).
    pub fn member_offset(mut self, offset: u32) -> Self {
        self.request.member_offset = offset;
        self
    }

    /// Number of model steps (default 1).
    pub fn steps(mut self, steps: usize) -> Self {
        self.request.steps = Some(steps);
        self
    }

    /// Lead time instead of steps, a positive multiple of the model's step (e.g.
    /// `LeadTime::hours(360)` or `"15d".parse()?`).
    pub fn lead_time(mut self, lead_time: LeadTime) -> Self {
        self.request.lead_time = Some(lead_time);
        self
    }

    /// Random seed (default 0): member `m` uses `fold_in(PRNGKey(seed), m)`.
    pub fn seed(mut self, seed: i64) -> Self {
        self.request.seed = seed;
        self
    }

    /// Overrides sampler settings of the checkpoint (GenCast), e.g.
    /// `"num_noise_levels=20".parse()?`; replaces earlier overrides.
    pub fn sampler(mut self, overrides: SamplerOverrides) -> Self {
        self.request.sampler = overrides;
        self
    }

    /// Worker threads for this run (default: rayon's global pool, all cores).
    pub fn threads(mut self, threads: usize) -> Self {
        self.request.threads = Some(threads);
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
        self.request.debug_nans = on;
        self
    }

    /// Arithmetic of a GraphCast network (GenCast runs in float32 only).
    pub fn precision(mut self, precision: Precision) -> Self {
        self.request.precision = precision;
        self
    }

    /// Writes only these predicted variables (default: all).
    pub fn variables(mut self, names: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.request.variables = names.into_iter().map(Into::into).collect();
        self
    }

    /// Writes only these pressure levels in hPa (default: all).
    pub fn levels(mut self, levels: impl IntoIterator<Item = i32>) -> Self {
        self.request.levels = levels.into_iter().collect();
        self
    }

    /// Writes only this region.
    pub fn region(mut self, region: Region) -> Self {
        self.request.region = Some(region);
        self
    }

    /// Writes only every this much lead time (e.g. `LeadTime::hours(24)`), a multiple of
    /// the model's step.
    pub fn output_every(mut self, every: LeadTime) -> Self {
        self.request.output_every = Some(every);
        self
    }

    /// The dimension and coordinate names of the output (default: the reference's).
    pub fn naming(mut self, naming: Naming) -> Self {
        self.request.naming = naming;
        self
    }

    /// Runs the forecast with `model`, feeding every finished step to `sink`.
    pub fn run(self, model: &Model, sink: &mut dyn ForecastSink) -> Result<Summary> {
        let Forecast {
            request,
            progress,
            cancel,
        } = self;
        let mut ctx = RunContext { progress, cancel };
        let pool = match request.threads {
            None => None,
            Some(n) => Some(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(thread_count(n, &mut ctx)?)
                    .build()
                    .map_err(|e| Error::Invalid(format!("starting {n} threads: {e}")))?,
            ),
        };
        let mut go = || super::driver::run(&request, &mut ctx, model, sink);
        match pool {
            Some(p) => p.install(go),
            None => go(),
        }
    }
}

/// Caps a thread count at the machine's available parallelism, with a warning.
fn thread_count(requested: usize, ctx: &mut RunContext<'_>) -> Result<usize> {
    if requested == 0 {
        bail!("Forecast::threads must be at least 1");
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if requested > cores {
        ctx.report(Progress::Warning(format!(
            "Forecast::threads {requested} is more than the {cores} available cores; using {cores}"
        )));
        return Ok(cores);
    }
    Ok(requested)
}
