//! The crate's error type.

/// Errors raised by ifd-patterns.
///
/// Market data that cannot be used is counted and skipped (see [`crate::PatternStats`]);
/// these variants are for configuration and calls that cannot proceed at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration value is outside its valid range.
    #[error("invalid configuration: {field} = {value} ({reason})")]
    InvalidConfig {
        /// Name of the offending field.
        field: &'static str,
        /// The value given, rendered for the message.
        value: String,
        /// Why it is invalid.
        reason: &'static str,
    },
    /// A signal could not be serialised to JSON.
    #[error("cannot serialise signal {signal_id}: {source}")]
    Serialize {
        /// Id of the signal.
        signal_id: u64,
        /// The underlying serde error.
        #[source]
        source: serde_json::Error,
    },
}

/// Result alias of ifd-patterns.
pub type Result<T> = std::result::Result<T, Error>;
