//! Writing simulated sessions: DBN through dbn's own encoder, truth and decoys as JSONL.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use dbn::encode::{DbnEncoder, EncodeRecord, EncodeRecordRef};
use serde::Serialize;

use crate::{Decoy, Error, Feed, Result, SimDay, Truth};

fn encode_into<W: Write>(day: &SimDay, feed: Feed, writer: &mut W) -> Result<()> {
    let enc_err = |source| Error::DbnEncode { source };
    let mut encoder = DbnEncoder::new(writer, &day.feed_metadata(feed)).map_err(enc_err)?;
    for rec in day.feed_records(feed) {
        encoder.encode_record_ref(rec).map_err(enc_err)?;
    }
    encoder.flush().map_err(enc_err)
}

/// Encodes a session's combined stream (the future and the options in one file) as DBN
/// bytes, Zstandard-compressed when `zstd` is true. Same as
/// `feed_to_dbn_bytes(day, Feed::Combined, zstd)`.
///
/// The output is deterministic: the same [`SimDay`] always gives the same bytes.
///
/// # Errors
/// [`Error::DbnEncode`] if dbn rejects the metadata or a record, and
/// [`Error::Compress`] if the Zstandard encoder fails.
pub fn to_dbn_bytes(day: &SimDay, zstd: bool) -> Result<Vec<u8>> {
    feed_to_dbn_bytes(day, Feed::Combined, zstd)
}

/// Encodes one feed of a session as DBN bytes, Zstandard-compressed when `zstd` is true:
/// [`Feed::Options`] is what a parent `NQ.OPT` download holds, [`Feed::Futures`] what
/// `NQ.FUT` adds.
///
/// # Errors
/// [`Error::DbnEncode`] if dbn rejects the metadata or a record, and
/// [`Error::Compress`] if the Zstandard encoder fails.
pub fn feed_to_dbn_bytes(day: &SimDay, feed: Feed, zstd: bool) -> Result<Vec<u8>> {
    if zstd {
        let mut z = zstd::stream::Encoder::new(Vec::new(), 0)
            .map_err(|source| Error::Compress { source })?;
        encode_into(day, feed, &mut z)?;
        z.finish().map_err(|source| Error::Compress { source })
    } else {
        let mut out = Vec::new();
        encode_into(day, feed, &mut out)?;
        Ok(out)
    }
}

/// Writes a session's combined stream as a DBN file; a path ending in `.zst` is
/// Zstandard-compressed. Same as `write_feed_dbn(day, Feed::Combined, path)`.
///
/// # Errors
/// [`Error::Io`] when the file cannot be created or written, [`Error::DbnEncode`] if dbn
/// rejects the metadata or a record.
pub fn write_dbn(day: &SimDay, path: impl AsRef<Path>) -> Result<()> {
    write_feed_dbn(day, Feed::Combined, path)
}

/// Writes one feed of a session as a DBN file; a path ending in `.zst` is
/// Zstandard-compressed.
///
/// # Errors
/// [`Error::Io`] when the file cannot be created or written, [`Error::DbnEncode`] if dbn
/// rejects the metadata or a record.
pub fn write_feed_dbn(day: &SimDay, feed: Feed, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    let io_err = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = BufWriter::with_capacity(1 << 20, File::create(path).map_err(io_err)?);
    let zstd = path.extension().is_some_and(|e| e == "zst");
    if zstd {
        let mut z = zstd::stream::Encoder::new(file, 0).map_err(io_err)?;
        encode_into(day, feed, &mut z)?;
        file = z.finish().map_err(io_err)?;
    } else {
        encode_into(day, feed, &mut file)?;
    }
    file.flush().map_err(io_err)?;
    file.get_ref().sync_all().map_err(io_err)
}

fn to_jsonl<T: Serialize>(items: &[T]) -> String {
    let mut out = String::new();
    for item in items {
        // Serialising these plain structs cannot fail (no maps with non-string keys).
        if let Ok(line) = serde_json::to_string(item) {
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}

/// The truth as JSONL: one planted flow per line with the fields `flow_id`, `kind`,
/// `side`, `direction`, `instrument_ids`, `ts_start`, `ts_end`, `size`.
#[must_use]
pub fn truth_to_jsonl(truth: &[Truth]) -> String {
    to_jsonl(truth)
}

/// The decoys as JSONL: `decoy_id`, `kind`, `instrument_ids`, `ts_start`, `ts_end`, and
/// for a package `package` (`structure`, and `legs` with `instrument_id`, `side`, `size`,
/// `price` each).
#[must_use]
pub fn decoys_to_jsonl(decoys: &[Decoy]) -> String {
    to_jsonl(decoys)
}

/// Writes the truth JSONL file.
///
/// # Errors
/// [`Error::Io`] when the file cannot be written.
pub fn write_truth_jsonl(truth: &[Truth], path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    std::fs::write(path, truth_to_jsonl(truth)).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes the decoys JSONL file.
///
/// # Errors
/// [`Error::Io`] when the file cannot be written.
pub fn write_decoys_jsonl(decoys: &[Decoy], path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    std::fs::write(path, decoys_to_jsonl(decoys)).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Parses a truth JSONL text back (blank lines are skipped).
///
/// # Errors
/// [`Error::TruthLine`] with the 1-based line number when a line is not a valid truth
/// record.
pub fn truth_from_jsonl(text: &str) -> Result<Vec<Truth>> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|source| Error::TruthLine {
                line: i + 1,
                source,
            })
        })
        .collect()
}
