//! The real-world prints: packages of every structure, lottery tickets and dealer
//! crosses, printed where their decoy records say; the busy and noflow presets.

use std::collections::BTreeSet;

use dbn::{Action, MboMsg, Side};
use ifd_sim::{
    ContractKind, DecoyKind, PackageStructure, Participant, Preset, SimConfig, SimContract, SimDay,
    Simulator, TruthSide,
};

fn real_world_day(seed: u64) -> SimDay {
    let mut cfg = SimConfig::preset(Preset::Quiet, seed);
    cfg.decoys = cfg.decoys.clone().with_real_world_prints(1);
    Simulator::new(cfg).session(0, false)
}

fn contract(day: &SimDay, id: u32) -> &SimContract {
    day.contracts
        .iter()
        .find(|c| c.instrument_id == id)
        .expect("a leg names a listed contract")
}

fn aggressor(side: TruthSide) -> Side {
    match side {
        TruthSide::Buy => Side::Bid,
        TruthSide::Sell => Side::Ask,
    }
}

/// The trade records of one instrument inside a decoy's window.
fn trades(day: &SimDay, id: u32, from: u64, to: u64) -> Vec<&MboMsg> {
    day.mbo
        .iter()
        .filter(|m| {
            m.hd.instrument_id == id
                && m.ts_recv >= from
                && m.ts_recv <= to
                && m.action().unwrap() == Action::Trade
        })
        .collect()
}

#[test]
fn packages_print_every_structure_as_legs_within_milliseconds() {
    let mut structures = BTreeSet::new();
    let mut packages = 0;
    for seed in [1, 2] {
        let day = real_world_day(seed);
        let future = day.contracts[0].instrument_id;
        for d in day.decoys.iter().filter(|d| d.kind == DecoyKind::Package) {
            packages += 1;
            let p = d
                .package
                .as_ref()
                .expect("a package decoy lists its package");
            structures.insert(p.structure);
            assert!(
                d.ts_end - d.ts_start < 30_000_000,
                "legs within milliseconds: {d:?}"
            );
            for leg in &p.legs {
                // Each leg is one print at one price, the full size, by the package trader.
                let t = trades(&day, leg.instrument_id, d.ts_start, d.ts_end);
                assert_eq!(t.len(), 1, "one print per leg: {leg:?}");
                assert_eq!(t[0].side, aggressor(leg.side) as std::ffi::c_char);
                assert_eq!((t[0].size, t[0].price), (leg.size, leg.price));
                assert_eq!(
                    day.owner_of(t[0].order_id),
                    Some(Participant::PackageTrader)
                );
                assert!(leg.size > 0);
            }
            let opts: Vec<_> = p
                .legs
                .iter()
                .filter(|l| l.instrument_id != future)
                .collect();
            let expected = match p.structure {
                PackageStructure::Butterfly => 3,
                _ => 2,
            };
            // A package prints all its legs or none (a leg with no resting touch is
            // posted by the market maker taking the package's other side).
            assert_eq!(opts.len(), expected, "every option leg printed: {p:?}");
            let c: Vec<&SimContract> = opts
                .iter()
                .map(|l| contract(&day, l.instrument_id))
                .collect();
            let same_side = opts[0].side == opts[1].side;
            let units = opts[0].size;
            use PackageStructure as P;
            match p.structure {
                P::Calendar => {
                    assert!(!same_side);
                    assert_eq!((c[0].strike, c[0].kind), (c[1].strike, c[1].kind));
                    assert!(c[0].expiration < c[1].expiration, "near leg first");
                }
                P::Vertical | P::Ratio => {
                    assert!(!same_side);
                    assert_eq!((c[0].kind, c[0].expiration), (c[1].kind, c[1].expiration));
                    assert_ne!(c[0].strike, c[1].strike);
                }
                P::Straddle | P::Synthetic => {
                    assert_eq!(same_side, p.structure == P::Straddle);
                    assert_eq!(
                        (c[0].strike, c[0].expiration),
                        (c[1].strike, c[1].expiration)
                    );
                    assert_eq!(
                        (c[0].kind, c[1].kind),
                        (ContractKind::Call, ContractKind::Put)
                    );
                }
                P::Strangle | P::RiskReversal => {
                    assert_eq!(same_side, p.structure == P::Strangle);
                    assert_eq!(c[0].expiration, c[1].expiration);
                    assert_eq!(
                        (c[0].kind, c[1].kind),
                        (ContractKind::Call, ContractKind::Put)
                    );
                    assert!(c[0].strike > c[1].strike, "both out of the money");
                }
                P::Butterfly => {
                    assert_eq!(opts[0].side, opts[2].side);
                    assert_ne!(opts[0].side, opts[1].side);
                    assert_eq!(opts[1].size, 2 * units);
                    assert_eq!(opts[2].size, units);
                }
            }
            match p.structure {
                P::Ratio => assert_eq!(opts[1].size, 2 * units),
                P::Butterfly => {}
                _ => assert_eq!(opts[1].size, units, "1:1"),
            }
            // The delta hedge of a synthetic sells the future against a long call.
            if p.structure == P::Synthetic {
                let fut = p.legs.iter().find(|l| l.instrument_id == future);
                let fut = fut.expect("a synthetic is tied to the future");
                assert_eq!(fut.side, opts[0].side.opposite());
            }
        }
    }
    assert!(packages >= 14, "{packages} packages over two sessions");
    assert_eq!(
        structures.len(),
        PackageStructure::ALL.len(),
        "every structure: {structures:?}"
    );
}

#[test]
fn lottery_tickets_are_hundreds_of_lots_at_a_few_ticks_on_a_wing() {
    let mut n = 0;
    for seed in [1, 2, 3] {
        let day = real_world_day(seed);
        for d in day
            .decoys
            .iter()
            .filter(|d| d.kind == DecoyKind::LotteryTicket)
        {
            n += 1;
            let id = d.instrument_ids[0];
            let t = trades(&day, id, d.ts_start, d.ts_end);
            assert_eq!(t.len(), 1);
            assert!(t[0].size >= 200, "{} lots", t[0].size);
            assert!(t[0].price <= 500_000_000, "a few ticks: {}", t[0].price);
            assert_eq!(day.owner_of(t[0].order_id), Some(Participant::Retail));
            // The outermost strike of its expiry and class.
            let c = contract(&day, id);
            let outer = day
                .contracts
                .iter()
                .filter(|o| o.kind == c.kind && o.expiration == c.expiration)
                .filter_map(|o| o.strike);
            let outer = if c.kind == ContractKind::Call {
                outer.max()
            } else {
                outer.min()
            };
            assert_eq!(c.strike, outer);
        }
    }
    assert!(n >= 5, "{n} lottery tickets");
}

#[test]
fn dealer_crosses_are_taken_in_full_by_another_market_maker() {
    let mut n = 0;
    for seed in [1, 2, 3] {
        let day = real_world_day(seed);
        for d in day
            .decoys
            .iter()
            .filter(|d| d.kind == DecoyKind::DealerCross)
        {
            let id = d.instrument_ids[0];
            let window: Vec<&MboMsg> = day
                .mbo
                .iter()
                .filter(|m| {
                    m.hd.instrument_id == id && m.ts_recv >= d.ts_start && m.ts_recv <= d.ts_end
                })
                .collect();
            let t = window
                .iter()
                .find(|m| m.action().unwrap() == Action::Trade)
                .expect("the cross trades");
            let fill = window
                .iter()
                .find(|m| m.action().unwrap() == Action::Fill)
                .unwrap();
            let posted = window
                .iter()
                .find(|m| m.order_id == fill.order_id && m.action().unwrap() == Action::Add)
                .expect("the maker's order was posted inside the window");
            assert_eq!(
                (fill.size, fill.price),
                (posted.size, posted.price),
                "taken in full"
            );
            assert_eq!(t.size, posted.size);
            let maker = day.owner_of(posted.order_id);
            let taker = day.owner_of(t.order_id);
            assert!(
                matches!(maker, Some(Participant::MarketMaker(_))),
                "{maker:?}"
            );
            assert!(
                matches!(taker, Some(Participant::MarketMaker(_))),
                "{taker:?}"
            );
            assert_ne!(maker, taker);
            assert!(d.ts_end - d.ts_start < 10_000_000, "within milliseconds");
            n += 1;
        }
    }
    assert!(n >= 4, "{n} dealer crosses");
}

#[test]
fn real_world_prints_are_deterministic_consistent_and_off_by_default() {
    let a = real_world_day(5);
    let b = real_world_day(5);
    assert_eq!(a.mbo, b.mbo);
    assert_eq!(a.decoys, b.decoys);
    // Ordered, and every record refers to the book as it is.
    super::check_stream(&a, &a.mbo);
    let plain = Simulator::new(SimConfig::preset(Preset::Quiet, 5)).session(0, false);
    assert!(plain.decoys.iter().all(|d| d.package.is_none()
        && !matches!(
            d.kind,
            DecoyKind::Package | DecoyKind::LotteryTicket | DecoyKind::DealerCross
        )));
}

#[test]
fn busy_is_exactly_three_times_normal_and_noflow_plants_nothing() {
    let normal = SimConfig::preset(Preset::Normal, 1);
    let mut busy = SimConfig::preset(Preset::Busy, 1);
    assert_eq!(busy.records_per_day, 3 * normal.records_per_day);
    busy.records_per_day = normal.records_per_day;
    busy.preset = Preset::Normal;
    assert_eq!(
        busy, normal,
        "busy differs from normal only in its record budget"
    );

    let noflow = SimConfig::preset(Preset::NoFlow, 1);
    assert_eq!("noflow".parse::<Preset>(), Ok(Preset::NoFlow));
    assert!(noflow.decoys.packages >= 8 && noflow.decoys.lottery_tickets > 0);
    let mut small = noflow.clone();
    small.records_per_day = 20_000;
    small.history_days = 0;
    let day = Simulator::new(small).flow_day();
    assert!(
        day.truth.is_empty(),
        "no institutional flow on the noflow day"
    );
    let kinds: BTreeSet<DecoyKind> = day.decoys.iter().map(|d| d.kind).collect();
    for k in [
        DecoyKind::Package,
        DecoyKind::LotteryTicket,
        DecoyKind::DealerCross,
    ] {
        assert!(kinds.contains(&k), "{k:?} on the noflow day");
    }
}

/// On the no-flow day (24 packages a session) every package prints every option leg:
/// the flow days of seeds 3 and 4 printed a vertical, a risk reversal and a butterfly
/// in part before the generator posted a missing touch for the package's legs.
#[test]
fn noflow_packages_print_every_option_leg() {
    let mut cfg = SimConfig::preset(Preset::NoFlow, 3);
    cfg.history_days = 20;
    let day = Simulator::new(cfg).flow_day();
    let future = day.contracts[0].instrument_id;
    let mut packages = 0;
    for d in day.decoys.iter().filter(|d| d.kind == DecoyKind::Package) {
        let p = d
            .package
            .as_ref()
            .expect("a package decoy lists its package");
        let options = p.legs.iter().filter(|l| l.instrument_id != future).count();
        let expected = if p.structure == PackageStructure::Butterfly {
            3
        } else {
            2
        };
        assert_eq!(options, expected, "{p:?}");
        packages += 1;
    }
    assert!(packages >= 15, "{packages} packages");
}
