//! ifd-rollout's hot path: mid updates through the outcome labeller (called on every book
//! change of a watched instrument), plus assignment and the sequential test update.

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use ifd_rollout::{
    AssignmentKey, Direction, OutcomeConfig, OutcomeLabeller, ProportionTest, SequentialConfig,
    SignalEntry, Split, Variant, NANOS_PER_SECOND,
};

const T0: u64 = 1_700_000_000_000_000_000;
const INSTRUMENTS: u32 = 200;
const UPDATES: u64 = 100_000;

/// 1 000 signals over 200 instruments, three horizons each.
fn labeller() -> OutcomeLabeller {
    let mut l = OutcomeLabeller::new(OutcomeConfig::default()).expect("default config");
    for id in 0..1_000_u64 {
        let bid = 5_000_000_000 + i64::try_from(id % 97).unwrap_or(0) * 50_000_000;
        l.register(SignalEntry {
            signal_id: id,
            variant: if id % 2 == 0 {
                Variant::V1
            } else {
                Variant::V3
            },
            pattern: "sweep".into(),
            direction: if id % 3 == 0 {
                Direction::Down
            } else {
                Direction::Up
            },
            confidence: 0.8,
            fired_at: T0 + id * NANOS_PER_SECOND,
            instrument: u32::try_from(id).unwrap_or(0) % INSTRUMENTS,
            entry_bid: bid,
            entry_ask: bid + 100_000_000,
            multiplier: 20,
            underlying: None,
        })
        .expect("valid signal");
    }
    l
}

fn on_mid(c: &mut Criterion) {
    let mut g = c.benchmark_group("rollout");
    g.throughput(Throughput::Elements(UPDATES));
    // 100 000 updates spread over ~1 h of the 200 instruments: most update nothing
    // pending, and every outcome resolves on the way.
    g.bench_function("labeller_on_mid_100k", |b| {
        b.iter_batched(
            labeller,
            |mut l| {
                let mut resolved = 0_usize;
                for i in 0..UPDATES {
                    let inst = u32::try_from(i % u64::from(INSTRUMENTS)).unwrap_or(0);
                    let mid = 5_000_000_000 + i64::try_from(i % 1_000).unwrap_or(0) * 1_000_000;
                    resolved += l.on_mid(inst, T0 + i * 40_000_000, mid).len();
                }
                black_box(resolved)
            },
            BatchSize::LargeInput,
        );
    });
    let split = Split::v3_share(7, 100_000).expect("valid share");
    g.bench_function("split_assign_100k", |b| {
        b.iter(|| {
            let mut v3 = 0_u32;
            for id in 0..UPDATES {
                v3 += u32::from(split.assign_variant(&AssignmentKey::SignalId(id)) == Variant::V3);
            }
            black_box(v3)
        });
    });
    g.bench_function("proportion_test_observe_100k", |b| {
        b.iter(|| {
            let mut t = ProportionTest::new(SequentialConfig::default()).expect("valid config");
            for i in 0..UPDATES {
                let arm = if i % 2 == 0 { Variant::V1 } else { Variant::V3 };
                t.observe(arm, i % 3 != 0);
            }
            black_box(t.result().p_value)
        });
    });
    g.finish();
}

criterion_group!(benches, on_mid);
criterion_main!(benches);
