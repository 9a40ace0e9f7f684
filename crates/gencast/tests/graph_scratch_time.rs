use gencast::graph::*;
use std::time::Instant;
#[test]
fn stages() {
    let res = 0.25f64;
    let lat: Vec<f32> = (0..721).map(|i| (-90.0 + res * i as f64) as f32).collect();
    let lon: Vec<f32> = (0..1440).map(|j| (res * j as f64) as f32).collect();
    let t = Instant::now();
    let finest = icosahedral_mesh::get_last_triangular_mesh_for_sphere(6);
    let (mesh, _perm) = rcm::permute_mesh_to_banded(&finest);
    println!("mesh+rcm {:?}", t.elapsed());
    let t = Instant::now();
    let gp: Vec<[f64; 3]> = spherical::grid_positions(&lat, &lon)
        .into_iter()
        .map(spherical::widen)
        .collect();
    let mp: Vec<[f64; 3]> = mesh.vertices.iter().map(|&v| spherical::widen(v)).collect();
    println!("pos {:?}", t.elapsed());
    let t = Instant::now();
    let r = grid2mesh::query_radius(icosahedral_mesh::max_edge_length(&mesh), 0.6);
    let (gs, gr) = grid2mesh::radius_query_edges(&gp, &mp, r as f64);
    println!("g2m {:?}", t.elapsed());
    let t = Instant::now();
    let f = mesh2grid::containing_faces(&mesh.vertices, &mesh.faces, &gp, 6, &lat, &lon);
    let (ms, mr) = mesh2grid::in_mesh_triangle_edges(&mesh.faces, &f);
    println!("m2g {:?}", t.elapsed());
    let t = Instant::now();
    let (glat, glon) = spherical::grid_nodes_lat_lon(&lat, &lon);
    let (mlat, mlon): (Vec<f32>, Vec<f32>) = mesh
        .vertices
        .iter()
        .map(|&v| spherical::cartesian_to_lat_lon(v))
        .unzip();
    let a = features::edge_features(&glat, &glon, &gs, &mlat, &mlon, &gr);
    println!("g2m feat {:?}", t.elapsed());
    let t = Instant::now();
    let b = features::edge_features(&mlat, &mlon, &ms, &glat, &glon, &mr);
    println!("m2g feat {:?}", t.elapsed());
    let t = Instant::now();
    let n = features::node_features(&glat, &glon);
    println!("node feat {:?}", t.elapsed());
    let t = Instant::now();
    let (s, rr) = icosahedral_mesh::faces_to_edges(&mesh.faces);
    let adj = rcm::Adjacency::from_edges(mesh.vertices.len(), &s, &rr);
    let att = attention::k_hop_neighbourhoods(&adj, 16);
    println!("attention {:?}", t.elapsed());
    println!("{} {} {} {}", a.len(), b.len(), n.len(), att.nnz());
}
