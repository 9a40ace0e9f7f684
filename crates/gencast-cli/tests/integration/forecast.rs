//! `gencast forecast` end to end: parity with the reference's ensembles, member and thread
//! invariance, robustness of the sampler, and rejection of bad inputs.

use crate::support;

use std::path::Path;

use support::{
    assert_ok, compare, fixture, fixture_dataset, forecast, forecast_on, forecast_with_checkpoint,
    write_edited, Edit,
};

/// Parity bound on the relative RMS per variable. The network and sampler run in float32 with a
/// different summation order than XLA; measured errors are ~1e-7 to 1e-6 relative, the bound
/// leaves two decades of room for other CPUs' rounding.
const PARITY_REL_RMS: f64 = 1e-4;

fn check_parity(set: &str, steps: &str, reference: &str) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("f.nc");
    assert_ok(&forecast(
        set,
        &out,
        &["--members", "2", "--steps", steps, "--seed", "0"],
    ));
    let rows = compare(&out, &fixture(set).join(reference));
    assert_eq!(rows.len(), 12, "12 target variables");
    for (name, rel, max_abs, same_nans) in rows {
        eprintln!("{set} {reference} {name}: rel RMS {rel:.2e}, max abs {max_abs:.2e}");
        assert!(
            same_nans,
            "{set} {name}: NaN pattern differs from the reference"
        );
        assert!(
            rel <= PARITY_REL_RMS,
            "{set} {name}: relative RMS {rel:e} > {PARITY_REL_RMS:e}"
        );
    }
}

#[test]
fn one_step_ensemble_matches_reference_mha() {
    check_parity("tiny-mha", "1", "forecast_1step_2members.nc");
}

#[test]
fn one_step_ensemble_matches_reference_triblockdiag() {
    check_parity("tiny-triblockdiag", "1", "forecast_1step_2members.nc");
}

#[test]
fn two_step_rollout_matches_reference_mha() {
    check_parity("tiny-mha", "2", "rollout_2step_2members.nc");
}

#[test]
fn two_step_rollout_matches_reference_triblockdiag() {
    check_parity("tiny-triblockdiag", "2", "rollout_2step_2members.nc");
}

fn read_member(path: &Path, var: &str, member: usize) -> Vec<u32> {
    let ds = gencast::data::Dataset::open_lenient(path).unwrap();
    let a = ds.read_all(var).unwrap();
    let per = a.data.len() / a.shape[0];
    a.data[member * per..(member + 1) * per]
        .iter()
        .map(|v| v.to_bits())
        .collect()
}

#[test]
fn member_is_the_same_alone_or_in_a_batch() {
    let dir = tempfile::tempdir().unwrap();
    let (all, one) = (dir.path().join("all.nc"), dir.path().join("one.nc"));
    assert_ok(&forecast(
        "tiny-mha",
        &all,
        &["--members", "4", "--steps", "2", "--seed", "7"],
    ));
    assert_ok(&forecast(
        "tiny-mha",
        &one,
        &[
            "--members",
            "1",
            "--member-offset",
            "3",
            "--steps",
            "2",
            "--seed",
            "7",
        ],
    ));
    let ds = gencast::data::Dataset::open_lenient(&one).unwrap();
    assert_eq!(ds.read_i64("sample").unwrap(), vec![3]);
    for var in ["2m_temperature", "geopotential", "sea_surface_temperature"] {
        assert_eq!(
            read_member(&all, var, 3),
            read_member(&one, var, 0),
            "{var}"
        );
        assert_ne!(
            read_member(&all, var, 2),
            read_member(&one, var, 0),
            "{var}: members differ"
        );
    }
}

#[test]
fn one_and_two_threads_give_identical_files() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for threads in ["1", "2"] {
        let out = dir.path().join(format!("t{threads}.nc"));
        assert_ok(&forecast(
            "tiny-triblockdiag",
            &out,
            &["--members", "2", "--steps", "2", "--threads", threads],
        ));
        files.push(std::fs::read(&out).unwrap());
    }
    assert!(
        files[0] == files[1],
        "outputs differ between 1 and 2 threads"
    );
}

/// No NaN outside the SST land mask with 20 noise levels, whatever the churn: the reference
/// produced all-NaN forecasts on CPUs from a sqrt of a round-off negative in the churn term.
#[test]
fn no_nan_over_a_churn_sweep_at_twenty_noise_levels() {
    let dir = tempfile::tempdir().unwrap();
    let input = gencast::data::Dataset::open(fixture_dataset("tiny-mha")).unwrap();
    let sst = input.read("sea_surface_temperature", Some(0..1)).unwrap();
    let land = sst.data.iter().filter(|x| x.is_nan()).count();
    assert!(land > 0, "the fixture has land points");
    for churn in ["2.5", "0", "1e-7"] {
        let out = dir.path().join(format!("c{churn}.nc"));
        let levels = "num_noise_levels=20".to_string();
        let churn_arg = format!("stochastic_churn_rate={churn}");
        assert_ok(&forecast(
            "tiny-mha",
            &out,
            &[
                "--members",
                "2",
                "--steps",
                "2",
                "--sampler",
                &levels,
                "--sampler",
                &churn_arg,
            ],
        ));
        // The run itself fails on any NaN outside the mask; check the file too.
        let ds = gencast::data::Dataset::open_lenient(&out).unwrap();
        for v in ds.variables() {
            let a = ds.read_all(&v.name).unwrap();
            let nans = a.data.iter().filter(|x| x.is_nan()).count();
            if v.name == "sea_surface_temperature" {
                // Land points of each of the 2 members × 2 steps.
                assert_eq!(nans, 4 * land, "churn {churn}: SST NaNs only over land");
            } else {
                assert_eq!(nans, 0, "churn {churn}: {} has NaNs", v.name);
            }
        }
    }
}

fn assert_rejected(edit: Edit, needles: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.nc");
    write_edited(&fixture_dataset("tiny-mha"), &bad, &edit);
    let out_path = dir.path().join("out.nc");
    let out = forecast_on("tiny-mha", &bad, &out_path, &["--steps", "1"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "accepted a bad dataset");
    for n in needles {
        assert!(err.contains(n), "error does not name `{n}`: {err}");
    }
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        left,
        vec![std::ffi::OsString::from("bad.nc")],
        "output left behind"
    );
}

#[test]
fn missing_variable_is_rejected_before_computing() {
    assert_rejected(
        Edit {
            drop: &["2m_temperature", "land_sea_mask"],
            ..Edit::default()
        },
        &["2m_temperature", "land_sea_mask"],
    );
}

#[test]
fn wrong_levels_are_rejected() {
    assert_rejected(
        Edit {
            levels: Some(10),
            ..Edit::default()
        },
        &["level", "850"],
    );
}

#[test]
fn a_single_input_frame_is_rejected() {
    assert_rejected(
        Edit {
            frames: Some(0..1),
            ..Edit::default()
        },
        &["frame"],
    );
}

#[test]
fn descending_latitudes_are_rejected() {
    assert_rejected(
        Edit {
            flip_lat: true,
            ..Edit::default()
        },
        &["lat", "descending"],
    );
}

#[test]
fn edited_copy_without_edits_forecasts_like_the_original() {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy.nc");
    write_edited(&fixture_dataset("tiny-mha"), &copy, &Edit::default());
    let (a, b) = (dir.path().join("a.nc"), dir.path().join("b.nc"));
    assert_ok(&forecast_on("tiny-mha", &copy, &a, &["--steps", "1"]));
    assert_ok(&forecast("tiny-mha", &b, &["--steps", "1"]));
    for var in ["2m_temperature", "geopotential"] {
        assert_eq!(read_member(&a, var, 0), read_member(&b, var, 0), "{var}");
    }
}

#[test]
fn nan_in_an_input_variable_is_pinpointed() {
    // 2m_temperature is (batch, time, lat, lon) on a 19×36 grid: frame 1 (the second input
    // frame, lead 0h), latitude index 5 (−40°), longitude index 7 (70°).
    let idx = 684 + 5 * 36 + 7;
    assert_rejected(
        Edit {
            poke: Some(("2m_temperature", idx, f32::NAN)),
            ..Edit::default()
        },
        &["2m_temperature[time=0h]", "lat -40", "lon 70", "NaN"],
    );
}

/// A NaN inside the network (here a poisoned attention weight of block 2) is reported by
/// `--debug-nans` at the first module whose output holds it, with member and step; without the
/// flag the run still fails, at the network output.
#[test]
fn debug_nans_names_the_module_member_and_step() {
    let dir = tempfile::tempdir().unwrap();
    let ckpt = dir.path().join("nan.npz");
    support::write_poked_checkpoint(
        "tiny-mha",
        &ckpt,
        "params:mesh_transformer/~/transformer/block_02/mha_final:w",
        5,
        f32::NAN,
    );
    let run = |extra: &[&str]| {
        let out = dir.path().join("out.nc");
        let mut args = vec!["--member-offset", "5"];
        args.extend_from_slice(extra);
        let o = forecast_with_checkpoint("tiny-mha", &ckpt, &out, &args);
        assert!(!o.status.success());
        assert!(!out.exists(), "no output after a NaN");
        String::from_utf8_lossy(&o.stderr).to_string()
    };
    let err = run(&["--debug-nans"]);
    for needle in [
        "mesh_transformer block 02",
        "mesh node",
        "member 5",
        "step 1",
        "sampler iteration 0",
    ] {
        assert!(err.contains(needle), "`{needle}` missing from: {err}");
    }
    let err = run(&[]);
    assert!(
        err.contains("denoiser network output") && err.contains("member 5"),
        "{err}"
    );
}

/// `--init-time` picks the second input frame: naming the default one changes nothing, a later
/// one moves the forecast, and a time the dataset lacks (or its first frame) is refused.
#[test]
fn init_time_selects_the_input_frames() {
    let dir = tempfile::tempdir().unwrap();
    let run = |name: &str, init: Option<&str>| {
        let out = dir.path().join(name);
        let mut args = vec!["--steps", "1"];
        if let Some(t) = init {
            args.extend(["--init-time", t]);
        }
        (forecast("tiny-mha", &out, &args), out)
    };
    let (o, default) = run("default.nc", None);
    assert_ok(&o);
    let (o, same) = run("same.nc", Some("2019-03-29T12:00"));
    assert_ok(&o);
    assert_eq!(
        std::fs::read(&default).unwrap(),
        std::fs::read(&same).unwrap()
    );
    let (o, later) = run("later.nc", Some("2019-03-30T00:00"));
    assert_ok(&o);
    let ds = gencast::data::Dataset::open_lenient(&later).unwrap();
    // The valid time of the first step is the init time + 12 h.
    let valid = gencast::data::netcdf_time::format_datetime(ds.datetime()[0]);
    assert!(valid.starts_with("2019-03-30T12:00"), "{valid}");
    assert_ne!(
        read_member(&default, "2m_temperature", 0),
        read_member(&later, "2m_temperature", 0)
    );
    for bad in ["2019-03-29T00:00", "2019-04-01T00:00"] {
        let (o, out) = run("bad.nc", Some(bad));
        assert!(!o.status.success(), "{bad} accepted");
        assert!(String::from_utf8_lossy(&o.stderr).contains("--init-time"));
        assert!(!out.exists());
    }
}

#[test]
fn the_demo_runs_from_any_folder_and_equals_the_fixture_run() {
    // The demo is compiled into the binary: with no input options it runs from an empty folder,
    // and its values are those of the same forecast from the fixture files.
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gencast"))
        .current_dir(dir.path())
        .args([
            "forecast",
            "--members",
            "1",
            "--steps",
            "1",
            "--output",
            "demo.nc",
        ])
        .output()
        .unwrap();
    assert_ok(&out);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bundled demo"), "{err}");
    let fixture_run = dir.path().join("fixture.nc");
    assert_ok(&forecast(
        "tiny-mha",
        &fixture_run,
        &["--members", "1", "--steps", "1"],
    ));
    let rows = compare(&dir.path().join("demo.nc"), &fixture_run);
    // 12 predicted variables and the 2 static fields copied from the input.
    assert_eq!(rows.len(), 14);
    for (name, rel, max_abs, same_nans) in rows {
        assert!(
            same_nans && rel == 0.0 && max_abs == 0.0,
            "{name}: {rel} {max_abs}"
        );
    }
}
