//! Streams Databento live MBO for NQ options with reconnection and backfill.
//!
//! ```text
//! live [--gateway HOST:PORT] [--dataset D] [--parent NQ.OPT]... [--signals PATH] [--records-out PATH.dbn]
//! ```
//!
//! The API key comes from `DATABENTO_API_KEY`. Every MBO record delivered downstream
//! (after de-duplication across reconnections) is written to `--records-out` as DBN;
//! connection and recovery events go to stderr; SIGINT or SIGTERM stops the stream and
//! flushes the files. The counters (reconnects, duplicates dropped, records replayed,
//! gaps) are printed at the end.
//!
//! Signals: the engine (`ifd_engine`) is not wired into this example yet, so `--signals`
//! only creates the file and stays empty; the records it would score are in
//! `--records-out` and can be replayed offline.

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
use ifd_mbo_client::live::{LiveConfig, LiveEvent, LiveHandler, LiveSource};

#[derive(Parser, Debug)]
#[command(about = "Databento live MBO with reconnection, backfill and de-duplication")]
struct Args {
    /// Gateway address HOST:PORT (default: Databento's gateway for the dataset).
    #[arg(long)]
    gateway: Option<String>,
    /// Dataset code.
    #[arg(long, default_value = "GLBX.MDP3")]
    dataset: String,
    /// Parent symbol (repeatable).
    #[arg(long = "parent")]
    parents: Vec<String>,
    /// Where signals go (not wired yet: the file is created and stays empty).
    #[arg(long)]
    signals: Option<PathBuf>,
    /// Write every delivered MBO record here as DBN.
    #[arg(long)]
    records_out: Option<PathBuf>,
}

/// Writes MBO records and reports events.
struct Sink {
    encoder: Option<DbnEncoder<BufWriter<File>>>,
    mbo: u64,
    error: Option<anyhow::Error>,
}

impl LiveHandler for Sink {
    fn on_record(&mut self, rec: RecordRef<'_>) {
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

    fn on_event(&mut self, event: &LiveEvent) {
        eprintln!("[live] {event:?}");
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
    reason = "an example at the IO edge: the file header records the start time"
)]
fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let parents = if args.parents.is_empty() {
        vec!["NQ.OPT".to_owned()]
    } else {
        args.parents.clone()
    };
    let config = LiveConfig {
        dataset: args.dataset.clone(),
        parents: parents.clone(),
        addr: args.gateway.clone(),
        ..LiveConfig::default()
    };
    let mut source = LiveSource::new(config).context("configuring the live source")?;

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
    let mut signals = match &args.signals {
        Some(path) => {
            eprintln!(
                "[live] note: signals are not wired yet (ifd_engine pending); {} stays empty",
                path.display()
            );
            Some(BufWriter::new(
                File::create(path).with_context(|| format!("creating {}", path.display()))?,
            ))
        }
        None => None,
    };

    let mut sink = Sink {
        encoder,
        mbo: 0,
        error: None,
    };
    let result = source.run(&mut sink, shutdown_signal()).await;

    // Flush both files whatever the outcome.
    if let Some(mut enc) = sink.encoder.take() {
        enc.flush().context("flushing --records-out")?;
        enc.get_mut().flush().context("flushing --records-out")?;
    }
    if let Some(s) = signals.as_mut() {
        s.flush().context("flushing --signals")?;
    }
    let counters = source.counters();
    eprintln!(
        "[live] mbo records written {} | delivered {} | reconnects {} | duplicates dropped {} | \
         records replayed {} | gaps {} | bytes {}",
        sink.mbo,
        counters.records_delivered,
        counters.reconnects,
        counters.duplicates_dropped,
        counters.records_replayed,
        counters.gaps,
        counters.bytes_received
    );
    if let Some(e) = sink.error {
        return Err(e);
    }
    result.context("live source stopped")?;
    Ok(())
}
