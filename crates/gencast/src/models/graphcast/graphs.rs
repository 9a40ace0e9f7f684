//! GraphCast's static graphs (`GraphCast._init_grid2mesh_graph`, `_init_mesh_graph` and
//! `_init_mesh2grid_graph` in
//! <https://github.com/google-deepmind/graphcast/blob/08cf736/graphcast/graphcast.py>): the
//! multi-mesh with its edges, grid2mesh by radius around the finest level, mesh2grid by containing
//! finest-level triangle, and the structural node and edge features. Mesh nodes keep the natural
//! refinement order.

use crate::checkpoint::ModelConfig;
use crate::graph::{
    features, grid2mesh, icosahedral_mesh, mesh2grid, multimesh, spherical, validate, EdgeSet,
    TriangularMesh,
};
use crate::Result;

/// Every static graph structure GraphCast needs, for one model configuration and one grid.
#[derive(Debug, Clone)]
pub struct GraphCastGraphs {
    /// Grid latitudes (degrees) the graphs were built for.
    pub lat: Vec<f32>,
    /// Grid longitudes (degrees).
    pub lon: Vec<f32>,
    /// Number of grid nodes (`n_lat * n_lon`).
    pub n_grid: usize,
    /// Number of mesh nodes (vertices of the finest level).
    pub n_mesh: usize,
    /// Grid node features `[Ng, 3]` = `[cos theta, cos phi, sin phi]`.
    pub grid_node_features: Vec<f32>,
    /// Mesh node features `[Nm, 3]`, same encoding.
    pub mesh_node_features: Vec<f32>,
    /// Mesh node latitudes in degrees (float32, as the reference derives them).
    pub mesh_nodes_lat: Vec<f32>,
    /// Mesh node longitudes in degrees.
    pub mesh_nodes_lon: Vec<f32>,
    /// Grid → mesh edges, ordered by grid node then mesh node.
    pub grid2mesh: EdgeSet,
    /// Multi-mesh edges (`faces_to_edges` of the faces of every level).
    pub mesh: EdgeSet,
    /// Mesh → grid edges; edge `3g + j` comes from vertex `j` of grid node `g`'s triangle.
    pub mesh2grid: EdgeSet,
    /// The multi-mesh: finest vertices, faces of levels `0..=mesh_size` concatenated.
    pub multimesh: TriangularMesh,
    /// Number of faces of each refinement level.
    pub faces_per_level: Vec<usize>,
    /// Finest-level face containing each grid node (mesh2grid).
    pub mesh2grid_face: Vec<u32>,
    /// grid2mesh query radius (chord length on the unit sphere, float32).
    pub grid2mesh_radius: f32,
}

impl GraphCastGraphs {
    /// Builds the graphs for a `lat` × `lon` grid (degrees, as stored in the dataset).
    pub fn build(cfg: &ModelConfig, lat: &[f32], lon: &[f32]) -> Result<GraphCastGraphs> {
        cfg.check()?;
        let mesh_size = cfg.mesh_size;
        validate(mesh_size, lat, lon, cfg.radius_query_fraction_edge_length)?;
        let levels = multimesh::get_hierarchy_of_triangular_meshes_for_sphere(mesh_size);
        let faces_per_level = multimesh::faces_per_level(&levels);
        let (finest, multimesh) = match (levels.last(), multimesh::merge_meshes(&levels)) {
            (Some(f), Some(m)) => (f, m),
            _ => return Err(crate::Error::Invalid("empty mesh hierarchy".into())),
        };
        let n_mesh = finest.vertices.len();
        let n_grid = lat.len() * lon.len();

        let radius = grid2mesh::query_radius(
            icosahedral_mesh::max_edge_length(finest),
            cfg.radius_query_fraction_edge_length,
        );
        let grid_pos: Vec<[f64; 3]> = spherical::grid_positions(lat, lon)
            .into_iter()
            .map(spherical::widen)
            .collect();
        let mesh_pos: Vec<[f64; 3]> = finest
            .vertices
            .iter()
            .map(|&v| spherical::widen(v))
            .collect();
        let (g2m_senders, g2m_receivers) =
            grid2mesh::radius_query_edges(&grid_pos, &mesh_pos, f64::from(radius));
        let mesh2grid_face = mesh2grid::containing_faces(
            &finest.vertices,
            &finest.faces,
            &grid_pos,
            mesh_size,
            lat,
            lon,
        );
        let (m2g_senders, m2g_receivers) =
            mesh2grid::in_mesh_triangle_edges(&finest.faces, &mesh2grid_face);
        let (mesh_senders, mesh_receivers) = icosahedral_mesh::faces_to_edges(&multimesh.faces);

        let (grid_lat, grid_lon) = spherical::grid_nodes_lat_lon(lat, lon);
        let identity: Vec<u32> = (0..n_mesh as u32).collect();
        let (mesh_lat, mesh_lon) =
            spherical::mesh_nodes_lat_lon(mesh_size, &finest.vertices, &identity);

        let grid = |nodes| (grid_lat.as_slice(), grid_lon.as_slice(), nodes);
        let mesh = |nodes| (mesh_lat.as_slice(), mesh_lon.as_slice(), nodes);
        let g2m_features = features::edge_features_normalized(
            grid(g2m_senders.as_slice()),
            mesh(g2m_receivers.as_slice()),
            None,
        );
        let mesh_features = features::edge_features_normalized(
            mesh(mesh_senders.as_slice()),
            mesh(mesh_receivers.as_slice()),
            None,
        );
        let m2g_features = features::edge_features_normalized(
            mesh(m2g_senders.as_slice()),
            grid(m2g_receivers.as_slice()),
            cfg.mesh2grid_edge_normalization_factor,
        );

        Ok(GraphCastGraphs {
            lat: lat.to_vec(),
            lon: lon.to_vec(),
            n_grid,
            n_mesh,
            grid_node_features: features::node_features(&grid_lat, &grid_lon),
            mesh_node_features: features::node_features(&mesh_lat, &mesh_lon),
            grid2mesh: EdgeSet {
                senders: g2m_senders,
                receivers: g2m_receivers,
                features: g2m_features,
            },
            mesh: EdgeSet {
                senders: mesh_senders,
                receivers: mesh_receivers,
                features: mesh_features,
            },
            mesh2grid: EdgeSet {
                senders: m2g_senders,
                receivers: m2g_receivers,
                features: m2g_features,
            },
            mesh_nodes_lat: mesh_lat,
            mesh_nodes_lon: mesh_lon,
            multimesh,
            faces_per_level,
            mesh2grid_face,
            grid2mesh_radius: radius,
        })
    }
}
