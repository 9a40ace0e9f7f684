//! GraphCast's building block `LN(MLP(x))`: a haiku MLP with swish between layers followed by a
//! LayerNorm with learnable `scale` and `offset` (`DeepTypedGraphNet._networks_builder` in
//! <https://github.com/google-deepmind/graphcast/blob/08cf736/graphcast/deep_typed_graph_net.py>).
//! The decoder's output MLP has no LayerNorm.
//!
//! Under the bfloat16 cast (`casting.Bfloat16Cast`) the same block holds its parameters rounded
//! to bfloat16, and every matrix product (accumulated in float32, possibly as a sum of partial
//! products over parts of the input) is rounded once, then each element-wise op rounds.

use crate::checkpoint::ParamLoader;
use crate::kernels::bf16::{bias_act_bf16, layer_norm_bf16, rounded};
use crate::kernels::{activation::Act, layer_norm_cond_rows, matmul_packed, PackedMat, PackedRef};
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
    /// Whether the block computes under the bfloat16 cast (its parameters then hold bfloat16
    /// values).
    pub cast: bool,
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
        Block {
            mlp,
            norm,
            cast: false,
        }
    }

    /// The block under the bfloat16 cast: every parameter rounded to bfloat16 in place of its
    /// float32 value (`bfloat16_variable_view`).
    pub fn into_cast(mut self) -> Block {
        for layer in &mut self.mlp.layers {
            let (k, n) = (layer.w.k(), layer.w.n());
            layer.w = PackedMat::pack(&rounded(&layer.w.unpack()), k, n);
            layer.b = layer.b.as_deref().map(rounded);
        }
        if let Some(n) = &mut self.norm {
            n.scale = rounded(&n.scale);
            n.offset = rounded(&n.offset);
        }
        self.cast = true;
        self
    }

    /// [`Block::load`] under the bfloat16 cast when `cast`.
    pub fn load_as(
        l: &mut ParamLoader<'_>,
        prefix: &str,
        d_in: usize,
        dh: (usize, usize),
        d_out: usize,
        layer_norm: bool,
        cast: bool,
    ) -> Block {
        let b = Block::load(l, prefix, d_in, dh, d_out, layer_norm);
        if cast {
            b.into_cast()
        } else {
            b
        }
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
    /// with the bias. Under the cast the bias is left out here: [`Block::tail`] adds it once
    /// the whole product is summed and rounded.
    pub fn first_with_bias(
        &self,
        x: &[f32],
        rows: usize,
        r: std::ops::Range<usize>,
        pre: &mut [f32],
    ) {
        if self.cast {
            matmul_packed(x, self.w_rows(r), pre, rows, false, None);
            return;
        }
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
    /// (`pre`, clobbered; under the cast the float32 product without bias): writes `LN(MLP)`
    /// into `out` `[rows, d_out]`.
    pub fn tail(&self, pre: &mut [f32], rows: usize, out: &mut [f32], scratch: &mut Vec<f32>) {
        let d_out = self.d_out();
        let out = &mut out[..rows * d_out];
        if self.cast {
            self.tail_cast(pre, rows, out, scratch);
            return;
        }
        self.mlp.tail(pre, rows, out, scratch);
        if let Some(n) = &self.norm {
            layer_norm_cond_rows(out, d_out, &n.scale, &n.offset);
        }
    }

    /// [`Block::tail`] under the cast: each layer's product rounded, its bias added and rounded,
    /// swish between layers and the LayerNorm in bfloat16.
    fn tail_cast(&self, pre: &mut [f32], rows: usize, out: &mut [f32], scratch: &mut Vec<f32>) {
        let layers = &self.mlp.layers;
        let n = layers.len();
        let bias = |j: usize| layers[j].b.as_deref().unwrap_or(&[]);
        let d0 = self.d_first();
        bias_act_bf16(&mut pre[..rows * d0], bias(0), n > 1);
        // Ping-pong between `pre` and `scratch` for the hidden layers, the last goes to `out`.
        let mut in_pre = true;
        if n == 1 {
            out.copy_from_slice(&pre[..out.len()]);
        }
        for (j, layer) in layers.iter().enumerate().skip(1) {
            let last = j + 1 == n;
            let rows_out = rows * layer.d_out;
            let (src, dst): (&[f32], &mut [f32]) = if last {
                (if in_pre { &*pre } else { &scratch[..] }, &mut *out)
            } else if in_pre {
                (&*pre, sized(scratch, rows_out))
            } else {
                (&scratch[..], &mut pre[..rows_out])
            };
            matmul_packed(src, layer.w.view(), dst, rows, false, None);
            bias_act_bf16(dst, bias(j), !last);
            in_pre = !in_pre;
        }
        if let Some(norm) = &self.norm {
            layer_norm_bf16(out, &norm.scale, &norm.offset);
        }
    }

    /// `out[rows, d_out] = LN(MLP(x[rows, d_in]))`.
    pub fn forward(&self, x: &[f32], rows: usize, out: &mut [f32]) {
        self.forward_with(x, rows, out, &mut Vec::new(), &mut Vec::new());
    }

    /// [`Block::forward`] with the caller's buffers for the first layer's output and the hidden
    /// activations.
    pub fn forward_with(
        &self,
        x: &[f32],
        rows: usize,
        out: &mut [f32],
        pre: &mut Vec<f32>,
        scratch: &mut Vec<f32>,
    ) {
        let p = sized(pre, rows * self.d_first());
        self.first_with_bias(x, rows, 0..self.mlp.d_in(), p);
        self.tail(p, rows, out, scratch);
    }
}
