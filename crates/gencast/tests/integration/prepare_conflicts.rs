//! `prepare` reads units, refuses conflicting copies of a variable and several ensemble
//! members unless one is chosen, and names the true cause when a frame is missing. The fields
//! are those of the CDS fixtures (tools/make_prepare_fixtures.py), altered in memory.

use std::path::{Path, PathBuf};

use gencast::data::sources::{self, Field, Prepared};
use gencast::forecast::AttrValue;
use gencast::output::netcdf::{NcHeader, NcType, NcWriter};

use crate::prepare_sources::{cds_sources, fields, request};

fn prepare_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/prepare")
}

fn prepare(fields: Vec<Field>) -> gencast::Result<Prepared> {
    sources::prepare_fields(fields, &cds_sources(), &request("2019-03-29T12:00"))
}

fn baseline() -> Prepared {
    prepare(fields()).unwrap()
}

/// Asserts two prepared datasets are equal bit for bit (NaN, SST over land, equal to NaN).
fn assert_same(got: &Prepared, want: &Prepared) {
    assert_eq!(
        (&got.lat, &got.lon, &got.levels, &got.datetimes),
        (&want.lat, &want.lon, &want.levels, &want.datetimes)
    );
    let names = |p: &Prepared| p.vars.iter().map(|v| v.name.clone()).collect::<Vec<_>>();
    assert_eq!(names(got), names(want));
    for (g, w) in got.vars.iter().zip(&want.vars) {
        let bits = |x: &[f32]| {
            x.iter()
                .map(|v| if v.is_nan() { u32::MAX } else { v.to_bits() })
                .collect::<Vec<_>>()
        };
        assert!(bits(&g.data) == bits(&w.data), "`{}` differs", g.name);
    }
}

fn field<'a>(fs: &'a mut [Field], name: &str) -> &'a mut Field {
    fs.iter_mut().find(|f| f.source_name == name).unwrap()
}

/// Asserts `got` equals `want` to `tol(want)` everywhere (NaN where `want` is NaN).
fn assert_close(got: &[f32], want: &[f32], tol: impl Fn(f64) -> f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        if w.is_nan() {
            assert!(g.is_nan(), "{what}[{i}]: {g}, want NaN");
        } else {
            let (g, w) = (f64::from(g), f64::from(w));
            assert!((g - w).abs() <= tol(w), "{what}[{i}]: {g}, want {w}");
        }
    }
}

#[test]
fn precipitation_in_mm_temperature_in_celsius_and_pressure_in_hpa_are_converted() {
    let base = baseline();
    let mut fs = fields();
    let tp = field(&mut fs, "tp");
    tp.units = Some("mm".into());
    tp.data
        .iter_mut()
        .for_each(|x| *x = (f64::from(*x) * 1000.0) as f32);
    let t2m = field(&mut fs, "t2m");
    t2m.units = Some("degC".into());
    t2m.data
        .iter_mut()
        .for_each(|x| *x = (f64::from(*x) - 273.15) as f32);
    let msl = field(&mut fs, "msl");
    msl.units = Some("hPa".into());
    msl.data
        .iter_mut()
        .for_each(|x| *x = (f64::from(*x) / 100.0) as f32);
    let got = prepare(fs).unwrap();
    let var = |p: &Prepared, n: &str| p.var(n).unwrap().data.clone();
    // tp: one float32 rounding each way per hourly part, then the 12-hour sum: 1e-6 relative.
    assert_close(
        &var(&got, "total_precipitation_12hr"),
        &var(&base, "total_precipitation_12hr"),
        |w| 1e-6 * w.abs() + 1e-12,
        "total_precipitation_12hr",
    );
    // °C: two float32 roundings at magnitudes up to ~330, each at most 2^-15 K.
    assert_close(
        &var(&got, "2m_temperature"),
        &var(&base, "2m_temperature"),
        |_| 1e-4,
        "2m_temperature",
    );
    // hPa: two float32 roundings, relative 2^-24 each.
    assert_close(
        &var(&got, "mean_sea_level_pressure"),
        &var(&base, "mean_sea_level_pressure"),
        |w| 2.5e-7 * w.abs(),
        "mean_sea_level_pressure",
    );
}

#[test]
fn units_that_cannot_be_converted_are_refused_naming_file_variable_and_units() {
    let mut fs = fields();
    field(&mut fs, "t2m").units = Some("degF".into());
    let err = prepare(fs).unwrap_err().to_string();
    for needle in [
        "cds-single-levels.nc",
        "`t2m`",
        "`degF`",
        "`K`",
        "`2m_temperature`",
    ] {
        assert!(err.contains(needle), "`{needle}` not in: {err}");
    }
    // A precipitation rate is not an amount.
    let mut fs = fields();
    field(&mut fs, "tp").units = Some("kg m**-2 s**-1".into());
    let err = prepare(fs).unwrap_err().to_string();
    assert!(err.contains("`tp`") && err.contains("rate"), "{err}");
}

#[test]
fn a_conflicting_copy_placed_first_is_refused_naming_both_places() {
    let mut fs = fields();
    let mut warm = field(&mut fs, "t2m").clone();
    warm.path = PathBuf::from("warm-copy.nc");
    warm.data.iter_mut().for_each(|x| *x += 10.0);
    fs.insert(0, warm);
    let err = prepare(fs).unwrap_err().to_string();
    for needle in [
        "`2m_temperature`",
        "at 2019-03-29T00:00:00",
        "`t2m` in warm-copy.nc",
        "cds-single-levels.nc",
        "different values",
    ] {
        assert!(err.contains(needle), "`{needle}` not in: {err}");
    }
}

#[test]
fn an_identical_copy_is_accepted() {
    let mut fs = fields();
    let mut copy = field(&mut fs, "z").clone();
    copy.path = PathBuf::from("copy.nc");
    fs.insert(0, copy);
    assert_same(&prepare(fs).unwrap(), &baseline());
}

#[test]
fn a_variable_split_by_time_over_two_sources_is_merged() {
    let mut fs = fields();
    let t2m = field(&mut fs, "t2m");
    let n = t2m.n_grid();
    let times = t2m.times.clone().unwrap();
    let mut later = t2m.clone();
    later.path = PathBuf::from("later.nc");
    later.times = Some(times[1..].to_vec());
    later.data = t2m.data[n..].to_vec();
    t2m.times = Some(times[..1].to_vec());
    t2m.data.truncate(n);
    fs.push(later);
    assert_same(&prepare(fs).unwrap(), &baseline());
}

#[test]
fn a_repeated_time_with_other_values_is_refused() {
    let mut fs = fields();
    let msl = field(&mut fs, "msl");
    let n = msl.n_grid();
    let mut times = msl.times.clone().unwrap();
    times.push(times[1]);
    let again: Vec<f32> = msl.data[n..2 * n].iter().map(|x| x + 50.0).collect();
    msl.data.extend(again);
    msl.times = Some(times);
    let err = prepare(fs).unwrap_err().to_string();
    assert!(
        err.contains("`mean_sea_level_pressure` at 2019-03-29T12:00:00 is given twice")
            && err.contains("`msl` in"),
        "{err}"
    );
}

#[test]
fn several_members_are_refused_unless_one_is_chosen() {
    let mut fs = fields();
    let t2m = field(&mut fs, "t2m");
    t2m.member = Some(0);
    let mut one = t2m.clone();
    one.member = Some(1);
    one.data.iter_mut().for_each(|x| *x += 1.0);
    fs.push(one);
    let err = prepare(fs.clone()).unwrap_err().to_string();
    assert!(
        err.contains("2 ensemble members") && err.contains("--member"),
        "{err}"
    );
    let mut req = request("2019-03-29T12:00");
    req.member = Some(1);
    let got = sources::prepare_fields(fs.clone(), &cds_sources(), &req).unwrap();
    // Member 1's frames, oriented to the model's grid like the baseline's.
    let base = baseline();
    let b = &base.var("2m_temperature").unwrap().data;
    let g = &got.var("2m_temperature").unwrap().data;
    assert_eq!(
        g,
        &b.iter().map(|x| x + 1.0).collect::<Vec<f32>>(),
        "member 1"
    );
    req.member = Some(5);
    let err = sources::prepare_fields(fs, &cds_sources(), &req)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("member 5 is in none of the sources") && err.contains("0 (`t2m` in"),
        "{err}"
    );
}

/// Writes a CDS-style ensemble file: `t2m` (number, valid_time, latitude, longitude) with
/// members 10 and 11 (11 is 10 plus 1 K), and a non-gridded `expver_code` (valid_time).
fn write_ensemble(path: &Path) -> Field {
    let base = sources::read_source(&prepare_dir().join("cds-single-levels.nc"))
        .unwrap()
        .into_iter()
        .find(|f| f.source_name == "t2m")
        .unwrap();
    let text = |s: &str| AttrValue::Text(s.to_string());
    let mut h = NcHeader::default();
    let number = h.add_dim("number", 2);
    let time = h.add_dim("valid_time", base.n_times());
    let lat = h.add_dim("latitude", base.lat.len());
    let lon = h.add_dim("longitude", base.lon.len());
    h.add_var("number", &[number], NcType::Int, vec![]);
    h.add_var(
        "valid_time",
        &[time],
        NcType::Double,
        vec![("units".into(), text("hours since 1970-01-01"))],
    );
    h.add_var("latitude", &[lat], NcType::Double, vec![]);
    h.add_var("longitude", &[lon], NcType::Double, vec![]);
    h.add_var(
        "t2m",
        &[number, time, lat, lon],
        NcType::Float,
        vec![("units".into(), text("K"))],
    );
    h.add_var("expver_code", &[time], NcType::Int, vec![]);
    let mut w = NcWriter::create(path, h).unwrap();
    w.write_i32(0, 0, &[10, 11]).unwrap();
    let hours: Vec<f64> = base
        .times
        .as_ref()
        .unwrap()
        .iter()
        .map(|&t| t as f64 / 3.6e12)
        .collect();
    w.write_f64(1, 0, &hours).unwrap();
    w.write_f64(2, 0, &base.lat).unwrap();
    w.write_f64(3, 0, &base.lon).unwrap();
    let plus: Vec<f32> = base.data.iter().map(|x| x + 1.0).collect();
    w.write_f32(4, 0, &[base.data.clone(), plus].concat())
        .unwrap();
    w.write_i32(5, 0, &vec![1; base.n_times()]).unwrap();
    w.finish().unwrap();
    base
}

#[test]
fn a_netcdf_number_dimension_gives_one_field_per_member_and_other_variables_are_listed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ensemble.nc");
    let base = write_ensemble(&path);
    let contents = sources::read_source_contents(&path, &Default::default()).unwrap();
    let members: Vec<Option<i64>> = contents.fields.iter().map(|f| f.member).collect();
    assert_eq!(members, [Some(10), Some(11)]);
    assert_eq!(contents.fields[0].data, base.data);
    let plus: Vec<f32> = base.data.iter().map(|x| x + 1.0).collect();
    assert_eq!(contents.fields[1].data, plus);
    assert_eq!(contents.fields[1].times, base.times);
    assert_eq!(contents.skipped.len(), 1, "{:?}", contents.skipped);
    assert_eq!(contents.skipped[0].name, "expver_code");
    assert!(contents.skipped[0].reason.contains("not gridded"));

    // `prepare` with it among the sources: refused without a member, member 11 taken with one.
    let mut srcs = cds_sources();
    srcs[0] = path.clone();
    let mut fs: Vec<Field> = fields()
        .into_iter()
        .filter(|f| f.source_name != "t2m")
        .collect();
    fs.extend(contents.fields);
    let err = sources::prepare_fields(fs.clone(), &srcs, &request("2019-03-29T12:00"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("ensemble members") && err.contains("ensemble.nc"),
        "{err}"
    );
    let mut req = request("2019-03-29T12:00");
    req.member = Some(11);
    let got = sources::prepare_fields(fs, &srcs, &req).unwrap();
    let b = baseline();
    let want: Vec<f32> = b
        .var("2m_temperature")
        .unwrap()
        .data
        .iter()
        .map(|x| x + 1.0)
        .collect();
    assert_eq!(got.var("2m_temperature").unwrap().data, want);
}

#[test]
fn an_init_time_outside_the_sources_names_the_frames_found() {
    // The GRIB source holds 2019-03-29T00:00 and 12:00; frames a day later are in none.
    let src = vec![prepare_dir().join("era5-ieee.grib2")];
    let err = sources::prepare(&src, &request("2019-03-30T12:00"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no frame at 2019-03-30T00:00:00, 2019-03-30T12:00:00"),
        "{err}"
    );
    assert!(
        err.contains("frames found: ") && err.contains("2019-03-29T12:00:00"),
        "{err}"
    );
    assert!(!err.contains("found in none of the sources"), "{err}");
}

/// Copies a directory tree.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn a_repeated_zarr_dimension_name_is_named_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("wb2.zarr");
    copy_dir(&prepare_dir().join("wb2.zarr"), &store);
    let meta = store.join(".zmetadata");
    let text = std::fs::read_to_string(&meta).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["metadata"]["2m_temperature/.zattrs"]["_ARRAY_DIMENSIONS"] =
        serde_json::json!(["latitude", "longitude", "longitude"]);
    std::fs::write(&meta, v.to_string()).unwrap();
    let err = sources::read_source(&store).unwrap_err().to_string();
    assert!(
        err.contains("`2m_temperature`")
            && err.contains("dimension name `longitude` appears twice"),
        "{err}"
    );
}
