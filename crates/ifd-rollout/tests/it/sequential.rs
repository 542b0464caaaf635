//! Operating characteristics of the sequential tests on simulated data (seeded).

use ifd_rollout::{Decision, MeanTest, ProportionTest, SequentialConfig, Variant};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const RUNS: usize = 500;
const PER_ARM: usize = 1_500;

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    // Box-Muller.
    let u1: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Runs `RUNS` experiments of `PER_ARM` interleaved observations per arm, monitored
/// after every observation; returns how many ended with each decision.
fn proportion_runs(seed: u64, p1: f64, p3: f64) -> (usize, usize) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut better, mut worse) = (0, 0);
    for _ in 0..RUNS {
        let mut t = ProportionTest::new(SequentialConfig::default()).unwrap();
        for _ in 0..PER_ARM {
            t.observe(Variant::V1, rng.random_bool(p1));
            t.observe(Variant::V3, rng.random_bool(p3));
            if t.result().decision != Decision::NoDifferenceYet {
                break;
            }
        }
        match t.result().decision {
            Decision::V3Better => better += 1,
            Decision::V3Worse => worse += 1,
            Decision::NoDifferenceYet => {}
        }
    }
    (better, worse)
}

fn mean_runs(seed: u64, shift: f64, skewed: bool) -> (usize, usize) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let draw = |rng: &mut ChaCha8Rng| {
        if skewed {
            // P&L-like: many small losses, a few large wins (mean 0).
            if rng.random_bool(0.2) {
                40.0 + 10.0 * normal(rng)
            } else {
                -10.0 + 3.0 * normal(rng)
            }
        } else {
            normal(rng)
        }
    };
    let (mut better, mut worse) = (0, 0);
    for _ in 0..RUNS {
        let mut t = MeanTest::new(SequentialConfig::default()).unwrap();
        for _ in 0..PER_ARM {
            let a = draw(&mut rng);
            let b = draw(&mut rng) + shift;
            t.observe(Variant::V1, a);
            t.observe(Variant::V3, b);
            if t.result().decision != Decision::NoDifferenceYet {
                break;
            }
        }
        match t.result().decision {
            Decision::V3Better => better += 1,
            Decision::V3Worse => worse += 1,
            Decision::NoDifferenceYet => {}
        }
    }
    (better, worse)
}

#[allow(clippy::cast_precision_loss, reason = "run counts are tiny")]
fn rate(k: usize) -> f64 {
    k as f64 / RUNS as f64
}

#[test]
fn proportion_test_type_i_error_is_at_most_alpha_under_continuous_monitoring() {
    for (seed, p) in [(1, 0.5), (2, 0.75), (3, 0.9)] {
        let (b, w) = proportion_runs(seed, p, p);
        assert!(
            rate(b + w) <= 0.05,
            "p = {p}: {} false rejections in {RUNS}",
            b + w
        );
    }
}

#[test]
fn mean_test_type_i_error_is_at_most_alpha_under_continuous_monitoring() {
    for (seed, skewed) in [(4, false), (5, true)] {
        let (b, w) = mean_runs(seed, 0.0, skewed);
        assert!(
            rate(b + w) <= 0.05,
            "skewed = {skewed}: {} false rejections",
            b + w
        );
    }
}

#[test]
fn the_simulation_would_catch_an_invalid_test() {
    // A naive fixed-sample z-test looked at after every 10 pairs rejects a true null far
    // more often than 5%: the harness above can tell valid from invalid.
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    let mut rejected = 0;
    for _ in 0..RUNS {
        let (mut s1, mut s3) = (0.0_f64, 0.0_f64);
        for n in 1..=PER_ARM {
            s1 += f64::from(u8::from(rng.random_bool(0.5)));
            s3 += f64::from(u8::from(rng.random_bool(0.5)));
            #[allow(clippy::cast_precision_loss, reason = "n <= 1500")]
            let nf = n as f64;
            if n >= 30 && n % 10 == 0 {
                let (p1, p3) = (s1 / nf, s3 / nf);
                let pooled = (s1 + s3) / (2.0 * nf);
                let se = (2.0 * pooled * (1.0 - pooled) / nf).sqrt();
                if se > 0.0 && ((p3 - p1) / se).abs() > 1.96 {
                    rejected += 1;
                    break;
                }
            }
        }
    }
    assert!(
        rate(rejected) > 0.15,
        "naive peeking rejected only {rejected}"
    );
}

#[test]
fn proportion_test_has_power_on_a_known_effect_and_signs_it() {
    // 60% vs 70% accuracy.
    let (b, w) = proportion_runs(7, 0.6, 0.7);
    assert!(rate(b) >= 0.8 && w == 0, "better {b}, worse {w}");
    let (b, w) = proportion_runs(8, 0.7, 0.6);
    assert!(rate(w) >= 0.8 && b == 0, "better {b}, worse {w}");
}

#[test]
fn mean_test_has_power_on_a_known_effect_and_signs_it() {
    // A shift of 0.2 standard deviations.
    let (b, w) = mean_runs(9, 0.2, false);
    assert!(rate(b) >= 0.8 && w == 0, "better {b}, worse {w}");
    let (b, w) = mean_runs(10, -0.2, false);
    assert!(rate(w) >= 0.8 && b == 0, "better {b}, worse {w}");
}

#[test]
fn confidence_sequence_covers_the_true_difference() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let mut missed = 0;
    for _ in 0..RUNS {
        let mut t = MeanTest::new(SequentialConfig::default()).unwrap();
        let mut ever_missed = false;
        for _ in 0..500 {
            t.observe(Variant::V1, normal(&mut rng));
            t.observe(Variant::V3, normal(&mut rng) + 0.3);
            if let Some((lo, hi)) = t.result().ci {
                ever_missed |= !(lo <= 0.3 && 0.3 <= hi);
            }
        }
        missed += usize::from(ever_missed);
    }
    assert!(
        rate(missed) <= 0.05,
        "the sequence missed the truth at some time in {missed} runs"
    );
}

#[test]
fn non_finite_samples_never_count() {
    let mut t = MeanTest::new(SequentialConfig::default()).unwrap();
    for _ in 0..100 {
        assert!(!t.observe(Variant::V3, f64::NAN));
        assert!(!t.observe(Variant::V1, f64::NEG_INFINITY));
    }
    let r = t.result();
    assert_eq!((r.n_v1, r.n_v3, t.skipped_non_finite()), (0, 0, 200));
    assert_eq!(r.decision, Decision::NoDifferenceYet);
}

#[test]
fn ab_test_feeds_both_tests_and_survives_persistence() {
    use ifd_rollout::{AbTest, Direction, Label, Outcome};
    use rust_decimal::Decimal;
    let mut ab = AbTest::new(60, SequentialConfig::default()).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(12);
    for i in 0..400_u64 {
        let variant = if i % 2 == 0 { Variant::V1 } else { Variant::V3 };
        let win = rng.random_bool(if variant == Variant::V3 { 0.85 } else { 0.55 });
        let o = Outcome {
            signal_id: i,
            variant,
            pattern: "p".into(),
            direction: Direction::Up,
            confidence: 0.9,
            fired_at: 0,
            horizon_ns: 60,
            entry_mid: 1,
            entry_touch: 1,
            exit_mid: 1,
            move_px: 0,
            band_px: 0,
            underlying_move_px: None,
            label: if win { Label::Win } else { Label::Loss },
            pnl: Decimal::from(if win { 10 } else { -10 }),
        };
        assert!(ab.observe(&o));
        assert!(!ab.observe(&Outcome {
            horizon_ns: 61,
            ..o
        }));
    }
    assert_eq!(
        (
            ab.resolved(Variant::V1),
            ab.resolved(Variant::V3),
            ab.other_horizon_outcomes()
        ),
        (200, 200, 400)
    );
    let r = ab.report();
    assert_eq!(r.accuracy.decision, Decision::V3Better);
    assert_eq!(r.pnl.decision, Decision::V3Better);
    let (lo, hi) = r.accuracy.ci.unwrap();
    assert!(lo > 0.0 && hi < 0.6, "({lo}, {hi})");
    let snap = ab.snapshot(20.0, 1.0, 0.0);
    assert_eq!((snap.resolved_v1, snap.resolved_v3), (200, 200));
    let back = AbTest::from_bytes(&ab.to_bytes().unwrap()).unwrap();
    assert_eq!(back, ab);
}
