//! Dates, the CME Globex session clock and the option expiry calendar of the simulator.
//!
//! Everything here is plain integer arithmetic on the proleptic Gregorian calendar, so the
//! simulator needs no date crate. Central time follows the US daylight-saving rule (CDT =
//! UTC-5 from the second Sunday of March to the first Sunday of November, CST = UTC-6
//! otherwise); the switch is taken at midnight of the switch day, which never matters for
//! a session that opens at 17:00 CT.

use serde::{Deserialize, Serialize};

/// Nanoseconds in one second.
pub(crate) const NS_PER_SEC: u64 = 1_000_000_000;
/// Nanoseconds in one hour.
pub(crate) const NS_PER_HOUR: u64 = 3_600 * NS_PER_SEC;
/// Length of a CME Globex equity-index session: 17:00 CT to 16:00 CT next day.
#[cfg(test)]
pub(crate) const SESSION_HOURS: u64 = 23;

/// A calendar date (proleptic Gregorian).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SimDate {
    /// Year, e.g. 2026.
    pub year: i32,
    /// Month, 1 to 12.
    pub month: u32,
    /// Day of month, 1 to 31.
    pub day: u32,
}

impl SimDate {
    /// A date from its parts (not validated beyond what the arithmetic needs).
    #[must_use]
    pub const fn new(year: i32, month: u32, day: u32) -> Self {
        Self { year, month, day }
    }

    /// Days since 1970-01-01.
    #[must_use]
    pub fn days_since_epoch(self) -> i64 {
        // Civil-to-days conversion over 400-year eras (March-based years).
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let mp = if m > 2 { m - 3 } else { m + 9 };
        let doy = (153 * mp + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The date `days` days after 1970-01-01.
    #[must_use]
    pub fn from_days_since_epoch(days: i64) -> Self {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        // The ranges of month and day are 1..=12 and 1..=31 by construction.
        Self {
            year: i32::try_from(year).unwrap_or(i32::MAX),
            month: u32::try_from(month).unwrap_or(1),
            day: u32::try_from(day).unwrap_or(1),
        }
    }

    /// The date `n` days later (earlier when negative).
    #[must_use]
    pub fn add_days(self, n: i64) -> Self {
        Self::from_days_since_epoch(self.days_since_epoch() + n)
    }

    /// Day of week, 0 = Monday .. 6 = Sunday.
    #[must_use]
    pub fn weekday(self) -> u32 {
        // 1970-01-01 was a Thursday (3).
        u32::try_from((self.days_since_epoch() + 3).rem_euclid(7)).unwrap_or(0)
    }

    /// Whether the date is Monday to Friday.
    #[must_use]
    pub fn is_weekday(self) -> bool {
        self.weekday() < 5
    }

    /// The `n`-th (1-based) given weekday (0 = Monday) of a month.
    #[must_use]
    pub fn nth_weekday_of_month(year: i32, month: u32, weekday: u32, n: u32) -> Self {
        let first = Self::new(year, month, 1);
        let offset = (weekday + 7 - first.weekday()) % 7;
        first.add_days(i64::from(offset + 7 * (n.saturating_sub(1))))
    }

    /// The last weekday (Monday to Friday) of the month.
    #[must_use]
    pub fn last_business_day_of_month(year: i32, month: u32) -> Self {
        let (ny, nm) = if month == 12 {
            (year + 1, 1)
        } else {
            (year, month + 1)
        };
        let mut d = Self::new(ny, nm, 1).add_days(-1);
        while !d.is_weekday() {
            d = d.add_days(-1);
        }
        d
    }

    /// UTC offset of US Central time on this date, in hours (5 in CDT, 6 in CST).
    #[must_use]
    pub fn central_utc_offset_hours(self) -> u64 {
        let dst_start = Self::nth_weekday_of_month(self.year, 3, 6, 2);
        let dst_end = Self::nth_weekday_of_month(self.year, 11, 6, 1);
        if self >= dst_start && self < dst_end {
            5
        } else {
            6
        }
    }

    /// UNIX nanoseconds of `hour:minute` Central time on this date.
    #[must_use]
    pub fn central_time_ns(self, hour: u64, minute: u64) -> u64 {
        let days = u64::try_from(self.days_since_epoch()).unwrap_or(0);
        days * 24 * NS_PER_HOUR
            + (hour + self.central_utc_offset_hours()) * NS_PER_HOUR
            + minute * 60 * NS_PER_SEC
    }

    /// The `n`-th weekday (0-based) on or after this date.
    #[must_use]
    pub fn nth_business_day(self, n: u32) -> Self {
        let mut d = self;
        while !d.is_weekday() {
            d = d.add_days(1);
        }
        let mut left = n;
        while left > 0 {
            d = d.add_days(1);
            if d.is_weekday() {
                left -= 1;
            }
        }
        d
    }
}

impl std::fmt::Display for SimDate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// CME month codes, January to December.
const MONTH_CODES: [char; 12] = ['F', 'G', 'H', 'J', 'K', 'M', 'N', 'Q', 'U', 'V', 'X', 'Z'];

/// The CME month code of a month (1-based).
pub(crate) fn month_code(month: u32) -> char {
    MONTH_CODES[usize::try_from(month.clamp(1, 12) - 1).unwrap_or(0)]
}

/// The trading session of one trade date.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Session {
    pub(crate) trade_date: SimDate,
    /// 17:00 CT on the previous calendar day.
    pub(crate) start: u64,
    /// 16:00 CT on the trade date.
    pub(crate) end: u64,
}

impl Session {
    pub(crate) fn new(trade_date: SimDate) -> Self {
        let prev = trade_date.add_days(-1);
        Self {
            trade_date,
            start: prev.central_time_ns(17, 0),
            end: trade_date.central_time_ns(16, 0),
        }
    }

    /// Hours since the session opened (17:00 CT), at `ts`.
    pub(crate) fn hours_since_open(&self, ts: u64) -> f64 {
        ts.saturating_sub(self.start) as f64 / NS_PER_HOUR as f64
    }

    /// Session seconds from its start (integral).
    pub(crate) fn seconds(&self) -> u64 {
        self.end.saturating_sub(self.start) / NS_PER_SEC
    }
}

/// The expiry families listed by the simulator, front first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExpiryKind {
    /// Same-day (0DTE) options, expiring 15:00 CT on the trade date.
    Daily,
    /// Friday weekly options, expiring 15:00 CT on the next Friday.
    Weekly,
    /// End-of-month options, expiring 15:00 CT on the last business day of the month.
    Monthly,
    /// Quarterly options, expiring 08:30 CT on the third Friday of March, June,
    /// September or December (with the future).
    Quarterly,
}

/// One expiry of the chain on one trade date.
#[derive(Debug, Clone)]
pub(crate) struct Expiry {
    pub(crate) kind: ExpiryKind,
    pub(crate) date: SimDate,
    pub(crate) ns: u64,
    /// Globex product code: "NQ", "QNE", "QN2", "Q3C", ...
    pub(crate) product: String,
}

/// The front quarterly future (and quarterly options) for a trade date: the first
/// March/June/September/December third Friday at least 7 days away.
pub(crate) fn front_quarter(trade_date: SimDate) -> SimDate {
    let mut year = trade_date.year;
    let mut month = trade_date.month;
    loop {
        if month % 3 == 0 {
            let third_friday = SimDate::nth_weekday_of_month(year, month, 4, 3);
            if third_friday.days_since_epoch() >= trade_date.days_since_epoch() + 7 {
                return third_friday;
            }
        }
        month += 1;
        if month > 12 {
            month = 1;
            year += 1;
        }
    }
}

/// The weekday letter CME uses in Monday..Thursday weekly codes ("Q1A" = first Monday).
fn weekday_letter(weekday: u32) -> char {
    ['A', 'B', 'C', 'D', 'E', 'F', 'G'][usize::try_from(weekday.min(6)).unwrap_or(0)]
}

/// Week of month (1-based) for weekly product codes.
fn week_of_month(d: SimDate) -> u32 {
    (d.day - 1) / 7 + 1
}

/// The expiries listed on `trade_date`, `count` of them (1 to 4), front first.
pub(crate) fn expiries(trade_date: SimDate, count: usize) -> Vec<Expiry> {
    let mut out = Vec::with_capacity(4);
    // 0DTE: Monday..Thursday use "Q{week}{A..D}", Friday uses "QN{week}".
    let wd = trade_date.weekday();
    let daily_product = if wd == 4 {
        format!("QN{}", week_of_month(trade_date))
    } else {
        format!("Q{}{}", week_of_month(trade_date), weekday_letter(wd))
    };
    out.push(Expiry {
        kind: ExpiryKind::Daily,
        date: trade_date,
        ns: trade_date.central_time_ns(15, 0),
        product: daily_product,
    });
    // Next Friday strictly after the trade date.
    let days_to_friday = i64::from((4 + 7 - wd) % 7);
    let friday = trade_date.add_days(if days_to_friday == 0 {
        7
    } else {
        days_to_friday
    });
    out.push(Expiry {
        kind: ExpiryKind::Weekly,
        date: friday,
        ns: friday.central_time_ns(15, 0),
        product: format!("QN{}", week_of_month(friday)),
    });
    // End of month at least two days away.
    let mut eom = SimDate::last_business_day_of_month(trade_date.year, trade_date.month);
    if eom.days_since_epoch() < trade_date.days_since_epoch() + 2 {
        let (y, m) = if trade_date.month == 12 {
            (trade_date.year + 1, 1)
        } else {
            (trade_date.year, trade_date.month + 1)
        };
        eom = SimDate::last_business_day_of_month(y, m);
    }
    out.push(Expiry {
        kind: ExpiryKind::Monthly,
        date: eom,
        ns: eom.central_time_ns(15, 0),
        product: "QNE".to_owned(),
    });
    let q = front_quarter(trade_date);
    out.push(Expiry {
        kind: ExpiryKind::Quarterly,
        date: q,
        ns: q.central_time_ns(8, 30),
        product: "NQ".to_owned(),
    });
    out.truncate(count.clamp(1, 4));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        for days in [-1_000_i64, 0, 1, 59, 60, 365, 10_957, 20_000, 20_759] {
            assert_eq!(
                SimDate::from_days_since_epoch(days).days_since_epoch(),
                days
            );
        }
        assert_eq!(
            SimDate::new(2026, 11, 2).weekday(),
            0,
            "2026-11-02 is a Monday"
        );
        assert_eq!(SimDate::new(1970, 1, 1).days_since_epoch(), 0);
    }

    #[test]
    fn session_and_dst() {
        // 2026-11-02 (Monday): DST ended on 2026-11-01, so CT = UTC-6 and the session
        // opens Sunday 17:00 CT = 23:00 UTC.
        let s = Session::new(SimDate::new(2026, 11, 2));
        let sunday = SimDate::new(2026, 11, 1);
        assert_eq!(
            s.start,
            u64::try_from(sunday.days_since_epoch()).unwrap() * 24 * NS_PER_HOUR + 23 * NS_PER_HOUR
        );
        assert_eq!(s.seconds(), SESSION_HOURS * 3_600);
        assert_eq!(SimDate::new(2026, 7, 1).central_utc_offset_hours(), 5);
    }

    #[test]
    fn expiry_calendar() {
        let e = expiries(SimDate::new(2026, 11, 2), 4);
        assert_eq!(e[0].product, "Q1A");
        assert_eq!(e[1].date, SimDate::new(2026, 11, 6));
        assert_eq!(e[2].date, SimDate::new(2026, 11, 30));
        assert_eq!(e[3].date, SimDate::new(2026, 12, 18));
        assert!(e.windows(2).all(|w| w[0].ns < w[1].ns));
        assert_eq!(
            front_quarter(SimDate::new(2026, 12, 14)),
            SimDate::new(2027, 3, 19)
        );
    }
}
