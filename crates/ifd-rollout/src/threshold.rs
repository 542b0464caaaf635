//! Adaptive confidence thresholds steered toward a target precision.
//!
//! Each detector's threshold `θ` is moved from resolved outcomes of its signals (and of
//! sub-threshold candidates, when the engine records them in shadow):
//!
//! 1. Only the last [`ThresholdConfig::window`] valid outcomes are kept. An outcome
//!    whose confidence is missing, NaN, infinite or outside `[0, 1]`, or whose label is
//!    missing, is skipped and counted: it never moves a threshold.
//! 2. Nothing happens until [`ThresholdConfig::min_samples`] outcomes arrived since the
//!    last change *and* at least that many of the window have confidence `≥ θ`.
//! 3. `precision(t)` = wins / outcomes among those with confidence `≥ t`. With the
//!    hysteresis band `h`: if `precision(θ) < target − h` the threshold rises, if
//!    `precision(θ) > target + h` it falls; inside the band it stays.
//! 4. Rising goes to the lowest observed confidence `t > θ` with at least `min_samples`
//!    outcomes and `precision(t) ≥ target` (or by a full step if there is none); falling
//!    goes to the lowest observed `t < θ` with the same property (no move if none).
//!    Either way by at most [`ThresholdConfig::max_step`] and inside `[min, max]`.
//! 5. Every change is appended to the audit log with its time, the precision and sample
//!    count that justified it.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::outcome::Label;
use crate::stats::lossy_u64;
use crate::types::{Nanos, Variant};

/// How a threshold adapts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ThresholdConfig {
    /// Starting threshold.
    pub initial: f64,
    /// Lowest allowed threshold.
    pub min: f64,
    /// Highest allowed threshold.
    pub max: f64,
    /// Precision aimed at.
    pub target_precision: f64,
    /// Half-width of the dead band around the target.
    pub hysteresis: f64,
    /// Largest single move.
    pub max_step: f64,
    /// Samples needed since the last change, and at or above the threshold.
    pub min_samples: u64,
    /// Outcomes kept.
    pub window: usize,
}

impl Default for ThresholdConfig {
    /// θ₀ = 0.7 in `[0.5, 0.95]`, target precision 0.75 ± 0.03, steps ≤ 0.05, 50
    /// samples, window of 500.
    fn default() -> Self {
        Self {
            initial: 0.7,
            min: 0.5,
            max: 0.95,
            target_precision: 0.75,
            hysteresis: 0.03,
            max_step: 0.05,
            min_samples: 50,
            window: 500,
        }
    }
}

impl ThresholdConfig {
    /// Checks the configuration.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when a value is not finite, the bounds are not ordered
    /// inside `[0, 1]` around `initial`, the step is not positive, or the window is
    /// smaller than `min_samples`.
    pub fn validate(&self) -> Result<()> {
        let finite = [
            self.initial,
            self.min,
            self.max,
            self.target_precision,
            self.hysteresis,
            self.max_step,
        ];
        if finite.iter().any(|x| !x.is_finite()) {
            return Err(Error::InvalidConfig {
                field: "threshold",
                problem: "has a non-finite value",
            });
        }
        if !(0.0 <= self.min
            && self.min <= self.initial
            && self.initial <= self.max
            && self.max <= 1.0)
        {
            return Err(Error::InvalidConfig {
                field: "min/initial/max",
                problem: "must satisfy 0 <= min <= initial <= max <= 1",
            });
        }
        if !(self.target_precision > 0.0 && self.target_precision < 1.0) {
            return Err(Error::InvalidConfig {
                field: "target_precision",
                problem: "must lie in (0, 1)",
            });
        }
        if self.hysteresis < 0.0 {
            return Err(Error::InvalidConfig {
                field: "hysteresis",
                problem: "is negative",
            });
        }
        if self.max_step <= 0.0 {
            return Err(Error::InvalidConfig {
                field: "max_step",
                problem: "must be positive",
            });
        }
        if self.min_samples == 0 || (self.window as u64) < self.min_samples {
            return Err(Error::InvalidConfig {
                field: "window",
                problem: "must hold at least min_samples >= 1",
            });
        }
        Ok(())
    }
}

/// Why a threshold moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChangeReason {
    /// Precision fell below the band: fewer, better signals.
    PrecisionBelowTarget,
    /// Precision rose above the band: more signals at the target precision.
    PrecisionAboveTarget,
}

/// An audit record of one threshold change.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ThresholdChange {
    /// When.
    pub at: Nanos,
    /// Whose threshold.
    pub detector: Variant,
    /// Before.
    pub from: f64,
    /// After.
    pub to: f64,
    /// Why.
    pub reason: ChangeReason,
    /// Precision at `from` that triggered it.
    pub precision: f64,
    /// Outcomes at or above `from` behind that precision.
    pub samples: u64,
}

/// One detector's adaptive threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdaptiveThreshold {
    detector: Variant,
    config: ThresholdConfig,
    current: f64,
    window: VecDeque<(f64, bool)>,
    since_change: u64,
    skipped_invalid: u64,
    audit: Vec<ThresholdChange>,
}

impl AdaptiveThreshold {
    /// A threshold for `detector`, starting at `config.initial`.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] as [`ThresholdConfig::validate`].
    pub fn new(detector: Variant, config: ThresholdConfig) -> Result<Self> {
        config.validate()?;
        Ok(Self {
            detector,
            config,
            current: config.initial,
            window: VecDeque::with_capacity(config.window),
            since_change: 0,
            skipped_invalid: 0,
            audit: Vec::new(),
        })
    }

    /// The current threshold.
    #[must_use]
    pub const fn current(&self) -> f64 {
        self.current
    }

    /// Every change so far, oldest first.
    #[must_use]
    pub fn audit(&self) -> &[ThresholdChange] {
        &self.audit
    }

    /// Outcomes skipped because an input was missing or invalid.
    #[must_use]
    pub const fn skipped_invalid(&self) -> u64 {
        self.skipped_invalid
    }

    /// One resolved outcome; returns whether it was taken.
    pub fn observe(&mut self, confidence: Option<f64>, label: Option<Label>) -> bool {
        let (Some(c), Some(l)) = (confidence, label) else {
            self.skipped_invalid += 1;
            return false;
        };
        if !c.is_finite() || !(0.0..=1.0).contains(&c) {
            self.skipped_invalid += 1;
            return false;
        }
        if self.window.len() == self.config.window {
            self.window.pop_front();
        }
        self.window.push_back((c, l == Label::Win));
        self.since_change += 1;
        true
    }

    /// Precision (wins over outcomes) among the window's outcomes with confidence `≥ t`,
    /// with their count.
    #[must_use]
    pub fn precision_at(&self, t: f64) -> (Option<f64>, u64) {
        let (n, w) = self
            .window
            .iter()
            .filter(|(c, _)| *c >= t)
            .fold((0_u64, 0_u64), |(n, w), (_, win)| {
                (n + 1, w + u64::from(*win))
            });
        ((n > 0).then(|| lossy_u64(w) / lossy_u64(n)), n)
    }

    /// Applies the rule of the [module docs](self) at `now`; returns the change, if any.
    pub fn evaluate(&mut self, now: Nanos) -> Option<ThresholdChange> {
        let cfg = self.config;
        if self.since_change < cfg.min_samples {
            return None;
        }
        let (precision, samples) = self.precision_at(self.current);
        let precision = precision?;
        if samples < cfg.min_samples {
            return None;
        }
        // Candidate thresholds: observed confidences with their precision and count.
        let mut sorted: Vec<(f64, bool)> = self.window.iter().copied().collect();
        sorted.sort_by(|a, b| b.0.total_cmp(&a.0));
        let mut candidates: Vec<(f64, f64, u64)> = Vec::new();
        let (mut n, mut w) = (0_u64, 0_u64);
        for (i, &(c, win)) in sorted.iter().enumerate() {
            n += 1;
            w += u64::from(win);
            let last_of_value = sorted.get(i + 1).is_none_or(|next| next.0 < c);
            if last_of_value {
                candidates.push((c, lossy_u64(w) / lossy_u64(n), n));
            }
        }
        let good =
            |&&(_, p, n): &&(f64, f64, u64)| n >= cfg.min_samples && p >= cfg.target_precision;
        let (to, reason) = if precision < cfg.target_precision - cfg.hysteresis {
            let desired = candidates
                .iter()
                .filter(|(t, _, _)| *t > self.current)
                .filter(good)
                .map(|(t, _, _)| *t)
                .fold(f64::INFINITY, f64::min);
            let to = desired.min(self.current + cfg.max_step).min(cfg.max);
            (to, ChangeReason::PrecisionBelowTarget)
        } else if precision > cfg.target_precision + cfg.hysteresis {
            let desired = candidates
                .iter()
                .filter(|(t, _, _)| *t < self.current)
                .filter(good)
                .map(|(t, _, _)| *t)
                .fold(f64::INFINITY, f64::min);
            if !desired.is_finite() {
                return None;
            }
            let to = desired.max(self.current - cfg.max_step).max(cfg.min);
            (to, ChangeReason::PrecisionAboveTarget)
        } else {
            return None;
        };
        if !to.is_finite() || (to - self.current).abs() < 1e-12 {
            return None;
        }
        let change = ThresholdChange {
            at: now,
            detector: self.detector,
            from: self.current,
            to,
            reason,
            precision,
            samples,
        };
        self.current = to;
        self.since_change = 0;
        self.audit.push(change);
        Some(change)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> ThresholdConfig {
        ThresholdConfig {
            min_samples: 10,
            window: 100,
            ..ThresholdConfig::default()
        }
    }

    #[test]
    fn low_precision_raises_by_at_most_one_step() {
        let mut t = AdaptiveThreshold::new(Variant::V3, cfg()).unwrap();
        // 20 outcomes at 0.72, 40% wins: precision 0.4 < 0.72.
        for i in 0..20 {
            t.observe(
                Some(0.72),
                Some(if i % 5 < 2 { Label::Win } else { Label::Loss }),
            );
        }
        let ch = t.evaluate(1).unwrap();
        assert_eq!(ch.reason, ChangeReason::PrecisionBelowTarget);
        assert!((ch.to - 0.75).abs() < 1e-12, "{ch:?}");
        assert!((ch.precision - 0.4).abs() < 1e-12);
        assert_eq!(ch.samples, 20);
        // No new samples since the change: nothing moves.
        assert!(t.evaluate(2).is_none());
        assert_eq!(t.audit().len(), 1);
    }

    #[test]
    fn inside_the_band_nothing_moves() {
        let mut t = AdaptiveThreshold::new(Variant::V1, cfg()).unwrap();
        for i in 0..40 {
            // 30 of 40 wins = 0.75 exactly.
            t.observe(
                Some(0.8),
                Some(if i % 4 == 0 { Label::Loss } else { Label::Win }),
            );
        }
        assert!(t.evaluate(1).is_none());
        assert!((t.current() - 0.7).abs() < 1e-12);
    }

    #[test]
    fn high_precision_lowers_to_the_lowest_good_candidate() {
        let mut t = AdaptiveThreshold::new(Variant::V3, cfg()).unwrap();
        for _ in 0..20 {
            t.observe(Some(0.9), Some(Label::Win));
        }
        // Sub-threshold candidates at 0.68 that are still good (8 of 10 wins).
        for i in 0..10 {
            t.observe(
                Some(0.68),
                Some(if i < 8 { Label::Win } else { Label::Loss }),
            );
        }
        let ch = t.evaluate(5).unwrap();
        assert_eq!(ch.reason, ChangeReason::PrecisionAboveTarget);
        assert!((ch.to - 0.68).abs() < 1e-12, "{ch:?}");
    }

    #[test]
    fn invalid_inputs_never_move_a_threshold() {
        let mut t = AdaptiveThreshold::new(Variant::V3, cfg()).unwrap();
        for _ in 0..100 {
            assert!(!t.observe(Some(f64::NAN), Some(Label::Loss)));
            assert!(!t.observe(Some(f64::INFINITY), Some(Label::Loss)));
            assert!(!t.observe(Some(1.5), Some(Label::Loss)));
            assert!(!t.observe(None, Some(Label::Loss)));
            assert!(!t.observe(Some(0.8), None));
        }
        assert!(t.evaluate(1).is_none());
        assert_eq!(t.skipped_invalid(), 500);
        assert!((t.current() - 0.7).abs() < 1e-12);
    }

    #[test]
    fn bounds_hold() {
        let mut t =
            AdaptiveThreshold::new(Variant::V3, ThresholdConfig { max: 0.72, ..cfg() }).unwrap();
        for _ in 0..20 {
            t.observe(Some(0.8), Some(Label::Loss));
        }
        assert!((t.evaluate(1).unwrap().to - 0.72).abs() < 1e-12);
        for _ in 0..20 {
            t.observe(Some(0.8), Some(Label::Loss));
        }
        assert!(t.evaluate(2).is_none(), "already at max");
    }
}
