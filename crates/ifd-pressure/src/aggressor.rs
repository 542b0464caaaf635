//! Aggressor events: the records of one match event folded into one print.
//!
//! # How CME match events look in Databento's MBO normalisation
//!
//! One incoming order that trades produces, for its instrument and before the record
//! carrying `F_LAST`:
//!
//! 1. one `T` (trade) record per price level it takes. The `T`'s `side` is the side of
//!    the **aggressor** (dbn's `Side` docs: `Ask` is "a sell aggressor in a trade",
//!    `Bid` "a buy aggressor"), its `order_id` is the aggressor's order id, and its
//!    `price`/`size` are the price and quantity traded at that level;
//! 2. after each `T`, the `F` (fill) records of the resting orders it hit, on the
//!    **opposite** side; occasionally also an `F` of the aggressor's own order (same
//!    `order_id` and side as the `T`), which is not a passive fill;
//! 3. then the `C`/`M` records that reduce or remove the hit resting orders (these are
//!    what change the book; `T` and `F` never do);
//! 4. a second incoming order (for example a triggered stop) may trade inside the same
//!    event: its `T` carries a different aggressor `order_id`.
//!
//! The real ESH4 sample (2023-12-25) shows all four: a `T B` followed by `F A` records
//! of resting asks, a sweep as consecutive `T B` records with one `order_id` at rising
//! prices, 107 `F` records with the aggressor's own `order_id`, and 45 events holding
//! more than one aggressor. The opening auction's uncross prints `T N` with `order_id`
//! 0 and `F N` fills: that is where the side has to be inferred.
//!
//! [`AggressorFolder`] turns this into [`AggressorEvent`]s: consecutive `T` records with
//! the same aggressor (`order_id` and side) form one event; its size is the sum of the
//! `T` sizes only (`F` sizes would count the same contracts again), and its passive
//! orders come from the `F` records that are not the aggressor's own.

use dbn::{Action, MboMsg, Side, UNDEF_PRICE};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::types::Bbo;

/// Scale of dbn's fixed-point prices: 1 unit = 1e-9.
const PRICE_SCALE: u32 = 9;

/// The side of the order that took liquidity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AggressorSide {
    /// A buy order lifted resting offers.
    Buy,
    /// A sell order hit resting bids.
    Sell,
    /// The venue gave no side and neither the quote rule nor the tick rule could decide.
    Unknown,
}

impl AggressorSide {
    /// +1 for a buy, -1 for a sell, 0 when unknown.
    #[must_use]
    pub const fn sign(self) -> i64 {
        match self {
            Self::Buy => 1,
            Self::Sell => -1,
            Self::Unknown => 0,
        }
    }

    /// The aggressor side a `T` record states: `Bid` is a buy aggressor, `Ask` a sell
    /// aggressor, `None` unknown.
    #[must_use]
    pub const fn from_trade_side(side: Side) -> Self {
        match side {
            Side::Bid => Self::Buy,
            Side::Ask => Self::Sell,
            Side::None => Self::Unknown,
        }
    }
}

/// One resting order hit by an aggressor, from an `F` record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct PassiveFill {
    /// The resting order's id.
    pub order_id: u64,
    /// Quantity filled on it.
    pub size: u32,
}

/// How many passive fills an [`AggressorEvent`] keeps inline.
pub const MAX_PASSIVE_FILLS: usize = 8;

/// The passive fills of one aggressor event, kept inline (no allocation).
///
/// The first [`MAX_PASSIVE_FILLS`] fills are kept; further ones are only counted in
/// [`PassiveFills::dropped`] and their size in [`PassiveFills::dropped_size`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct PassiveFills {
    fills: [PassiveFill; MAX_PASSIVE_FILLS],
    len: u8,
    dropped: u32,
    dropped_size: u64,
}

impl PassiveFills {
    /// The fills kept, in record order.
    #[must_use]
    pub fn as_slice(&self) -> &[PassiveFill] {
        &self.fills[..usize::from(self.len)]
    }

    /// Number of fills seen, kept or not.
    #[must_use]
    pub fn total_count(&self) -> u64 {
        u64::from(self.len) + u64::from(self.dropped)
    }

    /// Number of fills beyond the inline capacity that were not kept.
    #[must_use]
    pub const fn dropped(&self) -> u32 {
        self.dropped
    }

    /// Summed size of the fills that were not kept.
    #[must_use]
    pub const fn dropped_size(&self) -> u64 {
        self.dropped_size
    }

    /// Summed size of all fills seen.
    #[must_use]
    pub fn total_size(&self) -> u64 {
        self.as_slice()
            .iter()
            .map(|f| u64::from(f.size))
            .fold(self.dropped_size, u64::saturating_add)
    }

    fn push(&mut self, fill: PassiveFill) -> bool {
        let len = usize::from(self.len);
        if len < MAX_PASSIVE_FILLS {
            self.fills[len] = fill;
            self.len += 1;
            true
        } else {
            self.dropped = self.dropped.saturating_add(1);
            self.dropped_size = self.dropped_size.saturating_add(u64::from(fill.size));
            false
        }
    }
}

/// One aggressor's trade in one match event: all the price levels it took, folded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AggressorEvent {
    /// Instrument traded.
    pub instrument_id: u32,
    /// Publisher of the records.
    pub publisher_id: u16,
    /// Capture time of the event's first `T` record (ns since the UNIX epoch).
    pub ts_recv: u64,
    /// Matching-engine time of the event's first `T` record.
    pub ts_event: u64,
    /// The aggressor's order id as the `T` records state it (0 in an auction uncross).
    pub aggressor_order_id: u64,
    /// Aggressor side.
    pub side: AggressorSide,
    /// True when the venue gave no side and `side` was inferred (quote rule, then tick
    /// rule) or left unknown.
    pub side_inferred: bool,
    /// Total traded size: the sum of the event's `T` sizes.
    pub size: u64,
    /// Number of distinct price levels taken (consecutive `T` price changes plus one).
    pub levels: u32,
    /// Number of `T` records folded.
    pub trades: u32,
    /// Price of the first `T` (dbn fixed point, 1e-9).
    pub first_px: i64,
    /// Price of the last `T`.
    pub last_px: i64,
    /// Size-weighted average price, rounded toward negative infinity.
    pub vwap_px: i64,
    /// Premium: Σ price × size × multiplier over the `T` records, in the price's
    /// currency (dollars for NQ options).
    pub premium: Decimal,
    /// Contract multiplier used for the premium, in dbn's 1e-9 fixed point like
    /// [`OptionContract::multiplier`](crate::OptionContract::multiplier)
    /// (`unit_of_measure_qty`: 20e9 for NQ).
    pub multiplier: i64,
    /// Best bid and offer of the instrument at its last `F_LAST` before the event.
    pub bbo_before: Bbo,
    /// Resting orders hit, from the `F` records that are not the aggressor's own.
    pub passive: PassiveFills,
    /// True when a `T` of the event carried `F_BAD_TS_RECV` or `F_SNAPSHOT`, or no
    /// capture time (`UNDEF_TIMESTAMP`): its `ts_recv` must not place it in a time
    /// window.
    pub bad_ts_recv: bool,
}

impl AggressorEvent {
    /// Size signed by side: positive for buys, negative for sells, 0 when unknown.
    #[must_use]
    pub fn signed_size(&self) -> i64 {
        i64::try_from(self.size)
            .unwrap_or(i64::MAX)
            .saturating_mul(self.side.sign())
    }

    /// True when the aggressor took two or more price levels.
    #[must_use]
    pub const fn is_sweep(&self) -> bool {
        self.levels >= 2
    }

    /// True when the aggressor traded beyond the best opposite price before the event
    /// (a buy above the best ask, a sell below the best bid).
    #[must_use]
    pub fn traded_through(&self) -> bool {
        match self.side {
            AggressorSide::Buy => self.bbo_before.ask.is_some_and(|a| self.last_px > a.price),
            AggressorSide::Sell => self.bbo_before.bid.is_some_and(|b| self.last_px < b.price),
            AggressorSide::Unknown => false,
        }
    }
}

/// Counters of the aggressor folding; skipped input is counted here, never panics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AggressorStats {
    /// `T` records folded into events.
    pub trades: u64,
    /// Aggressor events completed.
    pub events: u64,
    /// Events whose side came from the `T` record.
    pub side_from_venue: u64,
    /// Events whose side was inferred by the quote rule.
    pub inferred_by_quote: u64,
    /// Events whose side was inferred by the tick rule.
    pub inferred_by_tick: u64,
    /// Events whose side stayed unknown.
    pub unclassified: u64,
    /// `F` records attributed to an aggressor as passive fills.
    pub passive_fills: u64,
    /// `F` records of the aggressor's own order (not passive).
    pub own_fills: u64,
    /// `F` records that arrived with no `T` before them in the event (not counted as volume).
    pub fills_without_trade: u64,
    /// `T` records skipped for zero size.
    pub zero_size_trades: u64,
    /// `T`/`F` records skipped for `UNDEF_PRICE`.
    pub undef_price: u64,
    /// `T`/`F` records skipped for an unknown side byte.
    pub bad_side: u64,
    /// Premium sums that overflowed and were saturated.
    pub premium_overflow: u64,
    /// Events completed early because the book was cleared (`R`) mid-event.
    pub flushed_by_clear: u64,
}

/// Tick-rule memory of one instrument: the last trade price and direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct TickState {
    last_px: Option<i64>,
    /// Sign of the last non-zero price change (+1 uptick, -1 downtick, 0 none yet).
    last_dir: i8,
}

impl TickState {
    fn classify(&self, px: i64) -> AggressorSide {
        let Some(last) = self.last_px else {
            return AggressorSide::Unknown;
        };
        let dir = match px.cmp(&last) {
            std::cmp::Ordering::Greater => 1,
            std::cmp::Ordering::Less => -1,
            std::cmp::Ordering::Equal => self.last_dir,
        };
        match dir {
            1 => AggressorSide::Buy,
            -1 => AggressorSide::Sell,
            _ => AggressorSide::Unknown,
        }
    }

    fn observe(&mut self, px: i64) {
        if let Some(last) = self.last_px {
            match px.cmp(&last) {
                std::cmp::Ordering::Greater => self.last_dir = 1,
                std::cmp::Ordering::Less => self.last_dir = -1,
                std::cmp::Ordering::Equal => {}
            }
        }
        self.last_px = Some(px);
    }
}

/// How a side was classified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Classified {
    Venue,
    Quote,
    Tick,
    None,
}

/// Lee-Ready quote rule against the best bid and offer: at or above the ask is a buy,
/// at or below the bid a sell, inside the spread the closer side; the exact midpoint, a
/// crossed or locked book, or a missing side gives `Unknown`.
#[must_use]
pub fn quote_rule(px: i64, bbo: &Bbo) -> AggressorSide {
    let (Some(bid), Some(ask)) = (bbo.bid, bbo.ask) else {
        return AggressorSide::Unknown;
    };
    if bid.price >= ask.price {
        return AggressorSide::Unknown;
    }
    if px >= ask.price {
        return AggressorSide::Buy;
    }
    if px <= bid.price {
        return AggressorSide::Sell;
    }
    // Inside the spread: compare distances in i128 so extreme prices cannot overflow.
    let to_ask = i128::from(ask.price) - i128::from(px);
    let to_bid = i128::from(px) - i128::from(bid.price);
    match to_ask.cmp(&to_bid) {
        std::cmp::Ordering::Less => AggressorSide::Buy,
        std::cmp::Ordering::Greater => AggressorSide::Sell,
        std::cmp::Ordering::Equal => AggressorSide::Unknown,
    }
}

/// An event being folded.
#[derive(Debug, Clone, Copy)]
struct Building {
    ev: AggressorEvent,
    classified: Classified,
    /// The side the `T` records state (before any inference).
    venue_side: AggressorSide,
    /// Σ price × size in fixed point.
    px_size: i128,
    premium_overflowed: bool,
}

/// Folds one instrument's `T` and `F` records into [`AggressorEvent`]s.
///
/// Feed it every `T` and `F` record of its instrument with [`AggressorFolder::on_trade`]
/// and [`AggressorFolder::on_fill`], and call [`AggressorFolder::finish`] at the record
/// carrying `F_LAST` (or at an `R`). Completed events are pushed to the caller's
/// vector, so the hot path allocates nothing once that vector has grown.
#[derive(Debug, Clone, Default)]
pub struct AggressorFolder {
    pending: Option<Building>,
    tick: TickState,
}

impl AggressorFolder {
    /// A folder with no trade history.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// True while an event is being folded (a `T` was seen and no `F_LAST` yet).
    #[must_use]
    pub const fn is_pending(&self) -> bool {
        self.pending.is_some()
    }

    /// The last trade price seen (used by the tick rule).
    #[must_use]
    pub const fn last_trade_px(&self) -> Option<i64> {
        self.tick.last_px
    }

    /// Folds a `T` record.
    ///
    /// `bbo_before` is the instrument's best bid and offer at its last `F_LAST` and
    /// `multiplier` the contract multiplier in 1e-9 fixed point (20e9 for NQ). A `T`
    /// from a different aggressor than the pending one completes the pending event
    /// into `out` first. Records with zero size, `UNDEF_PRICE` or an unknown side byte
    /// are counted in `stats` and skipped.
    pub fn on_trade(
        &mut self,
        rec: &MboMsg,
        bbo_before: &Bbo,
        multiplier: i64,
        out: &mut Vec<AggressorEvent>,
        stats: &mut AggressorStats,
    ) {
        // `Side::try_from`, not `MboMsg::side`: no formatted error on a bad byte.
        let Ok(side) = Side::try_from(rec.side as u8) else {
            stats.bad_side += 1;
            return;
        };
        if rec.price == UNDEF_PRICE {
            stats.undef_price += 1;
            return;
        }
        if rec.size == 0 {
            stats.zero_size_trades += 1;
            return;
        }
        let venue_side = AggressorSide::from_trade_side(side);
        let same_aggressor = self
            .pending
            .as_ref()
            .is_some_and(|b| b.ev.aggressor_order_id == rec.order_id && b.venue_side == venue_side);
        if !same_aggressor {
            self.finish(out, stats);
            let (side, classified) = if venue_side == AggressorSide::Unknown {
                match quote_rule(rec.price, bbo_before) {
                    AggressorSide::Unknown => match self.tick.classify(rec.price) {
                        AggressorSide::Unknown => (AggressorSide::Unknown, Classified::None),
                        s => (s, Classified::Tick),
                    },
                    s => (s, Classified::Quote),
                }
            } else {
                (venue_side, Classified::Venue)
            };
            self.pending = Some(Building {
                ev: AggressorEvent {
                    instrument_id: rec.hd.instrument_id,
                    publisher_id: rec.hd.publisher_id,
                    ts_recv: rec.ts_recv,
                    ts_event: rec.hd.ts_event,
                    aggressor_order_id: rec.order_id,
                    side,
                    side_inferred: classified != Classified::Venue,
                    size: 0,
                    levels: 1,
                    trades: 0,
                    first_px: rec.price,
                    last_px: rec.price,
                    vwap_px: rec.price,
                    premium: Decimal::ZERO,
                    multiplier,
                    bbo_before: *bbo_before,
                    passive: PassiveFills::default(),
                    bad_ts_recv: false,
                },
                classified,
                venue_side,
                px_size: 0,
                premium_overflowed: false,
            });
        }
        let Some(b) = self.pending.as_mut() else {
            return;
        };
        if b.ev.trades > 0 && rec.price != b.ev.last_px {
            b.ev.levels = b.ev.levels.saturating_add(1);
        }
        b.ev.trades = b.ev.trades.saturating_add(1);
        b.ev.last_px = rec.price;
        b.ev.size = b.ev.size.saturating_add(u64::from(rec.size));
        b.ev.bad_ts_recv |= rec.flags.is_bad_ts_recv()
            || rec.flags.is_snapshot()
            || rec.ts_recv == dbn::UNDEF_TIMESTAMP;
        match i128::from(rec.price)
            .checked_mul(i128::from(rec.size))
            .and_then(|ps| b.px_size.checked_add(ps))
        {
            Some(v) => b.px_size = v,
            None => b.premium_overflowed = true,
        }
        stats.trades += 1;
        self.tick.observe(rec.price);
    }

    /// Folds an `F` record: a resting order hit by the pending aggressor.
    ///
    /// The aggressor's own fill (same `order_id` as the `T`) is counted as such and not
    /// listed as passive; an `F` with no pending `T` is counted and ignored. `F` sizes
    /// never add to the event's size.
    pub fn on_fill(&mut self, rec: &MboMsg, stats: &mut AggressorStats) {
        let Some(b) = self.pending.as_mut() else {
            stats.fills_without_trade += 1;
            return;
        };
        if rec.price == UNDEF_PRICE {
            stats.undef_price += 1;
            return;
        }
        // The aggressor's own fill repeats its order id (CME sends it on the aggressor's
        // side); an auction uncross has order id 0 on the T, so nothing matches there.
        let own = b.ev.aggressor_order_id != 0 && rec.order_id == b.ev.aggressor_order_id;
        if own {
            stats.own_fills += 1;
            return;
        }
        b.ev.passive.push(PassiveFill {
            order_id: rec.order_id,
            size: rec.size,
        });
        stats.passive_fills += 1;
    }

    /// Completes the pending event, if any, into `out`. Call at the instrument's
    /// `F_LAST` record (after folding it, should it be a `T`/`F`).
    pub fn finish(&mut self, out: &mut Vec<AggressorEvent>, stats: &mut AggressorStats) {
        let Some(mut b) = self.pending.take() else {
            return;
        };
        let size = i128::from(b.ev.size);
        if size > 0 {
            let vwap = b.px_size.div_euclid(size);
            b.ev.vwap_px = i64::try_from(vwap).unwrap_or(b.ev.last_px);
        }
        let premium = if b.premium_overflowed {
            None
        } else {
            let notional = Decimal::try_from_i128_with_scale(b.px_size, PRICE_SCALE).ok();
            let mult = Decimal::from_i128_with_scale(i128::from(b.ev.multiplier), PRICE_SCALE);
            notional
                .and_then(|n| n.checked_mul(mult))
                .map(|p| p.normalize())
        };
        b.ev.premium = premium.unwrap_or_else(|| {
            stats.premium_overflow += 1;
            if b.px_size.signum() * i128::from(b.ev.multiplier.signum()) < 0 {
                Decimal::MIN
            } else {
                Decimal::MAX
            }
        });
        match b.classified {
            Classified::Venue => stats.side_from_venue += 1,
            Classified::Quote => stats.inferred_by_quote += 1,
            Classified::Tick => stats.inferred_by_tick += 1,
            Classified::None => stats.unclassified += 1,
        }
        stats.events += 1;
        out.push(b.ev);
    }

    /// Completes a pending event because the book was cleared (`R`) mid-event.
    pub fn flush_on_clear(&mut self, out: &mut Vec<AggressorEvent>, stats: &mut AggressorStats) {
        if self.pending.is_some() {
            stats.flushed_by_clear += 1;
            self.finish(out, stats);
        }
    }

    /// Dispatches one record of this folder's instrument by action: `T` and `F` are
    /// folded, `R` flushes, and a record carrying `F_LAST` completes the event. Other
    /// actions are ignored here (they change the book, not the print).
    pub fn on_record(
        &mut self,
        rec: &MboMsg,
        action: Action,
        bbo_before: &Bbo,
        multiplier: i64,
        out: &mut Vec<AggressorEvent>,
        stats: &mut AggressorStats,
    ) {
        match action {
            Action::Trade => self.on_trade(rec, bbo_before, multiplier, out, stats),
            Action::Fill => self.on_fill(rec, stats),
            Action::Clear => self.flush_on_clear(out, stats),
            Action::Add | Action::Cancel | Action::Modify | Action::None => {}
        }
        if rec.flags.is_last() {
            self.finish(out, stats);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Level;
    use dbn::{FlagSet, RecordHeader};

    const PX: i64 = 1_000_000_000;

    fn rec(action: u8, side: u8, oid: u64, px: i64, size: u32, flags: u8) -> MboMsg {
        MboMsg {
            hd: RecordHeader::new::<MboMsg>(dbn::rtype::MBO, 1, 7, 1_000),
            order_id: oid,
            price: px,
            size,
            flags: FlagSet::new(flags),
            channel_id: 0,
            action: action as _,
            side: side as _,
            ts_recv: 2_000,
            ts_in_delta: 0,
            sequence: 1,
        }
    }

    fn bbo(bid: i64, ask: i64) -> Bbo {
        Bbo {
            bid: Some(Level {
                price: bid,
                size: 5,
                count: 1,
            }),
            ask: Some(Level {
                price: ask,
                size: 5,
                count: 1,
            }),
        }
    }

    fn feed(
        f: &mut AggressorFolder,
        recs: &[MboMsg],
        b: &Bbo,
    ) -> (Vec<AggressorEvent>, AggressorStats) {
        let mut out = Vec::new();
        let mut st = AggressorStats::default();
        for r in recs {
            let a = r.action().unwrap();
            f.on_record(r, a, b, 20 * PX, &mut out, &mut st);
        }
        (out, st)
    }

    #[test]
    fn one_level_buy() {
        let b = bbo(100 * PX, 101 * PX);
        let recs = [
            rec(b'T', b'B', 9, 101 * PX, 3, 0),
            rec(b'F', b'A', 4, 101 * PX, 2, 0),
            rec(b'F', b'A', 5, 101 * PX, 1, 0),
            rec(b'C', b'A', 4, 101 * PX, 2, 0),
            rec(b'M', b'A', 5, 101 * PX, 4, dbn::flags::LAST),
        ];
        let (out, st) = feed(&mut AggressorFolder::new(), &recs, &b);
        assert_eq!(out.len(), 1);
        let e = out[0];
        assert_eq!(e.side, AggressorSide::Buy);
        assert!(!e.side_inferred);
        assert_eq!((e.size, e.levels, e.trades), (3, 1, 1));
        assert_eq!(
            (e.first_px, e.last_px, e.vwap_px),
            (101 * PX, 101 * PX, 101 * PX)
        );
        // 101 points × 3 × 20 = 6060.
        assert_eq!(e.premium, Decimal::from(6060));
        assert_eq!(e.bbo_before, b);
        assert_eq!(
            e.passive.as_slice(),
            &[
                PassiveFill {
                    order_id: 4,
                    size: 2
                },
                PassiveFill {
                    order_id: 5,
                    size: 1
                }
            ]
        );
        assert_eq!(e.passive.total_size(), 3);
        assert!(!e.is_sweep());
        assert!(!e.traded_through());
        assert_eq!(e.signed_size(), 3);
        assert_eq!((st.trades, st.events, st.passive_fills), (1, 1, 2));
    }

    #[test]
    fn multi_level_sell_sweep() {
        let b = bbo(100 * PX, 101 * PX);
        let recs = [
            rec(b'T', b'A', 9, 100 * PX, 2, 0),
            rec(b'F', b'B', 1, 100 * PX, 2, 0),
            rec(b'T', b'A', 9, 99 * PX, 1, 0),
            rec(b'F', b'B', 2, 99 * PX, 1, 0),
            rec(b'T', b'A', 9, 98 * PX + PX / 2, 3, 0),
            rec(b'F', b'B', 3, 98 * PX + PX / 2, 3, 0),
            // The aggressor's own fill: not passive, not volume.
            rec(b'F', b'A', 9, 98 * PX + PX / 2, 6, 0),
            rec(b'C', b'B', 1, 100 * PX, 2, 0),
            rec(b'C', b'B', 2, 99 * PX, 1, 0),
            rec(b'C', b'B', 3, 98 * PX + PX / 2, 3, dbn::flags::LAST),
        ];
        let (out, st) = feed(&mut AggressorFolder::new(), &recs, &b);
        assert_eq!(out.len(), 1);
        let e = out[0];
        assert_eq!(e.side, AggressorSide::Sell);
        assert_eq!((e.size, e.levels, e.trades), (6, 3, 3));
        assert_eq!((e.first_px, e.last_px), (100 * PX, 98 * PX + PX / 2));
        // (200 + 99 + 295.5) / 6 = 99.083333333...
        assert_eq!(e.vwap_px, 99_083_333_333);
        // 594.5 × 20 = 11890.
        assert_eq!(e.premium, Decimal::from(11_890));
        assert_eq!(e.passive.as_slice().len(), 3);
        assert_eq!(e.passive.total_size(), 6);
        assert!(e.is_sweep());
        assert!(e.traded_through());
        assert_eq!(e.signed_size(), -6);
        assert_eq!((st.own_fills, st.passive_fills), (1, 3));
    }

    #[test]
    fn two_aggressors_in_one_event() {
        let b = bbo(100 * PX, 101 * PX);
        let recs = [
            rec(b'T', b'B', 9, 101 * PX, 1, 0),
            rec(b'F', b'A', 1, 101 * PX, 1, 0),
            rec(b'T', b'B', 10, 101 * PX, 2, 0),
            rec(b'F', b'A', 1, 101 * PX, 2, 0),
            rec(b'C', b'A', 1, 101 * PX, 3, dbn::flags::LAST),
        ];
        let (out, _) = feed(&mut AggressorFolder::new(), &recs, &b);
        assert_eq!(out.len(), 2);
        assert_eq!((out[0].aggressor_order_id, out[0].size), (9, 1));
        assert_eq!((out[1].aggressor_order_id, out[1].size), (10, 2));
        assert_eq!(out[1].passive.as_slice()[0].size, 2);
    }

    #[test]
    fn side_none_by_quote_rule() {
        let b = bbo(100 * PX, 102 * PX);
        let mut f = AggressorFolder::new();
        // Closer to the ask inside the spread: buy.
        let (out, st) = feed(
            &mut f,
            &[rec(b'T', b'N', 0, 101 * PX + 1, 1, dbn::flags::LAST)],
            &b,
        );
        assert_eq!(out[0].side, AggressorSide::Buy);
        assert!(out[0].side_inferred);
        assert_eq!(st.inferred_by_quote, 1);
        // At the bid: sell.
        let (out, _) = feed(
            &mut f,
            &[rec(b'T', b'N', 0, 100 * PX, 1, dbn::flags::LAST)],
            &b,
        );
        assert_eq!(out[0].side, AggressorSide::Sell);
        assert_eq!(quote_rule(103 * PX, &b), AggressorSide::Buy);
        assert_eq!(quote_rule(99 * PX, &b), AggressorSide::Sell);
        assert_eq!(quote_rule(101 * PX, &b), AggressorSide::Unknown);
        assert_eq!(
            quote_rule(101 * PX, &bbo(102 * PX, 100 * PX)),
            AggressorSide::Unknown
        );
    }

    #[test]
    fn side_none_by_tick_rule() {
        let b = bbo(100 * PX, 102 * PX);
        let mut f = AggressorFolder::new();
        // The first print at the midpoint: no history, unknown.
        let (out, st) = feed(
            &mut f,
            &[rec(b'T', b'N', 0, 101 * PX, 1, dbn::flags::LAST)],
            &b,
        );
        assert_eq!(out[0].side, AggressorSide::Unknown);
        assert_eq!(out[0].signed_size(), 0);
        assert_eq!(st.unclassified, 1);
        // A venue-sided print below, then the midpoint again: uptick, buy.
        feed(
            &mut f,
            &[rec(b'T', b'A', 3, 100 * PX, 1, dbn::flags::LAST)],
            &b,
        );
        let (out, st) = feed(
            &mut f,
            &[rec(b'T', b'N', 0, 101 * PX, 1, dbn::flags::LAST)],
            &b,
        );
        assert_eq!(out[0].side, AggressorSide::Buy);
        assert_eq!(st.inferred_by_tick, 1);
        // Same price again: zero-uptick, still buy.
        let (out, _) = feed(
            &mut f,
            &[rec(b'T', b'N', 0, 101 * PX, 1, dbn::flags::LAST)],
            &b,
        );
        assert_eq!(out[0].side, AggressorSide::Buy);
        // No quotes at all, price falls: downtick, sell.
        let (out, _) = feed(
            &mut f,
            &[rec(b'T', b'N', 0, 99 * PX, 1, dbn::flags::LAST)],
            &Bbo::default(),
        );
        assert_eq!(out[0].side, AggressorSide::Sell);
        assert_eq!(f.last_trade_px(), Some(99 * PX));
    }

    #[test]
    fn fills_never_add_volume() {
        let b = bbo(100 * PX, 101 * PX);
        let recs = [
            rec(b'F', b'A', 1, 101 * PX, 5, 0),
            rec(b'T', b'B', 9, 101 * PX, 2, 0),
            rec(b'F', b'A', 2, 101 * PX, 2, 0),
            rec(b'F', b'B', 9, 101 * PX, 2, 0),
            rec(b'N', b'N', 0, 0, 0, dbn::flags::LAST),
        ];
        let (out, st) = feed(&mut AggressorFolder::new(), &recs, &b);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].size, 2);
        assert_eq!(out[0].passive.total_size(), 2);
        assert_eq!(st.fills_without_trade, 1);
        assert_eq!(st.own_fills, 1);
    }

    #[test]
    fn bad_trades_are_counted_and_skipped() {
        let b = Bbo::default();
        let mut bad_side = rec(b'T', b'X', 9, PX, 1, 0);
        bad_side.side = b'X' as _;
        let recs = [
            rec(b'T', b'B', 9, UNDEF_PRICE, 1, 0),
            rec(b'T', b'B', 9, PX, 0, 0),
            bad_side,
            rec(b'N', b'N', 0, 0, 0, dbn::flags::LAST),
        ];
        let (out, st) = feed(&mut AggressorFolder::new(), &recs, &b);
        assert!(out.is_empty());
        assert_eq!(
            (st.undef_price, st.zero_size_trades, st.bad_side),
            (1, 1, 1)
        );
    }

    #[test]
    fn passive_overflow_is_counted() {
        let b = bbo(100 * PX, 101 * PX);
        let mut recs = vec![rec(b'T', b'B', 9, 101 * PX, 10, 0)];
        for i in 0..10 {
            recs.push(rec(b'F', b'A', 100 + i, 101 * PX, 1, 0));
        }
        recs.push(rec(b'N', b'N', 0, 0, 0, dbn::flags::LAST));
        let (out, _) = feed(&mut AggressorFolder::new(), &recs, &b);
        let p = out[0].passive;
        assert_eq!(p.as_slice().len(), MAX_PASSIVE_FILLS);
        assert_eq!(
            (
                p.dropped(),
                p.dropped_size(),
                p.total_count(),
                p.total_size()
            ),
            (2, 2, 10, 10)
        );
    }

    #[test]
    fn clear_flushes_pending() {
        let b = bbo(100 * PX, 101 * PX);
        let recs = [
            rec(b'T', b'B', 9, 101 * PX, 1, 0),
            rec(b'R', b'N', 0, UNDEF_PRICE, 0, 0),
        ];
        let (out, st) = feed(&mut AggressorFolder::new(), &recs, &b);
        assert_eq!(out.len(), 1);
        assert_eq!(st.flushed_by_clear, 1);
    }

    #[test]
    fn extreme_sizes_do_not_overflow() {
        let b = Bbo::default();
        let recs = [
            rec(b'T', b'B', 9, i64::MAX - 1, u32::MAX, 0),
            rec(b'T', b'B', 9, i64::MAX - 1, u32::MAX, dbn::flags::LAST),
        ];
        let mut out = Vec::new();
        let mut st = AggressorStats::default();
        let mut f = AggressorFolder::new();
        for r in &recs {
            f.on_record(r, r.action().unwrap(), &b, i64::MAX, &mut out, &mut st);
        }
        assert_eq!(out[0].size, 2 * u64::from(u32::MAX));
        assert_eq!(out[0].vwap_px, i64::MAX - 1);
        assert_eq!(out[0].premium, Decimal::MAX);
        assert_eq!(st.premium_overflow, 1);
    }
}
