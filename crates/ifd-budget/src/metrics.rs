//! Cost per signal and cost per useful signal.
//!
//! The counts come from the caller: `signals` are signals emitted in the period, `useful`
//! those whose outcome (from ifd-rollout's outcome tracking, where available) was judged
//! useful. Pending signals belong in neither count's numerator of success, but they are
//! emitted signals and count in `signals`.

use rust_decimal::{Decimal, RoundingStrategy};

use crate::error::{Error, Result};

/// Signal counts of a period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SignalCounts {
    /// Signals emitted.
    pub signals: u64,
    /// Signals whose outcome was useful (at most `signals`).
    pub useful: u64,
}

/// Spend divided by signal counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CostPerSignal {
    /// Spend of the period, USD.
    pub spend: Decimal,
    /// The counts used.
    pub counts: SignalCounts,
    /// `spend / signals`, rounded up to 1/10000 of a dollar; `None` with no signal.
    pub per_signal: Option<Decimal>,
    /// `spend / useful`, rounded up to 1/10000 of a dollar; `None` with no useful signal.
    pub per_useful: Option<Decimal>,
}

impl CostPerSignal {
    /// Computes both ratios. A count of zero gives `None`, not a division by zero and not
    /// an infinite cost.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] if `useful > signals`; [`Error::ImplausibleAmount`] if the
    /// spend is negative.
    pub fn new(spend: Decimal, counts: SignalCounts) -> Result<Self> {
        if counts.useful > counts.signals {
            return Err(Error::InvalidConfig {
                field: "useful",
                value: counts.useful.to_string(),
                reason: "useful signals cannot exceed emitted signals",
            });
        }
        let spend = crate::cost::check_usd("spend", spend)?;
        let ratio = |n: u64| {
            (n > 0).then(|| {
                (spend / Decimal::from(n))
                    .round_dp_with_strategy(4, RoundingStrategy::AwayFromZero)
                    .normalize()
            })
        };
        Ok(Self {
            spend,
            counts,
            per_signal: ratio(counts.signals),
            per_useful: ratio(counts.useful),
        })
    }

    /// Whether the cost per signal is at or under `target` (the product promises $5);
    /// `None` with no signal yet.
    #[must_use]
    pub fn meets_target(&self, target: Decimal) -> Option<bool> {
        self.per_signal.map(|c| c <= target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn known_answers() {
        let c = CostPerSignal::new(
            dec("100"),
            SignalCounts {
                signals: 30,
                useful: 7,
            },
        )
        .unwrap();
        assert_eq!(c.per_signal, Some(dec("3.3334")));
        assert_eq!(c.per_useful, Some(dec("14.2858")));
        assert_eq!(c.meets_target(dec("5")), Some(true));
        let none = CostPerSignal::new(dec("10"), SignalCounts::default()).unwrap();
        assert_eq!(none.per_signal, None);
        assert_eq!(none.meets_target(dec("5")), None);
        assert!(CostPerSignal::new(
            dec("1"),
            SignalCounts {
                signals: 1,
                useful: 2
            }
        )
        .is_err());
    }
}
