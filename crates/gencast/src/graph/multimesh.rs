//! GraphCast's multi-mesh (`icosahedral_mesh.get_hierarchy_of_triangular_meshes_for_sphere` and
//! `merge_meshes`): the finest level's vertices with the faces of every refinement level.

use super::icosahedral_mesh::{
    get_icosahedron, two_split_unit_sphere_triangle_faces, TriangularMesh,
};

/// Levels `0..=splits` of the refined icosahedron; each level's vertex array extends the
/// previous one (old vertices keep their index, midpoints are appended).
pub fn get_hierarchy_of_triangular_meshes_for_sphere(splits: usize) -> Vec<TriangularMesh> {
    let mut levels = vec![get_icosahedron()];
    for _ in 0..splits {
        let next =
            two_split_unit_sphere_triangle_faces(levels.last().unwrap_or(&get_icosahedron()));
        levels.push(next);
    }
    levels
}

/// Merges a hierarchy into one mesh: the vertices of the last (finest) level and the faces of
/// every level concatenated coarsest first. Returns `None` for an empty hierarchy.
pub fn merge_meshes(levels: &[TriangularMesh]) -> Option<TriangularMesh> {
    let finest = levels.last()?;
    let faces = levels
        .iter()
        .flat_map(|m| m.faces.iter().copied())
        .collect();
    Some(TriangularMesh {
        vertices: finest.vertices.clone(),
        faces,
    })
}

/// Number of faces of each level `0..=splits` (`20·4^k`).
pub fn faces_per_level(levels: &[TriangularMesh]) -> Vec<usize> {
    levels.iter().map(|m| m.faces.len()).collect()
}
