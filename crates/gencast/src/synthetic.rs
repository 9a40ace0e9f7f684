//! Deterministic synthetic values for tests and benchmarks (never model randomness, which is
//! [`crate::models::gencast::sampler::prng`]'s).

/// `n` values in [0, 1) from a 64-bit linear congruential generator (Knuth's MMIX constants),
/// the top 24 bits of each state: cheap, reproducible data for tests and timings.
pub fn lcg_unit(seed: u64, n: usize) -> Vec<f32> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 40) as f32 / (1u64 << 24) as f32
        })
        .collect()
}
