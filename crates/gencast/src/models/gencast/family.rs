//! GenCast's hooks of the run loop: 12 h steps from two input frames, each an ensemble
//! member's DPM-Solver++ 2S sampling of [`crate::models::gencast::rollout`].

use std::sync::Arc;

use serde_json::json;

use crate::checkpoint::{GenCastCheckpoint, SamplerConfig};
use crate::models::gencast::inputs::PreparedStep;
use crate::data::{Dataset, StatsSet};
use crate::forecast::Field;
use crate::models::gencast::rollout::{EnsembleRun, ForecastRequest, Forecaster, MemberRun};
use crate::models::graphcast::Precision;
use crate::{Error, Result};

use crate::forecast::family::{Family, MemberRollout, Output, Rollout, RunContext, RunState, Started};
use crate::forecast::model::{Model, GENCAST_STEP_HOURS};
use crate::forecast::prepared::{Network, Prepared};
use crate::forecast::request::{Progress, Request};

/// Input frames GenCast reads (the init time and one step before).
const INPUT_FRAMES: usize = 2;

/// GenCast: a checkpoint and its four statistics files.
pub(crate) struct GenCast<'m> {
    /// The checkpoint.
    pub(crate) ckpt: &'m GenCastCheckpoint,
    /// The normalisation statistics.
    pub(crate) stats: &'m StatsSet,
}

impl GenCast<'_> {
    /// The checkpoint's sampler settings with the request's overrides.
    fn sampler(&self, req: &Request<'_>) -> Result<SamplerConfig> {
        req.sampler.apply(&self.ckpt.sampler_config)
    }
}

/// What preparing the network cost, or that it was reused.
pub(crate) fn setup_message(net: &Prepared, reused: bool, num_params: usize) -> String {
    if reused {
        format!(
            "graphs and weights reused from an earlier forecast on this grid ({num_params} parameters)"
        )
    } else {
        format!(
            "graphs built in {:.2} s, weights loaded in {:.2} s ({num_params} parameters)",
            net.graph_build_s, net.load_s
        )
    }
}

impl Family for GenCast<'_> {
    fn step_hours(&self) -> u64 {
        GENCAST_STEP_HOURS
    }

    fn input_frames(&self) -> Result<usize> {
        Ok(INPUT_FRAMES)
    }

    fn check_request(&self, req: &Request<'_>, _ctx: &mut RunContext<'_>) -> Result<()> {
        if req.precision != Precision::F32 {
            bail!(
                "Forecast::precision {} applies to GraphCast checkpoints; {} is a GenCast checkpoint, \
                 which runs in float32",
                req.precision.name(),
                self.ckpt.path.display()
            );
        }
        // Overrides are checked before the dataset is read.
        self.sampler(req).map(|_| ())
    }

    fn start<'r>(
        &'r self,
        req: &'r Request<'_>,
        model: &'r Model,
        ds: &'r Dataset,
        first_frame: usize,
        ctx: &mut RunContext<'_>,
    ) -> Result<Started<'r>> {
        let t0 = std::time::Instant::now();
        let sampler = self.sampler(req)?;
        let (net, reused) = model.prepared_for(ds.lat(), ds.lon(), req.precision)?;
        let Network::GenCast(forecaster) = &net.network else {
            bail!("the model prepared a GraphCast network for a GenCast checkpoint");
        };
        forecaster.set_debug_nans(req.debug_nans);
        let first = forecaster.prepare(ds, self.stats, first_frame)?;
        for w in first.warnings() {
            ctx.report(Progress::Warning(w.clone()));
        }
        let g = forecaster.graphs();
        ctx.report(Progress::Info(setup_message(
            &net,
            reused,
            self.ckpt.params.num_params(),
        )));
        ctx.report(Progress::Info(format!(
            "model ready in {:.2} s: grid {}x{}, mesh {} nodes, {} grid2mesh and {} mesh2grid edges; {} threads, {} kernels, float32",
            t0.elapsed().as_secs_f64(),
            ds.lat().len(),
            ds.lon().len(),
            g.n_mesh,
            g.grid2mesh.len(),
            g.mesh2grid.len(),
            rayon::current_num_threads(),
            crate::kernels::isa::active()
        )));
        let outputs = forecaster
            .layout()
            .outputs()
            .iter()
            .map(|o| Output {
                name: o.name.clone(),
                levelled: !o.levels.is_empty(),
            })
            .collect();
        let levels = forecaster.layout().levels().to_vec();
        let init_ns = *first
            .input_datetimes()
            .last()
            .ok_or_else(|| Error::Invalid("the prepared step has no input datetimes".into()))?;
        let history = format!(
            "gencast {} forecast: checkpoint {}, dataset {}, seed {}, sampler {}",
            env!("CARGO_PKG_VERSION"),
            model.checkpoint_path().display(),
            ds.path().display(),
            req.seed,
            serde_json::to_string(&sampler)
                .map_err(|e| Error::Invalid(format!("sampler settings: {e}")))?
        );
        let steps = req.step_count(GENCAST_STEP_HOURS)?;
        let request = ForecastRequest {
            member_offset: req.member_offset,
            members: req.members,
            steps,
            seed: req.seed,
            first_input_frame: first_frame,
            sampler,
        };
        let settings = json!({ "seed": req.seed, "sampler": &request.sampler });
        Ok(Started {
            outputs,
            levels,
            init_ns,
            history,
            settings,
            state: Box::new(GenCastState {
                net,
                first,
                request,
            }),
        })
    }
}

/// A GenCast run's network, first step and request.
struct GenCastState {
    net: Arc<Prepared>,
    first: PreparedStep,
    request: ForecastRequest,
}

impl GenCastState {
    /// The prepared GenCast network.
    fn forecaster(&self) -> Result<&Forecaster> {
        match &self.net.network {
            Network::GenCast(f) => Ok(f),
            Network::GraphCast(_) => Err(Error::Invalid(
                "the model prepared a GraphCast network for a GenCast checkpoint".into(),
            )),
        }
    }
}

impl RunState for GenCastState {
    fn rollout(&self) -> Result<Box<dyn Rollout + '_>> {
        Ok(Box::new(EnsembleRun::new(
            self.forecaster()?,
            &self.first,
            &self.request,
        )?))
    }
}

impl Rollout for EnsembleRun<'_> {
    fn member(&self, index: usize) -> Result<Box<dyn MemberRollout + '_>> {
        Ok(Box::new(EnsembleRun::member(self, index)?))
    }
}

impl MemberRollout for MemberRun<'_> {
    fn predict(&mut self, step: usize, ctx: &mut RunContext<'_>) -> Result<(Vec<Field>, usize)> {
        let cancel = ctx.cancel.clone();
        self.step(
            step,
            &mut |p| ctx.report(Progress::Call(p)),
            cancel.as_deref(),
        )
    }

    fn advance(&mut self, step: usize, fields: &[Field]) -> Result<()> {
        MemberRun::advance(self, step, fields)
    }
}
