//! The accumulation's slow tier: one participant working an order in clips for an
//! hour and more, too slowly for the half-hour window's net-volume floor.

use std::cell::RefCell;

use ifd_patterns::testing::{event, TestMarket};
use ifd_patterns::{
    Assessment, DetectorConfig, FlowSide, NoReference, Pattern, PatternDetector, PatternStats,
    Reference, ReferenceMetric, Signal,
};
use ifd_pressure::{AggressorEvent, AggressorSide, OptionContract};

use super::{SEC, T0};

const MIN: u64 = 60 * SEC;

/// Clips of `sizes` in turn on instrument 2 (a put), one every `every_s` seconds,
/// `n` of them, on `side`.
fn clips(n: u64, every_s: u64, sizes: &[u64], side: AggressorSide) -> Vec<AggressorEvent> {
    (0..n)
        .map(|i| {
            let size = sizes[(i as usize) % sizes.len()];
            event(2, side, size, 1, T0 + i * every_s * SEC)
        })
        .collect()
}

fn accumulations<R: Reference>(
    cfg: DetectorConfig,
    evs: &[AggressorEvent],
    reference: &R,
) -> (Vec<Signal>, PatternStats) {
    let market = TestMarket::nq_chain(3);
    let mut det = PatternDetector::new(cfg).unwrap();
    let mut out = Vec::new();
    for ev in evs {
        det.on_event(ev, &market, reference, &mut out);
    }
    det.flush(&market, reference, &mut out);
    out.retain(|s| s.pattern == Pattern::Accumulation);
    (out, det.stats())
}

/// Whether `cfg` raises an accumulation on `evs` without a baseline (each rule's test
/// turns the rule off with it to show the rule is what holds the window back).
fn raised(cfg: DetectorConfig, evs: &[AggressorEvent]) -> bool {
    !accumulations(cfg, evs, &NoReference).0.is_empty()
}

fn fast_only() -> DetectorConfig {
    DetectorConfig {
        accum_slow_buckets: 0,
        ..DetectorConfig::default()
    }
}

/// 24 clips of 8 or 9 lots (204 lots), one every 210 s for 84 minutes: at most 78
/// lots in any half hour.
fn slow_selling() -> Vec<AggressorEvent> {
    clips(24, 210, &[8, 9], AggressorSide::Sell)
}

#[test]
fn a_slow_accumulation_is_found_by_the_slow_tier_only() {
    let evs = slow_selling();
    // The half-hour window alone never reaches its 100-lot floor.
    let (out, _) = accumulations(fast_only(), &evs, &NoReference);
    assert!(out.is_empty(), "{out:?}");
    // The slow tier sees one participant selling for over an hour.
    let (out, _) = accumulations(DetectorConfig::default(), &evs, &NoReference);
    assert!(!out.is_empty());
    let first = &out[0];
    assert_eq!(first.side, FlowSide::Sell);
    assert!(first.size >= 100, "{first:?}");
    assert!(first.size <= 204, "{first:?}");
    // Its window reaches beyond the half hour: that is what found it.
    let span = first.evidence.window_end - first.evidence.window_start;
    assert!(span > 30 * MIN, "window {} s", span / SEC);
    assert!(span <= 90 * MIN, "window {} s", span / SEC);
    assert!(first.evidence.observed >= 12.0, "{:?}", first.evidence);
    let ids: std::collections::BTreeSet<u64> = out.iter().map(|s| s.signal_id).collect();
    assert_eq!(ids.len(), 1, "one flow, possibly updated");
}

#[test]
fn the_slow_tier_needs_persistence() {
    // The same 204 lots in six clips of 34 lots over 84 minutes: six active minutes,
    // under the slow tier's twelve (and each clip is a sixth of the volume).
    let evs = clips(6, 1_000, &[34], AggressorSide::Sell);
    let (out, _) = accumulations(DetectorConfig::default(), &evs, &NoReference);
    assert!(out.is_empty(), "{out:?}");
    assert!(raised(
        DetectorConfig {
            accum_slow_min_active: 6,
            ..DetectorConfig::default()
        },
        &evs
    ));
}

#[test]
fn a_slow_crowd_of_small_tickets_is_not_an_accumulation() {
    // Retail tickets of 2 to 4 lots (135 lots), one every two minutes for 90 minutes:
    // 45 lots a half hour, and over the hour and a half a one-sided crowd.
    let evs = clips(45, 120, &[2, 3, 4], AggressorSide::Buy);
    let (out, stats) = accumulations(DetectorConfig::default(), &evs, &NoReference);
    assert!(out.is_empty(), "{out:?}");
    assert!(stats.crowd > 0);
    // Without the median-clip floor the slow tier would raise it.
    assert!(raised(
        DetectorConfig {
            accum_min_median_clip: 0,
            ..DetectorConfig::default()
        },
        &evs
    ));
}

#[test]
fn a_slow_window_made_by_one_print_is_not_an_accumulation() {
    // Fourteen clips of 5 lots over 84 minutes and one print of 60 lots near the end:
    // 130 lots, of which the one print holds 46 %.
    let mut evs = clips(14, 360, &[5], AggressorSide::Buy);
    evs.push(event(
        2,
        AggressorSide::Buy,
        60,
        1,
        T0 + 80 * MIN + 30 * SEC,
    ));
    evs.sort_by_key(|e| e.ts_recv);
    let (out, stats) = accumulations(DetectorConfig::default(), &evs, &NoReference);
    assert!(out.is_empty(), "{out:?}");
    assert!(stats.accum_one_print > 0);
    assert!(raised(
        DetectorConfig {
            accum_max_event_share: 1.0,
            ..DetectorConfig::default()
        },
        &evs
    ));
}

#[test]
fn a_slow_two_sided_market_is_not_an_accumulation() {
    // Clips of 9 lots bought every 3 minutes and of 5 lots sold in between, for 90
    // minutes: 270 lots bought, 150 sold, imbalance 0.29.
    let mut evs = clips(30, 180, &[9], AggressorSide::Buy);
    evs.extend(
        clips(30, 180, &[5], AggressorSide::Sell)
            .into_iter()
            .map(|mut e| {
                e.ts_recv += 90 * SEC;
                e.ts_event += 90 * SEC;
                e
            }),
    );
    evs.sort_by_key(|e| e.ts_recv);
    let (out, _) = accumulations(DetectorConfig::default(), &evs, &NoReference);
    assert!(out.is_empty(), "{out:?}");
    assert!(raised(
        DetectorConfig {
            accum_min_imbalance: 0.2,
            ..DetectorConfig::default()
        },
        &evs
    ));
}

/// A baseline that records the metrics it was asked about and answers with `p`.
struct Recording {
    p: f64,
    asked: RefCell<Vec<(ReferenceMetric, f64)>>,
}

impl Reference for Recording {
    fn assess(
        &self,
        _c: &OptionContract,
        _u: Option<i64>,
        _ts: u64,
        m: ReferenceMetric,
        v: f64,
    ) -> Option<Assessment> {
        self.asked.borrow_mut().push((m, v));
        Some(Assessment {
            p_value: self.p,
            z_score: 3.0,
            days: 20,
            typical: 1.0,
        })
    }
}

#[test]
fn the_slow_tier_is_scored_against_the_baseline_over_its_own_window() {
    let evs = slow_selling();
    let unusual = Recording {
        p: 0.001,
        asked: RefCell::new(Vec::new()),
    };
    let (out, _) = accumulations(DetectorConfig::default(), &evs, &unusual);
    assert!(!out.is_empty());
    assert!(out[0].p_value.is_some());
    let asked = unusual.asked.borrow();
    let volume: Vec<_> = asked
        .iter()
        .filter(|(m, _)| !matches!(m, ReferenceMetric::EventSize))
        .collect();
    assert!(!volume.is_empty());
    for (m, v) in &volume {
        // The sell volume of the hour-and-a-half window, not of the half hour.
        assert_eq!(
            *m,
            ReferenceMetric::SellVolume {
                window_ns: 90 * MIN
            }
        );
        assert!(*v >= 100.0, "{v}");
    }
    // A rate the contract's history calls ordinary raises nothing.
    let ordinary = Recording {
        p: 0.3,
        asked: RefCell::new(Vec::new()),
    };
    let (out, stats) = accumulations(DetectorConfig::default(), &evs, &ordinary);
    assert!(out.is_empty(), "{out:?}");
    assert!(stats.baseline_rejected > 0);
}

#[test]
fn the_slow_window_must_hold_its_persistence() {
    let bad = DetectorConfig {
        accum_slow_buckets: 10,
        accum_slow_min_active: 12,
        ..DetectorConfig::default()
    };
    assert!(PatternDetector::new(bad).is_err());
    let off = DetectorConfig {
        accum_slow_buckets: 0,
        ..DetectorConfig::default()
    };
    assert!(PatternDetector::new(off).is_ok());
    assert!(PatternDetector::new(DetectorConfig::default()).is_ok());
}

#[test]
fn a_signalled_flow_is_not_raised_again_by_the_slow_tier() {
    // Ten minutes of clips (an accumulation the half-hour window signals), then 30
    // minutes of nothing (past the 30-minute merge gap), then the same desk working on
    // slowly: thirteen clips of 8 lots, one every 4 minutes (104 lots in 48 minutes,
    // at most 64 in any half hour).
    let mut evs = super::buy_clips(T0);
    evs.extend(
        clips(13, 240, &[8], AggressorSide::Buy)
            .into_iter()
            .map(|mut e| {
                e.ts_recv += 41 * MIN;
                e.ts_event += 41 * MIN;
                e
            }),
    );
    let (out, _) = accumulations(DetectorConfig::default(), &evs, &NoReference);
    assert!(!out.is_empty());
    let ids: std::collections::BTreeSet<u64> = out.iter().map(|s| s.signal_id).collect();
    assert_eq!(
        ids.len(),
        1,
        "the later clips are not a second flow: {out:?}"
    );
    assert!(out.iter().all(|s| s.ts_recv < T0 + 11 * MIN), "{out:?}");
    // The same later clips alone are a slow accumulation.
    let later: Vec<_> = evs
        .iter()
        .filter(|e| e.ts_recv > T0 + 40 * MIN)
        .copied()
        .collect();
    let (out, _) = accumulations(DetectorConfig::default(), &later, &NoReference);
    assert!(!out.is_empty());
}

/// A baseline that calls every window ordinary before `until` and unusual after.
struct OrdinaryUntil {
    until: u64,
}

impl Reference for OrdinaryUntil {
    fn assess(
        &self,
        _c: &OptionContract,
        _u: Option<i64>,
        ts: u64,
        _m: ReferenceMetric,
        _v: f64,
    ) -> Option<Assessment> {
        Some(Assessment {
            p_value: if ts < self.until { 0.5 } else { 0.001 },
            z_score: 3.0,
            days: 20,
            typical: 1.0,
        })
    }
}

#[test]
fn a_slow_window_whose_order_is_no_longer_worked_is_not_raised() {
    // The slow selling of 84 minutes, held back while it trades (the baseline calls
    // it ordinary then), and one sell print of 5 lots 35 minutes after its last clip:
    // the window still holds the clips of its last hour, none of its last half hour.
    let mut evs = slow_selling();
    let late = T0 + 23 * 210 * SEC + 35 * MIN;
    evs.push(event(2, AggressorSide::Sell, 5, 1, late));
    let reference = OrdinaryUntil { until: late };
    let (out, stats) = accumulations(DetectorConfig::default(), &evs, &reference);
    assert!(out.is_empty(), "{out:?}");
    assert!(stats.accum_slow_stale > 0);
    let (out, _) = accumulations(
        DetectorConfig {
            accum_slow_min_recent_share: 0.0,
            ..DetectorConfig::default()
        },
        &evs,
        &reference,
    );
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].ts_recv, late);
}

#[test]
fn a_print_behind_the_last_one_counts_in_the_last_bucket() {
    // The slow selling with a 9-lot print arriving after the tenth clip but stamped an
    // hour before the first (a record out of order): it counts where it arrived, as if
    // stamped with the tenth clip's time, and the clips before it stay in the window.
    let base = slow_selling();
    let late = |ts_recv: u64| {
        let mut e = event(2, AggressorSide::Sell, 9, 1, ts_recv);
        e.ts_event = ts_recv.saturating_sub(1_000);
        e
    };
    let mut arrived = base.clone();
    arrived.insert(10, late(base[9].ts_recv));
    let mut stamped_early = base;
    stamped_early.insert(10, late(T0 - 60 * MIN));
    let (want, _) = accumulations(DetectorConfig::default(), &arrived, &NoReference);
    let (got, _) = accumulations(DetectorConfig::default(), &stamped_early, &NoReference);
    assert!(!want.is_empty());
    let key = |s: &Signal| (s.side, s.size);
    assert_eq!(
        got.iter().map(key).collect::<Vec<_>>(),
        want.iter().map(key).collect::<Vec<_>>()
    );
}
