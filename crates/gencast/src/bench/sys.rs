//! The matrix-product rate of this machine and the benchmarks' thread pools (resident memory is
//! measured by [`crate::process`]).

use std::time::Instant;

use crate::kernels::matmul;
pub use crate::process::{peak_rss_mb, rss_mb};

/// Shape of the product used to measure the GEMM rate: a chunk of rows times a latent-sized
/// weight, the dominant product shape of the network.
pub const GEMM_SHAPE: (usize, usize, usize) = (4096, 512, 512);

/// GFLOP/s of `kernels::matmul` on [`GEMM_SHAPE`] in the current rayon pool: the best of `reps`
/// timed products after one warm-up.
pub fn gemm_rate(reps: usize) -> f64 {
    let (m, k, n) = GEMM_SHAPE;
    let a: Vec<f32> = (0..m * k)
        .map(|i| ((i % 97) as f32 - 48.0) / 97.0)
        .collect();
    let b: Vec<f32> = (0..k * n)
        .map(|i| ((i % 89) as f32 - 44.0) / 89.0)
        .collect();
    let mut c = vec![0.0f32; m * n];
    matmul(&a, &b, &mut c, m, k, n, false);
    let mut best = f64::INFINITY;
    for _ in 0..reps.max(1) {
        let t = Instant::now();
        matmul(&a, &b, &mut c, m, k, n, false);
        best = best.min(t.elapsed().as_secs_f64());
    }
    2.0 * (m * k * n) as f64 / best / 1e9
}

/// Runs `f` in a rayon pool of `threads` workers (all cores when `None`).
pub fn in_pool<T: Send>(
    threads: Option<usize>,
    f: impl FnOnce() -> crate::Result<T> + Send,
) -> crate::Result<T> {
    let mut builder = rayon::ThreadPoolBuilder::new();
    if let Some(t) = threads {
        builder = builder.num_threads(t);
    }
    let pool = builder
        .build()
        .map_err(|e| crate::Error::Invalid(format!("starting the worker threads: {e}")))?;
    pool.install(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peak_rss_is_positive() {
        // Current first, peak second: other tests of this process allocate concurrently, and a
        // peak read later can never be below a current value read earlier.
        let now = rss_mb().expect("VmRSS on Linux");
        let mb = peak_rss_mb().expect("VmHWM on Linux");
        assert!(mb > 0.0 && mb.is_finite());
        assert!(now > 0.0 && now <= mb, "current {now} MiB > peak {mb} MiB");
    }

    #[test]
    fn gemm_rate_is_positive() {
        let r = gemm_rate(1);
        assert!(r > 0.0 && r.is_finite());
    }
}
