//! The parameter tree a GenCast denoiser expects: every (module path, name, shape), from the
//! configuration alone.

use super::config::{DenoiserArchitectureConfig, NoiseEncoderConfig};
use crate::checkpoint::shapes::{grid2mesh_mlps, mesh2grid_mlps, mlp, ExpectedParam};

/// Pushes the `LinearNormConditioning` layer `<prefix>_norm_conditioning/linear`.
fn cond(out: &mut Vec<ExpectedParam>, prefix: &str, c: usize, d: usize) {
    let module = format!("{prefix}_norm_conditioning/linear");
    out.push((module.clone(), "w".into(), vec![c, 2 * d]));
    out.push((module, "b".into(), vec![2 * d]));
}

/// Every parameter of the denoiser for `cin` stacked grid input channels, with output width
/// `cfg.node_output_size` (0 when unset; use [`expected_params_with_output`] to pass it).
pub fn expected_params(
    cfg: &DenoiserArchitectureConfig,
    noise_encoder: &NoiseEncoderConfig,
    cin: usize,
) -> Vec<ExpectedParam> {
    expected_params_with_output(cfg, noise_encoder, cin, cfg.node_output_size.unwrap_or(0))
}

/// Every parameter of the denoiser for `cin` input and `cout` output channels, in the order
/// the model uses them (noise encoder, encoder, processor, decoder).
pub fn expected_params_with_output(
    cfg: &DenoiserArchitectureConfig,
    noise_encoder: &NoiseEncoderConfig,
    cin: usize,
    cout: usize,
) -> Vec<ExpectedParam> {
    let d = cfg.latent_size;
    let h = cfg.hidden_layers;
    let mut out = Vec::new();

    // Noise-level encoder: Fourier features (sin and cos per frequency) then an MLP.
    let mut width = 2 * noise_encoder.num_frequencies;
    for (j, &o) in noise_encoder.output_sizes.iter().enumerate() {
        let module = format!("fourier_features_mlp/~/mlp/~/linear_{j}");
        out.push((module.clone(), "w".into(), vec![width, o]));
        out.push((module, "b".into(), vec![o]));
        width = o;
    }
    let c = noise_encoder.output_sizes.last().copied().unwrap_or(0);

    // Encoder.
    let g = "grid2mesh_gnn/~_networks_builder/";
    for (name, input) in grid2mesh_mlps(cin, d) {
        let prefix = format!("{g}{name}");
        mlp(&mut out, &prefix, input, d, h, d);
        cond(&mut out, &prefix, c, d);
    }

    // Processor.
    let st = &cfg.sparse_transformer_config;
    let t = st.module_name();
    let p = format!("mesh_transformer/~/{t}/");
    let heads_width = st.num_heads * (st.d_model / st.num_heads.max(1));
    let f = st.ffw_hidden;
    for l in 0..st.num_layers {
        let b = format!("{p}block_{l:02}");
        cond(&mut out, &format!("{b}/block_{l:02}"), c, d);
        // Haiku names the block's second conditioning layer with a `_1` suffix.
        let m = format!("{b}/block_{l:02}_norm_conditioning_1/linear");
        out.push((m.clone(), "w".into(), vec![c, 2 * d]));
        out.push((m, "b".into(), vec![2 * d]));
        for proj in ["mha_proj_q", "mha_proj_k", "mha_proj_v"] {
            out.push((format!("{b}/{proj}"), "w".into(), vec![d, heads_width]));
        }
        out.push((format!("{b}/mha_final"), "w".into(), vec![heads_width, d]));
        out.push((format!("{b}/mha_final"), "b".into(), vec![d]));
        out.push((format!("{b}/ffw_up"), "w".into(), vec![d, f]));
        out.push((format!("{b}/ffw_up"), "b".into(), vec![f]));
        out.push((format!("{b}/ffw_down"), "w".into(), vec![f, d]));
        out.push((format!("{b}/ffw_down"), "b".into(), vec![d]));
    }
    cond(&mut out, &format!("{p}{t}_final"), c, d);

    // Decoder.
    let m = "mesh2grid_gnn/~_networks_builder/";
    for (name, input) in mesh2grid_mlps(d) {
        let prefix = format!("{m}{name}");
        mlp(&mut out, &prefix, input, d, h, d);
        cond(&mut out, &prefix, c, d);
    }
    mlp(
        &mut out,
        &format!("{m}decoder_nodes_grid_nodes"),
        d,
        d,
        h,
        cout,
    );
    out
}
