//! `Model`: a loaded checkpoint with its statistics, forecasting through the library's
//! [`Forecast`] builder into memory (the NetCDF file's variables) or, step by step, into a
//! Python callback.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use gencast::data::stats::{Entry, NormStats};
use gencast::forecast::output::{check_output, sink_for};
use gencast::forecast::Field;
use gencast::forecast::{AttrValue, CoordValues, ForecastLayout, WriteMode};
use gencast::forecast::{
    Forecast, ForecastSink, MemorySink, MemoryVariable, Model as Engine, ModelKind, Progress,
    Stats, Summary,
};
use gencast::forecast::{InitTime, SamplerOverrides};
use numpy::PyArray1;
use pyo3::exceptions::PyUserWarning;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::dataset::{dataset_arg, DatasetArg};
use crate::errors::{python_names, to_py};

/// The first Python exception raised during a run (by a callback or a pending signal).
type Raised = Arc<Mutex<Option<PyErr>>>;

/// A loaded model: GenCast or GraphCast checkpoint and its normalisation statistics.
#[pyclass(module = "gencast_rs._gencast_rs", frozen)]
pub struct Model {
    engine: Engine,
}

/// One statistics dataset in memory: its `level` coordinate and its variables.
type StatsEntries = (Vec<i32>, Vec<(String, Vec<f64>, bool)>);

/// Builds one statistics set from `(levels, [(name, values, levelled)])`.
fn norm_stats(label: &str, (levels, vars): StatsEntries) -> gencast::Result<NormStats> {
    let entries = vars.into_iter().map(|(name, values, levelled)| {
        let e = if levelled {
            Entry::Levelled(values)
        } else {
            Entry::Scalar(values.first().copied().unwrap_or(f64::NAN))
        };
        (name, e)
    });
    NormStats::from_entries(format!("{label} (xarray)"), levels, entries)
}

/// The arguments every forecast shares.
struct RunArgs {
    dataset: DatasetArg,
    members: u32,
    steps: usize,
    seed: i64,
    member_offset: u32,
    init_time: Option<String>,
    sampler: Vec<String>,
    threads: Option<usize>,
}

/// Converts an attribute to Python: text as `str`, numbers as a NumPy array of their type.
fn attr_to_py(py: Python<'_>, v: &AttrValue) -> PyObject {
    match v {
        AttrValue::Text(s) => s.into_pyobject(py).unwrap().into_any().unbind(),
        AttrValue::Double(x) => PyArray1::from_slice(py, x).into_any().unbind(),
        AttrValue::Int(x) => PyArray1::from_slice(py, x).into_any().unbind(),
        AttrValue::Float(x) => PyArray1::from_slice(py, x).into_any().unbind(),
    }
}

/// Converts one variable of an in-memory forecast to a dict (values moved, not copied).
fn variable_to_py(py: Python<'_>, v: MemoryVariable) -> PyResult<Bound<'_, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("name", v.name)?;
    d.set_item("dims", v.dims)?;
    d.set_item("shape", v.shape)?;
    match v.values {
        CoordValues::Int(x) => d.set_item("values", PyArray1::from_vec(py, x))?,
        CoordValues::Float(x) => d.set_item("values", PyArray1::from_vec(py, x))?,
        CoordValues::Double(x) => d.set_item("values", PyArray1::from_vec(py, x))?,
    }
    let attrs = PyList::empty(py);
    for (k, a) in &v.attrs {
        attrs.append((k, attr_to_py(py, a)))?;
    }
    d.set_item("attrs", attrs)?;
    Ok(d)
}

/// Hands each finished step to a Python callable `on_step(member, step, fields)`.
struct CallbackSink {
    on_step: PyObject,
    members: Vec<i32>,
    raised: Raised,
}

impl ForecastSink for CallbackSink {
    fn begin(&mut self, layout: &ForecastLayout, _run: &serde_json::Value) -> gencast::Result<()> {
        self.members = layout.members.clone();
        Ok(())
    }

    fn write(&mut self, member: usize, slot: usize, fields: &[Field]) -> gencast::Result<()> {
        let number = self.members.get(member).copied().unwrap_or(member as i32);
        Python::with_gil(|py| -> PyResult<()> {
            let dict = PyDict::new(py);
            for f in fields {
                dict.set_item(&f.name, PyArray1::from_slice(py, &f.data))?;
            }
            self.on_step.call1(py, (number, slot, dict))?;
            Ok(())
        })
        .map_err(|e| {
            self.raised
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get_or_insert(e);
            gencast::Error::Cancelled
        })
    }

    fn finish(&mut self) -> gencast::Result<()> {
        Ok(())
    }
}

impl Model {
    /// Runs a forecast into `sink`, reporting progress to `progress(member, step, calls,
    /// calls_per_step)`; the first exception a callback raises (or Ctrl-C) stops the run
    /// within one denoiser call and is returned.
    fn run(
        &self,
        py: Python<'_>,
        args: RunArgs,
        progress: Option<PyObject>,
        raised: Raised,
        sink: &mut dyn ForecastSink,
    ) -> PyResult<Summary> {
        let cancel = Arc::new(AtomicBool::new(false));
        let graphcast = self.engine.kind() == ModelKind::GraphCast;
        let report = {
            let (cancel, raised) = (cancel.clone(), raised.clone());
            move |p: &Progress| {
                let (member, step, calls, per_step) = match p {
                    Progress::Call(c) => (c.member, c.step, c.calls, c.calls_per_step),
                    Progress::StepDone { member, step, .. } if graphcast => (*member, *step, 1, 1),
                    Progress::Warning(w) => {
                        Python::with_gil(|py| {
                            let category = py.get_type::<PyUserWarning>();
                            let text = std::ffi::CString::new(python_names(w)).unwrap_or_default();
                            if let Err(e) = PyErr::warn(py, &category, &text, 1) {
                                e.restore(py);
                            }
                        });
                        return;
                    }
                    _ => return,
                };
                if cancel.load(Ordering::Relaxed) {
                    return;
                }
                Python::with_gil(|py| {
                    // Ctrl-C arrives as a pending signal on the main thread; elsewhere the
                    // Python side sets its own stop flag and raises from the callback.
                    let mut r = py.check_signals();
                    if r.is_ok() {
                        if let Some(cb) = &progress {
                            r = cb.call1(py, (member, step, calls, per_step)).map(|_| ());
                        }
                    }
                    if let Err(e) = r {
                        raised
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .get_or_insert(e);
                        cancel.store(true, Ordering::Relaxed);
                    }
                });
            }
        };
        let engine = &self.engine;
        let result = py.allow_threads(move || {
            let f = match &args.dataset {
                DatasetArg::Path(p) => Forecast::new(p.clone()),
                DatasetArg::Memory(d) => Forecast::with_dataset(d),
            };
            let mut f = f
                .members(args.members)
                .member_offset(args.member_offset)
                .steps(args.steps)
                .seed(args.seed)
                .progress(report)
                .cancel_flag(cancel);
            f = f.sampler(SamplerOverrides::parse(&args.sampler)?);
            if let Some(t) = args.init_time {
                f = f.init_time(t.parse::<InitTime>()?);
            }
            if let Some(n) = args.threads {
                f = f.threads(n);
            }
            f.run(engine, sink)
        });
        let pending = raised.lock().unwrap_or_else(|p| p.into_inner()).take();
        match (result, pending) {
            (Ok(summary), None) => Ok(summary),
            (_, Some(e)) => Err(e),
            (Err(e), None) => Err(to_py(e)),
        }
    }
}

#[pymethods]
impl Model {
    /// Loads a checkpoint and the statistics folder (mean_by_level.nc, stddev_by_level.nc,
    /// diffs_stddev_by_level.nc and, for GenCast, min_by_level.nc).
    #[new]
    fn new(py: Python<'_>, checkpoint: PathBuf, stats: PathBuf) -> PyResult<Model> {
        py.allow_threads(|| Engine::load(&checkpoint, &stats))
            .map(|engine| Model { engine })
            .map_err(to_py)
    }

    /// Loads a checkpoint with statistics given in memory: a dict from file name
    /// (`mean_by_level`, ...) to `(levels, [(variable, values, levelled)])`.
    #[staticmethod]
    fn with_stats(
        py: Python<'_>,
        checkpoint: PathBuf,
        stats: std::collections::HashMap<String, StatsEntries>,
    ) -> PyResult<Model> {
        py.allow_threads(|| {
            let mut stats = stats;
            let mut take = |name: &str| -> gencast::Result<Option<NormStats>> {
                stats.remove(name).map(|e| norm_stats(name, e)).transpose()
            };
            let missing = |name: &str| gencast::Error::Invalid(format!("stats: no {name} dataset"));
            let set = Stats {
                mean_by_level: take("mean_by_level")?.ok_or_else(|| missing("mean_by_level"))?,
                stddev_by_level: take("stddev_by_level")?
                    .ok_or_else(|| missing("stddev_by_level"))?,
                diffs_stddev_by_level: take("diffs_stddev_by_level")?
                    .ok_or_else(|| missing("diffs_stddev_by_level"))?,
                min_by_level: take("min_by_level")?,
            };
            Engine::load_with_stats(&checkpoint, set)
        })
        .map(|engine| Model { engine })
        .map_err(to_py)
    }

    /// The checkpoint's path.
    #[getter]
    fn checkpoint(&self) -> PathBuf {
        self.engine.checkpoint_path().to_path_buf()
    }

    /// The checkpoint's description.
    #[getter]
    fn description(&self) -> String {
        self.engine.description().to_string()
    }

    /// `"gencast"` or `"graphcast"`.
    #[getter]
    fn kind(&self) -> &'static str {
        match self.engine.kind() {
            ModelKind::GenCast => "gencast",
            ModelKind::GraphCast => "graphcast",
        }
    }

    /// Hours per model step (12 for GenCast, 6 for GraphCast).
    #[getter]
    fn step_hours(&self) -> u64 {
        self.engine.step_hours()
    }

    /// The checkpoint's task: `input_variables`, `target_variables`, `forcing_variables`,
    /// `pressure_levels` and `input_duration` (e.g. `"24h"`), in the checkpoint's order.
    #[allow(clippy::type_complexity)]
    fn task_config(&self) -> (Vec<String>, Vec<String>, Vec<String>, Vec<i64>, String) {
        let t = self.engine.task();
        (
            t.input_variables.clone(),
            t.target_variables.clone(),
            t.forcing_variables.clone(),
            t.pressure_levels.clone(),
            t.input_duration.clone(),
        )
    }

    /// The names of the statistics files the model reads.
    #[getter]
    fn stats_files(&self) -> Vec<&'static str> {
        self.engine.stats_files().to_vec()
    }

    /// The predicted variables in output order: `(name, levels)` pairs (no levels for surface
    /// variables).
    fn output_variables(&self) -> PyResult<Vec<(String, Vec<i32>)>> {
        self.engine.output_variables().map_err(to_py)
    }

    /// Forecasts into memory: a dict with the NetCDF file's `dims`, global `attrs`, `coords`
    /// and `data_vars` (each `name`, `dims`, `shape`, flat `values`, `attrs`), raw as the
    /// file stores them.
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (dataset, *, members, steps, seed, member_offset, init_time, sampler, threads, progress))]
    fn forecast_in_memory<'py>(
        &self,
        py: Python<'py>,
        dataset: &Bound<'py, PyAny>,
        members: u32,
        steps: usize,
        seed: i64,
        member_offset: u32,
        init_time: Option<String>,
        sampler: Vec<String>,
        threads: Option<usize>,
        progress: Option<PyObject>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let args = RunArgs {
            dataset: dataset_arg(dataset)?,
            members,
            steps,
            seed,
            member_offset,
            init_time,
            sampler,
            threads,
        };
        let mut sink = MemorySink::new();
        self.run(py, args, progress, Raised::default(), &mut sink)?;
        let f = sink.into_forecast().map_err(to_py)?;
        let out = PyDict::new(py);
        out.set_item("dims", f.dims)?;
        let attrs = PyList::empty(py);
        for (k, a) in &f.attrs {
            attrs.append((k, attr_to_py(py, a)))?;
        }
        out.set_item("attrs", attrs)?;
        let coords = PyList::empty(py);
        for v in f.coords {
            coords.append(variable_to_py(py, v)?)?;
        }
        out.set_item("coords", coords)?;
        let data_vars = PyList::empty(py);
        for v in f.data_vars {
            data_vars.append(variable_to_py(py, v)?)?;
        }
        out.set_item("data_vars", data_vars)?;
        Ok(out)
    }

    /// Forecasts step by step: `on_step(member, step, fields)` receives each finished step's
    /// fields as a dict of flat float32 arrays (level-major, then latitude, then longitude).
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (dataset, *, members, steps, seed, member_offset, init_time, sampler, threads, on_step, progress))]
    fn rollout(
        &self,
        py: Python<'_>,
        dataset: &Bound<'_, PyAny>,
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
        let args = RunArgs {
            dataset: dataset_arg(dataset)?,
            members,
            steps,
            seed,
            member_offset,
            init_time,
            sampler,
            threads,
        };
        let raised = Raised::default();
        let mut sink = CallbackSink {
            on_step,
            members: Vec::new(),
            raised: raised.clone(),
        };
        self.run(py, args, progress, raised, &mut sink).map(|_| ())
    }

    /// Forecasts into a file as `gencast forecast --output` does: a NetCDF file, or a Zarr
    /// store (a folder ending in `.zarr`) of `ensemble_size` members that several processes
    /// may fill with disjoint member ranges under the store's member locks. Returns
    /// `(steps_computed, steps_skipped)`.
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (dataset, output, *, members, steps, seed, member_offset, ensemble_size, resume, overwrite, init_time, sampler, threads, progress))]
    fn forecast_to(
        &self,
        py: Python<'_>,
        dataset: PathBuf,
        output: PathBuf,
        members: u32,
        steps: usize,
        seed: i64,
        member_offset: u32,
        ensemble_size: Option<u32>,
        resume: bool,
        overwrite: bool,
        init_time: Option<String>,
        sampler: Vec<String>,
        threads: Option<usize>,
        progress: Option<PyObject>,
    ) -> PyResult<(usize, usize)> {
        let mode = WriteMode { resume, overwrite };
        let inputs = [
            ("checkpoint", self.engine.checkpoint_path()),
            ("dataset", dataset.as_path()),
        ];
        check_output(&output, mode, &inputs).map_err(to_py)?;
        let args = RunArgs {
            dataset: DatasetArg::Path(dataset),
            members,
            steps,
            seed,
            member_offset,
            init_time,
            sampler,
            threads,
        };
        let mut sink = sink_for(&output, mode, ensemble_size);
        let summary = self.run(py, args, progress, Raised::default(), sink.as_mut())?;
        Ok((summary.steps_computed, summary.steps_skipped))
    }
}
