//! Loading the network: every missing, mis-shaped and unexpected tensor is reported at once,
//! and configuration errors are caught before any work.

use gencast::checkpoint::{GenCastCheckpoint, Params};
use gencast::graph::Graphs;
use gencast::models::gencast::Network;
use gencast::Error;
use std::sync::Arc;

fn tiny() -> (GenCastCheckpoint, Arc<Graphs>) {
    let ckpt = GenCastCheckpoint::open(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/tiny-mha/checkpoint.npz"
    ))
    .unwrap();
    let lat: Vec<f32> = (0..19).map(|i| -90.0 + 10.0 * i as f32).collect();
    let lon: Vec<f32> = (0..36).map(|i| 10.0 * i as f32).collect();
    let cfg = &ckpt.denoiser_architecture_config;
    let g = Graphs::build(
        cfg.mesh_size,
        &lat,
        &lon,
        cfg.radius_query_fraction_edge_length,
        cfg.sparse_transformer_config.attention_k_hop,
    )
    .unwrap();
    (ckpt, Arc::new(g))
}

#[test]
fn reports_every_parameter_problem_at_once() {
    let (mut ckpt, graphs) = tiny();
    let missing = "mesh_transformer/~/transformer/block_02/mha_proj_k";
    let reshaped = "mesh2grid_gnn/~_networks_builder/decoder_nodes_grid_nodes_mlp/~/linear_1";
    let mut p = Params::new();
    for (m, n, t) in ckpt.params.iter() {
        if m == missing {
            continue;
        }
        if m == reshaped && n == "b" {
            p.insert(m, n, vec![t.len() - 1], t.data()[1..].to_vec())
                .unwrap();
        } else {
            p.insert(m, n, t.shape.clone(), t.data().to_vec()).unwrap();
        }
    }
    p.insert("extra_module/linear", "w", vec![2, 2], vec![0.0; 4])
        .unwrap();
    ckpt.params = p;
    let err = Network::load(&ckpt, graphs).unwrap_err();
    let Error::Params { report, .. } = &err else {
        panic!("expected a parameter report, got {err}");
    };
    assert!(report.contains(&format!("missing {missing}:w")), "{report}");
    assert!(
        report.contains(&format!("{reshaped}:b")) && report.contains("[84]"),
        "{report}"
    );
    assert!(report.contains("extra_module/linear:w"), "{report}");
    assert!(report.starts_with("3 problem(s)"), "{report}");
}

#[test]
fn rejects_inconsistent_config_and_bad_inputs() {
    let (ckpt, graphs) = tiny();
    let mut bad = ckpt.clone();
    bad.denoiser_architecture_config
        .sparse_transformer_config
        .num_heads = 5;
    assert!(matches!(
        Network::load(&bad, graphs.clone()),
        Err(Error::Config { .. })
    ));
    let mut bad = ckpt.clone();
    bad.denoiser_architecture_config
        .sparse_transformer_config
        .d_model = 16;
    assert!(matches!(
        Network::load(&bad, graphs.clone()),
        Err(Error::Config { .. })
    ));

    let net = Network::load(&ckpt, graphs.clone()).unwrap();
    let ng = graphs.n_grid;
    let mut out = vec![0.0f32; ng * net.cout()];
    let feats = vec![0.0f32; ng * net.cin()];
    assert!(matches!(
        net.forward(&feats[1..], 1.0, &mut out),
        Err(Error::Shape { .. })
    ));
    assert!(matches!(
        net.forward(&feats, 0.0, &mut out),
        Err(Error::Invalid(_))
    ));
    assert!(matches!(
        net.forward(&feats, f32::NAN, &mut out),
        Err(Error::Invalid(_))
    ));
    let mut nan = feats.clone();
    nan[5] = f32::NAN;
    assert!(matches!(
        net.forward(&nan, 1.0, &mut out),
        Err(Error::NonFinite { .. })
    ));
    net.forward(&feats, 1.0, &mut out).unwrap();
    assert!(out.iter().all(|v| v.is_finite()));
}
