//! Arbitrary bytes -> `ifd_mbo_client::FileSource` -> the whole `ifd_engine::Engine`.
//!
//! The first byte picks whether the rest follows a valid DBN v3 header or is a whole
//! file. Oracle: nothing panics; every record the file source yields reaches the engine
//! and is accounted for in `EngineStats` exactly once; the file source's own count
//! agrees; every book keeps its invariants.
#![no_main]

use ifd_engine::Engine;
use ifd_fuzz::{assert_books_hold, assert_every_record_accounted, dbn_header};
use ifd_mbo_client::FileSource;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let input = if mode % 4 == 0 {
        rest.to_vec()
    } else {
        [dbn_header(3, false).as_slice(), rest].concat()
    };
    let Ok(mut source) = FileSource::from_bytes(&input) else {
        return;
    };
    let Ok(mut engine) = Engine::builder().build() else {
        return;
    };
    let mut signals = Vec::new();
    let mut yielded = 0u64;
    while let Ok(Some(record)) = source.next_record() {
        yielded += 1;
        std::hint::black_box(engine.on_record(&record, &mut signals).is_ok());
        signals.clear();
    }
    std::hint::black_box({
        engine.on_session_end(&mut signals);
        signals.len()
    });
    assert_eq!(source.stats().records(), yielded);
    assert_every_record_accounted(&engine, yielded);
    assert_books_hold(&engine);
});
