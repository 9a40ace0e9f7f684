//! CF attributes (units, standard name, long name) of the variables written, from the variables
//! table ([`crate::variables`]), and of the coordinates outputs share.

use crate::variables::lookup;

/// The CF version outputs declare in their global `Conventions` attribute.
pub(crate) const CONVENTIONS: &str = "CF-1.8";

/// Attribute pairs as owned text.
fn pairs(list: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    list.iter().map(|&(k, v)| (k, v.to_string())).collect()
}

/// CF attributes of a latitude coordinate in degrees.
pub(crate) fn latitude() -> Vec<(&'static str, String)> {
    pairs(&[
        ("long_name", "latitude"),
        ("standard_name", "latitude"),
        ("units", "degrees_north"),
        ("axis", "Y"),
    ])
}

/// CF attributes of a longitude coordinate in degrees.
pub(crate) fn longitude() -> Vec<(&'static str, String)> {
    pairs(&[
        ("long_name", "longitude"),
        ("standard_name", "longitude"),
        ("units", "degrees_east"),
        ("axis", "X"),
    ])
}

/// CF attributes of a pressure-level coordinate in hPa.
pub(crate) fn pressure_level() -> Vec<(&'static str, String)> {
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
pub(crate) fn valid_time(units: &str) -> Vec<(&'static str, String)> {
    pairs(&[
        ("long_name", "valid time"),
        ("standard_name", "time"),
        ("units", units),
        ("calendar", "proleptic_gregorian"),
    ])
}

/// CF attributes of an ensemble member coordinate (`sample`, `realization`): member numbers
/// are counts, of units `1` (the canonical units of the standard name `realization`).
pub(crate) fn realization() -> Vec<(&'static str, String)> {
    pairs(&[
        ("long_name", "ensemble member"),
        ("standard_name", "realization"),
        ("units", "1"),
    ])
}

/// CF attributes of a scalar `height` coordinate in metres above the surface (2 m temperature,
/// 10 m winds).
pub(crate) fn height() -> Vec<(&'static str, String)> {
    pairs(&[
        ("long_name", "height above the surface"),
        ("standard_name", "height"),
        ("units", "m"),
        ("positive", "up"),
    ])
}

/// The height (metres) of a near-surface variable named `{H}m_…` (e.g. 2 for
/// `2m_temperature`, 10 for `10m_u_component_of_wind`), the reference's naming of them.
pub(crate) fn height_of(name: &str) -> Option<u32> {
    let (digits, _) = name.split_once("m_")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The name of the scalar coordinate of height `metres` (`height2m`, `height10m`, the CMIP
/// names of these axes).
pub(crate) fn height_name(metres: u32) -> String {
    format!("height{metres}m")
}

/// The accumulation period (hours) of variable `name` when it is accumulated over the hours
/// before its valid time (`total_precipitation_12hr`: 12), from the source-name table.
pub(crate) fn accumulation_hours(name: &str) -> Option<u32> {
    use crate::data::sources::tables::{name_rule, Conversion};
    match name_rule(name).conversion {
        Conversion::Accumulation(h) => Some(h),
        _ => None,
    }
}

/// The `cell_methods` of a forecast variable along the lead-time dimension `lead`: `sum` for
/// an accumulation (its value sums the cell the time bounds give), `point` for the others
/// (instantaneous values at the valid time). `None` when the file has no time bounds.
pub(crate) fn cell_methods(name: &str, lead: &str, has_bounds: bool) -> Option<String> {
    if !has_bounds {
        return None;
    }
    Some(match accumulation_hours(name) {
        Some(_) => format!("{lead}: sum"),
        None => format!("{lead}: point"),
    })
}

/// CF attributes of data variable `name` (`units`, `standard_name`, `long_name`) as flat text
/// pairs; `units` given by the caller win over the table's.
pub(crate) fn attributes(name: &str, units: Option<&str>) -> Vec<(&'static str, String)> {
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

    /// The small layout with near-surface winds and 12 h precipitation added, in `naming`.
    fn layout_with_accumulation(naming: crate::forecast::Naming) -> ForecastLayout {
        use crate::forecast::OutputVariable;
        let mut layout = crate::output::forecast_nc::tests::small_layout();
        layout.naming = naming;
        // Every second 12 h step (as `--output-every 24h` writes): bounds are the 12 h before
        // each lead, not the gap between leads.
        layout.lead_hours = vec![24, 48];
        for (name, statistic) in [
            ("10m_u_component_of_wind", None),
            ("total_precipitation_12hr", None),
            ("mean__total_precipitation_12hr", Some("mean".to_string())),
        ] {
            layout.variables.push(OutputVariable {
                name: name.into(),
                levelled: false,
                units: None,
                statistic,
            });
        }
        layout
    }

    use crate::forecast::ForecastLayout;

    /// Checks the CF details of a forecast output through `attr(variable, key)`,
    /// `values(variable)` and `dims(variable)`: time bounds and cell methods, heights, member
    /// units, the 1-D valid time, and the coordinate attributes.
    fn check_cf_details(
        naming: crate::forecast::Naming,
        attr: &dyn Fn(&str, &str) -> Option<String>,
        values: &dyn Fn(&str) -> Vec<f64>,
        dims: &dyn Fn(&str) -> Option<Vec<String>>,
    ) {
        use crate::forecast::Naming;
        let wb2 = naming == Naming::WeatherBench2;
        let (lead, member, lat, lon) = if wb2 {
            (
                "prediction_timedelta",
                "realization",
                "latitude",
                "longitude",
            )
        } else {
            ("time", "sample", "lat", "lon")
        };
        let bnds = format!("{lead}_bnds");
        assert_eq!(attr(lead, "bounds"), Some(bnds.clone()));
        assert_eq!(
            dims(&bnds),
            Some(vec![lead.to_string(), "bnds".to_string()])
        );
        assert_eq!(values(&bnds), vec![12.0, 24.0, 36.0, 48.0]);
        assert_eq!(attr(&bnds, "units").as_deref(), Some("hours"));
        let sum = format!("{lead}: sum");
        let point = format!("{lead}: point");
        for (var, method) in [
            ("total_precipitation_12hr", &sum),
            ("mean__total_precipitation_12hr", &sum),
            ("2m_temperature", &point),
            ("10m_u_component_of_wind", &point),
            ("geopotential", &point),
        ] {
            assert_eq!(attr(var, "cell_methods").as_ref(), Some(method), "{var}");
        }
        // Scalar height coordinates, named in the near-surface variables' `coordinates`.
        for (var, height, metres) in [
            ("2m_temperature", Some("height2m"), 2.0),
            ("10m_u_component_of_wind", Some("height10m"), 10.0),
            ("geopotential", None, 0.0),
            ("total_precipitation_12hr", None, 0.0),
        ] {
            let coords = attr(var, "coordinates").unwrap();
            let heights: Vec<&str> = coords
                .split_whitespace()
                .filter(|c| c.starts_with("height"))
                .collect();
            match height {
                Some(h) => {
                    assert_eq!(heights, [h], "{var}");
                    assert_eq!(dims(h), Some(Vec::new()), "{h} is a scalar");
                    assert_eq!(values(h), vec![metres]);
                    assert_eq!(attr(h, "units").as_deref(), Some("m"));
                    assert_eq!(attr(h, "standard_name").as_deref(), Some("height"));
                    assert_eq!(attr(h, "positive").as_deref(), Some("up"));
                }
                None => assert!(heights.is_empty(), "{var}: {coords}"),
            }
            // The 1-D valid time where the layout has room for it.
            assert!(
                coords.split_whitespace().any(|c| c == "valid_time"),
                "{var}: {coords}"
            );
        }
        assert_eq!(attr(member, "units").as_deref(), Some("1"));
        assert_eq!(
            attr(member, "standard_name").as_deref(),
            Some("realization")
        );
        if wb2 {
            assert_eq!(
                dims("valid_time"),
                Some(vec!["time".to_string(), lead.to_string()])
            );
        } else {
            assert_eq!(dims("valid_time"), Some(vec![lead.to_string()]));
            assert_eq!(values("valid_time"), vec![24.0, 48.0]);
            assert_eq!(attr("valid_time", "standard_name").as_deref(), Some("time"));
            assert_eq!(
                attr("valid_time", "units").as_deref(),
                Some("hours since 2019-03-30T00:00:00")
            );
        }
        for (var, key, want) in [
            (lat, "standard_name", "latitude"),
            (lat, "axis", "Y"),
            (lon, "standard_name", "longitude"),
            (lon, "axis", "X"),
            ("level", "standard_name", "air_pressure"),
            ("level", "positive", "down"),
            ("level", "axis", "Z"),
        ] {
            assert_eq!(attr(var, key).as_deref(), Some(want), "{var}.{key}");
        }
    }

    /// The reader finds exactly the predicted variables: bounds, heights and the 1-D valid time
    /// are coordinates, not forecast variables.
    fn check_read_back(path: &std::path::Path, layout: &ForecastLayout) {
        let out = crate::output::read::ForecastOutput::open(path).unwrap();
        // (A store lists its arrays by name.)
        let names: std::collections::BTreeSet<&str> =
            out.variables().iter().map(|v| v.name.as_str()).collect();
        let want: std::collections::BTreeSet<&str> =
            layout.variables.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(names, want);
        assert_eq!(out.lead_times().len(), 2);
        assert_eq!(
            out.valid_times()[1] - out.valid_times()[0],
            24 * crate::time::NS_PER_HOUR
        );
    }

    #[test]
    fn netcdf_forecasts_carry_time_bounds_cell_methods_heights_and_member_units() {
        use crate::forecast::Naming;
        use crate::output::forecast_nc::ForecastWriter;
        use netcdf_reader::NcFile;
        for naming in [Naming::Reference, Naming::WeatherBench2] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("f.nc");
            let layout = layout_with_accumulation(naming);
            ForecastWriter::create(&path, layout.clone())
                .unwrap()
                .finish()
                .unwrap();
            let f = NcFile::open(&path).unwrap();
            let attr = |var: &str, key: &str| {
                f.variable(var)
                    .ok()?
                    .attribute(key)
                    .and_then(|a| a.value.as_string())
            };
            let values = |var: &str| -> Vec<f64> {
                f.read_variable_as_f64(var)
                    .unwrap()
                    .iter()
                    .copied()
                    .collect()
            };
            let dims = |var: &str| -> Option<Vec<String>> {
                Some(
                    f.variable(var)
                        .ok()?
                        .dimensions()
                        .iter()
                        .map(|d| d.name.clone())
                        .collect(),
                )
            };
            check_cf_details(naming, &attr, &values, &dims);
            check_read_back(&path, &layout);
        }
    }

    #[test]
    fn zarr_forecasts_carry_the_same_cf_details() {
        use crate::forecast::Naming;
        use serde_json::Value;
        for naming in [Naming::Reference, Naming::WeatherBench2] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("f.zarr");
            let layout = layout_with_accumulation(naming);
            crate::output::zarr::ZarrForecast::open_or_create(
                &path,
                layout.clone(),
                &serde_json::json!({"seed": 1}),
            )
            .unwrap();
            let root: Value =
                serde_json::from_str(&std::fs::read_to_string(path.join("zarr.json")).unwrap())
                    .unwrap();
            let meta = root["consolidated_metadata"]["metadata"].clone();
            let attr =
                |var: &str, key: &str| meta[var]["attributes"][key].as_str().map(str::to_string);
            let values = |var: &str| -> Vec<f64> {
                let storage =
                    std::sync::Arc::new(zarrs::filesystem::FilesystemStore::new(&path).unwrap());
                let a = zarrs::array::Array::open(storage, &format!("/{var}")).unwrap();
                let all = a.subset_all();
                match meta[var]["data_type"].as_str().unwrap() {
                    "int32" => a
                        .retrieve_array_subset::<Vec<i32>>(&all)
                        .unwrap()
                        .into_iter()
                        .map(f64::from)
                        .collect(),
                    "float64" => a.retrieve_array_subset::<Vec<f64>>(&all).unwrap(),
                    other => panic!("{var}: {other}"),
                }
            };
            let dims = |var: &str| -> Option<Vec<String>> {
                meta[var]["dimension_names"]
                    .as_array()
                    .map(|a| a.iter().map(|d| d.as_str().unwrap().to_string()).collect())
            };
            check_cf_details(naming, &attr, &values, &dims);
            check_read_back(&path, &layout);
        }
    }

    #[test]
    fn without_accumulations_there_are_no_bounds_and_no_cell_methods() {
        use netcdf_reader::NcFile;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.nc");
        let layout = crate::output::forecast_nc::tests::small_layout();
        crate::output::forecast_nc::ForecastWriter::create(&path, layout)
            .unwrap()
            .finish()
            .unwrap();
        let f = NcFile::open(&path).unwrap();
        assert!(f.variable("time_bnds").is_err());
        assert!(f.dimensions().unwrap().iter().all(|d| d.name != "bnds"));
        for v in ["2m_temperature", "geopotential", "time"] {
            let var = f.variable(v).unwrap();
            assert!(var.attribute("cell_methods").is_none(), "{v}");
            assert!(var.attribute("bounds").is_none(), "{v}");
        }
    }

    #[test]
    fn heights_and_accumulation_periods_come_from_the_names() {
        assert_eq!(height_of("2m_temperature"), Some(2));
        assert_eq!(height_of("10m_v_component_of_wind"), Some(10));
        assert_eq!(height_of("mean_sea_level_pressure"), None);
        assert_eq!(height_of("geopotential"), None);
        assert_eq!(accumulation_hours("total_precipitation_12hr"), Some(12));
        assert_eq!(accumulation_hours("total_precipitation_6hr"), Some(6));
        assert_eq!(accumulation_hours("2m_temperature"), None);
    }
}
