//! Guard rails: sizes from files and the command line are bounded before anything is
//! allocated or computed, unusable outputs fail at once and leave nothing, every command writes
//! files that open, and messages and logs say clearly what is wrong and fit a pipe.

use crate::support;

use std::path::Path;
use std::process::Command;

use support::{add_deflated_member, fixture, fixture_dataset, npy_header};

const SET: &str = "tiny-mha";

/// Runs `gencast` with `args` (logs at the default level): (exit code, stdout, stderr).
fn run(args: &[&str]) -> (Option<i32>, String, String) {
    run_env(args, &[])
}

fn run_env(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gencast"));
    cmd.args(args).env_remove("RUST_LOG").env_remove("NO_COLOR");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The fixture forecast arguments writing `out`, then `extra`.
fn forecast_args<'a>(ckpt: &'a str, ds: &'a str, stats: &'a str, out: &'a str) -> Vec<&'a str> {
    vec![
        "forecast",
        "--checkpoint",
        ckpt,
        "--dataset",
        ds,
        "--stats",
        stats,
        "--output",
        out,
    ]
}

/// The fixture set's checkpoint, dataset and statistics folder, as arguments.
fn model_paths() -> (String, String, String) {
    let arg = |p: std::path::PathBuf| p.to_str().unwrap().to_string();
    (
        arg(fixture(SET).join("checkpoint.npz")),
        arg(fixture_dataset(SET)),
        arg(fixture(SET)),
    )
}

fn is_empty_dir(dir: &Path) -> bool {
    std::fs::read_dir(dir).unwrap().next().is_none()
}

#[test]
fn out_of_range_numbers_and_outputs_are_refused_before_computing() {
    let dir = tempfile::tempdir().unwrap();
    let (c, d, s) = model_paths();
    let (c, d, s) = (c.as_str(), d.as_str(), s.as_str());
    let nc = dir.path().join("f.nc");
    let zarr = dir.path().join("f.zarr");
    let (nc, zarr) = (nc.to_str().unwrap(), zarr.to_str().unwrap());
    let cases: Vec<(&str, Vec<&str>, &str)> = vec![
        (
            nc,
            vec!["--sampler", "num_noise_levels=99999999999999"],
            "more than 10000 noise levels",
        ),
        (
            nc,
            vec!["--steps", "100000000"],
            "more than the 10000 steps",
        ),
        (
            nc,
            vec!["--lead-time", "99999999999999999d"],
            "more than the 10000 steps",
        ),
        (
            nc,
            vec!["--members", "5000", "--steps", "1000"],
            "split the ensemble",
        ),
        (
            nc,
            vec!["--member-offset", "2147483647"],
            "past the largest member number",
        ),
        (
            zarr,
            vec!["--member-offset", "4294967295"],
            "past the largest member number",
        ),
        (
            zarr,
            vec!["--member-offset", "2147483640", "--members", "7"],
            "more than the 1000000 one store may hold",
        ),
        (nc, vec!["--members", "-1"], "is negative"),
        (nc, vec!["--threads", "0"], "at least 1"),
        ("/", vec![], "not a file name"),
        (dir.path().to_str().unwrap(), vec![], "is a folder"),
        (
            "/proc/gencast-test.nc",
            vec![],
            "cannot create files in /proc",
        ),
    ];
    for (out, extra, needle) in cases {
        let mut args = forecast_args(c, d, s, out);
        args.extend(extra.iter());
        let (code, _, err) = run(&args);
        assert!(
            code == Some(1) || code == Some(2),
            "{extra:?}: {code:?} {err}"
        );
        assert!(err.contains(needle), "{extra:?}: `{needle}` not in {err}");
        assert!(
            !err.contains("panicked") && !err.contains(" done: "),
            "{err}"
        );
        assert!(is_empty_dir(dir.path()), "{extra:?} left files behind");
    }
    // Far more threads than cores: capped with a warning, and the run completes.
    let mut args = forecast_args(c, d, s, nc);
    args.extend(["--threads", "4000"]);
    let (code, _, err) = run(&args);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("available cores; using"), "{err}");
}

#[test]
fn wrong_kinds_of_input_paths_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("f.nc");
    let o = out.to_str().unwrap();
    let ds = fixture_dataset(SET);
    let d = ds.to_str().unwrap();
    let stats = fixture(SET);
    let mean = stats.join("mean_by_level.nc");
    let ckpt = fixture(SET).join("checkpoint.npz");
    let tmp = dir.path().to_str().unwrap();
    let (_, _, err) = run(&forecast_args(tmp, d, stats.to_str().unwrap(), o));
    assert!(
        err.contains("--checkpoint") && err.contains("is a folder"),
        "{err}"
    );
    let (_, _, err) = run(&["inspect", tmp]);
    assert!(err.contains("is a folder"), "{err}");
    assert!(!err.contains("os error 19"), "{err}");
    let (_, _, err) = run(&forecast_args(
        ckpt.to_str().unwrap(),
        d,
        mean.to_str().unwrap(),
        o,
    ));
    assert!(err.contains("is a file; give the folder"), "{err}");
    let absent = dir.path().join("no-stats");
    let (_, _, err) = run(&forecast_args(
        ckpt.to_str().unwrap(),
        d,
        absent.to_str().unwrap(),
        o,
    ));
    assert!(
        err.contains("--stats") && err.contains("no-stats: no such folder"),
        "{err}"
    );
    assert!(is_empty_dir(dir.path()));
}

#[test]
fn a_zip_bomb_is_rejected_before_inflating() {
    let dir = tempfile::tempdir().unwrap();
    let header = npy_header(&[4]);
    // 32 MiB of zeros behind a header announcing 4 floats, declared at their true size.
    let mut body = header.clone();
    body.resize(header.len() + (32 << 20), 0);
    let ckpt = std::fs::read(fixture(SET).join("checkpoint.npz")).unwrap();
    let lying = dir.path().join("lying.npz");
    std::fs::write(
        &lying,
        add_deflated_member(&ckpt, "params:enc:w.npy", &body, body.len() as u32),
    )
    .unwrap();
    // A header announcing 1.2 GB of floats, declared consistently but past the cap.
    let huge_header = npy_header(&[300_000_000]);
    let huge = dir.path().join("huge.npz");
    let declared = huge_header.len() as u32 + 1_200_000_000;
    std::fs::write(
        &huge,
        add_deflated_member(&ckpt, "params:enc:w.npy", &huge_header, declared),
    )
    .unwrap();
    for (file, needle) in [
        (&lying, "needs 144"),
        (&huge, "bytes allowed for one array"),
    ] {
        // Under a 2 GB address-space limit an inflating reader would fail to allocate.
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "ulimit -v 2000000; exec '{}' inspect '{}'",
                env!("CARGO_BIN_EXE_gencast"),
                file.display()
            ))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(
            err.contains("params:enc:w") && err.contains(needle),
            "{err}"
        );
    }
}

#[test]
fn a_tensor_the_model_cannot_use_is_reported_without_being_inflated() {
    let dir = tempfile::tempdir().unwrap();
    // A member the model does not use, whose header announces 1 GB of floats (under the
    // one-array cap) and whose declared size agrees with it: only the header is stored.
    let header = npy_header(&[250_000_000]);
    let declared = header.len() as u32 + 1_000_000_000;
    let ckpt = std::fs::read(fixture(SET).join("checkpoint.npz")).unwrap();
    let extra = dir.path().join("extra.npz");
    std::fs::write(
        &extra,
        add_deflated_member(&ckpt, "params:extra:w.npy", &header, declared),
    )
    .unwrap();
    // Opening reads the header only; the model's check names the tensor with its shape.
    let opened = gencast::checkpoint::GenCastCheckpoint::open(&extra).unwrap();
    let p = opened.params.get("extra", "w").unwrap();
    assert_eq!(p.shape, vec![250_000_000]);
    assert!(!p.is_read());
    let err = opened.validate().unwrap_err().to_string();
    assert!(err.contains("unexpected extra:w"), "{err}");
    // A forecast under a 1 GB address-space limit stops with that message (an inflating reader
    // would fail to allocate the gigabyte first).
    let out = dir.path().join("f.nc");
    let f = fixture(SET);
    let cmd = format!(
        "ulimit -v 1000000; exec '{}' forecast --checkpoint '{}' --dataset '{}' --stats '{}' \
         --output '{}'",
        env!("CARGO_BIN_EXE_gencast"),
        extra.display(),
        fixture_dataset(SET).display(),
        f.display(),
        out.display()
    );
    let res = Command::new("sh").arg("-c").arg(cmd).output().unwrap();
    let err = String::from_utf8_lossy(&res.stderr);
    assert_eq!(res.status.code(), Some(1), "{err}");
    assert!(err.contains("unexpected extra:w"), "{err}");
    assert!(!out.exists());
}

#[test]
fn stats_and_plot_write_valid_files_or_refuse() {
    let dir = tempfile::tempdir().unwrap();
    let fc = dir.path().join("f.nc");
    let one = dir.path().join("one.nc");
    let ckpt = fixture(SET).join("checkpoint.npz");
    let (ds, stats) = (fixture_dataset(SET), fixture(SET));
    let args = |out: &Path| {
        vec![
            "forecast".to_string(),
            "--checkpoint".into(),
            ckpt.display().to_string(),
            "--dataset".into(),
            ds.display().to_string(),
            "--stats".into(),
            stats.display().to_string(),
            "--output".into(),
            out.display().to_string(),
        ]
    };
    let mut two = args(&fc);
    two.extend(["--members".into(), "2".into()]);
    let two: Vec<&str> = two.iter().map(String::as_str).collect();
    assert_eq!(run(&two).0, Some(0));
    let single = args(&one);
    let single: Vec<&str> = single.iter().map(String::as_str).collect();
    assert_eq!(run(&single).0, Some(0));

    // Without --quantiles: no `quantile` dimension, in particular no zero-length (record) one.
    let s_out = dir.path().join("s.nc");
    let (code, _, err) = run(&[
        "stats",
        "--forecast",
        fc.to_str().unwrap(),
        "--output",
        s_out.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0), "{err}");
    let bytes = std::fs::read(&s_out).unwrap();
    assert_eq!(&bytes[4..8], &[0, 0, 0, 0], "numrecs must be 0");
    let f = netcdf_reader::NcFile::open(&s_out).unwrap();
    for d in f.dimensions().unwrap() {
        assert!(d.size > 0 && !d.is_unlimited, "dimension {}", d.name);
    }
    assert!(f.dimensions().unwrap().iter().all(|d| d.name != "quantile"));
    let std: Vec<f32> = f
        .read_variable::<f32>("std__2m_temperature")
        .unwrap()
        .iter()
        .copied()
        .collect();
    assert!(std.iter().all(|x| x.is_finite()));

    let (code, _, err) = run(&[
        "stats",
        "--forecast",
        fc.to_str().unwrap(),
        "--ddof",
        "2",
        "--output",
        dir.path().join("bad.nc").to_str().unwrap(),
    ]);
    assert_eq!(code, Some(1));
    assert!(err.contains("--ddof 2 needs more than 2 members"), "{err}");
    let (code, _, err) = run(&[
        "plot",
        "--input",
        one.to_str().unwrap(),
        "--variable",
        "2m_temperature",
        "--std",
        "--output",
        dir.path().join("p.png").to_str().unwrap(),
    ]);
    assert_eq!(code, Some(1));
    assert!(err.contains("--std of 1 member"), "{err}");
    assert!(!dir.path().join("bad.nc").exists() && !dir.path().join("p.png").exists());
}

#[test]
fn logs_fit_a_pipe_and_json_summarises_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("f.nc");
    let o = out.to_str().unwrap();
    // stderr is a pipe here: no colour escapes, whatever NO_COLOR says.
    let (code, stdout, err) = run(&["forecast", "--output", o, "--members", "2", "--json"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        !err.contains('\u{1b}'),
        "ANSI escapes in piped logs: {err:?}"
    );
    assert!(err.contains(" INFO ") && err.contains("WARN"), "{err}");
    let summary: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(summary["members"], serde_json::json!([0, 1]));
    assert_eq!(summary["steps"], 1);
    assert_eq!(summary["output"], o);
    assert!(summary["denoiser_calls"].as_u64().unwrap() > 0);
    assert!(summary["seconds"].as_f64().unwrap() > 0.0);
    assert!(summary["peak_rss_mb"].as_f64().unwrap() > 0.0);
    // --log-level warn keeps only warnings; -v adds debug messages.
    let (_, _, err) = run_env(
        &["forecast", "-o", o, "--overwrite", "--log-level", "warn"],
        &[("NO_COLOR", "1")],
    );
    assert!(!err.contains(" INFO ") && err.contains("WARN"), "{err}");
    let (code, _, err) = run(&["forecast", "-o", o, "--overwrite", "-q", "-v"]);
    assert_eq!(code, Some(2), "-q and -v conflict: {err}");
}

#[test]
fn implausible_statistics_are_blamed_on_the_stats_file_before_computing() {
    let src = fixture(SET);
    let ckpt = src.join("checkpoint.npz");
    let ds = fixture_dataset(SET);
    for (file, var, value, needle) in [
        (
            "stddev_by_level.nc",
            "2m_temperature",
            Some(0.0),
            "is 0, expected a standard deviation > 0",
        ),
        (
            "diffs_stddev_by_level.nc",
            "temperature",
            Some(f64::NAN),
            "is NaN, expected a finite value",
        ),
        ("mean_by_level.nc", "2m_temperature", None, "is missing"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        for f in [
            "mean_by_level.nc",
            "stddev_by_level.nc",
            "diffs_stddev_by_level.nc",
            "min_by_level.nc",
        ] {
            if f == file {
                support::write_stats_edited(&src.join(f), &dir.path().join(f), var, value);
            } else {
                std::fs::copy(src.join(f), dir.path().join(f)).unwrap();
            }
        }
        let out = dir.path().join("f.nc");
        let (code, _, err) = run(&forecast_args(
            ckpt.to_str().unwrap(),
            ds.to_str().unwrap(),
            dir.path().to_str().unwrap(),
            out.to_str().unwrap(),
        ));
        assert_eq!(code, Some(1), "{file} {var}: {err}");
        assert!(
            err.lines()
                .any(|l| l.contains(file) && l.contains(var) && l.contains(needle)),
            "{file} {var}: {err}"
        );
        assert!(!err.contains(" done: ") && !err.contains(" WARN "), "{err}");
        assert!(!out.exists());
    }
}

mod bounded_readers;

#[test]
fn library_option_names_reach_the_command_line_as_its_flags() {
    let dir = tempfile::tempdir().unwrap();
    let (c, d, s) = model_paths();
    let (c, d, s) = (c.as_str(), d.as_str(), s.as_str());
    let nc = dir.path().join("f.nc");
    let zarr = dir.path().join("f.zarr");
    let (nc, zarr) = (nc.to_str().unwrap(), zarr.to_str().unwrap());
    let cases: Vec<(&str, Vec<&str>, &str)> = vec![
        (nc, vec!["--members", "0"], "--members must be at least 1"),
        (
            nc,
            vec!["--ensemble-summary", "mode"],
            "--ensemble-summary `mode`",
        ),
        (
            zarr,
            vec!["--member-offset", "2", "--ensemble-size", "2"],
            "do not fit in --ensemble-size 2",
        ),
        (nc, vec!["--region", "10,0,0,10"], "--region `10,0,0,10`"),
    ];
    for (out, extra, needle) in cases {
        let mut args = forecast_args(c, d, s, out);
        args.extend(extra.iter());
        let (code, _, err) = run(&args);
        assert_ne!(code, Some(0), "{extra:?}: {err}");
        assert!(err.contains(needle), "{extra:?}: `{needle}` not in {err}");
        // No library name is left untranslated.
        for library in ["Forecast::", "WriteMode::", "ZarrSink", "EnsembleSummary"] {
            assert!(!err.contains(library), "{extra:?}: {err}");
        }
    }
}
