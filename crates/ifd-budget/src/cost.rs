//! The cost model: what a download or a stream of live bytes costs, in exact dollars.
//!
//! Historical downloads are priced by Databento's pre-flight quote (the historical
//! client's `metadata().get_cost(..)`, turned into a [`DownloadQuote::preflight`]) or,
//! offline, by billable bytes × the schema's $/GB from a [`PriceTable`] (fill it from
//! `metadata().list_unit_prices(dataset)`). Live data is priced by bytes received × a
//! $/GB rate, or by a flat monthly plan ([`LivePricing`]).
//!
//! A GB is 10⁹ bytes ([`BYTES_PER_GB`]), the unit Databento prices in. Byte costs are
//! exact: `bytes × rate / 10⁹` is a decimal division by a power of ten.

use std::collections::BTreeMap;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Bytes in one billable GB.
pub const BYTES_PER_GB: u64 = 1_000_000_000;

/// The largest single amount (in USD) the crate accepts: one billion dollars. Anything
/// larger is a unit mistake, and the bound keeps every ledger sum far from `Decimal`'s
/// range.
pub const MAX_CHARGE_USD: Decimal = Decimal::from_parts(1_000_000_000, 0, 0, false, 0);

/// Checks that a dollar amount is non-negative and at most [`MAX_CHARGE_USD`].
///
/// # Errors
/// [`Error::ImplausibleAmount`] otherwise.
pub fn check_usd(what: &'static str, usd: Decimal) -> Result<Decimal> {
    if usd.is_sign_negative() && !usd.is_zero() || usd > MAX_CHARGE_USD {
        return Err(Error::ImplausibleAmount {
            what,
            value: usd.to_string(),
        });
    }
    Ok(usd.normalize())
}

/// Converts a dollar amount given as `f64` (as Databento's API returns it) into a
/// `Decimal` through its shortest round-trip decimal text, so `0.1` becomes exactly
/// `0.1`.
///
/// # Errors
/// [`Error::ImplausibleAmount`] if the value is NaN, infinite, negative or above
/// [`MAX_CHARGE_USD`].
pub fn usd_from_f64(what: &'static str, usd: f64) -> Result<Decimal> {
    let bad = || Error::ImplausibleAmount {
        what,
        value: usd.to_string(),
    };
    if !usd.is_finite() || usd < 0.0 {
        return Err(bad());
    }
    // Rust prints f64 in plain (non-exponent) notation with the shortest digits that
    // read back to the same value; tiny values may carry more than 28 decimals, which
    // `from_str` rounds, and anything that still fails is rejected.
    let text = format!("{usd}");
    let value = Decimal::from_str(&text)
        .or_else(|_| Decimal::from_scientific(&format!("{usd:e}")))
        .map_err(|_| bad())?;
    check_usd(what, value)
}

/// The exact cost of `bytes` at `usd_per_gb`.
///
/// # Errors
/// [`Error::Overflow`] if the product does not fit a `Decimal` (it cannot for `u64`
/// bytes and a rate up to [`MAX_CHARGE_USD`]), [`Error::ImplausibleAmount`] if the result
/// exceeds [`MAX_CHARGE_USD`].
pub fn cost_of_bytes(bytes: u64, usd_per_gb: Decimal) -> Result<Decimal> {
    let cost = Decimal::from(bytes)
        .checked_mul(usd_per_gb)
        .and_then(|x| x.checked_div(Decimal::from(BYTES_PER_GB)))
        .ok_or(Error::Overflow {
            what: "bytes × $/GB",
        })?;
    check_usd("byte cost", cost)
}

/// Unit prices in USD per GB, by schema name (`"mbo"`, `"definition"`, ...).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceTable {
    per_gb: BTreeMap<String, Decimal>,
}

impl PriceTable {
    /// An empty table: every offline quote fails with [`Error::UnknownSchema`] until a
    /// price is added.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the price of `schema`.
    ///
    /// # Errors
    /// [`Error::ImplausibleAmount`] for a negative or absurd price.
    pub fn with_price(mut self, schema: impl Into<String>, usd_per_gb: Decimal) -> Result<Self> {
        let p = check_usd("unit price ($/GB)", usd_per_gb)?;
        self.per_gb.insert(schema.into(), p);
        Ok(self)
    }

    /// Builds a table from `(schema, $/GB as f64)` pairs, the shape of one mode of
    /// Databento's `list_unit_prices` answer (map the `Schema` keys with `to_string`).
    ///
    /// # Errors
    /// [`Error::ImplausibleAmount`] for a NaN, negative or absurd price.
    pub fn from_unit_prices<S, I>(prices: I) -> Result<Self>
    where
        S: Into<String>,
        I: IntoIterator<Item = (S, f64)>,
    {
        let mut t = Self::new();
        for (schema, usd) in prices {
            let p = usd_from_f64("unit price ($/GB)", usd)?;
            t.per_gb.insert(schema.into(), p);
        }
        Ok(t)
    }

    /// The price of `schema` in USD per GB, if known.
    #[must_use]
    pub fn price(&self, schema: &str) -> Option<Decimal> {
        self.per_gb.get(schema).copied()
    }

    /// The exact cost of `bytes` of `schema`.
    ///
    /// # Errors
    /// [`Error::UnknownSchema`] if the schema has no price (never priced as zero), or an
    /// error of [`cost_of_bytes`].
    pub fn cost(&self, schema: &str, bytes: u64) -> Result<Decimal> {
        let p = self.price(schema).ok_or_else(|| Error::UnknownSchema {
            schema: schema.to_owned(),
        })?;
        cost_of_bytes(bytes, p)
    }
}

/// How live streaming is billed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum LivePricing {
    /// Usage based: bytes received × a rate.
    PerGb {
        /// USD per GB received.
        usd_per_gb: Decimal,
    },
    /// A flat plan: one fee per calendar month, live bytes cost nothing at the margin.
    /// Until the month's fee is recorded, the budget counts it as committed.
    FlatMonthly {
        /// USD per month.
        usd_per_month: Decimal,
    },
}

/// The complete cost model: historical unit prices and live pricing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CostModel {
    /// Historical $/GB by schema, for offline quotes.
    pub historical: PriceTable,
    /// Live pricing.
    pub live: LivePricing,
}

impl CostModel {
    /// A model with the given historical table and live pricing.
    ///
    /// # Errors
    /// [`Error::ImplausibleAmount`] if the live rate or plan fee is negative or absurd.
    pub fn new(historical: PriceTable, live: LivePricing) -> Result<Self> {
        match live {
            LivePricing::PerGb { usd_per_gb } => {
                check_usd("live $/GB", usd_per_gb)?;
            }
            LivePricing::FlatMonthly { usd_per_month } => {
                check_usd("flat plan fee", usd_per_month)?;
            }
        }
        Ok(Self { historical, live })
    }

    /// The marginal cost of `bytes` received live (zero under a flat plan).
    ///
    /// # Errors
    /// An error of [`cost_of_bytes`].
    pub fn live_cost(&self, bytes: u64) -> Result<Decimal> {
        match self.live {
            LivePricing::PerGb { usd_per_gb } => cost_of_bytes(bytes, usd_per_gb),
            LivePricing::FlatMonthly { .. } => Ok(Decimal::ZERO),
        }
    }

    /// The flat monthly fee, if the live pricing is a flat plan.
    #[must_use]
    pub fn flat_fee(&self) -> Option<Decimal> {
        match self.live {
            LivePricing::FlatMonthly { usd_per_month } => Some(usd_per_month),
            LivePricing::PerGb { .. } => None,
        }
    }
}

/// Where a download quote came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum QuoteSource {
    /// Databento's pre-flight `metadata.get_cost`.
    PreFlight,
    /// Billable bytes × the schema's unit price.
    Offline {
        /// The schema name.
        schema: String,
        /// The unit price used, USD per GB.
        usd_per_gb: Decimal,
    },
}

/// The expected cost of one historical request, asked for before it starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DownloadQuote {
    request: String,
    dollars: Decimal,
    bytes: Option<u64>,
    source: QuoteSource,
}

impl DownloadQuote {
    /// A quote from Databento's pre-flight cost query (`get_cost` returns USD as `f64`),
    /// with the billable size if it was also asked for (`get_billable_size`).
    ///
    /// # Errors
    /// [`Error::ImplausibleAmount`] if `usd` is NaN, infinite, negative or absurd.
    pub fn preflight(
        request: impl Into<String>,
        usd: f64,
        billable_bytes: Option<u64>,
    ) -> Result<Self> {
        Ok(Self {
            request: request.into(),
            dollars: usd_from_f64("pre-flight quote", usd)?,
            bytes: billable_bytes,
            source: QuoteSource::PreFlight,
        })
    }

    /// A pre-flight quote already held as a `Decimal`.
    ///
    /// # Errors
    /// [`Error::ImplausibleAmount`] if `usd` is negative or absurd.
    pub fn preflight_decimal(
        request: impl Into<String>,
        usd: Decimal,
        billable_bytes: Option<u64>,
    ) -> Result<Self> {
        Ok(Self {
            request: request.into(),
            dollars: check_usd("pre-flight quote", usd)?,
            bytes: billable_bytes,
            source: QuoteSource::PreFlight,
        })
    }

    /// An offline quote: `billable_bytes` of `schema` at the table's unit price.
    ///
    /// # Errors
    /// [`Error::UnknownSchema`] if the schema has no price; an error of
    /// [`cost_of_bytes`].
    pub fn offline(
        request: impl Into<String>,
        prices: &PriceTable,
        schema: &str,
        billable_bytes: u64,
    ) -> Result<Self> {
        let dollars = prices.cost(schema, billable_bytes)?;
        let usd_per_gb = prices.price(schema).unwrap_or_default();
        Ok(Self {
            request: request.into(),
            dollars,
            bytes: Some(billable_bytes),
            source: QuoteSource::Offline {
                schema: schema.to_owned(),
                usd_per_gb,
            },
        })
    }

    /// The request this quote is for.
    #[must_use]
    pub fn request(&self) -> &str {
        &self.request
    }

    /// The quoted cost in USD.
    #[must_use]
    pub fn dollars(&self) -> Decimal {
        self.dollars
    }

    /// The billable bytes, if known.
    #[must_use]
    pub fn bytes(&self) -> Option<u64> {
        self.bytes
    }

    /// Where the quote came from.
    #[must_use]
    pub fn source(&self) -> &QuoteSource {
        &self.source
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn byte_costs_are_exact() {
        assert_eq!(
            cost_of_bytes(1_500_000_000, dec("2.50")).unwrap(),
            dec("3.75")
        );
        assert_eq!(cost_of_bytes(1, dec("1")).unwrap(), dec("0.000000001"));
        assert_eq!(cost_of_bytes(0, dec("9")).unwrap(), Decimal::ZERO);
        assert_eq!(
            cost_of_bytes(u64::MAX, dec("0.01")).unwrap(),
            dec("184467440.73709551615")
        );
        // $18.4 billion is beyond MAX_CHARGE_USD: a unit mistake, refused.
        assert!(matches!(
            cost_of_bytes(u64::MAX, dec("1")),
            Err(Error::ImplausibleAmount { .. })
        ));
    }

    #[test]
    fn f64_quotes_convert_through_shortest_text() {
        assert_eq!(usd_from_f64("q", 0.1).unwrap(), dec("0.1"));
        assert_eq!(usd_from_f64("q", 19.87).unwrap(), dec("19.87"));
        assert_eq!(usd_from_f64("q", 0.0).unwrap(), Decimal::ZERO);
        assert_eq!(usd_from_f64("q", 1e-7).unwrap(), dec("0.0000001"));
        for bad in [f64::NAN, f64::INFINITY, -0.5, 2e9] {
            assert!(matches!(
                usd_from_f64("q", bad),
                Err(Error::ImplausibleAmount { .. })
            ));
        }
    }

    #[test]
    fn unknown_schema_is_refused_not_free() {
        let t = PriceTable::from_unit_prices([("mbo", 1.25), ("definition", 0.5)]).unwrap();
        assert_eq!(t.cost("mbo", 4_000_000_000).unwrap(), dec("5"));
        assert!(matches!(
            t.cost("trades", 10),
            Err(Error::UnknownSchema { .. })
        ));
        let q = DownloadQuote::offline("r1", &t, "definition", 3_000_000_000).unwrap();
        assert_eq!(q.dollars(), dec("1.5"));
        assert_eq!(q.bytes(), Some(3_000_000_000));
    }

    #[test]
    fn flat_plan_has_no_marginal_cost() {
        let m = CostModel::new(
            PriceTable::new(),
            LivePricing::FlatMonthly {
                usd_per_month: dec("179"),
            },
        )
        .unwrap();
        assert_eq!(m.live_cost(10_000_000_000).unwrap(), Decimal::ZERO);
        assert_eq!(m.flat_fee(), Some(dec("179")));
        let m = CostModel::new(
            PriceTable::new(),
            LivePricing::PerGb {
                usd_per_gb: dec("4"),
            },
        )
        .unwrap();
        assert_eq!(m.live_cost(250_000_000).unwrap(), dec("1"));
        assert!(CostModel::new(
            PriceTable::new(),
            LivePricing::PerGb {
                usd_per_gb: dec("-1")
            }
        )
        .is_err());
    }
}
