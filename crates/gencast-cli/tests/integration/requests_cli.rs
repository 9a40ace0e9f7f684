//! `gencast prepare --print-request`: the printed CDS script, MARS requests and open-data file
//! list are parsed and compared with what `gencast fields --model M --json` says the model
//! needs: every variable, level and time, and nothing else.

use std::collections::BTreeSet;

use gencast::data::netcdf_time::parse_datetime;
use gencast::data::sources::tables::model_names;
use serde_json::Value;

use crate::support::{json, run};

const HOUR: i64 = 3_600_000_000_000;

/// A field at a level (0 without) and a valid time (ns); for precipitation, the end of one
/// hourly accumulation.
type Slot = (String, i64, i64);

/// The names ERA5 has in the CDS API and in MARS for each model variable (the service's own
/// documented names, written out here independently of the library's table).
fn era5_names(variable: &str) -> Option<(&'static str, &'static str)> {
    Some(match variable {
        "2m_temperature" => ("2m_temperature", "2t"),
        "10m_u_component_of_wind" => ("10m_u_component_of_wind", "10u"),
        "10m_v_component_of_wind" => ("10m_v_component_of_wind", "10v"),
        "mean_sea_level_pressure" => ("mean_sea_level_pressure", "msl"),
        "sea_surface_temperature" => ("sea_surface_temperature", "sst"),
        "land_sea_mask" => ("land_sea_mask", "lsm"),
        "geopotential_at_surface" => ("geopotential", "z"),
        "temperature" => ("temperature", "t"),
        "geopotential" => ("geopotential", "z"),
        "u_component_of_wind" => ("u_component_of_wind", "u"),
        "v_component_of_wind" => ("v_component_of_wind", "v"),
        "vertical_velocity" => ("vertical_velocity", "w"),
        "specific_humidity" => ("specific_humidity", "q"),
        v if v.starts_with("total_precipitation_") => ("total_precipitation", "tp"),
        _ => return None,
    })
}

/// The slots `gencast fields` implies for `model` at `init`, named by `pick` (CDS or MARS
/// name): inputs, forcings and targets at every input frame, statics at the init time, the
/// precipitation as the hourly accumulations summed into its period ending at each frame. The
/// progress features (computed from the date) and TOA solar radiation (computed by `prepare`)
/// are not requested.
fn expected(
    model: &str,
    init: i64,
    pick: fn((&'static str, &'static str)) -> &'static str,
) -> BTreeSet<Slot> {
    let f = json(&["fields", "--json", "--model", model]);
    let frames: Vec<i64> = f["input_frame_offsets_hours"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| init + h.as_i64().unwrap() * HOUR)
        .collect();
    let mut set = BTreeSet::new();
    for v in f["variables"].as_array().unwrap() {
        let name = v["name"].as_str().unwrap();
        if v["computed_from_datetime"] == Value::Bool(true)
            || name == "toa_incident_solar_radiation"
        {
            continue;
        }
        let names = era5_names(name).unwrap_or_else(|| panic!("{model}: no names for {name}"));
        let roles: Vec<&str> = v["roles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap())
            .collect();
        let times: Vec<i64> = if let Some(p) = name
            .strip_prefix("total_precipitation_")
            .and_then(|p| p.strip_suffix("hr"))
        {
            let p: i64 = p.parse().unwrap();
            let hours: BTreeSet<i64> = frames
                .iter()
                .flat_map(|&f| (0..p).map(move |k| f - k * HOUR))
                .collect();
            hours.into_iter().collect()
        } else if roles == ["static"] {
            vec![init]
        } else {
            frames.clone()
        };
        let levels: Vec<i64> = v["levels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.as_i64().unwrap())
            .collect();
        for &t in &times {
            if levels.is_empty() {
                set.insert((pick(names).to_string(), 0, t));
            }
            for &l in &levels {
                set.insert((pick(names).to_string(), l, t));
            }
        }
    }
    set
}

fn print_request(service: &str, model: &str, init: &str) -> String {
    let (ok, out, err) = run(&[
        "prepare",
        "--print-request",
        service,
        "--model",
        model,
        "--init-time",
        init,
    ]);
    assert!(ok, "{service} {model} {init}: {err}");
    out
}

const INITS: [&str; 3] = ["2019-03-29T12:00", "2019-03-01T00:00", "2020-01-01T06:00"];

#[test]
fn the_cds_script_requests_exactly_the_fields_of_each_model() {
    for model in model_names() {
        for init in INITS {
            let out = print_request("cds", &model, init);
            let t = parse_datetime(init).unwrap();
            // The script's request list is a JSON literal (valid Python).
            let list = out.split_once("REQUESTS = ").unwrap().1;
            let reqs: Value = serde_json::Deserializer::from_str(list)
                .into_iter::<Value>()
                .next()
                .unwrap()
                .unwrap();
            assert!(out.contains("client.retrieve(r[\"dataset\"], r[\"request\"], r[\"target\"])"));
            let mut got = BTreeSet::new();
            for r in reqs.as_array().unwrap() {
                let q = &r["request"];
                let s = |k: &str| -> Vec<String> {
                    q[k].as_array()
                        .map(|a| a.iter().map(|x| x.as_str().unwrap().to_string()).collect())
                        .unwrap_or_default()
                };
                let levels: Vec<i64> = s("pressure_level")
                    .iter()
                    .map(|l| l.parse().unwrap())
                    .collect();
                let dataset = r["dataset"].as_str().unwrap();
                assert_eq!(
                    dataset,
                    if levels.is_empty() {
                        "reanalysis-era5-single-levels"
                    } else {
                        "reanalysis-era5-pressure-levels"
                    }
                );
                assert_eq!(q["product_type"], serde_json::json!(["reanalysis"]));
                let step = if model.ends_with("1p0") || model == "graphcast-small" {
                    1.0
                } else {
                    0.25
                };
                assert_eq!(q["grid"], serde_json::json!([step, step]), "{model}");
                for v in s("variable") {
                    for y in s("year") {
                        for m in s("month") {
                            for d in s("day") {
                                for tm in s("time") {
                                    let when =
                                        parse_datetime(&format!("{y}-{m}-{d}T{tm}")).unwrap();
                                    for l in if levels.is_empty() {
                                        vec![0]
                                    } else {
                                        levels.clone()
                                    } {
                                        assert!(
                                            got.insert((v.clone(), l, when)),
                                            "{model} {init}: {v} {l} {when} requested twice"
                                        );
                                    }
                                }
                            }
                        }
                    }
                }
            }
            assert_eq!(got, expected(&model, t, |n| n.0), "{model} {init}");
            if model.starts_with("graphcast") {
                assert!(out.contains("toa_incident_solar_radiation"), "{out}");
            }
        }
    }
}

/// Parses MARS request text into its requests' keyword maps.
fn mars_requests(text: &str) -> Vec<Vec<(String, String)>> {
    let body: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    body.split("retrieve,")
        .skip(1)
        .map(|block| {
            block
                .split(',')
                .filter_map(|kv| kv.trim().split_once('='))
                .map(|(k, v)| (k.trim().to_string(), v.trim().trim_matches('"').to_string()))
                .collect()
        })
        .collect()
}

#[test]
fn the_mars_requests_ask_exactly_the_fields_of_each_model() {
    for model in model_names() {
        for init in INITS {
            let out = print_request("mars", &model, init);
            let t = parse_datetime(init).unwrap();
            let mut got = BTreeSet::new();
            for r in mars_requests(&out) {
                let get = |k: &str| {
                    r.iter()
                        .find(|(x, _)| x == k)
                        .map(|(_, v)| v.split('/').map(str::to_string).collect::<Vec<_>>())
                        .unwrap_or_default()
                };
                assert_eq!(get("class"), ["ea"]);
                assert_eq!(get("grid").len(), 2, "a regular lat/lon grid is requested");
                let ty = get("type");
                let levels: Vec<i64> = get("levelist").iter().map(|l| l.parse().unwrap()).collect();
                let steps: Vec<i64> = match ty[0].as_str() {
                    "an" => vec![0],
                    "fc" => get("step").iter().map(|s| s.parse().unwrap()).collect(),
                    other => panic!("type {other}"),
                };
                for p in get("param") {
                    for d in get("date") {
                        for tm in get("time") {
                            let base = parse_datetime(&format!("{d}T{tm}")).unwrap();
                            for &s in &steps {
                                if ty[0] == "fc" {
                                    // ERA5's hourly accumulations: steps 1..12 of the 06/18 runs.
                                    assert!(
                                        (1..=12).contains(&s)
                                            && ["06:00", "18:00"].contains(&tm.as_str())
                                    );
                                }
                                for l in if levels.is_empty() {
                                    vec![0]
                                } else {
                                    levels.clone()
                                } {
                                    assert!(
                                        got.insert((p.clone(), l, base + s * HOUR)),
                                        "{model} {init}: {p} twice"
                                    );
                                }
                            }
                        }
                    }
                }
            }
            assert_eq!(got, expected(&model, t, |n| n.1), "{model} {init}");
        }
    }
}

#[test]
fn the_open_data_list_covers_each_model_and_names_what_open_data_lacks() {
    for model in model_names() {
        for init in INITS {
            let out = print_request("opendata", &model, init);
            let t = parse_datetime(init).unwrap();
            let f = json(&["fields", "--json", "--model", &model]);
            let frames: Vec<i64> = f["input_frame_offsets_hours"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| t + h.as_i64().unwrap() * HOUR)
                .collect();
            let period: i64 = if model.starts_with("gencast") { 12 } else { 6 };
            let mut got = BTreeSet::new();
            for line in out.lines().filter(|l| !l.starts_with('#')) {
                let mut parts = line.split_whitespace();
                let url = parts.next().unwrap();
                let kv: Vec<(&str, &str)> = parts.filter_map(|p| p.split_once('=')).collect();
                let get = |k: &str| -> Vec<&str> {
                    kv.iter()
                        .find(|(x, _)| *x == k)
                        .map(|(_, v)| v.split('/').collect())
                        .unwrap_or_default()
                };
                // https://data.ecmwf.int/forecasts/YYYYMMDD/HHz/ifs/0p25/STREAM/YYYYMMDDHH0000-Sh-STREAM-fc.grib2
                let segs: Vec<&str> = url.split('/').collect();
                assert_eq!(&segs[..4], ["https:", "", "data.ecmwf.int", "forecasts"]);
                let (date, hh) = (segs[4], segs[5].trim_end_matches('z'));
                let run = parse_datetime(&format!(
                    "{}-{}-{}T{hh}:00",
                    &date[..4],
                    &date[4..6],
                    &date[6..]
                ))
                .unwrap();
                let stream = if hh == "00" || hh == "12" {
                    "oper"
                } else {
                    "scda"
                };
                let step: i64 = segs[9]
                    .split('-')
                    .nth(1)
                    .unwrap()
                    .trim_end_matches('h')
                    .parse()
                    .unwrap();
                assert_eq!(
                    segs[9],
                    format!("{date}{hh}0000-{step}h-{stream}-fc.grib2"),
                    "{url}"
                );
                let levels: Vec<i64> = get("levelist").iter().map(|l| l.parse().unwrap()).collect();
                for p in get("param") {
                    if p == "tp" {
                        // The model's accumulation period, ending at an input frame.
                        assert_eq!(step, period, "{url}");
                        got.insert(("tp".to_string(), 0, run + step * HOUR));
                        continue;
                    }
                    assert_eq!(step, 0, "{url}: {p}");
                    for l in if levels.is_empty() {
                        vec![0]
                    } else {
                        levels.clone()
                    } {
                        assert!(got.insert((p.to_string(), l, run)), "{p} twice");
                    }
                }
            }
            // The same fields as ERA5's MARS params, but geopotential on levels as height `gh`,
            // the precipitation once per frame, and less what open data lacks (said in the
            // listing).
            let mut want: BTreeSet<Slot> = expected(&model, t, |n| n.1)
                .into_iter()
                .map(|(p, l, w)| {
                    if p == "z" && l > 0 {
                        ("gh".to_string(), l, w)
                    } else {
                        (p, l, w)
                    }
                })
                .filter(|(p, _, w)| p != "tp" || frames.contains(w))
                .collect();
            let open_levels = [
                50, 100, 150, 200, 250, 300, 400, 500, 600, 700, 850, 925, 1000,
            ];
            want.retain(|(p, l, _)| p != "sst" && (*l == 0 || open_levels.contains(l)));
            assert_eq!(got, want, "{model} {init}");
            if model.starts_with("gencast") {
                assert!(out.contains("# lacking: sea_surface_temperature"), "{out}");
            }
            if model == "graphcast" {
                assert!(
                    out.contains("# lacking: temperature at 1 2 3 5 7 10 20"),
                    "{out}"
                );
            }
        }
    }
}

#[test]
fn print_request_needs_no_inputs_and_refuses_output_arguments() {
    let (ok, _, err) = run(&[
        "prepare",
        "--print-request",
        "cds",
        "--model",
        "gencast-1p0",
        "--init-time",
        "2019-03-29T12:00",
        "--output",
        "x.nc",
    ]);
    assert!(!ok && err.contains("--output"), "{err}");
    let (ok, _, err) = run(&[
        "prepare",
        "--print-request",
        "cds",
        "--model",
        "nope",
        "--init-time",
        "2019-03-29T12:00",
    ]);
    assert!(!ok && err.contains("unknown model `nope`"), "{err}");
    let (ok, _, err) = run(&[
        "prepare",
        "--print-request",
        "opendata",
        "--model",
        "gencast-1p0",
        "--init-time",
        "2019-03-29T03:00",
    ]);
    assert!(!ok && err.contains("00, 06, 12 and 18 UTC"), "{err}");
}
