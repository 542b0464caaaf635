//! # ifd-baseline
//!
//! Robust 20-trading-day baselines of options flow by strike bucket and time of day,
//! with p-values, Benjamini–Hochberg q-values and a calibrated confidence.
//!
//! ## Invariants
//! - Pure: no IO, no clock; persistence is through bytes (versioned, checksummed), and
//!   the IO edge writes them atomically.
//!
//! ## Features
//! - `testing`: proptest strategies for downstream property-based test harnesses.
#![deny(missing_docs)]
