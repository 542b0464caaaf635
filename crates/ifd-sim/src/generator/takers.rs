//! Takers: the match engine of an aggressive order (trade, fills, then the book update,
//! as Databento normalises CME), retail takes at the touch, and the market makers'
//! replenishment and delta hedges that follow their fills.

use dbn::Action;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Pareto};

use super::book::{BSide, Owner};
use super::{Ev, SessionGenerator, LIVE_LAST};
use crate::truth::Participant;

/// One fill of a take.
#[derive(Debug, Clone, Copy)]
pub(super) struct Fill {
    /// The resting order.
    pub(super) id: u64,
    /// Its price.
    pub(super) price: i64,
    /// Contracts filled.
    pub(super) qty: u32,
    /// Who owned it.
    pub(super) owner: Owner,
}

/// Heavy-tailed retail size: mostly 1-3 lots, occasionally tens; at most `cap` (100 in
/// the presets).
pub(super) fn retail_size(rng: &mut ChaCha8Rng, dist: Option<&Pareto<f64>>, cap: u32) -> u32 {
    dist.map_or(1, |d| {
        d.sample(rng).floor().clamp(1.0, f64::from(cap.max(1))) as u32
    })
}

impl SessionGenerator<'_> {
    /// An aggressive order: takes up to `qty` from the opposite side, at most `max_levels`
    /// price levels, never through `limit`. Emits T+F then C/M. Returns the fills.
    #[allow(
        clippy::too_many_arguments,
        reason = "the parameters of an aggressive order"
    )]
    pub(super) fn take(
        &mut self,
        ts: u64,
        inst: usize,
        aggr: BSide,
        qty: u32,
        max_levels: usize,
        limit: Option<i64>,
        who: Participant,
    ) -> Vec<Fill> {
        if qty == 0 || !self.alive(inst, ts) {
            return Vec::new();
        }
        self.requote_stale(ts, inst);
        let rest = aggr.opposite();
        let mut fills = Vec::new();
        let mut left = qty;
        for (n, (&price, queue)) in self.books[inst].levels(rest).enumerate() {
            if n >= max_levels || left == 0 {
                break;
            }
            if let Some(l) = limit {
                let beyond = match aggr {
                    BSide::Bid => price > l,
                    BSide::Ask => price < l,
                };
                if beyond {
                    break;
                }
            }
            for &id in queue {
                if left == 0 {
                    break;
                }
                if let Some(o) = self.orders.get(&id) {
                    let q = o.size.min(left);
                    left -= q;
                    fills.push(Fill {
                        id,
                        price,
                        qty: q,
                        owner: o.owner,
                    });
                }
            }
        }
        if fills.is_empty() {
            return fills;
        }
        self.begin(ts);
        let aggr_id = self.new_id();
        self.last_aggr_id = aggr_id;
        self.owners.push((aggr_id, who));
        let mut i = 0;
        while i < fills.len() {
            let price = fills[i].price;
            let j = fills[i..]
                .iter()
                .position(|f| f.price != price)
                .map_or(fills.len(), |k| i + k);
            let level_qty: u32 = fills[i..j].iter().map(|f| f.qty).sum();
            self.rec(
                inst,
                Action::Trade,
                aggr.dbn(),
                price,
                level_qty,
                aggr_id,
                0,
            );
            for f in &fills[i..j] {
                self.rec(inst, Action::Fill, rest.dbn(), f.price, f.qty, f.id, 0);
            }
            i = j;
        }
        self.next_packet();
        let mut refill_mms: Vec<u8> = Vec::new();
        let mut at_price: Vec<(u8, i64, u32, u64)> = Vec::new();
        for f in &fills {
            let Some(o) = self.orders.get(&f.id) else {
                continue;
            };
            let remaining = o.size;
            if f.qty >= remaining {
                self.orders.remove(&f.id);
                self.books[inst].remove(rest, f.price, f.id);
                self.rec(
                    inst,
                    Action::Cancel,
                    rest.dbn(),
                    f.price,
                    remaining,
                    f.id,
                    0,
                );
            } else {
                if let Some(o) = self.orders.get_mut(&f.id) {
                    o.size = remaining - f.qty;
                }
                self.rec(
                    inst,
                    Action::Modify,
                    rest.dbn(),
                    f.price,
                    remaining - f.qty,
                    f.id,
                    0,
                );
            }
            if let Owner::Mm(m) = f.owner {
                if self.refills_at_price() {
                    // Put back at the price and size it showed (structural habit).
                    at_price.push((m, f.price, remaining, f.id));
                } else if !refill_mms.contains(&m) {
                    refill_mms.push(m);
                }
            }
        }
        self.end(LIVE_LAST);
        // Fills of resting institutional orders (icebergs) count for their flow, whoever
        // took them; an exhausted display is refilled within milliseconds.
        let start_recv = self.event_start_recv();
        for f in &fills {
            if let Owner::Institution(fl) = f.owner {
                self.on_flow_order_filled(ts, fl as usize, inst, f.id, f.qty, start_recv);
            }
        }
        let total: u32 = fills.iter().map(|f| f.qty).sum();
        self.stats.trade_events += 1;
        self.stats.traded_contracts += u64::from(total);
        // Market makers replenish within milliseconds.
        for m in refill_mms {
            let dt = self.rng.random_range(300_000..30_000_000);
            self.schedule(
                ts + dt,
                Ev::Refresh {
                    mm: m,
                    inst: inst as u32,
                },
            );
        }
        for (m, price, size, order) in at_price {
            self.schedule_mm_refill(ts, m, inst, rest, price, size, order);
        }
        // Market makers hedge option fills in the future.
        let mm_qty: u32 = fills
            .iter()
            .filter(|f| matches!(f.owner, Owner::Mm(_)))
            .map(|f| f.qty)
            .sum();
        if mm_qty > 0 && self.chain.insts[inst].is_option() && self.cfg.decoys.hedges {
            let d = self.delta(inst, ts);
            let aggr_sign = if aggr == BSide::Bid { 1.0 } else { -1.0 };
            let mm_delta = -aggr_sign * d * f64::from(mm_qty);
            let lots = mm_delta.abs().round();
            if lots >= 1.0
                && self
                    .rng
                    .random_bool(self.cfg.decoys.hedge_prob.clamp(0.0, 1.0))
            {
                let side = if mm_delta > 0.0 {
                    BSide::Ask
                } else {
                    BSide::Bid
                };
                let dt = self.rng.random_range(2_000_000..250_000_000);
                self.schedule(
                    ts + dt,
                    Ev::Hedge {
                        side,
                        size: lots.min(200.0) as u32,
                    },
                );
            }
        }
        fills
    }

    /// A market maker's delta hedge: takes up to three levels of the future.
    pub(super) fn hedge(&mut self, ts: u64, side: BSide, size: u32) {
        let fills = self.take(ts, 0, side, size, 3, None, Participant::Hedger);
        if !fills.is_empty() {
            let start = self.out[self.ev_start].ts_recv;
            self.note_hedge(start);
            self.stats.hedges += 1;
        }
    }

    /// A retail order: takes at the touch only, at most what rests there.
    pub(super) fn retail_take(&mut self, ts: u64, inst: usize, side: BSide, size: u32) {
        self.requote_stale(ts, inst);
        if inst != 0 && self.retail_rests() {
            // A marketable limit at the touch for its whole size: the rest rests there.
            let fills = self.take(ts, inst, side, size, 1, None, Participant::Retail);
            let filled: u32 = fills.iter().map(|f| f.qty).sum();
            if let Some(f) = fills.first() {
                let id = self.last_aggr_id;
                self.rest_remainder(ts, inst, side, f.price, size.saturating_sub(filled), id);
            }
            return;
        }
        let top: u32 = self.books[inst]
            .levels(side.opposite())
            .next()
            .map_or(0, |(_, q)| {
                q.iter()
                    .filter_map(|id| self.orders.get(id))
                    .map(|o| o.size)
                    .sum()
            });
        if top > 0 {
            self.take(ts, inst, side, size.min(top), 1, None, Participant::Retail);
        }
    }

    /// Contracts resting at the best price of `side`.
    pub(super) fn top_qty(&self, inst: usize, side: BSide) -> u32 {
        self.depth_qty(inst, side, 1)
    }

    /// Contracts resting on the best `levels` price levels of `side` of `inst`.
    pub(super) fn depth_qty(&self, inst: usize, side: BSide, levels: usize) -> u32 {
        self.books[inst]
            .levels(side)
            .take(levels)
            .flat_map(|(_, q)| q.iter())
            .filter_map(|id| self.orders.get(id))
            .map(|o| o.size)
            .sum()
    }
}
