//! The notebook's `casting.Bfloat16Cast` around GraphCast, emulated in float32 arithmetic by the
//! float32 network's own code path (see [`super::network`] for where the cast rounds): cached
//! static embeddings, split first layers and chunked edges serve both precisions.

use std::sync::Arc;

use super::graphs::GraphCastGraphs;
use super::network::{GraphCast, GraphCastStages, LoadOptions};
use crate::checkpoint::GraphCastCheckpoint;
use crate::Result;

pub use crate::kernels::bf16::round_bf16;

/// GraphCast under `Bfloat16Cast`.
#[derive(Debug, Clone)]
pub struct GraphCastBf16(GraphCast);

impl GraphCastBf16 {
    /// Loads the network with every parameter rounded to bfloat16; every missing, unexpected
    /// and mis-shaped tensor is reported at once.
    pub fn load(ckpt: &GraphCastCheckpoint, graphs: Arc<GraphCastGraphs>) -> Result<GraphCastBf16> {
        Self::load_with(ckpt, graphs, LoadOptions::default())
    }

    /// [`GraphCastBf16::load`] with the given work arrangement.
    pub fn load_with(
        ckpt: &GraphCastCheckpoint,
        graphs: Arc<GraphCastGraphs>,
        opts: LoadOptions,
    ) -> Result<GraphCastBf16> {
        GraphCast::load_as(ckpt, graphs, opts, true).map(GraphCastBf16)
    }

    /// The network underneath, whose code path applies the cast's roundings.
    pub fn network(&self) -> &GraphCast {
        &self.0
    }

    /// The graphs the network was loaded for.
    pub fn graphs(&self) -> &Arc<GraphCastGraphs> {
        self.0.graphs()
    }

    /// The normalised prediction `[Ng, Cout]` (bfloat16 values) from the stacked normalised
    /// inputs `x` `[Ng, Cin]` (float32; rounded to bfloat16 here).
    pub fn forward(&self, x: &[f32]) -> Result<Vec<f32>> {
        self.0.forward(x)
    }

    /// [`GraphCastBf16::forward`] with the seconds spent in the encoder (grid2mesh), the
    /// processor and the decoder (mesh2grid and the output MLP).
    pub fn forward_timed(&self, x: &[f32]) -> Result<(Vec<f32>, [f64; 3])> {
        self.0.forward_timed(x)
    }

    /// [`GraphCastBf16::forward`] with every stage's latents.
    pub fn forward_stages(&self, x: &[f32]) -> Result<GraphCastStages> {
        self.0.forward_stages(x)
    }
}
