//! Kernel paths: a forecast is byte-identical whichever instruction set runs it, and
//! `GENCAST_ISA` / `--isa` refuse what the CPU cannot run.

use crate::support;

use std::process::{Command, Output};

use gencast::isa::{Isa, Kind};
use support::{assert_ok, fixture, fixture_dataset};

/// Runs `gencast` with `GENCAST_ISA=isa`.
fn gencast_isa(isa: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gencast"))
        .args(args)
        .env("GENCAST_ISA", isa)
        .env("RUST_LOG", "info")
        .output()
        .expect("running gencast")
}

fn forecast_args<'a>(set: &'a str, dir: &'a str, out: &'a str) -> Vec<String> {
    let f = fixture(set);
    vec![
        "forecast".into(),
        "--checkpoint".into(),
        f.join("checkpoint.npz").to_str().unwrap().into(),
        "--dataset".into(),
        fixture_dataset(set).to_str().unwrap().into(),
        "--stats".into(),
        f.to_str().unwrap().into(),
        "--members".into(),
        "2".into(),
        "--steps".into(),
        "2".into(),
        "--output".into(),
        format!("{dir}/{out}"),
    ]
}

#[test]
fn forecasts_are_byte_identical_on_every_kernel_path() {
    let paths = Isa::supported();
    assert!(paths.len() >= 2 || cfg!(not(target_arch = "x86_64")));
    for set in ["tiny-mha", "tiny-triblockdiag"] {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_str().unwrap();
        let mut files = Vec::new();
        for isa in &paths {
            let name = format!("{}.nc", isa.name());
            let args = forecast_args(set, d, &name);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let out = gencast_isa(isa.name(), &args);
            assert_ok(&out);
            // The log names the path that ran.
            let log = String::from_utf8_lossy(&out.stderr);
            assert!(
                log.contains(&format!("{} kernels", isa.name())),
                "{set}: log does not name the {isa} kernels:\n{log}"
            );
            files.push((isa.name(), std::fs::read(dir.path().join(&name)).unwrap()));
        }
        for (name, bytes) in &files[1..] {
            assert!(
                *bytes == files[0].1,
                "{set}: the {name} forecast differs from the {} one",
                files[0].0
            );
        }
    }
}

#[test]
fn unknown_or_unsupported_paths_are_refused_before_running() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let mut bad = vec!["sse9"];
    let unsupported: Vec<&str> = Kind::ALL
        .into_iter()
        .filter(|k| !k.supported())
        .map(Kind::name)
        .collect();
    bad.extend(&unsupported);
    for name in bad {
        let args = forecast_args("tiny-mha", d, "f.nc");
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = gencast_isa(name, &args);
        assert!(!out.status.success(), "GENCAST_ISA={name} was accepted");
        assert_eq!(out.status.code(), Some(1), "GENCAST_ISA={name}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(name) && err.contains("GENCAST_ISA"),
            "GENCAST_ISA={name}: {err}"
        );
        assert!(!dir.path().join("f.nc").exists());
        // `bench --isa` refuses the same names.
        let out = gencast_isa(
            "",
            &["bench", "--preset", "tiny", "--calls", "1", "--isa", name],
        );
        assert!(!out.status.success(), "--isa {name} was accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(name), "--isa {name}: {err}");
    }
}

#[test]
fn bench_times_every_path_in_one_run() {
    let out = gencast_isa(
        "",
        &[
            "bench",
            "--preset",
            "tiny",
            "--calls",
            "1",
            "--threads",
            "1",
            "--isa",
            "all",
            "--json",
        ],
    );
    assert_ok(&out);
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let want: Vec<&str> = Isa::supported().iter().map(|i| i.name()).collect();
    let got: Vec<&str> = r["isa_comparison"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["isa"].as_str().unwrap())
        .collect();
    assert_eq!(got, want);
    assert_eq!(r["isa"], want[0]);
    assert_eq!(r["isa_outputs_identical"], true);
}
