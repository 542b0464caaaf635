//! # ifd-pressure
//!
//! The lowest analytic layer of ifd: it reads Databento MBO (L3) records exactly.
//!
//! It holds the options chain built from `InstrumentDefMsg` records, an exact
//! per-instrument limit order book with health states, aggressor events folded from
//! the records of one match event, and bid/ask pressure per instrument and strike over
//! time windows.
//!
//! ## Quick start: books and the chain
//!
//! Feed `dbn::MboMsg` records to [`Books`] (one exact L3 [`Book`] per publisher and
//! instrument) and read a book only after a record that carries `F_LAST`:
//!
//! ```
//! use dbn::{flags, rtype, FlagSet, MboMsg, RecordHeader, Side, UNDEF_PRICE};
//! use ifd_pressure::{Books, Health, Level};
//!
//! fn mbo(action: u8, side: u8, order_id: u64, price: i64, size: u32, flags: u8) -> MboMsg {
//!     MboMsg {
//!         hd: RecordHeader::new::<MboMsg>(rtype::MBO, 1, 42, 0),
//!         order_id,
//!         price,
//!         size,
//!         flags: FlagSet::new(flags),
//!         action: action as std::ffi::c_char,
//!         side: side as std::ffi::c_char,
//!         ts_recv: 1_000 + order_id,
//!         ..MboMsg::default()
//!     }
//! }
//! const PX: i64 = 1_000_000_000; // 1.00 in dbn's fixed point
//! let records = [
//!     mbo(b'R', b'N', 0, UNDEF_PRICE, 0, 0),                  // clear: book recovering
//!     mbo(b'A', b'B', 1, 5 * PX, 10, 0),                      // bid 5.00 x 10
//!     mbo(b'A', b'B', 2, 5 * PX, 4, 0),                       // bid 5.00 x 4, behind #1
//!     mbo(b'A', b'A', 3, 5 * PX + PX / 4, 7, flags::LAST),    // ask 5.25 x 7; event ends
//!     mbo(b'T', b'A', 0, 5 * PX, 3, 0),                       // sell aggressor: no book change
//!     mbo(b'F', b'B', 1, 5 * PX, 3, 0),                       // fill of #1: no book change
//!     mbo(b'C', b'B', 1, 5 * PX, 3, flags::LAST),             // the fill's book effect
//! ];
//! let mut books = Books::new();
//! for r in &records {
//!     books.apply(r);
//! }
//! let book = books.book(42).unwrap();
//! assert!(book.is_consistent());
//! assert_eq!(books.health(42), Some(Health::Ok));
//! assert_eq!(book.best(Side::Bid), Some(Level { price: 5 * PX, size: 11, count: 2 }));
//! assert_eq!(book.bbo().ask.unwrap().size, 7);
//! assert_eq!(book.queue_position(2).unwrap().orders_ahead, 1);
//! assert_eq!(books.stats().unknown_order_refs(), 0);
//!
//! // Option contracts come from definitions (`Chain::apply`); symbols parse as a fallback.
//! let parsed = ifd_pressure::parse_option_symbol("NQZ6 C21000").unwrap();
//! assert_eq!((parsed.root.as_str(), parsed.strike), ("NQ", 21_000 * PX));
//! ```
//!
//! ## Quick start: aggressor events and pressure
//!
//! [`MarketState`] composes the books, the chain, the aggressor folding and the
//! [`PressureTracker`] behind one call per record. A match event (a `T` per price level
//! with the aggressor's side, the `F` fills of the resting orders, then the `C`/`M`
//! records that change the book, up to `F_LAST`) comes out as one [`AggressorEvent`];
//! closed windows come out of [`MarketState::drain_windows`]:
//!
//! ```
//! use dbn::{flags, rtype, FlagSet, MboMsg, RecordHeader};
//! use ifd_pressure::{
//!     AggressorSide, GroupKey, MarketConfig, MarketState, MetricKind, PressureConfig,
//!     WindowSpec, NS_PER_SEC,
//! };
//!
//! fn mbo(ts: u64, action: u8, side: u8, order_id: u64, price: i64, size: u32, flags: u8) -> MboMsg {
//!     MboMsg {
//!         hd: RecordHeader::new::<MboMsg>(rtype::MBO, 1, 42, ts),
//!         order_id,
//!         price,
//!         size,
//!         flags: FlagSet::new(flags),
//!         action: action as std::ffi::c_char,
//!         side: side as std::ffi::c_char,
//!         ts_recv: ts,
//!         ..MboMsg::default()
//!     }
//! }
//! const PX: i64 = 1_000_000_000;
//! let t0 = 1_700_000_000 * NS_PER_SEC;
//! let cfg = MarketConfig {
//!     pressure: Some(PressureConfig {
//!         windows: vec![WindowSpec::tumbling(60 * NS_PER_SEC)],
//!         ..PressureConfig::default()
//!     }),
//!     ..MarketConfig::default()
//! };
//! let mut market = MarketState::new(cfg)?;
//! let records = [
//!     mbo(t0, b'A', b'B', 1, 5 * PX, 10, flags::LAST),
//!     mbo(t0, b'A', b'A', 2, 6 * PX, 2, flags::LAST),
//!     mbo(t0, b'A', b'A', 3, 7 * PX, 5, flags::LAST),
//!     // A buyer sweeps two levels: T side B = buy aggressor.
//!     mbo(t0 + 9, b'T', b'B', 77, 6 * PX, 2, 0),
//!     mbo(t0 + 9, b'F', b'A', 2, 6 * PX, 2, 0),
//!     mbo(t0 + 9, b'T', b'B', 77, 7 * PX, 1, 0),
//!     mbo(t0 + 9, b'F', b'A', 3, 7 * PX, 1, 0),
//!     mbo(t0 + 9, b'C', b'A', 2, 6 * PX, 2, 0),
//!     mbo(t0 + 9, b'M', b'A', 3, 7 * PX, 4, flags::LAST),
//! ];
//! let mut events = Vec::new();
//! for r in &records {
//!     market.on_mbo(r);
//!     events.extend_from_slice(market.events());
//! }
//! let e = events[0];
//! assert_eq!((e.side, e.size, e.levels), (AggressorSide::Buy, 3, 2));
//! assert_eq!(e.bbo_before.ask.unwrap().price, 6 * PX);
//! assert_eq!(e.passive.as_slice().len(), 2);
//! // No definition for instrument 42: the default multiplier 1 gives 6×2 + 7×1 = 19.
//! assert_eq!(e.premium, rust_decimal::Decimal::from(19));
//!
//! market.end_session(); // end of data: close the open windows
//! let w = market
//!     .drain_windows()
//!     .find(|w| w.key == GroupKey::Instrument(42))
//!     .unwrap();
//! assert_eq!(w.metrics.buy_volume, 3);
//! assert_eq!(w.metrics.get_lossy(MetricKind::Imbalance), 1.0);
//! # Ok::<(), ifd_pressure::Error>(())
//! ```
//!
//! ## Options analytics
//! [`analytics`] holds undiscounted Black-76 implied volatility and greeks
//! ([`OptionAnalytics::of`]); no NaN leaves it (`None` where no volatility fits).
//!
//! ## Invariants
//! - Pure: no IO, no clock. Time comes only from the records' `ts_recv`/`ts_event`.
//! - Records are `dbn`'s own types; there is no parallel event type.
//! - Prices stay `i64` at 1e-9 (dbn's unit); `UNDEF_PRICE` never flows inward.
//!
//! ## Features
//! - `testing`: proptest strategies for downstream property-based test harnesses.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod aggressor;
pub mod analytics;
mod book;
mod chain;
mod error;
mod health;
mod market;
mod pressure;
mod statistics;
#[cfg(feature = "testing")]
pub mod testing;
mod types;
mod underlying;

pub use aggressor::{
    quote_rule, AggressorEvent, AggressorFolder, AggressorSide, AggressorStats, PassiveFill,
    PassiveFills, MAX_PASSIVE_FILLS,
};
pub use analytics::OptionAnalytics;
pub use book::{
    Applied, Book, BookKey, BookStats, BookUpdate, Books, OrderInfo, QueuePosition, Skip,
};
pub use chain::{
    parse_option_symbol, Chain, ChainStats, ChainUpdate, FutureContract, OptionContract,
    OptionKind, OtherInstrument, ParsedOptionSymbol, TickRule,
};
pub use error::{Error, Result};
pub use health::{Completeness, Health, HealthConfig, HealthStats, SuspectReason};
/// The fixed id hasher and its maps live in `ifd-core`; re-exported for callers.
pub use ifd_core::idmap::{IdHasher, IdMap, IdSet};
pub use market::{InstrumentRole, MarketConfig, MarketState, MarketStats, MboStep, Step};
pub use pressure::{
    ofi_term, GroupKey, Groupings, MetricKind, PressureConfig, PressureStats, PressureTracker,
    PressureWindow, WindowMetrics, WindowSpec, NS_PER_SEC,
};
pub use statistics::{InstrumentStats, StatStore, StatStoreStats, StatValue};
pub use types::{Bbo, Level};
pub use underlying::{
    ParityConfig, UnderlyingConfig, UnderlyingPrice, UnderlyingResolver, UnderlyingSource,
    UnderlyingStats,
};
