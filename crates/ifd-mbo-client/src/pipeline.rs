//! Pipelined reading: decompression and decoding on one thread, the caller's work on
//! another.
//!
//! [`FileSource::for_each_batch_pipelined`] runs the source (zstd decompression,
//! framing checks, `dbn` decoding and the v1/v2 upgrade) on a scoped thread of its own
//! and hands the caller owned batches of records through a bounded channel, so a
//! replay of a `.dbn.zst` file costs about the larger of the two halves instead of
//! their sum. The records, their order, the checks and the errors are those of
//! [`FileSource::for_each_batch`]; an error reaches the caller after every record
//! before it.
//!
//! Memory stays bounded whatever the file size: at most [`PIPELINE_DEPTH`] batches
//! wait in the channel, one is being filled and one is being read (batch vectors are
//! recycled, not reallocated). A record of up to [`INLINE_RECORD_LEN`] bytes (MBO,
//! statistics, status) is copied inline into its batch slot (88 bytes), a longer one
//! (a definition) into a box of its own, so a batch of [`DEFAULT_PIPELINE_BATCH`]
//! records takes about 0.7 MiB and copying a record costs about what decoding it does.

use std::io::Read;
use std::ops::ControlFlow;
use std::sync::mpsc;

use dbn::{RecordBuf, RecordRef};

use crate::error::{Error, Result};
use crate::file::{FileSource, FileStats};

/// Records per batch by default.
pub const DEFAULT_PIPELINE_BATCH: usize = 8192;
/// Longest record held inline in a batch slot: an MBO record with a `ts_out` suffix
/// (64 bytes) or a statistics record (80 bytes) fits.
pub const INLINE_RECORD_LEN: usize = 80;

/// One record of a pipelined batch, owned.
#[derive(Clone)]
pub enum BatchRecord {
    /// A record of up to [`INLINE_RECORD_LEN`] bytes.
    Inline(RecordBuf<INLINE_RECORD_LEN>),
    /// A longer record (up to [`dbn::MAX_RECORD_LEN`] bytes).
    Boxed(Box<RecordBuf>),
}

impl BatchRecord {
    /// The record.
    #[must_use]
    pub fn as_rec_ref(&self) -> RecordRef<'_> {
        match self {
            Self::Inline(buf) => buf.as_rec_ref(),
            Self::Boxed(buf) => buf.as_rec_ref(),
        }
    }

    fn copy(record: RecordRef<'_>) -> dbn::Result<Self> {
        if record.header().record_size() <= INLINE_RECORD_LEN {
            RecordBuf::try_from(record).map(Self::Inline)
        } else {
            RecordBuf::try_from(record).map(|b| Self::Boxed(Box::new(b)))
        }
    }
}

impl std::fmt::Debug for BatchRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.as_rec_ref().fmt(f)
    }
}
/// Largest batch accepted (longer requests are cut to it).
pub const MAX_PIPELINE_BATCH: usize = 65_536;
/// Full batches that may wait in the channel for the caller.
pub const PIPELINE_DEPTH: usize = 2;

type Batch = (Vec<BatchRecord>, Box<FileStats>);

impl<R: Read + Send> FileSource<R> {
    /// Calls `f` on every remaining record, in order, in batches of up to `batch_len`
    /// records (clamped to `1..=`[`MAX_PIPELINE_BATCH`]), while a second thread reads,
    /// decompresses and decodes the next batches. `f` gets the source's counters as
    /// they stood when the batch was complete (the reading thread may be ahead by a
    /// few batches); [`stats`](Self::stats) is exact once this returns.
    ///
    /// # Errors
    /// As [`next_record`](Self::next_record); `f` has seen every record before the
    /// failing one.
    ///
    /// # Panics
    /// Only when `f` panics (the reading thread stops and the panic goes on).
    pub fn for_each_batch_pipelined(
        &mut self,
        batch_len: usize,
        mut f: impl FnMut(&[BatchRecord], &FileStats),
    ) -> Result<()> {
        let batch_len = batch_len.clamp(1, MAX_PIPELINE_BATCH);
        let (tx, rx) = mpsc::sync_channel::<Batch>(PIPELINE_DEPTH);
        let (back_tx, back_rx) = mpsc::channel::<Vec<BatchRecord>>();
        std::thread::scope(|scope| {
            // Owned here, so that a panic in `f` drops it and the reader's next send
            // fails instead of waiting for ever.
            let rx = rx;
            let reader = scope.spawn(move || self.produce(batch_len, &tx, &back_rx));
            for (mut records, stats) in &rx {
                f(&records, &stats);
                records.clear();
                // The reader may have finished: then the vector is simply dropped.
                let _ = back_tx.send(records);
            }
            // The channel closes when the reader returns (or unwinds).
            match reader.join() {
                Ok(result) => result,
                Err(panic) => std::panic::resume_unwind(panic),
            }
        })
    }

    /// The reading half: fills batches and sends them; the last, partial batch goes
    /// before the result.
    fn produce(
        &mut self,
        batch_len: usize,
        tx: &mpsc::SyncSender<Batch>,
        back: &mpsc::Receiver<Vec<BatchRecord>>,
    ) -> Result<()> {
        let mut current: Vec<BatchRecord> = Vec::with_capacity(batch_len);
        let mut failed = None;
        let mut closed = false;
        let result = self.for_each_inner(&mut |records, stats| {
            for record in records {
                match BatchRecord::copy(*record) {
                    Ok(buf) => current.push(buf),
                    // Unreachable: frames longer than `dbn::MAX_RECORD_LEN`, the
                    // buffer's capacity, are refused before decoding.
                    Err(source) => {
                        failed = Some(Error::Record {
                            offset: stats.dbn_bytes(),
                            source,
                        });
                        return ControlFlow::Break(());
                    }
                }
            }
            if current.len() >= batch_len {
                let next = back
                    .try_recv()
                    .unwrap_or_else(|_| Vec::with_capacity(batch_len));
                let full = std::mem::replace(&mut current, next);
                if tx.send((full, Box::new(stats.clone()))).is_err() {
                    closed = true;
                    return ControlFlow::Break(());
                }
            }
            ControlFlow::Continue(())
        });
        self.done = true;
        if !current.is_empty() && !closed {
            let _ = tx.send((current, Box::new(self.stats().clone())));
        }
        match failed {
            Some(err) => Err(err),
            None => result,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dbn::encode::{DbnEncoder, EncodeRecord};
    use dbn::{rtype, MboMsg, MetadataBuilder, RecordHeader, SType, Schema};

    fn dbn_bytes(n: u64, zstd: bool) -> Vec<u8> {
        let meta = MetadataBuilder::new()
            .dataset("GLBX.MDP3")
            .schema(Some(Schema::Mbo))
            .start(1)
            .stype_in(Some(SType::InstrumentId))
            .stype_out(SType::InstrumentId)
            .build();
        let mut plain = Vec::new();
        {
            let mut enc = DbnEncoder::new(&mut plain, &meta).expect("header");
            // A definition (longer than a batch slot: boxed) before the MBO records.
            enc.encode_record(&dbn::InstrumentDefMsg::default())
                .expect("encode");
            for i in 0..n {
                let msg = MboMsg {
                    hd: RecordHeader::new::<MboMsg>(rtype::MBO, 1, 7, 1_000 + i),
                    order_id: i + 1,
                    price: 100_000_000_000 + i as i64,
                    size: 1,
                    action: b'A' as std::ffi::c_char,
                    side: b'B' as std::ffi::c_char,
                    ts_recv: 1_000 + i,
                    ..Default::default()
                };
                enc.encode_record(&msg).expect("encode");
            }
        }
        if zstd {
            zstd::encode_all(plain.as_slice(), 1).expect("compress")
        } else {
            plain
        }
    }

    fn order_ids(source: &mut FileSource<&[u8]>, batch: usize) -> (Vec<u64>, Result<()>) {
        let mut ids = Vec::new();
        let r = source.for_each_batch_pipelined(batch, |records, _| {
            ids.extend(
                records
                    .iter()
                    .filter_map(|r| r.as_rec_ref().get::<MboMsg>().map(|m| m.order_id)),
            );
        });
        (ids, r)
    }

    #[test]
    fn same_records_in_order_for_any_batch_length() {
        for zstd in [false, true] {
            let bytes = dbn_bytes(10_000, zstd);
            let mut expected = Vec::new();
            FileSource::from_bytes(&bytes)
                .expect("valid")
                .for_each_record(|r| expected.push(r.get::<MboMsg>().map(|m| m.order_id)))
                .expect("clean end");
            let expected: Vec<u64> = expected.into_iter().flatten().collect();
            assert_eq!(expected.len(), 10_000);
            let mut defs = 0;
            FileSource::from_bytes(&bytes)
                .expect("valid")
                .for_each_batch_pipelined(64, |records, _| {
                    defs += records
                        .iter()
                        .filter(|r| matches!(r, BatchRecord::Boxed(_)))
                        .filter(|r| r.as_rec_ref().has::<dbn::InstrumentDefMsg>())
                        .count();
                })
                .expect("clean end");
            assert_eq!(defs, 1, "the definition arrives, boxed");
            for batch in [0, 1, 7, 4096, 1 << 20] {
                let mut src = FileSource::from_bytes(&bytes).expect("valid");
                let (ids, r) = order_ids(&mut src, batch);
                r.expect("clean end");
                assert_eq!(ids, expected, "batch {batch}, zstd {zstd}");
                assert_eq!(src.stats().records(), 10_001);
                // The source is finished afterwards.
                assert!(src.next_record().expect("done").is_none());
            }
        }
    }

    #[test]
    fn a_truncated_file_delivers_every_record_before_the_error() {
        for zstd in [false, true] {
            let bytes = dbn_bytes(5_000, zstd);
            let cut = &bytes[..bytes.len() - 20];
            let mut reference = FileSource::from_bytes(cut).expect("header intact");
            let mut expected = 0;
            let want = reference.for_each_record(|r| expected += usize::from(r.has::<MboMsg>()));
            assert!(want.is_err());
            let mut src = FileSource::from_bytes(cut).expect("header intact");
            let (ids, got) = order_ids(&mut src, 1000);
            assert_eq!(ids.len(), expected, "zstd {zstd}");
            assert!(matches!(got, Err(Error::Truncated { .. })), "{got:?}");
            assert_eq!(format!("{want:?}"), format!("{got:?}"));
        }
    }

    #[test]
    fn a_panicking_caller_stops_the_reader() {
        let bytes = dbn_bytes(50_000, true);
        let mut src = FileSource::from_bytes(&bytes).expect("valid");
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            src.for_each_batch_pipelined(64, |_, _| panic!("caller failed"))
        }));
        assert!(r.is_err());
        assert!(src.stats().records() < 50_000, "the reader stopped early");
    }
}
