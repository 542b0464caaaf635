//! # ifd-rollout
//!
//! Signal outcomes, success metrics, sequential A/B tests, adaptive thresholds and the
//! staged rollout (shadow, 10%, 50%, full) with emergency rollback to v1.0.
//!
//! ## Invariants
//! - Pure and generic: it knows a signal only as an id, a variant, a time and an outcome.
//!   No IO, no clock.
//!
//! ## Features
//! - `testing`: proptest strategies for downstream property-based test harnesses.
#![deny(missing_docs)]
