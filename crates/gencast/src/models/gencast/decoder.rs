//! The decoder: the mesh2grid GNN (`mesh2grid_gnn`) and the output MLP on the grid nodes.

use super::encoder::GnnDims;
use crate::nn::gnn::{add_into, project, ChunkSizes, EdgeEmbedder, Workspace};
use crate::nn::layers::{sized, CondBlock, Mlp};
use crate::checkpoint::ParamLoader;
use crate::graph::Graphs;
use crate::kernels::activation::Act;
use crate::kernels::{gather_add_rows, matmul_packed};
use crate::{Error, Result};
use rayon::prelude::*;

/// Module path prefix of the decoder's MLPs.
pub const MESH2GRID_PREFIX: &str = "mesh2grid_gnn/~_networks_builder/";

/// The mesh2grid GNN plus output head.
#[derive(Debug)]
pub struct Mesh2Grid {
    /// `encoder_edges_mesh2grid`, with cached `LN(MLP(edge features))`.
    pub edge_embed: EdgeEmbedder,
    /// `processor_edges_0_mesh2grid`.
    pub edge_proc: CondBlock,
    /// `processor_nodes_0_grid_nodes`.
    pub grid_proc: CondBlock,
    /// `processor_nodes_0_mesh_nodes`: loaded, but its output is never used by the reference.
    pub mesh_proc: CondBlock,
    /// `decoder_nodes_grid_nodes`: plain MLP, no norm or conditioning.
    pub head: Mlp,
    /// `edge_start[g]..edge_start[g + 1]` are the edges received by grid node `g`.
    edge_start: Vec<u32>,
}

impl Mesh2Grid {
    /// Loads the decoder's parameters; [`Mesh2Grid::prepare`] must follow before use.
    pub fn load(l: &mut ParamLoader<'_>, dims: GnnDims, cout: usize) -> Mesh2Grid {
        let GnnDims {
            latent: d,
            hidden_layers: h,
            cond: c,
            ..
        } = dims;
        let p = |s: &str| format!("{MESH2GRID_PREFIX}{s}");
        let edge_block = CondBlock::load(l, &p("encoder_edges_mesh2grid"), 4, d, h, d, c);
        let edge_proc = CondBlock::load(l, &p("processor_edges_0_mesh2grid"), 3 * d, d, h, d, c);
        let grid_proc = CondBlock::load(l, &p("processor_nodes_0_grid_nodes"), 2 * d, d, h, d, c);
        let mesh_proc = CondBlock::load(l, &p("processor_nodes_0_mesh_nodes"), d, d, h, d, c);
        let mut sizes = vec![d; h];
        sizes.push(cout);
        let head = Mlp::load(l, &p("decoder_nodes_grid_nodes_mlp"), d, &sizes, Act::Swish);
        Mesh2Grid {
            edge_embed: EdgeEmbedder::new(edge_block),
            edge_proc,
            grid_proc,
            mesh_proc,
            head,
            edge_start: Vec::new(),
        }
    }

    /// Precomputes where each grid node's edges start and (within the cache budget) the static edge embeddings.
    pub fn prepare(&mut self, graphs: &Graphs, chunks: ChunkSizes) -> Result<()> {
        let d = self.edge_proc.d_out();
        let edges = &graphs.mesh2grid;
        self.edge_start = edge_starts(&edges.receivers, graphs.n_grid)?;
        let cache = edges.len() * d * 4 <= chunks.cache_bytes;
        self.edge_embed.prepare(edges, cache, chunks.edges);
        Ok(())
    }

    /// Decodes the processor output (`ws.mesh_out`, `[Nm, D]`) and the encoder's grid latents
    /// (`ws.latent_grid`, `[Ng, D]`) to the raw output `out` `[Ng, Cout]`.
    pub fn forward(&self, graphs: &Graphs, cvec: &[f32], ws: &mut Workspace, out: &mut [f32]) {
        let d = self.edge_proc.d_out();
        let (ng, nm) = (graphs.n_grid, graphs.n_mesh);
        let cout = self.head.d_out();
        let aff_ee = self.edge_embed.block.cond.affine(cvec);
        let aff_pe = self.edge_proc.cond.affine(cvec);
        let aff_pg = self.grid_proc.cond.affine(cvec);
        let pe_first = &self.edge_proc.mlp.layers[0];
        let dp = pe_first.d_out;
        let x_mesh = &ws.mesh_out[..nm * d];
        let latent_grid = &ws.latent_grid[..ng * d];
        project(
            x_mesh,
            nm,
            pe_first.w_rows(d..2 * d),
            None,
            &mut ws.sender_proj,
        );
        let sender_proj = &ws.sender_proj[..nm * dp];
        let dout = self.edge_proc.d_out();
        let pg_first = &self.grid_proc.mlp.layers[0];
        let dpg = pg_first.d_out;
        let edges = &graphs.mesh2grid;

        // Grid nodes in blocks of `NODES_PER_TASK`, each taken on one thread from its edges'
        // messages to its output rows while they are in cache. A block's incoming edges are
        // contiguous (receivers ascend) and every operation works row by row, so the values do
        // not depend on the blocking.
        let bias_r = Some((pe_first.b.as_deref(), Act::Identity));
        let bias_g = Some((pg_first.b.as_deref(), Act::Identity));
        out[..ng * cout]
            .par_chunks_mut(NODES_PER_TASK * cout)
            .enumerate()
            .for_each_init(BlockBuffers::default, |b, (i, y)| {
                let start = i * NODES_PER_TASK;
                let rows = y.len() / cout;
                let end = start + rows;
                let g1 = &latent_grid[start * d..end * d];
                let (e_lo, e_hi) = (
                    self.edge_start[start] as usize,
                    self.edge_start[end] as usize,
                );
                let ne = e_hi - e_lo;

                // Edge messages: embedding·W_e + sender and receiver projections, MLP tail.
                let recv_proj = sized(&mut b.recv, rows * dp);
                matmul_packed(g1, pe_first.w_rows(2 * d..3 * d), recv_proj, rows, false, bias_r);
                let e0 = sized(&mut b.e0, ne * d);
                self.edge_embed
                    .embed(edges, e_lo..e_hi, &aff_ee, e0, &mut b.pre, &mut b.scratch);
                let pre = sized(&mut b.pre, ne * dp);
                matmul_packed(e0, pe_first.w_rows(0..d), pre, ne, false, None);
                gather_add_rows(pre, sender_proj, &edges.senders[e_lo..e_hi], dp);
                b.local.clear();
                b.local
                    .extend(edges.receivers[e_lo..e_hi].iter().map(|&r| r - start as u32));
                gather_add_rows(pre, recv_proj, &b.local, dp);
                let msg = sized(&mut b.msg, ne * dout);
                self.edge_proc.tail(pre, ne, &aff_pe, msg, &mut b.scratch);

                // Per-node sums in edge order.
                let agg = sized(&mut b.agg, rows * dout);
                let starts = &self.edge_start[start..=end];
                for (i, row) in agg.chunks_mut(dout).enumerate() {
                    row.fill(0.0);
                    for e in starts[i] as usize..starts[i + 1] as usize {
                        let m = &msg[(e - e_lo) * dout..(e - e_lo + 1) * dout];
                        for (o, &v) in row.iter_mut().zip(m) {
                            *o += v;
                        }
                    }
                }

                // Grid node update on [latent_grid, agg], residual, then the output head.
                let p = sized(&mut b.pre, rows * dpg);
                matmul_packed(g1, pg_first.w_rows(0..d), p, rows, false, None);
                matmul_packed(agg, pg_first.w_rows(d..2 * d), p, rows, true, bias_g);
                let dc = sized(&mut b.e0, rows * d);
                self.grid_proc.tail(p, rows, &aff_pg, dc, &mut b.scratch);
                let g2c = sized(&mut b.msg, rows * d);
                add_into(g2c, g1, dc);
                self.head.forward(g2c, rows, y, &mut b.pre, &mut b.scratch);
            });
    }
}

/// Grid nodes per task of the decoder: with GenCast's 3 mesh2grid edges per grid node, about a
/// hundred edges, whose intermediates (about 200 KB each) stay in the core's cache.
const NODES_PER_TASK: usize = 32;

/// Per-task buffers of the decoder.
#[derive(Default)]
struct BlockBuffers {
    recv: Vec<f32>,
    e0: Vec<f32>,
    pre: Vec<f32>,
    scratch: Vec<f32>,
    msg: Vec<f32>,
    agg: Vec<f32>,
    local: Vec<u32>,
}

/// Offsets of each receiver's edges, `[n + 1]`, for edges sorted by receiver.
fn edge_starts(receivers: &[u32], n: usize) -> Result<Vec<u32>> {
    if let Some(e) = receivers.windows(2).position(|w| w[0] > w[1]) {
        return Err(Error::Invalid(format!(
            "mesh2grid edges must be sorted by grid node; edge {} goes to {} after {}",
            e + 1,
            receivers[e + 1],
            receivers[e]
        )));
    }
    if let Some(&r) = receivers.last().filter(|&&r| r as usize >= n) {
        return Err(Error::Invalid(format!(
            "mesh2grid edge receiver {r} is not one of the {n} grid nodes"
        )));
    }
    Ok((0..=n)
        .map(|g| receivers.partition_point(|&r| (r as usize) < g) as u32)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edge_starts_delimit_each_receivers_edges() {
        let s = edge_starts(&[0, 0, 2, 2, 2, 3], 5).unwrap();
        assert_eq!(s, vec![0, 2, 2, 5, 6, 6]);
        let err = edge_starts(&[1, 0], 2).unwrap_err().to_string();
        assert!(err.contains("edge 1 goes to 0 after 1"), "{err}");
        assert!(edge_starts(&[0, 7], 3).is_err());
    }
}
