use ifd_rollout::{AdaptiveThreshold, Label, ThresholdConfig, Variant};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Simulated detector: a signal with confidence c wins with probability c.
#[test]
fn converges_toward_the_target_precision_in_bounded_audited_steps() {
    let cfg = ThresholdConfig {
        initial: 0.5,
        min: 0.3,
        max: 0.95,
        target_precision: 0.8,
        ..ThresholdConfig::default()
    };
    let mut t = AdaptiveThreshold::new(Variant::V3, cfg).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let mut now = 0;
    for _ in 0..40 {
        for _ in 0..100 {
            let c: f64 = rng.random_range(0.3..1.0);
            if c >= t.current() {
                let win = rng.random_bool(c);
                t.observe(Some(c), Some(if win { Label::Win } else { Label::Loss }));
            }
        }
        now += 1;
        t.evaluate(now);
    }
    // Precision above θ is the mean of U(θ, 1) = (1 + θ)/2 ≥ 0.8 - 0.03 ⇔ θ ≳ 0.54..0.66.
    let theta = t.current();
    assert!(
        (0.54..=0.7).contains(&theta),
        "θ = {theta}, audit {:?}",
        t.audit()
    );
    assert!(!t.audit().is_empty());
    let mut prev = cfg.initial;
    for ch in t.audit() {
        assert!((ch.from - prev).abs() < 1e-12, "the audit chains");
        assert!((ch.to - ch.from).abs() <= cfg.max_step + 1e-12);
        assert!(ch.samples >= cfg.min_samples);
        prev = ch.to;
    }
}

#[cfg(feature = "testing")]
mod props {
    use super::*;
    use ifd_rollout::testing::messy_f64;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn invalid_inputs_never_move_it_and_valid_ones_stay_in_bounds(
            inputs in proptest::collection::vec((proptest::option::of(messy_f64(0.0..1.0)), any::<bool>()), 0..400)
        ) {
            let cfg = ThresholdConfig { min_samples: 20, window: 100, ..ThresholdConfig::default() };
            let mut t = AdaptiveThreshold::new(Variant::V1, cfg).unwrap();
            let mut shadow = AdaptiveThreshold::new(Variant::V1, cfg).unwrap();
            for (i, (c, win)) in inputs.into_iter().enumerate() {
                let label = Some(if win { Label::Win } else { Label::Loss });
                t.observe(c, label);
                // The shadow sees only the valid inputs: both must agree.
                if c.is_some_and(|c| (0.0..=1.0).contains(&c)) {
                    shadow.observe(c, label);
                }
                let now = i as u64;
                prop_assert_eq!(t.evaluate(now), shadow.evaluate(now));
                prop_assert!(t.current() >= cfg.min && t.current() <= cfg.max);
            }
        }
    }
}
