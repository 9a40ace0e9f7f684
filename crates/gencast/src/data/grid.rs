//! The grid rules of the reference's example datasets: latitudes ascending from -90 to 90 with
//! both poles, longitudes ascending from 0 and covering 360° without repeating 0, both uniformly
//! spaced. A rule returns what is wrong, with the expected and found values; the caller names the
//! file and the variable.

/// Tolerance, in degrees, for grid coordinates: f32 storage of multiples of 0.25° is exact,
/// and 1e-3° still separates every grid in use; allows for files written from rounded values.
pub(crate) const DEG_TOL: f32 = 1e-3;

/// Joins every problem found (`None` when there is none), so a report shows them all at once.
fn joined(problems: Vec<String>) -> Option<String> {
    (!problems.is_empty()).then(|| problems.join("; "))
}

/// Latitudes must ascend from -90 to 90 (both poles included) with uniform spacing; every
/// problem is reported.
pub(crate) fn lat_problem(lat: &[f32]) -> Option<String> {
    if lat.len() < 2 {
        return Some(format!("need at least 2 latitudes, found {}", lat.len()));
    }
    if lat.iter().any(|x| !x.is_finite()) {
        return Some("contains non-finite values".into());
    }
    let mut problems = Vec::new();
    let (first, last) = (lat[0], lat[lat.len() - 1]);
    if lat.windows(2).all(|w| w[1] < w[0]) {
        problems.push(format!(
            "latitudes are descending ({first} .. {last}, north to south); expected ascending \
             from -90 to 90 (south to north): reverse the lat axis of the file"
        ));
    } else if let Some(i) = lat.windows(2).position(|w| w[1] <= w[0]) {
        problems.push(format!(
            "not strictly ascending at index {} ({} -> {})",
            i + 1,
            lat[i],
            lat[i + 1]
        ));
    }
    let lo = lat.iter().copied().fold(f32::INFINITY, f32::min);
    let hi = lat.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if (lo + 90.0).abs() > DEG_TOL || (hi - 90.0).abs() > DEG_TOL {
        problems.push(format!(
            "latitudes run from {lo} to {hi}; expected -90 to 90 (grid including both poles)"
        ));
    }
    if let Err(p) = uniform_step(lat) {
        problems.push(p);
    }
    joined(problems)
}

/// Longitudes must ascend from 0 with uniform spacing and cover 360° without repeating 0; every
/// problem is reported.
pub(crate) fn lon_problem(lon: &[f32]) -> Option<String> {
    if lon.len() < 2 {
        return Some(format!("need at least 2 longitudes, found {}", lon.len()));
    }
    if lon.iter().any(|x| !x.is_finite()) {
        return Some("contains non-finite values".into());
    }
    let mut problems = Vec::new();
    if let Some(i) = lon.windows(2).position(|w| w[1] <= w[0]) {
        problems.push(format!(
            "not strictly ascending at index {} ({} -> {}); expected 0 .. 360-resolution",
            i + 1,
            lon[i],
            lon[i + 1]
        ));
    }
    if lon[0].abs() > DEG_TOL {
        problems.push(format!(
            "longitudes start at {}; expected 0 .. 360-resolution (roll the file so it starts at 0)",
            lon[0]
        ));
    }
    match uniform_step(lon) {
        Err(p) => problems.push(p),
        Ok(step) => {
            let span = step * lon.len() as f32;
            if (span - 360.0).abs() > DEG_TOL * lon.len() as f32 {
                problems.push(format!(
                    "{} longitudes with step {step} cover {span} degrees; expected a global grid (360)",
                    lon.len()
                ));
            }
        }
    }
    joined(problems)
}

/// The step of uniformly spaced coordinates (at least 2 values), or where the spacing changes.
fn uniform_step(values: &[f32]) -> Result<f32, String> {
    let step = values[1] - values[0];
    match values
        .windows(2)
        .position(|w| ((w[1] - w[0]) - step).abs() > DEG_TOL)
    {
        None => Ok(step),
        Some(i) => Err(format!(
            "spacing is not uniform: step {} between indices {i} and {} ({} -> {}), expected {step}",
            values[i + 1] - values[i],
            i + 1,
            values[i],
            values[i + 1]
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_problems_are_named() {
        let lat: Vec<f32> = (0..19).map(|i| -90.0 + 10.0 * i as f32).collect();
        assert_eq!(lat_problem(&lat), None);
        let mut rev = lat.clone();
        rev.reverse();
        assert!(lat_problem(&rev).unwrap().contains("descending"));
        let lon: Vec<f32> = (0..36).map(|i| 10.0 * i as f32).collect();
        assert_eq!(lon_problem(&lon), None);
        let shifted: Vec<f32> = lon.iter().map(|x| x - 180.0).collect();
        assert!(lon_problem(&shifted).unwrap().contains("start at -180"));
        let mut gap = lon.clone();
        gap[5] = 52.0;
        let p = lon_problem(&gap).unwrap();
        assert!(
            p.contains("not uniform") && p.contains("indices 4 and 5") && p.contains("40 -> 52"),
            "{p}"
        );
        assert!(lon_problem(&lon[..18]).unwrap().contains("cover 180"));
        // Every problem at once: a regional, shifted, unevenly spaced grid.
        let mut regional: Vec<f32> = (0..18).map(|i| 10.0 * i as f32 - 60.0).collect();
        regional[3] += 5.0;
        let p = lon_problem(&regional).unwrap();
        assert!(
            p.contains("start at -60") && p.contains("not uniform"),
            "{p}"
        );
        let half: Vec<f32> = (0..10).map(|i| 90.0 - 10.0 * i as f32).collect();
        let p = lat_problem(&half).unwrap();
        assert!(
            p.contains("descending") && p.contains("run from 0 to 90"),
            "{p}"
        );
        assert!(lat_problem(&[0.0]).unwrap().contains("found 1"));
    }
}
