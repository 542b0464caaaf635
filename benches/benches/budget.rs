//! ifd-budget on the live path: recording a batch of live bytes into a budget that
//! already holds a month of one-minute batches, and the ledger's checksummed
//! serialisation of that month (written after every record by the IO edge).

use chrono::{DateTime, Duration, Utc};
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use ifd_budget::{
    Budget, BudgetConfig, CostModel, Ledger, LivePricing, PriceTable, TradingCalendar,
};
use rust_decimal::Decimal;

/// One-minute batches over the regular session (08:30-15:00 CT) of each trading day of
/// March 2025 up to the 28th: 20 days x 390 = 7 800 live charges.
fn month_budget() -> (Budget, DateTime<Utc>) {
    let model = CostModel::new(
        PriceTable::new(),
        LivePricing::PerGb {
            usd_per_gb: Decimal::new(9, 1),
        },
    )
    .expect("valid model");
    let cal = TradingCalendar::cme();
    let mut b = Budget::new(BudgetConfig::default(), cal.clone(), model, Ledger::new())
        .expect("valid budget");
    let mut last = DateTime::<Utc>::UNIX_EPOCH;
    let first: DateTime<Utc> = "2025-03-03T14:30:00Z".parse().expect("valid time");
    for day in 0..26i64 {
        let open = first + Duration::days(day);
        let date = ifd_budget::session_date(open);
        if !cal.is_trading_day(date).expect("covered") {
            continue;
        }
        for minute in 0..390i64 {
            last = open + Duration::minutes(minute);
            // ~18 MB a minute: about $6.30 a day at $0.90/GB.
            b.record_live_bytes("live", 18_000_000, last)
                .expect("recorded");
        }
    }
    (b, last)
}

fn budget(c: &mut Criterion) {
    let (mut b, last) = month_budget();
    let bytes = b.ledger().to_bytes().expect("serialises");
    let mut g = c.benchmark_group("budget");
    g.bench_function("record_live_bytes_month_loaded", |bench| {
        let now = last + Duration::seconds(30);
        bench.iter(|| black_box(b.record_live_bytes("live", 18_000_000, now)));
    });
    let (month, _) = month_budget();
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.bench_function("ledger_to_bytes_7800", |bench| {
        bench.iter(|| black_box(month.ledger().to_bytes()));
    });
    g.bench_function("ledger_from_bytes_7800", |bench| {
        bench.iter(|| black_box(Ledger::from_bytes(black_box(&bytes))));
    });
    g.finish();
}

criterion_group!(benches, budget);
criterion_main!(benches);
