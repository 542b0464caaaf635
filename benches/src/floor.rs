//! Reference books for the book-floor measurements (`benches/benches/book_floor.rs`
//! and the `floor_rounds` example): the exact L3 book on price ladders and the naive
//! book the pressure issue compares against, beside ifd's own book. (The partial books
//! measured earlier, which kept less than an exact book, are gone from the code; their
//! conclusion is in `benches/BENCHMARKS.md`.)
//!
//! - [`LadderL3Book`] is an exact L3 book on direct-indexed price ladders (queues in
//!   time priority, best tick tracked), without health, statistics or snapshot
//!   handling.
//! - [`NaiveBook`]: a `HashMap` of orders plus a `BTreeMap` of levels per side, each
//!   level a `Vec` of its orders in time priority, with std's SipHash maps.
//!
//! [`Router`] finds a record's book as `ifd_pressure::Books` does.

use std::collections::btree_map::Entry as BEntry;
use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};

use dbn::MboMsg;
use ifd_pressure::IdMap;

/// Book lookup as in `Books`: a last-book cache, then an integer-hash map.
#[derive(Debug, Default)]
pub struct Router {
    index: IdMap<u32, usize>,
    last: Option<(u32, usize)>,
    n: usize,
}

impl Router {
    /// The book index of `iid`, and whether it is new.
    #[inline]
    pub fn slot(&mut self, iid: u32) -> (usize, bool) {
        if let Some((k, i)) = self.last {
            if k == iid {
                return (i, false);
            }
        }
        let n = self.n;
        let i = *self.index.entry(iid).or_insert(n);
        let new = i == n;
        if new {
            self.n += 1;
        }
        self.last = Some((iid, i));
        (i, new)
    }

    /// The book of `iid` in `books` (indexed by [`Router::slot`]), created on first
    /// sight.
    #[inline]
    pub fn book<'a, B: Default>(&mut self, books: &'a mut Vec<B>, iid: u32) -> &'a mut B {
        let (i, new) = self.slot(iid);
        if new {
            books.push(B::default());
        }
        &mut books[i]
    }
}

#[inline]
fn side_of(m: &MboMsg) -> usize {
    usize::from(m.side as u8 == b'A')
}

/// The size an order keeps after a `C` or `M` record.
#[inline]
fn left_after(m: &MboMsg, size: u32) -> u32 {
    if m.action as u8 == b'C' {
        size.saturating_sub(m.size)
    } else {
        m.size
    }
}

/// A floor book: one instrument's MBO records applied to a reference book.
pub trait FloorBook: Default {
    /// Applies one MBO record.
    fn apply_mbo(&mut self, m: &MboMsg);
    /// Orders resting now.
    fn resting(&self) -> usize;
    /// Reads what an `F_LAST` reader reads (the top, where the book keeps one); the
    /// value only keeps the read from being optimised away.
    fn on_last(&self) -> i64 {
        0
    }
}

/// Routes every MBO record of in-memory DBN `bytes` to a `B` per instrument (found
/// as `ifd_pressure::Books` finds books) and calls [`FloorBook::on_last`] after each
/// record carrying `F_LAST`; returns the orders left resting.
pub fn run_floor<B: FloorBook>(bytes: &[u8]) -> usize {
    let mut router = Router::default();
    let mut books: Vec<B> = Vec::new();
    let mut tops = 0i64;
    crate::for_each_record(bytes, |r| {
        if let Some(m) = r.get::<MboMsg>() {
            let book = router.book(&mut books, m.hd.instrument_id);
            book.apply_mbo(m);
            if m.flags.is_last() {
                tops ^= book.on_last();
            }
        }
    });
    std::hint::black_box(tops);
    books.iter().map(FloorBook::resting).sum()
}

/// `ifd_pressure::Books` over every record of in-memory DBN `bytes`; returns the
/// number of books.
pub fn run_ifd_book(bytes: &[u8]) -> usize {
    let mut books = ifd_pressure::Books::new();
    crate::for_each_record(bytes, |r| {
        if let Ok(Some(u)) = books.apply_record(r) {
            std::hint::black_box(u);
        }
    });
    books.len()
}

/// A named pass over a day's DBN bytes, returning something to keep alive.
pub type Floor = (&'static str, fn(&[u8]) -> usize);

/// The floor passes (the benches and `floor_rounds` run these under these names).
#[must_use]
pub fn floors() -> [Floor; 1] {
    [("ladder_l3_book", run_floor::<LadderL3Book>)]
}

/// The naive exact book: std maps, a `Vec` queue per level.
#[derive(Debug, Default)]
pub struct NaiveBook {
    /// Resting orders: side and price.
    pub orders: HashMap<u64, (usize, i64)>,
    sides: [BTreeMap<i64, Vec<(u64, u32)>>; 2],
}

impl FloorBook for NaiveBook {
    fn resting(&self) -> usize {
        self.orders.len()
    }

    fn apply_mbo(&mut self, m: &MboMsg) {
        match m.action as u8 {
            b'A' => {
                let side = side_of(m);
                self.orders.insert(m.order_id, (side, m.price));
                self.sides[side]
                    .entry(m.price)
                    .or_default()
                    .push((m.order_id, m.size));
            }
            b'C' | b'M' => {
                let Entry::Occupied(mut e) = self.orders.entry(m.order_id) else {
                    return;
                };
                let (side, price) = *e.get();
                // One tree lookup and one scan of the level.
                let BEntry::Occupied(mut level) = self.sides[side].entry(price) else {
                    return;
                };
                let queue = level.get_mut();
                let Some(pos) = queue.iter().position(|o| o.0 == m.order_id) else {
                    return;
                };
                let left = left_after(m, queue[pos].1);
                // Partial cancel, or a same-price modify that keeps priority.
                if left > 0 && m.price == price && left <= queue[pos].1 {
                    queue[pos].1 = left;
                    return;
                }
                queue.remove(pos);
                if queue.is_empty() {
                    level.remove();
                }
                if left == 0 {
                    e.remove();
                    return;
                }
                *e.get_mut() = (side, m.price);
                self.sides[side]
                    .entry(m.price)
                    .or_default()
                    .push((m.order_id, left));
            }
            b'R' => {
                self.orders.clear();
                self.sides[0].clear();
                self.sides[1].clear();
            }
            _ => {}
        }
    }
}

const PX: i64 = 1_000_000_000;

/// Tick index of a price on the CME Nasdaq-100 options grid (0.05 below 5.00, 0.25
/// from 5.00): the slot of a price in [`LadderL3Book`]'s ladders.
#[inline]
fn tick_index(price: i64) -> i64 {
    if price < 5 * PX {
        price.div_euclid(PX / 20)
    } else {
        100 + (price - 5 * PX).div_euclid(PX / 4)
    }
}

/// Null link of [`LadderL3Book`]'s queues.
const NIL: u32 = u32::MAX;

/// An order of [`LadderL3Book`], linked into its level's queue.
#[derive(Debug, Clone, Copy)]
struct LNode {
    order_id: u64,
    price: i64,
    size: u32,
    prev: u32,
    next: u32,
    side: u8,
}

/// A price level of [`LadderL3Book`]: running sums and the queue's ends.
#[derive(Debug, Clone, Copy)]
struct LSlot {
    size: u32,
    count: u32,
    head: u32,
    tail: u32,
}

const EMPTY_SLOT: LSlot = LSlot {
    size: 0,
    count: 0,
    head: NIL,
    tail: NIL,
};

/// One side's ladder of levels and its best occupied tick.
#[derive(Debug, Default)]
struct LSide {
    /// Tick index of `slots[0]`.
    base: i64,
    slots: Vec<LSlot>,
    best: Option<i64>,
}

impl LSide {
    #[inline]
    fn index(&mut self, tick: i64) -> usize {
        let len = self.slots.len() as i64;
        if tick < self.base || tick >= self.base + len {
            self.grow(tick);
        }
        (tick - self.base) as usize
    }

    #[cold]
    fn grow(&mut self, tick: i64) {
        const PAD: i64 = 16;
        if self.slots.is_empty() {
            self.base = tick - PAD;
            self.slots = vec![EMPTY_SLOT; 2 * PAD as usize];
            return;
        }
        let len = self.slots.len() as i64;
        let end = self.base + len;
        let (lo, hi) = if tick < self.base {
            ((tick - PAD).min(end - 2 * len), end)
        } else {
            (self.base, (tick + PAD + 1).max(self.base + 2 * len))
        };
        let mut slots = vec![EMPTY_SLOT; (hi - lo) as usize];
        let off = (self.base - lo) as usize;
        slots[off..off + self.slots.len()].copy_from_slice(&self.slots);
        self.base = lo;
        self.slots = slots;
    }

    /// The best tick after the level at `from` emptied: the next occupied slot
    /// towards worse prices (down for bids, up for asks).
    #[inline]
    fn next_best(&self, from: usize, bid: bool) -> Option<i64> {
        if bid {
            (0..from)
                .rev()
                .find(|&i| self.slots[i].count > 0)
                .map(|i| self.base + i as i64)
        } else {
            (from + 1..self.slots.len())
                .find(|&i| self.slots[i].count > 0)
                .map(|i| self.base + i as i64)
        }
    }
}

/// An exact L3 book on direct-indexed price ladders: orders in a slab found through
/// the id map, each level a ladder slot with running sums and an intrusive queue in
/// time priority, the best tick per side tracked (rescanned towards worse prices when
/// the best level empties). The same record semantics as `ifd_pressure::Book`
/// (price change to the back of the new level, size increase to the back of its
/// level), without its health, statistics, snapshot handling or skip accounting: the
/// measure of what a ladder would give that book.
#[derive(Debug, Default)]
pub struct LadderL3Book {
    /// Order id → node slot.
    pub ids: IdMap<u64, u32>,
    nodes: Vec<LNode>,
    free: Vec<u32>,
    sides: [LSide; 2],
}

impl LadderL3Book {
    fn link_back(&mut self, slot: u32) {
        let n = self.nodes[slot as usize];
        let side = &mut self.sides[usize::from(n.side)];
        let tick = tick_index(n.price);
        let i = side.index(tick);
        let l = &mut side.slots[i];
        let tail = l.tail;
        l.tail = slot;
        if tail == NIL {
            l.head = slot;
        } else {
            self.nodes[tail as usize].next = slot;
        }
        l.size = l.size.saturating_add(n.size);
        l.count += 1;
        let node = &mut self.nodes[slot as usize];
        node.prev = tail;
        node.next = NIL;
        let bid = n.side == 0;
        match side.best {
            Some(b) if (bid && b >= tick) || (!bid && b <= tick) => {}
            _ => side.best = Some(tick),
        }
    }

    fn unlink(&mut self, slot: u32) {
        let n = self.nodes[slot as usize];
        if n.prev != NIL {
            self.nodes[n.prev as usize].next = n.next;
        }
        if n.next != NIL {
            self.nodes[n.next as usize].prev = n.prev;
        }
        let side = &mut self.sides[usize::from(n.side)];
        let tick = tick_index(n.price);
        let i = side.index(tick);
        let l = &mut side.slots[i];
        if n.prev == NIL {
            l.head = n.next;
        }
        if n.next == NIL {
            l.tail = n.prev;
        }
        l.size = l.size.saturating_sub(n.size);
        l.count -= 1;
        if l.count == 0 && side.best == Some(tick) {
            side.best = side.next_best(i, n.side == 0);
        }
    }

    /// Order ids resting at the best level of `side` (0 bid, 1 ask), first in line
    /// first.
    #[must_use]
    pub fn best_queue(&self, side: usize) -> Vec<u64> {
        let s = &self.sides[side];
        let mut out = Vec::new();
        let Some(t) = s.best else {
            return out;
        };
        let mut cur = s.slots[(t - s.base) as usize].head;
        while cur != NIL {
            let n = &self.nodes[cur as usize];
            out.push(n.order_id);
            cur = n.next;
        }
        out
    }

    /// Best bid and ask ticks with their sizes (what an `F_LAST` reader asks for).
    #[must_use]
    pub fn top(&self) -> [Option<(i64, u32)>; 2] {
        [0, 1].map(|s| {
            let side = &self.sides[s];
            side.best
                .map(|t| (t, side.slots[(t - side.base) as usize].size))
        })
    }
}

impl FloorBook for LadderL3Book {
    fn resting(&self) -> usize {
        self.ids.len()
    }

    fn on_last(&self) -> i64 {
        let [b, a] = self.top();
        b.map_or(0, |t| t.0) ^ a.map_or(0, |t| t.0)
    }

    #[inline]
    fn apply_mbo(&mut self, m: &MboMsg) {
        match m.action as u8 {
            b'A' => {
                if m.size == 0 || m.price == dbn::UNDEF_PRICE {
                    return;
                }
                let node = LNode {
                    order_id: m.order_id,
                    price: m.price,
                    size: m.size,
                    prev: NIL,
                    next: NIL,
                    side: side_of(m) as u8,
                };
                let slot = if let Some(s) = self.free.pop() {
                    self.nodes[s as usize] = node;
                    s
                } else {
                    self.nodes.push(node);
                    (self.nodes.len() - 1) as u32
                };
                if let Some(old) = self.ids.insert(m.order_id, slot) {
                    self.unlink(old);
                    self.free.push(old);
                }
                self.link_back(slot);
            }
            b'C' => {
                let Entry::Occupied(e) = self.ids.entry(m.order_id) else {
                    return;
                };
                let slot = *e.get();
                let n = self.nodes[slot as usize];
                if m.size >= n.size {
                    e.remove();
                    self.unlink(slot);
                    self.free.push(slot);
                } else {
                    self.nodes[slot as usize].size -= m.size;
                    let side = &mut self.sides[usize::from(n.side)];
                    let i = side.index(tick_index(n.price));
                    side.slots[i].size -= m.size;
                }
            }
            b'M' => {
                let Entry::Occupied(e) = self.ids.entry(m.order_id) else {
                    return;
                };
                let slot = *e.get();
                let n = self.nodes[slot as usize];
                if m.size == 0 {
                    e.remove();
                    self.unlink(slot);
                    self.free.push(slot);
                } else if m.price != n.price || m.size > n.size {
                    self.unlink(slot);
                    let node = &mut self.nodes[slot as usize];
                    node.price = m.price;
                    node.size = m.size;
                    self.link_back(slot);
                } else {
                    self.nodes[slot as usize].size = m.size;
                    let side = &mut self.sides[usize::from(n.side)];
                    let i = side.index(tick_index(n.price));
                    side.slots[i].size = side.slots[i].size - n.size + m.size;
                }
            }
            b'R' => {
                self.ids.clear();
                self.nodes.clear();
                self.free.clear();
                self.sides = Default::default();
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dbn::decode::{DbnDecoder, DecodeRecordRef};
    use dbn::Side;
    use ifd_pressure::Books;
    use ifd_sim::{to_dbn_bytes, Preset, SimConfig, Simulator};

    /// The ladder L3 book and the naive book agree with `ifd_pressure::Books` on the
    /// best levels (price or tick, size and queue) at every `F_LAST` of a simulator
    /// day.
    #[test]
    fn ladder_l3_and_naive_books_match_ifd_books() {
        let day = Simulator::new(SimConfig::preset(Preset::Quiet, 3)).flow_day();
        let bytes = to_dbn_bytes(&day, false).unwrap();
        let mut dec = DbnDecoder::new(bytes.as_slice()).unwrap();
        let mut books = Books::new();
        let mut router = Router::default();
        let mut ladders: Vec<LadderL3Book> = Vec::new();
        let mut naives: Vec<NaiveBook> = Vec::new();
        let mut checked = 0;
        while let Some(r) = dec.decode_record_ref().unwrap() {
            let Some(m) = r.get::<MboMsg>() else { continue };
            let u = books.apply(m);
            let (i, new) = router.slot(m.hd.instrument_id);
            if new {
                ladders.push(LadderL3Book::default());
                naives.push(NaiveBook::default());
            }
            ladders[i].apply_mbo(m);
            naives[i].apply_mbo(m);
            if !u.last {
                continue;
            }
            let book = books.at(u.index).unwrap();
            let bbo = book.bbo();
            let top = ladders[i].top();
            for (s, level, side) in [(0, bbo.bid, Side::Bid), (1, bbo.ask, Side::Ask)] {
                let want = level.map(|l| (tick_index(l.price), l.size as u32));
                assert_eq!(
                    top[s], want,
                    "side {s} of instrument {}",
                    m.hd.instrument_id
                );
                if let Some(l) = level {
                    let queue: Vec<u64> =
                        book.orders_at(side, l.price).map(|o| o.order_id).collect();
                    assert_eq!(ladders[i].best_queue(s), queue);
                }
                let levels = &naives[i].sides[s];
                let best = if s == 0 {
                    levels.last_key_value()
                } else {
                    levels.first_key_value()
                };
                let naive = best.map(|(&p, q)| {
                    let size: u64 = q.iter().map(|o| u64::from(o.1)).sum();
                    (p, size, q.iter().map(|o| o.0).collect::<Vec<_>>())
                });
                let want = level.map(|l| {
                    let queue = book.orders_at(side, l.price).map(|o| o.order_id);
                    (l.price, l.size, queue.collect::<Vec<_>>())
                });
                assert_eq!(naive, want, "naive side {s} of {}", m.hd.instrument_id);
            }
            checked += 1;
        }
        assert!(checked > 1_000, "only {checked} F_LAST records checked");
    }
}
