//! Proptest strategies and a small in-memory market for downstream harnesses.
//!
//! [`TestMarket`] implements [`MarketView`] over a list of contracts (all healthy and
//! depth-ready unless marked otherwise); [`aggressor_event`] generates aggressor events on those
//! contracts, and [`event_sequence`] time-ordered sequences of them.

use ifd_pressure::{
    AggressorEvent, AggressorSide, Bbo, OptionContract, OptionKind, PassiveFills, TickRule,
    UnderlyingPrice, UnderlyingSource,
};
use proptest::prelude::*;
use rust_decimal::Decimal;

use crate::view::MarketView;

/// An in-memory market: contracts by instrument id, a set of unhealthy instruments and
/// one underlying price.
#[derive(Debug, Clone)]
pub struct TestMarket {
    /// Contracts, looked up by instrument id.
    pub contracts: Vec<OptionContract>,
    /// Instruments whose books count as unhealthy.
    pub unhealthy: Vec<u32>,
    /// Underlying price (fixed point 1e-9).
    pub underlying: Option<i64>,
    /// Instruments whose books started mid-session and are not warm yet, with the
    /// `ts_recv` from which their depth counts as ready.
    pub partial_until: Vec<(u32, u64)>,
    /// Exchange-listed spread instruments and their legs.
    pub spreads: Vec<(u32, Vec<crate::SpreadLegDef>)>,
    /// Open interest per instrument, where known.
    pub open_interest: Vec<(u32, u64)>,
    /// Where the underlying price is said to come from (default `Caller`; `Future`
    /// stands for a session with the future's own feed).
    pub underlying_source: UnderlyingSource,
}

impl Default for TestMarket {
    /// No contracts, no underlying price, everything healthy.
    fn default() -> Self {
        Self {
            contracts: Vec::new(),
            unhealthy: Vec::new(),
            underlying: None,
            partial_until: Vec::new(),
            spreads: Vec::new(),
            open_interest: Vec::new(),
            underlying_source: UnderlyingSource::Caller,
        }
    }
}

impl TestMarket {
    /// A chain of `strikes` calls and puts of one expiry around 21,000, 25 points apart,
    /// instrument ids from 1 (calls odd, puts even).
    #[must_use]
    pub fn nq_chain(strikes: u32) -> Self {
        let mut contracts = Vec::new();
        for i in 0..strikes {
            let strike = (20_900 + 25 * i64::from(i)) * 1_000_000_000;
            for (k, kind) in [OptionKind::Call, OptionKind::Put].into_iter().enumerate() {
                let iid = 1 + 2 * i + u32::try_from(k).unwrap_or(0);
                contracts.push(OptionContract {
                    instrument_id: iid,
                    raw_symbol: format!("NQZ6 {}{}", kind.as_char(), strike / 1_000_000_000),
                    underlying: "NQZ6".into(),
                    underlying_id: 1_000,
                    asset: "NQ".into(),
                    kind,
                    strike,
                    expiration: 1_797_800_000_000_000_000,
                    multiplier: 20_000_000_000,
                    tick: TickRule::CME_EQUITY_INDEX_OPTION,
                    channel_id: 0,
                    ts_recv: 0,
                });
            }
        }
        Self {
            contracts,
            unhealthy: Vec::new(),
            underlying: Some(21_000_000_000_000),
            partial_until: Vec::new(),
            spreads: Vec::new(),
            open_interest: Vec::new(),
            underlying_source: UnderlyingSource::Caller,
        }
    }
}

impl MarketView for TestMarket {
    fn contract(&self, instrument_id: u32) -> Option<&OptionContract> {
        self.contracts
            .iter()
            .find(|c| c.instrument_id == instrument_id)
    }

    fn is_healthy(&self, instrument_id: u32) -> bool {
        !self.unhealthy.contains(&instrument_id)
    }

    fn underlying_price(&self, _contract: &OptionContract) -> Option<i64> {
        self.underlying
    }

    fn underlying_at(&self, _contract: &OptionContract, ts_recv: u64) -> Option<UnderlyingPrice> {
        self.underlying.map(|price| UnderlyingPrice {
            price,
            source: self.underlying_source,
            ts_recv,
        })
    }

    fn open_interest(&self, instrument_id: u32) -> Option<u64> {
        self.open_interest
            .iter()
            .find(|(iid, _)| *iid == instrument_id)
            .map(|(_, oi)| *oi)
    }

    fn spread_legs(&self, instrument_id: u32) -> Option<&[crate::SpreadLegDef]> {
        self.spreads
            .iter()
            .find(|(iid, _)| *iid == instrument_id)
            .map(|(_, legs)| legs.as_slice())
    }

    fn is_depth_ready(&self, instrument_id: u32, ts_recv: u64) -> bool {
        self.partial_until
            .iter()
            .all(|&(iid, ready_at)| iid != instrument_id || ts_recv >= ready_at)
    }
}

/// An aggressor event of `size` on `instrument_id` at `ts_recv`, price 10.00, one level.
#[must_use]
pub fn event(
    instrument_id: u32,
    side: AggressorSide,
    size: u64,
    levels: u32,
    ts_recv: u64,
) -> AggressorEvent {
    let px = 10_000_000_000;
    AggressorEvent {
        instrument_id,
        publisher_id: 1,
        ts_recv,
        ts_event: ts_recv.saturating_sub(1_000),
        aggressor_order_id: 0,
        side,
        side_inferred: false,
        size,
        levels,
        trades: levels,
        first_px: px,
        last_px: px + i64::from(levels.saturating_sub(1)) * 250_000_000,
        vwap_px: px,
        premium: Decimal::from(size) * Decimal::from(200),
        multiplier: 20_000_000_000,
        bbo_before: Bbo::default(),
        passive: PassiveFills::default(),
        bad_ts_recv: false,
    }
}

/// `ev` with the passive fills `(order_id, size)` (at most
/// [`ifd_pressure::MAX_PASSIVE_FILLS`] kept). `PassiveFills` has no public
/// constructor; this builds one through its serde form.
#[must_use]
pub fn with_passive(mut ev: AggressorEvent, fills: &[(u64, u32)]) -> AggressorEvent {
    let n = fills.len().min(ifd_pressure::MAX_PASSIVE_FILLS);
    let mut all = vec![ifd_pressure::PassiveFill::default(); ifd_pressure::MAX_PASSIVE_FILLS];
    for (slot, &(order_id, size)) in all.iter_mut().zip(fills) {
        *slot = ifd_pressure::PassiveFill { order_id, size };
    }
    let value = serde_json::json!({ "fills": all, "len": n, "dropped": 0, "dropped_size": 0 });
    if let Ok(p) = serde_json::from_value(value) {
        ev.passive = p;
    }
    ev
}

/// Strategy: one aggressor event on instruments `1..=max_iid`, any side (unknown
/// included), size 1..2000, 1..6 levels, at `ts` in [0, 1 h).
pub fn aggressor_event(max_iid: u32) -> impl Strategy<Value = AggressorEvent> {
    (
        1..=max_iid.max(1),
        prop_oneof![
            Just(AggressorSide::Buy),
            Just(AggressorSide::Sell),
            Just(AggressorSide::Unknown)
        ],
        1u64..2_000,
        1u32..6,
        0u64..3_600_000_000_000,
    )
        .prop_map(|(iid, side, size, levels, ts)| event(iid, side, size, levels, ts))
}

/// Strategy: up to `max_len` events sorted by `ts_recv`.
pub fn event_sequence(max_iid: u32, max_len: usize) -> impl Strategy<Value = Vec<AggressorEvent>> {
    proptest::collection::vec(aggressor_event(max_iid), 0..max_len).prop_map(|mut v| {
        v.sort_by_key(|e| e.ts_recv);
        v
    })
}
