//! GraphCast, the deterministic sibling of GenCast: multi-mesh graphs, the interaction-network
//! encoder/processor/decoder, input normalisation and stacking, and prediction in physical
//! units, one step or rolled out.

pub mod bf16;
pub mod block;
pub mod checkpoint;
pub(crate) mod family;
pub mod graphs;
pub mod inputs;
pub mod network;
pub mod normalization;
pub mod rollout;

pub use bf16::GraphCastBf16;
pub use checkpoint::{GraphCastCheckpoint, ModelConfig};
pub use graphs::GraphCastGraphs;
pub use inputs::StepInputs;
pub use network::{GraphCast, GraphCastStages, LoadOptions};
pub use normalization::{stack_inputs, to_physical, GraphCastStats};
pub use rollout::{predict_step, rollout, GraphCastModel, Precision};
