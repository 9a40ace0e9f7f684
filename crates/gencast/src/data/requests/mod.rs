//! The requests that fetch the fields `gencast prepare` reads for a model and an init time,
//! from the Copernicus Climate Data Store (ERA5), MARS (ERA5) or ECMWF open data (IFS). Nothing
//! is downloaded: `gencast prepare --print-request` prints them and the user runs them.
//!
//! What is needed follows `prepare` exactly: every variable it writes at each input frame
//! (statics at the init time), on the model's pressure levels; the precipitation as the
//! accumulations `prepare` sums into the model's period (ERA5's hourly values over the hours of
//! each period, or open data's accumulation over the period itself); nothing for the fields it
//! computes (the progress features, and TOA solar radiation when no source has it). The names of
//! each field in each service are the table `fields.tsv`; the services' settings are
//! `services.tsv`.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use super::forcings::ProgressFeature;
use super::netcdf_time::format_datetime;
use super::solar_radiation::TISR;
use super::sources::{self, ModelSpec, PrepareRequest, Regrid};
use crate::time::NS_PER_HOUR;
use crate::{Error, Result};

const FIELDS: &str = include_str!("fields.tsv");
const SERVICES: &str = include_str!("services.tsv");

/// How a field is requested.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// A single-level field at each input frame.
    Single,
    /// A single-level field at the init time.
    Static,
    /// A field on the model's pressure levels at each input frame.
    Pressure,
    /// The precipitation: accumulations summed by `prepare` into the model's period.
    Accumulation,
}

/// One row of `fields.tsv`: a field and its names in each service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldNames {
    /// The model variable the field gives (`total_precipitation` for the precipitation).
    pub variable: String,
    /// How it is requested.
    pub kind: Kind,
    /// The CDS API variable name of ERA5 (e.g. `2m_temperature`).
    pub cds: String,
    /// The MARS param of ERA5 (e.g. `2t`).
    pub mars: String,
    /// The ECMWF open-data param, when open data has the field.
    pub opendata: Option<String>,
}

fn rows(text: &str) -> impl Iterator<Item = Vec<&str>> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.split_whitespace().collect())
}

fn table_error(file: &str, detail: String) -> Error {
    Error::Config {
        key: format!("requests/{file}"),
        detail,
    }
}

/// The rows of `fields.tsv`.
pub fn field_names() -> Result<Vec<FieldNames>> {
    rows(FIELDS)
        .map(|c| {
            if c.len() != 5 {
                return Err(table_error(
                    "fields.tsv",
                    format!("row {c:?}: expected 5 columns"),
                ));
            }
            let kind = match c[1] {
                "single" => Kind::Single,
                "static" => Kind::Static,
                "pressure" => Kind::Pressure,
                "accum" => Kind::Accumulation,
                other => {
                    return Err(table_error(
                        "fields.tsv",
                        format!("row {c:?}: unknown kind `{other}`"),
                    ))
                }
            };
            Ok(FieldNames {
                variable: c[0].to_string(),
                kind,
                cds: c[2].to_string(),
                mars: c[3].to_string(),
                opendata: (c[4] != "-").then(|| c[4].to_string()),
            })
        })
        .collect()
}

/// The value of `key` in `services.tsv` (the rest of its row).
fn service(key: &str) -> Result<Vec<&'static str>> {
    rows(SERVICES)
        .find(|c| c[0] == key)
        .map(|c| c[1..].to_vec())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| table_error("services.tsv", format!("no value for `{key}`")))
}

fn service_one(key: &str) -> Result<&'static str> {
    Ok(service(key)?[0])
}

/// One field `prepare` needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Need {
    /// The variable `prepare` writes from it (e.g. `total_precipitation_12hr`,
    /// `geopotential_at_surface`).
    pub variable: String,
    /// Its names in the services.
    pub names: FieldNames,
    /// Pressure levels (hPa, ascending); empty for a single-level field.
    pub levels: Vec<i64>,
    /// Valid times (ns since 1970): the input frames, the init time for a static field, or for
    /// the precipitation the end of each hour whose ERA5 hourly accumulation `prepare` sums.
    pub times: Vec<i64>,
}

/// What `prepare` needs for a model and an init time.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The model's name.
    pub model: String,
    /// The init time (ns since 1970), the last input frame.
    pub init_time: i64,
    /// The input frames' valid times, ascending.
    pub frames: Vec<i64>,
    /// Hours of the model's precipitation accumulation.
    pub precipitation_hours: u32,
    /// The model's grid step in degrees (0.25, ERA5's own, when the model does not fix one).
    pub grid_step: f64,
    /// The fields, in the order `prepare` writes them.
    pub needs: Vec<Need>,
    /// The variables `prepare` writes without reading them (computed).
    pub computed: Vec<String>,
}

/// The fields `prepare` reads for `model` at `init_time` (ns since 1970, a whole hour).
pub fn plan(model: &ModelSpec, init_time: i64) -> Result<Plan> {
    if init_time % NS_PER_HOUR != 0 {
        return Err(Error::Invalid(format!(
            "init time {} is not on a whole hour",
            format_datetime(init_time)
        )));
    }
    let request = PrepareRequest {
        model: model.clone(),
        init_time,
        regrid: Regrid::Subsample,
        member: None,
    };
    let frames = sources::frame_times(&request)?;
    let period = model.precipitation_hours();
    let table = field_names()?;
    let mut levels = model.task.pressure_levels.clone();
    levels.sort_unstable();
    let mut needs = Vec::new();
    let mut computed = Vec::new();
    for variable in sources::variables_to_write(&request) {
        // Computed by `prepare`: the progress features always, TOA solar radiation when no
        // source has it.
        if ProgressFeature::from_name(&variable).is_some() || variable == TISR {
            computed.push(variable);
            continue;
        }
        let key = if variable == model.precipitation {
            "total_precipitation"
        } else {
            variable.as_str()
        };
        let names = table
            .iter()
            .find(|r| r.variable == key)
            .cloned()
            .ok_or_else(|| {
                table_error(
                    "fields.tsv",
                    format!("no row for `{key}`, which model `{}` needs", model.name),
                )
            })?;
        let times = match names.kind {
            Kind::Static => vec![init_time],
            Kind::Single | Kind::Pressure => frames.clone(),
            Kind::Accumulation => {
                let hours: BTreeSet<i64> = frames
                    .iter()
                    .flat_map(|&f| (0..i64::from(period)).map(move |k| f - k * NS_PER_HOUR))
                    .collect();
                hours.into_iter().collect()
            }
        };
        needs.push(Need {
            variable,
            levels: if names.kind == Kind::Pressure {
                levels.clone()
            } else {
                Vec::new()
            },
            names,
            times,
        });
    }
    Ok(Plan {
        model: model.name.clone(),
        init_time,
        frames,
        precipitation_hours: period,
        grid_step: if model.grid_step > 0.0 {
            model.grid_step
        } else {
            0.25
        },
        needs,
        computed,
    })
}

/// `YYYY-MM-DD` and `HH:MM` of a time.
fn date_time(ns: i64) -> (String, String) {
    let text = format_datetime(ns);
    (text[..10].to_string(), text[11..16].to_string())
}

/// A request to the Copernicus Climate Data Store: `client.retrieve(dataset, request, target)`.
#[derive(Debug, Clone, PartialEq)]
pub struct CdsRequest {
    /// The CDS dataset (`reanalysis-era5-single-levels`, `reanalysis-era5-pressure-levels`).
    pub dataset: String,
    /// The request, with the CDS API's keys and variable names.
    pub request: Value,
    /// The file to write.
    pub target: String,
}

/// The CDS requests of `plan`: per dataset and date, one request per set of times (the
/// precipitation in requests of its own, as the CDS writes accumulations apart).
pub fn cds(plan: &Plan) -> Result<Vec<CdsRequest>> {
    // (dataset, file label, date, times) -> variables, levels
    type Key = (String, &'static str, String, Vec<String>);
    let mut groups: BTreeMap<Key, (Vec<String>, Vec<i64>)> = BTreeMap::new();
    let single = service_one("cds_single")?;
    let pressure = service_one("cds_pressure")?;
    for need in &plan.needs {
        let (dataset, label) = match need.names.kind {
            Kind::Pressure => (pressure, "era5-pressure-levels"),
            Kind::Accumulation => (single, "era5-precipitation"),
            Kind::Single | Kind::Static => (single, "era5-single-levels"),
        };
        let mut by_date: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for &t in &need.times {
            let (d, hm) = date_time(t);
            by_date.entry(d).or_default().push(hm);
        }
        for (date, times) in by_date {
            let entry = groups
                .entry((dataset.to_string(), label, date, times))
                .or_default();
            if !entry.0.contains(&need.names.cds) {
                entry.0.push(need.names.cds.clone());
            }
            entry.1.clone_from(&need.levels);
        }
    }
    let grid = plan.grid_step;
    let mut out: Vec<CdsRequest> = Vec::new();
    for ((dataset, label, date, times), (variables, levels)) in groups {
        let mut request = json!({
            "product_type": ["reanalysis"],
            "variable": variables,
            "year": [&date[..4]],
            "month": [&date[5..7]],
            "day": [&date[8..10]],
            "time": times,
            "grid": [grid, grid],
            "data_format": "netcdf",
            "download_format": "unarchived",
        });
        if !levels.is_empty() {
            request["pressure_level"] =
                json!(levels.iter().map(|l| l.to_string()).collect::<Vec<_>>());
        }
        let base = format!("{label}-{}", date.replace('-', ""));
        let n = out.iter().filter(|r| r.target.starts_with(&base)).count();
        let target = if n == 0 {
            format!("{base}.nc")
        } else {
            format!("{base}-{}.nc", n + 1)
        };
        out.push(CdsRequest {
            dataset,
            request,
            target,
        });
    }
    Ok(out)
}

/// A MARS request: its keywords in order (values joined with `/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarsRequest {
    /// Keyword and value pairs, `target` last.
    pub keys: Vec<(String, String)>,
}

impl MarsRequest {
    /// The request as MARS request text (`retrieve,` then one `key=value` a line).
    pub fn text(&self) -> String {
        let body: Vec<String> = self
            .keys
            .iter()
            .map(|(k, v)| {
                if k == "target" {
                    format!("  {k}=\"{v}\"")
                } else {
                    format!("  {k}={v}")
                }
            })
            .collect();
        format!("retrieve,\n{}\n", body.join(",\n"))
    }
}

/// The base time and step of ERA5's hourly accumulation ending at `t`: the hour's step of the
/// forecast from the latest base time (`mars_accum_base`) at least one hour before `t`.
fn accumulation_step(t: i64, bases: &[i64]) -> (i64, i64) {
    let day = t.div_euclid(24 * NS_PER_HOUR) * 24 * NS_PER_HOUR;
    let candidates = [day - 24 * NS_PER_HOUR, day]
        .into_iter()
        .flat_map(|d| bases.iter().map(move |b| d + b * NS_PER_HOUR));
    let base = candidates
        .filter(|&b| b < t)
        .max()
        .unwrap_or(t - NS_PER_HOUR);
    (base, (t - base) / NS_PER_HOUR)
}

/// The MARS requests of `plan` (ERA5: analyses, and the hourly precipitation as steps of the
/// forecasts from `mars_accum_base`).
pub fn mars(plan: &Plan) -> Result<Vec<MarsRequest>> {
    let class = service_one("mars_class")?;
    let expver = service_one("mars_expver")?;
    let bases: Vec<i64> = service("mars_accum_base")?
        .iter()
        .map(|b| {
            b.parse()
                .map_err(|_| table_error("services.tsv", format!("base time `{b}`")))
        })
        .collect::<Result<_>>()?;
    let grid = format!("{0:?}/{0:?}", plan.grid_step);
    // (levtype, type, date, times, steps) -> params, levels
    type Key = (&'static str, &'static str, String, Vec<String>, Vec<i64>);
    let mut groups: BTreeMap<Key, (Vec<String>, Vec<i64>)> = BTreeMap::new();
    let mut add = |key: Key, param: &str, levels: &[i64]| {
        let e = groups.entry(key).or_default();
        if !e.0.iter().any(|p| p == param) {
            e.0.push(param.to_string());
        }
        e.1 = levels.to_vec();
    };
    for need in &plan.needs {
        if need.names.kind == Kind::Accumulation {
            // (date, step) -> base times
            let mut by: BTreeMap<(String, i64), Vec<String>> = BTreeMap::new();
            for &t in &need.times {
                let (base, step) = accumulation_step(t, &bases);
                let (d, hm) = date_time(base);
                by.entry((d, step)).or_default().push(hm);
            }
            // Steps sharing a date and base times go in one request.
            let mut merged: BTreeMap<(String, Vec<String>), Vec<i64>> = BTreeMap::new();
            for ((d, step), times) in by {
                merged.entry((d, times)).or_default().push(step);
            }
            for ((d, times), steps) in merged {
                add(("sfc", "fc", d, times, steps), &need.names.mars, &[]);
            }
            continue;
        }
        let levtype = if need.names.kind == Kind::Pressure {
            "pl"
        } else {
            "sfc"
        };
        let mut by_date: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for &t in &need.times {
            let (d, hm) = date_time(t);
            by_date.entry(d).or_default().push(hm);
        }
        for (d, times) in by_date {
            add(
                (levtype, "an", d, times, Vec::new()),
                &need.names.mars,
                &need.levels,
            );
        }
    }
    let join = |v: &[String]| v.join("/");
    let mut out = Vec::new();
    let mut targets: Vec<String> = Vec::new();
    for ((levtype, ty, date, times, steps), (params, levels)) in groups {
        let mut keys = vec![
            ("class", class.to_string()),
            ("expver", expver.to_string()),
            ("stream", "oper".to_string()),
            ("type", ty.to_string()),
            ("levtype", levtype.to_string()),
            ("param", join(&params)),
        ];
        if !levels.is_empty() {
            let l: Vec<String> = levels.iter().map(i64::to_string).collect();
            keys.push(("levelist", join(&l)));
        }
        keys.push(("date", date.clone()));
        keys.push(("time", join(&times)));
        if !steps.is_empty() {
            let s: Vec<String> = steps.iter().map(i64::to_string).collect();
            keys.push(("step", join(&s)));
        }
        keys.push(("grid", grid.clone()));
        let label = match (levtype, ty) {
            ("pl", _) => "era5-pl",
            (_, "fc") => "era5-tp",
            _ => "era5-sfc",
        };
        let base = format!("{label}-{}", date.replace('-', ""));
        let n = targets.iter().filter(|t| t.starts_with(&base)).count();
        let target = if n == 0 {
            format!("{base}.grib")
        } else {
            format!("{base}-{}.grib", n + 1)
        };
        targets.push(target.clone());
        keys.push(("target", target));
        out.push(MarsRequest {
            keys: keys.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        });
    }
    Ok(out)
}

/// One ECMWF open-data file and what to take from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenDataFile {
    /// The file's URL.
    pub url: String,
    /// The run (forecast base time, ns since 1970).
    pub run: i64,
    /// The forecast step in hours.
    pub step: i64,
    /// `sfc` or `pl`.
    pub levtype: String,
    /// The open-data params to take.
    pub params: Vec<String>,
    /// The pressure levels to take (hPa); empty for `sfc`.
    pub levels: Vec<i64>,
}

/// The open-data files of `plan`, and what open data lacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenData {
    /// The files, by run, step and level type.
    pub files: Vec<OpenDataFile>,
    /// Fields (and levels) `prepare` needs that open data does not have, one line each.
    pub lacking: Vec<String>,
}

/// One open-data file: run (hours before the init time), step and level type.
type FileKey = (i64, i64, &'static str);

/// The ECMWF open-data (IFS) files of `plan`: each frame's analysis fields as step 0 of the
/// run at that time, the precipitation ending at each frame as the accumulation over the
/// model's period from the run that many hours before.
pub fn opendata(plan: &Plan) -> Result<OpenData> {
    let url_pattern = service_one("opendata_url")?;
    let od_levels: Vec<i64> = service("opendata_levels")?
        .iter()
        .filter_map(|l| l.parse().ok())
        .collect();
    let period = i64::from(plan.precipitation_hours);
    let mut lacking = Vec::new();
    let mut groups: BTreeMap<FileKey, (Vec<String>, Vec<i64>)> = BTreeMap::new();
    for need in &plan.needs {
        let Some(param) = &need.names.opendata else {
            lacking.push(format!("{} (no open-data parameter)", need.variable));
            continue;
        };
        let missing_levels: Vec<String> = need
            .levels
            .iter()
            .filter(|l| !od_levels.contains(l))
            .map(i64::to_string)
            .collect();
        if !missing_levels.is_empty() {
            lacking.push(format!(
                "{} at {} hPa (open data has {} hPa)",
                need.variable,
                missing_levels.join(" "),
                od_levels
                    .iter()
                    .map(i64::to_string)
                    .collect::<Vec<_>>()
                    .join(" ")
            ));
        }
        let levels: Vec<i64> = need
            .levels
            .iter()
            .copied()
            .filter(|l| od_levels.contains(l))
            .collect();
        let (levtype, slots): (&'static str, Vec<(i64, i64)>) = match need.names.kind {
            Kind::Accumulation => (
                "sfc",
                plan.frames
                    .iter()
                    .map(|&f| (f - period * NS_PER_HOUR, period))
                    .collect(),
            ),
            Kind::Pressure => ("pl", need.times.iter().map(|&t| (t, 0)).collect()),
            Kind::Single | Kind::Static => ("sfc", need.times.iter().map(|&t| (t, 0)).collect()),
        };
        if levtype == "pl" && levels.is_empty() {
            continue;
        }
        for (run, step) in slots {
            let e = groups.entry((run, step, levtype)).or_default();
            if !e.0.contains(param) {
                e.0.push(param.clone());
            }
            e.1.clone_from(&levels);
        }
    }
    let mut files = Vec::new();
    for ((run, step, levtype), (params, levels)) in groups {
        let (date, hm) = date_time(run);
        let hh = &hm[..2];
        if !["00", "06", "12", "18"].contains(&hh) || &hm[3..] != "00" {
            return Err(Error::Invalid(format!(
                "ECMWF open data has runs at 00, 06, 12 and 18 UTC only; {} needs the run of {}",
                plan.model,
                format_datetime(run)
            )));
        }
        let stream = if hh == "00" || hh == "12" {
            "oper"
        } else {
            "scda"
        };
        let url = url_pattern
            .replace("{date}", &date.replace('-', ""))
            .replace("{hh}", hh)
            .replace("{stream}", stream)
            .replace("{step}", &step.to_string());
        files.push(OpenDataFile {
            url,
            run,
            step,
            levtype: levtype.to_string(),
            params,
            levels,
        });
    }
    Ok(OpenData { files, lacking })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::netcdf_time::parse_datetime;
    use crate::data::sources::tables;

    /// (service name, level, valid time) of every field a plan needs, with the time an ERA5
    /// hourly accumulation ends for the precipitation.
    fn needed(plan: &Plan, name: impl Fn(&FieldNames) -> String) -> BTreeSet<(String, i64, i64)> {
        let mut set = BTreeSet::new();
        for n in &plan.needs {
            for &t in &n.times {
                if n.levels.is_empty() {
                    set.insert((name(&n.names), 0, t));
                }
                for &l in &n.levels {
                    set.insert((name(&n.names), l, t));
                }
            }
        }
        set
    }

    fn cds_fields(reqs: &[CdsRequest]) -> BTreeSet<(String, i64, i64)> {
        let mut set = BTreeSet::new();
        for r in reqs {
            let q = &r.request;
            let s = |k: &str| -> Vec<String> {
                q[k].as_array()
                    .map(|a| a.iter().map(|x| x.as_str().unwrap().to_string()).collect())
                    .unwrap_or_default()
            };
            let levels: Vec<i64> = s("pressure_level")
                .iter()
                .map(|l| l.parse().unwrap())
                .collect();
            for v in s("variable") {
                for y in s("year") {
                    for m in s("month") {
                        for d in s("day") {
                            for t in s("time") {
                                let when = parse_datetime(&format!("{y}-{m}-{d}T{t}")).unwrap();
                                if levels.is_empty() {
                                    assert!(set.insert((v.clone(), 0, when)), "{v} twice");
                                }
                                for &l in &levels {
                                    assert!(set.insert((v.clone(), l, when)), "{v} {l} twice");
                                }
                            }
                        }
                    }
                }
            }
        }
        set
    }

    #[test]
    fn every_table_row_is_well_formed_and_every_model_has_its_names() {
        let rows = field_names().unwrap();
        assert!(rows.len() >= 14);
        for name in tables::model_names() {
            let model = tables::model(&name).unwrap();
            let p = plan(&model, parse_datetime("2019-03-29T12:00").unwrap()).unwrap();
            assert!(!p.needs.is_empty(), "{name}");
        }
        for key in ["cds_single", "cds_pressure", "mars_class", "opendata_url"] {
            service_one(key).unwrap();
        }
    }

    #[test]
    fn the_plan_follows_prepare_frames_statics_and_hourly_precipitation() {
        let model = tables::model("gencast-1p0").unwrap();
        let t = parse_datetime("2019-03-29T00:00").unwrap();
        let p = plan(&model, t).unwrap();
        let h = NS_PER_HOUR;
        assert_eq!(p.frames, vec![t - 12 * h, t]);
        let need = |v: &str| p.needs.iter().find(|n| n.variable == v).unwrap();
        assert_eq!(need("land_sea_mask").times, vec![t]);
        assert_eq!(need("2m_temperature").times, p.frames);
        // Hourly accumulations ending at t-23h .. t: the 12 h sums ending at both frames.
        let tp = need("total_precipitation_12hr");
        assert_eq!(tp.names.cds, "total_precipitation");
        assert_eq!(
            tp.times,
            (0..24).map(|k| t - (23 - k) * h).collect::<Vec<_>>()
        );
        assert_eq!(need("temperature").levels.len(), 13);
        assert!(p.computed.iter().any(|c| c == "year_progress_sin"));
        assert!(p.needs.iter().all(|n| !n.variable.contains("progress")));
        let g = plan(&tables::model("graphcast-small").unwrap(), t).unwrap();
        assert!(g.computed.iter().any(|c| c == TISR));
        let tp = g
            .needs
            .iter()
            .find(|n| n.variable == "total_precipitation_6hr")
            .unwrap();
        assert_eq!(
            tp.times,
            (0..12).map(|k| t - (11 - k) * h).collect::<Vec<_>>()
        );
    }

    #[test]
    fn cds_requests_cover_the_plan_exactly_for_every_model() {
        for name in tables::model_names() {
            let model = tables::model(&name).unwrap();
            for init in ["2019-03-29T12:00", "2019-03-01T00:00", "2019-03-29T06:00"] {
                let p = plan(&model, parse_datetime(init).unwrap()).unwrap();
                let reqs = cds(&p).unwrap();
                assert_eq!(
                    cds_fields(&reqs),
                    needed(&p, |n| n.cds.clone()),
                    "{name} {init}"
                );
                let targets: BTreeSet<&String> = reqs.iter().map(|r| &r.target).collect();
                assert_eq!(targets.len(), reqs.len(), "{name}: targets repeat");
                // Accumulations never share a request with instantaneous fields.
                for r in &reqs {
                    let vars = r.request["variable"].as_array().unwrap();
                    let tp = vars.iter().filter(|v| *v == "total_precipitation").count();
                    assert!(tp == 0 || vars.len() == 1, "{name}: {vars:?}");
                }
            }
        }
    }

    #[test]
    fn era5_hourly_accumulations_are_steps_one_to_twelve_of_the_06_and_18_forecasts() {
        let h = NS_PER_HOUR;
        let day = parse_datetime("2019-03-29T00:00").unwrap();
        let bases = [6, 18];
        assert_eq!(accumulation_step(day + 7 * h, &bases), (day + 6 * h, 1));
        assert_eq!(accumulation_step(day + 18 * h, &bases), (day + 6 * h, 12));
        assert_eq!(accumulation_step(day + 19 * h, &bases), (day + 18 * h, 1));
        assert_eq!(accumulation_step(day, &bases), (day - 6 * h, 6));
        assert_eq!(accumulation_step(day + 6 * h, &bases), (day - 6 * h, 12));
    }
}
