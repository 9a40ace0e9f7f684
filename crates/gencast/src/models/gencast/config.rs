//! GenCast's configurations stored in a checkpoint: the denoiser architecture, the sampler,
//! the training noise and the noise-level encoder (`gencast.py`, `denoiser.py`).

use serde::Serialize;

use crate::checkpoint::config::{serialize_f64, serialize_opt_f64};

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
