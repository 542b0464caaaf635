//! The rolling baseline of trading days and window scoring.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, StudentsT};

use crate::error::{Error, Result};
use crate::fdr::benjamini_hochberg;
use crate::key::{BaselineKey, ExpiryClass, Right, TimeBucket, TradingDay};
use crate::metric::{Metric, Tail, Transform};
use crate::stats::{quantile_sorted, RobustScale, ScaleMethod};

/// A small multiply-rotate hasher for the series maps: the keys are the crate's own
/// small structs (no hash flooding to defend against), and a fixed hash keeps
/// iteration deterministic.
#[derive(Debug, Default, Clone, Copy)]
struct SeriesHasher(u64);

impl SeriesHasher {
    fn add(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl Hasher for SeriesHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.add(u64::from(b));
        }
    }
    fn write_u8(&mut self, v: u8) {
        self.add(u64::from(v));
    }
    fn write_u16(&mut self, v: u16) {
        self.add(u64::from(v));
    }
    fn write_u32(&mut self, v: u32) {
        self.add(u64::from(v));
    }
    fn write_u64(&mut self, v: u64) {
        self.add(v);
    }
    fn write_usize(&mut self, v: usize) {
        self.add(v as u64);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

type SeriesMap<V> = HashMap<SeriesId, V, BuildHasherDefault<SeriesHasher>>;

/// Settings of a [`Baseline`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaselineConfig {
    /// Trading days kept (the ring size); 20 by default.
    pub max_days: u16,
    /// Fewest days with data a series needs before it is scored; below it the score is
    /// [`Outcome::Insufficient`]. 5 by default; at least 2.
    pub min_days: u16,
    /// Length of a time-of-day bucket in minutes (1..=1440); 30 by default.
    pub bucket_minutes: u16,
    /// Keep per-strike series beside the moneyness buckets, and score against a
    /// strike's own series when it has at least `min_days` days. On by default.
    pub per_strike: bool,
    /// Cap on the Student-t degrees of freedom of the tail model (`days − 1` below the
    /// cap); 10 by default. A low cap keeps the tail heavy, which is conservative.
    pub max_tail_df: u16,
    /// Length of the tumbling pressure window the values were measured over, ns; 5
    /// minutes by default. It must divide the time bucket. An engine scoring against
    /// this baseline runs windows of this length.
    pub window_ns: u64,
}

impl Default for BaselineConfig {
    fn default() -> Self {
        Self {
            max_days: 20,
            min_days: 5,
            bucket_minutes: 30,
            per_strike: true,
            max_tail_df: 10,
            window_ns: 300_000_000_000,
        }
    }
}

impl BaselineConfig {
    /// Checks the ranges documented on each field.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the first field out of range.
    pub fn validate(&self) -> Result<()> {
        let bad = |reason| Err(Error::InvalidConfig { reason });
        if self.max_days == 0 {
            return bad("max_days must be at least 1");
        }
        if self.min_days < 2 || self.min_days > self.max_days {
            return bad("min_days must be in 2..=max_days");
        }
        if self.bucket_minutes == 0 || self.bucket_minutes > 1440 {
            return bad("bucket_minutes must be in 1..=1440");
        }
        let bucket_ns = u64::from(self.bucket_minutes) * 60_000_000_000;
        if self.window_ns == 0 || bucket_ns % self.window_ns != 0 {
            return bad("window_ns must be positive and divide the time bucket");
        }
        if self.max_tail_df == 0 {
            return bad("max_tail_df must be at least 1");
        }
        Ok(())
    }
}

/// One metric value of one window at one key.
///
/// `strike` (dbn fixed point) is optional: when present, the day also feeds the
/// per-strike series and scoring may use it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    /// Moneyness/time key.
    pub key: BaselineKey,
    /// Strike price in dbn fixed point, when known.
    pub strike: Option<i64>,
    /// Which metric.
    pub metric: Metric,
    /// The value (finite, in the metric's domain).
    pub value: f64,
}

impl Observation {
    fn check(&self) -> Result<()> {
        if self.metric.accepts(self.value) {
            Ok(())
        } else {
            Err(Error::InvalidValue {
                metric: self.metric,
                key: self.key,
                value: self.value,
            })
        }
    }
}

/// Where a series lives: a moneyness bucket or one strike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Scope {
    /// The moneyness-bucket series of a key.
    Bucket(BaselineKey),
    /// The series of one strike at one time of day.
    Strike {
        /// Call or put.
        right: Right,
        /// Expiry class.
        expiry_class: ExpiryClass,
        /// Strike, dbn fixed point.
        strike: i64,
        /// Time-of-day bucket.
        time_bucket: TimeBucket,
    },
}

impl Scope {
    fn strike_of(obs: &Observation) -> Option<Self> {
        obs.strike.map(|strike| Self::Strike {
            right: obs.key.right,
            expiry_class: obs.key.expiry_class,
            strike,
            time_bucket: obs.key.time_bucket,
        })
    }
}

/// A series: one metric in one scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SeriesId {
    /// Bucket or strike.
    pub scope: Scope,
    /// Metric.
    pub metric: Metric,
}

/// All observations of one trading day, grouped by series.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DayObservations {
    pub(crate) series: BTreeMap<SeriesId, Vec<f64>>,
}

impl DayObservations {
    /// An empty day.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one observation (to its bucket series and, with a strike, its strike series).
    ///
    /// # Errors
    /// [`Error::InvalidValue`] for NaN, infinity or a value outside the metric's domain;
    /// the day is left unchanged.
    pub fn add(&mut self, obs: Observation) -> Result<()> {
        obs.check()?;
        self.series
            .entry(SeriesId {
                scope: Scope::Bucket(obs.key),
                metric: obs.metric,
            })
            .or_default()
            .push(obs.value);
        if let Some(scope) = Scope::strike_of(&obs) {
            self.series
                .entry(SeriesId {
                    scope,
                    metric: obs.metric,
                })
                .or_default()
                .push(obs.value);
        }
        Ok(())
    }

    /// Adds many observations; stops at the first invalid one.
    ///
    /// # Errors
    /// As [`add`](Self::add); observations before the bad one stay added.
    pub fn extend<I: IntoIterator<Item = Observation>>(&mut self, obs: I) -> Result<()> {
        obs.into_iter().try_for_each(|o| self.add(o))
    }

    /// Number of series with data.
    #[must_use]
    pub fn series_count(&self) -> usize {
        self.series.len()
    }

    /// Number of values held.
    #[must_use]
    pub fn value_count(&self) -> usize {
        self.series.values().map(Vec::len).sum()
    }
}

/// Fewest active (non-zero) values a zero-inflated series needs to fit its own tail;
/// below it the tail borrows the fit of its parent (the same key over all time buckets).
const MIN_ACTIVE: usize = 3;

/// Non-negative metrics whose windows are often empty: their tail is fitted on the
/// active (positive) values only, since the zeros say how often flow happens, not how
/// large it is.
fn zero_inflated(metric: Metric) -> bool {
    metric.tail() == Tail::Upper && metric.transform() == Transform::Log1p
}

/// The series of the same key and metric over all time buckets.
fn parent_of(id: &SeriesId) -> SeriesId {
    const ALL_DAY: TimeBucket = TimeBucket(u16::MAX);
    let scope = match id.scope {
        Scope::Bucket(k) => Scope::Bucket(BaselineKey {
            time_bucket: ALL_DAY,
            ..k
        }),
        Scope::Strike {
            right,
            expiry_class,
            strike,
            ..
        } => Scope::Strike {
            right,
            expiry_class,
            strike,
            time_bucket: ALL_DAY,
        },
    };
    SeriesId {
        scope,
        metric: id.metric,
    }
}

/// The fitted model of one series over the days held.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesModel {
    days: u16,
    raw_sorted: Vec<f64>,
    raw: RobustScale,
    trans: RobustScale,
    /// Location and scale of the tail model on the transformed axis: the active
    /// (positive) part for zero-inflated upper-tail metrics, everything otherwise;
    /// `None` when no value is active (no extrapolation beyond the sample then).
    tail_fit: Option<RobustScale>,
    /// Two-sided metrics: |transformed − median| ascending; empty for upper-tail
    /// metrics (ranked on `raw_sorted`).
    tail_sorted: Vec<f64>,
    metric: Metric,
}

impl SeriesModel {
    fn fit(
        metric: Metric,
        days: u16,
        mut raw_sorted: Vec<f64>,
        parent_fit: Option<RobustScale>,
    ) -> Option<Self> {
        raw_sorted.sort_by(f64::total_cmp);
        let tr = metric.transform();
        let raw = RobustScale::from_sorted(&raw_sorted, metric.resolution())?;
        // Monotone transforms keep the order.
        let trans_sorted: Vec<f64> = raw_sorted.iter().map(|&x| tr.apply(x)).collect();
        let trans = RobustScale::from_sorted(&trans_sorted, tr.floor())?;
        let tail_fit = if zero_inflated(metric) {
            let first_active = trans_sorted.partition_point(|&y| y <= 0.0);
            let active = &trans_sorted[first_active..];
            if active.len() >= MIN_ACTIVE {
                RobustScale::from_sorted(active, tr.floor())
            } else {
                parent_fit
            }
        } else {
            Some(trans)
        };
        let tail_sorted = match metric.tail() {
            // Ranks are taken on the raw values (the transform is monotone).
            Tail::Upper => Vec::new(),
            Tail::TwoSided => {
                let mut d: Vec<f64> = trans_sorted
                    .iter()
                    .map(|y| (y - trans.median).abs())
                    .collect();
                d.sort_by(f64::total_cmp);
                d
            }
        };
        Some(Self {
            days,
            raw_sorted,
            raw,
            trans,
            tail_fit,
            tail_sorted,
            metric,
        })
    }

    /// Days with at least one value in this series.
    #[must_use]
    pub fn days(&self) -> u16 {
        self.days
    }

    /// Values pooled over those days.
    #[must_use]
    pub fn samples(&self) -> usize {
        self.raw_sorted.len()
    }

    /// Median and scale on the raw axis.
    #[must_use]
    pub fn robust_scale(&self) -> RobustScale {
        self.raw
    }

    /// Quantile of the pooled raw values (Hyndman–Fan type 7); `None` outside `[0, 1]`.
    #[must_use]
    pub fn quantile(&self, p: f64) -> Option<f64> {
        quantile_sorted(&self.raw_sorted, p)
    }

    /// Robust z-score on the raw axis: `0.6745·(x − median)/MAD`, with the fallback
    /// chain of [`RobustScale`] when the MAD is zero.
    #[must_use]
    pub fn robust_z(&self, x: f64) -> f64 {
        self.raw.z(x)
    }

    /// p-value of `x` under this series (see the crate docs, "Scoring").
    #[must_use]
    pub fn p_value(&self, x: f64, max_tail_df: u16) -> f64 {
        let tr = self.metric.transform();
        let y = tr.apply(x);
        // Upper tail: ranks and the largest value on the raw axis (the transform is
        // monotone). Two-sided: on the absolute deviations of the transformed values.
        let (ranked, stat, largest) = match self.metric.tail() {
            Tail::Upper => (
                &self.raw_sorted,
                x,
                self.raw_sorted.last().map_or(y, |&v| tr.apply(v)),
            ),
            Tail::TwoSided => {
                let stat = (y - self.trans.median).abs();
                (
                    &self.tail_sorted,
                    stat,
                    self.tail_sorted.last().copied().unwrap_or(stat),
                )
            }
        };
        let n = ranked.len();
        let at_or_above = n - ranked.partition_point(|&v| v < stat);
        let n1 = (n + 1) as f64;
        if at_or_above > 0 {
            return ((at_or_above + 1) as f64 / n1).min(1.0);
        }
        // Beyond everything seen: the Student-t tail, anchored at the largest value.
        let Some(fit) = self.tail_fit else {
            return 1.0 / n1;
        };
        let df = f64::from(self.days.saturating_sub(1).clamp(1, max_tail_df.max(1)));
        let widen = (1.0 + 1.0 / f64::from(self.days.max(1))).sqrt();
        let s = fit.sigma * widen;
        let (t, t_max) = match self.metric.tail() {
            Tail::Upper => ((y - fit.median) / s, (largest - fit.median) / s),
            Tail::TwoSided => (stat / s, largest / s),
        };
        let Ok(dist) = StudentsT::new(0.0, 1.0, df) else {
            return 1.0 / n1;
        };
        let num = dist.sf(t);
        let den = dist.sf(t_max);
        let ratio = if den > 0.0 && num.is_finite() {
            (num / den).clamp(0.0, 1.0)
        } else {
            0.0
        };
        (ratio / n1).max(f64::MIN_POSITIVE)
    }
}

/// Which series scored an observation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ScoredAgainst {
    /// The strike's own series.
    Strike,
    /// The moneyness-bucket series.
    Bucket,
}

/// The score of one observation with enough history.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Scored {
    /// Series used.
    pub against: ScoredAgainst,
    /// Days of history behind the score (at most `max_days`).
    pub days: u16,
    /// Values pooled over those days.
    pub samples: u32,
    /// Historical median (raw axis).
    pub median: f64,
    /// Robust z-score on the raw axis.
    pub robust_z: f64,
    /// Estimator behind the z-score's scale.
    pub scale_method: ScaleMethod,
    /// p-value under the series' model.
    pub p_value: f64,
    /// Benjamini–Hochberg q-value across every observation scored in the same call.
    pub q_value: f64,
    /// Uncalibrated confidence `(1 − q)·√(days/max_days)` in `[0, 1]`; map it through a
    /// [`Calibration`](crate::Calibration) fitted on labelled data for a probability.
    pub confidence: f64,
}

/// Outcome of scoring one observation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Outcome {
    /// Fewer than `min_days` days of history: no number is given.
    Insufficient {
        /// Days available.
        days: u16,
    },
    /// Scored.
    Scored(Scored),
}

impl Outcome {
    /// The score, when there is one.
    #[must_use]
    pub fn scored(&self) -> Option<&Scored> {
        match self {
            Self::Scored(s) => Some(s),
            Self::Insufficient { .. } => None,
        }
    }
}

/// Scores of every observation of one window, in input order.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct WindowScores {
    /// `(observation, outcome)` pairs in input order.
    pub items: Vec<(Observation, Outcome)>,
}

impl WindowScores {
    /// Number of observations that were scored (had enough history).
    #[must_use]
    pub fn tested(&self) -> usize {
        self.items
            .iter()
            .filter(|(_, o)| o.scored().is_some())
            .count()
    }

    /// Number of observations reported as insufficient.
    #[must_use]
    pub fn insufficient(&self) -> usize {
        self.items.len() - self.tested()
    }

    /// Observations whose q-value is at most `alpha` (BH discoveries at level `alpha`).
    pub fn discoveries(&self, alpha: f64) -> impl Iterator<Item = &(Observation, Outcome)> {
        self.items
            .iter()
            .filter(move |(_, o)| o.scored().is_some_and(|s| s.q_value <= alpha))
    }
}

/// A rolling baseline over the last `max_days` trading days.
///
/// Days are kept sorted by date: the baseline always holds the latest `max_days`
/// distinct trading days pushed, whatever the order they were pushed in.
#[derive(Debug, Clone)]
pub struct Baseline {
    config: BaselineConfig,
    days: Vec<(TradingDay, DayObservations)>,
    models: OnceLock<SeriesMap<SeriesModel>>,
}

impl PartialEq for Baseline {
    fn eq(&self, other: &Self) -> bool {
        self.config == other.config && self.days == other.days
    }
}

impl Baseline {
    /// An empty baseline.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when the configuration is out of range.
    pub fn new(config: BaselineConfig) -> Result<Self> {
        config.validate()?;
        Ok(Self {
            config,
            days: Vec::new(),
            models: OnceLock::new(),
        })
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &BaselineConfig {
        &self.config
    }

    /// Number of trading days held (at most `max_days`).
    #[must_use]
    pub fn days(&self) -> u16 {
        // len <= max_days (u16)
        u16::try_from(self.days.len()).unwrap_or(u16::MAX)
    }

    /// Trading days held, oldest first.
    pub fn trading_days(&self) -> impl Iterator<Item = TradingDay> + '_ {
        self.days.iter().map(|(d, _)| *d)
    }

    /// Adds the observations of a finished trading day; when the ring is full the oldest
    /// day is dropped (which is `day` itself if it is older than every day held).
    ///
    /// # Errors
    /// [`Error::DuplicateDay`] when a day with the same date is already held.
    pub fn push_day(&mut self, day: TradingDay, mut obs: DayObservations) -> Result<()> {
        let pos = match self.days.binary_search_by(|(d, _)| d.cmp(&day)) {
            Ok(_) => return Err(Error::DuplicateDay { day }),
            Err(p) => p,
        };
        if !self.config.per_strike {
            obs.series
                .retain(|id, _| matches!(id.scope, Scope::Bucket(_)));
        }
        self.days.insert(pos, (day, obs));
        while self.days.len() > usize::from(self.config.max_days) {
            self.days.remove(0);
        }
        self.models = OnceLock::new();
        Ok(())
    }

    /// Adds every day of `other` (for example one-day baselines learned on other
    /// machines, see docs/scaling.md); as pushing those days one by one, so merging
    /// the baselines of separately learned history days gives the baseline of one
    /// build over all of them.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when the two configurations differ (nothing is added);
    /// [`Error::DuplicateDay`] when a day of `other` is already held (the days before
    /// it in `other` stay added).
    pub fn merge(&mut self, other: &Self) -> Result<()> {
        if self.config != other.config {
            return Err(Error::InvalidConfig {
                reason: "merged baselines must have the same configuration",
            });
        }
        for (day, obs) in &other.days {
            self.push_day(*day, obs.clone())?;
        }
        Ok(())
    }

    pub(crate) fn raw_days(&self) -> &[(TradingDay, DayObservations)] {
        &self.days
    }

    pub(crate) fn from_parts(
        config: BaselineConfig,
        days: Vec<(TradingDay, DayObservations)>,
    ) -> Self {
        Self {
            config,
            days,
            models: OnceLock::new(),
        }
    }

    fn models(&self) -> &SeriesMap<SeriesModel> {
        self.models.get_or_init(|| {
            let mut pooled: SeriesMap<(u16, Vec<f64>)> = SeriesMap::default();
            for (_, day) in &self.days {
                for (id, vals) in &day.series {
                    let e = pooled.entry(*id).or_default();
                    e.0 = e.0.saturating_add(1);
                    e.1.extend_from_slice(vals);
                }
            }
            let mut parents: SeriesMap<Vec<f64>> = SeriesMap::default();
            for (id, (_, vals)) in &pooled {
                if zero_inflated(id.metric) {
                    let tr = id.metric.transform();
                    parents
                        .entry(parent_of(id))
                        .or_default()
                        .extend(vals.iter().filter(|&&x| x > 0.0).map(|&x| tr.apply(x)));
                }
            }
            let parent_fits: SeriesMap<RobustScale> = parents
                .into_iter()
                .filter(|(_, v)| v.len() >= MIN_ACTIVE)
                .filter_map(|(id, mut v)| {
                    v.sort_by(f64::total_cmp);
                    RobustScale::from_sorted(&v, id.metric.transform().floor()).map(|f| (id, f))
                })
                .collect();
            pooled
                .into_iter()
                .filter_map(|(id, (days, vals))| {
                    let parent = parent_fits.get(&parent_of(&id)).copied();
                    SeriesModel::fit(id.metric, days, vals, parent).map(|m| (id, m))
                })
                .collect()
        })
    }

    /// The fitted model of a series, if it has any data.
    #[must_use]
    pub fn series(&self, id: &SeriesId) -> Option<&SeriesModel> {
        self.models().get(id)
    }

    /// Number of series with data.
    #[must_use]
    pub fn series_count(&self) -> usize {
        self.models().len()
    }

    fn outcome_for(&self, obs: &Observation) -> (Outcome, Option<f64>) {
        let models = self.models();
        let min = self.config.min_days;
        let strike_model = if self.config.per_strike {
            Scope::strike_of(obs).and_then(|scope| {
                models
                    .get(&SeriesId {
                        scope,
                        metric: obs.metric,
                    })
                    .filter(|m| m.days >= min)
            })
        } else {
            None
        };
        let (model, against) = match strike_model {
            Some(m) => (Some(m), ScoredAgainst::Strike),
            None => (
                models.get(&SeriesId {
                    scope: Scope::Bucket(obs.key),
                    metric: obs.metric,
                }),
                ScoredAgainst::Bucket,
            ),
        };
        let Some(model) = model.filter(|m| m.days >= min) else {
            let days = model.map_or(0, |m| m.days);
            return (Outcome::Insufficient { days }, None);
        };
        let p = model.p_value(obs.value, self.config.max_tail_df);
        let scored = Scored {
            against,
            days: model.days,
            samples: u32::try_from(model.samples()).unwrap_or(u32::MAX),
            median: model.raw.median,
            robust_z: model.robust_z(obs.value),
            scale_method: model.raw.method,
            p_value: p,
            q_value: 1.0,
            confidence: 0.0,
        };
        (Outcome::Scored(scored), Some(p))
    }

    /// Scores every observation of one window and applies Benjamini–Hochberg across all
    /// of them that had enough history.
    ///
    /// # Errors
    /// [`Error::InvalidValue`] when any observation is NaN, infinite or outside its
    /// metric's domain; nothing is scored then.
    pub fn score_window(&self, observations: &[Observation]) -> Result<WindowScores> {
        observations.iter().try_for_each(Observation::check)?;
        let mut items = Vec::with_capacity(observations.len());
        let mut ps = Vec::new();
        let mut idx = Vec::new();
        for (i, obs) in observations.iter().enumerate() {
            let (outcome, p) = self.outcome_for(obs);
            if let Some(p) = p {
                ps.push(p);
                idx.push(i);
            }
            items.push((*obs, outcome));
        }
        let qs = benjamini_hochberg(&ps);
        let max_days = f64::from(self.config.max_days);
        for (i, q) in idx.into_iter().zip(qs) {
            if let Some((_, Outcome::Scored(s))) = items.get_mut(i) {
                s.q_value = q;
                let size = (f64::from(s.days) / max_days).min(1.0).sqrt();
                s.confidence = ((1.0 - q) * size).clamp(0.0, 1.0);
            }
        }
        Ok(WindowScores { items })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::MoneynessBucket;

    fn key(tb: u16) -> BaselineKey {
        BaselineKey {
            right: Right::Call,
            expiry_class: ExpiryClass::Weekly,
            moneyness: MoneynessBucket::ATM,
            time_bucket: TimeBucket(tb),
        }
    }

    fn obs(metric: Metric, value: f64) -> Observation {
        Observation {
            key: key(3),
            strike: None,
            metric,
            value,
        }
    }

    fn day(i: u32) -> TradingDay {
        TradingDay::new(
            chrono::NaiveDate::from_ymd_opt(2026, 1, 1)
                .and_then(|d| d.checked_add_days(chrono::Days::new(u64::from(i))))
                .expect("date"),
        )
    }

    #[test]
    fn config_validation() {
        assert!(BaselineConfig::default().validate().is_ok());
        let bad = BaselineConfig {
            min_days: 1,
            ..BaselineConfig::default()
        };
        assert!(matches!(bad.validate(), Err(Error::InvalidConfig { .. })));
        let bad = BaselineConfig {
            min_days: 21,
            ..BaselineConfig::default()
        };
        assert!(Baseline::new(bad).is_err());
    }

    #[test]
    fn p_value_body_is_rank_and_tail_decreases() {
        let mut b = Baseline::new(BaselineConfig::default()).expect("config");
        for i in 0..20 {
            let mut d = DayObservations::new();
            d.add(obs(Metric::BuyVolume, f64::from(i + 1)))
                .expect("valid");
            b.push_day(day(i), d).expect("push");
        }
        // history 1..=20, n = 20: x = 15 -> 6 values >= 15 -> (6+1)/21
        let s = b.score_window(&[obs(Metric::BuyVolume, 15.0)]).expect("ok");
        let sc = *s.items[0].1.scored().expect("scored");
        assert!((sc.p_value - 7.0 / 21.0).abs() < 1e-12);
        assert_eq!(sc.days, 20);
        assert_eq!(sc.median, 10.5);
        // beyond the max: below 1/21, decreasing in x
        let p = |x| {
            b.score_window(&[obs(Metric::BuyVolume, x)])
                .expect("ok")
                .items[0]
                .1
                .scored()
                .expect("scored")
                .p_value
        };
        assert!(p(21.0) <= 1.0 / 21.0);
        assert!(p(50.0) < p(21.0));
        assert!(p(5000.0) < p(50.0));
        assert!(p(5000.0) > 0.0);
    }

    #[test]
    fn duplicate_day_rejected_and_ring_drops_oldest() {
        let mut b = Baseline::new(BaselineConfig::default()).expect("config");
        for i in 0..21 {
            let mut d = DayObservations::new();
            d.add(obs(Metric::TradeCount, 1.0)).expect("valid");
            b.push_day(day(i), d).expect("push");
            assert_eq!(usize::from(b.days()), (i as usize + 1).min(20));
        }
        assert_eq!(b.trading_days().next(), Some(day(1)));
        assert!(matches!(
            b.push_day(day(5), DayObservations::new()),
            Err(Error::DuplicateDay { .. })
        ));
    }
}
