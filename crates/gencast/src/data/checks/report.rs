//! The report of [`check_inputs`](super::check_inputs): one row per problem, printed as a
//! variable × frame table.

use std::fmt;

use serde::Serialize;

/// One problem: a variable (or coordinate), optionally at a frame and level.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckRow {
    /// Variable or coordinate name (`lat`, `lon`, `level`, `time`).
    pub variable: String,
    /// The frame, e.g. `2019-03-29T12:00 (-12h)`; `None` for static variables and coordinates.
    pub frame: Option<String>,
    /// The pressure level in hPa, for atmospheric variables.
    pub level: Option<i32>,
    /// What is wrong.
    pub problem: String,
}

/// The result of [`check_inputs`](super::check_inputs): the problems found and what was checked.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CheckReport {
    /// One row per problem; empty when the inputs are fine.
    pub rows: Vec<CheckRow>,
    /// Number of checks run (each variable × frame × level slice counts once per check kind).
    pub checks: usize,
    /// Number of input variables read from the file.
    pub variables: usize,
    /// Number of input frames checked.
    pub frames: usize,
    /// Number of pressure levels checked.
    pub levels: usize,
}

impl CheckReport {
    /// Whether no problem was found.
    pub fn is_ok(&self) -> bool {
        self.rows.is_empty()
    }

    /// A report with a single problem (used when the file cannot even be opened).
    pub fn single(variable: &str, frame: Option<String>, problem: String) -> CheckReport {
        CheckReport {
            rows: vec![CheckRow {
                variable: variable.to_string(),
                frame,
                level: None,
                problem,
            }],
            checks: 1,
            ..CheckReport::default()
        }
    }

    pub(super) fn push(
        &mut self,
        variable: &str,
        frame: Option<&str>,
        level: Option<i32>,
        problem: String,
    ) {
        self.rows.push(CheckRow {
            variable: variable.to_string(),
            frame: frame.map(str::to_string),
            level,
            problem,
        });
    }
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_ok() {
            return write!(
                f,
                "all {} checks passed ({} variables, {} frames, {} levels)",
                self.checks, self.variables, self.frames, self.levels
            );
        }
        let cells: Vec<[String; 4]> = self
            .rows
            .iter()
            .map(|r| {
                [
                    r.variable.clone(),
                    r.frame.clone().unwrap_or_else(|| "-".into()),
                    r.level.map_or_else(|| "-".into(), |l| l.to_string()),
                    r.problem.clone(),
                ]
            })
            .collect();
        let header = ["variable", "frame", "level", "problem"];
        let mut width = header.map(|h| h.chars().count());
        for row in &cells {
            for (w, c) in width.iter_mut().zip(row) {
                *w = (*w).max(c.chars().count());
            }
        }
        let line = |f: &mut fmt::Formatter<'_>, row: [&str; 4]| -> fmt::Result {
            writeln!(
                f,
                "{:<w0$}  {:<w1$}  {:>w2$}  {}",
                row[0],
                row[1],
                row[2],
                row[3],
                w0 = width[0],
                w1 = width[1],
                w2 = width[2]
            )
        };
        writeln!(
            f,
            "{} problem(s) in {} checks:",
            self.rows.len(),
            self.checks
        )?;
        line(f, header)?;
        let rule = width.map(|w| "-".repeat(w));
        line(f, [&rule[0], &rule[1], &rule[2], &"-".repeat(7)])?;
        for row in &cells {
            line(f, [&row[0], &row[1], &row[2], &row[3]])?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_aligned() {
        let mut r = CheckReport::single(
            "temperature",
            Some("2019-03-29T12:00 (-12h)".into()),
            "x".into(),
        );
        r.push("lat", None, None, "y".into());
        let text = r.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5);
        let col = lines[1].find("frame").unwrap();
        assert_eq!(lines[3].find("2019").unwrap(), col);
        assert_eq!(&lines[4][col..col + 1], "-");
        assert!(!r.is_ok());
        assert!(CheckReport::default()
            .to_string()
            .starts_with("all 0 checks passed"));
    }
}
