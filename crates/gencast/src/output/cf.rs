//! CF attributes (units, standard name, long name) of the variables written, from the variables
//! table ([`crate::variables`]), and of the coordinates outputs share.

use crate::variables::lookup;

/// The CF version outputs declare in their global `Conventions` attribute.
pub const CONVENTIONS: &str = "CF-1.8";

/// Attribute pairs as owned text.
fn pairs(list: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    list.iter().map(|&(k, v)| (k, v.to_string())).collect()
}

/// CF attributes of a latitude coordinate in degrees.
pub fn latitude() -> Vec<(&'static str, String)> {
    pairs(&[
        ("long_name", "latitude"),
        ("standard_name", "latitude"),
        ("units", "degrees_north"),
        ("axis", "Y"),
    ])
}

/// CF attributes of a longitude coordinate in degrees.
pub fn longitude() -> Vec<(&'static str, String)> {
    pairs(&[
        ("long_name", "longitude"),
        ("standard_name", "longitude"),
        ("units", "degrees_east"),
        ("axis", "X"),
    ])
}

/// CF attributes of a pressure-level coordinate in hPa.
pub fn pressure_level() -> Vec<(&'static str, String)> {
    pairs(&[
        ("long_name", "pressure level"),
        ("standard_name", "air_pressure"),
        ("units", "hPa"),
        ("positive", "down"),
        ("axis", "Z"),
    ])
}

/// CF attributes of a valid-time coordinate stored as offsets in `units` (e.g. `hours since
/// 2019-03-29 00:00`) of the proleptic Gregorian calendar.
pub fn valid_time(units: &str) -> Vec<(&'static str, String)> {
    pairs(&[
        ("long_name", "valid time"),
        ("standard_name", "time"),
        ("units", units),
        ("calendar", "proleptic_gregorian"),
    ])
}

/// CF attributes of data variable `name` (`units`, `standard_name`, `long_name`) as flat text
/// pairs; `units` given by the caller win over the table's.
pub fn attributes(name: &str, units: Option<&str>) -> Vec<(&'static str, String)> {
    let info = lookup(name);
    let mut out = Vec::new();
    if let Some(u) = units.or(info.map(|i| i.units)) {
        out.push(("units", u.to_string()));
    }
    if let Some(s) = info.and_then(|i| i.standard_name) {
        out.push(("standard_name", s.to_string()));
    }
    out.push((
        "long_name",
        info.map_or_else(|| name.replace('_', " "), |i| i.long_name.to_string()),
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_come_from_the_table() {
        assert_eq!(
            attributes("geopotential", None),
            vec![
                ("units", "m2 s-2".to_string()),
                ("standard_name", "geopotential".to_string()),
                ("long_name", "geopotential".to_string()),
            ]
        );
        assert_eq!(
            attributes("my_field", Some("W")),
            vec![
                ("units", "W".to_string()),
                ("long_name", "my field".to_string())
            ]
        );
    }

    /// The CF check of an output's data variable: it has the table's units, long name and
    /// standard name, and each name in its `coordinates` (returned) is a variable.
    fn check_data_variable(
        name: &str,
        attr: &dyn Fn(&str) -> Option<String>,
        exists: &dyn Fn(&str) -> bool,
    ) -> String {
        let info = lookup(name).unwrap();
        assert_eq!(attr("units").as_deref(), Some(info.units), "{name}");
        assert_eq!(attr("long_name").as_deref(), Some(info.long_name), "{name}");
        assert_eq!(
            attr("standard_name").as_deref(),
            info.standard_name,
            "{name}"
        );
        let coords = attr("coordinates").unwrap_or_default();
        for c in coords.split_whitespace() {
            assert!(exists(c), "{name}: coordinate `{c}` is not a variable");
        }
        coords
    }

    /// The CF check of a forecast's data variable: [`check_data_variable`], and the
    /// forecast-time coordinates are among its coordinates.
    fn check_forecast_variable(
        name: &str,
        attr: &dyn Fn(&str) -> Option<String>,
        exists: &dyn Fn(&str) -> bool,
    ) {
        let coords = check_data_variable(name, attr, exists);
        assert!(coords.contains("forecast_period") && coords.contains("forecast_reference_time"));
    }

    /// The CF check of a prepared dataset's coordinates (`attr(variable, key)`): latitude,
    /// longitude, pressure level (positive down) and valid time with standard names and units.
    fn check_prepared_coordinates(attr: &dyn Fn(&str, &str) -> Option<String>) {
        for (var, key, want) in [
            ("lat", "units", "degrees_north"),
            ("lat", "standard_name", "latitude"),
            ("lon", "units", "degrees_east"),
            ("lon", "standard_name", "longitude"),
            ("level", "units", "hPa"),
            ("level", "positive", "down"),
            ("level", "standard_name", "air_pressure"),
            ("datetime", "standard_name", "time"),
            ("datetime", "units", "hours since 2019-03-29 00:00:00"),
            ("datetime", "calendar", "proleptic_gregorian"),
            ("time", "units", "hours"),
        ] {
            assert_eq!(attr(var, key).as_deref(), Some(want), "{var}.{key}");
        }
        for var in ["lat", "lon", "level", "datetime", "time"] {
            assert!(attr(var, "long_name").is_some(), "{var} has no long_name");
        }
    }

    /// A small prepared dataset with a variable of each kind: static, surface, level, and the
    /// per-time and per-longitude progress features.
    fn small_prepared() -> crate::data::sources::Prepared {
        use crate::data::forcings::ProgressFeature;
        use crate::data::sources::{Prepared, PreparedVar};
        let t0 = crate::data::netcdf_time::parse_datetime("2019-03-29T00:00").unwrap();
        let (nt, nlev, nlat, nlon) = (2, 2, 3, 4);
        let var =
            |name: &str, timed, leveled, forcing: Option<ProgressFeature>, n: usize| PreparedVar {
                name: name.into(),
                timed,
                leveled,
                forcing,
                data: (0..n).map(|i| 250.0 + i as f32).collect(),
            };
        Prepared {
            lat: vec![-90.0, 0.0, 90.0],
            lon: vec![0.0, 90.0, 180.0, 270.0],
            levels: vec![500, 850],
            datetimes: vec![t0, t0 + 12 * crate::time::NS_PER_HOUR],
            vars: vec![
                var("land_sea_mask", false, false, None, nlat * nlon),
                var("2m_temperature", true, false, None, nt * nlat * nlon),
                var("temperature", true, true, None, nt * nlev * nlat * nlon),
                var(
                    "year_progress_sin",
                    true,
                    false,
                    Some(ProgressFeature::YearSin),
                    nt,
                ),
                var(
                    "day_progress_cos",
                    true,
                    false,
                    Some(ProgressFeature::DayCos),
                    nt * nlon,
                ),
            ],
        }
    }

    /// The names in folder `dir`.
    fn names(dir: &std::path::Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_prepared_netcdf_file_passes_the_cf_check() {
        use netcdf_reader::NcFile;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.nc");
        let prepared = small_prepared();
        crate::data::sources::write_netcdf(&prepared, &path).unwrap();
        assert_eq!(names(dir.path()), ["p.nc"], "a temporary was left behind");
        let f = NcFile::open(&path).unwrap();
        assert_eq!(
            f.global_attribute("Conventions")
                .unwrap()
                .value
                .as_string()
                .as_deref(),
            Some(CONVENTIONS)
        );
        let text = |var: &str, key: &str| {
            f.variable(var)
                .unwrap()
                .attribute(key)
                .and_then(|a| a.value.as_string())
        };
        check_prepared_coordinates(&text);
        for v in &prepared.vars {
            let coords =
                check_data_variable(&v.name, &|k| text(&v.name, k), &|c| f.variable(c).is_ok());
            assert_eq!(coords, if v.timed { "datetime" } else { "" }, "{}", v.name);
        }
        // The data reader reads it as before.
        let ds = crate::data::Dataset::open(&path).unwrap();
        assert_eq!(
            ds.read_all("temperature").unwrap().data,
            prepared.var("temperature").unwrap().data
        );
    }

    #[test]
    fn a_prepared_zarr_store_passes_the_cf_check_with_flat_attributes() {
        use serde_json::Value;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.zarr");
        let prepared = small_prepared();
        crate::data::sources::write_zarr(&prepared, &path).unwrap();
        assert_eq!(names(dir.path()), ["p.zarr"], "a temporary was left behind");
        let meta: Value =
            serde_json::from_str(&std::fs::read_to_string(path.join(".zmetadata")).unwrap())
                .unwrap();
        let meta = &meta["metadata"];
        let on_disk = |rel: &str| -> Value {
            serde_json::from_str(&std::fs::read_to_string(path.join(rel)).unwrap()).unwrap()
        };
        assert_eq!(meta[".zattrs"]["Conventions"], CONVENTIONS);
        assert_eq!(on_disk(".zattrs"), meta[".zattrs"]);
        let attrs = |var: &str| meta[format!("{var}/.zattrs")].clone();
        let text = |var: &str, key: &str| attrs(var)[key].as_str().map(str::to_string);
        check_prepared_coordinates(&text);
        for v in &prepared.vars {
            let a = attrs(&v.name);
            assert_eq!(on_disk(&format!("{}/.zattrs", v.name)), a, "{}", v.name);
            let coords =
                check_data_variable(&v.name, &|k| a[k].as_str().map(str::to_string), &|c| {
                    meta.get(format!("{c}/.zarray")).is_some()
                });
            assert_eq!(coords, if v.timed { "datetime" } else { "" }, "{}", v.name);
        }
        let ds = crate::data::Dataset::open(&path).unwrap();
        assert_eq!(
            ds.read_all("2m_temperature").unwrap().data,
            prepared.var("2m_temperature").unwrap().data
        );
    }

    #[test]
    fn netcdf_forecast_passes_the_cf_check() {
        use netcdf_reader::NcFile;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.nc");
        let layout = crate::output::forecast_nc::tests::small_layout();
        let w = crate::output::forecast_nc::ForecastWriter::create(&path, layout).unwrap();
        w.finish().unwrap();
        let f = NcFile::open(&path).unwrap();
        let text = |var: &str, key: &str| {
            f.variable(var)
                .unwrap()
                .attribute(key)
                .and_then(|a| a.value.as_string())
        };
        let mut checked = 0;
        for v in f.variables().unwrap() {
            let dims: Vec<String> = v.dimensions().iter().map(|d| d.name.clone()).collect();
            if dims.len() >= 5 && dims.ends_with(&["lat".to_string(), "lon".to_string()]) {
                check_forecast_variable(v.name(), &|k| text(v.name(), k), &|c| {
                    f.variable(c).is_ok()
                });
                checked += 1;
            }
        }
        assert_eq!(checked, 2, "2m_temperature and geopotential");
        assert_eq!(
            text("forecast_period", "standard_name").as_deref(),
            Some("forecast_period")
        );
        assert_eq!(
            text("forecast_reference_time", "units").as_deref(),
            Some("hours since 2019-03-30T00:00:00")
        );
        let period: Vec<i32> = f
            .read_variable::<i32>("forecast_period")
            .unwrap()
            .iter()
            .copied()
            .collect();
        assert_eq!(period, vec![12, 24]);
    }

    #[test]
    fn zarr_forecast_passes_the_cf_check_with_flat_attributes() {
        use serde_json::Value;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.zarr");
        let mut layout = crate::output::forecast_nc::tests::small_layout();
        layout.members = vec![0, 1];
        crate::output::zarr::ZarrForecast::open_or_create(
            &path,
            layout,
            &serde_json::json!({"seed": 1}),
        )
        .unwrap();
        let root: Value =
            serde_json::from_str(&std::fs::read_to_string(path.join("zarr.json")).unwrap())
                .unwrap();
        let flat = |attrs: &Value, what: &str| {
            for (k, v) in attrs.as_object().unwrap() {
                let ok = match v {
                    Value::String(_) | Value::Number(_) => true,
                    Value::Array(a) => a.iter().all(|x| x.is_number()),
                    _ => false,
                };
                assert!(
                    ok,
                    "{what}: attribute `{k}` is not a string or numbers: {v}"
                );
            }
        };
        flat(&root["attributes"], "root");
        let arrays = root["consolidated_metadata"]["metadata"]
            .as_object()
            .unwrap();
        let mut checked = 0;
        for (name, meta) in arrays {
            flat(&meta["attributes"], name);
            let on_disk: Value = serde_json::from_str(
                &std::fs::read_to_string(path.join(name).join("zarr.json")).unwrap(),
            )
            .unwrap();
            assert_eq!(&on_disk, meta, "{name}: consolidated copy differs");
            let dims = meta["dimension_names"].as_array().unwrap();
            if dims.len() >= 5 {
                let a = &meta["attributes"];
                check_forecast_variable(name, &|k| a[k].as_str().map(str::to_string), &|c| {
                    arrays.contains_key(c)
                });
                checked += 1;
            }
        }
        assert_eq!(checked, 2, "2m_temperature and geopotential");
        assert_eq!(
            arrays["forecast_period"]["attributes"]["standard_name"],
            "forecast_period"
        );
    }
}
