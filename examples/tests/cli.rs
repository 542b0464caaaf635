//! The example binaries run as a user runs them: built binaries, real processes.
//!
//! - a closed stdout (`dbn_info FILE | head`) ends them quietly;
//! - `live` against the project's fake Databento gateway flushes every output file and
//!   prints its summary when it receives SIGTERM.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use dbn::decode::DecodeRecordRef as _;
use dbn::{
    encode::{DbnEncoder, EncodeRecord},
    enums::rtype,
    flags, MboMsg, MetadataBuilder, RecordHeader, SType, Schema,
};

#[cfg(feature = "live")]
#[allow(
    dead_code,
    reason = "the shared fake gateway has helpers other tests use"
)]
#[path = "../../crates/ifd-mbo-client/tests/it/gateway.rs"]
mod gateway;

/// The built example binary `name` (cargo builds the examples before running tests).
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let debug = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps/<test>");
    debug.join("examples").join(name)
}

/// An MBO file of `n` adds over two instruments, each an event of its own (`F_LAST`).
fn mbo_file(dir: &Path, n: u64) -> PathBuf {
    let path = dir.join("adds.dbn");
    let file = std::fs::File::create(&path).expect("create");
    let meta = MetadataBuilder::new()
        .dataset("GLBX.MDP3")
        .schema(Some(Schema::Mbo))
        .start(1)
        .stype_in(Some(SType::InstrumentId))
        .stype_out(SType::InstrumentId)
        .build();
    let mut enc = DbnEncoder::new(std::io::BufWriter::new(file), &meta).expect("header");
    for i in 0..n {
        let msg = MboMsg {
            hd: RecordHeader::new::<MboMsg>(rtype::MBO, 1, 1 + (i % 2) as u32, 1_000 + i),
            order_id: i + 1,
            price: 100_000_000_000 + (i % 50) as i64 * 250_000_000,
            size: 1,
            flags: flags::LAST.into(),
            action: b'A' as std::ffi::c_char,
            side: if i % 2 == 0 { b'B' } else { b'A' } as std::ffi::c_char,
            ts_recv: 1_000 + i,
            ..Default::default()
        };
        enc.encode_record(&msg).expect("encode");
    }
    enc.flush().expect("flush");
    path
}

/// Runs `bin args` with stdout a pipe whose reader is gone; returns (success, stderr).
fn run_into_closed_pipe(bin: &Path, args: &[&Path]) -> (bool, String) {
    let mut child = Command::new(bin)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawning {}: {e}", bin.display()));
    // Close the read end: every write to stdout fails with EPIPE from now on, and the
    // output is far larger than a pipe buffer, so the program meets a closed pipe.
    drop(child.stdout.take());
    let mut err = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut err)
        .expect("read stderr");
    let status = child.wait().expect("wait");
    (status.success(), err)
}

#[test]
fn examples_exit_quietly_into_a_closed_pipe() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = mbo_file(dir.path(), 20_000);
    // book_bbo writes one CSV line per record (about a megabyte).
    let (ok, err) = run_into_closed_pipe(&example("book_bbo"), &[&file]);
    assert!(ok, "book_bbo failed on a closed pipe: {err}");
    assert!(
        !err.contains("panicked") && !err.contains("Broken pipe"),
        "{err}"
    );
    // dbn_info prints a summary per file: 200 copies are far more than a pipe holds.
    let files: Vec<&Path> = std::iter::repeat_n(file.as_path(), 200).collect();
    let (ok, err) = run_into_closed_pipe(&example("dbn_info"), &files);
    assert!(ok, "dbn_info failed on a closed pipe: {err}");
    assert!(
        !err.contains("panicked") && !err.contains("Broken pipe"),
        "{err}"
    );
}

/// Reads the child's stderr lines on a thread; each line goes to the channel.
fn stderr_lines(child: &mut std::process::Child) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    let err = child.stderr.take().expect("stderr");
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

#[cfg(all(unix, feature = "live"))]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_flushes_every_output_on_sigterm() {
    live_flushes_every_output_on("TERM", 21).await;
}

#[cfg(all(unix, feature = "live"))]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_flushes_every_output_on_sigint() {
    live_flushes_every_output_on("INT", 23).await;
}

/// Starts `live` against the fake gateway, waits for its first record, sends `signal`
/// (`TERM` or `INT`) and checks that every output is complete on disk.
#[cfg(all(unix, feature = "live"))]
async fn live_flushes_every_output_on(signal: &str, seed: u64) {
    let session = gateway::session(300, seed);
    let gw = gateway::Gateway::start(session.clone(), vec![], 0).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let records = dir.path().join("records.dbn");
    let signals = dir.path().join("signals.jsonl");
    let gaps = dir.path().join("gaps.txt");
    let mut child = Command::new(example("live"))
        .arg("--gateway")
        .arg(&gw.addr)
        .arg("--records-out")
        .arg(&records)
        .arg("--signals")
        .arg(&signals)
        .arg("--gaps-out")
        .arg(&gaps)
        .env("DATABENTO_API_KEY", gateway::KEY)
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn live");
    let lines = stderr_lines(&mut child);
    let (lines, mut seen) = tokio::task::spawn_blocking(move || {
        let mut seen = Vec::new();
        // Bounded wait for an observable line, not a sleep.
        while let Ok(line) = lines.recv_timeout(Duration::from_secs(60)) {
            let first = line.contains("first record delivered");
            seen.push(line);
            if first {
                return (lines, seen);
            }
        }
        panic!("live never delivered a record: {seen:#?}");
    })
    .await
    .expect("join");
    // The first record is a definition; wait until MBO records have reached the file
    // (its buffer spilled once), so that the signal lands mid-stream with records both
    // on disk and still buffered. Bounded polling of an observable, not a timed sleep.
    let spilled = {
        let records = records.clone();
        tokio::task::spawn_blocking(move || {
            for _ in 0..600 {
                // The DBN header is far smaller than 4 KiB; the buffer spills at 8 KiB.
                if std::fs::metadata(&records).is_ok_and(|m| m.len() >= 4096) {
                    return true;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            false
        })
        .await
        .expect("join")
    };
    assert!(spilled, "live wrote no records within 60 s: {seen:#?}");
    let kill = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(child.id().to_string())
        .status()
        .expect("kill");
    assert!(kill.success());
    let (status, rest) = tokio::task::spawn_blocking(move || {
        let rest: Vec<String> = lines.iter().collect(); // ends when stderr closes
        (child.wait().expect("wait"), rest)
    })
    .await
    .expect("join");
    seen.extend(rest);
    let text = seen.join("\n");
    assert!(status.success(), "live exited with {status}: {text}");
    assert!(text.contains("== live summary =="), "{text}");
    // The summary's count of MBO records written equals what the file holds.
    let written: u64 = text
        .lines()
        .find_map(|l| {
            let rest = l.strip_prefix("records: ")?;
            let (_, after) = rest.split_once(" data (")?;
            after.split_whitespace().next()?.parse().ok()
        })
        .unwrap_or_else(|| panic!("no records line: {text}"));
    assert!(written > 0);
    let mut dec = dbn::decode::DynDecoder::from_file(&records, dbn::VersionUpgradePolicy::AsIs)
        .expect("records-out is a complete DBN file");
    let mut in_file = 0u64;
    while let Some(rec) = dec.decode_record_ref().expect("decodes to the end") {
        assert_eq!(rec.header().rtype, rtype::MBO);
        in_file += 1;
    }
    assert_eq!(
        in_file, written,
        "every record written before SIG{signal} is on disk"
    );
    // No gap on this run: the gap file exists and is empty; the signal file exists.
    assert_eq!(std::fs::read_to_string(&gaps).expect("gaps-out"), "");
    assert!(signals.exists());
}

/// Runs `live` against the fake gateway at `addr` (`--gateway addr`, then `args`) with
/// the gateway's API key, on a blocking thread, and returns what it printed and its
/// status.
#[cfg(feature = "live")]
async fn live_output(addr: &str, args: &[&std::ffi::OsStr]) -> std::process::Output {
    let mut cmd = Command::new(example("live"));
    cmd.arg("--gateway")
        .arg(addr)
        .args(args)
        .env("DATABENTO_API_KEY", gateway::KEY)
        .env("RUST_LOG", "error");
    tokio::task::spawn_blocking(move || cmd.output().expect("run live"))
        .await
        .expect("join")
}

#[cfg(feature = "live")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_flushes_and_summarises_when_the_key_is_rejected() {
    let session = gateway::session(20, 22);
    let gw = gateway::Gateway::start(session, vec![gateway::Fault::RejectAuth], 0).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let records = dir.path().join("records.dbn");
    let gaps = dir.path().join("gaps.txt");
    let output = live_output(
        &gw.addr,
        &[
            "--records-out".as_ref(),
            records.as_os_str(),
            "--gaps-out".as_ref(),
            gaps.as_os_str(),
        ],
    )
    .await;
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "a rejected key is a failure: {err}"
    );
    assert!(err.contains("== live summary =="), "{err}");
    assert!(err.contains("authentication rejected"), "{err}");
    // The DBN file is complete (a header, no records) and the gap file exists.
    let mut dec = dbn::decode::DynDecoder::from_file(&records, dbn::VersionUpgradePolicy::AsIs)
        .expect("records-out is a complete DBN file");
    assert!(dec.decode_record_ref().expect("decodes").is_none());
    assert!(gaps.exists());
}

#[cfg(feature = "live")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_flushes_and_summarises_on_a_fatal_gateway_error() {
    let session = gateway::session(20, 24);
    let gw = gateway::Gateway::start(session, vec![gateway::Fault::InvalidSubscription], 0).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let records = dir.path().join("records.dbn");
    let signals = dir.path().join("signals.jsonl");
    let gaps = dir.path().join("gaps.txt");
    let output = live_output(
        &gw.addr,
        &[
            "--records-out".as_ref(),
            records.as_os_str(),
            "--signals".as_ref(),
            signals.as_os_str(),
            "--gaps-out".as_ref(),
            gaps.as_os_str(),
        ],
    )
    .await;
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "a refused subscription is a failure: {err}"
    );
    assert!(err.contains("== live summary =="), "{err}");
    assert!(err.contains("not entitled"), "{err}");
    let mut dec = dbn::decode::DynDecoder::from_file(&records, dbn::VersionUpgradePolicy::AsIs)
        .expect("records-out is a complete DBN file");
    assert!(dec.decode_record_ref().expect("decodes").is_none());
    assert!(gaps.exists() && signals.exists());
    assert_eq!(gw.log().len(), 1, "no retry after a fatal error");
}
