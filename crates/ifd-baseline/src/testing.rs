//! Proptest strategies for downstream property-based tests (feature `testing`).

use proptest::prelude::*;

use crate::baseline::{DayObservations, Observation};
use crate::key::{BaselineKey, ExpiryClass, MoneynessBucket, Right, TimeBucket};
use crate::metric::Metric;

/// Any metric.
pub fn metric() -> impl Strategy<Value = Metric> {
    proptest::sample::select(Metric::ALL.to_vec())
}

/// A key drawn from a small space (so that days share series): both rights, all
/// expiry classes, moneyness −2..=2 and time buckets `0..buckets`.
pub fn key(buckets: u16) -> impl Strategy<Value = BaselineKey> {
    (
        prop_oneof![Just(Right::Call), Just(Right::Put)],
        prop_oneof![
            Just(ExpiryClass::SameDay),
            Just(ExpiryClass::Weekly),
            Just(ExpiryClass::MonthlyQuarterly)
        ],
        -2i64..=2,
        0..buckets.max(1),
    )
        .prop_map(|(right, expiry_class, m, tb)| BaselineKey {
            right,
            expiry_class,
            moneyness: MoneynessBucket::from_steps(m),
            time_bucket: TimeBucket(tb),
        })
}

/// A legal value of `metric`, spanning its domain with heavy tails.
pub fn value(metric: Metric) -> BoxedStrategy<f64> {
    match metric {
        Metric::SignedImbalance => (-1.0f64..=1.0).boxed(),
        Metric::OrderFlowImbalance => prop_oneof![-1e6f64..1e6, -10.0f64..10.0].boxed(),
        _ => prop_oneof![0.0f64..50.0, 0.0f64..1e9, Just(0.0), Just(1.0)].boxed(),
    }
}

/// A legal observation (strike present half of the time).
pub fn observation(buckets: u16) -> impl Strategy<Value = Observation> {
    (key(buckets), metric(), proptest::option::of(0i64..4)).prop_flat_map(
        |(key, metric, strike)| {
            value(metric).prop_map(move |value| Observation {
                key,
                strike: strike.map(|s| 20_000_000_000_000 + s * 25_000_000_000),
                metric,
                value,
            })
        },
    )
}

/// One day of up to `max_obs` legal observations.
pub fn day(buckets: u16, max_obs: usize) -> impl Strategy<Value = DayObservations> {
    proptest::collection::vec(observation(buckets), 0..=max_obs).prop_map(|obs| {
        let mut d = DayObservations::new();
        for o in obs {
            // Strategies only produce legal values.
            let _ = d.add(o);
        }
        d
    })
}
