//! The inventory of sources (`gencast sources`): every horizontal slice `prepare` would see,
//! with the model variable it feeds and its values in the model's units, and everything it
//! would skip, with why.

use std::path::{Path, PathBuf};

use super::field::Field;
use super::tables::{feeds_model, Conversion};
use super::{convert, read_source_contents, units, Skipped, Wanted};
use crate::data::netcdf_time::format_datetime;
use crate::Result;

/// One horizontal slice of one source field.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The file or store, as given.
    pub source: PathBuf,
    /// Its 0-based GRIB message index; `None` for sources without messages.
    pub message: Option<usize>,
    /// The variable's name in the source.
    pub name: String,
    /// The model variable it feeds (`total_precipitation` for accumulations of any period),
    /// or `None`.
    pub variable: Option<String>,
    /// Pressure level (hPa), for fields with levels.
    pub level: Option<i32>,
    /// Valid time (ns since 1970), for fields with times.
    pub valid_time: Option<i64>,
    /// The ensemble member, where the source says.
    pub member: Option<i64>,
    /// Units of `min`, `max` and `mean`: the model's when it feeds one, else the source's.
    pub units: Option<String>,
    /// Smallest and largest latitude.
    pub lat_range: (f64, f64),
    /// Smallest and largest longitude, as the source gives them.
    pub lon_range: (f64, f64),
    /// Number of latitudes.
    pub nlat: usize,
    /// Number of longitudes.
    pub nlon: usize,
    /// Smallest finite value (`None` when no value is finite, e.g. SST over land only).
    pub min: Option<f64>,
    /// Largest finite value.
    pub max: Option<f64>,
    /// Mean of the finite values (NaN marks missing values, such as SST over land).
    pub mean: Option<f64>,
}

/// What a list of sources holds.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    /// One row per (field, time, level) slice, in source order.
    pub rows: Vec<Row>,
    /// Messages and variables not used, with why.
    pub skipped: Vec<Skipped>,
}

/// A valid time as `YYYY-MM-DDTHH:MM`.
pub fn format_minutes(ns: i64) -> String {
    let full = format_datetime(ns);
    match full.get(..16) {
        Some(s) if full.len() >= 16 => s.to_string(),
        _ => full,
    }
}

/// Min, max and mean (in f64) of the finite values of `values`.
pub fn finite_stats(values: &[f32]) -> Option<(f64, f64, f64)> {
    let (mut min, mut max, mut sum, mut n) = (f64::INFINITY, f64::NEG_INFINITY, 0f64, 0usize);
    for &x in values.iter().filter(|x| x.is_finite()) {
        let x = f64::from(x);
        min = min.min(x);
        max = max.max(x);
        sum += x;
        n += 1;
    }
    (n > 0).then(|| (min, max, sum / n as f64))
}

fn range(c: &[f64]) -> (f64, f64) {
    c.iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
            (lo.min(x), hi.max(x))
        })
}

/// The model variable `field` feeds, if any.
fn variable_of(field: &Field) -> Option<String> {
    if !feeds_model(&field.source_name) {
        return None;
    }
    Some(
        if field.model_name == "geopotential" && field.levels.is_none() {
            "geopotential_at_surface".to_string()
        } else {
            field.model_name.clone()
        },
    )
}

/// Converts `field` to the model's units of `variable`; `Err` holds why it cannot be.
fn convert_units(field: &mut Field, variable: &str) -> std::result::Result<(), String> {
    if field.conversion == Conversion::Height {
        convert::height_to_geopotential(field).map_err(|e| e.to_string())?;
    }
    units::to_model_units(field, variable).map_err(|e| e.to_string())
}

/// The inventory of one source.
pub fn inventory_of(path: &Path) -> Result<Inventory> {
    let contents = read_source_contents(path, &Wanted::default())?;
    let mut out = Inventory {
        rows: Vec::new(),
        skipped: contents.skipped,
    };
    for mut field in contents.fields {
        let variable = variable_of(&field);
        if let Some(v) = &variable {
            if let Err(reason) = convert_units(&mut field, v) {
                for t in 0..field.n_times() {
                    for l in 0..field.n_levels() {
                        out.skipped.push(Skipped {
                            path: path.to_path_buf(),
                            message: field.messages.get(t * field.n_levels() + l).copied(),
                            name: field.source_name.clone(),
                            reason: reason.clone(),
                        });
                    }
                }
                continue;
            }
        }
        for t in 0..field.n_times() {
            for l in 0..field.n_levels() {
                let stats = finite_stats(field.slice(t, l));
                out.rows.push(Row {
                    source: path.to_path_buf(),
                    message: field.messages.get(t * field.n_levels() + l).copied(),
                    name: field.source_name.clone(),
                    variable: variable.clone(),
                    level: field.levels.as_ref().map(|x| x[l]),
                    valid_time: field.times.as_ref().map(|x| x[t]),
                    member: field.member,
                    units: field.units.clone(),
                    lat_range: range(&field.lat),
                    lon_range: range(&field.lon),
                    nlat: field.lat.len(),
                    nlon: field.lon.len(),
                    min: stats.map(|s| s.0),
                    max: stats.map(|s| s.1),
                    mean: stats.map(|s| s.2),
                });
            }
        }
    }
    Ok(out)
}

/// The inventory of several sources, in the order given; the first unreadable one is an error.
pub fn inventory(paths: &[PathBuf]) -> Result<Inventory> {
    let mut out = Inventory::default();
    for path in paths {
        let one = inventory_of(path)?;
        out.rows.extend(one.rows);
        out.skipped.extend(one.skipped);
    }
    Ok(out)
}
