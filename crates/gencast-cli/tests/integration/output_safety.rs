//! Nothing lost, nothing silent: an output never replaces an input, one process writes an
//! output at a time, an interrupted run or an existing file is discarded only on request, a
//! resume needs the very same input files, and the demo model never stands in for a missing
//! input.

use crate::support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use gencast::output::forecast_nc::{progress_name, tmp_name};
use support::{fixture, fixture_dataset};

const SET: &str = "tiny-mha";
const STATS: [&str; 4] = [
    "mean_by_level.nc",
    "stddev_by_level.nc",
    "diffs_stddev_by_level.nc",
    "min_by_level.nc",
];

/// A private copy of the fixture inputs: `ckpt.npz`, `ds.nc` and `stats/`.
struct Inputs {
    dir: tempfile::TempDir,
}

impl Inputs {
    fn new() -> Inputs {
        let dir = tempfile::tempdir().unwrap();
        let src = fixture(SET);
        std::fs::copy(src.join("checkpoint.npz"), dir.path().join("ckpt.npz")).unwrap();
        std::fs::copy(fixture_dataset(SET), dir.path().join("ds.nc")).unwrap();
        std::fs::create_dir(dir.path().join("stats")).unwrap();
        for f in STATS {
            std::fs::copy(src.join(f), dir.path().join("stats").join(f)).unwrap();
        }
        Inputs { dir }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Every input file's bytes, by path.
    fn snapshot(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        let mut files = vec![self.path("ckpt.npz"), self.path("ds.nc")];
        files.extend(STATS.iter().map(|f| self.path("stats").join(f)));
        files
            .into_iter()
            .map(|p| {
                let bytes = std::fs::read(&p).unwrap();
                (p, bytes)
            })
            .collect()
    }

    /// The `gencast forecast` command on these inputs writing `out`.
    fn command(&self, stats: &Path, out: &Path, extra: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_gencast"));
        cmd.arg("forecast")
            .arg("--checkpoint")
            .arg(self.path("ckpt.npz"))
            .arg("--dataset")
            .arg(self.path("ds.nc"))
            .arg("--stats")
            .arg(stats)
            .arg("--output")
            .arg(out)
            .args(extra)
            .env("RUST_LOG", "info");
        cmd
    }

    fn forecast(&self, out: &Path, extra: &[&str]) -> Output {
        self.command(&self.path("stats"), out, extra)
            .output()
            .unwrap()
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Asserts a run failed with a message holding every one of `needles` and computed nothing.
fn assert_refused(out: &Output, needles: &[&str]) {
    let err = stderr(out);
    assert!(!out.status.success(), "accepted: {err}");
    assert_eq!(out.status.code(), Some(1), "{err}");
    for n in needles {
        assert!(err.contains(n), "`{n}` not in: {err}");
    }
    assert!(!err.contains(" done: "), "computed a step: {err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn an_output_naming_an_input_is_refused_and_the_inputs_stay_intact() {
    let inp = Inputs::new();
    let before = inp.snapshot();
    let targets = [
        ("ds.nc", "--dataset"),
        ("./ds.nc", "--dataset"),
        ("ckpt.npz", "--checkpoint"),
        ("stats/mean_by_level.nc", "--stats"),
        ("stats/../stats/min_by_level.nc", "--stats"),
    ];
    for (rel, role) in targets {
        let out = inp.forecast(&inp.dir.path().join(rel), &["--overwrite"]);
        assert_refused(&out, &["same file as the input", role]);
        assert!(inp.snapshot() == before, "{rel}: an input changed");
    }
    // A hard link to the dataset under another name is the same file too.
    let link = inp.path("link.nc");
    std::fs::hard_link(inp.path("ds.nc"), &link).unwrap();
    assert_refused(
        &inp.forecast(&link, &["--overwrite"]),
        &["same file as the input"],
    );
    assert!(inp.snapshot() == before);

    // `stats` and `plot` do not write over what they read either.
    let fc = inp.path("f.nc");
    support::assert_ok(&inp.forecast(&fc, &["--members", "2"]));
    let fc_bytes = std::fs::read(&fc).unwrap();
    let fc_s = fc.to_str().unwrap();
    let ds_s = inp.path("ds.nc");
    let ds_s = ds_s.to_str().unwrap();
    for args in [
        vec!["stats", "--forecast", fc_s, "--output", fc_s],
        vec![
            "stats",
            "--forecast",
            fc_s,
            "--truth",
            ds_s,
            "--output",
            ds_s,
        ],
        vec![
            "plot",
            "--input",
            fc_s,
            "--variable",
            "2m_temperature",
            "--output",
            fc_s,
        ],
    ] {
        let out = support::gencast(&args);
        assert_refused(&out, &["same file as the input"]);
        assert_eq!(std::fs::read(&fc).unwrap(), fc_bytes, "{args:?}");
        assert!(inp.snapshot() == before, "{args:?}");
    }
}

#[test]
fn a_second_writer_is_refused_while_the_first_completes_a_valid_file() {
    let inp = Inputs::new();
    let out = inp.path("f.nc");
    // Long enough (about 40 short steps) for the second writer to start while it runs.
    let mut first = inp
        .command(
            &inp.path("stats"),
            &out,
            &["--members", "4", "--steps", "10", "--seed", "3"],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !progress_name(&out).exists() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "first run never started"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let tmp_before = std::fs::metadata(tmp_name(&out)).unwrap().len();
    for extra in [&[][..], &["--resume"], &["--overwrite"]] {
        let mut args = vec!["--members", "4", "--steps", "10", "--seed", "4"];
        args.extend_from_slice(extra);
        let second = inp.forecast(&out, &args);
        assert_refused(&second, &["another process is writing", "f.nc"]);
    }
    assert_eq!(std::fs::metadata(tmp_name(&out)).unwrap().len(), tmp_before);
    let status = first.wait().unwrap();
    assert!(status.success(), "the first writer failed");
    // The first run's file is whole: its seed in `history`, and every (member, step) slot
    // holds data (no zeros, only the NaNs sea-surface temperature has over land, alike in all).
    let ds = gencast::data::Dataset::open_lenient(&out).unwrap();
    // Predicted variables only (the static fields copied from the input have no member).
    for v in ds
        .variables()
        .iter()
        .filter(|v| v.dims.iter().any(|d| d == "sample"))
    {
        let a = ds.read_all(&v.name).unwrap();
        let slots: Vec<&[f32]> = a.data.chunks(a.data.len() / 40).collect();
        let nans = |s: &[f32]| s.iter().filter(|x| x.is_nan()).count();
        for s in &slots {
            assert!(!s.contains(&0.0), "{}: a slot holds zeros", v.name);
            assert!(nans(s) == nans(slots[0]) && nans(s) < s.len(), "{}", v.name);
        }
    }
    let bytes = std::fs::read(&out).unwrap();
    let text = String::from_utf8_lossy(&bytes[..4096.min(bytes.len())]);
    assert!(
        text.contains("seed 3") && !text.contains("seed 4"),
        "{text}"
    );
}

#[test]
fn finished_and_interrupted_outputs_are_replaced_only_on_request() {
    let inp = Inputs::new();
    let out = inp.path("f.nc");
    support::assert_ok(&inp.forecast(&out, &["--seed", "1"]));
    let first = std::fs::read(&out).unwrap();
    assert_refused(
        &inp.forecast(&out, &["--seed", "2"]),
        &["already exists", "--overwrite"],
    );
    assert_eq!(std::fs::read(&out).unwrap(), first);
    support::assert_ok(&inp.forecast(&out, &["--seed", "2", "--overwrite"]));
    assert_ne!(std::fs::read(&out).unwrap(), first);

    // An interrupted run: refused without --resume or --overwrite, its steps kept.
    let part = inp.path("p.nc");
    let args = ["--members", "2", "--steps", "2"];
    let stopped = inp
        .command(&inp.path("stats"), &part, &args)
        .env("GENCAST_STOP_AFTER_STEPS", "1")
        .output()
        .unwrap();
    assert!(!stopped.status.success());
    let record = std::fs::read(progress_name(&part)).unwrap();
    assert_refused(
        &inp.forecast(&part, &args),
        &["interrupted run", "--resume", "--overwrite"],
    );
    assert_eq!(std::fs::read(progress_name(&part)).unwrap(), record);
    let mut resume = args.to_vec();
    resume.push("--resume");
    let out2 = inp.forecast(&part, &resume);
    support::assert_ok(&out2);
    assert!(stderr(&out2).contains("skipped"), "{}", stderr(&out2));
}

/// Changes the stored value of scalar statistic `var` of `path` by one unit in the last place
/// (its little-endian bytes found in the file and the lowest bit flipped): still a valid file.
fn nudge_value(path: &Path, var: &str) {
    let x = gencast::data::NormStats::open(path)
        .unwrap()
        .scalar(var)
        .unwrap();
    let mut b = std::fs::read(path).unwrap();
    let needle = x.to_le_bytes();
    let at = b
        .windows(8)
        .position(|w| w == needle)
        .expect("value stored uncompressed");
    b[at] ^= 1;
    std::fs::write(path, b).unwrap();
    let y = gencast::data::NormStats::open(path)
        .unwrap()
        .scalar(var)
        .unwrap();
    // Flipping the lowest mantissa bit of an f64 changes it by one ulp, about 2.2e-16 relative;
    // 1e-9 only rules out having hit another byte of the value.
    assert!(y != x && (y - x).abs() < 1e-9 * x.abs());
}

#[test]
fn a_resume_needs_the_same_input_files_wherever_they_are() {
    let inp = Inputs::new();
    let args = ["--members", "2", "--steps", "2", "--seed", "5"];
    let full = inp.path("full.nc");
    support::assert_ok(&inp.forecast(&full, &args));

    let part = inp.path("part.nc");
    let stopped = inp
        .command(&inp.path("stats"), &part, &args)
        .env("GENCAST_STOP_AFTER_STEPS", "1")
        .output()
        .unwrap();
    assert!(!stopped.status.success());
    let mut resume = args.to_vec();
    resume.push("--resume");

    // Another stats folder whose diffs file differs in one value: refused, naming the file.
    let changed = inp.path("changed");
    std::fs::create_dir(&changed).unwrap();
    for f in STATS {
        std::fs::copy(inp.path("stats").join(f), changed.join(f)).unwrap();
    }
    nudge_value(&changed.join("diffs_stddev_by_level.nc"), "2m_temperature");
    let out = inp.command(&changed, &part, &resume).output().unwrap();
    assert_refused(
        &out,
        &["input stats/diffs_stddev_by_level.nc", "content differs"],
    );
    assert!(
        stderr(&out).lines().all(|l| l.len() < 600),
        "a mismatch message quotes whole records: {}",
        stderr(&out)
    );

    // A byte-identical copy of the stats under another path: accepted, same result.
    let copy = inp.path("copy");
    std::fs::create_dir(&copy).unwrap();
    for f in STATS {
        std::fs::copy(inp.path("stats").join(f), copy.join(f)).unwrap();
    }
    let out = inp.command(&copy, &part, &resume).output().unwrap();
    support::assert_ok(&out);
    assert_eq!(std::fs::read(&full).unwrap(), std::fs::read(&part).unwrap());

    // Zarr: a second writer (or a resume) with another stats file is refused too.
    let store = inp.path("f.zarr");
    let z1 = [
        "--members",
        "1",
        "--member-offset",
        "0",
        "--ensemble-size",
        "2",
    ];
    support::assert_ok(&inp.forecast(&store, &z1));
    let z2 = [
        "--members",
        "1",
        "--member-offset",
        "1",
        "--ensemble-size",
        "2",
    ];
    let out = inp.command(&changed, &store, &z2).output().unwrap();
    assert_refused(&out, &["input stats/diffs_stddev_by_level.nc"]);
    support::assert_ok(&inp.command(&copy, &store, &z2).output().unwrap());
}

#[test]
fn the_demo_runs_only_without_any_input_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("f.nc");
    let ds = fixture_dataset(SET);
    let o = out.to_str().unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_gencast"))
            .args(args)
            .output()
            .unwrap()
    };
    let partial = run(&["forecast", "--dataset", ds.to_str().unwrap(), "-o", o]);
    assert_refused(&partial, &["missing --checkpoint and --stats"]);
    assert!(!out.exists());
    let demo = run(&["-q", "forecast", "-o", o]);
    assert!(demo.status.success(), "{}", stderr(&demo));
    assert!(
        stderr(&demo).contains("WARN") && stderr(&demo).contains("demo model"),
        "{}",
        stderr(&demo)
    );
}

#[test]
fn plot_and_stats_refuse_each_of_their_inputs_as_output() {
    let dir = tempfile::tempdir().unwrap();
    let p = |rel: &str| dir.path().join(rel).to_str().unwrap().to_string();
    for f in ["f.nc", "truth.nc", "mask.nc", "clim.nc"] {
        std::fs::copy(fixture_dataset(SET), dir.path().join(f)).unwrap();
    }
    // A Zarr store input: nothing may be written inside it either.
    let store = dir.path().join("f.zarr");
    std::fs::create_dir(&store).unwrap();
    std::fs::write(store.join(".zgroup"), br#"{"zarr_format": 2}"#).unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    let snapshot = || {
        let mut names: Vec<PathBuf> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        names.sort();
        names
            .into_iter()
            .map(|f| {
                let id = gencast::output::guard::file_identity(&f).unwrap();
                (f, id)
            })
            .collect::<Vec<_>>()
    };
    let before = snapshot();
    let plot = |extra: &[&str], out: &str| {
        let mut args = vec!["plot", "--variable", "2m_temperature"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--output", out]);
        args.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let (f, truth, mask, clim) = (p("f.nc"), p("truth.nc"), p("mask.nc"), p("clim.nc"));
    let cases: Vec<(Vec<String>, &str)> = vec![
        (plot(&["--input", &f, "--truth", &truth], &truth), "--truth"),
        (
            plot(&["--input", &f, "--dataset", &mask], &mask),
            "--dataset",
        ),
        (plot(&["--input", &f], &p("./f.nc")), "--input"),
        (
            plot(&["--input", store.to_str().unwrap()], &p("f.zarr/map.png")),
            "inside the input --input",
        ),
        (
            [
                "stats",
                "--forecast",
                &f,
                "--truth",
                &truth,
                "--climatology",
                &clim,
                "--output",
                &clim,
            ]
            .map(String::from)
            .to_vec(),
            "--climatology",
        ),
    ];
    for (args, role) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = support::gencast(&args);
        assert_refused(&out, &[role]);
        assert!(snapshot() == before, "{args:?} changed an input");
    }
    // Two outputs of one run under one name would overwrite each other.
    let out = support::gencast(&[
        "stats",
        "--forecast",
        &f,
        "--output",
        &p("s.nc"),
        "--csv",
        &p("sub/../s.nc"),
    ]);
    assert_refused(&out, &["--output", "--csv", "same file"]);
    assert!(snapshot() == before);
}

#[test]
fn stats_leaves_a_file_named_like_its_temporary_alone() {
    let inp = Inputs::new();
    let fc = inp.path("f.nc");
    support::assert_ok(&inp.forecast(&fc, &["--members", "2"]));
    let user = inp.path("s.nc.tmp");
    std::fs::write(&user, b"mine").unwrap();
    let out = inp.path("s.nc");
    let run = support::gencast(&[
        "stats",
        "--forecast",
        fc.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
    ]);
    support::assert_ok(&run);
    assert_eq!(std::fs::read(&user).unwrap(), b"mine");
    gencast::data::Dataset::open_lenient(&out).unwrap();
    let partial = std::fs::read_dir(inp.dir.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .contains("partial")
        })
        .count();
    assert_eq!(partial, 0, "a temporary was left behind");
}
