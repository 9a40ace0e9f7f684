//! Dense `f32` matrix products on top of the `gemm` crate.

use rayon::prelude::*;

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
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.as_ptr(),
            1,
            k as isize,
            b.as_ptr(),
            1,
            n as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg(seed: u64, n: usize) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
            })
            .collect()
    }

    fn naive(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f64> {
        let mut c = vec![0.0f64; m * n];
        for i in 0..m {
            for p in 0..k {
                let x = a[i * k + p] as f64;
                for j in 0..n {
                    c[i * n + j] += x * b[p * n + j] as f64;
                }
            }
        }
        c
    }

    #[test]
    fn matches_f64_reference() {
        for &(m, k, n) in &[
            (1, 1, 1),
            (3, 5, 7),
            (130, 67, 33),
            (300, 512, 96),
            (257, 4, 512),
        ] {
            let a = lcg(1 + m as u64, m * k);
            let b = lcg(2 + n as u64, k * n);
            let mut c = lcg(3, m * n);
            let c0 = c.clone();
            matmul(&a, &b, &mut c, m, k, n, false);
            let r = naive(&a, &b, m, k, n);
            // Inputs lie in [-1, 1]: each product is exact in f64, and f32 accumulation of k
            // terms errs by at most about k * 2^-24 * sum|terms|; 2e-6 * k bounds that.
            let tol = 2e-6 * k as f64;
            for (x, y) in c.iter().zip(&r) {
                assert!((*x as f64 - y).abs() <= tol, "{m}x{k}x{n}: {x} vs {y}");
            }
            let mut c2 = c0.clone();
            matmul(&a, &b, &mut c2, m, k, n, true);
            for ((x, y), z) in c2.iter().zip(&r).zip(&c0) {
                assert!(
                    (*x as f64 - (y + *z as f64)).abs() <= tol + 1e-6,
                    "accumulate"
                );
            }
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
