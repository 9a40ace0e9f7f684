//! Channel layout of the denoiser's stacked grid features and outputs (`dataset_to_stacked` and
//! `stacked_to_dataset` in
//! <https://github.com/google-deepmind/graphcast/blob/08cf736/graphcast/model_utils.py>).
//!
//! Grid features are `concat(stack(inputs), stack(forcings ∪ noisy targets))`: each block takes
//! its variables in sorted name order (Python code-point order, i.e. byte order of the UTF-8
//! names), and each variable contributes one channel per combination of its non-grid dims in
//! dim order: time slowest, then level. Static variables contribute one channel. The outputs
//! are the target variables in sorted order, one channel per level (one for surface variables).

use crate::{Error, Result};

use crate::checkpoint::TaskConfig;
use crate::variables::{is_atmospheric, is_static};

/// The GenCast model's time step in hours (one frame to the next, one forecast step).
pub const TIMESTEP_HOURS: i64 = 12;

/// What a block of channels holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// An input variable at the input times (or a static field).
    Input,
    /// A forcing at the target time.
    Forcing,
    /// A noisy target (already multiplied by `c_in`) at the target time.
    Target,
}

/// The contiguous channels of one variable in the stacked features.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelBlock {
    /// Variable name.
    pub name: String,
    /// What the channels hold.
    pub role: Role,
    /// Lead times in hours of the stacked time steps (empty for static variables).
    pub lead_hours: Vec<i64>,
    /// Pressure levels in hPa (empty for surface and static variables).
    pub levels: Vec<i32>,
    /// First column of the block in the stacked features.
    pub offset: usize,
}

impl ChannelBlock {
    /// Number of time steps stacked (1 for static variables).
    pub fn n_times(&self) -> usize {
        self.lead_hours.len().max(1)
    }

    /// Number of levels stacked (1 for surface variables).
    pub fn n_levels(&self) -> usize {
        self.levels.len().max(1)
    }

    /// Number of channels of the block.
    pub fn len(&self) -> usize {
        self.n_times() * self.n_levels()
    }

    /// Whether the block has no channels (never the case for a valid layout).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Column of time index `t` and level index `l` (time slowest).
    pub fn column(&self, t: usize, l: usize) -> usize {
        self.offset + t * self.n_levels() + l
    }

    /// Names of the block's channels, e.g. `geopotential[time=-12h,level=50]`.
    pub fn channel_names(&self) -> Vec<String> {
        let mut out = Vec::with_capacity(self.len());
        if self.lead_hours.is_empty() {
            out.push(self.name.clone());
            return out;
        }
        for &h in &self.lead_hours {
            if self.levels.is_empty() {
                out.push(format!("{}[time={h}h]", self.name));
            } else {
                for &l in &self.levels {
                    out.push(format!("{}[time={h}h,level={l}]", self.name));
                }
            }
        }
        out
    }
}

/// One variable of the network output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputBlock {
    /// Target variable name.
    pub name: String,
    /// Pressure levels (empty for surface variables).
    pub levels: Vec<i32>,
    /// First output channel.
    pub offset: usize,
    /// First column of its noisy-target block in the stacked features.
    pub feature_offset: usize,
}

impl OutputBlock {
    /// Number of output channels (levels, or 1).
    pub fn len(&self) -> usize {
        self.levels.len().max(1)
    }

    /// Whether the block has no channels (never the case for a valid layout).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The full channel layout for one task and set of pressure levels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackLayout {
    levels: Vec<i32>,
    n_input_frames: usize,
    blocks: Vec<ChannelBlock>,
    n_input_channels: usize,
    outputs: Vec<OutputBlock>,
    target_columns: Vec<usize>,
}

/// Sorts names in Python's `sorted` order for `str` (code-point order = UTF-8 byte order).
pub fn sorted_names<S: AsRef<str>>(names: &[S]) -> Vec<String> {
    let mut v: Vec<String> = names.iter().map(|s| s.as_ref().to_string()).collect();
    v.sort_unstable_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    v
}

fn check_unique(key: &str, names: &[String]) -> Result<()> {
    let sorted = sorted_names(names);
    for w in sorted.windows(2) {
        if w[0] == w[1] {
            return Err(Error::Config {
                key: key.into(),
                detail: format!("variable `{}` listed twice", w[0]),
            });
        }
    }
    Ok(())
}

impl StackLayout {
    /// Layout of a task at the given pressure levels (in stacking order, normally the task's
    /// own), with GenCast's 12 h time step.
    pub fn new(task: &TaskConfig, levels: &[i32]) -> Result<StackLayout> {
        let n_input_frames = task.num_input_frames(TIMESTEP_HOURS as f64)?;
        Self::from_variables(
            &task.input_variables,
            &task.target_variables,
            &task.forcing_variables,
            levels,
            n_input_frames,
            TIMESTEP_HOURS,
        )
    }

    /// Layout of a task at its own pressure levels.
    pub fn for_task(task: &TaskConfig) -> Result<StackLayout> {
        let levels = task
            .pressure_levels
            .iter()
            .map(|&l| {
                i32::try_from(l).map_err(|_| Error::Config {
                    key: "task_config:pressure_levels".into(),
                    detail: format!("level {l} out of range"),
                })
            })
            .collect::<Result<Vec<i32>>>()?;
        Self::new(task, &levels)
    }

    /// Layout for the given variable lists, pressure levels, number of input frames and time
    /// step (hours). Errors if a forcing is also a target or a list repeats a variable.
    pub fn from_variables<S: AsRef<str>>(
        input_variables: &[S],
        target_variables: &[S],
        forcing_variables: &[S],
        levels: &[i32],
        n_input_frames: usize,
        timestep_hours: i64,
    ) -> Result<StackLayout> {
        let inputs = sorted_names(input_variables);
        let targets = sorted_names(target_variables);
        let forcings = sorted_names(forcing_variables);
        check_unique("input_variables", &inputs)?;
        check_unique("target_variables", &targets)?;
        check_unique("forcing_variables", &forcings)?;
        if let Some(f) = forcings.iter().find(|f| targets.contains(f)) {
            return Err(Error::Config {
                key: "forcing_variables".into(),
                detail: format!("`{f}` is both a forcing and a target"),
            });
        }
        if n_input_frames == 0 {
            return Err(Error::Config {
                key: "input_duration".into(),
                detail: "gives no input frames".into(),
            });
        }
        let levels_of = |name: &str| -> Vec<i32> {
            if is_atmospheric(name) {
                levels.to_vec()
            } else {
                Vec::new()
            }
        };
        let input_leads: Vec<i64> = (0..n_input_frames as i64)
            .map(|k| (k + 1 - n_input_frames as i64) * timestep_hours)
            .collect();

        let mut blocks = Vec::new();
        let mut offset = 0;
        for name in &inputs {
            let block = ChannelBlock {
                name: name.clone(),
                role: Role::Input,
                lead_hours: if is_static(name) {
                    Vec::new()
                } else {
                    input_leads.clone()
                },
                levels: levels_of(name),
                offset,
            };
            offset += block.len();
            blocks.push(block);
        }
        let n_input_channels = offset;

        let mut second: Vec<(String, Role)> = forcings
            .iter()
            .map(|f| (f.clone(), Role::Forcing))
            .chain(targets.iter().map(|t| (t.clone(), Role::Target)))
            .collect();
        second.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        let mut outputs = Vec::new();
        let mut out_offset = 0;
        for (name, role) in second {
            let block = ChannelBlock {
                levels: levels_of(&name),
                lead_hours: vec![timestep_hours],
                name,
                role,
                offset,
            };
            if role == Role::Target {
                outputs.push(OutputBlock {
                    name: block.name.clone(),
                    levels: block.levels.clone(),
                    offset: out_offset,
                    feature_offset: offset,
                });
                out_offset += block.n_levels();
            }
            offset += block.len();
            blocks.push(block);
        }
        let target_columns = outputs
            .iter()
            .flat_map(|o| (0..o.len()).map(move |l| o.feature_offset + l))
            .collect();
        Ok(StackLayout {
            levels: levels.to_vec(),
            n_input_frames,
            blocks,
            n_input_channels,
            outputs,
            target_columns,
        })
    }

    /// Number of stacked feature channels (264 for the standard GenCast task).
    pub fn cin(&self) -> usize {
        self.blocks.last().map_or(0, |b| b.offset + b.len())
    }

    /// Number of output channels (84 for the standard GenCast task).
    pub fn cout(&self) -> usize {
        self.target_columns.len()
    }

    /// Number of channels of the inputs block (176 for the standard task).
    pub fn n_input_channels(&self) -> usize {
        self.n_input_channels
    }

    /// Number of input frames stacked per time-dependent input variable.
    pub fn n_input_frames(&self) -> usize {
        self.n_input_frames
    }

    /// The pressure levels (hPa) in stacking order.
    pub fn levels(&self) -> &[i32] {
        &self.levels
    }

    /// All channel blocks in column order (inputs first, then forcings and targets).
    pub fn blocks(&self) -> &[ChannelBlock] {
        &self.blocks
    }

    /// The block of `name` with the given role, if any.
    pub fn block(&self, name: &str, role: Role) -> Option<&ChannelBlock> {
        self.blocks
            .iter()
            .find(|b| b.role == role && b.name == name)
    }

    /// The output variables in channel order.
    pub fn outputs(&self) -> &[OutputBlock] {
        &self.outputs
    }

    /// For each output channel, the stacked-feature column that receives `c_in · x`.
    pub fn target_columns(&self) -> &[usize] {
        &self.target_columns
    }

    /// Variable name and level (None for surface variables) of output channel `c`.
    pub fn output_channel(&self, c: usize) -> Option<(&str, Option<i32>)> {
        let o = self
            .outputs
            .iter()
            .find(|o| c >= o.offset && c < o.offset + o.len())?;
        Some((o.name.as_str(), o.levels.get(c - o.offset).copied()))
    }

    /// Names of every stacked channel, e.g. `2m_temperature[time=0h]`.
    pub fn input_channel_names(&self) -> Vec<String> {
        self.blocks.iter().flat_map(|b| b.channel_names()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INPUTS: [&str; 17] = [
        "2m_temperature",
        "mean_sea_level_pressure",
        "10m_v_component_of_wind",
        "10m_u_component_of_wind",
        "sea_surface_temperature",
        "temperature",
        "geopotential",
        "u_component_of_wind",
        "v_component_of_wind",
        "vertical_velocity",
        "specific_humidity",
        "year_progress_sin",
        "year_progress_cos",
        "day_progress_sin",
        "day_progress_cos",
        "geopotential_at_surface",
        "land_sea_mask",
    ];
    const TARGETS: [&str; 12] = [
        "2m_temperature",
        "mean_sea_level_pressure",
        "10m_v_component_of_wind",
        "10m_u_component_of_wind",
        "total_precipitation_12hr",
        "sea_surface_temperature",
        "temperature",
        "geopotential",
        "u_component_of_wind",
        "v_component_of_wind",
        "vertical_velocity",
        "specific_humidity",
    ];
    const FORCINGS: [&str; 4] = [
        "year_progress_sin",
        "year_progress_cos",
        "day_progress_sin",
        "day_progress_cos",
    ];
    const LEVELS: [i32; 13] = [
        50, 100, 150, 200, 250, 300, 400, 500, 600, 700, 850, 925, 1000,
    ];

    fn standard() -> StackLayout {
        StackLayout::from_variables(&INPUTS, &TARGETS, &FORCINGS, &LEVELS, 2, 12).unwrap()
    }

    #[test]
    fn standard_task_sizes_and_table() {
        let l = standard();
        assert_eq!(l.cin(), 264);
        assert_eq!(l.cout(), 84);
        assert_eq!(l.n_input_channels(), 176);
        // Spot checks of the standard GenCast channel order, as `dataset_to_stacked` in
        // <https://github.com/google-deepmind/graphcast/blob/08cf736/graphcast/model_utils.py> lays
        // it out.
        assert_eq!(l.block("geopotential", Role::Input).unwrap().offset, 10);
        assert_eq!(
            l.block("geopotential_at_surface", Role::Input)
                .unwrap()
                .offset,
            36
        );
        assert_eq!(l.block("land_sea_mask", Role::Input).unwrap().offset, 37);
        assert_eq!(
            l.block("year_progress_sin", Role::Input).unwrap().offset,
            174
        );
        assert_eq!(
            l.block("day_progress_cos", Role::Forcing).unwrap().offset,
            179
        );
        assert_eq!(
            l.block("total_precipitation_12hr", Role::Target)
                .unwrap()
                .offset,
            222
        );
        assert_eq!(
            l.block("year_progress_sin", Role::Forcing).unwrap().offset,
            263
        );
        assert_eq!(&l.target_columns()[..4], &[176, 177, 178, 181]);
        assert_eq!(l.target_columns()[44], 222);
        assert_eq!(
            l.output_channel(16),
            Some(("mean_sea_level_pressure", None))
        );
        assert_eq!(l.output_channel(3), Some(("geopotential", Some(50))));
        assert_eq!(
            l.output_channel(83),
            Some(("vertical_velocity", Some(1000)))
        );
        assert_eq!(l.output_channel(84), None);
        let names = l.input_channel_names();
        assert_eq!(names.len(), 264);
        assert_eq!(names[11], "geopotential[time=-12h,level=100]");
        assert_eq!(names[23], "geopotential[time=0h,level=50]");
    }

    #[test]
    fn target_columns_are_distinct_and_outside_inputs() {
        let l = standard();
        let mut cols = l.target_columns().to_vec();
        cols.sort_unstable();
        cols.dedup();
        assert_eq!(cols.len(), 84);
        assert!(cols.iter().all(|&c| (176..264).contains(&c)));
    }

    #[test]
    fn sort_is_code_point_order() {
        let s = sorted_names(&[
            "geopotential_at_surface",
            "geopotential",
            "2m_t",
            "10m_u",
            "_x",
            "Z",
        ]);
        assert_eq!(
            s,
            [
                "10m_u",
                "2m_t",
                "Z",
                "_x",
                "geopotential",
                "geopotential_at_surface"
            ]
        );
    }

    #[test]
    fn rejects_bad_configs() {
        assert!(StackLayout::from_variables(&["a"], &["b"], &["b"], &LEVELS, 2, 12).is_err());
        assert!(StackLayout::from_variables(&["a", "a"], &["b"], &[], &LEVELS, 2, 12).is_err());
        assert!(StackLayout::from_variables(&["a"], &["b"], &[], &LEVELS, 0, 12).is_err());
    }

    #[test]
    fn task_config_constructor_matches_lists() {
        let from_task = StackLayout::for_task(&TaskConfig::gencast_default()).unwrap();
        assert_eq!(from_task, standard());
    }
}
