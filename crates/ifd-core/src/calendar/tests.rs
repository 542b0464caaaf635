use super::*;
use chrono::Days;
use proptest::prelude::*;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

/// UNIX ns of a CT wall-clock time.
fn ct(y: i32, m: u32, day: u32, h: u32, mi: u32) -> u64 {
    central_ns(d(y, m, day), hm(h, mi)).unwrap()
}

const MIN: u64 = 60_000_000_000;
const GRID: u64 = 15 * MIN;

#[test]
fn ordinary_week() {
    let c = Calendar::cme_equity();
    // Wednesday 2025-11-12.
    assert!(c.is_open(ct(2025, 11, 12, 9, 0)));
    assert!(c.is_open(ct(2025, 11, 12, 15, 59)));
    assert!(!c.is_open(ct(2025, 11, 12, 16, 0)), "daily break");
    assert!(!c.is_open(ct(2025, 11, 12, 16, 59)), "daily break");
    assert!(c.is_open(ct(2025, 11, 12, 17, 0)), "evening open");
    assert_eq!(
        c.trading_date(ct(2025, 11, 12, 16, 30)),
        Some(d(2025, 11, 12))
    );
    assert_eq!(
        c.trading_date(ct(2025, 11, 12, 17, 0)),
        Some(d(2025, 11, 13))
    );
    // Friday close, weekend, Sunday open.
    assert!(c.is_open(ct(2025, 11, 14, 15, 59)));
    assert!(!c.is_open(ct(2025, 11, 14, 17, 30)), "Friday evening");
    assert!(!c.is_open(ct(2025, 11, 15, 12, 0)), "Saturday");
    assert!(!c.is_open(ct(2025, 11, 16, 16, 59)), "Sunday afternoon");
    assert!(c.is_open(ct(2025, 11, 16, 17, 0)), "Sunday open");
    assert_eq!(
        c.trading_date(ct(2025, 11, 15, 12, 0)),
        Some(d(2025, 11, 14))
    );
    assert_eq!(
        c.trading_date(ct(2025, 11, 16, 17, 0)),
        Some(d(2025, 11, 17))
    );
    assert_eq!(
        c.next_open(ct(2025, 11, 14, 16, 0)),
        Some(ct(2025, 11, 16, 17, 0))
    );
    let s = c.session(d(2025, 11, 17)).unwrap();
    assert_eq!(
        s.segments(),
        &[(ct(2025, 11, 16, 17, 0), ct(2025, 11, 17, 16, 0))]
    );
    assert!(c.session(d(2025, 11, 15)).is_none());
}

#[test]
fn central_time_is_exact_across_dst() {
    // 2025-03-09 spring forward: Sunday 17:00 CDT is 22:00 UTC.
    let open = ct(2025, 3, 9, 17, 0);
    assert_eq!(open % (24 * 60 * MIN) / (60 * MIN), 22);
    let c = Calendar::cme_equity();
    assert!(c.is_open(open));
    assert!(!c.is_open(open - 1));
    // 2025-11-02 fall back: Sunday 17:00 CST is 23:00 UTC.
    let open = ct(2025, 11, 2, 17, 0);
    assert_eq!(open % (24 * 60 * MIN) / (60 * MIN), 23);
    assert_eq!(c.next_open(open - 3 * 60 * MIN), Some(open));
    // The changes fall on Sunday 02:00, inside the weekend: every session lasts 23 hours.
    for date in [
        d(2025, 3, 7),
        d(2025, 3, 10),
        d(2025, 10, 31),
        d(2025, 11, 3),
    ] {
        let s = c.session(date).unwrap();
        assert_eq!(s.close() - s.open(), 23 * 60 * MIN, "{date}");
    }
}

#[test]
fn halt_holiday_belongs_to_the_next_trading_date() {
    let c = Calendar::cme_equity();
    // MLK Day 2026-01-19 (Monday): open Sunday 17:00, halt Monday 12:00, reopen 17:00.
    assert_eq!(c.closure(d(2026, 1, 19)), Some(Closure::Halt(hm(12, 0))));
    assert!(!c.is_trading_day(d(2026, 1, 19)));
    assert!(c.is_open(ct(2026, 1, 18, 17, 0)));
    assert_eq!(c.trading_date(ct(2026, 1, 18, 17, 0)), Some(d(2026, 1, 20)));
    assert!(c.is_open(ct(2026, 1, 19, 11, 59)));
    assert!(!c.is_open(ct(2026, 1, 19, 12, 0)));
    assert_eq!(c.trading_date(ct(2026, 1, 19, 14, 0)), Some(d(2026, 1, 20)));
    assert_eq!(
        c.next_open(ct(2026, 1, 19, 12, 0)),
        Some(ct(2026, 1, 19, 17, 0))
    );
    let s = c.session(d(2026, 1, 20)).unwrap();
    assert_eq!(
        s.segments(),
        &[
            (ct(2026, 1, 18, 17, 0), ct(2026, 1, 19, 12, 0)),
            (ct(2026, 1, 19, 17, 0), ct(2026, 1, 20, 16, 0)),
        ]
    );
    assert!(c.session(d(2026, 1, 19)).is_none());

    // Independence Day observed on Friday 2026-07-03: the halted Friday belongs to Monday.
    let s = c.session(d(2026, 7, 6)).unwrap();
    assert_eq!(
        s.segments(),
        &[
            (ct(2026, 7, 2, 17, 0), ct(2026, 7, 3, 12, 0)),
            (ct(2026, 7, 5, 17, 0), ct(2026, 7, 6, 16, 0)),
        ]
    );
    assert_eq!(c.trading_date(ct(2026, 7, 4, 12, 0)), Some(d(2026, 7, 6)));
}

#[test]
fn thanksgiving_halt_then_early_close() {
    let c = Calendar::cme_equity();
    let s = c.session(d(2025, 11, 28)).unwrap();
    assert_eq!(
        s.segments(),
        &[
            (ct(2025, 11, 26, 17, 0), ct(2025, 11, 27, 12, 0)),
            (ct(2025, 11, 27, 17, 0), ct(2025, 11, 28, 12, 15)),
        ]
    );
    assert!(c.is_open(ct(2025, 11, 28, 12, 14)));
    assert!(!c.is_open(ct(2025, 11, 28, 12, 15)));
    assert_eq!(
        c.next_open(ct(2025, 11, 28, 12, 15)),
        Some(ct(2025, 11, 30, 17, 0))
    );
}

#[test]
fn full_closures() {
    let c = Calendar::cme_equity();
    // Christmas 2025 (Thursday): Christmas Eve closes 12:15 CT, nothing the evening
    // before Christmas, reopen Christmas 17:00 CT for the 26th.
    assert!(c.is_open(ct(2025, 12, 24, 12, 14)));
    assert!(!c.is_open(ct(2025, 12, 24, 12, 15)));
    assert!(!c.is_open(ct(2025, 12, 24, 17, 0)));
    assert!(!c.is_open(ct(2025, 12, 25, 10, 0)));
    assert_eq!(
        c.next_open(ct(2025, 12, 24, 12, 15)),
        Some(ct(2025, 12, 25, 17, 0))
    );
    assert_eq!(
        c.trading_date(ct(2025, 12, 25, 10, 0)),
        Some(d(2025, 12, 24))
    );
    assert_eq!(
        c.trading_date(ct(2025, 12, 25, 17, 0)),
        Some(d(2025, 12, 26))
    );
    // Good Friday 2026: closed from Thursday 16:00 to Sunday 17:00.
    assert!(!c.is_open(ct(2026, 4, 2, 17, 0)));
    assert!(!c.is_open(ct(2026, 4, 3, 9, 0)));
    assert_eq!(
        c.next_open(ct(2026, 4, 2, 16, 0)),
        Some(ct(2026, 4, 5, 17, 0))
    );
    // New Year 2026 (Thursday): Dec 31 closes at 16:00, Jan 2 opens Jan 1 17:00.
    assert_eq!(
        c.next_open(ct(2025, 12, 31, 16, 0)),
        Some(ct(2026, 1, 1, 17, 0))
    );
}

#[test]
fn the_holiday_list_is_the_cme_ten_a_year() {
    let c = Calendar::cme_equity();
    for y in 2024..=2027 {
        assert!(c.covers(y));
        let list: Vec<_> = c.holidays().filter(|(h, _)| h.year() == y).collect();
        assert_eq!(list.len(), 10, "year {y}");
        let full = list.iter().filter(|(_, k)| *k == Closure::Full).count();
        assert_eq!(full, 3, "New Year, Good Friday, Christmas in {y}");
        assert!(list.iter().all(|(h, _)| !is_weekend(*h)));
    }
    for (date, _) in c.early_closes.iter() {
        assert!(c.is_trading_day(*date), "{date}");
    }
    assert!(!c.covers(2030));
    assert_eq!(
        c.covered_years().collect::<Vec<_>>(),
        vec![2024, 2025, 2026, 2027]
    );
}

#[test]
fn uncovered_years_follow_the_weekly_schedule() {
    let c = Calendar::cme_equity();
    // 2030-12-25 is a Wednesday; with no list for 2030 it trades normally.
    assert!(c.is_open(ct(2030, 12, 25, 9, 0)));
    let c = c
        .with_year(2030, &[(d(2030, 12, 25), Closure::Full)], &[])
        .unwrap();
    assert!(!c.is_open(ct(2030, 12, 25, 9, 0)));
    assert!(c.covers(2030));
    assert_eq!(
        Calendar::weekly().with_year(2030, &[(d(2029, 12, 25), Closure::Full)], &[]),
        Err(CalendarError::WrongYear {
            date: d(2029, 12, 25),
            year: 2030
        })
    );
    assert!(matches!(
        Calendar::weekly().with_year(2030, &[], &[(d(2030, 12, 24), hm(18, 0))]),
        Err(CalendarError::CloseTime { .. })
    ));
}

#[test]
fn out_of_range_timestamps_are_answered_not_panicked() {
    let c = Calendar::cme_equity();
    assert!(!c.is_open(u64::MAX));
    assert_eq!(c.trading_date(u64::MAX), None);
    assert_eq!(c.next_open(u64::MAX), None);
    assert_eq!(minute_since_evening_open(u64::MAX), None);
    assert_eq!(central_time_of_day(u64::MAX), None);
}

#[test]
fn minutes_since_the_evening_open() {
    assert_eq!(minute_since_evening_open(ct(2026, 11, 22, 17, 0)), Some(0));
    assert_eq!(
        minute_since_evening_open(ct(2026, 11, 23, 8, 30)),
        Some(930)
    );
    assert_eq!(minute_since_evening_open(ct(2026, 7, 6, 8, 30)), Some(930));
    assert_eq!(
        minute_since_evening_open(ct(2026, 7, 6, 16, 59)),
        Some(1439)
    );
    assert_eq!(central_time_of_day(ct(2026, 7, 6, 8, 30)), Some(hm(8, 30)));
}

#[test]
fn clock_session_date_rolls_at_17_ct() {
    let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
    assert_eq!(
        clock_session_date(&at("2025-01-14T22:59:59Z")),
        d(2025, 1, 14)
    );
    assert_eq!(
        clock_session_date(&at("2025-01-14T23:00:00Z")),
        d(2025, 1, 15)
    );
    assert_eq!(
        clock_session_date(&at("2025-07-14T22:00:00Z")),
        d(2025, 7, 15)
    );
    // Friday evening is Saturday by the clock; the exchange's trading date is Friday.
    assert_eq!(
        clock_session_date(&at("2025-11-14T23:30:00Z")),
        d(2025, 11, 15)
    );
}

/// 2023-12-01 to 2028-02-01, UTC.
const START: u64 = 1_701_388_800_000_000_000;
const END: u64 = 1_832_976_000_000_000_000;

#[test]
fn a_central_time_skipped_by_the_spring_change_has_no_timestamp() {
    // 2024-03-10: Central time goes from 01:59:59 CST to 03:00 CDT.
    assert_eq!(central_ns(d(2024, 3, 10), hm(2, 30)), None);
    assert!(central_ns(d(2024, 3, 10), hm(3, 0)).is_some());
}

fn any_ts() -> impl Strategy<Value = u64> {
    START..END
}

fn any_date() -> impl Strategy<Value = NaiveDate> {
    (0u64..1_500).prop_map(|n| d(2024, 1, 1) + Days::new(n))
}

proptest! {
    #[test]
    fn trading_date_is_monotone(a in any_ts(), b in any_ts()) {
        let c = Calendar::cme_equity();
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        prop_assert!(c.trading_date(lo).unwrap() <= c.trading_date(hi).unwrap());
        prop_assert!(c.is_trading_day(c.trading_date(lo).unwrap()));
    }

    #[test]
    fn closed_in_the_break_on_weekends_and_on_holidays(date in any_date(), minute in 0u32..1440) {
        let c = Calendar::cme_equity();
        let time = hm(minute / 60, minute % 60);
        // 02:00-02:59 on the day Central time springs forward does not exist.
        let ts = central_ns(date, time);
        prop_assume!(ts.is_some(), "no such Central time");
        let ts = ts.unwrap_or_default();
        if time.hour() == 16 {
            prop_assert!(!c.is_open(ts), "daily break {date} {time}");
        }
        match date.weekday() {
            Weekday::Sat => prop_assert!(!c.is_open(ts)),
            Weekday::Sun if time.hour() < 17 => prop_assert!(!c.is_open(ts)),
            Weekday::Fri if time.hour() >= 16 => prop_assert!(!c.is_open(ts)),
            _ => {}
        }
        match c.closure(date) {
            Some(Closure::Full) if time.hour() < 17 => prop_assert!(!c.is_open(ts)),
            Some(Closure::Halt(h)) if time >= h && time.hour() < 17 => {
                prop_assert!(!c.is_open(ts));
            }
            _ => {}
        }
        // The evening before a full closure does not open either.
        if let Some(next) = date.succ_opt() {
            if c.closure(next) == Some(Closure::Full) && time.hour() >= 17 {
                prop_assert!(!c.is_open(ts));
            }
        }
    }

    #[test]
    fn next_open_is_open_and_minimal(ts in any_ts()) {
        let c = Calendar::cme_equity();
        let next = c.next_open(ts).unwrap();
        prop_assert!(next >= ts);
        prop_assert!(c.is_open(next));
        if next > ts {
            prop_assert!(!c.is_open(next - 1));
            // Every schedule change falls on a 15-minute mark of CT, which is one of
            // UTC (whole-hour offsets): check every mark in between.
            let mut t = (ts / GRID + 1) * GRID;
            while t < next {
                prop_assert!(!c.is_open(t), "open at {t} before next_open {next}");
                t += GRID;
            }
        }
    }

    #[test]
    fn sessions_agree_with_is_open_and_trading_date(date in any_date()) {
        let c = Calendar::cme_equity();
        match c.session(date) {
            None => prop_assert!(!c.is_trading_day(date)),
            Some(s) => {
                prop_assert_eq!(s.trading_date(), date);
                prop_assert!(s.open() < s.close());
                for w in s.segments().windows(2) {
                    prop_assert!(w[0].1 < w[1].0);
                }
                for &(a, b) in s.segments() {
                    prop_assert!(c.is_open(a) && c.is_open(b - 1));
                    prop_assert!(!c.is_open(a - 1) && !c.is_open(b));
                    prop_assert_eq!(c.trading_date(a), Some(date));
                    prop_assert_eq!(c.trading_date(b - 1), Some(date));
                    prop_assert_eq!(c.next_open(a - 1), Some(a));
                }
            }
        }
    }

    #[test]
    fn an_open_instant_lies_in_its_session(ts in any_ts()) {
        let c = Calendar::cme_equity();
        let s = c.session_at(ts).unwrap();
        prop_assert_eq!(c.is_open(ts), s.contains(ts));
        prop_assert!(s.open() <= ts);
    }
}
