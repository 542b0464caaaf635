//! # ifd-mbo-client
//!
//! The IO edge of ifd: DBN files streamed record by record with typed errors, Databento
//! live with reconnection and backfill, and Databento historical downloads with a cache
//! that never pays twice. The market simulator lives in its own crate, `ifd-sim`.
//!
//! ## Quick start: reading DBN
//!
//! [`FileSource`] streams a `.dbn` or `.dbn.zst` file (DBN v1 to v3, upgraded to v3) or
//! DBN bytes held in memory, one [`dbn::RecordRef`] at a time in constant memory. A file
//! cut off mid-record is an [`Error::Truncated`], not a quiet end.
//!
//! ```
//! use dbn::{encode::{DbnEncoder, EncodeRecord}, MboMsg, MetadataBuilder, SType, Schema};
//! use ifd_mbo_client::{Error, FileSource};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Any DBN bytes will do; here two MBO records written with dbn's encoder.
//! let metadata = MetadataBuilder::new()
//!     .dataset("GLBX.MDP3")
//!     .schema(Some(Schema::Mbo))
//!     .start(0)
//!     .stype_in(Some(SType::Parent))
//!     .stype_out(SType::InstrumentId)
//!     .build();
//! let mut bytes = Vec::new();
//! let mut encoder = DbnEncoder::new(&mut bytes, &metadata)?;
//! encoder.encode_record(&MboMsg::default())?;
//! encoder.encode_record(&MboMsg::default())?;
//!
//! let mut source = FileSource::from_bytes(&bytes)?; // or FileSource::open(path)?
//! while let Some(record) = source.next_record()? {
//!     if let Some(mbo) = record.get::<MboMsg>() {
//!         assert_eq!(mbo.size, 0);
//!     }
//! }
//! assert_eq!(source.stats().records(), 2);
//!
//! // The same bytes cut off inside the second record.
//! let mut cut = FileSource::from_bytes(&bytes[..bytes.len() - 10])?;
//! assert!(cut.next_record()?.is_some());
//! assert!(matches!(cut.next_record(), Err(Error::Truncated { .. })));
//! # Ok(())
//! # }
//! ```
//!
//! [`write_atomic`] is the one function through which persisted state (baselines,
//! budget ledgers, rollout stages) reaches the disk: temp file, fsync, rename.
//!
//! ## Features
//! - `live`: Databento live streaming (tokio, databento).
//! - `historical`: Databento historical downloads and the cache (tokio, databento).
//! - `tls`: rustls for the real historical HTTPS API (through databento's default features);
//!   the live gateway is plain TCP and loopback tests need no TLS.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod error;
pub mod file;
#[cfg(feature = "historical")]
pub mod historical;
#[cfg(feature = "live")]
pub mod live;
pub mod persist;
pub mod pipeline;

pub use error::{DbnPart, Error, Result};
pub use file::{FileSource, FileSourceOptions, FileStats, Records};
pub use persist::write_atomic;
