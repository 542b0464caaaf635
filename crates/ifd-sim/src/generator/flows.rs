//! Planted institutional flows: blocks, sweeps, cross-strike takes, icebergs and
//! accumulations, each a small state machine stepped by [`Ev::Plant`] events.

use rand::Rng;

use super::book::{BSide, Owner};
use super::model::stream_rng;
use super::{Ev, SessionGenerator, LIVE_LAST};
use crate::calendar::NS_PER_SEC;
use crate::pricing::{ceil_to_grid, floor_to_grid, PX};
use crate::truth::{FlowKind, Participant, Truth, TruthDirection, TruthSide};
use crate::{pick_u32, pick_u64};

/// Dollars per point of an NQ option (one contract on one E-mini future, $20 a point).
const CONTRACT_MULTIPLIER: f64 = 20.0;

/// One planted flow: what it trades, what it has traded so far, and its kind's state.
#[derive(Debug, Clone)]
pub(super) struct Flow {
    /// The institution's side.
    side: TruthSide,
    /// Calls (`true`) or puts.
    call: bool,
    /// Index of the expiry it trades.
    expiry: usize,
    /// Instruments traded so far.
    insts: Vec<usize>,
    /// Contracts the institution traded so far.
    size: u64,
    /// `ts_recv` of its first record (`u64::MAX` until it has one).
    ts_start: u64,
    /// `ts_recv` of its last record.
    ts_end: u64,
    /// Steps retried because the book could not host them yet.
    retries: u32,
    /// The kind and its state.
    plan: FlowPlan,
}

/// The kind of a planted flow with the state only that kind needs.
#[derive(Debug, Clone, Copy)]
enum FlowPlan {
    /// A negotiated-size print against a facilitation order.
    Block {
        /// Contracts the institution takes.
        size: u32,
        /// The facilitation order, once posted.
        facilitation: Option<Resting>,
    },
    /// One aggressor event through several levels.
    Sweep {
        /// Price levels to take.
        levels: u32,
    },
    /// Touch takes on successive strikes within milliseconds.
    CrossStrike {
        /// Strikes to take.
        strikes: u32,
        /// Mean gap between two strikes, ns.
        gap_ns: u64,
    },
    /// A passive order refilled at one price.
    Iceberg {
        /// Displayed size of each refill.
        display: u32,
        /// Total size wanted.
        total: u32,
        /// The institution gives up after this time.
        deadline: u64,
        /// The working order, once posted.
        working: Option<IcebergOrder>,
    },
    /// Slow touch takes on one contract.
    Accumulation {
        /// Takes to make.
        trades: u32,
        /// Mean gap between two takes, ns.
        gap_ns: u64,
    },
}

/// A resting order of a flow at a fixed price.
#[derive(Debug, Clone, Copy)]
struct Resting {
    order: u64,
    price: i64,
}

/// The displayed order of a working iceberg and what is still hidden behind it.
#[derive(Debug, Clone, Copy)]
struct IcebergOrder {
    order: u64,
    price: i64,
    hidden_left: u32,
}

impl FlowPlan {
    fn kind(self) -> FlowKind {
        match self {
            Self::Block { .. } => FlowKind::Block,
            Self::Sweep { .. } => FlowKind::Sweep,
            Self::CrossStrike { .. } => FlowKind::CrossStrike,
            Self::Iceberg { .. } => FlowKind::Iceberg,
            Self::Accumulation { .. } => FlowKind::Accumulation,
        }
    }
}

impl SessionGenerator<'_> {
    pub(super) fn plan_flows(&mut self, day: u32) {
        let mut prng = stream_rng(self.cfg.seed, day, 3);
        let fc = self.cfg.flows.clone();
        let mut kinds = Vec::new();
        for (kind, n) in [
            (FlowKind::Block, fc.blocks),
            (FlowKind::Sweep, fc.sweeps),
            (FlowKind::CrossStrike, fc.cross_strikes),
            (FlowKind::Iceberg, fc.icebergs),
            (FlowKind::Accumulation, fc.accumulations),
        ] {
            kinds.extend(std::iter::repeat_n(kind, n as usize));
        }
        let n_exp = self.chain.by_expiry.len();
        for (fi, kind) in kinds.into_iter().enumerate() {
            let side = if prng.random_bool(0.5) {
                TruthSide::Buy
            } else {
                TruthSide::Sell
            };
            let call = prng.random_bool(0.5);
            let expiry = if n_exp > 1 && prng.random_bool(0.4) {
                prng.random_range(1..n_exp)
            } else {
                0
            };
            let h = prng.random_range(15.6..21.5);
            let ts = self.session.at_day_hours(h);
            let plan = match kind {
                FlowKind::Block => FlowPlan::Block {
                    size: pick_u32(&mut prng, &fc.block_size),
                    facilitation: None,
                },
                FlowKind::Sweep => FlowPlan::Sweep {
                    levels: pick_u32(&mut prng, &fc.sweep_levels).max(2),
                },
                FlowKind::CrossStrike => {
                    let strikes = pick_u32(&mut prng, &fc.cross_strike_strikes).max(2);
                    let gap_ns = pick_u64(&mut prng, &fc.cross_strike_gap_us).max(1) * 1_000;
                    FlowPlan::CrossStrike { strikes, gap_ns }
                }
                FlowKind::Iceberg => {
                    let display = pick_u32(&mut prng, &fc.iceberg_display).max(1);
                    let total = pick_u32(&mut prng, &fc.iceberg_total).max(display * 3);
                    FlowPlan::Iceberg {
                        display,
                        total,
                        deadline: ts + 30 * 60 * NS_PER_SEC,
                        working: None,
                    }
                }
                FlowKind::Accumulation => {
                    let trades = pick_u32(&mut prng, &fc.accumulation_trades).max(3);
                    let minutes = u64::from(pick_u32(&mut prng, &fc.accumulation_minutes).max(1));
                    FlowPlan::Accumulation {
                        trades,
                        gap_ns: minutes * 60 * NS_PER_SEC / u64::from(trades),
                    }
                }
            };
            self.planned.push((ts, TruthDirection::of(side, call)));
            self.flows.push(Flow {
                side,
                call,
                expiry,
                insts: Vec::new(),
                size: 0,
                ts_start: u64::MAX,
                ts_end: 0,
                retries: 0,
                plan,
            });
            self.schedule(
                ts,
                Ev::Plant {
                    flow: fi as u32,
                    step: 0,
                },
            );
        }
    }

    /// Option instrument index of expiry `e`, `offset` strikes out of the money from ATM.
    pub(super) fn otm_strike(&self, ts: u64, e: usize, call: bool, offset: i64) -> Option<usize> {
        let (atm, last) = self.atm_index(ts, e)?;
        // Clamped to the listed strikes when the underlying has run to the chain's edge.
        let k = if call { atm + offset } else { atm - offset }.clamp(0, last);
        self.strike_inst(e, call, k)
    }

    /// Whether a flow of `lots` contracts of `inst` at `ts` is sized as an institution
    /// sizes it ([`crate::RiskSizing`]): worth at least `premium` USD at fair value, with
    /// |delta| at least the floor. Always true without risk sizing.
    fn is_risk_sized(&self, ts: u64, inst: usize, lots: u64, premium: Option<f64>) -> bool {
        let (Some(risk), Some(premium)) = (self.cfg.flows.risk, premium) else {
            return true;
        };
        #[allow(clippy::cast_precision_loss, reason = "contract counts far below 2^52")]
        let value = self.fair(inst, ts) * lots as f64 * CONTRACT_MULTIPLIER;
        self.alive(inst, ts) && value >= premium && self.delta(inst, ts).abs() >= risk.min_abs_delta
    }

    /// The expiries a flow planned on expiry `e` may trade: `e` and, with risk sizing,
    /// every later one.
    fn sized_expiries(&self, e: usize) -> std::ops::Range<usize> {
        if self.cfg.flows.risk.is_some() {
            e..self.chain.by_expiry.len().max(e)
        } else {
            e..e + 1
        }
    }

    /// The contract (and its expiry) of a flow of `lots` contracts planned `offset`
    /// strikes out of the money on expiry `e`: that strike when it is risk-sized
    /// ([`Self::is_risk_sized`]), else the first that is moving one strike towards the
    /// money at a time, then on each later expiry from `offset` again. `None` when no
    /// listed contract is (the underlying has run past the chain's last strike and
    /// every contract of the flow's kind is a far wing): the flow is not planted.
    fn risk_sized(
        &self,
        ts: u64,
        e: usize,
        call: bool,
        offset: i64,
        premium: Option<f64>,
        lots: u64,
    ) -> Option<(usize, usize)> {
        for ex in self.sized_expiries(e) {
            for off in (0..=offset.max(0)).rev() {
                if let Some(inst) = self.otm_strike(ts, ex, call, off) {
                    if self.is_risk_sized(ts, inst, lots, premium) {
                        return Some((inst, ex));
                    }
                }
            }
        }
        None
    }

    /// The contract a sweep of `levels` levels takes: the first of 1, 2, 0, 3 and 4
    /// strikes out of the money on the flow's expiry whose book shows enough levels
    /// (`levels`, at most 3) and whose levels are worth the sweep's premium
    /// ([`Self::is_risk_sized`]), then the same on each later expiry (`None`: the step
    /// is retried a few seconds later). Returns the instrument, its offset and its
    /// expiry.
    fn sweep_target(
        &self,
        ts: u64,
        st: &Flow,
        take_side: BSide,
        levels: usize,
    ) -> Option<(usize, i64, usize)> {
        let premium = self.cfg.flows.risk.map(|r| r.sweep_premium);
        for ex in self.sized_expiries(st.expiry) {
            for offset in [1, 2, 0, 3, 4] {
                let Some(inst) = self.otm_strike(ts, ex, st.call, offset) else {
                    continue;
                };
                if self.books[inst].level_count(take_side) < levels.min(3) {
                    continue;
                }
                let lots = u64::from(self.depth_qty(inst, take_side, levels));
                if self.is_risk_sized(ts, inst, lots, premium) {
                    return Some((inst, offset, ex));
                }
            }
        }
        None
    }

    /// The `j`-th of `n` distinct strikes of a cross-strike flow on expiry `e`: the
    /// strikes from ATM outward (`j` strikes out of the money), as
    /// [`Self::otm_strike`] gives them, unless they would run past the chain's last
    /// listed strike; then the `n` strikes end at that edge instead, so that the flow
    /// still trades `n` different strikes (clamping each one alone put every leg of a
    /// flow near the edge on the same one or two strikes: a one-strike "cross-strike").
    fn cross_strike_inst(&self, ts: u64, e: usize, call: bool, j: i64, n: i64) -> Option<usize> {
        let (atm, last) = self.atm_index(ts, e)?;
        let span = (n - 1).max(0);
        let k = if call {
            atm.min(last - span).max(0) + j
        } else {
            atm.max(span).min(last) - j
        };
        self.strike_inst(e, call, k.clamp(0, last))
    }

    /// Index of the strike nearest the underlying's forward within expiry `e`, and the
    /// last strike index.
    fn atm_index(&self, ts: u64, e: usize) -> Option<(i64, i64)> {
        let strikes = self.chain.by_expiry.get(e)?;
        let f = self.fwd(ts);
        let atm = strikes
            .iter()
            .enumerate()
            .min_by(|a, b| {
                let ka = (self.chain.insts[a.1[0]].strike - f).abs();
                let kb = (self.chain.insts[b.1[0]].strike - f).abs();
                ka.total_cmp(&kb)
            })
            .map(|(i, _)| i64::try_from(i).unwrap_or(0))?;
        let last = i64::try_from(strikes.len()).ok()? - 1;
        Some((atm, last))
    }

    /// The call (or put) instrument of strike index `k` of expiry `e`.
    fn strike_inst(&self, e: usize, call: bool, k: i64) -> Option<usize> {
        self.chain
            .by_expiry
            .get(e)?
            .get(usize::try_from(k).ok()?)
            .map(|pair| pair[usize::from(!call)])
    }

    fn note_flow(&mut self, flow: usize, inst: usize, qty: u64, start_recv: u64) {
        let end = self.ev_recv;
        let st = &mut self.flows[flow];
        if !st.insts.contains(&inst) {
            st.insts.push(inst);
        }
        st.size += qty;
        st.ts_start = st.ts_start.min(start_recv);
        st.ts_end = st.ts_end.max(end);
    }

    /// A resting order of flow `flow` was hit for `qty` in the match event that started
    /// at `start_recv`. The fill counts for the flow, whoever took it; an iceberg whose
    /// display is gone and that still hides size is refilled within milliseconds.
    pub(super) fn on_flow_order_filled(
        &mut self,
        ts: u64,
        flow: usize,
        inst: usize,
        order: u64,
        qty: u32,
        start_recv: u64,
    ) {
        self.note_flow(flow, inst, u64::from(qty), start_recv);
        let hidden = match self.flows[flow].plan {
            FlowPlan::Iceberg {
                working: Some(w), ..
            } => w.hidden_left,
            _ => 0,
        };
        if hidden > 0 && !self.orders.contains_key(&order) {
            let dt = self.rng.random_range(200_000..2_000_000);
            self.schedule(
                ts + dt,
                Ev::Plant {
                    flow: flow as u32,
                    step: 2,
                },
            );
        }
    }

    /// An institutional aggressive order; returns the filled quantity.
    fn flow_take(
        &mut self,
        ts: u64,
        flow: usize,
        inst: usize,
        qty: u32,
        levels: usize,
        limit: Option<i64>,
    ) -> u32 {
        let side = BSide::aggressor_of(self.flows[flow].side);
        let fills = self.take(
            ts,
            inst,
            side,
            qty,
            levels,
            limit,
            Participant::Institution(flow as u64 + 1),
        );
        let filled: u32 = fills.iter().map(|f| f.qty).sum();
        if filled > 0 {
            let start = self.event_start_recv();
            self.note_flow(flow, inst, u64::from(filled), start);
        }
        filled
    }

    pub(super) fn flow_step(&mut self, ts: u64, flow: usize, step: u32) {
        let st = self.flows[flow].clone();
        let take_side = BSide::aggressor_of(st.side).opposite();
        match st.plan {
            FlowPlan::Sweep { levels } => {
                // One aggressor event through `levels` levels; sometimes on adjacent strikes too.
                let levels = levels as usize;
                let Some((inst, offset, expiry)) = self.sweep_target(ts, &st, take_side, levels)
                else {
                    self.retry(ts, flow, step);
                    return;
                };
                self.flows[flow].expiry = expiry;
                let mut targets = vec![inst];
                if self
                    .rng
                    .random_bool(self.cfg.flows.sweep_multi_strike_prob.clamp(0.0, 1.0))
                {
                    for extra in 1..=self.rng.random_range(1..=2_i64) {
                        if let Some(i) = self.otm_strike(ts, expiry, st.call, offset + extra) {
                            if self.books[i].level_count(take_side) >= 2 {
                                targets.push(i);
                            }
                        }
                    }
                }
                let mut t = ts;
                for inst in targets {
                    self.requote_stale(t, inst);
                    let qty = self.depth_qty(inst, take_side, levels);
                    self.flow_take(t, flow, inst, qty, levels, None);
                    t += self.rng.random_range(20_000..400_000);
                }
            }
            FlowPlan::Block { size, facilitation } => {
                if step == 0 {
                    self.post_facilitation(ts, flow, &st, size, take_side);
                } else if let Some(fac) = facilitation {
                    let inst = st.insts[0];
                    self.flow_take(ts, flow, inst, size, 4, Some(fac.price));
                    if self.orders.contains_key(&fac.order) {
                        let dt = self.rng.random_range(200_000..5_000_000);
                        self.begin(ts + dt);
                        self.cancel(fac.order);
                        self.end(LIVE_LAST);
                    }
                }
            }
            FlowPlan::CrossStrike { strikes, gap_ns } => {
                // Step j takes the touch on the j-th strike out of the money (the
                // strikes slide inward from the chain's edge to stay distinct).
                let j = i64::from(step);
                let n = i64::from(strikes);
                if let Some(inst) = self.cross_strike_inst(ts, st.expiry, st.call, j, n) {
                    self.requote_stale(ts, inst);
                    let top = self.top_qty(inst, take_side);
                    if top > 0 {
                        self.flow_take(ts, flow, inst, top, 1, None);
                    }
                }
                if step + 1 < strikes {
                    let gap = self.rng.random_range(gap_ns / 2..=gap_ns.max(1));
                    self.schedule(
                        ts + gap.max(1),
                        Ev::Plant {
                            flow: flow as u32,
                            step: step + 1,
                        },
                    );
                }
            }
            FlowPlan::Accumulation { trades, gap_ns } => {
                let inst = if step == 0 {
                    let offset = self.rng.random_range(0..=2);
                    let clip = &self.cfg.flows.accumulation_clip;
                    let lots = u64::from(trades) * u64::from(clip.start() + clip.end()) / 2;
                    let premium = self.cfg.flows.risk.map(|r| r.accumulation_premium);
                    match self.risk_sized(ts, st.expiry, st.call, offset, premium, lots) {
                        Some((i, e)) => {
                            self.flows[flow].insts = vec![i];
                            self.flows[flow].expiry = e;
                            i
                        }
                        None => return,
                    }
                } else {
                    st.insts[0]
                };
                self.requote_stale(ts, inst);
                let top = self.top_qty(inst, take_side);
                let clip = pick_u32(&mut self.rng, &self.cfg.flows.accumulation_clip).max(1);
                if top > 0 {
                    self.flow_take(ts, flow, inst, clip.min(top), 1, None);
                }
                if step + 1 < trades {
                    let gap = self.rng.random_range(gap_ns / 2..=gap_ns.max(2) * 3 / 2);
                    self.schedule(
                        ts + gap,
                        Ev::Plant {
                            flow: flow as u32,
                            step: step + 1,
                        },
                    );
                }
            }
            FlowPlan::Iceberg {
                display,
                total,
                deadline,
                working,
            } => match (step, working) {
                (0, _) => self.post_iceberg(ts, flow, &st, display, total),
                (1, Some(w)) => self.iceberg_hit(ts, flow, &st, total, deadline, w),
                (_, Some(w)) => self.iceberg_refill(ts, flow, &st, display, w),
                // Steps after the first are scheduled only once the order is posted.
                (_, None) => {}
            },
        }
    }

    /// Block step 0: the facilitation order rests on the side the block takes from, inside
    /// the spread when there is room; the block follows within milliseconds to seconds.
    fn post_facilitation(&mut self, ts: u64, flow: usize, st: &Flow, size: u32, take_side: BSide) {
        let offset = self.rng.random_range(0..=2);
        let premium = self.cfg.flows.risk.map(|r| r.block_premium);
        let Some((inst, expiry)) =
            self.risk_sized(ts, st.expiry, st.call, offset, premium, u64::from(size))
        else {
            return;
        };
        self.flows[flow].expiry = expiry;
        self.requote_stale(ts, inst);
        let (Some(bb), Some(ba)) = (
            self.books[inst].best(BSide::Bid),
            self.books[inst].best(BSide::Ask),
        ) else {
            self.retry(ts, flow, 0);
            return;
        };
        let price = match take_side {
            BSide::Ask => {
                let p = self.down(inst, ba);
                if p > bb {
                    p
                } else {
                    ba
                }
            }
            BSide::Bid => {
                let p = self.up(inst, bb);
                if p < ba {
                    p
                } else {
                    bb
                }
            }
        };
        self.begin(ts);
        let id = self.add(
            inst,
            take_side,
            price,
            size,
            Owner::Counterparty(flow as u32),
            0,
        );
        self.end(LIVE_LAST);
        let recv = self.ev_recv;
        let f = &mut self.flows[flow];
        if let FlowPlan::Block { facilitation, .. } = &mut f.plan {
            *facilitation = Some(Resting { order: id, price });
        }
        f.insts = vec![inst];
        f.ts_start = recv;
        let dt = self.rng.random_range(5_000_000..300_000_000);
        self.schedule(
            ts + dt,
            Ev::Plant {
                flow: flow as u32,
                step: 1,
            },
        );
    }

    /// Retries a flow step a few seconds later when the book cannot host it yet.
    fn retry(&mut self, ts: u64, flow: usize, step: u32) {
        let f = &mut self.flows[flow];
        f.retries += 1;
        if f.retries < 20 {
            self.schedule(
                ts + 5 * NS_PER_SEC,
                Ev::Plant {
                    flow: flow as u32,
                    step,
                },
            );
        }
    }

    /// Iceberg step 0: posts the display order at (or one tick better than) the touch.
    fn post_iceberg(&mut self, ts: u64, flow: usize, st: &Flow, display: u32, total: u32) {
        let own = BSide::aggressor_of(st.side); // the institution rests on its own side
        let offset = self.rng.random_range(0..=1);
        let premium = self.cfg.flows.risk.map(|r| r.iceberg_premium);
        let Some((inst, expiry)) =
            self.risk_sized(ts, st.expiry, st.call, offset, premium, u64::from(total))
        else {
            return;
        };
        self.flows[flow].expiry = expiry;
        self.requote_stale(ts, inst);
        let Some(best) = self.books[inst].best(own) else {
            self.schedule(
                ts + 5 * NS_PER_SEC,
                Ev::Plant {
                    flow: flow as u32,
                    step: 0,
                },
            );
            return;
        };
        // Improve the touch by one tick when the spread allows, else join it.
        let opp = self.books[inst].best(own.opposite());
        let better = match own {
            BSide::Bid => self.up(inst, best),
            BSide::Ask => self.down(inst, best),
        };
        let price = match (own, opp) {
            (BSide::Bid, Some(a)) if better < a => better,
            (BSide::Ask, Some(b)) if better > b => better,
            _ => best,
        };
        // Never rest on the wrong side of fair value (a stale touch).
        let fair = self.fair(inst, ts);
        let price = match own {
            BSide::Bid => price.min(floor_to_grid(fair)),
            BSide::Ask => price.max(ceil_to_grid(fair)),
        };
        if price < self.min_price(inst) {
            return;
        }
        self.begin(ts);
        let id = self.add(
            inst,
            own,
            price,
            display,
            Owner::Institution(flow as u32),
            0,
        );
        self.end(LIVE_LAST);
        let recv = self.ev_recv;
        let f = &mut self.flows[flow];
        f.insts = vec![inst];
        if let FlowPlan::Iceberg { working, .. } = &mut f.plan {
            *working = Some(IcebergOrder {
                order: id,
                price,
                hidden_left: total.saturating_sub(display),
            });
        }
        f.ts_start = recv;
        f.ts_end = recv;
        self.ice_caps.push((inst, own, price));
        let dt = self.rng.random_range(1..8) * NS_PER_SEC;
        self.schedule(
            ts + dt,
            Ev::Plant {
                flow: flow as u32,
                step: 1,
            },
        );
    }

    /// Iceberg step 1: opposite aggressors trade into the iceberg while it sits at the
    /// touch, until it is filled, its deadline passes or fair value runs away from it.
    fn iceberg_hit(
        &mut self,
        ts: u64,
        flow: usize,
        st: &Flow,
        total: u32,
        deadline: u64,
        w: IcebergOrder,
    ) {
        let own = BSide::aggressor_of(st.side);
        let inst = st.insts[0];
        // The institution stops when fair value runs away from its price (it
        // would be picked off), when it is filled, or at its deadline.
        let fair = self.fair(inst, ts);
        let px = w.price as f64 / PX as f64;
        let tol = (0.02 * fair).max(0.2);
        let away = match own {
            BSide::Bid => px > fair + tol,
            BSide::Ask => px < fair - tol,
        };
        let done = away || st.size >= u64::from(total) || ts > deadline;
        if done {
            self.ice_caps
                .retain(|&(ci, cs, cp)| !(ci == inst && cs == own && cp == w.price));
            if self.orders.contains_key(&w.order) {
                self.begin(ts);
                self.cancel(w.order);
                self.end(LIVE_LAST);
                let recv = self.ev_recv;
                self.flows[flow].ts_end = recv;
            }
            return;
        }
        // Opposite aggressors sell (buy) into the iceberg when it is at the touch.
        if self.orders.contains_key(&w.order) && self.books[inst].best(own) == Some(w.price) {
            let ahead: u32 = self.books[inst]
                .levels(own)
                .next()
                .map(|(_, q)| {
                    q.iter()
                        .take_while(|&&id| id != w.order)
                        .filter_map(|id| self.orders.get(id))
                        .map(|o| o.size)
                        .sum()
                })
                .unwrap_or(0);
            let clip = self.rng.random_range(5..=40);
            // Fills of the iceberg are credited to the flow inside `take`.
            self.take(
                ts,
                inst,
                own.opposite(),
                ahead + clip,
                1,
                Some(w.price),
                Participant::Retail,
            );
        }
        let dt = self.rng.random_range(500..8_000) * 1_000_000;
        self.schedule(
            ts + dt,
            Ev::Plant {
                flow: flow as u32,
                step: 1,
            },
        );
    }

    /// Iceberg step 2: refills the display at the same price with a new order id.
    fn iceberg_refill(&mut self, ts: u64, flow: usize, st: &Flow, display: u32, w: IcebergOrder) {
        let own = BSide::aggressor_of(st.side);
        let inst = st.insts[0];
        if self.orders.contains_key(&w.order) || w.hidden_left == 0 {
            return;
        }
        let crossed = match own {
            BSide::Bid => self.books[inst]
                .best(BSide::Ask)
                .is_some_and(|a| a <= w.price),
            BSide::Ask => self.books[inst]
                .best(BSide::Bid)
                .is_some_and(|b| b >= w.price),
        };
        if crossed {
            return;
        }
        let q = display.min(w.hidden_left);
        self.begin(ts);
        let id = self.add(inst, own, w.price, q, Owner::Institution(flow as u32), 0);
        self.end(LIVE_LAST);
        let recv = self.ev_recv;
        let f = &mut self.flows[flow];
        if let FlowPlan::Iceberg {
            working: Some(cur), ..
        } = &mut f.plan
        {
            cur.order = id;
            cur.hidden_left -= q;
        }
        f.ts_end = f.ts_end.max(recv);
    }

    /// The planted flows that traded, as truth records.
    ///
    /// An iceberg whose fills never went past its first displayed order traded no
    /// hidden size: on the tape it is an ordinary resting order that was filled (the
    /// institution gave up before its display ran out, or right after the refill), so
    /// it is not in the truth as an iceberg, as a flow that never traded is not.
    pub(super) fn truth(&self) -> Vec<Truth> {
        let mut truth = Vec::new();
        for (fi, f) in self.flows.iter().enumerate() {
            if f.size == 0 || f.ts_start == u64::MAX {
                continue;
            }
            if let FlowPlan::Iceberg { display, .. } = f.plan {
                if f.size <= u64::from(display) {
                    continue;
                }
            }
            truth.push(Truth {
                flow_id: fi as u64 + 1,
                kind: f.plan.kind(),
                side: f.side,
                direction: TruthDirection::of(f.side, f.call),
                instrument_ids: self.instrument_ids(&f.insts),
                ts_start: f.ts_start,
                ts_end: f.ts_end.max(f.ts_start),
                size: f.size,
                informed: self.informed.get(fi).copied().flatten(),
            });
        }
        truth
    }
}
