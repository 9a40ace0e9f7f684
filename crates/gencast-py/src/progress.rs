//! Progress reports and cancellation across the boundary: the computation runs without the GIL
//! and takes it back only to call the Python progress callback, which may raise (Ctrl-C, a
//! cancelled generator) to stop the run at the end of the current denoiser call's step.

use pyo3::prelude::*;
use pyo3::types::PyTuple;

/// Forwards progress to a Python callable and remembers the first exception it raised.
pub struct Reporter {
    callback: Option<PyObject>,
    /// The first exception raised by the callback or by a pending signal.
    pub raised: Option<PyErr>,
}

impl Reporter {
    /// A reporter calling `callback(member, step, calls, calls_per_step)` (or only checking
    /// signals when `None`).
    pub fn new(callback: Option<PyObject>) -> Reporter {
        Reporter {
            callback,
            raised: None,
        }
    }

    /// Reports one finished denoiser call; returns `false` once the run should stop.
    pub fn report(&mut self, member: usize, step: usize, calls: usize, per_step: usize) -> bool {
        if self.raised.is_some() {
            return false;
        }
        Python::with_gil(|py| {
            // Ctrl-C arrives as a pending signal on the main thread; elsewhere this is a no-op.
            if let Err(e) = py.check_signals() {
                self.raised = Some(e);
                return;
            }
            if let Some(cb) = &self.callback {
                let args = PyTuple::new(py, [member, step, calls, per_step]);
                if let Err(e) = args.and_then(|a| cb.call1(py, a)) {
                    self.raised = Some(e);
                }
            }
        });
        self.raised.is_none()
    }

    /// The error that stops the run once the callback has raised.
    pub fn stop_error() -> gencast::Error {
        gencast::Error::Invalid("forecast interrupted".into())
    }
}
