//! GenCast inference on CPUs, and its deterministic sibling GraphCast.
//!
//! The crate follows the reference pipeline stage by stage:
//! [`checkpoint`] reads the official `.npz` checkpoints, [`data`] reads the example datasets and
//! normalisation statistics, [`graph`] builds the icosahedral mesh and the grid↔mesh graphs,
//! [`kernels`] holds the numeric kernels, [`model`] the denoiser network, [`sampler`] the
//! diffusion sampler and its random streams, and [`output`] the writers. GraphCast's network,
//! graphs, normalisation and rollout live in [`model::graphcast`], its checkpoint reader in
//! [`checkpoint::graphcast`].
//!
//! Most callers need only the facade in [`forecast`]: [`Model::load`], the [`Forecast`]
//! builder and a [`ForecastSink`] ([`NetCdfSink`], [`ZarrSink`] or [`MemorySink`]).

pub mod bench;
pub mod checkpoint;
pub mod data;
pub mod error;
pub mod forecast;
pub mod graph;
pub mod kernels;
pub mod model;
pub mod output;
pub mod rollout;
pub mod sampler;

pub use error::{Error, Result};
pub use forecast::{
    Forecast, ForecastSink, MemoryForecast, MemorySink, Model, ModelKind, NetCdfSink, Progress,
    Stats, Summary, ZarrSink,
};
