//! Conversions between lat/lon, spherical angles and unit-sphere positions, in float32 with
//! NumPy's rounding (`model_utils` and `grid_mesh_connectivity` in the reference).

use crate::npmath;

/// `(phi, theta)` in radians from lat/lon in degrees: `phi = deg2rad(lon)`,
/// `theta = deg2rad(90 - lat)`, in float32.
pub fn lat_lon_deg_to_spherical(lat: f32, lon: f32) -> (f32, f32) {
    (npmath::deg2rad(lon), npmath::deg2rad(90.0 - lat))
}

/// Unit-sphere position `(cos phi sin theta, sin phi sin theta, cos theta)`, in float32.
pub fn spherical_to_cartesian(phi: f32, theta: f32) -> [f32; 3] {
    let st = npmath::sin(theta);
    [
        npmath::cos(phi) * st,
        npmath::sin(phi) * st,
        npmath::cos(theta),
    ]
}

/// Lat/lon in degrees of a float32 unit vector: `phi = atan2(y, x)`, `theta = acos(z)`,
/// `lon = mod(rad2deg(phi), 360)`, `lat = 90 - rad2deg(theta)`, in float32. The two angles are
/// correctly rounded, then moved by `ulps = (d_phi, d_theta)` float32 steps (see
/// [`mesh_nodes_lat_lon`]).
pub fn cartesian_to_lat_lon(p: [f32; 3], ulps: (i32, i32)) -> (f32, f32) {
    let phi = (f64::from(p[1]).atan2(f64::from(p[0]))) as f32;
    let theta = f64::from(p[2]).acos() as f32;
    let phi = step_ulps(phi, ulps.0);
    let theta = step_ulps(theta, ulps.1);
    let lon = npmath::mod_positive(npmath::rad2deg(phi), 360.0);
    let lat = 90.0 - npmath::rad2deg(theta);
    (lat, lon)
}

/// Moves a finite float32 by `n` representable steps (negative: towards -inf).
fn step_ulps(x: f32, n: i32) -> f32 {
    if n == 0 || !x.is_finite() {
        return x;
    }
    let bits = x.to_bits() as i32;
    let ordered = if bits < 0 {
        -(bits & 0x7fff_ffff)
    } else {
        bits
    };
    let moved = ordered.saturating_add(n);
    let out = if moved < 0 {
        (moved.unsigned_abs()) | 0x8000_0000
    } else {
        moved as u32
    };
    f32::from_bits(out)
}

/// Lat/lon of the mesh nodes as the reference computes them. NumPy's float32 `arctan2` and
/// `arccos` (AVX-512 SIMD routines) are not correctly rounded; for mesh sizes 0..=6 a
/// generated table gives, per original vertex, their offset in ulps from the correctly
/// rounded angles. `permutation[new] = old` maps the permuted vertices to that numbering.
pub fn mesh_nodes_lat_lon(
    mesh_size: usize,
    vertices: &[[f32; 3]],
    permutation: &[u32],
) -> (Vec<f32>, Vec<f32>) {
    let table = super::tables::mesh_angle_ulps(mesh_size)
        .filter(|t| t.len() == vertices.len() && permutation.len() == vertices.len());
    vertices
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let ulps = table
                .and_then(|t| t.get(permutation[i] as usize))
                .copied()
                .map_or((0, 0), |code| {
                    (i32::from(code / 8) - 4, i32::from(code % 8) - 4)
                });
            cartesian_to_lat_lon(v, ulps)
        })
        .unzip()
}

/// Grid node lat/lon, flattened with `g = i_lat * n_lon + i_lon` (`meshgrid(lon, lat)`).
pub fn grid_nodes_lat_lon(lat: &[f32], lon: &[f32]) -> (Vec<f32>, Vec<f32>) {
    let mut node_lat = Vec::with_capacity(lat.len() * lon.len());
    let mut node_lon = Vec::with_capacity(lat.len() * lon.len());
    for &la in lat {
        for &lo in lon {
            node_lat.push(la);
            node_lon.push(lo);
        }
    }
    (node_lat, node_lon)
}

/// Grid node positions `[n_lat * n_lon]`, as `_grid_lat_lon_to_coordinates` computes them.
pub fn grid_positions(lat: &[f32], lon: &[f32]) -> Vec<[f32; 3]> {
    let phis: Vec<(f32, f32)> = lon
        .iter()
        .map(|&lo| {
            let phi = npmath::deg2rad(lo);
            (npmath::cos(phi), npmath::sin(phi))
        })
        .collect();
    let mut out = Vec::with_capacity(lat.len() * lon.len());
    for &la in lat {
        let theta = npmath::deg2rad(90.0 - la);
        let (st, ct) = (npmath::sin(theta), npmath::cos(theta));
        for &(cp, sp) in &phis {
            out.push([cp * st, sp * st, ct]);
        }
    }
    out
}

/// Widens a float32 position to float64.
pub fn widen(p: [f32; 3]) -> [f64; 3] {
    [f64::from(p[0]), f64::from(p[1]), f64::from(p[2])]
}
