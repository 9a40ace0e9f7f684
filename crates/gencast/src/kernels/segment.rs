//! Gathers of node rows onto edges and deterministic segment sums of edge rows onto receivers.
//!
//! A [`SegmentPlan`] splits an edge set into fixed-size chunks of consecutive edges and, inside
//! each chunk, groups the edges by receiver. Accumulating chunk after chunk adds every edge to its
//! receiver strictly in edge order, which is the order of a sequential scatter-add, whatever the
//! number of threads.

use super::isa::{active, multiversion};
use crate::{Error, Result};
use rayon::prelude::*;
use std::ops::Range;

/// Edges of one chunk, grouped by receiver.
#[derive(Clone, Debug)]
struct ChunkGroups {
    range: Range<usize>,
    /// Distinct receivers of the chunk, ascending.
    receivers: Vec<u32>,
    /// `offsets[u]..offsets[u+1]` indexes `edges` for receiver `receivers[u]`.
    offsets: Vec<u32>,
    /// Chunk-local edge indices, grouped by receiver, ascending inside each group.
    edges: Vec<u32>,
}

/// Chunked, receiver-grouped view of an edge set used for segment sums.
#[derive(Clone, Debug, Default)]
pub struct SegmentPlan {
    n_receivers: usize,
    chunks: Vec<ChunkGroups>,
}

impl SegmentPlan {
    /// Builds the plan for edges with the given `receivers` (each `< n_receivers`), cut into chunks
    /// of `chunk_edges` consecutive edges.
    pub fn new(receivers: &[u32], n_receivers: usize, chunk_edges: usize) -> Result<Self> {
        if chunk_edges == 0 {
            return Err(Error::Invalid("segment plan: chunk size 0".into()));
        }
        if let Some((e, r)) = receivers
            .iter()
            .enumerate()
            .find(|(_, &r)| r as usize >= n_receivers)
        {
            return Err(Error::Invalid(format!(
                "segment plan: edge {e} has receiver {r}, but there are only {n_receivers} receivers"
            )));
        }
        let mut chunks = Vec::with_capacity(receivers.len().div_ceil(chunk_edges));
        let mut start = 0;
        while start < receivers.len() {
            let end = (start + chunk_edges).min(receivers.len());
            let local = &receivers[start..end];
            let mut order: Vec<u32> = (0..local.len() as u32).collect();
            // Stable sort: edges keep their order inside each receiver group.
            order.sort_by_key(|&e| local[e as usize]);
            let mut recv = Vec::new();
            let mut offsets = vec![0u32];
            for (i, &e) in order.iter().enumerate() {
                let r = local[e as usize];
                if recv.last() != Some(&r) {
                    if !recv.is_empty() {
                        offsets.push(i as u32);
                    }
                    recv.push(r);
                }
            }
            offsets.push(order.len() as u32);
            chunks.push(ChunkGroups {
                range: start..end,
                receivers: recv,
                offsets,
                edges: order,
            });
            start = end;
        }
        Ok(SegmentPlan {
            n_receivers,
            chunks,
        })
    }

    /// Number of receivers.
    pub fn n_receivers(&self) -> usize {
        self.n_receivers
    }

    /// Number of chunks.
    pub fn n_chunks(&self) -> usize {
        self.chunks.len()
    }

    /// The edge range of chunk `c`.
    pub fn chunk_range(&self, c: usize) -> Range<usize> {
        self.chunks[c].range.clone()
    }

    /// Adds the rows of `msg` (`[chunk edges, d]`, the messages of chunk `c`) onto their receivers'
    /// rows of `agg` (`[n_receivers, d]`), in edge order. The receivers' rows are updated in
    /// place, in parallel.
    pub fn accumulate(&self, c: usize, msg: &[f32], d: usize, agg: &mut [f32]) {
        self.accumulate_with(c, msg, d, agg, add_rows);
    }

    /// [`SegmentPlan::accumulate`] under a bfloat16 cast: every addition of a message is
    /// rounded to bfloat16 (a `segment_sum` in bfloat16), still in edge order per receiver.
    pub fn accumulate_bf16(&self, c: usize, msg: &[f32], d: usize, agg: &mut [f32]) {
        self.accumulate_with(c, msg, d, agg, super::bf16::add_rows_round);
    }

    /// Adds chunk `c`'s messages onto their receivers with `add(isa, row, msg, group, d)`.
    fn accumulate_with(
        &self,
        c: usize,
        msg: &[f32],
        d: usize,
        agg: &mut [f32],
        add: fn(super::Isa, &mut [f32], &[f32], &[u32], usize),
    ) {
        let ch = &self.chunks[c];
        assert_eq!(msg.len(), ch.range.len() * d, "segment sum: message rows");
        assert_eq!(
            agg.len(),
            self.n_receivers * d,
            "segment sum: receiver rows"
        );
        let rows = AggRows(agg.as_mut_ptr());
        let isa = active();
        ch.receivers
            .par_iter()
            .enumerate()
            .with_min_len(16)
            .for_each(|(u, &r)| {
                // SAFETY: `r < n_receivers` (checked when the plan was built) and `agg` holds
                // `n_receivers` rows of `d`, so the row is in bounds; the receivers of a chunk
                // are distinct, so no two tasks touch the same row, and `agg` stays mutably
                // borrowed (unused otherwise) for the whole loop.
                let out = unsafe { std::slice::from_raw_parts_mut(rows.row(r as usize, d), d) };
                let group = &ch.edges[ch.offsets[u] as usize..ch.offsets[u + 1] as usize];
                add(isa, out, msg, group, d);
            });
    }
}

/// The base pointer of the receiver rows, shared by the tasks of one chunk.
#[derive(Clone, Copy)]
struct AggRows(*mut f32);

// SAFETY: the tasks sharing it write disjoint rows (distinct receivers), see `accumulate`.
unsafe impl Send for AggRows {}
// SAFETY: as above.
unsafe impl Sync for AggRows {}

impl AggRows {
    /// Pointer to row `r` of width `d`.
    ///
    /// # Safety
    /// Row `r` must lie inside the buffer the pointer came from.
    unsafe fn row(self, r: usize, d: usize) -> *mut f32 {
        self.0.add(r * d)
    }
}

/// `out += rows[e]` for each `e` of `group` in order (rows of width `d`).
#[inline(always)]
fn add_rows_generic(out: &mut [f32], rows: &[f32], group: &[u32], d: usize) {
    for &e in group {
        let m = &rows[e as usize * d..(e as usize + 1) * d];
        for (o, &v) in out.iter_mut().zip(m) {
            *o += v;
        }
    }
}

multiversion! {
    /// [`add_rows_generic`] compiled for `isa` (plain additions: the same bits on every path).
    fn add_rows(out: &mut [f32], rows: &[f32], group: &[u32], d: usize) = add_rows_generic;
}

/// Rows per task of [`gather_add_rows`].
const GATHER_ROWS: usize = 64;

/// `dst[i] += table[idx[i]]` for every row `i` of the `[idx.len(), d]` buffer `dst`.
pub fn gather_add_rows(dst: &mut [f32], table: &[f32], idx: &[u32], d: usize) {
    assert_eq!(dst.len(), idx.len() * d, "gather: destination rows");
    if d == 0 {
        return;
    }
    let isa = active();
    dst.par_chunks_mut(d * GATHER_ROWS)
        .zip(idx.par_chunks(GATHER_ROWS))
        .for_each(|(rows, ids)| {
            for (row, j) in rows.chunks_mut(d).zip(ids) {
                add_rows(isa, row, table, std::slice::from_ref(j), d);
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recv(n_edges: usize, n_recv: usize) -> Vec<u32> {
        (0..n_edges)
            .map(|e| ((e * 7 + e / 3) % n_recv) as u32)
            .collect()
    }

    fn sum_all(plan: &SegmentPlan, msg: &[f32], d: usize) -> Vec<f32> {
        let mut agg = vec![0.0f32; plan.n_receivers() * d];
        for c in 0..plan.n_chunks() {
            let r = plan.chunk_range(c);
            plan.accumulate(c, &msg[r.start * d..r.end * d], d, &mut agg);
        }
        agg
    }

    #[test]
    fn equals_sequential_scatter_add_in_edge_order() {
        let (ne, nr, d) = (1000, 37, 5);
        let r = recv(ne, nr);
        let msg: Vec<f32> = (0..ne * d)
            .map(|i| ((i * 31) % 97) as f32 * 0.37 - 17.0)
            .collect();
        // The exact sequential scatter-add (same order, same f32 roundings).
        let mut seq = vec![0.0f32; nr * d];
        for e in 0..ne {
            for c in 0..d {
                seq[r[e] as usize * d + c] += msg[e * d + c];
            }
        }
        for chunk in [1, 7, 64, 5000] {
            let plan = SegmentPlan::new(&r, nr, chunk).unwrap();
            let got = sum_all(&plan, &msg, d);
            assert!(
                got.iter()
                    .zip(&seq)
                    .all(|(a, b)| a.to_bits() == b.to_bits()),
                "chunk {chunk}"
            );
        }
        // And close to the f64 sum (f32 accumulation of ~27 terms of magnitude ≤ 20).
        let mut f64sum = vec![0.0f64; nr * d];
        for e in 0..ne {
            for c in 0..d {
                f64sum[r[e] as usize * d + c] += msg[e * d + c] as f64;
            }
        }
        for (a, b) in seq.iter().zip(&f64sum) {
            assert!((*a as f64 - b).abs() < 1e-3);
        }
    }

    #[test]
    fn bf16_sum_rounds_every_addition_in_edge_order() {
        use crate::kernels::bf16::round_bf16;
        let (ne, nr, d) = (700, 23, 6);
        let r = recv(ne, nr);
        let msg: Vec<f32> = (0..ne * d)
            .map(|i| round_bf16(((i * 31) % 97) as f32 * 0.037 - 1.7))
            .collect();
        // The sequential scatter-add, one bfloat16 rounding per addition.
        let mut seq = vec![0.0f32; nr * d];
        for e in 0..ne {
            for c in 0..d {
                let o = &mut seq[r[e] as usize * d + c];
                *o = round_bf16(*o + msg[e * d + c]);
            }
        }
        for chunk in [1, 64, 5000] {
            let plan = SegmentPlan::new(&r, nr, chunk).unwrap();
            let mut agg = vec![0.0f32; nr * d];
            for c in 0..plan.n_chunks() {
                let cr = plan.chunk_range(c);
                plan.accumulate_bf16(c, &msg[cr.start * d..cr.end * d], d, &mut agg);
            }
            assert!(
                agg.iter().zip(&seq).all(|(a, b)| a.to_bits() == b.to_bits()),
                "chunk {chunk}"
            );
        }
    }

    #[test]
    fn bitwise_identical_one_and_two_threads() {
        let (ne, nr, d) = (5000, 300, 16);
        let r = recv(ne, nr);
        let msg: Vec<f32> = (0..ne * d).map(|i| (i % 113) as f32 * 0.011).collect();
        let plan = SegmentPlan::new(&r, nr, 512).unwrap();
        let run = |t: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(t)
                .build()
                .unwrap();
            pool.install(|| sum_all(&plan, &msg, d))
        };
        let (a, b) = (run(1), run(2));
        assert!(a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()));
    }

    #[test]
    fn rejects_out_of_range_receiver() {
        assert!(SegmentPlan::new(&[0, 3], 3, 4).is_err());
        assert!(SegmentPlan::new(&[0, 2], 3, 0).is_err());
    }

    #[test]
    fn gather_adds_rows() {
        let table: Vec<f32> = (0..12).map(|i| i as f32).collect();
        let mut dst = vec![1.0f32; 9];
        gather_add_rows(&mut dst, &table, &[3, 0, 2], 3);
        assert_eq!(dst, vec![10., 11., 12., 1., 2., 3., 7., 8., 9.]);
    }

    #[test]
    fn every_path_adds_rows_in_order_with_the_same_bits() {
        // Ragged widths around the vector lengths; values of mixed magnitude so that the order
        // of the additions shows in the bits.
        for d in [1usize, 7, 8, 17, 512] {
            let rows: Vec<f32> = (0..40 * d)
                .map(|i| ((i * 7919) % 997) as f32 * 10f32.powi((i % 7) as i32 - 3))
                .collect();
            let group: Vec<u32> = (0..40u32).rev().step_by(3).collect();
            let mut want = vec![0.5f32; d];
            for &e in &group {
                for (o, v) in want.iter_mut().zip(&rows[e as usize * d..]) {
                    *o += v;
                }
            }
            for isa in crate::kernels::isa::Isa::supported() {
                let mut out = vec![0.5f32; d];
                add_rows(isa, &mut out, &rows, &group, d);
                assert!(
                    out.iter()
                        .zip(&want)
                        .all(|(a, b)| a.to_bits() == b.to_bits()),
                    "{isa}, d = {d}"
                );
            }
        }
    }
}
