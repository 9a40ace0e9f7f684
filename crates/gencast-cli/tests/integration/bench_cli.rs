//! `gencast bench` on the hidden tiny preset: runs in a second and reports every figure.

use crate::support;

use support::{assert_ok, gencast};

/// Runs `gencast bench ARGS --json`, asserts success and parses the one JSON object it prints.
fn bench_json(args: &[&str]) -> serde_json::Value {
    let mut all = vec!["bench"];
    all.extend_from_slice(args);
    all.push("--json");
    let out = gencast(&all);
    assert_ok(&out);
    serde_json::from_slice(&out.stdout).expect("one JSON object")
}

#[test]
fn tiny_bench_prints_positive_finite_json() {
    let v = bench_json(&[
        "--preset",
        "tiny",
        "--calls",
        "2",
        "--steps",
        "1",
        "--threads",
        "1",
    ]);
    for key in [
        "denoiser_call_s",
        "step_s",
        "peak_rss_mb",
        "graph_build_s",
        "startup_s",
        "encoder_s",
        "transformer_s",
        "decoder_s",
        "sampler_overhead_s",
        "actual_gflops",
        "reference_equivalent_gflops",
        "gemm_gflops",
    ] {
        let x = v[key]
            .as_f64()
            .unwrap_or_else(|| panic!("`{key}` missing or not a number: {v}"));
        assert!(x > 0.0 && x.is_finite(), "{key} = {x}");
    }
    assert_eq!(v["preset"], "tiny");
    assert_eq!(v["threads"], 1);
    assert_eq!(v["n_grid"], 19 * 36);
    // 20 noise levels: two calls per level except the last, which makes one.
    assert_eq!(v["calls_per_step"], 39);
}

#[test]
fn bench_without_steps_omits_step_time() {
    let v = bench_json(&["--preset", "tiny", "--calls", "1"]);
    assert!(v.get("step_s").is_none());
    assert!(v["denoiser_call_s"].as_f64().unwrap() > 0.0);
}

#[test]
fn bench_rejects_unknown_presets_and_zero_calls() {
    let out = gencast(&["bench", "--preset", "2p0"]);
    assert!(!out.status.success());
    let out = gencast(&["bench", "--preset", "tiny", "--calls", "0"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least one timed call"));
}

#[test]
fn kernel_bench_reports_every_kernel_as_json() {
    let v = bench_json(&["--kernels", "--small", "--reps", "1", "--threads", "1"]);
    let gemm = v["gemm_gflops"].as_f64().expect("gemm_gflops");
    assert!(gemm > 0.0 && gemm.is_finite(), "gemm_gflops = {gemm}");
    assert_eq!(v["threads"], 1);
    let kernels = v["kernels"].as_array().expect("a `kernels` list");
    let names: Vec<&str> = kernels.iter().filter_map(|k| k["name"].as_str()).collect();
    for want in [
        "matmul",
        "matmul_packed",
        "attention",
        "layer_norm_cond",
        "bias_swish",
        "bias_gelu",
        "segment_sum",
        "gather_add",
    ] {
        assert!(names.contains(&want), "`{want}` missing from {names:?}");
    }
    for k in kernels {
        for field in ["seconds", "rate"] {
            let x = k[field]
                .as_f64()
                .unwrap_or_else(|| panic!("`{field}` missing in {k}"));
            assert!(x > 0.0 && x.is_finite(), "{field} = {x} in {k}");
        }
        assert!(
            ["GFLOP/s", "GB/s"].contains(&k["unit"].as_str().unwrap_or("")),
            "{k}"
        );
        assert!(!k["shape"].as_str().unwrap_or("").is_empty(), "{k}");
    }
}

#[test]
fn kernel_bench_prints_one_line_per_kernel() {
    let out = gencast(&["bench", "--kernels", "--small", "--reps", "1"]);
    assert_ok(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    // A header, 18 kernels (5 product shapes with plain and packed weights, attention, layer
    // norm, two activations, and a segment sum and a gather per edge set), then the GEMM rate.
    assert_eq!(text.lines().count(), 20, "{text}");
    assert!(text.lines().any(|l| l.starts_with("attention")), "{text}");
    assert!(
        text.lines().last().unwrap_or("").starts_with("gemm_rate"),
        "{text}"
    );
}

#[test]
fn tiny_graphcast_bench_reports_stages_and_memory() {
    let v = bench_json(&[
        "--preset",
        "graphcast-tiny",
        "--steps",
        "1",
        "--threads",
        "1",
    ]);
    assert_eq!(v["preset"], "graphcast-tiny");
    // The fixture checkpoint's parameter count (graphcast-tiny/meta.json `num_params`).
    assert_eq!(v["num_params"], 70739);
    for key in [
        "step_s",
        "encoder_s",
        "processor_s",
        "decoder_s",
        "graph_build_s",
        "network_load_s",
        "peak_rss_mb",
    ] {
        let x = v[key]
            .as_f64()
            .unwrap_or_else(|| panic!("`{key}` missing or not a number: {v}"));
        assert!(x > 0.0 && x.is_finite(), "{key} = {x}");
    }
    let stages = ["encoder_s", "processor_s", "decoder_s"]
        .iter()
        .map(|k| v[k].as_f64().unwrap())
        .sum::<f64>();
    assert!(stages <= v["step_s"].as_f64().unwrap() * 1.01, "{v}");
}

/// The `thread_comparison` of a bench report: (threads, seconds, speed-up) per count.
fn thread_runs(v: &serde_json::Value) -> Vec<(u64, f64, f64)> {
    v["thread_comparison"]
        .as_array()
        .unwrap_or_else(|| panic!("no thread_comparison: {v}"))
        .iter()
        .map(|t| {
            (
                t["threads"].as_u64().unwrap(),
                t["seconds"].as_f64().unwrap(),
                t["speedup_over_first"].as_f64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn a_thread_list_times_each_count_and_compares_their_bits() {
    for (preset, unit) in [("tiny", "denoiser_call_s"), ("graphcast-tiny", "step_s")] {
        let v = bench_json(&[
            "--preset",
            preset,
            "--calls",
            "2",
            "--steps",
            "2",
            "--threads",
            "1,2",
        ]);
        assert_eq!(
            v["threads"], 1,
            "{preset}: the main figures use the first count"
        );
        let runs = thread_runs(&v);
        assert_eq!(
            runs.iter().map(|r| r.0).collect::<Vec<_>>(),
            [1, 2],
            "{preset}"
        );
        // The first entry is the main figure; the speed-ups are ratios of the same run's medians.
        assert_eq!(runs[0].1, v[unit].as_f64().unwrap(), "{preset}");
        assert_eq!(runs[0].2, 1.0);
        assert!(runs[1].1 > 0.0 && (runs[1].2 - runs[0].1 / runs[1].1).abs() < 1e-12);
        assert_eq!(v["thread_outputs_identical"], true, "{preset}");
    }
    // One count: a comparison of one entry.
    let v = bench_json(&["--preset", "tiny", "--calls", "1", "--threads", "1"]);
    assert_eq!(thread_runs(&v).len(), 1);
}

#[test]
fn bad_thread_lists_are_refused() {
    for (args, why) in [
        (vec!["--threads", "1,0"], "at least 1"),
        (vec!["--threads", "2,2"], "named twice"),
        (vec!["--threads", "1,x"], "not a thread count"),
        (
            vec!["--threads", "1,2", "--isa", "all", "--calls", "1"],
            "not both",
        ),
        (
            vec!["--threads", "1,2", "--kernels", "--small"],
            "one --threads count",
        ),
    ] {
        let mut all = vec!["bench", "--preset", "tiny"];
        all.extend_from_slice(&args);
        let out = gencast(&all);
        let err = String::from_utf8_lossy(&out.stderr);
        // `--isa all` on a CPU with a single path compares nothing and runs.
        if args.contains(&"all") && out.status.success() {
            continue;
        }
        assert!(
            !out.status.success() && err.contains(why),
            "{args:?}: {err}"
        );
    }
    let out = gencast(&["bench", "--preset", "graphcast-tiny", "--threads", "1,2"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least one timed step"));
}

#[test]
fn graphcast_bench_times_the_bf16_cast_and_refuses_it_elsewhere() {
    let f32 = bench_json(&[
        "--preset",
        "graphcast-tiny",
        "--steps",
        "1",
        "--threads",
        "1",
    ]);
    let bf16 = bench_json(&[
        "--preset",
        "graphcast-tiny",
        "--steps",
        "1",
        "--threads",
        "1,2",
        "--precision",
        "bf16-cast",
    ]);
    assert_eq!(f32["precision"], "f32");
    assert_eq!(bf16["precision"], "bf16-cast");
    // Both precisions run one code path: the cast is split into the same stages, whose
    // medians add up to no more than the step's, and has the same sizes as float32.
    for r in [&f32, &bf16] {
        let mut sum = 0.0;
        for key in ["encoder_s", "processor_s", "decoder_s"] {
            let s = r[key].as_f64().unwrap_or(-1.0);
            assert!(s > 0.0, "{key}: {r}");
            sum += s;
        }
        // Medians of parts need not add up exactly; 1 % covers the clock's granularity.
        assert!(sum <= r["step_s"].as_f64().unwrap() * 1.01, "{r}");
    }
    for key in [
        "num_params",
        "n_grid",
        "mesh_edges",
        "input_channels",
        "output_channels",
    ] {
        assert_eq!(f32[key], bf16[key], "{key}");
    }
    assert!(bf16["step_s"].as_f64().unwrap() > 0.0);
    assert_eq!(bf16["thread_outputs_identical"], true);
    for args in [vec!["--preset", "tiny"], vec!["--kernels", "--small"]] {
        let mut all = vec!["bench", "--precision", "bf16-cast"];
        all.extend_from_slice(&args);
        let out = gencast(&all);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains("GraphCast presets"),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn both_families_compare_thread_lists_and_kernel_paths_through_one_report() {
    let paths: Vec<String> = gencast::isa::Isa::supported()
        .iter()
        .map(|i| i.name().to_string())
        .collect();
    for (preset, family, count, own) in [
        (
            "tiny",
            "gencast",
            "--calls",
            ["denoiser_call_s", "transformer_s", "actual_gflops"],
        ),
        (
            "graphcast-tiny",
            "graphcast",
            "--steps",
            ["step_s", "processor_s", "mesh_edges"],
        ),
    ] {
        let base = ["--preset", preset, count, "2"];
        let threads = bench_json(&[&base[..], &["--threads", "1,2"]].concat());
        let isas = bench_json(&[&base[..], &["--threads", "1", "--isa", "all"]].concat());
        assert_eq!(threads["thread_outputs_identical"], true, "{preset}");
        assert_eq!(thread_runs(&threads).len(), 2, "{preset}");
        let got: Vec<&str> = isas["isa_comparison"]
            .as_array()
            .unwrap_or_else(|| panic!("{preset}: no isa_comparison: {isas}"))
            .iter()
            .map(|c| c["isa"].as_str().unwrap())
            .collect();
        assert_eq!(got, paths, "{preset}");
        assert_eq!(isas["isa_outputs_identical"], true, "{preset}");
        for v in [&threads, &isas] {
            assert_eq!(v["family"], family, "{preset}");
            for key in own
                .iter()
                .chain(&["graph_build_s", "startup_s", "peak_rss_mb"])
            {
                let x = v[key]
                    .as_f64()
                    .unwrap_or_else(|| panic!("{preset}: `{key}` missing or not a number: {v}"));
                assert!(x > 0.0 && x.is_finite(), "{preset}: {key} = {x}");
            }
            // Every path's stages were timed and lie within its median unit (two units: the
            // medians are means).
            for c in v["isa_comparison"].as_array().unwrap() {
                let stages: f64 = c["stages_s"]
                    .as_array()
                    .unwrap_or_else(|| panic!("{preset}: no stages in {c}"))
                    .iter()
                    .map(|s| s.as_f64().unwrap())
                    .sum();
                assert!(
                    stages > 0.0 && stages <= c["seconds"].as_f64().unwrap(),
                    "{c}"
                );
            }
        }
        // The same printer gives both families' comparisons.
        let mut args = vec!["bench"];
        args.extend_from_slice(&base);
        args.extend_from_slice(&["--threads", "1,2"]);
        let out = gencast(&args);
        assert_ok(&out);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.starts_with(&format!("preset {preset}:")), "{text}");
        assert!(
            text.contains("bitwise identical on every thread count"),
            "{text}"
        );
    }
}

#[test]
fn an_unknown_preset_lists_both_families() {
    let out = gencast(&["bench", "--preset", "graphcast-2p0"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("graphcast-2p0"), "{err}");
    for name in [
        "tiny",
        "mini",
        "1p0",
        "0p25",
        "graphcast-tiny",
        "graphcast-1p0",
        "graphcast-0p25",
    ] {
        // Each as a word of the list (`1p0` not only within `graphcast-1p0`).
        let listed = err
            .split(|c: char| c == ',' || c.is_whitespace())
            .any(|w| w == name);
        assert!(listed, "{name} missing from: {err}");
    }
}
