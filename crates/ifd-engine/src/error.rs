//! The crate's error type.

/// Errors raised by ifd-engine.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A record's body is shorter than its rtype says (it was counted and skipped).
    #[error("malformed record (rtype {rtype:#04x}): {reason}")]
    MalformedRecord {
        /// The record's rtype byte.
        rtype: u8,
        /// What was wrong with it.
        reason: &'static str,
    },
    /// The detectors' configuration was rejected.
    #[error(transparent)]
    Patterns(#[from] ifd_patterns::Error),
    /// The baseline rejected its configuration or data.
    #[error(transparent)]
    Baseline(#[from] ifd_baseline::Error),
    /// The pressure tracker rejected its configuration.
    #[error(transparent)]
    Pressure(ifd_pressure::Error),
}

impl From<ifd_pressure::Error> for Error {
    fn from(e: ifd_pressure::Error) -> Self {
        match e {
            ifd_pressure::Error::MalformedRecord { rtype, reason } => {
                Self::MalformedRecord { rtype, reason }
            }
            other => Self::Pressure(other),
        }
    }
}

/// Result alias of ifd-engine.
pub type Result<T> = std::result::Result<T, Error>;
