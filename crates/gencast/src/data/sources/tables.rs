//! The name-mapping table (`names.tsv`) and the model table (`models.tsv`).

use crate::checkpoint::config::PRESSURE_LEVELS_WEATHERBENCH_13;
use crate::checkpoint::TaskConfig;
use crate::{Error, Result};

const NAMES: &str = include_str!("names.tsv");
const MODELS: &str = include_str!("models.tsv");

/// The 37 ERA5 pressure levels (hPa).
pub const PRESSURE_LEVELS_ERA5_37: [i64; 37] = [
    1, 2, 3, 5, 7, 10, 20, 30, 50, 70, 100, 125, 150, 175, 200, 225, 250, 300, 350, 400, 450, 500,
    550, 600, 650, 700, 750, 775, 800, 825, 850, 875, 900, 925, 950, 975, 1000,
];

/// How a source variable's values become the model variable's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conversion {
    /// Used as it is.
    None,
    /// Geopotential height in metres, multiplied by standard gravity.
    Height,
    /// An accumulation over the given number of hours ending at each time.
    Accumulation(u32),
}

/// One row of the name table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameRule {
    /// The variable's name in the source.
    pub source: String,
    /// The model variable it holds.
    pub model: String,
    /// The conversion to apply.
    pub conversion: Conversion,
}

fn rows(text: &str) -> impl Iterator<Item = Vec<&str>> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.split_whitespace().collect())
}

/// The rule for a source variable name: the table's row, else the name itself unconverted.
pub fn name_rule(source: &str) -> NameRule {
    for cols in rows(NAMES) {
        if cols[0] == source {
            let conversion = match cols.get(2).copied().unwrap_or("-") {
                "height" => Conversion::Height,
                "accum1" => Conversion::Accumulation(1),
                "accum6" => Conversion::Accumulation(6),
                "accum12" => Conversion::Accumulation(12),
                _ => Conversion::None,
            };
            return NameRule {
                source: source.to_string(),
                model: cols[1].to_string(),
                conversion,
            };
        }
    }
    NameRule {
        source: source.to_string(),
        model: source.to_string(),
        conversion: Conversion::None,
    }
}

/// Whether the source variable `source` holds a variable of the models (by the name table,
/// or by being one of the models' own names).
pub fn feeds_model(source: &str) -> bool {
    let model = name_rule(source).model;
    model == "total_precipitation" || crate::variables::lookup(&model).is_some()
}

/// What `prepare` needs to know about a model: its task, grid, time step and precipitation.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSpec {
    /// The model's name (`gencast-1p0`, or the checkpoint's file name).
    pub name: String,
    /// Its task: variables, levels and input window.
    pub task: TaskConfig,
    /// Grid step in degrees (latitudes -90..90, longitudes 0..360).
    pub grid_step: f64,
    /// Hours between frames.
    pub step_hours: u32,
    /// The accumulated precipitation variable the dataset carries.
    pub precipitation: String,
}

impl ModelSpec {
    /// Number of input frames (the init time and the frames before it).
    pub fn input_frames(&self) -> Result<usize> {
        self.task.num_input_frames(f64::from(self.step_hours))
    }

    /// Hours of accumulation of the precipitation variable (12 for `total_precipitation_12hr`).
    pub fn precipitation_hours(&self) -> u32 {
        match name_rule(&self.precipitation).conversion {
            Conversion::Accumulation(h) => h,
            _ => self.step_hours,
        }
    }
}

/// The names of the models in the table.
pub fn model_names() -> Vec<String> {
    rows(MODELS).map(|c| c[0].to_string()).collect()
}

/// The table's model `name`; unknown names are refused with the list of known ones.
pub fn model(name: &str) -> Result<ModelSpec> {
    for cols in rows(MODELS) {
        if cols[0] != name {
            continue;
        }
        let bad = |detail: String| Error::Config {
            key: format!("models.tsv:{name}"),
            detail,
        };
        if cols.len() != 6 {
            return Err(bad(format!("expected 6 columns, found {}", cols.len())));
        }
        let mut task =
            task_for(cols[1]).ok_or_else(|| bad(format!("unknown task `{}`", cols[1])))?;
        task.pressure_levels = match cols[5] {
            "wb13" => PRESSURE_LEVELS_WEATHERBENCH_13.to_vec(),
            "era5_37" => PRESSURE_LEVELS_ERA5_37.to_vec(),
            other => return Err(bad(format!("unknown level set `{other}`"))),
        };
        let grid_step: f64 = cols[2]
            .parse()
            .map_err(|_| bad(format!("grid step `{}` is not a number", cols[2])))?;
        let step_hours: u32 = cols[3]
            .parse()
            .map_err(|_| bad(format!("time step `{}` is not a whole number", cols[3])))?;
        return Ok(ModelSpec {
            name: name.to_string(),
            task,
            grid_step,
            step_hours,
            precipitation: cols[4].to_string(),
        });
    }
    Err(Error::Invalid(format!(
        "unknown model `{name}`; known models: {}",
        model_names().join(", ")
    )))
}

/// The variable list of a task named in the model table.
fn task_for(name: &str) -> Option<TaskConfig> {
    match name {
        "gencast" => Some(TaskConfig::gencast_default()),
        "graphcast" => Some(TaskConfig::graphcast(Vec::new())),
        "graphcast_precip_out" => {
            let mut task = TaskConfig::graphcast(Vec::new());
            task.input_variables
                .retain(|v| v != "total_precipitation_6hr");
            Some(task)
        }
        _ => None,
    }
}

/// The spec of a checkpoint's model: its own task and `grid_step`, GraphCast's 6 h step and
/// 6-hour precipitation when the task has `total_precipitation_6hr`, else GenCast's 12 h.
pub fn from_task(name: &str, task: TaskConfig, grid_step: f64) -> ModelSpec {
    let graphcast = task
        .target_variables
        .iter()
        .any(|v| v == "total_precipitation_6hr");
    ModelSpec {
        name: name.to_string(),
        task,
        grid_step,
        step_hours: if graphcast { 6 } else { 12 },
        precipitation: if graphcast {
            "total_precipitation_6hr"
        } else {
            "total_precipitation_12hr"
        }
        .into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_row_is_well_formed() {
        for cols in rows(NAMES) {
            assert_eq!(cols.len(), 3, "names.tsv row {cols:?}");
            assert!(
                ["-", "height", "accum1", "accum6", "accum12"].contains(&cols[2]),
                "names.tsv row {cols:?}: unknown conversion"
            );
        }
        for name in model_names() {
            model(&name).unwrap();
        }
    }

    #[test]
    fn names_map_to_model_variables_with_their_conversions() {
        let rule = name_rule("t2m");
        assert_eq!(
            (rule.model.as_str(), rule.conversion),
            ("2m_temperature", Conversion::None)
        );
        assert_eq!(name_rule("gh").conversion, Conversion::Height);
        assert_eq!(name_rule("tp").conversion, Conversion::Accumulation(1));
        assert_eq!(
            name_rule("total_precipitation_6hr").conversion,
            Conversion::Accumulation(6)
        );
        // Names not in the table are the model's own.
        assert_eq!(name_rule("land_sea_mask").model, "land_sea_mask");
    }
}
