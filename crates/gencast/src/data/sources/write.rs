//! Writes a prepared dataset as NetCDF in the reference's example layout.

use std::path::Path;

use super::Prepared;
use crate::data::netcdf_time::format_datetime;
use crate::forecast::AttrValue;
use crate::output::cf;
use crate::output::guard::{OutputKind, StagedOutput};
use crate::output::netcdf::{NcHeader, NcType, NcWriter};
use crate::time::NS_PER_HOUR;
use crate::{Error, Result};

fn text(key: &str, value: &str) -> (String, AttrValue) {
    (key.to_string(), AttrValue::Text(value.to_string()))
}

/// NetCDF text attributes from CF attribute pairs.
fn texts(pairs: Vec<(&'static str, String)>) -> Vec<(String, AttrValue)> {
    pairs
        .into_iter()
        .map(|(k, v)| (k.to_string(), AttrValue::Text(v)))
        .collect()
}

/// The global attributes of a prepared dataset.
pub(super) const GLOBAL_ATTRS: [(&str, &str); 2] = [
    ("Conventions", cf::CONVENTIONS),
    ("title", "GenCast input dataset written by gencast prepare"),
];

/// The `long_name` of the `time` coordinate (offsets from the first frame).
pub(super) const TIME_LONG_NAME: &str = "time since the first frame";

/// Writes `prepared` to `path` (classic NetCDF, 64-bit offsets): dims batch, time, lat, lon,
/// level; `lat`/`lon` float32, `level` int32 (hPa), `time` offsets from the first frame in hours,
/// `datetime` (batch, time) in hours since the first frame; statics on (lat, lon), surface variables on
/// (batch, time, lat, lon), level variables on (batch, time, level, lat, lon), year progress on
/// (batch, time) and day progress on (batch, time, lon). The file declares CF-1.8: every value
/// is in the model's units, and each variable carries `units`, `standard_name` and `long_name`
/// from the variables table, as forecasts do. The file is written in a private folder beside
/// `path` and appears only when complete; an existing file at `path` is replaced, a folder is
/// refused.
pub fn write_netcdf(prepared: &Prepared, path: &Path) -> Result<()> {
    let staged = StagedOutput::new(path, OutputKind::File)?;
    write_netcdf_new(prepared, staged.path())?;
    staged.commit(true)
}

/// [`write_netcdf`] to `path`, where nothing exists yet.
fn write_netcdf_new(prepared: &Prepared, path: &Path) -> Result<()> {
    let first = *prepared
        .datetimes
        .first()
        .ok_or_else(|| Error::Invalid("a prepared dataset has no frames".into()))?;
    let mut h = NcHeader {
        attrs: GLOBAL_ATTRS.iter().map(|&(k, v)| text(k, v)).collect(),
        ..NcHeader::default()
    };
    let d_batch = h.add_dim("batch", 1);
    let d_time = h.add_dim("time", prepared.datetimes.len());
    let d_lat = h.add_dim("lat", prepared.lat.len());
    let d_lon = h.add_dim("lon", prepared.lon.len());
    let d_level = h.add_dim("level", prepared.levels.len());
    let v_lon = h.add_var("lon", &[d_lon], NcType::Float, texts(cf::longitude()));
    let v_lat = h.add_var("lat", &[d_lat], NcType::Float, texts(cf::latitude()));
    let v_level = h.add_var(
        "level",
        &[d_level],
        NcType::Int,
        texts(cf::pressure_level()),
    );
    // As xarray writes a timedelta64 coordinate, so that it reads back as one.
    let v_time = h.add_var(
        "time",
        &[d_time],
        NcType::Int,
        vec![
            text("long_name", TIME_LONG_NAME),
            text("dtype", "timedelta64[ns]"),
            text("units", "hours"),
        ],
    );
    let epoch = format_datetime(first).replace('T', " ");
    let v_datetime = h.add_var(
        "datetime",
        &[d_batch, d_time],
        NcType::Int,
        texts(cf::valid_time(&format!("hours since {epoch}"))),
    );
    let mut var_ids = Vec::new();
    for v in &prepared.vars {
        let dims: Vec<usize> = match (v.forcing, v.timed, v.leveled) {
            (Some(f), _, _) if f.per_longitude() => vec![d_batch, d_time, d_lon],
            (Some(_), _, _) => vec![d_batch, d_time],
            (None, false, _) => vec![d_lat, d_lon],
            (None, true, false) => vec![d_batch, d_time, d_lat, d_lon],
            (None, true, true) => vec![d_batch, d_time, d_level, d_lat, d_lon],
        };
        let mut attrs = vec![("_FillValue".to_string(), AttrValue::Float(vec![f32::NAN]))];
        if v.timed {
            attrs.push(text("coordinates", "datetime"));
        }
        attrs.extend(texts(cf::attributes(&v.name, None)));
        let id = h.add_var(&v.name, &dims, NcType::Float, attrs);
        if h.var_len(id) != v.data.len() as u64 {
            return Err(Error::Shape {
                what: format!("prepared variable `{}`", v.name),
                expected: dims.iter().map(|&d| h.dims[d].1).collect(),
                found: vec![v.data.len()],
            });
        }
        var_ids.push(id);
    }
    let mut w = NcWriter::create(path, h)?;
    w.write_f32(v_lon, 0, &prepared.lon)?;
    w.write_f32(v_lat, 0, &prepared.lat)?;
    w.write_i32(v_level, 0, &prepared.levels)?;
    let hours = |ns: i64| -> Result<i32> {
        i32::try_from(ns / NS_PER_HOUR)
            .map_err(|_| Error::Invalid(format!("time {ns} ns does not fit the file's hours")))
    };
    let offsets: Vec<i32> = prepared
        .datetimes
        .iter()
        .map(|&t| hours(t - first))
        .collect::<Result<_>>()?;
    w.write_i32(v_time, 0, &offsets)?;
    w.write_i32(v_datetime, 0, &offsets)?;
    for (v, &id) in prepared.vars.iter().zip(&var_ids) {
        w.write_f32(id, 0, &v.data)?;
    }
    w.finish()
}
