//! A GraphCast forecast: the deterministic 6 h rollout of `graphcast.GraphCast` fed back as
//! `rollout.chunked_prediction` does, written as an ensemble of one member (number 0).

use std::time::Instant;

use serde_json::json;

use crate::checkpoint::graphcast::GRAPHCAST_TIMESTEP_HOURS;
use crate::checkpoint::GraphCastCheckpoint;
use crate::data::checks::check_inputs_every;
use crate::data::netcdf_time::format_datetime;
use crate::data::stacking::sorted_names;
use crate::data::task::Field;
use crate::model::graphcast::{GraphCastStats, StepInputs};
use crate::output::forecast_nc::{ForecastLayout, Naming, OutputVariable};
use crate::{Error, Result};

use super::builder::{seconds_since, Forecast, Progress, Summary};
use super::gencast::{cut_step, output_units, setup_message};
use super::model::Model;
use super::prepared::Network;
use super::select::Selection;
use super::sink::ForecastSink;
use super::timing::first_input_frame;

/// Hours per GraphCast step.
const STEP_HOURS: u64 = GRAPHCAST_TIMESTEP_HOURS as u64;

/// Refuses the options of an ensemble forecast: a deterministic model has one member.
fn refuse_ensemble_options(f: &mut Forecast<'_>) -> Result<()> {
    const WHY: &str =
        "a GraphCast checkpoint makes a deterministic forecast, written as one member";
    if f.members != 1 {
        bail!("--members {}: {WHY}", f.members);
    }
    if f.member_offset != 0 {
        bail!("--member-offset {}: {WHY} (number 0)", f.member_offset);
    }
    if let Some(kv) = f.sampler.first() {
        bail!(
            "--sampler {kv}: a GraphCast checkpoint has no sampler (it is not a diffusion model)"
        );
    }
    // The output selections and layouts are written by the GenCast path only so far.
    let selections = [
        ("--variables", !f.variables.is_empty()),
        ("--levels", !f.levels.is_empty()),
        ("--region", f.region.is_some()),
        ("--output-every", f.output_every.is_some()),
        ("--layout weatherbench2", f.naming != Naming::Reference),
    ];
    if let Some((flag, _)) = selections.iter().find(|(_, given)| *given) {
        bail!("{flag}: not available for GraphCast forecasts yet; the whole prediction is written");
    }
    if f.seed != 0 {
        let seed = f.seed;
        f.report(Progress::Warning(format!(
            "--seed {seed} is ignored: GraphCast draws no random numbers"
        )));
    }
    Ok(())
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

/// Runs a GraphCast forecast.
pub(crate) fn run(
    f: &mut Forecast<'_>,
    model: &Model,
    ckpt: &GraphCastCheckpoint,
    stats: &GraphCastStats,
    sink: &mut dyn ForecastSink,
) -> Result<Summary> {
    refuse_ensemble_options(f)?;
    let steps = f.step_count(STEP_HOURS)?;
    let t0 = Instant::now();
    let task = &ckpt.task_config;
    let ds = f.open_dataset()?;
    for w in stats.warnings(task) {
        f.report(Progress::Warning(w));
    }
    let n_frames = task.num_input_frames(GRAPHCAST_TIMESTEP_HOURS)?;
    let first_frame = first_input_frame(&ds, f.init_time.as_deref(), n_frames, STEP_HOURS)?;
    let report = check_inputs_every(&ds, task, first_frame, STEP_HOURS as i64)?;
    if !report.is_ok() {
        bail!("input checks failed for {}: {report}", ds.path().display());
    }
    ckpt.model_config.check_grid(ds.lon().len())?;
    let mut inputs = StepInputs::from_dataset(&ds, task, first_frame)?;
    let precision = f.precision;
    let (prepared, reused) = model.prepared_for(ds.lat(), ds.lon(), precision)?;
    let Network::GraphCast(net) = &prepared.network else {
        bail!("the model prepared a GenCast network for a GraphCast checkpoint");
    };
    let g = net.graphs();
    f.report(Progress::Info(setup_message(
        &prepared,
        reused,
        ckpt.params.num_params(),
    )));
    f.report(Progress::Info(format!(
        "GraphCast ready in {:.2} s ({} parameters): grid {}x{}, mesh {} nodes, {} grid2mesh and {} mesh2grid edges; {} threads, {} kernels, {}",
        seconds_since(t0),
        ckpt.params.num_params(),
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
    let mut layout = ForecastLayout {
        variables: sorted_names(&task.target_variables)
            .into_iter()
            .map(|name| OutputVariable {
                levelled: !inputs.levels_of(&name).is_empty(),
                units: output_units(&ds, &name),
                statistic: None,
                name,
            })
            .collect(),
        levels: inputs.levels().to_vec(),
        lat: ds.lat().to_vec(),
        lon: ds.lon().to_vec(),
        naming: Naming::Reference,
        statics: Vec::new(),
        members: vec![0],
        lead_hours: (1..=steps)
            .map(|s| (s as u64 * STEP_HOURS) as i32)
            .collect(),
        init_time: format_datetime(init_ns),
        history: format!(
            "gencast {} forecast: GraphCast checkpoint {}, dataset {}, precision {}",
            env!("CARGO_PKG_VERSION"),
            model.checkpoint_path().display(),
            ds.path().display(),
            precision.name()
        ),
    };
    layout.statics = crate::output::statics::from_dataset(&ds, &layout.lat, &layout.lon)?;
    let settings = f.run_settings(
        model,
        &ds,
        sink,
        json!({ "model": "graphcast", "precision": precision.name() }),
    )?;
    // The whole prediction is written (selections are refused above).
    let names: Vec<&str> = layout.variables.iter().map(|v| v.name.as_str()).collect();
    let everything = Selection::new(
        &names,
        &layout.levels,
        (ds.lat(), ds.lon()),
        steps,
        &[],
        &[],
        None,
        None,
        STEP_HOURS,
    )?;
    sink.begin(&layout, &settings)?;
    f.forward_notes(sink);
    let to_compute = (0..steps).filter(|&s| !sink.is_complete(0, s)).count();
    f.report(Progress::Started {
        members: 1,
        steps,
        to_compute,
    });
    let mut computed = 0usize;
    for step in 0..steps {
        let fields = if sink.is_complete(0, step) {
            f.report(Progress::StepSkipped { member: 0, step });
            sink.read(0, step)?
        } else {
            f.check_cancel()?;
            let fields = net.predict_step(&inputs, task, stats)?;
            if f.debug_nans {
                if let Some(at) = non_finite(&fields, ds.lat(), ds.lon()) {
                    bail!("step {}: non-finite prediction at {at}", step + 1);
                }
            }
            sink.write(0, step, &cut_step(&fields, &everything, &layout.levels))?;
            computed += 1;
            f.report(Progress::StepDone {
                member: 0,
                step,
                calls: 0,
            });
            fields
        };
        if step + 1 < steps {
            inputs.advance(&fields, Some(&ds))?;
        }
    }
    sink.finish()?;
    Ok(Summary {
        members: vec![0],
        steps,
        steps_computed: computed,
        steps_skipped: steps - computed,
        denoiser_calls: 0,
        seconds: seconds_since(t0),
    })
}
