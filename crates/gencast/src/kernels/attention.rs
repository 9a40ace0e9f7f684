//! Multi-head softmax attention restricted to per-node neighbourhoods (CSR lists).
//!
//! For query node `i`, head `h`: `s_j = (q_ih · k_jh)/sqrt(dh)` over the neighbours `j` of `i`,
//! `a_j = exp(s_j − max s)/Σ exp(s − max s)` and `o_ih = Σ_j a_j v_jh`. This is the masked
//! attention of the reference's `mha`, `triblockdiag_mha` and `splash_mha` paths alike, since
//! masked entries contribute exactly zero there.

use super::activation::exp_f32;
use crate::{Error, Result};
use rayon::prelude::*;

/// Query nodes per parallel task.
const NODES_PER_TASK: usize = 4;

/// Checks a CSR neighbourhood structure over `n` nodes: `offsets` has `n+1` non-decreasing
/// entries starting at 0 and ending at `indices.len()`, every index is `< n`, and no row is empty.
pub fn validate_csr(offsets: &[u32], indices: &[u32], n: usize) -> Result<()> {
    let bad = |d: String| Err(Error::Invalid(format!("attention neighbourhoods: {d}")));
    if offsets.len() != n + 1 {
        return bad(format!("{} offsets for {n} nodes", offsets.len()));
    }
    if offsets[0] != 0 || offsets[n] as usize != indices.len() {
        return bad(format!(
            "offsets run from {} to {}, indices hold {}",
            offsets[0],
            offsets[n],
            indices.len()
        ));
    }
    if let Some(i) = (0..n).find(|&i| offsets[i + 1] <= offsets[i]) {
        return bad(format!("node {i} has no neighbours or decreasing offsets"));
    }
    if let Some(j) = indices.iter().find(|&&j| j as usize >= n) {
        return bad(format!("neighbour index {j} out of range for {n} nodes"));
    }
    Ok(())
}

/// Dot product with 16 independent partial sums, combined in a fixed order.
#[inline(always)]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 16];
    let ca = a.chunks_exact(16);
    let cb = b.chunks_exact(16);
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for l in 0..16 {
            acc[l] += x[l] * y[l];
        }
    }
    let mut tail = 0.0f32;
    for (x, y) in ra.iter().zip(rb) {
        tail += x * y;
    }
    let mut s8 = [0.0f32; 8];
    for l in 0..8 {
        s8[l] = acc[l] + acc[l + 8];
    }
    let s4 = [s8[0] + s8[4], s8[1] + s8[5], s8[2] + s8[6], s8[3] + s8[7]];
    ((s4[0] + s4[2]) + (s4[1] + s4[3])) + tail
}

/// Shapes shared by the per-node work.
#[derive(Clone, Copy)]
struct Dims {
    stride: usize,
    heads: usize,
    dh: usize,
    scale: f32,
}

/// Attention output for the query nodes `first..first + out.len()/(H·dh)`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn nodes_generic(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    dm: Dims,
    offsets: &[u32],
    indices: &[u32],
    first: usize,
    out: &mut [f32],
    logits: &mut Vec<f32>,
) {
    let width = dm.heads * dm.dh;
    for (local, orow) in out.chunks_mut(width).enumerate() {
        let i = first + local;
        let nb = &indices[offsets[i] as usize..offsets[i + 1] as usize];
        let n = nb.len();
        logits.clear();
        logits.resize(dm.heads * n, 0.0);
        let qi = &q[i * dm.stride..i * dm.stride + width];
        for (jj, &j) in nb.iter().enumerate() {
            let kj = &k[j as usize * dm.stride..j as usize * dm.stride + width];
            for h in 0..dm.heads {
                let r = h * dm.dh..(h + 1) * dm.dh;
                logits[h * n + jj] = dot(&qi[r.clone()], &kj[r]) * dm.scale;
            }
        }
        for h in 0..dm.heads {
            let l = &mut logits[h * n..(h + 1) * n];
            let mx = max_lanes(l);
            let sum = exp_shift_sum(l, mx);
            for x in l.iter_mut() {
                *x /= sum;
            }
        }
        orow.fill(0.0);
        for (jj, &j) in nb.iter().enumerate() {
            let vj = &v[j as usize * dm.stride..j as usize * dm.stride + width];
            for h in 0..dm.heads {
                let a = logits[h * n + jj];
                let r = h * dm.dh..(h + 1) * dm.dh;
                for (o, &x) in orow[r.clone()].iter_mut().zip(&vj[r]) {
                    *o += a * x;
                }
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
unsafe fn nodes_avx512(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    dm: Dims,
    offsets: &[u32],
    indices: &[u32],
    first: usize,
    out: &mut [f32],
    logits: &mut Vec<f32>,
) {
    nodes_generic(q, k, v, dm, offsets, indices, first, out, logits)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[allow(clippy::too_many_arguments)]
unsafe fn nodes_avx2(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    dm: Dims,
    offsets: &[u32],
    indices: &[u32],
    first: usize,
    out: &mut [f32],
    logits: &mut Vec<f32>,
) {
    nodes_generic(q, k, v, dm, offsets, indices, first, out, logits)
}

/// Sparse multi-head attention.
///
/// `q`, `k` and `v` hold row `i` at `[i·stride, i·stride + heads·dh)` (so one fused `[N, 3D]`
/// projection buffer can be passed three times with different starting offsets); heads are
/// head-major inside a row (column `h·dh + d`). `offsets`/`indices` give each node's neighbours
/// (see [`validate_csr`]). Writes `out` `[N, heads·dh]`.
///
/// # Panics
/// If the buffers are too short for `N = offsets.len() − 1` rows.
#[allow(clippy::too_many_arguments)]
pub fn sparse_attention(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    stride: usize,
    heads: usize,
    dh: usize,
    offsets: &[u32],
    indices: &[u32],
    out: &mut [f32],
) {
    let n = offsets.len().saturating_sub(1);
    let width = heads * dh;
    assert!(
        width > 0 && stride >= width,
        "attention: stride {stride} < width {width}"
    );
    let need = if n == 0 { 0 } else { (n - 1) * stride + width };
    assert!(
        q.len() >= need && k.len() >= need && v.len() >= need,
        "attention: q/k/v rows"
    );
    assert_eq!(out.len(), n * width, "attention: output rows");
    let dm = Dims {
        stride,
        heads,
        dh,
        scale: (1.0 / (dh as f64).sqrt()) as f32,
    };
    #[cfg(target_arch = "x86_64")]
    let level = if std::arch::is_x86_feature_detected!("avx512f") {
        2
    } else if std::arch::is_x86_feature_detected!("avx2") {
        1
    } else {
        0
    };
    out.par_chunks_mut(width * NODES_PER_TASK)
        .enumerate()
        .for_each_init(Vec::new, |logits, (t, ob)| {
            let first = t * NODES_PER_TASK;
            #[cfg(target_arch = "x86_64")]
            {
                if level == 2 {
                    // SAFETY: the CPU supports AVX-512F (checked above).
                    return unsafe {
                        nodes_avx512(q, k, v, dm, offsets, indices, first, ob, logits)
                    };
                }
                if level == 1 {
                    // SAFETY: the CPU supports AVX2 (checked above).
                    return unsafe { nodes_avx2(q, k, v, dm, offsets, indices, first, ob, logits) };
                }
            }
            nodes_generic(q, k, v, dm, offsets, indices, first, ob, logits)
        });
}

/// Candidate numbers of queries per block of the blocked attention.
pub const QUERY_BLOCKS: [usize; 4] = [32, 64, 128, 256];

/// One block of queries with the union of their neighbourhoods.
#[derive(Clone, Debug)]
struct AttnBlock {
    /// Key nodes: the union of the queries' neighbours, ascending; empty when the block uses
    /// the contiguous range `range` of nodes directly (no gather).
    keys: Vec<u32>,
    /// First node and number of nodes of the key range covering every neighbour.
    range: (u32, u32),
    /// `row_off[r]..row_off[r+1]` indexes `pos` for the block's query `r`.
    row_off: Vec<u32>,
    /// Position in `keys` of each neighbour, in the neighbourhood's order.
    pos: Vec<u32>,
}

impl AttnBlock {
    fn n_keys(&self) -> usize {
        if self.keys.is_empty() {
            self.range.1 as usize
        } else {
            self.keys.len()
        }
    }
}

/// Precomputed blocking of a CSR neighbourhood structure for [`AttentionPlan::attend`]: the
/// query nodes are cut into blocks; each block gathers the union of its queries' neighbours and
/// runs dense products over it, with the entries outside each query's neighbourhood left out
/// of the softmax (they get weight exactly zero, as in the reference's masked attention).
#[derive(Clone, Debug, Default)]
pub struct AttentionPlan {
    n: usize,
    /// Query order: block `b` holds `order[b·QB .. (b+1)·QB]`.
    order: Vec<u32>,
    /// `inv[order[t]] = t`.
    inv: Vec<u32>,
    block: usize,
    blocks: Vec<AttnBlock>,
    /// Whether `order` is `0, 1, …, n−1`.
    identity: bool,
}

impl AttentionPlan {
    /// Builds the plan for neighbourhoods `offsets`/`indices` over `n` nodes, with query blocks
    /// of consecutive nodes. The block size is the candidate with the lowest estimated cost:
    /// dense products grow with the block's key set, per-block overheads (packing, gathers)
    /// shrink with the number of queries sharing them.
    pub fn new(offsets: &[u32], indices: &[u32], n: usize) -> Result<AttentionPlan> {
        validate_csr(offsets, indices, n)?;
        let order: Vec<u32> = (0..n as u32).collect();
        let cost = |p: &AttentionPlan| p.dense_pairs() as f64 * (1.0 + 64.0 / p.block as f64);
        let mut best: Option<AttentionPlan> = None;
        for qb in QUERY_BLOCKS {
            let p = Self::with_order(offsets, indices, order.clone(), qb);
            if best.as_ref().is_none_or(|b| cost(&p) < cost(b)) {
                best = Some(p);
            }
        }
        Ok(best.unwrap_or_default())
    }

    /// Number of queries per block.
    pub fn block_size(&self) -> usize {
        self.block
    }

    fn with_order(
        offsets: &[u32],
        indices: &[u32],
        order: Vec<u32>,
        block: usize,
    ) -> AttentionPlan {
        let n = order.len();
        let mut inv = vec![0u32; n];
        for (t, &i) in order.iter().enumerate() {
            inv[i as usize] = t as u32;
        }
        let blocks = order
            .par_chunks(block)
            .map(|qs| {
                let mut keys: Vec<u32> = qs
                    .iter()
                    .flat_map(|&i| {
                        &indices[offsets[i as usize] as usize..offsets[i as usize + 1] as usize]
                    })
                    .copied()
                    .collect();
                keys.sort_unstable();
                keys.dedup();
                let lo = keys.first().copied().unwrap_or(0);
                let len = keys.last().map_or(0, |&hi| hi - lo + 1);
                // A contiguous key range needs no gather: use it unless it is much larger.
                if (len as usize) * 4 <= keys.len() * 5 {
                    keys.clear();
                }
                let mut row_off = vec![0u32];
                let mut pos = Vec::new();
                for &i in qs {
                    let nb =
                        &indices[offsets[i as usize] as usize..offsets[i as usize + 1] as usize];
                    for &j in nb {
                        if keys.is_empty() {
                            pos.push(j - lo);
                        } else {
                            // `keys` holds every neighbour, so the search always succeeds.
                            pos.push(keys.binary_search(&j).unwrap_or(0) as u32);
                        }
                    }
                    row_off.push(pos.len() as u32);
                }
                AttnBlock {
                    keys,
                    range: (lo, len),
                    row_off,
                    pos,
                }
            })
            .collect();
        let identity = order.iter().enumerate().all(|(t, &i)| i as usize == t);
        AttentionPlan {
            n,
            order,
            inv,
            block,
            blocks,
            identity,
        }
    }

    /// Number of nodes.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Total number of (query, key) products per head, including the masked ones.
    pub fn dense_pairs(&self) -> usize {
        self.blocks
            .iter()
            .map(|b| b.n_keys() * (b.row_off.len() - 1))
            .sum()
    }

    /// Sparse multi-head attention with the same inputs and result as [`sparse_attention`]
    /// (up to summation order), computed block by block with dense products.
    #[allow(clippy::too_many_arguments)]
    pub fn attend(
        &self,
        q: &[f32],
        k: &[f32],
        v: &[f32],
        stride: usize,
        heads: usize,
        dh: usize,
        out: &mut [f32],
    ) {
        let n = self.n;
        let width = heads * dh;
        assert!(
            width > 0 && stride >= width,
            "attention: stride {stride} < width {width}"
        );
        let need = if n == 0 { 0 } else { (n - 1) * stride + width };
        assert!(
            q.len() >= need && k.len() >= need && v.len() >= need,
            "attention: q/k/v rows"
        );
        assert_eq!(out.len(), n * width, "attention: output rows");
        if n == 0 {
            return;
        }
        let scale = (1.0 / (dh as f64).sqrt()) as f32;
        if self.identity {
            // Blocks of consecutive nodes write their rows of `out` directly.
            out.par_chunks_mut(self.block * width)
                .zip(self.blocks.par_iter())
                .zip(self.order.par_chunks(self.block))
                .for_each_init(BlockScratch::default, |sc, ((ob, blk), qs)| {
                    attend_block(q, k, v, stride, heads, dh, scale, qs, blk, ob, sc);
                });
            return;
        }
        // Outputs in block order, then scattered back to node order.
        let mut permuted = vec![0.0f32; n * width];
        permuted
            .par_chunks_mut(self.block * width)
            .zip(self.blocks.par_iter())
            .zip(self.order.par_chunks(self.block))
            .for_each_init(BlockScratch::default, |sc, ((ob, blk), qs)| {
                attend_block(q, k, v, stride, heads, dh, scale, qs, blk, ob, sc);
            });
        out.par_chunks_mut(width)
            .with_min_len(64)
            .zip(self.inv.par_iter())
            .for_each(|(row, &t)| {
                let t = t as usize;
                row.copy_from_slice(&permuted[t * width..(t + 1) * width]);
            });
    }
}

/// Lanes of the vectorised reductions (one AVX-512 register of `f32`).
const LANES: usize = 16;

/// Sums 16 lane accumulators in a fixed pairwise tree.
#[inline(always)]
fn lane_tree_sum(acc: [f32; LANES]) -> f32 {
    let mut s8 = [0.0f32; 8];
    for l in 0..8 {
        s8[l] = acc[l] + acc[l + 8];
    }
    let s4 = [s8[0] + s8[4], s8[1] + s8[5], s8[2] + s8[6], s8[3] + s8[7]];
    (s4[0] + s4[2]) + (s4[1] + s4[3])
}

/// Largest value of `x` (`-inf` when empty), through 16 lane maxima.
#[inline(always)]
fn max_lanes(x: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; LANES];
    let chunks = x.chunks_exact(LANES);
    let tail = chunks.remainder();
    for c in chunks {
        for l in 0..LANES {
            acc[l] = if c[l] > acc[l] { c[l] } else { acc[l] };
        }
    }
    let mut m = f32::NEG_INFINITY;
    for &v in acc.iter().chain(tail) {
        m = if v > m { v } else { m };
    }
    m
}

/// `x[i] = e^(x[i] − mx)` for every `i`, returning their sum: 16 lane sums (lane `l` adds the
/// elements `i ≡ l mod 16` in order), combined in a fixed tree, then the tail in order.
#[inline(always)]
fn exp_shift_sum(x: &mut [f32], mx: f32) -> f32 {
    for v in x.iter_mut() {
        *v = exp_f32(*v - mx);
    }
    let mut acc = [0.0f32; LANES];
    let chunks = x.chunks_exact(LANES);
    let tail = chunks.remainder();
    for c in chunks {
        for l in 0..LANES {
            acc[l] += c[l];
        }
    }
    let mut sum = lane_tree_sum(acc);
    for &v in tail {
        sum += v;
    }
    sum
}

/// Replaces each row `r` of the `[rows, nu]` score matrix `s` by its softmax over the columns
/// `pos[row_off[r]..row_off[r+1]]` of the scaled scores `s·scale`; the other columns become 0.
#[inline(always)]
fn softmax_rows_generic(
    s: &mut [f32],
    nu: usize,
    row_off: &[u32],
    pos: &[u32],
    scale: f32,
    vals: &mut Vec<f32>,
) {
    for (r, srow) in s.chunks_exact_mut(nu).enumerate() {
        let sel = &pos[row_off[r] as usize..row_off[r + 1] as usize];
        // One vectorised check makes the unchecked (vectorisable) gather below sound.
        assert!(
            sel.iter().fold(0, |m, &p| m.max(p)) < nu as u32,
            "attention: key position out of range"
        );
        let v = grow(vals, sel.len());
        for (x, &p) in v.iter_mut().zip(sel) {
            // SAFETY: every position is < nu = srow.len() (asserted above).
            *x = unsafe { *srow.get_unchecked(p as usize) } * scale;
        }
        let mx = max_lanes(v);
        let sum = exp_shift_sum(v, mx);
        for x in v.iter_mut() {
            *x /= sum;
        }
        srow.fill(0.0);
        for (&x, &p) in v.iter().zip(sel) {
            // SAFETY: as above.
            unsafe { *srow.get_unchecked_mut(p as usize) = x };
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn softmax_rows_avx512(
    s: &mut [f32],
    nu: usize,
    row_off: &[u32],
    pos: &[u32],
    scale: f32,
    vals: &mut Vec<f32>,
) {
    softmax_rows_generic(s, nu, row_off, pos, scale, vals)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn softmax_rows_avx2(
    s: &mut [f32],
    nu: usize,
    row_off: &[u32],
    pos: &[u32],
    scale: f32,
    vals: &mut Vec<f32>,
) {
    softmax_rows_generic(s, nu, row_off, pos, scale, vals)
}

/// [`softmax_rows_generic`] compiled for the best instruction set of the CPU; all variants
/// return the same bits (the lane structure is explicit and no multiply-add is fused).
fn softmax_rows(
    s: &mut [f32],
    nu: usize,
    row_off: &[u32],
    pos: &[u32],
    scale: f32,
    vals: &mut Vec<f32>,
) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU supports the features this variant was compiled for.
            return unsafe { softmax_rows_avx512(s, nu, row_off, pos, scale, vals) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: as above.
            return unsafe { softmax_rows_avx2(s, nu, row_off, pos, scale, vals) };
        }
    }
    softmax_rows_generic(s, nu, row_off, pos, scale, vals)
}

/// Per-thread buffers of the blocked attention.
#[derive(Default)]
struct BlockScratch {
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
    s: Vec<f32>,
    row: Vec<f32>,
}

fn grow(v: &mut Vec<f32>, n: usize) -> &mut [f32] {
    if v.len() < n {
        v.resize(n, 0.0);
    }
    &mut v[..n]
}

/// Gathers rows `idx` of the strided `src` (width `w`) into the contiguous `dst`.
fn gather(src: &[f32], stride: usize, w: usize, idx: &[u32], dst: &mut [f32]) {
    for (row, &j) in dst.chunks_mut(w).zip(idx) {
        let j = j as usize;
        row.copy_from_slice(&src[j * stride..j * stride + w]);
    }
}

#[allow(clippy::too_many_arguments)]
fn attend_block(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    stride: usize,
    heads: usize,
    dh: usize,
    scale: f32,
    qs: &[u32],
    blk: &AttnBlock,
    out: &mut [f32],
    sc: &mut BlockScratch,
) {
    use super::matmul::{gemm_serial, MatRef};
    let width = heads * dh;
    let (nq, nu) = (qs.len(), blk.n_keys());
    let qb = grow(&mut sc.q, nq * width);
    gather(q, stride, width, qs, qb);
    // Keys and values: a strided view of the inputs over the key range, or gathered rows.
    let (kb, vb, ks): (&[f32], &[f32], usize) = if blk.keys.is_empty() {
        let lo = blk.range.0 as usize * stride;
        (&k[lo..], &v[lo..], stride)
    } else {
        let kb = grow(&mut sc.k, nu * width);
        gather(k, stride, width, &blk.keys, kb);
        let vb = grow(&mut sc.v, nu * width);
        gather(v, stride, width, &blk.keys, vb);
        (&sc.k[..nu * width], &sc.v[..nu * width], width)
    };
    let s = grow(&mut sc.s, nq * nu);
    for h in 0..heads {
        let c0 = h * dh;
        // S = Q_h · K_hᵀ
        gemm_serial(
            MatRef {
                data: &qb[c0..],
                rows: nq,
                cols: dh,
                rs: width,
                cs: 1,
            },
            MatRef {
                data: &kb[c0..],
                rows: dh,
                cols: nu,
                rs: 1,
                cs: ks,
            },
            s,
            nu,
            false,
        );
        // Softmax over each query's own neighbours; every other weight is exactly zero.
        softmax_rows(s, nu, &blk.row_off, &blk.pos, scale, &mut sc.row);
        // O_h = P · V_h
        gemm_serial(
            MatRef {
                data: s,
                rows: nq,
                cols: nu,
                rs: nu,
                cs: 1,
            },
            MatRef {
                data: &vb[c0..],
                rows: nu,
                cols: dh,
                rs: ks,
                cs: 1,
            },
            &mut out[c0..],
            width,
            false,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ring of `n` nodes where each node sees the nodes within `hops` ring steps (sorted).
    fn ring(n: usize, hops: usize) -> (Vec<u32>, Vec<u32>) {
        let mut off = vec![0u32];
        let mut idx = Vec::new();
        for i in 0..n {
            let mut nb: Vec<u32> = (0..=2 * hops)
                .map(|s| ((i + n + s - hops) % n) as u32)
                .collect();
            nb.sort_unstable();
            nb.dedup();
            idx.extend(nb);
            off.push(idx.len() as u32);
        }
        (off, idx)
    }

    fn vals(n: usize, seed: usize) -> Vec<f32> {
        (0..n)
            .map(|i| (((i * 2654435761usize + seed * 97) % 10007) as f32 / 10007.0 - 0.5) * 3.0)
            .collect()
    }

    #[test]
    fn matches_dense_masked_f64() {
        let (n, heads, dh) = (40, 3, 20);
        let d = heads * dh;
        let stride = 3 * d;
        let qkv = vals(n * stride, 1);
        let (off, idx) = ring(n, 4);
        validate_csr(&off, &idx, n).unwrap();
        let mut out = vec![0.0f32; n * d];
        sparse_attention(
            &qkv,
            &qkv[d..],
            &qkv[2 * d..],
            stride,
            heads,
            dh,
            &off,
            &idx,
            &mut out,
        );
        // Dense reference with the -1e30 mask, in f64.
        for i in 0..n {
            let mut mask = vec![false; n];
            for &j in &idx[off[i] as usize..off[i + 1] as usize] {
                mask[j as usize] = true;
            }
            for h in 0..heads {
                let s: Vec<f64> = (0..n)
                    .map(|j| {
                        if !mask[j] {
                            return -1e30;
                        }
                        (0..dh)
                            .map(|c| {
                                qkv[i * stride + h * dh + c] as f64
                                    * qkv[j * stride + d + h * dh + c] as f64
                            })
                            .sum::<f64>()
                            / (dh as f64).sqrt()
                    })
                    .collect();
                let mx = s.iter().cloned().fold(f64::MIN, f64::max);
                let e: Vec<f64> = s.iter().map(|x| (x - mx).exp()).collect();
                let z: f64 = e.iter().sum();
                for c in 0..dh {
                    let o: f64 = (0..n)
                        .map(|j| e[j] / z * qkv[j * stride + 2 * d + h * dh + c] as f64)
                        .sum();
                    let got = out[i * d + h * dh + c] as f64;
                    // f32 logits (dh products) and ~9 weighted terms of magnitude ≤ 1.5.
                    assert!(
                        (got - o).abs() < 2e-6,
                        "node {i} head {h} ch {c}: {got} vs {o}"
                    );
                }
            }
        }
    }

    #[test]
    fn bitwise_identical_one_and_two_threads() {
        let (n, heads, dh) = (200, 2, 64);
        let d = heads * dh;
        let qkv = vals(n * 3 * d, 5);
        let (off, idx) = ring(n, 10);
        let run = |t: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(t)
                .build()
                .unwrap();
            let mut out = vec![0.0f32; n * d];
            pool.install(|| {
                sparse_attention(
                    &qkv,
                    &qkv[d..],
                    &qkv[2 * d..],
                    3 * d,
                    heads,
                    dh,
                    &off,
                    &idx,
                    &mut out,
                )
            });
            out
        };
        let (a, b) = (run(1), run(2));
        assert!(a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()));
    }

    #[test]
    fn blocked_plan_matches_per_node_kernel() {
        let (n, heads, dh) = (150, 2, 24);
        let d = heads * dh;
        let qkv = vals(n * 3 * d, 9);
        let (off, idx) = ring(n, 20);
        let mut a = vec![0.0f32; n * d];
        sparse_attention(
            &qkv,
            &qkv[d..],
            &qkv[2 * d..],
            3 * d,
            heads,
            dh,
            &off,
            &idx,
            &mut a,
        );
        let plan = AttentionPlan::new(&off, &idx, n).unwrap();
        let mut b = vec![0.0f32; n * d];
        plan.attend(&qkv, &qkv[d..], &qkv[2 * d..], 3 * d, heads, dh, &mut b);
        // Same math, different summation order: f32 round-off on values of magnitude ≤ 1.5.
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() < 2e-6, "{x} vs {y}");
        }
        // A shuffled query order (blocks of non-consecutive nodes) gives the same result.
        let order: Vec<u32> = (0..n as u32).map(|i| (i * 7) % n as u32).collect();
        let shuffled = AttentionPlan::with_order(&off, &idx, order, 16);
        let mut c = vec![0.0f32; n * d];
        shuffled.attend(&qkv, &qkv[d..], &qkv[2 * d..], 3 * d, heads, dh, &mut c);
        for (x, y) in a.iter().zip(&c) {
            assert!((x - y).abs() < 2e-6, "{x} vs {y}");
        }
        let run = |t: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(t)
                .build()
                .unwrap();
            let mut o = vec![0.0f32; n * d];
            pool.install(|| plan.attend(&qkv, &qkv[d..], &qkv[2 * d..], 3 * d, heads, dh, &mut o));
            o
        };
        let (p1, p2) = (run(1), run(2));
        assert!(p1.iter().zip(&p2).all(|(x, y)| x.to_bits() == y.to_bits()));
        assert!(p1.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()));
    }

    #[test]
    #[ignore = "timing of block choices on mesh 4, k-hop 16; run with --release -- --ignored --nocapture"]
    fn block_choice_experiment() {
        let lat: Vec<f32> = (0..19).map(|i| -90.0 + 10.0 * i as f32).collect();
        let lon: Vec<f32> = (0..36).map(|i| 10.0 * i as f32).collect();
        let g = crate::graph::Graphs::build(4, &lat, &lon, 0.6, 16).unwrap();
        let (off, idx, n) = (&g.attention.offsets, &g.attention.indices, g.n_mesh);
        let nnz = idx.len();
        let (d, heads) = (512, 4);
        let qkv = vals(n * 3 * d, 3);
        let mut out = vec![0.0f32; n * d];
        let threads: usize = std::env::var("T")
            .ok()
            .and_then(|t| t.parse().ok())
            .unwrap_or(2);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let mut plans = Vec::new();
        for qb in QUERY_BLOCKS.into_iter().chain([192, 321, 427]) {
            let t = std::time::Instant::now();
            let p = AttentionPlan::with_order(off, idx, (0..n as u32).collect(), qb);
            let build = t.elapsed().as_secs_f64();
            plans.push((qb, p, build, f64::INFINITY));
        }
        for _ in 0..7 {
            for (_, p, _, best) in plans.iter_mut() {
                let t = std::time::Instant::now();
                pool.install(|| {
                    p.attend(
                        &qkv,
                        &qkv[d..],
                        &qkv[2 * d..],
                        3 * d,
                        heads,
                        d / heads,
                        &mut out,
                    )
                });
                *best = best.min(t.elapsed().as_secs_f64());
            }
        }
        for (qb, p, build, best) in &plans {
            println!(
                "block {qb:3}: dense/nnz {:.2}, build {:.1} ms, attend {:.1} ms",
                p.dense_pairs() as f64 / nnz as f64,
                build * 1e3,
                best * 1e3
            );
        }
    }

    #[test]
    fn softmax_rows_match_f64_and_every_variant() {
        // Rows of 200 scores; selections of 1 to 183 sorted columns (with and without a tail
        // beyond the 16 lanes).
        let nu = 200;
        let lens = [1usize, 5, 16, 17, 32, 45, 128, 183];
        let mut row_off = vec![0u32];
        let mut pos = Vec::new();
        for (r, &len) in lens.iter().enumerate() {
            let mut cols: Vec<u32> = (0..len).map(|i| ((i * 7 + r * 3) % nu) as u32).collect();
            cols.sort_unstable();
            cols.dedup();
            pos.extend(cols);
            row_off.push(pos.len() as u32);
        }
        let scores: Vec<f32> = vals(lens.len() * nu, 11).iter().map(|v| v * 20.0).collect();
        let scale = 0.088_388_35f32;
        let mut got = scores.clone();
        let mut scratch = Vec::new();
        softmax_rows(&mut got, nu, &row_off, &pos, scale, &mut scratch);
        let mut generic = scores.clone();
        softmax_rows_generic(&mut generic, nu, &row_off, &pos, scale, &mut scratch);
        assert!(got
            .iter()
            .zip(&generic)
            .all(|(a, b)| a.to_bits() == b.to_bits()));
        for r in 0..lens.len() {
            let sel = &pos[row_off[r] as usize..row_off[r + 1] as usize];
            let s: Vec<f64> = sel
                .iter()
                .map(|&p| (scores[r * nu + p as usize] * scale) as f64)
                .collect();
            let mx = s.iter().cloned().fold(f64::MIN, f64::max);
            let z: f64 = s.iter().map(|x| (x - mx).exp()).sum();
            let mut want = vec![0.0f64; nu];
            for (&p, x) in sel.iter().zip(&s) {
                want[p as usize] = (x - mx).exp() / z;
            }
            for c in 0..nu {
                let g = got[r * nu + c] as f64;
                // exp_f32 (a few ulp), an f32 sum of ≤ 183 positive terms in 16 lanes (relative
                // error ≤ ~12 ulp) and one division: well within 2e-6 relative.
                assert!(
                    (g - want[c]).abs() <= 2e-6 * want[c],
                    "row {r} col {c}: {g} vs {}",
                    want[c]
                );
            }
        }
        assert_eq!(max_lanes(&[]), f32::NEG_INFINITY);
        assert_eq!(
            max_lanes(&vals(37, 2)),
            vals(37, 2).into_iter().fold(f32::MIN, f32::max)
        );
    }

    #[test]
    fn validate_rejects_bad_csr() {
        assert!(validate_csr(&[0, 1, 2], &[0, 1], 2).is_ok());
        assert!(validate_csr(&[0, 1], &[0], 2).is_err());
        assert!(validate_csr(&[0, 0, 2], &[0, 1], 2).is_err());
        assert!(validate_csr(&[0, 1, 2], &[0, 2], 2).is_err());
    }
}
