//! GraphCast's building block `LN(MLP(x))`: a haiku MLP with swish between layers followed by a
//! LayerNorm with learnable `scale` and `offset` (`DeepTypedGraphNet._networks_builder` in
//! <https://github.com/google-deepmind/graphcast/blob/08cf736/graphcast/deep_typed_graph_net.py>).
//! The decoder's output MLP has no LayerNorm.

use crate::checkpoint::ParamLoader;
use crate::kernels::{activation::Act, layer_norm_cond_rows, matmul_packed, PackedRef};
use crate::nn::layers::{sized, Mlp};

/// A LayerNorm's learnable per-channel parameters.
#[derive(Debug, Clone)]
pub struct LayerNormParams {
    /// Multiplies the normalised values.
    pub scale: Vec<f32>,
    /// Added afterwards.
    pub offset: Vec<f32>,
}

/// `LN(MLP(x))` (or just `MLP(x)` without a LayerNorm), loaded from `<prefix>_mlp` and
/// `<prefix>_layer_norm`.
#[derive(Debug, Clone)]
pub struct Block {
    /// The MLP.
    pub mlp: Mlp,
    /// The LayerNorm applied to the MLP output, if any.
    pub norm: Option<LayerNormParams>,
}

impl Block {
    /// Loads the block `prefix` with `hidden` hidden layers of width `d`, input width `d_in`
    /// and output width `d_out`.
    pub fn load(
        l: &mut ParamLoader<'_>,
        prefix: &str,
        d_in: usize,
        (d, hidden): (usize, usize),
        d_out: usize,
        layer_norm: bool,
    ) -> Block {
        let mut sizes = vec![d; hidden];
        sizes.push(d_out);
        let mlp = Mlp::load(l, &format!("{prefix}_mlp"), d_in, &sizes, Act::Swish);
        let norm = layer_norm.then(|| {
            let module = format!("{prefix}_layer_norm");
            LayerNormParams {
                scale: l.take(&module, "scale", &[d_out]),
                offset: l.take(&module, "offset", &[d_out]),
            }
        });
        Block { mlp, norm }
    }

    /// Output width.
    pub fn d_out(&self) -> usize {
        self.mlp.d_out()
    }

    /// Width of the first layer's output.
    pub fn d_first(&self) -> usize {
        self.mlp.d_first()
    }

    /// The first layer's weight rows `r`: the part that multiplies input columns `r`.
    pub fn w_rows(&self, r: std::ops::Range<usize>) -> PackedRef<'_> {
        self.mlp.layers[0].w_rows(r)
    }

    /// `pre[rows, d_first] = x[rows, r.len()]·W[r] + b`: the first layer on input columns `r`
    /// with the bias.
    pub fn first_with_bias(
        &self,
        x: &[f32],
        rows: usize,
        r: std::ops::Range<usize>,
        pre: &mut [f32],
    ) {
        let bias = self.mlp.layers[0].b.as_deref();
        matmul_packed(
            x,
            self.w_rows(r),
            pre,
            rows,
            false,
            Some((bias, Act::Identity)),
        );
    }

    /// `pre[rows, d_first] += x[rows, r.len()]·W[r]`: adds the first layer's contribution of
    /// input columns `r`.
    pub fn first_accumulate(
        &self,
        x: &[f32],
        rows: usize,
        r: std::ops::Range<usize>,
        pre: &mut [f32],
    ) {
        matmul_packed(x, self.w_rows(r), pre, rows, true, None);
    }

    /// Finishes the block from the first layer's output with bias, before its activation
    /// (`pre`, clobbered): writes `LN(MLP)` into `out` `[rows, d_out]`.
    pub fn tail(&self, pre: &mut [f32], rows: usize, out: &mut [f32], scratch: &mut Vec<f32>) {
        let d_out = self.d_out();
        let out = &mut out[..rows * d_out];
        self.mlp.tail(pre, rows, out, scratch);
        if let Some(n) = &self.norm {
            layer_norm_cond_rows(out, d_out, &n.scale, &n.offset);
        }
    }

    /// `out[rows, d_out] = LN(MLP(x[rows, d_in]))`.
    pub fn forward(&self, x: &[f32], rows: usize, out: &mut [f32]) {
        let mut pre = Vec::new();
        let mut scratch = Vec::new();
        let d_in = self.mlp.d_in();
        let p = sized(&mut pre, rows * self.d_first());
        self.first_with_bias(x, rows, 0..d_in, p);
        self.tail(p, rows, out, &mut scratch);
    }
}
