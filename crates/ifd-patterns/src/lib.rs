//! # ifd-patterns
//!
//! Market-maker recognition from order life cycles, the institutional pattern detectors
//! (block, sweep, cross-strike, iceberg, accumulation), scored signals, and the v1.0
//! volume-spike detector kept as the fallback.
//!
//! ## Invariants
//! - Pure: no IO, no clock.
//!
//! ## Features
//! - `testing`: proptest strategies for downstream property-based test harnesses.
#![deny(missing_docs)]
