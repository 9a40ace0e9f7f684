//! Shared helpers of the kernel tests: deterministic inputs and f64 reference products.

/// `n` deterministic values spread over [-1, 1].
pub fn signed_values(seed: u64, n: usize) -> Vec<f32> {
    crate::bench::random::lcg_unit(seed, n)
        .into_iter()
        .map(|u| u * 2.0 - 1.0)
        .collect()
}

/// `a[m, k]·b[k, n]` in f64 (row-major), the reference of the product kernels.
pub fn naive_matmul(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f64> {
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
