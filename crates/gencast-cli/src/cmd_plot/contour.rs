//! Contour lines by marching squares on the grid's cell centres.

/// A point in grid coordinates: (row, column), fractional, cell centres at whole numbers.
pub(super) type Point = (f64, f64);

/// The segments of the `level` contour of `field` (`nlat × nlon`, row-major). Squares with a
/// missing corner are skipped; saddles are resolved by the mean of the four corners. With
/// `wrap`, the squares between the last column and the first are included (their points have
/// columns between `nlon - 1` and `nlon`).
pub(super) fn segments(
    field: &[f32],
    nlat: usize,
    nlon: usize,
    wrap: bool,
    level: f64,
) -> Vec<(Point, Point)> {
    let mut out = Vec::new();
    let squares = if wrap { nlon } else { nlon.saturating_sub(1) };
    for r in 0..nlat.saturating_sub(1) {
        for c in 0..squares {
            let c1 = (c + 1) % nlon;
            // Corners clockwise from the top left: (r, c), (r, c+1), (r+1, c+1), (r+1, c).
            let v = [
                field[r * nlon + c],
                field[r * nlon + c1],
                field[(r + 1) * nlon + c1],
                field[(r + 1) * nlon + c],
            ]
            .map(f64::from);
            if v.iter().any(|x| !x.is_finite()) {
                continue;
            }
            let (rf, cf) = (r as f64, c as f64);
            let pos = [
                (rf, cf),
                (rf, cf + 1.0),
                (rf + 1.0, cf + 1.0),
                (rf + 1.0, cf),
            ];
            let above = v.map(|x| x > level);
            // Crossing on edge k (corner k to corner k+1), if the level is crossed there.
            let cross = |k: usize| -> Option<Point> {
                let j = (k + 1) % 4;
                if above[k] == above[j] {
                    return None;
                }
                let t = (level - v[k]) / (v[j] - v[k]);
                Some((
                    pos[k].0 + t * (pos[j].0 - pos[k].0),
                    pos[k].1 + t * (pos[j].1 - pos[k].1),
                ))
            };
            let edges: Vec<(usize, Point)> =
                (0..4).filter_map(|k| cross(k).map(|p| (k, p))).collect();
            match edges.len() {
                2 => out.push((edges[0].1, edges[1].1)),
                4 => {
                    let centre_above = v.iter().sum::<f64>() / 4.0 > level;
                    let e: Vec<Point> = edges.iter().map(|&(_, p)| p).collect();
                    if centre_above == above[0] {
                        // Corners 0 and 2 join through the centre: cut off corners 1 and 3.
                        out.push((e[0], e[1]));
                        out.push((e[2], e[3]));
                    } else {
                        // Cut off corners 0 and 2.
                        out.push((e[3], e[0]));
                        out.push((e[1], e[2]));
                    }
                }
                _ => {}
            }
        }
    }
    out
}

/// Multiples of `interval` strictly inside the finite range of `field` (none for a flat,
/// empty or non-positive interval).
pub(super) fn levels(field: &[f32], interval: f64) -> Vec<f64> {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for &v in field.iter().filter(|v| v.is_finite()) {
        lo = lo.min(f64::from(v));
        hi = hi.max(f64::from(v));
    }
    if interval.is_nan() || interval <= 0.0 || lo >= hi || (hi - lo) / interval > 1000.0 {
        return Vec::new();
    }
    let first = (lo / interval).floor() as i64 + 1;
    let last = (hi / interval).ceil() as i64 - 1;
    (first..=last).map(|k| k as f64 * interval).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A plane rising along columns: every contour is a vertical line at the interpolated column.
    #[test]
    fn a_plane_gives_straight_lines_at_the_interpolated_place() {
        let (nlat, nlon) = (3, 4);
        let field: Vec<f32> = (0..nlat * nlon).map(|i| (i % nlon) as f32 * 10.0).collect();
        let segs = segments(&field, nlat, nlon, false, 15.0);
        assert_eq!(segs.len(), nlat - 1);
        for (a, b) in segs {
            // 15 lies half way between columns 1 (10) and 2 (20).
            assert_eq!((a.1, b.1), (1.5, 1.5));
            assert_eq!((a.0 - b.0).abs(), 1.0);
        }
        // Wrapping adds the squares between the last column (30) and the first (0): 15 is
        // crossed half way there too.
        let wrapped = segments(&field, nlat, nlon, true, 15.0);
        assert_eq!(wrapped.len(), 2 * (nlat - 1));
        assert!(wrapped.iter().any(|(a, _)| a.1 == 3.5));
    }

    #[test]
    fn a_peak_is_closed_and_saddles_and_gaps_are_handled() {
        // A single high centre: the 0.5 contour is a diamond of 4 segments.
        let field = [0., 0., 0., 0., 1., 0., 0., 0., 0.];
        let segs = segments(&field, 3, 3, false, 0.5);
        assert_eq!(segs.len(), 4);
        for (a, b) in &segs {
            for p in [a, b] {
                let d = (p.0 - 1.0).abs() + (p.1 - 1.0).abs();
                assert!((d - 0.5).abs() < 1e-12, "{p:?}");
            }
        }
        // Saddle: two segments either way.
        assert_eq!(segments(&[1., 0., 0., 1.], 2, 2, false, 0.5).len(), 2);
        // A missing corner leaves the square out.
        assert!(segments(&[f32::NAN, 0., 1., 1.], 2, 2, false, 0.5).is_empty());
    }

    #[test]
    fn levels_are_multiples_inside_the_range() {
        assert_eq!(
            levels(&[993.0, 1011.0, f32::NAN], 4.0),
            [996.0, 1000.0, 1004.0, 1008.0]
        );
        assert_eq!(levels(&[996.0, 1000.0], 4.0), Vec::<f64>::new());
        assert!(levels(&[1.0, 2.0], 0.0).is_empty());
    }
}
