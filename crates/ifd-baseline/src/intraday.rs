//! Intraday exponentially weighted mean and variance per series.

use ifd_core::IdMap;

use crate::baseline::{Observation, Scope, SeriesId};
use crate::error::{Error, Result};
use crate::stats::Ewma;

/// EWMA mean and variance of every bucket series seen during the current day.
///
/// Feed each window's observations in time order with [`observe`](Self::observe) and
/// call [`reset`](Self::reset) at the end of the trading day. Unlike the 20-day
/// baseline, this tracks today's regime (for example a busy morning) as it unfolds.
#[derive(Debug, Clone)]
pub struct IntradayEwma {
    template: Ewma,
    /// The fixed hasher: no `RandomState`, the same iteration order on every run.
    series: IdMap<SeriesId, Ewma>,
}

impl IntradayEwma {
    /// A tracker with decay `lambda` in `[0, 1)`.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when `lambda` is outside `[0, 1)`.
    pub fn new(lambda: f64) -> Result<Self> {
        let template = Ewma::new(lambda).ok_or(Error::InvalidConfig {
            reason: "EWMA lambda must be in [0, 1)",
        })?;
        Ok(Self {
            template,
            series: IdMap::default(),
        })
    }

    /// Folds one observation into its bucket series.
    ///
    /// # Errors
    /// [`Error::InvalidValue`] for a non-finite or out-of-domain value (not folded in).
    pub fn observe(&mut self, obs: &Observation) -> Result<()> {
        if !obs.metric.accepts(obs.value) {
            return Err(Error::InvalidValue {
                metric: obs.metric,
                key: obs.key,
                value: obs.value,
            });
        }
        let id = SeriesId {
            scope: Scope::Bucket(obs.key),
            metric: obs.metric,
        };
        self.series
            .entry(id)
            .or_insert(self.template)
            .update(obs.value);
        Ok(())
    }

    /// Today's EWMA of a series, if it has been observed.
    #[must_use]
    pub fn get(&self, id: &SeriesId) -> Option<&Ewma> {
        self.series.get(id)
    }

    /// Forgets the day.
    pub fn reset(&mut self) {
        self.series.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::{BaselineKey, ExpiryClass, MoneynessBucket, Right, TimeBucket};
    use crate::metric::Metric;

    #[test]
    fn tracks_per_series_and_resets() {
        let key = BaselineKey {
            right: Right::Put,
            expiry_class: ExpiryClass::SameDay,
            moneyness: MoneynessBucket::ATM,
            time_bucket: TimeBucket(2),
        };
        let obs = |metric, value| Observation {
            key,
            strike: Some(1),
            metric,
            value,
        };
        let mut t = IntradayEwma::new(0.5).expect("lambda");
        assert!(IntradayEwma::new(1.0).is_err());
        for v in [2.0, 4.0, 0.0] {
            t.observe(&obs(Metric::BuyVolume, v)).expect("legal");
        }
        t.observe(&obs(Metric::TradeCount, 9.0)).expect("legal");
        assert!(t.observe(&obs(Metric::TradeCount, f64::NAN)).is_err());
        let id = |metric| SeriesId {
            scope: Scope::Bucket(key),
            metric,
        };
        let e = t.get(&id(Metric::BuyVolume)).expect("observed");
        assert_eq!((e.mean(), e.variance()), (Some(1.5), Some(5.5)));
        let c = t.get(&id(Metric::TradeCount)).expect("observed");
        assert_eq!((c.mean(), c.count()), (Some(9.0), 1));
        t.reset();
        assert!(t.get(&id(Metric::BuyVolume)).is_none());
    }
}
