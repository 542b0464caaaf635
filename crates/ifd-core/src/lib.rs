//! # ifd-core
//!
//! The small, stable bottom of the ifd workspace (in the spirit of `tracing-core`): the
//! pieces several crates need and none should own.
//!
//! - [`calendar`]: one CME Globex calendar for Nasdaq-100 futures and options: US Central
//!   time through `chrono-tz`, the weekly hours with the daily break, exchange holidays
//!   (full closures and early halts) and early closes, the trading date of a timestamp and
//!   the session of a trading date.
//! - [`envelope`]: one persistence envelope (magic, format version, payload length,
//!   CRC32) around any payload, with typed errors on decode.
//! - [`idmap`]: [`IdHasher`] and [`IdMap`], the fixed, seedless hasher for integer ids.
//!
//! ## Quick start
//!
//! ```
//! use ifd_core::calendar::Calendar;
//! use ifd_core::envelope::Envelope;
//!
//! let cal = Calendar::cme_equity();
//! // Wednesday 2025-11-12 15:00 UTC is 09:00 CT: open, trading date the same day.
//! let ts: u64 = 1_762_959_600_000_000_000;
//! assert!(cal.is_open(ts));
//! assert_eq!(cal.trading_date(ts).map(|d| d.to_string()), Some("2025-11-12".into()));
//!
//! const FORMAT: Envelope = Envelope::new(b"DEMO", 1);
//! let bytes = FORMAT.encode(b"payload");
//! assert_eq!(FORMAT.decode(&bytes), Ok(&b"payload"[..]));
//! ```
//!
//! ## Invariants
//!
//! - No IO and no clock reads: time comes in as an explicit UNIX-nanosecond timestamp
//!   (dbn's `ts_recv`/`ts_event`), bytes come in as slices.
//! - No panics on outside input: out-of-range timestamps give `None`/`false`, bad bytes
//!   give an [`EnvelopeError`].
//! - Depends on no other ifd crate; every ifd crate may depend on it.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod calendar;
pub mod envelope;
pub mod idmap;

pub use calendar::{Calendar, Closure, Session, CENTRAL};
pub use envelope::{Envelope, EnvelopeError};
pub use idmap::{IdHasher, IdMap, IdSet};
