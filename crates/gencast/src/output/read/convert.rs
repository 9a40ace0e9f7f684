//! Copying a Zarr store into a NetCDF file (CDF-5), so that readers of NetCDF datasets can take
//! Zarr ones: every array with its dimension names and attributes, values CF-decoded (missing
//! values become NaN, packed integers are unpacked to doubles).

use std::path::Path;

use serde_json::Value;

use super::source::Source;
use crate::forecast::AttrValue;
use crate::output::netcdf::{NcHeader, NcType, NcWriter};
use crate::{Error, Result};

/// Attributes dropped because the values are written decoded, or kept as dimension names.
const DROPPED: [&str; 5] = [
    "_ARRAY_DIMENSIONS",
    "_FillValue",
    "missing_value",
    "scale_factor",
    "add_offset",
];

fn attr(v: &Value) -> Option<AttrValue> {
    match v {
        Value::String(s) => Some(AttrValue::Text(s.clone())),
        Value::Number(n) => n.as_f64().map(|x| AttrValue::Double(vec![x])),
        Value::Bool(b) => Some(AttrValue::Int(vec![i32::from(*b)])),
        Value::Array(a) if !a.is_empty() && a.iter().all(Value::is_number) => Some(
            AttrValue::Double(a.iter().filter_map(Value::as_f64).collect()),
        ),
        Value::Null => None,
        other => Some(AttrValue::Text(other.to_string())),
    }
}

/// Copies the Zarr store `src` into the NetCDF file `dst`.
pub fn zarr_to_netcdf(src: &Path, dst: &Path) -> Result<()> {
    let (source, arrays) = Source::open(src)?;
    let Source::Zarr { attrs, dtypes, .. } = &source else {
        return Err(Error::format(src, "input", "is not a Zarr store"));
    };
    let mut h = NcHeader::default();
    let mut dims: Vec<(String, usize)> = Vec::new();
    for a in &arrays {
        for (d, &n) in a.dims.iter().zip(&a.shape) {
            match dims.iter().find(|(x, _)| x == d) {
                Some((_, m)) if *m != n => {
                    return Err(Error::Data {
                        path: src.to_path_buf(),
                        variable: a.name.clone(),
                        detail: format!("dimension `{d}` has {n} values here and {m} elsewhere"),
                    })
                }
                Some(_) => {}
                None => dims.push((d.clone(), n)),
            }
        }
    }
    for (d, n) in &dims {
        h.add_dim(d, *n);
    }
    let mut types = Vec::with_capacity(arrays.len());
    for a in &arrays {
        let dtype = dtypes
            .iter()
            .find(|(n, _)| n == &a.name)
            .map_or("", |(_, t)| t.as_str());
        let a_attrs = attrs.iter().find(|(n, _)| n == &a.name).map(|(_, m)| m);
        let packed = a_attrs.is_some_and(|m| m.contains_key("scale_factor"));
        let ty = match dtype {
            "f4" if !packed => NcType::Float,
            "i2" | "i4" | "u1" | "i1" if !packed => NcType::Int,
            _ => NcType::Double,
        };
        let mut list = Vec::new();
        match ty {
            NcType::Float => {
                list.push(("_FillValue".to_string(), AttrValue::Float(vec![f32::NAN])))
            }
            NcType::Double => {
                list.push(("_FillValue".to_string(), AttrValue::Double(vec![f64::NAN])))
            }
            NcType::Int => {}
        }
        for (k, v) in a_attrs.into_iter().flatten() {
            if DROPPED.contains(&k.as_str()) {
                continue;
            }
            if let Some(x) = attr(v) {
                list.push((k.clone(), x));
            }
        }
        let ids: Vec<usize> = a
            .dims
            .iter()
            .map(|d| dims.iter().position(|(x, _)| x == d).unwrap_or(0))
            .collect();
        h.add_var(&a.name, &ids, ty, list);
        types.push(ty);
    }
    let mut nc = NcWriter::create(dst, h)?;
    for (i, (a, ty)) in arrays.iter().zip(types).enumerate() {
        if a.shape.contains(&0) {
            continue;
        }
        let values = source.read_f64(src, &a.name, None)?;
        match ty {
            NcType::Float => {
                let v: Vec<f32> = values.iter().map(|&x| x as f32).collect();
                nc.write_f32(i, 0, &v)?;
            }
            NcType::Double => nc.write_f64(i, 0, &values)?,
            NcType::Int => {
                let v: Vec<i32> = values.iter().map(|&x| x as i32).collect();
                nc.write_i32(i, 0, &v)?;
            }
        }
    }
    nc.finish()
}
