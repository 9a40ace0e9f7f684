//! Float32 angle helpers that give the same bits as NumPy's float32 ufuncs on x86-64 with FMA
//! (NumPy ≥ 1.22): `deg2rad`, `rad2deg`, `sin`, `cos`, `mod`.
//!
//! NumPy evaluates float32 `sin`/`cos` with a Cody–Waite range reduction and short minimax
//! polynomials (all fused multiply-adds), not with the C library. Their results differ from the
//! correctly rounded ones by one unit in the last place for roughly 15% of arguments, and the
//! grid positions (hence which mesh nodes are in range of a grid point) depend on those bits.

/// `np.deg2rad` on float32: multiplication by `float32(pi) / 180` rounded to float32.
pub(crate) fn deg2rad(x: f32) -> f32 {
    const DEG2RAD: f32 = std::f32::consts::PI / 180.0;
    x * DEG2RAD
}

/// `np.rad2deg` on float32: multiplication by `180 / float32(pi)` rounded to float32.
pub(crate) fn rad2deg(x: f32) -> f32 {
    const RAD2DEG: f32 = 180.0 / std::f32::consts::PI;
    x * RAD2DEG
}

/// `np.mod(x, m)` on float32 for a positive modulus: the result takes the sign of `m`.
pub(crate) fn mod_positive(x: f32, m: f32) -> f32 {
    let r = x % m;
    if r == 0.0 {
        0.0
    } else if r < 0.0 {
        r + m
    } else {
        r
    }
}

/// Largest |x| handled by the polynomial path (NumPy falls back to the C library beyond it).
const MAX_CODY_SIN: f32 = f32::from_bits(0x47e5_5dff); // 117435.992f
/// Same bound for the cosine.
const MAX_CODY_COS: f32 = f32::from_bits(0x478b_9a08); // 71476.0625f

/// Reduces `x` by `q·π/2` with a three-part Cody–Waite constant; returns (reduced, q).
fn reduce(x: f32) -> (f32, i32) {
    const TWO_OVER_PI: f32 = f32::from_bits(0x3f22_f983); // 0x1.45f306p-1
    const PIO2_HIGH: f32 = -f32::from_bits(0x3fc9_0fd8); // -0x1.921fb0p+00
    const PIO2_MED: f32 = -f32::from_bits(0x34a8_885a); // -0x1.5110b4p-22
    const PIO2_LOW: f32 = -f32::from_bits(0x27c2_34c4); // -0x1.846988p-48
    const RINT_MAGIC: f32 = f32::from_bits(0x4b40_0000); // 0x1.8p+23
    let q = (x * TWO_OVER_PI + RINT_MAGIC) - RINT_MAGIC;
    let mut r = q.mul_add(PIO2_HIGH, x);
    r = q.mul_add(PIO2_MED, r);
    r = q.mul_add(PIO2_LOW, r);
    (r, q as i32)
}

/// Cosine polynomial on [-π/4, π/4], argument `x²`.
fn cos_poly(x2: f32) -> f32 {
    const C8: f32 = f32::from_bits(0x37cc_730b); // 0x1.98e616p-16
    const C6: f32 = -f32::from_bits(0x3ab6_036e); // -0x1.6c06dcp-10
    const C4: f32 = f32::from_bits(0x3d2a_aa9e); // 0x1.55553cp-05
    let mut r = C8.mul_add(x2, C6);
    r = r.mul_add(x2, C4);
    r = r.mul_add(x2, -0.5);
    r.mul_add(x2, 1.0)
}

/// Sine polynomial on [-π/4, π/4].
fn sin_poly(x: f32, x2: f32) -> f32 {
    const S9: f32 = f32::from_bits(0x363e_9dde); // 0x1.7d3bbcp-19
    const S7: f32 = -f32::from_bits(0x3950_35dd); // -0x1.a06bbap-13
    const S5: f32 = f32::from_bits(0x3c08_88cd); // 0x1.11119ap-07
    const S3: f32 = -f32::from_bits(0x3e2a_aaab); // -0x1.555556p-03
    let mut r = S9.mul_add(x2, S7);
    r = r.mul_add(x2, S5);
    r = r.mul_add(x2, S3);
    r = r.mul_add(x2, 0.0);
    r.mul_add(x, x)
}

/// Shared body: `quadrant_offset` is 0 for sine and 1 for cosine.
fn sincos(x: f32, quadrant_offset: i32) -> f32 {
    let (r, q) = reduce(x);
    let r2 = r * r;
    let iq = q.wrapping_add(quadrant_offset);
    let v = if iq & 1 == 0 {
        sin_poly(r, r2)
    } else {
        cos_poly(r2)
    };
    if iq & 2 == 2 {
        0.0 - v
    } else {
        v
    }
}

/// `np.sin` on float32.
pub(crate) fn sin(x: f32) -> f32 {
    if x.is_nan() {
        return f32::NAN;
    }
    if x.abs() > MAX_CODY_SIN {
        return x.sin();
    }
    sincos(x, 0)
}

/// `np.cos` on float32.
pub(crate) fn cos(x: f32) -> f32 {
    if x.is_nan() {
        return f32::NAN;
    }
    if x.abs() > MAX_CODY_COS {
        return x.cos();
    }
    sincos(x, 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `m · 2^e`, exact for the constants below (their mantissas fit in 24 bits).
    fn hexf(m: u32, e: i32) -> f32 {
        (f64::from(m) * 2f64.powi(e)) as f32
    }

    #[test]
    fn constants_match_their_hex_float_spelling() {
        // Each bit pattern above is the float32 written as a hex float in NumPy's source.
        let cases: [(f32, f32); 12] = [
            (f32::from_bits(0x3f22_f983), hexf(0x145f306, -1 - 24)),
            (f32::from_bits(0x3fc9_0fd8), hexf(0x1921fb0, -24)),
            (f32::from_bits(0x34a8_885a), hexf(0x15110b4, -22 - 24)),
            (f32::from_bits(0x27c2_34c4), hexf(0x1846988, -48 - 24)),
            (f32::from_bits(0x4b40_0000), hexf(0x1800000, 23 - 24)),
            (f32::from_bits(0x37cc_730b), hexf(0x198e616, -16 - 24)),
            (f32::from_bits(0x3ab6_036e), hexf(0x16c06dc, -10 - 24)),
            (f32::from_bits(0x3d2a_aa9e), hexf(0x155553c, -5 - 24)),
            (f32::from_bits(0x363e_9dde), hexf(0x17d3bbc, -19 - 24)),
            (f32::from_bits(0x3950_35dd), hexf(0x1a06bba, -13 - 24)),
            (f32::from_bits(0x3c08_88cd), hexf(0x111119a, -7 - 24)),
            (f32::from_bits(0x3e2a_aaab), hexf(0x1555556, -3 - 24)),
        ];
        for (i, (a, b)) in cases.iter().enumerate() {
            assert_eq!(a.to_bits(), b.to_bits(), "constant {i}");
        }
    }

    #[test]
    fn close_to_correctly_rounded() {
        // The polynomials are accurate to < 1.5 ulp; compare with float64 evaluation.
        let mut x = -7.0f32;
        while x < 7.0 {
            let s = f64::from(x).sin();
            let c = f64::from(x).cos();
            // 1.5 ulp relative (documented accuracy of the polynomials, with margin) plus a
            // tiny absolute term for results near zero.
            let tol = |v: f64| 1.5 * f64::from(f32::EPSILON) * v.abs() + 1e-12;
            assert!((f64::from(sin(x)) - s).abs() <= tol(s), "sin {x}");
            assert!((f64::from(cos(x)) - c).abs() <= tol(c), "cos {x}");
            x += 0.001;
        }
    }
}
