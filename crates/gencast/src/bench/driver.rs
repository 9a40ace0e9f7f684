//! The benchmark loop every model family shares: warm-up, timed units alternating over kernel
//! paths and thread counts, bitwise comparison of their outputs, memory and the report, around
//! a [`BenchFamily`]'s hooks.

use std::time::Instant;

use super::family::{stage_medians, BenchFamily, Unit, UnitTimes};
use super::preset::{Family, Preset};
use super::report::{median, thread_comparison, BenchReport, IsaRun};
use super::{gencast, graphcast, sys};
use crate::kernels::isa::{self, Isa};
use crate::models::graphcast::Precision;
use crate::{Error, Result};

/// What to run.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// The configuration (of either family).
    pub preset: Preset,
    /// Timed units after the warm-up one: denoiser calls (GenCast) or 6 h steps (GraphCast).
    /// With 0 the warm-up unit is reported alone, where the family allows it (GraphCast; a
    /// GenCast warm-up call also allocates the work buffers).
    pub units: usize,
    /// GenCast: full 12 h sampler steps to time after the calls (0: none).
    pub sampler_steps: usize,
    /// Worker threads (default: all cores).
    pub threads: Option<usize>,
    /// Seed of the random weights and inputs.
    pub seed: u64,
    /// Kernel paths to time, alternating unit by unit (empty: the path in use). The main
    /// figures are those of the first; the others are compared with it in `isa_comparison`.
    pub isas: Vec<Isa>,
    /// Further thread counts whose units alternate with those of `threads`, unit by unit, on
    /// the first kernel path; compared in `thread_comparison`.
    pub compare_threads: Vec<usize>,
    /// GraphCast's arithmetic (default float32); GenCast runs in float32 and takes none.
    pub precision: Option<Precision>,
}

/// Thread pools of `counts` workers each.
pub fn thread_pools(counts: &[usize]) -> Result<Vec<rayon::ThreadPool>> {
    counts
        .iter()
        .map(|&n| {
            if n == 0 {
                return Err(Error::Invalid(
                    "a benchmark thread count must be at least 1".into(),
                ));
            }
            rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .map_err(|e| Error::Invalid(format!("starting {n} worker threads: {e}")))
        })
        .collect()
}

/// Runs the benchmark of `opts.preset` in a pool of `opts.threads` workers; `progress`
/// receives one line per phase and unit.
pub fn run(opts: &BenchOptions, progress: &mut (dyn FnMut(&str) + Send)) -> Result<BenchReport> {
    if !opts.compare_threads.is_empty() && opts.isas.len() > 1 {
        return Err(Error::Invalid(
            "bench compares either kernel paths or thread counts in one run, not both".into(),
        ));
    }
    sys::in_pool(opts.threads, || run_in_pool(opts, progress))
}

/// The timed unit of the preset's family.
fn unit(preset: Preset) -> Unit {
    match preset.family() {
        Family::GenCast => gencast::UNIT,
        Family::GraphCast => graphcast::UNIT,
    }
}

/// Builds the preset's family.
fn build(
    opts: &BenchOptions,
    progress: &mut (dyn FnMut(&str) + Send),
) -> Result<Box<dyn BenchFamily>> {
    Ok(match opts.preset.family() {
        Family::GenCast => Box::new(gencast::GenCastBench::build(opts, progress)?),
        Family::GraphCast => Box::new(graphcast::GraphCastBench::build(opts, progress)?),
    })
}

/// Runs `f`, returning its value and wall-clock seconds.
fn timed<T>(f: impl FnOnce() -> Result<T>) -> Result<(T, f64)> {
    let t = Instant::now();
    let v = f()?;
    Ok((v, t.elapsed().as_secs_f64()))
}

/// Whether two outputs have the same length and bits.
fn same_bits(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}

/// ` (encoder 0.123, …)` for a unit's stages, or nothing.
fn stage_text(names: &[&str; 3], stages: Option<[f64; 3]>) -> String {
    stages.map_or(String::new(), |s| {
        format!(
            " ({} {:.3}, {} {:.3}, {} {:.3})",
            names[0], s[0], names[1], s[1], names[2], s[2]
        )
    })
}

/// The benchmark in the calling pool: checks, build, warm-up, timed units, report.
fn run_in_pool(
    opts: &BenchOptions,
    progress: &mut (dyn FnMut(&str) + Send),
) -> Result<BenchReport> {
    let threads = rayon::current_num_threads();
    let paths = if opts.isas.is_empty() {
        vec![isa::active()]
    } else {
        opts.isas.clone()
    };
    // Checked before the model is built, which takes minutes at the published sizes.
    let pools = thread_pools(&opts.compare_threads)?;
    let unit = unit(opts.preset);
    let (noun, stages) = (unit.noun, &unit.stages);
    if opts.units == 0 {
        if !unit.warm_up_may_stand_alone {
            return Err(Error::Invalid(format!(
                "bench needs at least one timed {noun}"
            )));
        }
        if paths.len() > 1 || !pools.is_empty() {
            return Err(Error::Invalid(format!(
                "comparing thread counts or kernel paths needs at least one timed {noun}"
            )));
        }
    }
    let mut fam = build(opts, progress)?;
    let setup = fam.setup();

    let mut out = Vec::new();
    isa::switch(paths[0]);
    let (warm_stages, first_s) = timed(|| fam.run_unit(0, &mut out))?;
    progress(&format!(
        "warm-up {noun} ({}): {first_s:.3} s{}",
        paths[0],
        stage_text(stages, warm_stages)
    ));

    // Timed units alternate over the paths and thread counts, so that a noisy machine affects
    // all alike; each is compared bit for bit with the first path's output of the same index.
    let mut per_path: Vec<Vec<(f64, Option<[f64; 3]>)>> = vec![Vec::new(); paths.len()];
    let mut per_count: Vec<(usize, Vec<f64>)> = opts
        .compare_threads
        .iter()
        .map(|&n| (n, Vec::new()))
        .collect();
    let (mut isa_identical, mut threads_identical) = (true, true);
    let mut first_out = Vec::new();
    for i in 0..opts.units {
        for (pi, &path) in paths.iter().enumerate() {
            isa::switch(path);
            let (st, s) = timed(|| fam.run_unit(i, &mut out))?;
            if pi == 0 {
                std::mem::swap(&mut first_out, &mut out);
            } else {
                isa_identical &= same_bits(&first_out, &out);
            }
            per_path[pi].push((s, st));
            progress(&format!(
                "{noun} {}/{} ({path}): {s:.3} s{}",
                i + 1,
                opts.units,
                stage_text(stages, st)
            ));
        }
        isa::switch(paths[0]);
        for (pool, (n, times)) in pools.iter().zip(per_count.iter_mut()) {
            let (_, s) = pool.install(|| timed(|| fam.run_unit(i, &mut out)))?;
            threads_identical &= same_bits(&first_out, &out);
            times.push(s);
            progress(&format!(
                "{noun} {}/{} ({n} threads): {s:.3} s",
                i + 1,
                opts.units
            ));
        }
    }
    isa::switch(paths[0]);
    if opts.units == 0 {
        per_path[0].push((first_s, warm_stages));
    }

    let main = UnitTimes {
        first_s,
        seconds: per_path[0].iter().map(|u| u.0).collect(),
        stages: per_path[0].iter().map(|u| u.1).collect(),
        rss_after_mb: sys::rss_mb().unwrap_or(f64::NAN),
    };
    let unit_s = main.median();
    let isa_comparison = paths
        .iter()
        .zip(&per_path)
        .map(|(path, units)| {
            let seconds = median(&units.iter().map(|u| u.0).collect::<Vec<_>>());
            IsaRun {
                isa: path.name().into(),
                seconds,
                stages_s: stage_medians(&units.iter().map(|u| u.1).collect::<Vec<_>>()),
                ratio_to_first: seconds / unit_s,
            }
        })
        .collect();
    let details = fam.report(opts, &main, progress)?;
    Ok(BenchReport {
        preset: opts.preset.name().into(),
        family: opts.preset.family(),
        unit: unit.name.into(),
        stages: stages.map(String::from),
        shape: opts.preset.shape(),
        threads,
        isa: paths[0].name().into(),
        isa_comparison,
        isa_outputs_identical: isa_identical,
        thread_comparison: thread_comparison(threads, unit_s, &per_count),
        thread_outputs_identical: threads_identical,
        num_params: setup.num_params,
        n_grid: setup.n_grid,
        n_mesh: setup.n_mesh,
        grid2mesh_edges: setup.grid2mesh_edges,
        mesh2grid_edges: setup.mesh2grid_edges,
        graph_build_s: setup.graph_build_s,
        network_load_s: setup.network_load_s,
        startup_s: setup.graph_build_s + setup.network_load_s,
        rss_after_load_mb: setup.rss_after_load_mb,
        peak_rss_mb: sys::peak_rss_mb().unwrap_or(f64::NAN),
        details,
    })
}
