//! Quoting: each market maker's two-sided quotes at several levels around fair value,
//! refreshed (modify, or cancel and replace) as fair value moves, never crossing the book
//! and never stepping ahead of a working iceberg.

use rand::Rng;

use super::book::{BSide, Owner};
use super::{SessionGenerator, LIVE_LAST};
use crate::pricing::{ceil_to_grid, floor_to_grid, LARGE_TICK, PX, SMALL_TICK};

/// Market-maker parameters.
#[derive(Debug, Clone)]
pub(super) struct MmParams {
    /// Half spread in premium ticks.
    pub(super) half_ticks: u32,
    /// Extra half spread as a fraction of the premium.
    pub(super) half_pct: f64,
    /// Base size of the top level (options).
    pub(super) size: f64,
    /// Probability of a modify (vs cancel/replace) when a quote moves.
    pub(super) modify_prob: f64,
    /// Factor on the options' half spread ([`crate::Background::mm_spread`], 1 in the
    /// presets).
    pub(super) spread: f64,
}

impl SessionGenerator<'_> {
    /// Target (price, size) per level for one MM, one side; clamped so it never crosses.
    pub(super) fn targets(
        &mut self,
        mm: usize,
        inst: usize,
        side: BSide,
        ts: u64,
        big: bool,
    ) -> Vec<Option<(i64, u32)>> {
        let fair = self.fair(inst, ts);
        let p = &self.mm[mm];
        let is_opt = self.chain.insts[inst].is_option();
        let (mut l0, base) = if is_opt {
            let tick = if fair < 5.0 { 0.05 } else { 0.25 };
            let half = (f64::from(p.half_ticks) * tick + p.half_pct * fair) * p.spread;
            match side {
                BSide::Bid => (floor_to_grid(fair - half), p.size),
                BSide::Ask => (ceil_to_grid(fair + half).max(SMALL_TICK), p.size),
            }
        } else {
            let half = f64::from(p.half_ticks) * 0.25;
            let raw = match side {
                BSide::Bid => ((fair - half) * 4.0).floor() * 0.25,
                BSide::Ask => ((fair + half) * 4.0).ceil() * 0.25,
            };
            ((raw * PX as f64).round() as i64, p.size * 0.6)
        };
        // Market makers do not step ahead of a working iceberg on its side.
        for &(ci, cs, cp) in &self.ice_caps {
            if ci == inst && cs == side {
                l0 = match side {
                    BSide::Bid => l0.min(cp),
                    BSide::Ask => l0.max(cp),
                };
            }
        }
        // Never cross the opposite side of the book.
        if let Some(opp) = self.books[inst].best(side.opposite()) {
            match side {
                BSide::Bid if l0 >= opp => l0 = self.down(inst, opp),
                BSide::Ask if l0 <= opp => l0 = self.up(inst, opp),
                _ => {}
            }
        }
        let min = self.min_price(inst);
        let mut out = Vec::with_capacity(self.levels);
        let mut price = l0;
        for level in 0..self.levels {
            if price < min {
                out.push(None);
            } else {
                let jitter = self.rng.random_range(0.6..1.4);
                let mult = if big { 1.0 } else { 1.0 + level as f64 };
                let size = (base * mult * jitter).round().max(1.0) as u32;
                out.push(Some((price, size)));
            }
            price = match side {
                BSide::Bid => self.down(inst, price),
                BSide::Ask => self.up(inst, price),
            };
        }
        out
    }

    fn refresh_side(&mut self, mm: usize, inst: usize, side: BSide, ts: u64) {
        let targets = self.targets(mm, inst, side, ts, false);
        let modify_prob = self.mm[mm].modify_prob;
        for (level, target) in targets.into_iter().enumerate() {
            let slot = self.slot(mm, inst, side, level);
            let cur = self.slots[slot];
            let cur_order = self.orders.get(&cur).map(|o| (o.price, o.size));
            match (cur_order, target) {
                (None, Some((p, q))) => {
                    self.slots[slot] = self.add(inst, side, p, q, Owner::Mm(mm as u8), 0);
                }
                (Some(_), None) => {
                    self.cancel(cur);
                    self.slots[slot] = 0;
                }
                (Some((cp, _)), Some((p, q))) if cp != p => {
                    if self.rng.random_bool(modify_prob) {
                        self.modify(cur, p, q);
                    } else {
                        self.cancel(cur);
                        self.slots[slot] = self.add(inst, side, p, q, Owner::Mm(mm as u8), 0);
                    }
                }
                (Some((_, cq)), Some((_, q))) => {
                    if q != cq && self.rng.random_bool(0.08) {
                        let p = self.orders.get(&cur).map_or(0, |o| o.price);
                        self.modify(cur, p, q);
                    }
                }
                (None, None) => {}
            }
        }
    }

    pub(super) fn refresh(&mut self, ts: u64, mm: usize, inst: usize) {
        if !self.alive(inst, ts) || mm >= self.mm.len() {
            return;
        }
        self.begin(ts);
        // Move the side that moves away from the other first, so the MM never self-crosses.
        let fair = self.fair(inst, ts);
        let bid = self
            .orders
            .get(&self.slots[self.slot(mm, inst, BSide::Bid, 0)])
            .map(|o| o.price);
        let ask = self
            .orders
            .get(&self.slots[self.slot(mm, inst, BSide::Ask, 0)])
            .map(|o| o.price);
        let rising = match (bid, ask) {
            (Some(b), Some(a)) => fair * PX as f64 > (b as f64 + a as f64) / 2.0,
            (Some(b), None) => fair * PX as f64 > b as f64,
            (None, Some(a)) => fair * PX as f64 > a as f64,
            (None, None) => false,
        };
        let order = if rising {
            [BSide::Ask, BSide::Bid]
        } else {
            [BSide::Bid, BSide::Ask]
        };
        for side in order {
            self.refresh_side(mm, inst, side, ts);
        }
        if self.out.len() == self.ev_start {
            // Nothing to move: flicker a resting order (size change or cancel/replace).
            let side = if self.rng.random_bool(0.5) {
                BSide::Bid
            } else {
                BSide::Ask
            };
            let level = self.rng.random_range(0..self.levels);
            let slot = self.slot(mm, inst, side, level);
            let cur = self.slots[slot];
            if let Some((p, q)) = self.orders.get(&cur).map(|o| (o.price, o.size)) {
                if self.rng.random_bool(0.5) {
                    let nq = (f64::from(q) * self.rng.random_range(0.5..1.5))
                        .round()
                        .max(1.0) as u32;
                    self.modify(cur, p, if nq == q { q + 1 } else { nq });
                } else {
                    self.cancel(cur);
                    self.slots[slot] = self.add(inst, side, p, q, Owner::Mm(mm as u8), 0);
                }
            }
        }
        if self.end(LIVE_LAST) {
            self.stats.quote_events += 1;
        }
    }

    /// Whether market maker `mm`'s top quotes on `inst` sit on the wrong side of fair
    /// value or far from it.
    fn stale(&self, mm: usize, inst: usize, ts: u64) -> bool {
        let fair = self.fair(inst, ts) * PX as f64;
        let tol = (0.01 * fair).max(2.0 * LARGE_TICK as f64);
        let bid = self
            .orders
            .get(&self.slots[self.slot(mm, inst, BSide::Bid, 0)])
            .map(|o| o.price as f64);
        let ask = self
            .orders
            .get(&self.slots[self.slot(mm, inst, BSide::Ask, 0)])
            .map(|o| o.price as f64);
        bid.is_some_and(|b| b > fair || b < fair - tol - 0.05 * fair)
            || ask.is_some_and(|a| a < fair || a > fair + tol + 0.05 * fair)
            || (bid.is_none() && fair > 0.5 * PX as f64)
    }

    /// Market makers bring stale quotes on `inst` up to date before anyone trades there
    /// (two passes, so one maker's stale quote cannot pin another's).
    pub(super) fn requote_stale(&mut self, ts: u64, inst: usize) {
        for _ in 0..2 {
            for mm in 0..self.mm.len() {
                if self.stale(mm, inst, ts) {
                    self.refresh(ts, mm, inst);
                }
            }
        }
    }
}
