//! GraphCast checkpoints (`graphcast.CheckPoint`): `model_config:*`, `task_config:*` and the
//! parameter tree the deterministic model expects (`GraphCast` in
//! <https://github.com/google-deepmind/graphcast/blob/08cf736/graphcast/graphcast.py>).

use std::path::{Path, PathBuf};

use crate::checkpoint::config::TaskConfig;
use crate::checkpoint::is_graphcast_archive;
use crate::checkpoint::keys::ConfigReader;
use crate::checkpoint::npz::NpzArchive;
use crate::checkpoint::params::{ParamLoader, Params};
use crate::checkpoint::shapes::{grid2mesh_mlps, mesh2grid_mlps, ExpectedParam};
use crate::graph::MAX_MESH_SIZE;
use crate::variables::is_static;
use crate::{Error, Result};

/// Time between consecutive frames of GraphCast data (one forecast step), in hours.
pub const GRAPHCAST_TIMESTEP_HOURS: f64 = 6.0;

/// The architecture (`graphcast.ModelConfig`), read from `model_config:*`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ModelConfig {
    /// Grid resolution in degrees the model was trained at (0 means any).
    pub resolution: f64,
    /// Number of refinements of the icosahedron; the multi-mesh holds levels `0..=mesh_size`.
    pub mesh_size: usize,
    /// Width of every latent vector.
    pub latent_size: usize,
    /// Number of unshared interaction-network steps of the processor.
    pub gnn_msg_steps: usize,
    /// Hidden layers of every MLP.
    pub hidden_layers: usize,
    /// grid2mesh radius as a fraction of the finest mesh's longest edge.
    pub radius_query_fraction_edge_length: f64,
    /// Normaliser of the mesh2grid edge features; `None` means the longest mesh2grid edge.
    pub mesh2grid_edge_normalization_factor: Option<f64>,
}

impl ModelConfig {
    /// Reads `model_config:*`.
    pub(crate) fn read(r: &ConfigReader<'_>) -> Result<ModelConfig> {
        let k = |f: &str| format!("model_config:{f}");
        Ok(ModelConfig {
            resolution: r.f64(&k("resolution"))?,
            mesh_size: r.usize(&k("mesh_size"))?,
            latent_size: r.usize(&k("latent_size"))?,
            gnn_msg_steps: r.usize(&k("gnn_msg_steps"))?,
            hidden_layers: r.usize(&k("hidden_layers"))?,
            radius_query_fraction_edge_length: r.f64(&k("radius_query_fraction_edge_length"))?,
            mesh2grid_edge_normalization_factor: r
                .opt_f64(&k("mesh2grid_edge_normalization_factor"))?,
        })
    }

    /// Checks the values a model can be built from, naming the first bad key.
    pub fn check(&self) -> Result<()> {
        let bad = |key: &str, detail: String| Error::Config {
            key: format!("model_config:{key}"),
            detail,
        };
        if self.mesh_size > MAX_MESH_SIZE {
            return Err(bad(
                "mesh_size",
                format!(
                    "{} is larger than the supported maximum {MAX_MESH_SIZE}",
                    self.mesh_size
                ),
            ));
        }
        if self.latent_size == 0 {
            return Err(bad("latent_size", "must be positive".into()));
        }
        if self.gnn_msg_steps == 0 {
            return Err(bad("gnn_msg_steps", "must be at least 1".into()));
        }
        let f = self.radius_query_fraction_edge_length;
        if !(f.is_finite() && f > 0.0) {
            return Err(bad(
                "radius_query_fraction_edge_length",
                format!("expected a positive finite number, found {f}"),
            ));
        }
        if let Some(n) = self.mesh2grid_edge_normalization_factor {
            if !(n.is_finite() && n > 0.0) {
                return Err(bad(
                    "mesh2grid_edge_normalization_factor",
                    format!("expected a positive finite number, found {n}"),
                ));
            }
        }
        Ok(())
    }
}

impl ModelConfig {
    /// Checks that a global grid of `n_lon` longitudes has the model's resolution
    /// (`360 / n_lon` degrees; a resolution of 0 accepts any grid), as the reference's example
    /// notebook does when it picks a dataset.
    pub fn check_grid(&self, n_lon: usize) -> Result<()> {
        if self.resolution == 0.0 {
            return Ok(());
        }
        let grid = 360.0 / n_lon as f64;
        if n_lon == 0 || (grid - self.resolution).abs() > 1e-6 * self.resolution {
            return Err(Error::Config {
                key: "model_config:resolution".into(),
                detail: format!(
                    "the model runs at {}°, the grid has {n_lon} longitudes ({grid}°)",
                    self.resolution
                ),
            });
        }
        Ok(())
    }
}

/// A loaded GraphCast checkpoint: free-text fields, configs and parameters.
#[derive(Debug, Clone)]
pub struct GraphCastCheckpoint {
    /// The file it was read from.
    pub path: PathBuf,
    /// Free-text description.
    pub description: String,
    /// License text.
    pub license: String,
    /// Architecture.
    pub model_config: ModelConfig,
    /// Variables, levels and input window.
    pub task_config: TaskConfig,
    /// The network weights.
    pub params: Params,
}

impl GraphCastCheckpoint {
    /// Opens a checkpoint and reads its configs and parameters (names and shapes are checked by
    /// [`GraphCastCheckpoint::validate`] or the model loader).
    pub fn open(path: impl AsRef<Path>) -> Result<GraphCastCheckpoint> {
        let archive = NpzArchive::open(path.as_ref())?;
        Self::from_archive(&archive)
    }

    /// Reads a checkpoint from an opened archive.
    pub fn from_archive(archive: &NpzArchive) -> Result<GraphCastCheckpoint> {
        if !is_graphcast_archive(archive) {
            return Err(Error::Missing {
                path: archive.path().to_path_buf(),
                what: "config key",
                key: "model_config:* (not a GraphCast checkpoint)".into(),
            });
        }
        let r = ConfigReader { archive };
        let model_config = ModelConfig::read(&r)?;
        model_config.check()?;
        Ok(GraphCastCheckpoint {
            path: archive.path().to_path_buf(),
            description: r.str("description")?,
            license: r.str("license")?,
            model_config,
            task_config: TaskConfig::read(&r)?,
            params: Params::from_archive(archive)?,
        })
    }

    /// Number of stacked grid input channels `Cin`.
    pub fn cin(&self) -> Result<usize> {
        graphcast_input_channels(&self.task_config)
    }

    /// Number of output channels `Cout` (surface targets plus levels × atmospheric targets).
    pub fn cout(&self) -> usize {
        self.task_config.node_output_size()
    }

    /// The tensors this checkpoint's configuration requires.
    pub fn expected_params(&self) -> Result<Vec<ExpectedParam>> {
        Ok(expected_graphcast_params(
            &self.model_config,
            self.cin()?,
            self.cout(),
        ))
    }

    /// Checks every expected tensor is present with its shape and nothing else is; all problems
    /// are reported at once.
    pub fn validate(&self) -> Result<()> {
        let mut loader = ParamLoader::new(&self.params, &self.path);
        for (module, name, shape) in self.expected_params()? {
            loader.get(&module, &name, &shape);
        }
        loader.finish()
    }
}

/// `Cin` of GraphCast: every input variable at each input frame (static ones once), then every
/// forcing once, at 6-hourly frames.
pub fn graphcast_input_channels(task: &TaskConfig) -> Result<usize> {
    let frames = task.num_input_frames(GRAPHCAST_TIMESTEP_HOURS)?;
    let inputs: usize = task
        .input_variables
        .iter()
        .map(|v| {
            let t = if is_static(v) { 1 } else { frames };
            t * task.channels_per_frame(v)
        })
        .sum();
    let forcings: usize = task
        .forcing_variables
        .iter()
        .map(|v| task.channels_per_frame(v))
        .sum();
    Ok(inputs + forcings)
}

/// Pushes `<prefix>_mlp/~/linear_j` (`w`, `b`) for `hidden` hidden layers of width `d`, and
/// `<prefix>_layer_norm` (`scale`, `offset`) when `layer_norm`.
fn block(
    out: &mut Vec<ExpectedParam>,
    prefix: &str,
    input: usize,
    d: usize,
    hidden: usize,
    output: usize,
    layer_norm: bool,
) {
    crate::checkpoint::shapes::mlp(out, prefix, input, d, hidden, output);
    if layer_norm {
        let module = format!("{prefix}_layer_norm");
        out.push((module.clone(), "scale".into(), vec![output]));
        out.push((module, "offset".into(), vec![output]));
    }
}

/// Module path prefix of the networks built by one of the three GNNs.
pub fn networks_builder(gnn: &str) -> String {
    format!("{gnn}/~_networks_builder/")
}

/// Every parameter of GraphCast for `cin` input and `cout` output channels, in the order the model
/// uses them (`GraphCast.__init__` in
/// <https://github.com/google-deepmind/graphcast/blob/08cf736/graphcast/graphcast.py> and
/// `DeepTypedGraphNet._networks_builder` in
/// <https://github.com/google-deepmind/graphcast/blob/08cf736/graphcast/deep_typed_graph_net.py>).
pub fn expected_graphcast_params(cfg: &ModelConfig, cin: usize, cout: usize) -> Vec<ExpectedParam> {
    let d = cfg.latent_size;
    let h = cfg.hidden_layers;
    let mut out = Vec::new();
    let g = networks_builder("grid2mesh_gnn");
    for (name, input) in grid2mesh_mlps(cin, d) {
        block(&mut out, &format!("{g}{name}"), input, d, h, d, true);
    }
    let p = networks_builder("mesh_gnn");
    block(
        &mut out,
        &format!("{p}encoder_edges_mesh"),
        4,
        d,
        h,
        d,
        true,
    );
    for k in 0..cfg.gnn_msg_steps {
        let edges = format!("{p}processor_edges_{k}_mesh");
        block(&mut out, &edges, 3 * d, d, h, d, true);
        let nodes = format!("{p}processor_nodes_{k}_mesh_nodes");
        block(&mut out, &nodes, 2 * d, d, h, d, true);
    }
    let m = networks_builder("mesh2grid_gnn");
    for (name, input) in mesh2grid_mlps(d) {
        block(&mut out, &format!("{m}{name}"), input, d, h, d, true);
    }
    block(
        &mut out,
        &format!("{m}decoder_nodes_grid_nodes"),
        d,
        d,
        h,
        cout,
        false,
    );
    out
}
