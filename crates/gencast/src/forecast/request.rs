//! A forecast request as plain data, and what a run reports back ([`Progress`], [`Summary`]).

use std::ops::Deref;
use std::path::PathBuf;

use crate::data::Dataset;
use crate::forecast::Naming;
use crate::models::gencast::rollout::CallProgress;
use crate::models::graphcast::Precision;
use crate::Result;

use super::options::{InitTime, LeadTime, SamplerOverrides};
use super::select::Region;
use super::timing::{check_steps, lead_time_steps};

/// The most (member, step) pairs one run may hold (its progress record lists them).
pub const MAX_MEMBER_STEPS: usize = 1_000_000;

/// What a forecast reports while it runs (to a [`crate::Forecast::progress`] callback).
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

/// The input dataset of a forecast.
pub enum DatasetInput<'a> {
    /// A NetCDF file, opened by the run.
    Path(PathBuf),
    /// A dataset already open.
    Opened(&'a Dataset),
}

/// What to forecast: the settings of a [`crate::Forecast`], without its callbacks.
pub(crate) struct Request<'a> {
    pub(crate) dataset: DatasetInput<'a>,
    pub(crate) init_time: Option<InitTime>,
    pub(crate) members: u32,
    pub(crate) member_offset: u32,
    pub(crate) steps: Option<usize>,
    pub(crate) lead_time: Option<LeadTime>,
    pub(crate) seed: i64,
    pub(crate) sampler: SamplerOverrides,
    pub(crate) threads: Option<usize>,
    pub(crate) debug_nans: bool,
    pub(crate) precision: Precision,
    pub(crate) variables: Vec<String>,
    pub(crate) levels: Vec<i32>,
    pub(crate) region: Option<Region>,
    pub(crate) output_every: Option<LeadTime>,
    pub(crate) naming: Naming,
}

impl<'a> Request<'a> {
    /// The defaults: one member numbered 0, one step, seed 0, everything written.
    pub(crate) fn new(dataset: DatasetInput<'a>) -> Request<'a> {
        Request {
            dataset,
            init_time: None,
            members: 1,
            member_offset: 0,
            steps: None,
            lead_time: None,
            seed: 0,
            sampler: SamplerOverrides::default(),
            threads: None,
            debug_nans: false,
            precision: Precision::F32,
            variables: Vec::new(),
            levels: Vec::new(),
            region: None,
            output_every: None,
            naming: Naming::Reference,
        }
    }

    /// The number of steps asked for (steps or lead time, default 1).
    pub(crate) fn step_count(&self, step_hours: u64) -> Result<usize> {
        match (&self.steps, &self.lead_time) {
            (Some(n), _) => check_steps(*n, step_hours),
            (None, Some(t)) => lead_time_steps(*t, step_hours),
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
