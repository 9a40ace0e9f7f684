//! Timing of one GraphCast step with random weights at a published configuration: graph build,
//! weight load, the three network stages (grid2mesh encoder, processor, mesh2grid decoder and
//! output MLP) and peak memory.

use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

use super::random::{grid_coordinates, lcg_unit};
use super::{median, sys, thread_comparison, thread_pools, ThreadRun};
use crate::checkpoint::{GraphCastCheckpoint, ModelConfig, Params, TaskConfig};
use crate::models::graphcast::bf16::round_bf16;
use crate::models::graphcast::checkpoint::expected_graphcast_params;
use crate::models::graphcast::rollout::{GraphCastModel, Precision};
use crate::models::graphcast::GraphCastGraphs;
use crate::{Error, Result};

/// A GraphCast benchmark configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraphCastPreset {
    /// 10° grid, mesh 2, latent 32, 4 message-passing steps, 13 levels: for tests.
    Tiny,
    /// GraphCast_small: 1° grid, mesh 5, latent 512, 16 steps, 13 levels (`TASK_13`).
    OneDeg,
    /// GraphCast: 0.25° grid, mesh 6, latent 512, 16 steps, 37 levels (`TASK`).
    QuarterDeg,
}

/// The sizes of a preset.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct GraphCastShape {
    /// Grid spacing in degrees.
    pub resolution_deg: f64,
    /// Icosahedron refinements of the multi-mesh.
    pub mesh_size: usize,
    /// Latent width.
    pub latent: usize,
    /// Processor message-passing steps.
    pub gnn_msg_steps: usize,
    /// Pressure levels.
    pub levels: usize,
}

/// The ERA5 37 pressure levels of `graphcast.PRESSURE_LEVELS_ERA5_37`.
const LEVELS_37: [i64; 37] = [
    1, 2, 3, 5, 7, 10, 20, 30, 50, 70, 100, 125, 150, 175, 200, 225, 250, 300, 350, 400, 450, 500,
    550, 600, 650, 700, 750, 775, 800, 825, 850, 875, 900, 925, 950, 975, 1000,
];

impl GraphCastPreset {
    /// Parses `graphcast-tiny`, `graphcast-1p0` or `graphcast-0p25`.
    pub fn parse(text: &str) -> Result<GraphCastPreset> {
        match text {
            "graphcast-tiny" => Ok(GraphCastPreset::Tiny),
            "graphcast-1p0" => Ok(GraphCastPreset::OneDeg),
            "graphcast-0p25" => Ok(GraphCastPreset::QuarterDeg),
            _ => Err(Error::Invalid(format!(
                "unknown GraphCast preset `{text}` (expected graphcast-1p0 or graphcast-0p25)"
            ))),
        }
    }

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            GraphCastPreset::Tiny => "graphcast-tiny",
            GraphCastPreset::OneDeg => "graphcast-1p0",
            GraphCastPreset::QuarterDeg => "graphcast-0p25",
        }
    }

    /// The preset's sizes.
    pub fn shape(self) -> GraphCastShape {
        let (resolution_deg, mesh_size, latent, gnn_msg_steps, levels) = match self {
            GraphCastPreset::Tiny => (10.0, 2, 32, 4, 13),
            GraphCastPreset::OneDeg => (1.0, 5, 512, 16, 13),
            GraphCastPreset::QuarterDeg => (0.25, 6, 512, 16, 37),
        };
        GraphCastShape {
            resolution_deg,
            mesh_size,
            latent,
            gnn_msg_steps,
            levels,
        }
    }

    /// The task: `graphcast.TASK_13` (13 levels) or `graphcast.TASK` (37 levels), both with
    /// precipitation as input and output.
    pub fn task(self) -> TaskConfig {
        TaskConfig::graphcast(if self.shape().levels == 37 {
            LEVELS_37.to_vec()
        } else {
            crate::checkpoint::config::PRESSURE_LEVELS_WEATHERBENCH_13.to_vec()
        })
    }
}

/// A random-weight checkpoint of a preset: weights uniform with variance 1/fan-in, small biases
/// and offsets, LayerNorm scales one.
pub fn random_graphcast_checkpoint(
    preset: GraphCastPreset,
    seed: u64,
) -> Result<GraphCastCheckpoint> {
    let sh = preset.shape();
    let model_config = ModelConfig {
        resolution: sh.resolution_deg,
        mesh_size: sh.mesh_size,
        latent_size: sh.latent,
        gnn_msg_steps: sh.gnn_msg_steps,
        hidden_layers: 1,
        radius_query_fraction_edge_length: 0.6,
        mesh2grid_edge_normalization_factor: None,
    };
    let mut ckpt = GraphCastCheckpoint {
        path: format!("<random {}>", preset.name()).into(),
        description: format!("random weights of {}", preset.name()),
        license: String::new(),
        model_config,
        task_config: preset.task(),
        params: Params::new(),
    };
    let (cin, cout) = (ckpt.cin()?, ckpt.cout());
    let fill = |s: u64, n: usize, scale: f32| -> Vec<f32> {
        lcg_unit(s, n)
            .into_iter()
            .map(|u| (u * 2.0 - 1.0) * scale)
            .collect()
    };
    for (i, (m, n, shape)) in expected_graphcast_params(&ckpt.model_config, cin, cout)
        .into_iter()
        .enumerate()
    {
        let len: usize = shape.iter().product();
        let s = seed.wrapping_mul(1_000_003).wrapping_add(i as u64 + 1);
        let values = match n.as_str() {
            "w" => fill(s, len, (3.0 / shape[0] as f32).sqrt()),
            "scale" => vec![1.0; len],
            _ => fill(s, len, 0.05),
        };
        ckpt.params.insert(&m, &n, shape, values)?;
    }
    Ok(ckpt)
}

/// One forward pass; the float32 network also gives its encoder, processor and decoder seconds,
/// the cast network's output is rounded to bfloat16 as a forecast step rounds it.
fn forward(net: &GraphCastModel, x: &[f32]) -> Result<(Vec<f32>, Option<[f64; 3]>)> {
    match net {
        GraphCastModel::F32(n) => n.forward_timed(x).map(|(y, t)| (y, Some(t))),
        GraphCastModel::Bf16Cast(n) => {
            Ok((n.forward(x)?.into_iter().map(round_bf16).collect(), None))
        }
    }
}

/// What `run` measures.
#[derive(Debug, Clone, Serialize)]
pub struct GraphCastBenchReport {
    /// Preset name.
    pub preset: String,
    /// Its sizes.
    pub shape: GraphCastShape,
    /// Worker threads.
    pub threads: usize,
    /// Every timed thread count, alternating step by step (one entry when one count ran).
    pub thread_comparison: Vec<ThreadRun>,
    /// Whether every thread count returned the same bits for each timed step.
    pub thread_outputs_identical: bool,
    /// Kernel path.
    pub isa: String,
    /// `f32`, or `bf16-cast` (the notebook's `Bfloat16Cast`, emulated).
    pub precision: String,
    /// Parameters.
    pub num_params: usize,
    /// Grid nodes.
    pub n_grid: usize,
    /// Mesh nodes.
    pub n_mesh: usize,
    /// grid2mesh edges.
    pub grid2mesh_edges: usize,
    /// Multi-mesh edges.
    pub mesh_edges: usize,
    /// mesh2grid edges.
    pub mesh2grid_edges: usize,
    /// Stacked input channels.
    pub input_channels: usize,
    /// Output channels.
    pub output_channels: usize,
    /// Seconds to build the graphs.
    pub graph_build_s: f64,
    /// Seconds to load the weights and precompute the static embeddings.
    pub network_load_s: f64,
    /// Timed steps (after one warm-up step).
    pub steps: usize,
    /// Median seconds of one 6 h step (network forward).
    pub step_s: f64,
    /// Fastest step.
    pub step_min_s: f64,
    /// Slowest step.
    pub step_max_s: f64,
    /// Median seconds of the grid2mesh encoder (float32 only: the cast network is timed whole).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encoder_s: Option<f64>,
    /// Median seconds of the processor (float32 only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub processor_s: Option<f64>,
    /// Median seconds of the mesh2grid decoder and output MLP (float32 only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decoder_s: Option<f64>,
    /// Peak resident memory of the process (MiB).
    pub peak_rss_mb: f64,
    /// Resident memory after loading (MiB).
    pub rss_after_load_mb: f64,
}

/// Builds a random-weight GraphCast of `preset` and times one warm-up and `steps` timed steps
/// on synthetic inputs in `precision`; `steps` 0 reports the warm-up step alone. Each timed
/// step is also run on `compare_threads` workers, alternating, and compared with the calling
/// pool's.
pub fn run(
    preset: GraphCastPreset,
    steps: usize,
    seed: u64,
    precision: Precision,
    compare_threads: &[usize],
    progress: &mut (dyn FnMut(&str) + Send),
) -> Result<GraphCastBenchReport> {
    if steps == 0 && !compare_threads.is_empty() {
        return Err(Error::Invalid(
            "comparing thread counts needs at least one timed step".into(),
        ));
    }
    let pools = thread_pools(compare_threads)?;
    let mut per_count: Vec<(usize, Vec<f64>)> =
        compare_threads.iter().map(|&n| (n, Vec::new())).collect();
    let mut threads_identical = true;
    let sh = preset.shape();
    let ckpt = random_graphcast_checkpoint(preset, seed)?;
    let (lat, lon) = grid_coordinates(sh.resolution_deg);
    let t = Instant::now();
    let graphs = Arc::new(GraphCastGraphs::build(&ckpt.model_config, &lat, &lon)?);
    let graph_build_s = t.elapsed().as_secs_f64();
    progress(&format!(
        "{}: graphs built in {graph_build_s:.2} s ({} grid nodes, {} mesh nodes)",
        preset.name(),
        graphs.n_grid,
        graphs.n_mesh
    ));
    let t = Instant::now();
    let net = GraphCastModel::load(&ckpt, graphs.clone(), precision)?;
    let network_load_s = t.elapsed().as_secs_f64();
    let num_params = ckpt.params.num_params();
    let (cin, cout) = (ckpt.cin()?, ckpt.cout());
    let rss_after_load_mb = sys::rss_mb().unwrap_or(0.0);
    drop(ckpt);
    progress(&format!(
        "weights loaded in {network_load_s:.2} s ({num_params} parameters)"
    ));
    let x: Vec<f32> = lcg_unit(seed ^ 0x5eed, graphs.n_grid * cin)
        .into_iter()
        .map(|u| u * 2.0 - 1.0)
        .collect();
    let mut times: Vec<(f64, Option<[f64; 3]>)> = Vec::new();
    for k in 0..steps + 1 {
        let t = Instant::now();
        let (y, stages) = forward(&net, &x)?;
        let s = t.elapsed().as_secs_f64();
        let split = stages.map_or(String::new(), |[e, p, d]| {
            format!(" (encoder {e:.2}, processor {p:.2}, decoder {d:.2})")
        });
        progress(&format!(
            "{} step: {s:.2} s{split}",
            if k == 0 { "warm-up" } else { "timed" }
        ));
        if k > 0 || steps == 0 {
            times.push((s, stages));
        }
        if k == 0 {
            continue;
        }
        for (pool, (n, times)) in pools.iter().zip(per_count.iter_mut()) {
            let t = Instant::now();
            let (other, _) = pool.install(|| forward(&net, &x))?;
            let s = t.elapsed().as_secs_f64();
            threads_identical &= other.len() == y.len()
                && other
                    .iter()
                    .zip(&y)
                    .all(|(a, b)| a.to_bits() == b.to_bits());
            times.push(s);
            progress(&format!("timed step ({n} threads): {s:.2} s"));
        }
    }
    let totals: Vec<f64> = times.iter().map(|t| t.0).collect();
    let stage = |i: usize| {
        let v: Option<Vec<f64>> = times.iter().map(|t| t.1.map(|s| s[i])).collect();
        v.map(|v| median(&v))
    };
    Ok(GraphCastBenchReport {
        preset: preset.name().into(),
        shape: sh,
        threads: rayon::current_num_threads(),
        thread_comparison: thread_comparison(
            rayon::current_num_threads(),
            median(&totals),
            &per_count,
        ),
        thread_outputs_identical: threads_identical,
        isa: crate::kernels::isa::active().name().into(),
        precision: precision.name().into(),
        num_params,
        n_grid: graphs.n_grid,
        n_mesh: graphs.n_mesh,
        grid2mesh_edges: graphs.grid2mesh.len(),
        mesh_edges: graphs.mesh.len(),
        mesh2grid_edges: graphs.mesh2grid.len(),
        input_channels: cin,
        output_channels: cout,
        graph_build_s,
        network_load_s,
        steps: times.len(),
        step_s: median(&totals),
        step_min_s: totals.iter().copied().fold(f64::INFINITY, f64::min),
        step_max_s: totals.iter().copied().fold(0.0, f64::max),
        encoder_s: stage(0),
        processor_s: stage(1),
        decoder_s: stage(2),
        peak_rss_mb: sys::peak_rss_mb().unwrap_or(0.0),
        rss_after_load_mb,
    })
}
