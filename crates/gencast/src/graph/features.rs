//! Structural node and edge features (`model_utils.get_graph_spatial_features` and
//! `get_bipartite_graph_spatial_features` with GenCast's options): node latitude and longitude
//! encodings, and edge displacements in the receiver's rotated local frame.

use rayon::prelude::*;

use super::spherical::{lat_lon_deg_to_spherical, spherical_to_cartesian};
use crate::npmath;

/// Node features `[N, 3]` = `[cos theta, cos phi, sin phi]`, in float32.
pub fn node_features(lat: &[f32], lon: &[f32]) -> Vec<f32> {
    let mut out = Vec::with_capacity(lat.len() * 3);
    for (&la, &lo) in lat.iter().zip(lon) {
        let (phi, theta) = lat_lon_deg_to_spherical(la, lo);
        out.extend_from_slice(&[npmath::cos(theta), npmath::cos(phi), npmath::sin(phi)]);
    }
    out
}

/// Rotation taking a node to (1, 0, 0): `R = R_y(beta) R_z(alpha)` with `alpha = -phi` and
/// `beta = pi/2 - theta` (the latter formed in float32), evaluated in float64.
fn local_rotation(phi: f32, theta: f32) -> [[f64; 3]; 3] {
    let alpha = f64::from(-phi);
    let beta = f64::from(-theta + std::f32::consts::FRAC_PI_2);
    let (sa, ca) = alpha.sin_cos();
    let (sb, cb) = beta.sin_cos();
    [
        [cb * ca, -cb * sa, sb],
        [sa, ca, 0.0],
        [-sb * ca, sb * sa, cb],
    ]
}

fn rotate(r: &[[f64; 3]; 3], p: [f32; 3]) -> [f64; 3] {
    let p = [f64::from(p[0]), f64::from(p[1]), f64::from(p[2])];
    let mut out = [0f64; 3];
    for (j, o) in out.iter_mut().enumerate() {
        *o = r[j][0] * p[0] + r[j][1] * p[1] + r[j][2] * p[2];
    }
    out
}

/// Node positions and local rotations, from float32 lat/lon.
fn positions_and_rotations(lat: &[f32], lon: &[f32]) -> (Vec<[f32; 3]>, Vec<[[f64; 3]; 3]>) {
    lat.par_iter()
        .zip(lon.par_iter())
        .map(|(&la, &lo)| {
            let (phi, theta) = lat_lon_deg_to_spherical(la, lo);
            (
                spherical_to_cartesian(phi, theta),
                local_rotation(phi, theta),
            )
        })
        .unzip()
}

/// Edge features `[E, 4]` = `[|d|, d_x, d_y, d_z] / max|d|` with `d = R p_s - R p_r` and `R` the
/// receiver's local rotation; computed in float64, stored as float32. The maximum is taken over
/// this edge set.
pub fn edge_features(
    sender_lat: &[f32],
    sender_lon: &[f32],
    senders: &[u32],
    receiver_lat: &[f32],
    receiver_lon: &[f32],
    receivers: &[u32],
) -> Vec<f32> {
    edge_features_normalized(
        (sender_lat, sender_lon, senders),
        (receiver_lat, receiver_lon, receivers),
        None,
    )
}

/// [`edge_features`] divided by `norm` instead of the longest edge of the set when it is given
/// (GraphCast's `mesh2grid_edge_normalization_factor`). Each side is `(lat, lon, node index)`.
pub fn edge_features_normalized(
    (sender_lat, sender_lon, senders): (&[f32], &[f32], &[u32]),
    (receiver_lat, receiver_lon, receivers): (&[f32], &[f32], &[u32]),
    norm: Option<f64>,
) -> Vec<f32> {
    let (sender_pos, _) = positions_and_rotations(sender_lat, sender_lon);
    let (receiver_pos, rotations) = positions_and_rotations(receiver_lat, receiver_lon);
    let raw: Vec<[f64; 4]> = senders
        .par_iter()
        .zip(receivers.par_iter())
        .map(|(&s, &r)| {
            let rot = &rotations[r as usize];
            let ps = rotate(rot, sender_pos[s as usize]);
            let pr = rotate(rot, receiver_pos[r as usize]);
            let d = [ps[0] - pr[0], ps[1] - pr[1], ps[2] - pr[2]];
            let len = (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt();
            [len, d[0], d[1], d[2]]
        })
        .collect();
    let max = norm.unwrap_or_else(|| raw.iter().fold(0f64, |m, e| m.max(e[0])));
    // Degenerate sets (no edges, or only zero-length ones) get zero features instead of NaN.
    let mut out = Vec::with_capacity(raw.len() * 4);
    for e in &raw {
        for &v in e {
            out.push(if max > 0.0 { (v / max) as f32 } else { 0.0 });
        }
    }
    out
}
