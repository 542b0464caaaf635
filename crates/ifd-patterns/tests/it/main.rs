//! Integration tests of ifd-patterns through its public API (needs the `testing` feature).

use dbn::{Action, FlagSet, MboMsg, RecordHeader, Side};
use ifd_patterns::testing::{event, event_sequence, TestMarket};
use ifd_patterns::{
    Assessment, DetectorConfig, DetectorVersion, Direction, FlowSide, MarketView, NoReference,
    Pattern, PatternDetector, Reference, ReferenceMetric, Signal, V1Config, VolumeSpikeDetector,
};
use ifd_pressure::{AggressorSide, OptionContract, UnderlyingSource};
use proptest::prelude::*;

mod legged;
mod ood;
mod regime;
mod requote;
mod slow;
mod sweep;

const SEC: u64 = 1_000_000_000;
const T0: u64 = 1_765_000_000 * SEC;

fn detector() -> PatternDetector {
    PatternDetector::new(DetectorConfig::default()).unwrap()
}

fn run_events<V: MarketView + ?Sized>(
    det: &mut PatternDetector,
    market: &V,
    evs: &[ifd_pressure::AggressorEvent],
) -> Vec<Signal> {
    let mut out = Vec::new();
    for ev in evs {
        det.on_event(ev, market, &NoReference, &mut out);
    }
    // Events are held back for the package window; the end of the data releases them.
    det.flush(market, &NoReference, &mut out);
    out
}

#[test]
fn block_fires_on_a_large_print_and_names_its_side() {
    let market = TestMarket::nq_chain(5);
    let mut det = detector();
    let mut evs: Vec<_> = (0..30)
        .map(|i| event(3, AggressorSide::Buy, 8, 1, T0 + i * SEC))
        .collect();
    evs.push(event(4, AggressorSide::Buy, 300, 1, T0 + 40 * SEC));
    let out = run_events(&mut det, &market, &evs);
    assert_eq!(out.len(), 1, "{out:?}");
    let s = &out[0];
    assert_eq!(s.pattern, Pattern::Block);
    assert_eq!(s.instrument_id, 4);
    assert_eq!(s.side, FlowSide::Buy);
    assert_eq!(s.direction, Direction::Bearish, "instrument 4 is a put");
    assert_eq!(s.size, 300);
    assert_eq!(s.detector, DetectorVersion::V3);
    assert!(s.confidence >= 0.5 && s.confidence <= 1.0);
    assert_eq!(s.p_value, None);
}

#[test]
fn small_prints_raise_nothing() {
    let market = TestMarket::nq_chain(5);
    let mut det = detector();
    let evs: Vec<_> = (0..500)
        .map(|i| {
            let side = if i % 2 == 0 {
                AggressorSide::Buy
            } else {
                AggressorSide::Sell
            };
            event(1 + (i % 10) as u32, side, 1 + i % 7, 1, T0 + i * SEC / 10)
        })
        .collect();
    assert!(run_events(&mut det, &market, &evs).is_empty());
}

#[test]
fn sweep_fires_on_many_levels() {
    let market = TestMarket::nq_chain(5);
    let mut det = detector();
    let out = run_events(
        &mut det,
        &market,
        &[event(1, AggressorSide::Sell, 40, 4, T0)],
    );
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].pattern, Pattern::Sweep);
    assert_eq!(out[0].evidence.levels, 4);
    assert_eq!(out[0].direction, Direction::Bearish, "selling a call");
}

#[test]
fn cross_strike_needs_same_side_same_kind_within_the_window() {
    let market = TestMarket::nq_chain(6);
    // Calls are odd ids: 1, 3, 5 are three strikes.
    let mut det = detector();
    let evs = [
        event(1, AggressorSide::Buy, 15, 1, T0),
        event(3, AggressorSide::Buy, 20, 1, T0 + 2_000_000),
        event(5, AggressorSide::Buy, 15, 1, T0 + 4_000_000),
    ];
    let out = run_events(&mut det, &market, &evs);
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].pattern, Pattern::CrossStrike);
    assert_eq!(out[0].instruments, vec![1, 3, 5]);
    assert_eq!(out[0].instrument_id, 3, "the largest leg");
    assert_eq!(out[0].size, 50);

    // Buys against a sell in the same milliseconds: a (custom) package, not a
    // cross-strike flow.
    let mut det = detector();
    let mixed = [
        event(1, AggressorSide::Buy, 15, 1, T0),
        event(3, AggressorSide::Sell, 20, 1, T0 + 2_000_000),
        event(5, AggressorSide::Buy, 15, 1, T0 + 4_000_000),
    ];
    let out = run_events(&mut det, &market, &mixed);
    assert!(out.iter().all(|s| s.pattern == Pattern::Package), "{out:?}");
    assert!(
        out.iter().all(|s| s.direction == Direction::Neutral),
        "{out:?}"
    );

    let mut det = detector();
    let slow = [
        event(1, AggressorSide::Buy, 15, 1, T0),
        event(3, AggressorSide::Buy, 20, 1, T0 + 2 * SEC),
        event(5, AggressorSide::Buy, 15, 1, T0 + 4 * SEC),
    ];
    assert!(run_events(&mut det, &market, &slow).is_empty());

    let mut det = detector();
    let one_lots: Vec<_> = (0..30)
        .map(|i| {
            event(
                1 + 2 * (i % 6) as u32,
                AggressorSide::Buy,
                1,
                1,
                T0 + i * 1_000_000,
            )
        })
        .collect();
    assert!(
        run_events(&mut det, &market, &one_lots).is_empty(),
        "1-lot bursts are not institutional"
    );
}

#[test]
fn accumulation_needs_persistence() {
    let market = TestMarket::nq_chain(3);
    let mut det = detector();
    let out = run_events(&mut det, &market, &buy_clips(T0));
    assert!(!out.is_empty());
    assert!(out
        .iter()
        .all(|s| s.pattern == Pattern::Accumulation && s.side == FlowSide::Buy));
    assert_eq!(out[0].revision, 0);
    let ids: std::collections::BTreeSet<u64> = out.iter().map(|s| s.signal_id).collect();
    assert_eq!(ids.len(), 1, "one flow, possibly updated");

    // The same volume in balance raises nothing.
    let mut det = detector();
    let balanced: Vec<_> = (0..100u64)
        .map(|i| {
            let side = if i % 2 == 0 {
                AggressorSide::Buy
            } else {
                AggressorSide::Sell
            };
            event(2, side, 5, 1, T0 + i * 6 * SEC)
        })
        .collect();
    assert!(run_events(&mut det, &market, &balanced).is_empty());
}

#[test]
fn one_large_print_is_not_an_accumulation() {
    // Forty clips of 5 lots and a few sells over ten minutes: an accumulation.
    let market = TestMarket::nq_chain(3);
    let clips = |big: Option<u64>| {
        let mut evs = buy_clips(T0);
        if let Some(size) = big {
            // One large buy print in the ninth minute, 5 s after that minute's last clip.
            evs.push(event(
                2,
                AggressorSide::Buy,
                size,
                1,
                T0 + 8 * 60 * SEC + 35 * SEC,
            ));
            evs.sort_by_key(|e| e.ts_recv);
        }
        evs
    };
    let accumulations = |evs: &[ifd_pressure::AggressorEvent], cfg: DetectorConfig| {
        let mut det = PatternDetector::new(cfg).unwrap();
        let out = run_events(&mut det, &market, evs);
        let n = out
            .iter()
            .filter(|s| s.pattern == Pattern::Accumulation)
            .count();
        (n, det.stats().accum_one_print)
    };
    let few = |n: u64| {
        // Fewer clips: two per minute of 6 lots, so one print of 120 dominates.
        let mut evs = Vec::new();
        for minute in 0..8u64 {
            for k in 0..2u64 {
                evs.push(event(
                    2,
                    AggressorSide::Buy,
                    6,
                    1,
                    T0 + minute * 60 * SEC + k * 20 * SEC,
                ));
            }
        }
        evs.push(event(2, AggressorSide::Buy, n, 1, T0 + 8 * 60 * SEC));
        evs
    };
    // Many clips with one print of 60 (under the block floor) among 200 lots: still
    // an accumulation, the print a quarter of the side's volume.
    let (n, dropped) = accumulations(&clips(Some(60)), DetectorConfig::default());
    assert!(n >= 1, "clips plus one print");
    assert_eq!(dropped, 0);
    // Sixteen clips of 6 lots and one print of 120 lots: the window's net volume is
    // mostly the one print (120 of 216): not an accumulation, and counted.
    let (n, dropped) = accumulations(&few(120), DetectorConfig::default());
    assert_eq!(n, 0);
    assert!(dropped >= 1);
    // With the share at 1 the same records are one.
    let any_share = DetectorConfig {
        accum_max_event_share: 1.0,
        ..DetectorConfig::default()
    };
    assert!(accumulations(&few(120), any_share).0 >= 1);
}

#[test]
fn unhealthy_books_suppress_signals() {
    let mut market = TestMarket::nq_chain(3);
    market.unhealthy.push(1);
    let mut det = detector();
    let out = run_events(
        &mut det,
        &market,
        &[event(1, AggressorSide::Buy, 500, 1, T0)],
    );
    assert!(out.is_empty());
    assert_eq!(det.stats().unhealthy, 1);
}

#[test]
fn repeated_prints_of_one_flow_are_one_signal_with_revisions() {
    let market = TestMarket::nq_chain(3);
    let mut det = detector();
    let evs: Vec<_> = (0..4)
        .map(|i| event(1, AggressorSide::Buy, 200, 1, T0 + i * SEC))
        .collect();
    let out = run_events(&mut det, &market, &evs);
    // 200 emitted; 400 reaches 2x -> revision 1; 600 is merged; 800 -> revision 2.
    assert_eq!(out.len(), 3, "{out:?}");
    assert!(out.iter().all(|s| s.signal_id == out[0].signal_id));
    assert_eq!(
        out.iter().map(|s| s.revision).collect::<Vec<_>>(),
        vec![0, 1, 2]
    );
    assert_eq!(out[2].size, 800);
    assert_eq!(det.stats().merged, 3);
    // After the merge gap a new flow starts.
    let later = run_events(
        &mut det,
        &market,
        &[event(1, AggressorSide::Buy, 200, 1, T0 + 60 * SEC)],
    );
    assert_eq!(later.len(), 1);
    assert_ne!(later[0].signal_id, out[0].signal_id);
}

struct FixedReference(f64);

impl Reference for FixedReference {
    fn assess(
        &self,
        _c: &OptionContract,
        _u: Option<i64>,
        _ts: u64,
        _m: ReferenceMetric,
        _v: f64,
    ) -> Option<Assessment> {
        Some(Assessment {
            p_value: self.0,
            z_score: 9.0,
            days: 20,
            typical: 5.0,
        })
    }
}

#[test]
fn baseline_p_values_gate_and_score() {
    let market = TestMarket::nq_chain(3);
    let mut det = detector();
    let mut out = Vec::new();
    det.on_event(
        &event(1, AggressorSide::Buy, 200, 1, T0),
        &market,
        &FixedReference(1e-6),
        &mut out,
    );
    det.flush(&market, &FixedReference(1e-6), &mut out);
    assert_eq!(out.len(), 1);
    let s = &out[0];
    assert_eq!(s.p_value, Some(1e-6));
    assert!(s.q_value.unwrap() <= 1e-6 + 1e-12);
    assert_eq!(s.evidence.baseline_days, Some(20));
    assert!(
        s.confidence > 0.8,
        "strong baseline evidence: {}",
        s.confidence
    );

    let mut det = detector();
    let mut out = Vec::new();
    det.on_event(
        &event(1, AggressorSide::Buy, 200, 1, T0),
        &market,
        &FixedReference(0.2),
        &mut out,
    );
    det.flush(&market, &FixedReference(0.2), &mut out);
    assert!(out.is_empty(), "ordinary for this strike per its baseline");
    assert_eq!(det.stats().baseline_rejected, 1);
}

fn mbo(iid: u32, oid: u64, action: Action, side: Side, px: i64, size: u32, ts: u64) -> MboMsg {
    MboMsg {
        hd: RecordHeader::new::<MboMsg>(dbn::rtype::MBO, 1, iid, ts),
        order_id: oid,
        price: px,
        size,
        flags: FlagSet::empty().set_last(),
        channel_id: 0,
        action: u8::from(action) as std::ffi::c_char,
        side: u8::from(side) as std::ffi::c_char,
        ts_recv: ts,
        ts_in_delta: 0,
        sequence: 0,
    }
}

#[test]
fn iceberg_fires_on_refills_at_one_price() {
    let market = TestMarket::nq_chain(3);
    let out = refill_rounds(&mut detector(), &market, 12_500_000_000);
    assert_eq!(out.len(), 1, "{out:?}");
    let s = &out[0];
    assert_eq!(s.pattern, Pattern::Iceberg);
    assert_eq!(s.side, FlowSide::Sell, "the resting iceberg sells");
    assert!(s.size >= 60);
    assert!(s.evidence.orders.len() >= 3);
}

/// The first half of [`take_and_refill`]: 100 ms after `*ts`, the resting ask `oid` of
/// `lot` lots at `px` on instrument 2 is taken in full (trade, fill, cancel). Advances
/// `ts`.
fn take(
    det: &mut PatternDetector,
    market: &TestMarket,
    out: &mut Vec<Signal>,
    (ts, oid): (&mut u64, u64),
    px: i64,
    lot: u32,
) {
    *ts += 100_000_000;
    for (id, action, side) in [
        (0, Action::Trade, Side::Bid),
        (oid, Action::Fill, Side::Ask),
        (oid, Action::Cancel, Side::Ask),
    ] {
        det.on_mbo(&mbo(2, id, action, side, px, lot, *ts), market, out);
    }
}

/// One round of an ask iceberg on instrument 2: 100 ms after `*ts`, the resting order
/// `*oid` of `lot` lots at `px` is taken in full (trade, fill, cancel), and 20 ms
/// later its refill `*oid + 1` of the same size is added. Advances `ts` and `oid`.
fn take_and_refill(
    det: &mut PatternDetector,
    market: &TestMarket,
    out: &mut Vec<Signal>,
    (ts, oid): (&mut u64, &mut u64),
    px: i64,
    lot: u32,
) {
    take(det, market, out, (&mut *ts, *oid), px, lot);
    *ts += 20_000_000;
    *oid += 1;
    det.on_mbo(
        &mbo(2, *oid, Action::Add, Side::Ask, px, lot, *ts),
        market,
        out,
    );
}

/// An ask of 20 lots at `px` on instrument 2 posted at `t0`, then five rounds of
/// [`take_and_refill`].
fn refill_rounds_at(
    det: &mut PatternDetector,
    market: &TestMarket,
    px: i64,
    t0: u64,
) -> Vec<Signal> {
    let mut out = Vec::new();
    let (mut ts, mut oid) = (t0, 5_000);
    det.on_mbo(
        &mbo(2, oid, Action::Add, Side::Ask, px, 20, ts),
        market,
        &mut out,
    );
    for _ in 0..5 {
        take_and_refill(det, market, &mut out, (&mut ts, &mut oid), px, 20);
    }
    out
}

/// Five refills of 20 lots at one price on instrument 2 from `T0`, taken in full each
/// time.
fn refill_rounds(det: &mut PatternDetector, market: &TestMarket, px: i64) -> Vec<Signal> {
    refill_rounds_at(det, market, px, T0)
}

#[test]
fn an_iceberg_worth_a_few_hundred_dollars_is_not_raised() {
    // The same refills at 0.10 a contract: 100 lots are $200 of premium, below the
    // iceberg's premium minimum, so nothing is raised; without the risk minima the
    // same records are an iceberg, so the minima are what hold it back.
    let market = TestMarket::nq_chain(3);
    let cheap = 100_000_000;
    assert!(refill_rounds(&mut detector(), &market, cheap).is_empty());
    let cfg = DetectorConfig {
        iceberg_min_premium: rust_decimal::Decimal::ZERO,
        iceberg_min_delta_notional: 0.0,
        ..DetectorConfig::default()
    };
    let mut no_minima = PatternDetector::new(cfg).unwrap();
    let out = refill_rounds(&mut no_minima, &market, cheap);
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].pattern, Pattern::Iceberg);
    // At 12.50 a contract the default minima let it through.
    assert_eq!(
        refill_rounds(&mut detector(), &market, 12_500_000_000).len(),
        1
    );
}

#[test]
fn iceberg_ignores_two_sided_market_maker_quotes() {
    let market = TestMarket::nq_chain(3);
    let mut det = detector();
    let mut out = Vec::new();
    let px = 12_500_000_000;
    let mut ts = T0;
    let mut oid = 5_000;
    for _ in 0..6 {
        det.on_mbo(
            &mbo(2, oid, Action::Add, Side::Ask, px, 20, ts),
            &market,
            &mut out,
        );
        det.on_mbo(
            &mbo(
                2,
                oid + 1,
                Action::Add,
                Side::Bid,
                px - 500_000_000,
                20,
                ts + 1_000,
            ),
            &market,
            &mut out,
        );
        ts += 100_000_000;
        det.on_mbo(
            &mbo(2, 0, Action::Trade, Side::Bid, px, 20, ts),
            &market,
            &mut out,
        );
        det.on_mbo(
            &mbo(2, oid, Action::Fill, Side::Ask, px, 20, ts),
            &market,
            &mut out,
        );
        det.on_mbo(
            &mbo(2, oid, Action::Cancel, Side::Ask, px, 20, ts),
            &market,
            &mut out,
        );
        det.on_mbo(
            &mbo(
                2,
                oid + 1,
                Action::Cancel,
                Side::Bid,
                px - 500_000_000,
                20,
                ts,
            ),
            &market,
            &mut out,
        );
        ts += 20_000_000;
        oid += 2;
    }
    assert!(out.iter().all(|s| s.pattern != Pattern::Iceberg), "{out:?}");
}

/// An ask iceberg whose first order pairs with a bid added right after it (an order
/// posted just after a market maker's one-sided re-quote), then `rounds` one-sided
/// refills of 20 lots, each taken in full.
fn first_paired_rounds(cfg: DetectorConfig, rounds: u32) -> Vec<Signal> {
    let market = TestMarket::nq_chain(3);
    let mut det = PatternDetector::new(cfg).unwrap();
    let mut out = Vec::new();
    let px = 12_500_000_000;
    let mut ts = T0;
    let mut oid = 5_000;
    det.on_mbo(
        &mbo(2, 900, Action::Add, Side::Bid, px - 500_000_000, 20, ts),
        &market,
        &mut out,
    );
    det.on_mbo(
        &mbo(2, oid, Action::Add, Side::Ask, px, 20, ts + 1_000),
        &market,
        &mut out,
    );
    for _ in 0..rounds {
        take_and_refill(&mut det, &market, &mut out, (&mut ts, &mut oid), px, 20);
    }
    out.retain(|s| s.pattern == Pattern::Iceberg);
    out
}

#[test]
fn a_persistent_one_sided_iceberg_is_not_market_making_for_its_first_pair() {
    let defaults = DetectorConfig::default;
    // Three one-sided reloads (60 lots): the first order's quote pair does not speak
    // for the chain, which is raised once.
    let out = first_paired_rounds(defaults(), 3);
    assert_eq!(out.len(), 1, "{out:?}");
    assert!(out[0].evidence.mm_likelihood < 0.5);
    // Two reloads are too few.
    assert!(first_paired_rounds(defaults(), 2).is_empty());
    // Judged by its first order's pair until five reloads (the former default), the
    // same three-reload chain is a market maker's quote (likelihood 0.6).
    let five = DetectorConfig {
        iceberg_persistent_reloads: 5,
        ..defaults()
    };
    assert!(first_paired_rounds(five.clone(), 3).is_empty());
    // Six rounds, five one-sided reloads: an order working size, raised once.
    let out = first_paired_rounds(five, 6);
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].side, FlowSide::Sell);
    assert!(out[0].evidence.mm_likelihood < 0.5);
    assert!(out[0].size >= 100);
    // Refills that are each paired with a bid stay market making however many there
    // are (`iceberg_ignores_two_sided_market_maker_quotes`).
}

/// An ask iceberg of 20-lot orders at 12.50 on instrument 2: a first order and
/// `rounds` refills, each taken in full; the orders whose index (0 the first) is in
/// `paired` are added 1 µs after a fresh 20-lot bid, so they pair with it by the clock.
fn clock_paired_rounds(rounds: u32, paired: &[u32]) -> Vec<Signal> {
    let market = TestMarket::nq_chain(3);
    let mut det = detector();
    let mut out = Vec::new();
    let px = 12_500_000_000;
    let bid_px = px - 500_000_000;
    let (mut ts, mut oid, mut bid_oid) = (T0, 5_000, 900);
    for k in 0..=rounds {
        if k > 0 {
            ts += 100_000_000;
            for (id, action, side) in [
                (0, Action::Trade, Side::Bid),
                (oid, Action::Fill, Side::Ask),
                (oid, Action::Cancel, Side::Ask),
            ] {
                det.on_mbo(&mbo(2, id, action, side, px, 20, ts), &market, &mut out);
            }
            ts += 20_000_000;
            oid += 1;
        }
        if paired.contains(&k) {
            bid_oid += 1;
            det.on_mbo(
                &mbo(2, bid_oid, Action::Add, Side::Bid, bid_px, 20, ts),
                &market,
                &mut out,
            );
        }
        det.on_mbo(
            &mbo(2, oid, Action::Add, Side::Ask, px, 20, ts + 1_000),
            &market,
            &mut out,
        );
    }
    out.retain(|s| s.pattern == Pattern::Iceberg);
    out
}

#[test]
fn a_persistent_chain_with_one_order_in_three_paired_is_an_iceberg() {
    // Seven orders (six refills), the first and the second paired by the clock: one
    // in three and a half, an order working size, raised once.
    let out = clock_paired_rounds(6, &[0, 1]);
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].side, FlowSide::Sell);
    assert!(out[0].evidence.mm_likelihood < 0.5);
    // The same chain with a third paired order (three in seven) stays market making.
    assert!(clock_paired_rounds(6, &[0, 1, 3]).is_empty());
    // With every order paired, however many reloads, nothing is raised.
    assert!(clock_paired_rounds(8, &[0, 1, 2, 3, 4, 5, 6, 7, 8]).is_empty());
}

/// An ask chain on instrument 2 at 25.00: a first order of `lot` lots (paired with a
/// bid added right before it when `paired_first`), then `rounds` rounds of a fill of
/// the whole order and a one-sided refill of the same size. The iceberg signals only.
fn small_chain(cfg: DetectorConfig, lot: u32, rounds: u32, paired_first: bool) -> Vec<Signal> {
    let market = TestMarket::nq_chain(3);
    let mut det = PatternDetector::new(cfg).unwrap();
    let mut out = Vec::new();
    let px = 25_000_000_000;
    let (mut ts, mut oid) = (T0, 5_000);
    if paired_first {
        det.on_mbo(
            &mbo(2, 900, Action::Add, Side::Bid, px - 500_000_000, lot, ts),
            &market,
            &mut out,
        );
    }
    det.on_mbo(
        &mbo(2, oid, Action::Add, Side::Ask, px, lot, ts + 1_000),
        &market,
        &mut out,
    );
    for _ in 0..rounds {
        take_and_refill(&mut det, &market, &mut out, (&mut ts, &mut oid), px, lot);
    }
    out.retain(|s| s.pattern == Pattern::Iceberg);
    out
}

#[test]
fn a_one_sided_chain_is_an_iceberg_from_the_smaller_floor() {
    let defaults = DetectorConfig::default;
    // Four one-sided reloads of 10 lots: 40 filled, under the 50-lot floor but over
    // the one-sided one (25), so it is raised.
    let out = small_chain(defaults(), 10, 4, false);
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].side, FlowSide::Sell);
    assert!((25..50).contains(&out[0].size), "{out:?}");
    // With the one-sided floor at the general one, the same records are not.
    let same_floor = DetectorConfig {
        iceberg_min_filled_one_sided: 50,
        ..defaults()
    };
    assert!(small_chain(same_floor, 10, 4, false).is_empty());
    // A one-sided floor above the general one is held to the general one.
    let above = DetectorConfig {
        iceberg_min_filled_one_sided: 500,
        ..defaults()
    };
    assert_eq!(small_chain(above, 10, 6, false).len(), 1);
    // Two reloads are too few whatever the size.
    assert!(small_chain(defaults(), 10, 2, false).is_empty());
    assert!(small_chain(defaults(), 40, 2, false).is_empty());
    // A chain whose first order was a side of a quote pair keeps the 50-lot floor,
    // even where market making is not ignored: 40 lots are not raised, 60 are.
    let mm_kept = DetectorConfig {
        mm_ignore_above: 1.0,
        ..defaults()
    };
    assert!(small_chain(mm_kept.clone(), 10, 4, true).is_empty());
    assert_eq!(small_chain(mm_kept, 10, 6, true).len(), 1);
}

/// Buy clips on instrument 2 from `t0`: four of 5 lots and one sell of 2 each minute
/// for ten minutes (an accumulation of buys).
fn buy_clips(t0: u64) -> Vec<ifd_pressure::AggressorEvent> {
    let mut evs = Vec::new();
    for minute in 0..10u64 {
        for k in 0..4u64 {
            evs.push(event(
                2,
                AggressorSide::Buy,
                5,
                1,
                t0 + minute * 60 * SEC + k * 10 * SEC,
            ));
        }
        evs.push(event(
            2,
            AggressorSide::Sell,
            2,
            1,
            t0 + minute * 60 * SEC + 45 * SEC,
        ));
    }
    evs
}

#[test]
fn an_iceberg_and_its_counterparties_are_read_once() {
    let market = TestMarket::nq_chain(3);
    let patterns = |cfg: DetectorConfig, iceberg_first: bool| {
        let mut det = PatternDetector::new(cfg).unwrap();
        let mut out = Vec::new();
        let clips = buy_clips(T0 + SEC);
        if iceberg_first {
            // A selling iceberg at T0, then buyers lifting offers for ten minutes.
            out.extend(refill_rounds_at(&mut det, &market, 12_500_000_000, T0));
            out.extend(run_events(&mut det, &market, &clips));
        } else {
            // Buyers lifting offers for ten minutes, then an offer refilled at one
            // price as they go on (the market maker's refills).
            out.extend(run_events(&mut det, &market, &clips));
            out.extend(refill_rounds_at(
                &mut det,
                &market,
                12_500_000_000,
                T0 + 11 * 60 * SEC,
            ));
        }
        let mut kinds: Vec<Pattern> = out.iter().map(|s| s.pattern).collect();
        kinds.dedup();
        (kinds, det.stats().counterparty)
    };
    let off = || DetectorConfig {
        counterparty_grace_ns: 0,
        ..DetectorConfig::default()
    };
    // Without the rule both readings are raised, with opposite directions.
    assert_eq!(
        patterns(off(), true).0,
        [Pattern::Iceberg, Pattern::Accumulation]
    );
    assert_eq!(
        patterns(off(), false).0,
        [Pattern::Accumulation, Pattern::Iceberg]
    );
    // With it the flow seen first is kept and the other side's reading counted.
    let (kinds, dropped) = patterns(DetectorConfig::default(), true);
    assert_eq!(kinds, [Pattern::Iceberg]);
    assert!(dropped >= 1);
    let (kinds, dropped) = patterns(DetectorConfig::default(), false);
    assert_eq!(kinds, [Pattern::Accumulation]);
    assert!(dropped >= 1);
}

#[test]
fn an_iceberg_is_stronger_the_more_it_filled_past_its_floor() {
    let defaults = DetectorConfig::default;
    // Three reloads of 9 lots (27 filled, just past the one-sided floor of 25) pass
    // the default confidence threshold, at about the strength of three reloads.
    let small = small_chain(defaults(), 9, 3, false);
    assert_eq!(small.len(), 1, "{small:?}");
    // A threshold above the score of a chain at its gates holds that chain back...
    let strict = DetectorConfig {
        min_confidence: 0.6,
        ..defaults()
    };
    assert!(small_chain(strict.clone(), 9, 3, false).is_empty());
    // ...but not three reloads of 40 lots (120 filled, nearly five times the floor),
    // which carry more evidence than their reload count.
    let large = small_chain(strict.clone(), 40, 3, false);
    assert_eq!(large.len(), 1, "{large:?}");
    assert!(large[0].confidence > small[0].confidence);
    // The size evidence counts against the general 50-lot floor, not the one-sided
    // one: three reloads of 15 lots (45 filled, past 25 but under 50) carry no more
    // than their reload count, as a market maker's refills of its quote would.
    assert!(small_chain(strict, 15, 3, false).is_empty());
}

#[test]
fn v1_fires_on_volume_against_open_interest_or_history() {
    let market = TestMarket::nq_chain(3);
    let mut v1 = VolumeSpikeDetector::new(V1Config::default());
    let mut out = Vec::new();
    // Three quiet windows, then a spike.
    for w in 0..3u64 {
        v1.on_event(
            &event(1, AggressorSide::Buy, 20, 1, T0 + w * 300 * SEC),
            &market,
            &NoReference,
            &mut out,
        );
    }
    assert!(out.is_empty());
    for k in 0..6u64 {
        v1.on_event(
            &event(1, AggressorSide::Sell, 120, 1, T0 + 900 * SEC + k * SEC),
            &market,
            &NoReference,
            &mut out,
        );
    }
    assert_eq!(out.len(), 1, "one signal per window: {out:?}");
    let s = &out[0];
    assert_eq!(s.detector, DetectorVersion::V1);
    assert_eq!(s.pattern, Pattern::VolumeSpike);
    assert_eq!(s.side, FlowSide::Sell);
    assert!(s.size >= 100);
    let json: serde_json::Value = serde_json::from_str(&s.to_json_line().unwrap()).unwrap();
    assert_eq!(json["detector"], "v1");
    assert_eq!(json["pattern"], "volume_spike");
}

#[test]
fn json_form_has_every_documented_field() {
    let market = TestMarket::nq_chain(3);
    let mut det = detector();
    let out = run_events(
        &mut det,
        &market,
        &[event(5, AggressorSide::Buy, 400, 1, T0)],
    );
    let v: serde_json::Value = serde_json::from_str(&out[0].to_json_line().unwrap()).unwrap();
    for field in [
        "ts_recv",
        "ts_event",
        "instrument_id",
        "instruments",
        "raw_symbol",
        "underlying",
        "expiration",
        "strike",
        "kind",
        "pattern",
        "side",
        "direction",
        "size",
        "premium",
        "confidence",
        "p_value",
        "q_value",
        "detector",
        "evidence",
        "underlying_price",
        "underlying_source",
        "iv",
        "delta",
        "delta_notional",
        "vega_notional",
        "aggressiveness",
        "opening",
        "structure",
        "legs",
        "net_delta_notional",
    ] {
        assert!(v.get(field).is_some(), "missing {field} in {v}");
    }
    assert_eq!(v["kind"], "C");
    assert_eq!(v["strike"], "20950");
    assert_eq!(v["premium"], "80000");
    assert_eq!(v["expiration"], "2026-12-20");
    assert!(v["ts_recv"].is_u64());
    assert!(v["evidence"].is_object());
}

#[test]
fn invalid_config_is_rejected() {
    let cfg = DetectorConfig {
        min_confidence: f64::NAN,
        ..DetectorConfig::default()
    };
    assert!(PatternDetector::new(cfg).is_err());
    let cfg = DetectorConfig {
        sweep_min_levels: 1,
        ..DetectorConfig::default()
    };
    assert!(PatternDetector::new(cfg).is_err());
    let mut det = detector();
    assert!(!det.set_min_confidence(f64::INFINITY));
    assert!(det.set_min_confidence(0.7));
    assert!((det.config().min_confidence - 0.7).abs() < 1e-12);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn any_sequence_gives_finite_scores_and_replays_identically(evs in event_sequence(12, 300)) {
        let market = TestMarket::nq_chain(6);
        let run = || {
            let mut det = detector();
            let mut v1 = VolumeSpikeDetector::new(V1Config { min_volume: 50, min_premium: 0.into(), ..V1Config::default() });
            let mut out = Vec::new();
            for ev in &evs {
                det.on_event(ev, &market, &FixedReference(0.001), &mut out);
                v1.on_event(ev, &market, &NoReference, &mut out);
            }
            det.flush(&market, &FixedReference(0.001), &mut out);
            out
        };
        let a = run();
        let b = run();
        for s in &a {
            prop_assert!(s.confidence.is_finite() && (0.0..=1.0).contains(&s.confidence));
            prop_assert!(s.p_value.is_none_or(|p| p.is_finite()));
            prop_assert!(s.q_value.is_none_or(|q| q.is_finite()));
            prop_assert!(market.contract(s.instrument_id).is_some());
        }
        let ja: Vec<String> = a.iter().map(|s| s.to_json_line().unwrap()).collect();
        let jb: Vec<String> = b.iter().map(|s| s.to_json_line().unwrap()).collect();
        prop_assert_eq!(ja, jb);
    }
}

#[test]
fn iceberg_waits_for_a_depth_ready_book() {
    // The book started mid-session and never warms up within the rounds: no iceberg.
    let mut market = TestMarket::nq_chain(3);
    market.partial_until.push((2, T0 + 3_600 * SEC));
    let mut det = detector();
    let out = refill_rounds(&mut det, &market, 12_500_000_000);
    assert!(out.is_empty(), "{out:?}");
    assert!(det.stats().depth_not_ready > 0);

    // It warms up during the rounds: the iceberg is raised once the book is ready, from
    // the chain tracked all along.
    let mut market = TestMarket::nq_chain(3);
    market.partial_until.push((2, T0 + 450_000_000));
    let mut det = detector();
    let out = refill_rounds(&mut det, &market, 12_500_000_000);
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].pattern, Pattern::Iceberg);
    assert!(out[0].ts_recv >= T0 + 450_000_000);
    assert!(det.stats().depth_not_ready > 0);

    // Another instrument's partial book does not hold it back.
    let mut market = TestMarket::nq_chain(3);
    market.partial_until.push((3, u64::MAX));
    let mut det = detector();
    assert_eq!(refill_rounds(&mut det, &market, 12_500_000_000).len(), 1);
    assert_eq!(det.stats().depth_not_ready, 0);
}

#[test]
fn print_detectors_run_at_once_on_a_partial_book() {
    let mut market = TestMarket::nq_chain(5);
    market.partial_until.push((4, u64::MAX));
    assert!(!market.is_depth_ready(4, T0));
    let mut det = detector();
    let mut evs: Vec<_> = (0..30)
        .map(|i| event(3, AggressorSide::Buy, 8, 1, T0 + i * SEC))
        .collect();
    evs.push(event(4, AggressorSide::Buy, 300, 1, T0 + 40 * SEC));
    let out = run_events(&mut det, &market, &evs);
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].pattern, Pattern::Block);
    assert_eq!(out[0].instrument_id, 4);
    // The event on the partial book was scored without the resting-quote term.
    assert_eq!(det.stats().mm_without_resting, 1);
}

#[test]
fn signals_carry_analytics_of_the_print() {
    let market = TestMarket::nq_chain(5);
    let mut det = detector();
    // Instrument 4: the 20925 put, out of the money with the underlying at 21000.
    let out = run_events(
        &mut det,
        &market,
        &[event(4, AggressorSide::Buy, 300, 1, T0)],
    );
    assert_eq!(out.len(), 1, "{out:?}");
    let s = &out[0];
    assert_eq!(s.underlying_price.unwrap().to_string(), "21000");
    assert_eq!(s.underlying_source, Some(ifd_patterns::PriceSource::Caller));
    let (iv, delta) = (s.iv.unwrap(), s.delta.unwrap());
    assert!(iv > 0.0 && iv.is_finite());
    assert!(delta < 0.0 && delta > -1.0, "a put: {delta}");
    // Bought put: negative delta notional, delta × size × 20 × 21000.
    let dn: f64 = s.delta_notional.unwrap().to_string().parse().unwrap();
    assert!((dn - delta * 300.0 * 20.0 * 21_000.0).abs() < 1.0, "{dn}");
    assert!(s.vega_notional.unwrap() > rust_decimal::Decimal::ZERO);
    assert_eq!(s.opening, None, "no open interest known");
    assert_eq!(s.structure, None);
    let v: serde_json::Value = serde_json::from_str(&s.to_json_line().unwrap()).unwrap();
    assert_eq!(v["underlying_source"], "caller");
    assert_eq!(v["underlying_price"], "21000");
    assert!(v["structure"].is_null() && v["legs"].is_null() && v["net_delta_notional"].is_null());
}

#[test]
fn aggressiveness_reads_the_book_before_the_print() {
    use ifd_patterns::Aggressiveness;
    use ifd_pressure::{Bbo, Level};
    let market = TestMarket::nq_chain(5);
    let mut det = detector();
    let mut ev = event(4, AggressorSide::Buy, 300, 1, T0);
    // Book 9.50 / 9.75 before the print at 10.00: the buyer paid above the ask.
    ev.bbo_before = Bbo {
        bid: Some(Level {
            price: 9_500_000_000,
            size: 10,
            count: 1,
        }),
        ask: Some(Level {
            price: 9_750_000_000,
            size: 10,
            count: 1,
        }),
    };
    let out = run_events(&mut det, &market, &[ev]);
    assert_eq!(out[0].aggressiveness, Some(Aggressiveness::AboveAsk));
    let v: serde_json::Value = serde_json::from_str(&out[0].to_json_line().unwrap()).unwrap();
    assert_eq!(v["aggressiveness"], "above_ask");
}

#[test]
fn cheap_wing_lots_are_not_a_block() {
    let mut market = TestMarket::nq_chain(5);
    // A 15000 put, 6000 points out of the money.
    let mut wing = market.contracts[1].clone();
    wing.instrument_id = 99;
    wing.strike = 15_000 * 1_000_000_000;
    wing.raw_symbol = "NQZ6 P15000".into();
    market.contracts.push(wing);
    let lottery = |iid, px: i64| {
        let mut ev = event(iid, AggressorSide::Buy, 500, 1, T0);
        ev.vwap_px = px;
        ev.first_px = px;
        ev.last_px = px;
        // 500 × price × 20
        ev.premium = rust_decimal::Decimal::from(500 * 20) * ifd_patterns::fixed_to_decimal(px);
        ev
    };
    // 500 lots at 0.10: 1,000 USD of premium, a delta of about -0.02 or less.
    let mut det = detector();
    let out = run_events(&mut det, &market, &[lottery(99, 100_000_000)]);
    assert!(out.is_empty(), "{out:?}");
    assert_eq!(det.stats().small_risk, 1);
    // The same 500 lots at 10.00 on a near-the-money put is a block.
    let mut det = detector();
    let out = run_events(&mut det, &market, &[lottery(4, 10_000_000_000)]);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].pattern, Pattern::Block);
    assert_eq!(det.stats().small_risk, 0);
}

#[test]
fn a_vertical_is_one_neutral_package_not_two_blocks() {
    let market = TestMarket::nq_chain(5);
    // Buy 200 of the 20900 call, sell 200 of the 20925 call, 1 ms apart.
    let legs = [
        event(1, AggressorSide::Buy, 200, 1, T0),
        event(3, AggressorSide::Sell, 200, 1, T0 + 1_000_000),
    ];
    let mut det = detector();
    let mut out = Vec::new();
    for ev in &legs {
        det.on_event(ev, &market, &NoReference, &mut out);
    }
    assert!(out.is_empty(), "held back for the package window");
    assert_eq!(det.held_events(), 2);
    // The stream's time passes the window: the package is released.
    det.advance(T0 + 50_000_000, &market, &NoReference, &mut out);
    assert_eq!(det.held_events(), 0);
    assert_eq!(out.len(), 1, "{out:?}");
    let s = &out[0];
    assert_eq!(s.pattern, Pattern::Package);
    assert_eq!(s.structure, Some(ifd_patterns::Structure::Vertical));
    assert_eq!(s.size, 400);
    assert_eq!(s.instruments, vec![1, 3]);
    let legs_out = s.legs.as_ref().unwrap();
    assert_eq!(legs_out.len(), 2);
    assert_eq!(legs_out[0].side, FlowSide::Buy);
    assert_eq!(legs_out[1].side, FlowSide::Sell);
    assert_eq!(legs_out[1].price.unwrap().to_string(), "10");
    assert_eq!(det.stats().packages, 1);
    assert_eq!(det.stats().package_events, 2);
    // Both calls priced below intrinsic here: no delta, so no material net delta.
    assert_eq!(s.direction, Direction::Neutral);
    let v: serde_json::Value = serde_json::from_str(&s.to_json_line().unwrap()).unwrap();
    assert_eq!(v["pattern"], "package");
    assert_eq!(v["direction"], "neutral");
    assert_eq!(v["structure"], "vertical");
    assert_eq!(v["legs"][0]["instrument_id"], 1);

    // Without the package window the legs are two directional blocks.
    let mut det = PatternDetector::new(DetectorConfig {
        package_window_ns: 0,
        ..DetectorConfig::default()
    })
    .unwrap();
    let out = run_events(&mut det, &market, &legs);
    assert_eq!(out.len(), 2, "{out:?}");
    assert!(out.iter().all(|s| s.pattern == Pattern::Block));
}

#[test]
fn a_material_package_takes_the_direction_of_its_net_delta() {
    // With the future's own feed (the hedge legs would be visible).
    let market = TestMarket {
        underlying_source: UnderlyingSource::Future,
        ..TestMarket::nq_chain(5)
    };
    // A risk reversal: buy the 21000 call (id 9), sell the 20900 put (id 2), both out
    // of the money around 21000... the call at the money, the put below it.
    let legs = [
        event(9, AggressorSide::Buy, 300, 1, T0),
        event(2, AggressorSide::Sell, 300, 1, T0 + 500_000),
    ];
    let out = run_events(&mut detector(), &market, &legs);
    assert_eq!(out.len(), 1, "{out:?}");
    let s = &out[0];
    assert_eq!(s.structure, Some(ifd_patterns::Structure::RiskReversal));
    let net: f64 = s.net_delta_notional.unwrap().to_string().parse().unwrap();
    assert!(net > 10_000_000.0, "long call, short put: {net}");
    assert_eq!(s.direction, Direction::Bullish);
    // A material threshold above it makes the same package neutral.
    let mut det = PatternDetector::new(DetectorConfig {
        package_material_delta_notional: net + 1.0,
        ..DetectorConfig::default()
    })
    .unwrap();
    let out = run_events(&mut det, &market, &legs);
    assert_eq!(out[0].direction, Direction::Neutral);
}

#[test]
fn on_the_options_feed_alone_a_package_is_neutral() {
    // The same risk reversal with the underlying from parity (no future feed): its
    // delta hedge, if any, cannot be seen, so it is neutral with its net delta shown.
    let legs = [
        event(9, AggressorSide::Buy, 300, 1, T0),
        event(2, AggressorSide::Sell, 300, 1, T0 + 500_000),
    ];
    for source in [UnderlyingSource::Parity, UnderlyingSource::Caller] {
        let market = TestMarket {
            underlying_source: source,
            ..TestMarket::nq_chain(5)
        };
        let out = run_events(&mut detector(), &market, &legs);
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0].pattern, Pattern::Package);
        assert_eq!(out[0].direction, Direction::Neutral, "{source:?}");
        let net: f64 = out[0]
            .net_delta_notional
            .unwrap()
            .to_string()
            .parse()
            .unwrap();
        assert!(net > 10_000_000.0, "{net}");
        // Turning the rule off applies the materiality test whatever the source.
        let mut det = PatternDetector::new(DetectorConfig {
            package_direction_needs_future: false,
            ..DetectorConfig::default()
        })
        .unwrap();
        assert_eq!(
            run_events(&mut det, &market, &legs)[0].direction,
            Direction::Bullish
        );
    }
}

#[test]
fn prints_outside_the_window_are_not_a_package() {
    let market = TestMarket::nq_chain(5);
    let legs = [
        event(1, AggressorSide::Buy, 200, 1, T0),
        event(3, AggressorSide::Sell, 200, 1, T0 + 50_000_000),
    ];
    let mut det = detector();
    let out = run_events(&mut det, &market, &legs);
    assert_eq!(det.stats().packages, 0);
    assert!(out.iter().all(|s| s.pattern == Pattern::Block), "{out:?}");
    assert_eq!(out.len(), 2);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Splitting the stream's time signal anywhere (advance calls between events)
    /// gives the same signals as one flush at the end.
    #[test]
    fn hold_back_is_deterministic_under_advance(evs in event_sequence(10, 200), cut in 0usize..200) {
        let market = TestMarket::nq_chain(5);
        let run = |advance: bool| {
            let mut det = detector();
            let mut out = Vec::new();
            for (i, ev) in evs.iter().enumerate() {
                det.on_event(ev, &market, &NoReference, &mut out);
                if advance && i >= cut {
                    // The stream's time may reach the next event's before it arrives.
                    let now = evs.get(i + 1).map_or(ev.ts_recv, |n| n.ts_recv);
                    det.advance(now, &market, &NoReference, &mut out);
                }
            }
            det.flush(&market, &NoReference, &mut out);
            out.iter().map(|s| s.to_json_line().unwrap()).collect::<Vec<_>>()
        };
        prop_assert_eq!(run(false), run(true));
    }
}

#[test]
fn a_dealer_cross_is_not_a_block() {
    use ifd_patterns::testing::with_passive;
    use ifd_pressure::{Bbo, Level};
    const PX: i64 = 1_000_000_000;
    let market = TestMarket::nq_chain(5);
    // Instrument 4 quoted 9.50 / 10.50; a 300-lot ask is posted inside at 10.00 and
    // taken in full `life` ns later by one buyer; with `requote`, both sides quote
    // again 1 ms after.
    let run = |requote: bool, life: u64| {
        let mut det = detector();
        let mut out = Vec::new();
        let t = T0;
        let recs = [
            mbo(4, 1, Action::Add, Side::Bid, 19 * PX / 2, 20, t),
            mbo(4, 2, Action::Add, Side::Ask, 21 * PX / 2, 20, t + 100),
            mbo(4, 9, Action::Add, Side::Ask, 10 * PX, 300, t + 5 * SEC),
            mbo(
                4,
                77,
                Action::Trade,
                Side::Bid,
                10 * PX,
                300,
                t + 5 * SEC + life,
            ),
            mbo(
                4,
                9,
                Action::Fill,
                Side::Ask,
                10 * PX,
                300,
                t + 5 * SEC + life,
            ),
            mbo(
                4,
                9,
                Action::Cancel,
                Side::Ask,
                10 * PX,
                300,
                t + 5 * SEC + life,
            ),
        ];
        for r in &recs {
            det.on_mbo(r, &market, &mut out);
        }
        let mut ev = with_passive(
            event(4, AggressorSide::Buy, 300, 1, t + 5 * SEC + life),
            &[(9, 300)],
        );
        ev.bbo_before = Bbo {
            bid: Some(Level {
                price: 19 * PX / 2,
                size: 20,
                count: 1,
            }),
            ask: Some(Level {
                price: 10 * PX,
                size: 300,
                count: 1,
            }),
        };
        det.on_event(&ev, &market, &NoReference, &mut out);
        if requote {
            let ts = t + 5 * SEC + life + 1_000_000;
            det.on_mbo(
                &mbo(4, 20, Action::Add, Side::Bid, 19 * PX / 2, 20, ts),
                &market,
                &mut out,
            );
            det.on_mbo(
                &mbo(4, 21, Action::Add, Side::Ask, 21 * PX / 2, 20, ts + 100),
                &market,
                &mut out,
            );
        }
        det.advance(t + 6 * SEC, &market, &NoReference, &mut out);
        (out, det.stats())
    };
    // Taken 2 ms after it was posted: a cross, re-quoted or not (`cross_fast_life_ns`).
    for requote in [true, false] {
        let (out, stats) = run(requote, 2_000_000);
        assert!(out.is_empty(), "{out:?}");
        assert_eq!(stats.dealer_cross, 1);
    }
    // Taken 20 ms after: a cross only with the two-sided re-quote (`cross_max_life_ns`).
    let (out, stats) = run(true, 20_000_000);
    assert!(out.is_empty(), "{out:?}");
    assert_eq!(stats.dealer_cross, 1);
    let (out, stats) = run(false, 20_000_000);
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].pattern, Pattern::Block);
    assert_eq!(stats.dealer_cross, 0);
}

#[test]
fn a_dealer_cross_joining_the_touch_is_not_a_block() {
    use ifd_patterns::testing::with_passive;
    use ifd_pressure::{Bbo, Level};
    const PX: i64 = 1_000_000_000;
    let market = TestMarket::nq_chain(5);
    // Instrument 4 quoted 9.75 / 10.00, one tick wide, `ahead` lots offered; a dealer
    // joins the offer with `posted` lots and a buyer takes the whole level `life` ns
    // later (no re-quote follows).
    let run = |posted: u32, ahead: u32, life: u64| {
        let mut det = detector();
        let mut out = Vec::new();
        let t = T0;
        let ts = t + 5 * SEC + life;
        let take = posted + ahead;
        let recs = [
            mbo(4, 1, Action::Add, Side::Bid, 39 * PX / 4, 20, t),
            mbo(4, 2, Action::Add, Side::Ask, 10 * PX, ahead, t + 100),
            mbo(4, 9, Action::Add, Side::Ask, 10 * PX, posted, t + 5 * SEC),
            mbo(4, 77, Action::Trade, Side::Bid, 10 * PX, take, ts),
            mbo(4, 2, Action::Fill, Side::Ask, 10 * PX, ahead, ts),
            mbo(4, 9, Action::Fill, Side::Ask, 10 * PX, posted, ts),
            mbo(4, 2, Action::Cancel, Side::Ask, 10 * PX, ahead, ts),
            mbo(4, 9, Action::Cancel, Side::Ask, 10 * PX, posted, ts),
        ];
        for r in &recs {
            det.on_mbo(r, &market, &mut out);
        }
        let mut ev = with_passive(
            event(4, AggressorSide::Buy, u64::from(take), 1, ts),
            &[(2, ahead), (9, posted)],
        );
        ev.bbo_before = Bbo {
            bid: Some(Level {
                price: 39 * PX / 4,
                size: 20,
                count: 1,
            }),
            ask: Some(Level {
                price: 10 * PX,
                size: u64::from(take),
                count: 2,
            }),
        };
        det.on_event(&ev, &market, &NoReference, &mut out);
        det.advance(t + 6 * SEC, &market, &NoReference, &mut out);
        (out, det.stats())
    };
    // Posted 8 ms before and taken with the 10 lots ahead of it: a cross.
    let (out, stats) = run(290, 10, 8_000_000);
    assert!(out.is_empty(), "{out:?}");
    assert_eq!(stats.dealer_cross, 1);
    // Resting 30 ms first, with no re-quote after: someone came for it, a block.
    let (out, stats) = run(290, 10, 30_000_000);
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].pattern, Pattern::Block);
    assert_eq!(stats.dealer_cross, 0);
    // The fresh order was a third of the print: most of the level was there before it.
    let (out, stats) = run(100, 200, 8_000_000);
    assert_eq!(stats.dealer_cross, 0, "{out:?}");
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].pattern, Pattern::Block);
}

#[test]
fn a_spread_instrument_trade_is_one_package_and_its_leg_prints_are_not_blocks() {
    use ifd_patterns::{SpreadLegDef, Structure};
    let mut market = TestMarket::nq_chain(5);
    // Spread 500: buy the 20900 call (1), sell the 20950 call (5), 1:1.
    market.spreads.push((
        500,
        vec![
            SpreadLegDef {
                instrument_id: 1,
                ratio: 1,
                buy: true,
            },
            SpreadLegDef {
                instrument_id: 5,
                ratio: 1,
                buy: false,
            },
        ],
    ));
    let mut spread = event(500, AggressorSide::Sell, 200, 1, T0);
    spread.vwap_px = 3_000_000_000;
    // The seller of the spread sells leg 1 and buys leg 5; the legs print 1 ms later
    // with sides that alone would be two blocks.
    let evs = [
        spread,
        event(1, AggressorSide::Sell, 200, 1, T0 + 1_000_000),
        event(5, AggressorSide::Buy, 200, 1, T0 + 1_000_000),
    ];
    let mut det = detector();
    let out = run_events(&mut det, &market, &evs);
    assert_eq!(out.len(), 1, "{out:?}");
    let s = &out[0];
    assert_eq!(s.pattern, Pattern::Package);
    assert_eq!(s.structure, Some(Structure::SpreadInstrument));
    let legs = s.legs.as_ref().unwrap();
    assert_eq!(legs.len(), 2);
    assert_eq!(
        (legs[0].instrument_id, legs[0].side, legs[0].size),
        (1, FlowSide::Sell, 200)
    );
    assert_eq!(
        (legs[1].instrument_id, legs[1].side, legs[1].size),
        (5, FlowSide::Buy, 200)
    );
    assert_eq!(legs[0].price, None, "the leg printed after the spread");
    // 3.00 × 200 × 20
    assert_eq!(s.premium.to_string(), "12000");
    assert_eq!(det.stats().package_events, 3);

    // A spread on an unknown leg is counted, not signalled.
    let mut market = TestMarket::nq_chain(5);
    market.spreads.push((
        501,
        vec![SpreadLegDef {
            instrument_id: 77,
            ratio: 1,
            buy: true,
        }],
    ));
    let mut det = detector();
    assert!(run_events(
        &mut det,
        &market,
        &[event(501, AggressorSide::Buy, 50, 1, T0)]
    )
    .is_empty());
    assert_eq!(det.stats().unknown_instrument, 1);
}

#[test]
fn opening_compares_the_size_with_open_interest() {
    let mut market = TestMarket::nq_chain(5);
    market.open_interest = vec![(4, 250), (6, 1_000)];
    let out = run_events(
        &mut detector(),
        &market,
        &[
            event(4, AggressorSide::Buy, 300, 1, T0),
            event(6, AggressorSide::Buy, 300, 1, T0 + 10 * SEC),
            event(8, AggressorSide::Buy, 300, 1, T0 + 20 * SEC),
        ],
    );
    let opening: Vec<(u32, Option<bool>)> =
        out.iter().map(|s| (s.instrument_id, s.opening)).collect();
    assert_eq!(opening, vec![(4, Some(true)), (6, Some(false)), (8, None)]);
}

/// A two-leg structure planted at `ts`: (instrument a, side a, instrument b, side b, size).
fn planted_pairs() -> impl Strategy<Value = Vec<(u32, bool, u32, bool, u64)>> {
    // Calls odd, puts even; 5 strikes. Pairs that form a structure in TestMarket:
    // vertical (calls, opposite sides), straddle (call+put same strike, same side),
    // synthetic (call+put same strike, opposite sides).
    let pair = (0u32..5, 0u32..5, 0u8..3, any::<bool>(), 150u64..600).prop_filter_map(
        "distinct strikes for a vertical",
        |(i, j, kind, buy, size)| {
            let call = |k: u32| 1 + 2 * k;
            let put = |k: u32| 2 + 2 * k;
            match kind {
                0 if i != j => Some((call(i), buy, call(j), !buy, size)),
                1 => Some((call(i), buy, put(i), buy, size)),
                2 => Some((call(i), buy, put(i), !buy, size)),
                _ => None,
            }
        },
    );
    proptest::collection::vec(pair, 1..6)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Planted packages amid random background flow: each becomes one package signal
    /// and none of its legs is signalled as a block, sweep or cross-strike.
    #[test]
    fn package_legs_are_never_directional_signals(
        background in event_sequence(10, 150),
        pairs in planted_pairs(),
        gap in 0u64..4_000_000,
    ) {
        let market = TestMarket::nq_chain(5);
        // Background in the first hour; packages after it, a minute apart.
        let start = 2 * 3_600 * SEC;
        let mut evs = background;
        let mut windows = Vec::new();
        for (n, &(a, buy_a, b, buy_b, size)) in pairs.iter().enumerate() {
            let ts = start + n as u64 * 60 * SEC;
            let side = |buy| if buy { AggressorSide::Buy } else { AggressorSide::Sell };
            evs.push(event(a, side(buy_a), size, 1, ts));
            evs.push(event(b, side(buy_b), size, 1, ts + gap));
            windows.push((ts, ts + gap));
        }
        let mut det = detector();
        let out = run_events(&mut det, &market, &evs);
        // Background prints of mixed sides within milliseconds may form `custom`
        // packages of their own; the planted ones come after `start`.
        let packages = out
            .iter()
            .filter(|s| s.pattern == Pattern::Package && s.ts_recv >= start)
            .count();
        prop_assert_eq!(packages, pairs.len());
        for s in &out {
            if s.pattern == Pattern::Package {
                prop_assert_eq!(s.legs.as_ref().map(Vec::len), Some(2));
                continue;
            }
            for &(lo, hi) in &windows {
                prop_assert!(
                    s.ts_recv < lo || s.ts_recv > hi,
                    "a leg was signalled as {:?}: {}", s.pattern, s.to_json_line().unwrap()
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Whatever the print's price and the underlying, signals carry finite analytics
    /// or nulls, with a delta inside its kind's bounds.
    #[test]
    fn analytics_on_signals_are_finite_or_null(
        evs in event_sequence(10, 120),
        prices in proptest::collection::vec(any::<i64>(), 120),
        underlying in proptest::option::of(prop_oneof![any::<i64>(), 15_000_000_000_000i64..25_000_000_000_000]),
    ) {
        let mut market = TestMarket::nq_chain(5);
        market.underlying = underlying;
        let evs: Vec<_> = evs
            .into_iter()
            .zip(prices)
            .map(|(mut e, p)| {
                e.vwap_px = p;
                e
            })
            .collect();
        let mut det = PatternDetector::new(DetectorConfig {
            block_min_premium: 0.into(),
            sweep_min_premium: 0.into(),
            ..DetectorConfig::default()
        })
        .unwrap();
        let out = run_events(&mut det, &market, &evs);
        for s in &out {
            prop_assert!(s.iv.is_none_or(|v| v.is_finite() && v > 0.0));
            if let Some(d) = s.delta {
                prop_assert!(d.is_finite());
                match s.kind {
                    ifd_patterns::ContractKind::Call => prop_assert!((0.0..=1.0).contains(&d)),
                    ifd_patterns::ContractKind::Put => prop_assert!((-1.0..=0.0).contains(&d)),
                }
            }
            prop_assert!(s.to_json_line().is_ok());
        }
    }
}

/// A baseline whose series was seen on `days` days and rates everything at `p`.
struct ShortHistory {
    p: f64,
    days: u16,
}

impl Reference for ShortHistory {
    fn assess(
        &self,
        _c: &OptionContract,
        _u: Option<i64>,
        _ts: u64,
        _m: ReferenceMetric,
        _v: f64,
    ) -> Option<Assessment> {
        Some(Assessment {
            p_value: self.p,
            z_score: 40.0,
            days: self.days,
            typical: 0.0,
        })
    }
}

#[test]
fn a_short_history_scores_but_does_not_gate() {
    let market = TestMarket::nq_chain(5);
    // A 40-lot sweep through four levels that a series of eight days rates at 1/7 (the
    // largest value of six windows).
    let sweeps = |reference: &ShortHistory| {
        let mut det = detector();
        let mut out = Vec::new();
        det.on_event(
            &event(1, AggressorSide::Sell, 40, 4, T0),
            &market,
            reference,
            &mut out,
        );
        det.flush(&market, reference, &mut out);
        (out, det.stats())
    };
    let (out, stats) = sweeps(&ShortHistory {
        p: 1.0 / 7.0,
        days: 8,
    });
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].pattern, Pattern::Sweep);
    assert_eq!(
        out[0].p_value,
        Some(1.0 / 7.0),
        "the p-value is still reported"
    );
    assert_eq!(stats.thin_history, 1);
    assert_eq!(stats.baseline_rejected, 0);
    // Ten days of history gate it.
    let (out, stats) = sweeps(&ShortHistory {
        p: 1.0 / 7.0,
        days: 10,
    });
    assert!(out.is_empty(), "{out:?}");
    assert_eq!(stats.baseline_rejected, 1);
    // A short history that rates it as ordinary still weighs in the confidence: the
    // sweep at its threshold does not pass the confidence gate then.
    let (weak, stats) = sweeps(&ShortHistory { p: 0.9, days: 8 });
    assert!(weak.is_empty(), "{weak:?}");
    assert_eq!(stats.low_confidence, 1);
    // The accumulation's volume test keeps its gate on a short history.
    let short = ShortHistory { p: 0.2, days: 5 };
    let mut det = detector();
    let mut out = Vec::new();
    for ev in &buy_clips(T0) {
        det.on_event(ev, &market, &short, &mut out);
    }
    det.flush(&market, &short, &mut out);
    assert!(
        !out.iter().any(|s| s.pattern == Pattern::Accumulation),
        "{out:?}"
    );
    assert!(det.stats().baseline_rejected > 0);
}
