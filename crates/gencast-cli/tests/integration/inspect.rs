//! `gencast inspect` and `gencast fields` on the fixture checkpoints.

use crate::support;

use support::{json, run};

const MHA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../gencast/tests/fixtures/tiny-mha/checkpoint.npz"
);
const TRI: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../gencast/tests/fixtures/tiny-triblockdiag/checkpoint.npz"
);

#[test]
fn inspect_json_reports_configs_as_stored() {
    for (path, attention, mask) in [(MHA, "mha", "lazy"), (TRI, "triblockdiag_mha", "full")] {
        let v = json(&["inspect", "--json", path]);
        assert_eq!(v["num_params"], 117_540);
        assert_eq!(v["num_tensors"], 122);
        assert_eq!(v["param_bytes"], 117_540 * 4);
        assert!(v["description"]
            .as_str()
            .unwrap()
            .contains("NOT a trained model"));
        assert!(!v["license"].as_str().unwrap().is_empty());
        let d = &v["denoiser_architecture_config"];
        assert_eq!(d["mesh_size"], 2);
        assert_eq!(d["latent_size"], 32);
        assert_eq!(d["hidden_layers"], 1);
        assert_eq!(d["radius_query_fraction_edge_length"], 0.6);
        assert_eq!(d["node_output_size"], 84);
        assert_eq!(d["norm_conditioning_features"][0], "noise_level_encodings");
        assert!(d["grid2mesh_aggregate_normalization"].is_null());
        let s = &d["sparse_transformer_config"];
        assert_eq!(s["attention_type"], attention);
        assert_eq!(s["mask_type"], mask);
        assert_eq!(s["num_layers"], 4);
        assert_eq!(s["num_heads"], 2);
        assert_eq!(s["attention_k_hop"], 2);
        assert_eq!(s["ffw_hidden"], 128);
        assert_eq!(s["d_model"], 32);
        let sc = &v["sampler_config"];
        assert_eq!(sc["num_noise_levels"], 6);
        assert_eq!(sc["stochastic_churn_rate"], 2.5);
        // JSON has no infinity literal: documented as the string "inf".
        assert_eq!(sc["churn_max_noise_level"], "inf");
        assert_eq!(v["noise_config"]["training_max_noise_level"], 88.0);
        assert_eq!(
            v["noise_encoder_config"]["output_sizes"],
            serde_json::json!([32, 16])
        );
        assert_eq!(v["noise_encoder_config"]["apply_log_first"], true);
        assert_eq!(v["task_config"]["input_duration"], "24h");
        assert_eq!(
            v["task_config"]["pressure_levels"]
                .as_array()
                .unwrap()
                .len(),
            13
        );
        assert_eq!(v["derived"]["input_channels"], 264);
        assert_eq!(v["derived"]["input_channels_from_params"], 264);
        assert_eq!(v["validation"]["ok"], true);
        let params = v["params"].as_array().unwrap();
        assert_eq!(params.len(), 122);
        let total: u64 = params.iter().map(|p| p["bytes"].as_u64().unwrap()).sum();
        assert_eq!(total, 117_540 * 4);
        let embed = params
            .iter()
            .find(|p| {
                p["path"]
                    == "grid2mesh_gnn/~_networks_builder/encoder_nodes_grid_nodes_mlp/~/linear_0:w"
            })
            .unwrap();
        assert_eq!(embed["shape"], serde_json::json!([267, 32]));
        assert_eq!(embed["dtype"], "<f4");
    }
}

#[test]
fn inspect_text_lists_configs_and_table() {
    let (ok, out, err) = run(&["inspect", MHA]);
    assert!(ok, "{err}");
    for needle in [
        "description: Synthetic GenCast fixture checkpoint (tiny-mha)",
        "attention_type: mha",
        "churn_max_noise_level: inf",
        "num_noise_levels: 6",
        "parameter check: OK",
        "mesh_transformer/~/transformer/block_03/ffw_down:w",
        "total: 122 tensors, 117540 parameters, 470160 bytes",
    ] {
        assert!(out.contains(needle), "missing `{needle}` in:\n{out}");
    }
}

#[test]
fn inspect_reports_a_missing_file() {
    let (ok, _, err) = run(&["inspect", "/nonexistent/ckpt.npz"]);
    assert!(!ok);
    assert!(err.contains("/nonexistent/ckpt.npz"), "{err}");
}

#[test]
fn fields_default_task() {
    let v = json(&["fields", "--json"]);
    assert_eq!(v["input_frames"], 2);
    assert_eq!(v["input_frame_offsets_hours"], serde_json::json!([-12, 0]));
    assert_eq!(v["pressure_levels"].as_array().unwrap().len(), 13);
    assert_eq!(
        v["static"],
        serde_json::json!(["geopotential_at_surface", "land_sea_mask"])
    );
    assert_eq!(v["forcings"].as_array().unwrap().len(), 4);
    assert_eq!(v["targets"].as_array().unwrap().len(), 12);
    assert_eq!(v["input_channels"], 264);
    assert_eq!(v["output_channels"], 84);
    let vars = v["variables"].as_array().unwrap();
    let t = vars.iter().find(|x| x["name"] == "temperature").unwrap();
    assert_eq!(t["levels"].as_array().unwrap().len(), 13);
    assert_eq!(t["input_frames"], 2);
    let p = vars
        .iter()
        .find(|x| x["name"] == "total_precipitation_12hr")
        .unwrap();
    assert_eq!(p["roles"], serde_json::json!(["target"]));
    assert_eq!(p["input_frames"], 0);
    let lsm = vars.iter().find(|x| x["name"] == "land_sea_mask").unwrap();
    assert_eq!(lsm["roles"], serde_json::json!(["static"]));
    assert_eq!(lsm["dims"], "(lat, lon)");
    let ds = vars
        .iter()
        .find(|x| x["name"] == "day_progress_sin")
        .unwrap();
    assert_eq!(ds["computed_from_datetime"], true);
}

#[test]
fn fields_from_checkpoint_matches_default_and_text_mentions_frames() {
    let a = json(&["fields", "--json"]);
    let b = json(&["fields", "--json", "--checkpoint", MHA]);
    assert_eq!(a["variables"], b["variables"]);
    let (ok, out, err) = run(&["fields", "--checkpoint", TRI]);
    assert!(ok, "{err}");
    assert!(out.contains("2 input frames (t-12h, t)"), "{out}");
    assert!(out.contains("geopotential_at_surface"), "{out}");
    assert!(out.contains("264 stacked input channels"), "{out}");
}
