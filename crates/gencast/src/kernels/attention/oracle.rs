//! The per-node form of the attention, the oracle the plan is tested against: each query's
//! neighbours sorted by rank, with exactly the arithmetic of the module documentation.

use super::{lane_tree_sum, Dims, TILE};
use crate::kernels::activation::exp_f32;
use crate::kernels::isa::{active, multiversion};
use rayon::prelude::*;

/// Query nodes per parallel task of [`sparse_attention`].
const NODES_PER_TASK: usize = 4;

/// Per-node attention for the query nodes `first..first + out.len()/(H·dh)`, each over its
/// neighbours sorted by `rank` (the arithmetic of the module documentation).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(super) fn reference_nodes_generic(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    dm: Dims,
    offsets: &[u32],
    indices: &[u32],
    rank: &[u32],
    first: usize,
    out: &mut [f32],
    nb: &mut Vec<(u32, u32)>,
    e: &mut Vec<f32>,
) {
    let width = dm.heads * dm.dh;
    for (local, orow) in out.chunks_mut(width).enumerate() {
        let i = first + local;
        nb.clear();
        nb.extend(
            indices[offsets[i] as usize..offsets[i + 1] as usize]
                .iter()
                .map(|&j| (rank[j as usize], j)),
        );
        nb.sort_unstable();
        e.clear();
        e.resize(nb.len(), 0.0);
        for h in 0..dm.heads {
            let c0 = h * dm.dh;
            let qi = &q[i * dm.stride + c0..i * dm.stride + c0 + dm.dh];
            for (x, &(_, j)) in e.iter_mut().zip(nb.iter()) {
                let kj = &k[j as usize * dm.stride + c0..j as usize * dm.stride + c0 + dm.dh];
                let mut acc = 0.0f32;
                for (&a, &b) in qi.iter().zip(kj) {
                    acc = a.mul_add(b, acc);
                }
                *x = acc * dm.scale;
            }
            let mx = e
                .iter()
                .fold(f32::NEG_INFINITY, |m, &x| if x > m { x } else { m });
            let mut lanes = [0.0f32; TILE];
            for (x, &(r, _)) in e.iter_mut().zip(nb.iter()) {
                *x = exp_f32(*x - mx);
                lanes[r as usize % TILE] += *x;
            }
            let sum = lane_tree_sum(lanes);
            let o = &mut orow[c0..c0 + dm.dh];
            o.fill(0.0);
            for (x, &(_, j)) in e.iter().zip(nb.iter()) {
                let a = *x / sum;
                let vj = &v[j as usize * dm.stride + c0..j as usize * dm.stride + c0 + dm.dh];
                for (oc, &vc) in o.iter_mut().zip(vj) {
                    *oc = a.mul_add(vc, *oc);
                }
            }
        }
    }
}

multiversion! {
    /// [`reference_nodes_generic`] compiled for `isa`.
    pub(super) fn reference_nodes(
        q: &[f32],
        k: &[f32],
        v: &[f32],
        dm: Dims,
        offsets: &[u32],
        indices: &[u32],
        rank: &[u32],
        first: usize,
        out: &mut [f32],
        nb: &mut Vec<(u32, u32)>,
        e: &mut Vec<f32>,
    ) = reference_nodes_generic;
}

/// Sparse multi-head attention, node by node (the simple form of [`AttentionPlan::attend_in`]).
///
/// `q`, `k` and `v` hold row `i` at `[i·stride, i·stride + heads·dh)` (so one fused `[N, 3D]`
/// projection buffer can be passed three times with different starting offsets); heads are
/// head-major inside a row (column `h·dh + d`). `offsets`/`indices` give each node's neighbours
/// (see [`validate_csr`]), without repeats; `rank` orders the keys (a permutation of `0..N`,
/// e.g. [`AttentionPlan::rank`], with which the results are bitwise those of the plan). Writes
/// `out` `[N, heads·dh]`.
///
/// # Panics
/// If the buffers are too short for `N = offsets.len() − 1` rows or `rank` has fewer entries.
#[allow(clippy::too_many_arguments)]
pub(super) fn sparse_attention(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    stride: usize,
    heads: usize,
    dh: usize,
    offsets: &[u32],
    indices: &[u32],
    rank: &[u32],
    out: &mut [f32],
) {
    let n = offsets.len().saturating_sub(1);
    let dm = Dims::new(n, q, k, v, stride, heads, dh, out);
    assert!(
        rank.len() >= n,
        "attention: {} ranks for {n} nodes",
        rank.len()
    );
    let isa = active();
    out.par_chunks_mut(heads * dh * NODES_PER_TASK)
        .enumerate()
        .for_each_init(
            || (Vec::new(), Vec::new()),
            |(nb, e), (t, ob)| {
                let first = t * NODES_PER_TASK;
                reference_nodes(isa, q, k, v, dm, offsets, indices, rank, first, ob, nb, e)
            },
        );
}
