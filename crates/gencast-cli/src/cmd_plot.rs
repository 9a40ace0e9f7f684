//! `gencast plot`: PNG maps of a forecast output (NetCDF or Zarr, reference or WeatherBench-2
//! layout, regional or global; read through `gencast::output::read`) or of an input dataset.
//! Longitudes run west to east as in the file (−180..180 with `--centre-greenwich`), north is
//! up; missing values are light grey; coastlines are the 0.5 contour of `land_sea_mask` drawn
//! along cell boundaries. Values are shown in forecaster units (`display_units.csv`); maps are
//! one field, postage stamps of every member, exceedance probabilities, or forecast / truth /
//! difference panels, with optional contour lines.

mod colormap;
mod contour;
mod font;
mod histogram;
mod probability;
mod quantity;
mod region;
mod render;
mod units;

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};
use gencast::data::netcdf_time::format_datetime;
use gencast::output::read::{ForecastOutput, SummaryStatistic};
use gencast::output::stats::ensemble_mean_std;
use gencast::output::{check_output_location, refuse_inputs_as_output, OutputKind};

use colormap::Colormap;
use quantity::{colormap_of, colormap_of_kind, name_of, ordinal, MapKind};
use region::Window;
use render::{render_page, tick_label, ColourBar, Contours, Grid, Page, Panel, SINGLE_MAP_WIDTH};
use units::{Shown, UnitsMode};

use gencast::time::NS_PER_HOUR;
/// Width of each map of the forecast / truth / difference panels.
const PANEL_MAP_WIDTH: usize = 480;
/// Width of each postage stamp.
const STAMP_MAP_WIDTH: usize = 400;

/// Arguments of `gencast plot`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Forecast output or input dataset (NetCDF file or Zarr store).
    #[arg(long)]
    input: PathBuf,
    /// Variable to plot (e.g. 2m_temperature); optional with --probability.
    #[arg(long)]
    variable: Option<String>,
    /// Pressure level in hPa (required for variables with a level dimension).
    #[arg(long)]
    level: Option<i32>,
    /// Lead time of a forecast, in hours (e.g. 12 or 12h); default the first one.
    #[arg(long, value_parser = parse_hours)]
    lead_time: Option<i64>,
    /// Ensemble member (a value of the forecast's `sample` coordinate); default the first one.
    #[arg(long, conflicts_with_all = ["mean", "std", "stamps", "probability"])]
    member: Option<i64>,
    /// Plot the ensemble mean of a forecast.
    #[arg(long, conflicts_with_all = ["std", "stamps", "probability"])]
    mean: bool,
    /// Plot the ensemble standard deviation of a forecast.
    #[arg(long, conflicts_with_all = ["stamps", "probability"])]
    std: bool,
    /// Postage stamps: every member on one page, with a shared colour bar.
    #[arg(long, conflicts_with_all = ["probability", "truth"])]
    stamps: bool,
    /// Exceedance probability: the percentage of members with e.g.
    /// `total_precipitation_12hr>10mm` (>, >=, <, <=; units mm, m, hPa, Pa, K, °C, m/s, dam, …).
    #[arg(long, conflicts_with = "truth")]
    probability: Option<String>,
    /// Dataset holding the truth at the forecast's valid time: forecast, truth and difference
    /// panels side by side.
    #[arg(long)]
    truth: Option<PathBuf>,
    /// Rank histogram of the truth (--truth) among the members instead of a map: one bar per
    /// rank, over the map's points.
    #[arg(long, requires = "truth", conflicts_with_all = ["member", "mean", "std", "stamps", "probability"])]
    rank_histogram: bool,
    /// Contour lines: `VAR[:LEVEL][@INTERVAL]` (interval in the units shown), or `none`
    /// (default: isobars every 4 hPa on mean sea level pressure, every 6 dam on geopotential).
    #[arg(long)]
    contours: Option<String>,
    /// Only this region: `lat_min,lat_max,lon_min,lon_max` in degrees (`lon_min > lon_max`
    /// crosses 0°).
    #[arg(long, allow_hyphen_values = true, conflicts_with = "centre_greenwich")]
    region: Option<String>,
    /// Units on the map: forecaster (hPa, °C, dam, mm, g/kg) or the file's (native).
    #[arg(long, value_enum, default_value_t = UnitsMode::Forecaster)]
    units: UnitsMode,
    /// Delta degrees of freedom of --std (Σ(x − x̄)²/(M − ddof)).
    #[arg(long, default_value_t = 1)]
    ddof: usize,
    /// Frame (0-based index along `time`) of an input dataset; default 0.
    #[arg(long)]
    frame: Option<usize>,
    /// Dataset whose `land_sea_mask` draws coastlines (default: the input, when it has one).
    #[arg(long)]
    dataset: Option<PathBuf>,
    /// Put Greenwich in the middle: longitudes −180..180 instead of 0..360 from left to right.
    #[arg(long)]
    centre_greenwich: bool,
    /// Colour map (default per quantity: rdylbu for temperatures, blues from 0 for
    /// precipitation, diverging for winds, vertical velocity and differences, viridis for
    /// spreads, probabilities and the rest).
    #[arg(long, value_enum, alias = "cmap")]
    colormap: Option<Colormap>,
    /// Value at the low end of the colour bar (default: the field's minimum).
    #[arg(long, allow_negative_numbers = true)]
    vmin: Option<f64>,
    /// Value at the high end of the colour bar (default: the field's maximum).
    #[arg(long, allow_negative_numbers = true)]
    vmax: Option<f64>,
    /// PNG file to write.
    #[arg(long)]
    output: PathBuf,
}

/// Parses `12`, `12h` or `2d` as hours.
fn parse_hours(s: &str) -> Result<i64, String> {
    let t = s.trim();
    let (num, mul) = if let Some(n) = t.strip_suffix('d') {
        (n, 24)
    } else {
        (t.strip_suffix('h').unwrap_or(t), 1)
    };
    num.trim()
        .parse::<i64>()
        .map(|h| h * mul)
        .map_err(|_| format!("`{s}` is not a lead time in hours (e.g. 12, 12h, 2d)"))
}

/// Units for variables whose file gives none (from the CF table of GenCast's variables).
fn default_units(var: &str) -> Option<&'static str> {
    gencast::variables::lookup(var).map(|i| i.units)
}

/// What is shown for the ensemble dimension.
enum Members {
    One(usize, i64),
    Mean,
    Std,
    /// A statistic an `--ensemble-summary` output holds.
    Summary(SummaryStatistic),
}

impl Members {
    /// Whether the values shown are a spread (converted by scale only).
    fn is_spread(&self) -> bool {
        matches!(self, Members::Std | Members::Summary(SummaryStatistic::Std))
    }
}

/// The variable to read for `var`: itself, or on an ensemble summary without `var` its
/// statistic `mean__var` (with --mean) or `std__var` (with --std).
fn stored_name(ds: &ForecastOutput, var: &str, mean: bool, std: bool) -> String {
    let stat = match (mean, std) {
        (true, _) => "mean",
        (_, true) => "std",
        _ => return var.to_string(),
    };
    let summary = format!("{stat}__{var}");
    if ds.variable(var).is_none() && ds.variable(&summary).is_some() {
        summary
    } else {
        var.to_string()
    }
}

/// Runs the command.
pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    check_output_location(&args.output, OutputKind::File)?;
    let mut inputs: Vec<(&str, &Path)> = vec![("--input", &args.input)];
    if let Some(t) = &args.truth {
        inputs.push(("--truth", t));
    }
    if let Some(d) = &args.dataset {
        inputs.push(("--dataset", d));
    }
    refuse_inputs_as_output(std::slice::from_ref(&args.output), &inputs)?;
    let png = plot_png(&args)?;
    write_atomic(&args.output, &png)?;
    tracing::info!(output = %args.output.display(), "plot written");
    Ok(())
}

/// Builds the PNG bytes for `args` without writing anything.
fn plot_png(args: &Args) -> anyhow::Result<Vec<u8>> {
    let ds = ForecastOutput::open(&args.input)
        .with_context(|| format!("opening {}", args.input.display()))?;
    let path = args.input.display();
    let event = args
        .probability
        .as_deref()
        .map(probability::parse)
        .transpose()?;
    let var = match (&event, &args.variable) {
        (Some(e), None) => e.variable.as_str(),
        (Some(e), Some(v)) if *v == e.variable => v.as_str(),
        (Some(e), Some(v)) => bail!(
            "--variable {v} and --probability `{}` name different variables",
            e.variable
        ),
        (None, Some(v)) => v.as_str(),
        (None, None) => bail!("give --variable (or --probability)"),
    };
    let stored = stored_name(&ds, var, args.mean, args.std);
    let var = stored.as_str();
    let info = ds.variable(var).ok_or_else(|| {
        let names: Vec<&str> = ds.variables().iter().map(|v| v.name.as_str()).collect();
        anyhow!(
            "{path}: no variable `{var}`; available: {}",
            names.join(", ")
        )
    })?;
    let (nlat, nlon) = (ds.lat().len(), ds.lon().len());
    if nlat == 0 || nlon == 0 {
        bail!("{path}: no latitude/longitude coordinates");
    }
    let summary = info.summary();
    if let Some((stat, base)) = summary {
        let what = match stat {
            SummaryStatistic::Mean => "ensemble mean".to_string(),
            SummaryStatistic::Std => "ensemble standard deviation".to_string(),
            SummaryStatistic::Percentile(p) => format!("{} percentile", ordinal(p)),
        };
        let asked = |flag: bool, want: bool| flag && !want;
        if args.member.is_some()
            || args.stamps
            || event.is_some()
            || asked(args.mean, stat == SummaryStatistic::Mean)
            || asked(args.std, stat == SummaryStatistic::Std)
        {
            bail!(
                "{path}: `{var}` holds the {what} of `{base}` (an ensemble summary): --member, \
                 --stamps, --probability and another statistic need the members"
            );
        }
    }
    // The variable whose units, names and colours apply.
    let quantity = summary.map_or(var, |(_, base)| base);
    let is_forecast = ds.is_ensemble() || summary.is_some();
    let has_time = info.timed;
    if !is_forecast && (args.stamps || event.is_some()) {
        bail!("{path} is not a forecast (no `sample` dimension): --stamps and --probability need an ensemble");
    }

    // Frame along `time`: a lead time for forecasts, an index for datasets.
    let frame = if is_forecast {
        if args.frame.is_some() {
            bail!("--frame applies to input datasets; {path} is a forecast: use --lead-time");
        }
        match args.lead_time {
            None => 0,
            Some(h) => {
                let leads: Vec<String> = ds
                    .lead_times()
                    .iter()
                    .map(|t| format!("{}h", t / NS_PER_HOUR))
                    .collect();
                ds.lead_times()
                    .iter()
                    .position(|&t| t == h * NS_PER_HOUR)
                    .ok_or_else(|| {
                        anyhow!(
                            "{path}: lead time {h}h not in file; available: {}",
                            leads.join(", ")
                        )
                    })?
            }
        }
    } else {
        if args.lead_time.is_some() || args.member.is_some() || args.mean || args.std {
            bail!("{path} is not a forecast (no `sample` dimension): --lead-time, --member, --mean and --std do not apply; use --frame");
        }
        let f = args.frame.unwrap_or(0);
        let frames = ds.lead_times().len();
        if has_time && f >= frames {
            bail!(
                "{path}: frame {f} out of range: `{var}` has {frames} frames (0..{})",
                frames.saturating_sub(1)
            );
        }
        f
    };
    level_of(&ds, var, info.levelled, args.level)?;
    let samples = ds.members().to_vec();
    let members = if let Some((stat, _)) = summary {
        Members::Summary(stat)
    } else if !is_forecast {
        Members::One(0, 0)
    } else if args.mean {
        Members::Mean
    } else if args.std {
        Members::Std
    } else {
        match args.member {
            None => Members::One(0, samples.first().copied().unwrap_or(0)),
            Some(m) => {
                let i = samples.iter().position(|&s| s == m).ok_or_else(|| {
                    let ss: Vec<String> = samples.iter().map(|s| s.to_string()).collect();
                    anyhow!(
                        "{path}: member {m} out of range; members: {}",
                        ss.join(", ")
                    )
                })?;
                Members::One(i, m)
            }
        }
    };

    let window = match &args.region {
        Some(r) => Window::parse(r, ds.lat(), ds.lon())?,
        None => Window::all(ds.lat(), ds.lon()),
    };
    let all = read_members(&ds, var, frame, args.level)?;
    if args.rank_histogram {
        return rank_histogram_png(args, &ds, (var, quantity), frame, &window, &all);
    }
    let mask = land_sea_mask(&ds, args.dataset.as_deref())?.map(|m| window.crop(&m, nlon));
    let native_units = info
        .units
        .clone()
        .or_else(|| default_units(quantity).map(str::to_string))
        .unwrap_or_else(|| "units unknown".into());
    let shown = Shown::new(quantity, &native_units, args.units);
    // Spreads convert by scale only: a spread of 1 K is one of 1 °C.
    let show = |f: &[f32]| {
        if members.is_spread() {
            shown.apply_scale(f)
        } else {
            shown.apply(f)
        }
    };
    let name = name_of(quantity, &shown);
    let contour_spec = contour_spec(
        &ds,
        args.contours.as_deref(),
        (var, quantity, args.level),
        args.units,
        event.is_some() || matches!(members, Members::Summary(SummaryStatistic::Std)),
    )?;
    let contour_members = match &contour_spec {
        Some(c) => Some(read_members(&ds, &c.variable, frame, c.level)?),
        None => None,
    };
    let contours_of = |fields: &[Vec<f32>], pick: &Members| -> anyhow::Result<Option<Contours>> {
        let (Some(spec), Some(_)) = (&contour_spec, &contour_members) else {
            return Ok(None);
        };
        // The standard deviation is contoured with the mean of the contoured variable.
        let pick = if matches!(pick, Members::Std) {
            &Members::Mean
        } else {
            pick
        };
        let field = reduce(fields, pick, args.ddof, &path.to_string())?;
        let field = spec.shown.apply(&window.crop(&field, nlon));
        let levels = contour::levels(&field, spec.interval);
        Ok(Some(Contours {
            field,
            levels,
            interval: spec.interval,
        }))
    };
    let cm = contour_members.as_deref().unwrap_or_default();
    let mut title = title_lines(
        &ds,
        (&name, &shown.units),
        args.level,
        frame,
        (has_time, is_forecast),
        &members,
        args.ddof,
    );

    let default_map = if members.is_spread() {
        colormap_of_kind(MapKind::Spread)
    } else {
        colormap_of(quantity)
    };
    let colormap = args.colormap.unwrap_or(default_map);
    let bar_label = if members.is_spread() {
        format!("ensemble std of {name} [{}]", shown.units)
    } else {
        format!("{name} [{}]", shown.units)
    };
    let (panels, bars, columns, map_width, axes) = if let Some(e) = &event {
        let threshold =
            units::threshold_to_native(var, e.value, e.units.as_deref(), &native_units)?;
        let field = window.crop(&probability::percent(&all, e.op, threshold), nlon);
        let written = match &e.units {
            Some(u) => format!("{} {u}", e.value),
            None => format!("{} {native_units}", e.value),
        };
        title[0] = format!(
            "probability of {name}{} {} {written}, {} members",
            args.level
                .map(|l| format!(" at {l} hPa"))
                .unwrap_or_default(),
            e.op.words(),
            all.len()
        );
        let bar = ColourBar {
            colormap: args
                .colormap
                .unwrap_or(colormap_of_kind(MapKind::Probability)),
            range: (args.vmin.unwrap_or(0.0), args.vmax.unwrap_or(100.0)),
            label: format!("members {} the threshold [%]", e.op.words()),
        };
        let contours = contours_of(cm, &Members::Mean)?;
        let panel = Panel {
            field,
            label: None,
            bar: 0,
            contours,
        };
        (vec![panel], vec![bar], 1, SINGLE_MAP_WIDTH, true)
    } else if args.stamps {
        let shown_fields: Vec<Vec<f32>> = all
            .iter()
            .map(|f| shown.apply(&window.crop(f, nlon)))
            .collect();
        let flat: Vec<f32> = shown_fields.concat();
        let range = colour_range(args, &flat, colormap)?;
        let mut panels = Vec::new();
        for (i, field) in shown_fields.into_iter().enumerate() {
            let contours = contours_of(cm, &Members::One(i, samples[i]))?;
            panels.push(Panel {
                field,
                label: Some(format!("member {}", samples[i])),
                bar: 0,
                contours,
            });
        }
        title[0] = format!(
            "{name}{} [{}], all {} members",
            args.level
                .map(|l| format!(" at {l} hPa"))
                .unwrap_or_default(),
            shown.units,
            panels.len()
        );
        let columns = (panels.len() as f64).sqrt().ceil() as usize;
        let bar = ColourBar {
            colormap,
            range,
            label: bar_label,
        };
        (panels, vec![bar], columns, STAMP_MAP_WIDTH, false)
    } else {
        let native = window.crop(&reduce(&all, &members, args.ddof, &path.to_string())?, nlon);
        let field = show(&native);
        let contours = contours_of(cm, &members)?;
        if let Some(truth_path) = &args.truth {
            if members.is_spread() {
                bail!("--truth compares a forecast field with the truth; a spread has none (plot a member, the --mean or a summary's mean)");
            }
            let truth = window.crop(
                &truth_field(&ds, frame, truth_path, quantity, args.level)?,
                nlon,
            );
            // Differences convert by scale only, from the native values.
            let diff: Vec<f32> = shown.apply_scale(
                &native
                    .iter()
                    .zip(&truth)
                    .map(|(f, t)| f - t)
                    .collect::<Vec<f32>>(),
            );
            let truth = shown.apply(&truth);
            let both = [field.as_slice(), truth.as_slice()].concat();
            let range = colour_range(args, &both, colormap)?;
            let diff_map = colormap_of_kind(MapKind::Difference);
            let diff_range = render::value_range(&diff, diff_map);
            let bars = vec![
                ColourBar {
                    colormap,
                    range,
                    label: bar_label,
                },
                ColourBar {
                    colormap: diff_map,
                    range: diff_range,
                    label: format!("forecast - truth [{}]", shown.units),
                },
            ];
            let panels = vec![
                Panel {
                    field,
                    label: Some("forecast".into()),
                    bar: 0,
                    contours,
                },
                Panel {
                    field: truth,
                    label: Some("truth".into()),
                    bar: 0,
                    contours: None,
                },
                Panel {
                    field: diff,
                    label: Some("difference".into()),
                    bar: 1,
                    contours: None,
                },
            ];
            (panels, bars, 3, PANEL_MAP_WIDTH, true)
        } else {
            let range = colour_range(args, &field, colormap)?;
            let bar = ColourBar {
                colormap,
                range,
                label: bar_label,
            };
            (
                vec![Panel {
                    field,
                    label: None,
                    bar: 0,
                    contours,
                }],
                vec![bar],
                1,
                SINGLE_MAP_WIDTH,
                true,
            )
        }
    };
    if let Some(spec) = &contour_spec {
        title[0].push_str(&format!(", contours {}", spec.describe(var)));
    }
    if panels.iter().any(|p| p.field.iter().all(|v| v.is_nan())) {
        bail!("{path}: `{var}` has no value in the plotted area");
    }
    let mut lon = window.lon.clone();
    let (mut panels, mut mask) = (panels, mask);
    if args.centre_greenwich && args.region.is_none() {
        let k = lon.iter().position(|&l| l >= 180.0).unwrap_or(nlon);
        let rotate = |f: &mut Vec<f32>| {
            for row in f.chunks_exact_mut(nlon) {
                row.rotate_left(k);
            }
        };
        for p in &mut panels {
            rotate(&mut p.field);
            if let Some(c) = &mut p.contours {
                rotate(&mut c.field);
            }
        }
        if let Some(m) = &mut mask {
            rotate(m);
        }
        lon.rotate_left(k);
        let wrapped = nlon - k;
        for l in &mut lon[..wrapped] {
            *l -= 360.0;
        }
    }
    let page = Page {
        grid: Grid {
            lat: &window.lat,
            lon: &lon,
            land_sea_mask: mask.as_deref(),
            global: window.global,
        },
        title,
        panels,
        columns,
        bars,
        map_width,
        axes,
    };
    render_page(&page).encode_png()
}

/// The rank histogram page of `var` (named after `quantity`) at `frame` over `window`'s
/// points, from every member's field `all` and the truth of `--truth`.
fn rank_histogram_png(
    args: &Args,
    ds: &ForecastOutput,
    (var, quantity): (&str, &str),
    frame: usize,
    window: &Window,
    all: &[Vec<f32>],
) -> anyhow::Result<Vec<u8>> {
    let path = ds.path().display();
    let truth_path = args
        .truth
        .as_deref()
        .ok_or_else(|| anyhow!("--rank-histogram needs --truth"))?;
    if quantity != var || !ds.is_ensemble() {
        bail!("{path}: `{var}` has no members: --rank-histogram ranks the truth among them");
    }
    let nlon = ds.lon().len();
    let truth = window.crop(&truth_field(ds, frame, truth_path, var, args.level)?, nlon);
    let fields: Vec<Vec<f32>> = all.iter().map(|f| window.crop(f, nlon)).collect();
    let refs: Vec<&[f32]> = fields.iter().map(Vec::as_slice).collect();
    let counts = gencast::output::verify::rank_histogram(&refs, &truth)?;
    let shown = Shown::new(var, "", args.units);
    let at = args
        .level
        .map(|l| format!(" at {l} hPa"))
        .unwrap_or_default();
    let mut title = title_lines(
        ds,
        (&name_of(var, &shown), ""),
        args.level,
        frame,
        (true, true),
        &Members::Mean,
        args.ddof,
    );
    title[0] = format!(
        "rank histogram of {}{at} against {}, {} points",
        name_of(var, &shown),
        truth_path.file_name().map_or_else(
            || truth_path.display().to_string(),
            |n| n.to_string_lossy().into_owned()
        ),
        counts.iter().sum::<f64>().round()
    );
    histogram::render(&title, &counts).encode_png()
}

/// The colour range: `--vmin`/`--vmax` where given, else the field's (checked non-empty).
fn colour_range(args: &Args, field: &[f32], colormap: Colormap) -> anyhow::Result<(f64, f64)> {
    let auto = render::value_range(field, colormap);
    let range = (args.vmin.unwrap_or(auto.0), args.vmax.unwrap_or(auto.1));
    if range.0 >= range.1 || !range.0.is_finite() || !range.1.is_finite() {
        bail!(
            "colour range --vmin {} .. --vmax {} is empty; the field spans {} .. {}",
            range.0,
            range.1,
            auto.0,
            auto.1
        );
    }
    Ok(range)
}

/// The level index of `level` for `var`, checking that a level is given exactly when `var` has levels.
fn level_of(
    ds: &ForecastOutput,
    var: &str,
    has_level: bool,
    level: Option<i32>,
) -> anyhow::Result<Option<usize>> {
    let path = ds.path().display();
    let list = || {
        ds.levels()
            .iter()
            .map(|l| l.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match (has_level, level) {
        (true, Some(l)) => Ok(Some(ds.levels().iter().position(|&x| x == l).ok_or_else(
            || anyhow!("{path}: level {l} hPa not in file; available: {}", list()),
        )?)),
        (true, None) => bail!(
            "{path}: `{var}` has levels; choose one with --level ({})",
            list()
        ),
        (false, Some(l)) => bail!("{path}: `{var}` has no level dimension (got --level {l})"),
        (false, None) => Ok(None),
    }
}

/// Every member's `lat × lon` field of `var` at `frame` (one field for a dataset).
fn read_members(
    ds: &ForecastOutput,
    var: &str,
    frame: usize,
    level: Option<i32>,
) -> anyhow::Result<Vec<Vec<f32>>> {
    let path = ds.path().display();
    let info = ds
        .variable(var)
        .ok_or_else(|| anyhow!("{path}: no variable `{var}`"))?;
    let level_index = level_of(ds, var, info.levelled, level)?;
    let data = ds
        .read(var, frame)
        .with_context(|| format!("reading `{var}` from {path}"))?;
    // Laid out [member][level][lat][lon].
    let points = ds.lat().len() * ds.lon().len();
    let levels = if info.levelled { ds.levels().len() } else { 1 };
    let per_member = levels * points;
    if per_member == 0 || data.len() % per_member != 0 {
        bail!(
            "{path}: `{var}` read {} values, not a whole number of {levels} level(s) × {points} points",
            data.len()
        );
    }
    let start = level_index.unwrap_or(0) * points;
    Ok(data
        .chunks_exact(per_member)
        .map(|m| m[start..start + points].to_vec())
        .collect())
}

/// The field shown for `members` out of every member's field.
fn reduce(
    fields: &[Vec<f32>],
    members: &Members,
    ddof: usize,
    path: &str,
) -> anyhow::Result<Vec<f32>> {
    match members {
        Members::Summary(_) => fields
            .first()
            .cloned()
            .ok_or_else(|| anyhow!("{path}: no field")),
        Members::One(i, _) => fields
            .get(*i)
            .cloned()
            .ok_or_else(|| anyhow!("{path}: member index {i} out of range")),
        Members::Mean | Members::Std => {
            let points = fields.first().map_or(0, Vec::len);
            if matches!(members, Members::Std) && fields.len() <= ddof {
                bail!(
                    "{path}: --std of {} member(s) with --ddof {ddof} is undefined (the standard \
                     deviation divides by members - ddof); plot a member or the --mean",
                    fields.len(),
                );
            }
            let refs: Vec<&[f32]> = fields.iter().map(Vec::as_slice).collect();
            let (mut mean, mut std) = (vec![0f32; points], vec![0f32; points]);
            ensemble_mean_std(
                &refs,
                ddof.min(fields.len().saturating_sub(1)),
                &mut mean,
                &mut std,
            )?;
            Ok(if matches!(members, Members::Mean) {
                mean
            } else {
                std
            })
        }
    }
}

/// The truth for the forecast's frame: `var` (at `level`) of the dataset frame whose valid time
/// is the forecast's, at the forecast's grid points (a regional forecast picks its part of a
/// global truth).
fn truth_field(
    fc: &ForecastOutput,
    frame: usize,
    truth: &Path,
    var: &str,
    level: Option<i32>,
) -> anyhow::Result<Vec<f32>> {
    let valid = fc.valid_times().get(frame).copied().ok_or_else(|| {
        anyhow!(
            "{}: no valid times to match with --truth",
            fc.path().display()
        )
    })?;
    let ds = ForecastOutput::open(truth).with_context(|| format!("opening {}", truth.display()))?;
    let points = on_grid(fc, &ds, &format!("--truth {}", truth.display()))?;
    let j = ds
        .valid_times()
        .iter()
        .position(|&t| t == valid)
        .ok_or_else(|| {
            let have: Vec<String> = ds.valid_times().iter().map(|&t| short_time(t)).collect();
            anyhow!(
                "--truth {}: no frame valid at {}; it has {}",
                truth.display(),
                short_time(valid),
                have.join(", ")
            )
        })?;
    if ds.variable(var).is_none() {
        bail!("--truth {}: no variable `{var}`", truth.display());
    }
    let field = read_members(&ds, var, j, level)?.swap_remove(0);
    Ok(points.iter().map(|&k| field[k]).collect())
}

/// Index into `other`'s `lat × lon` grid of each point of `grid`'s (latitudes equal, longitudes
/// equal modulo 360°): the same grid, or a region of it; `what` names `other` in errors.
fn on_grid(
    grid: &ForecastOutput,
    other: &ForecastOutput,
    what: &str,
) -> anyhow::Result<Vec<usize>> {
    // Coordinates are float32 degrees from the same source; 1e-3° tells grid points apart.
    let find = |want: f32, have: &[f32], axis: &str, lon: bool| {
        have.iter()
            .position(|&h| {
                let d = f64::from(h) - f64::from(want);
                let d = if lon {
                    (d + 180.0).rem_euclid(360.0) - 180.0
                } else {
                    d
                };
                d.abs() < 1e-3
            })
            .ok_or_else(|| anyhow!("{what}: no {axis} {want} of the plotted grid"))
    };
    let rows: Vec<usize> = grid
        .lat()
        .iter()
        .map(|&l| find(l, other.lat(), "latitude", false))
        .collect::<anyhow::Result<_>>()?;
    let cols: Vec<usize> = grid
        .lon()
        .iter()
        .map(|&l| find(l, other.lon(), "longitude", true))
        .collect::<anyhow::Result<_>>()?;
    let n = other.lon().len();
    Ok(rows
        .iter()
        .flat_map(|&r| cols.iter().map(move |&c| r * n + c))
        .collect())
}

/// Contour lines over a map: which variable (and level), every how much.
struct ContourSpec {
    /// Contoured variable.
    variable: String,
    /// Its level (hPa), for variables with levels.
    level: Option<i32>,
    /// Spacing of the lines, in the units shown.
    interval: f64,
    /// Units conversion of the contoured variable.
    shown: Shown,
    /// Its name in titles.
    name: String,
}

impl ContourSpec {
    /// E.g. `of geopotential at 500 hPa every 6 dam` (just `every 4 hPa` when the contoured
    /// variable is the plotted one, `plotted`).
    fn describe(&self, plotted: &str) -> String {
        let iv = tick_label(self.interval, self.interval, self.interval);
        let every = format!("every {iv} {}", self.shown.units);
        if self.variable == plotted {
            return every;
        }
        let level = self
            .level
            .map(|l| format!(" at {l} hPa"))
            .unwrap_or_default();
        format!("of {}{level} {every}", self.name)
    }
}

/// What `--contours` asks for (`VAR[:LEVEL][@INTERVAL]` or `none`); without it, lines of the
/// plotted variable itself where the display table gives it a spacing (isobars on pressure,
/// height contours on geopotential), except on probability maps.
fn contour_spec(
    ds: &ForecastOutput,
    text: Option<&str>,
    (var, quantity, level): (&str, &str, Option<i32>),
    mode: UnitsMode,
    no_default: bool,
) -> anyhow::Result<Option<ContourSpec>> {
    let units_of = |v: &str| {
        ds.variable(v)
            .and_then(|i| i.units.clone())
            .or_else(|| default_units(v).map(str::to_string))
            .unwrap_or_default()
    };
    let Some(text) = text else {
        let units = ds
            .variable(var)
            .and_then(|i| i.units.clone())
            .unwrap_or_else(|| units_of(quantity));
        let shown = Shown::new(quantity, &units, mode);
        return Ok(match shown.contour_interval {
            Some(interval) if !no_default => Some(ContourSpec {
                variable: var.to_string(),
                level,
                interval,
                name: name_of(quantity, &shown),
                shown,
            }),
            _ => None,
        });
    };
    if text.trim() == "none" {
        return Ok(None);
    }
    let bad = |why: String| {
        anyhow!("--contours `{text}`: {why} (expected VARIABLE[:LEVEL][@INTERVAL], e.g. geopotential:500@6, or none)")
    };
    let (head, interval) = match text.split_once('@') {
        Some((h, i)) => (
            h,
            Some(
                i.trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite() && *x > 0.0)
                    .ok_or_else(|| bad(format!("`{i}` is not a positive interval")))?,
            ),
        ),
        None => (text, None),
    };
    let (variable, level) = match head.split_once(':') {
        Some((v, l)) => (
            v.trim(),
            Some(
                l.trim()
                    .parse::<i32>()
                    .map_err(|_| bad(format!("`{l}` is not a level in hPa")))?,
            ),
        ),
        None => (head.trim(), None),
    };
    let info = ds.variable(variable).ok_or_else(|| {
        bad(format!(
            "{} has no variable `{variable}`",
            ds.path().display()
        ))
    })?;
    let has_level = info.levelled;
    if has_level != level.is_some() {
        return Err(bad(if has_level {
            format!("`{variable}` has levels; give one after `:`")
        } else {
            format!("`{variable}` has no levels")
        }));
    }
    let base = info.summary().map_or(variable, |(_, b)| b).to_string();
    let shown = Shown::new(&base, &units_of(variable), mode);
    let interval = interval.or(shown.contour_interval).ok_or_else(|| {
        bad(format!(
            "no default spacing for `{variable}`; give one after `@`"
        ))
    })?;
    let base = info.summary().map_or(variable, |(_, b)| b);
    let shown = Shown::new(base, &units_of(variable), mode);
    Ok(Some(ContourSpec {
        variable: variable.to_string(),
        level,
        interval,
        name: name_of(base, &shown),
        shown,
    }))
}

/// The land-sea mask for coastlines: from `--dataset` when given, else from the input if it has
/// one, at the input's grid points.
fn land_sea_mask(
    input: &ForecastOutput,
    dataset: Option<&Path>,
) -> anyhow::Result<Option<Vec<f32>>> {
    let opened;
    let ds = match dataset {
        Some(p) => {
            opened = ForecastOutput::open(p).with_context(|| format!("opening {}", p.display()))?;
            if opened.variable("land_sea_mask").is_none() {
                bail!(
                    "{}: no variable `land_sea_mask` for coastlines",
                    p.display()
                );
            }
            &opened
        }
        None if input.variable("land_sea_mask").is_some() => input,
        None => return Ok(None),
    };
    let what = ds.path().display().to_string();
    let points = on_grid(input, ds, &what)?;
    let m = ds.read("land_sea_mask", 0)?;
    if m.len() != ds.lat().len() * ds.lon().len() {
        bail!(
            "{what}: `land_sea_mask` has {} values; its grid is {} × {}",
            m.len(),
            ds.lat().len(),
            ds.lon().len()
        );
    }
    Ok(Some(points.iter().map(|&k| m[k]).collect()))
}

/// Formats a time as `YYYY-MM-DD HH:MM UTC`.
fn short_time(ns: i64) -> String {
    let s = format_datetime(ns);
    format!("{} UTC", s.get(..16).unwrap_or(&s).replace('T', " "))
}

/// Title: the quantity's name, level, units and member choice; then valid time and lead time
/// or frame.
fn title_lines(
    ds: &ForecastOutput,
    (name, units): (&str, &str),
    level: Option<i32>,
    frame: usize,
    (has_time, is_forecast): (bool, bool),
    members: &Members,
    ddof: usize,
) -> Vec<String> {
    let at = level.map(|l| format!(" at {l} hPa")).unwrap_or_default();
    let quantity = format!("{name}{at} [{units}]");
    let m = ds.members().len();
    let first = match members {
        Members::One(_, s) if is_forecast => format!("{quantity}, member {s}"),
        Members::One(..) => quantity,
        Members::Mean => format!("ensemble mean of {quantity}, {m} members"),
        Members::Std => {
            format!("ensemble spread (std, ddof {ddof}) of {quantity}, {m} members")
        }
        Members::Summary(SummaryStatistic::Mean) => format!("ensemble mean of {quantity}"),
        Members::Summary(SummaryStatistic::Std) => format!("ensemble spread (std) of {quantity}"),
        Members::Summary(SummaryStatistic::Percentile(p)) => {
            format!("{} percentile of {quantity}", ordinal(*p))
        }
    };
    let lead = ds.lead_times().get(frame).copied().filter(|_| has_time);
    let valid = ds.valid_times().get(frame).copied().filter(|_| has_time);
    let second = match (is_forecast, valid, lead) {
        (true, Some(v), Some(l)) => format!(
            "valid {} (init {} + {}h)",
            short_time(v),
            short_time(v - l),
            l / NS_PER_HOUR
        ),
        (true, None, Some(l)) => format!("lead time +{}h", l / NS_PER_HOUR),
        (false, Some(v), _) => format!("valid {} (frame {frame})", short_time(v)),
        (false, None, Some(l)) => format!("frame {frame} (time +{}h)", l / NS_PER_HOUR),
        _ if has_time => format!("frame {frame}"),
        _ => "static field".to_string(),
    };
    vec![first, second]
}

/// Writes `bytes` to a temporary file created exclusively next to `path` (an existing file of
/// that name is never opened, so the only file removed on failure is this run's own), then
/// renames it into place.
fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let name = path
        .file_name()
        .ok_or_else(|| anyhow!("--output {} is not a file name", path.display()))?;
    let context = || format!("writing {}", path.display());
    let (tmp, mut file) = (0..100)
        .find_map(|attempt| {
            let tmp = path.with_file_name(format!(
                ".{}.tmp{}-{attempt}",
                name.to_string_lossy(),
                std::process::id()
            ));
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&tmp)
            {
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => None,
                opened => Some(opened.map(|f| (tmp, f))),
            }
        })
        .ok_or_else(|| anyhow!("no free temporary name beside {}", path.display()))?
        .with_context(context)?;
    let result = file
        .write_all(bytes)
        .and_then(|()| file.sync_all())
        .and_then(|()| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.with_context(context)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIR: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../gencast/tests/fixtures/tiny-mha/"
    );

    #[test]
    fn titles_name_field_member_and_time() {
        let ds = ForecastOutput::open(format!(
            "{DIR}source-era5_date-2019-03-29_res-10.0_levels-13_steps-02.nc"
        ))
        .unwrap();
        let one = Members::One(0, 0);
        let t = title_lines(
            &ds,
            ("temperature", "°C"),
            Some(850),
            1,
            (true, false),
            &one,
            1,
        );
        assert_eq!(
            t,
            [
                "temperature at 850 hPa [°C]",
                "valid 2019-03-29 12:00 UTC (frame 1)"
            ]
        );
        let t = title_lines(
            &ds,
            ("land-sea mask", "1"),
            None,
            0,
            (false, false),
            &one,
            1,
        );
        assert_eq!(t, ["land-sea mask [1]", "static field"]);

        let fc = ForecastOutput::open(format!("{DIR}rollout_2step_2members.nc")).unwrap();
        let t2m = ("2 m temperature", "°C");
        let t = title_lines(&fc, t2m, None, 1, (true, true), &Members::Std, 1);
        assert_eq!(
            t,
            [
                "ensemble spread (std, ddof 1) of 2 m temperature [°C], 2 members",
                "lead time +24h"
            ]
        );
        let t = title_lines(&fc, t2m, None, 0, (true, true), &Members::One(1, 1), 1);
        assert_eq!(t[0], "2 m temperature [°C], member 1");
        let summary = |s| title_lines(&fc, t2m, None, 0, (true, true), &Members::Summary(s), 1);
        assert_eq!(
            summary(SummaryStatistic::Mean)[0],
            "ensemble mean of 2 m temperature [°C]"
        );
        assert_eq!(
            summary(SummaryStatistic::Std)[0],
            "ensemble spread (std) of 2 m temperature [°C]"
        );
        assert_eq!(
            summary(SummaryStatistic::Percentile(90.0))[0],
            "90th percentile of 2 m temperature [°C]"
        );
    }

    #[test]
    fn lead_times_parse() {
        assert_eq!(parse_hours("12"), Ok(12));
        assert_eq!(parse_hours("36h"), Ok(36));
        assert_eq!(parse_hours("2d"), Ok(48));
        assert!(parse_hours("soon").unwrap_err().contains("soon"));
    }
}
