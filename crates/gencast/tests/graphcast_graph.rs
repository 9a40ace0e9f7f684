//! GraphCast's multi-mesh, grid↔mesh graphs and structural features against the reference's
//! `graph.npz` (10° grid, mesh_size 2).

use std::path::PathBuf;

use gencast::checkpoint::{GraphCastCheckpoint, NpzArchive};
use gencast::data::Dataset;
use gencast::model::graphcast::GraphCastGraphs;

fn fixture(file: &str) -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/graphcast-tiny"
    ))
    .join(file)
}

const DATASET: &str = "source-era5_date-2019-03-29_res-10.0_levels-13_steps-03.nc";

fn ints(z: &NpzArchive, name: &str) -> Vec<i64> {
    z.array(name).unwrap().to_i64_vec().unwrap()
}

fn floats(z: &NpzArchive, name: &str) -> Vec<f64> {
    z.array(name).unwrap().to_f64_vec().unwrap()
}

fn as_i64(v: &[u32]) -> Vec<i64> {
    v.iter().map(|&x| i64::from(x)).collect()
}

fn max_abs_diff(ours: &[f32], reference: &[f64]) -> f64 {
    assert_eq!(ours.len(), reference.len());
    ours.iter()
        .zip(reference)
        .map(|(&a, &b)| (f64::from(a) - b).abs())
        .fold(0.0, f64::max)
}

#[test]
fn graphs_match_the_reference() {
    let ckpt = GraphCastCheckpoint::open(fixture("checkpoint.npz")).unwrap();
    let ds = Dataset::open(fixture(DATASET)).unwrap();
    let g = GraphCastGraphs::build(&ckpt.model_config, ds.lat(), ds.lon()).unwrap();
    let z = NpzArchive::open(fixture("graph.npz")).unwrap();

    // Vertices and faces are computed with the reference's float32 arithmetic: exact.
    let vertices: Vec<f32> = g.multimesh.vertices.iter().flatten().copied().collect();
    assert_eq!(max_abs_diff(&vertices, &floats(&z, "mesh_vertices")), 0.0);
    let faces: Vec<u32> = g.multimesh.faces.iter().flatten().copied().collect();
    assert_eq!(as_i64(&faces), ints(&z, "multimesh_faces"));
    let per_level: Vec<i64> = g.faces_per_level.iter().map(|&n| n as i64).collect();
    assert_eq!(per_level, ints(&z, "faces_per_level"));
    assert_eq!(
        g.grid2mesh_radius,
        z.array("query_radius").unwrap().to_f32_vec().unwrap()[0]
    );

    // Node lat/lon and node features: exact (float32 numpy arithmetic reproduced).
    assert_eq!(
        max_abs_diff(&g.mesh_nodes_lat, &floats(&z, "mesh_nodes_lat")),
        0.0
    );
    assert_eq!(
        max_abs_diff(&g.mesh_nodes_lon, &floats(&z, "mesh_nodes_lon")),
        0.0
    );
    assert_eq!(
        max_abs_diff(
            &g.grid_node_features,
            &floats(&z, "grid_node_structural_features")
        ),
        0.0
    );
    assert_eq!(
        max_abs_diff(
            &g.mesh_node_features,
            &floats(&z, "mesh_node_structural_features")
        ),
        0.0
    );

    for (name, edges) in [
        ("grid2mesh", &g.grid2mesh),
        ("mesh", &g.mesh),
        ("mesh2grid", &g.mesh2grid),
    ] {
        assert_eq!(
            as_i64(&edges.senders),
            ints(&z, &format!("{name}_senders")),
            "{name} senders"
        );
        assert_eq!(
            as_i64(&edges.receivers),
            ints(&z, &format!("{name}_receivers")),
            "{name} receivers"
        );
        // Features are float64 in the reference and stored as float32 here: half an f32 ulp
        // of values up to 1 (6e-8), plus the reference's own f64 round-off.
        let diff = max_abs_diff(
            &edges.features,
            &floats(&z, &format!("{name}_edge_features")),
        );
        assert!(diff < 1e-7, "{name} edge features differ by {diff}");
    }
}
