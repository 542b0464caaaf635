//! The engine: one `on_record` call composing chain, books, aggressor events, pressure,
//! baseline and the detectors.

use dbn::{InstrumentDefMsg, MboMsg, RecordRef, StatMsg};
use ifd_baseline::Baseline;
use ifd_patterns::{
    DetectorConfig, DetectorVersion, MarketView, NoReference, PatternDetector, PatternStats,
    Reference, Signal, SpreadLegDef, V1Config, V1Stats, VolumeSpikeDetector,
};
use ifd_pressure::{
    AggressorStats, Bbo, BookStats, Books, Chain, Groupings, Health, IdMap, InstrumentRole,
    MarketConfig, MarketState, MboStep, OptionContract, PressureConfig, PressureWindow, Step,
    UnderlyingPrice, WindowSpec, NS_PER_SEC,
};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::monitor::{LatencyHistogram, LatencyReport};
use crate::reference::BaselineReference;

/// A source of monotonic nanoseconds for the latency monitor.
///
/// The engine's outputs never depend on it: it only feeds [`Engine::latency`].
pub trait Clock: Send {
    /// Nanoseconds since an arbitrary fixed origin, never decreasing.
    fn now_ns(&self) -> u64;
}

/// The process's monotonic clock, read through the CPU's time-stamp counter where it is
/// invariant (calibrated against the OS monotonic clock by `quanta`; elsewhere it falls
/// back to the OS clock). A TSC read costs a few nanoseconds, an OS clock read about 25
/// here, and the latency monitor reads the clock twice per record.
#[derive(Debug, Clone)]
pub struct MonotonicClock {
    clock: quanta::Clock,
    origin: u64,
}

impl Default for MonotonicClock {
    fn default() -> Self {
        let clock = quanta::Clock::new();
        let origin = clock.raw();
        Self { clock, origin }
    }
}

impl Clock for MonotonicClock {
    #[inline]
    fn now_ns(&self) -> u64 {
        self.clock.delta_as_nanos(self.origin, self.clock.raw())
    }
}

/// Counters of everything the engine saw, skipped records included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct EngineStats {
    /// Records offered.
    pub records: u64,
    /// MBO records applied.
    pub mbo: u64,
    /// Instrument definitions applied to the chain.
    pub definitions: u64,
    /// Statistics records (open interest feeds v1).
    pub statistics: u64,
    /// System messages (heartbeats, acks, replay completed).
    pub system: u64,
    /// Error records from the gateway.
    pub gateway_errors: u64,
    /// Symbol mappings.
    pub symbol_mappings: u64,
    /// Status records.
    pub status: u64,
    /// Records of other schemas (ignored).
    pub other: u64,
    /// Records too short for their rtype (skipped, reported as an error).
    pub malformed: u64,
    /// MBO records with an unusable action byte (skipped by the folding).
    pub bad_action: u64,
    /// MBO records on instruments that are neither options nor futures of the chain.
    pub unknown_instrument: u64,
    /// Aggressor events folded.
    pub aggressor_events: u64,
    /// v3 signals raised (revisions included).
    pub signals_v3: u64,
    /// v1 signals raised.
    pub signals_v1: u64,
    /// Pressure windows dropped because the caller did not drain them.
    pub pressure_windows_dropped: u64,
    /// Gaps reported by the transport.
    pub gaps: u64,
}

/// Builds an [`Engine`].
pub struct EngineBuilder {
    detector: DetectorConfig,
    v1: Option<V1Config>,
    baseline: Option<(Baseline, u64)>,
    pressure: Option<PressureConfig>,
    clock: Option<Box<dyn Clock>>,
    max_pending_windows: usize,
}

impl std::fmt::Debug for EngineBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineBuilder")
            .field("detector", &self.detector)
            .field("v1", &self.v1)
            .field(
                "baseline",
                &self.baseline.as_ref().map(|(b, w)| (b.days(), *w)),
            )
            .field("pressure", &self.pressure)
            .field("clock", &self.clock.is_some())
            .finish()
    }
}

impl Default for EngineBuilder {
    fn default() -> Self {
        Self {
            detector: DetectorConfig::default(),
            v1: Some(V1Config::default()),
            baseline: None,
            pressure: Some(PressureConfig {
                windows: vec![WindowSpec::tumbling(60 * NS_PER_SEC)],
                groupings: Groupings::instrument_only(),
                ..PressureConfig::default()
            }),
            clock: None,
            max_pending_windows: 1 << 20,
        }
    }
}

impl EngineBuilder {
    /// The v3 detectors' configuration.
    #[must_use]
    pub fn detector_config(mut self, config: DetectorConfig) -> Self {
        self.detector = config;
        self
    }

    /// Runs the v1.0 volume-spike detector beside v3 (on by default), or not.
    #[must_use]
    pub fn v1(mut self, config: Option<V1Config>) -> Self {
        self.v1 = config;
        self
    }

    /// The 20-day baseline; the engine then runs pressure windows of the length the
    /// baseline was built with ([`ifd_baseline::BaselineConfig::window_ns`]). Without
    /// one the detectors use their absolute thresholds and signals carry no
    /// p-/q-values.
    #[must_use]
    pub fn baseline(mut self, baseline: Baseline) -> Self {
        let window_ns = baseline.config().window_ns;
        self.baseline = Some((baseline, window_ns));
        self
    }

    /// The pressure windows to aggregate (instrument, 1-minute tumbling by default), or
    /// none. Ignored when a baseline is given: the engine then runs the baseline's own
    /// windows ([`ifd_baseline::pressure_config`]).
    #[must_use]
    pub fn pressure(mut self, config: Option<PressureConfig>) -> Self {
        self.pressure = config;
        self
    }

    /// Closed pressure windows kept until [`Engine::drain_pressure_windows`]; older
    /// ones are dropped and counted (default 1,048,576).
    #[must_use]
    pub fn max_pending_windows(mut self, n: usize) -> Self {
        self.max_pending_windows = n;
        self
    }

    /// Measures per-record processing latency with `clock` (off by default, so that a
    /// deterministic replay reads no clock).
    #[must_use]
    pub fn clock(mut self, clock: Box<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Measures latency with the process's monotonic clock.
    #[must_use]
    pub fn monotonic_clock(self) -> Self {
        self.clock(Box::new(MonotonicClock::default()))
    }

    /// Builds the engine.
    ///
    /// # Errors
    /// [`Error::Patterns`] or [`Error::Pressure`] when a configuration is out of range.
    pub fn build(self) -> Result<Engine> {
        let detector = PatternDetector::new(self.detector)?;
        // With a baseline, the engine's windows are the baseline's: what is scored is
        // what was learned.
        let pressure = match &self.baseline {
            Some((_, window_ns)) => Some(ifd_baseline::pressure_config(*window_ns)),
            None => self.pressure,
        };
        let market = MarketState::new(MarketConfig {
            pressure,
            ..MarketConfig::default()
        })?;
        Ok(Engine {
            market,
            spreads: IdMap::default(),
            windows: Vec::new(),
            max_pending_windows: self.max_pending_windows,
            detector,
            v1: self.v1.map(VolumeSpikeDetector::new),
            reference: self.baseline.map(|(b, w)| BaselineReference::new(b, w)),
            steps_dirty: false,
            stats: EngineStats::default(),
            latency: LatencyHistogram::new(),
            clock: self.clock,
        })
    }
}

/// The legs of one exchange-listed spread instrument, from its definition records
/// (one record per leg, `leg_index` of `leg_count`).
#[derive(Debug, Clone, Default)]
struct SpreadDef {
    count: u16,
    legs: Vec<(u16, SpreadLegDef)>,
    /// The legs in index order once all `count` arrived; empty until then.
    complete: Vec<SpreadLegDef>,
}

/// Records the leg of a spread definition (or forgets the instrument when its
/// definition is deleted or has no legs).
fn note_spread(spreads: &mut IdMap<u32, SpreadDef>, def: &InstrumentDefMsg) {
    let iid = def.hd.instrument_id;
    if def.leg_count == 0 || def.security_update_action as u8 == b'D' {
        spreads.remove(&iid);
        return;
    }
    let ratio = match (def.leg_ratio_qty_numerator, def.leg_ratio_qty_denominator) {
        (n, d) if d > 0 && n % d == 0 => n / d,
        (n, _) => n,
    };
    let leg = SpreadLegDef {
        instrument_id: def.leg_instrument_id,
        ratio: u32::try_from(ratio).unwrap_or(1).max(1),
        buy: def.leg_side as u8 != b'A',
    };
    let e = spreads.entry(iid).or_default();
    if e.count != def.leg_count {
        *e = SpreadDef {
            count: def.leg_count,
            ..SpreadDef::default()
        };
    }
    match e.legs.iter_mut().find(|(i, _)| *i == def.leg_index) {
        Some(slot) => slot.1 = leg,
        None => e.legs.push((def.leg_index, leg)),
    }
    e.complete.clear();
    if e.legs.len() == usize::from(e.count) {
        e.legs.sort_unstable_by_key(|(i, _)| *i);
        e.complete = e.legs.iter().map(|(_, l)| *l).collect();
    }
}

/// What the detectors see of the engine's state.
struct View<'a> {
    market: &'a MarketState,
    spreads: &'a IdMap<u32, SpreadDef>,
}

impl MarketView for View<'_> {
    fn contract(&self, instrument_id: u32) -> Option<&OptionContract> {
        self.market.chain().get(instrument_id)
    }

    fn is_healthy(&self, instrument_id: u32) -> bool {
        matches!(self.market.books().health(instrument_id), Some(Health::Ok))
    }

    fn underlying_price(&self, contract: &OptionContract) -> Option<i64> {
        self.market.underlying_for(contract).map(|u| u.price)
    }

    fn underlying_at(&self, contract: &OptionContract, ts_recv: u64) -> Option<UnderlyingPrice> {
        self.market.underlying_for_at(contract, ts_recv)
    }

    fn bbo(&self, instrument_id: u32) -> Option<Bbo> {
        self.market.books().book(instrument_id).map(|b| b.bbo())
    }

    fn is_depth_ready(&self, instrument_id: u32, ts_recv: u64) -> bool {
        self.market.books().is_depth_ready(instrument_id, ts_recv)
    }

    fn open_interest(&self, instrument_id: u32) -> Option<u64> {
        self.market.statistics().open_interest(instrument_id)
    }

    fn spread_legs(&self, instrument_id: u32) -> Option<&[SpreadLegDef]> {
        self.spreads
            .get(&instrument_id)
            .map(|d| d.complete.as_slice())
            .filter(|l| !l.is_empty())
    }
}

/// The quote a signal is entered at, for outcome labelling
/// ([`Engine::entry_quote`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryQuote {
    /// The option's best bid (1e-9 fixed point).
    pub bid: i64,
    /// The option's best ask (1e-9 fixed point).
    pub ask: i64,
    /// The contract multiplier in whole units (`unit_of_measure_qty`, 20 for NQ).
    pub multiplier: u32,
    /// The underlying's instrument id.
    pub underlying_id: u32,
    /// The underlying's price now, with its source, when one is fresh.
    pub underlying: Option<UnderlyingPrice>,
}

/// The embeddable, deterministic ifd v3.0 detector.
///
/// Feed it every record in stream order with [`Engine::on_record`] (or typed records with
/// [`Engine::on_definition`], [`Engine::on_mbo`], [`Engine::on_stat`]); it appends the
/// signals each record raised to the caller's vector. The same records always give the
/// same signals.
///
/// The engine is ifd-pressure's [`MarketState`] (the composition the baseline builder
/// runs too, with the same pressure windows when a baseline is given) plus the order
/// life cycles and detectors of ifd-patterns.
pub struct Engine {
    market: MarketState,
    spreads: IdMap<u32, SpreadDef>,
    windows: Vec<PressureWindow>,
    max_pending_windows: usize,
    detector: PatternDetector,
    v1: Option<VolumeSpikeDetector>,
    reference: Option<BaselineReference>,
    steps_dirty: bool,
    stats: EngineStats,
    latency: LatencyHistogram,
    clock: Option<Box<dyn Clock>>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("stats", &self.stats())
            .field("instruments", &self.market.chain().len())
            .field("books", &self.market.books().len())
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// A builder with the defaults (v3 and v1 on, no baseline, 1-minute pressure).
    #[must_use]
    pub fn builder() -> EngineBuilder {
        EngineBuilder::default()
    }

    /// Applies one record of any schema and appends the signals it raised to `out`;
    /// returns how many it appended.
    ///
    /// # Errors
    /// [`Error::MalformedRecord`] when the record is shorter than its rtype; it is
    /// counted in [`EngineStats::malformed`] and the engine's state is unchanged, so the
    /// caller can go on with the next record.
    pub fn on_record(&mut self, rec: &RecordRef<'_>, out: &mut Vec<Signal>) -> Result<usize> {
        let start = self.clock.as_ref().map(|c| c.now_ns());
        let before = out.len();
        let res = self.market.on_record(rec);
        let res = match res {
            Ok(Step::Mbo(step)) => {
                if let Some(msg) = rec.get::<MboMsg>() {
                    self.after_mbo(msg, step, out);
                }
                Ok(())
            }
            Ok(Step::Definition(_)) => {
                self.steps_dirty = true;
                if let Some(def) = rec.get::<InstrumentDefMsg>() {
                    note_spread(&mut self.spreads, def);
                }
                Ok(())
            }
            Ok(Step::Statistics) => {
                if let (Some(v1), Some(stat)) = (&mut self.v1, rec.get::<StatMsg>()) {
                    v1.on_stat(stat);
                }
                Ok(())
            }
            Ok(_) => Ok(()),
            Err(e) => Err(e),
        };
        if let (Some(t0), Some(c)) = (start, self.clock.as_ref()) {
            self.latency.record(c.now_ns().saturating_sub(t0));
        }
        let added = out.len() - before;
        if added > 0 {
            count_signals(&out[before..], &mut self.stats);
        }
        res.map(|()| added).map_err(Error::from)
    }

    /// Applies an instrument definition.
    pub fn on_definition(&mut self, def: &InstrumentDefMsg) {
        self.market.on_definition(def);
        note_spread(&mut self.spreads, def);
        self.steps_dirty = true;
    }

    /// Applies an MBO record and appends the signals it raised to `out`; returns how
    /// many it appended.
    pub fn on_mbo(&mut self, msg: &MboMsg, out: &mut Vec<Signal>) -> usize {
        let before = out.len();
        let step = self.market.on_mbo(msg);
        self.after_mbo(msg, step, out);
        let added = out.len() - before;
        if added > 0 {
            count_signals(&out[before..], &mut self.stats);
        }
        added
    }

    /// Applies a statistics record (open interest for v1).
    pub fn on_stat(&mut self, stat: &StatMsg) {
        self.market.on_stat(stat);
        if let Some(v1) = &mut self.v1 {
            v1.on_stat(stat);
        }
    }

    /// The detectors' part of an MBO record, after the market applied it.
    fn after_mbo(&mut self, msg: &MboMsg, step: MboStep, out: &mut Vec<Signal>) {
        let option = matches!(step.role, InstrumentRole::Option { .. });
        self.settle(option.then_some(msg), Settle::Until(msg.ts_recv), out);
    }

    /// The one path from the market state to the detectors, after a record and at the
    /// session's end: order life cycles see `msg` (an option's MBO record), the
    /// market's completed events and closed windows go to both detectors, and the
    /// events held back for the package window are released as far as `until` says
    /// (see `ifd_patterns::packages`).
    fn settle(&mut self, msg: Option<&MboMsg>, until: Settle, out: &mut Vec<Signal>) {
        if self.steps_dirty {
            if let Some(r) = &mut self.reference {
                r.refresh_steps(self.market.chain());
            }
            self.steps_dirty = false;
        }
        let view = View {
            market: &self.market,
            spreads: &self.spreads,
        };
        if let Some(msg) = msg {
            self.detector.on_mbo(msg, &view, out);
        }
        dispatch(
            &view,
            &mut self.detector,
            &mut self.v1,
            self.reference.as_ref(),
            out,
        );
        let reference: &dyn Reference = match self.reference.as_ref() {
            Some(r) => r,
            None => &NoReference,
        };
        match until {
            Settle::Until(ts_recv) => self.detector.advance(ts_recv, &view, reference, out),
            Settle::End => self.detector.flush(&view, reference, out),
        }
        self.collect_windows();
    }

    fn collect_windows(&mut self) {
        if self.market.closed_windows().is_empty() {
            return;
        }
        let max = self.max_pending_windows;
        for w in self.market.drain_windows() {
            if self.windows.len() < max {
                self.windows.push(w);
            } else {
                self.stats.pressure_windows_dropped += 1;
            }
        }
    }

    /// Ends the session: completes events still being folded (a stream cut before its
    /// `F_LAST`) and closes the open pressure windows. Appends the signals this raised
    /// to `out` and returns how many.
    pub fn on_session_end(&mut self, out: &mut Vec<Signal>) -> usize {
        let before = out.len();
        self.market.end_session();
        self.settle(None, Settle::End, out);
        let added = out.len() - before;
        count_signals(&out[before..], &mut self.stats);
        added
    }

    /// Marks the books of a channel (or of the whole publisher with `None`) as
    /// recovering after a transport gap; returns how many books were marked.
    pub fn mark_gap(&mut self, publisher_id: u16, channel_id: Option<u8>) -> usize {
        self.stats.gaps += 1;
        self.market.mark_gap(publisher_id, channel_id)
    }

    /// Closed pressure windows since the last call, in closing order. With a baseline
    /// these are exactly the windows the baseline's builder learns from on the same
    /// records ([`ifd_baseline::pressure_config`]).
    pub fn drain_pressure_windows(&mut self) -> std::vec::Drain<'_, PressureWindow> {
        self.windows.drain(..)
    }

    /// Sets the v3 confidence threshold (adaptive thresholds); returns false and changes
    /// nothing for a value outside [0, 1] or not finite.
    pub fn set_min_confidence(&mut self, value: f64) -> bool {
        self.detector.set_min_confidence(value)
    }

    /// The composition of chain, books, underlying and pressure the engine runs.
    #[must_use]
    pub fn market(&self) -> &MarketState {
        &self.market
    }

    /// The options chain.
    #[must_use]
    pub fn chain(&self) -> &Chain {
        self.market.chain()
    }

    /// The order books.
    #[must_use]
    pub fn books(&self) -> &Books {
        self.market.books()
    }

    /// Health of an instrument's book (`None` before its first record).
    #[must_use]
    pub fn health(&self, instrument_id: u32) -> Option<Health> {
        self.market.books().health(instrument_id)
    }

    /// True when every book is healthy.
    #[must_use]
    pub fn all_books_healthy(&self) -> bool {
        self.market
            .books()
            .iter()
            .all(|(_, b)| b.health() == Health::Ok)
    }

    /// The underlying price of `underlying_id` now, with its source and age (see
    /// [`MarketState::underlying`]).
    #[must_use]
    pub fn underlying(&self, underlying_id: u32) -> Option<UnderlyingPrice> {
        self.market.underlying(underlying_id)
    }

    /// What an outcome tracker needs to follow `signal` from now on: the option's best
    /// bid and offer now, its multiplier (whole units, 20 for NQ) and the underlying's
    /// price with its source. `None` when the chain does not know the contract, its
    /// book is not two-sided, or the multiplier is not a whole positive number: the
    /// caller counts those as signals it cannot label.
    #[must_use]
    pub fn entry_quote(&self, signal: &Signal) -> Option<EntryQuote> {
        let contract = self.market.chain().get(signal.instrument_id)?;
        let bbo = self.market.books().book(signal.instrument_id)?.bbo();
        let (bid, ask) = (bbo.bid?, bbo.ask?);
        let scale = dbn::FIXED_PRICE_SCALE;
        let multiplier = (contract.multiplier % scale == 0)
            .then(|| contract.multiplier / scale)
            .and_then(|m| u32::try_from(m).ok())
            .filter(|&m| m > 0)?;
        Some(EntryQuote {
            bid: bid.price,
            ask: ask.price,
            multiplier,
            underlying_id: contract.underlying_id,
            underlying: self.market.underlying_for(contract),
        })
    }

    /// The baseline in use, if any.
    #[must_use]
    pub fn baseline(&self) -> Option<&Baseline> {
        self.reference.as_ref().map(BaselineReference::baseline)
    }

    /// Counters of the engine.
    #[must_use]
    pub fn stats(&self) -> EngineStats {
        let m = self.market.stats();
        EngineStats {
            records: m.records,
            mbo: m.mbo_records,
            definitions: m.definitions,
            statistics: m.statistics,
            system: m.system,
            gateway_errors: m.gateway_errors,
            symbol_mappings: m.symbol_mappings,
            status: m.status,
            other: m.ignored_records,
            malformed: m.malformed,
            bad_action: m.bad_action,
            unknown_instrument: m.unknown_instrument,
            aggressor_events: self.market.aggressor_stats().events,
            ..self.stats
        }
    }

    /// Counters of the books (skipped records by kind).
    #[must_use]
    pub fn book_stats(&self) -> BookStats {
        self.market.books().stats()
    }

    /// Counters of the aggressor folding.
    #[must_use]
    pub fn aggressor_stats(&self) -> AggressorStats {
        *self.market.aggressor_stats()
    }

    /// Counters of the v3 detectors.
    #[must_use]
    pub fn pattern_stats(&self) -> PatternStats {
        self.detector.stats()
    }

    /// Counters of the v1 detector, when it runs.
    #[must_use]
    pub fn v1_stats(&self) -> Option<V1Stats> {
        self.v1.as_ref().map(VolumeSpikeDetector::stats)
    }

    /// Per-record processing latency (empty unless a clock was given).
    #[must_use]
    pub fn latency(&self) -> LatencyReport {
        self.latency.report()
    }

    /// The latency histogram itself.
    #[must_use]
    pub fn latency_histogram(&self) -> &LatencyHistogram {
        &self.latency
    }
}

/// How far [`Engine::settle`] releases the events held back for the package window.
#[derive(Debug, Clone, Copy)]
enum Settle {
    /// Up to the stream time of the record just applied (`ts_recv`).
    Until(u64),
    /// All of them: the session ended.
    End,
}

/// Offers the completed aggressor events of the market's last step to the v3
/// detectors and v1 (pressure already has them).
fn dispatch(
    view: &View<'_>,
    detector: &mut PatternDetector,
    v1: &mut Option<VolumeSpikeDetector>,
    reference: Option<&BaselineReference>,
    out: &mut Vec<Signal>,
) {
    let events = view.market.events();
    if events.is_empty() {
        return;
    }
    let reference: &dyn Reference = match reference {
        Some(r) => r,
        None => &NoReference,
    };
    for ev in events {
        detector.on_event(ev, view, reference, out);
        if let Some(v1) = v1 {
            v1.on_event(ev, view, reference, out);
        }
    }
}

/// Adds the signals of one call to the per-detector counters.
fn count_signals(signals: &[Signal], stats: &mut EngineStats) {
    for s in signals {
        match s.detector {
            DetectorVersion::V3 => stats.signals_v3 += 1,
            DetectorVersion::V1 => stats.signals_v1 += 1,
        }
    }
}
