//! What `gencast stats` prints (a table, or JSON) and writes with `--csv`.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context as _;
use gencast::data::netcdf_time::format_datetime;
use gencast::output::read::{ForecastOutput, OutputLayout};
use serde_json::{json, Value};

use super::{lead_hours, Args, Row};

/// Area weighting, as stated in every report.
const WEIGHTING: &str =
    "cos-latitude band areas normalised to mean 1 (pole rows: polar caps); missing points dropped";

/// What the reports need besides the rows.
pub(super) struct Context<'a> {
    /// The command's arguments.
    pub args: &'a Args,
    /// The forecast.
    pub fc: &'a ForecastOutput,
    /// The truth frame of each lead time, when a truth is given.
    pub truth_frames: Option<Vec<Option<usize>>>,
    /// The `--region` text.
    pub region: Option<String>,
    /// Whether scores against a truth are reported.
    pub with_truth: bool,
    /// Whether anomaly correlations are reported.
    pub with_acc: bool,
}

impl Context<'_> {
    fn has_truth(&self, r: &Row) -> bool {
        self.truth_frames
            .as_ref()
            .is_some_and(|f| f[r.lead].is_some())
    }
}

/// The JSON report.
pub(super) fn json(ctx: &Context, rows: &[Row]) -> Value {
    let fc = ctx.fc;
    let rows: Vec<Value> = rows
        .iter()
        .map(|r| {
            let s = &r.scores;
            let mut o = json!({
                "variable": r.variable,
                "level": r.level,
                "units": r.units,
                "scored_from": scored_from(r),
                "lead_hours": lead_hours(fc, r.lead),
                "valid_points": s.valid_points,
                "mean": s.mean,
                "spread": s.spread,
            });
            if let (true, Some(map)) = (ctx.has_truth(r), o.as_object_mut()) {
                map.insert("crps".into(), json!(s.crps));
                map.insert("rmse".into(), json!(s.rmse));
                map.insert("mse_unbiased".into(), json!(s.mse_unbiased));
                map.insert("rmse_unbiased".into(), json!(s.rmse_unbiased));
                map.insert("spread_skill".into(), json!(s.spread_skill));
                if r.from_summary {
                    map.insert("note".into(), json!(SUMMARY_NOTE));
                } else {
                    map.insert("rank_histogram".into(), json!(r.ranks));
                }
                if ctx.with_acc {
                    map.insert("acc".into(), json!(r.acc));
                }
            }
            o
        })
        .collect();
    let valid: Vec<Value> = fc
        .valid_times()
        .iter()
        .map(|&t| json!(format_datetime(t)))
        .collect();
    let layout = match fc.layout() {
        OutputLayout::Reference => "reference",
        OutputLayout::WeatherBench2 => "weatherbench2",
    };
    json!({
        "forecast": ctx.args.forecast.display().to_string(),
        "truth": ctx.args.truth.as_ref().map(|p| p.display().to_string()),
        "climatology": ctx.args.climatology.as_ref().map(|p| p.display().to_string()),
        "layout": layout,
        "members": fc.members().len(),
        "init_time": fc.init_time().map(format_datetime),
        "lead_hours": (0..fc.lead_times().len()).map(|i| lead_hours(fc, i)).collect::<Vec<_>>(),
        "valid_times": valid,
        "truth_frames": ctx.truth_frames,
        "region": ctx.region,
        "area_weighting": WEIGHTING,
        "spread_ddof": 1,
        "rows": rows,
    })
}

/// What a summary row cannot give, in every report.
const SUMMARY_NOTE: &str = "ensemble summary: scores of the ensemble mean (spread from its \
                            std); the CRPS and the rank histogram need the members";

/// Where a row's scores come from: `members`, or `ensemble mean` for a summary.
fn scored_from(r: &Row) -> &'static str {
    if r.from_summary {
        "ensemble mean"
    } else {
        "members"
    }
}

/// A number in at most 10 characters with 4-5 significant digits ("-" when undefined).
fn num(x: f64) -> String {
    if !x.is_finite() {
        return "-".into();
    }
    let a = x.abs();
    if a == 0.0 || (1e-3..1e5).contains(&a) {
        let digits = if a == 0.0 {
            4
        } else {
            (4 - a.log10().floor() as i32).clamp(0, 7) as usize
        };
        format!("{x:.digits$}")
    } else {
        format!("{x:.3e}")
    }
}

/// The printed table.
pub(super) fn table(ctx: &Context, rows: &[Row]) -> String {
    let area = match &ctx.region {
        Some(r) => format!("means over the region {r}"),
        None => "global means".into(),
    };
    let mut out = format!(
        "{} members; area-weighted {area} (cos-latitude); values in the file's units\n",
        ctx.fc.members().len()
    );
    if rows.iter().any(|r| r.from_summary) {
        out += &format!("{SUMMARY_NOTE} (shown as -)\n");
    }
    let mut head = format!(
        "{:<26} {:>6} {:>8} {:>7} {:>11} {:>11}",
        "variable", "level", "units", "lead_h", "mean", "spread"
    );
    if ctx.with_truth {
        head += &format!(
            " {:>11} {:>11} {:>11} {:>8}",
            "crps", "rmse", "rmse_unb", "ssr"
        );
    }
    if ctx.with_acc {
        head += &format!(" {:>8}", "acc");
    }
    out += &head;
    out.push('\n');
    for r in rows {
        let s = &r.scores;
        let level = r.level.map_or("-".to_string(), |l| l.to_string());
        out += &format!(
            "{:<26} {:>6} {:>8} {:>7} {:>11} {:>11}",
            r.variable,
            level,
            r.units,
            lead_hours(ctx.fc, r.lead),
            num(s.mean),
            num(s.spread)
        );
        if ctx.with_truth {
            out += &format!(
                " {:>11} {:>11} {:>11} {:>8}",
                num(s.crps),
                num(s.rmse),
                num(s.rmse_unbiased),
                num(s.spread_skill)
            );
        }
        if ctx.with_acc {
            out += &format!(" {:>8}", num(r.acc));
        }
        out.push('\n');
    }
    out
}

/// A CSV field: shortest round-trip form, empty when undefined.
fn field(x: f64) -> String {
    if x.is_finite() {
        format!("{x}")
    } else {
        String::new()
    }
}

/// Writes the table as CSV, one row per variable, level and lead time, numbers in full.
pub(super) fn write_csv(path: &Path, ctx: &Context, rows: &[Row]) -> anyhow::Result<()> {
    let mut text = String::from("variable,level,units,lead_hours,valid_points,mean,spread");
    if ctx.with_truth {
        text += ",crps,rmse,rmse_unbiased,spread_skill";
    }
    if ctx.with_acc {
        text += ",acc";
    }
    // Rank histogram bins: rank k counts the points where the truth has k members below it.
    let bins = if ctx.with_truth {
        ctx.fc.members().len() + 1
    } else {
        0
    };
    if ctx.with_truth {
        text += ",scored_from";
    }
    for k in 0..bins {
        let _ = write!(text, ",rank_{k}");
    }
    text.push('\n');
    for r in rows {
        let s = &r.scores;
        let level = r.level.map_or(String::new(), |l| l.to_string());
        let _ = write!(
            text,
            "{},{level},{},{},{},{},{}",
            r.variable,
            r.units,
            lead_hours(ctx.fc, r.lead),
            s.valid_points,
            field(s.mean),
            field(s.spread)
        );
        if ctx.with_truth {
            let _ = write!(
                text,
                ",{},{},{},{}",
                field(s.crps),
                field(s.rmse),
                field(s.rmse_unbiased),
                field(s.spread_skill)
            );
        }
        if ctx.with_acc {
            let _ = write!(text, ",{}", field(r.acc));
        }
        if ctx.with_truth {
            let _ = write!(text, ",{}", scored_from(r));
        }
        for k in 0..bins {
            let _ = write!(
                text,
                ",{}",
                r.ranks.get(k).map_or(String::new(), |&c| field(c))
            );
        }
        text.push('\n');
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}
