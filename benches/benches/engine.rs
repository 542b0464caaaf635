//! The whole ifd v3.0 engine over one large simulator day held in memory (issue 7):
//! (a) `decode`: dbn's `DbnDecoder` over the uncompressed DBN bytes, touching each
//! record and nothing else;
//! (b) `engine`: the same decode feeding `Engine::on_record` (chain, books, aggressor
//! folding, pressure, v3 detectors and v1), no baseline, then `on_session_end`;
//! (c) `engine_baseline_20d`: as (b) with a baseline fitted on the simulator's 20
//! history days of the same market (same chain and seed; each history day has
//! `IFD_BENCH_HISTORY_RECORDS` records, default 1,000,000, so that the setup stays
//! under a minute on 2 cores: the Large preset's own 5,000,000 per day would mean
//! simulating 100 million records first).
//!
//! Target (issue 7): (b) takes at most 4x the time of (a) on one core.

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use ifd_baseline::{Baseline, BaselineBuilder, BuilderConfig};
use ifd_benches::{decode_only, for_each_record, sim_day_dbn, SIM_SEED};
use ifd_engine::Engine;
use ifd_sim::{to_dbn_bytes, Preset, SimConfig, Simulator};

/// Fits the 20-day baseline of the Large preset's market (same seed as the session,
/// lighter history days: see the module docs).
fn history_baseline() -> Baseline {
    let mut cfg = SimConfig::preset(Preset::Large, SIM_SEED);
    cfg.records_per_day = std::env::var("IFD_BENCH_HISTORY_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let days = cfg.history_days;
    let sim = Simulator::new(cfg);
    let mut builder = BaselineBuilder::new(BuilderConfig::default()).expect("default config");
    for i in 0..days {
        let bytes = to_dbn_bytes(&sim.history_day(i), false).expect("the simulator encodes");
        builder.on_dbn_bytes(&bytes).expect("fresh history days");
    }
    builder.finish().expect("20 history days fit")
}

/// Replays the bytes through `engine`; returns (records, signals).
fn run(mut engine: Engine, bytes: &[u8]) -> (u64, u64) {
    let mut signals = Vec::new();
    let n = for_each_record(bytes, |r| {
        let _ = engine.on_record(r, &mut signals);
    });
    engine.on_session_end(&mut signals);
    (n, signals.len() as u64)
}

fn bench(c: &mut Criterion) {
    let (bytes, records) = sim_day_dbn(Preset::Large);
    let mut g = c.benchmark_group("engine_day");
    g.throughput(Throughput::Elements(records));
    g.sample_size(10);
    g.bench_function("decode", |b| {
        b.iter(|| black_box(decode_only(black_box(&bytes))))
    });
    g.bench_function("engine", |b| {
        b.iter(|| {
            let engine = Engine::builder().build().expect("default config");
            black_box(run(engine, black_box(&bytes)))
        });
    });
    let baseline = history_baseline();
    // The series models are fitted lazily on first use and a clone carries them: fit
    // once here so that no iteration pays for the fit or the clone.
    black_box(baseline.series_count());
    g.bench_function("engine_baseline_20d", |b| {
        b.iter_batched(
            || {
                Engine::builder()
                    .baseline(baseline.clone())
                    .build()
                    .expect("default config")
            },
            |engine| black_box(run(engine, black_box(&bytes))),
            BatchSize::PerIteration,
        );
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
