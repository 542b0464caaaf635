//! Replays a DBN file through ifd's exact L3 books and prints the top of book of the
//! record's instrument after every record that carries `F_LAST`.
//!
//! ```text
//! cargo run -p ifd-examples --example book_bbo -- FILE.dbn.zst > bbo.csv
//! ```
//!
//! Output: CSV with the header
//! `ts_recv,instrument_id,bid_px,bid_sz,bid_ct,ask_px,ask_sz,ask_ct`; prices are raw dbn
//! integers (1e-9), sizes are summed over the best level, counts are resting orders at
//! it, and an empty side leaves its three fields empty. Rows follow file order.
//!
//! The books follow Databento's semantics: a modify of an order not seen before adds it,
//! so a file that starts mid-session (no Clear, no snapshot) gives the same top of book
//! as Databento's own examples.

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use dbn::decode::{DecodeRecordRef, DynDecoder};
use dbn::{MboMsg, VersionUpgradePolicy};
use ifd_pressure::{Books, Level};

/// Print the top of book after every F_LAST record of a DBN file, as CSV.
#[derive(Parser)]
struct Args {
    /// A `.dbn` or `.dbn.zst` file (DBN v1-v3).
    file: PathBuf,
}

fn write_side(out: &mut impl Write, level: Option<Level>) -> std::io::Result<()> {
    match level {
        Some(l) => write!(out, ",{},{},{}", l.price, l.size, l.count),
        None => out.write_all(b",,,"),
    }
}

fn main() -> anyhow::Result<()> {
    ifd_examples::exit_quietly_on_closed_pipe();
    // A closed stdout (`| head`) ends the output early; it is not a failure.
    ifd_examples::ignore_closed_pipe(run())
}

fn run() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut decoder = DynDecoder::from_file(&args.file, VersionUpgradePolicy::UpgradeToV3)
        .with_context(|| format!("opening {}", args.file.display()))?;
    let mut books = Books::new();
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    writeln!(
        out,
        "ts_recv,instrument_id,bid_px,bid_sz,bid_ct,ask_px,ask_sz,ask_ct"
    )?;
    while let Some(rec) = decoder.decode_record_ref().context("decoding")? {
        if rec.header().rtype != dbn::rtype::MBO {
            continue;
        }
        let msg = rec.try_get::<MboMsg>().context("reading an MBO record")?;
        let update = books.apply(msg);
        if !update.last {
            continue;
        }
        let Some(book) = books.get(update.key) else {
            continue;
        };
        let bbo = book.bbo();
        write!(out, "{},{}", msg.ts_recv, msg.hd.instrument_id)?;
        write_side(&mut out, bbo.bid)?;
        write_side(&mut out, bbo.ask)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    let stats = books.stats();
    if stats.implicit_adds > 0 {
        eprintln!(
            "book_bbo: {} modifies of orders not seen before were added (the stream started mid-session)",
            stats.implicit_adds
        );
    }
    if stats.skipped() > 0 {
        eprintln!("book_bbo: skipped records: {stats:?}");
    }
    Ok(())
}
