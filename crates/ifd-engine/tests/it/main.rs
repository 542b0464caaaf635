//! Integration tests of ifd-engine through its public API, on the simulator.

use dbn::{MboMsg, RecordHeader};
use ifd_baseline::{BaselineBuilder, BuilderConfig};
use ifd_engine::eval::{evaluate, KnownFlow};
use ifd_engine::{Engine, EngineBuilder};
use ifd_patterns::{DetectorVersion, FlowSide, Pattern, Signal};
use ifd_sim::{self as sim, DecoyKind, Preset, SimConfig, SimDay, Simulator, Truth, TruthSide};
use proptest::prelude::*;

mod analytics;
mod windows;

/// The simulator's truth as the evaluation's known flow.
fn known(t: &Truth) -> KnownFlow {
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

fn run_day(engine: &mut Engine, day: &SimDay) -> Vec<Signal> {
    let mut out = Vec::new();
    for rec in day.records() {
        engine
            .on_record(&rec, &mut out)
            .expect("simulator records are well formed");
    }
    engine.on_session_end(&mut out);
    out
}

fn json(signals: &[Signal]) -> Vec<String> {
    signals.iter().map(|s| s.to_json_line().unwrap()).collect()
}

fn quiet(seed: u64, history_days: u32) -> Simulator {
    let mut cfg = SimConfig::preset(Preset::Quiet, seed);
    cfg.history_days = history_days;
    Simulator::new(cfg)
}

#[test]
fn planted_flow_is_found_without_a_baseline() {
    let mut found = 0;
    let mut flows_total = 0;
    let mut hits = 0;
    let mut signals_total = 0;
    for seed in [1, 2, 3] {
        let day = quiet(seed, 20).flow_day();
        let mut engine = Engine::builder().build().unwrap();
        let signals = run_day(&mut engine, &day);
        let flows: Vec<KnownFlow> = day.truth.iter().map(known).collect();
        let e = evaluate(&signals, &flows, DetectorVersion::V3, 5_000_000_000);
        found += e.recall.hits;
        flows_total += e.recall.total;
        hits += e.precision.hits;
        signals_total += e.precision.total;
        assert_eq!(engine.stats().malformed, 0);
        assert_eq!(engine.book_stats().unknown_cancel, 0);
    }
    assert!(
        flows_total >= 12,
        "every seed plants most kinds: {flows_total}"
    );
    // Thresholds well below the benchmark targets so the test is stable.
    assert!(
        found * 10 >= flows_total * 6,
        "recall {found}/{flows_total}"
    );
    assert!(
        hits * 10 >= signals_total * 6,
        "precision {hits}/{signals_total}"
    );
}

#[test]
fn replay_is_deterministic_from_records_and_from_dbn_bytes() {
    let day = quiet(5, 20).flow_day();
    let mut a = Engine::builder().build().unwrap();
    let sa = run_day(&mut a, &day);
    let mut b = Engine::builder().build().unwrap();
    let sb = run_day(&mut b, &day);
    assert!(!sa.is_empty());
    assert_eq!(json(&sa), json(&sb));

    // The same session written as DBN and read back through the file source.
    let bytes = sim::to_dbn_bytes(&day, true).unwrap();
    let mut src = ifd_mbo_client::file::FileSource::from_bytes(&bytes).unwrap();
    let mut c = Engine::builder().build().unwrap();
    let mut sc = Vec::new();
    while let Some(rec) = src.next_record().unwrap() {
        c.on_record(&rec, &mut sc).unwrap();
    }
    c.on_session_end(&mut sc);
    assert_eq!(json(&sa), json(&sc));
    assert_eq!(a.stats(), c.stats());
}

#[test]
fn baseline_gives_p_and_q_values_and_keeps_precision() {
    let sim = quiet(9, 20);
    let mut builder = BaselineBuilder::new(BuilderConfig::default()).unwrap();
    for i in 0..20 {
        let bytes = sim::to_dbn_bytes(&sim.history_day(i), false).unwrap();
        builder.on_dbn_bytes(&bytes).unwrap();
    }
    let baseline = builder.finish().unwrap();
    assert_eq!(baseline.days(), 20);
    let day = sim.flow_day();
    let mut engine = EngineBuilder::default().baseline(baseline).build().unwrap();
    let signals = run_day(&mut engine, &day);
    let v3: Vec<&Signal> = signals
        .iter()
        .filter(|s| s.detector == DetectorVersion::V3)
        .collect();
    assert!(!v3.is_empty());
    assert!(
        v3.iter()
            .any(|s| s.p_value.is_some() && s.q_value.is_some()),
        "some signal was scored against the baseline"
    );
    for s in &v3 {
        if let (Some(p), Some(q)) = (s.p_value, s.q_value) {
            assert!((0.0..=1.0).contains(&p) && (0.0..=1.0).contains(&q));
            assert!(q + 1e-12 >= p, "BH never lowers a p-value");
        }
    }
    let flows: Vec<KnownFlow> = day.truth.iter().map(known).collect();
    let e = evaluate(&signals, &flows, DetectorVersion::V3, 5_000_000_000);
    assert!(e.precision.rate().unwrap_or(0.0) >= 0.6, "{e:?}");
}

#[test]
fn decoys_raise_no_v3_signal() {
    for seed in [21, 22] {
        let day = quiet(seed, 20).history_day(0);
        assert!(day.truth.is_empty());
        let kinds: std::collections::BTreeSet<DecoyKind> =
            day.decoys.iter().map(|d| d.kind).collect();
        assert!(
            kinds.len() >= 4,
            "the session carries decoys of most kinds: {kinds:?}"
        );
        let mut engine = Engine::builder().build().unwrap();
        let signals = run_day(&mut engine, &day);
        for s in signals.iter().filter(|s| s.detector == DetectorVersion::V3) {
            let in_decoy = day.decoys.iter().any(|d| {
                s.ts_recv >= d.ts_start
                    && s.ts_recv <= d.ts_end + 5_000_000_000
                    && (d.instrument_ids.is_empty()
                        || s.instruments.iter().any(|i| d.instrument_ids.contains(i)))
            });
            assert!(!in_decoy, "a decoy raised {s:?}");
        }
    }
}

#[test]
fn malformed_records_are_counted_and_the_stream_goes_on() {
    use dbn::decode::{DbnDecoder, DecodeRecordRef};
    use dbn::encode::DbnMetadataEncoder;
    let day = quiet(4, 20).history_day(1);
    let mut engine = Engine::builder().build().unwrap();
    // A DBN stream whose one record claims to be MBO but is only a header long.
    let mut bytes = Vec::new();
    DbnMetadataEncoder::new(&mut bytes)
        .encode(&day.metadata)
        .unwrap();
    let good = MboMsg {
        hd: RecordHeader::new::<MboMsg>(dbn::rtype::MBO, 1, 1, 0),
        ..MboMsg::default()
    };
    let mut rec = dbn::RecordRef::from(&good).as_ref().to_vec();
    rec.truncate(16);
    rec[0] = 4; // length in 4-byte words: the header alone
    bytes.extend_from_slice(&rec);
    let mut dec = DbnDecoder::new(&bytes[..]).unwrap();
    let short = dec.decode_record_ref().unwrap().expect("one record");
    let mut out = Vec::new();
    assert!(engine.on_record(&short, &mut out).is_err());
    assert!(out.is_empty());
    let _ = run_day(&mut engine, &day);
    assert_eq!(engine.stats().malformed, 1);
    assert!(engine.stats().mbo > 1_000, "the stream went on");
}

#[test]
fn each_detector_finds_its_own_planted_kind() {
    let mut found: std::collections::BTreeMap<&'static str, bool> =
        std::collections::BTreeMap::new();
    for seed in [1, 2, 3] {
        let day = quiet(seed, 20).flow_day();
        let mut engine = Engine::builder().build().unwrap();
        let signals = run_day(&mut engine, &day);
        for t in &day.truth {
            let kind = t.kind.as_str();
            let side = known(t).side;
            let hit = signals.iter().any(|s| {
                s.detector == DetectorVersion::V3
                    && s.pattern.as_str() == kind
                    && s.side == side
                    && s.ts_recv >= t.ts_start
                    && s.ts_recv <= t.ts_end + 5_000_000_000
                    && s.instruments.iter().any(|i| t.instrument_ids.contains(i))
            });
            *found.entry(kind).or_default() |= hit;
        }
    }
    for p in [
        Pattern::Block,
        Pattern::Sweep,
        Pattern::CrossStrike,
        Pattern::Iceberg,
        Pattern::Accumulation,
    ] {
        assert_eq!(
            found.get(p.as_str()),
            Some(&true),
            "{p} never found its planted flow: {found:?}"
        );
    }
}

fn engine_with_option_42() -> Engine {
    let day = quiet(1, 20).history_day(0);
    let mut def = day
        .definitions
        .iter()
        .find(|d| d.instrument_class as u8 == b'C')
        .cloned()
        .expect("a call definition");
    def.hd.instrument_id = ifd_pressure::testing::INSTRUMENT_ID;
    let mut engine = Engine::builder().build().unwrap();
    engine.on_definition(&def);
    engine
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn any_record_sequence_gives_finite_signals_and_replays_identically(
        valid in ifd_pressure::testing::mbo_sequence(120),
        noise in ifd_pressure::testing::mbo_noise(60),
    ) {
        let run = |recs: &[MboMsg]| {
            let mut engine = engine_with_option_42();
            let mut out = Vec::new();
            for r in recs {
                engine.on_mbo(r, &mut out);
            }
            engine.on_session_end(&mut out);
            json(&out)
        };
        let mut all = valid.clone();
        all.extend(noise.iter().cloned());
        for recs in [&valid[..], &all[..]] {
            let a = run(recs);
            prop_assert_eq!(&a, &run(recs));
            for line in &a {
                let v: serde_json::Value = serde_json::from_str(line).unwrap();
                let c = v["confidence"].as_f64().unwrap();
                prop_assert!(c.is_finite() && (0.0..=1.0).contains(&c));
            }
        }
    }
}

#[test]
fn signals_come_with_the_quote_an_outcome_tracker_enters_at() {
    let day = quiet(2, 20).flow_day();
    let mut engine = Engine::builder().build().unwrap();
    let mut quoted = 0;
    let mut signals = Vec::new();
    for rec in day.records() {
        let before = signals.len();
        engine.on_record(&rec, &mut signals).unwrap();
        for s in &signals[before..] {
            // Asked at the moment the signal is raised, as a live caller would.
            if let Some(q) = engine.entry_quote(s) {
                assert_eq!(q.multiplier, 20, "NQ options: unit_of_measure_qty 20");
                assert!(q.bid < q.ask, "a two-sided, uncrossed book");
                let u = q.underlying.expect("the combined feed carries the future");
                assert_eq!(u.source, ifd_engine::UnderlyingSource::Future);
                quoted += 1;
            }
        }
    }
    assert!(quoted > 0, "some signals were raised on two-sided books");
    // An instrument the chain does not know has no entry quote, never a guessed one.
    let mut unknown = signals[0].clone();
    unknown.instrument_id = 7;
    assert!(engine.entry_quote(&unknown).is_none());
}

#[test]
fn statistics_records_reach_the_engine_state() {
    let mut engine = Engine::builder().build().unwrap();
    let stat = dbn::StatMsg {
        hd: RecordHeader::new::<dbn::StatMsg>(dbn::rtype::STATISTICS, 1, 4242, 10),
        ts_recv: 10,
        stat_type: dbn::StatType::OpenInterest as u16,
        quantity: 1_234,
        price: dbn::UNDEF_PRICE,
        update_action: dbn::StatUpdateAction::New as u8,
        ..dbn::StatMsg::default()
    };
    let mut out = Vec::new();
    engine
        .on_record(&dbn::RecordRef::from(&stat), &mut out)
        .unwrap();
    assert_eq!(engine.stats().statistics, 1);
    assert_eq!(
        engine.market().statistics().open_interest(4242),
        Some(1_234)
    );
    assert_eq!(engine.market().statistics().open_interest(4243), None);
}

#[test]
fn typed_entry_points_give_what_on_record_gives() {
    // The hot path of `on_record` and the typed entry points (`on_definition`,
    // `on_mbo`, `on_stat`) must stay one composition: same signals, same pressure
    // windows (every window spec and grouping), same detector and book counters.
    let day = quiet(11, 20).flow_day();
    let build = || {
        Engine::builder()
            .pressure(Some(ifd_pressure::PressureConfig::default()))
            .build()
            .unwrap()
    };
    let (mut a, mut b) = (build(), build());
    let (mut sa, mut sb) = (Vec::new(), Vec::new());
    let (mut wa, mut wb) = (Vec::new(), Vec::new());
    let mut typed = 0;
    for rec in day.records() {
        a.on_record(&rec, &mut sa).unwrap();
        wa.extend(a.drain_pressure_windows());
        if let Some(def) = rec.get::<dbn::InstrumentDefMsg>() {
            b.on_definition(def);
        } else if let Some(msg) = rec.get::<MboMsg>() {
            b.on_mbo(msg, &mut sb);
            typed += 1;
        } else if let Some(stat) = rec.get::<dbn::StatMsg>() {
            b.on_stat(stat);
        }
        wb.extend(b.drain_pressure_windows());
    }
    a.on_session_end(&mut sa);
    b.on_session_end(&mut sb);
    wa.extend(a.drain_pressure_windows());
    wb.extend(b.drain_pressure_windows());
    assert!(typed > 10_000, "a real day: {typed} MBO records");
    assert!(!sa.is_empty() && !wa.is_empty());
    assert_eq!(json(&sa), json(&sb));
    assert_eq!(wa, wb);
    assert_eq!(a.pattern_stats(), b.pattern_stats());
    assert_eq!(a.v1_stats(), b.v1_stats());
    assert_eq!(a.book_stats(), b.book_stats());
    assert_eq!(a.aggressor_stats(), b.aggressor_stats());
    assert_eq!(a.stats().signals_v3, b.stats().signals_v3);
}
