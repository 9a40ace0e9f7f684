//! GenCast under the benchmark: a random-weight denoiser of a preset's configuration on
//! synthetic inputs, timed stage by stage per preconditioned denoiser call, then optionally over
//! full 12 h sampler steps, with FLOP rates against the same run's GEMM rate.

use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

use super::family::{BenchFamily, Setup, Unit, UnitTimes};
use super::flops::{self, FlopCount, WorkShape};
use super::preset::GenCastShape;
use super::report::{median, FamilyReport};
use super::{random, sys, BenchOptions};
use crate::checkpoint::SamplerConfig;
use crate::data::stacking::StackLayout;
use crate::graph::Graphs;
use crate::models::gencast::sampler::dpm::{member_key, step_keys, Denoise, Sampler, StateLayout};
use crate::models::gencast::sampler::prng::PrngMode;
use crate::models::gencast::sampler::schedule::Schedule;
use crate::models::gencast::sampler::spherical::SphericalGrid;
use crate::models::gencast::{preconditioning, Network, Workspace};
use crate::{Error, Result};

/// FLOP per call of the reference on the Mini configuration, as measured for it (≈ 1.37 T).
pub const REFERENCE_MINI_FLOP: f64 = 1.37e12;

/// GenCast's timed unit: one preconditioned denoiser call.
pub(crate) const UNIT: Unit = Unit {
    noun: "call",
    name: "denoiser call",
    stages: ["encoder", "transformer", "decoder"],
    // The first call also allocates the work buffers.
    warm_up_may_stand_alone: false,
};

/// GenCast's own figures. Times are seconds; per-call and per-stage times are medians.
#[derive(Debug, Clone, Serialize)]
pub struct GenCastReport {
    /// Drawing the random weights (stands in for reading a checkpoint; not part of start-up).
    pub random_weights_s: f64,
    /// Attended (query, key) pairs per head and layer.
    pub attention_pairs: usize,
    /// Pairs the tiled attention computes (masked ones included).
    pub attention_dense_pairs: usize,
    /// The first (warm-up) call, which also allocates the work buffers.
    pub first_call_s: f64,
    /// Timed calls.
    pub calls: usize,
    /// Median seconds per preconditioned denoiser call.
    pub denoiser_call_s: f64,
    /// Fastest timed call.
    pub call_min_s: f64,
    /// Slowest timed call.
    pub call_max_s: f64,
    /// Median encoder (grid2mesh, with the noise encoding) time.
    pub encoder_s: f64,
    /// Median transformer time.
    pub transformer_s: f64,
    /// Median decoder (mesh2grid and output head) time.
    pub decoder_s: f64,
    /// Resident memory after the timed calls (network, caches and work buffers), MiB.
    pub rss_after_calls_mb: f64,
    /// FLOP per call as computed here.
    pub flop_actual: FlopCount,
    /// FLOP per call of the reference's formulation on the same shapes.
    pub flop_reference_model: FlopCount,
    /// Reference-equivalent FLOP per call: 1.37 T for Mini, scaled by the reference model's
    /// ratio for the other presets.
    pub reference_equivalent_flop: f64,
    /// Actual GFLOP/s of the median call.
    pub actual_gflops: f64,
    /// Reference-equivalent GFLOP/s of the median call.
    pub reference_equivalent_gflops: f64,
    /// `[m, k, n]` of the GEMM whose rate is measured.
    pub gemm_shape: [usize; 3],
    /// GEMM rate measured in this run, same threads.
    pub gemm_gflops: f64,
    /// `actual_gflops / gemm_gflops`.
    pub actual_fraction_of_gemm: f64,
    /// `reference_equivalent_gflops / gemm_gflops`.
    pub reference_equivalent_fraction_of_gemm: f64,
    /// Timed sampler steps.
    pub steps: usize,
    /// Median seconds per 12 h step (when steps were run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step_s: Option<f64>,
    /// Denoiser calls per step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calls_per_step: Option<usize>,
    /// Median seconds per step outside the denoiser calls (noise, solver updates).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sampler_overhead_s: Option<f64>,
}

/// The preconditioned denoiser on fixed synthetic inputs, timing each call and its stages.
struct TimedDenoiser {
    network: Network,
    ws: Workspace,
    features: Vec<f32>,
    target_columns: Vec<usize>,
    /// Per call: total, encoder, transformer, decoder seconds.
    times: Vec<[f64; 4]>,
}

impl Denoise for TimedDenoiser {
    fn denoise(&mut self, x: &[f32], sigma: f32, out: &mut [f32]) -> Result<()> {
        let t = Instant::now();
        let (cin, cout) = (self.network.cin(), self.network.cout());
        let (c_in, c_out, c_skip) = preconditioning(sigma);
        for (frow, xrow) in self.features.chunks_mut(cin).zip(x.chunks(cout)) {
            for (&col, &v) in self.target_columns.iter().zip(xrow) {
                frow[col] = v * c_in;
            }
        }
        let [e, p, d] = self
            .network
            .forward_stages(&self.features, sigma, &mut self.ws, out);
        if let Some(i) = out.iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFinite {
                stage: "benchmark denoiser output".into(),
                detail: format!("grid node {}, channel {}", i / cout, i % cout),
            });
        }
        for (o, &v) in out.iter_mut().zip(x) {
            *o = *o * c_out + v * c_skip;
        }
        self.times.push([t.elapsed().as_secs_f64(), e, p, d]);
        Ok(())
    }
}

/// A random-weight GenCast of a preset with its synthetic inputs.
pub(crate) struct GenCastBench {
    shape: GenCastShape,
    setup: Setup,
    random_weights_s: f64,
    attention_dense_pairs: usize,
    attention_pairs: usize,
    work: WorkShape,
    layout: StackLayout,
    grid: (Vec<f32>, Vec<f32>),
    schedule: Schedule,
    den: TimedDenoiser,
    /// The noisy target the timed calls denoise.
    x: Vec<f32>,
}

impl GenCastBench {
    /// Builds the graphs and the random-weight network of `opts.preset`.
    pub(crate) fn build(
        opts: &BenchOptions,
        progress: &mut (dyn FnMut(&str) + Send),
    ) -> Result<GenCastBench> {
        if opts.precision.is_some() {
            return Err(Error::Invalid(
                "a precision applies to the GraphCast presets; GenCast runs in float32".into(),
            ));
        }
        let preset = opts.preset;
        let shape = preset.gencast_shape()?;
        let (lat, lon) = random::grid_coordinates(shape.resolution_deg);
        progress(&format!(
            "{}: {}x{} grid, mesh {}, latent {}, {} layers, {} threads",
            preset.name(),
            lat.len(),
            lon.len(),
            shape.mesh_size,
            shape.latent,
            shape.layers,
            rayon::current_num_threads()
        ));

        let t = Instant::now();
        let graphs = Graphs::build(shape.mesh_size, &lat, &lon, 0.6, shape.k_hop)?;
        let graph_build_s = t.elapsed().as_secs_f64();
        progress(&format!(
            "graphs: {:.2} s ({} mesh nodes, {} + {} edges, {} attention pairs)",
            graph_build_s,
            graphs.n_mesh,
            graphs.grid2mesh.len(),
            graphs.mesh2grid.len(),
            graphs.attention.indices.len()
        ));

        let t = Instant::now();
        let ckpt = random::random_checkpoint(preset, opts.seed)?;
        let random_weights_s = t.elapsed().as_secs_f64();
        let num_params = ckpt.params.num_params();
        let layout = StackLayout::for_task(&ckpt.task_config)?;

        let t = Instant::now();
        let network = Network::load(&ckpt, Arc::new(graphs))?;
        let network_load_s = t.elapsed().as_secs_f64();
        drop(ckpt);
        let rss_after_load_mb = sys::rss_mb().unwrap_or(f64::NAN);
        progress(&format!(
            "network: {num_params} parameters, loaded in {network_load_s:.2} s"
        ));
        let g = network.graphs().clone();
        let (ng, cin, cout) = (g.n_grid, network.cin(), network.cout());
        let work = WorkShape {
            n_grid: ng,
            n_mesh: g.n_mesh,
            e_grid2mesh: g.grid2mesh.len(),
            e_mesh2grid: g.mesh2grid.len(),
            attention_pairs: g.attention.indices.len(),
            cin,
            cout,
            latent: shape.latent,
            hidden_layers: shape.hidden_layers,
            layers: shape.layers,
            ffw: shape.ffw,
            cached_grid2mesh_edges: network.grid2mesh.edge_embed.cache.is_some(),
            cached_mesh2grid_edges: network.mesh2grid.edge_embed.cache.is_some(),
        };
        let mut rng = random::XorShift::new(opts.seed ^ 0x5747E);
        let x: Vec<f32> = (0..ng * cout).map(|_| rng.normal() as f32).collect();
        Ok(GenCastBench {
            shape,
            setup: Setup {
                num_params,
                n_grid: ng,
                n_mesh: g.n_mesh,
                grid2mesh_edges: g.grid2mesh.len(),
                mesh2grid_edges: g.mesh2grid.len(),
                graph_build_s,
                network_load_s,
                rss_after_load_mb,
            },
            random_weights_s,
            attention_dense_pairs: network.attention.dense_pairs(),
            attention_pairs: g.attention.indices.len(),
            work,
            schedule: Schedule::new(&SamplerConfig::default())?,
            den: TimedDenoiser {
                ws: Workspace::default(),
                features: random::synthetic_features(ng, cin, opts.seed ^ 0xFEA7),
                target_columns: layout.target_columns().to_vec(),
                times: Vec::new(),
                network,
            },
            layout,
            grid: (lat, lon),
            x,
        })
    }

    /// Times `opts.sampler_steps` full sampler steps: (median step, median seconds outside
    /// the calls, calls per step), when any ran.
    fn sampler_steps(
        &mut self,
        opts: &BenchOptions,
        progress: &mut (dyn FnMut(&str) + Send),
    ) -> Result<Option<(f64, f64, usize)>> {
        if opts.sampler_steps == 0 {
            return Ok(None);
        }
        let grid = SphericalGrid::new(&self.grid.0, &self.grid.1)?;
        let vars: Vec<(&str, usize)> = self
            .layout
            .outputs()
            .iter()
            .map(|o| (o.name.as_str(), o.len()))
            .collect();
        let state = StateLayout::new(self.setup.n_grid, &vars)?;
        let sampler = Sampler::new(self.schedule.clone(), grid, state, PrngMode::Partitionable)?;
        let keys = step_keys(
            PrngMode::Partitionable,
            member_key(opts.seed as i64, 0),
            opts.sampler_steps,
        );
        let (mut step_times, mut overheads, mut calls_per_step) = (Vec::new(), Vec::new(), 0);
        for (s, &key) in keys.iter().enumerate() {
            self.den.times.clear();
            let t = Instant::now();
            sampler.sample(&mut self.den, key)?;
            let step = t.elapsed().as_secs_f64();
            let in_calls: f64 = self.den.times.iter().map(|t| t[0]).sum();
            calls_per_step = self.den.times.len();
            step_times.push(step);
            overheads.push(step - in_calls);
            progress(&format!(
                "step {}/{}: {step:.2} s, {calls_per_step} calls, {:.3} s outside them",
                s + 1,
                opts.sampler_steps,
                step - in_calls
            ));
        }
        Ok(Some((
            median(&step_times),
            median(&overheads),
            calls_per_step,
        )))
    }
}

impl BenchFamily for GenCastBench {
    fn setup(&self) -> Setup {
        self.setup
    }

    fn run_unit(&mut self, index: usize, out: &mut Vec<f32>) -> Result<Option<[f64; 3]>> {
        let levels = &self.schedule.noise_levels;
        let sigma = levels[index % (levels.len() - 1)];
        out.resize(self.x.len(), 0.0);
        self.den.times.clear();
        self.den.denoise(&self.x, sigma, out)?;
        Ok(self.den.times.last().map(|&[_, e, p, d]| [e, p, d]))
    }

    fn report(
        &mut self,
        opts: &BenchOptions,
        timed: &UnitTimes,
        progress: &mut (dyn FnMut(&str) + Send),
    ) -> Result<FamilyReport> {
        let steps = self.sampler_steps(opts, progress)?;
        let denoiser_call_s = timed.median();
        let [encoder_s, transformer_s, decoder_s] = timed.stage_medians().unwrap_or([f64::NAN; 3]);
        let flop_actual = flops::actual(&self.work);
        let flop_reference_model = flops::reference(&self.work);
        let reference_equivalent_flop = reference_equivalent(&flop_reference_model, &self.shape);
        let gemm_gflops = sys::gemm_rate(5);
        let actual_gflops = flop_actual.total() / denoiser_call_s / 1e9;
        let reference_equivalent_gflops = reference_equivalent_flop / denoiser_call_s / 1e9;
        let (m, k, n) = sys::GEMM_SHAPE;
        Ok(FamilyReport::GenCast(GenCastReport {
            random_weights_s: self.random_weights_s,
            attention_pairs: self.attention_pairs,
            attention_dense_pairs: self.attention_dense_pairs,
            first_call_s: timed.first_s,
            calls: opts.units,
            denoiser_call_s,
            call_min_s: timed.min(),
            call_max_s: timed.max(),
            encoder_s,
            transformer_s,
            decoder_s,
            rss_after_calls_mb: timed.rss_after_mb,
            flop_actual,
            flop_reference_model,
            reference_equivalent_flop,
            actual_gflops,
            reference_equivalent_gflops,
            gemm_shape: [m, k, n],
            gemm_gflops,
            actual_fraction_of_gemm: actual_gflops / gemm_gflops,
            reference_equivalent_fraction_of_gemm: reference_equivalent_gflops / gemm_gflops,
            steps: opts.sampler_steps,
            step_s: steps.map(|s| s.0),
            calls_per_step: steps.map(|s| s.2),
            sampler_overhead_s: steps.map(|s| s.1),
        }))
    }
}

/// The sizes of the Mini preset.
const MINI: GenCastShape = GenCastShape::published(1.0, 4);

/// Reference-equivalent FLOP per call: [`REFERENCE_MINI_FLOP`] scaled by the reference model's
/// ratio between this preset and Mini (exactly 1.37 T for Mini).
pub fn reference_equivalent(model: &FlopCount, shape: &GenCastShape) -> f64 {
    if *shape == MINI {
        return REFERENCE_MINI_FLOP;
    }
    REFERENCE_MINI_FLOP * model.total() / mini_reference_model_flop()
}

/// The reference model's FLOP per Mini call, from the Mini graph sizes (fixed by the mesh and
/// grid: 65,160 grid and 2,562 mesh nodes, 102,486 grid2mesh and 195,480 mesh2grid edges).
pub fn mini_reference_model_flop() -> f64 {
    let s = MINI;
    flops::reference(&WorkShape {
        n_grid: 65_160,
        n_mesh: 2_562,
        e_grid2mesh: 102_486,
        e_mesh2grid: 195_480,
        attention_pairs: 1_907_922,
        cin: 264,
        cout: 84,
        latent: s.latent,
        hidden_layers: s.hidden_layers,
        layers: s.layers,
        ffw: s.ffw,
        cached_grid2mesh_edges: false,
        cached_mesh2grid_edges: false,
    })
    .total()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::Preset;

    #[test]
    fn reference_model_is_close_to_the_measured_reference() {
        // The reference's 1.37 T was measured from its compiled program; the shape model
        // (dense attention) should be within 15 % of it.
        let r = mini_reference_model_flop();
        assert!((r / REFERENCE_MINI_FLOP - 1.0).abs() < 0.15, "{r}");
    }

    #[test]
    fn mini_reference_sizes_are_the_mini_preset() {
        assert_eq!(Preset::Mini.gencast_shape().unwrap(), MINI);
    }
}
