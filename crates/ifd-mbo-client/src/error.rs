//! The crate's error type.

use std::path::PathBuf;

/// Errors raised by ifd-mbo-client.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An IO operation on a path failed.
    #[error("io error on {path}: {source}")]
    Io {
        /// The file or folder involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// Result alias of ifd-mbo-client.
pub type Result<T> = std::result::Result<T, Error>;
