//! What the fuzz targets share: a valid DBN metadata header to put in front of
//! arbitrary bytes, and the engine's oracles (every record accounted for once, every
//! book within its invariants).

use dbn::encode::DbnMetadataEncoder;
use dbn::{MetadataBuilder, SType};
use ifd_engine::Engine;

/// A valid DBN metadata header of `version` for a `GLBX.MDP3` parent-symbol stream
/// with mixed schemas, so that what follows it is read as records.
#[must_use]
pub fn dbn_header(version: u8, ts_out: bool) -> Vec<u8> {
    let metadata = MetadataBuilder::new()
        .dataset("GLBX.MDP3")
        .schema(None)
        .start(0)
        .stype_in(Some(SType::Parent))
        .stype_out(SType::InstrumentId)
        .ts_out(ts_out)
        .version(version)
        .build();
    let mut bytes = Vec::new();
    DbnMetadataEncoder::new(&mut bytes)
        .encode(&metadata)
        .expect("a fixed metadata header encodes");
    bytes
}

/// Panics unless the engine counted exactly `offered` records, each under exactly one
/// kind (or as malformed).
pub fn assert_every_record_accounted(engine: &Engine, offered: u64) {
    let s = engine.stats();
    assert_eq!(
        s.records, offered,
        "every record offered reaches the engine"
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
        by_kind, offered,
        "every record is accounted for once: {s:?}"
    );
}

/// Panics when any of the engine's books breaks its invariants.
pub fn assert_books_hold(engine: &Engine) {
    for (key, book) in engine.books().iter() {
        if let Some(violation) = book.check_invariants() {
            panic!("book {key:?}: {violation}");
        }
    }
}
