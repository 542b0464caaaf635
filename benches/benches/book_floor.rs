//! The exact L3 book on price ladders, ifd's book and the naive book the pressure
//! issue compares against, on the hot-path fixture. All over the same Large simulator
//! day held in memory, decoded by dbn's `DbnDecoder` (the reference books are in
//! `ifd_benches::floor`; the partial floor books measured earlier are gone from the
//! code, their figures stay in `benches/BENCHMARKS.md`):
//!
//! - `decode`: decode alone (the reference of every ratio);
//! - `ladder_l3_book`: an exact L3 book on direct-indexed price ladders (queues, best
//!   level), found per record as `Books` finds its books;
//! - `ifd_book`: `ifd_pressure::Books` (exact: price order, time priority, health);
//! - `naive_book`: a `HashMap` of orders plus a `BTreeMap` of levels per side, each
//!   level a `Vec` of its orders in time priority (std's SipHash maps), the shape of
//!   the naive book the issue measured.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use ifd_benches::floor::{floors, run_floor, run_ifd_book, NaiveBook};
use ifd_benches::{decode_only, sim_day_dbn};
use ifd_sim::Preset;

fn floor(c: &mut Criterion) {
    let (bytes, records) = sim_day_dbn(Preset::Large);
    let mut g = c.benchmark_group("book_floor");
    g.throughput(Throughput::Elements(records));
    g.sample_size(10);
    g.bench_function("decode", |b| {
        b.iter(|| black_box(decode_only(black_box(&bytes))))
    });
    for (name, run) in floors() {
        g.bench_function(name, |b| b.iter(|| black_box(run(black_box(&bytes)))));
    }
    g.bench_function("ifd_book", |b| {
        b.iter(|| black_box(run_ifd_book(black_box(&bytes))))
    });
    g.bench_function("naive_book", |b| {
        b.iter(|| black_box(run_floor::<NaiveBook>(black_box(&bytes))))
    });
    g.finish();
}

criterion_group!(benches, floor);
criterion_main!(benches);
