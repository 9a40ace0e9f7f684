//! The latitude and longitude axes of a regular lat/lon GRIB grid, placed by its first and last
//! points and its counts, as ecCodes places longitudes: header increments that disagree with
//! them (rounded, or wrong) do not move the grid.

use grib_reader::{GridDefinition, LatLonGrid};

/// Micro-degrees per degree, the unit of GRIB2 grid coordinates (grib-reader converts GRIB1's
/// milli-degrees to it).
const MICRO: f64 = 1e6;

/// The grid in words, e.g. "regular lat/lon grid 36 × 19" or "spherical harmonics (spectral)".
pub(super) fn grid_words(grid: &GridDefinition) -> String {
    match grid {
        GridDefinition::LatLon(g) => format!("regular lat/lon grid {} × {}", g.ni, g.nj),
        GridDefinition::RotatedLatLon(_) => "rotated lat/lon grid".into(),
        GridDefinition::Mercator(_) => "Mercator grid".into(),
        GridDefinition::AlbersEqualArea(_) => "Albers equal-area grid".into(),
        GridDefinition::LambertConformal(_) => "Lambert conformal grid".into(),
        GridDefinition::PolarStereographic(_) => "polar stereographic grid".into(),
        GridDefinition::RegularGaussian(_) => "Gaussian grid".into(),
        GridDefinition::Unsupported(n) => grid_template_words(*n),
        other => grid_template_words(other.template_number()),
    }
}

/// A GRIB2 grid template number in words.
pub(super) fn grid_template_words(template: u16) -> String {
    match template {
        40 => "Gaussian grid (template 3.40)".into(),
        50 => "spherical harmonics (spectral, template 3.50)".into(),
        101 => "unstructured grid (template 3.101)".into(),
        n => format!("grid template 3.{n}"),
    }
}

/// One axis from `first` to `last` (micro-degrees) in `n` points.
fn axis(first: f64, last: f64, n: u32) -> Vec<f64> {
    if n < 2 {
        return vec![first / MICRO; n as usize];
    }
    let step = (last - first) / f64::from(n - 1);
    (0..n)
        .map(|k| (first + f64::from(k) * step) / MICRO)
        .collect()
}

/// The (latitudes, longitudes) of a regular lat/lon grid in the order its values decode to
/// (rows along j, columns along i, in the grid's scanning directions), or why there are none.
pub(super) fn axes(grid: &GridDefinition) -> Result<(Vec<f64>, Vec<f64>), String> {
    match grid {
        GridDefinition::LatLon(g) => lat_lon_axes(g),
        other => Err(format!("{}: not a regular lat/lon grid", grid_words(other))),
    }
}

fn lat_lon_axes(g: &LatLonGrid) -> Result<(Vec<f64>, Vec<f64>), String> {
    // Counts come from the file: checked before any axis or field is allocated.
    let points = u64::from(g.ni) * u64::from(g.nj);
    let limit = grib_reader::DEFAULT_MAX_DECODED_POINTS as u64;
    if points == 0 || points > limit {
        return Err(format!(
            "its grid of {} × {} points is empty or larger than the {limit} points a field may \
             have",
            g.ni, g.nj
        ));
    }
    let i_negative = g.scanning_mode & 0x80 != 0;
    let j_positive = g.scanning_mode & 0x40 != 0;
    let (lat0, lat1) = (f64::from(g.lat_first), f64::from(g.lat_last));
    let (lon0, mut lon1) = (f64::from(g.lon_first), f64::from(g.lon_last));
    let deg = |x: f64| x / MICRO;
    for lat in [lat0, lat1] {
        if !(-90.0 * MICRO..=90.0 * MICRO).contains(&lat) {
            return Err(format!("latitude {} is outside -90 to 90", deg(lat)));
        }
    }
    if g.nj > 1 && (lat1 == lat0 || (lat1 > lat0) != j_positive) {
        return Err(format!(
            "its latitudes run from {} to {} over {} rows, against its scanning direction \
             ({})",
            deg(lat0),
            deg(lat1),
            g.nj,
            if j_positive { "northward" } else { "southward" }
        ));
    }
    // Longitudes wrap: the last point is taken in the scanning direction from the first.
    if g.ni > 1 {
        let full = 360.0 * MICRO;
        if !i_negative && lon1 <= lon0 {
            lon1 += full;
        } else if i_negative && lon1 >= lon0 {
            lon1 -= full;
        }
        if (lon1 - lon0).abs() >= full {
            return Err(format!(
                "its longitudes span {} degrees or more over {} columns",
                deg((lon1 - lon0).abs()),
                g.ni
            ));
        }
    }
    Ok((axis(lat0, lat1, g.nj), axis(lon0, lon1, g.ni)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(first: (i32, i32), last: (i32, i32), n: (u32, u32), inc: (u32, u32)) -> LatLonGrid {
        LatLonGrid {
            ni: n.0,
            nj: n.1,
            lat_first: first.0,
            lon_first: first.1,
            lat_last: last.0,
            lon_last: last.1,
            di: inc.0,
            dj: inc.1,
            scanning_mode: 0,
        }
    }

    #[test]
    fn axes_follow_first_and_last_points_whatever_the_increments() {
        let m = 1_000_000;
        // Header increments 7° and 4° on a 10° grid of 36 × 19 points from (90, 0) to (-90, 350).
        let g = grid(
            (90 * m, 0),
            (-90 * m, 350 * m),
            (36, 19),
            (7 * m as u32, 4 * m as u32),
        );
        let (lat, lon) = lat_lon_axes(&g).unwrap();
        let want_lat: Vec<f64> = (0..19).map(|k| 90.0 - 10.0 * f64::from(k)).collect();
        let want_lon: Vec<f64> = (0..36).map(|k| 10.0 * f64::from(k)).collect();
        assert_eq!(lat, want_lat);
        assert_eq!(lon, want_lon);
        // A last longitude west of the first wraps: 180 … 170 is 180 … 530.
        let g = grid((90 * m, 180 * m), (-90 * m, 170 * m), (36, 19), (0, 0));
        let (_, lon) = lat_lon_axes(&g).unwrap();
        assert_eq!((lon[0], lon[35]), (180.0, 530.0));
        // Rows against the scanning direction, or beyond the pole, are refused.
        let g = grid((-90 * m, 0), (90 * m, 350 * m), (36, 19), (0, 0));
        assert!(lat_lon_axes(&g).unwrap_err().contains("scanning direction"));
        let g = grid((91 * m, 0), (-90 * m, 350 * m), (36, 19), (0, 0));
        assert!(lat_lon_axes(&g).unwrap_err().contains("outside -90 to 90"));
        // Counts beyond any real grid are refused before anything is allocated.
        let g = grid(
            (90 * m, 0),
            (-90 * m, 350 * m),
            (u32::MAX, u32::MAX),
            (0, 0),
        );
        assert!(lat_lon_axes(&g).unwrap_err().contains("larger than"));
        let g = grid((90 * m, 0), (-90 * m, 350 * m), (0, 19), (0, 0));
        assert!(lat_lon_axes(&g).unwrap_err().contains("empty"));
    }
}
