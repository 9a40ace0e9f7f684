//! EDM preconditioning around the network (σ_data = 1):
//! `D(x; σ) = F(features with c_in·x, σ)·c_out + x·c_skip`.

use super::network::Network;
use crate::{Error, Result};
use std::sync::Arc;

/// `(c_in, c_out, c_skip)` for noise level `sigma`, in f32 as the reference computes them.
pub fn preconditioning(sigma: f32) -> (f32, f32, f32) {
    let s2p1 = sigma * sigma + 1.0;
    let c_in = 1.0 / s2p1.sqrt();
    (c_in, sigma * c_in, 1.0 / s2p1)
}

/// The preconditioned denoiser.
#[derive(Debug, Clone)]
pub struct Denoiser {
    network: Arc<Network>,
}

impl Denoiser {
    /// Wraps a loaded network.
    pub fn new(network: Arc<Network>) -> Denoiser {
        Denoiser { network }
    }

    /// The wrapped network.
    pub fn network(&self) -> &Network {
        &self.network
    }

    /// Denoises `x` `[Ng, Cout]` (noisy normalised target residuals) at noise level `sigma`.
    ///
    /// `grid_features` `[Ng, Cin]` holds the stacked inputs and forcings; its `target_columns`
    /// (one per output channel) are overwritten with `c_in·x`. Writes `out` `[Ng, Cout]`.
    pub fn denoise(
        &self,
        grid_features: &mut [f32],
        target_columns: &[usize],
        x: &[f32],
        sigma: f32,
        out: &mut [f32],
    ) -> Result<()> {
        let (cin, cout) = (self.network.cin(), self.network.cout());
        let ng = self.network.graphs().n_grid;
        if target_columns.len() != cout {
            return Err(Error::Shape {
                what: "target columns".into(),
                expected: vec![cout],
                found: vec![target_columns.len()],
            });
        }
        if let Some(&c) = target_columns.iter().find(|&&c| c >= cin) {
            return Err(Error::Invalid(format!(
                "target column {c} out of range for {cin} input channels"
            )));
        }
        if x.len() != ng * cout {
            return Err(Error::Shape {
                what: "noisy targets".into(),
                expected: vec![ng, cout],
                found: vec![x.len()],
            });
        }
        if grid_features.len() != ng * cin {
            return Err(Error::Shape {
                what: "grid features".into(),
                expected: vec![ng, cin],
                found: vec![grid_features.len()],
            });
        }
        let (c_in, c_out, c_skip) = preconditioning(sigma);
        for (frow, xrow) in grid_features.chunks_mut(cin).zip(x.chunks(cout)) {
            for (&col, &v) in target_columns.iter().zip(xrow) {
                frow[col] = v * c_in;
            }
        }
        self.network.forward(grid_features, sigma, out)?;
        for (o, &v) in out.iter_mut().zip(x) {
            *o = *o * c_out + v * c_skip;
        }
        Ok(())
    }
}
