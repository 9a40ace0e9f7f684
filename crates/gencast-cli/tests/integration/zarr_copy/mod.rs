//! Writing test data as Zarr v3 stores: a NetCDF file copied array by array (as xarray's
//! `to_zarr` would lay it out), and forecast outputs rewritten in either format and layout.

#![allow(dead_code)]

use std::path::Path;

use gencast::data::Dataset;
use gencast::forecast::{ForecastLayout, Naming, OutputVariable};
use gencast::output::forecast_nc::ForecastWriter;
use gencast::output::zarr::ZarrForecast;
use netcdf_reader::{NcFile, NcType};
use serde_json::{json, Map, Value};

/// Copies every numeric variable of the NetCDF file `src` into the uncompressed Zarr v3 store
/// `dst`: float variables as float32, the others as float64, attributes as JSON.
pub(crate) fn nc_to_zarr(src: &Path, dst: &Path) {
    let f = NcFile::open(src).unwrap();
    std::fs::create_dir_all(dst).unwrap();
    let root = json!({"zarr_format": 3, "node_type": "group", "attributes": {}});
    std::fs::write(dst.join("zarr.json"), root.to_string()).unwrap();
    for v in f.variables().unwrap() {
        let Ok(values) = f.read_variable_as_f64(&v.name) else {
            continue;
        };
        let values: Vec<f64> = values.iter().copied().collect();
        let dims: Vec<&str> = v.dimensions.iter().map(|d| d.name.as_str()).collect();
        let shape: Vec<u64> = v.dimensions.iter().map(|d| d.size).collect();
        if dims.is_empty() || shape.contains(&0) {
            continue;
        }
        let mut attrs = Map::new();
        for a in &v.attributes {
            if let Some(s) = a.value.as_string() {
                attrs.insert(a.name.clone(), json!(s));
            } else if let Some(x) = a.value.as_f64_vec() {
                if x.iter().all(|v| v.is_finite()) {
                    let val = if x.len() == 1 { json!(x[0]) } else { json!(x) };
                    attrs.insert(a.name.clone(), val);
                }
            }
        }
        let is_f32 = v.dtype == NcType::Float;
        let meta = json!({
            "zarr_format": 3,
            "node_type": "array",
            "shape": shape,
            "data_type": if is_f32 { "float32" } else { "float64" },
            "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": shape}},
            "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
            "fill_value": "NaN",
            "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}],
            "attributes": Value::Object(attrs),
            "dimension_names": dims,
        });
        let a = dst.join(&v.name);
        let mut chunk = a.join("c");
        for _ in 1..dims.len() {
            chunk = chunk.join("0");
        }
        std::fs::create_dir_all(&chunk).unwrap();
        std::fs::write(a.join("zarr.json"), meta.to_string()).unwrap();
        let bytes: Vec<u8> = if is_f32 {
            values
                .iter()
                .flat_map(|&x| (x as f32).to_le_bytes())
                .collect()
        } else {
            values.iter().flat_map(|&x| x.to_le_bytes()).collect()
        };
        std::fs::write(chunk.join("0"), bytes).unwrap();
    }
}

/// Variables of the reference's rollout fixture.
pub(crate) const VARIABLES: [&str; 12] = [
    "10m_u_component_of_wind",
    "10m_v_component_of_wind",
    "2m_temperature",
    "geopotential",
    "mean_sea_level_pressure",
    "sea_surface_temperature",
    "specific_humidity",
    "temperature",
    "total_precipitation_12hr",
    "u_component_of_wind",
    "v_component_of_wind",
    "vertical_velocity",
];

/// Where a rewritten forecast goes.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Format {
    /// NetCDF file.
    Nc,
    /// Zarr store.
    Zarr,
}

/// Rewrites the 2-member, 2-step rollout `src` as a forecast output initialised at
/// `init_time`, keeping the latitude rows `lat` and the longitude columns `lon` (values
/// `lon_values`) of the 10° grid, in `format` with `naming`.
pub(crate) fn rewrite_forecast(
    src: &Path,
    dst: &Path,
    format: Format,
    naming: Naming,
    init_time: &str,
    grid: Option<(&[usize], &[usize], &[f32])>,
) {
    let fc = Dataset::open(src).unwrap();
    let all_lat: Vec<usize> = (0..fc.lat().len()).collect();
    let all_lon: Vec<usize> = (0..fc.lon().len()).collect();
    let (lat, lon, lon_values) = grid.unwrap_or((&all_lat, &all_lon, fc.lon()));
    let variables: Vec<OutputVariable> = VARIABLES
        .iter()
        .map(|v| OutputVariable {
            name: v.to_string(),
            levelled: fc.variable(v).unwrap().dims.contains(&"level".to_string()),
            units: None,
            statistic: None,
        })
        .collect();
    let layout = ForecastLayout {
        variables: variables.clone(),
        levels: fc.level().to_vec(),
        lat: lat.iter().map(|&i| fc.lat()[i]).collect(),
        lon: lon_values.to_vec(),
        members: vec![0, 1],
        lead_hours: vec![12, 24],
        init_time: init_time.into(),
        history: "test".into(),
        naming,
        statics: Vec::new(),
    };
    let nlon = fc.lon().len();
    let per_level = fc.lat().len() * nlon;
    let pick = |field: &[f32]| -> Vec<f32> {
        field
            .chunks(per_level)
            .flat_map(|f| {
                lat.iter()
                    .flat_map(move |&i| lon.iter().map(move |&j| f[i * nlon + j]))
            })
            .collect()
    };
    let mut fields = Vec::new();
    for (vi, v) in variables.iter().enumerate() {
        let x = fc.read_all(&v.name).unwrap();
        let per = x.data.len() / 4;
        for m in 0..2 {
            for s in 0..2 {
                let start = (m * 2 + s) * per;
                fields.push((m, s, vi, pick(&x.data[start..start + per])));
            }
        }
    }
    match format {
        Format::Nc => {
            let mut w = ForecastWriter::create(dst, layout).unwrap();
            for (m, s, v, f) in &fields {
                w.write_field(*m, *s, *v, f).unwrap();
            }
            w.finish().unwrap();
        }
        Format::Zarr => {
            let z = ZarrForecast::open_or_create(dst, layout, &json!({})).unwrap();
            for (m, s, v, f) in &fields {
                z.write_field(*m, *s, *v, f).unwrap();
            }
        }
    }
}
