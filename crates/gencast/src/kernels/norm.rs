//! Layer normalisation over the last axis without learnable scale or offset (haiku
//! `LayerNorm(create_scale=False, create_offset=False)`), optionally followed by a per-channel
//! affine map (the norm-conditioning layer's `scale` and `offset`).

use rayon::prelude::*;

/// The epsilon added to the variance (haiku's default).
pub const LN_EPS: f32 = 1e-5;

/// Rows per parallel task.
const ROWS_PER_TASK: usize = 32;

/// Mean and `1/sqrt(var + eps)` of one row: two passes with f64 accumulation, biased variance.
#[inline]
fn row_stats(x: &[f32]) -> (f64, f64) {
    let n = x.len() as f64;
    let mean = x.iter().map(|&v| v as f64).sum::<f64>() / n;
    let var = x
        .iter()
        .map(|&v| {
            let c = v as f64 - mean;
            c * c
        })
        .sum::<f64>()
        / n;
    (mean, 1.0 / (var + LN_EPS as f64).sqrt())
}

/// Normalises one row into `out`, then applies `out·scale + offset` when given.
#[inline]
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

fn check(len: usize, d: usize, cond: Option<(&[f32], &[f32])>) {
    assert!(
        d > 0 && len % d == 0,
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
    x.par_chunks_mut(d * ROWS_PER_TASK).for_each(|blk| {
        let mut tmp = vec![0.0f32; d];
        for row in blk.chunks_mut(d) {
            norm_row(row, &mut tmp, None);
            row.copy_from_slice(&tmp);
        }
    });
}

/// Layer-normalises each row of `x` in place and applies `x·scale + offset` (per channel).
pub fn layer_norm_cond_rows(x: &mut [f32], d: usize, scale: &[f32], offset: &[f32]) {
    check(x.len(), d, Some((scale, offset)));
    x.par_chunks_mut(d * ROWS_PER_TASK).for_each(|blk| {
        let mut tmp = vec![0.0f32; d];
        for row in blk.chunks_mut(d) {
            norm_row(row, &mut tmp, Some((scale, offset)));
            row.copy_from_slice(&tmp);
        }
    });
}

/// Writes `LN(x)·scale + offset` for every row of `x` into `out` (same shape).
pub fn layer_norm_cond_into(x: &[f32], out: &mut [f32], d: usize, scale: &[f32], offset: &[f32]) {
    check(x.len(), d, Some((scale, offset)));
    assert_eq!(x.len(), out.len(), "layer norm: output length");
    out.par_chunks_mut(d * ROWS_PER_TASK)
        .zip(x.par_chunks(d * ROWS_PER_TASK))
        .for_each(|(ob, xb)| {
            for (o, r) in ob.chunks_mut(d).zip(xb.chunks(d)) {
                norm_row(r, o, Some((scale, offset)));
            }
        });
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
