//! # ifd-mbo-client
//!
//! The IO edge of ifd: DBN files streamed record by record with typed errors, Databento
//! live with reconnection and backfill, Databento historical downloads with a cache that
//! never pays twice, and a deterministic NQ options market simulator that writes real DBN.
//!
//! ## Features
//! - `sim` (default): the market simulator.
//! - `live`: Databento live streaming (tokio, databento).
//! - `historical`: Databento historical downloads and the cache (tokio, databento).
//! - `testing`: proptest strategies for downstream property-based test harnesses.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod error;
pub mod file;
#[cfg(feature = "live")]
pub mod live;
pub mod persist;

pub use error::{DbnPart, Error, Result};
pub use file::{FileSource, FileSourceOptions, FileStats, Records};
pub use persist::write_atomic;
