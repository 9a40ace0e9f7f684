//! The notebook's `casting.Bfloat16Cast` around GraphCast, emulated in float32 arithmetic: the
//! normalised inputs, the structural features and every parameter are rounded to bfloat16
//! (round to nearest even), every matrix product accumulates in float32 and is rounded to
//! bfloat16, and every element-wise op (bias, swish, residual, LayerNorm arithmetic) rounds its
//! result. LayerNorm mean and variance are reduced in float32 and rounded; the grid2mesh
//! segment sum is float32 (`f32_aggregation=True`), the processor's and mesh2grid's are
//! bfloat16, one rounding per added message in edge order. The output is the bfloat16 result
//! read as float32 (`casting.Bfloat16Cast.__call__`, `deep_typed_graph_net.DeepTypedGraphNet`,
//! `graphcast.GraphCast` at commit 08cf736).
//!
//! It reproduces the arithmetic of the published scores rather than being fast: the MLPs run on
//! concatenated inputs, chunk by chunk, with no reuse across calls.

use std::ops::Range;
use std::sync::Arc;

use super::graphs::GraphCastGraphs;
use crate::models::graphcast::checkpoint::networks_builder;
use crate::checkpoint::{GraphCastCheckpoint, ParamLoader};
use crate::graph::EdgeSet;
use crate::kernels::{matmul, sigmoid};
use crate::{Error, Result};

/// Rows (nodes or edges) per chunk of an MLP evaluation; bounds the concatenated inputs.
const CHUNK: usize = 8192;

/// `x` rounded to the nearest bfloat16 (ties to even), as a float32.
pub fn round_bf16(x: f32) -> f32 {
    if x.is_nan() {
        return x;
    }
    let b = x.to_bits();
    let r = b.wrapping_add(0x7FFF + ((b >> 16) & 1));
    f32::from_bits(r & 0xFFFF_0000)
}

/// Rounds every value in place.
fn round_all(x: &mut [f32]) {
    x.iter_mut().for_each(|v| *v = round_bf16(*v));
}

/// A copy rounded to bfloat16.
fn rounded(x: &[f32]) -> Vec<f32> {
    x.iter().map(|&v| round_bf16(v)).collect()
}

/// A `hk.Linear` with bfloat16 weights and bias.
#[derive(Debug, Clone)]
struct Linear {
    w: Vec<f32>,
    b: Vec<f32>,
    d_in: usize,
    d_out: usize,
}

/// `LN(MLP(x))` (or `MLP(x)`) with bfloat16 parameters.
#[derive(Debug, Clone)]
struct Block {
    layers: Vec<Linear>,
    norm: Option<(Vec<f32>, Vec<f32>)>,
}

impl Block {
    /// Loads `<prefix>_mlp/~/linear_j` and, with `layer_norm`, `<prefix>_layer_norm`
    /// (`mlp_name` overrides the MLP's module name).
    fn load(
        l: &mut ParamLoader<'_>,
        mlp: &str,
        norm: Option<&str>,
        d_in: usize,
        (d, hidden): (usize, usize),
        d_out: usize,
    ) -> Block {
        let mut sizes = vec![d; hidden];
        sizes.push(d_out);
        let mut prev = d_in;
        let mut layers = Vec::with_capacity(sizes.len());
        for (j, &s) in sizes.iter().enumerate() {
            let module = format!("{mlp}/~/linear_{j}");
            layers.push(Linear {
                w: rounded(&l.take(&module, "w", &[prev, s])),
                b: rounded(&l.take(&module, "b", &[s])),
                d_in: prev,
                d_out: s,
            });
            prev = s;
        }
        let norm = norm.map(|m| {
            (
                rounded(&l.take(m, "scale", &[d_out])),
                rounded(&l.take(m, "offset", &[d_out])),
            )
        });
        Block { layers, norm }
    }

    /// Loads the block `prefix` (`<prefix>_mlp` followed by `<prefix>_layer_norm`).
    fn load_ln(
        l: &mut ParamLoader<'_>,
        prefix: &str,
        d_in: usize,
        dh: (usize, usize),
        d_out: usize,
    ) -> Block {
        let norm = format!("{prefix}_layer_norm");
        Block::load(l, &format!("{prefix}_mlp"), Some(&norm), d_in, dh, d_out)
    }

    /// Input width.
    fn d_in(&self) -> usize {
        self.layers[0].d_in
    }

    /// Output width.
    fn d_out(&self) -> usize {
        self.layers.last().map_or(0, |l| l.d_out)
    }

    /// The block on `rows` rows of `x` (bfloat16 values).
    fn forward_chunk(&self, x: &[f32], rows: usize) -> Vec<f32> {
        let mut cur = x.to_vec();
        let n = self.layers.len();
        for (i, lin) in self.layers.iter().enumerate() {
            let mut out = vec![0f32; rows * lin.d_out];
            matmul(&cur, &lin.w, &mut out, rows, lin.d_in, lin.d_out, false);
            for row in out.chunks_exact_mut(lin.d_out) {
                for (v, &b) in row.iter_mut().zip(&lin.b) {
                    *v = round_bf16(round_bf16(*v) + b);
                }
            }
            if i + 1 < n {
                // jax.nn.swish: x · sigmoid(x), each op rounded.
                for v in out.iter_mut() {
                    *v = round_bf16(*v * round_bf16(sigmoid(*v)));
                }
            }
            cur = out;
        }
        if let Some((scale, offset)) = &self.norm {
            layer_norm(&mut cur, scale, offset);
        }
        cur
    }

    /// The block on `rows` rows whose concatenated input rows `r` are written by `fill` into a
    /// `[r.len(), d_in]` buffer; evaluated in chunks.
    fn forward_with(&self, rows: usize, fill: impl Fn(Range<usize>, &mut [f32])) -> Vec<f32> {
        let (d_in, d_out) = (self.d_in(), self.d_out());
        let mut out = vec![0f32; rows * d_out];
        let mut x = Vec::new();
        let mut start = 0;
        while start < rows {
            let end = (start + CHUNK).min(rows);
            x.clear();
            x.resize((end - start) * d_in, 0.0);
            fill(start..end, &mut x);
            let y = self.forward_chunk(&x, end - start);
            out[start * d_out..end * d_out].copy_from_slice(&y);
            start = end;
        }
        out
    }
}

/// haiku's `LayerNorm` on bfloat16 rows: mean and variance reduced in float32 and rounded, the
/// rest in bfloat16 (`inv = scale · rsqrt(var + eps)`, `y = inv · (x − mean) + offset`).
fn layer_norm(x: &mut [f32], scale: &[f32], offset: &[f32]) {
    let d = scale.len();
    let eps = round_bf16(1e-5);
    for row in x.chunks_exact_mut(d) {
        let mean32 = row.iter().sum::<f32>() / d as f32;
        let var32 = row
            .iter()
            .map(|&v| (v - mean32) * (v - mean32))
            .sum::<f32>()
            / d as f32;
        let (mean, var) = (round_bf16(mean32), round_bf16(var32));
        let r = round_bf16(1.0 / round_bf16(var + eps).sqrt());
        for (j, v) in row.iter_mut().enumerate() {
            let inv = round_bf16(scale[j] * r);
            let c = round_bf16(*v - mean);
            *v = round_bf16(round_bf16(inv * c) + offset[j]);
        }
    }
}

/// `segment_sum` of edge rows onto receivers: in float32 then rounded (`f32` true), or in
/// bfloat16 with one rounding per added message, in edge order.
fn segment_sum(msg: &[f32], receivers: &[u32], n: usize, d: usize, f32_sum: bool) -> Vec<f32> {
    let mut out = vec![0f32; n * d];
    for (e, &r) in receivers.iter().enumerate() {
        let dst = &mut out[r as usize * d..(r as usize + 1) * d];
        for (o, &m) in dst.iter_mut().zip(&msg[e * d..(e + 1) * d]) {
            *o = if f32_sum { *o + m } else { round_bf16(*o + m) };
        }
    }
    if f32_sum {
        round_all(&mut out);
    }
    out
}

/// `a + b`, rounded.
fn add(a: &mut [f32], b: &[f32]) {
    for (x, &y) in a.iter_mut().zip(b) {
        *x = round_bf16(*x + y);
    }
}

/// The edge-set's features rounded to bfloat16 (`[E, 4]`).
fn edge_features(e: &EdgeSet) -> Vec<f32> {
    rounded(&e.features)
}

/// GraphCast under `Bfloat16Cast`.
#[derive(Debug, Clone)]
pub struct GraphCastBf16 {
    graphs: Arc<GraphCastGraphs>,
    cin: usize,
    d: usize,
    g2m_edge_embed: Block,
    g2m_grid_embed: Block,
    g2m_mesh_embed: Block,
    g2m_edges: Block,
    g2m_grid_nodes: Block,
    g2m_mesh_nodes: Block,
    mesh_edge_embed: Block,
    mesh_edges: Vec<Block>,
    mesh_nodes: Vec<Block>,
    m2g_edge_embed: Block,
    m2g_edges: Block,
    m2g_grid_nodes: Block,
    decoder: Block,
}

impl GraphCastBf16 {
    /// Loads the network with every parameter rounded to bfloat16; every missing, unexpected
    /// and mis-shaped tensor is reported at once.
    pub fn load(ckpt: &GraphCastCheckpoint, graphs: Arc<GraphCastGraphs>) -> Result<GraphCastBf16> {
        let cfg = &ckpt.model_config;
        cfg.check()?;
        let (cin, cout, d) = (ckpt.cin()?, ckpt.cout(), cfg.latent_size);
        let dh = (d, cfg.hidden_layers);
        let mut l = ParamLoader::new(&ckpt.params, &ckpt.path);
        let g = networks_builder("grid2mesh_gnn");
        let p = networks_builder("mesh_gnn");
        let m = networks_builder("mesh2grid_gnn");
        let mut blk = |name: String, d_in: usize| Block::load_ln(&mut l, &name, d_in, dh, d);
        let g2m_edge_embed = blk(format!("{g}encoder_edges_grid2mesh"), 4);
        let g2m_grid_embed = blk(format!("{g}encoder_nodes_grid_nodes"), cin + 3);
        let g2m_mesh_embed = blk(format!("{g}encoder_nodes_mesh_nodes"), cin + 3);
        let g2m_edges = blk(format!("{g}processor_edges_0_grid2mesh"), 3 * d);
        let g2m_grid_nodes = blk(format!("{g}processor_nodes_0_grid_nodes"), d);
        let g2m_mesh_nodes = blk(format!("{g}processor_nodes_0_mesh_nodes"), 2 * d);
        let mesh_edge_embed = blk(format!("{p}encoder_edges_mesh"), 4);
        let mut mesh_edges = Vec::with_capacity(cfg.gnn_msg_steps);
        let mut mesh_nodes = Vec::with_capacity(cfg.gnn_msg_steps);
        for k in 0..cfg.gnn_msg_steps {
            mesh_edges.push(blk(format!("{p}processor_edges_{k}_mesh"), 3 * d));
            mesh_nodes.push(blk(format!("{p}processor_nodes_{k}_mesh_nodes"), 2 * d));
        }
        let m2g_edge_embed = blk(format!("{m}encoder_edges_mesh2grid"), 4);
        let m2g_edges = blk(format!("{m}processor_edges_0_mesh2grid"), 3 * d);
        let m2g_grid_nodes = blk(format!("{m}processor_nodes_0_grid_nodes"), 2 * d);
        // The decoder's mesh-node update exists in the checkpoint but its output is unused.
        let _ = blk(format!("{m}processor_nodes_0_mesh_nodes"), d);
        let decoder = Block::load(
            &mut l,
            &format!("{m}decoder_nodes_grid_nodes_mlp"),
            None,
            d,
            dh,
            cout,
        );
        l.finish()?;
        let (ng, nm) = (graphs.n_grid, graphs.n_mesh);
        if graphs.grid_node_features.len() != 3 * ng || graphs.mesh_node_features.len() != 3 * nm {
            return Err(Error::Invalid(
                "graphs: node features are not 3 per node".into(),
            ));
        }
        Ok(GraphCastBf16 {
            graphs,
            cin,
            d,
            g2m_edge_embed,
            g2m_grid_embed,
            g2m_mesh_embed,
            g2m_edges,
            g2m_grid_nodes,
            g2m_mesh_nodes,
            mesh_edge_embed,
            mesh_edges,
            mesh_nodes,
            m2g_edge_embed,
            m2g_edges,
            m2g_grid_nodes,
            decoder,
        })
    }

    /// The graphs the network was loaded for.
    pub fn graphs(&self) -> &Arc<GraphCastGraphs> {
        &self.graphs
    }

    /// The interaction-network edge update `block(concat(e, senders[snd], receivers[rcv]))`.
    fn edge_update(
        &self,
        block: &Block,
        edges: &EdgeSet,
        e: &[f32],
        senders: &[f32],
        receivers: &[f32],
    ) -> Vec<f32> {
        let d = self.d;
        block.forward_with(edges.len(), |r, x| {
            for (row, k) in x.chunks_exact_mut(3 * d).zip(r) {
                let (s, t) = (edges.senders[k] as usize, edges.receivers[k] as usize);
                row[..d].copy_from_slice(&e[k * d..(k + 1) * d]);
                row[d..2 * d].copy_from_slice(&senders[s * d..(s + 1) * d]);
                row[2 * d..].copy_from_slice(&receivers[t * d..(t + 1) * d]);
            }
        })
    }

    /// `nodes + block(concat(nodes, agg))`, rounded.
    fn node_update(&self, block: &Block, nodes: &[f32], agg: &[f32]) -> Vec<f32> {
        let d = self.d;
        let n = nodes.len() / d;
        let mut out = block.forward_with(n, |r, x| {
            for (row, k) in x.chunks_exact_mut(2 * d).zip(r) {
                row[..d].copy_from_slice(&nodes[k * d..(k + 1) * d]);
                row[d..].copy_from_slice(&agg[k * d..(k + 1) * d]);
            }
        });
        add(&mut out, nodes);
        out
    }

    /// The normalised prediction `[Ng, Cout]` from the stacked normalised inputs `x`
    /// `[Ng, Cin]` (float32; rounded to bfloat16 here).
    pub fn forward(&self, x: &[f32]) -> Result<Vec<f32>> {
        let g = &self.graphs;
        let (ng, nm, cin, d) = (g.n_grid, g.n_mesh, self.cin, self.d);
        if x.len() != ng * cin {
            return Err(Error::Shape {
                what: "GraphCast stacked inputs [grid nodes, channels]".into(),
                expected: vec![ng, cin],
                found: vec![x.len() / cin.max(1), x.len() % cin.max(1)],
            });
        }
        let x = rounded(x);
        let sg = rounded(&g.grid_node_features);
        let sm = rounded(&g.mesh_node_features);

        // grid2mesh encoder.
        let feats = edge_features(&g.grid2mesh);
        let e = self
            .g2m_edge_embed
            .forward_with(g.grid2mesh.len(), |r, out| {
                out.copy_from_slice(&feats[r.start * 4..r.end * 4])
            });
        let g0 = self.g2m_grid_embed.forward_with(ng, |r, out| {
            for (row, k) in out.chunks_exact_mut(cin + 3).zip(r) {
                row[..cin].copy_from_slice(&x[k * cin..(k + 1) * cin]);
                row[cin..].copy_from_slice(&sg[k * 3..(k + 1) * 3]);
            }
        });
        let m0 = self.g2m_mesh_embed.forward_with(nm, |r, out| {
            for (row, k) in out.chunks_exact_mut(cin + 3).zip(r) {
                row[..cin].fill(0.0);
                row[cin..].copy_from_slice(&sm[k * 3..(k + 1) * 3]);
            }
        });
        let msg = self.edge_update(&self.g2m_edges, &g.grid2mesh, &e, &g0, &m0);
        let agg = segment_sum(&msg, &g.grid2mesh.receivers, nm, d, true);
        let mut m = self.node_update(&self.g2m_mesh_nodes, &m0, &agg);
        let mut g1 = self.g2m_grid_nodes.forward_with(ng, |r, out| {
            out.copy_from_slice(&g0[r.start * d..r.end * d])
        });
        add(&mut g1, &g0);

        // Processor on the multi-mesh, the edge latents carrying their residual.
        let feats = edge_features(&g.mesh);
        let mut e = self.mesh_edge_embed.forward_with(g.mesh.len(), |r, out| {
            out.copy_from_slice(&feats[r.start * 4..r.end * 4])
        });
        for (edges, nodes) in self.mesh_edges.iter().zip(&self.mesh_nodes) {
            let msg = self.edge_update(edges, &g.mesh, &e, &m, &m);
            let agg = segment_sum(&msg, &g.mesh.receivers, nm, d, false);
            m = self.node_update(nodes, &m, &agg);
            add(&mut e, &msg);
        }

        // mesh2grid decoder and output MLP.
        let feats = edge_features(&g.mesh2grid);
        let e = self
            .m2g_edge_embed
            .forward_with(g.mesh2grid.len(), |r, out| {
                out.copy_from_slice(&feats[r.start * 4..r.end * 4])
            });
        let msg = self.edge_update(&self.m2g_edges, &g.mesh2grid, &e, &m, &g1);
        let agg = segment_sum(&msg, &g.mesh2grid.receivers, ng, d, false);
        let g2 = self.node_update(&self.m2g_grid_nodes, &g1, &agg);
        Ok(self.decoder.forward_with(ng, |r, out| {
            out.copy_from_slice(&g2[r.start * d..r.end * d])
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::round_bf16;

    #[test]
    fn rounds_to_nearest_even() {
        assert_eq!(round_bf16(1.0), 1.0);
        // 1 + 2^-8 lies halfway between 1 and 1 + 2^-7: ties go to the even mantissa (1).
        assert_eq!(round_bf16(1.0 + 1.0 / 256.0), 1.0);
        assert_eq!(round_bf16(1.0 + 3.0 / 256.0), 1.0 + 4.0 / 256.0);
        assert_eq!(round_bf16(f32::INFINITY), f32::INFINITY);
        assert!(round_bf16(f32::NAN).is_nan());
    }
}
