//! What a forecast writes of what the model predicts: `--variables`, `--levels`, `--region`
//! and `--output-every`, checked against the model's outputs before anything is computed.

use crate::forecast::Field;
use crate::{Error, Result};

/// The part of each step's prediction that goes to the output.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Selection {
    /// Indices of the written variables among the model's outputs, in output order.
    pub variables: Vec<usize>,
    /// Indices of the written pressure levels among the model's levels.
    pub levels: Vec<usize>,
    /// Every how many 12 h steps a step is written (1: all).
    pub every: usize,
    /// Indices of the written latitudes, ascending.
    pub lat: Vec<usize>,
    /// Indices of the written longitudes, west to east.
    pub lon: Vec<usize>,
    /// The written longitudes' values, ascending (below 0 where a region crosses 0°).
    pub lon_values: Vec<f32>,
    /// Number of longitudes of the model grid.
    pub n_lon: usize,
}

/// A `--region lat_min,lat_max,lon_min,lon_max` in degrees; `lon_min > lon_max` crosses 0°.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Region {
    /// Southern edge.
    pub lat_min: f32,
    /// Northern edge.
    pub lat_max: f32,
    /// Western edge.
    pub lon_min: f32,
    /// Eastern edge.
    pub lon_max: f32,
}

impl Region {
    /// Parses `lat_min,lat_max,lon_min,lon_max` (longitudes in −180..360).
    pub fn parse(text: &str) -> Result<Self> {
        let v: Vec<f32> = text
            .split(',')
            .map(|x| x.trim().parse::<f32>())
            .collect::<Result<Vec<f32>, _>>()
            .ok()
            .filter(|v| v.len() == 4 && v.iter().all(|x| x.is_finite()))
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "Forecast::region `{text}`: expected lat_min,lat_max,lon_min,lon_max in degrees, \
                     e.g. 35,72,-25,45"
                ))
            })?;
        let r = Region {
            lat_min: v[0],
            lat_max: v[1],
            lon_min: v[2],
            lon_max: v[3],
        };
        if !(-90.0..=90.0).contains(&r.lat_min)
            || !(-90.0..=90.0).contains(&r.lat_max)
            || r.lat_min > r.lat_max
        {
            bail!(
                "Forecast::region `{text}`: latitudes must satisfy -90 <= lat_min <= lat_max <= 90"
            );
        }
        if ![r.lon_min, r.lon_max]
            .iter()
            .all(|x| (-180.0..=360.0).contains(x))
        {
            bail!("Forecast::region `{text}`: longitudes must lie in -180..360");
        }
        Ok(r)
    }

    /// Whether the region spans every longitude.
    pub fn all_lons(&self) -> bool {
        self.lon_max - self.lon_min >= 360.0
    }

    /// Whether longitude `lon` (0..360) lies in the region, crossing 0° when needed.
    fn has_lon(&self, lon: f32) -> bool {
        let (a, b) = (
            self.lon_min.rem_euclid(360.0),
            self.lon_max.rem_euclid(360.0),
        );
        if self.all_lons() {
            true
        } else if a <= b {
            (a..=b).contains(&lon)
        } else {
            lon >= a || lon <= b
        }
    }

    /// The points of the grid `lat × lon` inside the region: rows ascending, columns west to
    /// east, and a region crossing 0° shows its western part below 0, so the returned
    /// longitudes ascend. An error when the region holds no point of the grid.
    pub fn points(&self, lat: &[f32], lon: &[f32]) -> Result<RegionPoints> {
        let lat_idx: Vec<usize> = (0..lat.len())
            .filter(|&i| (self.lat_min..=self.lat_max).contains(&lat[i]))
            .collect();
        let west = self.lon_min.rem_euclid(360.0);
        let crosses = !self.all_lons() && west > self.lon_max.rem_euclid(360.0);
        let mut picked: Vec<(f32, usize)> = (0..lon.len())
            .map(|i| (lon[i].rem_euclid(360.0), i))
            .filter(|&(x, _)| self.has_lon(x))
            .map(|(x, i)| (if crosses && x >= west { x - 360.0 } else { x }, i))
            .collect();
        picked.sort_by(|a, b| a.0.total_cmp(&b.0));
        if lat_idx.is_empty() || picked.is_empty() {
            bail!(
                "Forecast::region {},{},{},{} holds no point of the grid",
                self.lat_min,
                self.lat_max,
                self.lon_min,
                self.lon_max
            );
        }
        let (lon_values, lon_idx): (Vec<f32>, Vec<usize>) = picked.into_iter().unzip();
        Ok(RegionPoints {
            lat: lat_idx,
            lon: lon_idx,
            lon_values,
        })
    }
}

/// The grid points inside a [`Region`].
#[derive(Clone, Debug, PartialEq)]
pub struct RegionPoints {
    /// Indices of the kept latitudes, ascending.
    pub lat: Vec<usize>,
    /// Indices of the kept longitudes, west to east.
    pub lon: Vec<usize>,
    /// The kept longitudes' values, ascending (below 0 where the region crosses 0°).
    pub lon_values: Vec<f32>,
}

impl Selection {
    /// Checks the requested variables, levels and output interval against the model's output
    /// variable names, its pressure levels and the run's number of steps; empty requests keep
    /// everything.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn new(
        outputs: &[&str],
        model_levels: &[i32],
        (lat, lon): (&[f32], &[f32]),
        steps: usize,
        variables: &[String],
        levels: &[i32],
        region: Option<Region>,
        every_hours: Option<u64>,
        step_hours: u64,
    ) -> Result<Self> {
        let mut var_idx = Vec::new();
        for v in variables {
            match outputs.iter().position(|o| o == v) {
                Some(i) if !var_idx.contains(&i) => var_idx.push(i),
                Some(_) => bail!("Forecast::variables names `{v}` twice"),
                None => bail!(
                    "Forecast::variables: the model predicts no `{v}`; it predicts {}",
                    outputs.join(", ")
                ),
            }
        }
        if var_idx.is_empty() {
            var_idx = (0..outputs.len()).collect();
        }
        var_idx.sort_unstable();
        let mut level_idx = Vec::new();
        for l in levels {
            match model_levels.iter().position(|m| m == l) {
                Some(i) if !level_idx.contains(&i) => level_idx.push(i),
                Some(_) => bail!("Forecast::levels names {l} twice"),
                None => bail!(
                    "Forecast::levels: the model has no {l} hPa level; it has {}",
                    model_levels
                        .iter()
                        .map(i32::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }
        }
        if level_idx.is_empty() {
            level_idx = (0..model_levels.len()).collect();
        }
        level_idx.sort_unstable();
        let every = match every_hours {
            None => 1,
            Some(h) if h == 0 || !h.is_multiple_of(step_hours) => {
                bail!("Forecast::output_every {h}h must be a positive multiple of {step_hours}h")
            }
            Some(h) if (h / step_hours) as usize > steps => bail!(
                "Forecast::output_every {h}h is longer than the forecast ({} h): nothing would be written",
                steps as u64 * step_hours
            ),
            Some(h) => (h / step_hours) as usize,
        };
        let (lat_idx, lon_idx, lon_values) = match region {
            None => (
                (0..lat.len()).collect(),
                (0..lon.len()).collect(),
                lon.to_vec(),
            ),
            Some(r) => {
                let p = r.points(lat, lon)?;
                (p.lat, p.lon, p.lon_values)
            }
        };
        Ok(Selection {
            variables: var_idx,
            levels: level_idx,
            every,
            lat: lat_idx,
            lon: lon_idx,
            lon_values,
            n_lon: lon.len(),
        })
    }

    /// Whether the whole grid is written.
    pub(super) fn whole_grid(&self, n_lat: usize) -> bool {
        self.lat.len() == n_lat && self.lon.iter().copied().eq(0..self.n_lon)
    }

    /// Whether everything the model predicts is written.
    pub(super) fn is_everything(&self, n_outputs: usize, n_levels: usize, n_lat: usize) -> bool {
        self.every == 1
            && self.variables.len() == n_outputs
            && self.levels.len() == n_levels
            && self.whole_grid(n_lat)
    }

    /// The output slot of model step `step` (0-based), when that step is written.
    pub(super) fn slot(&self, step: usize) -> Option<usize> {
        ((step + 1).is_multiple_of(self.every)).then(|| (step + 1) / self.every - 1)
    }

    /// The written part of `field` (`[level,] lat, lon`) of a variable with `n_levels` levels
    /// (0 for a surface variable).
    pub(super) fn cut(&self, field: &Field, n_levels: usize) -> Vec<f32> {
        let planes: Vec<usize> = if field.levels.is_empty() {
            vec![0]
        } else {
            self.levels.clone()
        };
        let per_level = field.data.len() / n_levels.max(1);
        let n_lat = per_level / self.n_lon.max(1);
        if planes.len() == n_levels.max(1) && self.whole_grid(n_lat) {
            return field.data.clone();
        }
        let mut out = Vec::with_capacity(planes.len() * self.lat.len() * self.lon.len());
        for p in planes {
            let plane = &field.data[p * per_level..(p + 1) * per_level];
            for &y in &self.lat {
                let row = &plane[y * self.n_lon..(y + 1) * self.n_lon];
                out.extend(self.lon.iter().map(|&x| row[x]));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUTS: [&str; 3] = ["2m_temperature", "geopotential", "temperature"];
    const LEVELS: [i32; 3] = [500, 850, 1000];

    const LAT: [f32; 1] = [0.0];
    const LON: [f32; 2] = [0.0, 180.0];

    fn sel(vars: &[&str], levels: &[i32], every: Option<u64>) -> Result<Selection> {
        let vars: Vec<String> = vars.iter().map(|s| s.to_string()).collect();
        Selection::new(
            &OUTS,
            &LEVELS,
            (&LAT, &LON),
            4,
            &vars,
            levels,
            None,
            every,
            12,
        )
    }

    /// A selection of region `r` on a 10° grid: latitudes -90..90, longitudes 0..350.
    fn region(r: &str) -> Result<Selection> {
        let lat: Vec<f32> = (0..19).map(|i| -90.0 + 10.0 * i as f32).collect();
        let lon: Vec<f32> = (0..36).map(|i| 10.0 * i as f32).collect();
        let r = Region::parse(r)?;
        Selection::new(&OUTS, &LEVELS, (&lat, &lon), 4, &[], &[], Some(r), None, 12)
    }

    #[test]
    fn regions_keep_their_points_and_may_cross_greenwich() {
        let s = region("30,50,-20,20").unwrap();
        assert_eq!(s.lat, vec![12, 13, 14]);
        assert_eq!(s.lon, vec![34, 35, 0, 1, 2]);
        assert_eq!(s.lon_values, vec![-20.0, -10.0, 0.0, 10.0, 20.0]);
        // Given as 340..20: the same points in the same order.
        let t = region("30,50,340,20").unwrap();
        assert_eq!((&t.lon, &t.lon_values), (&s.lon, &s.lon_values));
        let e = region("30,50,100,120").unwrap();
        assert_eq!(
            (e.lon, e.lon_values),
            (vec![10, 11, 12], vec![100.0, 110.0, 120.0])
        );
        // A field whose value is 100·row + column: the cut keeps (row, column) pairs in order.
        let f = Field {
            name: "2m_temperature".into(),
            levels: vec![],
            data: (0..19 * 36)
                .map(|i| (100 * (i / 36) + i % 36) as f32)
                .collect(),
        };
        let cut = s.cut(&f, 0);
        assert_eq!(&cut[..6], &[1234.0, 1235.0, 1200.0, 1201.0, 1202.0, 1334.0]);
        assert_eq!(cut.len(), 15);
        assert!(!s.is_everything(3, 3, 19));
        assert!(region("-90,90,0,360").unwrap().is_everything(3, 3, 19));
        for bad in ["1,2,3", "50,30,0,10", "0,10,0,x", "91,92,0,10", "1,2,3,4"] {
            assert!(region(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn requests_pick_variables_levels_and_steps_in_model_order() {
        let s = sel(&["temperature", "2m_temperature"], &[1000, 500], Some(24)).unwrap();
        assert_eq!(
            (s.variables.clone(), s.levels.clone(), s.every),
            (vec![0, 2], vec![0, 2], 2)
        );
        assert_eq!(
            (0..4).map(|k| s.slot(k)).collect::<Vec<_>>(),
            [None, Some(0), None, Some(1)]
        );
        let f = Field {
            name: "temperature".into(),
            levels: LEVELS.to_vec(),
            data: vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        };
        assert_eq!(s.cut(&f, 3), vec![1.0, 2.0, 5.0, 6.0]);
        let all = sel(&[], &[], None).unwrap();
        assert!(all.is_everything(3, 3, 1) && !s.is_everything(3, 3, 1));
        assert_eq!(all.cut(&f, 3), f.data);
    }

    #[test]
    fn bad_requests_name_what_is_available() {
        let e = sel(&["precip"], &[], None).unwrap_err().to_string();
        assert!(
            e.contains("`precip`") && e.contains("2m_temperature, geopotential"),
            "{e}"
        );
        let e = sel(&[], &[700], None).unwrap_err().to_string();
        assert!(e.contains("700 hPa") && e.contains("500, 850, 1000"), "{e}");
        let e = sel(&[], &[], Some(18)).unwrap_err().to_string();
        assert!(e.contains("multiple of 12h"), "{e}");
        let e = sel(&[], &[], Some(60)).unwrap_err().to_string();
        assert!(e.contains("longer than the forecast"), "{e}");
        assert!(sel(&["geopotential", "geopotential"], &[], None).is_err());
    }
}
