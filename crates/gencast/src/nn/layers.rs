//! Building blocks: dense layers, MLPs, norm conditioning and the "MLP + LN + conditioning"
//! block, each loaded from the checkpoint by its haiku module path.

use crate::checkpoint::ParamLoader;
use crate::kernels::{
    activation::Act, bias_act, layer_norm_cond_rows, matmul_packed, PackedMat, PackedRef,
};

/// Returns `&mut v[..n]`, growing `v` (never shrinking) so buffers are reused across calls.
pub fn sized(v: &mut Vec<f32>, n: usize) -> &mut [f32] {
    if v.len() < n {
        v.resize(n, 0.0);
    }
    &mut v[..n]
}

/// A dense layer `y = x·w + b` with haiku's `[in, out]` weight layout.
#[derive(Debug, Clone)]
pub struct Linear {
    /// Weights `[d_in, d_out]`, packed for the matrix-product kernel.
    pub w: PackedMat,
    /// Bias `[d_out]`, if the layer has one.
    pub b: Option<Vec<f32>>,
    /// Input width.
    pub d_in: usize,
    /// Output width.
    pub d_out: usize,
}

impl Linear {
    /// Loads `module:w` (and `module:b` when `bias`).
    pub fn load(
        l: &mut ParamLoader<'_>,
        module: &str,
        d_in: usize,
        d_out: usize,
        bias: bool,
    ) -> Linear {
        let w = PackedMat::pack(&l.take(module, "w", &[d_in, d_out]), d_in, d_out);
        let b = bias.then(|| l.take(module, "b", &[d_out]));
        Linear { w, b, d_in, d_out }
    }

    /// The weight rows `r` (a `[r.len(), d_out]` block) — the part of the layer that multiplies
    /// input columns `r`.
    pub fn w_rows(&self, r: std::ops::Range<usize>) -> PackedRef<'_> {
        self.w.rows(r)
    }

    /// `out[rows, d_out] = act(x[rows, d_in]·w + b)`.
    pub fn apply(&self, x: &[f32], rows: usize, out: &mut [f32], act: Act) {
        let epilogue = Some((self.b.as_deref(), act));
        matmul_packed(x, self.w.view(), out, rows, false, epilogue);
    }
}

/// `hk.nets.MLP`: layers `linear_0 … linear_n`, the activation after every layer but the last.
#[derive(Debug, Clone)]
pub struct Mlp {
    /// The layers in order.
    pub layers: Vec<Linear>,
    /// Activation between layers.
    pub act: Act,
}

impl Mlp {
    /// Loads `<module>/~/linear_j` for layer widths `d_in → sizes[0] → … → sizes[last]`.
    pub fn load(
        l: &mut ParamLoader<'_>,
        module: &str,
        d_in: usize,
        sizes: &[usize],
        act: Act,
    ) -> Mlp {
        let mut layers = Vec::with_capacity(sizes.len());
        let mut prev = d_in;
        for (j, &s) in sizes.iter().enumerate() {
            layers.push(Linear::load(
                l,
                &format!("{module}/~/linear_{j}"),
                prev,
                s,
                true,
            ));
            prev = s;
        }
        Mlp { layers, act }
    }

    /// Input width.
    pub fn d_in(&self) -> usize {
        self.layers.first().map_or(0, |x| x.d_in)
    }

    /// Output width.
    pub fn d_out(&self) -> usize {
        self.layers.last().map_or(0, |x| x.d_out)
    }

    /// Width of the first layer's output.
    pub fn d_first(&self) -> usize {
        self.layers.first().map_or(0, |x| x.d_out)
    }

    /// Finishes the MLP given the first layer's output *including its bias, before its
    /// activation* (`pre`, `[rows, d_first]`, clobbered). Writes `out` `[rows, d_out]`.
    pub fn tail(&self, pre: &mut [f32], rows: usize, out: &mut [f32], scratch: &mut Vec<f32>) {
        let n = self.layers.len();
        if n == 1 {
            out[..rows * self.d_out()].copy_from_slice(&pre[..rows * self.d_out()]);
            return;
        }
        let d0 = self.d_first();
        bias_act(&mut pre[..rows * d0], d0, None, self.act);
        // Ping-pong between `pre` and `scratch` for the hidden layers, the last goes to `out`.
        let mut in_pre = true;
        for (j, layer) in self.layers.iter().enumerate().skip(1) {
            let last = j + 1 == n;
            let act = if last { Act::Identity } else { self.act };
            let rows_out = rows * layer.d_out;
            if last {
                let src: &[f32] = if in_pre { pre } else { scratch };
                layer.apply(src, rows, &mut out[..rows_out], act);
            } else if in_pre {
                layer.apply(pre, rows, sized(scratch, rows_out), act);
                in_pre = false;
            } else {
                layer.apply(scratch, rows, &mut pre[..rows_out], act);
                in_pre = true;
            }
        }
    }

    /// Full forward pass: `out[rows, d_out] = MLP(x[rows, d_in])`.
    pub fn forward(
        &self,
        x: &[f32],
        rows: usize,
        out: &mut [f32],
        pre: &mut Vec<f32>,
        scratch: &mut Vec<f32>,
    ) {
        let first = &self.layers[0];
        let p = sized(pre, rows * first.d_out);
        first.apply(x, rows, p, Act::Identity);
        self.tail(p, rows, out, scratch);
    }
}

/// Per-channel `scale` and `offset` produced by a norm-conditioning layer for one noise level.
#[derive(Debug, Clone)]
pub struct CondAffine {
    /// `1 + (cvec·W + b)[..d]`.
    pub scale: Vec<f32>,
    /// `(cvec·W + b)[d..]`.
    pub offset: Vec<f32>,
}

/// `LinearNormConditioning`: a linear map of the conditioning vector to `[scale − 1, offset]`.
#[derive(Debug, Clone)]
pub struct NormConditioning {
    /// The `linear` sub-module, `[c, 2d]`.
    pub linear: Linear,
}

impl NormConditioning {
    /// Loads `<module>/linear` for features of width `d` and conditioning width `c`.
    pub fn load(l: &mut ParamLoader<'_>, module: &str, c: usize, d: usize) -> NormConditioning {
        NormConditioning {
            linear: Linear::load(l, &format!("{module}/linear"), c, 2 * d, true),
        }
    }

    /// Feature width `d`.
    pub fn d(&self) -> usize {
        self.linear.d_out / 2
    }

    /// Scale and offset for the conditioning vector `cvec` (`[c]`).
    pub fn affine(&self, cvec: &[f32]) -> CondAffine {
        let d2 = self.linear.d_out;
        let mut so = vec![0.0f32; d2];
        self.linear.apply(cvec, 1, &mut so, Act::Identity);
        let d = d2 / 2;
        CondAffine {
            scale: so[..d].iter().map(|&s| s + 1.0).collect(),
            offset: so[d..].to_vec(),
        }
    }
}

/// The GNN "MLP + LayerNorm + norm conditioning" block: `Cond(LN(MLP(x)))`.
#[derive(Debug, Clone)]
pub struct CondBlock {
    /// `<prefix>_mlp`, swish activation.
    pub mlp: Mlp,
    /// `<prefix>_norm_conditioning`.
    pub cond: NormConditioning,
}

impl CondBlock {
    /// Loads `<prefix>_mlp/~/linear_j` (`d_in → latent ×hidden_layers → d_out`) and
    /// `<prefix>_norm_conditioning/linear`.
    pub fn load(
        l: &mut ParamLoader<'_>,
        prefix: &str,
        d_in: usize,
        latent: usize,
        hidden_layers: usize,
        d_out: usize,
        c: usize,
    ) -> CondBlock {
        let mut sizes = vec![latent; hidden_layers];
        sizes.push(d_out);
        CondBlock {
            mlp: Mlp::load(l, &format!("{prefix}_mlp"), d_in, &sizes, Act::Swish),
            cond: NormConditioning::load(l, &format!("{prefix}_norm_conditioning"), c, d_out),
        }
    }

    /// Output width.
    pub fn d_out(&self) -> usize {
        self.mlp.d_out()
    }

    /// Finishes the block from the first layer's pre-activation (see [`Mlp::tail`]): MLP tail,
    /// layer norm and the conditioning `aff`. Writes `out` `[rows, d_out]`.
    pub fn tail(
        &self,
        pre: &mut [f32],
        rows: usize,
        aff: &CondAffine,
        out: &mut [f32],
        scratch: &mut Vec<f32>,
    ) {
        let d = self.d_out();
        self.mlp.tail(pre, rows, out, scratch);
        layer_norm_cond_rows(&mut out[..rows * d], d, &aff.scale, &aff.offset);
    }

    /// Full block on `x` `[rows, d_in]`.
    pub fn forward(
        &self,
        x: &[f32],
        rows: usize,
        aff: &CondAffine,
        out: &mut [f32],
        pre: &mut Vec<f32>,
        scratch: &mut Vec<f32>,
    ) {
        let d = self.d_out();
        self.mlp.forward(x, rows, out, pre, scratch);
        layer_norm_cond_rows(&mut out[..rows * d], d, &aff.scale, &aff.offset);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::Params;

    fn vals(n: usize, seed: u64) -> Vec<f32> {
        crate::synthetic::lcg_unit(seed, n)
            .into_iter()
            .map(|u| u - 0.5)
            .collect()
    }

    fn naive_linear(x: &[f64], w: &[f32], b: &[f32], din: usize, dout: usize) -> Vec<f64> {
        let rows = x.len() / din;
        let mut y = vec![0.0; rows * dout];
        for r in 0..rows {
            for j in 0..dout {
                y[r * dout + j] = b[j] as f64
                    + (0..din)
                        .map(|i| x[r * din + i] * w[i * dout + j] as f64)
                        .sum::<f64>();
            }
        }
        y
    }

    /// Stores `<module>/~/linear_j` and `<module>_norm_conditioning/linear` for an MLP.
    fn params(prefix: &str, sizes: &[usize], c: usize) -> Params {
        let mut p = Params::new();
        for j in 0..sizes.len() - 1 {
            let (i, o) = (sizes[j], sizes[j + 1]);
            let m = format!("{prefix}_mlp/~/linear_{j}");
            p.insert(&m, "w", vec![i, o], vals(i * o, 10 + j as u64))
                .unwrap();
            p.insert(&m, "b", vec![o], vals(o, 20 + j as u64)).unwrap();
        }
        let d = *sizes.last().unwrap();
        let m = format!("{prefix}_norm_conditioning/linear");
        p.insert(&m, "w", vec![c, 2 * d], vals(c * 2 * d, 30))
            .unwrap();
        p.insert(&m, "b", vec![2 * d], vals(2 * d, 31)).unwrap();
        p
    }

    #[test]
    fn cond_block_with_two_hidden_layers_matches_f64() {
        let (din, d, c, rows) = (7, 12, 3, 9);
        let p = params("blk", &[din, d, d, d], c);
        let mut l = ParamLoader::new(&p, "synthetic.npz");
        let blk = CondBlock::load(&mut l, "blk", din, d, 2, d, c);
        l.finish().unwrap();
        let x = vals(rows * din, 1);
        let cvec = vals(c, 2);
        let aff = blk.cond.affine(&cvec);
        let mut out = vec![0.0f32; rows * d];
        blk.forward(&x, rows, &aff, &mut out, &mut Vec::new(), &mut Vec::new());

        let sw = |v: f64| v / (1.0 + (-v).exp());
        let mut h: Vec<f64> = x.iter().map(|&v| v as f64).collect();
        let mut dins = din;
        for (j, layer) in blk.mlp.layers.iter().enumerate() {
            h = naive_linear(
                &h,
                &layer.w.unpack(),
                layer.b.as_ref().unwrap(),
                dins,
                layer.d_out,
            );
            if j + 1 < blk.mlp.layers.len() {
                h.iter_mut().for_each(|v| *v = sw(*v));
            }
            dins = layer.d_out;
        }
        let cw = &blk.cond.linear;
        let so = naive_linear(
            &cvec.iter().map(|&v| v as f64).collect::<Vec<_>>(),
            &cw.w.unpack(),
            cw.b.as_ref().unwrap(),
            c,
            2 * d,
        );
        for r in 0..rows {
            let row = &h[r * d..(r + 1) * d];
            let mu = row.iter().sum::<f64>() / d as f64;
            let var = row.iter().map(|v| (v - mu) * (v - mu)).sum::<f64>() / d as f64;
            for j in 0..d {
                let want = (row[j] - mu) / (var + 1e-5).sqrt() * (1.0 + so[j]) + so[d + j];
                // f32 round-off of three small layers and the layer norm (values O(1)).
                assert!(
                    (out[r * d + j] as f64 - want).abs() < 2e-5,
                    "row {r} ch {j}"
                );
            }
        }
    }

    #[test]
    fn loader_reports_missing_and_misshaped() {
        let mut p = params("blk", &[4, 6, 6], 2);
        p.insert("blk_mlp/~/linear_1", "w", vec![6, 5], vals(30, 3))
            .unwrap();
        let mut l = ParamLoader::new(&p, "synthetic.npz");
        let _ = CondBlock::load(&mut l, "blk", 4, 6, 2, 6, 2);
        let err = l.finish().unwrap_err().to_string();
        assert!(err.contains("missing blk_mlp/~/linear_2:w"), "{err}");
        assert!(
            err.contains("blk_mlp/~/linear_1:w: expected [6, 6], found [6, 5]"),
            "{err}"
        );
        assert!(err.contains("missing blk_mlp/~/linear_2:b"), "{err}");
        assert!(err.contains("3 problem(s)"), "{err}");
    }
}
