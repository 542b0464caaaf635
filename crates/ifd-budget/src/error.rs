//! The crate's error type.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::calendar::Month;

/// Errors raised by ifd-budget.
///
/// Every refusal and every unreadable input is one of these variants: the crate never
/// answers "zero" when it does not know.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A download would take the month's committed spend over the monthly budget; it was
    /// refused before it started and nothing was recorded.
    #[error(
        "download {request:?} refused: quote ${quote} + committed ${committed} exceeds the {month} budget of ${budget}"
    )]
    WouldExceedMonth {
        /// The request that was refused.
        request: String,
        /// The month the download would be charged to.
        month: Month,
        /// The quoted cost of the download.
        quote: Decimal,
        /// Spend already recorded plus outstanding authorizations (and an unrecorded
        /// flat plan fee) for the month.
        committed: Decimal,
        /// The monthly budget.
        budget: Decimal,
    },
    /// A configuration value is outside its documented range.
    #[error("invalid budget configuration: {field} = {value} ({reason})")]
    InvalidConfig {
        /// The offending field.
        field: &'static str,
        /// Its value, as text.
        value: String,
        /// The accepted range or rule.
        reason: &'static str,
    },
    /// A money amount is negative, not finite or beyond the plausible maximum
    /// ([`MAX_CHARGE_USD`](crate::MAX_CHARGE_USD)).
    #[error("implausible amount ${value} for {what}")]
    ImplausibleAmount {
        /// What the amount was meant to be.
        what: &'static str,
        /// The amount, as text (it may not be representable as a `Decimal`).
        value: String,
    },
    /// Decimal arithmetic overflowed.
    #[error("decimal overflow while computing {what}")]
    Overflow {
        /// What was being computed.
        what: &'static str,
    },
    /// An offline quote named a schema that has no unit price in the table.
    #[error("no unit price for schema {schema:?}; refusing to guess")]
    UnknownSchema {
        /// The schema name that has no price.
        schema: String,
    },
    /// A timestamp cannot be represented (nanoseconds beyond `i64::MAX`).
    #[error("timestamp {ns} ns is out of range")]
    TimestampOutOfRange {
        /// The raw nanoseconds since the UNIX epoch.
        ns: u64,
    },
    /// A date lies in a year the trading calendar has no holiday list for.
    #[error("the trading calendar has no holiday list for the year of {date}")]
    CalendarNotCovered {
        /// The date that was asked about.
        date: NaiveDate,
    },
    /// An authorization was presented that this budget did not issue or has already
    /// settled.
    #[error("unknown or already settled authorization {id}")]
    UnknownAuthorization {
        /// The authorization's id.
        id: u64,
    },
    /// An authorization is already held for this request key.
    #[error("an authorization is already held for request {request:?}")]
    AlreadyAuthorized {
        /// The request key.
        request: String,
    },
    /// No authorization is held for this request key.
    #[error("no authorization is held for request {request:?}")]
    UnknownRequest {
        /// The request key.
        request: String,
    },
    /// The flat plan fee of a month was already recorded.
    #[error("the flat plan fee of {month} is already recorded")]
    PlanFeeAlreadyRecorded {
        /// The month.
        month: Month,
    },
    /// The flat plan fee was recorded while the cost model prices live data per GB.
    #[error("the cost model has no flat monthly plan")]
    NoFlatPlan,
    /// Ledger bytes are shorter than their header says: the file was truncated.
    #[error("ledger truncated: {actual} bytes, expected {expected}")]
    LedgerTruncated {
        /// Bytes present.
        actual: usize,
        /// Bytes the header announces (or the minimum header size).
        expected: usize,
    },
    /// Ledger bytes do not start with the ledger magic.
    #[error("not a ledger file (bad magic)")]
    LedgerBadMagic,
    /// Ledger bytes carry a format version this crate cannot read.
    #[error("unsupported ledger version {found} (this build reads {supported})")]
    LedgerVersion {
        /// Version found in the header.
        found: u16,
        /// Version this build reads.
        supported: u16,
    },
    /// Ledger bytes have trailing data after the checksum, or a length field that does not
    /// match the data.
    #[error("ledger length mismatch: {actual} bytes, header says {expected}")]
    LedgerLength {
        /// Bytes present.
        actual: usize,
        /// Bytes the header announces.
        expected: usize,
    },
    /// The ledger checksum does not match its contents: the file is corrupted.
    #[error("ledger checksum mismatch: stored {stored:#010x}, computed {computed:#010x}")]
    LedgerChecksum {
        /// CRC32 stored in the file.
        stored: u32,
        /// CRC32 of the bytes read.
        computed: u32,
    },
    /// The ledger payload passed its checksum but could not be decoded or validated.
    #[error("ledger payload invalid: {reason}")]
    LedgerPayload {
        /// Why it was rejected.
        reason: String,
    },
}

/// Result alias of ifd-budget.
pub type Result<T> = std::result::Result<T, Error>;
