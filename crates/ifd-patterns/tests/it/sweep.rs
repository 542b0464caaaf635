//! Sweep rules found on the independently written worlds (`blind_world`, development
//! seeds 101–110): a two-level event that empties its side of the book, and a sweep's
//! size beside its levels; cross-strike legs that clear their touch.

use super::{detector, run_events as run, T0};
use ifd_patterns::testing::{event, TestMarket};
use ifd_patterns::{
    Assessment, DetectorConfig, MarketView, Pattern, PatternDetector, Reference, ReferenceMetric,
    Signal, SpreadLegDef,
};
use ifd_pressure::{AggressorEvent, AggressorSide, Bbo, Level, OptionContract, UnderlyingPrice};

/// A [`TestMarket`] whose books, read after each event, show `after`.
struct BookAfter {
    market: TestMarket,
    after: Bbo,
}

impl MarketView for BookAfter {
    fn contract(&self, instrument_id: u32) -> Option<&OptionContract> {
        self.market.contract(instrument_id)
    }
    fn is_healthy(&self, instrument_id: u32) -> bool {
        self.market.is_healthy(instrument_id)
    }
    fn underlying_price(&self, contract: &OptionContract) -> Option<i64> {
        self.market.underlying_price(contract)
    }
    fn underlying_at(&self, contract: &OptionContract, ts_recv: u64) -> Option<UnderlyingPrice> {
        self.market.underlying_at(contract, ts_recv)
    }
    fn bbo(&self, _instrument_id: u32) -> Option<Bbo> {
        Some(self.after)
    }
    fn is_depth_ready(&self, instrument_id: u32, ts_recv: u64) -> bool {
        self.market.is_depth_ready(instrument_id, ts_recv)
    }
    fn spread_legs(&self, instrument_id: u32) -> Option<&[SpreadLegDef]> {
        self.market.spread_legs(instrument_id)
    }
    fn open_interest(&self, instrument_id: u32) -> Option<u64> {
        self.market.open_interest(instrument_id)
    }
}

fn level(price: i64, size: u64) -> Option<Level> {
    Some(Level {
        price,
        size,
        count: 1,
    })
}

#[test]
fn a_two_level_event_that_empties_its_side_is_a_sweep() {
    // 40 lots bought through two levels (10.00 and 10.25) of the 20,925 call.
    let buy = event(3, AggressorSide::Buy, 40, 2, T0);
    let bid = level(9_750_000_000, 10);
    let ask = level(10_750_000_000, 10);
    // Nothing offered after it: it took every contract shown.
    let emptied = BookAfter {
        market: TestMarket::nq_chain(5),
        after: Bbo { bid, ask: None },
    };
    let out = run(&mut detector(), &emptied, &[buy]);
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].pattern, Pattern::Sweep);
    assert_eq!(out[0].evidence.levels, 2);
    assert!((out[0].evidence.threshold - 2.0).abs() < 1e-12);

    // An offer still shown behind it: an order that walked into a second level.
    let walked = BookAfter {
        market: TestMarket::nq_chain(5),
        after: Bbo { bid, ask },
    };
    assert!(run(&mut detector(), &walked, &[buy]).is_empty());

    // The bid side emptied says nothing about a buyer.
    let other_side = BookAfter {
        market: TestMarket::nq_chain(5),
        after: Bbo { bid: None, ask },
    };
    assert!(run(&mut detector(), &other_side, &[buy]).is_empty());

    // A seller that empties the bids is one too.
    let sell = event(3, AggressorSide::Sell, 40, 2, T0);
    let out = run(&mut detector(), &other_side, &[sell]);
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].pattern, Pattern::Sweep);

    // The rule off (`sweep_min_levels_emptied` at `sweep_min_levels`): three levels again.
    let mut det = PatternDetector::new(DetectorConfig {
        sweep_min_levels_emptied: 3,
        ..DetectorConfig::default()
    })
    .unwrap();
    assert!(run(&mut det, &emptied, &[buy]).is_empty());

    // Still held to the sweep's size floor: 15 lots are not a sweep.
    let small = event(3, AggressorSide::Buy, 15, 2, T0);
    assert!(run(&mut detector(), &emptied, &[small]).is_empty());
}

#[test]
fn sweep_min_levels_emptied_must_be_at_least_two() {
    let cfg = DetectorConfig {
        sweep_min_levels_emptied: 1,
        ..DetectorConfig::default()
    };
    assert!(cfg.validate().is_err());
}

/// A baseline that finds prints of 60 lots or more rare (p 0.02) and smaller ones
/// ordinary (p 1), with a typical print of 2 lots.
struct RareAbove60;

impl Reference for RareAbove60 {
    fn assess(
        &self,
        _c: &OptionContract,
        _u: Option<i64>,
        _ts: u64,
        _m: ReferenceMetric,
        value: f64,
    ) -> Option<Assessment> {
        Some(Assessment {
            p_value: if value >= 60.0 { 0.02 } else { 1.0 },
            z_score: 9.0,
            days: 20,
            typical: 2.0,
        })
    }
}

/// The start of the first whole minute after `T0` (the q-value's family is a minute).
const MINUTE: u64 = (T0 / 60_000_000_000 + 1) * 60_000_000_000;

/// Forty ordinary prints of 2 lots on instrument 5 in the minute, then `sweep`.
fn busy_minute_then(sweep: AggressorEvent) -> Vec<AggressorEvent> {
    let mut evs: Vec<AggressorEvent> = (0..40_u64)
        .map(|i| {
            let side = if i % 2 == 0 {
                AggressorSide::Buy
            } else {
                AggressorSide::Sell
            };
            event(5, side, 2, 1, MINUTE + i * 1_000_000_000)
        })
        .collect();
    evs.push(sweep);
    evs
}

fn run_with(
    det: &mut PatternDetector,
    view: &BookAfter,
    reference: &dyn Reference,
    evs: &[AggressorEvent],
) -> Vec<Signal> {
    let mut out = Vec::new();
    for ev in evs {
        det.on_event(ev, view, reference, &mut out);
    }
    det.flush(view, reference, &mut out);
    out
}

#[test]
fn a_three_level_sweeps_size_counts_beside_its_levels() {
    let view = BookAfter {
        market: TestMarket::nq_chain(5),
        after: Bbo::default(),
    };
    // 80 lots through three levels at the end of a busy minute: its p-value (0.02) is
    // one of 41 tests, q = 0.82. By its levels alone (three, the threshold) it scores
    // (0.55 + 0.18) / 2, under `min_confidence`; 80 lots against a typical 2-lot print
    // (times 8, at least 20) lift it over.
    let sweep = event(3, AggressorSide::Buy, 80, 3, MINUTE + 50_000_000_000);
    let out = run_with(
        &mut detector(),
        &view,
        &RareAbove60,
        &busy_minute_then(sweep),
    );
    let sweeps: Vec<&Signal> = out.iter().filter(|s| s.pattern == Pattern::Sweep).collect();
    assert_eq!(sweeps.len(), 1, "{out:?}");
    let q = sweeps[0].q_value.unwrap();
    assert!(q > 0.8, "{q}");

    // The same minute with a sweep of 60 lots through three levels: the size term is
    // weaker (60 against 20) but still carries it; one of 20 lots is not found.
    let small = event(3, AggressorSide::Buy, 20, 3, MINUTE + 50_000_000_000);
    let out = run_with(
        &mut detector(),
        &view,
        &RareAbove60,
        &busy_minute_then(small),
    );
    assert!(out.iter().all(|s| s.pattern != Pattern::Sweep), "{out:?}");
}

#[test]
fn a_two_level_sweeps_size_does_not_add_to_its_evidence() {
    // Emptied bids: a two-level sale is a sweep by `sweep_min_levels_emptied`.
    let view = BookAfter {
        market: TestMarket::nq_chain(5),
        after: Bbo {
            bid: None,
            ask: level(10_750_000_000, 10),
        },
    };
    let sweep = event(3, AggressorSide::Sell, 80, 2, MINUTE + 50_000_000_000);
    let out = run_with(
        &mut detector(),
        &view,
        &RareAbove60,
        &busy_minute_then(sweep),
    );
    assert!(out.iter().all(|s| s.pattern != Pattern::Sweep), "{out:?}");
    // Alone in its minute (q = p = 0.02) it is found.
    let out = run_with(&mut detector(), &view, &RareAbove60, &[sweep]);
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].pattern, Pattern::Sweep);
}

/// Three buys of `size` lots on the calls of three strikes (ids 1, 3, 5) 2 ms apart.
fn three_strikes(size: u64) -> Vec<AggressorEvent> {
    [1_u32, 3, 5]
        .iter()
        .zip(0_u64..)
        .map(|(&iid, i)| event(iid, AggressorSide::Buy, size, 1, T0 + i * 2_000_000))
        .collect()
}

#[test]
fn cross_strike_legs_that_clear_their_touch_count_from_two_lots() {
    // Each leg takes the 10.00 offer and the book shows the next offer at 10.25: it
    // took everything shown at its price.
    let cleared = BookAfter {
        market: TestMarket::nq_chain(5),
        after: Bbo {
            bid: level(9_750_000_000, 10),
            ask: level(10_250_000_000, 10),
        },
    };
    let out = run(&mut detector(), &cleared, &three_strikes(3));
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].pattern, Pattern::CrossStrike);
    assert_eq!(out[0].instruments, vec![1, 3, 5]);
    assert_eq!(out[0].size, 9);

    // Offers left at 10.00 after each leg: three small prints, not a cross-strike flow.
    let left = BookAfter {
        market: TestMarket::nq_chain(5),
        after: Bbo {
            bid: level(9_750_000_000, 10),
            ask: level(10_000_000_000, 10),
        },
    };
    assert!(run(&mut detector(), &left, &three_strikes(3)).is_empty());

    // One-lot legs stay out even when they clear a touch.
    assert!(run(&mut detector(), &cleared, &three_strikes(1)).is_empty());

    // The rule off: the 5-lot leg minimum again.
    let mut det = PatternDetector::new(DetectorConfig {
        cross_min_leg_size_cleared: 5,
        ..DetectorConfig::default()
    })
    .unwrap();
    assert!(run(&mut det, &cleared, &three_strikes(3)).is_empty());
}
