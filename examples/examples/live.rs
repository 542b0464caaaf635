//! Streams Databento live MBO for NQ options with reconnection and backfill, and runs the
//! detection engine on it.
//!
//! ```text
//! live [--gateway HOST:PORT] [--dataset D] [--parent NQ.OPT]... [--underlying NQ.FUT|NQZ6]
//!      [--signals PATH] [--records-out PATH.dbn] [--gaps-out PATH] [--baseline PATH]
//!      [--exit-outside-hours]
//! ```
//!
//! The API key comes from `DATABENTO_API_KEY`. The source subscribes the parent symbols
//! (`NQ.OPT` by default: definitions, MBO and statistics) and, with `--underlying`, the
//! underlying futures too (a parent symbol such as `NQ.FUT`, or a raw symbol such as
//! `NQZ6`): an `NQ.OPT` subscription carries no futures records. Every data record
//! delivered downstream (after de-duplication across reconnections) goes through
//! [`ifd_engine::Engine`]; the signals it raises are written to `--signals` as JSON
//! lines, and every MBO record is written to `--records-out` as DBN. A gap reported by
//! the live source marks the books of its publisher (and channel) as recovering
//! (`Engine::mark_gap`) and is appended to `--gaps-out` as one line
//! `<from_ts_recv> <to_ts_recv> # reason`, flushed at once. `--baseline` loads a saved
//! baseline (see the `replay` example) so that signals carry p- and q-values; without
//! it only the detectors that need no baseline run. Outside market hours the source
//! waits for the next open; `--exit-outside-hours` ends the stream instead (batch use).
//! Connection and recovery events go to stderr. Every way out (SIGINT, SIGTERM, a fatal
//! gateway error, a rejected key) ends the engine's session (its final signals are
//! written), flushes every output file and prints a summary: records, signals per
//! pattern, engine skips, latency per record, uptime over market hours and the live
//! counters (reconnects, duplicates dropped, records replayed, gaps).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use dbn::{
    encode::{DbnEncoder, EncodeRecord, EncodeRecordRef},
    enums::rtype,
    MetadataBuilder, RecordRef, SType, Schema,
};
use ifd_baseline::Baseline;
use ifd_engine::{Engine, MarketHours, UptimeMonitor};
use ifd_mbo_client::live::{LiveConfig, LiveEvent, LiveHandler, LiveSource};
use ifd_patterns::{DetectorVersion, Pattern, Signal};

#[derive(Parser, Debug)]
#[command(about = "Databento live MBO with reconnection, backfill, de-duplication and detection")]
struct Args {
    /// Gateway address HOST:PORT (default: Databento's gateway for the dataset).
    #[arg(long)]
    gateway: Option<String>,
    /// Dataset code.
    #[arg(long, default_value = "GLBX.MDP3")]
    dataset: String,
    /// Parent symbol (repeatable; default NQ.OPT).
    #[arg(long = "parent")]
    parents: Vec<String>,
    /// Also subscribe the underlying futures: a parent symbol (`NQ.FUT`) or a raw
    /// symbol (`NQZ6`).
    #[arg(long)]
    underlying: Option<String>,
    /// Append every reported gap here, one line `<from_ts_recv> <to_ts_recv> # reason`.
    #[arg(long)]
    gaps_out: Option<PathBuf>,
    /// End the stream when the gateway closes or refuses outside market hours, instead
    /// of waiting for the next open.
    #[arg(long)]
    exit_outside_hours: bool,
    /// Write the engine's signals here as JSON lines.
    #[arg(long)]
    signals: Option<PathBuf>,
    /// Write every delivered MBO record here as DBN.
    #[arg(long)]
    records_out: Option<PathBuf>,
    /// A saved baseline (`ifd_baseline::Baseline::to_bytes`) for p- and q-values.
    #[arg(long)]
    baseline: Option<PathBuf>,
}

/// How many data records pass between two uptime observations on a busy stream.
const OBSERVE_EVERY: u64 = 4096;

/// Runs the engine on delivered records, writes the files and reports events.
struct Sink {
    engine: Engine,
    uptime: UptimeMonitor,
    connected: bool,
    encoder: Option<DbnEncoder<BufWriter<File>>>,
    signals_out: Option<BufWriter<File>>,
    gaps_out: Option<File>,
    gaps: u64,
    records: u64,
    mbo: u64,
    malformed_logged: u64,
    per_pattern: BTreeMap<(DetectorVersion, Pattern), u64>,
    signal_lines: u64,
    error: Option<anyhow::Error>,
}

impl Sink {
    fn observe(&mut self) {
        let healthy = self.engine.all_books_healthy();
        self.uptime.observe(now_ns(), self.connected, healthy);
    }

    /// Counts and writes signals; keeps the first write error and stops writing.
    fn emit(&mut self, signals: &[Signal]) {
        for sig in signals {
            self.signal_lines += 1;
            if sig.revision == 0 {
                *self
                    .per_pattern
                    .entry((sig.detector, sig.pattern))
                    .or_default() += 1;
            }
            let Some(out) = self.signals_out.as_mut() else {
                continue;
            };
            let written = sig
                .to_json_line()
                .map_err(anyhow::Error::new)
                .and_then(|line| writeln!(out, "{line}").map_err(anyhow::Error::new));
            if let Err(e) = written {
                self.error
                    .get_or_insert_with(|| e.context("writing --signals"));
                self.signals_out = None;
            }
        }
    }

    fn apply(&mut self, rec: &RecordRef<'_>) {
        let mut signals = Vec::new();
        match self.engine.on_record(rec, &mut signals) {
            Ok(_) => {
                if !signals.is_empty() {
                    self.emit(&signals);
                }
            }
            Err(e) => {
                // Counted in EngineStats::malformed; the stream goes on.
                self.malformed_logged += 1;
                tracing::warn!(error = %e, rtype = rec.header().rtype, "record skipped by the engine");
            }
        }
    }
}

impl LiveHandler for Sink {
    fn on_record(&mut self, rec: RecordRef<'_>) {
        if self.records == 0 {
            eprintln!("[live] first record delivered");
        }
        self.records += 1;
        self.apply(&rec);
        if self.records % OBSERVE_EVERY == 0 {
            self.observe();
        }
        if rec.header().rtype != rtype::MBO {
            return;
        }
        self.mbo += 1;
        if let Some(enc) = self.encoder.as_mut() {
            if let Err(e) = enc.encode_record_ref(rec) {
                // Keep the first error; stop writing.
                self.error
                    .get_or_insert_with(|| anyhow::Error::new(e).context("writing --records-out"));
                self.encoder = None;
            }
        }
    }

    fn on_control(&mut self, rec: RecordRef<'_>) {
        // System messages (heartbeats among them), symbol mappings and gateway errors:
        // counted by the engine; heartbeats also keep the uptime clock ticking on a
        // quiet stream.
        self.apply(&rec);
        self.observe();
    }

    fn on_event(&mut self, event: &LiveEvent) {
        eprintln!("[live] {event:?}");
        match event {
            LiveEvent::Connected { .. } => self.connected = true,
            LiveEvent::Disconnected { .. } | LiveEvent::ConnectFailed { .. } => {
                self.connected = false;
            }
            LiveEvent::Gap(gap) => {
                self.gaps += 1;
                let marked = self.engine.mark_gap(gap.publisher_id, gap.channel_id);
                eprintln!("[live] gap {gap}: {marked} books marked recovering");
                if let Some(out) = self.gaps_out.as_mut() {
                    // One line per gap, on disk at once.
                    let written = writeln!(out, "{gap}").and_then(|()| out.sync_data());
                    if let Err(e) = written {
                        self.error.get_or_insert_with(|| {
                            anyhow::Error::new(e).context("writing --gaps-out")
                        });
                        self.gaps_out = None;
                    }
                }
            }
            _ => {}
        }
        self.observe();
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[allow(
    clippy::disallowed_methods,
    reason = "an example at the IO edge: the file header and the uptime monitor use wall time"
)]
fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

fn build_engine(args: &Args) -> anyhow::Result<Engine> {
    let mut builder = Engine::builder().monotonic_clock();
    if let Some(path) = &args.baseline {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let b = Baseline::from_bytes(&bytes)
            .with_context(|| format!("{} is not a usable baseline", path.display()))?;
        eprintln!(
            "[live] baseline: {} trading days, {} series from {}",
            b.days(),
            b.series_count(),
            path.display()
        );
        builder = builder.baseline(b);
    } else {
        eprintln!(
            "[live] no baseline: detectors that need none only (absolute thresholds, no p-/q-values)"
        );
    }
    builder.build().context("building the engine")
}

fn summary(sink: &Sink, source: &LiveSource) {
    let s = sink.engine.stats();
    eprintln!("== live summary ==");
    eprintln!(
        "records: {} data ({} MBO written), engine saw {}: MBO {}, definitions {}, statistics {}, \
         system {}, symbol mappings {}, gateway errors {}",
        sink.records,
        sink.mbo,
        s.records,
        s.mbo,
        s.definitions,
        s.statistics,
        s.system,
        s.symbol_mappings,
        s.gateway_errors
    );
    eprintln!(
        "signals: {} lines (updates included), first emissions per pattern:",
        sink.signal_lines
    );
    for ((d, p), n) in &sink.per_pattern {
        let d = if *d == DetectorVersion::V3 {
            "v3"
        } else {
            "v1"
        };
        eprintln!("  {d} {p:<13} {n}");
    }
    let b = sink.engine.book_stats();
    eprintln!(
        "skipped: malformed {} (logged {}), bad action {}, unknown instrument {}, other schemas {}, \
         pressure windows dropped {}, gaps marked {}; book: undef price {}, zero size {}, \
         unknown side {}, unknown cancel {}, unknown modify {}, duplicate add {}",
        s.malformed,
        sink.malformed_logged,
        s.bad_action,
        s.unknown_instrument,
        s.other,
        s.pressure_windows_dropped,
        s.gaps,
        b.undef_price,
        b.zero_size,
        b.unknown_side,
        b.unknown_cancel,
        b.unknown_modify,
        b.dup_add
    );
    let lat = sink.engine.latency();
    eprintln!(
        "latency per record ({} samples): p50 {} ns, p99 {} ns, p99.9 {} ns, max {} ns, mean {} ns",
        lat.count, lat.p50_ns, lat.p99_ns, lat.p999_ns, lat.max_ns, lat.mean_ns
    );
    let up = sink.uptime.report();
    eprintln!(
        "uptime: {} of {} market seconds up ({}), outages {}",
        up.up_seconds,
        up.market_seconds,
        up.uptime
            .map_or_else(|| "n/a".to_owned(), |u| format!("{:.3} %", u * 100.0)),
        up.outages
    );
    let c = source.counters();
    eprintln!(
        "live: delivered {} | reconnects {} | duplicates dropped {} | records replayed {} | \
         gaps {} ({} written, {} s of ts_recv) | snapshot resyncs {} | bytes {}",
        c.records_delivered,
        c.reconnects,
        c.duplicates_dropped,
        c.records_replayed,
        c.gaps,
        sink.gaps,
        c.gap_ns / 1_000_000_000,
        c.snapshot_resyncs,
        c.bytes_received
    );
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    ifd_examples::exit_quietly_on_closed_pipe();
    // RUST_LOG filters (default `info`); no colour codes when stderr is a file.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
    let args = Args::parse();
    let parents = if args.parents.is_empty() {
        vec!["NQ.OPT".to_owned()]
    } else {
        args.parents.clone()
    };
    let mut config = LiveConfig {
        dataset: args.dataset.clone(),
        parents: parents.clone(),
        underlying: args.underlying.clone(),
        addr: args.gateway.clone(),
        ..LiveConfig::default()
    };
    config.recovery.exit_outside_hours = args.exit_outside_hours;
    let mut source = LiveSource::new(config).context("configuring the live source")?;
    let engine = build_engine(&args)?;

    let encoder = match &args.records_out {
        Some(path) => {
            let file =
                File::create(path).with_context(|| format!("creating {}", path.display()))?;
            let metadata = MetadataBuilder::new()
                .dataset(args.dataset.clone())
                .schema(Some(Schema::Mbo))
                .start(now_ns())
                .stype_in(Some(SType::Parent))
                .stype_out(SType::InstrumentId)
                .symbols(parents)
                .build();
            Some(
                DbnEncoder::new(BufWriter::new(file), &metadata)
                    .context("writing the DBN header")?,
            )
        }
        None => None,
    };
    let gaps_out = match &args.gaps_out {
        Some(path) => Some(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("opening {}", path.display()))?,
        ),
        None => None,
    };
    let signals_out = match &args.signals {
        Some(path) => Some(BufWriter::new(
            File::create(path).with_context(|| format!("creating {}", path.display()))?,
        )),
        None => None,
    };

    let mut sink = Sink {
        engine,
        uptime: UptimeMonitor::new(MarketHours::cme()),
        connected: false,
        encoder,
        signals_out,
        gaps_out,
        gaps: 0,
        records: 0,
        mbo: 0,
        malformed_logged: 0,
        per_pattern: BTreeMap::new(),
        signal_lines: 0,
        error: None,
    };
    sink.observe();
    let result = source.run(&mut sink, shutdown_signal()).await;

    // The session ends here: the engine flushes what it still holds.
    sink.connected = false;
    sink.observe();
    let mut last = Vec::new();
    sink.engine.on_session_end(&mut last);
    sink.emit(&last);

    // Flush every file whatever the outcome (shutdown signal, fatal gateway error,
    // rejected key), then print the summary, then report the first error.
    let flushed = flush_outputs(&mut sink);
    summary(&sink, &source);
    match &result {
        Ok(_) => eprintln!("[live] stopped"),
        Err(e) => eprintln!("[live] stopped: {e}"),
    }
    flushed?;
    if let Some(e) = sink.error.take() {
        return Err(e);
    }
    result.context("live source stopped")?;
    Ok(())
}

/// Flushes `--records-out`, `--signals` and `--gaps-out`; tries all three and returns
/// the first error.
fn flush_outputs(sink: &mut Sink) -> anyhow::Result<()> {
    let mut first: Option<anyhow::Error> = None;
    if let Some(mut enc) = sink.encoder.take() {
        let r = enc
            .flush()
            .map_err(anyhow::Error::new)
            .and_then(|()| enc.get_mut().flush().map_err(anyhow::Error::new))
            .and_then(|()| {
                enc.get_mut()
                    .get_ref()
                    .sync_data()
                    .map_err(anyhow::Error::new)
            });
        if let Err(e) = r {
            first.get_or_insert(e.context("flushing --records-out"));
        }
    }
    if let Some(mut s) = sink.signals_out.take() {
        let r = s.flush().and_then(|()| s.get_ref().sync_data());
        if let Err(e) = r {
            first.get_or_insert(anyhow::Error::new(e).context("flushing --signals"));
        }
    }
    if let Some(g) = sink.gaps_out.take() {
        if let Err(e) = g.sync_data() {
            first.get_or_insert(anyhow::Error::new(e).context("flushing --gaps-out"));
        }
    }
    first.map_or(Ok(()), Err)
}
