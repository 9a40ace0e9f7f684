//! Hand-written x86-64 micro-kernels of [`super::tiles::score_tile`] and
//! [`super::tiles::weighted_tile`]. The callers check
//! every bound; the kernels compute exactly the chains of the portable forms.

// Register arrays indexed by row read more plainly than iterator chains.
#![allow(clippy::needless_range_loop)]
use super::tiles::PV_COLS;
use super::{GROUP, TILE};
use std::arch::x86_64::*;

/// [`super::tiles::score_tile`] with AVX-512: the 8 rows × 16 keys in 8 registers.
#[target_feature(enable = "avx512f,avx2,fma")]
pub(super) unsafe fn score_tile_avx512(
    q: &[f32],
    panel: &[f32],
    dh: usize,
    s: &mut [f32],
    w: usize,
) {
    const _: () = assert!(GROUP == 8 && TILE == 16);
    let (qp, kp, sp) = (q.as_ptr(), panel.as_ptr(), s.as_mut_ptr());
    let mut acc = [_mm512_setzero_ps(); 8];
    for d in 0..dh {
        let k = _mm512_loadu_ps(kp.add(d * TILE));
        for r in 0..8 {
            let x = _mm512_set1_ps(*qp.add(r * dh + d));
            acc[r] = _mm512_fmadd_ps(x, k, acc[r]);
        }
    }
    for r in 0..8 {
        _mm512_storeu_ps(sp.add(r * w), acc[r]);
    }
}

/// [`super::tiles::score_tile`] with AVX2 and FMA: 4 rows × 16 keys (two registers) per pass.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn score_tile_avx2(q: &[f32], panel: &[f32], dh: usize, s: &mut [f32], w: usize) {
    let (qp, kp, sp) = (q.as_ptr(), panel.as_ptr(), s.as_mut_ptr());
    for r0 in (0..GROUP).step_by(4) {
        let mut lo = [_mm256_setzero_ps(); 4];
        let mut hi = [_mm256_setzero_ps(); 4];
        for d in 0..dh {
            let k0 = _mm256_loadu_ps(kp.add(d * TILE));
            let k1 = _mm256_loadu_ps(kp.add(d * TILE + 8));
            for r in 0..4 {
                let x = _mm256_set1_ps(*qp.add((r0 + r) * dh + d));
                lo[r] = _mm256_fmadd_ps(x, k0, lo[r]);
                hi[r] = _mm256_fmadd_ps(x, k1, hi[r]);
            }
        }
        for r in 0..4 {
            let dst = sp.add((r0 + r) * w);
            _mm256_storeu_ps(dst, lo[r]);
            _mm256_storeu_ps(dst.add(8), hi[r]);
        }
    }
}

/// [`super::tiles::weighted_tile`] with AVX-512: 8 rows × 32 columns per pass.
#[target_feature(enable = "avx512f,avx2,fma")]
pub(super) unsafe fn weighted_tile_avx512(
    p: &[f32],
    w: usize,
    v: &[f32],
    vrow: usize,
    dhp: usize,
    o: &mut [f32],
) {
    const _: () = assert!(PV_COLS == 32);
    let (pp, vp, op) = (p.as_ptr(), v.as_ptr(), o.as_mut_ptr());
    for c0 in (0..dhp).step_by(PV_COLS) {
        let mut a0 = [_mm512_setzero_ps(); 8];
        let mut a1 = [_mm512_setzero_ps(); 8];
        for r in 0..8 {
            a0[r] = _mm512_loadu_ps(op.add(r * dhp + c0));
            a1[r] = _mm512_loadu_ps(op.add(r * dhp + c0 + 16));
        }
        for l in 0..TILE {
            let row = vp.add(l * vrow + c0);
            let v0 = _mm512_loadu_ps(row);
            let v1 = _mm512_loadu_ps(row.add(16));
            for r in 0..8 {
                let x = _mm512_set1_ps(*pp.add(r * w + l));
                a0[r] = _mm512_fmadd_ps(x, v0, a0[r]);
                a1[r] = _mm512_fmadd_ps(x, v1, a1[r]);
            }
        }
        for r in 0..8 {
            _mm512_storeu_ps(op.add(r * dhp + c0), a0[r]);
            _mm512_storeu_ps(op.add(r * dhp + c0 + 16), a1[r]);
        }
    }
}

/// [`super::tiles::weighted_tile`] with AVX2 and FMA: 4 rows × 16 columns per pass.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn weighted_tile_avx2(
    p: &[f32],
    w: usize,
    v: &[f32],
    vrow: usize,
    dhp: usize,
    o: &mut [f32],
) {
    let (pp, vp, op) = (p.as_ptr(), v.as_ptr(), o.as_mut_ptr());
    for c0 in (0..dhp).step_by(16) {
        for r0 in (0..GROUP).step_by(4) {
            let mut lo = [_mm256_setzero_ps(); 4];
            let mut hi = [_mm256_setzero_ps(); 4];
            for r in 0..4 {
                lo[r] = _mm256_loadu_ps(op.add((r0 + r) * dhp + c0));
                hi[r] = _mm256_loadu_ps(op.add((r0 + r) * dhp + c0 + 8));
            }
            for l in 0..TILE {
                let row = vp.add(l * vrow + c0);
                let v0 = _mm256_loadu_ps(row);
                let v1 = _mm256_loadu_ps(row.add(8));
                for r in 0..4 {
                    let x = _mm256_set1_ps(*pp.add((r0 + r) * w + l));
                    lo[r] = _mm256_fmadd_ps(x, v0, lo[r]);
                    hi[r] = _mm256_fmadd_ps(x, v1, hi[r]);
                }
            }
            for r in 0..4 {
                let dst = op.add((r0 + r) * dhp + c0);
                _mm256_storeu_ps(dst, lo[r]);
                _mm256_storeu_ps(dst.add(8), hi[r]);
            }
        }
    }
}
