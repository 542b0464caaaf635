//! Corrupted or truncated ledger bytes are detected and reported, never read as zero.

use ifd_budget::{Error, Ledger, LEDGER_MAGIC, LEDGER_VERSION};

use crate::{budget, gb, spend_download, utc};

fn realistic() -> Ledger {
    let mut b = budget();
    spend_download(&mut b, "baseline-20d", "19.87", utc("2025-03-03T14:00:00Z"));
    b.record_cache_hit("baseline-20d", 4_096, utc("2025-03-03T14:05:00Z"))
        .unwrap();
    b.record_live_bytes("live-1", gb("6.7"), utc("2025-03-03T20:00:00Z"))
        .unwrap();
    b.record_live_bytes("live-1", gb("1.3"), utc("2025-03-03T23:30:00Z"))
        .unwrap();
    b.into_ledger()
}

#[test]
fn round_trip_preserves_everything() {
    let l = realistic();
    assert!(!l.alerts().is_empty(), "the fixture raises a day alert");
    let bytes = l.to_bytes().unwrap();
    assert_eq!(&bytes[..8], &LEDGER_MAGIC);
    assert_eq!(u16::from_le_bytes([bytes[8], bytes[9]]), LEDGER_VERSION);
    let back = Ledger::from_bytes(&bytes).unwrap();
    assert_eq!(back, l);
    assert_eq!(back.total(), l.total());
}

#[test]
fn every_single_byte_corruption_is_detected() {
    let bytes = realistic().to_bytes().unwrap();
    for i in 0..bytes.len() {
        for v in 0..=255u8 {
            if v == bytes[i] {
                continue;
            }
            let mut b = bytes.clone();
            b[i] = v;
            let r = Ledger::from_bytes(&b);
            assert!(r.is_err(), "byte {i} set to {v:#04x} was accepted");
        }
    }
}

#[test]
fn every_truncation_is_detected_and_reported() {
    let bytes = realistic().to_bytes().unwrap();
    for n in 0..bytes.len() {
        match Ledger::from_bytes(&bytes[..n]) {
            Err(Error::LedgerTruncated { actual, expected }) => {
                assert_eq!(actual, n);
                assert!(expected > n);
            }
            other => panic!("truncation to {n} bytes gave {other:?}"),
        }
    }
}

#[test]
fn errors_name_what_is_wrong() {
    let bytes = realistic().to_bytes().unwrap();
    let mut bad = bytes.clone();
    bad[0] = b'X';
    assert!(matches!(
        Ledger::from_bytes(&bad),
        Err(Error::LedgerBadMagic)
    ));
    // A corrupted version byte is corruption: the version is believed only once the
    // checksum vouches for it (the shared envelope's order).
    let mut bad = bytes.clone();
    bad[8] = 9;
    assert!(matches!(
        Ledger::from_bytes(&bad),
        Err(Error::LedgerChecksum { .. })
    ));
    // An intact file of another version.
    let other = ifd_budget::LEDGER_ENVELOPE.encode_as_version(9, &bytes[18..bytes.len() - 4]);
    assert!(matches!(
        Ledger::from_bytes(&other),
        Err(Error::LedgerVersion { found: 9, .. })
    ));
    let mut bad = bytes.clone();
    let mid = bytes.len() / 2;
    bad[mid] ^= 0x20;
    let err = Ledger::from_bytes(&bad).unwrap_err();
    assert!(matches!(err, Error::LedgerChecksum { .. }));
    assert!(err.to_string().contains("checksum"));
    assert!(matches!(
        Ledger::from_bytes(&[]),
        Err(Error::LedgerTruncated { actual: 0, .. })
    ));
}

/// Frames `payload` exactly as the version-1 format does, with a valid checksum.
fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&LEDGER_MAGIC);
    out.extend_from_slice(&LEDGER_VERSION.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(payload);
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

#[test]
fn a_valid_frame_with_an_invalid_payload_is_rejected() {
    let ok = br#"{"charges":[{"at":"2025-03-03T15:00:00Z","kind":"Live","reference":"s","bytes":1,"dollars":"1.25"}],"alerts":[]}"#;
    assert_eq!(
        Ledger::from_bytes(&frame(ok)).unwrap().total(),
        crate::dec("1.25")
    );
    let negative = br#"{"charges":[{"at":"2025-03-03T15:00:00Z","kind":"Live","reference":"s","bytes":1,"dollars":"-1.25"}],"alerts":[]}"#;
    let absurd = br#"{"charges":[{"at":"2025-03-03T15:00:00Z","kind":"Live","reference":"s","bytes":1,"dollars":"1000000000.01"}],"alerts":[]}"#;
    let bad_month = br#"{"charges":[],"alerts":[{"at":"2025-03-03T15:00:00Z","scope":{"Month":{"year":2025,"month":13}},"level":"0.8","spent":"1","limit":"2"}]}"#;
    let not_json = b"{\"charges\": [";
    for payload in [
        &negative[..],
        &absurd[..],
        &bad_month[..],
        &not_json[..],
        b"",
    ] {
        assert!(
            matches!(
                Ledger::from_bytes(&frame(payload)),
                Err(Error::LedgerPayload { .. })
            ),
            "accepted {}",
            String::from_utf8_lossy(payload)
        );
    }
}

proptest::proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..256)) {
        let _ = Ledger::from_bytes(&bytes);
        let _ = Ledger::from_bytes(&frame(&bytes));
    }
}
