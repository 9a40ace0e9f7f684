//! `gencast stats`: ensemble mean, spread and quantiles of a forecast file, and scores (fair
//! CRPS, ensemble-mean RMSE, spread/skill) against a verifying dataset, per variable, level and
//! lead time. Definitions are those of `gencast::output::stats`.
//!
//! Truth frames are matched to lead times by valid time when both files have a `datetime`
//! coordinate. Otherwise (e.g. the reference's rollout files, which carry only lead times) the
//! lead times count from one frame of the truth file: `--truth-init-frame`, by default frame 1,
//! the last input frame of GenCast's two-frame input window when the truth is the dataset the
//! forecast was started from. The flag also forces this matching when both have `datetime`.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};
use gencast::data::netcdf_time::format_datetime;
use gencast::data::{Array, Dataset};
use gencast::output::guard::{check_output_location, refuse_inputs_as_output, OutputKind};
use gencast::output::netcdf::{tmp_name, AttrValue, NcHeader, NcType, NcWriter};
use gencast::output::stats::{
    ensemble_mean_std, ensemble_quantiles, field_scores, grid_weights, Scores,
};
use serde_json::{json, Value};

use crate::cmd_inspect::emit;

/// Arguments of `gencast stats`.
#[derive(clap::Args)]
pub struct Args {
    /// Forecast file (NetCDF with dims sample, batch, time[, level], lat, lon).
    #[arg(long)]
    forecast: PathBuf,
    /// Verifying dataset (same grid) holding the forecast's variables at its valid times.
    #[arg(long)]
    truth: Option<PathBuf>,
    /// Match lead times from this (0-based) truth frame instead of by valid time; the default,
    /// when the forecast has no `datetime` coordinate, is frame 1.
    #[arg(long, allow_negative_numbers = true, value_parser = crate::numbers::whole::<usize>)]
    truth_init_frame: Option<usize>,
    /// Write ensemble mean, standard deviation, quantiles and scores to this NetCDF file.
    #[arg(long)]
    output: Option<PathBuf>,
    /// Quantiles to write to the output file, comma-separated (e.g. 0.1,0.5,0.9).
    #[arg(long, value_delimiter = ',')]
    quantiles: Vec<f64>,
    /// Delta degrees of freedom of the standard deviation written to the output file.
    #[arg(long, default_value_t = 1, allow_negative_numbers = true, value_parser = crate::numbers::whole::<usize>)]
    ddof: usize,
    /// Only these variables (comma-separated; default: every forecast variable).
    #[arg(long, value_delimiter = ',')]
    variables: Vec<String>,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

/// Tolerance in degrees when comparing the forecast and truth grids (f32 coordinates).
const GRID_TOL: f32 = 1e-3;

/// Nanoseconds per hour.
const HOUR_NS: f64 = 3.6e12;

/// One forecast variable.
struct Var {
    name: String,
    levelled: bool,
}

/// One line of the report.
struct Row {
    variable: String,
    level: Option<i32>,
    lead: usize,
    scores: Scores,
}

/// Forecast variables: dims `sample, [batch,] time, [level,] lat, lon`.
fn forecast_variables(fc: &Dataset, only: &[String]) -> anyhow::Result<Vec<Var>> {
    let mut vars = Vec::new();
    for v in fc.variables() {
        let dims: Vec<&str> = v
            .dims
            .iter()
            .map(String::as_str)
            .filter(|d| *d != "batch")
            .collect();
        let levelled = match dims.as_slice() {
            ["sample", "time", "lat", "lon"] => false,
            ["sample", "time", "level", "lat", "lon"] => true,
            _ => continue,
        };
        if only.is_empty() || only.contains(&v.name) {
            vars.push(Var {
                name: v.name.clone(),
                levelled,
            });
        }
    }
    if let Some(missing) = only.iter().find(|n| !vars.iter().any(|v| &v.name == *n)) {
        bail!(
            "{}: no forecast variable `{missing}` with dims (sample, batch, time[, level], lat, lon)",
            fc.path().display()
        );
    }
    if vars.is_empty() {
        bail!(
            "{}: no variables with dims (sample, batch, time[, level], lat, lon); is this a forecast file?",
            fc.path().display()
        );
    }
    Ok(vars)
}

/// The truth frame of each lead time (None where the truth file has none).
fn truth_frames(
    fc: &Dataset,
    truth: &Dataset,
    init_frame: Option<usize>,
) -> anyhow::Result<Vec<Option<usize>>> {
    let leads = fc.time();
    if init_frame.is_none() && !fc.datetime().is_empty() && !truth.datetime().is_empty() {
        let valid = fc.datetime();
        return Ok(valid
            .iter()
            .map(|t| truth.datetime().iter().position(|x| x == t))
            .collect());
    }
    let k = init_frame.unwrap_or(1);
    let times = truth.time();
    let base = *times.get(k).ok_or_else(|| {
        anyhow!(
            "{}: truth init frame {k} is out of range for {} frames with a `time` coordinate",
            truth.path().display(),
            times.len()
        )
    })?;
    Ok(leads
        .iter()
        .map(|l| times.iter().position(|t| *t == base + l))
        .collect())
}

fn same_grid(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= GRID_TOL)
}

/// Checks that an array read for one lead time has the expected dims and size.
fn check_slab(
    path: &Path,
    name: &str,
    arr: &Array,
    dims: &[&str],
    size: usize,
) -> anyhow::Result<()> {
    if arr.dims != dims || arr.data.len() != size {
        bail!(
            "{}: variable `{name}` read with dims {:?} and {} values; expected {dims:?} and {size}",
            path.display(),
            arr.dims,
            arr.data.len()
        );
    }
    Ok(())
}

/// The output file: declared up front, filled lead time by lead time.
struct Output {
    nc: NcWriter,
    with_truth: bool,
    quantiles: usize,
}

/// A score's output name, description and accessor.
type Metric = (&'static str, &'static str, fn(&Scores) -> f64);

/// Metrics written per variable when a truth is given.
const METRICS: [Metric; 5] = [
    ("crps", "fair CRPS", |s| s.crps),
    ("rmse", "ensemble-mean RMSE", |s| s.rmse),
    ("rmse_unbiased", "unbiased ensemble-mean RMSE", |s| {
        s.rmse_unbiased
    }),
    (
        "spread",
        "ensemble spread (root mean variance, ddof 1)",
        |s| s.spread,
    ),
    (
        "spread_skill",
        "spread/skill ratio with sqrt((M+1)/M)",
        |s| s.spread_skill,
    ),
];

fn text(s: &str) -> AttrValue {
    AttrValue::Text(s.to_string())
}

impl Output {
    fn create(
        path: &Path,
        fc: &Dataset,
        vars: &[Var],
        args: &Args,
        with_truth: bool,
        units: &dyn Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Self> {
        let mut h = NcHeader::default();
        let t = h.add_dim("time", fc.time().len());
        let levels = fc.level();
        let l = h.add_dim("level", levels.len());
        let y = h.add_dim("lat", fc.lat().len());
        let x = h.add_dim("lon", fc.lon().len());
        // A zero-length dimension would be taken for the record dimension: no quantiles, no
        // `quantile` dimension.
        let q = (!args.quantiles.is_empty()).then(|| h.add_dim("quantile", args.quantiles.len()));
        h.attrs = vec![
            ("Conventions".into(), text("CF-1.8")),
            ("title".into(), text("GenCast ensemble statistics")),
            ("source".into(), text(&fc.path().display().to_string())),
            (
                "history".into(),
                text(&format!("gencast stats {}", std::env::args().skip(2).collect::<Vec<_>>().join(" "))),
            ),
            ("ensemble_members".into(), AttrValue::Int(vec![fc.dim_size("sample").unwrap_or(0) as i32])),
            ("std_ddof".into(), AttrValue::Int(vec![args.ddof as i32])),
            (
                "area_weighting".into(),
                text("cos-latitude band areas normalised to mean 1 (pole rows: polar caps); missing points dropped"),
            ),
        ];
        let a = |list: &[(&str, &str)]| {
            list.iter()
                .map(|(k, v)| (k.to_string(), text(v)))
                .collect::<Vec<_>>()
        };
        h.add_var(
            "time",
            &[t],
            NcType::Double,
            a(&[
                ("long_name", "lead time"),
                ("units", "hours"),
                ("dtype", "timedelta64[ns]"),
            ]),
        );
        h.add_var(
            "level",
            &[l],
            NcType::Int,
            a(&[("long_name", "pressure level"), ("units", "hPa")]),
        );
        h.add_var(
            "lat",
            &[y],
            NcType::Float,
            a(&[("long_name", "latitude"), ("units", "degrees_north")]),
        );
        h.add_var(
            "lon",
            &[x],
            NcType::Float,
            a(&[("long_name", "longitude"), ("units", "degrees_east")]),
        );
        if let Some(q) = q {
            h.add_var(
                "quantile",
                &[q],
                NcType::Double,
                a(&[("long_name", "quantile")]),
            );
        }
        let fill = || ("_FillValue".to_string(), AttrValue::Float(vec![f32::NAN]));
        for v in vars {
            let mut field = vec![t];
            if v.levelled {
                field.push(l);
            }
            let summary = field.clone();
            field.extend([y, x]);
            let with_units = |long: &str| {
                let mut attrs = vec![fill(), ("long_name".into(), text(long))];
                if let Some(u) = units(&v.name) {
                    attrs.push(("units".into(), text(&u)));
                }
                attrs
            };
            h.add_var(
                &format!("mean__{}", v.name),
                &field,
                NcType::Float,
                with_units("ensemble mean"),
            );
            h.add_var(
                &format!("std__{}", v.name),
                &field,
                NcType::Float,
                with_units("ensemble standard deviation"),
            );
            if let Some(q) = q {
                let dims: Vec<usize> = std::iter::once(q).chain(field.iter().copied()).collect();
                h.add_var(
                    &format!("quantile__{}", v.name),
                    &dims,
                    NcType::Float,
                    with_units("ensemble quantile (linear)"),
                );
            }
            if with_truth {
                for (key, long, _) in METRICS {
                    let attrs = vec![
                        ("_FillValue".to_string(), AttrValue::Double(vec![f64::NAN])),
                        ("long_name".into(), text(long)),
                    ];
                    h.add_var(
                        &format!("{key}__{}", v.name),
                        &summary,
                        NcType::Double,
                        attrs,
                    );
                }
            }
        }
        let mut nc = NcWriter::create(path, h)?;
        let hours: Vec<f64> = fc.time().iter().map(|&t| t as f64 / HOUR_NS).collect();
        nc.write_f64(0, 0, &hours)?;
        nc.write_i32(1, 0, levels)?;
        nc.write_f32(2, 0, fc.lat())?;
        nc.write_f32(3, 0, fc.lon())?;
        if q.is_some() {
            nc.write_f64(4, 0, &args.quantiles)?;
        }
        Ok(Output {
            nc,
            with_truth,
            quantiles: args.quantiles.len(),
        })
    }

    /// Writes one lead time of one variable: `block` values per member and field.
    fn write_fields(
        &mut self,
        name: &str,
        lead: usize,
        leads: usize,
        members: &[&[f32]],
        ddof: usize,
        quantiles: &[f64],
    ) -> anyhow::Result<()> {
        let block = members.first().map_or(0, |m| m.len());
        let (mut mean, mut std) = (vec![0f32; block], vec![0f32; block]);
        ensemble_mean_std(members, ddof, &mut mean, &mut std)?;
        let start = (lead * block) as u64;
        let v = self.nc.var_index(&format!("mean__{name}"))?;
        self.nc.write_f32(v, start, &mean)?;
        let v = self.nc.var_index(&format!("std__{name}"))?;
        self.nc.write_f32(v, start, &std)?;
        if self.quantiles > 0 {
            let mut out = vec![0f32; self.quantiles * block];
            ensemble_quantiles(members, quantiles, &mut out)?;
            let v = self.nc.var_index(&format!("quantile__{name}"))?;
            for (k, slab) in out.chunks(block.max(1)).enumerate() {
                self.nc
                    .write_f32(v, ((k * leads + lead) * block) as u64, slab)?;
            }
        }
        Ok(())
    }

    /// Writes the scores of one variable at one lead time (one value per level).
    fn write_scores(&mut self, name: &str, lead: usize, rows: &[Scores]) -> anyhow::Result<()> {
        if !self.with_truth {
            return Ok(());
        }
        for (key, _, get) in METRICS {
            let v = self.nc.var_index(&format!("{key}__{name}"))?;
            let values: Vec<f64> = rows.iter().map(get).collect();
            self.nc.write_f64(v, (lead * rows.len()) as u64, &values)?;
        }
        Ok(())
    }
}

/// The truth dataset and the frame matching each lead time.
struct Truth {
    ds: Dataset,
    frames: Vec<Option<usize>>,
}

fn open_truth(path: &Path, fc: &Dataset, init_frame: Option<usize>) -> anyhow::Result<Truth> {
    let ds = Dataset::open(path)?;
    if !same_grid(ds.lat(), fc.lat()) || !same_grid(ds.lon(), fc.lon()) {
        bail!(
            "{}: grid ({} lat × {} lon) differs from the forecast's ({} × {}); regrid the truth first",
            path.display(),
            ds.lat().len(),
            ds.lon().len(),
            fc.lat().len(),
            fc.lon().len()
        );
    }
    let frames = truth_frames(fc, &ds, init_frame)?;
    if frames.iter().all(Option::is_none) {
        bail!(
            "{}: no frame matches any forecast lead time",
            path.display()
        );
    }
    for (lead, f) in fc.time().iter().zip(&frames) {
        if f.is_none() {
            tracing::warn!(
                "no truth frame for lead time {}h; its scores are left out",
                *lead as f64 / HOUR_NS
            );
        }
    }
    Ok(Truth { ds, frames })
}

/// Truth values of one variable at one frame, on the forecast's levels: `[level][lat·lon]`.
fn truth_field(
    truth: &Truth,
    var: &Var,
    frame: usize,
    levels: &[i32],
    points: usize,
) -> anyhow::Result<Vec<f32>> {
    let ds = &truth.ds;
    let arr = ds.read(&var.name, Some(frame..frame + 1))?;
    if !var.levelled {
        check_slab(ds.path(), &var.name, &arr, &["time", "lat", "lon"], points)?;
        return Ok(arr.data);
    }
    check_slab(
        ds.path(),
        &var.name,
        &arr,
        &["time", "level", "lat", "lon"],
        ds.level().len() * points,
    )?;
    let mut out = Vec::with_capacity(levels.len() * points);
    for &l in levels {
        let k = ds.level_index(l).ok_or_else(|| {
            anyhow!(
                "{}: variable `{}` has no level {l} hPa",
                ds.path().display(),
                var.name
            )
        })?;
        out.extend_from_slice(&arr.data[k * points..(k + 1) * points]);
    }
    Ok(out)
}

/// Runs `gencast stats`.
pub fn run(args: Args) -> anyhow::Result<()> {
    if let Some(out) = &args.output {
        check_output_location(out, OutputKind::File)?;
        let mut inputs: Vec<(&str, &Path)> = vec![("--forecast", &args.forecast)];
        if let Some(t) = &args.truth {
            inputs.push(("--truth", t));
        }
        refuse_inputs_as_output(&[out.clone(), tmp_name(out)], &inputs)?;
    }
    let fc = Dataset::open(&args.forecast)?;
    let vars = forecast_variables(&fc, &args.variables)?;
    let leads = fc.time().len();
    if leads == 0 || Some(leads) != fc.dim_size("time") {
        bail!(
            "{}: the `time` coordinate (lead times) is missing or incomplete",
            args.forecast.display()
        );
    }
    let members = fc.dim_size("sample").unwrap_or(0);
    if members == 0 {
        bail!(
            "{}: the `sample` dimension is empty",
            args.forecast.display()
        );
    }
    if args.output.is_some() && args.ddof >= members {
        bail!(
            "--ddof {} needs more than {} members (the standard deviation divides by members - \
             ddof); use a smaller --ddof",
            args.ddof,
            members
        );
    }
    if let Some(q) = args.quantiles.iter().find(|q| !(0.0..=1.0).contains(*q)) {
        bail!("--quantiles: {q} is outside [0, 1]");
    }
    let points = fc.lat().len() * fc.lon().len();
    let weights = grid_weights(fc.lat(), fc.lon().len())?;
    let truth = match &args.truth {
        Some(p) => Some(
            open_truth(p, &fc, args.truth_init_frame)
                .with_context(|| format!("truth {}", p.display()))?,
        ),
        None => None,
    };
    if let Some(t) = &truth {
        let names: Vec<&str> = vars.iter().map(|v| v.name.as_str()).collect();
        t.ds.require(&names)?;
    }
    let units = |name: &str| fc.variable(name).and_then(|v| v.units.clone());
    let mut output = match &args.output {
        Some(p) => Some(Output::create(
            p,
            &fc,
            &vars,
            &args,
            truth.is_some(),
            &units,
        )?),
        None => None,
    };

    let mut rows = Vec::new();
    for var in &vars {
        let levels: &[i32] = if var.levelled { fc.level() } else { &[] };
        let nlev = levels.len().max(1);
        let block = nlev * points;
        for lead in 0..leads {
            let arr = fc.read(&var.name, Some(lead..lead + 1))?;
            let dims: &[&str] = if var.levelled {
                &["sample", "time", "level", "lat", "lon"]
            } else {
                &["sample", "time", "lat", "lon"]
            };
            check_slab(fc.path(), &var.name, &arr, dims, members * block)?;
            let ens: Vec<&[f32]> = arr.data.chunks(block).collect();
            if let Some(out) = output.as_mut() {
                out.write_fields(&var.name, lead, leads, &ens, args.ddof, &args.quantiles)?;
            }
            let frame = truth.as_ref().and_then(|t| t.frames[lead].map(|f| (t, f)));
            let truth_values = match frame {
                Some((t, f)) => Some(truth_field(t, var, f, levels, points)?),
                None => None,
            };
            let mut scores = Vec::with_capacity(nlev);
            for k in 0..nlev {
                let field: Vec<&[f32]> = ens
                    .iter()
                    .map(|m| &m[k * points..(k + 1) * points])
                    .collect();
                let y = truth_values
                    .as_ref()
                    .map(|t| &t[k * points..(k + 1) * points]);
                scores.push(field_scores(&field, y, &weights)?);
            }
            if let Some(out) = output.as_mut() {
                out.write_scores(&var.name, lead, &scores)?;
            }
            for (k, s) in scores.into_iter().enumerate() {
                rows.push(Row {
                    variable: var.name.clone(),
                    level: levels.get(k).copied(),
                    lead,
                    scores: s,
                });
            }
        }
    }
    if let Some(out) = output {
        out.nc.finish()?;
    }
    let with_truth = truth.is_some();
    if args.json {
        let mut text = serde_json::to_string_pretty(&report_json(&args, &fc, &truth, &rows))?;
        text.push('\n');
        emit(&text)
    } else {
        emit(&table(&fc, &rows, with_truth, members))
    }
}

fn lead_hours(fc: &Dataset, lead: usize) -> f64 {
    fc.time()
        .get(lead)
        .map_or(f64::NAN, |&t| t as f64 / HOUR_NS)
}

fn report_json(args: &Args, fc: &Dataset, truth: &Option<Truth>, rows: &[Row]) -> Value {
    let rows: Vec<Value> = rows
        .iter()
        .map(|r| {
            let s = &r.scores;
            let mut o = json!({
                "variable": r.variable,
                "level": r.level,
                "lead_hours": lead_hours(fc, r.lead),
                "valid_points": s.valid_points,
                "mean": s.mean,
                "spread": s.spread,
            });
            let has_truth = truth.as_ref().is_some_and(|t| t.frames[r.lead].is_some());
            if let (true, Some(map)) = (has_truth, o.as_object_mut()) {
                map.insert("crps".into(), json!(s.crps));
                map.insert("rmse".into(), json!(s.rmse));
                map.insert("mse_unbiased".into(), json!(s.mse_unbiased));
                map.insert("rmse_unbiased".into(), json!(s.rmse_unbiased));
                map.insert("spread_skill".into(), json!(s.spread_skill));
            }
            o
        })
        .collect();
    let valid: Vec<Value> = fc
        .datetime()
        .iter()
        .map(|&t| json!(format_datetime(t)))
        .collect();
    json!({
        "forecast": args.forecast.display().to_string(),
        "truth": args.truth.as_ref().map(|p| p.display().to_string()),
        "members": fc.dim_size("sample"),
        "lead_hours": (0..fc.time().len()).map(|i| lead_hours(fc, i)).collect::<Vec<_>>(),
        "valid_times": valid,
        "truth_frames": truth.as_ref().map(|t| t.frames.clone()),
        "area_weighting": "cos-latitude band areas normalised to mean 1 (pole rows: polar caps); missing points dropped",
        "spread_ddof": 1,
        "rows": rows,
    })
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

fn table(fc: &Dataset, rows: &[Row], with_truth: bool, members: usize) -> String {
    let mut out = format!(
        "{} members; area-weighted global means (cos-latitude)\n",
        members
    );
    let mut head = format!(
        "{:<26} {:>6} {:>7} {:>11} {:>11}",
        "variable", "level", "lead_h", "mean", "spread"
    );
    if with_truth {
        head += &format!(
            " {:>11} {:>11} {:>11} {:>8}",
            "crps", "rmse", "rmse_unb", "ssr"
        );
    }
    out += &head;
    out.push('\n');
    for r in rows {
        let s = &r.scores;
        let level = r.level.map_or("-".to_string(), |l| l.to_string());
        out += &format!(
            "{:<26} {:>6} {:>7} {:>11} {:>11}",
            r.variable,
            level,
            lead_hours(fc, r.lead),
            num(s.mean),
            num(s.spread)
        );
        if with_truth {
            out += &format!(
                " {:>11} {:>11} {:>11} {:>8}",
                num(s.crps),
                num(s.rmse),
                num(s.rmse_unbiased),
                num(s.spread_skill)
            );
        }
        out.push('\n');
    }
    out
}
