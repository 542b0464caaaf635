//! # ifd-baseline
//!
//! Institutional flow is flow that is unusual *for that strike at that time of day*.
//! This crate keeps a robust baseline of per-window flow metrics over the last 20
//! trading days and turns each new window into a robust z-score, a p-value, a
//! Benjamini–Hochberg q-value across every key tested in the window, and a confidence
//! in `[0, 1]` that can be calibrated on labelled data.
//!
//! ## Quick start (offline)
//!
//! ```
//! use ifd_baseline::{
//!     Baseline, BaselineConfig, BaselineKey, DayObservations, ExpiryClass, Metric,
//!     MoneynessBucket, Observation, Right, TimeBucket, TradingDay,
//! };
//!
//! let key = BaselineKey {
//!     right: Right::Call,
//!     expiry_class: ExpiryClass::Weekly,
//!     moneyness: MoneynessBucket::from_steps(2), // two strikes out of the money
//!     time_bucket: TimeBucket(31),               // 08:30-09:00 CT
//! };
//! let obs = |value| Observation { key, strike: None, metric: Metric::BuyVolume, value };
//!
//! // Twenty trading days, six 5-minute windows each in this 30-minute bucket.
//! let mut baseline = Baseline::new(BaselineConfig::default())?;
//! let first = chrono::NaiveDate::from_ymd_opt(2026, 11, 2).unwrap();
//! for d in 0..20u64 {
//!     let mut day = DayObservations::new();
//!     for w in 0..6u64 {
//!         day.add(obs((10 + (d * 7 + w * 3) % 9) as f64))?;
//!     }
//!     let date = first.checked_add_days(chrono::Days::new(d)).unwrap();
//!     baseline.push_day(TradingDay::new(date), day)?;
//! }
//!
//! // Score today's window: an ordinary value and a block-sized one.
//! let scores = baseline.score_window(&[obs(13.0), obs(400.0)])?;
//! let ordinary = scores.items[0].1.scored().unwrap();
//! let block = scores.items[1].1.scored().unwrap();
//! assert!(ordinary.q_value > 0.5);
//! assert!(block.q_value < 0.01 && block.confidence > 0.9);
//!
//! // Persist through bytes (the IO edge writes them atomically).
//! let restored = Baseline::from_bytes(&baseline.to_bytes())?;
//! assert_eq!(restored, baseline);
//! # Ok::<(), ifd_baseline::Error>(())
//! ```
//!
//! From records, [`BaselineBuilder`] runs DBN records of N session days through
//! ifd-pressure's chain, books, aggressor folding and per-instrument windows and
//! pushes each finished day; [`PressureFeed`] gives the same observations for the
//! current day, window by window, to score.
//!
//! ## Keys
//! A [`BaselineKey`] is call/put, [`ExpiryClass`] (same day, weekly, monthly/quarterly),
//! [`MoneynessBucket`] (signed strike steps out of the money, widening away from the
//! money) and [`TimeBucket`] of the CME session (30 minutes from 17:00 CT by default;
//! Central time comes from the calendar of `ifd-core`, see [`SessionTime`]). Strikes
//! roll with the underlying, so the moneyness key is primary; per-strike series are kept
//! beside it and used when they have at least `min_days` days.
//!
//! ## Scoring
//! For one series (key × [`Metric`]) the baseline pools the values of the days held.
//! - **Robust z**: `0.6745·(x − median)/MAD` on the raw axis. When the MAD is 0 the
//!   scale falls back to `IQR/1.349`, then `1.253314·MeanAD`, then the metric's
//!   resolution ([`stats::RobustScale`]), so it is always finite.
//! - **p-value**, per metric ([`Metric::tail`], [`Metric::transform`]): inside the range
//!   seen, the rank p-value `(1 + #{history ≥ x})/(n + 1)` (exact under exchangeability,
//!   whatever the distribution); beyond the largest value seen, that level `1/(n + 1)`
//!   times the Student-t tail ratio `S(t)/S(t_max)`, fitted with median/MAD on a
//!   variance-stabilising axis: `ln(1 + x)` for volumes, premium, prints and counts
//!   (fitted on the non-zero windows, borrowing the key's all-day fit when fewer than
//!   three exist: windows are mostly empty, and the zeros say how often flow happens,
//!   not how large it is), `asinh` for order flow imbalance (signed, heavy tailed),
//!   none for the bounded signed imbalance. Volumes are tested in the upper tail,
//!   imbalances in both. A Student-t tail on a log axis decays more slowly than the
//!   log-normal or Pareto-like tails of flow sizes, so the extrapolation errs on the
//!   conservative side.
//! - **Few days**: the degrees of freedom are `days − 1` (capped, default 10) and the
//!   scale is widened by `√(1 + 1/days)`; below `min_days` the outcome is
//!   [`Outcome::Insufficient`] with the day count instead of a number.
//! - **q-value**: Benjamini–Hochberg across every observation scored in one
//!   [`Baseline::score_window`] call, so hundreds of strikes do not produce
//!   discoveries by chance.
//! - **Confidence**: `(1 − q)·√(days/max_days)`; [`Calibration::fit`] maps it to an
//!   observed hit rate (isotonic regression on labelled windows, for example simulator
//!   truth) and [`reliability`] checks the map per decile.
//!
//! ## Session activity
//! [`Baseline::activity_profile`] gives the number of aggressor events the days held
//! typically show over any span of the session's clock ([`ActivityProfile`], read from
//! the stored trade counts: no series of its own), so a detector can tell how much
//! busier than its history a session is.
//!
//! ## Invariants
//! - Pure: no IO, no clock. Time comes from the records' `ts_recv`; persistence is
//!   through bytes ([`Baseline::to_bytes`]: magic, format version, CRC32), written
//!   atomically by the IO edge.
//! - NaN and infinity never go in (rejected with [`Error::InvalidValue`]) and never
//!   come out of scoring.
//! - Scores do not depend on the order in which days were pushed: the baseline holds
//!   the latest `max_days` distinct trading days, sorted.
//! - A corrupted, truncated or other-version byte string is a typed error, never a
//!   baseline.
//!
//! ## Features
//! - `testing`: proptest strategies for downstream property-based test harnesses.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod activity;
mod adapter;
mod baseline;
mod calibration;
mod error;
mod fdr;
mod intraday;
mod key;
mod metric;
mod packed;
mod persist;
mod sessions;
pub mod stats;
#[cfg(feature = "testing")]
pub mod testing;

pub use activity::ActivityProfile;
pub use adapter::{
    pressure_config, AdapterStats, BaselineBuilder, BuilderConfig, BuilderStats, PressureFeed,
    WindowAdapter, WindowObservation,
};
pub use baseline::{
    Baseline, BaselineConfig, DayObservations, Observation, Outcome, Scope, Scored, ScoredAgainst,
    SeriesId, SeriesModel, WindowScores,
};
pub use calibration::{reliability, Calibration, ReliabilityBin};
pub use error::{Error, Result};
pub use fdr::benjamini_hochberg;
pub use intraday::IntradayEwma;
pub use key::{
    central_offset_hours, BaselineKey, ExpiryClass, MoneynessBucket, Right, SessionTime,
    TimeBucket, TradingDay, SESSION_MINUTES,
};
pub use metric::{Metric, Tail, Transform, MAX_ABS_VALUE};
pub use persist::{ENVELOPE, FORMAT_VERSION, MAGIC};
pub use sessions::{SessionLearner, SessionsError};
