//! Arbitrary bytes -> instrument definition fields and option symbols -> `Chain`.
//! Oracle: nothing panics, and the chain's indexes agree with each other.
#![no_main]

use std::ffi::c_char;

use dbn::{InstrumentDefMsg, RecordHeader, UNDEF_PRICE, UNDEF_TIMESTAMP};
use ifd_pressure::{parse_option_symbol, Chain};
use libfuzzer_sys::fuzz_target;

const DEF_BYTES: usize = 24;

fn c_text<const N: usize>(bytes: &[u8]) -> [c_char; N] {
    let mut out = [0 as c_char; N];
    for (o, &b) in out.iter_mut().zip(bytes.iter().take(N - 1)) {
        *o = b as c_char;
    }
    out
}

fn i64_at(b: &[u8], i: usize) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[i..i + 8]);
    i64::from_le_bytes(a)
}

fn definition(chunk: &[u8]) -> InstrumentDefMsg {
    let class = b"CPFTSMK?"[usize::from(chunk[0] % 8)];
    let action = b"AMD~"[usize::from(chunk[1] % 4)];
    let strike = match chunk[2] {
        0xFF => UNDEF_PRICE,
        0xFE => i64_at(chunk, 8),
        s => i64::from(s) * 100_000_000_000,
    };
    let expiration = if chunk[3] == 0xFF {
        UNDEF_TIMESTAMP
    } else {
        u64::from(chunk[3] % 8)
    };
    let unit_of_measure_qty = match chunk[4] {
        0xFF => UNDEF_PRICE,
        0xFE => i64_at(chunk, 16),
        q => i64::from(q) * 1_000_000_000,
    };
    InstrumentDefMsg {
        hd: RecordHeader::new::<InstrumentDefMsg>(
            dbn::rtype::INSTRUMENT_DEF,
            1,
            u32::from(chunk[5] % 16),
            0,
        ),
        instrument_class: class as c_char,
        security_update_action: action as c_char,
        strike_price: strike,
        expiration,
        unit_of_measure_qty,
        contract_multiplier: if chunk[6] == 0 {
            i32::MAX
        } else {
            i32::from(chunk[6]) - 128
        },
        min_price_increment: if chunk[7] == 0 {
            UNDEF_PRICE
        } else {
            i64::from(chunk[7]) - 100
        },
        raw_symbol: c_text(&chunk[8..]),
        asset: c_text(&chunk[16..]),
        underlying: c_text(&chunk[12..]),
        ..Default::default()
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(parsed) = parse_option_symbol(text) {
            assert!((1..=12).contains(&parsed.month));
            assert!(parsed.strike >= 0);
        }
    }
    let mut chain = Chain::new();
    for (i, chunk) in data.chunks_exact(DEF_BYTES).enumerate() {
        chain.apply(&definition(chunk));
        let _ = chain.insert_from_symbol(
            u32::from(chunk[23] % 16),
            &String::from_utf8_lossy(&chunk[8..20]),
        );
        // Every indexed option resolves by id and by its key; the index and the map agree.
        assert_eq!(chain.options().count(), chain.len(), "after definition {i}");
        for c in chain.options() {
            assert_eq!(chain.get(c.instrument_id), Some(c));
            assert!(chain.find(c.expiration, c.strike, c.kind).is_some());
        }
        let _ = chain
            .expirations()
            .map(|e| chain.strikes(e).len())
            .sum::<usize>();
    }
});
