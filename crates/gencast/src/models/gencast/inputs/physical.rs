//! Between normalised and physical units: network outputs to physical fields (inverting the
//! target normalisation, residuals relative to the last input frame, sea surface temperature
//! NaN over land), physical targets to the normalised values the network is trained to predict,
//! and reading the physical targets from a dataset.

use super::frames::{read_on_grid, select_levels};
use super::{data_err, find_field, Field, PreparedStep, NAN_CLEANED_VAR};
use crate::data::checks::rules;
use crate::data::dataset::Dataset;
use crate::{Error, Result};

/// Fails unless a field of `name` holds `expected` values.
fn check_len(path: &std::path::Path, name: &str, found: usize, expected: usize) -> Result<()> {
    if found != expected {
        return Err(data_err(
            path,
            name,
            format!("expected {expected} values on the grid, found {found}"),
        ));
    }
    Ok(())
}

impl PreparedStep {
    /// Converts normalised outputs `x` (`[Ng, Cout]`, node-major) to physical fields, one per
    /// target variable in output order: residual variables `x · diffs_stddev + last input`,
    /// others `x · stddev + mean`; sea surface temperature is NaN where any input frame was.
    pub fn to_physical(&self, x: &[f32]) -> Result<Vec<Field>> {
        let (ng, cout) = (self.n_grid, self.layout.cout());
        if x.len() != ng * cout {
            return Err(Error::Shape {
                what: "normalised prediction [grid, channel]".into(),
                expected: vec![ng, cout],
                found: vec![x.len()],
            });
        }
        let mut out = Vec::with_capacity(self.layout.outputs().len());
        for o in self.layout.outputs() {
            let mut data = vec![0.0f32; o.len() * ng];
            for l in 0..o.len() {
                let c = o.offset + l;
                let on = self.norms.output(c);
                let dst = &mut data[l * ng..(l + 1) * ng];
                for (g, d) in dst.iter_mut().enumerate() {
                    let mut v = on.norm.unnormalize(x[g * cout + c]);
                    if on.residual {
                        v += self.last_input[g * cout + c];
                    }
                    *d = v;
                }
                if o.name == NAN_CLEANED_VAR {
                    for (d, &m) in dst.iter_mut().zip(&self.sst_nan_mask) {
                        if m {
                            *d = f32::NAN;
                        }
                    }
                }
            }
            out.push(Field {
                name: o.name.clone(),
                levels: o.levels.clone(),
                data,
            });
        }
        Ok(out)
    }

    /// The normalised targets `[Ng, Cout]` the network is trained to predict, from physical
    /// target fields: residual variables `(y − last input) · (1/diffs_stddev)`, others
    /// `(y − mean) · (1/stddev)`; NaNs of sea surface temperature are filled first.
    pub fn normalize_targets(&self, targets: &[Field]) -> Result<Vec<f32>> {
        let (ng, cout) = (self.n_grid, self.layout.cout());
        let mut out = vec![0.0f32; ng * cout];
        for o in self.layout.outputs() {
            let f = find_field(targets, &o.name, &self.path)?;
            check_len(&self.path, &o.name, f.data.len(), o.len() * ng)?;
            for l in 0..o.len() {
                let c = o.offset + l;
                let on = self.norms.output(c);
                for g in 0..ng {
                    let mut y = f.data[l * ng + g];
                    if o.name == NAN_CLEANED_VAR && y.is_nan() {
                        y = self.norms.sst_fill.unwrap_or(y);
                    }
                    if on.residual {
                        y -= self.last_input[g * cout + c];
                    }
                    out[g * cout + c] = on.norm.normalize(y);
                }
            }
        }
        Ok(out)
    }

    /// Reads the physical target fields at `frame` of `ds` (for evaluation and tests).
    pub fn read_targets(&self, ds: &Dataset, frame: usize) -> Result<Vec<Field>> {
        let outputs = self.layout.outputs();
        let missing = rules::missing_variables(ds, outputs.iter().map(|o| o.name.as_str()));
        if !missing.is_empty() {
            return Err(Error::Missing {
                path: ds.path().to_path_buf(),
                what: "target variables",
                key: missing.join("`, `"),
            });
        }
        let mut out = Vec::with_capacity(outputs.len());
        for o in outputs {
            if let Some(problem) = rules::dims_problem(ds, &o.name) {
                return Err(data_err(ds.path(), &o.name, problem));
            }
            let a = read_on_grid(ds, &o.name, Some(frame..frame + 1))?;
            out.push(Field {
                name: o.name.clone(),
                levels: o.levels.clone(),
                data: select_levels(ds, &o.name, a, &o.levels)?,
            });
        }
        Ok(out)
    }
}
