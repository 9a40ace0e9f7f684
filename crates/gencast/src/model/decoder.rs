//! The decoder: the mesh2grid GNN (`mesh2grid_gnn`) and the output MLP on the grid nodes.

use super::encoder::GnnDims;
use super::gnn::{add_into, project, ChunkSizes, EdgeEmbedder, EdgePass, Workspace};
use super::layers::{sized, CondBlock, Mlp};
use crate::checkpoint::ParamLoader;
use crate::graph::Graphs;
use crate::kernels::activation::Act;
use crate::kernels::{bias_act, matmul, SegmentPlan};
use crate::Result;

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
    plan: SegmentPlan,
    chunks: ChunkSizes,
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
            plan: SegmentPlan::default(),
            chunks: ChunkSizes::default(),
        }
    }

    /// Precomputes the receiver plan and (within the cache budget) the static edge embeddings.
    pub fn prepare(&mut self, graphs: &Graphs, chunks: ChunkSizes) -> Result<()> {
        let d = self.edge_proc.d_out();
        let edges = &graphs.mesh2grid;
        self.plan = SegmentPlan::new(&edges.receivers, graphs.n_grid, chunks.edges)?;
        let cache = edges.len() * d * 4 <= chunks.cache_bytes;
        self.edge_embed.prepare(edges, cache, chunks.edges);
        self.chunks = chunks;
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
            d,
            pe_first.w_rows(d..2 * d),
            dp,
            None,
            &mut ws.sender_proj,
        );
        project(
            latent_grid,
            ng,
            d,
            pe_first.w_rows(2 * d..3 * d),
            dp,
            pe_first.b.as_deref(),
            &mut ws.receiver_proj,
        );
        EdgePass {
            edges: &graphs.mesh2grid,
            plan: &self.plan,
            embed: (&self.edge_embed, &aff_ee),
            proc: (&self.edge_proc, &aff_pe),
            sender_proj: &ws.sender_proj[..nm * dp],
            receiver_proj: &ws.receiver_proj[..ng * dp],
        }
        .run(&mut ws.edge, &mut ws.agg);
        let agg = &ws.agg[..ng * d];

        // Grid node update on [latent_grid, agg], residual, then the output head.
        let pg_first = &self.grid_proc.mlp.layers[0];
        let dpg = pg_first.d_out;
        for start in (0..ng).step_by(self.chunks.nodes) {
            let end = (start + self.chunks.nodes).min(ng);
            let rows = end - start;
            let g1 = &latent_grid[start * d..end * d];
            let p = sized(&mut ws.pre, rows * dpg);
            matmul(g1, pg_first.w_rows(0..d), p, rows, d, dpg, false);
            matmul(
                &agg[start * d..end * d],
                pg_first.w_rows(d..2 * d),
                p,
                rows,
                d,
                dpg,
                true,
            );
            bias_act(p, dpg, pg_first.b.as_deref(), Act::Identity);
            let dc = sized(&mut ws.tmp_a, rows * d);
            self.grid_proc.tail(p, rows, &aff_pg, dc, &mut ws.scratch);
            let g2c = sized(&mut ws.tmp_b, rows * d);
            add_into(g2c, g1, dc);
            self.head.forward(
                g2c,
                rows,
                &mut out[start * cout..end * cout],
                &mut ws.pre,
                &mut ws.scratch,
            );
        }
    }
}
