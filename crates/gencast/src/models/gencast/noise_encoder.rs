//! The noise-level encoder (`fourier_features_mlp`): Fourier features of `ln σ` followed by a
//! GELU MLP. Its output is the conditioning vector of every norm-conditioning layer.

use crate::nn::layers::Mlp;
use crate::checkpoint::ParamLoader;
use crate::kernels::activation::Act;
use crate::{Error, Result};

/// The haiku module path of the encoder's MLP.
pub const NOISE_ENCODER_MLP: &str = "fourier_features_mlp/~/mlp";

/// Fourier-feature MLP of the noise level.
#[derive(Debug, Clone)]
pub struct NoiseEncoder {
    /// Take `ln σ` before the features.
    pub apply_log_first: bool,
    /// Angular frequencies `2π·k/base_period`, k = 1..K, rounded to f32.
    pub omega: Vec<f32>,
    /// The MLP `2K → output_sizes[0] → … → c`.
    pub mlp: Mlp,
}

impl NoiseEncoder {
    /// Loads the MLP for the given encoder configuration.
    pub fn load(
        l: &mut ParamLoader<'_>,
        apply_log_first: bool,
        base_period: f64,
        num_frequencies: usize,
        output_sizes: &[usize],
    ) -> Result<NoiseEncoder> {
        if output_sizes.is_empty()
            || num_frequencies == 0
            || base_period.is_nan()
            || base_period <= 0.0
        {
            return Err(Error::Config {
                key: "noise_encoder_config".into(),
                detail: format!(
                    "need output_sizes, num_frequencies > 0 and base_period > 0; found \
                     {output_sizes:?}, {num_frequencies}, {base_period}"
                ),
            });
        }
        let omega = (1..=num_frequencies)
            .map(|k| (2.0 * std::f64::consts::PI * (k as f64 / base_period)) as f32)
            .collect();
        let mlp = Mlp::load(
            l,
            NOISE_ENCODER_MLP,
            2 * num_frequencies,
            output_sizes,
            Act::Gelu,
        );
        Ok(NoiseEncoder {
            apply_log_first,
            omega,
            mlp,
        })
    }

    /// Width of the conditioning vector.
    pub fn width(&self) -> usize {
        self.mlp.d_out()
    }

    /// `[cos(u·ω_1..K), sin(u·ω_1..K)]` with `u = ln σ` (or `σ`), in f32.
    pub fn features(&self, sigma: f32) -> Vec<f32> {
        let u = if self.apply_log_first {
            (sigma as f64).ln() as f32
        } else {
            sigma
        };
        let z: Vec<f32> = self.omega.iter().map(|&w| u * w).collect();
        let mut f: Vec<f32> = z.iter().map(|&v| (v as f64).cos() as f32).collect();
        f.extend(z.iter().map(|&v| (v as f64).sin() as f32));
        f
    }

    /// The conditioning vector for noise level `sigma`.
    pub fn encode(&self, sigma: f32) -> Vec<f32> {
        let f = self.features(sigma);
        let mut out = vec![0.0f32; self.width()];
        self.mlp
            .forward(&f, 1, &mut out, &mut Vec::new(), &mut Vec::new());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::Params;

    #[test]
    fn features_are_cosines_then_sines_of_log_sigma() {
        let mut p = Params::new();
        p.insert(
            "fourier_features_mlp/~/mlp/~/linear_0",
            "w",
            vec![8, 3],
            vec![0.1; 24],
        )
        .unwrap();
        p.insert(
            "fourier_features_mlp/~/mlp/~/linear_0",
            "b",
            vec![3],
            vec![0.0; 3],
        )
        .unwrap();
        p.insert(
            "fourier_features_mlp/~/mlp/~/linear_1",
            "w",
            vec![3, 2],
            vec![1.0; 6],
        )
        .unwrap();
        p.insert(
            "fourier_features_mlp/~/mlp/~/linear_1",
            "b",
            vec![2],
            vec![0.5, -0.5],
        )
        .unwrap();
        let mut l = ParamLoader::new(&p, "synthetic.npz");
        let enc = NoiseEncoder::load(&mut l, true, 16.0, 4, &[3, 2]).unwrap();
        l.finish().unwrap();
        let sigma = 3.0f32;
        let f = enc.features(sigma);
        let u = (sigma as f64).ln();
        for k in 1..=4 {
            let z = u * 2.0 * std::f64::consts::PI * k as f64 / 16.0;
            // f32 rounding of ω_k, u and their product: a few ulp of |z| ≤ 2.
            assert!((f[k - 1] as f64 - z.cos()).abs() < 1e-6);
            assert!((f[3 + k] as f64 - z.sin()).abs() < 1e-6);
        }
        // gelu(Σ 0.1·f) in each hidden unit, then the sum of the three plus the bias.
        let s: f64 = f.iter().map(|&v| 0.1 * v as f64).sum();
        let g = s
            / (1.0
                + (-2.0 * (2.0 / std::f64::consts::PI).sqrt() * (s + 0.044715 * s * s * s)).exp());
        let e = enc.encode(sigma);
        assert!((e[0] as f64 - (3.0 * g + 0.5)).abs() < 1e-6);
        assert!((e[1] as f64 - (3.0 * g - 0.5)).abs() < 1e-6);
        assert!(NoiseEncoder::load(&mut ParamLoader::new(&p, "x"), true, 0.0, 4, &[3, 2]).is_err());
    }
}
