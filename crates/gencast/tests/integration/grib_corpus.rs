//! The GRIB trap corpus (tools/make_grib_corpus.py, written with ecCodes): each file is read as
//! ecCodes lists it in `NAME.expected.json` (which messages feed which model variable at which
//! level, valid time and member, on which grid, with which values; which are skipped), and
//! `prepare` skips each trap or refuses it by name.

use std::path::{Path, PathBuf};

use crate::support::gencast_request_10deg as request;
use gencast::data::netcdf_time::format_datetime;
use gencast::data::sources::{self, Field, SourceContents, Wanted};
use serde_json::Value;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/grib-corpus")
}

fn read(name: &str) -> gencast::Result<SourceContents> {
    sources::read_source_contents(&corpus().join(name), &Wanted::default())
}

fn expected(name: &str) -> Value {
    let text = std::fs::read_to_string(corpus().join(format!("{name}.expected.json"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The model's units and the factor to them of a GRIB field's units (as ecCodes spells them).
fn model_units(grib_units: &str) -> (&'static str, f64) {
    match grib_units {
        "K" => ("K", 1.0),
        "Pa" => ("Pa", 1.0),
        "m" => ("m", 1.0),
        "m s**-1" => ("m s-1", 1.0),
        "m**2 s**-2" => ("m2 s-2", 1.0),
        "gpm" => ("m2 s-2", 9.80665),
        "kg m**-2" => ("m", 1e-3),
        other => panic!("units `{other}` not in the corpus"),
    }
}

/// The (field, slice) holding message `message`.
fn slice_of(fields: &[Field], message: usize) -> Option<(&Field, usize)> {
    fields.iter().find_map(|f| {
        f.messages
            .iter()
            .position(|&m| m == message)
            .map(|k| (f, k))
    })
}

fn check_listing(name: &str) {
    let contents = read(name).unwrap_or_else(|e| panic!("{name}: {e}"));
    let want = expected(name);
    let skipped: Vec<(usize, String)> = contents
        .skipped
        .iter()
        .map(|s| (s.message.unwrap(), s.name.clone()))
        .collect();
    let want_skipped: Vec<(usize, String)> = want["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["message"].as_u64().unwrap() as usize,
                s["name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(skipped, want_skipped, "{name}: skipped messages");
    for s in &contents.skipped {
        assert!(!s.reason.is_empty(), "{name}: {s:?} without a reason");
    }
    let rows = want["fields"].as_array().unwrap();
    let slices: usize = contents.fields.iter().map(|f| f.messages.len()).sum();
    assert_eq!(
        slices,
        rows.len(),
        "{name}: messages read as model variables"
    );
    for row in rows {
        let message = row["message"].as_u64().unwrap() as usize;
        let what = format!("{name} message {message}");
        let (f, k) = slice_of(&contents.fields, message).unwrap_or_else(|| panic!("{what}"));
        assert_eq!(f.source_name, row["name"].as_str().unwrap(), "{what}");
        assert_eq!(f.model_name, row["variable"].as_str().unwrap(), "{what}");
        assert_eq!(f.member, row["member"].as_i64(), "{what}: member");
        let (t, l) = (k / f.n_levels(), k % f.n_levels());
        let level = f.levels.as_ref().map(|ls| i64::from(ls[l]));
        assert_eq!(level, row["level"].as_i64(), "{what}: level");
        let valid = format_datetime(f.times.as_ref().unwrap()[t]);
        assert_eq!(
            &valid[..16],
            row["valid_time"].as_str().unwrap(),
            "{what}: valid time"
        );
        let (units, factor) = model_units(f.units.as_deref().unwrap());
        assert_eq!(units, row["units"].as_str().unwrap(), "{what}: units");
        let extent = |x: &[f64]| {
            (
                x.iter().copied().fold(f64::INFINITY, f64::min),
                x.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            )
        };
        let num = |key: &str| row[key].as_f64().unwrap();
        // Axes are computed from first/last points in micro-degrees, as ecCodes does: the
        // extents agree to far below a micro-degree.
        let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
        let (lat_min, lat_max) = extent(&f.lat);
        let (lon_min, lon_max) = extent(&f.lon);
        assert!(
            close(lat_min, num("lat_min")) && close(lat_max, num("lat_max")),
            "{what}: latitudes {lat_min}..{lat_max}"
        );
        assert!(
            close(lon_min, num("lon_min")) && close(lon_max, num("lon_max")),
            "{what}: longitudes {lon_min}..{lon_max}"
        );
        assert_eq!(f.lat.len() as u64, row["nlat"].as_u64().unwrap(), "{what}");
        assert_eq!(f.lon.len() as u64, row["nlon"].as_u64().unwrap(), "{what}");
        let values: Vec<f64> = f
            .slice(t, l)
            .iter()
            .filter(|x| !x.is_nan())
            .map(|&x| f64::from(x) * factor)
            .collect();
        let (min, max) = extent(&values);
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        // ecCodes decodes in float64, this reader to float32: each value is off by at most
        // half a float32 ulp (2^-24 relative), and the unit factor adds one float64 rounding.
        let tol = 2f64.powi(-23) * num("max").abs().max(num("min").abs());
        for (key, got) in [("min", min), ("max", max), ("mean", mean)] {
            assert!(
                (got - num(key)).abs() <= tol,
                "{what}: {key} {got} vs ecCodes {} (tolerance {tol:e})",
                num(key)
            );
        }
    }
}

#[test]
fn every_corpus_file_is_read_as_eccodes_lists_it() {
    let mut names: Vec<String> = std::fs::read_dir(corpus())
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.strip_suffix(".expected.json").map(str::to_string)
        })
        .collect();
    names.sort();
    assert!(names.len() >= 10, "{names:?}");
    for name in &names {
        check_listing(name);
    }
}

#[test]
fn products_sharing_a_parameter_code_are_skipped_with_their_reason() {
    let tprate = read("ecmwf-tprate-vs-tp.grib2").unwrap();
    assert_eq!(tprate.fields.len(), 1);
    assert_eq!(tprate.fields[0].source_name, "tp");
    assert!(
        tprate.skipped[0].reason.contains("m s**-1")
            && tprate.skipped[0].reason.contains("average over 6 h"),
        "{:?}",
        tprate.skipped
    );
    let stats = read("ecmwf-2t-statistics.grib2").unwrap();
    let reasons: Vec<&str> = stats.skipped.iter().map(|s| s.reason.as_str()).collect();
    assert!(reasons[0].contains("maximum over 6 h"), "{reasons:?}");
    assert!(reasons[1].contains("minimum over 6 h"), "{reasons:?}");
    assert!(reasons[2].contains("average over 6 h"), "{reasons:?}");
    let ens = read("ensemble-products.grib2").unwrap();
    let reasons: Vec<&str> = ens.skipped.iter().map(|s| s.reason.as_str()).collect();
    assert!(reasons[0].contains("ensemble mean"), "{reasons:?}");
    assert!(reasons[1].contains("ensemble spread"), "{reasons:?}");
    assert!(
        reasons[4].contains("ensemble mean of the accumulation over 6 h"),
        "{reasons:?}"
    );
}

#[test]
fn grib_units_are_delivered_as_ecmwf_spells_them() {
    let units = |name: &str| -> Vec<String> {
        read(name)
            .unwrap()
            .fields
            .iter()
            .map(|f| f.units.clone().unwrap())
            .collect()
    };
    assert_eq!(units("precip-kg-m2.grib2"), ["kg m**-2"]);
    assert_eq!(units("ncep-cfrzr-vs-apcp.grib2"), ["kg m**-2"]);
    assert_eq!(units("ecmwf-tprate-vs-tp.grib2"), ["m"]);
    assert_eq!(units("gh-levels.grib2"), ["gpm"]);
}

#[test]
fn ensemble_members_are_fields_of_their_own() {
    let fields = read("ensemble-members.grib2").unwrap().fields;
    let mut members: Vec<(String, Option<i64>, Vec<usize>)> = fields
        .iter()
        .map(|f| (f.source_name.clone(), f.member, f.messages.clone()))
        .collect();
    members.sort();
    assert_eq!(
        members,
        [
            ("2t".to_string(), Some(0), vec![0]),
            ("2t".into(), Some(1), vec![3]),
            ("2t".into(), Some(2), vec![6]),
            ("t".into(), Some(0), vec![1, 2]),
            ("t".into(), Some(1), vec![4, 5]),
            ("t".into(), Some(2), vec![7, 8]),
        ]
    );
}

#[test]
fn differing_duplicates_are_refused_naming_both_messages() {
    let err = read("duplicates-conflicting.grib2")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("duplicates-conflicting.grib2")
            && err.contains("`2t`")
            && err.contains("messages 0 and 2 both hold 2019-03-29T06:00")
            && err.contains("different values"),
        "{err}"
    );
}

#[test]
fn a_missing_year_is_refused_not_wrapped() {
    let err = read("year-missing.grib2").unwrap_err().to_string();
    assert!(
        err.contains("year-missing.grib2")
            && err.contains("message 0 (`2t`)")
            && err.contains("year is missing"),
        "{err}"
    );
}

#[test]
fn grib1_second_order_packing_from_ecmwf_tools_is_refused_by_name() {
    let err = read("second-order.grib1").unwrap_err().to_string();
    assert!(
        err.contains("second-order.grib1")
            && err.contains("message 0 (`2t`")
            && err.contains("regular lat/lon grid")
            && err.contains("general extended second-order packing"),
        "{err}"
    );
}

#[test]
fn unreadable_messages_no_model_needs_leave_the_others_readable() {
    let contents = read("mixed-unsupported.grib2").unwrap();
    let names: Vec<&str> = contents
        .fields
        .iter()
        .map(|f| f.source_name.as_str())
        .collect();
    assert_eq!(names, ["2t", "msl"]);
    let reasons: Vec<&str> = contents.skipped.iter().map(|s| s.reason.as_str()).collect();
    assert!(reasons[0].contains("spherical harmonics"), "{reasons:?}");
    assert!(reasons[1].contains("Gaussian"), "{reasons:?}");
    assert!(reasons[2].contains("tcc"), "{reasons:?}");
}

fn packed_sources() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/prepare");
    [
        "era5-single-levels.grib2",
        "era5-pressure-levels-ccsds.grib2",
        "era5-precipitation-complex.grib2",
        "era5-static.grib1",
    ]
    .iter()
    .map(|n| dir.join(n))
    .collect()
}

#[test]
fn prepare_skips_the_traps_of_a_source_and_uses_the_others() {
    let base = sources::prepare(&packed_sources(), &request()).unwrap();
    for trap in [
        "ecmwf-tprate-vs-tp.grib2",
        "ncep-cfrzr-vs-apcp.grib2",
        "ecmwf-2t-statistics.grib2",
        "ensemble-products.grib2",
        "duplicates-identical.grib2",
        "mixed-unsupported.grib2",
    ] {
        let mut paths = packed_sources();
        paths.push(corpus().join(trap));
        let prepared = sources::prepare(&paths, &request()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (
                &prepared.lat,
                &prepared.lon,
                &prepared.levels,
                &prepared.datetimes
            ),
            (&base.lat, &base.lon, &base.levels, &base.datetimes),
            "{trap}"
        );
        assert_eq!(prepared.vars.len(), base.vars.len(), "{trap}");
        // Compared by bits: SST is NaN over land.
        let bits = |x: &[f32]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        for (got, want) in prepared.vars.iter().zip(&base.vars) {
            assert_eq!(got.name, want.name, "{trap}");
            assert!(
                bits(&got.data) == bits(&want.data),
                "{trap}: `{}` differs",
                want.name
            );
        }
    }
}

#[test]
fn prepare_refuses_a_needed_message_it_cannot_place_in_time() {
    let mut paths = packed_sources();
    paths.push(corpus().join("year-missing.grib2"));
    let err = sources::prepare(&paths, &request())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("year-missing.grib2") && err.contains("year is missing"),
        "{err}"
    );
}
