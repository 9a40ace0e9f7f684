//! Multi-head softmax attention restricted to per-node neighbourhoods (CSR lists).
//!
//! For query node `i`, head `h`: `s_j = (q_ih · k_jh)/sqrt(dh)` over the neighbours `j` of `i`,
//! `a_j = exp(s_j − max s)/Σ exp(s − max s)` and `o_ih = Σ_j a_j v_jh`. This is the masked
//! attention of the reference's `mha`, `triblockdiag_mha` and `splash_mha` paths alike, since
//! masked entries contribute exactly zero there.
//!
//! The arithmetic is fixed so that every instruction set, every blocking and every thread count
//! gives the same bits. The nodes get a global rank (a spatially compact order, see
//! [`bisection_order`]); each score is one fused multiply-add chain over `d = 0..dh` from `+0`,
//! then multiplied by the scale; the softmax sum of query `i` adds `e_j` into lane `rank(j) mod 16`
//! in ascending rank and combines the 16 lanes in a fixed tree; each output is one fused
//! multiply-add chain `o = a_j·v_j + o` from `+0` over the neighbours in ascending rank.
//! [`AttentionPlan`] computes this on tiles of 16 rank-consecutive keys: the extra keys of a tile
//! get weight exactly `+0`, which leaves every sum and chain unchanged for finite inputs (up to
//! the sign of a zero result), so it matches the per-node oracle (`oracle::sparse_attention`, compiled for the tests) bit for bit.

use super::isa::{active, Isa};
use crate::{Error, Result};
use rayon::prelude::*;

#[cfg(test)]
mod oracle;
#[cfg(test)]
mod tests;
mod tiles;
#[cfg(target_arch = "x86_64")]
mod x86;

use tiles::{score_pair, score_tile, softmax_group, weighted_group, PV_COLS};

/// Keys per tile (one AVX-512 register of `f32`); also the number of softmax-sum lanes.
pub const TILE: usize = 16;

/// Queries per row group: the queries that share one list of key tiles.
pub const GROUP: usize = 8;

/// Row groups per parallel task.
const GROUPS_PER_TASK: usize = 8;

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

/// A spatially compact order of the points `pos` (`order[rank] = point`): recursive bisection
/// at the median of the coordinate of largest extent (ties broken by point index). Every range
/// of ranks `[16t, 16t + 16)` and `[8g, 8g + 8)` is one cell of the bisection, so key tiles and
/// query groups are compact clusters of points.
pub fn bisection_order(pos: &[[f32; 3]]) -> Vec<u32> {
    let mut ids: Vec<u32> = (0..pos.len() as u32).collect();
    bisect(pos, &mut ids);
    ids
}

fn bisect(pos: &[[f32; 3]], ids: &mut [u32]) {
    let n = ids.len();
    if n <= GROUP {
        ids.sort_unstable();
        return;
    }
    // Left parts are whole tiles (or one group inside a tile), so cells align with both.
    let left = if n > TILE {
        ((n + TILE / 2) / (2 * TILE) * TILE).clamp(TILE, (n - 1) / TILE * TILE)
    } else {
        GROUP
    };
    let mut lo = [f32::INFINITY; 3];
    let mut hi = [f32::NEG_INFINITY; 3];
    for &i in ids.iter() {
        for a in 0..3 {
            lo[a] = lo[a].min(pos[i as usize][a]);
            hi[a] = hi[a].max(pos[i as usize][a]);
        }
    }
    let axis = (0..3)
        .max_by(|&a, &b| (hi[a] - lo[a]).total_cmp(&(hi[b] - lo[b])).then(b.cmp(&a)))
        .unwrap_or(0);
    ids.select_nth_unstable_by(left, |&x, &y| {
        pos[x as usize][axis]
            .total_cmp(&pos[y as usize][axis])
            .then(x.cmp(&y))
    });
    let (a, b) = ids.split_at_mut(left);
    bisect(pos, a);
    bisect(pos, b);
}

/// Shapes shared by the attention kernels (the plan reads the scale; the per-node oracle of the
/// tests reads them all).
#[derive(Clone, Copy)]
#[cfg_attr(not(test), allow(dead_code))]
struct Dims {
    stride: usize,
    heads: usize,
    dh: usize,
    scale: f32,
}

impl Dims {
    /// Checks the buffers of an attention call over `n` nodes.
    #[allow(clippy::too_many_arguments)]
    fn new(
        n: usize,
        q: &[f32],
        k: &[f32],
        v: &[f32],
        stride: usize,
        heads: usize,
        dh: usize,
        out: &[f32],
    ) -> Dims {
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
        Dims {
            stride,
            heads,
            dh,
            scale: (1.0 / (dh as f64).sqrt()) as f32,
        }
    }
}

/// Sums 16 lane accumulators in a fixed pairwise tree.
#[inline(always)]
fn lane_tree_sum(acc: [f32; TILE]) -> f32 {
    let mut s8 = [0.0f32; 8];
    for l in 0..8 {
        s8[l] = acc[l] + acc[l + 8];
    }
    let s4 = [s8[0] + s8[4], s8[1] + s8[5], s8[2] + s8[6], s8[3] + s8[7]];
    (s4[0] + s4[2]) + (s4[1] + s4[3])
}

/// Precomputed sparse structure for [`AttentionPlan::attend_in`]. The nodes are ranked in a compact
/// order ([`bisection_order`]); keys come in tiles of [`TILE`] rank-consecutive nodes and queries
/// in groups of [`GROUP`] rank-consecutive nodes. Each group computes its scores and weighted
/// sums only over the key tiles that hold at least one neighbour of one of its queries; a bit
/// mask per (query, tile) selects the query's own neighbours for the softmax.
#[derive(Clone, Debug, Default)]
pub struct AttentionPlan {
    n: usize,
    /// `order[rank] = node`.
    order: Vec<u32>,
    /// `rank[node]`, the inverse of `order`.
    rank: Vec<u32>,
    /// Group `g` uses the key tiles `tiles[tile_off[g]..tile_off[g+1]]` (ascending).
    tile_off: Vec<u32>,
    /// Tile numbers (tile `t` holds the ranks `16t..16t+16`).
    tiles: Vec<u32>,
    /// Group `g`, row `r`, its `s`-th tile: `masks[GROUP·tile_off[g] + r·nt + s]` (with
    /// `nt = tile_off[g+1] − tile_off[g]`) has bit `l` set when rank `16t + l` is a neighbour.
    masks: Vec<u16>,
    /// Number of (query, key) pairs of the neighbourhoods.
    needed: usize,
    /// Number of (query, key) pairs the kernels compute.
    computed: usize,
}

impl AttentionPlan {
    /// Builds the plan for neighbourhoods `offsets`/`indices` (without repeats) over the nodes at
    /// `positions` (points in space, e.g. on the unit sphere), which only set the compact order.
    pub fn new(offsets: &[u32], indices: &[u32], positions: &[[f32; 3]]) -> Result<AttentionPlan> {
        // `with_order` checks the neighbourhoods against the number of positions.
        Self::with_order(offsets, indices, bisection_order(positions))
    }

    /// Builds the plan with the node ranks `order` (`order[rank] = node`, a permutation).
    pub fn with_order(offsets: &[u32], indices: &[u32], order: Vec<u32>) -> Result<AttentionPlan> {
        let n = order.len();
        validate_csr(offsets, indices, n)?;
        let mut rank = vec![u32::MAX; n];
        for (r, &i) in order.iter().enumerate() {
            match rank.get_mut(i as usize) {
                Some(slot) if *slot == u32::MAX => *slot = r as u32,
                _ => {
                    return Err(Error::Invalid(format!(
                        "attention order: node {i} repeated or out of range"
                    )))
                }
            }
        }
        let groups: Vec<(Vec<u32>, Vec<u16>)> = (0..n.div_ceil(GROUP))
            .into_par_iter()
            .map(|g| {
                let rows = &order[g * GROUP..n.min((g + 1) * GROUP)];
                let mut tiles: Vec<u32> = rows
                    .iter()
                    .flat_map(|&i| {
                        &indices[offsets[i as usize] as usize..offsets[i as usize + 1] as usize]
                    })
                    .map(|&j| rank[j as usize] / TILE as u32)
                    .collect();
                tiles.sort_unstable();
                tiles.dedup();
                let nt = tiles.len();
                let mut masks = vec![0u16; GROUP * nt];
                for (r, &i) in rows.iter().enumerate() {
                    let nb =
                        &indices[offsets[i as usize] as usize..offsets[i as usize + 1] as usize];
                    for &j in nb {
                        let rj = rank[j as usize] as usize;
                        // Every neighbour's tile is in the list.
                        let s = tiles.binary_search(&((rj / TILE) as u32)).unwrap_or(0);
                        let bit = 1u16 << (rj % TILE);
                        if masks[r * nt + s] & bit != 0 {
                            return Err(Error::Invalid(format!(
                                "attention neighbourhoods: node {i} lists {j} twice"
                            )));
                        }
                        masks[r * nt + s] |= bit;
                    }
                }
                Ok((tiles, masks))
            })
            .collect::<Result<_>>()?;
        let mut tile_off = vec![0u32];
        let (mut tiles, mut masks) = (Vec::new(), Vec::new());
        let mut computed = 0;
        for (g, (t, m)) in groups.into_iter().enumerate() {
            computed += (n - g * GROUP).min(GROUP) * t.len() * TILE;
            tiles.extend(t);
            masks.extend(m);
            tile_off.push(tiles.len() as u32);
        }
        Ok(AttentionPlan {
            n,
            order,
            rank,
            tile_off,
            tiles,
            masks,
            needed: indices.len(),
            computed,
        })
    }

    /// Number of nodes.
    pub fn n(&self) -> usize {
        self.n
    }

    /// The rank of every node in the plan's key order (the order the per-node oracle sums in).
    pub fn rank(&self) -> &[u32] {
        &self.rank
    }

    /// Number of (query, key) pairs per head the kernels compute, the masked ones included.
    pub fn dense_pairs(&self) -> usize {
        self.computed
    }

    /// Number of (query, key) pairs per head of the neighbourhoods.
    pub fn needed_pairs(&self) -> usize {
        self.needed
    }

    /// Sparse multi-head attention with the inputs of the per-node oracle and bitwise the same
    /// result (with `rank` = [`AttentionPlan::rank`]), on the instruction set in use, with the
    /// packed keys and values in `bufs`, kept for the next call (repeated calls then do not
    /// allocate and page-fault them again).
    #[allow(clippy::too_many_arguments)]
    pub fn attend_in(
        &self,
        bufs: &mut AttentionBuffers,
        q: &[f32],
        k: &[f32],
        v: &[f32],
        stride: usize,
        heads: usize,
        dh: usize,
        out: &mut [f32],
    ) {
        self.attend_with(active(), bufs, q, k, v, stride, heads, dh, out)
    }

    /// [`AttentionPlan::attend_in`] on the instruction set `isa`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn attend_with(
        &self,
        isa: Isa,
        bufs: &mut AttentionBuffers,
        q: &[f32],
        k: &[f32],
        v: &[f32],
        stride: usize,
        heads: usize,
        dh: usize,
        out: &mut [f32],
    ) {
        let n = self.n;
        let dm = Dims::new(n, q, k, v, stride, heads, dh, out);
        if n == 0 {
            return;
        }
        let width = heads * dh;
        let dhp = dh.next_multiple_of(PV_COLS);
        let n_tiles = n.div_ceil(TILE);
        // Keys as panels `[head][tile][d][16]`, values as rows `[head][rank][dhp]`, so each
        // (head, tile) is one contiguous block. Every entry of a full tile is written; a last,
        // partial tile (and the values' padding columns) is zeroed first, so the extra keys
        // hold `+0` whatever the kept buffers held before.
        let kpanel = dh * TILE;
        let kp = grow(&mut bufs.k, heads * n_tiles * kpanel);
        kp.par_chunks_mut(kpanel)
            .enumerate()
            .for_each(|(ht, panel)| {
                let (h, t) = (ht / n_tiles, ht % n_tiles);
                let nodes = &self.order[t * TILE..n.min((t + 1) * TILE)];
                if nodes.len() < TILE {
                    panel.fill(0.0);
                }
                for (l, &i) in nodes.iter().enumerate() {
                    let src = i as usize * stride + h * dh;
                    for (d, &x) in k[src..src + dh].iter().enumerate() {
                        panel[d * TILE + l] = x;
                    }
                }
            });
        let vtile = TILE * dhp;
        let vp = grow(&mut bufs.v, heads * n_tiles * vtile);
        vp.par_chunks_mut(vtile).enumerate().for_each(|(ht, rows)| {
            let (h, t) = (ht / n_tiles, ht % n_tiles);
            let nodes = &self.order[t * TILE..n.min((t + 1) * TILE)];
            if nodes.len() < TILE || dhp > dh {
                rows.fill(0.0);
            }
            for (l, &i) in nodes.iter().enumerate() {
                let src = i as usize * stride + h * dh;
                rows[l * dhp..l * dhp + dh].copy_from_slice(&v[src..src + dh]);
            }
        });
        let out_ptr = OutRows(out.as_mut_ptr());
        let ngroups = n.div_ceil(GROUP);
        (0..ngroups.div_ceil(GROUPS_PER_TASK))
            .into_par_iter()
            .for_each_init(TaskScratch::default, |sc, task| {
                let groups = task * GROUPS_PER_TASK..ngroups.min((task + 1) * GROUPS_PER_TASK);
                let g0 = groups.start;
                let ng = groups.len();
                let tiles_of = |g: usize| {
                    &self.tiles[self.tile_off[g] as usize..self.tile_off[g + 1] as usize]
                };
                // The scores go by pairs of a group's consecutive tiles (slots 2k and 2k + 1),
                // every pair of the task ordered by its first tile, so that a key tile serves
                // all its groups while it is in cache. Each score is computed whole, so the
                // order does not change any bit.
                sc.pairs.clear();
                sc.poff.clear();
                let mut off = 0;
                for (gi, g) in groups.clone().enumerate() {
                    let tiles = tiles_of(g);
                    sc.pairs.extend(
                        tiles
                            .iter()
                            .enumerate()
                            .step_by(2)
                            .map(|(slot, &t)| (t, gi as u32, slot as u32)),
                    );
                    sc.poff.push(off);
                    off += GROUP * tiles.len() * TILE;
                }
                sc.pairs.sort_unstable();
                let pbuf = grow(&mut sc.p, off);
                let qbuf = grow(&mut sc.q, ng * GROUP * dh);
                let obuf = grow(&mut sc.o, ng * GROUP * dhp);
                let nodes_of = |g: usize| &self.order[g * GROUP..n.min((g + 1) * GROUP)];
                for h in 0..heads {
                    qbuf.fill(0.0);
                    for (gi, g) in groups.clone().enumerate() {
                        for (r, &i) in nodes_of(g).iter().enumerate() {
                            let src = i as usize * stride + h * dh;
                            qbuf[(gi * GROUP + r) * dh..][..dh].copy_from_slice(&q[src..src + dh]);
                        }
                    }
                    let panel = |t: u32| &kp[(h * n_tiles + t as usize) * kpanel..][..kpanel];
                    for &(t, gi, slot) in &sc.pairs {
                        let (gi, slot) = (gi as usize, slot as usize);
                        let tiles = tiles_of(g0 + gi);
                        let w = tiles.len() * TILE;
                        let q = &qbuf[gi * GROUP * dh..(gi + 1) * GROUP * dh];
                        let s = &mut pbuf[sc.poff[gi] + slot * TILE..];
                        match tiles.get(slot + 1) {
                            Some(&t2) => score_pair(isa, q, [panel(t), panel(t2)], dh, s, w),
                            None => score_tile(isa, q, panel(t), dh, s, w),
                        }
                    }
                    for (gi, g) in groups.clone().enumerate() {
                        let (t0, t1) = (self.tile_off[g] as usize, self.tile_off[g + 1] as usize);
                        let w = (t1 - t0) * TILE;
                        softmax_group(
                            isa,
                            &mut pbuf[sc.poff[gi]..sc.poff[gi] + GROUP * w],
                            &self.masks[GROUP * t0..GROUP * t1],
                            t1 - t0,
                            nodes_of(g).len(),
                            dm.scale,
                        );
                    }
                    let vh = &vp[h * n_tiles * vtile..(h + 1) * n_tiles * vtile];
                    for gi in 0..ng {
                        let tiles = tiles_of(g0 + gi);
                        weighted_group(
                            isa,
                            &pbuf[sc.poff[gi]..sc.poff[gi] + GROUP * tiles.len() * TILE],
                            tiles,
                            vh,
                            vtile,
                            dhp,
                            &mut obuf[gi * GROUP * dhp..(gi + 1) * GROUP * dhp],
                        );
                    }
                    for (gi, g) in groups.clone().enumerate() {
                        for (r, &i) in nodes_of(g).iter().enumerate() {
                            // SAFETY: `order` is a permutation, so node `i`'s row is written by
                            // this task only, and `i < n` keeps it inside `out` (length n·width).
                            let dst = unsafe { out_ptr.slice(i as usize * width + h * dh, dh) };
                            dst.copy_from_slice(&obuf[(gi * GROUP + r) * dhp..][..dh]);
                        }
                    }
                }
            });
    }
}

/// The packed keys and values of an attention call, kept between calls by
/// [`AttentionPlan::attend_in`].
#[derive(Debug, Default)]
pub struct AttentionBuffers {
    /// Keys as panels `[head][tile][d][16]`.
    k: Vec<f32>,
    /// Values as rows `[head][rank][dhp]`.
    v: Vec<f32>,
}

/// The output buffer, shared by the tasks that write its disjoint rows.
#[derive(Clone, Copy)]
struct OutRows(*mut f32);
impl OutRows {
    /// The `len` values from `start` on.
    ///
    /// # Safety
    /// They must lie inside the buffer and no other live slice may overlap them.
    #[allow(clippy::mut_from_ref)]
    unsafe fn slice(&self, start: usize, len: usize) -> &mut [f32] {
        std::slice::from_raw_parts_mut(self.0.add(start), len)
    }
}

// SAFETY: the tasks write disjoint rows (see `attend_with`).
unsafe impl Send for OutRows {}
// SAFETY: as above.
unsafe impl Sync for OutRows {}

/// Per-thread buffers of the attention tasks.
#[derive(Default)]
struct TaskScratch {
    /// The task's (tile, group, slot) triples of the even slots (each scored with the next
    /// slot, when there is one), by tile.
    pairs: Vec<(u32, u32, u32)>,
    /// Start of each group's scores in `p`.
    poff: Vec<usize>,
    q: Vec<f32>,
    p: Vec<f32>,
    o: Vec<f32>,
}

fn grow(v: &mut Vec<f32>, n: usize) -> &mut [f32] {
    if v.len() < n {
        v.resize(n, 0.0);
    }
    &mut v[..n]
}
