//! The MBO hot path over one large simulator day held in memory:
//! (a) `decode`: dbn's `DbnDecoder` over the byte slice, nothing else;
//! (b) `decode_book_flow_pressure`: the same decode feeding `MarketState` (exact L3
//! books, aggressor events folded at `F_LAST`, OFI/queue samples and pressure windows
//! per instrument, strike, expiry, call/put and moneyness).
//!
//! (b0) `decode_books`, the decode feeding `Books` alone, shows the book's share.
//! (b1) `decode_book_flow_pressure_1m` is (b) with one 1-minute tumbling window (all
//! groupings), and (b2) `decode_book_flow_pressure_engine` with the engine's default
//! pressure (1-minute windows per instrument): the pressure windows' cost by
//! configuration.
//!
//! Target (issue 4): (b) takes at most 3x the time of (a) on one core.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use ifd_benches::{decode_only, for_each_record, sim_day_dbn};
use ifd_pressure::{
    Books, Groupings, MarketConfig, MarketState, PressureConfig, WindowSpec, NS_PER_SEC,
};
use ifd_sim::Preset;

fn pipeline(c: &mut Criterion) {
    let (bytes, records) = sim_day_dbn(Preset::Large);
    let mut g = c.benchmark_group("mbo_day");
    g.throughput(Throughput::Elements(records));
    g.sample_size(10);
    g.bench_function("decode", |b| {
        b.iter(|| black_box(decode_only(black_box(&bytes))))
    });
    g.bench_function("decode_books", |b| {
        b.iter(|| {
            let mut books = Books::new();
            let n = for_each_record(black_box(&bytes), |r| {
                if let Ok(Some(u)) = books.apply_record(r) {
                    black_box(u);
                }
            });
            black_box((n, books.len()))
        });
    });
    let configs = [
        ("decode_book_flow_pressure", MarketConfig::default()),
        (
            "decode_book_flow_pressure_1m",
            MarketConfig {
                pressure: Some(PressureConfig {
                    windows: vec![WindowSpec::tumbling(60 * NS_PER_SEC)],
                    ..PressureConfig::default()
                }),
                ..MarketConfig::default()
            },
        ),
        (
            "decode_book_flow_pressure_engine",
            MarketConfig {
                pressure: Some(PressureConfig {
                    windows: vec![WindowSpec::tumbling(60 * NS_PER_SEC)],
                    groupings: Groupings::instrument_only(),
                    ..PressureConfig::default()
                }),
                ..MarketConfig::default()
            },
        ),
    ];
    for (name, config) in configs {
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut m = MarketState::new(config.clone()).expect("valid config");
                let mut events = 0u64;
                let mut windows = 0u64;
                let n = for_each_record(black_box(&bytes), |r| {
                    if m.on_record(r).is_ok() {
                        events += m.events().len() as u64;
                    }
                    windows += m.drain_windows().len() as u64;
                });
                m.end_session();
                windows += m.drain_windows().len() as u64;
                black_box((n, events, windows))
            });
        });
    }
    g.finish();
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
