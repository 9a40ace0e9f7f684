//! The diffusion sampler: noise schedule, DPM-Solver++ 2S with churn, random streams, spherical noise.

pub mod dpm;
pub mod prng;
pub mod schedule;
pub mod spherical;
