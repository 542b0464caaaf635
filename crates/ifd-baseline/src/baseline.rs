//! The rolling baseline of trading days and window scoring.

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, StudentsT};

use crate::error::{Error, Result};
use crate::fdr::benjamini_hochberg;
use crate::key::{BaselineKey, ExpiryClass, Right, TimeBucket, TradingDay};
use crate::metric::{Metric, Tail, Transform};
use crate::packed::{Cursor, PackedDay};
use crate::stats::{RobustScale, ScaleMethod};

/// A small multiply-rotate hasher for the models' series index: the keys are the
/// crate's own small structs (no hash flooding to defend against), and a fixed hash
/// keeps the index deterministic.
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

/// The index slot of `id` in a table of `2^bits` slots (the hash's top bits: a
/// multiply-based hash mixes upwards).
fn slot(id: &SeriesId, bits: u32) -> usize {
    let mut h = SeriesHasher::default();
    id.hash(&mut h);
    if bits == 0 {
        0
    } else {
        (h.finish() >> (64 - bits)) as usize
    }
}

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

/// Location and scale of a tail model (the median and `sigma` of a [`RobustScale`]).
#[derive(Debug, Clone, Copy, PartialEq)]
struct TailFit {
    median: f64,
    sigma: f64,
}

impl From<RobustScale> for TailFit {
    fn from(s: RobustScale) -> Self {
        Self {
            median: s.median,
            sigma: s.sigma,
        }
    }
}

/// The fitted figures of one series; its sorted values are runs in [`Models`].
#[derive(Debug, Clone, Copy, PartialEq)]
struct Fit {
    /// First run of the series in [`Models::vals`].
    start: usize,
    /// Runs of the raw values; the runs of the two-sided tail statistics follow them.
    raw_runs: u32,
    /// Runs of the two-sided tail statistics (0 for upper-tail metrics).
    tail_runs: u32,
    days: u16,
    metric: Metric,
    raw: RobustScale,
    /// Median of the transformed values.
    trans_median: f64,
    /// Location and scale of the tail model on the transformed axis: the active
    /// (positive) part for zero-inflated upper-tail metrics, everything otherwise;
    /// `None` when no value is active (no extrapolation beyond the sample then).
    tail_fit: Option<TailFit>,
}

/// An ascending sample stored as runs of equal values: `vals[i]` occurs
/// `cum[i] − cum[i − 1]` times (`cum` counts the values up to and including run `i`).
/// Windows are mostly empty and counts small, so the runs are about a quarter of the
/// values.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Ranked<'a> {
    vals: &'a [f64],
    cum: &'a [u32],
}

impl Ranked<'_> {
    /// Number of values.
    fn len(&self) -> usize {
        self.cum.last().map_or(0, |&c| c as usize)
    }

    /// Number of values below `x`.
    fn count_below(&self, x: f64) -> usize {
        let runs = self.vals.partition_point(|&v| v < x);
        runs.checked_sub(1)
            .and_then(|i| self.cum.get(i))
            .map_or(0, |&c| c as usize)
    }

    /// The value of 0-based rank `i` in ascending order.
    fn get(&self, i: usize) -> Option<f64> {
        let run = self.cum.partition_point(|&c| c as usize <= i);
        self.vals.get(run).copied()
    }

    fn last(&self) -> Option<f64> {
        self.vals.last().copied()
    }

    /// Quantile, Hyndman–Fan type 7, as [`crate::stats::quantile_sorted`] on the
    /// expanded sample.
    fn quantile(&self, p: f64) -> Option<f64> {
        let n = self.len();
        if n == 0 || !(0.0..=1.0).contains(&p) {
            return None;
        }
        let h = (n - 1) as f64 * p;
        let lo = h.floor();
        // `lo` is in [0, n-1] because p is in [0, 1].
        let i = lo as usize;
        let frac = h - lo;
        let a = self.get(i)?;
        match self.get(i + 1) {
            Some(b) if frac > 0.0 => Some(a + frac * (b - a)),
            _ => Some(a),
        }
    }
}

/// Marks an empty slot of [`Models::index`].
const EMPTY: u32 = u32::MAX;

/// The fitted models of every series, in flat arrays: series ids ascending, their
/// figures, and their sorted values as runs; an open-addressing hash index of `u32`
/// positions (at most half full: 4 bytes a slot) finds a series in one or two probes.
#[derive(Debug, Clone, Default)]
struct Models {
    ids: Vec<SeriesId>,
    fits: Vec<Fit>,
    vals: Vec<f64>,
    cum: Vec<u32>,
    /// `2^index_bits` slots holding positions in `ids`, [`EMPTY`] when free; empty
    /// (lookups by binary search) only when there are `u32::MAX` series or more.
    index: Vec<u32>,
    index_bits: u32,
}

impl Models {
    /// Builds the hash index over `ids`.
    fn build_index(&mut self) {
        let n = self.ids.len();
        if u32::try_from(n).ok().is_none_or(|n| n == EMPTY) {
            return;
        }
        let slots = (2 * n).max(1).next_power_of_two();
        self.index_bits = slots.trailing_zeros();
        self.index = vec![EMPTY; slots];
        let mask = slots - 1;
        for (i, id) in self.ids.iter().enumerate() {
            let mut s = slot(id, self.index_bits);
            while self.index.get(s).is_some_and(|&v| v != EMPTY) {
                s = (s + 1) & mask;
            }
            if let Some(v) = self.index.get_mut(s) {
                // i < n < u32::MAX, checked above.
                *v = i as u32;
            }
        }
    }

    /// Position of `id` in `ids`.
    fn find(&self, id: &SeriesId) -> Option<usize> {
        if self.index.is_empty() {
            return self.ids.binary_search(id).ok();
        }
        let mask = self.index.len() - 1;
        let mut s = slot(id, self.index_bits);
        // At most half the slots are taken, so a free one ends every probe sequence.
        loop {
            let i = *self.index.get(s)?;
            if i == EMPTY {
                return None;
            }
            if self.ids.get(i as usize)? == id {
                return Some(i as usize);
            }
            s = (s + 1) & mask;
        }
    }

    fn get(&self, id: &SeriesId) -> Option<SeriesModel<'_>> {
        let i = self.find(id)?;
        let fit = self.fits.get(i)?;
        let raw_end = fit.start + fit.raw_runs as usize;
        let tail_end = raw_end + fit.tail_runs as usize;
        Some(SeriesModel {
            fit,
            raw: Ranked {
                vals: self.vals.get(fit.start..raw_end)?,
                cum: self.cum.get(fit.start..raw_end)?,
            },
            tail: Ranked {
                vals: self.vals.get(raw_end..tail_end)?,
                cum: self.cum.get(raw_end..tail_end)?,
            },
        })
    }

    /// Appends `sorted` (ascending by total order) as runs of bit-equal values;
    /// returns the number of runs. Counts saturate at `u32::MAX` values per series.
    fn push_runs(&mut self, sorted: &[f64]) -> u32 {
        let mut runs = 0u32;
        let mut count = 0u32;
        let mut prev: Option<u64> = None;
        for &v in sorted {
            count = count.saturating_add(1);
            if prev == Some(v.to_bits()) {
                if let Some(c) = self.cum.last_mut() {
                    *c = count;
                }
            } else {
                self.vals.push(v);
                self.cum.push(count);
                runs = runs.saturating_add(1);
                prev = Some(v.to_bits());
            }
        }
        runs
    }

    /// Fits one series from its pooled values (any order; sorted here) and appends
    /// it; nothing is added for an empty series.
    fn push_series(
        &mut self,
        id: SeriesId,
        days: u16,
        raw_sorted: &mut [f64],
        parent_fit: Option<RobustScale>,
        scratch: &mut Vec<f64>,
    ) {
        let metric = id.metric;
        raw_sorted.sort_by(f64::total_cmp);
        let tr = metric.transform();
        let Some(raw) = RobustScale::from_sorted(raw_sorted, metric.resolution()) else {
            return;
        };
        // Monotone transforms keep the order.
        scratch.clear();
        scratch.extend(raw_sorted.iter().map(|&x| tr.apply(x)));
        let Some(trans) = RobustScale::from_sorted(scratch, tr.floor()) else {
            return;
        };
        let tail_fit = if zero_inflated(metric) {
            let first_active = scratch.partition_point(|&y| y <= 0.0);
            let active = &scratch[first_active..];
            if active.len() >= MIN_ACTIVE {
                RobustScale::from_sorted(active, tr.floor())
            } else {
                parent_fit
            }
        } else {
            Some(trans)
        };
        let start = self.vals.len();
        let raw_runs = self.push_runs(raw_sorted);
        let tail_runs = match metric.tail() {
            // Ranks are taken on the raw values (the transform is monotone).
            Tail::Upper => 0,
            Tail::TwoSided => {
                for y in scratch.iter_mut() {
                    *y = (*y - trans.median).abs();
                }
                scratch.sort_by(f64::total_cmp);
                self.push_runs(scratch)
            }
        };
        self.ids.push(id);
        self.fits.push(Fit {
            start,
            raw_runs,
            tail_runs,
            days,
            metric,
            raw,
            trans_median: trans.median,
            tail_fit: tail_fit.map(TailFit::from),
        });
    }

    /// Fits every series of `days` on this thread (see [`Models::fit_with`]).
    fn fit(days: &[(TradingDay, PackedDay)]) -> Self {
        Self::fit_with(days, 1)
    }

    /// Fits every series of `days`: the days' series are merged in ascending order,
    /// one parent group (the series of one key over all time buckets, which are
    /// contiguous in that order) at a time. A group's fits depend on its own values
    /// only, so with `threads > 1` this thread merges the days and hands batches of
    /// whole groups to `threads` workers (a bounded queue, so only a few batches are
    /// held beside the models), and the workers' models are joined in batch order:
    /// the result is the same, field for field, whatever the number of threads.
    fn fit_with(days: &[(TradingDay, PackedDay)], threads: usize) -> Self {
        Self::fit_batched(days, threads, FIT_BATCH_VALUES)
    }

    /// [`Models::fit_with`] with `batch_values` values per worker batch.
    fn fit_batched(days: &[(TradingDay, PackedDay)], threads: usize, batch_values: usize) -> Self {
        let mut groups = Groups::new(days);
        let mut models = if threads <= 1 {
            // One group at a time, so only one group's values are held beside the models.
            let mut models = Self::default();
            let mut scratch = Vec::new();
            let mut batch = Batch::default();
            while groups.next_batch(&mut batch, 0) {
                batch.fit_into(&mut models, &mut scratch);
            }
            models
        } else {
            Self::fit_parallel(&mut groups, threads, batch_values)
        };
        models.ids.shrink_to_fit();
        models.fits.shrink_to_fit();
        models.vals.shrink_to_fit();
        models.cum.shrink_to_fit();
        models.build_index();
        models
    }

    fn fit_parallel(groups: &mut Groups<'_>, threads: usize, batch_values: usize) -> Self {
        use std::sync::{mpsc, Mutex};
        let (job_tx, job_rx) = mpsc::sync_channel::<(usize, Batch)>(threads);
        let job_rx = Mutex::new(job_rx);
        let (done_tx, done_rx) = mpsc::channel::<(usize, Models)>();
        let mut models = Self::default();
        // Parts that arrived before an earlier one, by batch index; each part is
        // appended (and freed) as soon as every earlier one is.
        let mut pending: BTreeMap<usize, Models> = BTreeMap::new();
        let mut next = 0usize;
        let mut join = |models: &mut Self, (index, part): (usize, Models)| {
            pending.insert(index, part);
            while let Some(part) = pending.remove(&next) {
                models.append(part);
                next += 1;
            }
        };
        std::thread::scope(|scope| {
            for _ in 0..threads {
                let done_tx = done_tx.clone();
                let job_rx = &job_rx;
                scope.spawn(move || {
                    let mut scratch = Vec::new();
                    loop {
                        // A poisoned lock means another worker panicked, which the scope
                        // re-raises when it ends: stop.
                        let job = match job_rx.lock() {
                            Ok(rx) => rx.recv(),
                            Err(_) => return,
                        };
                        let Ok((index, mut batch)) = job else { return };
                        let mut part = Models::default();
                        batch.fit_into(&mut part, &mut scratch);
                        if done_tx.send((index, part)).is_err() {
                            return;
                        }
                    }
                });
            }
            drop(done_tx);
            let mut sent = 0usize;
            loop {
                let mut batch = Batch::default();
                if !groups.next_batch(&mut batch, batch_values)
                    || job_tx.send((sent, batch)).is_err()
                {
                    break;
                }
                sent += 1;
                while let Ok(done) = done_rx.try_recv() {
                    join(&mut models, done);
                }
            }
            drop(job_tx);
            // Every worker ends once the queue is empty and closed.
            for done in done_rx.iter() {
                join(&mut models, done);
            }
        });
        models
    }

    /// Appends the series of `part` (whose ids all follow this one's).
    fn append(&mut self, part: Models) {
        let offset = self.vals.len();
        self.ids.extend(part.ids);
        self.fits.extend(part.fits.into_iter().map(|mut f| {
            f.start += offset;
            f
        }));
        self.vals.extend(part.vals);
        self.cum.extend(part.cum);
    }
}

/// Values per batch of groups handed to a fitting worker: large enough that the queue
/// is not the cost, small enough that a few batches in flight stay a few MiB.
const FIT_BATCH_VALUES: usize = 1 << 16;

/// The days' series merged in ascending order and cut into parent groups.
struct Groups<'a> {
    cursors: Vec<Cursor<'a>>,
}

impl<'a> Groups<'a> {
    fn new(days: &'a [(TradingDay, PackedDay)]) -> Self {
        Self {
            cursors: days.iter().map(|(_, d)| d.cursor()).collect(),
        }
    }

    /// Reads the next whole groups into the (empty) `batch`: one group, and more while
    /// the batch holds fewer than `min_values` values; `false` when every day is read.
    fn next_batch(&mut self, batch: &mut Batch, min_values: usize) -> bool {
        let mut parent = None;
        while let Some(id) = self
            .cursors
            .iter()
            .filter_map(|c| c.head().map(|h| h.0))
            .min()
        {
            let scope = parent_of(&id).scope;
            if parent != Some(scope) {
                // A new group starts: stop here when the batch is full enough.
                if parent.is_some() && batch.vals.len() >= min_values {
                    break;
                }
                parent = Some(scope);
                batch.group_starts.push(batch.series.len());
            }
            let start = batch.vals.len();
            let mut n_days = 0u16;
            for c in &mut self.cursors {
                if c.head().is_some_and(|h| h.0 == id) {
                    c.take(&mut batch.vals);
                    n_days = n_days.saturating_add(1);
                }
            }
            batch.series.push((id, n_days, start));
        }
        !batch.series.is_empty()
    }
}

/// The pooled values of whole parent groups, ready to be fitted.
#[derive(Debug, Default)]
struct Batch {
    /// `(series, days with data, start of its values in vals)`, ascending.
    series: Vec<(SeriesId, u16, usize)>,
    /// Index in `series` of the first series of each group.
    group_starts: Vec<usize>,
    vals: Vec<f64>,
}

impl Batch {
    /// Fits the batch's series, group by group, appends them to `models` and empties
    /// the batch.
    fn fit_into(&mut self, models: &mut Models, scratch: &mut Vec<f64>) {
        let ends: Vec<usize> = self
            .series
            .iter()
            .skip(1)
            .map(|s| s.2)
            .chain(std::iter::once(self.vals.len()))
            .collect();
        let bounds: Vec<usize> = self
            .group_starts
            .iter()
            .copied()
            .chain(std::iter::once(self.series.len()))
            .collect();
        for w in bounds.windows(2) {
            let (lo, hi) = (w[0], w[1]);
            let series = &self.series[lo..hi];
            let ends = &ends[lo..hi];
            // The parent fits, one per zero-inflated metric: every active value of the
            // key over all time buckets, on the transformed axis.
            let mut parent_fits: BTreeMap<Metric, RobustScale> = BTreeMap::new();
            for metric in Metric::ALL.into_iter().filter(|&m| zero_inflated(m)) {
                let tr = metric.transform();
                scratch.clear();
                for (&(id, _, start), &end) in series.iter().zip(ends) {
                    if id.metric == metric {
                        scratch.extend(
                            self.vals[start..end]
                                .iter()
                                .filter(|&&x| x > 0.0)
                                .map(|&x| tr.apply(x)),
                        );
                    }
                }
                if scratch.len() >= MIN_ACTIVE {
                    scratch.sort_by(f64::total_cmp);
                    if let Some(f) = RobustScale::from_sorted(scratch, tr.floor()) {
                        parent_fits.insert(metric, f);
                    }
                }
            }
            for (&(id, days, start), &end) in series.iter().zip(ends) {
                let parent = parent_fits.get(&id.metric).copied();
                models.push_series(id, days, &mut self.vals[start..end], parent, scratch);
            }
        }
        self.series.clear();
        self.group_starts.clear();
        self.vals.clear();
    }
}

/// The fitted model of one series over the days held (a view into the baseline's
/// models).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SeriesModel<'a> {
    fit: &'a Fit,
    raw: Ranked<'a>,
    /// Two-sided metrics: |transformed − median| ascending; empty for upper-tail
    /// metrics (ranked on the raw values).
    tail: Ranked<'a>,
}

impl SeriesModel<'_> {
    /// Days with at least one value in this series.
    #[must_use]
    pub fn days(&self) -> u16 {
        self.fit.days
    }

    /// Values pooled over those days.
    #[must_use]
    pub fn samples(&self) -> usize {
        self.raw.len()
    }

    /// Median and scale on the raw axis.
    #[must_use]
    pub fn robust_scale(&self) -> RobustScale {
        self.fit.raw
    }

    /// Quantile of the pooled raw values (Hyndman–Fan type 7); `None` outside `[0, 1]`.
    #[must_use]
    pub fn quantile(&self, p: f64) -> Option<f64> {
        self.raw.quantile(p)
    }

    /// Robust z-score on the raw axis: `0.6745·(x − median)/MAD`, with the fallback
    /// chain of [`RobustScale`] when the MAD is zero.
    #[must_use]
    pub fn robust_z(&self, x: f64) -> f64 {
        self.fit.raw.z(x)
    }

    /// p-value of `x` under this series (see the crate docs, "Scoring").
    #[must_use]
    pub fn p_value(&self, x: f64, max_tail_df: u16) -> f64 {
        let fit = self.fit;
        let tr = fit.metric.transform();
        let y = tr.apply(x);
        // Upper tail: ranks and the largest value on the raw axis (the transform is
        // monotone). Two-sided: on the absolute deviations of the transformed values.
        let (ranked, stat, largest) = match fit.metric.tail() {
            Tail::Upper => (self.raw, x, self.raw.last().map_or(y, |v| tr.apply(v))),
            Tail::TwoSided => {
                let stat = (y - fit.trans_median).abs();
                (self.tail, stat, self.tail.last().unwrap_or(stat))
            }
        };
        let n = ranked.len();
        let at_or_above = n - ranked.count_below(stat);
        let n1 = (n + 1) as f64;
        if at_or_above > 0 {
            return ((at_or_above + 1) as f64 / n1).min(1.0);
        }
        // Beyond everything seen: the Student-t tail, anchored at the largest value.
        let Some(tail) = fit.tail_fit else {
            return 1.0 / n1;
        };
        let df = f64::from(fit.days.saturating_sub(1).clamp(1, max_tail_df.max(1)));
        let widen = (1.0 + 1.0 / f64::from(fit.days.max(1))).sqrt();
        let s = tail.sigma * widen;
        let (t, t_max) = match fit.metric.tail() {
            Tail::Upper => ((y - tail.median) / s, (largest - tail.median) / s),
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
///
/// Memory: each day is packed into one byte string (series keys written once per
/// scope, whole-number values in one or two bytes; see `packed.rs`), and the models,
/// fitted on first use (or ahead of it on several threads: [`Baseline::fit_models`]),
/// live in flat arrays (series ids ascending, their figures, and
/// each series' sorted values as runs of equal values). Nothing is allocated per
/// series. Two baselines are equal when their configurations and days are (values
/// compared bit for bit).
#[derive(Debug, Clone)]
pub struct Baseline {
    config: BaselineConfig,
    days: Vec<(TradingDay, PackedDay)>,
    models: OnceLock<Models>,
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
    pub fn push_day(&mut self, day: TradingDay, obs: DayObservations) -> Result<()> {
        if self.days.binary_search_by(|(d, _)| d.cmp(&day)).is_ok() {
            return Err(Error::DuplicateDay { day });
        }
        let mut packed = PackedDay::new();
        for (id, vals) in obs.series {
            if self.config.per_strike || matches!(id.scope, Scope::Bucket(_)) {
                // A BTreeMap iterates in ascending order, as packing needs.
                packed.push_series(&id, vals);
            }
        }
        packed.shrink_to_fit();
        self.push_packed(day, packed)
    }

    /// Adds a packed day (its series already filtered by `per_strike`).
    fn push_packed(&mut self, day: TradingDay, obs: PackedDay) -> Result<()> {
        let pos = match self.days.binary_search_by(|(d, _)| d.cmp(&day)) {
            Ok(_) => return Err(Error::DuplicateDay { day }),
            Err(p) => p,
        };
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
            self.push_packed(*day, obs.clone())?;
        }
        Ok(())
    }

    pub(crate) fn raw_days(&self) -> &[(TradingDay, PackedDay)] {
        &self.days
    }

    /// A baseline of `days` (sorted, distinct, at most `max_days`).
    pub(crate) fn from_parts(config: BaselineConfig, days: Vec<(TradingDay, PackedDay)>) -> Self {
        Self {
            config,
            days,
            models: OnceLock::new(),
        }
    }

    fn models(&self) -> &Models {
        self.models.get_or_init(|| Models::fit(&self.days))
    }

    /// Fits the models now, with up to `threads` threads (`0`: as many as the machine
    /// has cores), unless they are fitted already; returns the number of series with
    /// data. Without it the models are fitted on one thread at the first lookup. The
    /// models are the same whatever the number of threads: each series is fitted from
    /// its own values and those of its parent key, and the workers' parts are joined
    /// in series order.
    pub fn fit_models(&self, threads: usize) -> usize {
        let threads = if threads == 0 {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        } else {
            threads
        };
        self.models
            .get_or_init(|| Models::fit_with(&self.days, threads))
            .ids
            .len()
    }

    /// The fitted model of a series, if it has any data.
    #[must_use]
    pub fn series(&self, id: &SeriesId) -> Option<SeriesModel<'_>> {
        self.models().get(id)
    }

    /// Number of series with data.
    #[must_use]
    pub fn series_count(&self) -> usize {
        self.models().ids.len()
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
                    .filter(|m| m.days() >= min)
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
        let Some(model) = model.filter(|m| m.days() >= min) else {
            let days = model.map_or(0, |m| m.days());
            return (Outcome::Insufficient { days }, None);
        };
        let p = model.p_value(obs.value, self.config.max_tail_df);
        let scored = Scored {
            against,
            days: model.days(),
            samples: u32::try_from(model.samples()).unwrap_or(u32::MAX),
            median: model.fit.raw.median,
            robust_z: model.robust_z(obs.value),
            scale_method: model.fit.raw.method,
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

    use proptest::prelude::*;

    proptest! {
        /// The runs answer ranks, order statistics and quantiles exactly as the
        /// expanded sorted sample does.
        #[test]
        fn runs_rank_and_quantile_as_the_expanded_sample(
            mut xs in prop::collection::vec(
                prop_oneof![(0u8..6).prop_map(f64::from), -1e6f64..1e6, Just(-0.0)],
                1..80,
            ),
            probe in prop_oneof![(0u8..7).prop_map(f64::from), -1e6f64..1e6],
            p in 0.0f64..=1.0,
        ) {
            xs.sort_by(f64::total_cmp);
            let mut m = Models::default();
            let runs = m.push_runs(&xs);
            prop_assert_eq!(runs as usize, m.vals.len());
            let r = Ranked { vals: &m.vals, cum: &m.cum };
            prop_assert_eq!(r.len(), xs.len());
            prop_assert_eq!(r.count_below(probe), xs.partition_point(|&v| v < probe));
            for (i, x) in xs.iter().enumerate() {
                prop_assert_eq!(r.get(i).map(f64::to_bits), Some(x.to_bits()));
            }
            prop_assert_eq!(r.get(xs.len()), None);
            prop_assert_eq!(r.last().map(f64::to_bits), xs.last().map(|x| x.to_bits()));
            prop_assert_eq!(
                r.quantile(p).map(f64::to_bits),
                crate::stats::quantile_sorted(&xs, p).map(f64::to_bits)
            );
        }
    }

    fn assert_same_models(a: &Models, b: &Models) {
        assert_eq!(a.ids, b.ids);
        assert_eq!(a.fits, b.fits);
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&a.vals), bits(&b.vals));
        assert_eq!(a.cum, b.cum);
        assert_eq!(a.index, b.index);
        assert_eq!(a.index_bits, b.index_bits);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        /// Fitting in parallel, in batches of any size, gives the models of the
        /// sequential fit field for field.
        #[test]
        fn parallel_fit_equals_the_sequential_fit(
            seed in any::<u64>(),
            n_days in 1u32..5,
            threads in 2usize..5,
            batch_values in 1usize..400,
        ) {
            let mut b = Baseline::new(BaselineConfig::default()).expect("config");
            let mut x = seed | 1;
            let mut next = move || {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x
            };
            for i in 0..n_days {
                let mut d = DayObservations::new();
                for _ in 0..(200 + next() % 400) {
                    let steps = (next() % 13) as i64 - 6;
                    let metric = Metric::ALL[(next() % Metric::ALL.len() as u64) as usize];
                    let raw = (next() % 50) as f64;
                    let value = if metric == Metric::SignedImbalance {
                        raw / 50.0 - 0.5
                    } else if next() % 3 == 0 {
                        0.0
                    } else {
                        raw
                    };
                    let o = Observation {
                        key: BaselineKey {
                            moneyness: MoneynessBucket::from_steps(steps),
                            right: if next() % 2 == 0 { Right::Call } else { Right::Put },
                            ..key((next() % 30) as u16)
                        },
                        strike: Some(20_000_000_000_000 + steps * 25_000_000_000),
                        metric,
                        value,
                    };
                    d.add(o).expect("valid");
                }
                b.push_day(day(i), d).expect("push");
            }
            let sequential = Models::fit(b.raw_days());
            prop_assert!(!sequential.ids.is_empty());
            let parallel = Models::fit_batched(b.raw_days(), threads, batch_values);
            assert_same_models(&sequential, &parallel);
            prop_assert_eq!(b.fit_models(threads), sequential.ids.len());
        }
    }

    #[test]
    fn index_finds_every_series_and_only_those() {
        let mut b = Baseline::new(BaselineConfig::default()).expect("config");
        for i in 0..3u32 {
            let mut d = DayObservations::new();
            for tb in 0..40u16 {
                for steps in -6..=6i64 {
                    let metric = Metric::ALL[(tb as usize + i as usize) % Metric::ALL.len()];
                    let o = Observation {
                        key: BaselineKey {
                            moneyness: MoneynessBucket::from_steps(steps),
                            ..key(tb)
                        },
                        strike: Some(20_000_000_000_000 + steps * 25_000_000_000),
                        metric,
                        value: if metric == Metric::SignedImbalance {
                            0.5
                        } else {
                            f64::from(tb)
                        },
                    };
                    d.add(o).expect("valid");
                }
            }
            b.push_day(day(i), d).expect("push");
        }
        let m = b.models();
        assert!(m.ids.len() > 1000);
        assert!(m.index.len() >= 2 * m.ids.len());
        for (i, id) in m.ids.iter().enumerate() {
            assert_eq!(m.find(id), Some(i));
        }
        let absent = SeriesId {
            scope: Scope::Bucket(key(41)),
            metric: Metric::BuyVolume,
        };
        assert_eq!(m.find(&absent), None);
        assert!(b.series(&absent).is_none());
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
