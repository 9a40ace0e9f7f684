//! Static fields (land-sea mask, surface geopotential) copied from the input dataset into a
//! forecast output, so that maps can draw coastlines from the forecast alone.

use crate::data::Dataset;
use crate::forecast::StaticField;
use crate::Result;

/// The input dataset's static variables a forecast output carries, when the dataset has them.
pub(crate) const COPIED: [&str; 2] = ["land_sea_mask", "geopotential_at_surface"];

/// The [`COPIED`] variables of `ds` that are plain `lat × lon` fields, at the points of the
/// output grid `lat × lon` (a region's longitudes may run below 0°); variables the dataset lacks,
/// or whose grid does not hold every output point, are left out.
pub(crate) fn from_dataset(ds: &Dataset, lat: &[f32], lon: &[f32]) -> Result<Vec<StaticField>> {
    // Output coordinates are copies of the dataset's (float32 degrees), so 1e-3° is exact
    // enough to find each point.
    let find = |want: f32, have: &[f32], wrap: bool| {
        have.iter().position(|&h| {
            let d = f64::from(h) - f64::from(want);
            let d = if wrap {
                (d + 180.0).rem_euclid(360.0) - 180.0
            } else {
                d
            };
            d.abs() < 1e-3
        })
    };
    let rows: Option<Vec<usize>> = lat.iter().map(|&l| find(l, ds.lat(), false)).collect();
    let cols: Option<Vec<usize>> = lon.iter().map(|&l| find(l, ds.lon(), true)).collect();
    let (Some(rows), Some(cols)) = (rows, cols) else {
        return Ok(Vec::new());
    };
    let n = ds.lon().len();
    let mut out = Vec::new();
    for name in COPIED {
        let Some(info) = ds.variable(name) else {
            continue;
        };
        if info.dims != ["lat", "lon"] {
            continue;
        }
        let units = info.units.clone();
        let field = ds.read(name, None)?.data;
        if field.len() != ds.lat().len() * n {
            continue;
        }
        let data = rows
            .iter()
            .flat_map(|&r| cols.iter().map(|&c| field[r * n + c]).collect::<Vec<_>>())
            .collect();
        out.push(StaticField {
            name: name.to_string(),
            units,
            data,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DATASET: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/tiny-mha/source-era5_date-2019-03-29_res-10.0_levels-13_steps-02.nc"
    );

    #[test]
    fn statics_follow_the_output_grid() {
        let ds = Dataset::open_lenient(DATASET).unwrap();
        let all = from_dataset(&ds, ds.lat(), ds.lon()).unwrap();
        let names: Vec<&str> = all.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, COPIED);
        let lsm = ds.read("land_sea_mask", None).unwrap().data;
        assert_eq!(all[0].data, lsm);
        // A region across 0°: rows 30..60 N, columns −20..20 E.
        let lat = [30.0f32, 40.0, 50.0, 60.0];
        let lon = [-20.0f32, -10.0, 0.0, 10.0, 20.0];
        let part = from_dataset(&ds, &lat, &lon).unwrap();
        let n = ds.lon().len();
        let row = |l: f32| ds.lat().iter().position(|&x| x == l).unwrap();
        for (i, &la) in lat.iter().enumerate() {
            for (j, &lo) in lon.iter().enumerate() {
                let c = ds
                    .lon()
                    .iter()
                    .position(|&x| x == lo.rem_euclid(360.0))
                    .unwrap();
                assert_eq!(part[0].data[i * lon.len() + j], lsm[row(la) * n + c]);
            }
        }
        // A grid the dataset does not hold: nothing copied.
        assert!(from_dataset(&ds, &[1.5], &[2.5]).unwrap().is_empty());
    }
}
