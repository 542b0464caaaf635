//! Streaming statistics and sequential two-arm tests that stay valid under continuous
//! monitoring.
//!
//! # The sequential test
//! Both tests are a *mixture sequential probability ratio test* (mSPRT, Robbins 1970;
//! the A/B form of Johari, Pekelis and Walsh, "Always valid inference", 2017) on the
//! difference of arm means `Δ = mean(v3) − mean(v1)` with the normal approximation:
//!
//! - `V = s²(v1)/n(v1) + s²(v3)/n(v3)` is the variance of the observed difference `Δ̂`;
//! - the mixing distribution over the alternative is `N(0, τ²)` with `τ = ρ·σ_pooled`,
//!   `ρ` being [`SequentialConfig::mixing_effect`] (a standardised effect size);
//! - the statistic is `Λ = sqrt(V/(V+τ²)) · exp(Δ̂²τ² / (2V(V+τ²)))`;
//! - the always-valid p-value is the running minimum of `min(1, 1/Λ)` over every
//!   observation since both arms reached [`SequentialConfig::min_samples_per_arm`];
//!   H0 (`Δ = 0`) is rejected the first time it falls to `α`, and the decision then
//!   stays (the test has stopped);
//! - the `1 − α` confidence sequence is
//!   `Δ̂ ± sqrt(2V(V+τ²)/τ² · (ln(1/α) + ½ ln((V+τ²)/V)))`.
//!
//! Because Λ is a non-negative martingale under H0, `P(ever Λ ≥ 1/α) ≤ α` however often
//! the result is looked at (Ville's inequality); the plug-in variance makes this hold
//! asymptotically, and the integration tests measure it on simulated null data.
//! For proportions each arm's variance uses the Laplace-smoothed rate
//! `(s+1)/(n+2)` so that an arm with all successes does not give `V = 0`.

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, StudentsT};

use crate::error::{Error, Result};
use crate::types::Variant;

/// Count, mean and sum of squared deviations (Welford), for finite `f64` samples.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct RunningStats {
    n: u64,
    mean: f64,
    m2: f64,
}

impl RunningStats {
    /// Adds a sample. Returns `false` (and changes nothing) when it is NaN or infinite.
    pub fn push(&mut self, x: f64) -> bool {
        if !x.is_finite() {
            return false;
        }
        self.n += 1;
        let delta = x - self.mean;
        self.mean += delta / lossy_u64(self.n);
        self.m2 += delta * (x - self.mean);
        true
    }

    /// Number of samples.
    #[must_use]
    pub const fn count(&self) -> u64 {
        self.n
    }

    /// Mean, or `None` with no sample.
    #[must_use]
    pub fn mean(&self) -> Option<f64> {
        (self.n > 0).then_some(self.mean)
    }

    /// Unbiased sample variance, or `None` with fewer than two samples.
    #[must_use]
    pub fn variance(&self) -> Option<f64> {
        (self.n > 1).then(|| (self.m2 / lossy_u64(self.n - 1)).max(0.0))
    }

    /// Sample standard deviation, or `None` with fewer than two samples.
    #[must_use]
    pub fn std_dev(&self) -> Option<f64> {
        self.variance().map(f64::sqrt)
    }
}

/// `u64` to `f64`; exact below 2^53, rounded above (counts never get there).
#[must_use]
#[allow(
    clippy::cast_precision_loss,
    reason = "the name says it is lossy; counts stay far below 2^53"
)]
pub fn lossy_u64(x: u64) -> f64 {
    x as f64
}

/// A mean with a two-sided Student-t confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MeanCi {
    /// Sample count.
    pub n: u64,
    /// Sample mean.
    pub mean: f64,
    /// Lower bound.
    pub lower: f64,
    /// Upper bound.
    pub upper: f64,
    /// Confidence level, e.g. 0.95.
    pub level: f64,
}

/// The `level` Student-t interval for the mean of `stats`; `None` with fewer than two
/// samples or a `level` outside `(0, 1)`.
#[must_use]
pub fn mean_ci(stats: &RunningStats, level: f64) -> Option<MeanCi> {
    if !(level > 0.0 && level < 1.0) {
        return None;
    }
    let mean = stats.mean()?;
    let sd = stats.std_dev()?;
    let df = lossy_u64(stats.count() - 1);
    let t = StudentsT::new(0.0, 1.0, df)
        .ok()?
        .inverse_cdf(0.5 + level / 2.0);
    let half = t * sd / lossy_u64(stats.count()).sqrt();
    Some(MeanCi {
        n: stats.count(),
        mean,
        lower: mean - half,
        upper: mean + half,
        level,
    })
}

/// Parameters of the sequential tests.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SequentialConfig {
    /// Type I error bound over the whole, continuously monitored, experiment.
    pub alpha: f64,
    /// Standard deviation of the mixing distribution in units of the pooled standard
    /// deviation (a standardised effect size; 0.2 is Cohen's "small").
    pub mixing_effect: f64,
    /// No evidence is accumulated before each arm has this many samples.
    pub min_samples_per_arm: u64,
}

impl Default for SequentialConfig {
    /// `α = 0.05`, `ρ = 0.2`, 30 samples per arm.
    fn default() -> Self {
        Self {
            alpha: 0.05,
            mixing_effect: 0.2,
            min_samples_per_arm: 30,
        }
    }
}

impl SequentialConfig {
    /// Checks the configuration.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when `alpha` is not in `(0, 1)`, `mixing_effect` is not
    /// finite and positive, or `min_samples_per_arm < 2`.
    pub fn validate(&self) -> Result<()> {
        if !(self.alpha > 0.0 && self.alpha < 1.0) {
            return Err(Error::InvalidConfig {
                field: "alpha",
                problem: "must lie in (0, 1)",
            });
        }
        if !(self.mixing_effect.is_finite() && self.mixing_effect > 0.0) {
            return Err(Error::InvalidConfig {
                field: "mixing_effect",
                problem: "must be finite and positive",
            });
        }
        if self.min_samples_per_arm < 2 {
            return Err(Error::InvalidConfig {
                field: "min_samples_per_arm",
                problem: "must be at least 2",
            });
        }
        Ok(())
    }
}

/// The verdict of a sequential test (higher is better for v3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Decision {
    /// H0 rejected with v3 above v1.
    V3Better,
    /// H0 rejected with v3 below v1.
    V3Worse,
    /// Not enough evidence yet (the test continues).
    NoDifferenceYet,
}

/// A snapshot of a sequential test.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SequentialResult {
    /// Samples in v1.
    pub n_v1: u64,
    /// Samples in v3.
    pub n_v3: u64,
    /// Mean of v1 (a rate for proportions), `None` with no sample.
    pub mean_v1: Option<f64>,
    /// Mean of v3.
    pub mean_v3: Option<f64>,
    /// `mean_v3 − mean_v1`.
    pub difference: Option<f64>,
    /// Standardised effect: Cohen's d for means, Cohen's h for proportions.
    pub effect_size: Option<f64>,
    /// Always-valid `1 − α` confidence sequence for the difference, at this moment.
    pub ci: Option<(f64, f64)>,
    /// Always-valid p-value (running minimum).
    pub p_value: f64,
    /// The decision.
    pub decision: Decision,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Core {
    config: SequentialConfig,
    arms: [RunningStats; 2],
    successes: [u64; 2],
    p_value: f64,
    decided: Option<Decision>,
    skipped_non_finite: u64,
}

const fn arm_index(v: Variant) -> usize {
    match v {
        Variant::V1 => 0,
        Variant::V3 => 1,
    }
}

struct Evidence {
    diff: f64,
    v: f64,
    tau2: f64,
}

impl Core {
    fn new(config: SequentialConfig) -> Result<Self> {
        config.validate()?;
        Ok(Self {
            config,
            arms: [RunningStats::default(); 2],
            successes: [0; 2],
            p_value: 1.0,
            decided: None,
            skipped_non_finite: 0,
        })
    }

    fn arm_variance(&self, i: usize, proportion: bool) -> Option<f64> {
        if proportion {
            let n = lossy_u64(self.arms[i].count());
            let p = (lossy_u64(self.successes[i]) + 1.0) / (n + 2.0);
            Some(p * (1.0 - p))
        } else {
            self.arms[i].variance()
        }
    }

    fn evidence(&self, proportion: bool) -> Option<Evidence> {
        let [a, b] = &self.arms;
        if a.count() < self.config.min_samples_per_arm
            || b.count() < self.config.min_samples_per_arm
        {
            return None;
        }
        let (va, vb) = (
            self.arm_variance(0, proportion)?,
            self.arm_variance(1, proportion)?,
        );
        let (na, nb) = (lossy_u64(a.count()), lossy_u64(b.count()));
        let v = va / na + vb / nb;
        let pooled = ((na - 1.0) * va + (nb - 1.0) * vb) / (na + nb - 2.0);
        let tau2 = self.config.mixing_effect.powi(2) * pooled;
        let diff = b.mean()? - a.mean()?;
        (v.is_finite() && v > 0.0 && tau2.is_finite() && tau2 > 0.0 && diff.is_finite())
            .then_some(Evidence { diff, v, tau2 })
    }

    fn update(&mut self, proportion: bool) {
        if self.decided.is_some() {
            return;
        }
        let Some(Evidence { diff, v, tau2 }) = self.evidence(proportion) else {
            return;
        };
        let log_lambda = 0.5 * (v / (v + tau2)).ln() + diff * diff * tau2 / (2.0 * v * (v + tau2));
        let p = (-log_lambda).exp().min(1.0);
        if p.is_finite() && p < self.p_value {
            self.p_value = p;
        }
        if self.p_value <= self.config.alpha {
            self.decided = Some(if diff > 0.0 {
                Decision::V3Better
            } else {
                Decision::V3Worse
            });
        }
    }

    fn result(&self, proportion: bool) -> SequentialResult {
        let [a, b] = &self.arms;
        let (mean_v1, mean_v3) = (a.mean(), b.mean());
        let difference = mean_v1.zip(mean_v3).map(|(x, y)| y - x);
        let effect_size = if proportion {
            mean_v1
                .zip(mean_v3)
                .map(|(p1, p3)| 2.0 * p3.sqrt().asin() - 2.0 * p1.sqrt().asin())
        } else {
            match (difference, a.variance(), b.variance()) {
                (Some(d), Some(va), Some(vb)) => {
                    let (na, nb) = (lossy_u64(a.count()), lossy_u64(b.count()));
                    let pooled = (((na - 1.0) * va + (nb - 1.0) * vb) / (na + nb - 2.0)).sqrt();
                    (pooled > 0.0).then(|| d / pooled)
                }
                _ => None,
            }
        };
        let ci = self.evidence(proportion).map(|Evidence { diff, v, tau2 }| {
            let radius = (2.0 * v * (v + tau2) / tau2
                * ((1.0 / self.config.alpha).ln() + 0.5 * ((v + tau2) / v).ln()))
            .sqrt();
            (diff - radius, diff + radius)
        });
        SequentialResult {
            n_v1: a.count(),
            n_v3: b.count(),
            mean_v1,
            mean_v3,
            difference,
            effect_size,
            ci,
            p_value: self.p_value,
            decision: self.decided.unwrap_or(Decision::NoDifferenceYet),
        }
    }
}

/// Sequential test on a success rate (e.g. accuracy), v3 against v1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProportionTest {
    core: Core,
}

impl ProportionTest {
    /// A new test.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] as [`SequentialConfig::validate`].
    pub fn new(config: SequentialConfig) -> Result<Self> {
        Ok(Self {
            core: Core::new(config)?,
        })
    }

    /// Adds one trial of `arm`.
    pub fn observe(&mut self, arm: Variant, success: bool) {
        let i = arm_index(arm);
        self.core.arms[i].push(if success { 1.0 } else { 0.0 });
        self.core.successes[i] += u64::from(success);
        self.core.update(true);
    }

    /// The current state of the test.
    #[must_use]
    pub fn result(&self) -> SequentialResult {
        self.core.result(true)
    }
}

/// Sequential test on a mean (e.g. P&L per signal), v3 against v1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeanTest {
    core: Core,
}

impl MeanTest {
    /// A new test.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] as [`SequentialConfig::validate`].
    pub fn new(config: SequentialConfig) -> Result<Self> {
        Ok(Self {
            core: Core::new(config)?,
        })
    }

    /// Adds one sample of `arm`. NaN and infinite samples are skipped, counted, and
    /// `false` is returned.
    pub fn observe(&mut self, arm: Variant, value: f64) -> bool {
        if !self.core.arms[arm_index(arm)].push(value) {
            self.core.skipped_non_finite += 1;
            return false;
        }
        self.core.update(false);
        true
    }

    /// Samples skipped because they were NaN or infinite.
    #[must_use]
    pub const fn skipped_non_finite(&self) -> u64 {
        self.core.skipped_non_finite
    }

    /// The current state of the test.
    #[must_use]
    pub fn result(&self) -> SequentialResult {
        self.core.result(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn welford_matches_textbook_values() {
        let mut s = RunningStats::default();
        for x in [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0] {
            assert!(s.push(x));
        }
        assert_eq!(s.count(), 8);
        assert!((s.mean().unwrap() - 5.0).abs() < 1e-12);
        // Population variance 4, sample variance 32/7.
        assert!((s.variance().unwrap() - 32.0 / 7.0).abs() < 1e-12);
        assert!(!s.push(f64::NAN));
        assert!(!s.push(f64::INFINITY));
        assert_eq!(s.count(), 8);
    }

    #[test]
    fn mean_ci_known_answer() {
        // n = 4, mean 2.5, sd = sqrt(5/3); t(3, 0.975) = 3.182446.
        let mut s = RunningStats::default();
        for x in [1.0, 2.0, 3.0, 4.0] {
            s.push(x);
        }
        let ci = mean_ci(&s, 0.95).unwrap();
        let half = 3.182_446_305_284_263 * (5.0_f64 / 3.0).sqrt() / 2.0;
        assert!((ci.lower - (2.5 - half)).abs() < 1e-6, "{ci:?}");
        assert!((ci.upper - (2.5 + half)).abs() < 1e-6, "{ci:?}");
        assert!(mean_ci(&s, 1.0).is_none());
        assert!(mean_ci(&RunningStats::default(), 0.95).is_none());
    }

    #[test]
    fn msprt_statistic_known_answer() {
        // Each arm 100 samples: v1 = 50 zeros + 50 twos (mean 1, var 100/99),
        // v3 = 50 ones + 50 threes (mean 2, same var). V = 2·(100/99)/100,
        // τ² = 0.04·100/99, Λ from the closed form.
        let config = SequentialConfig {
            alpha: 0.05,
            mixing_effect: 0.2,
            min_samples_per_arm: 100,
        };
        let mut t = MeanTest::new(config).unwrap();
        for i in 0..100 {
            t.observe(Variant::V1, if i % 2 == 0 { 0.0 } else { 2.0 });
        }
        for i in 0..100 {
            t.observe(Variant::V3, if i % 2 == 0 { 1.0 } else { 3.0 });
        }
        let s2: f64 = 100.0 / 99.0;
        let v = 2.0 * s2 / 100.0;
        let tau2 = 0.04 * s2;
        let lambda = (v / (v + tau2)).sqrt() * (tau2 / (2.0 * v * (v + tau2))).exp();
        let r = t.result();
        // Only the last observation is evaluated (both arms reach 100 there).
        assert!(
            (r.p_value - (1.0 / lambda).min(1.0)).abs() < 1e-9,
            "{r:?} vs {}",
            1.0 / lambda
        );
        assert_eq!(r.decision, Decision::V3Better);
        assert!((r.difference.unwrap() - 1.0).abs() < 1e-12);
        assert!((r.effect_size.unwrap() - 1.0 / s2.sqrt()).abs() < 1e-12);
        let (lo, hi) = r.ci.unwrap();
        let radius =
            (2.0 * v * (v + tau2) / tau2 * (20.0_f64.ln() + 0.5 * ((v + tau2) / v).ln())).sqrt();
        assert!((lo - (1.0 - radius)).abs() < 1e-9 && (hi - (1.0 + radius)).abs() < 1e-9);
    }

    #[test]
    fn nothing_is_decided_below_min_samples() {
        let mut t = ProportionTest::new(SequentialConfig::default()).unwrap();
        for _ in 0..29 {
            t.observe(Variant::V1, false);
            t.observe(Variant::V3, true);
        }
        let r = t.result();
        assert_eq!(r.decision, Decision::NoDifferenceYet);
        assert!(r.ci.is_none());
        assert!((r.p_value - 1.0).abs() < f64::EPSILON);
        t.observe(Variant::V1, false);
        t.observe(Variant::V3, true);
        assert_eq!(t.result().decision, Decision::V3Better);
    }

    #[test]
    fn config_is_checked() {
        for bad in [
            SequentialConfig {
                alpha: 0.0,
                ..SequentialConfig::default()
            },
            SequentialConfig {
                alpha: f64::NAN,
                ..SequentialConfig::default()
            },
            SequentialConfig {
                mixing_effect: -1.0,
                ..SequentialConfig::default()
            },
            SequentialConfig {
                min_samples_per_arm: 1,
                ..SequentialConfig::default()
            },
        ] {
            assert!(matches!(
                MeanTest::new(bad),
                Err(Error::InvalidConfig { .. })
            ));
        }
    }
}
