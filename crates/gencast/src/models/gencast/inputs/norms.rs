//! The normalisation constants of a step: location and scale of every stacked input and
//! forcing block per level, the inverse normalisation of every output channel, and the value
//! sea surface temperature's NaNs are filled with.

use super::NAN_CLEANED_VAR;
use crate::data::normalization::{level_norms, LevelNorm};
use crate::data::stacking::{Role, StackLayout};
use crate::data::stats::NormStats;
use crate::data::stats::StatsSet;
use crate::{Error, Result};

/// Checks the statistic of `var` at `levels` in `stats`: present, finite, and for a scale
/// (standard deviation) strictly positive; each problem is a line naming the file.
fn check_stat(
    stats: &NormStats,
    var: &str,
    levels: &[i32],
    scale: bool,
    problems: &mut Vec<String>,
) -> Result<()> {
    let path = stats.path().display();
    let Some(values) = crate::data::normalization::stats_for(stats, var, levels)? else {
        problems.push(format!("{path}: `{var}` is missing"));
        return Ok(());
    };
    for (i, &x) in values.iter().enumerate() {
        let at = match levels.get(i) {
            Some(l) => format!("`{var}` at level {l}"),
            None => format!("`{var}`"),
        };
        if !x.is_finite() {
            problems.push(format!("{path}: {at} is {x}, expected a finite value"));
        } else if scale && x <= 0.0 {
            problems.push(format!(
                "{path}: {at} is {x}, expected a standard deviation > 0"
            ));
        }
    }
    Ok(())
}

/// How one output channel maps back to physical units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct OutputNorm {
    /// `x · scale + location` (location absent for residuals).
    pub norm: LevelNorm,
    /// Whether the last input frame is added (the target is also an input).
    pub residual: bool,
}

/// The normalisation constants of a layout, from the statistics.
#[derive(Debug, Clone)]
pub(super) struct StepNorms {
    /// Normalisation of each input/forcing block, indexed like `layout.blocks()`, per level.
    blocks: Vec<Vec<LevelNorm>>,
    /// One per output channel.
    outputs: Vec<OutputNorm>,
    /// NaN fill of sea surface temperature (`min_by_level`), when it is an input.
    pub sst_fill: Option<f32>,
    /// Notes about the statistics for the log (none at present: a missing or implausible
    /// constant is an error).
    pub warnings: Vec<String>,
}

impl StepNorms {
    /// The constants of every block and output channel of `layout`; errors name the statistics
    /// file and variable.
    pub(super) fn new(stats: &StatsSet, layout: &StackLayout) -> Result<StepNorms> {
        let is_input = |name: &str| {
            layout
                .blocks()
                .iter()
                .any(|b| b.role == Role::Input && b.name == name)
        };
        let warnings = Vec::new();
        let mut problems = Vec::new();
        let mut blocks = Vec::with_capacity(layout.blocks().len());
        for b in layout.blocks() {
            if b.role == Role::Target {
                blocks.push(Vec::new());
                continue;
            }
            for (s, scale) in [
                (&stats.mean_by_level, false),
                (&stats.stddev_by_level, true),
            ] {
                check_stat(s, &b.name, &b.levels, scale, &mut problems)?;
            }
            blocks.push(level_norms(
                Some(&stats.mean_by_level),
                &stats.stddev_by_level,
                &b.name,
                &b.levels,
            )?);
        }
        let mut outputs = Vec::with_capacity(layout.cout());
        for o in layout.outputs() {
            let residual = is_input(&o.name);
            let (loc, scale) = if residual {
                (None, &stats.diffs_stddev_by_level)
            } else {
                (Some(&stats.mean_by_level), &stats.stddev_by_level)
            };
            if let Some(l) = loc {
                check_stat(l, &o.name, &o.levels, false, &mut problems)?;
            }
            check_stat(scale, &o.name, &o.levels, true, &mut problems)?;
            for norm in level_norms(loc, scale, &o.name, &o.levels)? {
                outputs.push(OutputNorm { norm, residual });
            }
        }
        let sst_fill = if is_input(NAN_CLEANED_VAR) {
            check_stat(
                &stats.min_by_level,
                NAN_CLEANED_VAR,
                &[],
                false,
                &mut problems,
            )?;
            stats
                .min_by_level
                .scalar(NAN_CLEANED_VAR)
                .ok()
                .map(|x| x as f32)
        } else {
            None
        };
        problems.dedup();
        if !problems.is_empty() {
            return Err(Error::Invalid(format!(
                "the normalisation statistics do not fit this model:\n  {}",
                problems.join("\n  ")
            )));
        }
        Ok(StepNorms {
            blocks,
            outputs,
            sst_fill,
            warnings,
        })
    }

    /// Normalisation of stacked block `block`'s level `l` (inputs and forcings).
    pub(super) fn block(&self, block: usize, l: usize) -> LevelNorm {
        self.blocks
            .get(block)
            .and_then(|v| v.get(l))
            .copied()
            .unwrap_or(LevelNorm::IDENTITY)
    }

    /// Inverse normalisation of output channel `c`.
    pub(super) fn output(&self, c: usize) -> OutputNorm {
        self.outputs.get(c).copied().unwrap_or(OutputNorm {
            norm: LevelNorm::IDENTITY,
            residual: false,
        })
    }
}
