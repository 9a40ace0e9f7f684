//! `gencast stats`: ensemble mean, spread and quantiles of a forecast output, and scores (fair
//! CRPS, ensemble-mean RMSE, spread/skill, anomaly correlation, rank histograms) against a
//! verifying dataset, per variable, level and lead time, over the globe or a region.
//! Definitions are those of `gencast::output::stats` and `gencast::output::verify`.
//!
//! The forecast and the truth may be NetCDF files or Zarr stores, in the reference or the
//! WeatherBench-2 layout, and the forecast may hold a selection (variables, levels, a region,
//! every Nth step). Truth frames are matched to lead times by valid time when both have them.
//! Otherwise (e.g. the reference's rollout files, which carry only lead times) the lead times
//! count from one frame of the truth file: `--truth-init-frame`, by default frame 1, the last
//! input frame of GenCast's two-frame input window when the truth is the dataset the forecast
//! was started from. The flag also forces this matching when both have valid times.

mod grid;
mod output;
mod report;

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};
use gencast::output::read::{Climatology, ForecastOutput, SummaryStatistic};
use gencast::output::stats::{field_scores, summary_scores, Scores};
use gencast::output::verify::{anomaly_correlation, rank_histogram, score_maps};
use gencast::output::{
    check_output_location, refuse_inputs_as_output, same_location, OutputKind, StagedOutput,
};

use crate::cmd_inspect::emit;
use grid::{Grid, GridMap};
use output::Output;

/// Arguments of `gencast stats`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Forecast output: NetCDF file or Zarr store, reference or WeatherBench-2 layout.
    #[arg(long)]
    forecast: PathBuf,
    /// Verifying dataset (NetCDF or Zarr, reference layout, on a grid holding the forecast's)
    /// with the forecast's variables at its valid times.
    #[arg(long)]
    truth: Option<PathBuf>,
    /// Match lead times from this (0-based) truth frame instead of by valid time; the default,
    /// when the forecast has no valid times, is frame 1.
    #[arg(long, allow_negative_numbers = true, value_parser = crate::numbers::whole::<usize>)]
    truth_init_frame: Option<usize>,
    /// Score only this region: `lat_min,lat_max,lon_min,lon_max` in degrees (`lon_min >
    /// lon_max` crosses 0°).
    #[arg(long, allow_hyphen_values = true)]
    region: Option<String>,
    /// Climatology for anomaly correlations (NetCDF or Zarr): per variable, dims
    /// `[dayofyear,] [hour,] [level,] lat, lon`.
    #[arg(long)]
    climatology: Option<PathBuf>,
    /// Write ensemble mean, standard deviation, quantiles, scores, rank histograms and CRPS and
    /// error maps to this NetCDF file.
    #[arg(long)]
    output: Option<PathBuf>,
    /// Write the table (one row per variable, level and lead time) to this CSV file.
    #[arg(long)]
    csv: Option<PathBuf>,
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

/// Nanoseconds per hour.
const HOUR_NS: f64 = 3.6e12;

/// One forecast variable.
struct Var {
    name: String,
    levelled: bool,
    /// For an ensemble summary: the variables holding its ensemble mean and, when written, its
    /// standard deviation (`mean__V`, `std__V`).
    summary: Option<(String, Option<String>)>,
}

/// One line of the report.
struct Row {
    variable: String,
    level: Option<i32>,
    lead: usize,
    scores: Scores,
    /// Anomaly correlation (NaN without truth or climatology).
    acc: f64,
    /// Rank histogram counts (empty without truth, or from a summary).
    ranks: Vec<f64>,
    /// Whether the scores come from an ensemble summary's mean (no CRPS, no rank histogram).
    from_summary: bool,
    /// Units of the values and scores: the file's (empty when unknown).
    units: String,
}

/// The forecast's variables with lead times (all, or those of `--variables`): per-member
/// variables, or, for an `--ensemble-summary` output, the variables whose ensemble mean it
/// holds (`mean__V`, scored as the mean of the ensemble).
fn forecast_variables(fc: &ForecastOutput, only: &[String]) -> anyhow::Result<Vec<Var>> {
    let wanted = |name: &str| only.is_empty() || only.iter().any(|n| n == name);
    let mut vars: Vec<Var> = fc
        .variables()
        .iter()
        .filter(|v| v.timed && v.per_member && wanted(&v.name))
        .map(|v| Var {
            name: v.name.clone(),
            levelled: v.levelled,
            summary: None,
        })
        .collect();
    for v in fc.variables().iter().filter(|v| v.timed) {
        let Some((SummaryStatistic::Mean, base)) = v.summary() else {
            continue;
        };
        if !wanted(base) || vars.iter().any(|x| x.name == base) {
            continue;
        }
        let std = format!("std__{base}");
        let std = fc
            .variable(&std)
            .is_some_and(|s| s.timed && !s.per_member)
            .then_some(std);
        vars.push(Var {
            name: base.to_string(),
            levelled: v.levelled,
            summary: Some((v.name.clone(), std)),
        });
    }
    if !fc.is_ensemble() && vars.iter().all(|v| v.summary.is_none()) {
        bail!(
            "{}: no ensemble member dimension (sample or realization); is this a forecast file?",
            fc.path().display()
        );
    }
    let summaries_only = fc
        .variables()
        .iter()
        .any(|v| v.timed && v.summary().is_some());
    if let Some(missing) = only.iter().find(|n| !vars.iter().any(|v| &v.name == *n)) {
        if summaries_only && fc.variable(&format!("mean__{missing}")).is_none() {
            bail!(
                "{}: no forecast variable `{missing}` and no ensemble mean `mean__{missing}`: \
                 scores need the members or the ensemble mean (--ensemble-summary mean,…)",
                fc.path().display()
            );
        }
        bail!(
            "{}: no forecast variable `{missing}` with member, lead time, [level,] latitude and \
             longitude dimensions",
            fc.path().display()
        );
    }
    if vars.is_empty() {
        if summaries_only {
            bail!(
                "{}: an ensemble summary without the ensemble mean: scores need the members or \
                 the `mean` statistic (--ensemble-summary mean,…)",
                fc.path().display()
            );
        }
        bail!(
            "{}: no variables with member, lead time, [level,] latitude and longitude \
             dimensions; is this a forecast file?",
            fc.path().display()
        );
    }
    Ok(vars)
}

/// The truth frame of each lead time (None where the truth has none).
fn truth_frames(
    fc: &ForecastOutput,
    truth: &ForecastOutput,
    init_frame: Option<usize>,
) -> anyhow::Result<Vec<Option<usize>>> {
    if init_frame.is_none() && !fc.valid_times().is_empty() && !truth.valid_times().is_empty() {
        return Ok(fc
            .valid_times()
            .iter()
            .map(|t| truth.valid_times().iter().position(|x| x == t))
            .collect());
    }
    let k = init_frame.unwrap_or(1);
    let times = truth.lead_times();
    let base = *times.get(k).ok_or_else(|| {
        anyhow!(
            "{}: truth init frame {k} is out of range for {} frames with a `time` coordinate",
            truth.path().display(),
            times.len()
        )
    })?;
    Ok(fc
        .lead_times()
        .iter()
        .map(|l| times.iter().position(|t| *t == base + l))
        .collect())
}

/// The truth and the frame matching each lead time.
struct Truth {
    out: ForecastOutput,
    frames: Vec<Option<usize>>,
    map: GridMap,
}

fn open_truth(
    path: &Path,
    fc: &ForecastOutput,
    grid: &Grid,
    init_frame: Option<usize>,
) -> anyhow::Result<Truth> {
    let out = ForecastOutput::open(path)?;
    let map = GridMap::new(grid, out.lat(), out.lon()).ok_or_else(|| {
        anyhow!(
            "{}: grid ({} lat × {} lon) does not hold the forecast's points; regrid the truth \
             first",
            path.display(),
            out.lat().len(),
            out.lon().len(),
        )
    })?;
    let frames = truth_frames(fc, &out, init_frame)?;
    if frames.iter().all(Option::is_none) {
        bail!(
            "{}: no frame matches any forecast lead time",
            path.display()
        );
    }
    for (lead, f) in fc.lead_times().iter().zip(&frames) {
        if f.is_none() {
            tracing::warn!(
                "no truth frame for lead time {}h; its scores are left out",
                *lead as f64 / HOUR_NS
            );
        }
    }
    Ok(Truth { out, frames, map })
}

/// Values of one variable on the forecast's `levels` and the scoring grid's points, from a
/// `[level][lat][lon]` field on levels `have`: `[level][point]`.
fn pick_levels(
    what: &Path,
    name: &str,
    field: &[f32],
    have: &[i32],
    levels: &[i32],
    map: &GridMap,
) -> anyhow::Result<Vec<f32>> {
    let per = map.source_points();
    if levels.is_empty() {
        if field.len() != per {
            bail!(
                "{}: variable `{name}` has {} values per field, expected {per}",
                what.display(),
                field.len()
            );
        }
        return Ok(map.gather(field));
    }
    if field.len() != have.len() * per {
        bail!(
            "{}: variable `{name}` has {} values, expected {} levels × {per} points",
            what.display(),
            field.len(),
            have.len()
        );
    }
    let mut out = Vec::with_capacity(levels.len() * map.len());
    for &l in levels {
        let k = have
            .iter()
            .position(|&x| x == l)
            .ok_or_else(|| anyhow!("{}: variable `{name}` has no level {l} hPa", what.display()))?;
        out.extend(map.gather(&field[k * per..(k + 1) * per]));
    }
    Ok(out)
}

/// Runs `gencast stats`.
pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    let mut inputs: Vec<(&str, &Path)> = vec![("--forecast", &args.forecast)];
    if let Some(t) = &args.truth {
        inputs.push(("--truth", t));
    }
    if let Some(c) = &args.climatology {
        inputs.push(("--climatology", c));
    }
    for out in [&args.output, &args.csv].into_iter().flatten() {
        check_output_location(out, OutputKind::File)?;
        refuse_inputs_as_output(std::slice::from_ref(out), &inputs)?;
    }
    if let (Some(o), Some(c)) = (&args.output, &args.csv) {
        if same_location(o, c) {
            bail!(
                "--output {} and --csv {} name the same file; give two names",
                o.display(),
                c.display()
            );
        }
    }
    if args.climatology.is_some() && args.truth.is_none() {
        bail!("--climatology needs --truth (the anomaly correlation compares against the truth)");
    }
    let fc = ForecastOutput::open(&args.forecast)?;
    let vars = forecast_variables(&fc, &args.variables)?;
    let leads = fc.lead_times().len();
    if leads == 0 {
        bail!(
            "{}: the lead time coordinate is missing or empty",
            args.forecast.display()
        );
    }
    let members = fc.members().len();
    if args.output.is_some() && vars.iter().any(|v| v.summary.is_some()) {
        bail!(
            "{}: an ensemble summary has no members: --output writes member statistics and \
             score maps; use the table, --json or --csv",
            args.forecast.display()
        );
    }
    if members == 0 {
        bail!(
            "{}: the ensemble member dimension is empty",
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
    let grid = Grid::new(&fc, args.region.as_deref())?;
    let truth = match &args.truth {
        Some(p) => Some(
            open_truth(p, &fc, &grid, args.truth_init_frame)
                .with_context(|| format!("truth {}", p.display()))?,
        ),
        None => None,
    };
    if let Some(t) = &truth {
        for v in &vars {
            if !t.out.variable(&v.name).is_some_and(|x| x.timed) {
                bail!(
                    "{}: missing variable `{}` (with time, [level,] latitude and longitude)",
                    t.out.path().display(),
                    v.name
                );
            }
        }
    }
    let clim = match &args.climatology {
        Some(p) => {
            let c = Climatology::open(p)?;
            let map = GridMap::new(&grid, c.lat(), c.lon()).ok_or_else(|| {
                anyhow!(
                    "{}: grid ({} lat × {} lon) does not hold the forecast's points",
                    p.display(),
                    c.lat().len(),
                    c.lon().len()
                )
            })?;
            if let Some(v) = vars.iter().find(|v| !c.has(&v.name)) {
                bail!("{}: missing climatology variable `{}`", p.display(), v.name);
            }
            Some((c, map))
        }
        None => None,
    };
    let units = |name: &str| {
        fc.variable(name)
            .and_then(|v| v.units.clone())
            .or_else(|| gencast::variables::lookup(name).map(|i| i.units.to_string()))
    };
    // Written in a private folder beside the output and moved into place when complete.
    let staged = args
        .output
        .as_deref()
        .map(|p| StagedOutput::new(p, OutputKind::File))
        .transpose()?;
    let mut output = match &staged {
        Some(p) => Some(Output::create(
            p.path(),
            &fc,
            &grid,
            &vars,
            &args,
            truth.is_some(),
            clim.is_some(),
            &units,
        )?),
        None => None,
    };

    let points = grid.len();
    let mut rows = Vec::new();
    for var in &vars {
        let levels: &[i32] = if var.levelled { fc.levels() } else { &[] };
        let nlev = levels.len().max(1);
        let stored = var.summary.as_ref().map_or(&var.name, |(mean, _)| mean);
        let var_units = fc
            .variable(stored)
            .and_then(|v| v.units.clone())
            .or_else(|| units(&var.name))
            .unwrap_or_default();
        for lead in 0..leads {
            // `[member][level][point]` on the scoring grid (one "member", the ensemble mean,
            // for a summary), and a summary's standard deviation `[level][point]`.
            let (data, std) = match &var.summary {
                None => (
                    read_members(&fc, &var.name, lead, members, nlev, &grid)?,
                    None,
                ),
                Some((mean, std)) => {
                    let std = match std {
                        Some(s) => Some(read_members(&fc, s, lead, 1, nlev, &grid)?.remove(0)),
                        None => None,
                    };
                    (read_members(&fc, mean, lead, 1, nlev, &grid)?, std)
                }
            };
            let ens: Vec<&[f32]> = data.iter().map(Vec::as_slice).collect();
            if let Some(out) = output.as_mut() {
                out.write_fields(&var.name, lead, leads, &ens, args.ddof, &args.quantiles)?;
            }
            let frame = truth.as_ref().and_then(|t| t.frames[lead].map(|f| (t, f)));
            let truth_values = match frame {
                Some((t, f)) => {
                    let field = t.out.read(&var.name, f)?;
                    Some(pick_levels(
                        t.out.path(),
                        &var.name,
                        &field,
                        t.out.levels(),
                        levels,
                        &t.map,
                    )?)
                }
                None => None,
            };
            let clim_values = match (&clim, &truth_values) {
                (Some((c, map)), Some(_)) => {
                    let valid = fc.valid_times().get(lead).copied();
                    let field = c.read(&var.name, valid)?;
                    Some(pick_levels(
                        c.path(),
                        &var.name,
                        &field,
                        c.levels(),
                        levels,
                        map,
                    )?)
                }
                _ => None,
            };
            let mut level_rows = Vec::with_capacity(nlev);
            for k in 0..nlev {
                let range = k * points..(k + 1) * points;
                let field: Vec<&[f32]> = ens.iter().map(|m| &m[range.clone()]).collect();
                let y = truth_values.as_ref().map(|t| &t[range.clone()]);
                let scores = match &var.summary {
                    None => field_scores(&field, y, grid.weights())?,
                    Some(_) => summary_scores(
                        field[0],
                        std.as_ref().map(|s| &s[range.clone()]),
                        members,
                        y,
                        grid.weights(),
                    )?,
                };
                let (mut acc, mut ranks) = (f64::NAN, Vec::new());
                if let Some(y) = y {
                    if var.summary.is_none() {
                        ranks = rank_histogram(&field, y)?;
                    }
                    if let Some(c) = &clim_values {
                        acc = anomaly_correlation(&field, y, &c[range.clone()], grid.weights())?;
                    }
                    if let Some(out) = output.as_mut() {
                        let (mut crps, mut err) = (vec![0f32; points], vec![0f32; points]);
                        score_maps(&field, y, &mut crps, &mut err)?;
                        out.write_maps(&var.name, lead, k, nlev, &crps, &err)?;
                    }
                }
                level_rows.push(Row {
                    variable: var.name.clone(),
                    level: levels.get(k).copied(),
                    lead,
                    scores,
                    acc,
                    ranks,
                    from_summary: var.summary.is_some(),
                    units: var_units.clone(),
                });
            }
            if let Some(out) = output.as_mut() {
                out.write_scores(&var.name, lead, &level_rows)?;
            }
            rows.extend(level_rows);
        }
    }
    if let (Some(out), Some(staged)) = (output, staged) {
        out.finish()?;
        staged.commit(true)?;
    }
    let ctx = report::Context {
        args: &args,
        fc: &fc,
        truth_frames: truth.as_ref().map(|t| t.frames.clone()),
        region: grid.region_text(),
        with_truth: truth.is_some(),
        with_acc: clim.is_some(),
    };
    if let Some(csv) = &args.csv {
        report::write_csv(csv, &ctx, &rows)?;
    }
    if args.json {
        let mut text = serde_json::to_string_pretty(&report::json(&ctx, &rows))?;
        text.push('\n');
        emit(&text)
    } else {
        emit(&report::table(&ctx, &rows))
    }
}

/// Variable `name` of `fc` at lead time index `lead`, `members × levels` fields, each gathered
/// onto the scoring grid: `[member][level][point]`.
fn read_members(
    fc: &ForecastOutput,
    name: &str,
    lead: usize,
    members: usize,
    nlev: usize,
    grid: &Grid,
) -> anyhow::Result<Vec<Vec<f32>>> {
    let raw = fc.read(name, lead)?;
    let per_member = nlev * grid.source_points();
    if raw.len() != members * per_member {
        bail!(
            "{}: variable `{name}` read with {} values at one lead time; expected {members} \
             member(s) × {nlev} levels × {} points",
            fc.path().display(),
            raw.len(),
            grid.source_points()
        );
    }
    Ok(raw
        .chunks(per_member)
        .map(|m| {
            m.chunks(grid.source_points())
                .flat_map(|f| grid.gather(f))
                .collect()
        })
        .collect())
}

/// Lead time `lead` of `fc` in hours (NaN when out of range).
fn lead_hours(fc: &ForecastOutput, lead: usize) -> f64 {
    fc.lead_times()
        .get(lead)
        .map_or(f64::NAN, |&t| t as f64 / HOUR_NS)
}
