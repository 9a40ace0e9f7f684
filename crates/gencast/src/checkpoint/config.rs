//! Typed configurations stored in a checkpoint under `:`-joined keys
//! (e.g. `denoiser_architecture_config:sparse_transformer_config:num_heads`).
//!
//! Field names follow the reference dataclasses. In JSON, non-finite floats are written as the
//! strings `"inf"`, `"-inf"` and `"nan"` because JSON has no literal for them.

use serde::{Serialize, Serializer};

use crate::variables::{self, is_atmospheric, is_static, Kind};
use crate::{Error, Result};

/// Writes finite floats as JSON numbers and non-finite ones as `"inf"`, `"-inf"` or `"nan"`.
pub fn serialize_f64<S: Serializer>(v: &f64, s: S) -> std::result::Result<S::Ok, S::Error> {
    if v.is_finite() {
        s.serialize_f64(*v)
    } else if v.is_nan() {
        s.serialize_str("nan")
    } else if *v > 0.0 {
        s.serialize_str("inf")
    } else {
        s.serialize_str("-inf")
    }
}

pub(crate) fn serialize_opt_f64<S: Serializer>(
    v: &Option<f64>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    match v {
        Some(x) => serialize_f64(x, s),
        None => s.serialize_none(),
    }
}

/// Time between consecutive frames of GenCast data, in hours.
pub const GENCAST_TIMESTEP_HOURS: f64 = 12.0;

/// The task: which variables are inputs, targets and forcings, at which levels (`graphcast.TaskConfig`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskConfig {
    /// Variables read at the input frames (including statics and forcings at input times).
    pub input_variables: Vec<String>,
    /// Variables the model predicts.
    pub target_variables: Vec<String>,
    /// Variables known at the target time (computed or external).
    pub forcing_variables: Vec<String>,
    /// Pressure levels in hPa, in the task's order.
    pub pressure_levels: Vec<i64>,
    /// Span of the input window as a pandas timedelta string, e.g. `24h`.
    pub input_duration: String,
}

const GENCAST_SURFACE_TARGETS: [&str; 6] = [
    "2m_temperature",
    "mean_sea_level_pressure",
    "10m_v_component_of_wind",
    "10m_u_component_of_wind",
    "total_precipitation_12hr",
    "sea_surface_temperature",
];
const GENCAST_ATMOSPHERIC_TARGETS: [&str; 6] = [
    "temperature",
    "geopotential",
    "u_component_of_wind",
    "v_component_of_wind",
    "vertical_velocity",
    "specific_humidity",
];
const GENCAST_FORCINGS: [&str; 4] = [
    "year_progress_sin",
    "year_progress_cos",
    "day_progress_sin",
    "day_progress_cos",
];
/// The 13 WeatherBench pressure levels (hPa) used by GenCast.
pub const PRESSURE_LEVELS_WEATHERBENCH_13: [i64; 13] = [
    50, 100, 150, 200, 250, 300, 400, 500, 600, 700, 850, 925, 1000,
];

/// Parses a pandas-style timedelta string (`24h`, `12H`, `1d`, `30min`, `3600s`, `2 days`) into hours.
pub fn parse_duration_hours(text: &str) -> Option<f64> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let v: f64 = num.parse().ok()?;
    let per_hour = match unit.trim().to_ascii_lowercase().as_str() {
        "h" | "hr" | "hrs" | "hour" | "hours" => 1.0,
        "d" | "day" | "days" => 24.0,
        "m" | "min" | "mins" | "minute" | "minutes" | "t" => 1.0 / 60.0,
        "s" | "sec" | "secs" | "second" | "seconds" => 1.0 / 3600.0,
        "w" | "week" | "weeks" => 168.0,
        _ => return None,
    };
    Some(v * per_hour)
}

impl TaskConfig {
    /// The reference's `gencast.TASK` (13 levels, 24h input window, 12h step).
    pub fn gencast_default() -> TaskConfig {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let targets: Vec<String> = GENCAST_SURFACE_TARGETS
            .iter()
            .chain(GENCAST_ATMOSPHERIC_TARGETS.iter())
            .map(|x| x.to_string())
            .collect();
        // Inputs: surface targets except precipitation, atmospheric targets, forcings, statics.
        let inputs: Vec<String> = GENCAST_SURFACE_TARGETS
            .iter()
            .filter(|v| **v != "total_precipitation_12hr")
            .chain(GENCAST_ATMOSPHERIC_TARGETS.iter())
            .chain(GENCAST_FORCINGS.iter())
            .copied()
            .chain(variables::of_kind(Kind::Static))
            .map(String::from)
            .collect();
        TaskConfig {
            input_variables: inputs,
            target_variables: targets,
            forcing_variables: s(&GENCAST_FORCINGS),
            pressure_levels: PRESSURE_LEVELS_WEATHERBENCH_13.to_vec(),
            input_duration: "24h".into(),
        }
    }

    /// The reference's `graphcast.TASK` (37 levels) or `graphcast.TASK_13` (13 levels) on
    /// `pressure_levels`: 12h input window, 6h step, precipitation as input and target, TOA
    /// solar radiation and the progress features as forcings.
    pub fn graphcast(pressure_levels: Vec<i64>) -> TaskConfig {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<String>>();
        let targets = s(&[
            "2m_temperature",
            "mean_sea_level_pressure",
            "10m_v_component_of_wind",
            "10m_u_component_of_wind",
            "total_precipitation_6hr",
            "temperature",
            "geopotential",
            "u_component_of_wind",
            "v_component_of_wind",
            "vertical_velocity",
            "specific_humidity",
        ]);
        let forcings = s(&[
            "toa_incident_solar_radiation",
            "year_progress_sin",
            "year_progress_cos",
            "day_progress_sin",
            "day_progress_cos",
        ]);
        let mut inputs = targets.clone();
        inputs.extend(forcings.iter().cloned());
        inputs.extend(variables::of_kind(Kind::Static).map(String::from));
        TaskConfig {
            input_variables: inputs,
            target_variables: targets,
            forcing_variables: forcings,
            pressure_levels,
            input_duration: "12h".into(),
        }
    }

    /// Number of input frames for data spaced `timestep_hours` apart: input times are the
    /// lead times in `(-input_duration, 0]`, i.e. `input_duration / timestep` frames (2 for GenCast).
    pub fn num_input_frames(&self, timestep_hours: f64) -> Result<usize> {
        let bad = |detail: String| Error::Config {
            key: "task_config:input_duration".into(),
            detail,
        };
        let hours = parse_duration_hours(&self.input_duration)
            .ok_or_else(|| bad(format!("cannot parse duration `{}`", self.input_duration)))?;
        let frames = hours / timestep_hours;
        if !(frames >= 1.0 && frames.fract() == 0.0 && frames < 1e6) {
            return Err(bad(format!(
                "`{}` is not a positive multiple of the {timestep_hours}h time step",
                self.input_duration
            )));
        }
        Ok(frames as usize)
    }

    /// Number of channels a variable contributes per frame (levels for atmospheric ones).
    pub fn channels_per_frame(&self, var: &str) -> usize {
        if is_atmospheric(var) {
            self.pressure_levels.len()
        } else {
            1
        }
    }

    /// Inputs that are neither targets nor forcings and have no time dimension.
    pub fn static_variables(&self) -> Vec<String> {
        self.input_variables
            .iter()
            .filter(|v| {
                is_static(v)
                    && !self.target_variables.contains(v)
                    && !self.forcing_variables.contains(v)
            })
            .cloned()
            .collect()
    }

    /// Number of output channels: surface targets plus levels × atmospheric targets
    /// (what `GenCast.__init__` writes into `node_output_size`).
    pub fn node_output_size(&self) -> usize {
        self.target_variables
            .iter()
            .map(|v| self.channels_per_frame(v))
            .sum()
    }

    /// Number of stacked grid input channels `Cin` for data `timestep_hours` apart: inputs at
    /// every input frame (statics once), then forcings and noisy targets at the target time.
    pub fn num_input_channels(&self, timestep_hours: f64) -> Result<usize> {
        let frames = self.num_input_frames(timestep_hours)?;
        let inputs: usize = self
            .input_variables
            .iter()
            .map(|v| {
                let t = if is_static(v) { 1 } else { frames };
                t * self.channels_per_frame(v)
            })
            .sum();
        let forcings: usize = self
            .forcing_variables
            .iter()
            .map(|v| self.channels_per_frame(v))
            .sum();
        Ok(inputs + forcings + self.node_output_size())
    }

    /// `Cin` for GenCast's 12-hourly data (264 for the standard task).
    pub fn gencast_input_channels(&self) -> Result<usize> {
        self.num_input_channels(GENCAST_TIMESTEP_HOURS)
    }
}
