//! Detection-quality benchmark: precision and recall of v3 and v1 signals against the
//! simulator's planted truth, per pattern, over several seeds and presets, plus the
//! calibration of `confidence` (hit rate per decile).
//!
//! `cargo run --release --example detection_quality -- --seeds 1,2,3 --presets quiet,normal`
//!
//! For each (preset, seed) it builds a 20-day baseline from the history days, replays the
//! flow day through the engine and scores the signals: a planted flow is found when a
//! signal with its side names one of its instruments within its window (plus 5 s).
//! Exits non-zero when `--require` is given and v3 misses the targets (precision ≥ 0.90,
//! recall ≥ 0.85, and better than v1 on both).

use std::collections::BTreeMap;

use anyhow::{bail, Result};
use clap::Parser;
use ifd_baseline::{BaselineBuilder, BuilderConfig};
use ifd_engine::eval::{evaluate, Counts, Evaluation, KnownFlow};
use ifd_engine::Engine;
use ifd_examples::truth::known_flows;
use ifd_patterns::{DetectorVersion, Signal};
use ifd_sim::{self as sim, Feed, Preset, SimConfig, Simulator};

#[derive(Parser, Debug)]
#[command(about = "Precision and recall of ifd's detectors on planted simulator flow")]
struct Args {
    /// Simulator seeds.
    #[arg(long, value_delimiter = ',', default_value = "1,2,3")]
    seeds: Vec<u64>,
    /// Simulator presets.
    #[arg(long, value_delimiter = ',', default_value = "quiet,normal")]
    presets: Vec<Preset>,
    /// History days for the baseline (0: no baseline).
    #[arg(long, default_value_t = 20)]
    history_days: u32,
    /// Fail unless v3 meets the targets.
    #[arg(long)]
    require: bool,
    /// Give the engine and the baseline the future's records too (as with an extra
    /// `NQ.FUT` subscription); by default they see the options feed alone, as a parent
    /// `NQ.OPT` subscription delivers it, and take the underlying from put–call parity.
    #[arg(long)]
    with_future: bool,
    /// Start every session this many minutes in, with no R and no snapshot.
    #[arg(long, default_value_t = 0)]
    start_minutes: u32,
}

#[derive(Default)]
struct Totals {
    precision: BTreeMap<String, Counts>,
    recall: BTreeMap<String, Counts>,
    all_p: Counts,
    all_r: Counts,
    calibration: Vec<Counts>,
}

impl Totals {
    fn add(&mut self, e: &Evaluation) {
        for (k, c) in &e.precision_by_pattern {
            let t = self.precision.entry(k.clone()).or_default();
            t.hits += c.hits;
            t.total += c.total;
        }
        for (k, c) in &e.recall_by_kind {
            let t = self.recall.entry(k.clone()).or_default();
            t.hits += c.hits;
            t.total += c.total;
        }
        self.all_p.hits += e.precision.hits;
        self.all_p.total += e.precision.total;
        self.all_r.hits += e.recall.hits;
        self.all_r.total += e.recall.total;
        if self.calibration.is_empty() {
            self.calibration = vec![Counts::default(); 10];
        }
        for (t, d) in self.calibration.iter_mut().zip(&e.calibration) {
            t.hits += d.counts.hits;
            t.total += d.counts.total;
        }
    }
}

fn fmt(c: Option<&Counts>) -> String {
    match c.and_then(|c| c.rate().map(|r| (r, c))) {
        Some((r, c)) => format!("{r:5.2} ({:>3}/{:<3})", c.hits, c.total),
        None => "  n/a          ".to_owned(),
    }
}

fn run(
    preset: Preset,
    seed: u64,
    history_days: u32,
    feed: Feed,
    start_minutes: u32,
) -> Result<(Vec<Signal>, Vec<KnownFlow>)> {
    let mut cfg = SimConfig::preset(preset, seed);
    cfg.start_offset_minutes = start_minutes;
    cfg.history_days = history_days;
    let sim = Simulator::new(cfg);
    let mut builder = Engine::builder();
    if history_days > 0 {
        let mut b = BaselineBuilder::new(BuilderConfig::default())?;
        for i in 0..history_days {
            b.on_dbn_bytes(&sim::feed_to_dbn_bytes(&sim.history_day(i), feed, false)?)?;
        }
        builder = builder.baseline(b.finish()?);
    }
    let mut engine = builder.build()?;
    let day = sim.flow_day();
    let mut signals = Vec::new();
    for rec in day.feed_records(feed) {
        engine.on_record(&rec, &mut signals)?;
    }
    engine.on_session_end(&mut signals);
    Ok((signals, known_flows(&day.truth)))
}

fn main() -> Result<()> {
    ifd_examples::exit_quietly_on_closed_pipe();
    let args = Args::parse();
    let feed = if args.with_future {
        Feed::Combined
    } else {
        Feed::Options
    };
    println!(
        "feed: {}",
        if args.with_future {
            "options and the future (NQ.OPT + NQ.FUT)"
        } else {
            "options only (NQ.OPT): underlying from put-call parity"
        }
    );
    let mut v3 = Totals::default();
    let mut v1 = Totals::default();
    for preset in &args.presets {
        for seed in &args.seeds {
            let (signals, flows) =
                run(*preset, *seed, args.history_days, feed, args.start_minutes)?;
            let e3 = evaluate(&signals, &flows, DetectorVersion::V3, 5_000_000_000);
            let e1 = evaluate(&signals, &flows, DetectorVersion::V1, 5_000_000_000);
            println!(
                "{preset:?} seed {seed}: {} flows; v3 {} signals, precision {}, recall {}; v1 {} signals, precision {}, recall {}",
                flows.len(),
                e3.signals,
                fmt(Some(&e3.precision)),
                fmt(Some(&e3.recall)),
                e1.signals,
                fmt(Some(&e1.precision)),
                fmt(Some(&e1.recall)),
            );
            v3.add(&e3);
            v1.add(&e1);
        }
    }
    println!();
    println!(
        "{:<14} {:<17} {:<17} {:<17} {:<17}",
        "pattern", "v3 precision", "v3 recall", "v1 precision", "v1 recall"
    );
    let mut names: Vec<String> = v3
        .recall
        .keys()
        .chain(v3.precision.keys())
        .cloned()
        .collect();
    names.extend(v1.precision.keys().cloned());
    names.sort();
    names.dedup();
    for n in &names {
        println!(
            "{n:<14} {:<17} {:<17} {:<17} {:<17}",
            fmt(v3.precision.get(n)),
            fmt(v3.recall.get(n)),
            fmt(v1.precision.get(n)),
            fmt(v1.recall.get(n)),
        );
    }
    println!(
        "{:<14} {:<17} {:<17} {:<17} {:<17}",
        "all",
        fmt(Some(&v3.all_p)),
        fmt(Some(&v3.all_r)),
        fmt(Some(&v1.all_p)),
        fmt(Some(&v1.all_r)),
    );
    println!();
    println!("v3 calibration (hit rate per confidence decile):");
    for (i, c) in v3.calibration.iter().enumerate() {
        if c.total > 0 {
            println!(
                "  [{:.1}, {:.1}): {}",
                i as f64 / 10.0,
                (i + 1) as f64 / 10.0,
                fmt(Some(c))
            );
        }
    }
    if args.require {
        let p3 = v3.all_p.rate().unwrap_or(0.0);
        let r3 = v3.all_r.rate().unwrap_or(0.0);
        let p1 = v1.all_p.rate().unwrap_or(0.0);
        let r1 = v1.all_r.rate().unwrap_or(0.0);
        if p3 < 0.90 || r3 < 0.85 || p3 <= p1 || r3 <= r1 {
            bail!("targets missed: v3 precision {p3:.3}, recall {r3:.3}; v1 {p1:.3}, {r1:.3}");
        }
        println!("targets met: v3 precision {p3:.3} ≥ 0.90, recall {r3:.3} ≥ 0.85, both above v1");
    }
    Ok(())
}
