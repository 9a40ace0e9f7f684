//! CF attributes (units, standard name, long name) of the variables written, from the variables
//! table ([`crate::variables`]).

use crate::variables::lookup;

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

    /// The CF check of a forecast's attributes: each data variable (dims ending in lat, lon) has
    /// units, a long name and the table's standard name; each name in `coordinates` is a
    /// variable; the forecast-time coordinates carry their standard names.
    fn check_data_variable(
        name: &str,
        attr: &dyn Fn(&str) -> Option<String>,
        exists: &dyn Fn(&str) -> bool,
    ) {
        let info = lookup(name).unwrap();
        assert_eq!(attr("units").as_deref(), Some(info.units), "{name}");
        assert_eq!(attr("long_name").as_deref(), Some(info.long_name), "{name}");
        assert_eq!(
            attr("standard_name").as_deref(),
            info.standard_name,
            "{name}"
        );
        let coords = attr("coordinates").unwrap();
        for c in coords.split(' ') {
            assert!(exists(c), "{name}: coordinate `{c}` is not a variable");
        }
        assert!(coords.contains("forecast_period") && coords.contains("forecast_reference_time"));
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
                check_data_variable(v.name(), &|k| text(v.name(), k), &|c| f.variable(c).is_ok());
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
                check_data_variable(name, &|k| a[k].as_str().map(str::to_string), &|c| {
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
