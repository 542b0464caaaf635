//! The statistics store on Databento's sample files.

use dbn::decode::{DecodeRecordRef, DynDecoder};
use dbn::VersionUpgradePolicy;
use ifd_pressure::StatStore;

use crate::samples;

fn store(rel: &str) -> Option<StatStore> {
    let path = samples::dir()?.join(rel);
    let mut dec = DynDecoder::from_file(&path, VersionUpgradePolicy::UpgradeToV3).expect("open");
    let mut store = StatStore::new();
    while let Some(rec) = dec.decode_record_ref().expect("decode") {
        store.apply_record(&rec).expect("well-formed statistics");
    }
    Some(store)
}

#[test]
fn synthetic_nq_options_file_open_interest() {
    let Some(s) = store("synthetic/nq-opt-synthetic.dbn.zst") else {
        return;
    };
    assert_eq!(s.stats().records, 1);
    let (iid, st) = s.iter().next().expect("one instrument");
    assert_eq!(st.open_interest.map(|v| v.value), Some(1_234), "{iid}");
    assert_eq!(s.open_interest(iid), Some(1_234));
}

#[test]
fn live_sample_settlement_and_other_types() {
    let Some(s) = store("databento-python/LIVE/test_data.live.dbn.zst") else {
        return;
    };
    let st = s.stats();
    eprintln!("live sample statistics: {st:?}");
    assert_eq!(st.records, 9);
    // HighestBid and LowestOffer are not kept; settlement prices are.
    assert!(st.other_types > 0);
    assert!(s.settlement(183_748).is_some());
}
