//! Thin layer over `netcdf-reader`: opening files with our error type, attribute conversion,
//! and numeric reads with the CF decoding xarray applies (`_FillValue`/`missing_value` → NaN,
//! then `scale_factor`/`add_offset`). Like xarray, `valid_min`/`valid_max`/`valid_range` are not
//! applied; the `_Unsigned` convention is not supported (such integers are read as signed).

use std::path::Path;

use netcdf_reader::{NcAttrValue, NcFile, NcSliceInfo, NcSliceInfoElem, NcType, NcVariable};

use super::bounds;
use crate::{Error, Result};

/// A decoded NetCDF attribute value.
#[derive(Debug, Clone, PartialEq)]
pub enum AttrValue {
    /// Character or string attribute.
    Text(String),
    /// Numeric attribute (any integer or float type), as f64.
    Numbers(Vec<f64>),
    /// Any other attribute type (user-defined, several strings), rendered as text.
    Other(String),
}

impl AttrValue {
    /// The text of a character attribute.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            AttrValue::Text(s) => Some(s),
            _ => None,
        }
    }

    /// The single value of a one-element numeric attribute.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            AttrValue::Numbers(v) if v.len() == 1 => v.first().copied(),
            _ => None,
        }
    }
}

/// Converts a reader attribute value.
pub(crate) fn attr_value(value: &NcAttrValue) -> AttrValue {
    if let Some(s) = value.as_string() {
        return AttrValue::Text(s);
    }
    match value.as_f64_vec() {
        Some(v) => AttrValue::Numbers(v),
        None => AttrValue::Other(format!("{value:?}")),
    }
}

/// Maps a reader error to our error type, naming the file and what was being read.
pub(crate) fn reader_error(path: &Path, what: &str, err: netcdf_reader::Error) -> Error {
    match err {
        netcdf_reader::Error::Io(e) => Error::io(path, e),
        netcdf_reader::Error::InvalidMagic => Error::format(
            path,
            what,
            "not a NetCDF file (neither the classic `CDF` nor the HDF5 signature)",
        ),
        other => {
            let detail = other.to_string();
            if detail.contains("end of") {
                Error::format(
                    path,
                    what,
                    format!("file is truncated or corrupt: {detail}"),
                )
            } else {
                Error::format(path, what, detail)
            }
        }
    }
}

/// Opens a NetCDF file (classic CDF-1/2/5 or NetCDF-4/HDF5).
pub(crate) fn open(path: &Path) -> Result<NcFile> {
    match std::fs::metadata(path) {
        Err(e) => return Err(Error::io(path, e)),
        Ok(m) if m.is_dir() && path.join(".zmetadata").is_file() => {
            // A Zarr v2 store with consolidated metadata (as `prepare` writes): read through
            // a NetCDF image of its arrays.
            let image = super::sources::zarr::netcdf_image(path)?;
            return NcFile::from_vec(image).map_err(|e| reader_error(path, "Zarr store", e));
        }
        Ok(m) if m.is_dir() => {
            let detail = if path.join("zarr.json").is_file() {
                "is a Zarr store (v3); this command reads NetCDF files and Zarr v2 stores with \
                 consolidated metadata: convert it with xarray, \
                 xr.open_zarr(STORE).to_netcdf(FILE)"
            } else {
                "is a folder; expected a NetCDF file"
            };
            return Err(Error::Format {
                path: path.to_path_buf(),
                what: "input".into(),
                detail: detail.into(),
            });
        }
        Ok(_) => {}
    }
    NcFile::open(path).map_err(|e| reader_error(path, "NetCDF header", e))
}

/// The text of a variable's character attribute.
pub(crate) fn var_attr_text(var: &NcVariable, name: &str) -> Option<String> {
    var.attribute(name).and_then(|a| a.value.as_string())
}

/// The first value of a variable's numeric attribute.
fn var_attr_f64(var: &NcVariable, name: &str) -> Option<f64> {
    var.attribute(name).and_then(|a| a.value.as_f64())
}

/// Shape of a variable as `usize`, failing on sizes that do not fit.
pub(crate) fn shape(path: &Path, var: &NcVariable) -> Result<Vec<usize>> {
    var.dimensions
        .iter()
        .map(|d| {
            usize::try_from(d.size).map_err(|_| {
                Error::format(
                    path,
                    var.name.as_str(),
                    format!("dimension `{}` too large", d.name),
                )
            })
        })
        .collect()
}

/// The number of values a read of `var` (whole, or the hyperslab `selection`) returns, refused
/// before reading when the file declares more than [`bounds::max_read_bytes`] allows.
pub(crate) fn checked_read_len(
    path: &Path,
    var: &NcVariable,
    selection: Option<&NcSliceInfo>,
) -> Result<usize> {
    let sizes: Vec<u64> = match selection {
        None => var.dimensions.iter().map(|d| d.size).collect(),
        Some(sel) => sel
            .selections
            .iter()
            .zip(&var.dimensions)
            .map(|(s, d)| match s {
                NcSliceInfoElem::Index(_) => 1,
                NcSliceInfoElem::Slice { start, end, step } => {
                    let end = (*end).min(d.size);
                    end.saturating_sub(*start).div_ceil((*step).max(1))
                }
            })
            .collect(),
    };
    bounds::checked_count(path, var.name.as_str(), &sizes, bounds::VALUE_BYTES)
}

/// The CF decoding parameters of one variable.
struct Decode {
    fill: Vec<f64>,
    scale: Option<f64>,
    offset: Option<f64>,
}

impl Decode {
    fn of(var: &NcVariable) -> Decode {
        let mut fill = Vec::new();
        for name in ["_FillValue", "missing_value"] {
            if let Some(v) = var.attribute(name).and_then(|a| a.value.as_f64_vec()) {
                fill.extend(v.into_iter().filter(|x| !x.is_nan()));
            }
        }
        Decode {
            fill,
            scale: var_attr_f64(var, "scale_factor"),
            offset: var_attr_f64(var, "add_offset"),
        }
    }

    fn is_packed(&self) -> bool {
        self.scale.is_some() || self.offset.is_some()
    }

    fn apply(&self, raw: f64) -> f64 {
        if self.fill.contains(&raw) {
            return f64::NAN;
        }
        raw * self.scale.unwrap_or(1.0) + self.offset.unwrap_or(0.0)
    }
}

/// Flattens a row-major array returned by the reader, without copying when its buffer is
/// already contiguous. (A macro, so the array type need not be named.)
macro_rules! flat {
    ($array:expr) => {{
        let array = $array;
        let n = array.len();
        if array.is_standard_layout() {
            let (v, offset) = array.into_raw_vec_and_offset();
            let offset = offset.unwrap_or(0);
            if offset == 0 && v.len() == n {
                v
            } else {
                v.into_iter().skip(offset).take(n).collect()
            }
        } else {
            array.iter().cloned().collect()
        }
    }};
}

/// Reads a numeric variable (optionally a hyperslab) as f32 with CF decoding.
///
/// Unpacked `float` variables are read directly as f32; everything else is read as f64,
/// decoded, and rounded to f32.
pub(crate) fn read_f32(
    file: &NcFile,
    path: &Path,
    var: &NcVariable,
    selection: Option<&NcSliceInfo>,
) -> Result<Vec<f32>> {
    let decode = Decode::of(var);
    let name = var.name.as_str();
    checked_read_len(path, var, selection)?;
    if var.dtype == NcType::Float && !decode.is_packed() {
        let array = match selection {
            Some(sel) => file.read_variable_slice::<f32>(name, sel),
            None => file.read_variable::<f32>(name),
        }
        .map_err(|e| reader_error(path, name, e))?;
        let mut data = flat!(array);
        if !decode.fill.is_empty() {
            for x in &mut data {
                if decode.fill.contains(&f64::from(*x)) {
                    *x = f32::NAN;
                }
            }
        }
        return Ok(data);
    }
    let raw = read_raw_f64(file, path, var, selection)?;
    Ok(raw.into_iter().map(|x| decode.apply(x) as f32).collect())
}

/// Reads a numeric variable (optionally a hyperslab) as f64 with CF decoding.
pub(crate) fn read_f64(
    file: &NcFile,
    path: &Path,
    var: &NcVariable,
    selection: Option<&NcSliceInfo>,
) -> Result<Vec<f64>> {
    let decode = Decode::of(var);
    let raw = read_raw_f64(file, path, var, selection)?;
    Ok(raw.into_iter().map(|x| decode.apply(x)).collect())
}

/// Reads the stored values promoted to f64, without CF decoding.
fn read_raw_f64(
    file: &NcFile,
    path: &Path,
    var: &NcVariable,
    selection: Option<&NcSliceInfo>,
) -> Result<Vec<f64>> {
    check_numeric(path, var)?;
    checked_read_len(path, var, selection)?;
    let name = var.name.as_str();
    let array = match selection {
        Some(sel) => file.read_variable_slice_as_f64(name, sel),
        None => file.read_variable_as_f64(name),
    }
    .map_err(|e| reader_error(path, name, e))?;
    Ok(flat!(array))
}

/// Reads an integer or float variable exactly as i64 (floats must hold whole numbers).
/// Used for time coordinates, where f64 would lose nanosecond precision.
pub(crate) fn read_i64(file: &NcFile, path: &Path, var: &NcVariable) -> Result<Vec<i64>> {
    check_numeric(path, var)?;
    checked_read_len(path, var, None)?;
    let name = var.name.as_str();
    let err = |e| reader_error(path, name, e);
    let values: Vec<i64> = match var.dtype {
        NcType::Int64 => flat!(file.read_variable::<i64>(name).map_err(err)?),
        NcType::UInt64 => {
            let v = flat!(file.read_variable::<u64>(name).map_err(err)?);
            v.into_iter()
                .map(|x| {
                    i64::try_from(x).map_err(|_| {
                        Error::format(path, name, format!("value {x} does not fit in int64"))
                    })
                })
                .collect::<Result<_>>()?
        }
        NcType::Float | NcType::Double => {
            let v = flat!(file.read_variable_as_f64(name).map_err(err)?);
            v.into_iter()
                .map(|x| {
                    if x.fract() == 0.0 && x.abs() < 9.2e18 {
                        Ok(x as i64)
                    } else {
                        Err(Error::format(
                            path,
                            name,
                            format!("value {x} is not a whole number"),
                        ))
                    }
                })
                .collect::<Result<_>>()?
        }
        _ => {
            // Integer types of at most 32 bits are exact in f64.
            let v = flat!(file.read_variable_as_f64(name).map_err(err)?);
            v.into_iter().map(|x| x as i64).collect()
        }
    };
    Ok(values)
}

/// Fails unless the variable has a numeric (integer or floating-point) type.
fn check_numeric(path: &Path, var: &NcVariable) -> Result<()> {
    match var.dtype {
        NcType::Byte
        | NcType::Short
        | NcType::Int
        | NcType::Float
        | NcType::Double
        | NcType::UByte
        | NcType::UShort
        | NcType::UInt
        | NcType::Int64
        | NcType::UInt64 => Ok(()),
        ref other => Err(Error::format(
            path,
            var.name.as_str(),
            format!("expected a numeric variable, found type {other:?}"),
        )),
    }
}
