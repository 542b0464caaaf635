//! The metrics a baseline tracks and the distribution model chosen for each.

use serde::{Deserialize, Serialize};

/// A per-window flow metric (from ifd-pressure's closed windows, or any source).
///
/// Units are the caller's, but must be the same across days: volumes and counts in
/// contracts, premium in currency (the adapter uses US dollars), imbalance as a ratio in
/// `[−1, 1]`, order flow imbalance in contracts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Metric {
    /// Aggressor buy volume (contracts lifted at the ask).
    BuyVolume,
    /// Aggressor sell volume (contracts hit at the bid).
    SellVolume,
    /// Premium paid by buying aggressors.
    BuyPremium,
    /// Premium received by selling aggressors.
    SellPremium,
    /// Signed imbalance `(buy − sell)/(buy + sell)` in `[−1, 1]`.
    SignedImbalance,
    /// Size of the largest single aggressor event.
    LargestPrint,
    /// Number of aggressor events.
    TradeCount,
    /// Cont–Kukanov–Stoikov order flow imbalance (signed, contracts).
    OrderFlowImbalance,
}

/// Largest magnitude accepted for any metric value (10¹⁵: far beyond any real contract
/// count or dollar premium of one window).
pub const MAX_ABS_VALUE: f64 = 1e15;

/// Which deviations count as unusual.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Tail {
    /// Only unusually large values (volumes, premium, counts).
    Upper,
    /// Unusual in either direction (signed imbalances).
    TwoSided,
}

/// Variance-stabilising transform applied before the tail model is fitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Transform {
    /// `ln(1 + x)` for non-negative, right-skewed quantities.
    Log1p,
    /// `asinh(x)`: log-like in both directions, for signed heavy-tailed quantities.
    Asinh,
    /// No transform, for bounded quantities.
    Identity,
}

impl Transform {
    /// Applies the transform.
    #[must_use]
    pub fn apply(self, x: f64) -> f64 {
        match self {
            Self::Log1p => x.ln_1p(),
            Self::Asinh => x.asinh(),
            Self::Identity => x,
        }
    }

    /// Smallest scale allowed on the transformed axis (a doubling for `Log1p`, about
    /// one contract for `Asinh`, 0.05 of the `[−1, 1]` range for `Identity`).
    #[must_use]
    pub fn floor(self) -> f64 {
        match self {
            Self::Log1p => std::f64::consts::LN_2,
            Self::Asinh => 1.0_f64.asinh(),
            Self::Identity => 0.05,
        }
    }
}

impl Metric {
    /// Every metric, in a fixed order.
    pub const ALL: [Metric; 8] = [
        Metric::BuyVolume,
        Metric::SellVolume,
        Metric::BuyPremium,
        Metric::SellPremium,
        Metric::SignedImbalance,
        Metric::LargestPrint,
        Metric::TradeCount,
        Metric::OrderFlowImbalance,
    ];

    /// Tail tested for this metric.
    #[must_use]
    pub fn tail(self) -> Tail {
        match self {
            Self::SignedImbalance | Self::OrderFlowImbalance => Tail::TwoSided,
            _ => Tail::Upper,
        }
    }

    /// Transform applied before fitting the tail model.
    ///
    /// Volumes, premium, largest print and trade count are non-negative and right
    /// skewed (a compound of a count and a size distribution): on the `ln(1 + x)` axis
    /// they are close to symmetric. Order flow imbalance is signed and heavy tailed:
    /// `asinh` compresses both tails. The signed imbalance is bounded and is left alone.
    #[must_use]
    pub fn transform(self) -> Transform {
        match self {
            Self::SignedImbalance => Transform::Identity,
            Self::OrderFlowImbalance => Transform::Asinh,
            _ => Transform::Log1p,
        }
    }

    /// Resolution of the metric on its raw axis: the floor of the scale used by the
    /// reported robust z-score when the history is (nearly) constant.
    #[must_use]
    pub fn resolution(self) -> f64 {
        match self {
            // One minimum tick of an NQ option (0.25 index points) times the multiplier 20.
            Self::BuyPremium | Self::SellPremium => 5.0,
            Self::SignedImbalance => 0.01,
            _ => 1.0,
        }
    }

    /// Whether `x` is a legal value of this metric: finite, of magnitude at most
    /// [`MAX_ABS_VALUE`], and in the metric's domain (non-negative for volumes, premium,
    /// prints and counts; `[−1, 1]` for the signed imbalance).
    ///
    /// The magnitude bound keeps every intermediate (differences, squares) finite, so
    /// no score can overflow to infinity.
    #[must_use]
    pub fn accepts(self, x: f64) -> bool {
        if !x.is_finite() || x.abs() > MAX_ABS_VALUE {
            return false;
        }
        match self {
            Self::SignedImbalance => (-1.0..=1.0).contains(&x),
            Self::OrderFlowImbalance => true,
            _ => x >= 0.0,
        }
    }

    /// Stable one-byte code used by the binary format.
    #[must_use]
    pub fn code(self) -> u8 {
        match self {
            Self::BuyVolume => 0,
            Self::SellVolume => 1,
            Self::BuyPremium => 2,
            Self::SellPremium => 3,
            Self::SignedImbalance => 4,
            Self::LargestPrint => 5,
            Self::TradeCount => 6,
            Self::OrderFlowImbalance => 7,
        }
    }

    /// Inverse of [`code`](Self::code).
    #[must_use]
    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.get(usize::from(code)).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_domains() {
        for m in Metric::ALL {
            assert_eq!(Metric::from_code(m.code()), Some(m));
            assert!(!m.accepts(f64::NAN));
            assert!(!m.accepts(f64::INFINITY));
            assert!(m.accepts(0.0));
        }
        assert_eq!(Metric::from_code(8), None);
        assert!(!Metric::BuyVolume.accepts(-1.0));
        assert!(Metric::OrderFlowImbalance.accepts(-1e9));
        assert!(!Metric::OrderFlowImbalance.accepts(-2e15));
        assert!(!Metric::TradeCount.accepts(f64::MAX));
        assert!(!Metric::SignedImbalance.accepts(1.5));
        assert!((Transform::Log1p.apply(1.0) - std::f64::consts::LN_2).abs() < 1e-15);
    }
}
