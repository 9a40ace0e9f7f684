//! `gencast plot`: a PNG map of one field of a forecast file (dims `sample, batch, time[, level],
//! lat, lon`) or of an input dataset (dims `batch, time[, level], lat, lon`, or static
//! `lat, lon`). Longitudes run 0..360 from left to right as in the file (−180..180 with
//! `--centre-greenwich`), north is up; missing values are light grey; coastlines are the 0.5
//! contour of `land_sea_mask` drawn along cell boundaries.

mod colormap;
mod font;
mod render;

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};
use gencast::data::netcdf_time::format_datetime;
use gencast::data::{Array, Dataset};
use gencast::output::guard::{check_output_location, refuse_inputs_as_output, OutputKind};
use gencast::output::stats::ensemble_mean_std;

use colormap::Colormap;
use render::{render_map, MapSpec};

const NS_PER_HOUR: i64 = 3_600_000_000_000;

/// Arguments of `gencast plot`.
#[derive(clap::Args)]
pub struct Args {
    /// Forecast file or input dataset (NetCDF).
    #[arg(long)]
    input: PathBuf,
    /// Variable to plot (e.g. 2m_temperature).
    #[arg(long)]
    variable: String,
    /// Pressure level in hPa (required for variables with a level dimension).
    #[arg(long)]
    level: Option<i32>,
    /// Lead time of a forecast, in hours (e.g. 12 or 12h); default the first one.
    #[arg(long, value_parser = parse_hours)]
    lead_time: Option<i64>,
    /// Ensemble member (a value of the forecast's `sample` coordinate); default the first one.
    #[arg(long, conflicts_with_all = ["mean", "std"])]
    member: Option<i64>,
    /// Plot the ensemble mean of a forecast.
    #[arg(long, conflicts_with = "std")]
    mean: bool,
    /// Plot the ensemble standard deviation of a forecast.
    #[arg(long)]
    std: bool,
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
    /// Colour map (default: diverging for winds and vertical velocity, viridis otherwise).
    #[arg(long, value_enum)]
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

/// Units for variables whose file gives none (the ERA5 units of GenCast's variables).
fn default_units(var: &str) -> Option<&'static str> {
    Some(match var {
        "2m_temperature" | "temperature" | "sea_surface_temperature" => "K",
        "mean_sea_level_pressure" => "Pa",
        "10m_u_component_of_wind"
        | "10m_v_component_of_wind"
        | "u_component_of_wind"
        | "v_component_of_wind" => "m/s",
        "total_precipitation_12hr" => "m",
        "geopotential" | "geopotential_at_surface" => "m^2/s^2",
        "specific_humidity" => "kg/kg",
        "vertical_velocity" => "Pa/s",
        "land_sea_mask" => "1",
        _ => return None,
    })
}

/// Whether a variable is signed around zero (winds), drawn with the diverging map.
fn is_signed(var: &str) -> bool {
    var.contains("component_of_wind") || var == "vertical_velocity"
}

/// What is shown for the ensemble dimension.
enum Members {
    One(usize, i64),
    Mean,
    Std,
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<()> {
    check_output_location(&args.output, OutputKind::File)?;
    let mut inputs: Vec<(&str, &Path)> = vec![("--input", &args.input)];
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
    let ds = Dataset::open_lenient(&args.input)
        .with_context(|| format!("opening {}", args.input.display()))?;
    let path = args.input.display();
    let var = args.variable.as_str();
    let info = ds.variable(var).ok_or_else(|| {
        let names: Vec<&str> = ds.variables().iter().map(|v| v.name.as_str()).collect();
        anyhow!(
            "{path}: no variable `{var}`; available: {}",
            names.join(", ")
        )
    })?;
    let dims = info.dims.clone();
    let n = dims.len();
    if n < 2 || dims[n - 2] != "lat" || dims[n - 1] != "lon" {
        bail!(
            "{path}: variable `{var}` has dims ({}); expected (..., lat, lon)",
            dims.join(", ")
        );
    }
    let (nlat, nlon) = (ds.lat().len(), ds.lon().len());
    if nlat == 0 || nlon == 0 {
        bail!("{path}: no `lat`/`lon` coordinates");
    }
    if info.shape[n - 2..] != [nlat, nlon] {
        bail!(
            "{path}: variable `{var}` has lat × lon {:?}; the coordinates have {nlat} × {nlon}",
            &info.shape[n - 2..]
        );
    }
    let is_forecast = dims.iter().any(|d| d == "sample");
    let has_time = dims.iter().any(|d| d == "time");

    // Frame along `time`: a lead time for forecasts, an index for datasets.
    let frame = if is_forecast {
        if args.frame.is_some() {
            bail!("--frame applies to input datasets; {path} is a forecast: use --lead-time");
        }
        match args.lead_time {
            None => 0,
            Some(h) => {
                let leads: Vec<String> = ds
                    .time()
                    .iter()
                    .map(|t| format!("{}h", t / NS_PER_HOUR))
                    .collect();
                ds.time()
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
        let frames = ds.num_frames();
        if has_time && f >= frames {
            bail!(
                "{path}: frame {f} out of range: `{var}` has {frames} frames (0..{})",
                frames.saturating_sub(1)
            );
        }
        f
    };
    let level_index = match (dims.iter().any(|d| d == "level"), args.level) {
        (true, Some(l)) => Some(ds.level_index(l).ok_or_else(|| {
            let ls: Vec<String> = ds.level().iter().map(|l| l.to_string()).collect();
            anyhow!(
                "{path}: level {l} hPa not in file; available: {}",
                ls.join(", ")
            )
        })?),
        (true, None) => {
            let ls: Vec<String> = ds.level().iter().map(|l| l.to_string()).collect();
            bail!(
                "{path}: `{var}` has levels; choose one with --level ({})",
                ls.join(", ")
            )
        }
        (false, Some(l)) => bail!("{path}: `{var}` has no level dimension (got --level {l})"),
        (false, None) => None,
    };
    let members = if !is_forecast {
        Members::One(0, 0)
    } else if args.mean {
        Members::Mean
    } else if args.std {
        Members::Std
    } else {
        let samples = ds
            .read_i64("sample")
            .unwrap_or_else(|_| (0..ds.dim_size("sample").unwrap_or(0) as i64).collect());
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

    let array = ds
        .read(var, has_time.then_some(frame..frame + 1))
        .with_context(|| format!("reading `{var}` from {path}"))?;
    let fields = select_fields(&array, level_index, &members, nlat * nlon)
        .with_context(|| format!("{path}: variable `{var}`"))?;
    let field = match members {
        Members::One(..) => fields.into_iter().next().unwrap_or_default(),
        Members::Mean | Members::Std => {
            if matches!(members, Members::Std) && fields.len() <= args.ddof {
                bail!(
                    "{path}: --std of {} member(s) with --ddof {} is undefined (the standard \
                     deviation divides by members - ddof); plot a member or the --mean",
                    fields.len(),
                    args.ddof
                );
            }
            let refs: Vec<&[f32]> = fields.iter().map(Vec::as_slice).collect();
            let (mut mean, mut std) = (vec![0f32; nlat * nlon], vec![0f32; nlat * nlon]);
            ensemble_mean_std(&refs, args.ddof, &mut mean, &mut std)?;
            if matches!(members, Members::Mean) {
                mean
            } else {
                std
            }
        }
    };
    if field.len() != nlat * nlon {
        bail!("{path}: variable `{var}` selects no field");
    }

    let mask = land_sea_mask(&ds, args.dataset.as_deref(), nlat, nlon)?;
    let units = info
        .units
        .clone()
        .or_else(|| default_units(var).map(str::to_string))
        .unwrap_or_else(|| "units unknown".into());
    let colormap = args
        .colormap
        .unwrap_or(if is_signed(var) && !matches!(members, Members::Std) {
            Colormap::Diverging
        } else {
            Colormap::Viridis
        });
    let auto = render::value_range(&field, colormap);
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
    let title = title_lines(
        &ds,
        var,
        args.level,
        frame,
        has_time,
        is_forecast,
        &members,
        args.ddof,
    );
    let (mut field, mut mask, mut lon) = (field, mask, ds.lon().to_vec());
    if args.centre_greenwich {
        let k = lon.iter().position(|&l| l >= 180.0).unwrap_or(nlon);
        for row in field.chunks_exact_mut(nlon) {
            row.rotate_left(k);
        }
        for row in mask.iter_mut().flat_map(|m| m.chunks_exact_mut(nlon)) {
            row.rotate_left(k);
        }
        lon.rotate_left(k);
        let wrapped = nlon - k;
        for l in &mut lon[..wrapped] {
            *l -= 360.0;
        }
    }
    let spec = MapSpec {
        field: &field,
        lat: ds.lat(),
        lon: &lon,
        land_sea_mask: mask.as_deref(),
        title,
        bar_label: format!("{var} [{units}]"),
        colormap,
        range,
    };
    render_map(&spec).encode_png()
}

/// The lat × lon fields of every selected member (one unless the mean/std is asked for).
fn select_fields(
    a: &Array,
    level: Option<usize>,
    members: &Members,
    points: usize,
) -> anyhow::Result<Vec<Vec<f32>>> {
    let mut strides = vec![1usize; a.shape.len()];
    for i in (0..a.shape.len().saturating_sub(1)).rev() {
        strides[i] = strides[i + 1] * a.shape[i + 1];
    }
    let outer = a.shape.len().saturating_sub(2);
    let (mut base, mut sample_dim) = (0usize, None);
    let outer_dims = a.dims.iter().zip(&a.shape).zip(&strides).take(outer);
    for (i, ((dim, &size), &stride)) in outer_dims.enumerate() {
        let idx = match dim.as_str() {
            "sample" => {
                sample_dim = Some(i);
                0
            }
            "level" => level.unwrap_or(0),
            _ if size == 1 => 0,
            d => bail!("unexpected dimension `{d}` of size {size}"),
        };
        if idx >= size {
            bail!("index {idx} out of range for dimension `{dim}` ({size})");
        }
        base += idx * stride;
    }
    let picks: Vec<usize> = match (sample_dim, members) {
        (Some(d), Members::One(i, _)) => vec![base + i * strides[d]],
        (Some(d), _) => (0..a.shape[d]).map(|i| base + i * strides[d]).collect(),
        (None, _) => vec![base],
    };
    picks
        .into_iter()
        .map(|start| {
            a.data
                .get(start..start + points)
                .map(<[f32]>::to_vec)
                .ok_or_else(|| anyhow!("field out of the array's bounds"))
        })
        .collect()
}

/// The land-sea mask for coastlines: from `--dataset` when given, else from the input if it has one.
fn land_sea_mask(
    input: &Dataset,
    dataset: Option<&Path>,
    nlat: usize,
    nlon: usize,
) -> anyhow::Result<Option<Vec<f32>>> {
    let opened;
    let ds = match dataset {
        Some(p) => {
            opened =
                Dataset::open_lenient(p).with_context(|| format!("opening {}", p.display()))?;
            if !opened.has("land_sea_mask") {
                bail!(
                    "{}: no variable `land_sea_mask` for coastlines",
                    p.display()
                );
            }
            &opened
        }
        None if input.has("land_sea_mask") => input,
        None => return Ok(None),
    };
    let m = ds.read("land_sea_mask", None)?;
    if m.data.len() != nlat * nlon || ds.lat().len() != nlat || ds.lon().len() != nlon {
        bail!(
            "{}: `land_sea_mask` has shape {:?}; the plotted grid is {nlat} × {nlon}",
            ds.path().display(),
            m.shape
        );
    }
    Ok(Some(m.data))
}

/// Formats a time as `YYYY-MM-DD HH:MM UTC`.
fn short_time(ns: i64) -> String {
    let s = format_datetime(ns);
    format!("{} UTC", s.get(..16).unwrap_or(&s).replace('T', " "))
}

/// Title: variable, level and member choice; then valid time and lead time or frame.
#[allow(clippy::too_many_arguments)]
fn title_lines(
    ds: &Dataset,
    var: &str,
    level: Option<i32>,
    frame: usize,
    has_time: bool,
    is_forecast: bool,
    members: &Members,
    ddof: usize,
) -> Vec<String> {
    let mut first = var.to_string();
    if let Some(l) = level {
        first.push_str(&format!(" at {l} hPa"));
    }
    let m = ds.dim_size("sample").unwrap_or(0);
    match members {
        Members::One(_, s) if is_forecast => first.push_str(&format!(", member {s}")),
        Members::Mean => first.push_str(&format!(", ensemble mean of {m} members")),
        Members::Std => first.push_str(&format!(", ensemble std (ddof {ddof}) of {m} members")),
        Members::One(..) => {}
    }
    let lead = ds.time().get(frame).copied().filter(|_| has_time);
    let valid = ds.datetime().get(frame).copied().filter(|_| has_time);
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

/// Writes `bytes` to a temporary file next to `path`, then renames it into place.
fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let name = path
        .file_name()
        .ok_or_else(|| anyhow!("--output {} is not a file name", path.display()))?;
    let tmp = path.with_file_name(format!(
        ".{}.tmp{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.with_context(|| format!("writing {}", path.display()))
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
        let ds = Dataset::open_lenient(format!(
            "{DIR}source-era5_date-2019-03-29_res-10.0_levels-13_steps-02.nc"
        ))
        .unwrap();
        let t = title_lines(
            &ds,
            "temperature",
            Some(850),
            1,
            true,
            false,
            &Members::One(0, 0),
            1,
        );
        assert_eq!(
            t,
            [
                "temperature at 850 hPa",
                "valid 2019-03-29 12:00 UTC (frame 1)"
            ]
        );
        let t = title_lines(
            &ds,
            "land_sea_mask",
            None,
            0,
            false,
            false,
            &Members::One(0, 0),
            1,
        );
        assert_eq!(t, ["land_sea_mask", "static field"]);

        let fc = Dataset::open_lenient(format!("{DIR}rollout_2step_2members.nc")).unwrap();
        let t = title_lines(&fc, "2m_temperature", None, 1, true, true, &Members::Std, 1);
        assert_eq!(
            t,
            [
                "2m_temperature, ensemble std (ddof 1) of 2 members",
                "lead time +24h"
            ]
        );
        let t = title_lines(
            &fc,
            "2m_temperature",
            None,
            0,
            true,
            true,
            &Members::One(1, 1),
            1,
        );
        assert_eq!(t[0], "2m_temperature, member 1");
    }

    #[test]
    fn lead_times_parse() {
        assert_eq!(parse_hours("12"), Ok(12));
        assert_eq!(parse_hours("36h"), Ok(36));
        assert_eq!(parse_hours("2d"), Ok(48));
        assert!(parse_hours("soon").unwrap_err().contains("soon"));
    }
}
