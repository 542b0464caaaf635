//! Rules found on the perturbed worlds of `detection_quality --perturb` (issue 18):
//! lottery tickets, package windows and package sizes, and (round ood2) retail crowds
//! read as accumulations and market makers' top-ups read as icebergs.

use super::{detector, mbo, run_events, T0};
use dbn::{Action, Side};
use ifd_patterns::testing::{event, TestMarket};
use ifd_patterns::Signal;
use ifd_patterns::{DetectorConfig, Pattern, PatternDetector};
use ifd_pressure::AggressorSide;

/// An out-of-the-money call two days from expiry, 600 points above the 21,000
/// underlying.
fn with_far_wing() -> TestMarket {
    let mut market = TestMarket::nq_chain(5);
    let mut wing = market.contracts[0].clone();
    wing.instrument_id = 99;
    wing.strike = 21_600 * 1_000_000_000;
    wing.expiration = T0 + 2 * 86_400 * 1_000_000_000;
    wing.raw_symbol = "QN1Z6 C21600".into();
    market.contracts.push(wing);
    market
}

/// `size` lots bought at `px` (1e-9) on `iid`.
fn print(iid: u32, size: u64, px: i64) -> ifd_pressure::AggressorEvent {
    let mut ev = event(iid, AggressorSide::Buy, size, 1, T0);
    ev.vwap_px = px;
    ev.first_px = px;
    ev.last_px = px;
    ev.premium = rust_decimal::Decimal::from(size * 20) * ifd_patterns::fixed_to_decimal(px);
    ev
}

#[test]
fn a_thousand_lots_of_a_far_wing_are_a_lottery_ticket_not_a_block() {
    let market = with_far_wing();
    // 1,000 lots at 3.50: 70,000 USD of premium and a delta-adjusted notional far
    // above the block minimum by size alone, on a contract of a delta near 0.03.
    let lottery = print(99, 1_000, 3_500_000_000);
    let mut det = detector();
    let out = run_events(&mut det, &market, &[lottery]);
    assert!(out.is_empty(), "{out:?}");
    assert_eq!(det.stats().lottery, 1);
    // Without the delta floor the same print passes every other gate: a block.
    let mut det = PatternDetector::new(DetectorConfig {
        block_min_abs_delta: 0.0,
        ..DetectorConfig::default()
    })
    .unwrap();
    let out = run_events(&mut det, &market, &[lottery]);
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].pattern, Pattern::Block);
    let delta = out[0].delta.unwrap();
    assert!(delta.abs() < 0.08, "{delta}");
    assert_eq!(det.stats().lottery, 0);
    // A near-the-money block is still a block.
    let mut det = detector();
    let out = run_events(&mut det, &market, &[print(4, 500, 10_000_000_000)]);
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].pattern, Pattern::Block);
    assert_eq!(det.stats().lottery, 0);
}

#[test]
fn the_delta_floor_is_validated() {
    for bad in [-0.1, 1.5, f64::NAN] {
        let cfg = DetectorConfig {
            block_min_abs_delta: bad,
            ..DetectorConfig::default()
        };
        assert!(PatternDetector::new(cfg).is_err(), "{bad}");
    }
}

#[test]
fn a_butterfly_legged_twelve_ms_apart_is_one_package() {
    let market = TestMarket::nq_chain(5);
    // Buy 100 of the 20900 call, sell 200 of the 20950 call, buy 100 of the 21000 call,
    // 12 ms apart: 24 ms from the first leg to the last.
    let ms = 1_000_000;
    let legs = [
        event(1, AggressorSide::Buy, 100, 1, T0),
        event(5, AggressorSide::Sell, 200, 1, T0 + 12 * ms),
        event(9, AggressorSide::Buy, 100, 1, T0 + 24 * ms),
    ];
    let mut det = detector();
    let out = run_events(&mut det, &market, &legs);
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].pattern, Pattern::Package);
    assert_eq!(out[0].structure, Some(ifd_patterns::Structure::Butterfly));
    // With the former 10 ms window each leg was a directional block.
    let mut det = PatternDetector::new(DetectorConfig {
        package_window_ns: 10 * ms,
        ..DetectorConfig::default()
    })
    .unwrap();
    let out = run_events(&mut det, &market, &legs);
    assert!(out.iter().all(|s| s.pattern == Pattern::Block), "{out:?}");
    assert_eq!(det.stats().packages, 0);
}

#[test]
fn a_synthetic_two_lots_apart_is_one_package() {
    let market = TestMarket::nq_chain(5);
    // Buy 324 of the 21000 call, sell 326 of the 21000 put, 3 ms apart.
    let legs = [
        event(5, AggressorSide::Buy, 324, 1, T0),
        event(6, AggressorSide::Sell, 326, 1, T0 + 3_000_000),
    ];
    let mut det = detector();
    let out = run_events(&mut det, &market, &legs);
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].structure, Some(ifd_patterns::Structure::Synthetic));
    // Exact sizes only: a package of no listed structure (`custom`), and with custom
    // packages off too, two blocks.
    let mut det = PatternDetector::new(DetectorConfig {
        package_size_tolerance: 0.0,
        ..DetectorConfig::default()
    })
    .unwrap();
    let out = run_events(&mut det, &market, &legs);
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].structure, Some(ifd_patterns::Structure::Custom));
    let mut det = PatternDetector::new(DetectorConfig {
        package_size_tolerance: 0.0,
        package_legged_min_share: 0.0,
        ..DetectorConfig::default()
    })
    .unwrap();
    let out = run_events(&mut det, &market, &legs);
    assert_eq!(out.len(), 2, "{out:?}");
    assert!(out.iter().all(|s| s.pattern == Pattern::Block));
}

/// Ten minutes of buying on instrument 2: four 5-lot buys and one 2-lot sell a minute
/// from `t0`, each trading against resting order `passive` when given.
fn persistent_buying(t0: u64, passive: Option<u64>) -> Vec<ifd_pressure::AggressorEvent> {
    let sec = 1_000_000_000;
    let mut evs = Vec::new();
    for minute in 0..10u64 {
        for k in 0..5u64 {
            let (side, size) = if k < 4 {
                (AggressorSide::Buy, 5)
            } else {
                (AggressorSide::Sell, 2)
            };
            let ev = event(2, side, size, 1, t0 + minute * 60 * sec + k * 10 * sec);
            evs.push(match passive {
                Some(id) if side == AggressorSide::Buy => {
                    ifd_patterns::testing::with_passive(ev, &[(id, 5)])
                }
                _ => ev,
            });
        }
    }
    evs
}

#[test]
fn the_counterparties_of_an_iceberg_are_not_an_accumulation() {
    let market = TestMarket::nq_chain(3);
    let px = 12_500_000_000;
    // An iceberg selling on instrument 2 (orders 5000..=5005, the last one resting).
    let mut det = detector();
    let ice = super::refill_rounds(&mut det, &market, px);
    assert_eq!(ice.len(), 1);
    assert_eq!(ice[0].pattern, Pattern::Iceberg);
    // Buyers lifting it for ten minutes: the iceberg's counterparties.
    let out = run_events(
        &mut det,
        &market,
        &persistent_buying(T0 + 10_000_000_000, Some(5_005)),
    );
    assert!(
        out.iter().all(|s| s.pattern != Pattern::Accumulation),
        "{out:?}"
    );
    assert!(det.stats().iceberg_counterparty >= 40);
    // The same buying against other orders: the iceberg's counterparties too (the
    // counterparty rule, `counterparty_grace_ns`); without that rule only the prints
    // against the iceberg's own orders are held out, and the buying is an accumulation.
    let mut det = PatternDetector::new(DetectorConfig {
        counterparty_grace_ns: 0,
        ..DetectorConfig::default()
    })
    .unwrap();
    let _ = super::refill_rounds(&mut det, &market, px);
    let out = run_events(
        &mut det,
        &market,
        &persistent_buying(T0 + 10_000_000_000, Some(77)),
    );
    assert!(
        out.iter()
            .any(|s| s.pattern == Pattern::Accumulation && s.side == ifd_patterns::FlowSide::Buy),
        "{out:?}"
    );
}

#[test]
fn a_sweep_of_a_lottery_wing_is_held_to_the_sweep_delta_floor() {
    let market = with_far_wing();
    // The same 1,000 lots of the 0.03-delta wing, taken through three levels at once:
    // a lottery ticket bought through a thin book, under the sweep floor of 0.05.
    let mut sweep = print(99, 1_000, 3_500_000_000);
    sweep.levels = 3;
    sweep.trades = 3;
    let mut det = detector();
    let out = run_events(&mut det, &market, &[sweep]);
    assert!(out.is_empty(), "{out:?}");
    assert_eq!(det.stats().lottery, 1);
    // The sweep floor alone holds it back; the block floor (0.08) does not apply.
    let mut det = PatternDetector::new(DetectorConfig {
        sweep_min_abs_delta: 0.0,
        ..DetectorConfig::default()
    })
    .unwrap();
    let out = run_events(&mut det, &market, &[sweep]);
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].pattern, Pattern::Sweep);
    assert_eq!(det.stats().lottery, 0);
}

/// Twenty minutes of buying on instrument 2, one print every 6 s of the sizes in turn.
fn steady_buying(sizes: &[u64]) -> Vec<ifd_pressure::AggressorEvent> {
    (0..200_u64)
        .map(|i| {
            let size = sizes[(i as usize) % sizes.len()];
            event(2, AggressorSide::Buy, size, 1, T0 + i * 6_000_000_000)
        })
        .collect()
}

#[test]
fn a_crowd_of_small_tickets_is_not_an_accumulation() {
    let market = TestMarket::nq_chain(3);
    let accumulations = |det: &mut PatternDetector, evs: &[ifd_pressure::AggressorEvent]| {
        run_events(det, &market, evs)
            .into_iter()
            .filter(|s| s.pattern == Pattern::Accumulation)
            .count()
    };
    // A retail herd: 200 one-sided prints of 2 to 4 lots (560 lots) in twenty minutes.
    let herd = steady_buying(&[2, 3, 2, 4, 3]);
    let mut det = detector();
    assert_eq!(accumulations(&mut det, &herd), 0);
    assert!(det.stats().crowd > 0);
    // Without the median-clip floor the same prints pass every other gate.
    let mut det = PatternDetector::new(DetectorConfig {
        accum_min_median_clip: 0,
        ..DetectorConfig::default()
    })
    .unwrap();
    assert!(accumulations(&mut det, &herd) > 0);
    assert_eq!(det.stats().crowd, 0);
    // One participant working clips of 5 to 9 lots is an accumulation, and so is one
    // whose clips sit among a few small tickets (the median is still a clip).
    let mut det = detector();
    assert!(accumulations(&mut det, &steady_buying(&[5, 7, 9, 6, 8])) > 0);
    let mut det = detector();
    assert!(accumulations(&mut det, &steady_buying(&[6, 2, 8, 9, 3])) > 0);
}

/// A resting ask of 10 lots on instrument 2 filled and topped up at its price four
/// times, after it was (or was not) first modified to that price from another.
fn topped_up_chain(cfg: DetectorConfig, repriced: bool) -> (Vec<Signal>, f64) {
    let market = TestMarket::nq_chain(3);
    let mut det = PatternDetector::new(cfg).unwrap();
    let mut out = Vec::new();
    let px = 25_000_000_000;
    let mut ts = T0;
    let first = if repriced { px + 250_000_000 } else { px };
    det.on_mbo(
        &mbo(2, 7, Action::Add, Side::Ask, first, 10, ts),
        &market,
        &mut out,
    );
    if repriced {
        ts += 1_000_000_000;
        det.on_mbo(
            &mbo(2, 7, Action::Modify, Side::Ask, px, 10, ts),
            &market,
            &mut out,
        );
    }
    for _ in 0..6 {
        ts += 500_000_000;
        for (id, action, size) in [
            (0, Action::Trade, 8),
            (7, Action::Fill, 8),
            (7, Action::Modify, 2),
        ] {
            det.on_mbo(
                &mbo(2, id, action, Side::Ask, px, size, ts),
                &market,
                &mut out,
            );
        }
        ts += 5_000_000;
        det.on_mbo(
            &mbo(2, 7, Action::Modify, Side::Ask, px, 10, ts),
            &market,
            &mut out,
        );
    }
    out.retain(|s| s.pattern == Pattern::Iceberg);
    let mm = out.first().map_or(1.0, |s| s.evidence.mm_likelihood);
    (out, mm)
}

#[test]
fn a_quote_that_followed_the_price_and_tops_up_is_a_market_maker() {
    // Where market making is never ignored, both chains are icebergs (48 lots, six
    // top-ups); the one re-priced in place before weighs 0.4 more as market making.
    let keep = DetectorConfig {
        mm_ignore_above: 1.0,
        ..DetectorConfig::default()
    };
    let (plain, plain_mm) = topped_up_chain(keep.clone(), false);
    let (moved, moved_mm) = topped_up_chain(keep, true);
    assert_eq!(plain.len(), 1, "{plain:?}");
    assert_eq!(moved.len(), 1, "{moved:?}");
    assert!(
        (moved_mm - plain_mm - 0.4).abs() < 1e-9,
        "{moved_mm} {plain_mm}"
    );
    // With the instrument's churn or presence on top (here: the ignore threshold at
    // 0.4), the re-priced chain is market making and the other still an iceberg.
    let cfg = DetectorConfig {
        mm_ignore_above: 0.4,
        ..DetectorConfig::default()
    };
    assert!(topped_up_chain(cfg.clone(), true).0.is_empty());
    assert_eq!(topped_up_chain(cfg, false).0.len(), 1);
}

#[test]
fn an_iceberg_refilling_after_a_moved_quote_is_not_taken_for_it() {
    // A market maker's ask moved in place to the iceberg's price is taken out just
    // before the iceberg's display; the iceberg's refill pairs with it by price and
    // time, and its chain of new orders is still an iceberg.
    let market = TestMarket::nq_chain(3);
    let mut det = detector();
    let mut out = Vec::new();
    let px = 25_000_000_000;
    let mut ts = T0;
    det.on_mbo(
        &mbo(2, 7, Action::Add, Side::Ask, px + 250_000_000, 20, ts),
        &market,
        &mut out,
    );
    ts += 1_000_000;
    det.on_mbo(
        &mbo(2, 7, Action::Modify, Side::Ask, px, 20, ts),
        &market,
        &mut out,
    );
    let mut oid = 5_000;
    for round in 0..6 {
        ts += 100_000_000;
        let resting = if round == 0 { 7 } else { oid };
        for (id, action) in [
            (0, Action::Trade),
            (resting, Action::Fill),
            (resting, Action::Cancel),
        ] {
            det.on_mbo(
                &mbo(2, id, action, Side::Ask, px, 20, ts),
                &market,
                &mut out,
            );
        }
        ts += 1_000_000;
        oid += 1;
        det.on_mbo(
            &mbo(2, oid, Action::Add, Side::Ask, px, 20, ts),
            &market,
            &mut out,
        );
    }
    out.retain(|s| s.pattern == Pattern::Iceberg && s.revision == 0);
    assert_eq!(out.len(), 1, "{out:?}");
    assert!(out[0].evidence.mm_likelihood < 0.4, "{out:?}");
}
