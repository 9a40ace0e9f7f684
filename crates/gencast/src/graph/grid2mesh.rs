//! grid2mesh edges: every mesh node within a chord radius of a grid node
//! (`grid_mesh_connectivity.radius_query_indices`, a `cKDTree.query_ball_point`).

use rayon::prelude::*;

use super::cells::CellIndex;

/// The query radius: the longest mesh edge times the fraction, rounded to float32 (NumPy 2 keeps
/// a float32 scalar times a Python float in float32).
pub fn query_radius(max_edge_length: f32, radius_query_fraction_edge_length: f64) -> f32 {
    max_edge_length * radius_query_fraction_edge_length as f32
}

/// Squared distance summed left to right in float64, as cKDTree does.
fn dist2(a: &[f64; 3], b: &[f64; 3]) -> f64 {
    let d0 = a[0] - b[0];
    let d1 = a[1] - b[1];
    let d2 = a[2] - b[2];
    d0 * d0 + d1 * d1 + d2 * d2
}

/// Edges `(grid sender, mesh receiver)` with `|grid - mesh| <= radius` (inclusive, float64 on the
/// float32 positions), ordered by grid index and then ascending mesh index.
pub fn radius_query_edges(
    grid_positions: &[[f64; 3]],
    mesh_vertices: &[[f64; 3]],
    radius: f64,
) -> (Vec<u32>, Vec<u32>) {
    let index = CellIndex::new(mesh_vertices, radius.max(1e-6));
    let r2 = radius * radius;
    let chunk = 4096;
    let parts: Vec<(Vec<u32>, Vec<u32>)> = grid_positions
        .par_chunks(chunk)
        .enumerate()
        .map(|(c, points)| {
            let mut senders = Vec::new();
            let mut receivers = Vec::new();
            let mut found: Vec<u32> = Vec::new();
            for (k, p) in points.iter().enumerate() {
                found.clear();
                index.for_each_candidate(p, radius, |m| {
                    if dist2(p, &mesh_vertices[m as usize]) <= r2 {
                        found.push(m);
                    }
                });
                found.sort_unstable();
                let g = (c * chunk + k) as u32;
                senders.extend(std::iter::repeat_n(g, found.len()));
                receivers.extend_from_slice(&found);
            }
            (senders, receivers)
        })
        .collect();
    let total = parts.iter().map(|p| p.0.len()).sum();
    let mut senders = Vec::with_capacity(total);
    let mut receivers = Vec::with_capacity(total);
    for (s, r) in parts {
        senders.extend_from_slice(&s);
        receivers.extend_from_slice(&r);
    }
    (senders, receivers)
}
