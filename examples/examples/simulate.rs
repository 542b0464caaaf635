//! Generates simulated NQ options sessions as DBN files plus their truth.
//!
//! ```text
//! cargo run --release -p ifd-examples --example simulate -- --seed 7 --days 21 --out /tmp/sim
//! ```
//!
//! Writes, per day `i` (0-based; the last day carries planted institutional flow), the
//! files a Databento download of that session would give:
//! `day-{i:02}-{date}.dbn.zst` (the options only, as a parent `NQ.OPT` subscription
//! delivers them: definitions, `R`, MBO and statistics) and `day-{i:02}-{date}.fut.dbn.zst`
//! (the underlying future, as `NQ.FUT` delivers it), plus `day-{i:02}-{date}.truth.jsonl`
//! and `day-{i:02}-{date}.decoys.jsonl`; then prints the record mix and the generation
//! rate. `--with-future-in-options` writes the earlier layout instead: one file per day
//! with the future's records beside the options. `--start-minutes N` starts every file N
//! minutes into its session, with no `R` and no snapshot.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Parser;
use ifd_sim::{self as sim, Feed, Preset, SimConfig, Simulator};

/// Command line of the `simulate` example.
#[derive(Debug, Parser)]
#[command(about = "Generate simulated NQ options MBO sessions (DBN) with planted-flow truth")]
struct Args {
    /// Seed of every random draw.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Sessions to write: the last one gets planted flow, the others are history.
    #[arg(long, default_value_t = 21)]
    days: u32,
    /// Output folder (created if missing).
    #[arg(long, default_value = "sim-out")]
    out: PathBuf,
    /// Target records per session (overrides the preset's).
    #[arg(long)]
    records_per_day: Option<u64>,
    /// Size preset: quiet, normal, busy or large.
    #[arg(long, default_value = "normal")]
    preset: Preset,
    /// Write plain `.dbn` instead of `.dbn.zst`.
    #[arg(long)]
    plain: bool,
    /// Start each session with a book snapshot.
    #[arg(long)]
    snapshot: bool,
    /// One file per day with the future's records beside the options (the layout
    /// before options-only files), instead of an options file and a futures file.
    #[arg(long)]
    with_future_in_options: bool,
    /// Leave out the statistics records (open interest, settlement, cleared volume).
    #[arg(long)]
    no_statistics: bool,
    /// Start every file this many minutes into its session (no `R`, no snapshot).
    #[arg(long, default_value_t = 0)]
    start_minutes: u32,
}

fn main() -> anyhow::Result<()> {
    ifd_examples::exit_quietly_on_closed_pipe();
    let args = Args::parse();
    anyhow::ensure!(args.days > 0, "--days must be at least 1");
    let mut config = SimConfig::preset(args.preset, args.seed);
    if let Some(r) = args.records_per_day {
        config.records_per_day = r;
    }
    config.history_days = args.days - 1;
    config.snapshot_start = args.snapshot;
    config.statistics = !args.no_statistics;
    config.start_offset_minutes = args.start_minutes;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let simulator = Simulator::new(config);
    #[allow(
        clippy::disallowed_methods,
        reason = "an example measuring its own wall time"
    )]
    let started = Instant::now();
    let mut total_records = 0_u64;
    let mut gen_secs = 0.0_f64;
    for i in 0..args.days {
        #[allow(
            clippy::disallowed_methods,
            reason = "an example measuring its own wall time"
        )]
        let t = Instant::now();
        let day = simulator.session(i, i + 1 == args.days);
        gen_secs += t.elapsed().as_secs_f64();
        let stem = format!("day-{i:02}-{}", day.trade_date);
        let ext = if args.plain { "dbn" } else { "dbn.zst" };
        if args.with_future_in_options {
            sim::write_feed_dbn(&day, Feed::Combined, args.out.join(format!("{stem}.{ext}")))?;
        } else {
            sim::write_feed_dbn(&day, Feed::Options, args.out.join(format!("{stem}.{ext}")))?;
            sim::write_feed_dbn(
                &day,
                Feed::Futures,
                args.out.join(format!("{stem}.fut.{ext}")),
            )?;
        }
        sim::write_truth_jsonl(&day.truth, args.out.join(format!("{stem}.truth.jsonl")))?;
        sim::write_decoys_jsonl(&day.decoys, args.out.join(format!("{stem}.decoys.jsonl")))?;
        let s = day.stats;
        let n = day.record_count() as f64;
        let pct = |x: u64| 100.0 * x as f64 / n;
        println!(
            "{stem}: {} records (defs {}, stats {}, A {:.1}%, C {:.1}%, M {:.1}%, T {:.1}%, F {:.1}%, R {}), \
             {} trade events, {} contracts, {} flows, {} decoys",
            day.record_count(),
            day.definitions.len(),
            day.statistics.len(),
            pct(s.adds),
            pct(s.cancels),
            pct(s.modifies),
            pct(s.trades),
            pct(s.fills),
            s.clears,
            s.trade_events,
            s.traded_contracts,
            day.truth.len(),
            day.decoys.len(),
        );
        total_records += day.record_count() as u64;
    }
    let wall = started.elapsed().as_secs_f64();
    println!(
        "{} days, {total_records} records: generation {:.2} s ({:.0} records/s), total with writing {:.2} s",
        args.days,
        gen_secs,
        total_records as f64 / gen_secs.max(1e-9),
        wall
    );
    Ok(())
}
