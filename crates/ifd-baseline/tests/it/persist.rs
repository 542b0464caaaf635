//! Persistence: round trip, every corruption and truncation detected.

use ifd_baseline::{
    Baseline, BaselineConfig, BaselineKey, DayObservations, Error, ExpiryClass, Metric,
    MoneynessBucket, Observation, Right, TimeBucket, TradingDay,
};

fn saved() -> Baseline {
    let mut b = Baseline::new(BaselineConfig::default()).expect("config");
    for i in 0..6u32 {
        let mut d = DayObservations::new();
        for (j, m) in Metric::ALL.into_iter().enumerate() {
            let value = match m {
                Metric::SignedImbalance => 0.125 * f64::from(i % 3),
                Metric::OrderFlowImbalance => -3.5 * f64::from(i),
                _ => f64::from(i * 10 + 1) / 3.0,
            };
            d.add(Observation {
                key: BaselineKey {
                    right: Right::Call,
                    expiry_class: ExpiryClass::Weekly,
                    moneyness: MoneynessBucket::from_steps(j as i64 - 4),
                    time_bucket: TimeBucket(30 + (i % 2) as u16),
                },
                strike: (j % 2 == 0).then_some(19_950_000_000_000),
                metric: m,
                value,
            })
            .expect("valid");
        }
        let date = chrono::NaiveDate::from_ymd_opt(2026, 4, 6 + i).expect("date");
        b.push_day(TradingDay::new(date), d).expect("push");
    }
    b
}

#[test]
fn round_trip_scores_identically() {
    let b = saved();
    let back = Baseline::from_bytes(&b.to_bytes()).expect("round trip");
    assert_eq!(back, b);
    let probe = Observation {
        key: BaselineKey {
            right: Right::Call,
            expiry_class: ExpiryClass::Weekly,
            moneyness: MoneynessBucket::from_steps(-4),
            time_bucket: TimeBucket(30),
        },
        strike: Some(19_950_000_000_000),
        metric: Metric::BuyVolume,
        value: 40.0,
    };
    assert_eq!(
        back.score_window(&[probe]).expect("valid"),
        b.score_window(&[probe]).expect("valid")
    );
}

#[test]
fn every_single_byte_corruption_is_detected() {
    let bytes = saved().to_bytes();
    assert!(
        bytes.len() > 500,
        "a non-trivial file: {} bytes",
        bytes.len()
    );
    for i in 0..bytes.len() {
        for flip in 1..=255u8 {
            let mut c = bytes.clone();
            c[i] ^= flip;
            let r = Baseline::from_bytes(&c);
            assert!(
                r.is_err(),
                "corruption at byte {i} (xor {flip:#x}) not detected"
            );
        }
    }
}

#[test]
fn every_truncation_is_detected() {
    let bytes = saved().to_bytes();
    for len in 0..bytes.len() {
        match Baseline::from_bytes(&bytes[..len]) {
            Err(Error::Truncated { len: l, .. }) => assert_eq!(l, len),
            other => panic!("truncation to {len} bytes gave {other:?}"),
        }
    }
}

#[test]
fn wrong_file_kinds() {
    assert!(matches!(
        Baseline::from_bytes(b"not a baseline at all"),
        Err(Error::BadMagic)
    ));
    assert!(matches!(
        Baseline::from_bytes(&[]),
        Err(Error::Truncated { len: 0, .. })
    ));
}
