//! What the detectors need to know about the market beyond the records themselves.
//!
//! The engine owns the chain, the books and the baseline; the detectors see them only
//! through these two small traits, which keeps this crate testable on hand-built inputs
//! and lets an embedding system plug in its own sources.

use ifd_pressure::{Bbo, OptionContract, UnderlyingPrice, UnderlyingSource};

/// The market state the detectors read: contracts, book health and completeness, the
/// underlying price.
pub trait MarketView {
    /// The option contract of an instrument, if the chain knows it as an outright option.
    fn contract(&self, instrument_id: u32) -> Option<&OptionContract>;

    /// True when the instrument's book is healthy (not recovering, crossed or suspect).
    /// Signals are raised only on healthy books.
    fn is_healthy(&self, instrument_id: u32) -> bool;

    /// The underlying future's price (fixed point 1e-9) for a contract, if known.
    fn underlying_price(&self, contract: &OptionContract) -> Option<i64>;

    /// The underlying price of a contract as of `ts_recv`, with its source, for the
    /// analytics of a signal raised at that time. The default wraps
    /// [`MarketView::underlying_price`] as a [`UnderlyingSource::Caller`] price (the
    /// view's implementer supplied it).
    fn underlying_at(&self, contract: &OptionContract, ts_recv: u64) -> Option<UnderlyingPrice> {
        self.underlying_price(contract)
            .map(|price| UnderlyingPrice {
                price,
                source: UnderlyingSource::Caller,
                ts_recv,
            })
    }

    /// The instrument's best bid and offer now (read at an `F_LAST` boundary), for
    /// implied volatility from the book mid when a print's own price gives none. The
    /// default knows none.
    fn bbo(&self, instrument_id: u32) -> Option<Bbo> {
        let _ = instrument_id;
        None
    }

    /// True when the instrument's resting depth can be read at `ts_recv`: its book was
    /// rebuilt from a Clear `R` or a snapshot, or has warmed up after a mid-session start
    /// (`ifd_pressure::Completeness::depth_ready`, e.g. through
    /// `ifd_pressure::Books::is_depth_ready`). A book that started mid-session misses the
    /// orders resting before its first record, so detectors that read resting orders (the
    /// iceberg detector, the resting-quote part of market-maker recognition) wait for
    /// this; detectors that read prints do not.
    ///
    /// The default says yes, for views whose books always start complete.
    fn is_depth_ready(&self, instrument_id: u32, ts_recv: u64) -> bool {
        let _ = (instrument_id, ts_recv);
        true
    }

    /// The legs of an exchange-listed spread instrument (from its definitions' leg
    /// fields), when `instrument_id` is one; trades on it become `spread_instrument`
    /// packages. The default knows none.
    fn spread_legs(&self, instrument_id: u32) -> Option<&[SpreadLegDef]> {
        let _ = instrument_id;
        None
    }

    /// The instrument's open interest from the statistics records seen (contracts),
    /// when the stream carried one. The default knows none.
    fn open_interest(&self, instrument_id: u32) -> Option<u64> {
        let _ = instrument_id;
        None
    }
}

/// One leg of an exchange-listed spread instrument, from its definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SpreadLegDef {
    /// The leg's instrument.
    pub instrument_id: u32,
    /// Contracts of this leg per spread (the leg's quantity ratio, at least 1).
    pub ratio: u32,
    /// True when buying the spread buys this leg (`leg_side` `B`).
    pub buy: bool,
}

/// The quantity a detector asks the baseline about.
///
/// Volumes carry the length of the window they were summed over, so that a reference
/// whose windows have another length can rescale them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReferenceMetric {
    /// Size of one aggressor event (compared with the bucket's largest print).
    EventSize,
    /// Buy-aggressor volume summed over `window_ns`.
    BuyVolume {
        /// Length of the window the volume was summed over (ns).
        window_ns: u64,
    },
    /// Sell-aggressor volume summed over `window_ns`.
    SellVolume {
        /// Length of the window the volume was summed over (ns).
        window_ns: u64,
    },
}

impl ReferenceMetric {
    /// The one-sided volume metric of `side` over `window_ns`.
    #[must_use]
    pub const fn volume(side: crate::FlowSide, window_ns: u64) -> Self {
        match side {
            crate::FlowSide::Buy => Self::BuyVolume { window_ns },
            crate::FlowSide::Sell => Self::SellVolume { window_ns },
        }
    }
}

/// What a baseline says about one observed value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Assessment {
    /// One-sided p-value of a value at least this extreme.
    pub p_value: f64,
    /// Robust z-score of the value.
    pub z_score: f64,
    /// Trading days behind the figures.
    pub days: u16,
    /// The typical value (the baseline's median) for the same key, in the caller's
    /// units (for volumes: per the caller's `window_ns`).
    pub typical: f64,
}

/// A source of baseline assessments (implemented by the engine over `ifd-baseline`).
pub trait Reference {
    /// Assesses `value` of `metric` for `contract` at `ts_recv`; `None` when the baseline
    /// has no sufficient history for that key.
    fn assess(
        &self,
        contract: &OptionContract,
        underlying: Option<i64>,
        ts_recv: u64,
        metric: ReferenceMetric,
        value: f64,
    ) -> Option<Assessment>;

    /// The number of aggressor events on the whole chain (every option, any side)
    /// between the times of day of `from_ns` and `to_ns` (`ts_recv`, ns) that the
    /// history days showed, as the `quantile` over those days (0.5: a typical day; 0.9:
    /// a busy one): what the detectors compare the session's own count with to tell a
    /// busy session from an ordinary one (see `DetectorConfig::regime`). `None` (the
    /// default) when the reference knows no history: the session is then never judged
    /// busy.
    fn expected_activity(&self, from_ns: u64, to_ns: u64, quantile: f64) -> Option<f64> {
        let _ = (from_ns, to_ns, quantile);
        None
    }
}

/// A reference with no history: every assessment is `None`, so detectors fall back to
/// their absolute thresholds and report no p-value.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoReference;

impl Reference for NoReference {
    fn assess(
        &self,
        _contract: &OptionContract,
        _underlying: Option<i64>,
        _ts_recv: u64,
        _metric: ReferenceMetric,
        _value: f64,
    ) -> Option<Assessment> {
        None
    }
}
