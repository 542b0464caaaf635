//! The simulator's planted truth as the evaluation's known flows.
//!
//! `ifd-engine` scores signals against [`KnownFlow`]s and knows nothing of the simulator;
//! `ifd-sim` knows nothing of the engine. The examples that run one on the other convert
//! here.

use ifd_engine::eval::KnownFlow;
use ifd_patterns::FlowSide;
use ifd_sim::{Truth, TruthSide};

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
    use ifd_sim::{Preset, SimConfig, Simulator};

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
