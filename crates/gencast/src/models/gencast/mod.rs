//! GenCast, the diffusion ensemble model: its checkpoint and configs, one step's inputs
//! (normalised and stacked grid features), the denoiser network (noise encoder, grid→mesh
//! encoder, sparse transformer processor, mesh→grid decoder), the diffusion sampler, and the
//! rollout of one member.
//!
//! [`Network`] computes the reference's raw network output `F(features, σ)`; [`Denoiser`] adds
//! the EDM preconditioning. The math is the reference's; the work is arranged for speed without
//! changing it: everything that depends only on the graphs and weights is computed once at load
//! (the receiver plans, `LN(MLP(·))` of the static edge features and of the mesh-node inputs,
//! the attention blocking), the first layer of each edge processor is split into per-node sender
//! and receiver projections plus an edge term, the decoder's unused mesh-node update is skipped,
//! and large buffers are reused between calls. Work is chunked so that no buffer scales with
//! edges × latent, and every reduction has a fixed order, so results do not depend on the
//! number of threads.

pub mod checkpoint;
pub mod config;
pub mod decoder;
pub mod denoiser;
pub mod encoder;
pub(crate) mod family;
pub mod inputs;
pub mod network;
pub mod noise_encoder;
pub mod processor;
pub mod rollout;
pub mod sampler;
pub mod shapes;

pub use crate::nn::gnn::{ChunkSizes, Workspace};
pub use checkpoint::GenCastCheckpoint;
pub use denoiser::{preconditioning, Denoiser};
pub use network::Network;
