//! Calibration of the raw confidence into a probability, and reliability tables.
//!
//! The raw confidence of a [`Scored`](crate::Scored) observation,
//! `(1 − q)·√(days/max_days)`, orders observations by evidence but is not a probability.
//! [`Calibration::fit`] learns a monotone map from raw confidence to the observed hit
//! rate on labelled data (for example simulator days with planted flow, where the truth
//! says which windows carry it) by isotonic regression (pool adjacent violators).
//! [`reliability`] reports predicted versus observed hit rate per equal-count bin
//! (deciles with `bins = 10`), which is how a calibration is checked on held-out data.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A monotone non-decreasing step map from raw confidence to probability.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Calibration {
    /// `(largest raw value of the block, hit rate of the block)`, ascending.
    blocks: Vec<(f64, f64)>,
    skipped: usize,
}

impl Calibration {
    /// The identity map (raw confidence clamped to `[0, 1]`).
    #[must_use]
    pub fn identity() -> Self {
        Self::default()
    }

    /// Fits the map on `(raw confidence, hit)` pairs. Pairs with a non-finite raw value
    /// are skipped and counted in [`skipped`](Self::skipped).
    ///
    /// # Errors
    /// [`Error::EmptyCalibration`] when no finite pair is given.
    pub fn fit(samples: &[(f64, bool)]) -> Result<Self> {
        let mut pts: Vec<(f64, bool)> = samples
            .iter()
            .copied()
            .filter(|(r, _)| r.is_finite())
            .collect();
        let skipped = samples.len() - pts.len();
        if pts.is_empty() {
            return Err(Error::EmptyCalibration);
        }
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        // Pool adjacent violators: blocks of (max raw, sum of hits, count).
        let mut blocks: Vec<(f64, f64, f64)> = Vec::new();
        for (r, hit) in pts {
            let y = if hit { 1.0 } else { 0.0 };
            match blocks.last_mut() {
                // Equal raw values always share a block.
                Some(last) if last.0 == r => {
                    last.1 += y;
                    last.2 += 1.0;
                }
                _ => blocks.push((r, y, 1.0)),
            }
            while blocks.len() >= 2 {
                let n = blocks.len();
                let (a, b) = (blocks[n - 2], blocks[n - 1]);
                if a.1 / a.2 > b.1 / b.2 {
                    blocks[n - 2] = (b.0, a.1 + b.1, a.2 + b.2);
                    blocks.pop();
                } else {
                    break;
                }
            }
        }
        Ok(Self {
            blocks: blocks.into_iter().map(|(r, s, n)| (r, s / n)).collect(),
            skipped,
        })
    }

    /// Pairs skipped by [`fit`](Self::fit) for a non-finite raw value.
    #[must_use]
    pub fn skipped(&self) -> usize {
        self.skipped
    }

    /// Maps a raw confidence to a probability in `[0, 1]` (NaN maps to 0).
    #[must_use]
    pub fn apply(&self, raw: f64) -> f64 {
        if raw.is_nan() {
            return 0.0;
        }
        if self.blocks.is_empty() {
            return raw.clamp(0.0, 1.0);
        }
        let i = self.blocks.partition_point(|&(hi, _)| hi < raw);
        let i = i.min(self.blocks.len() - 1);
        self.blocks[i].1.clamp(0.0, 1.0)
    }
}

/// One bin of a reliability table.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ReliabilityBin {
    /// Smallest predicted value in the bin.
    pub lo: f64,
    /// Largest predicted value in the bin.
    pub hi: f64,
    /// Pairs in the bin.
    pub count: usize,
    /// Mean predicted probability.
    pub mean_predicted: f64,
    /// Observed share of hits.
    pub hit_rate: f64,
}

/// Reliability table: `(predicted, hit)` pairs sorted by prediction and cut into `bins`
/// bins of (nearly) equal count; non-finite predictions are left out. Empty when there
/// is no pair or `bins` is 0.
#[must_use]
pub fn reliability(samples: &[(f64, bool)], bins: usize) -> Vec<ReliabilityBin> {
    let mut pts: Vec<(f64, bool)> = samples
        .iter()
        .copied()
        .filter(|(r, _)| r.is_finite())
        .collect();
    if pts.is_empty() || bins == 0 {
        return Vec::new();
    }
    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    let n = pts.len();
    let bins = bins.min(n);
    (0..bins)
        .map(|b| {
            let chunk = &pts[b * n / bins..(b + 1) * n / bins];
            let count = chunk.len();
            let c = count as f64;
            ReliabilityBin {
                lo: chunk.first().map_or(0.0, |p| p.0),
                hi: chunk.last().map_or(0.0, |p| p.0),
                count,
                mean_predicted: chunk.iter().map(|p| p.0).sum::<f64>() / c,
                hit_rate: chunk.iter().filter(|p| p.1).count() as f64 / c,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pava_known_answer() {
        // raw: .1 (0), .2 (1), .3 (0), .4 (1), .5 (1)
        // blocks: [.1:0] [.2:1] then .3:0 violates -> pool {.2,.3} = .5; .4:1, .5:1
        let s = [
            (0.3, false),
            (0.1, false),
            (0.5, true),
            (0.2, true),
            (0.4, true),
        ];
        let c = Calibration::fit(&s).expect("fit");
        assert_eq!(c.apply(0.05), 0.0);
        assert_eq!(c.apply(0.1), 0.0);
        assert_eq!(c.apply(0.25), 0.5);
        assert_eq!(c.apply(0.45), 1.0);
        assert_eq!(c.apply(2.0), 1.0);
        assert_eq!(c.apply(f64::NAN), 0.0);
        assert!(matches!(
            Calibration::fit(&[(f64::NAN, true)]),
            Err(Error::EmptyCalibration)
        ));
        assert_eq!(Calibration::identity().apply(1.7), 1.0);
    }

    #[test]
    fn reliability_known_answer() {
        let s: Vec<(f64, bool)> = (0..10).map(|i| (f64::from(i) / 10.0, i >= 7)).collect();
        let r = reliability(&s, 2);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].count, 5);
        assert_eq!(r[0].hit_rate, 0.0);
        assert!((r[1].hit_rate - 0.6).abs() < 1e-12);
        assert!((r[1].mean_predicted - 0.7).abs() < 1e-12);
        assert!(reliability(&s, 0).is_empty());
    }
}
