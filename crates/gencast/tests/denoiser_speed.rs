//! Timing of one denoiser call at the size of "GenCast 1p0deg Mini" (latent 512, 16 layers,
//! 4 heads, FFW 2048, mesh 4, k-hop 16, 1° grid) with random weights. Ignored by default:
//! `cargo test --release -p gencast --test denoiser_speed -- --ignored --nocapture`.

use gencast::checkpoint::{expected_params_with_output, Checkpoint, Params};
use gencast::graph::Graphs;
use gencast::model::{Network, Workspace};
use std::sync::Arc;
use std::time::Instant;

fn lcg_fill(seed: u64, n: usize, scale: f32) -> Vec<f32> {
    gencast::bench::random::lcg_unit(seed, n)
        .into_iter()
        .map(|u| (u * 2.0 - 1.0) * scale)
        .collect()
}

#[test]
#[ignore = "timing run at Mini size, no assertion on time; run with: cargo test --release -p gencast --test denoiser_speed -- --ignored --nocapture"]
fn mini_sized_forward_timing() {
    let mut ckpt = Checkpoint::open(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/tiny-mha/checkpoint.npz"
    ))
    .unwrap();
    {
        let cfg = &mut ckpt.denoiser_architecture_config;
        cfg.latent_size = 512;
        cfg.mesh_size = 4;
        let st = &mut cfg.sparse_transformer_config;
        st.d_model = 512;
        st.num_layers = 16;
        st.num_heads = 4;
        st.ffw_hidden = 2048;
        st.attention_k_hop = 16;
    }
    let cin = ckpt.cin().unwrap();
    let cout = ckpt.cout();
    let mut p = Params::new();
    for (i, (m, n, shape)) in expected_params_with_output(
        &ckpt.denoiser_architecture_config,
        &ckpt.noise_encoder_config,
        cin,
        cout,
    )
    .into_iter()
    .enumerate()
    {
        let len: usize = shape.iter().product();
        // Uniform with variance 1/fan_in for weights (keeps activations O(1)); small biases.
        let scale = if n == "w" {
            (3.0 / shape[0] as f32).sqrt()
        } else {
            0.05
        };
        p.insert(&m, &n, shape, lcg_fill(i as u64 + 1, len, scale))
            .unwrap();
    }
    ckpt.params = p;
    let lat: Vec<f32> = (0..181).map(|i| -90.0 + i as f32).collect();
    let lon: Vec<f32> = (0..360).map(|i| i as f32).collect();
    let t = Instant::now();
    let graphs = Arc::new(Graphs::build(4, &lat, &lon, 0.6, 16).unwrap());
    println!("graphs: {:.2} s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let net = Network::load(&ckpt, graphs.clone()).unwrap();
    println!("load + static caches: {:.2} s", t.elapsed().as_secs_f64());
    let ng = graphs.n_grid;
    let feats = lcg_fill(99, ng * cin, 1.0);
    let mut out = vec![0.0f32; ng * cout];
    let mut ws = Workspace::default();
    for rep in 0..3 {
        let t = net.forward_stages(&feats, 1.5, &mut ws, &mut out);
        println!(
            "call {rep}: encoder {:.3} s, transformer {:.3} s, decoder {:.3} s, total {:.3} s ({} threads)",
            t[0],
            t[1],
            t[2],
            t.iter().sum::<f64>(),
            rayon::current_num_threads()
        );
    }
    assert!(out.iter().all(|v| v.is_finite()));
}
