//! The [`Signal`] type and its JSON form (documented in `docs/signals.md`).

use chrono::NaiveDate;
use ifd_pressure::{AggressorSide, OptionContract, OptionKind};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The institutional pattern a signal reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pattern {
    /// One print (one aggressor event) far above the strike's usual size.
    Block,
    /// One aggressor event that takes several price levels.
    Sweep,
    /// Same-side aggression on several strikes of one expiry within a short window.
    CrossStrike,
    /// Repeated fills at one price against a passive order that is refilled or holds
    /// more than it shows.
    Iceberg,
    /// Persistent one-sided aggression on a strike over minutes.
    Accumulation,
    /// The v1.0 volume spike: window volume far above the strike's average.
    VolumeSpike,
}

impl Pattern {
    /// Every pattern, in a fixed order (for reports).
    pub const ALL: [Pattern; 6] = [
        Pattern::Block,
        Pattern::Sweep,
        Pattern::CrossStrike,
        Pattern::Iceberg,
        Pattern::Accumulation,
        Pattern::VolumeSpike,
    ];

    /// The name used in JSON (`"block"`, `"cross_strike"`, ...).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Block => "block",
            Self::Sweep => "sweep",
            Self::CrossStrike => "cross_strike",
            Self::Iceberg => "iceberg",
            Self::Accumulation => "accumulation",
            Self::VolumeSpike => "volume_spike",
        }
    }
}

impl std::fmt::Display for Pattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The institution's side: what it did, not which book side it hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlowSide {
    /// The institution bought.
    Buy,
    /// The institution sold.
    Sell,
}

impl FlowSide {
    /// The side of an aggressor; `None` when the side is unknown.
    #[must_use]
    pub const fn from_aggressor(side: AggressorSide) -> Option<Self> {
        match side {
            AggressorSide::Buy => Some(Self::Buy),
            AggressorSide::Sell => Some(Self::Sell),
            AggressorSide::Unknown => None,
        }
    }

    /// +1 for a buy, -1 for a sell.
    #[must_use]
    pub const fn sign(self) -> i64 {
        match self {
            Self::Buy => 1,
            Self::Sell => -1,
        }
    }
}

/// What the flow says about the underlying.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Buying calls or selling puts.
    Bullish,
    /// Buying puts or selling calls.
    Bearish,
}

impl Direction {
    /// Direction of trading `kind` on `side`.
    #[must_use]
    pub const fn of(kind: OptionKind, side: FlowSide) -> Self {
        match (kind, side) {
            (OptionKind::Call, FlowSide::Buy) | (OptionKind::Put, FlowSide::Sell) => Self::Bullish,
            (OptionKind::Call, FlowSide::Sell) | (OptionKind::Put, FlowSide::Buy) => Self::Bearish,
        }
    }
}

/// Which detector raised a signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum DetectorVersion {
    /// The v3.0 MBO pattern detectors of this crate.
    #[serde(rename = "v3")]
    V3,
    /// The v1.0 "dead simple" volume-spike detector.
    #[serde(rename = "v1")]
    V1,
}

/// Call or put, as it appears in JSON (`"C"` / `"P"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ContractKind {
    /// A call.
    #[serde(rename = "C")]
    Call,
    /// A put.
    #[serde(rename = "P")]
    Put,
}

impl From<OptionKind> for ContractKind {
    fn from(kind: OptionKind) -> Self {
        match kind {
            OptionKind::Call => Self::Call,
            OptionKind::Put => Self::Put,
        }
    }
}

/// What the detector saw: which orders, which windows, which numbers.
///
/// Fields that do not apply to a pattern are omitted from the JSON.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Evidence {
    /// Aggressor events folded into the flow.
    pub events: u32,
    /// Price levels taken (the largest single event, for sweeps and blocks).
    pub levels: u32,
    /// Distinct strikes involved.
    pub strikes: u32,
    /// Resting order ids involved (passive orders hit, or the iceberg's orders), at most
    /// [`Evidence::MAX_ORDERS`], in the order seen.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub orders: Vec<u64>,
    /// Start of the window the flow was observed in (`ts_recv`, ns).
    pub window_start: u64,
    /// End of that window (`ts_recv`, ns).
    pub window_end: u64,
    /// The threshold the triggering quantity was compared with.
    pub threshold: f64,
    /// The triggering quantity (size, levels, strikes, refills, net volume...).
    pub observed: f64,
    /// Share of same-side volume in the flow, in [0, 1].
    pub one_sidedness: f64,
    /// Market-maker likelihood of the flow, in [0, 1] (0 for clearly institutional).
    pub mm_likelihood: f64,
    /// Robust z-score against the baseline, when one was available.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub z_score: Option<f64>,
    /// Trading days behind the baseline figure, when one was available.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline_days: Option<u16>,
    /// Open interest used by the v1 detector, when a statistics record carried it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_interest: Option<u64>,
}

impl Evidence {
    /// Most order ids kept in [`Evidence::orders`].
    pub const MAX_ORDERS: usize = 16;

    /// Appends an order id unless already present or the list is full.
    pub fn push_order(&mut self, order_id: u64) {
        if self.orders.len() < Self::MAX_ORDERS && !self.orders.contains(&order_id) {
            self.orders.push(order_id);
        }
    }
}

/// One detected institutional flow. Its JSON form is documented in `docs/signals.md`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signal {
    /// Stable id of the flow: every revision of one flow carries the same id.
    pub signal_id: u64,
    /// 0 for the first emission of a flow; each update emitted later adds one.
    pub revision: u32,
    /// Capture time (`ts_recv`, ns) of the record that raised or updated the signal.
    pub ts_recv: u64,
    /// Matching-engine time (`ts_event`, ns) of that record.
    pub ts_event: u64,
    /// The main instrument (the largest leg).
    pub instrument_id: u32,
    /// Every instrument involved, ascending.
    pub instruments: Vec<u32>,
    /// Raw symbol of the main instrument, e.g. `"NQZ6 C21000"`.
    pub raw_symbol: String,
    /// Underlying future, e.g. `"NQZ6"`.
    pub underlying: String,
    /// Expiration date (UTC) of the main instrument.
    pub expiration: NaiveDate,
    /// Strike of the main instrument (a decimal string in JSON).
    pub strike: Decimal,
    /// Call or put of the main instrument.
    pub kind: ContractKind,
    /// The pattern.
    pub pattern: Pattern,
    /// The institution's side.
    pub side: FlowSide,
    /// Bullish or bearish for the underlying.
    pub direction: Direction,
    /// Contracts in the flow so far.
    pub size: u64,
    /// Premium of the flow so far, in USD (a decimal string in JSON).
    pub premium: Decimal,
    /// Confidence in [0, 1] that this is institutional flow.
    pub confidence: f64,
    /// p-value against the baseline; `null` when no baseline could score it.
    pub p_value: Option<f64>,
    /// Benjamini–Hochberg q-value across the window's tests; `null` without a baseline.
    pub q_value: Option<f64>,
    /// Which detector raised it.
    pub detector: DetectorVersion,
    /// What the detector saw.
    pub evidence: Evidence,
}

impl Signal {
    /// The signal as one JSON line (no trailing newline).
    ///
    /// # Errors
    /// [`Error::Serialize`] if serde fails, which the types here do not provoke.
    pub fn to_json_line(&self) -> Result<String> {
        serde_json::to_string(self).map_err(|source| Error::Serialize {
            signal_id: self.signal_id,
            source,
        })
    }
}

/// Fixed-point 1e-9 price to an exact decimal.
#[must_use]
pub fn fixed_to_decimal(value: i64) -> Decimal {
    Decimal::from_i128_with_scale(i128::from(value), 9).normalize()
}

/// Expiration of a contract as a UTC date (1970-01-01 if the timestamp is absurd).
#[must_use]
pub fn expiration_date(contract: &OptionContract) -> NaiveDate {
    let secs = i64::try_from(contract.expiration / 1_000_000_000).unwrap_or(0);
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|d| d.date_naive())
        .unwrap_or_default()
}

/// A stable 64-bit id (FNV-1a) over the parts that identify one flow.
#[must_use]
pub fn flow_id(detector: DetectorVersion, pattern: Pattern, key: u64, start: u64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    eat(&[detector as u8, pattern as u8]);
    eat(&key.to_le_bytes());
    eat(&start.to_le_bytes());
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn direction_table() {
        assert_eq!(
            Direction::of(OptionKind::Call, FlowSide::Buy),
            Direction::Bullish
        );
        assert_eq!(
            Direction::of(OptionKind::Put, FlowSide::Sell),
            Direction::Bullish
        );
        assert_eq!(
            Direction::of(OptionKind::Put, FlowSide::Buy),
            Direction::Bearish
        );
        assert_eq!(
            Direction::of(OptionKind::Call, FlowSide::Sell),
            Direction::Bearish
        );
    }

    #[test]
    fn decimal_from_fixed() {
        assert_eq!(fixed_to_decimal(21_000_000_000_000).to_string(), "21000");
        assert_eq!(fixed_to_decimal(4_750_000_000).to_string(), "4.75");
        assert_eq!(fixed_to_decimal(-50_000_000).to_string(), "-0.05");
    }

    #[test]
    fn flow_ids_differ_by_part() {
        let a = flow_id(DetectorVersion::V3, Pattern::Block, 7, 100);
        assert_eq!(a, flow_id(DetectorVersion::V3, Pattern::Block, 7, 100));
        assert_ne!(a, flow_id(DetectorVersion::V1, Pattern::Block, 7, 100));
        assert_ne!(a, flow_id(DetectorVersion::V3, Pattern::Sweep, 7, 100));
        assert_ne!(a, flow_id(DetectorVersion::V3, Pattern::Block, 8, 100));
        assert_ne!(a, flow_id(DetectorVersion::V3, Pattern::Block, 7, 101));
    }

    #[test]
    fn json_names() {
        assert_eq!(
            serde_json::to_string(&Pattern::CrossStrike).unwrap(),
            "\"cross_strike\""
        );
        assert_eq!(
            serde_json::to_string(&DetectorVersion::V3).unwrap(),
            "\"v3\""
        );
        assert_eq!(serde_json::to_string(&ContractKind::Put).unwrap(), "\"P\"");
        assert_eq!(serde_json::to_string(&FlowSide::Sell).unwrap(), "\"sell\"");
        assert_eq!(
            serde_json::to_string(&Direction::Bearish).unwrap(),
            "\"bearish\""
        );
    }
}
