//! `gencast plot`'s forecaster maps on a demo forecast (the bundled tiny model, 4 members, 2
//! steps): forecaster units, contours, region zoom, postage stamps, exceedance probabilities
//! and forecast / truth / difference panels. PNGs are decoded and checked against the file's
//! values.

use crate::support;
use crate::support::{plot, Image};

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use gencast::data::Dataset;

/// Members of the demo forecast.
const MEMBERS: usize = 4;
/// Height of a line of text: 7 + 2 font rows at scale 2, plus 4 px spacing.
const LINE_H: usize = 22;
/// Top of the maps of a page with two title lines.
const TOP: usize = 12 + 2 * LINE_H + 8;
/// Viridis at its two ends.
const VIRIDIS_LO: [u8; 3] = [0x44, 0x01, 0x54];
const VIRIDIS_HI: [u8; 3] = [0xFD, 0xE7, 0x25];
/// RdYlBu reversed at its two ends: the colour map of temperatures.
const RDYLBU_LO: [u8; 3] = [0x31, 0x36, 0x95];
const RDYLBU_HI: [u8; 3] = [0xA5, 0x00, 0x26];
/// Colour of contour lines.
const WHITE: [u8; 3] = [255, 255, 255];

/// The demo forecast, made once per test run.
fn demo() -> &'static Path {
    static DEMO: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &DEMO
        .get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let out = dir.path().join("demo.nc");
            let members = MEMBERS.to_string();
            support::assert_ok(&support::forecast(
                "tiny-mha",
                &out,
                &["--members", &members, "--steps", "2", "--seed", "0"],
            ));
            (dir, out)
        })
        .1
}

impl Image {
    /// Pixels equal to `c` inside the rectangle `[x0, x1) × [y0, y1)`.
    fn count(&self, c: [u8; 3], (x0, y0, x1, y1): (usize, usize, usize, usize)) -> usize {
        (y0..y1)
            .flat_map(|y| (x0..x1).map(move |x| (x, y)))
            .filter(|&(x, y)| self.pixel(x, y) == c)
            .count()
    }

    /// Colour bars: smooth horizontal gradients (neighbours within 3 per channel) of at least
    /// 200 px from near colour `lo` to near `hi`; one (y, x0, x1) per bar (its first row).
    fn bars(&self, lo: [u8; 3], hi: [u8; 3]) -> Vec<(usize, usize, usize)> {
        let mut found: Vec<(usize, usize, usize)> = Vec::new();
        for y in 0..self.height {
            let mut x = 0;
            while x < self.width {
                if near(self.pixel(x, y), lo) {
                    let mut end = x;
                    while end + 1 < self.width && smooth(self.pixel(end, y), self.pixel(end + 1, y))
                    {
                        end += 1;
                    }
                    if end - x >= 200 && near(self.pixel(end, y), hi) {
                        match found.iter_mut().find(|b| b.1 == x && b.2 == end) {
                            Some(_) => {}
                            None => found.push((y, x, end)),
                        }
                    }
                    x = end + 1;
                } else {
                    x += 1;
                }
            }
        }
        found
    }
}

/// Neighbouring pixels of a gradient: at most 3 apart per channel (bars are ≥ 400 px wide
/// and the colour maps' steepest channel changes by under 2 per pixel there).
fn smooth(a: [u8; 3], b: [u8; 3]) -> bool {
    a.iter().zip(&b).all(|(x, y)| x.abs_diff(*y) <= 3)
}

/// Colours within 4 per channel: a colour bar's end pixels sample the map half a pixel in.
fn near(a: [u8; 3], b: [u8; 3]) -> bool {
    a.iter().zip(&b).all(|(x, y)| x.abs_diff(*y) <= 4)
}

/// Every member's `lat × lon` field of `var` (at level index `level`) at lead index `step`.
fn members(var: &str, level: Option<usize>, step: usize) -> (Vec<Vec<f32>>, usize, usize) {
    let ds = Dataset::open_lenient(demo()).unwrap();
    let (nlat, nlon) = (ds.lat().len(), ds.lon().len());
    let a = ds.read_all(var).unwrap();
    let levels = if level.is_some() { ds.level().len() } else { 1 };
    let steps = ds.time().len();
    let per = nlat * nlon;
    let fields = (0..MEMBERS)
        .map(|m| {
            let start = ((m * steps + step) * levels + level.unwrap_or(0)) * per;
            a.data[start..start + per].to_vec()
        })
        .collect();
    (fields, nlat, nlon)
}

/// Centre of grid cell (lat index `i`, ascending latitudes, lon index `j`) on a map whose
/// top-left corner is (left, top) with square cells of `cell` px.
fn centre(
    i: usize,
    j: usize,
    nlat: usize,
    (left, top, cell): (usize, usize, usize),
) -> (usize, usize) {
    (
        left + j * cell + cell / 2,
        top + (nlat - 1 - i) * cell + cell / 2,
    )
}

#[test]
fn forecaster_units_are_the_native_values_converted() {
    let dir = tempfile::tempdir().unwrap();
    let demo = demo().to_str().unwrap();
    let base = [
        "--input",
        demo,
        "--variable",
        "mean_sea_level_pressure",
        "--contours",
        "none",
    ];
    // 1000..1020 hPa is 100000..102000 Pa: the same colours.
    let hpa = plot(
        dir.path(),
        "hpa.png",
        &[&base[..], &["--vmin", "1000", "--vmax", "1020"]].concat(),
    );
    let pa = plot(
        dir.path(),
        "pa.png",
        &[
            &base[..],
            &["--units", "native", "--vmin", "100000", "--vmax", "102000"],
        ]
        .concat(),
    );
    assert_eq!((hpa.width, hpa.height), (pa.width, pa.height));
    let (nlat, nlon) = (19, 36);
    // 10° grid: 36 columns of 20 px, 70 px left margin.
    let geom = (70, TOP, 20);
    let mut differ = 0;
    for i in 0..nlat {
        for j in 0..nlon {
            let (x, y) = centre(i, j, nlat, geom);
            // (v/100 − 1000)/20 and (v − 100000)/2000 may round 1 ulp apart: colours within 1.
            let (a, b) = (hpa.pixel(x, y), pa.pixel(x, y));
            assert!(
                a.iter().zip(&b).all(|(p, q)| p.abs_diff(*q) <= 1),
                "({i}, {j}) {a:?} {b:?}"
            );
            differ +=
                usize::from(a != hpa.pixel(centre(0, 0, nlat, geom).0, centre(0, 0, nlat, geom).1));
        }
    }
    assert!(differ > 0, "a uniform map");

    // Precipitation: negative values show as 0 mm in forecaster units only.
    let (rain, _, _) = members("total_precipitation_12hr", None, 0);
    let negative: Vec<usize> = (0..nlat * nlon).filter(|&k| rain[0][k] < 0.0).collect();
    let positive: Vec<usize> = (0..nlat * nlon).filter(|&k| rain[0][k] > 0.0).collect();
    assert!(
        !negative.is_empty() && !positive.is_empty(),
        "the demo's rain has both signs"
    );
    let lo = rain[0].iter().copied().fold(f32::INFINITY, f32::min);
    let args = |units: &'static str, vmin: String| {
        vec![
            "--input".to_string(),
            demo.to_string(),
            "--variable".into(),
            "total_precipitation_12hr".into(),
            "--units".into(),
            units.into(),
            "--vmin".into(),
            vmin,
            "--vmax".into(),
            "1".into(),
        ]
    };
    let mm_args = args("forecaster", format!("{}", f64::from(lo) * 1000.0 - 1.0));
    let mm = plot(
        dir.path(),
        "mm.png",
        &mm_args.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let m_args = args("native", format!("{}", f64::from(lo) - 0.001));
    let m = plot(
        dir.path(),
        "m.png",
        &m_args.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let cell = |img: &Image, k: usize| {
        let (x, y) = centre(k / nlon, k % nlon, nlat, geom);
        img.pixel(x, y)
    };
    let zero = cell(&mm, negative[0]);
    for &k in &negative {
        assert_eq!(cell(&mm, k), zero, "negative rain at {k} shows as 0 mm");
    }
    let natives: std::collections::BTreeSet<[u8; 3]> =
        negative.iter().map(|&k| cell(&m, k)).collect();
    assert!(
        natives.len() > 1 || negative.len() == 1,
        "native units keep negative values"
    );
}

#[test]
fn isobars_and_height_contours_are_drawn() {
    let dir = tempfile::tempdir().unwrap();
    let demo = demo().to_str().unwrap();
    let map = (70, TOP, 70 + 720, TOP + 19 * 20);
    let msl = plot(
        dir.path(),
        "msl.png",
        &["--input", demo, "--variable", "mean_sea_level_pressure"],
    );
    let bare = plot(
        dir.path(),
        "bare.png",
        &[
            "--input",
            demo,
            "--variable",
            "mean_sea_level_pressure",
            "--contours",
            "none",
        ],
    );
    // Map cells are viridis colours, never white: white pixels are contour lines.
    assert_eq!(bare.count(WHITE, map), 0);
    let (fields, nlat, nlon) = members("mean_sea_level_pressure", None, 0);
    let hpa: Vec<f64> = fields[0].iter().map(|&v| f64::from(v) / 100.0).collect();
    let (lo, hi) = hpa
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), &v| (a.min(v), b.max(v)));
    let isobars = ((hi / 4.0).ceil() - (lo / 4.0).floor() - 1.0) as usize;
    assert!(isobars > 0, "{lo}..{hi} hPa spans no 4 hPa isobar");
    assert!(
        msl.count(WHITE, map) > 50,
        "{} contour pixels",
        msl.count(WHITE, map)
    );
    // A contour passes between two horizontally adjacent cells on either side of an isobar:
    // the pixels between their centres include a near-white one.
    let mut checked = 0;
    for i in 1..nlat - 1 {
        for j in 0..nlon - 1 {
            let (a, b) = (hpa[i * nlon + j], hpa[i * nlon + j + 1]);
            let k = (a.min(b) / 4.0).floor() + 1.0;
            if k * 4.0 < a.max(b) && (a - b).abs() > 2.0 {
                let (x0, y) = centre(i, j, nlat, (70, TOP, 20));
                let bright = (x0..x0 + 20).any(|x| msl.pixel(x, y).iter().all(|&c| c > 200));
                assert!(
                    bright,
                    "no contour between cells ({i}, {j}) and ({i}, {}) at {a:.1} / {b:.1} hPa",
                    j + 1
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 0);
    let z500 = plot(
        dir.path(),
        "z500.png",
        &[
            "--input",
            demo,
            "--variable",
            "geopotential",
            "--level",
            "500",
            "--contours",
            "geopotential:500@6",
        ],
    );
    assert!(z500.count(WHITE, map) > 50);
    // Contours of another variable over a map.
    let t2 = plot(
        dir.path(),
        "t2.png",
        &[
            "--input",
            demo,
            "--variable",
            "2m_temperature",
            "--contours",
            "mean_sea_level_pressure@4",
        ],
    );
    assert!(t2.count(WHITE, map) > 50);
    for (bad, culprit) in [
        ("nothing", "nothing"),
        ("geopotential@6", "levels"),
        ("2m_temperature", "@"),
    ] {
        let (ok, _, err) = support::run(&[
            "plot",
            "--input",
            demo,
            "--variable",
            "2m_temperature",
            "--contours",
            bad,
            "--output",
            dir.path().join("bad.png").to_str().unwrap(),
        ]);
        assert!(!ok && err.contains(culprit), "{bad}: {err}");
    }
}

#[test]
fn a_region_zooms_onto_the_same_values() {
    let dir = tempfile::tempdir().unwrap();
    let demo = demo().to_str().unwrap();
    let fixed = [
        "--input",
        demo,
        "--variable",
        "2m_temperature",
        "--vmin",
        "-40",
        "--vmax",
        "40",
    ];
    let world = plot(dir.path(), "world.png", &fixed);
    let europe = plot(
        dir.path(),
        "europe.png",
        &[&fixed[..], &["--region", "30,60,-20,30"]].concat(),
    );
    // 4 latitudes × 6 longitudes: cells of 720 / 6 = 120 px.
    assert_eq!(europe.width, 70 + 720 + 50);
    assert_eq!(
        europe.height,
        TOP + 4 * 120 + 10 + LINE_H + 14 + 20 + 8 + 2 * LINE_H + 8
    );
    let nlat = 19;
    for (r, lat_index) in (12..16).enumerate() {
        for (c, lon_index) in [34, 35, 0, 1, 2, 3].into_iter().enumerate() {
            let (x, y) = centre(r, c, 4, (70, TOP, 120));
            let (wx, wy) = centre(lat_index, lon_index, nlat, (70, TOP, 20));
            assert_eq!(
                europe.pixel(x, y),
                world.pixel(wx, wy),
                "lat {lat_index} lon {lon_index}"
            );
        }
    }
    assert_eq!(europe.bars(RDYLBU_LO, RDYLBU_HI).len(), 1, "one colour bar");
}

#[test]
fn stamps_show_every_member_with_one_colour_bar() {
    let dir = tempfile::tempdir().unwrap();
    let demo = demo().to_str().unwrap();
    let range = ["--vmin", "-40", "--vmax", "40"];
    let base = [
        "--input",
        demo,
        "--variable",
        "2m_temperature",
        "--lead-time",
        "24h",
    ];
    let stamps = plot(
        dir.path(),
        "stamps.png",
        &[&base[..], &range, &["--stamps"]].concat(),
    );
    // 2 × 2 panels: maps of 36 × 12 px cells with 10 px margins; a label line above each.
    let (map_w, map_h) = (36 * 12, 19 * 12);
    let (panel_w, panel_h) = (map_w + 20, LINE_H + map_h);
    assert_eq!(stamps.width, 2 * panel_w);
    assert_eq!(
        stamps.height,
        TOP + 2 * panel_h + 14 + 20 + 8 + 2 * LINE_H + 8
    );
    assert_eq!(
        stamps.bars(RDYLBU_LO, RDYLBU_HI).len(),
        1,
        "one shared colour bar"
    );
    for m in 0..MEMBERS {
        let single = plot(
            dir.path(),
            &format!("m{m}.png"),
            &[&base[..], &range, &["--member", &m.to_string()]].concat(),
        );
        let (left, top) = ((m % 2) * panel_w + 10, TOP + (m / 2) * panel_h + LINE_H);
        let mut same = 0;
        for i in 0..19 {
            for j in 0..36 {
                let (x, y) = centre(i, j, 19, (left, top, 12));
                let (sx, sy) = centre(i, j, 19, (70, TOP, 20));
                assert_eq!(
                    stamps.pixel(x, y),
                    single.pixel(sx, sy),
                    "member {m} cell ({i}, {j})"
                );
                same += 1;
            }
        }
        assert_eq!(same, 19 * 36);
    }
}

#[test]
fn probability_maps_count_members_over_the_threshold() {
    let dir = tempfile::tempdir().unwrap();
    let demo = demo().to_str().unwrap();
    let (fields, nlat, nlon) = members("2m_temperature", None, 1);
    // A threshold in °C at the median of member 0, rounded to 0.1 °C.
    let mut sorted: Vec<f64> = fields[0].iter().map(|&v| f64::from(v) - 273.15).collect();
    sorted.sort_by(f64::total_cmp);
    let celsius = (sorted[sorted.len() / 2] * 10.0).round() / 10.0;
    let expr = format!("2m_temperature>{celsius}°C");
    let img = plot(
        dir.path(),
        "p.png",
        &[
            "--input",
            demo,
            "--probability",
            &expr,
            "--lead-time",
            "24h",
        ],
    );
    let bars = img.bars(VIRIDIS_LO, VIRIDIS_HI);
    assert_eq!(bars.len(), 1, "a 0-100 % colour bar");
    let kelvin = celsius + 273.15;
    let mut colour_of_count: Vec<Option<[u8; 3]>> = vec![None; MEMBERS + 1];
    for i in 0..nlat {
        for j in 0..nlon {
            let k = i * nlon + j;
            let count = fields.iter().filter(|f| f64::from(f[k]) > kelvin).count();
            let (x, y) = centre(i, j, nlat, (70, TOP, 20));
            let p = img.pixel(x, y);
            match colour_of_count[count] {
                None => colour_of_count[count] = Some(p),
                Some(c) => assert_eq!(c, p, "cell ({i}, {j}) with {count} members over"),
            }
        }
    }
    let seen: Vec<(usize, [u8; 3])> = colour_of_count
        .iter()
        .enumerate()
        .filter_map(|(n, c)| c.map(|c| (n, c)))
        .collect();
    assert!(seen.len() >= 3, "{seen:?}");
    // More members over the threshold: further along viridis (its green channel rises).
    for w in seen.windows(2) {
        assert!(w[0].1[1] < w[1].1[1], "{seen:?}");
    }
    if let Some(c) = colour_of_count[0] {
        assert!(near(c, VIRIDIS_LO), "0 % is the bar's low end: {c:?}");
    }
    if let Some(c) = colour_of_count[MEMBERS] {
        assert!(near(c, VIRIDIS_HI), "100 % is the bar's high end: {c:?}");
    }
    let (ok, _, err) = support::run(&[
        "plot",
        "--input",
        demo,
        "--probability",
        "2m_temperature>3hPa",
        "--output",
        dir.path().join("bad.png").to_str().unwrap(),
    ]);
    assert!(!ok && err.contains("hPa") && err.contains("°C"), "{err}");
}

#[test]
fn truth_panels_show_forecast_truth_and_their_difference() {
    let dir = tempfile::tempdir().unwrap();
    let demo = demo().to_str().unwrap();
    let dataset = support::fixture_dataset("tiny-mha");
    let dataset = dataset.to_str().unwrap();
    let range = ["--vmin", "-40", "--vmax", "40"];
    let img = plot(
        dir.path(),
        "truth.png",
        &[
            &[
                "--input",
                demo,
                "--variable",
                "2m_temperature",
                "--lead-time",
                "12h",
                "--truth",
                dataset,
            ][..],
            &range,
        ]
        .concat(),
    );
    // Three panels of 36 cells of 14 px (≥ 480 px) with 70 + 50 px margins.
    let panel_w = 70 + 36 * 14 + 50;
    assert_eq!(img.width, 3 * panel_w);
    let map_top = TOP + LINE_H;
    assert_eq!(
        img.bars(RDYLBU_LO, RDYLBU_HI).len(),
        2,
        "forecast and truth bars"
    );
    let rdbu_lo = [0x05, 0x30, 0x61];
    let rdbu_hi = [0x67, 0x00, 0x1F];
    assert_eq!(
        img.bars(rdbu_lo, rdbu_hi).len(),
        1,
        "a diverging difference bar"
    );
    // The truth panel is the dataset's frame valid at +12h (frame 2), as its own map draws it.
    let truth = plot(
        dir.path(),
        "frame2.png",
        &[
            &[
                "--input",
                dataset,
                "--variable",
                "2m_temperature",
                "--frame",
                "2",
            ][..],
            &range,
        ]
        .concat(),
    );
    let member0 = plot(
        dir.path(),
        "m0.png",
        &[
            &[
                "--input",
                demo,
                "--variable",
                "2m_temperature",
                "--lead-time",
                "12h",
            ][..],
            &range,
        ]
        .concat(),
    );
    let (fields, nlat, nlon) = members("2m_temperature", None, 0);
    let ds = Dataset::open_lenient(dataset).unwrap();
    let t = ds.read("2m_temperature", Some(2..3)).unwrap().data;
    let (mut warm, mut cold) = (0, 0);
    for i in 0..nlat {
        for j in 0..nlon {
            let single = centre(i, j, nlat, (70, TOP, 20));
            let f = centre(i, j, nlat, (70, map_top, 14));
            let tr = centre(i, j, nlat, (panel_w + 70, map_top, 14));
            let d = centre(i, j, nlat, (2 * panel_w + 70, map_top, 14));
            assert_eq!(
                img.pixel(f.0, f.1),
                member0.pixel(single.0, single.1),
                "forecast ({i}, {j})"
            );
            assert_eq!(
                img.pixel(tr.0, tr.1),
                truth.pixel(single.0, single.1),
                "truth ({i}, {j})"
            );
            let diff = fields[0][i * nlon + j] - t[i * nlon + j];
            let p = img.pixel(d.0, d.1);
            // Blue below zero, red above (away from the white middle).
            if diff > 0.5 {
                assert!(p[0] > p[2], "({i}, {j}) diff {diff}: {p:?}");
                warm += 1;
            } else if diff < -0.5 {
                assert!(p[2] > p[0], "({i}, {j}) diff {diff}: {p:?}");
                cold += 1;
            }
        }
    }
    assert!(warm > 0 && cold > 0, "{warm} warm, {cold} cold cells");
}

#[test]
fn bad_map_requests_name_the_culprit() {
    let dir = tempfile::tempdir().unwrap();
    let demo = demo().to_str().unwrap();
    let dataset = support::fixture_dataset("tiny-mha");
    let dataset = dataset.to_str().unwrap();
    let out = dir.path().join("bad.png");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--variable", "2m_temperature", "--region", "60,30,0,10"],
            "lat_min",
        ),
        (
            vec!["--variable", "2m_temperature", "--region", "1,2,3"],
            "--region",
        ),
        (vec!["--probability", "2m_temperature=3K"], "--probability"),
        (vec!["--probability", "no_such_var>3"], "no_such_var"),
        (
            vec![
                "--variable",
                "geopotential",
                "--probability",
                "2m_temperature>3K",
            ],
            "different",
        ),
        (
            vec!["--variable", "2m_temperature", "--truth", "/no/such.nc"],
            "/no/such.nc",
        ),
    ];
    for (args, culprit) in cases {
        let mut all = vec!["plot", "--input", demo, "--output", out.to_str().unwrap()];
        all.extend(args.iter().copied());
        let (ok, _, err) = support::run(&all);
        assert!(!ok, "{args:?} should fail");
        assert!(err.contains(culprit), "{args:?}: `{culprit}` not in {err}");
        assert!(!out.exists());
    }
    let (ok, _, err) = support::run(&[
        "plot",
        "--input",
        dataset,
        "--variable",
        "2m_temperature",
        "--stamps",
        "--output",
        out.to_str().unwrap(),
    ]);
    assert!(!ok && err.contains("--stamps"), "{err}");
}

#[test]
fn zarr_weatherbench2_and_regional_outputs_plot_like_the_netcdf() {
    let dir = tempfile::tempdir().unwrap();
    let members = MEMBERS.to_string();
    let run = ["--members", &members, "--steps", "2", "--seed", "0"];
    let zarr = dir.path().join("demo.zarr");
    let extra = [&run[..], &["--layout", "weatherbench2"]].concat();
    support::assert_ok(&support::forecast("tiny-mha", &zarr, &extra));
    let regional = dir.path().join("europe.nc");
    let extra = [&run[..], &["--region", "30,60,-20,30"]].concat();
    support::assert_ok(&support::forecast("tiny-mha", &regional, &extra));
    let demo = demo().to_str().unwrap();
    let map = |input: &str, name: &str, extra: &[&str]| {
        let base = [
            "--input",
            input,
            "--variable",
            "geopotential",
            "--level",
            "500",
            "--lead-time",
            "24h",
        ];
        plot(dir.path(), name, &[&base[..], extra].concat())
    };
    // Same values, names and times: the same picture, contours and title included.
    for extra in [&["--member", "2"][..], &["--mean"], &["--stamps"]] {
        let nc = map(demo, "nc.png", extra);
        let wb2 = map(zarr.to_str().unwrap(), "wb2.png", extra);
        assert!(
            nc.rgb == wb2.rgb,
            "{extra:?}: WeatherBench-2 Zarr differs from NetCDF"
        );
    }
    let zoomed = map(demo, "zoom.png", &["--region", "30,60,-20,30"]);
    let written = map(regional.to_str().unwrap(), "regional.png", &[]);
    assert!(
        zoomed.rgb == written.rgb,
        "a regional output differs from the zoomed global one"
    );
    // A regional forecast against the global truth picks its part of the grid.
    let dataset = support::fixture_dataset("tiny-mha");
    let truth = plot(
        dir.path(),
        "truth.png",
        &[
            "--input",
            regional.to_str().unwrap(),
            "--variable",
            "2m_temperature",
            "--lead-time",
            "12h",
            "--truth",
            dataset.to_str().unwrap(),
        ],
    );
    assert!(truth.bars(RDYLBU_LO, RDYLBU_HI).len() == 2);
}

#[test]
fn forecasts_carry_the_land_sea_mask_for_coastlines() {
    let dir = tempfile::tempdir().unwrap();
    let dataset = support::fixture_dataset("tiny-mha");
    let ds = Dataset::open_lenient(&dataset).unwrap();
    let lsm = ds.read("land_sea_mask", None).unwrap().data;
    let zsurf = ds.read("geopotential_at_surface", None).unwrap().data;
    let demo_ds = Dataset::open_lenient(demo()).unwrap();
    assert_eq!(demo_ds.read("land_sea_mask", None).unwrap().data, lsm);
    assert_eq!(
        demo_ds.read("geopotential_at_surface", None).unwrap().data,
        zsurf
    );
    let attr = demo_ds.attribute(Some("land_sea_mask"), "units");
    assert!(attr.is_some(), "CF units on land_sea_mask");
    // Coastlines from the forecast alone are those from the dataset.
    let demo = demo().to_str().unwrap();
    let base = ["--input", demo, "--variable", "2m_temperature"];
    let own = plot(dir.path(), "own.png", &base);
    let given = plot(
        dir.path(),
        "given.png",
        &[&base[..], &["--dataset", dataset.to_str().unwrap()]].concat(),
    );
    assert!(own.rgb == given.rgb);
    let map = (71, TOP, 70 + 719, TOP + 19 * 20);
    assert!(own.count([0, 0, 0], map) > 100, "coastline pixels");
    // A regional output holds its part of the mask.
    let regional = dir.path().join("europe.zarr");
    support::assert_ok(&support::forecast(
        "tiny-mha",
        &regional,
        &[
            "--members",
            "1",
            "--steps",
            "1",
            "--region",
            "30,60,-20,30",
            "--layout",
            "weatherbench2",
        ],
    ));
    let zoomed = plot(
        dir.path(),
        "zoomed.png",
        &[
            &base[..],
            &["--region", "30,60,-20,30", "--lead-time", "12h"],
        ]
        .concat(),
    );
    let written = plot(
        dir.path(),
        "written.png",
        &[
            "--input",
            regional.to_str().unwrap(),
            "--variable",
            "land_sea_mask",
        ],
    );
    let full = plot(
        dir.path(),
        "full.png",
        &[
            "--input",
            dataset.to_str().unwrap(),
            "--variable",
            "land_sea_mask",
            "--region",
            "30,60,-20,30",
        ],
    );
    // Same mask values and coastlines; only the titles differ (forecast vs dataset static field).
    let below_title = |img: &Image| img.rgb[TOP * img.width * 3..].to_vec();
    assert!(below_title(&written) == below_title(&full));
    assert_eq!(zoomed.width, written.width);
}
