//! Climatologies for anomaly correlations: a NetCDF file or Zarr store holding, per variable,
//! a mean field with dims (any order) `[dayofyear,] [hour,] [level,] lat|latitude,
//! lon|longitude`: WeatherBench 2's climatologies (`dayofyear` 1..366 and `hour` of day of the
//! valid time) or a single mean field per variable (neither dimension).

use std::ops::Range;
use std::path::{Path, PathBuf};

use super::source::{ArrayInfo, Source};
use super::{data_err, to_canonical, LAT_NAMES, LEVEL_NAME, LON_NAMES};
use crate::data::netcdf_time::{civil_from_days, days_from_civil};
use crate::time::NS_PER_DAY;
use crate::{Error, Result};

/// Nanoseconds per hour.
use crate::time::NS_PER_HOUR as HOUR_NS;

/// An opened climatology.
pub struct Climatology {
    path: PathBuf,
    source: Source,
    arrays: Vec<ArrayInfo>,
    lat_name: String,
    lon_name: String,
    lat: Vec<f32>,
    lon: Vec<f32>,
    levels: Vec<i32>,
    dayofyear: Vec<i64>,
    hour: Vec<i64>,
}

/// Day of the year (1 = 1 January) and hour of the day of a time in ns since the epoch.
pub fn dayofyear_hour(ns: i64) -> (i64, i64) {
    let days = ns.div_euclid(NS_PER_DAY);
    let (y, _, _) = civil_from_days(days);
    let doy = days - days_from_civil(y, 1, 1) + 1;
    (doy, ns.rem_euclid(NS_PER_DAY) / HOUR_NS)
}

impl Climatology {
    /// Opens a climatology file or store and reads its coordinates.
    pub fn open(path: impl AsRef<Path>) -> Result<Climatology> {
        let path = path.as_ref().to_path_buf();
        let (source, arrays) = Source::open(&path)?;
        let has = |n: &str| arrays.iter().any(|a| a.name == n);
        let find = |set: &[&str]| set.iter().find(|n| has(n)).map(|n| n.to_string());
        let missing = |key: &str| Error::Missing {
            path: path.clone(),
            what: "coordinate",
            key: key.to_string(),
        };
        let lat_name = find(&LAT_NAMES).ok_or_else(|| missing("lat"))?;
        let lon_name = find(&LON_NAMES).ok_or_else(|| missing("lon"))?;
        let read = |n: &str| -> Result<Vec<f64>> {
            if has(n) {
                source.read_f64(&path, n, None)
            } else {
                Ok(Vec::new())
            }
        };
        let lat = read(&lat_name)?.into_iter().map(|x| x as f32).collect();
        let lon = read(&lon_name)?.into_iter().map(|x| x as f32).collect();
        let levels = read(LEVEL_NAME)?.into_iter().map(|x| x as i32).collect();
        let dayofyear = read("dayofyear")?.into_iter().map(|x| x as i64).collect();
        let hour = read("hour")?.into_iter().map(|x| x as i64).collect();
        Ok(Climatology {
            path,
            source,
            arrays,
            lat_name,
            lon_name,
            lat,
            lon,
            levels,
            dayofyear,
            hour,
        })
    }

    /// The file or store.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Latitudes in file order.
    pub fn lat(&self) -> &[f32] {
        &self.lat
    }

    /// Longitudes in file order.
    pub fn lon(&self) -> &[f32] {
        &self.lon
    }

    /// Pressure levels (hPa).
    pub fn levels(&self) -> &[i32] {
        &self.levels
    }

    /// Whether the climatology holds variable `name`.
    pub fn has(&self, name: &str) -> bool {
        self.arrays.iter().any(|a| a.name == name)
    }

    /// The climatology of `name` at valid time `valid` (ns since the epoch; needed when the
    /// file has `dayofyear` or `hour` dimensions), laid out `[level][lat][lon]`.
    pub fn read(&self, name: &str, valid: Option<i64>) -> Result<Vec<f32>> {
        let info = self
            .arrays
            .iter()
            .find(|a| a.name == name)
            .ok_or_else(|| Error::Missing {
                path: self.path.clone(),
                what: "climatology variable",
                key: name.to_string(),
            })?;
        let mut ranges: Vec<Range<usize>> = Vec::new();
        let mut kept: Vec<(usize, usize)> = Vec::new();
        for (d, &size) in info.dims.iter().zip(&info.shape) {
            let pick = |coord: &[i64], what: &str, value: Option<i64>| -> Result<Range<usize>> {
                let v = value.ok_or_else(|| {
                    data_err(
                        &self.path,
                        name,
                        format!("has a `{what}` dimension but the forecast has no valid times"),
                    )
                })?;
                let i = coord.iter().position(|&c| c == v).ok_or_else(|| {
                    data_err(
                        &self.path,
                        name,
                        format!("no {what} {v} (the coordinate holds {coord:?})"),
                    )
                })?;
                Ok(i..i + 1)
            };
            let parts = valid.map(dayofyear_hour);
            match d.as_str() {
                "dayofyear" => ranges.push(pick(&self.dayofyear, "dayofyear", parts.map(|p| p.0))?),
                "hour" => ranges.push(pick(&self.hour, "hour", parts.map(|p| p.1))?),
                LEVEL_NAME => {
                    kept.push((0, size));
                    ranges.push(0..size);
                }
                x if x == self.lat_name => {
                    kept.push((1, size));
                    ranges.push(0..size);
                }
                x if x == self.lon_name => {
                    kept.push((2, size));
                    ranges.push(0..size);
                }
                _ if size == 1 => ranges.push(0..1),
                other => {
                    return Err(data_err(
                        &self.path,
                        name,
                        format!(
                            "dimension `{other}` ({size} values); expected dayofyear, hour, \
                             level, latitude and longitude"
                        ),
                    ))
                }
            }
        }
        let data = self.source.read_f32(&self.path, name, Some(&ranges))?;
        let expected = kept.iter().try_fold(1usize, |a, k| a.checked_mul(k.1));
        if expected != Some(data.len()) {
            return Err(data_err(
                &self.path,
                name,
                format!("read {} values, expected {expected:?}", data.len()),
            ));
        }
        Ok(to_canonical(&data, &kept))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_of_year_and_hour() {
        // 2019-03-29T18:00: day 31 + 28 + 29 = 88.
        let ns = crate::data::netcdf_time::parse_datetime("2019-03-29T18:00").unwrap();
        assert_eq!(dayofyear_hour(ns), (88, 18));
        // 2020-12-31 is day 366 of a leap year.
        let ns = crate::data::netcdf_time::parse_datetime("2020-12-31T00:00").unwrap();
        assert_eq!(dayofyear_hour(ns), (366, 0));
    }
}
