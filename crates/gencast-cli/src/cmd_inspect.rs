//! `gencast inspect`: a checkpoint's description, license, configs and parameter table.
//!
//! With `--json` one JSON object is printed. Config sections use the reference field names;
//! non-finite floats (e.g. `churn_max_noise_level`) appear as the strings `"inf"`, `"-inf"`
//! or `"nan"`, and absent optional fields as `null`. Parameter paths are `<module>:<name>`,
//! the archive key without its `params:` prefix.

use std::path::PathBuf;

use anyhow::Context;
use gencast::checkpoint::config::GENCAST_TIMESTEP_HOURS;
use gencast::checkpoint::graphcast::GRAPHCAST_TIMESTEP_HOURS;
use gencast::checkpoint::{
    Checkpoint, CheckpointKind, GraphCastCheckpoint, NpzArchive, Params, GRID_NODE_EMBEDDING_MODULE,
};

/// Arguments of `gencast inspect`.
#[derive(clap::Args)]
pub struct Args {
    /// The checkpoint (.npz).
    checkpoint: PathBuf,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// One row of the parameter table.
struct ParamRow {
    path: String,
    shape: Vec<usize>,
    dtype: String,
    elements: usize,
    bytes: usize,
}

/// Reads every `params:` member's header (dtype and shape) in archive order.
fn param_rows(archive: &NpzArchive) -> anyhow::Result<Vec<ParamRow>> {
    let names: Vec<String> = archive
        .names()
        .filter(|n| n.starts_with("params:"))
        .map(str::to_string)
        .collect();
    let mut rows = Vec::with_capacity(names.len());
    for name in names {
        let h = archive.header(&name)?;
        let elements = h.count().unwrap_or(0);
        rows.push(ParamRow {
            path: name["params:".len()..].to_string(),
            bytes: elements * h.dtype.item_size(),
            shape: h.shape,
            dtype: h.dtype.descr(),
            elements,
        });
    }
    Ok(rows)
}

/// Checks the parameters against the configuration: `None` when they match, else the report.
fn validation(ckpt: &Checkpoint, archive: &NpzArchive) -> Option<String> {
    let mut ckpt = ckpt.clone();
    match Params::from_archive(archive) {
        Ok(p) => ckpt.params = p,
        Err(e) => return Some(e.to_string()),
    }
    ckpt.validate().err().map(|e| e.to_string())
}

/// A JSON value whose objects keep their keys in the order they were written (the struct
/// declaration order, which `serde_json::Value` would sort away).
pub(crate) enum Tree {
    Object(Vec<(String, Tree)>),
    Array(Vec<Tree>),
    /// A scalar, kept as its JSON text.
    Scalar(String),
}

impl Tree {
    /// Parses JSON text (as written by `serde_json::to_string`) into an ordered tree.
    pub(crate) fn from_json(text: &str) -> anyhow::Result<Tree> {
        let mut pos = 0;
        Tree::parse(text.as_bytes(), &mut pos)
    }

    fn parse(s: &[u8], pos: &mut usize) -> anyhow::Result<Tree> {
        let skip = |pos: &mut usize| {
            while s.get(*pos).is_some_and(|c| c.is_ascii_whitespace()) {
                *pos += 1;
            }
        };
        skip(pos);
        match s.get(*pos) {
            Some(b'{') => {
                *pos += 1;
                let mut items = Vec::new();
                loop {
                    skip(pos);
                    match s.get(*pos) {
                        Some(b'}') => {
                            *pos += 1;
                            return Ok(Tree::Object(items));
                        }
                        Some(b',') => *pos += 1,
                        _ => {
                            let Tree::Scalar(k) = Tree::parse(s, pos)? else {
                                anyhow::bail!("JSON object key is not a string");
                            };
                            let key: String = serde_json::from_str(&k)?;
                            skip(pos);
                            anyhow::ensure!(s.get(*pos) == Some(&b':'), "malformed JSON");
                            *pos += 1;
                            items.push((key, Tree::parse(s, pos)?));
                        }
                    }
                }
            }
            Some(b'[') => {
                *pos += 1;
                let mut items = Vec::new();
                loop {
                    skip(pos);
                    match s.get(*pos) {
                        Some(b']') => {
                            *pos += 1;
                            return Ok(Tree::Array(items));
                        }
                        Some(b',') => *pos += 1,
                        _ => items.push(Tree::parse(s, pos)?),
                    }
                }
            }
            Some(b'"') => {
                let start = *pos;
                *pos += 1;
                while let Some(&c) = s.get(*pos) {
                    *pos += 1;
                    match c {
                        b'\\' => *pos += 1,
                        b'"' => break,
                        _ => {}
                    }
                }
                Ok(Tree::Scalar(
                    String::from_utf8_lossy(&s[start..*pos]).into_owned(),
                ))
            }
            Some(_) => {
                let start = *pos;
                while s
                    .get(*pos)
                    .is_some_and(|c| !matches!(c, b',' | b'}' | b']') && !c.is_ascii_whitespace())
                {
                    *pos += 1;
                }
                Ok(Tree::Scalar(
                    String::from_utf8_lossy(&s[start..*pos]).into_owned(),
                ))
            }
            None => anyhow::bail!("malformed JSON"),
        }
    }

    /// The value as shown in text output: strings unquoted, null as None.
    fn plain(&self) -> String {
        match self {
            Tree::Scalar(t) if t.starts_with('"') => {
                serde_json::from_str::<String>(t).unwrap_or_else(|_| t.clone())
            }
            Tree::Scalar(t) if t == "null" => "None".into(),
            Tree::Scalar(t) => t.clone(),
            Tree::Array(items) => format!(
                "[{}]",
                items.iter().map(Tree::plain).collect::<Vec<_>>().join(", ")
            ),
            Tree::Object(_) => "{...}".into(),
        }
    }

    /// Writes indented `key: value` lines.
    fn text(&self, out: &mut String, indent: usize, key: &str) {
        let pad = " ".repeat(indent);
        match self {
            Tree::Object(items) => {
                out.push_str(&format!("{pad}{key}:\n"));
                for (k, v) in items {
                    v.text(out, indent + 2, k);
                }
            }
            other => out.push_str(&format!("{pad}{key}: {}\n", other.plain())),
        }
    }

    /// Writes pretty-printed JSON (two-space indent; short scalar arrays on one line).
    pub(crate) fn json(&self, out: &mut String, indent: usize) {
        let pad = " ".repeat(indent + 2);
        match self {
            Tree::Scalar(t) => out.push_str(t),
            Tree::Array(items) if items.iter().all(|i| matches!(i, Tree::Scalar(_))) => {
                let parts: Vec<&str> = items
                    .iter()
                    .map(|i| match i {
                        Tree::Scalar(t) => t.as_str(),
                        _ => "",
                    })
                    .collect();
                out.push('[');
                out.push_str(&parts.join(", "));
                out.push(']');
            }
            Tree::Array(items) => {
                out.push_str("[\n");
                for (i, v) in items.iter().enumerate() {
                    out.push_str(&pad);
                    v.json(out, indent + 2);
                    out.push_str(if i + 1 < items.len() { ",\n" } else { "\n" });
                }
                out.push_str(&" ".repeat(indent));
                out.push(']');
            }
            Tree::Object(items) => {
                out.push_str("{\n");
                for (i, (k, v)) in items.iter().enumerate() {
                    out.push_str(&pad);
                    out.push_str(&serde_json::to_string(k).unwrap_or_default());
                    out.push_str(": ");
                    v.json(out, indent + 2);
                    out.push_str(if i + 1 < items.len() { ",\n" } else { "\n" });
                }
                out.push_str(&" ".repeat(indent));
                out.push('}');
            }
        }
    }
}

/// Writes `text` to stdout; a closed pipe (e.g. `| head`) is not an error.
pub(crate) fn emit(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => Ok(r?),
    }
}

macro_rules! tree {
    ($v:expr) => {
        Tree::from_json(&serde_json::to_string(&$v)?)?
    };
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<()> {
    let path = &args.checkpoint;
    let archive = NpzArchive::open(path)?;
    let rows = param_rows(&archive)?;
    let num_params: usize = rows.iter().map(|r| r.elements).sum();
    let total_bytes: usize = rows.iter().map(|r| r.bytes).sum();
    let context = || format!("reading the configs of {}", path.display());
    let (description, license, configs, derived, problems, derived_title) =
        match CheckpointKind::of(&archive) {
            CheckpointKind::GenCast => {
                let ckpt = Checkpoint::from_archive_configs(&archive).with_context(context)?;
                let problems = validation(&ckpt, &archive);
                let embed = format!("{GRID_NODE_EMBEDDING_MODULE}:w");
                let cin_from_params = rows
                    .iter()
                    .find(|r| r.path == embed)
                    .and_then(|r| r.shape.first()?.checked_sub(3));
                let configs = vec![
                    ("task_config".to_string(), tree!(ckpt.task_config)),
                    (
                        "denoiser_architecture_config".to_string(),
                        tree!(ckpt.denoiser_architecture_config),
                    ),
                    ("sampler_config".to_string(), tree!(ckpt.sampler_config)),
                    ("noise_config".to_string(), tree!(ckpt.noise_config)),
                    (
                        "noise_encoder_config".to_string(),
                        tree!(ckpt.noise_encoder_config),
                    ),
                ];
                let derived = Tree::Object(vec![
                    ("input_channels".into(), tree!(ckpt.cin().ok())),
                    ("input_channels_from_params".into(), tree!(cin_from_params)),
                    ("output_channels".into(), tree!(ckpt.cout())),
                    (
                        "input_frames".into(),
                        tree!(ckpt
                            .task_config
                            .num_input_frames(GENCAST_TIMESTEP_HOURS)
                            .ok()),
                    ),
                ]);
                (
                    ckpt.description,
                    ckpt.license,
                    configs,
                    derived,
                    problems,
                    "derived (GenCast 12h time step)",
                )
            }
            CheckpointKind::GraphCast => {
                let ckpt = GraphCastCheckpoint::from_archive(&archive).with_context(context)?;
                let problems = ckpt.validate().err().map(|e| e.to_string());
                let configs = vec![
                    ("model_config".to_string(), tree!(ckpt.model_config)),
                    ("task_config".to_string(), tree!(ckpt.task_config)),
                ];
                let derived = Tree::Object(vec![
                    ("model".into(), tree!("graphcast")),
                    ("input_channels".into(), tree!(ckpt.cin().ok())),
                    ("output_channels".into(), tree!(ckpt.cout())),
                    (
                        "input_frames".into(),
                        tree!(ckpt
                            .task_config
                            .num_input_frames(GRAPHCAST_TIMESTEP_HOURS)
                            .ok()),
                    ),
                ]);
                (
                    ckpt.description,
                    ckpt.license,
                    configs,
                    derived,
                    problems,
                    "derived (GraphCast 6h time step)",
                )
            }
        };

    let mut out = String::new();
    if args.json {
        let mut obj = vec![
            ("path".to_string(), tree!(path.display().to_string())),
            ("description".into(), tree!(description)),
            ("license".into(), tree!(license)),
            ("num_params".into(), tree!(num_params)),
            ("num_tensors".into(), tree!(rows.len())),
            ("param_bytes".into(), tree!(total_bytes)),
        ];
        obj.extend(configs);
        obj.push(("derived".into(), derived));
        obj.push((
            "validation".into(),
            Tree::Object(vec![
                ("ok".into(), tree!(problems.is_none())),
                ("problems".into(), tree!(problems)),
            ]),
        ));
        let mut params = Vec::with_capacity(rows.len());
        for r in &rows {
            params.push(Tree::Object(vec![
                ("path".into(), tree!(r.path)),
                ("shape".into(), tree!(r.shape)),
                ("dtype".into(), tree!(r.dtype)),
                ("bytes".into(), tree!(r.bytes)),
            ]));
        }
        obj.push(("params".into(), Tree::Array(params)));
        Tree::Object(obj).json(&mut out, 0);
        out.push('\n');
        return emit(&out);
    }

    out.push_str(&format!("checkpoint: {}\n", path.display()));
    out.push_str(&format!("description: {description}\n"));
    out.push_str(&format!("license: {license}\n\n"));
    for (k, v) in &configs {
        v.text(&mut out, 0, k);
    }
    derived.text(&mut out, 0, derived_title);
    out.push('\n');
    match &problems {
        None => out.push_str(
            "parameter check: OK (every tensor present with the shape the configs imply)\n",
        ),
        Some(p) => out.push_str(&format!("parameter check: FAILED\n{p}\n")),
    }
    out.push('\n');
    let shape_text = |s: &[usize]| {
        format!(
            "[{}]",
            s.iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let w = rows.iter().map(|r| r.path.len()).max().unwrap_or(4).max(4);
    let sw = rows
        .iter()
        .map(|r| shape_text(&r.shape).len())
        .max()
        .unwrap_or(5)
        .max(5);
    out.push_str(&format!(
        "{:<w$}  {:<sw$}  {:<5}  {:>12}\n",
        "path", "shape", "dtype", "bytes"
    ));
    for r in &rows {
        out.push_str(&format!(
            "{:<w$}  {:<sw$}  {:<5}  {:>12}\n",
            r.path,
            shape_text(&r.shape),
            r.dtype,
            r.bytes
        ));
    }
    out.push_str(&format!(
        "\ntotal: {} tensors, {num_params} parameters, {total_bytes} bytes\n",
        rows.len()
    ));
    emit(&out)
}
