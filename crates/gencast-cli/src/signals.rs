//! SIGTERM and SIGINT during `gencast forecast`: the first one sets the forecast's cancel flag,
//! so the run stops before its next denoiser call (or GraphCast step), drops its output cleanly
//! (member locks released, what cannot be resumed removed) and exits with status 128 + the
//! signal's number; a second one ends the process at once, as the default action would.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use anyhow::Context;
use signal_hook::consts::{SIGINT, SIGTERM};

/// The stop request a forecast watches.
pub(crate) struct Stop {
    flag: Arc<AtomicBool>,
    signal: Arc<AtomicUsize>,
}

impl Stop {
    /// Installs the handlers of SIGTERM and SIGINT.
    pub(crate) fn install() -> anyhow::Result<Stop> {
        let stop = Stop {
            flag: Arc::new(AtomicBool::new(false)),
            signal: Arc::new(AtomicUsize::new(0)),
        };
        for sig in [SIGTERM, SIGINT] {
            // Registered first, so it sees the flag as the previous signal left it.
            signal_hook::flag::register_conditional_shutdown(sig, 128 + sig, stop.flag.clone())
                .and_then(|_| {
                    signal_hook::flag::register_usize(sig, stop.signal.clone(), sig as usize)
                })
                .and_then(|_| signal_hook::flag::register(sig, stop.flag.clone()))
                .with_context(|| format!("installing the handler of signal {sig}"))?;
        }
        Ok(stop)
    }

    /// The flag the forecast's cancellation watches.
    pub(crate) fn flag(&self) -> Arc<AtomicBool> {
        self.flag.clone()
    }

    /// The signal that asked the run to stop, if one did.
    pub(crate) fn received(&self) -> Option<Stopped> {
        match self.signal.load(Ordering::SeqCst) as i32 {
            0 => None,
            signal => Some(Stopped {
                signal,
                message: String::new(),
            }),
        }
    }
}

/// A run ended by a signal: the error `main` reports, exiting with status 128 + `signal`.
#[derive(Debug)]
pub(crate) struct Stopped {
    /// The signal's number.
    pub signal: i32,
    /// What was stopped and how to continue.
    pub message: String,
}

impl Stopped {
    /// The signal's name (`SIGTERM`, `SIGINT`).
    pub(crate) fn name(&self) -> &'static str {
        match self.signal {
            SIGTERM => "SIGTERM",
            SIGINT => "SIGINT",
            _ => "a signal",
        }
    }

    /// The process exit status: 128 + the signal's number, as a shell reports a signalled
    /// process.
    pub(crate) fn exit_code(&self) -> i32 {
        128 + self.signal
    }
}

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Stopped {}

/// Test hook: the process sends itself SIGTERM once it has computed this many steps (a
/// scheduler's time limit, at a known point).
pub(crate) const SIGTERM_AFTER_ENV: &str = "GENCAST_SIGTERM_AFTER_STEPS";

/// Sends this process SIGTERM (the [`SIGTERM_AFTER_ENV`] hook).
pub(crate) fn raise_sigterm() {
    let _ = signal_hook::low_level::raise(SIGTERM);
}
