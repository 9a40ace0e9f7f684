//! The processor: a pre-norm sparse transformer on the mesh nodes
//! (`mesh_transformer/~/<name>`), with noise-conditioned layer norms and k-hop attention.

use crate::nn::gnn::Workspace;
use crate::nn::layers::{sized, Linear, NormConditioning};
use crate::checkpoint::ParamLoader;
use crate::kernels::activation::Act;
use crate::kernels::{layer_norm_cond_into, matmul_packed, AttentionPlan, PackedMat};

/// One transformer block (`block_%02d`).
#[derive(Debug, Clone)]
pub struct TransformerBlock {
    /// `block_ll_norm_conditioning` (before attention).
    pub cond_attn: NormConditioning,
    /// `block_ll_norm_conditioning_1` (before the feed-forward part).
    pub cond_ffw: NormConditioning,
    /// `mha_proj_q | mha_proj_k | mha_proj_v` side by side: `[D, 3·H·dh]`.
    pub w_qkv: PackedMat,
    /// `mha_final` `[H·dh, D]` with bias.
    pub mha_final: Linear,
    /// `ffw_up` `[D, F]`.
    pub ffw_up: Linear,
    /// `ffw_down` `[F, D]`.
    pub ffw_down: Linear,
}

/// The sparse transformer.
#[derive(Debug, Clone)]
pub struct Transformer {
    /// The blocks in order.
    pub blocks: Vec<TransformerBlock>,
    /// `<name>_final_norm_conditioning`.
    pub final_cond: NormConditioning,
    /// Width `D`.
    pub d: usize,
    /// Number of heads `H`.
    pub heads: usize,
    /// Feed-forward width `F`.
    pub ffw: usize,
}

/// Shape of the transformer.
#[derive(Debug, Clone, Copy)]
pub struct TransformerDims {
    /// Width `D` (= latent size = d_model).
    pub d: usize,
    /// Number of heads (divides `D`).
    pub heads: usize,
    /// Number of blocks.
    pub layers: usize,
    /// Feed-forward width.
    pub ffw: usize,
    /// Conditioning width.
    pub cond: usize,
}

impl Transformer {
    /// Loads `mesh_transformer/~/<name>/…`.
    pub fn load(l: &mut ParamLoader<'_>, name: &str, dims: TransformerDims) -> Transformer {
        let TransformerDims {
            d,
            heads,
            layers,
            ffw,
            cond,
        } = dims;
        let root = format!("mesh_transformer/~/{name}");
        let blocks = (0..layers)
            .map(|i| {
                let b = format!("{root}/block_{i:02}");
                let cond_attn = NormConditioning::load(
                    l,
                    &format!("{b}/block_{i:02}_norm_conditioning"),
                    cond,
                    d,
                );
                let cond_ffw = NormConditioning::load(
                    l,
                    &format!("{b}/block_{i:02}_norm_conditioning_1"),
                    cond,
                    d,
                );
                let q = l.take(&format!("{b}/mha_proj_q"), "w", &[d, d]);
                let k = l.take(&format!("{b}/mha_proj_k"), "w", &[d, d]);
                let v = l.take(&format!("{b}/mha_proj_v"), "w", &[d, d]);
                let mut w = Vec::with_capacity(3 * d * d);
                for r in 0..d {
                    for m in [&q, &k, &v] {
                        w.extend_from_slice(&m[r * d..(r + 1) * d]);
                    }
                }
                let w_qkv = PackedMat::pack(&w, d, 3 * d);
                TransformerBlock {
                    cond_attn,
                    cond_ffw,
                    w_qkv,
                    mha_final: Linear::load(l, &format!("{b}/mha_final"), d, d, true),
                    ffw_up: Linear::load(l, &format!("{b}/ffw_up"), d, ffw, true),
                    ffw_down: Linear::load(l, &format!("{b}/ffw_down"), ffw, d, true),
                }
            })
            .collect();
        let final_cond = NormConditioning::load(
            l,
            &format!("{root}/{name}_final_norm_conditioning"),
            cond,
            d,
        );
        Transformer {
            blocks,
            final_cond,
            d,
            heads,
            ffw,
        }
    }

    /// Runs every block on the mesh latents `ws.latent_mesh` `[Nm, D]` (updated in place) and
    /// writes the final conditioned layer norm of the result to `ws.mesh_out`.
    ///
    /// With `check_blocks`, stops after the first block whose output holds a non-finite value and
    /// returns that block's index and the value's flat position in `[Nm, D]`.
    pub fn forward(
        &self,
        cvec: &[f32],
        attention: &AttentionPlan,
        ws: &mut Workspace,
        check_blocks: bool,
    ) -> Option<(usize, usize)> {
        let d = self.d;
        let n = attention.n();
        let dh = d / self.heads;
        let x = &mut ws.latent_mesh[..n * d];
        for (i, b) in self.blocks.iter().enumerate() {
            let aff = b.cond_attn.affine(cvec);
            let h = sized(&mut ws.tmp_a, n * d);
            layer_norm_cond_into(x, h, d, &aff.scale, &aff.offset);
            let qkv = sized(&mut ws.qkv, n * 3 * d);
            matmul_packed(h, b.w_qkv.view(), qkv, n, false, None);
            let o = sized(&mut ws.tmp_b, n * d);
            let (q, k, v) = (&qkv[..], &qkv[d..], &qkv[2 * d..]);
            attention.attend_in(&mut ws.attention, q, k, v, 3 * d, self.heads, dh, o);
            // x += o·W_o + b_o
            let t = sized(&mut ws.tmp_a, n * d);
            b.mha_final.apply(o, n, t, Act::Identity);
            add_assign(x, t);
            let aff = b.cond_ffw.affine(cvec);
            let h2 = sized(&mut ws.tmp_a, n * d);
            layer_norm_cond_into(x, h2, d, &aff.scale, &aff.offset);
            let f = sized(&mut ws.ffw, n * self.ffw);
            b.ffw_up.apply(h2, n, f, Act::Gelu);
            let t = sized(&mut ws.tmp_b, n * d);
            b.ffw_down.apply(f, n, t, Act::Identity);
            add_assign(x, t);
            if check_blocks {
                if let Some(p) = x.iter().position(|v| !v.is_finite()) {
                    return Some((i, p));
                }
            }
        }
        let aff = self.final_cond.affine(cvec);
        let out = sized(&mut ws.mesh_out, n * d);
        layer_norm_cond_into(x, out, d, &aff.scale, &aff.offset);
        None
    }
}

/// `x += t` element-wise.
fn add_assign(x: &mut [f32], t: &[f32]) {
    for (xv, &tv) in x.iter_mut().zip(t) {
        *xv += tv;
    }
}
