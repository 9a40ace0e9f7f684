//! The package's exception: every library error becomes a `GencastError` carrying its message,
//! with the command-line options the library names translated to the Python arguments.

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

/// The command's options and the Python arguments that stand for them.
const ARGUMENTS: &[(&str, &str)] = &[
    ("--dataset", "dataset"),
    ("--stats", "stats"),
    ("--checkpoint", "checkpoint"),
    ("--output", "output"),
    ("--init-time", "init_time"),
    ("--members", "members"),
    ("--member-offset", "member_offset"),
    ("--ensemble-size", "ensemble_size"),
    ("--steps", "steps"),
    ("--lead-time", "lead_time"),
    ("--seed", "seed"),
    ("--sampler", "sampler"),
    ("--threads", "threads"),
    ("--resume", "resume=True"),
    ("--overwrite", "overwrite=True"),
];

/// The library's option names and the Python arguments that set them.
const LIBRARY_NAMES: &[(&str, &str)] = &[
    ("Forecast::init_time", "init_time"),
    ("Forecast::members", "members"),
    ("Forecast::member_offset", "member_offset"),
    ("Forecast::steps", "steps"),
    ("Forecast::lead_time", "lead_time"),
    ("Forecast::seed", "seed"),
    ("Forecast::sampler", "sampler"),
    ("Forecast::threads", "threads"),
    ("Forecast::precision", "precision"),
    ("Forecast::variables", "variables"),
    ("Forecast::levels", "levels"),
    ("Forecast::region", "region"),
    ("Forecast::output_every", "output_every"),
    ("WriteMode::resume", "resume=True"),
    ("WriteMode::overwrite", "overwrite=True"),
    ("ZarrSink ensemble_size", "ensemble_size"),
];

/// Converts a library error into a `GencastError` with the library's message, naming the
/// Python arguments instead of the command's options.
pub(crate) fn to_py(e: gencast::Error) -> PyErr {
    GencastError::new_err(python_names(&e.to_string()))
}

/// `message` with each command option of [`ARGUMENTS`] (a whole `--word-word` token) replaced
/// by its Python argument; other text, and options without a Python counterpart, are kept.
pub(crate) fn python_names(message: &str) -> String {
    let message = LIBRARY_NAMES
        .iter()
        .fold(message.to_string(), |m, (name, arg)| m.replace(name, arg));
    let mut out = String::with_capacity(message.len());
    let mut rest = message.as_str();
    while let Some(at) = rest.find("--") {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        let len = 2 + tail[2..]
            .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'))
            .unwrap_or(tail.len() - 2);
        let token = &tail[..len];
        match ARGUMENTS.iter().find(|(flag, _)| *flag == token) {
            Some((_, name)) => out.push_str(name),
            None => out.push_str(token),
        }
        rest = &tail[len..];
    }
    out.push_str(rest);
    out
}
