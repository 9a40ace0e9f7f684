//! Dataset validation rules, each written once. [`Dataset::open`] applies the grid rules
//! (the `data::grid` module), [`check_inputs`](super::check_inputs) collects every problem into
//! a report and `models::gencast::inputs::PreparedStep` fails on the first one. A rule returns what is wrong,
//! with the expected and found values; the caller names the file and the variable.

use crate::data::dataset::{Array, Dataset, BATCH_DIM, TIME_DIM};
use crate::data::forcings::ProgressFeature;
use crate::variables::{is_atmospheric, is_static};

pub(crate) use crate::data::grid::{lat_problem, lon_problem};
pub(crate) use crate::time::NS_PER_HOUR;

/// Where the values of an input variable come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// A `(lat, lon)` field read from the file.
    Static,
    /// A `(time, [level,] lat, lon)` field read from the file.
    TimeDependent,
    /// Computed from the valid times, not read.
    Progress(ProgressFeature),
}

impl Source {
    /// The source of the variable `name`.
    pub(crate) fn of(name: &str) -> Source {
        if let Some(p) = ProgressFeature::from_name(name) {
            Source::Progress(p)
        } else if is_static(name) {
            Source::Static
        } else {
            Source::TimeDependent
        }
    }

    /// Whether the variable is read from the dataset.
    pub(crate) fn is_read_from_file(self) -> bool {
        !matches!(self, Source::Progress(_))
    }
}

/// The dims (besides an optional `batch`) a variable read from the dataset must have, in order;
/// `None` for computed variables.
pub(crate) fn expected_dims(name: &str) -> Option<&'static [&'static str]> {
    match Source::of(name) {
        Source::Progress(_) => None,
        Source::Static => Some(&["lat", "lon"]),
        Source::TimeDependent if is_atmospheric(name) => Some(&[TIME_DIM, "level", "lat", "lon"]),
        Source::TimeDependent => Some(&[TIME_DIM, "lat", "lon"]),
    }
}

/// The variables among `names` that are read from the file (not computed) but absent from `ds`,
/// in the given order.
pub(crate) fn missing_variables<'a>(
    ds: &Dataset,
    names: impl IntoIterator<Item = &'a str>,
) -> Vec<&'a str> {
    names
        .into_iter()
        .filter(|n| Source::of(n).is_read_from_file() && !ds.has(n))
        .collect()
}

/// Why the forcing `name` cannot be provided (only the progress features are computed).
pub(crate) fn forcing_problem(name: &str) -> Option<String> {
    match Source::of(name) {
        Source::Progress(_) => None,
        _ => Some(format!(
            "`{name}` is not supported: only the year/day progress features are computed"
        )),
    }
}

/// Why the variable `name` of `ds` does not have the dims of [`expected_dims`] (`None` when it
/// does, is computed, or is absent: see [`missing_variables`]).
pub(crate) fn dims_problem(ds: &Dataset, name: &str) -> Option<String> {
    let expected = expected_dims(name)?;
    let info = ds.variable(name)?;
    let dims: Vec<&str> = info
        .dims
        .iter()
        .map(String::as_str)
        .filter(|d| *d != BATCH_DIM)
        .collect();
    (dims != expected)
        .then(|| format!("expected dims {expected:?} (plus optional batch), found {dims:?}"))
}

/// Why an array read from `ds` is not on the dataset's grid and levels: its `lat`, `lon` and
/// `level` dims must have the sizes of those coordinates (other dims are not checked).
pub(crate) fn shape_problem(ds: &Dataset, a: &Array) -> Option<String> {
    let expected: Vec<usize> = a
        .dims
        .iter()
        .zip(&a.shape)
        .map(|(d, &n)| match d.as_str() {
            "lat" => ds.lat().len(),
            "lon" => ds.lon().len(),
            "level" => ds.level().len(),
            _ => n,
        })
        .collect();
    (expected != a.shape).then(|| {
        format!(
            "shape {:?} for dims {:?} does not match the dataset's grid and levels; expected {expected:?}",
            a.shape, a.dims
        )
    })
}

/// Whether any of the variables `names` has pressure levels.
pub(crate) fn needs_levels<'a>(names: impl IntoIterator<Item = &'a str>) -> bool {
    names.into_iter().any(is_atmospheric)
}

/// The pressure levels of a task found in a dataset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LevelMatch {
    /// `(level in hPa, index in the file)` of each level found, in the requested order.
    pub found: Vec<(i32, usize)>,
    /// What is missing, when some requested levels are absent.
    pub problem: Option<String>,
}

/// Matches the requested pressure levels (hPa) with those of `ds`, by value.
pub(crate) fn match_levels(ds: &Dataset, levels: impl IntoIterator<Item = i64>) -> LevelMatch {
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for l in levels {
        match i32::try_from(l)
            .ok()
            .and_then(|l32| ds.level_index(l32).map(|i| (l32, i)))
        {
            Some(x) => found.push(x),
            None => missing.push(l.to_string()),
        }
    }
    let problem = (!missing.is_empty()).then(|| {
        format!(
            "missing pressure level(s) {} hPa needed by the task (the file has {:?})",
            missing.join(", "),
            ds.level()
        )
    });
    LevelMatch { found, problem }
}

/// Why the `n` input frames from frame `first` are not all in `ds`.
pub(crate) fn frames_problem(ds: &Dataset, first: usize, n: usize) -> Option<String> {
    let n_frames = ds.num_frames();
    (n_frames < first + n).then(|| {
        format!(
            "missing input frames: {n} input frames are needed from frame {first}, the dataset \
             has {n_frames} frame(s)"
        )
    })
}

/// Why the `n` input frames from frame `first` lack valid times (`datetime`), which the
/// forcings are computed from.
pub(crate) fn datetimes_problem(ds: &Dataset, first: usize, n: usize) -> Option<String> {
    let n_times = ds.datetime().len();
    (n_times < first + n).then(|| {
        format!(
            "missing valid times: {n} input frames from frame {first} need their valid times, \
             the dataset has {n_times} valid time(s) for {} frame(s)",
            ds.num_frames()
        )
    })
}

/// Why consecutive input frames (valid times in ns) are not `step_hours` apart.
pub(crate) fn spacing_problem(datetimes: &[i64], step_hours: i64) -> Option<String> {
    let step_ns = step_hours * NS_PER_HOUR;
    datetimes
        .windows(2)
        .find(|w| w[1] - w[0] != step_ns)
        .map(|w| {
            format!(
                "input frames must be {step_hours} h apart, found {} h",
                (w[1] - w[0]) as f64 / NS_PER_HOUR as f64
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_and_dims() {
        assert_eq!(Source::of("land_sea_mask"), Source::Static);
        assert_eq!(Source::of("temperature"), Source::TimeDependent);
        assert!(!Source::of("day_progress_cos").is_read_from_file());
        assert_eq!(
            expected_dims("temperature"),
            Some(&[TIME_DIM, "level", "lat", "lon"][..])
        );
        assert_eq!(expected_dims("year_progress_sin"), None);
        assert_eq!(forcing_problem("year_progress_sin"), None);
        assert!(forcing_problem("toa_incident_solar_radiation")
            .unwrap()
            .contains("not supported"));
    }

    /// The `tiny-mha` example: 4 frames 12 h apart, 13 levels, a 10° grid (fixture README).
    fn fixture() -> Dataset {
        Dataset::open(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/tiny-mha/source-era5_date-2019-03-29_res-10.0_levels-13_steps-02.nc"
        ))
        .unwrap()
    }

    #[test]
    fn rules_on_the_fixture() {
        let ds = fixture();
        assert_eq!(
            missing_variables(&ds, ["temperature", "foo", "year_progress_sin"]),
            ["foo"]
        );
        let m = match_levels(&ds, [500, 123, 850]);
        assert_eq!(m.found.len(), 2);
        assert_eq!(m.found[0].0, 500);
        assert_eq!(ds.level()[m.found[1].1], 850);
        let p = m.problem.unwrap();
        assert!(p.contains("level(s) 123 hPa") && p.contains("1000]"), "{p}");
        assert_eq!(match_levels(&ds, [50, 1000]).problem, None);
        assert!(needs_levels(["2m_temperature", "geopotential"]));
        assert!(!needs_levels(["2m_temperature", "land_sea_mask"]));

        assert_eq!(frames_problem(&ds, 2, 2), None);
        let p = frames_problem(&ds, 3, 2).unwrap();
        assert!(
            p.contains("from frame 3") && p.contains("4 frame(s)"),
            "{p}"
        );
        assert_eq!(datetimes_problem(&ds, 2, 2), None);
        assert_eq!(spacing_problem(ds.datetime(), 12), None);

        for v in ds.variables() {
            assert_eq!(dims_problem(&ds, &v.name), None, "{}", v.name);
        }
        let a = ds.read("2m_temperature", Some(0..2)).unwrap();
        assert_eq!(shape_problem(&ds, &a), None);
        let off_grid = Array {
            dims: vec![TIME_DIM.into(), "lat".into(), "lon".into()],
            shape: vec![2, 19, 35],
            data: vec![0.0; 2 * 19 * 35],
        };
        let p = shape_problem(&ds, &off_grid).unwrap();
        assert!(
            p.contains("[2, 19, 35]") && p.contains("expected [2, 19, 36]"),
            "{p}"
        );
    }

    #[test]
    fn spacing() {
        let h = NS_PER_HOUR;
        assert_eq!(spacing_problem(&[0, 12 * h, 24 * h], 12), None);
        assert!(spacing_problem(&[0, 6 * h], 12)
            .unwrap()
            .contains("12 h apart, found 6 h"));
    }
}
