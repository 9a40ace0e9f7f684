//! Python bindings of the gencast engine: the compiled part of the `gencast_rs` package.
//!
//! The pure-Python layer (`python/gencast_rs/__init__.py`) turns xarray objects into paths or
//! in-memory arrays for these functions and builds xarray objects from what they return.

use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;

mod dataset;
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
    m.add_function(wrap_pyfunction!(toa_incident_solar_radiation, m)?)?;
    Ok(())
}

/// The description of the checkpoint at `path` as one JSON object (what `gencast inspect
/// --json` prints).
#[pyfunction]
fn inspect_json(py: Python<'_>, path: std::path::PathBuf) -> PyResult<String> {
    py.allow_threads(|| gencast::checkpoint::inspect::Description::of(&path)?.to_json())
        .map_err(errors::to_py)
}

/// TOA incident solar radiation (J m⁻², accumulated over the hour ending at each time) at the
/// times `datetime_ns` (ns since 1970-01-01 UTC) on the `lat` × `lon` grid: a flat float32
/// array ordered time, lat, lon, as the engine computes it for a forecast's forcings.
#[pyfunction]
fn toa_incident_solar_radiation<'py>(
    py: Python<'py>,
    datetime_ns: Vec<i64>,
    lat: PyReadonlyArray1<'py, f32>,
    lon: PyReadonlyArray1<'py, f32>,
) -> PyResult<Bound<'py, PyArray1<f32>>> {
    let (lat, lon) = (lat.as_slice()?.to_vec(), lon.as_slice()?.to_vec());
    let values = py.allow_threads(|| {
        datetime_ns
            .iter()
            .flat_map(|&t| {
                gencast::data::solar_radiation::toa_incident_solar_radiation(t, &lat, &lon)
            })
            .collect::<Vec<f32>>()
    });
    Ok(PyArray1::from_vec(py, values))
}
