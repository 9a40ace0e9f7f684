//! Matrix products against weights packed once at load time.
//!
//! A weight matrix `w[k, n]` is stored as column panels of [`NR`] columns, each panel holding
//! its `k` rows contiguously (`panel[p·NR + j] = w[p, j0 + j]`, zero-padded past `n`). The
//! product walks each panel with a register-blocked kernel of [`MR`] rows × [`NR`] columns. Every
//! output element is one fused multiply-add chain over `p = 0..k` in order, whatever the row
//! blocking or the thread count, so results are bitwise identical on any number of threads.

use super::activation::{bias_act_serial, Act};
use super::isa::{active, multiversion, Isa};
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
    let isa = active();
    let task = |ab: &[f32], cb: &mut [f32]| {
        let rows = cb.len() / n;
        block(isa, ab, b, cb, rows, accumulate);
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
    let parts = task_rows(m, rayon::current_num_threads());
    let mut pieces = Vec::with_capacity(parts.len());
    let (mut a_rest, mut c_rest) = (a, c);
    for &rows in &parts {
        let (ab, ar) = a_rest.split_at(rows * k);
        let (cb, cr) = c_rest.split_at_mut(rows * n);
        pieces.push((ab, cb));
        (a_rest, c_rest) = (ar, cr);
    }
    pieces.into_par_iter().for_each(|(ab, cb)| task(ab, cb));
}

/// Rows of each parallel task of an `m`-row product on `threads` threads: whole [`MR`]-row tiles
/// spread evenly over a number of tasks that is a multiple of `threads` (each about
/// [`ROWS_PER_TASK`] rows), so that no thread is left with one task more than the others. Where a
/// row falls does not change its bits (see [`block`]), so the split is free to follow the pool.
fn task_rows(m: usize, threads: usize) -> Vec<usize> {
    let tiles = m.div_ceil(MR);
    let per_task = ROWS_PER_TASK / MR;
    let threads = threads.max(1);
    let tasks = tiles.div_ceil(per_task).div_ceil(threads) * threads;
    let tasks = tasks.min(tiles).max(1);
    // Task `t` ends at tile ⌊(t + 1)·tiles / tasks⌋: the longer tasks are spread out, so each
    // half (and each thread's contiguous share) holds its part of them.
    let end_row = |t: usize| ((t * tiles / tasks) * MR).min(m);
    (0..tasks).map(|t| end_row(t + 1) - end_row(t)).collect()
}

/// One task: `rows` rows of `a` against every panel of `b`, on the calling thread, with the
/// micro-kernels of `isa`. Every path computes each output as the same fused multiply-add chain
/// over `p = 0..k` in order, so all return the same bits.
fn block(isa: Isa, a: &[f32], b: PackedRef<'_>, c: &mut [f32], rows: usize, accumulate: bool) {
    assert!(
        a.len() >= rows * b.k && c.len() >= rows * b.n,
        "packed block sizes"
    );
    match isa.kind() {
        // SAFETY: an `Isa` of this kind exists only on CPUs with these instructions; the buffer
        // sizes were checked above.
        #[cfg(target_arch = "x86_64")]
        super::isa::Kind::Avx512 => unsafe { avx512::block(a, b, c, rows, accumulate) },
        // SAFETY: as above.
        #[cfg(target_arch = "x86_64")]
        super::isa::Kind::Avx2 => unsafe { avx2::block(a, b, c, rows, accumulate) },
        _ => block_portable(isa, a, b, c, rows, accumulate),
    }
}

/// A path's micro-kernel: `rows` (at most [`Tile::MR`]) copied rows of `a` against one panel.
trait Tile {
    /// Most rows per tile.
    const MR: usize;
    /// `c[r, 0..width] (+)= Σ_p a[r, p]·panel[p, 0..width]` for `r < rows`.
    ///
    /// # Safety
    /// `a` holds `rows × kc` values (row stride LDP), `panel` `kc × NR`, `c` `rows × width`
    /// (row stride `ldc`); the CPU supports the path's instructions.
    #[allow(clippy::too_many_arguments)]
    unsafe fn tile(
        rows: usize,
        a: *const f32,
        kc: usize,
        panel: *const f32,
        c: *mut f32,
        ldc: usize,
        width: usize,
        accumulate: bool,
    );
}

/// The loop nest shared by every path: the task's rows of `a` are copied KC columns at a time
/// (row stride LDP), then each tile of at most `T::MR` copied rows passes over every panel.
/// Tiles reload their partial sums between KC slices, so each output stays one multiply-add
/// chain over `p = 0..k`.
///
/// # Safety
/// `a` holds `rows·k` values and `c` `rows·n`; the CPU supports `T`'s instructions.
#[inline(always)]
unsafe fn drive<T: Tile>(
    a: &[f32],
    b: PackedRef<'_>,
    c: &mut [f32],
    rows: usize,
    accumulate: bool,
) {
    let mr = T::MR;
    let (k, n) = (b.k, b.n);
    let cp = c.as_mut_ptr();
    // The buffer is taken out of the thread-local rather than used inside a `with` closure: a
    // closure is compiled apart from the caller's target features, so the portable tiles would
    // lose FMA there.
    let mut apack = APACK.take();
    {
        let apack_buf = &mut apack;
        if apack_buf.len() < rows * LDP {
            apack_buf.resize(rows * LDP, 0.0);
        }
        let mut p0 = 0;
        while p0 < k.max(1) {
            let kc = KC.min(k - p0);
            let acc_in = accumulate || p0 > 0;
            // Copy the task's columns p0..p0+kc of `a` with a row stride of LDP: rows that are a
            // power of two apart in `a` would share L1 sets and evict each other.
            for r in 0..rows {
                apack_buf[r * LDP..r * LDP + kc].copy_from_slice(&a[r * k + p0..r * k + p0 + kc]);
            }
            let ap = apack_buf.as_ptr();
            // Each copied row tile (at most mr·KC values) stays in L1 while it passes over every
            // panel.
            for i in (0..rows).step_by(mr) {
                let ai = ap.add(i * LDP);
                for jp in 0..n.div_ceil(NR) {
                    let j0 = jp * NR;
                    let bp = b.data.as_ptr().add(b.panel_start(jp) + p0 * NR);
                    let ci = cp.add(i * n + j0);
                    T::tile(mr.min(rows - i), ai, kc, bp, ci, n, NR.min(n - j0), acc_in);
                }
            }
            p0 += KC;
        }
    }
    APACK.set(apack);
}

/// `R` copied rows × `W` columns of a panel (`W` ≤ 16, the first `width` real), as plain Rust
/// fused multiply-adds that the compiler vectorises.
///
/// # Safety
/// As for the `tile` argument of [`drive`], for columns `0..width` of one half panel.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn tile_portable<const R: usize>(
    a: *const f32,
    kc: usize,
    panel: *const f32,
    c: *mut f32,
    ldc: usize,
    width: usize,
    accumulate: bool,
) {
    const W: usize = NR / 2;
    // The ragged copies go through `edge`, so that `acc` is only ever copied whole and the
    // compiler keeps it in vector registers.
    let mut edge = [[0.0f32; W]; R];
    if accumulate {
        for (r, row) in edge.iter_mut().enumerate() {
            std::ptr::copy_nonoverlapping(c.add(r * ldc), row.as_mut_ptr(), width);
        }
    }
    let mut acc = edge;
    for p in 0..kc {
        let bp = *panel.add(p * NR).cast::<[f32; W]>();
        for (r, row) in acc.iter_mut().enumerate() {
            let x = *a.add(r * LDP + p);
            for l in 0..W {
                row[l] = x.mul_add(bp[l], row[l]);
            }
        }
    }
    edge = acc;
    for (r, row) in edge.iter().enumerate() {
        std::ptr::copy_nonoverlapping(row.as_ptr(), c.add(r * ldc), width);
    }
}

/// Body of the portable path (see [`block`]).
#[inline(always)]
fn block_portable_generic(
    a: &[f32],
    b: PackedRef<'_>,
    c: &mut [f32],
    rows: usize,
    accumulate: bool,
) {
    // SAFETY: `block` checked the buffer sizes; plain Rust runs on every CPU.
    unsafe { drive::<Portable>(a, b, c, rows, accumulate) }
}

/// The portable micro-kernel.
struct Portable;

impl Tile for Portable {
    /// 4 rows × 16 columns is 8 AVX or 16 NEON registers of accumulators.
    const MR: usize = 4;

    #[inline(always)]
    unsafe fn tile(
        rows: usize,
        a: *const f32,
        kc: usize,
        panel: *const f32,
        c: *mut f32,
        ldc: usize,
        width: usize,
        acc: bool,
    ) {
        for (h, w) in [
            (0, width.min(NR / 2)),
            (NR / 2, width.saturating_sub(NR / 2)),
        ] {
            if w == 0 {
                continue;
            }
            let (bh, ch) = (panel.add(h), c.add(h));
            match rows {
                4 => tile_portable::<4>(a, kc, bh, ch, ldc, w, acc),
                3 => tile_portable::<3>(a, kc, bh, ch, ldc, w, acc),
                2 => tile_portable::<2>(a, kc, bh, ch, ldc, w, acc),
                _ => tile_portable::<1>(a, kc, bh, ch, ldc, w, acc),
            }
        }
    }
}

multiversion! {
    /// The portable path, compiled with FMA where the CPU has it (never a software `fmaf`).
    fn block_portable(a: &[f32], b: PackedRef<'_>, c: &mut [f32], rows: usize, accumulate: bool) =
        block_portable_generic;
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::{drive, PackedRef, Tile, LDP, MR, NR};
    use std::arch::x86_64::*;

    /// See [`super::block`].
    #[target_feature(enable = "avx512f,avx2,fma")]
    pub(super) unsafe fn block(
        a: &[f32],
        b: PackedRef<'_>,
        c: &mut [f32],
        rows: usize,
        accumulate: bool,
    ) {
        drive::<Avx512>(a, b, c, rows, accumulate)
    }

    struct Avx512;

    impl Tile for Avx512 {
        const MR: usize = MR;

        #[inline(always)]
        unsafe fn tile(
            r: usize,
            ai: *const f32,
            kc: usize,
            bp: *const f32,
            ci: *mut f32,
            ldc: usize,
            width: usize,
            acc: bool,
        ) {
            let (m0, m1) = lane_masks(width);
            match r {
                MR => tile::<MR>(ai, kc, bp, ci, ldc, m0, m1, acc),
                1 => tile::<1>(ai, kc, bp, ci, ldc, m0, m1, acc),
                2 => tile::<2>(ai, kc, bp, ci, ldc, m0, m1, acc),
                3 => tile::<3>(ai, kc, bp, ci, ldc, m0, m1, acc),
                4 => tile::<4>(ai, kc, bp, ci, ldc, m0, m1, acc),
                5 => tile::<5>(ai, kc, bp, ci, ldc, m0, m1, acc),
                6 => tile::<6>(ai, kc, bp, ci, ldc, m0, m1, acc),
                7 => tile::<7>(ai, kc, bp, ci, ldc, m0, m1, acc),
                8 => tile::<8>(ai, kc, bp, ci, ldc, m0, m1, acc),
                9 => tile::<9>(ai, kc, bp, ci, ldc, m0, m1, acc),
                10 => tile::<10>(ai, kc, bp, ci, ldc, m0, m1, acc),
                11 => tile::<11>(ai, kc, bp, ci, ldc, m0, m1, acc),
                12 => tile::<12>(ai, kc, bp, ci, ldc, m0, m1, acc),
                _ => tile::<13>(ai, kc, bp, ci, ldc, m0, m1, acc),
            }
        }
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

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{drive, PackedRef, Tile, LDP, NR};
    use std::arch::x86_64::*;

    /// Rows per tile: 6 rows × 16 columns is 12 of the 16 AVX registers as accumulators, plus two
    /// for the panel row and one for the broadcast.
    const MR: usize = 6;

    /// See [`super::block`].
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn block(
        a: &[f32],
        b: PackedRef<'_>,
        c: &mut [f32],
        rows: usize,
        accumulate: bool,
    ) {
        drive::<Avx2>(a, b, c, rows, accumulate)
    }

    struct Avx2;

    impl Tile for Avx2 {
        const MR: usize = MR;

        #[inline(always)]
        unsafe fn tile(
            r: usize,
            ai: *const f32,
            kc: usize,
            bp: *const f32,
            ci: *mut f32,
            ldc: usize,
            width: usize,
            acc: bool,
        ) {
            // A 32-column panel as two halves of 16 columns.
            for h in [0, 16] {
                if width <= h {
                    break;
                }
                let (m0, m1) = lane_masks(width - h);
                let (bh, ch) = (bp.add(h), ci.add(h));
                match r {
                    MR => tile::<MR>(ai, kc, bh, ch, ldc, m0, m1, acc),
                    1 => tile::<1>(ai, kc, bh, ch, ldc, m0, m1, acc),
                    2 => tile::<2>(ai, kc, bh, ch, ldc, m0, m1, acc),
                    3 => tile::<3>(ai, kc, bh, ch, ldc, m0, m1, acc),
                    4 => tile::<4>(ai, kc, bh, ch, ldc, m0, m1, acc),
                    _ => tile::<5>(ai, kc, bh, ch, ldc, m0, m1, acc),
                }
            }
        }
    }

    /// Lane masks (all bits set in a lane = store it) of the two 8-lane halves of `width`
    /// columns, or `None` when all 16 lanes hold real columns.
    #[target_feature(enable = "avx2")]
    fn lane_masks(width: usize) -> (Option<__m256i>, Option<__m256i>) {
        if width >= 16 {
            return (None, None);
        }
        let lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        let lo = _mm256_cmpgt_epi32(_mm256_set1_epi32(width as i32), lanes);
        let hi = _mm256_cmpgt_epi32(_mm256_set1_epi32(width as i32 - 8), lanes);
        (Some(lo), Some(hi))
    }

    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn load(p: *const f32, m: Option<__m256i>) -> __m256 {
        match m {
            None => _mm256_loadu_ps(p),
            Some(m) => _mm256_maskload_ps(p, m),
        }
    }

    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn store(p: *mut f32, m: Option<__m256i>, v: __m256) {
        match m {
            None => _mm256_storeu_ps(p, v),
            Some(m) => _mm256_maskstore_ps(p, m, v),
        }
    }

    /// `R` rows × 16 columns of a panel: `c[r, 0..16] (+)= Σ_p a[r, p]·panel[p, 0..16]`.
    #[target_feature(enable = "avx2,fma")]
    #[allow(clippy::too_many_arguments)]
    #[inline]
    unsafe fn tile<const R: usize>(
        a: *const f32,
        kc: usize,
        panel: *const f32,
        c: *mut f32,
        ldc: usize,
        m0: Option<__m256i>,
        m1: Option<__m256i>,
        accumulate: bool,
    ) {
        let mut acc0 = [_mm256_setzero_ps(); R];
        let mut acc1 = [_mm256_setzero_ps(); R];
        if accumulate {
            for r in 0..R {
                acc0[r] = load(c.add(r * ldc), m0);
                acc1[r] = load(c.add(r * ldc + 8), m1);
            }
        }
        for p in 0..kc {
            let b0 = _mm256_loadu_ps(panel.add(p * NR));
            let b1 = _mm256_loadu_ps(panel.add(p * NR + 8));
            for r in 0..R {
                let x = _mm256_broadcast_ss(&*a.add(r * LDP + p));
                acc0[r] = _mm256_fmadd_ps(x, b0, acc0[r]);
                acc1[r] = _mm256_fmadd_ps(x, b1, acc1[r]);
            }
        }
        for r in 0..R {
            store(c.add(r * ldc), m0, acc0[r]);
            store(c.add(r * ldc + 8), m1, acc1[r]);
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
    fn tasks_cover_every_row_once_in_whole_tiles_balanced_over_the_threads() {
        for threads in [1, 2, 3, 4, 16] {
            for m in [113, 224, 1000, 2048, 4096, 6144, 65160] {
                let parts = task_rows(m, threads);
                assert_eq!(parts.iter().sum::<usize>(), m, "m {m}, {threads} threads");
                let (head, last) = parts.split_at(parts.len() - 1);
                assert!(head.iter().all(|r| r % MR == 0) && last[0] > 0);
                let (lo, hi) = (head.iter().min().unwrap_or(&last[0]), parts.iter().max());
                assert!(hi.unwrap() - lo <= MR, "m {m}: {parts:?}");
                if m.div_ceil(MR) >= 8 * threads {
                    assert_eq!(parts.len() % threads, 0, "m {m}: {} tasks", parts.len());
                }
            }
        }
    }

    #[test]
    fn the_split_over_threads_does_not_change_a_bit() {
        let (m, k, n) = (1000, 96, 70);
        let (a, w) = (lcg(21, m * k), lcg(22, k * n));
        let b = PackedMat::pack(&w, k, n);
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            let mut c = vec![0.0f32; m * n];
            pool.install(|| matmul_packed(&a, b.view(), &mut c, m, false, None));
            c
        };
        let one = run(1);
        for t in [2, 3, 5] {
            assert!(one.iter().zip(run(t)).all(|(x, y)| x.to_bits() == y.to_bits()), "{t}");
        }
    }

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

    /// Ragged shapes: rows not a multiple of any path's tile rows, columns not a multiple of 8,
    /// 16 or 32, inner sizes below, at and above one KC slice.
    const RAGGED: [(usize, usize, usize); 8] = [
        (1, 1, 1),
        (5, 3, 7),
        (7, 255, 9),
        (13, 256, 15),
        (29, 257, 31),
        (43, 600, 33),
        (113, 41, 47),
        (226, 515, 70),
    ];

    #[test]
    fn every_path_matches_f64_and_gives_identical_bits() {
        let paths = crate::kernels::isa::Isa::supported();
        for isa in &paths {
            check_against_f64(&RAGGED, |a, w, c, m, k, n, acc| {
                block(*isa, a, PackedMat::pack(w, k, n).view(), c, m, acc)
            });
        }
        for &(m, k, n) in SHAPES.iter().chain(&RAGGED) {
            let a = lcg(31, m * k);
            let w = lcg(32, k * n);
            let b = PackedMat::pack(&w, k, n);
            let c0 = lcg(33, m * n);
            let run = |isa: Isa| {
                let mut c = c0.clone();
                block(isa, &a, b.view(), &mut c, m, true);
                c
            };
            let first = run(paths[0]);
            for isa in &paths[1..] {
                // Every path evaluates the same fused multiply-add chain per element.
                assert!(
                    first
                        .iter()
                        .zip(&run(*isa))
                        .all(|(x, y)| x.to_bits() == y.to_bits()),
                    "{m}x{k}x{n}: {} vs {isa}",
                    paths[0]
                );
            }
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
