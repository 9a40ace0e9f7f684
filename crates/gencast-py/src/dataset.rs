//! An `xarray.Dataset` handed to the engine in memory: the Python layer flattens it into a
//! dict of coordinates and variables, and this module builds the library's [`Dataset`] from it
//! (no file is written), checking every size before copying.

use std::path::PathBuf;

use gencast::data::{Array, Dataset, MemoryCoords};
use numpy::PyReadonlyArray1;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::errors::GencastError;

/// A forecast's dataset: a NetCDF path, or a dataset built in memory.
pub(crate) enum DatasetArg {
    /// A NetCDF file the run opens.
    Path(PathBuf),
    /// A dataset converted from an `xarray.Dataset`.
    Memory(Box<Dataset>),
}

/// A dataset argument: a path (`str` or `os.PathLike`), or the dict the Python layer makes of
/// an `xarray.Dataset` (`label`, the `lat`, `lon`, `level`, `time` and `datetime` coordinates as
/// 1-d arrays, and `variables`: `(name, dims, shape, values, units)` with flat float32 values).
pub(crate) fn dataset_arg(obj: &Bound<'_, PyAny>) -> PyResult<DatasetArg> {
    let Ok(d) = obj.downcast::<PyDict>() else {
        return Ok(DatasetArg::Path(obj.extract()?));
    };
    let label: String = item(d, "label")?.extract()?;
    let coords = MemoryCoords {
        lat: vector(d, "lat")?,
        lon: vector(d, "lon")?,
        level: vector(d, "level")?,
        time: vector(d, "time")?,
        datetime: vector(d, "datetime")?,
    };
    type Entry<'py> = (
        String,
        Vec<String>,
        Vec<usize>,
        PyReadonlyArray1<'py, f32>,
        Option<String>,
    );
    let entries: Vec<Entry<'_>> = item(d, "variables")?.extract()?;
    let mut variables = Vec::with_capacity(entries.len());
    for (name, dims, shape, values, units) in entries {
        // Checked before copying: the shape must account for exactly the values given.
        let expected = shape.iter().try_fold(1usize, |n, &s| n.checked_mul(s));
        if dims.len() != shape.len() || expected != Some(values.len()?) {
            return Err(GencastError::new_err(format!(
                "{label}: variable `{name}`: dims {dims:?} and shape {shape:?} do not fit its {} \
                 values",
                values.len()?
            )));
        }
        let data = values.as_slice()?.to_vec();
        variables.push((name, Array { dims, shape, data }, units));
    }
    Dataset::from_arrays(label, coords, variables)
        .map(|d| DatasetArg::Memory(Box::new(d)))
        .map_err(crate::errors::to_py)
}

/// A required key of the dataset dict.
fn item<'py>(d: &Bound<'py, PyDict>, key: &str) -> PyResult<Bound<'py, PyAny>> {
    d.get_item(key)?.ok_or_else(|| {
        GencastError::new_err(format!("in-memory dataset: no `{key}` entry (internal)"))
    })
}

/// A coordinate of the dataset dict as a vector (empty when absent).
fn vector<T: numpy::Element + Copy>(d: &Bound<'_, PyDict>, key: &str) -> PyResult<Vec<T>> {
    match d.get_item(key)? {
        None => Ok(Vec::new()),
        Some(v) => Ok(v.extract::<PyReadonlyArray1<'_, T>>()?.as_slice()?.to_vec()),
    }
}
