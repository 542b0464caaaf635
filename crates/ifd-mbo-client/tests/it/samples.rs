//! Locating Databento's sample files (shared by every test module).

use std::path::PathBuf;

/// The sample folder from `IFD_SAMPLES_DIR`, or `None` (with a printed reason) when the
/// variable is unset. Panics when the variable names a missing folder, and when
/// `IFD_REQUIRE_SAMPLES=1` is set but the samples are not available.
pub fn dir(test: &str) -> Option<PathBuf> {
    let required = std::env::var("IFD_REQUIRE_SAMPLES").is_ok_and(|v| v == "1");
    match std::env::var_os("IFD_SAMPLES_DIR") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            assert!(
                dir.is_dir(),
                "{test}: IFD_SAMPLES_DIR={} is not a folder",
                dir.display()
            );
            Some(dir)
        }
        None => {
            assert!(
                !required,
                "{test}: IFD_REQUIRE_SAMPLES=1 but IFD_SAMPLES_DIR is unset"
            );
            eprintln!("{test}: skipped, IFD_SAMPLES_DIR is unset (Databento sample files)");
            None
        }
    }
}
