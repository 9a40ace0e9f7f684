//! `prepare` for GraphCast (6 h frames, `total_precipitation_6hr`, TOA solar radiation as a
//! forcing, no progress features in the file): the graphcast-tiny example dataset, put in memory
//! through the inverse conversions into a CDS layout (short names, latitudes north to south,
//! longitudes -180..170, levels 1000..50 hPa, hourly precipitation), comes back as the example's
//! input frames.

use std::path::{Path, PathBuf};

use gencast::data::checks::check_inputs_every;
use gencast::data::netcdf_time::parse_datetime;
use gencast::data::solar_radiation::TISR;
use gencast::data::sources::convert::Regrid;
use gencast::data::sources::tables::{self, name_rule};
use gencast::data::sources::{self, Field, PrepareRequest, Prepared};
use gencast::data::Dataset;

const NS_PER_HOUR: i64 = 3_600_000_000_000;

fn example_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(
        "tests/fixtures/graphcast-tiny/source-era5_date-2019-03-29_res-10.0_levels-13_steps-03.nc",
    )
}

/// CDS short names of the example's variables.
fn short_name(var: &str) -> &'static str {
    match var {
        "2m_temperature" => "t2m",
        "mean_sea_level_pressure" => "msl",
        "10m_u_component_of_wind" => "u10",
        "10m_v_component_of_wind" => "v10",
        "total_precipitation_6hr" => "tp",
        "toa_incident_solar_radiation" => "tisr",
        "temperature" => "t",
        "geopotential" => "z",
        "u_component_of_wind" => "u",
        "v_component_of_wind" => "v",
        "vertical_velocity" => "w",
        "specific_humidity" => "q",
        "geopotential_at_surface" => "z",
        "land_sea_mask" => "lsm",
        other => panic!("no short name for `{other}`"),
    }
}

/// (lat ascending, lon 0..350) slices to CDS order: latitudes descending, longitudes -180..170.
fn to_cds(slices: &[f32], nlat: usize, nlon: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(slices.len());
    for slab in slices.chunks(nlat * nlon) {
        for i in (0..nlat).rev() {
            let row = &slab[i * nlon..(i + 1) * nlon];
            out.extend_from_slice(&row[nlon / 2..]);
            out.extend_from_slice(&row[..nlon / 2]);
        }
    }
    out
}

/// The example's variables in a CDS layout, all five frames; `with_tisr` keeps the TOA
/// radiation as an ERA5 `tisr` field.
fn cds_fields(with_tisr: bool) -> Vec<Field> {
    let ex = Dataset::open(example_path()).unwrap();
    let (nlat, nlon) = (ex.lat().len(), ex.lon().len());
    let n = nlat * nlon;
    let lat: Vec<f64> = ex.lat().iter().rev().map(|&x| f64::from(x)).collect();
    let lon: Vec<f64> = (0..nlon)
        .map(|j| f64::from(ex.lon()[(j + nlon / 2) % nlon]))
        .map(|x| if x >= 180.0 { x - 360.0 } else { x })
        .collect();
    let datetimes = ex.datetime().to_vec();
    let levels: Vec<i32> = ex.level().iter().rev().copied().collect();
    let mut fields = Vec::new();
    for info in ex.variables() {
        if info.name == TISR && !with_tisr {
            continue;
        }
        let short = short_name(&info.name);
        let rule = name_rule(short);
        let timed = info.dims.iter().any(|d| d == "time");
        let leveled = info.dims.iter().any(|d| d == "level");
        let data = ex.read(&info.name, None).unwrap().data;
        let mut field = Field {
            path: PathBuf::from(format!("cds-{short}.nc")),
            source_name: short.to_string(),
            model_name: rule.model,
            conversion: rule.conversion,
            units: None,
            times: timed.then(|| datetimes.clone()),
            levels: leveled.then(|| levels.clone()),
            lat: lat.clone(),
            lon: lon.clone(),
            data: Vec::new(),
            member: None,
            messages: Vec::new(),
        };
        if short == "tp" {
            // Each 6-hour total as 6 hourly float32 parts whose float64 sum rounds back to it.
            let mut hours = Vec::new();
            let mut parts = Vec::new();
            for (k, &t) in datetimes.iter().enumerate() {
                let total = &data[k * n..(k + 1) * n];
                let p: Vec<f32> = total.iter().map(|&x| x / 6.0).collect();
                let last: Vec<f32> = total
                    .iter()
                    .zip(&p)
                    .map(|(&x, &p)| (f64::from(x) - 5.0 * f64::from(p)) as f32)
                    .collect();
                for ((&x, &p), &l) in total.iter().zip(&p).zip(&last) {
                    assert_eq!((5.0 * f64::from(p) + f64::from(l)) as f32, x);
                }
                for h in (0..6).rev() {
                    hours.push(t - h * NS_PER_HOUR);
                    parts.extend_from_slice(if h == 0 { &last } else { &p });
                }
            }
            field.units = Some("m".into());
            field.conversion = tables::Conversion::Accumulation(1);
            field.times = Some(hours);
            field.data = to_cds(&parts, nlat, nlon);
        } else if leveled {
            // Levels reversed to 1000..50 hPa within each frame.
            let nl = levels.len();
            let mut reordered = Vec::with_capacity(data.len());
            for frame in data.chunks(nl * n) {
                for l in (0..nl).rev() {
                    reordered.extend_from_slice(&frame[l * n..(l + 1) * n]);
                }
            }
            field.data = to_cds(&reordered, nlat, nlon);
        } else {
            field.data = to_cds(&data, nlat, nlon);
        }
        fields.push(field);
    }
    fields
}

fn request(model: &str) -> PrepareRequest {
    let mut model = tables::model(model).unwrap();
    // The fixture is on a 10° grid.
    model.grid_step = 10.0;
    PrepareRequest {
        model,
        init_time: parse_datetime("2019-03-29T06:00").unwrap(),
        regrid: Regrid::Subsample,
        member: None,
    }
}

/// Every variable against the example's frames 0 and 1: bit for bit, TOA radiation within
/// `tisr_tolerance` of the maximum.
fn assert_matches_example(prepared: &Prepared, tisr_tolerance: f64) {
    let ex = Dataset::open(example_path()).unwrap();
    assert_eq!(prepared.lat, ex.lat());
    assert_eq!(prepared.lon, ex.lon());
    assert_eq!(prepared.levels, ex.level());
    assert_eq!(prepared.datetimes, ex.datetime()[..2]);
    // Like the example: no progress features in the file.
    let mut names: Vec<&str> = prepared.vars.iter().map(|v| v.name.as_str()).collect();
    let mut want: Vec<String> = ex.variables().iter().map(|v| v.name.clone()).collect();
    names.sort_unstable();
    want.sort_unstable();
    assert_eq!(names, want);
    for info in ex.variables() {
        let var = prepared.var(&info.name).unwrap();
        let frames = info.dims.iter().any(|d| d == "time").then_some(0..2);
        let want = ex.read(&info.name, frames).unwrap().data;
        assert_eq!(var.data.len(), want.len(), "`{}` size", info.name);
        if info.name == TISR && tisr_tolerance > 0.0 {
            let max = want.iter().fold(0f64, |m, &x| m.max(f64::from(x)));
            for (&g, &w) in var.data.iter().zip(&want) {
                let err = (f64::from(g) - f64::from(w)).abs();
                assert!(err <= tisr_tolerance * max, "TISR {g} vs {w}");
            }
        } else {
            let bits = |x: &[f32]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&var.data), bits(&want), "`{}` differs", info.name);
        }
    }
}

#[test]
fn graphcast_small_inputs_come_back_from_a_cds_layout() {
    let request = request("graphcast-small");
    let prepared = sources::prepare_fields(cds_fields(true), &[], &request).unwrap();
    assert_matches_example(&prepared, 0.0);
    // Written, it passes the checks `gencast check` runs for the GraphCast task.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("inputs.nc");
    sources::write_netcdf(&prepared, &out).unwrap();
    let ds = Dataset::open(&out).unwrap();
    let report = check_inputs_every(&ds, &request.model.task, 0, 6).unwrap();
    assert!(report.is_ok(), "{report}");
}

#[test]
fn toa_radiation_missing_from_the_sources_is_computed() {
    let prepared =
        sources::prepare_fields(cds_fields(false), &[], &request("graphcast-small")).unwrap();
    // The computed TISR is within 4e-6 of the maximum of the reference's, as in
    // tests/graphcast_tisr.rs (float32 emulation of the reference's float32 integration).
    assert_matches_example(&prepared, 4e-6);
}

#[test]
fn graphcast_models_have_six_hour_frames_and_precipitation() {
    for (name, levels, precip_input) in [
        ("graphcast-small", 13, true),
        ("graphcast-operational", 13, false),
        ("graphcast", 37, true),
    ] {
        let m = tables::model(name).unwrap();
        assert_eq!(m.step_hours, 6, "{name}");
        assert_eq!(m.input_frames().unwrap(), 2, "{name}");
        assert_eq!(m.precipitation_hours(), 6, "{name}");
        assert_eq!(m.task.pressure_levels.len(), levels, "{name}");
        assert_eq!(
            m.task
                .input_variables
                .iter()
                .any(|v| v == "total_precipitation_6hr"),
            precip_input,
            "{name}"
        );
        assert!(m.task.forcing_variables.iter().any(|v| v == TISR));
    }
    assert_eq!(tables::model("graphcast-small").unwrap().grid_step, 1.0);
}

#[test]
fn a_missing_hour_of_six_hour_precipitation_is_named() {
    let mut fields = cds_fields(true);
    let tp = fields.iter_mut().find(|f| f.source_name == "tp").unwrap();
    // Drop the hour ending at 2019-03-29T03:00.
    let gone = parse_datetime("2019-03-29T03:00").unwrap();
    let i = tp
        .times
        .as_ref()
        .unwrap()
        .iter()
        .position(|&t| t == gone)
        .unwrap();
    let n = tp.n_grid();
    tp.times.as_mut().unwrap().remove(i);
    tp.data.drain(i * n..(i + 1) * n);
    let err = sources::prepare_fields(fields, &[], &request("graphcast-small"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("6-hour precipitation") && err.contains("missing 2019-03-29T03:00"),
        "{err}"
    );
}
