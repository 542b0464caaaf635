//! Arbitrary bytes -> `ifd_mbo_client::FileSource`.
//!
//! The first byte picks how the rest is presented: after a valid DBN v3 header, after a
//! valid DBN v1 header (the upgrade path), or as a whole file (prelude, metadata and
//! compression detection). Oracle: nothing panics; every yielded record is safe to read
//! (`to_owned`, `as_enum`); an error ends the stream for good; the stats count exactly
//! the records yielded; `for_each_record` (batched) agrees with `next_record`.
#![no_main]

use ifd_fuzz::dbn_header as header;
use ifd_mbo_client::FileSource;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let input = match mode % 5 {
        0 => [header(3, false).as_slice(), rest].concat(),
        1 => [header(1, false).as_slice(), rest].concat(),
        2 => [header(2, true).as_slice(), rest].concat(),
        _ => rest.to_vec(),
    };
    let Ok(mut source) = FileSource::from_bytes(&input) else {
        return;
    };
    let mut yielded = 0_u64;
    let mut failed = false;
    loop {
        match source.next_record() {
            Ok(Some(record)) => {
                yielded += 1;
                let owned = record.to_owned();
                assert_eq!(owned.as_ref().len(), record.header().record_size());
                // Not `Debug`: dbn 0.73 formats an `i64::MIN` price by negating it, which
                // overflows (a dbn matter, not the file source's).
                std::hint::black_box(record.as_enum().is_ok());
            }
            Ok(None) => break,
            Err(err) => {
                failed = true;
                std::hint::black_box(err.to_string());
                assert!(matches!(source.next_record(), Ok(None)));
                break;
            }
        }
    }
    assert_eq!(source.stats().records(), yielded);

    // The batched path agrees with the one-by-one path.
    let mut batched = FileSource::from_bytes(&input).expect("the same input decoded above");
    let mut batched_count = 0_u64;
    let result = batched.for_each_record(|record| {
        batched_count += 1;
        assert_eq!(
            record.to_owned().as_ref().len(),
            record.header().record_size()
        );
        std::hint::black_box(record.as_enum().is_ok());
    });
    assert_eq!(batched_count, yielded);
    assert_eq!(result.is_err(), failed);
    assert_eq!(batched.stats(), source.stats());
    if source.compression() == dbn::Compression::None {
        assert!(source.stats().dbn_bytes() <= input.len() as u64);
    }
});
