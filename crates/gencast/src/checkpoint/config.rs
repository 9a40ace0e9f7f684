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

fn serialize_opt_f64<S: Serializer>(v: &Option<f64>, s: S) -> std::result::Result<S::Ok, S::Error> {
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

/// The sparse transformer processor (`denoiser.SparseTransformerConfig`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SparseTransformerConfig {
    /// Radius of the attention mask in mesh hops.
    pub attention_k_hop: usize,
    /// Transformer width (equals `latent_size`).
    pub d_model: usize,
    /// Number of transformer blocks.
    pub num_layers: usize,
    /// Number of attention heads.
    pub num_heads: usize,
    /// `splash_mha`, `triblockdiag_mha` or `mha` (implementation only).
    pub attention_type: String,
    /// `lazy` or `full` (splash attention only).
    pub mask_type: String,
    /// Splash kernel tiling.
    pub block_q: usize,
    /// Splash kernel tiling.
    pub block_kv: usize,
    /// Splash kernel tiling.
    pub block_kv_compute: usize,
    /// Splash kernel tiling (backward pass).
    pub block_q_dkv: usize,
    /// Splash kernel tiling (backward pass).
    pub block_kv_dkv: usize,
    /// Splash kernel tiling (backward pass).
    pub block_kv_dkv_compute: usize,
    /// Initialiser scale (training only).
    #[serde(serialize_with = "serialize_f64")]
    pub ffw_winit_final_mult: f64,
    /// Initialiser scale (training only).
    #[serde(serialize_with = "serialize_f64")]
    pub attn_winit_final_mult: f64,
    /// Hidden width of the feed-forward block.
    pub ffw_hidden: usize,
    /// Haiku module name of the transformer (`None` means `transformer`).
    pub name: Option<String>,
}

impl SparseTransformerConfig {
    /// The haiku module name of the transformer.
    pub fn module_name(&self) -> &str {
        self.name.as_deref().unwrap_or("transformer")
    }
}

/// The denoiser network (`denoiser.DenoiserArchitectureConfig`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DenoiserArchitectureConfig {
    /// Processor configuration.
    pub sparse_transformer_config: SparseTransformerConfig,
    /// Number of icosahedron refinements.
    pub mesh_size: usize,
    /// Latent width `D`.
    pub latent_size: usize,
    /// Hidden layers of every GNN MLP.
    pub hidden_layers: usize,
    /// grid2mesh radius as a fraction of the longest mesh edge.
    #[serde(serialize_with = "serialize_f64")]
    pub radius_query_fraction_edge_length: f64,
    /// Inputs used as the global conditioning vector.
    pub norm_conditioning_features: Vec<String>,
    /// Divisor of the grid2mesh message sum, if set.
    #[serde(serialize_with = "serialize_opt_f64")]
    pub grid2mesh_aggregate_normalization: Option<f64>,
    /// Number of output channels, if stored.
    pub node_output_size: Option<usize>,
}

/// The sampler (`gencast.SamplerConfig`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SamplerConfig {
    /// Largest noise level.
    #[serde(serialize_with = "serialize_f64")]
    pub max_noise_level: f64,
    /// Smallest non-zero noise level.
    #[serde(serialize_with = "serialize_f64")]
    pub min_noise_level: f64,
    /// Number of non-zero noise levels (solver steps).
    pub num_noise_levels: usize,
    /// Schedule shape.
    #[serde(serialize_with = "serialize_f64")]
    pub rho: f64,
    /// Stochastic churn rate `S_churn`.
    #[serde(serialize_with = "serialize_f64")]
    pub stochastic_churn_rate: f64,
    /// Churn only at noise levels ≥ this.
    #[serde(serialize_with = "serialize_f64")]
    pub churn_min_noise_level: f64,
    /// Churn only at noise levels ≤ this (may be infinite).
    #[serde(serialize_with = "serialize_f64")]
    pub churn_max_noise_level: f64,
    /// Churn noise inflation `S_noise`.
    #[serde(serialize_with = "serialize_f64")]
    pub noise_level_inflation_factor: f64,
}

/// Training noise distribution (`gencast.NoiseConfig`; unused at inference).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NoiseConfig {
    /// ρ of the training noise distribution.
    #[serde(serialize_with = "serialize_f64")]
    pub training_noise_level_rho: f64,
    /// Largest training noise level.
    #[serde(serialize_with = "serialize_f64")]
    pub training_max_noise_level: f64,
    /// Smallest training noise level.
    #[serde(serialize_with = "serialize_f64")]
    pub training_min_noise_level: f64,
}

/// The noise-level encoder (`denoiser.NoiseEncoderConfig`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NoiseEncoderConfig {
    /// Take the natural log of σ first.
    pub apply_log_first: bool,
    /// Frequencies are k / base_period.
    #[serde(serialize_with = "serialize_f64")]
    pub base_period: f64,
    /// Number of Fourier frequencies.
    pub num_frequencies: usize,
    /// MLP layer widths; the last is the conditioning width.
    pub output_sizes: Vec<usize>,
}

impl Default for NoiseEncoderConfig {
    /// The reference defaults: log first, base period 16, 32 frequencies, widths (32, 16).
    fn default() -> Self {
        NoiseEncoderConfig {
            apply_log_first: true,
            base_period: 16.0,
            num_frequencies: 32,
            output_sizes: vec![32, 16],
        }
    }
}

impl Default for SamplerConfig {
    /// The reference defaults (20 noise levels from 80 to 0.03, ρ 7, churn 2.5 above 0.75).
    fn default() -> Self {
        SamplerConfig {
            max_noise_level: 80.0,
            min_noise_level: 0.03,
            num_noise_levels: 20,
            rho: 7.0,
            stochastic_churn_rate: 2.5,
            churn_min_noise_level: 0.75,
            churn_max_noise_level: f64::INFINITY,
            noise_level_inflation_factor: 1.05,
        }
    }
}

impl Default for NoiseConfig {
    /// The reference defaults (ρ 7, 88 to 0.02).
    fn default() -> Self {
        NoiseConfig {
            training_noise_level_rho: 7.0,
            training_max_noise_level: 88.0,
            training_min_noise_level: 0.02,
        }
    }
}
