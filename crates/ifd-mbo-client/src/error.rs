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

    /// No Databento API key was given and the environment variable is unset.
    #[error("no Databento API key: pass one or set {var}")]
    MissingApiKey {
        /// The environment variable that was read.
        var: &'static str,
    },

    /// A live or historical configuration value is invalid.
    #[error("invalid configuration `{param}`: {reason}")]
    Config {
        /// The offending parameter.
        param: &'static str,
        /// Why it is invalid.
        reason: String,
    },

    /// The live source stopped on an error that retrying cannot fix (key rejected,
    /// subscription rejected, bad argument).
    #[cfg(feature = "live")]
    #[error("live source stopped: {reason}")]
    LiveFatal {
        /// What the gateway or the client said.
        reason: crate::live::FatalReason,
    },

    /// A Databento historical request failed (HTTP error status, transport, decode).
    #[cfg(feature = "historical")]
    #[error("Databento historical {request} failed: {source}")]
    Historical {
        /// The endpoint (`timeseries.get_range`, `metadata.get_cost`).
        request: &'static str,
        /// The client's error; `databento::Error::Api` carries the HTTP status.
        #[source]
        source: Box<databento::Error>,
    },

    /// The cost gate declined a paid historical request.
    #[error("download declined by the cost gate (quoted {quoted_usd} USD)")]
    DownloadDeclined {
        /// Databento's quote for the request, in US dollars.
        quoted_usd: f64,
    },
}

/// Result alias of ifd-mbo-client.
pub type Result<T> = std::result::Result<T, Error>;
