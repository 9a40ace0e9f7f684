//! Kernel micro-benchmarks: each numeric kernel timed alone at the sizes of one "GenCast 1p0deg
//! Mini" call (or at small sizes, for tests), with its GFLOP/s or GB/s.

use std::time::Instant;

use serde::Serialize;

use super::{random, sys};
use crate::graph::Graphs;
use crate::kernels::isa::{self, Isa};
use crate::kernels::{
    bias_act, gather_add_rows, layer_norm_cond_into, matmul, matmul_packed, Act, AttentionBuffers,
    AttentionPlan, PackedMat, SegmentPlan,
};
use crate::{Error, Result};

/// Edges per chunk of the segment sums (the network's default chunk size).
const CHUNK_EDGES: usize = 8192;

/// The sizes the kernels run at.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct KernelSizes {
    /// Grid spacing in degrees (grid nodes: rows of the grid-side kernels).
    pub resolution_deg: f64,
    /// Icosahedron refinements (mesh nodes: rows of the transformer products).
    pub mesh_size: usize,
    /// Attention radius in mesh hops.
    pub k_hop: usize,
    /// Latent width.
    pub latent: usize,
    /// Attention heads.
    pub heads: usize,
    /// Feed-forward width.
    pub ffw: usize,
    /// Rows of the chunked GNN products.
    pub chunk_rows: usize,
}

impl KernelSizes {
    /// The sizes of "GenCast 1p0deg Mini": 1° grid, mesh 4, k-hop 16, latent 512, 4 heads.
    pub fn mini() -> KernelSizes {
        KernelSizes {
            resolution_deg: 1.0,
            mesh_size: 4,
            k_hop: 16,
            latent: 512,
            heads: 4,
            ffw: 2048,
            chunk_rows: 4096,
        }
    }

    /// Small sizes that run in well under a second (10° grid, mesh 2, latent 32), for tests.
    pub fn small() -> KernelSizes {
        KernelSizes {
            resolution_deg: 10.0,
            mesh_size: 2,
            k_hop: 4,
            latent: 32,
            heads: 4,
            ffw: 64,
            chunk_rows: 256,
        }
    }
}

/// What to run.
#[derive(Debug, Clone)]
pub struct KernelBenchOptions {
    /// Kernel sizes.
    pub sizes: KernelSizes,
    /// Timed repetitions per kernel (after one warm-up); the fastest is reported.
    pub reps: usize,
    /// Worker threads (default: all cores).
    pub threads: Option<usize>,
    /// Kernel paths to time, repetitions alternating between them (empty: the path in use).
    pub isas: Vec<Isa>,
}

/// One kernel's timing.
#[derive(Debug, Clone, Serialize)]
pub struct KernelTiming {
    /// Kernel name.
    pub name: String,
    /// The kernel path it ran on (`gemm` for the general product, which picks its own).
    pub isa: String,
    /// The sizes it ran at, in words.
    pub shape: String,
    /// Fastest timed run, seconds.
    pub seconds: f64,
    /// Throughput in `unit`.
    pub rate: f64,
    /// `GFLOP/s` (useful floating-point operations) or `GB/s` (nominal bytes read + written).
    pub unit: String,
}

/// All kernel timings of one run.
#[derive(Debug, Clone, Serialize)]
pub struct KernelReport {
    /// The sizes used.
    pub sizes: KernelSizes,
    /// The kernel paths timed, in order.
    pub isas: Vec<String>,
    /// Worker threads.
    pub threads: usize,
    /// Repetitions per kernel.
    pub reps: usize,
    /// `[m, k, n]` of the reference GEMM.
    pub gemm_shape: [usize; 3],
    /// GEMM rate of [`sys::gemm_rate`] in the same run, for comparison.
    pub gemm_gflops: f64,
    /// One entry per kernel.
    pub kernels: Vec<KernelTiming>,
}

/// Deterministic values in [-0.5, 0.5).
fn fill(n: usize, seed: u64) -> Vec<f32> {
    random::lcg_unit(seed, n)
        .into_iter()
        .map(|u| u - 0.5)
        .collect()
}

/// Fastest of `reps` timed runs of `f` on each path (`None`: the general product, which picks
/// its own), after one warm-up run each; the repetitions alternate between the paths.
fn best_of(reps: usize, paths: &[Option<Isa>], mut f: impl FnMut()) -> Vec<f64> {
    let set = |p: &Option<Isa>| {
        if let Some(i) = p {
            isa::switch(*i)
        }
    };
    for p in paths {
        set(p);
        f();
    }
    let mut best = vec![f64::INFINITY; paths.len()];
    for _ in 0..reps.max(1) {
        for (b, p) in best.iter_mut().zip(paths) {
            set(p);
            let t = Instant::now();
            f();
            *b = b.min(t.elapsed().as_secs_f64());
        }
    }
    best
}

/// Collects the timings.
struct Recorder<'a> {
    reps: usize,
    paths: Vec<Isa>,
    kernels: Vec<KernelTiming>,
    progress: &'a mut (dyn FnMut(&str) + Send),
}

impl Recorder<'_> {
    /// Times `f` on every path; `work` is the FLOP (unit `GFLOP/s`) or bytes (unit `GB/s`) of one
    /// run.
    fn time(&mut self, name: &str, shape: String, work: f64, unit: &str, f: impl FnMut()) {
        let paths: Vec<Option<Isa>> = self.paths.iter().copied().map(Some).collect();
        self.record(name, shape, work, unit, &paths, f);
    }

    /// Times `f` once, for a kernel that picks its own instructions.
    fn time_own(&mut self, name: &str, shape: String, work: f64, unit: &str, f: impl FnMut()) {
        self.record(name, shape, work, unit, &[None], f);
    }

    fn record(
        &mut self,
        name: &str,
        shape: String,
        work: f64,
        unit: &str,
        paths: &[Option<Isa>],
        f: impl FnMut(),
    ) {
        for (seconds, p) in best_of(self.reps, paths, f).into_iter().zip(paths) {
            let rate = work / seconds / 1e9;
            let isa = p.map_or("gemm", |i| i.name());
            (self.progress)(&format!(
                "{name} ({isa}) {shape}: {:.3} ms, {rate:.1} {unit}",
                seconds * 1e3
            ));
            self.kernels.push(KernelTiming {
                name: name.into(),
                isa: isa.into(),
                shape: shape.clone(),
                seconds,
                rate,
                unit: unit.into(),
            });
        }
        if let Some(&first) = self.paths.first() {
            isa::switch(first);
        }
    }
}

/// Runs every kernel benchmark in a pool of `opts.threads` workers; `progress` receives one line
/// per kernel.
pub fn run(
    opts: &KernelBenchOptions,
    progress: &mut (dyn FnMut(&str) + Send),
) -> Result<KernelReport> {
    let s = opts.sizes;
    if s.latent == 0 || s.latent.checked_rem(s.heads) != Some(0) || s.chunk_rows == 0 {
        return Err(Error::Invalid(format!(
            "kernel bench: latent {} must be a positive multiple of heads {}",
            s.latent, s.heads
        )));
    }
    sys::in_pool(opts.threads, || run_in_pool(opts, progress))
}

fn run_in_pool(
    opts: &KernelBenchOptions,
    progress: &mut (dyn FnMut(&str) + Send),
) -> Result<KernelReport> {
    let s = opts.sizes;
    let d = s.latent;
    let (lat, lon) = random::grid_coordinates(s.resolution_deg);
    let g = Graphs::build(s.mesh_size, &lat, &lon, 0.6, s.k_hop)?;
    let (ng, nm) = (g.n_grid, g.n_mesh);
    let paths = if opts.isas.is_empty() {
        vec![isa::active()]
    } else {
        opts.isas.clone()
    };
    let mut rec = Recorder {
        reps: opts.reps,
        paths: paths.clone(),
        kernels: Vec::new(),
        progress,
    };

    // Matrix products at the network's product shapes.
    let shapes = [
        (s.chunk_rows, d, d),
        (s.chunk_rows, 2 * d, d),
        (nm, d, 3 * d),
        (nm, d, s.ffw),
        (nm, s.ffw, d),
    ];
    for (m, k, n) in shapes {
        let a = fill(m * k, 1);
        let b = fill(k * n, 2);
        let mut c = vec![0.0f32; m * n];
        let flop = 2.0 * (m * k * n) as f64;
        rec.time_own("matmul", format!("{m}x{k}x{n}"), flop, "GFLOP/s", || {
            matmul(&a, &b, &mut c, m, k, n, false)
        });
        // The weights' form used by the network: packed once (at load), outside the timing.
        let packed = PackedMat::pack(&b, k, n);
        rec.time(
            "matmul_packed",
            format!("{m}x{k}x{n}"),
            flop,
            "GFLOP/s",
            || matmul_packed(&a, packed.view(), &mut c, m, false, None),
        );
    }

    // Sparse attention on the real mesh neighbourhoods.
    let att = &g.attention;
    let plan = AttentionPlan::new(&att.offsets, &att.indices, &g.mesh.vertices)?;
    let nnz = att.indices.len();
    let qkv = fill(nm * 3 * d, 3);
    let mut out = vec![0.0f32; nm * d];
    // Kept across the repetitions, as the network keeps them across calls.
    let mut bufs = AttentionBuffers::default();
    rec.time(
        "attention",
        format!(
            "{nm} nodes, {nnz} pairs ({} computed), {} heads x {}",
            plan.dense_pairs(),
            s.heads,
            d / s.heads
        ),
        4.0 * (nnz * d) as f64,
        "GFLOP/s",
        || {
            plan.attend_in(
                &mut bufs,
                &qkv,
                &qkv[d..],
                &qkv[2 * d..],
                3 * d,
                s.heads,
                d / s.heads,
                &mut out,
            )
        },
    );

    // Row-wise element kernels on the grid-sized latent.
    let x = fill(ng * d, 4);
    let scale: Vec<f32> = fill(d, 5).iter().map(|v| 1.0 + v).collect();
    let offset = fill(d, 6);
    let mut y = vec![0.0f32; ng * d];
    let bytes = 8.0 * (ng * d) as f64;
    rec.time(
        "layer_norm_cond",
        format!("{ng}x{d}"),
        bytes,
        "GB/s",
        || layer_norm_cond_into(&x, &mut y, d, &scale, &offset),
    );
    for (name, act) in [("bias_swish", Act::Swish), ("bias_gelu", Act::Gelu)] {
        // In place and repeated: each run moves a value by at most about the bias (±0.5), so over
        // the few runs the inputs stay of order one, where both activations are non-trivial.
        y.copy_from_slice(&x);
        rec.time(name, format!("{ng}x{d}"), bytes, "GB/s", || {
            bias_act(&mut y, d, Some(&offset), act)
        });
    }

    // Gathers onto edges and segment sums onto receivers, per edge set.
    for (name, edges, n_send, n_recv) in [
        ("grid2mesh", &g.grid2mesh, ng, nm),
        ("mesh2grid", &g.mesh2grid, nm, ng),
    ] {
        let ne = edges.len();
        let seg = SegmentPlan::new(&edges.receivers, n_recv, CHUNK_EDGES)?;
        let msg = fill(ne * d, 7);
        let mut agg = vec![0.0f32; n_recv * d];
        rec.time(
            "segment_sum",
            format!("{name}: {ne} edges -> {n_recv} x {d}"),
            4.0 * ((ne + 2 * n_recv) * d) as f64,
            "GB/s",
            || {
                agg.fill(0.0);
                for c in 0..seg.n_chunks() {
                    let r = seg.chunk_range(c);
                    seg.accumulate(c, &msg[r.start * d..r.end * d], d, &mut agg);
                }
            },
        );
        let table = fill(n_send * d, 8);
        let mut dst = vec![0.0f32; ne * d];
        rec.time(
            "gather_add",
            format!("{name}: {n_send} x {d} -> {ne} edges"),
            12.0 * (ne * d) as f64,
            "GB/s",
            || gather_add_rows(&mut dst, &table, &edges.senders, d),
        );
    }

    let gemm_gflops = sys::gemm_rate(opts.reps);
    let (m, k, n) = sys::GEMM_SHAPE;
    Ok(KernelReport {
        sizes: s,
        isas: paths.iter().map(|i| i.name().to_string()).collect(),
        threads: rayon::current_num_threads(),
        reps: opts.reps,
        gemm_shape: [m, k, n],
        gemm_gflops,
        kernels: rec.kernels,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_kernel_bench_reports_every_kernel() {
        let opts = KernelBenchOptions {
            sizes: KernelSizes::small(),
            reps: 1,
            threads: Some(1),
            isas: Isa::supported(),
        };
        let r = run(&opts, &mut |_| {}).unwrap();
        // Every kernel but the general product runs once per path.
        for path in Isa::supported() {
            let n = r.kernels.iter().filter(|k| k.isa == path.name()).count();
            assert_eq!(
                n,
                r.kernels.iter().filter(|k| k.isa != "gemm").count() / r.isas.len()
            );
            assert!(n >= 10, "{path}: {n} kernels");
        }
        let names: Vec<&str> = r.kernels.iter().map(|k| k.name.as_str()).collect();
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
            assert!(names.contains(&want), "{want} missing from {names:?}");
        }
        for k in &r.kernels {
            assert!(
                k.seconds > 0.0 && k.rate > 0.0 && k.rate.is_finite(),
                "{k:?}"
            );
        }
        assert!(r.gemm_gflops > 0.0 && r.threads == 1);
    }
}
