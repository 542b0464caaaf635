//! The crate's error type.

use crate::key::{BaselineKey, TradingDay};
use crate::metric::Metric;

/// Errors raised by ifd-baseline.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A metric value was NaN, infinite or outside the metric's domain (negative
    /// volume, imbalance outside `[−1, 1]`); it is rejected, never stored or scored.
    #[error("invalid value {value} for {metric:?} at {key:?}")]
    InvalidValue {
        /// The metric.
        metric: Metric,
        /// The key of the observation.
        key: BaselineKey,
        /// The rejected value.
        value: f64,
    },
    /// A configuration value is out of range.
    #[error("invalid configuration: {reason}")]
    InvalidConfig {
        /// What is wrong.
        reason: &'static str,
    },
    /// A day with this trading date is already in the baseline.
    #[error("trading day {day:?} is already in the baseline")]
    DuplicateDay {
        /// The repeated day.
        day: TradingDay,
    },
    /// The bytes are shorter than their header says (or than a header).
    #[error("baseline bytes truncated: {len} bytes, expected {expected}")]
    Truncated {
        /// Bytes present.
        len: usize,
        /// Bytes required.
        expected: usize,
    },
    /// The bytes do not start with the baseline magic.
    #[error("not a baseline file (bad magic)")]
    BadMagic,
    /// The checksum does not match the content: the bytes are corrupted.
    #[error("baseline checksum mismatch: stored {stored:#010x}, computed {computed:#010x}")]
    ChecksumMismatch {
        /// CRC32 stored in the header.
        stored: u32,
        /// CRC32 of the bytes read.
        computed: u32,
    },
    /// The format version is not the one this build reads.
    #[error("baseline format version {found} is not supported (this build reads {supported})")]
    UnsupportedVersion {
        /// Version in the file.
        found: u16,
        /// Version this build reads.
        supported: u16,
    },
    /// The checksum matched but the body does not decode (a writer bug, not corruption).
    #[error("malformed baseline body at byte {offset}: {reason}")]
    Malformed {
        /// Offset in the body.
        offset: usize,
        /// What was wrong.
        reason: &'static str,
    },
    /// DBN bytes given to the builder did not decode.
    #[error("DBN decoding failed: {source}")]
    Decode {
        /// dbn's error.
        #[source]
        source: dbn::Error,
    },
    /// Calibration needs at least one labelled score.
    #[error("calibration needs labelled scores; got none")]
    EmptyCalibration,
}

/// Result alias of ifd-baseline.
pub type Result<T> = std::result::Result<T, Error>;
