//! GenCast checkpoints (`gencast.CheckPoint`): free-text fields, typed configs and parameters.

use std::path::{Path, PathBuf};

use super::config::{
    DenoiserArchitectureConfig, NoiseConfig, NoiseEncoderConfig, SamplerConfig,
};
use super::shapes::expected_params_with_output;
use crate::checkpoint::{
    keys, CheckpointKind, ExpectedParam, NpzArchive, ParamLoader, Params, TaskConfig,
};
use crate::{Error, Result};

/// Module path of the first grid-node embedding layer, whose weight has `Cin + 3` rows.
pub const GRID_NODE_EMBEDDING_MODULE: &str =
    "grid2mesh_gnn/~_networks_builder/encoder_nodes_grid_nodes_mlp/~/linear_0";

/// A loaded checkpoint: free-text fields, typed configs and parameters.
#[derive(Debug, Clone)]
pub struct GenCastCheckpoint {
    /// The file it was read from.
    pub path: PathBuf,
    /// Free-text description.
    pub description: String,
    /// License text.
    pub license: String,
    /// Variables, levels and input window.
    pub task_config: TaskConfig,
    /// Network architecture.
    pub denoiser_architecture_config: DenoiserArchitectureConfig,
    /// Sampler settings.
    pub sampler_config: SamplerConfig,
    /// Training noise settings (unused at inference).
    pub noise_config: NoiseConfig,
    /// Noise-level encoder settings.
    pub noise_encoder_config: NoiseEncoderConfig,
    /// The network weights.
    pub params: Params,
}

impl GenCastCheckpoint {
    /// Opens a checkpoint and reads its configs and parameters (parameter names and shapes
    /// are checked separately by [`GenCastCheckpoint::validate`] or the model loader).
    pub fn open(path: impl AsRef<Path>) -> Result<GenCastCheckpoint> {
        let archive = NpzArchive::open(path.as_ref())?;
        Self::from_archive(&archive)
    }

    /// Opens a checkpoint and reads only its description, license and configs (`params`
    /// stays empty); useful to inspect files whose parameters are not float32.
    pub fn open_configs(path: impl AsRef<Path>) -> Result<GenCastCheckpoint> {
        let archive = NpzArchive::open(path.as_ref())?;
        Self::read(&archive, false)
    }

    /// Reads only the description, license and configs from an opened archive.
    pub fn from_archive_configs(archive: &NpzArchive) -> Result<GenCastCheckpoint> {
        Self::read(archive, false)
    }

    /// Reads a checkpoint from an opened archive.
    pub fn from_archive(archive: &NpzArchive) -> Result<GenCastCheckpoint> {
        Self::read(archive, true)
    }

    fn read(archive: &NpzArchive, with_params: bool) -> Result<GenCastCheckpoint> {
        if CheckpointKind::of(archive) == CheckpointKind::GraphCast {
            return Err(Error::format(
                archive.path(),
                "checkpoint",
                "this is a GraphCast checkpoint (model_config:* entries); open it with \
                 GraphCastCheckpoint",
            ));
        }
        let r = keys::ConfigReader { archive };
        let mut ckpt = GenCastCheckpoint {
            path: archive.path().to_path_buf(),
            description: r.str("description")?,
            license: r.str("license")?,
            task_config: TaskConfig::read(&r)?,
            denoiser_architecture_config: DenoiserArchitectureConfig::read(&r)?,
            sampler_config: SamplerConfig::read(&r)?,
            noise_config: NoiseConfig::read(&r)?,
            noise_encoder_config: NoiseEncoderConfig::read(&r)?,
            params: Params::new(),
        };
        if with_params {
            // Only tensors of the shapes the configuration implies are inflated; the others are
            // reported by `validate` or the model loader without their data being read.
            ckpt.params = match ckpt.expected_params() {
                Ok(expected) => Params::from_archive_expecting(archive, &expected)?,
                Err(_) => Params::from_archive(archive)?,
            };
        }
        Ok(ckpt)
    }

    /// Number of stacked grid input channels `Cin`, from the task (GenCast's 12 h step).
    pub fn cin(&self) -> Result<usize> {
        self.task_config.gencast_input_channels()
    }

    /// `Cin` as implied by the stored grid-node embedding weight (rows − 3), if present.
    pub fn cin_from_params(&self) -> Option<usize> {
        let w = self.params.get(GRID_NODE_EMBEDDING_MODULE, "w")?;
        w.shape.first()?.checked_sub(3)
    }

    /// Number of output channels the network produces: computed from the task, as the
    /// reference's `GenCast` constructor does (it overwrites `node_output_size`).
    pub fn cout(&self) -> usize {
        self.task_config.node_output_size()
    }

    /// The tensors this checkpoint's configuration requires.
    pub fn expected_params(&self) -> Result<Vec<ExpectedParam>> {
        Ok(expected_params_with_output(
            &self.denoiser_architecture_config,
            &self.noise_encoder_config,
            self.cin()?,
            self.cout(),
        ))
    }

    /// Checks the parameters against the configuration: every expected tensor present with
    /// its shape, nothing extra, plus the config consistency rules (`d_model == latent_size`,
    /// heads dividing `d_model`). All problems are reported at once.
    pub fn validate(&self) -> Result<()> {
        let cfg = &self.denoiser_architecture_config;
        let st = &cfg.sparse_transformer_config;
        if st.d_model != cfg.latent_size {
            return Err(Error::Config {
                key: "denoiser_architecture_config:sparse_transformer_config:d_model".into(),
                detail: format!(
                    "must equal latent_size {}, found {}",
                    cfg.latent_size, st.d_model
                ),
            });
        }
        if st.num_heads == 0 || !st.d_model.is_multiple_of(st.num_heads) {
            return Err(Error::Config {
                key: "denoiser_architecture_config:sparse_transformer_config:num_heads".into(),
                detail: format!("{} does not divide d_model {}", st.num_heads, st.d_model),
            });
        }
        let mut loader = ParamLoader::new(&self.params, &self.path);
        for (module, name, shape) in self.expected_params()? {
            loader.get(&module, &name, &shape);
        }
        loader.finish()
    }
}
