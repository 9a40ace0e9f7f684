//! Hand-written x86-64 micro-kernels of the steps in [`super::tiles`]: scores, the masked
//! softmax (AVX-512 only) and weighted sums. The callers check every bound; the kernels compute
//! exactly the chains of the portable forms.

// Register arrays indexed by row read more plainly than iterator chains.
#![allow(clippy::needless_range_loop)]
use super::tiles::PV_COLS;
use super::{lane_tree_sum, GROUP, TILE};
use crate::kernels::activation::exp_f32_avx512;
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

/// [`super::tiles::score_pair`] with AVX-512: the 8 rows × 32 keys of two tiles in 16
/// registers, so each broadcast query value feeds two products.
#[target_feature(enable = "avx512f,avx2,fma")]
pub(super) unsafe fn score_pair_avx512(
    q: &[f32],
    panels: [&[f32]; 2],
    dh: usize,
    s: &mut [f32],
    w: usize,
) {
    const _: () = assert!(GROUP == 8 && TILE == 16);
    let (qp, sp) = (q.as_ptr(), s.as_mut_ptr());
    let (ka, kb) = (panels[0].as_ptr(), panels[1].as_ptr());
    let mut a0 = [_mm512_setzero_ps(); 8];
    let mut a1 = [_mm512_setzero_ps(); 8];
    for d in 0..dh {
        let k0 = _mm512_loadu_ps(ka.add(d * TILE));
        let k1 = _mm512_loadu_ps(kb.add(d * TILE));
        for r in 0..8 {
            let x = _mm512_set1_ps(*qp.add(r * dh + d));
            a0[r] = _mm512_fmadd_ps(x, k0, a0[r]);
            a1[r] = _mm512_fmadd_ps(x, k1, a1[r]);
        }
    }
    for r in 0..8 {
        _mm512_storeu_ps(sp.add(r * w), a0[r]);
        _mm512_storeu_ps(sp.add(r * w + TILE), a1[r]);
    }
}

/// [`super::tiles::softmax_group`] with AVX-512: each tile's neighbour bits are the lane mask.
#[target_feature(enable = "avx512f,avx2,fma")]
pub(super) unsafe fn softmax_group_avx512(
    s: &mut [f32],
    masks: &[u16],
    nt: usize,
    rows: usize,
    scale: f32,
) {
    let w = nt * TILE;
    let sc = _mm512_set1_ps(scale);
    for r in 0..GROUP {
        let row = s.as_mut_ptr().add(r * w);
        if r >= rows {
            std::ptr::write_bytes(row, 0, w);
            continue;
        }
        let m = masks.as_ptr().add(r * nt);
        let mut mx = _mm512_set1_ps(f32::NEG_INFINITY);
        for t in 0..nt {
            let y = _mm512_mul_ps(_mm512_loadu_ps(row.add(t * TILE)), sc);
            _mm512_storeu_ps(row.add(t * TILE), y);
            let gt = _mm512_mask_cmp_ps_mask::<_CMP_GT_OQ>(*m.add(t), y, mx);
            mx = _mm512_mask_mov_ps(mx, gt, y);
        }
        let mut lanes = [0.0f32; TILE];
        _mm512_storeu_ps(lanes.as_mut_ptr(), mx);
        let mx = lanes
            .iter()
            .fold(f32::NEG_INFINITY, |a, &b| if b > a { b } else { a });
        let mx = _mm512_set1_ps(mx);
        let mut acc = _mm512_setzero_ps();
        for t in 0..nt {
            let x = _mm512_sub_ps(_mm512_loadu_ps(row.add(t * TILE)), mx);
            let e = _mm512_maskz_mov_ps(*m.add(t), exp_f32_avx512(x));
            _mm512_storeu_ps(row.add(t * TILE), e);
            acc = _mm512_add_ps(acc, e);
        }
        _mm512_storeu_ps(lanes.as_mut_ptr(), acc);
        let sum = _mm512_set1_ps(lane_tree_sum(lanes));
        for t in 0..nt {
            let x = _mm512_loadu_ps(row.add(t * TILE));
            _mm512_storeu_ps(row.add(t * TILE), _mm512_div_ps(x, sum));
        }
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

/// [`super::tiles::weighted_group`] with AVX-512: per 32 columns, the 8 rows' sums stay in 16
/// registers from `+0` through every key of every tile, and are stored once.
#[target_feature(enable = "avx512f,avx2,fma")]
pub(super) unsafe fn weighted_group_avx512(
    p: &[f32],
    tiles: &[u32],
    vh: &[f32],
    vtile: usize,
    dhp: usize,
    o: &mut [f32],
) {
    const _: () = assert!(PV_COLS == 32 && GROUP == 8);
    let w = tiles.len() * TILE;
    let (pp, vp, op) = (p.as_ptr(), vh.as_ptr(), o.as_mut_ptr());
    for c0 in (0..dhp).step_by(PV_COLS) {
        let mut a0 = [_mm512_setzero_ps(); 8];
        let mut a1 = [_mm512_setzero_ps(); 8];
        for (slot, &t) in tiles.iter().enumerate() {
            let base = vp.add(t as usize * vtile + c0);
            let pt = pp.add(slot * TILE);
            for l in 0..TILE {
                let row = base.add(l * dhp);
                let v0 = _mm512_loadu_ps(row);
                let v1 = _mm512_loadu_ps(row.add(16));
                for r in 0..8 {
                    let x = _mm512_set1_ps(*pt.add(r * w + l));
                    a0[r] = _mm512_fmadd_ps(x, v0, a0[r]);
                    a1[r] = _mm512_fmadd_ps(x, v1, a1[r]);
                }
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
