//! `gencast forecast --output X.grib2`: one message per member, step, variable and level,
//! decoded with `grib-reader` (an independent decoder) and compared with the NetCDF output of
//! the same run, for GenCast and GraphCast, a selection and a region; an interrupted run
//! resumes to the uninterrupted file byte for byte.

use crate::support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use gencast::output::grib2::params::{all, Param};
use grib_reader::{GribFile, ProductDefinitionTemplate as T};
use support::{assert_ok, forecast, run_forecast};

/// What one message says about itself.
#[derive(Debug)]
struct Decoded {
    param: Param,
    level_hpa: Option<i32>,
    /// `number` of an ensemble member, `None` for a deterministic forecast.
    number: Option<u8>,
    ensemble_size: Option<u8>,
    /// The lead time (the end of an accumulation).
    lead_hours: i64,
    /// The accumulation period (hours) of a statistically processed field.
    period_hours: Option<u32>,
    lat: Vec<f64>,
    lon: Vec<f64>,
    reference: (u16, u8, u8, u8),
    values: Vec<f32>,
}

/// Decodes every message of `path`, naming each by the parameter table row that has its codes
/// (`names`: the variables of the forecast, to tell 6 h from 12 h precipitation).
fn decode_all(path: &Path, names: &[String]) -> Vec<Decoded> {
    let f = GribFile::open(path).unwrap();
    let table = all();
    f.messages()
        .map(|m| {
            let pd = m.product_definition().unwrap().clone();
            let discipline = m.raw_bytes()[6];
            let (base, ens, interval) = match &pd.template {
                T::AnalysisOrForecast(b) => (b.clone(), None, None),
                T::IndividualEnsembleForecast(e) => (e.base.clone(), Some(e.clone()), None),
                T::StatisticalProcess(s) => (s.base.clone(), None, Some(s.interval.clone())),
                T::EnsembleStatisticalProcess(s) => (
                    s.ensemble.base.clone(),
                    Some(s.ensemble.clone()),
                    Some(s.interval.clone()),
                ),
                t => panic!("unexpected product template {t:?}"),
            };
            let surface = base.first_surface.clone().unwrap();
            let param = table
                .iter()
                .find(|p| {
                    (p.discipline, p.category, p.number, p.surface)
                        == (
                            discipline,
                            pd.parameter_category,
                            pd.parameter_number,
                            surface.surface_type,
                        )
                        && names.contains(&p.name)
                })
                .unwrap_or_else(|| panic!("no forecast variable has the codes of {pd:?}"))
                .clone();
            let period_hours = interval.map(|i| {
                let r = &i.time_ranges[0];
                assert_eq!(
                    (r.type_of_statistical_processing, r.time_range_unit),
                    (1, 1)
                );
                r.time_range_length
            });
            assert_eq!(m.forecast_time_unit(), Some(1), "hours");
            let r = m.reference_time();
            let raw = m.read_flat_data_as_f64().unwrap();
            Decoded {
                level_hpa: param
                    .isobaric()
                    .then(|| (surface.scaled_value_f64().unwrap() / 100.0) as i32),
                number: ens.as_ref().map(|e| e.perturbation_number),
                ensemble_size: ens.as_ref().map(|e| e.number_of_forecasts_in_ensemble),
                lead_hours: m.forecast_time().unwrap() + i64::from(period_hours.unwrap_or(0)),
                period_hours,
                lat: m.latitudes().unwrap().unwrap(),
                lon: m.longitudes().unwrap().unwrap(),
                reference: (r.year, r.month, r.day, r.hour),
                values: raw
                    .iter()
                    .map(|v| (v / param.units_factor) as f32)
                    .collect(),
                param,
            }
        })
        .collect()
}

/// A forecast NetCDF file's coordinates and predicted variables.
struct NcForecast {
    members: Vec<i32>,
    leads: Vec<i32>,
    levels: Vec<i32>,
    lat: Vec<f32>,
    lon: Vec<f32>,
    /// Variable name → (levelled, values in `sample, batch, time[, level], lat, lon` order).
    vars: BTreeMap<String, (bool, Vec<f32>)>,
}

fn read_nc(path: &Path) -> NcForecast {
    let f = netcdf_reader::NcFile::open(path).unwrap();
    let ints = |n: &str| f.read_variable::<i32>(n).unwrap().iter().copied().collect();
    let floats =
        |n: &str| -> Vec<f32> { f.read_variable::<f32>(n).unwrap().iter().copied().collect() };
    let mut vars = BTreeMap::new();
    for p in all() {
        if let Ok(a) = f.read_variable::<f32>(&p.name) {
            vars.insert(p.name.clone(), (a.ndim() == 6, a.iter().copied().collect()));
        }
    }
    NcForecast {
        members: ints("sample"),
        leads: ints("time"),
        levels: ints("level"),
        lat: floats("lat"),
        lon: floats("lon"),
        vars,
    }
}

/// Asserts that the GRIB file holds exactly the NetCDF file's forecast, one message per
/// member, step, variable and level in that order, with the same values bit for bit (NaN
/// where the NetCDF value is NaN), and returns the decoded messages.
fn assert_same_forecast(grib: &Path, nc: &Path, ensemble: bool) -> Vec<Decoded> {
    let n = read_nc(nc);
    let names: Vec<String> = n.vars.keys().cloned().collect();
    let msgs = decode_all(grib, &names);
    let (nlat, nlon) = (n.lat.len(), n.lon.len());
    let points = nlat * nlon;
    let mut expected = Vec::new();
    for (m, &member) in n.members.iter().enumerate() {
        for (s, &lead) in n.leads.iter().enumerate() {
            // Variables in file order: the layout's, which the NetCDF header keeps.
            for name in nc_order(nc) {
                let (levelled, data) = &n.vars[&name];
                let nlev = if *levelled { n.levels.len() } else { 1 };
                for k in 0..nlev {
                    let start = ((m * n.leads.len() + s) * nlev + k) * points;
                    let level = levelled.then(|| n.levels[k]);
                    assert!(start + points <= data.len());
                    expected.push((name.clone(), level, member, lead, start));
                }
            }
        }
    }
    assert_eq!(
        msgs.len(),
        expected.len(),
        "one message per member, step, variable and level"
    );
    for (msg, (name, level, member, lead, start)) in msgs.iter().zip(&expected) {
        let at = format!("{name} {level:?} member {member} lead {lead}");
        assert_eq!(&msg.param.name, name, "{at}");
        assert_eq!(msg.level_hpa, *level, "{at}");
        assert_eq!(i64::from(*lead), msg.lead_hours, "{at}");
        assert_eq!(msg.period_hours, msg.param.accumulation_hours, "{at}");
        if ensemble {
            // number = sample + 1; the ensemble size counts from member 0.
            assert_eq!(msg.number, Some((member + 1) as u8), "{at}");
            assert_eq!(
                msg.ensemble_size,
                Some((n.members.iter().max().unwrap() + 1) as u8)
            );
        } else {
            assert_eq!((msg.number, msg.ensemble_size), (None, None), "{at}");
        }
        let lat: Vec<f64> = n.lat.iter().map(|&v| f64::from(v)).collect();
        assert_eq!(msg.lat, lat, "{at}: latitudes south to north");
        // Longitudes compare modulo 360°: a region across the prime meridian runs 340°, 350°,
        // 0°, … in the NetCDF file and 340°, 350°, 360°, … as the reader counts on from the first.
        let modulo = |x: &[f64]| x.iter().map(|v| v.rem_euclid(360.0)).collect::<Vec<_>>();
        let lon: Vec<f64> = n.lon.iter().map(|&v| f64::from(v)).collect();
        assert_eq!(modulo(&msg.lon), modulo(&lon), "{at}");
        let want = &n.vars[name].1[*start..start + points];
        let bits = |x: &[f32]| -> Vec<Option<u32>> {
            x.iter()
                .map(|v| (!v.is_nan()).then(|| v.to_bits()))
                .collect()
        };
        // Lossless packing: the same float32 values, missing where NaN.
        assert_eq!(bits(&msg.values), bits(want), "{at}");
    }
    msgs
}

/// The predicted variables of a forecast NetCDF file, in file order.
fn nc_order(nc: &Path) -> Vec<String> {
    let f = netcdf_reader::NcFile::open(nc).unwrap();
    let known: Vec<String> = all().into_iter().map(|p| p.name).collect();
    f.variables()
        .unwrap()
        .iter()
        .map(|v| v.name().to_string())
        .filter(|n| known.contains(n))
        .collect()
}

fn tmp_dir() -> (tempfile::TempDir, PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().to_path_buf();
    (d, p)
}

fn refused(out: &Output) -> String {
    assert!(!out.status.success(), "expected a refusal");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn gencast_grib2_holds_the_netcdf_forecast_and_resumes_byte_for_byte() {
    let (_d, dir) = tmp_dir();
    let args = ["--members", "2", "--steps", "2", "--seed", "5"];
    let (nc, grib) = (dir.join("f.nc"), dir.join("f.grib2"));
    assert_ok(&forecast("tiny-mha", &nc, &args));
    assert_ok(&forecast("tiny-mha", &grib, &args));
    let msgs = assert_same_forecast(&grib, &nc, true);
    assert_eq!(
        msgs[0].reference,
        (2019, 3, 29, 12),
        "the initialisation time"
    );
    // A finished file is replaced only with --overwrite.
    let before = std::fs::read(&grib).unwrap();
    let err = refused(&forecast("tiny-mha", &grib, &args));
    assert!(
        err.contains("already exists") && err.contains("--overwrite"),
        "{err}"
    );
    assert_eq!(std::fs::read(&grib).unwrap(), before);
    let tp: Vec<&Decoded> = msgs.iter().filter(|m| m.param.short_name == "tp").collect();
    assert!(tp.iter().all(|m| m.period_hours == Some(12)));

    // Stopped after three steps, then resumed: the uninterrupted file, byte for byte.
    let part = dir.join("part.grib2");
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_gencast"));
    let set = support::fixture("tiny-mha");
    let stopped = cmd
        .args(["forecast", "--checkpoint"])
        .arg(set.join("checkpoint.npz"))
        .arg("--dataset")
        .arg(support::fixture_dataset("tiny-mha"))
        .arg("--stats")
        .arg(&set)
        .arg("--output")
        .arg(&part)
        .args(args)
        .env("RUST_LOG", "warn")
        .env("GENCAST_STOP_AFTER_STEPS", "3")
        .output()
        .unwrap();
    assert!(!stopped.status.success() && !part.exists());
    let err = refused(&forecast("tiny-mha", &part, &args));
    assert!(err.contains("--resume"), "{err}");
    let mut resume = args.to_vec();
    resume.push("--resume");
    assert_ok(&forecast("tiny-mha", &part, &resume));
    assert_eq!(std::fs::read(&part).unwrap(), std::fs::read(&grib).unwrap());
}

#[test]
fn graphcast_grib2_is_a_deterministic_forecast_that_resumes_byte_for_byte() {
    let (_d, dir) = tmp_dir();
    let set = support::fixture("graphcast-tiny");
    let ds = set.join("source-era5_date-2019-03-29_res-10.0_levels-13_steps-03.nc");
    let ckpt = set.join("checkpoint.npz");
    let (nc, grib) = (dir.join("g.nc"), dir.join("g.grib2"));
    assert_ok(&run_forecast(
        "graphcast-tiny",
        &ckpt,
        &ds,
        &nc,
        &["--steps", "3"],
    ));
    assert_ok(&run_forecast(
        "graphcast-tiny",
        &ckpt,
        &ds,
        &grib,
        &["--steps", "3"],
    ));
    let msgs = assert_same_forecast(&grib, &nc, false);
    assert!(msgs
        .iter()
        .filter(|m| m.param.short_name == "tp")
        .all(|m| m.period_hours == Some(6)));

    let part = dir.join("part.grib2");
    let stopped = std::process::Command::new(env!("CARGO_BIN_EXE_gencast"))
        .args(["forecast", "--checkpoint"])
        .arg(&ckpt)
        .arg("--dataset")
        .arg(&ds)
        .arg("--stats")
        .arg(&set)
        .arg("--output")
        .arg(&part)
        .args(["--steps", "3"])
        .env("RUST_LOG", "warn")
        .env("GENCAST_STOP_AFTER_STEPS", "1")
        .output()
        .unwrap();
    assert!(!stopped.status.success() && !part.exists());
    assert_ok(&run_forecast(
        "graphcast-tiny",
        &ckpt,
        &ds,
        &part,
        &["--steps", "3", "--resume"],
    ));
    assert_eq!(std::fs::read(&part).unwrap(), std::fs::read(&grib).unwrap());
}

#[test]
fn a_selection_and_a_region_are_written_like_netcdf_and_summaries_are_refused() {
    let (_d, dir) = tmp_dir();
    let args = [
        "--members",
        "2",
        "--steps",
        "1",
        "--seed",
        "3",
        "--variables",
        "2m_temperature,total_precipitation_12hr,sea_surface_temperature,geopotential",
        "--levels",
        "500,850",
        "--region",
        "-30,40,-20,60",
        "--member-offset",
        "4",
    ];
    let (nc, grib) = (dir.join("r.nc"), dir.join("r.grb2"));
    assert_ok(&forecast("tiny-mha", &nc, &args));
    assert_ok(&forecast("tiny-mha", &grib, &args));
    let msgs = assert_same_forecast(&grib, &nc, true);
    // 2 members × (3 surface fields + geopotential on 2 levels).
    assert_eq!(msgs.len(), 2 * 5);
    assert_eq!(msgs[0].number, Some(5), "member 4 is number 5");

    let err = refused(&forecast(
        "tiny-mha",
        &dir.join("s.grib2"),
        &["--members", "2", "--ensemble-summary", "mean"],
    ));
    assert!(err.contains("GRIB2") && err.contains(".nc"), "{err}");
    assert!(!dir.join("s.grib2").exists());
}
