//! Integration tests of ifd-budget through its public API.

mod alerts;
mod ledger_bytes;
mod limits;
mod pacing;
mod planner;
mod props;

use chrono::{DateTime, NaiveDate, Utc};
use ifd_budget::{
    Budget, BudgetConfig, CostModel, Ledger, LivePricing, PriceTable, TradingCalendar,
};
use rust_decimal::Decimal;

/// Parses a decimal literal.
pub(crate) fn dec(s: &str) -> Decimal {
    s.parse().expect("decimal literal")
}

/// Parses an RFC 3339 UTC instant.
pub(crate) fn utc(s: &str) -> DateTime<Utc> {
    s.parse().expect("RFC 3339 instant")
}

/// A calendar date.
pub(crate) fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}

/// Historical prices used by the tests: mbo $2/GB, definition $0.50/GB.
pub(crate) fn prices() -> PriceTable {
    PriceTable::new()
        .with_price("mbo", dec("2"))
        .and_then(|t| t.with_price("definition", dec("0.5")))
        .expect("valid prices")
}

/// A default-config budget ($175) with live priced at $1/GB, over `ledger`.
pub(crate) fn budget_with(ledger: Ledger) -> Budget {
    Budget::new(
        BudgetConfig::default(),
        TradingCalendar::cme(),
        CostModel::new(
            prices(),
            LivePricing::PerGb {
                usd_per_gb: Decimal::ONE,
            },
        )
        .expect("valid model"),
        ledger,
    )
    .expect("valid budget")
}

/// An empty default budget, live at $1/GB.
pub(crate) fn budget() -> Budget {
    budget_with(Ledger::new())
}

/// Bytes costing `usd` at $1/GB.
pub(crate) fn gb(usd: &str) -> u64 {
    let b = dec(usd) * Decimal::from(1_000_000_000u64);
    u64::try_from(b.trunc().mantissa()).expect("non-negative")
}

/// Records a historical download of exactly `usd` at `at` through the budget.
pub(crate) fn spend_download(b: &mut Budget, request: &str, usd: &str, at: DateTime<Utc>) {
    let q = ifd_budget::DownloadQuote::preflight_decimal(request, dec(usd), None).expect("quote");
    let auth = b.authorize_download(&q, at).expect("authorized");
    b.record_download(auth, dec(usd), 0, at).expect("recorded");
}
