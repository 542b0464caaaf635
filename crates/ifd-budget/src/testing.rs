//! Proptest strategies for downstream property-based tests (feature `testing`).

use chrono::{DateTime, Utc};
use proptest::prelude::*;
use rust_decimal::Decimal;

use crate::ledger::{Charge, ChargeKind};

/// First instant generated: 2024-01-01T00:00:00Z.
pub const START_SECS: i64 = 1_704_067_200;
/// Last instant generated: 2027-12-31T00:00:00Z (inside the built-in CME calendar).
pub const END_SECS: i64 = 1_830_211_200;

/// A UTC instant within the years of the built-in CME calendar, at nanosecond precision.
pub fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    (START_SECS..END_SECS, 0u32..1_000_000_000)
        .prop_map(|(s, ns)| DateTime::from_timestamp(s, ns).unwrap_or(DateTime::UNIX_EPOCH))
}

/// A UTC instant within one month of 2025 (`month` 1..=12), so sequences share pacing days.
pub fn instant_in_2025_month(month: u32) -> impl Strategy<Value = DateTime<Utc>> {
    let start = chrono::NaiveDate::from_ymd_opt(2025, month.clamp(1, 12), 1)
        .and_then(|d| d.and_hms_opt(6, 0, 0))
        .map_or(0, |d| d.and_utc().timestamp());
    (start..start + 27 * 86_400).prop_map(|s| DateTime::from_timestamp(s, 0).unwrap_or_default())
}

/// A dollar amount from $0 to $50 with up to 6 decimals.
pub fn dollars() -> impl Strategy<Value = Decimal> {
    (0i64..=50_000_000).prop_map(|micros| Decimal::new(micros, 6))
}

/// A charge kind.
pub fn charge_kind() -> impl Strategy<Value = ChargeKind> {
    prop_oneof![
        Just(ChargeKind::Historical),
        Just(ChargeKind::Live),
        Just(ChargeKind::CacheHit),
        Just(ChargeKind::Plan),
    ]
}

/// A valid charge.
pub fn charge() -> impl Strategy<Value = Charge> {
    (
        instant(),
        charge_kind(),
        "[a-z0-9-]{1,12}",
        any::<u32>(),
        dollars(),
    )
        .prop_map(|(at, kind, reference, bytes, dollars)| Charge {
            at,
            kind,
            reference,
            bytes: u64::from(bytes),
            dollars,
        })
}

/// One request to a [`Budget`](crate::Budget).
#[derive(Debug, Clone)]
pub enum Request {
    /// Quote and authorize a download, then (if authorized) record it at its quote or
    /// cancel it.
    Download {
        /// Quoted dollars.
        quote: Decimal,
        /// Record (true) or cancel (false) after authorization.
        record: bool,
    },
    /// Authorize a download and keep the authorization outstanding.
    Hold {
        /// Quoted dollars.
        quote: Decimal,
    },
    /// Live bytes received.
    Live {
        /// Bytes.
        bytes: u64,
    },
    /// A cache hit.
    CacheHit,
}

/// A request to a budget.
pub fn request() -> impl Strategy<Value = Request> {
    prop_oneof![
        (dollars(), any::<bool>()).prop_map(|(quote, record)| Request::Download { quote, record }),
        dollars().prop_map(|quote| Request::Hold { quote }),
        (0u64..3_000_000_000).prop_map(|bytes| Request::Live { bytes }),
        Just(Request::CacheHit),
    ]
}
