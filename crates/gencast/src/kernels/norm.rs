//! Layer normalisation over the last axis without learnable scale or offset (haiku
//! `LayerNorm(create_scale=False, create_offset=False)`), optionally followed by a per-channel
//! affine map (the norm-conditioning layer's `scale` and `offset`).

use super::isa::{active, multiversion};
use rayon::prelude::*;

/// The epsilon added to the variance (haiku's default).
pub const LN_EPS: f32 = 1e-5;

/// Rows per parallel task.
const ROWS_PER_TASK: usize = 32;

/// Independent f64 partial sums per row pass (one AVX-512 register of `f64`).
const LANES: usize = 8;

/// Sum of `f(v)` over `x` in f64: lane `l` adds the elements `i ≡ l (mod 8)` in order, the lanes
/// are combined in a fixed tree and the tail (`len % 8` elements) is added last, in order.
#[inline(always)]
fn lane_sum(x: &[f32], f: impl Fn(f64) -> f64) -> f64 {
    let mut acc = [0.0f64; LANES];
    let chunks = x.chunks_exact(LANES);
    let tail = chunks.remainder();
    for c in chunks {
        for l in 0..LANES {
            acc[l] += f(c[l] as f64);
        }
    }
    let mut s = ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]));
    for &v in tail {
        s += f(v as f64);
    }
    s
}

/// Mean and `1/sqrt(var + eps)` of one row: two passes with f64 accumulation, biased variance.
#[inline(always)]
fn row_stats(x: &[f32]) -> (f64, f64) {
    let n = x.len() as f64;
    let mean = lane_sum(x, |v| v) / n;
    let var = lane_sum(x, |v| (v - mean) * (v - mean)) / n;
    (mean, 1.0 / (var + LN_EPS as f64).sqrt())
}

/// `out = LN(x)`, then `out·scale + offset` when given, for one row; `out` may be `x` itself
/// (see [`norm_rows_inplace`]) since the statistics are taken first.
#[inline(always)]
fn norm_row(x: &[f32], out: &mut [f32], cond: Option<(&[f32], &[f32])>) {
    let (mean, inv) = row_stats(x);
    match cond {
        None => {
            for (o, &v) in out.iter_mut().zip(x) {
                *o = ((v as f64 - mean) * inv) as f32;
            }
        }
        Some((scale, offset)) => {
            for (((o, &v), &s), &b) in out.iter_mut().zip(x).zip(scale).zip(offset) {
                *o = ((v as f64 - mean) * inv) as f32 * s + b;
            }
        }
    }
}

/// In-place [`norm_row`] for every row of `x`.
#[inline(always)]
fn norm_rows_inplace_generic(x: &mut [f32], d: usize, cond: Option<(&[f32], &[f32])>) {
    for row in x.chunks_exact_mut(d) {
        let (mean, inv) = row_stats(row);
        match cond {
            None => {
                for v in row.iter_mut() {
                    *v = ((*v as f64 - mean) * inv) as f32;
                }
            }
            Some((scale, offset)) => {
                for ((v, &s), &b) in row.iter_mut().zip(scale).zip(offset) {
                    *v = ((*v as f64 - mean) * inv) as f32 * s + b;
                }
            }
        }
    }
}

/// [`norm_row`] for every row of `x`, into the rows of `out`.
#[inline(always)]
fn norm_rows_into_generic(x: &[f32], out: &mut [f32], d: usize, cond: Option<(&[f32], &[f32])>) {
    for (o, r) in out.chunks_exact_mut(d).zip(x.chunks_exact(d)) {
        norm_row(r, o, cond);
    }
}

multiversion! {
    /// In-place layer norm (+ affine) of the rows of `x`, on one thread, compiled for `isa`.
    /// Every variant returns the same bits: the lane structure is explicit and nothing is fused.
    fn norm_rows_inplace(x: &mut [f32], d: usize, cond: Option<(&[f32], &[f32])>) =
        norm_rows_inplace_generic;
}

multiversion! {
    /// Layer norm (+ affine) of the rows of `x` into `out`, on one thread, compiled for `isa`.
    fn norm_rows_into(x: &[f32], out: &mut [f32], d: usize, cond: Option<(&[f32], &[f32])>) =
        norm_rows_into_generic;
}

fn check(len: usize, d: usize, cond: Option<(&[f32], &[f32])>) {
    assert!(
        len.checked_rem(d) == Some(0),
        "layer norm: {len} values not rows of {d}"
    );
    if let Some((s, b)) = cond {
        assert!(
            s.len() == d && b.len() == d,
            "layer norm: conditioning width"
        );
    }
}

/// Layer-normalises each row of the `[rows, d]` buffer `x` in place.
pub fn layer_norm_rows(x: &mut [f32], d: usize) {
    check(x.len(), d, None);
    let isa = active();
    x.par_chunks_mut(d * ROWS_PER_TASK)
        .for_each(|blk| norm_rows_inplace(isa, blk, d, None));
}

/// Layer-normalises each row of `x` in place and applies `x·scale + offset` (per channel).
pub fn layer_norm_cond_rows(x: &mut [f32], d: usize, scale: &[f32], offset: &[f32]) {
    check(x.len(), d, Some((scale, offset)));
    let isa = active();
    x.par_chunks_mut(d * ROWS_PER_TASK)
        .for_each(|blk| norm_rows_inplace(isa, blk, d, Some((scale, offset))));
}

/// Writes `LN(x)·scale + offset` for every row of `x` into `out` (same shape).
pub fn layer_norm_cond_into(x: &[f32], out: &mut [f32], d: usize, scale: &[f32], offset: &[f32]) {
    check(x.len(), d, Some((scale, offset)));
    assert_eq!(x.len(), out.len(), "layer norm: output length");
    let isa = active();
    out.par_chunks_mut(d * ROWS_PER_TASK)
        .zip(x.par_chunks(d * ROWS_PER_TASK))
        .for_each(|(ob, xb)| norm_rows_into(isa, xb, ob, d, Some((scale, offset))));
}

/// Applies `y = x·scale + offset` per channel to every row of `x`, writing into `out`.
pub fn affine_rows_into(x: &[f32], out: &mut [f32], d: usize, scale: &[f32], offset: &[f32]) {
    check(x.len(), d, Some((scale, offset)));
    assert_eq!(x.len(), out.len(), "affine: output length");
    out.par_chunks_mut(d * ROWS_PER_TASK * 4)
        .zip(x.par_chunks(d * ROWS_PER_TASK * 4))
        .for_each(|(ob, xb)| {
            for (o, r) in ob.chunks_mut(d).zip(xb.chunks(d)) {
                for (((o, &v), &s), &b) in o.iter_mut().zip(r).zip(scale).zip(offset) {
                    *o = v * s + b;
                }
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(n: usize) -> Vec<f32> {
        (0..n)
            .map(|i| ((i * 7919) % 1013) as f32 * 0.01 - 3.0 + (i % 5) as f32)
            .collect()
    }

    #[test]
    fn matches_f64_reference() {
        let d = 33;
        let rows = 100;
        let x = data(d * rows);
        let scale: Vec<f32> = (0..d).map(|i| 1.0 + 0.1 * i as f32).collect();
        let offset: Vec<f32> = (0..d).map(|i| -0.5 + 0.05 * i as f32).collect();
        let mut plain = x.clone();
        layer_norm_rows(&mut plain, d);
        let mut cond = x.clone();
        layer_norm_cond_rows(&mut cond, d, &scale, &offset);
        let mut cond2 = vec![0.0; x.len()];
        layer_norm_cond_into(&x, &mut cond2, d, &scale, &offset);
        for r in 0..rows {
            let row: Vec<f64> = x[r * d..(r + 1) * d].iter().map(|&v| v as f64).collect();
            let mu = row.iter().sum::<f64>() / d as f64;
            let var = row.iter().map(|v| (v - mu) * (v - mu)).sum::<f64>() / d as f64;
            for c in 0..d {
                let y = (row[c] - mu) / (var + 1e-5).sqrt();
                let yc = y * scale[c] as f64 + offset[c] as f64;
                // Output rounding to f32 (half an ulp) plus one rounding in the affine step.
                assert!((plain[r * d + c] as f64 - y).abs() <= 1e-6 * (1.0 + y.abs()));
                assert!((cond[r * d + c] as f64 - yc).abs() <= 2e-6 * (1.0 + yc.abs()));
                assert_eq!(cond[r * d + c].to_bits(), cond2[r * d + c].to_bits());
            }
        }
    }

    #[test]
    fn lane_sums_match_f64_and_every_variant_gives_the_same_bits() {
        // Rows of 512 (the latent width) and 37 (a tail after the 8 lanes), with a large common
        // offset so that the f64 accumulation matters for the variance.
        for d in [512usize, 37] {
            let rows = 40;
            let x: Vec<f32> = data(d * rows).iter().map(|v| 1000.0 + v).collect();
            let scale: Vec<f32> = (0..d).map(|i| 0.5 + (i % 7) as f32 * 0.25).collect();
            let offset: Vec<f32> = (0..d).map(|i| (i % 5) as f32 * 0.1 - 0.2).collect();
            let cond = Some((&scale[..], &offset[..]));
            let mut dispatched = vec![0.0f32; x.len()];
            norm_rows_into(active(), &x, &mut dispatched, d, cond);
            let mut generic = vec![0.0f32; x.len()];
            norm_rows_into_generic(&x, &mut generic, d, cond);
            for isa in crate::kernels::isa::Isa::supported() {
                let mut into = vec![0.0f32; x.len()];
                norm_rows_into(isa, &x, &mut into, d, cond);
                let mut inplace = x.clone();
                norm_rows_inplace(isa, &mut inplace, d, cond);
                for ((a, b), c) in generic.iter().zip(&into).zip(&inplace) {
                    assert_eq!(a.to_bits(), b.to_bits(), "{isa}");
                    assert_eq!(a.to_bits(), c.to_bits(), "{isa}");
                }
            }
            for r in 0..rows {
                let row: Vec<f64> = x[r * d..(r + 1) * d].iter().map(|&v| v as f64).collect();
                let total = lane_sum(&x[r * d..(r + 1) * d], |v| v);
                let exact: f64 = row.iter().sum();
                // f64 sums of ≤ 512 values near 1000: relative error ≤ 512·2^-53.
                assert!((total - exact).abs() <= 1e-12 * exact.abs());
                let mu = exact / d as f64;
                let var = row.iter().map(|v| (v - mu) * (v - mu)).sum::<f64>() / d as f64;
                for c in 0..d {
                    let y =
                        (row[c] - mu) / (var + 1e-5).sqrt() * scale[c] as f64 + offset[c] as f64;
                    // Rounding of the normalised value to f32, then one rounding each in the
                    // f32 multiply and add (|scale| ≤ 2, values ≤ ~4).
                    let got = dispatched[r * d + c] as f64;
                    assert!((got - y).abs() <= 2e-6 * (1.0 + y.abs()), "{got} vs {y}");
                }
            }
        }
    }

    #[test]
    fn constant_row_is_finite() {
        let mut x = vec![3.0f32; 16];
        layer_norm_rows(&mut x, 16);
        assert!(x.iter().all(|&v| v == 0.0));
    }

    #[test]
    fn bitwise_identical_one_and_two_threads() {
        let d = 64;
        let x = data(d * 1000);
        let s = vec![1.5f32; d];
        let b = vec![0.25f32; d];
        let run = |t: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(t)
                .build()
                .unwrap();
            let mut y = x.clone();
            pool.install(|| layer_norm_cond_rows(&mut y, d, &s, &b));
            y
        };
        let (a, c) = (run(1), run(2));
        assert!(a.iter().zip(&c).all(|(p, q)| p.to_bits() == q.to_bits()));
    }
}
