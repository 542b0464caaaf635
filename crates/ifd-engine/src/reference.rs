//! The baseline as the detectors' [`Reference`].

use std::collections::BTreeMap;

use ifd_baseline::{
    ActivityProfile, Baseline, BaselineKey, ExpiryClass, Metric, MoneynessBucket, Right, Scope,
    SeriesId, SessionTime,
};
use ifd_patterns::{Assessment, Reference, ReferenceMetric};
use ifd_pressure::{Chain, OptionContract, OptionKind};

/// A [`Baseline`] answering the detectors' questions.
///
/// Event sizes are compared with the largest-print series of the same key (a single
/// print against the bucket's largest print per window is conservative). Window volumes
/// are compared with the buy- or sell-volume series; detectors pass volumes per
/// `window_ns` (the baseline's window). The strike's own series is used when it has
/// enough days, else the moneyness bucket's.
///
/// The session activity the detectors compare with (`Reference::expected_activity`)
/// is the baseline's [`ActivityProfile`]: a quantile over its days of the aggressor
/// events of the whole chain over the same span of the session's clock.
#[derive(Debug, Clone)]
pub struct BaselineReference {
    baseline: Baseline,
    window_ns: u64,
    steps: BTreeMap<u64, Option<i64>>,
    activity: ActivityProfile,
}

impl BaselineReference {
    /// Wraps a baseline whose pressure windows were `window_ns` long.
    #[must_use]
    pub fn new(baseline: Baseline, window_ns: u64) -> Self {
        Self {
            activity: baseline.activity_profile(),
            baseline,
            window_ns,
            steps: BTreeMap::new(),
        }
    }

    /// The wrapped baseline.
    #[must_use]
    pub fn baseline(&self) -> &Baseline {
        &self.baseline
    }

    /// The baseline's session activity profile.
    #[must_use]
    pub fn activity(&self) -> &ActivityProfile {
        &self.activity
    }

    /// Recomputes the strike step of every expiry from the chain (call after definitions).
    pub fn refresh_steps(&mut self, chain: &Chain) {
        self.steps.clear();
        for exp in chain.expirations() {
            let step = chain
                .strikes(exp)
                .windows(2)
                .filter_map(|w| w[1].checked_sub(w[0]))
                .filter(|&d| d > 0)
                .min();
            self.steps.insert(exp, step);
        }
    }

    fn key(&self, contract: &OptionContract, underlying: i64, ts: u64) -> Option<BaselineKey> {
        let at = SessionTime::from_unix_nanos(ts)?;
        let exp = SessionTime::from_unix_nanos(contract.expiration)?;
        let right = match contract.kind {
            OptionKind::Call => Right::Call,
            OptionKind::Put => Right::Put,
        };
        let step = (*self.steps.get(&contract.expiration)?)?;
        let moneyness = MoneynessBucket::from_prices(right, contract.strike, underlying, step)?;
        Some(BaselineKey {
            right,
            expiry_class: ExpiryClass::classify(exp.trading_day, at.trading_day),
            moneyness,
            time_bucket: at.bucket(self.baseline.config().bucket_minutes),
        })
    }
}

impl Reference for BaselineReference {
    fn assess(
        &self,
        contract: &OptionContract,
        underlying: Option<i64>,
        ts_recv: u64,
        metric: ReferenceMetric,
        value: f64,
    ) -> Option<Assessment> {
        if !value.is_finite() {
            return None;
        }
        let key = self.key(contract, underlying?, ts_recv)?;
        #[allow(
            clippy::cast_precision_loss,
            reason = "window lengths in ns, ratio only"
        )]
        let scale = |w: u64| self.window_ns as f64 / w.max(1) as f64;
        let (metric, scale) = match metric {
            ReferenceMetric::EventSize => (Metric::LargestPrint, 1.0),
            ReferenceMetric::BuyVolume { window_ns } => (Metric::BuyVolume, scale(window_ns)),
            ReferenceMetric::SellVolume { window_ns } => (Metric::SellVolume, scale(window_ns)),
        };
        let value = value * scale;
        let cfg = self.baseline.config();
        let strike_scope = Scope::Strike {
            right: key.right,
            expiry_class: key.expiry_class,
            strike: contract.strike,
            time_bucket: key.time_bucket,
        };
        let model = [strike_scope, Scope::Bucket(key)]
            .into_iter()
            .filter_map(|scope| self.baseline.series(&SeriesId { scope, metric }))
            .find(|m| m.days() >= cfg.min_days)?;
        let p = model.p_value(value, cfg.max_tail_df);
        let z = model.robust_z(value);
        let typical = model.quantile(0.5)? / scale;
        p.is_finite().then_some(Assessment {
            p_value: p.clamp(0.0, 1.0),
            z_score: if z.is_finite() { z } else { 0.0 },
            days: model.days(),
            typical,
        })
    }

    fn expected_activity(&self, from_ns: u64, to_ns: u64, quantile: f64) -> Option<f64> {
        // A history too short to score a print is too short to call a session busy.
        if self.baseline.days() < self.baseline.config().min_days {
            return None;
        }
        self.activity.quantile_between_ns(from_ns, to_ns, quantile)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ifd_baseline::{BaselineConfig, DayObservations, Observation, TimeBucket, TradingDay};

    #[test]
    fn expected_activity_is_the_baselines_profile_at_a_quantile() {
        let key = BaselineKey {
            right: Right::Put,
            expiry_class: ExpiryClass::SameDay,
            moneyness: MoneynessBucket::from_steps(0),
            time_bucket: TimeBucket(40),
        };
        let mut baseline = Baseline::new(BaselineConfig::default()).unwrap();
        let first = chrono::NaiveDate::from_ymd_opt(2026, 11, 2).unwrap();
        // Days of 100, 200, ..., 1000 events in 13:00-13:30 CT.
        for d in 0..10u32 {
            let mut day = DayObservations::new();
            day.add(Observation {
                key,
                strike: None,
                metric: Metric::TradeCount,
                value: f64::from(100 * (d + 1)),
            })
            .unwrap();
            let date = first
                .checked_add_days(chrono::Days::new(u64::from(d)))
                .unwrap();
            baseline.push_day(TradingDay::new(date), day).unwrap();
        }
        let r = BaselineReference::new(baseline, 300_000_000_000);
        // 2026-11-16 19:00-19:30 UTC is 13:00-13:30 CST.
        let at = |m: u32| {
            let t = chrono::NaiveDate::from_ymd_opt(2026, 11, 16)
                .unwrap()
                .and_hms_opt(19, m, 0)
                .unwrap()
                .and_utc();
            u64::try_from(t.timestamp_nanos_opt().unwrap()).unwrap()
        };
        let median = r.expected_activity(at(0), at(30), 0.5).unwrap();
        assert!((median - 550.0).abs() < 1e-9, "{median}");
        let busy = r.expected_activity(at(0), at(30), 0.9).unwrap();
        assert!((busy - 910.0).abs() < 1e-9, "{busy}");
        // Half the bucket: half the events.
        let half = r.expected_activity(at(0), at(15), 0.5).unwrap();
        assert!((half - 275.0).abs() < 1e-9, "{half}");
        assert_eq!(r.activity().days(), 10);
    }
}
