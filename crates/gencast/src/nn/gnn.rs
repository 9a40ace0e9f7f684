//! Pieces shared by the grid2mesh and mesh2grid GNNs: structural-feature inputs, cached static
//! edge embeddings and the chunked edge update with its segment sum.
//!
//! The edge processor's first layer acts on `[edge, sender, receiver]`. Its weight splits into
//! three row blocks, so `concat·W = edge·W_e + sender·W_s + receiver·W_r`: the sender and receiver
//! terms are computed once per node and gathered per edge.

use super::layers::{sized, CondAffine, CondBlock};
use crate::graph::EdgeSet;
use crate::kernels::{
    AttentionBuffers,
    affine_rows_into, gather_add_rows, layer_norm_rows, matmul_packed, Act, PackedRef, SegmentPlan,
};
use rayon::prelude::*;

/// Sizes of the work chunks and the memory allowed for cached static embeddings.
#[derive(Debug, Clone, Copy)]
pub struct ChunkSizes {
    /// Edges processed per chunk.
    pub edges: usize,
    /// Grid nodes processed per chunk.
    pub nodes: usize,
    /// Largest total size in bytes of the cached static edge embeddings; above it they are
    /// recomputed on every call.
    pub cache_bytes: usize,
}

impl Default for ChunkSizes {
    fn default() -> Self {
        ChunkSizes {
            edges: 4096,
            nodes: 2048,
            cache_bytes: 3 << 30,
        }
    }
}

/// `pre[r] += bias + Σ_i feats[r,i]·w3[i]` for the 3 structural node features of each row.
pub fn add_struct_rows(pre: &mut [f32], feats: &[f32], w3: &[f32], bias: Option<&[f32]>, d: usize) {
    pre.par_chunks_mut(d)
        .with_min_len(32)
        .zip(feats.par_chunks(3))
        .for_each(|(row, f)| {
            for (c, v) in row.iter_mut().enumerate() {
                let s = f[0] * w3[c] + f[1] * w3[d + c] + f[2] * w3[2 * d + c];
                *v += s + bias.map_or(0.0, |b| b[c]);
            }
        });
}

/// The edge embedder `Cond(LN(MLP(features4)))`, with `LN(MLP(·))` (independent of the noise
/// level) optionally cached for the whole edge set.
#[derive(Debug, Clone)]
pub struct EdgeEmbedder {
    /// The embedder block.
    pub block: CondBlock,
    /// `LN(MLP(features))` for every edge, `[E, D]`, when cached.
    pub cache: Option<Vec<f32>>,
}

impl EdgeEmbedder {
    /// Wraps `block`, without a cache.
    pub fn new(block: CondBlock) -> EdgeEmbedder {
        EdgeEmbedder { block, cache: None }
    }

    /// Computes (when `cache` is set) or drops the cache for `edges`.
    pub fn prepare(&mut self, edges: &EdgeSet, cache: bool, chunk: usize) {
        self.cache = None;
        if !cache {
            return;
        }
        let d = self.block.d_out();
        let n = edges.len();
        let mut all = vec![0.0f32; n * d];
        let (mut pre, mut scratch) = (Vec::new(), Vec::new());
        for start in (0..n).step_by(chunk.max(1)) {
            let end = (start + chunk).min(n);
            self.compute(
                &edges.features[start * 4..end * 4],
                end - start,
                &mut all[start * d..end * d],
                &mut pre,
                &mut scratch,
            );
        }
        self.cache = Some(all);
    }

    fn compute(
        &self,
        feats: &[f32],
        rows: usize,
        out: &mut [f32],
        pre: &mut Vec<f32>,
        scratch: &mut Vec<f32>,
    ) {
        let d = self.block.d_out();
        self.block.mlp.forward(feats, rows, out, pre, scratch);
        layer_norm_rows(&mut out[..rows * d], d);
    }

    /// Writes the conditioned embeddings of edges `range` into `out` `[range.len(), D]`.
    pub fn embed(
        &self,
        edges: &EdgeSet,
        range: std::ops::Range<usize>,
        aff: &CondAffine,
        out: &mut [f32],
        pre: &mut Vec<f32>,
        scratch: &mut Vec<f32>,
    ) {
        let d = self.block.d_out();
        let rows = range.len();
        match &self.cache {
            Some(c) => affine_rows_into(
                &c[range.start * d..range.end * d],
                out,
                d,
                &aff.scale,
                &aff.offset,
            ),
            None => {
                self.compute(
                    &edges.features[range.start * 4..range.end * 4],
                    rows,
                    out,
                    pre,
                    scratch,
                );
                let o = &mut out[..rows * d];
                o.par_chunks_mut(d).with_min_len(64).for_each(|r| {
                    for ((v, &s), &b) in r.iter_mut().zip(&aff.scale).zip(&aff.offset) {
                        *v = *v * s + b;
                    }
                });
            }
        }
    }
}

/// Reusable buffers of the edge update.
#[derive(Default, Debug)]
pub struct EdgeBuffers {
    /// The messages of a chunk of edges.
    pub(crate) msg: Vec<f32>,
}

/// Everything the chunked edge update needs.
pub struct EdgePass<'a> {
    /// The edge set (senders, receivers, features).
    pub edges: &'a EdgeSet,
    /// Its receiver-grouped chunk plan.
    pub plan: &'a SegmentPlan,
    /// The edge embedder and its conditioning.
    pub embed: (&'a EdgeEmbedder, &'a CondAffine),
    /// The edge processor and its conditioning.
    pub proc: (&'a CondBlock, &'a CondAffine),
    /// `sender_latent·W_s`, `[n_senders, D']`.
    pub sender_proj: &'a [f32],
    /// `receiver_latent·W_r + b`, `[n_receivers, D']`.
    pub receiver_proj: &'a [f32],
}

impl EdgePass<'_> {
    /// Computes every edge message and writes their per-receiver sums (in edge order) into
    /// `agg` `[n_receivers, D]`.
    pub fn run(&self, bufs: &mut EdgeBuffers, agg: &mut Vec<f32>) {
        let (embedder, aff_e) = self.embed;
        let (proc, aff_p) = self.proc;
        let d = embedder.block.d_out();
        let dp = proc.mlp.d_first();
        let dout = proc.d_out();
        let first = &proc.mlp.layers[0];
        let w_e = first.w_rows(0..d);
        let agg = sized(agg, self.plan.n_receivers() * dout);
        agg.fill(0.0);
        for c in 0..self.plan.n_chunks() {
            let range = self.plan.chunk_range(c);
            let msg = sized(&mut bufs.msg, range.len() * dout);
            // Blocks of `EDGES_PER_TASK` edges, each taken on one thread through the whole
            // update while its rows are in cache; every operation works row by row, so the
            // values do not depend on the blocking.
            msg.par_chunks_mut(EDGES_PER_TASK * dout)
                .enumerate()
                .for_each_init(TaskBuffers::default, |b, (i, m)| {
                    let lo = range.start + i * EDGES_PER_TASK;
                    let rows = m.len() / dout;
                    let e0 = sized(&mut b.e0, rows * d);
                    embedder.embed(
                        self.edges,
                        lo..lo + rows,
                        aff_e,
                        e0,
                        &mut b.pre,
                        &mut b.scratch,
                    );
                    let pre = sized(&mut b.pre, rows * dp);
                    matmul_packed(e0, w_e, pre, rows, false, None);
                    gather_add_rows(pre, self.sender_proj, &self.edges.senders[lo..lo + rows], dp);
                    gather_add_rows(
                        pre,
                        self.receiver_proj,
                        &self.edges.receivers[lo..lo + rows],
                        dp,
                    );
                    proc.tail(pre, rows, aff_p, m, &mut b.scratch);
                });
            self.plan.accumulate(c, msg, dout, agg);
        }
    }
}

/// Edges per task of the edge update: one task of the packed product (`8·MR` rows), whose
/// intermediates (about 230 KB each at width 512) stay in the core's cache.
const EDGES_PER_TASK: usize = 112;

/// Per-task buffers of the edge update.
#[derive(Default)]
struct TaskBuffers {
    e0: Vec<f32>,
    pre: Vec<f32>,
    scratch: Vec<f32>,
}

/// `dst = a + b` element-wise (residual connections).
pub fn add_into(dst: &mut [f32], a: &[f32], b: &[f32]) {
    dst.par_chunks_mut(4096)
        .zip(a.par_chunks(4096).zip(b.par_chunks(4096)))
        .for_each(|(o, (x, y))| {
            for ((o, &x), &y) in o.iter_mut().zip(x).zip(y) {
                *o = x + y;
            }
        });
}

/// `out = x·w (+ bias)` for all rows of `x` `[rows, w.k()]`: a `[rows, w.n()]` table.
pub fn project(x: &[f32], rows: usize, w: PackedRef<'_>, bias: Option<&[f32]>, out: &mut Vec<f32>) {
    let out = sized(out, rows * w.n());
    matmul_packed(x, w, out, rows, false, Some((bias, Act::Identity)));
}

/// Buffers reused by every call of the network, so that repeated calls do not allocate (and
/// page-fault) their large intermediate arrays again.
#[derive(Default, Debug)]
pub struct Workspace {
    /// Encoder output: grid latents `[Ng, D]`.
    pub latent_grid: Vec<f32>,
    /// Encoder output, then the processor's state: mesh latents `[Nm, D]`.
    pub latent_mesh: Vec<f32>,
    /// Processor output `[Nm, D]`.
    pub mesh_out: Vec<f32>,
    /// Sender projections of the current edge set.
    pub sender_proj: Vec<f32>,
    /// Receiver projections of the current edge set.
    pub receiver_proj: Vec<f32>,
    /// Per-receiver message sums.
    pub agg: Vec<f32>,
    /// Conditioned mesh embeddings `[Nm, D]`.
    pub m0: Vec<f32>,
    /// First-layer pre-activations of a chunk.
    pub pre: Vec<f32>,
    /// Hidden activations of a chunk.
    pub scratch: Vec<f32>,
    /// Chunk temporary.
    pub tmp_a: Vec<f32>,
    /// Chunk temporary.
    pub tmp_b: Vec<f32>,
    /// Transformer feed-forward hidden activations `[Nm, F]`.
    pub ffw: Vec<f32>,
    /// Transformer q/k/v `[Nm, 3D]`.
    pub qkv: Vec<f32>,
    /// The attention's packed keys and values.
    pub attention: AttentionBuffers,
    /// Edge-update buffers.
    pub edge: EdgeBuffers,
}
