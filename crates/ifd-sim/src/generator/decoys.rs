//! Decoys: activity that looks institutional at a glance and must not be flagged (large
//! two-sided quotes, 1-lot bursts, volatility re-marks, quote-traffic surges, and the
//! market makers' hedges in the future; the real-world prints of [`super::prints`]).

use rand::Rng;

use super::book::{BSide, Owner};
use super::model::stream_rng;
use super::prints::Cross;
use super::{Ev, SessionGenerator, LIVE_LAST};
use crate::calendar::NS_PER_SEC;
use crate::truth::{
    Decoy, DecoyKind, PackageLeg, PackageStructure, PackageTruth, Participant, TruthSide,
};

/// One decoy: where and when it happened so far, and its kind's state.
#[derive(Debug, Clone)]
pub(super) struct DecoyRun {
    /// Instruments involved so far.
    insts: Vec<usize>,
    /// `ts_recv` of its first record (the planned start until `seen`).
    ts_start: u64,
    /// `ts_recv` of its last record.
    ts_end: u64,
    /// Whether it has written a record (or spans a planned stretch).
    seen: bool,
    /// The kind and its state.
    pub(super) plan: DecoyPlan,
    /// The legs of a package, as printed.
    pub(super) legs: Vec<PackageLeg>,
    /// The legs of a package to print: instrument index, side, contracts.
    pub(super) pending: Vec<(usize, TruthSide, u32)>,
}

impl DecoyRun {
    /// A decoy planned at `ts` that has not printed yet.
    pub(super) fn planned(ts: u64, plan: DecoyPlan) -> Self {
        Self {
            insts: Vec::new(),
            ts_start: ts,
            ts_end: ts,
            seen: false,
            plan,
            legs: Vec::new(),
            pending: Vec::new(),
        }
    }
}

/// The kind of a decoy with the state only that kind needs.
#[derive(Debug, Clone, Copy)]
pub(super) enum DecoyPlan {
    /// Very large bid and ask orders of one market maker, posted then pulled.
    LargeQuotes {
        /// The bid and the ask order, once posted.
        orders: Option<[u64; 2]>,
    },
    /// Many 1-lot takes of both sides on one contract.
    OneLotBurst {
        /// The contract, chosen at the first take.
        inst: usize,
        /// Takes to make.
        trades: u32,
        /// Mean gap between two takes, ns.
        gap_ns: u64,
    },
    /// Every market maker reprices every quote at once.
    RepriceAll,
    /// A stretch in which quote traffic doubles (no events of its own).
    TrafficSurge,
    /// A market maker's delta hedge in the future.
    Hedge,
    /// A multi-leg package.
    Package {
        /// Its structure (a calendar that cannot be built becomes a vertical).
        structure: PackageStructure,
    },
    /// A lottery ticket.
    Lottery,
    /// A dealer-to-dealer cross.
    DealerCross {
        /// The posted order, once posted.
        cross: Option<Cross>,
    },
    /// A retail herd ([`crate::MarketStructure::herds`]).
    RetailHerd {
        /// The contract, chosen at the first take.
        inst: Option<usize>,
        /// The herd's aggressor side.
        side: BSide,
        /// No take starts after this.
        until: u64,
        /// Mean gap between two takes, ns.
        gap_ns: u64,
    },
}

impl DecoyPlan {
    fn kind(self) -> DecoyKind {
        match self {
            Self::LargeQuotes { .. } => DecoyKind::LargeTwoSidedQuotes,
            Self::OneLotBurst { .. } => DecoyKind::OneLotBurst,
            Self::RepriceAll => DecoyKind::RepriceAll,
            Self::TrafficSurge => DecoyKind::QuoteTrafficSurge,
            Self::Hedge => DecoyKind::MmHedge,
            Self::Package { .. } => DecoyKind::Package,
            Self::Lottery => DecoyKind::LotteryTicket,
            Self::DealerCross { .. } => DecoyKind::DealerCross,
            Self::RetailHerd { .. } => DecoyKind::RetailHerd,
        }
    }
}

impl SessionGenerator<'_> {
    pub(super) fn plan_decoys(&mut self, day: u32) {
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
                plans.push((kind, self.session.at_session_hours(h)));
            }
        }
        for (kind, ts) in plans {
            let di = self.decoys.len();
            let mut run = DecoyRun::planned(ts, DecoyPlan::RepriceAll);
            match kind {
                DecoyKind::QuoteTrafficSurge => {
                    let len = prng.random_range(10..=30) * 60 * NS_PER_SEC;
                    run.ts_end = (ts + len).min(self.session.end);
                    run.plan = DecoyPlan::TrafficSurge;
                    self.surges.push((ts, run.ts_end));
                    self.decoys.push(run);
                    continue;
                }
                DecoyKind::OneLotBurst => {
                    let trades: u32 = prng.random_range(30..=120);
                    let gap_ns = prng.random_range(20..=90) * NS_PER_SEC / u64::from(trades);
                    run.plan = DecoyPlan::OneLotBurst {
                        inst: 0,
                        trades,
                        gap_ns,
                    };
                }
                DecoyKind::LargeTwoSidedQuotes => {
                    run.plan = DecoyPlan::LargeQuotes { orders: None };
                }
                DecoyKind::RepriceAll => run.plan = DecoyPlan::RepriceAll,
                // Hedges follow fills; the real-world prints are planned on their own.
                DecoyKind::MmHedge
                | DecoyKind::Package
                | DecoyKind::LotteryTicket
                | DecoyKind::DealerCross
                | DecoyKind::RetailHerd => continue,
            }
            self.decoys.push(run);
            self.schedule(
                ts,
                Ev::DecoyStep {
                    decoy: di as u32,
                    step: 0,
                },
            );
        }
    }

    pub(super) fn note_decoy(&mut self, decoy: usize, inst: Option<usize>, start: u64) {
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

    /// Records a market maker's hedge in the future as a decoy.
    pub(super) fn note_hedge(&mut self, start: u64) {
        self.decoys.push(DecoyRun {
            insts: vec![0],
            ts_start: start.min(self.ev_recv),
            ts_end: self.ev_recv,
            seen: true,
            plan: DecoyPlan::Hedge,
            legs: Vec::new(),
            pending: Vec::new(),
        });
    }

    pub(super) fn decoy_step(&mut self, ts: u64, decoy: usize, step: u32) {
        match self.decoys[decoy].plan {
            DecoyPlan::LargeQuotes { orders } => {
                if step == 0 {
                    self.post_large_quotes(ts, decoy);
                } else if let Some(ids) = orders {
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
            DecoyPlan::OneLotBurst {
                inst,
                trades,
                gap_ns,
            } => {
                let inst = if step == 0 {
                    let Some(i) = self.pick_option() else { return };
                    if let DecoyPlan::OneLotBurst { inst, .. } = &mut self.decoys[decoy].plan {
                        *inst = i;
                    }
                    i
                } else {
                    inst
                };
                let side = if self.rng.random_bool(0.5) {
                    BSide::Bid
                } else {
                    BSide::Ask
                };
                let fills = self.take(ts, inst, side, 1, 1, None, Participant::Retail);
                if !fills.is_empty() {
                    let start = self.event_start_recv();
                    self.note_decoy(decoy, Some(inst), start);
                }
                if step + 1 < trades {
                    let gap = self.rng.random_range(gap_ns / 4..=gap_ns.max(1) * 7 / 4);
                    self.schedule(
                        ts + gap.max(1),
                        Ev::DecoyStep {
                            decoy: decoy as u32,
                            step: step + 1,
                        },
                    );
                }
            }
            DecoyPlan::RepriceAll => {
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
            DecoyPlan::Package { structure } => self.package_step(ts, decoy, structure, step),
            DecoyPlan::Lottery => self.lottery_step(ts, decoy),
            DecoyPlan::DealerCross { .. } => self.dealer_cross_step(ts, decoy, step),
            DecoyPlan::RetailHerd { .. } => self.herd_step(ts, decoy, step),
            DecoyPlan::TrafficSurge | DecoyPlan::Hedge => {}
        }
    }

    /// Large quotes step 0: one market maker joins both touches with hundreds of lots,
    /// and pulls them seconds later.
    fn post_large_quotes(&mut self, ts: u64, decoy: usize) {
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
        if let DecoyPlan::LargeQuotes { orders } = &mut self.decoys[decoy].plan {
            *orders = Some([b, a]);
        }
        self.note_decoy(decoy, Some(inst), start);
        let hold = self.rng.random_range(2..=45) * NS_PER_SEC;
        self.schedule(
            ts + hold,
            Ev::DecoyStep {
                decoy: decoy as u32,
                step: 1,
            },
        );
    }

    /// The decoys that happened, in time order, as decoy records.
    pub(super) fn decoy_list(&self) -> Vec<Decoy> {
        let mut decoys: Vec<Decoy> = self
            .decoys
            .iter()
            .filter(|d| {
                matches!(d.plan, DecoyPlan::TrafficSurge | DecoyPlan::RepriceAll)
                    || !d.insts.is_empty()
            })
            .map(|d| Decoy {
                decoy_id: 0,
                kind: d.plan.kind(),
                instrument_ids: self.instrument_ids(&d.insts),
                ts_start: d.ts_start,
                ts_end: d.ts_end.max(d.ts_start),
                package: match d.plan {
                    DecoyPlan::Package { structure } => Some(PackageTruth {
                        structure,
                        legs: d.legs.clone(),
                    }),
                    _ => None,
                },
            })
            .collect();
        decoys.sort_by_key(|d| (d.ts_start, d.ts_end, d.kind));
        for (i, d) in decoys.iter_mut().enumerate() {
            d.decoy_id = i as u64 + 1;
        }
        decoys
    }
}
