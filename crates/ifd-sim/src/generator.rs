//! The discrete-event engine that generates one session.
//!
//! Time advances second by second through the session. Each second draws Poisson counts
//! of background events (market-maker quote refreshes, retail takes) from the intraday
//! activity profile and pushes them, with exact nanosecond times, into one priority queue
//! that also holds follow-up events (replenishment after fills, hedges, expiries) and the
//! steps of planted flows and decoys. Events run in time order against an exact L3 book,
//! so every record the engine writes refers to the book as it is at that instant.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, VecDeque};

use dbn::{flags, rtype, Action, MboMsg, RecordHeader, Side, UNDEF_PRICE};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal, Pareto, Poisson};

use super::calendar::{Session, NS_PER_HOUR, NS_PER_SEC};
use super::chain::{SimChain, PUBLISHER_ID};
use super::pricing::{
    black76, ceil_to_grid, delta76, floor_to_grid, smile_vol, tick_down, tick_up, years_to,
    LARGE_TICK, PX, SMALL_TICK,
};
use super::truth::{Decoy, DecoyKind, FlowKind, Participant, Truth, TruthDirection, TruthSide};
use super::{pick_u32, pick_u64, SimConfig, SimStats};

/// Flags of the last record of a live event (as in real GLBX data: LAST|PUBLISHER_SPECIFIC).
const LIVE_LAST: u8 = flags::LAST | flags::PUBLISHER_SPECIFIC;
/// Flags of snapshot records.
const SNAPSHOT: u8 = flags::SNAPSHOT | flags::BAD_TS_RECV;

/// A deterministic RNG for one (seed, day, stream).
pub(crate) fn stream_rng(seed: u64, day: u32, stream: u64) -> ChaCha8Rng {
    fn mix(mut z: u64) -> u64 {
        // splitmix64 finaliser
        z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    ChaCha8Rng::seed_from_u64(mix(seed ^ mix((u64::from(day) << 16) | stream)))
}

/// Book side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum BSide {
    Bid,
    Ask,
}

impl BSide {
    fn idx(self) -> usize {
        match self {
            Self::Bid => 0,
            Self::Ask => 1,
        }
    }
    fn opposite(self) -> Self {
        match self {
            Self::Bid => Self::Ask,
            Self::Ask => Self::Bid,
        }
    }
    fn dbn(self) -> Side {
        match self {
            Self::Bid => Side::Bid,
            Self::Ask => Side::Ask,
        }
    }
    /// The book side an aggressive order of the institution's `side` takes from.
    fn aggressor_of(side: TruthSide) -> Self {
        match side {
            TruthSide::Buy => Self::Bid,
            TruthSide::Sell => Self::Ask,
        }
    }
}

/// Who owns an order inside the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owner {
    Mm(u8),
    Institution(u32),
    Counterparty(u32),
    DecoyQuote(u8),
}

impl Owner {
    fn participant(self) -> Participant {
        match self {
            Self::Mm(m) | Self::DecoyQuote(m) => Participant::MarketMaker(m),
            Self::Institution(f) => Participant::Institution(u64::from(f) + 1),
            Self::Counterparty(_) => Participant::Counterparty,
        }
    }
}

#[derive(Debug, Clone)]
struct Order {
    inst: usize,
    side: BSide,
    price: i64,
    size: u32,
    owner: Owner,
}

#[derive(Debug, Default, Clone)]
struct Book {
    sides: [BTreeMap<i64, VecDeque<u64>>; 2],
}

impl Book {
    fn best(&self, side: BSide) -> Option<i64> {
        match side {
            BSide::Bid => self.sides[0].keys().next_back().copied(),
            BSide::Ask => self.sides[1].keys().next().copied(),
        }
    }
    /// Price levels from the best outward.
    fn levels(&self, side: BSide) -> Box<dyn Iterator<Item = (&i64, &VecDeque<u64>)> + '_> {
        match side {
            BSide::Bid => Box::new(self.sides[0].iter().rev()),
            BSide::Ask => Box::new(self.sides[1].iter()),
        }
    }
    fn level_count(&self, side: BSide) -> usize {
        self.sides[side.idx()].len()
    }
    fn insert(&mut self, side: BSide, price: i64, id: u64) {
        self.sides[side.idx()]
            .entry(price)
            .or_default()
            .push_back(id);
    }
    fn remove(&mut self, side: BSide, price: i64, id: u64) {
        let map = &mut self.sides[side.idx()];
        if let Some(q) = map.get_mut(&price) {
            if let Some(pos) = q.iter().position(|&o| o == id) {
                q.remove(pos);
            }
            if q.is_empty() {
                map.remove(&price);
            }
        }
    }
}

/// An engine event. Ordering by (ts, counter) in the heap; the derive only satisfies Ord.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Ev {
    Refresh { mm: u8, inst: u32 },
    RetailTake { inst: u32, side: BSide, size: u32 },
    Hedge { side: BSide, size: u32 },
    Plant { flow: u32, step: u32 },
    DecoyStep { decoy: u32, step: u32 },
    Expire { inst: u32 },
}

/// Market-maker parameters.
#[derive(Debug, Clone)]
struct MmParams {
    /// Half spread in premium ticks.
    half_ticks: u32,
    /// Extra half spread as a fraction of the premium.
    half_pct: f64,
    /// Base size of the top level (options).
    size: f64,
    /// Probability of a modify (vs cancel/replace) when a quote moves.
    modify_prob: f64,
}

#[derive(Debug, Clone)]
struct FlowState {
    kind: FlowKind,
    side: TruthSide,
    call: bool,
    expiry: usize,
    insts: Vec<usize>,
    size: u64,
    ts_start: u64,
    ts_end: u64,
    // kind-specific state
    target: u32,
    steps: u32,
    price: i64,
    order: u64,
    hidden_left: u32,
    display: u32,
    deadline: u64,
    gap_ns: u64,
    retries: u32,
}

#[derive(Debug, Clone)]
struct DecoyState {
    kind: DecoyKind,
    insts: Vec<usize>,
    ts_start: u64,
    ts_end: u64,
    orders: Vec<u64>,
    steps: u32,
    gap_ns: u64,
    inst: usize,
    seen: bool,
}

/// Output of one session.
pub(crate) struct Generated {
    pub(crate) mbo: Vec<MboMsg>,
    pub(crate) truth: Vec<Truth>,
    pub(crate) decoys: Vec<Decoy>,
    pub(crate) owners: Vec<(u64, Participant)>,
    pub(crate) stats: SimStats,
}

/// One fill of a take.
#[derive(Debug, Clone, Copy)]
struct Fill {
    id: u64,
    price: i64,
    qty: u32,
    owner: Owner,
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
    flows: Vec<FlowState>,
    decoys: Vec<DecoyState>,
    surges: Vec<(u64, u64)>,
    stats: SimStats,
    /// Working icebergs: (instrument, side, price).
    ice_caps: Vec<(usize, BSide, i64)>,
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
        let mm = (0..n_mm)
            .map(|m| {
                let mf = m as f64;
                MmParams {
                    half_ticks: 1 + u32::try_from(m % 3).unwrap_or(0),
                    half_pct: 0.004 * (1.0 + mf) * prng.random_range(0.8..1.2),
                    size: (8.0 + 9.0 * mf) * prng.random_range(0.8..1.25),
                    modify_prob: prng.random_range(0.35..0.75),
                }
            })
            .collect::<Vec<_>>();
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
            out: Vec::with_capacity(
                usize::try_from(cfg.records_per_day)
                    .unwrap_or(0)
                    .saturating_add(cfg.records_per_day as usize / 4),
            ),
            seq: 1_000_000 + day * 10,
            last_recv: session.start,
            ev_recv: session.start,
            ev_event: session.start,
            ev_start: 0,
            option_cum,
            option_idx,
            vol_shift: 0.0,
            flows: Vec::new(),
            decoys: Vec::new(),
            surges: Vec::new(),
            stats: SimStats::default(),
            ice_caps: Vec::new(),
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

    // ---------------------------------------------------------------- market makers

    /// Target (price, size) per level for one MM, one side; clamped so it never crosses.
    fn targets(
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
            let half = f64::from(p.half_ticks) * tick + p.half_pct * fair;
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

    fn refresh(&mut self, ts: u64, mm: usize, inst: usize) {
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
    fn requote_stale(&mut self, ts: u64, inst: usize) {
        for _ in 0..2 {
            for mm in 0..self.mm.len() {
                if self.stale(mm, inst, ts) {
                    self.refresh(ts, mm, inst);
                }
            }
        }
    }

    // ---------------------------------------------------------------- takes

    /// An aggressive order: takes up to `qty` from the opposite side, at most `max_levels`
    /// price levels, never through `limit`. Emits T+F then C/M. Returns the fills.
    #[allow(
        clippy::too_many_arguments,
        reason = "the parameters of an aggressive order"
    )]
    fn take(
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
                if !refill_mms.contains(&m) {
                    refill_mms.push(m);
                }
            }
        }
        self.end(LIVE_LAST);
        // Fills of resting institutional orders (icebergs) count for their flow, whoever
        // took them; an exhausted display is refilled within milliseconds.
        let start_recv = self
            .out
            .get(self.ev_start)
            .map_or(self.ev_recv, |r| r.ts_recv);
        for f in &fills {
            if let Owner::Institution(fl) = f.owner {
                let fl = fl as usize;
                self.note_flow(fl, inst, u64::from(f.qty), start_recv);
                let st = &self.flows[fl];
                if st.kind == FlowKind::Iceberg
                    && !self.orders.contains_key(&f.id)
                    && st.hidden_left > 0
                {
                    let dt = self.rng.random_range(200_000..2_000_000);
                    self.schedule(
                        ts + dt,
                        Ev::Plant {
                            flow: fl as u32,
                            step: 2,
                        },
                    );
                }
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

    fn hedge(&mut self, ts: u64, side: BSide, size: u32) {
        let fills = self.take(ts, 0, side, size, 3, None, Participant::Hedger);
        if !fills.is_empty() {
            let start = self.out[self.ev_start].ts_recv;
            self.decoys.push(DecoyState {
                kind: DecoyKind::MmHedge,
                insts: vec![0],
                ts_start: start.min(self.ev_recv),
                ts_end: self.ev_recv,
                orders: Vec::new(),
                steps: 0,
                gap_ns: 0,
                inst: 0,
                seen: true,
            });
            self.stats.hedges += 1;
        }
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
        if planted {
            self.plan_flows(day);
        }

        // Background rates per unit of activity, from the record budget.
        let secs = self.session.seconds();
        let mass: f64 = (0..secs)
            .map(|s| activity_profile(s as f64 / 3_600.0))
            .sum::<f64>()
            .max(1.0);
        let r = self.cfg.records_per_day as f64;
        // Calibrated shares of the record budget (records per event measured on the
        // Normal preset): ~85% option quotes, ~5% future quotes, ~10% trades and hedges.
        // Records per quote event grow with the levels each maker quotes.
        let per_refresh = self.levels as f64 / 3.0;
        let opt_refresh = 0.78 * r / (16.0 * per_refresh) / mass;
        let fut_refresh = 0.05 * r / (11.0 * per_refresh) / mass;
        let opt_takes = 0.05 * r / 3.4 / mass;
        let fut_takes = 0.01 * r / 3.4 / mass;
        let size_dist = Pareto::new(1.0, 1.35).ok();
        for s in 0..secs {
            let t0 = start + s * NS_PER_SEC;
            let a = self.activity(t0);
            let surge = if self.surges.iter().any(|&(a0, a1)| t0 >= a0 && t0 < a1) {
                2.0
            } else {
                1.0
            };
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
            let n_t = poisson(&mut self.rng, opt_takes * a);
            for _ in 0..n_t {
                if let Some(inst) = self.pick_option() {
                    let size = retail_size(&mut self.rng, size_dist.as_ref());
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
                let size = retail_size(&mut self.rng, size_dist.as_ref()).min(20);
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
        self.finish(day)
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
            self.run_event(ts, ev);
        }
    }

    fn run_event(&mut self, ts: u64, ev: Ev) {
        match ev {
            Ev::Refresh { mm, inst } => self.refresh(ts, usize::from(mm), inst as usize),
            Ev::RetailTake { inst, side, size } => {
                let inst = inst as usize;
                self.requote_stale(ts, inst);
                // Retail takes at the touch only.
                let top: u32 =
                    self.books[inst]
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
            Ev::Hedge { side, size } => self.hedge(ts, side, size),
            Ev::Plant { flow, step } => self.flow_step(ts, flow as usize, step),
            Ev::DecoyStep { decoy, step } => self.decoy_step(ts, decoy as usize, step),
            Ev::Expire { inst } => {
                let inst = inst as usize;
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
        }
    }

    // ---------------------------------------------------------------- planted flows

    fn plan_flows(&mut self, day: u32) {
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
            let ts = self.session.start + (h * NS_PER_HOUR as f64) as u64;
            let mut st = FlowState {
                kind,
                side,
                call,
                expiry,
                insts: Vec::new(),
                size: 0,
                ts_start: u64::MAX,
                ts_end: 0,
                target: 0,
                steps: 0,
                price: 0,
                order: 0,
                hidden_left: 0,
                display: 0,
                deadline: 0,
                gap_ns: 0,
                retries: 0,
            };
            match kind {
                FlowKind::Block => st.target = pick_u32(&mut prng, &fc.block_size),
                FlowKind::Sweep => st.target = pick_u32(&mut prng, &fc.sweep_levels).max(2),
                FlowKind::CrossStrike => {
                    st.steps = pick_u32(&mut prng, &fc.cross_strike_strikes).max(2);
                    st.gap_ns = pick_u64(&mut prng, &fc.cross_strike_gap_us).max(1) * 1_000;
                }
                FlowKind::Iceberg => {
                    st.display = pick_u32(&mut prng, &fc.iceberg_display).max(1);
                    st.target = pick_u32(&mut prng, &fc.iceberg_total).max(st.display * 3);
                    st.deadline = ts + 30 * 60 * NS_PER_SEC;
                }
                FlowKind::Accumulation => {
                    st.steps = pick_u32(&mut prng, &fc.accumulation_trades).max(3);
                    let minutes = u64::from(pick_u32(&mut prng, &fc.accumulation_minutes).max(1));
                    st.gap_ns = minutes * 60 * NS_PER_SEC / u64::from(st.steps);
                }
            }
            self.flows.push(st);
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
    fn otm_strike(&self, ts: u64, e: usize, call: bool, offset: i64) -> Option<usize> {
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
        // Clamped to the listed strikes when the underlying has run to the chain's edge.
        let last = i64::try_from(strikes.len()).ok()? - 1;
        let k = if call { atm + offset } else { atm - offset }.clamp(0, last);
        strikes
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
            let start = self
                .out
                .get(self.ev_start)
                .map_or(self.ev_recv, |r| r.ts_recv);
            self.note_flow(flow, inst, u64::from(filled), start);
        }
        filled
    }

    fn top_qty(&self, inst: usize, side: BSide) -> u32 {
        self.books[inst].levels(side).next().map_or(0, |(_, q)| {
            q.iter()
                .filter_map(|id| self.orders.get(id))
                .map(|o| o.size)
                .sum()
        })
    }

    fn flow_step(&mut self, ts: u64, flow: usize, step: u32) {
        let st = self.flows[flow].clone();
        let take_side = BSide::aggressor_of(st.side).opposite();
        match st.kind {
            FlowKind::Sweep => {
                // One aggressor event through `target` levels; sometimes on adjacent strikes too.
                let levels = st.target as usize;
                let mut chosen = None;
                for offset in [1, 2, 0, 3, 4] {
                    if let Some(inst) = self.otm_strike(ts, st.expiry, st.call, offset) {
                        if self.books[inst].level_count(take_side) >= levels.min(3) {
                            chosen = Some((inst, offset));
                            break;
                        }
                    }
                }
                let Some((inst, offset)) = chosen else {
                    self.retry(ts, flow, step);
                    return;
                };
                let mut targets = vec![inst];
                if self
                    .rng
                    .random_bool(self.cfg.flows.sweep_multi_strike_prob.clamp(0.0, 1.0))
                {
                    for extra in 1..=self.rng.random_range(1..=2_i64) {
                        if let Some(i) = self.otm_strike(ts, st.expiry, st.call, offset + extra) {
                            if self.books[i].level_count(take_side) >= 2 {
                                targets.push(i);
                            }
                        }
                    }
                }
                let mut t = ts;
                for inst in targets {
                    self.requote_stale(t, inst);
                    let qty: u32 = self.books[inst]
                        .levels(take_side)
                        .take(levels)
                        .flat_map(|(_, q)| q.iter())
                        .filter_map(|id| self.orders.get(id))
                        .map(|o| o.size)
                        .sum();
                    self.flow_take(t, flow, inst, qty, levels, None);
                    t += self.rng.random_range(20_000..400_000);
                }
            }
            FlowKind::Block => {
                if step == 0 {
                    let offset = self.rng.random_range(0..=2);
                    let Some(inst) = self.otm_strike(ts, st.expiry, st.call, offset) else {
                        return;
                    };
                    self.requote_stale(ts, inst);
                    let (Some(bb), Some(ba)) = (
                        self.books[inst].best(BSide::Bid),
                        self.books[inst].best(BSide::Ask),
                    ) else {
                        self.retry(ts, flow, step);
                        return;
                    };
                    // The facilitation order rests inside the spread when there is room.
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
                        st.target,
                        Owner::Counterparty(flow as u32),
                        0,
                    );
                    self.end(LIVE_LAST);
                    let f = &mut self.flows[flow];
                    f.order = id;
                    f.price = price;
                    f.insts = vec![inst];
                    f.ts_start = self.ev_recv;
                    let dt = self.rng.random_range(5_000_000..300_000_000);
                    self.schedule(
                        ts + dt,
                        Ev::Plant {
                            flow: flow as u32,
                            step: 1,
                        },
                    );
                } else {
                    let inst = st.insts[0];
                    self.flow_take(ts, flow, inst, st.target, 4, Some(st.price));
                    if self.orders.contains_key(&st.order) {
                        let dt = self.rng.random_range(200_000..5_000_000);
                        self.begin(ts + dt);
                        self.cancel(st.order);
                        self.end(LIVE_LAST);
                    }
                }
            }
            FlowKind::CrossStrike => {
                // Step j takes the touch on the j-th strike out of the money.
                let j = i64::from(step);
                if let Some(inst) = self.otm_strike(ts, st.expiry, st.call, j) {
                    self.requote_stale(ts, inst);
                    let top = self.top_qty(inst, take_side);
                    if top > 0 {
                        self.flow_take(ts, flow, inst, top, 1, None);
                    }
                }
                if step + 1 < st.steps {
                    let gap = self.rng.random_range(st.gap_ns / 2..=st.gap_ns.max(1));
                    self.schedule(
                        ts + gap.max(1),
                        Ev::Plant {
                            flow: flow as u32,
                            step: step + 1,
                        },
                    );
                }
            }
            FlowKind::Accumulation => {
                let inst = if step == 0 {
                    let offset = self.rng.random_range(0..=2);
                    match self.otm_strike(ts, st.expiry, st.call, offset) {
                        Some(i) => {
                            self.flows[flow].insts = vec![i];
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
                if step + 1 < st.steps {
                    let gap = self
                        .rng
                        .random_range(st.gap_ns / 2..=st.gap_ns.max(2) * 3 / 2);
                    self.schedule(
                        ts + gap,
                        Ev::Plant {
                            flow: flow as u32,
                            step: step + 1,
                        },
                    );
                }
            }
            FlowKind::Iceberg => self.iceberg_step(ts, flow, step),
        }
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

    /// Iceberg steps: 0 posts the display order; 1 is a seller/buyer hitting it; 2 refills.
    fn iceberg_step(&mut self, ts: u64, flow: usize, step: u32) {
        let st = self.flows[flow].clone();
        let own = BSide::aggressor_of(st.side); // the institution rests on its own side
        match step {
            0 => {
                let offset = self.rng.random_range(0..=1);
                let Some(inst) = self.otm_strike(ts, st.expiry, st.call, offset) else {
                    return;
                };
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
                    st.display,
                    Owner::Institution(flow as u32),
                    0,
                );
                self.end(LIVE_LAST);
                let recv = self.ev_recv;
                let f = &mut self.flows[flow];
                f.insts = vec![inst];
                f.price = price;
                f.order = id;
                f.hidden_left = st.target.saturating_sub(st.display);
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
            1 => {
                let inst = st.insts[0];
                // The institution stops when fair value runs away from its price (it
                // would be picked off), when it is filled, or at its deadline.
                let fair = self.fair(inst, ts);
                let px = st.price as f64 / PX as f64;
                let tol = (0.02 * fair).max(0.2);
                let away = match own {
                    BSide::Bid => px > fair + tol,
                    BSide::Ask => px < fair - tol,
                };
                let done = away || st.size >= u64::from(st.target) || ts > st.deadline;
                if done {
                    self.ice_caps
                        .retain(|&(ci, cs, cp)| !(ci == inst && cs == own && cp == st.price));
                    if self.orders.contains_key(&st.order) {
                        self.begin(ts);
                        self.cancel(st.order);
                        self.end(LIVE_LAST);
                        let recv = self.ev_recv;
                        self.flows[flow].ts_end = recv;
                    }
                    return;
                }
                // Opposite aggressors sell (buy) into the iceberg when it is at the touch.
                if self.orders.contains_key(&st.order)
                    && self.books[inst].best(own) == Some(st.price)
                {
                    let ahead: u32 = self.books[inst]
                        .levels(own)
                        .next()
                        .map(|(_, q)| {
                            q.iter()
                                .take_while(|&&id| id != st.order)
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
                        Some(st.price),
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
            _ => {
                // Refill at the same price with a new order id.
                let inst = st.insts[0];
                if self.orders.contains_key(&st.order) || st.hidden_left == 0 {
                    return;
                }
                let crossed = match own {
                    BSide::Bid => self.books[inst]
                        .best(BSide::Ask)
                        .is_some_and(|a| a <= st.price),
                    BSide::Ask => self.books[inst]
                        .best(BSide::Bid)
                        .is_some_and(|b| b >= st.price),
                };
                if crossed {
                    return;
                }
                let q = st.display.min(st.hidden_left);
                self.begin(ts);
                let id = self.add(inst, own, st.price, q, Owner::Institution(flow as u32), 0);
                self.end(LIVE_LAST);
                let recv = self.ev_recv;
                let f = &mut self.flows[flow];
                f.order = id;
                f.hidden_left -= q;
                f.ts_end = f.ts_end.max(recv);
            }
        }
    }

    // ---------------------------------------------------------------- decoys

    fn plan_decoys(&mut self, day: u32) {
        let mut prng = stream_rng(self.cfg.seed, day, 5);
        let dc = self.cfg.decoys.clone();
        let mut plans: Vec<(DecoyKind, u64)> = Vec::new();
        for (kind, n) in [
            (DecoyKind::LargeTwoSidedQuotes, dc.large_quotes),
            (DecoyKind::OneLotBurst, dc.one_lot_bursts),
            (DecoyKind::RepriceAll, dc.reprice_all),
            (DecoyKind::QuoteTrafficSurge, dc.traffic_surges),
        ] {
            for _ in 0..n {
                let h = prng.random_range(1.0..22.5);
                plans.push((kind, self.session.start + (h * NS_PER_HOUR as f64) as u64));
            }
        }
        for (kind, ts) in plans {
            let di = self.decoys.len();
            let mut st = DecoyState {
                kind,
                insts: Vec::new(),
                ts_start: ts,
                ts_end: ts,
                orders: Vec::new(),
                steps: 0,
                gap_ns: 0,
                inst: 0,
                seen: false,
            };
            if kind == DecoyKind::QuoteTrafficSurge {
                let len = prng.random_range(10..=30) * 60 * NS_PER_SEC;
                st.ts_end = (ts + len).min(self.session.end);
                self.surges.push((ts, st.ts_end));
                self.decoys.push(st);
                continue;
            }
            if kind == DecoyKind::OneLotBurst {
                st.steps = prng.random_range(30..=120);
                st.gap_ns = prng.random_range(20..=90) * NS_PER_SEC / u64::from(st.steps);
            }
            self.decoys.push(st);
            self.schedule(
                ts,
                Ev::DecoyStep {
                    decoy: di as u32,
                    step: 0,
                },
            );
        }
    }

    fn note_decoy(&mut self, decoy: usize, inst: Option<usize>, start: u64) {
        let end = self.ev_recv;
        let d = &mut self.decoys[decoy];
        if let Some(i) = inst {
            if !d.insts.contains(&i) {
                d.insts.push(i);
            }
        }
        if d.seen {
            d.ts_start = d.ts_start.min(start);
            d.ts_end = d.ts_end.max(end);
        } else {
            d.seen = true;
            d.ts_start = start;
            d.ts_end = end;
        }
    }

    fn decoy_step(&mut self, ts: u64, decoy: usize, step: u32) {
        let kind = self.decoys[decoy].kind;
        match kind {
            DecoyKind::LargeTwoSidedQuotes => {
                if step == 0 {
                    let Some(inst) = self.pick_option() else {
                        return;
                    };
                    if !self.alive(inst, ts) {
                        return;
                    }
                    let (Some(bb), Some(ba)) = (
                        self.books[inst].best(BSide::Bid),
                        self.books[inst].best(BSide::Ask),
                    ) else {
                        return;
                    };
                    let mm = self.rng.random_range(0..self.mm.len()) as u8;
                    let size_b = self.rng.random_range(300..=1_000);
                    let size_a = self.rng.random_range(300..=1_000);
                    self.begin(ts);
                    let b = self.add(inst, BSide::Bid, bb, size_b, Owner::DecoyQuote(mm), 0);
                    let a = self.add(inst, BSide::Ask, ba, size_a, Owner::DecoyQuote(mm), 0);
                    self.end(LIVE_LAST);
                    let start = self.ev_recv;
                    self.decoys[decoy].orders = vec![b, a];
                    self.decoys[decoy].inst = inst;
                    self.note_decoy(decoy, Some(inst), start);
                    let hold = self.rng.random_range(2..=45) * NS_PER_SEC;
                    self.schedule(
                        ts + hold,
                        Ev::DecoyStep {
                            decoy: decoy as u32,
                            step: 1,
                        },
                    );
                } else {
                    let ids = self.decoys[decoy].orders.clone();
                    let live: Vec<u64> = ids
                        .into_iter()
                        .filter(|id| self.orders.contains_key(id))
                        .collect();
                    if !live.is_empty() {
                        self.begin(ts);
                        for id in live {
                            self.cancel(id);
                        }
                        self.end(LIVE_LAST);
                        let start = self.ev_recv;
                        self.note_decoy(decoy, None, start);
                    }
                }
            }
            DecoyKind::OneLotBurst => {
                let inst = if step == 0 {
                    let Some(i) = self.pick_option() else { return };
                    self.decoys[decoy].inst = i;
                    i
                } else {
                    self.decoys[decoy].inst
                };
                let side = if self.rng.random_bool(0.5) {
                    BSide::Bid
                } else {
                    BSide::Ask
                };
                let fills = self.take(ts, inst, side, 1, 1, None, Participant::Retail);
                if !fills.is_empty() {
                    let start = self
                        .out
                        .get(self.ev_start)
                        .map_or(self.ev_recv, |r| r.ts_recv);
                    self.note_decoy(decoy, Some(inst), start);
                }
                let d = &self.decoys[decoy];
                if step + 1 < d.steps {
                    let gap = self
                        .rng
                        .random_range(d.gap_ns / 4..=d.gap_ns.max(1) * 7 / 4);
                    self.schedule(
                        ts + gap.max(1),
                        Ev::DecoyStep {
                            decoy: decoy as u32,
                            step: step + 1,
                        },
                    );
                }
            }
            DecoyKind::RepriceAll => {
                // A volatility re-mark: every market maker reprices every option within 20 ms.
                self.vol_shift += if self.rng.random_bool(0.5) {
                    0.015
                } else {
                    -0.015
                };
                let n = self.chain.insts.len();
                let mut last = ts;
                for inst in 1..n {
                    for mm in 0..self.mm.len() {
                        let t = ts + self.rng.random_range(0..20_000_000);
                        last = last.max(t);
                        self.schedule(
                            t,
                            Ev::Refresh {
                                mm: mm as u8,
                                inst: inst as u32,
                            },
                        );
                    }
                }
                let d = &mut self.decoys[decoy];
                d.seen = true;
                d.ts_start = ts;
                // Records of the last refresh arrive within the latency bound (< 1 ms).
                d.ts_end = last + 1_000_000;
            }
            DecoyKind::QuoteTrafficSurge | DecoyKind::MmHedge => {}
        }
    }

    // ---------------------------------------------------------------- results

    fn finish(self, day: u32) -> Generated {
        let _ = day;
        let ids = |insts: &[usize]| {
            let mut v: Vec<u32> = insts.iter().map(|&i| self.chain.insts[i].id).collect();
            v.sort_unstable();
            v.dedup();
            v
        };
        let mut truth = Vec::new();
        for (fi, f) in self.flows.iter().enumerate() {
            if f.size == 0 || f.ts_start == u64::MAX {
                continue;
            }
            truth.push(Truth {
                flow_id: fi as u64 + 1,
                kind: f.kind,
                side: f.side,
                direction: TruthDirection::of(f.side, f.call),
                instrument_ids: ids(&f.insts),
                ts_start: f.ts_start,
                ts_end: f.ts_end.max(f.ts_start),
                size: f.size,
            });
        }
        let mut decoys: Vec<Decoy> = self
            .decoys
            .iter()
            .filter(|d| {
                d.kind == DecoyKind::QuoteTrafficSurge
                    || d.kind == DecoyKind::RepriceAll
                    || !d.insts.is_empty()
            })
            .map(|d| Decoy {
                decoy_id: 0,
                kind: d.kind,
                instrument_ids: ids(&d.insts),
                ts_start: d.ts_start,
                ts_end: d.ts_end.max(d.ts_start),
            })
            .collect();
        decoys.sort_by_key(|d| (d.ts_start, d.ts_end, d.kind));
        for (i, d) in decoys.iter_mut().enumerate() {
            d.decoy_id = i as u64 + 1;
        }
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
        }
    }
}

/// Intraday activity over the Globex session, as a function of hours since 17:00 CT:
/// a busy reopen, a quiet night with a European bump, and a U over the 08:30-15:00 CT
/// regular session (high at the open and into the close, lower at midday).
pub(crate) fn activity_profile(h: f64) -> f64 {
    let mut m = 0.22 + 1.0 * (-h / 0.5).exp() + 0.25 * (-((h - 9.0) * (h - 9.0)) / 0.5).exp();
    if (15.5..22.0).contains(&h) {
        m += 0.7 + 2.6 * (-(h - 15.5) / 0.6).exp() + 2.0 * (-(22.0 - h) / 0.6).exp();
    } else if h >= 22.0 {
        m += 0.5 * (-(h - 22.0) / 0.3).exp();
    }
    m
}

fn poisson(rng: &mut ChaCha8Rng, lambda: f64) -> u64 {
    if lambda <= 0.0 || !lambda.is_finite() {
        return 0;
    }
    Poisson::new(lambda).map_or(0, |p| p.sample(rng) as u64)
}

/// Heavy-tailed retail size: mostly 1-3 lots, occasionally tens.
fn retail_size(rng: &mut ChaCha8Rng, dist: Option<&Pareto<f64>>) -> u32 {
    dist.map_or(1, |d| d.sample(rng).floor().clamp(1.0, 100.0) as u32)
}

/// The underlying path of one session, one level per second: a Brownian bridge from the
/// day's open to the next day's open, with a U-shaped volatility profile and jumps.
pub(crate) fn underlying_path(cfg: &SimConfig, day: u32, secs: u64) -> Vec<f64> {
    // Daily opens as a random walk of daily returns.
    let daily_sd = cfg.annual_vol / 252_f64.sqrt();
    let mut open = cfg.start_price;
    let mut next_open = open;
    for d in 0..=day {
        let mut r = stream_rng(cfg.seed, d, 11);
        let ret = Normal::new(0.0, daily_sd).map_or(0.0, |n| n.sample(&mut r));
        if d < day {
            open *= ret.exp();
        } else {
            next_open = open * ret.exp();
        }
    }
    let mut rng = stream_rng(cfg.seed, day, 13);
    let n = usize::try_from(secs).unwrap_or(0).max(1);
    let mass: f64 = (0..n)
        .map(|s| activity_profile(s as f64 / 3_600.0))
        .sum::<f64>()
        / n as f64;
    let sec_sd = daily_sd / (n as f64).sqrt();
    let std = Normal::new(0.0, 1.0).ok();
    let mut w = Vec::with_capacity(n);
    let mut x = 0.0;
    for s in 0..n {
        w.push(x);
        let a = activity_profile(s as f64 / 3_600.0) / mass;
        let z = std.as_ref().map_or(0.0, |d| d.sample(&mut rng));
        x += sec_sd * a.sqrt() * z;
    }
    // Jumps.
    let jumps = poisson(&mut rng, cfg.jumps_per_day.max(0.0));
    let jump_dist = Normal::new(0.0, 0.003).ok();
    for _ in 0..jumps {
        let at = rng.random_range(0..n);
        let size = jump_dist.as_ref().map_or(0.0, |d| d.sample(&mut rng));
        for v in &mut w[at..] {
            *v += size;
        }
        x += size;
    }
    let target = (next_open / open).ln();
    // `x` is the walk after its last step (jumps included): pin it to the next open.
    let end = x;
    w.iter()
        .enumerate()
        .map(|(s, &v)| open * (v - (s as f64 / n as f64) * (end - target)).exp())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Preset, SimConfig};

    #[test]
    fn activity_is_u_shaped_over_the_regular_session() {
        let open = activity_profile(15.6);
        let midday = activity_profile(18.5);
        let close = activity_profile(21.9);
        let night = activity_profile(6.0);
        assert!(
            open > 2.0 * midday && close > 1.5 * midday,
            "{open} {midday} {close}"
        );
        assert!(night < 0.5 * midday, "{night} {midday}");
        assert!(activity_profile(0.05) > midday, "the reopen is busy");
    }

    #[test]
    fn underlying_days_join_without_gaps() {
        let cfg = SimConfig::preset(Preset::Quiet, 5);
        let secs = 23 * 3_600;
        let d0 = underlying_path(&cfg, 0, secs);
        let d1 = underlying_path(&cfg, 1, secs);
        assert_eq!(d0.len(), 82_800);
        assert!((d0[0] - cfg.start_price).abs() < 1e-9);
        // The bridge ends one second before the next open, within a few points of it.
        let last = d0[d0.len() - 1];
        assert!((last - d1[0]).abs() < 25.0, "{last} vs {}", d1[0]);
        let max_step = d0
            .windows(2)
            .map(|w| (w[1] - w[0]).abs())
            .fold(0.0, f64::max);
        assert!(max_step < 400.0, "no absurd one-second move: {max_step}");
        assert_eq!(d0, underlying_path(&cfg, 0, secs), "deterministic");
    }

    #[test]
    fn rng_streams_differ_by_seed_day_and_stream() {
        let a: u64 = stream_rng(1, 0, 1).random();
        assert_eq!(a, stream_rng(1, 0, 1).random::<u64>());
        assert_ne!(a, stream_rng(2, 0, 1).random::<u64>());
        assert_ne!(a, stream_rng(1, 1, 1).random::<u64>());
        assert_ne!(a, stream_rng(1, 0, 2).random::<u64>());
    }
}
