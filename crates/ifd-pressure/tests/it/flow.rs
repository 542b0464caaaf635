//! Aggressor events and pressure on Databento's real ESH4 MBO sample.

use ifd_pressure::{
    AggressorSide, GroupKey, MarketConfig, MarketState, PressureConfig, WindowSpec, NS_PER_SEC,
};

use crate::samples;

const ESH4: &str = "nautilus_trader/esh4-glbx-mdp3-20231225.mbo.dbn.zst";

/// A straightforward count of aggressors: a new one at each `T` that is the first of
/// its match event or whose order id or side differs from the previous `T` of the
/// event.
fn reference_aggressors(recs: &[dbn::MboMsg]) -> (u64, u64) {
    let mut count = 0;
    let mut size = 0;
    let mut prev: Option<(u64, std::ffi::c_char)> = None;
    for r in recs {
        if r.action as u8 == b'T' && r.size > 0 {
            let id = (r.order_id, r.side);
            if prev != Some(id) {
                count += 1;
            }
            prev = Some(id);
            size += u64::from(r.size);
        }
        if r.flags.is_last() {
            prev = None;
        }
    }
    (count, size)
}

#[test]
fn esh4_aggressor_events_match_trades() {
    let Some(recs) = samples::mbo(ESH4) else {
        return;
    };
    let (ref_count, t_size) = reference_aggressors(&recs);
    let cfg = MarketConfig {
        pressure: Some(PressureConfig {
            windows: vec![
                WindowSpec::tumbling(NS_PER_SEC),
                WindowSpec::tumbling(60 * NS_PER_SEC),
            ],
            ..PressureConfig::default()
        }),
        ..MarketConfig::default()
    };
    let mut m = MarketState::new(cfg).unwrap();
    let mut events = Vec::new();
    let mut windows = Vec::new();
    for r in &recs {
        m.on_mbo(r);
        events.extend_from_slice(m.events());
        windows.extend(m.drain_windows());
    }
    m.end_session();
    events.extend_from_slice(m.events());
    windows.extend(m.drain_windows());

    // The file's own counts (README): 2,973 T records.
    assert_eq!(m.aggressor_stats().trades, 2_973);
    assert_eq!(events.len() as u64, ref_count);
    assert_eq!(m.aggressor_stats().events, ref_count);
    assert_eq!(events.iter().map(|e| e.size).sum::<u64>(), t_size);
    assert!(events
        .iter()
        .all(|e| e.size > 0 && e.levels >= 1 && e.trades >= 1));
    let sweeps = events.iter().filter(|e| e.is_sweep()).count();
    assert!(sweeps > 0, "the sample holds multi-level sweeps");

    // The T side is the aggressor's: the fills a venue-sided aggressor takes come from
    // the opposite side, so a buyer pays at least the best ask before the event and a
    // seller at most the best bid, and the passive fills add up to the traded size.
    for e in events.iter().filter(|e| !e.side_inferred) {
        match e.side {
            AggressorSide::Buy => {
                let ask = e.bbo_before.ask.expect("an ask to lift");
                assert!(e.first_px >= ask.price, "{e:?}");
            }
            AggressorSide::Sell => {
                let bid = e.bbo_before.bid.expect("a bid to hit");
                assert!(e.first_px <= bid.price, "{e:?}");
            }
            AggressorSide::Unknown => unreachable!("venue-sided"),
        }
        assert_eq!(e.passive.total_size(), e.size, "{e:?}");
    }
    let st = m.aggressor_stats();
    eprintln!(
        "ESH4: {} events ({sweeps} sweeps) from {} T records, size {t_size}; {st:?}",
        events.len(),
        st.trades
    );
    assert_eq!(st.fills_without_trade, 0);
    assert_eq!(
        st.side_from_venue + st.inferred_by_quote + st.inferred_by_tick + st.unclassified,
        ref_count
    );

    // Every contract lands in exactly one 1-second instrument window, and 1-minute
    // windows hold the same volume.
    let volume = |len: u64| {
        windows
            .iter()
            .filter(|w| w.spec.len_ns == len && matches!(w.key, GroupKey::Instrument(_)))
            .map(|w| w.metrics.total_volume())
            .sum::<u64>()
    };
    assert_eq!(volume(NS_PER_SEC), t_size);
    assert_eq!(volume(60 * NS_PER_SEC), t_size);
    let buys: u64 = events
        .iter()
        .filter(|e| e.side == AggressorSide::Buy)
        .map(|e| e.size)
        .sum();
    let last_delta = windows
        .iter()
        .filter(|w| w.spec.len_ns == 60 * NS_PER_SEC && w.key == GroupKey::All)
        .map(|w| w.metrics.cumulative_delta)
        .next_back()
        .unwrap();
    let sells: u64 = events
        .iter()
        .filter(|e| e.side == AggressorSide::Sell)
        .map(|e| e.size)
        .sum();
    assert_eq!(last_delta, buys as i64 - sells as i64);
    // Snapshot records (ts_recv = query start) open no window.
    let first_live = recs
        .iter()
        .find(|r| !r.flags.is_snapshot())
        .unwrap()
        .ts_recv;
    assert!(windows.iter().all(|w| w.end_ns > first_live));
}

#[test]
fn esm4_snapshot_then_trades() {
    let Some(recs) =
        samples::mbo("nautilus_trader/esm4-glbx-mdp3-20240508T000000-000002.mbo.dbn.zst")
    else {
        return;
    };
    let (ref_count, t_size) = reference_aggressors(&recs);
    let mut m = MarketState::new(MarketConfig::default()).unwrap();
    let mut events = Vec::new();
    for r in &recs {
        m.on_mbo(r);
        events.extend_from_slice(m.events());
    }
    m.end_session();
    events.extend_from_slice(m.events());
    // The README: 5 T records after a 13,601-record snapshot.
    assert_eq!(m.aggressor_stats().trades, 5);
    assert_eq!(events.len() as u64, ref_count);
    assert_eq!(events.iter().map(|e| e.size).sum::<u64>(), t_size);
    // The snapshot built a two-sided book before the first trade.
    assert!(events
        .iter()
        .all(|e| e.bbo_before.bid.is_some() && e.bbo_before.ask.is_some()));
    let windows: Vec<_> = m.drain_windows().collect();
    let first_live = recs
        .iter()
        .find(|r| !r.flags.is_snapshot())
        .unwrap()
        .ts_recv;
    assert!(windows.iter().all(|w| w.end_ns > first_live));
    let vol: u64 = windows
        .iter()
        .filter(|w| w.spec.len_ns == 60 * NS_PER_SEC && w.key == GroupKey::All)
        .map(|w| w.metrics.total_volume())
        .sum();
    assert_eq!(vol, t_size);
}
