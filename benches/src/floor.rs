//! Reference books for the book-floor measurements (`benches/benches/book_floor.rs`
//! and the `floor_rounds` example): what the cheapest designs we know of cost for a
//! part of an exact L3 book's work on a fixture, and the naive book the pressure issue
//! compares against. Each keeps less than an exact L3 book (none keeps the price order
//! of levels or the time priority of orders, except [`NaiveBook`]), and each does its
//! work with as few map operations as its structure allows.
//!
//! - [`IdsBook`] with levels off keeps only the order-id map (insert on `A`, one entry
//!   operation on `C`/`M`): the one lookup no exact book can avoid.
//! - [`IdsBook`] with levels on adds per-side level sums in a hash map keyed by price.
//! - [`HandleBook`] keeps the level sums in a slab and a level handle in each order's
//!   id-map entry, so that cancels and same-price modifies need no price lookup (the
//!   design of `ifd_pressure::Book`, without its queues and price order).
//! - [`LadderBook`] keeps the level sums in a direct-indexed price ladder per side.
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

/// The order-id map, and optionally unordered level sums in a price-keyed map.
#[derive(Debug, Default)]
pub struct IdsBook {
    /// Resting orders: price, size, side.
    pub ids: IdMap<u64, (i64, u32, u8)>,
    levels: [IdMap<i64, (u64, u32)>; 2],
}

impl IdsBook {
    /// Looks up what applying `m` will touch (its order and its level) without
    /// changing anything, so that a later `apply` finds them in cache; returns a value
    /// to keep the loads alive. (Safe Rust has no prefetch instruction and the
    /// workspace forbids `unsafe`, so this is a real lookup.)
    #[inline]
    pub fn touch(&self, m: &MboMsg) -> i64 {
        let o = self.ids.get(&m.order_id).map_or(0, |o| o.0);
        let l = self.levels[side_of(m)].get(&m.price).map_or(0, |l| l.1);
        o ^ i64::from(l)
    }

    /// Applies one record; `with_levels` also keeps the level sums.
    #[inline]
    pub fn apply(&mut self, m: &MboMsg, with_levels: bool) {
        match m.action as u8 {
            b'A' => {
                let side = side_of(m);
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
                let left = left_after(m, size);
                if left == 0 {
                    e.remove();
                } else {
                    *e.get_mut() = (m.price, left, s);
                }
                if !with_levels {
                    return;
                }
                let levels = &mut self.levels[usize::from(s)];
                if let Entry::Occupied(mut l) = levels.entry(price) {
                    let (sum, count) = l.get_mut();
                    *sum = sum.saturating_sub(u64::from(size));
                    if left > 0 && m.price == price {
                        // Same level: one price operation.
                        *sum += u64::from(left);
                        return;
                    }
                    *count = count.saturating_sub(1);
                    if *count == 0 {
                        l.remove();
                    }
                }
                if left > 0 {
                    let l = levels.entry(m.price).or_default();
                    l.0 += u64::from(left);
                    l.1 += 1;
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

/// Level sums in a slab, found by price only on adds and price changes.
#[derive(Debug, Clone, Copy, Default)]
struct SlabLevel {
    price: i64,
    size: u64,
    count: u32,
    side: u8,
}

/// The order-id map whose entries carry their level's slab slot.
#[derive(Debug, Default)]
pub struct HandleBook {
    /// Resting orders: level slot, size.
    pub ids: IdMap<u64, (u32, u32)>,
    levels: Vec<SlabLevel>,
    free: Vec<u32>,
    /// Per side: price → level slot.
    index: [IdMap<i64, u32>; 2],
}

/// The level slot of `price` on `side`, created when missing.
#[inline]
fn level_in(
    levels: &mut Vec<SlabLevel>,
    free: &mut Vec<u32>,
    index: &mut [IdMap<i64, u32>; 2],
    side: usize,
    price: i64,
) -> u32 {
    *index[side].entry(price).or_insert_with(|| {
        let l = SlabLevel {
            price,
            side: side as u8,
            ..SlabLevel::default()
        };
        if let Some(slot) = free.pop() {
            levels[slot as usize] = l;
            slot
        } else {
            levels.push(l);
            (levels.len() - 1) as u32
        }
    })
}

/// Takes `size` and one order off level `slot`, dropping the level when it empties.
#[inline]
fn leave_in(
    levels: &mut [SlabLevel],
    free: &mut Vec<u32>,
    index: &mut [IdMap<i64, u32>; 2],
    slot: u32,
    size: u32,
) {
    let l = &mut levels[slot as usize];
    l.size = l.size.saturating_sub(u64::from(size));
    l.count = l.count.saturating_sub(1);
    if l.count == 0 {
        index[usize::from(l.side)].remove(&l.price);
        free.push(slot);
    }
}

impl HandleBook {
    /// Applies one record.
    #[inline]
    pub fn apply(&mut self, m: &MboMsg) {
        match m.action as u8 {
            b'A' => {
                let slot = level_in(
                    &mut self.levels,
                    &mut self.free,
                    &mut self.index,
                    side_of(m),
                    m.price,
                );
                let l = &mut self.levels[slot as usize];
                l.size += u64::from(m.size);
                l.count += 1;
                self.ids.insert(m.order_id, (slot, m.size));
            }
            b'C' | b'M' => {
                let Entry::Occupied(mut e) = self.ids.entry(m.order_id) else {
                    return;
                };
                let (slot, size) = *e.get();
                let left = left_after(m, size);
                let level = self.levels[slot as usize];
                if left > 0 && m.price == level.price {
                    // No price lookup at all.
                    e.get_mut().1 = left;
                    let l = &mut self.levels[slot as usize];
                    l.size = l.size.saturating_sub(u64::from(size)) + u64::from(left);
                    return;
                }
                leave_in(
                    &mut self.levels,
                    &mut self.free,
                    &mut self.index,
                    slot,
                    size,
                );
                if left == 0 {
                    e.remove();
                    return;
                }
                let new = level_in(
                    &mut self.levels,
                    &mut self.free,
                    &mut self.index,
                    usize::from(level.side),
                    m.price,
                );
                let l = &mut self.levels[new as usize];
                l.size += u64::from(left);
                l.count += 1;
                *e.get_mut() = (new, left);
            }
            b'R' => {
                self.ids.clear();
                self.levels.clear();
                self.free.clear();
                self.index[0].clear();
                self.index[1].clear();
            }
            _ => {}
        }
    }
}

/// Level sums in a direct-indexed price ladder: one slot per tick of the CME
/// Nasdaq-100 options grid (0.05 below 5.00, 0.25 from 5.00), between the lowest and
/// the highest price the side has seen; grows geometrically.
#[derive(Debug, Default)]
struct Ladder {
    /// Tick index of `slots[0]`.
    base: i64,
    /// Per tick: total size, order count.
    slots: Vec<(u32, u32)>,
}

const PX: i64 = 1_000_000_000;

/// Tick index of a price on the options grid.
#[inline]
fn tick_index(price: i64) -> i64 {
    if price < 5 * PX {
        price.div_euclid(PX / 20)
    } else {
        100 + (price - 5 * PX).div_euclid(PX / 4)
    }
}

impl Ladder {
    #[inline]
    fn slot(&mut self, price: i64) -> &mut (u32, u32) {
        let tick = tick_index(price);
        let len = self.slots.len() as i64;
        if tick < self.base || tick >= self.base + len {
            self.grow(tick);
        }
        &mut self.slots[(tick - self.base) as usize]
    }

    #[cold]
    fn grow(&mut self, tick: i64) {
        const PAD: i64 = 16;
        if self.slots.is_empty() {
            self.base = tick - PAD;
            self.slots = vec![(0, 0); 2 * PAD as usize];
            return;
        }
        let len = self.slots.len() as i64;
        let end = self.base + len;
        // At least double, with room on the side that grew.
        let (lo, hi) = if tick < self.base {
            ((tick - PAD).min(end - 2 * len), end)
        } else {
            (self.base, (tick + PAD + 1).max(self.base + 2 * len))
        };
        let mut slots = vec![(0, 0); (hi - lo) as usize];
        let off = (self.base - lo) as usize;
        slots[off..off + self.slots.len()].copy_from_slice(&self.slots);
        self.base = lo;
        self.slots = slots;
    }
}

/// The order-id map with level sums in a direct-indexed ladder per side.
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
        match m.action as u8 {
            b'A' => {
                let side = side_of(m);
                self.ids.insert(m.order_id, (m.price, m.size, side as u8));
                let l = self.sides[side].slot(m.price);
                l.0 = l.0.saturating_add(m.size);
                l.1 += 1;
            }
            b'C' | b'M' => {
                let Entry::Occupied(mut e) = self.ids.entry(m.order_id) else {
                    return;
                };
                let (price, size, s) = *e.get();
                let left = left_after(m, size);
                if left == 0 {
                    e.remove();
                } else {
                    *e.get_mut() = (m.price, left, s);
                }
                let ladder = &mut self.sides[usize::from(s)];
                let l = ladder.slot(price);
                l.0 = l.0.saturating_sub(size);
                if left > 0 && m.price == price {
                    l.0 = l.0.saturating_add(left);
                    return;
                }
                l.1 = l.1.saturating_sub(1);
                if left > 0 {
                    let l = ladder.slot(m.price);
                    l.0 = l.0.saturating_add(left);
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

/// The naive exact book: std maps, a `Vec` queue per level.
#[derive(Debug, Default)]
pub struct NaiveBook {
    /// Resting orders: side and price.
    pub orders: HashMap<u64, (usize, i64)>,
    sides: [BTreeMap<i64, Vec<(u64, u32)>>; 2],
}

impl NaiveBook {
    /// Applies one record.
    pub fn apply(&mut self, m: &MboMsg) {
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
