//! `InputsAndResiduals` for GraphCast
//! (<https://github.com/google-deepmind/graphcast/blob/08cf736/graphcast/normalization.py>): inputs
//! and forcings normalised with `mean_by_level`/`stddev_by_level` and stacked in sorted-name order;
//! targets that are also inputs predicted as residuals scaled by `diffs_stddev_by_level`, the
//! others (precipitation in the precipitation-output-only task) as absolute values.

use std::path::Path;

use super::inputs::StepInputs;
use crate::checkpoint::TaskConfig;
use crate::data::normalization::{level_norms, LevelNorm};
use crate::data::stacking::sorted_names;
use crate::data::stats::check_stats_dir;
use crate::data::NormStats;
use crate::forecast::Field;
use crate::variables::is_static;
use crate::{Error, Result};

/// The three statistics files of a GraphCast model (there is no `min_by_level`).
#[derive(Debug, Clone)]
pub struct GraphCastStats {
    /// Climatological mean (inputs, forcings, absolute targets).
    pub mean_by_level: NormStats,
    /// Climatological standard deviation.
    pub stddev_by_level: NormStats,
    /// Standard deviation of 6 h differences (residual targets).
    pub diffs_stddev_by_level: NormStats,
}

impl GraphCastStats {
    /// File names expected in a statistics directory.
    pub const FILES: [&'static str; 3] = [
        "mean_by_level.nc",
        "stddev_by_level.nc",
        "diffs_stddev_by_level.nc",
    ];

    /// Opens the three files from a directory; the error names every file that is absent.
    pub fn open_dir(dir: impl AsRef<Path>) -> Result<GraphCastStats> {
        let dir = dir.as_ref();
        check_stats_dir(dir, &Self::FILES)?;
        Ok(GraphCastStats {
            mean_by_level: NormStats::open(dir.join(Self::FILES[0]))?,
            stddev_by_level: NormStats::open(dir.join(Self::FILES[1]))?,
            diffs_stddev_by_level: NormStats::open(dir.join(Self::FILES[2]))?,
        })
    }

    /// One line per variable a statistics file lacks, for the caller to log: the reference
    /// passes such a variable through unscaled (or unshifted) with a warning.
    pub fn warnings(&self, task: &TaskConfig) -> Vec<String> {
        let mut out = Vec::new();
        let mut note = |stats: &NormStats, var: &str, role: &str| {
            if !stats.contains(var) {
                out.push(format!(
                    "{}: no `{var}`; the {role} is not normalised by it",
                    stats.path().display()
                ));
            }
        };
        for v in sorted_names(&task.input_variables)
            .iter()
            .chain(&sorted_names(&task.forcing_variables))
        {
            note(&self.mean_by_level, v, "input");
            note(&self.stddev_by_level, v, "input");
        }
        for v in sorted_names(&task.target_variables) {
            if task.input_variables.contains(&v) && !is_static(&v) {
                note(&self.diffs_stddev_by_level, &v, "residual target");
            } else {
                note(&self.mean_by_level, &v, "target");
                note(&self.stddev_by_level, &v, "target");
            }
        }
        out
    }

    /// `(x − mean)/stddev` per level of an input or forcing.
    fn input_norms(&self, var: &str, levels: &[i32]) -> Result<Vec<LevelNorm>> {
        level_norms(
            Some(&self.mean_by_level),
            &self.stddev_by_level,
            var,
            levels,
        )
    }
}

/// Names of the stacked channels, e.g. `geopotential[time=-6h,level=50]`: inputs in sorted
/// order (time-major, then level; static fields once), then forcings at the target time
/// (`time=6h`).
pub fn channel_names(task: &TaskConfig, levels: &[i32], n_frames: usize) -> Vec<String> {
    let mut out = Vec::new();
    let leads: Vec<i64> = (0..n_frames as i64)
        .map(|k| (k + 1 - n_frames as i64) * 6)
        .collect();
    let levels_of = |v: &str| -> Vec<Option<i32>> {
        if crate::variables::is_atmospheric(v) {
            levels.iter().copied().map(Some).collect()
        } else {
            vec![None]
        }
    };
    let label = |v: &str, t: Option<i64>, l: Option<i32>| {
        let mut parts = Vec::new();
        if let Some(t) = t {
            parts.push(format!("time={t}h"));
        }
        if let Some(l) = l {
            parts.push(format!("level={l}"));
        }
        if parts.is_empty() {
            v.to_string()
        } else {
            format!("{v}[{}]", parts.join(","))
        }
    };
    for v in sorted_names(&task.input_variables) {
        if is_static(&v) {
            out.push(v.clone());
            continue;
        }
        for &t in &leads {
            for l in levels_of(&v) {
                out.push(label(&v, Some(t), l));
            }
        }
    }
    for v in sorted_names(&task.forcing_variables) {
        for l in levels_of(&v) {
            out.push(label(&v, Some(6), l));
        }
    }
    out
}

/// Writes the normalised `[time][level][grid]` blocks of `data` into columns `col..` of `x`;
/// fails on the first non-finite value (GraphCast does no NaN cleaning), naming the variable,
/// the channel (time-major, then level) and the grid point.
fn put_columns(
    x: &mut [f32],
    (cin, col): (usize, usize),
    (var, data): (&str, &[f32]),
    norms: &[LevelNorm],
    n: usize,
) -> Result<()> {
    for (l, block) in data.chunks_exact(n).enumerate() {
        let norm = norms[l % norms.len()];
        for (g, &v) in block.iter().enumerate() {
            let y = norm.normalize(v);
            if !y.is_finite() {
                return Err(Error::NonFinite {
                    stage: "GraphCast inputs".into(),
                    detail: format!(
                        "`{var}` channel {l} (time-major, then level) at grid point {g}: {v}"
                    ),
                });
            }
            x[g * cin + col + l] = y;
        }
    }
    Ok(())
}

/// The network's stacked normalised inputs `[Ng, Cin]`.
pub fn stack_inputs(
    inputs: &StepInputs,
    task: &TaskConfig,
    stats: &GraphCastStats,
) -> Result<Vec<f32>> {
    let n = inputs.n_grid();
    let cin = crate::models::graphcast::checkpoint::graphcast_input_channels(task)?;
    let mut x = vec![0f32; n * cin];
    let mut col = 0;
    for v in sorted_names(&task.input_variables) {
        let levels = inputs.levels_of(&v);
        let norms = stats.input_norms(&v, levels)?;
        let data = if is_static(&v) {
            inputs.static_field(&v)
        } else {
            inputs.frames(&v)
        }
        .ok_or_else(|| Error::Missing {
            path: inputs.path().to_path_buf(),
            what: "input variable",
            key: v.clone(),
        })?;
        let width = data.len() / n.max(1);
        if col + width > cin {
            return Err(Error::Shape {
                what: format!("stacked inputs up to `{v}`"),
                expected: vec![cin],
                found: vec![col + width],
            });
        }
        put_columns(&mut x, (cin, col), (&v, data), &norms, n)?;
        col += width;
    }
    for v in sorted_names(&task.forcing_variables) {
        let norms = stats.input_norms(&v, &[])?;
        let data = inputs.forcing(&v).ok_or_else(|| Error::Missing {
            path: inputs.path().to_path_buf(),
            what: "forcing",
            key: v.clone(),
        })?;
        if col + 1 > cin {
            return Err(Error::Shape {
                what: format!("stacked inputs up to `{v}`"),
                expected: vec![cin],
                found: vec![col + 1],
            });
        }
        put_columns(&mut x, (cin, col), (&v, data), &norms, n)?;
        col += 1;
    }
    if col != cin {
        return Err(Error::Shape {
            what: "stacked inputs".into(),
            expected: vec![cin],
            found: vec![col],
        });
    }
    Ok(x)
}

/// The prediction in physical units, one [`Field`] per target in sorted order, from the
/// normalised network output `out` `[Ng, Cout]`: `out·diffs_stddev + last input` for targets
/// that are inputs, `out·stddev + mean` for the others.
pub fn to_physical(
    out: &[f32],
    inputs: &StepInputs,
    task: &TaskConfig,
    stats: &GraphCastStats,
) -> Result<Vec<Field>> {
    let n = inputs.n_grid();
    let targets = sorted_names(&task.target_variables);
    let cout: usize = targets
        .iter()
        .map(|v| inputs.levels_of(v).len().max(1))
        .sum();
    if out.len() != n * cout {
        return Err(Error::Shape {
            what: "GraphCast output [grid nodes, channels]".into(),
            expected: vec![n, cout],
            found: vec![out.len() / cout.max(1), out.len() % cout.max(1)],
        });
    }
    let mut fields = Vec::with_capacity(targets.len());
    let mut col = 0;
    for v in targets {
        let levels = inputs.levels_of(&v).to_vec();
        let width = levels.len().max(1);
        let last = inputs.last_frame(&v);
        let norms = match last {
            Some(_) => level_norms(None, &stats.diffs_stddev_by_level, &v, &levels)?,
            None => level_norms(
                Some(&stats.mean_by_level),
                &stats.stddev_by_level,
                &v,
                &levels,
            )?,
        };
        let mut data = vec![0f32; width * n];
        for l in 0..width {
            let norm = norms[l];
            let base = last.map(|f| &f[l * n..(l + 1) * n]);
            for g in 0..n {
                let y = norm.unnormalize(out[g * cout + col + l]);
                data[l * n + g] = match base {
                    Some(b) => y + b[g],
                    None => y,
                };
            }
        }
        col += width;
        fields.push(Field {
            name: v,
            levels,
            data,
        });
    }
    Ok(fields)
}
