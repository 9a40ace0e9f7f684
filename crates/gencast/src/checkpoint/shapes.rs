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
