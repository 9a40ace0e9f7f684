//! `prepare` from CDS-layout NetCDF sources (made from the tiny-mha example dataset by the
//! inverse conversions, see tools/make_prepare_fixtures.py) gives back the example's input
//! frames exactly; each conversion and each refusal is checked on its own.

use std::path::{Path, PathBuf};

use gencast::data::netcdf_time::parse_datetime;
use gencast::data::sources::convert::{self, Regrid};
use gencast::data::sources::tables::{self, Conversion};
use gencast::data::sources::{self, Field, PrepareRequest, Prepared};
use gencast::data::Dataset;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

pub(crate) fn cds_sources() -> Vec<PathBuf> {
    let dir = fixtures().join("prepare");
    [
        "cds-single-levels.nc",
        "cds-pressure-levels.nc",
        "cds-precipitation.nc",
        "cds-static.nc",
    ]
    .iter()
    .map(|f| dir.join(f))
    .collect()
}

fn example() -> Dataset {
    Dataset::open(
        fixtures().join("tiny-mha/source-era5_date-2019-03-29_res-10.0_levels-13_steps-02.nc"),
    )
    .unwrap()
}

pub(crate) fn request(init: &str) -> PrepareRequest {
    let mut model = tables::model("gencast-1p0").unwrap();
    // The fixtures are on a 10° grid.
    model.grid_step = 10.0;
    PrepareRequest {
        model,
        init_time: parse_datetime(init).unwrap(),
        regrid: Regrid::Subsample,
        member: None,
    }
}

pub(crate) fn fields() -> Vec<Field> {
    cds_sources()
        .iter()
        .flat_map(|p| sources::read_source(p).unwrap())
        .collect()
}

fn bits(x: &[f32]) -> Vec<u32> {
    // NaN (SST over land) compares equal to NaN by its bits.
    x.iter()
        .map(|v| if v.is_nan() { u32::MAX } else { v.to_bits() })
        .collect()
}

/// Every variable of `prepared` equals the example's frames `first..first + 2` bit for bit.
fn assert_matches_example(prepared: &Prepared, first: usize) {
    let ex = example();
    assert_eq!(prepared.lat, ex.lat());
    assert_eq!(prepared.lon, ex.lon());
    assert_eq!(prepared.levels, ex.level());
    assert_eq!(prepared.datetimes, ex.datetime()[first..first + 2]);
    assert_eq!(prepared.vars.len(), ex.variables().len(), "variable count");
    for info in ex.variables() {
        let var = prepared
            .var(&info.name)
            .unwrap_or_else(|| panic!("`{}` not prepared", info.name));
        let frames = info
            .dims
            .iter()
            .any(|d| d == "time")
            .then_some(first..first + 2);
        let want = ex.read(&info.name, frames).unwrap();
        assert_eq!(bits(&var.data), bits(&want.data), "`{}` differs", info.name);
    }
}

#[test]
fn cds_sources_give_back_the_example_inputs() {
    let prepared = sources::prepare(&cds_sources(), &request("2019-03-29T12:00")).unwrap();
    assert_matches_example(&prepared, 0);
    // SST is NaN exactly over land (land_sea_mask >= 0.5), as in the example.
    let lsm = &prepared.var("land_sea_mask").unwrap().data;
    let sst = &prepared.var("sea_surface_temperature").unwrap().data;
    let land = lsm.iter().filter(|&&m| m >= 0.5).count();
    assert!(land > 0);
    assert_eq!(sst.iter().filter(|x| x.is_nan()).count(), 2 * land);
}

#[test]
fn a_later_init_time_takes_later_frames_and_hours() {
    // Frame 2019-03-30T00:00 sums the hourly parts ending at 13:00 ... 00:00.
    let prepared = sources::prepare(&cds_sources(), &request("2019-03-30T00:00")).unwrap();
    assert_matches_example(&prepared, 1);
}

#[test]
fn prepared_file_reads_back_as_the_example() {
    let prepared = sources::prepare(&cds_sources(), &request("2019-03-29T12:00")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("inputs.nc");
    sources::write_netcdf(&prepared, &out).unwrap();
    let back = Dataset::open(&out).unwrap();
    let ex = example();
    assert_eq!(back.time(), &ex.time()[..2]);
    assert_eq!(back.datetime(), &ex.datetime()[..2]);
    for info in ex.variables() {
        let got = back.variable(&info.name).unwrap();
        let want_shape: Vec<usize> = info
            .shape
            .iter()
            .zip(&info.dims)
            .map(|(&s, d)| if d == "time" { 2 } else { s })
            .collect();
        assert_eq!(got.dims, info.dims, "`{}` dims", info.name);
        assert_eq!(got.shape, want_shape, "`{}` shape", info.name);
        let frames = info.dims.iter().any(|d| d == "time").then_some(0..2);
        assert_eq!(
            bits(&back.read(&info.name, None).unwrap().data),
            bits(&ex.read(&info.name, frames).unwrap().data),
            "`{}`",
            info.name
        );
    }
}

#[test]
fn geopotential_height_in_metres_is_multiplied_by_g() {
    let mut fs = fields();
    let z = fs
        .iter_mut()
        .find(|f| f.source_name == "z" && f.levels.is_some())
        .unwrap();
    let original = z.data.clone();
    z.source_name = "gh".into();
    z.conversion = Conversion::Height;
    z.units = Some("gpm".into());
    for x in &mut z.data {
        *x = (f64::from(*x) / convert::STANDARD_GRAVITY) as f32;
    }
    let heights = z.data.clone();
    convert::height_to_geopotential(z).unwrap();
    for ((&got, &want), &h) in z.data.iter().zip(&original).zip(&heights) {
        // One float32 rounding when storing the height and one when converting back.
        assert!(
            (got - want).abs() <= 2.0 * f32::EPSILON * want.abs(),
            "{h} m -> {got}, want {want}"
        );
    }
    assert_eq!(z.units.as_deref(), Some("m**2 s**-2"));
}

#[test]
fn geopotential_height_without_metres_is_refused() {
    let mut fs = fields();
    let z = fs
        .iter_mut()
        .find(|f| f.source_name == "z" && f.levels.is_some())
        .unwrap();
    z.source_name = "gh".into();
    z.conversion = Conversion::Height;
    z.units = Some("m**2 s**-2".into());
    let err = sources::prepare_fields(fs, &cds_sources(), &request("2019-03-29T12:00"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`gh`") && err.contains("m**2 s**-2") && err.contains("metres"),
        "{err}"
    );
}

#[test]
fn a_variable_missing_from_every_source_is_named_with_what_was_found() {
    let srcs: Vec<PathBuf> = cds_sources()
        .into_iter()
        .filter(|p| !p.ends_with("cds-pressure-levels.nc"))
        .collect();
    let err = sources::prepare(&srcs, &request("2019-03-29T12:00"))
        .unwrap_err()
        .to_string();
    for needle in [
        "`temperature`",
        "`specific_humidity`",
        "cds-single-levels.nc: msl, sst, t2m, u10, v10",
        "cds-static.nc: lsm, z",
    ] {
        assert!(err.contains(needle), "`{needle}` not in: {err}");
    }
    assert!(!err.contains("`2m_temperature`"), "{err}");
}

#[test]
fn a_missing_level_is_named_with_the_levels_found() {
    let mut fs = fields();
    let t = fs.iter_mut().find(|f| f.source_name == "t").unwrap();
    convert::select_levels(
        t,
        &[50, 100, 150, 200, 250, 300, 400, 600, 700, 850, 925, 1000],
    )
    .unwrap();
    let err = sources::prepare_fields(fs, &cds_sources(), &request("2019-03-29T12:00"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("cds-pressure-levels.nc") && err.contains("`t`") && err.contains("[500] hPa"),
        "{err}"
    );
    assert!(err.contains("found [50, 100, 150"), "{err}");
}

#[test]
fn a_missing_precipitation_hour_is_named() {
    let mut fs = fields();
    let tp = fs.iter_mut().find(|f| f.source_name == "tp").unwrap();
    let drop = parse_datetime("2019-03-29T05:00").unwrap();
    let keep: Vec<usize> = (0..tp.n_times())
        .filter(|&i| tp.times.as_ref().unwrap()[i] != drop)
        .collect();
    tp.data = keep.iter().flat_map(|&i| tp.slice(i, 0).to_vec()).collect();
    tp.times = Some(
        keep.iter()
            .map(|&i| tp.times.as_ref().unwrap()[i])
            .collect(),
    );
    let err = sources::prepare_fields(fs, &cds_sources(), &request("2019-03-29T12:00"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`tp`") && err.contains("missing 2019-03-29T05:00:00"),
        "{err}"
    );
    assert!(
        err.contains("35 values from 2019-03-28T13:00:00 to 2019-03-30T00:00:00"),
        "{err}"
    );
}

#[test]
fn a_missing_frame_is_named_with_the_times_found() {
    let err = sources::prepare(&cds_sources(), &request("2019-03-30T12:00"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("no frame at 2019-03-30T12:00:00"), "{err}");
    assert!(
        err.contains("found 3 values from 2019-03-29T00:00:00 to 2019-03-30T00:00:00"),
        "{err}"
    );
}

#[test]
fn sources_disagreeing_on_the_grid_are_named() {
    let mut fs = fields();
    let lsm = fs.iter_mut().find(|f| f.source_name == "lsm").unwrap();
    for x in &mut lsm.lon {
        *x += 5.0;
    }
    let err = sources::prepare_fields(fs, &cds_sources(), &request("2019-03-29T12:00"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("disagree on the grid")
            && err.contains("`lsm` in")
            && err.contains("cds-static.nc"),
        "{err}"
    );
}

#[test]
fn an_unknown_model_lists_the_known_ones() {
    let err = tables::model("graphcast-9p9").unwrap_err().to_string();
    assert!(
        err.contains("`graphcast-9p9`") && err.contains("gencast-1p0, gencast-0p25"),
        "{err}"
    );
    let m = tables::model("gencast-0p25").unwrap();
    assert_eq!(
        (m.grid_step, m.step_hours, m.input_frames().unwrap()),
        (0.25, 12, 2)
    );
    assert_eq!(m.task.pressure_levels.len(), 13);
}

#[test]
fn a_file_of_another_kind_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(&path, "not weather").unwrap();
    let err = sources::read_source(&path).unwrap_err().to_string();
    assert!(
        err.contains("notes.txt") && err.contains("not NetCDF"),
        "{err}"
    );
}

/// A field on a grid of step `step` whose value at (lat, lon) is `f(lat, lon)`.
fn synthetic(step: f64, f: impl Fn(f64, f64) -> f32) -> Field {
    let (lat, lon) = convert::model_grid(step).unwrap();
    let data = lat
        .iter()
        .flat_map(|&a| lon.iter().map(move |&o| (a, o)))
        .map(|(a, o)| f(a, o))
        .collect();
    Field {
        path: "synthetic.nc".into(),
        source_name: "x".into(),
        model_name: "x".into(),
        conversion: Conversion::None,
        units: None,
        times: None,
        levels: None,
        lat,
        lon,
        data,
        member: None,
        messages: Vec::new(),
    }
}

#[test]
fn subsampling_takes_the_nesting_points_exactly() {
    let value = |a: f64, o: f64| (a * 1000.0 + o) as f32;
    let mut fine = synthetic(2.5, value);
    let (lat, lon) = convert::model_grid(10.0).unwrap();
    convert::regrid(&mut fine, &lat, &lon, Regrid::Subsample).unwrap();
    assert_eq!(fine.data, synthetic(10.0, value).data);
}

#[test]
fn grids_that_do_not_nest_are_refused_for_subsampling() {
    let mut fine = synthetic(4.0, |_, _| 1.0);
    let (lat, lon) = convert::model_grid(10.0).unwrap();
    let err = convert::regrid(&mut fine, &lat, &lon, Regrid::Subsample)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("do not nest") && err.contains("conservative"),
        "{err}"
    );
}

#[test]
fn conservative_regridding_keeps_constants_and_area_means() {
    let (lat, lon) = convert::model_grid(10.0).unwrap();
    let mut constant = synthetic(2.5, |_, _| 7.0);
    convert::regrid(&mut constant, &lat, &lon, Regrid::Conservative).unwrap();
    // Normalised weights sum to 1 in float64; the result is rounded once to float32.
    assert!(
        constant
            .data
            .iter()
            .all(|&x| (x - 7.0).abs() <= 7.0 * f32::EPSILON),
        "{:?}",
        &constant.data[..5]
    );
    // A field equal to its longitude band index averages to the mean over each model cell:
    // the 10° cell centred on 10°E covers 5..15°E: the 2.5° cells at 5 and 15 half, 7.5..12.5 whole.
    let mut lon_field = synthetic(2.5, |_, o| o as f32);
    convert::regrid(&mut lon_field, &lat, &lon, Regrid::Conservative).unwrap();
    let equator = 9 * 36;
    // Same float64-then-float32 rounding as above.
    assert!(
        (lon_field.data[equator + 1] - 10.0).abs() <= 10.0 * f32::EPSILON,
        "{}",
        lon_field.data[equator + 1]
    );
    // Cells mostly covered by missing values stay missing; mostly valid ones average the valid.
    let mut holes = synthetic(2.5, |a, _| if a > 44.0 { f32::NAN } else { 3.0 });
    convert::regrid(&mut holes, &lat, &lon, Regrid::Conservative).unwrap();
    assert!(holes.data[14 * 36].is_nan(), "50°N cell is all missing");
    assert_eq!(
        holes.data[13 * 36],
        3.0,
        "40°N cell is missing only its northern edge"
    );
}

#[test]
fn orienting_flips_latitudes_and_rolls_longitudes() {
    let mut f = synthetic(10.0, |a, o| (a * 1000.0 + o) as f32);
    let want = f.clone();
    // Reverse the rows (north first) and relabel longitudes -180..170.
    let n = f.lon.len();
    f.lat.reverse();
    f.data = f
        .data
        .chunks(n)
        .rev()
        .flat_map(|row| {
            let mut r = row.to_vec();
            r.rotate_left(n / 2);
            r
        })
        .collect();
    f.lon = (0..n).map(|j| -180.0 + 10.0 * j as f64).collect();
    convert::orient_grid(&mut f).unwrap();
    assert_eq!((f.lat, f.lon, f.data), (want.lat, want.lon, want.data));
}

fn wb2() -> PathBuf {
    fixtures().join("prepare/wb2.zarr")
}

#[test]
fn wb2_zarr_store_gives_back_the_example_inputs() {
    // The store mixes Blosc LZ4 (byte shuffle) and zstd (bit shuffle) chunks.
    let meta = std::fs::read_to_string(wb2().join(".zmetadata")).unwrap();
    assert!(meta.contains("\"lz4\"") && meta.contains("\"zstd\""));
    let prepared = sources::prepare(&[wb2()], &request("2019-03-29T12:00")).unwrap();
    assert_matches_example(&prepared, 0);
    let prepared = sources::prepare(&[wb2()], &request("2019-03-30T00:00")).unwrap();
    assert_matches_example(&prepared, 1);
}

#[test]
fn missing_zarr_chunks_read_as_the_fill_value() {
    // Hours 0..5 of each 12-hour total are all zero and were not written (fill value 0).
    let store = wb2();
    assert!(!store.join("total_precipitation/0.0.0").exists());
    assert!(store.join("total_precipitation/6.0.0").exists());
    let fields = sources::read_source(&store).unwrap();
    let tp = fields
        .iter()
        .find(|f| f.source_name == "total_precipitation")
        .unwrap();
    assert_eq!(tp.conversion, Conversion::Accumulation(1));
    assert!(tp.slice(0, 0).iter().all(|&x| x == 0.0));
    assert!(tp.slice(6, 0).iter().any(|&x| x > 0.0));
    // A variable on the hourly axis only at the frames reads NaN (its fill value) in between.
    let t2m = fields
        .iter()
        .find(|f| f.source_name == "2m_temperature")
        .unwrap();
    assert!(t2m.slice(1, 0).iter().all(|x| x.is_nan()));
    assert!(t2m.slice(11, 0).iter().all(|x| x.is_finite()));
}

#[test]
fn a_zarr_store_without_consolidated_metadata_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("plain.zarr");
    std::fs::create_dir(&store).unwrap();
    std::fs::write(store.join(".zgroup"), "{\"zarr_format\": 2}").unwrap();
    let err = sources::read_source(&store).unwrap_err().to_string();
    assert!(
        err.contains("plain.zarr") && err.contains("consolidated"),
        "{err}"
    );
    let not_store = dir.path().join("folder");
    std::fs::create_dir(&not_store).unwrap();
    let err = sources::read_source(&not_store).unwrap_err().to_string();
    assert!(
        err.contains("folder") && err.contains("not a Zarr store"),
        "{err}"
    );
}
