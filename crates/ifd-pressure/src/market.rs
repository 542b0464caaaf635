//! [`MarketState`]: books, chain, aggressor events and pressure behind one call per
//! record.

use dbn::{rtype, InstrumentDefMsg, MboMsg, RecordRef, FIXED_PRICE_SCALE};

use crate::aggressor::{AggressorEvent, AggressorFolder, AggressorStats};
use crate::book::{BookKey, Books};
use crate::chain::{Chain, ChainUpdate};
use crate::error::{Error, Result};
use crate::health::HealthConfig;
use crate::pressure::{PressureConfig, PressureTracker, PressureWindow};
use crate::types::Bbo;

/// Configuration of a [`MarketState`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarketConfig {
    /// Pressure windows and groupings.
    pub pressure: PressureConfig,
    /// Book health thresholds.
    pub health: HealthConfig,
    /// Multiplier (1e-9 fixed point) for instruments the chain has no option contract
    /// for; the default is 1.0, so the premium of such a print is price × size.
    pub default_multiplier: i64,
    /// Take the underlying price for moneyness from the mid of each future's own book
    /// (when the stream carries the future's MBO and the chain knows it as a future).
    pub underlying_from_books: bool,
}

impl Default for MarketConfig {
    fn default() -> Self {
        Self {
            pressure: PressureConfig::default(),
            health: HealthConfig::default(),
            default_multiplier: FIXED_PRICE_SCALE,
            underlying_from_books: true,
        }
    }
}

/// Counters of [`MarketState`] itself (books, folding and pressure keep their own).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MarketStats {
    /// Records given to [`MarketState::on_record`] or [`MarketState::on_mbo`].
    pub records: u64,
    /// MBO records.
    pub mbo_records: u64,
    /// Definition records applied to the chain.
    pub definitions: u64,
    /// Records of other types, ignored.
    pub ignored_records: u64,
    /// Aggressor events whose instrument had no option contract (default multiplier).
    pub default_multiplier_events: u64,
}

/// Whether an instrument is a future the chain knows (its book's mid is an
/// underlying price).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Unresolved,
    Future,
    Other,
}

#[derive(Debug, Clone)]
struct InstState {
    key: BookKey,
    folder: AggressorFolder,
    /// BBO at the instrument's last `F_LAST`.
    last_bbo: Bbo,
    multiplier: Option<i64>,
    role: Role,
    /// The last mid sent to the pressure tracker as an underlying price.
    last_mid: Option<i64>,
    pressure_slot: usize,
    /// The next book sample must not produce an OFI term (after `R` or a snapshot).
    reset_pending: bool,
}

/// Everything ifd-pressure keeps about a market, fed one record at a time.
///
/// Per MBO record it applies the book ([`Books`]), folds `T`/`F` records into
/// [`AggressorEvent`]s completed at `F_LAST`, samples the best bid/offer of the
/// instrument at each `F_LAST` for order flow and queue imbalance, and feeds the
/// [`PressureTracker`]. Definitions go to the [`Chain`], which gives multipliers and
/// group keys. The hot path does not allocate once its per-instrument state exists.
///
/// Records flagged `F_SNAPSHOT` or `F_BAD_TS_RECV` build books but never move the
/// window clock or enter a window.
#[derive(Debug, Clone)]
pub struct MarketState {
    books: Books,
    chain: Chain,
    pressure: PressureTracker,
    /// Per book, indexed like [`Books`].
    insts: Vec<InstState>,
    events: Vec<AggressorEvent>,
    aggressor_stats: AggressorStats,
    stats: MarketStats,
    default_multiplier: i64,
    underlying_from_books: bool,
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
        Ok(Self {
            books: Books::new().with_config(config.health),
            chain,
            pressure: PressureTracker::new(config.pressure)?,
            insts: Vec::new(),
            events: Vec::with_capacity(16),
            aggressor_stats: AggressorStats::default(),
            stats: MarketStats::default(),
            default_multiplier: config.default_multiplier,
            underlying_from_books: config.underlying_from_books,
        })
    }

    /// The books.
    #[must_use]
    pub fn books(&self) -> &Books {
        &self.books
    }

    /// The books, for gap marking by the caller.
    pub fn books_mut(&mut self) -> &mut Books {
        &mut self.books
    }

    /// The options chain.
    #[must_use]
    pub fn chain(&self) -> &Chain {
        &self.chain
    }

    /// The pressure tracker.
    #[must_use]
    pub fn pressure(&self) -> &PressureTracker {
        &self.pressure
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

    /// Sets an underlying future's price (1e-9 fixed point) for moneyness buckets.
    pub fn set_underlying_price(&mut self, underlying_id: u32, price: i64) {
        self.pressure.set_underlying_price(underlying_id, price);
    }

    /// Takes the pressure windows closed so far.
    pub fn drain_windows(&mut self) -> std::vec::Drain<'_, PressureWindow> {
        self.pressure.drain_closed()
    }

    /// Closes the open windows now (end of data), emitting them as incomplete.
    pub fn flush(&mut self) {
        self.pressure.flush(&self.chain);
    }

    /// Applies a definition to the chain; cached multipliers and roles are refreshed.
    pub fn on_definition(&mut self, def: &InstrumentDefMsg) -> ChainUpdate {
        self.stats.records += 1;
        self.stats.definitions += 1;
        let update = self.chain.apply(def);
        let iid = def.hd.instrument_id;
        self.pressure.forget_contract(iid);
        for st in self.insts.iter_mut().filter(|s| s.key.instrument_id == iid) {
            st.multiplier = None;
            st.role = Role::Unresolved;
        }
        update
    }

    /// Dispatches one record: MBO to [`MarketState::on_mbo`], definitions to
    /// [`MarketState::on_definition`]; other types are counted and ignored.
    ///
    /// # Errors
    /// [`Error::MalformedRecord`] when an MBO or definition record is shorter than its
    /// type.
    pub fn on_record(&mut self, rec: &RecordRef<'_>) -> Result<&[AggressorEvent]> {
        match rec.header().rtype {
            rtype::MBO => {
                let msg = rec
                    .try_get::<MboMsg>()
                    .map_err(|_| Error::MalformedRecord {
                        rtype: rtype::MBO,
                        reason: "record shorter than an MboMsg",
                    })?;
                Ok(self.on_mbo(msg))
            }
            rtype::INSTRUMENT_DEF => {
                let def =
                    rec.try_get::<InstrumentDefMsg>()
                        .map_err(|_| Error::MalformedRecord {
                            rtype: rtype::INSTRUMENT_DEF,
                            reason: "record shorter than an InstrumentDefMsg",
                        })?;
                self.on_definition(def);
                self.events.clear();
                Ok(&self.events)
            }
            _ => {
                self.stats.records += 1;
                self.stats.ignored_records += 1;
                self.events.clear();
                Ok(&self.events)
            }
        }
    }

    /// The state of the book at `index` in [`Books`] (one state per book, created with
    /// it, so the book's index is the state's index).
    fn slot(&mut self, key: BookKey, index: usize) -> usize {
        while self.insts.len() <= index {
            let key = if self.insts.len() == index {
                key
            } else {
                // Books created behind this state's back (through `books_mut`).
                self.books
                    .iter()
                    .nth(self.insts.len())
                    .map_or(key, |(k, _)| k)
            };
            let pressure_slot = self.pressure.slot_of(key.instrument_id);
            self.insts.push(InstState {
                key,
                folder: AggressorFolder::new(),
                last_bbo: Bbo::default(),
                multiplier: None,
                role: Role::Unresolved,
                last_mid: None,
                pressure_slot,
                reset_pending: true,
            });
        }
        index
    }

    fn multiplier(&mut self, i: usize) -> i64 {
        if let Some(m) = self.insts[i].multiplier {
            return m;
        }
        let iid = self.insts[i].key.instrument_id;
        if let Some(c) = self.chain.get(iid) {
            self.insts[i].multiplier = Some(c.multiplier);
            c.multiplier
        } else {
            self.stats.default_multiplier_events += 1;
            self.default_multiplier
        }
    }

    /// Applies one MBO record and returns the aggressor events it completed (usually
    /// none; those of a match event at its `F_LAST`). The slice is valid until the
    /// next call.
    pub fn on_mbo(&mut self, msg: &MboMsg) -> &[AggressorEvent] {
        self.stats.records += 1;
        self.stats.mbo_records += 1;
        self.events.clear();
        let update = self.books.apply(msg);
        let i = self.slot(update.key, update.index);
        let flags = msg.flags;
        let excluded = flags.is_snapshot() || flags.is_bad_ts_recv();
        if !excluded {
            self.pressure.advance(msg.ts_recv, &self.chain);
        }
        match msg.action as u8 {
            b'T' => {
                let mult = self.multiplier(i);
                let st = &mut self.insts[i];
                st.folder.on_trade(
                    msg,
                    &st.last_bbo,
                    mult,
                    &mut self.events,
                    &mut self.aggressor_stats,
                );
            }
            b'F' => self.insts[i].folder.on_fill(msg, &mut self.aggressor_stats),
            b'R' => {
                let st = &mut self.insts[i];
                st.folder
                    .flush_on_clear(&mut self.events, &mut self.aggressor_stats);
                st.reset_pending = true;
            }
            _ => {}
        }
        if flags.is_snapshot() {
            self.insts[i].reset_pending = true;
        }
        if update.last {
            let st = &mut self.insts[i];
            st.folder
                .finish(&mut self.events, &mut self.aggressor_stats);
            let bbo = self
                .books
                .at(update.index)
                .map(|b| b.bbo())
                .unwrap_or_default();
            st.last_bbo = bbo;
            if !excluded {
                let slot = st.pressure_slot;
                if st.reset_pending {
                    st.reset_pending = false;
                    self.pressure.reset_book_at(slot);
                }
                self.pressure
                    .on_book_at(slot, &bbo, msg.ts_recv, &self.chain);
                if self.underlying_from_books {
                    self.sample_underlying(i, &bbo);
                }
            }
        }
        for ev in &self.events {
            self.pressure.on_event(ev, &self.chain);
        }
        &self.events
    }

    fn sample_underlying(&mut self, i: usize, bbo: &Bbo) {
        let st = &mut self.insts[i];
        if st.role == Role::Unresolved {
            st.role = if self.chain.future(st.key.instrument_id).is_some() {
                Role::Future
            } else {
                Role::Other
            };
        }
        if st.role == Role::Future {
            if let Some(mid) = bbo.mid().filter(|&m| Some(m) != st.last_mid) {
                st.last_mid = Some(mid);
                self.pressure
                    .set_underlying_price(st.key.instrument_id, mid);
            }
        }
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

    #[test]
    fn records_to_events_and_windows() {
        let mut m = MarketState::new(MarketConfig {
            pressure: PressureConfig {
                windows: vec![WindowSpec::tumbling(NS_PER_SEC)],
                ..PressureConfig::default()
            },
            ..MarketConfig::default()
        })
        .unwrap();
        let t0 = 10 * NS_PER_SEC;
        let snap = dbn::flags::SNAPSHOT | dbn::flags::BAD_TS_RECV;
        let setup = [
            rec(1, b'R', b'N', 0, dbn::UNDEF_PRICE, 0, snap),
            rec(1, b'A', b'B', 1, 100 * PX, 5, snap),
            rec(1, b'A', b'A', 2, 101 * PX, 3, snap | LAST),
            rec(t0, b'A', b'A', 3, 101 * PX, 2, LAST),
        ];
        for r in &setup {
            assert!(m.on_mbo(r).is_empty());
        }
        // A buyer takes 4 at 101: orders 2 (3) and 3 (1 of 2).
        let event = [
            rec(t0 + 5, b'T', b'B', 9, 101 * PX, 4, 0),
            rec(t0 + 5, b'F', b'A', 2, 101 * PX, 3, 0),
            rec(t0 + 5, b'F', b'A', 3, 101 * PX, 1, 0),
            rec(t0 + 6, b'C', b'A', 2, 101 * PX, 3, 0),
        ];
        for r in &event {
            assert!(m.on_mbo(r).is_empty());
        }
        let done = m
            .on_mbo(&rec(t0 + 6, b'C', b'A', 3, 101 * PX, 1, LAST))
            .to_vec();
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
        assert!(m.on_record(&RecordRef::from(&r)).unwrap().is_empty());
        // A 40-byte status record whose header claims MBO.
        let mut short = dbn::StatusMsg::default();
        short.hd.rtype = rtype::MBO;
        assert!(matches!(
            m.on_record(&RecordRef::from(&short)),
            Err(Error::MalformedRecord { .. })
        ));
        // Other record types are counted and ignored.
        let status = dbn::StatusMsg::default();
        assert!(m.on_record(&RecordRef::from(&status)).unwrap().is_empty());
        assert_eq!(m.stats().ignored_records, 1);
        assert_eq!(m.stats().mbo_records, 1);
    }
}
