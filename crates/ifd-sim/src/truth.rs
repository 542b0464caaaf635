//! Ground truth of a simulated session: the planted institutional flows and the decoys.

use serde::{Deserialize, Serialize};

/// The kind of a planted institutional flow, named like the detectors' signal patterns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlowKind {
    /// One large print at one price (a negotiated-size trade against a facilitation order).
    Block,
    /// One aggressor event that takes several price levels (optionally on several strikes
    /// at once).
    Sweep,
    /// Same-side aggression on several strikes of one expiry within milliseconds.
    CrossStrike,
    /// A passive order refilled at one price, filled well beyond its displayed size.
    Iceberg,
    /// Slow one-sided aggression on one contract over many minutes.
    Accumulation,
}

impl FlowKind {
    /// All kinds, in a fixed order.
    pub const ALL: [Self; 5] = [
        Self::Block,
        Self::Sweep,
        Self::CrossStrike,
        Self::Iceberg,
        Self::Accumulation,
    ];

    /// The serialised name ("block", "sweep", "cross_strike", "iceberg", "accumulation").
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Block => "block",
            Self::Sweep => "sweep",
            Self::CrossStrike => "cross_strike",
            Self::Iceberg => "iceberg",
            Self::Accumulation => "accumulation",
        }
    }
}

/// The institution's side of a planted flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TruthSide {
    /// The institution buys.
    Buy,
    /// The institution sells.
    Sell,
}

impl TruthSide {
    /// The other side.
    #[must_use]
    pub const fn opposite(self) -> Self {
        match self {
            Self::Buy => Self::Sell,
            Self::Sell => Self::Buy,
        }
    }
}

/// The directional view expressed by a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TruthDirection {
    /// Buying calls or selling puts.
    Bullish,
    /// Buying puts or selling calls.
    Bearish,
}

impl TruthDirection {
    /// The direction of trading `side` in a call (`call = true`) or a put.
    #[must_use]
    pub const fn of(side: TruthSide, call: bool) -> Self {
        match (side, call) {
            (TruthSide::Buy, true) | (TruthSide::Sell, false) => Self::Bullish,
            (TruthSide::Buy, false) | (TruthSide::Sell, true) => Self::Bearish,
        }
    }
}

/// One planted institutional flow, as written to the truth JSONL file.
///
/// For aggressive kinds (block, sweep, cross-strike, accumulation) the trades' aggressor
/// side equals `side`; for an iceberg the institution rests passively, so the trades that
/// fill it carry the opposite aggressor side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Truth {
    /// 1-based id, unique within the session.
    pub flow_id: u64,
    /// The pattern.
    pub kind: FlowKind,
    /// The institution's side.
    pub side: TruthSide,
    /// Bullish or bearish.
    pub direction: TruthDirection,
    /// The instruments that traded, ascending.
    pub instrument_ids: Vec<u32>,
    /// `ts_recv` of the first record of the flow (UNIX ns).
    pub ts_start: u64,
    /// `ts_recv` of the last record of the flow (UNIX ns).
    pub ts_end: u64,
    /// Contracts the institution traded.
    pub size: u64,
    /// Whether the flow carried information (the underlying drifted after it); `None`
    /// when the session was generated without [`crate::SimConfig::information`] (and
    /// then absent from the JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub informed: Option<bool>,
}

/// The kind of a decoy: activity that must not be flagged as institutional.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecoyKind {
    /// A market maker posts very large bid and ask orders on one contract and pulls them.
    LargeTwoSidedQuotes,
    /// A burst of many 1-lot trades of both sides on one contract.
    OneLotBurst,
    /// Every market maker reprices every quote at once (a volatility re-mark).
    RepriceAll,
    /// A stretch in which quote traffic doubles.
    QuoteTrafficSurge,
    /// A market maker's delta hedge in the future after an option fill.
    MmHedge,
    /// A multi-leg package (see [`Decoy::package`]): equal-size (or ratio-size) prints on
    /// two to four contracts within milliseconds, each leg taking the book as an
    /// aggressor would. One trade with no net view, never a directional flow.
    Package,
    /// A "lottery ticket": hundreds of lots at a few ticks on a deep out-of-the-money
    /// wing (almost no premium, almost no delta).
    LotteryTicket,
    /// A dealer-to-dealer cross: one market maker posts inside the spread, another takes
    /// it in full within milliseconds, both re-quote; no follow-through.
    DealerCross,
    /// A retail herd ([`crate::MarketStructure::herds`], off in the presets): for
    /// minutes, many small retail takes on one contract, nearly all of one side. Many
    /// traders, no institution.
    RetailHerd,
}

impl DecoyKind {
    /// All kinds, in a fixed order.
    pub const ALL: [Self; 9] = [
        Self::LargeTwoSidedQuotes,
        Self::OneLotBurst,
        Self::RepriceAll,
        Self::QuoteTrafficSurge,
        Self::MmHedge,
        Self::Package,
        Self::LotteryTicket,
        Self::DealerCross,
        Self::RetailHerd,
    ];

    /// The serialised name (`"large_two_sided_quotes"`, ..., `"dealer_cross"`).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::LargeTwoSidedQuotes => "large_two_sided_quotes",
            Self::OneLotBurst => "one_lot_burst",
            Self::RepriceAll => "reprice_all",
            Self::QuoteTrafficSurge => "quote_traffic_surge",
            Self::MmHedge => "mm_hedge",
            Self::Package => "package",
            Self::LotteryTicket => "lottery_ticket",
            Self::DealerCross => "dealer_cross",
            Self::RetailHerd => "retail_herd",
        }
    }
}

/// The structure of a multi-leg package, named like the detectors' package structures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PackageStructure {
    /// 1:1, same strike and type, adjacent expiries, opposite sides (a roll).
    Calendar,
    /// 1:1, same expiry and type, two strikes, opposite sides.
    Vertical,
    /// 1:1, the call and the put of one strike, same side.
    Straddle,
    /// 1:1, an out-of-the-money call and put of one expiry, same side.
    Strangle,
    /// 1:1, the call and the put of one strike, opposite sides, with the future on the
    /// other side (a conversion or reversal: no net delta).
    Synthetic,
    /// 1:1, an out-of-the-money call and put, opposite sides, delta-hedged with the
    /// future.
    RiskReversal,
    /// 1:2:1 on three strikes of one expiry and type (wings one side, body the other).
    Butterfly,
    /// 1:2 on two strikes of one expiry and type, opposite sides, near delta-neutral.
    Ratio,
}

impl PackageStructure {
    /// All structures, in a fixed order.
    pub const ALL: [Self; 8] = [
        Self::Calendar,
        Self::Vertical,
        Self::Straddle,
        Self::Strangle,
        Self::Synthetic,
        Self::RiskReversal,
        Self::Butterfly,
        Self::Ratio,
    ];

    /// The serialised name (`"calendar"`, `"vertical"`, ..., `"risk_reversal"`, ...).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Calendar => "calendar",
            Self::Vertical => "vertical",
            Self::Straddle => "straddle",
            Self::Strangle => "strangle",
            Self::Synthetic => "synthetic",
            Self::RiskReversal => "risk_reversal",
            Self::Butterfly => "butterfly",
            Self::Ratio => "ratio",
        }
    }
}

/// One leg of a planted package: the print on one contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageLeg {
    /// The contract (an option, or the future of a delta-hedged package).
    pub instrument_id: u32,
    /// The package trader's side on this leg (the aggressor side of its print).
    pub side: TruthSide,
    /// Contracts printed.
    pub size: u32,
    /// Price of the print (1e-9).
    pub price: i64,
}

/// A planted package: its structure and the legs that printed, in print order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageTruth {
    /// The structure.
    pub structure: PackageStructure,
    /// The legs, in the order they printed.
    pub legs: Vec<PackageLeg>,
}

/// One decoy: where and when it happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decoy {
    /// 1-based id, unique within the session.
    pub decoy_id: u64,
    /// What it is.
    pub kind: DecoyKind,
    /// The instruments involved, ascending (empty when it spans the whole chain).
    pub instrument_ids: Vec<u32>,
    /// `ts_recv` of the first record (UNIX ns).
    pub ts_start: u64,
    /// `ts_recv` of the last record (UNIX ns).
    pub ts_end: u64,
    /// The structure and legs of a [`DecoyKind::Package`] (absent otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<PackageTruth>,
}

/// Who owns a simulated order, exposed for tests of market-maker recognition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Participant {
    /// Market maker number `n` (0-based).
    MarketMaker(u8),
    /// A retail or noise trader.
    Retail,
    /// A market maker hedging in the future.
    Hedger,
    /// The institution behind planted flow `flow_id`.
    Institution(u64),
    /// The facilitation counterparty of a block.
    Counterparty,
    /// The trader behind a multi-leg package (no directional view).
    PackageTrader,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoys_serialise_a_package_only_when_they_have_one() {
        let mut d = Decoy {
            decoy_id: 3,
            kind: DecoyKind::DealerCross,
            instrument_ids: vec![9],
            ts_start: 1,
            ts_end: 2,
            package: None,
        };
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(
            json,
            r#"{"decoy_id":3,"kind":"dealer_cross","instrument_ids":[9],"ts_start":1,"ts_end":2}"#
        );
        assert_eq!(serde_json::from_str::<Decoy>(&json).unwrap(), d);
        d.kind = DecoyKind::Package;
        d.package = Some(PackageTruth {
            structure: PackageStructure::RiskReversal,
            legs: vec![PackageLeg {
                instrument_id: 9,
                side: TruthSide::Buy,
                size: 100,
                price: 2_500_000_000,
            }],
        });
        let json = serde_json::to_string(&d).unwrap();
        assert!(json.ends_with(
            r#""package":{"structure":"risk_reversal","legs":[{"instrument_id":9,"side":"buy","size":100,"price":2500000000}]}}"#
        ), "{json}");
        assert_eq!(serde_json::from_str::<Decoy>(&json).unwrap(), d);
    }

    #[test]
    fn truth_serialises_with_the_contract_field_names() {
        let t = Truth {
            flow_id: 7,
            kind: FlowKind::CrossStrike,
            side: TruthSide::Sell,
            direction: TruthDirection::of(TruthSide::Sell, false),
            instrument_ids: vec![3, 5],
            ts_start: 10,
            ts_end: 20,
            size: 150,
            informed: None,
        };
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(
            json,
            r#"{"flow_id":7,"kind":"cross_strike","side":"sell","direction":"bullish","instrument_ids":[3,5],"ts_start":10,"ts_end":20,"size":150}"#
        );
        let back: Truth = serde_json::from_str(&json).unwrap();
        assert_eq!(back, t);
        for k in DecoyKind::ALL {
            assert_eq!(
                serde_json::to_string(&k).unwrap(),
                format!("\"{}\"", k.as_str())
            );
        }
        for k in PackageStructure::ALL {
            assert_eq!(
                serde_json::to_string(&k).unwrap(),
                format!("\"{}\"", k.as_str())
            );
        }
        for k in FlowKind::ALL {
            assert_eq!(
                serde_json::to_string(&k).unwrap(),
                format!("\"{}\"", k.as_str())
            );
        }
        assert_eq!(
            TruthDirection::of(TruthSide::Buy, true),
            TruthDirection::Bullish
        );
        assert_eq!(
            TruthDirection::of(TruthSide::Buy, false),
            TruthDirection::Bearish
        );
        assert_eq!(
            TruthDirection::of(TruthSide::Sell, true),
            TruthDirection::Bearish
        );
    }
}
