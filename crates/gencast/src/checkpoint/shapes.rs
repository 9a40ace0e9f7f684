//! Expected parameter shapes shared by both families: the tensor triple and an MLP's layers.

/// One expected tensor: (module path, parameter name, shape).
pub type ExpectedParam = (String, String, Vec<usize>);

/// Pushes the `w`/`b` pairs of an MLP `<prefix>_mlp/~/linear_j` with `hidden` hidden layers of
/// width `d`.
pub(crate) fn mlp(
    out: &mut Vec<ExpectedParam>,
    prefix: &str,
    input: usize,
    d: usize,
    hidden: usize,
    output: usize,
) {
    for j in 0..=hidden {
        let rows = if j == 0 { input } else { d };
        let cols = if j == hidden { output } else { d };
        let module = format!("{prefix}_mlp/~/linear_{j}");
        out.push((module.clone(), "w".into(), vec![rows, cols]));
        out.push((module, "b".into(), vec![cols]));
    }
}

/// The grid2mesh GNN's MLPs (`DeepTypedGraphNet` with one message-passing step, the same in
/// both families) with their input widths, for `cin` stacked grid channels and latent `d`.
pub(crate) fn grid2mesh_mlps(cin: usize, d: usize) -> [(&'static str, usize); 6] {
    [
        ("encoder_edges_grid2mesh", 4),
        ("encoder_nodes_grid_nodes", cin + 3),
        ("encoder_nodes_mesh_nodes", cin + 3),
        ("processor_edges_0_grid2mesh", 3 * d),
        ("processor_nodes_0_grid_nodes", d),
        ("processor_nodes_0_mesh_nodes", 2 * d),
    ]
}

/// The mesh2grid GNN's MLPs before its output MLP (the same in both families), with their
/// input widths for latent `d`.
pub(crate) fn mesh2grid_mlps(d: usize) -> [(&'static str, usize); 4] {
    [
        ("encoder_edges_mesh2grid", 4),
        ("processor_edges_0_mesh2grid", 3 * d),
        ("processor_nodes_0_grid_nodes", 2 * d),
        ("processor_nodes_0_mesh_nodes", d),
    ]
}
