//! Access to Databento's real sample files in `$IFD_SAMPLES_DIR`.

use std::path::PathBuf;

use dbn::decode::{DecodeRecordRef, DynDecoder};
use dbn::{InstrumentDefMsg, MboMsg, VersionUpgradePolicy};

/// The samples folder, or `None` (with a printed reason) when the variable is unset.
///
/// Panics when `IFD_REQUIRE_SAMPLES=1` and the folder is unset or missing.
pub fn dir() -> Option<PathBuf> {
    let require = std::env::var("IFD_REQUIRE_SAMPLES").is_ok_and(|v| v == "1");
    match std::env::var_os("IFD_SAMPLES_DIR") {
        Some(d) if PathBuf::from(&d).is_dir() => Some(PathBuf::from(d)),
        Some(d) => {
            assert!(!require, "IFD_SAMPLES_DIR={d:?} is not a folder");
            eprintln!("skipped: IFD_SAMPLES_DIR={d:?} is not a folder");
            None
        }
        None => {
            assert!(
                !require,
                "IFD_REQUIRE_SAMPLES=1 but IFD_SAMPLES_DIR is unset"
            );
            eprintln!("skipped: IFD_SAMPLES_DIR is unset");
            None
        }
    }
}

fn decoder(rel: &str) -> Option<DynDecoder<'static, std::io::BufReader<std::fs::File>>> {
    let path = dir()?.join(rel);
    Some(
        DynDecoder::from_file(&path, VersionUpgradePolicy::UpgradeToV3)
            .unwrap_or_else(|e| panic!("open {}: {e}", path.display())),
    )
}

/// All definition records of a sample file.
pub fn definitions(rel: &str) -> Option<Vec<InstrumentDefMsg>> {
    let mut dec = decoder(rel)?;
    let mut out = Vec::new();
    while let Some(rec) = dec.decode_record_ref().expect("decode") {
        if let Some(def) = rec.get::<InstrumentDefMsg>() {
            out.push(def.clone());
        }
    }
    Some(out)
}

/// All MBO records of a sample file.
#[allow(dead_code, reason = "used by the book tests")]
pub fn mbo(rel: &str) -> Option<Vec<MboMsg>> {
    let mut dec = decoder(rel)?;
    let mut out = Vec::new();
    while let Some(rec) = dec.decode_record_ref().expect("decode") {
        if let Some(m) = rec.get::<MboMsg>() {
            out.push(m.clone());
        }
    }
    Some(out)
}
