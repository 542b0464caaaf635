//! The engine: one `on_record` call composing chain, books, aggressor events, pressure,
//! baseline and the detectors.

use dbn::{Action, InstrumentDefMsg, MboMsg, RecordRef, StatMsg};
use ifd_baseline::Baseline;
use ifd_patterns::{
    DetectorConfig, DetectorVersion, MarketView, NoReference, PatternDetector, PatternStats,
    Reference, Signal, V1Config, V1Stats, VolumeSpikeDetector,
};
use ifd_pressure::{
    AggressorEvent, AggressorFolder, AggressorStats, Bbo, BookStats, Books, Chain, Groupings,
    Health, IdMap, OptionContract, PressureConfig, PressureTracker, PressureWindow, WindowSpec,
    NS_PER_SEC,
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

    /// The 20-day baseline, built on pressure windows `window_ns` long (the
    /// `BuilderConfig::window_ns` it was built with). Without one the detectors use
    /// their absolute thresholds and signals carry no p-/q-values.
    #[must_use]
    pub fn baseline(mut self, baseline: Baseline, window_ns: u64) -> Self {
        self.baseline = Some((baseline, window_ns));
        self
    }

    /// The pressure windows to aggregate (instrument, 1-minute tumbling by default), or
    /// none.
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
        let pressure = match self.pressure {
            Some(cfg) => Some(PressureTracker::new(cfg)?),
            None => None,
        };
        Ok(Engine {
            chain: Chain::new(),
            books: Books::new(),
            insts: Vec::new(),
            inst_index: IdMap::default(),
            last_inst: None,
            agg_stats: AggressorStats::default(),
            events: Vec::new(),
            pressure,
            windows: Vec::new(),
            max_pending_windows: self.max_pending_windows,
            detector,
            v1: self.v1.map(VolumeSpikeDetector::new),
            reference: self.baseline.map(|(b, w)| BaselineReference::new(b, w)),
            steps_dirty: false,
            underlying: IdMap::default(),
            signals: Vec::new(),
            stats: EngineStats::default(),
            latency: LatencyHistogram::new(),
            clock: self.clock,
        })
    }
}

/// What the chain says an instrument is, cached per instrument until its definition
/// changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InstKind {
    /// Not looked up since the last definition.
    Unresolved,
    /// An option of the chain, with its multiplier (1e-9 fixed point).
    Option { multiplier: i64 },
    /// A future of the chain (its mid is an underlying price).
    Future,
    /// Not an option or a future the chain knows.
    Unknown,
}

/// The hot path's per-instrument state.
#[derive(Debug, Clone)]
struct InstSlot {
    instrument_id: u32,
    kind: InstKind,
    folder: AggressorFolder,
    /// The instrument's slot in the pressure tracker.
    pressure_slot: Option<usize>,
}

/// What the detectors see of the engine's state.
struct View<'a> {
    chain: &'a Chain,
    books: &'a Books,
    underlying: &'a IdMap<u32, i64>,
}

impl MarketView for View<'_> {
    fn contract(&self, instrument_id: u32) -> Option<&OptionContract> {
        self.chain.get(instrument_id)
    }

    fn is_healthy(&self, instrument_id: u32) -> bool {
        matches!(self.books.health(instrument_id), Some(Health::Ok))
    }

    fn underlying_price(&self, contract: &OptionContract) -> Option<i64> {
        self.underlying.get(&contract.underlying_id).copied()
    }
}

/// The embeddable, deterministic ifd v3.0 detector.
///
/// Feed it every record in stream order with [`Engine::on_record`] (or typed records with
/// [`Engine::on_definition`], [`Engine::on_mbo`], [`Engine::on_stat`]); it returns the
/// signals each record raised. The same records always give the same signals.
pub struct Engine {
    chain: Chain,
    books: Books,
    /// Per-instrument state of the hot path, found once per record.
    insts: Vec<InstSlot>,
    inst_index: IdMap<u32, u32>,
    /// The last instrument seen and its slot (runs of one instrument skip the map).
    last_inst: Option<(u32, u32)>,
    agg_stats: AggressorStats,
    events: Vec<AggressorEvent>,
    pressure: Option<PressureTracker>,
    windows: Vec<PressureWindow>,
    max_pending_windows: usize,
    detector: PatternDetector,
    v1: Option<VolumeSpikeDetector>,
    reference: Option<BaselineReference>,
    steps_dirty: bool,
    underlying: IdMap<u32, i64>,
    signals: Vec<Signal>,
    stats: EngineStats,
    latency: LatencyHistogram,
    clock: Option<Box<dyn Clock>>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("stats", &self.stats)
            .field("instruments", &self.chain.len())
            .field("books", &self.books.len())
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// A builder with the defaults (v3 and v1 on, no baseline, 1-minute pressure).
    #[must_use]
    pub fn builder() -> EngineBuilder {
        EngineBuilder::default()
    }

    /// Applies one record of any schema and returns the signals it raised.
    ///
    /// # Errors
    /// [`Error::MalformedRecord`] when the record is shorter than its rtype; it is
    /// counted in [`EngineStats::malformed`] and the engine's state is unchanged, so the
    /// caller can go on with the next record.
    pub fn on_record(&mut self, rec: &RecordRef<'_>) -> Result<&[Signal]> {
        let start = self.clock.as_ref().map(|c| c.now_ns());
        self.signals.clear();
        self.stats.records += 1;
        let rtype = rec.header().rtype;
        let res = match rtype {
            dbn::rtype::MBO => rec.try_get::<MboMsg>().map(|m| self.apply_mbo(m)),
            dbn::rtype::INSTRUMENT_DEF => rec
                .try_get::<InstrumentDefMsg>()
                .map(|d| self.apply_definition(d)),
            dbn::rtype::STATISTICS => rec.try_get::<StatMsg>().map(|s| self.apply_stat(s)),
            dbn::rtype::SYSTEM => {
                self.stats.system += 1;
                Ok(())
            }
            dbn::rtype::ERROR => {
                self.stats.gateway_errors += 1;
                Ok(())
            }
            dbn::rtype::SYMBOL_MAPPING => {
                self.stats.symbol_mappings += 1;
                Ok(())
            }
            dbn::rtype::STATUS => {
                self.stats.status += 1;
                Ok(())
            }
            _ => {
                self.stats.other += 1;
                Ok(())
            }
        };
        if let (Some(t0), Some(c)) = (start, self.clock.as_ref()) {
            self.latency.record(c.now_ns().saturating_sub(t0));
        }
        match res {
            Ok(()) => Ok(&self.signals),
            Err(source) => {
                self.stats.malformed += 1;
                Err(Error::MalformedRecord { rtype, source })
            }
        }
    }

    /// Applies an instrument definition.
    pub fn on_definition(&mut self, def: &InstrumentDefMsg) -> &[Signal] {
        self.signals.clear();
        self.stats.records += 1;
        self.apply_definition(def);
        &self.signals
    }

    /// Applies an MBO record and returns the signals it raised.
    pub fn on_mbo(&mut self, msg: &MboMsg) -> &[Signal] {
        self.signals.clear();
        self.stats.records += 1;
        self.apply_mbo(msg);
        &self.signals
    }

    /// Applies a statistics record (open interest for v1).
    pub fn on_stat(&mut self, stat: &StatMsg) -> &[Signal] {
        self.signals.clear();
        self.stats.records += 1;
        self.apply_stat(stat);
        &self.signals
    }

    fn apply_definition(&mut self, def: &InstrumentDefMsg) {
        self.chain.apply(def);
        if let Some(&i) = self.inst_index.get(&def.hd.instrument_id) {
            self.insts[i as usize].kind = InstKind::Unresolved;
        }
        self.stats.definitions += 1;
        self.steps_dirty = true;
    }

    fn apply_stat(&mut self, stat: &StatMsg) {
        self.stats.statistics += 1;
        if let Some(v1) = &mut self.v1 {
            v1.on_stat(stat);
        }
    }

    /// The slot of `instrument_id`, created on first sight.
    #[inline]
    fn inst_slot(&mut self, instrument_id: u32) -> usize {
        if let Some((id, i)) = self.last_inst {
            if id == instrument_id {
                return i as usize;
            }
        }
        let next = u32::try_from(self.insts.len()).unwrap_or(u32::MAX);
        let i = *self.inst_index.entry(instrument_id).or_insert(next);
        if i == next {
            self.insts.push(InstSlot {
                instrument_id,
                kind: InstKind::Unresolved,
                folder: AggressorFolder::new(),
                pressure_slot: None,
            });
        }
        self.last_inst = Some((instrument_id, i));
        i as usize
    }

    /// Looks the instrument of slot `i` up in the chain (once per definition change).
    fn resolve(&mut self, i: usize) -> InstKind {
        let st = &mut self.insts[i];
        if st.kind == InstKind::Unresolved {
            let id = st.instrument_id;
            st.kind = if let Some(c) = self.chain.get(id) {
                InstKind::Option {
                    multiplier: c.multiplier,
                }
            } else if self.chain.future(id).is_some() {
                InstKind::Future
            } else {
                InstKind::Unknown
            };
        }
        st.kind
    }

    fn apply_mbo(&mut self, msg: &MboMsg) {
        self.stats.mbo += 1;
        if self.steps_dirty {
            if let Some(r) = &mut self.reference {
                r.refresh_steps(&self.chain);
            }
            self.steps_dirty = false;
        }
        let id = msg.hd.instrument_id;
        let update = self.books.apply(msg);
        let i = self.inst_slot(id);
        let kind = self.resolve(i);
        let option = match kind {
            InstKind::Option { multiplier } => Some(multiplier),
            _ => None,
        };
        match msg.action() {
            Ok(action) => {
                if let Some(multiplier) = option {
                    // A trade leaves the book unchanged: its book now is the book before.
                    let bbo_before = if action == Action::Trade {
                        self.books
                            .at(update.index)
                            .map(|b| b.bbo())
                            .unwrap_or_default()
                    } else {
                        Bbo::default()
                    };
                    self.insts[i].folder.on_record(
                        msg,
                        action,
                        &bbo_before,
                        multiplier,
                        &mut self.events,
                        &mut self.agg_stats,
                    );
                } else if kind == InstKind::Unknown {
                    self.stats.unknown_instrument += 1;
                }
                if action == Action::Clear {
                    if let Some(p) = &mut self.pressure {
                        p.reset_book(id);
                    }
                }
            }
            Err(_) => self.stats.bad_action += 1,
        }
        let view = View {
            chain: &self.chain,
            books: &self.books,
            underlying: &self.underlying,
        };
        if option.is_some() {
            self.detector.on_mbo(msg, &view, &mut self.signals);
        }
        self.dispatch_events();
        if msg.flags.is_last() && !msg.flags.is_snapshot() && kind != InstKind::Unknown {
            if let Some(bbo) = self.books.at(update.index).map(|b| b.bbo()) {
                if kind == InstKind::Future {
                    if let Some(mid) = bbo.mid() {
                        if self.underlying.insert(id, mid) != Some(mid) {
                            if let Some(p) = &mut self.pressure {
                                p.set_underlying_price(id, mid);
                            }
                        }
                    }
                } else if let Some(p) = &mut self.pressure {
                    let slot = *self.insts[i]
                        .pressure_slot
                        .get_or_insert_with(|| p.slot_of(id));
                    p.on_book_at(slot, &bbo, msg.ts_recv, &self.chain);
                }
            }
        }
        if let Some(p) = &mut self.pressure {
            p.advance(msg.ts_recv, &self.chain);
            Self::collect_windows(
                p,
                &mut self.windows,
                self.max_pending_windows,
                &mut self.stats,
            );
        }
        if !self.signals.is_empty() {
            count_signals(&self.signals, &mut self.stats);
        }
    }

    /// Hands the completed aggressor events to pressure, the v3 detectors and v1.
    fn dispatch_events(&mut self) {
        if self.events.is_empty() {
            return;
        }
        let view = View {
            chain: &self.chain,
            books: &self.books,
            underlying: &self.underlying,
        };
        dispatch(
            &mut self.events,
            &view,
            &mut self.pressure,
            &mut self.detector,
            &mut self.v1,
            self.reference.as_ref(),
            &mut self.stats,
            &mut self.signals,
        );
    }

    fn collect_windows(
        p: &mut PressureTracker,
        windows: &mut Vec<PressureWindow>,
        max: usize,
        stats: &mut EngineStats,
    ) {
        if p.closed().is_empty() {
            return;
        }
        for w in p.drain_closed() {
            if windows.len() < max {
                windows.push(w);
            } else {
                stats.pressure_windows_dropped += 1;
            }
        }
    }

    /// Ends the session: completes events still being folded (a stream cut before its
    /// `F_LAST`) and closes the open pressure windows. Returns the signals this raised.
    pub fn on_session_end(&mut self) -> &[Signal] {
        self.signals.clear();
        let mut order: Vec<(u32, usize)> = self
            .insts
            .iter()
            .enumerate()
            .map(|(i, st)| (st.instrument_id, i))
            .collect();
        order.sort_unstable();
        for (_, i) in order {
            self.insts[i]
                .folder
                .finish(&mut self.events, &mut self.agg_stats);
        }
        self.dispatch_events();
        if let Some(p) = &mut self.pressure {
            p.flush(&self.chain);
            Self::collect_windows(
                p,
                &mut self.windows,
                self.max_pending_windows,
                &mut self.stats,
            );
        }
        count_signals(&self.signals, &mut self.stats);
        &self.signals
    }

    /// Marks the books of a channel (or of the whole publisher with `None`) as
    /// recovering after a transport gap; returns how many books were marked.
    pub fn mark_gap(&mut self, publisher_id: u16, channel_id: Option<u8>) -> usize {
        self.stats.gaps += 1;
        self.books.mark_gap(publisher_id, channel_id)
    }

    /// Closed pressure windows since the last call, in closing order.
    pub fn drain_pressure_windows(&mut self) -> std::vec::Drain<'_, PressureWindow> {
        self.windows.drain(..)
    }

    /// Sets the v3 confidence threshold (adaptive thresholds); returns false and changes
    /// nothing for a value outside [0, 1] or not finite.
    pub fn set_min_confidence(&mut self, value: f64) -> bool {
        self.detector.set_min_confidence(value)
    }

    /// The options chain.
    #[must_use]
    pub fn chain(&self) -> &Chain {
        &self.chain
    }

    /// The order books.
    #[must_use]
    pub fn books(&self) -> &Books {
        &self.books
    }

    /// Health of an instrument's book (`None` before its first record).
    #[must_use]
    pub fn health(&self, instrument_id: u32) -> Option<Health> {
        self.books.health(instrument_id)
    }

    /// True when every book is healthy.
    #[must_use]
    pub fn all_books_healthy(&self) -> bool {
        self.books.iter().all(|(_, b)| b.health() == Health::Ok)
    }

    /// The latest mid of an underlying future.
    #[must_use]
    pub fn underlying_price(&self, underlying_id: u32) -> Option<i64> {
        self.underlying.get(&underlying_id).copied()
    }

    /// The baseline in use, if any.
    #[must_use]
    pub fn baseline(&self) -> Option<&Baseline> {
        self.reference.as_ref().map(BaselineReference::baseline)
    }

    /// Counters of the engine.
    #[must_use]
    pub fn stats(&self) -> EngineStats {
        self.stats
    }

    /// Counters of the books (skipped records by kind).
    #[must_use]
    pub fn book_stats(&self) -> BookStats {
        self.books.stats()
    }

    /// Counters of the aggressor folding.
    #[must_use]
    pub fn aggressor_stats(&self) -> AggressorStats {
        self.agg_stats
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

/// Offers the completed aggressor events to pressure, the v3 detectors and v1.
#[allow(
    clippy::too_many_arguments,
    reason = "disjoint borrows of the engine's parts"
)]
fn dispatch(
    events: &mut Vec<AggressorEvent>,
    view: &View<'_>,
    pressure: &mut Option<PressureTracker>,
    detector: &mut PatternDetector,
    v1: &mut Option<VolumeSpikeDetector>,
    reference: Option<&BaselineReference>,
    stats: &mut EngineStats,
    out: &mut Vec<Signal>,
) {
    let reference: &dyn Reference = match reference {
        Some(r) => r,
        None => &NoReference,
    };
    for ev in events.drain(..) {
        stats.aggressor_events += 1;
        if let Some(p) = pressure {
            p.on_event(&ev, view.chain);
        }
        detector.on_event(&ev, view, reference, out);
        if let Some(v1) = v1 {
            v1.on_event(&ev, view, reference, out);
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
