//! # ifd-pressure
//!
//! The lowest analytic layer of ifd: it reads Databento MBO (L3) records exactly.
//!
//! It holds the options chain built from `InstrumentDefMsg` records, an exact
//! per-instrument limit order book with health states, aggressor events folded from
//! the records of one match event, and bid/ask pressure per instrument and strike over
//! time windows.
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
mod book;
mod chain;
mod error;
mod health;
mod pressure;
mod types;

pub use aggressor::{
    quote_rule, AggressorEvent, AggressorFolder, AggressorSide, AggressorStats, PassiveFill,
    PassiveFills, MAX_PASSIVE_FILLS,
};
pub use book::{
    Applied, Book, BookKey, BookStats, BookUpdate, Books, OrderInfo, QueuePosition, Skip,
};
pub use chain::{
    parse_option_symbol, Chain, ChainStats, ChainUpdate, FutureContract, OptionContract,
    OptionKind, OtherInstrument, ParsedOptionSymbol, TickRule,
};
pub use error::{Error, Result};
pub use health::{Health, HealthConfig, HealthStats, SuspectReason};
pub use pressure::{
    ofi_term, GroupKey, Groupings, MetricKind, PressureConfig, PressureStats, PressureTracker,
    PressureWindow, WindowMetrics, WindowSpec, NS_PER_SEC,
};
pub use types::{Bbo, Level};
