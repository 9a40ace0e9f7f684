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
            let mx = l.iter().fold(f32::NEG_INFINITY, |m, &x| m.max(x));
            let mut sum = 0.0f32;
            for x in l.iter_mut() {
                *x = exp_f32(*x - mx);
                sum += *x;
            }
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
    fn validate_rejects_bad_csr() {
        assert!(validate_csr(&[0, 1, 2], &[0, 1], 2).is_ok());
        assert!(validate_csr(&[0, 1], &[0], 2).is_err());
        assert!(validate_csr(&[0, 0, 2], &[0, 1], 2).is_err());
        assert!(validate_csr(&[0, 1, 2], &[0, 2], 2).is_err());
    }
}
