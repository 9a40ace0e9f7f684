//! `gencast prepare` on the CDS-layout fixtures, then `gencast forecast` on the result: the
//! forecast is byte-identical to one from the original example dataset.

use crate::support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::{fixture, fixture_dataset};

fn cds(name: &str) -> String {
    fixture("prepare").join(name).to_str().unwrap().to_string()
}

/// Runs `gencast` in `dir`: (success, stdout + stderr).
fn gencast_in(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_gencast"))
        .args(args)
        .current_dir(dir)
        .env("RUST_LOG", "warn")
        .output()
        .expect("running gencast");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// A one-member, one-step forecast from `dir/inputs.nc` (the same relative name in both runs,
/// since the file records the dataset's path).
fn forecast_in(dir: &Path) -> Vec<u8> {
    forecast_from(dir, "inputs.nc")
}

/// [`forecast_in`] from the dataset `dataset` in `dir`.
fn forecast_from(dir: &Path, dataset: &str) -> Vec<u8> {
    let set = fixture("tiny-mha");
    let (ok, text) = gencast_in(
        dir,
        &[
            "forecast",
            "--checkpoint",
            set.join("checkpoint.npz").to_str().unwrap(),
            "--dataset",
            dataset,
            "--stats",
            set.to_str().unwrap(),
            "--members",
            "1",
            "--steps",
            "1",
            "--seed",
            "0",
            "--init-time",
            "2019-03-29T12:00",
            "--output",
            "out.nc",
        ],
    );
    assert!(ok, "{text}");
    std::fs::read(dir.join("out.nc")).unwrap()
}

fn prepare_args(output: &str) -> Vec<String> {
    let mut args: Vec<String> = vec!["prepare".into()];
    for f in [
        "cds-single-levels.nc",
        "cds-pressure-levels.nc",
        "cds-precipitation.nc",
        "cds-static.nc",
    ] {
        args.push("--input".into());
        args.push(cds(f));
    }
    for a in [
        "--init-time",
        "2019-03-29T12:00",
        "--model",
        "gencast-1p0",
        "--grid",
        "10",
        "--output",
        output,
    ] {
        args.push(a.into());
    }
    args
}

/// A folder holding the example dataset as `inputs.nc`.
fn original_example() -> tempfile::TempDir {
    let original = tempfile::tempdir().unwrap();
    std::fs::copy(
        fixture_dataset("tiny-mha"),
        original.path().join("inputs.nc"),
    )
    .unwrap();
    original
}

/// Runs `gencast ARGS` (a `prepare`) in `dir` and asserts that it wrote `output` and that all
/// its 356 checks passed.
fn prepare_ok(dir: &Path, args: &[&str], output: &str) {
    let (ok, text) = gencast_in(dir, args);
    assert!(ok, "{text}");
    assert!(
        text.contains(&format!("{output}: all 356 checks passed")),
        "{text}"
    );
}

/// Asserts that [`forecast_in`] the two folders gives the same bytes.
fn assert_same_forecasts(original: &Path, prepared: &Path) {
    assert!(
        forecast_in(original) == forecast_in(prepared),
        "forecasts differ"
    );
}

#[test]
fn prepared_cds_inputs_forecast_byte_identically_to_the_example() {
    let original = original_example();
    let prepared = tempfile::tempdir().unwrap();
    let args = prepare_args("inputs.nc");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    prepare_ok(prepared.path(), &args, "inputs.nc");
    assert_same_forecasts(original.path(), prepared.path());
}

#[test]
fn prepare_refuses_an_input_as_output_and_a_non_netcdf_output() {
    let dir = tempfile::tempdir().unwrap();
    let copy: PathBuf = dir.path().join("single.nc");
    std::fs::copy(cds("cds-single-levels.nc"), &copy).unwrap();
    let mut args = prepare_args(copy.to_str().unwrap());
    args.push("--input".into());
    args.push(copy.to_str().unwrap().into());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (ok, text) = gencast_in(dir.path(), &args);
    assert!(
        !ok && text.contains("same file as the input --input"),
        "{text}"
    );
    let args = prepare_args("inputs.grib");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (ok, text) = gencast_in(dir.path(), &args);
    assert!(
        !ok && text.contains("inputs.grib") && text.contains(".nc") && text.contains(".zarr"),
        "{text}"
    );
}

#[test]
fn prepared_wb2_zarr_inputs_forecast_byte_identically_to_the_example() {
    let original = original_example();
    let prepared = tempfile::tempdir().unwrap();
    let checkpoint = fixture("tiny-mha").join("checkpoint.npz");
    prepare_ok(
        prepared.path(),
        &[
            "prepare",
            "--input",
            &cds("wb2.zarr"),
            "--init-time",
            "2019-03-29T12:00",
            "--checkpoint",
            checkpoint.to_str().unwrap(),
            "--grid",
            "10",
            "--output",
            "inputs.nc",
        ],
        "inputs.nc",
    );
    assert_same_forecasts(original.path(), prepared.path());
}

#[test]
fn prepared_grib_inputs_forecast_byte_identically_to_the_example() {
    // IEEE-packed GRIB2 holds the example's float32 values exactly.
    let original = original_example();
    let prepared = tempfile::tempdir().unwrap();
    prepare_ok(
        prepared.path(),
        &[
            "prepare",
            "--input",
            &cds("era5-ieee.grib2"),
            "--init-time",
            "2019-03-29T12:00",
            "--model",
            "gencast-1p0",
            "--grid",
            "10",
            "--output",
            "inputs.nc",
        ],
        "inputs.nc",
    );
    assert_same_forecasts(original.path(), prepared.path());
}

#[test]
fn a_prepared_zarr_store_forecasts_as_the_example() {
    let original = original_example();
    let prepared = tempfile::tempdir().unwrap();
    let args = prepare_args("inputs.zarr");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    prepare_ok(prepared.path(), &args, "inputs.zarr");
    assert!(prepared.path().join("inputs.zarr/.zmetadata").is_file());
    forecast_from(prepared.path(), "inputs.zarr");
    forecast_in(original.path());
    // The output records the dataset's name, so the files differ there; every variable is
    // compared bit for bit.
    let a = gencast::data::Dataset::open_lenient(original.path().join("out.nc")).unwrap();
    let b = gencast::data::Dataset::open_lenient(prepared.path().join("out.nc")).unwrap();
    assert_eq!(a.variables().len(), b.variables().len());
    for info in a.variables() {
        let bits = |x: Vec<f32>| x.into_iter().map(f32::to_bits).collect::<Vec<_>>();
        assert!(
            bits(a.read(&info.name, None).unwrap().data)
                == bits(b.read(&info.name, None).unwrap().data),
            "`{}` differs",
            info.name
        );
    }
}
