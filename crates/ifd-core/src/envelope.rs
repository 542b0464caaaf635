//! One persistence envelope for every persisted ifd state: magic, format version,
//! payload length and a CRC32 around an opaque payload.
//!
//! Layout (integers little endian; `m` is the magic's length, fixed per format):
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | m | magic (names the kind of file) |
//! | m | 2 | format version, `u16` |
//! | m + 2 | 8 | payload length `n`, `u64` |
//! | m + 10 | n | payload |
//! | m + 10 + n | 4 | CRC32 (IEEE, `crc32fast`) of bytes `0 .. m + 10 + n` |
//!
//! [`Envelope::decode`] checks, in order: the header is complete
//! ([`EnvelopeError::Truncated`]), the magic ([`EnvelopeError::BadMagic`]), the byte count
//! against the length field ([`EnvelopeError::Truncated`] when short,
//! [`EnvelopeError::LengthMismatch`] when long), the checksum
//! ([`EnvelopeError::ChecksumMismatch`]), and only then the version
//! ([`EnvelopeError::UnsupportedVersion`]): a version field is believed only once the
//! checksum vouches for it, so a corrupted version byte is reported as corruption. The
//! CRC covers the header as well as the payload; CRC32 detects every error burst of up to
//! 32 bits, so every single-byte corruption and (through the length field) every
//! truncation is an error.
//!
//! The envelope is pure bytes. Writing them atomically (temp file, fsync, rename) is the
//! IO edge's job, so a half-written file never replaces a good one.

/// Bytes after the magic and before the payload: version (2) and length (8).
const FIXED_HEADER: usize = 2 + 8;
/// The CRC32 trailer.
const TRAILER: usize = 4;

/// Why bytes are not a valid envelope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// Fewer bytes than the header, or than the header's length field announces.
    #[error("truncated: {len} bytes, expected at least {expected}")]
    Truncated {
        /// Bytes given.
        len: usize,
        /// Bytes needed.
        expected: usize,
    },
    /// The bytes do not start with the format's magic (another kind of file).
    #[error("bad magic: not a {expected:?} file")]
    BadMagic {
        /// The magic expected, lossily as text.
        expected: String,
    },
    /// More bytes than the length field announces (trailing garbage, or a corrupted
    /// length field).
    #[error("length mismatch: {len} bytes, the header announces {expected}")]
    LengthMismatch {
        /// Bytes given.
        len: usize,
        /// Bytes the header announces.
        expected: usize,
    },
    /// The stored CRC32 does not match the bytes.
    #[error("checksum mismatch: stored {stored:#010x}, computed {computed:#010x}")]
    ChecksumMismatch {
        /// CRC32 stored in the trailer.
        stored: u32,
        /// CRC32 of the bytes read.
        computed: u32,
    },
    /// Intact bytes of a format version this build does not read.
    #[error("unsupported format version {found} (this build reads {supported})")]
    UnsupportedVersion {
        /// Version in the (checksummed) header.
        found: u16,
        /// Version this build reads.
        supported: u16,
    },
}

/// A persisted format: its magic and the version this build writes and reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Envelope {
    magic: &'static [u8],
    version: u16,
}

impl Envelope {
    /// A format named by `magic` at format version `version`.
    #[must_use]
    pub const fn new(magic: &'static [u8], version: u16) -> Self {
        Self { magic, version }
    }

    /// The magic bytes.
    #[must_use]
    pub const fn magic(&self) -> &'static [u8] {
        self.magic
    }

    /// The format version written and read.
    #[must_use]
    pub const fn version(&self) -> u16 {
        self.version
    }

    /// Bytes before the payload (magic, version, length).
    #[must_use]
    pub const fn header_len(&self) -> usize {
        self.magic.len() + FIXED_HEADER
    }

    /// Bytes an envelope of an empty payload takes: header and CRC trailer.
    #[must_use]
    pub const fn overhead(&self) -> usize {
        self.header_len() + TRAILER
    }

    /// Wraps `payload` with this format's magic and version.
    #[must_use]
    pub fn encode(&self, payload: &[u8]) -> Vec<u8> {
        self.encode_as_version(self.version, payload)
    }

    /// Wraps `payload` under an explicit `version` (for tests of other versions and for
    /// migrations that write an older format).
    #[must_use]
    pub fn encode_as_version(&self, version: u16, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.overhead() + payload.len());
        out.extend_from_slice(self.magic);
        out.extend_from_slice(&version.to_le_bytes());
        // usize is at most 64 bits on every supported target.
        out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        out.extend_from_slice(payload);
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    /// Checks `bytes` and returns the payload.
    ///
    /// # Errors
    /// Every [`EnvelopeError`] variant, in the order of the [module docs](self).
    pub fn decode<'a>(&self, bytes: &'a [u8]) -> Result<&'a [u8], EnvelopeError> {
        let (version, payload) = self.decode_any_version(bytes)?;
        if version != self.version {
            return Err(EnvelopeError::UnsupportedVersion {
                found: version,
                supported: self.version,
            });
        }
        Ok(payload)
    }

    /// Checks everything but the version and returns the (checksummed) version with the
    /// payload, for readers that migrate older versions.
    ///
    /// # Errors
    /// As [`decode`](Self::decode), without [`EnvelopeError::UnsupportedVersion`].
    pub fn decode_any_version<'a>(
        &self,
        bytes: &'a [u8],
    ) -> Result<(u16, &'a [u8]), EnvelopeError> {
        let len = bytes.len();
        let m = self.magic.len();
        let header = self.header_len();
        if len < header {
            return Err(EnvelopeError::Truncated {
                len,
                expected: self.overhead(),
            });
        }
        if &bytes[..m] != self.magic {
            return Err(EnvelopeError::BadMagic {
                expected: String::from_utf8_lossy(self.magic).into_owned(),
            });
        }
        let version = u16::from_le_bytes([bytes[m], bytes[m + 1]]);
        let mut len8 = [0u8; 8];
        len8.copy_from_slice(&bytes[m + 2..header]);
        let payload_len = u64::from_le_bytes(len8);
        // A length that does not fit memory cannot be satisfied by any slice: truncated.
        let expected = usize::try_from(payload_len)
            .ok()
            .and_then(|n| n.checked_add(self.overhead()))
            .unwrap_or(usize::MAX);
        if len < expected {
            return Err(EnvelopeError::Truncated { len, expected });
        }
        if len > expected {
            return Err(EnvelopeError::LengthMismatch { len, expected });
        }
        let body_end = len - TRAILER;
        let t = &bytes[body_end..];
        let stored = u32::from_le_bytes([t[0], t[1], t[2], t[3]]);
        let computed = crc32fast::hash(&bytes[..body_end]);
        if stored != computed {
            return Err(EnvelopeError::ChecksumMismatch { stored, computed });
        }
        Ok((version, &bytes[header..body_end]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const F: Envelope = Envelope::new(b"TEST", 3);
    const LONG: Envelope = Envelope::new(b"LONGMAGC", 1);

    #[test]
    fn layout_is_as_documented() {
        let b = F.encode(b"abc");
        assert_eq!(&b[..4], b"TEST");
        assert_eq!(u16::from_le_bytes([b[4], b[5]]), 3);
        assert_eq!(&b[6..14], &3u64.to_le_bytes());
        assert_eq!(&b[14..17], b"abc");
        assert_eq!(&b[17..], &crc32fast::hash(&b[..17]).to_le_bytes());
        assert_eq!(b.len(), F.overhead() + 3);
        assert_eq!(LONG.header_len(), 18);
    }

    #[test]
    fn errors_are_typed() {
        let good = F.encode(b"payload");
        assert_eq!(
            F.decode(&good[..3]),
            Err(EnvelopeError::Truncated {
                len: 3,
                expected: 18
            })
        );
        let mut bad = good.clone();
        bad[0] = b'X';
        assert!(matches!(
            F.decode(&bad),
            Err(EnvelopeError::BadMagic { .. })
        ));
        assert!(matches!(
            LONG.decode(&good),
            Err(EnvelopeError::BadMagic { .. })
        ));
        let mut long = good.clone();
        long.push(0);
        assert_eq!(
            F.decode(&long),
            Err(EnvelopeError::LengthMismatch {
                len: good.len() + 1,
                expected: good.len()
            })
        );
        let mut flipped = good.clone();
        flipped[15] ^= 1;
        assert!(matches!(
            F.decode(&flipped),
            Err(EnvelopeError::ChecksumMismatch { .. })
        ));
        // A corrupted version byte is corruption, not a newer file.
        let mut ver = good.clone();
        ver[4] = 9;
        assert!(matches!(
            F.decode(&ver),
            Err(EnvelopeError::ChecksumMismatch { .. })
        ));
        // An intact file of another version.
        let other = F.encode_as_version(9, b"payload");
        assert_eq!(
            F.decode(&other),
            Err(EnvelopeError::UnsupportedVersion {
                found: 9,
                supported: 3
            })
        );
        assert_eq!(F.decode_any_version(&other), Ok((9, &b"payload"[..])));
        // A length field beyond memory is a truncation, not an overflow panic.
        let mut huge = good;
        huge[6..14].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(matches!(
            F.decode(&huge),
            Err(EnvelopeError::Truncated { .. })
        ));
    }

    proptest! {
        #[test]
        fn round_trip(payload in proptest::collection::vec(any::<u8>(), 0..300)) {
            let b = LONG.encode(&payload);
            prop_assert_eq!(LONG.decode(&b), Ok(&payload[..]));
        }

        #[test]
        fn every_single_byte_change_is_an_error(
            payload in proptest::collection::vec(any::<u8>(), 0..64),
            at in any::<proptest::sample::Index>(),
            flip in 1u8..=255,
        ) {
            let mut b = F.encode(&payload);
            let i = at.index(b.len());
            b[i] ^= flip;
            prop_assert!(F.decode(&b).is_err());
        }

        #[test]
        fn every_truncation_is_an_error(payload in proptest::collection::vec(any::<u8>(), 0..64)) {
            let b = F.encode(&payload);
            for n in 0..b.len() {
                let is_truncated = matches!(F.decode(&b[..n]), Err(EnvelopeError::Truncated { .. }));
                prop_assert!(is_truncated, "cut at {}", n);
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = F.decode(&bytes);
        }
    }
}
