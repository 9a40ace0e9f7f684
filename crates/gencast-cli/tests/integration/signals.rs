//! `gencast forecast` stopped by SIGTERM (a scheduler's time limit or `scancel`): the run ends
//! with status 143 and a message saying how to continue, leaves no temporary chunk, lock or
//! spill file in the way, and `--resume` (or, for an ensemble summary, a plain rerun) gives the
//! uninterrupted run's bytes — for NetCDF and Zarr, GenCast and GraphCast, with and without
//! `--ensemble-summary`. A summary's spill file left by `kill -9` is found and removed by the
//! next run; a file of that name gencast did not write is never touched.

use crate::support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;

use gencast::forecast::spill::spill_path;
use gencast::output::forecast_nc::{progress_name, tmp_name};
use support::{assert_ok, fixture, fixture_dataset};

/// Exit status of a run stopped by SIGTERM: 128 + 15, as a shell reports it.
const SIGTERM_STATUS: i32 = 143;

/// The GenCast fixture set (the bundled demo's model).
const SET: &str = "tiny-mha";

/// The command line of a forecast with `set`'s model into `out`.
fn command(set: &str, out: &Path, extra: &[&str]) -> Command {
    let dir = fixture(set);
    let (ckpt, dataset) = if set == "graphcast-tiny" {
        (
            dir.join("checkpoint.npz"),
            dir.join("source-era5_date-2019-03-29_res-10.0_levels-13_steps-03.nc"),
        )
    } else {
        (dir.join("checkpoint.npz"), fixture_dataset(set))
    };
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gencast"));
    cmd.arg("forecast")
        .arg("--checkpoint")
        .arg(ckpt)
        .arg("--dataset")
        .arg(dataset)
        .arg("--stats")
        .arg(&dir)
        .arg("--output")
        .arg(out)
        .args(extra)
        .env("RUST_LOG", "info");
    cmd
}

/// Runs a forecast, sending itself SIGTERM after `sigterm_after` computed steps when given.
fn forecast(set: &str, out: &Path, extra: &[&str], sigterm_after: Option<usize>) -> Output {
    let mut cmd = command(set, out, extra);
    if let Some(n) = sigterm_after {
        cmd.env("GENCAST_SIGTERM_AFTER_STEPS", n.to_string());
    }
    cmd.output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Asserts a run ended by SIGTERM, with the message that says how to continue.
fn assert_stopped_by_sigterm(out: &Output, continue_with: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(SIGTERM_STATUS), "{err}");
    assert!(err.contains("stopped by SIGTERM"), "{err}");
    assert!(err.contains(continue_with), "{err}");
}

/// Number of steps a run computed (one `done` log line each).
fn computed(out: &Output) -> usize {
    stderr(out).lines().filter(|l| l.contains(" done")).count()
}

/// Every file under `root` (a file or a folder), by path relative to it.
fn files(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, p: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        if p.is_dir() {
            for e in std::fs::read_dir(p).unwrap() {
                walk(root, &e.unwrap().path(), out);
            }
        } else {
            let rel = p.strip_prefix(root).unwrap().to_path_buf();
            out.insert(rel, std::fs::read(p).unwrap());
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

/// Asserts two outputs (files or stores) hold the same files with the same bytes.
fn assert_same_output(a: &Path, b: &Path) {
    let (fa, fb) = (files(a), files(b));
    assert_eq!(
        fa.keys().collect::<Vec<_>>(),
        fb.keys().collect::<Vec<_>>(),
        "{} and {}: file lists differ",
        a.display(),
        b.display()
    );
    for (k, v) in &fa {
        assert!(v == &fb[k], "{}: {} differs", b.display(), k.display());
    }
}

/// The names in `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Stops a resumable run (members or steps) with SIGTERM after `after` steps, checks what it
/// left, resumes it and compares with the uninterrupted run.
fn stop_and_resume(set: &str, name: &str, args: &[&str], after: usize) {
    let dir = tempfile::tempdir().unwrap();
    let full = dir.path().join(format!("full-{name}"));
    let part = dir.path().join(format!("part-{name}"));
    let out = forecast(set, &full, args, None);
    assert_ok(&out);
    let total = computed(&out);

    let out = forecast(set, &part, args, Some(after));
    assert_stopped_by_sigterm(&out, "rerun with --resume");
    assert_eq!(computed(&out), after, "{}", stderr(&out));
    if part.is_dir() {
        // No temporary chunk file is left; the lock files are empty and unlocked.
        for (k, _) in files(&part) {
            let n = k.file_name().unwrap().to_string_lossy().into_owned();
            assert!(
                !n.contains(".tmp-"),
                "{}: left {}",
                part.display(),
                k.display()
            );
        }
    } else {
        assert!(
            !part.exists(),
            "a stopped run must not leave the final name"
        );
        assert!(tmp_name(&part).is_file() && progress_name(&part).is_file());
    }

    let mut resumed = args.to_vec();
    resumed.push("--resume");
    let out = forecast(set, &part, &resumed, None);
    assert_ok(&out);
    assert_eq!(computed(&out), total - after, "{}", stderr(&out));
    assert_same_output(&full, &part);
    assert_eq!(
        listing(dir.path()),
        [full, part]
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect::<Vec<_>>(),
        "files left beside the outputs"
    );
}

#[test]
fn sigterm_stops_a_zarr_run_and_resume_gives_the_uninterrupted_store() {
    stop_and_resume(
        SET,
        "f.zarr",
        &["--members", "2", "--steps", "2", "--seed", "5"],
        1,
    );
}

#[test]
fn sigterm_stops_a_netcdf_run_and_resume_gives_the_uninterrupted_file() {
    stop_and_resume(
        SET,
        "f.nc",
        &["--members", "2", "--steps", "2", "--seed", "5"],
        3,
    );
}

#[test]
fn sigterm_stops_a_graphcast_run_and_resume_gives_the_uninterrupted_outputs() {
    stop_and_resume("graphcast-tiny", "g.nc", &["--steps", "3"], 1);
    stop_and_resume("graphcast-tiny", "g.zarr", &["--steps", "3"], 2);
}

/// Stops an ensemble-summary run with SIGTERM: the spill file and the unfinished output go, and
/// the same command then gives the uninterrupted run's output.
fn stop_summary_and_rerun(name: &str, statistics: &str, rerun_with: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let full = dir.path().join(format!("full-{name}"));
    let part = dir.path().join(format!("part-{name}"));
    let args = [
        "--members",
        "3",
        "--steps",
        "2",
        "--ensemble-summary",
        statistics,
    ];
    assert_ok(&forecast(SET, &full, &args, None));
    let out = forecast(SET, &part, &args, Some(2));
    assert_stopped_by_sigterm(&out, "cannot be resumed");
    assert!(!spill_path(&part).exists(), "the spill file was left");
    assert!(!tmp_name(&part).exists() && !progress_name(&part).exists());
    let mut again = args.to_vec();
    again.extend_from_slice(rerun_with);
    assert_ok(&forecast(SET, &part, &again, None));
    assert_same_output(&full, &part);
    assert!(!spill_path(&part).exists());
}

#[test]
fn sigterm_during_an_ensemble_summary_removes_what_cannot_be_resumed() {
    stop_summary_and_rerun("s.nc", "mean,std,q10,members", &[]);
    stop_summary_and_rerun("s.zarr", "mean,q90", &[]);
    // A store that received members needs --overwrite to compute them again.
    stop_summary_and_rerun("m.zarr", "std,members", &["--overwrite"]);
}

/// A running forecast child whose stderr lines arrive on a channel.
struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Running {
    fn start(out: &Path, extra: &[&str]) -> Running {
        let mut child = command(SET, out, extra)
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let err = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Running { child, lines }
    }

    /// Waits for the first finished step (the spill file holds it), keeping the lines read.
    fn wait_for_a_step(&self) -> Vec<String> {
        let mut seen = Vec::new();
        for line in self.lines.iter() {
            let done = line.contains(" done");
            seen.push(line);
            if done {
                return seen;
            }
        }
        panic!("the run ended before its first step: {}", seen.join("\n"));
    }

    /// Waits for the end; the exit code and the rest of stderr.
    fn finish(mut self) -> (Option<i32>, String) {
        let status = self.child.wait().unwrap();
        (
            status.code(),
            self.lines.iter().collect::<Vec<_>>().join("\n"),
        )
    }
}

/// Arguments of the summary runs signalled from outside: 4 members × 2 steps, so the signal
/// after the first step finds most of the run still to do.
const SUMMARY_RUN: [&str; 6] = [
    "--members",
    "4",
    "--steps",
    "2",
    "--ensemble-summary",
    "mean,q50",
];

#[test]
fn a_real_sigterm_to_a_running_summary_removes_its_spill_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s.nc");
    let run = Running::start(&out, &SUMMARY_RUN);
    run.wait_for_a_step();
    assert!(spill_path(&out).is_file(), "the run spills its steps");
    let pid = run.child.id().to_string();
    let sent = Command::new("sh")
        .args(["-c", &format!("kill -TERM {pid}")])
        .status()
        .unwrap();
    assert!(sent.success());
    let (code, err) = run.finish();
    assert_eq!(code, Some(SIGTERM_STATUS), "{err}");
    assert!(err.contains("stopped by SIGTERM"), "{err}");
    assert!(
        listing(dir.path()).is_empty(),
        "left {:?}",
        listing(dir.path())
    );
}

#[test]
fn a_spill_file_left_by_kill_9_is_removed_by_the_next_run() {
    let dir = tempfile::tempdir().unwrap();
    let (full, out) = (dir.path().join("full.nc"), dir.path().join("s.nc"));
    assert_ok(&forecast(SET, &full, &SUMMARY_RUN, None));
    let mut run = Running::start(&out, &SUMMARY_RUN);
    run.wait_for_a_step();
    run.child.kill().unwrap(); // SIGKILL: nothing of ours runs
    let (code, _) = run.finish();
    assert_eq!(code, None, "killed by a signal");
    let spill = spill_path(&out);
    assert!(spill.is_file(), "kill -9 leaves the spill file");

    // The unfinished NetCDF file needs --overwrite; that run also removes the spill file.
    let plain = forecast(SET, &out, &SUMMARY_RUN, None);
    assert!(!plain.status.success());
    assert!(stderr(&plain).contains("--overwrite"), "{}", stderr(&plain));
    let mut again = SUMMARY_RUN.to_vec();
    again.push("--overwrite");
    let rerun = forecast(SET, &out, &again, None);
    assert_ok(&rerun);
    assert!(
        stderr(&rerun).contains("removed the spill file"),
        "{}",
        stderr(&rerun)
    );
    assert!(!spill.exists());
    assert_same_output(&full, &out);
}

#[test]
fn a_file_at_the_spill_name_that_gencast_did_not_write_is_never_removed() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s.nc");
    let spill = spill_path(&out);
    std::fs::write(&spill, b"someone else's notes").unwrap();
    let refused = forecast(SET, &out, &SUMMARY_RUN, None);
    assert!(!refused.status.success());
    let err = stderr(&refused);
    assert!(
        err.contains(&spill.display().to_string()) && err.contains("not written by gencast"),
        "{err}"
    );
    assert!(!out.exists() && !tmp_name(&out).exists());
    // A run without a summary does not need the name and leaves the file alone too.
    assert_ok(&forecast(SET, &out, &["--steps", "1"], None));
    assert_eq!(std::fs::read(&spill).unwrap(), b"someone else's notes");
}
