//! `--region lat_min,lat_max,lon_min,lon_max` of a map: the rows and columns of the grid it
//! keeps, west to east, with longitudes continuous across 0° (the western part below 0), chosen
//! by the forecast's own [`Region`] rule.

use anyhow::bail;
use gencast::forecast::Region;

/// The part of the grid a map shows.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Window {
    /// Kept rows (indices into the file's latitudes), in file order.
    pub rows: Vec<usize>,
    /// Kept columns (indices into the file's longitudes), west to east.
    pub cols: Vec<usize>,
    /// Latitudes of the kept rows.
    pub lat: Vec<f32>,
    /// Longitudes of the kept columns, ascending.
    pub lon: Vec<f32>,
    /// Whether the window goes all round the globe.
    pub global: bool,
}

impl Window {
    /// The whole grid; global when the columns' spacing times their number makes 360°.
    pub(super) fn all(lat: &[f32], lon: &[f32]) -> Window {
        let n = lon.len();
        let global = n >= 2 && ((lon[1] - lon[0]) * n as f32 - 360.0).abs() < 1e-3;
        Window {
            rows: (0..lat.len()).collect(),
            cols: (0..n).collect(),
            lat: lat.to_vec(),
            lon: lon.to_vec(),
            global,
        }
    }

    /// The points of `lat × lon` inside `text` (`lat_min,lat_max,lon_min,lon_max`; `lon_min >
    /// lon_max` crosses 0°; longitudes in −180..360).
    pub(super) fn parse(text: &str, lat: &[f32], lon: &[f32]) -> anyhow::Result<Window> {
        let region = Region::parse(text)?;
        let p = region.points(lat, lon)?;
        if p.lat.len() < 2 || p.lon.len() < 2 {
            bail!("--region `{text}` holds fewer than 2 × 2 points of the file's grid");
        }
        let (rows, cols, lon) = (p.lat, p.lon, p.lon_values);
        Ok(Window {
            lat: rows.iter().map(|&i| lat[i]).collect(),
            rows,
            global: region.all_lons(),
            cols,
            lon,
        })
    }

    /// The window's part of a `lat × lon` field of the whole grid (`nlon` columns).
    pub(super) fn crop(&self, field: &[f32], nlon: usize) -> Vec<f32> {
        self.rows
            .iter()
            .flat_map(|&r| self.cols.iter().map(move |&c| field[r * nlon + c]))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_region_across_greenwich_runs_west_to_east() {
        let lat: Vec<f32> = (0..19).map(|i| -90.0 + 10.0 * i as f32).collect();
        let lon: Vec<f32> = (0..36).map(|i| 10.0 * i as f32).collect();
        let w = Window::parse("30,60,-20,30", &lat, &lon).unwrap();
        assert_eq!(w.lat, [30.0, 40.0, 50.0, 60.0]);
        assert_eq!(w.rows, [12, 13, 14, 15]);
        assert_eq!(w.lon, [-20.0, -10.0, 0.0, 10.0, 20.0, 30.0]);
        assert_eq!(w.cols, [34, 35, 0, 1, 2, 3]);
        assert!(!w.global);
        // The same region written with eastern longitudes.
        assert_eq!(
            Window::parse("30,60,340,30", &lat, &lon).unwrap().cols,
            w.cols
        );
        let field: Vec<f32> = (0..19 * 36).map(|i| i as f32).collect();
        let c = w.crop(&field, 36);
        assert_eq!(c.len(), 4 * 6);
        assert_eq!(c[0], (12 * 36 + 34) as f32);
        assert_eq!(c[2], (12 * 36) as f32);
        assert!(Window::all(&lat, &lon).global);
        for bad in ["1,2,3", "60,30,0,10", "0,10,0,400", "1,2,3,4"] {
            assert!(Window::parse(bad, &lat, &lon).is_err(), "{bad}");
        }
    }
}
