//! The model families, peers behind one forecast driver: [`gencast`] (the diffusion ensemble
//! model) and [`graphcast`] (its deterministic sibling). Each holds its checkpoint and configs,
//! its network, its step inputs and its one-step prediction; what they share lives in
//! `checkpoint` (the `.npz` container and parameters), `graph`, `kernels`, `nn` (MLP and GNN
//! layers), `data` and `output`. The driver in `forecast` reaches a family only through the
//! `forecast::family::Family` trait.

pub mod gencast;
pub mod graphcast;
