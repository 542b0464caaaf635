//! The subscription planner through the public API.

use ifd_budget::{plan_subscriptions, PlanCandidate, PlanMethod};

use crate::{day, dec};

fn cand(parent: &str, expiry_day: u32, band: u8, mb_per_day: u64, signals: u64) -> PlanCandidate {
    PlanCandidate {
        parent: parent.into(),
        expiry: day(2025, 3, expiry_day),
        band,
        bytes_per_day: mb_per_day * 1_000_000,
        signals,
    }
}

#[test]
fn keeps_expected_spend_inside_the_budget_left() {
    // $5/GB over 10 trading days: 200 MB/day costs $10.
    let cs = vec![
        cand("NQ.OPT", 7, 0, 200, 9),   // $10, 0.9/$
        cand("NQ.OPT", 7, 1, 400, 6),   // $20, 0.3/$
        cand("NQ.OPT", 14, 0, 300, 12), // $15, 0.8/$
        cand("QNE.OPT", 7, 0, 100, 2),  // $5, 0.4/$
        cand("NQ.OPT", 21, 2, 800, 4),  // $40, 0.1/$
    ];
    let plan = plan_subscriptions(&cs, dec("30"), dec("5"), 10).unwrap();
    assert_eq!(plan.method, PlanMethod::Exact);
    // Best within $30: 0 + 2 + 3 = $30 for 23 signals.
    assert_eq!(plan.chosen, vec![0, 2, 3]);
    assert_eq!(plan.expected_cost, dec("30"));
    assert_eq!(plan.expected_signals, 23);
    assert_eq!(plan.costs[4], dec("40"));
}

#[test]
fn large_inputs_use_greedy_and_still_fit() {
    let cs: Vec<_> = (0..100u64)
        .map(|i| {
            cand(
                "NQ.OPT",
                1 + u32::try_from(i % 28).unwrap(),
                u8::try_from(i % 5).unwrap(),
                50 + i * 7,
                (i * 37) % 11,
            )
        })
        .collect();
    let plan = plan_subscriptions(&cs, dec("120"), dec("2"), 20).unwrap();
    assert_eq!(plan.method, PlanMethod::Greedy);
    assert!(plan.expected_cost <= dec("120"));
    assert!(plan.expected_signals > 0);
    let recomputed: rust_decimal::Decimal = plan.chosen.iter().map(|&i| plan.costs[i]).sum();
    assert_eq!(recomputed, plan.expected_cost);
}
