//! The input frames of a step: which frames of the dataset they are (the reference's split),
//! validating the dataset for the layout with the shared rules, reading the physical frames at
//! the task's levels, and moving the window one time step on after a prediction.

use std::collections::BTreeMap;

use super::{data_err, find_field, Field, PreparedStep};
use crate::data::checks::rules::{self, Source, NS_PER_HOUR};
use crate::data::dataset::{Array, Dataset, TIME_DIM};
use crate::data::stacking::{ChannelBlock, Role, StackLayout, TIMESTEP_HOURS};
use crate::{Error, Result};

/// The valid times of a step's input frames and of its target.
pub(super) struct InputWindow {
    /// Valid times of the input frames (ns since the epoch), oldest first.
    pub input_datetimes: Vec<i64>,
    /// Valid time of the target: the last input time plus one time step.
    pub target_datetime: i64,
}

/// The physical input fields read from the dataset.
pub(super) struct Inputs {
    /// Time-dependent variables, `[frame][level][grid]`, NaNs kept.
    pub frames: BTreeMap<String, Vec<f32>>,
    /// Static variables, `[grid]`.
    pub statics: BTreeMap<String, Vec<f32>>,
}

/// The input blocks of the layout (those read from data or computed, forcings excluded).
fn input_blocks(layout: &StackLayout) -> impl Iterator<Item = &ChannelBlock> {
    layout.blocks().iter().filter(|b| b.role == Role::Input)
}

/// Applies the dataset rules the step needs, in order (missing variables, forcings, levels,
/// dims, frames, valid times, spacing), failing on the first problem, and returns the valid
/// times of the frames `first .. first + layout.n_input_frames()`.
pub(super) fn validate(ds: &Dataset, layout: &StackLayout, first: usize) -> Result<InputWindow> {
    let path = ds.path();
    let missing = rules::missing_variables(ds, input_blocks(layout).map(|b| b.name.as_str()));
    if !missing.is_empty() {
        return Err(Error::Missing {
            path: path.to_path_buf(),
            what: if missing.len() == 1 {
                "variable"
            } else {
                "variables"
            },
            key: missing.join("`, `"),
        });
    }
    for b in layout.blocks().iter().filter(|b| b.role == Role::Forcing) {
        if let Some(detail) = rules::forcing_problem(&b.name) {
            return Err(Error::Config {
                key: "forcing_variables".into(),
                detail,
            });
        }
    }
    if rules::needs_levels(input_blocks(layout).map(|b| b.name.as_str())) {
        let levels = layout.levels().iter().map(|&l| i64::from(l));
        if let Some(problem) = rules::match_levels(ds, levels).problem {
            return Err(data_err(path, "level", problem));
        }
    }
    for b in input_blocks(layout) {
        if let Some(problem) = rules::dims_problem(ds, &b.name) {
            return Err(data_err(path, &b.name, problem));
        }
    }

    let n = layout.n_input_frames();
    if let Some(problem) = rules::frames_problem(ds, first, n) {
        return Err(data_err(path, TIME_DIM, problem));
    }
    if let Some(problem) = rules::datetimes_problem(ds, first, n) {
        return Err(data_err(path, "datetime", problem));
    }
    let input_datetimes = ds.datetime()[first..first + n].to_vec();
    if let Some(problem) = rules::spacing_problem(&input_datetimes, TIMESTEP_HOURS) {
        return Err(data_err(path, "datetime", problem));
    }
    let last = input_datetimes.last().copied().unwrap_or_default();
    Ok(InputWindow {
        input_datetimes,
        target_datetime: last + TIMESTEP_HOURS * NS_PER_HOUR,
    })
}

/// Reads the input variables of the layout at frames `first .. first + n_input_frames` (dataset
/// already validated with [`validate`]).
pub(super) fn read_inputs(ds: &Dataset, layout: &StackLayout, first: usize) -> Result<Inputs> {
    let n_frames = layout.n_input_frames();
    let mut inputs = Inputs {
        frames: BTreeMap::new(),
        statics: BTreeMap::new(),
    };
    for b in input_blocks(layout) {
        match Source::of(&b.name) {
            Source::Progress(_) => {}
            Source::Static => {
                let a = read_on_grid(ds, &b.name, None)?;
                inputs.statics.insert(b.name.clone(), a.data);
            }
            Source::TimeDependent => {
                let a = read_on_grid(ds, &b.name, Some(first..first + n_frames))?;
                let data = select_levels(ds, &b.name, a, &b.levels)?;
                inputs.frames.insert(b.name.clone(), data);
            }
        }
    }
    Ok(inputs)
}

/// Reads a variable (optionally frames `frames`) and checks it lies on the dataset's grid and
/// levels.
pub(super) fn read_on_grid(
    ds: &Dataset,
    name: &str,
    frames: Option<std::ops::Range<usize>>,
) -> Result<Array> {
    let a = ds.read(name, frames)?;
    match rules::shape_problem(ds, &a) {
        Some(problem) => Err(data_err(ds.path(), name, problem)),
        None => Ok(a),
    }
}

/// From `(time, [level,] lat, lon)` data on the dataset's grid (see [`read_on_grid`]), the
/// requested levels by value: `[time][level][grid]`; surface data is returned as is.
pub(super) fn select_levels(
    ds: &Dataset,
    name: &str,
    a: Array,
    levels: &[i32],
) -> Result<Vec<f32>> {
    if levels.is_empty() {
        return Ok(a.data);
    }
    let matched = rules::match_levels(ds, levels.iter().map(|&l| i64::from(l)));
    if let Some(problem) = matched.problem {
        return Err(data_err(ds.path(), name, problem));
    }
    let n_grid = ds.lat().len() * ds.lon().len();
    let per_time = ds.level().len() * n_grid;
    let mut out = Vec::with_capacity(a.data.len() / per_time.max(1) * levels.len() * n_grid);
    for frame in a.data.chunks_exact(per_time.max(1)) {
        for &(_, i) in &matched.found {
            out.extend_from_slice(&frame[i * n_grid..(i + 1) * n_grid]);
        }
    }
    Ok(out)
}

/// First input frame of the reference's split (`extract_inputs_targets_forcings`): the time
/// axis is anchored at the end of the file, so with `num_target_steps` target frames the inputs
/// are the `n_input_frames` frames just before the last `num_target_steps` frames.
pub fn first_input_frame(
    num_frames: usize,
    n_input_frames: usize,
    num_target_steps: usize,
) -> Result<usize> {
    num_frames
        .checked_sub(n_input_frames + num_target_steps)
        .ok_or_else(|| {
            Error::Invalid(format!(
                "{num_target_steps} target step(s) after {n_input_frames} input frames need \
                 {} frames, the dataset has {num_frames}",
                n_input_frames + num_target_steps
            ))
        })
}

impl PreparedStep {
    /// Autoregressive update: the prediction (physical fields of the target variables, as from
    /// [`PreparedStep::to_physical`]) becomes the newest input frame, the oldest frame is
    /// dropped, and the forcings move on to the next target time (one time step later).
    pub fn advance(&mut self, prediction: &[Field]) -> Result<()> {
        let ng = self.n_grid;
        let n_frames = self.layout.n_input_frames();
        let missing: Vec<&str> = self
            .frames
            .keys()
            .filter(|name| !prediction.iter().any(|f| &f.name == *name))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            return Err(Error::Invalid(format!(
                "cannot feed the prediction back: input variable(s) `{}` are neither predicted \
                 nor forced",
                missing.join("`, `")
            )));
        }
        for (name, data) in self.frames.iter_mut() {
            let f = find_field(prediction, name, &self.path)?;
            let per_frame = data.len() / n_frames;
            if f.data.len() != per_frame || !per_frame.is_multiple_of(ng.max(1)) {
                return Err(Error::Shape {
                    what: format!("predicted field `{name}`"),
                    expected: vec![per_frame],
                    found: vec![f.data.len()],
                });
            }
            data.copy_within(per_frame.., 0);
            let start = (n_frames - 1) * per_frame;
            data[start..].copy_from_slice(&f.data);
        }
        self.input_datetimes.remove(0);
        self.input_datetimes.push(self.target_datetime);
        self.target_datetime += TIMESTEP_HOURS * NS_PER_HOUR;
        self.rebuild();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_is_anchored_at_the_end() {
        // Fixture README: 4 frames, training split (1 target) → inputs 1,2; evaluation
        // split (2 targets) → inputs 0,1.
        assert_eq!(first_input_frame(4, 2, 1).unwrap(), 1);
        assert_eq!(first_input_frame(4, 2, 2).unwrap(), 0);
        assert!(first_input_frame(4, 2, 3).is_err());
    }
}
