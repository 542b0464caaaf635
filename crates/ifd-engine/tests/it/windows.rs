//! What the baseline learns from is what the engine scores: the baseline builder's
//! feed and the engine run one composition (`ifd_pressure::MarketState`), so on any
//! record stream they close the same pressure windows.

use dbn::{InstrumentDefMsg, MboMsg, RecordRef};
use ifd_baseline::{Baseline, BaselineConfig, PressureFeed};
use ifd_engine::Engine;
use ifd_pressure::{PressureWindow, NS_PER_SEC};
use ifd_sim::{Preset, SimConfig, Simulator};
use proptest::prelude::*;

const WINDOW_NS: u64 = 60 * NS_PER_SEC;

/// The windows each side closes on `records`, fed in order; the end of data closes
/// the open ones on both.
fn both(records: &[RecordRef<'_>]) -> (Vec<PressureWindow>, Vec<PressureWindow>) {
    let mut feed = PressureFeed::new(WINDOW_NS, 30, None).expect("valid window");
    feed.keep_windows(true);
    let baseline = Baseline::new(BaselineConfig {
        window_ns: WINDOW_NS,
        ..BaselineConfig::default()
    })
    .expect("valid config");
    let mut engine = Engine::builder()
        .baseline(baseline)
        .build()
        .expect("valid config");
    let (mut learned, mut scored, mut obs, mut signals) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for rec in records {
        feed.on_record(rec, &mut obs);
        // A malformed record is an error for the engine and a count for the feed.
        let _ = engine.on_record(rec, &mut signals);
        learned.extend(feed.drain_learned_windows());
        scored.extend(engine.drain_pressure_windows());
    }
    feed.flush(&mut obs);
    engine.on_session_end(&mut signals);
    learned.extend(feed.drain_learned_windows());
    scored.extend(engine.drain_pressure_windows());
    (learned, scored)
}

#[test]
fn simulator_day_windows_learned_equal_windows_scored() {
    let mut cfg = SimConfig::preset(Preset::Quiet, 11);
    cfg.history_days = 1;
    let day = Simulator::new(cfg).flow_day();
    let records: Vec<RecordRef<'_>> = day.records().collect();
    let (learned, scored) = both(&records);
    assert!(
        learned.len() > 100,
        "a session closes many windows: {}",
        learned.len()
    );
    assert_eq!(learned, scored);
}

/// A call and a put definition for the generated instrument and a future that is its
/// underlying, taken from a simulator day so that every field is as the chain expects.
fn definitions() -> (InstrumentDefMsg, InstrumentDefMsg, InstrumentDefMsg) {
    let mut cfg = SimConfig::preset(Preset::Quiet, 1);
    cfg.history_days = 1;
    let day = Simulator::new(cfg).history_day(0);
    let find = |class: u8| {
        day.definitions
            .iter()
            .find(|d| d.instrument_class as u8 == class)
            .cloned()
            .expect("the simulator lists calls, puts and a future")
    };
    let (mut call, mut put, future) = (find(b'C'), find(b'P'), find(b'F'));
    call.hd.instrument_id = ifd_pressure::testing::INSTRUMENT_ID;
    put.hd.instrument_id = ifd_pressure::testing::INSTRUMENT_ID;
    call.underlying_id = future.hd.instrument_id;
    put.underlying_id = future.hd.instrument_id;
    (call, put, future)
}

/// One element of a generated stream.
#[derive(Debug, Clone)]
enum Item {
    Mbo(MboMsg),
    /// The call (false) or the put (true) definition of the generated instrument.
    Definition(bool),
    /// A two-sided quote of the future around `ticks` (sets the underlying).
    Future(u8),
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Any valid sequence (with clears and snapshots) followed by noise records, with
    /// definitions that change the contract mid-stream and future quotes placed
    /// anywhere, spread over several windows.
    #[test]
    fn any_stream_windows_learned_equal_windows_scored(
        valid in ifd_pressure::testing::mbo_sequence(80),
        noise in ifd_pressure::testing::mbo_noise(20),
        extras in prop::collection::vec((0usize..200, 0u8..3, any::<bool>(), 0u8..40), 0..12),
        gaps in prop::collection::vec(0u64..40, 1..40),
    ) {
        let (call, put, future) = definitions();
        let mut items: Vec<Item> = valid.iter().chain(&noise).cloned().map(Item::Mbo).collect();
        for &(at, what, flag, ticks) in &extras {
            let item = match what {
                0 => Item::Definition(flag),
                _ => Item::Future(ticks),
            };
            items.insert(at.min(items.len()), item);
        }
        items.insert(0, Item::Definition(false));
        // Spread the stream over minutes: each record moves the clock by a few seconds
        // (snapshot records keep theirs; the composition must not let them move it).
        let t0 = 1_750_000_000 * NS_PER_SEC;
        let mut ts = t0;
        let mut owned_mbo: Vec<MboMsg> = Vec::new();
        let mut defs: Vec<InstrumentDefMsg> = Vec::new();
        let mut order: Vec<(bool, usize)> = Vec::new();
        for (i, item) in items.iter().enumerate() {
            ts += gaps[i % gaps.len()] * NS_PER_SEC / 4;
            match item {
                Item::Mbo(m) => {
                    let mut m = m.clone();
                    if !m.flags.is_snapshot() {
                        m.ts_recv = ts;
                        m.hd.ts_event = ts;
                    }
                    owned_mbo.push(m);
                    order.push((true, owned_mbo.len() - 1));
                }
                Item::Definition(is_put) => {
                    let mut d = if *is_put { put.clone() } else { call.clone() };
                    d.hd.ts_event = ts;
                    d.ts_recv = ts;
                    defs.push(d);
                    order.push((false, defs.len() - 1));
                }
                Item::Future(t) => {
                    let id = future.hd.instrument_id;
                    let px = 20_000 * 1_000_000_000 + i64::from(*t) * 250_000_000;
                    for (oid, side, p) in [(9_000_001 + u64::from(*t), b'B', px), (9_100_001 + u64::from(*t), b'A', px + 250_000_000)] {
                        let mut m = ifd_pressure::testing::mbo(b'A', side, oid, p, 1, dbn::flags::LAST, ts);
                        m.hd.instrument_id = id;
                        owned_mbo.push(m);
                        order.push((true, owned_mbo.len() - 1));
                    }
                }
            }
        }
        let mut records: Vec<RecordRef<'_>> = Vec::with_capacity(order.len() + 1);
        records.push(RecordRef::from(&future));
        for &(is_mbo, i) in &order {
            records.push(if is_mbo { RecordRef::from(&owned_mbo[i]) } else { RecordRef::from(&defs[i]) });
        }
        let (learned, scored) = both(&records);
        prop_assert_eq!(learned, scored);
    }
}
