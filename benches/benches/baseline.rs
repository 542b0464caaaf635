//! ifd-baseline: building a 20-day baseline from simulator days held in memory (the
//! whole record pipeline: chain, books, aggressor folding, pressure windows, then the
//! per-series fits), pushing 20 precomputed days and fitting, and scoring one 5-minute
//! window across the whole chain (p-values and Benjamini-Hochberg).

use std::collections::BTreeMap;

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use ifd_baseline::{
    Baseline, BaselineBuilder, BuilderConfig, DayObservations, Observation, PressureFeed,
    TradingDay,
};
use ifd_sim::{Preset, SimConfig, SimDay, Simulator};

fn sim() -> Simulator {
    let mut cfg = SimConfig::preset(Preset::Quiet, 7);
    cfg.history_days = 20;
    Simulator::new(cfg)
}

/// Every closed window of a day, as `(trading day, window start, observation)`.
fn observations(day: &SimDay) -> Vec<(TradingDay, u64, Observation)> {
    let cfg = BuilderConfig::default();
    let mut feed =
        PressureFeed::new(cfg.window_ns, cfg.baseline.bucket_minutes, None).expect("valid config");
    let mut out = Vec::new();
    for rec in day.records() {
        feed.on_record(&rec, &mut out);
    }
    feed.flush(&mut out);
    out.into_iter()
        .map(|w| (w.trading_day, w.window_start_ns, w.observation))
        .collect()
}

fn bench(c: &mut Criterion) {
    let sim = sim();
    let days: Vec<SimDay> = (0..20).map(|i| sim.history_day(i)).collect();
    let records: u64 = days.iter().map(|d| d.record_count() as u64).sum();

    let mut g = c.benchmark_group("baseline");
    g.sample_size(10);
    g.throughput(Throughput::Elements(records));
    g.bench_function("build_20_days_from_records_quiet", |b| {
        b.iter(|| {
            let mut builder = BaselineBuilder::new(BuilderConfig::default()).expect("config");
            for d in &days {
                for rec in d.records() {
                    builder.on_record(&rec).expect("fresh days");
                }
            }
            let baseline = builder.finish().expect("fresh day");
            black_box(baseline.series_count())
        });
    });

    // The same 20 days as observations already extracted: the baseline's own cost.
    let per_day: Vec<(TradingDay, DayObservations)> = days
        .iter()
        .map(|d| {
            let obs = observations(d);
            let mut day = DayObservations::new();
            let td = obs.first().map(|o| o.0).expect("a day has windows");
            day.extend(obs.into_iter().map(|o| o.2)).expect("legal");
            (td, day)
        })
        .collect();
    let values: u64 = per_day.iter().map(|d| d.1.value_count() as u64).sum();
    g.throughput(Throughput::Elements(values));
    g.bench_function("push_20_days_and_fit", |b| {
        b.iter_batched(
            || per_day.clone(),
            |days| {
                let mut baseline = Baseline::new(Default::default()).expect("config");
                for (d, obs) in days {
                    baseline.push_day(d, obs).expect("distinct days");
                }
                black_box(baseline.series_count())
            },
            BatchSize::LargeInput,
        );
    });

    let mut baseline = Baseline::new(Default::default()).expect("config");
    for (d, obs) in per_day {
        baseline.push_day(d, obs).expect("distinct days");
    }
    black_box(baseline.series_count()); // fit once, outside the measurement
    let next = observations(&sim.flow_day());
    let mut by_window: BTreeMap<u64, Vec<Observation>> = BTreeMap::new();
    for (_, start, o) in next {
        by_window.entry(start).or_default().push(o);
    }
    let window = by_window
        .into_values()
        .max_by_key(Vec::len)
        .expect("windows exist");
    eprintln!(
        "fixture: 20 Quiet days = {records} records, {values} window values, {} series; \
         scored window = {} observations",
        baseline.series_count(),
        window.len()
    );
    g.sample_size(50);
    g.throughput(Throughput::Elements(window.len() as u64));
    g.bench_function("score_one_window_whole_chain", |b| {
        b.iter(|| black_box(baseline.score_window(black_box(&window)).expect("legal")));
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
