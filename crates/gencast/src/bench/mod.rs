//! Throughput benchmark: a random-weight model of a published configuration, GenCast or
//! GraphCast, on synthetic inputs. One driver ([`run`](crate::bench::run)) times a warm-up unit
//! and then the timed units (a GenCast denoiser call, a GraphCast 6 h step) stage by stage,
//! alternating them over kernel paths or thread counts and checking that every one returns the
//! same bits; each family adds its own figures (GenCast's sampler steps and FLOP rates,
//! GraphCast's precision and multi-mesh sizes).

mod driver;
mod family;
pub mod flops;
pub mod gencast;
pub mod graphcast;
pub mod kernels;
mod preset;
pub mod random;
mod report;
pub mod sys;

pub use driver::{run, thread_pools, BenchOptions};
pub use preset::{Family, GenCastShape, GraphCastShape, Preset, PresetShape};
pub use report::{median, thread_comparison, BenchReport, FamilyReport, IsaRun, ThreadRun};

#[cfg(test)]
mod tests;
