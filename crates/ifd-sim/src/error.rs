//! The crate's error type.

use std::path::PathBuf;

/// Errors raised by ifd-sim.
///
/// Generating a session never fails; only writing it (DBN, JSONL) and reading truth
/// files back can.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Creating, writing or syncing a file failed.
    #[error("io error on {path}: {source}")]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// dbn rejected the metadata or a record while encoding, or a symbol did not fit
    /// its fixed-size field.
    #[error("DBN encode error: {source}")]
    DbnEncode {
        /// The encoder's error.
        #[source]
        source: dbn::Error,
    },

    /// The Zstandard encoder failed on an in-memory buffer.
    #[error("zstd compression failed: {source}")]
    Compress {
        /// The encoder's error.
        #[source]
        source: std::io::Error,
    },

    /// A line of a truth JSONL text is not a valid truth record.
    #[error("truth JSONL line {line} is invalid: {source}")]
    TruthLine {
        /// 1-based line number in the text.
        line: usize,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },
}

/// Result alias of ifd-sim.
pub type Result<T> = std::result::Result<T, Error>;
