//! The MBO hot path over one large simulator day held in memory:
//! (a) `decode`: dbn's `DbnDecoder` over the byte slice, nothing else;
//! (b) `decode_book_flow_pressure`: the same decode feeding `MarketState` (exact L3
//! books, aggressor events folded at `F_LAST`, OFI/queue samples and pressure windows
//! per instrument, strike, expiry, call/put and moneyness).
//!
//! (b0) `decode_books`, the decode feeding `Books` alone, shows the book's share.
//!
//! Target (issue 4): (b) takes at most 3x the time of (a) on one core.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use dbn::Record;
use ifd_benches::{for_each_record, sim_day_dbn};
use ifd_mbo_client::sim::Preset;
use ifd_pressure::{Books, MarketConfig, MarketState};

fn pipeline(c: &mut Criterion) {
    let (bytes, records) = sim_day_dbn(Preset::Large);
    let mut g = c.benchmark_group("mbo_day");
    g.throughput(Throughput::Elements(records));
    g.sample_size(10);
    g.bench_function("decode", |b| {
        b.iter(|| {
            let mut sizes = 0u64;
            let n = for_each_record(black_box(&bytes), |r| {
                sizes += r.record_size() as u64;
            });
            black_box((n, sizes))
        });
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
    g.bench_function("decode_book_flow_pressure", |b| {
        b.iter(|| {
            let mut m = MarketState::new(MarketConfig::default()).expect("valid config");
            let mut events = 0u64;
            let mut windows = 0u64;
            let n = for_each_record(black_box(&bytes), |r| {
                events += m.on_record(r).map_or(0, |e| e.len() as u64);
                windows += m.drain_windows().len() as u64;
            });
            m.flush();
            windows += m.drain_windows().len() as u64;
            black_box((n, events, windows))
        });
    });
    g.finish();
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
