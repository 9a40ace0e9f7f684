//! `gencast sources`: what `prepare` sees in its sources, one row per field slice (file, GRIB
//! message, name, the model variable it feeds, level, valid time, member, units, grid, and
//! min/max/mean in the model's units), then what it skips and why.

use std::path::PathBuf;

use anyhow::Context;
use gencast::data::sources::inventory::{self, format_minutes, Inventory, Row};
use serde_json::{json, Value};

use crate::cmd_inspect::emit;

/// Arguments of `gencast sources`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Source files or Zarr stores (NetCDF, Zarr v2, GRIB 1/2), as `prepare --input` takes them.
    #[arg(required = true)]
    sources: Vec<PathBuf>,
    /// Print one JSON object `{"fields": [...], "skipped": [...]}` instead of tables.
    #[arg(long)]
    json: bool,
}

/// A float for JSON: `null` when absent or not finite.
fn num(x: Option<f64>) -> Value {
    x.filter(|v| v.is_finite()).map_or(Value::Null, Value::from)
}

fn row_json(r: &Row) -> Value {
    json!({
        "source": r.source.display().to_string(),
        "message": r.message,
        "name": r.name,
        "variable": r.variable,
        "level": r.level,
        "valid_time": r.valid_time.map(format_minutes),
        "member": r.member,
        "units": r.units,
        "lat_min": num(Some(r.lat_range.0)),
        "lat_max": num(Some(r.lat_range.1)),
        "lon_min": num(Some(r.lon_range.0)),
        "lon_max": num(Some(r.lon_range.1)),
        "nlat": r.nlat,
        "nlon": r.nlon,
        "min": num(r.min),
        "max": num(r.max),
        "mean": num(r.mean),
    })
}

/// The inventory as the JSON object of `--json`.
fn to_json(inv: &Inventory) -> Value {
    json!({
        "fields": inv.rows.iter().map(row_json).collect::<Vec<_>>(),
        "skipped": inv.skipped.iter().map(|s| json!({
            "source": s.path.display().to_string(),
            "message": s.message,
            "name": s.name,
            "reason": s.reason,
        })).collect::<Vec<_>>(),
    })
}

fn opt<T: ToString>(x: &Option<T>) -> String {
    x.as_ref().map_or_else(|| "-".to_string(), T::to_string)
}

fn fmt(x: Option<f64>) -> String {
    x.map_or_else(|| "-".to_string(), |v| format!("{v:.6e}"))
}

/// Left-aligned columns, each as wide as its widest cell.
fn table(rows: &[Vec<String>]) -> String {
    let ncol = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..ncol)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for r in rows {
        let cells: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(c, s)| format!("{s:<w$}", w = widths[c]))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// The inventory as readable tables.
fn to_text(inv: &Inventory) -> String {
    let mut rows = vec![[
        "source",
        "message",
        "name",
        "variable",
        "level",
        "valid_time",
        "member",
        "units",
        "lat",
        "lon",
        "nlat×nlon",
        "min",
        "max",
        "mean",
    ]
    .map(str::to_string)
    .to_vec()];
    for r in &inv.rows {
        rows.push(vec![
            r.source.display().to_string(),
            opt(&r.message),
            r.name.clone(),
            opt(&r.variable),
            opt(&r.level),
            r.valid_time.map_or_else(|| "-".into(), format_minutes),
            opt(&r.member),
            opt(&r.units),
            format!("{}..{}", r.lat_range.0, r.lat_range.1),
            format!("{}..{}", r.lon_range.0, r.lon_range.1),
            format!("{}×{}", r.nlat, r.nlon),
            fmt(r.min),
            fmt(r.max),
            fmt(r.mean),
        ]);
    }
    let mut out = format!("{} field slice(s)\n", inv.rows.len());
    out.push_str(&table(&rows));
    if !inv.skipped.is_empty() {
        out.push_str(&format!("\n{} skipped\n", inv.skipped.len()));
        let mut rows = vec![["source", "message", "name", "reason"]
            .map(str::to_string)
            .to_vec()];
        for s in &inv.skipped {
            rows.push(vec![
                s.path.display().to_string(),
                opt(&s.message),
                s.name.clone(),
                s.reason.clone(),
            ]);
        }
        out.push_str(&table(&rows));
    }
    out
}

/// Prints the inventory of the sources.
pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    let inv = inventory::inventory(&args.sources).context("reading the sources")?;
    if args.json {
        let mut text = serde_json::to_string_pretty(&to_json(&inv))?;
        text.push('\n');
        return emit(&text);
    }
    emit(&to_text(&inv))
}
