//! # ifd-engine
//!
//! The thin, deterministic composition of ifd v3.0 that other systems embed: the options
//! chain, the L3 books, aggressor events, pressure windows, the 20-day baseline and the
//! pattern detectors behind one [`Engine::on_record`] call, plus latency and uptime
//! monitors exported as plain data.
//!
//! ## Quick start (offline, on the simulator)
//!
//! The simulator is the `ifd-sim` crate (a dev-dependency here; any record source will
//! do).
//!
//! ```
//! use ifd_engine::Engine;
//! use ifd_sim::{Preset, SimConfig, Simulator};
//!
//! let sim = Simulator::new(SimConfig::preset(Preset::Quiet, 7));
//! let day = sim.flow_day();
//! let mut engine = Engine::builder().build().unwrap();
//! let mut signals = Vec::new();
//! for rec in day.records() {
//!     engine.on_record(&rec, &mut signals).unwrap();
//! }
//! engine.on_session_end(&mut signals);
//! assert_eq!(engine.stats().malformed, 0);
//! ```
//!
//! ## Invariants
//! - Sans-IO: the engine reads no file, socket or wall clock. Time is the records'
//!   `ts_recv`; the optional [`Clock`] feeds only the latency monitor.
//! - Deterministic: the same records give the same signals, byte for byte in JSON,
//!   whether they come from a file, the simulator or the live gateway.
//! - Bad records are counted in [`EngineStats`] and skipped; nothing panics on outside
//!   data.
//!
//! ## Features
//! - `testing`: proptest strategies of the lower crates for downstream harnesses.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod engine;
mod error;
pub mod eval;
pub mod monitor;
mod reference;

pub use engine::{Clock, Engine, EngineBuilder, EngineStats, EntryQuote, MonotonicClock};
pub use error::{Error, Result};
pub use monitor::{LatencyHistogram, LatencyReport, MarketHours, UptimeMonitor, UptimeReport};
pub use reference::BaselineReference;

// What an embedder needs, so that a trading system depends on this one crate (as
// databento-rs re-exports dbn).
/// Databento's record types and decoders, the vocabulary of every input.
pub use dbn;
pub use ifd_baseline::{
    pressure_config, AdapterStats, Baseline, BaselineBuilder, BaselineConfig, BuilderConfig,
    BuilderStats,
};
pub use ifd_patterns::{
    DetectorConfig, DetectorVersion, Direction, FlowSide, Pattern, PatternStats, Signal, V1Config,
    V1Stats,
};
pub use ifd_pressure::{
    AggressorStats, BookStats, Completeness, Health, HealthConfig, MarketState, UnderlyingPrice,
    UnderlyingSource,
};
