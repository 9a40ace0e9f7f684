//! Typed forecast options: a [`LeadTime`] (also the output interval), an [`InitTime`] and
//! [`SamplerOverrides`]. Each parses the text a user types (`FromStr`), so the command line
//! and the Python package parse at their edges and the run sees checked values only.

use std::fmt;
use std::str::FromStr;

use crate::checkpoint::SamplerConfig;
use crate::data::netcdf_time::{format_datetime, parse_datetime};
use crate::{Error, Result};

/// The largest `num_noise_levels` an override may set (each level costs two denoiser calls
/// per step; the published models use 20).
pub const MAX_NOISE_LEVELS: usize = 10_000;

/// A lead time or an output interval in whole hours ([`crate::Forecast::lead_time`],
/// [`crate::Forecast::output_every`]).
///
/// Parses from `360h`, `15d` or a plain number of hours (`24`); whether it is a positive
/// multiple of the model's step is checked by the run, which knows the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LeadTime {
    hours: u64,
}

impl LeadTime {
    /// A lead time of `hours` hours.
    pub const fn hours(hours: u64) -> LeadTime {
        LeadTime { hours }
    }

    /// A lead time of `days` days; `None` when the hours overflow.
    pub const fn days(days: u64) -> Option<LeadTime> {
        match days.checked_mul(24) {
            Some(hours) => Some(LeadTime { hours }),
            None => None,
        }
    }

    /// The lead time in hours.
    pub const fn as_hours(self) -> u64 {
        self.hours
    }

    /// Parses `text` (`360h`, `15d` or hours) given to `option`, which the message names:
    /// the library's `FromStr` names the quantity (`lead time`), a caller its own argument.
    pub fn parse_option(option: &str, text: &str) -> Result<LeadTime> {
        let t = text.trim();
        let (num, mult) = if let Some(d) = t.strip_suffix('d') {
            (d, 24)
        } else {
            (t.strip_suffix('h').unwrap_or(t), 1)
        };
        num.trim()
            .parse::<u64>()
            .ok()
            .and_then(|n| n.checked_mul(mult))
            .map(LeadTime::hours)
            .ok_or_else(|| Error::Invalid(format!("{option} `{text}`: expected e.g. 360h or 15d")))
    }
}

impl FromStr for LeadTime {
    type Err = Error;

    /// Parses `360h`, `15d` or a plain number of hours.
    fn from_str(text: &str) -> Result<LeadTime> {
        LeadTime::parse_option("lead time", text)
    }
}

impl fmt::Display for LeadTime {
    /// Writes `360h`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}h", self.hours)
    }
}

/// An initialisation time: the newest input frame of a forecast ([`crate::Forecast::init_time`]),
/// matched exactly against the dataset's times.
///
/// Parses from `2019-03-29T12:00` and the other spellings of a CF date (`2019-03-29 12:00:00`,
/// `2019-03-29T12:00:00Z`, `2019-3-29`, a `+hh:mm` zone); messages show the text as given.
#[derive(Clone, Debug)]
pub struct InitTime {
    ns: i64,
    text: String,
}

impl InitTime {
    /// The time `ns` nanoseconds since 1970-01-01 (UTC).
    pub fn from_nanos(ns: i64) -> InitTime {
        InitTime {
            ns,
            text: format_datetime(ns),
        }
    }

    /// Nanoseconds since 1970-01-01 (UTC).
    pub fn as_nanos(&self) -> i64 {
        self.ns
    }
}

impl FromStr for InitTime {
    type Err = Error;

    /// Parses `YYYY-MM-DDTHH:MM` (or another CF date spelling).
    fn from_str(text: &str) -> Result<InitTime> {
        let ns = parse_datetime(text).ok_or_else(|| {
            Error::Invalid(format!(
                "Forecast::init_time `{text}`: expected YYYY-MM-DDTHH:MM"
            ))
        })?;
        Ok(InitTime {
            ns,
            text: text.to_string(),
        })
    }
}

impl PartialEq for InitTime {
    /// The same instant, however it was written.
    fn eq(&self, other: &InitTime) -> bool {
        self.ns == other.ns
    }
}

impl Eq for InitTime {}

impl fmt::Display for InitTime {
    /// Writes the time as it was given (or formatted from nanoseconds).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Overrides of the checkpoint's sampler settings ([`crate::Forecast::sampler`]): each field
/// set replaces the reference `SamplerConfig` field of the same name.
///
/// Parses from `name=value` assignments ([`SamplerOverrides::set`], or a comma-separated list
/// with `FromStr`); `inf` is accepted for the noise levels.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SamplerOverrides {
    /// Largest noise level.
    pub max_noise_level: Option<f64>,
    /// Smallest non-zero noise level.
    pub min_noise_level: Option<f64>,
    /// Number of non-zero noise levels (solver steps), 1 to [`MAX_NOISE_LEVELS`].
    pub num_noise_levels: Option<usize>,
    /// Schedule shape.
    pub rho: Option<f64>,
    /// Stochastic churn rate `S_churn`.
    pub stochastic_churn_rate: Option<f64>,
    /// Churn only at noise levels ≥ this.
    pub churn_min_noise_level: Option<f64>,
    /// Churn only at noise levels ≤ this (may be infinite).
    pub churn_max_noise_level: Option<f64>,
    /// Churn noise inflation `S_noise`.
    pub noise_level_inflation_factor: Option<f64>,
}

/// The field names, in the reference's order.
const FIELDS: &str = "max_noise_level, min_noise_level, num_noise_levels, rho, \
                      stochastic_churn_rate, churn_min_noise_level, churn_max_noise_level, \
                      noise_level_inflation_factor";

impl SamplerOverrides {
    /// Parses `name=value` assignments, later ones replacing earlier ones of the same name.
    pub fn parse<S: AsRef<str>>(assignments: &[S]) -> Result<SamplerOverrides> {
        let mut out = SamplerOverrides::default();
        for a in assignments {
            out.set(a.as_ref())?;
        }
        Ok(out)
    }

    /// Sets one field from `name=value` (e.g. `num_noise_levels=20`).
    pub fn set(&mut self, assignment: &str) -> Result<()> {
        let (key, value) = assignment.split_once('=').ok_or_else(|| {
            Error::Invalid(format!(
                "Forecast::sampler `{assignment}` is not key=value (e.g. num_noise_levels=20)"
            ))
        })?;
        let (key, value) = (key.trim(), value.trim());
        let bad =
            |detail: String| Error::Invalid(format!("Forecast::sampler `{assignment}`: {detail}"));
        let float = || -> Result<Option<f64>> {
            match value.to_ascii_lowercase().as_str() {
                "inf" | "infinity" | "+inf" => Ok(Some(f64::INFINITY)),
                v => v
                    .parse::<f64>()
                    .map(Some)
                    .map_err(|_| bad(format!("`{value}` is not a number"))),
            }
        };
        match key {
            "max_noise_level" => self.max_noise_level = float()?,
            "min_noise_level" => self.min_noise_level = float()?,
            "rho" => self.rho = float()?,
            "stochastic_churn_rate" => self.stochastic_churn_rate = float()?,
            "churn_min_noise_level" => self.churn_min_noise_level = float()?,
            "churn_max_noise_level" => self.churn_max_noise_level = float()?,
            "noise_level_inflation_factor" => self.noise_level_inflation_factor = float()?,
            "num_noise_levels" => {
                let n = value
                    .parse::<usize>()
                    .map_err(|_| bad(format!("`{value}` is not a positive integer")))?;
                check_num_noise_levels(n).map_err(bad)?;
                self.num_noise_levels = Some(n);
            }
            _ => {
                return Err(bad(format!(
                    "`{key}` is not a sampler setting; expected one of {FIELDS}"
                )))
            }
        }
        Ok(())
    }

    /// Whether no field is set.
    pub fn is_empty(&self) -> bool {
        *self == SamplerOverrides::default()
    }

    /// `config` with the set fields replaced; a `num_noise_levels` outside 1 to
    /// [`MAX_NOISE_LEVELS`] is refused.
    pub fn apply(&self, config: &SamplerConfig) -> Result<SamplerConfig> {
        let mut c = config.clone();
        if let Some(n) = self.num_noise_levels {
            check_num_noise_levels(n).map_err(|detail| {
                Error::Invalid(format!("Forecast::sampler num_noise_levels={n}: {detail}"))
            })?;
            c.num_noise_levels = n;
        }
        let floats = [
            (self.max_noise_level, &mut c.max_noise_level),
            (self.min_noise_level, &mut c.min_noise_level),
            (self.rho, &mut c.rho),
            (self.stochastic_churn_rate, &mut c.stochastic_churn_rate),
            (self.churn_min_noise_level, &mut c.churn_min_noise_level),
            (self.churn_max_noise_level, &mut c.churn_max_noise_level),
            (
                self.noise_level_inflation_factor,
                &mut c.noise_level_inflation_factor,
            ),
        ];
        for (value, field) in floats {
            if let Some(v) = value {
                *field = v;
            }
        }
        Ok(c)
    }
}

/// Refuses a number of noise levels outside 1 to [`MAX_NOISE_LEVELS`], saying why.
fn check_num_noise_levels(n: usize) -> Result<(), String> {
    if n == 0 {
        return Err("`0` is not a positive integer".into());
    }
    if n > MAX_NOISE_LEVELS {
        return Err(format!(
            "{n} is more than {MAX_NOISE_LEVELS} noise levels (each costs two denoiser calls \
             per step; the published models use 20)"
        ));
    }
    Ok(())
}

impl FromStr for SamplerOverrides {
    type Err = Error;

    /// Parses a comma-separated list of `name=value` assignments (empty: no override).
    fn from_str(text: &str) -> Result<SamplerOverrides> {
        let items: Vec<&str> = text.split(',').filter(|s| !s.trim().is_empty()).collect();
        SamplerOverrides::parse(&items)
    }
}

impl fmt::Display for SamplerOverrides {
    /// Writes the set fields as `name=value` assignments separated by commas.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.num_noise_levels.map(|n| n as f64);
        let fields = [
            ("max_noise_level", self.max_noise_level),
            ("min_noise_level", self.min_noise_level),
            ("num_noise_levels", n),
            ("rho", self.rho),
            ("stochastic_churn_rate", self.stochastic_churn_rate),
            ("churn_min_noise_level", self.churn_min_noise_level),
            ("churn_max_noise_level", self.churn_max_noise_level),
            (
                "noise_level_inflation_factor",
                self.noise_level_inflation_factor,
            ),
        ];
        let mut first = true;
        for (name, value) in fields {
            if let Some(v) = value {
                if !first {
                    f.write_str(",")?;
                }
                write!(f, "{name}={v}")?;
                first = false;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lead_times_parse_hours_days_and_plain_numbers() {
        for (text, hours) in [
            ("360h", 360),
            ("15d", 360),
            ("24", 24),
            (" 18h ", 18),
            ("0h", 0),
            ("1d", 24),
        ] {
            assert_eq!(
                text.parse::<LeadTime>().unwrap().as_hours(),
                hours,
                "{text}"
            );
        }
        assert_eq!("1d".parse::<LeadTime>().unwrap(), LeadTime::hours(24));
        assert_eq!(LeadTime::days(15), Some(LeadTime::hours(360)));
        assert_eq!(LeadTime::days(u64::MAX), None);
        assert_eq!(LeadTime::hours(36).to_string(), "36h");
        // What Display writes parses back to the same value.
        assert_eq!("36h".parse::<LeadTime>().unwrap(), LeadTime::hours(36));
    }

    #[test]
    fn bad_lead_times_are_refused_naming_the_option() {
        // u64::MAX days overflow the hours.
        for bad in [
            "15x",
            "abc",
            "-12h",
            "1.5d",
            "",
            "h",
            "12 hours",
            "18446744073709551615d",
        ] {
            let err = bad.parse::<LeadTime>().unwrap_err().to_string();
            assert_eq!(
                err,
                format!("lead time `{bad}`: expected e.g. 360h or 15d"),
                "{bad}"
            );
        }
        let err = LeadTime::parse_option("Forecast::output_every", "2w").unwrap_err();
        assert_eq!(
            err.to_string(),
            "Forecast::output_every `2w`: expected e.g. 360h or 15d"
        );
    }

    #[test]
    fn init_times_accept_every_cf_spelling_of_the_same_instant() {
        // 2019-03-29T12:00 UTC, in seconds since 1970 (as `date -u -d` gives it).
        let ns = 1_553_860_800 * 1_000_000_000_i64;
        for text in [
            "2019-03-29T12:00",
            "2019-03-29T12:00:00",
            "2019-03-29 12:00:00",
            "2019-03-29t12:00",
            "2019-03-29T12:00:00Z",
            "2019-03-29T12:00 UTC",
            "2019-03-29T14:00+02:00",
            "2019-3-29T12:00",
        ] {
            let t: InitTime = text.parse().unwrap();
            assert_eq!(t.as_nanos(), ns, "{text}");
            assert_eq!(t, InitTime::from_nanos(ns), "{text}");
            // Messages show the time as the user wrote it.
            assert_eq!(t.to_string(), text);
        }
        assert_eq!(
            "2019-03-29".parse::<InitTime>().unwrap().as_nanos(),
            ns - 12 * 3_600_000_000_000
        );
        assert_eq!(InitTime::from_nanos(ns).to_string(), "2019-03-29T12:00:00");
    }

    #[test]
    fn bad_init_times_are_refused_naming_the_option() {
        for bad in [
            "yesterday",
            "2019-13-01T00:00",
            "2019-03-32",
            "2019-03-29T12:00+5h",
            "",
        ] {
            let err = bad.parse::<InitTime>().unwrap_err().to_string();
            assert_eq!(
                err,
                format!("Forecast::init_time `{bad}`: expected YYYY-MM-DDTHH:MM"),
                "{bad}"
            );
        }
    }

    #[test]
    fn sampler_overrides_set_the_named_fields_only() {
        let o = SamplerOverrides::parse(&[
            "num_noise_levels=6",
            "stochastic_churn_rate = 0",
            "churn_max_noise_level=inf",
            "rho=5",
            "rho=3.5",
        ])
        .unwrap();
        assert_eq!(
            o,
            SamplerOverrides {
                num_noise_levels: Some(6),
                stochastic_churn_rate: Some(0.0),
                churn_max_noise_level: Some(f64::INFINITY),
                rho: Some(3.5),
                ..SamplerOverrides::default()
            }
        );
        let base = SamplerConfig::default();
        let c = o.apply(&base).unwrap();
        let expected = SamplerConfig {
            num_noise_levels: 6,
            stochastic_churn_rate: 0.0,
            churn_max_noise_level: f64::INFINITY,
            rho: 3.5,
            ..base.clone()
        };
        assert_eq!(c, expected);
        assert_eq!(SamplerOverrides::default().apply(&base).unwrap(), base);
        // The comma-separated form and Display agree with the list form.
        let text = o.to_string();
        assert_eq!(
            text,
            "num_noise_levels=6,rho=3.5,stochastic_churn_rate=0,churn_max_noise_level=inf"
        );
        assert_eq!(text.parse::<SamplerOverrides>().unwrap(), o);
        assert!("".parse::<SamplerOverrides>().unwrap().is_empty());
        assert!(!o.is_empty());
    }

    #[test]
    fn bad_sampler_overrides_are_refused_naming_option_and_field() {
        for (arg, needles) in [
            ("rho", &["Forecast::sampler `rho`", "key=value"][..]),
            (
                "rho=abc",
                &["Forecast::sampler `rho=abc`", "`abc` is not a number"],
            ),
            (
                "num_noise_levels=0",
                &["`num_noise_levels=0`", "not a positive integer"],
            ),
            ("num_noise_levels=2.5", &["not a positive integer"]),
            (
                "num_noise_levels=99999999999999",
                &["more than 10000 noise levels"],
            ),
            (
                "sigma_max=3",
                &[
                    "`sigma_max` is not a sampler setting",
                    "num_noise_levels, rho",
                ],
            ),
        ] {
            let err = SamplerOverrides::parse(&[arg]).unwrap_err().to_string();
            for needle in needles {
                assert!(err.contains(needle), "{arg}: `{needle}` not in {err}");
            }
        }
        // Set directly, an out-of-range count is refused when applied.
        let o = SamplerOverrides {
            num_noise_levels: Some(MAX_NOISE_LEVELS + 1),
            ..SamplerOverrides::default()
        };
        let err = o.apply(&SamplerConfig::default()).unwrap_err().to_string();
        assert!(
            err.contains("Forecast::sampler num_noise_levels=10001"),
            "{err}"
        );
        assert!(err.contains("more than 10000 noise levels"), "{err}");
        let limit = SamplerOverrides {
            num_noise_levels: Some(MAX_NOISE_LEVELS),
            ..SamplerOverrides::default()
        };
        let c = limit.apply(&SamplerConfig::default()).unwrap();
        assert_eq!(c.num_noise_levels, MAX_NOISE_LEVELS);
    }
}
