//! From ifd-pressure's windows to observations, and a baseline built from records.
//!
//! [`WindowAdapter`] turns per-instrument [`PressureWindow`]s into [`Observation`]s:
//! it looks the instrument up in the [`Chain`], buckets its strike against the
//! market's underlying price, classifies the expiry against the window's trading day
//! and places the window start in its session time bucket.
//!
//! [`BaselineBuilder`] runs records through ifd-pressure's [`MarketState`] (the one
//! composition of chain, L3 books, aggressor folding, underlying and pressure that the
//! engine runs too) with per-instrument tumbling windows ([`pressure_config`]), feeds
//! the closed windows to a [`WindowAdapter`] and pushes each finished trading day into
//! a [`Baseline`]. Give it the records of N session days in order and it yields the
//! baseline of the last `max_days` of them; give it an existing baseline and one more
//! day for the end-of-day update (the oldest day drops out).

use std::collections::BTreeMap;

use dbn::{MboMsg, RecordRef};
use ifd_pressure::{
    AggressorStats, Chain, GroupKey, Groupings, MarketConfig, MarketState, MetricKind, OptionKind,
    PressureConfig, PressureWindow, Step, WindowSpec, NS_PER_SEC,
};
use serde::{Deserialize, Serialize};

use crate::baseline::{Baseline, BaselineConfig, DayObservations, Observation};
use crate::error::{Error, Result};
use crate::key::{BaselineKey, ExpiryClass, MoneynessBucket, Right, SessionTime, TradingDay};
use crate::metric::Metric;

/// Counters of windows and values the adapter could not use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdapterStats {
    /// Windows turned into observations.
    pub windows: u64,
    /// Observations produced.
    pub observations: u64,
    /// Windows of a group other than one instrument (ignored).
    pub not_instrument: u64,
    /// Instrument windows with no option contract in the chain.
    pub no_contract: u64,
    /// Option windows before any underlying price was known.
    pub no_underlying_price: u64,
    /// Options whose strike step could not be found (a single listed strike).
    pub no_strike_step: u64,
    /// Windows whose timestamp chrono cannot place.
    pub bad_time: u64,
    /// Metric values outside their domain (for example an overflowed premium).
    pub rejected_values: u64,
    /// Imbalances left out because the window had no classified volume.
    pub no_imbalance: u64,
}

impl AdapterStats {
    /// The field-wise sum of two counters (saturating).
    #[must_use]
    pub const fn plus(&self, o: &Self) -> Self {
        Self {
            windows: self.windows.saturating_add(o.windows),
            observations: self.observations.saturating_add(o.observations),
            not_instrument: self.not_instrument.saturating_add(o.not_instrument),
            no_contract: self.no_contract.saturating_add(o.no_contract),
            no_underlying_price: self
                .no_underlying_price
                .saturating_add(o.no_underlying_price),
            no_strike_step: self.no_strike_step.saturating_add(o.no_strike_step),
            bad_time: self.bad_time.saturating_add(o.bad_time),
            rejected_values: self.rejected_values.saturating_add(o.rejected_values),
            no_imbalance: self.no_imbalance.saturating_add(o.no_imbalance),
        }
    }

    /// Windows dropped for any reason (not turned into observations).
    #[must_use]
    pub const fn dropped(&self) -> u64 {
        self.not_instrument
            + self.no_contract
            + self.no_underlying_price
            + self.no_strike_step
            + self.bad_time
    }
}

/// Converts per-instrument pressure windows into baseline observations.
#[derive(Debug, Clone)]
pub struct WindowAdapter {
    bucket_minutes: u16,
    strike_step: Option<i64>,
    steps: BTreeMap<u64, Option<i64>>,
    stats: AdapterStats,
}

const METRICS: [(Metric, MetricKind); 7] = [
    (Metric::BuyVolume, MetricKind::BuyVolume),
    (Metric::SellVolume, MetricKind::SellVolume),
    (Metric::BuyPremium, MetricKind::BuyPremium),
    (Metric::SellPremium, MetricKind::SellPremium),
    (Metric::LargestPrint, MetricKind::LargestPrint),
    (Metric::TradeCount, MetricKind::TradeCount),
    (Metric::OrderFlowImbalance, MetricKind::Ofi),
];

impl WindowAdapter {
    /// An adapter with `bucket_minutes`-long time buckets. `strike_step` (dbn fixed
    /// point) fixes the moneyness unit; `None` infers it per expiry as the smallest gap
    /// between listed strikes.
    #[must_use]
    pub fn new(bucket_minutes: u16, strike_step: Option<i64>) -> Self {
        Self {
            bucket_minutes,
            strike_step: strike_step.filter(|&s| s > 0),
            steps: BTreeMap::new(),
            stats: AdapterStats::default(),
        }
    }

    /// Counters so far.
    #[must_use]
    pub fn stats(&self) -> &AdapterStats {
        &self.stats
    }

    /// Forgets cached strike steps (call when the chain is rebuilt).
    pub fn clear_strike_steps(&mut self) {
        self.steps.clear();
    }

    fn step_for(&mut self, chain: &Chain, expiration: u64) -> Option<i64> {
        if let Some(s) = self.strike_step {
            return Some(s);
        }
        *self.steps.entry(expiration).or_insert_with(|| {
            chain
                .strikes(expiration)
                .windows(2)
                .filter_map(|w| w[1].checked_sub(w[0]))
                .filter(|&d| d > 0)
                .min()
        })
    }

    /// Appends the observations of one window of `market` to `out` and returns its
    /// trading day; `None` (counted in [`stats`](Self::stats)) when the window cannot be
    /// keyed. The contract comes from the market's chain and the moneyness from its
    /// underlying price as the window closes.
    pub fn observations(
        &mut self,
        window: &PressureWindow,
        market: &MarketState,
        out: &mut Vec<Observation>,
    ) -> Option<TradingDay> {
        let chain = market.chain();
        let GroupKey::Instrument(id) = window.key else {
            self.stats.not_instrument += 1;
            return None;
        };
        let Some(contract) = chain.get(id) else {
            self.stats.no_contract += 1;
            return None;
        };
        let (kind, strike, expiration) = (contract.kind, contract.strike, contract.expiration);
        // The price as the window closed: its age is measured at the window's end.
        let Some(under) = market
            .underlying_for_at(contract, window.end_ns)
            .map(|u| u.price)
        else {
            self.stats.no_underlying_price += 1;
            return None;
        };
        let (Some(at), Some(exp)) = (
            SessionTime::from_unix_nanos(window.start_ns),
            SessionTime::from_unix_nanos(expiration),
        ) else {
            self.stats.bad_time += 1;
            return None;
        };
        let right = match kind {
            OptionKind::Call => Right::Call,
            OptionKind::Put => Right::Put,
        };
        let Some(moneyness) = self
            .step_for(chain, expiration)
            .and_then(|step| MoneynessBucket::from_prices(right, strike, under, step))
        else {
            self.stats.no_strike_step += 1;
            return None;
        };
        let key = BaselineKey {
            right,
            expiry_class: ExpiryClass::classify(exp.trading_day, at.trading_day),
            moneyness,
            time_bucket: at.bucket(self.bucket_minutes),
        };
        let m = &window.metrics;
        let mut push = |metric: Metric, value: f64, stats: &mut AdapterStats| {
            if metric.accepts(value) {
                out.push(Observation {
                    key,
                    strike: Some(strike),
                    metric,
                    value,
                });
                stats.observations += 1;
            } else {
                stats.rejected_values += 1;
            }
        };
        for (metric, kind) in METRICS {
            push(metric, m.get_lossy(kind), &mut self.stats);
        }
        match m.imbalance() {
            Some(x) => push(Metric::SignedImbalance, x, &mut self.stats),
            None => self.stats.no_imbalance += 1,
        }
        self.stats.windows += 1;
        Some(at.trading_day)
    }
}

/// One observation of one closed window, with where it came from.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct WindowObservation {
    /// Trading day of the window.
    pub trading_day: TradingDay,
    /// Window start, ns since the UNIX epoch (`ts_recv` clock).
    pub window_start_ns: u64,
    /// The option's instrument id.
    pub instrument_id: u32,
    /// The observation.
    pub observation: Observation,
}

/// Settings of a [`BaselineBuilder`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuilderConfig {
    /// The baseline's settings.
    pub baseline: BaselineConfig,
    /// Length of the tumbling pressure window scored, ns; 5 minutes by default. It must
    /// divide the time bucket. A new baseline records it
    /// ([`BaselineConfig::window_ns`]).
    pub window_ns: u64,
    /// Strike step for moneyness, dbn fixed point; `None` infers it per expiry.
    pub strike_step: Option<i64>,
}

impl Default for BuilderConfig {
    fn default() -> Self {
        Self {
            baseline: BaselineConfig::default(),
            window_ns: 300 * NS_PER_SEC,
            strike_step: None,
        }
    }
}

/// Counters of a [`BaselineBuilder`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuilderStats {
    /// Records seen.
    pub records: u64,
    /// Definition records applied to the chain.
    pub definitions: u64,
    /// MBO records applied to the books.
    pub mbo: u64,
    /// Records of other types (ignored).
    pub other: u64,
    /// Records whose body was shorter than their type (skipped).
    pub malformed: u64,
    /// Trading days pushed into the baseline.
    pub days_pushed: u64,
    /// Observations of a trading day already pushed (dropped).
    pub late_observations: u64,
    /// Observations the day refused (values are checked by the adapter first, so this
    /// stays 0 unless the two disagree).
    pub rejected_observations: u64,
}

/// The pressure configuration a baseline is built on and an engine scores with:
/// per-instrument tumbling windows of `window_ns`.
#[must_use]
pub fn pressure_config(window_ns: u64) -> PressureConfig {
    PressureConfig {
        windows: vec![WindowSpec::tumbling(window_ns)],
        groupings: Groupings::instrument_only(),
        ..PressureConfig::default()
    }
}

/// The record pipeline of the builder: ifd-pressure's [`MarketState`] (chain, L3
/// books, aggressor folding, underlying and per-instrument tumbling pressure windows of
/// [`pressure_config`]), its closed windows turned into observations. Useful on its own
/// live: the observations of the current window are what [`Baseline::score_window`]
/// takes.
#[derive(Debug)]
pub struct PressureFeed {
    market: MarketState,
    adapter: WindowAdapter,
    windows: Vec<PressureWindow>,
    keep_windows: bool,
    buf: Vec<Observation>,
}

impl PressureFeed {
    /// A feed emitting tumbling per-instrument windows of `window_ns`.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when `window_ns` is zero or does not divide the time
    /// bucket of `bucket_minutes`.
    pub fn new(window_ns: u64, bucket_minutes: u16, strike_step: Option<i64>) -> Result<Self> {
        Self::with_chain(window_ns, bucket_minutes, strike_step, Chain::new())
    }

    /// [`PressureFeed::new`] starting from a known chain (definitions read earlier).
    ///
    /// # Errors
    /// As [`PressureFeed::new`].
    pub fn with_chain(
        window_ns: u64,
        bucket_minutes: u16,
        strike_step: Option<i64>,
        chain: Chain,
    ) -> Result<Self> {
        let bucket_ns = u64::from(bucket_minutes) * 60 * NS_PER_SEC;
        if window_ns == 0 || bucket_ns % window_ns != 0 {
            return Err(Error::InvalidConfig {
                reason: "window_ns must be positive and divide the time bucket",
            });
        }
        let config = MarketConfig {
            pressure: Some(pressure_config(window_ns)),
            ..MarketConfig::default()
        };
        let market = MarketState::with_chain(config, chain).map_err(|_| Error::InvalidConfig {
            reason: "pressure tracker rejected the window",
        })?;
        Ok(Self {
            market,
            adapter: WindowAdapter::new(bucket_minutes, strike_step),
            windows: Vec::new(),
            keep_windows: false,
            buf: Vec::new(),
        })
    }

    /// The composition the feed runs (chain, books, underlying, pressure).
    #[must_use]
    pub fn market(&self) -> &MarketState {
        &self.market
    }

    /// The options chain built so far.
    #[must_use]
    pub fn chain(&self) -> &Chain {
        self.market.chain()
    }

    /// Adapter counters: windows turned into observations and windows dropped, by
    /// reason.
    #[must_use]
    pub fn adapter_stats(&self) -> &AdapterStats {
        self.adapter.stats()
    }

    /// Aggressor counters.
    #[must_use]
    pub fn aggressor_stats(&self) -> &AggressorStats {
        self.market.aggressor_stats()
    }

    /// Record counters.
    #[must_use]
    pub fn stats(&self) -> BuilderStats {
        let m = self.market.stats();
        BuilderStats {
            records: m.records,
            definitions: m.definitions,
            mbo: m.mbo_records,
            other: m.records - m.definitions - m.mbo_records - m.malformed,
            malformed: m.malformed,
            ..BuilderStats::default()
        }
    }

    /// Applies one record; closed windows become observations, appended to `out` with
    /// their trading day. A record too short for its type is counted in
    /// [`BuilderStats::malformed`] and skipped.
    pub fn on_record(&mut self, rec: &RecordRef<'_>, out: &mut Vec<WindowObservation>) {
        if let Ok(Step::Definition(_)) = self.market.on_record(rec) {
            self.adapter.clear_strike_steps();
        }
        self.drain(out);
    }

    /// Applies one MBO record (see [`on_record`](Self::on_record)).
    pub fn on_mbo(&mut self, msg: &MboMsg, out: &mut Vec<WindowObservation>) {
        self.market.on_mbo(msg);
        self.drain(out);
    }

    /// Ends the data: closes the open windows and appends their observations.
    pub fn flush(&mut self, out: &mut Vec<WindowObservation>) {
        self.market.end_session();
        self.drain(out);
    }

    /// Keeps every closed window for [`drain_learned_windows`](Self::drain_learned_windows)
    /// (off by default: a long history would hold them all).
    pub fn keep_windows(&mut self, keep: bool) {
        self.keep_windows = keep;
    }

    /// The closed windows the feed learned from since the last call (each window once,
    /// in closing order); the observations were made from exactly these.
    pub fn drain_learned_windows(&mut self) -> std::vec::Drain<'_, PressureWindow> {
        self.windows.drain(..)
    }

    fn drain(&mut self, out: &mut Vec<WindowObservation>) {
        if self.market.closed_windows().is_empty() {
            return;
        }
        let start = self.windows.len();
        self.windows.extend(self.market.drain_windows());
        for w in &self.windows[start..] {
            self.buf.clear();
            if let Some(trading_day) = self.adapter.observations(w, &self.market, &mut self.buf) {
                let instrument_id = match w.key {
                    GroupKey::Instrument(id) => id,
                    _ => 0,
                };
                out.extend(self.buf.iter().map(|o| WindowObservation {
                    trading_day,
                    window_start_ns: w.start_ns,
                    instrument_id,
                    observation: *o,
                }));
            }
        }
        if !self.keep_windows {
            self.windows.clear();
        }
    }
}

impl BuilderStats {
    /// The field-wise sum of two counters (saturating).
    #[must_use]
    pub const fn plus(&self, o: &Self) -> Self {
        Self {
            records: self.records.saturating_add(o.records),
            definitions: self.definitions.saturating_add(o.definitions),
            mbo: self.mbo.saturating_add(o.mbo),
            other: self.other.saturating_add(o.other),
            malformed: self.malformed.saturating_add(o.malformed),
            days_pushed: self.days_pushed.saturating_add(o.days_pushed),
            late_observations: self.late_observations.saturating_add(o.late_observations),
            rejected_observations: self
                .rejected_observations
                .saturating_add(o.rejected_observations),
        }
    }
}

/// Builds a [`Baseline`] from the records of consecutive session days.
#[derive(Debug)]
pub struct BaselineBuilder {
    baseline: Baseline,
    feed: PressureFeed,
    config: BuilderConfig,
    /// Counters of the sessions ended so far (the feed restarts with each).
    past: BuilderStats,
    past_adapter: AdapterStats,
    sessions: u64,
    /// The chain every new session starts from: the definitions of the sessions that
    /// had no MBO records (definition files), see [`BaselineBuilder::end_session`].
    base_chain: Chain,
    /// Bumped each time `base_chain` changes (parallel learning checks it).
    base_version: u64,
    day: Option<(TradingDay, DayObservations)>,
    buf: Vec<WindowObservation>,
    late: u64,
    rejected: u64,
    pushed: u64,
}

impl BaselineBuilder {
    /// A builder starting from an empty baseline.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when the configuration is out of range.
    pub fn new(config: BuilderConfig) -> Result<Self> {
        let baseline = BaselineConfig {
            window_ns: config.window_ns,
            ..config.baseline
        };
        Self::extend(Baseline::new(baseline)?, config)
    }

    /// A builder that adds days to an existing baseline (the end-of-day update); the
    /// baseline's own configuration (its window length included) is kept:
    /// `config.baseline` and `config.window_ns` are ignored.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when the window does not divide the time bucket.
    pub fn extend(baseline: Baseline, config: BuilderConfig) -> Result<Self> {
        let config = BuilderConfig {
            window_ns: baseline.config().window_ns,
            ..config
        };
        let feed = PressureFeed::new(
            config.window_ns,
            baseline.config().bucket_minutes,
            config.strike_step,
        )?;
        Ok(Self {
            baseline,
            feed,
            config,
            past: BuilderStats::default(),
            past_adapter: AdapterStats::default(),
            sessions: 0,
            base_chain: Chain::new(),
            base_version: 0,
            day: None,
            buf: Vec::new(),
            late: 0,
            rejected: 0,
            pushed: 0,
        })
    }

    /// Applies one record (definition or MBO; others are counted and ignored).
    ///
    /// # Errors
    /// [`Error::DuplicateDay`] when a finished day is already in the baseline.
    pub fn on_record(&mut self, rec: &RecordRef<'_>) -> Result<()> {
        let mut buf = std::mem::take(&mut self.buf);
        self.feed.on_record(rec, &mut buf);
        let r = self.absorb(&mut buf);
        self.buf = buf;
        r
    }

    /// Decodes a whole DBN stream held in memory (uncompressed DBN: one session), applies
    /// every record and ends the session ([`BaselineBuilder::end_session`]).
    ///
    /// # Errors
    /// [`Error::Decode`] when the bytes are not valid DBN (records before the error stay
    /// applied); [`Error::DuplicateDay`] as in [`on_record`](Self::on_record).
    pub fn on_dbn_bytes(&mut self, bytes: &[u8]) -> Result<()> {
        use dbn::decode::{DbnDecoder, DecodeRecordRef};
        let mut dec = DbnDecoder::new(bytes).map_err(|source| Error::Decode { source })?;
        while let Some(rec) = dec
            .decode_record_ref()
            .map_err(|source| Error::Decode { source })?
        {
            self.on_record(&rec)?;
        }
        self.end_session()
    }

    fn absorb(&mut self, buf: &mut Vec<WindowObservation>) -> Result<()> {
        self.absorb_iter(buf.drain(..).map(|w| (w.trading_day, w.observation)))
    }

    /// Adds observations in the order they were made: a day ends when an observation of
    /// a later day arrives; observations of a day already ended are counted as late.
    pub(crate) fn absorb_iter(
        &mut self,
        observations: impl IntoIterator<Item = (TradingDay, Observation)>,
    ) -> Result<()> {
        for (day, obs) in observations {
            match &mut self.day {
                Some((d, _)) if *d == day => {}
                Some((d, _)) if *d > day => {
                    self.late += 1;
                    continue;
                }
                _ => {
                    self.end_day()?;
                    if self.baseline.trading_days().any(|d| d >= day) {
                        self.late += 1;
                        continue;
                    }
                    self.day = Some((day, DayObservations::new()));
                }
            }
            if let Some((_, d)) = &mut self.day {
                if d.add(obs).is_err() {
                    self.rejected += 1;
                }
            }
        }
        Ok(())
    }

    fn end_day(&mut self) -> Result<()> {
        if let Some((day, obs)) = self.day.take() {
            self.baseline.push_day(day, obs)?;
            self.pushed += 1;
        }
        Ok(())
    }

    /// Ends one session's records (one history file): closes its open windows and
    /// starts the next session on a fresh pipeline (books, folding, underlying, windows
    /// and chain), so that each session day is learned from its own records, whatever
    /// came before it.
    ///
    /// Definitions carry over only from sessions without MBO records (a file of
    /// definitions, such as `replay --definitions`): every later session starts from
    /// the chain such sessions built. A session with MBO records starts from that chain
    /// and adds its own definitions for itself only, so history files must carry their
    /// own definitions or have them given up front. A day built this way is therefore
    /// the same whether the history is fed in one run, extended day by day or split
    /// across workers ([`BaselineBuilder::learn_sessions`]).
    /// [`BaselineBuilder::on_dbn_bytes`] calls it at the end of its bytes.
    ///
    /// # Errors
    /// [`Error::DuplicateDay`] as in [`on_record`](Self::on_record).
    pub fn end_session(&mut self) -> Result<()> {
        let mut buf = std::mem::take(&mut self.buf);
        self.feed.flush(&mut buf);
        let r = self.absorb(&mut buf);
        self.buf = buf;
        let definitions_only = (self.feed.stats().mbo == 0).then(|| self.feed.chain().clone());
        let fresh = self.session_feed(definitions_only.as_ref().unwrap_or(&self.base_chain))?;
        let old = std::mem::replace(&mut self.feed, fresh);
        self.end_session_stats(old.stats(), *old.adapter_stats(), definitions_only);
        r
    }

    /// A fresh pipeline starting from `chain`.
    fn session_feed(&self, chain: &Chain) -> Result<PressureFeed> {
        let (window_ns, bucket_minutes, strike_step) = self.feed_params();
        PressureFeed::with_chain(window_ns, bucket_minutes, strike_step, chain.clone())
    }

    /// Window length, bucket minutes and strike step of the session pipelines.
    pub(crate) fn feed_params(&self) -> (u64, u16, Option<i64>) {
        (
            self.config.window_ns,
            self.baseline.config().bucket_minutes,
            self.config.strike_step,
        )
    }

    /// Counts an ended session; the chain of a session without MBO records becomes the
    /// base chain of the sessions after it.
    pub(crate) fn end_session_stats(
        &mut self,
        stats: BuilderStats,
        adapter: AdapterStats,
        definitions_only: Option<Chain>,
    ) {
        self.past = self.past.plus(&stats);
        self.past_adapter = self.past_adapter.plus(&adapter);
        self.sessions += 1;
        if let Some(chain) = definitions_only {
            self.base_chain = chain;
            self.base_version += 1;
        }
    }

    /// The chain new sessions start from and its version.
    pub(crate) fn base_chain(&self) -> (&Chain, u64) {
        (&self.base_chain, self.base_version)
    }

    /// Sessions ended with [`BaselineBuilder::end_session`] so far.
    #[must_use]
    pub const fn sessions(&self) -> u64 {
        self.sessions
    }

    /// Adapter counters over every session so far: windows turned into observations
    /// and windows dropped, by reason.
    #[must_use]
    pub fn adapter_stats(&self) -> AdapterStats {
        self.past_adapter.plus(self.feed.adapter_stats())
    }

    /// Closes the open windows and pushes the last day; returns the baseline.
    ///
    /// # Errors
    /// [`Error::DuplicateDay`] when the last day is already in the baseline.
    pub fn finish(mut self) -> Result<Baseline> {
        let mut buf = std::mem::take(&mut self.buf);
        self.feed.flush(&mut buf);
        self.absorb(&mut buf)?;
        self.end_day()?;
        Ok(self.baseline)
    }

    /// The baseline as of the last finished day.
    #[must_use]
    pub fn baseline(&self) -> &Baseline {
        &self.baseline
    }

    /// The pipeline's counters.
    #[must_use]
    pub fn stats(&self) -> BuilderStats {
        BuilderStats {
            days_pushed: self.pushed,
            late_observations: self.late,
            rejected_observations: self.rejected,
            ..self.past.plus(&self.feed.stats())
        }
    }

    /// The feed of the current session (chain, adapter and aggressor counters).
    #[must_use]
    pub fn feed(&self) -> &PressureFeed {
        &self.feed
    }
}
