//! Latency and uptime monitors, exported as plain data.
//!
//! [`LatencyHistogram`] is a fixed-size log-linear histogram: recording a sample is an
//! index computation and an increment, with no allocation, so it can sit on the
//! per-record path. Buckets are powers of two split into 16 linear sub-buckets, so a
//! reported percentile is within 1/16 (6.25%) above the true value; `max` is exact.
//!
//! [`MarketHours`] is CME Globex's equity-index schedule in Chicago time, the
//! workspace's one calendar ([`ifd_core::Calendar`]): open from Sunday 17:00 to Friday
//! 16:00 with a daily maintenance break from 16:00 to 17:00, closed on full-closure
//! holidays, halted from 12:00 CT on holidays with an early halt, and closing early on
//! early-close days. [`UptimeMonitor`] integrates,
//! over market hours only, the time during which the caller reported the session
//! connected and the books healthy: time-weighted, a state holds from one observation
//! to the next.

use ifd_core::Calendar;
use serde::{Deserialize, Serialize};

const SUB_BITS: u32 = 4;
const SUB: usize = 1 << SUB_BITS;
const BUCKETS: usize = (64 - SUB_BITS as usize + 1) * SUB;

/// A log-linear histogram of nanosecond durations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LatencyHistogram {
    counts: Box<[u64; BUCKETS]>,
    total: u64,
    max: u64,
    sum: u128,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self {
            counts: Box::new([0; BUCKETS]),
            total: 0,
            max: 0,
            sum: 0,
        }
    }
}

fn index(v: u64) -> usize {
    if v < SUB as u64 {
        return v as usize;
    }
    let msb = 63 - v.leading_zeros();
    let shift = msb - SUB_BITS;
    let sub = ((v >> shift) as usize) & (SUB - 1);
    ((shift as usize + 1) << SUB_BITS) + sub
}

fn upper_bound(i: usize) -> u64 {
    if i < SUB {
        return i as u64;
    }
    let shift = (i >> SUB_BITS) as u32 - 1;
    let sub = (i & (SUB - 1)) as u64;
    let base = (SUB as u64 + sub) << shift;
    base.saturating_add((1u64 << shift) - 1)
}

impl LatencyHistogram {
    /// An empty histogram.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one duration in nanoseconds.
    #[inline]
    pub fn record(&mut self, ns: u64) {
        self.counts[index(ns)] += 1;
        self.total += 1;
        self.max = self.max.max(ns);
        self.sum += u128::from(ns);
    }

    /// Samples recorded.
    #[must_use]
    pub fn count(&self) -> u64 {
        self.total
    }

    /// The value at quantile `q` in [0, 1] (an upper bound within 6.25%); 0 when empty.
    #[must_use]
    pub fn quantile(&self, q: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let q = if q.is_nan() { 1.0 } else { q.clamp(0.0, 1.0) };
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss,
            reason = "rank within the sample count"
        )]
        let rank = ((q * self.total as f64).ceil() as u64).clamp(1, self.total);
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return upper_bound(i).min(self.max);
            }
        }
        self.max
    }

    /// Merges another histogram into this one.
    pub fn merge(&mut self, other: &Self) {
        for (a, b) in self.counts.iter_mut().zip(other.counts.iter()) {
            *a += b;
        }
        self.total += other.total;
        self.max = self.max.max(other.max);
        self.sum += other.sum;
    }

    /// The summary as plain data.
    #[must_use]
    pub fn report(&self) -> LatencyReport {
        LatencyReport {
            count: self.total,
            p50_ns: self.quantile(0.5),
            p99_ns: self.quantile(0.99),
            p999_ns: self.quantile(0.999),
            max_ns: self.max,
            mean_ns: if self.total == 0 {
                0
            } else {
                u64::try_from(self.sum / u128::from(self.total)).unwrap_or(u64::MAX)
            },
        }
    }
}

/// Percentiles of a [`LatencyHistogram`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LatencyReport {
    /// Samples.
    pub count: u64,
    /// Median (ns).
    pub p50_ns: u64,
    /// 99th percentile (ns).
    pub p99_ns: u64,
    /// 99.9th percentile (ns).
    pub p999_ns: u64,
    /// Largest sample (ns, exact).
    pub max_ns: u64,
    /// Mean (ns).
    pub mean_ns: u64,
}

/// CME Globex equity-index market hours (Chicago time), with exchange holidays.
#[derive(Debug, Clone, Default)]
pub struct MarketHours {
    calendar: Calendar,
}

impl MarketHours {
    /// The schedule with the CME equity calendar ([`Calendar::cme_equity`]).
    #[must_use]
    pub fn cme() -> Self {
        Self::default()
    }

    /// The schedule of a given calendar.
    #[must_use]
    pub fn with_calendar(calendar: Calendar) -> Self {
        Self { calendar }
    }

    /// The calendar.
    #[must_use]
    pub fn calendar(&self) -> &Calendar {
        &self.calendar
    }

    /// True when Globex is open at `ts` (ns since the UNIX epoch, UTC).
    #[must_use]
    pub fn is_open(&self, ts: u64) -> bool {
        self.calendar.is_open(ts)
    }

    /// The next instant after `ts` (exclusive) at which [`MarketHours::is_open`] may
    /// change: the close of the open stretch around `ts`, or the next open; `u64::MAX`
    /// when the calendar has none.
    #[must_use]
    pub fn next_boundary(&self, ts: u64) -> u64 {
        let next = if self.calendar.is_open(ts) {
            self.calendar.session_at(ts).and_then(|s| {
                s.segments()
                    .iter()
                    .find(|&&(a, b)| a <= ts && ts < b)
                    .map(|&(_, b)| b)
            })
        } else {
            self.calendar.next_open(ts)
        };
        next.filter(|&n| n > ts).unwrap_or(u64::MAX)
    }
}

/// Time-weighted uptime over market hours.
#[derive(Debug, Clone)]
pub struct UptimeMonitor {
    hours: MarketHours,
    last: Option<(u64, bool)>,
    market_ns: u64,
    up_ns: u64,
    outages: u64,
}

impl UptimeMonitor {
    /// A monitor over the given market hours.
    #[must_use]
    pub fn new(hours: MarketHours) -> Self {
        Self {
            hours,
            last: None,
            market_ns: 0,
            up_ns: 0,
            outages: 0,
        }
    }

    /// Reports the state at `now` (ns, UTC): up means connected and books healthy. The
    /// previous state is credited for the time since the previous observation; time
    /// going backwards is ignored.
    pub fn observe(&mut self, now: u64, connected: bool, books_healthy: bool) {
        let up = connected && books_healthy;
        if let Some((prev, was_up)) = self.last {
            if now > prev {
                self.credit(prev, now, was_up);
            } else {
                return;
            }
            if was_up && !up {
                self.outages += 1;
            }
        }
        self.last = Some((now, up));
    }

    fn credit(&mut self, from: u64, to: u64, up: bool) {
        let mut t = from;
        while t < to {
            let next = self.hours.next_boundary(t).min(to);
            if self.hours.is_open(t) {
                self.market_ns += next - t;
                if up {
                    self.up_ns += next - t;
                }
            }
            t = next;
        }
    }

    /// The figures so far.
    #[must_use]
    pub fn report(&self) -> UptimeReport {
        #[allow(clippy::cast_precision_loss, reason = "a ratio of durations")]
        let ratio = if self.market_ns == 0 {
            None
        } else {
            Some(self.up_ns as f64 / self.market_ns as f64)
        };
        UptimeReport {
            market_seconds: self.market_ns / 1_000_000_000,
            up_seconds: self.up_ns / 1_000_000_000,
            uptime: ratio,
            outages: self.outages,
        }
    }
}

/// Uptime figures as plain data.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct UptimeReport {
    /// Seconds of market hours observed.
    pub market_seconds: u64,
    /// Seconds of those during which the feed was up.
    pub up_seconds: u64,
    /// `up / market`, `None` before any market time was observed.
    pub uptime: Option<f64>,
    /// Transitions from up to down.
    pub outages: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn ns(y: i32, m: u32, d: u32, h: u32, mi: u32) -> u64 {
        let dt = NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(h, mi, 0)
            .unwrap()
            .and_utc();
        u64::try_from(dt.timestamp_nanos_opt().unwrap()).unwrap()
    }

    #[test]
    fn histogram_percentiles_are_tight_upper_bounds() {
        let mut h = LatencyHistogram::new();
        for v in 1..=10_000u64 {
            h.record(v);
        }
        let r = h.report();
        assert_eq!(r.count, 10_000);
        assert_eq!(r.max_ns, 10_000);
        for (q, exact) in [(0.5, 5_000.0), (0.99, 9_900.0), (0.999, 9_990.0)] {
            let got = h.quantile(q) as f64;
            assert!(
                got >= exact && got <= exact * 1.0625 + 1.0,
                "q{q}: {got} vs {exact}"
            );
        }
        assert_eq!(r.mean_ns, 5_000);
        assert_eq!(LatencyHistogram::new().report(), LatencyReport::default());
    }

    #[test]
    fn histogram_index_round_trips_bounds() {
        for v in [0u64, 1, 15, 16, 17, 31, 32, 1_000, 123_456_789, u64::MAX] {
            let i = index(v);
            assert!(upper_bound(i) >= v, "{v}");
            if i > 0 {
                assert!(upper_bound(i - 1) < v, "{v}");
            }
        }
    }

    #[test]
    fn market_hours_follow_globex() {
        let m = MarketHours::cme();
        // 2025-11-12 is a Wednesday. CST = UTC-6.
        assert!(m.is_open(ns(2025, 11, 12, 15, 0)), "09:00 CT Wednesday");
        assert!(
            !m.is_open(ns(2025, 11, 12, 22, 30)),
            "16:30 CT maintenance break"
        );
        assert!(m.is_open(ns(2025, 11, 12, 23, 30)), "17:30 CT reopen");
        assert!(!m.is_open(ns(2025, 11, 15, 18, 0)), "Saturday");
        assert!(!m.is_open(ns(2025, 11, 16, 22, 0)), "Sunday 16:00 CT");
        assert!(m.is_open(ns(2025, 11, 16, 23, 30)), "Sunday 17:30 CT");
        assert!(
            !m.is_open(ns(2025, 11, 14, 22, 30)),
            "Friday after 16:00 CT"
        );
        assert!(!m.is_open(ns(2025, 12, 25, 15, 0)), "Christmas");
        // Thanksgiving 2025: open until the 12:00 CT halt (18:00 UTC), then from 17:00 CT.
        assert!(m.is_open(ns(2025, 11, 27, 17, 30)), "Thanksgiving morning");
        assert!(!m.is_open(ns(2025, 11, 27, 18, 30)), "Thanksgiving halt");
        assert!(m.is_open(ns(2025, 11, 27, 23, 30)), "Thanksgiving evening");
        // MLK Day 2026: the Sunday evening session trades (for Tuesday).
        assert!(m.is_open(ns(2026, 1, 18, 23, 30)), "MLK Sunday evening");
        assert_eq!(
            m.next_boundary(ns(2025, 11, 27, 17, 30)),
            ns(2025, 11, 27, 18, 0)
        );
        assert_eq!(
            m.next_boundary(ns(2025, 11, 27, 18, 30)),
            ns(2025, 11, 27, 23, 0)
        );
    }

    #[test]
    fn uptime_is_time_weighted_over_market_hours_only() {
        let mut u = UptimeMonitor::new(MarketHours::cme());
        let t0 = ns(2025, 11, 12, 14, 0); // 08:00 CT Wednesday
        u.observe(t0, true, true);
        u.observe(t0 + 3_600_000_000_000, false, true); // up for 1 h
        u.observe(t0 + 4_500_000_000_000, true, false); // down 15 min
        u.observe(t0 + 5_400_000_000_000, true, true); // books unhealthy 15 min
        u.observe(t0 + 9_000_000_000_000, true, true); // up 1 h
        let r = u.report();
        assert_eq!(r.market_seconds, 9_000);
        assert_eq!(r.up_seconds, 7_200);
        assert_eq!(r.outages, 1);
        assert!((r.uptime.unwrap() - 0.8).abs() < 1e-12);

        // Across the maintenance break the closed hour does not count.
        let mut u = UptimeMonitor::new(MarketHours::cme());
        let t = ns(2025, 11, 12, 21, 0); // 15:00 CT
        u.observe(t, false, false);
        u.observe(t + 3 * 3_600_000_000_000, false, false); // to 18:00 CT
        assert_eq!(u.report().market_seconds, 2 * 3_600);
        assert_eq!(u.report().up_seconds, 0);
    }
}
