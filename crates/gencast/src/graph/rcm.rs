//! Reverse Cuthill–McKee node order, as `scipy.sparse.csgraph.reverse_cuthill_mckee`
//! computes it for the mesh adjacency (`symmetric_mode=True`), and its application to a mesh.

use super::icosahedral_mesh::{faces_to_edges, TriangularMesh};

/// Symmetric adjacency in CSR form: column indices sorted ascending and unique per row, no
/// diagonal (the layout scipy produces when ones are assigned into an empty CSR matrix).
#[derive(Debug, Clone)]
pub struct Adjacency {
    /// Row offsets `[N+1]`.
    pub offsets: Vec<usize>,
    /// Column indices.
    pub indices: Vec<u32>,
}

impl Adjacency {
    /// Adjacency with `A[s, r]` set for every directed edge, duplicates merged.
    pub fn from_edges(num_nodes: usize, senders: &[u32], receivers: &[u32]) -> Adjacency {
        let mut counts = vec![0usize; num_nodes + 1];
        for &s in senders {
            counts[s as usize + 1] += 1;
        }
        for i in 0..num_nodes {
            counts[i + 1] += counts[i];
        }
        let mut fill = counts.clone();
        let mut cols = vec![0u32; senders.len()];
        for (&s, &r) in senders.iter().zip(receivers) {
            cols[fill[s as usize]] = r;
            fill[s as usize] += 1;
        }
        let mut offsets = Vec::with_capacity(num_nodes + 1);
        let mut indices = Vec::with_capacity(senders.len());
        offsets.push(0);
        for i in 0..num_nodes {
            let row = &mut cols[counts[i]..counts[i + 1]];
            row.sort_unstable();
            let mut last = None;
            for &c in row.iter() {
                if last != Some(c) {
                    indices.push(c);
                    last = Some(c);
                }
            }
            offsets.push(indices.len());
        }
        Adjacency { offsets, indices }
    }

    /// Number of nodes.
    pub fn num_nodes(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Neighbours of node `i`, ascending.
    pub fn row(&self, i: usize) -> &[u32] {
        &self.indices[self.offsets[i]..self.offsets[i + 1]]
    }
}

/// The RCM permutation (`perm[new] = old`) of a symmetric adjacency.
///
/// Degrees count stored entries (plus one for a stored diagonal). Seeds are taken in order of
/// increasing degree, ties by node index (a stable sort; this reproduces the reference's order
/// on the icosahedral meshes). Each breadth-first level appends a node's unvisited neighbours in
/// column order and then insertion-sorts just those by degree. The order is finally reversed.
pub fn reverse_cuthill_mckee(adj: &Adjacency) -> Vec<u32> {
    let n = adj.num_nodes();
    let degree: Vec<usize> = (0..n)
        .map(|i| {
            let row = adj.row(i);
            row.len() + usize::from(row.contains(&(i as u32)))
        })
        .collect();
    let mut seeds: Vec<u32> = (0..n as u32).collect();
    seeds.sort_by_key(|&i| degree[i as usize]);
    let mut visited = vec![false; n];
    let mut order: Vec<u32> = Vec::with_capacity(n);
    for &seed in &seeds {
        if order.len() == n {
            break;
        }
        if visited[seed as usize] {
            continue;
        }
        visited[seed as usize] = true;
        order.push(seed);
        let mut level_start = order.len() - 1;
        let mut level_end = order.len();
        while level_start < level_end {
            for ii in level_start..level_end {
                let i = order[ii] as usize;
                let first_new = order.len();
                for &j in adj.row(i) {
                    if !visited[j as usize] {
                        visited[j as usize] = true;
                        order.push(j);
                    }
                }
                // Stable insertion sort of the nodes just added, by degree.
                for kk in first_new + 1..order.len() {
                    let node = order[kk];
                    let d = degree[node as usize];
                    let mut ll = kk;
                    while ll > first_new && d < degree[order[ll - 1] as usize] {
                        order[ll] = order[ll - 1];
                        ll -= 1;
                    }
                    order[ll] = node;
                }
            }
            level_start = level_end;
            level_end = order.len();
        }
    }
    order.reverse();
    order
}

/// Inverse of a permutation: `inv[perm[i]] = i`.
pub fn invert_permutation(perm: &[u32]) -> Vec<u32> {
    let mut inv = vec![0u32; perm.len()];
    for (i, &p) in perm.iter().enumerate() {
        inv[p as usize] = i as u32;
    }
    inv
}

/// The mesh with its vertices reordered by RCM, and the permutation used (`perm[new] = old`).
/// Face order and the vertex order within each face are unchanged.
pub fn permute_mesh_to_banded(mesh: &TriangularMesh) -> (TriangularMesh, Vec<u32>) {
    let (senders, receivers) = faces_to_edges(&mesh.faces);
    let adj = Adjacency::from_edges(mesh.vertices.len(), &senders, &receivers);
    let perm = reverse_cuthill_mckee(&adj);
    let inv = invert_permutation(&perm);
    let vertices = perm.iter().map(|&p| mesh.vertices[p as usize]).collect();
    let faces = mesh
        .faces
        .iter()
        .map(|f| [inv[f[0] as usize], inv[f[1] as usize], inv[f[2] as usize]])
        .collect();
    (TriangularMesh { vertices, faces }, perm)
}
