//! `gencast inspect`: a checkpoint's description, license, configs and parameter table.
//!
//! With `--json` one JSON object is printed. Config sections use the reference field names;
//! non-finite floats (e.g. `churn_max_noise_level`) appear as the strings `"inf"`, `"-inf"`
//! or `"nan"`, and absent optional fields as `null`. Parameter paths are `<module>:<name>`,
//! the archive key without its `params:` prefix.

use std::path::PathBuf;

use anyhow::Context;
use gencast::checkpoint::inspect::Description;

/// Arguments of `gencast inspect`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// The checkpoint (.npz).
    checkpoint: PathBuf,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
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

/// Runs the command.
pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    let path = &args.checkpoint;
    let d = Description::of(path)?;
    let mut out = String::new();
    if args.json {
        Tree::from_json(&d.to_json()?)?.json(&mut out, 0);
        out.push('\n');
        return emit(&out);
    }
    let (description, license, problems) = (&d.description, &d.license, &d.problems);
    let rows = &d.params;
    let (num_params, total_bytes) = (d.num_params(), d.param_bytes());
    let configs = d
        .configs
        .iter()
        .map(|(k, v)| Ok((k.clone(), Tree::from_json(v)?)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let derived = Tree::Object(
        d.derived
            .iter()
            .map(|(k, v)| Ok((k.clone(), Tree::from_json(v)?)))
            .collect::<anyhow::Result<Vec<_>>>()
            .context("the derived sizes")?,
    );
    let derived_title = d.derived_title;

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
    for r in rows {
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
