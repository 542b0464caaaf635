//! Baseline keys: what makes flow comparable across days.
//!
//! A key is call/put, expiry class, moneyness bucket and time-of-day bucket of the CME
//! Globex session. Strikes roll with the underlying, so the moneyness bucket (signed
//! distance from the underlying in strike steps, out-of-the-money positive) is the
//! primary coordinate; per-strike series are kept beside it and used where they have
//! enough days (see [`crate::BaselineConfig::per_strike`]).
//!
//! # Time zone and trading day
//! CME sessions are defined in US Central time, taken from [`ifd_core::calendar`]
//! (America/Chicago through `chrono-tz`). The trading day of a timestamp is the exchange's
//! trading date ([`ifd_core::Calendar::trading_date`] of the CME equity calendar): the
//! session that opens at 17:00 CT on Sunday is Monday's, and the evening before a holiday
//! with an early halt trades for the day after it, so a holiday never becomes a baseline
//! day of its own. Outside the years the calendar covers it falls back to the clock rule
//! ([`ifd_core::calendar::clock_session_date`]: the Central date, moved to the next day
//! from 17:00 CT on). The time-of-day bucket counts wall-clock minutes since the latest
//! 17:00 CT.

use chrono::{DateTime, Datelike, NaiveDate, Offset, Weekday};
use ifd_core::calendar::{clock_session_date, minute_since_evening_open, utc_from_ns, CENTRAL};
use ifd_core::Calendar;
use serde::{Deserialize, Serialize};

/// Minutes in one session day (17:00 CT to 17:00 CT).
pub const SESSION_MINUTES: u16 = 24 * 60;

/// Call or put.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Right {
    /// A call option.
    Call,
    /// A put option.
    Put,
}

/// Expiry class of an option relative to the trading day being scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ExpiryClass {
    /// Expires on the current trading day (0DTE).
    SameDay,
    /// A weekly (any expiry that is not a third-Friday monthly).
    Weekly,
    /// A monthly or quarterly option (expires on the third Friday of its month).
    MonthlyQuarterly,
}

impl ExpiryClass {
    /// Classifies an option expiring on trading day `expiry` when scored on trading day
    /// `today`: the same day is [`SameDay`](Self::SameDay), a third Friday is
    /// [`MonthlyQuarterly`](Self::MonthlyQuarterly) and anything else is
    /// [`Weekly`](Self::Weekly).
    #[must_use]
    pub fn classify(expiry: TradingDay, today: TradingDay) -> Self {
        if expiry == today {
            return Self::SameDay;
        }
        let d = expiry.date();
        if d.weekday() == Weekday::Fri && (15..=21).contains(&d.day()) {
            Self::MonthlyQuarterly
        } else {
            Self::Weekly
        }
    }
}

/// Signed distance of a strike from the underlying in strike steps, bucketed; positive
/// is out of the money (strike above the underlying for a call, below it for a put).
///
/// Distances up to ±4 steps keep their own bucket; beyond that the buckets widen:
/// 5–8, 9–16 and 17 or more steps, each labelled by its lower bound (so the bucket
/// values are −17, −9, −5, −4 … 4, 5, 9, 17).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct MoneynessBucket(i8);

impl MoneynessBucket {
    /// At the money.
    pub const ATM: Self = Self(0);

    /// Buckets a signed out-of-the-money distance in steps.
    #[must_use]
    pub fn from_steps(otm_steps: i64) -> Self {
        let a = otm_steps.unsigned_abs();
        let b: i8 = match a {
            0..=4 => a as i8,
            5..=8 => 5,
            9..=16 => 9,
            _ => 17,
        };
        Self(if otm_steps < 0 { -b } else { b })
    }

    /// Buckets a strike against the underlying price (both dbn fixed-point `i64`) with
    /// strike step `step` (> 0, fixed point), rounding the distance to the nearest step.
    /// `None` when `step` is not positive.
    #[must_use]
    pub fn from_prices(right: Right, strike: i64, underlying: i64, step: i64) -> Option<Self> {
        if step <= 0 {
            return None;
        }
        let diff = i128::from(strike) - i128::from(underlying);
        let otm = match right {
            Right::Call => diff,
            Right::Put => -diff,
        };
        let step = i128::from(step);
        // round half away from zero
        let steps = (otm.abs() + step / 2) / step * otm.signum();
        let steps = i64::try_from(steps).unwrap_or(if steps < 0 { i64::MIN } else { i64::MAX });
        Some(Self::from_steps(steps))
    }

    /// The bucket label (lower bound of its distance band, signed).
    #[must_use]
    pub fn label(self) -> i8 {
        self.0
    }

    /// Rebuilds a bucket from its label; `None` for a label that no distance produces.
    #[must_use]
    pub fn from_label(label: i8) -> Option<Self> {
        let a = label.unsigned_abs();
        matches!(a, 0..=5 | 9 | 17).then_some(Self(label))
    }
}

/// A CME trading day (the Central-time date on which its session closes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TradingDay(NaiveDate);

impl TradingDay {
    /// A trading day from its date.
    #[must_use]
    pub fn new(date: NaiveDate) -> Self {
        Self(date)
    }

    /// The date.
    #[must_use]
    pub fn date(self) -> NaiveDate {
        self.0
    }

    /// Days since 0001-01-01 (proleptic Gregorian, day 1), used by the binary format.
    #[must_use]
    pub fn days_from_ce(self) -> i32 {
        self.0.num_days_from_ce()
    }

    /// Inverse of [`days_from_ce`](Self::days_from_ce); `None` when out of range.
    #[must_use]
    pub fn from_days_from_ce(days: i32) -> Option<Self> {
        NaiveDate::from_num_days_from_ce_opt(days).map(Self)
    }
}

/// Time-of-day bucket of the CME session: index of the `bucket_minutes`-long slice of
/// the day counted from 17:00 CT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TimeBucket(pub u16);

/// Offset of US Central time from UTC, in hours (−6 or −5), at a UTC instant.
#[must_use]
pub fn central_offset_hours(utc: DateTime<chrono::Utc>) -> i64 {
    i64::from(utc.with_timezone(&CENTRAL).offset().fix().local_minus_utc()) / 3_600
}

/// Session position of a UTC timestamp in nanoseconds (dbn's `ts_recv`/`ts_event`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionTime {
    /// Trading day the instant belongs to.
    pub trading_day: TradingDay,
    /// Minutes since 17:00 CT that opened the session (0 ..= 1439).
    pub minute_of_session: u16,
}

impl SessionTime {
    /// Locates a UTC nanosecond timestamp in the CME session; `None` when out of the
    /// range chrono represents.
    #[must_use]
    pub fn from_unix_nanos(ts: u64) -> Option<Self> {
        Some(Self {
            trading_day: TradingDay(match Calendar::cme_equity_shared().trading_date(ts) {
                Some(date) => date,
                None => clock_session_date(&utc_from_ns(ts)?),
            }),
            minute_of_session: minute_since_evening_open(ts)?,
        })
    }

    /// Time bucket of this instant with buckets `bucket_minutes` long (clamped to 1..=1440).
    #[must_use]
    pub fn bucket(self, bucket_minutes: u16) -> TimeBucket {
        let w = bucket_minutes.clamp(1, SESSION_MINUTES);
        TimeBucket(self.minute_of_session / w)
    }
}

/// The comparable coordinate of an observation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct BaselineKey {
    /// Call or put.
    pub right: Right,
    /// Expiry class relative to the trading day.
    pub expiry_class: ExpiryClass,
    /// Distance from the underlying.
    pub moneyness: MoneynessBucket,
    /// Time-of-day bucket of the session.
    pub time_bucket: TimeBucket,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> u64 {
        let dt = NaiveDate::from_ymd_opt(y, mo, d)
            .and_then(|x| x.and_hms_opt(h, mi, 0))
            .map(|x| x.and_utc())
            .expect("valid date");
        u64::try_from(dt.timestamp_nanos_opt().expect("in range")).expect("after 1970")
    }

    fn day(y: i32, m: u32, d: u32) -> TradingDay {
        TradingDay::new(NaiveDate::from_ymd_opt(y, m, d).expect("valid"))
    }

    #[test]
    fn a_holiday_is_never_a_trading_day_of_its_own() {
        // Thanksgiving 2026 (Thu 26 Nov) halts early: its morning trades for Friday 27,
        // like the Wednesday evening before it; the clock rule alone would say the 26th.
        let morning = ns(2026, 11, 26, 16, 0); // 10:00 CT
        let wednesday_evening = ns(2026, 11, 26, 0, 30); // Wed 18:30 CT
        for ts in [morning, wednesday_evening] {
            let t = SessionTime::from_unix_nanos(ts).expect("in range");
            assert_eq!(t.trading_day, day(2026, 11, 27));
        }
        assert_eq!(
            clock_session_date(&utc_from_ns(morning).expect("in range")),
            NaiveDate::from_ymd_opt(2026, 11, 26).expect("valid")
        );
        // An ordinary Tuesday afternoon is its own day; its evening is Wednesday's.
        let tuesday = SessionTime::from_unix_nanos(ns(2026, 11, 24, 20, 0)).expect("in range");
        assert_eq!(tuesday.trading_day, day(2026, 11, 24));
        let evening = SessionTime::from_unix_nanos(ns(2026, 11, 24, 23, 30)).expect("in range");
        assert_eq!(evening.trading_day, day(2026, 11, 25));
    }

    #[test]
    fn central_time_dst_boundaries() {
        // 2026: DST from Sun 8 March 08:00 UTC to Sun 1 Nov 07:00 UTC.
        let at = |y, mo, d, h, mi| {
            central_offset_hours(DateTime::from_timestamp_nanos(
                i64::try_from(ns(y, mo, d, h, mi)).unwrap_or(0),
            ))
        };
        assert_eq!(at(2026, 3, 8, 7, 59), -6);
        assert_eq!(at(2026, 3, 8, 8, 0), -5);
        assert_eq!(at(2026, 11, 1, 6, 59), -5);
        assert_eq!(at(2026, 11, 1, 7, 0), -6);
        assert_eq!(at(2026, 1, 15, 12, 0), -6);
        assert_eq!(at(2026, 7, 4, 12, 0), -5);
    }

    #[test]
    fn session_day_and_bucket() {
        // Sunday 22 Nov 2026, 23:00 UTC = 17:00 CST -> Monday 23 Nov, minute 0.
        let s = SessionTime::from_unix_nanos(ns(2026, 11, 22, 23, 0)).unwrap();
        assert_eq!(s.trading_day, day(2026, 11, 23));
        assert_eq!(s.minute_of_session, 0);
        // Monday 23 Nov 14:30 UTC = 08:30 CST -> 15.5 h after open = 930 min, bucket 31.
        let t = SessionTime::from_unix_nanos(ns(2026, 11, 23, 14, 30)).unwrap();
        assert_eq!(t.trading_day, day(2026, 11, 23));
        assert_eq!(t.minute_of_session, 930);
        assert_eq!(t.bucket(30), TimeBucket(31));
        // Summer: 13:30 UTC = 08:30 CDT, same session minute.
        let u = SessionTime::from_unix_nanos(ns(2026, 7, 6, 13, 30)).unwrap();
        assert_eq!(u.minute_of_session, 930);
        assert_eq!(u.trading_day, day(2026, 7, 6));
        // 21:59 UTC in summer = 16:59 CDT belongs to the same day; 22:00 UTC opens the next.
        let v = SessionTime::from_unix_nanos(ns(2026, 7, 6, 21, 59)).unwrap();
        assert_eq!(v.trading_day, day(2026, 7, 6));
        let w = SessionTime::from_unix_nanos(ns(2026, 7, 6, 22, 0)).unwrap();
        assert_eq!(w.trading_day, day(2026, 7, 7));
        assert_eq!(w.bucket(30), TimeBucket(0));
        assert!(SessionTime::from_unix_nanos(u64::MAX).is_none());
    }

    #[test]
    fn trading_day_is_the_exchange_one_on_ordinary_days() {
        let cal = Calendar::cme_equity();
        // Every 30 minutes of an ordinary week (Sunday 2026-11-08 17:00 CT on), while
        // the market is open: the key's day is the exchange's trading date.
        let start = ns(2026, 11, 8, 23, 0);
        let mut open = 0;
        for i in 0..(5 * 48) {
            let ts = start + i * 1_800_000_000_000;
            if cal.is_open(ts) {
                open += 1;
                let s = SessionTime::from_unix_nanos(ts).unwrap();
                assert_eq!(Some(s.trading_day.date()), cal.trading_date(ts), "{ts}");
            }
        }
        assert_eq!(open, 5 * 46, "23 open hours a day");
    }

    #[test]
    fn moneyness_buckets() {
        let step = 25_000_000_000; // 25 points
        let f = 20_000_000_000_000; // 20000
        let b = |r, k: i64| MoneynessBucket::from_prices(r, k, f, step).map(MoneynessBucket::label);
        assert_eq!(b(Right::Call, f), Some(0));
        assert_eq!(b(Right::Call, f + 2 * step), Some(2));
        assert_eq!(b(Right::Put, f + 2 * step), Some(-2));
        assert_eq!(b(Right::Put, f - 7 * step), Some(5));
        assert_eq!(b(Right::Call, f + 12 * step + step / 2), Some(9));
        assert_eq!(b(Right::Call, f - 100 * step), Some(-17));
        // 0.4 step rounds to 0, 0.5 rounds away from zero
        assert_eq!(b(Right::Call, f + step * 2 / 5), Some(0));
        assert_eq!(b(Right::Call, f + step / 2), Some(1));
        assert_eq!(MoneynessBucket::from_prices(Right::Call, f, f, 0), None);
        for l in [-17, -9, -5, -4, 0, 4, 5, 9, 17] {
            assert_eq!(
                MoneynessBucket::from_label(l).map(MoneynessBucket::label),
                Some(l)
            );
        }
        assert_eq!(MoneynessBucket::from_label(6), None);
    }

    #[test]
    fn expiry_classes() {
        let today = day(2026, 11, 23);
        assert_eq!(ExpiryClass::classify(today, today), ExpiryClass::SameDay);
        assert_eq!(
            ExpiryClass::classify(day(2026, 11, 20), today),
            ExpiryClass::MonthlyQuarterly
        );
        assert_eq!(
            ExpiryClass::classify(day(2026, 11, 27), today),
            ExpiryClass::Weekly
        );
        assert_eq!(
            ExpiryClass::classify(day(2026, 11, 25), today),
            ExpiryClass::Weekly
        );
        assert_eq!(
            ExpiryClass::classify(day(2026, 12, 18), today),
            ExpiryClass::MonthlyQuarterly
        );
    }
}
