//! The least-squares slope of a series over time: how fast a figure (a process's resident
//! memory, say) grows once the noise of single readings is averaged out.

/// The slope of the least-squares line through `points` (seconds, value), in value per
/// minute; `None` with fewer than two points or all at the same time.
#[must_use]
pub fn slope_per_minute(points: &[(f64, f64)]) -> Option<f64> {
    if points.len() < 2 {
        return None;
    }
    let n = points.len() as f64;
    let mean_t = points.iter().map(|(t, _)| t).sum::<f64>() / n;
    let mean_v = points.iter().map(|(_, v)| v).sum::<f64>() / n;
    let (mut covariance, mut variance) = (0.0, 0.0);
    for (t, v) in points {
        covariance += (t - mean_t) * (v - mean_v);
        variance += (t - mean_t) * (t - mean_t);
    }
    (variance > 0.0).then(|| covariance / variance * 60.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_gives_its_slope_and_noise_averages_out() {
        // 2 per second is 120 per minute.
        let line: Vec<(f64, f64)> = (0..10)
            .map(|t| (f64::from(t), 5.0 + 2.0 * f64::from(t)))
            .collect();
        assert!((slope_per_minute(&line).unwrap() - 120.0).abs() < 1e-9);
        let flat = [(0.0, 1.0), (1.0, 3.0), (2.0, 1.0), (3.0, 3.0), (4.0, 2.0)];
        assert!(slope_per_minute(&flat).unwrap().abs() < 20.0);
        assert_eq!(slope_per_minute(&[(1.0, 1.0)]), None);
        assert_eq!(slope_per_minute(&[(1.0, 1.0), (1.0, 2.0)]), None);
    }
}
