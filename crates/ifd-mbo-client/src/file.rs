//! The file source: DBN files and in-memory DBN bytes, streamed record by record.
//!
//! [`FileSource`] reads plain DBN and Zstandard-compressed DBN (`.dbn` / `.dbn.zst`,
//! told apart by their magic bytes, not by the file name) from any [`Read`]: a path, a
//! socket, or bytes already in memory. Records of DBN versions 1 and 2 are upgraded to
//! the version-3 structs, so downstream code only ever sees `dbn`'s current types.
//!
//! # Design
//!
//! The metadata header is framed here (prelude checks, bounded read) and decoded by
//! `dbn`'s `MetadataDecoder`. Records are framed here too, on top of `dbn`'s sans-IO
//! state machine ([`DbnFsm`]): each record's header is checked against its `rtype`
//! before `dbn` sees it, and `dbn` then hands out a [`RecordRef`] into its buffer (or
//! into its upgrade buffer for v1/v2 records). The cost is one length check per record;
//! what it buys:
//!
//! - a stream that ends inside the prelude, the metadata, a record or a zstd frame is an
//!   [`Error::Truncated`], where `dbn`'s decoder reports a clean end;
//! - a record whose length field is shorter than its type (which makes `dbn` panic on
//!   access or while upgrading) is an [`Error::RecordTooShort`];
//! - memory stays constant: a 64 KiB record buffer, `dbn`'s upgrade buffer, and for zstd
//!   the decompressor's window (capped at 2^27 bytes); the metadata read is limited by
//!   [`FileSourceOptions::max_metadata_len`] and grows only as bytes actually arrive.

use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::mem::size_of;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use dbn::decode::dbn::fsm::{DbnFsm, ProcessResult};
use dbn::decode::dbn::MetadataDecoder;
use dbn::{rtype, Compression, Metadata, RecordBuf, RecordRef, VersionUpgradePolicy};

use crate::error::{DbnPart, Error, Result};

/// Length of the DBN prelude: `DBN`, the version byte and the little-endian `u32`
/// metadata length.
const PRELUDE_LEN: usize = 8;
/// The DBN magic.
const DBN_MAGIC: &[u8; 3] = b"DBN";
/// The fixed part of the metadata every version carries; shorter lengths are invalid.
const METADATA_FIXED_LEN: u32 = 100;
/// Record lengths are stored in 4-byte words.
const LENGTH_MULTIPLIER: usize = 4;
/// The record header of DBN versions 1 to 3.
const HEADER_LEN: usize = size_of::<dbn::RecordHeader>();
/// Every record struct is a multiple of this size (the alignment of its `u64` fields);
/// `dbn` reads records in place, so each must start aligned.
const RECORD_ALIGN: usize = 8;
/// Size of the `ts_out` suffix when the metadata announces it.
const TS_OUT_LEN: usize = size_of::<u64>();
/// The Zstandard frame magic, little endian.
const ZSTD_MAGIC: [u8; 4] = 0xFD2F_B528_u32.to_le_bytes();
/// Zstandard skippable frames use magics `0x184D2A50..=0x184D2A5F`.
const ZSTD_SKIPPABLE_MAGIC: std::ops::RangeInclusive<u32> = 0x184D_2A50..=0x184D_2A5F;
/// Largest zstd window accepted: zstd's own default limit, stated explicitly.
const ZSTD_WINDOW_LOG_MAX: u32 = 27;
/// Size of the record buffer; must hold at least two of the longest record frames.
const RECORD_BUFFER_LEN: usize = 64 * 1024;
/// Records checked and handed to `dbn` at a time by `for_each_record`.
const BATCH: usize = 16;
/// Metadata is read in chunks of this size, so a lying length costs no memory.
const METADATA_CHUNK_LEN: usize = 64 * 1024;

/// The default limit on the metadata length a prelude may declare: 256 MiB.
///
/// Real metadata is far smaller (a parent-symbology definition file with 11,294 symbol
/// mappings carries 850 KB); the limit turns an absurd length into a typed error.
pub const DEFAULT_MAX_METADATA_LEN: u32 = 256 << 20;

/// Options of a [`FileSource`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct FileSourceOptions {
    /// The longest metadata header accepted, in bytes; longer declared lengths fail with
    /// [`Error::MetadataLength`]. Defaults to [`DEFAULT_MAX_METADATA_LEN`].
    pub max_metadata_len: u32,
}

impl Default for FileSourceOptions {
    fn default() -> Self {
        Self {
            max_metadata_len: DEFAULT_MAX_METADATA_LEN,
        }
    }
}

impl FileSourceOptions {
    /// Sets [`max_metadata_len`](Self::max_metadata_len).
    #[must_use]
    pub fn max_metadata_len(mut self, max_metadata_len: u32) -> Self {
        self.max_metadata_len = max_metadata_len;
        self
    }
}

/// Counters of one [`FileSource`]: bytes read and records yielded, by `rtype`.
#[derive(Clone, PartialEq, Eq)]
pub struct FileStats {
    input_bytes: u64,
    dbn_bytes: u64,
    records: u64,
    unknown_rtype: u64,
    by_rtype: [u64; 256],
}

impl Default for FileStats {
    fn default() -> Self {
        Self {
            input_bytes: 0,
            dbn_bytes: 0,
            records: 0,
            unknown_rtype: 0,
            by_rtype: [0; 256],
        }
    }
}

impl FileStats {
    /// Bytes pulled from the underlying reader so far (the compressed size for zstd
    /// input; may run ahead of decoding by one buffer).
    pub fn input_bytes(&self) -> u64 {
        self.input_bytes
    }

    /// Bytes of the decompressed DBN stream consumed so far: prelude, metadata and every
    /// record yielded. At a clean end this is the full decompressed length.
    pub fn dbn_bytes(&self) -> u64 {
        self.dbn_bytes
    }

    /// Records yielded so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Records yielded so far with this `rtype` (see [`dbn::rtype`]).
    pub fn records_of(&self, rtype: u8) -> u64 {
        self.by_rtype[usize::from(rtype)]
    }

    /// `(rtype, count)` for every `rtype` seen, in ascending `rtype` order.
    pub fn by_rtype(&self) -> impl Iterator<Item = (u8, u64)> + '_ {
        (0..=u8::MAX)
            .zip(self.by_rtype.iter().copied())
            .filter(|&(_, count)| count > 0)
    }

    /// Records yielded whose `rtype` this crate does not know. They are passed through
    /// (framed by their length field); [`RecordRef::as_enum`] rejects them.
    pub fn unknown_rtype_records(&self) -> u64 {
        self.unknown_rtype
    }
}

impl fmt::Debug for FileStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct ByRType<'a>(&'a FileStats);
        impl fmt::Debug for ByRType<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_map()
                    .entries(
                        self.0
                            .by_rtype()
                            .map(|(rtype, count)| (format!("{rtype:#04x}"), count)),
                    )
                    .finish()
            }
        }
        f.debug_struct("FileStats")
            .field("input_bytes", &self.input_bytes)
            .field("dbn_bytes", &self.dbn_bytes)
            .field("records", &self.records)
            .field("unknown_rtype", &self.unknown_rtype)
            .field("by_rtype", &ByRType(self))
            .finish()
    }
}

/// A streaming DBN decoder over a file or any [`Read`], with typed errors.
///
/// Construct it with [`open`](FileSource::open), [`from_reader`](Self::from_reader) or
/// [`from_bytes`](Self::from_bytes); it reads and checks the metadata at once, then
/// yields records one at a time through [`next_record`](Self::next_record) (borrowed,
/// zero-copy for DBN v3) or [`into_records`](Self::into_records) (owned
/// [`RecordBuf`]s, an [`Iterator`]).
///
/// Every record handed out has a length of at least the size of the struct its `rtype`
/// names (plus `ts_out` when present), at most [`dbn::MAX_RECORD_LEN`], and a multiple
/// of 8 (so it sits aligned), so `RecordRef::get`, `as_enum` and `to_owned` cannot
/// panic on it.
///
/// After an error, or after the end of the stream, `next_record` returns `Ok(None)`.
///
/// ```
/// use dbn::{encode::{DbnEncoder, EncodeRecord}, MboMsg, MetadataBuilder, SType, Schema};
/// use ifd_mbo_client::FileSource;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let metadata = MetadataBuilder::new()
///     .dataset("GLBX.MDP3")
///     .schema(Some(Schema::Mbo))
///     .start(0)
///     .stype_in(Some(SType::RawSymbol))
///     .stype_out(SType::InstrumentId)
///     .build();
/// let mut bytes = Vec::new();
/// let mut encoder = DbnEncoder::new(&mut bytes, &metadata)?;
/// encoder.encode_record(&MboMsg::default())?;
///
/// let mut source = FileSource::from_bytes(&bytes)?;
/// assert_eq!(source.metadata().dataset, "GLBX.MDP3");
/// while let Some(record) = source.next_record()? {
///     assert!(record.has::<MboMsg>());
/// }
/// assert_eq!(source.stats().records(), 1);
/// # Ok(())
/// # }
/// ```
pub struct FileSource<R: Read = File> {
    input: Input<R>,
    path: Option<PathBuf>,
    metadata: Metadata,
    input_version: u8,
    ts_out: bool,
    compression: Compression,
    fsm: DbnFsm,
    /// Offset of the next record in the decompressed stream.
    offset: u64,
    stats: FileStats,
    pub(crate) done: bool,
}

impl FileSource<File> {
    /// Opens a `.dbn` or `.dbn.zst` file and decodes its metadata.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be opened or read; otherwise as
    /// [`from_reader`](FileSource::from_reader).
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path, FileSourceOptions::default())
    }

    /// Opens a file with explicit options.
    ///
    /// # Errors
    /// As [`open`](Self::open).
    pub fn open_with(path: impl AsRef<Path>, options: FileSourceOptions) -> Result<Self> {
        let path = path.as_ref();
        let file = File::open(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::build(file, Some(path.to_path_buf()), options)
    }
}

impl<'a> FileSource<&'a [u8]> {
    /// Decodes DBN (plain or zstd) held in memory.
    ///
    /// # Errors
    /// As [`from_reader`](FileSource::from_reader).
    pub fn from_bytes(bytes: &'a [u8]) -> Result<Self> {
        Self::build(bytes, None, FileSourceOptions::default())
    }
}

impl<R: Read> FileSource<R> {
    /// Decodes DBN (plain or zstd, detected from the first bytes) from any reader. The
    /// reader is read in large chunks; it needs no buffering of its own.
    ///
    /// # Errors
    /// - [`Error::Read`] when the reader fails;
    /// - [`Error::BadMagic`] when the input is neither DBN nor zstd, or the decompressed
    ///   stream does not start with `DBN`;
    /// - [`Error::UnsupportedVersion`] for a version byte other than 1, 2 or 3;
    /// - [`Error::MetadataLength`] for a declared metadata length below the fixed part
    ///   or above [`FileSourceOptions::max_metadata_len`];
    /// - [`Error::Truncated`] when the input ends inside the prelude, the metadata or a
    ///   zstd frame;
    /// - [`Error::Zstd`] for a corrupt compressed stream;
    /// - [`Error::Metadata`] when the metadata bytes do not decode.
    pub fn from_reader(reader: R) -> Result<Self> {
        Self::build(reader, None, FileSourceOptions::default())
    }

    /// Decodes DBN from any reader with explicit options.
    ///
    /// # Errors
    /// As [`from_reader`](Self::from_reader).
    pub fn from_reader_with(reader: R, options: FileSourceOptions) -> Result<Self> {
        Self::build(reader, None, options)
    }

    fn build(reader: R, path: Option<PathBuf>, options: FileSourceOptions) -> Result<Self> {
        let mut tracked = Tracked::new(reader);
        tracked
            .fill_prefix()
            .map_err(|source| read_error(path.as_deref(), tracked.bytes, source))?;
        let prefix = tracked.prefix();
        let (mut input, compression) = if is_zstd(prefix) {
            let mut decoder = zstd::stream::read::Decoder::new(tracked)
                .map_err(|source| Error::Zstd { offset: 0, source })?;
            decoder
                .window_log_max(ZSTD_WINDOW_LOG_MAX)
                .map_err(|source| Error::Zstd { offset: 0, source })?;
            (Input::Zstd(decoder), Compression::Zstd)
        } else if prefix.len() < ZSTD_MAGIC.len()
            && !prefix.is_empty()
            && ZSTD_MAGIC.starts_with(prefix)
        {
            return Err(Error::Truncated {
                part: DbnPart::ZstdFrame,
                offset: 0,
            });
        } else {
            (Input::Plain(tracked), Compression::None)
        };

        let mut prelude = [0_u8; PRELUDE_LEN];
        let got = input.read_full(&mut prelude, path.as_deref())?;
        let magic_len = got.min(DBN_MAGIC.len());
        if prelude[..magic_len] != DBN_MAGIC[..magic_len] {
            return Err(Error::BadMagic {
                found: prelude[..got.min(4)].to_vec(),
            });
        }
        if got < PRELUDE_LEN {
            return Err(Error::Truncated {
                part: DbnPart::Prelude,
                offset: 0,
            });
        }
        let input_version = prelude[3];
        if !(1..=3).contains(&input_version) {
            return Err(Error::UnsupportedVersion {
                version: input_version,
            });
        }
        let metadata_len = u32::from_le_bytes([prelude[4], prelude[5], prelude[6], prelude[7]]);
        if !(METADATA_FIXED_LEN..=options.max_metadata_len).contains(&metadata_len) {
            return Err(Error::MetadataLength {
                length: metadata_len,
                min: METADATA_FIXED_LEN,
                max: options.max_metadata_len,
            });
        }
        let header_len = PRELUDE_LEN + to_usize(metadata_len);
        let mut header = Vec::with_capacity(header_len.min(PRELUDE_LEN + METADATA_CHUNK_LEN));
        header.extend_from_slice(&prelude);
        while header.len() < header_len {
            let start = header.len();
            let want = (header_len - start).min(METADATA_CHUNK_LEN);
            header.resize(start + want, 0);
            let got = input.read_full(&mut header[start..], path.as_deref())?;
            if got < want {
                return Err(Error::Truncated {
                    part: DbnPart::Metadata,
                    offset: to_u64(PRELUDE_LEN),
                });
            }
        }
        let metadata = MetadataDecoder::with_upgrade_policy(
            header.as_slice(),
            VersionUpgradePolicy::UpgradeToV3,
        )
        .decode()
        .map_err(|source| Error::Metadata { source })?;
        let fsm = DbnFsm::builder()
            .skip_metadata(true)
            .input_dbn_version(Some(input_version))
            .map_err(|source| Error::Metadata { source })?
            .ts_out(metadata.ts_out)
            .upgrade_policy(VersionUpgradePolicy::UpgradeToV3)
            .buffer_size(RECORD_BUFFER_LEN)
            .build()
            .map_err(|source| Error::Metadata { source })?;
        let offset = to_u64(header_len);
        let mut stats = FileStats {
            dbn_bytes: offset,
            ..FileStats::default()
        };
        stats.input_bytes = input.tracked().bytes;
        Ok(Self {
            input,
            path,
            ts_out: metadata.ts_out,
            metadata,
            input_version,
            compression,
            fsm,
            offset,
            stats,
            done: false,
        })
    }

    /// The metadata header, upgraded to DBN v3 (its `version` field reads 3 for v1 and
    /// v2 input; see [`input_version`](Self::input_version)).
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// The DBN version of the input before upgrading: 1, 2 or 3.
    pub fn input_version(&self) -> u8 {
        self.input_version
    }

    /// Whether the input was plain DBN or zstd-compressed.
    pub fn compression(&self) -> Compression {
        self.compression
    }

    /// The file path, when the source was opened from one.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Counters so far.
    pub fn stats(&self) -> &FileStats {
        &self.stats
    }

    /// Decodes the next record. Returns `Ok(None)` at the clean end of the stream, and
    /// after an error. The record borrows the source's buffer until the next call.
    ///
    /// # Errors
    /// - [`Error::Truncated`] when the stream ends inside a record or a zstd frame;
    /// - [`Error::RecordTooShort`], [`Error::RecordTooLong`] or [`Error::RecordUnaligned`]
    ///   for an impossible length field;
    /// - [`Error::Zstd`] for corrupt compressed data;
    /// - [`Error::Read`] / [`Error::Io`] when the reader fails;
    /// - [`Error::Record`] when `dbn` rejects a well-framed record.
    pub fn next_record(&mut self) -> Result<Option<RecordRef<'_>>> {
        if self.done {
            return Ok(None);
        }
        match self.advance() {
            Ok(true) => {}
            Ok(false) => {
                self.done = true;
                return Ok(None);
            }
            Err(err) => {
                self.done = true;
                return Err(err);
            }
        }
        if self.fsm.last_record().is_none() {
            self.done = true;
            return Err(self.internal_error());
        }
        Ok(self.fsm.last_record())
    }

    /// Calls `f` on every remaining record, in order; the fast way through a whole
    /// file. Up to 16 records are checked and handed to `dbn` at a time (as `dbn`'s own
    /// decoder batches them), where [`next_record`](Self::next_record) goes one by one;
    /// the records, checks and errors are the same.
    ///
    /// # Errors
    /// As [`next_record`](Self::next_record); `f` has seen every record before the
    /// failing one.
    pub fn for_each_record(&mut self, mut f: impl FnMut(RecordRef<'_>)) -> Result<()> {
        self.for_each_batch(|records, _| {
            for record in records {
                f(*record);
            }
        })
    }

    /// Calls `f` on every remaining record in batches of up to 16, in order, with the
    /// source's counters as they stand after the batch (for progress reports, which
    /// cannot borrow the source inside [`for_each_record`](Self::for_each_record)). A
    /// batch also lets the caller start loading what it keeps about the next records
    /// before it processes the first. The records, checks and errors are those of
    /// [`next_record`](Self::next_record).
    ///
    /// # Errors
    /// As [`next_record`](Self::next_record); `f` has seen every record before the
    /// failing one.
    pub fn for_each_batch(
        &mut self,
        mut f: impl FnMut(&[RecordRef<'_>], &FileStats),
    ) -> Result<()> {
        let result = self.for_each_inner(&mut |records, stats| {
            f(records, stats);
            ControlFlow::Continue(())
        });
        self.done = true;
        result
    }

    /// The loop of [`for_each_batch`](Self::for_each_batch); `f` may stop it early
    /// (`Ok` then).
    pub(crate) fn for_each_inner(
        &mut self,
        f: &mut impl FnMut(&[RecordRef<'_>], &FileStats) -> ControlFlow<()>,
    ) -> Result<()> {
        if self.done {
            return Ok(());
        }
        loop {
            // Check up to BATCH complete frames before dbn frames any of them.
            let mut lengths = [0_usize; BATCH];
            let mut count = 0;
            let mut bad = None;
            {
                let data = self.fsm.data();
                let mut pos = 0;
                let mut offset = self.offset;
                while count < BATCH && data.len() - pos >= HEADER_LEN {
                    let length = usize::from(data[pos]) * LENGTH_MULTIPLIER;
                    if let Err(err) = self.check_frame(offset, length, data[pos + 1]) {
                        bad = Some(err);
                        break;
                    }
                    if data.len() - pos < length {
                        break;
                    }
                    lengths[count] = length;
                    count += 1;
                    pos += length;
                    offset += to_u64(length);
                }
            }
            if count == 0 {
                if let Some(err) = bad {
                    return Err(err);
                }
                if !self.read_more()? {
                    return Ok(());
                }
                continue;
            }
            let mut slots: [Option<RecordRef<'_>>; BATCH] = [None; BATCH];
            match self.fsm.process_many(&mut slots[..count]) {
                ProcessResult::Record(records) => {
                    for (record, &length) in records.iter().zip(&lengths) {
                        let rtype = record.header().rtype;
                        self.stats.records += 1;
                        self.stats.by_rtype[usize::from(rtype)] += 1;
                        if min_record_len(self.input_version, rtype).is_none() {
                            self.stats.unknown_rtype += 1;
                        }
                        self.offset += to_u64(length);
                    }
                    self.stats.dbn_bytes = self.offset;
                    if f(records, &self.stats).is_break() {
                        return Ok(());
                    }
                }
                ProcessResult::Err(source) => {
                    return Err(Error::Record {
                        offset: self.offset,
                        source,
                    })
                }
                ProcessResult::ReadMore(_) | ProcessResult::Metadata(_) => {
                    return Err(self.internal_error());
                }
            }
        }
    }

    /// Turns the source into an [`Iterator`] of owned records.
    pub fn into_records(self) -> Records<R> {
        Records { source: self }
    }

    /// Frames and decodes one record; `Ok(false)` at the clean end.
    fn advance(&mut self) -> Result<bool> {
        loop {
            let data = self.fsm.data();
            if data.len() >= HEADER_LEN {
                let length = usize::from(data[0]) * LENGTH_MULTIPLIER;
                let rtype = data[1];
                let available = data.len();
                let known = self.check_frame(self.offset, length, rtype)?;
                if available >= length {
                    return match self.fsm.process() {
                        ProcessResult::Record(()) => {
                            self.stats.records += 1;
                            self.stats.by_rtype[usize::from(rtype)] += 1;
                            if !known {
                                self.stats.unknown_rtype += 1;
                            }
                            self.offset += to_u64(length);
                            self.stats.dbn_bytes = self.offset;
                            Ok(true)
                        }
                        ProcessResult::Err(source) => Err(Error::Record {
                            offset: self.offset,
                            source,
                        }),
                        ProcessResult::ReadMore(_) | ProcessResult::Metadata(_) => {
                            Err(self.internal_error())
                        }
                    };
                }
            }
            if !self.read_more()? {
                return Ok(false);
            }
        }
    }

    /// Reads more input into the record buffer; `Ok(false)` at a clean end (nothing
    /// buffered), `Truncated` when the input ends inside a record.
    fn read_more(&mut self) -> Result<bool> {
        let space = self.fsm.space();
        let read = self.input.read_some(space, self.path.as_deref());
        self.stats.input_bytes = self.input.tracked().bytes;
        let read = read?;
        if read == 0 {
            if self.fsm.data().is_empty() {
                return Ok(false);
            }
            return Err(Error::Truncated {
                part: DbnPart::Record,
                offset: self.offset,
            });
        }
        self.fsm.fill(read);
        Ok(true)
    }

    /// Checks a record's length field against its `rtype`; returns whether the `rtype`
    /// is known.
    fn check_frame(&self, offset: u64, length: usize, rtype: u8) -> Result<bool> {
        let known = min_record_len(self.input_version, rtype);
        let suffix = if self.ts_out { TS_OUT_LEN } else { 0 };
        let min = known.unwrap_or(HEADER_LEN) + suffix;
        if length < min {
            return Err(Error::RecordTooShort {
                offset,
                rtype,
                length,
                min,
            });
        }
        if length > dbn::MAX_RECORD_LEN {
            return Err(Error::RecordTooLong {
                offset,
                rtype,
                length,
                max: dbn::MAX_RECORD_LEN,
            });
        }
        if length % RECORD_ALIGN != 0 {
            return Err(Error::RecordUnaligned {
                offset,
                rtype,
                length,
            });
        }
        Ok(known.is_some())
    }

    fn internal_error(&self) -> Error {
        Error::Record {
            offset: self.offset,
            source: dbn::Error::decode("dbn's state machine did not yield a framed record"),
        }
    }
}

impl<R: Read> fmt::Debug for FileSource<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileSource")
            .field("path", &self.path)
            .field("input_version", &self.input_version)
            .field("compression", &self.compression)
            .field("dataset", &self.metadata.dataset)
            .field("schema", &self.metadata.schema)
            .field("offset", &self.offset)
            .field("done", &self.done)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

/// An [`Iterator`] of owned records over a [`FileSource`], from
/// [`FileSource::into_records`]. Yields each error once, then ends.
#[derive(Debug)]
pub struct Records<R: Read = File> {
    source: FileSource<R>,
}

impl<R: Read> Records<R> {
    /// The underlying source, for its metadata and stats.
    pub fn source(&self) -> &FileSource<R> {
        &self.source
    }

    /// Gives the source back.
    pub fn into_source(self) -> FileSource<R> {
        self.source
    }
}

impl<R: Read> Iterator for Records<R> {
    type Item = Result<RecordBuf>;

    fn next(&mut self) -> Option<Self::Item> {
        let offset = self.source.offset;
        match self.source.next_record() {
            Ok(Some(record)) => {
                Some(RecordBuf::try_from(record).map_err(|source| Error::Record { offset, source }))
            }
            Ok(None) => None,
            Err(err) => Some(Err(err)),
        }
    }
}

impl<R: Read> std::iter::FusedIterator for Records<R> {}

/// The smallest valid length of a record of `rtype` in DBN `version`, without `ts_out`;
/// `None` for an `rtype` this crate does not know.
fn min_record_len(version: u8, rtype: u8) -> Option<usize> {
    use dbn::{v1, v2, v3};
    let len = match rtype {
        rtype::MBP_0 => size_of::<v3::TradeMsg>(),
        // `RecordRefEnum` reads TBBO (a v4 rtype) as `Mbp1Msg` in any version.
        rtype::MBP_1 | rtype::TBBO => size_of::<v3::Mbp1Msg>(),
        rtype::MBP_10 => size_of::<v3::Mbp10Msg>(),
        rtype::OHLCV_DEPRECATED
        | rtype::OHLCV_1S
        | rtype::OHLCV_1M
        | rtype::OHLCV_1H
        | rtype::OHLCV_1D
        | rtype::OHLCV_EOD => size_of::<v3::OhlcvMsg>(),
        rtype::STATUS => size_of::<v3::StatusMsg>(),
        rtype::INSTRUMENT_DEF => match version {
            1 => size_of::<v1::InstrumentDefMsg>(),
            2 => size_of::<v2::InstrumentDefMsg>(),
            _ => size_of::<v3::InstrumentDefMsg>(),
        },
        rtype::IMBALANCE => size_of::<v3::ImbalanceMsg>(),
        rtype::ERROR if version == 1 => size_of::<v1::ErrorMsg>(),
        rtype::ERROR => size_of::<v3::ErrorMsg>(),
        rtype::SYMBOL_MAPPING if version == 1 => size_of::<v1::SymbolMappingMsg>(),
        rtype::SYMBOL_MAPPING => size_of::<v3::SymbolMappingMsg>(),
        rtype::SYSTEM if version == 1 => size_of::<v1::SystemMsg>(),
        rtype::SYSTEM => size_of::<v3::SystemMsg>(),
        rtype::STATISTICS if version < 3 => size_of::<v2::StatMsg>(),
        rtype::STATISTICS => size_of::<v3::StatMsg>(),
        rtype::MBO => size_of::<v3::MboMsg>(),
        rtype::CMBP_1 | rtype::TCBBO => size_of::<v3::Cmbp1Msg>(),
        rtype::CBBO_1S | rtype::CBBO_1M => size_of::<v3::CbboMsg>(),
        rtype::BBO_1S | rtype::BBO_1M => size_of::<v3::BboMsg>(),
        _ => return None,
    };
    Some(len)
}

fn is_zstd(prefix: &[u8]) -> bool {
    let Ok(magic) = <[u8; 4]>::try_from(prefix) else {
        return false;
    };
    magic == ZSTD_MAGIC || ZSTD_SKIPPABLE_MAGIC.contains(&u32::from_le_bytes(magic))
}

fn read_error(path: Option<&Path>, offset: u64, source: io::Error) -> Error {
    match path {
        Some(path) => Error::Io {
            path: path.to_path_buf(),
            source,
        },
        None => Error::Read { offset, source },
    }
}

fn to_u64(len: usize) -> u64 {
    u64::try_from(len).unwrap_or(u64::MAX)
}

fn to_usize(len: u32) -> usize {
    usize::try_from(len).unwrap_or(usize::MAX)
}

/// The caller's reader, counting bytes and remembering whether it failed, with the
/// first bytes (read to detect the compression) replayed before the rest.
struct Tracked<R> {
    inner: R,
    prefix: [u8; 4],
    prefix_len: usize,
    prefix_pos: usize,
    bytes: u64,
    failed: bool,
}

impl<R: Read> Tracked<R> {
    fn new(inner: R) -> Self {
        Self {
            inner,
            prefix: [0; 4],
            prefix_len: 0,
            prefix_pos: 0,
            bytes: 0,
            failed: false,
        }
    }

    /// Reads up to four bytes (fewer only at the end of the input).
    fn fill_prefix(&mut self) -> io::Result<()> {
        while self.prefix_len < self.prefix.len() {
            match self.inner.read(&mut self.prefix[self.prefix_len..]) {
                Ok(0) => break,
                Ok(n) => {
                    self.prefix_len += n;
                    self.bytes += to_u64(n);
                }
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => {
                    self.failed = true;
                    return Err(err);
                }
            }
        }
        Ok(())
    }

    fn prefix(&self) -> &[u8] {
        &self.prefix[..self.prefix_len]
    }
}

impl<R: Read> Read for Tracked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.prefix_pos < self.prefix_len {
            let pending = &self.prefix[self.prefix_pos..self.prefix_len];
            let n = pending.len().min(buf.len());
            buf[..n].copy_from_slice(&pending[..n]);
            self.prefix_pos += n;
            return Ok(n);
        }
        match self.inner.read(buf) {
            Ok(n) => {
                self.bytes += to_u64(n);
                Ok(n)
            }
            Err(err) => {
                if err.kind() != io::ErrorKind::Interrupted {
                    self.failed = true;
                }
                Err(err)
            }
        }
    }
}

/// The decompressed DBN stream.
enum Input<R: Read> {
    Plain(Tracked<R>),
    Zstd(zstd::stream::read::Decoder<'static, BufReader<Tracked<R>>>),
}

impl<R: Read> Input<R> {
    fn tracked(&self) -> &Tracked<R> {
        match self {
            Self::Plain(tracked) => tracked,
            Self::Zstd(decoder) => decoder.get_ref().get_ref(),
        }
    }

    /// One successful read (retrying interruptions), with errors classified.
    fn read_some(&mut self, buf: &mut [u8], path: Option<&Path>) -> Result<usize> {
        loop {
            let result = match self {
                Self::Plain(tracked) => tracked.read(buf),
                Self::Zstd(decoder) => decoder.read(buf),
            };
            match result {
                Ok(n) => return Ok(n),
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Err(self.classify(err, path)),
            }
        }
    }

    /// Reads until `buf` is full or the stream ends; returns the bytes read.
    fn read_full(&mut self, buf: &mut [u8], path: Option<&Path>) -> Result<usize> {
        let mut filled = 0;
        while filled < buf.len() {
            let n = self.read_some(&mut buf[filled..], path)?;
            if n == 0 {
                break;
            }
            filled += n;
        }
        Ok(filled)
    }

    fn classify(&self, err: io::Error, path: Option<&Path>) -> Error {
        let tracked = self.tracked();
        match self {
            _ if tracked.failed => read_error(path, tracked.bytes, err),
            Self::Plain(_) => read_error(path, tracked.bytes, err),
            Self::Zstd(_) if err.kind() == io::ErrorKind::UnexpectedEof => Error::Truncated {
                part: DbnPart::ZstdFrame,
                offset: tracked.bytes,
            },
            Self::Zstd(_) => Error::Zstd {
                offset: tracked.bytes,
                source: err,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dbn::record::HasRType;

    /// Every type `dbn` maps an `rtype` to fits in the minimum length this module
    /// demands, so `RecordRef::get` cannot panic on a record that passed the check.
    #[test]
    fn min_record_len_covers_every_dbn_type() {
        fn check<T: HasRType>(name: &str) {
            let mut matched = 0;
            for rtype in 0..=u8::MAX {
                if T::has_rtype(u16::from(rtype)) {
                    matched += 1;
                    let min = min_record_len(3, rtype);
                    assert!(
                        min.is_some_and(|min| min >= size_of::<T>()),
                        "{name}: rtype {rtype:#04x} min {min:?} < {}",
                        size_of::<T>()
                    );
                }
            }
            assert!(matched > 0, "{name} has no rtype");
        }
        check::<dbn::MboMsg>("MboMsg");
        check::<dbn::TradeMsg>("TradeMsg");
        check::<dbn::Mbp1Msg>("Mbp1Msg");
        check::<dbn::Mbp10Msg>("Mbp10Msg");
        check::<dbn::OhlcvMsg>("OhlcvMsg");
        check::<dbn::StatusMsg>("StatusMsg");
        check::<dbn::InstrumentDefMsg>("InstrumentDefMsg");
        check::<dbn::ImbalanceMsg>("ImbalanceMsg");
        check::<dbn::StatMsg>("StatMsg");
        check::<dbn::ErrorMsg>("ErrorMsg");
        check::<dbn::SymbolMappingMsg>("SymbolMappingMsg");
        check::<dbn::SystemMsg>("SystemMsg");
        check::<dbn::Cmbp1Msg>("Cmbp1Msg");
        check::<dbn::CbboMsg>("CbboMsg");
        check::<dbn::BboMsg>("BboMsg");
    }

    #[test]
    fn older_versions_use_their_own_struct_sizes() {
        assert_eq!(
            min_record_len(1, rtype::INSTRUMENT_DEF),
            Some(size_of::<dbn::v1::InstrumentDefMsg>())
        );
        assert_eq!(
            min_record_len(2, rtype::INSTRUMENT_DEF),
            Some(size_of::<dbn::v2::InstrumentDefMsg>())
        );
        assert_eq!(
            min_record_len(2, rtype::STATISTICS),
            Some(size_of::<dbn::v2::StatMsg>())
        );
        assert_eq!(
            min_record_len(1, rtype::SYSTEM),
            Some(size_of::<dbn::v1::SystemMsg>())
        );
        assert_eq!(min_record_len(3, 0xEE), None);
    }

    #[test]
    fn zstd_magic_detection() {
        assert!(is_zstd(&ZSTD_MAGIC));
        assert!(is_zstd(&0x184D_2A53_u32.to_le_bytes()));
        assert!(!is_zstd(b"DBN\x03"));
        assert!(!is_zstd(&ZSTD_MAGIC[..3]));
    }

    #[test]
    fn tracked_replays_prefix_then_counts() {
        let mut tracked = Tracked::new(&b"abcdefgh"[..]);
        tracked.fill_prefix().unwrap();
        assert_eq!(tracked.prefix(), b"abcd");
        let mut out = Vec::new();
        tracked.read_to_end(&mut out).unwrap();
        assert_eq!(out, b"abcdefgh");
        assert_eq!(tracked.bytes, 8);
        assert!(!tracked.failed);
    }
}
