//! The denoiser network: MLP blocks, norm conditioning, encoder, processor, decoder.

pub mod decoder;
pub mod denoiser;
pub mod encoder;
pub mod gnn;
pub mod layers;
pub mod network;
pub mod noise_encoder;
pub mod processor;

pub use denoiser::{preconditioning, Denoiser};
pub use gnn::{ChunkSizes, Workspace};
pub use network::Network;
