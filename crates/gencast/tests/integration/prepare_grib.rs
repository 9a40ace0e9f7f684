//! `prepare` from GRIB sources (made from the tiny-mha example dataset with ecCodes, see
//! tools/make_grib_fixtures.py) gives back the example's input frames: exactly from IEEE-packed
//! GRIB2, and within the packing's quantisation step from 24-bit simple, CCSDS and complex
//! packing in GRIB2 and simple packing in GRIB1. Each GRIB refusal names its culprit.

use std::path::{Path, PathBuf};

use crate::support::gencast_request_10deg as request;
use gencast::data::netcdf_time::parse_datetime;
use gencast::data::sources::{self, tables, Prepared};
use gencast::data::Dataset;

fn prepare_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/prepare")
}

fn example() -> Dataset {
    Dataset::open(
        Path::new(env!("CARGO_MANIFEST_DIR")).join(
            "tests/fixtures/tiny-mha/source-era5_date-2019-03-29_res-10.0_levels-13_steps-02.nc",
        ),
    )
    .unwrap()
}

fn paths(names: &[&str]) -> Vec<PathBuf> {
    names.iter().map(|n| prepare_dir().join(n)).collect()
}

fn packed_sources() -> Vec<PathBuf> {
    paths(&[
        "era5-single-levels.grib2",
        "era5-pressure-levels-ccsds.grib2",
        "era5-precipitation-complex.grib2",
        "era5-static.grib1",
    ])
}

fn bits(x: &[f32]) -> Vec<u32> {
    // NaN (SST over land) compares equal to NaN by its bits.
    x.iter()
        .map(|v| if v.is_nan() { u32::MAX } else { v.to_bits() })
        .collect()
}

/// The prepared variables against the example's first two frames: `check(name, got, want)` per
/// horizontal slice.
fn compare(prepared: &Prepared, mut check: impl FnMut(&str, &[f32], &[f32])) {
    let ex = example();
    assert_eq!(prepared.lat, ex.lat());
    assert_eq!(prepared.lon, ex.lon());
    assert_eq!(prepared.levels, ex.level());
    assert_eq!(prepared.datetimes, ex.datetime()[..2]);
    assert_eq!(prepared.vars.len(), ex.variables().len(), "variable count");
    let n = ex.lat().len() * ex.lon().len();
    for info in ex.variables() {
        let var = prepared
            .var(&info.name)
            .unwrap_or_else(|| panic!("`{}` not prepared", info.name));
        let frames = info.dims.iter().any(|d| d == "time").then_some(0..2);
        let want = ex.read(&info.name, frames).unwrap().data;
        assert_eq!(var.data.len(), want.len(), "`{}` size", info.name);
        if var.forcing.is_some() {
            check(&info.name, &var.data, &want);
            continue;
        }
        for (got, want) in var.data.chunks(n).zip(want.chunks(n)) {
            check(&info.name, got, want);
        }
    }
}

#[test]
fn ieee_packed_grib2_gives_back_the_example_inputs_exactly() {
    let prepared = sources::prepare(&paths(&["era5-ieee.grib2"]), &request()).unwrap();
    compare(&prepared, |name, got, want| {
        assert_eq!(bits(got), bits(want), "`{name}` differs");
    });
}

#[test]
fn packed_grib_gives_back_the_example_inputs_within_the_quantisation_step() {
    let prepared = sources::prepare(&packed_sources(), &request()).unwrap();
    let mut worst = 0f64;
    compare(&prepared, |name, got, want| {
        assert_eq!(
            got.iter().map(|x| x.is_nan()).collect::<Vec<_>>(),
            want.iter().map(|x| x.is_nan()).collect::<Vec<_>>(),
            "`{name}`: missing values differ"
        );
        let finite = || want.iter().filter(|x| x.is_finite()).map(|&x| f64::from(x));
        let (lo, hi) = (
            finite().fold(f64::INFINITY, f64::min),
            finite().fold(f64::NEG_INFINITY, f64::max),
        );
        // 24 bits per value: ecCodes picks the binary scale 2^E as the smallest power of two
        // with (max - min) / 2^E < 2^24, so rounding to the nearest level is off by at most
        // 2^E / 2 <= (max - min) / (2^24 - 1). Complex packing with second-order spatial
        // differencing packs differences whose range is up to 4 times the field's, and the
        // 12-hour precipitation sums 12 hourly parts each off by 1/12 of that: a factor 4
        // covers both. GRIB1 stores the reference value (the minimum) as an IBM float, 24-bit
        // mantissa with hexadecimal exponent: up to |min| * 2^-20 more. Decoded values are
        // rounded to float32 (and the 12 parts summed in float64, then rounded): |x| * 2^-22
        // covers that.
        let step = (hi - lo) / f64::from((1u32 << 24) - 1);
        let packing = if name.starts_with("total_precipitation") {
            4.0
        } else {
            1.0
        };
        for (&g, &w) in got.iter().zip(want).filter(|(_, w)| w.is_finite()) {
            let tol =
                packing * step + lo.abs() * 2f64.powi(-20) + f64::from(w).abs() * 2f64.powi(-22);
            let err = (f64::from(g) - f64::from(w)).abs();
            assert!(err <= tol, "`{name}`: {g} vs {w} (error {err:e} > {tol:e})");
            if step > 0.0 {
                worst = worst.max(err / step);
            }
        }
    });
    // The packing is lossy for some fields: the comparison is not vacuous.
    assert!(worst > 0.0, "every value exact");
}

#[test]
fn grib_fields_carry_levels_times_and_accumulation_periods() {
    let fields =
        sources::read_source(&prepare_dir().join("era5-precipitation-complex.grib2")).unwrap();
    assert_eq!(fields.len(), 1);
    let tp = &fields[0];
    assert_eq!(tp.source_name, "tp");
    // Hourly accumulations (steps s-1..s), valid at reference time + s: 24 hours ending at
    // 2019-03-29T12:00.
    assert_eq!(
        tp.conversion,
        tables::Conversion::Accumulation(1),
        "accumulation period"
    );
    let times = tp.times.as_ref().unwrap();
    assert_eq!(times.len(), 24);
    assert_eq!(times[0], parse_datetime("2019-03-28T13:00").unwrap());
    assert_eq!(times[23], parse_datetime("2019-03-29T12:00").unwrap());
    // The GRIB1 statics are south to north on -180..170.
    let statics = sources::read_source(&prepare_dir().join("era5-static.grib1")).unwrap();
    let lsm = statics.iter().find(|f| f.source_name == "lsm").unwrap();
    assert_eq!((lsm.lat[0], lsm.lon[0]), (-90.0, -180.0));
    let levels =
        sources::read_source(&prepare_dir().join("era5-pressure-levels-ccsds.grib2")).unwrap();
    let t = levels.iter().find(|f| f.source_name == "t").unwrap();
    assert_eq!(t.levels.as_ref().unwrap().len(), 13);
    assert_eq!(t.lat[0], 90.0);
}

#[test]
fn an_unsupported_packing_is_named() {
    let path = prepare_dir().join("jpeg2000.grib2");
    let err = sources::read_source(&path).unwrap_err().to_string();
    assert!(
        err.contains("jpeg2000.grib2")
            && err.contains("message 0 (`2t`)")
            && err.contains("JPEG 2000 packing")
            && err.contains("CCSDS"),
        "{err}"
    );
}

#[test]
fn a_zero_hour_accumulation_is_skipped_with_its_reason() {
    // Total precipitation in kg m-2 (0/1/52 accumulated) over steps 0-0: nothing accumulated.
    let path = prepare_dir().join("unknown-parameter.grib2");
    let contents = sources::read_source_contents(&path, &Default::default()).unwrap();
    assert!(contents.fields.is_empty());
    let skipped = &contents.skipped[0];
    assert_eq!((skipped.message, skipped.name.as_str()), (Some(0), "tp"));
    assert!(skipped.reason.contains("over 0 h"), "{skipped:?}");
}

#[test]
fn a_variable_missing_from_every_grib_source_is_named_with_what_was_found() {
    // The single-level file holds no pressure levels; the precipitation file no frames.
    let mut sources_ = paths(&["era5-single-levels.grib2", "era5-static.grib1"]);
    sources_.push(prepare_dir().join("era5-precipitation-complex.grib2"));
    let err = sources::prepare(&sources_, &request())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`temperature`")
            && err.contains("era5-single-levels.grib2: 10u, 10v, 2t, msl, sst"),
        "{err}"
    );
}

#[test]
fn a_missing_grib_hour_is_named() {
    // Forecasts from 2019-03-29T06:00 only: the hours up to 06:00 are missing.
    let init = parse_datetime("2019-03-29T12:00").unwrap();
    let mut fields = Vec::new();
    for p in packed_sources() {
        fields.extend(sources::read_source(&p).unwrap());
    }
    let tp = fields.iter_mut().find(|f| f.source_name == "tp").unwrap();
    let keep: Vec<usize> = (0..tp.n_times())
        .filter(|&i| tp.times.as_ref().unwrap()[i] > init - 6 * 3_600_000_000_000)
        .collect();
    let n = tp.n_grid();
    tp.data = keep
        .iter()
        .flat_map(|&i| tp.data[i * n..(i + 1) * n].to_vec())
        .collect();
    tp.times = Some(
        keep.iter()
            .map(|&i| tp.times.as_ref().unwrap()[i])
            .collect(),
    );
    let err = sources::prepare_fields(fields, &packed_sources(), &request())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("era5-precipitation-complex.grib2")
            && err.contains("`tp`")
            && err.contains("missing 2019-03-28T13:00"),
        "{err}"
    );
}

#[test]
fn accumulations_of_different_periods_are_refused() {
    let path = prepare_dir().join("tp-mixed-periods.grib2");
    let err = sources::read_source(&path).unwrap_err().to_string();
    assert!(
        err.contains("tp-mixed-periods.grib2")
            && err.contains("`tp`")
            && err.contains("different periods ({6, 12} hours)"),
        "{err}"
    );
}

#[test]
fn corrupted_grib_files_are_refused_without_panicking() {
    let bytes = std::fs::read(prepare_dir().join("era5-single-levels.grib2")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.grib2");
    let read = |b: &[u8]| {
        std::fs::write(&path, b).unwrap();
        sources::read_source(&path)
    };
    // A file cut inside a message is refused, with the file named. The cuts are 20 bytes past
    // k/40 of the file: half the file is a whole number of messages (a valid file), and a tail
    // shorter than a GRIB indicator section (16 bytes) is skipped by the reader as stray bytes.
    for k in 1..40 {
        let cut = k * bytes.len() / 40 + 20;
        let Err(err) = read(&bytes[..cut]).map(|f| f.len()) else {
            panic!("cut at {cut} of {} read", bytes.len());
        };
        let err = err.to_string();
        assert!(err.contains("bad.grib2"), "cut at {k}/40: {err}");
    }
    // Single bytes flipped across the first messages: refused or read, never a panic.
    for i in (4..6000).step_by(7) {
        let mut b = bytes.clone();
        b[i] ^= 0x5a;
        let _ = read(&b);
    }
}
