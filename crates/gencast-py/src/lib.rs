//! Python bindings of the gencast engine: the compiled part of the `gencast_rs` package.
//!
//! The pure-Python layer (`python/gencast_rs/__init__.py`) turns xarray objects into files or
//! arrays for these functions and builds xarray objects from what they return.

use pyo3::prelude::*;

mod errors;
mod model;

pub use errors::GencastError;

/// The `gencast_rs._gencast_rs` extension module.
#[pymodule]
fn _gencast_rs(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("GencastError", m.py().get_type::<GencastError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<model::Model>()?;
    m.add_function(wrap_pyfunction!(inspect_json, m)?)?;
    Ok(())
}

/// The description of the checkpoint at `path` as one JSON object (what `gencast inspect
/// --json` prints).
#[pyfunction]
fn inspect_json(py: Python<'_>, path: std::path::PathBuf) -> PyResult<String> {
    py.allow_threads(|| gencast::checkpoint::inspect::Description::of(&path)?.to_json())
        .map_err(errors::to_py)
}
