//! What parts of an exact L3 book cost with the cheapest designs we know, on the
//! hot-path fixture, beside ifd's book and the naive book the pressure issue compares
//! against. All over the same Large simulator day held in memory, decoded by dbn's
//! `DbnDecoder` (the floor books are in `ifd_benches::floor`):
//!
//! - `decode`: decode alone (the reference of every ratio);
//! - `floor_route`: + finding the record's book (one integer-hash lookup per record,
//!   behind a last-book cache, as `Books` does) and counting the record there;
//! - `floor_ids`: + the order-id map alone (insert on `A`, size update or removal on
//!   `C`/`M`): the one lookup no exact book can avoid;
//! - `floor_ids_levels`: + per-side level sums in a hash map keyed by price (sizes
//!   and counts exact, no price order, no queue order);
//! - `floor_ids_handle`: the level sums in a slab, each order's id-map entry carrying
//!   its level's slot (no price lookup on cancels and same-price modifies);
//! - `floor_ids_ladder`: the level sums in a direct-indexed price ladder per side;
//! - `ladder_l3_book`: an exact L3 book on those ladders (queues, best level);
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
