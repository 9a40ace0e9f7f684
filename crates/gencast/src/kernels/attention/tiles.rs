//! The per-tile steps of [`super::AttentionPlan::attend_in`]: scores of a query group against one
//! key tile, the group's masked softmax, and the weighted sum over one tile, each dispatched to
//! the hand-written x86-64 micro-kernels or compiled for the active instruction set.

use super::{lane_tree_sum, GROUP, TILE};
use crate::kernels::activation::exp_f32;
use crate::kernels::isa::{multiversion, Isa};

/// Output columns per pass of the weighted-sum kernels (the values' rows are padded to it).
pub(super) const PV_COLS: usize = 32;

/// Raw scores of a group against one key tile: `s[r·w + l] = Σ_d q[r·dh + d]·panel[16d + l]`
/// for the [`GROUP`] rows `r` and 16 keys `l`, one fused multiply-add chain from `+0` over `d`
/// in order.
pub(super) fn score_tile(isa: Isa, q: &[f32], panel: &[f32], dh: usize, s: &mut [f32], w: usize) {
    assert!(q.len() >= GROUP * dh && panel.len() >= dh * TILE);
    assert!(w >= TILE && s.len() >= (GROUP - 1) * w + TILE);
    #[cfg(target_arch = "x86_64")]
    {
        use crate::kernels::isa::Kind;
        match isa.kind() {
            // SAFETY: an `Isa` of this kind exists only on CPUs with these features; the bounds
            // of every access are asserted above.
            Kind::Avx512 => return unsafe { super::x86::score_tile_avx512(q, panel, dh, s, w) },
            // SAFETY: as above.
            Kind::Avx2 => return unsafe { super::x86::score_tile_avx2(q, panel, dh, s, w) },
            _ => {}
        }
    }
    score_tile_portable(isa, q, panel, dh, s, w)
}

/// [`score_tile`] for two key tiles whose scores lie side by side (`s[r·w + 16..]` holds the
/// second tile's), with the same chains.
pub(super) fn score_pair(
    isa: Isa,
    q: &[f32],
    panels: [&[f32]; 2],
    dh: usize,
    s: &mut [f32],
    w: usize,
) {
    assert!(q.len() >= GROUP * dh && panels.iter().all(|p| p.len() >= dh * TILE));
    assert!(w >= 2 * TILE && s.len() >= (GROUP - 1) * w + 2 * TILE);
    #[cfg(target_arch = "x86_64")]
    if let crate::kernels::isa::Kind::Avx512 = isa.kind() {
        // SAFETY: an `Isa` of this kind exists only on CPUs with these features; the bounds of
        // every access are asserted above.
        return unsafe { super::x86::score_pair_avx512(q, panels, dh, s, w) };
    }
    score_tile(isa, q, panels[0], dh, s, w);
    score_tile(isa, q, panels[1], dh, &mut s[TILE..], w);
}

/// Portable form of [`score_tile`], four rows at a time.
#[inline(always)]
fn score_tile_generic(q: &[f32], panel: &[f32], dh: usize, s: &mut [f32], w: usize) {
    const R: usize = 4;
    for r0 in (0..GROUP).step_by(R) {
        let mut acc = [[0.0f32; TILE]; R];
        for (d, prow) in panel[..dh * TILE].chunks_exact(TILE).enumerate() {
            for (r, a) in acc.iter_mut().enumerate() {
                let x = q[(r0 + r) * dh + d];
                for l in 0..TILE {
                    a[l] = x.mul_add(prow[l], a[l]);
                }
            }
        }
        for (r, a) in acc.iter().enumerate() {
            s[(r0 + r) * w..][..TILE].copy_from_slice(a);
        }
    }
}

multiversion! {
    /// [`score_tile_generic`] compiled for `isa`.
    fn score_tile_portable(q: &[f32], panel: &[f32], dh: usize, s: &mut [f32], w: usize) =
        score_tile_generic;
}

/// Softmax of each row of a group's scores `s` (`[GROUP][16·nt]`, raw) over the row's
/// neighbours (`masks`, `[GROUP][nt]`): scaled scores, their maximum, `e = exp(x − max)` summed
/// into lane `l` of the tile slot (= rank mod 16) tile by tile, the lanes combined in a fixed
/// tree, then `e/sum`; every other entry, and every row from `rows` on, becomes `+0`.
#[inline(always)]
fn softmax_group_generic(s: &mut [f32], masks: &[u16], nt: usize, rows: usize, scale: f32) {
    let w = nt * TILE;
    for (r, row) in s.chunks_exact_mut(w).take(GROUP).enumerate() {
        if r >= rows {
            row.fill(0.0);
            continue;
        }
        let m = &masks[r * nt..(r + 1) * nt];
        let mut mx = [f32::NEG_INFINITY; TILE];
        for (x, &bits) in row.chunks_exact_mut(TILE).zip(m) {
            for l in 0..TILE {
                let y = x[l] * scale;
                x[l] = y;
                let on = (bits >> l) & 1 != 0;
                mx[l] = if on && y > mx[l] { y } else { mx[l] };
            }
        }
        let mx = mx
            .iter()
            .fold(f32::NEG_INFINITY, |a, &b| if b > a { b } else { a });
        let mut acc = [0.0f32; TILE];
        for (x, &bits) in row.chunks_exact_mut(TILE).zip(m) {
            for l in 0..TILE {
                let on = (bits >> l) & 1 != 0;
                let e = exp_f32(x[l] - mx);
                let e = if on { e } else { 0.0 };
                x[l] = e;
                acc[l] += e;
            }
        }
        let sum = lane_tree_sum(acc);
        for x in row.iter_mut() {
            *x /= sum;
        }
    }
}

/// [`softmax_group_generic`] on the instruction set `isa`: the hand-written AVX-512 kernel, or the
/// generic form compiled for `isa`; every variant returns the same bits (the lane structure is
/// explicit and nothing is fused).
pub(super) fn softmax_group(
    isa: Isa,
    s: &mut [f32],
    masks: &[u16],
    nt: usize,
    rows: usize,
    scale: f32,
) {
    assert!(s.len() >= GROUP * nt * TILE && masks.len() >= GROUP * nt);
    #[cfg(target_arch = "x86_64")]
    if let crate::kernels::isa::Kind::Avx512 = isa.kind() {
        // SAFETY: an `Isa` of this kind exists only on CPUs with these features; the bounds of
        // every access are asserted above.
        return unsafe { super::x86::softmax_group_avx512(s, masks, nt, rows, scale) };
    }
    softmax_group_portable(isa, s, masks, nt, rows, scale)
}

multiversion! {
    /// [`softmax_group_generic`] compiled for `isa`.
    fn softmax_group_portable(s: &mut [f32], masks: &[u16], nt: usize, rows: usize, scale: f32) =
        softmax_group_generic;
}

/// Adds one key tile to a group's weighted sums: `o[r·dhp + c] = p[r·w + l]·v[l·vrow + c] +
/// o[r·dhp + c]` for the 16 keys `l` in order (fused), the [`GROUP`] rows `r` and the `dhp`
/// columns `c` (a multiple of [`PV_COLS`]).
pub(super) fn weighted_tile(
    isa: Isa,
    p: &[f32],
    w: usize,
    v: &[f32],
    vrow: usize,
    dhp: usize,
    o: &mut [f32],
) {
    assert!(dhp.is_multiple_of(PV_COLS) && o.len() >= GROUP * dhp);
    assert!(w >= TILE && p.len() >= (GROUP - 1) * w + TILE);
    assert!(vrow >= dhp && v.len() >= (TILE - 1) * vrow + dhp);
    // AVX-512 runs whole groups ([`weighted_group`]); this serves the other paths.
    #[cfg(target_arch = "x86_64")]
    if let crate::kernels::isa::Kind::Avx2 = isa.kind() {
        // SAFETY: an `Isa` of this kind exists only on CPUs with these features; the bounds of
        // every access are asserted above.
        return unsafe { super::x86::weighted_tile_avx2(p, w, v, vrow, dhp, o) };
    }
    weighted_tile_portable(isa, p, w, v, vrow, dhp, o)
}

/// The weighted sums of one group over all its key tiles: `o[r·dhp + c]` (overwritten) is the
/// chain of [`weighted_tile`] from `+0` over the keys of `tiles` in order, with the group's
/// probabilities `p` (`[GROUP][16·tiles.len()]`) and the head's value tiles `vh` (tile `t` at
/// `vh[t·vtile..]`, rows of `dhp`).
pub(super) fn weighted_group(
    isa: Isa,
    p: &[f32],
    tiles: &[u32],
    vh: &[f32],
    vtile: usize,
    dhp: usize,
    o: &mut [f32],
) {
    let w = tiles.len() * TILE;
    assert!(dhp.is_multiple_of(PV_COLS) && vtile >= TILE * dhp && o.len() >= GROUP * dhp);
    assert!(!tiles.is_empty() && p.len() >= GROUP * w);
    assert!(tiles.iter().all(|&t| (t as usize + 1) * vtile <= vh.len()));
    #[cfg(target_arch = "x86_64")]
    if let crate::kernels::isa::Kind::Avx512 = isa.kind() {
        // SAFETY: an `Isa` of this kind exists only on CPUs with these features; the bounds of
        // every access are asserted above.
        return unsafe { super::x86::weighted_group_avx512(p, tiles, vh, vtile, dhp, o) };
    }
    o[..GROUP * dhp].fill(0.0);
    for (slot, &t) in tiles.iter().enumerate() {
        let v = &vh[t as usize * vtile..][..vtile];
        weighted_tile(isa, &p[slot * TILE..], w, v, dhp, dhp, o);
    }
}

/// Portable form of [`weighted_tile`].
#[inline(always)]
fn weighted_tile_generic(p: &[f32], w: usize, v: &[f32], vrow: usize, dhp: usize, o: &mut [f32]) {
    for (r, orow) in o.chunks_exact_mut(dhp).take(GROUP).enumerate() {
        for l in 0..TILE {
            let a = p[r * w + l];
            let vl = &v[l * vrow..l * vrow + dhp];
            for (oc, &vc) in orow.iter_mut().zip(vl) {
                *oc = a.mul_add(vc, *oc);
            }
        }
    }
}

multiversion! {
    /// [`weighted_tile_generic`] compiled for `isa`.
    fn weighted_tile_portable(
        p: &[f32],
        w: usize,
        v: &[f32],
        vrow: usize,
        dhp: usize,
        o: &mut [f32],
    ) = weighted_tile_generic;
}
