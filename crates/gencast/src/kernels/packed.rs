//! Matrix products against weights packed once at load time.
//!
//! A weight matrix `w[k, n]` is stored as column panels of [`NR`] columns, each panel holding
//! its `k` rows contiguously (`panel[p·NR + j] = w[p, j0 + j]`, zero-padded past `n`). The
//! product walks each panel with a register-blocked kernel of [`MR`] rows × [`NR`] columns. Every
//! output element is one fused multiply-add chain over `p = 0..k` in order, whatever the row
//! blocking or the thread count, so results are bitwise identical on any number of threads.

use super::activation::{bias_act_serial, Act};
use rayon::prelude::*;
use std::ops::Range;

/// Columns per packed panel (two 16-lane vectors).
pub const NR: usize = 32;
/// Rows per register block.
pub const MR: usize = 14;
thread_local! {
    /// Per-thread copy of the current slice of `a` (see `LDP`), reused across products.
    static APACK: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Rows per parallel task: a multiple of [`MR`], sized so a task's rows of `a` stay in L2.
const ROWS_PER_TASK: usize = 8 * MR;
/// Input columns per pass: a tile of packed rows (MR·KC values, 14 KiB) stays in L1.
const KC: usize = 256;
/// Row stride of the copied slices of `a`: KC plus one cache line, so rows fall in different
/// L1 sets.
const LDP: usize = KC + 16;

/// Sixteen `f32` on a 64-byte boundary: one cache line, one 512-bit vector.
#[derive(Debug, Clone, Copy, Default)]
#[repr(C, align(64))]
struct Line([f32; 16]);

/// A `[k, n]` weight matrix in panel-major packed form.
#[derive(Debug, Clone, Default)]
pub struct PackedMat {
    /// Panels on cache-line boundaries, so vector loads never straddle two lines.
    lines: Vec<Line>,
    k: usize,
    n: usize,
}

/// Views cache lines as their `f32` values.
fn as_f32(lines: &[Line]) -> &[f32] {
    // SAFETY: `Line` is `repr(C)` around `[f32; 16]` with no padding (64 bytes), so a slice
    // of lines is a valid, aligned slice of 16× as many `f32`.
    unsafe { std::slice::from_raw_parts(lines.as_ptr().cast::<f32>(), lines.len() * 16) }
}

/// Views cache lines as their `f32` values, mutably.
fn as_f32_mut(lines: &mut [Line]) -> &mut [f32] {
    // SAFETY: as in `as_f32`; the borrow is unique.
    unsafe { std::slice::from_raw_parts_mut(lines.as_mut_ptr().cast::<f32>(), lines.len() * 16) }
}

impl PackedMat {
    /// Packs the row-major `w` (`[k, n]`).
    ///
    /// # Panics
    /// If `w` holds fewer than `k·n` values (a programming error).
    pub fn pack(w: &[f32], k: usize, n: usize) -> PackedMat {
        assert!(w.len() >= k * n, "pack: {} values for {k}x{n}", w.len());
        let panels = n.div_ceil(NR);
        let mut lines = vec![Line::default(); panels * k * NR / 16];
        let data = as_f32_mut(&mut lines);
        data.par_chunks_mut((k * NR).max(1))
            .enumerate()
            .for_each(|(jp, panel)| {
                let j0 = jp * NR;
                let width = NR.min(n - j0);
                for p in 0..k {
                    panel[p * NR..p * NR + width]
                        .copy_from_slice(&w[p * n + j0..p * n + j0 + width]);
                }
            });
        PackedMat { lines, k, n }
    }

    /// Rows (input width).
    pub fn k(&self) -> usize {
        self.k
    }

    /// Columns (output width).
    pub fn n(&self) -> usize {
        self.n
    }

    /// The whole matrix as a view.
    pub fn view(&self) -> PackedRef<'_> {
        self.rows(0..self.k)
    }

    /// The rows `r` of the matrix (the part that multiplies input columns `r`).
    ///
    /// # Panics
    /// If `r` reaches past `k`.
    pub fn rows(&self, r: Range<usize>) -> PackedRef<'_> {
        assert!(
            r.start <= r.end && r.end <= self.k,
            "packed rows {r:?} of {}",
            self.k
        );
        PackedRef {
            data: as_f32(&self.lines),
            k_total: self.k,
            k0: r.start,
            k: r.end - r.start,
            n: self.n,
        }
    }

    /// Unpacks to row-major `[k, n]`.
    pub fn unpack(&self) -> Vec<f32> {
        self.unpack_rows(0..self.k)
    }

    /// Unpacks rows `r` to row-major `[r.len(), n]`.
    ///
    /// # Panics
    /// If `r` reaches past `k`.
    pub fn unpack_rows(&self, r: Range<usize>) -> Vec<f32> {
        assert!(
            r.start <= r.end && r.end <= self.k,
            "packed rows {r:?} of {}",
            self.k
        );
        let data = as_f32(&self.lines);
        let mut w = Vec::with_capacity(r.len() * self.n);
        for p in r {
            w.extend((0..self.n).map(|j| data[(j / NR) * self.k * NR + p * NR + j % NR]));
        }
        w
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.lines.len() * 64
    }
}

/// A view of rows `k0..k0+k` of a [`PackedMat`].
#[derive(Debug, Clone, Copy)]
pub struct PackedRef<'a> {
    data: &'a [f32],
    k_total: usize,
    k0: usize,
    k: usize,
    n: usize,
}

impl PackedRef<'_> {
    /// Rows of the view (input width).
    pub fn k(&self) -> usize {
        self.k
    }

    /// Columns (output width).
    pub fn n(&self) -> usize {
        self.n
    }

    /// Row `p` of panel `jp`: `NR` values.
    #[inline(always)]
    fn panel_start(&self, jp: usize) -> usize {
        jp * self.k_total * NR + self.k0 * NR
    }
}

/// `c[m, n] = a[m, k]·b` (or `c += a·b` when `accumulate`), then, when `epilogue` is given,
/// `c = act(c + bias)` row by row. `a` and `c` are row-major and contiguous; the work is split
/// over blocks of rows in parallel.
///
/// # Panics
/// If a buffer is shorter than its shape requires (a programming error, not bad input).
pub fn matmul_packed(
    a: &[f32],
    b: PackedRef<'_>,
    c: &mut [f32],
    m: usize,
    accumulate: bool,
    epilogue: Option<(Option<&[f32]>, Act)>,
) {
    let (k, n) = (b.k, b.n);
    assert!(
        a.len() >= m * k,
        "matmul_packed: lhs has {} values, needs {m}x{k}",
        a.len()
    );
    assert!(
        c.len() >= m * n,
        "matmul_packed: dst has {} values, needs {m}x{n}",
        c.len()
    );
    if let Some((Some(bias), _)) = epilogue {
        assert_eq!(bias.len(), n, "matmul_packed: bias length");
    }
    if m == 0 || n == 0 {
        return;
    }
    let a = &a[..m * k];
    let c = &mut c[..m * n];
    let task = |ab: &[f32], cb: &mut [f32]| {
        let rows = cb.len() / n;
        block(ab, b, cb, rows, accumulate);
        if let Some((bias, act)) = epilogue {
            if bias.is_some() || act != Act::Identity {
                bias_act_serial(cb, bias, act);
            }
        }
    };
    if m <= ROWS_PER_TASK {
        task(a, c);
        return;
    }
    c.par_chunks_mut(ROWS_PER_TASK * n)
        .zip(a.par_chunks((ROWS_PER_TASK * k).max(1)))
        .for_each(|(cb, ab)| task(ab, cb));
}

/// One task: `rows` rows of `a` against every panel of `b`, on the calling thread.
fn block(a: &[f32], b: PackedRef<'_>, c: &mut [f32], rows: usize, accumulate: bool) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU supports AVX-512F; the buffers' sizes were checked by the caller.
            unsafe { avx512::block(a, b, c, rows, accumulate) };
            return;
        }
    }
    block_portable(a, b, c, rows, accumulate);
}

/// Portable version of [`block`]: the same fused multiply-add chain per output element.
fn block_portable(a: &[f32], b: PackedRef<'_>, c: &mut [f32], rows: usize, accumulate: bool) {
    let (k, n) = (b.k, b.n);
    for jp in 0..n.div_ceil(NR) {
        let j0 = jp * NR;
        let width = NR.min(n - j0);
        let panel = &b.data[b.panel_start(jp)..];
        for i in 0..rows {
            let arow = &a[i * k..(i + 1) * k];
            let mut acc = [0.0f32; NR];
            let crow = &mut c[i * n + j0..i * n + j0 + width];
            if accumulate {
                acc[..width].copy_from_slice(crow);
            }
            for (p, &x) in arow.iter().enumerate() {
                let bp = &panel[p * NR..p * NR + NR];
                for (s, &y) in acc.iter_mut().zip(bp) {
                    *s = x.mul_add(y, *s);
                }
            }
            crow.copy_from_slice(&acc[..width]);
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::{PackedRef, KC, LDP, MR, NR};
    use std::arch::x86_64::*;

    /// See [`super::block`].
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn block(
        a: &[f32],
        b: PackedRef<'_>,
        c: &mut [f32],
        rows: usize,
        accumulate: bool,
    ) {
        let (k, n) = (b.k, b.n);
        debug_assert!(a.len() >= rows * k && c.len() >= rows * n);
        let cp = c.as_mut_ptr();
        super::APACK.with_borrow_mut(|apack_buf| {
            if apack_buf.len() < rows * LDP {
                apack_buf.resize(rows * LDP, 0.0);
            }
            // The product runs over slices of KC input columns; tiles reload their partial sums,
            // so each output is still one multiply-add chain over p = 0..k in order.
            let mut p0 = 0;
            while p0 < k.max(1) {
                let kc = KC.min(k - p0);
                let acc_in = accumulate || p0 > 0;
                // Copy the task's columns p0..p0+kc of `a` with a row stride of LDP: rows that are
                // a power of two apart in `a` would share L1 sets and evict each other.
                for r in 0..rows {
                    apack_buf[r * LDP..r * LDP + kc]
                        .copy_from_slice(&a[r * k + p0..r * k + p0 + kc]);
                }
                let tiles = rows.div_ceil(MR);
                let ap = apack_buf.as_ptr();
                // Each packed row tile (at most MR·KC values) stays in L1 while it passes over
                // every panel.
                for t in 0..tiles {
                    let i = t * MR;
                    let ai = ap.add(i * LDP);
                    for jp in 0..n.div_ceil(NR) {
                        let j0 = jp * NR;
                        let (m0, m1) = lane_masks(NR.min(n - j0));
                        let bp = b.data.as_ptr().add(b.panel_start(jp) + p0 * NR);
                        let ci = cp.add(i * n + j0);
                        match MR.min(rows - i) {
                            MR => tile::<MR>(ai, kc, bp, ci, n, m0, m1, acc_in),
                            1 => tile::<1>(ai, kc, bp, ci, n, m0, m1, acc_in),
                            2 => tile::<2>(ai, kc, bp, ci, n, m0, m1, acc_in),
                            3 => tile::<3>(ai, kc, bp, ci, n, m0, m1, acc_in),
                            4 => tile::<4>(ai, kc, bp, ci, n, m0, m1, acc_in),
                            5 => tile::<5>(ai, kc, bp, ci, n, m0, m1, acc_in),
                            6 => tile::<6>(ai, kc, bp, ci, n, m0, m1, acc_in),
                            7 => tile::<7>(ai, kc, bp, ci, n, m0, m1, acc_in),
                            8 => tile::<8>(ai, kc, bp, ci, n, m0, m1, acc_in),
                            9 => tile::<9>(ai, kc, bp, ci, n, m0, m1, acc_in),
                            10 => tile::<10>(ai, kc, bp, ci, n, m0, m1, acc_in),
                            11 => tile::<11>(ai, kc, bp, ci, n, m0, m1, acc_in),
                            12 => tile::<12>(ai, kc, bp, ci, n, m0, m1, acc_in),
                            _ => tile::<13>(ai, kc, bp, ci, n, m0, m1, acc_in),
                        }
                    }
                }
                p0 += KC;
            }
        });
    }

    /// Masks of the lanes of a panel's two vectors that hold real columns (`width` of 32).
    fn lane_masks(width: usize) -> (__mmask16, __mmask16) {
        let bits = |w: usize| -> __mmask16 {
            if w >= 16 {
                0xffff
            } else {
                ((1u32 << w) - 1) as u16
            }
        };
        (bits(width), bits(width.saturating_sub(16)))
    }

    /// `R` rows × one panel: `c[r, 0..32] (+)= Σ_p a[r, p]·panel[p, 0..32]`, masked stores.
    #[target_feature(enable = "avx512f")]
    #[allow(clippy::too_many_arguments)]
    #[inline]
    unsafe fn tile<const R: usize>(
        a: *const f32,
        kc: usize,
        panel: *const f32,
        c: *mut f32,
        ldc: usize,
        m0: __mmask16,
        m1: __mmask16,
        accumulate: bool,
    ) {
        let mut acc0 = [_mm512_setzero_ps(); R];
        let mut acc1 = [_mm512_setzero_ps(); R];
        if accumulate {
            for r in 0..R {
                acc0[r] = _mm512_maskz_loadu_ps(m0, c.add(r * ldc));
                acc1[r] = _mm512_maskz_loadu_ps(m1, c.add(r * ldc + 16));
            }
        }
        for p in 0..kc {
            let b0 = _mm512_loadu_ps(panel.add(p * NR));
            let b1 = _mm512_loadu_ps(panel.add(p * NR + 16));
            for r in 0..R {
                let x = _mm512_set1_ps(*a.add(r * LDP + p));
                acc0[r] = _mm512_fmadd_ps(x, b0, acc0[r]);
                acc1[r] = _mm512_fmadd_ps(x, b1, acc1[r]);
            }
        }
        for r in 0..R {
            _mm512_mask_storeu_ps(c.add(r * ldc), m0, acc0[r]);
            _mm512_mask_storeu_ps(c.add(r * ldc + 16), m1, acc1[r]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::testing::{check_against_f64, naive_matmul as naive, signed_values as lcg};

    const SHAPES: [(usize, usize, usize); 7] = [
        (1, 1, 1),
        (3, 5, 7),
        (13, 9, 16),
        (15, 33, 17),
        (130, 67, 33),
        (300, 512, 96),
        (257, 4, 515),
    ];

    #[test]
    fn pack_round_trips() {
        for &(_, k, n) in &SHAPES {
            let w = lcg(5 + n as u64, k * n);
            assert_eq!(PackedMat::pack(&w, k, n).unpack(), w, "{k}x{n}");
        }
    }

    #[test]
    fn matches_f64_reference_plain_and_accumulating() {
        check_against_f64(&SHAPES, |a, w, c, m, k, n, acc| {
            matmul_packed(a, PackedMat::pack(w, k, n).view(), c, m, acc, None)
        });
    }

    #[test]
    fn row_views_multiply_the_matching_input_columns() {
        // [x1 | x2]·[w1; w2] computed as x1·w1 then += x2·w2 through row views.
        let (m, k1, k2, n) = (37, 20, 45, 70);
        let w = lcg(9, (k1 + k2) * n);
        let b = PackedMat::pack(&w, k1 + k2, n);
        let x = lcg(10, m * (k1 + k2));
        let x1: Vec<f32> = x.chunks(k1 + k2).flat_map(|r| r[..k1].to_vec()).collect();
        let x2: Vec<f32> = x.chunks(k1 + k2).flat_map(|r| r[k1..].to_vec()).collect();
        let mut c = vec![0.0f32; m * n];
        matmul_packed(&x1, b.rows(0..k1), &mut c, m, false, None);
        matmul_packed(&x2, b.rows(k1..k1 + k2), &mut c, m, true, None);
        let r = naive(&x, &w, m, k1 + k2, n);
        for (v, want) in c.iter().zip(&r) {
            // As above, for a chain of k1 + k2 terms.
            assert!((*v as f64 - want).abs() <= 2e-6 * (k1 + k2) as f64);
        }
    }

    #[test]
    fn epilogue_adds_bias_and_activation() {
        let (m, k, n) = (29, 31, 40);
        let a = lcg(21, m * k);
        let w = lcg(22, k * n);
        let bias = lcg(23, n);
        let b = PackedMat::pack(&w, k, n);
        let mut plain = vec![0.0f32; m * n];
        matmul_packed(&a, b.view(), &mut plain, m, false, None);
        bias_act_serial(&mut plain, Some(&bias), Act::Swish);
        let mut fused = vec![0.0f32; m * n];
        matmul_packed(
            &a,
            b.view(),
            &mut fused,
            m,
            false,
            Some((Some(&bias), Act::Swish)),
        );
        // The fused epilogue runs the same element-wise code on the same products.
        assert_eq!(plain, fused);
    }

    #[test]
    fn simd_and_portable_paths_give_identical_bits() {
        for &(m, k, n) in &SHAPES {
            let a = lcg(31, m * k);
            let w = lcg(32, k * n);
            let b = PackedMat::pack(&w, k, n);
            let mut c1 = lcg(33, m * n);
            let mut c2 = c1.clone();
            block(&a, b.view(), &mut c1, m, true);
            block_portable(&a, b.view(), &mut c2, m, true);
            // Both evaluate the same fused multiply-add chain per element.
            assert!(
                c1.iter().zip(&c2).all(|(x, y)| x.to_bits() == y.to_bits()),
                "{m}x{k}x{n}"
            );
        }
    }

    #[test]
    fn bitwise_identical_one_and_two_threads() {
        let (m, k, n) = (1000, 300, 200);
        let a = lcg(7, m * k);
        let b = PackedMat::pack(&lcg(8, k * n), k, n);
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                let mut c = vec![0.0f32; m * n];
                matmul_packed(&a, b.view(), &mut c, m, false, None);
                c
            })
        };
        let (c1, c2) = (run(1), run(2));
        assert!(c1.iter().zip(&c2).all(|(x, y)| x.to_bits() == y.to_bits()));
    }
}
