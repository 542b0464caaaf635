//! # ifd-budget
//!
//! Keeps the Databento bill inside the month. A [`Budget`] holds an append-only
//! [`Ledger`] of every charge (historical downloads, live bytes, cache hits, a flat plan
//! fee) and answers, for an explicit `now`:
//!
//! - **may this download start?** ([`Budget::authorize_download`]): refused with
//!   [`Error::WouldExceedMonth`] before it starts if the month's committed spend plus the
//!   quote would pass the monthly budget; the ledger is then unchanged;
//! - **what must this live session do?** ([`Budget::record_live_bytes`]): continue, narrow
//!   to nearer expiries, narrow strikes too, or stop ([`DegradeLevel`], always returned,
//!   never a silent stop);
//! - **how is the month going?** ([`Budget::status`]): spend by kind, the day's share of
//!   the remaining budget over the remaining CME trading days, the day's hard cap, the
//!   month-end projection; alerts at configurable levels, each raised once.
//!
//! It also prices requests ([`CostModel`], [`DownloadQuote`]), computes cost per signal
//! and per useful signal ([`CostPerSignal`]) and plans a subscription set that fits the
//! budget left ([`plan_subscriptions`]).
//!
//! Money is `rust_decimal::Decimal` throughout: sums are exact. Days and months are CME
//! session dates in America/Chicago (a session runs 17:00–16:00 CT and carries the date it
//! ends on); see [`calendar`] for the convention and the holiday list.
//!
//! ## Quick start (offline)
//!
//! ```
//! use chrono::{DateTime, Utc};
//! use ifd_budget::{
//!     Budget, BudgetConfig, CostModel, DegradeLevel, DownloadQuote, Ledger, LivePricing,
//!     PriceTable, TradingCalendar,
//! };
//! use rust_decimal::Decimal;
//!
//! # fn main() -> Result<(), ifd_budget::Error> {
//! let prices = PriceTable::from_unit_prices([("mbo", 1.5), ("definition", 0.25)])?;
//! let live = LivePricing::PerGb { usd_per_gb: Decimal::new(5, 0) };
//! let mut budget = Budget::new(
//!     BudgetConfig::default(), // $175 a month, alerts at 80% and 95%
//!     TradingCalendar::cme(),
//!     CostModel::new(prices.clone(), live)?,
//!     Ledger::new(),
//! )?;
//! let now: DateTime<Utc> = "2025-03-03T14:00:00Z".parse().expect("valid time");
//!
//! // Historical path: quote, ask, download, record.
//! let quote = DownloadQuote::offline("baseline-20d", &prices, "mbo", 12_000_000_000)?;
//! let auth = budget.authorize_download(&quote, now)?; // $18 fits the month
//! // ... the download runs here ...
//! budget.record_download(auth, quote.dollars(), 12_000_000_000, now)?;
//!
//! // Live path: record bytes as they arrive and obey the directive.
//! let directive = budget.record_live_bytes("session-1", 200_000_000, now)?;
//! assert_eq!(directive.level, DegradeLevel::Full);
//!
//! // Persist: versioned, checksummed bytes (write them atomically at the IO edge).
//! let bytes = budget.ledger().to_bytes()?;
//! assert_eq!(Ledger::from_bytes(&bytes)?.total(), Decimal::new(19, 0));
//! # Ok(())
//! # }
//! ```
//!
//! ## Wiring (for the IO edge)
//!
//! - Historical: build a [`DownloadQuote`] from `metadata().get_cost` (or offline from
//!   billable bytes), call [`Budget::authorize_download`], start the request only on
//!   `Ok`, then [`Budget::record_download`] with the actual charge, or
//!   [`Budget::cancel_download`] if nothing was billed. A cache hit calls
//!   [`Budget::record_cache_hit`] (zero dollars). A caller that keys requests by a string
//!   and holds `get_cost`'s `f64` (a gate with `approve(request, quoted_usd) -> bool` and
//!   `record(request, charged_usd)`) maps them onto [`Budget::authorize_request`] and
//!   [`Budget::settle_request`] (zero without an authorization = cache hit), and
//!   [`Budget::release_request`] when an approved download is abandoned; log the refusal
//!   error rather than dropping it.
//! - Live: before opening a session check [`Budget::live_level`]; while it runs call
//!   [`Budget::record_live_bytes`] per batch (e.g. once a minute) and apply the returned
//!   [`DegradeLevel`] when `changed` is true.
//! - After every record, persist [`Ledger::to_bytes`] with an atomic write. A ledger that
//!   fails [`Ledger::from_bytes`] must stop spending until it is repaired: the error is
//!   never a reason to start from an empty ledger.
//!
//! ## Invariants
//! - Pure: no IO, no clock; time is an explicit `now`.
//! - No `f64` money: `f64` from Databento's API enters only through
//!   [`usd_from_f64`], which rejects NaN, negative and absurd values.
//! - The ledger has no remove or edit operation; its total equals the sum of its entries
//!   in any recording order.
//! - Authorized downloads plus recorded spend never exceed the monthly budget (an actual
//!   charge above its quote is recorded as it is and raises alerts).
//! - A corrupted or truncated ledger is an error, never zero spend.
//!
//! ## Features
//! - `testing`: proptest strategies for downstream property-based test harnesses.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod budget;
pub mod calendar;
mod cost;
mod error;
mod ledger;
mod metrics;
mod planner;
#[cfg(feature = "testing")]
pub mod testing;

pub use budget::{
    Authorization, Budget, BudgetConfig, BudgetStatus, DegradeLevel, LiveDirective, Pacing,
    Projection, Settlement,
};
pub use calendar::{session_date, utc_from_ns, Month, TradingCalendar};
pub use cost::{
    check_usd, cost_of_bytes, usd_from_f64, CostModel, DownloadQuote, LivePricing, PriceTable,
    QuoteSource, BYTES_PER_GB, MAX_CHARGE_USD,
};
pub use error::{Error, Result};
pub use ledger::{
    Alert, AlertScope, Charge, ChargeKind, KindTotals, Ledger, LEDGER_ENVELOPE, LEDGER_MAGIC,
    LEDGER_VERSION,
};
pub use metrics::{CostPerSignal, SignalCounts};
pub use planner::{
    plan_subscriptions, PlanCandidate, PlanMethod, SubscriptionPlan, EXACT_MAX_CANDIDATES,
    EXACT_MAX_CELLS,
};
