//! The main job: replay MBO sessions through the ifd v3.0 engine.
//!
//! With no arguments it runs the embedded demo: it simulates 20 history days and one
//! session with planted institutional flow, builds the 20-day baseline, replays the
//! session (written as real DBN and read back through the file source) through the
//! engine, prints a summary with precision and recall against the planted truth for v3
//! and v1, and writes `signals.jsonl` and `heatmap.png` under `target/ifd-demo/`.
//!
//! With files:
//! `replay [--history PATH]... [--baseline PATH] [--signals PATH] [--definitions FILE] FILE...`
//! where `--history` names DBN files or folders of them (one file per session day, in
//! name order) used to build the baseline, `--baseline` loads a saved baseline, and each
//! FILE is a session to analyse. The history days are learned in parallel (`--threads`,
//! all cores by default); the baseline is the same for any number of threads.
//!
//! With both `--baseline PATH` and `--history`, an existing PATH is extended by the
//! history days it does not hold yet (the daily update: the oldest days beyond the 20
//! kept drop out; the result equals a rebuild over the same last days) and written back
//! atomically; a missing PATH (or `--rebuild`) is built from the history alone and saved.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Parser;
use dbn::RecordRef;
use ifd_baseline::{Baseline, BaselineBuilder, BuilderConfig, SessionsError};
use ifd_engine::eval::{evaluate, Evaluation, KnownFlow};
use ifd_engine::{Engine, EngineStats};
use ifd_examples::heatmap::{Heatmap, UnderlyingSampler};
use ifd_examples::truth::known_flows;
use ifd_mbo_client::file::FileSource;
use ifd_mbo_client::persist::write_atomic;
use ifd_mbo_client::pipeline::DEFAULT_PIPELINE_BATCH;
use ifd_mbo_client::FileStats;
use ifd_patterns::{DetectorConfig, DetectorVersion, Pattern, Signal};
use ifd_pressure::GroupKey;
use ifd_sim::{self as sim, Preset, SimConfig, Simulator};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

#[derive(Parser, Debug)]
#[command(about = "Replay MBO sessions through the ifd v3.0 engine")]
struct Args {
    /// DBN history files or folders of them (one file per session day, in name order).
    #[arg(long = "history", value_name = "PATH")]
    history: Vec<PathBuf>,
    /// A saved baseline: loaded when no --history is given; with --history, extended by
    /// the history days it lacks (or built, when missing) and written back.
    #[arg(long, value_name = "PATH")]
    baseline: Option<PathBuf>,
    /// With --history and --baseline: build from the history alone, replacing the saved
    /// baseline instead of extending it.
    #[arg(long)]
    rebuild: bool,
    /// Threads learning the history days (0: one per core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// When a session file is decompressed and decoded on a thread of its own, beside
    /// the engine's.
    #[arg(long, value_enum, default_value = "auto")]
    pipeline: Pipeline,
    /// Records per batch handed from the reading thread to the engine's.
    #[arg(long, default_value_t = DEFAULT_PIPELINE_BATCH)]
    pipeline_batch: usize,
    /// Where to write the signals (JSONL); default `target/ifd-demo/signals.jsonl`.
    #[arg(long, value_name = "PATH")]
    signals: Option<PathBuf>,
    /// A DBN file of instrument definitions to read before the sessions.
    #[arg(long, value_name = "FILE")]
    definitions: Option<PathBuf>,
    /// Simulator preset of the demo (quiet, normal, busy).
    #[arg(long, default_value = "normal")]
    preset: Preset,
    /// Simulator seed of the demo.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// History days of the demo.
    #[arg(long, default_value_t = 20)]
    history_days: u32,
    /// Folder of the demo's outputs.
    #[arg(long, default_value = "target/ifd-demo")]
    out_dir: PathBuf,
    /// Demo: give the engine and the baseline the future's records too (as with an
    /// extra `NQ.FUT` subscription); by default the demo runs on the options feed alone,
    /// as a parent `NQ.OPT` subscription delivers it.
    #[arg(long)]
    with_future: bool,
    /// Exit with an error unless a baseline that can score (at least `min_days`
    /// trading days) was built or loaded.
    #[arg(long)]
    require_baseline: bool,
    /// Judge every session by the configured thresholds alone, however much busier
    /// than its history it is (turns off the session activity factor,
    /// `DetectorConfig::regime`).
    #[arg(long)]
    no_regime: bool,
    /// Sessions to analyse (DBN or DBN.zst); none runs the demo.
    files: Vec<PathBuf>,
}

fn main() -> Result<()> {
    ifd_examples::exit_quietly_on_closed_pipe();
    // A closed stdout (`| head`) ends the output early; it is not a failure.
    ifd_examples::ignore_closed_pipe(run())
}

fn run() -> Result<()> {
    let args = Args::parse();
    std::fs::create_dir_all(&args.out_dir)
        .with_context(|| format!("cannot create {}", args.out_dir.display()))?;
    if args.files.is_empty() {
        demo(&args)
    } else {
        replay_files(&args)
    }
}

/// The simulated feed the demo replays.
fn demo_feed(args: &Args) -> sim::Feed {
    if args.with_future {
        sim::Feed::Combined
    } else {
        sim::Feed::Options
    }
}

/// The detectors' settings from the command line (the demo and the file paths alike).
fn detector_config(args: &Args) -> DetectorConfig {
    let mut detector = DetectorConfig::default();
    detector.regime.enabled = !args.no_regime;
    detector
}

fn progress(len: u64, what: &str) -> ProgressBar {
    let pb = ProgressBar::new(len);
    if std::io::stdout().is_terminal() {
        pb.set_style(
            ProgressStyle::with_template("{msg:>12} [{bar:40}] {pos}/{len} ({eta})")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
    } else {
        pb.set_draw_target(ProgressDrawTarget::hidden());
    }
    pb.set_message(what.to_owned());
    pb
}

#[allow(
    clippy::disallowed_methods,
    reason = "an example measures its own wall time"
)]
fn now() -> Instant {
    Instant::now()
}

/// What a replay produced.
struct Replay {
    signals: Vec<Signal>,
    stats: EngineStats,
    records: u64,
    seconds: f64,
    heat: BTreeMap<(i64, u64), f64>,
    underlying: UnderlyingSampler,
    engine: Engine,
}

const HEAT_BIN_NS: u64 = 300_000_000_000;

fn drain_heat(engine: &mut Engine, heat: &mut BTreeMap<(i64, u64), f64>) {
    let windows: Vec<_> = engine.drain_pressure_windows().collect();
    for w in windows {
        if let GroupKey::Instrument(id) = w.key {
            if let Some(c) = engine.chain().get(id) {
                let net = w.metrics.net_premium();
                let net = f64::try_from(net).unwrap_or(0.0);
                *heat
                    .entry((c.strike, w.start_ns / HEAT_BIN_NS))
                    .or_default() += net;
            }
        }
    }
}

/// When the replay reads a file on a thread of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Pipeline {
    /// Compressed files only (zstd decompression costs about as much as the engine).
    Auto,
    /// Every file.
    Always,
    /// No file: decoding and the engine share one thread.
    Never,
}

fn replay_source<R: std::io::Read + Send>(
    mut engine: Engine,
    sources: Vec<FileSource<R>>,
    (pipeline, batch_len): (Pipeline, usize),
    pb: &ProgressBar,
) -> Result<Replay> {
    let mut signals = Vec::new();
    let mut heat = BTreeMap::new();
    let mut underlying = UnderlyingSampler::new(60_000_000_000);
    let mut records = 0u64;
    let start = now();
    for mut src in sources {
        let mut on_record = |rec: &RecordRef<'_>, stats: &FileStats| {
            records += 1;
            if let Err(e) = engine.on_record(rec, &mut signals) {
                eprintln!("skipped a record: {e}");
            }
            underlying.sample(&engine);
            if records % 65_536 == 0 {
                pb.set_position(stats.input_bytes());
                drain_heat(&mut engine, &mut heat);
            }
        };
        let pipelined = match pipeline {
            Pipeline::Auto => src.compression() != dbn::Compression::None,
            Pipeline::Always => true,
            Pipeline::Never => false,
        };
        // Batches of checked frames are the fast way through a whole file; the records
        // and errors are those of `next_record`. Pipelined, a second thread decompresses
        // and decodes the next batches meanwhile.
        let read = if pipelined {
            src.for_each_batch_pipelined(batch_len, |batch, stats| {
                for rec in batch {
                    on_record(&rec.as_rec_ref(), stats);
                }
            })
        } else {
            src.for_each_batch(|batch, stats| {
                for rec in batch {
                    on_record(rec, stats);
                }
            })
        };
        pb.set_position(src.stats().input_bytes());
        if let Err(e) = read {
            pb.finish_and_clear();
            return Err(e).context("reading the session");
        }
    }
    engine.on_session_end(&mut signals);
    drain_heat(&mut engine, &mut heat);
    let seconds = start.elapsed().as_secs_f64();
    pb.finish_and_clear();
    Ok(Replay {
        signals,
        stats: engine.stats(),
        records,
        seconds,
        heat,
        underlying,
        engine,
    })
}

fn demo(args: &Args) -> Result<()> {
    let mut cfg = SimConfig::preset(args.preset, args.seed);
    cfg.history_days = args.history_days;
    let sim = Simulator::new(cfg);
    println!(
        "ifd v3.0 demo: simulating {} history days and one session with planted flow (preset {:?}, seed {})",
        args.history_days, args.preset, args.seed
    );
    let t0 = now();
    let mut builder = BaselineBuilder::new(BuilderConfig::default())?;
    let pb = progress(u64::from(args.history_days), "history");
    // Each day is simulated and learned by one worker, its records streamed through
    // the builder as they are generated (no day is held as DBN bytes).
    let feed = demo_feed(args);
    builder
        .learn_sessions(args.history_days as usize, args.threads, |i, learner| {
            let day = sim.history_day(u32::try_from(i).unwrap_or(u32::MAX));
            for rec in day.feed_records(feed) {
                learner.on_record(&rec);
            }
            pb.inc(1);
            Ok::<(), std::convert::Infallible>(())
        })
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    pb.finish_and_clear();
    let history_records = builder.stats().records;
    let adapter = builder.adapter_stats();
    let baseline = builder.finish()?;
    let baseline_path = args.out_dir.join("baseline.ifdb");
    write_atomic(&baseline_path, &baseline.to_bytes())?;
    let learned_s = t0.elapsed().as_secs_f64();

    // The session is simulated and written to its file before the baseline's models
    // are fitted, and only its truth is kept: the simulated day and the models are
    // never in memory at once, and the replay streams the file back.
    let mut day = sim.flow_day();
    let session_path = args.out_dir.join("session.dbn");
    let temp = args.out_dir.join(".session.dbn.tmp");
    sim::write_feed_dbn(&day, demo_feed(args), &temp)?;
    std::fs::rename(&temp, &session_path).with_context(|| {
        format!(
            "cannot rename {} to {}",
            temp.display(),
            session_path.display()
        )
    })?;
    let truth = std::mem::take(&mut day.truth);
    drop(day);
    sim::write_truth_jsonl(&truth, args.out_dir.join("truth.jsonl"))?;
    baseline.fit_models(args.threads);

    println!(
        "baseline: {} trading days, {} series, from {history_records} records in {learned_s:.1} s -> {}",
        baseline.days(),
        baseline.series_count(),
        baseline_path.display()
    );
    println!(
        "  windows learned {}, dropped {} (no underlying price {}, no option contract {})",
        adapter.windows,
        adapter.dropped(),
        adapter.no_underlying_price,
        adapter.no_contract
    );
    let engine = Engine::builder()
        .baseline(baseline)
        .monotonic_clock()
        .detector_config(detector_config(args))
        .build()?;
    let session = FileSource::open(&session_path)?;
    let size = std::fs::metadata(&session_path).map_or(0, |m| m.len());
    let pb = progress(size, "session");
    let replay = replay_source(
        engine,
        vec![session],
        (args.pipeline, args.pipeline_batch),
        &pb,
    )?;
    let flows: Vec<KnownFlow> = known_flows(&truth);
    report(args, &replay, Some(&flows), true)
}

fn dbn_files(path: &Path) -> Result<Vec<PathBuf>> {
    if path.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .with_context(|| format!("cannot list {}", path.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                name.ends_with(".dbn") || name.ends_with(".dbn.zst")
            })
            .collect();
        files.sort();
        if files.is_empty() {
            bail!("no .dbn or .dbn.zst files in {}", path.display());
        }
        Ok(files)
    } else if path.is_file() {
        Ok(vec![path.to_path_buf()])
    } else {
        bail!("{} is neither a file nor a folder", path.display())
    }
}

fn replay_files(args: &Args) -> Result<()> {
    let mut baseline: Option<Baseline> = None;
    if !args.history.is_empty() {
        let saved = match &args.baseline {
            Some(path) if !args.rebuild && path.exists() => Some(load_baseline(path)?),
            _ => None,
        };
        let extending = saved.as_ref().map(|b| (b.days(), b.trading_days().last()));
        let mut builder = match saved {
            Some(b) => BaselineBuilder::extend(b, BuilderConfig::default())?,
            None => BaselineBuilder::new(BuilderConfig::default())?,
        };
        let mut files = Vec::new();
        for p in &args.history {
            files.extend(dbn_files(p)?);
        }
        let pb = progress(files.len() as u64, "history");
        if let Some(defs) = &args.definitions {
            feed_builder(&mut builder, defs)?;
        }
        let t0 = now();
        builder
            .learn_sessions(files.len(), args.threads, |i, learner| {
                let mut src = FileSource::open(&files[i])?;
                src.for_each_batch(|batch, _| {
                    for rec in batch {
                        learner.on_record(rec);
                    }
                })?;
                pb.inc(1);
                Ok::<(), ifd_mbo_client::Error>(())
            })
            .map_err(|e| match e {
                SessionsError::Source { index, source } => anyhow::Error::new(source)
                    .context(format!("reading {}", files[index].display())),
                other => other.into(),
            })?;
        pb.finish_and_clear();
        let stats = builder.stats();
        let adapter = builder.adapter_stats();
        let b = builder.finish()?;
        println!(
            "history: {} files, {} records learned in {:.2} s",
            files.len(),
            stats.records,
            t0.elapsed().as_secs_f64()
        );
        // The models are fitted on the same threads as the history (the same models
        // for any number); otherwise the first lookup would fit them on one.
        b.fit_models(args.threads);
        if let Some((held, last)) = extending {
            println!(
                "baseline: extended the saved {held} days (last {}) by the history: {} days                  now, last {}; {} observations of days already held skipped",
                last.map_or_else(|| "none".to_owned(), |d| d.date().to_string()),
                b.days(),
                b.trading_days()
                    .last()
                    .map_or_else(|| "none".to_owned(), |d| d.date().to_string()),
                stats.late_observations
            );
        } else if usize::from(b.days()) < files.len() {
            println!(
                "baseline: history gave {} trading days from {} files ({} records, {} MBO, {} \
                 definitions; {} observations kept, {} windows dropped)",
                b.days(),
                files.len(),
                stats.records,
                stats.mbo,
                stats.definitions,
                adapter.observations,
                adapter.dropped()
            );
        }
        if let Some(path) = &args.baseline {
            write_atomic(path, &b.to_bytes())?;
            println!("baseline saved to {}", path.display());
        }
        baseline = describe_baseline(b, &format!("from {} history files", files.len()));
        {
            println!(
                "  windows learned {}, dropped {} (no underlying price {}, no option contract {}, \
                 no strike step {}, not an instrument window {}, bad time {}); values rejected {}",
                adapter.windows,
                adapter.dropped(),
                adapter.no_underlying_price,
                adapter.no_contract,
                adapter.no_strike_step,
                adapter.not_instrument,
                adapter.bad_time,
                adapter.rejected_values
            );
        }
    } else if let Some(path) = &args.baseline {
        let b = load_baseline(path)?;
        baseline = describe_baseline(b, &format!("loaded from {}", path.display()));
    }
    let mut builder = Engine::builder()
        .monotonic_clock()
        .detector_config(detector_config(args));
    let has_baseline = baseline.is_some();
    if args.require_baseline && !has_baseline {
        bail!("--require-baseline: no baseline that can score (see above)");
    }
    if let Some(b) = baseline {
        builder = builder.baseline(b);
    } else {
        println!(
            "no history and no baseline: running book, pressure and the detectors that need no \
             baseline (absolute thresholds, no p-/q-values)"
        );
    }
    let engine = builder.build()?;
    let mut paths = Vec::new();
    if let Some(d) = &args.definitions {
        paths.push(d.clone());
    }
    for f in &args.files {
        if !f.is_file() {
            bail!("{} is not a file", f.display());
        }
        paths.push(f.clone());
    }
    let mut sources = Vec::new();
    let mut total = 0u64;
    for p in &paths {
        total += std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        sources.push(FileSource::open(p).with_context(|| format!("cannot open {}", p.display()))?);
    }
    let pb = progress(total, "replay");
    let replay = replay_source(engine, sources, (args.pipeline, args.pipeline_batch), &pb)?;
    report(args, &replay, None, has_baseline)
}

fn load_baseline(path: &Path) -> Result<Baseline> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    Baseline::from_bytes(&bytes)
        .with_context(|| format!("{} is not a usable baseline", path.display()))
}

fn feed_builder(builder: &mut BaselineBuilder, path: &Path) -> Result<()> {
    let mut src =
        FileSource::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    while let Some(rec) = src
        .next_record()
        .with_context(|| format!("reading {}", path.display()))?
    {
        builder.on_record(&rec)?;
    }
    // One file is one session: the next starts on a fresh book.
    builder.end_session()?;
    Ok(())
}

/// Prints what the history gave and whether the baseline can score; the baseline is
/// returned only when it can.
fn describe_baseline(b: Baseline, what: &str) -> Option<Baseline> {
    let min = b.config().min_days;
    println!(
        "baseline: {} trading days, {} series, {what}",
        b.days(),
        b.series_count()
    );
    if b.days() < min {
        println!(
            "baseline: UNUSABLE: {} trading days, fewer than the {min} a series needs to be \
             scored; running without it (absolute thresholds, no p-/q-values)",
            b.days()
        );
        None
    } else {
        Some(b)
    }
}

fn rate(c: &ifd_engine::eval::Counts) -> String {
    c.rate()
        .map_or_else(|| "   n/a".to_owned(), |r| format!("{r:6.3}"))
        + &format!(" ({}/{})", c.hits, c.total)
}

fn print_eval(name: &str, e: &Evaluation) {
    println!(
        "  {name}: {} signals, precision {}, recall {}",
        e.signals,
        rate(&e.precision),
        rate(&e.recall)
    );
    for (kind, c) in &e.recall_by_kind {
        let p = e
            .precision_by_pattern
            .get(kind)
            .copied()
            .unwrap_or_default();
        println!(
            "      {kind:<13} recall {}  precision {}",
            rate(c),
            rate(&p)
        );
    }
    for (pattern, c) in &e.precision_by_pattern {
        if !e.recall_by_kind.contains_key(pattern) {
            println!("      {pattern:<13} precision {}", rate(c));
        }
    }
}

fn report(args: &Args, r: &Replay, flows: Option<&[KnownFlow]>, has_baseline: bool) -> Result<()> {
    let s = &r.stats;
    println!();
    println!("== replay summary ==");
    println!(
        "records: {} in {:.2} s ({:.0} records/s); MBO {}, definitions {}, statistics {}",
        r.records,
        r.seconds,
        r.records as f64 / r.seconds.max(1e-9),
        s.mbo,
        s.definitions,
        s.statistics
    );
    println!(
        "baseline: {}",
        if has_baseline {
            "yes (p- and q-values on signals)"
        } else {
            "none"
        }
    );
    let mut per: BTreeMap<(DetectorVersion, Pattern), u64> = BTreeMap::new();
    for sig in r.signals.iter().filter(|s| s.revision == 0) {
        *per.entry((sig.detector, sig.pattern)).or_default() += 1;
    }
    println!(
        "signals (first emissions; {} lines with updates):",
        r.signals.len()
    );
    for ((d, p), n) in &per {
        let d = if *d == DetectorVersion::V3 {
            "v3"
        } else {
            "v1"
        };
        println!("  {d} {p:<13} {n}");
    }
    let mut factors: Vec<f64> = r
        .signals
        .iter()
        .filter_map(|s| s.evidence.activity_factor)
        .collect();
    factors.sort_by(f64::total_cmp);
    if let (Some(lo), Some(hi)) = (factors.first(), factors.last()) {
        println!(
            "session activity factor at the signals: {lo:.2} to {hi:.2} (median {:.2}; 1 = as busy as the history days)",
            factors[factors.len() / 2]
        );
    }
    if let Some(flows) = flows {
        println!("detection against the {} planted flows:", flows.len());
        print_eval(
            "v3",
            &evaluate(&r.signals, flows, DetectorVersion::V3, 5_000_000_000),
        );
        print_eval(
            "v1",
            &evaluate(&r.signals, flows, DetectorVersion::V1, 5_000_000_000),
        );
    }
    let lat = r.engine.latency();
    println!(
        "latency per record: p50 {} ns, p99 {} ns, p99.9 {} ns, max {} ns",
        lat.p50_ns, lat.p99_ns, lat.p999_ns, lat.max_ns
    );
    let b = r.engine.book_stats();
    println!(
        "skipped: malformed {}, bad action {}, unknown instrument {}, book: undef price {}, zero size {}, unknown side {}, unknown cancel {}, unknown modify {}, duplicate add {}; modifies of unseen orders added {}",
        s.malformed,
        s.bad_action,
        s.unknown_instrument,
        b.undef_price,
        b.zero_size,
        b.unknown_side,
        b.unknown_cancel,
        b.unknown_modify,
        b.dup_add,
        b.implicit_adds
    );

    let signals_path = args
        .signals
        .clone()
        .unwrap_or_else(|| args.out_dir.join("signals.jsonl"));
    let mut text = String::new();
    for sig in &r.signals {
        text.push_str(&sig.to_json_line()?);
        text.push('\n');
    }
    write_atomic(&signals_path, text.as_bytes())?;
    println!("signals written to {}", signals_path.display());

    if let (Some(first), Some(last)) = (
        r.heat.keys().map(|k| k.1).min(),
        r.heat.keys().map(|k| k.1).max(),
    ) {
        let mut map = Heatmap::new(first * HEAT_BIN_NS, (last + 1) * HEAT_BIN_NS, HEAT_BIN_NS);
        for ((strike, bin), v) in &r.heat {
            map.add(*strike, bin * HEAT_BIN_NS, *v);
        }
        map.underlying.clone_from(&r.underlying.samples);
        for sig in r.signals.iter().filter(|s| s.revision == 0) {
            map.mark_signal(sig);
        }
        let png = args.out_dir.join("heatmap.png");
        map.draw(
            &png,
            "NQ options: underlying and signals (top), signed aggressor premium by strike (bottom)",
        )?;
        println!("heatmap written to {}", png.display());
    }
    std::io::stdout().flush()?;
    Ok(())
}
