//! Bid/ask pressure per instrument, strike, expiry, call/put and moneyness bucket over
//! time windows.
//!
//! # Design
//!
//! The hot path touches one accumulator per instrument: every [`AggressorEvent`] and
//! every best-level sample taken at an `F_LAST` boundary lands in the instrument's
//! *base bucket*, whose length is the greatest common divisor of all configured window
//! steps (1 s for the default windows). When `ts_recv` crosses a base boundary, the
//! tracker folds each active instrument's bucket into every window's current step,
//! under each [`GroupKey`] the chain gives the instrument (so chain lookups run once
//! per active instrument per base bucket, not per record). When a window's step ends,
//! each key with content emits one [`PressureWindow`]: a tumbling window emits its step,
//! a rolling window the sum of its last `len / step` steps.
//!
//! Windows are aligned to multiples of their step since the UNIX epoch, on `ts_recv`.
//! Records flagged `F_SNAPSHOT` or `F_BAD_TS_RECV` never enter a window. Keys emit only
//! for windows holding at least one event or book sample.
//!
//! # Metrics
//!
//! Every metric of [`WindowMetrics`] merges exactly (sums and maxima), so a group's
//! window is the merge of its instruments' windows and a rolling window the merge of
//! its steps. [`MetricKind`] names them for generic iteration.

use std::collections::VecDeque;

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::aggressor::{AggressorEvent, AggressorSide};
use crate::chain::{Chain, OptionKind};
use crate::error::{Error, Result};
use crate::types::Bbo;
use ifd_core::IdMap;

/// Nanoseconds in one second.
pub const NS_PER_SEC: u64 = 1_000_000_000;

/// A time window: `len_ns` long, emitted every `step_ns`.
///
/// A tumbling window has `step_ns == len_ns`; a rolling window a smaller step that
/// divides its length (a 5-minute window every minute covers the last five 1-minute
/// steps).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct WindowSpec {
    /// Window length in nanoseconds.
    pub len_ns: u64,
    /// Emission step in nanoseconds; divides `len_ns`.
    pub step_ns: u64,
}

impl WindowSpec {
    /// A tumbling window of `len_ns`.
    #[must_use]
    pub const fn tumbling(len_ns: u64) -> Self {
        Self {
            len_ns,
            step_ns: len_ns,
        }
    }

    /// A rolling window of `len_ns` emitted every `step_ns`.
    #[must_use]
    pub const fn rolling(len_ns: u64, step_ns: u64) -> Self {
        Self { len_ns, step_ns }
    }

    /// True when the window is emitted more often than its length.
    #[must_use]
    pub const fn is_rolling(&self) -> bool {
        self.step_ns != self.len_ns
    }

    /// Number of steps one window covers.
    #[must_use]
    pub const fn steps(&self) -> u64 {
        match self.len_ns.checked_div(self.step_ns) {
            Some(n) => n,
            None => 0,
        }
    }
}

/// Which aggregations the tracker emits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "independent on/off switches, one per aggregation"
)]
pub struct Groupings {
    /// Per instrument (one option: expiry, strike and call/put).
    pub instrument: bool,
    /// Per expiry and strike, calls and puts together.
    pub strike: bool,
    /// Per expiry.
    pub expiry: bool,
    /// Per expiry and call/put.
    pub call_put: bool,
    /// Per call/put and moneyness bucket, across expiries (needs an underlying price).
    pub moneyness: bool,
    /// Everything the tracker sees.
    pub all: bool,
}

impl Groupings {
    /// Per-instrument windows only (what the baseline and the engine aggregate).
    #[must_use]
    pub const fn instrument_only() -> Self {
        Self {
            instrument: true,
            strike: false,
            expiry: false,
            call_put: false,
            moneyness: false,
            all: false,
        }
    }
}

impl Default for Groupings {
    fn default() -> Self {
        Self {
            instrument: true,
            strike: true,
            expiry: true,
            call_put: true,
            moneyness: true,
            all: true,
        }
    }
}

/// Configuration of a [`PressureTracker`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PressureConfig {
    /// Windows to emit.
    pub windows: Vec<WindowSpec>,
    /// Aggregations to emit.
    pub groupings: Groupings,
    /// Moneyness bucket edges in basis points of out-of-the-moneyness, strictly
    /// increasing. Out-of-the-moneyness is `(strike − F) / F` for a call and
    /// `(F − strike) / F` for a put (positive = out of the money); bucket `i` holds
    /// values in `[edges[i-1], edges[i])`, bucket 0 those below the first edge.
    pub moneyness_edges_bp: Vec<i32>,
}

impl Default for PressureConfig {
    /// 1 min and 5 min tumbling windows plus a 5 min window rolled every minute; all
    /// groupings; moneyness edges at ±10 %, ±5 %, ±2 %, ±0.5 %.
    ///
    /// One-second windows are supported but not on by default: for every key they emit
    /// a window per second, which on a full options chain costs more than the book.
    fn default() -> Self {
        Self {
            windows: vec![
                WindowSpec::tumbling(60 * NS_PER_SEC),
                WindowSpec::tumbling(300 * NS_PER_SEC),
                WindowSpec::rolling(300 * NS_PER_SEC, 60 * NS_PER_SEC),
            ],
            groupings: Groupings::default(),
            moneyness_edges_bp: vec![-1000, -500, -200, -50, 50, 200, 500, 1000],
        }
    }
}

impl PressureConfig {
    /// The bucket of an out-of-the-moneyness value in basis points.
    #[must_use]
    pub fn moneyness_bucket(&self, otm_bp: i64) -> u8 {
        let n = self
            .moneyness_edges_bp
            .iter()
            .take_while(|&&e| i64::from(e) <= otm_bp)
            .count();
        u8::try_from(n).unwrap_or(u8::MAX)
    }

    /// The `[low, high)` basis-point bounds of a bucket; `None` is unbounded.
    #[must_use]
    pub fn moneyness_bounds(&self, bucket: u8) -> (Option<i32>, Option<i32>) {
        let i = usize::from(bucket);
        let low = i
            .checked_sub(1)
            .and_then(|j| self.moneyness_edges_bp.get(j))
            .copied();
        (low, self.moneyness_edges_bp.get(i).copied())
    }

    fn validate(&self) -> Result<u64> {
        let mut base = 0u64;
        for w in &self.windows {
            if w.len_ns == 0 || w.step_ns == 0 {
                return Err(Error::InvalidConfig {
                    reason: "window length and step must be positive",
                });
            }
            if w.len_ns % w.step_ns != 0 {
                return Err(Error::InvalidConfig {
                    reason: "window step must divide window length",
                });
            }
            if w.steps() > 100_000 {
                return Err(Error::InvalidConfig {
                    reason: "a window may span at most 100000 steps",
                });
            }
            base = gcd(base, w.step_ns);
        }
        if self.moneyness_edges_bp.windows(2).any(|p| p[0] >= p[1]) {
            return Err(Error::InvalidConfig {
                reason: "moneyness edges must be strictly increasing",
            });
        }
        if self.moneyness_edges_bp.len() >= usize::from(u8::MAX) {
            return Err(Error::InvalidConfig {
                reason: "at most 254 moneyness edges",
            });
        }
        Ok(if base == 0 { NS_PER_SEC } else { base })
    }
}

const fn gcd(a: u64, b: u64) -> u64 {
    let (mut a, mut b) = (a, b);
    while b != 0 {
        let t = a % b;
        a = b;
        b = t;
    }
    a
}

/// What a window aggregates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GroupKey {
    /// One instrument.
    Instrument(u32),
    /// One strike of one expiry, calls and puts together.
    Strike {
        /// Expiration, ns since the UNIX epoch.
        expiration: u64,
        /// Strike, 1e-9 fixed point.
        strike: i64,
    },
    /// One expiry.
    Expiry {
        /// Expiration, ns since the UNIX epoch.
        expiration: u64,
    },
    /// Calls or puts of one expiry.
    CallPut {
        /// Expiration, ns since the UNIX epoch.
        expiration: u64,
        /// Call or put.
        kind: OptionKind,
    },
    /// Calls or puts in one moneyness bucket, across expiries.
    Moneyness {
        /// Call or put.
        kind: OptionKind,
        /// Bucket index, see [`PressureConfig::moneyness_edges_bp`].
        bucket: u8,
    },
    /// Everything.
    All,
}

/// The metrics of one window, all mergeable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct WindowMetrics {
    /// Contracts bought by aggressors.
    pub buy_volume: u64,
    /// Contracts sold by aggressors.
    pub sell_volume: u64,
    /// Contracts traded with an unknown aggressor side.
    pub unknown_volume: u64,
    /// Buy aggressor events.
    pub buy_count: u64,
    /// Sell aggressor events.
    pub sell_count: u64,
    /// Aggressor events of unknown side.
    pub unknown_count: u64,
    /// Premium bought (price × size × multiplier).
    pub buy_premium: Decimal,
    /// Premium sold.
    pub sell_premium: Decimal,
    /// Largest single aggressor event size.
    pub largest_print: u64,
    /// Aggressor events that took two or more price levels.
    pub sweep_count: u64,
    /// Order flow imbalance (Cont, Kukanov, Stoikov 2014): Σ eₙ over the best-level
    /// changes seen at `F_LAST` boundaries, in contracts.
    pub ofi: i64,
    /// Σ best-bid size over the book samples with both sides present.
    pub qi_bid_sum: u64,
    /// Σ best-ask size over the same samples.
    pub qi_ask_sum: u64,
    /// Number of book samples (`F_LAST` boundaries) seen.
    pub book_samples: u64,
    /// Cumulative delta (Σ buy − sell volume since the tracker started) at the window's
    /// end; 0 inside partial accumulators.
    pub cumulative_delta: i64,
}

fn sat_i64(v: i128) -> i64 {
    i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX })
}

/// One order-flow-imbalance term eₙ of Cont, Kukanov and Stoikov between two
/// consecutive best bid/offer observations:
///
/// eₙ = 1{Pᴮₙ ≥ Pᴮₙ₋₁}·qᴮₙ − 1{Pᴮₙ ≤ Pᴮₙ₋₁}·qᴮₙ₋₁ − 1{Pᴬₙ ≤ Pᴬₙ₋₁}·qᴬₙ + 1{Pᴬₙ ≥ Pᴬₙ₋₁}·qᴬₙ₋₁
///
/// A side missing from either observation contributes 0.
#[must_use]
pub fn ofi_term(prev: &Bbo, now: &Bbo) -> i64 {
    let mut e: i128 = 0;
    if let (Some(p), Some(n)) = (prev.bid, now.bid) {
        if n.price >= p.price {
            e += i128::from(n.size);
        }
        if n.price <= p.price {
            e -= i128::from(p.size);
        }
    }
    if let (Some(p), Some(n)) = (prev.ask, now.ask) {
        if n.price <= p.price {
            e -= i128::from(n.size);
        }
        if n.price >= p.price {
            e += i128::from(p.size);
        }
    }
    sat_i64(e)
}

impl WindowMetrics {
    /// Adds one aggressor event.
    pub fn add_event(&mut self, ev: &AggressorEvent) {
        let (vol, count) = match ev.side {
            AggressorSide::Buy => {
                self.buy_premium = self.buy_premium.saturating_add(ev.premium);
                (&mut self.buy_volume, &mut self.buy_count)
            }
            AggressorSide::Sell => {
                self.sell_premium = self.sell_premium.saturating_add(ev.premium);
                (&mut self.sell_volume, &mut self.sell_count)
            }
            AggressorSide::Unknown => (&mut self.unknown_volume, &mut self.unknown_count),
        };
        *vol = vol.saturating_add(ev.size);
        *count = count.saturating_add(1);
        self.largest_print = self.largest_print.max(ev.size);
        if ev.is_sweep() {
            self.sweep_count = self.sweep_count.saturating_add(1);
        }
    }

    /// Adds one book sample: the OFI term between the previous and the current best
    /// bid/offer (when there is a previous one) and the queue sizes of `now`.
    pub fn add_book_sample(&mut self, prev: Option<&Bbo>, now: &Bbo) {
        if let Some(p) = prev {
            self.ofi = self.ofi.saturating_add(ofi_term(p, now));
        }
        if let (Some(b), Some(a)) = (now.bid, now.ask) {
            self.qi_bid_sum = self.qi_bid_sum.saturating_add(b.size);
            self.qi_ask_sum = self.qi_ask_sum.saturating_add(a.size);
        }
        self.book_samples = self.book_samples.saturating_add(1);
    }

    /// Merges another window's metrics into this one (sums and maxima). The
    /// cumulative delta is not merged: it is a level, set when a window is emitted.
    pub fn merge(&mut self, o: &Self) {
        self.ofi = self.ofi.saturating_add(o.ofi);
        self.qi_bid_sum = self.qi_bid_sum.saturating_add(o.qi_bid_sum);
        self.qi_ask_sum = self.qi_ask_sum.saturating_add(o.qi_ask_sum);
        self.book_samples = self.book_samples.saturating_add(o.book_samples);
        if o.trade_count() == 0 {
            // Most buckets hold book samples only: skip the trade fields (and the
            // Decimal additions).
            return;
        }
        self.buy_volume = self.buy_volume.saturating_add(o.buy_volume);
        self.sell_volume = self.sell_volume.saturating_add(o.sell_volume);
        self.unknown_volume = self.unknown_volume.saturating_add(o.unknown_volume);
        self.buy_count = self.buy_count.saturating_add(o.buy_count);
        self.sell_count = self.sell_count.saturating_add(o.sell_count);
        self.unknown_count = self.unknown_count.saturating_add(o.unknown_count);
        self.buy_premium = self.buy_premium.saturating_add(o.buy_premium);
        self.sell_premium = self.sell_premium.saturating_add(o.sell_premium);
        self.largest_print = self.largest_print.max(o.largest_print);
        self.sweep_count = self.sweep_count.saturating_add(o.sweep_count);
    }

    /// True when no event and no book sample was added.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.trade_count() == 0 && self.book_samples == 0
    }

    /// Aggressor events of any side.
    #[must_use]
    pub fn trade_count(&self) -> u64 {
        self.buy_count
            .saturating_add(self.sell_count)
            .saturating_add(self.unknown_count)
    }

    /// Contracts traded, any side.
    #[must_use]
    pub fn total_volume(&self) -> u64 {
        self.buy_volume
            .saturating_add(self.sell_volume)
            .saturating_add(self.unknown_volume)
    }

    /// Buy minus sell volume (the window's delta).
    #[must_use]
    pub fn net_volume(&self) -> i64 {
        sat_i64(i128::from(self.buy_volume) - i128::from(self.sell_volume))
    }

    /// Buy minus sell premium.
    #[must_use]
    pub fn net_premium(&self) -> Decimal {
        self.buy_premium.saturating_sub(self.sell_premium)
    }

    /// Signed imbalance (buy − sell) / (buy + sell) in [-1, 1]; `None` without
    /// sided volume.
    #[must_use]
    #[allow(clippy::cast_precision_loss, reason = "lossy ratio by design")]
    pub fn imbalance(&self) -> Option<f64> {
        let total = i128::from(self.buy_volume) + i128::from(self.sell_volume);
        (total > 0).then(|| (self.net_volume() as f64) / (total as f64))
    }

    /// Pressure ratio with a Laplace prior: (buy + 1) / (sell + 1). Always finite.
    #[must_use]
    #[allow(clippy::cast_precision_loss, reason = "lossy ratio by design")]
    pub fn pressure_ratio(&self) -> f64 {
        (self.buy_volume as f64 + 1.0) / (self.sell_volume as f64 + 1.0)
    }

    /// Queue imbalance centred in [-1, 1]: (Σqᴮ − Σqᴬ) / (Σqᴮ + Σqᴬ) over the book
    /// samples (2·QI − 1 with QI = Qᴮ/(Qᴮ+Qᴬ)); `None` without a two-sided sample.
    #[must_use]
    #[allow(clippy::cast_precision_loss, reason = "lossy ratio by design")]
    pub fn queue_imbalance(&self) -> Option<f64> {
        let total = i128::from(self.qi_bid_sum) + i128::from(self.qi_ask_sum);
        (total > 0).then(|| {
            ((i128::from(self.qi_bid_sum) - i128::from(self.qi_ask_sum)) as f64) / (total as f64)
        })
    }

    /// The value of one metric as `f64` (lossy for large integers and premiums).
    /// Ratios undefined for the window (no volume, no two-sided book) read as 0.0,
    /// their neutral value; use the typed accessors to tell them apart.
    #[must_use]
    #[allow(clippy::cast_precision_loss, reason = "lossy by name")]
    pub fn get_lossy(&self, kind: MetricKind) -> f64 {
        match kind {
            MetricKind::BuyVolume => self.buy_volume as f64,
            MetricKind::SellVolume => self.sell_volume as f64,
            MetricKind::TotalVolume => self.total_volume() as f64,
            MetricKind::NetVolume => self.net_volume() as f64,
            MetricKind::BuyPremium => self.buy_premium.to_f64().unwrap_or(0.0),
            MetricKind::SellPremium => self.sell_premium.to_f64().unwrap_or(0.0),
            MetricKind::NetPremium => self.net_premium().to_f64().unwrap_or(0.0),
            MetricKind::PressureRatio => self.pressure_ratio(),
            MetricKind::Imbalance => self.imbalance().unwrap_or(0.0),
            MetricKind::TradeCount => self.trade_count() as f64,
            MetricKind::LargestPrint => self.largest_print as f64,
            MetricKind::SweepCount => self.sweep_count as f64,
            MetricKind::Ofi => self.ofi as f64,
            MetricKind::QueueImbalance => self.queue_imbalance().unwrap_or(0.0),
            MetricKind::CumulativeDelta => self.cumulative_delta as f64,
        }
    }
}

/// The metrics of a [`WindowMetrics`], for generic iteration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum MetricKind {
    /// Aggressor buy volume.
    BuyVolume,
    /// Aggressor sell volume.
    SellVolume,
    /// Volume of any side.
    TotalVolume,
    /// Buy − sell volume.
    NetVolume,
    /// Premium bought.
    BuyPremium,
    /// Premium sold.
    SellPremium,
    /// Buy − sell premium.
    NetPremium,
    /// (buy + 1) / (sell + 1).
    PressureRatio,
    /// (buy − sell) / (buy + sell).
    Imbalance,
    /// Aggressor events.
    TradeCount,
    /// Largest aggressor event size.
    LargestPrint,
    /// Multi-level aggressor events.
    SweepCount,
    /// Order flow imbalance (Cont, Kukanov, Stoikov).
    Ofi,
    /// Centred queue imbalance.
    QueueImbalance,
    /// Cumulative delta at window end.
    CumulativeDelta,
}

impl MetricKind {
    /// Every metric, in declaration order.
    pub const ALL: [Self; 15] = [
        Self::BuyVolume,
        Self::SellVolume,
        Self::TotalVolume,
        Self::NetVolume,
        Self::BuyPremium,
        Self::SellPremium,
        Self::NetPremium,
        Self::PressureRatio,
        Self::Imbalance,
        Self::TradeCount,
        Self::LargestPrint,
        Self::SweepCount,
        Self::Ofi,
        Self::QueueImbalance,
        Self::CumulativeDelta,
    ];

    /// A stable snake_case name.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::BuyVolume => "buy_volume",
            Self::SellVolume => "sell_volume",
            Self::TotalVolume => "total_volume",
            Self::NetVolume => "net_volume",
            Self::BuyPremium => "buy_premium",
            Self::SellPremium => "sell_premium",
            Self::NetPremium => "net_premium",
            Self::PressureRatio => "pressure_ratio",
            Self::Imbalance => "imbalance",
            Self::TradeCount => "trade_count",
            Self::LargestPrint => "largest_print",
            Self::SweepCount => "sweep_count",
            Self::Ofi => "ofi",
            Self::QueueImbalance => "queue_imbalance",
            Self::CumulativeDelta => "cumulative_delta",
        }
    }
}

/// One closed window of one group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PressureWindow {
    /// The window configuration it belongs to.
    pub spec: WindowSpec,
    /// What it aggregates.
    pub key: GroupKey,
    /// Window start (inclusive), ns since the UNIX epoch on `ts_recv`.
    pub start_ns: u64,
    /// Window end (exclusive).
    pub end_ns: u64,
    /// False when the window was closed early by [`PressureTracker::flush`].
    pub complete: bool,
    /// The metrics.
    pub metrics: WindowMetrics,
}

/// Counters of the pressure tracker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PressureStats {
    /// Aggressor events added to windows.
    pub events: u64,
    /// Aggressor events kept out of windows (`F_BAD_TS_RECV`/`F_SNAPSHOT`).
    pub excluded_events: u64,
    /// Book samples added.
    pub book_samples: u64,
    /// Inputs whose `ts_recv` fell before the open base bucket (counted in it).
    pub late_inputs: u64,
    /// Windows emitted.
    pub windows_emitted: u64,
    /// Instrument buckets with no option contract in the chain (only the instrument
    /// and all-instruments keys got them).
    pub no_contract: u64,
    /// Option buckets without an underlying price (no moneyness key).
    pub no_underlying_price: u64,
}

/// What the chain says about an option, cached per instrument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ContractInfo {
    kind: OptionKind,
    strike: i64,
    expiration: u64,
    underlying_id: u32,
}

#[derive(Debug, Clone, Default)]
struct InstSlot {
    instrument_id: u32,
    /// The open base bucket.
    base: WindowMetrics,
    active: bool,
    prev_bbo: Option<Bbo>,
    /// Whether `contract` and `key_ids` were looked up in the chain.
    resolved: bool,
    contract: Option<ContractInfo>,
    /// Key ids of the instrument's fixed keys (instrument, all, strike, expiry, call/put).
    key_ids: Vec<u32>,
    /// The last moneyness bucket and its key id.
    money: Option<(u8, u32)>,
}

#[derive(Debug, Clone, Default)]
struct KeyState {
    current: WindowMetrics,
    ring: VecDeque<WindowMetrics>,
    cum_delta: i64,
    live: bool,
}

#[derive(Debug, Clone)]
struct WindowState {
    spec: WindowSpec,
    /// End of the open step; 0 before the first input.
    step_end: u64,
    /// Per key id.
    states: Vec<KeyState>,
    /// Key ids with content in the open step or the ring.
    live: Vec<u32>,
}

/// Aggregates aggressor events and book samples into [`PressureWindow`]s.
///
/// Inputs: [`PressureTracker::on_event`] for each completed aggressor event,
/// [`PressureTracker::on_book`] at each `F_LAST` boundary of an instrument (not for
/// snapshot records), [`PressureTracker::reset_book`] when an instrument's book was
/// cleared, [`PressureTracker::advance`] with each record's `ts_recv` so windows close on
/// time, and [`PressureTracker::set_underlying_price`] for moneyness. Closed windows
/// queue up until [`PressureTracker::drain_closed`].
#[derive(Debug, Clone)]
pub struct PressureTracker {
    cfg: PressureConfig,
    base_ns: u64,
    /// End of the open base bucket; 0 before the first input.
    base_end: u64,
    slots: IdMap<u32, usize>,
    insts: Vec<InstSlot>,
    active: Vec<usize>,
    windows: Vec<WindowState>,
    underlying_px: IdMap<u32, i64>,
    closed: Vec<PressureWindow>,
    key_index: IdMap<GroupKey, u32>,
    key_list: Vec<GroupKey>,
    /// Per key id: the open base bucket summed over the key's instruments.
    key_base: Vec<WindowMetrics>,
    /// Key ids with content in `key_base`.
    key_active: Vec<u32>,
    ids_buf: Vec<u32>,
    stats: PressureStats,
}

impl PressureTracker {
    /// A tracker for `cfg`.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when a window has a zero length or step, a step that
    /// does not divide its length or more than 100000 steps, or the moneyness edges are
    /// not strictly increasing (or more than 254).
    pub fn new(cfg: PressureConfig) -> Result<Self> {
        let base_ns = cfg.validate()?;
        let windows = cfg
            .windows
            .iter()
            .map(|&spec| WindowState {
                spec,
                step_end: 0,
                states: Vec::new(),
                live: Vec::new(),
            })
            .collect();
        Ok(Self {
            cfg,
            base_ns,
            base_end: 0,
            slots: IdMap::default(),
            insts: Vec::new(),
            active: Vec::new(),
            windows,
            underlying_px: IdMap::default(),
            closed: Vec::new(),
            key_index: IdMap::default(),
            key_list: Vec::new(),
            key_base: Vec::new(),
            key_active: Vec::new(),
            ids_buf: Vec::with_capacity(6),
            stats: PressureStats::default(),
        })
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &PressureConfig {
        &self.cfg
    }

    /// The base bucket length: the greatest common divisor of the window steps.
    #[must_use]
    pub const fn base_ns(&self) -> u64 {
        self.base_ns
    }

    /// Counters.
    #[must_use]
    pub const fn stats(&self) -> &PressureStats {
        &self.stats
    }

    /// Sets the price of an underlying future (1e-9 fixed point) used for moneyness.
    pub fn set_underlying_price(&mut self, underlying_id: u32, price: i64) {
        self.underlying_px.insert(underlying_id, price);
    }

    /// The closed windows not drained yet.
    #[must_use]
    pub fn closed(&self) -> &[PressureWindow] {
        &self.closed
    }

    /// Takes the closed windows, in emission order.
    pub fn drain_closed(&mut self) -> std::vec::Drain<'_, PressureWindow> {
        self.closed.drain(..)
    }

    fn slot(&mut self, instrument_id: u32) -> usize {
        let next = self.insts.len();
        let slot = *self.slots.entry(instrument_id).or_insert(next);
        if slot == self.insts.len() {
            self.insts.push(InstSlot {
                instrument_id,
                ..InstSlot::default()
            });
        }
        slot
    }

    fn touch(&mut self, slot: usize, ts_recv: u64) {
        if ts_recv.saturating_add(self.base_ns) < self.base_end {
            self.stats.late_inputs += 1;
        }
        let s = &mut self.insts[slot];
        if !s.active {
            s.active = true;
            self.active.push(slot);
        }
    }

    /// Adds a completed aggressor event (advancing time to its `ts_recv` first).
    /// Events flagged `bad_ts_recv` are counted and kept out of windows.
    pub fn on_event(&mut self, ev: &AggressorEvent, chain: &Chain) {
        if ev.bad_ts_recv {
            self.stats.excluded_events += 1;
            return;
        }
        self.advance(ev.ts_recv, chain);
        let slot = self.slot(ev.instrument_id);
        self.touch(slot, ev.ts_recv);
        self.insts[slot].base.add_event(ev);
        self.stats.events += 1;
    }

    /// Adds a book sample of an instrument at an `F_LAST` boundary (advancing time to
    /// `ts_recv` first): the OFI term against the previous sample and the queue sizes.
    pub fn on_book(&mut self, instrument_id: u32, bbo: &Bbo, ts_recv: u64, chain: &Chain) {
        let slot = self.slot(instrument_id);
        self.on_book_at(slot, bbo, ts_recv, chain);
    }

    /// The tracker's slot of an instrument (created on first call), for callers that
    /// cache it and feed [`PressureTracker::on_book_at`]; stable for the tracker's life.
    pub fn slot_of(&mut self, instrument_id: u32) -> usize {
        self.slot(instrument_id)
    }

    /// [`PressureTracker::on_book`] by slot (from [`PressureTracker::slot_of`]); a slot
    /// the tracker never gave out is ignored.
    pub fn on_book_at(&mut self, slot: usize, bbo: &Bbo, ts_recv: u64, chain: &Chain) {
        if slot >= self.insts.len() {
            return;
        }
        self.advance(ts_recv, chain);
        self.touch(slot, ts_recv);
        let s = &mut self.insts[slot];
        s.base.add_book_sample(s.prev_bbo.as_ref(), bbo);
        s.prev_bbo = Some(*bbo);
        self.stats.book_samples += 1;
    }

    /// [`PressureTracker::reset_book`] by slot.
    pub(crate) fn reset_book_at(&mut self, slot: usize) {
        if let Some(s) = self.insts.get_mut(slot) {
            s.prev_bbo = None;
        }
    }

    /// Forgets an instrument's previous book sample (after a clear or a resync), so
    /// the rebuilt book does not produce a spurious OFI term.
    pub fn reset_book(&mut self, instrument_id: u32) {
        if let Some(&slot) = self.slots.get(&instrument_id) {
            if let Some(s) = self.insts.get_mut(slot) {
                s.prev_bbo = None;
            }
        }
    }

    /// Moves time to `ts_recv`: closes every base bucket and window step that ended
    /// at or before it. Earlier times are ignored (windows never reopen).
    pub fn advance(&mut self, ts_recv: u64, chain: &Chain) {
        if ts_recv < self.base_end {
            return;
        }
        if self.base_end == 0 {
            self.base_end = next_boundary(ts_recv, self.base_ns);
            for w in &mut self.windows {
                w.step_end = next_boundary(ts_recv, w.spec.step_ns);
            }
            return;
        }
        self.flush_base(chain);
        for i in 0..self.windows.len() {
            // `step_end` saturates at `u64::MAX`: stop there, or a time at the end of
            // the clock would close the same step forever.
            while self.windows[i].step_end <= ts_recv {
                let at_end = self.windows[i].step_end == u64::MAX;
                self.close_step(i, true);
                if at_end {
                    break;
                }
                let w = &mut self.windows[i];
                if w.live.is_empty() {
                    w.step_end = next_boundary(ts_recv, w.spec.step_ns);
                } else {
                    w.step_end = w.step_end.saturating_add(w.spec.step_ns);
                }
            }
        }
        self.base_end = next_boundary(ts_recv, self.base_ns);
    }

    /// Closes everything now, emitting the open steps as incomplete windows, and
    /// forgets window contents (cumulative deltas and book samples are kept).
    pub fn flush(&mut self, chain: &Chain) {
        if self.base_end == 0 {
            return;
        }
        self.flush_base(chain);
        for i in 0..self.windows.len() {
            self.close_step(i, false);
            let w = &mut self.windows[i];
            for id in w.live.drain(..) {
                if let Some(k) = w.states.get_mut(id as usize) {
                    k.ring.clear();
                    k.live = false;
                }
            }
        }
    }

    /// Drops what the tracker cached about an instrument's contract (call when its
    /// definition changed; [`crate::MarketState`] does).
    pub fn forget_contract(&mut self, instrument_id: u32) {
        if let Some(&slot) = self.slots.get(&instrument_id) {
            if let Some(s) = self.insts.get_mut(slot) {
                s.resolved = false;
                s.contract = None;
                s.key_ids.clear();
                s.money = None;
            }
        }
    }

    fn key_id(&mut self, key: GroupKey) -> u32 {
        let next = u32::try_from(self.key_list.len()).unwrap_or(u32::MAX);
        let id = *self.key_index.entry(key).or_insert(next);
        if id == next {
            self.key_list.push(key);
            self.key_base.push(WindowMetrics::default());
        }
        id
    }

    /// Fills `ids_buf` with the key ids of the instrument in `slot`.
    fn keys_of(&mut self, slot: usize, chain: &Chain) {
        let g = self.cfg.groupings;
        if !self.insts[slot].resolved {
            let iid = self.insts[slot].instrument_id;
            let contract = chain.get(iid).map(|c| ContractInfo {
                kind: c.kind,
                strike: c.strike,
                expiration: c.expiration,
                underlying_id: c.underlying_id,
            });
            let mut ids = Vec::with_capacity(5);
            if g.instrument {
                ids.push(self.key_id(GroupKey::Instrument(iid)));
            }
            if g.all {
                ids.push(self.key_id(GroupKey::All));
            }
            match contract {
                Some(c) => {
                    if g.strike {
                        ids.push(self.key_id(GroupKey::Strike {
                            expiration: c.expiration,
                            strike: c.strike,
                        }));
                    }
                    if g.expiry {
                        ids.push(self.key_id(GroupKey::Expiry {
                            expiration: c.expiration,
                        }));
                    }
                    if g.call_put {
                        ids.push(self.key_id(GroupKey::CallPut {
                            expiration: c.expiration,
                            kind: c.kind,
                        }));
                    }
                }
                None => self.stats.no_contract += 1,
            }
            let s = &mut self.insts[slot];
            s.contract = contract;
            s.key_ids = ids;
            s.money = None;
            s.resolved = true;
        }
        self.ids_buf.clear();
        self.ids_buf.extend_from_slice(&self.insts[slot].key_ids);
        let Some(c) = self.insts[slot].contract else {
            return;
        };
        if !g.moneyness {
            return;
        }
        let Some(&f) = self.underlying_px.get(&c.underlying_id).filter(|&&f| f > 0) else {
            self.stats.no_underlying_price += 1;
            return;
        };
        let diff = i128::from(c.strike) - i128::from(f);
        let otm = match c.kind {
            OptionKind::Call => diff,
            OptionKind::Put => -diff,
        };
        let bucket = self
            .cfg
            .moneyness_bucket(sat_i64((otm * 10_000).div_euclid(i128::from(f))));
        let id = match self.insts[slot].money {
            Some((b, id)) if b == bucket => id,
            _ => {
                let id = self.key_id(GroupKey::Moneyness {
                    kind: c.kind,
                    bucket,
                });
                self.insts[slot].money = Some((bucket, id));
                id
            }
        };
        self.ids_buf.push(id);
    }

    /// Folds every active instrument's base bucket under its keys, then each active
    /// key's bucket into every window's open step. Merges per base bucket: active
    /// instruments × keys, plus active keys × windows.
    fn flush_base(&mut self, chain: &Chain) {
        let active = std::mem::take(&mut self.active);
        for &slot in &active {
            let Some(s) = self.insts.get_mut(slot) else {
                continue;
            };
            s.active = false;
            let base = std::mem::take(&mut s.base);
            self.keys_of(slot, chain);
            for &id in &self.ids_buf {
                let kb = &mut self.key_base[id as usize];
                if kb.is_empty() {
                    self.key_active.push(id);
                }
                kb.merge(&base);
            }
        }
        self.active = active;
        self.active.clear();
        for &id in &self.key_active {
            let idx = id as usize;
            let kb = std::mem::take(&mut self.key_base[idx]);
            for w in &mut self.windows {
                if w.states.len() <= idx {
                    w.states.resize_with(self.key_list.len(), KeyState::default);
                }
                let k = &mut w.states[idx];
                k.current.merge(&kb);
                if !k.live {
                    k.live = true;
                    w.live.push(id);
                }
            }
        }
        self.key_active.clear();
    }

    /// Closes window `i`'s open step: emits every live key.
    fn close_step(&mut self, i: usize, complete: bool) {
        let w = &mut self.windows[i];
        let spec = w.spec;
        let keep = usize::try_from(spec.steps().saturating_sub(1)).unwrap_or(usize::MAX);
        let end_ns = w.step_end;
        let start_ns = end_ns.saturating_sub(spec.len_ns);
        let states = &mut w.states;
        let key_list = &self.key_list;
        let closed = &mut self.closed;
        let stats = &mut self.stats;
        w.live.retain(|&id| {
            let (Some(k), Some(&key)) = (states.get_mut(id as usize), key_list.get(id as usize))
            else {
                return false;
            };
            let cur = std::mem::take(&mut k.current);
            k.cum_delta = k.cum_delta.saturating_add(cur.net_volume());
            let mut m = cur;
            for past in &k.ring {
                m.merge(past);
            }
            if !m.is_empty() {
                m.cumulative_delta = k.cum_delta;
                closed.push(PressureWindow {
                    spec,
                    key,
                    start_ns,
                    end_ns,
                    complete,
                    metrics: m,
                });
                stats.windows_emitted += 1;
            }
            if keep > 0 {
                k.ring.push_front(cur);
                k.ring.truncate(keep);
            }
            let live = k.ring.iter().any(|r| !r.is_empty());
            k.live = live;
            live
        });
    }
}

/// The first multiple of `step` strictly after `ts`.
fn next_boundary(ts: u64, step: u64) -> u64 {
    (ts / step).saturating_add(1).saturating_mul(step)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggressor::PassiveFills;
    use crate::types::Level;

    const PX: i64 = 1_000_000_000;

    fn lvl(price: i64, size: u64) -> Option<Level> {
        Some(Level {
            price,
            size,
            count: 1,
        })
    }

    fn bbo(bp: i64, bq: u64, ap: i64, aq: u64) -> Bbo {
        Bbo {
            bid: lvl(bp, bq),
            ask: lvl(ap, aq),
        }
    }

    fn ev(
        iid: u32,
        ts: u64,
        side: AggressorSide,
        size: u64,
        premium: i64,
        levels: u32,
    ) -> AggressorEvent {
        AggressorEvent {
            instrument_id: iid,
            publisher_id: 1,
            ts_recv: ts,
            ts_event: ts,
            aggressor_order_id: 1,
            side,
            side_inferred: false,
            size,
            levels,
            trades: levels,
            first_px: PX,
            last_px: PX,
            vwap_px: PX,
            premium: Decimal::from(premium),
            multiplier: 20 * PX,
            bbo_before: Bbo::default(),
            passive: PassiveFills::default(),
            bad_ts_recv: false,
        }
    }

    #[test]
    fn ofi_known_answers() {
        // Bid up a tick with 3 resting: +qᴮₙ = +3. Ask unchanged price 5 → 8: −8 + 5 = −3.
        assert_eq!(ofi_term(&bbo(100, 10, 102, 5), &bbo(101, 3, 102, 8)), 0);
        // Bid same price 10 → 14: +14 − 10 = +4. Ask up 102 → 103 (5 → 7): +qᴬₙ₋₁ = +5.
        assert_eq!(ofi_term(&bbo(100, 10, 102, 5), &bbo(100, 14, 103, 7)), 9);
        // Bid down 100 → 99: −qᴮₙ₋₁ = −10. Ask down 102 → 101 with 4: −4.
        assert_eq!(ofi_term(&bbo(100, 10, 102, 5), &bbo(99, 6, 101, 4)), -14);
        // Unchanged book: 0.
        assert_eq!(ofi_term(&bbo(100, 10, 102, 5), &bbo(100, 10, 102, 5)), 0);
        // A side missing on either observation contributes nothing.
        let one_sided = Bbo {
            bid: lvl(100, 10),
            ask: None,
        };
        assert_eq!(ofi_term(&one_sided, &bbo(100, 12, 102, 5)), 2);
        assert_eq!(ofi_term(&Bbo::default(), &bbo(100, 12, 102, 5)), 0);
    }

    #[test]
    fn metrics_arithmetic() {
        let mut m = WindowMetrics::default();
        assert!(m.is_empty());
        assert_eq!(m.imbalance(), None);
        assert_eq!(m.queue_imbalance(), None);
        assert!((m.pressure_ratio() - 1.0).abs() < 1e-12);
        m.add_event(&ev(1, 0, AggressorSide::Buy, 30, 600, 2));
        m.add_event(&ev(1, 0, AggressorSide::Sell, 10, 250, 1));
        m.add_event(&ev(1, 0, AggressorSide::Unknown, 5, 90, 1));
        assert_eq!((m.buy_volume, m.sell_volume, m.unknown_volume), (30, 10, 5));
        assert_eq!(m.total_volume(), 45);
        assert_eq!(m.trade_count(), 3);
        assert_eq!(m.net_volume(), 20);
        assert_eq!(m.largest_print, 30);
        assert_eq!(m.sweep_count, 1);
        assert_eq!(m.net_premium(), Decimal::from(350));
        assert!((m.imbalance().unwrap() - 0.5).abs() < 1e-12);
        assert!((m.pressure_ratio() - 31.0 / 11.0).abs() < 1e-12);
        m.add_book_sample(None, &bbo(100, 30, 101, 10));
        m.add_book_sample(Some(&bbo(100, 30, 101, 10)), &bbo(100, 30, 101, 30));
        // QI sums: bid 60, ask 40 → (60 − 40) / 100.
        assert!((m.queue_imbalance().unwrap() - 0.2).abs() < 1e-12);
        assert_eq!(m.ofi, -20);
        assert_eq!(m.book_samples, 2);
        let mut n = m;
        n.merge(&m);
        assert_eq!(n.buy_volume, 60);
        assert_eq!(n.largest_print, 30);
        assert_eq!(n.ofi, -40);
        assert!((n.get_lossy(MetricKind::Imbalance) - 0.5).abs() < 1e-12);
        assert!((n.get_lossy(MetricKind::BuyPremium) - 1200.0).abs() < 1e-9);
        assert_eq!(MetricKind::ALL.len(), 15);
        assert_eq!(MetricKind::ALL[12].name(), "ofi");
        assert!(MetricKind::ALL.iter().all(|k| n.get_lossy(*k).is_finite()));
    }

    fn tracker(windows: Vec<WindowSpec>) -> PressureTracker {
        PressureTracker::new(PressureConfig {
            windows,
            groupings: Groupings {
                instrument: true,
                all: true,
                ..Groupings::default()
            },
            ..PressureConfig::default()
        })
        .unwrap()
    }

    #[test]
    fn tumbling_windows_close_on_time() {
        let chain = Chain::new();
        let mut t = tracker(vec![WindowSpec::tumbling(NS_PER_SEC)]);
        let s = 1_000 * NS_PER_SEC;
        t.on_event(&ev(7, s + 10, AggressorSide::Buy, 4, 80, 1), &chain);
        t.on_event(&ev(7, s + 20, AggressorSide::Sell, 1, 20, 1), &chain);
        t.on_event(&ev(8, s + 30, AggressorSide::Buy, 2, 40, 1), &chain);
        assert!(t.closed().is_empty());
        // The next second: the first window closes.
        t.on_event(
            &ev(7, s + NS_PER_SEC + 5, AggressorSide::Sell, 6, 120, 1),
            &chain,
        );
        let out: Vec<_> = t.drain_closed().collect();
        let inst7 = out
            .iter()
            .find(|w| w.key == GroupKey::Instrument(7))
            .unwrap();
        assert_eq!((inst7.start_ns, inst7.end_ns), (s, s + NS_PER_SEC));
        assert_eq!(inst7.metrics.buy_volume, 4);
        assert_eq!(inst7.metrics.sell_volume, 1);
        assert_eq!(inst7.metrics.cumulative_delta, 3);
        let all = out.iter().find(|w| w.key == GroupKey::All).unwrap();
        assert_eq!(all.metrics.buy_volume, 6);
        assert_eq!(all.metrics.trade_count(), 3);
        assert_eq!(out.len(), 3);
        // A long gap: the open window closes, empty ones are not emitted.
        t.advance(s + 100 * NS_PER_SEC, &chain);
        let out: Vec<_> = t.drain_closed().collect();
        assert_eq!(out.len(), 2);
        let inst7 = out
            .iter()
            .find(|w| w.key == GroupKey::Instrument(7))
            .unwrap();
        assert_eq!(inst7.metrics.cumulative_delta, -3);
        assert_eq!(inst7.start_ns, s + NS_PER_SEC);
        assert_eq!(t.stats().windows_emitted, 5);
    }

    #[test]
    fn a_time_at_the_end_of_the_clock_closes_once_and_stops() {
        // Found by the engine_records fuzz target: advancing to u64::MAX with a live
        // window looped forever once `step_end` saturated.
        let chain = Chain::new();
        let mut t = tracker(vec![
            WindowSpec::tumbling(NS_PER_SEC),
            WindowSpec::rolling(3 * NS_PER_SEC, NS_PER_SEC),
        ]);
        let s = 50 * NS_PER_SEC;
        t.on_event(&ev(7, s, AggressorSide::Buy, 4, 0, 1), &chain);
        t.advance(u64::MAX, &chain);
        let closed: Vec<_> = t.drain_closed().collect();
        assert!(closed
            .iter()
            .any(|w| w.key == GroupKey::Instrument(7) && w.metrics.buy_volume == 4));
        // Time is now at its end: another call returns at once and emits nothing; a
        // later event is counted as late input, and the next advance still returns.
        t.advance(u64::MAX, &chain);
        assert_eq!(t.drain_closed().count(), 0);
        let late = t.stats().late_inputs;
        t.on_event(&ev(7, s + NS_PER_SEC, AggressorSide::Buy, 1, 0, 1), &chain);
        assert_eq!(t.stats().late_inputs, late + 1);
        t.advance(u64::MAX, &chain);
    }

    #[test]
    fn rolling_window_sums_its_steps() {
        let chain = Chain::new();
        let mut t = tracker(vec![WindowSpec::rolling(3 * NS_PER_SEC, NS_PER_SEC)]);
        let s = 50 * NS_PER_SEC;
        for (i, size) in [1u64, 2, 4].into_iter().enumerate() {
            t.on_event(
                &ev(7, s + i as u64 * NS_PER_SEC, AggressorSide::Buy, size, 0, 1),
                &chain,
            );
        }
        t.advance(s + 10 * NS_PER_SEC, &chain);
        let v: Vec<(u64, u64)> = t
            .drain_closed()
            .filter(|w| w.key == GroupKey::Instrument(7))
            .map(|w| (w.end_ns - s, w.metrics.buy_volume))
            .collect();
        // Ends at +1, +2, +3 s accumulate; then the steps age out.
        let sec = NS_PER_SEC;
        assert_eq!(
            v,
            vec![
                (sec, 1),
                (2 * sec, 3),
                (3 * sec, 7),
                (4 * sec, 6),
                (5 * sec, 4)
            ]
        );
    }

    fn option_def(iid: u32, class: u8, strike: i64, expiration: u64) -> dbn::InstrumentDefMsg {
        dbn::InstrumentDefMsg {
            hd: dbn::RecordHeader::new::<dbn::InstrumentDefMsg>(
                dbn::rtype::INSTRUMENT_DEF,
                1,
                iid,
                0,
            ),
            instrument_class: class as std::ffi::c_char,
            strike_price: strike,
            expiration,
            underlying_id: 99,
            unit_of_measure_qty: 20 * PX,
            contract_multiplier: i32::MAX,
            ..Default::default()
        }
    }

    #[test]
    fn groups_from_the_chain_and_moneyness() {
        let mut chain = Chain::new();
        let exp = 1_800_000_000 * NS_PER_SEC;
        chain.apply(&option_def(11, b'C', 21_000 * PX, exp));
        chain.apply(&option_def(12, b'P', 21_000 * PX, exp));
        chain.apply(&option_def(13, b'C', 22_000 * PX, exp));
        let mut t = PressureTracker::new(PressureConfig {
            windows: vec![WindowSpec::tumbling(NS_PER_SEC)],
            ..PressureConfig::default()
        })
        .unwrap();
        t.set_underlying_price(99, 20_000 * PX);
        t.on_event(&ev(11, 5, AggressorSide::Buy, 1, 10, 1), &chain);
        t.on_event(&ev(12, 6, AggressorSide::Sell, 2, 20, 1), &chain);
        t.on_event(&ev(13, 7, AggressorSide::Buy, 4, 40, 1), &chain);
        // An instrument the chain does not know: instrument and all keys only.
        t.on_event(&ev(14, 8, AggressorSide::Buy, 8, 80, 1), &chain);
        t.advance(2 * NS_PER_SEC, &chain);
        let out: Vec<PressureWindow> = t.drain_closed().collect();
        let get = |k: GroupKey| out.iter().find(|w| w.key == k).map(|w| w.metrics);
        let strike = get(GroupKey::Strike {
            expiration: exp,
            strike: 21_000 * PX,
        })
        .unwrap();
        assert_eq!((strike.buy_volume, strike.sell_volume), (1, 2));
        let expiry = get(GroupKey::Expiry { expiration: exp }).unwrap();
        assert_eq!((expiry.buy_volume, expiry.sell_volume), (5, 2));
        let calls = get(GroupKey::CallPut {
            expiration: exp,
            kind: OptionKind::Call,
        })
        .unwrap();
        assert_eq!(calls.buy_volume, 5);
        assert_eq!(calls.buy_premium, Decimal::from(50));
        // Call 21000 vs F 20000: +500 bp OTM, bucket [500, 1000) = 7; call 22000: +1000
        // bp, bucket 8; put 21000: −500 bp, bucket [−500, −200) = 2.
        let m = |kind, bucket| get(GroupKey::Moneyness { kind, bucket });
        assert_eq!(m(OptionKind::Call, 7).unwrap().buy_volume, 1);
        assert_eq!(m(OptionKind::Call, 8).unwrap().buy_volume, 4);
        assert_eq!(m(OptionKind::Put, 2).unwrap().sell_volume, 2);
        assert_eq!(get(GroupKey::All).unwrap().total_volume(), 15);
        assert_eq!(get(GroupKey::Instrument(14)).unwrap().buy_volume, 8);
        // 4 instruments + all + 2 strikes + 1 expiry + 2 call/put + 3 moneyness.
        assert_eq!(out.len(), 13);
        assert_eq!(t.stats().no_contract, 1);
    }

    #[test]
    fn moneyness_buckets() {
        let cfg = PressureConfig::default();
        assert_eq!(cfg.moneyness_bucket(-5000), 0);
        assert_eq!(cfg.moneyness_bucket(0), 4);
        assert_eq!(cfg.moneyness_bucket(50), 5);
        assert_eq!(cfg.moneyness_bucket(5000), 8);
        assert_eq!(cfg.moneyness_bounds(0), (None, Some(-1000)));
        assert_eq!(cfg.moneyness_bounds(4), (Some(-50), Some(50)));
        assert_eq!(cfg.moneyness_bounds(8), (Some(1000), None));
    }

    #[test]
    fn invalid_configs_are_rejected() {
        let bad = |windows, edges| {
            PressureTracker::new(PressureConfig {
                windows,
                groupings: Groupings::default(),
                moneyness_edges_bp: edges,
            })
            .is_err()
        };
        assert!(bad(vec![WindowSpec::tumbling(0)], vec![]));
        assert!(bad(vec![WindowSpec::rolling(10, 3)], vec![]));
        assert!(bad(vec![WindowSpec::tumbling(10)], vec![5, 5]));
        assert!(!bad(
            vec![WindowSpec::rolling(10, 5), WindowSpec::tumbling(4)],
            vec![1, 2]
        ));
        let t = tracker(vec![WindowSpec::rolling(12, 6), WindowSpec::tumbling(4)]);
        assert_eq!(t.base_ns(), 2);
    }

    #[test]
    fn book_samples_and_bad_ts_recv() {
        let chain = Chain::new();
        let mut t = tracker(vec![WindowSpec::tumbling(NS_PER_SEC)]);
        t.on_book(7, &bbo(100, 10, 102, 5), 10, &chain);
        t.on_book(7, &bbo(100, 14, 103, 7), 20, &chain);
        t.reset_book(7);
        // After a reset, the first sample has no OFI term.
        t.on_book(7, &bbo(50, 1, 60, 1), 30, &chain);
        let mut bad = ev(7, 40, AggressorSide::Buy, 9, 0, 1);
        bad.bad_ts_recv = true;
        t.on_event(&bad, &chain);
        t.flush(&chain);
        let w: Vec<_> = t
            .drain_closed()
            .filter(|w| w.key == GroupKey::Instrument(7))
            .collect();
        assert_eq!(w.len(), 1);
        assert!(!w[0].complete);
        assert_eq!(w[0].metrics.ofi, 9);
        assert_eq!(w[0].metrics.book_samples, 3);
        assert_eq!(w[0].metrics.buy_volume, 0);
        assert_eq!(t.stats().excluded_events, 1);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// Every contract lands in exactly one tumbling window of each length, and a
        /// rolling window equals the sum of the tumbling windows of its steps.
        #[test]
        fn windows_conserve_volume(
            evs in proptest::collection::vec((0u64..30_000, 1u32..4, 0u64..50, proptest::bool::ANY), 1..60)
        ) {
            let ms = NS_PER_SEC / 1000;
            let chain = Chain::new();
            let mut t = tracker(vec![
                WindowSpec::tumbling(1000 * ms),
                WindowSpec::tumbling(5000 * ms),
                WindowSpec::rolling(3000 * ms, 1000 * ms),
            ]);
            let mut evs = evs;
            evs.sort_by_key(|e| e.0);
            let mut total = 0u64;
            for (ts_ms, iid, size, buy) in &evs {
                let side = if *buy { AggressorSide::Buy } else { AggressorSide::Sell };
                t.on_event(&ev(*iid, ts_ms * ms, side, size + 1, 0, 1), &chain);
                total += size + 1;
            }
            t.flush(&chain);
            let out: Vec<PressureWindow> = t.drain_closed().collect();
            let sum = |len: u64, step: u64| {
                out.iter()
                    .filter(|w| w.spec == WindowSpec::rolling(len, step)
                        && matches!(w.key, GroupKey::Instrument(_)))
                    .map(|w| w.metrics.total_volume())
                    .sum::<u64>()
            };
            proptest::prop_assert_eq!(sum(1000 * ms, 1000 * ms), total);
            proptest::prop_assert_eq!(sum(5000 * ms, 5000 * ms), total);
            // Each step's volume appears in three consecutive rolling windows, except
            // those cut short by the final flush.
            let rolled = sum(3000 * ms, 1000 * ms);
            proptest::prop_assert!(rolled >= total && rolled <= 3 * total);
            for w in out.iter().filter(|w| w.spec.is_rolling() && w.complete) {
                let steps: u64 = out
                    .iter()
                    .filter(|o| o.spec == WindowSpec::tumbling(1000 * ms)
                        && o.key == w.key
                        && o.start_ns >= w.start_ns
                        && o.end_ns <= w.end_ns)
                    .map(|o| o.metrics.total_volume())
                    .sum();
                proptest::prop_assert_eq!(w.metrics.total_volume(), steps);
            }
            let all_delta = out
                .iter()
                .filter(|w| w.spec == WindowSpec::tumbling(1000 * ms) && w.key == GroupKey::All)
                .map(|w| w.metrics.cumulative_delta)
                .next_back()
                .unwrap_or(0);
            let net: i64 = evs
                .iter()
                .map(|(_, _, size, buy)| if *buy { (*size + 1) as i64 } else { -((*size + 1) as i64) })
                .sum();
            proptest::prop_assert_eq!(all_delta, net);
        }
    }
}
