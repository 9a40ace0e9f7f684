//! One forecast step's data: from a dataset and statistics to the denoiser's stacked grid
//! features, and from normalised network outputs back to physical fields (pipeline spec §0, §3,
//! §4, §8; model spec §6).
//!
//! [`PreparedStep`] keeps the physical input frames (NaNs as in the data) and the valid times;
//! it NaN-cleans sea surface temperature with `min_by_level`, normalises inputs and forcings,
//! computes the progress features from the valid times, and stacks everything into
//! `[Ng, Cin]` grid features whose target columns are left zero. [`PreparedStep::to_physical`]
//! inverts the target normalisation (residual variables relative to the last input frame) and
//! puts NaNs back where any input frame of sea surface temperature was NaN;
//! [`PreparedStep::advance`] makes a prediction the newest input frame for the next step.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::dataset::{Dataset, BATCH_DIM, TIME_DIM};
use super::forcings::ProgressFeature;
use super::normalization::{fill_nan, level_norms, nan_mask_any, LevelNorm};
use super::stacking::{is_atmospheric, is_static, ChannelBlock, Role, StackLayout, TIMESTEP_HOURS};
use super::stats::StatsSet;
use rayon::prelude::*;

use crate::checkpoint::TaskConfig;
use crate::{Error, Result};

/// The variable whose NaNs are filled before normalisation and put back after prediction.
pub const NAN_CLEANED_VAR: &str = "sea_surface_temperature";

/// Nanoseconds per hour.
const NS_PER_HOUR: i64 = 3_600_000_000_000;

/// A physical field of one variable at one time: `data` is `[level][lat][lon]` (surface
/// variables have no levels and `n_lat · n_lon` values).
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// Variable name.
    pub name: String,
    /// Pressure levels in hPa (empty for surface variables).
    pub levels: Vec<i32>,
    /// Values, level-major then latitude then longitude.
    pub data: Vec<f32>,
}

/// How one output channel maps back to physical units.
#[derive(Debug, Clone, Copy, PartialEq)]
struct OutputNorm {
    /// `x · scale + location` (location absent for residuals).
    norm: LevelNorm,
    /// Whether the last input frame is added (the target is also an input).
    residual: bool,
}

/// The data of one forecast step, ready for the denoiser.
#[derive(Debug, Clone)]
pub struct PreparedStep {
    layout: StackLayout,
    path: PathBuf,
    n_grid: usize,
    lon: Vec<f32>,
    lat: Vec<f32>,
    /// Normalisation of each input/forcing block, indexed like `layout.blocks()`, per level.
    block_norms: Vec<Vec<LevelNorm>>,
    /// Physical frames of the time-dependent input variables read from data:
    /// `[frame][level][grid]`, oldest frame first, NaNs kept.
    frames: BTreeMap<String, Vec<f32>>,
    /// Physical static fields `[grid]`.
    statics: BTreeMap<String, Vec<f32>>,
    input_datetimes: Vec<i64>,
    target_datetime: i64,
    sst_fill: Option<f32>,
    output_norms: Vec<OutputNorm>,
    grid_features: Vec<f32>,
    last_input: Vec<f32>,
    sst_nan_mask: Vec<bool>,
    warnings: Vec<String>,
}

fn data_err(path: &std::path::Path, variable: &str, detail: impl Into<String>) -> Error {
    Error::Data {
        path: path.to_path_buf(),
        variable: variable.to_string(),
        detail: detail.into(),
    }
}

/// How an input variable is obtained.
enum Source {
    Static,
    TimeDependent,
    Progress(ProgressFeature),
}

fn input_source(name: &str) -> Source {
    if let Some(p) = ProgressFeature::from_name(name) {
        Source::Progress(p)
    } else if is_static(name) {
        Source::Static
    } else {
        Source::TimeDependent
    }
}

/// Grid rows handled by one parallel task when stacking.
const ROWS_PER_TASK: usize = 256;

/// Where the values of one stacked column come from.
#[derive(Debug, Clone)]
enum ColumnSource<'a> {
    /// Left zero (target columns).
    Zero,
    /// The same normalised value at every node.
    Const(f32),
    /// One normalised value per longitude.
    PerLon(Vec<f32>),
    /// A physical field over the grid, NaN-filled then normalised.
    Grid {
        data: &'a [f32],
        fill: Option<f32>,
        /// `(location, 1/scale)` of [`LevelNorm::affine`].
        affine: (f32, f32),
    },
}

impl ColumnSource<'_> {
    /// The column's value at grid node `g`.
    fn value(&self, g: usize, n_lon: usize) -> f32 {
        match self {
            ColumnSource::Zero => 0.0,
            ColumnSource::Const(v) => *v,
            ColumnSource::PerLon(v) => v.get(g % n_lon).copied().unwrap_or(0.0),
            ColumnSource::Grid { data, fill, affine } => {
                let mut x = data.get(g).copied().unwrap_or(0.0);
                if let Some(f) = fill {
                    if x.is_nan() {
                        x = *f;
                    }
                }
                (x - affine.0) * affine.1
            }
        }
    }
}

impl PreparedStep {
    /// Prepares the step whose input frames are `first_input_frame ..
    /// first_input_frame + layout.n_input_frames()` of `ds`; the target valid time is the last
    /// input time plus the model time step. Every problem with the dataset (missing variables,
    /// wrong dims or levels, too few frames, uneven spacing) or the statistics is reported
    /// before anything is computed.
    pub fn new(
        ds: &Dataset,
        stats: &StatsSet,
        layout: &StackLayout,
        first_input_frame: usize,
    ) -> Result<PreparedStep> {
        let path = ds.path().to_path_buf();
        let n_frames = layout.n_input_frames();
        let (n_lat, n_lon) = (ds.lat().len(), ds.lon().len());
        let n_grid = n_lat * n_lon;
        let inputs: Vec<&ChannelBlock> = layout
            .blocks()
            .iter()
            .filter(|b| b.role == Role::Input)
            .collect();

        // Variables that must come from the file, all checked before any error is raised.
        let missing: Vec<&str> = inputs
            .iter()
            .filter(|b| !matches!(input_source(&b.name), Source::Progress(_)))
            .map(|b| b.name.as_str())
            .filter(|n| !ds.has(n))
            .collect();
        if !missing.is_empty() {
            return Err(Error::Missing {
                path,
                what: if missing.len() == 1 {
                    "variable"
                } else {
                    "variables"
                },
                key: missing.join("`, `"),
            });
        }
        for b in layout.blocks() {
            if b.role == Role::Forcing && ProgressFeature::from_name(&b.name).is_none() {
                return Err(Error::Config {
                    key: "forcing_variables".into(),
                    detail: format!(
                        "`{}` is not supported: only the year/day progress features are computed",
                        b.name
                    ),
                });
            }
        }

        // Levels, selected by value.
        let levels = layout.levels();
        let missing_levels: Vec<i32> = levels
            .iter()
            .copied()
            .filter(|&l| ds.level_index(l).is_none())
            .collect();
        let needs_levels = inputs.iter().any(|b| is_atmospheric(&b.name));
        if needs_levels && !missing_levels.is_empty() {
            return Err(data_err(
                &path,
                "level",
                format!(
                    "pressure level(s) {missing_levels:?} hPa required by the task are absent; \
                     the file has {:?}",
                    ds.level()
                ),
            ));
        }

        // Dims of every variable read from the file.
        for b in &inputs {
            let expected: &[&str] = match input_source(&b.name) {
                Source::Progress(_) => continue,
                Source::Static => &["lat", "lon"],
                Source::TimeDependent if is_atmospheric(&b.name) => {
                    &[TIME_DIM, "level", "lat", "lon"]
                }
                Source::TimeDependent => &[TIME_DIM, "lat", "lon"],
            };
            let info = ds.variable(&b.name).ok_or_else(|| Error::Missing {
                path: path.clone(),
                what: "variable",
                key: b.name.clone(),
            })?;
            let dims: Vec<&str> = info
                .dims
                .iter()
                .map(String::as_str)
                .filter(|d| *d != BATCH_DIM)
                .collect();
            if dims != expected {
                return Err(data_err(
                    &path,
                    &b.name,
                    format!("expected dims {expected:?} (plus optional batch), found {dims:?}"),
                ));
            }
        }

        // Frames and valid times.
        let datetimes = ds.datetime();
        if ds.num_frames() < first_input_frame + n_frames || datetimes.len() < ds.num_frames() {
            return Err(data_err(
                &path,
                TIME_DIM,
                format!(
                    "{n_frames} input frames starting at frame {first_input_frame} are needed, \
                     the file has {} frame(s) with {} valid time(s) (`datetime`)",
                    ds.num_frames(),
                    datetimes.len()
                ),
            ));
        }
        let input_datetimes = datetimes[first_input_frame..first_input_frame + n_frames].to_vec();
        let step_ns = TIMESTEP_HOURS * NS_PER_HOUR;
        if let Some(w) = input_datetimes.windows(2).find(|w| w[1] - w[0] != step_ns) {
            return Err(data_err(
                &path,
                "datetime",
                format!(
                    "input frames must be {TIMESTEP_HOURS} h apart, found {} h",
                    (w[1] - w[0]) as f64 / NS_PER_HOUR as f64
                ),
            ));
        }
        let target_datetime = input_datetimes[n_frames - 1] + step_ns;

        // Normalisation constants (errors name the statistics file and variable).
        let mut warnings = Vec::new();
        let mut block_norms = Vec::with_capacity(layout.blocks().len());
        for b in layout.blocks() {
            if b.role == Role::Target {
                block_norms.push(Vec::new());
                continue;
            }
            for (s, what) in [
                (&stats.mean_by_level, "location"),
                (&stats.stddev_by_level, "scale"),
            ] {
                if !s.contains(&b.name) {
                    warnings.push(format!(
                        "{}: no normalisation {what} for `{}`; left out",
                        s.path().display(),
                        b.name
                    ));
                }
            }
            block_norms.push(level_norms(
                Some(&stats.mean_by_level),
                &stats.stddev_by_level,
                &b.name,
                &b.levels,
            )?);
        }
        let mut output_norms = Vec::with_capacity(layout.cout());
        for o in layout.outputs() {
            let residual = inputs.iter().any(|b| b.name == o.name);
            let (loc, scale) = if residual {
                (None, &stats.diffs_stddev_by_level)
            } else {
                (Some(&stats.mean_by_level), &stats.stddev_by_level)
            };
            if !scale.contains(&o.name) {
                warnings.push(format!(
                    "{}: no normalisation scale for target `{}`; left out",
                    scale.path().display(),
                    o.name
                ));
            }
            for norm in level_norms(loc, scale, &o.name, &o.levels)? {
                output_norms.push(OutputNorm { norm, residual });
            }
        }
        let sst_fill = if inputs.iter().any(|b| b.name == NAN_CLEANED_VAR) {
            Some(stats.min_by_level.scalar(NAN_CLEANED_VAR)? as f32)
        } else {
            None
        };

        // Read the data.
        let mut frames = BTreeMap::new();
        let mut statics = BTreeMap::new();
        for b in &inputs {
            match input_source(&b.name) {
                Source::Progress(_) => {}
                Source::Static => {
                    let a = ds.read(&b.name, None)?;
                    check_len(&path, &b.name, a.data.len(), n_grid)?;
                    statics.insert(b.name.clone(), a.data);
                }
                Source::TimeDependent => {
                    let a = ds.read(
                        &b.name,
                        Some(first_input_frame..first_input_frame + n_frames),
                    )?;
                    let data = if b.levels.is_empty() {
                        check_len(&path, &b.name, a.data.len(), n_frames * n_grid)?;
                        a.data
                    } else {
                        select_levels(ds, &b.name, &a.data, &b.levels, n_frames, n_grid)?
                    };
                    frames.insert(b.name.clone(), data);
                }
            }
        }

        let mut step = PreparedStep {
            layout: layout.clone(),
            path,
            n_grid,
            lon: ds.lon().to_vec(),
            lat: ds.lat().to_vec(),
            block_norms,
            frames,
            statics,
            input_datetimes,
            target_datetime,
            sst_fill,
            output_norms,
            grid_features: Vec::new(),
            last_input: Vec::new(),
            sst_nan_mask: Vec::new(),
            warnings,
        };
        step.rebuild();
        Ok(step)
    }

    /// [`PreparedStep::new`] with the layout of `task` at its own pressure levels.
    pub fn from_task(
        ds: &Dataset,
        stats: &StatsSet,
        task: &TaskConfig,
        first_input_frame: usize,
    ) -> Result<PreparedStep> {
        Self::new(ds, stats, &StackLayout::for_task(task)?, first_input_frame)
    }

    /// The channel layout.
    pub fn layout(&self) -> &StackLayout {
        &self.layout
    }

    /// Number of grid nodes (`n_lat · n_lon`).
    pub fn n_grid(&self) -> usize {
        self.n_grid
    }

    /// Latitudes of the grid (degrees, ascending).
    pub fn lat(&self) -> &[f32] {
        &self.lat
    }

    /// Longitudes of the grid (degrees).
    pub fn lon(&self) -> &[f32] {
        &self.lon
    }

    /// Stacked grid features `[Ng, Cin]`: normalised inputs and forcings, target columns zero.
    pub fn grid_features(&self) -> &[f32] {
        &self.grid_features
    }

    /// For each output channel, the grid-feature column that receives `c_in · x`.
    pub fn target_columns(&self) -> &[usize] {
        self.layout.target_columns()
    }

    /// The last input frame in physical units (NaN-cleaned), `[Ng, Cout]`, for the residual
    /// output channels; zero for absolute ones.
    pub fn last_input(&self) -> &[f32] {
        &self.last_input
    }

    /// `[Ng]`: where any input frame of sea surface temperature is NaN (all false if it is not
    /// an input).
    pub fn sst_nan_mask(&self) -> &[bool] {
        &self.sst_nan_mask
    }

    /// Valid times of the input frames (ns since the epoch), oldest first.
    pub fn input_datetimes(&self) -> &[i64] {
        &self.input_datetimes
    }

    /// Valid time of the target (ns since the epoch).
    pub fn target_datetime(&self) -> i64 {
        self.target_datetime
    }

    /// Notes on normalisation constants absent from the statistics (the reference skips them
    /// with a warning).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Physical frame `t` (0 = oldest) of a time-dependent input variable read from data,
    /// `[level][grid]`, NaNs as given.
    pub fn input_frame(&self, name: &str, t: usize) -> Option<&[f32]> {
        let data = self.frames.get(name)?;
        let per_frame = data.len() / self.layout.n_input_frames();
        data.get(t * per_frame..(t + 1) * per_frame)
    }

    /// Normalisation of each stacked block's level `l` (inputs and forcings).
    fn norm(&self, block: usize, l: usize) -> LevelNorm {
        self.block_norms
            .get(block)
            .and_then(|v| v.get(l))
            .copied()
            .unwrap_or(LevelNorm::IDENTITY)
    }

    /// Recomputes the grid features, last-input buffer and NaN mask from the current state.
    fn rebuild(&mut self) {
        let cin = self.layout.cin();
        let cout = self.layout.cout();
        let ng = self.n_grid;
        let n_lon = self.lon.len().max(1);

        // What each stacked column holds; rows are then filled in parallel chunks.
        let mut sources = vec![ColumnSource::Zero; cin];
        for (bi, b) in self.layout.blocks().iter().enumerate() {
            if b.role == Role::Target {
                continue;
            }
            for t in 0..b.n_times() {
                let time = match b.role {
                    Role::Forcing => self.target_datetime,
                    _ => self
                        .input_datetimes
                        .get(t)
                        .copied()
                        .unwrap_or(self.target_datetime),
                };
                for l in 0..b.n_levels() {
                    let norm = self.norm(bi, l);
                    let src = match input_source(&b.name) {
                        Source::Progress(p) => {
                            let v: Vec<f32> = p
                                .values(time, &self.lon)
                                .into_iter()
                                .map(|x| norm.normalize(x))
                                .collect();
                            if p.per_longitude() {
                                ColumnSource::PerLon(v)
                            } else {
                                ColumnSource::Const(v.first().copied().unwrap_or(0.0))
                            }
                        }
                        Source::Static => match self.statics.get(&b.name) {
                            Some(s) => ColumnSource::Grid {
                                data: s.as_slice(),
                                fill: None,
                                affine: norm.affine(),
                            },
                            None => ColumnSource::Zero,
                        },
                        Source::TimeDependent => match self.frames.get(&b.name) {
                            Some(f) => {
                                let start = (t * b.n_levels() + l) * ng;
                                ColumnSource::Grid {
                                    data: &f[start..start + ng],
                                    fill: if b.name == NAN_CLEANED_VAR {
                                        self.sst_fill
                                    } else {
                                        None
                                    },
                                    affine: norm.affine(),
                                }
                            }
                            None => ColumnSource::Zero,
                        },
                    };
                    sources[b.column(t, l)] = src;
                }
            }
        }
        let mut feats = vec![0.0f32; ng * cin];
        if cin > 0 {
            feats
                .par_chunks_mut(cin * ROWS_PER_TASK)
                .enumerate()
                .for_each(|(chunk, rows)| {
                    for (r, row) in rows.chunks_exact_mut(cin).enumerate() {
                        let g = chunk * ROWS_PER_TASK + r;
                        for (dst, src) in row.iter_mut().zip(&sources) {
                            *dst = src.value(g, n_lon);
                        }
                    }
                });
        }
        self.grid_features = feats;
        let mut column = vec![0.0f32; ng];

        let n_frames = self.layout.n_input_frames();
        let mut last = vec![0.0f32; ng * cout];
        for o in self.layout.outputs() {
            let Some(f) = self.frames.get(&o.name) else {
                continue;
            };
            for l in 0..o.len() {
                let start = ((n_frames - 1) * o.len() + l) * ng;
                column.copy_from_slice(&f[start..start + ng]);
                if o.name == NAN_CLEANED_VAR {
                    if let Some(fill) = self.sst_fill {
                        fill_nan(&mut column, fill);
                    }
                }
                for (g, &v) in column.iter().enumerate() {
                    last[g * cout + o.offset + l] = v;
                }
            }
        }
        self.last_input = last;

        self.sst_nan_mask = match self.frames.get(NAN_CLEANED_VAR) {
            Some(f) => {
                let frames: Vec<&[f32]> = f.chunks(ng.max(1)).collect();
                nan_mask_any(&frames)
            }
            None => vec![false; ng],
        };
    }

    /// Converts normalised outputs `x` (`[Ng, Cout]`, node-major) to physical fields, one per
    /// target variable in output order: residual variables `x · diffs_stddev + last input`,
    /// others `x · stddev + mean`; sea surface temperature is NaN where any input frame was.
    pub fn to_physical(&self, x: &[f32]) -> Result<Vec<Field>> {
        let (ng, cout) = (self.n_grid, self.layout.cout());
        if x.len() != ng * cout {
            return Err(Error::Shape {
                what: "normalised prediction [grid, channel]".into(),
                expected: vec![ng, cout],
                found: vec![x.len()],
            });
        }
        let mut out = Vec::with_capacity(self.layout.outputs().len());
        for o in self.layout.outputs() {
            let mut data = vec![0.0f32; o.len() * ng];
            for l in 0..o.len() {
                let c = o.offset + l;
                let on = self.output_norms[c];
                let dst = &mut data[l * ng..(l + 1) * ng];
                for (g, d) in dst.iter_mut().enumerate() {
                    let mut v = on.norm.unnormalize(x[g * cout + c]);
                    if on.residual {
                        v += self.last_input[g * cout + c];
                    }
                    *d = v;
                }
                if o.name == NAN_CLEANED_VAR {
                    for (d, &m) in dst.iter_mut().zip(&self.sst_nan_mask) {
                        if m {
                            *d = f32::NAN;
                        }
                    }
                }
            }
            out.push(Field {
                name: o.name.clone(),
                levels: o.levels.clone(),
                data,
            });
        }
        Ok(out)
    }

    /// The normalised targets `[Ng, Cout]` the network is trained to predict, from physical
    /// target fields: residual variables `(y − last input) · (1/diffs_stddev)`, others
    /// `(y − mean) · (1/stddev)`; NaNs of sea surface temperature are filled first.
    pub fn normalize_targets(&self, targets: &[Field]) -> Result<Vec<f32>> {
        let (ng, cout) = (self.n_grid, self.layout.cout());
        let mut out = vec![0.0f32; ng * cout];
        for o in self.layout.outputs() {
            let f = find_field(targets, &o.name, &self.path)?;
            check_len(&self.path, &o.name, f.data.len(), o.len() * ng)?;
            for l in 0..o.len() {
                let c = o.offset + l;
                let on = self.output_norms[c];
                for g in 0..ng {
                    let mut y = f.data[l * ng + g];
                    if o.name == NAN_CLEANED_VAR && y.is_nan() {
                        y = self.sst_fill.unwrap_or(y);
                    }
                    if on.residual {
                        y -= self.last_input[g * cout + c];
                    }
                    out[g * cout + c] = on.norm.normalize(y);
                }
            }
        }
        Ok(out)
    }

    /// Reads the physical target fields at `frame` of `ds` (for evaluation and tests).
    pub fn read_targets(&self, ds: &Dataset, frame: usize) -> Result<Vec<Field>> {
        let mut missing = Vec::new();
        for o in self.layout.outputs() {
            if !ds.has(&o.name) {
                missing.push(o.name.as_str());
            }
        }
        if !missing.is_empty() {
            return Err(Error::Missing {
                path: ds.path().to_path_buf(),
                what: "target variables",
                key: missing.join("`, `"),
            });
        }
        let ng = self.n_grid;
        let mut out = Vec::new();
        for o in self.layout.outputs() {
            let a = ds.read(&o.name, Some(frame..frame + 1))?;
            let data = if o.levels.is_empty() {
                check_len(ds.path(), &o.name, a.data.len(), ng)?;
                a.data
            } else {
                select_levels(ds, &o.name, &a.data, &o.levels, 1, ng)?
            };
            out.push(Field {
                name: o.name.clone(),
                levels: o.levels.clone(),
                data,
            });
        }
        Ok(out)
    }

    /// Autoregressive update: the prediction (physical fields of the target variables, as from
    /// [`PreparedStep::to_physical`]) becomes the newest input frame, the oldest frame is
    /// dropped, and the forcings move on to the next target time (one time step later).
    pub fn advance(&mut self, prediction: &[Field]) -> Result<()> {
        let ng = self.n_grid;
        let n_frames = self.layout.n_input_frames();
        let mut missing = Vec::new();
        for name in self.frames.keys() {
            if !prediction.iter().any(|f| &f.name == name) {
                missing.push(name.as_str());
            }
        }
        if !missing.is_empty() {
            return Err(Error::Invalid(format!(
                "cannot feed the prediction back: input variable(s) `{}` are neither predicted \
                 nor forced",
                missing.join("`, `")
            )));
        }
        for (name, data) in self.frames.iter_mut() {
            let f = find_field(prediction, name, &self.path)?;
            let per_frame = data.len() / n_frames;
            if f.data.len() != per_frame || per_frame % ng.max(1) != 0 {
                return Err(Error::Shape {
                    what: format!("predicted field `{name}`"),
                    expected: vec![per_frame],
                    found: vec![f.data.len()],
                });
            }
            data.copy_within(per_frame.., 0);
            let start = (n_frames - 1) * per_frame;
            data[start..].copy_from_slice(&f.data);
        }
        self.input_datetimes.remove(0);
        self.input_datetimes.push(self.target_datetime);
        self.target_datetime += TIMESTEP_HOURS * NS_PER_HOUR;
        self.rebuild();
        Ok(())
    }
}

fn find_field<'a>(fields: &'a [Field], name: &str, path: &std::path::Path) -> Result<&'a Field> {
    fields
        .iter()
        .find(|f| f.name == name)
        .ok_or_else(|| Error::Missing {
            path: path.to_path_buf(),
            what: "field",
            key: name.to_string(),
        })
}

fn check_len(path: &std::path::Path, name: &str, found: usize, expected: usize) -> Result<()> {
    if found != expected {
        return Err(data_err(
            path,
            name,
            format!("expected {expected} values on the grid, found {found}"),
        ));
    }
    Ok(())
}

/// From `[time][file level][grid]` data, the requested levels (by value): `[time][level][grid]`.
fn select_levels(
    ds: &Dataset,
    name: &str,
    data: &[f32],
    levels: &[i32],
    n_times: usize,
    n_grid: usize,
) -> Result<Vec<f32>> {
    let n_file = ds.level().len();
    check_len(ds.path(), name, data.len(), n_times * n_file * n_grid)?;
    let mut idx = Vec::with_capacity(levels.len());
    for &l in levels {
        idx.push(ds.level_index(l).ok_or_else(|| {
            data_err(ds.path(), name, format!("level {l} hPa is not in the file"))
        })?);
    }
    let mut out = Vec::with_capacity(n_times * levels.len() * n_grid);
    for t in 0..n_times {
        for &i in &idx {
            let start = (t * n_file + i) * n_grid;
            out.extend_from_slice(&data[start..start + n_grid]);
        }
    }
    Ok(out)
}

/// First input frame of the reference's split (`extract_inputs_targets_forcings`): the time
/// axis is anchored at the end of the file, so with `num_target_steps` target frames the inputs
/// are the `n_input_frames` frames just before the last `num_target_steps` frames.
pub fn first_input_frame(
    num_frames: usize,
    n_input_frames: usize,
    num_target_steps: usize,
) -> Result<usize> {
    num_frames
        .checked_sub(n_input_frames + num_target_steps)
        .ok_or_else(|| {
            Error::Invalid(format!(
                "{num_target_steps} target step(s) after {n_input_frames} input frames need \
                 {} frames, the dataset has {num_frames}",
                n_input_frames + num_target_steps
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_is_anchored_at_the_end() {
        // Fixture README: 4 frames, training split (1 target) → inputs 1,2; evaluation
        // split (2 targets) → inputs 0,1.
        assert_eq!(first_input_frame(4, 2, 1).unwrap(), 1);
        assert_eq!(first_input_frame(4, 2, 2).unwrap(), 0);
        assert!(first_input_frame(4, 2, 3).is_err());
    }

    #[test]
    fn column_sources() {
        let data = [1.0f32, f32::NAN, 3.0];
        let norm = LevelNorm::from_f64(Some(1.0), Some(2.0));
        let src = ColumnSource::Grid {
            data: &data,
            fill: Some(5.0),
            affine: norm.affine(),
        };
        assert_eq!(src.value(0, 3), 0.0);
        assert_eq!(src.value(1, 3), 2.0);
        assert_eq!(src.value(2, 3), 1.0);
        let per_lon = ColumnSource::PerLon(vec![1.0, 2.0]);
        assert_eq!(per_lon.value(3, 2), 2.0);
        assert_eq!(ColumnSource::Const(4.0).value(9, 2), 4.0);
        assert_eq!(ColumnSource::Zero.value(0, 2), 0.0);
    }
}
