//! Which family a checkpoint file is for, told by its config keys.

use std::path::Path;

use super::npz::NpzArchive;
use crate::Result;

/// Whether an archive is a GraphCast checkpoint (it has `model_config:*` entries).
pub fn is_graphcast_archive(archive: &NpzArchive) -> bool {
    archive.names().any(|n| n.starts_with("model_config:"))
}

/// Which model a checkpoint file is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckpointKind {
    /// `gencast.CheckPoint` (`denoiser_architecture_config:*`, sampler and noise configs).
    GenCast,
    /// `graphcast.CheckPoint` (`model_config:*`).
    GraphCast,
}

impl CheckpointKind {
    /// The kind of an opened archive, from its config keys.
    pub fn of(archive: &NpzArchive) -> CheckpointKind {
        if is_graphcast_archive(archive) {
            CheckpointKind::GraphCast
        } else {
            CheckpointKind::GenCast
        }
    }

    /// The kind of a checkpoint file.
    pub fn detect(path: impl AsRef<Path>) -> Result<CheckpointKind> {
        Ok(Self::of(&NpzArchive::open(path.as_ref())?))
    }
}
