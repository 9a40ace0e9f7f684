//! NetCDF sources: CDS ERA5 files (`valid_time`, `pressure_level`, `latitude`, short names),
//! older CDS and WeatherBench-2 exports (`time`, `level`, long names) and files already in the
//! model's layout. Dimensions are recognised by name, in any order.

use std::path::Path;

use netcdf_reader::{NcFile, NcType, NcVariable};

use super::field::{transpose, Field, LAT_NAMES, LEVEL_NAMES, LON_NAMES, TIME_NAMES};
use super::tables::name_rule;
use crate::data::netcdf_io;
use crate::data::netcdf_time;
use crate::{Error, Result};

/// Reads every gridded variable (one with latitude and longitude dimensions) of a NetCDF file.
pub fn read_fields(path: &Path) -> Result<Vec<Field>> {
    let file = netcdf_io::open(path)?;
    let vars = file
        .variables()
        .map_err(|e| netcdf_io::reader_error(path, "variables", e))?;
    let mut fields = Vec::new();
    for var in vars {
        let dims: Vec<&str> = var.dimensions.iter().map(|d| d.name.as_str()).collect();
        let has = |names: &[&str]| dims.iter().any(|d| names.contains(d));
        if dims.len() < 2 || !has(&LAT_NAMES) || !has(&LON_NAMES) {
            continue;
        }
        fields.push(read_field(&file, path, var)?);
    }
    Ok(fields)
}

fn data_err(path: &Path, variable: &str, detail: String) -> Error {
    Error::Data {
        path: path.to_path_buf(),
        variable: variable.to_string(),
        detail,
    }
}

fn read_field(file: &NcFile, path: &Path, var: &NcVariable) -> Result<Field> {
    let name = var.name.as_str();
    let shape = netcdf_io::shape(path, var)?;
    let mut roles = Vec::with_capacity(shape.len());
    let mut out_shape = [1usize; 4];
    let mut times = None;
    let mut levels = None;
    let mut lat = Vec::new();
    let mut lon = Vec::new();
    for (dim, &size) in var.dimensions.iter().zip(&shape) {
        let d = dim.name.as_str();
        let role = if TIME_NAMES.contains(&d) {
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
    let data = transpose(&raw, &shape, &roles, out_shape);
    let rule = name_rule(name);
    Ok(Field {
        path: path.to_path_buf(),
        source_name: name.to_string(),
        model_name: rule.model,
        conversion: rule.conversion,
        units: netcdf_io::var_attr_text(var, "units"),
        times,
        levels,
        lat,
        lon,
        data,
        member: None,
        messages: Vec::new(),
    })
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
