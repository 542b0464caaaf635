//! Known-answer tests of daily pacing.

use ifd_budget::{
    Budget, BudgetConfig, CostModel, Error, Ledger, LivePricing, Month, TradingCalendar,
};

use crate::{budget, day, dec, gb, prices, spend_download, utc};

#[test]
fn leap_february_2024_first_and_last_days() {
    let mut b = budget();
    // Feb 2024: 21 weekdays minus Presidents Day = 20 trading days.
    let p = b.pacing(day(2024, 2, 1)).unwrap();
    assert!(p.trading_day);
    assert_eq!(p.remaining_trading_days, 20);
    assert_eq!(p.daily_share, dec("8.75"));
    // 8.75 x 1.25 = 10.9375, rounded down to the cent.
    assert_eq!(p.daily_cap, dec("10.93"));
    // $100 spent on Feb 5; Feb 29 (a Thursday, leap day) is the last trading day.
    spend_download(&mut b, "d1", "100", utc("2024-02-05T15:00:00Z"));
    let last = b.pacing(day(2024, 2, 29)).unwrap();
    assert_eq!(last.remaining_trading_days, 1);
    assert_eq!(last.committed_before, dec("100"));
    assert_eq!(last.daily_share, dec("75"));
    // The cap never exceeds what is left of the month.
    assert_eq!(last.daily_cap, dec("75"));
    let before_last = b.pacing(day(2024, 2, 28)).unwrap();
    assert_eq!(before_last.remaining_trading_days, 2);
    assert_eq!(before_last.daily_share, dec("37.5"));
}

#[test]
fn leap_february_2028_with_an_extended_calendar() {
    let cal = TradingCalendar::cme()
        .with_year(2028, &[day(2028, 1, 17), day(2028, 2, 21)])
        .unwrap();
    let b = Budget::new(
        BudgetConfig::default(),
        cal,
        CostModel::new(
            prices(),
            LivePricing::PerGb {
                usd_per_gb: dec("1"),
            },
        )
        .unwrap(),
        Ledger::new(),
    )
    .unwrap();
    // Feb 2028: Tue 1 .. Tue 29, 21 weekdays minus Presidents Day (21st) = 20.
    assert_eq!(b.pacing(day(2028, 2, 1)).unwrap().daily_share, dec("8.75"));
    let leap = b.pacing(day(2028, 2, 29)).unwrap();
    assert_eq!(leap.remaining_trading_days, 1);
    assert_eq!(leap.daily_share, dec("175"));
    assert!(!b.pacing(day(2028, 2, 21)).unwrap().trading_day);
    // Without the 2028 list the budget refuses to guess.
    assert!(matches!(
        budget().pacing(day(2028, 2, 1)),
        Err(Error::CalendarNotCovered { .. })
    ));
}

#[test]
fn month_end_resets_the_budget_and_a_late_charge_belongs_to_the_next_month() {
    let mut b = budget();
    spend_download(&mut b, "jan", "100", utc("2025-01-30T15:00:00Z"));
    // Fri Jan 31 2025, last trading day of January: 75 left over 1 day.
    assert_eq!(b.pacing(day(2025, 1, 31)).unwrap().daily_share, dec("75"));
    // Feb 2025: 20 weekdays minus Presidents Day = 19; 175 / 19 = 9.2105.. -> 9.21.
    let feb = b.pacing(day(2025, 2, 3)).unwrap();
    assert_eq!(feb.remaining_trading_days, 19);
    assert_eq!(feb.committed_before, dec("0"));
    assert_eq!(feb.daily_share, dec("9.21"));
    assert_eq!(feb.daily_cap, dec("11.51"));
    // 23:30 UTC on Jan 31 is 17:30 CT: the Globex session of Feb 1 (in February).
    b.record_live_bytes("s", gb("10"), utc("2025-01-31T23:30:00Z"))
        .unwrap();
    let jan = Month::new(2025, 1).unwrap();
    let febm = Month::new(2025, 2).unwrap();
    assert_eq!(b.committed(jan), dec("100"));
    assert_eq!(b.committed(febm), dec("10"));
    // (175 - 10) / 19 = 8.684.. -> 8.68.
    assert_eq!(b.pacing(day(2025, 2, 3)).unwrap().daily_share, dec("8.68"));
    // January's last day is untouched by it.
    assert_eq!(b.pacing(day(2025, 1, 31)).unwrap().daily_share, dec("75"));
}

#[test]
fn december_year_end_rolls_into_january() {
    let mut b = budget();
    spend_download(&mut b, "dec", "50", utc("2025-12-29T15:00:00Z"));
    // Dec 31 2025 (Wed): 125 left over 1 day.
    assert_eq!(b.pacing(day(2025, 12, 31)).unwrap().daily_share, dec("125"));
    // Jan 2026: 22 weekdays minus Jan 1 and MLK (19th) = 20 trading days.
    let jan = b.pacing(day(2026, 1, 2)).unwrap();
    assert_eq!(jan.remaining_trading_days, 20);
    assert_eq!(jan.daily_share, dec("8.75"));
}

#[test]
fn holidays_and_weekends_have_no_share() {
    let b = budget();
    // Thanksgiving 2025.
    let h = b.pacing(day(2025, 11, 27)).unwrap();
    assert!(!h.trading_day);
    assert_eq!(h.daily_share, dec("0"));
    assert_eq!(h.daily_cap, dec("0"));
    // The day before: Nov 26 and Nov 28 remain -> 175 / 2.
    let w = b.pacing(day(2025, 11, 26)).unwrap();
    assert_eq!(w.remaining_trading_days, 2);
    assert_eq!(w.daily_share, dec("87.5"));
    // A Saturday.
    assert_eq!(b.pacing(day(2025, 11, 29)).unwrap().daily_share, dec("0"));
    // Good Friday 2026 (April 3) and the observed Independence Day 2026 (Friday July 3).
    assert!(!b.pacing(day(2026, 4, 3)).unwrap().trading_day);
    assert!(!b.pacing(day(2026, 7, 3)).unwrap().trading_day);
    // The day after Thanksgiving is an (early-close) trading day.
    assert!(b.pacing(day(2025, 11, 28)).unwrap().trading_day);
}

#[test]
fn dst_change_weekend_sunday_evening_is_monday() {
    let mut b = budget();
    // Spring forward on Sun 2025-03-09: 22:30 UTC is 17:30 CDT, the Monday session.
    b.record_live_bytes("s", gb("2"), utc("2025-03-09T22:30:00Z"))
        .unwrap();
    // Fall back on Sun 2025-11-02: 23:00 UTC is 17:00 CST, the Monday session;
    // 22:30 UTC is 16:30 CST, still Sunday.
    b.record_live_bytes("s", gb("3"), utc("2025-11-02T23:00:00Z"))
        .unwrap();
    b.record_live_bytes("s", gb("4"), utc("2025-11-02T22:30:00Z"))
        .unwrap();
    let days = b.ledger().days_of(Month::new(2025, 3).unwrap());
    assert_eq!(days[&day(2025, 3, 10)].live, dec("2"));
    let nov = b.ledger().days_of(Month::new(2025, 11).unwrap());
    assert_eq!(nov[&day(2025, 11, 3)].live, dec("3"));
    assert_eq!(nov[&day(2025, 11, 2)].live, dec("4"));
    // Monday's share is computed from spend before Monday: the Sunday $4 counts.
    // Nov 2025: 20 weekdays minus Thanksgiving = 19; from Nov 3: 19 left.
    let p = b.pacing(day(2025, 11, 3)).unwrap();
    assert_eq!(p.committed_before, dec("4"));
    // (175 - 4) / 19 = 9.
    assert_eq!(p.daily_share, dec("9"));
}

#[test]
fn flat_plan_fee_is_committed_until_recorded() {
    let mut b = Budget::new(
        BudgetConfig::default(),
        TradingCalendar::cme(),
        CostModel::new(
            prices(),
            LivePricing::FlatMonthly {
                usd_per_month: dec("100"),
            },
        )
        .unwrap(),
        Ledger::new(),
    )
    .unwrap();
    // March 2025: 21 trading days; (175 - 100) / 21 = 3.5714.. -> 3.57.
    let p = b.pacing(day(2025, 3, 3)).unwrap();
    assert_eq!(p.committed_before, dec("100"));
    assert_eq!(p.daily_share, dec("3.57"));
    let mar = Month::new(2025, 3).unwrap();
    assert_eq!(b.committed(mar), dec("100"));
    // Recording the fee mid-month moves no share, before or after the day it is recorded.
    let shares = |b: &Budget| [3, 10, 11].map(|d| b.pacing(day(2025, 3, d)).unwrap().daily_share);
    let before = shares(&b);
    b.record_plan_fee(utc("2025-03-10T15:00:00Z")).unwrap();
    assert_eq!(shares(&b), before);
    assert_eq!(b.committed(mar), dec("100"));
    assert!(matches!(
        b.record_plan_fee(utc("2025-03-20T15:00:00Z")),
        Err(Error::PlanFeeAlreadyRecorded { .. })
    ));
    // Live bytes cost nothing at the margin under the plan.
    let d = b
        .record_live_bytes("s", gb("50"), utc("2025-03-04T15:00:00Z"))
        .unwrap();
    assert_eq!(d.day_live, dec("0"));
    assert_eq!(d.level, ifd_budget::DegradeLevel::Full);
    // Even with the month's budget used up by downloads, free live bytes are not stopped
    // on a trading day; a Saturday has no session.
    spend_download(&mut b, "rest", "75", utc("2025-03-04T16:00:00Z"));
    assert_eq!(
        b.live_level(utc("2025-03-05T15:00:00Z")).unwrap(),
        ifd_budget::DegradeLevel::Full
    );
    assert_eq!(
        b.live_level(utc("2025-03-08T15:00:00Z")).unwrap(),
        ifd_budget::DegradeLevel::Stop
    );
    assert_eq!(b.committed(mar), dec("175"));
    assert!(matches!(
        budget().record_plan_fee(utc("2025-03-03T15:00:00Z")),
        Err(Error::NoFlatPlan)
    ));
}

#[test]
fn projection_known_answer() {
    let mut b = budget();
    // March 2025, live at $1/GB: $8 on Mon 3rd, $6 on Tue 4th, $1 so far on Wed 5th.
    b.record_live_bytes("s", gb("8"), utc("2025-03-03T15:00:00Z"))
        .unwrap();
    b.record_live_bytes("s", gb("6"), utc("2025-03-04T15:00:00Z"))
        .unwrap();
    b.record_live_bytes("s", gb("1"), utc("2025-03-05T15:00:00Z"))
        .unwrap();
    let p = b.projection(day(2025, 3, 5)).unwrap();
    // Average of elapsed days (3rd, 4th) = 7; 21 trading days in March, 18 after the 5th.
    assert_eq!(p.avg_daily_live, dec("7"));
    assert_eq!(p.trading_days_after, 18);
    // 15 committed + 6 more expected today + 7 x 18 = 147.
    assert_eq!(p.projected, dec("147"));
    assert!(!p.over_budget);
    spend_download(&mut b, "big", "30", utc("2025-03-05T16:00:00Z"));
    let p = b.projection(day(2025, 3, 5)).unwrap();
    assert_eq!(p.projected, dec("177"));
    assert!(p.over_budget);
    // On the first trading day, today's spend is the floor of the average.
    let mut fresh = budget();
    fresh
        .record_live_bytes("s", gb("5"), utc("2025-03-03T15:00:00Z"))
        .unwrap();
    let p = fresh.projection(day(2025, 3, 3)).unwrap();
    assert_eq!(p.projected, dec("105"));
}

#[test]
fn config_range_is_enforced() {
    assert!(BudgetConfig::with_monthly(dec("150")).is_ok());
    assert!(BudgetConfig::with_monthly(dec("200")).is_ok());
    for bad in ["149.99", "200.01", "0", "-175"] {
        assert!(matches!(
            BudgetConfig::with_monthly(dec(bad)),
            Err(Error::InvalidConfig { .. })
        ));
    }
    let c = BudgetConfig {
        month_alert_levels: vec![dec("1.2")],
        ..BudgetConfig::default()
    };
    assert!(c.validate().is_err());
    let c = BudgetConfig {
        nearer_strikes_at: dec("0.5"),
        ..BudgetConfig::default()
    };
    assert!(c.validate().is_err());
    assert_eq!(BudgetConfig::default().monthly_usd, dec("175"));
}
