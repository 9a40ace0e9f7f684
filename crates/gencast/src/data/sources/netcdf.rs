//! NetCDF sources: CDS ERA5 files (`valid_time`, `pressure_level`, `latitude`, short names),
//! older CDS and WeatherBench-2 exports (`time`, `level`, long names) and files already in the
//! model's layout. Dimensions are recognised by name, in any order.

use std::path::Path;

use netcdf_reader::{NcFile, NcType, NcVariable};

use std::collections::BTreeSet;

use super::field::{
    member_numbers, member_slabs, Field, LAT_NAMES, LEVEL_NAMES, LON_NAMES, MEMBER_NAMES,
    TIME_NAMES,
};
use super::tables::{feeds_model, name_rule};
use super::{Skipped, SourceContents};
use crate::data::netcdf_io;
use crate::data::netcdf_time;
use crate::{Error, Result};

/// Reads every gridded variable of a NetCDF file that feeds a model variable (one field per
/// ensemble member when it has a member dimension), and lists the other data variables as
/// skipped, with why.
pub(crate) fn read_contents(path: &Path) -> Result<SourceContents> {
    let file = netcdf_io::open(path)?;
    let vars = file
        .variables()
        .map_err(|e| netcdf_io::reader_error(path, "variables", e))?;
    // Coordinates: variables named like a dimension or in some `coordinates` attribute.
    let mut coords: BTreeSet<String> = BTreeSet::from(["datetime".to_string()]);
    for var in vars {
        coords.extend(var.dimensions.iter().map(|d| d.name.clone()));
        if let Some(list) = netcdf_io::var_attr_text(var, "coordinates") {
            coords.extend(list.split_whitespace().map(str::to_string));
        }
    }
    let mut out = SourceContents::default();
    for var in vars {
        let name = var.name.as_str();
        if coords.contains(name) {
            continue;
        }
        let dims: Vec<&str> = var.dimensions.iter().map(|d| d.name.as_str()).collect();
        let has = |names: &[&str]| dims.iter().any(|d| names.contains(d));
        let reason = if dims.len() < 2 || !has(&LAT_NAMES) || !has(&LON_NAMES) {
            Some(format!(
                "not gridded: dimensions ({}) lack latitude and longitude",
                dims.join(", ")
            ))
        } else if !feeds_model(name) {
            Some(format!(
                "feeds no model variable (`{name}` is not in the name table names.tsv)"
            ))
        } else {
            None
        };
        match reason {
            Some(reason) => out.skipped.push(Skipped {
                path: path.to_path_buf(),
                message: None,
                name: name.to_string(),
                reason,
            }),
            None => out.fields.extend(read_field(&file, path, var)?),
        }
    }
    Ok(out)
}

fn data_err(path: &Path, variable: &str, detail: String) -> Error {
    Error::Data {
        path: path.to_path_buf(),
        variable: variable.to_string(),
        detail,
    }
}

fn read_field(file: &NcFile, path: &Path, var: &NcVariable) -> Result<Vec<Field>> {
    let name = var.name.as_str();
    let shape = netcdf_io::shape(path, var)?;
    let mut roles = Vec::with_capacity(shape.len());
    let mut out_shape = [1usize; 4];
    let mut times = None;
    let mut levels = None;
    let mut lat = Vec::new();
    let mut lon = Vec::new();
    let mut members: Option<(usize, Vec<i64>)> = None;
    let mut seen: Vec<&str> = Vec::new();
    for (i, (dim, &size)) in var.dimensions.iter().zip(&shape).enumerate() {
        let d = dim.name.as_str();
        if seen.contains(&d) {
            return Err(data_err(
                path,
                name,
                format!("dimension name `{d}` appears twice among its dimensions"),
            ));
        }
        seen.push(d);
        let role = if MEMBER_NAMES.contains(&d) {
            if members.is_some() {
                return Err(data_err(
                    path,
                    name,
                    format!("two dimensions play the role of ensemble member (`{d}`)"),
                ));
            }
            let values = match file.variable(d) {
                Ok(_) => Some(read_coord(file, path, d)?),
                Err(_) => None,
            };
            members = Some((i, member_numbers(path, d, values, size)?));
            roles.push(None);
            continue;
        } else if TIME_NAMES.contains(&d) {
            times = Some(read_times(file, path, d)?);
            0
        } else if LEVEL_NAMES.contains(&d) {
            levels = Some(read_levels(file, path, d)?);
            1
        } else if LAT_NAMES.contains(&d) {
            lat = read_coord(file, path, d)?;
            2
        } else if LON_NAMES.contains(&d) {
            lon = read_coord(file, path, d)?;
            3
        } else if size == 1 {
            // `batch`, `number`, `expver`, `step` and the like with a single value.
            roles.push(None);
            continue;
        } else {
            return Err(data_err(
                path,
                name,
                format!(
                    "dimension `{d}` has {size} values; expected one of time ({}), level ({}), \
                     latitude, longitude, or a dimension of size 1",
                    TIME_NAMES.join("/"),
                    LEVEL_NAMES.join("/")
                ),
            ));
        };
        if out_shape[role] != 1 || (role == 0 && times.as_ref().is_some_and(|t| t.len() != size)) {
            return Err(data_err(
                path,
                name,
                format!("two dimensions play the role of `{d}`"),
            ));
        }
        out_shape[role] = size;
        roles.push(Some(role));
    }
    let raw = netcdf_io::read_f32(file, path, var, None)?;
    let rule = name_rule(name);
    let field = |data: Vec<f32>, member: Option<i64>| Field {
        path: path.to_path_buf(),
        source_name: name.to_string(),
        model_name: rule.model.clone(),
        conversion: rule.conversion,
        units: netcdf_io::var_attr_text(var, "units"),
        times: times.clone(),
        levels: levels.clone(),
        lat: lat.clone(),
        lon: lon.clone(),
        data,
        member,
        messages: Vec::new(),
    };
    let fields: Vec<Field> = member_slabs(&raw, &shape, &roles, out_shape, members)
        .into_iter()
        .map(|(data, member)| field(data, member))
        .collect();
    for f in &fields {
        f.check()?;
    }
    Ok(fields)
}

fn coord<'a>(file: &'a NcFile, path: &Path, name: &str) -> Result<&'a NcVariable> {
    file.variable(name).map_err(|_| Error::Missing {
        path: path.to_path_buf(),
        what: "coordinate",
        key: name.to_string(),
    })
}

fn read_coord(file: &NcFile, path: &Path, name: &str) -> Result<Vec<f64>> {
    let var = coord(file, path, name)?;
    let values = netcdf_io::read_f64(file, path, var, None)?;
    if let Some(bad) = values.iter().find(|x| !x.is_finite()) {
        return Err(data_err(
            path,
            name,
            format!("contains the non-finite value {bad}"),
        ));
    }
    Ok(values)
}

fn read_levels(file: &NcFile, path: &Path, name: &str) -> Result<Vec<i32>> {
    let values = read_coord(file, path, name)?;
    let units = netcdf_io::var_attr_text(coord(file, path, name)?, "units").unwrap_or_default();
    let scale = match units.as_str() {
        "Pa" => 0.01,
        _ => 1.0,
    };
    values
        .into_iter()
        .map(|x| {
            let hpa = x * scale;
            if hpa.fract() == 0.0 && hpa > 0.0 && hpa < 1e6 {
                Ok(hpa as i32)
            } else {
                Err(data_err(
                    path,
                    name,
                    format!("level {x} {units} is not a positive whole number of hPa"),
                ))
            }
        })
        .collect()
}

/// Reads a time coordinate as ns since 1970: `<unit> since <date>` values, or, for the model
/// layout's `time` offsets, the `datetime` coordinate.
fn read_times(file: &NcFile, path: &Path, name: &str) -> Result<Vec<i64>> {
    let var = coord(file, path, name)?;
    let units = netcdf_io::var_attr_text(var, "units").unwrap_or_default();
    let Some((per, epoch)) = netcdf_time::parse_since_units(&units) else {
        if name == "time" && file.variable("datetime").is_ok() {
            let dt = file
                .variable("datetime")
                .map_err(|e| netcdf_io::reader_error(path, "datetime", e))?;
            let dt_units = netcdf_io::var_attr_text(dt, "units").unwrap_or_default();
            if let Some((per, epoch)) = netcdf_time::parse_since_units(&dt_units) {
                let n = var.dimensions[0].size as usize;
                let all = scaled(file, path, dt, per, epoch)?;
                // (batch, time) or (time): batch 0 is the first `n` values.
                return Ok(all.into_iter().take(n).collect());
            }
        }
        return Err(data_err(
            path,
            name,
            format!("units `{units}` are not of the form `<unit> since <date>`"),
        ));
    };
    if let Some(cal) = netcdf_io::var_attr_text(var, "calendar") {
        if !netcdf_time::is_gregorian(&cal) {
            return Err(data_err(
                path,
                name,
                format!("calendar `{cal}` is not supported"),
            ));
        }
    }
    scaled(file, path, var, per, epoch)
}

fn scaled(file: &NcFile, path: &Path, var: &NcVariable, per: i64, epoch: i64) -> Result<Vec<i64>> {
    let name = var.name.as_str();
    let overflow = || data_err(path, name, "time value overflows 64-bit nanoseconds".into());
    if matches!(var.dtype, NcType::Float | NcType::Double) {
        netcdf_io::read_f64(file, path, var, None)?
            .into_iter()
            .map(|x| {
                if !x.is_finite() {
                    return Err(data_err(path, name, "contains missing (NaN) times".into()));
                }
                let ns = (x * per as f64).round();
                if ns.abs() > 9.2e18 {
                    return Err(overflow());
                }
                (ns as i64).checked_add(epoch).ok_or_else(overflow)
            })
            .collect()
    } else {
        netcdf_io::read_i64(file, path, var)?
            .into_iter()
            .map(|x| {
                x.checked_mul(per)
                    .and_then(|v| v.checked_add(epoch))
                    .ok_or_else(overflow)
            })
            .collect()
    }
}
