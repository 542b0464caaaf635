//! The underlying price of an option chain, with or without the future's own book.
//!
//! A parent `NQ.OPT` subscription carries the options only; the underlying future is
//! under `NQ.FUT`. Without the future's book there is still a price in the options
//! themselves: put–call parity for options on futures, `C − P = D·(F − K)`, gives a
//! forward per strike, `F_k = K + (C_mid − P_mid) / D`, with `D = exp(−r·T)` the discount
//! factor to expiry (`D = 1` when the configured rate is zero, the default: for short
//! expiries the difference is far below a tick).
//!
//! [`UnderlyingResolver`] takes best bid/offer updates per instrument (read at `F_LAST`
//! boundaries from the books) and answers, per underlying future and expiry, with an
//! [`UnderlyingPrice`] and its [`UnderlyingSource`]:
//!
//! 1. the future's own book mid, when the future is in the stream and its quote is
//!    two-sided, uncrossed and no older than [`UnderlyingConfig::max_age_ns`];
//! 2. else the parity forward of that expiry, when enough strikes qualify;
//! 3. else the last caller-supplied price ([`UnderlyingResolver::set_caller_price`]).
//!
//! No answer is older than `max_age_ns` at the query's `now`: a stale source is skipped,
//! and when all are stale the answer is `None`.
//!
//! # The parity forward
//! A strike contributes when both its call and its put books are two-sided and
//! uncrossed, both quotes were updated within [`ParityConfig::max_quote_age_ns`] of
//! `now`, and its older quote is within [`ParityConfig::max_quote_lag_ns`] of the
//! freshest strike's (a strike nobody re-quotes while the chain moves is left behind).
//! Among those, the [`ParityConfig::strikes`] strikes nearest the money are kept
//! (nearest by `|C_mid − P_mid|`, which is smallest at the money and needs no prior
//! price); a strike whose combined spread (call spread plus put spread) is more than
//! [`ParityConfig::max_spread_multiple`] times the tightest kept one is dropped (a wide
//! or stale quote moves its mid). Each kept strike bounds the forward by its quotes
//! (`K + (C_bid − P_ask)/D ≤ F ≤ K + (C_ask − P_bid)/D`, else buying one side and
//! selling the other at the touch would lock in a profit); the forward is the centre of
//! the band where the bounds of every strike that admits the median `F_k` (the lower
//! median for an even count) overlap. That band always holds the median strike's own
//! forward, so the answer is at most half that strike's combined spread from it, and a
//! strike whose bounds exclude the median (a stale or off-market quote) cannot move
//! it. Its `ts_recv` is the newest quote update among the kept strikes. Crossed,
//! one-sided and stale strikes never contribute.
//!
//! Pure: no IO, no clock; time is the `ts_recv` given with each update and query.

use std::collections::BTreeMap;

use crate::chain::{OptionContract, OptionKind};
use crate::error::{Error, Result};
use crate::types::Bbo;
use crate::IdMap;

/// Where an underlying price came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UnderlyingSource {
    /// The future's own book (its mid).
    Future,
    /// Put–call parity over the option books of one expiry.
    Parity,
    /// A price the caller supplied.
    Caller,
}

/// An underlying price with its source and the `ts_recv` it dates from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UnderlyingPrice {
    /// Price in dbn's fixed point (1e-9).
    pub price: i64,
    /// Where it came from.
    pub source: UnderlyingSource,
    /// `ts_recv` of the newest update behind it.
    pub ts_recv: u64,
}

/// Parameters of the parity forward.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParityConfig {
    /// Strikes nearest the money used for the median (default 5).
    pub strikes: usize,
    /// A strike whose call-plus-put spread exceeds this multiple of the tightest kept
    /// strike's is dropped (default 3.0).
    pub max_spread_multiple: f64,
    /// A call or put quote not updated for this long (ns of `ts_recv`) is stale
    /// (default 30 minutes). A resting quote stays valid while its book is healthy, so
    /// the age is time since the quote last changed; on a liquid chain near-the-money
    /// quotes change with every underlying tick, and a quote unchanged for minutes
    /// while others moved is the stale one the median and spread filter reject.
    pub max_quote_age_ns: u64,
    /// Annual continuously compounded rate for `D = exp(−r·T)`; 0 gives `D = 1`
    /// (default 0).
    pub rate: f64,
    /// A strike whose older quote (of its call and its put) was last updated more than
    /// this long (ns) before the freshest strike's of the same expiry is dropped
    /// (default 5 s). Market makers re-quote the strikes near the money with every move
    /// of the future, so on a moving chain a strike left minutes behind is one nobody
    /// re-quotes (deep in or out of the money, or abandoned); on a chain where nothing
    /// moves, the freshest strike is old too and nothing is dropped.
    pub max_quote_lag_ns: u64,
}

impl Default for ParityConfig {
    fn default() -> Self {
        Self {
            strikes: 5,
            max_spread_multiple: 3.0,
            max_quote_age_ns: 1_800 * 1_000_000_000,
            rate: 0.0,
            max_quote_lag_ns: 5 * 1_000_000_000,
        }
    }
}

/// Parameters of [`UnderlyingResolver`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UnderlyingConfig {
    /// The parity forward's parameters.
    pub parity: ParityConfig,
    /// No price older than this (ns of `ts_recv` before the query's `now`) is returned
    /// (default 30 minutes: a future's book that has not changed is still the price;
    /// the limit catches a source that stopped, such as a future whose records ended).
    pub max_age_ns: u64,
}

impl Default for UnderlyingConfig {
    fn default() -> Self {
        Self {
            parity: ParityConfig::default(),
            max_age_ns: 1_800 * 1_000_000_000,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Quote {
    bid: i64,
    ask: i64,
    ts_recv: u64,
}

impl Quote {
    /// A two-sided, uncrossed quote; `None` otherwise.
    fn from_bbo(bbo: &Bbo, ts_recv: u64) -> Option<Self> {
        let (b, a) = (bbo.bid?, bbo.ask?);
        (b.price < a.price).then_some(Self {
            bid: b.price,
            ask: a.price,
            ts_recv,
        })
    }

    fn mid(&self) -> i128 {
        (i128::from(self.bid) + i128::from(self.ask)).div_euclid(2)
    }

    fn spread(&self) -> i128 {
        i128::from(self.ask) - i128::from(self.bid)
    }
}

/// Where a registered option's quote lives: its slot in [`UnderlyingResolver`]'s quote
/// list (one slot per (underlying, expiration, strike, right), shared by options of the
/// same key), so that the quote update at each `F_LAST` is one id lookup and one write.
#[derive(Debug, Clone, Copy)]
struct OptionKey {
    slot: u32,
}

/// The quote slots of one strike's call and put.
#[derive(Debug, Clone, Copy)]
struct StrikeSlots {
    call: u32,
    put: u32,
}

/// Counters of the resolver.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct UnderlyingStats {
    /// Updates for instruments that are neither a registered option nor a future any
    /// registered option refers to (ignored).
    pub unknown_instrument: u64,
    /// Updates whose quote was one-sided or crossed (the instrument's quote is cleared).
    pub unusable_quotes: u64,
}

/// Resolves underlying prices from the future's book, put–call parity and a caller's
/// price (see the module docs).
#[derive(Debug, Clone, Default)]
pub struct UnderlyingResolver {
    config: UnderlyingConfig,
    options: IdMap<u32, OptionKey>,
    /// Per (underlying id, expiration): strike to the slots of its call/put quotes.
    chains: BTreeMap<(u32, u64), BTreeMap<i64, StrikeSlots>>,
    /// The latest usable quote of each (underlying, expiration, strike, right) with a
    /// registered option; `None` until one arrives or after an unusable one.
    quotes: Vec<Option<Quote>>,
    /// Latest usable quote of each underlying future.
    futures: IdMap<u32, Option<Quote>>,
    caller: IdMap<u32, (i64, u64)>,
    stats: UnderlyingStats,
}

impl UnderlyingResolver {
    /// A resolver with `config`.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when `parity.strikes` is zero or
    /// `parity.max_spread_multiple` or `parity.rate` is not finite, or the multiple is
    /// below 1.
    pub fn new(config: UnderlyingConfig) -> Result<Self> {
        let p = &config.parity;
        if p.strikes == 0 {
            return Err(Error::InvalidConfig {
                reason: "parity.strikes must be at least 1",
            });
        }
        if !(p.max_spread_multiple.is_finite() && p.max_spread_multiple >= 1.0) {
            return Err(Error::InvalidConfig {
                reason: "parity.max_spread_multiple must be finite and at least 1",
            });
        }
        if !p.rate.is_finite() {
            return Err(Error::InvalidConfig {
                reason: "parity.rate must be finite",
            });
        }
        Ok(Self {
            config,
            ..Self::default()
        })
    }

    /// Registers an option (from the chain); its underlying future becomes known too.
    pub fn add_option(&mut self, contract: &OptionContract) {
        let quotes = &mut self.quotes;
        let mut new_slot = || {
            let slot = u32::try_from(quotes.len()).unwrap_or(u32::MAX);
            quotes.push(None);
            slot
        };
        let strike = self
            .chains
            .entry((contract.underlying_id, contract.expiration))
            .or_default()
            .entry(contract.strike)
            .or_insert(StrikeSlots {
                call: u32::MAX,
                put: u32::MAX,
            });
        let slot = if contract.kind == OptionKind::Call {
            &mut strike.call
        } else {
            &mut strike.put
        };
        if *slot == u32::MAX {
            *slot = new_slot();
        }
        self.options
            .insert(contract.instrument_id, OptionKey { slot: *slot });
        self.futures.entry(contract.underlying_id).or_insert(None);
    }

    /// The quote in `slot` (`None` for an unused slot).
    fn quote(&self, slot: u32) -> Option<Quote> {
        self.quotes.get(slot as usize).copied().flatten()
    }

    /// The best bid/offer of `instrument_id` at `ts_recv` (read at an `F_LAST`). Options
    /// update their strike; an underlying future updates its own quote. A one-sided or
    /// crossed quote clears the instrument's quote until a usable one arrives.
    pub fn on_bbo(&mut self, instrument_id: u32, bbo: &Bbo, ts_recv: u64) {
        let quote = Quote::from_bbo(bbo, ts_recv);
        if quote.is_none() {
            self.stats.unusable_quotes += 1;
        }
        if let Some(key) = self.options.get(&instrument_id) {
            if let Some(q) = self.quotes.get_mut(key.slot as usize) {
                *q = quote;
            }
        } else if let Some(q) = self.futures.get_mut(&instrument_id) {
            *q = quote;
        } else {
            self.stats.unknown_instrument += 1;
        }
    }

    /// Sets a caller-supplied price of `underlying_id` as of `ts_recv`, the last resort.
    pub fn set_caller_price(&mut self, underlying_id: u32, price: i64, ts_recv: u64) {
        self.caller.insert(underlying_id, (price, ts_recv));
    }

    fn fresh(&self, ts_recv: u64, now: u64) -> bool {
        now.saturating_sub(ts_recv) <= self.config.max_age_ns
    }

    /// The future's own mid, when its quote is usable and fresh at `now`.
    #[must_use]
    pub fn future_mid(&self, underlying_id: u32, now: u64) -> Option<UnderlyingPrice> {
        let q = (*self.futures.get(&underlying_id)?)?;
        self.fresh(q.ts_recv, now).then(|| UnderlyingPrice {
            price: clamp_i64(q.mid()),
            source: UnderlyingSource::Future,
            ts_recv: q.ts_recv,
        })
    }

    /// The put–call-parity forward of (`underlying_id`, `expiration`) at `now`, when at
    /// least one strike qualifies (see the module docs) and the result is fresh.
    #[must_use]
    pub fn parity_forward(
        &self,
        underlying_id: u32,
        expiration: u64,
        now: u64,
    ) -> Option<UnderlyingPrice> {
        let p = &self.config.parity;
        let strikes = self.chains.get(&(underlying_id, expiration))?;
        // (|C - P|, combined spread, forward, newest ts, lower bound, upper bound,
        // older quote's ts)
        let mut rows: Vec<(i128, i128, f64, u64, f64, f64, u64)> = Vec::new();
        let discount = discount(p.rate, expiration, now);
        for (&strike, slots) in strikes {
            let (Some(c), Some(put)) = (self.quote(slots.call), self.quote(slots.put)) else {
                continue;
            };
            let age = |t: u64| now.saturating_sub(t);
            if age(c.ts_recv) > p.max_quote_age_ns || age(put.ts_recv) > p.max_quote_age_ns {
                continue;
            }
            let diff = c.mid() - put.mid();
            #[allow(
                clippy::cast_precision_loss,
                reason = "prices in 1e-9 fit f64's 53 bits to well below a tick"
            )]
            let forward = strike as f64 + diff as f64 / discount;
            let ts = c.ts_recv.max(put.ts_recv);
            // Buying the call and selling the put at the touch, and the reverse, bound
            // the forward these quotes admit: K + (C_bid − P_ask)/D ≤ F ≤ K + (C_ask − P_bid)/D.
            #[allow(
                clippy::cast_precision_loss,
                reason = "prices in 1e-9 fit f64's 53 bits to well below a tick"
            )]
            let (lo, hi) = (
                strike as f64 + (i128::from(c.bid) - i128::from(put.ask)) as f64 / discount,
                strike as f64 + (i128::from(c.ask) - i128::from(put.bid)) as f64 / discount,
            );
            let older = c.ts_recv.min(put.ts_recv);
            rows.push((
                diff.abs(),
                c.spread() + put.spread(),
                forward,
                ts,
                lo,
                hi,
                older,
            ));
        }
        let freshest = rows.iter().map(|r| r.6).max()?;
        rows.retain(|r| freshest - r.6 <= p.max_quote_lag_ns);
        rows.sort_by_key(|r| r.0);
        rows.truncate(p.strikes);
        let tightest = rows.iter().map(|r| r.1).min()?;
        #[allow(
            clippy::cast_precision_loss,
            reason = "spreads in 1e-9, far below 2^52"
        )]
        let limit = tightest as f64 * p.max_spread_multiple;
        #[allow(
            clippy::cast_precision_loss,
            reason = "spreads in 1e-9, far below 2^52"
        )]
        rows.retain(|r| r.1 as f64 <= limit);
        rows.sort_by(|a, b| a.2.total_cmp(&b.2));
        let median = rows[(rows.len() - 1) / 2].2;
        // The band every strike consistent with the median admits: its own bounds
        // contain the median (the median strike's always do), so the band is never
        // empty, and its centre is at most half that strike's combined spread from it.
        let (lo, hi) = rows
            .iter()
            .filter(|r| r.4 <= median && median <= r.5)
            .fold((f64::NEG_INFINITY, f64::INFINITY), |(lo, hi), r| {
                (lo.max(r.4), hi.min(r.5))
            });
        let forward = if lo <= hi { 0.5 * (lo + hi) } else { median };
        let ts_recv = rows.iter().map(|r| r.3).max()?;
        if !forward.is_finite() || !self.fresh(ts_recv, now) {
            return None;
        }
        #[allow(clippy::cast_possible_truncation, reason = "clamped to i64's range")]
        let price = forward.round().clamp(i64::MIN as f64, i64::MAX as f64) as i64;
        Some(UnderlyingPrice {
            price,
            source: UnderlyingSource::Parity,
            ts_recv,
        })
    }

    /// The caller's price of `underlying_id`, when fresh at `now`.
    #[must_use]
    pub fn caller_price(&self, underlying_id: u32, now: u64) -> Option<UnderlyingPrice> {
        let &(price, ts_recv) = self.caller.get(&underlying_id)?;
        self.fresh(ts_recv, now).then_some(UnderlyingPrice {
            price,
            source: UnderlyingSource::Caller,
            ts_recv,
        })
    }

    /// The underlying price for options on `underlying_id` expiring at `expiration`, at
    /// `now`: the future's mid, else the parity forward, else the caller's price; never
    /// one older than the configured maximum age.
    #[must_use]
    pub fn resolve(
        &self,
        underlying_id: u32,
        expiration: u64,
        now: u64,
    ) -> Option<UnderlyingPrice> {
        self.future_mid(underlying_id, now)
            .or_else(|| self.parity_forward(underlying_id, expiration, now))
            .or_else(|| self.caller_price(underlying_id, now))
    }

    /// The underlying price of `underlying_id` at `now` when no expiry is given (for
    /// example to label outcomes): the future's mid, else the parity forward of the
    /// nearest expiry not yet past that has one, else the caller's price.
    #[must_use]
    pub fn resolve_any(&self, underlying_id: u32, now: u64) -> Option<UnderlyingPrice> {
        self.future_mid(underlying_id, now)
            .or_else(|| {
                self.chains
                    .range((underlying_id, now)..=(underlying_id, u64::MAX))
                    .find_map(|(&(_, exp), _)| self.parity_forward(underlying_id, exp, now))
            })
            .or_else(|| self.caller_price(underlying_id, now))
    }

    /// [`UnderlyingResolver::resolve`] for an option contract.
    #[must_use]
    pub fn resolve_for(&self, contract: &OptionContract, now: u64) -> Option<UnderlyingPrice> {
        self.resolve(contract.underlying_id, contract.expiration, now)
    }

    /// Counters so far.
    #[must_use]
    pub fn stats(&self) -> UnderlyingStats {
        self.stats
    }
}

/// `exp(−r·T)` with `T` in years from `now` to `expiration` (0 after expiry).
fn discount(rate: f64, expiration: u64, now: u64) -> f64 {
    if rate == 0.0 {
        return 1.0;
    }
    const NS_PER_YEAR: f64 = 365.25 * 86_400.0 * 1e9;
    #[allow(
        clippy::cast_precision_loss,
        reason = "a time span as a fraction of a year"
    )]
    let t = expiration.saturating_sub(now) as f64 / NS_PER_YEAR;
    let d = (-rate * t).exp();
    if d.is_finite() && d > 0.0 {
        d
    } else {
        1.0
    }
}

fn clamp_i64(x: i128) -> i64 {
    i64::try_from(x).unwrap_or(if x < 0 { i64::MIN } else { i64::MAX })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::TickRule;
    use crate::types::Level;

    const PX: i64 = 1_000_000_000;
    const FUT: u32 = 1_000;
    const EXP: u64 = 2_000_000_000_000_000_000;
    const S: u64 = 1_000_000_000;

    fn contract(iid: u32, kind: OptionKind, strike: i64) -> OptionContract {
        OptionContract {
            instrument_id: iid,
            raw_symbol: String::new(),
            underlying: "NQZ6".into(),
            underlying_id: FUT,
            asset: "NQ".into(),
            kind,
            strike: strike * PX,
            expiration: EXP,
            multiplier: 20 * PX,
            tick: TickRule::CME_EQUITY_INDEX_OPTION,
            channel_id: 0,
            ts_recv: 0,
        }
    }

    fn bbo(bid: Option<f64>, ask: Option<f64>) -> Bbo {
        #[allow(clippy::cast_possible_truncation, reason = "test prices")]
        let lvl = |p: f64| Level {
            price: (p * 1e9).round() as i64,
            size: 1,
            count: 1,
        };
        Bbo {
            bid: bid.map(lvl),
            ask: ask.map(lvl),
        }
    }

    /// Strikes 20,900..21,100 by 50; calls iid 2k+1, puts 2k+2; quotes consistent with
    /// a forward `f`, half-spread 0.5.
    /// Ages of 10 s (quotes) and 60 s (any price), which the tests below are written
    /// for, whatever the defaults.
    fn chain(f: f64, ts: u64) -> UnderlyingResolver {
        let cfg = UnderlyingConfig {
            parity: ParityConfig {
                max_quote_age_ns: 10 * S,
                ..ParityConfig::default()
            },
            max_age_ns: 60 * S,
        };
        let mut r = UnderlyingResolver::new(cfg).unwrap();
        for k in 0..5u32 {
            let strike = 20_900 + 50 * i64::from(k);
            let (c, p) = (2 * k + 1, 2 * k + 2);
            r.add_option(&contract(c, OptionKind::Call, strike));
            r.add_option(&contract(p, OptionKind::Put, strike));
            #[allow(clippy::cast_precision_loss, reason = "test strikes")]
            let intrinsic = f - strike as f64;
            let time_value = 40.0;
            let call = intrinsic.max(0.0) + time_value;
            let put = call - intrinsic;
            r.on_bbo(c, &bbo(Some(call - 0.5), Some(call + 0.5)), ts);
            r.on_bbo(p, &bbo(Some(put - 0.5), Some(put + 0.5)), ts);
        }
        r
    }

    #[test]
    fn parity_recovers_the_forward() {
        let r = chain(21_012.25, 10 * S);
        let p = r.parity_forward(FUT, EXP, 11 * S).unwrap();
        assert_eq!(p.price, 21_012_250_000_000);
        assert_eq!(p.source, UnderlyingSource::Parity);
        assert_eq!(p.ts_recv, 10 * S);
        // No future quote: resolve falls to parity.
        assert_eq!(r.resolve(FUT, EXP, 11 * S), Some(p));
    }

    #[test]
    fn crossed_and_one_sided_strikes_are_ignored() {
        let mut r = chain(21_000.0, 10 * S);
        // Corrupt three of five strikes: a crossed call, a one-sided put, and a call
        // whose bid is missing; the median over the other two still holds.
        r.on_bbo(1, &bbo(Some(500.0), Some(100.0)), 10 * S);
        r.on_bbo(4, &bbo(Some(10.0), None), 10 * S);
        r.on_bbo(5, &bbo(None, Some(50.0)), 10 * S);
        let p = r.parity_forward(FUT, EXP, 10 * S).unwrap();
        assert_eq!(p.price, 21_000 * PX);
        assert_eq!(r.stats().unusable_quotes, 3);
        // A chain that is one-sided everywhere gives nothing.
        for iid in 1..=10 {
            r.on_bbo(iid, &bbo(Some(10.0), None), 10 * S);
        }
        assert_eq!(r.parity_forward(FUT, EXP, 10 * S), None);
        assert_eq!(r.resolve(FUT, EXP, 10 * S), None);
    }

    #[test]
    fn strikes_left_behind_by_the_chain_are_dropped() {
        // All five strikes quoted around 21,000; then two of them re-quoted 8 s later
        // around 21,010 (the chain moved; the other three are nobody's current quotes).
        let mut r = chain(21_000.0, 2 * S);
        for (c, p, strike) in [(5, 6, 21_000.0), (7, 8, 21_050.0)] {
            let intrinsic: f64 = 21_010.0 - strike;
            let call = intrinsic.max(0.0) + 40.0;
            let put = call - intrinsic;
            r.on_bbo(c, &bbo(Some(call - 0.5), Some(call + 0.5)), 10 * S);
            r.on_bbo(p, &bbo(Some(put - 0.5), Some(put + 0.5)), 10 * S);
        }
        // Within the 10 s quote age all five would count, and the median would be a
        // stale 21,000; 8 s behind the freshest is past the 5 s lag.
        let p = r.parity_forward(FUT, EXP, 10 * S).unwrap();
        assert_eq!(p.price, 21_010 * PX);
        // With a lag longer than the gap, the stale majority wins the median, as before.
        let mut wide = r.clone();
        wide.config.parity.max_quote_lag_ns = 20 * S;
        assert_eq!(
            wide.parity_forward(FUT, EXP, 10 * S).unwrap().price,
            21_000 * PX
        );
    }

    #[test]
    fn the_forward_is_the_centre_of_the_band_the_quotes_admit() {
        // Each strike's quotes (half-spread 0.5 on the call and on the put) admit F
        // within ±1 of its own forward. Re-quote three strikes around other forwards.
        let mut r = chain(21_000.0, 10 * S);
        for (k, f) in [(0u32, 20_999.75), (1, 21_000.5), (2, 21_001.0)] {
            let strike = 20_900.0 + 50.0 * f64::from(k);
            let call = (f - strike).max(0.0) + 40.0;
            let put = call - (f - strike);
            r.on_bbo(2 * k + 1, &bbo(Some(call - 0.5), Some(call + 0.5)), 10 * S);
            r.on_bbo(2 * k + 2, &bbo(Some(put - 0.5), Some(put + 0.5)), 10 * S);
        }
        // Strikes 3 and 4 keep 21,000.0: forwards 20,999.75, 21,000.5, 21,001.0,
        // 21,000.0, 21,000.0 → median 21,000.0; bands [20,998.75, 21,000.75],
        // [20,999.5, 21,001.5], [21,000.0, 21,002.0], [20,999.0, 21,001.0] ×2 all hold
        // it: overlap [21,000.0, 21,000.75], centre 21,000.375.
        let p = r.parity_forward(FUT, EXP, 10 * S).unwrap();
        assert_eq!(p.price, 21_000_375_000_000);
    }

    #[test]
    fn a_wide_strike_is_dropped_and_an_outlier_cannot_move_the_median() {
        let mut r = chain(21_000.0, 10 * S);
        // Strike 21,000 (iids 5/6): a wide, off-centre call quote implies a forward 30
        // points away; its spread is 60× the others', so it is dropped.
        r.on_bbo(5, &bbo(Some(40.0), Some(100.0)), 10 * S);
        assert_eq!(
            r.parity_forward(FUT, EXP, 10 * S).unwrap().price,
            21_000 * PX
        );
        // A tight but stale-priced strike (one outlier of five) does not move the median.
        let mut r = chain(21_000.0, 10 * S);
        r.on_bbo(7, &bbo(Some(69.5), Some(70.5)), 10 * S);
        assert_eq!(
            r.parity_forward(FUT, EXP, 10 * S).unwrap().price,
            21_000 * PX
        );
    }

    #[test]
    fn stale_prices_are_refused_and_the_future_is_preferred() {
        let mut r = chain(21_000.0, 10 * S);
        // Quotes older than max_quote_age (10 s) no longer count.
        assert!(r.parity_forward(FUT, EXP, 20 * S).is_some());
        assert_eq!(r.parity_forward(FUT, EXP, 21 * S), None);
        // The future's book wins while fresh.
        r.on_bbo(FUT, &bbo(Some(21_001.0), Some(21_001.5)), 20 * S);
        let f = r.resolve(FUT, EXP, 30 * S).unwrap();
        assert_eq!(
            (f.price, f.source),
            (21_001_250_000_000, UnderlyingSource::Future)
        );
        // After 60 s (the maximum age) without a future update, parity again if its
        // quotes are fresh.
        let r2 = {
            let mut r2 = chain(21_000.0, 75 * S);
            r2.on_bbo(FUT, &bbo(Some(21_001.0), Some(21_001.5)), 20 * S);
            r2
        };
        assert_eq!(
            r2.resolve(FUT, EXP, 81 * S).map(|p| p.source),
            Some(UnderlyingSource::Parity)
        );
        // Caller price last, and also subject to the maximum age.
        r.set_caller_price(FUT, 20_990 * PX, 100 * S);
        let c = r.resolve(FUT, EXP, 150 * S).unwrap();
        assert_eq!((c.price, c.source), (20_990 * PX, UnderlyingSource::Caller));
        assert_eq!(r.resolve(FUT, EXP, 161 * S), None);
    }

    #[test]
    fn discounting_and_config_checks() {
        let mut cfg = UnderlyingConfig::default();
        cfg.parity.rate = 0.05;
        let mut r = UnderlyingResolver::new(cfg).unwrap();
        r.add_option(&contract(1, OptionKind::Call, 21_000));
        r.add_option(&contract(2, OptionKind::Put, 21_000));
        // C − P = D (F − K) with F − K = 10 and D = exp(−0.05 · 1 year).
        let now = EXP - 31_557_600 * S;
        let d = (-0.05f64).exp();
        r.on_bbo(1, &bbo(Some(99.0 + 10.0 * d), Some(101.0 + 10.0 * d)), now);
        r.on_bbo(2, &bbo(Some(99.0), Some(101.0)), now);
        let p = r.parity_forward(FUT, EXP, now).unwrap();
        assert!((p.price - 21_010 * PX).abs() < 1_000, "{p:?}");
        cfg.parity.strikes = 0;
        assert!(UnderlyingResolver::new(cfg).is_err());
        cfg.parity.strikes = 5;
        cfg.parity.max_spread_multiple = f64::NAN;
        assert!(UnderlyingResolver::new(cfg).is_err());
        // Updates for unrelated instruments are counted.
        r.on_bbo(77, &bbo(Some(1.0), Some(2.0)), now);
        assert_eq!(r.stats().unknown_instrument, 1);
    }

    /// One step of the property test below.
    #[derive(Debug, Clone)]
    enum Op {
        /// (Re)registers instrument `iid` as (expiry index, strike index, call).
        Register(u32, usize, usize, bool),
        /// A book update of `iid`: bid and ask in points, `None` for an empty side.
        Quote(u32, Option<u8>, Option<u8>),
    }

    fn op() -> impl proptest::strategy::Strategy<Value = Op> {
        use proptest::prelude::*;
        prop_oneof![
            1 => (1u32..7, 0usize..2, 0usize..3, any::<bool>())
                .prop_map(|(i, e, k, c)| Op::Register(i, e, k, c)),
            4 => (1u32..9, proptest::option::of(90u8..110), proptest::option::of(90u8..110))
                .prop_map(|(i, b, a)| Op::Quote(i, b, a)),
        ]
    }

    proptest::proptest! {
        /// Whatever the order of registrations, re-registrations under another key,
        /// options sharing a key and unusable quotes, the resolver answers exactly as a
        /// fresh resolver given only the latest quote of each (expiration, strike,
        /// right), kept in a plain map as the records arrive: its answers depend on
        /// nothing else.
        #[test]
        fn answers_depend_only_on_the_latest_quote_of_each_key(
            ops in proptest::collection::vec(op(), 1..60),
        ) {
            const EXPS: [u64; 2] = [EXP, EXP + 86_400 * S];
            const STRIKES: [i64; 3] = [20_950, 21_000, 21_050];
            let mut r = UnderlyingResolver::new(UnderlyingConfig::default()).unwrap();
            let mut keys: std::collections::HashMap<u32, (usize, usize, bool)> =
                std::collections::HashMap::new();
            let mut latest: BTreeMap<(usize, usize, bool), (Bbo, u64)> = BTreeMap::new();
            let reg = |iid: u32, (e, k, call): (usize, usize, bool)| OptionContract {
                expiration: EXPS[e],
                ..contract(
                    iid,
                    if call { OptionKind::Call } else { OptionKind::Put },
                    STRIKES[k],
                )
            };
            for (t, op) in ops.iter().enumerate() {
                let ts = 10 * S + t as u64 * S;
                match *op {
                    Op::Register(iid, e, k, call) => {
                        r.add_option(&reg(iid, (e, k, call)));
                        keys.insert(iid, (e, k, call));
                    }
                    Op::Quote(iid, b, a) => {
                        let q = bbo(b.map(f64::from), a.map(f64::from));
                        r.on_bbo(iid, &q, ts);
                        if let Some(&key) = keys.get(&iid) {
                            latest.insert(key, (q, ts));
                        }
                    }
                }
            }
            let mut fresh = UnderlyingResolver::new(UnderlyingConfig::default()).unwrap();
            for (n, (&key, (q, ts))) in latest.iter().enumerate() {
                let iid = 100 + n as u32;
                fresh.add_option(&reg(iid, key));
                fresh.on_bbo(iid, q, *ts);
            }
            let now = 10 * S + ops.len() as u64 * S;
            for exp in EXPS {
                proptest::prop_assert_eq!(
                    r.parity_forward(FUT, exp, now),
                    fresh.parity_forward(FUT, exp, now)
                );
                proptest::prop_assert_eq!(r.resolve(FUT, exp, now), fresh.resolve(FUT, exp, now));
            }
            proptest::prop_assert_eq!(r.resolve_any(FUT, now), fresh.resolve_any(FUT, now));
        }
    }
}
