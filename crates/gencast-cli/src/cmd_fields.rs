//! `gencast fields`: the variables, levels and time frames a model needs, to help prepare
//! input datasets.

use std::path::PathBuf;

use gencast::checkpoint::GENCAST_TIMESTEP_HOURS;
use gencast::checkpoint::GRAPHCAST_TIMESTEP_HOURS;
use gencast::checkpoint::{CheckpointKind, GenCastCheckpoint, GraphCastCheckpoint, TaskConfig};
use gencast::variables::{is_atmospheric, is_progress, is_static};

use crate::cmd_inspect::{emit, Tree};

/// Arguments of `gencast fields`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// The checkpoint (.npz) whose task to describe; without it, the standard GenCast task.
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    /// The model of `prepare`'s model table to describe (e.g. `gencast-1p0`, `graphcast-small`)
    /// instead of a checkpoint.
    #[arg(long, conflicts_with = "checkpoint")]
    model: Option<String>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// One variable the model touches.
#[derive(Debug)]
struct Field {
    name: String,
    roles: Vec<&'static str>,
    levels: Vec<i64>,
    dims: &'static str,
    input_frames: usize,
    computed: bool,
}

fn fields(task: &TaskConfig, frames: usize) -> Vec<Field> {
    let mut names: Vec<&String> = Vec::new();
    for v in task
        .input_variables
        .iter()
        .chain(&task.forcing_variables)
        .chain(&task.target_variables)
    {
        if !names.contains(&v) {
            names.push(v);
        }
    }
    names
        .into_iter()
        .map(|v| {
            let is_input = task.input_variables.contains(v);
            let is_forcing = task.forcing_variables.contains(v);
            let is_target = task.target_variables.contains(v);
            let stat = is_static(v) && is_input && !is_forcing && !is_target;
            let mut roles = Vec::new();
            if stat {
                roles.push("static");
            } else if is_input {
                roles.push("input");
            }
            if is_forcing {
                roles.push("forcing");
            }
            if is_target {
                roles.push("target");
            }
            let atm = is_atmospheric(v);
            let dims = match (stat, atm, v.as_str()) {
                (true, _, _) => "(lat, lon)",
                (_, true, _) => "(batch, time, level, lat, lon)",
                (_, _, "year_progress_sin" | "year_progress_cos") => "(batch, time)",
                (_, _, "day_progress_sin" | "day_progress_cos") => "(batch, time, lon)",
                _ => "(batch, time, lat, lon)",
            };
            Field {
                name: v.clone(),
                roles,
                levels: if atm {
                    task.pressure_levels.clone()
                } else {
                    Vec::new()
                },
                dims,
                input_frames: if stat {
                    1
                } else if is_input {
                    frames
                } else {
                    0
                },
                computed: is_progress(v),
            }
        })
        .collect()
}

/// The task, description and time step of `name` in `prepare`'s model table.
fn model_task(name: &str) -> anyhow::Result<(TaskConfig, String, f64)> {
    let spec = gencast::data::sources::tables::model(name)?;
    Ok((
        spec.task,
        format!("model {name}"),
        f64::from(spec.step_hours),
    ))
}

macro_rules! tree {
    ($v:expr) => {
        Tree::from_json(&serde_json::to_string(&$v)?)?
    };
}

/// Runs the command.
pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    // A file that is not a readable archive is left to the GenCast reader, whose error says why.
    let kind = match &args.checkpoint {
        Some(p) => CheckpointKind::detect(p).unwrap_or(CheckpointKind::GenCast),
        None => CheckpointKind::GenCast,
    };
    let (task, source, step) = match (&args.model, &args.checkpoint, kind) {
        (Some(name), _, _) => model_task(name)?,
        (None, Some(p), CheckpointKind::GenCast) => (
            GenCastCheckpoint::open_configs(p)?.task_config,
            format!("checkpoint {}", p.display()),
            GENCAST_TIMESTEP_HOURS,
        ),
        (None, Some(p), CheckpointKind::GraphCast) => (
            GraphCastCheckpoint::open(p)?.task_config,
            format!("GraphCast checkpoint {}", p.display()),
            GRAPHCAST_TIMESTEP_HOURS,
        ),
        (None, None, _) => (
            TaskConfig::gencast_default(),
            "the standard GenCast task (gencast.TASK)".to_string(),
            GENCAST_TIMESTEP_HOURS,
        ),
    };
    let frames = task.num_input_frames(step)?;
    let offsets: Vec<i64> = (0..frames)
        .map(|i| -((frames - 1 - i) as i64) * step as i64)
        .collect();
    let list = fields(&task, frames);
    let names_with = |role: &str| -> Vec<String> {
        list.iter()
            .filter(|f| f.roles.contains(&role))
            .map(|f| f.name.clone())
            .collect()
    };
    let cin = task.num_input_channels(step)?;
    let cout = task.node_output_size();

    let mut out = String::new();
    if args.json {
        let vars: Vec<Tree> = list
            .iter()
            .map(|f| -> anyhow::Result<Tree> {
                Ok(Tree::Object(vec![
                    ("name".into(), tree!(f.name)),
                    ("roles".into(), tree!(f.roles)),
                    ("levels".into(), tree!(f.levels)),
                    ("dims".into(), tree!(f.dims)),
                    ("input_frames".into(), tree!(f.input_frames)),
                    ("computed_from_datetime".into(), tree!(f.computed)),
                ]))
            })
            .collect::<anyhow::Result<_>>()?;
        let obj = Tree::Object(vec![
            ("source".into(), tree!(source)),
            ("timestep_hours".into(), tree!(step)),
            ("input_duration".into(), tree!(task.input_duration)),
            ("input_frames".into(), tree!(frames)),
            ("input_frame_offsets_hours".into(), tree!(offsets)),
            ("pressure_levels".into(), tree!(task.pressure_levels)),
            ("inputs".into(), tree!(names_with("input"))),
            ("static".into(), tree!(names_with("static"))),
            ("forcings".into(), tree!(names_with("forcing"))),
            ("targets".into(), tree!(names_with("target"))),
            ("input_channels".into(), tree!(cin)),
            ("output_channels".into(), tree!(cout)),
            ("variables".into(), Tree::Array(vars)),
        ]);
        obj.json(&mut out, 0);
        out.push('\n');
        return emit(&out);
    }

    let frame_text = offsets
        .iter()
        .map(|h| {
            if *h == 0 {
                "t".to_string()
            } else {
                format!("t{h}h")
            }
        })
        .collect::<Vec<_>>()
        .join(", ");
    out.push_str(&format!("Fields for {source}\n"));
    out.push_str(&format!(
        "time step {step}h; input_duration {} -> {frames} input frames ({frame_text}); each step predicts t+{step}h\n",
        task.input_duration
    ));
    let lv = task
        .pressure_levels
        .iter()
        .map(|l| l.to_string())
        .collect::<Vec<_>>()
        .join(" ");
    out.push_str(&format!(
        "pressure levels ({} values, hPa, coordinate `level`): {lv}\n",
        task.pressure_levels.len()
    ));
    let width = list.iter().map(|f| f.name.len()).max().unwrap_or(8).max(8);
    let section = |out: &mut String, title: &str, pick: &dyn Fn(&Field) -> bool| {
        let rows: Vec<&Field> = list.iter().filter(|f| pick(f)).collect();
        if rows.is_empty() {
            return;
        }
        out.push_str(&format!("\n{title}\n"));
        for f in rows {
            let levels = if f.levels.is_empty() {
                "surface".to_string()
            } else {
                format!("{} levels", f.levels.len())
            };
            out.push_str(&format!(
                "  {:<width$}  {:<10}  {}\n",
                f.name, levels, f.dims
            ));
        }
    };
    section(
        &mut out,
        &format!("Inputs read from the dataset at the {frames} input frames ({frame_text}):"),
        &|f| f.roles.contains(&"input") && !f.roles.contains(&"forcing"),
    );
    section(
        &mut out,
        "Static inputs (no time dimension; read once):",
        &|f| f.roles.contains(&"static"),
    );
    section(
        &mut out,
        "Forcings (at the input frames and every target time; computed from the `datetime` coordinate where marked):",
        &|f| f.roles.contains(&"forcing"),
    );
    let computed: Vec<&str> = list
        .iter()
        .filter(|f| f.computed)
        .map(|f| f.name.as_str())
        .collect();
    if !computed.is_empty() {
        out.push_str(&format!(
            "  computed from datetime, need not be provided: {}\n",
            computed.join(", ")
        ));
    }
    section(
        &mut out,
        "Targets (predicted each step; those that are not inputs are never read as inputs):",
        &|f| f.roles.contains(&"target"),
    );
    let not_input: Vec<&str> = list
        .iter()
        .filter(|f| f.roles == ["target"])
        .map(|f| f.name.as_str())
        .collect();
    if !not_input.is_empty() {
        out.push_str(&format!(
            "  output only (not an input): {}\n",
            not_input.join(", ")
        ));
    }
    out.push_str(&format!(
        "\nThe network sees {cin} stacked input channels per grid point and predicts {cout} channels.\n"
    ));
    emit(&out)
}
