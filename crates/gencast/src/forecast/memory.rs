//! A forecast collected in memory, laid out as the NetCDF file would be (dimensions,
//! coordinates, attributes), so a frontend can build the same dataset without a file.

use serde_json::Value;

use crate::forecast::Field;
use crate::forecast::{AttrValue, CoordValues, ForecastLayout};
use crate::output::forecast_nc::{coordinate_values, header, slab_of, variable_len};
use crate::{Error, Result};

use super::sink::ForecastSink;

/// One variable of a [`MemoryForecast`].
#[derive(Clone, Debug, PartialEq)]
pub struct MemoryVariable {
    /// Its name.
    pub name: String,
    /// Its dimension names, slowest first.
    pub dims: Vec<String>,
    /// Its shape.
    pub shape: Vec<usize>,
    /// Its values, row-major (NaN where a step was not computed).
    pub values: CoordValues,
    /// Its attributes, as the NetCDF file has them.
    pub attrs: Vec<(String, AttrValue)>,
}

/// A whole forecast in memory: what the NetCDF file holds, variable by variable.
#[derive(Clone, Debug)]
pub struct MemoryForecast {
    /// Dimension names and lengths, in file order.
    pub dims: Vec<(String, usize)>,
    /// Global attributes.
    pub attrs: Vec<(String, AttrValue)>,
    /// Coordinate variables, in file order.
    pub coords: Vec<MemoryVariable>,
    /// Predicted variables, then the static fields copied from the input, in file order
    /// (`float32`).
    pub data_vars: Vec<MemoryVariable>,
    /// The layout the forecast was made with.
    pub layout: ForecastLayout,
}

impl MemoryForecast {
    /// A coordinate or data variable by name.
    pub fn variable(&self, name: &str) -> Option<&MemoryVariable> {
        self.coords
            .iter()
            .chain(&self.data_vars)
            .find(|v| v.name == name)
    }
}

/// Collects a forecast in memory ([`MemorySink::into_forecast`] gives the result).
#[derive(Default)]
pub struct MemorySink {
    layout: Option<ForecastLayout>,
    data: Vec<Vec<f32>>,
}

impl MemorySink {
    /// An empty sink.
    pub fn new() -> MemorySink {
        MemorySink::default()
    }

    /// The layout received, once the forecast has begun.
    pub fn layout(&self) -> Option<&ForecastLayout> {
        self.layout.as_ref()
    }

    /// One variable (index into the layout's variables) of one member at one step
    /// (`[level,] lat, lon`).
    pub fn field(&self, member: usize, step: usize, variable: usize) -> Option<&[f32]> {
        let layout = self.layout.as_ref()?;
        if member >= layout.members.len() || step >= layout.lead_hours.len() {
            return None;
        }
        let (start, len) = slab_of(layout, member, step, variable);
        self.data
            .get(variable)?
            .get(start as usize..start as usize + len)
    }

    /// The collected forecast, laid out as the NetCDF file.
    pub fn into_forecast(self) -> Result<MemoryForecast> {
        let layout = self
            .layout
            .ok_or_else(|| Error::Invalid("the forecast never began".into()))?;
        let h = header(&layout);
        let coords_values = coordinate_values(&layout);
        let n_coords = coords_values.len();
        let mut values = coords_values
            .into_iter()
            .chain(self.data.into_iter().map(CoordValues::Float))
            .chain(
                layout
                    .statics
                    .iter()
                    .map(|s| CoordValues::Float(s.data.clone())),
            );
        let mut vars: Vec<MemoryVariable> = Vec::with_capacity(h.vars.len());
        for decl in &h.vars {
            let values = values.next().ok_or_else(|| {
                Error::Invalid(format!("no values for forecast variable `{}`", decl.name))
            })?;
            vars.push(MemoryVariable {
                name: decl.name.clone(),
                dims: decl.dims.iter().map(|&d| h.dims[d].0.clone()).collect(),
                shape: decl.dims.iter().map(|&d| h.dims[d].1).collect(),
                values,
                attrs: decl.attrs.clone(),
            });
        }
        let data_vars = vars.split_off(n_coords);
        Ok(MemoryForecast {
            dims: h.dims,
            attrs: h.attrs,
            coords: vars,
            data_vars,
            layout,
        })
    }
}

impl ForecastSink for MemorySink {
    fn begin(&mut self, layout: &ForecastLayout, _run: &Value) -> Result<()> {
        self.data = (0..layout.variables.len())
            .map(|v| vec![f32::NAN; variable_len(layout, v)])
            .collect();
        self.layout = Some(layout.clone());
        Ok(())
    }

    fn write(&mut self, member: usize, slot: usize, fields: &[Field]) -> Result<()> {
        let layout = self
            .layout
            .as_ref()
            .ok_or_else(|| Error::Invalid("the forecast never began".into()))?;
        if fields.len() > layout.variables.len() {
            return Err(Error::Shape {
                what: "forecast step (variables)".into(),
                expected: vec![layout.variables.len()],
                found: vec![fields.len()],
            });
        }
        for (v, f) in fields.iter().enumerate() {
            let (start, len) = slab_of(layout, member, slot, v);
            let out = self.data[v]
                .get_mut(start as usize..start as usize + len)
                .filter(|_| f.data.len() == len)
                .ok_or_else(|| Error::Shape {
                    what: format!("forecast field `{}` (member {member}, step {slot})", f.name),
                    expected: vec![len],
                    found: vec![f.data.len()],
                })?;
            out.copy_from_slice(&f.data);
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        Ok(())
    }

    fn write_summary(&mut self, slot: usize, variable: usize, data: &[f32]) -> Result<()> {
        let layout = self
            .layout
            .as_ref()
            .ok_or_else(|| Error::Invalid("the forecast never began".into()))?;
        let (start, len) = slab_of(layout, 0, slot, variable);
        let out = self
            .data
            .get_mut(variable)
            .and_then(|d| d.get_mut(start as usize..start as usize + len))
            .filter(|_| data.len() == len && slot < layout.lead_hours.len())
            .ok_or_else(|| Error::Shape {
                what: format!("ensemble statistic {variable} (step {slot})"),
                expected: vec![len],
                found: vec![data.len()],
            })?;
        out.copy_from_slice(data);
        Ok(())
    }
}
