//! The normalisation constants of a step: location and scale of every stacked input and
//! forcing block per level, the inverse normalisation of every output channel, and the value
//! sea surface temperature's NaNs are filled with.

use super::NAN_CLEANED_VAR;
use crate::data::normalization::{level_norms, LevelNorm};
use crate::data::stacking::{Role, StackLayout};
use crate::data::stats::StatsSet;
use crate::Result;

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
    /// Constants absent from the statistics (left out, as the reference does).
    pub warnings: Vec<String>,
}

impl StepNorms {
    /// The constants of every block and output channel of `layout`; errors name the statistics
    /// file and variable.
    pub fn new(stats: &StatsSet, layout: &StackLayout) -> Result<StepNorms> {
        let is_input = |name: &str| {
            layout
                .blocks()
                .iter()
                .any(|b| b.role == Role::Input && b.name == name)
        };
        let mut warnings = Vec::new();
        let mut blocks = Vec::with_capacity(layout.blocks().len());
        for b in layout.blocks() {
            if b.role == Role::Target {
                blocks.push(Vec::new());
                continue;
            }
            for (s, what) in [
                (&stats.mean_by_level, "location"),
                (&stats.stddev_by_level, "scale"),
            ] {
                if !s.contains(&b.name) {
                    warnings.push(format!(
                        "{}: no normalisation {what} for `{}`; left out",
                        s.path().display(),
                        b.name
                    ));
                }
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
            if !scale.contains(&o.name) {
                warnings.push(format!(
                    "{}: no normalisation scale for target `{}`; left out",
                    scale.path().display(),
                    o.name
                ));
            }
            for norm in level_norms(loc, scale, &o.name, &o.levels)? {
                outputs.push(OutputNorm { norm, residual });
            }
        }
        let sst_fill = if is_input(NAN_CLEANED_VAR) {
            Some(stats.min_by_level.scalar(NAN_CLEANED_VAR)? as f32)
        } else {
            None
        };
        Ok(StepNorms {
            blocks,
            outputs,
            sst_fill,
            warnings,
        })
    }

    /// Normalisation of stacked block `block`'s level `l` (inputs and forcings).
    pub fn block(&self, block: usize, l: usize) -> LevelNorm {
        self.blocks
            .get(block)
            .and_then(|v| v.get(l))
            .copied()
            .unwrap_or(LevelNorm::IDENTITY)
    }

    /// Inverse normalisation of output channel `c`.
    pub fn output(&self, c: usize) -> OutputNorm {
        self.outputs.get(c).copied().unwrap_or(OutputNorm {
            norm: LevelNorm::IDENTITY,
            residual: false,
        })
    }
}
