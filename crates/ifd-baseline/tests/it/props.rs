//! Property tests: order invariance, median scores zero, no NaN/inf in or out.

use ifd_baseline::testing;
use ifd_baseline::{
    Baseline, BaselineConfig, DayObservations, Error, Observation, Scope, SeriesId, TradingDay,
};
use proptest::prelude::*;

fn day(i: usize) -> TradingDay {
    TradingDay::new(
        chrono::NaiveDate::from_ymd_opt(2025, 12, 1)
            .and_then(|d| d.checked_add_days(chrono::Days::new(i as u64)))
            .expect("date"),
    )
}

fn build(days: &[(usize, DayObservations)]) -> Baseline {
    let mut b = Baseline::new(BaselineConfig {
        min_days: 2,
        ..BaselineConfig::default()
    })
    .expect("config");
    for (i, d) in days {
        b.push_day(day(*i), d.clone()).expect("distinct days");
    }
    b
}

fn days_strategy() -> impl Strategy<Value = Vec<(usize, DayObservations)>> {
    proptest::collection::vec(testing::day(2, 40), 2..26)
        .prop_map(|v| v.into_iter().enumerate().collect::<Vec<_>>())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn scores_do_not_depend_on_the_order_days_are_added(
        (days, shuffled) in days_strategy().prop_flat_map(|d| (Just(d.clone()), Just(d).prop_shuffle())),
        window in proptest::collection::vec(testing::observation(2), 1..30),
    ) {
        let a = build(&days);
        let b = build(&shuffled);
        prop_assert_eq!(a.days(), b.days());
        prop_assert_eq!(a.score_window(&window).expect("legal"), b.score_window(&window).expect("legal"));
    }

    #[test]
    fn a_value_equal_to_the_median_scores_zero(
        days in days_strategy(),
        window in proptest::collection::vec(testing::observation(2), 1..30),
    ) {
        let b = build(&days);
        let at_median: Vec<Observation> = window
            .iter()
            .filter_map(|o| {
                let id = SeriesId { scope: Scope::Bucket(o.key), metric: o.metric };
                b.series(&id).map(|m| Observation { strike: None, value: m.robust_scale().median, ..*o })
            })
            .collect();
        let scores = b.score_window(&at_median).expect("medians are legal values");
        for (_, out) in &scores.items {
            if let Some(s) = out.scored() {
                prop_assert_eq!(s.robust_z, 0.0);
                prop_assert!(s.p_value >= 0.5 - 1e-12 || matches!(s.against, ifd_baseline::ScoredAgainst::Strike));
            }
        }
    }

    #[test]
    fn finite_inputs_give_finite_scores_and_nonfinite_are_rejected(
        days in days_strategy(),
        window in proptest::collection::vec(testing::observation(2), 1..30),
        bad in prop_oneof![Just(f64::NAN), Just(f64::INFINITY), Just(f64::NEG_INFINITY), Just(1e300), Just(-1e300)],
        metric in testing::metric(),
        pos in any::<prop::sample::Index>(),
    ) {
        let b = build(&days);
        let scores = b.score_window(&window).expect("legal");
        for (_, out) in &scores.items {
            if let Some(s) = out.scored() {
                for v in [s.robust_z, s.p_value, s.q_value, s.confidence, s.median] {
                    prop_assert!(v.is_finite());
                }
                prop_assert!(s.p_value > 0.0 && s.p_value <= 1.0);
                prop_assert!((0.0..=1.0).contains(&s.q_value));
                prop_assert!(s.q_value >= s.p_value);
                prop_assert!((0.0..=1.0).contains(&s.confidence));
            }
        }
        // a non-finite (or absurd) value is rejected by scoring and by the day
        let mut poisoned = window.clone();
        let i = pos.index(poisoned.len());
        poisoned[i].metric = metric;
        poisoned[i].value = bad;
        let rejected = matches!(b.score_window(&poisoned), Err(Error::InvalidValue { .. }));
        prop_assert!(rejected);
        let mut d = DayObservations::new();
        prop_assert!(d.add(poisoned[i]).is_err());
        prop_assert_eq!(d.value_count(), 0);
        prop_assert!(!metric.accepts(bad));
    }
}
