//! Ensemble rollout: member after member, 12 h step after 12 h step, each step sampled with
//! DPM-Solver++ 2S around the preconditioned denoiser and fed back as the newest input frame.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::checkpoint::{GenCastCheckpoint, SamplerConfig};
use crate::data::stacking::StackLayout;
use crate::models::gencast::inputs::PreparedStep;
use crate::data::{Dataset, StatsSet};
use crate::forecast::Field;
use crate::graph::Graphs;
use crate::models::gencast::denoiser::Denoiser;
use crate::models::gencast::network::Network;
use crate::models::gencast::sampler::dpm::{member_key, step_keys, Denoise, Sampler, StateLayout};
use crate::models::gencast::sampler::prng::PrngMode;
use crate::models::gencast::sampler::schedule::Schedule;
use crate::models::gencast::sampler::spherical::SphericalGrid;
use crate::{Error, Result};

/// What to forecast.
#[derive(Clone, Debug)]
pub struct ForecastRequest {
    /// First ensemble member number (`--member-offset`).
    pub member_offset: u32,
    /// Number of members.
    pub members: u32,
    /// Number of 12 h steps.
    pub steps: usize,
    /// Seed: member `m` uses `fold_in(PRNGKey(seed), m)`.
    pub seed: i64,
    /// Index of the first of the two input frames in the dataset.
    pub first_input_frame: usize,
    /// Sampler settings (the checkpoint's, possibly overridden).
    pub sampler: SamplerConfig,
}

/// A loaded model ready to forecast on one dataset grid.
pub struct Forecaster {
    denoiser: Denoiser,
    layout: StackLayout,
    graph_build_s: f64,
    load_s: f64,
}

/// Where a forecast stands after one finished denoiser call (for progress displays).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallProgress {
    /// Index of the member within the request (0 .. members).
    pub member: usize,
    /// Step index (0 .. steps).
    pub step: usize,
    /// Denoiser calls finished in this step.
    pub calls: usize,
    /// Denoiser calls one step makes (2·N − 1 for N noise levels).
    pub calls_per_step: usize,
}

/// Wraps the preconditioned denoiser for the sampler: owns the step's stacked features, whose
/// target columns it overwrites at every call.
struct StepDenoiser<'a> {
    denoiser: &'a Denoiser,
    features: Vec<f32>,
    target_columns: &'a [usize],
    calls: usize,
    on_call: &'a mut dyn FnMut(usize),
    cancel: Option<&'a AtomicBool>,
}

impl Denoise for StepDenoiser<'_> {
    fn denoise(&mut self, x: &[f32], sigma: f32, out: &mut [f32]) -> Result<()> {
        check_cancel(self.cancel)?;
        self.calls += 1;
        self.denoiser
            .denoise(&mut self.features, self.target_columns, x, sigma, out)
            .map_err(|e| {
                let iteration = (self.calls - 1) / 2;
                with_location(
                    e,
                    format!(
                        "denoiser call {} of sampler iteration {iteration}",
                        self.calls
                    ),
                )
            })?;
        (self.on_call)(self.calls);
        Ok(())
    }
}

impl Forecaster {
    /// Builds the graphs for the dataset's grid and loads the network from the checkpoint.
    pub fn new(ckpt: &GenCastCheckpoint, lat: &[f32], lon: &[f32]) -> Result<Forecaster> {
        let arch = &ckpt.denoiser_architecture_config;
        let t0 = std::time::Instant::now();
        let graphs = Graphs::build(
            arch.mesh_size,
            lat,
            lon,
            arch.radius_query_fraction_edge_length,
            arch.sparse_transformer_config.attention_k_hop,
        )?;
        let graph_build_s = t0.elapsed().as_secs_f64();
        let t1 = std::time::Instant::now();
        let network = Network::load(ckpt, Arc::new(graphs))?;
        let load_s = t1.elapsed().as_secs_f64();
        let layout = StackLayout::for_task(&ckpt.task_config)?;
        if layout.cin() != network.cin() || layout.cout() != network.cout() {
            return Err(Error::Shape {
                what: "stacked channels (task config vs. checkpoint weights)".into(),
                expected: vec![network.cin(), network.cout()],
                found: vec![layout.cin(), layout.cout()],
            });
        }
        Ok(Forecaster {
            denoiser: Denoiser::new(Arc::new(network)),
            layout,
            graph_build_s,
            load_s,
        })
    }

    /// Seconds spent building the graphs and loading the weights.
    pub fn setup_times(&self) -> (f64, f64) {
        (self.graph_build_s, self.load_s)
    }

    /// Checks every network stage's output for non-finite values (`--debug-nans`).
    pub fn set_debug_nans(&self, on: bool) {
        self.denoiser.network().set_debug_nans(on);
    }

    /// The channel layout of inputs and outputs.
    pub fn layout(&self) -> &StackLayout {
        &self.layout
    }

    /// The graphs the network runs on.
    pub fn graphs(&self) -> &Graphs {
        self.denoiser.network().graphs()
    }

    /// Prepares the first step (reads and checks every input before any computation).
    /// Every input must be finite once sea surface temperature's land NaNs are filled.
    pub fn prepare(
        &self,
        ds: &Dataset,
        stats: &StatsSet,
        first_input_frame: usize,
    ) -> Result<PreparedStep> {
        let step = PreparedStep::new(ds, stats, &self.layout, first_input_frame)?;
        check_inputs(&step, &self.layout, ds)?;
        Ok(step)
    }

    /// Runs the request from the prepared first step. `on_step(member_index, step, fields,
    /// denoiser_calls)` receives each finished step's physical fields (in output order) before
    /// the next step starts.
    pub fn run(
        &self,
        first: &PreparedStep,
        request: &ForecastRequest,
        on_step: impl FnMut(usize, usize, &[Field], usize) -> Result<()>,
    ) -> Result<()> {
        self.run_resuming(first, request, |_, _| Ok(None), on_step)
    }

    /// Like [`Forecaster::run`], but first asks `done(member_index, step)`, step after step from
    /// the first, for the fields of steps finished earlier (e.g. read back from a store): while
    /// it returns them, they are fed back as inputs without sampling (bitwise the same inputs as
    /// the uninterrupted run, since the per-step random keys are independent) and `on_step` is
    /// not called; from the first `None` on, steps are computed.
    pub fn run_resuming(
        &self,
        first: &PreparedStep,
        request: &ForecastRequest,
        done: impl FnMut(usize, usize) -> Result<Option<Vec<Field>>>,
        on_step: impl FnMut(usize, usize, &[Field], usize) -> Result<()>,
    ) -> Result<()> {
        self.run_with_progress(first, request, done, on_step, &mut |_| {}, None)
    }

    /// Like [`Forecaster::run_resuming`], and `on_call` hears of every finished denoiser call
    /// of the computed steps (it cannot change the results). When `cancel` is set (checked
    /// before every denoiser call), the run stops with [`Error::Cancelled`].
    pub fn run_with_progress(
        &self,
        first: &PreparedStep,
        request: &ForecastRequest,
        mut done: impl FnMut(usize, usize) -> Result<Option<Vec<Field>>>,
        mut on_step: impl FnMut(usize, usize, &[Field], usize) -> Result<()>,
        on_call: &mut dyn FnMut(CallProgress),
        cancel: Option<&AtomicBool>,
    ) -> Result<()> {
        let ensemble = EnsembleRun::new(self, first, request)?;
        for i in 0..request.members as usize {
            let mut member = ensemble.member(i)?;
            let mut replaying = true;
            for step in 0..request.steps {
                if replaying {
                    if let Some(fields) = done(i, step)? {
                        member.advance(step, &fields)?;
                        continue;
                    }
                    replaying = false;
                }
                check_cancel(cancel)?;
                let (fields, calls) = member.step(step, on_call, cancel)?;
                on_step(i, step, &fields, calls)?;
                member.advance(step, &fields)?;
            }
        }
        Ok(())
    }
}

/// One request's ensemble: the sampler, shared by its members.
pub struct EnsembleRun<'a> {
    forecaster: &'a Forecaster,
    first: &'a PreparedStep,
    request: &'a ForecastRequest,
    sampler: Sampler,
    calls_per_step: usize,
}

impl<'a> EnsembleRun<'a> {
    /// Builds the request's sampler (noise schedule, spherical noise grid, state layout).
    pub fn new(
        forecaster: &'a Forecaster,
        first: &'a PreparedStep,
        request: &'a ForecastRequest,
    ) -> Result<EnsembleRun<'a>> {
        let schedule = Schedule::new(&request.sampler)?;
        let grid = SphericalGrid::new(first.lat(), first.lon())?;
        let vars: Vec<(&str, usize)> = forecaster
            .layout
            .outputs()
            .iter()
            .map(|o| (o.name.as_str(), o.len()))
            .collect();
        let state = StateLayout::new(first.n_grid(), &vars)?;
        let sampler = Sampler::new(schedule, grid, state, PrngMode::Partitionable)?;
        let calls_per_step = sampler.schedule().num_denoiser_calls();
        Ok(EnsembleRun {
            forecaster,
            first,
            request,
            sampler,
            calls_per_step,
        })
    }

    /// Member `index` of the request (number `member_offset + index`), at its first step.
    pub fn member(&self, index: usize) -> Result<MemberRun<'_>> {
        let member = u32::try_from(index)
            .ok()
            .and_then(|i| self.request.member_offset.checked_add(i))
            .ok_or_else(|| Error::Invalid("member number overflows u32".into()))?;
        let keys = step_keys(
            PrngMode::Partitionable,
            member_key(self.request.seed, member),
            self.request.steps,
        );
        Ok(MemberRun {
            ensemble: self,
            index,
            member,
            keys,
            step_data: self.first.clone(),
        })
    }
}

/// One member's rollout: its per-step random keys and the inputs of its next step.
pub struct MemberRun<'a> {
    ensemble: &'a EnsembleRun<'a>,
    index: usize,
    member: u32,
    keys: Vec<crate::models::gencast::sampler::prng::Key>,
    step_data: PreparedStep,
}

impl MemberRun<'_> {
    /// Samples step `step` (0-based) from the current inputs: the physical fields in output
    /// order and the denoiser calls made. `on_call` hears of every finished call; `cancel` is
    /// checked before each.
    pub fn step(
        &mut self,
        step: usize,
        on_call: &mut dyn FnMut(CallProgress),
        cancel: Option<&AtomicBool>,
    ) -> Result<(Vec<Field>, usize)> {
        let e = self.ensemble;
        let key = *self.keys.get(step).ok_or_else(|| {
            Error::Invalid(format!(
                "step {} is past the request's {} steps",
                step + 1,
                self.keys.len()
            ))
        })?;
        let (index, calls_per_step) = (self.index, e.calls_per_step);
        let mut d = StepDenoiser {
            denoiser: &e.forecaster.denoiser,
            features: self.step_data.grid_features().to_vec(),
            target_columns: e.forecaster.layout.target_columns(),
            calls: 0,
            on_call: &mut |calls| {
                on_call(CallProgress {
                    member: index,
                    step,
                    calls,
                    calls_per_step,
                })
            },
            cancel,
        };
        let member = self.member;
        let x = e
            .sampler
            .sample(&mut d, key)
            .map_err(|err| with_location(err, format!("member {member}, step {}", step + 1)))?;
        let calls = d.calls;
        let fields = self.step_data.to_physical(&x)?;
        check_output(
            &fields,
            self.step_data.sst_nan_mask(),
            e.first.lat(),
            e.first.lon(),
            member,
            step,
        )?;
        Ok((fields, calls))
    }

    /// Feeds step `step`'s fields back as the newest input frame, unless it is the last step.
    pub fn advance(&mut self, step: usize, fields: &[Field]) -> Result<()> {
        if step + 1 < self.ensemble.request.steps {
            self.step_data.advance(fields)?;
        }
        Ok(())
    }
}

/// Fails with [`Error::Cancelled`] once `cancel` is set.
pub(crate) fn check_cancel(cancel: Option<&AtomicBool>) -> Result<()> {
    match cancel {
        Some(c) if c.load(Ordering::Relaxed) => Err(Error::Cancelled),
        _ => Ok(()),
    }
}

/// Appends where it happened to a non-finite-value error; other errors pass unchanged.
fn with_location(e: Error, location: String) -> Error {
    match e {
        Error::NonFinite { stage, detail } => Error::NonFinite {
            stage,
            detail: format!("{detail}; {location}"),
        },
        other => other,
    }
}

/// Fails on the first non-finite stacked input (the normalised inputs and forcings), naming the
/// channel (variable, frame, level) and the grid point.
fn check_inputs(step: &PreparedStep, layout: &StackLayout, ds: &Dataset) -> Result<()> {
    let cin = layout.cin();
    let mut is_target = vec![false; cin];
    layout
        .target_columns()
        .iter()
        .for_each(|&c| is_target[c] = true);
    let bad = step
        .grid_features()
        .iter()
        .enumerate()
        .find(|&(i, v)| !v.is_finite() && !is_target[i % cin]);
    let Some((i, v)) = bad else { return Ok(()) };
    let (g, c) = (i / cin, i % cin);
    let names = layout.input_channel_names();
    let n_lon = step.lon().len();
    Err(Error::Data {
        path: ds.path().to_path_buf(),
        variable: names.get(c).cloned().unwrap_or_else(|| format!("channel {c}")),
        detail: format!(
            "value {v} at lat {} lon {} (grid node {g}); only sea_surface_temperature may be NaN, over land",
            step.lat()[g / n_lon],
            step.lon()[g % n_lon]
        ),
    })
}

/// Fails on the first non-finite value of a finished step, except sea surface temperature's NaNs
/// over the land mask (where an input frame was NaN), naming variable, level, grid point,
/// member and step.
pub fn check_output(
    fields: &[Field],
    sst_nan_mask: &[bool],
    lat: &[f32],
    lon: &[f32],
    member: u32,
    step: usize,
) -> Result<()> {
    let ng = lat.len() * lon.len();
    for f in fields {
        let masked = f.name == crate::models::gencast::inputs::NAN_CLEANED_VAR;
        let land = |i: usize| masked && sst_nan_mask.get(i % ng).copied().unwrap_or(false);
        let bad = f
            .data
            .iter()
            .enumerate()
            .find(|&(i, v)| !(v.is_finite() || (v.is_nan() && land(i))));
        if let Some((i, v)) = bad {
            let (l, g) = (i / ng, i % ng);
            let level = f
                .levels
                .get(l)
                .map(|p| format!(" level {p} hPa,"))
                .unwrap_or_default();
            return Err(Error::NonFinite {
                stage: format!("forecast output (member {member}, step {})", step + 1),
                detail: format!(
                    "`{}`:{level} lat {} lon {} (grid node {g}) is {v}",
                    f.name,
                    lat[g / lon.len()],
                    lon[g % lon.len()]
                ),
            });
        }
    }
    Ok(())
}
