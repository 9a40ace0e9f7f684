//! Numeric kernels: matrix products, layer norm, activations, gathers and segment sums, attention.
//!
//! All kernels work on contiguous row-major `f32` buffers. Work is split over rows in blocks whose
//! size does not depend on the number of threads, and every reduction runs in a fixed order, so
//! results are bitwise identical whatever the size of the rayon pool.

pub mod activation;
pub mod attention;
pub mod bf16;
pub mod isa;
pub mod matmul;
pub mod norm;
pub mod packed;
pub mod segment;
#[cfg(test)]
pub(crate) mod testing;

pub use activation::{bias_act, exp_f32, gelu_tanh, sigmoid, swish, Act};
pub use attention::{AttentionBuffers, AttentionPlan};
pub use isa::Isa;
pub use matmul::{gemm_serial, matmul, MatRef};
pub use norm::{
    affine_rows_into, layer_norm_cond_into, layer_norm_cond_rows, layer_norm_rows, LN_EPS,
};
pub use packed::{matmul_packed, PackedMat, PackedRef};
pub use segment::{gather_add_rows, SegmentPlan};
