//! Real-world prints that are not institutional directional flow (issue 18): multi-leg
//! packages of every structure, "lottery tickets" on deep out-of-the-money wings, and
//! dealer-to-dealer crosses. Each is a decoy with its own [`DecoyKind`](crate::DecoyKind), planned from its
//! own random stream (so sessions without them are unchanged), and printed against the
//! exact book as a real aggressor would print it.

use rand::Rng;

use super::book::{BSide, Owner};
use super::decoys::{DecoyPlan, DecoyRun};
use super::model::stream_rng;
use super::{Ev, SessionGenerator, LIVE_LAST};
use crate::pick_u32;
use crate::pricing::{ceil_to_grid, floor_to_grid};
use crate::truth::{PackageLeg, PackageStructure, Participant, TruthSide};

/// The random stream of the real-world prints' plans.
const PRINTS_STREAM: u64 = 19;

/// How large a leg is, per unit of the package.
#[derive(Debug, Clone, Copy)]
enum LegSize {
    /// This many contracts per unit (1, or 2 for the body of a butterfly or a ratio).
    Units(u32),
    /// The future hedge: this many lots (the options' net delta) per unit.
    Hedge(f64),
}

/// One contract per unit.
const U1: LegSize = LegSize::Units(1);
/// Two contracts per unit.
const U2: LegSize = LegSize::Units(2);

/// One leg to print: instrument index, the package trader's side, its size per unit.
type LegPlan = (usize, TruthSide, LegSize);

impl SessionGenerator<'_> {
    /// Plans the session's packages, lottery tickets and dealer crosses.
    pub(super) fn plan_real_world_prints(&mut self, day: u32) {
        let dc = self.cfg.decoys.clone();
        if dc.packages + dc.lottery_tickets + dc.dealer_crosses == 0 {
            return;
        }
        let mut prng = stream_rng(self.cfg.seed, day, PRINTS_STREAM);
        let first = prng.random_range(0..PackageStructure::ALL.len());
        let mut plans = Vec::new();
        for i in 0..dc.packages as usize {
            let structure = PackageStructure::ALL[(first + i) % PackageStructure::ALL.len()];
            plans.push(DecoyPlan::Package { structure });
        }
        plans.extend((0..dc.lottery_tickets).map(|_| DecoyPlan::Lottery));
        plans.extend((0..dc.dealer_crosses).map(|_| DecoyPlan::DealerCross { cross: None }));
        for plan in plans {
            // Mostly in the regular trading hours (07:00 to 15:48 CT on an ordinary day).
            let ts = self.session.at_day_hours(prng.random_range(14.0..22.8));
            let di = self.decoys.len();
            self.decoys.push(DecoyRun::planned(ts, plan));
            self.schedule(
                ts,
                Ev::DecoyStep {
                    decoy: di as u32,
                    step: 0,
                },
            );
        }
    }

    /// A package: step 0 chooses the legs and prints the first, each later step prints
    /// the next, a fraction of a millisecond to a few milliseconds apart.
    pub(super) fn package_step(
        &mut self,
        ts: u64,
        decoy: usize,
        structure: PackageStructure,
        step: u32,
    ) {
        if step == 0 {
            let Some((structure, legs)) = self.package_legs(ts, structure) else {
                return;
            };
            // A package trades whole or not at all: one with a leg on an expired
            // contract is not traded rather than printed in part.
            if !legs.iter().all(|&(inst, _, _)| self.alive(inst, ts)) {
                return;
            }
            let unit = pick_u32(&mut self.rng, &self.cfg.decoys.package_size).max(1);
            let d = &mut self.decoys[decoy];
            d.plan = DecoyPlan::Package { structure };
            d.pending = legs
                .into_iter()
                .map(|(inst, side, size)| {
                    let qty = match size {
                        LegSize::Units(u) => unit * u,
                        LegSize::Hedge(delta) => (f64::from(unit) * delta).round() as u32,
                    };
                    (inst, side, qty)
                })
                .collect();
        }
        let Some(&(inst, side, qty)) = self.decoys[decoy].pending.get(step as usize) else {
            return;
        };
        if let Some(leg) =
            self.take_at_touch(ts, decoy, inst, side, qty, Participant::PackageTrader)
        {
            self.decoys[decoy].legs.push(leg);
        }
        if (step as usize) + 1 < self.decoys[decoy].pending.len() {
            let r = &self.cfg.decoys.package_leg_gap_ns;
            let gap = if r.start < r.end {
                self.rng.random_range(r.clone())
            } else {
                r.start
            };
            self.schedule(
                ts + gap,
                Ev::DecoyStep {
                    decoy: decoy as u32,
                    step: step + 1,
                },
            );
        }
    }

    /// The legs of a package of `structure` on the book at `ts` (a calendar needs two
    /// expiries with a common strike and falls back to a vertical without them), plus a
    /// future leg that takes out the net delta of the structures that carry one.
    fn package_legs(
        &mut self,
        ts: u64,
        structure: PackageStructure,
    ) -> Option<(PackageStructure, Vec<LegPlan>)> {
        use PackageStructure as P;
        let n_exp = self.chain.by_expiry.len();
        if n_exp == 0 {
            return None;
        }
        // Past the front expiry's expiration (or most of the time anyway) trade later ones.
        let e = if n_exp > 1 && (self.rng.random_bool(0.6) || !self.front_alive(ts)) {
            self.rng.random_range(1..n_exp)
        } else {
            0
        };
        let s = if self.rng.random_bool(0.5) {
            TruthSide::Buy
        } else {
            TruthSide::Sell
        };
        let o = s.opposite();
        let call = self.rng.random_bool(0.5);
        let otm = |g: &Self, e: usize, call: bool, k: i64| g.otm_strike(ts, e, call, k);
        let mut structure = structure;
        if structure == P::Calendar {
            let near = (0..n_exp.saturating_sub(1))
                .rev()
                .filter(|&n| n > 0 || self.front_alive(ts))
                .find_map(|n| {
                    let far = otm(self, n + 1, call, 0)?;
                    let k = self.chain.insts[far].strike;
                    let near = self.chain.by_expiry[n]
                        .iter()
                        .map(|pair| pair[usize::from(!call)])
                        .find(|&i| (self.chain.insts[i].strike - k).abs() < 1e-9)?;
                    Some((near, far))
                });
            match near {
                Some((near, far)) => return Some((P::Calendar, vec![(near, o, U1), (far, s, U1)])),
                None => structure = P::Vertical,
            }
        }
        let mut legs: Vec<LegPlan> = match structure {
            P::Calendar | P::Vertical => {
                let a = self.rng.random_range(0..=1);
                let b = a + self.rng.random_range(1..=2);
                vec![
                    (otm(self, e, call, a)?, s, U1),
                    (otm(self, e, call, b)?, o, U1),
                ]
            }
            P::Straddle => vec![
                (otm(self, e, true, 0)?, s, U1),
                (otm(self, e, false, 0)?, s, U1),
            ],
            P::Strangle => {
                let k = self.rng.random_range(1..=3);
                vec![
                    (otm(self, e, true, k)?, s, U1),
                    (otm(self, e, false, k)?, s, U1),
                ]
            }
            P::Synthetic => vec![
                (otm(self, e, true, 0)?, s, U1),
                (otm(self, e, false, 0)?, o, U1),
            ],
            P::RiskReversal => {
                let k = self.rng.random_range(1..=3);
                vec![
                    (otm(self, e, true, k)?, s, U1),
                    (otm(self, e, false, k)?, o, U1),
                ]
            }
            P::Butterfly => {
                let k = self.rng.random_range(0..=1);
                vec![
                    (otm(self, e, call, k)?, s, U1),
                    (otm(self, e, call, k + 1)?, o, U2),
                    (otm(self, e, call, k + 2)?, s, U1),
                ]
            }
            P::Ratio => {
                let k = self.rng.random_range(2..=3);
                vec![
                    (otm(self, e, call, 0)?, s, U1),
                    (otm(self, e, call, k)?, o, U2),
                ]
            }
        };
        // Strikes clamped at the chain's edge can collapse two legs into one contract.
        let mut insts: Vec<usize> = legs.iter().map(|l| l.0).collect();
        insts.sort_unstable();
        insts.dedup();
        if insts.len() != legs.len() {
            return None;
        }
        if matches!(structure, P::Synthetic | P::RiskReversal | P::Vertical) {
            // Tied to the future: the future leg takes out the options' net delta per
            // unit, so the package has no net view.
            let net: f64 = legs
                .iter()
                .map(|&(i, side, size)| {
                    let sign = if side == TruthSide::Buy { 1.0 } else { -1.0 };
                    let units = match size {
                        LegSize::Units(u) => f64::from(u),
                        LegSize::Hedge(_) => 0.0,
                    };
                    sign * units * self.delta(i, ts)
                })
                .sum();
            if net.abs() >= 0.05 {
                let side = if net > 0.0 {
                    TruthSide::Sell
                } else {
                    TruthSide::Buy
                };
                legs.push((0, side, LegSize::Hedge(net.abs())));
            }
        }
        Some((structure, legs))
    }

    fn front_alive(&self, ts: u64) -> bool {
        self.chain
            .by_expiry
            .first()
            .and_then(|s| s.first())
            .is_some_and(|pair| self.alive(pair[0], ts))
    }

    /// `who` takes exactly `qty` at the touch of `inst`: the touch is topped up first by
    /// a market maker's order when it is thinner (as spread liquidity implied out into
    /// the outright book shows), so the print is one price and the full size. Notes the
    /// decoy and returns the print.
    fn take_at_touch(
        &mut self,
        ts: u64,
        decoy: usize,
        inst: usize,
        side: TruthSide,
        qty: u32,
        who: Participant,
    ) -> Option<PackageLeg> {
        if qty == 0 || !self.alive(inst, ts) {
            return None;
        }
        self.requote_stale(ts, inst);
        let aggr = BSide::aggressor_of(side);
        let rest = aggr.opposite();
        // A package's legs are priced together, so a leg prints even where the outright
        // book has no touch on its side (a wing nobody bids): the market maker taking
        // the other side of the package posts it at fair value on the grid.
        let best = match self.books[inst].best(rest) {
            Some(b) => b,
            None if self.chain.insts[inst].is_option() => {
                let fair = self.fair(inst, ts);
                let p = match rest {
                    BSide::Bid => floor_to_grid(fair),
                    BSide::Ask => ceil_to_grid(fair),
                };
                p.max(self.min_price(inst))
            }
            None => return None,
        };
        let top = self.top_qty(inst, rest);
        let mut topup = None;
        if top < qty {
            let mm = self.rng.random_range(0..self.mm.len()) as u8;
            self.begin(ts);
            topup = Some(self.add(inst, rest, best, qty - top, Owner::DecoyQuote(mm), 0));
            self.end(LIVE_LAST);
        }
        let t = ts + self.rng.random_range(20_000..200_000);
        let fills = self.take(t, inst, aggr, qty, 1, None, who);
        let size: u32 = fills.iter().map(|f| f.qty).sum();
        let price = fills.first().map(|f| f.price);
        let start = self.event_start_recv();
        if size > 0 {
            self.note_decoy(decoy, Some(inst), start);
        }
        if let Some(id) = topup.filter(|id| self.orders.contains_key(id)) {
            self.begin(t + 1);
            self.cancel(id);
            self.end(LIVE_LAST);
        }
        Some(PackageLeg {
            instrument_id: self.chain.insts[inst].id,
            side,
            size,
            price: price?,
        })
    }

    /// A lottery ticket: hundreds of lots bought (now and then sold) at a few ticks on
    /// the cheapest deep out-of-the-money wing that is quoted.
    pub(super) fn lottery_step(&mut self, ts: u64, decoy: usize) {
        // The outermost strikes of every expiry (the wings when the chain has them: see
        // `chain::build`); the cheapest that is offered.
        let mut best: Option<(f64, usize)> = None;
        for strikes in &self.chain.by_expiry {
            let wings = [strikes.last().map(|p| p[0]), strikes.first().map(|p| p[1])];
            for inst in wings.into_iter().flatten() {
                if !self.alive(inst, ts) || self.books[inst].best(BSide::Ask).is_none() {
                    continue;
                }
                let v = self.fair(inst, ts);
                if best.is_none_or(|(b, _)| v < b) {
                    best = Some((v, inst));
                }
            }
        }
        let Some((_, inst)) = best else { return };
        let side = if self.rng.random_bool(0.85) {
            TruthSide::Buy
        } else {
            TruthSide::Sell
        };
        let qty = pick_u32(&mut self.rng, &self.cfg.decoys.lottery_size).max(1);
        self.take_at_touch(ts, decoy, inst, side, qty, Participant::Retail);
    }

    /// A dealer cross. Step 0: one market maker posts inside the spread of a contract
    /// near the money. Step 1, within milliseconds: another takes it in full, and both
    /// re-quote.
    pub(super) fn dealer_cross_step(&mut self, ts: u64, decoy: usize, step: u32) {
        let n_mm = self.mm.len();
        if step == 0 {
            for _ in 0..8 {
                let Some(inst) = self.pick_option() else {
                    return;
                };
                if !self.alive(inst, ts) {
                    continue;
                }
                self.requote_stale(ts, inst);
                let (Some(bb), Some(ba)) = (
                    self.books[inst].best(BSide::Bid),
                    self.books[inst].best(BSide::Ask),
                ) else {
                    continue;
                };
                let side = if self.rng.random_bool(0.5) {
                    BSide::Bid
                } else {
                    BSide::Ask
                };
                let price = match side {
                    BSide::Bid => self.up(inst, bb),
                    BSide::Ask => self.down(inst, ba),
                };
                if price <= bb || price >= ba {
                    continue; // no room inside the spread
                }
                let maker = self.rng.random_range(0..n_mm) as u8;
                let taker = if n_mm > 1 {
                    (maker as usize + self.rng.random_range(1..n_mm)) % n_mm
                } else {
                    usize::from(maker)
                } as u8;
                let size = pick_u32(&mut self.rng, &self.cfg.decoys.dealer_cross_size).max(1);
                self.begin(ts);
                let order = self.add(inst, side, price, size, Owner::DecoyQuote(maker), 0);
                self.end(LIVE_LAST);
                let start = self.ev_recv;
                self.note_decoy(decoy, Some(inst), start);
                self.decoys[decoy].plan = DecoyPlan::DealerCross {
                    cross: Some(Cross {
                        inst,
                        order,
                        price,
                        size,
                        side,
                        maker,
                        taker,
                    }),
                };
                let dt = self.rng.random_range(300_000..5_000_000);
                self.schedule(
                    ts + dt,
                    Ev::DecoyStep {
                        decoy: decoy as u32,
                        step: 1,
                    },
                );
                return;
            }
            return;
        }
        let DecoyPlan::DealerCross { cross: Some(c) } = self.decoys[decoy].plan else {
            return;
        };
        let fills = self.take(
            ts,
            c.inst,
            c.side.opposite(),
            c.size,
            1,
            Some(c.price),
            Participant::MarketMaker(c.taker),
        );
        if !fills.is_empty() {
            let start = self.event_start_recv();
            self.note_decoy(decoy, Some(c.inst), start);
        }
        if self.orders.contains_key(&c.order) {
            self.begin(ts + 1);
            self.cancel(c.order);
            self.end(LIVE_LAST);
        }
        for mm in [c.maker, c.taker] {
            let dt = self.rng.random_range(500_000..5_000_000);
            self.schedule(
                ts + dt,
                Ev::Refresh {
                    mm,
                    inst: c.inst as u32,
                },
            );
        }
    }
}

/// A dealer cross once its order is posted.
#[derive(Debug, Clone, Copy)]
pub(super) struct Cross {
    /// The contract.
    inst: usize,
    /// The maker's order inside the spread.
    order: u64,
    /// Its price.
    price: i64,
    /// Its size.
    size: u32,
    /// Its side.
    side: BSide,
    /// The market maker who posted it.
    maker: u8,
    /// The market maker who takes it.
    taker: u8,
}
