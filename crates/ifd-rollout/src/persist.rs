//! The byte format of persisted state.
//!
//! ```text
//! offset  size  field
//! 0       4     magic  b"IFDR"
//! 4       2     format version, u16 little-endian (currently 1)
//! 6       4     payload length N, u32 little-endian
//! 10      N     payload: the state as JSON
//! 10+N    4     CRC32 (IEEE, crc32fast) of bytes 0..10+N, u32 little-endian
//! ```
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

/// The magic bytes.
pub const MAGIC: [u8; 4] = *b"IFDR";
/// The format version this build reads and writes.
pub const FORMAT_VERSION: u16 = 1;
const HEADER: usize = 10;
const TRAILER: usize = 4;

/// Encodes `value` in the format above with [`FORMAT_VERSION`].
///
/// # Errors
/// [`Error::Encode`] when serde_json refuses the value (e.g. a NaN float), or the
/// payload exceeds 4 GiB.
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    encode_with_version(value, FORMAT_VERSION)
}

/// Encodes `value` with an explicit version (tests of old files use this).
///
/// # Errors
/// As [`encode`].
pub fn encode_with_version<T: Serialize>(value: &T, version: u16) -> Result<Vec<u8>> {
    let payload = serde_json::to_vec(value).map_err(Error::Encode)?;
    let len = u32::try_from(payload.len()).map_err(|_| Error::Overflow {
        what: "payload length",
    })?;
    let mut out = Vec::with_capacity(HEADER + payload.len() + TRAILER);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&version.to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&payload);
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    Ok(out)
}

/// Decodes bytes written by [`encode`].
///
/// # Errors
/// See the [module docs](self) for the checks and their errors.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    let len = bytes.len();
    if len < HEADER + TRAILER {
        return Err(Error::Truncated {
            len,
            expected: HEADER + TRAILER,
        });
    }
    if bytes[..4] != MAGIC {
        return Err(Error::BadMagic);
    }
    let version = u16::from_le_bytes([bytes[4], bytes[5]]);
    let payload_len = u32::from_le_bytes([bytes[6], bytes[7], bytes[8], bytes[9]]);
    let expected = usize::try_from(payload_len)
        .ok()
        .and_then(|n| n.checked_add(HEADER + TRAILER))
        .ok_or(Error::Overflow {
            what: "payload length",
        })?;
    if len < expected {
        return Err(Error::Truncated { len, expected });
    }
    if len > expected {
        return Err(Error::TrailingBytes { len, expected });
    }
    let body = &bytes[..len - TRAILER];
    let t = &bytes[len - TRAILER..];
    let stored = u32::from_le_bytes([t[0], t[1], t[2], t[3]]);
    let computed = crc32fast::hash(body);
    if stored != computed {
        return Err(Error::ChecksumMismatch { stored, computed });
    }
    if version != FORMAT_VERSION {
        return Err(Error::UnsupportedVersion {
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    serde_json::from_slice(&body[HEADER..]).map_err(Error::Decode)
}
