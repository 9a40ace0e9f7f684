//! The package's exception: every library error becomes a `GencastError` carrying its message.

use pyo3::create_exception;
use pyo3::exceptions::PyValueError;
use pyo3::PyErr;

create_exception!(
    gencast_rs,
    GencastError,
    PyValueError,
    "An error of the gencast engine: bad input files, variables, arguments or numerics; the \
     message names the file, variable or argument at fault."
);

/// Converts a library error into a `GencastError` with the library's message.
pub(crate) fn to_py(e: gencast::Error) -> PyErr {
    GencastError::new_err(e.to_string())
}
