//! The crate's error type.

/// Errors raised by ifd-pressure.
///
/// Bad market data is normally counted and skipped (see the stats structs); these
/// variants are for calls whose input cannot be used at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A record could not be read as the type it claims to be.
    #[error("malformed record (rtype {rtype:#04x}): {reason}")]
    MalformedRecord {
        /// The record's rtype byte.
        rtype: u8,
        /// What was wrong with it.
        reason: &'static str,
    },
    /// A text was not a CME option symbol such as `"NQZ6 C21000"`.
    #[error("invalid option symbol {symbol:?}: {reason}")]
    InvalidSymbol {
        /// The symbol (at most 64 characters of it).
        symbol: String,
        /// What was wrong with it.
        reason: &'static str,
    },
    /// A configuration cannot be used.
    #[error("invalid configuration: {reason}")]
    InvalidConfig {
        /// What was wrong with it.
        reason: &'static str,
    },
}

/// Result alias of ifd-pressure.
pub type Result<T> = std::result::Result<T, Error>;
