//! Building a model-ready input dataset from ERA5 and other sources (`gencast prepare`).
//!
//! Each source file is read into [`Field`]s (one per gridded variable, in a fixed
//! (time, level, lat, lon) layout); names are mapped to the model's through the table in
//! `names.tsv`; then the fields the model needs are oriented, regridded, cut to the model's
//! levels and input frames, converted to its units, and written in the reference's example
//! layout by [`write_netcdf`] or [`write_zarr`]. Sources are NetCDF files, Zarr v2 stores and
//! GRIB 1/2 files (see the `netcdf`, `zarr` and `grib` modules).

pub mod convert;
pub(crate) mod field;
pub(crate) mod grib;
pub mod inventory;
pub(crate) mod merge;
pub(crate) mod netcdf;
pub mod tables;
pub(crate) mod units;
mod write;
mod write_zarr;
pub(crate) mod zarr;

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};

pub use convert::Regrid;
pub use field::Field;
pub use tables::{ModelSpec, NameRule};
pub use write::write_netcdf;
pub use write_zarr::write_zarr;

use super::checks::{LAND_SEA_MASK, LAND_THRESHOLD, SST};
use super::forcings::ProgressFeature;
use super::netcdf_time::format_datetime;
use super::solar_radiation::{toa_incident_solar_radiation, TISR};
use crate::variables::{is_atmospheric, is_static};
use crate::{Error, Result};
use tables::Conversion;

use crate::time::NS_PER_HOUR;

/// The kinds of source `prepare` reads, told apart by their content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// NetCDF (classic or NetCDF-4): CDS downloads, WeatherBench-2 exports, example files.
    NetCdf,
    /// A Zarr store (a directory with `.zmetadata` or `.zgroup`).
    Zarr,
    /// GRIB edition 1 or 2.
    Grib,
}

/// Tells a source's kind from its content (magic bytes, or a Zarr store's metadata files).
pub fn detect(path: &Path) -> Result<SourceKind> {
    if path.is_dir() {
        if path.join(".zmetadata").exists()
            || path.join(".zgroup").exists()
            || path.join("zarr.json").exists()
        {
            return Ok(SourceKind::Zarr);
        }
        return Err(Error::format(
            path,
            "source",
            "a directory, but not a Zarr store (no .zmetadata, .zgroup or zarr.json)",
        ));
    }
    let mut head = [0u8; 8];
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let n = file.read(&mut head).map_err(|e| Error::io(path, e))?;
    let head = &head[..n];
    if head.starts_with(b"CDF") || head.starts_with(b"\x89HDF") {
        Ok(SourceKind::NetCdf)
    } else if head.starts_with(b"GRIB") {
        Ok(SourceKind::Grib)
    } else {
        Err(Error::format(
            path,
            "source",
            "not NetCDF (`CDF` or HDF5 signature), GRIB (`GRIB`) or a Zarr store",
        ))
    }
}

/// Which variables and times of a source to read.
#[derive(Debug, Clone, Default)]
pub struct Wanted {
    /// Model variable names to read; empty means all.
    pub names: BTreeSet<String>,
    /// Valid times to read, first and last (inclusive); `None` means all. Stores that can read
    /// part of a time axis (Zarr) read only these; fields without time are read whole.
    pub window: Option<(i64, i64)>,
}

impl Wanted {
    /// Whether the source variable `source_name` holds a wanted model variable.
    pub fn wants(&self, source_name: &str) -> bool {
        self.names.is_empty() || self.names.contains(&tables::name_rule(source_name).model)
    }
}

/// A message or variable of a source that `prepare` does not use, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The file or store it is in.
    pub path: PathBuf,
    /// Its 0-based GRIB message index; `None` for sources without messages.
    pub message: Option<usize>,
    /// Its name in the source (a GRIB shortName, or its parameter keys when it has none).
    pub name: String,
    /// Why it is not used.
    pub reason: String,
}

/// What a source holds: the fields that feed model variables, and what was skipped.
#[derive(Debug, Clone, Default)]
pub struct SourceContents {
    /// The gridded fields read.
    pub fields: Vec<Field>,
    /// What was not read, each with its reason.
    pub skipped: Vec<Skipped>,
}

/// Reads every gridded variable of a source.
pub fn read_source(path: &Path) -> Result<Vec<Field>> {
    read_source_part(path, &Wanted::default())
}

/// Reads the `wanted` gridded variables of a source.
pub fn read_source_part(path: &Path, wanted: &Wanted) -> Result<Vec<Field>> {
    Ok(read_source_contents(path, wanted)?.fields)
}

/// Reads the `wanted` gridded variables of a source, with what it skipped and why.
pub fn read_source_contents(path: &Path, wanted: &Wanted) -> Result<SourceContents> {
    match detect(path)? {
        SourceKind::NetCdf => netcdf::read_contents(path),
        SourceKind::Zarr => zarr::read_contents(path, wanted),
        SourceKind::Grib => grib::read_fields(path, wanted),
    }
}

/// What `prepare` is asked to do.
#[derive(Debug, Clone)]
pub struct PrepareRequest {
    /// The model: task, grid, time step, precipitation variable.
    pub model: ModelSpec,
    /// The initialisation time (the last input frame), ns since 1970.
    pub init_time: i64,
    /// How a finer source grid is brought to the model's grid.
    pub regrid: Regrid,
    /// The ensemble member to take from sources that hold several; `None` refuses such sources.
    pub member: Option<i64>,
}

/// One variable of a prepared dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedVar {
    /// The model variable name.
    pub name: String,
    /// Whether it has a time dimension (statics do not).
    pub timed: bool,
    /// Whether it has a level dimension.
    pub leveled: bool,
    /// Whether it is a per-time (year progress) or per-time-and-longitude (day progress) forcing.
    pub forcing: Option<ProgressFeature>,
    /// Values, (time, level, lat, lon) row-major over the dimensions it has.
    pub data: Vec<f32>,
}

/// A dataset in the model's layout, ready to be written.
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    /// Latitudes, ascending from -90.
    pub lat: Vec<f32>,
    /// Longitudes, ascending from 0.
    pub lon: Vec<f32>,
    /// Pressure levels (hPa), ascending.
    pub levels: Vec<i32>,
    /// Valid times of the frames (ns since 1970), the last being the init time.
    pub datetimes: Vec<i64>,
    /// The variables, statics first.
    pub vars: Vec<PreparedVar>,
}

impl Prepared {
    /// The variable `name`, if present.
    pub fn var(&self, name: &str) -> Option<&PreparedVar> {
        self.vars.iter().find(|v| v.name == name)
    }
}

/// Builds the model's input dataset from the fields of all sources.
pub fn prepare(sources: &[PathBuf], request: &PrepareRequest) -> Result<Prepared> {
    let wanted = wanted(request)?;
    let mut fields = Vec::new();
    for path in sources {
        fields.extend(read_source_part(path, &wanted)?);
    }
    let missing = missing_variables(&fields, request);
    if !missing.is_empty() {
        refuse_missing_frames(sources, request, &missing)?;
    }
    prepare_fields(fields, sources, request)
}

/// The model variables `request` writes, statics first, in the task's order.
pub(crate) fn variables_to_write(request: &PrepareRequest) -> Vec<String> {
    let task = &request.model.task;
    let mut wanted: Vec<String> = Vec::new();
    for v in task.static_variables().into_iter().chain(
        task.target_variables
            .iter()
            .chain(&task.input_variables)
            .chain(&task.forcing_variables)
            .cloned(),
    ) {
        if !wanted.contains(&v) {
            wanted.push(v);
        }
    }
    wanted
}

/// The name the sources give the model variable `name` (`total_precipitation` for the model's
/// precipitation, `geopotential_at_surface` for a geopotential without levels).
fn source_model_name<'a>(name: &'a str, request: &PrepareRequest) -> &'a str {
    if name == request.model.precipitation {
        "total_precipitation"
    } else {
        name
    }
}

/// Whether `f` can give the model variable `name`.
fn gives(f: &Field, name: &str, request: &PrepareRequest) -> bool {
    let model = match f.model_name.as_str() {
        "geopotential" if f.levels.is_none() => "geopotential_at_surface",
        other => other,
    };
    model == source_model_name(name, request) && (!is_atmospheric(name) || f.levels.is_some())
}

/// The variables to be read from the sources that no field gives.
fn missing_variables(fields: &[Field], request: &PrepareRequest) -> Vec<String> {
    let tisr_from_source = fields.iter().any(|f| f.model_name == TISR);
    variables_to_write(request)
        .into_iter()
        .filter(|name| {
            ProgressFeature::from_name(name).is_none() && (name != TISR || tisr_from_source)
        })
        .filter(|name| !fields.iter().any(|f| gives(f, name, request)))
        .collect()
}

/// When the `missing` variables are in the sources at other times than the input frames,
/// refuses naming the frames that are not there and those that are.
fn refuse_missing_frames(
    sources: &[PathBuf],
    request: &PrepareRequest,
    missing: &[String],
) -> Result<()> {
    let names: BTreeSet<String> = missing
        .iter()
        .map(|m| source_model_name(m, request).to_string())
        .chain(
            missing
                .iter()
                .filter(|m| m.as_str() == "geopotential_at_surface")
                .map(|_| "geopotential".to_string()),
        )
        .collect();
    let all = Wanted {
        names,
        window: None,
    };
    let mut found: BTreeSet<i64> = BTreeSet::new();
    let mut any = false;
    for path in sources {
        for f in read_source_part(path, &all)? {
            if missing.iter().any(|m| gives(&f, m, request)) {
                any = true;
                found.extend(f.times.iter().flatten().copied());
            }
        }
    }
    if !any {
        return Ok(());
    }
    let needed: Vec<String> = frame_times(request)?
        .into_iter()
        .filter(|t| !found.contains(t))
        .map(format_datetime)
        .collect();
    let all: Vec<String> = found.iter().map(|&t| format_datetime(t)).collect();
    // A long list shows its first and last six.
    let shown = if all.len() > 12 {
        format!(
            "{}, … {} more …, {}",
            all[..6].join(", "),
            all.len() - 12,
            all[all.len() - 6..].join(", ")
        )
    } else {
        all.join(", ")
    };
    Err(Error::Invalid(format!(
        "no frame at {} for {} in the sources (frames found: {})",
        if needed.is_empty() {
            format_datetime(request.init_time)
        } else {
            needed.join(", ")
        },
        missing
            .iter()
            .map(|m| format!("`{m}`"))
            .collect::<Vec<_>>()
            .join(", "),
        shown
    )))
}

/// The valid times of the input frames, the last being the init time.
pub(crate) fn frame_times(request: &PrepareRequest) -> Result<Vec<i64>> {
    let n_frames = request.model.input_frames()?;
    let step = i64::from(request.model.step_hours) * NS_PER_HOUR;
    Ok((0..n_frames)
        .map(|k| request.init_time - (n_frames - 1 - k) as i64 * step)
        .collect())
}

/// The variables and the time window `request` needs: the input frames and the precipitation
/// accumulations ending at them.
fn wanted(request: &PrepareRequest) -> Result<Wanted> {
    let model = &request.model;
    let task = &model.task;
    let frames = model.input_frames()? as i64;
    let start = request.init_time
        - (frames - 1) * i64::from(model.step_hours) * NS_PER_HOUR
        - (i64::from(model.precipitation_hours()) - 1) * NS_PER_HOUR;
    let mut names: BTreeSet<String> = task
        .input_variables
        .iter()
        .chain(&task.target_variables)
        .chain(&task.forcing_variables)
        .cloned()
        .collect();
    // Surface geopotential may come as `geopotential` without levels; precipitation as any
    // accumulation.
    names.insert("geopotential".into());
    names.insert("total_precipitation".into());
    Ok(Wanted {
        names,
        window: Some((start, request.init_time)),
    })
}

/// [`prepare`] on fields already read.
pub fn prepare_fields(
    fields: Vec<Field>,
    sources: &[PathBuf],
    request: &PrepareRequest,
) -> Result<Prepared> {
    let model = &request.model;
    let task = &model.task;
    if request.init_time % NS_PER_HOUR != 0 {
        return Err(Error::Invalid(format!(
            "init time {} is not on a whole hour",
            format_datetime(request.init_time)
        )));
    }
    let frames = frame_times(request)?;
    let fields = merge::select_member(fields, request.member)?;

    // The variables to write, statics first, in the task's order.
    let wanted = variables_to_write(request);
    let precip = model.precipitation.clone();
    let levels: Vec<i32> = {
        let mut l: Vec<i32> = task.pressure_levels.iter().map(|&x| x as i32).collect();
        l.sort_unstable();
        l
    };
    let missing = missing_variables(&fields, request);
    if !missing.is_empty() {
        let mut found = Vec::new();
        for path in sources {
            let names: BTreeSet<&str> = fields
                .iter()
                .filter(|f| &f.path == path)
                .map(|f| f.source_name.as_str())
                .collect();
            found.push(format!(
                "{}: {}",
                path.display(),
                if names.is_empty() {
                    "no gridded variables".to_string()
                } else {
                    names.into_iter().collect::<Vec<_>>().join(", ")
                }
            ));
        }
        return Err(Error::Invalid(format!(
            "variable(s) {} found in none of the sources (see names.tsv for the names each \
             may have); found:\n  {}",
            missing
                .iter()
                .map(|m| format!("`{m}`"))
                .collect::<Vec<_>>()
                .join(", "),
            found.join("\n  ")
        )));
    }

    // Every field that gives a variable, oriented and in the model's units, merged into one
    // (refusing copies that disagree).
    // TOA solar radiation from a source if one has it, else computed for each frame.
    let tisr_from_source = fields.iter().any(|f| f.model_name == TISR);
    let mut pool: Vec<Option<Field>> = fields.into_iter().map(Some).collect();
    let mut chosen: Vec<(String, Field)> = Vec::new();
    for name in &wanted {
        if ProgressFeature::from_name(name).is_some() || (name == TISR && !tisr_from_source) {
            continue;
        }
        let mut candidates = Vec::new();
        for slot in &mut pool {
            if slot.as_ref().is_some_and(|f| gives(f, name, request)) {
                candidates.extend(slot.take());
            }
        }
        // Accumulations over different periods are different quantities: the model's own
        // period is taken when a source has it, else the first source's.
        if *name == precip {
            let own = Conversion::Accumulation(model.precipitation_hours());
            let keep = if candidates.iter().any(|f| f.conversion == own) {
                own
            } else {
                candidates[0].conversion
            };
            candidates.retain(|f| f.conversion == keep);
        }
        let unit_name = source_model_name(name, request);
        for f in &mut candidates {
            if f.model_name == "geopotential" && f.levels.is_none() {
                f.model_name = "geopotential_at_surface".into();
            }
            convert::orient_grid(f)?;
            if f.conversion == Conversion::Height {
                convert::height_to_geopotential(f)?;
            }
            units::to_model_units(f, unit_name)?;
            if is_static(name) && f.times.is_some() {
                // A static field with a time axis: the init time, else its first time.
                let t = f.times.as_ref().and_then(|ts| {
                    ts.iter()
                        .copied()
                        .find(|&t| t == request.init_time)
                        .or(ts.first().copied())
                });
                let slices = convert::at_time(f, t.unwrap_or_default(), "time")?;
                f.messages = f
                    .times
                    .as_ref()
                    .and_then(|ts| ts.iter().position(|&x| Some(x) == t))
                    .map(|i| {
                        let n = f.n_levels();
                        f.messages.iter().skip(i * n).take(n).copied().collect()
                    })
                    .unwrap_or_default();
                f.times = None;
                f.data = slices.concat();
            }
        }
        chosen.push((name.clone(), merge::merge(name, candidates)?));
    }

    // Require the sources to agree on the grid.
    if let Some((_, first)) = chosen.first() {
        for (_, f) in &chosen[1..] {
            if !convert::same_coords(&f.lat, &first.lat)
                || !convert::same_coords(&f.lon, &first.lon)
            {
                return Err(Error::Invalid(format!(
                    "the sources disagree on the grid: `{}` in {} has {}×{} points (lat step {}), \
                     `{}` in {} has {}×{} (lat step {})",
                    first.source_name,
                    first.path.display(),
                    first.lat.len(),
                    first.lon.len(),
                    first.lat.get(1).map_or(0.0, |x| x - first.lat[0]),
                    f.source_name,
                    f.path.display(),
                    f.lat.len(),
                    f.lon.len(),
                    f.lat.get(1).map_or(0.0, |x| x - f.lat[0]),
                )));
            }
        }
    }
    let (lat, lon) = match chosen.first() {
        Some((_, f)) if model.grid_step <= 0.0 => (f.lat.clone(), f.lon.clone()),
        _ => convert::model_grid(model.grid_step)?,
    };

    let mut vars = Vec::new();
    let mut sst_index = None;
    for (name, mut f) in chosen {
        // Cut times before regridding: only the frames needed are carried further.
        let leveled = is_atmospheric(&name);
        if leveled {
            convert::select_levels(&mut f, &levels)?;
        }
        let timed = !is_static(&name);
        let slices: Vec<Vec<f32>> = if name == precip {
            let Conversion::Accumulation(period) = f.conversion else {
                unreachable!("precipitation fields are accumulations by the name table")
            };
            convert::accumulate(&f, period, model.precipitation_hours(), &frames)?
        } else if timed {
            let mut s = Vec::new();
            for &t in &frames {
                s.extend(convert::at_time(&f, t, "frame")?);
            }
            s
        } else {
            (0..f.n_levels()).map(|l| f.slice(0, l).to_vec()).collect()
        };
        f.times = None;
        f.levels = None;
        f.data = slices.concat();
        convert::regrid(&mut f, &lat, &lon, request.regrid)?;
        if name == SST {
            sst_index = Some(vars.len());
        }
        vars.push(PreparedVar {
            name: name.clone(),
            timed,
            leveled,
            forcing: None,
            data: f.data,
        });
    }
    if let Some(i) = sst_index {
        if let Some(mask) = vars
            .iter()
            .find(|v| v.name == LAND_SEA_MASK)
            .map(|v| v.data.clone())
        {
            let n = mask.len();
            for slab in vars[i].data.chunks_mut(n) {
                convert::mask_sst_over_land(slab, &mask, LAND_THRESHOLD);
            }
        }
    }
    let lon32: Vec<f32> = lon.iter().map(|&x| x as f32).collect();
    let lat32: Vec<f32> = lat.iter().map(|&x| x as f32).collect();
    // GraphCast's example datasets (whose tasks have TOA solar radiation as a forcing) carry
    // no progress features: they are computed from `datetime`. GenCast's carry them.
    let progress_in_file = !task.forcing_variables.iter().any(|v| v == TISR);
    for name in &wanted {
        if name == TISR && !tisr_from_source {
            let data = frames
                .iter()
                .flat_map(|&t| toa_incident_solar_radiation(t, &lat32, &lon32))
                .collect();
            vars.push(PreparedVar {
                name: name.clone(),
                timed: true,
                leveled: false,
                forcing: None,
                data,
            });
        }
    }
    for name in wanted.iter().filter(|_| progress_in_file) {
        if let Some(feature) = ProgressFeature::from_name(name) {
            let data = frames
                .iter()
                .flat_map(|&t| feature.values(t, &lon32))
                .collect();
            vars.push(PreparedVar {
                name: name.clone(),
                timed: true,
                leveled: false,
                forcing: Some(feature),
                data,
            });
        }
    }
    Ok(Prepared {
        lat: lat32,
        lon: lon32,
        levels,
        datetimes: frames,
        vars,
    })
}
