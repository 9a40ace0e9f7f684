//! Dense `f32` matrix products on top of the `gemm-f32` crate.

use rayon::prelude::*;

/// `dst[i, j] (+)= Σ_p lhs[i, p]·rhs[p, j]` on one thread, each operand given by its pointer,
/// column stride and row stride (in elements, all non-negative). `gemm-f32`'s microkernels
/// walk the destination by columns, so a destination whose rows are contiguous is computed as
/// its transpose, `dstᵀ = rhsᵀ·lhsᵀ`.
///
/// # Safety
/// Every element the shapes and strides address must lie inside its allocation, and `dst` must
/// not overlap `lhs` or `rhs`.
unsafe fn gemm_f32(
    (m, n, k): (usize, usize, usize),
    dst: (*mut f32, usize, usize),
    accumulate: bool,
    lhs: (*const f32, usize, usize),
    rhs: (*const f32, usize, usize),
) {
    // Transposing swaps m and n, each operand's two strides, and the two operands.
    let t = |(p, cs, rs): (*const f32, usize, usize)| (p, rs, cs);
    let ((m, n), (dst, dst_cs, dst_rs), lhs, rhs) = if dst.1 < dst.2 {
        ((n, m), (dst.0, dst.2, dst.1), t(rhs), t(lhs))
    } else {
        ((m, n), dst, lhs, rhs)
    };
    let s = |v: usize| v as isize;
    // SAFETY: forwarded from this function's contract; the transposed call addresses exactly
    // the same elements.
    unsafe {
        gemm_f32::gemm::f32::get_gemm_fn()(
            m,
            n,
            k,
            dst,
            s(dst_cs),
            s(dst_rs),
            accumulate,
            lhs.0,
            s(lhs.1),
            s(lhs.2),
            rhs.0,
            s(rhs.1),
            s(rhs.2),
            1.0,
            1.0,
            false,
            false,
            false,
            gemm_common::Parallelism::None,
        );
    }
}

/// Rows of the left operand handled by one single-threaded `gemm` call. Fixed, so that the
/// result does not depend on how many threads share the blocks.
pub const ROW_BLOCK: usize = 128;

/// `c[m,n] = a[m,k]·b[k,n]` (or `c += a·b` when `accumulate`), all row-major and contiguous.
///
/// Rows are processed in blocks of [`ROW_BLOCK`] in parallel, each block by one single-threaded
/// `gemm` call, which makes the result independent of the thread count.
///
/// # Panics
/// If a buffer is shorter than its shape requires (a programming error, not bad input).
pub fn matmul(a: &[f32], b: &[f32], c: &mut [f32], m: usize, k: usize, n: usize, accumulate: bool) {
    assert!(
        a.len() >= m * k,
        "matmul: lhs has {} values, needs {m}x{k}",
        a.len()
    );
    assert!(
        b.len() >= k * n,
        "matmul: rhs has {} values, needs {k}x{n}",
        b.len()
    );
    assert!(
        c.len() >= m * n,
        "matmul: dst has {} values, needs {m}x{n}",
        c.len()
    );
    if m == 0 || n == 0 {
        return;
    }
    let a = &a[..m * k];
    let c = &mut c[..m * n];
    if k == 0 {
        if !accumulate {
            c.fill(0.0);
        }
        return;
    }
    if m <= ROW_BLOCK {
        gemm_block(a, b, c, m, k, n, accumulate);
        return;
    }
    c.par_chunks_mut(ROW_BLOCK * n)
        .zip(a.par_chunks(ROW_BLOCK * k))
        .for_each(|(cb, ab)| {
            let rows = cb.len() / n;
            gemm_block(ab, b, cb, rows, k, n, accumulate);
        });
}

/// One single-threaded `gemm` call on exactly-sized contiguous blocks.
fn gemm_block(a: &[f32], b: &[f32], c: &mut [f32], m: usize, k: usize, n: usize, accumulate: bool) {
    debug_assert!(a.len() == m * k && b.len() >= k * n && c.len() == m * n);
    // SAFETY: the three buffers hold at least m*k, k*n and m*n elements (checked by the caller),
    // the strides below describe row-major layouts inside those bounds, and `c` is borrowed
    // mutably so it aliases neither input.
    unsafe {
        gemm_f32(
            (m, n, k),
            (c.as_mut_ptr(), 1, n),
            accumulate,
            (a.as_ptr(), 1, k),
            (b.as_ptr(), 1, n),
        );
    }
}

/// A read-only strided matrix view: element `(i, j)` is `data[i·rs + j·cs]`.
#[derive(Clone, Copy, Debug)]
pub struct MatRef<'a> {
    /// Backing values.
    pub data: &'a [f32],
    /// Rows.
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    /// Row stride.
    pub rs: usize,
    /// Column stride.
    pub cs: usize,
}

impl MatRef<'_> {
    fn fits(&self) -> bool {
        self.rows == 0
            || self.cols == 0
            || (self.rows - 1) * self.rs + (self.cols - 1) * self.cs < self.data.len()
    }
}

/// `c = a·b` (or `c += a·b`) for strided views on one thread; `c` is row-major with row stride
/// `ldc` (`c[i·ldc + j]`).
///
/// # Panics
/// If the shapes disagree or a view reaches outside its buffer.
pub fn gemm_serial(a: MatRef<'_>, b: MatRef<'_>, c: &mut [f32], ldc: usize, accumulate: bool) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert_eq!(b.rows, k, "gemm: inner dimensions");
    assert!(a.fits() && b.fits(), "gemm: operand view out of bounds");
    assert!(
        m == 0 || n == 0 || (m - 1) * ldc + n <= c.len(),
        "gemm: destination too short"
    );
    assert!(ldc >= n, "gemm: destination stride");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            for row in c.chunks_mut(ldc).take(m) {
                row[..n].fill(0.0);
            }
        }
        return;
    }
    // SAFETY: the views were checked to lie inside their buffers, the destination holds rows
    // 0..m with stride ldc >= n inside `c`, and `c` is a unique borrow distinct from a and b.
    unsafe {
        gemm_f32(
            (m, n, k),
            (c.as_mut_ptr(), 1, ldc),
            accumulate,
            (a.data.as_ptr(), a.cs, a.rs),
            (b.data.as_ptr(), b.cs, b.rs),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::testing::{check_against_f64, signed_values as lcg};

    #[test]
    fn matches_f64_reference() {
        let shapes = [
            (1, 1, 1),
            (3, 5, 7),
            (130, 67, 33),
            (300, 512, 96),
            (257, 4, 512),
        ];
        check_against_f64(&shapes, |a, b, c, m, k, n, acc| {
            matmul(a, b, c, m, k, n, acc)
        });
    }

    #[test]
    fn strided_views_match_f64() {
        // a: 5x3 taken as columns 2..5 of a 5x8 row-major buffer; b: transpose view of 4x3.
        let abuf = lcg(11, 40);
        let bbuf = lcg(12, 12);
        let a = MatRef {
            data: &abuf[2..],
            rows: 5,
            cols: 3,
            rs: 8,
            cs: 1,
        };
        let b = MatRef {
            data: &bbuf,
            rows: 3,
            cols: 4,
            rs: 1,
            cs: 3,
        };
        let mut c = vec![7.0f32; 5 * 6];
        gemm_serial(a, b, &mut c, 6, false);
        for i in 0..5 {
            for j in 0..4 {
                let want: f64 = (0..3)
                    .map(|p| abuf[2 + i * 8 + p] as f64 * bbuf[j * 3 + p] as f64)
                    .sum();
                // Three products of values in [-1, 1]: a few f32 roundings.
                assert!((c[i * 6 + j] as f64 - want).abs() < 1e-6);
            }
            assert_eq!(c[i * 6 + 4], 7.0, "columns beyond n untouched");
        }
    }

    #[test]
    fn bitwise_identical_one_and_two_threads() {
        let (m, k, n) = (1000, 300, 200);
        let a = lcg(7, m * k);
        let b = lcg(8, k * n);
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                let mut c = vec![0.0f32; m * n];
                matmul(&a, &b, &mut c, m, k, n, false);
                c
            })
        };
        let c1 = run(1);
        let c2 = run(2);
        assert!(c1.iter().zip(&c2).all(|(x, y)| x.to_bits() == y.to_bits()));
    }
}
