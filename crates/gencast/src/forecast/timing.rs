//! Lead times, numbers of steps and the initialisation time of a forecast.

use crate::data::netcdf_time::format_datetime;
use crate::data::Dataset;
use crate::Result;

use super::options::{InitTime, LeadTime};

/// The most steps one run may compute (lead times must also fit the files' 32-bit hours).
pub(super) const MAX_STEPS: usize = 10_000;

/// A lead time as a number of `step_hours` steps.
pub(super) fn lead_time_steps(lead: LeadTime, step_hours: u64) -> Result<usize> {
    let hours = lead.as_hours();
    if hours == 0 || !hours.is_multiple_of(step_hours) {
        bail!("Forecast::lead_time `{lead}` must be a positive multiple of {step_hours}h");
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

/// The first of `n_frames` input frames `step_hours` apart whose newest is Forecast::init_time;
/// frame 0 when no time is given.
pub(super) fn first_input_frame(
    ds: &Dataset,
    init_time: Option<&InitTime>,
    n_frames: usize,
    step_hours: u64,
) -> Result<usize> {
    let Some(text) = init_time else { return Ok(0) };
    let ns = text.as_nanos();
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
        let steps = |text: &str, step_hours| lead_time_steps(text.parse().unwrap(), step_hours);
        assert_eq!(steps("360h", 12).unwrap(), 30);
        assert_eq!(steps("15d", 12).unwrap(), 30);
        assert_eq!(steps("24", 12).unwrap(), 2);
        assert_eq!(steps("18h", 6).unwrap(), 3);
        for bad in ["13h", "0h"] {
            let err = steps(bad, 12).unwrap_err().to_string();
            assert!(
                err.contains("Forecast::lead_time") && err.contains("positive multiple of 12h"),
                "{bad}: {err}"
            );
        }
        // 10001 steps of 12 h: more than one run may compute.
        let err = steps("120012h", 12).unwrap_err().to_string();
        assert!(err.contains("more than the 10000 steps"), "{err}");
    }
}
