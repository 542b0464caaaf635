//! Exchange time, the session-date convention and the CME trading calendar.
//!
//! # Which day a charge belongs to
//!
//! CME Globex runs a trading session from 17:00 to 16:00 the next day, America/Chicago
//! time (CT); the session carries the date on which it ends. This crate attributes every
//! instant to that **session date**: take the CT wall clock of the instant; if it is
//! 17:00 or later the session date is the next calendar day, otherwise it is the same
//! calendar day. The one-hour maintenance break (16:00–17:00 CT) stays with the session
//! that just closed. Friday 17:00 CT onwards falls on Saturday, which is not a trading
//! day; Sunday 17:00 CT onwards falls on Monday, the session it opens.
//!
//! A charge's **month** is the calendar month of its session date, so a charge on
//! January 31 at 17:30 CT is a February charge. Conversion goes UTC → CT through the
//! IANA rules of `chrono-tz`, which makes it exact across daylight-saving changes (a UTC
//! instant always has exactly one CT wall-clock time).
//!
//! # Trading days
//!
//! A trading day is a weekday that is not an exchange holiday. [`TradingCalendar`] is a
//! thin layer over the workspace's one CME calendar, [`ifd_core::Calendar`]:
//! [`TradingCalendar::cme`] uses [`ifd_core::Calendar::cme_equity`], whose holidays for
//! 2024 to 2027 are the days on which CME equity-index futures and options have no
//! trading-day settlement: New Year's Day, Martin Luther King Jr. Day, Presidents Day,
//! Good Friday, Memorial Day, Juneteenth, Independence Day, Labor Day, Thanksgiving and
//! Christmas (each on its observed date). On most of these Globex trades an abbreviated
//! session whose trades settle on the next trading day, which is exactly why the date is
//! not a trading day of its own. Early-close days (the day after Thanksgiving, Christmas
//! Eve) are full trading days here. See [`ifd_core::calendar`] for what is modelled.
//!
//! The session date of this crate is the clock rule above
//! ([`ifd_core::calendar::clock_session_date`]), not the exchange's trading date: a
//! charge on Friday evening falls on Saturday, inside the month it happens in.
//!
//! Asking about a year the calendar does not cover is an error
//! ([`Error::CalendarNotCovered`]), not a silent weekday guess; extend the calendar with
//! [`TradingCalendar::with_year`].

use std::fmt;

use chrono::{DateTime, Datelike, Days, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use ifd_core::calendar::{clock_session_date, Calendar, CalendarError, Closure};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The exchange time zone, America/Chicago.
pub const EXCHANGE_TZ: Tz = ifd_core::calendar::CENTRAL;

/// The CT hour at which a Globex session opens (and the session date rolls over).
pub const SESSION_OPEN_HOUR_CT: u32 = ifd_core::calendar::OPEN_HOUR_CT;

/// Converts nanoseconds since the UNIX epoch (dbn's `ts_recv`, `ts_event`) into a UTC
/// time.
///
/// # Errors
/// [`Error::TimestampOutOfRange`] if `ns` does not fit an `i64`.
pub fn utc_from_ns(ns: u64) -> Result<DateTime<Utc>> {
    let signed = i64::try_from(ns).map_err(|_| Error::TimestampOutOfRange { ns })?;
    Ok(DateTime::from_timestamp_nanos(signed))
}

/// The session date of an instant (see the module docs for the convention).
#[must_use]
pub fn session_date(at: DateTime<Utc>) -> NaiveDate {
    clock_session_date(&at)
}

/// The UTC instant at which the session of `date` opens (17:00 CT the calendar day
/// before); `None` only at the edge of chrono's date range.
#[must_use]
pub fn session_open_utc(date: NaiveDate) -> Option<DateTime<Utc>> {
    let eve = date.pred_opt()?.and_hms_opt(SESSION_OPEN_HOUR_CT, 0, 0)?;
    // 17:00 CT is never inside a DST gap or overlap (those are at 02:00).
    EXCHANGE_TZ
        .from_local_datetime(&eve)
        .single()
        .map(|t| t.with_timezone(&Utc))
}

/// A calendar month (of session dates).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "MonthRepr", into = "MonthRepr")]
pub struct Month {
    year: i32,
    month: u32,
}

#[derive(Serialize, Deserialize)]
struct MonthRepr {
    year: i32,
    month: u32,
}

impl TryFrom<MonthRepr> for Month {
    type Error = String;
    fn try_from(r: MonthRepr) -> std::result::Result<Self, String> {
        Month::new(r.year, r.month).ok_or_else(|| format!("invalid month {}-{}", r.year, r.month))
    }
}

impl From<Month> for MonthRepr {
    fn from(m: Month) -> Self {
        MonthRepr {
            year: m.year,
            month: m.month,
        }
    }
}

impl Month {
    /// The month `year`-`month`, if `month` is 1..=12 and the year is within chrono's
    /// range.
    #[must_use]
    pub fn new(year: i32, month: u32) -> Option<Self> {
        NaiveDate::from_ymd_opt(year, month, 1)?;
        // The last day must exist too, and the next month's first day for `last_day`.
        let m = Self { year, month };
        m.next_first_day()?;
        Some(m)
    }

    /// The month a date belongs to.
    #[must_use]
    pub fn of(date: NaiveDate) -> Self {
        Self {
            year: date.year(),
            month: date.month(),
        }
    }

    /// The year.
    #[must_use]
    pub fn year(self) -> i32 {
        self.year
    }

    /// The month number, 1..=12.
    #[must_use]
    pub fn month(self) -> u32 {
        self.month
    }

    fn next_first_day(self) -> Option<NaiveDate> {
        if self.month == 12 {
            NaiveDate::from_ymd_opt(self.year.checked_add(1)?, 1, 1)
        } else {
            NaiveDate::from_ymd_opt(self.year, self.month + 1, 1)
        }
    }

    /// The first day of the month.
    #[must_use]
    pub fn first_day(self) -> NaiveDate {
        // Validated in `new`/`of`.
        NaiveDate::from_ymd_opt(self.year, self.month, 1).unwrap_or(NaiveDate::MIN)
    }

    /// The last day of the month (29 February in leap years).
    #[must_use]
    pub fn last_day(self) -> NaiveDate {
        self.next_first_day()
            .and_then(|d| d.pred_opt())
            .unwrap_or(NaiveDate::MAX)
    }

    /// Number of calendar days in the month.
    #[must_use]
    pub fn days(self) -> u32 {
        self.last_day().day()
    }

    /// Whether `date` lies in this month.
    #[must_use]
    pub fn contains(self, date: NaiveDate) -> bool {
        Month::of(date) == self
    }

    /// Every calendar day of the month, in order.
    pub fn dates(self) -> impl Iterator<Item = NaiveDate> {
        let first = self.first_day();
        let last = self.last_day();
        first.iter_days().take_while(move |d| *d <= last)
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// A trading calendar: weekdays minus a per-year holiday list, covering only the years it
/// has a list for. A layer over [`ifd_core::Calendar`] that refuses uncovered years.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TradingCalendar {
    inner: Calendar,
}

impl TradingCalendar {
    /// The CME calendar for 2024-2027 (see the module docs for what is listed).
    #[must_use]
    pub fn cme() -> Self {
        Self {
            inner: Calendar::cme_equity(),
        }
    }

    /// A calendar covering no year at all; add years with [`with_year`](Self::with_year).
    #[must_use]
    pub fn empty() -> Self {
        Self {
            inner: Calendar::weekly(),
        }
    }

    /// Uses an exchange calendar as it is (its covered years are this one's).
    #[must_use]
    pub fn from_calendar(inner: Calendar) -> Self {
        Self { inner }
    }

    /// The exchange calendar underneath.
    #[must_use]
    pub fn calendar(&self) -> &Calendar {
        &self.inner
    }

    /// Adds (or replaces) the holiday list of `year`, which makes the year covered. The
    /// holidays are full closures (for hours, halts and early closes, build an
    /// [`ifd_core::Calendar`] and use [`from_calendar`](Self::from_calendar)).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] if a holiday is not in `year`.
    pub fn with_year(self, year: i32, holidays: &[NaiveDate]) -> Result<Self> {
        let closures: Vec<_> = holidays.iter().map(|d| (*d, Closure::Full)).collect();
        let inner = self
            .inner
            .with_year(year, &closures, &[])
            .map_err(|e| match e {
                CalendarError::WrongYear { date, .. } => Error::InvalidConfig {
                    field: "holidays",
                    value: date.to_string(),
                    reason: "a holiday must lie in the year it is listed under",
                },
                other => Error::InvalidConfig {
                    field: "holidays",
                    value: other.to_string(),
                    reason: "the calendar refused the holiday list",
                },
            })?;
        Ok(Self { inner })
    }

    /// The covered years, ascending.
    pub fn covered_years(&self) -> impl Iterator<Item = i32> + '_ {
        self.inner.covered_years()
    }

    /// Whether `date` is listed as a holiday.
    #[must_use]
    pub fn is_holiday(&self, date: NaiveDate) -> bool {
        self.inner.closure(date).is_some()
    }

    /// Whether `date` is a trading day (a weekday that is not a holiday).
    ///
    /// # Errors
    /// [`Error::CalendarNotCovered`] if the calendar has no list for the date's year.
    pub fn is_trading_day(&self, date: NaiveDate) -> Result<bool> {
        if !self.inner.covers(date.year()) {
            return Err(Error::CalendarNotCovered { date });
        }
        Ok(self.inner.is_trading_day(date))
    }

    /// Trading days in `month`.
    ///
    /// # Errors
    /// [`Error::CalendarNotCovered`] if the month's year is not covered.
    pub fn trading_days_in(&self, month: Month) -> Result<u32> {
        self.count_trading_days(month.first_day(), month.last_day())
    }

    /// Trading days from `date` (inclusive) to the end of its month.
    ///
    /// # Errors
    /// [`Error::CalendarNotCovered`] if the year is not covered.
    pub fn remaining_trading_days(&self, date: NaiveDate) -> Result<u32> {
        self.count_trading_days(date, Month::of(date).last_day())
    }

    /// Trading days from the first of `date`'s month up to `date`, exclusive.
    ///
    /// # Errors
    /// [`Error::CalendarNotCovered`] if the year is not covered.
    pub fn elapsed_trading_days(&self, date: NaiveDate) -> Result<u32> {
        match date.pred_opt() {
            Some(prev) if Month::of(prev) == Month::of(date) => {
                self.count_trading_days(Month::of(date).first_day(), prev)
            }
            _ => Ok(0),
        }
    }

    /// Trading days in `[from, to]` (inclusive; zero when `from > to`).
    ///
    /// # Errors
    /// [`Error::CalendarNotCovered`] if any year in the range is not covered.
    pub fn count_trading_days(&self, from: NaiveDate, to: NaiveDate) -> Result<u32> {
        let mut n = 0u32;
        let mut d = from;
        while d <= to {
            if self.is_trading_day(d)? {
                n = n.saturating_add(1);
            }
            match d.checked_add_days(Days::new(1)) {
                Some(next) => d = next,
                None => break,
            }
        }
        Ok(n)
    }
}

impl Default for TradingCalendar {
    fn default() -> Self {
        Self::cme()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Weekday;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn every_listed_holiday_is_a_weekday_and_ten_per_year() {
        let cal = TradingCalendar::cme();
        for y in 2024..=2027 {
            let set: Vec<NaiveDate> = cal
                .calendar()
                .holidays()
                .map(|(d, _)| d)
                .filter(|d| d.year() == y)
                .collect();
            assert_eq!(set.len(), 10, "year {y}");
            for h in &set {
                assert!(
                    !matches!(h.weekday(), Weekday::Sat | Weekday::Sun),
                    "{h} is a weekend day"
                );
                assert!(!cal.is_trading_day(*h).unwrap());
            }
        }
    }

    #[test]
    fn session_date_rolls_at_17_ct_in_winter_and_summer() {
        // Winter (CST, UTC-6): 23:30 UTC = 17:30 CT -> next day.
        assert_eq!(session_date(utc("2025-01-14T23:30:00Z")), d(2025, 1, 15));
        // 22:59 UTC = 16:59 CT (maintenance break) -> same day.
        assert_eq!(session_date(utc("2025-01-14T22:59:59Z")), d(2025, 1, 14));
        assert_eq!(session_date(utc("2025-01-14T23:00:00Z")), d(2025, 1, 15));
        // Summer (CDT, UTC-5): 23:30 UTC = 18:30 CT -> next day; 21:59 UTC = 16:59 CT.
        assert_eq!(session_date(utc("2025-07-14T23:30:00Z")), d(2025, 7, 15));
        assert_eq!(session_date(utc("2025-07-14T21:59:59Z")), d(2025, 7, 14));
        assert_eq!(session_date(utc("2025-07-14T22:00:00Z")), d(2025, 7, 15));
        // 03:00 UTC on the 15th = 21:00/22:00 CT on the 14th -> the 15th.
        assert_eq!(session_date(utc("2025-01-15T03:00:00Z")), d(2025, 1, 15));
    }

    #[test]
    fn session_date_across_dst_changes() {
        // Spring forward: Sunday 2025-03-09 02:00 CST -> 03:00 CDT.
        // Saturday 2025-03-08 22:30 UTC = 16:30 CST -> Saturday.
        assert_eq!(session_date(utc("2025-03-08T22:30:00Z")), d(2025, 3, 8));
        // Sunday 22:30 UTC = 17:30 CDT (already summer time) -> Monday.
        assert_eq!(session_date(utc("2025-03-09T22:30:00Z")), d(2025, 3, 10));
        // Sunday 21:30 UTC = 16:30 CDT -> still Sunday.
        assert_eq!(session_date(utc("2025-03-09T21:30:00Z")), d(2025, 3, 9));
        // Fall back: Sunday 2025-11-02 02:00 CDT -> 01:00 CST.
        // Saturday 22:30 UTC = 17:30 CDT -> Sunday.
        assert_eq!(session_date(utc("2025-11-01T22:30:00Z")), d(2025, 11, 2));
        // Sunday 22:30 UTC = 16:30 CST -> Sunday; 23:00 UTC = 17:00 CST -> Monday.
        assert_eq!(session_date(utc("2025-11-02T22:30:00Z")), d(2025, 11, 2));
        assert_eq!(session_date(utc("2025-11-02T23:00:00Z")), d(2025, 11, 3));
        // The repeated hour 01:00-02:00 CT: 06:30 UTC (01:30 CDT) and 07:30 UTC (01:30 CST).
        assert_eq!(session_date(utc("2025-11-02T06:30:00Z")), d(2025, 11, 2));
        assert_eq!(session_date(utc("2025-11-02T07:30:00Z")), d(2025, 11, 2));
    }

    #[test]
    fn session_open_is_17_ct_the_day_before() {
        assert_eq!(
            session_open_utc(d(2025, 1, 15)).unwrap(),
            utc("2025-01-14T23:00:00Z")
        );
        assert_eq!(
            session_open_utc(d(2025, 3, 10)).unwrap(),
            utc("2025-03-09T22:00:00Z")
        );
    }

    proptest::proptest! {
        #[test]
        fn session_opens_exactly_at_17_ct(days in 0u64..1460) {
            let date = d(2024, 1, 2) + Days::new(days);
            let open = session_open_utc(date).unwrap();
            proptest::prop_assert_eq!(session_date(open), date);
            let just_before = open - chrono::Duration::nanoseconds(1);
            proptest::prop_assert_eq!(session_date(just_before), date.pred_opt().unwrap());
            // The session ends 23 hours later (16:00 CT), in its own date.
            let close = open + chrono::Duration::hours(23) - chrono::Duration::nanoseconds(1);
            proptest::prop_assert_eq!(session_date(close), date);
        }
    }

    #[test]
    fn trading_days_known_answers() {
        let cal = TradingCalendar::cme();
        // Feb 2024 (leap): 21 weekdays, minus Presidents Day (19th).
        assert_eq!(
            cal.trading_days_in(Month::new(2024, 2).unwrap()).unwrap(),
            20
        );
        assert_eq!(Month::new(2024, 2).unwrap().days(), 29);
        // Feb 2025: 20 weekdays minus the 17th.
        assert_eq!(
            cal.trading_days_in(Month::new(2025, 2).unwrap()).unwrap(),
            19
        );
        // Dec 2025: 23 weekdays minus Christmas.
        assert_eq!(
            cal.trading_days_in(Month::new(2025, 12).unwrap()).unwrap(),
            22
        );
        // Nov 2025 from the 24th: 24, 25, 26, (27 Thanksgiving), 28 -> 4.
        assert_eq!(cal.remaining_trading_days(d(2025, 11, 24)).unwrap(), 4);
        // From a Saturday: the remaining weekdays.
        assert_eq!(cal.remaining_trading_days(d(2025, 11, 29)).unwrap(), 0);
        assert_eq!(cal.elapsed_trading_days(d(2025, 11, 1)).unwrap(), 0);
        // Nov 1 2025 is a Saturday: Nov 3-6 elapsed before the 7th.
        assert_eq!(cal.elapsed_trading_days(d(2025, 11, 7)).unwrap(), 4);
    }

    #[test]
    fn uncovered_year_is_an_error_not_a_guess() {
        let cal = TradingCalendar::cme();
        assert!(matches!(
            cal.is_trading_day(d(2028, 2, 1)),
            Err(Error::CalendarNotCovered { .. })
        ));
        let cal = cal.with_year(2028, &[d(2028, 2, 21)]).unwrap();
        // Feb 2028 (leap): 21 weekdays minus Presidents Day.
        assert_eq!(
            cal.trading_days_in(Month::new(2028, 2).unwrap()).unwrap(),
            20
        );
        assert!(TradingCalendar::cme()
            .with_year(2028, &[d(2027, 2, 21)])
            .is_err());
    }

    #[test]
    fn month_arithmetic() {
        let m = Month::new(2024, 12).unwrap();
        assert_eq!(m.last_day(), d(2024, 12, 31));
        assert_eq!(m.to_string(), "2024-12");
        assert_eq!(Month::new(2028, 2).unwrap().days(), 29);
        assert_eq!(Month::new(2100, 2).unwrap().days(), 28);
        assert!(Month::new(2025, 13).is_none());
        assert_eq!(Month::new(2025, 4).unwrap().dates().count(), 30);
    }
}
