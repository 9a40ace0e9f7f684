//! The whole denoiser network: noise encoder → grid2mesh GNN → mesh transformer → mesh2grid GNN
//! and output head, loaded from a checkpoint for a fixed set of graphs.

use super::decoder::Mesh2Grid;
use super::encoder::{GnnDims, Grid2Mesh};
use crate::nn::gnn::{ChunkSizes, Workspace};
use super::noise_encoder::NoiseEncoder;
use super::processor::{Transformer, TransformerDims};
use crate::checkpoint::{GenCastCheckpoint, ParamLoader};
use crate::graph::{EdgeSet, Graphs};
use crate::kernels::attention::validate_csr;
use crate::kernels::AttentionPlan;
use crate::{Error, Result};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// The GenCast denoiser network `F(features, σ)` (without preconditioning).
pub struct Network {
    graphs: Arc<Graphs>,
    /// Noise-level encoder (`fourier_features_mlp`).
    pub noise_encoder: NoiseEncoder,
    /// Encoder (`grid2mesh_gnn`).
    pub grid2mesh: Grid2Mesh,
    /// Processor (`mesh_transformer`).
    pub transformer: Transformer,
    /// Decoder (`mesh2grid_gnn`) and output head.
    pub mesh2grid: Mesh2Grid,
    /// Blocked form of the attention neighbourhoods.
    pub attention: AttentionPlan,
    cin: usize,
    cout: usize,
    workspace: Mutex<Workspace>,
    debug_nans: AtomicBool,
}

impl std::fmt::Debug for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Network")
            .field("n_grid", &self.graphs.n_grid)
            .field("n_mesh", &self.graphs.n_mesh)
            .field("cin", &self.cin)
            .field("cout", &self.cout)
            .field("latent", &self.transformer.d)
            .field("layers", &self.transformer.blocks.len())
            .field("heads", &self.transformer.heads)
            .field("attention_pairs", &self.attention.dense_pairs())
            .finish_non_exhaustive()
    }
}

fn config_err(key: &str, detail: String) -> Error {
    Error::Config {
        key: format!("denoiser_architecture_config:{key}"),
        detail,
    }
}

fn check_edges(name: &str, e: &EdgeSet, n_send: usize, n_recv: usize) -> Result<()> {
    let bad = |d: String| Err(Error::Invalid(format!("graph edge set {name}: {d}")));
    if e.receivers.len() != e.senders.len() || e.features.len() != 4 * e.senders.len() {
        return bad(format!(
            "{} senders, {} receivers, {} feature values (expected 4 per edge)",
            e.senders.len(),
            e.receivers.len(),
            e.features.len()
        ));
    }
    if let Some(s) = e.senders.iter().find(|&&s| s as usize >= n_send) {
        return bad(format!("sender {s} out of range ({n_send} nodes)"));
    }
    if let Some(r) = e.receivers.iter().find(|&&r| r as usize >= n_recv) {
        return bad(format!("receiver {r} out of range ({n_recv} nodes)"));
    }
    Ok(())
}

fn check_graphs(g: &Graphs) -> Result<()> {
    if g.grid_node_features.len() != 3 * g.n_grid || g.mesh_node_features.len() != 3 * g.n_mesh {
        return Err(Error::Invalid(format!(
            "graph node features: {} grid and {} mesh values for {} grid and {} mesh nodes",
            g.grid_node_features.len(),
            g.mesh_node_features.len(),
            g.n_grid,
            g.n_mesh
        )));
    }
    check_edges("grid2mesh", &g.grid2mesh, g.n_grid, g.n_mesh)?;
    check_edges("mesh2grid", &g.mesh2grid, g.n_mesh, g.n_grid)?;
    validate_csr(&g.attention.offsets, &g.attention.indices, g.n_mesh)
}

impl Network {
    /// Builds the network for `graphs` from a checkpoint, checking every parameter's name and
    /// shape (all problems reported at once) and precomputing the noise-independent parts.
    pub fn load(ckpt: &GenCastCheckpoint, graphs: Arc<Graphs>) -> Result<Network> {
        Self::load_with(ckpt, graphs, ChunkSizes::default())
    }

    /// [`Network::load`] with explicit work-chunk sizes.
    pub fn load_with(
        ckpt: &GenCastCheckpoint,
        graphs: Arc<Graphs>,
        chunks: ChunkSizes,
    ) -> Result<Network> {
        // A bad `GENCAST_ISA` stops the run here, before any computation.
        crate::kernels::isa::ensure()?;
        let cfg = &ckpt.denoiser_architecture_config;
        let st = &cfg.sparse_transformer_config;
        let d = cfg.latent_size;
        if d == 0 || st.d_model != d {
            return Err(config_err(
                "sparse_transformer_config:d_model",
                format!("must equal latent_size {d} (> 0), found {}", st.d_model),
            ));
        }
        if st.num_heads == 0 || !d.is_multiple_of(st.num_heads) {
            return Err(config_err(
                "sparse_transformer_config:num_heads",
                format!("{} does not divide d_model {d}", st.num_heads),
            ));
        }
        if cfg.norm_conditioning_features != ["noise_level_encodings"] {
            return Err(config_err(
                "norm_conditioning_features",
                format!(
                    "only [\"noise_level_encodings\"] is supported, found {:?}",
                    cfg.norm_conditioning_features
                ),
            ));
        }
        if chunks.edges == 0 || chunks.nodes == 0 {
            return Err(Error::Invalid(
                "network chunk sizes must be positive".into(),
            ));
        }
        check_graphs(&graphs)?;
        let cin = ckpt.cin()?;
        let cout = ckpt.cout();
        let ne = &ckpt.noise_encoder_config;
        let mut l = ParamLoader::new(&ckpt.params, &ckpt.path);
        let noise_encoder = NoiseEncoder::load(
            &mut l,
            ne.apply_log_first,
            ne.base_period,
            ne.num_frequencies,
            &ne.output_sizes,
        )?;
        let c = noise_encoder.width();
        let dims = GnnDims {
            cin,
            latent: d,
            hidden_layers: cfg.hidden_layers,
            cond: c,
        };
        let transformer = Transformer::load(
            &mut l,
            st.module_name(),
            TransformerDims {
                d,
                heads: st.num_heads,
                layers: st.num_layers,
                ffw: st.ffw_hidden,
                cond: c,
            },
        );
        let mut grid2mesh = Grid2Mesh::load(&mut l, dims, cfg.grid2mesh_aggregate_normalization);
        let mut mesh2grid = Mesh2Grid::load(&mut l, dims, cout);
        // Every name and shape is checked before the graph-sized precomputations.
        l.finish()?;
        grid2mesh.prepare(&graphs, chunks)?;
        mesh2grid.prepare(&graphs, chunks)?;
        let attention = AttentionPlan::new(
            &graphs.attention.offsets,
            &graphs.attention.indices,
            &graphs.mesh.vertices,
        )?;
        Ok(Network {
            graphs,
            noise_encoder,
            grid2mesh,
            transformer,
            mesh2grid,
            attention,
            cin,
            cout,
            workspace: Mutex::new(Workspace::default()),
            debug_nans: AtomicBool::new(false),
        })
    }

    /// The graphs the network runs on.
    pub fn graphs(&self) -> &Arc<Graphs> {
        &self.graphs
    }

    /// Stacked input channels per grid node.
    pub fn cin(&self) -> usize {
        self.cin
    }

    /// Output channels per grid node.
    pub fn cout(&self) -> usize {
        self.cout
    }

    /// The conditioning vector (`global_norm_conditioning`) for noise level `sigma`.
    pub fn noise_encoding(&self, sigma: f32) -> Vec<f32> {
        self.noise_encoder.encode(sigma)
    }

    /// Turns the per-stage non-finite checks of [`Network::forward`] on or off (`--debug-nans`).
    pub fn set_debug_nans(&self, on: bool) {
        self.debug_nans.store(on, Ordering::Relaxed);
    }

    /// The stages of [`Network::forward`], each output checked for non-finite values; the first
    /// one found is reported with the stage (module name), node and channel.
    fn forward_checked(
        &self,
        grid_features: &[f32],
        noise_level: f32,
        ws: &mut Workspace,
        out: &mut [f32],
    ) -> Result<()> {
        let g = &*self.graphs;
        let d = self.transformer.d;
        let cvec = self.noise_encoding(noise_level);
        first_non_finite(
            &cvec,
            cvec.len(),
            "fourier_features_mlp",
            "encoding",
            noise_level,
        )?;
        self.grid2mesh.forward(g, grid_features, &cvec, ws);
        first_non_finite(
            &ws.latent_grid[..g.n_grid * d],
            d,
            "grid2mesh_gnn",
            "grid node",
            noise_level,
        )?;
        first_non_finite(
            &ws.latent_mesh[..g.n_mesh * d],
            d,
            "grid2mesh_gnn",
            "mesh node",
            noise_level,
        )?;
        if let Some((block, p)) = self.transformer.forward(&cvec, &self.attention, ws, true) {
            return Err(Error::NonFinite {
                stage: format!("mesh_transformer block {block:02}"),
                detail: format!(
                    "mesh node {}, latent channel {} (σ = {noise_level})",
                    p / d,
                    p % d
                ),
            });
        }
        first_non_finite(
            &ws.mesh_out[..g.n_mesh * d],
            d,
            "mesh_transformer final norm",
            "mesh node",
            noise_level,
        )?;
        self.mesh2grid.forward(g, &cvec, ws, out);
        first_non_finite(out, self.cout, "mesh2grid_gnn", "grid node", noise_level)
    }

    /// The three stages of [`Network::forward`] without input checks, on caller-owned buffers;
    /// returns the seconds spent in the encoder, processor and decoder.
    pub fn forward_stages(
        &self,
        grid_features: &[f32],
        noise_level: f32,
        ws: &mut Workspace,
        out: &mut [f32],
    ) -> [f64; 3] {
        let g = &*self.graphs;
        let t0 = std::time::Instant::now();
        let cvec = self.noise_encoding(noise_level);
        self.grid2mesh.forward(g, grid_features, &cvec, ws);
        let t1 = std::time::Instant::now();
        self.transformer.forward(&cvec, &self.attention, ws, false);
        let t2 = std::time::Instant::now();
        self.mesh2grid.forward(g, &cvec, ws, out);
        let t3 = std::time::Instant::now();
        [
            (t1 - t0).as_secs_f64(),
            (t2 - t1).as_secs_f64(),
            (t3 - t2).as_secs_f64(),
        ]
    }

    /// Raw network output `out` `[Ng, Cout]` for stacked grid features `grid_features`
    /// `[Ng, Cin]` (noisy targets already `c_in`-scaled) at noise level `noise_level` (raw σ).
    pub fn forward(&self, grid_features: &[f32], noise_level: f32, out: &mut [f32]) -> Result<()> {
        let g = &*self.graphs;
        if grid_features.len() != g.n_grid * self.cin {
            return Err(Error::Shape {
                what: "grid features".into(),
                expected: vec![g.n_grid, self.cin],
                found: vec![grid_features.len()],
            });
        }
        if out.len() != g.n_grid * self.cout {
            return Err(Error::Shape {
                what: "network output".into(),
                expected: vec![g.n_grid, self.cout],
                found: vec![out.len()],
            });
        }
        if !(noise_level.is_finite() && noise_level > 0.0) {
            return Err(Error::Invalid(format!(
                "noise level must be positive and finite, found {noise_level}"
            )));
        }
        // Reuse the shared buffers; a concurrent call works on its own fresh ones.
        let mut local = None;
        let mut guard = self.workspace.try_lock().ok();
        let ws: &mut Workspace = match guard.as_deref_mut() {
            Some(w) => w,
            None => local.insert(Workspace::default()),
        };
        if self.debug_nans.load(Ordering::Relaxed) {
            self.forward_checked(grid_features, noise_level, ws, out)?;
        } else {
            self.forward_stages(grid_features, noise_level, ws, out);
        }
        if let Some(i) = out.iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFinite {
                stage: "denoiser network output".into(),
                detail: format!(
                    "grid node {}, channel {} (σ = {noise_level})",
                    i / self.cout,
                    i % self.cout
                ),
            });
        }
        Ok(())
    }
}

/// Fails with the stage, node and channel of the first non-finite value of `x` `[N, width]`.
fn first_non_finite(x: &[f32], width: usize, stage: &str, node: &str, sigma: f32) -> Result<()> {
    match x.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(p) => Err(Error::NonFinite {
            stage: stage.to_string(),
            detail: format!(
                "{node} {}, channel {}: {} (σ = {sigma})",
                p / width.max(1),
                p % width.max(1),
                x[p]
            ),
        }),
    }
}
