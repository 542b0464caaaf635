//! [`MarketState`]: the one composition of chain, books, aggressor folding, the
//! underlying price and pressure windows, fed one record at a time.
//!
//! The baseline builder (`ifd-baseline`) and the engine (`ifd-engine`) both run their
//! records through this type, so the windows a baseline learns from and the windows an
//! engine scores come out of the same code with the same rules:
//!
//! - a definition updates the [`Chain`] and forgets what was cached about the
//!   instrument (its role, its multiplier, the pressure tracker's keys);
//! - an MBO record goes to its book first; `T`/`F` records of an option (or of an
//!   instrument no definition has named yet, at the default multiplier) fold into an
//!   [`AggressorEvent`] completed at `F_LAST`, priced against the book as it stood at
//!   the `T` record; a future's book never folds (its mid is an underlying price);
//! - records flagged `F_SNAPSHOT` or `F_BAD_TS_RECV` build books but never move the
//!   window clock, never sample a book for pressure and never set an underlying price;
//! - at `F_LAST` of any other record the book's best bid/offer is sampled for the
//!   pressure windows (options) or as the underlying's price (futures);
//! - after an `R` or a snapshot the next book sample starts a fresh order-flow
//!   sequence (no OFI term across the rebuild).

use dbn::{rtype, Action, InstrumentDefMsg, MboMsg, RecordRef, StatMsg, FIXED_PRICE_SCALE};

use crate::aggressor::{AggressorEvent, AggressorFolder, AggressorStats};
use crate::book::{BookKey, BookUpdate, Books};
use crate::chain::{Chain, ChainUpdate, OptionContract};
use crate::error::{Error, Result};
use crate::health::HealthConfig;
use crate::pressure::{PressureConfig, PressureTracker, PressureWindow};
use crate::statistics::StatStore;
use crate::types::Bbo;
use crate::underlying::{UnderlyingConfig, UnderlyingPrice, UnderlyingResolver};
use crate::IdMap;

/// Configuration of a [`MarketState`].
#[derive(Debug, Clone, PartialEq)]
pub struct MarketConfig {
    /// Pressure windows and groupings; `None` runs no pressure tracker (books, events
    /// and the underlying only).
    pub pressure: Option<PressureConfig>,
    /// Book health thresholds.
    pub health: HealthConfig,
    /// Multiplier (1e-9 fixed point) for instruments no definition has named; the
    /// default is 1.0, so the premium of such a print is price × size.
    pub default_multiplier: i64,
    /// Give the pressure tracker's moneyness groupings the mid of each future's own
    /// book (when the stream carries the future's MBO and the chain knows it as a
    /// future).
    pub underlying_from_books: bool,
    /// How the underlying price is resolved: the future's book, else put–call parity
    /// over the option books, else a caller's price, never older than a limit.
    pub underlying: UnderlyingConfig,
}

impl Default for MarketConfig {
    fn default() -> Self {
        Self {
            pressure: Some(PressureConfig::default()),
            health: HealthConfig::default(),
            default_multiplier: FIXED_PRICE_SCALE,
            underlying_from_books: true,
            underlying: UnderlyingConfig::default(),
        }
    }
}

/// Counters of [`MarketState`] itself (books, folding and pressure keep their own).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MarketStats {
    /// Records given to [`MarketState::on_record`] or the typed entry points.
    pub records: u64,
    /// MBO records.
    pub mbo_records: u64,
    /// Definition records applied to the chain.
    pub definitions: u64,
    /// Statistics records.
    pub statistics: u64,
    /// System messages (heartbeats, acks, replay completed).
    pub system: u64,
    /// Error records from the gateway.
    pub gateway_errors: u64,
    /// Symbol mappings.
    pub symbol_mappings: u64,
    /// Status records.
    pub status: u64,
    /// Records of other schemas, ignored.
    pub ignored_records: u64,
    /// Records too short for their rtype (skipped, returned as an error).
    pub malformed: u64,
    /// MBO records with an action byte dbn does not know (the book counts its own skip;
    /// the folding never sees them).
    pub bad_action: u64,
    /// MBO records of instruments the chain names neither as an option nor as a future
    /// (folded at the default multiplier).
    pub unknown_instrument: u64,
    /// Aggressor events whose instrument had no option contract (default multiplier).
    pub default_multiplier_events: u64,
}

/// What the chain says an instrument is, as [`MarketState`] uses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstrumentRole {
    /// An option of the chain, with its multiplier (1e-9 fixed point).
    Option {
        /// Contract multiplier, 1e-9 fixed point (20 for NQ options).
        multiplier: i64,
    },
    /// A future of the chain: its book's mid is an underlying price.
    Future,
    /// No definition names it (yet).
    Unknown,
}

/// What one MBO record did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MboStep {
    /// The book update.
    pub update: BookUpdate,
    /// The instrument's role at this record.
    pub role: InstrumentRole,
    /// The record's action, `None` when its byte is not one dbn knows.
    pub action: Option<Action>,
}

/// What [`MarketState::on_record`] did with one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Step {
    /// An MBO record went to its book (and the folding).
    Mbo(MboStep),
    /// A definition updated the chain.
    Definition(ChainUpdate),
    /// A statistics record.
    Statistics,
    /// A system message.
    System,
    /// An error record from the gateway.
    GatewayError,
    /// A symbol mapping.
    SymbolMapping,
    /// A status record.
    Status,
    /// A record of another schema (counted and ignored).
    Other,
}

#[derive(Debug, Clone)]
struct InstState {
    key: BookKey,
    folder: AggressorFolder,
    /// `None` until resolved against the chain (again after each definition).
    role: Option<InstrumentRole>,
    /// The instrument's slot in the pressure tracker.
    pressure_slot: Option<usize>,
    /// The next book sample must not produce an OFI term (after `R` or a snapshot).
    reset_pending: bool,
}

/// The composition every ifd pipeline runs: chain, books, folding, underlying and
/// pressure, fed one record at a time (see the module docs for its rules).
///
/// Completed aggressor events of the last record are in [`MarketState::events`] until
/// the next call; closed windows accumulate until [`MarketState::drain_windows`]. The
/// hot path does not allocate once its per-instrument state exists.
#[derive(Debug, Clone)]
pub struct MarketState {
    books: Books,
    chain: Chain,
    pressure: Option<PressureTracker>,
    /// Per book, indexed like [`Books`].
    insts: Vec<InstState>,
    /// Book indices per instrument id, for definition changes.
    by_instrument: IdMap<u32, Vec<u32>>,
    events: Vec<AggressorEvent>,
    aggressor_stats: AggressorStats,
    stats: MarketStats,
    default_multiplier: i64,
    underlying_from_books: bool,
    underlying: UnderlyingResolver,
    statistics: StatStore,
    /// The newest `ts_recv` of a record that may move the clock.
    now: u64,
    /// Always empty: what [`MarketState::drain_windows`] drains without a tracker.
    no_windows: Vec<PressureWindow>,
}

impl MarketState {
    /// A market with an empty chain.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when the pressure configuration is invalid (see
    /// [`PressureTracker::new`]).
    pub fn new(config: MarketConfig) -> Result<Self> {
        Self::with_chain(config, Chain::new())
    }

    /// A market starting from an existing chain.
    ///
    /// # Errors
    /// As [`MarketState::new`].
    pub fn with_chain(config: MarketConfig, chain: Chain) -> Result<Self> {
        let pressure = match config.pressure {
            Some(cfg) => Some(PressureTracker::new(cfg)?),
            None => None,
        };
        let mut underlying = UnderlyingResolver::new(config.underlying)?;
        for c in chain.options() {
            underlying.add_option(c);
        }
        Ok(Self {
            books: Books::new().with_config(config.health),
            chain,
            pressure,
            insts: Vec::new(),
            by_instrument: IdMap::default(),
            events: Vec::with_capacity(16),
            aggressor_stats: AggressorStats::default(),
            stats: MarketStats::default(),
            default_multiplier: config.default_multiplier,
            underlying_from_books: config.underlying_from_books,
            underlying,
            statistics: StatStore::new(),
            now: 0,
            no_windows: Vec::new(),
        })
    }

    /// The books.
    #[must_use]
    pub fn books(&self) -> &Books {
        &self.books
    }

    /// The options chain.
    #[must_use]
    pub fn chain(&self) -> &Chain {
        &self.chain
    }

    /// The pressure tracker, when one runs.
    #[must_use]
    pub fn pressure(&self) -> Option<&PressureTracker> {
        self.pressure.as_ref()
    }

    /// Counters of the aggressor folding.
    #[must_use]
    pub const fn aggressor_stats(&self) -> &AggressorStats {
        &self.aggressor_stats
    }

    /// Own counters.
    #[must_use]
    pub const fn stats(&self) -> &MarketStats {
        &self.stats
    }

    /// The aggressor events completed by the last record (or by
    /// [`MarketState::end_session`]); valid until the next call.
    #[must_use]
    pub fn events(&self) -> &[AggressorEvent] {
        &self.events
    }

    /// The underlying price of an option now (at the newest `ts_recv` seen), with its
    /// source and age: its future's book mid when the stream carries the future, else
    /// the put–call-parity forward of its expiry, else a caller's price; `None` when
    /// none is fresh (see [`UnderlyingResolver`]).
    #[must_use]
    pub fn underlying_for(&self, contract: &OptionContract) -> Option<UnderlyingPrice> {
        self.underlying.resolve_for(contract, self.now)
    }

    /// [`MarketState::underlying_for`] as of `ts_recv` (no later than now): the
    /// price's age is measured at that time, as for a window that closed then.
    #[must_use]
    pub fn underlying_for_at(
        &self,
        contract: &OptionContract,
        ts_recv: u64,
    ) -> Option<UnderlyingPrice> {
        self.underlying.resolve_for(contract, ts_recv.min(self.now))
    }

    /// The underlying price of `underlying_id` now, when no expiry is given (see
    /// [`UnderlyingResolver::resolve_any`]).
    #[must_use]
    pub fn underlying(&self, underlying_id: u32) -> Option<UnderlyingPrice> {
        self.underlying.resolve_any(underlying_id, self.now)
    }

    /// The underlying resolver (its counters and per-source answers).
    #[must_use]
    pub fn underlying_resolver(&self) -> &UnderlyingResolver {
        &self.underlying
    }

    /// Open interest, cleared volume and settlement per instrument, from the statistics
    /// records seen.
    #[must_use]
    pub fn statistics(&self) -> &StatStore {
        &self.statistics
    }

    /// The newest `ts_recv` of the records that move the clock (not snapshot or
    /// `F_BAD_TS_RECV` records), ns since the UNIX epoch; 0 before the first.
    #[must_use]
    pub const fn now(&self) -> u64 {
        self.now
    }

    /// Sets an underlying's price (1e-9 fixed point) from outside the stream (a
    /// caller that has the future elsewhere), as of `ts_recv`; the last resort after
    /// the future's book and parity.
    pub fn set_underlying_price(&mut self, underlying_id: u32, price: i64, ts_recv: u64) {
        self.underlying
            .set_caller_price(underlying_id, price, ts_recv);
        if let Some(p) = &mut self.pressure {
            p.set_underlying_price(underlying_id, price);
        }
    }

    /// Takes the pressure windows closed so far, in closing order.
    pub fn drain_windows(&mut self) -> std::vec::Drain<'_, PressureWindow> {
        match &mut self.pressure {
            Some(p) => p.drain_closed(),
            None => self.no_windows.drain(..),
        }
    }

    /// The pressure windows closed and not drained yet.
    #[must_use]
    pub fn closed_windows(&self) -> &[PressureWindow] {
        self.pressure.as_ref().map_or(&[], PressureTracker::closed)
    }

    /// Marks the books of a channel (or of the whole publisher with `None`) as
    /// recovering after a transport gap; returns how many books were marked.
    pub fn mark_gap(&mut self, publisher_id: u16, channel_id: Option<u8>) -> usize {
        self.books.mark_gap(publisher_id, channel_id)
    }

    /// Ends the session (end of data): completes the events still being folded (a
    /// stream cut before its `F_LAST`), in book-key order, into
    /// [`MarketState::events`], and closes the open pressure windows as incomplete.
    pub fn end_session(&mut self) {
        self.events.clear();
        let mut order: Vec<(BookKey, usize)> = self
            .insts
            .iter()
            .enumerate()
            .map(|(i, st)| (st.key, i))
            .collect();
        order.sort_unstable_by_key(|&(k, _)| (k.instrument_id, k.publisher_id));
        for (_, i) in order {
            self.insts[i]
                .folder
                .finish(&mut self.events, &mut self.aggressor_stats);
        }
        if let Some(p) = &mut self.pressure {
            for ev in &self.events {
                p.on_event(ev, &self.chain);
            }
            p.flush(&self.chain);
        }
    }

    /// Applies one record of any schema.
    ///
    /// # Errors
    /// [`Error::MalformedRecord`] when the record is shorter than its rtype; it is
    /// counted in [`MarketStats::malformed`], the state is unchanged and the caller can
    /// go on with the next record.
    pub fn on_record(&mut self, rec: &RecordRef<'_>) -> Result<Step> {
        let rtype = rec.header().rtype;
        let malformed = |stats: &mut MarketStats, reason| {
            stats.records += 1;
            stats.malformed += 1;
            Error::MalformedRecord { rtype, reason }
        };
        match rtype {
            rtype::MBO => match rec.try_get::<MboMsg>() {
                Ok(msg) => Ok(Step::Mbo(self.on_mbo(msg))),
                Err(_) => Err(malformed(&mut self.stats, "record shorter than an MboMsg")),
            },
            rtype::INSTRUMENT_DEF => match rec.try_get::<InstrumentDefMsg>() {
                Ok(def) => Ok(Step::Definition(self.on_definition(def))),
                Err(_) => Err(malformed(
                    &mut self.stats,
                    "record shorter than an InstrumentDefMsg",
                )),
            },
            rtype::STATISTICS => match rec.try_get::<StatMsg>() {
                Ok(stat) => {
                    self.on_stat(stat);
                    Ok(Step::Statistics)
                }
                Err(_) => Err(malformed(&mut self.stats, "record shorter than a StatMsg")),
            },
            other => {
                self.events.clear();
                self.stats.records += 1;
                Ok(match other {
                    rtype::SYSTEM => {
                        self.stats.system += 1;
                        Step::System
                    }
                    rtype::ERROR => {
                        self.stats.gateway_errors += 1;
                        Step::GatewayError
                    }
                    rtype::SYMBOL_MAPPING => {
                        self.stats.symbol_mappings += 1;
                        Step::SymbolMapping
                    }
                    rtype::STATUS => {
                        self.stats.status += 1;
                        Step::Status
                    }
                    _ => {
                        self.stats.ignored_records += 1;
                        Step::Other
                    }
                })
            }
        }
    }

    /// Applies a definition to the chain; what was cached about the instrument (role,
    /// multiplier, pressure keys) is refreshed at its next record.
    pub fn on_definition(&mut self, def: &InstrumentDefMsg) -> ChainUpdate {
        self.events.clear();
        self.stats.records += 1;
        self.stats.definitions += 1;
        let update = self.chain.apply(def);
        let iid = def.hd.instrument_id;
        if let Some(c) = self.chain.get(iid) {
            self.underlying.add_option(c);
        }
        if let Some(p) = &mut self.pressure {
            p.forget_contract(iid);
        }
        if let Some(idx) = self.by_instrument.get(&iid) {
            for &i in idx {
                self.insts[i as usize].role = None;
            }
        }
        update
    }

    /// Applies a statistics record to the [`StatStore`] (open interest, cleared
    /// volume, settlement; other types are counted there).
    pub fn on_stat(&mut self, stat: &StatMsg) {
        self.events.clear();
        self.stats.records += 1;
        self.stats.statistics += 1;
        self.statistics.apply(stat);
    }

    /// The state of the book at `index` in [`Books`] (one state per book, created with
    /// it, so the book's index is the state's index).
    #[inline]
    fn slot(&mut self, key: BookKey, index: usize) -> usize {
        if index < self.insts.len() {
            return index;
        }
        while self.insts.len() <= index {
            let key = if self.insts.len() == index {
                key
            } else {
                // Cannot happen: books are created only through this type.
                self.books
                    .iter()
                    .nth(self.insts.len())
                    .map_or(key, |(k, _)| k)
            };
            let i = u32::try_from(self.insts.len()).unwrap_or(u32::MAX);
            self.by_instrument
                .entry(key.instrument_id)
                .or_default()
                .push(i);
            self.insts.push(InstState {
                key,
                folder: AggressorFolder::new(),
                role: None,
                pressure_slot: None,
                reset_pending: true,
            });
        }
        index
    }

    #[inline]
    fn role(&mut self, i: usize) -> InstrumentRole {
        if let Some(r) = self.insts[i].role {
            return r;
        }
        let id = self.insts[i].key.instrument_id;
        let role = if let Some(c) = self.chain.get(id) {
            InstrumentRole::Option {
                multiplier: c.multiplier,
            }
        } else if self.chain.future(id).is_some() {
            InstrumentRole::Future
        } else {
            InstrumentRole::Unknown
        };
        self.insts[i].role = Some(role);
        role
    }

    /// Applies one MBO record. The aggressor events it completed (usually none; those
    /// of a match event at its `F_LAST`) are in [`MarketState::events`] until the next
    /// call.
    pub fn on_mbo(&mut self, msg: &MboMsg) -> MboStep {
        self.stats.records += 1;
        self.stats.mbo_records += 1;
        self.events.clear();
        let flags = msg.flags;
        // A record without a capture time (`UNDEF_TIMESTAMP`) cannot place itself on
        // the clock: like a flagged one, it builds the book and moves no window.
        let excluded =
            flags.is_snapshot() || flags.is_bad_ts_recv() || msg.ts_recv == dbn::UNDEF_TIMESTAMP;
        if !excluded {
            self.now = self.now.max(msg.ts_recv);
            if let Some(p) = &mut self.pressure {
                p.advance(msg.ts_recv, &self.chain);
            }
        }
        let update = self.books.apply(msg);
        let i = self.slot(update.key, update.index);
        let role = self.role(i);
        // The byte's enum, without `MboMsg::action`'s formatted error on a bad byte
        // (an out-of-line call on every record).
        let action = Action::try_from(msg.action as u8).ok();
        match action {
            None => self.stats.bad_action += 1,
            Some(action) => {
                let multiplier = match role {
                    InstrumentRole::Option { multiplier } => Some(multiplier),
                    InstrumentRole::Unknown => {
                        self.stats.unknown_instrument += 1;
                        Some(self.default_multiplier)
                    }
                    InstrumentRole::Future => None,
                };
                if let Some(multiplier) = multiplier {
                    // A trade leaves the book unchanged: its book now is the book
                    // before the print.
                    let bbo_before = if action == Action::Trade {
                        self.books
                            .at(update.index)
                            .map(|b| b.bbo())
                            .unwrap_or_default()
                    } else {
                        Bbo::default()
                    };
                    let before = self.events.len();
                    self.insts[i].folder.on_record(
                        msg,
                        action,
                        &bbo_before,
                        multiplier,
                        &mut self.events,
                        &mut self.aggressor_stats,
                    );
                    if role == InstrumentRole::Unknown {
                        self.stats.default_multiplier_events += (self.events.len() - before) as u64;
                    }
                }
                if action == Action::Clear {
                    self.insts[i].reset_pending = true;
                }
            }
        }
        if flags.is_snapshot() {
            self.insts[i].reset_pending = true;
        }
        if let Some(p) = &mut self.pressure {
            for ev in &self.events {
                p.on_event(ev, &self.chain);
            }
        }
        if update.last && !excluded {
            self.sample_book(i, update.index, role, msg.ts_recv);
        }
        MboStep {
            update,
            role,
            action,
        }
    }

    /// The `F_LAST` sample of a book: an underlying price for a future, a pressure
    /// sample otherwise.
    fn sample_book(&mut self, i: usize, index: usize, role: InstrumentRole, ts_recv: u64) {
        let Some(bbo) = self.books.at(index).map(|b| b.bbo()) else {
            return;
        };
        let id = self.insts[i].key.instrument_id;
        if role != InstrumentRole::Unknown {
            self.underlying.on_bbo(id, &bbo, ts_recv);
        }
        if role == InstrumentRole::Future {
            if self.underlying_from_books {
                if let (Some(mid), Some(p)) = (bbo.mid(), &mut self.pressure) {
                    p.set_underlying_price(id, mid);
                }
            }
            return;
        }
        let Some(p) = &mut self.pressure else {
            return;
        };
        let st = &mut self.insts[i];
        let slot = *st
            .pressure_slot
            .get_or_insert_with(|| p.slot_of(st.key.instrument_id));
        if st.reset_pending {
            st.reset_pending = false;
            p.reset_book_at(slot);
        }
        p.on_book_at(slot, &bbo, ts_recv, &self.chain);
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggressor::AggressorSide;
    use crate::pressure::{GroupKey, WindowSpec, NS_PER_SEC};
    use dbn::{FlagSet, RecordHeader};

    const PX: i64 = 1_000_000_000;
    const LAST: u8 = dbn::flags::LAST;

    fn rec(ts: u64, action: u8, side: u8, oid: u64, px: i64, size: u32, flags: u8) -> MboMsg {
        MboMsg {
            hd: RecordHeader::new::<MboMsg>(rtype::MBO, 1, 42, ts),
            order_id: oid,
            price: px,
            size,
            flags: FlagSet::new(flags),
            channel_id: 0,
            action: action as _,
            side: side as _,
            ts_recv: ts,
            ts_in_delta: 0,
            sequence: 0,
        }
    }

    /// A market with one tumbling one-second pressure window.
    fn one_second_windows() -> MarketState {
        MarketState::new(MarketConfig {
            pressure: Some(PressureConfig {
                windows: vec![WindowSpec::tumbling(NS_PER_SEC)],
                ..PressureConfig::default()
            }),
            ..MarketConfig::default()
        })
        .unwrap()
    }

    #[test]
    fn records_to_events_and_windows() {
        let mut m = one_second_windows();
        let t0 = 10 * NS_PER_SEC;
        let snap = dbn::flags::SNAPSHOT | dbn::flags::BAD_TS_RECV;
        let setup = [
            rec(1, b'R', b'N', 0, dbn::UNDEF_PRICE, 0, snap),
            rec(1, b'A', b'B', 1, 100 * PX, 5, snap),
            rec(1, b'A', b'A', 2, 101 * PX, 3, snap | LAST),
            rec(t0, b'A', b'A', 3, 101 * PX, 2, LAST),
        ];
        for r in &setup {
            m.on_mbo(r);
            assert!(m.events().is_empty());
        }
        // A buyer takes 4 at 101: orders 2 (3) and 3 (1 of 2).
        let event = [
            rec(t0 + 5, b'T', b'B', 9, 101 * PX, 4, 0),
            rec(t0 + 5, b'F', b'A', 2, 101 * PX, 3, 0),
            rec(t0 + 5, b'F', b'A', 3, 101 * PX, 1, 0),
            rec(t0 + 6, b'C', b'A', 2, 101 * PX, 3, 0),
        ];
        for r in &event {
            m.on_mbo(r);
            assert!(m.events().is_empty());
        }
        m.on_mbo(&rec(t0 + 6, b'C', b'A', 3, 101 * PX, 1, LAST));
        let done = m.events().to_vec();
        assert_eq!(done.len(), 1);
        let e = done[0];
        assert_eq!((e.side, e.size, e.ts_recv), (AggressorSide::Buy, 4, t0 + 5));
        assert_eq!(e.bbo_before.ask.unwrap().size, 5);
        assert_eq!(e.bbo_before.bid.unwrap().price, 100 * PX);
        // No definition: default multiplier 1.0, premium 101 × 4.
        assert_eq!(e.premium, rust_decimal::Decimal::from(404));
        assert_eq!(m.stats().default_multiplier_events, 1);
        m.on_mbo(&rec(t0 + NS_PER_SEC, b'N', b'N', 0, 0, 0, LAST));
        let w: Vec<_> = m.drain_windows().collect();
        let inst = w
            .iter()
            .find(|w| w.key == GroupKey::Instrument(42))
            .unwrap();
        assert_eq!((inst.start_ns, inst.metrics.buy_volume), (t0, 4));
        // Samples at t0 (first live one: no OFI term) and after the trade: the ask
        // stayed at 101 and fell from 5 to 1: −1 + 5 = +4.
        assert_eq!(inst.metrics.book_samples, 2);
        assert_eq!(inst.metrics.ofi, 4);
        // Snapshot records opened no window before t0.
        assert!(w.iter().all(|w| w.start_ns >= t0));
    }

    #[test]
    fn malformed_and_other_records() {
        let mut m = MarketState::new(MarketConfig::default()).unwrap();
        let r = rec(5, b'A', b'B', 1, PX, 1, LAST);
        assert!(matches!(
            m.on_record(&RecordRef::from(&r)).unwrap(),
            Step::Mbo(MboStep {
                role: InstrumentRole::Unknown,
                ..
            })
        ));
        // A 40-byte status record whose header claims MBO.
        let mut short = dbn::StatusMsg::default();
        short.hd.rtype = rtype::MBO;
        assert!(matches!(
            m.on_record(&RecordRef::from(&short)),
            Err(Error::MalformedRecord { .. })
        ));
        // Other record types are counted and ignored.
        let status = dbn::StatusMsg::default();
        assert_eq!(
            m.on_record(&RecordRef::from(&status)).unwrap(),
            Step::Status
        );
        assert_eq!((m.stats().status, m.stats().malformed), (1, 1));
        assert_eq!(m.stats().mbo_records, 1);
    }

    #[test]
    fn a_record_without_capture_time_moves_no_clock() {
        let mut m = one_second_windows();
        let t0 = 10 * NS_PER_SEC;
        m.on_mbo(&rec(t0, b'A', b'A', 1, 101 * PX, 5, LAST));
        // A trade whose records carry no ts_recv (UNDEF_TIMESTAMP): the book follows
        // it, the clock and the windows do not.
        let undef = dbn::UNDEF_TIMESTAMP;
        m.on_mbo(&rec(undef, b'T', b'B', 9, 101 * PX, 2, 0));
        m.on_mbo(&rec(undef, b'F', b'A', 1, 101 * PX, 2, 0));
        m.on_mbo(&rec(undef, b'M', b'A', 1, 101 * PX, 3, LAST));
        assert_eq!(m.now(), t0);
        assert_eq!(m.events().len(), 1);
        assert!(m.events()[0].bad_ts_recv);
        // Time goes on from where it was: the next second's window closes as usual.
        m.on_mbo(&rec(t0 + 2 * NS_PER_SEC, b'A', b'B', 2, 100 * PX, 1, LAST));
        assert_eq!(m.now(), t0 + 2 * NS_PER_SEC);
        let w: Vec<_> = m.drain_windows().collect();
        let inst = w
            .iter()
            .find(|w| w.key == GroupKey::Instrument(42))
            .expect("the first second's window closed");
        assert_eq!((inst.start_ns, inst.metrics.buy_volume), (t0, 0));
    }
}
