//! An A/B comparison of v3 against v1 over one horizon: a sequential test on a success
//! rate and one on a mean.
//!
//! **Decisions read the labels** ([`AbTest::observe_label`]): the success is a *hit*
//! (the underlying's mid-to-mid return at the horizon, signed by the signal's view, is
//! positive) and the mean is the signed return in bp, as defined in [`crate::labels`].
//! Both tests are mixture SPRTs whose p-values stay valid however often they are looked
//! at, so a rollout that checks them at every snapshot advances only on significant
//! evidence. [`AbTest::observe`] feeds option outcomes of the streaming
//! [`crate::OutcomeLabeller`] instead (accuracy = wins of the option's mid beyond the
//! flat band, mean = option P&L); one test should be fed by one of the two only.
//!
//! Which variant *serves* a decision is the business of [`crate::assign`] (and of the
//! rollout's stage); this type only weighs the outcomes each arm produced. In shadow
//! both arms are computed on the same data, so both feed it.

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::labels::{Horizon, SignalLabel};
use crate::metrics::lossy_decimal;
use crate::outcome::{Label, Outcome};
use crate::rollout::RolloutSnapshot;
use crate::stats::{MeanTest, ProportionTest, SequentialConfig, SequentialResult};
use crate::types::Variant;

/// Both sequential tests at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AbReport {
    /// Hit rate (labels) or accuracy (option outcomes), v3 − v1.
    pub accuracy: SequentialResult,
    /// Signed return in bp (labels) or P&L per outcome (option outcomes), v3 − v1.
    pub pnl: SequentialResult,
}

/// The A/B comparison of one horizon.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AbTest {
    horizon_ns: u64,
    accuracy: ProportionTest,
    pnl: MeanTest,
    resolved: [u64; 2],
    other_horizon: u64,
    /// The label horizon [`AbTest::observe_label`] takes; `None` means
    /// `Horizon::Fixed(horizon_ns)`.
    #[serde(default)]
    label_horizon: Option<Horizon>,
}

impl AbTest {
    /// A comparison of outcomes of `horizon_ns`.
    ///
    /// # Errors
    /// [`crate::Error::InvalidConfig`] as [`SequentialConfig::validate`].
    pub fn new(horizon_ns: u64, config: SequentialConfig) -> Result<Self> {
        Ok(Self {
            horizon_ns,
            accuracy: ProportionTest::new(config)?,
            pnl: MeanTest::new(config)?,
            resolved: [0; 2],
            other_horizon: 0,
            label_horizon: None,
        })
    }

    /// A comparison of labels at `horizon` (any [`Horizon`], e.g. the session close).
    ///
    /// # Errors
    /// [`crate::Error::InvalidConfig`] as [`SequentialConfig::validate`].
    pub fn for_labels(horizon: Horizon, config: SequentialConfig) -> Result<Self> {
        let ns = match horizon {
            Horizon::Fixed(ns) => ns,
            Horizon::SessionClose | Horizon::NextSessionClose => 0,
        };
        let mut t = Self::new(ns, config)?;
        t.label_horizon = Some(horizon);
        Ok(t)
    }

    /// The horizon labels must have.
    #[must_use]
    pub fn label_horizon(&self) -> Horizon {
        self.label_horizon
            .unwrap_or(Horizon::Fixed(self.horizon_ns))
    }

    /// Adds a label: a hit to the rate test, the signed return (bp) to the mean test.
    /// Labels of another horizon, or with a non-finite return, are counted and ignored.
    /// Returns whether it was taken.
    pub fn observe_label(&mut self, l: &SignalLabel) -> bool {
        if l.horizon != self.label_horizon() || !l.signed_return_bp.is_finite() {
            self.other_horizon += 1;
            return false;
        }
        self.accuracy.observe(l.variant, l.hit);
        self.pnl.observe(l.variant, l.signed_return_bp);
        self.resolved[usize::from(l.variant == Variant::V3)] += 1;
        true
    }

    /// Adds a resolved outcome; outcomes of another horizon are counted and ignored.
    /// Returns whether it was taken.
    pub fn observe(&mut self, o: &Outcome) -> bool {
        if o.horizon_ns != self.horizon_ns {
            self.other_horizon += 1;
            return false;
        }
        self.accuracy.observe(o.variant, o.label == Label::Win);
        self.pnl.observe(o.variant, lossy_decimal(o.pnl));
        self.resolved[usize::from(o.variant == Variant::V3)] += 1;
        true
    }

    /// Outcomes and labels ignored because of their horizon (or a non-finite return).
    #[must_use]
    pub const fn other_horizon_outcomes(&self) -> u64 {
        self.other_horizon
    }

    /// Resolved outcomes taken for `variant`.
    #[must_use]
    pub const fn resolved(&self, variant: Variant) -> u64 {
        match variant {
            Variant::V1 => self.resolved[0],
            Variant::V3 => self.resolved[1],
        }
    }

    /// Both tests now.
    #[must_use]
    pub fn report(&self) -> AbReport {
        AbReport {
            accuracy: self.accuracy.result(),
            pnl: self.pnl.result(),
        }
    }

    /// A rollout snapshot from this comparison and the engine's health figures.
    #[must_use]
    pub fn snapshot(&self, latency_p99_ms: f64, uptime: f64, error_rate: f64) -> RolloutSnapshot {
        let r = self.report();
        RolloutSnapshot {
            resolved_v1: self.resolved[0],
            resolved_v3: self.resolved[1],
            accuracy: Some(r.accuracy),
            pnl: Some(r.pnl),
            latency_p99_ms,
            uptime,
            error_rate,
        }
    }

    /// The comparison as checksummed bytes (see [`crate::persist`]), so that a restart
    /// keeps the evidence gathered so far.
    ///
    /// # Errors
    /// [`crate::Error::Encode`] if encoding fails.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        crate::persist::encode(self)
    }

    /// A comparison restored from [`AbTest::to_bytes`].
    ///
    /// # Errors
    /// The errors of [`crate::persist::decode`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        crate::persist::decode(bytes)
    }
}
