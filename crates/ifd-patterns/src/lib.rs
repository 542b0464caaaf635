//! # ifd-patterns
//!
//! What the product exists for: telling market makers from institutions in MBO data,
//! detecting institutional patterns, and emitting scored signals — plus the v1.0
//! volume-spike detector kept as the fallback of the rollout.
//!
//! MBO gives what consolidated prints cannot: every order's id and life cycle and the
//! exact aggressor. [`OrderLifecycles`] turns order life cycles into a market-maker
//! likelihood for resting orders and aggressor events and tracks icebergs;
//! [`PatternDetector`] runs the block, sweep, cross-strike, iceberg and accumulation
//! detectors over `ifd-pressure`'s aggressor events, after recognising multi-leg
//! packages among them ([`packages`]); [`VolumeSpikeDetector`] is v1.0.
//! Both emit [`Signal`]s whose JSON form is documented in `docs/signals.md`.
//!
//! ## Quick start (offline, on hand-built inputs)
//!
//! ```
//! use ifd_patterns::{DetectorConfig, MarketView, NoReference, PatternDetector, Signal};
//! use ifd_pressure::{OptionContract, OptionKind, TickRule};
//!
//! struct OneContract(OptionContract);
//! impl MarketView for OneContract {
//!     fn contract(&self, iid: u32) -> Option<&OptionContract> {
//!         (iid == self.0.instrument_id).then_some(&self.0)
//!     }
//!     fn is_healthy(&self, _iid: u32) -> bool { true }
//!     fn underlying_price(&self, _c: &OptionContract) -> Option<i64> { Some(21_000_000_000_000) }
//! }
//!
//! let view = OneContract(OptionContract {
//!     instrument_id: 7,
//!     raw_symbol: "NQZ6 C21000".into(),
//!     underlying: "NQZ6".into(),
//!     underlying_id: 1,
//!     asset: "NQ".into(),
//!     kind: OptionKind::Call,
//!     strike: 21_000_000_000_000,
//!     expiration: 1_797_000_000_000_000_000,
//!     multiplier: 20_000_000_000,
//!     tick: TickRule::CME_EQUITY_INDEX_OPTION,
//!     channel_id: 0,
//!     ts_recv: 0,
//! });
//! let mut detector = PatternDetector::new(DetectorConfig::default()).unwrap();
//! let mut signals: Vec<Signal> = Vec::new();
//! // Feed MBO records with `detector.on_mbo(&rec, &view, &mut signals)` and aggressor
//! // events from ifd-pressure with `detector.on_event(&ev, &view, &NoReference, &mut signals)`.
//! assert!(signals.is_empty());
//! ```
//!
//! ## Invariants
//! - Pure: no IO, no clock. Time is the records' `ts_recv`.
//! - Deterministic: the same records give the same signals (maps are only probed; ids
//!   are FNV hashes of the flow's identity).
//! - No NaN or infinity ever reaches a signal: every score is clamped to [0, 1].
//! - A signal is raised only on healthy books, and one flow raises one signal (updates
//!   are revisions of the same `signal_id`, see the `flows` rules in [`PatternDetector`]).
//!
//! ## Features
//! - `testing`: proptest strategies for downstream property-based test harnesses.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod detect;
mod error;
mod flows;
pub mod orders;
pub mod packages;
mod signal;
#[cfg(feature = "testing")]
pub mod testing;
mod v1;
mod view;

pub use detect::{
    regime_p_value, DetectorConfig, MergeGaps, PatternDetector, PatternStats, RegimeConfig,
};
pub use error::{Error, Result};
pub use orders::{IcebergChain, MmConfig, OrderLifecycles, OrderStats};
pub use signal::{
    expiration_date, fixed_to_decimal, flow_id, usd_lossy, Aggressiveness, ContractKind,
    DetectorVersion, Direction, Evidence, FlowSide, PackageLeg, Pattern, PriceSource, Signal,
    Structure,
};
pub use v1::{V1Config, V1Stats, VolumeSpikeDetector};
pub use view::{Assessment, MarketView, NoReference, Reference, ReferenceMetric, SpreadLegDef};
