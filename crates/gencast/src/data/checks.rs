//! Input checks run before any computation: every input variable and frame the task needs is
//! present, the grid and pressure levels match, there are no NaNs except sea-surface temperature
//! over land, land cells of sea-surface temperature are NaN, and values lie in physical ranges.
//! Problems are collected into a [`CheckReport`] (a variable × frame table) instead of failing
//! at the first one. The rules themselves live in the `rules` module, shared with the dataset
//! reader and the step preparation.

mod ranges;
mod report;
pub(crate) mod rules;

pub use report::{CheckReport, CheckRow};

use super::dataset::{Array, Dataset, TIME_DIM};
use super::netcdf_time::format_datetime;
use super::sources::units::same_units;
use super::stacking::TIMESTEP_HOURS;
use crate::checkpoint::TaskConfig;
use crate::variables::{is_atmospheric, physical_range};
use crate::Result;
use rules::{Source, NS_PER_HOUR};

/// Number of input frames the model reads (the init time and 12 h before).
pub const NUM_INPUT_FRAMES: usize = 2;

/// Name of the variable that may be NaN over land (and must be, in operational inputs).
pub const SST: &str = "sea_surface_temperature";

/// Name of the land fraction variable; cells with a value of at least [`LAND_THRESHOLD`] are land.
pub const LAND_SEA_MASK: &str = "land_sea_mask";

/// Land fraction from which a cell counts as land (the reference's NaN cleaning convention:
/// ERA5 sea-surface temperature is undefined where land_sea_mask >= 0.5).
pub const LAND_THRESHOLD: f32 = 0.5;

/// Checks the inputs the task needs at frames `first_input_frame` and the next one (the init
/// time). Only I/O failures are errors; every problem of the data is a row of the report.
pub fn check_inputs(
    ds: &Dataset,
    task: &TaskConfig,
    first_input_frame: usize,
) -> Result<CheckReport> {
    check_inputs_every(ds, task, first_input_frame, TIMESTEP_HOURS)
}

/// [`check_inputs`] for a model whose frames are `step_hours` apart (12 for GenCast, 6 for
/// GraphCast; both read two input frames).
pub fn check_inputs_every(
    ds: &Dataset,
    task: &TaskConfig,
    first_input_frame: usize,
    step_hours: i64,
) -> Result<CheckReport> {
    let mut report = CheckReport::default();
    check_grid(ds, &mut report);
    let levels = check_levels(ds, task, &mut report);
    report.levels = levels.len();

    let available = check_frames(ds, first_input_frame, step_hours, &mut report);
    report.frames = available.len();
    let init = first_input_frame + NUM_INPUT_FRAMES - 1;
    let labels: Vec<String> = available
        .iter()
        .map(|&t| frame_label(ds, t, init, step_hours))
        .collect();
    let leads: Vec<String> = available
        .iter()
        .map(|&t| lead_hours(ds, t, init, step_hours))
        .collect();

    let land = land_mask(ds, &mut report)?;
    let missing = rules::missing_variables(ds, task.input_variables.iter().map(String::as_str));
    for var in &task.input_variables {
        let source = Source::of(var);
        if !source.is_read_from_file() {
            continue;
        }
        report.checks += 1;
        if missing.contains(&var.as_str()) {
            report.push(var, None, None, "missing variable".into());
            continue;
        }
        report.variables += 1;
        if let Some(problem) = units_problem(ds, var) {
            report.checks += 1;
            report.push(var, None, None, problem);
            continue;
        }
        if let Some(problem) = rules::dims_problem(ds, var) {
            report.push(var, None, None, problem);
            continue;
        }
        let a = if source == Source::Static {
            ds.read(var, None)?
        } else {
            match (available.first(), available.last()) {
                (Some(&s), Some(&e)) => ds.read(var, Some(s..e + 1))?,
                _ => continue,
            }
        };
        let Some(layout) = on_grid(ds, var, &a, &mut report) else {
            continue;
        };
        let var_levels: Vec<(Option<i32>, Option<usize>)> = if is_atmospheric(var) {
            levels.iter().map(|&(l, i)| (Some(l), Some(i))).collect()
        } else {
            vec![(None, None)]
        };
        let time_slices: Vec<(Option<usize>, Option<&str>, &str)> = if layout.time.is_some() {
            (0..labels.len())
                .map(|k| (Some(k), Some(labels[k].as_str()), leads[k].as_str()))
                .collect()
        } else {
            vec![(None, None, "")]
        };
        for &(t, label, lead) in &time_slices {
            for &(level, li) in &var_levels {
                let values = layout.slice(&a, t, li);
                let channel = match (t, level) {
                    (Some(_), Some(l)) => format!("{var}[time={lead},level={l}]"),
                    (Some(_), None) => format!("{var}[time={lead}]"),
                    (None, Some(l)) => format!("{var}[level={l}]"),
                    (None, None) => var.clone(),
                };
                check_slice(
                    ds,
                    var,
                    &channel,
                    &values,
                    land.as_deref(),
                    label,
                    level,
                    &mut report,
                );
            }
        }
    }
    Ok(report)
}

/// Checks one lat × lon slice for NaNs, land SST and range.
#[allow(clippy::too_many_arguments)]
fn check_slice(
    ds: &Dataset,
    var: &str,
    channel: &str,
    values: &[f32],
    land: Option<&[bool]>,
    frame: Option<&str>,
    level: Option<i32>,
    report: &mut CheckReport,
) {
    let n_lon = ds.lon().len().max(1);
    let at = |i: usize| {
        let lat = ds.lat().get(i / n_lon).copied().unwrap_or(f32::NAN);
        let lon = ds.lon().get(i % n_lon).copied().unwrap_or(f32::NAN);
        format!("lat {lat} lon {lon}")
    };
    let is_sst = var == SST;
    let is_land = |i: usize| land.and_then(|m| m.get(i).copied()).unwrap_or(false);

    report.checks += 1;
    // Without a land-sea mask SST's NaNs cannot be told apart (the mask is reported missing).
    let nan_cells: Vec<usize> = (0..values.len())
        .filter(|&i| values[i].is_nan() && !(is_sst && (land.is_none() || is_land(i))))
        .collect();
    if let Some(&first) = nan_cells.first() {
        let where_ = if is_sst { " over sea" } else { "" };
        report.push(
            var,
            frame,
            level,
            format!(
                "{} NaN value(s){where_} (first: {channel} at {})",
                nan_cells.len(),
                at(first)
            ),
        );
    }
    if values.iter().any(|x| x.is_infinite()) {
        let n = values.iter().filter(|x| x.is_infinite()).count();
        let first = values.iter().position(|x| x.is_infinite()).unwrap_or(0);
        report.push(
            var,
            frame,
            level,
            format!("{n} infinite value(s) (first: {channel} at {})", at(first)),
        );
    }
    if is_sst {
        if let Some(mask) = land {
            report.checks += 1;
            let finite_land: Vec<usize> = (0..values.len().min(mask.len()))
                .filter(|&i| mask[i] && values[i].is_finite())
                .collect();
            if let Some(&first) = finite_land.first() {
                report.push(
                    var,
                    frame,
                    level,
                    format!(
                        "{} land cell(s) (land_sea_mask >= {LAND_THRESHOLD}) hold finite values \
                         (first: {channel} at {}); inputs must be NaN there: set SST to NaN over land",
                        finite_land.len(),
                        at(first)
                    ),
                );
            }
        }
    }
    let range = match (var, level) {
        ("geopotential", Some(l)) => Some(ranges::geopotential_range(l)),
        _ => physical_range(var),
    };
    if var == "geopotential_at_surface" && values.len() >= 2 {
        report.checks += 1;
        let peak = values
            .iter()
            .filter(|x| x.is_finite())
            .fold(f64::NEG_INFINITY, |m, &x| m.max(x as f64));
        if peak.is_finite() && peak < ranges::SURFACE_GEOPOTENTIAL_MIN_PEAK {
            report.push(
                var,
                frame,
                level,
                format!(
                    "highest value is {peak}, below {}: the field looks like heights in metres; \
                     geopotential is height times g (9.80665 m/s²), in m²/s²",
                    ranges::SURFACE_GEOPOTENTIAL_MIN_PEAK
                ),
            );
        }
    }
    if let Some((lo, hi)) = range {
        report.checks += 1;
        let bad: Vec<usize> = (0..values.len())
            .filter(|&i| {
                let x = values[i] as f64;
                x.is_finite() && (x < lo || x > hi)
            })
            .collect();
        if let Some(&first) = bad.first() {
            let (mut min, mut max) = (f64::INFINITY, f64::NEG_INFINITY);
            for &i in &bad {
                min = min.min(values[i] as f64);
                max = max.max(values[i] as f64);
            }
            report.push(
                var,
                frame,
                level,
                format!(
                    "{} value(s) outside the physical range [{lo}, {hi}] (out-of-range values \
                     span {min} .. {max}; first: {channel} = {} at {}): {}",
                    bad.len(),
                    values[first],
                    at(first),
                    units_hint(var)
                ),
            );
        }
    }
}

/// A problem with the `units` attribute of `var`: units other than the model's (in any
/// spelling of them) are refused, naming both; a variable without units is taken to be in the
/// model's.
fn units_problem(ds: &Dataset, var: &str) -> Option<String> {
    let found = ds.variable(var)?.units.clone()?;
    let expected = crate::variables::lookup(var)?.units;
    if found.trim().is_empty() || same_units(&found, expected) {
        return None;
    }
    Some(format!(
        "units `{found}`, expected `{expected}`: the values are not in the model's units \
         (`gencast prepare` converts them)"
    ))
}

/// The question a value out of range raises, in the variable's own units.
fn units_hint(var: &str) -> String {
    let units = crate::variables::lookup(var).map_or("", |v| v.units);
    let extra = if var.starts_with("geopotential") {
        "; heights in metres are g = 9.80665 times smaller"
    } else {
        match units {
            "K" => "; values in °C are 273.15 lower",
            "m" => "; values in mm are 1000 times larger",
            "Pa" => "; values in hPa are 100 times smaller",
            _ => "",
        }
    };
    format!("wrong units (`{var}` is expected in `{units}`{extra}) or fill values?")
}

/// Where the time, level, lat and lon dims of a read variable are, with their strides.
struct SliceLayout {
    time: Option<(usize, usize)>,
    level: Option<(usize, usize)>,
    lat: (usize, usize),
    lon: (usize, usize),
}

impl SliceLayout {
    /// The layout of `a`, or `None` when it lacks a `lat` or `lon` dim.
    fn new(a: &Array) -> Option<SliceLayout> {
        let mut strides = vec![1usize; a.shape.len()];
        for k in (0..a.shape.len().saturating_sub(1)).rev() {
            strides[k] = strides[k + 1] * a.shape[k + 1];
        }
        let find = |name: &str| a.dim_index(name).map(|k| (k, strides[k]));
        Some(SliceLayout {
            time: find(TIME_DIM),
            level: find("level"),
            lat: find("lat")?,
            lon: find("lon")?,
        })
    }

    /// The lat × lon values (lat-major) at time index `t` and level index `l`.
    fn slice(&self, a: &Array, t: Option<usize>, l: Option<usize>) -> Vec<f32> {
        let mut base = 0;
        if let (Some((_, s)), Some(t)) = (self.time, t) {
            base += t * s;
        }
        if let (Some((_, s)), Some(l)) = (self.level, l) {
            base += l * s;
        }
        let (n_lat, n_lon) = (a.shape[self.lat.0], a.shape[self.lon.0]);
        let mut out = Vec::with_capacity(n_lat * n_lon);
        for i in 0..n_lat {
            for j in 0..n_lon {
                let idx = base + i * self.lat.1 + j * self.lon.1;
                out.push(a.data.get(idx).copied().unwrap_or(f32::NAN));
            }
        }
        out
    }
}

/// The slicing layout of `a` (variable `var`) when it lies on the dataset's grid and levels;
/// otherwise a row for the problem.
fn on_grid(ds: &Dataset, var: &str, a: &Array, report: &mut CheckReport) -> Option<SliceLayout> {
    let layout = SliceLayout::new(a);
    let problem = match &layout {
        Some(_) => rules::shape_problem(ds, a),
        None => Some(format!("dims {:?} lack `lat` or `lon`", a.dims)),
    };
    if let Some(problem) = problem {
        report.push(var, None, None, problem);
        return None;
    }
    layout
}

/// Land cells (lat-major) from `land_sea_mask`, if present and on the grid.
fn land_mask(ds: &Dataset, report: &mut CheckReport) -> Result<Option<Vec<bool>>> {
    if !ds.has(LAND_SEA_MASK) {
        return Ok(None);
    }
    if let Some(problem) = rules::dims_problem(ds, LAND_SEA_MASK) {
        report.push(LAND_SEA_MASK, None, None, problem);
        return Ok(None);
    }
    let a = ds.read(LAND_SEA_MASK, None)?;
    let Some(layout) = on_grid(ds, LAND_SEA_MASK, &a, report) else {
        return Ok(None);
    };
    let values = layout.slice(&a, None, None);
    Ok(Some(values.iter().map(|&x| x >= LAND_THRESHOLD).collect()))
}

/// The grid rules of [`rules::lat_problem`] and [`rules::lon_problem`].
fn check_grid(ds: &Dataset, report: &mut CheckReport) {
    report.checks += 2;
    if let Some(problem) = rules::lat_problem(ds.lat()) {
        report.push("lat", None, None, problem);
    }
    if let Some(problem) = rules::lon_problem(ds.lon()) {
        report.push("lon", None, None, problem);
    }
}

/// The task's pressure levels found in the file, as (level, index); a row for the missing ones.
fn check_levels(ds: &Dataset, task: &TaskConfig, report: &mut CheckReport) -> Vec<(i32, usize)> {
    if !rules::needs_levels(task.input_variables.iter().map(String::as_str)) {
        return Vec::new();
    }
    report.checks += 1;
    let matched = rules::match_levels(ds, task.pressure_levels.iter().copied());
    if let Some(problem) = matched.problem {
        report.push("level", None, None, problem);
    }
    matched.found
}

/// The input frames present in the file; a row when some are missing or their valid times are
/// not one time step apart.
fn check_frames(
    ds: &Dataset,
    first: usize,
    step_hours: i64,
    report: &mut CheckReport,
) -> Vec<usize> {
    report.checks += 1;
    let frames = first..first + NUM_INPUT_FRAMES;
    let available: Vec<usize> = frames.clone().filter(|&t| t < ds.num_frames()).collect();
    if ds.datetime().is_empty() {
        report.checks += 1;
        report.push(
            "datetime",
            None,
            None,
            "missing variable: the valid times of the frames, needed to compute the forcings \
             (solar radiation, time of day and year) and to label the forecast"
                .into(),
        );
    }
    if let Some(problem) = rules::frames_problem(ds, first, NUM_INPUT_FRAMES) {
        report.push(TIME_DIM, None, None, problem);
    } else if let Some(times) = ds.datetime().get(frames) {
        if let Some(problem) = rules::spacing_problem(times, step_hours) {
            report.push("datetime", None, None, problem);
        }
    }
    available
}

/// `2019-03-29T12:00 (-12h)`: the frame's valid time and its offset from the init time.
fn frame_label(ds: &Dataset, t: usize, init: usize, step_hours: i64) -> String {
    let lead = lead_hours(ds, t, init, step_hours);
    match ds.datetime().get(t) {
        Some(&ns) => format!("{} ({lead})", format_datetime(ns)),
        None => format!("frame {t} ({lead})"),
    }
}

/// Offset of frame `t` from the init frame, e.g. `-12h` (one time step per frame when times are
/// absent).
fn lead_hours(ds: &Dataset, t: usize, init: usize, step_hours: i64) -> String {
    let hours = match (ds.time().get(t), ds.time().get(init)) {
        (Some(&a), Some(&b)) => (a - b) as f64 / NS_PER_HOUR as f64,
        _ => (t as f64 - init as f64) * step_hours as f64,
    };
    format!("{hours}h")
}
