//! Order life cycles: the market-maker model and the iceberg tracker.
//!
//! MBO carries no participant ids, but it carries every order's id and life. Market
//! makers leave a recognisable trace in it (see [`MmConfig`] for the thresholds):
//!
//! | feature | why it marks market making | weight |
//! |---|---|---|
//! | *paired*: an add on the other side of the same instrument within `pair_window_ns`, size within `pair_size_ratio`, that is not already one side of a pair (an order posted right after a market maker's re-quote does not pair with it) | two-sided quoting around the mid | 0.40 |
//! | *re-quoted*: the order was modified (price or size) at least once | re-quoting as the underlying moves | 0.20 |
//! | *short-lived churn*: the instrument's cancelled size is at least `churn_ratio` × its filled size | high cancel-to-fill ratios | 0.20 |
//! | *wide presence*: the instrument is one of many with paired quotes (`wide_presence` instruments) | two-sided presence across many strikes | 0.20 |
//!
//! An aggressor event's market-maker likelihood rests on what hedging looks like: small
//! size (at most `hedge_max_size` contracts counts fully, fading to zero at three times
//! that), and an opposite-side aggression on the same instrument within
//! `flip_window_ns` (a market maker laying off what it just took on).
//!
//! A *dealer-to-dealer cross* ([`OrderLifecycles::is_dealer_cross`]) is market making
//! too, whatever its size: one resting order, alone at its price level (posted inside
//! the spread), taken in full by one aggressor of exactly its size within
//! `cross_fast_life_ns` of being posted, for a print of at least `cross_fast_min_size`
//! contracts (too fast for anyone but the dealer it was posted for), or within `cross_max_life_ns` when the instrument is quoted two-sided
//! again right after (a quote pair added after the print, within the caller's
//! look-ahead window): two quoting participants trading with each other and going
//! back to quoting. Where the spread is one tick there is no room inside it: the
//! dealer's order joins the touch and the taker takes the whole level, so a
//! block-sized print at one level of which one order posted within
//! `cross_fast_life_ns` (`cross_touch_life_ns` when the print also took the orders
//! queued ahead of it) and taken in full holds at least `cross_fast_min_share` is a
//! cross as well.
//!
//! The iceberg tracker follows resting orders that are filled: an order that is filled
//! for more than it ever showed holds hidden size, and an order that is exhausted and
//! replaced at the same price and side within `refill_window_ns` by an order of similar
//! displayed size is a refill. Refills chain into one [`IcebergChain`]. When one
//! aggressor exhausts several orders at the price (a market maker's quote queued ahead
//! of an iceberg), a new add refills the exhausted order of exactly its displayed size
//! first, and among those the one already in a chain, before the oldest: an iceberg
//! reloads the same display each time, and matching the oldest handed the iceberg's
//! chain to the market maker's re-quote while the iceberg's next refill started a new
//! chain (on the tuning seeds icebergs of 119 and 132 lots were split into chains of
//! one to four reloads each).
//!
//! A chain is a market maker's quote put back rather than hidden size when its first
//! order was a side of a quote pair (0.6), when more than one of its reloads in three
//! came within [`MmConfig::requote_window_ns`] of an add or modify of the other side of
//! the instrument (0.6, [`IcebergChain::two_sided_reloads`]: a market maker sends its
//! bid and offer back together), or when an order of it had been re-priced in
//! place before and is reloaded in place (0.4, [`IcebergChain::repriced`]): an order
//! that followed fair value by modifying its price is a quoting engine's, and one that
//! then tops up at its price after each hit is the market maker refilling its quote,
//! the trace an iceberg leaves too. On the perturbed worlds of `detection_quality
//! --perturb` with market makers that refill a hit quote at its price, every false
//! iceberg was a chain of a market maker's orders, a third of them one order topped up
//! in place.

use std::collections::hash_map::Entry;
use std::collections::VecDeque;
use std::hash::BuildHasherDefault;
use std::num::NonZeroU32;

use dbn::{Action, MboMsg, Side};

use ifd_pressure::IdMap;

/// Thresholds of the market-maker model and the iceberg tracker.
#[derive(Debug, Clone, PartialEq)]
pub struct MmConfig {
    /// Two adds on opposite sides of one instrument closer than this are a quote pair.
    pub pair_window_ns: u64,
    /// Largest size ratio between the two adds of a pair.
    pub pair_size_ratio: f64,
    /// Cancelled-to-filled size ratio above which an instrument counts as churned.
    pub churn_ratio: f64,
    /// Instruments with paired quotes needed for "wide presence".
    pub wide_presence: usize,
    /// Aggressor events up to this size look like hedges.
    pub hedge_max_size: u64,
    /// Opposite aggression on the same instrument within this window is a lay-off.
    pub flip_window_ns: u64,
    /// A same-price, same-side add this soon after an exhausted order is a refill.
    pub refill_window_ns: u64,
    /// Largest relative difference of displayed size between an order and its refill.
    pub refill_size_tolerance: f64,
    /// An iceberg chain idle for longer than this is forgotten.
    pub chain_idle_ns: u64,
    /// Dealer cross: the resting order was taken in full at most this long after it
    /// was posted, and the instrument was re-quoted two-sided right after (default
    /// 50 ms).
    pub cross_max_life_ns: u64,
    /// Dealer cross: a resting order taken in full by a print of at least
    /// `cross_fast_min_size` at most this long after it was posted is a cross whether
    /// or not a quote pair follows (default 5 ms: no outside participant sees an
    /// order inside the spread and takes all of it within 5 ms; a facilitation order
    /// for a negotiated block, posted for exactly its size, rests for longer, until the
    /// institution's order arrives).
    pub cross_fast_life_ns: u64,
    /// Dealer cross: the smallest print the `cross_fast_life_ns` rule applies to
    /// (default 150 contracts, the block floor: lifting a freshly re-quoted touch for a
    /// few lots is an ordinary take, and only block-sized prints could pass for
    /// institutional flow).
    pub cross_fast_min_size: u64,
    /// Dealer cross at the touch: a print of at least `cross_fast_min_size` at one price
    /// level of which one resting order, posted at most `cross_fast_life_ns` (or
    /// `cross_touch_life_ns`) before and
    /// taken in full, holds at least this share is a cross too (default 0.4). Where the
    /// spread is one tick a dealer cannot post inside it: the facilitation order joins
    /// the touch and the taker takes the whole level, the few lots queued ahead of it
    /// included. 0 turns this path off. Such a print is judged by
    /// `cross_touch_life_ns`, not `cross_fast_life_ns`.
    pub cross_fast_min_share: f64,
    /// Dealer cross at the touch: how long the fresh order may have rested when the
    /// print also took orders queued ahead of it at its price (default 10 ms). A
    /// facilitation order for a negotiated block is posted for the block's size and
    /// taken alone; a taker that clears the whole level, the queue included, within
    /// milliseconds of a dealer joining it is the dealer's counterparty (on
    /// independently written worlds such crosses came 1–10 ms after the post).
    pub cross_touch_life_ns: u64,
    /// A chain's reload within this long (ns of `ts_recv`, before or after) of an add or
    /// modify on the other side of its instrument is a two-sided re-quote (see
    /// [`IcebergChain::two_sided_reloads`]). A market maker sends its bid and offer back
    /// together; an iceberg's reload touches its own side. Default 0: only a quote of
    /// the same `ts_recv` (one packet) counts. On independently written worlds makers
    /// re-quoted 0.2–150 µs after the reload and 250 µs removed two false icebergs, but
    /// on Databento's real ES sample (`esh4-glbx-mdp3-20231225.mbo`) 250 µs marked 59
    /// of its 95 reload chains of three or more refills as two-sided (0: 5): in a real
    /// book some participant re-quotes the other side within microseconds of most
    /// fills, and whether those chains were icebergs no file here can tell.
    pub requote_window_ns: u64,
}

impl Default for MmConfig {
    fn default() -> Self {
        Self {
            pair_window_ns: 2_000_000,
            pair_size_ratio: 2.0,
            churn_ratio: 5.0,
            wide_presence: 8,
            hedge_max_size: 5,
            flip_window_ns: 500_000_000,
            refill_window_ns: 250_000_000,
            refill_size_tolerance: 0.25,
            chain_idle_ns: 120_000_000_000,
            cross_max_life_ns: 50_000_000,
            cross_fast_life_ns: 5_000_000,
            cross_fast_min_size: 150,
            cross_fast_min_share: 0.4,
            cross_touch_life_ns: 10_000_000,
            requote_window_ns: 0,
        }
    }
}

/// A resting order's life (its instrument is the map it sits in). 40 bytes, so that a
/// map bucket with its id takes 48 (of a 64-byte line) where it took 56.
#[derive(Debug, Clone, Copy)]
struct OrderInfo {
    price: i64,
    filled: u64,
    /// `ts_recv` of the add.
    added: u64,
    size: u32,
    peak: u32,
    /// One more than the index of the iceberg chain this order belongs to; `None` when
    /// it belongs to none (see [`OrderInfo::chain`]).
    chain_plus_one: Option<NonZeroU32>,
    modifies: u8,
    /// Modified to another price at least once (a quote that follows fair value).
    repriced: bool,
    bid: bool,
    paired: bool,
}

impl OrderInfo {
    /// Index of the iceberg chain this order belongs to, if any.
    #[inline]
    fn chain(&self) -> Option<u32> {
        self.chain_plus_one.map(|c| c.get() - 1)
    }

    /// Links the order to chain `c` (or to none). A chain index of `u32::MAX` cannot be
    /// stored and unlinks the order: the tracker would need 2^32 chains to get there.
    #[inline]
    fn set_chain(&mut self, c: Option<u32>) {
        self.chain_plus_one = c.and_then(|c| NonZeroU32::new(c.wrapping_add(1)));
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct LastAdd {
    order_id: u64,
    ts: u64,
    size: u32,
    valid: bool,
}

#[derive(Debug, Clone, Copy, Default)]
struct InstrumentActivity {
    last_add: [LastAdd; 2],
    paired_quotes: u64,
    cancelled_size: u64,
    filled_size: u64,
    last_aggr: [u64; 2],
    /// `ts_recv` of the latest two-sided quote pair.
    last_pair: u64,
    /// `ts_recv` of the latest add or modify per side (`usize::from(bid)`).
    last_quote: [u64; 2],
    /// A chain reloaded on this instrument (chain, bid, `ts_recv`) whose other side was
    /// not yet quoted within the pair window.
    pending_reload: Option<(u32, bool, u64)>,
}

/// An exhausted order waiting for a possible refill.
#[derive(Debug, Clone, Copy)]
struct Exhausted {
    order_id: u64,
    instrument_id: u32,
    bid: bool,
    price: i64,
    shown: u32,
    ts: u64,
    chain: Option<u32>,
    paired: bool,
    filled: u64,
    added: u64,
}

/// A passive order (or a chain of refilled orders) at one price that traded more than
/// it showed.
#[derive(Debug, Clone, PartialEq)]
pub struct IcebergChain {
    /// Stable index of the chain within the tracker.
    pub chain_id: u32,
    /// Instrument.
    pub instrument_id: u32,
    /// True for a resting bid (the institution buys), false for an ask.
    pub bid: bool,
    /// Price of the chain (fixed point 1e-9).
    pub price: i64,
    /// Displayed size of the orders (the largest seen).
    pub shown: u32,
    /// Times the order was reloaded (refills plus size increases after fills).
    pub refills: u32,
    /// Size filled beyond what was displayed at the time.
    pub hidden_fills: u64,
    /// Total size filled across the chain.
    pub filled: u64,
    /// Order ids in the chain (first [`crate::Evidence::MAX_ORDERS`]).
    pub orders: Vec<u64>,
    /// `ts_recv` of the first fill.
    pub first_ts: u64,
    /// `ts_recv` of the last fill or refill.
    pub last_ts: u64,
    /// True when the first order of the chain was part of a two-sided quote pair.
    pub paired: bool,
    /// Orders of the chain, the first included, that were one side of a two-sided
    /// quote pair, counted as each is exhausted and refilled (a market maker's
    /// re-quotes are pairs, an iceberg's refills are one-sided).
    pub paired_orders: u32,
    /// True when the chain reloads an order in place (its size modified back up, or
    /// filled beyond its display) that had been modified to another price before: a
    /// resting order that follows fair value in place is a quoting engine's, and one
    /// that then tops up after fills at its price is a market maker putting its quote
    /// back, not hidden size. (A chain of refills by new orders does not inherit it
    /// from the exhausted order it started from: an iceberg's first refill can pair,
    /// by price and time, with a market maker's order taken out ahead of it.)
    pub repriced: bool,
    /// Reloads of the chain within [`MmConfig::requote_window_ns`] (before or after)
    /// of an add or a modify of an order on the other side of the instrument: a market
    /// maker putting its quote back after a hit and re-quoting its other side at once.
    /// An iceberg's reload touches its own side only.
    pub two_sided_reloads: u32,
}

/// Counters of the order tracker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OrderStats {
    /// Records seen.
    pub records: u64,
    /// C/M/F records for orders the tracker never saw added (skipped).
    pub unknown_orders: u64,
    /// Records with an unusable side or action byte (skipped).
    pub bad_records: u64,
    /// Quote pairs recognised.
    pub pairs: u64,
    /// Refills recognised.
    pub refills: u64,
}

/// The hasher of the order map: venues hand out order ids in rising order, and orders
/// added close in time are cancelled and modified close in time (quotes churn), so ids
/// that differ only in their low 6 bits keep neighbouring buckets (their control bytes
/// share a cache line and the table is walked in address order as ids rise), while the
/// blocks of 64 ids are scattered by a multiply and hashbrown's 7-bit tag comes from a
/// multiply of the whole id. Ids with a common stride still spread: a block holding one
/// id is placed by the multiply alone. Iteration order never reaches an output (the maps
/// are only looked up, and cleared on a Clear `R`).
#[derive(Debug, Clone, Copy, Default)]
struct OrderIdHasher(u64);

impl std::hash::Hasher for OrderIdHasher {
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }

    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(self.0.rotate_left(8) ^ u64::from(b));
        }
    }

    #[inline]
    fn write_u64(&mut self, id: u64) {
        const MUL: u64 = 0xf135_7aea_2e62_a9c5;
        const TAG: u64 = 0x7f << 57;
        let block = (id >> 6).wrapping_mul(MUL);
        let block = block ^ (block >> 32);
        let low = (block << 6) | (id & 63);
        self.0 = (low & !TAG) | (id.wrapping_mul(MUL) & TAG);
    }
}

/// Order id to order, hashed by [`OrderIdHasher`].
type OrderMap = std::collections::HashMap<u64, OrderInfo, BuildHasherDefault<OrderIdHasher>>;

/// Follows every order's life: the market-maker model plus the iceberg tracker.
///
/// Orders are kept per instrument, as an exact book keeps them (Databento's reference
/// books hold one order map per instrument's book): a record's order id is looked up
/// among the orders of the record's instrument only. Each instrument's orders sit in a
/// small map of their own, so the orders of the instrument being traded share a few
/// kilobytes that stay in cache, where one map over every instrument's orders (17–23 k
/// live orders on a busy day, 1.8 MB) made a cancel or modify wait for memory.
#[derive(Debug, Clone, Default)]
pub struct OrderLifecycles {
    config: MmConfig,
    /// Per instrument (the index of `instruments`), its resting orders by id.
    orders: Vec<OrderMap>,
    /// Per instrument, indexed through `instrument_index`.
    instruments: Vec<InstrumentActivity>,
    instrument_index: IdMap<u32, u32>,
    /// The last instrument looked up and its index (runs of one instrument skip the map).
    last_instrument: Option<(u32, u32)>,
    /// Exhausted orders awaiting a refill, oldest first.
    exhausted: VecDeque<Exhausted>,
    chains: Vec<IcebergChain>,
    /// Chains touched since the last [`OrderLifecycles::take_touched`].
    touched: Vec<u32>,
    paired_instruments: usize,
    /// Exhausted orders whose refill joined a chain (the newest last).
    recent_chain_orders: VecDeque<u64>,
    stats: OrderStats,
}

/// Starts a new iceberg chain in `chains` and returns its id.
fn new_chain_in(
    chains: &mut Vec<IcebergChain>,
    iid: u32,
    bid: bool,
    price: i64,
    shown: u32,
    ts: u64,
    paired: bool,
) -> u32 {
    let chain_id = u32::try_from(chains.len()).unwrap_or(u32::MAX);
    chains.push(IcebergChain {
        chain_id,
        instrument_id: iid,
        bid,
        price,
        shown,
        refills: 0,
        hidden_fills: 0,
        filled: 0,
        orders: Vec::new(),
        first_ts: ts,
        last_ts: ts,
        paired,
        paired_orders: u32::from(paired),
        repriced: false,
        two_sided_reloads: 0,
    });
    chain_id
}

/// Adds `chain_id` to the chains touched since the last take.
fn touch_in(touched: &mut Vec<u32>, chain_id: u32) {
    if !touched.contains(&chain_id) {
        touched.push(chain_id);
    }
}

/// How many exhausted iceberg orders are remembered for counterparty checks.
const RECENT_CHAIN_ORDERS: usize = 64;

impl OrderLifecycles {
    /// A tracker with the given thresholds.
    #[must_use]
    pub fn new(config: MmConfig) -> Self {
        Self {
            config,
            ..Self::default()
        }
    }

    /// The thresholds in use.
    #[must_use]
    pub fn config(&self) -> &MmConfig {
        &self.config
    }

    /// Counters so far.
    #[must_use]
    pub fn stats(&self) -> OrderStats {
        self.stats
    }

    /// Resting orders tracked now.
    #[must_use]
    pub fn live_orders(&self) -> usize {
        self.orders.iter().map(OrderMap::len).sum()
    }

    /// The index of `iid`'s activity and orders, created on first use.
    #[inline]
    fn index_mut(&mut self, iid: u32) -> usize {
        let i = match self.last_instrument {
            Some((id, i)) if id == iid => i,
            _ => {
                let next = u32::try_from(self.instruments.len()).unwrap_or(u32::MAX);
                let i = *self.instrument_index.entry(iid).or_insert(next);
                if i == next {
                    self.instruments.push(InstrumentActivity::default());
                    self.orders.push(OrderMap::default());
                }
                self.last_instrument = Some((iid, i));
                i
            }
        };
        i as usize
    }

    /// The index of `iid`'s activity and orders, if it was seen.
    #[inline]
    fn index_of(&self, iid: u32) -> Option<usize> {
        match self.last_instrument {
            Some((id, i)) if id == iid => Some(i as usize),
            _ => self.instrument_index.get(&iid).map(|&i| i as usize),
        }
    }

    /// The activity of `iid`, if it was seen.
    fn activity(&self, iid: u32) -> Option<&InstrumentActivity> {
        self.index_of(iid).and_then(|i| self.instruments.get(i))
    }

    /// The resting order `order_id` of instrument `iid`.
    fn order(&self, iid: u32, order_id: u64) -> Option<&OrderInfo> {
        self.index_of(iid)
            .and_then(|i| self.orders.get(i))
            .and_then(|m| m.get(&order_id))
    }

    /// Applies one MBO record. Unknown orders and unusable bytes are counted and skipped.
    pub fn on_mbo(&mut self, rec: &MboMsg) {
        self.stats.records += 1;
        // The bytes' enums through `try_from`, not `MboMsg::action`/`side`, whose
        // formatted errors make them out-of-line calls on every record.
        let Ok(action) = Action::try_from(rec.action as u8) else {
            self.stats.bad_records += 1;
            return;
        };
        let ts = rec.ts_recv;
        let iid = rec.hd.instrument_id;
        match action {
            Action::Add => self.on_add(rec, iid, ts),
            Action::Cancel => {
                let i = self.index_mut(iid);
                self.on_cancel(rec, i, ts);
            }
            Action::Modify => {
                let i = self.index_mut(iid);
                self.on_modify(rec, i, ts);
            }
            Action::Fill => {
                let i = self.index_mut(iid);
                self.on_fill(rec, i, ts);
            }
            Action::Trade => {
                if let Ok(side) = Side::try_from(rec.side as u8) {
                    let idx = match side {
                        Side::Bid => 0,
                        Side::Ask => 1,
                        Side::None => return,
                    };
                    let i = self.index_mut(iid);
                    self.instruments[i].last_aggr[idx] = ts;
                }
            }
            Action::Clear => self.on_clear(iid),
            Action::None => {}
        }
    }

    fn on_add(&mut self, rec: &MboMsg, iid: u32, ts: u64) {
        let bid = match Side::try_from(rec.side as u8) {
            Ok(Side::Bid) => true,
            Ok(Side::Ask) => false,
            _ => {
                self.stats.bad_records += 1;
                return;
            }
        };
        if rec.size == 0 || rec.price == dbn::UNDEF_PRICE {
            self.stats.bad_records += 1;
            return;
        }
        let pair_window_ns = self.config.pair_window_ns;
        let pair_size_ratio = self.config.pair_size_ratio;
        let i = self.index_mut(iid);
        let other = self.instruments[i].last_add[usize::from(bid)];
        let mut paired = false;
        let mut first_pair = false;
        // One order is the partner of at most one quote pair: an add right after a
        // quote pair does not pair with it again (checked last: it is a lookup).
        if other.valid
            && ts.saturating_sub(other.ts) <= pair_window_ns
            && !self.orders[i]
                .get(&other.order_id)
                .is_some_and(|o| o.paired)
        {
            let (a, b) = (f64::from(rec.size), f64::from(other.size));
            if a.max(b) <= pair_size_ratio * a.min(b) {
                let act = &mut self.instruments[i];
                paired = true;
                first_pair = act.paired_quotes == 0;
                act.paired_quotes += 1;
                act.last_pair = ts;
            }
        }
        self.instruments[i].last_add[usize::from(!bid)] = LastAdd {
            order_id: rec.order_id,
            ts,
            size: rec.size,
            valid: true,
        };
        if paired {
            if first_pair {
                self.paired_instruments += 1;
            }
            self.stats.pairs += 1;
            if let Some(o) = self.orders[i].get_mut(&other.order_id) {
                o.paired = true;
            }
        }
        let chain = self.match_refill(iid, bid, rec.price, rec.size, ts, rec.order_id);
        self.note_quote(i, bid, ts);
        if let Some(c) = chain {
            self.note_reload(i, c, bid, ts);
        }
        let mut info = OrderInfo {
            price: rec.price,
            filled: 0,
            added: ts,
            size: rec.size,
            peak: rec.size,
            chain_plus_one: None,
            modifies: 0,
            repriced: false,
            bid,
            paired,
        };
        info.set_chain(chain);
        self.orders[i].insert(rec.order_id, info);
    }

    /// Links a new add to a recently exhausted order at the same price and side.
    fn match_refill(
        &mut self,
        iid: u32,
        bid: bool,
        price: i64,
        size: u32,
        ts: u64,
        order_id: u64,
    ) -> Option<u32> {
        let cfg = &self.config;
        while self
            .exhausted
            .front()
            .is_some_and(|e| ts.saturating_sub(e.ts) > cfg.refill_window_ns)
        {
            self.exhausted.pop_front();
        }
        if self.exhausted.is_empty() {
            return None;
        }
        // Several orders at one price are exhausted by one aggressor (a market maker's
        // quote ahead of an iceberg in the queue): the refill continues the order it
        // reloads, which shows exactly its displayed size and is already a chain's,
        // before the oldest candidate (which would hand the iceberg's chain to the
        // market maker's re-quote and start the iceberg's refills a new chain).
        let rank = |e: &Exhausted| u8::from(e.shown == size) * 2 + u8::from(e.chain.is_some());
        let mut pos = None;
        let mut best = 0;
        for (k, e) in self.exhausted.iter().enumerate() {
            let matches = ts.saturating_sub(e.ts) <= cfg.refill_window_ns
                && e.instrument_id == iid
                && e.bid == bid
                && e.price == price
                && (f64::from(size) - f64::from(e.shown)).abs()
                    <= cfg.refill_size_tolerance * f64::from(e.shown.max(1));
            if matches && (pos.is_none() || rank(e) > best) {
                pos = Some(k);
                best = rank(e);
            }
        }
        let pos = pos?;
        let e = self.exhausted.remove(pos)?;
        if self.recent_chain_orders.len() >= RECENT_CHAIN_ORDERS {
            self.recent_chain_orders.pop_front();
        }
        self.recent_chain_orders.push_back(e.order_id);
        let chain_id = match e.chain {
            Some(c) => {
                let ch = &mut self.chains[c as usize];
                ch.paired_orders += u32::from(e.paired);
                c
            }
            None => {
                let c = new_chain_in(&mut self.chains, iid, bid, price, e.shown, e.ts, e.paired);
                self.chains[c as usize].filled = e.filled;
                c
            }
        };
        let chain = &mut self.chains[chain_id as usize];
        chain.refills += 1;
        chain.last_ts = ts;
        chain.shown = chain.shown.max(size);
        if chain.orders.len() < crate::Evidence::MAX_ORDERS {
            chain.orders.push(order_id);
        }
        self.stats.refills += 1;
        touch_in(&mut self.touched, chain_id);
        Some(chain_id)
    }

    fn on_cancel(&mut self, rec: &MboMsg, i: usize, ts: u64) {
        let Entry::Occupied(mut entry) = self.orders[i].entry(rec.order_id) else {
            self.stats.unknown_orders += 1;
            return;
        };
        let o = entry.get_mut();
        let removed = rec.size.min(o.size);
        o.size -= removed;
        let filled_recently = o.filled > 0;
        if o.size == 0 {
            let o = entry.remove();
            if filled_recently {
                self.exhausted.push_back(Exhausted {
                    order_id: rec.order_id,
                    instrument_id: rec.hd.instrument_id,
                    bid: o.bid,
                    price: o.price,
                    shown: o.peak,
                    ts,
                    chain: o.chain(),
                    paired: o.paired,
                    filled: o.filled,
                    added: o.added,
                });
            }
        }
        if !filled_recently {
            self.instruments[i].cancelled_size += u64::from(removed);
        }
    }

    fn on_modify(&mut self, rec: &MboMsg, i: usize, ts: u64) {
        let Entry::Occupied(mut entry) = self.orders[i].entry(rec.order_id) else {
            self.stats.unknown_orders += 1;
            return;
        };
        if rec.size == 0 {
            entry.remove();
            return;
        }
        let o = entry.get_mut();
        o.modifies = o.modifies.saturating_add(1);
        let bid = o.bid;
        let reload = rec.price == o.price && rec.size > o.size && o.filled > 0;
        if rec.price != o.price {
            o.filled = 0;
            o.set_chain(None);
            o.repriced = true;
        }
        o.price = rec.price;
        o.size = rec.size;
        o.peak = o.peak.max(rec.size);
        if reload {
            let chain_id = match o.chain() {
                Some(c) => c,
                None => {
                    let c = new_chain_in(
                        &mut self.chains,
                        rec.hd.instrument_id,
                        o.bid,
                        o.price,
                        o.peak,
                        ts,
                        o.paired,
                    );
                    self.chains[c as usize].orders.push(rec.order_id);
                    o.set_chain(Some(c));
                    c
                }
            };
            let chain = &mut self.chains[chain_id as usize];
            chain.repriced |= o.repriced;
            chain.refills += 1;
            chain.last_ts = ts;
            self.stats.refills += 1;
            touch_in(&mut self.touched, chain_id);
            self.note_quote(i, bid, ts);
            self.note_reload(i, chain_id, bid, ts);
        } else {
            self.note_quote(i, bid, ts);
        }
    }

    /// An add or modify on side `bid` of instrument `i` at `ts`: completes a reload of
    /// the other side pending within `requote_window_ns` before it (see
    /// [`IcebergChain::two_sided_reloads`]).
    fn note_quote(&mut self, i: usize, bid: bool, ts: u64) {
        let window = self.config.requote_window_ns;
        let act = &mut self.instruments[i];
        act.last_quote[usize::from(bid)] = ts;
        if let Some((c, reload_bid, at)) = act.pending_reload {
            if reload_bid != bid && ts.saturating_sub(at) <= window {
                act.pending_reload = None;
                if let Some(ch) = self.chains.get_mut(c as usize) {
                    ch.two_sided_reloads += 1;
                }
            }
        }
    }

    /// A reload of chain `c` on side `bid` of instrument `i` at `ts`: two-sided when the
    /// other side was quoted within `requote_window_ns` before it, else pending until a
    /// quote of the other side comes within that window after it.
    fn note_reload(&mut self, i: usize, c: u32, bid: bool, ts: u64) {
        let window = self.config.requote_window_ns;
        let act = &mut self.instruments[i];
        let other = act.last_quote[usize::from(!bid)];
        if other > 0 && ts.saturating_sub(other) <= window {
            act.pending_reload = None;
            if let Some(ch) = self.chains.get_mut(c as usize) {
                ch.two_sided_reloads += 1;
            }
        } else {
            act.pending_reload = Some((c, bid, ts));
        }
    }

    fn on_fill(&mut self, rec: &MboMsg, i: usize, ts: u64) {
        let Some(o) = self.orders[i].get_mut(&rec.order_id) else {
            self.stats.unknown_orders += 1;
            return;
        };
        let fill = u64::from(rec.size);
        o.filled += fill;
        let hidden = fill.saturating_sub(u64::from(o.size));
        let iid = rec.hd.instrument_id;
        if hidden > 0 && o.chain().is_none() {
            let c = new_chain_in(&mut self.chains, iid, o.bid, o.price, o.peak, ts, o.paired);
            self.chains[c as usize].orders.push(rec.order_id);
            self.chains[c as usize].repriced = o.repriced;
            o.set_chain(Some(c));
        }
        if let Some(c) = o.chain() {
            let ch = &mut self.chains[c as usize];
            ch.filled += fill;
            ch.hidden_fills += hidden;
            ch.last_ts = ts;
            touch_in(&mut self.touched, c);
        }
        self.instruments[i].filled_size += fill;
    }

    fn on_clear(&mut self, iid: u32) {
        if let Some(i) = self.index_of(iid) {
            self.orders[i].clear();
        }
        self.exhausted.retain(|e| e.instrument_id != iid);
    }

    /// Iceberg chains that were filled or refilled since the last call, ascending by id.
    /// Chains idle past `chain_idle_ns` at `now` are dropped from the pending list.
    pub fn take_touched(&mut self, now: u64) -> Vec<IcebergChain> {
        let mut ids = std::mem::take(&mut self.touched);
        ids.sort_unstable();
        let idle = self.config.chain_idle_ns;
        ids.iter()
            .filter_map(|&c| self.chains.get(c as usize))
            .filter(|c| now.saturating_sub(c.last_ts) <= idle)
            .cloned()
            .collect()
    }

    /// True when `order_id` is (or recently was) an order of an iceberg chain: resting
    /// on `instrument_id` and linked to a chain, exhausted and awaiting its refill, or
    /// exhausted and refilled.
    #[must_use]
    pub fn is_iceberg_order(&self, instrument_id: u32, order_id: u64) -> bool {
        self.order(instrument_id, order_id)
            .is_some_and(|o| o.chain().is_some())
            || self
                .exhausted
                .iter()
                .any(|e| e.order_id == order_id && e.chain.is_some())
            || self.recent_chain_orders.contains(&order_id)
    }

    /// Market-maker likelihood of the resting order `order_id` of `instrument_id` in
    /// [0, 1] (0 for an unknown order).
    #[must_use]
    pub fn order_likelihood(&self, instrument_id: u32, order_id: u64) -> f64 {
        let Some(o) = self.order(instrument_id, order_id) else {
            return 0.0;
        };
        let act = self.activity(instrument_id).copied().unwrap_or_default();
        self.likelihood(o.paired, o.modifies > 0, &act)
    }

    fn likelihood(&self, paired: bool, requoted: bool, act: &InstrumentActivity) -> f64 {
        let mut p = 0.0;
        if paired {
            p += 0.4;
        }
        if requoted {
            p += 0.2;
        }
        #[allow(clippy::cast_precision_loss, reason = "ratio of counters for a score")]
        let churn =
            act.cancelled_size as f64 >= self.config.churn_ratio * (act.filled_size.max(1) as f64);
        if churn {
            p += 0.2;
        }
        if act.paired_quotes > 0 && self.paired_instruments >= self.config.wide_presence {
            p += 0.2;
        }
        p
    }

    /// Market-maker likelihood of an iceberg chain in [0, 1]: 0.6 when its first order
    /// was part of a two-sided quote pair, 0.4 when an order of it had been re-priced
    /// in place ([`IcebergChain::repriced`]), plus 0.1 each for the instrument's churn
    /// and wide two-sided presence. A chain is re-quoted by construction, and churn
    /// and presence describe the instrument rather than the order, so they weigh
    /// little.
    #[must_use]
    pub fn chain_likelihood(&self, chain: &IcebergChain) -> f64 {
        let act = self
            .activity(chain.instrument_id)
            .copied()
            .unwrap_or_default();
        // More than one reload in three sent with a re-quote of the other side is a
        // market maker's quote put back, like a first order that was one side of a pair.
        let two_sided = chain.two_sided_reloads.saturating_mul(3) > chain.refills;
        let mut p: f64 = if chain.paired || two_sided { 0.6 } else { 0.0 };
        if chain.repriced {
            p += 0.4;
        }
        #[allow(clippy::cast_precision_loss, reason = "ratio of counters for a score")]
        if act.cancelled_size as f64 >= self.config.churn_ratio * (act.filled_size.max(1) as f64) {
            p += 0.1;
        }
        if act.paired_quotes > 0 && self.paired_instruments >= self.config.wide_presence {
            p += 0.1;
        }
        p.min(1.0)
    }

    /// True when `ev` is a dealer-to-dealer cross (see the module docs): its one
    /// passive order, alone at its level before the print, was taken in full by
    /// exactly the event's size, either within `cross_fast_life_ns` of its add (for
    /// prints of at least `cross_fast_min_size`), or within `cross_max_life_ns` with a
    /// two-sided quote pair added on the instrument after the print and at most
    /// `lookahead_ns` later; or a block-sized print at one level most of which one such
    /// fresh order provided (`cross_fast_min_share`). Call it once the records up to
    /// `ev.ts_recv + lookahead_ns` were applied.
    #[must_use]
    pub fn is_dealer_cross(&self, ev: &ifd_pressure::AggressorEvent, lookahead_ns: u64) -> bool {
        if self.is_touch_cross(ev) {
            return true;
        }
        let [p] = ev.passive.as_slice() else {
            return false;
        };
        if ev.passive.dropped() > 0 || u64::from(p.size) != ev.size || ev.levels != 1 {
            return false;
        }
        let Some(x) = self
            .exhausted
            .iter()
            .rev()
            .find(|e| e.order_id == p.order_id)
        else {
            return false;
        };
        let level = if x.bid {
            ev.bbo_before.bid
        } else {
            ev.bbo_before.ask
        };
        let alone = level.is_some_and(|l| l.count == 1 && l.size == ev.size && l.price == x.price);
        if !alone || x.filled != ev.size {
            return false;
        }
        let life = ev.ts_recv.saturating_sub(x.added);
        if life <= self.config.cross_fast_life_ns && ev.size >= self.config.cross_fast_min_size {
            return true;
        }
        let requoted = self
            .activity(x.instrument_id)
            .is_some_and(|a| a.last_pair > ev.ts_recv && a.last_pair - ev.ts_recv <= lookahead_ns);
        life <= self.config.cross_max_life_ns && requoted
    }

    /// A block-sized print at one level most of which one order posted within
    /// `cross_fast_life_ns` and taken in full provided (`cross_fast_min_share`).
    fn is_touch_cross(&self, ev: &ifd_pressure::AggressorEvent) -> bool {
        let share = self.config.cross_fast_min_share;
        if share.is_nan()
            || share <= 0.0
            || ev.levels != 1
            || ev.size < self.config.cross_fast_min_size
        {
            return false;
        }
        ev.passive.as_slice().iter().any(|p| {
            #[allow(clippy::cast_precision_loss, reason = "sizes far below 2^52")]
            let large = f64::from(p.size) >= share * ev.size as f64;
            large
                && self
                    .exhausted
                    .iter()
                    .rev()
                    .find(|e| e.order_id == p.order_id)
                    .is_some_and(|x| {
                        let alone = u64::from(p.size) == ev.size;
                        let life = if alone {
                            self.config.cross_fast_life_ns
                        } else {
                            self.config.cross_touch_life_ns
                        };
                        x.filled == u64::from(p.size) && ev.ts_recv.saturating_sub(x.added) <= life
                    })
        })
    }

    /// Market-maker (hedging) likelihood of an aggressor event of `size` on
    /// `instrument_id` by side `buy` at `ts_recv`, in [0, 1]: 0.35 for small size (fading
    /// to 0 at three times `hedge_max_size`), 0.35 for an opposite aggression on the same
    /// instrument within `flip_window_ns`, and 0.3 when `aggressor_order_id` is a resting
    /// order of two-sided quoting (a market maker's own quote crossing).
    #[must_use]
    pub fn aggressor_likelihood(
        &self,
        instrument_id: u32,
        buy: bool,
        size: u64,
        ts_recv: u64,
        aggressor_order_id: u64,
    ) -> f64 {
        let h = self.config.hedge_max_size.max(1);
        #[allow(
            clippy::cast_precision_loss,
            reason = "sizes of contracts, far below 2^52"
        )]
        let small = if size <= h {
            0.35
        } else {
            0.35 * (1.0 - (size - h) as f64 / (2 * h) as f64).max(0.0)
        };
        let flip = self.activity(instrument_id).is_some_and(|a| {
            let other = a.last_aggr[usize::from(buy)];
            other != 0 && ts_recv.saturating_sub(other) <= self.config.flip_window_ns
        });
        let quoting = aggressor_order_id != 0
            && self
                .order(instrument_id, aggressor_order_id)
                .is_some_and(|o| o.paired);
        (small + if flip { 0.35 } else { 0.0 } + if quoting { 0.3 } else { 0.0 }).min(1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dbn::{FlagSet, RecordHeader};

    fn rec(iid: u32, oid: u64, action: Action, side: Side, px: i64, size: u32, ts: u64) -> MboMsg {
        MboMsg {
            hd: RecordHeader::new::<MboMsg>(dbn::rtype::MBO, 1, iid, ts),
            order_id: oid,
            price: px,
            size,
            flags: FlagSet::empty().set_last(),
            channel_id: 0,
            action: u8::from(action) as std::ffi::c_char,
            side: u8::from(side) as std::ffi::c_char,
            ts_recv: ts,
            ts_in_delta: 0,
            sequence: 0,
        }
    }

    const P: i64 = 1_000_000_000;

    #[test]
    fn an_order_posted_right_after_a_quote_pair_does_not_pair_with_it() {
        let mut t = OrderLifecycles::new(MmConfig::default());
        // A market maker's two-sided re-quote, then an institution's offer 100 µs later:
        // the re-quote's bid is the latest bid add, within the pair window and of a
        // similar size, but it is already one side of a pair.
        t.on_mbo(&rec(1, 10, Action::Add, Side::Bid, 5 * P, 10, 1_000));
        t.on_mbo(&rec(1, 11, Action::Add, Side::Ask, 6 * P, 10, 11_000));
        t.on_mbo(&rec(1, 12, Action::Add, Side::Ask, 6 * P, 15, 111_000));
        assert_eq!(t.stats().pairs, 1);
        assert!(t.order_likelihood(1, 10) >= 0.4);
        assert!(t.order_likelihood(1, 11) >= 0.4);
        assert!(
            t.order_likelihood(1, 12) < 0.4,
            "{}",
            t.order_likelihood(1, 12)
        );
        // The next two-sided re-quote pairs again.
        t.on_mbo(&rec(1, 13, Action::Add, Side::Bid, 5 * P, 12, 5_000_000));
        t.on_mbo(&rec(1, 14, Action::Add, Side::Ask, 6 * P, 12, 5_010_000));
        assert_eq!(t.stats().pairs, 2);
        assert!(t.order_likelihood(1, 13) >= 0.4 && t.order_likelihood(1, 14) >= 0.4);
    }

    #[test]
    fn pairs_are_market_making() {
        let mut t = OrderLifecycles::new(MmConfig::default());
        t.on_mbo(&rec(1, 10, Action::Add, Side::Bid, 5 * P, 10, 1_000));
        t.on_mbo(&rec(1, 11, Action::Add, Side::Ask, 6 * P, 12, 1_500));
        t.on_mbo(&rec(1, 12, Action::Add, Side::Bid, 5 * P, 50, 900_000_000));
        assert_eq!(t.stats().pairs, 1);
        assert!(t.order_likelihood(1, 10) >= 0.4);
        assert!(t.order_likelihood(1, 11) >= 0.4);
        assert!(t.order_likelihood(1, 12) < 0.4);
    }

    #[test]
    fn refills_chain_into_an_iceberg() {
        let mut t = OrderLifecycles::new(MmConfig::default());
        let mut ts = 1_000_000;
        let mut oid = 100;
        t.on_mbo(&rec(7, oid, Action::Add, Side::Bid, 3 * P, 10, ts));
        for _ in 0..4 {
            ts += 1_000_000;
            t.on_mbo(&rec(7, 0, Action::Trade, Side::Ask, 3 * P, 10, ts));
            t.on_mbo(&rec(7, oid, Action::Fill, Side::Bid, 3 * P, 10, ts));
            t.on_mbo(&rec(7, oid, Action::Cancel, Side::Bid, 3 * P, 10, ts));
            ts += 5_000_000;
            oid += 1;
            t.on_mbo(&rec(7, oid, Action::Add, Side::Bid, 3 * P, 10, ts));
        }
        let chains = t.take_touched(ts);
        assert_eq!(chains.len(), 1);
        let c = &chains[0];
        assert_eq!(c.refills, 4);
        assert_eq!(
            c.filled, 40,
            "every fill of the chain, the first order's too"
        );
        assert!(c.bid);
        assert!(t.take_touched(ts).is_empty(), "touched list is drained");
    }

    #[test]
    fn a_refill_continues_the_order_it_reloads_not_the_oldest_exhausted() {
        // A market maker's bid of 12 rests ahead of an iceberg showing 10 at the same
        // price; each aggressor exhausts both, the iceberg reloads 10 first and the
        // market maker re-quotes 12 after. Both sizes are within the refill tolerance
        // of either exhausted order.
        let mut t = OrderLifecycles::new(MmConfig::default());
        let mut ts = 1_000_000;
        let (mut mm, mut ice) = (100, 200);
        t.on_mbo(&rec(7, mm, Action::Add, Side::Bid, 3 * P, 12, ts));
        t.on_mbo(&rec(7, ice, Action::Add, Side::Bid, 3 * P, 10, ts + 1));
        let mut iceberg_orders = Vec::new();
        for _ in 0..4 {
            ts += 1_000_000_000;
            t.on_mbo(&rec(7, 0, Action::Trade, Side::Ask, 3 * P, 22, ts));
            t.on_mbo(&rec(7, mm, Action::Fill, Side::Bid, 3 * P, 12, ts));
            t.on_mbo(&rec(7, mm, Action::Cancel, Side::Bid, 3 * P, 12, ts));
            t.on_mbo(&rec(7, ice, Action::Fill, Side::Bid, 3 * P, 10, ts));
            t.on_mbo(&rec(7, ice, Action::Cancel, Side::Bid, 3 * P, 10, ts));
            ice += 1;
            mm += 1;
            iceberg_orders.push(ice);
            t.on_mbo(&rec(
                7,
                ice,
                Action::Add,
                Side::Bid,
                3 * P,
                10,
                ts + 500_000,
            ));
            t.on_mbo(&rec(
                7,
                mm,
                Action::Add,
                Side::Bid,
                3 * P,
                12,
                ts + 3_000_000,
            ));
        }
        let chains = t.take_touched(ts + 3_000_000);
        let iceberg = chains
            .iter()
            .find(|c| c.orders.contains(&ice))
            .expect("the iceberg's last order is in a chain");
        assert_eq!(
            iceberg.orders, iceberg_orders,
            "one chain of the iceberg's refills"
        );
        assert_eq!(iceberg.refills, 4);
        assert_eq!(iceberg.filled, 40);
        assert!(chains
            .iter()
            .filter(|c| c.chain_id != iceberg.chain_id)
            .all(|c| c.orders.iter().all(|o| !iceberg_orders.contains(o))));
    }

    #[test]
    fn fill_beyond_display_is_hidden() {
        let mut t = OrderLifecycles::new(MmConfig::default());
        t.on_mbo(&rec(7, 5, Action::Add, Side::Ask, 3 * P, 5, 10));
        t.on_mbo(&rec(7, 5, Action::Fill, Side::Ask, 3 * P, 25, 20));
        let chains = t.take_touched(20);
        assert_eq!(chains.len(), 1);
        assert_eq!(chains[0].hidden_fills, 20);
        assert!(!chains[0].bid);
    }

    #[test]
    fn an_order_keeps_its_chain_index() {
        let mut o = OrderInfo {
            price: P,
            filled: 0,
            added: 0,
            size: 1,
            peak: 1,
            chain_plus_one: None,
            modifies: 0,
            repriced: false,
            bid: true,
            paired: false,
        };
        assert_eq!(o.chain(), None);
        for c in [0, 1, 7, u32::MAX - 1] {
            o.set_chain(Some(c));
            assert_eq!(o.chain(), Some(c));
        }
        // The one index that cannot be stored unlinks the order rather than wrap.
        o.set_chain(Some(u32::MAX));
        assert_eq!(o.chain(), None);
        o.set_chain(Some(3));
        o.set_chain(None);
        assert_eq!(o.chain(), None);
        assert_eq!(size_of::<OrderInfo>(), 40);
    }

    #[test]
    fn orders_are_kept_per_instrument() {
        let mut t = OrderLifecycles::new(MmConfig::default());
        // One order id on two instruments is two orders, as in two books.
        t.on_mbo(&rec(1, 5, Action::Add, Side::Bid, P, 10, 1_000));
        t.on_mbo(&rec(2, 5, Action::Add, Side::Ask, 2 * P, 10, 2_000_000_000));
        assert_eq!(t.live_orders(), 2);
        // A fill beyond its display makes instrument 2's order an iceberg, not 1's.
        t.on_mbo(&rec(
            2,
            5,
            Action::Fill,
            Side::Ask,
            2 * P,
            25,
            3_000_000_000,
        ));
        assert!(t.is_iceberg_order(2, 5));
        assert!(!t.is_iceberg_order(1, 5));
        // A cancel removes the order of its own instrument only, and so does a clear.
        t.on_mbo(&rec(1, 5, Action::Cancel, Side::Bid, P, 10, 4_000_000_000));
        assert_eq!(t.live_orders(), 1);
        assert!(t.is_iceberg_order(2, 5));
        t.on_mbo(&rec(3, 6, Action::Add, Side::Bid, P, 1, 5_000_000_000));
        t.on_mbo(&rec(2, 0, Action::Clear, Side::None, 0, 0, 6_000_000_000));
        assert_eq!(t.live_orders(), 1);
        assert!(!t.is_iceberg_order(2, 5));
        // A cancel naming an id that rests on another instrument is an unknown order.
        t.on_mbo(&rec(4, 6, Action::Cancel, Side::Bid, P, 1, 7_000_000_000));
        assert_eq!(t.stats().unknown_orders, 1);
        assert_eq!(t.live_orders(), 1);
    }

    #[test]
    fn unknown_orders_are_counted_not_fatal() {
        let mut t = OrderLifecycles::new(MmConfig::default());
        t.on_mbo(&rec(1, 99, Action::Cancel, Side::Bid, P, 1, 1));
        t.on_mbo(&rec(1, 98, Action::Modify, Side::Bid, P, 1, 1));
        t.on_mbo(&rec(1, 97, Action::Fill, Side::Bid, P, 1, 1));
        assert_eq!(t.stats().unknown_orders, 3);
    }

    #[test]
    fn a_fresh_order_taken_in_full_then_requoted_is_a_dealer_cross() {
        use ifd_pressure::{AggressorEvent, AggressorSide, Bbo, Level, PassiveFill};
        let run = |life: u64, requote_at: u64, fill: u32| {
            let mut t = OrderLifecycles::new(MmConfig::default());
            // A 40-lot ask posted inside a 5.00/6.00 market at 5.50 ...
            t.on_mbo(&rec(3, 1, Action::Add, Side::Bid, 5 * P, 10, 0));
            t.on_mbo(&rec(3, 2, Action::Add, Side::Ask, 6 * P, 10, 100));
            t.on_mbo(&rec(
                3,
                9,
                Action::Add,
                Side::Ask,
                11 * P / 2,
                40,
                1_000_000,
            ));
            // ... taken in full `life` ns later,
            let ts = 1_000_000 + life;
            t.on_mbo(&rec(3, 77, Action::Trade, Side::Bid, 11 * P / 2, fill, ts));
            t.on_mbo(&rec(3, 9, Action::Fill, Side::Ask, 11 * P / 2, fill, ts));
            t.on_mbo(&rec(3, 9, Action::Cancel, Side::Ask, 11 * P / 2, 40, ts));
            // then both sides quote again.
            t.on_mbo(&rec(
                3,
                20,
                Action::Add,
                Side::Bid,
                5 * P,
                10,
                ts + requote_at,
            ));
            t.on_mbo(&rec(
                3,
                21,
                Action::Add,
                Side::Ask,
                6 * P,
                10,
                ts + requote_at + 100,
            ));
            // PassiveFills has no public constructor: build one fill through serde.
            let mut fills = vec![PassiveFill::default(); ifd_pressure::MAX_PASSIVE_FILLS];
            fills[0] = PassiveFill {
                order_id: 9,
                size: fill,
            };
            let passive: ifd_pressure::PassiveFills = serde_json::from_value(serde_json::json!({
                "fills": fills, "len": 1, "dropped": 0, "dropped_size": 0
            }))
            .unwrap();
            let ev = AggressorEvent {
                instrument_id: 3,
                publisher_id: 1,
                ts_recv: ts,
                ts_event: ts,
                aggressor_order_id: 77,
                side: AggressorSide::Buy,
                side_inferred: false,
                size: u64::from(fill),
                levels: 1,
                trades: 1,
                first_px: 11 * P / 2,
                last_px: 11 * P / 2,
                vwap_px: 11 * P / 2,
                premium: rust_decimal::Decimal::ZERO,
                multiplier: 20 * P,
                bbo_before: Bbo {
                    bid: Some(Level {
                        price: 5 * P,
                        size: 10,
                        count: 1,
                    }),
                    ask: Some(Level {
                        price: 11 * P / 2,
                        size: 40,
                        count: 1,
                    }),
                },
                passive,
                bad_ts_recv: false,
            };
            t.is_dealer_cross(&ev, 5_000_000)
        };
        assert!(run(2_000_000, 1_000_000, 40));
        assert!(
            !run(200_000_000, 1_000_000, 40),
            "a resting order, not a fresh one"
        );
        assert!(
            !run(2_000_000, 9_000_000, 40),
            "no re-quote within the look-ahead"
        );
        assert!(!run(2_000_000, 1_000_000, 30), "not taken in full");
    }

    #[test]
    fn small_flipping_aggression_is_hedging() {
        let mut t = OrderLifecycles::new(MmConfig::default());
        t.on_mbo(&rec(3, 0, Action::Trade, Side::Bid, P, 2, 1_000));
        let buy_again = t.aggressor_likelihood(3, true, 2, 2_000, 0);
        let sell_after = t.aggressor_likelihood(3, false, 2, 2_000, 0);
        assert!(sell_after > buy_again);
        assert!(sell_after >= 0.5, "a small lay-off is hedging");
        assert!(buy_again < 0.5, "small size alone is not market making");
        assert!(t.aggressor_likelihood(3, true, 200, 2_000, 0) < 0.01);
    }
}
