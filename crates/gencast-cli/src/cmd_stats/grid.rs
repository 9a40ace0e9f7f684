//! The points `gencast stats` scores (the forecast's grid, or the part inside `--region`) and
//! where they lie on the truth's and the climatology's grids.

use anyhow::Context;
use gencast::output::read::ForecastOutput;
use gencast::output::verify::region_latitude_weights;

use gencast::forecast::Region;

/// Tolerance in degrees when matching grid coordinates (stored as f32).
const GRID_TOL: f32 = 1e-3;

/// The scoring grid: a sub-grid of the forecast's.
pub(super) struct Grid {
    lat: Vec<f32>,
    lon: Vec<f32>,
    /// Flat indices of the scored points in the forecast's `lat × lon` field.
    points: Vec<usize>,
    weights: Vec<f64>,
    source_points: usize,
    region: Option<String>,
}

impl Grid {
    /// The forecast's whole grid, or the part of it inside `region`.
    pub(super) fn new(fc: &ForecastOutput, region: Option<&str>) -> anyhow::Result<Grid> {
        let (lat, lon) = (fc.lat(), fc.lon());
        let rows = region_latitude_weights(lat)
            .with_context(|| format!("{}: latitude weights", fc.path().display()))?;
        let (lat_idx, lon_idx, lon_values) = match region {
            None => (
                (0..lat.len()).collect(),
                (0..lon.len()).collect(),
                lon.to_vec(),
            ),
            Some(text) => {
                let p = Region::parse(text)?.points(lat, lon)?;
                (p.lat, p.lon, p.lon_values)
            }
        };
        let mut points = Vec::with_capacity(lat_idx.len() * lon_idx.len());
        let mut weights = Vec::with_capacity(points.capacity());
        for &i in &lat_idx {
            for &j in &lon_idx {
                points.push(i * lon.len() + j);
                weights.push(rows[i]);
            }
        }
        Ok(Grid {
            lat: lat_idx.iter().map(|&i| lat[i]).collect(),
            lon: lon_values,
            points,
            weights,
            source_points: lat.len() * lon.len(),
            region: region.map(str::to_string),
        })
    }

    /// Number of scored points.
    pub(super) fn len(&self) -> usize {
        self.points.len()
    }

    /// Points of one field of the forecast.
    pub(super) fn source_points(&self) -> usize {
        self.source_points
    }

    /// The scored points of one forecast field (`lat × lon`).
    pub(super) fn gather(&self, field: &[f32]) -> Vec<f32> {
        self.points.iter().map(|&p| field[p]).collect()
    }

    /// Area weight of each scored point.
    pub(super) fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// Latitudes of the scoring grid.
    pub(super) fn lat(&self) -> &[f32] {
        &self.lat
    }

    /// Longitudes of the scoring grid, west to east.
    pub(super) fn lon(&self) -> &[f32] {
        &self.lon
    }

    /// The `--region` text, when one was given.
    pub(super) fn region_text(&self) -> Option<String> {
        self.region.clone()
    }
}

/// Where the scoring grid's points lie in another file's `lat × lon` field.
pub(super) struct GridMap {
    idx: Vec<usize>,
    source_points: usize,
}

impl GridMap {
    /// Finds every scoring point on the grid `lat × lon` (longitudes compared modulo 360);
    /// None when one is missing.
    pub(super) fn new(grid: &Grid, lat: &[f32], lon: &[f32]) -> Option<GridMap> {
        let find = |set: &[f32], x: f32, wrap: bool| {
            set.iter().position(|&y| {
                let d = (x - y).abs();
                if wrap {
                    let d = d.rem_euclid(360.0);
                    d.min(360.0 - d) <= GRID_TOL
                } else {
                    d <= GRID_TOL
                }
            })
        };
        let rows: Option<Vec<usize>> = grid.lat.iter().map(|&x| find(lat, x, false)).collect();
        let cols: Option<Vec<usize>> = grid.lon.iter().map(|&x| find(lon, x, true)).collect();
        let (rows, cols) = (rows?, cols?);
        Some(GridMap {
            idx: rows
                .iter()
                .flat_map(|&i| cols.iter().map(move |&j| i * lon.len() + j))
                .collect(),
            source_points: lat.len() * lon.len(),
        })
    }

    /// Number of points.
    pub(super) fn len(&self) -> usize {
        self.idx.len()
    }

    /// Points of one field of the other file.
    pub(super) fn source_points(&self) -> usize {
        self.source_points
    }

    /// The scoring grid's points of one field of the other file.
    pub(super) fn gather(&self, field: &[f32]) -> Vec<f32> {
        self.idx.iter().map(|&p| field[p]).collect()
    }
}
