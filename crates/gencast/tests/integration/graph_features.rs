//! Structural node and edge features against an independent float64 recomputation, and their
//! invariants (`get_graph_spatial_features` and `get_bipartite_graph_spatial_features` in
//! <https://github.com/google-deepmind/graphcast/blob/08cf736/graphcast/model_utils.py>).

use crate::support::grid;
use gencast::graph::{EdgeSet, Graphs};

type V3 = [f64; 3];

/// Unit vector of a lat/lon in degrees, in float64.
fn unit(lat: f64, lon: f64) -> V3 {
    let (la, lo) = (lat.to_radians(), lon.to_radians());
    [la.cos() * lo.cos(), la.cos() * lo.sin(), la.sin()]
}

/// Float64 positions of the grid nodes and the mesh nodes (mesh vertices normalised).
fn positions(g: &Graphs, lat: &[f32], lon: &[f32]) -> (Vec<V3>, Vec<V3>) {
    let grid: Vec<V3> = lat
        .iter()
        .flat_map(|&la| {
            lon.iter()
                .map(move |&lo| unit(f64::from(la), f64::from(lo)))
        })
        .collect();
    let mesh: Vec<V3> = g
        .mesh
        .vertices
        .iter()
        .map(|v| {
            let v = v.map(f64::from);
            let n = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
            [v[0] / n, v[1] / n, v[2] / n]
        })
        .collect();
    (grid, mesh)
}

/// Expected `[|d|, d_east... ]` features: the displacement sender − receiver projected on the
/// receiver's (radial, east, north) frame, normalised by the largest length.
fn expected_edge_features(edges: &EdgeSet, senders: &[V3], receivers: &[V3]) -> Vec<[f64; 4]> {
    let raw: Vec<[f64; 4]> = edges
        .senders
        .iter()
        .zip(&edges.receivers)
        .map(|(&s, &r)| {
            let (ps, u) = (senders[s as usize], receivers[r as usize]);
            let rho = (u[0] * u[0] + u[1] * u[1]).sqrt();
            // At the poles longitude is undefined; the grid's own longitude fixes the frame
            // there, so pole receivers are skipped by the caller.
            let east = [-u[1] / rho, u[0] / rho, 0.0];
            let north = [-u[2] * u[0] / rho, -u[2] * u[1] / rho, rho];
            let d = [ps[0] - u[0], ps[1] - u[1], ps[2] - u[2]];
            let proj = |e: &V3| e[0] * d[0] + e[1] * d[1] + e[2] * d[2];
            let (x, y, z) = (proj(&u), proj(&east), proj(&north));
            [(x * x + y * y + z * z).sqrt(), x, y, z]
        })
        .collect();
    let max = raw.iter().fold(0f64, |m, e| m.max(e[0]));
    raw.iter().map(|e| e.map(|v| v / max)).collect()
}

/// Largest |computed − expected| over edges whose receiver is not at a pole.
fn max_edge_feature_error(
    edges: &EdgeSet,
    expected: &[[f64; 4]],
    receiver_is_pole: impl Fn(u32) -> bool,
) -> f64 {
    let mut max = 0f64;
    for (e, exp) in expected.iter().enumerate() {
        if receiver_is_pole(edges.receivers[e]) {
            continue;
        }
        for (&got, &want) in edges.features[4 * e..4 * e + 4].iter().zip(exp) {
            max = max.max((f64::from(got) - want).abs());
        }
    }
    max
}

fn check_edge_invariants(edges: &EdgeSet) {
    let mut longest = 0f32;
    for f in edges.features.chunks_exact(4) {
        let norm =
            (f64::from(f[1]).powi(2) + f64::from(f[2]).powi(2) + f64::from(f[3]).powi(2)).sqrt();
        // Column 0 is the norm of columns 1..3, each rounded to float32 separately.
        assert!((f64::from(f[0]) - norm).abs() <= 4e-7, "{f:?}");
        // Zero only where a grid node coincides with a mesh vertex (e.g. lat 0, lon 90).
        assert!(f[0] >= 0.0 && f[0] <= 1.0, "{f:?}");
        // The receiver sits at (1, 0, 0) and the sender on the sphere: d_x <= 0 (to round-off).
        assert!(f[1] <= 1e-6, "{f:?}");
        longest = longest.max(f[0]);
    }
    // Normalised by the longest edge of the set.
    assert_eq!(longest, 1.0);
}

#[test]
fn node_features_match_float64() {
    for (mesh_size, res) in [(2usize, 10.0), (4, 1.0)] {
        let (lat, lon) = grid(res);
        let g = Graphs::build(mesh_size, &lat, &lon, 0.6, 1).unwrap();
        let (grid_pos, mesh_pos) = positions(&g, &lat, &lon);
        // Grid: [sin(lat), cos(lon), sin(lon)]. Error budget: float32 rounding of the angle in
        // radians (|theta| < pi: 1.2e-7) plus 1.5 ulp of NumPy's float32 sin/cos.
        for (gi, f) in g.grid_node_features.chunks_exact(3).enumerate() {
            let (la, lo) = (
                f64::from(lat[gi / lon.len()]),
                f64::from(lon[gi % lon.len()]),
            );
            let exp = [
                la.to_radians().sin(),
                lo.to_radians().cos(),
                lo.to_radians().sin(),
            ];
            for (k, (&got, want)) in f.iter().zip(exp).enumerate() {
                assert!(
                    (f64::from(got) - want).abs() < 4e-7,
                    "grid {gi} feature {k}"
                );
            }
        }
        // Mesh: [z, x/rho, y/rho] of the unit vertex. Error budget: the float32 round trip
        // vertex -> (atan2, acos) -> degrees -> radians -> (cos, sin), a few float32 ulps of
        // angles up to 2*pi (2.4e-7 each).
        for (mi, f) in g.mesh_node_features.chunks_exact(3).enumerate() {
            let v = mesh_pos[mi];
            let rho = (v[0] * v[0] + v[1] * v[1]).sqrt();
            let exp = [v[2], v[0] / rho, v[1] / rho];
            for (k, (&got, want)) in f.iter().zip(exp).enumerate() {
                assert!(
                    (f64::from(got) - want).abs() < 1.5e-6,
                    "mesh {mi} feature {k}"
                );
            }
        }
        assert_eq!(grid_pos.len(), g.n_grid);
    }
}

#[test]
fn edge_features_match_float64_and_invariants_hold() {
    for (mesh_size, res) in [(2usize, 10.0), (4, 1.0)] {
        let (lat, lon) = grid(res);
        let g = Graphs::build(mesh_size, &lat, &lon, 0.6, 1).unwrap();
        let (grid_pos, mesh_pos) = positions(&g, &lat, &lon);
        check_edge_invariants(&g.grid2mesh);
        check_edge_invariants(&g.mesh2grid);

        let g2m = expected_edge_features(&g.grid2mesh, &grid_pos, &mesh_pos);
        let m2g = expected_edge_features(&g.mesh2grid, &mesh_pos, &grid_pos);
        let n_lon = lon.len() as u32;
        let n_grid = g.n_grid as u32;
        let grid_pole = |r: u32| r < n_lon || r >= n_grid - n_lon;
        let e_g2m = max_edge_feature_error(&g.grid2mesh, &g2m, |_| false);
        let e_m2g = max_edge_feature_error(&g.mesh2grid, &m2g, grid_pole);
        println!(
            "mesh {mesh_size}: max |feature - f64| grid2mesh {e_g2m:.2e}, mesh2grid {e_m2g:.2e}"
        );
        // Node positions are rebuilt from float32 lat/lon in degrees: the degree value, the
        // radian angle and NumPy's float32 sin/cos each round (~1e-7 each), so a position can
        // be off by ~5e-7 and a sender-receiver difference by ~1e-6; the features divide that
        // by the longest edge (0.19 for mesh 2, 0.05 for mesh 4). Budget: twice that.
        let longest = if mesh_size == 2 { 0.19 } else { 0.05 };
        let tol = 2e-6 / longest;
        assert!(e_g2m < tol, "grid2mesh {e_g2m}");
        assert!(e_m2g < tol, "mesh2grid {e_m2g}");
    }
}

#[test]
fn pole_receivers_use_their_grid_longitude() {
    // At lat = ±90 every longitude gives the same point, but the local frame still follows the
    // grid longitude: a grid node at the north pole with lon = 90 deg has its local "east" axis
    // along -x. The same mesh sender therefore gets different y/z features per pole longitude.
    let (lat, lon) = grid(10.0);
    let g = Graphs::build(2, &lat, &lon, 0.6, 1).unwrap();
    let n_lon = lon.len();
    let north0 = (lat.len() - 1) * n_lon;
    let f0 = &g.mesh2grid.features[4 * 3 * north0..4 * 3 * north0 + 4];
    let f9 = &g.mesh2grid.features[4 * 3 * (north0 + 9)..4 * 3 * (north0 + 9) + 4];
    assert_eq!(
        g.mesh2grid.senders[3 * north0],
        g.mesh2grid.senders[3 * (north0 + 9)]
    );
    // Same distance, frame rotated by 90 degrees about the pole.
    assert!((f0[0] - f9[0]).abs() < 1e-6 && (f0[1] - f9[1]).abs() < 1e-6);
    assert!((f0[2] - f9[2]).abs() > 1e-3 || (f0[3] - f9[3]).abs() > 1e-3);
}

#[test]
fn mesh_node_features_are_bit_identical_to_the_reference() {
    use sha2::{Digest, Sha256};
    // SHA-256 of the reference's float32 mesh node features `[Nm, 3]` (permuted order), from
    // `get_graph_spatial_features` with NumPy 2.4.6 on an AVX-512 machine.
    let expected = [
        (
            2usize,
            "83b4ada721f9ddbe2dfb1d28330db16582f852263882aecddad5de4de3640c5b",
        ),
        (
            3,
            "0c97f7061b1bbc16fd7f5db4bc19f78dc5b22f7eb9e618724a6e4f9640194ea5",
        ),
        (
            4,
            "f50b628df753a00883630f7be9a374ce9de5f147a8e0d28accfc44f5ce28fcf9",
        ),
        (
            5,
            "80640e69d7e2dfb65503dfd41dad101e02c00c9cf75460a83539ced45da1dfe1",
        ),
        (
            6,
            "7b434f82fbd3d53332fd75b0f14552722f47fdd91561fce9d37b379a1541d467",
        ),
    ];
    let (lat, lon) = grid(10.0);
    for (mesh_size, sha) in expected {
        let g = Graphs::build(mesh_size, &lat, &lon, 0.6, 0).unwrap();
        let bytes: Vec<u8> = g
            .mesh_node_features
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let hex: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(hex, sha, "mesh {mesh_size}");
    }
}
