//! Arbitrary bytes -> a saved baseline (`Baseline::from_bytes`), as they come and
//! wrapped in a valid envelope (so the body decoder is reached past the checksum).
//! Oracle: nothing panics; a body that loads fits its models, and writes back bytes
//! that load again and write back the same bytes.
#![no_main]

use ifd_baseline::{Baseline, ENVELOPE};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = Baseline::from_bytes(data);
    let wrapped = ENVELOPE.encode(data);
    if let Ok(b) = Baseline::from_bytes(&wrapped) {
        // Fits every series (the models are fitted on first use).
        let _ = b.series_count();
        let again = b.to_bytes();
        let reloaded = Baseline::from_bytes(&again).expect("what to_bytes writes loads");
        assert_eq!(reloaded.days(), b.days());
        assert_eq!(reloaded.series_count(), b.series_count());
        assert_eq!(
            reloaded.to_bytes(),
            again,
            "a loaded baseline writes back its bytes"
        );
    }
});
