//! The file source: real sample files, generated streams, and bad input.

use std::collections::BTreeMap;
use std::ffi::c_char;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use dbn::decode::{DecodeRecordRef, DynDecoder};
use dbn::encode::{DbnEncoder, EncodeRecordRef};
use dbn::record::str_to_c_chars;
use dbn::{
    rtype, Compression, FlagSet, InstrumentDefMsg, MboMsg, Metadata, MetadataBuilder, RecordBuf,
    RecordHeader, RecordRef, SType, Schema, StatMsg, SymbolMappingMsg, SystemMsg,
    VersionUpgradePolicy, UNDEF_PRICE,
};
use ifd_mbo_client::{DbnPart, Error, FileSource, FileSourceOptions};
use proptest::prelude::*;

use crate::samples;

// ---------------------------------------------------------------------------------------
// Helpers

const FIXED: i64 = 1_000_000_000;

fn metadata(version: u8, schema: Option<Schema>) -> Metadata {
    MetadataBuilder::new()
        .dataset("GLBX.MDP3")
        .schema(schema)
        .start(1_715_126_400_000_000_000)
        .stype_in(Some(SType::Parent))
        .stype_out(SType::InstrumentId)
        .symbols(vec!["NQ.OPT".to_owned()])
        .version(version)
        .build()
}

fn encode(records: &[RecordBuf]) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut encoder = DbnEncoder::new(&mut bytes, &metadata(3, None)).unwrap();
    for record in records {
        encoder.encode_record_ref(record.as_rec_ref()).unwrap();
    }
    bytes
}

fn compress(bytes: &[u8]) -> Vec<u8> {
    zstd::encode_all(bytes, 3).unwrap()
}

/// Length of prelude plus metadata of a plain DBN stream.
fn header_len(bytes: &[u8]) -> usize {
    8 + u32::from_le_bytes(bytes[4..8].try_into().unwrap()) as usize
}

/// Start offsets of the records of a plain stream built by [`encode`], plus its end.
fn boundaries(bytes: &[u8], records: &[RecordBuf]) -> Vec<usize> {
    let mut at = header_len(bytes);
    let mut out = vec![at];
    for record in records {
        at += record.as_ref().len();
        out.push(at);
    }
    assert_eq!(at, bytes.len());
    out
}

fn mbo(iid: u32, order_id: u64, action: u8, side: u8, price: i64, size: u32) -> RecordBuf {
    RecordBuf::from(MboMsg {
        hd: RecordHeader::new::<MboMsg>(
            rtype::MBO,
            1,
            iid,
            1_715_126_400_000_000_000_u64.wrapping_add(order_id),
        ),
        order_id,
        price,
        size,
        flags: FlagSet::empty().set_last(),
        channel_id: 7,
        action: action as c_char,
        side: side as c_char,
        ts_recv: 1_715_126_400_000_000_100_u64.wrapping_add(order_id),
        ts_in_delta: 1_000,
        sequence: u32::try_from(order_id % 1_000_000).unwrap(),
    })
}

fn definition(iid: u32, symbol: &str, class: u8, strike: i64) -> RecordBuf {
    RecordBuf::from(InstrumentDefMsg {
        hd: RecordHeader::new::<InstrumentDefMsg>(rtype::INSTRUMENT_DEF, 1, iid, 1),
        raw_symbol: str_to_c_chars(symbol).unwrap(),
        asset: str_to_c_chars("NQ").unwrap(),
        underlying: str_to_c_chars("NQZ6").unwrap(),
        instrument_class: class as c_char,
        strike_price: strike,
        expiration: 1_797_000_000_000_000_000,
        unit_of_measure_qty: 20 * FIXED,
        ..InstrumentDefMsg::default()
    })
}

fn stat(iid: u32, quantity: i64) -> RecordBuf {
    RecordBuf::from(StatMsg {
        hd: RecordHeader::new::<StatMsg>(rtype::STATISTICS, 1, iid, 2),
        quantity,
        stat_type: 9,
        ..StatMsg::default()
    })
}

fn mapping(iid: u32, symbol: &str) -> RecordBuf {
    RecordBuf::from(
        SymbolMappingMsg::new(
            iid,
            3,
            SType::Parent,
            "NQ.OPT",
            SType::RawSymbol,
            symbol,
            0,
            u64::MAX,
        )
        .unwrap(),
    )
}

/// A small mixed stream like a live NQ options session.
fn session() -> Vec<RecordBuf> {
    vec![
        definition(1001, "NQZ6 C21000", b'C', 21_000 * FIXED),
        definition(1002, "NQZ6 P20000", b'P', 20_000 * FIXED),
        mapping(1001, "NQZ6 C21000"),
        stat(1001, 1234),
        mbo(1001, 1, b'R', b'N', UNDEF_PRICE, 0),
        mbo(1001, 2, b'A', b'B', 512 * FIXED, 3),
        mbo(1001, 3, b'A', b'A', 515 * FIXED, 5),
        mbo(1002, 4, b'T', b'B', 515 * FIXED, 2),
        mbo(1002, 5, b'F', b'A', 515 * FIXED, 2),
        mbo(1002, 6, b'C', b'A', 515 * FIXED, 2),
        RecordBuf::from(SystemMsg::heartbeat(9)),
    ]
}

/// Everything a source yields: the records, then the error that ended it, if any.
fn drain<R: Read>(mut source: FileSource<R>) -> (Vec<RecordBuf>, Option<Error>) {
    let mut records = Vec::new();
    loop {
        match source.next_record() {
            Ok(Some(record)) => {
                // The invariants the source promises: these must not panic.
                let owned = record.to_owned();
                let _ = record.as_enum();
                let _ = record.get::<MboMsg>();
                let _ = record.get::<InstrumentDefMsg>();
                records.push(owned);
            }
            Ok(None) => return (records, None),
            Err(err) => {
                // A failed source stays finished.
                assert!(matches!(source.next_record(), Ok(None)));
                return (records, Some(err));
            }
        }
    }
}

fn decode_bytes(bytes: &[u8]) -> (Vec<RecordBuf>, Option<Error>) {
    match FileSource::from_bytes(bytes) {
        Ok(source) => drain(source),
        Err(err) => (Vec::new(), Some(err)),
    }
}

/// A reader that hands out the bytes in the given chunk sizes (cycled), answering
/// `Interrupted` before every other chunk.
struct Chunked<'a> {
    bytes: &'a [u8],
    sizes: Vec<usize>,
    calls: usize,
}

impl Read for Chunked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.calls += 1;
        if self.calls % 2 == 0 {
            return Err(io::ErrorKind::Interrupted.into());
        }
        let size = self.sizes[self.calls % self.sizes.len()].max(1);
        let n = size.min(buf.len()).min(self.bytes.len());
        buf[..n].copy_from_slice(&self.bytes[..n]);
        self.bytes = &self.bytes[n..];
        Ok(n)
    }
}

/// A reader that fails for good after `limit` bytes.
struct Failing<'a> {
    bytes: &'a [u8],
    limit: usize,
}

impl Read for Failing<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.limit == 0 {
            return Err(io::Error::other("disk on fire"));
        }
        let n = buf.len().min(self.bytes.len()).min(self.limit);
        buf[..n].copy_from_slice(&self.bytes[..n]);
        self.bytes = &self.bytes[n..];
        self.limit -= n;
        Ok(n)
    }
}

// ---------------------------------------------------------------------------------------
// Generated streams

#[test]
fn generated_session_round_trips_plain_and_zstd() {
    let records = session();
    let plain = encode(&records);
    for (bytes, compression) in [
        (plain.clone(), Compression::None),
        (compress(&plain), Compression::Zstd),
    ] {
        let source = FileSource::from_bytes(&bytes).unwrap();
        assert_eq!(source.compression(), compression);
        assert_eq!(source.input_version(), 3);
        assert_eq!(source.metadata().dataset, "GLBX.MDP3");
        assert_eq!(source.metadata().symbols, vec!["NQ.OPT".to_owned()]);
        let mut records_iter = source.into_records();
        let decoded: Vec<RecordBuf> = records_iter.by_ref().map(Result::unwrap).collect();
        assert_eq!(decoded, records);
        let stats = records_iter.source().stats();
        assert_eq!(stats.records(), 11);
        assert_eq!(stats.records_of(rtype::MBO), 6);
        assert_eq!(stats.records_of(rtype::INSTRUMENT_DEF), 2);
        assert_eq!(stats.records_of(rtype::SYMBOL_MAPPING), 1);
        assert_eq!(stats.records_of(rtype::STATISTICS), 1);
        assert_eq!(stats.records_of(rtype::SYSTEM), 1);
        assert_eq!(stats.unknown_rtype_records(), 0);
        assert_eq!(stats.dbn_bytes(), plain.len() as u64);
        assert_eq!(stats.input_bytes(), bytes.len() as u64);
        assert_eq!(
            stats.by_rtype().map(|(_, n)| n).sum::<u64>(),
            stats.records()
        );
    }
}

#[test]
fn empty_record_section_is_a_clean_end() {
    let bytes = encode(&[]);
    let (records, err) = decode_bytes(&bytes);
    assert!(records.is_empty());
    assert!(err.is_none(), "{err:?}");
}

#[test]
fn matches_dbn_decoder_on_generated_stream() {
    let records = session();
    let plain = encode(&records);
    let mut reference =
        DynDecoder::new_inferred(plain.as_slice(), VersionUpgradePolicy::UpgradeToV3).unwrap();
    let mut ours = FileSource::from_bytes(&plain).unwrap();
    while let Some(expected) = reference.decode_record_ref().unwrap() {
        let expected = expected.to_owned();
        let got = ours.next_record().unwrap().expect("fewer records than dbn");
        assert_eq!(expected, got.to_owned());
    }
    assert!(ours.next_record().unwrap().is_none());
}

#[test]
fn version_1_definitions_are_upgraded() {
    let mut v1 = dbn::v1::InstrumentDefMsg {
        hd: RecordHeader::new::<dbn::v1::InstrumentDefMsg>(rtype::INSTRUMENT_DEF, 1, 77, 5),
        raw_symbol: str_to_c_chars("NQM4 C18000").unwrap(),
        strike_price: 18_000 * FIXED,
        unit_of_measure_qty: 20 * FIXED,
        instrument_class: b'C' as c_char,
        ..dbn::v1::InstrumentDefMsg::default()
    };
    v1.expiration = 1_718_976_600_000_000_000;
    let mut bytes = Vec::new();
    dbn::encode::DbnMetadataEncoder::new(&mut bytes)
        .encode(&metadata(1, Some(Schema::Definition)))
        .unwrap();
    assert_eq!(bytes[3], 1);
    bytes.extend_from_slice(v1.as_ref());
    bytes.extend_from_slice(mbo(77, 1, b'A', b'B', 100 * FIXED, 1).as_ref());

    let mut source = FileSource::from_bytes(&bytes).unwrap();
    assert_eq!(source.input_version(), 1);
    assert_eq!(source.metadata().version, 3);
    let record = source.next_record().unwrap().unwrap();
    let def = record.try_get::<InstrumentDefMsg>().unwrap();
    assert_eq!(def.raw_symbol().unwrap(), "NQM4 C18000");
    assert_eq!(def.strike_price, 18_000 * FIXED);
    assert_eq!(def.unit_of_measure_qty, 20 * FIXED);
    assert_eq!(def.expiration, 1_718_976_600_000_000_000);
    assert_eq!(def.hd.instrument_id, 77);
    let record = source.next_record().unwrap().unwrap();
    assert_eq!(record.try_get::<MboMsg>().unwrap().order_id, 1);
    assert!(source.next_record().unwrap().is_none());
    assert_eq!(source.stats().dbn_bytes(), bytes.len() as u64);

    // The same v1 definition with a length field two words short: dbn's own decoder
    // panics while upgrading it; the file source reports it.
    let start = header_len(&bytes);
    let mut short = bytes[..start + v1.as_ref().len()].to_vec();
    short[start] -= 2;
    short.truncate(short.len() - 8);
    let (records, err) = decode_bytes(&short);
    assert!(records.is_empty());
    assert!(
        matches!(
            err,
            Some(Error::RecordTooShort { rtype: rtype::INSTRUMENT_DEF, min, length, .. })
                if min == size_of::<dbn::v1::InstrumentDefMsg>() && length == min - 8
        ),
        "{err:?}"
    );
}

#[test]
fn wrong_version_byte_is_unsupported_version() {
    let mut bytes = encode(&session());
    for version in [0_u8, 4, 5, 9, 255] {
        bytes[3] = version;
        let err = FileSource::from_bytes(&bytes).unwrap_err();
        assert!(
            matches!(err, Error::UnsupportedVersion { version: v } if v == version),
            "{err:?}"
        );
    }
}

#[test]
fn wrong_magic_is_bad_magic() {
    let bytes = encode(&session());
    for (at, value) in [(0, b'X'), (1, b'b'), (2, 0)] {
        let mut bad = bytes.clone();
        bad[at] = value;
        let err = FileSource::from_bytes(&bad).unwrap_err();
        assert!(
            matches!(&err, Error::BadMagic { found } if found.as_slice() == &bad[..4]),
            "{err:?}"
        );
    }
    let err = FileSource::from_bytes(b"hello, world").unwrap_err();
    assert!(matches!(err, Error::BadMagic { .. }), "{err:?}");
    let err = FileSource::from_bytes(b"X").unwrap_err();
    assert!(matches!(err, Error::BadMagic { .. }), "{err:?}");
}

#[test]
fn empty_input_is_truncated_prelude() {
    let err = FileSource::from_bytes(&[]).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Truncated {
                part: DbnPart::Prelude,
                offset: 0
            }
        ),
        "{err:?}"
    );
}

#[test]
fn metadata_length_out_of_range() {
    let bytes = encode(&session());
    for length in [u32::MAX, u32::MAX / 2, 0, 99] {
        let mut bad = bytes.clone();
        bad[4..8].copy_from_slice(&length.to_le_bytes());
        let err = FileSource::from_bytes(&bad).unwrap_err();
        assert!(
            matches!(err, Error::MetadataLength { length: l, min: 100, .. } if l == length),
            "{err:?}"
        );
    }
    // Within the default limit but beyond the data: truncated metadata, no huge buffer.
    let mut bad = bytes.clone();
    bad[4..8].copy_from_slice(&(200_u32 << 20).to_le_bytes());
    let err = FileSource::from_bytes(&bad).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Truncated {
                part: DbnPart::Metadata,
                offset: 8
            }
        ),
        "{err:?}"
    );
    // A caller's tighter limit applies.
    let actual = u32::try_from(header_len(&bytes) - 8).unwrap();
    let options = FileSourceOptions::default().max_metadata_len(actual - 1);
    let err = FileSource::from_reader_with(bytes.as_slice(), options).unwrap_err();
    assert!(
        matches!(err, Error::MetadataLength { length, max, .. } if length == actual && max == actual - 1),
        "{err:?}"
    );
    let options = FileSourceOptions::default().max_metadata_len(actual);
    assert!(FileSource::from_reader_with(bytes.as_slice(), options).is_ok());
}

#[test]
fn corrupt_zstd_is_a_zstd_error() {
    let compressed = compress(&encode(&session()));
    // Reserved bit of the frame header descriptor.
    let mut bad = compressed.clone();
    bad[4] |= 0x08;
    let (_, err) = decode_bytes(&bad);
    assert!(matches!(err, Some(Error::Zstd { .. })), "{err:?}");
    // The magic followed by garbage.
    let mut bad = compressed[..4].to_vec();
    bad.extend_from_slice(&[0xFF; 64]);
    let (_, err) = decode_bytes(&bad);
    assert!(matches!(err, Some(Error::Zstd { .. })), "{err:?}");
    // A valid frame followed by garbage that is not another frame.
    let mut bad = compressed;
    bad.extend_from_slice(b"trailing garbage");
    let (records, err) = decode_bytes(&bad);
    assert!(matches!(err, Some(Error::Zstd { .. })), "{err:?}");
    assert!(records.len() <= session().len());
}

#[test]
fn record_length_shorter_than_its_type() {
    let mut bytes = encode(&[]);
    let start = bytes.len();
    let full = mbo(1, 1, b'A', b'B', FIXED, 1);
    bytes.extend_from_slice(full.as_ref());

    // Zero length.
    let mut bad = bytes.clone();
    bad[start] = 0;
    let (records, err) = decode_bytes(&bad);
    assert!(records.is_empty());
    assert!(
        matches!(err, Some(Error::RecordTooShort { length: 0, min: 56, rtype: rtype::MBO, offset }) if offset == start as u64),
        "{err:?}"
    );

    // Shorter than the header.
    let mut bad = bytes.clone();
    bad[start] = 3;
    let (_, err) = decode_bytes(&bad);
    assert!(
        matches!(err, Some(Error::RecordTooShort { length: 12, .. })),
        "{err:?}"
    );

    // A header-sized MBO record (16 of 56 bytes): framed consistently, but too short.
    let mut bad = bytes[..start + 16].to_vec();
    bad[start] = 4;
    let (_, err) = decode_bytes(&bad);
    assert!(
        matches!(
            err,
            Some(Error::RecordTooShort {
                length: 16,
                min: 56,
                ..
            })
        ),
        "{err:?}"
    );
}

#[test]
fn record_length_beyond_the_largest_record() {
    let mut bytes = encode(&[]);
    let start = bytes.len();
    let mut record = vec![0_u8; 255 * 4];
    record[0] = 255;
    record[1] = 0xEE;
    bytes.extend_from_slice(&record);
    let (_, err) = decode_bytes(&bytes);
    assert!(
        matches!(err, Some(Error::RecordTooLong { length: 1020, rtype: 0xEE, offset, .. }) if offset == start as u64),
        "{err:?}"
    );
}

#[test]
fn record_length_not_a_multiple_of_8_is_unaligned() {
    // Found by the fuzzer: a 20-byte record would leave the next one misaligned, which
    // `dbn` asserts against (and reads unaligned without debug assertions).
    let mut bytes = encode(&[]);
    let start = bytes.len();
    let mut record = vec![0_u8; 20];
    record[0] = 5;
    record[1] = 0xEE;
    bytes.extend_from_slice(&record);
    bytes.extend_from_slice(mbo(1, 1, b'A', b'B', FIXED, 1).as_ref());
    let (records, err) = decode_bytes(&bytes);
    assert!(records.is_empty());
    assert!(
        matches!(err, Some(Error::RecordUnaligned { length: 20, rtype: 0xEE, offset }) if offset == start as u64),
        "{err:?}"
    );
    // An MBO record padded by one word.
    let mut bytes = encode(&[]);
    let mut padded = mbo(1, 1, b'A', b'B', FIXED, 1).as_ref().to_vec();
    padded[0] += 1;
    padded.extend_from_slice(&[0; 4]);
    bytes.extend_from_slice(&padded);
    let (_, err) = decode_bytes(&bytes);
    assert!(
        matches!(err, Some(Error::RecordUnaligned { length: 60, .. })),
        "{err:?}"
    );
}

/// For every rtype, the shortest record the source accepts can be read by every `dbn`
/// accessor without tripping its size assertions (the test profile has debug
/// assertions on, so an undersized `get_unchecked` inside `as_enum` panics here).
#[test]
fn shortest_accepted_record_of_every_rtype_is_safe_to_read() {
    let header = encode(&[]);
    for rtype in 0..=u8::MAX {
        let mut accepted = None;
        for words in (4_u8..=132).step_by(2) {
            let mut bytes = header.clone();
            let mut record = vec![0_u8; usize::from(words) * 4];
            record[0] = words;
            record[1] = rtype;
            bytes.extend_from_slice(&record);
            let mut source = FileSource::from_bytes(&bytes).unwrap();
            match source.next_record() {
                Ok(Some(rec)) => {
                    let _ = rec.as_enum();
                    let _ = rec.to_owned();
                    let _ = rec.get::<MboMsg>();
                    let _ = rec.get::<InstrumentDefMsg>();
                    let _ = rec.get::<StatMsg>();
                    let _ = rec.get::<SystemMsg>();
                    let _ = rec.get::<SymbolMappingMsg>();
                    accepted = Some(usize::from(words) * 4);
                    break;
                }
                Err(Error::RecordTooShort { min, length, .. }) => assert!(length < min),
                other => panic!("rtype {rtype:#04x}, {words} words: {other:?}"),
            }
        }
        let accepted = accepted.unwrap_or_else(|| panic!("rtype {rtype:#04x} never accepted"));
        if rtype == rtype::MBO {
            assert_eq!(accepted, size_of::<MboMsg>());
        }
    }
}

#[test]
fn unknown_rtype_passes_through_and_is_counted() {
    let mut bytes = encode(&[]);
    let mut record = vec![0_u8; 24];
    record[0] = 6;
    record[1] = 0xEE;
    bytes.extend_from_slice(&record);
    bytes.extend_from_slice(mbo(1, 1, b'A', b'B', FIXED, 1).as_ref());
    let mut source = FileSource::from_bytes(&bytes).unwrap();
    let first = source.next_record().unwrap().unwrap();
    assert_eq!(first.header().rtype, 0xEE);
    assert!(first.as_enum().is_err());
    assert!(source.next_record().unwrap().unwrap().has::<MboMsg>());
    assert!(source.next_record().unwrap().is_none());
    assert_eq!(source.stats().unknown_rtype_records(), 1);
    assert_eq!(source.stats().records_of(0xEE), 1);
    assert_eq!(source.stats().records(), 2);
}

#[test]
fn reader_failure_is_a_read_error() {
    let bytes = encode(&session());
    let limit = header_len(&bytes) + 100;
    let source = FileSource::from_reader(Failing {
        bytes: &bytes,
        limit,
    })
    .unwrap();
    let (records, err) = drain(source);
    assert_eq!(records.len(), 0, "the first record is 520 bytes");
    assert!(
        matches!(&err, Some(Error::Read { offset, .. }) if *offset == limit as u64),
        "{err:?}"
    );
    // Failing inside the prelude, and under zstd.
    let err = FileSource::from_reader(Failing {
        bytes: &bytes,
        limit: 2,
    })
    .unwrap_err();
    assert!(matches!(err, Error::Read { offset: 2, .. }), "{err:?}");
    let compressed = compress(&bytes);
    let source = FileSource::from_reader(Failing {
        bytes: &compressed,
        limit: compressed.len() - 3,
    });
    let err = match source {
        Ok(source) => drain(source).1,
        Err(err) => Some(err),
    };
    assert!(matches!(err, Some(Error::Read { .. })), "{err:?}");
}

#[test]
fn missing_file_is_an_io_error_with_its_path() {
    let path = Path::new("/nonexistent/ifd/file.dbn.zst");
    let err = FileSource::open(path).unwrap_err();
    assert!(
        matches!(&err, Error::Io { path: p, .. } if p == path),
        "{err:?}"
    );
}

#[test]
fn files_on_disk_decode_like_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let plain = encode(&session());
    let path = dir.path().join("session.dbn.zst");
    std::fs::write(&path, compress(&plain)).unwrap();
    let source = FileSource::open(&path).unwrap();
    assert_eq!(source.path(), Some(path.as_path()));
    let (records, err) = drain(source);
    assert!(err.is_none());
    assert_eq!(records, session());
    // Truncated on disk: the path is not in a Truncated error, but the part is.
    std::fs::write(&path, &plain[..plain.len() - 5]).unwrap();
    let (records, err) = drain(FileSource::open(&path).unwrap());
    assert_eq!(records.len(), session().len() - 1);
    assert!(
        matches!(
            err,
            Some(Error::Truncated {
                part: DbnPart::Record,
                ..
            })
        ),
        "{err:?}"
    );
}

// ---------------------------------------------------------------------------------------
// Properties over cut points, byte flips and read chunking

fn arb_record() -> impl Strategy<Value = RecordBuf> {
    let action = prop::sample::select(vec![b'A', b'C', b'M', b'T', b'F', b'R']);
    let side = prop::sample::select(vec![b'A', b'B', b'N']);
    prop_oneof![
        4 => (1_u32..50, any::<u64>(), action, side, 1_i64..100_000, 1_u32..500).prop_map(
            |(iid, order_id, action, side, price, size)| {
                mbo(iid, order_id, action, side, price * FIXED / 4, size)
            }
        ),
        1 => (1_u32..50, 15_000_i64..25_000, any::<bool>()).prop_map(|(iid, strike, call)| {
            let kind = if call { 'C' } else { 'P' };
            definition(
                iid,
                &format!("NQZ6 {kind}{strike}"),
                kind as u8,
                strike * FIXED,
            )
        }),
        1 => (1_u32..50, any::<i64>()).prop_map(|(iid, q)| stat(iid, q)),
        1 => (1_u32..50).prop_map(|iid| mapping(iid, "NQZ6 C21000")),
        1 => any::<u64>().prop_map(|ts| RecordBuf::from(SystemMsg::heartbeat(ts))),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A plain stream cut anywhere is either a shorter valid stream (cut at a record
    /// boundary) or a `Truncated` error naming the part that was cut; the records before
    /// the cut come out unchanged either way.
    #[test]
    fn plain_cut_anywhere(records in prop::collection::vec(arb_record(), 0..12), cut in any::<prop::sample::Index>()) {
        let bytes = encode(&records);
        let bounds = boundaries(&bytes, &records);
        let cut = cut.index(bytes.len());
        let (got, err) = decode_bytes(&bytes[..cut]);
        let complete = bounds.iter().filter(|&&b| b <= cut).count().saturating_sub(1);
        prop_assert_eq!(&got[..], &records[..got.len()]);
        if cut < 8 {
            let prelude = matches!(err, Some(Error::Truncated { part: DbnPart::Prelude, offset: 0 }));
            prop_assert!(prelude, "{:?}", err);
        } else if cut < bounds[0] {
            let metadata = matches!(err, Some(Error::Truncated { part: DbnPart::Metadata, offset: 8 }));
            prop_assert!(metadata, "{:?}", err);
        } else if bounds.contains(&cut) {
            prop_assert!(err.is_none(), "{:?}", err);
            prop_assert_eq!(got.len(), complete);
        } else {
            let expected_offset = bounds[complete] as u64;
            let record = matches!(err, Some(Error::Truncated { part: DbnPart::Record, offset }) if offset == expected_offset);
            prop_assert!(record, "{:?}", err);
            prop_assert_eq!(got.len(), complete);
        }
    }

    /// A zstd stream cut anywhere before its end is a `Truncated` error; the records
    /// before it come out unchanged.
    #[test]
    fn zstd_cut_anywhere(records in prop::collection::vec(arb_record(), 0..12), cut in any::<prop::sample::Index>()) {
        let compressed = compress(&encode(&records));
        let cut = cut.index(compressed.len());
        let (got, err) = decode_bytes(&compressed[..cut]);
        prop_assert!(got.len() <= records.len());
        prop_assert_eq!(&got[..], &records[..got.len()]);
        prop_assert!(matches!(err, Some(Error::Truncated { .. })), "{:?}", err);
    }

    /// Flipped bytes anywhere, plain or compressed: a typed error or records, never a
    /// panic, and every yielded record is safe to read (checked inside `drain`).
    #[test]
    fn flipped_bytes_never_panic(
        records in prop::collection::vec(arb_record(), 0..8),
        flips in prop::collection::vec((any::<prop::sample::Index>(), 1_u8..=255), 1..6),
        zstd in any::<bool>(),
    ) {
        let plain = encode(&records);
        let mut bytes = if zstd { compress(&plain) } else { plain };
        for (at, mask) in &flips {
            let at = at.index(bytes.len());
            bytes[at] ^= mask;
        }
        let (got, _err) = decode_bytes(&bytes);
        // A record needs at least a header's worth of decoded bytes.
        prop_assert!(got.len() <= 16 * records.len().max(1) * 40);
    }

    /// `for_each_record` (batched) yields exactly what `next_record` yields, records,
    /// error and stats, on intact, cut and corrupted input, plain or compressed.
    #[test]
    fn for_each_record_matches_next_record(
        records in prop::collection::vec(arb_record(), 0..40),
        cut in any::<prop::sample::Index>(),
        do_cut in any::<bool>(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), 1_u8..=255), 0..3),
        zstd in any::<bool>(),
    ) {
        let plain = encode(&records);
        let mut bytes = if zstd { compress(&plain) } else { plain };
        for (at, mask) in &flips {
            let at = at.index(bytes.len());
            bytes[at] ^= mask;
        }
        if do_cut {
            bytes.truncate(cut.index(bytes.len()));
        }
        let Ok(mut batched) = FileSource::from_bytes(&bytes) else {
            return Ok(());
        };
        let mut got = Vec::new();
        let result = batched.for_each_record(|record| got.push(record.to_owned()));
        prop_assert!(matches!(batched.next_record(), Ok(None)));
        let one_by_one = FileSource::from_bytes(&bytes).unwrap();
        let stats_expected = {
            let mut source = one_by_one;
            let mut expected = Vec::new();
            let err = loop {
                match source.next_record() {
                    Ok(Some(record)) => expected.push(record.to_owned()),
                    Ok(None) => break None,
                    Err(err) => break Some(err),
                }
            };
            prop_assert_eq!(&got, &expected);
            prop_assert_eq!(
                result.err().map(|e| e.to_string()),
                err.map(|e| e.to_string())
            );
            source.stats().clone()
        };
        prop_assert_eq!(batched.stats(), &stats_expected);
    }

    /// `for_each_batch` hands over the records of `next_record` in order, in batches of
    /// 1 to 16, with counters that stand after each batch; its error is the same.
    #[test]
    fn for_each_batch_matches_next_record(
        records in prop::collection::vec(arb_record(), 0..60),
        cut in any::<prop::sample::Index>(),
        do_cut in any::<bool>(),
        zstd in any::<bool>(),
    ) {
        let plain = encode(&records);
        let mut bytes = if zstd { compress(&plain) } else { plain };
        if do_cut {
            bytes.truncate(cut.index(bytes.len()));
        }
        let Ok(mut batched) = FileSource::from_bytes(&bytes) else {
            return Ok(());
        };
        let mut got = Vec::new();
        let mut sizes_ok = true;
        let mut counts_ok = true;
        let result = batched.for_each_batch(|batch, stats| {
            sizes_ok &= (1..=16).contains(&batch.len());
            got.extend(batch.iter().map(|r| r.to_owned()));
            counts_ok &= stats.records() == got.len() as u64;
        });
        prop_assert!(sizes_ok, "a batch outside 1..=16 records");
        prop_assert!(counts_ok, "counters behind the batch");
        let mut source = FileSource::from_bytes(&bytes).unwrap();
        let mut expected = Vec::new();
        let err = loop {
            match source.next_record() {
                Ok(Some(record)) => expected.push(record.to_owned()),
                Ok(None) => break None,
                Err(err) => break Some(err),
            }
        };
        prop_assert_eq!(&got, &expected);
        prop_assert_eq!(result.err().map(|e| e.to_string()), err.map(|e| e.to_string()));
        prop_assert_eq!(batched.stats(), source.stats());
    }

    /// Any chunking of the input, with interruptions, decodes like the whole buffer.
    #[test]
    fn chunked_reads_decode_identically(
        records in prop::collection::vec(arb_record(), 0..12),
        sizes in prop::collection::vec(1_usize..700, 1..8),
        zstd in any::<bool>(),
    ) {
        let plain = encode(&records);
        let bytes = if zstd { compress(&plain) } else { plain.clone() };
        let reader = Chunked { bytes: &bytes, sizes, calls: 0 };
        let source = FileSource::from_reader(reader).unwrap();
        let (got, err) = drain(source);
        prop_assert!(err.is_none(), "{:?}", err);
        prop_assert_eq!(got, records);
    }
}

// ---------------------------------------------------------------------------------------
// Databento's sample files

/// What the samples README states about one file.
struct Expect {
    path: &'static str,
    version: u8,
    dataset: &'static str,
    schema: Option<Schema>,
    records: u64,
    by_rtype: &'static [(u8, u64)],
    mbo_actions: &'static [(char, u64)],
    mbo_sides: &'static [(char, u64)],
    /// Symbology mappings in the metadata, and their intervals in all.
    mappings: Option<(usize, Option<usize>)>,
    first: fn(RecordRef<'_>),
}

fn first_esh1_cancel(rec: RecordRef<'_>) {
    let mbo = rec.try_get::<MboMsg>().unwrap();
    assert_eq!(mbo.hd.instrument_id, 5482);
    assert_eq!(mbo.hd.publisher_id, 1);
    assert_eq!(mbo.order_id, 647_784_973_705);
    assert_eq!(mbo.price, 3_722_750_000_000);
    assert_eq!(mbo.size, 1);
    assert_eq!(mbo.action as u8, b'C');
    assert_eq!(mbo.side as u8, b'A');
    assert_eq!(mbo.hd.ts_event, 1_609_160_400_000_429_831);
    assert_eq!(mbo.ts_recv, 1_609_160_400_000_704_060);
    assert_eq!(mbo.sequence, 1_170_352);
    assert_eq!(mbo.ts_in_delta, 22_993);
    assert!(mbo.flags.is_last());
}

fn def_of(rec: RecordRef<'_>) -> &InstrumentDefMsg {
    rec.try_get::<InstrumentDefMsg>().unwrap()
}

fn mbo_of(rec: RecordRef<'_>) -> &MboMsg {
    rec.try_get::<MboMsg>().unwrap()
}

const ESH1_MBO: &[(u8, u64)] = &[(rtype::MBO, 2)];

const EXPECTED: &[Expect] = &[
    Expect {
        path: "databento-dbn/test_data.mbo.v1.dbn.zst",
        version: 1,
        dataset: "GLBX.MDP3",
        schema: Some(Schema::Mbo),
        records: 2,
        by_rtype: ESH1_MBO,
        mbo_actions: &[('C', 2)],
        mbo_sides: &[('A', 2)],
        mappings: None,
        first: first_esh1_cancel,
    },
    Expect {
        path: "databento-dbn/test_data.mbo.v2.dbn.zst",
        version: 2,
        dataset: "GLBX.MDP3",
        schema: Some(Schema::Mbo),
        records: 2,
        by_rtype: ESH1_MBO,
        mbo_actions: &[('C', 2)],
        mbo_sides: &[('A', 2)],
        mappings: None,
        first: first_esh1_cancel,
    },
    Expect {
        path: "databento-dbn/test_data.mbo.v3.dbn.zst",
        version: 3,
        dataset: "GLBX.MDP3",
        schema: Some(Schema::Mbo),
        records: 2,
        by_rtype: ESH1_MBO,
        mbo_actions: &[('C', 2)],
        mbo_sides: &[('A', 2)],
        mappings: None,
        first: first_esh1_cancel,
    },
    Expect {
        path: "databento-dbn/test_data.mbo.v3.dbn",
        version: 3,
        dataset: "GLBX.MDP3",
        schema: Some(Schema::Mbo),
        records: 2,
        by_rtype: ESH1_MBO,
        mbo_actions: &[('C', 2)],
        mbo_sides: &[('A', 2)],
        mappings: None,
        first: first_esh1_cancel,
    },
    Expect {
        path: "databento-dbn/test_data.statistics.v3.dbn.zst",
        version: 3,
        dataset: "GLBX.MDP3",
        schema: Some(Schema::Statistics),
        records: 2,
        by_rtype: &[(rtype::STATISTICS, 2)],
        mbo_actions: &[],
        mbo_sides: &[],
        mappings: None,
        first: |rec| {
            let stat = rec.try_get::<StatMsg>().unwrap();
            assert_eq!(stat.hd.instrument_id, 146_945);
            assert_eq!(stat.hd.ts_event / 1_000_000_000, 1_682_269_536);
        },
    },
    Expect {
        path: "databento-dbn/test_data.status.v3.dbn.zst",
        version: 3,
        dataset: "GLBX.MDP3",
        schema: Some(Schema::Status),
        records: 4,
        by_rtype: &[(rtype::STATUS, 4)],
        mbo_actions: &[],
        mbo_sides: &[],
        mappings: None,
        first: |rec| {
            let status = rec.try_get::<dbn::StatusMsg>().unwrap();
            assert_eq!(status.hd.instrument_id, 5482);
            assert_eq!(status.hd.ts_event / 1_000_000_000, 1_609_110_000);
        },
    },
    Expect {
        path: "databento-dbn/test_data.definition.v3.dbn.zst",
        version: 3,
        dataset: "XNAS.ITCH",
        schema: Some(Schema::Definition),
        records: 2,
        by_rtype: &[(rtype::INSTRUMENT_DEF, 2)],
        mbo_actions: &[],
        mbo_sides: &[],
        mappings: Some((1, Some(62))),
        first: |rec| {
            let def = def_of(rec);
            assert_eq!(def.hd.instrument_id, 6819);
            assert_eq!(def.raw_symbol().unwrap(), "MSFT");
        },
    },
    Expect {
        path: "databento-python/GLBX.MDP3/test_data.mbo.dbn.zst",
        version: 3,
        dataset: "GLBX.MDP3",
        schema: Some(Schema::Mbo),
        records: 4,
        by_rtype: &[(rtype::MBO, 4)],
        mbo_actions: &[('A', 4)],
        mbo_sides: &[('B', 4)],
        mappings: None,
        first: |rec| {
            let mbo = mbo_of(rec);
            assert_eq!(mbo.hd.instrument_id, 5482);
            assert_eq!(mbo.price, 3_675_750_000_000);
            assert_eq!(mbo.flags.raw(), 40);
            assert_eq!(mbo.ts_recv, 1_609_113_600_000_000_000);
        },
    },
    Expect {
        path: "databento-python/GLBX.MDP3/test_data.definition.dbn.zst",
        version: 3,
        dataset: "GLBX.MDP3",
        schema: Some(Schema::Definition),
        records: 1,
        by_rtype: &[(rtype::INSTRUMENT_DEF, 1)],
        mbo_actions: &[],
        mbo_sides: &[],
        mappings: None,
        first: |rec| {
            let def = def_of(rec);
            assert_eq!(def.hd.instrument_id, 5482);
            assert_eq!(def.asset().unwrap(), "ES");
            assert_eq!(def.security_type().unwrap(), "FUT");
            assert_eq!(def.min_price_increment, 250_000_000);
            assert_eq!(def.unit_of_measure().unwrap(), "IPNT");
            assert_eq!(def.unit_of_measure_qty, 50 * FIXED);
            assert_eq!(def.expiration, 1_616_160_600_000_000_000);
        },
    },
    Expect {
        path: "databento-python/GLBX.MDP3/test_data.statistics.dbn.zst",
        version: 3,
        dataset: "GLBX.MDP3",
        schema: Some(Schema::Statistics),
        records: 4,
        by_rtype: &[(rtype::STATISTICS, 4)],
        mbo_actions: &[],
        mbo_sides: &[],
        mappings: None,
        first: |rec| {
            let stat = rec.try_get::<StatMsg>().unwrap();
            assert_eq!(stat.hd.instrument_id, 5482);
            assert_eq!(stat.hd.ts_event / 1_000_000_000, 1_609_117_769);
        },
    },
    Expect {
        path: "databento-python/GLBX.MDP3/test_data.status.dbn.zst",
        version: 3,
        dataset: "GLBX.MDP3",
        schema: Some(Schema::Status),
        records: 4,
        by_rtype: &[(rtype::STATUS, 4)],
        mbo_actions: &[],
        mbo_sides: &[],
        mappings: None,
        first: |rec| {
            let status = rec.try_get::<dbn::StatusMsg>().unwrap();
            assert_eq!(status.hd.instrument_id, 5482);
            assert_eq!(status.hd.ts_event / 1_000_000_000, 1_609_110_000);
        },
    },
    Expect {
        path: "databento-python/LIVE/test_data.live.dbn.zst",
        version: 3,
        dataset: "GLBX.MDP3",
        schema: None,
        records: 46,
        by_rtype: &[
            (rtype::MBP_0, 2),
            (rtype::MBP_1, 2),
            (rtype::MBP_10, 2),
            (rtype::INSTRUMENT_DEF, 2),
            (rtype::SYMBOL_MAPPING, 20),
            (rtype::STATISTICS, 9),
            (rtype::MBO, 5),
        ],
        mbo_actions: &[('A', 5)],
        mbo_sides: &[],
        mappings: None,
        first: |rec| {
            assert_eq!(rec.header().instrument_id, 183_748);
        },
    },
    Expect {
        path: "nautilus_trader/esh4-glbx-mdp3-20231224.mbo.dbn.zst",
        version: 1,
        dataset: "GLBX.MDP3",
        schema: Some(Schema::Mbo),
        records: 8_725,
        by_rtype: &[(rtype::MBO, 8_725)],
        mbo_actions: &[('A', 8_725)],
        mbo_sides: &[('A', 3_533), ('B', 5_192)],
        mappings: None,
        first: |rec| {
            let mbo = mbo_of(rec);
            assert_eq!(mbo.hd.instrument_id, 17_077);
            assert_eq!(mbo.flags.raw(), 40);
            assert_eq!(mbo.hd.ts_event, 1_703_422_805_243_925_307);
        },
    },
    Expect {
        path: "nautilus_trader/esh4-glbx-mdp3-20231225.mbo.dbn.zst",
        version: 1,
        dataset: "GLBX.MDP3",
        schema: Some(Schema::Mbo),
        records: 68_792,
        by_rtype: &[(rtype::MBO, 68_792)],
        mbo_actions: &[
            ('A', 29_216),
            ('C', 17_999),
            ('F', 6_371),
            ('M', 12_233),
            ('T', 2_973),
        ],
        mbo_sides: &[('A', 32_398), ('B', 36_358), ('N', 36)],
        mappings: None,
        first: |rec| {
            let mbo = mbo_of(rec);
            assert_eq!(mbo.hd.instrument_id, 17_077);
            assert_eq!(mbo.action as u8, b'A');
            assert_eq!(mbo.flags.raw(), 40);
            assert_eq!(mbo.ts_recv, 1_703_462_400_000_000_000);
            assert_eq!(mbo.hd.ts_event / 1_000_000_000, 1_703_422_805);
        },
    },
    Expect {
        path: "nautilus_trader/esm4-glbx-mdp3-20240508T000000-000002.mbo.dbn.zst",
        version: 1,
        dataset: "GLBX.MDP3",
        schema: Some(Schema::Mbo),
        records: 13_796,
        by_rtype: &[(rtype::MBO, 13_796)],
        mbo_actions: &[
            ('A', 13_678),
            ('C', 80),
            ('F', 5),
            ('M', 27),
            ('R', 1),
            ('T', 5),
        ],
        mbo_sides: &[],
        mappings: None,
        first: |rec| {
            let mbo = mbo_of(rec);
            assert_eq!(mbo.hd.instrument_id, 5602);
            assert_eq!(mbo.action as u8, b'R');
            assert_eq!(mbo.price, UNDEF_PRICE);
            assert_eq!(mbo.order_id, 0);
            assert_eq!(mbo.side as u8, b'N');
        },
    },
    Expect {
        path: "nautilus_trader/esm4-glbx-mdp3-20240508.definition.dbn.zst",
        version: 1,
        dataset: "GLBX.MDP3",
        schema: Some(Schema::Definition),
        records: 1,
        by_rtype: &[(rtype::INSTRUMENT_DEF, 1)],
        mbo_actions: &[],
        mbo_sides: &[],
        mappings: None,
        first: |rec| {
            let def = def_of(rec);
            assert_eq!(def.hd.instrument_id, 5602);
            assert_eq!(def.raw_symbol().unwrap(), "ESM4");
            assert_eq!(def.min_price_increment, 250_000_000);
            assert_eq!(def.unit_of_measure_qty, 50 * FIXED);
            assert_eq!(def.expiration, 1_718_976_600_000_000_000);
        },
    },
    Expect {
        path: "nautilus_trader/definition-glbx-es-opt.dbn.zst",
        version: 1,
        dataset: "GLBX.MDP3",
        schema: Some(Schema::Definition),
        records: 2,
        by_rtype: &[(rtype::INSTRUMENT_DEF, 2)],
        mbo_actions: &[],
        mbo_sides: &[],
        mappings: Some((11_294, None)),
        first: |rec| {
            let def = def_of(rec);
            assert_eq!(def.hd.instrument_id, 4_161_490);
            assert_eq!(def.raw_symbol().unwrap(), "ESM4 C4250");
            assert_eq!(def.instrument_class as u8, b'C');
            assert_eq!(def.security_type().unwrap(), "OOF");
            assert_eq!(def.cfi().unwrap(), "OCAFPS");
            assert_eq!(def.underlying().unwrap(), "ESM4");
            assert_eq!(def.underlying_id, 5602);
            assert_eq!(def.asset().unwrap(), "ES");
            assert_eq!(def.group().unwrap(), "EW");
            assert_eq!(def.strike_price, 4_250 * FIXED);
            assert_eq!(def.min_price_increment, UNDEF_PRICE);
            assert_eq!(def.unit_of_measure_qty, 50 * FIXED);
            assert_eq!(def.contract_multiplier, i32::MAX);
            assert_eq!(def.expiration, 1_718_976_600_000_000_000);
        },
    },
    Expect {
        path: "nautilus_trader/esm4-puts-20240509.definition.dbn.zst",
        version: 1,
        dataset: "GLBX.MDP3",
        schema: Some(Schema::Definition),
        records: 2,
        by_rtype: &[(rtype::INSTRUMENT_DEF, 2)],
        mbo_actions: &[],
        mbo_sides: &[],
        mappings: None,
        first: |rec| {
            let def = def_of(rec);
            assert_eq!(def.hd.instrument_id, 4_163_986);
            assert_eq!(def.raw_symbol().unwrap(), "ESM4 P5250");
            assert_eq!(def.instrument_class as u8, b'P');
            assert_eq!(def.cfi().unwrap(), "OPAFPS");
            assert_eq!(def.underlying().unwrap(), "ESM4");
        },
    },
    Expect {
        path: "nautilus_trader/esm4-nqm4-20240509.definition.dbn.zst",
        version: 1,
        dataset: "GLBX.MDP3",
        schema: Some(Schema::Definition),
        records: 2,
        by_rtype: &[(rtype::INSTRUMENT_DEF, 2)],
        mbo_actions: &[],
        mbo_sides: &[],
        mappings: None,
        first: |rec| {
            let def = def_of(rec);
            assert_eq!(def.hd.instrument_id, 5602);
            assert_eq!(def.raw_symbol().unwrap(), "ESM4");
        },
    },
    Expect {
        path: "nautilus_trader/ew2f6-c7000-20260109.definition.dbn.zst",
        version: 1,
        dataset: "GLBX.MDP3",
        schema: Some(Schema::Definition),
        records: 1,
        by_rtype: &[(rtype::INSTRUMENT_DEF, 1)],
        mbo_actions: &[],
        mbo_sides: &[],
        mappings: None,
        first: |rec| {
            let def = def_of(rec);
            assert_eq!(def.hd.instrument_id, 42_780_620);
            assert_eq!(def.raw_symbol().unwrap(), "EW2F6 C7000");
            assert_eq!(def.asset().unwrap(), "EW2");
            assert_eq!(def.cfi().unwrap(), "OCEFPS");
            assert_eq!(def.underlying().unwrap(), "ESH6");
            assert_eq!(def.underlying_id, 42_140_878);
            assert_eq!(def.strike_price, 7_000 * FIXED);
            assert_eq!(def.expiration, 1_767_992_400_000_000_000);
        },
    },
    Expect {
        path: "nautilus_trader/test_data.definition.option.dbn.zst",
        version: 3,
        dataset: "GLBX.MDP3",
        schema: Some(Schema::Definition),
        records: 2,
        by_rtype: &[(rtype::INSTRUMENT_DEF, 2)],
        mbo_actions: &[],
        mbo_sides: &[],
        mappings: None,
        first: |rec| {
            let def = def_of(rec);
            assert_eq!(def.hd.instrument_id, 42_684_292);
            assert_eq!(def.raw_symbol().unwrap(), "ESU6 C9600");
            assert_eq!(def.underlying().unwrap(), "ESU6");
            assert_eq!(def.underlying_id, 42_140_870);
            assert_eq!(def.expiration, 1_789_738_200_000_000_000);
        },
    },
    Expect {
        path: "nautilus_trader/definition-glbx-es-fut.dbn.zst",
        version: 1,
        dataset: "GLBX.MDP3",
        schema: Some(Schema::Definition),
        records: 2,
        by_rtype: &[(rtype::INSTRUMENT_DEF, 2)],
        mbo_actions: &[],
        mbo_sides: &[],
        mappings: None,
        first: |rec| {
            let def = def_of(rec);
            assert_eq!(def.hd.instrument_id, 95_414);
            assert_eq!(def.raw_symbol().unwrap(), "ESM3");
        },
    },
    Expect {
        path: "synthetic/nq-opt-synthetic.dbn",
        version: 3,
        dataset: "GLBX.MDP3",
        schema: None,
        records: 14,
        by_rtype: &[
            (rtype::INSTRUMENT_DEF, 2),
            (rtype::SYMBOL_MAPPING, 1),
            (rtype::SYSTEM, 1),
            (rtype::STATISTICS, 1),
            (rtype::MBO, 9),
        ],
        mbo_actions: &[('A', 4), ('C', 1), ('F', 1), ('M', 1), ('R', 1), ('T', 1)],
        mbo_sides: &[],
        mappings: None,
        first: first_synthetic,
    },
    Expect {
        path: "synthetic/nq-opt-synthetic.dbn.zst",
        version: 3,
        dataset: "GLBX.MDP3",
        schema: None,
        records: 14,
        by_rtype: &[
            (rtype::INSTRUMENT_DEF, 2),
            (rtype::SYMBOL_MAPPING, 1),
            (rtype::SYSTEM, 1),
            (rtype::STATISTICS, 1),
            (rtype::MBO, 9),
        ],
        mbo_actions: &[('A', 4), ('C', 1), ('F', 1), ('M', 1), ('R', 1), ('T', 1)],
        mbo_sides: &[],
        mappings: None,
        first: first_synthetic,
    },
];

fn first_synthetic(rec: RecordRef<'_>) {
    let def = def_of(rec);
    assert_eq!(def.hd.instrument_id, 1001);
    assert_eq!(def.raw_symbol().unwrap(), "NQM4 C18000");
    assert_eq!(def.instrument_class as u8, b'C');
    assert_eq!(def.strike_price, 18_000 * FIXED);
    assert_eq!(def.underlying().unwrap(), "NQM4");
    assert_eq!(def.underlying_id, 13_743);
    assert_eq!(def.unit_of_measure_qty, 20 * FIXED);
}

fn dbn_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.to_string_lossy().ends_with(".dbn")
                || path.to_string_lossy().ends_with(".dbn.zst")
            {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn check_sample(dir: &Path, expect: &Expect) {
    let path = dir.join(expect.path);
    let mut source = FileSource::open(&path).unwrap();
    let name = expect.path;
    assert_eq!(source.input_version(), expect.version, "{name}");
    let compression = if name.ends_with(".zst") {
        Compression::Zstd
    } else {
        Compression::None
    };
    assert_eq!(source.compression(), compression, "{name}");
    let meta = source.metadata();
    assert_eq!(meta.version, 3, "{name}");
    assert_eq!(meta.dataset, expect.dataset, "{name}");
    assert_eq!(meta.schema, expect.schema, "{name}");
    if let Some((mappings, intervals)) = expect.mappings {
        assert_eq!(meta.mappings.len(), mappings, "{name}");
        if let Some(intervals) = intervals {
            let total: usize = meta.mappings.iter().map(|m| m.intervals.len()).sum();
            assert_eq!(total, intervals, "{name}");
        }
    }

    let mut reference = DynDecoder::from_file(&path, VersionUpgradePolicy::UpgradeToV3).unwrap();
    let mut actions = BTreeMap::new();
    let mut sides = BTreeMap::new();
    let mut first = true;
    while let Some(record) = source.next_record().unwrap() {
        if first {
            (expect.first)(record);
            first = false;
        }
        if let Some(mbo) = record.get::<MboMsg>() {
            *actions.entry(mbo.action as u8 as char).or_insert(0_u64) += 1;
            *sides.entry(mbo.side as u8 as char).or_insert(0_u64) += 1;
        }
        let expected = reference
            .decode_record_ref()
            .unwrap()
            .unwrap_or_else(|| panic!("{name}: dbn ended before the file source"));
        assert_eq!(record.to_owned(), expected.to_owned(), "{name}");
    }
    assert!(reference.decode_record_ref().unwrap().is_none(), "{name}");
    assert!(!first || expect.records == 0, "{name}: no record");

    let stats = source.stats();
    assert_eq!(stats.records(), expect.records, "{name}");
    let mut by_rtype: Vec<(u8, u64)> = expect.by_rtype.to_vec();
    if name.ends_with("live.dbn.zst") {
        // The OHLCV records of the live sample: 4 in all, rtype by interval.
        let ohlcv: u64 = (0x20..=0x24).map(|r| stats.records_of(r)).sum();
        assert_eq!(ohlcv, 4, "{name}");
        by_rtype.extend((0x20..=0x24).map(|r| (r, stats.records_of(r))));
    }
    by_rtype.retain(|&(_, n)| n > 0);
    by_rtype.sort_unstable();
    assert_eq!(stats.by_rtype().collect::<Vec<_>>(), by_rtype, "{name}");
    if !expect.mbo_actions.is_empty() {
        assert_eq!(
            actions.into_iter().collect::<Vec<_>>(),
            expect.mbo_actions.to_vec(),
            "{name}"
        );
    }
    if !expect.mbo_sides.is_empty() {
        assert_eq!(
            sides.into_iter().collect::<Vec<_>>(),
            expect.mbo_sides.to_vec(),
            "{name}"
        );
    }

    // The batched pass sees the same records and counts.
    let mut batched = FileSource::open(&path).unwrap();
    let mut count = 0_u64;
    batched.for_each_record(|_| count += 1).unwrap();
    assert_eq!(count, expect.records, "{name}");
    assert_eq!(batched.stats(), stats, "{name}");

    // Byte accounting: the whole decompressed stream was consumed.
    let raw = std::fs::read(&path).unwrap();
    assert_eq!(stats.input_bytes(), raw.len() as u64, "{name}");
    let decompressed = if compression == Compression::Zstd {
        zstd::decode_all(raw.as_slice()).unwrap()
    } else {
        raw
    };
    assert_eq!(stats.dbn_bytes(), decompressed.len() as u64, "{name}");
}

#[test]
fn every_sample_file_decodes_as_its_readme_says() {
    let Some(dir) = samples::dir("every_sample_file_decodes_as_its_readme_says") else {
        return;
    };
    let files = dbn_files(&dir);
    let known: Vec<PathBuf> = EXPECTED.iter().map(|e| dir.join(e.path)).collect();
    for file in &files {
        assert!(
            known.contains(file),
            "{} has no expectation here: add it from the samples README",
            file.display()
        );
    }
    for expect in EXPECTED {
        check_sample(&dir, expect);
    }
    assert_eq!(files.len(), EXPECTED.len());
    eprintln!("decoded {} sample files", files.len());
}

#[test]
fn sample_cut_at_every_offset_is_truncated_or_a_clean_prefix() {
    let Some(dir) = samples::dir("sample_cut_at_every_offset_is_truncated_or_a_clean_prefix")
    else {
        return;
    };
    for name in [
        "databento-dbn/test_data.mbo.v3.dbn",
        "synthetic/nq-opt-synthetic.dbn",
        "synthetic/nq-opt-synthetic.dbn.zst",
        "databento-dbn/test_data.mbo.v1.dbn.zst",
    ] {
        let bytes = std::fs::read(dir.join(name)).unwrap();
        let (all, err) = decode_bytes(&bytes);
        assert!(err.is_none(), "{name}: {err:?}");
        for cut in 0..bytes.len() {
            let (got, err) = decode_bytes(&bytes[..cut]);
            assert_eq!(&got[..], &all[..got.len()], "{name} cut at {cut}");
            match err {
                Some(Error::Truncated { .. }) => {}
                None => assert!(
                    !name.ends_with(".zst") && got.len() < all.len(),
                    "{name} cut at {cut}: clean end"
                ),
                Some(other) => panic!("{name} cut at {cut}: {other:?}"),
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// The simulator's files

#[test]
fn simulated_files_round_trip_through_the_file_source() {
    let day =
        ifd_sim::Simulator::new(ifd_sim::SimConfig::preset(ifd_sim::Preset::Quiet, 3)).flow_day();
    let dir = tempfile::tempdir().unwrap();
    for name in ["day.dbn", "day.dbn.zst"] {
        let path = dir.path().join(name);
        ifd_sim::write_dbn(&day, &path).unwrap();
        let mut source = FileSource::open(&path).unwrap();
        assert_eq!(source.metadata().symbols, vec!["NQ.OPT".to_owned()]);
        let mut expected = day.records();
        let mut n = 0_u64;
        while let Some(rec) = source.next_record().unwrap() {
            let want: RecordRef<'_> = expected.next().expect("no extra records");
            assert_eq!(
                rec.as_ref(),
                want.as_ref(),
                "{name}: record {n} byte for byte"
            );
            n += 1;
        }
        assert!(expected.next().is_none(), "{name}: no missing records");
        assert_eq!(source.stats().records(), n);
    }
}
