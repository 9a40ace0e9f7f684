//! The diffusion sampler: noise schedule, DPM-Solver++ 2S with churn, random streams, spherical noise.
