//! Loading the GraphCast fixture checkpoints: configs read from the file, the parameter tree
//! equal to the reference's, and broken files reported with every bad tensor at once.

use std::path::{Path, PathBuf};

use gencast::checkpoint::{
    CheckpointKind, GenCastCheckpoint, GraphCastCheckpoint, NpzArchive, NpzWriter,
};
use gencast::models::graphcast::{GraphCast, GraphCastGraphs};
use gencast::Error;

fn fixture(file: &str) -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/graphcast-tiny"
    ))
    .join(file)
}

/// The reference's parameter shapes from `param_shapes.json`, as `module:name` → shape.
fn reference_shapes(file: &str) -> Vec<(String, Vec<usize>)> {
    let text = std::fs::read_to_string(fixture(file)).unwrap();
    let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&text).unwrap();
    let mut out: Vec<(String, Vec<usize>)> = map
        .into_iter()
        .map(|(k, v)| {
            let shape = v
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_u64().unwrap() as usize)
                .collect();
            (k, shape)
        })
        .collect();
    out.sort();
    out
}

#[test]
fn both_variants_load_with_the_reference_parameter_tree() {
    for (prefix, cin, n_params) in [("", 183, 70739), ("precip_out_", 181, 70611)] {
        let ckpt = GraphCastCheckpoint::open(fixture(&format!("{prefix}checkpoint.npz"))).unwrap();
        let cfg = &ckpt.model_config;
        assert_eq!(cfg.resolution, 10.0);
        assert_eq!(cfg.mesh_size, 2);
        assert_eq!(cfg.latent_size, 32);
        assert_eq!(cfg.gnn_msg_steps, 4);
        assert_eq!(cfg.hidden_layers, 1);
        assert_eq!(cfg.radius_query_fraction_edge_length, 0.6);
        assert_eq!(cfg.mesh2grid_edge_normalization_factor, None);
        cfg.check_grid(36).unwrap();
        let text = cfg.check_grid(360).unwrap_err().to_string();
        assert!(text.contains("model_config:resolution"), "{text}");
        assert_eq!(ckpt.task_config.input_duration, "12h");
        assert_eq!(ckpt.cin().unwrap(), cin);
        assert_eq!(ckpt.cout(), 83);
        assert_eq!(ckpt.params.num_params(), n_params);
        ckpt.validate().unwrap();

        let mut expected: Vec<(String, Vec<usize>)> = ckpt
            .expected_params()
            .unwrap()
            .into_iter()
            .map(|(m, n, s)| (format!("{m}:{n}"), s))
            .collect();
        expected.sort();
        assert_eq!(
            expected,
            reference_shapes(&format!("{prefix}param_shapes.json"))
        );
    }
}

/// Copies the fixture checkpoint without the `skip` members, lets `extra` add members, and
/// writes the result to `dir/name`.
fn rebuild(dir: &Path, skip: &[&str], extra: impl FnOnce(&mut NpzWriter<Vec<u8>>)) -> PathBuf {
    let src = NpzArchive::open(fixture("checkpoint.npz")).unwrap();
    let mut w = NpzWriter::in_memory();
    for n in src.names() {
        if !skip.contains(&n) {
            w.add_array(n, &src.array(n).unwrap()).unwrap();
        }
    }
    extra(&mut w);
    let path = dir.join("broken.npz");
    std::fs::write(&path, w.finish().unwrap()).unwrap();
    path
}

#[test]
fn every_bad_tensor_is_reported_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let b = "mesh_gnn/~_networks_builder/";
    let missing = format!("params:{b}processor_edges_3_mesh_layer_norm:scale");
    let reshaped = format!("params:{b}processor_nodes_1_mesh_nodes_mlp/~/linear_0:w");
    let path = rebuild(dir.path(), &[&missing, &reshaped], |w| {
        w.add_f32(&reshaped, &[63, 32], &vec![0.0; 63 * 32])
            .unwrap();
        let extra = format!("params:{b}processor_edges_4_mesh_mlp/~/linear_0:w");
        w.add_f32(&extra, &[96, 32], &vec![0.0; 96 * 32]).unwrap();
    });
    let ckpt = GraphCastCheckpoint::open(&path).unwrap();
    let text = ckpt.validate().unwrap_err().to_string();
    for needle in [
        path.display().to_string().as_str(),
        "3 problem(s)",
        "missing mesh_gnn/~_networks_builder/processor_edges_3_mesh_layer_norm:scale (expected shape [32])",
        "wrong shape for mesh_gnn/~_networks_builder/processor_nodes_1_mesh_nodes_mlp/~/linear_0:w: expected [64, 32], found [63, 32]",
        "unexpected mesh_gnn/~_networks_builder/processor_edges_4_mesh_mlp/~/linear_0:w",
    ] {
        assert!(text.contains(needle), "`{needle}` not in error: {text}");
    }
    // The model loader reports the same problems instead of panicking.
    let graphs = GraphCastGraphs::build(
        &ckpt.model_config,
        &[-90.0, 0.0, 90.0],
        &[0.0, 120.0, 240.0],
    )
    .unwrap();
    match GraphCast::load(&ckpt, graphs.into()) {
        Err(Error::Params { report, .. }) => assert!(report.contains("3 problem(s)"), "{report}"),
        other => panic!("expected a parameter report, got {other:?}"),
    }
}

#[test]
fn missing_or_bad_model_config_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = rebuild(dir.path(), &["model_config:gnn_msg_steps"], |_| {});
    let text = GraphCastCheckpoint::open(&path).unwrap_err().to_string();
    assert!(text.contains("model_config:gnn_msg_steps"), "{text}");

    let path = rebuild(dir.path(), &["model_config:latent_size"], |w| {
        w.add_i64("model_config:latent_size", &[], &[0]).unwrap();
    });
    let text = GraphCastCheckpoint::open(&path).unwrap_err().to_string();
    assert!(text.contains("model_config:latent_size"), "{text}");

    // A GenCast checkpoint is not mistaken for a GraphCast one.
    let gencast = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/tiny-mha/checkpoint.npz"
    );
    let text = GraphCastCheckpoint::open(gencast).unwrap_err().to_string();
    assert!(text.contains("not a GraphCast checkpoint"), "{text}");
}

#[test]
fn checkpoint_kind_is_recognised() {
    let gencast = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/tiny-mha/checkpoint.npz"
    );
    assert_eq!(
        CheckpointKind::detect(gencast).unwrap(),
        CheckpointKind::GenCast
    );
    let graphcast = fixture("checkpoint.npz");
    assert_eq!(
        CheckpointKind::detect(&graphcast).unwrap(),
        CheckpointKind::GraphCast
    );
    // The GenCast reader says what the file is instead of listing missing GenCast keys.
    let text = GenCastCheckpoint::open(&graphcast).unwrap_err().to_string();
    assert!(text.contains("GraphCast checkpoint"), "{text}");
}
