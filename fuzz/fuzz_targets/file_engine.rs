//! Arbitrary bytes -> `ifd_mbo_client::FileSource` -> the whole `ifd_engine::Engine`.
//!
//! The first byte picks whether the rest follows a valid DBN v3 header or is a whole
//! file. Oracle: nothing panics; every record the file source yields reaches the engine
//! and is accounted for in `EngineStats` exactly once; the file source's own count
//! agrees; every book keeps its invariants.
#![no_main]

use dbn::encode::DbnMetadataEncoder;
use dbn::{MetadataBuilder, SType};
use ifd_engine::Engine;
use ifd_mbo_client::FileSource;
use libfuzzer_sys::fuzz_target;

fn header() -> Vec<u8> {
    let metadata = MetadataBuilder::new()
        .dataset("GLBX.MDP3")
        .schema(None)
        .start(0)
        .stype_in(Some(SType::Parent))
        .stype_out(SType::InstrumentId)
        .build();
    let mut bytes = Vec::new();
    DbnMetadataEncoder::new(&mut bytes)
        .encode(&metadata)
        .expect("a fixed metadata header encodes");
    bytes
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let input = if mode % 4 == 0 {
        rest.to_vec()
    } else {
        [header().as_slice(), rest].concat()
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
    let s = engine.stats();
    assert_eq!(
        s.records, yielded,
        "every record yielded reaches the engine"
    );
    let by_kind = s.mbo
        + s.definitions
        + s.statistics
        + s.system
        + s.gateway_errors
        + s.symbol_mappings
        + s.status
        + s.other
        + s.malformed;
    assert_eq!(
        by_kind, yielded,
        "every record is accounted for once: {s:?}"
    );
    for (key, book) in engine.books().iter() {
        if let Some(violation) = book.check_invariants() {
            panic!("book {key:?}: {violation}");
        }
    }
});
