//! CF metadata (units, standard name, long name) of GenCast's variables, read from the one
//! table `variables.csv` next to this module.

use std::sync::OnceLock;

/// The CF description of one variable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VarInfo {
    /// The variable's name in the reference's files (e.g. `2m_temperature`).
    pub name: &'static str,
    /// CF/UDUNITS units (e.g. `m s-1`).
    pub units: &'static str,
    /// CF standard name, when the CF table has one.
    pub standard_name: Option<&'static str>,
    /// Human-readable name.
    pub long_name: &'static str,
}

/// The table's text, compiled into the library.
const TABLE: &str = include_str!("variables.csv");

/// Every variable of the table, in table order.
pub fn all() -> &'static [VarInfo] {
    static PARSED: OnceLock<Vec<VarInfo>> = OnceLock::new();
    PARSED.get_or_init(|| {
        TABLE
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .filter_map(|l| {
                let mut f = l.splitn(4, ',');
                let (name, units, std, long) = (f.next()?, f.next()?, f.next()?, f.next()?);
                Some(VarInfo {
                    name,
                    units,
                    standard_name: (!std.is_empty()).then_some(std),
                    long_name: long,
                })
            })
            .collect()
    })
}

/// The CF description of `name`, when it is one of GenCast's variables.
pub fn lookup(name: &str) -> Option<&'static VarInfo> {
    all().iter().find(|v| v.name == name)
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
    fn the_table_is_complete_and_well_formed() {
        let t = all();
        // 19 rows: 13 predicted or input variables, 2 statics, 4 forcings.
        assert_eq!(t.len(), 19);
        for v in t {
            assert!(!v.units.is_empty() && !v.long_name.is_empty(), "{v:?}");
            assert!(
                !v.units.contains(' ') || v.units.split(' ').count() <= 3,
                "{v:?}"
            );
        }
        let names: std::collections::HashSet<_> = t.iter().map(|v| v.name).collect();
        assert_eq!(names.len(), t.len(), "each variable appears once");
        let p = lookup("mean_sea_level_pressure").unwrap();
        assert_eq!(
            (p.units, p.standard_name),
            ("Pa", Some("air_pressure_at_mean_sea_level"))
        );
        assert_eq!(lookup("year_progress_sin").unwrap().standard_name, None);
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
