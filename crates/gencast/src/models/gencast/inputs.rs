//! One forecast step's data: from a dataset and statistics to the denoiser's stacked grid features,
//! and from normalised network outputs back to physical fields (`extract_inputs_targets_forcings`
//! in <https://github.com/google-deepmind/graphcast/blob/08cf736/graphcast/data_utils.py>,
//! `InputsAndResiduals` in
//! <https://github.com/google-deepmind/graphcast/blob/08cf736/graphcast/normalization.py>,
//! `dataset_to_stacked` in
//! <https://github.com/google-deepmind/graphcast/blob/08cf736/graphcast/model_utils.py>,
//! `chunked_prediction_generator` in
//! <https://github.com/google-deepmind/graphcast/blob/08cf736/graphcast/rollout.py>).
//!
//! [`PreparedStep`] keeps the physical input frames (NaNs as in the data) and the valid times;
//! it NaN-cleans sea surface temperature with `min_by_level`, normalises inputs and forcings,
//! computes the progress features from the valid times, and stacks everything into
//! `[Ng, Cin]` grid features whose target columns are left zero. [`PreparedStep::to_physical`]
//! inverts the target normalisation (residual variables relative to the last input frame) and
//! puts NaNs back where any input frame of sea surface temperature was NaN;
//! [`PreparedStep::advance`] makes a prediction the newest input frame for the next step.
//!
//! The work is split by purpose: `frames` selects, validates and reads the input frames and
//! moves them on, `norms` gathers the normalisation constants, `stack` builds the stacked
//! features, and `physical` converts outputs and targets between normalised and physical
//! units. The dataset rules themselves are those of `data::checks::rules`.

mod frames;
mod norms;
mod physical;
mod stack;

pub use frames::first_input_frame;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::data::checks::SST;
use crate::data::dataset::Dataset;
use crate::data::stacking::StackLayout;
use crate::data::stats::StatsSet;
use crate::checkpoint::TaskConfig;
use crate::forecast::Field;
use crate::{Error, Result};
use norms::StepNorms;

/// The variable whose NaNs are filled before normalisation and put back after prediction.
pub const NAN_CLEANED_VAR: &str = SST;

/// The data of one forecast step, ready for the denoiser.
#[derive(Debug, Clone)]
pub struct PreparedStep {
    layout: StackLayout,
    path: PathBuf,
    n_grid: usize,
    lon: Vec<f32>,
    lat: Vec<f32>,
    /// Normalisation constants of the inputs, forcings and outputs.
    norms: StepNorms,
    /// Physical frames of the time-dependent input variables read from data:
    /// `[frame][level][grid]`, oldest frame first, NaNs kept.
    frames: BTreeMap<String, Vec<f32>>,
    /// Physical static fields `[grid]`.
    statics: BTreeMap<String, Vec<f32>>,
    input_datetimes: Vec<i64>,
    target_datetime: i64,
    grid_features: Vec<f32>,
    last_input: Vec<f32>,
    sst_nan_mask: Vec<bool>,
}

/// An [`Error::Data`] naming the file and the variable.
fn data_err(path: &Path, variable: &str, detail: impl Into<String>) -> Error {
    Error::Data {
        path: path.to_path_buf(),
        variable: variable.to_string(),
        detail: detail.into(),
    }
}

/// The field named `name`, or an error naming the file and the field.
fn find_field<'a>(fields: &'a [Field], name: &str, path: &Path) -> Result<&'a Field> {
    fields
        .iter()
        .find(|f| f.name == name)
        .ok_or_else(|| Error::Missing {
            path: path.to_path_buf(),
            what: "field",
            key: name.to_string(),
        })
}

impl PreparedStep {
    /// Prepares the step whose input frames are `first_input_frame ..
    /// first_input_frame + layout.n_input_frames()` of `ds`; the target valid time is the last
    /// input time plus the model time step. Every problem with the dataset (missing variables,
    /// wrong dims or levels, too few frames, uneven spacing) or the statistics is reported
    /// before anything is computed.
    pub fn new(
        ds: &Dataset,
        stats: &StatsSet,
        layout: &StackLayout,
        first_input_frame: usize,
    ) -> Result<PreparedStep> {
        let window = frames::validate(ds, layout, first_input_frame)?;
        let norms = StepNorms::new(stats, layout)?;
        let inputs = frames::read_inputs(ds, layout, first_input_frame)?;
        let mut step = PreparedStep {
            layout: layout.clone(),
            path: ds.path().to_path_buf(),
            n_grid: ds.lat().len() * ds.lon().len(),
            lon: ds.lon().to_vec(),
            lat: ds.lat().to_vec(),
            norms,
            frames: inputs.frames,
            statics: inputs.statics,
            input_datetimes: window.input_datetimes,
            target_datetime: window.target_datetime,
            grid_features: Vec::new(),
            last_input: Vec::new(),
            sst_nan_mask: Vec::new(),
        };
        step.rebuild();
        Ok(step)
    }

    /// [`PreparedStep::new`] with the layout of `task` at its own pressure levels.
    pub fn from_task(
        ds: &Dataset,
        stats: &StatsSet,
        task: &TaskConfig,
        first_input_frame: usize,
    ) -> Result<PreparedStep> {
        Self::new(ds, stats, &StackLayout::for_task(task)?, first_input_frame)
    }

    /// The channel layout.
    pub fn layout(&self) -> &StackLayout {
        &self.layout
    }

    /// Number of grid nodes (`n_lat · n_lon`).
    pub fn n_grid(&self) -> usize {
        self.n_grid
    }

    /// Latitudes of the grid (degrees, ascending).
    pub fn lat(&self) -> &[f32] {
        &self.lat
    }

    /// Longitudes of the grid (degrees).
    pub fn lon(&self) -> &[f32] {
        &self.lon
    }

    /// Stacked grid features `[Ng, Cin]`: normalised inputs and forcings, target columns zero.
    pub fn grid_features(&self) -> &[f32] {
        &self.grid_features
    }

    /// For each output channel, the grid-feature column that receives `c_in · x`.
    pub fn target_columns(&self) -> &[usize] {
        self.layout.target_columns()
    }

    /// The last input frame in physical units (NaN-cleaned), `[Ng, Cout]`, for the residual
    /// output channels; zero for absolute ones.
    pub fn last_input(&self) -> &[f32] {
        &self.last_input
    }

    /// `[Ng]`: where any input frame of sea surface temperature is NaN (all false if it is not
    /// an input).
    pub fn sst_nan_mask(&self) -> &[bool] {
        &self.sst_nan_mask
    }

    /// Valid times of the input frames (ns since the epoch), oldest first.
    pub fn input_datetimes(&self) -> &[i64] {
        &self.input_datetimes
    }

    /// Valid time of the target (ns since the epoch).
    pub fn target_datetime(&self) -> i64 {
        self.target_datetime
    }

    /// Notes on normalisation constants absent from the statistics (the reference skips them
    /// with a warning).
    pub fn warnings(&self) -> &[String] {
        &self.norms.warnings
    }

    /// Physical frame `t` (0 = oldest) of a time-dependent input variable read from data,
    /// `[level][grid]`, NaNs as given.
    pub fn input_frame(&self, name: &str, t: usize) -> Option<&[f32]> {
        let data = self.frames.get(name)?;
        let per_frame = data.len() / self.layout.n_input_frames();
        data.get(t * per_frame..(t + 1) * per_frame)
    }
}
