//! The file source (`ifd_mbo_client::FileSource`) decoding a day of MBO held in memory,
//! plain and zstd, one record at a time (`next_record`) and batched
//! (`for_each_record`), against `dbn`'s own `DbnDecoder` on the same bytes.
//!
//! The fixture is built here with `dbn`'s encoder (deterministic, no simulator): 300 000
//! MBO records over 400 option instruments after their definitions, about 16 MiB.

use std::ffi::c_char;

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use dbn::decode::{DbnDecoder, DecodeRecordRef};
use dbn::encode::{DbnEncoder, EncodeRecord};
use dbn::record::str_to_c_chars;
use dbn::{
    rtype, FlagSet, InstrumentDefMsg, MboMsg, Metadata, MetadataBuilder, RecordHeader, SType,
};
use ifd_mbo_client::FileSource;

const RECORDS: u64 = 300_000;
const INSTRUMENTS: u32 = 400;
const FIXED: i64 = 1_000_000_000;

fn metadata() -> Metadata {
    MetadataBuilder::new()
        .dataset("GLBX.MDP3")
        .schema(None)
        .start(1_715_126_400_000_000_000)
        .stype_in(Some(SType::Parent))
        .stype_out(SType::InstrumentId)
        .build()
}

/// Writes the fixture day through `encoder`.
fn write_day<W: std::io::Write>(encoder: &mut DbnEncoder<W>) {
    for i in 0..INSTRUMENTS {
        let strike = 18_000 + 25 * i64::from(i / 2);
        let (kind, class) = if i % 2 == 0 { ('C', b'C') } else { ('P', b'P') };
        let def = InstrumentDefMsg {
            hd: RecordHeader::new::<InstrumentDefMsg>(rtype::INSTRUMENT_DEF, 1, 1000 + i, 0),
            raw_symbol: str_to_c_chars(&format!("NQM4 {kind}{strike}")).expect("short symbol"),
            instrument_class: class as c_char,
            strike_price: strike * FIXED,
            unit_of_measure_qty: 20 * FIXED,
            ..InstrumentDefMsg::default()
        };
        encoder.encode_record(&def).expect("encode to memory");
    }
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    for n in 0..RECORDS {
        // xorshift64: deterministic fields without a dependency.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let iid = 1000 + u32::try_from(state % u64::from(INSTRUMENTS)).expect("small");
        let action = b"AAACCMTF"[usize::try_from(state >> 61).expect("3 bits")];
        let ts = 1_715_126_400_000_000_000 + n * 100_000;
        let mbo = MboMsg {
            hd: RecordHeader::new::<MboMsg>(rtype::MBO, 1, iid, ts),
            order_id: state >> 20,
            price: i64::try_from(state % 4_000).expect("small") * FIXED / 20,
            size: u32::try_from(state % 50).expect("small") + 1,
            flags: FlagSet::empty().set_last(),
            channel_id: 0,
            action: action as c_char,
            side: if state & 1 == 0 { b'B' } else { b'A' } as c_char,
            ts_recv: ts + 500,
            ts_in_delta: 1_000,
            sequence: u32::try_from(n).expect("small"),
        };
        encoder.encode_record(&mbo).expect("encode to memory");
    }
}

fn fixture_plain() -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut encoder = DbnEncoder::new(&mut bytes, &metadata()).expect("encode to memory");
    write_day(&mut encoder);
    bytes
}

fn fixture_zstd() -> Vec<u8> {
    let mut bytes = Vec::new();
    {
        let mut encoder = DbnEncoder::with_zstd(&mut bytes, &metadata()).expect("encode to memory");
        write_day(&mut encoder);
        encoder.flush().expect("flush to memory");
    }
    bytes
}

fn count_file_source(bytes: &[u8]) -> u64 {
    let mut source = FileSource::from_bytes(bytes).expect("valid fixture");
    let mut sum = 0_u64;
    while let Some(record) = source.next_record().expect("valid fixture") {
        sum = sum.wrapping_add(u64::from(record.header().instrument_id));
    }
    sum
}

fn count_file_source_batched(bytes: &[u8]) -> u64 {
    let mut source = FileSource::from_bytes(bytes).expect("valid fixture");
    let mut sum = 0_u64;
    source
        .for_each_record(|record| sum = sum.wrapping_add(u64::from(record.header().instrument_id)))
        .expect("valid fixture");
    sum
}

fn count_dbn(bytes: &[u8]) -> u64 {
    let mut decoder = DbnDecoder::new(bytes).expect("valid fixture");
    let mut sum = 0_u64;
    while let Some(record) = decoder.decode_record_ref().expect("valid fixture") {
        sum = sum.wrapping_add(u64::from(record.header().instrument_id));
    }
    sum
}

fn file_source(c: &mut Criterion) {
    let plain = fixture_plain();
    let zstd = fixture_zstd();
    assert_eq!(count_file_source(&plain), count_dbn(&plain));
    assert_eq!(count_file_source(&zstd), count_file_source(&plain));
    assert_eq!(count_file_source_batched(&plain), count_file_source(&plain));

    let mut group = c.benchmark_group("file_source");
    group.sample_size(20);
    group.throughput(Throughput::Elements(RECORDS + u64::from(INSTRUMENTS)));
    group.bench_function("file_source_plain_300k", |b| {
        b.iter(|| count_file_source(black_box(&plain)));
    });
    group.bench_function("file_source_for_each_plain_300k", |b| {
        b.iter(|| count_file_source_batched(black_box(&plain)));
    });
    group.bench_function("dbn_decoder_plain_300k", |b| {
        b.iter(|| count_dbn(black_box(&plain)));
    });
    group.bench_function("file_source_zstd_300k", |b| {
        b.iter(|| count_file_source(black_box(&zstd)));
    });
    group.finish();
}

criterion_group!(benches, file_source);
criterion_main!(benches);
