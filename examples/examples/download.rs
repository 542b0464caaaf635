//! Fills the local Databento cache for a date range, one request per day and schema.
//!
//! ```text
//! download --start 2026-01-05 --end 2026-01-10 [--dataset GLBX.MDP3] [--parent NQ.OPT]...
//!          [--schema mbo]... [--cache DIR] [--base-url URL] [--yes]
//! ```
//!
//! Every request is priced first with `metadata.get_cost` (free) and requests already in
//! the cache are shown as such; nothing is downloaded without `--yes`. The same request
//! is never paid twice: the cache is keyed by dataset, schema, symbols, symbology and
//! range, and verified by checksum on every read.

use std::path::PathBuf;

use anyhow::{bail, Context};
use chrono::NaiveDate;
use clap::Parser;
use dbn::{SType, Schema};
use ifd_mbo_client::historical::{AllowAll, Historical, HistoricalConfig, RangeRequest};

#[derive(Parser, Debug)]
#[command(about = "Fill the Databento download cache for a date range (asks before paying)")]
struct Args {
    /// First day (UTC), inclusive, YYYY-MM-DD.
    #[arg(long)]
    start: NaiveDate,
    /// Last day (UTC), exclusive, YYYY-MM-DD.
    #[arg(long)]
    end: NaiveDate,
    /// Dataset code.
    #[arg(long, default_value = "GLBX.MDP3")]
    dataset: String,
    /// Parent symbol (repeatable; default NQ.OPT).
    #[arg(long = "parent")]
    parents: Vec<String>,
    /// Schema (repeatable; default mbo and definition).
    #[arg(long = "schema")]
    schemas: Vec<String>,
    /// Cache folder.
    #[arg(long, default_value = "cache/databento")]
    cache: PathBuf,
    /// API base URL (default https://hist.databento.com).
    #[arg(long)]
    base_url: Option<String>,
    /// Confirm the quoted cost and download.
    #[arg(long)]
    yes: bool,
}

fn day_ns(d: NaiveDate) -> anyhow::Result<u64> {
    let ns = d
        .and_hms_opt(0, 0, 0)
        .context("midnight")?
        .and_utc()
        .timestamp_nanos_opt()
        .context("date out of range")?;
    u64::try_from(ns).context("date before 1970")
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    ifd_examples::exit_quietly_on_closed_pipe();
    let args = Args::parse();
    if args.end <= args.start {
        bail!("--end must be after --start");
    }
    let parents = if args.parents.is_empty() {
        vec!["NQ.OPT".to_owned()]
    } else {
        args.parents.clone()
    };
    let schema_names = if args.schemas.is_empty() {
        vec!["mbo".to_owned(), "definition".to_owned()]
    } else {
        args.schemas.clone()
    };
    let schemas = schema_names
        .iter()
        .map(|s| {
            s.parse::<Schema>()
                .with_context(|| format!("unknown schema {s}"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut hist = Historical::new(HistoricalConfig {
        key: None,
        base_url: args.base_url.clone(),
        cache_dir: args.cache.clone(),
    })?;

    let mut requests = Vec::new();
    let mut day = args.start;
    while day < args.end {
        let next = day.succ_opt().context("date overflow")?;
        for schema in &schemas {
            requests.push(RangeRequest {
                dataset: args.dataset.clone(),
                schema: *schema,
                symbols: parents.clone(),
                stype_in: SType::Parent,
                start_ns: day_ns(day)?,
                end_ns: day_ns(next)?,
            });
        }
        day = next;
    }

    // Pre-flight: price what is not cached yet.
    let mut total = 0.0_f64;
    let mut to_fetch = Vec::new();
    for req in &requests {
        let label = format!("{} {} {}", req.schema, req.start_ns, req.symbols.join(","));
        if hist.cached(req)?.is_some() {
            println!("cached   {label}");
            continue;
        }
        let quote = hist
            .cost(req)
            .await
            .with_context(|| format!("pricing {label}"))?;
        println!("{quote:>10.4} USD  {label}");
        total += quote;
        to_fetch.push(req.clone());
    }
    println!(
        "total to pay: {total:.4} USD for {} request(s)",
        to_fetch.len()
    );
    if to_fetch.is_empty() {
        return Ok(());
    }
    if !args.yes {
        println!("nothing downloaded: re-run with --yes to confirm");
        return Ok(());
    }
    for req in &to_fetch {
        let fetched = hist.fetch(req, &mut AllowAll).await?;
        println!(
            "{} {} records, {:.4} USD -> {}",
            if fetched.cache_hit { "hit " } else { "got " },
            fetched.records.map_or("?".to_owned(), |n| n.to_string()),
            fetched.charged_usd,
            fetched.path.display()
        );
    }
    let stats = hist.stats();
    println!(
        "cache: {} hit(s), {} download(s), {} corrupt entr(ies) replaced, {} bytes written",
        stats.hits, stats.misses, stats.corrupt, stats.bytes_written
    );
    Ok(())
}
