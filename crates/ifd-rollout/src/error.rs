//! The crate's error type.

/// Everything that can go wrong in `ifd-rollout`.
///
/// Bad *observations* (a NaN latency, a confidence outside `[0, 1]`, a price update for an
/// unknown instrument) are not errors: they are skipped and counted in the stats struct of
/// the component that received them. Errors are reserved for calls whose arguments make
/// the requested operation impossible, and for persisted state that cannot be trusted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration value is outside its documented domain.
    #[error("invalid configuration: {field} {problem}")]
    InvalidConfig {
        /// The offending field, as named in the config struct.
        field: &'static str,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// A signal with this id is already being labelled.
    #[error("signal {signal_id} is already registered")]
    DuplicateSignal {
        /// The id given twice.
        signal_id: u64,
    },
    /// A signal's entry prices are unusable (non-positive mid or touch).
    #[error("signal {signal_id} has an unusable entry price {price}")]
    InvalidEntryPrice {
        /// The signal.
        signal_id: u64,
        /// The price (1e-9 units) that was rejected.
        price: i64,
    },
    /// An arithmetic result does not fit its type (a price or P&L far outside any market).
    #[error("arithmetic overflow while computing {what}")]
    Overflow {
        /// What was being computed.
        what: &'static str,
    },
    /// The persisted state is shorter than its header says, or shorter than a header.
    #[error("persisted rollout state is truncated: {len} bytes, expected {expected}")]
    Truncated {
        /// Bytes given.
        len: usize,
        /// Bytes the header announces (or the header size).
        expected: usize,
    },
    /// The persisted state is longer than its header says.
    #[error("persisted rollout state has trailing bytes: {len} bytes, expected {expected}")]
    TrailingBytes {
        /// Bytes given.
        len: usize,
        /// Bytes the header announces.
        expected: usize,
    },
    /// The persisted state does not start with the magic bytes.
    #[error("persisted rollout state has bad magic bytes")]
    BadMagic,
    /// The checksum over header and payload does not match.
    #[error("persisted rollout state checksum mismatch: stored {stored:#010x}, computed {computed:#010x}")]
    ChecksumMismatch {
        /// CRC32 stored in the trailer.
        stored: u32,
        /// CRC32 computed over the bytes read.
        computed: u32,
    },
    /// The persisted state was written by a format version this build does not read.
    #[error("persisted rollout state has format version {found}, this build reads {supported}")]
    UnsupportedVersion {
        /// Version in the file.
        found: u16,
        /// Version this build reads and writes.
        supported: u16,
    },
    /// The payload passed the checksum but does not decode (a writer bug, not corruption).
    #[error("persisted rollout state payload does not decode")]
    Decode(#[source] serde_json::Error),
    /// The state could not be encoded.
    #[error("rollout state could not be encoded")]
    Encode(#[source] serde_json::Error),
}

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
