//! The stacked grid features of a step (`[Ng, Cin]`: normalised inputs and forcings, target
//! columns zero), the NaN-cleaned last input frame for the residual outputs, and the sea
//! surface temperature NaN mask, all rebuilt from the step's physical frames and valid times.

use rayon::prelude::*;

use super::{PreparedStep, NAN_CLEANED_VAR};
use crate::data::checks::rules::Source;
use crate::data::normalization::{fill_nan, nan_mask_any};
use crate::data::stacking::Role;

/// Grid rows handled by one parallel task when stacking.
const ROWS_PER_TASK: usize = 256;

/// Where the values of one stacked column come from.
#[derive(Debug, Clone)]
enum ColumnSource<'a> {
    /// Left zero (target columns).
    Zero,
    /// The same normalised value at every node.
    Const(f32),
    /// One normalised value per longitude.
    PerLon(Vec<f32>),
    /// A physical field over the grid, NaN-filled then normalised.
    Grid {
        data: &'a [f32],
        fill: Option<f32>,
        /// `(location, 1/scale)`, as from `LevelNorm::affine`.
        affine: (f32, f32),
    },
}

impl ColumnSource<'_> {
    /// The column's value at grid node `g`.
    fn value(&self, g: usize, n_lon: usize) -> f32 {
        match self {
            ColumnSource::Zero => 0.0,
            ColumnSource::Const(v) => *v,
            ColumnSource::PerLon(v) => v.get(g % n_lon).copied().unwrap_or(0.0),
            ColumnSource::Grid { data, fill, affine } => {
                let mut x = data.get(g).copied().unwrap_or(0.0);
                if let Some(f) = fill {
                    if x.is_nan() {
                        x = *f;
                    }
                }
                (x - affine.0) * affine.1
            }
        }
    }
}

impl PreparedStep {
    /// Recomputes the grid features, last-input buffer and NaN mask from the current state.
    pub(super) fn rebuild(&mut self) {
        let cin = self.layout.cin();
        let cout = self.layout.cout();
        let ng = self.n_grid;
        let n_lon = self.lon.len().max(1);

        // What each stacked column holds; rows are then filled in parallel chunks.
        let mut sources = vec![ColumnSource::Zero; cin];
        for (bi, b) in self.layout.blocks().iter().enumerate() {
            if b.role == Role::Target {
                continue;
            }
            for t in 0..b.n_times() {
                let time = match b.role {
                    Role::Forcing => self.target_datetime,
                    _ => self
                        .input_datetimes
                        .get(t)
                        .copied()
                        .unwrap_or(self.target_datetime),
                };
                for l in 0..b.n_levels() {
                    let norm = self.norms.block(bi, l);
                    let src = match Source::of(&b.name) {
                        Source::Progress(p) => {
                            let v: Vec<f32> = p
                                .values(time, &self.lon)
                                .into_iter()
                                .map(|x| norm.normalize(x))
                                .collect();
                            if p.per_longitude() {
                                ColumnSource::PerLon(v)
                            } else {
                                ColumnSource::Const(v.first().copied().unwrap_or(0.0))
                            }
                        }
                        Source::Static => match self.statics.get(&b.name) {
                            Some(s) => ColumnSource::Grid {
                                data: s.as_slice(),
                                fill: None,
                                affine: norm.affine(),
                            },
                            None => ColumnSource::Zero,
                        },
                        Source::TimeDependent => match self.frames.get(&b.name) {
                            Some(f) => {
                                let start = (t * b.n_levels() + l) * ng;
                                ColumnSource::Grid {
                                    data: &f[start..start + ng],
                                    fill: if b.name == NAN_CLEANED_VAR {
                                        self.norms.sst_fill
                                    } else {
                                        None
                                    },
                                    affine: norm.affine(),
                                }
                            }
                            None => ColumnSource::Zero,
                        },
                    };
                    sources[b.column(t, l)] = src;
                }
            }
        }
        let mut feats = vec![0.0f32; ng * cin];
        if cin > 0 {
            feats
                .par_chunks_mut(cin * ROWS_PER_TASK)
                .enumerate()
                .for_each(|(chunk, rows)| {
                    for (r, row) in rows.chunks_exact_mut(cin).enumerate() {
                        let g = chunk * ROWS_PER_TASK + r;
                        for (dst, src) in row.iter_mut().zip(&sources) {
                            *dst = src.value(g, n_lon);
                        }
                    }
                });
        }
        self.grid_features = feats;
        let mut column = vec![0.0f32; ng];

        let n_frames = self.layout.n_input_frames();
        let mut last = vec![0.0f32; ng * cout];
        for o in self.layout.outputs() {
            let Some(f) = self.frames.get(&o.name) else {
                continue;
            };
            for l in 0..o.len() {
                let start = ((n_frames - 1) * o.len() + l) * ng;
                column.copy_from_slice(&f[start..start + ng]);
                if o.name == NAN_CLEANED_VAR {
                    if let Some(fill) = self.norms.sst_fill {
                        fill_nan(&mut column, fill);
                    }
                }
                for (g, &v) in column.iter().enumerate() {
                    last[g * cout + o.offset + l] = v;
                }
            }
        }
        self.last_input = last;

        self.sst_nan_mask = match self.frames.get(NAN_CLEANED_VAR) {
            Some(f) => {
                let frames: Vec<&[f32]> = f.chunks(ng.max(1)).collect();
                nan_mask_any(&frames)
            }
            None => vec![false; ng],
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::normalization::LevelNorm;

    #[test]
    fn column_sources() {
        let data = [1.0f32, f32::NAN, 3.0];
        let norm = LevelNorm::from_f64(Some(1.0), Some(2.0));
        let src = ColumnSource::Grid {
            data: &data,
            fill: Some(5.0),
            affine: norm.affine(),
        };
        assert_eq!(src.value(0, 3), 0.0);
        assert_eq!(src.value(1, 3), 2.0);
        assert_eq!(src.value(2, 3), 1.0);
        let per_lon = ColumnSource::PerLon(vec![1.0, 2.0]);
        assert_eq!(per_lon.value(3, 2), 2.0);
        assert_eq!(ColumnSource::Const(4.0).value(9, 2), 4.0);
        assert_eq!(ColumnSource::Zero.value(0, 2), 0.0);
    }
}
