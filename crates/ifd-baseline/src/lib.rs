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
#![forbid(unsafe_code)]

mod baseline;
mod calibration;
mod error;
mod fdr;
mod intraday;
mod key;
mod metric;
mod persist;
pub mod stats;
#[cfg(feature = "testing")]
pub mod testing;

pub use baseline::{
    Baseline, BaselineConfig, DayObservations, Observation, Outcome, Scope, Scored, ScoredAgainst,
    SeriesId, SeriesModel, WindowScores,
};
pub use calibration::{reliability, Calibration, ReliabilityBin};
pub use error::{Error, Result};
pub use fdr::benjamini_hochberg;
pub use intraday::IntradayEwma;
pub use key::{
    central_offset_hours, BaselineKey, ExpiryClass, MoneynessBucket, Right, SessionTime,
    TimeBucket, TradingDay, SESSION_MINUTES,
};
pub use metric::{Metric, Tail, Transform, MAX_ABS_VALUE};
pub use persist::{FORMAT_VERSION, MAGIC};
