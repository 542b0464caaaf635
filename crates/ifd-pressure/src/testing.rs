//! Proptest strategies and a reference order book, for property-based tests here and in
//! downstream crates (feature `testing`).
//!
//! - [`mbo_sequence`] generates **valid** MBO record sequences for one instrument: adds,
//!   partial and full cancels, modifies (price and size), trades, fills, `N` records,
//!   clears and full snapshots (`R` then `F_SNAPSHOT` adds), with `F_LAST` closing
//!   events. Cancels, modifies and fills always name a live order.
//! - [`mbo_noise`] generates arbitrary records (unknown actions and sides, reused ids,
//!   `UNDEF_PRICE`, zero sizes, any flags) to exercise the skip paths.
//! - [`ReferenceBook`] is a slow, obviously correct book (`BTreeMap` of price to a `Vec`
//!   queue) with the same record semantics as [`crate::Book`] (Databento's: a modify of
//!   an unknown order adds it), for differential tests.

use std::collections::BTreeMap;
use std::ffi::c_char;

use dbn::{flags, FlagSet, MboMsg, RecordHeader, Side, UNDEF_PRICE};
use proptest::prelude::*;

use crate::types::Level;

/// Publisher id used by generated records (GLBX.MDP3).
pub const PUBLISHER_ID: u16 = 1;
/// Instrument id used by generated records.
pub const INSTRUMENT_ID: u32 = 42;
/// Lowest generated price: 100.00 in 1e-9 fixed point.
pub const BASE_PRICE: i64 = 100_000_000_000;
/// Generated tick: 0.25.
pub const TICK: i64 = 250_000_000;

/// Builds an MBO record for [`INSTRUMENT_ID`]; `ts` becomes both `ts_event` and `ts_recv`.
#[must_use]
pub fn mbo(
    action: u8,
    side: u8,
    order_id: u64,
    price: i64,
    size: u32,
    flags: u8,
    ts: u64,
) -> MboMsg {
    MboMsg {
        hd: RecordHeader::new::<MboMsg>(dbn::rtype::MBO, PUBLISHER_ID, INSTRUMENT_ID, ts),
        order_id,
        price,
        size,
        flags: FlagSet::new(flags),
        channel_id: 0,
        action: action as c_char,
        side: side as c_char,
        ts_recv: ts,
        ts_in_delta: 0,
        sequence: 0,
    }
}

/// One step of a generated sequence, resolved against the live orders by
/// [`records_from_ops`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpSpec {
    /// Add a new order `ticks` above [`BASE_PRICE`].
    Add {
        /// Bid (true) or ask.
        bid: bool,
        /// Price offset in ticks.
        ticks: u8,
        /// Size (non-zero).
        size: u32,
    },
    /// Cancel part (`part` of 4 quarters, at least 1 lot) or all of the `pick`-th live order.
    Cancel {
        /// Which live order (modulo their number).
        pick: usize,
        /// Quarters of its size to cancel (4 or more = all).
        part: u8,
    },
    /// Modify the `pick`-th live order by `ticks` and to `size` (0 removes it).
    Modify {
        /// Which live order.
        pick: usize,
        /// Price change in ticks.
        ticks: i8,
        /// New size.
        size: u32,
    },
    /// A trade print (aggressor side `bid` or ask), which never changes the book.
    Trade {
        /// Aggressor is the buyer.
        bid: bool,
        /// Size.
        size: u32,
    },
    /// A fill of the `pick`-th live order, which never changes the book.
    Fill {
        /// Which live order.
        pick: usize,
    },
    /// An `N` record (flags only).
    Nothing,
    /// A Clear `R`.
    Clear,
    /// A full snapshot of the current book (`R` then `F_SNAPSHOT` adds).
    Snapshot,
}

/// Strategy for one [`OpSpec`], weighted toward adds, cancels and modifies.
pub fn op_spec() -> impl Strategy<Value = OpSpec> {
    prop_oneof![
        10 => (any::<bool>(), 0u8..24, 1u32..50).prop_map(|(bid, ticks, size)| OpSpec::Add { bid, ticks, size }),
        5 => (any::<usize>(), 1u8..6).prop_map(|(pick, part)| OpSpec::Cancel { pick, part }),
        5 => (any::<usize>(), -3i8..4, 0u32..60).prop_map(|(pick, ticks, size)| OpSpec::Modify { pick, ticks, size }),
        2 => (any::<bool>(), 1u32..20).prop_map(|(bid, size)| OpSpec::Trade { bid, size }),
        2 => any::<usize>().prop_map(|pick| OpSpec::Fill { pick }),
        1 => Just(OpSpec::Nothing),
        1 => Just(OpSpec::Clear),
        1 => Just(OpSpec::Snapshot),
    ]
}

/// Turns op specs into a valid record sequence. `lasts[i]` says whether op `i` closes its
/// event with `F_LAST` (missing entries mean true); the final record always carries it.
#[must_use]
pub fn records_from_ops(ops: &[OpSpec], lasts: &[bool]) -> Vec<MboMsg> {
    let mut model = ReferenceBook::new();
    let mut out: Vec<MboMsg> = Vec::with_capacity(ops.len());
    let mut next_id = 1u64;
    let mut ts = 1_000u64;
    for (i, op) in ops.iter().enumerate() {
        ts += 1;
        let last = if lasts.get(i).copied().unwrap_or(true) {
            flags::LAST
        } else {
            0
        };
        let live = model.orders();
        let pick = |p: usize| live.get(p % live.len().max(1)).copied();
        let mut records = Vec::new();
        match *op {
            OpSpec::Add { bid, ticks, size } => {
                let side = if bid { b'B' } else { b'A' };
                let price = BASE_PRICE + i64::from(ticks) * TICK;
                records.push(mbo(b'A', side, next_id, price, size.max(1), last, ts));
                next_id += 1;
            }
            OpSpec::Cancel { pick: p, part } => {
                if let Some((id, side, price, size)) = pick(p) {
                    let amount = if part >= 4 {
                        size
                    } else {
                        (size * u32::from(part) / 4).max(1)
                    };
                    records.push(mbo(b'C', side_byte(side), id, price, amount, last, ts));
                }
            }
            OpSpec::Modify {
                pick: p,
                ticks,
                size,
            } => {
                if let Some((id, side, price, _)) = pick(p) {
                    let new_price = price + i64::from(ticks) * TICK;
                    records.push(mbo(b'M', side_byte(side), id, new_price, size, last, ts));
                }
            }
            OpSpec::Trade { bid, size } => {
                let side = if bid { b'B' } else { b'A' };
                records.push(mbo(b'T', side, 0, BASE_PRICE, size, last, ts));
            }
            OpSpec::Fill { pick: p } => {
                if let Some((id, side, price, size)) = pick(p) {
                    records.push(mbo(b'F', side_byte(side), id, price, size, last, ts));
                }
            }
            OpSpec::Nothing => records.push(mbo(b'N', b'N', 0, UNDEF_PRICE, 0, last, ts)),
            OpSpec::Clear => records.push(mbo(b'R', b'N', 0, UNDEF_PRICE, 0, last, ts)),
            OpSpec::Snapshot => records.extend(model.snapshot_records(ts)),
        }
        for r in &records {
            model.apply(r);
        }
        out.extend(records);
    }
    if let Some(r) = out.last_mut() {
        r.flags = r.flags.set_last();
    }
    out
}

fn side_byte(side: Side) -> u8 {
    u8::from(side)
}

/// Strategy for a valid record sequence of up to `max_ops` steps (a snapshot step expands
/// to one record per resting order plus its `R`).
pub fn mbo_sequence(max_ops: usize) -> impl Strategy<Value = Vec<MboMsg>> {
    (
        prop::collection::vec(op_spec(), 0..=max_ops),
        prop::collection::vec(prop::bool::weighted(0.8), 0..=max_ops),
    )
        .prop_map(|(ops, lasts)| records_from_ops(&ops, &lasts))
}

/// Strategy for arbitrary, mostly invalid records of one instrument: any action and side
/// byte from a small alphabet (with unknown ones), order ids from a small range (reuse),
/// prices including `UNDEF_PRICE` and extremes, sizes including zero, any flags.
pub fn mbo_noise(max_len: usize) -> impl Strategy<Value = Vec<MboMsg>> {
    let action = prop::sample::select(&b"ACMRTFNX\0"[..]);
    let side = prop::sample::select(&b"BAN?"[..]);
    let price = prop_oneof![
        6 => (0i64..16).prop_map(|t| BASE_PRICE + t * TICK),
        1 => Just(UNDEF_PRICE),
        1 => any::<i64>(),
    ];
    let size = prop_oneof![6 => 1u32..40, 1 => Just(0u32), 1 => Just(u32::MAX)];
    let record = (action, side, 0u64..12, price, size, any::<u8>());
    prop::collection::vec(record, 0..=max_len).prop_map(|recs| {
        recs.into_iter()
            .enumerate()
            .map(|(i, (a, s, id, px, sz, fl))| mbo(a, s, id, px, sz, fl, i as u64))
            .collect()
    })
}

/// A slow, obviously correct order book with the record semantics of [`crate::Book`]:
/// per side a `BTreeMap` from price to the queue of `(order_id, size)` in time priority.
#[derive(Debug, Clone, Default)]
pub struct ReferenceBook {
    bids: BTreeMap<i64, Vec<(u64, u32)>>,
    asks: BTreeMap<i64, Vec<(u64, u32)>>,
    snapshot_active: bool,
    last_was_clear: bool,
}

impl ReferenceBook {
    /// An empty book.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn side_mut(&mut self, bid: bool) -> &mut BTreeMap<i64, Vec<(u64, u32)>> {
        if bid {
            &mut self.bids
        } else {
            &mut self.asks
        }
    }

    /// Finds an order: (is bid, price, position in queue, size).
    fn find(&self, order_id: u64) -> Option<(bool, i64, usize, u32)> {
        for (bid, side) in [(true, &self.bids), (false, &self.asks)] {
            for (&price, queue) in side {
                if let Some(pos) = queue.iter().position(|&(id, _)| id == order_id) {
                    return Some((bid, price, pos, queue[pos].1));
                }
            }
        }
        None
    }

    fn remove_at(&mut self, bid: bool, price: i64, pos: usize) {
        let side = self.side_mut(bid);
        if let Some(queue) = side.get_mut(&price) {
            queue.remove(pos);
            if queue.is_empty() {
                side.remove(&price);
            }
        }
    }

    fn push_back(&mut self, bid: bool, price: i64, order_id: u64, size: u32) {
        self.side_mut(bid)
            .entry(price)
            .or_default()
            .push((order_id, size));
    }

    fn clear(&mut self) {
        self.bids.clear();
        self.asks.clear();
    }

    /// Applies one record.
    pub fn apply(&mut self, m: &MboMsg) {
        let action = m.action as u8;
        if m.flags.is_snapshot() {
            if !self.snapshot_active && action != b'R' && !self.last_was_clear && !self.is_empty() {
                self.clear();
            }
            self.snapshot_active = true;
        } else {
            self.snapshot_active = false;
        }
        match action {
            b'A' => {
                let bid = match m.side as u8 {
                    b'B' => true,
                    b'A' => false,
                    _ => return self.note(action),
                };
                if m.price != UNDEF_PRICE && m.size != 0 {
                    if let Some((b, p, pos, _)) = self.find(m.order_id) {
                        self.remove_at(b, p, pos);
                    }
                    self.push_back(bid, m.price, m.order_id, m.size);
                }
            }
            b'C' if m.price != UNDEF_PRICE && m.size != 0 => {
                if let Some((b, p, pos, size)) = self.find(m.order_id) {
                    let left = size.saturating_sub(m.size);
                    if left == 0 {
                        self.remove_at(b, p, pos);
                    } else if let Some(q) = self.side_mut(b).get_mut(&p) {
                        q[pos].1 = left;
                    }
                }
            }
            b'M' if m.price != UNDEF_PRICE => {
                if let Some((b, p, pos, size)) = self.find(m.order_id) {
                    if m.size == 0 {
                        self.remove_at(b, p, pos);
                    } else if m.price != p || m.size > size {
                        self.remove_at(b, p, pos);
                        self.push_back(b, m.price, m.order_id, m.size);
                    } else if let Some(q) = self.side_mut(b).get_mut(&p) {
                        q[pos].1 = m.size;
                    }
                } else if m.size != 0 {
                    // Databento's semantics: a modify of an unknown order adds it.
                    match m.side as u8 {
                        b'B' => self.push_back(true, m.price, m.order_id, m.size),
                        b'A' => self.push_back(false, m.price, m.order_id, m.size),
                        _ => {}
                    }
                }
            }
            b'R' => self.clear(),
            _ => {}
        }
        self.note(action);
    }

    fn note(&mut self, action: u8) {
        if !matches!(action, b'T' | b'F' | b'N') {
            self.last_was_clear = action == b'R';
        }
    }

    /// True when no order rests.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.bids.is_empty() && self.asks.is_empty()
    }

    /// Levels of `side`, best first.
    #[must_use]
    pub fn levels(&self, side: Side) -> Vec<Level> {
        let summary = |(&price, q): (&i64, &Vec<(u64, u32)>)| Level {
            price,
            size: q.iter().map(|&(_, s)| u64::from(s)).sum(),
            count: q.len() as u32,
        };
        match side {
            Side::Bid => self.bids.iter().rev().map(summary).collect(),
            Side::Ask => self.asks.iter().map(summary).collect(),
            Side::None => Vec::new(),
        }
    }

    /// Resting orders as `(order_id, side, price, size)`: bids then asks, best level first,
    /// time priority within a level (the order of [`crate::Book::orders`]).
    #[must_use]
    pub fn orders(&self) -> Vec<(u64, Side, i64, u32)> {
        let bids = self
            .bids
            .iter()
            .rev()
            .flat_map(|(&p, q)| q.iter().map(move |&(id, s)| (id, Side::Bid, p, s)));
        let asks = self
            .asks
            .iter()
            .flat_map(|(&p, q)| q.iter().map(move |&(id, s)| (id, Side::Ask, p, s)));
        bids.chain(asks).collect()
    }

    /// The book as `R` plus one `F_SNAPSHOT` add per order, the last with `F_LAST`.
    #[must_use]
    pub fn snapshot_records(&self, ts: u64) -> Vec<MboMsg> {
        let snap = flags::SNAPSHOT;
        let mut out = vec![mbo(b'R', b'N', 0, UNDEF_PRICE, 0, snap, ts)];
        for (id, side, price, size) in self.orders() {
            out.push(mbo(b'A', side_byte(side), id, price, size, snap, ts));
        }
        if let Some(r) = out.last_mut() {
            r.flags = r.flags.set_last();
        }
        out
    }
}

/// The orders of a [`crate::Book`] as `(order_id, side, price, size)`, in
/// [`crate::Book::orders`] order, for comparison with [`ReferenceBook::orders`].
#[must_use]
pub fn book_orders(book: &crate::Book) -> Vec<(u64, Side, i64, u32)> {
    book.orders()
        .map(|o| (o.order_id, o.side, o.price, o.size))
        .collect()
}
