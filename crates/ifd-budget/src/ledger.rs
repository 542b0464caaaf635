//! The append-only ledger of charges and raised alerts, and its checksummed byte format.
//!
//! # Byte format (version 1)
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 8 | magic `IFDLEDGR` |
//! | 8 | 2 | format version, `u16` little-endian (1) |
//! | 10 | 8 | payload length `n`, `u64` little-endian |
//! | 18 | n | payload: JSON `{"charges": [...], "alerts": [...]}`, money as decimal strings |
//! | 18 + n | 4 | CRC32 (IEEE) of bytes `0..18 + n`, `u32` little-endian |
//!
//! This is the workspace's persistence envelope ([`ifd_core::envelope`]) with an 8-byte
//! magic. Decoding checks, in order: the length of the header, the magic, that the byte
//! count equals `18 + n + 4` exactly, the checksum, the version (believed only once the
//! checksum vouches for it), then the payload's JSON and the validity of every amount. Any failure is a typed error; there is no path from
//! unreadable bytes to an empty ledger. CRC32 detects every error burst of up to 32 bits,
//! so every single-byte corruption is caught (a corrupted magic or length fails earlier,
//! on its own check).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::calendar::{session_date, Month};
use crate::cost::check_usd;
use crate::error::{Error, Result};
use ifd_core::envelope::{Envelope, EnvelopeError};

/// The ledger file magic.
pub const LEDGER_MAGIC: [u8; 8] = *b"IFDLEDGR";
/// The ledger format version this build writes and reads.
pub const LEDGER_VERSION: u16 = 1;
/// The ledger's persistence envelope.
pub const LEDGER_ENVELOPE: Envelope = Envelope::new(&LEDGER_MAGIC, LEDGER_VERSION);

/// What a charge paid for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ChargeKind {
    /// A historical download (priced by its pre-flight quote or the actual charge).
    Historical,
    /// Bytes received from the live gateway.
    Live,
    /// A historical request answered from the local cache: recorded, at zero dollars.
    CacheHit,
    /// The fee of a flat monthly live plan.
    Plan,
}

impl ChargeKind {
    /// All kinds, in display order.
    pub const ALL: [ChargeKind; 4] = [Self::Historical, Self::Live, Self::CacheHit, Self::Plan];

    /// A short lowercase name.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Historical => "historical",
            Self::Live => "live",
            Self::CacheHit => "cache-hit",
            Self::Plan => "plan",
        }
    }
}

/// One charge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Charge {
    /// When it was incurred.
    pub at: DateTime<Utc>,
    /// What it paid for.
    pub kind: ChargeKind,
    /// The request id (historical, cache hit), session id (live) or plan name.
    pub reference: String,
    /// Bytes billed or received.
    pub bytes: u64,
    /// USD, non-negative and at most [`MAX_CHARGE_USD`](crate::MAX_CHARGE_USD).
    pub dollars: Decimal,
}

impl Charge {
    /// The session date the charge belongs to (see [`crate::calendar`]).
    #[must_use]
    pub fn session_date(&self) -> NaiveDate {
        session_date(self.at)
    }

    /// The month the charge belongs to (the month of its session date).
    #[must_use]
    pub fn month(&self) -> Month {
        Month::of(self.session_date())
    }
}

/// What an alert measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum AlertScope {
    /// The month's spend against the monthly budget.
    Month(Month),
    /// A trading day's live spend against the day's pacing share.
    Day(NaiveDate),
    /// The month-end projection against the monthly budget (level 1 = projected over
    /// budget).
    Projection(Month),
}

/// An alert that was raised; each `(scope, level)` is raised at most once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// When it was raised.
    pub at: DateTime<Utc>,
    /// What it measures.
    pub scope: AlertScope,
    /// The level crossed, as a fraction of `limit` (0.8 = 80%).
    pub level: Decimal,
    /// The measured spend (or projection) when it was raised.
    pub spent: Decimal,
    /// The limit the level applies to (monthly budget or day's share).
    pub limit: Decimal,
}

/// Per-kind sums of one day or month.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KindTotals {
    /// Historical downloads, USD.
    pub historical: Decimal,
    /// Live bytes, USD.
    pub live: Decimal,
    /// Cache hits, USD (always zero when recorded through the budget).
    pub cache_hit: Decimal,
    /// Flat plan fees, USD.
    pub plan: Decimal,
    /// Bytes over all kinds.
    pub bytes: u128,
    /// Number of charges.
    pub count: u64,
}

impl KindTotals {
    /// The sum over all kinds.
    #[must_use]
    pub fn total(&self) -> Decimal {
        self.historical + self.live + self.cache_hit + self.plan
    }

    /// The sum of one kind.
    #[must_use]
    pub fn of(&self, kind: ChargeKind) -> Decimal {
        match kind {
            ChargeKind::Historical => self.historical,
            ChargeKind::Live => self.live,
            ChargeKind::CacheHit => self.cache_hit,
            ChargeKind::Plan => self.plan,
        }
    }

    pub(crate) fn add_charge(&mut self, c: &Charge) {
        // Each amount is at most MAX_CHARGE_USD (1e9), so even 2^64 charges stay below
        // Decimal::MAX (~7.9e28): plain addition cannot overflow.
        match c.kind {
            ChargeKind::Historical => self.historical += c.dollars,
            ChargeKind::Live => self.live += c.dollars,
            ChargeKind::CacheHit => self.cache_hit += c.dollars,
            ChargeKind::Plan => self.plan += c.dollars,
        }
        self.bytes += u128::from(c.bytes);
        self.count += 1;
    }

    pub(crate) fn merge(&mut self, o: &KindTotals) {
        self.historical += o.historical;
        self.live += o.live;
        self.cache_hit += o.cache_hit;
        self.plan += o.plan;
        self.bytes += o.bytes;
        self.count += o.count;
    }
}

/// The append-only ledger: charges and raised alerts, in recording order.
///
/// There is no method that removes or edits an entry. Sums are exact `Decimal` sums and do
/// not depend on the order of recording.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ledger {
    charges: Vec<Charge>,
    alerts: Vec<Alert>,
}

impl Ledger {
    /// An empty ledger (a new installation; never the result of a failed load).
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a charge.
    ///
    /// This only records; limits are enforced by [`Budget`](crate::Budget), which is the
    /// way the download and live paths should record.
    ///
    /// # Errors
    /// [`Error::ImplausibleAmount`] if the amount is negative or above
    /// [`MAX_CHARGE_USD`](crate::MAX_CHARGE_USD); the ledger is then unchanged.
    pub fn append(&mut self, mut charge: Charge) -> Result<()> {
        charge.dollars = check_usd("charge", charge.dollars)?;
        self.charges.push(charge);
        Ok(())
    }

    pub(crate) fn push_alert(&mut self, alert: Alert) {
        self.alerts.push(alert);
    }

    /// Every charge, in recording order.
    #[must_use]
    pub fn charges(&self) -> &[Charge] {
        &self.charges
    }

    /// Every alert raised, in order.
    #[must_use]
    pub fn alerts(&self) -> &[Alert] {
        &self.alerts
    }

    /// Whether the alert `(scope, level)` was already raised.
    #[must_use]
    pub fn has_alert(&self, scope: AlertScope, level: Decimal) -> bool {
        self.alerts
            .iter()
            .any(|a| a.scope == scope && a.level == level)
    }

    /// Number of charges.
    #[must_use]
    pub fn len(&self) -> usize {
        self.charges.len()
    }

    /// Whether no charge was recorded.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.charges.is_empty()
    }

    /// Sum of all charges.
    #[must_use]
    pub fn total(&self) -> Decimal {
        self.totals_where(|_| true).total()
    }

    /// Per-kind sums of the charges for which `keep` is true.
    pub fn totals_where(&self, mut keep: impl FnMut(&Charge) -> bool) -> KindTotals {
        let mut t = KindTotals::default();
        for c in self.charges.iter().filter(|c| keep(c)) {
            t.add_charge(c);
        }
        t
    }

    /// Per-kind sums of one month (charges whose session date is in `month`).
    #[must_use]
    pub fn month_totals(&self, month: Month) -> KindTotals {
        self.totals_where(|c| c.month() == month)
    }

    /// Per-kind sums of one session date.
    #[must_use]
    pub fn day_totals(&self, date: NaiveDate) -> KindTotals {
        self.totals_where(|c| c.session_date() == date)
    }

    /// Per-kind sums of every session date in `month` that has a charge.
    #[must_use]
    pub fn days_of(&self, month: Month) -> BTreeMap<NaiveDate, KindTotals> {
        let mut map: BTreeMap<NaiveDate, KindTotals> = BTreeMap::new();
        for c in &self.charges {
            let d = c.session_date();
            if month.contains(d) {
                map.entry(d).or_default().add_charge(c);
            }
        }
        map
    }

    /// Total per month, for every month with a charge.
    #[must_use]
    pub fn months(&self) -> BTreeMap<Month, KindTotals> {
        let mut map: BTreeMap<Month, KindTotals> = BTreeMap::new();
        for c in &self.charges {
            map.entry(c.month()).or_default().add_charge(c);
        }
        map
    }

    /// Serialises the ledger into the versioned, checksummed byte format (module docs).
    ///
    /// # Errors
    /// [`Error::LedgerPayload`] if JSON serialisation fails (it cannot for these types).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let payload = serde_json::to_vec(self).map_err(|e| Error::LedgerPayload {
            reason: e.to_string(),
        })?;
        Ok(LEDGER_ENVELOPE.encode(&payload))
    }

    /// Reads a ledger written by [`to_bytes`](Self::to_bytes).
    ///
    /// # Errors
    /// [`Error::LedgerTruncated`], [`Error::LedgerBadMagic`], [`Error::LedgerVersion`],
    /// [`Error::LedgerLength`], [`Error::LedgerChecksum`] or [`Error::LedgerPayload`]:
    /// a ledger that cannot be read is an error, never an empty ledger.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let payload = LEDGER_ENVELOPE.decode(bytes).map_err(|e| match e {
            EnvelopeError::Truncated { len, expected } => Error::LedgerTruncated {
                actual: len,
                expected,
            },
            EnvelopeError::BadMagic { .. } => Error::LedgerBadMagic,
            EnvelopeError::LengthMismatch { len, expected } => Error::LedgerLength {
                actual: len,
                expected,
            },
            EnvelopeError::ChecksumMismatch { stored, computed } => {
                Error::LedgerChecksum { stored, computed }
            }
            EnvelopeError::UnsupportedVersion { found, supported } => {
                Error::LedgerVersion { found, supported }
            }
            // The envelope's error is non-exhaustive; an unknown kind is still unreadable.
            other => Error::LedgerPayload {
                reason: other.to_string(),
            },
        })?;
        let ledger: Ledger = serde_json::from_slice(payload).map_err(|e| Error::LedgerPayload {
            reason: e.to_string(),
        })?;
        for (i, c) in ledger.charges.iter().enumerate() {
            check_usd("charge", c.dollars).map_err(|_| Error::LedgerPayload {
                reason: format!("charge {i} has an implausible amount {}", c.dollars),
            })?;
        }
        Ok(ledger)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn charge(at: &str, kind: ChargeKind, usd: &str) -> Charge {
        Charge {
            at: at.parse().unwrap(),
            kind,
            reference: "r".into(),
            bytes: 10,
            dollars: dec(usd),
        }
    }

    fn sample() -> Ledger {
        let mut l = Ledger::new();
        l.append(charge("2025-01-31T22:30:00Z", ChargeKind::Live, "1.10"))
            .unwrap();
        // 23:30 UTC on Jan 31 = 17:30 CT -> session date Feb 1 -> February.
        l.append(charge("2025-01-31T23:30:00Z", ChargeKind::Live, "2.20"))
            .unwrap();
        l.append(charge(
            "2025-01-15T15:00:00Z",
            ChargeKind::Historical,
            "19.87",
        ))
        .unwrap();
        l.append(charge("2025-01-15T16:00:00Z", ChargeKind::CacheHit, "0"))
            .unwrap();
        l
    }

    #[test]
    fn sums_by_day_and_month_in_exchange_time() {
        let l = sample();
        let jan = Month::new(2025, 1).unwrap();
        let feb = Month::new(2025, 2).unwrap();
        assert_eq!(l.month_totals(jan).total(), dec("20.97"));
        assert_eq!(l.month_totals(feb).total(), dec("2.20"));
        assert_eq!(l.total(), dec("23.17"));
        let days = l.days_of(jan);
        assert_eq!(days.len(), 2);
        let d15 = NaiveDate::from_ymd_opt(2025, 1, 15).unwrap();
        assert_eq!(days[&d15].historical, dec("19.87"));
        assert_eq!(days[&d15].count, 2);
    }

    #[test]
    fn decimal_sums_are_exact() {
        let mut l = Ledger::new();
        for _ in 0..10 {
            l.append(charge("2025-03-03T15:00:00Z", ChargeKind::Live, "0.1"))
                .unwrap();
        }
        // 0.1 ten times is exactly 1 (it is not in f64).
        assert_eq!(l.total(), Decimal::ONE);
    }

    #[test]
    fn negative_charge_is_refused_and_ledger_unchanged() {
        let mut l = sample();
        let before = l.clone();
        assert!(l
            .append(charge("2025-01-15T15:00:00Z", ChargeKind::Live, "-1"))
            .is_err());
        assert_eq!(l, before);
    }

    #[test]
    fn round_trip_and_every_corruption_detected() {
        let l = sample();
        let bytes = l.to_bytes().unwrap();
        assert_eq!(Ledger::from_bytes(&bytes).unwrap(), l);
        for i in 0..bytes.len() {
            for flip in [0x01u8, 0x80, 0xff] {
                let mut b = bytes.clone();
                b[i] ^= flip;
                assert!(Ledger::from_bytes(&b).is_err(), "flip {flip:#x} at {i}");
            }
        }
        for n in 0..bytes.len() {
            assert!(Ledger::from_bytes(&bytes[..n]).is_err(), "truncated to {n}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(matches!(
            Ledger::from_bytes(&longer),
            Err(Error::LedgerLength { .. })
        ));
    }
}
