//! Element-wise and row kernels of a network evaluated under a bfloat16 cast, emulated in
//! float32: values are float32 holding bfloat16 numbers, and every operation rounds its result
//! to the nearest bfloat16 (ties to even).
//!
//! Like the float32 kernels, every variant compiled for an instruction set computes the same
//! unfused operations, rows are split over threads in blocks of a fixed size, and reductions run
//! in a fixed order, so results are bitwise identical on every path and thread count.

use super::activation::sigmoid;
use super::isa::{active, multiversion};
use rayon::prelude::*;

/// Rows per parallel task.
const ROWS_PER_TASK: usize = 64;

/// `x` rounded to the nearest bfloat16 (ties to even), as a float32; NaN stays NaN.
#[inline(always)]
pub fn round_bf16(x: f32) -> f32 {
    let b = x.to_bits();
    let r = b.wrapping_add(0x7FFF + ((b >> 16) & 1)) & 0xFFFF_0000;
    // A NaN keeps its bits (rounding could carry its payload into infinity); written as a
    // select so that the loop stays vectorised.
    f32::from_bits(if x.is_nan() { b } else { r })
}

/// The cast's epilogue of one row: `v ← round(round(v) + b)`, then, with `swish`,
/// `v ← round(v · round(sigmoid(v)))` (`jax.nn.swish` in bfloat16, each op rounded).
#[inline(always)]
fn bias_act_rows_generic(x: &mut [f32], bias: &[f32], swish: bool) {
    for row in x.chunks_exact_mut(bias.len().max(1)) {
        for (v, &b) in row.iter_mut().zip(bias) {
            *v = round_bf16(round_bf16(*v) + b);
        }
        if swish {
            for v in row.iter_mut() {
                *v = round_bf16(*v * round_bf16(sigmoid(*v)));
            }
        }
    }
}

multiversion! {
    /// [`bias_act_rows_generic`] compiled for `isa`.
    fn bias_act_rows(x: &mut [f32], bias: &[f32], swish: bool) = bias_act_rows_generic;
}

/// A dense layer's output under the cast, from its float32 product `x` `[rows, d]`: the
/// product rounded, the bias added and rounded, then swish (rounded) when `swish`.
///
/// # Panics
/// If `x` is not rows of `bias.len()` (a programming error).
pub fn bias_act_bf16(x: &mut [f32], bias: &[f32], swish: bool) {
    let d = bias.len();
    assert!(
        x.len().checked_rem(d) == Some(0),
        "bias_act_bf16: {} values not rows of {d}",
        x.len()
    );
    let isa = active();
    x.par_chunks_mut(d * ROWS_PER_TASK)
        .for_each(|blk| bias_act_rows(isa, blk, bias, swish));
}

/// Lanes of the float32 partial sums of a row reduction.
const LANES: usize = 16;

/// Sum of `f(v)` over `x` in float32: lane `l` adds the elements `i ≡ l (mod 16)` in order, the
/// lanes are combined in a fixed tree and the tail is added last, in order.
#[inline(always)]
fn lane_sum(x: &[f32], f: impl Fn(f32) -> f32) -> f32 {
    let mut acc = [0.0f32; LANES];
    let chunks = x.chunks_exact(LANES);
    let tail = chunks.remainder();
    for c in chunks {
        for l in 0..LANES {
            acc[l] += f(c[l]);
        }
    }
    let mut w = LANES;
    while w > 1 {
        w /= 2;
        for l in 0..w {
            acc[l] += acc[l + w];
        }
    }
    let mut s = acc[0];
    for &v in tail {
        s += f(v);
    }
    s
}

/// haiku's `LayerNorm` on bfloat16 rows: mean and (biased, two-pass) variance reduced in float32
/// and rounded, the rest in bfloat16: `inv = round(scale · round(rsqrt(round(var + eps))))`,
/// `y = round(round(inv · round(x − mean)) + offset)`.
#[inline(always)]
fn layer_norm_rows_generic(x: &mut [f32], scale: &[f32], offset: &[f32]) {
    let d = scale.len().max(1);
    let eps = round_bf16(super::norm::LN_EPS);
    for row in x.chunks_exact_mut(d) {
        let mean32 = lane_sum(row, |v| v) / d as f32;
        let var32 = lane_sum(row, |v| (v - mean32) * (v - mean32)) / d as f32;
        let (mean, var) = (round_bf16(mean32), round_bf16(var32));
        let r = round_bf16(1.0 / round_bf16(var + eps).sqrt());
        for ((v, &s), &o) in row.iter_mut().zip(scale).zip(offset) {
            let inv = round_bf16(s * r);
            let c = round_bf16(*v - mean);
            *v = round_bf16(round_bf16(inv * c) + o);
        }
    }
}

multiversion! {
    /// [`layer_norm_rows_generic`] compiled for `isa`.
    fn layer_norm_rows(x: &mut [f32], scale: &[f32], offset: &[f32]) = layer_norm_rows_generic;
}

/// Layer-normalises every row of `x` (`[rows, scale.len()]`) in place under the cast.
///
/// # Panics
/// If `x` is not rows of `scale.len()` or `offset` has another length.
pub fn layer_norm_bf16(x: &mut [f32], scale: &[f32], offset: &[f32]) {
    let d = scale.len();
    assert!(
        x.len().checked_rem(d) == Some(0) && offset.len() == d,
        "layer_norm_bf16: {} values, {d} scales, {} offsets",
        x.len(),
        offset.len()
    );
    let isa = active();
    x.par_chunks_mut(d * ROWS_PER_TASK)
        .for_each(|blk| layer_norm_rows(isa, blk, scale, offset));
}

#[inline(always)]
fn add_round_generic(a: &mut [f32], b: &[f32]) {
    for (x, &y) in a.iter_mut().zip(b) {
        *x = round_bf16(*x + y);
    }
}

multiversion! {
    /// [`add_round_generic`] compiled for `isa`.
    fn add_round_with(a: &mut [f32], b: &[f32]) = add_round_generic;
}

/// `a ← round(a + b)` element-wise (a residual under the cast).
///
/// # Panics
/// If the lengths differ.
pub fn add_round(a: &mut [f32], b: &[f32]) {
    assert_eq!(a.len(), b.len(), "add_round: lengths");
    let isa = active();
    const BLOCK: usize = 1 << 14;
    a.par_chunks_mut(BLOCK)
        .zip(b.par_chunks(BLOCK))
        .for_each(|(x, y)| add_round_with(isa, x, y));
}

/// A copy of `x` rounded to bfloat16.
pub fn rounded(x: &[f32]) -> Vec<f32> {
    x.iter().map(|&v| round_bf16(v)).collect()
}

/// Rounds every value in place.
pub fn round_all(x: &mut [f32]) {
    const BLOCK: usize = 1 << 14;
    x.par_chunks_mut(BLOCK)
        .for_each(|c| c.iter_mut().for_each(|v| *v = round_bf16(*v)));
}

/// `out += rows[e]` for each `e` of `group` in order, each addition rounded.
#[inline(always)]
fn add_rows_round_generic(out: &mut [f32], rows: &[f32], group: &[u32], d: usize) {
    for &e in group {
        let m = &rows[e as usize * d..(e as usize + 1) * d];
        for (o, &v) in out.iter_mut().zip(m) {
            *o = round_bf16(*o + v);
        }
    }
}

multiversion! {
    /// [`add_rows_round_generic`] compiled for `isa`.
    pub(crate) fn add_rows_round(out: &mut [f32], rows: &[f32], group: &[u32], d: usize) =
        add_rows_round_generic;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::isa::Isa;
    use crate::kernels::testing::signed_values;

    /// Round to nearest even through f64 arithmetic: the bfloat16 neighbours of `x` and the
    /// nearer one (the one with an even last mantissa bit on a tie).
    fn round_f64(x: f32) -> f32 {
        let b = x.to_bits() & 0xFFFF_0000;
        let lo = f32::from_bits(b);
        let hi = f32::from_bits(b + 0x1_0000);
        let (dl, dh) = ((x as f64 - lo as f64).abs(), (hi as f64 - x as f64).abs());
        if dl < dh || (dl == dh && (b >> 16) & 1 == 0) {
            lo
        } else {
            hi
        }
    }

    #[test]
    fn rounds_to_nearest_even() {
        assert_eq!(round_bf16(1.0), 1.0);
        // 1 + 2^-8 lies halfway between 1 and 1 + 2^-7: ties go to the even mantissa (1).
        assert_eq!(round_bf16(1.0 + 1.0 / 256.0), 1.0);
        assert_eq!(round_bf16(1.0 + 3.0 / 256.0), 1.0 + 4.0 / 256.0);
        assert_eq!(round_bf16(f32::INFINITY), f32::INFINITY);
        assert!(round_bf16(f32::NAN).is_nan());
        for v in signed_values(3, 10_000) {
            let x = v * 1e3;
            assert_eq!(round_bf16(x).to_bits(), round_f64(x).to_bits(), "{x}");
        }
    }

    #[test]
    fn layer_norm_matches_f64_within_bf16_rounding_and_every_path_agrees() {
        let d = 37;
        let x: Vec<f32> = signed_values(4, d * 50)
            .iter()
            .map(|&v| round_bf16(3.0 * v + 1.0))
            .collect();
        let scale: Vec<f32> = (0..d).map(|i| round_bf16(0.5 + i as f32 * 0.03)).collect();
        let offset: Vec<f32> = (0..d).map(|i| round_bf16(i as f32 * 0.01 - 0.2)).collect();
        let mut want = x.clone();
        layer_norm_bf16(&mut want, &scale, &offset);
        for row in 0..50 {
            let r: Vec<f64> = x[row * d..][..d].iter().map(|&v| v as f64).collect();
            let mu = r.iter().sum::<f64>() / d as f64;
            let var = r.iter().map(|v| (v - mu) * (v - mu)).sum::<f64>() / d as f64;
            for c in 0..d {
                let y = (r[c] - mu) / (var + 1e-5).sqrt() * scale[c] as f64 + offset[c] as f64;
                let got = want[row * d + c];
                assert_eq!(got, round_bf16(got), "a bfloat16 value");
                // Six roundings to bfloat16 (2^-9 relative each) on values of size ≤ ~4.
                assert!((got as f64 - y).abs() <= 0.02 * (1.0 + y.abs()), "{got} vs {y}");
            }
        }
        for isa in Isa::supported() {
            let mut got = x.clone();
            layer_norm_rows(isa, &mut got, &scale, &offset);
            assert!(
                got.iter().zip(&want).all(|(a, b)| a.to_bits() == b.to_bits()),
                "{isa}"
            );
        }
    }

    #[test]
    fn epilogue_rounds_each_op_and_every_path_agrees() {
        let d = 19;
        let x = signed_values(5, d * 70);
        let bias: Vec<f32> = signed_values(6, d).iter().map(|&v| round_bf16(v)).collect();
        for swish in [false, true] {
            let mut got = x.clone();
            bias_act_bf16(&mut got, &bias, swish);
            for (i, (&g, &v)) in got.iter().zip(&x).enumerate() {
                let mut want = round_bf16(round_bf16(v) + bias[i % d]);
                if swish {
                    want = round_bf16(want * round_bf16(sigmoid(want)));
                }
                assert_eq!(g.to_bits(), want.to_bits());
            }
            for isa in Isa::supported() {
                let mut other = x.clone();
                bias_act_rows(isa, &mut other, &bias, swish);
                assert!(
                    other.iter().zip(&got).all(|(a, b)| a.to_bits() == b.to_bits()),
                    "{isa}"
                );
            }
        }
    }

    #[test]
    fn rounded_row_sums_add_in_order() {
        let d = 9;
        let rows: Vec<f32> = signed_values(7, 20 * d).iter().map(|&v| round_bf16(v)).collect();
        let group = [4u32, 0, 17, 4, 9];
        let mut want = vec![0.25f32; d];
        for &e in &group {
            for (o, &v) in want.iter_mut().zip(&rows[e as usize * d..]) {
                *o = round_f64(*o + v);
            }
        }
        for isa in Isa::supported() {
            let mut out = vec![0.25f32; d];
            add_rows_round(isa, &mut out, &rows, &group, d);
            assert!(
                out.iter().zip(&want).all(|(a, b)| a.to_bits() == b.to_bits()),
                "{isa}"
            );
        }
    }
}
