//! Busy sessions (`DetectorConfig::regime`): the same print judged on a session as busy
//! as its history and on one several times busier.

use super::{detector, SEC, T0};
use ifd_patterns::testing::{event, TestMarket};
use ifd_patterns::{
    regime_p_value, Assessment, DetectorConfig, Pattern, PatternDetector, Reference,
    ReferenceMetric, RegimeConfig, Signal,
};
use ifd_pressure::{AggressorEvent, AggressorSide, OptionContract};
use proptest::prelude::*;

const HOUR: u64 = 3_600 * SEC;

/// A history that typically shows `per_hour` aggressor events an hour, finds an
/// event of `rare_from` lots or more rare (p `p_rare`) and smaller ones ordinary.
struct History {
    per_hour: f64,
    rare_from: f64,
    p_rare: f64,
}

impl Reference for History {
    fn assess(
        &self,
        _c: &OptionContract,
        _u: Option<i64>,
        _ts: u64,
        metric: ReferenceMetric,
        value: f64,
    ) -> Option<Assessment> {
        let p_value = match metric {
            ReferenceMetric::EventSize if value >= self.rare_from => self.p_rare,
            _ => 1.0,
        };
        Some(Assessment {
            p_value,
            z_score: 9.0,
            days: 20,
            typical: 2.0,
        })
    }

    fn expected_activity(&self, from_ns: u64, to_ns: u64, _quantile: f64) -> Option<f64> {
        #[allow(clippy::cast_precision_loss, reason = "test spans")]
        let hours = to_ns.saturating_sub(from_ns) as f64 / HOUR as f64;
        Some(self.per_hour * hours)
    }
}

/// An hour of one-lot prints on instrument 1, `n` of them, evenly spaced, then `last`
/// a minute later.
fn hour_then(n: u64, last: AggressorEvent) -> Vec<AggressorEvent> {
    let mut evs: Vec<AggressorEvent> = (0..n)
        .map(|i| {
            let side = if i % 2 == 0 {
                AggressorSide::Buy
            } else {
                AggressorSide::Sell
            };
            event(1, side, 1, 1, T0 + i * HOUR / n)
        })
        .collect();
    evs.push(last);
    evs
}

fn run(
    det: &mut PatternDetector,
    reference: &dyn Reference,
    evs: &[AggressorEvent],
) -> Vec<Signal> {
    let market = TestMarket::nq_chain(5);
    let mut out = Vec::new();
    for ev in evs {
        det.on_event(ev, &market, reference, &mut out);
    }
    det.flush(&market, reference, &mut out);
    out
}

fn of(out: &[Signal], pattern: Pattern) -> Vec<&Signal> {
    out.iter().filter(|s| s.pattern == pattern).collect()
}

/// 3,000 events in the hour before the print.
const BUSY: u64 = 3_000;
const LAST: u64 = T0 + HOUR + 60 * SEC;

fn ordinary() -> History {
    History {
        per_hour: 3_000.0,
        rare_from: 30.0,
        p_rare: 0.001,
    }
}

fn quieter_history() -> History {
    // A third of the session's activity: the session is about 2.8 times as busy once
    // the prior's 100 pseudo-events are added to both sides.
    History {
        per_hour: 1_000.0,
        ..ordinary()
    }
}

#[test]
fn a_sweep_at_the_ordinary_floor_is_held_to_a_busy_sessions_floor() {
    // 40 lots through three levels: twice the 20-lot floor.
    let sweep = event(3, AggressorSide::Buy, 40, 3, LAST);
    let evs = hour_then(BUSY, sweep);

    let mut det = detector();
    let out = run(&mut det, &ordinary(), &evs);
    let sweeps = of(&out, Pattern::Sweep);
    assert_eq!(sweeps.len(), 1, "{out:?}");
    let f = sweeps[0].evidence.activity_factor.unwrap();
    assert!((f - 1.0).abs() < 0.01, "{f}");
    assert_eq!(det.stats().busy_regime, 0);

    // Against a history a third as busy: the factor is about 2.8, the floor 56 lots.
    let mut det = detector();
    let out = run(&mut det, &quieter_history(), &evs);
    assert!(of(&out, Pattern::Sweep).is_empty(), "{out:?}");
    assert_eq!(det.stats().busy_regime, 1);
    let f = det.activity_factor().unwrap();
    let expected = RegimeConfig::default().factor(3_000.0, 1_000.0);
    assert!((f - expected).abs() < 0.1, "{f} vs {expected}");

    // A sweep of 60 lots clears the raised floor, and carries the factor.
    let big = event(3, AggressorSide::Buy, 60, 3, LAST);
    let out = run(&mut detector(), &quieter_history(), &hour_then(BUSY, big));
    let sweeps = of(&out, Pattern::Sweep);
    assert_eq!(sweeps.len(), 1, "{out:?}");
    assert!(sweeps[0].evidence.activity_factor.unwrap() > 2.0);

    // The regime off: the 40-lot sweep is raised whatever the history, with no factor.
    let mut det = PatternDetector::new(DetectorConfig {
        regime: RegimeConfig {
            enabled: false,
            ..RegimeConfig::default()
        },
        ..DetectorConfig::default()
    })
    .unwrap();
    let out = run(&mut det, &quieter_history(), &evs);
    let sweeps = of(&out, Pattern::Sweep);
    assert_eq!(sweeps.len(), 1, "{out:?}");
    assert_eq!(sweeps[0].evidence.activity_factor, None);
    assert_eq!(det.activity_factor(), None);
}

#[test]
fn a_block_is_held_to_the_square_root_of_the_factor() {
    // 200 lots: over the 150-lot floor, under 150 × √2.8 ≈ 250.
    let block = event(3, AggressorSide::Buy, 200, 1, LAST);
    let evs = hour_then(BUSY, block);
    let out = run(&mut detector(), &ordinary(), &evs);
    assert_eq!(of(&out, Pattern::Block).len(), 1, "{out:?}");
    let mut det = detector();
    let out = run(&mut det, &quieter_history(), &evs);
    assert!(of(&out, Pattern::Block).is_empty(), "{out:?}");
    assert_eq!(det.stats().busy_regime, 1);
    // 260 lots clear it.
    let big = event(3, AggressorSide::Buy, 260, 1, LAST);
    let out = run(&mut detector(), &quieter_history(), &hour_then(BUSY, big));
    assert_eq!(of(&out, Pattern::Block).len(), 1, "{out:?}");
}

#[test]
fn a_quiet_session_is_never_judged_more_sensitively() {
    // 300 events in the hour against a history of 3,000: factor 1, not 0.2; a 15-lot
    // three-level event stays under the 20-lot floor.
    let small = event(3, AggressorSide::Buy, 15, 3, LAST);
    let mut det = detector();
    let out = run(&mut det, &ordinary(), &hour_then(300, small));
    assert!(of(&out, Pattern::Sweep).is_empty(), "{out:?}");
    assert!((det.activity_factor().unwrap() - 1.0).abs() < 1e-12);
}

#[test]
fn a_sweeps_size_p_value_is_that_of_the_largest_of_r_times_as_many_prints() {
    // Floors left alone: only the p-value rule. A p-value of 0.05 passes the 0.10 cut
    // on an ordinary session; as the largest of 2.8 times as many prints it is 0.13.
    let cfg = DetectorConfig {
        regime: RegimeConfig {
            sweep_floor_exponent: 0.0,
            block_floor_exponent: 0.0,
            accum_volume_exponent: 0.0,
            ..RegimeConfig::default()
        },
        ..DetectorConfig::default()
    };
    let sweep = event(3, AggressorSide::Buy, 40, 3, LAST);
    let evs = hour_then(BUSY, sweep);
    let p_rare = |h: History| History { p_rare: 0.05, ..h };
    let mut det = PatternDetector::new(cfg.clone()).unwrap();
    let out = run(&mut det, &p_rare(ordinary()), &evs);
    let sweeps = of(&out, Pattern::Sweep);
    assert_eq!(sweeps.len(), 1, "{out:?}");
    assert!((sweeps[0].p_value.unwrap() - 0.05).abs() < 1e-3);
    let mut det = PatternDetector::new(cfg).unwrap();
    let out = run(&mut det, &p_rare(quieter_history()), &evs);
    assert!(of(&out, Pattern::Sweep).is_empty(), "{out:?}");
    assert_eq!(det.stats().baseline_rejected, 1);
}

#[test]
fn regime_settings_are_validated() {
    for bad in [
        RegimeConfig {
            max_factor: 0.5,
            ..RegimeConfig::default()
        },
        RegimeConfig {
            window_ns: 0,
            ..RegimeConfig::default()
        },
        RegimeConfig {
            prior_events: f64::NAN,
            ..RegimeConfig::default()
        },
        RegimeConfig {
            sweep_floor_exponent: -1.0,
            ..RegimeConfig::default()
        },
    ] {
        let cfg = DetectorConfig {
            regime: bad,
            ..DetectorConfig::default()
        };
        assert!(cfg.validate().is_err(), "{bad:?}");
    }
}

proptest! {
    #[test]
    fn the_factor_is_at_least_one_capped_and_monotone(
        s in 0.0f64..1e7, t in 0.0f64..1e7, ds in 0.0f64..1e6, dt in 0.0f64..1e6,
        k in 0.0f64..1e4, cap in 1.0f64..10.0,
    ) {
        let c = RegimeConfig { prior_events: k, max_factor: cap, ..RegimeConfig::default() };
        let f = c.factor(s, t);
        prop_assert!((1.0..=cap).contains(&f), "{f}");
        prop_assert!(c.factor(s + ds, t) >= f);
        prop_assert!(c.factor(s, t + dt) <= f);
        prop_assert_eq!(c.factor(f64::NAN, t), 1.0);
        prop_assert_eq!(c.factor(s, -1.0), 1.0);
    }

    #[test]
    fn the_regime_p_value_is_between_p_and_one_and_grows_with_the_factor(
        p in 0.0f64..=1.0, r in 0.0f64..10.0, dr in 0.0f64..10.0,
    ) {
        let a = regime_p_value(p, r);
        prop_assert!(a >= p && a <= 1.0, "{a}");
        prop_assert!(regime_p_value(p, r + dr) >= a);
        if r <= 1.0 {
            prop_assert_eq!(a, p);
        }
    }

    #[test]
    fn a_scaled_floor_never_falls_below_the_floor(
        floor in 0u64..100_000, r in 0.0f64..10.0, e in 0.0f64..4.0, dr in 0.0f64..10.0,
    ) {
        let x = RegimeConfig::scaled_floor(floor, r, e);
        prop_assert!(x >= floor);
        prop_assert!(RegimeConfig::scaled_floor(floor, r + dr, e) >= x);
    }
}
