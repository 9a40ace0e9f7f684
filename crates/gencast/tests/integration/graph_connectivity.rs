//! Grid positions, grid2mesh radius query and mesh2grid triangle choice against the reference
//! (graphcast v0.2 with NumPy 2.4.6, SciPy 1.17.1, trimesh 5.2.0, rtree 1.4.1).

use crate::support::grid;
use crate::support::sha256;
use gencast::checkpoint::NpzArchive;
use gencast::graph::icosahedral_mesh::{get_last_triangular_mesh_for_sphere, max_edge_length};
use gencast::graph::rcm::permute_mesh_to_banded;
use gencast::graph::{grid2mesh, mesh2grid, spherical, Graphs};

const TIES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/mesh2grid-ties");

fn i32_bytes(v: &[u32]) -> Vec<u8> {
    v.iter().flat_map(|&x| (x as i32).to_le_bytes()).collect()
}

fn widened_grid_positions(lat: &[f32], lon: &[f32]) -> Vec<[f64; 3]> {
    spherical::grid_positions(lat, lon)
        .into_iter()
        .map(spherical::widen)
        .collect()
}

fn npz_i64(npz: &NpzArchive, name: &str) -> Vec<i64> {
    npz.array(name).unwrap().to_i64_vec().unwrap()
}

fn npz_str(npz: &NpzArchive, name: &str) -> String {
    npz.array(name).unwrap().as_strings().unwrap()[0].clone()
}

#[test]
fn grid_positions_are_bit_identical_to_the_reference() {
    // SHA-256 of `_grid_lat_lon_to_coordinates(lat, lon).reshape(-1, 3)` (float32).
    let expected = [
        (
            10.0,
            "71529aef063319d0f62a8c6a9eb4ed6814bd05537285f0ee7b0929799c2d051a",
        ),
        (
            5.0,
            "fd825097ebcab88434905767cafe3567d334fcc6bd8074d4026158247565bfe8",
        ),
        (
            1.0,
            "4dd593893ac1c102937b02a142d3d831df01b2edff9cb8c3b03b372b8f08652e",
        ),
        (
            0.25,
            "146819de0e9c600df8f42fc2fefa317b2734f2d0cc3de51f6fe96dd5047a5d59",
        ),
    ];
    for (res, sha) in expected {
        let (lat, lon) = grid(res);
        let pos = spherical::grid_positions(&lat, &lon);
        let bytes: Vec<u8> = pos.iter().flatten().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(sha256(&bytes), sha, "grid {res} deg");
    }
}

/// Reference grid2mesh results: (mesh_size, resolution, radius as float64, edge count,
/// SHA-256 of the int32 `[2, E]` array `[grid_indices, mesh_indices]`).
const GRID2MESH: [(usize, f64, f64, usize, &str); 6] = [
    (
        2,
        10.0,
        0.1949518620967865,
        1236,
        "314c7fa1683ad29acd89bd01f995408eeb42e25a28a8f094dbe9a435ea6befd8",
    ),
    (
        3,
        5.0,
        0.098788321018219,
        4416,
        "b2d9f36ebcc792ee80450a2ed46406b4094883158b113dc70516462d63bf8e5a",
    ),
    (
        4,
        1.0,
        0.04956240579485893,
        102_486,
        "eed13861906784b63451137abd13b4ac54aad4ffab413ead2966e53306ab9a2b",
    ),
    (
        5,
        1.0,
        0.024802379310131073,
        101_892,
        "6eb481a1a53b42bb34f6482d396d74ade94c1206634269f54b324c20d8e00244",
    ),
    (
        6,
        1.0,
        0.012403855100274086,
        102_792,
        "d45fcdf00b21dee57030dc55ff471a1d56239c85809f06f8d0093eb61fcfe626",
    ),
    (
        6,
        0.25,
        0.012403855100274086,
        1_618_818,
        "f8844c6a791835c9eeff674dc497bbcebdf7979e86f489a02cdc85fd569ae261",
    ),
];

#[test]
fn grid2mesh_edges_are_identical_to_the_reference() {
    for &(mesh_size, res, radius, count, sha) in &GRID2MESH {
        let (mesh, _) = permute_mesh_to_banded(&get_last_triangular_mesh_for_sphere(mesh_size));
        let r = grid2mesh::query_radius(max_edge_length(&mesh), 0.6);
        assert_eq!(f64::from(r), radius, "radius, mesh {mesh_size}");
        let (lat, lon) = grid(res);
        let mesh_pos: Vec<[f64; 3]> = mesh.vertices.iter().map(|&v| spherical::widen(v)).collect();
        let (senders, receivers) = grid2mesh::radius_query_edges(
            &widened_grid_positions(&lat, &lon),
            &mesh_pos,
            f64::from(r),
        );
        assert_eq!(
            senders.len(),
            count,
            "edge count, mesh {mesh_size} at {res} deg"
        );
        let mut bytes = i32_bytes(&senders);
        bytes.extend(i32_bytes(&receivers));
        assert_eq!(sha256(&bytes), sha, "edges, mesh {mesh_size} at {res} deg");
        // Every grid node sends at least one edge and every mesh node receives one
        // (`radius_query_indices` in
        // <https://github.com/google-deepmind/graphcast/blob/08cf736/graphcast/grid_mesh_connectivity.py>).
        let mut received = vec![false; mesh.vertices.len()];
        receivers.iter().for_each(|&m| received[m as usize] = true);
        assert!(received.iter().all(|&b| b));
        assert_eq!(
            senders.last().map(|&g| g as usize + 1),
            Some(lat.len() * lon.len())
        );
        assert!(senders.windows(2).all(|w| w[1] - w[0] <= 1));
    }
}

/// The six mesh2grid-ties configurations.
const CONFIGS: [(&str, usize, f64); 6] = [
    ("mesh2_res10deg.npz", 2, 10.0),
    ("mesh3_res5deg.npz", 3, 5.0),
    ("mesh4_res1deg.npz", 4, 1.0),
    ("mesh5_res1deg.npz", 5, 1.0),
    ("mesh6_res1deg.npz", 6, 1.0),
    ("mesh6_res0p25deg.npz", 6, 0.25),
];

#[test]
fn mesh2grid_assignment_matches_the_reference_checksums_for_all_six_configurations() {
    for (file, mesh_size, res) in CONFIGS {
        let npz = NpzArchive::open(format!("{TIES}/{file}")).unwrap();
        let (lat, lon) = grid(res);
        assert_eq!(
            npz.array("lat").unwrap().to_f32_vec().unwrap(),
            lat,
            "{file}"
        );
        assert_eq!(
            npz.array("lon").unwrap().to_f32_vec().unwrap(),
            lon,
            "{file}"
        );
        let mesh = get_last_triangular_mesh_for_sphere(mesh_size);
        let faces = mesh2grid::containing_faces(
            &mesh.vertices,
            &mesh.faces,
            &widened_grid_positions(&lat, &lon),
            mesh_size,
            &lat,
            &lon,
        );
        let sum: i64 = faces.iter().map(|&f| i64::from(f)).sum();
        assert_eq!(sum, npz_i64(&npz, "face_index_sum")[0], "{file}");
        assert_eq!(
            sha256(&i32_bytes(&faces)),
            npz_str(&npz, "sha256_face_index"),
            "{file}"
        );
        let vertices: Vec<u32> = faces.iter().flat_map(|&f| mesh.faces[f as usize]).collect();
        assert_eq!(
            sha256(&i32_bytes(&vertices)),
            npz_str(&npz, "sha256_vertices_unpermuted"),
            "{file}"
        );
    }
}

#[test]
fn mesh2grid_full_assignment_matches_the_small_fixtures() {
    for (file, mesh_size, res) in &CONFIGS[..2] {
        let npz = NpzArchive::open(format!("{TIES}/{file}")).unwrap();
        let (lat, lon) = grid(*res);
        let graphs = Graphs::build(*mesh_size, &lat, &lon, 0.6, 1).unwrap();
        let as_u32 = |name: &str| -> Vec<u32> {
            npz_i64(&npz, name).into_iter().map(|v| v as u32).collect()
        };
        assert_eq!(graphs.mesh_permutation, as_u32("rcm_perm"), "{file}");
        assert_eq!(graphs.mesh2grid_face, as_u32("full_face_index"), "{file}");
        assert_eq!(
            graphs.mesh2grid.senders,
            as_u32("full_vertices_permuted"),
            "{file}"
        );
        let unpermuted: Vec<u32> = graphs
            .mesh2grid
            .senders
            .iter()
            .map(|&v| graphs.mesh_permutation[v as usize])
            .collect();
        assert_eq!(unpermuted, as_u32("full_vertices_unpermuted"), "{file}");
        let expected_receivers: Vec<u32> = (0..graphs.n_grid as u32).flat_map(|g| [g; 3]).collect();
        assert_eq!(graphs.mesh2grid.receivers, expected_receivers);
    }
}

#[test]
fn without_the_table_only_tabulated_points_can_differ() {
    // A grid whose coordinates do not match the table rows is left to the geometric rule; the
    // result then differs from the reference at tabulated points only.
    let npz = NpzArchive::open(format!("{TIES}/mesh3_res5deg.npz")).unwrap();
    let (lat, lon) = grid(5.0);
    let mesh = get_last_triangular_mesh_for_sphere(3);
    let pos = widened_grid_positions(&lat, &lon);
    // mesh_size 99 has no table: plain geometric rule.
    let plain = mesh2grid::containing_faces(&mesh.vertices, &mesh.faces, &pos, 99, &lat, &lon);
    let reference: Vec<u32> = npz_i64(&npz, "full_face_index")
        .into_iter()
        .map(|v| v as u32)
        .collect();
    let table: Vec<usize> = npz_i64(&npz, "table_grid_index")
        .into_iter()
        .map(|v| v as usize)
        .collect();
    let differing: Vec<usize> = (0..plain.len())
        .filter(|&g| plain[g] != reference[g])
        .collect();
    assert!(differing.iter().all(|g| table.contains(g)), "{differing:?}");
    assert!(!differing.is_empty());
}
