//! mesh2grid edges: for each grid node, the three vertices of the mesh triangle holding the
//! closest point on the mesh surface (`grid_mesh_connectivity.in_mesh_triangle_indices`, which
//! uses `trimesh.proximity.closest_point`).
//!
//! The choice follows trimesh's rule (closest point per triangle, the two best by squared
//! distance, the face-normal rule when they are within 1e-8), with exact ties going to the lower
//! face index. Points whose reference outcome depends on trimesh's R-tree candidate order or on
//! rounding are then overridden from a table generated with the reference stack (`tables::ties`).

use rayon::prelude::*;

use super::cells::CellIndex;
use super::tables;

type V3 = [f64; 3];

fn sub(a: &V3, b: &V3) -> V3 {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

fn dot(a: &V3, b: &V3) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn axpy(a: &V3, t: f64, d: &V3) -> V3 {
    [a[0] + t * d[0], a[1] + t * d[1], a[2] + t * d[2]]
}

fn cross(a: &V3, b: &V3) -> V3 {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

/// Closest point to `p` on triangle `(a, b, c)` (Ericson's region test), in float64.
pub fn closest_point_on_triangle(p: &V3, a: &V3, b: &V3, c: &V3) -> V3 {
    let ab = sub(b, a);
    let ac = sub(c, a);
    let ap = sub(p, a);
    let d1 = dot(&ab, &ap);
    let d2 = dot(&ac, &ap);
    if d1 <= 0.0 && d2 <= 0.0 {
        return *a;
    }
    let bp = sub(p, b);
    let d3 = dot(&ab, &bp);
    let d4 = dot(&ac, &bp);
    if d3 >= 0.0 && d4 <= d3 {
        return *b;
    }
    let vc = d1 * d4 - d3 * d2;
    if vc <= 0.0 && d1 >= 0.0 && d3 <= 0.0 {
        return axpy(a, d1 / (d1 - d3), &ab);
    }
    let cp = sub(p, c);
    let d5 = dot(&ab, &cp);
    let d6 = dot(&ac, &cp);
    if d6 >= 0.0 && d5 <= d6 {
        return *c;
    }
    let vb = d5 * d2 - d1 * d6;
    if vb <= 0.0 && d2 >= 0.0 && d6 <= 0.0 {
        return axpy(a, d2 / (d2 - d6), &ac);
    }
    let va = d3 * d6 - d5 * d4;
    if va <= 0.0 && (d4 - d3) >= 0.0 && (d5 - d6) >= 0.0 {
        let w = (d4 - d3) / ((d4 - d3) + (d5 - d6));
        return axpy(b, w, &sub(c, b));
    }
    let denom = 1.0 / (va + vb + vc);
    let v = vb * denom;
    let w = vc * denom;
    let q = axpy(a, v, &ab);
    axpy(&q, w, &ac)
}

/// Finds, for points on the unit sphere, the mesh face holding the closest surface point.
///
/// Candidates come from a cell index over face centroids. A point on the unit sphere is within
/// `sag` (one minus the smallest distance from the origin to a face plane) of the face its ray
/// crosses, so every face that can be best, or second within trimesh's 1e-8 band of squared
/// distances, has its centroid within `sqrt(sag² + 1e-8) + R` of the point, where `R` bounds the
/// centroid-to-vertex distance.
pub struct TriangleLocator<'a> {
    vertices: Vec<V3>,
    faces: &'a [[u32; 3]],
    normals: Vec<V3>,
    centroids: Vec<V3>,
    index: CellIndex,
    reach: f64,
}

impl<'a> TriangleLocator<'a> {
    /// Builds the locator for a closed mesh around the origin (float32 vertices widened to f64).
    pub fn new(vertices: &[[f32; 3]], faces: &'a [[u32; 3]]) -> TriangleLocator<'a> {
        let vertices: Vec<V3> = vertices
            .iter()
            .map(|&v| super::spherical::widen(v))
            .collect();
        let mut normals = Vec::with_capacity(faces.len());
        let mut centroids = Vec::with_capacity(faces.len());
        let mut radius = 0f64;
        let mut sag = 0f64;
        for f in faces {
            let [a, b, c] = f.map(|i| vertices[i as usize]);
            let n = cross(&sub(&b, &a), &sub(&c, &b));
            let len = dot(&n, &n).sqrt();
            let n = [n[0] / len, n[1] / len, n[2] / len];
            let g = [
                (a[0] + b[0] + c[0]) / 3.0,
                (a[1] + b[1] + c[1]) / 3.0,
                (a[2] + b[2] + c[2]) / 3.0,
            ];
            for v in [a, b, c] {
                let d = sub(&v, &g);
                radius = radius.max(dot(&d, &d).sqrt());
            }
            sag = sag.max(1.0 - dot(&n, &a).abs());
            normals.push(n);
            centroids.push(g);
        }
        // Margins: grid positions are unit vectors only to float32 precision, and the bounds
        // above are computed in floating point.
        let sag = sag + 1e-6;
        let reach = (sag * sag + 1e-8).sqrt() + radius * (1.0 + 1e-9) + 1e-9;
        let index = CellIndex::new(&centroids, reach.max(1e-6));
        TriangleLocator {
            vertices,
            faces,
            normals,
            centroids,
            index,
            reach,
        }
    }

    /// Squared distance from `p` to face `fi` and the closest point.
    fn distance2(&self, p: &V3, fi: u32) -> (f64, V3) {
        let [a, b, c] = self.faces[fi as usize].map(|i| self.vertices[i as usize]);
        let q = closest_point_on_triangle(p, &a, &b, &c);
        let d = sub(p, &q);
        (dot(&d, &d), q)
    }

    /// Face index holding the closest surface point to `p` (before any table override).
    pub fn locate(&self, p: &V3) -> u32 {
        let reach2 = self.reach * self.reach;
        // Best two by (d², face index).
        let mut best: [(f64, u32, V3); 2] = [(f64::INFINITY, u32::MAX, [0.0; 3]); 2];
        let mut consider = |fi: u32, d2: f64, q: V3| {
            if (d2, fi) < (best[0].0, best[0].1) {
                best[1] = best[0];
                best[0] = (d2, fi, q);
            } else if (d2, fi) < (best[1].0, best[1].1) {
                best[1] = (d2, fi, q);
            }
        };
        let mut found = false;
        self.index.for_each_candidate(p, self.reach, |fi| {
            let d = sub(p, &self.centroids[fi as usize]);
            if dot(&d, &d) <= reach2 {
                found = true;
                let (d2, q) = self.distance2(p, fi);
                consider(fi, d2, q);
            }
        });
        if !found {
            // Not near the unit sphere: examine every face.
            for fi in 0..self.faces.len() as u32 {
                let (d2, q) = self.distance2(p, fi);
                consider(fi, d2, q);
            }
        }
        let (d1, f1, q1) = best[0];
        let (d2, f2, q2) = best[1];
        if f2 != u32::MAX && (d2 - d1).abs() < 1e-8 && d1 > 1e-8 && d2 > 1e-8 {
            let score = |f: u32, q: &V3, d2: f64| {
                let v = sub(p, q);
                let inv = 1.0 / d2.sqrt();
                dot(
                    &self.normals[f as usize],
                    &[v[0] * inv, v[1] * inv, v[2] * inv],
                )
            };
            if score(f2, &q2, d2) > score(f1, &q1, d1) {
                return f2;
            }
        }
        f1
    }
}

/// Face index `f(g)` for every grid point, with the reference override table for
/// `(mesh_size, n_lat, n_lon)` applied when the grid coordinates at its rows match.
pub fn containing_faces(
    mesh_vertices: &[[f32; 3]],
    faces: &[[u32; 3]],
    grid_positions: &[[f64; 3]],
    mesh_size: usize,
    lat: &[f32],
    lon: &[f32],
) -> Vec<u32> {
    let locator = TriangleLocator::new(mesh_vertices, faces);
    let mut out: Vec<u32> = grid_positions
        .par_iter()
        .map(|p| locator.locate(p))
        .collect();
    if let Some(table) = tables::ties(mesh_size, lat.len(), lon.len()) {
        let n_lon = lon.len();
        for row in table {
            let g = row.grid_index as usize;
            let (i_lat, i_lon) = (g / n_lon, g % n_lon);
            let same_point = i_lat < lat.len()
                && lat[i_lat].to_bits() == row.lat_bits
                && lon[i_lon].to_bits() == row.lon_bits;
            if same_point && (row.ref_face as usize) < faces.len() {
                out[g] = row.ref_face;
            }
        }
    }
    out
}

/// Edges `(mesh sender, grid receiver)`: edge `3g + j` runs from `faces[f(g)][j]` to `g`.
pub fn in_mesh_triangle_edges(faces: &[[u32; 3]], face_of_grid: &[u32]) -> (Vec<u32>, Vec<u32>) {
    let mut senders = Vec::with_capacity(face_of_grid.len() * 3);
    let mut receivers = Vec::with_capacity(face_of_grid.len() * 3);
    for (g, &f) in face_of_grid.iter().enumerate() {
        for &v in &faces[f as usize] {
            senders.push(v);
            receivers.push(g as u32);
        }
    }
    (senders, receivers)
}
