//! k-hop attention neighbourhoods on the mesh: the non-zeros of `(A + I)^k` (boolean matrix
//! power), i.e. every node within graph distance `k`, self included.

use rayon::prelude::*;

use super::rcm::Adjacency;

/// CSR neighbourhoods: receiver `i` attends to `indices[offsets[i]..offsets[i+1]]`, ascending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Neighbourhoods {
    /// Row offsets `[Nm + 1]`.
    pub offsets: Vec<u32>,
    /// Neighbour indices, ascending within each row, self included.
    pub indices: Vec<u32>,
}

impl Neighbourhoods {
    /// Number of receivers (rows).
    pub fn num_nodes(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// Total number of (receiver, neighbour) pairs.
    pub fn nnz(&self) -> usize {
        self.indices.len()
    }

    /// Neighbours of node `i`.
    pub fn row(&self, i: usize) -> &[u32] {
        &self.indices[self.offsets[i] as usize..self.offsets[i + 1] as usize]
    }
}

/// Per-thread breadth-first-search buffers.
struct Bfs {
    stamp: Vec<u32>,
    epoch: u32,
    frontier: Vec<u32>,
    next: Vec<u32>,
}

/// All nodes within `k` hops of each node, by a breadth-first search of depth `k` per node.
pub fn k_hop_neighbourhoods(adj: &Adjacency, k: usize) -> Neighbourhoods {
    let n = adj.num_nodes();
    let rows: Vec<Vec<u32>> = (0..n)
        .into_par_iter()
        .map_init(
            || Bfs {
                stamp: vec![0; n],
                epoch: 0,
                frontier: Vec::new(),
                next: Vec::new(),
            },
            |bfs, start| {
                bfs.epoch += 1;
                let epoch = bfs.epoch;
                let mut found = vec![start as u32];
                bfs.stamp[start] = epoch;
                bfs.frontier.clear();
                bfs.frontier.push(start as u32);
                for _ in 0..k {
                    bfs.next.clear();
                    for &u in &bfs.frontier {
                        for &v in adj.row(u as usize) {
                            if bfs.stamp[v as usize] != epoch {
                                bfs.stamp[v as usize] = epoch;
                                bfs.next.push(v);
                            }
                        }
                    }
                    if bfs.next.is_empty() {
                        break;
                    }
                    found.extend_from_slice(&bfs.next);
                    std::mem::swap(&mut bfs.frontier, &mut bfs.next);
                }
                found.sort_unstable();
                found
            },
        )
        .collect();
    let total: usize = rows.iter().map(Vec::len).sum();
    let mut offsets = Vec::with_capacity(n + 1);
    let mut indices = Vec::with_capacity(total);
    offsets.push(0u32);
    for row in rows {
        indices.extend_from_slice(&row);
        offsets.push(indices.len() as u32);
    }
    Neighbourhoods { offsets, indices }
}
