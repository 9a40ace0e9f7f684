//! Icosahedral mesh and RCM permutation against the reference (graphcast v0.2 with NumPy 2.4.6
//! and SciPy 1.17.1): counts, bit-exact vertex/face checksums, and the fixtures' `rcm_perm`.

use crate::support::sha256;
use gencast::checkpoint::NpzArchive;
use gencast::graph::icosahedral_mesh::{
    faces_to_edges, get_icosahedron, get_last_triangular_mesh_for_sphere, max_edge_length,
    TriangularMesh,
};
use gencast::graph::rcm::{invert_permutation, permute_mesh_to_banded};

const TIES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/mesh2grid-ties");

fn vertex_bytes(mesh: &TriangularMesh) -> Vec<u8> {
    mesh.vertices
        .iter()
        .flatten()
        .flat_map(|v| v.to_le_bytes())
        .collect()
}

fn face_bytes(faces: &[[u32; 3]]) -> Vec<u8> {
    faces
        .iter()
        .flatten()
        .flat_map(|&v| (v as i32).to_le_bytes())
        .collect()
}

fn i32_bytes(v: &[u32]) -> Vec<u8> {
    v.iter().flat_map(|&x| (x as i32).to_le_bytes()).collect()
}

/// Checksums of the reference's `get_last_triangular_mesh_for_sphere(s)` arrays (float32
/// vertices and int32 faces, little-endian, row-major), recorded by running the reference.
const REFERENCE_MESH_SHA256: [(&str, &str); 7] = [
    (
        "7181d71d4e7a777569b33369b68c0a69a0353c5728061bb488a8cc85a5fe6e1e",
        "8dde75b41502a2574138e6e9b49f2783e944c9d280fb71a90b1ccc2e3e23421c",
    ),
    (
        "2f1ef9d93d1d8b685a8b4cd5e78cd07554cc1a090f57b821bcc1d764cc8c1962",
        "4c3015592e1372b3406abff383b99b34ee867ed8accb758ad15575a0280681c0",
    ),
    (
        "1d2479fe3e3aa9940b8e711e610f6f85136acb64080ce1708cf75495ae0c1b22",
        "1ec9e57785fcf0cd2a8616f501c32cc8d7fb3f9921e6df6632ed157d72b7a48f",
    ),
    (
        "e743a1184b5ca72eca30a5d10d84503a953d19c0fe2a957d516ac08862ded19f",
        "98858b54c01813f833d0058c13371b8bbd6e4baae22c9051c9b1102fdf32d792",
    ),
    (
        "5bd5b5a9939d29b0fdeab81f2b02c41e46a0462a0f73b90a035690dea44cf225",
        "c9b64ca426f753a172a8791c9e3a627d0c2147c26ac70b47bdfb92d7cb955c1a",
    ),
    (
        "4909d8aef7a35b4331cedcd249dabf06632e5ad098ff72a71782726330e98325",
        "ca6c0122b1e82849db25a0d2e169d9487bda7b44e4bfc8a469b48dbb7e08a983",
    ),
    (
        "0c6a10735f0f73a4478d4c4665b22f7f556be2cb59b0201d644e757e69fdcb5d",
        "990658e49fcd97d690939d600675d92d6737beb11b267a9c98fb71138305c151",
    ),
];

/// Checksums of the reference's RCM permutation (int32) for mesh sizes 2..=6.
const REFERENCE_PERM_SHA256: [&str; 5] = [
    "494c0147354caa2670611330f0aabb06906eaedd05c27b2c31e64f2023d800c6",
    "42bd1aecc999f5f7bc642f974130bd55ce001563e40dbdac84ccfde1119bd62b",
    "3a70000cf32ef314c6b7fa19813ba79ab6ba6483de4a227a4a62c7973cffe075",
    "96febca4d97296a93d2e0f1c3909c6897bfe310ad5e86b876b974aaf8ec12867",
    "62a1b57fb8b2ab9d7500e3d24ec93aa91615331a253ca0908f795ee75ad68b34",
];

#[test]
fn counts_for_mesh_sizes_0_to_6() {
    for s in 0..=6usize {
        let mesh = get_last_triangular_mesh_for_sphere(s);
        let p = 4usize.pow(s as u32);
        assert_eq!(mesh.vertices.len(), 10 * p + 2, "vertices, mesh {s}");
        assert_eq!(mesh.faces.len(), 20 * p, "faces, mesh {s}");
        let (senders, receivers) = faces_to_edges(&mesh.faces);
        assert_eq!(senders.len(), 60 * p, "edges, mesh {s}");
        // Every undirected edge appears once in each direction.
        let mut fwd: Vec<(u32, u32)> = senders
            .iter()
            .copied()
            .zip(receivers.iter().copied())
            .collect();
        let mut rev: Vec<(u32, u32)> = receivers
            .iter()
            .copied()
            .zip(senders.iter().copied())
            .collect();
        fwd.sort_unstable();
        rev.sort_unstable();
        assert_eq!(fwd, rev, "edges symmetric, mesh {s}");
        fwd.dedup();
        assert_eq!(fwd.len(), 60 * p, "no duplicate directed edge, mesh {s}");
    }
    let mesh2 = get_last_triangular_mesh_for_sphere(2);
    assert_eq!(mesh2.vertices.len(), 162);
    assert_eq!(faces_to_edges(&mesh2.faces).0.len(), 960);
}

#[test]
fn base_icosahedron_matches_the_spec_table() {
    let m = get_icosahedron();
    // Vertices of `get_icosahedron` in
    // <https://github.com/google-deepmind/graphcast/blob/08cf736/graphcast/icosahedral_mesh.py> (8
    // significant digits, so compare to 5e-8 absolute).
    let expected: [[f32; 3]; 4] = [
        [0.491_123_44, 0.850_650_8, 0.187_592_46],
        [-0.303_531, 0.525_731_1, 0.794_654_4],
        [0.607_062, 0.0, 0.794_654_4],
        [-0.491_123_44, -0.850_650_8, -0.187_592_46],
    ];
    for (i, e) in [0usize, 1, 2, 9].iter().zip(expected) {
        for (k, (got, want)) in m.vertices[*i].iter().zip(e).enumerate() {
            assert!((got - want).abs() < 5e-8, "vertex {i} comp {k}");
        }
    }
    assert_eq!(m.faces[13], [10, 8, 3]);
}

#[test]
fn vertices_and_faces_are_bit_identical_to_the_reference() {
    for (s, (v_sha, f_sha)) in REFERENCE_MESH_SHA256.iter().enumerate() {
        let mesh = get_last_triangular_mesh_for_sphere(s);
        assert_eq!(&sha256(&vertex_bytes(&mesh)), v_sha, "vertices, mesh {s}");
        assert_eq!(&sha256(&face_bytes(&mesh.faces)), f_sha, "faces, mesh {s}");
    }
}

#[test]
fn edge_lengths_match_the_spec_table() {
    // Longest float32 chord for meshes 4, 5, 6 (exact float32 values) after
    // `get_hierarchy_of_triangular_meshes_for_sphere` in
    // <https://github.com/google-deepmind/graphcast/blob/08cf736/graphcast/icosahedral_mesh.py>.
    for (s, longest) in [
        (4usize, 0.082_604_006f32),
        (5, 0.041_337_296),
        (6, 0.020_673_09),
    ] {
        let mesh = get_last_triangular_mesh_for_sphere(s);
        assert_eq!(max_edge_length(&mesh), longest, "mesh {s}");
    }
}

#[test]
fn rcm_permutation_matches_the_fixtures_for_mesh_2_and_3() {
    for (s, file) in [(2usize, "mesh2_res10deg.npz"), (3, "mesh3_res5deg.npz")] {
        let npz = NpzArchive::open(format!("{TIES}/{file}")).unwrap();
        let expected: Vec<u32> = npz
            .array("rcm_perm")
            .unwrap()
            .to_i64_vec()
            .unwrap()
            .into_iter()
            .map(|v| v as u32)
            .collect();
        let mesh = get_last_triangular_mesh_for_sphere(s);
        let (permuted, perm) = permute_mesh_to_banded(&mesh);
        assert_eq!(perm, expected, "mesh {s}");
        // The permuted faces map back onto the original ones.
        for (pf, f) in permuted.faces.iter().zip(&mesh.faces) {
            assert_eq!(pf.map(|v| perm[v as usize]), *f);
        }
        let inv = invert_permutation(&perm);
        assert_eq!(inv[perm[7] as usize], 7);
    }
}

#[test]
fn rcm_permutation_matches_the_reference_for_mesh_2_to_6() {
    for (k, sha) in REFERENCE_PERM_SHA256.iter().enumerate() {
        let s = k + 2;
        let mesh = get_last_triangular_mesh_for_sphere(s);
        let (permuted, perm) = permute_mesh_to_banded(&mesh);
        assert_eq!(&sha256(&i32_bytes(&perm)), sha, "mesh {s}");
        // `_permute_mesh_to_banded` in
        // <https://github.com/google-deepmind/graphcast/blob/08cf736/graphcast/denoiser.py>:
        // permuted vertex 0 is original vertex 9 for every mesh size.
        assert_eq!(perm[0], 9);
        assert_eq!(
            permuted.vertices[0],
            [-0.491_123_44, -0.850_650_8, -0.187_592_46]
        );
    }
}
