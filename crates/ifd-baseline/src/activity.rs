//! How busy the market typically is by time of day: the session activity profile.
//!
//! A 20-day baseline learned on ordinary days says what an ordinary print is. On a busy
//! session (a macro release, an expiry) there are several times as many prints, and the
//! largest of several times as many ordinary prints is larger: background flow then
//! crosses thresholds fitted to ordinary days. The profile gives the number of
//! aggressor events the baseline's days held over any span of the session's clock, so
//! that a detector can measure how busy *this* session is against them (its *activity
//! factor*) and hold its size tests to that regime.
//!
//! The profile is read from what the baseline already stores (the
//! [`Metric::TradeCount`] of every moneyness-bucket series, summed per time bucket and
//! day): no new series, no change to the persisted format. Within a time bucket the
//! day's events are taken as spread evenly over its minutes.

use crate::baseline::{Baseline, Scope};
use crate::key::{SessionTime, SESSION_MINUTES};
use crate::metric::Metric;

/// The running totals of `counts`, starting at 0 (one more entry than `counts`).
fn running_totals(counts: impl IntoIterator<Item = f64>) -> Vec<f64> {
    let mut total = 0.0;
    std::iter::once(0.0)
        .chain(counts.into_iter().map(|v| {
            total += v;
            total
        }))
        .collect()
}

/// Aggressor events per time bucket for each trading day of a baseline (see the module
/// docs).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ActivityProfile {
    bucket_minutes: u16,
    /// Per day, the events before each bucket boundary: `cum[i]` counts the events of
    /// buckets `0..i` (`buckets + 1` entries, starting at 0).
    days: Vec<Vec<f64>>,
}

impl ActivityProfile {
    /// The profile of every day `baseline` holds.
    #[must_use]
    pub fn of(baseline: &Baseline) -> Self {
        let bucket_minutes = baseline.config().bucket_minutes.clamp(1, SESSION_MINUTES);
        let buckets = usize::from(SESSION_MINUTES.div_ceil(bucket_minutes));
        let mut scratch = Vec::new();
        let days = baseline
            .raw_days()
            .iter()
            .map(|(_, packed)| {
                let mut per_bucket = vec![0.0; buckets];
                let mut cursor = packed.cursor();
                while let Some((id, _)) = cursor.head() {
                    scratch.clear();
                    cursor.take(&mut scratch);
                    if id.metric != Metric::TradeCount {
                        continue;
                    }
                    let Scope::Bucket(key) = id.scope else {
                        continue;
                    };
                    if let Some(slot) = per_bucket.get_mut(usize::from(key.time_bucket.0)) {
                        *slot += scratch.iter().sum::<f64>();
                    }
                }
                running_totals(per_bucket)
            })
            .collect();
        Self {
            bucket_minutes,
            days,
        }
    }

    /// A profile from explicit per-bucket event counts of each day (`bucket_minutes`
    /// long buckets from 17:00 CT; missing buckets count as none, negative or
    /// non-finite counts as none), for tests and for embedders with their own history.
    #[must_use]
    pub fn from_counts(bucket_minutes: u16, days: &[Vec<f64>]) -> Self {
        let bucket_minutes = bucket_minutes.clamp(1, SESSION_MINUTES);
        let buckets = usize::from(SESSION_MINUTES.div_ceil(bucket_minutes));
        let days = days
            .iter()
            .map(|counts| {
                running_totals((0..buckets).map(|i| {
                    let v = counts.get(i).copied().unwrap_or(0.0);
                    if v.is_finite() && v > 0.0 {
                        v
                    } else {
                        0.0
                    }
                }))
            })
            .collect();
        Self {
            bucket_minutes,
            days,
        }
    }

    /// Number of days in the profile.
    #[must_use]
    pub fn days(&self) -> usize {
        self.days.len()
    }

    /// Events of one day before session minute `minute` (minutes since 17:00 CT,
    /// fractional; clamped to the session), linear within a bucket.
    fn before(&self, cum: &[f64], minute: f64) -> f64 {
        let width = f64::from(self.bucket_minutes);
        let m = if minute.is_finite() {
            minute.clamp(0.0, f64::from(SESSION_MINUTES))
        } else {
            0.0
        };
        let pos = m / width;
        let floor = pos.floor();
        // pos is in [0, buckets]: the cast cannot wrap.
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "pos is finite and in [0, buckets]"
        )]
        let i = floor as usize;
        let lo = cum.get(i).or(cum.last()).copied().unwrap_or(0.0);
        let hi = cum.get(i + 1).copied().unwrap_or(lo);
        lo + (pos - floor) * (hi - lo)
    }

    /// The typical number of aggressor events between session minutes `from` and `to`
    /// (minutes since 17:00 CT, fractional): the median over the days of each day's
    /// events in that span. `None` without days; 0 when `to <= from`.
    #[must_use]
    pub fn typical_between(&self, from: f64, to: f64) -> Option<f64> {
        self.quantile_between(from, to, 0.5)
    }

    /// The `q`-quantile (Hyndman–Fan type 7; `q` clamped to `[0, 1]`, NaN read as the
    /// median) over the days of each day's events between session minutes `from` and
    /// `to`: 0.5 is [`typical_between`](Self::typical_between), 0.9 a busy day of the
    /// history. `None` without days.
    #[must_use]
    pub fn quantile_between(&self, from: f64, to: f64, q: f64) -> Option<f64> {
        if self.days.is_empty() {
            return None;
        }
        let mut spans: Vec<f64> = self
            .days
            .iter()
            .map(|cum| (self.before(cum, to) - self.before(cum, from)).max(0.0))
            .collect();
        spans.sort_by(f64::total_cmp);
        let q = if q.is_nan() { 0.5 } else { q.clamp(0.0, 1.0) };
        crate::stats::quantile_sorted(&spans, q)
    }

    /// As [`quantile_between`](Self::quantile_between) for two UTC instants (ns): the
    /// span of the session clock from `from_ns` to `to_ns`. When `from_ns` falls in an
    /// earlier trading day than `to_ns`, the span starts at the session's open. `None`
    /// without days or for instants outside the calendar's range.
    #[must_use]
    pub fn quantile_between_ns(&self, from_ns: u64, to_ns: u64, q: f64) -> Option<f64> {
        let to = SessionTime::from_unix_nanos(to_ns)?;
        let from = SessionTime::from_unix_nanos(from_ns.min(to_ns))?;
        let minute = |t: SessionTime, ns: u64| {
            #[allow(clippy::cast_precision_loss, reason = "nanoseconds within a minute")]
            let frac = (ns % 60_000_000_000) as f64 / 60e9;
            f64::from(t.minute_of_session) + frac
        };
        let start = if from.trading_day == to.trading_day {
            minute(from, from_ns.min(to_ns))
        } else {
            0.0
        };
        self.quantile_between(start, minute(to, to_ns), q)
    }
}

impl Baseline {
    /// The session activity profile of the days held (see [`ActivityProfile`]).
    #[must_use]
    pub fn activity_profile(&self) -> ActivityProfile {
        ActivityProfile::of(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_over_days_and_linear_within_a_bucket() {
        // Three days, 30-minute buckets: 60, 30 and 90 events in bucket 2.
        let day = |n: f64| {
            let mut v = vec![0.0; 48];
            v[2] = n;
            v
        };
        let p = ActivityProfile::from_counts(30, &[day(60.0), day(30.0), day(90.0)]);
        assert_eq!(p.days(), 3);
        // The whole bucket: the median day holds 60.
        assert_eq!(p.typical_between(60.0, 90.0), Some(60.0));
        // A third of it: 20.
        assert!((p.typical_between(60.0, 70.0).unwrap() - 20.0).abs() < 1e-9);
        // Quantiles between the days: 30, 60, 90.
        assert_eq!(p.quantile_between(60.0, 90.0, 0.75), Some(75.0));
        assert_eq!(p.quantile_between(60.0, 90.0, f64::NAN), Some(60.0));
        // Before it: none; reversed spans are empty.
        assert_eq!(p.typical_between(0.0, 60.0), Some(0.0));
        assert_eq!(p.typical_between(90.0, 60.0), Some(0.0));
        assert_eq!(ActivityProfile::default().typical_between(0.0, 10.0), None);
    }

    #[test]
    fn a_baselines_profile_sums_its_bucket_trade_counts_once() {
        use crate::{
            BaselineConfig, BaselineKey, DayObservations, ExpiryClass, MoneynessBucket,
            Observation, Right, TimeBucket, TradingDay,
        };
        let key = |moneyness: i64, bucket: u16| BaselineKey {
            right: Right::Call,
            expiry_class: ExpiryClass::Weekly,
            moneyness: MoneynessBucket::from_steps(moneyness),
            time_bucket: TimeBucket(bucket),
        };
        let mut baseline = Baseline::new(BaselineConfig::default()).unwrap();
        let first = chrono::NaiveDate::from_ymd_opt(2026, 11, 2).unwrap();
        for d in 0..5u64 {
            let mut day = DayObservations::new();
            // Bucket 40 (13:00-13:30 CT): two windows of two strikes (each also feeds
            // its strike series), 10 + d events each; a volume that is not counted.
            for (m, strike) in [(1, 21_000), (2, 21_025)] {
                for _ in 0..2 {
                    let obs = |metric, value| Observation {
                        key: key(m, 40),
                        strike: Some(strike * 1_000_000_000),
                        metric,
                        value,
                    };
                    #[allow(clippy::cast_precision_loss, reason = "test counts")]
                    day.add(obs(Metric::TradeCount, (10 + d) as f64)).unwrap();
                    day.add(obs(Metric::BuyVolume, 500.0)).unwrap();
                }
            }
            let date = first.checked_add_days(chrono::Days::new(d)).unwrap();
            baseline.push_day(TradingDay::new(date), day).unwrap();
        }
        let p = baseline.activity_profile();
        assert_eq!(p.days(), 5);
        // Four windows a day of 10..=14 events: the median day holds 48.
        assert_eq!(p.typical_between(1200.0, 1230.0), Some(48.0));
        assert_eq!(p.typical_between(0.0, 1200.0), Some(0.0));
        // 2026-11-04 19:00 UTC is 13:00 CST, minute 1200 of the session; 19:15 is half
        // the bucket in.
        let at = |h: u32, m: u32| {
            let t = chrono::NaiveDate::from_ymd_opt(2026, 11, 4)
                .unwrap()
                .and_hms_opt(h, m, 0)
                .unwrap()
                .and_utc();
            u64::try_from(t.timestamp_nanos_opt().unwrap()).unwrap()
        };
        assert_eq!(
            p.quantile_between_ns(at(19, 0), at(19, 15), 0.5),
            Some(24.0)
        );
        // The busiest day held 56; the quietest 40.
        assert_eq!(
            p.quantile_between_ns(at(19, 0), at(19, 30), 1.0),
            Some(56.0)
        );
        assert_eq!(
            p.quantile_between_ns(at(19, 0), at(19, 30), 0.0),
            Some(40.0)
        );
        // A span that starts the day before counts from the session's open.
        let day_before = at(19, 0) - 86_400_000_000_000;
        assert_eq!(
            p.quantile_between_ns(day_before, at(19, 30), 0.5),
            Some(48.0)
        );
    }
}
