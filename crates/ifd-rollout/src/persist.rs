//! The byte format of persisted state.
//!
//! The state is JSON inside the workspace's persistence envelope
//! ([`ifd_core::envelope`]; integers little endian):
//!
//! ```text
//! offset  size  field
//! 0       4     magic  b"IFDR"
//! 4       2     format version, u16 (currently 2)
//! 6       8     payload length N, u64
//! 14      N     payload: the state as JSON
//! 14+N    4     CRC32 (IEEE, crc32fast) of bytes 0..14+N
//! ```
//!
//! Version 1 had a `u32` length field; version 2 is the shared envelope, and a version-1
//! file is reported as [`Error::UnsupportedVersion`].
//!
//! Decoding checks, in order: the header is complete ([`Error::Truncated`]), the magic
//! ([`Error::BadMagic`]), the total length ([`Error::Truncated`] /
//! [`Error::TrailingBytes`]), the checksum ([`Error::ChecksumMismatch`]), the version
//! ([`Error::UnsupportedVersion`]), then the payload ([`Error::Decode`]). A CRC32 detects
//! every error burst up to 32 bits, so every single-byte corruption is caught; the
//! length field catches every truncation. Writing the bytes atomically (temp file,
//! fsync, rename) is the IO edge's job.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{Error, Result};
use ifd_core::envelope::{Envelope, EnvelopeError};

/// The magic bytes.
pub const MAGIC: [u8; 4] = *b"IFDR";
/// The format version this build reads and writes.
pub const FORMAT_VERSION: u16 = 2;
/// The rollout state's persistence envelope.
pub const ENVELOPE: Envelope = Envelope::new(&MAGIC, FORMAT_VERSION);

/// Encodes `value` in the format above with [`FORMAT_VERSION`].
///
/// # Errors
/// [`Error::Encode`] when serde_json refuses the value (e.g. a NaN float).
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    encode_with_version(value, FORMAT_VERSION)
}

/// Encodes `value` with an explicit version (tests of old files use this).
///
/// # Errors
/// As [`encode`].
pub fn encode_with_version<T: Serialize>(value: &T, version: u16) -> Result<Vec<u8>> {
    let payload = serde_json::to_vec(value).map_err(Error::Encode)?;
    Ok(ENVELOPE.encode_as_version(version, &payload))
}

/// Decodes bytes written by [`encode`].
///
/// # Errors
/// See the [module docs](self) for the checks and their errors.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    let payload = ENVELOPE.decode(bytes).map_err(|e| match e {
        EnvelopeError::Truncated { len, expected } => Error::Truncated { len, expected },
        EnvelopeError::BadMagic { .. } => Error::BadMagic,
        EnvelopeError::LengthMismatch { len, expected } => Error::TrailingBytes { len, expected },
        EnvelopeError::ChecksumMismatch { stored, computed } => {
            Error::ChecksumMismatch { stored, computed }
        }
        EnvelopeError::UnsupportedVersion { found, supported } => {
            Error::UnsupportedVersion { found, supported }
        }
        // The envelope's error is non-exhaustive; an unknown kind is still corruption.
        _ => Error::BadMagic,
    })?;
    serde_json::from_slice(payload).map_err(Error::Decode)
}
