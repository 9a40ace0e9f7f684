//! Prediction in physical units: one step (stack, network, un-normalise) and the autoregressive
//! rollout that feeds each prediction back as the newest input frame (graphcast spec §12).

use super::inputs::StepInputs;
use super::network::GraphCast;
use super::normalization::{stack_inputs, to_physical, GraphCastStats};
use crate::checkpoint::TaskConfig;
use crate::data::task::Field;
use crate::data::Dataset;
use crate::{Error, Result};

/// One step: the prediction at `inputs.target_datetime()`, one field per target in sorted
/// order.
pub fn predict_step(
    net: &GraphCast,
    inputs: &StepInputs,
    task: &TaskConfig,
    stats: &GraphCastStats,
) -> Result<Vec<Field>> {
    let g = net.graphs();
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
    let x = stack_inputs(inputs, task, stats)?;
    let out = net.forward(&x)?;
    to_physical(&out, inputs, task, stats)
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
