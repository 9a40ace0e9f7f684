//! One GraphCast step's data in physical units (`TaskConfig` and
//! `GraphCast._inputs_to_grid_node_features` in
//! <https://github.com/google-deepmind/graphcast/blob/08cf736/graphcast/graphcast.py>,
//! `_get_next_inputs` in
//! <https://github.com/google-deepmind/graphcast/blob/08cf736/graphcast/rollout.py>): the input
//! frames read from a dataset, the static fields and the forcings at the target time, and how a
//! prediction becomes the newest input frame for the next step.
//!
//! Progress features are always computed from the valid times. `toa_incident_solar_radiation`
//! is read from the dataset when it has the frame, and computed otherwise
//! ([`crate::data::solar_radiation`]).

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::models::graphcast::checkpoint::GRAPHCAST_TIMESTEP_HOURS;
use crate::checkpoint::TaskConfig;
use crate::data::forcings::ProgressFeature;
use crate::data::solar_radiation::{self, TISR};
use crate::data::Dataset;
use crate::forecast::Field;
use crate::variables::{is_atmospheric, is_static};
use crate::{Error, Result};

/// Nanoseconds in one GraphCast time step (6 h).
pub const TIMESTEP_NS: i64 = (GRAPHCAST_TIMESTEP_HOURS as i64) * crate::time::NS_PER_HOUR;

/// The physical inputs of one step.
#[derive(Debug, Clone)]
pub struct StepInputs {
    path: PathBuf,
    lat: Vec<f32>,
    lon: Vec<f32>,
    levels: Vec<i32>,
    /// Time-dependent input variables, `[frame][level][grid]`, oldest frame first.
    frames: BTreeMap<String, Vec<f32>>,
    /// Static input variables `[grid]`.
    statics: BTreeMap<String, Vec<f32>>,
    /// Forcings at the target time `[level][grid]`.
    forcings: BTreeMap<String, Vec<f32>>,
    input_datetimes: Vec<i64>,
    target_datetime: i64,
}

fn data_err(path: &Path, variable: &str, detail: impl Into<String>) -> Error {
    Error::Data {
        path: path.to_path_buf(),
        variable: variable.to_string(),
        detail: detail.into(),
    }
}

/// The task's pressure levels as `i32` hPa.
pub fn task_levels(task: &TaskConfig) -> Result<Vec<i32>> {
    task.pressure_levels
        .iter()
        .map(|&l| {
            i32::try_from(l).map_err(|_| Error::Config {
                key: "task_config:pressure_levels".into(),
                detail: format!("level {l} out of range"),
            })
        })
        .collect()
}

/// Reads frames `frames` of a variable as `[frame][level][grid]` (levels selected by
/// `level_index`; surface variables have one level), checking its dims.
fn read_frames(
    ds: &Dataset,
    name: &str,
    frames: Range<usize>,
    level_index: &[usize],
) -> Result<Vec<f32>> {
    let n_grid = ds.lat().len() * ds.lon().len();
    let a = ds.read(name, Some(frames.clone()))?;
    let atmospheric = is_atmospheric(name);
    let expected: &[&str] = if atmospheric {
        &["time", "level", "lat", "lon"]
    } else {
        &["time", "lat", "lon"]
    };
    if a.dims != expected {
        return Err(data_err(
            ds.path(),
            name,
            format!(
                "expected dims {expected:?} (after batch), found {:?}",
                a.dims
            ),
        ));
    }
    if !atmospheric {
        return Ok(a.data);
    }
    let n_file_levels = a.shape[1];
    let mut out = Vec::with_capacity(frames.len() * level_index.len() * n_grid);
    for t in 0..frames.len() {
        for &l in level_index {
            let start = (t * n_file_levels + l) * n_grid;
            out.extend_from_slice(&a.data[start..start + n_grid]);
        }
    }
    Ok(out)
}

/// A progress feature at one valid time, broadcast to `[grid]`.
fn progress_field(feature: ProgressFeature, datetime: i64, lat: &[f32], lon: &[f32]) -> Vec<f32> {
    let values = feature.values(datetime, lon);
    let mut out = Vec::with_capacity(lat.len() * lon.len());
    for _ in lat {
        if feature.per_longitude() {
            out.extend_from_slice(&values);
        } else {
            out.extend(std::iter::repeat_n(values[0], lon.len()));
        }
    }
    out
}

/// The frame of `ds` whose valid time is `datetime`, if any.
fn frame_at(ds: &Dataset, datetime: i64) -> Option<usize> {
    ds.datetime().iter().position(|&t| t == datetime)
}

/// A forcing at one valid time `[grid]`: progress features computed, TISR read from the
/// dataset's frame at that time when present, computed otherwise.
fn forcing_field(
    ds: Option<&Dataset>,
    name: &str,
    datetime: i64,
    lat: &[f32],
    lon: &[f32],
    path: &Path,
) -> Result<Vec<f32>> {
    if let Some(f) = ProgressFeature::from_name(name) {
        return Ok(progress_field(f, datetime, lat, lon));
    }
    if name == TISR {
        if let Some(ds) = ds.filter(|d| d.has(TISR)) {
            if let Some(t) = frame_at(ds, datetime) {
                return read_frames(ds, TISR, t..t + 1, &[]);
            }
        }
        return Ok(solar_radiation::toa_incident_solar_radiation(
            datetime, lat, lon,
        ));
    }
    Err(data_err(
        path,
        name,
        "forcing is neither a progress feature nor toa_incident_solar_radiation, so it cannot be \
         derived for a time the dataset lacks",
    ))
}

impl StepInputs {
    /// Reads the inputs of the step whose input frames are `first_input_frame ..` (as many as
    /// the task's input window holds at 6 h spacing); the target time is the last input time
    /// plus 6 h. Forcings at the target time come from the dataset's frame at that time or are
    /// computed.
    pub fn from_dataset(
        ds: &Dataset,
        task: &TaskConfig,
        first_input_frame: usize,
    ) -> Result<StepInputs> {
        let path = ds.path().to_path_buf();
        let n_frames = task.num_input_frames(GRAPHCAST_TIMESTEP_HOURS)?;
        let frames = first_input_frame..first_input_frame + n_frames;
        if ds.datetime().len() < frames.end {
            return Err(data_err(
                &path,
                "datetime",
                format!(
                    "need valid times of frames {}..{}, the file has {}",
                    frames.start,
                    frames.end,
                    ds.datetime().len()
                ),
            ));
        }
        let input_datetimes = ds.datetime()[frames.clone()].to_vec();
        if let Some(w) = input_datetimes
            .windows(2)
            .find(|w| w[1] - w[0] != TIMESTEP_NS)
        {
            return Err(data_err(
                &path,
                "datetime",
                format!(
                    "input frames must be 6 h apart, found {} s",
                    (w[1] - w[0]) / crate::time::NS_PER_SECOND
                ),
            ));
        }
        let levels = task_levels(task)?;
        let mut level_index = Vec::with_capacity(levels.len());
        let missing: Vec<i32> = levels
            .iter()
            .copied()
            .filter(|&l| match ds.level_index(l) {
                Some(i) => {
                    level_index.push(i);
                    false
                }
                None => true,
            })
            .collect();
        if !missing.is_empty() && task.input_variables.iter().any(|v| is_atmospheric(v)) {
            return Err(data_err(
                &path,
                "level",
                format!(
                    "the task's level(s) {missing:?} hPa are not in the file (it has {:?})",
                    ds.level()
                ),
            ));
        }
        let absent: Vec<&str> = task
            .input_variables
            .iter()
            .map(String::as_str)
            .filter(|v| ProgressFeature::from_name(v).is_none() && *v != TISR && !ds.has(v))
            .collect();
        if !absent.is_empty() {
            ds.require(&absent)?;
        }

        let (lat, lon) = (ds.lat().to_vec(), ds.lon().to_vec());
        let n_grid = lat.len() * lon.len();
        let mut step_frames = BTreeMap::new();
        let mut statics = BTreeMap::new();
        for var in &task.input_variables {
            if is_static(var) {
                let a = ds.read(var, None)?;
                if a.dims != ["lat", "lon"] {
                    return Err(data_err(
                        &path,
                        var,
                        format!("expected dims [\"lat\", \"lon\"], found {:?}", a.dims),
                    ));
                }
                statics.insert(var.clone(), a.data);
                continue;
            }
            let data =
                if ProgressFeature::from_name(var).is_some() || (var == TISR && !ds.has(TISR)) {
                    let mut all = Vec::with_capacity(n_frames * n_grid);
                    for &t in &input_datetimes {
                        all.extend(forcing_field(Some(ds), var, t, &lat, &lon, &path)?);
                    }
                    all
                } else {
                    let idx = if is_atmospheric(var) {
                        &level_index[..]
                    } else {
                        &[]
                    };
                    read_frames(ds, var, frames.clone(), idx)?
                };
            step_frames.insert(var.clone(), data);
        }
        let target_datetime = input_datetimes[n_frames - 1] + TIMESTEP_NS;
        let mut forcings = BTreeMap::new();
        for var in &task.forcing_variables {
            if is_atmospheric(var) {
                return Err(Error::Config {
                    key: "task_config:forcing_variables".into(),
                    detail: format!("`{var}` has pressure levels; forcings must be surface fields"),
                });
            }
            let f = forcing_field(Some(ds), var, target_datetime, &lat, &lon, &path)?;
            forcings.insert(var.clone(), f);
        }
        Ok(StepInputs {
            path,
            lat,
            lon,
            levels,
            frames: step_frames,
            statics,
            forcings,
            input_datetimes,
            target_datetime,
        })
    }

    /// Grid latitudes (degrees).
    pub fn lat(&self) -> &[f32] {
        &self.lat
    }

    /// Grid longitudes (degrees).
    pub fn lon(&self) -> &[f32] {
        &self.lon
    }

    /// Number of grid nodes.
    pub fn n_grid(&self) -> usize {
        self.lat.len() * self.lon.len()
    }

    /// The task's pressure levels (hPa).
    pub fn levels(&self) -> &[i32] {
        &self.levels
    }

    /// Levels of a variable: the task's for atmospheric ones, none for surface ones.
    pub fn levels_of(&self, var: &str) -> &[i32] {
        if is_atmospheric(var) {
            &self.levels
        } else {
            &[]
        }
    }

    /// Number of input frames.
    pub fn n_frames(&self) -> usize {
        self.input_datetimes.len()
    }

    /// Valid times of the input frames (ns since the epoch).
    pub fn input_datetimes(&self) -> &[i64] {
        &self.input_datetimes
    }

    /// Valid time of the prediction (ns since the epoch).
    pub fn target_datetime(&self) -> i64 {
        self.target_datetime
    }

    /// The dataset the inputs came from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// All frames of a time-dependent input `[frame][level][grid]`.
    pub fn frames(&self, var: &str) -> Option<&[f32]> {
        self.frames.get(var).map(Vec::as_slice)
    }

    /// The newest frame of a time-dependent input `[level][grid]`.
    pub fn last_frame(&self, var: &str) -> Option<&[f32]> {
        let all = self.frames.get(var)?;
        let per_frame = all.len() / self.n_frames().max(1);
        all.get(all.len() - per_frame..)
    }

    /// A static input `[grid]`.
    pub fn static_field(&self, var: &str) -> Option<&[f32]> {
        self.statics.get(var).map(Vec::as_slice)
    }

    /// A forcing at the target time `[grid]`.
    pub fn forcing(&self, var: &str) -> Option<&[f32]> {
        self.forcings.get(var).map(Vec::as_slice)
    }

    /// Makes the predicted fields (and the forcings at the target time) the newest input frame
    /// and moves the target time 6 h on; forcings for the new target time come from `ds` when
    /// it has that frame, or are computed. Every time-dependent input must be a prediction or a
    /// forcing.
    pub fn advance(&mut self, predictions: &[Field], ds: Option<&Dataset>) -> Result<()> {
        let n_grid = self.n_grid();
        for (var, all) in self.frames.iter_mut() {
            let newest: &[f32] = match predictions.iter().find(|f| &f.name == var) {
                Some(f) => &f.data,
                None => match self.forcings.get(var) {
                    Some(f) => f,
                    None => {
                        return Err(data_err(
                            &self.path,
                            var,
                            "input is neither predicted nor a forcing, so it has no next frame",
                        ))
                    }
                },
            };
            let per_frame = all.len() / self.input_datetimes.len().max(1);
            if newest.len() != per_frame {
                return Err(Error::Shape {
                    what: format!("next frame of `{var}`"),
                    expected: vec![per_frame / n_grid.max(1), n_grid],
                    found: vec![newest.len()],
                });
            }
            all.drain(..per_frame);
            all.extend_from_slice(newest);
        }
        self.input_datetimes.remove(0);
        self.input_datetimes.push(self.target_datetime);
        self.target_datetime += TIMESTEP_NS;
        let names: Vec<String> = self.forcings.keys().cloned().collect();
        for var in names {
            let f = forcing_field(
                ds,
                &var,
                self.target_datetime,
                &self.lat,
                &self.lon,
                &self.path,
            )?;
            self.forcings.insert(var, f);
        }
        Ok(())
    }
}
