//! A loaded model: a GenCast or GraphCast checkpoint with its normalisation statistics.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::checkpoint::{
    CheckpointKind, GenCastCheckpoint, GraphCastCheckpoint, SamplerConfig, TaskConfig,
};
use crate::data::{NormStats, StatsSet};
use crate::models::graphcast::checkpoint::GRAPHCAST_TIMESTEP_HOURS;
use crate::models::graphcast::{GraphCastStats, Precision};
use crate::{Error, Result};

use super::prepared::{Prepared, PreparedCache};

/// Hours per GenCast step.
pub const GENCAST_STEP_HOURS: u64 = 12;

/// Which model a checkpoint holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelKind {
    /// GenCast: a diffusion model forecasting an ensemble in 12 h steps.
    GenCast,
    /// GraphCast: a deterministic model forecasting in 6 h steps.
    GraphCast,
}

impl ModelKind {
    /// The statistics file names of this family (in the folder [`Model::load`] reads).
    pub fn stats_files(self) -> &'static [&'static str] {
        match self {
            ModelKind::GenCast => &StatsSet::FILES,
            ModelKind::GraphCast => &GraphCastStats::FILES,
        }
    }
}

/// The normalisation statistics of a model, from files or from memory.
#[derive(Clone, Debug)]
pub struct Stats {
    /// Climatological mean (`mean_by_level.nc`).
    pub mean_by_level: NormStats,
    /// Climatological standard deviation (`stddev_by_level.nc`).
    pub stddev_by_level: NormStats,
    /// Standard deviation of differences between consecutive frames
    /// (`diffs_stddev_by_level.nc`).
    pub diffs_stddev_by_level: NormStats,
    /// Minimum (`min_by_level.nc`); GenCast needs it, GraphCast does not.
    pub min_by_level: Option<NormStats>,
}

impl Stats {
    /// Opens the statistics files a model of `kind` needs from folder `dir`; the error names
    /// every file the folder lacks.
    pub fn open_dir(dir: impl AsRef<Path>, kind: ModelKind) -> Result<Stats> {
        Ok(match kind {
            ModelKind::GenCast => StatsSet::open_dir(dir)?.into(),
            ModelKind::GraphCast => GraphCastStats::open_dir(dir)?.into(),
        })
    }

    /// The statistics GenCast reads (all four files).
    fn gencast(self) -> Result<StatsSet> {
        let min_by_level = self.min_by_level.ok_or_else(|| Error::Missing {
            path: PathBuf::from("statistics"),
            what: "statistics",
            key: "min_by_level".into(),
        })?;
        Ok(StatsSet {
            mean_by_level: self.mean_by_level,
            stddev_by_level: self.stddev_by_level,
            diffs_stddev_by_level: self.diffs_stddev_by_level,
            min_by_level,
        })
    }

    /// The statistics GraphCast reads (the minimum is not used).
    fn graphcast(self) -> GraphCastStats {
        GraphCastStats {
            mean_by_level: self.mean_by_level,
            stddev_by_level: self.stddev_by_level,
            diffs_stddev_by_level: self.diffs_stddev_by_level,
        }
    }
}

impl From<StatsSet> for Stats {
    fn from(s: StatsSet) -> Stats {
        Stats {
            mean_by_level: s.mean_by_level,
            stddev_by_level: s.stddev_by_level,
            diffs_stddev_by_level: s.diffs_stddev_by_level,
            min_by_level: Some(s.min_by_level),
        }
    }
}

impl From<GraphCastStats> for Stats {
    fn from(s: GraphCastStats) -> Stats {
        Stats {
            mean_by_level: s.mean_by_level,
            stddev_by_level: s.stddev_by_level,
            diffs_stddev_by_level: s.diffs_stddev_by_level,
            min_by_level: None,
        }
    }
}

/// The checkpoint and statistics of one model family.
pub(crate) enum Loaded {
    /// A GenCast checkpoint and its four statistics files.
    GenCast(Box<GenCastCheckpoint>, StatsSet),
    /// A GraphCast checkpoint and its three statistics files.
    GraphCast(Box<GraphCastCheckpoint>, GraphCastStats),
}

/// A checkpoint and its statistics, ready to forecast (see [`crate::Forecast`]).
///
/// The first forecast on a grid builds the graphs and loads the network for it (packed weights,
/// static embeddings); the model keeps them (for up to [`super::MAX_PREPARED_GRIDS`] grids), so
/// later forecasts on the same grid and precision reuse them. Forecasts may run on one model
/// from several threads; they then share the prepared network.
pub struct Model {
    checkpoint_path: PathBuf,
    stats_dir: Option<PathBuf>,
    pub(crate) loaded: Loaded,
    prepared: PreparedCache,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("kind", &self.kind())
            .field("checkpoint", &self.checkpoint_path)
            .field("stats", &self.stats_dir)
            .finish()
    }
}

/// The family of the checkpoint at `path`; a file that is not a readable archive is left to
/// the GenCast reader, whose error says why.
fn kind_of(path: &Path) -> ModelKind {
    if path.is_file() && CheckpointKind::detect(path).ok() == Some(CheckpointKind::GraphCast) {
        ModelKind::GraphCast
    } else {
        ModelKind::GenCast
    }
}

impl Model {
    /// Loads a GenCast or GraphCast checkpoint (`.npz`) and the statistics files of folder
    /// `stats_dir` (`mean_by_level.nc`, `stddev_by_level.nc`, `diffs_stddev_by_level.nc` and,
    /// for GenCast, `min_by_level.nc`).
    pub fn load(checkpoint: impl AsRef<Path>, stats_dir: impl AsRef<Path>) -> Result<Model> {
        let (checkpoint, dir) = (checkpoint.as_ref(), stats_dir.as_ref());
        let loaded = match kind_of(checkpoint) {
            ModelKind::GenCast => {
                let ckpt = GenCastCheckpoint::open(checkpoint)?;
                Loaded::GenCast(Box::new(ckpt), StatsSet::open_dir(dir)?)
            }
            ModelKind::GraphCast => {
                // Statistics first: the error names every file the folder lacks.
                let stats = GraphCastStats::open_dir(dir)?;
                Loaded::GraphCast(Box::new(open_graphcast(checkpoint)?), stats)
            }
        };
        Ok(Model {
            checkpoint_path: checkpoint.to_path_buf(),
            stats_dir: Some(dir.to_path_buf()),
            loaded,
            prepared: PreparedCache::default(),
        })
    }

    /// Loads a checkpoint with statistics already in memory.
    pub fn load_with_stats(checkpoint: impl AsRef<Path>, stats: Stats) -> Result<Model> {
        let checkpoint = checkpoint.as_ref();
        let loaded = match kind_of(checkpoint) {
            ModelKind::GenCast => {
                let stats = stats.gencast()?;
                Loaded::GenCast(Box::new(GenCastCheckpoint::open(checkpoint)?), stats)
            }
            ModelKind::GraphCast => {
                Loaded::GraphCast(Box::new(open_graphcast(checkpoint)?), stats.graphcast())
            }
        };
        Ok(Model {
            checkpoint_path: checkpoint.to_path_buf(),
            stats_dir: None,
            loaded,
            prepared: PreparedCache::default(),
        })
    }

    /// GenCast or GraphCast.
    pub fn kind(&self) -> ModelKind {
        match self.loaded {
            Loaded::GenCast(..) => ModelKind::GenCast,
            Loaded::GraphCast(..) => ModelKind::GraphCast,
        }
    }

    /// Hours per model step (12 for GenCast, 6 for GraphCast).
    pub fn step_hours(&self) -> u64 {
        match self.kind() {
            ModelKind::GenCast => GENCAST_STEP_HOURS,
            ModelKind::GraphCast => GRAPHCAST_TIMESTEP_HOURS as u64,
        }
    }

    /// The task: input, target and forcing variables, pressure levels, input window.
    pub fn task(&self) -> &TaskConfig {
        match &self.loaded {
            Loaded::GenCast(c, _) => &c.task_config,
            Loaded::GraphCast(c, _) => &c.task_config,
        }
    }

    /// The predicted variables in output order: `(name, levels)` pairs, levels in hPa (none
    /// for surface variables).
    pub fn output_variables(&self) -> Result<Vec<(String, Vec<i32>)>> {
        let layout = crate::data::stacking::StackLayout::for_task(self.task())?;
        Ok(layout
            .outputs()
            .iter()
            .map(|o| (o.name.clone(), o.levels.clone()))
            .collect())
    }

    /// The checkpoint's free-text description.
    pub fn description(&self) -> &str {
        match &self.loaded {
            Loaded::GenCast(c, _) => &c.description,
            Loaded::GraphCast(c, _) => &c.description,
        }
    }

    /// The checkpoint's sampler settings (GenCast only).
    pub fn sampler_config(&self) -> Option<&SamplerConfig> {
        match &self.loaded {
            Loaded::GenCast(c, _) => Some(&c.sampler_config),
            Loaded::GraphCast(..) => None,
        }
    }

    /// Number of network parameters.
    pub fn num_params(&self) -> usize {
        match &self.loaded {
            Loaded::GenCast(c, _) => c.params.num_params(),
            Loaded::GraphCast(c, _) => c.params.num_params(),
        }
    }

    /// The checkpoint file as given.
    pub fn checkpoint_path(&self) -> &Path {
        &self.checkpoint_path
    }

    /// The statistics folder, when the statistics were read from files.
    pub fn stats_dir(&self) -> Option<&Path> {
        self.stats_dir.as_deref()
    }

    /// Builds the graphs and loads the network for the grid `lat` × `lon` (GraphCast: in
    /// `precision`; GenCast runs in float32 only) now, unless already done, so that the first
    /// forecast on that grid starts computing at once.
    pub fn prepare(&self, lat: &[f32], lon: &[f32], precision: Precision) -> Result<()> {
        self.prepared_for(lat, lon, precision).map(|_| ())
    }

    /// Number of grids the model holds prepared networks for.
    pub fn prepared_grids(&self) -> usize {
        self.prepared.len()
    }

    /// Drops the prepared networks (their memory is freed once no forecast uses them).
    pub fn release_prepared(&self) {
        self.prepared.clear()
    }

    /// The network prepared for this grid and precision, built now when there is none; the
    /// flag says whether it was reused.
    pub(crate) fn prepared_for(
        &self,
        lat: &[f32],
        lon: &[f32],
        precision: Precision,
    ) -> Result<(Arc<Prepared>, bool)> {
        match &self.loaded {
            Loaded::GenCast(ckpt, _) => {
                if precision != Precision::F32 {
                    bail!(
                        "precision {} applies to GraphCast checkpoints; {} is a GenCast \
                         checkpoint, which runs in float32",
                        precision.name(),
                        self.checkpoint_path.display()
                    );
                }
                self.prepared
                    .get_or_build(lat, lon, precision, || Prepared::gencast(ckpt, lat, lon))
            }
            Loaded::GraphCast(ckpt, _) => {
                ckpt.model_config.check_grid(lon.len())?;
                self.prepared.get_or_build(lat, lon, precision, || {
                    Prepared::graphcast(ckpt, lat, lon, precision)
                })
            }
        }
    }

    /// How many times a network was built for a grid, over the model's life.
    #[cfg(test)]
    pub(crate) fn network_builds(&self) -> usize {
        self.prepared.builds()
    }

    /// The statistics file names of this model's family.
    pub fn stats_files(&self) -> &'static [&'static str] {
        self.kind().stats_files()
    }
}

/// Opens and validates a GraphCast checkpoint.
fn open_graphcast(path: &Path) -> Result<GraphCastCheckpoint> {
    let ckpt = GraphCastCheckpoint::open(path)?;
    ckpt.validate()?;
    Ok(ckpt)
}
