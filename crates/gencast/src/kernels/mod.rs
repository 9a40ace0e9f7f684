//! Numeric kernels: matrix products, layer norm, activations, gathers and segment sums, attention.
