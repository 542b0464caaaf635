//! One signal per flow: merging repeated triggers of the same flow.
//!
//! Update semantics: the first trigger of a flow emits the signal with `revision` 0.
//! Later triggers of the same pattern on the same group (instrument, strike group or
//! price) within the pattern's merge gap belong to the same flow: they grow its size,
//! premium, instruments and evidence silently, and a new revision (same `signal_id`,
//! `revision` + 1) is emitted only when the flow's size has reached `update_growth`
//! times the size last emitted. A trigger after the merge gap starts a new flow.

use crate::signal::Signal;
use ifd_pressure::IdMap;

#[derive(Debug, Clone)]
struct ActiveFlow {
    signal: Signal,
    last_ts: u64,
    emitted_size: u64,
}

/// How a trigger changes a flow's running size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Growth {
    /// The trigger's size adds to the flow (event-based patterns).
    Add,
    /// The trigger carries the flow's cumulative size (windowed patterns).
    Replace,
}

/// Open flows keyed by (pattern, group).
#[derive(Debug, Clone, Default)]
pub(crate) struct FlowBook {
    flows: IdMap<u64, ActiveFlow>,
    update_growth: f64,
    triggers: u64,
    merged: u64,
}

impl FlowBook {
    pub(crate) fn new(update_growth: f64) -> Self {
        Self {
            update_growth,
            ..Self::default()
        }
    }

    /// Merged triggers so far (triggers that did not start a new flow).
    pub(crate) fn merged(&self) -> u64 {
        self.merged
    }

    /// Offers a trigger; returns the signal to emit, if any.
    pub(crate) fn offer(
        &mut self,
        key: u64,
        candidate: Signal,
        merge_gap_ns: u64,
        growth: Growth,
    ) -> Option<Signal> {
        self.triggers += 1;
        if self.triggers % 4096 == 0 {
            let now = candidate.ts_recv;
            self.flows
                .retain(|_, f| now.saturating_sub(f.last_ts) <= merge_gap_ns.max(600_000_000_000));
        }
        let ts = candidate.ts_recv;
        if let Some(flow) = self.flows.get_mut(&key) {
            if ts.saturating_sub(flow.last_ts) <= merge_gap_ns {
                self.merged += 1;
                flow.last_ts = ts;
                let s = &mut flow.signal;
                match growth {
                    Growth::Add => {
                        s.size = s.size.saturating_add(candidate.size);
                        s.premium += candidate.premium;
                        s.evidence.events += candidate.evidence.events;
                    }
                    Growth::Replace => {
                        s.size = s.size.max(candidate.size);
                        s.premium = s.premium.max(candidate.premium);
                        s.evidence.events = s.evidence.events.max(candidate.evidence.events);
                    }
                }
                for iid in &candidate.instruments {
                    if let Err(pos) = s.instruments.binary_search(iid) {
                        s.instruments.insert(pos, *iid);
                    }
                }
                s.evidence.strikes = s.evidence.strikes.max(candidate.evidence.strikes);
                s.evidence.levels = s.evidence.levels.max(candidate.evidence.levels);
                s.evidence.window_end = candidate.evidence.window_end;
                for o in &candidate.evidence.orders {
                    s.evidence.push_order(*o);
                }
                if candidate.confidence > s.confidence {
                    s.confidence = candidate.confidence;
                    s.p_value = candidate.p_value;
                    s.q_value = candidate.q_value;
                    s.evidence.z_score = candidate.evidence.z_score;
                }
                #[allow(clippy::cast_precision_loss, reason = "sizes far below 2^52")]
                let grown = s.size as f64 >= self.update_growth * flow.emitted_size.max(1) as f64;
                if grown {
                    s.revision += 1;
                    s.ts_recv = candidate.ts_recv;
                    s.ts_event = candidate.ts_event;
                    flow.emitted_size = s.size;
                    return Some(s.clone());
                }
                return None;
            }
        }
        let emitted_size = candidate.size;
        self.flows.insert(
            key,
            ActiveFlow {
                signal: candidate.clone(),
                last_ts: ts,
                emitted_size,
            },
        );
        Some(candidate)
    }
}
