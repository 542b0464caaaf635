//! The discrete-event generator of one session.
//!
//! Time advances second by second through the session. Each second draws Poisson counts
//! of background events (market-maker quote refreshes, retail takes) from the intraday
//! activity profile and pushes them, with exact nanosecond times, into one priority queue
//! that also holds follow-up events (replenishment after fills, hedges, expiries) and the
//! steps of planted flows and decoys. Events run in time order against an exact L3 book,
//! so every record the generator writes refers to the book as it is at that instant.
//!
//! The parts, one module each: the book ([`book`]), the market model ([`model`]), the
//! market makers' quoting ([`quoting`]), takers and hedges ([`takers`]), planted flows
//! ([`flows`]), decoys ([`decoys`]) and the structural habits of perturbed worlds
//! ([`structure`]). This module holds the generator's state, the
//! record emitter, the book operations inside an event, and the session driver.

mod book;
mod decoys;
mod flows;
mod model;
mod prints;
mod quoting;
mod structure;
mod takers;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use dbn::{flags, rtype, Action, MboMsg, RecordHeader, Side, UNDEF_PRICE};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::Pareto;

use self::book::{BSide, Book, Order, Owner};
use self::decoys::DecoyRun;
use self::flows::Flow;
use self::model::{activity_profile, poisson};
pub use self::model::{information_path, InformedPath, PlannedFlow};
pub(crate) use self::model::{stream_rng, underlying_path};
use self::quoting::MmParams;
use self::takers::retail_size;
use crate::calendar::{Session, NS_PER_HOUR, NS_PER_SEC};
use crate::chain::{SimChain, PUBLISHER_ID};
use crate::pricing::{
    black76, delta76, smile_vol, tick_down, tick_up, years_to, LARGE_TICK, SMALL_TICK,
};
use crate::truth::{Decoy, Participant, Truth, TruthDirection};
use crate::{SimConfig, SimStats};

/// Flags of the last record of a live event (as in real GLBX data: LAST|PUBLISHER_SPECIFIC).
const LIVE_LAST: u8 = flags::LAST | flags::PUBLISHER_SPECIFIC;
/// Stream of the structural habits' plans (modify-only makers, bursts, herds).
const STRUCTURE_PLAN_STREAM: u64 = 23;
/// Stream of the structural habits' per-event draws.
const STRUCTURE_EVENT_STREAM: u64 = 29;
/// Flags of snapshot records.
const SNAPSHOT: u8 = flags::SNAPSHOT | flags::BAD_TS_RECV;

/// An engine event. Ordering by (ts, counter) in the heap; the derive only satisfies Ord.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Ev {
    Refresh {
        mm: u8,
        inst: u32,
    },
    RetailTake {
        inst: u32,
        side: BSide,
        size: u32,
    },
    Hedge {
        side: BSide,
        size: u32,
    },
    Plant {
        flow: u32,
        step: u32,
    },
    DecoyStep {
        decoy: u32,
        step: u32,
    },
    Expire {
        inst: u32,
    },
    /// A market maker puts a hit quote back at its price and size
    /// ([`crate::MarketStructure::mm_refill_prob`]).
    MmRefill {
        mm: u8,
        inst: u32,
        side: BSide,
        price: i64,
        size: u32,
        order: u64,
    },
    /// A rested order is cancelled if it still rests.
    CancelOrder {
        id: u64,
    },
}

/// Output of one session.
pub(crate) struct Generated {
    pub(crate) mbo: Vec<MboMsg>,
    pub(crate) truth: Vec<Truth>,
    pub(crate) decoys: Vec<Decoy>,
    pub(crate) owners: Vec<(u64, Participant)>,
    pub(crate) stats: SimStats,
    /// The underlying's level at each session second, as quoted around (after any
    /// planted information).
    pub(crate) path: Vec<f64>,
}

pub(crate) struct SessionGenerator<'a> {
    cfg: &'a SimConfig,
    chain: &'a SimChain,
    session: Session,
    rng: ChaCha8Rng,
    /// Underlying level at each session second.
    path: Vec<f64>,
    books: Vec<Book>,
    orders: HashMap<u64, Order>,
    owners: Vec<(u64, Participant)>,
    next_id: u64,
    mm: Vec<MmParams>,
    levels: usize,
    /// (mm, inst, side, level) -> order id, 0 = none.
    slots: Vec<u64>,
    heap: BinaryHeap<Reverse<(u64, u64, Ev)>>,
    counter: u64,
    // emitter
    out: Vec<MboMsg>,
    seq: u32,
    last_recv: u64,
    ev_recv: u64,
    ev_event: u64,
    ev_start: usize,
    // selection
    option_cum: Vec<f64>,
    option_idx: Vec<usize>,
    vol_shift: f64,
    flows: Vec<Flow>,
    decoys: Vec<DecoyRun>,
    surges: Vec<(u64, u64)>,
    stats: SimStats,
    /// Working icebergs: (instrument, side, price).
    ice_caps: Vec<(usize, BSide, i64)>,
    /// Planned flows: (planned ts, direction), in flow order.
    planned: Vec<(u64, TruthDirection)>,
    /// Per flow: whether it is informed (`None` without information).
    informed: Vec<Option<bool>>,
    /// Underlying level at the last auto-quote sweep (`None` before the first).
    last_sweep: Option<f64>,
    /// Draws of the structural habits ([`crate::MarketStructure`]), a stream of their
    /// own so that the presets, which have none, keep every draw of theirs.
    srng: ChaCha8Rng,
    /// Stretches of a higher retail take rate: (start, end, factor).
    retail_windows: Vec<(u64, u64, f64)>,
    /// Order id of the latest aggressive order.
    last_aggr_id: u64,
}

impl<'a> SessionGenerator<'a> {
    pub(crate) fn new(
        cfg: &'a SimConfig,
        chain: &'a SimChain,
        session: Session,
        path: Vec<f64>,
        day: u32,
    ) -> Self {
        let n_mm = cfg.market_makers.clamp(1, 16);
        let levels = cfg.mm_levels.clamp(1, 6);
        let mut prng = stream_rng(cfg.seed, day, 7);
        let mut mm = (0..n_mm)
            .map(|m| {
                let mf = m as f64;
                MmParams {
                    half_ticks: 1 + u32::try_from(m % 3).unwrap_or(0),
                    half_pct: 0.004 * (1.0 + mf) * prng.random_range(0.8..1.2),
                    size: (8.0 + 9.0 * mf) * prng.random_range(0.8..1.25) * cfg.background.mm_size,
                    modify_prob: prng.random_range(0.35..0.75),
                    spread: cfg.background.mm_spread,
                }
            })
            .collect::<Vec<_>>();
        // Market makers that reprice in place only (a stream of its own).
        let share = cfg.structure.mm_modify_only_share;
        if share > 0.0 {
            let mut srng = stream_rng(cfg.seed, day, STRUCTURE_PLAN_STREAM);
            for p in &mut mm {
                if srng.random_bool(share.clamp(0.0, 1.0)) {
                    p.modify_prob = 1.0;
                }
            }
        }
        let n = chain.insts.len();
        let f0 = path.first().copied().unwrap_or(cfg.start_price);
        let mut option_cum = Vec::new();
        let mut option_idx = Vec::new();
        let mut acc = 0.0;
        for (i, inst) in chain.insts.iter().enumerate() {
            if !inst.is_option() {
                continue;
            }
            let (ew, width) = match inst.expiry_index {
                0 => (1.0, 120.0),
                1 => (0.8, 250.0),
                2 => (0.4, 450.0),
                _ => (0.5, 600.0),
            };
            acc += ew * ((-(inst.strike - f0).abs() / width).exp() + 0.03);
            option_cum.push(acc);
            option_idx.push(i);
        }
        let open = session.start;
        let day_id_base = 6_000_000_000_000_u64 + u64::from(day) * 1_000_000_000;
        Self {
            cfg,
            chain,
            session,
            rng: stream_rng(cfg.seed, day, 1),
            path,
            books: vec![Book::default(); n],
            orders: HashMap::new(),
            owners: Vec::new(),
            next_id: day_id_base,
            levels,
            slots: vec![0; n_mm * n * 2 * levels],
            mm,
            heap: BinaryHeap::new(),
            counter: 0,
            // Twice the budget: a session lands near it, and a doubling copy of a full
            // buffer would briefly hold three times its records. Pages never written
            // are never resident.
            out: Vec::with_capacity(
                usize::try_from(cfg.records_per_day)
                    .unwrap_or(0)
                    .saturating_mul(2),
            ),
            seq: 1_000_000 + day * 10,
            last_recv: open,
            ev_recv: open,
            ev_event: open,
            ev_start: 0,
            option_cum,
            option_idx,
            vol_shift: 0.0,
            flows: Vec::new(),
            decoys: Vec::new(),
            surges: Vec::new(),
            stats: SimStats::default(),
            ice_caps: Vec::new(),
            planned: Vec::new(),
            informed: Vec::new(),
            last_sweep: None,
            srng: stream_rng(cfg.seed, day, STRUCTURE_EVENT_STREAM),
            retail_windows: Vec::new(),
            last_aggr_id: 0,
        }
    }

    // ---------------------------------------------------------------- clock & model

    fn second_of(&self, ts: u64) -> usize {
        let s = usize::try_from(ts.saturating_sub(self.session.start) / NS_PER_SEC)
            .unwrap_or(usize::MAX);
        s.min(self.path.len().saturating_sub(1))
    }

    fn fwd(&self, ts: u64) -> f64 {
        self.path
            .get(self.second_of(ts))
            .copied()
            .unwrap_or(self.cfg.start_price)
    }

    fn alive(&self, inst: usize, ts: u64) -> bool {
        self.chain
            .insts
            .get(inst)
            .is_some_and(|i| !i.is_option() || i.expiration > ts)
    }

    fn vol_of(&self, inst: usize, fwd: f64, years: f64) -> f64 {
        let i = &self.chain.insts[inst];
        let term = match i.expiry_index {
            0 => 1.10,
            1 => 1.0,
            2 => 0.95,
            _ => 0.90,
        };
        smile_vol(
            (self.cfg.annual_vol * term + self.vol_shift).max(0.05),
            fwd,
            i.strike,
            years,
        )
    }

    fn fair(&self, inst: usize, ts: u64) -> f64 {
        let f = self.fwd(ts);
        let i = &self.chain.insts[inst];
        if !i.is_option() {
            return f;
        }
        let years = years_to(ts, i.expiration);
        black76(i.is_call(), f, i.strike, self.vol_of(inst, f, years), years)
    }

    fn delta(&self, inst: usize, ts: u64) -> f64 {
        let f = self.fwd(ts);
        let i = &self.chain.insts[inst];
        if !i.is_option() {
            return 1.0;
        }
        let years = years_to(ts, i.expiration);
        delta76(i.is_call(), f, i.strike, self.vol_of(inst, f, years), years)
    }

    fn up(&self, inst: usize, p: i64) -> i64 {
        if self.chain.insts[inst].is_option() {
            tick_up(p)
        } else {
            p + LARGE_TICK
        }
    }

    fn down(&self, inst: usize, p: i64) -> i64 {
        if self.chain.insts[inst].is_option() {
            tick_down(p)
        } else {
            p - LARGE_TICK
        }
    }

    fn min_price(&self, inst: usize) -> i64 {
        if self.chain.insts[inst].is_option() {
            SMALL_TICK
        } else {
            LARGE_TICK
        }
    }

    fn slot(&self, mm: usize, inst: usize, side: BSide, level: usize) -> usize {
        ((mm * self.chain.insts.len() + inst) * 2 + side.idx()) * self.levels + level
    }

    /// With [`crate::AutoQuote`]: when the underlying has moved far enough since the
    /// last sweep, every market maker re-quotes the future and the near-the-money
    /// options at `t0` (no random draw, so the rest of the stream keeps its draws).
    fn sweep(&mut self, t0: u64) {
        let Some(auto) = self.cfg.auto_quote else {
            return;
        };
        let f = self.fwd(t0);
        if self
            .last_sweep
            .is_some_and(|last| (f - last).abs() < auto.move_points)
        {
            return;
        }
        self.last_sweep = Some(f);
        let near: Vec<u32> = (0..self.chain.insts.len())
            .filter(|&i| {
                self.alive(i, t0)
                    && (!self.chain.insts[i].is_option() || {
                        let d = self.delta(i, t0).abs();
                        d >= auto.min_abs_delta && d <= auto.max_abs_delta
                    })
            })
            .map(|i| i as u32)
            .collect();
        for mm in 0..self.mm.len() {
            for (k, &inst) in near.iter().enumerate() {
                // A few microseconds apart, in a fixed order.
                let dt = (mm * near.len() + k) as u64 * 2_000;
                self.schedule(t0 + dt, Ev::Refresh { mm: mm as u8, inst });
            }
        }
    }

    fn schedule(&mut self, ts: u64, ev: Ev) {
        self.counter += 1;
        self.heap.push(Reverse((ts, self.counter, ev)));
    }

    fn pick_option(&mut self) -> Option<usize> {
        let total = *self.option_cum.last()?;
        let x = self.rng.random_range(0.0..total);
        let k = self
            .option_cum
            .partition_point(|&c| c <= x)
            .min(self.option_idx.len() - 1);
        Some(self.option_idx[k])
    }

    // ---------------------------------------------------------------- emitter

    fn begin(&mut self, ts_event: u64) {
        let lat = 60_000 + (self.rng.random::<f64>().powi(2) * 400_000.0) as u64;
        self.ev_event = ts_event;
        self.ev_recv = (ts_event + lat).max(self.last_recv);
        self.seq = self.seq.wrapping_add(1);
        self.ev_start = self.out.len();
    }

    /// `ts_recv` of the current event's first record (the event's own time before it
    /// wrote any).
    fn event_start_recv(&self) -> u64 {
        self.out
            .get(self.ev_start)
            .map_or(self.ev_recv, |r| r.ts_recv)
    }

    /// Starts the book-update packet of a match event: next sequence, a few µs later.
    fn next_packet(&mut self) {
        self.seq = self.seq.wrapping_add(1);
        self.ev_recv += self.rng.random_range(2_000..12_000);
    }

    #[allow(
        clippy::too_many_arguments,
        reason = "one MBO record has this many fields"
    )]
    fn rec(
        &mut self,
        inst: usize,
        action: Action,
        side: Side,
        price: i64,
        size: u32,
        order_id: u64,
        fl: u8,
    ) {
        let i = &self.chain.insts[inst];
        let delta =
            i32::try_from(self.ev_recv.saturating_sub(self.ev_event) / 3).unwrap_or(i32::MAX);
        self.out.push(MboMsg {
            hd: RecordHeader::new::<MboMsg>(rtype::MBO, PUBLISHER_ID, i.id, self.ev_event),
            order_id,
            price,
            size,
            flags: fl.into(),
            channel_id: i.channel,
            action: u8::from(action) as std::ffi::c_char,
            side: u8::from(side) as std::ffi::c_char,
            ts_recv: self.ev_recv,
            ts_in_delta: delta,
            sequence: self.seq,
        });
    }

    /// Ends an event: LAST on its last record. Returns whether it wrote anything.
    fn end(&mut self, last_flags: u8) -> bool {
        self.last_recv = self.ev_recv;
        if self.out.len() > self.ev_start {
            if let Some(r) = self.out.last_mut() {
                r.flags = (r.flags.raw() | last_flags).into();
            }
            true
        } else {
            false
        }
    }

    // ---------------------------------------------------------------- book ops (inside an event)

    fn new_id(&mut self) -> u64 {
        self.next_id += 1 + u64::from(self.rng.random::<u8>() % 4);
        self.next_id
    }

    fn add(
        &mut self,
        inst: usize,
        side: BSide,
        price: i64,
        size: u32,
        owner: Owner,
        fl: u8,
    ) -> u64 {
        let id = self.new_id();
        self.books[inst].insert(side, price, id);
        self.orders.insert(
            id,
            Order {
                inst,
                side,
                price,
                size,
                owner,
            },
        );
        self.owners.push((id, owner.participant()));
        self.rec(inst, Action::Add, side.dbn(), price, size, id, fl);
        id
    }

    fn cancel(&mut self, id: u64) {
        if let Some(o) = self.orders.remove(&id) {
            self.books[o.inst].remove(o.side, o.price, id);
            self.rec(o.inst, Action::Cancel, o.side.dbn(), o.price, o.size, id, 0);
        }
    }

    fn modify(&mut self, id: u64, price: i64, size: u32) {
        let Some(o) = self.orders.get_mut(&id) else {
            return;
        };
        let (inst, side, old_price, old_size) = (o.inst, o.side, o.price, o.size);
        o.price = price;
        o.size = size;
        if price != old_price || size > old_size {
            // Loses priority: back of the (new) queue.
            self.books[inst].remove(side, old_price, id);
            self.books[inst].insert(side, price, id);
        }
        self.rec(inst, Action::Modify, side.dbn(), price, size, id, 0);
    }

    // ---------------------------------------------------------------- session driver

    fn activity(&self, ts: u64) -> f64 {
        activity_profile(self.session.hours_since_open(ts))
    }

    pub(crate) fn run(mut self, planted: bool, day: u32) -> Generated {
        let n_inst = self.chain.insts.len();
        let start = self.session.start;
        // Clear every book, then the opening quotes (as a snapshot or as live adds).
        if self.cfg.snapshot_start {
            for inst in 0..n_inst {
                self.begin(start.saturating_sub(NS_PER_HOUR));
                self.ev_recv = start;
                self.rec(inst, Action::Clear, Side::None, UNDEF_PRICE, 0, 0, SNAPSHOT);
                for mm in 0..self.mm.len() {
                    for side in [BSide::Bid, BSide::Ask] {
                        let targets = self.targets(mm, inst, side, start, false);
                        for (level, t) in targets.into_iter().enumerate() {
                            if let Some((p, q)) = t {
                                let id = self.add(inst, side, p, q, Owner::Mm(mm as u8), SNAPSHOT);
                                let slot = self.slot(mm, inst, side, level);
                                self.slots[slot] = id;
                            }
                        }
                    }
                }
                self.end(flags::LAST);
            }
        } else {
            for inst in 0..n_inst {
                self.begin(start);
                self.rec(inst, Action::Clear, Side::None, UNDEF_PRICE, 0, 0, 0);
                self.end(flags::LAST);
            }
            for inst in 0..n_inst {
                for mm in 0..self.mm.len() {
                    let dt = self.rng.random_range(1_000_000..2_000_000_000);
                    self.schedule(
                        start + dt,
                        Ev::Refresh {
                            mm: mm as u8,
                            inst: inst as u32,
                        },
                    );
                }
            }
        }
        for inst in 1..n_inst {
            let e = self.chain.insts[inst].expiration;
            if e > start && e < self.session.end {
                self.schedule(e, Ev::Expire { inst: inst as u32 });
            }
        }
        self.plan_decoys(day);
        self.plan_real_world_prints(day);
        self.plan_structure(day);
        if planted {
            self.plan_flows(day);
            self.informed = model::plant_information(
                self.cfg,
                day,
                self.session.start,
                &mut self.path,
                &self.planned,
            );
        }

        // Background rates per unit of activity, from the record budget.
        // Seconds of the whole span (the path's length); the market is open in those
        // inside a segment of the session, and only those draw background events.
        let secs = self.session.seconds();
        let mass: f64 = (0..secs)
            .map(|s| start + s * NS_PER_SEC)
            .filter(|&t| self.session.contains(t))
            .map(|t| self.activity(t))
            .sum::<f64>()
            .max(1.0);
        let r = self.cfg.records_per_day as f64;
        // Calibrated shares of the record budget (records per event measured on the
        // Normal preset): ~85% option quotes, ~5% future quotes, ~10% trades and hedges.
        // Records per quote event grow with the levels each maker quotes.
        let per_refresh = self.levels as f64 / 3.0;
        let opt_refresh = 0.78 * r / (16.0 * per_refresh) / mass;
        let fut_refresh = 0.05 * r / (11.0 * per_refresh) / mass;
        // `taker_rate` is 1 in the presets (a product by 1.0 is exact: the same draws).
        let taker_rate = self.cfg.background.taker_rate;
        let opt_takes = 0.05 * r / 3.4 / mass * taker_rate;
        let fut_takes = 0.01 * r / 3.4 / mass * taker_rate;
        let size_dist = Pareto::new(1.0, self.cfg.background.size_tail).ok();
        let size_cap = self.cfg.background.size_cap;
        for s in 0..secs {
            let t0 = start + s * NS_PER_SEC;
            if !self.session.contains(t0) {
                continue;
            }
            let a = self.activity(t0);
            let surge = if self.surges.iter().any(|&(a0, a1)| t0 >= a0 && t0 < a1) {
                2.0
            } else {
                1.0
            };
            self.sweep(t0);
            let n_q = poisson(&mut self.rng, opt_refresh * a * surge);
            for _ in 0..n_q {
                if let Some(inst) = self.pick_option() {
                    let mm = self.rng.random_range(0..self.mm.len()) as u8;
                    let dt = self.rng.random_range(0..NS_PER_SEC);
                    self.schedule(
                        t0 + dt,
                        Ev::Refresh {
                            mm,
                            inst: inst as u32,
                        },
                    );
                }
            }
            let n_f = poisson(&mut self.rng, fut_refresh * a * surge);
            for _ in 0..n_f {
                let mm = self.rng.random_range(0..self.mm.len()) as u8;
                let dt = self.rng.random_range(0..NS_PER_SEC);
                self.schedule(t0 + dt, Ev::Refresh { mm, inst: 0 });
            }
            let retail = self.retail_factor(t0);
            let n_t = poisson(&mut self.rng, opt_takes * a * retail);
            for _ in 0..n_t {
                if let Some(inst) = self.pick_option() {
                    let size = retail_size(&mut self.rng, size_dist.as_ref(), size_cap);
                    let side = if self.rng.random_bool(0.5) {
                        BSide::Bid
                    } else {
                        BSide::Ask
                    };
                    let dt = self.rng.random_range(0..NS_PER_SEC);
                    self.schedule(
                        t0 + dt,
                        Ev::RetailTake {
                            inst: inst as u32,
                            side,
                            size,
                        },
                    );
                }
            }
            let n_ft = poisson(&mut self.rng, fut_takes * a);
            for _ in 0..n_ft {
                let size = retail_size(&mut self.rng, size_dist.as_ref(), size_cap).min(20);
                let side = if self.rng.random_bool(0.5) {
                    BSide::Bid
                } else {
                    BSide::Ask
                };
                let dt = self.rng.random_range(0..NS_PER_SEC);
                self.schedule(
                    t0 + dt,
                    Ev::RetailTake {
                        inst: 0,
                        side,
                        size,
                    },
                );
            }
            let t1 = t0 + NS_PER_SEC;
            self.drain(t1);
        }
        self.drain(u64::MAX);
        self.finish()
    }

    fn drain(&mut self, until: u64) {
        while let Some(Reverse((ts, _, _))) = self.heap.peek() {
            if *ts >= until || *ts >= self.session.end {
                if *ts >= self.session.end {
                    self.heap.pop();
                    continue;
                }
                break;
            }
            let Some(Reverse((ts, _, ev))) = self.heap.pop() else {
                break;
            };
            // The market is halted between two segments: the event waits for the reopen.
            match self.session.defer(ts) {
                Some(t) if t == ts => self.run_event(ts, ev),
                Some(t) => self.schedule(t, ev),
                None => {}
            }
        }
    }

    fn run_event(&mut self, ts: u64, ev: Ev) {
        match ev {
            Ev::Refresh { mm, inst } => self.refresh(ts, usize::from(mm), inst as usize),
            Ev::RetailTake { inst, side, size } => self.retail_take(ts, inst as usize, side, size),
            Ev::Hedge { side, size } => self.hedge(ts, side, size),
            Ev::Plant { flow, step } => self.flow_step(ts, flow as usize, step),
            Ev::DecoyStep { decoy, step } => self.decoy_step(ts, decoy as usize, step),
            Ev::Expire { inst } => self.expire(ts, inst as usize),
            Ev::MmRefill {
                mm,
                inst,
                side,
                price,
                size,
                order,
            } => self.mm_refill(ts, usize::from(mm), inst as usize, side, price, size, order),
            Ev::CancelOrder { id } => {
                if self.orders.contains_key(&id) {
                    self.begin(ts);
                    self.cancel(id);
                    self.end(LIVE_LAST);
                }
            }
        }
    }

    /// Pulls every order still resting on an option at its expiry.
    fn expire(&mut self, ts: u64, inst: usize) {
        let mut ids: Vec<u64> = Vec::new();
        for side in [BSide::Bid, BSide::Ask] {
            for (_, q) in self.books[inst].levels(side) {
                ids.extend(q.iter().copied());
            }
        }
        if !ids.is_empty() {
            self.begin(ts);
            for id in ids {
                self.cancel(id);
            }
            self.end(LIVE_LAST);
        }
    }

    // ---------------------------------------------------------------- results

    /// Sorted, deduplicated instrument ids of instrument indexes.
    fn instrument_ids(&self, insts: &[usize]) -> Vec<u32> {
        let mut v: Vec<u32> = insts.iter().map(|&i| self.chain.insts[i].id).collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    fn finish(self) -> Generated {
        let truth = self.truth();
        let decoys = self.decoy_list();
        let mut stats = self.stats;
        stats.orders = self.owners.len() as u64;
        for r in &self.out {
            match r.action().unwrap_or(Action::None) {
                Action::Add => stats.adds += 1,
                Action::Cancel => stats.cancels += 1,
                Action::Modify => stats.modifies += 1,
                Action::Trade => stats.trades += 1,
                Action::Fill => stats.fills += 1,
                Action::Clear => stats.clears += 1,
                Action::None => {}
            }
        }
        let mut owners = self.owners;
        owners.sort_unstable_by_key(|o| o.0);
        Generated {
            mbo: self.out,
            truth,
            decoys,
            owners,
            stats,
            path: self.path,
        }
    }
}
