//! Proptest strategies for downstream property-based test harnesses.

use proptest::prelude::*;

use crate::assign::{AssignmentKey, PPM};
use crate::rollout::RolloutSnapshot;
use crate::stats::{Decision, SequentialResult};

/// Any assignment key.
pub fn assignment_key() -> impl Strategy<Value = AssignmentKey> {
    prop_oneof![
        any::<u64>().prop_map(AssignmentKey::SignalId),
        (any::<i64>(), any::<u64>())
            .prop_map(|(strike, expiry)| AssignmentKey::StrikeExpiry { strike, expiry }),
        proptest::collection::vec(any::<u8>(), 0..32).prop_map(AssignmentKey::Bytes),
    ]
}

/// Shares in ppm for 1 to `max_arms` arms, summing to [`PPM`] (some may be zero).
pub fn shares_ppm(max_arms: usize) -> impl Strategy<Value = Vec<u32>> {
    proptest::collection::vec(0..=PPM, 0..max_arms.max(1)).prop_map(|mut cuts| {
        cuts.sort_unstable();
        let mut shares = Vec::with_capacity(cuts.len() + 1);
        let mut prev = 0;
        for c in cuts {
            shares.push(c - prev);
            prev = c;
        }
        shares.push(PPM - prev);
        shares
    })
}

/// A health figure that is sometimes NaN, infinite or out of range.
pub fn messy_f64(typical: std::ops::Range<f64>) -> impl Strategy<Value = f64> {
    prop_oneof![
        8 => typical,
        1 => Just(f64::NAN),
        1 => prop_oneof![Just(f64::INFINITY), Just(f64::NEG_INFINITY), Just(-1.0), Just(2.0)],
    ]
}

/// A sequential test result with the given decision and otherwise plausible fields.
pub fn sequential_result() -> impl Strategy<Value = SequentialResult> {
    (
        prop_oneof![
            Just(Decision::V3Better),
            Just(Decision::V3Worse),
            Just(Decision::NoDifferenceYet)
        ],
        0_u64..10_000,
        0_u64..10_000,
        0.0_f64..1.0,
    )
        .prop_map(|(decision, n_v1, n_v3, p_value)| SequentialResult {
            n_v1,
            n_v3,
            mean_v1: None,
            mean_v3: None,
            difference: None,
            effect_size: None,
            ci: None,
            p_value,
            decision,
        })
}

/// A rollout snapshot whose health figures are sometimes invalid; resolved counts grow
/// from `base`.
pub fn rollout_snapshot(base: u64) -> impl Strategy<Value = RolloutSnapshot> {
    (
        0_u64..1_000,
        0_u64..1_000,
        proptest::option::of(sequential_result()),
        proptest::option::of(sequential_result()),
        messy_f64(0.0..200.0),
        messy_f64(0.99..1.0),
        messy_f64(0.0..0.05),
    )
        .prop_map(
            move |(a, b, accuracy, pnl, latency_p99_ms, uptime, error_rate)| RolloutSnapshot {
                resolved_v1: base + a,
                resolved_v3: base + b,
                accuracy,
                pnl,
                latency_p99_ms,
                uptime,
                error_rate,
            },
        )
}
