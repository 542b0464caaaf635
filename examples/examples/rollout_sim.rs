//! Runs several simulated sessions through the engine with both detectors (v1 and v3),
//! labels every signal's outcome from the simulated book, and drives the staged rollout
//! from the evidence: the sequential A/B tests, the engine's latency, and the error rate.
//!
//! ```text
//! cargo run --release -p ifd-examples --example rollout_sim -- --days 8
//! cargo run --release -p ifd-examples --example rollout_sim -- --days 8 --degrade latency
//! cargo run --release -p ifd-examples --example rollout_sim -- --days 8 --degrade errors
//! ```
//!
//! The simulated flows carry known information (`--information-p`, default 0.75, with a
//! `--mu-bp` drift over `--info-minutes`; see `ifd_sim::Information`). Outcomes here come
//! from the streaming `OutcomeLabeller` (the option trade's result at 15 minutes), and a
//! stage is promoted only when the A/B test finds v3 significantly better
//! (`Gate::SignificantEdge`). Measured (seed 7, normal preset): over 8 days v3 and v1
//! are level and the rollout holds Shadow; over 40 days v3 leads by 8.8 points of hit
//! rate, still inside the interval, and Shadow still holds. The `outcomes` example
//! labels the same kind of sessions with the fixed-horizon underlying labels, on which
//! the A/B test does find v3 ahead at p = 0.75 over 20 days.
//! The `--degrade` runs inject a degradation from `--degrade-from-day` on (150 ms added
//! to the measured p99 latency, or 2 % added to the error rate); past Shadow they show
//! the automatic rollback and the cool-down, in Shadow the breach is reported and the
//! stage holds.
//! Everything is simulated: the data cost is a flat `--cost-per-day`, uptime is 100 %.

use std::collections::BTreeMap;

use anyhow::Context;
use clap::{Parser, ValueEnum};
use dbn::{MboMsg, RecordRef};
use ifd_engine::Engine;
use ifd_patterns::{DetectorVersion, FlowSide, Signal};
use ifd_rollout::{
    AbTest, AdaptiveThreshold, AuditEvent, Direction, EngineHealth, MetricsBook, OutcomeConfig,
    OutcomeLabeller, Reason, Rollout, RolloutConfig, RolloutSnapshot, SequentialConfig,
    SignalEntry, Stage, StageGate, Targets, ThresholdConfig, UnderlyingEntry, Variant,
    NANOS_PER_HOUR, NANOS_PER_MINUTE,
};
use ifd_sim::{Information, Preset, SimConfig, Simulator};
use rust_decimal::Decimal;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Degrade {
    /// Add 150 ms to the measured p99 latency.
    Latency,
    /// Add 2 % to the measured error rate.
    Errors,
}

/// Simulated days through the engine and the staged rollout.
#[derive(Parser, Debug)]
struct Args {
    /// Simulated sessions to run.
    #[arg(long, default_value_t = 8)]
    days: u32,
    /// Simulator seed.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Simulator preset (quiet, normal, busy, large).
    #[arg(long, default_value = "normal")]
    preset: Preset,
    /// Inject a degradation.
    #[arg(long)]
    degrade: Option<Degrade>,
    /// First day (0-based) of the degradation.
    #[arg(long, default_value_t = 5)]
    degrade_from_day: u32,
    /// Flat simulated data cost per day, USD, charged to each variant.
    #[arg(long, default_value = "4.00")]
    cost_per_day: Decimal,
    /// Minutes between rollout evaluations.
    #[arg(long, default_value_t = 30)]
    every_minutes: u64,
    /// Probability that a planted flow is informed (moves the underlying its way).
    #[arg(long, default_value_t = 0.75)]
    information_p: f64,
    /// Drift of an informed flow, bp of the underlying.
    #[arg(long, default_value_t = 20.0)]
    mu_bp: f64,
    /// Minutes over which an informed flow's drift builds up.
    #[arg(long, default_value_t = 30)]
    info_minutes: u64,
}

const HORIZON: u64 = 15 * NANOS_PER_MINUTE;

/// Gates scaled to a simulation of a few days.
fn rollout_config() -> RolloutConfig {
    RolloutConfig {
        shadow_gate: StageGate {
            min_time_ns: 6 * NANOS_PER_HOUR,
            min_resolved: 12,
        },
        canary_gate: StageGate {
            min_time_ns: 12 * NANOS_PER_HOUR,
            min_resolved: 12,
        },
        limited_gate: StageGate {
            min_time_ns: 12 * NANOS_PER_HOUR,
            min_resolved: 12,
        },
        ..RolloutConfig::default()
    }
}

struct Run {
    args: Args,
    engine: Engine,
    labeller: OutcomeLabeller,
    book: MetricsBook,
    ab: AbTest,
    thresholds: BTreeMap<Variant, AdaptiveThreshold>,
    rollout: Rollout,
    skipped_no_quote: u64,
    day: u32,
    /// The caller's audit log (the rollout's own log does not survive a reload).
    log: Vec<AuditEvent>,
}

fn variant_of(s: &Signal) -> Variant {
    match s.detector {
        DetectorVersion::V1 => Variant::V1,
        DetectorVersion::V3 => Variant::V3,
    }
}

impl Run {
    fn degraded(&self, d: Degrade) -> bool {
        self.args.degrade == Some(d) && self.day >= self.args.degrade_from_day
    }

    fn on_signal(&mut self, s: &Signal) {
        if s.revision != 0 {
            return;
        }
        let variant = variant_of(s);
        // The engine knows the contract, its quote and the underlying; a signal it
        // cannot quote is counted, never entered with a guessed multiplier.
        let Some(q) = self.engine.entry_quote(s) else {
            self.skipped_no_quote += 1;
            return;
        };
        let direction = match s.side {
            FlowSide::Buy => Direction::Up,
            FlowSide::Sell => Direction::Down,
        };
        let underlying = q.underlying.map(|u| UnderlyingEntry {
            instrument: q.underlying_id,
            mid: u.price,
        });
        let entry = SignalEntry {
            // v1 and v3 number their flows independently.
            signal_id: s.signal_id.wrapping_mul(2) + u64::from(variant == Variant::V3),
            variant,
            pattern: format!("{:?}", s.pattern),
            direction,
            confidence: s.confidence,
            fired_at: s.ts_recv,
            instrument: s.instrument_id,
            entry_bid: q.bid,
            entry_ask: q.ask,
            multiplier: q.multiplier,
            underlying,
        };
        if self.labeller.register(entry).is_ok() {
            self.book
                .record_signal(variant, &format!("{:?}", s.pattern));
        }
    }

    fn on_outcomes(&mut self, outcomes: Vec<ifd_rollout::Outcome>) {
        for o in outcomes {
            self.book.record_outcome(&o);
            self.ab.observe(&o);
            if o.horizon_ns == HORIZON {
                if let Some(t) = self.thresholds.get_mut(&o.variant) {
                    t.observe(Some(o.confidence), Some(o.label));
                }
            }
        }
    }

    fn snapshot(&self) -> RolloutSnapshot {
        let lat = self.engine.latency();
        #[allow(clippy::cast_precision_loss, reason = "latency in ns, far below 2^53")]
        let mut p99_ms = lat.p99_ns as f64 / 1e6;
        if self.degraded(Degrade::Latency) {
            p99_ms += 150.0;
        }
        let st = self.engine.stats();
        #[allow(clippy::cast_precision_loss, reason = "record counts, far below 2^53")]
        let mut error_rate = if st.records == 0 {
            0.0
        } else {
            st.malformed as f64 / st.records as f64
        };
        if self.degraded(Degrade::Errors) {
            error_rate += 0.02;
        }
        self.ab.snapshot(p99_ms, 1.0, error_rate)
    }

    fn checkpoint(&mut self, now: u64) {
        let snap = self.snapshot();
        let health = EngineHealth {
            latency_p99_ms: snap.latency_p99_ms,
            uptime: snap.uptime,
            error_rate: snap.error_rate,
        };
        for v in Variant::ALL {
            self.book.set_health(v, health);
        }
        for ev in self.rollout.on_snapshot(now, &snap) {
            print_event(&ev);
            self.log.push(ev);
        }
        let v3 = self.rollout.stage() != Stage::RolledBack;
        for (variant, t) in &mut self.thresholds {
            if let Some(ch) = t.evaluate(now) {
                println!(
                    "  {} threshold {variant}: {:.3} -> {:.3} ({:?}, precision {:.3} over {}){}",
                    clock(now),
                    ch.from,
                    ch.to,
                    ch.reason,
                    ch.precision,
                    ch.samples,
                    if *variant == Variant::V3 {
                        ", applied to the engine"
                    } else {
                        ", recorded only"
                    }
                );
                if *variant == Variant::V3 && v3 {
                    self.engine.set_min_confidence(ch.to);
                }
            }
        }
    }
}

/// `ns` as a UTC time of day (the day is in the enclosing `day N` line).
fn clock(ns: u64) -> String {
    let secs = ns / 1_000_000_000;
    format!("[{:02}:{:02} UTC]", secs / 3_600 % 24, secs / 60 % 60)
}

fn print_event(ev: &AuditEvent) {
    let what = match &ev.reason {
        Reason::Promoted => "PROMOTED".to_owned(),
        Reason::Rollback(t) => format!("ROLLBACK {t:?}"),
        other => format!("{other:?}"),
    };
    print!("  {} {:?} -> {:?}: {what}", clock(ev.at), ev.from, ev.to);
    if let Some(s) = &ev.snapshot {
        let acc = s.accuracy.as_ref();
        print!(
            " | resolved v1 {} v3 {} | acc v1 {} v3 {} ({}, p {:.3}) | p99 {:.3} ms | errors {:.4}",
            s.resolved_v1,
            s.resolved_v3,
            acc.and_then(|a| a.mean_v1)
                .map_or("-".into(), |x| format!("{x:.3}")),
            acc.and_then(|a| a.mean_v3)
                .map_or("-".into(), |x| format!("{x:.3}")),
            acc.map_or("no test".into(), |a| format!("{:?}", a.decision)),
            acc.map_or(1.0, |a| a.p_value),
            s.latency_p99_ms,
            s.error_rate
        );
    }
    println!();
}

fn main() -> anyhow::Result<()> {
    ifd_examples::exit_quietly_on_closed_pipe();
    let args = Args::parse();
    let mut cfg = SimConfig::preset(args.preset, args.seed);
    cfg.information = Some(Information {
        p: args.information_p,
        mu_bp: args.mu_bp,
        onset_ns: 0,
        horizon_ns: args.info_minutes * NANOS_PER_MINUTE,
        decay_ns: None,
    });
    let sim = Simulator::new(cfg);
    let start = sim.session(0, true).session_start;
    let engine = Engine::builder()
        .monotonic_clock()
        .build()
        .context("building the engine")?;
    let labeller = OutcomeLabeller::new(OutcomeConfig::default())?;
    let mut thresholds = BTreeMap::new();
    for v in Variant::ALL {
        let cfg = ThresholdConfig {
            min_samples: 30,
            ..ThresholdConfig::default()
        };
        thresholds.insert(v, AdaptiveThreshold::new(v, cfg)?);
    }
    let mut run = Run {
        book: MetricsBook::new(HORIZON, Targets::default(), start),
        ab: AbTest::new(HORIZON, SequentialConfig::default())?,
        rollout: Rollout::new(rollout_config(), start)?,
        engine,
        labeller,
        thresholds,
        skipped_no_quote: 0,
        day: 0,
        log: Vec::new(),
        args,
    };
    println!(
        "rollout_sim: {} days, preset {:?}, seed {}, degradation {:?} from day {}",
        run.args.days, run.args.preset, run.args.seed, run.args.degrade, run.args.degrade_from_day
    );
    let every = run.args.every_minutes.max(1) * NANOS_PER_MINUTE;
    let mut cost = Decimal::ZERO;
    for day in 0..run.args.days {
        run.day = day;
        let session = sim.session(day, true);
        println!(
            "day {day} ({}, session from {}): {} records, stage {:?}",
            session.trade_date,
            clock(session.session_start),
            session.record_count(),
            run.rollout.stage()
        );
        let mut next_check = session.session_start + every;
        let mut last_ts = session.session_start;
        for rec in session.records() {
            let mbo = mbo_of(&rec);
            let ts = mbo.map_or(rec.header().ts_event, |m| m.ts_recv);
            let mut signals: Vec<Signal> = Vec::new();
            // A malformed record is counted in EngineStats::malformed; the day goes on.
            let _ = run.engine.on_record(&rec, &mut signals);
            if let Some(m) = mbo {
                mid_update(&mut run, m);
            }
            for s in &signals {
                run.on_signal(s);
            }
            last_ts = last_ts.max(ts);
            while last_ts >= next_check {
                let outcomes = run.labeller.advance(next_check);
                run.on_outcomes(outcomes);
                run.checkpoint(next_check);
                next_check += every;
            }
        }
        let mut end: Vec<Signal> = Vec::new();
        run.engine.on_session_end(&mut end);
        for s in &end {
            run.on_signal(s);
        }
        let outcomes = run.labeller.advance(session.session_end);
        run.on_outcomes(outcomes);
        run.checkpoint(session.session_end);
        cost += run.args.cost_per_day;
        for v in Variant::ALL {
            run.book.set_data_cost(v, cost);
        }
        // A restart between sessions: the stage survives through the checksummed bytes.
        let bytes = run.rollout.to_bytes()?;
        run.rollout = Rollout::from_bytes(rollout_config(), &bytes)?;
        println!(
            "end of day {day}: stage {:?} (v3 share {:.0}%), state persisted in {} bytes and reloaded",
            run.rollout.stage(),
            f64::from(run.rollout.v3_share_ppm()) / 10_000.0,
            bytes.len()
        );
        let failing: Vec<String> = run
            .rollout
            .gates(session.session_end, &run.snapshot())
            .iter()
            .filter(|g| !g.passed)
            .map(|g| format!("{:?}", g.gate))
            .collect();
        if !failing.is_empty() {
            println!(
                "gates still failing for the next promotion: {}",
                failing.join(", ")
            );
        }
        println!("{}", run.book.report(session.session_end));
    }
    let ab = run.ab.report();
    println!(
        "A/B (15 min): accuracy diff {:?} CI {:?} -> {:?}; P&L diff {:?} CI {:?} -> {:?}",
        ab.accuracy.difference,
        ab.accuracy.ci,
        ab.accuracy.decision,
        ab.pnl.difference,
        ab.pnl.ci,
        ab.pnl.decision
    );
    println!(
        "signals without a two-sided quote (not labelled): {}; labeller {:?}",
        run.skipped_no_quote,
        run.labeller.stats()
    );
    println!(
        "final stage: {:?}; audit events: {}",
        run.rollout.stage(),
        run.log.len()
    );
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

/// Feeds the record's instrument mid to the labeller after the engine has applied it
/// (at the end of each matching-engine event, `F_LAST`).
fn mid_update(run: &mut Run, m: &MboMsg) {
    if m.flags.is_last() {
        let id = m.hd.instrument_id;
        if let Some(mid) = run.engine.books().book(id).and_then(|b| b.bbo().mid()) {
            let outcomes = run.labeller.on_mid(id, m.ts_recv, mid);
            run.on_outcomes(outcomes);
        }
    }
}
