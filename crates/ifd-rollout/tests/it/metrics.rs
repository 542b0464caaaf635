use ifd_rollout::{
    Direction, EngineHealth, Label, Metric, MetricsBook, Outcome, Targets, Variant, NANOS_PER_DAY,
    NANOS_PER_MINUTE,
};
use rust_decimal::Decimal;

const H: u64 = 15 * NANOS_PER_MINUTE;

fn outcome(variant: Variant, pattern: &str, label: Label, pnl: i64) -> Outcome {
    Outcome {
        signal_id: 0,
        variant,
        pattern: pattern.into(),
        direction: Direction::Up,
        confidence: 0.8,
        fired_at: 0,
        horizon_ns: H,
        entry_mid: 1,
        entry_touch: 1,
        exit_mid: 1,
        move_px: 0,
        band_px: 0,
        underlying_move_px: None,
        label,
        pnl: Decimal::from(pnl),
    }
}

/// v3: 8 signals, 6 resolved: 4 wins (+30, +30, +20, +40), 1 loss (-20), 1 flat (-10);
/// v1: 10 signals, 4 resolved: 2 wins (+10 each), 2 losses (-20 each).
fn book() -> MetricsBook {
    let mut b = MetricsBook::new(H, Targets::default(), 0);
    for i in 0..8 {
        b.record_signal(Variant::V3, if i < 4 { "sweep" } else { "block" });
    }
    for _ in 0..10 {
        b.record_signal(Variant::V1, "spike");
    }
    for (l, p, pat) in [
        (Label::Win, 30, "sweep"),
        (Label::Win, 30, "sweep"),
        (Label::Win, 20, "block"),
        (Label::Win, 40, "block"),
        (Label::Loss, -20, "sweep"),
        (Label::Flat, -10, "block"),
    ] {
        assert!(b.record_outcome(&outcome(Variant::V3, pat, l, p)));
    }
    for (l, p) in [
        (Label::Win, 10),
        (Label::Win, 10),
        (Label::Loss, -20),
        (Label::Loss, -20),
    ] {
        b.record_outcome(&outcome(Variant::V1, "spike", l, p));
    }
    b.set_data_cost(Variant::V3, Decimal::from(32));
    b.set_data_cost(Variant::V1, Decimal::from(40));
    b
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-9)
}

#[test]
fn variant_metrics_known_answers() {
    let r = book().report(2 * NANOS_PER_DAY);
    let v3 = &r.variants[1];
    assert_eq!(v3.variant, Variant::V3);
    assert!(close(v3.accuracy, 4.0 / 6.0));
    assert!(close(v3.win_loss_count_ratio, 4.0));
    // Mean gain 30, mean |loss| 15 (20 and 10).
    assert!(close(v3.avg_win_over_avg_loss, 2.0));
    // P&L 90 over cost 32.
    assert!(close(v3.roi, 90.0 / 32.0));
    assert_eq!(v3.cost_per_signal, Some(Decimal::from(4)));
    assert!(close(v3.signals_per_day, 4.0));
    let ev = v3.ev_per_signal.unwrap();
    assert!((ev.mean - 15.0).abs() < 1e-9);
    // sd of [30,30,20,40,-20,-10] = sqrt(1150/... ) computed by hand: mean 15,
    // squared deviations 225+225+25+625+1225+625 = 2950, s² = 590; t(5, .975) = 2.570582.
    let half = 2.570_581_835_636_314 * (590.0_f64 / 6.0).sqrt();
    assert!((ev.lower - (15.0 - half)).abs() < 1e-6 && (ev.upper - (15.0 + half)).abs() < 1e-6);
    let v1 = &r.variants[0];
    assert!(close(v1.accuracy, 0.5));
    assert!(close(v1.win_loss_count_ratio, 1.0));
    assert!(close(v1.avg_win_over_avg_loss, 0.5));
    assert!(close(v1.roi, -20.0 / 40.0));
    // (2.8125 − (−0.5)) / 0.5
    assert!(close(r.roi_improvement_vs_v1, (90.0 / 32.0 + 0.5) / 0.5));
}

#[test]
fn pattern_metrics_known_answers() {
    let r = book().report(NANOS_PER_DAY);
    let sweep = r
        .patterns
        .iter()
        .find(|p| p.pattern.as_deref() == Some("sweep"))
        .unwrap();
    assert_eq!((sweep.tally.signals, sweep.tally.resolved), (4, 3));
    assert!(close(sweep.accuracy, 2.0 / 3.0));
    assert!(close(sweep.ev_per_signal.map(|c| c.mean), 40.0 / 3.0));
    let block = r
        .patterns
        .iter()
        .find(|p| p.pattern.as_deref() == Some("block"))
        .unwrap();
    assert!(block.win_loss_count_ratio.is_none(), "a flat is not a loss");
    assert!(close(block.avg_win_over_avg_loss, 3.0));
}

#[test]
fn checks_compare_against_the_seed_targets() {
    let mut b = book();
    b.set_health(
        Variant::V3,
        EngineHealth {
            latency_p99_ms: 40.0,
            uptime: 0.9995,
            error_rate: 0.0,
        },
    );
    let r = b.report(NANOS_PER_DAY);
    let check = |v, m| {
        *r.checks
            .iter()
            .find(|c| c.variant == v && c.metric == m)
            .unwrap()
    };
    assert!(
        !check(Variant::V3, Metric::Accuracy).met,
        "0.667 is not > 0.75"
    );
    assert!(check(Variant::V3, Metric::WinLossCountRatio).met);
    assert!(check(Variant::V3, Metric::AvgWinOverAvgLoss).met);
    assert!(check(Variant::V3, Metric::CostPerSignal).met, "$4 < $5");
    assert!(
        check(Variant::V1, Metric::CostPerSignal).met,
        "$4 < $5 for v1 too"
    );
    assert!(check(Variant::V3, Metric::RoiImprovementVsV1).met);
    assert!(!r.v3_meets_all_targets());
    // The table prints every metric and every check.
    let text = r.to_string();
    assert!(
        text.contains("NOT met") && text.contains("cost per signal"),
        "{text}"
    );
}

#[test]
fn unknown_values_never_meet_a_target() {
    let b = MetricsBook::new(H, Targets::default(), 0);
    let r = b.report(0);
    assert!(r.checks.iter().all(|c| !c.met && c.value.is_none()));
    assert!(r
        .variants
        .iter()
        .all(|v| v.signals_per_day.is_none() && v.roi.is_none()));
}

#[test]
fn other_horizons_and_invalid_health_are_counted_not_used() {
    let mut b = MetricsBook::new(H, Targets::default(), 0);
    let mut o = outcome(Variant::V3, "x", Label::Win, 5);
    o.horizon_ns = 5 * NANOS_PER_MINUTE;
    assert!(!b.record_outcome(&o));
    assert_eq!(b.other_horizon_outcomes(), 1);
    assert!(b.tally(Variant::V3).is_none());
    assert!(!b.set_health(
        Variant::V3,
        EngineHealth {
            latency_p99_ms: f64::NAN,
            uptime: 1.0,
            error_rate: 0.0
        }
    ));
    assert!(!b.set_health(
        Variant::V3,
        EngineHealth {
            latency_p99_ms: 1.0,
            uptime: 1.5,
            error_rate: 0.0
        }
    ));
    assert_eq!(b.invalid_health_updates(), 2);
    assert!(b.report(1).variants[1].health.is_none());
}
