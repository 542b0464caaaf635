//! Detection quality: precision, recall and calibration of signals against known flows.
//!
//! A planted flow is *found* when a signal with the flow's side names one of the flow's
//! instruments and was raised within the flow's window (`ts_start` to `ts_end` plus a
//! slack for detectors that confirm a flow shortly after it ends). A signal is a *true
//! positive* when it finds at least one flow. Revisions of one signal count once (the
//! first emission decides).
//!
//! Recall is reported per planted kind (any pattern may find it), precision per signal
//! pattern, and calibration as the hit rate per confidence decile.

use std::collections::{BTreeMap, BTreeSet};

use ifd_patterns::{DetectorVersion, FlowSide, Signal};
use serde::{Deserialize, Serialize};

/// A flow whose truth is known (planted by the simulator, or labelled by hand).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownFlow {
    /// Id of the flow.
    pub flow_id: u64,
    /// Its kind, e.g. `"sweep"`.
    pub kind: String,
    /// The institution's side.
    pub side: FlowSide,
    /// Instruments traded.
    pub instrument_ids: Vec<u32>,
    /// First record (`ts_recv`, ns).
    pub ts_start: u64,
    /// Last record (`ts_recv`, ns).
    pub ts_end: u64,
}

/// Precision or recall counts for one label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Counts {
    /// Items that were right (signals that found a flow, or flows found).
    pub hits: u64,
    /// Items in all.
    pub total: u64,
}

impl Counts {
    /// `hits / total`, `None` when there are none.
    #[must_use]
    pub fn rate(&self) -> Option<f64> {
        #[allow(clippy::cast_precision_loss, reason = "counts far below 2^52")]
        (self.total > 0).then(|| self.hits as f64 / self.total as f64)
    }
}

/// Hit rate of the signals whose confidence falls in one decile.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Decile {
    /// Lower edge of the decile (0.0, 0.1, ...).
    pub from: f64,
    /// Signals in it and how many found a flow.
    pub counts: Counts,
}

/// The evaluation of one detector's signals.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Evaluation {
    /// Distinct signals (first revisions) of the detector.
    pub signals: u64,
    /// Of those, neutral signals (packages): they take no side, so they are left out
    /// of the directional precision, recall and calibration below.
    pub neutral: u64,
    /// Overall precision.
    pub precision: Counts,
    /// Overall recall.
    pub recall: Counts,
    /// Precision per signal pattern.
    pub precision_by_pattern: BTreeMap<String, Counts>,
    /// Recall per planted kind.
    pub recall_by_kind: BTreeMap<String, Counts>,
    /// Hit rate per confidence decile.
    pub calibration: Vec<Decile>,
}

/// Scores `signals` of `detector` against `flows`, with `slack_ns` after each flow's end.
#[must_use]
pub fn evaluate(
    signals: &[Signal],
    flows: &[KnownFlow],
    detector: DetectorVersion,
    slack_ns: u64,
) -> Evaluation {
    let mut seen = BTreeSet::new();
    let firsts: Vec<&Signal> = signals
        .iter()
        .filter(|s| s.detector == detector && seen.insert(s.signal_id))
        .collect();
    let matches = |s: &Signal, f: &KnownFlow| {
        s.side == f.side
            && s.ts_recv >= f.ts_start
            && s.ts_recv <= f.ts_end.saturating_add(slack_ns)
            && s.instruments.iter().any(|i| f.instrument_ids.contains(i))
    };
    let mut ev = Evaluation {
        signals: firsts.len() as u64,
        calibration: (0..10)
            .map(|d| Decile {
                from: f64::from(d) / 10.0,
                counts: Counts::default(),
            })
            .collect(),
        ..Evaluation::default()
    };
    let (neutral, firsts): (Vec<&Signal>, Vec<&Signal>) = firsts
        .into_iter()
        .partition(|s| s.direction == crate::Direction::Neutral);
    ev.neutral = neutral.len() as u64;
    for s in &firsts {
        let hit = flows.iter().any(|f| matches(s, f));
        let c = ev
            .precision_by_pattern
            .entry(s.pattern.as_str().to_owned())
            .or_default();
        c.total += 1;
        ev.precision.total += 1;
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "confidence is clamped to [0, 1]"
        )]
        let decile = ((s.confidence * 10.0).floor() as usize).min(9);
        ev.calibration[decile].counts.total += 1;
        if hit {
            c.hits += 1;
            ev.precision.hits += 1;
            ev.calibration[decile].counts.hits += 1;
        }
    }
    for f in flows {
        let found = firsts.iter().any(|s| matches(s, f));
        let c = ev.recall_by_kind.entry(f.kind.clone()).or_default();
        c.total += 1;
        ev.recall.total += 1;
        if found {
            c.hits += 1;
            ev.recall.hits += 1;
        }
    }
    ev
}
