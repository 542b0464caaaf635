//! Outcomes a quant can check: runs the simulator with *known* information in its planted
//! flows, runs the engine (v3 and v1) on the sessions, labels every signal with the
//! underlying's mid-to-mid return at fixed horizons (signed by the signal's view), and
//! prints the statistics table per variant, horizon, pattern and confidence decile.
//!
//! ```text
//! cargo run -p ifd-examples --example outcomes -- --days 5 --ps 0.5,0.6,0.75
//! cargo run -p ifd-examples --example outcomes -- --days 5 --ps 0.75 --mu-bp 30 --brief
//! ```
//!
//! For each `p`, each planted flow is informed with probability `p`, and after an informed
//! flow the underlying drifts by `--mu-bp` in the flow's direction over
//! `--info-minutes` (see `ifd_sim::Information`). The planted flows' own directions,
//! labelled at their truth start times from the future's reconstructed mid, should hit
//! at about `p·Φ(μ/σ) + (1 − p)/2` (σ: the model's diffusion over the window); the line
//! `planted flows` prints both. Then the detectors' signals are labelled the same way
//! and an A/B test fed by the labels says whether v3 is significantly ahead of v1 at
//! `--decide-minutes`.

use std::collections::BTreeMap;

use anyhow::Context;
use clap::Parser;
use dbn::{MboMsg, RecordRef};
use ifd_engine::Engine;
use ifd_patterns::{ContractKind, DetectorVersion, Direction as FlowDirection, FlowSide, Signal};
use ifd_rollout::{
    label_signals, outcome_table, wilson_interval, AbTest, Direction, DirectionalSignal,
    EvalConfig, Grouping, Horizon, LabelInputs, MidSeries, OptionTrade, QuoteSeries,
    SequentialConfig, SessionWindow, Variant, NANOS_PER_MINUTE,
};
use ifd_sim::{information_path, Information, Preset, SimConfig, Simulator, TruthDirection};
use rust_decimal::prelude::ToPrimitive;
use statrs::distribution::{ContinuousCDF, Normal};

/// Simulated sessions with planted information through the engine and the labels.
#[derive(Parser, Debug)]
struct Args {
    /// Sessions per value of p.
    #[arg(long, default_value_t = 5)]
    days: u32,
    /// Simulator seed.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Simulator preset (quiet, normal, busy, large).
    #[arg(long, default_value = "normal")]
    preset: Preset,
    /// Probabilities that a planted flow is informed.
    #[arg(long, value_delimiter = ',', default_value = "0.5,0.6,0.75")]
    ps: Vec<f64>,
    /// Drift of an informed flow, bp of the underlying.
    #[arg(long, default_value_t = 20.0)]
    mu_bp: f64,
    /// Minutes over which the drift builds up (it starts at the flow and then stays).
    #[arg(long, default_value_t = 30)]
    info_minutes: u64,
    /// Planted flows of each kind per session.
    #[arg(long, default_value_t = 6)]
    flows_per_kind: u32,
    /// History days for the engine's baseline (0: none).
    #[arg(long, default_value_t = 0)]
    history_days: u32,
    /// Horizon (minutes) the A/B decision reads.
    #[arg(long, default_value_t = 30)]
    decide_minutes: u64,
    /// Round-trip cost in the underlying, bp.
    #[arg(long, default_value_t = 1.0)]
    cost_bp: f64,
    /// Shuffles of the timestamp baseline.
    #[arg(long, default_value_t = 100)]
    shuffles: u32,
    /// Print only the rows over all labels (no pattern or decile rows).
    #[arg(long)]
    brief: bool,
}

/// Everything one value of p produced.
#[derive(Default)]
struct Collected {
    mids: MidSeries,
    quotes: BTreeMap<u32, QuoteSeries>,
    sessions: Vec<SessionWindow>,
    signals: Vec<DirectionalSignal>,
    planted: Vec<DirectionalSignal>,
    /// Σ over planted flows of p·Φ(μ/σ) + (1−p)/2.
    planted_expected: f64,
    informed: u64,
    skipped_no_quote: u64,
}

/// The signal's view of the underlying; `None` for a neutral (package) signal, which
/// takes no view and gets no label.
fn view_of(d: FlowDirection) -> Option<Direction> {
    match d {
        FlowDirection::Bullish => Some(Direction::Up),
        FlowDirection::Bearish => Some(Direction::Down),
        FlowDirection::Neutral => None,
    }
}

/// Black-76 delta at the simulator's volatility (the smile is ignored: an example).
fn delta(s: &Signal, forward: f64, vol: f64, ts: u64) -> Option<f64> {
    let strike = s.strike.to_f64()?;
    let expiry_ns = s
        .expiration
        .and_hms_opt(20, 0, 0)?
        .and_utc()
        .timestamp_nanos_opt()?;
    let years = ((expiry_ns as f64 - ts as f64) / 1e9 / (365.25 * 86_400.0)).max(1e-6);
    let d1 = ((forward / strike).ln() + 0.5 * vol * vol * years) / (vol * years.sqrt());
    let n = Normal::standard().cdf(d1);
    Some(match s.kind {
        ContractKind::Call => n,
        ContractKind::Put => n - 1.0,
    })
}

fn run_p(args: &Args, p: f64) -> anyhow::Result<Collected> {
    let mut cfg = SimConfig::preset(args.preset, args.seed);
    cfg.flows = ifd_sim::FlowConfig::each(args.flows_per_kind);
    cfg.history_days = args.history_days;
    let window = args.info_minutes * NANOS_PER_MINUTE;
    cfg.information = Some(Information {
        p,
        mu_bp: args.mu_bp,
        onset_ns: 0,
        horizon_ns: window,
        decay_ns: None,
    });
    let sim = Simulator::new(cfg.clone());
    let mut builder = Engine::builder();
    if args.history_days > 0 {
        let mut b = ifd_baseline::BaselineBuilder::new(ifd_baseline::BuilderConfig::default())?;
        for i in 0..args.history_days {
            b.on_dbn_bytes(&ifd_sim::to_dbn_bytes(&sim.history_day(i), false)?)?;
        }
        builder = builder.baseline(b.finish()?);
    }
    let mut engine = builder.build().context("building the engine")?;
    let phi = Normal::standard();
    let mut c = Collected::default();
    for d in 0..args.days {
        let day = sim.session(args.history_days + d, true);
        c.sessions.push(SessionWindow {
            start: day.session_start,
            end: day.session_end,
        });
        let model = information_path(&cfg, args.history_days + d, &[]);
        for t in &day.truth {
            let sigma = model.diffusion_sd_bp(&cfg, t.ts_start, window);
            c.planted_expected += p * phi.cdf(args.mu_bp / sigma) + (1.0 - p) / 2.0;
            c.informed += u64::from(t.informed == Some(true));
            c.planted.push(DirectionalSignal {
                signal_id: t.flow_id + 1_000_000 * u64::from(d),
                variant: Variant::V3,
                pattern: t.kind.as_str().to_owned(),
                confidence: 1.0,
                fired_at: t.ts_start,
                view: match t.direction {
                    TruthDirection::Bullish => Direction::Up,
                    TruthDirection::Bearish => Direction::Down,
                },
                option: None,
            });
        }
        let mut out: Vec<Signal> = Vec::new();
        for rec in day.records() {
            // A malformed record is counted in EngineStats::malformed; the day goes on.
            let _ = engine.on_record(&rec, &mut out);
            if let Some(m) = mbo_of(&rec) {
                if m.flags.is_last() {
                    let id = m.hd.instrument_id;
                    if let Some(b) = engine.books().book(id) {
                        let bbo = b.bbo();
                        if day.is_future(id) {
                            if let Some(mid) = bbo.mid() {
                                c.mids.push(m.ts_recv, mid);
                            }
                        } else if let (Some(bid), Some(ask)) = (bbo.bid, bbo.ask) {
                            c.quotes
                                .entry(id)
                                .or_default()
                                .push(m.ts_recv, bid.price, ask.price);
                        }
                    }
                }
            }
            for s in out.drain(..) {
                on_signal(&engine, &cfg, &mut c, &s);
            }
        }
        engine.on_session_end(&mut out);
        for s in out.drain(..) {
            on_signal(&engine, &cfg, &mut c, &s);
        }
        c.mids.set_covered_until(day.session_end);
    }
    Ok(c)
}

fn on_signal(engine: &Engine, cfg: &SimConfig, c: &mut Collected, s: &Signal) {
    let Some(view) = view_of(s.direction) else {
        return;
    };
    if s.revision != 0 {
        return;
    }
    let variant = match s.detector {
        DetectorVersion::V1 => Variant::V1,
        DetectorVersion::V3 => Variant::V3,
    };
    let option = match engine.entry_quote(s) {
        Some(q) => {
            let forward = q.underlying.map(|u| u.price as f64 / 1e9);
            forward
                .and_then(|f| delta(s, f, cfg.annual_vol, s.ts_recv))
                .map(|d| OptionTrade {
                    instrument: s.instrument_id,
                    side: match s.side {
                        FlowSide::Buy => Direction::Up,
                        FlowSide::Sell => Direction::Down,
                    },
                    delta: d,
                    multiplier: q.multiplier,
                })
        }
        None => {
            c.skipped_no_quote += 1;
            None
        }
    };
    c.signals.push(DirectionalSignal {
        // v1 and v3 number their signals independently.
        signal_id: s.signal_id.wrapping_mul(2) + u64::from(variant == Variant::V3),
        variant,
        pattern: format!("{:?}", s.pattern),
        confidence: s.confidence,
        fired_at: s.ts_recv,
        view,
        option,
    });
}

fn main() -> anyhow::Result<()> {
    ifd_examples::exit_quietly_on_closed_pipe();
    let args = Args::parse();
    let decide = Horizon::Fixed(args.decide_minutes * NANOS_PER_MINUTE);
    let mut horizons = Horizon::standard();
    if !horizons.contains(&decide) {
        horizons.push(decide);
    }
    let eval = EvalConfig {
        cost_bp: args.cost_bp,
        shuffles: args.shuffles,
        seed: args.seed,
        ..EvalConfig::default()
    };
    println!(
        "outcomes: preset {:?}, seed {}, {} days per p, {} flows of each kind per day, mu {} bp over {} min",
        args.preset, args.seed, args.days, args.flows_per_kind, args.mu_bp, args.info_minutes
    );
    for &p in &args.ps {
        let c = run_p(&args, p)?;
        let options = c.quotes;
        let inputs = LabelInputs {
            underlying: &c.mids,
            options: &options,
            sessions: &c.sessions,
        };
        // The planted flows' own directions at the information window.
        let info = Horizon::Fixed(args.info_minutes * NANOS_PER_MINUTE);
        let (planted, _) = label_signals(&inputs, &c.planted, &[info]);
        let n = planted.len() as u64;
        let hits = planted.iter().filter(|l| l.hit).count() as u64;
        let (lo, hi) = wilson_interval(hits, n, 0.95).unwrap_or((0.0, 1.0));
        let expected = c.planted_expected / c.planted.len().max(1) as f64;
        println!();
        println!("=== p = {p} ===");
        println!(
            "planted flows: {} ({} informed), hit rate at {} {:.3} [95% {:.3}, {:.3}], planted p*Phi(mu/sigma)+(1-p)/2 = {:.3} -> {}",
            c.planted.len(),
            c.informed,
            info.name(),
            hits as f64 / n.max(1) as f64,
            lo,
            hi,
            expected,
            if lo <= expected && expected <= hi { "inside the CI" } else { "OUTSIDE the CI" }
        );
        let (labels, stats) = label_signals(&inputs, &c.signals, &horizons);
        println!(
            "signals: v3 {}, v1 {}; labels {}; not labelled: {:?}; without a quote: {}",
            c.signals
                .iter()
                .filter(|s| s.variant == Variant::V3)
                .count(),
            c.signals
                .iter()
                .filter(|s| s.variant == Variant::V1)
                .count(),
            labels.len(),
            stats,
            c.skipped_no_quote
        );
        let table = outcome_table(&labels, &eval, Some(&inputs));
        if args.brief {
            let mut brief = table.clone();
            brief.rows.retain(|r| r.grouping == Grouping::All);
            print!("{brief}");
        } else {
            print!("{table}");
        }
        if let Some(b) = table.best(|s| Some(s.hit_rate)) {
            println!(
                "best hit rate: {:.3} ({} {} {}), chosen among {} rows: read it with that in mind",
                b.value,
                b.row.variant,
                b.row.horizon.name(),
                b.row.grouping,
                b.variants_tried
            );
        }
        let mut ab = AbTest::for_labels(decide, SequentialConfig::default())?;
        for l in &labels {
            ab.observe_label(l);
        }
        let r = ab.report();
        println!(
            "A/B at {} (mixture SPRT, alpha 0.05): hit rate v3 {} v1 {} -> {:?} (p {:.4}); signed return bp v3 {} v1 {} -> {:?} (p {:.4})",
            decide.name(),
            r.accuracy.mean_v3.map_or("-".into(), |x| format!("{x:.3}")),
            r.accuracy.mean_v1.map_or("-".into(), |x| format!("{x:.3}")),
            r.accuracy.decision,
            r.accuracy.p_value,
            r.pnl.mean_v3.map_or("-".into(), |x| format!("{x:.2}")),
            r.pnl.mean_v1.map_or("-".into(), |x| format!("{x:.2}")),
            r.pnl.decision,
            r.pnl.p_value,
        );
    }
    Ok(())
}

/// The record as MBO, when it is one (and long enough).
fn mbo_of<'a>(rec: &RecordRef<'a>) -> Option<&'a MboMsg> {
    if rec.header().rtype == dbn::rtype::MBO {
        rec.try_get::<MboMsg>().ok()
    } else {
        None
    }
}
