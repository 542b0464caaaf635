//! An exact L3 (market-by-order) book per instrument, and [`Books`], the container that
//! routes `dbn::MboMsg` records to them.
//!
//! # Record semantics
//! - `A` adds an order; an add that reuses a live id replaces the old order (counted as
//!   `dup_add`).
//! - `C` removes the record's size from the order (a partial or full cancel); a cancel
//!   larger than what rests clamps to zero (counted as `cancel_overshoot`).
//! - `M` modifies: a price change moves the order to the back of the new level; a size
//!   decrease keeps its queue position; a size increase sends it to the back of its level;
//!   a modify to size zero removes it (counted as `modify_to_zero`). These are the
//!   priority rules of Databento's own limit-order-book examples.
//! - `M` of an order id not in the book **adds** it at the back of its level, as
//!   Databento's examples do ("if order not found, treat it as an add"): on a stream that
//!   starts mid-session the order was resting before the first record, and its modify
//!   reveals it. It is counted as `implicit_adds` and still counts as an unknown-order
//!   reference for health (see [`Completeness`]). An `M` of an unknown id that cannot be
//!   added (no side, size zero) is counted as `unknown_modify` and skipped.
//! - `R` clears the book.
//! - `T`, `F` and `N` never change the book (a fill's effect arrives as the `C`/`M` of the
//!   same event). Their flags are still processed.
//! - `UNDEF_PRICE` or zero size on `A`/`C`, `UNDEF_PRICE` on `M`, a side other than bid or
//!   ask on `A`, an unknown action byte, and `C` of an unknown order id are counted per
//!   kind in [`BookStats`] and skipped. No order is ever created by `C` or `F`.
//! - Book state is meant to be read at `F_LAST` boundaries: [`Book::is_consistent`] says
//!   whether the last record applied to the book carried `F_LAST`.
//! - `F_SNAPSHOT` records rebuild the book: a snapshot normally follows an `R`; when one
//!   starts on a non-empty book without it, the book is cleared first (counted as
//!   `implicit_clears`).
//!
//! # Design
//! - **Orders** live in a slab (`Vec` of nodes, freed slots reused) and are found by id
//!   through an [`ifd_core::IdMap<u64, u32>`] (a `HashMap` with a small multiplicative
//!   hasher, one multiply, instead of SipHash: venue order ids are not attacker-chosen,
//!   and the hasher has no random seed, so iteration order is deterministic). Each node is
//!   linked into its level's queue (an intrusive doubly linked list through slab
//!   indices) and knows its level's slot, so cancels and same-price modifies touch no
//!   price index at all: they are O(1) plus one hash operation; adds and price changes
//!   add one level search.
//! - **Levels** live in a second slab; per side a `Vec` of `(sort key, level slot)` is
//!   kept sorted with the **best level at the end** (asks use `!price` as key, so both
//!   sides sort ascending without overflow). The best level is read in O(1); finding a
//!   price checks the top and the far end (snapshots list levels best first) before a
//!   binary search; creating or emptying a level shifts the entries above it, which for
//!   options books (shallow, busiest at the top) is a few entries.
//! - Level size and order count are running sums, so [`Book::bbo`] and depth queries
//!   never walk orders; queue position walks the orders ahead in one level.
//! - The steady state allocates nothing per record: slabs and indexes reuse capacity.
//! - Per record, besides the operation itself: the `F_LAST` crossed check compares the
//!   two best sort keys (no level is loaded), the health tracker's unknown-order window
//!   costs one add and one compare, and routing in [`Books::apply`] is one compare
//!   against the last book used (records come in runs per instrument) before a hash
//!   lookup.
//! - Measured costs, and the alternative layouts that were measured and not adopted,
//!   are in `benches/BENCHMARKS.md` ("Book design: measured alternatives").

use std::collections::hash_map::Entry;

use dbn::{MboMsg, Side, UNDEF_PRICE};
use ifd_core::IdMap;

use crate::health::{Completeness, Health, HealthConfig, HealthStats, HealthTracker};
use crate::types::{Bbo, Level};

/// Side index: 0 bid, 1 ask.
const BID: usize = 0;
const ASK: usize = 1;

#[inline]
fn side_index(side: u8) -> Option<usize> {
    match side {
        b'B' => Some(BID),
        b'A' => Some(ASK),
        _ => None,
    }
}

#[inline]
fn side_of_index(i: usize) -> Side {
    if i == BID {
        Side::Bid
    } else {
        Side::Ask
    }
}

fn index_of_side(side: Side) -> Option<usize> {
    match side {
        Side::Bid => Some(BID),
        Side::Ask => Some(ASK),
        Side::None => None,
    }
}

/// Sort key of a price on a side: ascending keys put the best level last.
/// `!price` reverses the order for asks without overflow.
#[inline]
const fn sort_key(side: usize, price: i64) -> i64 {
    if side == BID {
        price
    } else {
        !price
    }
}

/// Null link of the order queues.
const NIL: u32 = u32::MAX;

/// An order in the slab, linked into its level's queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Node {
    order_id: u64,
    price: i64,
    ts_event: u64,
    ts_recv: u64,
    size: u32,
    prev: u32,
    next: u32,
    /// Slot of the node's level in the level slab.
    level: u32,
    side: u8,
}

#[derive(Debug, Clone, Copy, Default)]
struct PriceLevel {
    price: i64,
    size: u64,
    count: u32,
    /// First order in time priority (node slot).
    head: u32,
    /// Last order in time priority.
    tail: u32,
}

/// An order resting in a book.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OrderInfo {
    /// Venue order id.
    pub order_id: u64,
    /// Bid or ask.
    pub side: Side,
    /// Price in 1e-9 fixed point.
    pub price: i64,
    /// Remaining size.
    pub size: u32,
    /// `ts_event` of the record that placed the order where it rests now.
    pub ts_event: u64,
    /// `ts_recv` of the record that placed the order where it rests now.
    pub ts_recv: u64,
}

/// Where an order stands in its level's queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct QueuePosition {
    /// Orders ahead of it at the same price (0 = first in line).
    pub orders_ahead: u32,
    /// Their total size.
    pub size_ahead: u64,
}

/// Counts of records a book applied or skipped, per kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BookStats {
    /// MBO records seen.
    pub records: u64,
    /// Adds applied.
    pub adds: u64,
    /// Cancels applied.
    pub cancels: u64,
    /// Modifies applied.
    pub modifies: u64,
    /// Clears (`R`) applied.
    pub clears: u64,
    /// Trades (`T`), which never change the book.
    pub trades: u64,
    /// Fills (`F`), which never change the book.
    pub fills: u64,
    /// `N` records, which never change the book.
    pub nones: u64,
    /// Records carrying `F_SNAPSHOT`.
    pub snapshot_records: u64,
    /// `A`/`C`/`M` skipped because the price was `UNDEF_PRICE`.
    pub undef_price: u64,
    /// `A`/`C` skipped because the size was zero.
    pub zero_size: u64,
    /// `A` skipped because the side was neither bid nor ask.
    pub unknown_side: u64,
    /// Records skipped because the action byte was not a known action.
    pub unknown_action: u64,
    /// `C` of an order id not in the book (skipped).
    pub unknown_cancel: u64,
    /// `M` of an order id not in the book that could not be added (its side was neither
    /// bid nor ask, or its size was zero): skipped.
    pub unknown_modify: u64,
    /// `M` of an order id not in the book, added at the back of its level (Databento's
    /// semantics). Not included in `adds` or `modifies`.
    pub implicit_adds: u64,
    /// `A` that reused a live order id (the old order was replaced).
    pub dup_add: u64,
    /// `C` larger than the order's remaining size (clamped to zero).
    pub cancel_overshoot: u64,
    /// `M` to size zero (the order was removed).
    pub modify_to_zero: u64,
    /// `M` whose side disagreed with the resting order's side (the resting side is kept).
    pub side_mismatch: u64,
    /// Snapshots that began on a non-empty book without an `R` (the book was cleared).
    pub implicit_clears: u64,
    /// `A` skipped because the book already held 2^32 - 1 order slots.
    pub capacity_exceeded: u64,
}

impl BookStats {
    /// Cancels and modifies that referenced an order id not in the book (including the
    /// modifies that added it: `implicit_adds`).
    #[must_use]
    pub const fn unknown_order_refs(&self) -> u64 {
        self.unknown_cancel + self.unknown_modify + self.implicit_adds
    }

    /// Records skipped for any reason.
    #[must_use]
    pub const fn skipped(&self) -> u64 {
        self.undef_price
            + self.zero_size
            + self.unknown_side
            + self.unknown_action
            + self.unknown_cancel
            + self.unknown_modify
            + self.capacity_exceeded
    }

    /// Adds `other`'s counts to these.
    pub fn merge(&mut self, other: &Self) {
        let Self {
            records,
            adds,
            cancels,
            modifies,
            clears,
            trades,
            fills,
            nones,
            snapshot_records,
            undef_price,
            zero_size,
            unknown_side,
            unknown_action,
            unknown_cancel,
            unknown_modify,
            implicit_adds,
            dup_add,
            cancel_overshoot,
            modify_to_zero,
            side_mismatch,
            implicit_clears,
            capacity_exceeded,
        } = *other;
        self.records += records;
        self.adds += adds;
        self.cancels += cancels;
        self.modifies += modifies;
        self.clears += clears;
        self.trades += trades;
        self.fills += fills;
        self.nones += nones;
        self.snapshot_records += snapshot_records;
        self.undef_price += undef_price;
        self.zero_size += zero_size;
        self.unknown_side += unknown_side;
        self.unknown_action += unknown_action;
        self.unknown_cancel += unknown_cancel;
        self.unknown_modify += unknown_modify;
        self.implicit_adds += implicit_adds;
        self.dup_add += dup_add;
        self.cancel_overshoot += cancel_overshoot;
        self.modify_to_zero += modify_to_zero;
        self.side_mismatch += side_mismatch;
        self.implicit_clears += implicit_clears;
        self.capacity_exceeded += capacity_exceeded;
    }
}

/// Why a record was skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Skip {
    /// `UNDEF_PRICE` on `A`/`C`/`M`.
    UndefPrice,
    /// Zero size on `A`/`C`.
    ZeroSize,
    /// `A` with a side other than bid or ask.
    UnknownSide,
    /// An action byte dbn does not define.
    UnknownAction,
    /// `C` of an order id not in the book, or `M` of one that could not be added.
    UnknownOrder,
    /// `A` that found the book's order slab full (2^32 - 1 orders).
    CapacityExceeded,
}

/// What applying one record did to a book.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Applied {
    /// An order was added.
    Added,
    /// An order was reduced or removed by a cancel.
    Canceled,
    /// An order was modified (or removed by a modify to zero).
    Modified,
    /// A modify named an order id not in the book and the order was added.
    ImplicitAdd,
    /// The book was cleared.
    Cleared,
    /// A `T`, `F` or `N` record: the book is unchanged.
    NoBookChange,
    /// The record was skipped and counted.
    Skipped(Skip),
}

/// The exact order book of one instrument.
#[derive(Debug, Clone, Default)]
pub struct Book {
    ids: IdMap<u64, u32>,
    nodes: Vec<Node>,
    free: Vec<u32>,
    /// Level slab; slots are stable while a level lives.
    levels: Vec<PriceLevel>,
    free_levels: Vec<u32>,
    /// Per side, `(sort key, level slot)` sorted ascending: the best level is last.
    sides: [Vec<(i64, u32)>; 2],
    consistent: bool,
    snapshot_active: bool,
    last_was_clear: bool,
    health: HealthTracker,
    config: HealthConfig,
    stats: BookStats,
}

impl Book {
    /// An empty book with the default [`HealthConfig`].
    #[must_use]
    pub fn new() -> Self {
        Self::with_config(HealthConfig::default())
    }

    /// An empty book with the given health thresholds.
    #[must_use]
    pub fn with_config(config: HealthConfig) -> Self {
        Self {
            consistent: true,
            config,
            ..Self::default()
        }
    }

    /// Applies one MBO record. The record's instrument is not checked: routing is the
    /// caller's job (see [`Books`]).
    pub fn apply(&mut self, msg: &MboMsg) -> Applied {
        self.stats.records += 1;
        self.health.on_record(msg.ts_recv, &self.config);
        let flags = msg.flags;
        let action = msg.action as u8;
        if flags.is_snapshot() {
            self.stats.snapshot_records += 1;
            self.health.on_complete();
            if !self.snapshot_active
                && action != b'R'
                && !self.last_was_clear
                && !self.ids.is_empty()
            {
                self.clear_levels();
                self.stats.implicit_clears += 1;
                self.health.on_clear(msg.ts_recv);
            }
            self.snapshot_active = true;
        } else {
            self.snapshot_active = false;
        }
        if flags.is_maybe_bad_book() {
            self.health.on_maybe_bad_book();
        }
        // The three book-changing actions first, by hand: a jump table over every action
        // byte mispredicts more on the interleaved A/C/M stream.
        let applied = if action == b'M' {
            let r = self.modify(msg);
            self.health.on_book_op(
                matches!(
                    r,
                    Applied::ImplicitAdd | Applied::Skipped(Skip::UnknownOrder)
                )
                .then_some(msg.order_id),
                &self.config,
            );
            self.last_was_clear = false;
            r
        } else if action == b'A' {
            let r = self.add(msg);
            self.health.on_add(msg.order_id);
            self.health.on_book_op(None, &self.config);
            self.last_was_clear = false;
            r
        } else if action == b'C' {
            let r = self.cancel(msg);
            self.health.on_book_op(
                (r == Applied::Skipped(Skip::UnknownOrder)).then_some(msg.order_id),
                &self.config,
            );
            self.last_was_clear = false;
            r
        } else {
            self.apply_other(action, msg.ts_recv)
        };
        self.consistent = flags.is_last();
        if self.consistent {
            let crossed = self.top_crossed();
            self.health.on_last(crossed, msg.ts_recv);
        }
        applied
    }

    /// The actions other than `A`, `C` and `M`.
    fn apply_other(&mut self, action: u8, ts_recv: u64) -> Applied {
        match action {
            b'R' => {
                self.clear_levels();
                self.stats.clears += 1;
                self.health.on_clear(ts_recv);
                self.last_was_clear = true;
                Applied::Cleared
            }
            b'T' => {
                self.stats.trades += 1;
                Applied::NoBookChange
            }
            b'F' => {
                self.stats.fills += 1;
                Applied::NoBookChange
            }
            b'N' => {
                self.stats.nones += 1;
                Applied::NoBookChange
            }
            _ => {
                self.stats.unknown_action += 1;
                self.last_was_clear = false;
                Applied::Skipped(Skip::UnknownAction)
            }
        }
    }

    /// True when both sides have a best level and the bid is at or above the ask, read
    /// from the sort keys of the best levels alone (no level is loaded).
    #[inline]
    fn top_crossed(&self) -> bool {
        match (self.sides[BID].last(), self.sides[ASK].last()) {
            (Some(&(bid, _)), Some(&(ask_key, _))) => bid >= !ask_key,
            _ => false,
        }
    }

    fn alloc(&mut self, node: Node) -> Option<u32> {
        if let Some(slot) = self.free.pop() {
            self.nodes[slot as usize] = node;
            return Some(slot);
        }
        let slot = u32::try_from(self.nodes.len()).ok().filter(|&s| s != NIL)?;
        self.nodes.push(node);
        Some(slot)
    }

    fn add(&mut self, msg: &MboMsg) -> Applied {
        let Some(side) = side_index(msg.side as u8) else {
            self.stats.unknown_side += 1;
            return Applied::Skipped(Skip::UnknownSide);
        };
        if msg.price == UNDEF_PRICE {
            self.stats.undef_price += 1;
            return Applied::Skipped(Skip::UndefPrice);
        }
        if msg.size == 0 {
            self.stats.zero_size += 1;
            return Applied::Skipped(Skip::ZeroSize);
        }
        let r = self.insert(msg, side);
        if r == Applied::Added {
            self.stats.adds += 1;
        }
        r
    }

    /// A modify of an order id not in the book: added at the back of its level when it
    /// has a side and a size (Databento's semantics), else counted and skipped. Its price
    /// was checked by the caller.
    #[cold]
    fn implicit_add(&mut self, msg: &MboMsg) -> Applied {
        let side = side_index(msg.side as u8);
        let Some(side) = side.filter(|_| msg.size != 0) else {
            self.stats.unknown_modify += 1;
            return Applied::Skipped(Skip::UnknownOrder);
        };
        let r = self.insert(msg, side);
        if r == Applied::Added {
            self.stats.implicit_adds += 1;
            return Applied::ImplicitAdd;
        }
        r
    }

    /// Inserts a checked order at the back of its level: `Added`, or skipped when the
    /// slabs are full.
    #[inline(always)]
    fn insert(&mut self, msg: &MboMsg, side: usize) -> Applied {
        let node = Node {
            order_id: msg.order_id,
            price: msg.price,
            ts_event: msg.hd.ts_event,
            ts_recv: msg.ts_recv,
            size: msg.size,
            prev: NIL,
            next: NIL,
            level: NIL,
            side: side as u8,
        };
        let Some(slot) = self.alloc(node) else {
            self.stats.capacity_exceeded += 1;
            return Applied::Skipped(Skip::CapacityExceeded);
        };
        if let Some(old) = self.ids.insert(msg.order_id, slot) {
            self.stats.dup_add += 1;
            self.remove_node(old);
        }
        if !self.link_back(side, msg.price, slot) {
            self.ids.remove(&msg.order_id);
            self.free.push(slot);
            self.stats.capacity_exceeded += 1;
            return Applied::Skipped(Skip::CapacityExceeded);
        }
        Applied::Added
    }

    fn cancel(&mut self, msg: &MboMsg) -> Applied {
        if msg.price == UNDEF_PRICE {
            self.stats.undef_price += 1;
            return Applied::Skipped(Skip::UndefPrice);
        }
        if msg.size == 0 {
            self.stats.zero_size += 1;
            return Applied::Skipped(Skip::ZeroSize);
        }
        let Entry::Occupied(entry) = self.ids.entry(msg.order_id) else {
            self.stats.unknown_cancel += 1;
            return Applied::Skipped(Skip::UnknownOrder);
        };
        let slot = *entry.get();
        let node = &mut self.nodes[slot as usize];
        if msg.size >= node.size {
            if msg.size > node.size {
                self.stats.cancel_overshoot += 1;
            }
            entry.remove();
            self.remove_node(slot);
        } else {
            node.size -= msg.size;
            let level = &mut self.levels[node.level as usize];
            level.size = level.size.saturating_sub(u64::from(msg.size));
        }
        self.stats.cancels += 1;
        Applied::Canceled
    }

    fn modify(&mut self, msg: &MboMsg) -> Applied {
        if msg.price == UNDEF_PRICE {
            self.stats.undef_price += 1;
            return Applied::Skipped(Skip::UndefPrice);
        }
        let Some(&slot) = self.ids.get(&msg.order_id) else {
            return self.implicit_add(msg);
        };
        let node = self.nodes[slot as usize];
        let side = usize::from(node.side);
        if side_index(msg.side as u8).is_some_and(|s| s != side) {
            self.stats.side_mismatch += 1;
        }
        self.stats.modifies += 1;
        if msg.size == 0 {
            self.stats.modify_to_zero += 1;
            self.ids.remove(&msg.order_id);
            self.remove_node(slot);
            return Applied::Modified;
        }
        if msg.price != node.price {
            // Back of the new level.
            self.unlink(slot);
            let n = &mut self.nodes[slot as usize];
            n.price = msg.price;
            n.size = msg.size;
            n.ts_event = msg.hd.ts_event;
            n.ts_recv = msg.ts_recv;
            if !self.link_back(side, msg.price, slot) {
                self.ids.remove(&msg.order_id);
                self.free.push(slot);
                self.stats.capacity_exceeded += 1;
            }
        } else {
            let level = &mut self.levels[node.level as usize];
            level.size = level
                .size
                .saturating_sub(u64::from(node.size))
                .saturating_add(u64::from(msg.size));
            if msg.size > node.size {
                // Size increase: back of the same level.
                self.relink_back(slot);
                let n = &mut self.nodes[slot as usize];
                n.ts_event = msg.hd.ts_event;
                n.ts_recv = msg.ts_recv;
            }
            self.nodes[slot as usize].size = msg.size;
        }
        Applied::Modified
    }

    /// Position of `price` in the side's sorted index (`Err` = where it would go).
    #[inline]
    fn find_level(&self, side: usize, price: i64) -> Result<usize, usize> {
        let index = &self.sides[side];
        let key = sort_key(side, price);
        // The top (the end) is the busiest place; snapshots list levels best first, so
        // new levels there land at the far end: check both ends before bisecting.
        match index.last() {
            None => return Err(0),
            Some(&(k, _)) if k == key => return Ok(index.len() - 1),
            Some(&(k, _)) if k < key => return Err(index.len()),
            Some(_) => {}
        }
        if index[0].0 >= key {
            return if index[0].0 == key { Ok(0) } else { Err(0) };
        }
        index.binary_search_by_key(&key, |&(k, _)| k)
    }

    /// Appends node `slot` (whose price is `price`) to the back of its level, creating the
    /// level if needed. False only when the level slab is full.
    // Always inlined, like `unlink`: a call layer per record costs more than the copies
    // (measured: about 17 instructions per record, 5-9 % of the book's wall time).
    #[inline(always)]
    fn link_back(&mut self, side: usize, price: i64, slot: u32) -> bool {
        let level_slot = match self.find_level(side, price) {
            Ok(i) => self.sides[side][i].1,
            Err(i) => {
                let level = PriceLevel {
                    price,
                    size: 0,
                    count: 0,
                    head: NIL,
                    tail: NIL,
                };
                let l = if let Some(l) = self.free_levels.pop() {
                    self.levels[l as usize] = level;
                    l
                } else {
                    let Some(l) = u32::try_from(self.levels.len()).ok().filter(|&l| l != NIL)
                    else {
                        return false;
                    };
                    self.levels.push(level);
                    l
                };
                self.sides[side].insert(i, (sort_key(side, price), l));
                l
            }
        };
        let size = u64::from(self.nodes[slot as usize].size);
        let level = &mut self.levels[level_slot as usize];
        level.size = level.size.saturating_add(size);
        level.count += 1;
        let tail = level.tail;
        level.tail = slot;
        if tail == NIL {
            level.head = slot;
        } else {
            self.nodes[tail as usize].next = slot;
        }
        let n = &mut self.nodes[slot as usize];
        n.prev = tail;
        n.next = NIL;
        n.level = level_slot;
        true
    }

    /// Moves node `slot` to the back of its level without changing sums.
    fn relink_back(&mut self, slot: u32) {
        let Node {
            prev, next, level, ..
        } = self.nodes[slot as usize];
        if next == NIL {
            return; // already last
        }
        let level = &mut self.levels[level as usize];
        if prev == NIL {
            level.head = next;
        } else {
            self.nodes[prev as usize].next = next;
        }
        self.nodes[next as usize].prev = prev;
        let tail = level.tail;
        self.nodes[tail as usize].next = slot;
        level.tail = slot;
        let n = &mut self.nodes[slot as usize];
        n.prev = tail;
        n.next = NIL;
    }

    /// Detaches node `slot` from its level, updating the level's sums and removing the
    /// level when it empties. The node itself stays allocated.
    #[inline(always)]
    fn unlink(&mut self, slot: u32) {
        let n = self.nodes[slot as usize];
        if n.prev != NIL {
            self.nodes[n.prev as usize].next = n.next;
        }
        if n.next != NIL {
            self.nodes[n.next as usize].prev = n.prev;
        }
        let level = &mut self.levels[n.level as usize];
        if n.prev == NIL {
            level.head = n.next;
        }
        if n.next == NIL {
            level.tail = n.prev;
        }
        level.size = level.size.saturating_sub(u64::from(n.size));
        level.count = level.count.saturating_sub(1);
        if level.count == 0 {
            let side = usize::from(n.side);
            if let Ok(i) = self.find_level(side, n.price) {
                self.sides[side].remove(i);
            }
            self.free_levels.push(n.level);
        }
    }

    /// Unlinks and frees `slot` (its id must already be out of the id map).
    fn remove_node(&mut self, slot: u32) {
        self.unlink(slot);
        self.free.push(slot);
    }

    fn clear_levels(&mut self) {
        self.ids.clear();
        self.nodes.clear();
        self.free.clear();
        self.levels.clear();
        self.free_levels.clear();
        self.sides[BID].clear();
        self.sides[ASK].clear();
    }

    fn summary(&self, level_slot: u32) -> Level {
        let level = &self.levels[level_slot as usize];
        Level {
            price: level.price,
            size: level.size,
            count: level.count,
        }
    }

    /// Best bid and offer.
    #[must_use]
    #[inline]
    pub fn bbo(&self) -> Bbo {
        Bbo {
            bid: self.sides[BID].last().map(|&(_, l)| self.summary(l)),
            ask: self.sides[ASK].last().map(|&(_, l)| self.summary(l)),
        }
    }

    /// Best level of `side` (`None` when that side is empty or `side` is `Side::None`).
    #[must_use]
    pub fn best(&self, side: Side) -> Option<Level> {
        let s = index_of_side(side)?;
        self.sides[s].last().map(|&(_, l)| self.summary(l))
    }

    /// The levels of `side`, best first. `Side::None` yields nothing.
    pub fn levels(&self, side: Side) -> impl ExactSizeIterator<Item = Level> + '_ {
        let index: &[(i64, u32)] = match index_of_side(side) {
            Some(s) => &self.sides[s],
            None => &[],
        };
        index.iter().rev().map(|&(_, l)| self.summary(l))
    }

    /// The best `n` levels of `side`, best first.
    pub fn depth(&self, side: Side, n: usize) -> impl Iterator<Item = Level> + '_ {
        self.levels(side).take(n)
    }

    /// The level of `side` at exactly `price`.
    #[must_use]
    pub fn level(&self, side: Side, price: i64) -> Option<Level> {
        let s = index_of_side(side)?;
        let i = self.find_level(s, price).ok()?;
        Some(self.summary(self.sides[s][i].1))
    }

    fn info(n: &Node) -> OrderInfo {
        OrderInfo {
            order_id: n.order_id,
            side: side_of_index(usize::from(n.side)),
            price: n.price,
            size: n.size,
            ts_event: n.ts_event,
            ts_recv: n.ts_recv,
        }
    }

    /// The resting order with this id.
    #[must_use]
    #[inline]
    pub fn order(&self, order_id: u64) -> Option<OrderInfo> {
        self.ids
            .get(&order_id)
            .map(|&slot| Self::info(&self.nodes[slot as usize]))
    }

    fn walk(&self, head: u32) -> impl Iterator<Item = OrderInfo> + '_ {
        let mut cur = head;
        std::iter::from_fn(move || {
            let n = self.nodes.get(cur as usize)?;
            cur = n.next;
            Some(Self::info(n))
        })
    }

    /// The orders resting at `price` on `side`, in time priority (first in line first).
    pub fn orders_at(&self, side: Side, price: i64) -> impl Iterator<Item = OrderInfo> + '_ {
        let head = index_of_side(side)
            .and_then(|s| {
                self.find_level(s, price)
                    .ok()
                    .map(|i| self.levels[self.sides[s][i].1 as usize].head)
            })
            .unwrap_or(NIL);
        self.walk(head)
    }

    /// Where the order stands in its level's queue.
    #[must_use]
    pub fn queue_position(&self, order_id: u64) -> Option<QueuePosition> {
        let &slot = self.ids.get(&order_id)?;
        let mut pos = QueuePosition {
            orders_ahead: 0,
            size_ahead: 0,
        };
        let mut cur = self.nodes[slot as usize].prev;
        while let Some(n) = self.nodes.get(cur as usize) {
            pos.orders_ahead += 1;
            pos.size_ahead += u64::from(n.size);
            cur = n.prev;
        }
        Some(pos)
    }

    /// All resting orders, bids then asks, each side best level first and each level in
    /// time priority.
    pub fn orders(&self) -> impl Iterator<Item = OrderInfo> + '_ {
        [BID, ASK].into_iter().flat_map(move |s| {
            self.sides[s]
                .iter()
                .rev()
                .flat_map(move |&(_, l)| self.walk(self.levels[l as usize].head))
        })
    }

    /// Number of resting orders.
    #[must_use]
    pub fn order_count(&self) -> usize {
        self.ids.len()
    }

    /// True when no order rests.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// True when the last record applied carried `F_LAST` (or none was applied): the only
    /// moments at which the book is a consistent view of the venue's book.
    #[must_use]
    pub fn is_consistent(&self) -> bool {
        self.consistent
    }

    /// Current health.
    #[must_use]
    pub fn health(&self) -> Health {
        self.health.health()
    }

    /// How much of the venue's book this book has seen: partial when its stream started
    /// without a Clear `R` or a snapshot, until one arrives or the warm-up passes (see
    /// [`Completeness`]). The warm-up is measured up to this book's latest record.
    #[must_use]
    pub fn completeness(&self) -> Completeness {
        self.health.completeness()
    }

    /// [`Book::completeness`] with the warm-up measured up to `now_ts_recv` (the stream's
    /// latest `ts_recv`), for a quiet book whose own latest record is older.
    #[must_use]
    pub fn completeness_at(&self, now_ts_recv: u64) -> Completeness {
        self.health.completeness_at(now_ts_recv, &self.config)
    }

    /// How long the book has been crossed at `F_LAST` boundaries, in ns of `ts_recv`
    /// up to `now_ts_recv`; `None` when it is not crossed.
    #[must_use]
    pub fn crossed_for(&self, now_ts_recv: u64) -> Option<u64> {
        self.health
            .crossed_since()
            .map(|since| now_ts_recv.saturating_sub(since))
    }

    /// Health history counters.
    #[must_use]
    pub fn health_stats(&self) -> HealthStats {
        self.health.stats()
    }

    /// Marks the book as recovering after a gap the IO edge detected; it stays so until
    /// the next record with `F_LAST`.
    pub fn mark_gap(&mut self) {
        self.health.on_gap();
    }

    /// Marks the book suspect, as if `F_MAYBE_BAD_BOOK` had arrived on its channel; a
    /// Clear `R` lifts it.
    pub fn mark_maybe_bad_book(&mut self) {
        self.health.on_maybe_bad_book();
    }

    /// Per-kind counts of applied and skipped records.
    #[must_use]
    pub fn stats(&self) -> BookStats {
        self.stats
    }

    /// The book as a snapshot record sequence: a Clear `R`, then one `A` per resting
    /// order (bids then asks, best level first, time priority within a level) with
    /// `F_SNAPSHOT`, the last record also carrying `F_LAST`. Applying the sequence to a
    /// fresh [`Book`] reproduces this book's levels, orders and queue order.
    #[must_use]
    pub fn snapshot_records(
        &self,
        publisher_id: u16,
        instrument_id: u32,
        ts_recv: u64,
    ) -> Vec<MboMsg> {
        let header = |ts_event| {
            dbn::RecordHeader::new::<MboMsg>(dbn::rtype::MBO, publisher_id, instrument_id, ts_event)
        };
        let mut out = Vec::with_capacity(self.ids.len() + 1);
        out.push(MboMsg {
            hd: header(ts_recv),
            order_id: 0,
            price: UNDEF_PRICE,
            size: 0,
            flags: dbn::FlagSet::empty().set_snapshot(),
            channel_id: 0,
            action: b'R' as std::ffi::c_char,
            side: b'N' as std::ffi::c_char,
            ts_recv,
            ts_in_delta: 0,
            sequence: 0,
        });
        for o in self.orders() {
            out.push(MboMsg {
                hd: header(o.ts_event),
                order_id: o.order_id,
                price: o.price,
                size: o.size,
                flags: dbn::FlagSet::empty().set_snapshot(),
                channel_id: 0,
                action: b'A' as std::ffi::c_char,
                side: u8::from(o.side) as std::ffi::c_char,
                ts_recv,
                ts_in_delta: 0,
                sequence: 0,
            });
        }
        if let Some(last) = out.last_mut() {
            last.flags = last.flags.set_last();
        }
        out
    }

    /// Checks the internal invariants: every order sits exactly once in the queue of the
    /// level at its side and price, with consistent links; each level's size and count
    /// equal the sums over its orders; no level is empty; levels are strictly sorted; no
    /// resting order has size zero. Returns a description of the first violation. Meant
    /// for tests and fuzzing; it walks the whole book.
    #[must_use]
    pub fn check_invariants(&self) -> Option<String> {
        let mut seen = 0usize;
        for (s, index) in self.sides.iter().enumerate() {
            for (a, b) in index.iter().zip(index.iter().skip(1)) {
                if a.0 >= b.0 {
                    return Some(format!("side {s}: levels not strictly sorted"));
                }
            }
            for &(key, l) in index {
                let Some(level) = self.levels.get(l as usize) else {
                    return Some(format!("dangling level slot {l}"));
                };
                if sort_key(s, level.price) != key {
                    return Some(format!("level {} indexed under the wrong key", level.price));
                }
                let (mut size, mut count) = (0u64, 0u32);
                let (mut prev, mut cur) = (NIL, level.head);
                while cur != NIL {
                    let Some(n) = self.nodes.get(cur as usize) else {
                        return Some(format!("dangling link {cur}"));
                    };
                    if n.prev != prev || n.level != l {
                        return Some(format!("order {} has broken links", n.order_id));
                    }
                    if usize::from(n.side) != s || n.price != level.price {
                        return Some(format!("order {} listed at the wrong level", n.order_id));
                    }
                    if n.size == 0 {
                        return Some(format!("order {} rests with size zero", n.order_id));
                    }
                    if self.ids.get(&n.order_id) != Some(&cur) {
                        return Some(format!("order {} is not indexed by its id", n.order_id));
                    }
                    size += u64::from(n.size);
                    count += 1;
                    if count as usize > self.nodes.len() {
                        return Some(format!("cycle in level {}", level.price));
                    }
                    prev = cur;
                    cur = n.next;
                }
                if level.tail != prev {
                    return Some(format!("level {} tail is not its last order", level.price));
                }
                if count == 0 {
                    return Some(format!("empty level {} on side {s}", level.price));
                }
                if size != level.size || count != level.count {
                    return Some(format!(
                        "level {} side {s}: size {} count {} but orders sum to {size}/{count}",
                        level.price, level.size, level.count
                    ));
                }
                seen += count as usize;
            }
        }
        if seen != self.ids.len() {
            return Some(format!(
                "{} order ids but {seen} queued orders",
                self.ids.len()
            ));
        }
        None
    }
}

/// Key of a book: publisher and instrument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BookKey {
    /// Databento publisher id (1 for GLBX.MDP3).
    pub publisher_id: u16,
    /// Instrument id.
    pub instrument_id: u32,
}

impl BookKey {
    #[inline]
    const fn packed(self) -> u64 {
        ((self.publisher_id as u64) << 32) | self.instrument_id as u64
    }
}

/// What [`Books::apply`] did with one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BookUpdate {
    /// The book the record went to.
    pub key: BookKey,
    /// Its index in [`Books`] (stable for the container's life; see [`Books::at`]).
    pub index: usize,
    /// What it did there.
    pub applied: Applied,
    /// True when the record carried `F_LAST`: the book is now consistent.
    pub last: bool,
}

/// All books of a session, keyed by publisher and instrument, with the channel each
/// instrument was last seen on.
#[derive(Debug, Clone, Default)]
pub struct Books {
    books: Vec<Book>,
    keys: Vec<BookKey>,
    channels: Vec<u8>,
    index: IdMap<u64, usize>,
    by_instrument: IdMap<u32, Vec<usize>>,
    last: Option<(u64, usize)>,
    config: HealthConfig,
    maybe_bad_book_records: u64,
}

impl Books {
    /// No books yet; each is created on its instrument's first record.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Uses `config` for every book created from now on.
    #[must_use]
    pub fn with_config(mut self, config: HealthConfig) -> Self {
        self.config = config;
        self
    }

    #[inline]
    fn slot(&mut self, key: BookKey) -> usize {
        let packed = key.packed();
        if let Some((k, i)) = self.last {
            if k == packed {
                return i;
            }
        }
        let i = match self.index.get(&packed) {
            Some(&i) => i,
            None => self.create(key),
        };
        self.last = Some((packed, i));
        i
    }

    #[cold]
    #[inline(never)]
    fn create(&mut self, key: BookKey) -> usize {
        let i = self.books.len();
        self.books.push(Book::with_config(self.config));
        self.keys.push(key);
        self.channels.push(u8::MAX);
        self.index.insert(key.packed(), i);
        self.by_instrument
            .entry(key.instrument_id)
            .or_default()
            .push(i);
        i
    }

    /// Applies one MBO record to its instrument's book (created on first sight).
    ///
    /// A record carrying `F_MAYBE_BAD_BOOK` marks every book of its publisher and channel
    /// suspect, not only its own.
    #[inline]
    pub fn apply(&mut self, msg: &MboMsg) -> BookUpdate {
        let key = BookKey {
            publisher_id: msg.hd.publisher_id,
            instrument_id: msg.hd.instrument_id,
        };
        let i = self.slot(key);
        self.channels[i] = msg.channel_id;
        if msg.flags.is_maybe_bad_book() {
            self.mark_channel_bad(i, key.publisher_id, msg.channel_id);
        }
        let applied = self.books[i].apply(msg);
        BookUpdate {
            key,
            index: i,
            applied,
            last: msg.flags.is_last(),
        }
    }

    /// `F_MAYBE_BAD_BOOK` arrived for book `i`: every other book of its publisher and
    /// channel becomes suspect too (its own is marked by `Book::apply`).
    #[cold]
    #[inline(never)]
    fn mark_channel_bad(&mut self, i: usize, publisher_id: u16, channel_id: u8) {
        self.maybe_bad_book_records += 1;
        for j in 0..self.books.len() {
            if j != i && self.keys[j].publisher_id == publisher_id && self.channels[j] == channel_id
            {
                self.books[j].mark_maybe_bad_book();
            }
        }
    }

    /// Applies a record if it is MBO; other record types are ignored (`Ok(None)`).
    ///
    /// # Errors
    /// [`crate::Error::MalformedRecord`] when the record claims to be MBO but is shorter
    /// than an `MboMsg`.
    #[inline]
    pub fn apply_record(&mut self, rec: &dbn::RecordRef<'_>) -> crate::Result<Option<BookUpdate>> {
        if rec.header().rtype != dbn::rtype::MBO {
            return Ok(None);
        }
        let msg = rec
            .try_get::<MboMsg>()
            .map_err(|_| crate::Error::MalformedRecord {
                rtype: dbn::rtype::MBO,
                reason: "record shorter than an MboMsg",
            })?;
        Ok(Some(self.apply(msg)))
    }

    /// The book of `key`.
    #[must_use]
    pub fn get(&self, key: BookKey) -> Option<&Book> {
        self.index.get(&key.packed()).map(|&i| &self.books[i])
    }

    /// The book at `index` (as given by [`BookUpdate::index`] or [`Books::index_of`]).
    #[must_use]
    #[inline]
    pub fn at(&self, index: usize) -> Option<&Book> {
        self.books.get(index)
    }

    /// The index of the book of `instrument_id` (the first publisher seen for it), for
    /// callers that cache it and read the book with [`Books::at`].
    #[must_use]
    pub fn index_of(&self, instrument_id: u32) -> Option<usize> {
        self.by_instrument
            .get(&instrument_id)
            .and_then(|v| v.first())
            .copied()
    }

    /// The book of `instrument_id` (the first publisher seen for it).
    #[must_use]
    pub fn book(&self, instrument_id: u32) -> Option<&Book> {
        self.by_instrument
            .get(&instrument_id)
            .and_then(|v| v.first())
            .map(|&i| &self.books[i])
    }

    /// Health of `instrument_id`: the worst over its publishers (suspect, then recovering,
    /// then crossed, then ok); `None` when no record for it was seen.
    #[must_use]
    pub fn health(&self, instrument_id: u32) -> Option<Health> {
        let rank = |h: &Health| match h {
            Health::Suspect(_) => 3,
            Health::Recovering => 2,
            Health::Crossed { .. } => 1,
            Health::Ok => 0,
        };
        self.by_instrument
            .get(&instrument_id)?
            .iter()
            .map(|&i| self.books[i].health())
            .max_by_key(rank)
    }

    /// Completeness of `instrument_id`'s book as of `now_ts_recv` (the stream's latest
    /// `ts_recv`): the least complete over its publishers (partial, then warm, then
    /// complete); `None` when no record for it was seen.
    #[must_use]
    pub fn completeness(&self, instrument_id: u32, now_ts_recv: u64) -> Option<Completeness> {
        let rank = |c: &Completeness| match c {
            Completeness::Complete => 0,
            Completeness::Warm => 1,
            Completeness::Partial { .. } => 2,
        };
        self.by_instrument
            .get(&instrument_id)?
            .iter()
            .map(|&i| self.books[i].completeness_at(now_ts_recv))
            .max_by_key(rank)
    }

    /// True when `instrument_id`'s books can be read for resting depth as of
    /// `now_ts_recv`: each is complete or warm ([`Completeness::depth_ready`]). False for
    /// an instrument never seen.
    #[must_use]
    pub fn is_depth_ready(&self, instrument_id: u32, now_ts_recv: u64) -> bool {
        self.completeness(instrument_id, now_ts_recv)
            .is_some_and(|c| c.depth_ready())
    }

    /// The channel the book of `key` was last seen on (`u8::MAX`, dbn's default, when the
    /// records carried none).
    #[must_use]
    pub fn channel(&self, key: BookKey) -> Option<u8> {
        self.index.get(&key.packed()).map(|&i| self.channels[i])
    }

    /// Marks books recovering after a gap detected by the IO edge: those of
    /// `publisher_id` on `channel_id`, or all of that publisher's books when `channel_id`
    /// is `None`. Returns how many books were marked.
    pub fn mark_gap(&mut self, publisher_id: u16, channel_id: Option<u8>) -> usize {
        let mut n = 0;
        for (i, book) in self.books.iter_mut().enumerate() {
            if self.keys[i].publisher_id == publisher_id
                && channel_id.is_none_or(|c| self.channels[i] == c)
            {
                book.mark_gap();
                n += 1;
            }
        }
        n
    }

    /// Every book with its key, in creation order.
    pub fn iter(&self) -> impl Iterator<Item = (BookKey, &Book)> + '_ {
        self.keys.iter().copied().zip(self.books.iter())
    }

    /// Number of books.
    #[must_use]
    pub fn len(&self) -> usize {
        self.books.len()
    }

    /// True when no book exists yet.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.books.is_empty()
    }

    /// Sum of all books' stats.
    #[must_use]
    pub fn stats(&self) -> BookStats {
        let mut total = BookStats::default();
        for b in &self.books {
            total.merge(&b.stats());
        }
        total
    }

    /// Records seen with `F_MAYBE_BAD_BOOK`.
    #[must_use]
    pub fn maybe_bad_book_records(&self) -> u64 {
        self.maybe_bad_book_records
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use dbn::{flags, FlagSet};

    fn msg(action: u8, side: u8, order_id: u64, price: i64, size: u32, flags: u8) -> MboMsg {
        MboMsg {
            hd: dbn::RecordHeader::new::<MboMsg>(dbn::rtype::MBO, 1, 7, 0),
            order_id,
            price,
            size,
            flags: FlagSet::new(flags),
            channel_id: 0,
            action: action as std::ffi::c_char,
            side: side as std::ffi::c_char,
            ts_recv: order_id,
            ts_in_delta: 0,
            sequence: 0,
        }
    }

    const L: u8 = flags::LAST;

    fn ids_at(book: &Book, side: Side, price: i64) -> Vec<u64> {
        book.orders_at(side, price).map(|o| o.order_id).collect()
    }

    #[test]
    fn add_cancel_modify_and_priority() {
        let mut b = Book::new();
        for (id, px, sz) in [(1, 100, 5), (2, 100, 3), (3, 99, 4), (4, 100, 2)] {
            assert_eq!(b.apply(&msg(b'A', b'B', id, px, sz, L)), Applied::Added);
        }
        b.apply(&msg(b'A', b'A', 10, 101, 7, L));
        assert_eq!(
            b.bbo(),
            Bbo {
                bid: Some(Level {
                    price: 100,
                    size: 10,
                    count: 3
                }),
                ask: Some(Level {
                    price: 101,
                    size: 7,
                    count: 1
                }),
            }
        );
        assert_eq!(ids_at(&b, Side::Bid, 100), vec![1, 2, 4]);
        assert_eq!(
            b.queue_position(4),
            Some(QueuePosition {
                orders_ahead: 2,
                size_ahead: 8
            })
        );
        // Size decrease keeps priority.
        b.apply(&msg(b'M', b'B', 1, 100, 4, L));
        assert_eq!(ids_at(&b, Side::Bid, 100), vec![1, 2, 4]);
        // Size increase loses it.
        b.apply(&msg(b'M', b'B', 1, 100, 6, L));
        assert_eq!(ids_at(&b, Side::Bid, 100), vec![2, 4, 1]);
        // Price change moves to the back of the new level.
        b.apply(&msg(b'M', b'B', 2, 99, 3, L));
        assert_eq!(ids_at(&b, Side::Bid, 99), vec![3, 2]);
        assert_eq!(
            b.level(Side::Bid, 99),
            Some(Level {
                price: 99,
                size: 7,
                count: 2
            })
        );
        // Partial then full cancel.
        assert_eq!(b.apply(&msg(b'C', b'B', 4, 100, 1, L)), Applied::Canceled);
        assert_eq!(b.order(4).unwrap().size, 1);
        b.apply(&msg(b'C', b'B', 4, 100, 1, L));
        assert!(b.order(4).is_none());
        assert_eq!(
            b.best(Side::Bid),
            Some(Level {
                price: 100,
                size: 6,
                count: 1
            })
        );
        assert_eq!(
            b.depth(Side::Bid, 5).collect::<Vec<_>>(),
            vec![
                Level {
                    price: 100,
                    size: 6,
                    count: 1
                },
                Level {
                    price: 99,
                    size: 7,
                    count: 2
                }
            ]
        );
        assert_eq!(b.check_invariants(), None);
        assert_eq!(
            b.apply(&msg(b'R', b'N', 0, UNDEF_PRICE, 0, 0)),
            Applied::Cleared
        );
        assert!(b.is_empty());
        assert_eq!(b.bbo(), Bbo::default());
        assert_eq!(b.health(), Health::Recovering);
    }

    #[test]
    fn bad_input_is_counted_and_skipped() {
        let mut b = Book::new();
        b.apply(&msg(b'A', b'A', 1, 200, 5, L));
        let before = b.orders().collect::<Vec<_>>();
        let cases = [
            (msg(b'A', b'N', 2, 200, 5, L), Skip::UnknownSide),
            (msg(b'A', b'A', 2, UNDEF_PRICE, 5, L), Skip::UndefPrice),
            (msg(b'A', b'A', 2, 200, 0, L), Skip::ZeroSize),
            (msg(b'C', b'A', 99, 200, 1, L), Skip::UnknownOrder),
            (msg(b'M', b'N', 99, 200, 1, L), Skip::UnknownOrder),
            (msg(b'M', b'A', 99, 200, 0, L), Skip::UnknownOrder),
            (msg(b'X', b'A', 1, 200, 1, L), Skip::UnknownAction),
        ];
        for (m, why) in cases {
            assert_eq!(b.apply(&m), Applied::Skipped(why));
        }
        for a in [b'T', b'F', b'N'] {
            assert_eq!(b.apply(&msg(a, b'B', 1, 200, 5, L)), Applied::NoBookChange);
        }
        assert_eq!(b.orders().collect::<Vec<_>>(), before);
        let s = b.stats();
        assert_eq!(
            (
                s.unknown_side,
                s.undef_price,
                s.zero_size,
                s.unknown_cancel,
                s.unknown_modify,
                s.unknown_action
            ),
            (1, 1, 1, 1, 2, 1)
        );
        assert_eq!(
            (
                s.trades,
                s.fills,
                s.nones,
                s.skipped(),
                s.unknown_order_refs(),
                s.implicit_adds
            ),
            (1, 1, 1, 7, 3, 0)
        );
        // Overshooting cancel clamps; duplicate add replaces.
        b.apply(&msg(b'A', b'A', 3, 201, 2, L));
        b.apply(&msg(b'A', b'A', 3, 202, 4, L));
        assert_eq!(b.level(Side::Ask, 201), None);
        assert_eq!(b.order(3).unwrap().price, 202);
        b.apply(&msg(b'C', b'A', 3, 202, 9, L));
        assert!(b.order(3).is_none());
        b.apply(&msg(b'M', b'A', 1, 200, 0, L));
        assert!(b.is_empty());
        let s = b.stats();
        assert_eq!((s.dup_add, s.cancel_overshoot, s.modify_to_zero), (1, 1, 1));
        assert_eq!(b.check_invariants(), None);
    }

    #[test]
    fn modify_of_unknown_order_adds_it() {
        let mut b = Book::new();
        b.apply(&msg(b'A', b'B', 1, 100, 5, L));
        // An order resting before the stream began is revealed by its modify: it joins
        // the back of its level, like an add.
        assert_eq!(
            b.apply(&msg(b'M', b'B', 7, 100, 3, L)),
            Applied::ImplicitAdd
        );
        assert_eq!(ids_at(&b, Side::Bid, 100), vec![1, 7]);
        assert_eq!(
            b.best(Side::Bid),
            Some(Level {
                price: 100,
                size: 8,
                count: 2
            })
        );
        // From then on it is an ordinary order: a decrease keeps its place, a cancel of
        // part of it subtracts.
        assert_eq!(b.apply(&msg(b'M', b'B', 7, 100, 2, L)), Applied::Modified);
        assert_eq!(b.apply(&msg(b'C', b'B', 7, 100, 1, L)), Applied::Canceled);
        assert_eq!(b.order(7).map(|o| o.size), Some(1));
        // A cancel or a fill of an unknown order never creates one.
        assert_eq!(
            b.apply(&msg(b'C', b'A', 8, 101, 1, L)),
            Applied::Skipped(Skip::UnknownOrder)
        );
        assert_eq!(
            b.apply(&msg(b'F', b'A', 9, 101, 1, L)),
            Applied::NoBookChange
        );
        assert!(b.order(8).is_none() && b.order(9).is_none());
        let s = b.stats();
        assert_eq!((s.adds, s.implicit_adds, s.modifies), (1, 1, 1));
        assert_eq!((s.unknown_cancel, s.unknown_order_refs()), (1, 2));
        assert_eq!(s.skipped(), 1);
        assert_eq!(b.check_invariants(), None);
    }

    #[test]
    fn consistency_crossing_and_snapshot() {
        let mut b = Book::new();
        b.apply(&msg(b'A', b'B', 1, 100, 1, 0));
        assert!(!b.is_consistent());
        b.apply(&msg(b'A', b'A', 2, 100, 1, L));
        assert!(b.is_consistent());
        assert_eq!(b.health(), Health::Crossed { since_ts_recv: 2 });
        assert_eq!(b.crossed_for(12), Some(10));
        b.apply(&msg(b'C', b'A', 2, 100, 1, L));
        assert_eq!(b.health(), Health::Ok);
        assert_eq!(b.health_stats().crossings, 1);
        // A snapshot on a non-empty book without an R replaces it.
        let snap = flags::SNAPSHOT;
        b.apply(&msg(b'A', b'A', 5, 110, 3, snap));
        assert_eq!(b.stats().implicit_clears, 1);
        assert!(b.order(1).is_none());
        b.apply(&msg(b'A', b'B', 6, 90, 3, snap | L));
        assert_eq!(b.order_count(), 2);
        // Snapshot records rebuild an equal book (ts_recv becomes the snapshot's).
        let mut c = Book::new();
        for m in b.snapshot_records(1, 7, 1000) {
            c.apply(&m);
        }
        let key = |o: OrderInfo| (o.order_id, o.side, o.price, o.size, o.ts_event);
        assert_eq!(
            c.orders().map(key).collect::<Vec<_>>(),
            b.orders().map(key).collect::<Vec<_>>()
        );
        assert_eq!(c.stats().implicit_clears, 0);
        assert!(c.is_consistent());
    }

    #[test]
    fn crossed_check_reads_sort_keys_right() {
        let mut b = Book::new();
        b.apply(&msg(b'A', b'B', 1, -5, 1, L));
        b.apply(&msg(b'A', b'A', 2, -3, 1, L));
        assert!(!b.top_crossed());
        assert_eq!(b.health(), Health::Ok);
        b.apply(&msg(b'A', b'B', 3, -3, 1, L));
        assert!(b.top_crossed());
        assert_eq!(b.top_crossed(), b.bbo().is_crossed());
        assert!(matches!(b.health(), Health::Crossed { .. }));
        b.apply(&msg(b'C', b'A', 2, -3, 1, L));
        assert!(!b.top_crossed());
        assert_eq!(b.health(), Health::Ok);
    }

    #[test]
    fn churn_keeps_queue_order() {
        let mut b = Book::new();
        b.apply(&msg(b'A', b'B', 1, 50, 1, L));
        for i in 0..200u64 {
            b.apply(&msg(b'A', b'B', 1000 + i, 50, 1, L));
            b.apply(&msg(b'C', b'B', 1000 + i, 50, 1, L));
        }
        b.apply(&msg(b'A', b'B', 2, 50, 1, L));
        assert_eq!(ids_at(&b, Side::Bid, 50), vec![1, 2]);
        assert_eq!(b.check_invariants(), None);
    }

    #[test]
    fn books_route_and_mark_channels() {
        let mut books = Books::new();
        let mut a = msg(b'A', b'B', 1, 100, 1, L);
        a.channel_id = 3;
        books.apply(&a);
        let mut other = msg(b'A', b'B', 1, 100, 1, L);
        other.hd.instrument_id = 8;
        other.channel_id = 4;
        books.apply(&other);
        assert_eq!(books.len(), 2);
        assert_eq!(books.health(7), Some(Health::Ok));
        let mut bad = msg(b'N', b'N', 0, UNDEF_PRICE, 0, L | flags::MAYBE_BAD_BOOK);
        bad.hd.instrument_id = 9;
        bad.channel_id = 3;
        books.apply(&bad);
        assert!(matches!(books.health(7), Some(Health::Suspect(_))));
        assert_eq!(books.health(8), Some(Health::Ok));
        assert_eq!(books.mark_gap(1, Some(4)), 1);
        assert_eq!(books.health(8), Some(Health::Recovering));
        assert_eq!(books.book(8).unwrap().order_count(), 1);
        assert_eq!(books.stats().adds, 2);
        assert!(books.health(12345).is_none());
    }
}
