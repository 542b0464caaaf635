//! Day-count boundaries: 19, 20 and 21 days; insufficient history; widening.

use ifd_baseline::{
    Baseline, BaselineConfig, BaselineKey, DayObservations, ExpiryClass, Metric, MoneynessBucket,
    Observation, Outcome, Right, TimeBucket, TradingDay,
};

fn key() -> BaselineKey {
    BaselineKey {
        right: Right::Put,
        expiry_class: ExpiryClass::SameDay,
        moneyness: MoneynessBucket::from_steps(1),
        time_bucket: TimeBucket(20),
    }
}

fn obs(value: f64) -> Observation {
    Observation {
        key: key(),
        strike: None,
        metric: Metric::BuyVolume,
        value,
    }
}

fn day(i: u64) -> TradingDay {
    TradingDay::new(
        chrono::NaiveDate::from_ymd_opt(2026, 3, 2)
            .and_then(|d| d.checked_add_days(chrono::Days::new(i)))
            .expect("date"),
    )
}

/// Day `i` holds four windows with volumes derived from `i` (deterministic, varied).
fn history(config: BaselineConfig, n: u64) -> Baseline {
    let mut b = Baseline::new(config).expect("config");
    for i in 0..n {
        let mut d = DayObservations::new();
        for w in 0..4u64 {
            d.add(obs(((i * 7 + w * 3) % 11 + 5) as f64))
                .expect("valid");
        }
        b.push_day(day(i), d).expect("push");
    }
    b
}

fn outcome(b: &Baseline, x: f64) -> Outcome {
    b.score_window(&[obs(x)]).expect("valid").items[0].1
}

#[test]
fn day_count_at_19_20_21() {
    let cfg = BaselineConfig {
        min_days: 20,
        ..BaselineConfig::default()
    };
    let b19 = history(cfg, 19);
    assert_eq!(b19.days(), 19);
    assert_eq!(outcome(&b19, 10.0), Outcome::Insufficient { days: 19 });

    let b20 = history(cfg, 20);
    assert_eq!(b20.days(), 20);
    let s20 = *outcome(&b20, 10.0).scored().expect("20 days are enough");
    assert_eq!(s20.days, 20);
    assert_eq!(s20.samples, 80);

    let b21 = history(cfg, 21);
    assert_eq!(b21.days(), 20, "the ring keeps 20 days");
    assert_eq!(b21.trading_days().next(), Some(day(1)), "oldest dropped");
    let s21 = *outcome(&b21, 10.0).scored().expect("scored");
    assert_eq!(s21.days, 20);
    assert_eq!(s21.samples, 80);
}

#[test]
fn fewer_days_widen_the_tail() {
    let cfg = BaselineConfig::default(); // min 5
    let b19 = history(cfg, 19);
    let b20 = history(cfg, 20);
    let s19 = *outcome(&b19, 500.0).scored().expect("19 >= 5 days");
    let s20 = *outcome(&b20, 500.0).scored().expect("scored");
    assert_eq!(s19.days, 19);
    // Days 0..19 repeat the same values pattern, so the difference is the day count:
    // fewer days must not give a smaller (more confident) tail p-value.
    assert!(
        s19.p_value > s20.p_value,
        "19 days {} vs 20 days {}",
        s19.p_value,
        s20.p_value
    );
    assert!(s19.confidence <= s20.confidence);
    let b4 = history(cfg, 4);
    assert_eq!(outcome(&b4, 500.0), Outcome::Insufficient { days: 4 });
    let b5 = history(cfg, 5);
    let s5 = *outcome(&b5, 500.0).scored().expect("5 days are enough");
    assert!(s5.p_value > s19.p_value);
}

#[test]
fn unseen_series_is_insufficient_with_zero_days() {
    let b = history(BaselineConfig::default(), 20);
    let mut o = obs(3.0);
    o.key.time_bucket = TimeBucket(0);
    let s = b.score_window(&[o]).expect("valid");
    assert_eq!(s.items[0].1, Outcome::Insufficient { days: 0 });
    assert_eq!(s.tested(), 0);
    assert_eq!(s.insufficient(), 1);
}

#[test]
fn per_strike_series_used_when_it_has_enough_days() {
    let mut b = Baseline::new(BaselineConfig::default()).expect("config");
    let strike = Some(20_100_000_000_000);
    for i in 0..20u64 {
        let mut d = DayObservations::new();
        // the bucket sees small prints, this strike sees large ones
        d.add(obs(2.0 + (i % 3) as f64)).expect("valid");
        let mut s = obs(100.0 + (i % 5) as f64);
        s.strike = if i >= 16 { strike } else { None };
        d.add(s).expect("valid");
        b.push_day(day(i), d).expect("push");
    }
    let mut o = obs(103.0);
    o.strike = strike;
    // the strike has 4 days (< 5): the bucket series is used
    let s = *b.score_window(&[o]).expect("valid").items[0]
        .1
        .scored()
        .expect("scored");
    assert_eq!(s.against, ifd_baseline::ScoredAgainst::Bucket);
    assert_eq!(s.days, 20);
    let mut d = DayObservations::new();
    let mut s = obs(101.0);
    s.strike = strike;
    d.add(s).expect("valid");
    b.push_day(day(20), d).expect("push");
    let s = *b.score_window(&[o]).expect("valid").items[0]
        .1
        .scored()
        .expect("scored");
    assert_eq!(s.against, ifd_baseline::ScoredAgainst::Strike);
    assert_eq!(s.days, 5);
    assert!(
        s.p_value > 0.1,
        "103 is ordinary for this strike: {}",
        s.p_value
    );
}
