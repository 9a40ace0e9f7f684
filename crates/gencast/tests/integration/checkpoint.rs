//! Loading the fixture checkpoints: every config value, the parameter tree and its shapes.

use std::collections::BTreeMap;

use gencast::checkpoint::{
    GenCastCheckpoint, NoiseConfig, NoiseEncoderConfig, ParamLoader, SamplerConfig, TaskConfig,
};
use gencast::models::gencast::shapes::expected_params;

const MHA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/tiny-mha/checkpoint.npz"
);
const TRI: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/tiny-triblockdiag/checkpoint.npz"
);

/// Checks every configuration value listed in the fixture READMEs.
fn check_common(c: &GenCastCheckpoint) {
    assert!(!c.description.is_empty());
    assert!(!c.license.is_empty());
    assert_eq!(c.task_config, TaskConfig::gencast_default());
    assert_eq!(c.task_config.input_duration, "24h");
    assert_eq!(c.task_config.pressure_levels.len(), 13);

    let d = &c.denoiser_architecture_config;
    assert_eq!(d.mesh_size, 2);
    assert_eq!(d.latent_size, 32);
    assert_eq!(d.hidden_layers, 1);
    assert_eq!(d.radius_query_fraction_edge_length, 0.6);
    assert_eq!(d.norm_conditioning_features, ["noise_level_encodings"]);
    assert_eq!(d.grid2mesh_aggregate_normalization, None);
    assert_eq!(d.node_output_size, Some(84));

    let s = &d.sparse_transformer_config;
    assert_eq!(s.d_model, 32);
    assert_eq!(s.num_layers, 4);
    assert_eq!(s.num_heads, 2);
    assert_eq!(s.attention_k_hop, 2);
    assert_eq!(s.ffw_hidden, 128);
    // Library defaults for the fields the generator left alone (`SparseTransformerConfig` in
    // <https://github.com/google-deepmind/graphcast/blob/08cf736/graphcast/denoiser.py>).
    assert_eq!(
        (
            s.block_q,
            s.block_kv,
            s.block_kv_compute,
            s.block_q_dkv,
            s.block_kv_dkv,
            s.block_kv_dkv_compute
        ),
        (1024, 512, 256, 512, 1024, 1024)
    );
    assert_eq!(
        (s.ffw_winit_final_mult, s.attn_winit_final_mult),
        (0.0, 0.0)
    );
    assert_eq!(s.name, None);
    assert_eq!(s.module_name(), "transformer");

    assert_eq!(
        c.sampler_config,
        SamplerConfig {
            num_noise_levels: 6,
            ..SamplerConfig::default()
        }
    );
    assert_eq!(c.sampler_config.stochastic_churn_rate, 2.5);
    assert_eq!(c.sampler_config.churn_min_noise_level, 0.75);
    assert_eq!(c.sampler_config.churn_max_noise_level, f64::INFINITY);
    assert_eq!(c.sampler_config.noise_level_inflation_factor, 1.05);
    assert_eq!(
        (
            c.sampler_config.max_noise_level,
            c.sampler_config.min_noise_level
        ),
        (80.0, 0.03)
    );
    assert_eq!(c.sampler_config.rho, 7.0);
    assert_eq!(c.noise_config, NoiseConfig::default());
    assert_eq!(c.noise_encoder_config, NoiseEncoderConfig::default());

    assert_eq!(c.params.num_params(), 117_540);
    assert_eq!(c.params.len(), 4 + 36 + 13 * 4 + 2 + 28);
    assert_eq!(c.cin().unwrap(), 264);
    assert_eq!(c.cin_from_params(), Some(264));
    assert_eq!(c.cout(), 84);
    c.validate().unwrap();
}

#[test]
fn tiny_mha_loads_with_every_config_value() {
    let c = GenCastCheckpoint::open(MHA).unwrap();
    check_common(&c);
    let s = &c.denoiser_architecture_config.sparse_transformer_config;
    assert_eq!(s.attention_type, "mha");
    assert_eq!(s.mask_type, "lazy");
}

#[test]
fn tiny_triblockdiag_loads_with_every_config_value() {
    let c = GenCastCheckpoint::open(TRI).unwrap();
    check_common(&c);
    let s = &c.denoiser_architecture_config.sparse_transformer_config;
    assert_eq!(s.attention_type, "triblockdiag_mha");
    assert_eq!(s.mask_type, "full");
}

#[test]
fn expected_params_match_the_fixture_exactly() {
    let c = GenCastCheckpoint::open(MHA).unwrap();
    let exp = expected_params(
        &c.denoiser_architecture_config,
        &c.noise_encoder_config,
        264,
    );
    // Parameter-array count of the tree built by `_DenoiserArchitecture` in
    // <https://github.com/google-deepmind/graphcast/blob/08cf736/graphcast/denoiser.py>, with h =
    // 1: 4 + 36 + 13 L + 2 + 28.
    let l = c
        .denoiser_architecture_config
        .sparse_transformer_config
        .num_layers;
    assert_eq!(exp.len(), 70 + 13 * l);
    let want: BTreeMap<(String, String), Vec<usize>> = exp
        .iter()
        .map(|(m, n, s)| ((m.clone(), n.clone()), s.clone()))
        .collect();
    assert_eq!(want.len(), exp.len(), "duplicate expected names");
    let have: BTreeMap<(String, String), Vec<usize>> = c
        .params
        .iter()
        .map(|(m, n, p)| ((m.to_string(), n.to_string()), p.shape.clone()))
        .collect();
    assert_eq!(want, have);
    let total: usize = exp
        .iter()
        .map(|(_, _, s)| s.iter().product::<usize>())
        .sum();
    assert_eq!(total, 117_540);

    // A few concrete parameter shapes of `_DenoiserArchitecture` for D = 32, F = 128.
    let p = &c.params;
    let g = "grid2mesh_gnn/~_networks_builder/";
    assert_eq!(
        p.get(&format!("{g}encoder_nodes_grid_nodes_mlp/~/linear_0"), "w")
            .unwrap()
            .shape,
        [267, 32]
    );
    assert_eq!(
        p.get(
            &format!("{g}processor_edges_0_grid2mesh_mlp/~/linear_0"),
            "w"
        )
        .unwrap()
        .shape,
        [96, 32]
    );
    let t = "mesh_transformer/~/transformer/";
    assert_eq!(
        p.get(&format!("{t}block_03/ffw_up"), "w").unwrap().shape,
        [32, 128]
    );
    assert_eq!(
        p.get(
            &format!("{t}block_00/block_00_norm_conditioning_1/linear"),
            "b"
        )
        .unwrap()
        .shape,
        [64]
    );
    assert!(p.get(&format!("{t}block_00/mha_proj_q"), "b").is_none());
    assert_eq!(
        p.get(
            &format!("{t}transformer_final_norm_conditioning/linear"),
            "w"
        )
        .unwrap()
        .shape,
        [16, 64]
    );
    let m = "mesh2grid_gnn/~_networks_builder/decoder_nodes_grid_nodes_mlp/~/linear_1";
    assert_eq!(p.get(m, "w").unwrap().shape, [32, 84]);
    assert_eq!(
        p.get("fourier_features_mlp/~/mlp/~/linear_0", "w")
            .unwrap()
            .shape,
        [64, 32]
    );
}

#[test]
fn param_values_match_the_raw_archive() {
    let c = GenCastCheckpoint::open(MHA).unwrap();
    let a = gencast::checkpoint::NpzArchive::open(MHA).unwrap();
    for (m, n, p) in c.params.iter() {
        let raw = a.array(&format!("params:{m}:{n}")).unwrap();
        assert_eq!(raw.shape, p.shape);
        let v = raw.to_f32_vec().unwrap();
        assert_eq!(v.len(), p.data().len());
        assert!(
            v.iter()
                .zip(p.data())
                .all(|(x, y)| x.to_bits() == y.to_bits()),
            "{m}:{n}"
        );
    }
}

#[test]
fn param_loader_takes_everything_without_problems() {
    let c = GenCastCheckpoint::open(TRI).unwrap();
    let mut loader = ParamLoader::new(&c.params, &c.path);
    let mut total = 0;
    for (m, n, s) in c.expected_params().unwrap() {
        let v = loader.take(&m, &n, &s);
        assert_eq!(v.len(), s.iter().product::<usize>());
        total += v.len();
    }
    assert_eq!(loader.num_problems(), 0);
    loader.finish().unwrap();
    assert_eq!(total, 117_540);
}

#[test]
fn gencast_default_task_channel_counts() {
    let t = TaskConfig::gencast_default();
    assert_eq!(t.input_variables.len(), 17);
    assert_eq!(t.target_variables.len(), 12);
    assert_eq!(t.forcing_variables.len(), 4);
    assert_eq!(t.num_input_frames(12.0).unwrap(), 2);
    assert_eq!(t.node_output_size(), 84);
    // 176 input channels + 88 forcing/noisy-target channels (`dataset_to_stacked` in
    // <https://github.com/google-deepmind/graphcast/blob/08cf736/graphcast/model_utils.py>).
    assert_eq!(t.gencast_input_channels().unwrap(), 264);
    assert_eq!(
        t.static_variables(),
        ["geopotential_at_surface", "land_sea_mask"]
    );
}

#[test]
fn json_encodes_infinity_as_string() {
    let c = GenCastCheckpoint::open(MHA).unwrap();
    let v = serde_json::to_value(&c.sampler_config).unwrap();
    assert_eq!(v["churn_max_noise_level"], "inf");
    assert_eq!(v["num_noise_levels"], 6);
    let d = serde_json::to_value(&c.denoiser_architecture_config).unwrap();
    assert_eq!(d["sparse_transformer_config"]["attention_type"], "mha");
    assert!(d["grid2mesh_aggregate_normalization"].is_null());
}

#[test]
fn written_checkpoints_are_memory_mapped_in_place() {
    let src = gencast::checkpoint::NpzArchive::open(MHA).unwrap();
    let mut w = gencast::checkpoint::NpzWriter::in_memory();
    for n in src.names() {
        w.add_array(n, &src.array(n).unwrap()).unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("aligned.npz");
    std::fs::write(&path, w.finish().unwrap()).unwrap();
    let c = GenCastCheckpoint::open(&path).unwrap();
    let orig = GenCastCheckpoint::open(MHA).unwrap();
    assert!(c.params.iter().all(|(_, _, p)| p.is_mapped()));
    for (m, n, p) in c.params.iter() {
        assert_eq!(p.data(), orig.params.get(m, n).unwrap().data(), "{m}:{n}");
    }
    c.validate().unwrap();
}
