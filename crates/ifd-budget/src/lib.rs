//! # ifd-budget
//!
//! A Databento cost ledger against a monthly budget, with pacing, alerts, hard limits and
//! a budget-aware subscription planner. Money is `rust_decimal::Decimal`.
//!
//! ## Invariants
//! - Pure: no IO, no clock.
//!
//! ## Features
//! - `testing`: proptest strategies for downstream property-based test harnesses.
#![deny(missing_docs)]
