//! Kernel timings at the sizes of one "GenCast 1p0deg Mini" transformer layer. Ignored by
//! default: `cargo test --release -p gencast --test kernels_speed -- --ignored --nocapture`.

use gencast::kernels::{matmul, sparse_attention, AttentionPlan};
use std::time::Instant;

fn fill(n: usize, seed: u64) -> Vec<f32> {
    gencast::bench::random::lcg_unit(seed, n)
        .into_iter()
        .map(|u| u - 0.5)
        .collect()
}

#[test]
#[ignore = "timing run at Mini size, no assertion on time; run with: cargo test --release -p gencast --test kernels_speed -- --ignored --nocapture"]
fn matmul_and_attention_timing() {
    let only_blocked = std::env::var("ONLY_BLOCKED").is_ok();
    let (m, k, n) = if only_blocked {
        (1, 1, 1)
    } else {
        (2562, 512, 2048)
    };
    let a = fill(m * k, 1);
    let b = fill(k * n, 2);
    let mut c = vec![0.0f32; m * n];
    for _ in 0..3 {
        let t = Instant::now();
        matmul(&a, &b, &mut c, m, k, n, false);
        let s = t.elapsed().as_secs_f64();
        println!(
            "matmul {m}x{k}x{n}: {:.1} ms, {:.1} GFLOP/s",
            s * 1e3,
            2.0 * (m * k * n) as f64 / s / 1e9
        );
    }
    // Banded neighbourhoods of ~745 nodes, like k-hop 16 on mesh 4 after RCM ordering.
    let (nn, d, heads) = (2562usize, 512usize, 4usize);
    let mut off = vec![0u32];
    let mut idx = Vec::new();
    for i in 0..nn {
        let lo = i.saturating_sub(372);
        let hi = (lo + 745).min(nn);
        idx.extend((lo..hi).map(|j| j as u32));
        off.push(idx.len() as u32);
    }
    let qkv = fill(nn * 3 * d, 3);
    let mut out = vec![0.0f32; nn * d];
    let rank: Vec<u32> = (0..nn as u32).collect();
    for _ in 0..if only_blocked { 0 } else { 3 } {
        let t = Instant::now();
        sparse_attention(
            &qkv,
            &qkv[d..],
            &qkv[2 * d..],
            3 * d,
            heads,
            d / heads,
            &off,
            &idx,
            &rank,
            &mut out,
        );
        let s = t.elapsed().as_secs_f64();
        println!(
            "attention {nn} nodes x {} nbrs: {:.1} ms, {:.1} GFLOP/s",
            idx.len() / nn,
            s * 1e3,
            4.0 * (idx.len() * d) as f64 / s / 1e9
        );
    }
    // The blocked kernel on the real k-hop 16 neighbourhoods of mesh 4.
    let lat: Vec<f32> = (0..19).map(|i| -90.0 + 10.0 * i as f32).collect();
    let lon: Vec<f32> = (0..36).map(|i| 10.0 * i as f32).collect();
    let g = gencast::graph::Graphs::build(4, &lat, &lon, 0.6, 16).unwrap();
    let plan =
        AttentionPlan::new(&g.attention.offsets, &g.attention.indices, &g.mesh.vertices).unwrap();
    let nnz = g.attention.indices.len();
    println!(
        "dense pairs / nnz = {:.2}",
        plan.dense_pairs() as f64 / nnz as f64
    );
    for _ in 0..3 {
        let t = Instant::now();
        plan.attend(
            &qkv,
            &qkv[d..],
            &qkv[2 * d..],
            3 * d,
            heads,
            d / heads,
            &mut out,
        );
        let s = t.elapsed().as_secs_f64();
        println!(
            "tiled attention, mesh 4 k16 ({nnz} pairs): {:.1} ms, {:.1} useful GFLOP/s",
            s * 1e3,
            4.0 * (nnz * d) as f64 / s / 1e9
        );
    }
}
