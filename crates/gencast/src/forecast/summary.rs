//! Ensemble statistics written instead of (or beside) the members: [`SummarySink`].
//!
//! Members arrive one after another (all steps of member 0, then member 1, …), but a quantile
//! needs every member of a step at once. Holding all members of all steps in memory would cost
//! the whole ensemble's size, so each finished step is spilled to a temporary file next to the
//! output (raw little-endian float32, one record per (member, step), see [`super::spill`]); when
//! the last member is
//! done, the statistics are computed step by step and variable by variable from the spilled
//! records, holding one variable of one step for every member at a time. Means, standard
//! deviations and quantiles are those of [`crate::output::stats`], the functions
//! `gencast stats` uses. A summary stopped before its end (an error, a cancelled run) cannot
//! be resumed: dropped unfinished, it removes its spill file and asks its output to discard
//! what it wrote ([`ForecastSink::discard_unfinished`]).

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::forecast::Field;
use crate::forecast::{ForecastLayout, OutputVariable};
use crate::output::stats::{ensemble_mean_std, ensemble_quantiles};
use crate::{Error, Result};

use super::sink::ForecastSink;
use super::spill::{remove_leftover, spill_path, Spill};

/// Delta degrees of freedom of the ensemble standard deviation (`gencast stats`' default: the
/// unbiased estimate over the members).
pub const SUMMARY_STD_DDOF: usize = 1;

/// One ensemble statistic.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Statistic {
    /// The ensemble mean.
    Mean,
    /// The ensemble standard deviation (ddof [`SUMMARY_STD_DDOF`]).
    Std,
    /// A quantile given as a percentage (0 to 100), numpy's default (linear) interpolation.
    Quantile(f64),
}

impl Statistic {
    /// Parses `mean`, `std` or `qP` (P a percentage, e.g. `q10`, `q2.5`, `q50`).
    pub fn parse(text: &str) -> Result<Statistic> {
        let t = text.trim();
        match t {
            "mean" => return Ok(Statistic::Mean),
            "std" => return Ok(Statistic::Std),
            _ => {}
        }
        t.strip_prefix('q')
            .and_then(|p| p.parse::<f64>().ok())
            .filter(|p| (0.0..=100.0).contains(p))
            .map(Statistic::Quantile)
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "EnsembleSummary `{text}`: expected mean, std, members or qP with P a \
                     percentage (e.g. q10, q90)"
                ))
            })
    }

    /// Its name in variable names and attributes: `mean`, `std`, `q10`, `q2.5`.
    pub fn name(&self) -> String {
        match self {
            Statistic::Mean => "mean".into(),
            Statistic::Std => "std".into(),
            Statistic::Quantile(p) => format!("q{p}"),
        }
    }
}

/// What a summary writes: statistics, and whether the members too.
#[derive(Clone, Debug, PartialEq)]
pub struct EnsembleSummary {
    /// The statistics, in the order given.
    pub statistics: Vec<Statistic>,
    /// Whether the members are written beside them.
    pub members: bool,
}

impl EnsembleSummary {
    /// Parses a list like `mean,std,q10,q90` (and `members` to keep the members).
    pub fn parse<S: AsRef<str>>(items: &[S]) -> Result<EnsembleSummary> {
        let mut out = EnsembleSummary {
            statistics: Vec::new(),
            members: false,
        };
        for item in items {
            let item = item.as_ref().trim();
            if item == "members" {
                out.members = true;
                continue;
            }
            let s = Statistic::parse(item)?;
            if out.statistics.iter().any(|x| x.name() == s.name()) {
                bail!("EnsembleSummary names `{item}` twice");
            }
            out.statistics.push(s);
        }
        if out.statistics.is_empty() {
            bail!("EnsembleSummary needs at least one statistic (mean, std, qP)");
        }
        Ok(out)
    }
}

/// Writes ensemble statistics (and, when asked, the members) into another sink.
///
/// The statistic `s` of variable `v` is the output variable `{s}__{v}` (e.g.
/// `mean__2m_temperature`, `q90__temperature`), without the member dimension and with an
/// `ensemble_statistic` attribute. A summary cannot be resumed: its statistics need every
/// member, so one dropped before [`ForecastSink::finish`] removes its spill file and calls
/// [`ForecastSink::discard_unfinished`] on its output.
pub struct SummarySink<S: ForecastSink> {
    /// The output; `None` only once taken by [`SummarySink::into_inner`].
    inner: Option<S>,
    summary: EnsembleSummary,
    spill_path: PathBuf,
    /// Whether a spill file a killed run left at `spill_path` is looked for and removed.
    reclaims: bool,
    spill: Option<Spill>,
    layout: Option<ForecastLayout>,
    /// Start (values) of each variable within a record, and the record length.
    offsets: Vec<usize>,
    record: usize,
    /// Whether the output began and has not yet finished.
    open: bool,
    notes: Vec<String>,
}

impl<S: ForecastSink> SummarySink<S> {
    /// Summarises into `inner`, spilling members to a temporary file (of a name unique to the
    /// process) in folder `spill_dir`.
    pub fn new(inner: S, summary: EnsembleSummary, spill_dir: impl Into<PathBuf>) -> Self {
        Self::with_spill(inner, summary, unique_spill_path(&spill_dir.into()), false)
    }

    /// Summarises into `inner`, the sink writing `output`, spilling members to
    /// [`super::spill::spill_path`]`(output)`; a spill file a killed run of the same output
    /// left there is removed when the summary begins (a file of that name gencast did not
    /// write, or one in use, is an error).
    pub fn for_output(inner: S, summary: EnsembleSummary, output: &Path) -> Self {
        Self::with_spill(inner, summary, spill_path(output), true)
    }

    fn with_spill(inner: S, summary: EnsembleSummary, spill_path: PathBuf, reclaims: bool) -> Self {
        SummarySink {
            inner: Some(inner),
            summary,
            spill_path,
            reclaims,
            spill: None,
            layout: None,
            offsets: Vec::new(),
            record: 0,
            open: false,
            notes: Vec::new(),
        }
    }

    /// The sink the summary went to.
    pub fn into_inner(mut self) -> S {
        self.open = false;
        self.inner
            .take()
            .expect("the inner sink is present until taken")
    }

    /// The output sink.
    fn inner(&mut self) -> &mut S {
        self.inner
            .as_mut()
            .expect("the inner sink is present until taken")
    }

    /// Byte position of (member, slot) in the spill file.
    fn position(&self, member: usize, slot: usize) -> u64 {
        let slots = self.layout.as_ref().map_or(0, |l| l.lead_hours.len());
        ((member * slots + slot) * self.record * 4) as u64
    }
}

impl<S: ForecastSink> Drop for SummarySink<S> {
    /// Stopped before its end, the summary cannot be continued: the spill file goes (with
    /// `Spill`) and the output discards what it holds.
    fn drop(&mut self) {
        self.spill = None;
        if self.open {
            if let Some(inner) = self.inner.as_mut() {
                inner.discard_unfinished();
            }
        }
    }
}

/// A spill file name in `dir`, unique within the machine.
fn unique_spill_path(dir: &Path) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    dir.join(format!(
        ".gencast-summary-{}-{n}.gencast-spill",
        std::process::id()
    ))
}

impl<S: ForecastSink> ForecastSink for SummarySink<S> {
    fn begin(&mut self, layout: &ForecastLayout, run: &Value) -> Result<()> {
        let grid = layout.lat.len() * layout.lon.len();
        self.offsets.clear();
        self.record = 0;
        for v in &layout.variables {
            self.offsets.push(self.record);
            self.record += grid * if v.levelled { layout.levels.len() } else { 1 };
        }
        let mut variables = if self.summary.members {
            layout.variables.clone()
        } else {
            Vec::new()
        };
        for v in &layout.variables {
            for s in &self.summary.statistics {
                variables.push(OutputVariable {
                    name: format!("{}__{}", s.name(), v.name),
                    levelled: v.levelled,
                    units: v.units.clone(),
                    statistic: Some(s.name()),
                });
            }
        }
        let mut out = layout.clone();
        out.variables = variables;
        let mut run = run.clone();
        if let Value::Object(m) = &mut run {
            let names: Vec<String> = self.summary.statistics.iter().map(|s| s.name()).collect();
            m.insert("ensemble_summary".into(), names.into());
        }
        if self.reclaims && remove_leftover(&self.spill_path)? {
            self.notes.push(format!(
                "removed the spill file {} a stopped run of this output left",
                self.spill_path.display()
            ));
        }
        self.spill = Some(Spill::create(self.spill_path.clone())?);
        self.layout = Some(layout.clone());
        self.inner().begin(&out, &run)?;
        self.open = true;
        Ok(())
    }

    fn write(&mut self, member: usize, slot: usize, fields: &[Field]) -> Result<()> {
        if self.summary.members {
            self.inner().write(member, slot, fields)?;
        }
        let pos = self.position(member, slot);
        let spill = self
            .spill
            .as_mut()
            .ok_or_else(|| Error::Invalid("the summary never began".into()))?;
        let mut bytes = Vec::with_capacity(self.record * 4);
        for f in fields {
            bytes.extend(f.data.iter().flat_map(|x| x.to_le_bytes()));
        }
        if bytes.len() != self.record * 4 {
            return Err(Error::Shape {
                what: format!("summary record (member {member}, step {slot})"),
                expected: vec![self.record],
                found: vec![bytes.len() / 4],
            });
        }
        spill.write_at(pos, &bytes)
    }

    fn finish(&mut self) -> Result<()> {
        let layout = self
            .layout
            .clone()
            .ok_or_else(|| Error::Invalid("the summary never began".into()))?;
        let members = layout.members.len();
        let n_stats = self.summary.statistics.len();
        let first_stat = if self.summary.members {
            layout.variables.len()
        } else {
            0
        };
        let quantiles: Vec<f64> = self
            .summary
            .statistics
            .iter()
            .filter_map(|s| match s {
                Statistic::Quantile(p) => Some(*p / 100.0),
                _ => None,
            })
            .collect();
        for slot in 0..layout.lead_hours.len() {
            for (v, &offset) in self.offsets.iter().enumerate() {
                let len = self.offsets.get(v + 1).copied().unwrap_or(self.record) - offset;
                let mut data: Vec<Vec<f32>> = Vec::with_capacity(members);
                for m in 0..members {
                    let pos = self.position(m, slot) + (offset * 4) as u64;
                    let spill = self
                        .spill
                        .as_mut()
                        .ok_or_else(|| Error::Invalid("the summary never began".into()))?;
                    let mut bytes = vec![0u8; len * 4];
                    spill.read_at(pos, &mut bytes)?;
                    data.push(
                        bytes
                            .chunks_exact(4)
                            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                            .collect(),
                    );
                }
                let refs: Vec<&[f32]> = data.iter().map(Vec::as_slice).collect();
                let (mut mean, mut std) = (vec![0f32; len], vec![0f32; len]);
                ensemble_mean_std(&refs, SUMMARY_STD_DDOF, &mut mean, &mut std)?;
                let mut qs = vec![0f32; quantiles.len() * len];
                if !quantiles.is_empty() {
                    ensemble_quantiles(&refs, &quantiles, &mut qs)?;
                }
                let mut k = 0;
                for (i, s) in self.summary.statistics.iter().enumerate() {
                    let values: &[f32] = match s {
                        Statistic::Mean => &mean,
                        Statistic::Std => &std,
                        Statistic::Quantile(_) => {
                            k += 1;
                            &qs[(k - 1) * len..k * len]
                        }
                    };
                    self.inner
                        .as_mut()
                        .ok_or_else(|| Error::Invalid("the summary's output was taken".into()))?
                        .write_summary(slot, first_stat + v * n_stats + i, values)?;
                }
            }
        }
        self.spill = None;
        self.inner().finish()?;
        self.open = false;
        Ok(())
    }

    fn wants_identity(&self) -> bool {
        self.inner.as_ref().is_some_and(|i| i.wants_identity())
    }

    fn notes(&mut self) -> Vec<String> {
        let mut notes = std::mem::take(&mut self.notes);
        notes.extend(self.inner().notes());
        notes
    }

    fn discard_unfinished(&mut self) {
        self.spill = None;
        if let Some(inner) = self.inner.as_mut() {
            inner.discard_unfinished();
        }
        self.open = false;
    }
}
