//! Lead times, numbers of steps and the initialisation time of a forecast.

use crate::data::netcdf_time::{format_datetime, parse_datetime};
use crate::data::Dataset;
use crate::{Error, Result};

/// The most steps one run may compute (lead times must also fit the files' 32-bit hours).
pub(super) const MAX_STEPS: usize = 10_000;

/// Parses `360h`, `15d` or a plain number of hours given to option `option` (named in library terms).
pub(super) fn hours(option: &str, text: &str) -> Result<u64> {
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
        .ok_or_else(|| Error::Invalid(format!("{option} `{text}`: expected e.g. 360h or 15d")))
}

/// Parses `360h`, `15d` or a plain number of hours into a number of `step_hours` steps.
pub(super) fn lead_time_steps(text: &str, step_hours: u64) -> Result<usize> {
    let hours = hours("Forecast::lead_time", text)?;
    if hours == 0 || !hours.is_multiple_of(step_hours) {
        bail!("Forecast::lead_time `{text}` must be a positive multiple of {step_hours}h");
    }
    check_steps((hours / step_hours) as usize, step_hours)
}

/// Refuses a number of steps outside 1..=[`MAX_STEPS`].
pub(super) fn check_steps(steps: usize, step_hours: u64) -> Result<usize> {
    if steps == 0 {
        bail!("Forecast::steps must be at least 1");
    }
    if steps > MAX_STEPS {
        bail!(
            "{steps} steps ({} h) is more than the {MAX_STEPS} steps one run may compute",
            steps as u128 * step_hours as u128
        );
    }
    Ok(steps)
}

/// The first of `n_frames` input frames `step_hours` apart whose newest is Forecast::init_time
/// (`YYYY-MM-DDTHH:MM`); frame 0 when no time is given.
pub(super) fn first_input_frame(
    ds: &Dataset,
    init_time: Option<&str>,
    n_frames: usize,
    step_hours: u64,
) -> Result<usize> {
    let Some(text) = init_time else { return Ok(0) };
    let ns = parse_datetime(text).ok_or_else(|| {
        Error::Invalid(format!(
            "Forecast::init_time `{text}`: expected YYYY-MM-DDTHH:MM"
        ))
    })?;
    match ds.datetime().iter().position(|&t| t == ns) {
        Some(i) if i + 1 >= n_frames => Ok(i + 1 - n_frames),
        Some(_) => bail!(
            "Forecast::init_time {text}: the model reads {n_frames} input frames {step_hours} h apart \
             ending at the init time, and {} has fewer frames before it",
            ds.path().display()
        ),
        None => bail!(
            "Forecast::init_time {text} is not a time of {} (it has {})",
            ds.path().display(),
            ds.datetime()
                .iter()
                .map(|&t| format_datetime(t))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lead_times_convert_to_steps() {
        assert_eq!(lead_time_steps("360h", 12).unwrap(), 30);
        assert_eq!(lead_time_steps("15d", 12).unwrap(), 30);
        assert_eq!(lead_time_steps("24", 12).unwrap(), 2);
        assert_eq!(lead_time_steps("18h", 6).unwrap(), 3);
        for bad in ["13h", "0h", "abc", "-12h"] {
            assert!(lead_time_steps(bad, 12).is_err(), "{bad}");
        }
    }
}
