//! Feeds as Databento delivers them: options-only `NQ.OPT` files, the future on its own,
//! statistics records, and files that start mid-session.

use std::collections::{BTreeMap, HashSet};

use dbn::decode::{DbnMetadata, DecodeRecordRef, DynDecoder};
use dbn::{
    Action, InstrumentDefMsg, MboMsg, RecordRef, StatMsg, StatType, VersionUpgradePolicy,
    UNDEF_PRICE, UNDEF_STAT_QUANTITY,
};
use ifd_sim::{self as sim, ContractKind, Feed, Preset, SimConfig, SimDay, Simulator};

fn day_with(seed: u64, tweak: impl FnOnce(&mut SimConfig)) -> SimDay {
    let mut cfg = SimConfig::preset(Preset::Quiet, seed);
    cfg.history_days = 1;
    tweak(&mut cfg);
    Simulator::new(cfg).flow_day()
}

fn instrument_of(r: &RecordRef<'_>) -> u32 {
    r.header().instrument_id
}

/// `(ts_recv, sequence)` of a record; definitions sort first (sequence 0).
fn time_key(r: &RecordRef<'_>) -> (u64, u32) {
    if let Some(m) = r.get::<MboMsg>() {
        (m.ts_recv, m.sequence)
    } else if let Some(s) = r.get::<StatMsg>() {
        (s.ts_recv, s.sequence)
    } else {
        let d = r
            .get::<InstrumentDefMsg>()
            .expect("only defs, stats and MBO");
        (d.ts_recv, 0)
    }
}

fn bytes_of<'a>(records: impl Iterator<Item = RecordRef<'a>>) -> Vec<Vec<u8>> {
    records.map(|r| r.as_ref().to_vec()).collect()
}

fn future_id(day: &SimDay) -> u32 {
    day.contracts
        .iter()
        .find(|c| c.kind == ContractKind::Future)
        .expect("the chain lists its future")
        .instrument_id
}

#[test]
fn options_feed_has_no_future_and_futures_feed_only_the_future() {
    let day = day_with(6, |c| c.statistics = true);
    let fut = future_id(&day);
    assert!(day.is_future(fut));

    let options: Vec<RecordRef<'_>> = day.options_records().collect();
    let futures: Vec<RecordRef<'_>> = day.futures_records().collect();
    assert!(options.iter().all(|r| instrument_of(r) != fut));
    assert!(futures.iter().all(|r| instrument_of(r) == fut));
    // Each feed has its definitions first, then statistics, MBO (R first) and more stats.
    for (name, feed, defs) in [
        ("options", &options, day.definitions.len() - 1),
        ("futures", &futures, 1),
    ] {
        assert!(
            feed[..defs]
                .iter()
                .all(|r| r.get::<InstrumentDefMsg>().is_some()),
            "{name}: definitions first"
        );
        assert!(feed[defs..]
            .iter()
            .all(|r| r.get::<InstrumentDefMsg>().is_none()));
        assert!(
            feed.iter().any(|r| r.get::<StatMsg>().is_some()),
            "{name}: statistics"
        );
        let mbo: Vec<&MboMsg> = feed.iter().filter_map(|r| r.get::<MboMsg>()).collect();
        assert!(mbo.len() > 100, "{name}: {} MBO records", mbo.len());
        assert_eq!(mbo[0].action().unwrap(), Action::Clear, "{name}: R first");
        let keys: Vec<(u64, u32)> = feed.iter().map(time_key).collect();
        assert!(
            keys[defs..].windows(2).all(|w| w[0] <= w[1]),
            "{name}: time order"
        );
    }
    let option_ids: HashSet<u32> = day
        .contracts
        .iter()
        .filter(|c| c.kind != ContractKind::Future)
        .map(|c| c.instrument_id)
        .collect();
    let defined: HashSet<u32> = options
        .iter()
        .filter(|r| r.get::<InstrumentDefMsg>().is_some())
        .map(instrument_of)
        .collect();
    assert_eq!(
        defined, option_ids,
        "every option is defined in the options feed"
    );

    // The two feeds merged in time order are the combined stream, record for record:
    // definitions first (the future's leads), then by (ts_recv, sequence); statistics
    // published at one instant come in definition order, the future's first.
    let n_opt_defs = day.definitions.len() - 1;
    let mut merged: Vec<RecordRef<'_>> = vec![futures[0]];
    merged.extend_from_slice(&options[..n_opt_defs]);
    let (mut i, mut j) = (n_opt_defs, 1);
    while i < options.len() || j < futures.len() {
        let take_future = match (options.get(i), futures.get(j)) {
            (Some(o), Some(f)) => time_key(f) <= time_key(o),
            (None, Some(_)) => true,
            _ => false,
        };
        if take_future {
            merged.push(futures[j]);
            j += 1;
        } else {
            merged.push(options[i]);
            i += 1;
        }
    }
    assert_eq!(merged.len(), day.record_count());
    let combined = bytes_of(day.records());
    let merged = bytes_of(merged.into_iter());
    let first_diff = merged.iter().zip(&combined).position(|(a, b)| a != b);
    assert_eq!(
        first_diff, None,
        "options + futures merged by time = the combined stream"
    );
}

#[test]
fn feed_files_decode_with_their_own_metadata() {
    let day = day_with(9, |c| c.statistics = true);
    let dir = tempfile::tempdir().unwrap();
    for (feed, name, symbol) in [
        (Feed::Options, "opt.dbn.zst", "NQ.OPT"),
        (Feed::Futures, "fut.dbn", "NQ.FUT"),
        (Feed::Combined, "all.dbn.zst", "NQ.OPT"),
    ] {
        let path = dir.path().join(name);
        sim::write_feed_dbn(&day, feed, &path).unwrap();
        assert_eq!(
            std::fs::read(&path).unwrap(),
            sim::feed_to_dbn_bytes(&day, feed, name.ends_with(".zst")).unwrap(),
            "{name}: the file is the bytes"
        );
        let mut decoder = DynDecoder::from_file(&path, VersionUpgradePolicy::AsIs).unwrap();
        assert_eq!(decoder.metadata().symbols, vec![symbol.to_owned()]);
        assert_eq!(decoder.metadata().start, day.data_start);
        let mut got = Vec::new();
        while let Some(r) = decoder.decode_record_ref().unwrap() {
            got.push(r.as_ref().to_vec());
        }
        assert_eq!(got, bytes_of(day.feed_records(feed)), "{name}");
    }
    assert_eq!(
        sim::to_dbn_bytes(&day, false).unwrap(),
        sim::feed_to_dbn_bytes(&day, Feed::Combined, false).unwrap()
    );
}

#[test]
fn statistics_carry_open_interest_settlement_and_cleared_volume() {
    let day = day_with(4, |c| c.statistics = true);
    let first_mbo = day.mbo.first().unwrap().ts_recv;
    let last_mbo = day.mbo.last().unwrap().ts_recv;
    let mut traded: BTreeMap<u32, i64> = BTreeMap::new();
    for m in &day.mbo {
        if m.action().unwrap() == Action::Trade {
            *traded.entry(m.hd.instrument_id).or_default() += i64::from(m.size);
        }
    }
    let mut per_type: BTreeMap<(u32, u16), Vec<&StatMsg>> = BTreeMap::new();
    for s in &day.statistics {
        assert_eq!(s.update_action, 1, "new statistics");
        assert!(s.hd.ts_event <= s.ts_recv);
        per_type
            .entry((s.hd.instrument_id, s.stat_type))
            .or_default()
            .push(s);
    }
    assert!(day
        .statistics
        .windows(2)
        .all(|w| w[0].ts_recv <= w[1].ts_recv));
    let one = |id: u32, t: StatType| -> Option<&StatMsg> {
        let v = per_type.get(&(id, t as u16))?;
        assert_eq!(v.len(), 1, "one {t:?} for {id}");
        Some(v[0])
    };
    // Calls of one expiry: settlement falls as the strike rises.
    let mut calls: BTreeMap<(u64, i64), i64> = BTreeMap::new();
    for c in &day.contracts {
        let id = c.instrument_id;
        let oi = one(id, StatType::OpenInterest).expect("open interest for every contract");
        assert!(oi.quantity > 0 && oi.quantity != UNDEF_STAT_QUANTITY);
        assert_eq!(oi.price, UNDEF_PRICE);
        assert!(oi.ts_recv < first_mbo, "open interest before the open");
        assert!(
            oi.ts_ref < day.session_start,
            "for the previous trading date"
        );

        let settle = one(id, StatType::SettlementPrice).expect("a settlement for every contract");
        assert!(settle.ts_recv > last_mbo, "settlement after the close");
        assert!(settle.price >= 0 && settle.price != UNDEF_PRICE);
        assert_eq!(settle.quantity, UNDEF_STAT_QUANTITY);
        let tick = match c.kind {
            ContractKind::Future => 250_000_000,
            _ if settle.price < 5_000_000_000 => 50_000_000,
            _ => 250_000_000,
        };
        assert_eq!(settle.price % tick, 0, "{}: on the tick grid", c.raw_symbol);
        assert!(settle.stat_flags & 1 == 1, "final");
        assert_eq!(
            settle.stat_flags & 2 == 2,
            traded.contains_key(&id),
            "actual exactly when it traded"
        );
        assert!(settle.ts_ref > oi.ts_ref, "this trading date");

        match (one(id, StatType::ClearedVolume), traded.get(&id)) {
            (Some(v), Some(&n)) => {
                assert_eq!(v.quantity, n, "{}: cleared volume = traded", c.raw_symbol)
            }
            (None, None) => {}
            (v, n) => panic!(
                "{}: volume stat {:?} vs traded {n:?}",
                c.raw_symbol,
                v.map(|v| v.quantity)
            ),
        }
        if c.kind == ContractKind::Call && c.expiration > day.session_end {
            calls.insert((c.expiration, c.strike.unwrap()), settle.price);
        }
    }
    assert!(calls.len() > 4);
    let mut prev: Option<((u64, i64), i64)> = None;
    for (&k, &p) in &calls {
        if let Some((pk, pp)) = prev {
            if pk.0 == k.0 {
                assert!(
                    p <= pp,
                    "call settlement falls with the strike: {pk:?} {pp} -> {k:?} {p}"
                );
            }
        }
        prev = Some((k, p));
    }
    assert!(!traded.is_empty());
}

#[test]
fn statistics_are_off_by_default_and_leave_the_stream_as_before() {
    let day = day_with(6, |_| {});
    assert!(day.statistics.is_empty());
    let old_layout: Vec<Vec<u8>> = day
        .definitions
        .iter()
        .map(RecordRef::from)
        .chain(day.mbo.iter().map(RecordRef::from))
        .map(|r| r.as_ref().to_vec())
        .collect();
    assert_eq!(bytes_of(day.records()), old_layout);
    // Statistics come from their own random stream: the MBO records do not change.
    let with = day_with(6, |c| c.statistics = true);
    assert_eq!(with.mbo, day.mbo);
    assert_eq!(with.truth, day.truth);
}

#[test]
fn a_mid_session_file_has_no_clear_nor_snapshot_and_refers_to_unknown_orders() {
    for snapshot in [false, true] {
        let full = day_with(12, |c| {
            c.snapshot_start = snapshot;
            c.statistics = true;
        });
        let minutes = 150;
        let cut_day = day_with(12, |c| {
            c.snapshot_start = snapshot;
            c.statistics = true;
            c.start_offset_minutes = minutes;
        });
        let cut = full.session_start + u64::from(minutes) * 60_000_000_000;
        assert_eq!(cut_day.data_start, cut);
        assert_eq!(cut_day.metadata.start, cut);
        // The same session, records before the cut dropped.
        let expected: Vec<&MboMsg> = full.mbo.iter().filter(|m| m.ts_recv >= cut).collect();
        assert_eq!(cut_day.mbo.iter().collect::<Vec<_>>(), expected);
        assert!(cut_day
            .mbo
            .iter()
            .all(|m| { m.action().unwrap() != Action::Clear && !m.flags.is_snapshot() }));
        assert!(cut_day
            .statistics
            .iter()
            .all(|s| s.stat_type().unwrap() != StatType::OpenInterest));
        assert!(cut_day.definitions.iter().all(|d| d.ts_recv == cut));
        // Orders resting from before the cut are referenced without having been added.
        let mut added = HashSet::new();
        let mut unknown = 0;
        for m in &cut_day.mbo {
            match m.action().unwrap() {
                Action::Add => {
                    added.insert(m.order_id);
                }
                Action::Cancel | Action::Modify | Action::Fill if !added.contains(&m.order_id) => {
                    unknown += 1;
                }
                _ => {}
            }
        }
        assert!(
            unknown > 10,
            "snapshot={snapshot}: {unknown} references to unknown orders"
        );
        // Written and read back, the file starts with definitions and holds no R.
        let bytes = sim::feed_to_dbn_bytes(&cut_day, Feed::Options, false).unwrap();
        let mut decoder =
            DynDecoder::inferred_with_buffer(&bytes[..], VersionUpgradePolicy::AsIs).unwrap();
        assert_eq!(decoder.metadata().start, cut);
        let mut n = 0;
        while let Some(r) = decoder.decode_record_ref().unwrap() {
            if let Some(m) = r.get::<MboMsg>() {
                assert!(m.ts_recv >= cut);
                assert_ne!(m.action().unwrap(), Action::Clear);
            }
            n += 1;
        }
        assert_eq!(n, cut_day.options_records().count());
        assert!(cut_day.truth.iter().all(|t| t.ts_end >= cut));
    }
}
