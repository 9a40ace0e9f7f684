//! Writes small classic-format (CDF-1) NetCDF files for the data tests, shaped like the
//! xarray example files: a 30° grid (7 latitudes x 12 longitudes), two pressure levels and
//! two 12-hourly frames.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use netcdf3::{DataSet, FileWriter, Version};

/// Number of latitudes of the test grid (-90 .. 90 step 30).
pub(crate) const N_LAT: usize = 7;
/// Number of longitudes of the test grid (0 .. 330 step 30).
pub(crate) const N_LON: usize = 12;
/// Number of frames.
pub(crate) const N_TIME: usize = 2;
/// Pressure levels of the test files.
pub(crate) const LEVELS: [i32; 2] = [500, 850];
/// Stored value of the packed pressure variable that means "missing".
pub(crate) const PACKED_FILL: i16 = -32_767;

/// What to put in a generated example file.
#[derive(Clone)]
pub(crate) struct Example {
    /// Latitude coordinate values.
    pub lat: Vec<f32>,
    /// Longitude coordinate values.
    pub lon: Vec<f32>,
    /// `units` of the `time` coordinate.
    pub time_units: String,
    /// `calendar` of the `datetime` coordinate.
    pub calendar: String,
    /// Whether to include `2m_temperature`.
    pub with_t2m: bool,
}

impl Default for Example {
    fn default() -> Self {
        Example {
            lat: (0..N_LAT).map(|i| -90.0 + 30.0 * i as f32).collect(),
            lon: (0..N_LON).map(|i| 30.0 * i as f32).collect(),
            time_units: "hours".into(),
            calendar: "proleptic_gregorian".into(),
            with_t2m: true,
        }
    }
}

/// Value of `2m_temperature` at (time, lat index, lon index).
pub(crate) fn t2m_value(t: usize, i: usize, j: usize) -> f32 {
    250.0 + t as f32 + 3.0 * i as f32 + 0.25 * j as f32
}

/// Stored (packed) `mean_sea_level_pressure` at a flat (time, lat, lon) index; every 5th is missing.
pub(crate) fn msl_packed(k: usize) -> i16 {
    if k.is_multiple_of(5) {
        PACKED_FILL
    } else {
        (k as i16) * 7 - 300
    }
}

/// `scale_factor` and `add_offset` of the packed pressure variable.
pub(crate) const MSL_SCALE: f64 = 0.5;
/// See [`MSL_SCALE`].
pub(crate) const MSL_OFFSET: f64 = 101_325.0;

/// Writes an example file into `dir` and returns its path.
pub(crate) fn write_example(dir: &Path, name: &str, ex: &Example) -> PathBuf {
    let path = dir.join(name);
    let (nlat, nlon) = (ex.lat.len(), ex.lon.len());
    let mut ds = DataSet::new();
    ds.add_fixed_dim("batch", 1).unwrap();
    ds.add_fixed_dim("time", N_TIME).unwrap();
    ds.add_fixed_dim("level", LEVELS.len()).unwrap();
    ds.add_fixed_dim("lat", nlat).unwrap();
    ds.add_fixed_dim("lon", nlon).unwrap();
    ds.add_var_f32("lat", &["lat"]).unwrap();
    ds.add_var_f32("lon", &["lon"]).unwrap();
    ds.add_var_i32("level", &["level"]).unwrap();
    ds.add_var_i32("time", &["time"]).unwrap();
    ds.add_var_attr_string("time", "units", &ex.time_units)
        .unwrap();
    ds.add_var_f64("datetime", &["batch", "time"]).unwrap();
    ds.add_var_attr_string("datetime", "units", "days since 2019-03-29T00:00:00")
        .unwrap();
    ds.add_var_attr_string("datetime", "calendar", &ex.calendar)
        .unwrap();
    if ex.with_t2m {
        ds.add_var_f32("2m_temperature", &["batch", "time", "lat", "lon"])
            .unwrap();
        ds.add_var_attr_string("2m_temperature", "units", "K")
            .unwrap();
        ds.add_var_attr_string("2m_temperature", "coordinates", "datetime")
            .unwrap();
    }
    ds.add_var_i16("mean_sea_level_pressure", &["batch", "time", "lat", "lon"])
        .unwrap();
    ds.add_var_attr_f64("mean_sea_level_pressure", "scale_factor", vec![MSL_SCALE])
        .unwrap();
    ds.add_var_attr_f64("mean_sea_level_pressure", "add_offset", vec![MSL_OFFSET])
        .unwrap();
    ds.add_var_attr_i16("mean_sea_level_pressure", "_FillValue", vec![PACKED_FILL])
        .unwrap();
    ds.add_var_attr_string("mean_sea_level_pressure", "units", "Pa")
        .unwrap();
    ds.add_var_f64("temperature", &["batch", "time", "level", "lat", "lon"])
        .unwrap();
    ds.add_var_f32("land_sea_mask", &["lat", "lon"]).unwrap();
    ds.add_var_attr_f32("land_sea_mask", "_FillValue", vec![-9999.0])
        .unwrap();
    ds.add_global_attr_string("title", "synthetic test file")
        .unwrap();

    let n2 = N_TIME * nlat * nlon;
    let mut w = FileWriter::open(&path).unwrap();
    w.set_def(&ds, Version::Classic, 0).unwrap();
    w.write_var_f32("lat", &ex.lat).unwrap();
    w.write_var_f32("lon", &ex.lon).unwrap();
    w.write_var_i32("level", &LEVELS).unwrap();
    w.write_var_i32("time", &[0, 12]).unwrap();
    w.write_var_f64("datetime", &[0.0, 0.5]).unwrap();
    if ex.with_t2m {
        let mut t2m = Vec::with_capacity(n2);
        for t in 0..N_TIME {
            for i in 0..nlat {
                for j in 0..nlon {
                    t2m.push(t2m_value(t, i, j));
                }
            }
        }
        w.write_var_f32("2m_temperature", &t2m).unwrap();
    }
    let msl: Vec<i16> = (0..n2).map(msl_packed).collect();
    w.write_var_i16("mean_sea_level_pressure", &msl).unwrap();
    let temp: Vec<f64> = (0..N_TIME * LEVELS.len() * nlat * nlon)
        .map(|k| 200.0 + k as f64 * 0.125)
        .collect();
    w.write_var_f64("temperature", &temp).unwrap();
    let lsm: Vec<f32> = (0..nlat * nlon)
        .map(|k| if k == 3 { -9999.0 } else { (k % 2) as f32 })
        .collect();
    w.write_var_f32("land_sea_mask", &lsm).unwrap();
    w.close().unwrap();
    path
}

/// Writes a statistics file with a scalar `2m_temperature` and `temperature` over `levels`.
pub(crate) fn write_stats(dir: &Path, name: &str, levels: &[i32]) -> PathBuf {
    let path = dir.join(name);
    let mut ds = DataSet::new();
    ds.add_fixed_dim("level", levels.len()).unwrap();
    ds.add_var_i32("level", &["level"]).unwrap();
    ds.add_var_f64::<&str>("2m_temperature", &[]).unwrap();
    ds.add_var_f64("temperature", &["level"]).unwrap();
    let mut w = FileWriter::open(&path).unwrap();
    w.set_def(&ds, Version::Classic, 0).unwrap();
    w.write_var_i32("level", levels).unwrap();
    w.write_var_f64("2m_temperature", &[280.5]).unwrap();
    let t: Vec<f64> = levels
        .iter()
        .map(|&l| 200.0 + f64::from(l) / 10.0)
        .collect();
    w.write_var_f64("temperature", &t).unwrap();
    w.close().unwrap();
    path
}
