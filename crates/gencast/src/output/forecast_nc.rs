//! The forecast file: predictions laid out like the reference's rollout output,
//! `(sample, batch, time[, level], lat, lon)`, written member by member and step by step.

use std::path::Path;

use super::netcdf::{AttrValue, NcHeader, NcType, NcWriter};
use crate::Result;

/// One predicted variable.
#[derive(Clone, Debug)]
pub struct OutputVariable {
    /// The reference's variable name (e.g. `2m_temperature`).
    pub name: String,
    /// Whether it has a `level` dimension.
    pub levelled: bool,
    /// Its units, when known.
    pub units: Option<String>,
}

/// What a forecast file holds.
#[derive(Clone, Debug)]
pub struct ForecastLayout {
    /// Predicted variables, in file order.
    pub variables: Vec<OutputVariable>,
    /// Pressure levels (hPa) of the levelled variables.
    pub levels: Vec<i32>,
    /// Latitudes, ascending.
    pub lat: Vec<f32>,
    /// Longitudes.
    pub lon: Vec<f32>,
    /// Ensemble member numbers (the `sample` coordinate, offset included).
    pub members: Vec<i32>,
    /// Lead time of each step, in hours.
    pub lead_hours: Vec<i32>,
    /// Initialisation time as `YYYY-MM-DDTHH:MM:SS` (UTC).
    pub init_time: String,
    /// Free-text provenance stored in the global `history` attribute.
    pub history: String,
}

/// A forecast file being written.
pub struct ForecastWriter {
    nc: NcWriter,
    layout: ForecastLayout,
    var_index: Vec<usize>,
}

fn text(s: &str) -> AttrValue {
    AttrValue::Text(s.to_string())
}

fn attrs(list: &[(&str, AttrValue)]) -> Vec<(String, AttrValue)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

impl ForecastWriter {
    /// Creates the file (under a temporary name until [`ForecastWriter::finish`]) and writes its
    /// coordinates.
    pub fn create(path: &Path, layout: ForecastLayout) -> Result<Self> {
        let mut h = NcHeader::default();
        let d_sample = h.add_dim("sample", layout.members.len());
        let d_batch = h.add_dim("batch", 1);
        let d_time = h.add_dim("time", layout.lead_hours.len());
        let d_level = h.add_dim("level", layout.levels.len());
        let d_lat = h.add_dim("lat", layout.lat.len());
        let d_lon = h.add_dim("lon", layout.lon.len());
        h.attrs = attrs(&[
            ("Conventions", text("CF-1.8")),
            ("title", text("GenCast ensemble forecast")),
            ("history", text(&layout.history)),
        ]);
        let since = format!("hours since {}", layout.init_time);
        h.add_var(
            "sample",
            &[d_sample],
            NcType::Int,
            attrs(&[
                ("long_name", text("ensemble member")),
                ("standard_name", text("realization")),
            ]),
        );
        h.add_var(
            "time",
            &[d_time],
            NcType::Int,
            attrs(&[
                ("long_name", text("lead time")),
                ("units", text("hours")),
                ("dtype", text("timedelta64[ns]")),
            ]),
        );
        h.add_var(
            "datetime",
            &[d_batch, d_time],
            NcType::Double,
            attrs(&[
                ("long_name", text("valid time")),
                ("standard_name", text("time")),
                ("units", text(&since)),
                ("calendar", text("proleptic_gregorian")),
            ]),
        );
        h.add_var(
            "init_time",
            &[d_batch],
            NcType::Double,
            attrs(&[
                ("long_name", text("initialisation time")),
                ("standard_name", text("forecast_reference_time")),
                ("units", text(&since)),
                ("calendar", text("proleptic_gregorian")),
            ]),
        );
        h.add_var(
            "level",
            &[d_level],
            NcType::Int,
            attrs(&[
                ("long_name", text("pressure level")),
                ("units", text("hPa")),
            ]),
        );
        h.add_var(
            "lat",
            &[d_lat],
            NcType::Float,
            attrs(&[
                ("long_name", text("latitude")),
                ("units", text("degrees_north")),
            ]),
        );
        h.add_var(
            "lon",
            &[d_lon],
            NcType::Float,
            attrs(&[
                ("long_name", text("longitude")),
                ("units", text("degrees_east")),
            ]),
        );
        let mut var_index = Vec::with_capacity(layout.variables.len());
        for v in &layout.variables {
            let mut dims = vec![d_sample, d_batch, d_time];
            if v.levelled {
                dims.push(d_level);
            }
            dims.extend([d_lat, d_lon]);
            let mut a = vec![
                ("_FillValue".to_string(), AttrValue::Float(vec![f32::NAN])),
                ("coordinates".to_string(), text("datetime init_time")),
            ];
            if let Some(u) = &v.units {
                a.push(("units".to_string(), text(u)));
            }
            var_index.push(h.add_var(&v.name, &dims, NcType::Float, a));
        }
        let mut nc = NcWriter::create(path, h)?;
        nc.write_i32(0, 0, &layout.members)?;
        nc.write_i32(1, 0, &layout.lead_hours)?;
        let valid: Vec<f64> = layout.lead_hours.iter().map(|&h| h as f64).collect();
        nc.write_f64(2, 0, &valid)?;
        nc.write_f64(3, 0, &[0.0])?;
        nc.write_i32(4, 0, &layout.levels)?;
        nc.write_f32(5, 0, &layout.lat)?;
        nc.write_f32(6, 0, &layout.lon)?;
        Ok(ForecastWriter {
            nc,
            layout,
            var_index,
        })
    }

    /// The layout the file was created with.
    pub fn layout(&self) -> &ForecastLayout {
        &self.layout
    }

    /// Writes one variable of one member at one step: `field` is `[level,] lat, lon`.
    pub fn write_field(
        &mut self,
        member: usize,
        step: usize,
        variable: usize,
        field: &[f32],
    ) -> Result<()> {
        let l = &self.layout;
        let v = &l.variables[variable];
        let per_step = l.lat.len() * l.lon.len() * if v.levelled { l.levels.len() } else { 1 };
        if field.len() != per_step || member >= l.members.len() || step >= l.lead_hours.len() {
            return Err(crate::Error::Shape {
                what: format!("forecast field `{}` (member {member}, step {step})", v.name),
                expected: vec![per_step],
                found: vec![field.len()],
            });
        }
        let start = ((member * l.lead_hours.len() + step) * per_step) as u64;
        self.nc.write_f32(self.var_index[variable], start, field)
    }

    /// Flushes the file and gives it its final name.
    pub fn finish(self) -> Result<()> {
        self.nc.finish()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A two-member, two-step layout on a 3×4 grid with two levels.
    pub(crate) fn small_layout() -> ForecastLayout {
        ForecastLayout {
            variables: vec![
                OutputVariable {
                    name: "2m_temperature".into(),
                    levelled: false,
                    units: Some("K".into()),
                },
                OutputVariable {
                    name: "geopotential".into(),
                    levelled: true,
                    units: None,
                },
            ],
            levels: vec![500, 850],
            lat: vec![-90.0, 0.0, 90.0],
            lon: vec![0.0, 90.0, 180.0, 270.0],
            members: vec![3, 4],
            lead_hours: vec![12, 24],
            init_time: "2019-03-30T00:00:00".into(),
            history: "test".into(),
        }
    }

    #[test]
    fn fields_land_at_their_member_and_step() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.nc");
        let mut w = ForecastWriter::create(&path, small_layout()).unwrap();
        for m in 0..2 {
            for s in 0..2 {
                let t: Vec<f32> = (0..12).map(|i| (100 * m + 10 * s + i) as f32).collect();
                w.write_field(m, s, 0, &t).unwrap();
                let z: Vec<f32> = (0..24).map(|i| -((100 * m + 10 * s + i) as f32)).collect();
                w.write_field(m, s, 1, &z).unwrap();
            }
        }
        let err = w.write_field(0, 0, 1, &[0.0; 12]).unwrap_err().to_string();
        assert!(err.contains("geopotential"), "{err}");
        w.finish().unwrap();
        let f = netcdf_reader::NcFile::open(&path).unwrap();
        let t: Vec<f32> = f
            .read_variable::<f32>("2m_temperature")
            .unwrap()
            .iter()
            .copied()
            .collect();
        assert_eq!(t.len(), 2 * 2 * 12);
        // member 1, step 0, point 5 sits at ((1·2 + 0)·12 + 5)
        assert_eq!(t[(2 * 12) + 5], 105.0);
        let z: Vec<f32> = f
            .read_variable::<f32>("geopotential")
            .unwrap()
            .iter()
            .copied()
            .collect();
        assert_eq!(z[(3 * 24) + 23], -133.0);
        let sample: Vec<i32> = f
            .read_variable::<i32>("sample")
            .unwrap()
            .iter()
            .copied()
            .collect();
        assert_eq!(sample, vec![3, 4]);
    }
}
