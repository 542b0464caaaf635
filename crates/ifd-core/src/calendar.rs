//! The CME Globex calendar of Nasdaq-100 (NQ) futures and options, in US Central time.
//!
//! # The weekly schedule
//!
//! CME Globex equity-index products trade from Sunday 17:00 to Friday 16:00 US Central
//! time (CT, America/Chicago through `chrono-tz`, so daylight saving is exact), with a
//! daily break from 16:00 to 17:00 CT. Each stretch of trading that opens at 17:00 CT
//! and closes (normally) at 16:00 CT the next calendar day is called here the
//! **segment** of the calendar day it closes on: Monday's segment opens Sunday 17:00 CT.
//! Saturdays and Sundays have no segment.
//!
//! # Trading dates
//!
//! A **trading date** is a weekday that is not a holiday. The **session** of a trading
//! date is its own segment plus the segments of the non-trading days just before it: on
//! Martin Luther King Jr. Day, Globex opens Sunday 17:00 CT, halts Monday 12:00 CT,
//! reopens Monday 17:00 CT, and all of it is Tuesday's session.
//! [`Calendar::trading_date`] of a timestamp is the trading date of the latest segment
//! that opened at or before it: the session in progress, or (in the daily break, after a
//! halt, on a weekend) the session that last traded. It never decreases as time goes on.
//!
//! # Holidays (CME equity products, 2024–2027)
//!
//! [`Calendar::cme_equity`] models, from CME Group's published Globex holiday schedules
//! for the equity product group:
//!
//! - **Full closures** ([`Closure::Full`]): New Year's Day, Good Friday and Christmas
//!   (each on its observed date). No segment closes on these days: Globex closes at
//!   16:00 CT the day before (or earlier, see early closes) and reopens 17:00 CT on the
//!   holiday, for the next trading date.
//! - **Early halts at 12:00 CT** ([`Closure::Halt`]): Martin Luther King Jr. Day,
//!   Presidents Day, Memorial Day, Juneteenth, Independence Day, Labor Day and
//!   Thanksgiving (each on its observed date). Globex opens as usual the evening before
//!   and halts at 12:00 CT on the holiday; what trades belongs to the next trading date.
//! - **Early closes at 12:15 CT**: the day after Thanksgiving, Christmas Eve when it is a
//!   trading date (2024–2026) and July 3 when Independence Day falls later in the same
//!   week (2024, 2025). The session of that trading date ends at 12:15 CT.
//!
//! Not modelled: one-off closures and abbreviated sessions announced at short notice
//! (the national day of mourning of 2025-01-09, when CME equity products closed early;
//! abbreviated Good Friday sessions that CME has opened in some years when the US
//! employment report fell on Good Friday, e.g. 2021); the 15:15–15:30 CT trading halt of
//! equity options around the futures settlement; options-only expiry times. A calendar
//! for such days is built with [`Calendar::with_year`]. Years outside the covered ones
//! follow the weekly schedule without holidays; [`Calendar::covers`] tells which years
//! have a holiday list, and callers that need certainty (the budget) check it.
//!
//! # Timestamps
//!
//! Timestamps are dbn's: `u64` nanoseconds since the UNIX epoch, UTC. A timestamp beyond
//! `i64::MAX` nanoseconds (the year 2262) is outside chrono's range: queries return
//! `None` or `false`, never panic.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeZone, Timelike, Utc, Weekday};
use chrono_tz::Tz;

/// US Central time, the exchange time zone of CME Globex.
pub const CENTRAL: Tz = chrono_tz::America::Chicago;

/// The CT hour at which a segment opens (and the session date rolls over).
pub const OPEN_HOUR_CT: u32 = 17;

/// The CT hour at which a regular segment closes.
pub const CLOSE_HOUR_CT: u32 = 16;

/// How far the calendar walks over consecutive days without trading before it gives up
/// (only a hand-built calendar can have such a stretch).
const MAX_WALK_DAYS: u32 = 400;

/// How an exchange holiday changes Globex trading on its date. Either way the date is not
/// a trading date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Closure {
    /// No trading closes on this date: the segment that would open at 17:00 CT the
    /// evening before does not open.
    Full,
    /// Globex opens at 17:00 CT the evening before as usual and halts at this CT time on
    /// the holiday; the trading belongs to the next trading date.
    Halt(NaiveTime),
}

/// Why a hand-built calendar is rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CalendarError {
    /// A date listed under a year lies in another year.
    #[error("{date} is listed under year {year}")]
    WrongYear {
        /// The date.
        date: NaiveDate,
        /// The year it was listed under.
        year: i32,
    },
    /// A halt or early-close time at or after the 17:00 CT reopen, or at midnight.
    #[error("{date}: close time {time} is not between 00:00 and 17:00 CT")]
    CloseTime {
        /// The date.
        date: NaiveDate,
        /// The time given.
        time: NaiveTime,
    },
}

/// The session of one trading date: its segments, ascending and disjoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    trading_date: NaiveDate,
    segments: Vec<(u64, u64)>,
}

impl Session {
    /// The trading date.
    #[must_use]
    pub fn trading_date(&self) -> NaiveDate {
        self.trading_date
    }

    /// The open trading stretches `[open, close)` in UNIX ns, ascending and disjoint (one
    /// on an ordinary day, more after a holiday with an early halt).
    #[must_use]
    pub fn segments(&self) -> &[(u64, u64)] {
        &self.segments
    }

    /// When the session first opens (UNIX ns).
    #[must_use]
    pub fn open(&self) -> u64 {
        self.segments.first().map_or(0, |s| s.0)
    }

    /// When the session finally closes (UNIX ns, exclusive).
    #[must_use]
    pub fn close(&self) -> u64 {
        self.segments.last().map_or(0, |s| s.1)
    }

    /// Whether the market is open for this session at `ts`.
    #[must_use]
    pub fn contains(&self, ts: u64) -> bool {
        self.segments.iter().any(|&(a, b)| a <= ts && ts < b)
    }
}

/// A CME Globex calendar: the weekly schedule plus holidays and early closes per year.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Calendar {
    closures: BTreeMap<NaiveDate, Closure>,
    early_closes: BTreeMap<NaiveDate, NaiveTime>,
    years: BTreeSet<i32>,
}

const fn hm(h: u32, m: u32) -> NaiveTime {
    // Callers pass literal, valid times.
    match NaiveTime::from_hms_opt(h, m, 0) {
        Some(t) => t,
        None => NaiveTime::MIN,
    }
}

/// The CME equity holiday halt time (12:00 CT).
const HALT: NaiveTime = hm(12, 0);
/// The CME equity early close time (12:15 CT).
const EARLY: NaiveTime = hm(12, 15);

/// `(year, month, day, what)`; `None` is a full closure.
type Entry = (i32, u32, u32, Option<NaiveTime>);

/// CME equity-product holidays, 2024–2027 (see the module docs).
const CME_EQUITY_HOLIDAYS: &[Entry] = &[
    (2024, 1, 1, None),         // New Year's Day
    (2024, 1, 15, Some(HALT)),  // Martin Luther King Jr. Day
    (2024, 2, 19, Some(HALT)),  // Presidents Day
    (2024, 3, 29, None),        // Good Friday
    (2024, 5, 27, Some(HALT)),  // Memorial Day
    (2024, 6, 19, Some(HALT)),  // Juneteenth
    (2024, 7, 4, Some(HALT)),   // Independence Day
    (2024, 9, 2, Some(HALT)),   // Labor Day
    (2024, 11, 28, Some(HALT)), // Thanksgiving
    (2024, 12, 25, None),       // Christmas
    (2025, 1, 1, None),
    (2025, 1, 20, Some(HALT)),
    (2025, 2, 17, Some(HALT)),
    (2025, 4, 18, None),
    (2025, 5, 26, Some(HALT)),
    (2025, 6, 19, Some(HALT)),
    (2025, 7, 4, Some(HALT)),
    (2025, 9, 1, Some(HALT)),
    (2025, 11, 27, Some(HALT)),
    (2025, 12, 25, None),
    (2026, 1, 1, None),
    (2026, 1, 19, Some(HALT)),
    (2026, 2, 16, Some(HALT)),
    (2026, 4, 3, None),
    (2026, 5, 25, Some(HALT)),
    (2026, 6, 19, Some(HALT)),
    (2026, 7, 3, Some(HALT)), // Independence Day observed (July 4 is a Saturday)
    (2026, 9, 7, Some(HALT)),
    (2026, 11, 26, Some(HALT)),
    (2026, 12, 25, None),
    (2027, 1, 1, None),
    (2027, 1, 18, Some(HALT)),
    (2027, 2, 15, Some(HALT)),
    (2027, 3, 26, None),
    (2027, 5, 31, Some(HALT)),
    (2027, 6, 18, Some(HALT)), // Juneteenth observed (June 19 is a Saturday)
    (2027, 7, 5, Some(HALT)),  // Independence Day observed (July 4 is a Sunday)
    (2027, 9, 6, Some(HALT)),
    (2027, 11, 25, Some(HALT)),
    (2027, 12, 24, None), // Christmas observed (December 25 is a Saturday)
];

/// CME equity early closes (12:15 CT), 2024–2027.
const CME_EQUITY_EARLY_CLOSES: &[(i32, u32, u32)] = &[
    (2024, 7, 3),
    (2024, 11, 29),
    (2024, 12, 24),
    (2025, 7, 3),
    (2025, 11, 28),
    (2025, 12, 24),
    (2026, 11, 27),
    (2026, 12, 24),
    (2027, 11, 26),
];

/// The UTC instant of a UNIX-nanosecond timestamp; `None` beyond `i64::MAX`.
#[must_use]
pub fn utc_from_ns(ts: u64) -> Option<DateTime<Utc>> {
    i64::try_from(ts).ok().map(DateTime::from_timestamp_nanos)
}

/// The US Central wall-clock time of a UNIX-nanosecond timestamp.
#[must_use]
pub fn to_central(ts: u64) -> Option<DateTime<Tz>> {
    utc_from_ns(ts).map(|t| t.with_timezone(&CENTRAL))
}

/// The US Central time of day of a UNIX-nanosecond timestamp.
#[must_use]
pub fn central_time_of_day(ts: u64) -> Option<NaiveTime> {
    to_central(ts).map(|t| t.time())
}

/// Wall-clock minutes since the latest 17:00 CT (0 ..= 1439): the time of day counted
/// from the evening open, the same on every day and across daylight-saving changes.
#[must_use]
pub fn minute_since_evening_open(ts: u64) -> Option<u16> {
    let t = to_central(ts)?;
    let m = (t.hour() * 60 + t.minute() + (24 - OPEN_HOUR_CT) * 60) % (24 * 60);
    // < 1440, fits u16.
    u16::try_from(m).ok()
}

/// The CT calendar date of `at`, moved to the next day from 17:00 CT on: the date an
/// evening's segment closes on, by the clock alone (no weekends, no holidays; Friday
/// evening gives Saturday). [`Calendar::trading_date`] is the exchange's trading date.
#[must_use]
pub fn clock_session_date<T: TimeZone>(at: &DateTime<T>) -> NaiveDate {
    let local = at.with_timezone(&CENTRAL);
    let date = local.date_naive();
    if local.hour() >= OPEN_HOUR_CT {
        // NaiveDate::MAX has no successor; stay total.
        date.succ_opt().unwrap_or(date)
    } else {
        date
    }
}

/// UNIX ns of a CT wall-clock time; `None` outside the representable range or inside a
/// daylight-saving gap (never the case for the times this calendar uses: 12:00 to 17:00).
#[must_use]
pub fn central_ns(date: NaiveDate, time: NaiveTime) -> Option<u64> {
    let t = CENTRAL
        .from_local_datetime(&date.and_time(time))
        .earliest()?;
    u64::try_from(t.timestamp_nanos_opt()?).ok()
}

fn is_weekend(d: NaiveDate) -> bool {
    matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

impl Calendar {
    /// The CME equity calendar (NQ futures and options) for 2024–2027; see the module
    /// docs for what is modelled.
    #[must_use]
    pub fn cme_equity() -> Self {
        let mut cal = Self::weekly();
        for &(y, m, d, what) in CME_EQUITY_HOLIDAYS {
            if let Some(date) = NaiveDate::from_ymd_opt(y, m, d) {
                let c = what.map_or(Closure::Full, Closure::Halt);
                cal.closures.insert(date, c);
                cal.years.insert(y);
            }
        }
        for &(y, m, d) in CME_EQUITY_EARLY_CLOSES {
            if let Some(date) = NaiveDate::from_ymd_opt(y, m, d) {
                cal.early_closes.insert(date, EARLY);
            }
        }
        cal
    }

    /// The [`cme_equity`](Self::cme_equity) calendar, built once per process and shared
    /// (for callers that locate timestamps without holding a calendar).
    #[must_use]
    pub fn cme_equity_shared() -> &'static Self {
        static SHARED: OnceLock<Calendar> = OnceLock::new();
        SHARED.get_or_init(Self::cme_equity)
    }

    /// The weekly schedule alone: no holidays, no year covered.
    #[must_use]
    pub fn weekly() -> Self {
        Self {
            closures: BTreeMap::new(),
            early_closes: BTreeMap::new(),
            years: BTreeSet::new(),
        }
    }

    /// Sets the holidays and early closes of `year` (replacing any it had), which makes
    /// the year covered.
    ///
    /// # Errors
    /// [`CalendarError::WrongYear`] if a date is not in `year`;
    /// [`CalendarError::CloseTime`] if a halt or early close is not after 00:00 and
    /// before 17:00 CT.
    pub fn with_year(
        mut self,
        year: i32,
        closures: &[(NaiveDate, Closure)],
        early_closes: &[(NaiveDate, NaiveTime)],
    ) -> Result<Self, CalendarError> {
        let check_time = |date: NaiveDate, time: NaiveTime| {
            if time == NaiveTime::MIN || time.hour() >= OPEN_HOUR_CT {
                Err(CalendarError::CloseTime { date, time })
            } else {
                Ok(())
            }
        };
        for &(date, c) in closures {
            if date.year() != year {
                return Err(CalendarError::WrongYear { date, year });
            }
            if let Closure::Halt(t) = c {
                check_time(date, t)?;
            }
        }
        for &(date, t) in early_closes {
            if date.year() != year {
                return Err(CalendarError::WrongYear { date, year });
            }
            check_time(date, t)?;
        }
        self.closures.retain(|d, _| d.year() != year);
        self.early_closes.retain(|d, _| d.year() != year);
        self.closures.extend(closures.iter().copied());
        self.early_closes.extend(early_closes.iter().copied());
        self.years.insert(year);
        Ok(self)
    }

    /// Whether `year` has a holiday list.
    #[must_use]
    pub fn covers(&self, year: i32) -> bool {
        self.years.contains(&year)
    }

    /// The covered years, ascending.
    pub fn covered_years(&self) -> impl Iterator<Item = i32> + '_ {
        self.years.iter().copied()
    }

    /// The holiday on `date`, if any.
    #[must_use]
    pub fn closure(&self, date: NaiveDate) -> Option<Closure> {
        self.closures.get(&date).copied()
    }

    /// The holidays, ascending by date.
    pub fn holidays(&self) -> impl Iterator<Item = (NaiveDate, Closure)> + '_ {
        self.closures.iter().map(|(d, c)| (*d, *c))
    }

    /// The early close time (CT) of `date`, if its session ends early.
    #[must_use]
    pub fn early_close(&self, date: NaiveDate) -> Option<NaiveTime> {
        self.early_closes.get(&date).copied()
    }

    /// Whether `date` is a trading date: a weekday that is not a holiday.
    #[must_use]
    pub fn is_trading_day(&self, date: NaiveDate) -> bool {
        !is_weekend(date) && !self.closures.contains_key(&date)
    }

    /// The first trading date on or after `date`.
    #[must_use]
    pub fn trading_day_on_or_after(&self, date: NaiveDate) -> Option<NaiveDate> {
        let mut d = date;
        for _ in 0..MAX_WALK_DAYS {
            if self.is_trading_day(d) {
                return Some(d);
            }
            d = d.succ_opt()?;
        }
        None
    }

    /// The CT close time of the segment of `day`, or `None` when `day` has none.
    fn segment_close(&self, day: NaiveDate) -> Option<NaiveTime> {
        if is_weekend(day) {
            return None;
        }
        match self.closures.get(&day) {
            Some(Closure::Full) => None,
            Some(Closure::Halt(t)) => Some(*t),
            None => Some(
                self.early_closes
                    .get(&day)
                    .copied()
                    .unwrap_or(hm(CLOSE_HOUR_CT, 0)),
            ),
        }
    }

    /// `[open, close)` of the segment of `day` in UNIX ns.
    fn segment(&self, day: NaiveDate) -> Option<(u64, u64)> {
        let close = self.segment_close(day)?;
        let open = central_ns(day.pred_opt()?, hm(OPEN_HOUR_CT, 0))?;
        Some((open, central_ns(day, close)?))
    }

    /// Whether Globex is open for NQ futures and options at `ts` (UNIX ns).
    #[must_use]
    pub fn is_open(&self, ts: u64) -> bool {
        let Some(t) = to_central(ts) else {
            return false;
        };
        let day = t.date_naive();
        if t.hour() >= OPEN_HOUR_CT {
            day.succ_opt()
                .is_some_and(|next| self.segment_close(next).is_some())
        } else {
            self.segment_close(day)
                .is_some_and(|close| t.time() < close)
        }
    }

    /// The first instant at or after `ts` at which Globex is open (`ts` itself when it is
    /// open); `None` past chrono's range.
    #[must_use]
    pub fn next_open(&self, ts: u64) -> Option<u64> {
        if self.is_open(ts) {
            return Some(ts);
        }
        let t = to_central(ts)?;
        let mut day = t.date_naive().succ_opt()?;
        if t.hour() >= OPEN_HOUR_CT {
            // The segment opening this evening is not held.
            day = day.succ_opt()?;
        }
        for _ in 0..MAX_WALK_DAYS {
            if let Some((open, _)) = self.segment(day) {
                return Some(open);
            }
            day = day.succ_opt()?;
        }
        None
    }

    /// The trading date of `ts`: the trading date of the latest segment that opened at or
    /// before `ts` (see the module docs). Non-decreasing in `ts`.
    #[must_use]
    pub fn trading_date(&self, ts: u64) -> Option<NaiveDate> {
        let t = to_central(ts)?;
        let mut day = t.date_naive();
        if t.hour() >= OPEN_HOUR_CT {
            day = day.succ_opt()?;
        }
        for _ in 0..MAX_WALK_DAYS {
            if self.segment_close(day).is_some() {
                return self.trading_day_on_or_after(day);
            }
            day = day.pred_opt()?;
        }
        None
    }

    /// The session of trading date `date`; `None` when `date` is not a trading date.
    #[must_use]
    pub fn session(&self, date: NaiveDate) -> Option<Session> {
        if !self.is_trading_day(date) {
            return None;
        }
        let mut segments = Vec::with_capacity(1);
        segments.push(self.segment(date)?);
        let mut d = date;
        for _ in 0..MAX_WALK_DAYS {
            d = d.pred_opt()?;
            if self.is_trading_day(d) {
                break;
            }
            if let Some(s) = self.segment(d) {
                segments.push(s);
            }
        }
        segments.reverse();
        Some(Session {
            trading_date: date,
            segments,
        })
    }

    /// The session whose trading date is [`trading_date`](Self::trading_date)`(ts)`.
    #[must_use]
    pub fn session_at(&self, ts: u64) -> Option<Session> {
        self.session(self.trading_date(ts)?)
    }
}

impl Default for Calendar {
    fn default() -> Self {
        Self::cme_equity()
    }
}

#[cfg(test)]
mod tests;
