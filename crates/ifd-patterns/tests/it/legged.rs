//! Packages legged through thin books (issue 18, `blind_world2` development seeds
//! 101–106): a structure matched in part takes its other legs on its expiry, and the
//! legs of a spread that filled unequally are one package, not directional flows.

use super::{run_events, T0};
use ifd_patterns::testing::{event, TestMarket};
use ifd_patterns::{DetectorConfig, Pattern, PatternDetector, Signal, Structure};
use ifd_pressure::AggressorSide::{Buy, Sell};

const MS: u64 = 1_000_000;

fn with(join: bool, any_share: bool) -> PatternDetector {
    PatternDetector::new(DetectorConfig {
        package_join_expiry: join,
        package_expiry_any_share: any_share,
        ..DetectorConfig::default()
    })
    .unwrap()
}

fn patterns(out: &[Signal]) -> Vec<(Pattern, u32)> {
    out.iter().map(|s| (s.pattern, s.instrument_id)).collect()
}

/// A three-leg collar: sell 200 of the 20900 put, buy 200 of the 21000 call, sell 200
/// of the 20975 call, 1 ms apart. The first two legs are a risk reversal by themselves.
fn collar() -> [ifd_pressure::AggressorEvent; 3] {
    [
        event(2, Sell, 200, 1, T0),
        event(9, Buy, 200, 1, T0 + MS),
        event(7, Sell, 200, 1, T0 + 2 * MS),
    ]
}

#[test]
fn a_collar_matched_as_a_risk_reversal_takes_its_third_leg() {
    let market = TestMarket::nq_chain(5);
    let mut det = with(true, true);
    let out = run_events(&mut det, &market, &collar());
    assert_eq!(patterns(&out), vec![(Pattern::Package, 2)], "{out:?}");
    let s = &out[0];
    assert_eq!(
        s.structure,
        Some(Structure::Custom),
        "a risk reversal and a leg"
    );
    assert_eq!(s.instruments, vec![2, 7, 9]);
    assert_eq!(s.size, 600);
    assert_eq!(det.stats().package_events, 3);
    // Without the rule the third leg is read alone: a directional block.
    let out = run_events(&mut with(false, true), &market, &collar());
    assert_eq!(
        patterns(&out),
        vec![(Pattern::Package, 2), (Pattern::Block, 7)],
        "{out:?}"
    );
    assert_eq!(out[0].structure, Some(Structure::RiskReversal));
}

#[test]
fn a_print_on_another_expiry_does_not_join_a_package() {
    let mut market = TestMarket::nq_chain(5);
    let mut far = market.contracts[6].clone(); // the 20975 call
    far.instrument_id = 70;
    far.expiration += 30 * 86_400 * 1_000_000_000;
    market.contracts.push(far);
    let mut legs = collar();
    legs[2].instrument_id = 70;
    let out = run_events(&mut with(true, true), &market, &legs);
    assert_eq!(
        patterns(&out),
        vec![(Pattern::Package, 2), (Pattern::Block, 70)],
        "{out:?}"
    );
}

#[test]
fn a_butterfly_whose_wing_filled_short_is_one_package() {
    let market = TestMarket::nq_chain(5);
    // Buy 49 of the 20900 call through four levels, sell 233 of the 20950 call, buy
    // 177 of the 21000 call: the first wing holds under a quarter of the body.
    let legs = [
        event(1, Buy, 49, 4, T0),
        event(5, Sell, 233, 1, T0 + MS / 5),
        event(9, Buy, 177, 1, T0 + 2 * MS),
    ];
    let out = run_events(&mut with(true, true), &market, &legs);
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].pattern, Pattern::Package);
    assert_eq!(out[0].structure, Some(Structure::Custom));
    assert_eq!(out[0].instruments, vec![1, 5, 9]);
    // With the share rule for every leg the wing is a sweep beside a two-leg package.
    let out = run_events(&mut with(true, false), &market, &legs);
    assert_eq!(
        patterns(&out),
        vec![(Pattern::Sweep, 1), (Pattern::Package, 5)],
        "{out:?}"
    );
}

/// A synthetic legged through thin books: 36 lots of the 21000 call bought through
/// four levels, 310 of the 21000 put sold 2 ms later.
fn synthetic() -> Vec<ifd_pressure::AggressorEvent> {
    vec![
        event(9, Buy, 36, 4, T0),
        event(10, Sell, 310, 4, T0 + 2 * MS),
    ]
}

#[test]
fn the_legs_of_an_unequal_spread_on_one_expiry_are_one_package() {
    let market = TestMarket::nq_chain(5);
    let out = run_events(&mut with(true, true), &market, &synthetic());
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].pattern, Pattern::Package);
    assert_eq!(out[0].structure, Some(Structure::Custom));
    assert_eq!(out[0].instruments, vec![9, 10]);
    // With the share rule: two directional sweeps, one per leg.
    let out = run_events(&mut with(true, false), &market, &synthetic());
    assert_eq!(
        patterns(&out),
        vec![(Pattern::Sweep, 9), (Pattern::Sweep, 10)],
        "{out:?}"
    );
}

#[test]
fn unequal_prints_of_one_side_and_kind_far_apart_or_small_are_no_spread() {
    let market = TestMarket::nq_chain(5);
    let no_package = |evs: &[ifd_pressure::AggressorEvent]| {
        let mut det = with(true, true);
        let out = run_events(&mut det, &market, evs);
        assert_eq!(det.stats().packages, 0, "{out:?}");
        assert!(out.iter().any(|s| s.instrument_id == 10), "{out:?}");
    };
    // Both sold puts: the cross-strike shape, not a spread.
    let mut same = synthetic();
    same[0] = event(8, Sell, 36, 4, T0);
    no_package(&same);
    // 50 ms apart: beyond the package window.
    let mut apart = synthetic();
    apart[1].ts_recv = T0 + 50 * MS;
    no_package(&apart);
    // A print under the package's leg floor (10 lots) is not a leg.
    let mut small = synthetic();
    small[0].size = 9;
    no_package(&small);
}
