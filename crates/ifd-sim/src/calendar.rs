//! The simulator's sessions on the CME Globex calendar, and its option expiry calendar.
//!
//! Trade dates, session hours (the daily break, weekends, exchange holidays, early halts
//! and early closes) and US Central time all come from [`ifd_core::calendar`]: day `N` of
//! a simulation is the `N`-th CME trading date on or after
//! [`SimConfig::start_date`](crate::SimConfig::start_date), and its session is that
//! date's [`ifd_core::Session`] (one segment on an ordinary day, two after a holiday
//! with an early halt; the day after Thanksgiving closes at 12:15 CT). This module only
//! adds what the simulator needs on top: a clock that skips the gaps between segments,
//! and which option expiries are listed on a date.

use chrono::{Datelike, Days, NaiveDate, NaiveTime, Weekday};
use ifd_core::calendar::{central_ns, Calendar};
use serde::{Deserialize, Serialize};

/// Nanoseconds in one second.
pub(crate) const NS_PER_SEC: u64 = 1_000_000_000;
/// Nanoseconds in one hour.
pub(crate) const NS_PER_HOUR: u64 = 3_600 * NS_PER_SEC;
/// Trading hours of an ordinary CME Globex equity session (17:00 CT to 16:00 CT).
pub(crate) const SESSION_HOURS: u64 = 23;

/// The CME equity calendar every simulated session follows.
pub(crate) fn cme() -> &'static Calendar {
    Calendar::cme_equity_shared()
}

/// UNIX ns of `hour:minute` Central time on `date` (0 outside chrono's range, which
/// the simulator's dates never reach).
pub(crate) fn central_time_ns(date: NaiveDate, hour: u32, minute: u32) -> u64 {
    NaiveTime::from_hms_opt(hour, minute, 0)
        .and_then(|t| central_ns(date, t))
        .unwrap_or(0)
}

/// Days since 1970-01-01 (for instrument ids that stay stable across days).
pub(crate) fn days_since_epoch(date: NaiveDate) -> i64 {
    date.signed_duration_since(NaiveDate::default()).num_days()
}

/// UNIX ns of midnight UTC of `date` (Databento's `ts_ref` of daily statistics).
pub(crate) fn midnight_utc_ns(date: NaiveDate) -> u64 {
    u64::try_from(days_since_epoch(date)).unwrap_or(0) * 24 * NS_PER_HOUR
}

/// The `n`-th (0-based) CME trading date on or after `start`.
pub(crate) fn nth_trading_date(start: NaiveDate, n: u32) -> NaiveDate {
    let cal = cme();
    let mut d = cal.trading_day_on_or_after(start).unwrap_or(start);
    for _ in 0..n {
        let next = d.succ_opt().and_then(|s| cal.trading_day_on_or_after(s));
        match next {
            Some(x) => d = x,
            None => break,
        }
    }
    d
}

/// The last CME trading date strictly before `date`.
pub(crate) fn previous_trading_date(date: NaiveDate) -> NaiveDate {
    let cal = cme();
    let mut d = date;
    for _ in 0..400 {
        match d.pred_opt() {
            Some(p) => d = p,
            None => return date,
        }
        if cal.is_trading_day(d) {
            return d;
        }
    }
    date
}

/// `date` if it is a trading date, else the last trading date before it.
fn trading_on_or_before(date: NaiveDate) -> NaiveDate {
    if cme().is_trading_day(date) {
        date
    } else {
        previous_trading_date(date)
    }
}

/// The trading session of one trade date, with a clock over its segments.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub(crate) trade_date: NaiveDate,
    /// When the session first opens (17:00 CT on the evening before its first segment).
    pub(crate) start: u64,
    /// When it finally closes (16:00 CT, or the early close).
    pub(crate) end: u64,
    /// The open stretches `[open, close)`, ascending and disjoint.
    segments: Vec<(u64, u64)>,
}

impl Session {
    /// The session of `trade_date` on the CME calendar. A date that is not a trading date
    /// (never asked for by the simulator) gets the ordinary 17:00–16:00 CT segment.
    pub(crate) fn new(trade_date: NaiveDate) -> Self {
        let segments = cme().session(trade_date).map_or_else(
            || {
                let prev = trade_date.pred_opt().unwrap_or(trade_date);
                vec![(
                    central_time_ns(prev, 17, 0),
                    central_time_ns(trade_date, 16, 0),
                )]
            },
            |s| s.segments().to_vec(),
        );
        let start = segments.first().map_or(0, |s| s.0);
        let end = segments.last().map_or(start, |s| s.1).max(start);
        Self {
            trade_date,
            start,
            end,
            segments,
        }
    }

    /// Whether the market is open at `ts`.
    pub(crate) fn contains(&self, ts: u64) -> bool {
        self.segments.iter().any(|&(a, b)| a <= ts && ts < b)
    }

    /// Hours since the segment in progress (or the last one closed) opened at `ts`: the
    /// clock of the intraday activity profile, which every segment starts afresh.
    pub(crate) fn hours_since_open(&self, ts: u64) -> f64 {
        let open = self
            .segments
            .iter()
            .rev()
            .find(|s| s.0 <= ts)
            .map_or(self.start, |s| s.0);
        ts.saturating_sub(open) as f64 / NS_PER_HOUR as f64
    }

    /// Seconds from the first open to the final close (gaps included): the length of
    /// the underlying's path.
    pub(crate) fn seconds(&self) -> u64 {
        self.end.saturating_sub(self.start) / NS_PER_SEC
    }

    /// Open time of the session, in hours (gaps excluded).
    pub(crate) fn trading_hours(&self) -> f64 {
        let ns: u64 = self.segments.iter().map(|s| s.1.saturating_sub(s.0)).sum();
        ns as f64 / NS_PER_HOUR as f64
    }

    /// The instant `hours` of open time after the first open; the final close when the
    /// session has less open time than that.
    pub(crate) fn at_open_hours(&self, hours: f64) -> u64 {
        let mut left = (hours.max(0.0) * NS_PER_HOUR as f64) as u64;
        for &(a, b) in &self.segments {
            let len = b.saturating_sub(a);
            if left < len {
                return a + left;
            }
            left -= len;
        }
        self.end
    }

    /// A planned time of the whole session: `hours` on the clock of an ordinary 23-hour
    /// session, scaled to this session's open time and laid over its segments (the
    /// identity on an ordinary day).
    pub(crate) fn at_session_hours(&self, hours: f64) -> u64 {
        self.at_open_hours(hours * self.trading_hours() / SESSION_HOURS as f64)
    }

    /// A planned time of the regular trading day: `hours` after 17:00 CT on the clock of
    /// an ordinary session, laid over the last segment scaled to its length (the
    /// identity on an ordinary day; earlier on a day that closes early).
    pub(crate) fn at_day_hours(&self, hours: f64) -> u64 {
        let (a, b) = self
            .segments
            .last()
            .copied()
            .unwrap_or((self.start, self.end));
        let scale = b.saturating_sub(a) as f64 / (SESSION_HOURS * NS_PER_HOUR) as f64;
        (a + (hours.max(0.0) * scale * NS_PER_HOUR as f64) as u64).min(b.saturating_sub(1))
    }

    /// Where an event planned for `ts` happens: `ts` itself when the market is open; in a
    /// gap between segments, as long after the next open as it was after the close
    /// (capped inside that segment); `None` at or after the session's end.
    pub(crate) fn defer(&self, ts: u64) -> Option<u64> {
        if ts >= self.end {
            return None;
        }
        let mut prev_close = self.start;
        for &(a, b) in &self.segments {
            if ts < a {
                let t = a + ts.saturating_sub(prev_close);
                return Some(t.min(b.saturating_sub(1)).max(a));
            }
            if ts < b {
                return Some(ts);
            }
            prev_close = b;
        }
        None
    }
}

/// The expiry families listed by the simulator, front first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExpiryKind {
    /// Same-day (0DTE) options, expiring 15:00 CT on the trade date.
    Daily,
    /// Friday weekly options, expiring 15:00 CT on the next Friday (the trading date
    /// before it when the Friday is a holiday).
    Weekly,
    /// End-of-month options, expiring 15:00 CT on the last trading date of the month.
    Monthly,
    /// Quarterly options, expiring 08:30 CT on the third Friday of March, June,
    /// September or December (with the future).
    Quarterly,
}

/// One expiry of the chain on one trade date.
#[derive(Debug, Clone)]
pub(crate) struct Expiry {
    pub(crate) kind: ExpiryKind,
    pub(crate) date: NaiveDate,
    pub(crate) ns: u64,
    /// Globex product code: "NQ", "QNE", "QN2", "Q3C", ...
    pub(crate) product: String,
}

/// CME month codes, January to December.
const MONTH_CODES: [char; 12] = ['F', 'G', 'H', 'J', 'K', 'M', 'N', 'Q', 'U', 'V', 'X', 'Z'];

/// The CME month code of a month (1-based).
pub(crate) fn month_code(month: u32) -> char {
    MONTH_CODES[usize::try_from(month.clamp(1, 12) - 1).unwrap_or(0)]
}

/// The third Friday of a month.
fn third_friday(year: i32, month: u32) -> NaiveDate {
    NaiveDate::from_weekday_of_month_opt(year, month, Weekday::Fri, 3).unwrap_or_default()
}

/// The front quarterly future (and quarterly options) for a trade date: the first
/// March/June/September/December third Friday at least 7 days away.
pub(crate) fn front_quarter(trade_date: NaiveDate) -> NaiveDate {
    let mut year = trade_date.year();
    let mut month = trade_date.month();
    for _ in 0..24 {
        if month % 3 == 0 {
            let q = third_friday(year, month);
            if days_since_epoch(q) >= days_since_epoch(trade_date) + 7 {
                return q;
            }
        }
        month += 1;
        if month > 12 {
            month = 1;
            year += 1;
        }
    }
    trade_date
}

/// The weekday letter CME uses in Monday..Thursday weekly codes ("Q1A" = first Monday).
fn weekday_letter(weekday: u32) -> char {
    ['A', 'B', 'C', 'D', 'E', 'F', 'G'][usize::try_from(weekday.min(6)).unwrap_or(0)]
}

/// Week of month (1-based) for weekly product codes.
fn week_of_month(d: NaiveDate) -> u32 {
    (d.day() - 1) / 7 + 1
}

/// The last trading date of a month.
fn last_trading_date_of_month(year: i32, month: u32) -> NaiveDate {
    let first_next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)
    };
    first_next.map_or_else(NaiveDate::default, previous_trading_date)
}

/// 15:00 CT on `date`, or its session's early close when that comes first.
fn afternoon_expiry_ns(date: NaiveDate) -> u64 {
    central_time_ns(date, 15, 0).min(Session::new(date).end)
}

/// The expiries listed on `trade_date`, `count` of them (1 to 4), front first.
pub(crate) fn expiries(trade_date: NaiveDate, count: usize) -> Vec<Expiry> {
    let mut out = Vec::with_capacity(4);
    // 0DTE: Monday..Thursday use "Q{week}{A..D}", Friday uses "QN{week}".
    let wd = trade_date.weekday().num_days_from_monday();
    let daily_product = if wd == 4 {
        format!("QN{}", week_of_month(trade_date))
    } else {
        format!("Q{}{}", week_of_month(trade_date), weekday_letter(wd))
    };
    out.push(Expiry {
        kind: ExpiryKind::Daily,
        date: trade_date,
        ns: afternoon_expiry_ns(trade_date),
        product: daily_product,
    });
    // The next Friday strictly after the trade date, moved to the trading date before it
    // on a holiday; a week later if that is not after the trade date.
    let days_to_friday = u64::from((4 + 7 - wd) % 7);
    let mut friday = trade_date
        + Days::new(if days_to_friday == 0 {
            7
        } else {
            days_to_friday
        });
    let mut weekly = trading_on_or_before(friday);
    if weekly <= trade_date {
        friday = friday + Days::new(7);
        weekly = trading_on_or_before(friday);
    }
    out.push(Expiry {
        kind: ExpiryKind::Weekly,
        date: weekly,
        ns: afternoon_expiry_ns(weekly),
        product: format!("QN{}", week_of_month(friday)),
    });
    // End of month at least two days away.
    let mut eom = last_trading_date_of_month(trade_date.year(), trade_date.month());
    if days_since_epoch(eom) < days_since_epoch(trade_date) + 2 {
        let (y, m) = if trade_date.month() == 12 {
            (trade_date.year() + 1, 1)
        } else {
            (trade_date.year(), trade_date.month() + 1)
        };
        eom = last_trading_date_of_month(y, m);
    }
    out.push(Expiry {
        kind: ExpiryKind::Monthly,
        date: eom,
        ns: afternoon_expiry_ns(eom),
        product: "QNE".to_owned(),
    });
    let q = front_quarter(trade_date);
    out.push(Expiry {
        kind: ExpiryKind::Quarterly,
        date: q,
        ns: central_time_ns(q, 8, 30),
        product: "NQ".to_owned(),
    });
    out.truncate(count.clamp(1, 4));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Over any trading date of the covered years (holidays, early closes and DST
        /// switches included): deferred events land while the market is open and never
        /// earlier than planned; planned times lie in the session and keep their order.
        #[test]
        fn the_session_clock_stays_inside_the_segments(
            start_day in 0_u64..1_400,
            n in 0_u32..5,
            at in -3_600_i64..200_000,
            h1 in 0.0_f64..45.0,
            h2 in 0.0_f64..45.0,
        ) {
            let start = d(2024, 1, 1) + Days::new(start_day);
            let date = nth_trading_date(start, n);
            prop_assert!(cme().is_trading_day(date));
            prop_assert!(date >= start);
            prop_assert!(nth_trading_date(start, n + 1) > date);
            let s = Session::new(date);
            let ts = s.start.saturating_add_signed(at * 1_000_000_000);
            match s.defer(ts) {
                None => prop_assert!(ts >= s.end),
                Some(t) => {
                    prop_assert!(ts < s.end);
                    prop_assert!(t >= ts);
                    prop_assert!(s.contains(t), "{t} outside the segments of {date}");
                }
            }
            let (lo, hi) = (h1.min(h2), h1.max(h2));
            let (a, b) = (s.at_open_hours(lo), s.at_open_hours(hi));
            prop_assert!(a <= b);
            prop_assert!(s.contains(a) || a == s.end);
            let day = s.at_day_hours(lo);
            prop_assert!(s.contains(day));
        }
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn session_and_dst() {
        // 2026-11-02 (Monday): DST ended on 2026-11-01, so CT = UTC-6 and the session
        // opens Sunday 17:00 CT = 23:00 UTC.
        let s = Session::new(d(2026, 11, 2));
        assert_eq!(
            s.start,
            u64::try_from(days_since_epoch(d(2026, 11, 1))).unwrap() * 24 * NS_PER_HOUR
                + 23 * NS_PER_HOUR
        );
        assert_eq!(s.seconds(), SESSION_HOURS * 3_600);
        assert!((s.trading_hours() - SESSION_HOURS as f64).abs() < 1e-9);
        assert_eq!(s.at_open_hours(2.0), s.start + 2 * NS_PER_HOUR);
        assert_eq!(s.defer(s.start + 5), Some(s.start + 5));
        assert_eq!(s.defer(s.end), None);
        // July: CDT, UTC-5.
        assert_eq!(
            Session::new(d(2026, 7, 1)).start % (24 * NS_PER_HOUR),
            22 * NS_PER_HOUR
        );
    }

    #[test]
    fn the_day_after_thanksgiving_has_two_segments_and_an_early_close() {
        // Thanksgiving 2026-11-26: Globex halts at 12:00 CT; what trades from Wednesday
        // 17:00 CT belongs to Friday, whose session closes at 12:15 CT.
        let s = Session::new(d(2026, 11, 27));
        assert_eq!(s.segments.len(), 2);
        assert_eq!(s.start, central_time_ns(d(2026, 11, 25), 17, 0));
        assert_eq!(s.end, central_time_ns(d(2026, 11, 27), 12, 15));
        let halt = central_time_ns(d(2026, 11, 26), 12, 0);
        let reopen = central_time_ns(d(2026, 11, 26), 17, 0);
        assert!(s.contains(halt - 1) && !s.contains(halt) && s.contains(reopen));
        // An event planned 10 minutes into the gap happens 10 minutes after the reopen.
        let ten = 600 * NS_PER_SEC;
        assert_eq!(s.defer(halt + ten), Some(reopen + ten));
        assert!((s.trading_hours() - (19.0 + 19.25)).abs() < 1e-9);
        assert_eq!(s.at_open_hours(19.5), reopen + NS_PER_HOUR / 2);
        assert!((s.hours_since_open(reopen + NS_PER_HOUR) - 1.0).abs() < 1e-9);
        // The regular day's clock runs over the last segment, scaled to its 19.25 hours.
        assert_eq!(s.at_day_hours(23.0), s.end - 1);
        assert_eq!(s.at_day_hours(0.0), reopen);
        let ordinary = Session::new(d(2026, 11, 24));
        assert_eq!(
            ordinary.at_day_hours(15.5),
            ordinary.start + 31 * NS_PER_HOUR / 2
        );
        assert_eq!(
            ordinary.at_session_hours(3.0),
            ordinary.start + 3 * NS_PER_HOUR
        );
    }

    #[test]
    fn trading_dates_skip_weekends_and_holidays() {
        // Friday 2026-11-20, then Mon 23, Tue 24, Wed 25, (Thanksgiving) Fri 27, Mon 30.
        let got: Vec<NaiveDate> = (0..6)
            .map(|n| nth_trading_date(d(2026, 11, 20), n))
            .collect();
        assert_eq!(
            got,
            [
                d(2026, 11, 20),
                d(2026, 11, 23),
                d(2026, 11, 24),
                d(2026, 11, 25),
                d(2026, 11, 27),
                d(2026, 11, 30)
            ]
        );
        assert_eq!(nth_trading_date(d(2026, 11, 21), 0), d(2026, 11, 23));
        assert_eq!(previous_trading_date(d(2026, 11, 27)), d(2026, 11, 25));
        assert_eq!(previous_trading_date(d(2026, 11, 30)), d(2026, 11, 27));
    }

    #[test]
    fn expiry_calendar() {
        let e = expiries(d(2026, 11, 2), 4);
        assert_eq!(e[0].product, "Q1A");
        assert_eq!(e[1].date, d(2026, 11, 6));
        assert_eq!(e[2].date, d(2026, 11, 30));
        assert_eq!(e[3].date, d(2026, 12, 18));
        assert!(e.windows(2).all(|w| w[0].ns < w[1].ns));
        assert_eq!(front_quarter(d(2026, 12, 14)), d(2027, 3, 19));
        // Good Friday 2026-04-03: the weekly expires Thursday 04-02; on that Thursday
        // the weekly is the next week's Friday.
        assert_eq!(expiries(d(2026, 3, 30), 2)[1].date, d(2026, 4, 2));
        assert_eq!(expiries(d(2026, 4, 2), 2)[1].date, d(2026, 4, 10));
        // Christmas 2026 is a Friday: the December weekly of that week expires Thursday.
        assert_eq!(expiries(d(2026, 12, 21), 2)[1].date, d(2026, 12, 24));
        assert_eq!(last_trading_date_of_month(2027, 1), d(2027, 1, 29));
        // 2026-12-24 closes at 12:15 CT: an expiry that day happens at the close.
        assert_eq!(
            expiries(d(2026, 12, 21), 2)[1].ns,
            central_time_ns(d(2026, 12, 24), 12, 15)
        );
    }
}
