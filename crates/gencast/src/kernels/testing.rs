//! Shared helpers of the kernel tests: deterministic inputs and f64 reference products.

/// `n` deterministic values spread over [-1, 1].
pub(crate) fn signed_values(seed: u64, n: usize) -> Vec<f32> {
    crate::synthetic::lcg_unit(seed, n)
        .into_iter()
        .map(|u| u * 2.0 - 1.0)
        .collect()
}

/// `a[m, k]·b[k, n]` in f64 (row-major), the reference of the product kernels.
pub(crate) fn naive_matmul(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f64> {
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

/// Checks `product(a, w, c, m, k, n, accumulate)` (`c = a·w`, or `c += a·w`) against the f64
/// product for each shape: once into a NaN-filled `c`, which must be overwritten, and once
/// accumulating onto known values.
pub(crate) fn check_against_f64(
    shapes: &[(usize, usize, usize)],
    product: impl Fn(&[f32], &[f32], &mut [f32], usize, usize, usize, bool),
) {
    for &(m, k, n) in shapes {
        let a = signed_values(1 + m as u64, m * k);
        let w = signed_values(2 + n as u64, k * n);
        let r = naive_matmul(&a, &w, m, k, n);
        // Inputs lie in [-1, 1]: each product is exact in f64, and an f32 accumulation of k terms
        // errs by at most about k·2^-24·Σ|terms|; 2e-6·k bounds that.
        let tol = 2e-6 * k as f64;
        let mut c = vec![f32::NAN; m * n];
        product(&a, &w, &mut c, m, k, n, false);
        for (x, y) in c.iter().zip(&r) {
            assert!((*x as f64 - y).abs() <= tol, "{m}x{k}x{n}: {x} vs {y}");
        }
        let c0 = signed_values(3, m * n);
        let mut c2 = c0.clone();
        product(&a, &w, &mut c2, m, k, n, true);
        for ((x, y), z) in c2.iter().zip(&r).zip(&c0) {
            // As above, plus one more rounding of a sum below 2 in magnitude.
            assert!(
                (*x as f64 - (y + *z as f64)).abs() <= tol + 1e-6,
                "{m}x{k}x{n} accumulating: {x} vs {}",
                y + *z as f64
            );
        }
    }
}
