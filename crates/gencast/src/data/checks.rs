//! Input checks run before any computation: every input variable and frame the task needs is
//! present, the grid and pressure levels match, there are no NaNs except sea-surface temperature
//! over land, land cells of sea-surface temperature are NaN, and values lie in physical ranges.
//! Problems are collected into a [`CheckReport`] (a variable × frame table) instead of failing
//! at the first one.

use std::fmt;

use serde::Serialize;

use super::dataset::{Array, Dataset, TIME_DIM};
use super::forcings::ProgressFeature;
use super::netcdf_time::format_datetime;
use crate::checkpoint::config::{is_atmospheric, is_static};
use crate::checkpoint::TaskConfig;
use crate::Result;

/// Number of input frames the model reads (the init time and 12 h before).
pub const NUM_INPUT_FRAMES: usize = 2;

/// Name of the variable that may be NaN over land (and must be, in operational inputs).
pub const SST: &str = "sea_surface_temperature";

/// Name of the land fraction variable; cells with a value of at least [`LAND_THRESHOLD`] are land.
pub const LAND_SEA_MASK: &str = "land_sea_mask";

/// Land fraction from which a cell counts as land (the reference's NaN cleaning convention:
/// ERA5 sea-surface temperature is undefined where land_sea_mask >= 0.5).
pub const LAND_THRESHOLD: f32 = 0.5;

/// Physical bounds `(variable, min, max, reason)`. They are deliberately generous: their job is
/// to catch wrong units, wrong variables and fill values (e.g. 9.97e36, -32767), not to judge
/// the weather. Unlisted variables get no range check.
pub const PHYSICAL_RANGES: &[(&str, f64, f64, &str)] = &[
    // Record lows are ~180 K (mesosphere-free stratosphere at 1 hPa ~ 190-280 K), highs ~330 K.
    (
        "temperature",
        150.0,
        350.0,
        "K; atmospheric record lows ~180 K, highs ~330 K",
    ),
    // Surface air: record -89.2 °C (184 K, Vostok) and 56.7 °C (330 K, Death Valley).
    (
        "2m_temperature",
        150.0,
        350.0,
        "K; surface records 184 K (Vostok) to 330 K",
    ),
    // Sea-level pressure records: 870 hPa (Typhoon Tip) and 1084 hPa (Siberian high).
    (
        "mean_sea_level_pressure",
        80000.0,
        110000.0,
        "Pa; records 870 hPa to 1084 hPa",
    ),
    // Saturation at 35 °C near 1000 hPa is ~0.037 kg/kg; small negatives come from ERA5 packing.
    (
        "specific_humidity",
        -1e-4,
        0.1,
        "kg/kg; saturation at 35 °C is ~0.037",
    ),
    // Surface geopotential: Dead Sea shore (-430 m) to Everest (8849 m) times g = 9.81.
    (
        "geopotential_at_surface",
        -5e4,
        1e5,
        "m²/s²; -430 m to 8849 m times g",
    ),
    // A fraction.
    ("land_sea_mask", 0.0, 1.0, "fraction of land"),
    // Jet-stream cores reach ~110 m/s; ±150 m/s still leaves a wide margin.
    (
        "u_component_of_wind",
        -150.0,
        150.0,
        "m/s; jet cores reach ~110 m/s",
    ),
    (
        "v_component_of_wind",
        -150.0,
        150.0,
        "m/s; jet cores reach ~110 m/s",
    ),
    (
        "10m_u_component_of_wind",
        -150.0,
        150.0,
        "m/s; 10 m winds stay far below jet speeds",
    ),
    (
        "10m_v_component_of_wind",
        -150.0,
        150.0,
        "m/s; 10 m winds stay far below jet speeds",
    ),
    // Omega in strong convection is a few Pa/s; ±30 Pa/s catches unit or sign-scale errors.
    (
        "vertical_velocity",
        -30.0,
        30.0,
        "Pa/s; strong convection gives a few Pa/s",
    ),
    // Metres of water per 12 h: the 12 h rainfall record is ~1.14 m (Réunion); small negatives
    // come from ERA5 accumulation differences.
    (
        "total_precipitation_12hr",
        -1e-3,
        1.0,
        "m per 12 h; record ~1.14 m in 12 h",
    ),
    // Sea water freezes near 271 K; the warmest seas reach ~308 K.
    (
        "sea_surface_temperature",
        250.0,
        320.0,
        "K; sea ice edge ~271 K, warmest seas ~308 K",
    ),
    // Geopotential from below sea level at 1000 hPa to the 1 hPa surface (~48 km, ~4.7e5).
    (
        "geopotential",
        -1e4,
        6e5,
        "m²/s²; 1000 hPa below sea level to ~48 km at 1 hPa",
    ),
];

/// The bounds of a variable, if it has a range check.
pub fn physical_range(var: &str) -> Option<(f64, f64)> {
    PHYSICAL_RANGES
        .iter()
        .find(|r| r.0 == var)
        .map(|r| (r.1, r.2))
}

/// One problem: a variable (or coordinate), optionally at a frame and level.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckRow {
    /// Variable or coordinate name (`lat`, `lon`, `level`, `time`).
    pub variable: String,
    /// The frame, e.g. `2019-03-29T12:00 (-12h)`; `None` for static variables and coordinates.
    pub frame: Option<String>,
    /// The pressure level in hPa, for atmospheric variables.
    pub level: Option<i32>,
    /// What is wrong.
    pub problem: String,
}

/// The result of [`check_inputs`]: the problems found and what was checked.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CheckReport {
    /// One row per problem; empty when the inputs are fine.
    pub rows: Vec<CheckRow>,
    /// Number of checks run (each variable × frame × level slice counts once per check kind).
    pub checks: usize,
    /// Number of input variables read from the file.
    pub variables: usize,
    /// Number of input frames checked.
    pub frames: usize,
    /// Number of pressure levels checked.
    pub levels: usize,
}

impl CheckReport {
    /// Whether no problem was found.
    pub fn is_ok(&self) -> bool {
        self.rows.is_empty()
    }

    /// A report with a single problem (used when the file cannot even be opened).
    pub fn single(variable: &str, frame: Option<String>, problem: String) -> CheckReport {
        CheckReport {
            rows: vec![CheckRow {
                variable: variable.to_string(),
                frame,
                level: None,
                problem,
            }],
            checks: 1,
            ..CheckReport::default()
        }
    }

    fn push(&mut self, variable: &str, frame: Option<&str>, level: Option<i32>, problem: String) {
        self.rows.push(CheckRow {
            variable: variable.to_string(),
            frame: frame.map(str::to_string),
            level,
            problem,
        });
    }
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_ok() {
            return write!(
                f,
                "all {} checks passed ({} variables, {} frames, {} levels)",
                self.checks, self.variables, self.frames, self.levels
            );
        }
        let cells: Vec<[String; 4]> = self
            .rows
            .iter()
            .map(|r| {
                [
                    r.variable.clone(),
                    r.frame.clone().unwrap_or_else(|| "-".into()),
                    r.level.map_or_else(|| "-".into(), |l| l.to_string()),
                    r.problem.clone(),
                ]
            })
            .collect();
        let header = ["variable", "frame", "level", "problem"];
        let mut width = header.map(|h| h.chars().count());
        for row in &cells {
            for (w, c) in width.iter_mut().zip(row) {
                *w = (*w).max(c.chars().count());
            }
        }
        let line = |f: &mut fmt::Formatter<'_>, row: [&str; 4]| -> fmt::Result {
            writeln!(
                f,
                "{:<w0$}  {:<w1$}  {:>w2$}  {}",
                row[0],
                row[1],
                row[2],
                row[3],
                w0 = width[0],
                w1 = width[1],
                w2 = width[2]
            )
        };
        writeln!(
            f,
            "{} problem(s) in {} checks:",
            self.rows.len(),
            self.checks
        )?;
        line(f, header)?;
        let rule = width.map(|w| "-".repeat(w));
        line(f, [&rule[0], &rule[1], &rule[2], &"-".repeat(7)])?;
        for row in &cells {
            line(f, [&row[0], &row[1], &row[2], &row[3]])?;
        }
        Ok(())
    }
}

/// Tolerance, in degrees, for grid coordinates (f32 storage of the published grids is exact;
/// this allows for files written from rounded values).
const DEG_TOL: f32 = 1e-3;

/// Checks the inputs the task needs at frames `first_input_frame` and the next one (the init
/// time). Only I/O failures are errors; every problem of the data is a row of the report.
pub fn check_inputs(
    ds: &Dataset,
    task: &TaskConfig,
    first_input_frame: usize,
) -> Result<CheckReport> {
    let mut report = CheckReport::default();
    check_grid(ds, &mut report);
    let levels = check_levels(ds, task, &mut report);
    report.levels = levels.len();

    let frames: Vec<usize> = (first_input_frame..first_input_frame + NUM_INPUT_FRAMES).collect();
    let n_frames = ds.num_frames();
    report.checks += 1;
    let available: Vec<usize> = frames.iter().copied().filter(|&t| t < n_frames).collect();
    if available.len() < frames.len() {
        report.push(
            TIME_DIM,
            None,
            None,
            format!(
                "missing input frames: {} input frames are needed from frame {first_input_frame}, \
                 the dataset has {n_frames} frame(s)",
                NUM_INPUT_FRAMES
            ),
        );
    }
    report.frames = available.len();
    let init = first_input_frame + NUM_INPUT_FRAMES - 1;
    let labels: Vec<String> = available
        .iter()
        .map(|&t| frame_label(ds, t, init))
        .collect();
    let leads: Vec<String> = available.iter().map(|&t| lead_hours(ds, t, init)).collect();

    let land = land_mask(ds, &mut report)?;
    for var in &task.input_variables {
        if ProgressFeature::from_name(var).is_some() {
            continue;
        }
        report.checks += 1;
        if !ds.has(var) {
            report.push(var, None, None, "missing variable".into());
            continue;
        }
        report.variables += 1;
        let a = if is_static(var) {
            ds.read(var, None)?
        } else {
            match (available.first(), available.last()) {
                (Some(&s), Some(&e)) => ds.read(var, Some(s..e + 1))?,
                _ => continue,
            }
        };
        let Some(layout) = SliceLayout::new(&a, ds) else {
            report.push(
                var,
                None,
                None,
                format!("unexpected dims {:?} shape {:?}; expected (time, [level,] lat, lon) on the dataset grid", a.dims, a.shape),
            );
            continue;
        };
        let var_levels: Vec<(Option<i32>, Option<usize>)> = if is_atmospheric(var) {
            if layout.level.is_none() {
                report.push(var, None, None, "has no level dimension".into());
                continue;
            }
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
    let nan_cells: Vec<usize> = (0..values.len())
        .filter(|&i| values[i].is_nan() && !(is_sst && is_land(i)))
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
    if let Some((lo, hi)) = physical_range(var) {
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
                    "{} value(s) outside the physical range [{lo}, {hi}] (out-of-range values span \
                     {min} .. {max}; first: {channel} = {} at {}): wrong units or fill values?",
                    bad.len(),
                    values[first],
                    at(first)
                ),
            );
        }
    }
}

/// Where the time, level, lat and lon dims of a read variable are, with their strides.
struct SliceLayout {
    time: Option<(usize, usize)>,
    level: Option<(usize, usize)>,
    lat: (usize, usize),
    lon: (usize, usize),
}

impl SliceLayout {
    /// The layout of `a`, or `None` when it has other dims or a grid other than the dataset's.
    fn new(a: &Array, ds: &Dataset) -> Option<SliceLayout> {
        let mut strides = vec![1usize; a.shape.len()];
        for k in (0..a.shape.len().saturating_sub(1)).rev() {
            strides[k] = strides[k + 1] * a.shape[k + 1];
        }
        let find = |name: &str| a.dim_index(name).map(|k| (k, strides[k]));
        if a.dims
            .iter()
            .any(|d| !matches!(d.as_str(), "time" | "level" | "lat" | "lon"))
        {
            return None;
        }
        let lat = find("lat")?;
        let lon = find("lon")?;
        if a.shape[lat.0] != ds.lat().len() || a.shape[lon.0] != ds.lon().len() {
            return None;
        }
        Some(SliceLayout {
            time: find(TIME_DIM),
            level: find("level"),
            lat,
            lon,
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

/// Land cells (lat-major) from `land_sea_mask`, if present and on the grid.
fn land_mask(ds: &Dataset, report: &mut CheckReport) -> Result<Option<Vec<bool>>> {
    if !ds.has(LAND_SEA_MASK) {
        return Ok(None);
    }
    let a = ds.read(LAND_SEA_MASK, None)?;
    let Some(layout) = SliceLayout::new(&a, ds) else {
        report.push(
            LAND_SEA_MASK,
            None,
            None,
            format!(
                "unexpected dims {:?} shape {:?}; expected (lat, lon)",
                a.dims, a.shape
            ),
        );
        return Ok(None);
    };
    let t = layout.time.map(|_| 0);
    let values = layout.slice(&a, t, None);
    Ok(Some(values.iter().map(|&x| x >= LAND_THRESHOLD).collect()))
}

/// Latitudes ascending from -90 to 90 with uniform spacing; longitudes from 0, uniform.
fn check_grid(ds: &Dataset, report: &mut CheckReport) {
    report.checks += 2;
    let lat = ds.lat();
    if let Some(problem) = lat_problem(lat) {
        report.push("lat", None, None, problem);
    }
    if let Some(problem) = lon_problem(ds.lon()) {
        report.push("lon", None, None, problem);
    }
}

fn lat_problem(lat: &[f32]) -> Option<String> {
    let (Some(&first), Some(&last)) = (lat.first(), lat.last()) else {
        return Some("missing latitude coordinate".into());
    };
    if lat.len() < 2 {
        return Some(format!("need at least 2 latitudes, found {}", lat.len()));
    }
    if lat.windows(2).any(|w| w[1] <= w[0]) {
        return Some(format!(
            "latitudes are not ascending ({first} .. {last}); expected -90 .. 90 (south to north)"
        ));
    }
    if (first + 90.0).abs() > DEG_TOL || (last - 90.0).abs() > DEG_TOL {
        return Some(format!(
            "latitudes span {first} .. {last}; expected -90 .. 90"
        ));
    }
    non_uniform(lat).map(|p| format!("latitudes: {p}"))
}

fn lon_problem(lon: &[f32]) -> Option<String> {
    let Some(&first) = lon.first() else {
        return Some("missing longitude coordinate".into());
    };
    if lon.len() < 2 {
        return Some(format!("need at least 2 longitudes, found {}", lon.len()));
    }
    if first.abs() > DEG_TOL {
        return Some(format!("longitudes start at {first}; expected 0"));
    }
    if lon.windows(2).any(|w| w[1] <= w[0]) {
        return Some("longitudes are not ascending".into());
    }
    non_uniform(lon).map(|p| format!("longitudes: {p}"))
}

fn non_uniform(values: &[f32]) -> Option<String> {
    let step = values.get(1)? - values.first()?;
    values
        .windows(2)
        .position(|w| ((w[1] - w[0]) - step).abs() > DEG_TOL)
        .map(|i| {
            format!(
                "spacing is not uniform at index {} ({} -> {}, expected step {step})",
                i + 1,
                values[i],
                values[i + 1]
            )
        })
}

/// The task's pressure levels found in the file, as (level, index); a row for the missing ones.
fn check_levels(ds: &Dataset, task: &TaskConfig, report: &mut CheckReport) -> Vec<(i32, usize)> {
    let needs_levels = task.input_variables.iter().any(|v| is_atmospheric(v));
    if !needs_levels {
        return Vec::new();
    }
    report.checks += 1;
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for &l in &task.pressure_levels {
        match i32::try_from(l)
            .ok()
            .and_then(|l32| ds.level_index(l32).map(|i| (l32, i)))
        {
            Some(x) => found.push(x),
            None => missing.push(l.to_string()),
        }
    }
    if !missing.is_empty() {
        report.push(
            "level",
            None,
            None,
            format!(
                "missing pressure level(s) {} hPa needed by the model (the file has {:?})",
                missing.join(", "),
                ds.level()
            ),
        );
    }
    found
}

/// `2019-03-29T12:00 (-12h)`: the frame's valid time and its offset from the init time.
fn frame_label(ds: &Dataset, t: usize, init: usize) -> String {
    let lead = lead_hours(ds, t, init);
    match ds.datetime().get(t) {
        Some(&ns) => format!("{} ({lead})", format_datetime(ns)),
        None => format!("frame {t} ({lead})"),
    }
}

/// Offset of frame `t` from the init frame, e.g. `-12h` (12 h per frame when times are absent).
fn lead_hours(ds: &Dataset, t: usize, init: usize) -> String {
    let hours = match (ds.time().get(t), ds.time().get(init)) {
        (Some(&a), Some(&b)) => (a - b) as f64 / 3.6e12,
        _ => (t as f64 - init as f64) * 12.0,
    };
    format!("{hours}h")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_problems_are_named() {
        let lat: Vec<f32> = (0..19).map(|i| -90.0 + 10.0 * i as f32).collect();
        assert_eq!(lat_problem(&lat), None);
        let mut rev = lat.clone();
        rev.reverse();
        assert!(lat_problem(&rev).unwrap().contains("not ascending"));
        let lon: Vec<f32> = (0..36).map(|i| 10.0 * i as f32).collect();
        assert_eq!(lon_problem(&lon), None);
        let shifted: Vec<f32> = lon.iter().map(|x| x - 180.0).collect();
        assert!(lon_problem(&shifted).unwrap().contains("start at -180"));
        let mut gap = lon.clone();
        gap[5] = 52.0;
        assert!(lon_problem(&gap)
            .unwrap()
            .contains("not uniform at index 5"));
    }

    #[test]
    fn table_is_aligned() {
        let mut r = CheckReport::single(
            "temperature",
            Some("2019-03-29T12:00 (-12h)".into()),
            "x".into(),
        );
        r.push("lat", None, None, "y".into());
        let text = r.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5);
        let col = lines[1].find("frame").unwrap();
        assert_eq!(lines[3].find("2019").unwrap(), col);
        assert_eq!(&lines[4][col..col + 1], "-");
        assert!(!r.is_ok());
        assert!(CheckReport::default()
            .to_string()
            .starts_with("all 0 checks passed"));
    }
}
