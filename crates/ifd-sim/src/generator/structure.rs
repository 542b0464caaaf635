//! Structural habits of the background market ([`crate::MarketStructure`], all off in
//! the presets): market makers that refill a hit quote at its price, retail marketable
//! limits whose remainder rests, retail clustered at the open and close and in bursts,
//! and one-sided retail herds on one contract.
//!
//! Every draw here comes from the generator's structural streams, so a configuration
//! without these habits draws exactly what it drew before they existed.

use dbn::Action;
use rand::Rng;
use rand_distr::Pareto;

use super::book::{BSide, Order, Owner};
use super::decoys::{DecoyPlan, DecoyRun};
use super::model::stream_rng;
use super::takers::retail_size;
use super::{Ev, SessionGenerator, LIVE_LAST, STRUCTURE_PLAN_STREAM};
use crate::calendar::NS_PER_SEC;
use crate::truth::Participant;
use crate::{pick_u32, pick_u64};

/// Offset of the plan stream's day for bursts and herds (the modify-only makers use
/// the stream itself).
const BURST_STREAM_OFFSET: u64 = 1;

impl SessionGenerator<'_> {
    /// Plans the open and close ramps, the retail bursts and the herds of the session.
    pub(super) fn plan_structure(&mut self, day: u32) {
        let st = self.cfg.structure.clone();
        let ramp = st.open_close_ramp;
        if ramp.is_finite() && ramp > 0.0 && (ramp - 1.0).abs() > f64::EPSILON {
            // 08:30-09:00 and 14:30-15:00 CT: 15.5 and 21.5 hours after 17:00 CT.
            for h in [15.5, 21.5] {
                let a = self.session.at_day_hours(h);
                let b = self.session.at_day_hours(h + 0.5);
                self.retail_windows.push((a, b, ramp));
            }
        }
        if st.retail_bursts == 0 && st.herds == 0 {
            return;
        }
        let mut prng = stream_rng(
            self.cfg.seed,
            day,
            STRUCTURE_PLAN_STREAM + BURST_STREAM_OFFSET,
        );
        let rate = if st.retail_burst_rate.is_finite() {
            st.retail_burst_rate.clamp(0.0, 50.0)
        } else {
            1.0
        };
        for _ in 0..st.retail_bursts {
            let a = self.session.at_day_hours(prng.random_range(14.0..22.8));
            let len = u64::from(pick_u32(&mut prng, &st.retail_burst_minutes).max(1)) * 60;
            let b = (a + len * NS_PER_SEC).min(self.session.end);
            self.retail_windows.push((a, b, rate));
        }
        for _ in 0..st.herds {
            let ts = self.session.at_day_hours(prng.random_range(14.0..22.5));
            let minutes = u64::from(pick_u32(&mut prng, &st.herd_minutes).max(1));
            let gap_ns = pick_u64(&mut prng, &st.herd_gap_ms).max(1) * 1_000_000;
            let side = if prng.random_bool(0.5) {
                BSide::Bid
            } else {
                BSide::Ask
            };
            let di = self.decoys.len();
            self.decoys.push(DecoyRun::planned(
                ts,
                DecoyPlan::RetailHerd {
                    inst: None,
                    side,
                    until: (ts + minutes * 60 * NS_PER_SEC).min(self.session.end),
                    gap_ns,
                },
            ));
            self.schedule(
                ts,
                Ev::DecoyStep {
                    decoy: di as u32,
                    step: 0,
                },
            );
        }
    }

    /// Factor on the retail take rate at `ts` (1 outside every ramp and burst; the
    /// largest factor where they overlap).
    pub(super) fn retail_factor(&self, ts: u64) -> f64 {
        self.retail_windows
            .iter()
            .filter(|&&(a, b, _)| ts >= a && ts < b)
            .map(|w| w.2)
            .fold(1.0, f64::max)
    }

    /// Whether market maker `m` refills this hit at its price (a structural draw; never
    /// drawn in a market without the habit).
    pub(super) fn refills_at_price(&mut self) -> bool {
        let p = self.cfg.structure.mm_refill_prob;
        p > 0.0 && self.srng.random_bool(p.clamp(0.0, 1.0))
    }

    /// Schedules a market maker's refill of `order` (hit for part or all of its `size`
    /// at `price`).
    #[allow(clippy::too_many_arguments, reason = "the fields of the refill event")]
    pub(super) fn schedule_mm_refill(
        &mut self,
        ts: u64,
        mm: u8,
        inst: usize,
        side: BSide,
        price: i64,
        size: u32,
        order: u64,
    ) {
        let r = &self.cfg.structure.mm_refill_delay_ns;
        let dt = if r.start < r.end {
            self.srng.random_range(r.clone())
        } else {
            r.start
        };
        self.schedule(
            ts + dt.max(1),
            Ev::MmRefill {
                mm,
                inst: inst as u32,
                side,
                price,
                size,
                order,
            },
        );
    }

    /// A market maker puts its hit quote back: the same size at the same price, as a
    /// new order in the quote's slot after a full fill, or the resting order's size
    /// modified back up after a partial one. Nothing when the maker has moved the
    /// quote since, or when the price would now cross the book.
    #[allow(clippy::too_many_arguments, reason = "the fields of the refill event")]
    pub(super) fn mm_refill(
        &mut self,
        ts: u64,
        mm: usize,
        inst: usize,
        side: BSide,
        price: i64,
        size: u32,
        order: u64,
    ) {
        if !self.alive(inst, ts) || mm >= self.mm.len() {
            return;
        }
        let Some(slot) = (0..self.levels)
            .map(|l| self.slot(mm, inst, side, l))
            .find(|&s| self.slots[s] == order)
        else {
            return;
        };
        match self.orders.get(&order).map(|o| (o.price, o.size)) {
            Some((p, q)) if p == price && q < size => {
                self.begin(ts);
                self.modify(order, price, size);
                self.end(LIVE_LAST);
            }
            Some(_) => return,
            None => {
                let crosses =
                    self.books[inst]
                        .best(side.opposite())
                        .is_some_and(|opp| match side {
                            BSide::Bid => price >= opp,
                            BSide::Ask => price <= opp,
                        });
                if crosses {
                    return;
                }
                self.begin(ts);
                self.slots[slot] = self.add(inst, side, price, size, Owner::Mm(mm as u8), 0);
                self.end(LIVE_LAST);
            }
        }
        self.stats.quote_events += 1;
    }

    /// Whether this retail take is a marketable limit for its whole size (a structural
    /// draw; never drawn in a market without the habit).
    pub(super) fn retail_rests(&mut self) -> bool {
        let p = self.cfg.structure.retail_rest_share;
        p > 0.0 && self.srng.random_bool(p.clamp(0.0, 1.0))
    }

    /// The unfilled `size` of the retail marketable limit `id` rests at `price` on
    /// `side` (its own order id, as CME shows an aggressor's remainder), and is
    /// cancelled after a drawn time if nobody fills it.
    pub(super) fn rest_remainder(
        &mut self,
        ts: u64,
        inst: usize,
        side: BSide,
        price: i64,
        size: u32,
        id: u64,
    ) {
        if size == 0 || self.orders.contains_key(&id) {
            return;
        }
        self.begin(ts);
        self.books[inst].insert(side, price, id);
        self.orders.insert(
            id,
            Order {
                inst,
                side,
                price,
                size,
                owner: Owner::Retail,
            },
        );
        self.rec(inst, Action::Add, side.dbn(), price, size, id, 0);
        self.end(LIVE_LAST);
        let r = &self.cfg.structure.retail_rest_ns;
        let life = if r.start < r.end {
            self.srng.random_range(r.clone())
        } else {
            r.start
        };
        self.schedule(ts + life.max(1), Ev::CancelOrder { id });
    }

    /// One take of a retail herd: a small retail order at the touch of its contract,
    /// nearly always of the herd's side; the next follows after an exponential gap
    /// until the herd's end.
    pub(super) fn herd_step(&mut self, ts: u64, decoy: usize, step: u32) {
        let DecoyPlan::RetailHerd {
            inst,
            side,
            until,
            gap_ns,
        } = self.decoys[decoy].plan
        else {
            return;
        };
        let inst = match inst {
            Some(i) => i,
            None => {
                let Some(i) = self.pick_option() else { return };
                if let DecoyPlan::RetailHerd { inst, .. } = &mut self.decoys[decoy].plan {
                    *inst = Some(i);
                }
                i
            }
        };
        let one_sided = self.cfg.structure.herd_one_sided.clamp(0.0, 1.0);
        let take_side = if self.srng.random_bool(one_sided) {
            side
        } else {
            side.opposite()
        };
        let dist = Pareto::new(1.0, self.cfg.background.size_tail).ok();
        let size = retail_size(&mut self.srng, dist.as_ref(), self.cfg.background.size_cap);
        self.requote_stale(ts, inst);
        let top = self.top_qty(inst, take_side.opposite());
        if top > 0 {
            let fills = self.take(
                ts,
                inst,
                take_side,
                size.min(top),
                1,
                None,
                Participant::Retail,
            );
            if !fills.is_empty() {
                let start = self.event_start_recv();
                self.note_decoy(decoy, Some(inst), start);
            }
        }
        // Exponential gaps around the herd's mean.
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss,
            reason = "gaps of seconds in ns"
        )]
        let gap = (-(1.0 - self.srng.random::<f64>()).ln() * gap_ns as f64) as u64;
        let next = ts + gap.max(1_000_000);
        if next < until {
            self.schedule(
                next,
                Ev::DecoyStep {
                    decoy: decoy as u32,
                    step: step + 1,
                },
            );
        }
    }
}
