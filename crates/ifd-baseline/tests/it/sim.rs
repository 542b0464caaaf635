//! On the simulator (small `Quiet` preset): false discoveries on a normal day, planted
//! flow found, the end-of-day update, DBN bytes and persistence of a real baseline.

use std::collections::BTreeMap;

use ifd_baseline::{
    reliability, Baseline, BaselineBuilder, BuilderConfig, Calibration, Outcome, PressureFeed,
    WindowObservation,
};
use ifd_sim::{Preset, SimConfig, SimDay, Simulator};

const WINDOW_NS: u64 = 300_000_000_000;

fn simulator(seed: u64) -> Simulator {
    let mut cfg = SimConfig::preset(Preset::Quiet, seed);
    cfg.history_days = 20;
    Simulator::new(cfg)
}

fn feed_days(b: &mut BaselineBuilder, sim: &Simulator, days: std::ops::Range<u32>) {
    for i in days {
        let day = sim.history_day(i);
        for rec in day.records() {
            b.on_record(&rec).expect("fresh days");
        }
        b.end_session().expect("fresh days");
    }
}

fn build(sim: &Simulator, days: std::ops::Range<u32>) -> Baseline {
    let mut b = BaselineBuilder::new(BuilderConfig::default()).expect("config");
    feed_days(&mut b, sim, days);
    b.finish().expect("fresh day")
}

/// The observations of one day grouped by window start.
fn windows(day: &SimDay) -> BTreeMap<u64, Vec<WindowObservation>> {
    let cfg = BuilderConfig::default();
    let mut feed =
        PressureFeed::new(cfg.window_ns, cfg.baseline.bucket_minutes, None).expect("config");
    let mut out = Vec::new();
    for rec in day.records() {
        feed.on_record(&rec, &mut out);
    }
    feed.flush(&mut out);
    let mut by: BTreeMap<u64, Vec<WindowObservation>> = BTreeMap::new();
    for w in out {
        by.entry(w.window_start_ns).or_default().push(w);
    }
    by
}

struct DayScore {
    windows: usize,
    windows_with_discovery: usize,
    tests: usize,
    discoveries: usize,
    /// Smallest q per (window, instrument), with whether the truth planted flow there.
    pairs: Vec<(f64, bool)>,
    /// Smallest q over the (window, instrument) pairs of each planted flow, by its
    /// index in the truth.
    flows: BTreeMap<usize, f64>,
}

fn score_day(b: &Baseline, day: &SimDay) -> DayScore {
    let mut out = DayScore {
        windows: 0,
        windows_with_discovery: 0,
        tests: 0,
        discoveries: 0,
        pairs: Vec::new(),
        flows: BTreeMap::new(),
    };
    for (start, obs) in windows(day) {
        let o: Vec<_> = obs.iter().map(|w| w.observation).collect();
        let s = b.score_window(&o).expect("legal values");
        out.windows += 1;
        out.tests += s.tested();
        let d = s.discoveries(0.05).count();
        out.discoveries += d;
        out.windows_with_discovery += usize::from(d > 0);
        let mut best: BTreeMap<u32, f64> = BTreeMap::new();
        for (w, (_, outcome)) in obs.iter().zip(&s.items) {
            if let Outcome::Scored(sc) = outcome {
                let e = best.entry(w.instrument_id).or_insert(1.0);
                *e = e.min(sc.q_value);
            }
        }
        for (inst, q) in best {
            let mut planted = false;
            for (i, t) in day.truth.iter().enumerate() {
                if t.instrument_ids.contains(&inst)
                    && t.ts_start < start + WINDOW_NS
                    && t.ts_end >= start
                {
                    planted = true;
                    let e = out.flows.entry(i).or_insert(1.0);
                    *e = e.min(q);
                }
            }
            out.pairs.push((q, planted));
        }
    }
    out
}

#[test]
fn normal_day_false_discovery_share_is_at_most_5_percent() {
    for seed in [7, 3] {
        let sim = simulator(seed);
        let b = build(&sim, 0..20);
        assert_eq!(b.days(), 20);
        let s = score_day(&b, &sim.history_day(20));
        assert!(
            s.windows > 200,
            "a full session of 5-minute windows: {}",
            s.windows
        );
        assert!(
            s.tests > 1000,
            "enough tests to mean something: {}",
            s.tests
        );
        let share = s.windows_with_discovery as f64 / s.windows as f64;
        let test_share = s.discoveries as f64 / s.tests as f64;
        eprintln!(
            "seed {seed}: windows with a discovery (q < 0.05): {}/{} = {:.2}%; tests {}/{} = {:.3}%",
            s.windows_with_discovery,
            s.windows,
            100.0 * share,
            s.discoveries,
            s.tests,
            100.0 * test_share
        );
        assert!(share <= 0.05, "seed {seed}: {share}");
    }
}

#[test]
fn planted_flow_scores_far_above_the_rest() {
    let sim = simulator(7);
    let b = build(&sim, 0..20);
    let s = score_day(&b, &sim.flow_day());
    // One figure per planted flow (its best window on any of its instruments): a slow
    // accumulation spans six 5-minute windows and a cross-strike flow several strikes,
    // each small alone, so counting (window, instrument) pairs would weigh a flow by
    // its length and its legs.
    let planted: Vec<f64> = s.flows.values().copied().collect();
    let other: Vec<f64> = s.pairs.iter().filter(|p| !p.1).map(|p| p.0).collect();
    assert!(
        planted.len() >= 3,
        "the truth lands in scored windows: {planted:?}"
    );
    let rate = |v: &[f64]| v.iter().filter(|&&q| q < 0.05).count() as f64 / v.len() as f64;
    let (rp, ro) = (rate(&planted), rate(&other));
    eprintln!(
        "planted flows with a window of q < 0.05: {:.0}% of {}; other (window, instrument) pairs: {:.3}% of {}",
        100.0 * rp,
        planted.len(),
        100.0 * ro,
        other.len()
    );
    assert!(rp >= 0.5, "most planted flows are discoveries: {planted:?}");
    assert!(rp >= 50.0 * ro, "planted {rp} vs others {ro}");
    let med = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (mp, mo) = (med(&mut planted.clone()), med(&mut other.clone()));
    assert!(mp < 0.05 && mo > 0.5, "median q planted {mp}, others {mo}");
}

#[test]
fn end_of_day_update_drops_the_oldest_day() {
    let sim = simulator(5);
    let b20 = build(&sim, 0..20);
    let first = b20.trading_days().next();
    let mut up = BaselineBuilder::extend(b20.clone(), BuilderConfig::default()).expect("config");
    feed_days(&mut up, &sim, 20..21);
    let b21 = up.finish().expect("new day");
    assert_eq!(b21.days(), 20);
    assert_ne!(b21.trading_days().next(), first);
    assert_eq!(b21.trading_days().next(), b20.trading_days().nth(1));
    // Same result as building days 1..21 from scratch.
    assert_eq!(b21, build(&sim, 1..21));
    // Feeding a day again is refused.
    let mut again = BaselineBuilder::extend(b21, BuilderConfig::default()).expect("config");
    feed_days(&mut again, &sim, 20..21);
    assert!(again.stats().late_observations > 0);
}

#[test]
fn dbn_bytes_and_records_build_the_same_baseline_and_it_persists() {
    let sim = simulator(9);
    let mut from_bytes = BaselineBuilder::new(BuilderConfig::default()).expect("config");
    for i in 0..6 {
        let bytes = ifd_sim::to_dbn_bytes(&sim.history_day(i), false).expect("encode");
        from_bytes.on_dbn_bytes(&bytes).expect("valid DBN");
    }
    let stats = from_bytes.stats();
    assert!(stats.mbo > 0 && stats.definitions > 0);
    assert_eq!(stats.malformed, 0);
    let a = from_bytes.finish().expect("fresh");
    let b = build(&sim, 0..6);
    assert_eq!(a, b);
    assert_eq!(a.days(), 6);
    let saved = a.to_bytes();
    assert_eq!(Baseline::from_bytes(&saved).expect("round trip"), a);
    assert!(BaselineBuilder::new(BuilderConfig::default())
        .expect("config")
        .on_dbn_bytes(b"DBN\x03garbage")
        .is_err());
}

/// Raw confidence and truth of every scored (window, instrument) pair of a flow day:
/// the best confidence of the instrument's metrics in that window.
fn labelled_confidence(b: &Baseline, day: &SimDay) -> Vec<(f64, bool)> {
    let mut out = Vec::new();
    for (start, obs) in windows(day) {
        let o: Vec<_> = obs.iter().map(|w| w.observation).collect();
        let s = b.score_window(&o).expect("legal values");
        let mut best: BTreeMap<u32, f64> = BTreeMap::new();
        for (w, (_, outcome)) in obs.iter().zip(&s.items) {
            if let Outcome::Scored(sc) = outcome {
                let e = best.entry(w.instrument_id).or_insert(0.0);
                *e = e.max(sc.confidence);
            }
        }
        for (inst, c) in best {
            let planted = day.truth.iter().any(|t| {
                t.instrument_ids.contains(&inst)
                    && t.ts_start < start + WINDOW_NS
                    && t.ts_end >= start
            });
            out.push((c, planted));
        }
    }
    out
}

fn brier(pairs: &[(f64, bool)], map: impl Fn(f64) -> f64) -> f64 {
    let sum: f64 = pairs
        .iter()
        .map(|&(c, hit)| {
            let y = if hit { 1.0 } else { 0.0 };
            (map(c) - y).powi(2)
        })
        .sum();
    sum / pairs.len() as f64
}

#[test]
fn calibration_fitted_on_one_seed_improves_another() {
    let fit_sim = simulator(7);
    let train = labelled_confidence(&build(&fit_sim, 0..20), &fit_sim.flow_day());
    let cal = Calibration::fit(&train).expect("labelled pairs");
    // On the training data, isotonic regression matches the hit rate per block; the
    // deciles of the calibrated probability must be non-decreasing in hit rate order.
    let table = reliability(
        &train
            .iter()
            .map(|&(c, h)| (cal.apply(c), h))
            .collect::<Vec<_>>(),
        10,
    );
    assert_eq!(table.len(), 10);
    for b in &table {
        assert!((0.0..=1.0).contains(&b.mean_predicted));
    }
    let test_sim = simulator(3);
    let test = labelled_confidence(&build(&test_sim, 0..20), &test_sim.flow_day());
    let (raw, calibrated) = (brier(&test, |c| c), brier(&test, |c| cal.apply(c)));
    eprintln!("held-out Brier score: raw confidence {raw:.4}, calibrated {calibrated:.4}");
    for b in reliability(
        &test
            .iter()
            .map(|&(c, h)| (cal.apply(c), h))
            .collect::<Vec<_>>(),
        10,
    ) {
        eprintln!(
            "  decile [{:.3}, {:.3}] n={} predicted {:.3} observed {:.3}",
            b.lo, b.hi, b.count, b.mean_predicted, b.hit_rate
        );
    }
    assert!(calibrated < raw, "calibration must help on held-out data");
}
