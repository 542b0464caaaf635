//! An A/B comparison of v3 against v1 from resolved outcomes: the sequential test on
//! accuracy (wins over resolved) and the one on P&L per outcome, over one horizon.
//!
//! Which variant *serves* a decision is the business of [`crate::assign`] (and of the
//! rollout's stage); this type only weighs the outcomes each arm produced. In shadow
//! both arms are computed on the same data, so both feed it.

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::metrics::lossy_decimal;
use crate::outcome::{Label, Outcome};
use crate::rollout::RolloutSnapshot;
use crate::stats::{MeanTest, ProportionTest, SequentialConfig, SequentialResult};
use crate::types::Variant;

/// Both sequential tests at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AbReport {
    /// Accuracy, v3 − v1.
    pub accuracy: SequentialResult,
    /// P&L per outcome, v3 − v1.
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
        })
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

    /// Outcomes ignored because of their horizon.
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
