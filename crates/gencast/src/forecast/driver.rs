//! The run loop every model family shares: dataset, init time, checks, layout, statics, sinks,
//! resume, progress and cancellation around a [`Family`]'s hooks.

use std::time::Instant;

use serde_json::{json, Value};

use crate::data::checks::check_inputs_every;
use crate::data::netcdf_time::format_datetime;
use crate::data::Dataset;
use crate::forecast::Field;
use crate::forecast::{ForecastLayout, OutputVariable};
use crate::{Error, Result};

use super::family::{Family, RunContext};
use super::model::{Loaded, Model};
use super::options::LeadTime;
use super::request::{Progress, Request, Summary, MAX_MEMBER_STEPS};
use super::select::Selection;
use super::sink::ForecastSink;
use super::timing::first_input_frame;
use crate::models::gencast::family::GenCast;
use crate::models::graphcast::family::GraphCast;

/// Runs `req` with `model` into `sink`.
pub(crate) fn run(
    req: &Request<'_>,
    ctx: &mut RunContext<'_>,
    model: &Model,
    sink: &mut dyn ForecastSink,
) -> Result<Summary> {
    match &model.loaded {
        Loaded::GenCast(ckpt, stats) => run_family(&GenCast { ckpt, stats }, req, ctx, model, sink),
        Loaded::GraphCast(ckpt, stats) => {
            run_family(&GraphCast { ckpt, stats }, req, ctx, model, sink)
        }
    }
}

/// The run loop over one family.
fn run_family(
    family: &dyn Family,
    req: &Request<'_>,
    ctx: &mut RunContext<'_>,
    model: &Model,
    sink: &mut dyn ForecastSink,
) -> Result<Summary> {
    family.check_request(req, ctx)?;
    let step_hours = family.step_hours();
    let steps = req.step_count(step_hours)?;
    if req.members == 0 {
        bail!("Forecast::members must be at least 1");
    }
    if req.members as usize * steps > MAX_MEMBER_STEPS {
        bail!(
            "Forecast::members {} × {steps} steps is more than the {MAX_MEMBER_STEPS} (member, step) \
             pairs one run may compute; split the ensemble over several runs (Forecast::member_offset)",
            req.members
        );
    }
    let end = req
        .member_offset
        .checked_add(req.members)
        .filter(|&e| e <= i32::MAX as u32)
        .ok_or_else(|| {
            Error::Invalid(format!(
                "Forecast::member_offset {} + Forecast::members {} is past the largest member number {}",
                req.member_offset,
                req.members,
                i32::MAX - 1
            ))
        })?;
    let every_hours = req.output_every.map(LeadTime::as_hours);

    let t0 = Instant::now();
    let ds = req.open_dataset()?;
    let first_frame = first_input_frame(
        &ds,
        req.init_time.as_ref(),
        family.input_frames()?,
        step_hours,
    )?;
    let report = check_inputs_every(&ds, model.task(), first_frame, step_hours as i64)?;
    if !report.is_ok() {
        bail!("input checks failed for {}: {report}", ds.path().display());
    }
    let started = family.start(req, model, &ds, first_frame, ctx)?;

    let outputs: Vec<&str> = started.outputs.iter().map(|o| o.name.as_str()).collect();
    let model_levels = &started.levels;
    let selection = Selection::new(
        &outputs,
        model_levels,
        (ds.lat(), ds.lon()),
        steps,
        &req.variables,
        &req.levels,
        req.region,
        every_hours,
        step_hours,
    )?;
    let everything = selection.is_everything(outputs.len(), model_levels.len(), ds.lat().len());
    if sink.resumes() && !everything {
        bail!(
            "WriteMode::resume replays the written steps as inputs, so it needs every variable, level and \
             step in the output; drop Forecast::variables, Forecast::levels, Forecast::region and Forecast::output_every to resume"
        );
    }
    let levels: Vec<i32> = selection.levels.iter().map(|&i| model_levels[i]).collect();
    let mut layout = ForecastLayout {
        variables: selection
            .variables
            .iter()
            .map(|&i| &started.outputs[i])
            .map(|o| OutputVariable {
                name: o.name.clone(),
                levelled: o.levelled,
                units: output_units(&ds, &o.name),
                statistic: None,
            })
            .collect(),
        levels: levels.clone(),
        lat: selection.lat.iter().map(|&i| ds.lat()[i]).collect(),
        lon: selection.lon_values.clone(),
        members: (req.member_offset..end).map(|m| m as i32).collect(),
        lead_hours: (0..steps)
            .filter(|&s| selection.slot(s).is_some())
            .map(|s| ((s as u64 + 1) * step_hours) as i32)
            .collect(),
        init_time: format_datetime(started.init_ns),
        history: started.history.clone(),
        naming: req.naming,
        statics: Vec::new(),
    };
    layout.statics = crate::output::statics::from_dataset(&ds, &layout.lat, &layout.lon)?;
    let settings = run_settings(model, &ds, sink, started.settings.clone())?;
    sink.begin(&layout, &settings)?;
    ctx.forward_notes(sink);

    // Nothing is replayed from a partial output: every step is computed.
    let skip = |sink: &dyn ForecastSink, m: usize, s: usize| everything && sink.is_complete(m, s);
    let members = req.members as usize;
    // Steps to compute: all but each member's leading run of completed steps (those replayed).
    let to_compute: usize = (0..members)
        .map(|m| steps - (0..steps).take_while(|&s| skip(sink, m, s)).count())
        .sum();
    ctx.report(Progress::Started {
        members,
        steps,
        to_compute,
    });
    let (mut computed, mut calls_total) = (0usize, 0usize);
    let rollout = started.state.rollout()?;
    for m in 0..members {
        let mut member = rollout.member(m)?;
        let mut replaying = true;
        for step in 0..steps {
            if replaying && skip(sink, m, step) {
                let fields = sink.read(m, step)?;
                ctx.report(Progress::StepSkipped { member: m, step });
                member.advance(step, &fields)?;
                continue;
            }
            replaying = false;
            ctx.check_cancel()?;
            let (fields, calls) = member.predict(step, ctx)?;
            if let Some(slot) = selection.slot(step) {
                sink.write(m, slot, &cut_step(&fields, &selection, &levels))?;
            }
            computed += 1;
            calls_total += calls;
            ctx.report(Progress::StepDone {
                member: m,
                step,
                calls,
            });
            member.advance(step, &fields)?;
        }
    }
    sink.finish()?;
    Ok(Summary {
        members: (req.member_offset..end).collect(),
        steps,
        steps_computed: computed,
        steps_skipped: members * steps - computed,
        denoiser_calls: calls_total,
        seconds: t0.elapsed().as_secs_f64(),
    })
}

/// The units written for output variable `name`: the CF table's, so every file says the same;
/// the dataset's own `units` only for a variable the table does not know.
fn output_units(ds: &Dataset, name: &str) -> Option<String> {
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
fn cut_step(fields: &[Field], sel: &Selection, levels: &[i32]) -> Vec<Field> {
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

/// The run's settings stored with the output: the family's, then the content identities of
/// the input files when the sink compares them.
fn run_settings(
    model: &Model,
    ds: &Dataset,
    sink: &dyn ForecastSink,
    mut settings: Value,
) -> Result<Value> {
    if sink.wants_identity() {
        settings["inputs"] = input_identities(model, ds)?;
    }
    Ok(settings)
}

/// The content identities of a run's input files, keyed by role (`checkpoint`, `dataset`,
/// `stats/<file>`).
fn input_identities(model: &Model, ds: &Dataset) -> Result<Value> {
    use crate::output::guard::file_identity;
    let mut m = serde_json::Map::new();
    m.insert("checkpoint".into(), file_identity(model.checkpoint_path())?);
    m.insert("dataset".into(), file_identity(ds.path())?);
    match model.stats_dir() {
        Some(dir) => {
            for f in model.stats_files() {
                m.insert(format!("stats/{f}"), file_identity(&dir.join(f))?);
            }
        }
        None => {
            m.insert("stats".into(), json!("in memory"));
        }
    }
    Ok(Value::Object(m))
}
