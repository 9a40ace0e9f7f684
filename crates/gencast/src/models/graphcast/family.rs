//! GraphCast's hooks of the run loop: the deterministic 6 h rollout of `graphcast.GraphCast`
//! fed back as `rollout.chunked_prediction` does, written as an ensemble of one member
//! (number 0).

use std::cell::RefCell;
use std::sync::Arc;

use serde_json::json;

use crate::models::graphcast::checkpoint::GRAPHCAST_TIMESTEP_HOURS;
use crate::checkpoint::{GraphCastCheckpoint, TaskConfig};
use crate::data::stacking::sorted_names;
use crate::data::Dataset;
use crate::forecast::Field;
use crate::models::graphcast::{GraphCastModel, GraphCastStats, StepInputs};
use crate::{Error, Result};

use crate::forecast::family::{Family, MemberRollout, Output, Rollout, RunContext, RunState, Started};
use crate::models::gencast::family::setup_message;
use crate::forecast::model::Model;
use crate::forecast::prepared::{Network, Prepared};
use crate::forecast::request::{Progress, Request};

/// Hours per GraphCast step.
const STEP_HOURS: u64 = GRAPHCAST_TIMESTEP_HOURS as u64;

/// GraphCast: a checkpoint and its three statistics files.
pub(crate) struct GraphCast<'m> {
    /// The checkpoint.
    pub(crate) ckpt: &'m GraphCastCheckpoint,
    /// The normalisation statistics.
    pub(crate) stats: &'m GraphCastStats,
}

/// The first non-finite value of a step's prediction, named by variable, level and grid point.
fn non_finite(fields: &[Field], lat: &[f32], lon: &[f32]) -> Option<String> {
    let n = lat.len() * lon.len();
    for f in fields {
        if let Some(i) = f.data.iter().position(|v| !v.is_finite()) {
            let (l, g) = (i / n.max(1), i % n.max(1));
            let level = f
                .levels
                .get(l)
                .map(|l| format!(" level {l} hPa,"))
                .unwrap_or_default();
            return Some(format!(
                "`{}`{level} lat {} lon {}: {}",
                f.name,
                lat[g / lon.len()],
                lon[g % lon.len()],
                f.data[i]
            ));
        }
    }
    None
}

impl Family for GraphCast<'_> {
    fn step_hours(&self) -> u64 {
        STEP_HOURS
    }

    fn input_frames(&self) -> Result<usize> {
        self.ckpt
            .task_config
            .num_input_frames(GRAPHCAST_TIMESTEP_HOURS)
    }

    /// Refuses the options of an ensemble forecast: a deterministic model has one member.
    fn check_request(&self, req: &Request<'_>, ctx: &mut RunContext<'_>) -> Result<()> {
        const WHY: &str =
            "a GraphCast checkpoint makes a deterministic forecast, written as one member";
        if req.members != 1 {
            bail!("Forecast::members {}: {WHY}", req.members);
        }
        if req.member_offset != 0 {
            bail!(
                "Forecast::member_offset {}: {WHY} (number 0)",
                req.member_offset
            );
        }
        if !req.sampler.is_empty() {
            bail!(
                "Forecast::sampler {}: a GraphCast checkpoint has no sampler (it is not a diffusion \
                 model)",
                req.sampler
            );
        }
        if req.seed != 0 {
            ctx.report(Progress::Warning(format!(
                "Forecast::seed {} is ignored: GraphCast draws no random numbers",
                req.seed
            )));
        }
        for w in self.stats.warnings(&self.ckpt.task_config) {
            ctx.report(Progress::Warning(w));
        }
        Ok(())
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
        let task = &self.ckpt.task_config;
        self.ckpt.model_config.check_grid(ds.lon().len())?;
        let inputs = StepInputs::from_dataset(ds, task, first_frame)?;
        let precision = req.precision;
        let (net, reused) = model.prepared_for(ds.lat(), ds.lon(), precision)?;
        let Network::GraphCast(g) = &net.network else {
            bail!("the model prepared a GenCast network for a GraphCast checkpoint");
        };
        let g = g.graphs();
        ctx.report(Progress::Info(setup_message(
            &net,
            reused,
            self.ckpt.params.num_params(),
        )));
        ctx.report(Progress::Info(format!(
            "GraphCast ready in {:.2} s ({} parameters): grid {}x{}, mesh {} nodes, {} grid2mesh and {} mesh2grid edges; {} threads, {} kernels, {}",
            t0.elapsed().as_secs_f64(),
            self.ckpt.params.num_params(),
            ds.lat().len(),
            ds.lon().len(),
            g.n_mesh,
            g.grid2mesh.len(),
            g.mesh2grid.len(),
            rayon::current_num_threads(),
            crate::kernels::isa::active(),
            precision.name()
        )));
        let init_ns = *inputs
            .input_datetimes()
            .last()
            .ok_or_else(|| Error::Invalid("the step has no input datetimes".into()))?;
        let outputs = sorted_names(&task.target_variables)
            .into_iter()
            .map(|name| Output {
                levelled: !inputs.levels_of(&name).is_empty(),
                name,
            })
            .collect();
        let history = format!(
            "gencast {} forecast: GraphCast checkpoint {}, dataset {}, precision {}",
            env!("CARGO_PKG_VERSION"),
            model.checkpoint_path().display(),
            ds.path().display(),
            precision.name()
        );
        Ok(Started {
            outputs,
            levels: inputs.levels().to_vec(),
            init_ns,
            history,
            settings: json!({ "model": "graphcast", "precision": precision.name() }),
            state: Box::new(GraphCastState {
                net,
                task,
                stats: self.stats,
                ds,
                steps: req.step_count(STEP_HOURS)?,
                debug_nans: req.debug_nans,
                inputs: RefCell::new(Some(inputs)),
            }),
        })
    }
}

/// A GraphCast run's network and first step's inputs (taken by its one member).
struct GraphCastState<'r> {
    net: Arc<Prepared>,
    task: &'r TaskConfig,
    stats: &'r GraphCastStats,
    ds: &'r Dataset,
    steps: usize,
    debug_nans: bool,
    inputs: RefCell<Option<StepInputs>>,
}

impl RunState for GraphCastState<'_> {
    fn rollout(&self) -> Result<Box<dyn Rollout + '_>> {
        Ok(Box::new(self))
    }
}

impl Rollout for &GraphCastState<'_> {
    fn member(&self, index: usize) -> Result<Box<dyn MemberRollout + '_>> {
        let Network::GraphCast(net) = &self.net.network else {
            bail!("the model prepared a GenCast network for a GraphCast checkpoint");
        };
        let inputs = self.inputs.borrow_mut().take().filter(|_| index == 0);
        let inputs = inputs.ok_or_else(|| {
            Error::Invalid(format!(
                "member {index}: a GraphCast forecast has one member, rolled out once"
            ))
        })?;
        Ok(Box::new(GraphCastMember {
            state: self,
            net,
            inputs,
        }))
    }
}

/// GraphCast's one member: the inputs of its next step.
struct GraphCastMember<'a> {
    state: &'a GraphCastState<'a>,
    net: &'a GraphCastModel,
    inputs: StepInputs,
}

impl MemberRollout for GraphCastMember<'_> {
    fn predict(&mut self, step: usize, _ctx: &mut RunContext<'_>) -> Result<(Vec<Field>, usize)> {
        let s = self.state;
        let fields = self.net.predict_step(&self.inputs, s.task, s.stats)?;
        if s.debug_nans {
            if let Some(at) = non_finite(&fields, s.ds.lat(), s.ds.lon()) {
                bail!("step {}: non-finite prediction at {at}", step + 1);
            }
        }
        Ok((fields, 0))
    }

    fn advance(&mut self, step: usize, fields: &[Field]) -> Result<()> {
        if step + 1 < self.state.steps {
            self.inputs.advance(fields, Some(self.state.ds))?;
        }
        Ok(())
    }
}
