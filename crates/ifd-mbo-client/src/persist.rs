//! Atomic file replacement for persisted state (baselines, budget ledgers, rollout
//! stages).
//!
//! The pure crates serialise their state to bytes; this module is the one place those
//! bytes reach the disk. [`write_atomic`] writes a temporary file beside the target,
//! flushes it to stable storage, renames it over the target and flushes the folder, so
//! a crash leaves either the old file or the new one, never a half-written mix.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};

/// Distinguishes temporary files of concurrent writers inside one process.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Replaces the file at `path` with `bytes` atomically.
///
/// The bytes go to a new temporary file in the same folder (named
/// `.<file name>.<pid>.<n>.tmp`), which is synced, renamed over `path`, and then the
/// folder itself is synced (on Unix) so the rename survives a power loss. On failure the
/// temporary file is removed and any previous file at `path` is untouched.
///
/// # Errors
/// [`Error::Io`] naming the path that failed: `path` has no file name, the folder is
/// missing or not writable, the disk is full, or the rename is refused (for example
/// because `path` is a folder).
pub fn write_atomic(path: impl AsRef<Path>, bytes: &[u8]) -> Result<()> {
    let path = path.as_ref();
    let Some(file_name) = path.file_name() else {
        return Err(Error::Io {
            path: path.to_path_buf(),
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "the target path has no file name",
            ),
        });
    };
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut temp_name = std::ffi::OsString::from(".");
    temp_name.push(file_name);
    temp_name.push(format!(
        ".{}.{}.tmp",
        std::process::id(),
        TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let temp = dir.join(temp_name);

    let io_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
    };
    let written = write_synced(&temp, bytes)
        .map_err(io_err(&temp))
        .and_then(|()| fs::rename(&temp, path).map_err(io_err(path)));
    if let Err(err) = written {
        // Best effort: the temporary file may not exist if creating it failed.
        let _ = fs::remove_file(&temp);
        return Err(err);
    }
    sync_dir(&dir).map_err(io_err(&dir))
}

fn write_synced(temp: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = OpenOptions::new().write(true).create_new(true).open(temp)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> std::io::Result<()> {
    // Folders cannot be opened for syncing on this platform; the rename is the
    // durability point.
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leftovers(dir: &Path) -> Vec<String> {
        fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".tmp"))
            .collect()
    }

    #[test]
    fn writes_a_new_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        write_atomic(&path, b"{\"v\":1}").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"{\"v\":1}");
        assert!(leftovers(dir.path()).is_empty());
    }

    #[test]
    fn replaces_an_existing_file_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.bin");
        write_atomic(&path, &[7; 4096]).unwrap();
        write_atomic(&path, b"short").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"short");
        assert!(leftovers(dir.path()).is_empty());
    }

    #[test]
    fn failed_rename_keeps_the_target_and_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("occupied");
        fs::create_dir(&target).unwrap();
        fs::write(target.join("inside"), b"keep").unwrap();
        let err = write_atomic(&target, b"new").unwrap_err();
        assert!(
            matches!(&err, Error::Io { path, .. } if path == &target),
            "{err:?}"
        );
        assert_eq!(fs::read(target.join("inside")).unwrap(), b"keep");
        assert!(leftovers(dir.path()).is_empty());
    }

    #[test]
    fn missing_folder_is_an_io_error_naming_the_temp_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("absent").join("state.json");
        let err = write_atomic(&path, b"x").unwrap_err();
        match err {
            Error::Io { path: failed, .. } => {
                assert_eq!(failed.parent(), path.parent());
            }
            other => panic!("unexpected error {other:?}"),
        }
        assert!(!path.exists());
    }

    #[test]
    fn path_without_file_name_is_rejected() {
        let err = write_atomic("/", b"x").unwrap_err();
        assert!(matches!(err, Error::Io { .. }), "{err:?}");
    }
}
