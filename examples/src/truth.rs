//! The simulator's planted truth as the evaluation's known flows, and the verdict on
//! each signal against the truth and the decoys.
//!
//! `ifd-engine` scores signals against [`KnownFlow`]s and knows nothing of the simulator;
//! `ifd-sim` knows nothing of the engine. The examples that run one on the other convert
//! here. [`verdict`] goes further than `ifd_engine::eval`: it says which decoy a false
//! signal came from, and scores package signals against the planted packages.

use std::collections::BTreeSet;

use ifd_engine::eval::KnownFlow;
use ifd_patterns::{DetectorVersion, FlowSide, Signal};
use ifd_sim::{Decoy, DecoyKind, Truth, TruthSide};

/// The pattern name of package signals (a package recognised as one trade, direction
/// `neutral`). Matched by name so this code needs no change when the pattern lands in
/// `ifd_patterns::Pattern`.
pub const PACKAGE_PATTERN: &str = "package";

/// Whether a signal reports a package (non-directional) rather than a directional flow.
#[must_use]
pub fn is_package_signal(s: &Signal) -> bool {
    s.pattern.as_str() == PACKAGE_PATTERN
}

/// The first revision of every signal of `detector`, in emission order (the one a user
/// is alerted by; later revisions update the same flow).
#[must_use]
pub fn first_revisions(signals: &[Signal], detector: DetectorVersion) -> Vec<&Signal> {
    let mut seen = BTreeSet::new();
    signals
        .iter()
        .filter(|s| s.detector == detector && seen.insert(s.signal_id))
        .collect()
}

/// Whether a directional signal finds planted flow `t`: the same side, one of its
/// instruments, raised within its window (plus `slack_ns`). The rule of
/// `ifd_engine::eval::evaluate`.
#[must_use]
pub fn finds_flow(s: &Signal, t: &Truth, slack_ns: u64) -> bool {
    let side = match t.side {
        TruthSide::Buy => FlowSide::Buy,
        TruthSide::Sell => FlowSide::Sell,
    };
    s.side == side
        && s.ts_recv >= t.ts_start
        && s.ts_recv <= t.ts_end.saturating_add(slack_ns)
        && s.instruments.iter().any(|i| t.instrument_ids.contains(i))
}

/// Whether a signal falls on decoy `d`: raised within its window (plus `slack_ns`) on
/// one of its instruments (any instrument when the decoy spans the chain).
#[must_use]
pub fn on_decoy(s: &Signal, d: &Decoy, slack_ns: u64) -> bool {
    s.ts_recv >= d.ts_start
        && s.ts_recv <= d.ts_end.saturating_add(slack_ns)
        && (d.instrument_ids.is_empty()
            || s.instruments.iter().any(|i| d.instrument_ids.contains(i)))
}

/// How one signal scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// A directional signal that found planted flow `flow_id`.
    Flow(u64),
    /// A package signal on a planted package (decoy `decoy_id`): correct.
    Package(u64),
    /// A false signal on a decoy of this kind (a directional signal on a package counts
    /// here, as [`DecoyKind::Package`]).
    Decoy(DecoyKind),
    /// A false signal on background flow (no planted flow nor decoy there).
    Background,
}

impl Verdict {
    /// Whether the signal was right.
    #[must_use]
    pub const fn is_hit(self) -> bool {
        matches!(self, Self::Flow(_) | Self::Package(_))
    }

    /// Where a false signal came from: the decoy kind's name, or `"background"`.
    #[must_use]
    pub const fn source(self) -> &'static str {
        match self {
            Self::Decoy(k) => k.as_str(),
            Self::Flow(_) | Self::Package(_) | Self::Background => "background",
        }
    }
}

/// The verdict on one signal. A directional signal is right when it finds a planted flow
/// ([`finds_flow`]); a package signal when it falls on a planted package ([`on_decoy`]).
/// A false signal is put on the decoy it fell on, preferring decoys on its own
/// instruments to chain-wide ones (re-marks, traffic surges).
#[must_use]
pub fn verdict(s: &Signal, truth: &[Truth], decoys: &[Decoy], slack_ns: u64) -> Verdict {
    if is_package_signal(s) {
        if let Some(d) = decoys
            .iter()
            .find(|d| d.kind == DecoyKind::Package && on_decoy(s, d, slack_ns))
        {
            return Verdict::Package(d.decoy_id);
        }
    } else if let Some(t) = truth.iter().find(|t| finds_flow(s, t, slack_ns)) {
        return Verdict::Flow(t.flow_id);
    }
    let on = |wide: bool| {
        decoys
            .iter()
            .find(|d| d.instrument_ids.is_empty() == wide && on_decoy(s, d, slack_ns))
    };
    on(false)
        .or_else(|| on(true))
        .map_or(Verdict::Background, |d| Verdict::Decoy(d.kind))
}

/// One planted flow as a known flow: same id, kind name, side, instruments and window.
#[must_use]
pub fn known_flow(t: &Truth) -> KnownFlow {
    KnownFlow {
        flow_id: t.flow_id,
        kind: t.kind.as_str().to_owned(),
        side: match t.side {
            TruthSide::Buy => FlowSide::Buy,
            TruthSide::Sell => FlowSide::Sell,
        },
        instrument_ids: t.instrument_ids.clone(),
        ts_start: t.ts_start,
        ts_end: t.ts_end,
    }
}

/// Every planted flow of a session as known flows, in truth order.
#[must_use]
pub fn known_flows(truth: &[Truth]) -> Vec<KnownFlow> {
    truth.iter().map(known_flow).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ifd_engine::Engine;
    use ifd_sim::{PackageStructure, PackageTruth, Preset, SimConfig, Simulator};

    /// The v3 signals of a quiet flow day without a baseline.
    fn signals_of(day: &ifd_sim::SimDay) -> Vec<Signal> {
        let mut engine = Engine::builder().build().unwrap();
        let mut out = Vec::new();
        for rec in day.records() {
            engine.on_record(&rec, &mut out).unwrap();
        }
        engine.on_session_end(&mut out);
        out
    }

    const SLACK: u64 = 5_000_000_000;

    #[test]
    fn verdicts_name_the_flow_the_package_or_the_decoy() {
        let day = Simulator::new(SimConfig::preset(Preset::Quiet, 4)).flow_day();
        let signals = signals_of(&day);
        let firsts = first_revisions(&signals, DetectorVersion::V3);
        let hit = firsts
            .iter()
            .find(|s| day.truth.iter().any(|t| finds_flow(s, t, SLACK)))
            .expect("some v3 signal finds a planted flow");
        let t = day
            .truth
            .iter()
            .find(|t| finds_flow(hit, t, SLACK))
            .unwrap();
        assert_eq!(
            verdict(hit, &day.truth, &[], SLACK),
            Verdict::Flow(t.flow_id)
        );
        // The same signal on the other side finds nothing; on a decoy of its instrument
        // it is put on that decoy, before a chain-wide one.
        let mut wrong = (*hit).clone();
        wrong.side = match hit.side {
            FlowSide::Buy => FlowSide::Sell,
            FlowSide::Sell => FlowSide::Buy,
        };
        let decoy = |id, kind, ids: Vec<u32>| Decoy {
            decoy_id: id,
            kind,
            instrument_ids: ids,
            ts_start: hit.ts_recv - 10,
            ts_end: hit.ts_recv - 5,
            package: None,
        };
        let wide = decoy(1, DecoyKind::RepriceAll, vec![]);
        let mut lottery = decoy(2, DecoyKind::LotteryTicket, vec![hit.instrument_id]);
        let decoys = vec![wide.clone(), lottery.clone()];
        assert_eq!(verdict(&wrong, &[], &[], 0), Verdict::Background);
        assert_eq!(
            verdict(&wrong, &[], &decoys, 0),
            Verdict::Background,
            "outside the window without slack"
        );
        assert_eq!(
            verdict(&wrong, &[], &decoys, 5),
            Verdict::Decoy(DecoyKind::LotteryTicket)
        );
        lottery.instrument_ids = vec![hit.instrument_id + 1];
        assert_eq!(
            verdict(&wrong, &[], &[lottery, wide], 5),
            Verdict::Decoy(DecoyKind::RepriceAll)
        );
        assert_eq!(
            Verdict::Decoy(DecoyKind::RepriceAll).source(),
            "reprice_all"
        );
        assert!(!Verdict::Background.is_hit() && Verdict::Flow(1).is_hit());
        // A directional signal on a package is a false signal of the package kind.
        let mut pkg = decoy(3, DecoyKind::Package, vec![hit.instrument_id]);
        pkg.package = Some(PackageTruth {
            structure: PackageStructure::Straddle,
            legs: Vec::new(),
        });
        assert_eq!(
            verdict(&wrong, &[], std::slice::from_ref(&pkg), 5),
            Verdict::Decoy(DecoyKind::Package)
        );
        assert!(!is_package_signal(hit));
        // Only the first revision of a signal counts.
        let mut again = (*hit).clone();
        again.revision += 1;
        let twice = vec![(*hit).clone(), again];
        assert_eq!(first_revisions(&twice, DetectorVersion::V3).len(), 1);
        assert_eq!(first_revisions(&twice, DetectorVersion::V1).len(), 0);
    }

    #[test]
    fn known_flows_keep_every_field_of_the_truth() {
        let day = Simulator::new(SimConfig::preset(Preset::Quiet, 4)).flow_day();
        let flows = known_flows(&day.truth);
        assert_eq!(flows.len(), day.truth.len());
        assert!(!flows.is_empty());
        for (k, t) in flows.iter().zip(&day.truth) {
            assert_eq!(k.flow_id, t.flow_id);
            assert_eq!(k.kind, t.kind.as_str());
            assert_eq!(
                k.side == FlowSide::Buy,
                t.side == TruthSide::Buy,
                "flow {}",
                t.flow_id
            );
            assert_eq!(k.instrument_ids, t.instrument_ids);
            assert_eq!((k.ts_start, k.ts_end), (t.ts_start, t.ts_end));
        }
    }
}
