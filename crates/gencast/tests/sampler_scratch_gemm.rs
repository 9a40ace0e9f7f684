#[test]
#[ignore]
fn gemm_speed() {
    for &(m, k, n) in &[(168usize, 180usize, 361usize), (128, 180, 361), (361, 180, 168), (512, 512, 512)] {
        let a = vec![0.5f32; m * k];
        let b = vec![0.25f32; k * n];
        let mut c = vec![0f32; m * n];
        let reps = 200;
        let t = std::time::Instant::now();
        for _ in 0..reps {
            gencast::kernels::matmul::matmul(&a, &b, &mut c, m, k, n, false);
        }
        let s = t.elapsed().as_secs_f64();
        println!("{m}x{k}x{n}: {:.2} GFLOP/s", 2.0 * (m * k * n * reps) as f64 / s / 1e9);
    }
}
