//! Arbitrary bytes -> a sequence of MBO records over a few instruments -> `Books`.
//! Oracle: nothing panics, and every touched book keeps its invariants.
#![no_main]

use std::ffi::c_char;

use dbn::{FlagSet, MboMsg, RecordHeader, UNDEF_PRICE};
use ifd_pressure::Books;
use libfuzzer_sys::fuzz_target;

const RECORD_BYTES: usize = 12;

fn record(chunk: &[u8], ts: u64) -> MboMsg {
    let action = b"ACMRTFNX"[usize::from(chunk[0] % 8)];
    let side = b"BAN?"[usize::from(chunk[1] % 4)];
    // Small id and price alphabets so records collide; some raw extremes too.
    let order_id = if chunk[2] == 0xFF {
        u64::from_le_bytes([chunk[3], chunk[4], chunk[5], chunk[6], 0, 0, 0, chunk[7]])
    } else {
        u64::from(chunk[2] % 32)
    };
    let price = match chunk[3] {
        0xFF => UNDEF_PRICE,
        0xFE => i64::MIN,
        0xFD => i64::from_le_bytes([
            chunk[4], chunk[5], chunk[6], chunk[7], chunk[8], chunk[9], chunk[10], chunk[11],
        ]),
        t => 100_000_000_000 + i64::from(t % 40) * 250_000_000,
    };
    let size = match chunk[4] {
        0xFF => u32::MAX,
        s => u32::from(s % 50),
    };
    let instrument_id = u32::from(chunk[5] % 4);
    MboMsg {
        hd: RecordHeader::new::<MboMsg>(
            dbn::rtype::MBO,
            u16::from(chunk[6] % 2),
            instrument_id,
            ts,
        ),
        order_id,
        price,
        size,
        flags: FlagSet::new(chunk[7]),
        channel_id: chunk[8] % 3,
        action: action as c_char,
        side: side as c_char,
        ts_recv: ts,
        ts_in_delta: 0,
        sequence: 0,
    }
}

fuzz_target!(|data: &[u8]| {
    let mut books = Books::new();
    for (i, chunk) in data.chunks_exact(RECORD_BYTES).enumerate() {
        let msg = record(chunk, i as u64);
        let update = books.apply(&msg);
        let book = books.get(update.key).expect("the record's book exists");
        if let Some(problem) = book.check_invariants() {
            panic!("invariant broken after record {i}: {problem}");
        }
        let _ = books.health(msg.hd.instrument_id);
        let _ = book.bbo();
        if let Some(o) = book.order(msg.order_id) {
            assert!(book.queue_position(o.order_id).is_some());
        }
        if chunk[9] == 0xAA {
            books.mark_gap(msg.hd.publisher_id, Some(msg.channel_id));
        }
    }
    let stats = books.stats();
    assert_eq!(stats.records, (data.len() / RECORD_BYTES) as u64);
});
