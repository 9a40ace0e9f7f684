//! Graphs: icosahedral mesh, node order, grid↔mesh connectivity, attention neighbourhoods, features.

pub mod attention;
pub mod cells;
pub mod features;
pub mod grid2mesh;
pub mod icosahedral_mesh;
pub mod mesh2grid;
pub mod multimesh;
pub mod rcm;
pub mod spherical;
pub mod tables;

pub use attention::Neighbourhoods;
pub use icosahedral_mesh::TriangularMesh;

use crate::{Error, Result};

/// Largest supported `mesh_size` (mesh 8 has 655,362 nodes).
pub const MAX_MESH_SIZE: usize = 8;

/// A set of directed edges with their structural features.
#[derive(Debug, Clone, PartialEq)]
pub struct EdgeSet {
    /// Sender node of each edge.
    pub senders: Vec<u32>,
    /// Receiver node of each edge.
    pub receivers: Vec<u32>,
    /// Edge features `[E, 4]`: `[length, dx, dy, dz]` normalised by the longest edge of the set.
    pub features: Vec<f32>,
}

impl EdgeSet {
    /// Number of edges.
    pub fn len(&self) -> usize {
        self.senders.len()
    }

    /// Whether the set has no edges.
    pub fn is_empty(&self) -> bool {
        self.senders.is_empty()
    }
}

/// Every static graph structure the denoiser needs, for one mesh size and one lat/lon grid.
/// Mesh node indices are the RCM-permuted ones everywhere.
#[derive(Debug, Clone)]
pub struct Graphs {
    /// Number of grid nodes (`n_lat * n_lon`).
    pub n_grid: usize,
    /// Number of mesh nodes.
    pub n_mesh: usize,
    /// Grid node features `[Ng, 3]` = `[cos theta, cos phi, sin phi]`.
    pub grid_node_features: Vec<f32>,
    /// Mesh node features `[Nm, 3]`, same encoding.
    pub mesh_node_features: Vec<f32>,
    /// Grid → mesh edges (senders are grid nodes, receivers mesh nodes).
    pub grid2mesh: EdgeSet,
    /// Mesh → grid edges (senders are mesh nodes, receivers grid nodes); edge `3g + j` comes from
    /// vertex `j` of grid node `g`'s triangle.
    pub mesh2grid: EdgeSet,
    /// k-hop attention neighbourhoods on the mesh (self included).
    pub attention: Neighbourhoods,
    /// The finest mesh with permuted vertex numbering.
    pub mesh: TriangularMesh,
    /// The RCM permutation, `perm[new] = old`.
    pub mesh_permutation: Vec<u32>,
    /// Triangle (face index) of each grid node used by mesh2grid.
    pub mesh2grid_face: Vec<u32>,
    /// grid2mesh query radius (chord length on the unit sphere).
    pub grid2mesh_radius: f32,
}

/// Checks the arguments of [`Graphs::build`] (mesh size, radius fraction, grid coordinates).
pub(crate) fn validate(
    mesh_size: usize,
    lat: &[f32],
    lon: &[f32],
    radius_query_fraction_edge_length: f64,
) -> Result<()> {
    if mesh_size > MAX_MESH_SIZE {
        return Err(Error::Config {
            key: "mesh_size".into(),
            detail: format!("{mesh_size} is larger than the supported maximum {MAX_MESH_SIZE}"),
        });
    }
    if !(radius_query_fraction_edge_length.is_finite() && radius_query_fraction_edge_length > 0.0) {
        return Err(Error::Config {
            key: "radius_query_fraction_edge_length".into(),
            detail: format!(
                "expected a positive finite number, found {radius_query_fraction_edge_length}"
            ),
        });
    }
    for (name, values) in [("lat", lat), ("lon", lon)] {
        if values.is_empty() {
            return Err(Error::Invalid(format!("grid coordinate `{name}` is empty")));
        }
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(Error::Invalid(format!(
                "grid coordinate `{name}`[{i}] is not finite ({})",
                values[i]
            )));
        }
    }
    let n_grid = lat.len().checked_mul(lon.len());
    if n_grid.is_none_or(|n| n.checked_mul(3).is_none_or(|e| e > u32::MAX as usize)) {
        return Err(Error::Invalid(format!(
            "grid of {} x {} points is too large",
            lat.len(),
            lon.len()
        )));
    }
    Ok(())
}

impl Graphs {
    /// Builds the mesh, both bipartite graphs, the attention neighbourhoods and all structural
    /// features for a `lat` × `lon` grid (degrees, as stored in the dataset).
    pub fn build(
        mesh_size: usize,
        lat: &[f32],
        lon: &[f32],
        radius_query_fraction_edge_length: f64,
        attention_k_hop: usize,
    ) -> Result<Graphs> {
        validate(mesh_size, lat, lon, radius_query_fraction_edge_length)?;
        let finest = icosahedral_mesh::get_last_triangular_mesh_for_sphere(mesh_size);
        let (mesh, mesh_permutation) = rcm::permute_mesh_to_banded(&finest);
        let n_mesh = mesh.vertices.len();
        let n_grid = lat.len() * lon.len();

        let radius = grid2mesh::query_radius(
            icosahedral_mesh::max_edge_length(&mesh),
            radius_query_fraction_edge_length,
        );
        let grid_pos: Vec<[f64; 3]> = spherical::grid_positions(lat, lon)
            .into_iter()
            .map(spherical::widen)
            .collect();
        let mesh_pos: Vec<[f64; 3]> = mesh.vertices.iter().map(|&v| spherical::widen(v)).collect();

        let (g2m_senders, g2m_receivers) =
            grid2mesh::radius_query_edges(&grid_pos, &mesh_pos, f64::from(radius));
        let mesh2grid_face = mesh2grid::containing_faces(
            &mesh.vertices,
            &mesh.faces,
            &grid_pos,
            mesh_size,
            lat,
            lon,
        );
        let (m2g_senders, m2g_receivers) =
            mesh2grid::in_mesh_triangle_edges(&mesh.faces, &mesh2grid_face);

        let (grid_lat, grid_lon) = spherical::grid_nodes_lat_lon(lat, lon);
        let (mesh_lat, mesh_lon) =
            spherical::mesh_nodes_lat_lon(mesh_size, &mesh.vertices, &mesh_permutation);

        let g2m_features = features::edge_features(
            &grid_lat,
            &grid_lon,
            &g2m_senders,
            &mesh_lat,
            &mesh_lon,
            &g2m_receivers,
        );
        let m2g_features = features::edge_features(
            &mesh_lat,
            &mesh_lon,
            &m2g_senders,
            &grid_lat,
            &grid_lon,
            &m2g_receivers,
        );

        let (mesh_senders, mesh_receivers) = icosahedral_mesh::faces_to_edges(&mesh.faces);
        let adjacency = rcm::Adjacency::from_edges(n_mesh, &mesh_senders, &mesh_receivers);
        let attention = attention::k_hop_neighbourhoods(&adjacency, attention_k_hop);

        Ok(Graphs {
            n_grid,
            n_mesh,
            grid_node_features: features::node_features(&grid_lat, &grid_lon),
            mesh_node_features: features::node_features(&mesh_lat, &mesh_lon),
            grid2mesh: EdgeSet {
                senders: g2m_senders,
                receivers: g2m_receivers,
                features: g2m_features,
            },
            mesh2grid: EdgeSet {
                senders: m2g_senders,
                receivers: m2g_receivers,
                features: m2g_features,
            },
            attention,
            mesh,
            mesh_permutation,
            mesh2grid_face,
            grid2mesh_radius: radius,
        })
    }
}
