//! Prediction in physical units: one step (stack, network, un-normalise) and the autoregressive
//! rollout that feeds each prediction back as the newest input frame (`chunked_prediction` and
//! `_get_next_inputs` in
//! <https://github.com/google-deepmind/graphcast/blob/08cf736/graphcast/rollout.py>).

use std::sync::Arc;

use super::bf16::GraphCastBf16;
use super::graphs::GraphCastGraphs;
use super::inputs::StepInputs;
use super::network::GraphCast;
use super::normalization::{stack_inputs, to_physical, GraphCastStats};
use crate::checkpoint::{GraphCastCheckpoint, TaskConfig};
use crate::data::Dataset;
use crate::forecast::Field;
use crate::{Error, Result};

/// Refuses inputs on another grid than the graphs were built for.
fn check_grid(g: &GraphCastGraphs, inputs: &StepInputs) -> Result<()> {
    if g.lat != inputs.lat() || g.lon != inputs.lon() {
        return Err(Error::Data {
            path: inputs.path().to_path_buf(),
            variable: "lat/lon".into(),
            detail: format!(
                "the network was built for a {}x{} grid with other coordinates than the data's {}x{}",
                g.lat.len(),
                g.lon.len(),
                inputs.lat().len(),
                inputs.lon().len()
            ),
        });
    }
    Ok(())
}

/// One step: the prediction at `inputs.target_datetime()`, one field per target in sorted
/// order.
pub fn predict_step(
    net: &GraphCast,
    inputs: &StepInputs,
    task: &TaskConfig,
    stats: &GraphCastStats,
) -> Result<Vec<Field>> {
    check_grid(net.graphs(), inputs)?;
    let x = stack_inputs(inputs, task, stats)?;
    let out = net.forward(&x)?;
    to_physical(&out, inputs, task, stats)
}

/// How the network computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precision {
    /// Float32 throughout (the reference without the cast).
    #[default]
    F32,
    /// The notebook's `Bfloat16Cast`, emulated (see `GraphCastBf16`).
    Bf16Cast,
}

impl Precision {
    /// The name used on the command line and in output metadata.
    pub fn name(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::Bf16Cast => "bf16-cast",
        }
    }
}

/// A loaded GraphCast network in either precision.
#[derive(Debug, Clone)]
pub enum GraphCastModel {
    /// Float32.
    F32(Box<GraphCast>),
    /// Under the bfloat16 cast.
    Bf16Cast(Box<GraphCastBf16>),
}

impl GraphCastModel {
    /// Loads the network for `graphs` in `precision`.
    pub fn load(
        ckpt: &GraphCastCheckpoint,
        graphs: Arc<GraphCastGraphs>,
        precision: Precision,
    ) -> Result<GraphCastModel> {
        Ok(match precision {
            Precision::F32 => GraphCastModel::F32(Box::new(GraphCast::load(ckpt, graphs)?)),
            Precision::Bf16Cast => {
                GraphCastModel::Bf16Cast(Box::new(GraphCastBf16::load(ckpt, graphs)?))
            }
        })
    }

    /// The network that computes, in either precision (the cast runs the float32 network's
    /// code path with its roundings; its output is bfloat16-valued).
    pub fn network(&self) -> &GraphCast {
        match self {
            GraphCastModel::F32(n) => n,
            GraphCastModel::Bf16Cast(n) => n.network(),
        }
    }

    /// The graphs the network was loaded for.
    pub fn graphs(&self) -> &Arc<GraphCastGraphs> {
        self.network().graphs()
    }

    /// One step, as [`predict_step`]; under the cast the normalised inputs are rounded to
    /// bfloat16 and the bfloat16 output is un-normalised in float32.
    pub fn predict_step(
        &self,
        inputs: &StepInputs,
        task: &TaskConfig,
        stats: &GraphCastStats,
    ) -> Result<Vec<Field>> {
        predict_step(self.network(), inputs, task, stats)
    }
}

/// `n_steps` steps from `inputs`, each prediction becoming the newest input frame of the next
/// step; forcings at later target times come from `ds` where it has those frames and are
/// computed otherwise. Returns the predictions of every step, oldest first.
pub fn rollout(
    net: &GraphCast,
    mut inputs: StepInputs,
    task: &TaskConfig,
    stats: &GraphCastStats,
    n_steps: usize,
    ds: Option<&Dataset>,
) -> Result<Vec<Vec<Field>>> {
    let mut steps = Vec::with_capacity(n_steps);
    for k in 0..n_steps {
        let fields = predict_step(net, &inputs, task, stats)?;
        if k + 1 < n_steps {
            inputs.advance(&fields, ds)?;
        }
        steps.push(fields);
    }
    Ok(steps)
}
