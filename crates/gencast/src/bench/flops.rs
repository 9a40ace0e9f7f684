//! Floating-point operation counts of one denoiser call, from the shapes: `2·m·n·k` per matrix
//! product and `4·pairs·D` per attention layer (scores plus weighted values). Element-wise
//! passes (norms, activations, gathers) are not counted.

use serde::Serialize;

/// The sizes that determine the work of one call.
#[derive(Debug, Clone, Copy)]
pub struct WorkShape {
    /// Grid nodes `Ng`.
    pub n_grid: usize,
    /// Mesh nodes `Nm`.
    pub n_mesh: usize,
    /// grid2mesh edges.
    pub e_grid2mesh: usize,
    /// mesh2grid edges.
    pub e_mesh2grid: usize,
    /// (query, key) pairs of the attention neighbourhoods.
    pub attention_pairs: usize,
    /// Stacked grid input channels `Cin`.
    pub cin: usize,
    /// Output channels `Cout`.
    pub cout: usize,
    /// Latent width `D`.
    pub latent: usize,
    /// Hidden layers per GNN MLP.
    pub hidden_layers: usize,
    /// Transformer blocks.
    pub layers: usize,
    /// Feed-forward width.
    pub ffw: usize,
    /// Whether the static grid2mesh edge embeddings are cached (not recomputed per call).
    pub cached_grid2mesh_edges: bool,
    /// Whether the static mesh2grid edge embeddings are cached.
    pub cached_mesh2grid_edges: bool,
}

/// FLOP per call, by stage.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct FlopCount {
    /// grid2mesh GNN.
    pub encoder: f64,
    /// Mesh transformer, attention included.
    pub transformer: f64,
    /// Of which the attention scores and weighted sums.
    pub attention: f64,
    /// mesh2grid GNN and output head.
    pub decoder: f64,
}

impl FlopCount {
    /// All stages together.
    pub fn total(&self) -> f64 {
        self.encoder + self.transformer + self.decoder
    }
}

/// `2·rows·Σ in·out` over the layers of an MLP with `hidden` hidden layers of width `d`.
fn mlp(rows: usize, input: usize, d: usize, hidden: usize, output: usize) -> f64 {
    let mut sum = 0.0;
    for j in 0..=hidden {
        let i = if j == 0 { input } else { d };
        let o = if j == hidden { output } else { d };
        sum += (i * o) as f64;
    }
    2.0 * rows as f64 * sum
}

/// `2·m·k·n`.
fn gemm(m: usize, k: usize, n: usize) -> f64 {
    2.0 * m as f64 * k as f64 * n as f64
}

/// The transformer: fused q/k/v, output projection, feed-forward, and `attention_pairs`
/// attended pairs per layer.
fn transformer(s: &WorkShape, attention_pairs: f64) -> (f64, f64) {
    let (n, d) = (s.n_mesh, s.latent);
    let per_layer = gemm(n, d, 3 * d) + gemm(n, d, d) + gemm(n, d, s.ffw) + gemm(n, s.ffw, d);
    let attention = s.layers as f64 * 4.0 * attention_pairs * d as f64;
    (s.layers as f64 * per_layer + attention, attention)
}

/// The edge update as this crate computes it: the edge term of the first layer per edge (the
/// sender and receiver terms are per-node projections, counted by the caller) and the rest of
/// the MLP, plus the static embedding unless cached.
fn edge_pass(edges: usize, d: usize, h: usize, cached: bool) -> f64 {
    let embed = if cached { 0.0 } else { mlp(edges, 4, d, h, d) };
    // The first layer maps to width D whatever the number of hidden layers.
    embed + gemm(edges, d, d) + mlp(edges, 3 * d, d, h, d) - gemm(edges, 3 * d, d)
}

/// The work this crate does per call: static embeddings cached, the edge MLPs' first layers
/// split into per-node sender/receiver projections, no decoder mesh-node update.
pub fn actual(s: &WorkShape) -> FlopCount {
    let (ng, nm, d, h) = (s.n_grid, s.n_mesh, s.latent, s.hidden_layers);
    let encoder = mlp(ng, s.cin + 3, d, h, d)
        + gemm(ng, d, d)
        + mlp(ng, d, d, h, d)
        + gemm(nm, d, d)
        + edge_pass(s.e_grid2mesh, d, h, s.cached_grid2mesh_edges)
        + mlp(nm, 2 * d, d, h, d);
    let (transformer, attention) = transformer(s, s.attention_pairs as f64);
    let decoder = gemm(nm, d, d)
        + gemm(ng, d, d)
        + edge_pass(s.e_mesh2grid, d, h, s.cached_mesh2grid_edges)
        + mlp(ng, 2 * d, d, h, d)
        + mlp(ng, d, d, h, s.cout);
    FlopCount {
        encoder,
        transformer,
        attention,
        decoder,
    }
}

/// The work of the reference's formulation: every embedder and edge MLP on its full
/// concatenated input at every call, the decoder's mesh-node update, and dense `[Nm, Nm]`
/// attention.
pub fn reference(s: &WorkShape) -> FlopCount {
    let (ng, nm, d, h) = (s.n_grid, s.n_mesh, s.latent, s.hidden_layers);
    let (e1, e2) = (s.e_grid2mesh, s.e_mesh2grid);
    let encoder = mlp(e1, 4, d, h, d)
        + mlp(ng, s.cin + 3, d, h, d)
        + mlp(nm, s.cin + 3, d, h, d)
        + mlp(e1, 3 * d, d, h, d)
        + mlp(ng, d, d, h, d)
        + mlp(nm, 2 * d, d, h, d);
    let (transformer, attention) = transformer(s, nm as f64 * nm as f64);
    let decoder = mlp(e2, 4, d, h, d)
        + mlp(e2, 3 * d, d, h, d)
        + mlp(ng, 2 * d, d, h, d)
        + mlp(nm, d, d, h, d)
        + mlp(ng, d, d, h, s.cout);
    FlopCount {
        encoder,
        transformer,
        attention,
        decoder,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape() -> WorkShape {
        WorkShape {
            n_grid: 10,
            n_mesh: 4,
            e_grid2mesh: 12,
            e_mesh2grid: 30,
            attention_pairs: 10,
            cin: 5,
            cout: 2,
            latent: 8,
            hidden_layers: 1,
            layers: 2,
            ffw: 16,
            cached_grid2mesh_edges: true,
            cached_mesh2grid_edges: true,
        }
    }

    #[test]
    fn mlp_counts_each_layer() {
        // 3 rows: 5→8 then 8→2.
        assert_eq!(mlp(3, 5, 8, 1, 2), 2.0 * 3.0 * (40.0 + 16.0));
        // No hidden layer: a single 5→2 layer.
        assert_eq!(mlp(3, 5, 8, 0, 2), 2.0 * 3.0 * 10.0);
    }

    #[test]
    fn transformer_counts_match_hand_computation() {
        let s = shape();
        // Per layer and node: 2·8·24 + 2·8·8 + 2·8·16·2 = 384 + 128 + 512.
        let dense = 2.0 * 4.0 * (384.0 + 128.0 + 512.0);
        let att = 2.0 * 4.0 * 10.0 * 8.0;
        let c = actual(&s);
        assert_eq!(c.attention, att);
        assert_eq!(c.transformer, dense + att);
    }

    #[test]
    fn splitting_saves_work_on_edges() {
        let s = shape();
        let (ours, theirs) = (actual(&s), reference(&s));
        assert!(ours.total() < theirs.total());
        // The edge split replaces E·3D·D by E·D·D + (senders + receivers)·D·D.
        let saved_edges = 2.0 * 30.0 * 16.0 * 8.0;
        let added_nodes = 2.0 * (4.0 + 10.0) * 8.0 * 8.0;
        let embed = mlp(30, 4, 8, 1, 8);
        let mesh_update = mlp(4, 8, 8, 1, 8);
        let expected = saved_edges - added_nodes + embed + mesh_update;
        assert!((theirs.decoder - ours.decoder - expected).abs() < 1e-9);
    }
}
