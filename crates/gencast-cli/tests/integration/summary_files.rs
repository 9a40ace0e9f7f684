//! `gencast stats` and `gencast plot` on `--ensemble-summary` outputs (NetCDF and Zarr) and the
//! maps that read right: spreads in the spread's own range, precipitation from white, the
//! 0-100 % probability scale and its wording, titles from the variables' names, contour
//! labels, wrapped titles and the rank histogram page. PNGs are decoded and their text read
//! back with the plot's own font. Bounds variables and scalar coordinates beside the fields
//! are never read as forecast fields.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use gencast::data::Dataset;
use gencast::output::stats::normalized_latitude_weights;

use crate::map_text::{read, strings};
use crate::support::{self, plot, Image};

/// Members of the forecasts.
const MEMBERS: usize = 4;
/// Grid of the fixtures: 19 latitudes × 36 longitudes.
const NLAT: usize = 19;
const NLON: usize = 36;
/// Top of a single map under two title lines.
const TOP: usize = 64;
/// Left edge of a single map and its cell size (720 px / 36 columns).
const LEFT: usize = 70;
const CELL: usize = 20;

/// The forecasts: the members, and the summaries of the same run (NetCDF and Zarr).
struct Runs {
    _dir: tempfile::TempDir,
    members: PathBuf,
    summary_nc: PathBuf,
    summary_zarr: PathBuf,
}

/// Made once per test run: the same seed gives the same members.
fn runs() -> &'static Runs {
    static RUNS: OnceLock<Runs> = OnceLock::new();
    RUNS.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let n = MEMBERS.to_string();
        let run = ["--members", n.as_str(), "--steps", "2", "--seed", "3"];
        let members = dir.path().join("members.nc");
        support::assert_ok(&support::forecast("tiny-mha", &members, &run));
        let summary = [&run[..], &["--ensemble-summary", "mean,std,q90"]].concat();
        let summary_nc = dir.path().join("summary.nc");
        support::assert_ok(&support::forecast("tiny-mha", &summary_nc, &summary));
        let summary_zarr = dir.path().join("summary.zarr");
        support::assert_ok(&support::forecast("tiny-mha", &summary_zarr, &summary));
        Runs {
            _dir: dir,
            members,
            summary_nc,
            summary_zarr,
        }
    })
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Every member's `lat × lon` field of surface variable `var` at lead index `step`.
fn member_fields(var: &str, step: usize) -> Vec<Vec<f64>> {
    let ds = Dataset::open_lenient(&runs().members).unwrap();
    let a = ds.read_all(var).unwrap();
    let steps = ds.time().len();
    let per = NLAT * NLON;
    (0..MEMBERS)
        .map(|m| {
            let start = (m * steps + step) * per;
            a.data[start..start + per]
                .iter()
                .map(|&v| f64::from(v))
                .collect()
        })
        .collect()
}

/// The numbers under a single map's colour bar: its tick labels (the bar block is the last
/// 94 px of the page; labels start 80 − 20 − 9 = 51 px above the bottom).
fn bar_ticks(img: &Image) -> Vec<f64> {
    let y = img.height - 51;
    let found = read(img, y..y + 1);
    let ticks: Vec<f64> = found
        .iter()
        .flat_map(|t| t.text.split(' ').filter_map(|w| w.parse::<f64>().ok()))
        .collect();
    assert!(ticks.len() >= 2, "tick labels {found:?}");
    ticks
}

/// The title lines of a page (text starting 12 px from the top, 22 px apart).
fn title(img: &Image) -> Vec<String> {
    (0..4)
        .flat_map(|i| strings(img, 12 + 22 * i..13 + 22 * i))
        .collect()
}

#[test]
fn a_spread_map_of_2m_temperature_spans_the_spread_not_minus_273() {
    let dir = tempfile::tempdir().unwrap();
    let fields = member_fields("2m_temperature", 0);
    // The ddof-1 standard deviation in f64: the map's range in °C is the same as in K.
    let std: Vec<f64> = (0..NLAT * NLON)
        .map(|k| {
            let mean = fields.iter().map(|f| f[k]).sum::<f64>() / MEMBERS as f64;
            let ss: f64 = fields.iter().map(|f| (f[k] - mean).powi(2)).sum();
            (ss / (MEMBERS - 1) as f64).sqrt()
        })
        .collect();
    let (lo, hi) = std
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), &v| (a.min(v), b.max(v)));
    assert!(hi > lo && lo >= 0.0);
    let members = s(&runs().members);
    let summary = s(&runs().summary_nc);
    for (input, flags, want_title) in [
        (
            members,
            &["--std"][..],
            "ensemble spread (std, ddof 1) of 2 m temperature [°C], 4 members",
        ),
        (
            summary,
            &["--std"],
            "ensemble spread (std) of 2 m temperature [°C]",
        ),
    ] {
        let img = plot(
            dir.path(),
            "spread.png",
            &[
                &["--input", input, "--variable", "2m_temperature"][..],
                flags,
            ]
            .concat(),
        );
        assert_eq!(title(&img)[0], want_title);
        let ticks = bar_ticks(&img);
        // Ticks are round values inside the bar's range, which is the spread's: f32 std values
        // differ from the f64 ones by under 1e-4 K.
        for t in &ticks {
            assert!(
                *t >= lo - 1e-4 && *t <= hi + 1e-4,
                "tick {t} outside the spread's range {lo}..{hi} ({input})"
            );
        }
        // Nice ticks every ≤ 1/4 of the range: at least two of them.
        assert!(ticks.len() >= 2);
    }
}

#[test]
fn precipitation_starts_white_at_zero() {
    let dir = tempfile::tempdir().unwrap();
    let rain = &member_fields("total_precipitation_12hr", 0)[0];
    let img = plot(
        dir.path(),
        "rain.png",
        &[
            "--input",
            s(&runs().members),
            "--variable",
            "total_precipitation_12hr",
        ],
    );
    let (mut dry, mut wet) = (0, 0);
    let mut wet_cells: Vec<(f64, [u8; 3])> = Vec::new();
    let hi = rain.iter().copied().fold(f64::MIN, f64::max);
    for i in 0..NLAT {
        for j in 0..NLON {
            let v = rain[i * NLON + j];
            let p = img.pixel(
                LEFT + j * CELL + CELL / 2,
                TOP + (NLAT - 1 - i) * CELL + CELL / 2,
            );
            if v <= 0.0 {
                // No rain (and the model's small negative amounts) is exactly white.
                assert_eq!(p, [255, 255, 255], "dry cell ({i}, {j}) {v}");
                dry += 1;
            } else if v == hi {
                // The wettest cell is the dark blue end.
                assert_eq!(p, [0x08, 0x30, 0x6B], "wettest cell ({i}, {j})");
                wet += 1;
            } else {
                wet_cells.push((v, p));
            }
        }
    }
    // White to blue: more rain is never lighter, and never less blue than red.
    wet_cells.sort_by(|a, b| a.0.total_cmp(&b.0));
    let light = |p: [u8; 3]| p.iter().map(|&c| u32::from(c)).sum::<u32>();
    for w in wet_cells.windows(2) {
        assert!(light(w[1].1) <= light(w[0].1), "{w:?}");
    }
    assert!(wet_cells.iter().all(|(_, p)| p[2] >= p[0]));
    assert!(dry > 0 && wet > 0, "{dry} dry, {wet} wettest cells");
    assert_eq!(bar_ticks(&img)[0], 0.0, "the bar starts at 0 mm");
    assert!(title(&img)[0].starts_with("12 h precipitation [mm], member 0"));
}

#[test]
fn probabilities_read_below_or_exceeding_on_a_0_to_100_scale() {
    let dir = tempfile::tempdir().unwrap();
    let members = s(&runs().members);
    for (expr, want) in [
        (
            "2m_temperature<5°C",
            "probability of 2 m temperature below 5 °C, 4 members",
        ),
        (
            "2m_temperature>5°C",
            "probability of 2 m temperature exceeding 5 °C, 4 members",
        ),
    ] {
        let img = plot(
            dir.path(),
            "p.png",
            &["--input", members, "--probability", expr],
        );
        assert_eq!(title(&img)[0], want);
        let ticks = bar_ticks(&img);
        assert_eq!(
            (ticks[0], *ticks.last().unwrap()),
            (0.0, 100.0),
            "{ticks:?}"
        );
    }
}

#[test]
fn summary_statistics_plot_with_their_names_and_the_members_colours() {
    let dir = tempfile::tempdir().unwrap();
    let range = ["--vmin", "-30", "--vmax", "30"];
    let mean_of_members = plot(
        dir.path(),
        "mean.png",
        &[
            &[
                "--input",
                s(&runs().members),
                "--variable",
                "2m_temperature",
                "--mean",
            ][..],
            &range,
        ]
        .concat(),
    );
    assert_eq!(
        title(&mean_of_members)[0],
        "ensemble mean of 2 m temperature [°C], 4 members"
    );
    let below_title = |img: &Image| img.rgb[TOP * img.width * 3..].to_vec();
    for summary in [&runs().summary_nc, &runs().summary_zarr] {
        for var in ["mean__2m_temperature", "2m_temperature"] {
            // `--variable 2m_temperature --mean` finds the summary's mean.
            let img = plot(
                dir.path(),
                "summary.png",
                &[
                    &["--input", s(summary), "--variable", var, "--mean"][..],
                    &range,
                ]
                .concat(),
            );
            assert_eq!(title(&img)[0], "ensemble mean of 2 m temperature [°C]");
            // The mean the summary stored is the one plot computes from the members: the same
            // map, in °C.
            assert!(
                below_title(&img) == below_title(&mean_of_members),
                "{summary:?} {var}"
            );
        }
        let q90 = plot(
            dir.path(),
            "q90.png",
            &["--input", s(summary), "--variable", "q90__2m_temperature"],
        );
        assert_eq!(title(&q90)[0], "90th percentile of 2 m temperature [°C]");
        let (ok, _, err) = support::run(&[
            "plot",
            "--input",
            s(summary),
            "--variable",
            "mean__2m_temperature",
            "--member",
            "1",
            "--output",
            s(&dir.path().join("bad.png")),
        ]);
        assert!(!ok && err.contains("ensemble summary"), "{err}");
    }
}

#[test]
fn contour_labels_name_the_isobars() {
    let dir = tempfile::tempdir().unwrap();
    let img = plot(
        dir.path(),
        "msl.png",
        &[
            "--input",
            s(&runs().members),
            "--variable",
            "mean_sea_level_pressure",
        ],
    );
    let msl = &member_fields("mean_sea_level_pressure", 0)[0];
    let (lo, hi) = msl.iter().fold((f64::MAX, f64::MIN), |(a, b), &v| {
        (a.min(v / 100.0), b.max(v / 100.0))
    });
    let labels: Vec<f64> = read(&img, TOP..TOP + NLAT * CELL)
        .iter()
        .filter_map(|t| t.text.parse::<f64>().ok())
        .collect();
    assert!(!labels.is_empty(), "no contour labels");
    for l in &labels {
        // Isobars every 4 hPa inside the field's range.
        assert_eq!(l % 4.0, 0.0, "{labels:?}");
        assert!(*l > lo && *l < hi, "{l} outside {lo}..{hi}");
    }
    assert!(
        title(&img)[0].starts_with("mean sea level pressure [hPa], member 0, contours every 4 hPa")
    );
}

#[test]
fn long_titles_wrap_and_geopotential_is_a_height_in_dam() {
    let dir = tempfile::tempdir().unwrap();
    let img = plot(
        dir.path(),
        "z500.png",
        &[
            "--input",
            s(&runs().members),
            "--variable",
            "geopotential",
            "--level",
            "500",
            "--contours",
            "mean_sea_level_pressure@4",
        ],
    );
    // The map's width (70 + 720 + 50 px), not the title's.
    assert_eq!(img.width, 840);
    let lines = title(&img);
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert_eq!(
        format!("{} {}", lines[0], lines[1]),
        "geopotential height at 500 hPa [dam], member 0, contours of mean sea level pressure \
         every 4 hPa"
    );
    // Each line fits the map's width less 10 px either side (12 px per character).
    assert!(
        lines.iter().all(|l| l.chars().count() * 12 - 2 <= 820),
        "{lines:?}"
    );
}

/// The bars of a rank histogram page: (left column, height) of each run of bar colour along
/// the row just above the axis, left to right.
fn bars(img: &Image) -> Vec<(usize, usize)> {
    const BAR: [u8; 3] = [70, 130, 180];
    let base = (0..img.height)
        .rev()
        .find(|&y| (0..img.width).any(|x| img.pixel(x, y) == BAR))
        .expect("no bars");
    let mut out = Vec::new();
    let mut x = 0;
    while x < img.width {
        if img.pixel(x, base) == BAR {
            let start = x;
            while x < img.width && img.pixel(x, base) == BAR {
                x += 1;
            }
            let mid = (start + x) / 2;
            let h = (0..=base)
                .rev()
                .take_while(|&y| img.pixel(mid, y) == BAR)
                .count();
            out.push((start, h));
        }
        x += 1;
    }
    out
}

#[test]
fn rank_histogram_bars_follow_the_stats_csv_counts() {
    let dir = tempfile::tempdir().unwrap();
    let truth = support::fixture_dataset("tiny-mha");
    let csv = dir.path().join("table.csv");
    let (ok, _, err) = support::run(&[
        "stats",
        "--forecast",
        s(&runs().members),
        "--truth",
        s(&truth),
        "--variables",
        "2m_temperature",
        "--csv",
        s(&csv),
    ]);
    assert!(ok, "{err}");
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines = text.lines();
    let head: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| head.iter().position(|h| *h == name).unwrap();
    let row: Vec<&str> = lines
        .map(|l| l.split(',').collect::<Vec<&str>>())
        .find(|f| f[col("lead_hours")] == "12")
        .unwrap();
    assert_eq!(row[col("units")], "K");
    let counts: Vec<f64> = (0..=MEMBERS)
        .map(|k| row[col(&format!("rank_{k}"))].parse().unwrap())
        .collect();
    assert!((counts.iter().sum::<f64>() - (NLAT * NLON) as f64).abs() < 1e-9);
    let img = plot(
        dir.path(),
        "ranks.png",
        &[
            "--input",
            s(&runs().members),
            "--variable",
            "2m_temperature",
            "--lead-time",
            "12h",
            "--truth",
            s(&truth),
            "--rank-histogram",
        ],
    );
    let found = bars(&img);
    let nonzero = counts.iter().filter(|&&c| c >= 1.0).count();
    assert_eq!(found.len(), nonzero, "{found:?} for {counts:?}");
    // Heights in proportion to the counts: each rounded to a pixel, so within 1 px of the
    // scale set by the tallest bar.
    let (cmax, hmax) = (
        counts.iter().copied().fold(0f64, f64::max),
        found.iter().map(|b| b.1).max().unwrap() as f64,
    );
    let mut heights = found.iter().map(|b| b.1 as f64);
    for &c in counts.iter().filter(|&&c| c >= 1.0) {
        let h = heights.next().unwrap();
        assert!(
            (h - c * hmax / cmax).abs() <= 1.0,
            "{found:?} vs {counts:?}"
        );
    }
    let text = title(&img);
    assert!(
        text[0].starts_with("rank histogram of 2 m temperature against"),
        "{text:?}"
    );
}

#[test]
fn stats_score_summaries_by_their_mean_like_the_members() {
    let truth = support::fixture_dataset("tiny-mha");
    let stats = |fc: &Path| {
        support::json(&[
            "stats",
            "--forecast",
            s(fc),
            "--truth",
            s(&truth),
            "--variables",
            "2m_temperature",
            "--json",
        ])
    };
    let full = stats(&runs().members);
    // The RMSE of the ensemble mean, naively in f64 with the normalised latitude weights.
    let t = Dataset::open_lenient(&truth).unwrap();
    let w = normalized_latitude_weights(t.lat()).unwrap();
    let tv = t.read_all("2m_temperature").unwrap().data;
    for (lead, frame) in [(0usize, 2usize), (1, 3)] {
        let fields = member_fields("2m_temperature", lead);
        let y = &tv[frame * NLAT * NLON..(frame + 1) * NLAT * NLON];
        let (mut se, mut ws) = (0.0, 0.0);
        for k in 0..NLAT * NLON {
            let mean = fields.iter().map(|f| f[k]).sum::<f64>() / MEMBERS as f64;
            se += w[k / NLON] * (mean - f64::from(y[k])).powi(2);
            ws += w[k / NLON];
        }
        let want = (se / ws).sqrt();
        let hours = 12.0 * (lead + 1) as f64;
        let r = support::row(&full, "2m_temperature", None, hours);
        // f64 sums of the same terms in another order.
        assert!((r["rmse"].as_f64().unwrap() - want).abs() < 1e-9 * want);
        for summary in [&runs().summary_nc, &runs().summary_zarr] {
            let v = stats(summary);
            let r = support::row(&v, "2m_temperature", None, hours);
            let got = r["rmse"].as_f64().unwrap();
            // The summary stores the mean as f32: 273 K rounds to within 1.6e-5 K.
            assert!((got - want).abs() < 2e-5, "{summary:?}: {got} vs {want}");
            assert_eq!(r["scored_from"], "ensemble mean");
            assert_eq!(r["units"], "K");
            assert!(r["crps"].is_null(), "{r}");
            assert!(r["note"].as_str().unwrap().contains("need the members"));
            // Spread from the stored std equals the members' (f32 storage of each std).
            let full_row = support::row(&full, "2m_temperature", None, hours);
            let (a, b) = (
                r["spread"].as_f64().unwrap(),
                full_row["spread"].as_f64().unwrap(),
            );
            assert!((a - b).abs() < 1e-5 * b, "spread {a} vs {b}");
        }
    }
    // The table says what is missing, with units, rather than failing.
    let (ok, table, err) = support::run(&[
        "stats",
        "--forecast",
        s(&runs().summary_zarr),
        "--truth",
        s(&truth),
    ]);
    assert!(ok, "{err}");
    assert!(
        table.contains("CRPS and the rank histogram need the members"),
        "{table}"
    );
    let t2m = table
        .lines()
        .find(|l| l.starts_with("2m_temperature "))
        .unwrap();
    assert!(t2m.split_whitespace().nth(2) == Some("K"), "{t2m}");
}

/// A two-member forecast on a 3 × 4 grid with CF extras beside its one field: time bounds
/// (`time_bnds`, named by `time:bounds`) and a scalar `height` coordinate.
fn write_forecast_with_cf_extras(path: &Path) -> Vec<f32> {
    use gencast::forecast::AttrValue;
    use gencast::output::netcdf::{NcHeader, NcType, NcWriter};
    let text = |k: &str, v: &str| (k.to_string(), AttrValue::Text(v.to_string()));
    let mut h = NcHeader::default();
    let sample = h.add_dim("sample", 2);
    let batch = h.add_dim("batch", 1);
    let time = h.add_dim("time", 2);
    let lat = h.add_dim("lat", 3);
    let lon = h.add_dim("lon", 4);
    let nv = h.add_dim("nv", 2);
    let v_sample = h.add_var("sample", &[sample], NcType::Int, vec![]);
    let v_time = h.add_var(
        "time",
        &[time],
        NcType::Double,
        vec![text("units", "hours"), text("bounds", "time_bnds")],
    );
    let v_bnds = h.add_var("time_bnds", &[time, nv], NcType::Double, vec![]);
    let v_lat = h.add_var("lat", &[lat], NcType::Double, vec![]);
    let v_lon = h.add_var("lon", &[lon], NcType::Double, vec![]);
    let v_height = h.add_var("height", &[], NcType::Double, vec![text("units", "m")]);
    let v_t = h.add_var(
        "2m_temperature",
        &[sample, batch, time, lat, lon],
        NcType::Float,
        vec![text("units", "K"), text("coordinates", "height")],
    );
    let values: Vec<f32> = (0..2 * 2 * 12).map(|i| 270.0 + i as f32 * 0.25).collect();
    let mut w = NcWriter::create(path, h).unwrap();
    w.write_i32(v_sample, 0, &[0, 1]).unwrap();
    w.write_f64(v_time, 0, &[12.0, 24.0]).unwrap();
    w.write_f64(v_bnds, 0, &[0.0, 12.0, 12.0, 24.0]).unwrap();
    w.write_f64(v_lat, 0, &[-60.0, 0.0, 60.0]).unwrap();
    w.write_f64(v_lon, 0, &[0.0, 90.0, 180.0, 270.0]).unwrap();
    w.write_f64(v_height, 0, &[2.0]).unwrap();
    w.write_f32(v_t, 0, &values).unwrap();
    w.finish().unwrap();
    values
}

#[test]
fn bounds_and_scalar_coordinates_are_not_forecast_fields() {
    let dir = tempfile::tempdir().unwrap();
    let fc = dir.path().join("cf.nc");
    let values = write_forecast_with_cf_extras(&fc);
    let out = gencast::output::read::ForecastOutput::open(&fc).unwrap();
    let names: Vec<&str> = out.variables().iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["2m_temperature"]);
    let v = support::json(&["stats", "--forecast", s(&fc), "--json"]);
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{v}");
    // Lead 24 h: members at offsets 12..24 and 36..48; latitude weights of ±60° and 0° are
    // cos-proportional (0.5, 1, 0.5, normalised to mean 1), the same for every column.
    let w = [0.5, 1.0, 0.5];
    let (mut sum, mut ws) = (0.0, 0.0);
    for k in 0..12 {
        let mean = (f64::from(values[12 + k]) + f64::from(values[36 + k])) / 2.0;
        sum += w[k / 4] * mean;
        ws += w[k / 4];
    }
    let r = support::row(&v, "2m_temperature", None, 24.0);
    // f64 sums of the same terms in another order.
    assert!((r["mean"].as_f64().unwrap() - sum / ws).abs() < 1e-9, "{r}");
    plot(
        dir.path(),
        "cf.png",
        &["--input", s(&fc), "--variable", "2m_temperature"],
    );
}
