//! Planted flows are sized in risk terms (`RiskSizing`): the institution's own prints
//! are worth the pattern's premium, where without the rule some were lottery tickets.

use dbn::Action;
use ifd_sim::{FlowKind, Participant, Preset, RiskSizing, SimConfig, SimDay, Simulator, Truth};

/// USD per point of an NQ option.
const MULTIPLIER: f64 = 20.0;

/// The premium of a flow's own prints (its aggressor trades, or the fills of its resting
/// orders for an iceberg), USD.
fn own_premium(day: &SimDay, t: &Truth) -> f64 {
    let me = Participant::Institution(t.flow_id);
    day.mbo
        .iter()
        .filter(|m| {
            let action = m.action().expect("a valid action");
            let counted = match t.kind {
                FlowKind::Iceberg => action == Action::Fill,
                _ => action == Action::Trade,
            };
            counted && day.owner_of(m.order_id) == Some(me)
        })
        .map(|m| m.price as f64 * 1e-9 * f64::from(m.size) * MULTIPLIER)
        .sum()
}

/// The premium floor of a kind, or `None` for kinds that are not sized.
fn floor(risk: &RiskSizing, kind: FlowKind) -> Option<f64> {
    match kind {
        FlowKind::Block => Some(risk.block_premium),
        FlowKind::Sweep => Some(risk.sweep_premium),
        FlowKind::Iceberg => Some(risk.iceberg_premium),
        FlowKind::Accumulation => Some(risk.accumulation_premium),
        FlowKind::CrossStrike => None,
    }
}

/// Flows of the quiet sessions of seeds 1–12 whose own prints are worth under a quarter
/// of their kind's floor (fair value and the traded price differ, and an
/// accumulation's clips are capped by the touch, so the bound is loose).
fn lottery_flows(risk: Option<RiskSizing>) -> Vec<(u64, FlowKind, u64, f64)> {
    let floors = RiskSizing::default();
    let mut out = Vec::new();
    for seed in 1..=12 {
        let mut cfg = SimConfig::preset(Preset::Quiet, seed);
        cfg.flows.risk = risk;
        let day = Simulator::new(cfg).flow_day();
        for t in &day.truth {
            let Some(f) = floor(&floors, t.kind) else {
                continue;
            };
            let premium = own_premium(&day, t);
            if premium < f / 4.0 {
                out.push((seed, t.kind, t.size, premium));
            }
        }
    }
    out
}

#[test]
fn planted_flows_are_worth_their_patterns_premium() {
    let plain = lottery_flows(None);
    assert!(
        !plain.is_empty(),
        "without risk sizing some planted flow is a lottery ticket"
    );
    let sized = lottery_flows(Some(RiskSizing::default()));
    assert!(
        sized.is_empty(),
        "risk-sized flows under the floor: {sized:?}"
    );
}
