//! Random-weight checkpoints and synthetic inputs of a preset's configuration, like the
//! reference's "random" initialisation (weights only serve to make the work realistic).

use std::path::PathBuf;

use rayon::prelude::*;

use super::preset::{GenCastShape, Preset};
use crate::checkpoint::{
    DenoiserArchitectureConfig, GenCastCheckpoint, NoiseConfig, NoiseEncoderConfig, Params,
    SamplerConfig, SparseTransformerConfig, TaskConfig,
};
pub use crate::synthetic::lcg_unit;
use crate::Result;

/// A deterministic xorshift64* generator with Box–Muller normals.
#[derive(Debug, Clone)]
pub struct XorShift {
    state: u64,
}

impl XorShift {
    /// A generator from `seed` (any value, zero included).
    pub fn new(seed: u64) -> XorShift {
        // Mix the seed so that nearby seeds give unrelated streams and the state is never 0.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        XorShift {
            state: (z ^ (z >> 31)) | 1,
        }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in (0, 1].
    pub fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 1.0) / (1u64 << 53) as f64
    }

    /// A standard normal value.
    pub fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }

    /// A standard normal value truncated to [−2, 2] (haiku's `TruncatedNormal` default range).
    pub fn truncated_normal(&mut self) -> f64 {
        loop {
            let x = self.normal();
            if x.abs() <= 2.0 {
                return x;
            }
        }
    }
}

/// The latitudes (ascending, poles included) and longitudes (from 0) of a regular grid.
pub fn grid_coordinates(resolution_deg: f64) -> (Vec<f32>, Vec<f32>) {
    let n_lat = (180.0 / resolution_deg).round() as usize + 1;
    let n_lon = (360.0 / resolution_deg).round() as usize;
    let lat = (0..n_lat)
        .map(|i| (-90.0 + i as f64 * resolution_deg) as f32)
        .collect();
    let lon = (0..n_lon)
        .map(|i| (i as f64 * resolution_deg) as f32)
        .collect();
    (lat, lon)
}

/// The denoiser architecture of a GenCast preset's sizes.
pub fn architecture(s: &GenCastShape) -> DenoiserArchitectureConfig {
    DenoiserArchitectureConfig {
        sparse_transformer_config: SparseTransformerConfig {
            attention_k_hop: s.k_hop,
            d_model: s.latent,
            num_layers: s.layers,
            num_heads: s.heads,
            attention_type: "triblockdiag_mha".into(),
            mask_type: "full".into(),
            block_q: 1024,
            block_kv: 512,
            block_kv_compute: 256,
            block_q_dkv: 512,
            block_kv_dkv: 1024,
            block_kv_dkv_compute: 1024,
            ffw_winit_final_mult: 0.0,
            attn_winit_final_mult: 0.0,
            ffw_hidden: s.ffw,
            name: None,
        },
        mesh_size: s.mesh_size,
        latent_size: s.latent,
        hidden_layers: s.hidden_layers,
        radius_query_fraction_edge_length: 0.6,
        norm_conditioning_features: vec!["noise_level_encodings".into()],
        grid2mesh_aggregate_normalization: None,
        node_output_size: None,
    }
}

/// Standard deviation multiplier of a tensor's random values: 1/√fan_in for weights (the
/// reference's Linear initialiser), a tenth of that for the norm-conditioning layers (so the
/// per-channel scales stay near 1), and zero for biases, as the reference initialises them.
fn init_scale(module: &str, name: &str, shape: &[usize]) -> f64 {
    if name != "w" {
        return 0.0;
    }
    let fan_in = shape.first().copied().unwrap_or(1).max(1) as f64;
    let cond = if module.ends_with("norm_conditioning/linear")
        || module.ends_with("norm_conditioning_1/linear")
    {
        0.1
    } else {
        1.0
    };
    cond / fan_in.sqrt()
}

/// A checkpoint of a GenCast `preset`'s configuration with random weights drawn from `seed`
/// (a GraphCast preset is refused). Every weight matrix is non-zero (including the
/// transformer's final projections, which the reference initialises to zero), so no block
/// reduces to an identity.
pub fn random_checkpoint(preset: Preset, seed: u64) -> Result<GenCastCheckpoint> {
    let task = TaskConfig::gencast_default();
    let arch = architecture(&preset.gencast_shape()?);
    let noise_encoder = NoiseEncoderConfig::default();
    let cin = task.gencast_input_channels()?;
    let cout = task.node_output_size();
    let expected = crate::models::gencast::shapes::expected_params_with_output(
        &arch,
        &noise_encoder,
        cin,
        cout,
    );
    // Each tensor has its own stream, so drawing them in parallel is deterministic.
    let data: Vec<Vec<f32>> = expected
        .par_iter()
        .enumerate()
        .map(|(i, (module, name, shape))| {
            let len: usize = shape.iter().product();
            let scale = init_scale(module, name, shape);
            if scale == 0.0 {
                return vec![0.0f32; len];
            }
            let mut rng = XorShift::new(seed ^ ((i as u64 + 1) << 32));
            (0..len)
                .map(|_| (rng.truncated_normal() * scale) as f32)
                .collect()
        })
        .collect();
    let mut params = Params::new();
    for ((module, name, shape), values) in expected.into_iter().zip(data) {
        params.insert(&module, &name, shape, values)?;
    }
    Ok(GenCastCheckpoint {
        path: PathBuf::from(format!("<random {} weights>", preset.name())),
        description: format!("random weights, {} preset, seed {seed}", preset.name()),
        license: String::new(),
        task_config: task,
        denoiser_architecture_config: arch,
        sampler_config: SamplerConfig::default(),
        noise_config: NoiseConfig::default(),
        noise_encoder_config: noise_encoder,
        params,
    })
}

/// Synthetic normalised grid features `[n_grid, cin]`: standard normal values.
pub fn synthetic_features(n_grid: usize, cin: usize, seed: u64) -> Vec<f32> {
    let mut rng = XorShift::new(seed);
    (0..n_grid * cin).map(|_| rng.normal() as f32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normals_have_unit_variance() {
        let mut r = XorShift::new(7);
        let n = 200_000;
        let xs: Vec<f64> = (0..n).map(|_| r.normal()).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        // Standard errors for 2e5 samples: 0.0022 (mean), 0.0032 (variance); 5σ bounds.
        assert!(mean.abs() < 0.012, "mean {mean}");
        assert!((var - 1.0).abs() < 0.016, "variance {var}");
    }

    #[test]
    fn grid_coordinates_of_one_degree() {
        let (lat, lon) = grid_coordinates(1.0);
        assert_eq!((lat.len(), lon.len()), (181, 360));
        assert_eq!(
            (lat[0], lat[180], lon[0], lon[359]),
            (-90.0, 90.0, 0.0, 359.0)
        );
        let (lat, lon) = grid_coordinates(0.25);
        assert_eq!(lat.len() * lon.len(), 1_038_240);
    }

    #[test]
    fn random_checkpoint_validates() {
        let ck = random_checkpoint(Preset::Tiny, 1).unwrap();
        ck.validate().unwrap();
        let w = ck
            .params
            .get("mesh_transformer/~/transformer/block_01/ffw_down", "w")
            .unwrap();
        assert!(w.data().iter().any(|&v| v != 0.0));
        let err = random_checkpoint(Preset::GraphCastTiny, 1).unwrap_err();
        assert!(err.to_string().contains("graphcast-tiny"), "{err}");
    }
}
