//! Robust statistics: median, MAD, quantiles, robust scale with fallbacks, EWMA.
//!
//! Every function here takes finite values only; the public entry points of the crate
//! reject NaN and infinity before data reaches this module, so these functions do not
//! re-check (a non-finite input would only propagate, never panic).

use serde::{Deserialize, Serialize};

/// Consistency constant: `MAD / 0.6745` estimates the standard deviation of a normal
/// sample (0.6745 is the 75th percentile of the standard normal).
pub const MAD_CONSISTENCY: f64 = 0.6745;
/// `IQR / 1.349` estimates the standard deviation of a normal sample.
pub const IQR_CONSISTENCY: f64 = 1.349;
/// `1.253314 · MeanAD` estimates the standard deviation of a normal sample
/// (√(π/2); Iglewicz & Hoaglin's fallback when the MAD is zero).
pub const MEAN_AD_CONSISTENCY: f64 = 1.253_314;

/// Sorts a copy of `values` ascending (total order on finite floats).
#[must_use]
pub fn sorted(values: &[f64]) -> Vec<f64> {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v
}

/// Quantile of an ascending-sorted sample, Hyndman & Fan type 7 (R's default and
/// numpy's `linear`): with `h = (n − 1)·p`, the result is
/// `x[⌊h⌋] + (h − ⌊h⌋)·(x[⌊h⌋+1] − x[⌊h⌋])` (0-based).
///
/// Returns `None` for an empty sample or `p` outside `[0, 1]` (or NaN).
#[must_use]
pub fn quantile_sorted(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() || !(0.0..=1.0).contains(&p) {
        return None;
    }
    let h = (sorted.len() - 1) as f64 * p;
    let lo = h.floor();
    // `lo` is in [0, n-1] because p is in [0, 1].
    let i = lo as usize;
    let frac = h - lo;
    let a = sorted[i];
    match sorted.get(i + 1) {
        Some(&b) if frac > 0.0 => Some(a + frac * (b - a)),
        _ => Some(a),
    }
}

/// Median of an ascending-sorted sample (mean of the two middle values when `n` is even).
#[must_use]
pub fn median_sorted(sorted: &[f64]) -> Option<f64> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    if n % 2 == 1 {
        Some(sorted[n / 2])
    } else {
        Some(0.5 * (sorted[n / 2 - 1] + sorted[n / 2]))
    }
}

/// Median of an unsorted sample.
#[must_use]
pub fn median(values: &[f64]) -> Option<f64> {
    median_sorted(&sorted(values))
}

/// Median absolute deviation around the median (raw, not scaled by 1/0.6745).
#[must_use]
pub fn mad(values: &[f64]) -> Option<f64> {
    let m = median(values)?;
    let dev: Vec<f64> = values.iter().map(|x| (x - m).abs()).collect();
    median(&dev)
}

/// Mean absolute deviation around the median.
#[must_use]
pub fn mean_abs_dev(values: &[f64]) -> Option<f64> {
    let m = median(values)?;
    let n = values.len() as f64;
    Some(values.iter().map(|x| (x - m).abs()).sum::<f64>() / n)
}

/// Median of `|x − m|` over an ascending-sorted, non-empty sample, in O(n) without
/// allocating: the deviations are read in ascending order by walking outwards from `m`
/// with two cursors.
fn mad_sorted(sorted: &[f64], m: f64) -> f64 {
    let n = sorted.len();
    // First index at or above m; left cursor walks down from split-1, right up from split.
    let split = sorted.partition_point(|&x| x < m);
    let (mut lo, mut hi) = (split, split);
    let (want_a, want_b) = ((n - 1) / 2, n / 2);
    let (mut a, mut b) = (0.0, 0.0);
    for k in 0..=want_b {
        let left = (lo > 0).then(|| m - sorted[lo - 1]);
        let right = (hi < n).then(|| sorted[hi] - m);
        let d = match (left, right) {
            (Some(l), Some(r)) if l <= r => {
                lo -= 1;
                l
            }
            (Some(_), Some(r)) | (None, Some(r)) => {
                hi += 1;
                r
            }
            (Some(l), None) => {
                lo -= 1;
                l
            }
            (None, None) => break,
        };
        if k == want_a {
            a = d;
        }
        if k == want_b {
            b = d;
        }
    }
    0.5 * a + 0.5 * b
}

/// Which estimator produced a [`RobustScale`]'s `sigma`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ScaleMethod {
    /// `MAD / 0.6745` (the normal case).
    Mad,
    /// `IQR / 1.349`, used when the MAD is zero (more than half the sample ties at the
    /// median) but the quartiles differ.
    Iqr,
    /// `1.253314 · MeanAD`, used when MAD and IQR are both zero but the sample is not
    /// constant.
    MeanAbsDev,
    /// The metric's resolution floor, used when the sample is constant (or when every
    /// estimate above is smaller than the floor).
    Floor,
}

/// Location and scale of a sample, robust to outliers.
///
/// `sigma` is on the scale of a normal standard deviation, so the robust z-score
/// `0.6745·(x − median)/MAD` equals `(x − median)/sigma` when the MAD is positive.
///
/// Fallback when the MAD is zero, in order: `IQR/1.349`, then `1.253314·MeanAD`, then
/// the floor (the metric's resolution). The result is never below the floor, so a
/// z-score is always finite.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RobustScale {
    /// Sample median.
    pub median: f64,
    /// Raw MAD (unscaled).
    pub mad: f64,
    /// Normal-consistent scale actually used (never below the floor).
    pub sigma: f64,
    /// Estimator that produced `sigma`.
    pub method: ScaleMethod,
}

impl RobustScale {
    /// Estimates location and scale of an ascending-sorted sample; `floor` (> 0) is the
    /// smallest scale allowed. `None` for an empty sample.
    #[must_use]
    pub fn from_sorted(sorted: &[f64], floor: f64) -> Option<Self> {
        let median = median_sorted(sorted)?;
        let mad = mad_sorted(sorted, median);
        let (sigma, method) = if mad > 0.0 {
            (mad / MAD_CONSISTENCY, ScaleMethod::Mad)
        } else {
            let q1 = quantile_sorted(sorted, 0.25)?;
            let q3 = quantile_sorted(sorted, 0.75)?;
            let iqr = q3 - q1;
            if iqr > 0.0 {
                (iqr / IQR_CONSISTENCY, ScaleMethod::Iqr)
            } else {
                let mean_ad =
                    sorted.iter().map(|x| (x - median).abs()).sum::<f64>() / sorted.len() as f64;
                if mean_ad > 0.0 {
                    (MEAN_AD_CONSISTENCY * mean_ad, ScaleMethod::MeanAbsDev)
                } else {
                    (floor, ScaleMethod::Floor)
                }
            }
        };
        let (sigma, method) = if sigma < floor {
            (floor, ScaleMethod::Floor)
        } else {
            (sigma, method)
        };
        Some(Self {
            median,
            mad,
            sigma,
            method,
        })
    }

    /// Robust z-score of `x`: `(x − median)/sigma`.
    #[must_use]
    pub fn z(&self, x: f64) -> f64 {
        (x - self.median) / self.sigma
    }
}

/// Exponentially weighted mean and variance, updated one observation at a time.
///
/// With decay `λ` in `[0, 1)`: `mₜ = λ·mₜ₋₁ + (1−λ)·xₜ` and
/// `vₜ = λ·vₜ₋₁ + (1−λ)·(xₜ − mₜ₋₁)²`. The first observation sets `m₀ = x₀`, `v₀ = 0`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Ewma {
    lambda: f64,
    mean: f64,
    var: f64,
    count: u64,
}

impl Ewma {
    /// A new, empty EWMA with decay `lambda`; `None` unless `0 ≤ lambda < 1`.
    #[must_use]
    pub fn new(lambda: f64) -> Option<Self> {
        (0.0..1.0).contains(&lambda).then_some(Self {
            lambda,
            mean: 0.0,
            var: 0.0,
            count: 0,
        })
    }

    /// Folds in one observation.
    pub fn update(&mut self, x: f64) {
        if self.count == 0 {
            self.mean = x;
            self.var = 0.0;
        } else {
            let prev = self.mean;
            self.mean = self.lambda * prev + (1.0 - self.lambda) * x;
            self.var = self.lambda * self.var + (1.0 - self.lambda) * (x - prev) * (x - prev);
        }
        self.count = self.count.saturating_add(1);
    }

    /// The decay λ.
    #[must_use]
    pub fn lambda(&self) -> f64 {
        self.lambda
    }

    /// Current mean (`None` before the first observation).
    #[must_use]
    pub fn mean(&self) -> Option<f64> {
        (self.count > 0).then_some(self.mean)
    }

    /// Current variance (`None` before the first observation).
    #[must_use]
    pub fn variance(&self) -> Option<f64> {
        (self.count > 0).then_some(self.var)
    }

    /// Number of observations folded in.
    #[must_use]
    pub fn count(&self) -> u64 {
        self.count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn median_known_answers() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[5.0]), Some(5.0));
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[-1.0, 10.0]), Some(4.5));
    }

    #[test]
    fn mad_known_answers() {
        // median 2, deviations {1,1,0,0,2,4,7} -> median 1
        assert_eq!(mad(&[1.0, 1.0, 2.0, 2.0, 4.0, 6.0, 9.0]), Some(1.0));
        assert_eq!(mad(&[7.0, 7.0, 7.0]), Some(0.0));
        // median 3.5, deviations {2.5,1.5,0.5,0.5,1.5,96.5} -> median 1.5
        assert_eq!(mad(&[1.0, 2.0, 3.0, 4.0, 5.0, 100.0]), Some(1.5));
        // median 2, |x-2| = {1,0,1,8} -> mean 2.5
        assert_eq!(mean_abs_dev(&[1.0, 2.0, 3.0, 10.0]), Some(2.5));
    }

    #[test]
    fn quantile_type7_known_answers() {
        let x = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(quantile_sorted(&x, 0.0), Some(1.0));
        assert_eq!(quantile_sorted(&x, 1.0), Some(5.0));
        assert_eq!(quantile_sorted(&x, 0.5), Some(3.0));
        // h = 4*0.25 = 1 -> 2; h = 4*0.9 = 3.6 -> 4 + 0.6 = 4.6
        assert_eq!(quantile_sorted(&x, 0.25), Some(2.0));
        assert!(close(quantile_sorted(&x, 0.9).unwrap_or(f64::NAN), 4.6));
        // n = 4: h = 3*0.25 = 0.75 -> 10 + 0.75*10 = 17.5 (R: quantile(c(10,20,30,40), .25))
        let y = [10.0, 20.0, 30.0, 40.0];
        assert!(close(quantile_sorted(&y, 0.25).unwrap_or(f64::NAN), 17.5));
        assert_eq!(quantile_sorted(&y, 1.5), None);
        assert_eq!(quantile_sorted(&[], 0.5), None);
    }

    #[test]
    fn robust_scale_fallback_chain() {
        // MAD > 0
        let s = RobustScale::from_sorted(&[1.0, 2.0, 3.0, 4.0, 100.0], 0.01).unwrap();
        assert_eq!(s.method, ScaleMethod::Mad);
        assert_eq!(s.median, 3.0);
        assert_eq!(s.mad, 1.0);
        assert!(close(s.z(4.0), MAD_CONSISTENCY));
        // MAD = 0 (3 of 5 tie at median) but IQR: q1 = 1 (h=1), q3 = 1 (h=3) -> 0; MeanAD > 0.
        let t = RobustScale::from_sorted(&[0.0, 1.0, 1.0, 1.0, 6.0], 0.01).unwrap();
        assert_eq!(t.mad, 0.0);
        assert_eq!(t.method, ScaleMethod::MeanAbsDev);
        assert!(close(t.sigma, MEAN_AD_CONSISTENCY * 6.0 / 5.0));
        // MAD = 0 and IQR > 0: [0,0,0,5,5,5,5]? median 5, dev {5,5,5,0,0,0,0} -> MAD 0;
        // q1: h = 1.5 -> 0, q3: h = 4.5 -> 5 -> IQR 5.
        let u = RobustScale::from_sorted(&[0.0, 0.0, 0.0, 5.0, 5.0, 5.0, 5.0], 0.01).unwrap();
        assert_eq!(u.method, ScaleMethod::Iqr);
        assert!(close(u.sigma, 5.0 / IQR_CONSISTENCY));
        // constant sample -> floor
        let v = RobustScale::from_sorted(&[2.0, 2.0, 2.0], 0.5).unwrap();
        assert_eq!(v.method, ScaleMethod::Floor);
        assert_eq!(v.sigma, 0.5);
        assert_eq!(v.z(3.0), 2.0);
        // tiny MAD below the floor -> floor
        let w = RobustScale::from_sorted(&[1.0, 1.001, 1.002], 1.0).unwrap();
        assert_eq!(w.method, ScaleMethod::Floor);
        assert!(RobustScale::from_sorted(&[], 1.0).is_none());
    }

    #[test]
    fn two_cursor_mad_matches_sorting() {
        let samples: [&[f64]; 6] = [
            &[1.0],
            &[1.0, 5.0],
            &[0.0, 0.0, 0.0, 7.0],
            &[-3.0, -1.0, 2.0, 2.0, 9.0, 40.0],
            &[1.0, 2.0, 3.0, 4.0, 5.0, 100.0],
            &[0.5, 0.5, 0.5, 0.5, 0.5],
        ];
        for x in samples {
            let s = sorted(x);
            let m = median_sorted(&s).unwrap_or(f64::NAN);
            assert_eq!(Some(mad_sorted(&s, m)), mad(x), "{x:?}");
        }
    }

    #[test]
    fn ewma_known_answers() {
        assert!(Ewma::new(1.0).is_none());
        assert!(Ewma::new(-0.1).is_none());
        let mut e = Ewma::new(0.5).unwrap();
        assert_eq!(e.mean(), None);
        e.update(2.0);
        assert_eq!((e.mean(), e.variance()), (Some(2.0), Some(0.0)));
        e.update(4.0);
        // m = 0.5*2 + 0.5*4 = 3; v = 0 + 0.5*(4-2)^2 = 2
        assert_eq!((e.mean(), e.variance()), (Some(3.0), Some(2.0)));
        e.update(0.0);
        // m = 1.5; v = 0.5*2 + 0.5*(0-3)^2 = 5.5
        assert_eq!((e.mean(), e.variance()), (Some(1.5), Some(5.5)));
        assert_eq!(e.count(), 3);
    }
}
