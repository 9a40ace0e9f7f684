//! Element-wise activations (`swish`, tanh-approximate `gelu`) and fused bias + activation.
//!
//! The exponential is a branch-free polynomial that the compiler vectorises. The slice kernels
//! are compiled for each instruction set (see [`super::isa`]); the code never fuses multiplies
//! and adds, so every variant returns the same bits.

use super::isa::{active, multiversion};
use rayon::prelude::*;

/// Activation applied after a dense layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Act {
    /// No activation.
    Identity,
    /// `x·sigmoid(x)` (SiLU), used by the GNN MLPs.
    Swish,
    /// `jax.nn.gelu` with `approximate=True`, used by the transformer and the noise encoder.
    Gelu,
}

const LOG2E: f32 = std::f32::consts::LOG2_E;
// ln 2 split into a part with few mantissa bits (exact products with small integers) and the rest.
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;
// Adding and subtracting 1.5·2^23 rounds an f32 of magnitude below 2^22 to the nearest integer.
const ROUND_MAGIC: f32 = 12_582_912.0;

/// `e^x` in f32 with an error of about 1 ulp; the argument is clamped to [-87, 88], so the result
/// is always finite and positive.
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    // `t` holds the integer `n = round(x·log2 e)` in its low mantissa bits; reading them as
    // integer bits (instead of a float-to-int cast, which compiles to scalar code) keeps the
    // whole function vectorisable.
    let t = x * LOG2E + ROUND_MAGIC;
    let n = t - ROUND_MAGIC;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    let mut p = 1.987_569_1e-4_f32;
    p = p * r + 1.398_2e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5;
    let e = p * (r * r) + r + 1.0;
    // 2^n: the biased exponent `n + 127` (in 1..=254 after the clamp) moved into place.
    let bits = t
        .to_bits()
        .wrapping_sub(ROUND_MAGIC.to_bits())
        .wrapping_add(127)
        << 23;
    e * f32::from_bits(bits)
}

/// [`exp_f32`] on 16 lanes with AVX-512, the same operations in the same order (same bits).
///
/// # Safety
/// The CPU must support AVX-512F.
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx512f,avx2,fma")]
pub(crate) unsafe fn exp_f32_avx512(
    x: std::arch::x86_64::__m512,
) -> std::arch::x86_64::__m512 {
    use std::arch::x86_64::*;
    let c = _mm512_set1_ps;
    let (add, mul, sub) = (_mm512_add_ps, _mm512_mul_ps, _mm512_sub_ps);
    // `f32::clamp`: below the low end, then above the high end; NaN stays NaN.
    let x = _mm512_mask_mov_ps(x, _mm512_cmp_ps_mask::<_CMP_LT_OQ>(x, c(-87.0)), c(-87.0));
    let x = _mm512_mask_mov_ps(x, _mm512_cmp_ps_mask::<_CMP_GT_OQ>(x, c(88.0)), c(88.0));
    let t = add(mul(x, c(LOG2E)), c(ROUND_MAGIC));
    let n = sub(t, c(ROUND_MAGIC));
    let r = sub(sub(x, mul(n, c(LN2_HI))), mul(n, c(LN2_LO)));
    let mut p = c(1.987_569_1e-4);
    for k in [1.398_2e-3, 8.333_452e-3, 4.166_579_6e-2, 1.666_666_5e-1, 0.5] {
        p = add(mul(p, r), c(k));
    }
    let e = add(add(mul(p, mul(r, r)), r), c(1.0));
    let magic = _mm512_castps_si512(c(ROUND_MAGIC));
    let bits = _mm512_sub_epi32(_mm512_castps_si512(t), magic);
    let bits = _mm512_slli_epi32::<23>(_mm512_add_epi32(bits, _mm512_set1_epi32(127)));
    mul(e, _mm512_castsi512_ps(bits))
}

/// Logistic sigmoid `1/(1+e^-x)`.
#[inline(always)]
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp_f32(-x))
}

/// Swish (SiLU): `x·sigmoid(x)`.
#[inline(always)]
pub fn swish(x: f32) -> f32 {
    x / (1.0 + exp_f32(-x))
}

/// tanh-approximate GELU: `0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))`, evaluated as
/// `x·sigmoid(2u)`, which is the same function.
#[inline(always)]
pub fn gelu_tanh(x: f32) -> f32 {
    const SQRT_2_OVER_PI: f32 = 0.797_884_6;
    let u = SQRT_2_OVER_PI * (x + 0.044715 * (x * x * x));
    x / (1.0 + exp_f32(-2.0 * u))
}

#[inline(always)]
fn bias_act_generic(x: &mut [f32], bias: Option<&[f32]>, act: Act) {
    let d = bias.map_or(x.len(), <[f32]>::len).max(1);
    for row in x.chunks_mut(d) {
        if let Some(b) = bias {
            for (v, bb) in row.iter_mut().zip(b) {
                *v += *bb;
            }
        }
        match act {
            Act::Identity => {}
            Act::Swish => row.iter_mut().for_each(|v| *v = swish(*v)),
            Act::Gelu => row.iter_mut().for_each(|v| *v = gelu_tanh(*v)),
        }
    }
}

multiversion! {
    /// [`bias_act_serial`] compiled for `isa`; every variant returns the same bits.
    pub(crate) fn bias_act_with(x: &mut [f32], bias: Option<&[f32]>, act: Act) = bias_act_generic;
}

/// Adds `bias` to every row (if given) and applies `act`, on one thread.
pub fn bias_act_serial(x: &mut [f32], bias: Option<&[f32]>, act: Act) {
    bias_act_with(active(), x, bias, act)
}

/// Rows per parallel task in the element-wise kernels.
const ROWS_PER_TASK: usize = 64;

/// Adds `bias` (length `d`, if given) to every row of the `[rows, d]` buffer `x` and applies
/// `act`, in parallel over rows.
///
/// # Panics
/// If `x.len()` is not a multiple of `d` or the bias length is not `d`.
pub fn bias_act(x: &mut [f32], d: usize, bias: Option<&[f32]>, act: Act) {
    assert!(
        x.len().checked_rem(d) == Some(0),
        "bias_act: {} values not rows of {d}",
        x.len()
    );
    if let Some(b) = bias {
        assert_eq!(b.len(), d, "bias_act: bias length");
    }
    x.par_chunks_mut(d * ROWS_PER_TASK)
        .for_each(|blk| bias_act_serial(blk, bias, act));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid() -> Vec<f32> {
        (-40000..=40000).map(|i| i as f32 * 2.5e-3).collect()
    }

    #[test]
    fn exp_matches_f64() {
        let inside = grid().into_iter().filter(|x| (-87.0..=88.0).contains(x));
        for x in inside.chain([-86.5f32, 87.9, 0.0, 1e-8, -1e-8]) {
            let e = exp_f32(x) as f64;
            let r = (x as f64).exp();
            // A few ulp of f32 (2^-24 ≈ 6e-8 relative each).
            assert!(((e - r) / r).abs() < 3e-7, "exp({x}) = {e} vs {r}");
        }
        assert!(exp_f32(-1000.0) > 0.0 && exp_f32(1000.0).is_finite());
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn avx512_exp_gives_the_scalar_bits() {
        use super::super::isa::Kind;
        use std::arch::x86_64::*;
        if !Kind::Avx512.supported() {
            return;
        }
        let edges = [
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::MIN,
            f32::MAX,
            -87.0,
            88.0,
            -87.000_01,
            88.000_01,
            0.0,
            -0.0,
            f32::MIN_POSITIVE,
            -f32::MIN_POSITIVE,
            1e-45,
        ];
        let mut xs: Vec<f32> = grid().into_iter().map(|x| x * 1.1).collect();
        xs.extend(edges);
        xs.resize(xs.len().next_multiple_of(16), 0.5);
        for chunk in xs.chunks_exact(16) {
            let mut got = [0.0f32; 16];
            // SAFETY: AVX-512F is supported (checked above); both buffers hold 16 values.
            unsafe {
                let v = exp_f32_avx512(_mm512_loadu_ps(chunk.as_ptr()));
                _mm512_storeu_ps(got.as_mut_ptr(), v);
            }
            for (&x, g) in chunk.iter().zip(got) {
                let want = exp_f32(x);
                assert!(
                    g.to_bits() == want.to_bits() || (g.is_nan() && want.is_nan()),
                    "exp({x}): {g} vs {want}"
                );
            }
        }
    }

    #[test]
    fn exp_exponent_bits_equal_the_integer_cast() {
        // The scale 2^n is built from the rounding constant's bits; the result must equal the
        // construction through an `n as i32` cast bit for bit, across the clamped range and
        // beyond it.
        let with_cast = |x: f32| {
            let x = x.clamp(-87.0, 88.0);
            let n = (x * LOG2E + ROUND_MAGIC) - ROUND_MAGIC;
            let r = (x - n * LN2_HI) - n * LN2_LO;
            let mut p = 1.987_569_1e-4_f32;
            p = p * r + 1.398_2e-3;
            p = p * r + 8.333_452e-3;
            p = p * r + 4.166_579_6e-2;
            p = p * r + 1.666_666_5e-1;
            p = p * r + 0.5;
            let e = p * (r * r) + r + 1.0;
            e * f32::from_bits(((n as i32 + 127) as u32) << 23)
        };
        let mut x = -100.0f32;
        while x < 100.0 {
            assert_eq!(exp_f32(x).to_bits(), with_cast(x).to_bits(), "exp({x})");
            x += 0.0013;
        }
        for x in [-87.0f32, 88.0, -86.64, 87.34, f32::MIN, f32::MAX] {
            assert_eq!(exp_f32(x).to_bits(), with_cast(x).to_bits(), "exp({x})");
        }
    }

    #[test]
    fn activations_match_f64() {
        for x in grid() {
            let xd = x as f64;
            let sw = xd / (1.0 + (-xd).exp());
            let u = (2.0 / std::f64::consts::PI).sqrt() * (xd + 0.044715 * xd * xd * xd);
            // 0.5·x·(1 + tanh u) written as x·sigmoid(2u), which stays accurate in f64 where
            // 1 + tanh u cancels.
            let ge = xd / (1.0 + (-2.0 * u).exp());
            assert!((ge - 0.5 * xd * (1.0 + u.tanh())).abs() <= 1e-15 * (1.0 + xd.abs()));
            // Relative error of a few ulp; in the tails the f32 rounding of the exponent's
            // argument t (≈|t|·2^-24 absolute) becomes a relative error of the result.
            if x > -87.0 {
                let t = xd.abs();
                assert!(
                    (swish(x) as f64 - sw).abs() <= 3e-7 * (2.0 + t) * sw.abs(),
                    "swish({x})"
                );
            }
            let t = 2.0 * u.abs();
            if t < 87.0 {
                let err = (gelu_tanh(x) as f64 - ge).abs();
                assert!(err <= 3e-7 * (2.0 + t) * ge.abs() + 1e-30, "gelu({x})");
            }
            let sg = 1.0 / (1.0 + (-xd).exp());
            if x > -87.0 {
                assert!((sigmoid(x) as f64 - sg).abs() <= 3e-7 * (2.0 + xd.abs()) * sg);
            }
        }
        // Far tails: the clamped exponential keeps the result finite and within 1e-35 of 0.
        assert!(swish(-200.0) <= 0.0 && swish(-200.0) > -1e-35);
        assert_eq!(gelu_tanh(200.0), 200.0);
    }

    #[test]
    fn bias_act_rows_and_threads() {
        let d = 7;
        let x: Vec<f32> = (0..d * 300)
            .map(|i| ((i * 37) % 101) as f32 * 0.1 - 5.0)
            .collect();
        let b: Vec<f32> = (0..d).map(|i| i as f32 * 0.3 - 1.0).collect();
        let run = |threads: usize, act: Act| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let mut y = x.clone();
            pool.install(|| bias_act(&mut y, d, Some(&b), act));
            y
        };
        for act in [Act::Identity, Act::Swish, Act::Gelu] {
            let y1 = run(1, act);
            let y2 = run(2, act);
            assert!(y1.iter().zip(&y2).all(|(p, q)| p.to_bits() == q.to_bits()));
            for (i, v) in y1.iter().enumerate() {
                let z = x[i] + b[i % d];
                let want = match act {
                    Act::Identity => z,
                    Act::Swish => swish(z),
                    Act::Gelu => gelu_tanh(z),
                };
                assert_eq!(v.to_bits(), want.to_bits());
            }
            // Every instruction-set variant equals the scalar functions exactly.
            for isa in crate::kernels::isa::Isa::supported() {
                let mut s = x.clone();
                bias_act_with(isa, &mut s, Some(&b), act);
                assert!(
                    s.iter().zip(&y1).all(|(p, q)| p.to_bits() == q.to_bits()),
                    "{isa}"
                );
            }
        }
    }
}
