//! What a forecast writes of what the model predicts: `--variables`, `--levels` and
//! `--output-every`, checked against the model's outputs before anything is computed.

use anyhow::bail;
use gencast::data::task::Field;

/// The part of each step's prediction that goes to the output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selection {
    /// Indices of the written variables among the model's outputs, in output order.
    pub variables: Vec<usize>,
    /// Indices of the written pressure levels among the model's levels.
    pub levels: Vec<usize>,
    /// Every how many 12 h steps a step is written (1: all).
    pub every: usize,
}

impl Selection {
    /// Checks the requested variables, levels and output interval against the model's output
    /// variable names, its pressure levels and the run's number of steps; empty requests keep
    /// everything.
    pub fn new(
        outputs: &[&str],
        model_levels: &[i32],
        steps: usize,
        variables: &[String],
        levels: &[i32],
        every_hours: Option<u64>,
        step_hours: u64,
    ) -> anyhow::Result<Self> {
        let mut var_idx = Vec::new();
        for v in variables {
            match outputs.iter().position(|o| o == v) {
                Some(i) if !var_idx.contains(&i) => var_idx.push(i),
                Some(_) => bail!("--variables names `{v}` twice"),
                None => bail!(
                    "--variables: the model predicts no `{v}`; it predicts {}",
                    outputs.join(", ")
                ),
            }
        }
        if var_idx.is_empty() {
            var_idx = (0..outputs.len()).collect();
        }
        var_idx.sort_unstable();
        let mut level_idx = Vec::new();
        for l in levels {
            match model_levels.iter().position(|m| m == l) {
                Some(i) if !level_idx.contains(&i) => level_idx.push(i),
                Some(_) => bail!("--levels names {l} twice"),
                None => bail!(
                    "--levels: the model has no {l} hPa level; it has {}",
                    model_levels
                        .iter()
                        .map(i32::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }
        }
        if level_idx.is_empty() {
            level_idx = (0..model_levels.len()).collect();
        }
        level_idx.sort_unstable();
        let every = match every_hours {
            None => 1,
            Some(h) if h == 0 || !h.is_multiple_of(step_hours) => {
                bail!("--output-every {h}h must be a positive multiple of {step_hours}h")
            }
            Some(h) if (h / step_hours) as usize > steps => bail!(
                "--output-every {h}h is longer than the forecast ({} h): nothing would be written",
                steps as u64 * step_hours
            ),
            Some(h) => (h / step_hours) as usize,
        };
        Ok(Selection {
            variables: var_idx,
            levels: level_idx,
            every,
        })
    }

    /// Whether everything the model predicts is written.
    pub fn is_everything(&self, n_outputs: usize, n_levels: usize) -> bool {
        self.every == 1 && self.variables.len() == n_outputs && self.levels.len() == n_levels
    }

    /// The output slot of model step `step` (0-based), when that step is written.
    pub fn slot(&self, step: usize) -> Option<usize> {
        ((step + 1).is_multiple_of(self.every)).then(|| (step + 1) / self.every - 1)
    }

    /// The written part of `field` (`[level,] lat, lon`) of a variable with `n_levels` levels
    /// (0 for a surface variable).
    pub fn cut(&self, field: &Field, n_levels: usize) -> Vec<f32> {
        if field.levels.is_empty() || self.levels.len() == n_levels {
            return field.data.clone();
        }
        let per_level = field.data.len() / n_levels.max(1);
        self.levels
            .iter()
            .flat_map(|&l| {
                field.data[l * per_level..(l + 1) * per_level]
                    .iter()
                    .copied()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUTS: [&str; 3] = ["2m_temperature", "geopotential", "temperature"];
    const LEVELS: [i32; 3] = [500, 850, 1000];

    fn sel(vars: &[&str], levels: &[i32], every: Option<u64>) -> anyhow::Result<Selection> {
        let vars: Vec<String> = vars.iter().map(|s| s.to_string()).collect();
        Selection::new(&OUTS, &LEVELS, 4, &vars, levels, every, 12)
    }

    #[test]
    fn requests_pick_variables_levels_and_steps_in_model_order() {
        let s = sel(&["temperature", "2m_temperature"], &[1000, 500], Some(24)).unwrap();
        assert_eq!(
            (s.variables.clone(), s.levels.clone(), s.every),
            (vec![0, 2], vec![0, 2], 2)
        );
        assert_eq!(
            (0..4).map(|k| s.slot(k)).collect::<Vec<_>>(),
            [None, Some(0), None, Some(1)]
        );
        let f = Field {
            name: "temperature".into(),
            levels: LEVELS.to_vec(),
            data: vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        };
        assert_eq!(s.cut(&f, 3), vec![1.0, 2.0, 5.0, 6.0]);
        let all = sel(&[], &[], None).unwrap();
        assert!(all.is_everything(3, 3) && !s.is_everything(3, 3));
        assert_eq!(all.cut(&f, 3), f.data);
    }

    #[test]
    fn bad_requests_name_what_is_available() {
        let e = sel(&["precip"], &[], None).unwrap_err().to_string();
        assert!(
            e.contains("`precip`") && e.contains("2m_temperature, geopotential"),
            "{e}"
        );
        let e = sel(&[], &[700], None).unwrap_err().to_string();
        assert!(e.contains("700 hPa") && e.contains("500, 850, 1000"), "{e}");
        let e = sel(&[], &[], Some(18)).unwrap_err().to_string();
        assert!(e.contains("multiple of 12h"), "{e}");
        let e = sel(&[], &[], Some(60)).unwrap_err().to_string();
        assert!(e.contains("longer than the forecast"), "{e}");
        assert!(sel(&["geopotential", "geopotential"], &[], None).is_err());
    }
}
