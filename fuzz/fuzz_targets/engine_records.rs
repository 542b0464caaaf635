//! Arbitrary record sequences -> the whole `ifd_engine::Engine`.
//!
//! The input is read as a program: each step picks a record kind (definition, MBO,
//! statistics, system, error, symbol mapping, status, or a record whose rtype lies about
//! its length) and fills it from the following bytes: any action, side, flags, price,
//! size, order id, instrument, channel and timestamps, in any order. Oracle: nothing
//! panics; every record offered is accounted for in `EngineStats` exactly once (by
//! kind, or as malformed); every book keeps its invariants.
#![no_main]

use dbn::{
    enums::{rtype, ErrorCode, SystemCode},
    ErrorMsg, InstrumentDefMsg, MboMsg, RecordHeader, RecordRef, StatMsg, StatusMsg,
    SymbolMappingMsg, SystemMsg,
};
use ifd_engine::Engine;
use ifd_fuzz::{assert_books_hold, assert_every_record_accounted};
use libfuzzer_sys::fuzz_target;

/// Reads fixed-size values off the front of the input; zeros once it runs out.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn take<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        let n = N.min(self.0.len());
        out[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        out
    }
    fn u8(&mut self) -> u8 {
        self.take::<1>()[0]
    }
    fn u16(&mut self) -> u16 {
        u16::from_le_bytes(self.take())
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.take())
    }
    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.take())
    }
    /// A price: mostly on a small grid (so orders meet), sometimes anything.
    fn price(&mut self) -> i64 {
        let sel = self.u8();
        if sel < 224 {
            100_000_000_000 + i64::from(sel % 32) * 250_000_000
        } else {
            i64::from_le_bytes(self.take())
        }
    }
    /// An instrument among a few, so that definitions and MBO meet.
    fn instrument(&mut self) -> u32 {
        let b = self.u8();
        if b < 250 {
            u32::from(b % 8) + 1
        } else {
            self.u32()
        }
    }
}

fn c_char(b: u8) -> std::ffi::c_char {
    b as std::ffi::c_char
}

fuzz_target!(|data: &[u8]| {
    let Ok(mut engine) = Engine::builder().build() else {
        return;
    };
    let mut signals = Vec::new();
    let mut input = Bytes(data);
    let mut offered = 0u64;
    let mut ts: u64 = 1_764_000_000_000_000_000;
    while !input.0.is_empty() && offered < 4_096 {
        let kind = input.u8();
        // Time mostly moves forward, sometimes jumps back.
        let step = input.u16();
        ts = if step == u16::MAX {
            ts.saturating_sub(1_000_000_000)
        } else {
            ts.saturating_add(u64::from(step) * 1_000)
        };
        let iid = input.instrument();
        let publisher = u16::from(input.u8() % 3);
        let result = match kind % 9 {
            0 => {
                let mut def = InstrumentDefMsg {
                    hd: RecordHeader::new::<InstrumentDefMsg>(
                        rtype::INSTRUMENT_DEF,
                        publisher,
                        iid,
                        ts,
                    ),
                    ts_recv: ts,
                    strike_price: input.price(),
                    expiration: ts.saturating_add(input.u64() % 10_000_000_000_000),
                    underlying_id: input.instrument(),
                    unit_of_measure_qty: i64::from(input.u8()) * 1_000_000_000,
                    ..Default::default()
                };
                def.instrument_class = c_char(b"CPFKX"[usize::from(input.u8() % 5)]);
                engine
                    .on_record(&RecordRef::from(&def), &mut signals)
                    .map(|_| ())
            }
            1..=4 => {
                let msg = MboMsg {
                    hd: RecordHeader::new::<MboMsg>(rtype::MBO, publisher, iid, ts),
                    order_id: u64::from(input.u8() % 32),
                    price: input.price(),
                    size: if input.u8() < 240 {
                        u32::from(input.u8() % 20)
                    } else {
                        input.u32()
                    },
                    flags: input.u8().into(),
                    channel_id: input.u8() % 4,
                    action: c_char(b"ACMTFRNX"[usize::from(input.u8() % 8)]),
                    side: c_char(b"BANX"[usize::from(input.u8() % 4)]),
                    ts_recv: ts,
                    sequence: input.u32(),
                    ..Default::default()
                };
                engine
                    .on_record(&RecordRef::from(&msg), &mut signals)
                    .map(|_| ())
            }
            5 => {
                let stat = StatMsg {
                    hd: RecordHeader::new::<StatMsg>(rtype::STATISTICS, publisher, iid, ts),
                    ts_recv: ts,
                    price: input.price(),
                    quantity: i64::from(input.u32()),
                    stat_type: input.u16(),
                    update_action: input.u8(),
                    ..Default::default()
                };
                engine
                    .on_record(&RecordRef::from(&stat), &mut signals)
                    .map(|_| ())
            }
            6 => match input.u8() % 4 {
                0 => engine
                    .on_record(&RecordRef::from(&SystemMsg::heartbeat(ts)), &mut signals)
                    .map(|_| ()),
                1 => {
                    let sys = SystemMsg::new(ts, Some(SystemCode::ReplayCompleted), "done")
                        .unwrap_or_else(|_| SystemMsg::heartbeat(ts));
                    engine
                        .on_record(&RecordRef::from(&sys), &mut signals)
                        .map(|_| ())
                }
                2 => {
                    let err = ErrorMsg::new(ts, Some(ErrorCode::InternalError), "oops", true);
                    engine
                        .on_record(&RecordRef::from(&err), &mut signals)
                        .map(|_| ())
                }
                _ => {
                    let status = StatusMsg {
                        hd: RecordHeader::new::<StatusMsg>(rtype::STATUS, publisher, iid, ts),
                        ts_recv: ts,
                        action: input.u16(),
                        ..Default::default()
                    };
                    engine
                        .on_record(&RecordRef::from(&status), &mut signals)
                        .map(|_| ())
                }
            },
            7 => match SymbolMappingMsg::new(
                iid,
                ts,
                dbn::SType::Parent,
                "NQ.OPT",
                dbn::SType::RawSymbol,
                "NQZ6 C21000",
                0,
                u64::MAX,
            ) {
                Ok(m) => engine
                    .on_record(&RecordRef::from(&m), &mut signals)
                    .map(|_| ()),
                Err(_) => Ok(()),
            },
            _ => {
                // A record whose rtype claims a longer (or unknown) layout than its
                // length: the engine must count it as malformed or other, never read
                // past it.
                let mut msg = MboMsg::default();
                msg.hd = RecordHeader::new::<MboMsg>(input.u8(), publisher, iid, ts);
                engine
                    .on_record(&RecordRef::from(&msg), &mut signals)
                    .map(|_| ())
            }
        };
        offered += 1;
        std::hint::black_box(result.is_ok());
        if offered % 256 == 0 {
            assert_books_hold(&engine);
        }
    }
    std::hint::black_box({
        engine.on_session_end(&mut signals);
        signals.len()
    });
    assert_every_record_accounted(&engine, offered);
    assert_books_hold(&engine);
});
