//! GraphCast under the benchmark: a random-weight network of a preset's configuration on
//! synthetic inputs, timed one 6 h step (network forward) at a time, split into the grid2mesh
//! encoder, processor and mesh2grid decoder with its output MLP where the arithmetic allows.

use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

use super::family::{BenchFamily, Setup, Unit, UnitTimes};
use super::preset::Preset;
use super::random::{grid_coordinates, lcg_unit};
use super::report::FamilyReport;
use super::{sys, BenchOptions};
use crate::checkpoint::{GraphCastCheckpoint, ModelConfig, Params, TaskConfig};
use crate::models::graphcast::checkpoint::expected_graphcast_params;
use crate::models::graphcast::rollout::{GraphCastModel, Precision};
use crate::models::graphcast::GraphCastGraphs;
use crate::{Error, Result};

/// GraphCast's timed unit: one 6 h step.
pub(crate) const UNIT: Unit = Unit {
    noun: "step",
    name: "6 h step",
    stages: ["encoder", "processor", "decoder"],
    // Every step allocates its own buffers, the first included.
    warm_up_may_stand_alone: true,
};

/// The ERA5 37 pressure levels of `graphcast.PRESSURE_LEVELS_ERA5_37`.
const LEVELS_37: [i64; 37] = [
    1, 2, 3, 5, 7, 10, 20, 30, 50, 70, 100, 125, 150, 175, 200, 225, 250, 300, 350, 400, 450, 500,
    550, 600, 650, 700, 750, 775, 800, 825, 850, 875, 900, 925, 950, 975, 1000,
];

/// The task of a GraphCast preset: `graphcast.TASK_13` (13 levels) or `graphcast.TASK` (37
/// levels), both with precipitation as input and output.
pub fn task(preset: Preset) -> Result<TaskConfig> {
    Ok(TaskConfig::graphcast(
        if preset.graphcast_shape()?.levels == 37 {
            LEVELS_37.to_vec()
        } else {
            crate::checkpoint::config::PRESSURE_LEVELS_WEATHERBENCH_13.to_vec()
        },
    ))
}

/// A random-weight checkpoint of a GraphCast preset: weights uniform with variance 1/fan-in,
/// small biases and offsets, LayerNorm scales one.
pub fn random_graphcast_checkpoint(preset: Preset, seed: u64) -> Result<GraphCastCheckpoint> {
    let sh = preset.graphcast_shape()?;
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
        task_config: task(preset)?,
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

/// GraphCast's own figures. Times are seconds; per-step and per-stage times are medians.
#[derive(Debug, Clone, Serialize)]
pub struct GraphCastReport {
    /// `f32`, or `bf16-cast` (the notebook's `Bfloat16Cast`, emulated).
    pub precision: String,
    /// Multi-mesh edges.
    pub mesh_edges: usize,
    /// Stacked input channels.
    pub input_channels: usize,
    /// Output channels.
    pub output_channels: usize,
    /// The first (warm-up) step.
    pub first_step_s: f64,
    /// Steps reported: the timed ones, or the warm-up step alone when none was timed.
    pub steps: usize,
    /// Median seconds of one 6 h step (network forward).
    pub step_s: f64,
    /// Fastest step.
    pub step_min_s: f64,
    /// Slowest step.
    pub step_max_s: f64,
    /// Median seconds of the grid2mesh encoder.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encoder_s: Option<f64>,
    /// Median seconds of the processor.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub processor_s: Option<f64>,
    /// Median seconds of the mesh2grid decoder and output MLP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decoder_s: Option<f64>,
    /// Resident memory after the timed steps, MiB.
    pub rss_after_steps_mb: f64,
}

/// A random-weight GraphCast of a preset with its synthetic inputs.
pub(crate) struct GraphCastBench {
    setup: Setup,
    precision: Precision,
    mesh_edges: usize,
    input_channels: usize,
    output_channels: usize,
    net: GraphCastModel,
    /// The normalised, stacked inputs every step reads.
    x: Vec<f32>,
}

impl GraphCastBench {
    /// Builds the graphs and the random-weight network of `opts.preset`.
    pub(crate) fn build(
        opts: &BenchOptions,
        progress: &mut (dyn FnMut(&str) + Send),
    ) -> Result<GraphCastBench> {
        if opts.sampler_steps > 0 {
            return Err(Error::Invalid(
                "sampler steps apply to the GenCast presets; a GraphCast step is its timed unit"
                    .into(),
            ));
        }
        let preset = opts.preset;
        let precision = opts.precision.unwrap_or_default();
        let sh = preset.graphcast_shape()?;
        let ckpt = random_graphcast_checkpoint(preset, opts.seed)?;
        let (lat, lon) = grid_coordinates(sh.resolution_deg);
        let t = Instant::now();
        let graphs = Arc::new(GraphCastGraphs::build(&ckpt.model_config, &lat, &lon)?);
        let graph_build_s = t.elapsed().as_secs_f64();
        progress(&format!(
            "{}: graphs built in {graph_build_s:.2} s ({} grid nodes, {} mesh nodes), {} threads",
            preset.name(),
            graphs.n_grid,
            graphs.n_mesh,
            rayon::current_num_threads()
        ));
        let t = Instant::now();
        let net = GraphCastModel::load(&ckpt, graphs.clone(), precision)?;
        let network_load_s = t.elapsed().as_secs_f64();
        let num_params = ckpt.params.num_params();
        let (cin, cout) = (ckpt.cin()?, ckpt.cout());
        drop(ckpt);
        let rss_after_load_mb = sys::rss_mb().unwrap_or(f64::NAN);
        progress(&format!(
            "weights loaded in {network_load_s:.2} s ({num_params} parameters, {})",
            precision.name()
        ));
        let x: Vec<f32> = lcg_unit(opts.seed ^ 0x5eed, graphs.n_grid * cin)
            .into_iter()
            .map(|u| u * 2.0 - 1.0)
            .collect();
        Ok(GraphCastBench {
            setup: Setup {
                num_params,
                n_grid: graphs.n_grid,
                n_mesh: graphs.n_mesh,
                grid2mesh_edges: graphs.grid2mesh.len(),
                mesh2grid_edges: graphs.mesh2grid.len(),
                graph_build_s,
                network_load_s,
                rss_after_load_mb,
            },
            precision,
            mesh_edges: graphs.mesh.len(),
            input_channels: cin,
            output_channels: cout,
            net,
            x,
        })
    }
}

impl BenchFamily for GraphCastBench {
    fn setup(&self) -> Setup {
        self.setup
    }

    /// One forward pass on the same inputs whatever the index, with its encoder, processor and
    /// decoder seconds (the cast network's output is already bfloat16-valued).
    fn run_unit(&mut self, _index: usize, out: &mut Vec<f32>) -> Result<Option<[f64; 3]>> {
        let (y, stages) = self.net.network().forward_timed(&self.x)?;
        *out = y;
        Ok(Some(stages))
    }

    fn report(
        &mut self,
        _opts: &BenchOptions,
        timed: &UnitTimes,
        _progress: &mut (dyn FnMut(&str) + Send),
    ) -> Result<FamilyReport> {
        let stages = timed.stage_medians();
        Ok(FamilyReport::GraphCast(GraphCastReport {
            precision: self.precision.name().into(),
            mesh_edges: self.mesh_edges,
            input_channels: self.input_channels,
            output_channels: self.output_channels,
            first_step_s: timed.first_s,
            steps: timed.seconds.len(),
            step_s: timed.median(),
            step_min_s: timed.min(),
            step_max_s: timed.max(),
            encoder_s: stages.map(|s| s[0]),
            processor_s: stages.map(|s| s[1]),
            decoder_s: stages.map(|s| s[2]),
            rss_after_steps_mb: timed.rss_after_mb,
        }))
    }
}
