//! The encoder: the grid2mesh GNN (`grid2mesh_gnn`), one message-passing step from grid nodes
//! to mesh nodes with embedders for both node sets and the edges.

use crate::nn::gnn::{
    add_into, add_struct_rows, project, ChunkSizes, EdgeEmbedder, EdgePass, Workspace,
};
use crate::nn::layers::{sized, CondBlock};
use crate::checkpoint::ParamLoader;
use crate::graph::Graphs;
use crate::kernels::{affine_rows_into, layer_norm_rows, matmul_packed, SegmentPlan};
use crate::Result;

/// Module path prefix of the encoder's MLPs.
pub const GRID2MESH_PREFIX: &str = "grid2mesh_gnn/~_networks_builder/";

/// The grid2mesh GNN with its static (noise-independent) parts precomputed.
#[derive(Debug)]
pub struct Grid2Mesh {
    /// `encoder_edges_grid2mesh`, with cached `LN(MLP(edge features))`.
    pub edge_embed: EdgeEmbedder,
    /// `encoder_nodes_grid_nodes`.
    pub grid_embed: CondBlock,
    /// `encoder_nodes_mesh_nodes`.
    pub mesh_embed: CondBlock,
    /// `processor_edges_0_grid2mesh`.
    pub edge_proc: CondBlock,
    /// `processor_nodes_0_grid_nodes`.
    pub grid_proc: CondBlock,
    /// `processor_nodes_0_mesh_nodes`.
    pub mesh_proc: CondBlock,
    /// Divisor of the message sums (`grid2mesh_aggregate_normalization`), if set and non-zero.
    pub aggregate_normalization: Option<f32>,
    /// `LN(MLP([0…0, mesh structural features]))` `[Nm, D]`.
    mesh_static: Vec<f32>,
    plan: SegmentPlan,
    cin: usize,
    chunks: ChunkSizes,
}

/// Sizes the encoder is built for.
#[derive(Debug, Clone, Copy)]
pub struct GnnDims {
    /// Stacked grid input channels (without the 3 structural features).
    pub cin: usize,
    /// Latent width.
    pub latent: usize,
    /// Hidden layers per MLP.
    pub hidden_layers: usize,
    /// Conditioning width.
    pub cond: usize,
}

impl Grid2Mesh {
    /// Loads the encoder's parameters; [`Grid2Mesh::prepare`] must follow before use.
    pub fn load(
        l: &mut ParamLoader<'_>,
        dims: GnnDims,
        aggregate_normalization: Option<f64>,
    ) -> Grid2Mesh {
        let GnnDims {
            cin,
            latent: d,
            hidden_layers: h,
            cond: c,
        } = dims;
        let p = |s: &str| format!("{GRID2MESH_PREFIX}{s}");
        let edge_block = CondBlock::load(l, &p("encoder_edges_grid2mesh"), 4, d, h, d, c);
        let grid_embed = CondBlock::load(l, &p("encoder_nodes_grid_nodes"), cin + 3, d, h, d, c);
        let mesh_embed = CondBlock::load(l, &p("encoder_nodes_mesh_nodes"), cin + 3, d, h, d, c);
        let edge_proc = CondBlock::load(l, &p("processor_edges_0_grid2mesh"), 3 * d, d, h, d, c);
        let grid_proc = CondBlock::load(l, &p("processor_nodes_0_grid_nodes"), d, d, h, d, c);
        let mesh_proc = CondBlock::load(l, &p("processor_nodes_0_mesh_nodes"), 2 * d, d, h, d, c);
        let aggregate_normalization = aggregate_normalization
            .filter(|&v| v != 0.0)
            .map(|v| v as f32);
        Grid2Mesh {
            edge_embed: EdgeEmbedder::new(edge_block),
            grid_embed,
            mesh_embed,
            edge_proc,
            grid_proc,
            mesh_proc,
            aggregate_normalization,
            mesh_static: Vec::new(),
            plan: SegmentPlan::default(),
            cin,
            chunks: ChunkSizes::default(),
        }
    }

    /// Precomputes the parts that depend only on `graphs` and the weights: the receiver plan,
    /// the static edge embeddings (if within the cache budget) and the mesh-node embeddings.
    pub fn prepare(&mut self, graphs: &Graphs, chunks: ChunkSizes) -> Result<()> {
        let d = self.grid_embed.d_out();
        let cin = self.cin;
        let edges = &graphs.grid2mesh;
        self.plan = SegmentPlan::new(&edges.receivers, graphs.n_mesh, chunks.edges)?;
        let cache = edges.len() * d * 4 <= chunks.cache_bytes;
        self.edge_embed.prepare(edges, cache, chunks.edges);
        // Mesh nodes see zeros in the first `cin` input columns: only the structural rows count.
        let first = &self.mesh_embed.mlp.layers[0];
        let nm = graphs.n_mesh;
        let mut pre = vec![0.0f32; nm * first.d_out];
        add_struct_rows(
            &mut pre,
            &graphs.mesh_node_features,
            &first.w.unpack_rows(cin..cin + 3),
            first.b.as_deref(),
            first.d_out,
        );
        let mut mesh_static = vec![0.0f32; nm * d];
        self.mesh_embed
            .mlp
            .tail(&mut pre, nm, &mut mesh_static, &mut Vec::new());
        layer_norm_rows(&mut mesh_static, d);
        self.mesh_static = mesh_static;
        self.chunks = chunks;
        Ok(())
    }

    /// Runs the encoder on the stacked grid features `x` `[Ng, Cin]` with conditioning `cvec`,
    /// leaving `latent_grid` `[Ng, D]` and `latent_mesh` `[Nm, D]` in the workspace.
    pub fn forward(&self, graphs: &Graphs, x: &[f32], cvec: &[f32], ws: &mut Workspace) {
        let d = self.grid_embed.d_out();
        let cin = self.cin;
        let (ng, nm) = (graphs.n_grid, graphs.n_mesh);
        let aff_ge = self.grid_embed.cond.affine(cvec);
        let aff_me = self.mesh_embed.cond.affine(cvec);
        let aff_ee = self.edge_embed.block.cond.affine(cvec);
        let aff_pe = self.edge_proc.cond.affine(cvec);
        let aff_pg = self.grid_proc.cond.affine(cvec);
        let aff_pm = self.mesh_proc.cond.affine(cvec);
        let pe_first = &self.edge_proc.mlp.layers[0];
        let dp = pe_first.d_out;

        // Grid nodes: embedding, sender projection for the edges, and the node update (grid
        // nodes receive no messages here).
        let ge_first = &self.grid_embed.mlp.layers[0];
        let sender_proj = sized(&mut ws.sender_proj, ng * dp);
        let latent_grid = sized(&mut ws.latent_grid, ng * d);
        for start in (0..ng).step_by(self.chunks.nodes) {
            let end = (start + self.chunks.nodes).min(ng);
            let rows = end - start;
            let p = sized(&mut ws.pre, rows * ge_first.d_out);
            matmul_packed(
                &x[start * cin..end * cin],
                ge_first.w_rows(0..cin),
                p,
                rows,
                false,
                None,
            );
            add_struct_rows(
                p,
                &graphs.grid_node_features[start * 3..end * 3],
                &ge_first.w.unpack_rows(cin..cin + 3),
                ge_first.b.as_deref(),
                ge_first.d_out,
            );
            let g0c = sized(&mut ws.tmp_a, rows * d);
            self.grid_embed.tail(p, rows, &aff_ge, g0c, &mut ws.scratch);
            matmul_packed(
                g0c,
                pe_first.w_rows(d..2 * d),
                &mut sender_proj[start * dp..end * dp],
                rows,
                false,
                None,
            );
            let dc = sized(&mut ws.tmp_b, rows * d);
            self.grid_proc
                .forward(g0c, rows, &aff_pg, dc, &mut ws.pre, &mut ws.scratch);
            add_into(&mut latent_grid[start * d..end * d], g0c, dc);
        }

        // Mesh nodes: conditioned static embedding and the receiver projection.
        let m0 = sized(&mut ws.m0, nm * d);
        affine_rows_into(&self.mesh_static, m0, d, &aff_me.scale, &aff_me.offset);
        project(
            m0,
            nm,
            pe_first.w_rows(2 * d..3 * d),
            pe_first.b.as_deref(),
            &mut ws.receiver_proj,
        );

        // Edges: messages summed per mesh node.
        EdgePass {
            edges: &graphs.grid2mesh,
            plan: &self.plan,
            embed: (&self.edge_embed, &aff_ee),
            proc: (&self.edge_proc, &aff_pe),
            sender_proj: &ws.sender_proj[..ng * dp],
            receiver_proj: &ws.receiver_proj[..nm * dp],
        }
        .run(&mut ws.edge, &mut ws.agg);
        let agg = &mut ws.agg[..nm * d];
        if let Some(n) = self.aggregate_normalization {
            agg.iter_mut().for_each(|v| *v /= n);
        }

        // Mesh node update on [m0, agg].
        let m0 = &ws.m0[..nm * d];
        let pm_first = &self.mesh_proc.mlp.layers[0];
        let dpm = pm_first.d_out;
        let p = sized(&mut ws.pre, nm * dpm);
        matmul_packed(m0, pm_first.w_rows(0..d), p, nm, false, None);
        let bias = Some((pm_first.b.as_deref(), crate::kernels::Act::Identity));
        matmul_packed(agg, pm_first.w_rows(d..2 * d), p, nm, true, bias);
        let dm = sized(&mut ws.tmp_b, nm * d);
        self.mesh_proc.tail(p, nm, &aff_pm, dm, &mut ws.scratch);
        let latent_mesh = sized(&mut ws.latent_mesh, nm * d);
        add_into(latent_mesh, m0, dm);
    }
}
