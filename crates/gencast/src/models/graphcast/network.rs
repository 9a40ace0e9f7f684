//! The GraphCast network (`GraphCast.__call__` in
//! <https://github.com/google-deepmind/graphcast/blob/08cf736/graphcast/graphcast.py>): grid2mesh
//! encoder, K unshared interaction-network steps on the multi-mesh with edge residuals, mesh2grid
//! decoder and the output MLP.
//!
//! The arithmetic is the reference's; only the work is arranged differently. Everything that
//! depends only on the graphs and weights (the mesh-node embedding, whose stacked inputs are
//! zero, and the three edge embeddings up to a size limit) is computed once at load. Grid-sized
//! work runs in chunks of rows and edges, so buffers beyond the node latents stay small (see
//! [`LoadOptions`]). The first layer of each edge MLP is split into an edge term plus per-node
//! sender and receiver projections gathered onto the edges, and node MLPs add the contribution
//! of each concatenated part in turn, so no concatenated buffer is formed. Edges are processed
//! in fixed chunks and summed onto their receivers in edge order, so results do not depend on
//! the number of threads. Inside a chunk, and over the nodes, tasks of about a hundred rows run
//! their rows through the whole block (products, gathers, activation, LayerNorm, residual)
//! while the rows are in cache; every kernel gives the same bits whatever the row blocking.
//!
//! The same code evaluates the network under the notebook's `casting.Bfloat16Cast`
//! (`casting.py`, `deep_typed_graph_net.py` and `graphcast.py` at commit 08cf736), emulated in
//! float32 arithmetic: the normalised inputs, the structural features and every parameter are
//! rounded to bfloat16; each matrix product accumulates in float32 (a split first layer sums
//! its partial products in float32) and is rounded once, and every element-wise op (bias,
//! swish, residual, LayerNorm arithmetic) rounds its result. LayerNorm mean and variance are
//! reduced in float32 and rounded; the grid2mesh segment sum is float32 and rounded
//! (`f32_aggregation=True`), the processor's and mesh2grid's are bfloat16, one rounding per
//! added message in edge order. The static embeddings are computed once in that arithmetic.

use std::ops::Range;
use std::sync::Arc;

use super::block::Block;
use super::graphs::GraphCastGraphs;
use crate::models::graphcast::checkpoint::networks_builder;
use crate::checkpoint::{GraphCastCheckpoint, ParamLoader};
use crate::graph::EdgeSet;
use crate::kernels::bf16::{add_round, round_all, round_bf16, rounded};
use crate::kernels::{gather_add_rows, SegmentPlan};
use crate::nn::layers::sized;
use crate::{Error, Result};

/// How a network arranges its work; results are bitwise the same for every choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadOptions {
    /// Edges per chunk of the edge passes (bounds the per-chunk buffers to this × latent size).
    pub edge_chunk: usize,
    /// Grid or mesh nodes per task of the node passes (embedding, updates, output MLP): each
    /// task runs its rows through the whole MLP while they are in cache.
    pub node_chunk: usize,
    /// Largest static edge embedding kept in memory between calls (bytes); larger ones
    /// (grid↔mesh edges on fine grids) are recomputed chunk by chunk in every pass.
    pub embedding_cache_bytes: usize,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            edge_chunk: 16_384,
            node_chunk: ROW_BLOCK,
            embedding_cache_bytes: 1 << 30,
        }
    }
}

/// One interaction-network edge set: its edge embedder, its receiver plan and, when small
/// enough, its cached static edge latents.
#[derive(Debug, Clone)]
struct EdgeGraph {
    senders: Vec<u32>,
    receivers: Vec<u32>,
    plan: SegmentPlan,
    /// Edge features `[E, 4]`.
    features: Vec<f32>,
    /// The edge embedder `LN(MLP(features))`.
    embedder: Block,
    /// The embedder's output `[E, D]`, if cached.
    embedded: Option<Vec<f32>>,
    /// For an edge set whose latents stay static (grid2mesh, mesh2grid): the edge processor's
    /// first layer on the cached embedding, `[E, D']`, in place of `embedded`.
    first_layer: Option<Vec<f32>>,
}

impl EdgeGraph {
    fn new(
        edges: &EdgeSet,
        n_receivers: usize,
        embedder: Block,
        opts: LoadOptions,
    ) -> Result<EdgeGraph> {
        let n = edges.len();
        // Under the cast the edge features enter the embedder as bfloat16.
        let features = if embedder.cast {
            rounded(&edges.features)
        } else {
            edges.features.clone()
        };
        let bytes = n * embedder.d_out() * std::mem::size_of::<f32>();
        let embedded = (bytes <= opts.embedding_cache_bytes).then(|| {
            let mut out = vec![0.0; n * embedder.d_out()];
            block_rows(&embedder, &features, &mut out, ROW_BLOCK);
            out
        });
        Ok(EdgeGraph {
            senders: edges.senders.clone(),
            receivers: edges.receivers.clone(),
            plan: SegmentPlan::new(&edges.receivers, n_receivers, opts.edge_chunk.max(1))?,
            features,
            embedder,
            embedded,
            first_layer: None,
        })
    }

    /// For a static edge set processed by `block`: replaces the cached embedding `e` by
    /// `block`'s first layer on it (`e·W_e + b`, as an edge pass computes it), which is the same
    /// on every step.
    fn project_static(mut self, block: &Block) -> EdgeGraph {
        let Some(mut e) = self.embedded.take() else {
            return self;
        };
        // The first layer's width is the latent size (every block is loaded with hidden width
        // `d`), so the projection replaces the embedding in place, a task's rows at a time.
        let d = self.embedder.d_out();
        assert_eq!(block.d_first(), d, "edge block first-layer width");
        node_tasks(&mut e, d, ROW_BLOCK, |ts, r, rows| {
            let x = sized(&mut ts.out, rows.len());
            x.copy_from_slice(rows);
            block.first_with_bias(x, r.len(), 0..d, rows);
        });
        self.first_layer = Some(e);
        self
    }

    /// Writes all edge latents `[E, D]` (the processor's starting point) into `buf`.
    fn all_latents_into<'b>(&self, buf: &'b mut Vec<f32>) -> &'b mut [f32] {
        use rayon::prelude::*;
        let out = sized(buf, self.senders.len() * self.embedder.d_out());
        match &self.embedded {
            Some(e) => out
                .par_chunks_mut(1 << 16)
                .zip(e.par_chunks(1 << 16))
                .for_each(|(o, e)| o.copy_from_slice(e)),
            None => block_rows(&self.embedder, &self.features, out, ROW_BLOCK),
        }
        out
    }
}

/// The latents after each stage of one forward pass (the reference's intermediates).
#[derive(Debug, Clone)]
pub struct GraphCastStages {
    /// Mesh node latents after the encoder `[Nm, D]`.
    pub latent_mesh_after_grid2mesh: Vec<f32>,
    /// Grid node latents after the encoder `[Ng, D]`.
    pub latent_grid_after_grid2mesh: Vec<f32>,
    /// Mesh node latents after the processor `[Nm, D]`.
    pub latent_mesh_after_processor: Vec<f32>,
    /// Normalised prediction `[Ng, Cout]`.
    pub decoder_output: Vec<f32>,
}

/// A loaded GraphCast network for one grid.
#[derive(Debug, Clone)]
pub struct GraphCast {
    graphs: Arc<GraphCastGraphs>,
    /// Whether the network computes under the bfloat16 cast.
    cast: bool,
    /// The grid-node structural features rounded to bfloat16 `[Ng, 3]` (under the cast only).
    grid_features_bf16: Option<Vec<f32>>,
    node_chunk: usize,
    cin: usize,
    cout: usize,
    d: usize,
    g2m: EdgeGraph,
    g2m_grid_embed: Block,
    g2m_edges: Block,
    g2m_grid_nodes: Block,
    g2m_mesh_nodes: Block,
    /// `LN(MLP(concat(0, Sm)))`: the mesh-node embedding `[Nm, D]`.
    mesh_embedded: Vec<f32>,
    mesh: EdgeGraph,
    mesh_edges: Vec<Block>,
    mesh_nodes: Vec<Block>,
    m2g: EdgeGraph,
    m2g_edges: Block,
    m2g_grid_nodes: Block,
    /// The output MLP (a block without LayerNorm).
    decoder: Block,
    /// The large buffers of a forward pass, kept between passes.
    buffers: BufferPool,
}

/// The node- and edge-sized buffers of a forward pass. They are kept between passes because
/// writing a freshly allocated buffer first faults in its pages, which costs the later steps of a
/// rollout time on every thread.
#[derive(Default)]
struct Buffers {
    /// Grid latents `[Ng, D]`.
    grid: Vec<f32>,
    /// Mesh latents `[Nm, D]`.
    mesh: Vec<f32>,
    /// Message sums onto the mesh `[Nm, D]`.
    mesh_agg: Vec<f32>,
    /// The processor's edge latents `[E, D]`, then the decoder's message sums onto the grid
    /// `[Ng, D]`: one buffer, as the first is dead when the second is made.
    edges_then_grid_agg: Vec<f32>,
    /// Per-pass buffers of the edge updates.
    scratch: Scratch,
}

/// The [`Buffers`] of a network: one set is taken by a pass and returned after it, so concurrent
/// passes allocate their own.
#[derive(Default)]
struct BufferPool(std::sync::Mutex<Option<Buffers>>);

impl BufferPool {
    fn take(&self) -> Buffers {
        self.0.lock().map(|mut b| b.take()).ok().flatten().unwrap_or_default()
    }

    fn put(&self, b: Buffers) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(b);
        }
    }
}

impl Clone for BufferPool {
    /// A copy of a network starts with no buffers of its own.
    fn clone(&self) -> Self {
        BufferPool::default()
    }
}

impl std::fmt::Debug for BufferPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BufferPool")
    }
}

/// Checks an edge set's arrays and node indices against the node counts.
fn check_edges(name: &str, e: &EdgeSet, n_send: usize, n_recv: usize) -> Result<()> {
    let n = e.senders.len();
    if e.receivers.len() != n || e.features.len() != 4 * n {
        return Err(Error::Invalid(format!(
            "{name} edges: {n} senders, {} receivers and {} feature values (expected 4 per edge)",
            e.receivers.len(),
            e.features.len()
        )));
    }
    if let Some(s) = e.senders.iter().find(|&&s| s as usize >= n_send) {
        return Err(Error::Invalid(format!(
            "{name} edges: sender {s} out of range for {n_send} nodes"
        )));
    }
    if let Some(r) = e.receivers.iter().find(|&&r| r as usize >= n_recv) {
        return Err(Error::Invalid(format!(
            "{name} edges: receiver {r} out of range for {n_recv} nodes"
        )));
    }
    Ok(())
}

impl GraphCast {
    /// Loads the network from a checkpoint for the given graphs; every missing, unexpected and
    /// mis-shaped tensor is reported at once.
    pub fn load(ckpt: &GraphCastCheckpoint, graphs: Arc<GraphCastGraphs>) -> Result<GraphCast> {
        Self::load_with(ckpt, graphs, LoadOptions::default())
    }

    /// [`GraphCast::load`] with the given work arrangement.
    pub fn load_with(
        ckpt: &GraphCastCheckpoint,
        graphs: Arc<GraphCastGraphs>,
        opts: LoadOptions,
    ) -> Result<GraphCast> {
        Self::load_as(ckpt, graphs, opts, false)
    }

    /// [`GraphCast::load_with`] under the bfloat16 cast when `cast`: every parameter is held
    /// rounded to bfloat16 (no float32 copy is kept) and the static embeddings are computed in
    /// the cast's arithmetic.
    pub fn load_as(
        ckpt: &GraphCastCheckpoint,
        graphs: Arc<GraphCastGraphs>,
        opts: LoadOptions,
        cast: bool,
    ) -> Result<GraphCast> {
        let cfg = &ckpt.model_config;
        cfg.check()?;
        let (ng, nm) = (graphs.n_grid, graphs.n_mesh);
        if graphs.grid_node_features.len() != 3 * ng || graphs.mesh_node_features.len() != 3 * nm {
            return Err(Error::Invalid(
                "graphs: node features are not 3 per node".into(),
            ));
        }
        check_edges("grid2mesh", &graphs.grid2mesh, ng, nm)?;
        check_edges("mesh", &graphs.mesh, nm, nm)?;
        check_edges("mesh2grid", &graphs.mesh2grid, nm, ng)?;

        let cin = ckpt.cin()?;
        let cout = ckpt.cout();
        let d = cfg.latent_size;
        let dh = (d, cfg.hidden_layers);
        let mut l = ParamLoader::new(&ckpt.params, &ckpt.path);
        let g = networks_builder("grid2mesh_gnn");
        let g2m_edge_embed = Block::load_as(
            &mut l,
            &format!("{g}encoder_edges_grid2mesh"),
            4,
            dh,
            d,
            true,
            cast,
        );
        let g2m_grid_embed = Block::load_as(
            &mut l,
            &format!("{g}encoder_nodes_grid_nodes"),
            cin + 3,
            dh,
            d,
            true,
            cast,
        );
        let g2m_mesh_embed = Block::load_as(
            &mut l,
            &format!("{g}encoder_nodes_mesh_nodes"),
            cin + 3,
            dh,
            d,
            true,
            cast,
        );
        let g2m_edges = Block::load_as(
            &mut l,
            &format!("{g}processor_edges_0_grid2mesh"),
            3 * d,
            dh,
            d,
            true,
            cast,
        );
        let g2m_grid_nodes = Block::load_as(
            &mut l,
            &format!("{g}processor_nodes_0_grid_nodes"),
            d,
            dh,
            d,
            true,
            cast,
        );
        let g2m_mesh_nodes = Block::load_as(
            &mut l,
            &format!("{g}processor_nodes_0_mesh_nodes"),
            2 * d,
            dh,
            d,
            true,
            cast,
        );
        let p = networks_builder("mesh_gnn");
        let mesh_edge_embed =
            Block::load_as(&mut l, &format!("{p}encoder_edges_mesh"), 4, dh, d, true, cast);
        let mut mesh_edges = Vec::with_capacity(cfg.gnn_msg_steps);
        let mut mesh_nodes = Vec::with_capacity(cfg.gnn_msg_steps);
        for k in 0..cfg.gnn_msg_steps {
            let e = format!("{p}processor_edges_{k}_mesh");
            mesh_edges.push(Block::load_as(&mut l, &e, 3 * d, dh, d, true, cast));
            let n = format!("{p}processor_nodes_{k}_mesh_nodes");
            mesh_nodes.push(Block::load_as(&mut l, &n, 2 * d, dh, d, true, cast));
        }
        let m = networks_builder("mesh2grid_gnn");
        let m2g_edge_embed = Block::load_as(
            &mut l,
            &format!("{m}encoder_edges_mesh2grid"),
            4,
            dh,
            d,
            true,
            cast,
        );
        let m2g_edges = Block::load_as(
            &mut l,
            &format!("{m}processor_edges_0_mesh2grid"),
            3 * d,
            dh,
            d,
            true,
            cast,
        );
        let m2g_grid_nodes = Block::load_as(
            &mut l,
            &format!("{m}processor_nodes_0_grid_nodes"),
            2 * d,
            dh,
            d,
            true,
            cast,
        );
        // The decoder's mesh-node update exists in the checkpoint but its output is unused.
        let _ = Block::load(
            &mut l,
            &format!("{m}processor_nodes_0_mesh_nodes"),
            d,
            dh,
            d,
            true,
        );
        let decoder = Block::load_as(
            &mut l,
            &format!("{m}decoder_nodes_grid_nodes"),
            d,
            dh,
            cout,
            false,
            cast,
        );
        l.finish()?;

        // Mesh nodes receive zeros in place of the stacked inputs: only the structural columns
        // contribute to the first layer.
        let mut mesh_embedded = vec![0.0; nm * d];
        {
            let sm = if cast {
                rounded(&graphs.mesh_node_features)
            } else {
                graphs.mesh_node_features.clone()
            };
            let mut pre = vec![0.0; nm * g2m_mesh_embed.d_first()];
            g2m_mesh_embed.first_with_bias(&sm, nm, cin..cin + 3, &mut pre);
            g2m_mesh_embed.tail(&mut pre, nm, &mut mesh_embedded, &mut Vec::new());
        }
        Ok(GraphCast {
            cast,
            grid_features_bf16: cast.then(|| rounded(&graphs.grid_node_features)),
            g2m: EdgeGraph::new(&graphs.grid2mesh, nm, g2m_edge_embed, opts)?
                .project_static(&g2m_edges),
            mesh: EdgeGraph::new(&graphs.mesh, nm, mesh_edge_embed, opts)?,
            m2g: EdgeGraph::new(&graphs.mesh2grid, ng, m2g_edge_embed, opts)?
                .project_static(&m2g_edges),
            graphs,
            node_chunk: opts.node_chunk.max(1),
            cin,
            cout,
            d,
            g2m_grid_embed,
            g2m_edges,
            g2m_grid_nodes,
            g2m_mesh_nodes,
            mesh_embedded,
            mesh_edges,
            mesh_nodes,
            m2g_edges,
            m2g_grid_nodes,
            decoder,
            buffers: BufferPool::default(),
        })
    }

    /// The graphs the network was loaded for.
    pub fn graphs(&self) -> &Arc<GraphCastGraphs> {
        &self.graphs
    }

    /// Number of stacked input channels `Cin`.
    pub fn cin(&self) -> usize {
        self.cin
    }

    /// Number of output channels `Cout`.
    pub fn cout(&self) -> usize {
        self.cout
    }

    /// Latent width `D`.
    pub fn latent_size(&self) -> usize {
        self.d
    }

    /// One forward pass on the stacked normalised inputs `x` `[Ng, Cin]`, returning every
    /// stage's latents and the normalised prediction `[Ng, Cout]`.
    pub fn forward_stages(&self, x: &[f32]) -> Result<GraphCastStages> {
        let mut stages = None;
        let (out, _) = self.run(x, Some(&mut stages))?;
        match stages {
            Some((m1, g1, m)) => Ok(GraphCastStages {
                latent_mesh_after_grid2mesh: m1,
                latent_grid_after_grid2mesh: g1,
                latent_mesh_after_processor: m,
                decoder_output: out,
            }),
            None => Err(Error::Invalid("GraphCast stages were not recorded".into())),
        }
    }

    /// One forward pass: the normalised prediction `[Ng, Cout]` of the stacked normalised
    /// inputs `x` `[Ng, Cin]`.
    pub fn forward(&self, x: &[f32]) -> Result<Vec<f32>> {
        Ok(self.run(x, None)?.0)
    }

    /// [`GraphCast::forward`] with the seconds spent in the encoder (grid2mesh), the processor
    /// and the decoder (mesh2grid and the output MLP).
    pub fn forward_timed(&self, x: &[f32]) -> Result<(Vec<f32>, [f64; 3])> {
        self.run(x, None)
    }

    /// The forward pass and the seconds of its three stages; copies of the encoder and
    /// processor outputs go to `keep` when given.
    #[allow(clippy::type_complexity)]
    fn run(
        &self,
        x: &[f32],
        keep: Option<&mut Option<(Vec<f32>, Vec<f32>, Vec<f32>)>>,
    ) -> Result<(Vec<f32>, [f64; 3])> {
        let (ng, nm, d, cin) = (self.graphs.n_grid, self.graphs.n_mesh, self.d, self.cin);
        if x.len() != ng * cin {
            return Err(Error::Shape {
                what: "GraphCast stacked inputs [grid nodes, channels]".into(),
                expected: vec![ng, cin],
                found: vec![x.len() / cin.max(1), x.len() % cin.max(1)],
            });
        }
        let mut bufs = self.buffers.take();
        let Buffers {
            grid,
            mesh,
            mesh_agg,
            edges_then_grid_agg,
            scratch,
        } = &mut bufs;
        let mut times = [0f64; 3];
        let t = std::time::Instant::now();

        // Encoder: grid-node embedding from the inputs and the structural features (both
        // rounded to bfloat16 under the cast).
        let g = sized(grid, ng * d);
        let sg = match &self.grid_features_bf16 {
            Some(sg) => sg,
            None => &self.graphs.grid_node_features,
        };
        let b = &self.g2m_grid_embed;
        node_tasks(g, d, self.node_chunk, |ts, rows, out| {
            let n = rows.len();
            let pre = sized(&mut ts.pre, n * b.d_first());
            let xc = &x[rows.start * cin..rows.end * cin];
            if self.cast {
                let xr = sized(&mut ts.out, xc.len());
                xr.iter_mut()
                    .zip(xc)
                    .for_each(|(r, &v)| *r = round_bf16(v));
                b.first_with_bias(xr, n, 0..cin, pre);
            } else {
                b.first_with_bias(xc, n, 0..cin, pre);
            }
            b.first_accumulate(&sg[rows.start * 3..rows.end * 3], n, cin..cin + 3, pre);
            b.tail(pre, n, out, &mut ts.hidden);
        });
        let m0 = &self.mesh_embedded;
        let agg = sized(mesh_agg, nm * d);
        agg.fill(0.0);
        // grid2mesh sums in float32 even under the cast (`f32_aggregation=True`), then rounds.
        edge_pass(
            &self.g2m_edges,
            &self.g2m,
            EdgeLatents::Static,
            (g, m0),
            (d, false),
            agg,
            scratch,
        );
        if self.cast {
            round_all(agg);
        }
        let m = sized(mesh, nm * d);
        m.copy_from_slice(m0);
        node_update(&self.g2m_mesh_nodes, m, Some(agg), (d, self.node_chunk));
        node_update(&self.g2m_grid_nodes, g, None, (d, self.node_chunk));
        let m1 = keep.is_some().then(|| m.to_vec());
        let g1 = keep.is_some().then(|| g.to_vec());

        times[0] = t.elapsed().as_secs_f64();
        let t = std::time::Instant::now();

        // Processor: K interaction-network steps with edge residuals.
        let e = self.mesh.all_latents_into(edges_then_grid_agg);
        for (edges, nodes) in self.mesh_edges.iter().zip(&self.mesh_nodes) {
            agg.iter_mut().for_each(|v| *v = 0.0);
            edge_pass(
                edges,
                &self.mesh,
                EdgeLatents::Carried(e),
                (m, m),
                (d, self.cast),
                agg,
                scratch,
            );
            node_update(nodes, m, Some(agg), (d, self.node_chunk));
        }
        times[1] = t.elapsed().as_secs_f64();
        let t = std::time::Instant::now();

        // Decoder: mesh to grid, then the output MLP.
        let agg_g = sized(edges_then_grid_agg, ng * d);
        zero(agg_g);
        edge_pass(
            &self.m2g_edges,
            &self.m2g,
            EdgeLatents::Static,
            (m, g),
            (d, self.cast),
            agg_g,
            scratch,
        );
        node_update(&self.m2g_grid_nodes, g, Some(agg_g), (d, self.node_chunk));
        let mut out = vec![0.0; ng * self.cout];
        block_rows(&self.decoder, g, &mut out, self.node_chunk);
        check_finite(&out, self.cout, "decoder output")?;
        times[2] = t.elapsed().as_secs_f64();
        if let (Some(k), Some(m1), Some(g1)) = (keep, m1, g1) {
            *k = Some((m1, g1, m.to_vec()));
        }
        self.buffers.put(bufs);
        Ok((out, times))
    }
}

/// Reusable buffers of the edge passes.
#[derive(Default)]
struct Scratch {
    msg: Vec<f32>,
    /// The projections of the larger node set of a pass (the grid nodes in grid2mesh and
    /// mesh2grid), so one grid-sized buffer serves both.
    large: Vec<f32>,
    /// The projections of the other node set.
    small: Vec<f32>,
}

/// Sets `x` to zero in parallel.
fn zero(x: &mut [f32]) {
    use rayon::prelude::*;
    x.par_chunks_mut(1 << 16).for_each(|c| c.fill(0.0));
}

/// The edge latents of an edge pass.
enum EdgeLatents<'a> {
    /// The edge set's static embedding (cached, or recomputed chunk by chunk).
    Static,
    /// Updated in place with the residual `e + msg`, carried into the next step.
    Carried(&'a mut [f32]),
}

/// Rows per task of the edge and node passes: at most one task of the packed product
/// (`8·MR` rows), so each product of a task runs on its thread, and a task's intermediates
/// (`ROW_BLOCK × D` floats each) stay in the core's cache between the passes over them.
const ROW_BLOCK: usize = 112;

/// Per-task buffers of the edge and node passes.
#[derive(Default)]
struct TaskScratch {
    pre: Vec<f32>,
    hidden: Vec<f32>,
    out: Vec<f32>,
    embedded: Vec<f32>,
}

/// One edge pass: `msg = LN(MLP(concat(e, s[snd], r[rcv])))` for every edge, summed onto the
/// receivers into `agg` (each addition rounded to bfloat16 when `bf16_sum`); carried latents
/// become `e + msg` once the chunk's messages exist (rounded under the cast).
///
/// Each chunk of edges is computed in tasks of [`ROW_BLOCK`] edges that run the whole block
/// (product, gathers, activation, second product, LayerNorm, residual) while their rows are in
/// cache; every value is computed exactly as by separate passes over the chunk, so the bits do
/// not depend on the blocking.
fn edge_pass(
    block: &Block,
    graph: &EdgeGraph,
    latents: EdgeLatents<'_>,
    (sender_nodes, receiver_nodes): (&[f32], &[f32]),
    (d, bf16_sum): (usize, bool),
    agg: &mut [f32],
    s: &mut Scratch,
) {
    use rayon::prelude::*;
    let d1 = block.d_first();
    let ns = sender_nodes.len() / d;
    let nr = receiver_nodes.len() / d;
    let proj = |x: &[f32], rows: usize, r: Range<usize>, out: &mut Vec<f32>| {
        let o = sized(out, rows * d1);
        crate::kernels::matmul_packed(x, block.w_rows(r), o, rows, false, None);
    };
    let (s_buf, r_buf) = if ns >= nr {
        (&mut s.large, &mut s.small)
    } else {
        (&mut s.small, &mut s.large)
    };
    proj(sender_nodes, ns, d..2 * d, s_buf);
    proj(receiver_nodes, nr, 2 * d..3 * d, r_buf);
    let (s_proj, r_proj) = (&s_buf[..ns * d1], &r_buf[..nr * d1]);
    // The message rows of the edges `first..` from the edge latents' part of the first layer
    // (in `ts.pre`).
    let finish = |ts: &mut TaskScratch, first: usize, m: &mut [f32]| {
        let n = m.len() / d;
        let pre = &mut ts.pre[..n * d1];
        gather_add_rows(pre, s_proj, &graph.senders[first..first + n], d1);
        gather_add_rows(pre, r_proj, &graph.receivers[first..first + n], d1);
        block.tail(pre, n, m, &mut ts.hidden);
    };
    // The message rows of the edges `first..` from their edge latents `e`.
    let message = |ts: &mut TaskScratch, first: usize, e: &[f32], m: &mut [f32]| {
        let n = m.len() / d;
        block.first_with_bias(e, n, 0..d, sized(&mut ts.pre, n * d1));
        finish(ts, first, m);
    };
    let mut latents = latents;
    for c in 0..graph.plan.n_chunks() {
        let range = graph.plan.chunk_range(c);
        let rows = range.len();
        let msg = sized(&mut s.msg, rows * d);
        let blocks = msg.par_chunks_mut(ROW_BLOCK * d).enumerate();
        match &mut latents {
            EdgeLatents::Carried(all) => {
                let e = all[range.start * d..range.end * d].par_chunks_mut(ROW_BLOCK * d);
                blocks
                    .zip(e)
                    .for_each_init(TaskScratch::default, |ts, ((i, m), e)| {
                        message(ts, range.start + i * ROW_BLOCK, e, m);
                        add_residual(block, e, m);
                    });
            }
            EdgeLatents::Static => {
                blocks.for_each_init(TaskScratch::default, |ts, (i, m)| {
                    let first = range.start + i * ROW_BLOCK;
                    let n = m.len() / d;
                    if let Some(p) = &graph.first_layer {
                        sized(&mut ts.pre, n * d1).copy_from_slice(&p[first * d1..(first + n) * d1]);
                        finish(ts, first, m);
                        return;
                    }
                    let mut embedded = std::mem::take(&mut ts.embedded);
                    let e: &[f32] = match &graph.embedded {
                        Some(all) => &all[first * d..(first + n) * d],
                        None => {
                            let out = sized(&mut embedded, n * d);
                            let f = &graph.features[first * 4..(first + n) * 4];
                            graph
                                .embedder
                                .forward_with(f, n, out, &mut ts.pre, &mut ts.hidden);
                            out
                        }
                    };
                    message(ts, first, e, m);
                    ts.embedded = embedded;
                });
            }
        }
        if bf16_sum {
            graph.plan.accumulate_bf16(c, msg, d, agg);
        } else {
            graph.plan.accumulate(c, msg, d, agg);
        }
    }
}

/// Runs `task(scratch, rows, out_rows)` in parallel over the tasks of `rows` rows of the
/// `[n, width]` buffer `out`.
fn node_tasks(
    out: &mut [f32],
    width: usize,
    rows: usize,
    task: impl Fn(&mut TaskScratch, Range<usize>, &mut [f32]) + Sync,
) {
    use rayon::prelude::*;
    let rows = rows.max(1);
    out.par_chunks_mut(rows * width.max(1))
        .enumerate()
        .for_each_init(TaskScratch::default, |ts, (i, o)| {
            let n = o.len() / width.max(1);
            task(ts, i * rows..i * rows + n, o)
        });
}

/// `out = block(x)` for the rows of `x` (`[n, d_in]`), in parallel tasks of `rows` rows.
fn block_rows(block: &Block, x: &[f32], out: &mut [f32], rows: usize) {
    let d_in = block.mlp.d_in();
    node_tasks(out, block.d_out(), rows, |ts, r, o| {
        let x = &x[r.start * d_in..r.end * d_in];
        block.forward_with(x, r.len(), o, &mut ts.pre, &mut ts.hidden);
    });
}

/// The residual `x ← x + y` of `block`'s output `y` (rounded under the cast).
fn add_residual(block: &Block, x: &mut [f32], y: &[f32]) {
    if block.cast {
        add_round(x, y);
    } else {
        for (r, &v) in x.iter_mut().zip(y) {
            *r += v;
        }
    }
}

/// `nodes ← nodes + LN(MLP(concat(nodes, agg)))` (or of `nodes` alone when `agg` is `None`),
/// in tasks of `rows` rows; under the cast the sum is rounded.
fn node_update(
    block: &Block,
    nodes: &mut [f32],
    agg: Option<&[f32]>,
    (d, rows): (usize, usize),
) {
    let d1 = block.d_first();
    node_tasks(nodes, d, rows, |ts, r, x| {
        let n = r.len();
        let pre = sized(&mut ts.pre, n * d1);
        block.first_with_bias(x, n, 0..d, pre);
        if let Some(a) = agg {
            block.first_accumulate(&a[r.start * d..r.end * d], n, d..2 * d, pre);
        }
        let out = sized(&mut ts.out, n * d);
        block.tail(pre, n, out, &mut ts.hidden);
        add_residual(block, x, out);
    });
}

#[cfg(all(test, feature = "bench"))]
#[path = "network_tests.rs"]
mod tests;

/// Fails with the first non-finite value of a `[rows, width]` buffer.
fn check_finite(x: &[f32], width: usize, stage: &str) -> Result<()> {
    match x.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(i) => Err(Error::NonFinite {
            stage: format!("GraphCast {stage}"),
            detail: format!(
                "value {} at grid node {}, channel {}",
                x[i],
                i / width.max(1),
                i % width.max(1)
            ),
        }),
    }
}
