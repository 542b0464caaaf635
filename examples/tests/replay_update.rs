//! `replay`'s daily update as a user runs it: `--baseline saved.ifdb --history
//! newday.dbn.zst` extends the saved baseline by the new day and writes it back, and the
//! result is the baseline a rebuild over the same days saves, byte for byte, for any
//! number of history threads.

use std::path::{Path, PathBuf};
use std::process::Command;

use ifd_sim::{Preset, SimConfig, Simulator};

/// The built example binary `name` (cargo builds the examples before running tests).
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    exe.parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps/<test>")
        .join("examples")
        .join(name)
}

fn replay(dir: &Path, args: &[&str]) -> String {
    let out = Command::new(example("replay"))
        .current_dir(dir)
        .args(["--out-dir", "out"])
        .args(args)
        .output()
        .expect("replay runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "replay {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn the_daily_update_equals_a_rebuild_and_is_written_back() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let mut cfg = SimConfig::preset(Preset::Quiet, 3);
    cfg.history_days = 7;
    let sim = Simulator::new(cfg);
    for sub in ["old", "all"] {
        std::fs::create_dir(d.join(sub)).expect("mkdir");
    }
    for i in 0..7 {
        let day = sim.history_day(i);
        let name = format!("day{i:02}.dbn.zst");
        let bytes = ifd_sim::feed_to_dbn_bytes(&day, ifd_sim::Feed::Options, true).expect("dbn");
        if i < 6 {
            std::fs::write(d.join("old").join(&name), &bytes).expect("write");
        }
        if i == 6 {
            std::fs::write(d.join("new.dbn.zst"), &bytes).expect("write");
        }
        std::fs::write(d.join("all").join(&name), &bytes).expect("write");
    }
    std::fs::write(d.join("session.dbn.zst"), {
        let day = sim.flow_day();
        ifd_sim::feed_to_dbn_bytes(&day, ifd_sim::Feed::Options, true).expect("dbn")
    })
    .expect("write");

    // A rebuild over all seven days, on one thread and on three.
    replay(
        d,
        &[
            "--history",
            "all",
            "--baseline",
            "full1.ifdb",
            "--threads",
            "1",
            "session.dbn.zst",
        ],
    );
    replay(
        d,
        &[
            "--history",
            "all",
            "--baseline",
            "full3.ifdb",
            "--threads",
            "3",
            "session.dbn.zst",
        ],
    );
    let full = std::fs::read(d.join("full1.ifdb")).expect("saved");
    assert!(full == std::fs::read(d.join("full3.ifdb")).expect("saved"));

    // Six days saved, then the seventh as the daily update.
    replay(
        d,
        &[
            "--history",
            "old",
            "--baseline",
            "daily.ifdb",
            "session.dbn.zst",
        ],
    );
    let six = std::fs::read(d.join("daily.ifdb")).expect("saved");
    assert!(six != full);
    let out = replay(
        d,
        &[
            "--history",
            "new.dbn.zst",
            "--baseline",
            "daily.ifdb",
            "session.dbn.zst",
        ],
    );
    assert!(out.contains("extended the saved 6 days"), "{out}");
    assert!(std::fs::read(d.join("daily.ifdb")).expect("saved") == full);
    // No temporary file is left beside it.
    let names: Vec<_> = std::fs::read_dir(d)
        .expect("list")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|n| n.contains("daily"))
        .collect();
    assert_eq!(names, ["daily.ifdb"]);

    // The same day again changes nothing; --rebuild replaces the saved baseline.
    replay(
        d,
        &[
            "--history",
            "new.dbn.zst",
            "--baseline",
            "daily.ifdb",
            "session.dbn.zst",
        ],
    );
    assert!(std::fs::read(d.join("daily.ifdb")).expect("saved") == full);
    replay(
        d,
        &[
            "--history",
            "new.dbn.zst",
            "--baseline",
            "daily.ifdb",
            "--rebuild",
            "session.dbn.zst",
        ],
    );
    assert!(std::fs::read(d.join("daily.ifdb")).expect("saved") != full);
}
