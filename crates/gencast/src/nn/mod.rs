//! Neural-network layers shared by the families: MLPs, conditional layer norms and the
//! interaction-network pieces (edge embedders, per-node projections, segment sums).

pub mod gnn;
pub mod layers;
