//! GraphCast's multi-mesh, grid↔mesh graphs and structural features against the reference's
//! `graph.npz` (10° grid, mesh_size 2).

use crate::support::grid;
use crate::support::{graphcast_fixture as fixture, GRAPHCAST_DATASET as DATASET};
use gencast::checkpoint::{GraphCastCheckpoint, NpzArchive};
use gencast::data::Dataset;
use gencast::models::graphcast::GraphCastGraphs;

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

#[test]
fn multimesh_sizes_and_radii_for_every_published_mesh_size() {
    use gencast::graph::icosahedral_mesh::max_edge_length;
    use gencast::graph::multimesh::{get_hierarchy_of_triangular_meshes_for_sphere, merge_meshes};
    // (mesh_size, nodes, multi-mesh faces, longest finest chord, g2m radius) as computed by
    // `merge_meshes` in
    // <https://github.com/google-deepmind/graphcast/blob/08cf736/graphcast/icosahedral_mesh.py> and
    // `_get_max_edge_distance` in
    // <https://github.com/google-deepmind/graphcast/blob/08cf736/graphcast/graphcast.py>.
    for (s, nodes, faces, longest, radius) in [
        (2, 162, 420, 0.324_919_76f32, 0.194_951_86f32),
        (3, 642, 1_700, 0.164_647_19, 0.098_788_32),
        (4, 2_562, 6_820, 0.082_604_006, 0.049_562_406),
        (5, 10_242, 27_300, 0.041_337_296, 0.024_802_38),
        (6, 40_962, 109_220, 0.020_673_09, 0.012_403_855),
    ] {
        let levels = get_hierarchy_of_triangular_meshes_for_sphere(s);
        // Each level's vertices extend the previous level's.
        for w in levels.windows(2) {
            assert_eq!(w[1].vertices[..w[0].vertices.len()], w[0].vertices[..]);
        }
        let merged = merge_meshes(&levels).unwrap();
        assert_eq!(merged.vertices.len(), nodes, "mesh {s}");
        assert_eq!(merged.faces.len(), faces, "mesh {s}");
        let finest = levels.last().unwrap();
        assert_eq!(max_edge_length(finest), longest, "mesh {s}");
        assert_eq!(longest * 0.6f32, radius, "mesh {s}");
        // The longest multi-mesh chord is a level-0 edge.
        assert_eq!(max_edge_length(&merged), 1.051_462_2, "mesh {s}");
    }
}

#[test]
fn published_configurations_build() {
    use gencast::checkpoint::ModelConfig;
    // GraphCast_small (1°, mesh 5) and GraphCast (0.25°, mesh 6). The grid2mesh edge sets equal
    // GenCast's at the same mesh size and grid (`_init_grid2mesh_graph` in
    // <https://github.com/google-deepmind/graphcast/blob/08cf736/graphcast/graphcast.py> and
    // <https://github.com/google-deepmind/graphcast/blob/08cf736/graphcast/denoiser.py>); only the
    // node labels differ.
    for (res, mesh_size, g2m) in [(1.0, 5, 101_892), (0.25, 6, 1_618_818)] {
        let cfg = ModelConfig {
            resolution: res,
            mesh_size,
            latent_size: 512,
            gnn_msg_steps: 16,
            hidden_layers: 1,
            radius_query_fraction_edge_length: 0.6,
            mesh2grid_edge_normalization_factor: None,
        };
        let (lat, lon) = grid(res);
        cfg.check_grid(lon.len()).unwrap();
        let start = std::time::Instant::now();
        let g = GraphCastGraphs::build(&cfg, &lat, &lon).unwrap();
        println!(
            "GraphCastGraphs::build({res} deg, mesh {mesh_size}): {:.2} s",
            start.elapsed().as_secs_f64()
        );
        let n_faces: usize = g.faces_per_level.iter().sum();
        assert_eq!(g.mesh.len(), 3 * n_faces);
        assert_eq!(g.grid2mesh.len(), g2m);
        assert_eq!(g.mesh2grid.len(), 3 * g.n_grid);
        // The mesh edge features are normalised by a level-0 edge, so the finest edges are short.
        let max_len = g.mesh.features.chunks(4).map(|f| f[0]).fold(0f32, f32::max);
        assert!((max_len - 1.0).abs() < 1e-6);
    }
}

#[test]
fn mesh2grid_normalization_factor_replaces_the_longest_edge() {
    let mut ckpt = GraphCastCheckpoint::open(fixture("checkpoint.npz")).unwrap();
    let ds = Dataset::open(fixture(DATASET)).unwrap();
    let plain = GraphCastGraphs::build(&ckpt.model_config, ds.lat(), ds.lon()).unwrap();
    let longest = plain
        .mesh2grid
        .features
        .chunks(4)
        .map(|f| f[0])
        .fold(0f32, f32::max);
    assert_eq!(longest, 1.0);
    ckpt.model_config.mesh2grid_edge_normalization_factor = Some(0.5);
    let scaled = GraphCastGraphs::build(&ckpt.model_config, ds.lat(), ds.lon()).unwrap();
    // Both are float64 quotients rounded to float32: `x/0.5` against `(x/max)`, so the ratio
    // equals `max/0.5` to float32 round-off.
    let max_len = scaled
        .mesh2grid
        .features
        .chunks(4)
        .map(|f| f[0])
        .fold(0f32, f32::max);
    for (a, b) in scaled
        .mesh2grid
        .features
        .iter()
        .zip(&plain.mesh2grid.features)
    {
        assert!(
            (f64::from(*a) - f64::from(*b) * f64::from(max_len)).abs() <= 1e-6 * f64::from(max_len)
        );
    }
    // Other edge sets are unaffected.
    assert_eq!(scaled.mesh.features, plain.mesh.features);
    assert_eq!(scaled.grid2mesh.features, plain.grid2mesh.features);
}
