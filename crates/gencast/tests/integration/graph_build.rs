//! `Graphs::build` end to end: the tiny fixture's graph facts, the Mini configuration (mesh 4,
//! 1° grid, 16 hops) with its build time, attention neighbourhoods against a boolean matrix
//! power, and argument validation.

use std::time::Instant;

use crate::support::grid;
use gencast::graph::icosahedral_mesh::faces_to_edges;
use gencast::graph::{Graphs, MAX_MESH_SIZE};

fn assert_edge_set_shapes(g: &Graphs) {
    for es in [&g.grid2mesh, &g.mesh2grid] {
        assert_eq!(es.receivers.len(), es.len());
        assert_eq!(es.features.len(), 4 * es.len());
    }
    assert!(g.grid2mesh.senders.iter().all(|&s| (s as usize) < g.n_grid));
    assert!(g
        .grid2mesh
        .receivers
        .iter()
        .all(|&r| (r as usize) < g.n_mesh));
    assert!(g.mesh2grid.senders.iter().all(|&s| (s as usize) < g.n_mesh));
    assert!(g
        .mesh2grid
        .receivers
        .iter()
        .all(|&r| (r as usize) < g.n_grid));
    assert_eq!(g.grid_node_features.len(), 3 * g.n_grid);
    assert_eq!(g.mesh_node_features.len(), 3 * g.n_mesh);
    assert_eq!(g.attention.offsets.len(), g.n_mesh + 1);
    for i in 0..g.n_mesh {
        let row = g.attention.row(i);
        assert!(
            row.windows(2).all(|w| w[0] < w[1]),
            "row {i} not strictly ascending"
        );
        assert!(row.binary_search(&(i as u32)).is_ok(), "row {i} lacks self");
    }
}

#[test]
fn tiny_fixture_graph_facts() {
    // tests/fixtures/tiny-mha/README.md "Graph facts": mesh 2 on the 10° grid, 2 hops.
    let (lat, lon) = grid(10.0);
    let g = Graphs::build(2, &lat, &lon, 0.6, 2).unwrap();
    assert_edge_set_shapes(&g);
    assert_eq!(g.n_mesh, 162);
    assert_eq!(faces_to_edges(&g.mesh.faces).0.len(), 960);
    assert_eq!(g.attention.nnz(), 2982);
    assert_eq!(g.grid2mesh.len(), 1236);
    assert_eq!(g.mesh2grid.len(), 2052);
    // The README gives the radius to 6 digits.
    assert!((f64::from(g.grid2mesh_radius) - 0.194952).abs() < 5e-7);
}

#[test]
fn mini_configuration_counts_and_build_time() {
    // Mini: mesh 4, 1° grid, 16 attention hops. Counts as produced by `radius_query_indices` in
    // <https://github.com/google-deepmind/graphcast/blob/08cf736/graphcast/grid_mesh_connectivity.py>
    // and `_get_adj_matrix_for_edge_set` in
    // <https://github.com/google-deepmind/graphcast/blob/08cf736/graphcast/transformer.py>.
    let (lat, lon) = grid(1.0);
    let start = Instant::now();
    let g = Graphs::build(4, &lat, &lon, 0.6, 16).unwrap();
    let elapsed = start.elapsed();
    println!(
        "Graphs::build(mesh 4, 1 deg, k=16): {:.3} s on {} threads",
        elapsed.as_secs_f64(),
        rayon::current_num_threads()
    );
    assert_edge_set_shapes(&g);
    assert_eq!(g.n_mesh, 2562);
    assert_eq!(g.n_grid, 65_160);
    assert_eq!(g.grid2mesh.len(), 102_486);
    assert_eq!(g.mesh2grid.len(), 195_480);
    assert_eq!(g.attention.nnz(), 1_907_922);
    let sizes: Vec<usize> = (0..g.n_mesh).map(|i| g.attention.row(i).len()).collect();
    assert_eq!(sizes.iter().min(), Some(&681));
    assert_eq!(sizes.iter().max(), Some(&766));
    assert_eq!(g.grid2mesh_radius, 0.049_562_406);
}

/// Dense boolean `(A + I)^k` for a small mesh, as reference for the neighbourhoods.
fn dense_k_hop(n: usize, senders: &[u32], receivers: &[u32], k: usize) -> Vec<Vec<bool>> {
    let mut a: Vec<Vec<bool>> = (0..n).map(|i| (0..n).map(|j| i == j).collect()).collect();
    for (&s, &r) in senders.iter().zip(receivers) {
        a[s as usize][r as usize] = true;
    }
    let mut m: Vec<Vec<bool>> = (0..n).map(|i| (0..n).map(|j| i == j).collect()).collect();
    for _ in 0..k {
        let mut next = vec![vec![false; n]; n];
        for (next_row, m_row) in next.iter_mut().zip(&m) {
            for (l, _) in m_row.iter().enumerate().filter(|(_, &b)| b) {
                for (x, &y) in next_row.iter_mut().zip(&a[l]) {
                    *x |= y;
                }
            }
        }
        m = next;
    }
    m
}

#[test]
fn attention_equals_the_boolean_matrix_power() {
    let (lat, lon) = grid(10.0);
    for k in 0..=4 {
        let g = Graphs::build(2, &lat, &lon, 0.6, k).unwrap();
        let (s, r) = faces_to_edges(&g.mesh.faces);
        let dense = dense_k_hop(g.n_mesh, &s, &r, k);
        for (i, row) in dense.iter().enumerate() {
            let expected: Vec<u32> = (0..g.n_mesh as u32).filter(|&j| row[j as usize]).collect();
            assert_eq!(g.attention.row(i), &expected[..], "k {k} row {i}");
        }
    }
}

#[test]
fn mesh5_attention_sizes() {
    // k-hop attention mask sizes of `_get_adj_matrix_for_edge_set` (k = 16) in
    // <https://github.com/google-deepmind/graphcast/blob/08cf736/graphcast/transformer.py>.
    let (lat, lon) = grid(10.0);
    let g = Graphs::build(5, &lat, &lon, 0.6, 16).unwrap();
    assert_eq!(g.attention.nnz(), 8_182_482);
    let sizes: Vec<usize> = (0..g.n_mesh).map(|i| g.attention.row(i).len()).collect();
    assert_eq!(sizes.iter().min(), Some(&681));
    assert_eq!(sizes.iter().max(), Some(&817));
}

#[test]
fn full_size_configuration_mesh6_quarter_degree() {
    // The 0.25° configuration: 1,038,240 grid points, mesh 6, 16 hops (counts from the same
    // reference functions as for Mini above).
    let (lat, lon) = grid(0.25);
    let start = Instant::now();
    let g = Graphs::build(6, &lat, &lon, 0.6, 16).unwrap();
    println!(
        "Graphs::build(mesh 6, 0.25 deg, k=16): {:.3} s on {} threads",
        start.elapsed().as_secs_f64(),
        rayon::current_num_threads()
    );
    assert_edge_set_shapes(&g);
    assert_eq!(g.n_grid, 1_038_240);
    assert_eq!(g.n_mesh, 40_962);
    assert_eq!(g.grid2mesh.len(), 1_618_818);
    assert_eq!(g.mesh2grid.len(), 3 * 1_038_240);
    assert_eq!(g.attention.nnz(), 33_280_722);
    let sizes: Vec<usize> = (0..g.n_mesh).map(|i| g.attention.row(i).len()).collect();
    assert_eq!(sizes.iter().min(), Some(&681));
    assert_eq!(sizes.iter().max(), Some(&817));
}

#[test]
fn bad_arguments_are_errors() {
    let (lat, lon) = grid(10.0);
    assert!(Graphs::build(MAX_MESH_SIZE + 1, &lat, &lon, 0.6, 1).is_err());
    assert!(Graphs::build(2, &[], &lon, 0.6, 1).is_err());
    assert!(Graphs::build(2, &lat, &[], 0.6, 1).is_err());
    assert!(Graphs::build(2, &[f32::NAN], &lon, 0.6, 1).is_err());
    assert!(Graphs::build(2, &lat, &lon, 0.0, 1).is_err());
    assert!(Graphs::build(2, &lat, &lon, f64::NAN, 1).is_err());
    let err = Graphs::build(2, &lat, &[0.0, f32::INFINITY], 0.6, 1).unwrap_err();
    assert!(err.to_string().contains("lon"), "{err}");
}
