//! GraphCast, the deterministic sibling of GenCast: multi-mesh graphs, the interaction-network
//! encoder/processor/decoder, and one-step prediction in physical units.

pub mod block;
pub mod graphs;
pub mod network;

pub use graphs::GraphCastGraphs;
pub use network::{GraphCast, GraphCastStages};
