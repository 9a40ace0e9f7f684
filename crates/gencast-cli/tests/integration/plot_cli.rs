//! `gencast plot` on the reference's 2-step, 2-member rollout and on the example dataset.

use std::path::Path;
use std::process::Command;

use gencast::data::Dataset;

use crate::support::{plot, Image};

const DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../gencast/tests/fixtures/tiny-mha/"
);
const ROLLOUT: &str = "rollout_2step_2members.nc";
const DATASET: &str = "source-era5_date-2019-03-29_res-10.0_levels-13_steps-02.nc";

/// Map geometry for the fixtures' 10° grid (36 × 19 cells): cells of 20 px (the smallest size
/// making the map ≥ 720 px wide), 70 px left margin, map top below two title lines.
const CELL: usize = 20;
const LEFT: usize = 70;
const TOP: usize = 64;
const GREY: [u8; 3] = [200, 200, 200];

fn fixture(name: &str) -> String {
    format!("{DIR}{name}")
}

fn gencast(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_gencast"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

impl Image {
    /// Centre pixel of the cell at file row `lat_index` (ascending latitudes) and column `lon_index`.
    fn cell(&self, lat_index: usize, lon_index: usize, nlat: usize) -> [u8; 3] {
        let row = nlat - 1 - lat_index;
        self.pixel(
            LEFT + lon_index * CELL + CELL / 2,
            TOP + row * CELL + CELL / 2,
        )
    }

    fn distinct_colours(&self) -> usize {
        let mut set = std::collections::BTreeSet::new();
        for p in self.rgb.chunks_exact(3) {
            set.insert([p[0], p[1], p[2]]);
        }
        set.len()
    }
}

#[test]
fn forecast_member_map_has_grey_land_and_colours() {
    let dir = tempfile::tempdir().unwrap();
    let rollout = fixture(ROLLOUT);
    let dataset = fixture(DATASET);
    let img = plot(
        dir.path(),
        "sst.png",
        &[
            "--input",
            &rollout,
            "--variable",
            "sea_surface_temperature",
            "--member",
            "0",
            "--lead-time",
            "12h",
            "--dataset",
            &dataset,
        ],
    );
    // 36 cells of 20 px, plus 70 px left and 50 px right margins.
    assert_eq!(img.width, 840);
    assert!(img.height > TOP + 19 * CELL + 60, "height {}", img.height);
    assert!(
        img.distinct_colours() > 30,
        "{} colours",
        img.distinct_colours()
    );

    let ds = Dataset::open_lenient(&rollout).unwrap();
    let sst = ds.read("sea_surface_temperature", Some(0..1)).unwrap();
    let (nlat, nlon) = (ds.lat().len(), ds.lon().len());
    // Member 0, lead 12h: the first nlat × nlon values of dims (sample, time, lat, lon).
    let field = &sst.data[..nlat * nlon];
    let (mut nan, mut finite) = (0, 0);
    for i in 0..nlat {
        for j in 0..nlon {
            let p = img.cell(i, j, nlat);
            if field[i * nlon + j].is_nan() {
                assert_eq!(p, GREY, "NaN cell ({i}, {j})");
                nan += 1;
            } else {
                assert_ne!(p, GREY, "finite cell ({i}, {j})");
                finite += 1;
            }
        }
    }
    assert!(
        nan > 0 && finite > 0,
        "{nan} NaN cells, {finite} finite cells"
    );
    // Coastlines from the dataset's land-sea mask are drawn in black inside the map.
    let black = (TOP..TOP + nlat * CELL)
        .flat_map(|y| (LEFT + 1..LEFT + nlon * CELL - 1).map(move |x| (x, y)))
        .filter(|&(x, y)| img.pixel(x, y) == [0, 0, 0])
        .count();
    assert!(black > 100, "{black} coastline pixels");
}

#[test]
fn mean_and_std_differ_from_member_zero() {
    let dir = tempfile::tempdir().unwrap();
    let rollout = fixture(ROLLOUT);
    let base = [
        "--input",
        &rollout,
        "--variable",
        "temperature",
        "--level",
        "850",
        "--lead-time",
        "24",
    ];
    let member = plot(
        dir.path(),
        "m0.png",
        &[&base[..], &["--member", "0"]].concat(),
    );
    let member1 = plot(
        dir.path(),
        "m1.png",
        &[&base[..], &["--member", "1"]].concat(),
    );
    let mean = plot(dir.path(), "mean.png", &[&base[..], &["--mean"]].concat());
    let std = plot(dir.path(), "std.png", &[&base[..], &["--std"]].concat());
    assert_eq!((member.width, member.height), (mean.width, mean.height));
    assert_ne!(member.rgb, mean.rgb);
    assert_ne!(member.rgb, member1.rgb);
    assert_ne!(mean.rgb, std.rgb);
    assert!(std.distinct_colours() > 30);
}

#[test]
fn dataset_frame_map() {
    let dir = tempfile::tempdir().unwrap();
    let dataset = fixture(DATASET);
    let f0 = plot(
        dir.path(),
        "f0.png",
        &["--input", &dataset, "--variable", "2m_temperature"],
    );
    let f3 = plot(
        dir.path(),
        "f3.png",
        &[
            "--input",
            &dataset,
            "--variable",
            "2m_temperature",
            "--frame",
            "3",
        ],
    );
    assert_eq!(f0.width, 840);
    assert!(f0.distinct_colours() > 30);
    assert_ne!(f0.rgb, f3.rgb);
    // A static field plots too.
    let lsm = plot(
        dir.path(),
        "lsm.png",
        &["--input", &dataset, "--variable", "land_sea_mask"],
    );
    assert!(lsm.distinct_colours() > 3);
}

#[test]
fn errors_name_the_culprit_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bad.png");
    let out_s = out.to_str().unwrap();
    let rollout = fixture(ROLLOUT);
    let dataset = fixture(DATASET);
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--input", &rollout, "--variable", "no_such_var"],
            "no_such_var",
        ),
        (
            vec![
                "--input",
                &rollout,
                "--variable",
                "temperature",
                "--level",
                "123",
            ],
            "level 123",
        ),
        (
            vec!["--input", &rollout, "--variable", "temperature"],
            "--level",
        ),
        (
            vec![
                "--input",
                &rollout,
                "--variable",
                "2m_temperature",
                "--member",
                "5",
            ],
            "member 5",
        ),
        (
            vec![
                "--input",
                &rollout,
                "--variable",
                "2m_temperature",
                "--lead-time",
                "36h",
            ],
            "36h",
        ),
        (
            vec![
                "--input",
                &rollout,
                "--variable",
                "2m_temperature",
                "--frame",
                "1",
            ],
            "--frame",
        ),
        (
            vec![
                "--input",
                &dataset,
                "--variable",
                "2m_temperature",
                "--frame",
                "9",
            ],
            "frame 9",
        ),
        (
            vec![
                "--input",
                &dataset,
                "--variable",
                "2m_temperature",
                "--mean",
            ],
            "--mean",
        ),
        (
            vec![
                "--input",
                &rollout,
                "--variable",
                "2m_temperature",
                "--dataset",
                &rollout,
            ],
            "land_sea_mask",
        ),
    ];
    for (args, culprit) in cases {
        let mut all = vec!["plot", "--output", out_s];
        all.extend(args.iter().copied());
        let (ok, err) = gencast(&all);
        assert!(!ok, "{args:?} should fail");
        assert!(err.contains(culprit), "{args:?}: `{culprit}` not in: {err}");
        assert!(!out.exists(), "{args:?} left a file");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "{args:?} left a temp file"
        );
    }
}

/// Copies the rollout's `2m_temperature` into a forecast file of our own layout (with
/// `datetime`/`init_time` coordinates), as members 3 and 4.
fn write_forecast(path: &Path) {
    use gencast::forecast::{ForecastLayout, OutputVariable};
    use gencast::output::forecast_nc::ForecastWriter;
    let fc = Dataset::open_lenient(fixture(ROLLOUT)).unwrap();
    let variables = vec![OutputVariable {
        name: "2m_temperature".into(),
        levelled: false,
        units: Some("K".into()),
        statistic: None,
    }];
    let layout = ForecastLayout {
        variables,
        levels: fc.level().to_vec(),
        lat: fc.lat().to_vec(),
        lon: fc.lon().to_vec(),
        members: vec![3, 4],
        lead_hours: vec![12, 24],
        init_time: "2019-03-29T12:00:00".into(),
        history: "test".into(),
        naming: Default::default(),
        statics: Vec::new(),
    };
    let mut w = ForecastWriter::create(path, layout).unwrap();
    let x = fc.read_all("2m_temperature").unwrap();
    let per = x.data.len() / 4;
    for m in 0..2 {
        for s in 0..2 {
            let start = (m * 2 + s) * per;
            w.write_field(m, s, 0, &x.data[start..start + per]).unwrap();
        }
    }
    w.finish().unwrap();
}

#[test]
fn forecast_written_by_gencast_plots_like_the_rollout() {
    let dir = tempfile::tempdir().unwrap();
    let ours = dir.path().join("f.nc");
    write_forecast(&ours);
    let ours = ours.to_str().unwrap().to_string();
    let rollout = fixture(ROLLOUT);
    let var = ["--variable", "2m_temperature", "--lead-time", "24h"];
    let a = plot(
        dir.path(),
        "a.png",
        &[&["--input", &ours, "--member", "4"], &var[..]].concat(),
    );
    let b = plot(
        dir.path(),
        "b.png",
        &[&["--input", &rollout, "--member", "1"], &var[..]].concat(),
    );
    assert_eq!((a.width, a.height), (b.width, b.height));
    // Same field and colours; only the title (valid/init time vs lead time, member number) differs.
    let map = |img: &Image| img.rgb[TOP * img.width * 3..].to_vec();
    assert_eq!(map(&a), map(&b));
    assert_ne!(a.rgb, b.rgb);
    let (ok, err) = gencast(&[
        "plot",
        "--input",
        &ours,
        "--variable",
        "2m_temperature",
        "--member",
        "1",
        "--output",
        dir.path().join("c.png").to_str().unwrap(),
    ]);
    assert!(
        !ok && err.contains("member 1") && err.contains("3, 4"),
        "{err}"
    );
}

#[test]
fn fixed_range_and_colormap_change_the_colours() {
    let dir = tempfile::tempdir().unwrap();
    let dataset = fixture(DATASET);
    let base = ["--input", &dataset, "--variable", "2m_temperature"];
    let auto = plot(dir.path(), "auto.png", &base);
    let fixed = plot(
        dir.path(),
        "fixed.png",
        &[&base[..], &["--vmin", "-300", "--vmax", "400"]].concat(),
    );
    let div = plot(
        dir.path(),
        "div.png",
        &[&base[..], &["--colormap", "diverging"]].concat(),
    );
    assert_ne!(auto.rgb, fixed.rgb);
    assert_ne!(auto.rgb, div.rgb);
    // With a range far wider than the data, the map uses few colours from the middle of viridis.
    assert!(fixed.distinct_colours() < auto.distinct_colours());
}

#[test]
fn centre_greenwich_rotates_the_columns() {
    let dir = tempfile::tempdir().unwrap();
    let rollout = fixture(ROLLOUT);
    let dataset = fixture(DATASET);
    let base = [
        "--input",
        &rollout,
        "--variable",
        "sea_surface_temperature",
        "--dataset",
        &dataset,
    ];
    let east = plot(dir.path(), "east.png", &base);
    let centred = plot(
        dir.path(),
        "centred.png",
        &[&base[..], &["--centre-greenwich"]].concat(),
    );
    let (nlat, nlon) = (19, 36);
    for i in 0..nlat {
        for j in 0..nlon {
            // Column j of the centred map is longitude −180 + 10 j, column (j + 18) mod 36 of 0..360.
            assert_eq!(
                centred.cell(i, j, nlat),
                east.cell(i, (j + nlon / 2) % nlon, nlat),
                "({i}, {j})"
            );
        }
    }
    assert_ne!(east.rgb, centred.rgb);
}
