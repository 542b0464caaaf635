//! The [`Signal`] type and its JSON form (documented in `docs/signals.md`).

use chrono::NaiveDate;
use ifd_pressure::{AggressorSide, Bbo, OptionContract, OptionKind, UnderlyingSource};
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
    /// Prints on several instruments within milliseconds whose sizes match a
    /// multi-leg structure (calendar, vertical, straddle...): one trade, not several
    /// directional ones.
    Package,
}

impl Pattern {
    /// Every pattern, in a fixed order (for reports).
    pub const ALL: [Pattern; 7] = [
        Pattern::Block,
        Pattern::Sweep,
        Pattern::CrossStrike,
        Pattern::Iceberg,
        Pattern::Accumulation,
        Pattern::VolumeSpike,
        Pattern::Package,
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
            Self::Package => "package",
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
    /// A package whose net delta-adjusted notional is not material: no view on the
    /// underlying.
    Neutral,
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

/// Where the underlying price of a signal came from (JSON `"future"`, `"parity"`,
/// `"caller"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PriceSource {
    /// The underlying future's own book mid.
    Future,
    /// The put–call-parity forward of the option's expiry.
    Parity,
    /// A price the caller supplied.
    Caller,
}

impl PriceSource {
    /// The JSON name of an `ifd-pressure` source; `None` for a source this version
    /// does not know.
    #[must_use]
    pub fn from_source(source: UnderlyingSource) -> Option<Self> {
        match source {
            UnderlyingSource::Future => Some(Self::Future),
            UnderlyingSource::Parity => Some(Self::Parity),
            UnderlyingSource::Caller => Some(Self::Caller),
            _ => None,
        }
    }
}

/// Where a print traded against the book's best bid and offer before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Aggressiveness {
    /// Below the best bid.
    BelowBid,
    /// At the best bid.
    AtBid,
    /// Strictly inside the spread.
    Between,
    /// At the best ask.
    AtAsk,
    /// Above the best ask.
    AboveAsk,
}

impl Aggressiveness {
    /// Where `price` lies against `bbo` (the book before the print). `None` when the
    /// book side needed to tell is missing (a one-sided book cannot tell "between"
    /// from "beyond the missing side").
    #[must_use]
    pub fn of(price: i64, bbo: &Bbo) -> Option<Self> {
        let bid = bbo.bid.map(|l| l.price);
        let ask = bbo.ask.map(|l| l.price);
        match (bid, ask) {
            (Some(b), _) if price < b => Some(Self::BelowBid),
            (_, Some(a)) if price > a => Some(Self::AboveAsk),
            // A locked book (bid == ask): the side is the aggressor's, unknown here, so
            // "at" the bid wins only when the ask is elsewhere.
            (_, Some(a)) if price == a => Some(Self::AtAsk),
            (Some(b), _) if price == b => Some(Self::AtBid),
            (Some(_), Some(_)) => Some(Self::Between),
            _ => None,
        }
    }
}

/// The structure of a package (JSON snake case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Structure {
    /// Same strike and kind, different expiries, equal sizes, opposite sides.
    Calendar,
    /// Same expiry and kind, different strikes, equal sizes, opposite sides.
    Vertical,
    /// Call and put of one strike and expiry, equal sizes, same side.
    Straddle,
    /// Call and put of different strikes, one expiry, equal sizes, same side.
    Strangle,
    /// Call and put of one strike and expiry, equal sizes, opposite sides.
    Synthetic,
    /// Out-of-the-money call against out-of-the-money put, equal sizes, opposite sides.
    RiskReversal,
    /// Three strikes of one kind and expiry, sizes 1:2:1, the body against the wings.
    Butterfly,
    /// Same expiry and kind, different strikes, sizes 1:2 or 1:3, opposite sides.
    Ratio,
    /// A trade on an exchange-listed spread instrument.
    SpreadInstrument,
    /// Legs traded together on several instruments, not all on one side of one kind
    /// (a call against a put, or buys against sells), whose sizes form no listed ratio:
    /// a package legged through the screen whose legs filled unequally, or a structure
    /// of more legs (condors, collars).
    Custom,
}

/// One leg of a package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageLeg {
    /// The leg's instrument.
    pub instrument_id: u32,
    /// Its raw symbol.
    pub raw_symbol: String,
    /// The side the package's aggressor took on this leg.
    pub side: FlowSide,
    /// Contracts.
    pub size: u64,
    /// Size-weighted price of the leg's prints (decimal string); `null` for a leg of a
    /// spread-instrument trade that did not print on its own instrument.
    pub price: Option<Decimal>,
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
    /// The session's activity factor as last computed before the signal was raised
    /// (at the latest block or sweep test, at most once per minute of stream time):
    /// how many times busier than the history days the session was over the trailing
    /// window (at least 1; see `DetectorConfig::regime`). Absent without a baseline,
    /// before the first such test, or with the regime turned off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity_factor: Option<f64>,
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
    /// Bullish or bearish for the underlying (neutral for an immaterial package).
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
    /// The underlying at the print (decimal string), `null` when none was fresh.
    #[serde(default)]
    pub underlying_price: Option<Decimal>,
    /// Where [`Signal::underlying_price`] came from.
    #[serde(default)]
    pub underlying_source: Option<PriceSource>,
    /// Black-76 implied volatility of the main instrument at the print (0.25 = 25 %).
    #[serde(default)]
    pub iv: Option<f64>,
    /// Delta of one contract of the main instrument.
    #[serde(default)]
    pub delta: Option<f64>,
    /// Delta × size × multiplier × underlying, in USD, signed by the institution's side
    /// (decimal string); for a package, its net over the legs.
    #[serde(default)]
    pub delta_notional: Option<Decimal>,
    /// Vega (per volatility point) × size × multiplier, in USD, signed by the side; for
    /// a package, its net over the legs.
    #[serde(default)]
    pub vega_notional: Option<Decimal>,
    /// The print's price against the book before it.
    #[serde(default)]
    pub aggressiveness: Option<Aggressiveness>,
    /// True when open interest is known and the size exceeds it (the flow must be
    /// opening), false when known and not.
    #[serde(default)]
    pub opening: Option<bool>,
    /// The package's structure (`null` on other patterns).
    #[serde(default)]
    pub structure: Option<Structure>,
    /// The package's legs (`null` on other patterns).
    #[serde(default)]
    pub legs: Option<Vec<PackageLeg>>,
    /// The package's net delta-adjusted notional in USD (`null` on other patterns or
    /// when a leg's delta is unknown).
    #[serde(default)]
    pub net_delta_notional: Option<Decimal>,
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

/// USD amount from `f64` to a decimal rounded to cents; `None` when not finite or out
/// of `Decimal`'s range.
#[must_use]
pub fn usd_lossy(value: f64) -> Option<Decimal> {
    if !value.is_finite() {
        return None;
    }
    Decimal::from_f64_retain(value).map(|d| d.round_dp(2).normalize())
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
    fn aggressiveness_against_the_book_before() {
        use ifd_pressure::Level;
        let lv = |price| {
            Some(Level {
                price,
                size: 1,
                count: 1,
            })
        };
        let book = Bbo {
            bid: lv(100),
            ask: lv(110),
        };
        let at = |p| Aggressiveness::of(p, &book);
        assert_eq!(at(99), Some(Aggressiveness::BelowBid));
        assert_eq!(at(100), Some(Aggressiveness::AtBid));
        assert_eq!(at(105), Some(Aggressiveness::Between));
        assert_eq!(at(110), Some(Aggressiveness::AtAsk));
        assert_eq!(at(111), Some(Aggressiveness::AboveAsk));
        let ask_only = Bbo {
            bid: None,
            ask: lv(110),
        };
        assert_eq!(Aggressiveness::of(105, &ask_only), None);
        assert_eq!(
            Aggressiveness::of(120, &ask_only),
            Some(Aggressiveness::AboveAsk)
        );
        assert_eq!(Aggressiveness::of(5, &Bbo::default()), None);
        assert_eq!(
            serde_json::to_string(&Aggressiveness::AboveAsk).unwrap(),
            "\"above_ask\""
        );
    }

    #[test]
    fn usd_rounds_to_cents_and_refuses_nan() {
        assert_eq!(usd_lossy(1234.5678).unwrap().to_string(), "1234.57");
        assert_eq!(usd_lossy(-0.004).unwrap().to_string(), "0");
        assert_eq!(usd_lossy(f64::NAN), None);
        assert_eq!(usd_lossy(f64::INFINITY), None);
        assert_eq!(usd_lossy(1e300), None);
    }

    #[test]
    fn lines_written_before_the_analytics_fields_still_parse() {
        let old = r#"{"signal_id":1,"revision":0,"ts_recv":5,"ts_event":4,"instrument_id":7,"instruments":[7],"raw_symbol":"NQZ6 C21000","underlying":"NQZ6","expiration":"2026-12-18","strike":"21000","kind":"C","pattern":"block","side":"buy","direction":"bullish","size":300,"premium":"60000","confidence":0.8,"p_value":null,"q_value":null,"detector":"v3","evidence":{"events":1,"levels":1,"strikes":1,"window_start":5,"window_end":5,"threshold":150.0,"observed":300.0,"one_sidedness":1.0,"mm_likelihood":0.0}}"#;
        let s: Signal = serde_json::from_str(old).unwrap();
        assert_eq!(
            (s.iv, s.delta_notional, s.structure, s.opening),
            (None, None, None, None)
        );
        // Written again, every new field is present as null.
        let v: serde_json::Value = serde_json::from_str(&s.to_json_line().unwrap()).unwrap();
        for f in [
            "underlying_price",
            "iv",
            "aggressiveness",
            "legs",
            "net_delta_notional",
        ] {
            assert!(v[f].is_null() && v.get(f).is_some(), "{f}");
        }
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
        assert_eq!(
            serde_json::to_string(&Direction::Neutral).unwrap(),
            "\"neutral\""
        );
        assert_eq!(
            serde_json::to_string(&Structure::RiskReversal).unwrap(),
            "\"risk_reversal\""
        );
        assert_eq!(
            serde_json::to_string(&Structure::SpreadInstrument).unwrap(),
            "\"spread_instrument\""
        );
        assert_eq!(
            serde_json::to_string(&Pattern::Package).unwrap(),
            "\"package\""
        );
        assert_eq!(
            serde_json::to_string(&PriceSource::Parity).unwrap(),
            "\"parity\""
        );
    }
}
