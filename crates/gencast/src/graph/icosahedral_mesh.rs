//! Icosahedral mesh: the rotated base icosahedron, the "two-split" refinement and the
//! faces → directed edges conversion, reproducing `graphcast.icosahedral_mesh` bit for bit.

use std::collections::HashMap;

/// A closed triangular mesh on the unit sphere (float32 vertices, counter-clockwise faces).
#[derive(Debug, Clone, PartialEq)]
pub struct TriangularMesh {
    /// Vertex positions `[Nv]`, unit norm up to float32 round-off.
    pub vertices: Vec<[f32; 3]>,
    /// Faces `[Nf]`, three vertex indices each, counter-clockwise seen from outside.
    pub faces: Vec<[u32; 3]>,
}

/// The 20 faces of the base icosahedron, in the reference's order.
const BASE_FACES: [[u32; 3]; 20] = [
    [0, 1, 2],
    [0, 6, 1],
    [8, 0, 2],
    [8, 4, 0],
    [3, 8, 2],
    [3, 2, 7],
    [7, 2, 1],
    [0, 4, 6],
    [4, 11, 6],
    [6, 11, 5],
    [1, 5, 7],
    [4, 10, 11],
    [4, 8, 10],
    [10, 8, 3],
    [10, 3, 9],
    [11, 10, 9],
    [11, 9, 5],
    [5, 9, 7],
    [9, 3, 7],
    [1, 6, 5],
];

/// The base icosahedron, rotated about the y axis so that the poles are face centres.
pub fn get_icosahedron() -> TriangularMesh {
    let phi = (1.0 + 5f64.sqrt()) / 2.0;
    let mut raw: Vec<[f32; 3]> = Vec::with_capacity(12);
    for c1 in [1.0f64, -1.0] {
        for c2 in [phi, -phi] {
            raw.push([c1 as f32, c2 as f32, 0.0]);
            raw.push([0.0, c1 as f32, c2 as f32]);
            raw.push([c2 as f32, 0.0, c1 as f32]);
        }
    }
    // In-place division of the float32 array by a float64 scalar: done in float64, stored as f32.
    let norm = (1.0 + phi * phi).sqrt();
    for v in raw.iter_mut() {
        for c in v.iter_mut() {
            *c = (f64::from(*c) / norm) as f32;
        }
    }
    let rotation = rotation_y_matrix(angle_of_rotation());
    let vertices = raw
        .iter()
        .map(|v| {
            // Row vector times matrix, in float64: out_j = sum_k v_k R[k][j].
            let mut out = [0f32; 3];
            for (j, o) in out.iter_mut().enumerate() {
                let mut s = 0f64;
                for (k, &vk) in v.iter().enumerate() {
                    s += f64::from(vk) * rotation[k][j];
                }
                *o = s as f32;
            }
            out
        })
        .collect();
    TriangularMesh {
        vertices,
        faces: BASE_FACES.to_vec(),
    }
}

/// Rotation angle that moves the poles from vertices to face centres.
fn angle_of_rotation() -> f64 {
    let phi = (1.0 + 5f64.sqrt()) / 2.0;
    let angle_between_faces = 2.0 * (phi / 3f64.sqrt()).asin();
    (std::f64::consts::PI - angle_between_faces) / 2.0
}

/// Matrix of a rotation by `a` about the y axis, built through the unit quaternion
/// `(0, sin(a/2), 0, cos(a/2))` the way `scipy.spatial.transform.Rotation` does.
fn rotation_y_matrix(a: f64) -> [[f64; 3]; 3] {
    let y = (a / 2.0).sin();
    let w = (a / 2.0).cos();
    let y2 = y * y;
    let w2 = w * w;
    let yw = y * w;
    [
        [-y2 + w2, 0.0, 2.0 * yw],
        [0.0, y2 + w2, 0.0],
        [-2.0 * yw, 0.0, -y2 + w2],
    ]
}

/// Normalised midpoint of two float32 unit vectors, as the reference computes it: the float32
/// mean, divided by the float32 norm `sqrt(x·x)`. NumPy hands the dot product to OpenBLAS
/// `sdot`, whose short-vector path rounds each product to float32 and accumulates the products
/// left to right in a double, rounding the sum to float32 at the end.
fn child_vertex(a: [f32; 3], b: [f32; 3]) -> [f32; 3] {
    let m = [
        (a[0] + b[0]) / 2.0,
        (a[1] + b[1]) / 2.0,
        (a[2] + b[2]) / 2.0,
    ];
    let dot = m.iter().fold(0f64, |acc, &c| acc + f64::from(c * c)) as f32;
    let norm = dot.sqrt();
    [m[0] / norm, m[1] / norm, m[2] / norm]
}

/// One refinement step: every face is split into four, keeping the orientation. Old vertices
/// keep their index; midpoints are appended in the order they are first needed.
pub fn two_split_unit_sphere_triangle_faces(mesh: &TriangularMesh) -> TriangularMesh {
    let mut vertices = mesh.vertices.clone();
    let mut children: HashMap<(u32, u32), u32> = HashMap::with_capacity(mesh.faces.len() * 3 / 2);
    let mut child = |i: u32, j: u32, vertices: &mut Vec<[f32; 3]>| -> u32 {
        let key = (i.min(j), i.max(j));
        *children.entry(key).or_insert_with(|| {
            let p = child_vertex(vertices[i as usize], vertices[j as usize]);
            vertices.push(p);
            (vertices.len() - 1) as u32
        })
    };
    let mut faces = Vec::with_capacity(mesh.faces.len() * 4);
    for &[i1, i2, i3] in &mesh.faces {
        let i12 = child(i1, i2, &mut vertices);
        let i23 = child(i2, i3, &mut vertices);
        let i31 = child(i3, i1, &mut vertices);
        faces.push([i1, i12, i31]);
        faces.push([i12, i2, i23]);
        faces.push([i31, i23, i3]);
        faces.push([i12, i23, i31]);
    }
    TriangularMesh { vertices, faces }
}

/// The finest mesh after `splits` refinements of the icosahedron (GenCast uses only this one).
pub fn get_last_triangular_mesh_for_sphere(splits: usize) -> TriangularMesh {
    let mut mesh = get_icosahedron();
    for _ in 0..splits {
        mesh = two_split_unit_sphere_triangle_faces(&mesh);
    }
    mesh
}

/// Directed edges of a face list: senders `[F[:,0], F[:,1], F[:,2]]`, receivers
/// `[F[:,1], F[:,2], F[:,0]]`.
pub fn faces_to_edges(faces: &[[u32; 3]]) -> (Vec<u32>, Vec<u32>) {
    let mut senders = Vec::with_capacity(faces.len() * 3);
    let mut receivers = Vec::with_capacity(faces.len() * 3);
    for j in 0..3 {
        for f in faces {
            senders.push(f[j]);
            receivers.push(f[(j + 1) % 3]);
        }
    }
    (senders, receivers)
}

/// Longest float32 chord length over the directed edges of the mesh (float32 arithmetic:
/// squared components summed left to right, then the square root).
pub fn max_edge_length(mesh: &TriangularMesh) -> f32 {
    let mut max = 0f32;
    for f in &mesh.faces {
        for j in 0..3 {
            let a = mesh.vertices[f[j] as usize];
            let b = mesh.vertices[f[(j + 1) % 3] as usize];
            let d = [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
            let len = (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt();
            if len > max {
                max = len;
            }
        }
    }
    max
}
