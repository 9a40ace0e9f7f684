//! The crate's single error type.

use std::path::PathBuf;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Every failure the library can report. Each variant names the file, key, tensor or variable
/// at fault and, where it applies, what was expected and what was found.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An operating-system I/O error on a file.
    #[error("{path}: {source}")]
    Io {
        /// The file being read or written.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A file is not in the expected format (bad ZIP, NPY, NetCDF structure).
    #[error("{path}: {what}: {detail}")]
    Format {
        /// The file at fault.
        path: PathBuf,
        /// The entry, key, variable or header that is wrong.
        what: String,
        /// What was expected and what was found.
        detail: String,
    },
    /// A required key (checkpoint entry, config field, dataset variable) is absent.
    #[error("{path}: missing {what} `{key}`")]
    Missing {
        /// The file at fault.
        path: PathBuf,
        /// The kind of thing that is missing (e.g. "config key", "variable").
        what: &'static str,
        /// Its name.
        key: String,
    },
    /// A checkpoint's parameters do not match the model built from its configuration.
    /// Lists every missing, unexpected and mis-shaped tensor at once.
    #[error("{path}: parameters do not match the model:\n{report}")]
    Params {
        /// The checkpoint.
        path: PathBuf,
        /// One line per problem.
        report: String,
    },
    /// A configuration value is invalid or unsupported.
    #[error("invalid configuration `{key}`: {detail}")]
    Config {
        /// The configuration field.
        key: String,
        /// What is wrong with it.
        detail: String,
    },
    /// A dataset variable is present but unusable (wrong dims, levels, grid, values).
    #[error("{path}: variable `{variable}`: {detail}")]
    Data {
        /// The dataset file.
        path: PathBuf,
        /// The variable at fault.
        variable: String,
        /// What is wrong.
        detail: String,
    },
    /// Tensors or arrays whose shapes do not agree.
    #[error("shape mismatch for {what}: expected {expected:?}, found {found:?}")]
    Shape {
        /// The tensor or array.
        what: String,
        /// The expected shape.
        expected: Vec<usize>,
        /// The shape found.
        found: Vec<usize>,
    },
    /// A non-finite value appeared during computation.
    #[error("non-finite value in {stage}: {detail}")]
    NonFinite {
        /// The stage that produced it (e.g. `grid2mesh_gnn`, `sampler iteration 7`).
        stage: String,
        /// Variable, level, grid point, member and step where known.
        detail: String,
    },
    /// The caller asked the forecast to stop (its cancellation flag was set).
    #[error("cancelled")]
    Cancelled,
    /// Any other invalid request (bad argument combination and the like).
    #[error("{0}")]
    Invalid(String),
}

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// Builds a [`Error::Format`] error.
    pub fn format(
        path: impl Into<PathBuf>,
        what: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        Error::Format {
            path: path.into(),
            what: what.into(),
            detail: detail.into(),
        }
    }
}
