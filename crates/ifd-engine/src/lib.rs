//! # ifd-engine
//!
//! The thin, deterministic composition of ifd v3.0 that other systems embed: chain, book,
//! pressure, baseline and patterns behind one `on_record` call, with latency and uptime
//! monitors.
//!
//! ## Features
//! - `live`: drive the engine from Databento live.
//! - `testing`: proptest strategies for downstream property-based test harnesses.
#![deny(missing_docs)]
