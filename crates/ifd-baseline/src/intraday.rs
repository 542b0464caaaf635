//! Intraday exponentially weighted mean and variance per series.

use std::collections::HashMap;

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
    series: HashMap<SeriesId, Ewma>,
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
            series: HashMap::new(),
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
