//! The GRIB2 forecast sink: a [`GribWriter`] behind the [`ForecastSink`] trait.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::sink::ForecastSink;
use crate::forecast::Field;
use crate::forecast::{ForecastLayout, WriteMode};
use crate::output::forecast_nc::tmp_name;
use crate::output::grib2::GribWriter;
use crate::{Error, Result};

/// Whether `path` names a GRIB file (`.grib2`, `.grb2` or `.grib`).
pub fn is_grib(path: &Path) -> bool {
    path.extension().is_some_and(|e| {
        ["grib2", "grb2", "grib"]
            .iter()
            .any(|g| e.eq_ignore_ascii_case(g))
    })
}

/// A GRIB2 forecast file, written under a temporary name with a progress record so an
/// interrupted run can be resumed. A GraphCast run (settings `"model": "graphcast"`) is
/// written as a deterministic forecast, any other as ensemble members.
pub struct GribSink {
    path: PathBuf,
    mode: WriteMode,
    writer: Option<GribWriter>,
    notes: Vec<String>,
}

impl GribSink {
    /// A sink writing `path`; `mode` says whether an earlier run's file is continued
    /// (`resume`) or replaced (`overwrite`).
    pub fn new(path: impl Into<PathBuf>, mode: WriteMode) -> GribSink {
        GribSink {
            path: path.into(),
            mode,
            writer: None,
            notes: Vec::new(),
        }
    }

    /// The file written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn writer(&self) -> Result<&GribWriter> {
        self.writer
            .as_ref()
            .ok_or_else(|| Error::Invalid(format!("{}: not open", self.path.display())))
    }
}

impl ForecastSink for GribSink {
    fn begin(&mut self, layout: &ForecastLayout, run: &Value) -> Result<()> {
        let ensemble = run.get("model").and_then(Value::as_str) != Some("graphcast");
        let w = GribWriter::open_resumable(&self.path, layout.clone(), run, self.mode, ensemble)?;
        let tmp = tmp_name(&self.path);
        match w.resumed() {
            Some(n) => self.notes.push(format!(
                "resuming {}: {n} of {} (member, step) chunks already written",
                tmp.display(),
                layout.members.len() * layout.lead_hours.len()
            )),
            None if self.mode.resume => self.notes.push(format!(
                "WriteMode::resume: no unfinished {} to continue; starting from the first step",
                tmp.display()
            )),
            None => {}
        }
        self.writer = Some(w);
        Ok(())
    }

    fn write(&mut self, member: usize, slot: usize, fields: &[Field]) -> Result<()> {
        let path = self.path.clone();
        self.writer
            .as_mut()
            .ok_or_else(|| Error::Invalid(format!("{}: not open", path.display())))?
            .write_step(member, slot, fields)
    }

    fn finish(&mut self) -> Result<()> {
        match self.writer.take() {
            Some(w) => w.finish(),
            None => Ok(()),
        }
    }

    fn resumes(&self) -> bool {
        self.mode.resume
    }

    fn is_complete(&self, member: usize, step: usize) -> bool {
        self.writer
            .as_ref()
            .is_some_and(|w| w.step_complete(member, step))
    }

    fn read(&self, member: usize, step: usize) -> Result<Vec<Field>> {
        let w = self.writer()?;
        let mut data = w.read_step(member, step)?.into_iter();
        super::sink::fields_of(w.layout(), |_| {
            data.next()
                .ok_or_else(|| Error::Invalid("GRIB2 step read back short".into()))
        })
    }

    fn wants_identity(&self) -> bool {
        true
    }

    fn notes(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notes)
    }

    /// Removes the temporary file and progress record this run holds under its lock.
    fn discard_unfinished(&mut self) {
        if let Some(w) = self.writer.take() {
            w.discard();
        }
    }
}
