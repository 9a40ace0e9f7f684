//! The diffusion sampler: noise schedule, DPM-Solver++ 2S with churn, random streams, spherical noise.
// Public only to the crate's own tests (see `stage!` in lib.rs), which check every part
// against the reference: what only they call is not dead.
#![cfg_attr(
    not(feature = "testing"),
    allow(unreachable_pub, dead_code, unused_imports)
)]

pub mod dpm;
pub mod prng;
pub mod schedule;
pub mod spherical;
