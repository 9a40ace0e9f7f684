//! Exceedance probabilities: `VARIABLE>VALUE[UNITS]` parsed, and the percentage of members on
//! the asked side of the threshold at each grid point.

use anyhow::{anyhow, bail};

/// Comparison of a member's value with the threshold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Op {
    /// `>`
    Greater,
    /// `>=`
    GreaterEq,
    /// `<`
    Less,
    /// `<=`
    LessEq,
}

impl Op {
    /// The comparison in words, for titles: `exceeding`, `at or above`, `below`, `at or below`.
    pub(super) fn words(self) -> &'static str {
        match self {
            Op::Greater => "exceeding",
            Op::GreaterEq => "at or above",
            Op::Less => "below",
            Op::LessEq => "at or below",
        }
    }

    /// Whether `v op threshold` holds.
    pub(super) fn holds(self, v: f64, threshold: f64) -> bool {
        match self {
            Op::Greater => v > threshold,
            Op::GreaterEq => v >= threshold,
            Op::Less => v < threshold,
            Op::LessEq => v <= threshold,
        }
    }
}

/// A parsed `--probability` expression.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Event {
    /// Variable name.
    pub variable: String,
    /// Comparison.
    pub op: Op,
    /// Threshold as written.
    pub value: f64,
    /// Units as written (`None`: the file's units).
    pub units: Option<String>,
}

/// Parses `total_precipitation_12hr>10mm`, `2m_temperature<=0°C`, `mean_sea_level_pressure < 990 hPa`.
pub(super) fn parse(expr: &str) -> anyhow::Result<Event> {
    let bad = |why: &str| {
        anyhow!("--probability `{expr}`: {why} (expected VARIABLE>VALUE[UNITS], e.g. total_precipitation_12hr>10mm)")
    };
    let at = expr
        .find(['>', '<'])
        .ok_or_else(|| bad("no comparison `>`, `>=`, `<` or `<=`"))?;
    let variable = expr[..at].trim();
    if variable.is_empty() {
        return Err(bad("no variable before the comparison"));
    }
    let rest = &expr[at..];
    let (op, rest) = [
        (">=", Op::GreaterEq),
        ("<=", Op::LessEq),
        (">", Op::Greater),
        ("<", Op::Less),
    ]
    .into_iter()
    .find_map(|(s, op)| rest.strip_prefix(s).map(|r| (op, r.trim())))
    .ok_or_else(|| bad("no comparison"))?;
    let split = rest
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E')))
        .unwrap_or(rest.len());
    // A unit starting with `e` (none in the table) would be read as an exponent; back off to
    // the longest prefix that parses.
    let (mut num, mut units) = rest.split_at(split);
    while !num.is_empty() && num.parse::<f64>().is_err() {
        let k = num.len() - 1;
        (num, units) = rest.split_at(k);
    }
    let value: f64 = num.parse().map_err(|_| bad("no threshold value"))?;
    if !value.is_finite() {
        bail!(bad("the threshold is not finite"));
    }
    let units = units.trim();
    Ok(Event {
        variable: variable.to_string(),
        op,
        value,
        units: (!units.is_empty()).then(|| units.to_string()),
    })
}

/// Percentage (0–100) of `members` with `value op threshold` at each point; NaN where any
/// member is missing.
pub(super) fn percent(members: &[Vec<f32>], op: Op, threshold: f64) -> Vec<f32> {
    let n = members.first().map_or(0, Vec::len);
    (0..n)
        .map(|i| {
            let mut hits = 0usize;
            for m in members {
                let v = f64::from(m[i]);
                if v.is_nan() {
                    return f32::NAN;
                }
                hits += usize::from(op.holds(v, threshold));
            }
            (100.0 * hits as f64 / members.len() as f64) as f32
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expressions_parse() {
        let e = parse("total_precipitation_12hr>10mm").unwrap();
        assert_eq!(
            e,
            Event {
                variable: "total_precipitation_12hr".into(),
                op: Op::Greater,
                value: 10.0,
                units: Some("mm".into())
            }
        );
        let e = parse("2m_temperature <= -2.5 °C").unwrap();
        assert_eq!(
            (e.op, e.value, e.units.as_deref()),
            (Op::LessEq, -2.5, Some("°C"))
        );
        let e = parse("mean_sea_level_pressure<99000").unwrap();
        assert_eq!((e.op, e.value, e.units), (Op::Less, 99000.0, None));
        let e = parse("10m_u_component_of_wind>=1.5e1m/s").unwrap();
        assert_eq!(
            (e.op, e.value, e.units.as_deref()),
            (Op::GreaterEq, 15.0, Some("m/s"))
        );
        for bad in ["rain", ">3mm", "rain>mm", "rain>inf"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn percentages_count_members() {
        let m = vec![vec![1.0, 5.0, f32::NAN], vec![3.0, 6.0, 1.0]];
        assert_eq!(percent(&m, Op::Greater, 2.0)[..2], [50.0, 100.0]);
        assert!(percent(&m, Op::Greater, 2.0)[2].is_nan());
        assert_eq!(percent(&m, Op::LessEq, 3.0)[..2], [100.0, 0.0]);
    }
}
