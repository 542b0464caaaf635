//! Black-76 analytics: no NaN on any input, delta bounds, price → iv → price.

use ifd_pressure::analytics::{
    black76_price, book_mid, delta, gamma, implied_vol, vega, MAX_VOL, MIN_VOL,
};
use ifd_pressure::{Bbo, Level, OptionAnalytics, OptionContract, OptionKind, TickRule};
use proptest::prelude::*;

const PX: i64 = 1_000_000_000;
const DAY_NS: u64 = 86_400 * 1_000_000_000;

fn kind() -> impl Strategy<Value = OptionKind> {
    prop_oneof![Just(OptionKind::Call), Just(OptionKind::Put)]
}

fn any_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        -1e6..1e6_f64,
        Just(0.0),
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::MIN_POSITIVE),
    ]
}

fn contract(kind: OptionKind, strike: i64, expiration: u64) -> OptionContract {
    OptionContract {
        instrument_id: 1,
        raw_symbol: "NQZ6 C21000".into(),
        underlying: "NQZ6".into(),
        underlying_id: 2,
        asset: "NQ".into(),
        kind,
        strike,
        expiration,
        multiplier: 20 * PX,
        tick: TickRule::CME_EQUITY_INDEX_OPTION,
        channel_id: 0,
        ts_recv: 0,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_inputs_never_give_nan(
        k in kind(), p in any_f64(), f in any_f64(), s in any_f64(), t in any_f64(), v in any_f64()
    ) {
        for x in [
            black76_price(k, f, s, t, v),
            implied_vol(k, p, f, s, t),
            delta(k, f, s, t, v),
            gamma(f, s, t, v),
            vega(f, s, t, v),
        ]
        .into_iter()
        .flatten()
        {
            prop_assert!(x.is_finite());
        }
        if let Some(iv) = implied_vol(k, p, f, s, t) {
            prop_assert!((MIN_VOL..=MAX_VOL).contains(&iv));
        }
    }

    #[test]
    fn fixed_point_analytics_are_finite_or_none(
        k in kind(),
        price in any::<i64>(),
        under in any::<i64>(),
        strike in any::<i64>(),
        exp in any::<u64>(),
        ts in any::<u64>(),
    ) {
        if let Some(a) = OptionAnalytics::of(&contract(k, strike, exp), price, under, ts) {
            for x in [a.iv, a.delta, a.gamma, a.vega, a.years, a.forward] {
                prop_assert!(x.is_finite());
            }
            prop_assert!(a.delta_notional(1, u64::MAX, i64::MAX).is_finite());
            prop_assert!(a.vega_notional(-1, u64::MAX, i64::MAX).is_finite());
        }
    }

    #[test]
    fn delta_within_bounds(k in kind(), f in 1.0..1e5_f64, m in 0.2..5.0_f64, t in 1e-4..3.0_f64, v in 0.01..3.0_f64) {
        let d = delta(k, f, f * m, t, v).unwrap();
        match k {
            OptionKind::Call => prop_assert!((0.0..=1.0).contains(&d)),
            OptionKind::Put => prop_assert!((-1.0..=0.0).contains(&d)),
        }
        prop_assert!(gamma(f, f * m, t, v).unwrap() >= 0.0);
        prop_assert!(vega(f, f * m, t, v).unwrap() >= 0.0);
    }

    #[test]
    fn price_iv_price_round_trip(k in kind(), f in 100.0..50_000.0_f64, m in 0.5..2.0_f64, t in 1.0 / 365.0..2.0_f64, v in 0.03..2.0_f64) {
        let strike = f * m;
        let price = black76_price(k, f, strike, t, v).unwrap();
        let intrinsic = match k {
            OptionKind::Call => (f - strike).max(0.0),
            OptionKind::Put => (strike - f).max(0.0),
        };
        // Only prices that carry time value above rounding noise identify a volatility.
        prop_assume!(price - intrinsic > 1e-9 * f);
        let iv = implied_vol(k, price, f, strike, t);
        prop_assert!(iv.is_some(), "no iv for price {price}");
        let back = black76_price(k, f, strike, t, iv.unwrap()).unwrap();
        prop_assert!((back - price).abs() <= 1e-7 * f.max(1.0), "{price} -> {iv:?} -> {back}");
    }

    #[test]
    fn one_sided_or_crossed_books_have_no_mid(bid in proptest::option::of(any::<i64>()), ask in proptest::option::of(any::<i64>())) {
        let lv = |price| Level { price, size: 1, count: 1 };
        let bbo = Bbo { bid: bid.map(lv), ask: ask.map(lv) };
        match (bid, ask) {
            (Some(b), Some(a)) if b <= a && a > 0 => {
                let m = book_mid(&bbo);
                prop_assert!(m.is_none_or(|m| m > 0 && m >= b && m <= a));
            }
            _ => prop_assert_eq!(book_mid(&bbo), None),
        }
    }
}

#[test]
fn nq_call_at_one_tick_under_intrinsic_has_no_iv() {
    // A deep in-the-money call quoted one tick below intrinsic: no volatility fits.
    let c = contract(OptionKind::Call, 20_000 * PX, 30 * DAY_NS);
    assert_eq!(
        OptionAnalytics::of(&c, 999 * PX + PX / 20 * 19, 21_000 * PX, 0),
        None
    );
    // Expired: none.
    assert_eq!(
        OptionAnalytics::of(&c, 1_050 * PX, 21_000 * PX, 30 * DAY_NS),
        None
    );
}

#[test]
fn nq_wing_is_small_delta_and_notional_has_the_side_sign() {
    // 30 days out, underlying 21000, a 19000 put at 2.50 points.
    let c = contract(OptionKind::Put, 19_000 * PX, 30 * DAY_NS);
    let a = OptionAnalytics::of(&c, 5 * PX / 2, 21_000 * PX, 0).unwrap();
    assert!(a.delta < 0.0 && a.delta > -0.05, "{a:?}");
    assert!(a.iv > 0.05 && a.iv < 1.0, "{a:?}");
    // Bought put: negative delta notional; sold put: positive. NQ multiplier 20.
    let bought = a.delta_notional(1, 100, 20 * PX);
    assert!(bought < 0.0);
    assert!((a.delta_notional(-1, 100, 20 * PX) + bought).abs() < 1e-9);
    assert!((bought - a.delta * 100.0 * 20.0 * 21_000.0).abs() < 1e-6);
    assert!(a.vega_notional(1, 100, 20 * PX) > 0.0);
}
