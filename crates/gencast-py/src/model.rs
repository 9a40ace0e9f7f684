//! `Model`: a loaded GenCast checkpoint and its normalisation statistics, forecasting either
//! into a NetCDF file (the `gencast forecast` output) or step by step into Python callbacks.

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use gencast::checkpoint::{Checkpoint, CheckpointKind, SamplerConfig};
use gencast::data::netcdf_time::{format_datetime, parse_datetime};
use gencast::data::task::{Field, PreparedStep};
use gencast::data::{Dataset, StatsSet};
use gencast::output::forecast_nc::{
    ForecastLayout, ForecastWriter, Naming, OutputVariable, WriteMode,
};
use gencast::rollout::{override_sampler, CallProgress, ForecastRequest, Forecaster};
use numpy::PyArray1;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::errors::{invalid, to_py};
use crate::progress::Reporter;

/// Hours per GenCast step.
const STEP_HOURS: u64 = 12;

/// The most steps one call may compute (lead times must fit the files' 32-bit hours).
const MAX_STEPS: usize = 10_000;

/// Unwinds out of the library's rollout when the Python side asked to stop mid-step.
struct Cancelled;

/// A loaded GenCast model: checkpoint and normalisation statistics.
#[pyclass(module = "gencast_rs._gencast_rs", frozen)]
pub struct Model {
    ckpt_path: PathBuf,
    ckpt: Checkpoint,
    stats: StatsSet,
}

/// The arguments every forecast shares.
struct Run {
    steps: usize,
    members: u32,
    member_offset: u32,
    seed: i64,
    init_time: Option<String>,
    sampler: Vec<String>,
    threads: Option<usize>,
}

/// Everything prepared before the first denoiser call.
struct Prepared {
    ds: Dataset,
    forecaster: Forecaster,
    first: PreparedStep,
    request: ForecastRequest,
}

impl Model {
    /// Checks the arguments, reads the dataset and prepares the first step.
    fn prepare(&self, dataset: &Path, run: &Run) -> gencast::Result<Prepared> {
        let bad = |m: String| gencast::Error::Invalid(m);
        if run.members == 0 {
            return Err(bad("members must be at least 1".into()));
        }
        if run.steps == 0 || run.steps > MAX_STEPS {
            return Err(bad(format!(
                "steps must be between 1 and {MAX_STEPS}, not {}",
                run.steps
            )));
        }
        if run
            .member_offset
            .checked_add(run.members)
            .is_none_or(|e| e > i32::MAX as u32)
        {
            return Err(bad(format!(
                "member_offset {} + members {} is past the largest member number {}",
                run.member_offset,
                run.members,
                i32::MAX - 1
            )));
        }
        let mut sampler: SamplerConfig = self.ckpt.sampler_config.clone();
        for kv in &run.sampler {
            override_sampler(&mut sampler, kv)?;
        }
        let ds = Dataset::open(dataset)?;
        let first_frame = first_input_frame(&ds, run.init_time.as_deref())?;
        let report = gencast::data::checks::check_inputs(&ds, &self.ckpt.task_config, first_frame)?;
        if !report.is_ok() {
            return Err(bad(format!(
                "input checks failed for {}: {report}",
                ds.path().display()
            )));
        }
        let forecaster = Forecaster::new(&self.ckpt, ds.lat(), ds.lon())?;
        let first = forecaster.prepare(&ds, &self.stats, first_frame)?;
        let request = ForecastRequest {
            member_offset: run.member_offset,
            members: run.members,
            steps: run.steps,
            seed: run.seed,
            first_input_frame: first_frame,
            sampler,
        };
        Ok(Prepared {
            ds,
            forecaster,
            first,
            request,
        })
    }
}

/// Finds the first input frame: the frame before `init_time`, or frame 0.
fn first_input_frame(ds: &Dataset, init_time: Option<&str>) -> gencast::Result<usize> {
    let Some(text) = init_time else { return Ok(0) };
    let bad = |m: String| gencast::Error::Invalid(m);
    let ns = parse_datetime(text)
        .ok_or_else(|| bad(format!("init_time `{text}`: expected YYYY-MM-DDTHH:MM")))?;
    match ds.datetime().iter().position(|&t| t == ns) {
        Some(i) if i >= 1 => Ok(i - 1),
        Some(_) => Err(bad(format!(
            "init_time {text} is the dataset's first frame; two input frames are needed (the \
             init time and 12 h before)"
        ))),
        None => Err(bad(format!(
            "init_time {text} is not a time of {} (it has {})",
            ds.path().display(),
            ds.datetime()
                .iter()
                .map(|&t| format_datetime(t))
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// Runs `work` on a pool of `threads` threads (the global pool when `None`).
fn with_threads<T: Send>(
    threads: Option<usize>,
    work: impl FnOnce() -> gencast::Result<T> + Send,
) -> gencast::Result<T> {
    match threads {
        None => work(),
        Some(0) => Err(gencast::Error::Invalid("threads must be at least 1".into())),
        Some(n) => {
            let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
            rayon::ThreadPoolBuilder::new()
                .num_threads(n.min(cores))
                .build()
                .map_err(|e| gencast::Error::Invalid(format!("threads={n}: {e}")))?
                .install(work)
        }
    }
}

/// Runs the rollout, reporting every denoiser call to `reporter`, which may stop it (also in
/// the middle of a step). The Python exception that stopped it is returned as the error.
fn run_rollout(
    p: &Prepared,
    reporter: &mut Reporter,
    mut on_step: impl FnMut(usize, usize, &[Field]) -> gencast::Result<()>,
) -> Result<(), PyErr> {
    let stop = std::cell::Cell::new(false);
    let reporter = std::cell::RefCell::new(reporter);
    let result = catch_unwind(AssertUnwindSafe(|| {
        p.forecaster.run_with_progress(
            &p.first,
            &p.request,
            |_, _| Ok(None),
            |member, step, fields, _calls| {
                if stop.get() {
                    return Err(Reporter::stop_error());
                }
                on_step(member, step, fields)
            },
            &mut |c: CallProgress| {
                let go = reporter
                    .borrow_mut()
                    .report(c.member, c.step, c.calls, c.calls_per_step);
                if !go {
                    stop.set(true);
                    // Stops mid-step: nothing of the interrupted step is kept.
                    resume_unwind(Box::new(Cancelled));
                }
            },
        )
    }));
    let raised = reporter.borrow_mut().raised.take();
    match result {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(raised.unwrap_or_else(|| to_py(e))),
        Err(payload) if payload.is::<Cancelled>() => {
            Err(raised.unwrap_or_else(|| invalid("forecast interrupted")))
        }
        Err(payload) => resume_unwind(payload),
    }
}

/// The units written for output variable `name` (as `gencast forecast` writes them).
fn output_units(ds: &Dataset, name: &str) -> Option<String> {
    gencast::output::cf::lookup(name)
        .map(|i| i.units.to_string())
        .or_else(|| ds.variable(name).and_then(|v| v.units.clone()))
}

#[pymethods]
impl Model {
    /// Loads a GenCast checkpoint and the statistics folder (mean_by_level.nc,
    /// stddev_by_level.nc, diffs_stddev_by_level.nc, min_by_level.nc).
    #[new]
    fn new(py: Python<'_>, checkpoint: PathBuf, stats: PathBuf) -> PyResult<Model> {
        py.allow_threads(|| {
            if checkpoint.is_dir() {
                return Err(gencast::Error::Invalid(format!(
                    "checkpoint {} is a folder; give the .npz file itself",
                    checkpoint.display()
                )));
            }
            if checkpoint.is_file()
                && CheckpointKind::detect(&checkpoint).ok() == Some(CheckpointKind::GraphCast)
            {
                return Err(gencast::Error::Invalid(format!(
                    "checkpoint {} is a GraphCast checkpoint; the Python package runs GenCast \
                     checkpoints (use the gencast command for GraphCast)",
                    checkpoint.display()
                )));
            }
            let ckpt = Checkpoint::open(&checkpoint)?;
            let stats_set = StatsSet::open_dir(&stats)?;
            Ok(Model {
                ckpt_path: checkpoint,
                ckpt,
                stats: stats_set,
            })
        })
        .map_err(to_py)
    }

    /// The checkpoint's path.
    #[getter]
    fn checkpoint(&self) -> PathBuf {
        self.ckpt_path.clone()
    }

    /// The checkpoint's description.
    #[getter]
    fn description(&self) -> String {
        self.ckpt.description.clone()
    }

    /// The task's pressure levels (hPa).
    #[getter]
    fn pressure_levels(&self) -> Vec<i64> {
        self.ckpt.task_config.pressure_levels.clone()
    }

    /// Forecasts into the NetCDF file `output` exactly as `gencast forecast` writes it.
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (dataset, output, *, members, steps, seed, member_offset, init_time, sampler, threads, progress))]
    fn forecast_to_netcdf(
        &self,
        py: Python<'_>,
        dataset: PathBuf,
        output: PathBuf,
        members: u32,
        steps: usize,
        seed: i64,
        member_offset: u32,
        init_time: Option<String>,
        sampler: Vec<String>,
        threads: Option<usize>,
        progress: Option<PyObject>,
    ) -> PyResult<()> {
        let run = Run {
            steps,
            members,
            member_offset,
            seed,
            init_time,
            sampler,
            threads,
        };
        let mut reporter = Reporter::new(progress);
        py.allow_threads(|| {
            let threads = run.threads;
            with_threads(threads, || {
                Ok(self.write_netcdf(&dataset, &output, &run, &mut reporter))
            })
            .map_err(to_py)?
        })
    }

    /// Forecasts step by step: `on_step(member, step, fields)` receives each finished step's
    /// fields as a dict of flat float32 arrays (level-major, then latitude, then longitude).
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (dataset, *, members, steps, seed, member_offset, init_time, sampler, threads, on_step, progress))]
    fn rollout(
        &self,
        py: Python<'_>,
        dataset: PathBuf,
        members: u32,
        steps: usize,
        seed: i64,
        member_offset: u32,
        init_time: Option<String>,
        sampler: Vec<String>,
        threads: Option<usize>,
        on_step: PyObject,
        progress: Option<PyObject>,
    ) -> PyResult<()> {
        let run = Run {
            steps,
            members,
            member_offset,
            seed,
            init_time,
            sampler,
            threads,
        };
        let mut reporter = Reporter::new(progress);
        py.allow_threads(|| {
            with_threads(run.threads, || {
                let p = match self.prepare(&dataset, &run) {
                    Ok(p) => p,
                    Err(e) => return Ok(Err(to_py(e))),
                };
                let mut failed: Option<PyErr> = None;
                let r = run_rollout(&p, &mut reporter, |member, step, fields| {
                    Python::with_gil(|py| {
                        let dict = PyDict::new(py);
                        for f in fields {
                            dict.set_item(&f.name, PyArray1::from_vec(py, f.data.clone()))?;
                        }
                        on_step.call1(py, (member + run.member_offset as usize, step, dict))?;
                        Ok(())
                    })
                    .map_err(|e: PyErr| {
                        failed = Some(e);
                        Reporter::stop_error()
                    })
                });
                Ok(match (r, failed) {
                    (_, Some(e)) => Err(e),
                    (r, None) => r,
                })
            })
            .map_err(to_py)?
        })
    }

    /// The predicted variables in output order: `(name, levels)` pairs (no levels for surface
    /// variables).
    fn output_variables(&self) -> PyResult<Vec<(String, Vec<i32>)>> {
        let layout = gencast::data::stacking::StackLayout::for_task(&self.ckpt.task_config)
            .map_err(to_py)?;
        Ok(layout
            .outputs()
            .iter()
            .map(|o| (o.name.clone(), o.levels.clone()))
            .collect())
    }
}

impl Model {
    /// Runs the forecast into a NetCDF file with the CLI's layout and attributes.
    fn write_netcdf(
        &self,
        dataset: &Path,
        output: &Path,
        run: &Run,
        reporter: &mut Reporter,
    ) -> PyResult<()> {
        let p = self.prepare(dataset, run).map_err(to_py)?;
        let f = &p.forecaster;
        let init_ns = *p
            .first
            .input_datetimes()
            .last()
            .ok_or_else(|| invalid("the prepared step has no input datetimes"))?;
        let sampler_json = serde_json::to_string(&p.request.sampler)
            .map_err(|e| invalid(format!("sampler settings: {e}")))?;
        let layout = ForecastLayout {
            variables: f
                .layout()
                .outputs()
                .iter()
                .map(|o| OutputVariable {
                    name: o.name.clone(),
                    levelled: !o.levels.is_empty(),
                    units: output_units(&p.ds, &o.name),
                })
                .collect(),
            levels: f.layout().levels().to_vec(),
            lat: p.ds.lat().to_vec(),
            lon: p.ds.lon().to_vec(),
            members: (0..run.members)
                .map(|i| (run.member_offset + i) as i32)
                .collect(),
            lead_hours: (0..run.steps)
                .map(|s| ((s as u64 + 1) * STEP_HOURS) as i32)
                .collect(),
            init_time: format_datetime(init_ns),
            history: format!(
                "gencast {} forecast: checkpoint {}, dataset {}, seed {}, sampler {}",
                env!("CARGO_PKG_VERSION"),
                self.ckpt_path.display(),
                dataset.display(),
                run.seed,
                sampler_json
            ),
            naming: Naming::Reference,
        };
        let settings = serde_json::json!({ "seed": run.seed, "sampler": &p.request.sampler });
        let mode = WriteMode {
            resume: false,
            overwrite: true,
        };
        let mut w =
            ForecastWriter::open_resumable(output, layout, &settings, mode).map_err(to_py)?;
        run_rollout(&p, reporter, |member, step, fields| {
            for (v, field) in fields.iter().enumerate() {
                w.write_field(member, step, v, &field.data)?;
            }
            w.complete_step(member, step)
        })?;
        w.finish().map_err(to_py)
    }
}
