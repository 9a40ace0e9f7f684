//! A resumable GRIB2 forecast file: messages appended step by step to the temporary file
//! `NAME.grib2.tmp`, with the NetCDF writer's progress record (`NAME.grib2.tmp.progress`),
//! lock and final rename.
//!
//! Steps are written in increasing (member, step) order, and a step is recorded in the
//! progress record only after its messages are synced; so the file holds, in that order, the
//! messages of each recorded step, followed at most by part of the step in flight when a run
//! was killed. A resumed run walks the recorded steps' messages by their lengths, cuts off what
//! follows and appends the steps still missing.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::message::{decode, Encoder, FieldId, Grid, Product};
use super::params::{lookup, Param};
use crate::forecast::Field;
use crate::forecast::{ForecastLayout, WriteMode};
use crate::output::forecast_nc::progress::{identity, Progress};
use crate::output::forecast_nc::{progress_name, refuse_discarding, tmp_name};
use crate::{Error, Result};

/// The largest ensemble member `number` a message holds (one octet, 255 meaning missing).
pub const MAX_NUMBER: i32 = 254;

/// A GRIB2 forecast file being written.
pub struct GribWriter {
    path: PathBuf,
    tmp: PathBuf,
    file: Option<File>,
    layout: ForecastLayout,
    encoder: Encoder,
    params: Vec<Param>,
    ensemble: bool,
    progress: Progress,
    /// Byte ranges of the messages of each written `[member][step]`, in layout order.
    ranges: Vec<Vec<Vec<(u64, u64)>>>,
    /// Where the next message goes.
    end: u64,
    /// The last (member, step) written.
    last: Option<(usize, usize)>,
    keep_on_drop: bool,
    resumed: Option<usize>,
}

/// The encoding of each layout variable, or an error naming what GRIB2 output cannot hold.
fn params_of(layout: &ForecastLayout) -> Result<Vec<Param>> {
    layout
        .variables
        .iter()
        .map(|v| {
            if let Some(stat) = &v.statistic {
                return Err(Error::Invalid(format!(
                    "`{}`: GRIB2 output holds the members themselves, not ensemble statistics \
                     ({stat}); write the --ensemble-summary to NetCDF or Zarr",
                    v.name
                )));
            }
            let p = lookup(&v.name)?;
            if p.isobaric() != v.levelled {
                return Err(Error::Invalid(format!(
                    "variable `{}`: the GRIB2 table has it {}on pressure levels, the forecast {}",
                    v.name,
                    if p.isobaric() { "" } else { "not " },
                    if v.levelled { "does" } else { "does not" }
                )));
            }
            Ok(p)
        })
        .collect()
}

/// Messages per (member, step): one per variable and level.
fn messages_per_step(layout: &ForecastLayout) -> usize {
    layout
        .variables
        .iter()
        .map(|v| if v.levelled { layout.levels.len() } else { 1 })
        .sum()
}

/// The product kind of `layout`: an ensemble of `number` = member + 1, or deterministic.
fn product_of(layout: &ForecastLayout, ensemble: bool) -> Result<Product> {
    if !ensemble {
        return Ok(Product::Deterministic);
    }
    match layout.members.iter().max() {
        Some(&m) if m > MAX_NUMBER - 1 || layout.members.iter().any(|&m| m < 0) => {
            Err(Error::Invalid(format!(
                "member {m}: a GRIB2 message numbers ensemble members 1 to {MAX_NUMBER} \
                 (number = member + 1), so members 0 to {} fit",
                MAX_NUMBER - 1
            )))
        }
        Some(&m) => Ok(Product::Ensemble {
            size: (m + 1) as u8,
        }),
        None => Err(Error::Invalid("a forecast of no members".into())),
    }
}

impl GribWriter {
    /// Opens `path` for writing under an exclusive lock on its temporary file, like
    /// [`crate::output::forecast_nc::ForecastWriter::open_resumable`]: with `mode.resume` an
    /// unfinished file of an earlier run with the same layout and `run` settings is continued;
    /// an unfinished file needs `resume` or `overwrite`, and an existing final file
    /// `overwrite`. `ensemble` chooses ensemble (member `number` = member + 1) or
    /// deterministic product templates.
    pub fn open_resumable(
        path: &Path,
        layout: ForecastLayout,
        run: &Value,
        mode: WriteMode,
        ensemble: bool,
    ) -> Result<Self> {
        let params = params_of(&layout)?;
        let encoder = Encoder::new(
            Grid::regular(&layout.lat, &layout.lon)?,
            &layout.init_time,
            product_of(&layout, ensemble)?,
        )?;
        let tmp = tmp_name(path);
        let record = progress_name(path);
        let partial = tmp.is_file() && record.is_file();
        let file = crate::output::netcdf::open_locked(path, &tmp)?;
        // From here on this process owns the temporary file and the record.
        let fail = |e: Error| {
            if !partial {
                let _ = std::fs::remove_file(&tmp);
            }
            e
        };
        refuse_discarding(path, partial, mode).map_err(fail)?;
        let ident = identity(&layout, run);
        let (n_m, n_s) = (layout.members.len(), layout.lead_hours.len());
        let mut w = GribWriter {
            path: path.to_path_buf(),
            tmp: tmp.clone(),
            file: Some(file),
            encoder,
            params,
            ensemble,
            progress: Progress {
                path: record.clone(),
                identity: ident.clone(),
                history: layout.history.clone(),
                completed: vec![vec![false; n_s]; n_m],
            },
            ranges: vec![vec![Vec::new(); n_s]; n_m],
            end: 0,
            last: None,
            keep_on_drop: false,
            resumed: None,
            layout,
        };
        if mode.resume && partial {
            // A refused resume leaves the partial file as it was.
            w.keep_on_drop = true;
            let (progress, _) = Progress::load(&record, ident, &w.layout)?;
            w.resumed = Some(progress.count_completed());
            w.progress = progress;
            w.walk()?;
            w.keep_on_drop = w.progress.any_completed();
            return Ok(w);
        }
        match std::fs::remove_file(&record) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(fail(Error::io(&record, e)));
            }
            _ => {}
        }
        if let Some(f) = &w.file {
            f.set_len(0).map_err(|e| fail(Error::io(&tmp, e)))?;
        }
        w.progress.save().map_err(fail)?;
        Ok(w)
    }

    /// Finds the messages of the recorded steps in the temporary file, checking each one's
    /// framing, and cuts off what follows them (the step in flight when a run stopped).
    fn walk(&mut self) -> Result<()> {
        let per_step = messages_per_step(&self.layout);
        let tmp = self.tmp.clone();
        let file = self.file.as_mut().ok_or_else(|| closed(&tmp))?;
        let len = file.metadata().map_err(|e| Error::io(&tmp, e))?.len();
        let bad = |at: u64, detail: String| Error::Format {
            path: tmp.clone(),
            what: "partial GRIB2 forecast".into(),
            detail: format!(
                "byte {at}: {detail}; the file does not match its progress record: use \
                 WriteMode::overwrite to start over"
            ),
        };
        let mut at = 0u64;
        for (m, steps) in self.progress.completed.iter().enumerate() {
            for (s, _) in steps.iter().enumerate().filter(|(_, &c)| c) {
                for _ in 0..per_step {
                    if at + 16 > len {
                        return Err(bad(at, "the file ends before a recorded message".into()));
                    }
                    let mut head = [0u8; 16];
                    file.seek(SeekFrom::Start(at))
                        .and_then(|_| file.read_exact(&mut head))
                        .map_err(|e| Error::io(&tmp, e))?;
                    let total = u64::from_be_bytes(head[8..16].try_into().unwrap_or([0; 8]));
                    if &head[..4] != b"GRIB" || head[7] != 2 {
                        return Err(bad(at, "no GRIB2 message starts here".into()));
                    }
                    if total < 20 || total > len - at {
                        return Err(bad(
                            at,
                            format!("a message of {total} bytes does not fit the file"),
                        ));
                    }
                    let mut tail = [0u8; 4];
                    file.seek(SeekFrom::Start(at + total - 4))
                        .and_then(|_| file.read_exact(&mut tail))
                        .map_err(|e| Error::io(&tmp, e))?;
                    if &tail != b"7777" {
                        return Err(bad(at, "the message does not end in `7777`".into()));
                    }
                    self.ranges[m][s].push((at, at + total));
                    at += total;
                }
                self.last = Some((m, s));
            }
        }
        file.set_len(at).map_err(|e| Error::io(&tmp, e))?;
        self.end = at;
        Ok(())
    }

    /// When the file continues an earlier run's: how many (member, step) pairs were complete.
    pub fn resumed(&self) -> Option<usize> {
        self.resumed
    }

    /// Whether (member index, step) is recorded as complete.
    pub fn step_complete(&self, member: usize, step: usize) -> bool {
        self.progress
            .completed
            .get(member)
            .and_then(|m| m.get(step))
            .copied()
            .unwrap_or(false)
    }

    /// The layout the file is written with.
    pub fn layout(&self) -> &ForecastLayout {
        &self.layout
    }

    /// Appends the messages of (member index, step): `fields` are the layout's variables in
    /// order (`[level,] lat, lon`); then syncs the file and records the step as complete.
    /// Steps must come in increasing (member, step) order.
    pub fn write_step(&mut self, member: usize, step: usize, fields: &[Field]) -> Result<()> {
        let (n_m, n_s) = (self.layout.members.len(), self.layout.lead_hours.len());
        if member >= n_m || step >= n_s {
            return Err(Error::Invalid(format!(
                "member {member}, step {step} is outside the forecast's {n_m} members and {n_s} \
                 steps"
            )));
        }
        if self.last.is_some_and(|l| l >= (member, step)) {
            return Err(Error::Invalid(format!(
                "{}: GRIB2 steps are written in order of member and step; member {member}, step \
                 {step} comes after {:?}",
                self.path.display(),
                self.last
            )));
        }
        if fields.len() != self.params.len() {
            return Err(Error::Shape {
                what: format!("forecast step (member {member}, step {step}) variables"),
                expected: vec![self.params.len()],
                found: vec![fields.len()],
            });
        }
        let points = self.encoder.grid().points();
        let lead = self.layout.lead_hours[step];
        let number = if self.ensemble {
            (self.layout.members[member] + 1) as u8
        } else {
            0
        };
        let mut bytes = Vec::new();
        let mut lengths = Vec::new();
        for (p, f) in self.params.iter().zip(fields) {
            let levels: Vec<Option<i32>> = if p.isobaric() {
                self.layout.levels.iter().map(|&l| Some(l)).collect()
            } else {
                vec![None]
            };
            if f.data.len() != levels.len() * points {
                return Err(Error::Shape {
                    what: format!("forecast field `{}` (member {member}, step {step})", p.name),
                    expected: vec![levels.len() * points],
                    found: vec![f.data.len()],
                });
            }
            for (k, level_hpa) in levels.into_iter().enumerate() {
                let id = FieldId {
                    param: p,
                    level_hpa,
                    lead_hours: lead,
                    number,
                };
                let msg = self
                    .encoder
                    .message(id, &f.data[k * points..(k + 1) * points])?;
                lengths.push(msg.len() as u64);
                bytes.extend(msg);
            }
        }
        let tmp = self.tmp.clone();
        let file = self.file.as_mut().ok_or_else(|| closed(&tmp))?;
        let io = |e| Error::io(&tmp, e);
        file.seek(SeekFrom::Start(self.end)).map_err(io)?;
        file.write_all(&bytes).map_err(io)?;
        file.sync_data().map_err(io)?;
        let mut at = self.end;
        self.ranges[member][step] = lengths
            .iter()
            .map(|n| {
                at += n;
                (at - n, at)
            })
            .collect();
        self.end = at;
        self.last = Some((member, step));
        self.progress.completed[member][step] = true;
        self.progress.save()?;
        self.keep_on_drop = true;
        Ok(())
    }

    /// Reads back a complete step: each variable's values (`[level,] lat, lon`), decoded.
    pub fn read_step(&self, member: usize, step: usize) -> Result<Vec<Vec<f32>>> {
        let ranges = self
            .ranges
            .get(member)
            .and_then(|m| m.get(step))
            .filter(|r| !r.is_empty())
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "{}: member {member}, step {step} is not written",
                    self.tmp.display()
                ))
            })?;
        let mut file = self.file.as_ref().ok_or_else(|| closed(&self.tmp))?;
        let io = |e| Error::io(&self.tmp, e);
        let mut ranges = ranges.iter();
        let mut out = Vec::with_capacity(self.params.len());
        for (p, v) in self.params.iter().zip(&self.layout.variables) {
            let n = if v.levelled {
                self.layout.levels.len()
            } else {
                1
            };
            let mut data = Vec::with_capacity(n * self.encoder.grid().points());
            for _ in 0..n {
                let &(a, b) = ranges.next().ok_or_else(|| closed(&self.tmp))?;
                let mut bytes = vec![0u8; (b - a) as usize];
                file.seek(SeekFrom::Start(a)).map_err(io)?;
                file.read_exact(&mut bytes).map_err(io)?;
                let values = decode(&bytes, p).map_err(|e| Error::Format {
                    path: self.tmp.clone(),
                    what: format!("member {member}, step {step}"),
                    detail: e.to_string(),
                })?;
                if values.len() != self.encoder.grid().points() {
                    return Err(Error::Shape {
                        what: format!("{}: `{}`", self.tmp.display(), p.name),
                        expected: vec![self.encoder.grid().points()],
                        found: vec![values.len()],
                    });
                }
                data.extend(values);
            }
            out.push(data);
        }
        Ok(out)
    }

    /// Syncs the file, gives it its final name and removes the progress record.
    pub fn finish(mut self) -> Result<()> {
        if let Some(f) = self.file.take() {
            f.sync_all().map_err(|e| Error::io(&self.tmp, e))?;
        }
        std::fs::rename(&self.tmp, &self.path).map_err(|e| Error::io(&self.path, e))?;
        match std::fs::remove_file(&self.progress.path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(Error::io(&self.progress.path, e))
            }
            _ => Ok(()),
        }
    }

    /// Gives up the unfinished file: its progress record and temporary file are removed while
    /// this writer still holds the lock.
    pub fn discard(mut self) {
        let _ = std::fs::remove_file(&self.progress.path);
        self.keep_on_drop = false;
    }
}

/// The error of a writer used after it was finished.
fn closed(tmp: &Path) -> Error {
    Error::Invalid(format!("{}: GRIB2 writer already finished", tmp.display()))
}

impl Drop for GribWriter {
    /// Unfinished with no step recorded, the file leaves nothing behind; with recorded steps,
    /// the temporary file and record stay for a resume.
    fn drop(&mut self) {
        if self.file.take().is_some() && !self.keep_on_drop {
            let _ = std::fs::remove_file(&self.progress.path);
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}
