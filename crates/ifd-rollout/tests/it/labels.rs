//! Labels and their statistics through the public API: invariants (proptest), the
//! operating characteristic of the accuracy tests under no information, and the A/B test
//! fed by labels.

use std::collections::BTreeMap;

use ifd_rollout::{
    label_signals, outcome_table, pesaran_timmermann, AbTest, Decision, Direction,
    DirectionalSignal, EvalConfig, Grouping, Horizon, LabelInputs, MidSeries, SequentialConfig,
    SessionWindow, Variant, NANOS_PER_MINUTE, NANOS_PER_SECOND,
};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const T0: u64 = 1_700_000_000_000_000_000;

/// A seeded Gaussian random walk of mids, one point per second, from 21000.
fn walk(seed: u64, secs: u64, drift_bp_per_s: f64) -> MidSeries {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut s = MidSeries::new();
    let mut x = 21_000.0_f64;
    for i in 0..secs {
        s.push(T0 + i * NANOS_PER_SECOND, (x * 1e9) as i64);
        let u1: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
        let u2: f64 = rng.random();
        let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
        x *= 1.0 + (drift_bp_per_s + 0.5 * z) * 1e-4;
    }
    s
}

fn signal(id: u64, variant: Variant, at_s: u64, view: Direction, c: f64) -> DirectionalSignal {
    DirectionalSignal {
        signal_id: id,
        variant,
        pattern: if id % 2 == 0 { "sweep" } else { "block" }.into(),
        confidence: c,
        fired_at: T0 + at_s * NANOS_PER_SECOND,
        view,
        option: None,
    }
}

fn view(up: bool) -> Direction {
    if up {
        Direction::Up
    } else {
        Direction::Down
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Cluster ids never decrease in time and change exactly when a signal fires after
    /// every earlier window has closed; flipping every view negates every return.
    #[test]
    fn clusters_and_symmetry(
        seed in 0_u64..1_000,
        sigs in proptest::collection::vec((0_u64..3_000, any::<bool>()), 1..40),
    ) {
        let u = walk(seed, 4_000, 0.0);
        let options = BTreeMap::new();
        let inputs = LabelInputs { underlying: &u, options: &options, sessions: &[] };
        let h = Horizon::Fixed(5 * NANOS_PER_MINUTE);
        let a: Vec<_> = sigs.iter().enumerate()
            .map(|(i, &(t, up))| signal(i as u64, Variant::V3, t, view(up), 0.5)).collect();
        let b: Vec<_> = a.iter().cloned()
            .map(|mut s| { s.view = view(s.view == Direction::Down); s }).collect();
        let (la, sa) = label_signals(&inputs, &a, &[h]);
        let (lb, _) = label_signals(&inputs, &b, &[h]);
        prop_assert_eq!(sa.labelled as usize, a.len());
        let mut open_until = 0;
        for (i, l) in la.iter().enumerate() {
            if i > 0 {
                let prev = &la[i - 1];
                prop_assert!(l.fired_at >= prev.fired_at);
                let new_cluster = l.fired_at > open_until;
                prop_assert_eq!(l.cluster, prev.cluster + u64::from(new_cluster));
            }
            open_until = open_until.max(l.exit_at);
            let m = &lb[i];
            prop_assert_eq!(l.signal_id, m.signal_id);
            prop_assert!((l.signed_return_bp + m.signed_return_bp).abs() < 1e-12);
            prop_assert!(!(l.hit && m.hit));
        }
    }
}

/// With no information (signals at random times with random views on a driftless walk)
/// the one-sided accuracy tests at 5 % reject at about their nominal rate.
#[test]
fn accuracy_tests_hold_their_size_under_no_information() {
    let runs = 300;
    let (mut binom, mut pt) = (0, 0);
    for run in 0..runs {
        let u = walk(10_000 + run, 8 * 3_600, 0.0);
        let options = BTreeMap::new();
        let inputs = LabelInputs {
            underlying: &u,
            options: &options,
            sessions: &[],
        };
        let mut rng = ChaCha8Rng::seed_from_u64(run);
        // 60 non-overlapping 5-minute windows: independent labels.
        let sigs: Vec<_> = (0..60)
            .map(|i| {
                signal(
                    i,
                    Variant::V3,
                    i * 400 + rng.random_range(0..60),
                    view(rng.random_bool(0.5)),
                    0.5,
                )
            })
            .collect();
        let (labels, _) = label_signals(&inputs, &sigs, &[Horizon::Fixed(5 * NANOS_PER_MINUTE)]);
        let table = outcome_table(
            &labels,
            &EvalConfig {
                shuffles: 0,
                ..EvalConfig::default()
            },
            None,
        );
        let s = &table
            .overall(Variant::V3, Horizon::Fixed(5 * NANOS_PER_MINUTE))
            .unwrap()
            .stats;
        assert_eq!(s.clusters, 60);
        binom += usize::from(s.hit_p_binomial <= 0.05);
        pt += usize::from(s.pesaran_timmermann.is_some_and(|p| p.p_value <= 0.05));
    }
    println!("no information, 5 % one-sided: binomial rejects {binom}/{runs}, PT {pt}/{runs}");
    // Nominal 5 % of 300 = 15; a binomial 99 % band reaches about 26.
    assert!(binom <= 26, "binomial test rejected {binom} of {runs}");
    assert!(pt <= 26, "Pesaran–Timmermann rejected {pt} of {runs}");
    assert!(
        binom >= 3 && pt >= 3,
        "the tests are not dead: {binom} {pt}"
    );
}

/// On a walk with a known drift, bullish signals hit more often than ½, the table says
/// so, and a best row is reported with the number of rows it was picked from.
#[test]
fn a_drift_is_found_and_the_best_row_carries_its_count() {
    let mut u = walk(5, 6 * 3_600, 0.06);
    // The data runs to the close (the last point is one second before it).
    u.set_covered_until(T0 + 6 * 3_600 * NANOS_PER_SECOND);
    let options = BTreeMap::new();
    let sessions = [SessionWindow {
        start: T0,
        end: T0 + 6 * 3_600 * NANOS_PER_SECOND,
    }];
    let inputs = LabelInputs {
        underlying: &u,
        options: &options,
        sessions: &sessions,
    };
    let sigs: Vec<_> = (0..60)
        .map(|i| {
            signal(
                i,
                Variant::V3,
                i * 320,
                Direction::Up,
                f64::from(i as u32) / 60.0,
            )
        })
        .collect();
    let (labels, _) = label_signals(
        &inputs,
        &sigs,
        &[Horizon::Fixed(5 * NANOS_PER_MINUTE), Horizon::SessionClose],
    );
    let cfg = EvalConfig {
        shuffles: 50,
        min_n_for_best: 5,
        variants_tried_before: 3,
        ..EvalConfig::default()
    };
    let table = outcome_table(&labels, &cfg, Some(&inputs));
    let s = &table
        .overall(Variant::V3, Horizon::Fixed(5 * NANOS_PER_MINUTE))
        .unwrap()
        .stats;
    // 0.06 bp/s over 300 s against 0.5·√300 ≈ 8.7 bp: Φ(18/8.7) ≈ 0.98.
    assert!(s.hit_rate > 0.85, "{s:?}");
    assert!(s.hit_p_binomial < 1e-6);
    assert!(s.mean_test.unwrap().p_value < 1e-6);
    // All signals bullish on a rising walk: the up-rate guess is as good as the signals,
    // which is what the guess column is for.
    assert!(s.guess_hit_rate.unwrap() > 0.8);
    // The close horizon: every signal is in one session, so one cluster and no
    // clustered standard error.
    let close = &table
        .overall(Variant::V3, Horizon::SessionClose)
        .unwrap()
        .stats;
    assert_eq!(close.clusters, 1);
    assert!(close.mean_test.is_none());
    let best = table.best(|s| Some(s.hit_rate)).unwrap();
    let candidates = table.rows.iter().filter(|r| r.stats.n >= 5).count() as u64;
    assert_eq!(best.variants_tried, candidates + 3);
    assert!(table.rows.iter().any(|r| r.grouping == Grouping::Decile(9)));
    assert!(table
        .rows
        .iter()
        .any(|r| r.grouping == Grouping::Pattern("sweep".into())));
    let text = table.to_string();
    assert!(text.lines().count() == table.rows.len() + 1);
    assert!(
        pesaran_timmermann(&[(true, true); 3]).is_none(),
        "no variation, no test"
    );
}

/// The A/B test fed by labels decides on the hit rate at its horizon only.
#[test]
fn ab_test_reads_labels_at_its_horizon() {
    let u = walk(9, 30 * 3_600, 0.0);
    let options = BTreeMap::new();
    let inputs = LabelInputs {
        underlying: &u,
        options: &options,
        sessions: &[],
    };
    let h = Horizon::Fixed(5 * NANOS_PER_MINUTE);
    let mut ab = AbTest::for_labels(h, SequentialConfig::default()).unwrap();
    let mut sigs = Vec::new();
    for i in 0..350_u64 {
        let t = i * 300;
        // v3 takes the view the future confirms, v1 a fixed view.
        let r = ifd_rollout::signed_return_bp(&inputs, Direction::Up, T0 + t * NANOS_PER_SECOND, h);
        let right = view(r.is_some_and(|r| r > 0.0));
        sigs.push(signal(2 * i, Variant::V1, t, Direction::Up, 0.5));
        sigs.push(signal(
            2 * i + 1,
            Variant::V3,
            t,
            if i % 3 == 0 {
                view(right == Direction::Down)
            } else {
                right
            },
            0.5,
        ));
    }
    let (labels, _) = label_signals(&inputs, &sigs, &[h, Horizon::Fixed(30 * NANOS_PER_MINUTE)]);
    for l in &labels {
        ab.observe_label(l);
    }
    assert_eq!(ab.other_horizon_outcomes(), 700);
    let r = ab.report();
    assert_eq!(r.accuracy.decision, Decision::V3Better, "{r:?}");
    assert!((r.accuracy.mean_v3.unwrap() - 2.0 / 3.0).abs() < 0.01);
}

/// The metrics book reads labels: accuracy is the hit rate at its horizon.
#[test]
fn metrics_book_reads_labels() {
    let u = walk(21, 3 * 3_600, 0.0);
    let options = BTreeMap::new();
    let inputs = LabelInputs {
        underlying: &u,
        options: &options,
        sessions: &[],
    };
    let h = 5 * NANOS_PER_MINUTE;
    let sigs: Vec<_> = (0..30)
        .map(|i| signal(i, Variant::V3, i * 300, view(i % 3 != 0), 0.5))
        .collect();
    let (labels, _) = label_signals(&inputs, &sigs, &[Horizon::Fixed(h), Horizon::Fixed(2 * h)]);
    let mut book = ifd_rollout::MetricsBook::new(h, ifd_rollout::Targets::default(), T0);
    let taken = labels.iter().filter(|l| book.record_label(l)).count();
    assert_eq!(taken, 30);
    assert_eq!(book.other_horizon_outcomes(), 30);
    let hits = labels
        .iter()
        .filter(|l| l.horizon == Horizon::Fixed(h) && l.hit)
        .count() as u64;
    let t = book.tally(Variant::V3).unwrap();
    assert_eq!((t.resolved, t.wins), (30, hits));
    assert_eq!(t.pnl_stats.count(), 0, "no option leg, no P&L");
}

/// Overlapping windows: the clustered and the overlap-weighted (HAC) mean tests keep
/// their size where a naive test would not (signals every 100 s, 5-minute horizon:
/// each return shares two thirds of its window with the next).
#[test]
fn mean_tests_hold_their_size_with_overlapping_windows() {
    let runs = 300;
    let (mut hac, mut clustered) = (0, 0);
    for run in 0..runs {
        let u = walk(50_000 + run, 4 * 3_600, 0.0);
        let options = BTreeMap::new();
        let inputs = LabelInputs {
            underlying: &u,
            options: &options,
            sessions: &[],
        };
        let mut rng = ChaCha8Rng::seed_from_u64(run + 7);
        // Views persist in runs of 5 so overlapping returns share their sign.
        let mut up = true;
        let sigs: Vec<_> = (0..120)
            .map(|i| {
                if i % 5 == 0 {
                    up = rng.random_bool(0.5);
                }
                signal(i, Variant::V3, i * 100, view(up), 0.5)
            })
            .collect();
        let (labels, _) = label_signals(&inputs, &sigs, &[Horizon::Fixed(5 * NANOS_PER_MINUTE)]);
        let cfg = EvalConfig {
            shuffles: 0,
            ..EvalConfig::default()
        };
        let table = outcome_table(&labels, &cfg, None);
        let s = &table
            .overall(Variant::V3, Horizon::Fixed(5 * NANOS_PER_MINUTE))
            .unwrap()
            .stats;
        hac += usize::from(s.mean_test_hac.is_some_and(|m| m.p_value <= 0.05));
        clustered += usize::from(s.mean_test.is_some_and(|m| m.p_value <= 0.05));
    }
    println!("overlapping windows, 5 % one-sided: HAC rejects {hac}/{runs}, clustered {clustered}/{runs}");
    assert!(
        hac <= 26 && clustered <= 26,
        "hac {hac}, clustered {clustered} of {runs}"
    );
    assert!(hac >= 3, "the HAC test is not dead: {hac}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// The Wilson interval holds the observed rate, and the binomial p-value falls as
    /// hits rise.
    #[test]
    fn intervals_and_p_values_are_coherent(n in 1_u64..400, k in 0_u64..400) {
        let hits = k.min(n);
        let (lo, hi) = ifd_rollout::wilson_interval(hits, n, 0.95).unwrap();
        let rate = hits as f64 / n as f64;
        prop_assert!(lo <= rate + 1e-12 && rate <= hi + 1e-12 && 0.0 <= lo && hi <= 1.0);
        let p = ifd_rollout::binomial_p_at_least(hits, n, 0.5).unwrap();
        prop_assert!((0.0..=1.0).contains(&p));
        if hits < n {
            let q = ifd_rollout::binomial_p_at_least(hits + 1, n, 0.5).unwrap();
            prop_assert!(q <= p + 1e-12);
        }
    }
}
