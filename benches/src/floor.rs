//! Reference books for the book-floor measurements (`benches/benches/book_floor.rs`
//! and the `floor_rounds` example): what an exact L3 book costs at the least on a
//! fixture, and the naive book the pressure issue compares against.
//!
//! - [`IdsBook`] with levels off keeps only the order-id map (insert on `A`, size
//!   update or removal on `C`/`M`): the one lookup no exact book can avoid.
//! - [`IdsBook`] with levels on adds per-side level sums in a hash map keyed by price
//!   (sizes and counts exact, no price order, no queue order): less than any exact L3
//!   book maintains.
//! - [`NaiveBook`]: a `HashMap` of orders plus a `BTreeMap` of levels per side, each
//!   level a `Vec` of its orders in time priority, with std's SipHash maps.
//!
//! [`Router`] finds a record's book as `ifd_pressure::Books` does.

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
    #[inline]
    /// The book index of `iid`, and whether it is new.
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
}

/// The record as an MBO message, when it is one.
#[must_use]
pub fn mbo<'a>(r: &'a dbn::RecordRef<'_>) -> Option<&'a MboMsg> {
    if r.header().rtype == dbn::rtype::MBO {
        r.get::<MboMsg>()
    } else {
        None
    }
}

/// The order-id map, and optionally unordered level sums.
#[derive(Debug, Default)]
pub struct IdsBook {
    /// Resting orders: price, size, side.
    pub ids: IdMap<u64, (i64, u32, u8)>,
    levels: [IdMap<i64, (u64, u32)>; 2],
}

impl IdsBook {
    /// Looks up what applying `m` will touch (its order and its level) without
    /// changing anything, so that a later `apply` finds them in cache; returns a value
    /// to keep the loads alive.
    #[inline]
    pub fn touch(&self, m: &MboMsg) -> i64 {
        let side = usize::from(m.side as u8 == b'A');
        let o = self.ids.get(&m.order_id).map_or(0, |o| o.0);
        let l = self.levels[side].get(&m.price).map_or(0, |l| l.1);
        o ^ i64::from(l)
    }

    /// Applies one record; `with_levels` also keeps the level sums.
    #[inline]
    pub fn apply(&mut self, m: &MboMsg, with_levels: bool) {
        let side = usize::from(m.side as u8 == b'A');
        match m.action as u8 {
            b'A' => {
                self.ids.insert(m.order_id, (m.price, m.size, side as u8));
                if with_levels {
                    let l = self.levels[side].entry(m.price).or_default();
                    l.0 += u64::from(m.size);
                    l.1 += 1;
                }
            }
            b'C' | b'M' => {
                // One hash operation: the entry is updated or removed in place.
                let Entry::Occupied(mut e) = self.ids.entry(m.order_id) else {
                    return;
                };
                let (price, size, s) = *e.get();
                let left = if m.action as u8 == b'C' {
                    size.saturating_sub(m.size)
                } else {
                    m.size
                };
                if left == 0 {
                    e.remove();
                } else {
                    *e.get_mut() = (m.price, left, s);
                }
                if with_levels {
                    let s = usize::from(s);
                    if let Entry::Occupied(mut l) = self.levels[s].entry(price) {
                        let (sum, count) = l.get_mut();
                        *sum = sum.saturating_sub(u64::from(size));
                        *count = count.saturating_sub(1);
                        if *count == 0 {
                            l.remove();
                        }
                    }
                    if left > 0 {
                        let l = self.levels[s].entry(m.price).or_default();
                        l.0 += u64::from(left);
                        l.1 += 1;
                    }
                }
            }
            b'R' => {
                self.ids.clear();
                self.levels[0].clear();
                self.levels[1].clear();
            }
            _ => {}
        }
    }
}

/// The naive exact book: std maps, a `Vec` queue per level.
#[derive(Debug, Default)]
pub struct NaiveBook {
    /// Resting orders: side and price.
    pub orders: HashMap<u64, (usize, i64)>,
    sides: [BTreeMap<i64, Vec<(u64, u32)>>; 2],
}

impl NaiveBook {
    fn remove(&mut self, id: u64) -> Option<(usize, i64, u32)> {
        let (side, price) = self.orders.remove(&id)?;
        let level = self.sides[side].get_mut(&price)?;
        let pos = level.iter().position(|&(o, _)| o == id)?;
        let (_, size) = level.remove(pos);
        if level.is_empty() {
            self.sides[side].remove(&price);
        }
        Some((side, price, size))
    }

    /// Applies one record.
    pub fn apply(&mut self, m: &MboMsg) {
        let side = usize::from(m.side as u8 == b'A');
        match m.action as u8 {
            b'A' => {
                self.orders.insert(m.order_id, (side, m.price));
                self.sides[side]
                    .entry(m.price)
                    .or_default()
                    .push((m.order_id, m.size));
            }
            b'C' => {
                let Some(&(side, price)) = self.orders.get(&m.order_id) else {
                    return;
                };
                let Some(level) = self.sides[side].get_mut(&price) else {
                    return;
                };
                if let Some(o) = level.iter_mut().find(|o| o.0 == m.order_id) {
                    if o.1 > m.size {
                        o.1 -= m.size;
                        return;
                    }
                }
                self.remove(m.order_id);
            }
            b'M' => {
                let Some(&(side, price)) = self.orders.get(&m.order_id) else {
                    return;
                };
                if price == m.price {
                    if let Some(level) = self.sides[side].get_mut(&price) {
                        if let Some(pos) = level.iter().position(|o| o.0 == m.order_id) {
                            if m.size <= level[pos].1 && m.size > 0 {
                                level[pos].1 = m.size;
                                return;
                            }
                        }
                    }
                }
                self.remove(m.order_id);
                if m.size > 0 {
                    self.orders.insert(m.order_id, (side, m.price));
                    self.sides[side]
                        .entry(m.price)
                        .or_default()
                        .push((m.order_id, m.size));
                }
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

/// Level sums in a direct-indexed price ladder (one slot per 0.05 tick between the
/// lowest and the highest price the side has seen), for the ladder floor.
#[derive(Debug, Default)]
struct Ladder {
    /// Tick index of `slots[0]`.
    base: i64,
    slots: Vec<(u64, u32)>,
}

/// The finest price increment of the CME Nasdaq-100 options (0.05 index points).
const LADDER_TICK: i64 = 50_000_000;

impl Ladder {
    #[inline]
    fn slot(&mut self, price: i64) -> &mut (u64, u32) {
        let tick = price.div_euclid(LADDER_TICK);
        let len = self.slots.len() as i64;
        if self.slots.is_empty() || tick < self.base || tick >= self.base + len {
            self.grow(tick);
        }
        &mut self.slots[(tick - self.base) as usize]
    }

    #[cold]
    fn grow(&mut self, tick: i64) {
        const PAD: i64 = 32;
        if self.slots.is_empty() {
            self.base = tick - PAD;
            self.slots = vec![(0, 0); 2 * PAD as usize];
            return;
        }
        let end = self.base + self.slots.len() as i64;
        let lo = tick.min(self.base) - if tick < self.base { PAD } else { 0 };
        let hi = tick.max(end - 1) + if tick >= end { PAD } else { 0 };
        let mut slots = vec![(0, 0); (hi - lo + 1) as usize];
        let off = (self.base - lo) as usize;
        slots[off..off + self.slots.len()].copy_from_slice(&self.slots);
        self.base = lo;
        self.slots = slots;
    }
}

/// The order-id map with level sums in a direct-indexed ladder per side (exact sums,
/// no best-level tracking, no time priority).
#[derive(Debug, Default)]
pub struct LadderBook {
    /// Resting orders: price, size, side.
    pub ids: IdMap<u64, (i64, u32, u8)>,
    sides: [Ladder; 2],
}

impl LadderBook {
    /// Applies one record.
    #[inline]
    pub fn apply(&mut self, m: &MboMsg) {
        let side = usize::from(m.side as u8 == b'A');
        match m.action as u8 {
            b'A' => {
                self.ids.insert(m.order_id, (m.price, m.size, side as u8));
                let l = self.sides[side].slot(m.price);
                l.0 += u64::from(m.size);
                l.1 += 1;
            }
            b'C' | b'M' => {
                let Entry::Occupied(mut e) = self.ids.entry(m.order_id) else {
                    return;
                };
                let (price, size, s) = *e.get();
                let left = if m.action as u8 == b'C' {
                    size.saturating_sub(m.size)
                } else {
                    m.size
                };
                if left == 0 {
                    e.remove();
                } else {
                    *e.get_mut() = (m.price, left, s);
                }
                let ladder = &mut self.sides[usize::from(s)];
                let l = ladder.slot(price);
                l.0 = l.0.saturating_sub(u64::from(size));
                l.1 = l.1.saturating_sub(1);
                if left > 0 {
                    let l = ladder.slot(m.price);
                    l.0 += u64::from(left);
                    l.1 += 1;
                }
            }
            b'R' => {
                self.ids.clear();
                self.sides = Default::default();
            }
            _ => {}
        }
    }
}
