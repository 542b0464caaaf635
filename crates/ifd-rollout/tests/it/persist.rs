use ifd_rollout::persist::{decode, encode, encode_with_version, FORMAT_VERSION};
use ifd_rollout::{Error, Rollout, RolloutConfig, RolloutState, Stage};

fn bytes() -> Vec<u8> {
    let mut r = Rollout::new(RolloutConfig::default(), 123).unwrap();
    r.engage_kill_switch(456);
    r.to_bytes().unwrap()
}

#[test]
fn round_trip() {
    let b = bytes();
    let r = Rollout::from_bytes(RolloutConfig::default(), &b).unwrap();
    assert_eq!(r.stage(), Stage::RolledBack);
    assert!(r.kill_switch_engaged());
    assert_eq!(r.state().recent_rollbacks, vec![456]);
}

#[test]
fn every_single_byte_corruption_is_detected() {
    let good = bytes();
    for i in 0..good.len() {
        for flip in [0x01_u8, 0x80, 0xff] {
            let mut bad = good.clone();
            bad[i] ^= flip;
            let err = decode::<RolloutState>(&bad).expect_err("corruption accepted");
            assert!(
                matches!(
                    err,
                    Error::BadMagic
                        | Error::ChecksumMismatch { .. }
                        | Error::Truncated { .. }
                        | Error::TrailingBytes { .. }
                ),
                "byte {i} ^ {flip:#x}: {err:?}"
            );
        }
    }
}

#[test]
fn every_truncation_is_detected() {
    let good = bytes();
    for len in 0..good.len() {
        let err = decode::<RolloutState>(&good[..len]).expect_err("truncation accepted");
        assert!(
            matches!(err, Error::Truncated { .. } | Error::BadMagic),
            "len {len}: {err:?}"
        );
    }
    let mut longer = good.clone();
    longer.push(0);
    assert!(matches!(
        decode::<RolloutState>(&longer),
        Err(Error::TrailingBytes { .. })
    ));
}

#[test]
fn other_versions_are_typed_errors() {
    let state = Rollout::new(RolloutConfig::default(), 1)
        .unwrap()
        .state()
        .clone();
    for v in [0, FORMAT_VERSION + 1, u16::MAX] {
        let b = encode_with_version(&state, v).unwrap();
        assert!(matches!(
            decode::<RolloutState>(&b),
            Err(Error::UnsupportedVersion { found, supported: FORMAT_VERSION }) if found == v
        ));
    }
}

#[test]
fn a_valid_frame_with_a_foreign_payload_is_a_decode_error() {
    let b = encode(&"not a state").unwrap();
    assert!(matches!(decode::<RolloutState>(&b), Err(Error::Decode(_))));
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Arbitrary bytes, and valid frames with arbitrary edits, never panic the
        /// decoder; whatever decodes re-encodes to the same bytes.
        #[test]
        fn decode_never_panics(
            raw in proptest::collection::vec(any::<u8>(), 0..300),
            edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..4),
            cut in any::<usize>(),
        ) {
            let _ = decode::<RolloutState>(&raw);
            let mut b = bytes();
            for (i, v) in edits {
                let i = i % b.len();
                b[i] = v;
            }
            b.truncate(cut % (b.len() + 1) + usize::from(cut % 2 == 0) * b.len());
            if let Ok(state) = decode::<RolloutState>(&b) {
                prop_assert_eq!(encode(&state).unwrap(), b);
            }
        }
    }
}
