//! Planted information, measured with ifd-rollout's labels: the hit rate of the planted
//! flows' own directions recovers `p·Φ(μ/σ) + (1 − p)/2`, and without information the
//! accuracy tests reject at their nominal rate over 200 seeds.
//!
//! These experiments use [`ifd_sim::information_path`], the simulator's underlying model
//! with the same drift a full session plants, without the book: a full session costs
//! seconds in a debug build, a path milliseconds. One full-session test checks that the
//! sessions carry the same draws.

use std::collections::BTreeMap;

use ifd_rollout::{
    binomial_p_at_least, label_signals, pesaran_timmermann, wilson_interval, Direction,
    DirectionalSignal, Horizon, LabelInputs, MidSeries, Variant,
};
use ifd_sim::{
    information_path, Information, PlannedFlow, Preset, SimConfig, Simulator, TruthDirection,
};
use statrs::distribution::{ContinuousCDF, Normal};

const SEC: u64 = 1_000_000_000;
const WINDOW: u64 = 30 * 60 * SEC;

fn config(seed: u64, p: f64, mu_bp: f64) -> SimConfig {
    let mut cfg = SimConfig::preset(Preset::Quiet, seed);
    // Jumps would fatten the tails beyond the Gaussian σ of the formula.
    cfg.jumps_per_day = 0.0;
    cfg.information = Some(Information {
        p,
        mu_bp,
        onset_ns: 0,
        horizon_ns: WINDOW,
        decay_ns: None,
    });
    cfg
}

/// Flows every 35 minutes over the session (non-overlapping 30-minute windows), with
/// directions from a seeded splitmix.
fn planned(seed: u64) -> Vec<PlannedFlow> {
    let mut z = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..39)
        .map(|i| {
            z ^= z << 13;
            z ^= z >> 7;
            z ^= z << 17;
            PlannedFlow {
                offset_ns: 60 * SEC + i * 35 * 60 * SEC,
                direction: if z & 1 == 0 {
                    TruthDirection::Bullish
                } else {
                    TruthDirection::Bearish
                },
            }
        })
        .collect()
}

struct Measured {
    n: u64,
    hits: u64,
    expected: f64,
    informed: u64,
    pairs: Vec<(bool, bool)>,
}

/// Labels the planted flows of `days` sessions at 30 minutes from the path's mids.
fn measure(seed: u64, p: f64, mu_bp: f64, days: u32) -> Measured {
    let phi = Normal::standard();
    let mut m = Measured {
        n: 0,
        hits: 0,
        expected: 0.0,
        informed: 0,
        pairs: Vec::new(),
    };
    for day in 0..days {
        let cfg = config(seed, p, mu_bp);
        let flows = planned(seed * 1_000 + u64::from(day));
        let ip = information_path(&cfg, day, &flows);
        let mut mids = MidSeries::new();
        for (s, level) in ip.path.iter().enumerate() {
            mids.push(ip.session_start + s as u64 * SEC, (level * 1e9) as i64);
        }
        let options = BTreeMap::new();
        let inputs = LabelInputs {
            underlying: &mids,
            options: &options,
            sessions: &[],
        };
        let signals: Vec<DirectionalSignal> = flows
            .iter()
            .enumerate()
            .map(|(i, f)| DirectionalSignal {
                signal_id: i as u64,
                variant: Variant::V3,
                pattern: "planted".into(),
                confidence: 1.0,
                fired_at: ip.session_start + f.offset_ns,
                view: match f.direction {
                    TruthDirection::Bullish => Direction::Up,
                    TruthDirection::Bearish => Direction::Down,
                },
                option: None,
            })
            .collect();
        let (labels, _) = label_signals(&inputs, &signals, &[Horizon::Fixed(WINDOW)]);
        for l in &labels {
            let sigma = ip.diffusion_sd_bp(&cfg, l.fired_at, WINDOW);
            m.n += 1;
            m.hits += u64::from(l.hit);
            m.expected += p * phi.cdf(mu_bp / sigma) + (1.0 - p) / 2.0;
            let up = match l.view {
                Direction::Up => l.hit,
                Direction::Down => !l.hit,
            };
            m.pairs.push((l.view == Direction::Up, up));
        }
        m.informed += ip.informed.iter().filter(|i| **i == Some(true)).count() as u64;
    }
    m.expected /= m.n as f64;
    m
}

#[test]
fn planted_accuracy_is_recovered_at_every_p() {
    for (p, seed) in [(0.5, 1), (0.6, 2), (0.75, 3)] {
        let m = measure(seed, p, 20.0, 20);
        let (lo, hi) = wilson_interval(m.hits, m.n, 0.95).unwrap();
        let rate = m.hits as f64 / m.n as f64;
        println!(
            "p = {p}: {} flows, {} informed, hit rate {rate:.3} [{lo:.3}, {hi:.3}], planted {:.3}",
            m.n, m.informed, m.expected
        );
        assert!(
            lo <= m.expected && m.expected <= hi,
            "p = {p}: planted {:.3} outside [{lo:.3}, {hi:.3}]",
            m.expected
        );
        let (ilo, ihi) = wilson_interval(m.informed, m.n, 0.99).unwrap();
        assert!(
            ilo <= p && p <= ihi,
            "informed share {} of {}",
            m.informed,
            m.n
        );
        // Planted information is significant.
        assert!(binomial_p_at_least(m.hits, m.n, 0.5).unwrap() < 0.01);
    }
}

#[test]
fn without_information_the_accuracy_tests_hold_their_size_over_200_seeds() {
    let seeds = 200;
    let (mut binom, mut pt) = (0_u32, 0_u32);
    for seed in 0..seeds {
        let m = measure(10_000 + seed, 0.5, 0.0, 1);
        binom += u32::from(binomial_p_at_least(m.hits, m.n, 0.5).unwrap() <= 0.05);
        pt += u32::from(pesaran_timmermann(&m.pairs).is_some_and(|t| t.p_value <= 0.05));
    }
    println!(
        "null (p = 0.5, mu = 0): binomial rejects {binom}/{seeds}, Pesaran-Timmermann {pt}/{seeds}"
    );
    // Nominal 5 % = 10 of 200; the 99 % binomial band of a 5 % test reaches 18.
    assert!(binom <= 18 && pt <= 18, "{binom} {pt}");
    assert!(binom + pt >= 2, "the tests are not dead");
}

#[test]
fn sessions_record_which_flows_were_informed() {
    let mut cfg = SimConfig::preset(Preset::Quiet, 4);
    let plain = Simulator::new(cfg.clone()).session(0, true);
    assert!(plain.truth.iter().all(|t| t.informed.is_none()));
    cfg.information = Some(Information {
        p: 0.0,
        mu_bp: 30.0,
        onset_ns: 0,
        horizon_ns: WINDOW,
        decay_ns: None,
    });
    let none = Simulator::new(cfg.clone()).session(0, true);
    assert!(none.truth.iter().all(|t| t.informed == Some(false)));
    assert_eq!(none.mbo, plain.mbo, "uninformed flows move nothing");
    cfg.information = Some(Information {
        p: 1.0,
        ..cfg.information.unwrap()
    });
    let all = Simulator::new(cfg).session(0, true);
    assert!(!all.truth.is_empty());
    assert!(all.truth.iter().all(|t| t.informed == Some(true)));
    assert_ne!(all.mbo, plain.mbo, "informed flows move the underlying");
    assert!(ifd_sim::truth_to_jsonl(&all.truth).contains("\"informed\":true"));
}
