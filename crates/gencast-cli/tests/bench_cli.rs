//! `gencast bench` on the hidden tiny preset: runs in a second and reports every figure.

mod support;

use support::{assert_ok, gencast};

#[test]
fn tiny_bench_prints_positive_finite_json() {
    let out = gencast(&[
        "bench",
        "--preset",
        "tiny",
        "--calls",
        "2",
        "--steps",
        "1",
        "--threads",
        "1",
        "--json",
    ]);
    assert_ok(&out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
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
    let out = gencast(&["bench", "--preset", "tiny", "--calls", "1", "--json"]);
    assert_ok(&out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
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
