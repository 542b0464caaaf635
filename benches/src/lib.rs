//! Shared fixtures for ifd's criterion benchmarks.
//!
//! Each bench in `benches/benches/` covers one hot path; the inputs they share
//! (simulator days held in memory, decoded record lists) are built here so that every
//! bench measures the same bytes. Figures are recorded in `benches/BENCHMARKS.md`.

use dbn::decode::{DbnDecoder, DecodeRecordRef};
use dbn::Record as _;
use ifd_sim::{to_dbn_bytes, Preset, SimConfig, Simulator};

pub mod floor;

/// Seed of the simulator days the benches share.
pub const SIM_SEED: u64 = 7;

/// One planted simulator session of `preset` as uncompressed DBN bytes in memory
/// (definitions first, then the MBO records), and its record count.
///
/// # Panics
/// If the simulator fails to encode its own day (a bug, not an input condition).
#[must_use]
pub fn sim_day_dbn(preset: Preset) -> (Vec<u8>, u64) {
    let day = Simulator::new(SimConfig::preset(preset, SIM_SEED)).flow_day();
    let records = day.record_count() as u64;
    let bytes = to_dbn_bytes(&day, false).expect("the simulator encodes its own day");
    (bytes, records)
}

/// Decodes every record of in-memory DBN bytes with dbn's `DbnDecoder` over a slice,
/// handing each to `f`; returns the number of records.
///
/// # Panics
/// If the bytes are not valid DBN (the fixtures are).
pub fn for_each_record(bytes: &[u8], mut f: impl FnMut(&dbn::RecordRef<'_>)) -> u64 {
    let mut dec = DbnDecoder::new(bytes).expect("valid DBN metadata");
    let mut n = 0u64;
    while let Some(rec) = dec.decode_record_ref().expect("valid DBN records") {
        f(&rec);
        n += 1;
    }
    n
}

/// The decode-alone reference of the hot-path benches: decodes every record of `bytes`
/// (as [`for_each_record`]) and sums their sizes, so that the decode is not optimised
/// away; returns the record count and the byte sum.
pub fn decode_only(bytes: &[u8]) -> (u64, u64) {
    let mut sizes = 0u64;
    let n = for_each_record(bytes, |r| {
        sizes += r.record_size() as u64;
    });
    (n, sizes)
}
