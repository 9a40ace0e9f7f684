//! `gencast forecast --resume` into NetCDF: a run stopped after some steps leaves its
//! unfinished file under the temporary name (never the final one), and resuming it gives the
//! uninterrupted run's file byte for byte; a resume with other settings is refused.

use crate::support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use gencast::output::forecast_nc::{progress_name, tmp_name};
use support::{assert_ok, fixture, fixture_dataset};

const SET: &str = "tiny-mha";

/// Runs a forecast on the fixture set into `out` with informational logs, optionally stopped
/// after `stop_after` computed steps.
fn forecast(out: &Path, extra: &[&str], stop_after: Option<usize>) -> Output {
    let dir = fixture(SET);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gencast"));
    cmd.arg("forecast")
        .arg("--checkpoint")
        .arg(dir.join("checkpoint.npz"))
        .arg("--dataset")
        .arg(fixture_dataset(SET))
        .arg("--stats")
        .arg(&dir)
        .arg("--output")
        .arg(out)
        .args(extra)
        .env("RUST_LOG", "info");
    if let Some(n) = stop_after {
        cmd.env("GENCAST_STOP_AFTER_STEPS", n.to_string());
    }
    cmd.output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Number of steps a run computed (one `done:` log line each) and skipped.
fn computed_and_skipped(out: &Output) -> (usize, usize) {
    let err = stderr(out);
    (
        err.lines().filter(|l| l.contains(" done: ")).count(),
        err.lines().filter(|l| l.contains("skipped")).count(),
    )
}

/// Asserts a run was stopped by the hook, leaving only the unfinished file and its record.
fn assert_stopped(out: &Output, path: &Path) {
    assert!(!out.status.success(), "the stop hook did not stop the run");
    assert!(stderr(out).contains("stopped after"), "{}", stderr(out));
    assert!(
        !path.exists(),
        "a stopped run must not leave the final name"
    );
    assert!(tmp_name(path).is_file() && progress_name(path).is_file());
}

/// The files left in a folder, sorted.
fn listing(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

#[test]
fn resumed_netcdf_equals_an_uninterrupted_run_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let (full, part) = (dir.path().join("full.nc"), dir.path().join("part.nc"));
    let args = ["--members", "2", "--steps", "3", "--seed", "11"];
    let out = forecast(&full, &args, None);
    assert_ok(&out);
    assert_eq!(computed_and_skipped(&out), (6, 0));
    // Logs of a run whose stderr is not a terminal carry no progress-line redraws.
    assert!(!stderr(&out).contains('\r'), "{}", stderr(&out));

    // Stopped after member 0's first step.
    let out = forecast(&part, &args, Some(1));
    assert_stopped(&out, &part);
    let mut resumed = args.to_vec();
    resumed.push("--resume");
    // Resumed, and stopped again after two more steps (the rest of member 0).
    let out = forecast(&part, &resumed, Some(2));
    assert_stopped(&out, &part);
    assert_eq!(computed_and_skipped(&out), (2, 1));
    // Resumed to the end: member 0 is replayed from the file, member 1 computed.
    let out = forecast(&part, &resumed, None);
    assert_ok(&out);
    assert_eq!(computed_and_skipped(&out), (3, 3));
    assert!(
        std::fs::read(&full).unwrap() == std::fs::read(&part).unwrap(),
        "the resumed file differs from the uninterrupted run's"
    );
    assert_eq!(
        listing(dir.path()),
        vec![full, part],
        "temporary files left"
    );
}

#[test]
fn mismatched_resume_is_refused_naming_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.nc");
    let args = ["--members", "2", "--steps", "2", "--seed", "11"];
    assert_stopped(&forecast(&path, &args, Some(1)), &path);
    let record = std::fs::read(progress_name(&path)).unwrap();
    for (other, needle) in [
        (
            ["--members", "1", "--steps", "2", "--seed", "11"],
            "`members`",
        ),
        (
            ["--members", "2", "--steps", "3", "--seed", "11"],
            "`lead_hours`",
        ),
        (["--members", "2", "--steps", "2", "--seed", "12"], "`seed`"),
    ] {
        let mut a = other.to_vec();
        a.push("--resume");
        let out = forecast(&path, &a, None);
        assert!(
            !out.status.success(),
            "{needle}: a mismatching resume was accepted"
        );
        let err = stderr(&out);
        assert!(
            err.contains(needle) && err.contains("--overwrite"),
            "{needle}: {err}"
        );
        assert_eq!(
            computed_and_skipped(&out),
            (0, 0),
            "{needle}: computed anyway"
        );
        assert!(!path.exists(), "{needle}: final file written");
        assert!(tmp_name(&path).is_file(), "{needle}: partial file lost");
        assert_eq!(std::fs::read(progress_name(&path)).unwrap(), record);
    }
    // Without --resume the interrupted run is not discarded silently.
    let fresh = ["--members", "1", "--steps", "1", "--seed", "12"];
    let out = forecast(&path, &fresh, None);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("an interrupted run") && stderr(&out).contains("--overwrite"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read(progress_name(&path)).unwrap(), record);
    // With --overwrite the stale partial file is replaced and the run starts afresh.
    let mut over = fresh.to_vec();
    over.push("--overwrite");
    let out = forecast(&path, &over, None);
    assert_ok(&out);
    assert_eq!(computed_and_skipped(&out), (1, 0));
    assert_eq!(
        listing(dir.path()),
        vec![path.clone()],
        "temporary files left"
    );
}

#[test]
fn resume_without_an_unfinished_file_runs_from_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let (plain, resumed) = (dir.path().join("a.nc"), dir.path().join("b.nc"));
    assert_ok(&forecast(&plain, &["--steps", "1"], None));
    let out = forecast(&resumed, &["--steps", "1", "--resume"], None);
    assert_ok(&out);
    assert!(stderr(&out).contains("no unfinished"), "{}", stderr(&out));
    assert!(std::fs::read(&plain).unwrap() == std::fs::read(&resumed).unwrap());
}
