//! Reading the official `.npz` checkpoints: container, typed configs and parameters.
//!
//! A checkpoint is an uncompressed `.npz` whose member names are the `:`-joined paths of the
//! reference's `CheckPoint` dataclass tree
//! (<https://github.com/google-deepmind/graphcast/blob/08cf736/graphcast/gencast.py>, written by
//! `dump` in <https://github.com/google-deepmind/graphcast/blob/08cf736/graphcast/checkpoint.py>):
//! `description`, `license`, `params:<module>:<name>`, `task_config:*`,
//! `denoiser_architecture_config:*`, `sampler_config:*`, `noise_config:*` and
//! `noise_encoder_config:*`. Unknown keys are ignored.

pub mod config;
pub mod inspect;
pub(crate) mod keys;
mod kind;
pub(crate) mod npy;
stage!(npz);
pub(crate) mod params;
pub(crate) mod shapes;
#[cfg(feature = "testing")]
mod writer;
mod zip;

pub use crate::models::gencast::config::{
    DenoiserArchitectureConfig, NoiseConfig, NoiseEncoderConfig, SamplerConfig,
    SparseTransformerConfig,
};
pub use crate::models::gencast::GenCastCheckpoint;
pub use crate::models::graphcast::checkpoint::GRAPHCAST_TIMESTEP_HOURS;
pub use crate::models::graphcast::{GraphCastCheckpoint, ModelConfig};
pub use config::{TaskConfig, GENCAST_TIMESTEP_HOURS};
pub use kind::{is_graphcast_archive, CheckpointKind};
#[cfg(feature = "testing")]
pub use npz::NpzWriter;
pub use npz::{NpyArray, NpyData, NpzArchive};
pub use params::{Param, ParamLoader, Params};
pub use shapes::ExpectedParam;
