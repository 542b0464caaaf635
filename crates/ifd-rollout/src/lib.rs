//! # ifd-rollout
//!
//! Evidence for replacing v1.0 by v3.0: signal outcomes measured from prices, success
//! metrics against the seed targets, sequential A/B tests that stay valid however often
//! they are looked at, adaptive confidence thresholds, and the staged rollout (shadow,
//! 10 %, 50 %, full) with an emergency rollback to v1.0.
//!
//! The crate is pure and generic. It knows a signal as an id, a [`Variant`], a pattern
//! label, a time, a direction and, later, its labels ([`SignalLabel`]: the underlying's
//! mid-to-mid return at fixed horizons, signed by the signal's view, from series the
//! caller supplies) or a streaming option [`Outcome`]; prices come in as dbn's `i64` at
//! 1e-9. The engine feeds it and acts on its answers. Decisions (the A/B test, the
//! promotion gates, the metrics) read the labels at a chosen horizon and promote only on
//! significant evidence; the statistics a quant checks them with are in [`evaluation`].
//!
//! | module | what | main types |
//! |---|---|---|
//! | [`labels`] | fixed-horizon underlying returns signed by the view; option and delta-hedged P&L; clusters | [`label_signals`], [`SignalLabel`], [`Horizon`] |
//! | [`evaluation`] | hit rate vs up-rate and shuffled times, Pesaran–Timmermann, clustered mean in bp, per pattern/decile/horizon | [`outcome_table`], [`OutcomeTable`] |
//! | [`outcome`] | streaming option-mid outcome over horizons; win/loss/flat; P&L of a notional trade | [`OutcomeLabeller`], [`Outcome`] |
//! | [`metrics`] | accuracy, win/loss ratios, ROI, cost and EV per signal, per variant and pattern | [`MetricsBook`], [`MetricsReport`] |
//! | [`assign`] | deterministic hash assignment into arms (FNV-1a 64 + fmix64) | [`Split`], [`AssignmentKey`] |
//! | [`stats`] | mixture SPRT for proportions and means, always-valid p-values and CIs | [`ProportionTest`], [`MeanTest`] |
//! | [`ab`] | v3 against v1 on hit rate and signed return from labels (or option outcomes) | [`AbTest`], [`AbReport`] |
//! | [`threshold`] | confidence thresholds steered toward a target precision | [`AdaptiveThreshold`] |
//! | [`rollout`] | stages, promotion gates, rollback, cool-down, audit | [`Rollout`], [`AuditEvent`] |
//! | [`persist`] | versioned, CRC32-checked bytes for the rollout state | [`persist::encode`], [`persist::decode`] |
//!
//! ## Quick start (offline)
//!
//! ```
//! use ifd_rollout::{
//!     AbTest, Direction, Label, MetricsBook, OutcomeConfig, OutcomeLabeller, Rollout,
//!     RolloutConfig, SequentialConfig, SignalEntry, Stage, Targets, Variant, NANOS_PER_MINUTE,
//! };
//!
//! # fn main() -> ifd_rollout::Result<()> {
//! let t0 = 1_700_000_000_000_000_000_u64;
//! let horizon = 5 * NANOS_PER_MINUTE;
//! let config = OutcomeConfig { horizons_ns: vec![horizon], ..OutcomeConfig::default() };
//! let mut labeller = OutcomeLabeller::new(config)?;
//! let mut book = MetricsBook::new(horizon, Targets::default(), t0);
//! let mut ab = AbTest::new(horizon, SequentialConfig::default())?;
//!
//! // A v3 signal: the 21000 call (instrument 42) should rise; bid 10.00, ask 10.50.
//! labeller.register(SignalEntry {
//!     signal_id: 1, variant: Variant::V3, pattern: "sweep".into(), direction: Direction::Up,
//!     confidence: 0.82, fired_at: t0, instrument: 42,
//!     entry_bid: 10_000_000_000, entry_ask: 10_500_000_000, multiplier: 20, underlying: None,
//! })?;
//! book.record_signal(Variant::V3, "sweep");
//!
//! // The book's mid moves to 11.00 after two minutes; an update after the 5-minute
//! // horizon resolves the outcome with the mid that prevailed at the horizon.
//! assert!(labeller.on_mid(42, t0 + 2 * NANOS_PER_MINUTE, 11_000_000_000).is_empty());
//! let outcomes = labeller.on_mid(42, t0 + 6 * NANOS_PER_MINUTE, 11_200_000_000);
//! assert_eq!(outcomes.len(), 1);
//! let o = &outcomes[0];
//! assert_eq!(o.label, Label::Win);
//! // Bought at the ask 10.50, marked at the mid 11.00, 20 per point: +10.
//! assert_eq!(o.pnl, rust_decimal::Decimal::from(10));
//! book.record_outcome(o);
//! ab.observe(o);
//! println!("{}", book.report(t0 + 6 * NANOS_PER_MINUTE));
//!
//! // The rollout starts in shadow and only moves on evidence.
//! let mut rollout = Rollout::new(RolloutConfig::default(), t0)?;
//! let snapshot = ab.snapshot(12.0, 1.0, 0.0); // latency p99 ms, uptime, error rate
//! assert!(rollout.on_snapshot(t0 + 6 * NANOS_PER_MINUTE, &snapshot).is_empty());
//! assert_eq!(rollout.stage(), Stage::Shadow);
//! let bytes = rollout.to_bytes()?; // survives a restart
//! assert_eq!(Rollout::from_bytes(RolloutConfig::default(), &bytes)?.stage(), Stage::Shadow);
//! # Ok(())
//! # }
//! ```
//!
//! ## Invariants
//! - Pure and generic: no IO, no clock (time is always an explicit `now` or a record
//!   timestamp), no dependency on another ifd crate.
//! - Money is [`rust_decimal::Decimal`]; `f64` appears only in statistics, through
//!   conversions named `lossy_*`.
//! - NaN, infinite or missing inputs never move a threshold and never promote a stage;
//!   they are skipped and counted.
//! - A rollback is never refused: the rollback limit stops automatic re-entry, not the
//!   rollback.
//! - Assignment depends only on the key, the salt and the shares (no `RandomState`).
//!
//! ## Features
//! - `testing`: proptest strategies for downstream property-based test harnesses
//!   ([`testing`]).
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod ab;
pub mod assign;
mod error;
pub mod evaluation;
pub mod labels;
pub mod metrics;
pub mod outcome;
pub mod persist;
pub mod rollout;
pub mod stats;
#[cfg(feature = "testing")]
pub mod testing;
pub mod threshold;
mod types;

pub use ab::{AbReport, AbTest};
pub use assign::{AssignmentKey, Split, PPM};
pub use error::{Error, Result};
pub use evaluation::{
    binomial_p_at_least, clustered_mean, group_stats, outcome_table, overlap_hac_mean,
    pesaran_timmermann, wilson_interval, Best, ClusteredMean, EvalConfig, GroupStats, Grouping,
    OutcomeTable, PesaranTimmermann, ShuffleBaseline, TableRow,
};
pub use labels::{
    label_signals, shuffled_hit_rates, signed_return_bp, up_rate, DirectionalSignal, Horizon,
    LabelInputs, LabelStats, MidSeries, OptionOutcome, OptionTrade, QuoteSeries, SessionWindow,
    SignalLabel,
};
pub use metrics::{
    EngineHealth, Metric, MetricsBook, MetricsReport, Tally, TargetCheck, Targets, VariantReport,
};
pub use outcome::{
    price_from_decimal, price_to_decimal, Label, LabellerStats, Outcome, OutcomeConfig,
    OutcomeLabeller, SignalEntry, UnderlyingEntry,
};
pub use rollout::{
    AuditEvent, Gate, GateStatus, Reason, Rollout, RolloutConfig, RolloutSnapshot, RolloutState,
    Stage, StageGate, Trigger,
};
pub use stats::{
    mean_ci, Decision, MeanCi, MeanTest, ProportionTest, RunningStats, SequentialConfig,
    SequentialResult,
};
pub use threshold::{AdaptiveThreshold, ChangeReason, ThresholdChange, ThresholdConfig};
pub use types::{
    Direction, InstrumentKey, Nanos, PatternLabel, Variant, NANOS_PER_DAY, NANOS_PER_HOUR,
    NANOS_PER_MINUTE, NANOS_PER_SECOND,
};
