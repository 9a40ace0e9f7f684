//! Timing of one GraphCast step at the size of "GraphCast_small" (1° grid, mesh 5, latent 512,
//! 16 message-passing steps, 13 levels) with random weights. Ignored by default:
//! `cargo test --release -p gencast --test graphcast_speed -- --ignored --nocapture`.

use std::sync::Arc;
use std::time::Instant;

use gencast::checkpoint::graphcast::expected_graphcast_params;
use gencast::checkpoint::{GraphCastCheckpoint, Params};
use gencast::model::graphcast::{GraphCast, GraphCastGraphs};

fn lcg_fill(seed: u64, n: usize, scale: f32) -> Vec<f32> {
    gencast::bench::random::lcg_unit(seed, n)
        .into_iter()
        .map(|u| (u * 2.0 - 1.0) * scale)
        .collect()
}

#[test]
#[ignore = "timing run at GraphCast_small size, no assertion on time; run with: cargo test --release -p gencast --test graphcast_speed -- --ignored --nocapture"]
fn small_sized_forward_timing() {
    let mut ckpt = GraphCastCheckpoint::open(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/graphcast-tiny/checkpoint.npz"
    ))
    .unwrap();
    let cfg = &mut ckpt.model_config;
    cfg.resolution = 1.0;
    cfg.mesh_size = 5;
    cfg.latent_size = 512;
    cfg.gnn_msg_steps = 16;
    let cin = ckpt.cin().unwrap();
    let cout = ckpt.cout();
    let mut p = Params::new();
    let expected = expected_graphcast_params(&ckpt.model_config, cin, cout);
    for (i, (m, n, shape)) in expected.into_iter().enumerate() {
        let len: usize = shape.iter().product();
        // Uniform with variance 1/fan_in for weights (keeps activations O(1)); small biases
        // and offsets; LayerNorm scales near one.
        let values = match n.as_str() {
            "w" => lcg_fill(i as u64 + 1, len, (3.0 / shape[0] as f32).sqrt()),
            "scale" => vec![1.0; len],
            _ => lcg_fill(i as u64 + 1, len, 0.05),
        };
        p.insert(&m, &n, shape, values).unwrap();
    }
    println!("{} parameters", p.num_params());
    ckpt.params = p;
    let lat: Vec<f32> = (0..181).map(|i| -90.0 + i as f32).collect();
    let lon: Vec<f32> = (0..360).map(|i| i as f32).collect();
    let t = Instant::now();
    let graphs = Arc::new(GraphCastGraphs::build(&ckpt.model_config, &lat, &lon).unwrap());
    println!("graphs: {:.2} s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let net = GraphCast::load(&ckpt, graphs.clone()).unwrap();
    println!(
        "load + static embeddings: {:.2} s",
        t.elapsed().as_secs_f64()
    );
    let x = lcg_fill(99, graphs.n_grid * cin, 1.0);
    for rep in 0..2 {
        let t = Instant::now();
        let out = net.forward(&x).unwrap();
        println!(
            "step {rep}: {:.2} s ({} threads)",
            t.elapsed().as_secs_f64(),
            rayon::current_num_threads()
        );
        assert!(out.iter().all(|v| v.is_finite()));
    }
}
