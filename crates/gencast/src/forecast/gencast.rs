//! A GenCast forecast: the ensemble rollout of [`crate::rollout::Forecaster`] into a sink.

use std::time::Instant;

use serde_json::json;

use crate::checkpoint::Checkpoint;
use crate::data::checks::check_inputs;
use crate::data::netcdf_time::format_datetime;
use crate::data::task::Field;
use crate::data::StatsSet;
use crate::output::forecast_nc::{ForecastLayout, OutputVariable};
use crate::rollout::{override_sampler, ForecastRequest};
use crate::{Error, Result};

use super::builder::{seconds_since, Forecast, Progress, Summary, MAX_MEMBER_STEPS};
use super::model::{Model, GENCAST_STEP_HOURS};
use super::prepared::{Network, Prepared};
use super::select::Selection;
use super::sink::ForecastSink;
use super::timing::{first_input_frame, hours};

/// Input frames GenCast reads (the init time and one step before).
const INPUT_FRAMES: usize = 2;

/// The units written for output variable `name`: the CF table's, so every file says the same;
/// the dataset's own `units` only for a variable the table does not know.
pub(crate) fn output_units(ds: &crate::data::Dataset, name: &str) -> Option<String> {
    crate::variables::lookup(name)
        .map(|i| i.units.to_string())
        .or_else(|| {
            ds.variables()
                .iter()
                .find(|v| v.name == name)
                .and_then(|v| v.units.clone())
        })
}

/// The selected part of a finished step, as the sink receives it.
pub(crate) fn cut_step(fields: &[Field], sel: &Selection, levels: &[i32]) -> Vec<Field> {
    sel.variables
        .iter()
        .map(|&i| {
            let f = &fields[i];
            Field {
                name: f.name.clone(),
                levels: if f.levels.is_empty() {
                    Vec::new()
                } else {
                    levels.to_vec()
                },
                data: sel.cut(f, f.levels.len()),
            }
        })
        .collect()
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

/// Runs a GenCast forecast.
pub(crate) fn run(
    f: &mut Forecast<'_>,
    model: &Model,
    ckpt: &Checkpoint,
    stats: &StatsSet,
    sink: &mut dyn ForecastSink,
) -> Result<Summary> {
    if f.precision != crate::model::graphcast::Precision::F32 {
        bail!(
            "--precision bf16-cast applies to GraphCast checkpoints; {} is a GenCast checkpoint, \
             which runs in float32",
            model.checkpoint_path().display()
        );
    }
    let steps = f.step_count(GENCAST_STEP_HOURS)?;
    if f.members == 0 {
        bail!("--members must be at least 1");
    }
    if f.members as usize * steps > MAX_MEMBER_STEPS {
        bail!(
            "--members {} × {steps} steps is more than the {MAX_MEMBER_STEPS} (member, step) \
             pairs one run may compute; split the ensemble over several runs (--member-offset)",
            f.members
        );
    }
    let end = f
        .member_offset
        .checked_add(f.members)
        .filter(|&e| e <= i32::MAX as u32)
        .ok_or_else(|| {
            Error::Invalid(format!(
                "--member-offset {} + --members {} is past the largest member number {}",
                f.member_offset,
                f.members,
                i32::MAX - 1
            ))
        })?;
    let every_hours = match &f.output_every {
        Some(t) => Some(hours("--output-every", t)?),
        None => None,
    };

    let t0 = Instant::now();
    let mut sampler = ckpt.sampler_config.clone();
    for kv in &f.sampler {
        override_sampler(&mut sampler, kv)?;
    }
    let ds = f.open_dataset()?;
    let first_frame = first_input_frame(
        &ds,
        f.init_time.as_deref(),
        INPUT_FRAMES,
        GENCAST_STEP_HOURS,
    )?;
    let report = check_inputs(&ds, &ckpt.task_config, first_frame)?;
    if !report.is_ok() {
        bail!("input checks failed for {}: {report}", ds.path().display());
    }
    let (net, reused) = model.prepared_for(ds.lat(), ds.lon(), f.precision)?;
    let Network::GenCast(forecaster) = &net.network else {
        bail!("the model prepared a GraphCast network for a GenCast checkpoint");
    };
    forecaster.set_debug_nans(f.debug_nans);
    let prepared = forecaster.prepare(&ds, stats, first_frame)?;
    for w in prepared.warnings() {
        f.report(Progress::Warning(w.clone()));
    }
    let g = forecaster.graphs();
    f.report(Progress::Info(setup_message(
        &net,
        reused,
        ckpt.params.num_params(),
    )));
    f.report(Progress::Info(format!(
        "model ready in {:.2} s: grid {}x{}, mesh {} nodes, {} grid2mesh and {} mesh2grid edges; {} threads, {} kernels, float32",
        seconds_since(t0),
        ds.lat().len(),
        ds.lon().len(),
        g.n_mesh,
        g.grid2mesh.len(),
        g.mesh2grid.len(),
        rayon::current_num_threads(),
        crate::kernels::isa::active()
    )));

    let outputs: Vec<&str> = forecaster
        .layout()
        .outputs()
        .iter()
        .map(|o| o.name.as_str())
        .collect();
    let model_levels = forecaster.layout().levels().to_vec();
    let selection = Selection::new(
        &outputs,
        &model_levels,
        (ds.lat(), ds.lon()),
        steps,
        &f.variables,
        &f.levels,
        f.region,
        every_hours,
        GENCAST_STEP_HOURS,
    )?;
    let everything = selection.is_everything(outputs.len(), model_levels.len(), ds.lat().len());
    if sink.resumes() && !everything {
        bail!(
            "--resume replays the written steps as inputs, so it needs every variable, level and \
             step in the output; drop --variables, --levels, --region and --output-every to resume"
        );
    }
    let init_ns = *prepared
        .input_datetimes()
        .last()
        .ok_or_else(|| Error::Invalid("the prepared step has no input datetimes".into()))?;
    let levels: Vec<i32> = selection.levels.iter().map(|&i| model_levels[i]).collect();
    let mut layout = ForecastLayout {
        variables: selection
            .variables
            .iter()
            .map(|&i| &forecaster.layout().outputs()[i])
            .map(|o| OutputVariable {
                name: o.name.clone(),
                levelled: !o.levels.is_empty(),
                units: output_units(&ds, &o.name),
                statistic: None,
            })
            .collect(),
        levels: levels.clone(),
        lat: selection.lat.iter().map(|&i| ds.lat()[i]).collect(),
        lon: selection.lon_values.clone(),
        members: (0..f.members)
            .map(|i| (f.member_offset + i) as i32)
            .collect(),
        lead_hours: (0..steps)
            .filter(|&s| selection.slot(s).is_some())
            .map(|s| ((s as u64 + 1) * GENCAST_STEP_HOURS) as i32)
            .collect(),
        init_time: format_datetime(init_ns),
        history: format!(
            "gencast {} forecast: checkpoint {}, dataset {}, seed {}, sampler {}",
            env!("CARGO_PKG_VERSION"),
            model.checkpoint_path().display(),
            ds.path().display(),
            f.seed,
            serde_json::to_string(&sampler)
                .map_err(|e| Error::Invalid(format!("sampler settings: {e}")))?
        ),
        naming: f.naming,
        statics: Vec::new(),
    };
    layout.statics = crate::output::statics::from_dataset(&ds, &layout.lat, &layout.lon)?;
    let request = ForecastRequest {
        member_offset: f.member_offset,
        members: f.members,
        steps,
        seed: f.seed,
        first_input_frame: first_frame,
        sampler,
    };
    let settings = f.run_settings(
        model,
        &ds,
        sink,
        json!({ "seed": f.seed, "sampler": &request.sampler }),
    )?;
    sink.begin(&layout, &settings)?;
    f.forward_notes(sink);
    // Nothing is replayed from a partial output: every step is computed.
    let skip = |sink: &dyn ForecastSink, m: usize, s: usize| everything && sink.is_complete(m, s);
    let members = f.members as usize;
    // Steps to compute: all but each member's leading run of completed steps (those replayed).
    let to_compute: usize = (0..members)
        .map(|m| steps - (0..steps).take_while(|&s| skip(sink, m, s)).count())
        .sum();
    f.report(Progress::Started {
        members,
        steps,
        to_compute,
    });
    let (mut computed, mut calls_total) = (0usize, 0usize);
    {
        let cancel = f.cancel.clone();
        let progress = std::cell::RefCell::new(&mut *f);
        let sink = std::cell::RefCell::new(&mut *sink);
        let done = |member: usize, step: usize| -> Result<Option<Vec<Field>>> {
            let s = sink.borrow();
            if !skip(&**s, member, step) {
                return Ok(None);
            }
            let fields = s.read(member, step)?;
            progress
                .borrow_mut()
                .report(Progress::StepSkipped { member, step });
            Ok(Some(fields))
        };
        let on_step = |member: usize, step: usize, fields: &[Field], calls: usize| {
            if let Some(slot) = selection.slot(step) {
                sink.borrow_mut()
                    .write(member, slot, &cut_step(fields, &selection, &levels))?;
            }
            computed += 1;
            calls_total += calls;
            progress.borrow_mut().report(Progress::StepDone {
                member,
                step,
                calls,
            });
            Ok(())
        };
        forecaster.run_with_progress(
            &prepared,
            &request,
            done,
            on_step,
            &mut |p| progress.borrow_mut().report(Progress::Call(p)),
            cancel.as_deref(),
        )?;
    }
    sink.finish()?;
    Ok(Summary {
        members: (f.member_offset..end).collect(),
        steps,
        steps_computed: computed,
        steps_skipped: members * steps - computed,
        denoiser_calls: calls_total,
        seconds: seconds_since(t0),
    })
}
