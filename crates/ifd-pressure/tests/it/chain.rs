//! The options chain built from real definition samples.

use ifd_pressure::{Chain, ChainUpdate, OptionKind, TickRule};

use crate::samples;

const K: i64 = 1_000_000_000;

fn chain_of(rel: &str) -> Option<Chain> {
    let defs = samples::definitions(rel)?;
    assert!(!defs.is_empty(), "{rel} has definitions");
    let mut chain = Chain::new();
    for d in &defs {
        chain.apply(d);
    }
    Some(chain)
}

#[test]
fn es_options_parent_file() {
    let Some(chain) = chain_of("nautilus_trader/definition-glbx-es-opt.dbn.zst") else {
        return;
    };
    assert_eq!(chain.len(), 2);
    let exp = 1_718_976_600_000_000_000; // 2024-06-21 13:30 UTC
    assert_eq!(chain.expirations().collect::<Vec<_>>(), vec![exp]);
    assert_eq!(chain.strikes(exp), vec![3_550 * K, 4_250 * K]);
    let c = chain.get(4_161_490).expect("ESM4 C4250");
    assert_eq!(c.raw_symbol, "ESM4 C4250");
    assert_eq!(
        (c.kind, c.strike, c.expiration),
        (OptionKind::Call, 4_250 * K, exp)
    );
    assert_eq!(
        (c.underlying.as_str(), c.underlying_id, c.asset.as_str()),
        ("ESM4", 5602, "ES")
    );
    assert_eq!(c.multiplier, 50 * K);
    assert_eq!(
        c.tick,
        TickRule::CME_EQUITY_INDEX_OPTION,
        "UNDEF increment -> variable tick"
    );
    assert_eq!(
        chain
            .find(exp, 3_550 * K, OptionKind::Call)
            .unwrap()
            .instrument_id,
        4_161_489
    );
    assert!(chain.find(exp, 3_550 * K, OptionKind::Put).is_none());
}

#[test]
fn es_puts_file() {
    let Some(chain) = chain_of("nautilus_trader/esm4-puts-20240509.definition.dbn.zst") else {
        return;
    };
    let p = chain.get(4_163_986).expect("ESM4 P5250");
    assert_eq!(
        (p.kind, p.strike, p.raw_symbol.as_str()),
        (OptionKind::Put, 5_250 * K, "ESM4 P5250")
    );
    let p = chain.get(42_449_452).expect("ESM4 P5230");
    assert_eq!(
        (p.kind, p.strike, p.underlying.as_str()),
        (OptionKind::Put, 5_230 * K, "ESM4")
    );
}

#[test]
fn weekly_ew2_option() {
    let Some(chain) = chain_of("nautilus_trader/ew2f6-c7000-20260109.definition.dbn.zst") else {
        return;
    };
    let c = chain.get(42_780_620).expect("EW2F6 C7000");
    assert_eq!(c.raw_symbol, "EW2F6 C7000");
    assert_eq!(
        (c.asset.as_str(), c.underlying.as_str(), c.underlying_id),
        ("EW2", "ESH6", 42_140_878)
    );
    assert_eq!((c.kind, c.strike), (OptionKind::Call, 7_000 * K));
    assert_eq!(c.expiration, 1_767_992_400_000_000_000); // 2026-01-09 21:00 UTC
                                                         // The definition agrees with the symbol parser.
    let parsed = ifd_pressure::parse_option_symbol(&c.raw_symbol).unwrap();
    assert_eq!(
        (parsed.root.as_str(), parsed.kind, parsed.strike),
        ("EW2", c.kind, c.strike)
    );
}

#[test]
fn dbn_v3_options_file() {
    let Some(chain) = chain_of("nautilus_trader/test_data.definition.option.dbn.zst") else {
        return;
    };
    let exp = 1_789_738_200_000_000_000; // 2026-09-18 13:30 UTC
    let c = chain.get(42_684_292).expect("ESU6 C9600");
    assert_eq!(
        (c.kind, c.strike, c.expiration, c.underlying_id),
        (OptionKind::Call, 9_600 * K, exp, 42_140_870)
    );
    let p = chain.get(42_846_039).expect("ESU6 P6575");
    assert_eq!(
        (p.kind, p.strike, p.expiration),
        (OptionKind::Put, 6_575 * K, exp)
    );
    assert_eq!(chain.strikes(exp), vec![6_575 * K, 9_600 * K]);
}

#[test]
fn nq_future_multiplier_is_unit_of_measure_qty() {
    let Some(defs) = samples::definitions("nautilus_trader/esm4-nqm4-20240509.definition.dbn.zst")
    else {
        return;
    };
    let mut chain = Chain::new();
    let updates: Vec<ChainUpdate> = defs.iter().map(|d| chain.apply(d)).collect();
    assert_eq!(updates, vec![ChainUpdate::Future, ChainUpdate::Future]);
    assert!(chain.is_empty(), "futures are not options");
    let nq = chain.future(13_743).expect("NQM4");
    assert_eq!((nq.raw_symbol.as_str(), nq.asset.as_str()), ("NQM4", "NQ"));
    assert_eq!(nq.multiplier, Some(20 * K));
    assert_eq!(nq.tick, Some(TickRule::Fixed { tick: K / 4 }));
    assert_eq!(nq.expiration, Some(1_718_976_600_000_000_000));
    assert_eq!(chain.future(5602).unwrap().multiplier, Some(50 * K));
}

#[test]
fn duplicate_definition_replaces() {
    let Some(defs) = samples::definitions("nautilus_trader/definition-glbx-es-fut.dbn.zst") else {
        return;
    };
    let mut chain = Chain::new();
    for d in &defs {
        chain.apply(d);
    }
    assert_eq!(defs.len(), 2);
    assert_eq!(chain.stats().definitions, 2);
    assert!(chain.future(95_414).is_some());
}
