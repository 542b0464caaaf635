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
//! A trading day is a weekday that is not in the holiday list. [`TradingCalendar::cme`]
//! lists, for 2024 to 2027, the days on which CME equity-index futures and options have no
//! trading-day settlement: New Year's Day, Martin Luther King Jr. Day, Presidents Day,
//! Good Friday, Memorial Day, Juneteenth, Independence Day, Labor Day, Thanksgiving and
//! Christmas (each on its observed date). On most of these Globex trades an abbreviated
//! session whose trades settle on the next trading day, which is exactly why the date is
//! not a trading day of its own. Early-close days (the day after Thanksgiving, Christmas
//! Eve) are full trading days here. The national day of mourning of 2025-01-09 is not
//! listed: CME equity products traded an abbreviated session that settled that day.
//!
//! Asking about a year the calendar does not cover is an error
//! ([`Error::CalendarNotCovered`]), not a silent weekday guess; extend the calendar with
//! [`TradingCalendar::with_year`].

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{DateTime, Datelike, Days, NaiveDate, TimeZone, Timelike, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The exchange time zone, America/Chicago.
pub const EXCHANGE_TZ: Tz = chrono_tz::America::Chicago;

/// The CT hour at which a Globex session opens (and the session date rolls over).
pub const SESSION_OPEN_HOUR_CT: u32 = 17;

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
    let local = at.with_timezone(&EXCHANGE_TZ);
    let date = local.date_naive();
    if local.hour() >= SESSION_OPEN_HOUR_CT {
        // `NaiveDate::MAX` has no successor; an instant that late cannot come from a
        // `DateTime<Utc>` converted into CT, but stay total anyway.
        date.succ_opt().unwrap_or(date)
    } else {
        date
    }
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
/// has a list for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TradingCalendar {
    holidays: BTreeMap<i32, BTreeSet<NaiveDate>>,
}

/// CME holidays (no trading-day settlement for equity-index products), 2024-2027.
const CME_HOLIDAYS: &[(i32, u32, u32)] = &[
    // 2024
    (2024, 1, 1),   // New Year's Day
    (2024, 1, 15),  // Martin Luther King Jr. Day
    (2024, 2, 19),  // Presidents Day
    (2024, 3, 29),  // Good Friday
    (2024, 5, 27),  // Memorial Day
    (2024, 6, 19),  // Juneteenth
    (2024, 7, 4),   // Independence Day
    (2024, 9, 2),   // Labor Day
    (2024, 11, 28), // Thanksgiving
    (2024, 12, 25), // Christmas
    // 2025
    (2025, 1, 1),
    (2025, 1, 20),
    (2025, 2, 17),
    (2025, 4, 18),
    (2025, 5, 26),
    (2025, 6, 19),
    (2025, 7, 4),
    (2025, 9, 1),
    (2025, 11, 27),
    (2025, 12, 25),
    // 2026
    (2026, 1, 1),
    (2026, 1, 19),
    (2026, 2, 16),
    (2026, 4, 3),
    (2026, 5, 25),
    (2026, 6, 19),
    (2026, 7, 3), // Independence Day observed (July 4 is a Saturday)
    (2026, 9, 7),
    (2026, 11, 26),
    (2026, 12, 25),
    // 2027
    (2027, 1, 1),
    (2027, 1, 18),
    (2027, 2, 15),
    (2027, 3, 26),
    (2027, 5, 31),
    (2027, 6, 18), // Juneteenth observed (June 19 is a Saturday)
    (2027, 7, 5),  // Independence Day observed (July 4 is a Sunday)
    (2027, 9, 6),
    (2027, 11, 25),
    (2027, 12, 24), // Christmas observed (December 25 is a Saturday)
];

impl TradingCalendar {
    /// The CME calendar for 2024-2027 (see the module docs for what is listed).
    #[must_use]
    pub fn cme() -> Self {
        let mut holidays: BTreeMap<i32, BTreeSet<NaiveDate>> = BTreeMap::new();
        for &(y, m, d) in CME_HOLIDAYS {
            if let Some(date) = NaiveDate::from_ymd_opt(y, m, d) {
                holidays.entry(y).or_default().insert(date);
            }
        }
        Self { holidays }
    }

    /// A calendar covering no year at all; add years with [`with_year`](Self::with_year).
    #[must_use]
    pub fn empty() -> Self {
        Self {
            holidays: BTreeMap::new(),
        }
    }

    /// Adds (or replaces) the holiday list of `year`, which makes the year covered.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] if a holiday is not in `year`.
    pub fn with_year(mut self, year: i32, holidays: &[NaiveDate]) -> Result<Self> {
        if let Some(bad) = holidays.iter().find(|d| d.year() != year) {
            return Err(Error::InvalidConfig {
                field: "holidays",
                value: bad.to_string(),
                reason: "a holiday must lie in the year it is listed under",
            });
        }
        self.holidays
            .insert(year, holidays.iter().copied().collect());
        Ok(self)
    }

    /// The covered years, ascending.
    pub fn covered_years(&self) -> impl Iterator<Item = i32> + '_ {
        self.holidays.keys().copied()
    }

    /// Whether `date` is listed as a holiday.
    #[must_use]
    pub fn is_holiday(&self, date: NaiveDate) -> bool {
        self.holidays
            .get(&date.year())
            .is_some_and(|set| set.contains(&date))
    }

    /// Whether `date` is a trading day (a weekday that is not a holiday).
    ///
    /// # Errors
    /// [`Error::CalendarNotCovered`] if the calendar has no list for the date's year.
    pub fn is_trading_day(&self, date: NaiveDate) -> Result<bool> {
        let set = self
            .holidays
            .get(&date.year())
            .ok_or(Error::CalendarNotCovered { date })?;
        let weekend = matches!(date.weekday(), Weekday::Sat | Weekday::Sun);
        Ok(!weekend && !set.contains(&date))
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
            let set = &cal.holidays[&y];
            assert_eq!(set.len(), 10, "year {y}");
            for h in set {
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
