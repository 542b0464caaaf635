//! The crate's error type.

use std::fmt;
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

    /// Reading from an in-memory or caller-supplied reader failed.
    #[error("read error after {offset} input bytes: {source}")]
    Read {
        /// Bytes successfully read from the input before the failure.
        offset: u64,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// The input ended in the middle of a DBN structure: the file was cut off.
    ///
    /// `dbn`'s own decoder reports this case as a clean end of stream; this crate does
    /// not.
    #[error("truncated DBN input: the {part} starting at byte {offset} is incomplete")]
    Truncated {
        /// The part that was cut off.
        part: DbnPart,
        /// Offset of the start of the incomplete part: in the decompressed DBN stream,
        /// or in the compressed input for [`DbnPart::ZstdFrame`].
        offset: u64,
    },

    /// The input starts with neither the DBN magic `DBN` nor a Zstandard frame.
    #[error(
        "not a DBN stream: expected the magic \"DBN\" or a Zstandard frame, found {found:02x?}"
    )]
    BadMagic {
        /// The first bytes of the (decompressed) input, at most four.
        found: Vec<u8>,
    },

    /// The DBN version byte names a version this crate cannot decode (supported: 1 to 3).
    #[error("unsupported DBN version {version} (supported: 1 to 3)")]
    UnsupportedVersion {
        /// The version byte of the prelude.
        version: u8,
    },

    /// The metadata length in the prelude is shorter than the fixed metadata part or
    /// longer than the configured limit.
    #[error("DBN metadata length {length} outside the accepted range {min}..={max}")]
    MetadataLength {
        /// The length the prelude declares.
        length: u32,
        /// The smallest valid length (the fixed part of the metadata).
        min: u32,
        /// The configured upper limit.
        max: u32,
    },

    /// The metadata bytes are complete but do not decode.
    #[error("invalid DBN metadata: {source}")]
    Metadata {
        /// The decoder's error.
        #[source]
        source: dbn::Error,
    },

    /// The Zstandard stream is corrupt.
    #[error("corrupt zstd stream after {offset} compressed bytes: {source}")]
    Zstd {
        /// Compressed bytes read from the input before the failure.
        offset: u64,
        /// The decompressor's error.
        #[source]
        source: std::io::Error,
    },

    /// A record's length field is shorter than the header, or than the struct its
    /// `rtype` names (including the `ts_out` suffix when the metadata announces it).
    #[error(
        "record at byte {offset} (rtype {rtype:#04x}) is {length} bytes, shorter than the \
         {min} bytes its type needs"
    )]
    RecordTooShort {
        /// Offset of the record in the decompressed DBN stream.
        offset: u64,
        /// The record's `rtype` byte.
        rtype: u8,
        /// The length its header declares, in bytes.
        length: usize,
        /// The minimum length for this `rtype` and DBN version, in bytes.
        min: usize,
    },

    /// A record's length field exceeds the longest valid DBN record.
    #[error(
        "record at byte {offset} (rtype {rtype:#04x}) is {length} bytes, longer than the \
         {max} bytes of the largest DBN record"
    )]
    RecordTooLong {
        /// Offset of the record in the decompressed DBN stream.
        offset: u64,
        /// The record's `rtype` byte.
        rtype: u8,
        /// The length its header declares, in bytes.
        length: usize,
        /// The longest valid record, [`dbn::MAX_RECORD_LEN`].
        max: usize,
    },

    /// A record's length is not a multiple of 8 bytes. Every DBN record struct is, and
    /// the records after such a one would sit misaligned in memory.
    #[error("record at byte {offset} (rtype {rtype:#04x}) is {length} bytes, not a multiple of 8")]
    RecordUnaligned {
        /// Offset of the record in the decompressed DBN stream.
        offset: u64,
        /// The record's `rtype` byte.
        rtype: u8,
        /// The length its header declares, in bytes.
        length: usize,
    },

    /// `dbn` rejected a correctly framed record (for example while upgrading it from
    /// DBN v1 or v2).
    #[error("record at byte {offset} does not decode: {source}")]
    Record {
        /// Offset of the record in the decompressed DBN stream.
        offset: u64,
        /// The decoder's error.
        #[source]
        source: dbn::Error,
    },

    /// `dbn` failed to build or encode a record or the metadata (simulator writer).
    #[error("DBN encode error: {source}")]
    DbnEncode {
        /// The encoder's error.
        #[source]
        source: dbn::Error,
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

/// The part of a DBN stream named by [`Error::Truncated`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DbnPart {
    /// The 8-byte prelude: magic, version and metadata length.
    Prelude,
    /// The metadata header.
    Metadata,
    /// A record.
    Record,
    /// A Zstandard frame of a compressed input.
    ZstdFrame,
}

impl fmt::Display for DbnPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Prelude => "prelude",
            Self::Metadata => "metadata",
            Self::Record => "record",
            Self::ZstdFrame => "zstd frame",
        })
    }
}

/// Result alias of ifd-mbo-client.
pub type Result<T> = std::result::Result<T, Error>;
