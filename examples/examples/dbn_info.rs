//! Prints what a DBN file holds: version, dataset, schema, record counts by type and by
//! MBO action, instruments, time range and, when definitions are present, the options
//! chain.
//!
//! ```text
//! cargo run -p ifd-examples --example dbn_info -- path/to/file.dbn.zst [more files]
//! ```
//!
//! With `--dbn-only` it only decodes each file with `dbn`'s own decoder and prints the
//! record count and bytes: the "dbn alone" reference that `replay`'s speed is measured
//! against (benches/BENCHMARKS.md).
//!
//! Plain and zstd-compressed DBN of versions 1 to 3 are accepted (v1/v2 are upgraded to
//! v3 on the fly). A truncated or corrupt file is reported with the typed error of
//! `ifd_mbo_client::FileSource` and a non-zero exit status.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use chrono::DateTime;
use clap::Parser;
use dbn::{
    InstrumentDefMsg, MboMsg, RType, Record as _, RecordRef, SymbolMappingMsg, UNDEF_PRICE,
    UNDEF_TIMESTAMP,
};
use ifd_mbo_client::FileSource;
use ifd_pressure::{Chain, OptionKind};

/// Summarise DBN files: version, dataset, schema, record counts, instruments, time range
/// and the options chain.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// DBN files (`.dbn` or `.dbn.zst`).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// How many instruments to list per file (the busiest first).
    #[arg(long, default_value_t = 10)]
    instruments: usize,
    /// How many expirations of the chain to detail.
    #[arg(long, default_value_t = 8)]
    expirations: usize,
    /// Only decode with `dbn`'s own decoder (no checks of ours, no summary) and print
    /// the record count: the reference time for replay's speed target.
    #[arg(long)]
    dbn_only: bool,
}

/// Decodes `path` with `dbn`'s `DynDecoder` alone (plain or zstd) and prints the record count.
fn dbn_only(path: &PathBuf) -> anyhow::Result<()> {
    use dbn::decode::{DecodeRecordRef as _, DynDecoder};
    let mut decoder = DynDecoder::from_file(path, dbn::VersionUpgradePolicy::UpgradeToV3)
        .with_context(|| format!("opening {}", path.display()))?;
    let (mut records, mut bytes) = (0_u64, 0_u64);
    while let Some(rec) = decoder
        .decode_record_ref()
        .with_context(|| format!("decoding {}", path.display()))?
    {
        records += 1;
        bytes += rec.record_size() as u64;
    }
    println!(
        "{}: {records} records, {bytes} record bytes",
        path.display()
    );
    Ok(())
}

/// Per-instrument tallies.
#[derive(Debug, Default)]
struct Instrument {
    records: u64,
    symbol: Option<String>,
}

/// Everything gathered from one pass over a file.
#[derive(Debug, Default)]
struct Summary {
    mbo_actions: BTreeMap<char, u64>,
    mbo_sides: BTreeMap<char, u64>,
    instruments: HashMap<u32, Instrument>,
    ts_event: Option<(u64, u64)>,
    index_ts: Option<(u64, u64)>,
    chain: Chain,
    definitions: u64,
}

impl Summary {
    fn add(&mut self, rec: &RecordRef<'_>) {
        let header = rec.header();
        let instrument = self.instruments.entry(header.instrument_id).or_default();
        instrument.records += 1;
        widen(&mut self.ts_event, header.ts_event);
        widen(&mut self.index_ts, rec.raw_index_ts());
        if let Ok(mbo) = rec.try_get::<MboMsg>() {
            *self.mbo_actions.entry(char_of(mbo.action)).or_default() += 1;
            *self.mbo_sides.entry(char_of(mbo.side)).or_default() += 1;
        } else if let Ok(def) = rec.try_get::<InstrumentDefMsg>() {
            self.definitions += 1;
            if let Ok(symbol) = def.raw_symbol() {
                instrument.symbol = Some(symbol.to_owned());
            }
            self.chain.apply(def);
        } else if let Ok(mapping) = rec.try_get::<SymbolMappingMsg>() {
            if let Ok(symbol) = mapping.stype_out_symbol() {
                instrument.symbol.get_or_insert_with(|| symbol.to_owned());
            }
        }
    }
}

fn widen(range: &mut Option<(u64, u64)>, ts: u64) {
    if ts == UNDEF_TIMESTAMP {
        return;
    }
    *range = Some(match *range {
        Some((lo, hi)) => (lo.min(ts), hi.max(ts)),
        None => (ts, ts),
    });
}

fn char_of(raw: std::ffi::c_char) -> char {
    char::from(raw as u8)
}

fn ts(ns: u64) -> String {
    match i64::try_from(ns) {
        Ok(ns) => DateTime::from_timestamp_nanos(ns)
            .format("%Y-%m-%d %H:%M:%S%.9f UTC")
            .to_string(),
        Err(_) => format!("{ns} ns"),
    }
}

/// A 1e-9 fixed-point value as a decimal string without trailing zeros.
fn px(fixed: i64) -> String {
    if fixed == UNDEF_PRICE {
        return "UNDEF".to_owned();
    }
    let sign = if fixed < 0 { "-" } else { "" };
    let abs = fixed.unsigned_abs();
    let whole = abs / 1_000_000_000;
    let frac = abs % 1_000_000_000;
    if frac == 0 {
        format!("{sign}{whole}")
    } else {
        let frac = format!("{frac:09}");
        format!("{sign}{whole}.{}", frac.trim_end_matches('0'))
    }
}

fn describe(path: &PathBuf, args: &Args) -> anyhow::Result<()> {
    let mut source =
        FileSource::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut summary = Summary::default();
    while let Some(rec) = source
        .next_record()
        .with_context(|| format!("decoding {}", path.display()))?
    {
        summary.add(&rec);
    }

    let meta = source.metadata();
    let stats = source.stats();
    println!("== {}", path.display());
    println!(
        "DBN version {} ({}), {} compression, {} input bytes, {} DBN bytes",
        source.input_version(),
        if source.input_version() < 3 {
            "upgraded to 3"
        } else {
            "current"
        },
        match source.compression() {
            dbn::Compression::Zstd => "zstd",
            _ => "no",
        },
        stats.input_bytes(),
        stats.dbn_bytes(),
    );
    println!(
        "dataset {}, schema {}, stype_in {}, stype_out {}, ts_out {}",
        meta.dataset,
        meta.schema.map_or("mixed".to_owned(), |s| s.to_string()),
        meta.stype_in.map_or("mixed".to_owned(), |s| s.to_string()),
        meta.stype_out,
        meta.ts_out,
    );
    println!(
        "query {} .. {}, {} symbols, {} symbology mappings",
        ts(meta.start),
        meta.end.map_or("open".to_owned(), |end| ts(end.get())),
        meta.symbols.len(),
        meta.mappings.len(),
    );

    println!("records: {}", stats.records());
    for (rtype, count) in stats.by_rtype() {
        let name = RType::try_from(rtype).map_or("unknown", |r| r.as_str());
        println!("  {name:<16} ({rtype:#04x}) {count:>10}");
    }
    if !summary.mbo_actions.is_empty() {
        let line = |map: &BTreeMap<char, u64>| {
            map.iter()
                .map(|(c, n)| format!("{c} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        println!("MBO actions: {}", line(&summary.mbo_actions));
        println!("MBO sides:   {}", line(&summary.mbo_sides));
    }
    if let Some((lo, hi)) = summary.ts_event {
        println!("ts_event {} .. {}", ts(lo), ts(hi));
    }
    if let Some((lo, hi)) = summary.index_ts {
        println!("index ts {} .. {}", ts(lo), ts(hi));
    }

    // Symbols for instruments without a definition or mapping record: the metadata's
    // symbology (raw symbol -> instrument id over date intervals).
    for mapping in &meta.mappings {
        for interval in &mapping.intervals {
            if let Ok(id) = interval.symbol.parse::<u32>() {
                if let Some(instrument) = summary.instruments.get_mut(&id) {
                    instrument
                        .symbol
                        .get_or_insert_with(|| mapping.raw_symbol.clone());
                }
            }
        }
    }
    let mut instruments: Vec<_> = summary.instruments.iter().collect();
    instruments.sort_by(|a, b| b.1.records.cmp(&a.1.records).then(a.0.cmp(b.0)));
    println!("instruments: {}", instruments.len());
    for (id, instrument) in instruments.iter().take(args.instruments) {
        println!(
            "  {id:>10} {:<24} {:>10} records",
            instrument.symbol.as_deref().unwrap_or("?"),
            instrument.records
        );
    }
    if instruments.len() > args.instruments {
        println!("  ... {} more", instruments.len() - args.instruments);
    }

    if summary.definitions > 0 {
        let futures = summary
            .instruments
            .keys()
            .filter(|&&id| summary.chain.future(id).is_some())
            .count();
        print_chain(
            &summary.chain,
            summary.definitions,
            futures,
            args.expirations,
        );
    }
    println!();
    Ok(())
}

fn print_chain(chain: &Chain, definitions: u64, futures: usize, max_expirations: usize) {
    let calls = chain
        .options()
        .filter(|o| o.kind == OptionKind::Call)
        .count();
    let puts = chain.len() - calls;
    let expirations: Vec<u64> = chain.expirations().collect();
    println!(
        "chain: {definitions} definitions, {} options ({calls} calls, {puts} puts), \
         {} expirations, {futures} futures",
        chain.len(),
        expirations.len()
    );
    for &expiration in expirations.iter().take(max_expirations) {
        let strikes = chain.strikes(expiration);
        let (lo, hi) = (strikes.first(), strikes.last());
        let assets: std::collections::BTreeSet<&str> = chain
            .at_expiration(expiration)
            .map(|o| o.asset.as_str())
            .collect();
        let multipliers: std::collections::BTreeSet<String> = chain
            .at_expiration(expiration)
            .map(|o| px(o.multiplier))
            .collect();
        println!(
            "  {}  {} strikes {} .. {}  assets {:?}  multiplier {:?}",
            ts(expiration),
            strikes.len(),
            lo.map_or("-".to_owned(), |&s| px(s)),
            hi.map_or("-".to_owned(), |&s| px(s)),
            assets,
            multipliers,
        );
    }
    if expirations.len() > max_expirations {
        println!(
            "  ... {} more expirations",
            expirations.len() - max_expirations
        );
    }
    let stats = chain.stats();
    println!(
        "  skipped: {} undefined strike, {} undefined expiration, {} without multiplier",
        stats.skipped_undef_strike, stats.skipped_undef_expiration, stats.skipped_no_multiplier
    );
}

fn main() -> ExitCode {
    ifd_examples::exit_quietly_on_closed_pipe();
    let args = Args::parse();
    let mut failed = 0;
    for path in &args.files {
        let result = if args.dbn_only {
            dbn_only(path)
        } else {
            describe(path, &args)
        };
        if let Err(err) = result {
            failed += 1;
            eprintln!("error: {err:#}");
        }
    }
    if failed > 0 {
        eprintln!("{failed} of {} files failed", args.files.len());
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
