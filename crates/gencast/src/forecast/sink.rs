//! Where a forecast goes: the [`ForecastSink`] trait and its file writers (NetCDF, Zarr).

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::forecast::Field;
use crate::forecast::{ForecastLayout, WriteMode};
use crate::output::forecast_nc::{tmp_name, ForecastWriter};
use crate::output::zarr::{MemberClaim, ZarrForecast};
use crate::{Error, Result};

/// The most members a Zarr store may hold (its `sample` coordinate lists them all).
pub const MAX_ENSEMBLE: u32 = 1_000_000;

/// Receives a forecast: its layout once, then every finished (member, step). Steps arrive
/// member after member, each member's steps in order.
pub trait ForecastSink: Send {
    /// Receives the layout (variables, levels, grid, members, lead times, names) and the run's
    /// settings (seed, sampler, input identities) before the first step.
    fn begin(&mut self, layout: &ForecastLayout, run: &Value) -> Result<()>;

    /// Receives one finished step: `member` indexes `layout.members`, `slot` indexes
    /// `layout.lead_hours`, and `fields` are the layout's variables in order, cut to its levels
    /// and grid (`[level,] lat, lon`).
    fn write(&mut self, member: usize, slot: usize, fields: &[Field]) -> Result<()>;

    /// Completes the output after the last step.
    fn finish(&mut self) -> Result<()>;

    /// Receives an ensemble statistic (a layout variable without member dimension) at `slot`.
    fn write_summary(&mut self, slot: usize, variable: usize, data: &[f32]) -> Result<()> {
        let _ = (slot, data);
        Err(Error::Invalid(format!(
            "variable {variable}: this output takes no ensemble statistics"
        )))
    }

    /// Whether steps an earlier run wrote are kept and replayed (a resumed output).
    fn resumes(&self) -> bool {
        false
    }

    /// Whether (member, step) was written by an earlier run and may be skipped.
    fn is_complete(&self, _member: usize, _step: usize) -> bool {
        false
    }

    /// Reads back a step [`ForecastSink::is_complete`] reports, as [`ForecastSink::write`]
    /// received it.
    fn read(&self, member: usize, step: usize) -> Result<Vec<Field>> {
        Err(Error::Invalid(format!(
            "member {member}, step {step}: this output keeps no steps to read back"
        )))
    }

    /// Whether the run's settings should carry the content identities of the input files
    /// (outputs that can be resumed compare them).
    fn wants_identity(&self) -> bool {
        false
    }

    /// Messages for the user gathered since the last call (e.g. what a resume found).
    fn notes(&mut self) -> Vec<String> {
        Vec::new()
    }

    /// Removes the unfinished output this sink created, for a run that stopped early and cannot
    /// be resumed (an ensemble summary); the default keeps everything.
    fn discard_unfinished(&mut self) {}
}

impl<T: ForecastSink + ?Sized> ForecastSink for Box<T> {
    fn begin(&mut self, layout: &ForecastLayout, run: &Value) -> Result<()> {
        (**self).begin(layout, run)
    }

    fn write(&mut self, member: usize, slot: usize, fields: &[Field]) -> Result<()> {
        (**self).write(member, slot, fields)
    }

    fn finish(&mut self) -> Result<()> {
        (**self).finish()
    }

    fn write_summary(&mut self, slot: usize, variable: usize, data: &[f32]) -> Result<()> {
        (**self).write_summary(slot, variable, data)
    }

    fn resumes(&self) -> bool {
        (**self).resumes()
    }

    fn is_complete(&self, member: usize, step: usize) -> bool {
        (**self).is_complete(member, step)
    }

    fn read(&self, member: usize, step: usize) -> Result<Vec<Field>> {
        (**self).read(member, step)
    }

    fn wants_identity(&self) -> bool {
        (**self).wants_identity()
    }

    fn notes(&mut self) -> Vec<String> {
        (**self).notes()
    }

    fn discard_unfinished(&mut self) {
        (**self).discard_unfinished()
    }
}

/// Rebuilds a step's fields from per-variable data read back from an output.
pub(super) fn fields_of(
    layout: &ForecastLayout,
    mut read: impl FnMut(usize) -> Result<Vec<f32>>,
) -> Result<Vec<Field>> {
    layout
        .variables
        .iter()
        .enumerate()
        .map(|(v, var)| {
            Ok(Field {
                name: var.name.clone(),
                levels: if var.levelled {
                    layout.levels.clone()
                } else {
                    Vec::new()
                },
                data: read(v)?,
            })
        })
        .collect()
}

/// A NetCDF forecast file, written under a temporary name with a progress record so an
/// interrupted run can be resumed.
pub struct NetCdfSink {
    path: PathBuf,
    mode: WriteMode,
    writer: Option<ForecastWriter>,
    notes: Vec<String>,
}

impl NetCdfSink {
    /// A sink writing `path`; `mode` says whether an earlier run's file is continued
    /// (`resume`) or replaced (`overwrite`).
    pub fn new(path: impl Into<PathBuf>, mode: WriteMode) -> NetCdfSink {
        NetCdfSink {
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

    fn writer(&self) -> Result<&ForecastWriter> {
        self.writer
            .as_ref()
            .ok_or_else(|| Error::Invalid(format!("{}: not open", self.path.display())))
    }
}

impl ForecastSink for NetCdfSink {
    fn begin(&mut self, layout: &ForecastLayout, run: &Value) -> Result<()> {
        let w = ForecastWriter::open_resumable(&self.path, layout.clone(), run, self.mode)?;
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
        let w = self
            .writer
            .as_mut()
            .ok_or_else(|| Error::Invalid(format!("{}: not open", path.display())))?;
        for (v, f) in fields.iter().enumerate() {
            w.write_field(member, slot, v, &f.data)?;
        }
        w.complete_step(member, slot)
    }

    fn write_summary(&mut self, slot: usize, variable: usize, data: &[f32]) -> Result<()> {
        let path = self.path.clone();
        self.writer
            .as_mut()
            .ok_or_else(|| Error::Invalid(format!("{}: not open", path.display())))?
            .write_field(0, slot, variable, data)
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
        fields_of(w.layout(), |v| w.read_field(member, step, v))
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

/// A Zarr v3 store shared by the whole ensemble: several runs may write disjoint members.
pub struct ZarrSink {
    path: PathBuf,
    mode: WriteMode,
    ensemble_size: Option<u32>,
    store: Option<ZarrForecast>,
    offset: usize,
    claim: Option<MemberClaim>,
    notes: Vec<String>,
}

impl ZarrSink {
    /// A sink writing store `path`; `ensemble_size` is the store's number of members (default:
    /// the last member of the run + 1), and `mode` says whether this run's members' chunks
    /// already there are kept (`resume`) or computed again (`overwrite`).
    pub fn new(path: impl Into<PathBuf>, mode: WriteMode, ensemble_size: Option<u32>) -> ZarrSink {
        ZarrSink {
            path: path.into(),
            mode,
            ensemble_size,
            store: None,
            offset: 0,
            claim: None,
            notes: Vec::new(),
        }
    }

    /// The store written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn store(&self) -> Result<&ZarrForecast> {
        self.store
            .as_ref()
            .ok_or_else(|| Error::Invalid(format!("{}: not open", self.path.display())))
    }
}

impl ForecastSink for ZarrSink {
    fn begin(&mut self, layout: &ForecastLayout, run: &Value) -> Result<()> {
        let offset = layout.members.first().map_or(0, |&m| m as u32);
        let end = offset + layout.members.len() as u32;
        let ensemble_size = self.ensemble_size.unwrap_or(end);
        if end > ensemble_size {
            return Err(Error::Invalid(format!(
                "members {offset}..{end} do not fit in ZarrSink ensemble_size {ensemble_size}"
            )));
        }
        if ensemble_size > MAX_ENSEMBLE {
            return Err(Error::Invalid(format!(
                "a Zarr store of {ensemble_size} members (ZarrSink ensemble_size, or Forecast::member_offset \
                 + Forecast::members) is more than the {MAX_ENSEMBLE} one store may hold"
            )));
        }
        let store_layout = ForecastLayout {
            members: (0..ensemble_size as i32).collect(),
            ..layout.clone()
        };
        let z = ZarrForecast::open_or_create(&self.path, store_layout, run)?;
        let range = offset as usize..end as usize;
        let claim = z.claim_members(range.clone())?;
        let mut stale = 0;
        for m in range.clone() {
            stale += z.remove_stale_chunk_files(m)?;
        }
        if stale > 0 {
            self.notes.push(format!(
                "removed {stale} unfinished chunk files an interrupted writer left"
            ));
        }
        if !self.mode.resume && !self.mode.overwrite {
            if let Some(m) = range.clone().find(|&m| z.member_has_chunks(m)) {
                return Err(Error::Invalid(format!(
                    "{}: member {m} already has chunks in this store; add WriteMode::resume to keep \
                     them and compute only what is missing, or WriteMode::overwrite to compute \
                     them again",
                    self.path.display()
                )));
            }
        }
        self.offset = offset as usize;
        self.claim = Some(claim);
        self.store = Some(z);
        Ok(())
    }

    fn write(&mut self, member: usize, slot: usize, fields: &[Field]) -> Result<()> {
        let z = self.store()?;
        for (v, f) in fields.iter().enumerate() {
            z.write_field(self.offset + member, slot, v, &f.data)?;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        self.claim = None;
        Ok(())
    }

    fn write_summary(&mut self, slot: usize, variable: usize, data: &[f32]) -> Result<()> {
        self.store()?.write_field(0, slot, variable, data)
    }

    fn resumes(&self) -> bool {
        self.mode.resume
    }

    fn is_complete(&self, member: usize, step: usize) -> bool {
        self.mode.resume
            && self
                .store
                .as_ref()
                .is_some_and(|z| z.step_complete(self.offset + member, step))
    }

    fn read(&self, member: usize, step: usize) -> Result<Vec<Field>> {
        let z = self.store()?;
        fields_of(z.layout(), |v| z.read_field(self.offset + member, step, v))
    }

    fn wants_identity(&self) -> bool {
        true
    }

    fn notes(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notes)
    }
}
