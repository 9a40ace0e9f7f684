//! The `--output` file of `gencast stats`: declared up front, filled lead time by lead time.

use std::path::Path;

use gencast::forecast::AttrValue;
use gencast::output::read::ForecastOutput;
use gencast::output::stats::{ensemble_mean_std, ensemble_quantiles, Scores};
use gencast::output::{NcHeader, NcType, NcWriter};

use super::grid::Grid;
use super::{Args, Row, Var, HOUR_NS};

/// A score's output name, description and accessor.
type Metric = (&'static str, &'static str, fn(&Scores) -> f64);

/// Metrics written per variable when a truth is given.
const METRICS: [Metric; 5] = [
    ("crps", "fair CRPS", |s| s.crps),
    ("rmse", "ensemble-mean RMSE", |s| s.rmse),
    ("rmse_unbiased", "unbiased ensemble-mean RMSE", |s| {
        s.rmse_unbiased
    }),
    (
        "spread",
        "ensemble spread (root mean variance, ddof 1)",
        |s| s.spread,
    ),
    (
        "spread_skill",
        "spread/skill ratio with sqrt((M+1)/M)",
        |s| s.spread_skill,
    ),
];

/// The stats file being written.
pub(super) struct Output {
    nc: NcWriter,
    with_truth: bool,
    with_acc: bool,
    quantiles: usize,
    /// Bins of a rank histogram (members + 1).
    ranks: usize,
}

fn text(s: &str) -> AttrValue {
    AttrValue::Text(s.to_string())
}

impl Output {
    /// Creates the file with every variable the run will write.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn create(
        path: &Path,
        fc: &ForecastOutput,
        grid: &Grid,
        vars: &[Var],
        args: &Args,
        with_truth: bool,
        with_acc: bool,
        units: &dyn Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Self> {
        let members = fc.members().len();
        let mut h = NcHeader::default();
        let t = h.add_dim("time", fc.lead_times().len());
        let levels = fc.levels();
        let l = h.add_dim("level", levels.len());
        let y = h.add_dim("lat", grid.lat().len());
        let x = h.add_dim("lon", grid.lon().len());
        // A zero-length dimension would be taken for the record dimension: no quantiles, no
        // `quantile` dimension.
        let q = (!args.quantiles.is_empty()).then(|| h.add_dim("quantile", args.quantiles.len()));
        let rank = with_truth.then(|| h.add_dim("rank", members + 1));
        h.attrs = vec![
            ("Conventions".into(), text("CF-1.8")),
            ("title".into(), text("GenCast ensemble statistics")),
            ("source".into(), text(&fc.path().display().to_string())),
            (
                "history".into(),
                text(&format!("gencast stats {}", std::env::args().skip(2).collect::<Vec<_>>().join(" "))),
            ),
            ("ensemble_members".into(), AttrValue::Int(vec![members as i32])),
            ("std_ddof".into(), AttrValue::Int(vec![args.ddof as i32])),
            (
                "area_weighting".into(),
                text("cos-latitude band areas normalised to mean 1 (pole rows: polar caps); missing points dropped"),
            ),
        ];
        if let Some(r) = &args.region {
            h.attrs.push(("region".into(), text(r)));
        }
        let a = |list: &[(&str, &str)]| {
            list.iter()
                .map(|(k, v)| (k.to_string(), text(v)))
                .collect::<Vec<_>>()
        };
        h.add_var(
            "time",
            &[t],
            NcType::Double,
            a(&[
                ("long_name", "lead time"),
                ("units", "hours"),
                ("dtype", "timedelta64[ns]"),
            ]),
        );
        h.add_var(
            "level",
            &[l],
            NcType::Int,
            a(&[("long_name", "pressure level"), ("units", "hPa")]),
        );
        h.add_var(
            "lat",
            &[y],
            NcType::Float,
            a(&[("long_name", "latitude"), ("units", "degrees_north")]),
        );
        h.add_var(
            "lon",
            &[x],
            NcType::Float,
            a(&[("long_name", "longitude"), ("units", "degrees_east")]),
        );
        if let Some(q) = q {
            h.add_var(
                "quantile",
                &[q],
                NcType::Double,
                a(&[("long_name", "quantile"), ("units", "1")]),
            );
        }
        if let Some(r) = rank {
            h.add_var(
                "rank",
                &[r],
                NcType::Int,
                a(&[("long_name", "members below the truth"), ("units", "1")]),
            );
        }
        let fill = || ("_FillValue".to_string(), AttrValue::Float(vec![f32::NAN]));
        let dfill = || ("_FillValue".to_string(), AttrValue::Double(vec![f64::NAN]));
        for v in vars {
            let mut field = vec![t];
            if v.levelled {
                field.push(l);
            }
            let summary = field.clone();
            field.extend([y, x]);
            let with_units = |long: &str, unit: Option<String>, f: (String, AttrValue)| {
                let mut attrs = vec![f, ("long_name".into(), text(long))];
                if let Some(u) = unit {
                    attrs.push(("units".into(), text(&u)));
                }
                attrs
            };
            let u = || units(&v.name);
            h.add_var(
                &format!("mean__{}", v.name),
                &field,
                NcType::Float,
                with_units("ensemble mean", u(), fill()),
            );
            h.add_var(
                &format!("std__{}", v.name),
                &field,
                NcType::Float,
                with_units("ensemble standard deviation", u(), fill()),
            );
            if let Some(q) = q {
                let dims: Vec<usize> = std::iter::once(q).chain(field.iter().copied()).collect();
                h.add_var(
                    &format!("quantile__{}", v.name),
                    &dims,
                    NcType::Float,
                    with_units("ensemble quantile (linear)", u(), fill()),
                );
            }
            if !with_truth {
                continue;
            }
            for (key, long, _) in METRICS {
                // Scores are in the variable's units; the spread/skill ratio has none.
                let unit = if key == "spread_skill" {
                    Some("1".to_string())
                } else {
                    u()
                };
                h.add_var(
                    &format!("{key}__{}", v.name),
                    &summary,
                    NcType::Double,
                    with_units(long, unit, dfill()),
                );
            }
            if with_acc {
                h.add_var(
                    &format!("acc__{}", v.name),
                    &summary,
                    NcType::Double,
                    with_units("anomaly correlation coefficient", Some("1".into()), dfill()),
                );
            }
            if let Some(r) = rank {
                let dims: Vec<usize> = summary.iter().copied().chain([r]).collect();
                h.add_var(
                    &format!("rank_histogram__{}", v.name),
                    &dims,
                    NcType::Double,
                    with_units(
                        "rank histogram of the truth among the members (points; ties shared)",
                        Some("1".into()),
                        dfill(),
                    ),
                );
            }
            h.add_var(
                &format!("crps_map__{}", v.name),
                &field,
                NcType::Float,
                with_units("fair CRPS at each point", u(), fill()),
            );
            h.add_var(
                &format!("rmse_map__{}", v.name),
                &field,
                NcType::Float,
                with_units(
                    "ensemble-mean RMSE at each point (|mean - truth| for one initialisation)",
                    u(),
                    fill(),
                ),
            );
        }
        let mut nc = NcWriter::create(path, h)?;
        let hours: Vec<f64> = fc
            .lead_times()
            .iter()
            .map(|&t| t as f64 / HOUR_NS)
            .collect();
        nc.write_f64(0, 0, &hours)?;
        nc.write_i32(1, 0, levels)?;
        nc.write_f32(2, 0, grid.lat())?;
        nc.write_f32(3, 0, grid.lon())?;
        if q.is_some() {
            nc.write_f64(nc.var_index("quantile")?, 0, &args.quantiles)?;
        }
        if rank.is_some() {
            let ranks: Vec<i32> = (0..=members as i32).collect();
            nc.write_i32(nc.var_index("rank")?, 0, &ranks)?;
        }
        Ok(Output {
            nc,
            with_truth,
            with_acc,
            quantiles: args.quantiles.len(),
            ranks: members + 1,
        })
    }

    /// Writes the mean, standard deviation and quantiles of one variable at one lead time.
    pub(super) fn write_fields(
        &mut self,
        name: &str,
        lead: usize,
        leads: usize,
        members: &[&[f32]],
        ddof: usize,
        quantiles: &[f64],
    ) -> anyhow::Result<()> {
        let block = members.first().map_or(0, |m| m.len());
        let (mut mean, mut std) = (vec![0f32; block], vec![0f32; block]);
        ensemble_mean_std(members, ddof, &mut mean, &mut std)?;
        let start = (lead * block) as u64;
        let v = self.nc.var_index(&format!("mean__{name}"))?;
        self.nc.write_f32(v, start, &mean)?;
        let v = self.nc.var_index(&format!("std__{name}"))?;
        self.nc.write_f32(v, start, &std)?;
        if self.quantiles > 0 {
            let mut out = vec![0f32; self.quantiles * block];
            ensemble_quantiles(members, quantiles, &mut out)?;
            let v = self.nc.var_index(&format!("quantile__{name}"))?;
            for (k, slab) in out.chunks(block.max(1)).enumerate() {
                self.nc
                    .write_f32(v, ((k * leads + lead) * block) as u64, slab)?;
            }
        }
        Ok(())
    }

    /// Writes the CRPS and error maps of one level (`level` of `levels`) at one lead time.
    pub(super) fn write_maps(
        &mut self,
        name: &str,
        lead: usize,
        level: usize,
        levels: usize,
        crps: &[f32],
        error: &[f32],
    ) -> anyhow::Result<()> {
        let start = ((lead * levels + level) * crps.len()) as u64;
        let v = self.nc.var_index(&format!("crps_map__{name}"))?;
        self.nc.write_f32(v, start, crps)?;
        let v = self.nc.var_index(&format!("rmse_map__{name}"))?;
        self.nc.write_f32(v, start, error)?;
        Ok(())
    }

    /// Writes the scores of one variable at one lead time (one row per level).
    pub(super) fn write_scores(
        &mut self,
        name: &str,
        lead: usize,
        rows: &[Row],
    ) -> anyhow::Result<()> {
        if !self.with_truth {
            return Ok(());
        }
        for (key, _, get) in METRICS {
            let v = self.nc.var_index(&format!("{key}__{name}"))?;
            let values: Vec<f64> = rows.iter().map(|r| get(&r.scores)).collect();
            self.nc.write_f64(v, (lead * rows.len()) as u64, &values)?;
        }
        if self.with_acc {
            let v = self.nc.var_index(&format!("acc__{name}"))?;
            let values: Vec<f64> = rows.iter().map(|r| r.acc).collect();
            self.nc.write_f64(v, (lead * rows.len()) as u64, &values)?;
        }
        let v = self.nc.var_index(&format!("rank_histogram__{name}"))?;
        // Double variables start as zeros: a lead time without truth is written as NaN.
        let values: Vec<f64> = rows
            .iter()
            .flat_map(|r| match r.ranks.is_empty() {
                true => vec![f64::NAN; self.ranks],
                false => r.ranks.clone(),
            })
            .collect();
        self.nc
            .write_f64(v, (lead * values.len()) as u64, &values)?;
        Ok(())
    }

    /// Completes the file.
    pub(super) fn finish(self) -> anyhow::Result<()> {
        self.nc.finish()?;
        Ok(())
    }
}
