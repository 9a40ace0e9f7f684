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

/// The names in folder `dir`, sorted.
fn names_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// [`prepare_args`] with `extra` arguments after them.
fn prepare_args_with(output: &str, extra: &[&str]) -> Vec<String> {
    let mut args = prepare_args(output);
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

/// Runs [`gencast_in`] with owned arguments.
fn gencast_owned(dir: &Path, args: &[String]) -> (bool, String) {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    gencast_in(dir, &args)
}

/// The global `Conventions` of a prepared NetCDF file or Zarr store.
fn conventions(path: &Path) -> Option<String> {
    if path.is_dir() {
        let meta: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path.join(".zmetadata")).unwrap())
                .unwrap();
        meta["metadata"][".zattrs"]["Conventions"]
            .as_str()
            .map(str::to_string)
    } else {
        netcdf_reader::NcFile::open(path)
            .unwrap()
            .global_attribute("Conventions")
            .ok()
            .and_then(|a| a.value.as_string())
    }
}

#[test]
fn prepare_replaces_an_existing_output_only_with_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let identity = |p: &Path| gencast::output::guard::file_identity(p).unwrap();
    for name in ["inputs.nc", "inputs.zarr"] {
        // The user's earlier file or store of that name is kept, byte for byte.
        let out = dir.path().join(name);
        if name.ends_with(".zarr") {
            std::fs::create_dir(&out).unwrap();
            std::fs::write(out.join(".zgroup"), br#"{"zarr_format": 2}"#).unwrap();
            std::fs::write(out.join("notes.txt"), b"mine").unwrap();
        } else {
            std::fs::write(&out, b"mine").unwrap();
        }
        let before = identity(&out);
        let (ok, text) = gencast_owned(dir.path(), &prepare_args(name));
        assert!(
            !ok && text.contains(name) && text.contains("already exists"),
            "{text}"
        );
        assert!(text.contains("--overwrite"), "{text}");
        assert_eq!(identity(&out), before, "{name} changed");
        // With --overwrite it is replaced by the prepared dataset, which declares CF.
        let args = prepare_args_with(name, &["--overwrite"]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        prepare_ok(dir.path(), &args, name);
        assert_ne!(identity(&out), before);
        assert!(!out.join("notes.txt").exists());
        assert_eq!(conventions(&out).as_deref(), Some("CF-1.8"), "{name}");
    }
    assert_eq!(names_in(dir.path()), ["inputs.nc", "inputs.zarr"]);
    // A folder that is not a Zarr store is never replaced, not even with --overwrite.
    let photos = dir.path().join("photos.zarr");
    std::fs::create_dir(&photos).unwrap();
    std::fs::write(photos.join("a.jpg"), b"jpeg").unwrap();
    let (ok, text) = gencast_owned(
        dir.path(),
        &prepare_args_with("photos.zarr", &["--overwrite"]),
    );
    assert!(!ok && text.contains("not a Zarr store"), "{text}");
    assert_eq!(names_in(&photos), ["a.jpg"]);
}

#[test]
fn prepare_leaves_files_named_like_its_temporaries_alone() {
    let dir = tempfile::tempdir().unwrap();
    let user_dir = dir.path().join("inputs.zarr.tmp");
    std::fs::create_dir(&user_dir).unwrap();
    std::fs::write(user_dir.join("work.txt"), b"mine").unwrap();
    std::fs::write(dir.path().join("inputs.nc.tmp"), b"mine too").unwrap();
    for name in ["inputs.nc", "inputs.zarr"] {
        let args = prepare_args(name);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        prepare_ok(dir.path(), &args, name);
    }
    assert_eq!(
        std::fs::read(user_dir.join("work.txt")).unwrap(),
        b"mine",
        "the user's folder was touched"
    );
    assert_eq!(
        std::fs::read(dir.path().join("inputs.nc.tmp")).unwrap(),
        b"mine too"
    );
    assert_eq!(
        names_in(dir.path()),
        [
            "inputs.nc",
            "inputs.nc.tmp",
            "inputs.zarr",
            "inputs.zarr.tmp"
        ],
        "a temporary was left behind"
    );
}

#[test]
fn prepare_refuses_its_checkpoint_as_output() {
    let dir = tempfile::tempdir().unwrap();
    // The checkpoint under a name a prepared dataset could have (it is told by its content).
    let ckpt = dir.path().join("params.nc");
    std::fs::copy(fixture("tiny-mha").join("checkpoint.npz"), &ckpt).unwrap();
    let before = std::fs::read(&ckpt).unwrap();
    let ckpt_s = ckpt.to_str().unwrap();
    let (ok, text) = gencast_in(
        dir.path(),
        &[
            "prepare",
            "--input",
            &cds("era5-ieee.grib2"),
            "--init-time",
            "2019-03-29T12:00",
            "--checkpoint",
            ckpt_s,
            "--grid",
            "10",
            "--output",
            ckpt_s,
        ],
    );
    assert!(
        !ok && text.contains("same file as the input --checkpoint"),
        "{text}"
    );
    assert!(
        std::fs::read(&ckpt).unwrap() == before,
        "the checkpoint changed"
    );
    assert_eq!(names_in(dir.path()), ["params.nc"]);
}

/// A copy of the IEEE-packed GRIB fixture in `dir` with one 2 m temperature of the first
/// frame set to 1000 K (its big-endian float32 found in the file, where it occurs once).
fn grib_with_a_hot_spot(dir: &Path) -> PathBuf {
    let mut bytes = std::fs::read(cds("era5-ieee.grib2")).unwrap();
    let ds = gencast::data::Dataset::open(fixture_dataset("tiny-mha")).unwrap();
    let t2m = ds.read("2m_temperature", Some(0..1)).unwrap().data;
    let count = |b: &[u8], needle: &[u8; 4]| b.windows(4).filter(|w| w == needle).count();
    let needle = t2m
        .iter()
        .map(|v| v.to_be_bytes())
        .find(|n| count(&bytes, n) == 1)
        .expect("a 2 m temperature stored once");
    let at = bytes.windows(4).position(|w| w == needle).unwrap();
    bytes[at..at + 4].copy_from_slice(&1000.0f32.to_be_bytes());
    let path = dir.join("hot.grib2");
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn a_prepared_dataset_failing_its_checks_is_not_written() {
    let dir = tempfile::tempdir().unwrap();
    let grib = grib_with_a_hot_spot(dir.path());
    for name in ["inputs.nc", "inputs.zarr"] {
        let (ok, text) = gencast_in(
            dir.path(),
            &[
                "prepare",
                "--input",
                grib.to_str().unwrap(),
                "--init-time",
                "2019-03-29T12:00",
                "--model",
                "gencast-1p0",
                "--grid",
                "10",
                "--output",
                name,
            ],
        );
        assert!(!ok, "{text}");
        assert!(
            text.contains("2m_temperature")
                && text.contains(&format!("nothing was written to {name}")),
            "{text}"
        );
        assert_eq!(
            names_in(dir.path()),
            ["hot.grib2"],
            "{name}: something was left"
        );
    }
}

/// Runs `gencast ARGS` in `dir` with file writes limited to 2 KiB (RLIMIT_FSIZE; SIGXFSZ
/// ignored so a write past it fails with EFBIG, as on a full disk): (success, output).
fn gencast_with_small_files(dir: &Path, args: &[String]) -> (bool, String) {
    // `ulimit -f` counts 512-byte blocks in POSIX shells; the prepared files and the Zarr
    // metadata are all larger than 2 KiB.
    let out = Command::new("sh")
        .arg("-c")
        .arg("trap '' XFSZ; ulimit -f 4 && exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_gencast"))
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

#[test]
fn a_failed_write_leaves_nothing_and_keeps_the_earlier_output() {
    let dir = tempfile::tempdir().unwrap();
    let identity = |p: &Path| gencast::output::guard::file_identity(p).unwrap();
    for name in ["inputs.nc", "inputs.zarr"] {
        // A new output: nothing at all is left.
        let (ok, text) = gencast_with_small_files(dir.path(), &prepare_args(name));
        assert!(!ok, "{text}");
        assert!(text.contains(&format!("writing {name}")), "{text}");
        assert!(!text.contains("panicked"), "{text}");
        assert_eq!(names_in(dir.path()), Vec::<String>::new(), "{name}: {text}");
    }
    for name in ["inputs.nc", "inputs.zarr"] {
        // Replacing an earlier output: it stays as it was.
        let args = prepare_args(name);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        prepare_ok(dir.path(), &args, name);
        let before = identity(&dir.path().join(name));
        let (ok, text) =
            gencast_with_small_files(dir.path(), &prepare_args_with(name, &["--overwrite"]));
        assert!(!ok, "{text}");
        assert_eq!(identity(&dir.path().join(name)), before, "{name} changed");
    }
    assert_eq!(names_in(dir.path()), ["inputs.nc", "inputs.zarr"]);
}
